//! Threagile models: import into a [`Model`].
//!
//! A Threagile model is YAML keyed by titles (`technical_assets: { Web Server: { id: …, … } }`);
//! Palisade keys by the `id` inside and keeps the title as the name.
//!
//! - `data_assets` become assets. Threagile rates on five steps, Palisade on four; the two lowest
//!   share `low`:
//!
//!   | Palisade | confidentiality            | integrity, availability   |
//!   |----------|----------------------------|---------------------------|
//!   | low      | public, internal           | archive, operational      |
//!   | medium   | restricted                 | important                 |
//!   | high     | confidential               | critical                  |
//!   | critical | strictly-confidential      | mission-critical          |
//!
//!   An asset whose id, title or tags say credentials (credential, password, secret, token, key)
//!   or personal data (pii, personal, gdpr) is marked so (`credentials`, `pii`), and a note says
//!   which.
//! - `technical_assets` become elements: `type` (external-entity, process, datastore) is the
//!   kind; `technology` is kept; `internet` → `internet_facing`; `used_as_client_by_human` →
//!   `human`; `encryption` other than none → `encryption_at_rest` on a data store;
//!   `multi_tenant` → `multi_tenant`; `redundant` → `redundancy`; `serialization` among
//!   `data_formats_accepted` → `deserializes_untrusted`; `data_assets_processed` and
//!   `data_assets_stored` → `data`; `out_of_scope` → the tag `out-of-scope`. Threagile's other
//!   fields (usage, size, machine, owner, its own CIA rating of the asset, …) are kept under
//!   `attributes:`.
//! - each of an asset's `communication_links` becomes a flow `SOURCE.LINK` (the link's title made
//!   an id) to its `target`: the protocol is kept, and the Threagile protocols that are encrypted
//!   but not named so in Palisade (`jdbc-encrypted`, `scp`, …) get `encrypted: true`;
//!   `authentication` maps none → none, credentials → password, session-id → session, token →
//!   token, client-certificate → client-certificate, two-factor → mfa, externalized → sso;
//!   `authorization` maps none → none, technical-user → authenticated,
//!   enduser-identity-propagation → role-based; `vpn` is kept; data sent and received are the
//!   flow's `data`, and received data makes it bidirectional; `readonly`, `ip_filtered` and
//!   `usage` are kept under `attributes:`.
//! - `trust_boundaries` become boundaries: `technical_assets_inside` places elements,
//!   `trust_boundaries_nested` nests boundaries.
//!
//! Left out, with a note: shared runtimes, individual risk categories, risk tracking (it refers to
//! Threagile's risk rules, which are not Palisade's), includes of other files, diagram tweaks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::import::{Ids, Imported, MAX_NESTING, Source, Text, finish, some, text, texts, words};
use crate::model::{
    Asset, Boundary, ENCRYPTED_PROTOCOLS, Element, ElementKind, Flow, Level, Model, ModelError,
};

#[derive(Deserialize)]
struct Doc {
    threagile_version: Option<Text>,
    title: Option<Text>,
    business_overview: Option<Overview>,
    includes: Option<Vec<Option<Text>>>,
    data_assets: Option<BTreeMap<String, DataAssetIn>>,
    technical_assets: Option<BTreeMap<String, TechnicalAssetIn>>,
    trust_boundaries: Option<BTreeMap<String, BoundaryIn>>,
    shared_runtimes: Option<Value>,
    individual_risk_categories: Option<Value>,
    risk_tracking: Option<Value>,
}

#[derive(Deserialize)]
struct Overview {
    description: Option<Text>,
}

#[derive(Deserialize)]
struct DataAssetIn {
    id: Text,
    description: Option<Text>,
    tags: Option<Vec<Option<Text>>>,
    confidentiality: Option<Text>,
    integrity: Option<Text>,
    availability: Option<Text>,
}

#[derive(Deserialize)]
struct TechnicalAssetIn {
    id: Text,
    description: Option<Text>,
    #[serde(rename = "type")]
    kind: Option<Text>,
    usage: Option<Text>,
    used_as_client_by_human: Option<bool>,
    out_of_scope: Option<bool>,
    justification_out_of_scope: Option<Text>,
    size: Option<Text>,
    technology: Option<Text>,
    tags: Option<Vec<Option<Text>>>,
    internet: Option<bool>,
    machine: Option<Text>,
    encryption: Option<Text>,
    owner: Option<Text>,
    confidentiality: Option<Text>,
    integrity: Option<Text>,
    availability: Option<Text>,
    multi_tenant: Option<bool>,
    redundant: Option<bool>,
    custom_developed_parts: Option<bool>,
    data_assets_processed: Option<Vec<Option<Text>>>,
    data_assets_stored: Option<Vec<Option<Text>>>,
    data_formats_accepted: Option<Vec<Option<Text>>>,
    communication_links: Option<BTreeMap<String, LinkIn>>,
}

#[derive(Deserialize)]
struct LinkIn {
    target: Text,
    description: Option<Text>,
    protocol: Option<Text>,
    authentication: Option<Text>,
    authorization: Option<Text>,
    tags: Option<Vec<Option<Text>>>,
    vpn: Option<bool>,
    ip_filtered: Option<bool>,
    readonly: Option<bool>,
    usage: Option<Text>,
    data_assets_sent: Option<Vec<Option<Text>>>,
    data_assets_received: Option<Vec<Option<Text>>>,
}

#[derive(Deserialize)]
struct BoundaryIn {
    id: Text,
    description: Option<Text>,
    technical_assets_inside: Option<Vec<Option<Text>>>,
    trust_boundaries_nested: Option<Vec<Option<Text>>>,
}

/// Threagile's confidentiality scale, as Palisade levels.
fn confidentiality(word: &str) -> Option<Level> {
    Some(match word {
        "public" | "internal" => Level::Low,
        "restricted" => Level::Medium,
        "confidential" => Level::High,
        "strictly-confidential" => Level::Critical,
        _ => return None,
    })
}

/// Threagile's criticality scale (integrity, availability), as Palisade levels.
fn criticality(word: &str) -> Option<Level> {
    Some(match word {
        "archive" | "operational" => Level::Low,
        "important" => Level::Medium,
        "critical" => Level::High,
        "mission-critical" => Level::Critical,
        _ => return None,
    })
}

fn authentication(word: &str) -> Option<&'static str> {
    Some(match word {
        "none" => "none",
        "credentials" => "password",
        "session-id" => "session",
        "token" => "token",
        "client-certificate" => "client-certificate",
        "two-factor" => "mfa",
        "externalized" => "sso",
        _ => return None,
    })
}

fn authorization(word: &str) -> Option<&'static str> {
    Some(match word {
        "none" => "none",
        "technical-user" => "authenticated",
        "enduser-identity-propagation" | "end-user-identity-propagation" => "role-based",
        _ => return None,
    })
}

/// Threagile's encrypted protocols.
const ENCRYPTED: &[&str] = &[
    "https",
    "wss",
    "jdbc-encrypted",
    "odbc-encrypted",
    "nosql-access-protocol-encrypted",
    "sql-access-protocol-encrypted",
    "binary-encrypted",
    "text-encrypted",
    "ssh",
    "ssh-tunnel",
    "ftps",
    "sftp",
    "scp",
    "ldaps",
    "reverse-proxy-web-protocol-encrypted",
    "iiop-encrypted",
    "jrmp-encrypted",
    "smb-encrypted",
    "smtp-encrypted",
    "pop3-encrypted",
    "imap-encrypted",
];

/// Protocols of calls inside one process or host: not network flows.
const PROCESS_LOCAL: &[&str] = &[
    "in-process-library-call",
    "local-file-access",
    "container-spawning",
];

const CREDENTIAL_WORDS: &[&str] = &[
    "credential",
    "credentials",
    "password",
    "passwords",
    "secret",
    "secrets",
    "token",
    "tokens",
    "key",
    "keys",
];
const PII_WORDS: &[&str] = &["pii", "personal", "gdpr"];

/// Read a Threagile model (YAML) as a model. `file` names it in errors.
pub fn import(file: &Path, text_in: &str) -> Result<Imported, Vec<ModelError>> {
    let src = Source::parse(file, text_in, "a Threagile model")?;
    if src.value.get("technical_assets").is_none() && src.value.get("threagile_version").is_none() {
        return Err(vec![src.error(
            "",
            "not a Threagile model: it has neither `threagile_version` nor `technical_assets`",
        )]);
    }
    let doc: Doc = src.deserialize()?;
    let mut im = Importer {
        src: &src,
        errors: Vec::new(),
        notes: Vec::new(),
        model: Model::default(),
        assets: Ids::default(),
        elements: Ids::default(),
        boundaries: Ids::default(),
        flows: Ids::default(),
    };
    im.run(doc);
    if !im.errors.is_empty() {
        return Err(im.errors);
    }
    finish(file, im.model, im.notes)
}

struct Importer<'a> {
    src: &'a Source<'a>,
    errors: Vec<ModelError>,
    notes: Vec<String>,
    model: Model,
    assets: Ids,
    elements: Ids,
    boundaries: Ids,
    flows: Ids,
}

impl Importer<'_> {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(self.src.error(path, message));
    }

    fn run(&mut self, doc: Doc) {
        if let Some(v) = &doc.threagile_version
            && !v.0.starts_with("1.")
        {
            self.notes.push(format!(
                "threagile_version {}: read as 1.0; fields of other versions are not read",
                v.0
            ));
        }
        self.model.name = text(&doc.title);
        self.model.description = doc
            .business_overview
            .as_ref()
            .and_then(|o| text(&o.description));
        for (key, what) in [
            (&doc.shared_runtimes, "shared runtimes"),
            (
                &doc.individual_risk_categories,
                "individual risk categories",
            ),
        ] {
            if key.as_ref().is_some_and(|v| !is_empty(v)) {
                self.notes.push(format!("{what} are not imported"));
            }
        }
        if let Some(Value::Object(t)) = &doc.risk_tracking
            && !t.is_empty()
        {
            self.notes.push(format!(
                "{} risk-tracking entries not imported: they track Threagile's risk rules, not Palisade's",
                t.len()
            ));
        }
        let includes = texts(&doc.includes);
        if !includes.is_empty() {
            self.notes.push(format!(
                "includes not followed ({}): import the joined model, or each file",
                some(&includes)
            ));
        }
        let data_assets = doc.data_assets.unwrap_or_default();
        let technical = doc.technical_assets.unwrap_or_default();
        let boundaries = doc.trust_boundaries.unwrap_or_default();
        self.data_assets(&data_assets);
        // Every element's id first: links may point to assets written after them.
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (title, t) in &technical {
            if let Some(other) = seen.insert(t.id.0.clone(), title.clone()) {
                self.error(
                    &format!("technical_assets.{title}.id"),
                    format!(
                        "technical asset id `{}` is also the id of `{other}`",
                        t.id.0
                    ),
                );
            }
            self.elements.id(&t.id.0);
        }
        let placed = self.boundaries(&boundaries);
        for (title, t) in &technical {
            self.element(title, t, &placed);
        }
        for (title, t) in &technical {
            for (link_title, l) in t.communication_links.iter().flatten() {
                self.link(title, t, link_title, l);
            }
        }
        if self.model.elements.is_empty() && self.errors.is_empty() {
            self.error(
                "technical_assets",
                "the model has no technical assets; a Palisade model needs at least one element",
            );
        }
        for (what, ids) in [
            ("data asset", &self.assets),
            ("technical asset", &self.elements),
            ("trust boundary", &self.boundaries),
            ("communication link", &self.flows),
        ] {
            let renamed = ids.renamed();
            if !renamed.is_empty() {
                self.notes.push(format!(
                    "{what} ids changed to Palisade ids: {}",
                    some(&renamed)
                ));
            }
        }
    }

    fn data_assets(&mut self, assets: &BTreeMap<String, DataAssetIn>) {
        let mut marked = Vec::new();
        let mut seen = BTreeSet::new();
        for (title, a) in assets {
            let path = format!("data_assets.{title}");
            if !seen.insert(a.id.0.clone()) {
                self.error(
                    &format!("{path}.id"),
                    format!("data asset id `{}` is used twice", a.id.0),
                );
                continue;
            }
            let id = self.assets.id(&a.id.0);
            let mut level = |key: &str, v: &Option<Text>, scale: fn(&str) -> Option<Level>| {
                let word = text(v)?;
                let l = scale(&word.to_ascii_lowercase());
                if l.is_none() {
                    self.errors.push(self.src.error(
                        &format!("{path}.{key}"),
                        format!("`{word}` is not a Threagile rating of {key}"),
                    ));
                }
                l
            };
            let c = level("confidentiality", &a.confidentiality, confidentiality);
            let i = level("integrity", &a.integrity, criticality);
            let av = level("availability", &a.availability, criticality);
            let tags = texts(&a.tags);
            let w: Vec<String> = std::iter::once(a.id.0.as_str())
                .chain(std::iter::once(title.as_str()))
                .chain(tags.iter().map(String::as_str))
                .flat_map(words)
                .collect();
            let credentials = w.iter().any(|w| CREDENTIAL_WORDS.contains(&w.as_str()));
            let pii = w.iter().any(|w| PII_WORDS.contains(&w.as_str()));
            if credentials {
                marked.push(format!("`{}` credentials", a.id.0));
            }
            if pii {
                marked.push(format!("`{}` personal data", a.id.0));
            }
            self.model.assets.insert(
                id,
                Asset {
                    name: Some(title.clone()),
                    description: text(&a.description),
                    confidentiality: c,
                    integrity: i,
                    availability: av,
                    pii,
                    credentials,
                    origin: None,
                },
            );
        }
        if !marked.is_empty() {
            self.notes.push(format!(
                "assets marked from the words of their id, title and tags (check them): {}",
                some(&marked)
            ));
        }
    }

    /// Boundaries, nested; the boundary of each element placed in one (by Threagile id).
    fn boundaries(
        &mut self,
        boundaries: &BTreeMap<String, BoundaryIn>,
    ) -> BTreeMap<String, String> {
        let mut seen = BTreeSet::new();
        for (title, b) in boundaries {
            if !seen.insert(b.id.0.clone()) {
                self.error(
                    &format!("trust_boundaries.{title}.id"),
                    format!("trust boundary id `{}` is used twice", b.id.0),
                );
            }
            self.boundaries.id(&b.id.0);
        }
        let mut parents: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut placed: BTreeMap<String, String> = BTreeMap::new();
        let mut placed_by: BTreeMap<String, String> = BTreeMap::new();
        for (title, b) in boundaries {
            let id = self.boundaries.id(&b.id.0);
            for (j, inner) in texts(&b.trust_boundaries_nested).iter().enumerate() {
                let path = format!("trust_boundaries.{title}.trust_boundaries_nested[{j}]");
                let Some(child) = self.boundaries.get(inner).map(str::to_string) else {
                    self.error(
                        &path,
                        format!("no trust boundary `{inner}` in `trust_boundaries`"),
                    );
                    continue;
                };
                if let Some((other, _)) = parents.get(&child) {
                    let other = other.clone();
                    self.error(
                        &path,
                        format!("trust boundary `{inner}` is nested in `{other}` already; a boundary has one parent"),
                    );
                    continue;
                }
                parents.insert(child, (b.id.0.clone(), id.clone()));
            }
            for (j, asset) in texts(&b.technical_assets_inside).iter().enumerate() {
                let path = format!("trust_boundaries.{title}.technical_assets_inside[{j}]");
                if self.elements.get(asset).is_none() {
                    self.error(
                        &path,
                        format!("no technical asset `{asset}` in `technical_assets`"),
                    );
                    continue;
                }
                if let Some(other) = placed_by.get(asset) {
                    let other = other.clone();
                    self.error(
                        &path,
                        format!("technical asset `{asset}` is inside `{other}` already; an asset is in one trust boundary (nest the boundaries instead)"),
                    );
                    continue;
                }
                placed_by.insert(asset.clone(), b.id.0.clone());
                placed.insert(asset.clone(), id.clone());
            }
        }
        for (title, b) in boundaries {
            let id = self.boundaries.id(&b.id.0);
            // A boundary inside itself, through its parents.
            let mut cur = parents.get(&id).map(|(_, p)| p.clone());
            let mut steps = 0;
            while let Some(p) = cur {
                steps += 1;
                if p == id || steps > MAX_NESTING {
                    let message = if p == id {
                        format!("trust boundary `{}` is nested inside itself", b.id.0)
                    } else {
                        format!(
                            "trust boundary `{}` is nested more than {MAX_NESTING} deep (or in a loop)",
                            b.id.0
                        )
                    };
                    self.error(
                        &format!("trust_boundaries.{title}.trust_boundaries_nested"),
                        message,
                    );
                    break;
                }
                cur = parents.get(&p).map(|(_, pp)| pp.clone());
            }
            if self.model.boundaries.contains_key(&id) {
                continue;
            }
            self.model.boundaries.insert(
                id.clone(),
                Boundary {
                    name: Some(title.clone()),
                    description: text(&b.description),
                    parent: parents.get(&id).map(|(_, p)| p.clone()),
                    origin: None,
                },
            );
        }
        placed
    }

    fn element(&mut self, title: &str, t: &TechnicalAssetIn, placed: &BTreeMap<String, String>) {
        let path = format!("technical_assets.{title}");
        let id = self.elements.id(&t.id.0);
        if self.model.elements.contains_key(&id) {
            return;
        }
        let kind = match text(&t.kind).map(|k| k.to_ascii_lowercase()).as_deref() {
            Some("external-entity") => ElementKind::ExternalEntity,
            Some("process") | None => ElementKind::Process,
            Some("datastore" | "data-store") => ElementKind::DataStore,
            Some(other) => {
                self.error(
                    &format!("{path}.type"),
                    format!("`{other}` is not a technical asset type (external-entity, process, datastore)"),
                );
                return;
            }
        };
        let mut attrs = BTreeMap::new();
        let mut custom = BTreeMap::new();
        let put = |m: &mut BTreeMap<String, Value>, k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        if let Some(tech) = text(&t.technology) {
            put(&mut attrs, "technology", Value::String(tech));
        }
        if let Some(b) = t.internet {
            put(&mut attrs, "internet_facing", Value::Bool(b));
        }
        if t.used_as_client_by_human == Some(true) {
            put(&mut attrs, "human", Value::Bool(true));
        }
        let component = kind != ElementKind::ExternalEntity;
        for (value, name, threagile) in [
            (t.multi_tenant, "multi_tenant", "multi_tenant"),
            (t.redundant, "redundancy", "redundant"),
        ] {
            if let Some(b) = value {
                if component {
                    put(&mut attrs, name, Value::Bool(b));
                } else {
                    put(&mut custom, threagile, Value::Bool(b));
                }
            }
        }
        if let Some(enc) = text(&t.encryption) {
            if kind == ElementKind::DataStore {
                put(
                    &mut attrs,
                    "encryption_at_rest",
                    Value::Bool(!enc.eq_ignore_ascii_case("none")),
                );
            }
            put(&mut custom, "encryption", Value::String(enc));
        }
        let formats = texts(&t.data_formats_accepted);
        if kind == ElementKind::Process && formats.iter().any(|f| f == "serialization") {
            put(&mut attrs, "deserializes_untrusted", Value::Bool(true));
        }
        if !formats.is_empty() {
            put(&mut custom, "data_formats_accepted", Value::from(formats));
        }
        for (k, v) in [
            ("usage", &t.usage),
            ("size", &t.size),
            ("machine", &t.machine),
            ("owner", &t.owner),
            ("confidentiality", &t.confidentiality),
            ("integrity", &t.integrity),
            ("availability", &t.availability),
            ("justification_out_of_scope", &t.justification_out_of_scope),
        ] {
            if let Some(v) = text(v) {
                put(&mut custom, k, Value::String(v));
            }
        }
        if let Some(b) = t.custom_developed_parts {
            put(&mut custom, "custom_developed_parts", Value::Bool(b));
        }
        let mut tags = texts(&t.tags);
        if t.out_of_scope == Some(true) {
            tags.push("out-of-scope".into());
            put(&mut custom, "out_of_scope", Value::Bool(true));
        }
        let mut data: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        for (key, list) in [
            ("data_assets_processed", &t.data_assets_processed),
            ("data_assets_stored", &t.data_assets_stored),
        ] {
            for (j, a) in texts(list).iter().enumerate() {
                match self.assets.get(a) {
                    Some(aid) => {
                        if seen.insert(aid.to_string()) {
                            data.push(aid.to_string());
                        }
                    }
                    None => self.error(
                        &format!("{path}.{key}[{j}]"),
                        format!("no data asset `{a}` in `data_assets`"),
                    ),
                }
            }
        }
        self.model.elements.insert(
            id,
            Element {
                kind,
                name: Some(title.to_string()),
                description: text(&t.description),
                boundary: placed.get(&t.id.0).cloned(),
                data,
                tags,
                attributes: custom,
                attrs,
                origin: None,
            },
        );
    }

    fn link(&mut self, source_title: &str, source: &TechnicalAssetIn, title: &str, l: &LinkIn) {
        let path = format!("technical_assets.{source_title}.communication_links.{title}");
        let Some(from) = self.elements.get(&source.id.0).map(str::to_string) else {
            return;
        };
        let Some(to) = self.elements.get(&l.target.0).map(str::to_string) else {
            self.error(
                &format!("{path}.target"),
                format!("no technical asset `{}` in `technical_assets`", l.target.0),
            );
            return;
        };
        if from == to {
            self.notes.push(format!(
                "communication link `{title}` of `{}` goes to itself: left out",
                source.id.0
            ));
            return;
        }
        let slug: String = words(title).join("-");
        let id = self.flows.id(&format!(
            "{}.{}",
            source.id.0,
            if slug.is_empty() { "link" } else { &slug }
        ));
        let mut attrs = BTreeMap::new();
        let mut custom = BTreeMap::new();
        let protocol = text(&l.protocol).map(|p| p.to_ascii_lowercase());
        if let Some(p) = &protocol {
            if ENCRYPTED.contains(&p.as_str()) && !ENCRYPTED_PROTOCOLS.contains(&p.as_str()) {
                attrs.insert("encrypted".to_string(), Value::Bool(true));
            }
            if PROCESS_LOCAL.contains(&p.as_str()) {
                self.notes.push(format!(
                    "link `{title}` of `{}` is `{p}`, a call inside one host: rules read it as an unencrypted flow; write `encrypted: true` or drop it if that is wrong",
                    source.id.0
                ));
            }
        }
        for (key, value, map) in [
            (
                "authentication",
                &l.authentication,
                authentication as fn(&str) -> Option<&'static str>,
            ),
            ("authorization", &l.authorization, authorization),
        ] {
            let Some(word) = text(value) else { continue };
            match map(&word.to_ascii_lowercase()) {
                Some(ours) => {
                    attrs.insert(key.to_string(), Value::String(ours.into()));
                }
                None => {
                    self.notes.push(format!(
                        "link `{title}` of `{}`: {key} `{word}` is not a Threagile value — kept under `attributes:`",
                        source.id.0
                    ));
                    custom.insert(key.to_string(), Value::String(word));
                }
            }
        }
        if let Some(v) = l.vpn {
            attrs.insert("vpn".to_string(), Value::Bool(v));
        }
        for (k, v) in [("readonly", l.readonly), ("ip_filtered", l.ip_filtered)] {
            if let Some(v) = v {
                custom.insert(k.to_string(), Value::Bool(v));
            }
        }
        if let Some(u) = text(&l.usage) {
            custom.insert("usage".to_string(), Value::String(u));
        }
        let mut data: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        let received = texts(&l.data_assets_received);
        for (key, list) in [
            ("data_assets_sent", texts(&l.data_assets_sent)),
            ("data_assets_received", received.clone()),
        ] {
            for (j, a) in list.iter().enumerate() {
                match self.assets.get(a) {
                    Some(aid) => {
                        if seen.insert(aid.to_string()) {
                            data.push(aid.to_string());
                        }
                    }
                    None => self.error(
                        &format!("{path}.{key}[{j}]"),
                        format!("no data asset `{a}` in `data_assets`"),
                    ),
                }
            }
        }
        self.model.flows.insert(
            id,
            Flow {
                from,
                to,
                name: Some(title.to_string()),
                description: text(&l.description),
                protocol,
                data,
                bidirectional: !received.is_empty(),
                tags: texts(&l.tags),
                attributes: custom,
                attrs,
                origin: None,
            },
        );
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}
