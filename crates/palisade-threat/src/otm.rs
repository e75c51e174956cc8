//! Open Threat Model (OTM 0.2.0): import into a [`Model`], export of a model and its analysis.
//!
//! **Import** ([`import`]) reads OTM as JSON or YAML:
//!
//! - `project` gives the model's name and description;
//! - `trustZones` become boundaries (`parent.trustZone` nests them);
//! - `components` become elements in the boundary of their trust zone (a component inside another
//!   component goes into that component's boundary: Palisade elements do not nest). The kind is
//!   guessed from the words of the component's `type`, `tags` and `name`: words of storage (database, storage, bucket,
//!   queue, cache, s3, redis, …) make a data store; words of other parties (third-party, partner,
//!   saas) make an external entity, and so do words of people and their devices (user, client,
//!   browser, customer, mobile, …) or a trust zone rated 30 or less unless a word of a service
//!   (service, server, api, gateway, …) is there too; anything else is a process. The `type` is kept as `technology`. An exported
//!   file says the kind outright (`palisade.type`), and that wins;
//! - component `attributes` named like Palisade attributes (`internet_facing`, `authentication`,
//!   …) become those attributes when their value fits (`"true"` is read as true); the others are
//!   kept under `attributes:`;
//! - `assets` become assets, their 0–100 risk scores made levels (up to 25 low, 50 medium, 75
//!   high, above critical); a component's `processed` and `stored` assets are its `data`;
//! - `dataflows` become flows (a `protocol` attribute is the flow's protocol);
//! - threats on components and dataflows: the state of each is kept as a status under `threats:`
//!   when it records a decision (mitigated, accepted with owner, reason and expiry, not
//!   applicable); open ones are left out, because Palisade raises its own threats from its rules.
//!
//! Everything approximated is listed in [`Imported::notes`]. Malformed input — not JSON or YAML,
//! wrong types, references to ids that are not there — is an error naming the file, line and
//! path; nothing in the input can make the import panic.
//!
//! **Export** ([`export`]) writes OTM 0.2.0 JSON: boundaries as trust zones (rated 10 when they
//! hold only external entities, 80 otherwise; elements outside every boundary go into a trust zone
//! of their own), elements as components (`type` is the technology, or the kind), flows as
//! dataflows, each threat of the analysis as a threat (categories: its STRIDE category; risk:
//! likelihood and impact as 25/50/75/100, severity among its attributes) attached to its
//! component or dataflow with its state, and each rule's mitigations as mitigations. Palisade
//! specifics ride in `attributes`, so export then import gives the model back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::engine::{Analysis, Threat, ThreatStatus};
use crate::import::{
    Ids, Imported, MAX_NESTING, Source, Text, attribute_map, finish, fit, some, text, texts, words,
};
use crate::model::{
    Asset, Boundary, Element, ElementKind, Flow, Level, Model, ModelError, StatusEntry, StatusKind,
    attribute,
};

/// The OTM version written.
pub const OTM_VERSION: &str = "0.2.0";

/// Trust zones rated at most this are untrusted: their components are external entities unless
/// their type says they store data.
pub const LOW_TRUST: f64 = 30.0;

/// Attribute keys of Palisade's own, in exported files.
const KIND_KEY: &str = "palisade.type";
const CUSTOM_PREFIX: &str = "palisade.custom.";
const SYNTHETIC_KEY: &str = "palisade.synthetic";
const UNCLASSIFIED_KEY: &str = "palisade.unclassified";
const STATUS_KEY: &str = "palisade.status";

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    otm_version: Option<Text>,
    project: Option<ProjectIn>,
    representations: Option<Vec<Value>>,
    assets: Option<Vec<AssetIn>>,
    #[serde(alias = "trustzones")]
    trust_zones: Option<Vec<ZoneIn>>,
    components: Option<Vec<ComponentIn>>,
    dataflows: Option<Vec<FlowIn>>,
    threats: Option<Vec<ThreatIn>>,
    mitigations: Option<Vec<MitigationIn>>,
}

#[derive(Deserialize)]
struct ProjectIn {
    name: Option<Text>,
    description: Option<Text>,
}

#[derive(Deserialize)]
struct AssetIn {
    id: Text,
    name: Option<Text>,
    description: Option<Text>,
    risk: Option<AssetRisk>,
    attributes: Option<Value>,
}

#[derive(Deserialize)]
struct AssetRisk {
    confidentiality: Option<f64>,
    integrity: Option<f64>,
    availability: Option<f64>,
}

#[derive(Deserialize)]
struct ZoneIn {
    id: Text,
    name: Option<Text>,
    description: Option<Text>,
    risk: Option<ZoneRisk>,
    parent: Option<ParentIn>,
    attributes: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZoneRisk {
    trust_rating: Option<f64>,
}

/// `{trustZone: id}` or `{component: id}` (0.2.0), or `{id, type}` (as 0.1.0's text shows it).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParentIn {
    trust_zone: Option<Text>,
    component: Option<Text>,
    id: Option<Text>,
    #[serde(rename = "type")]
    kind: Option<Text>,
}

#[derive(Debug, Clone, PartialEq)]
enum Parent {
    Zone(String),
    Component(String),
}

#[derive(Deserialize)]
struct ComponentIn {
    id: Text,
    name: Option<Text>,
    #[serde(rename = "type")]
    kind: Option<Text>,
    description: Option<Text>,
    parent: Option<ParentIn>,
    assets: Option<AssetInstance>,
    threats: Option<Vec<ThreatInstance>>,
    tags: Option<Vec<Option<Text>>>,
    attributes: Option<Value>,
}

#[derive(Deserialize)]
struct AssetInstance {
    processed: Option<Vec<Option<Text>>>,
    stored: Option<Vec<Option<Text>>>,
}

#[derive(Deserialize)]
struct FlowIn {
    id: Text,
    name: Option<Text>,
    description: Option<Text>,
    bidirectional: Option<bool>,
    source: Text,
    #[serde(alias = "target")]
    destination: Text,
    assets: Option<Vec<Option<Text>>>,
    threats: Option<Vec<ThreatInstance>>,
    tags: Option<Vec<Option<Text>>>,
    attributes: Option<Value>,
}

#[derive(Deserialize)]
struct ThreatInstance {
    threat: Text,
    state: Option<Text>,
    mitigations: Option<Vec<Option<MitigationInstance>>>,
}

#[derive(Deserialize)]
struct MitigationInstance {
    mitigation: Option<Text>,
    state: Option<Text>,
}

#[derive(Deserialize)]
struct ThreatIn {
    id: Text,
    name: Option<Text>,
    attributes: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MitigationIn {
    id: Text,
    name: Option<Text>,
    description: Option<Text>,
}

impl ParentIn {
    fn resolve(&self) -> Result<Parent, String> {
        match (&self.trust_zone, &self.component, &self.id, &self.kind) {
            (Some(z), None, None, _) => Ok(Parent::Zone(z.0.clone())),
            (None, Some(c), None, _) => Ok(Parent::Component(c.0.clone())),
            (None, None, Some(id), kind) => {
                match kind.as_ref().map(|k| k.0.to_ascii_lowercase()).as_deref() {
                    Some("trustzone" | "trust-zone" | "trust_zone") | None => {
                        Ok(Parent::Zone(id.0.clone()))
                    }
                    Some("component") => Ok(Parent::Component(id.0.clone())),
                    Some(other) => Err(format!(
                        "a parent's type is `trustZone` or `component`, not `{other}`"
                    )),
                }
            }
            _ => Err("a parent names one trust zone (`trustZone: id`) or one component (`component: id`)".into()),
        }
    }
}

/// Read an OTM file (JSON or YAML) as a model. `file` names it in errors and becomes the model's
/// file.
pub fn import(file: &Path, text_in: &str) -> Result<Imported, Vec<ModelError>> {
    let src = Source::parse(file, text_in, "an OTM file")?;
    if src.value.get("otmVersion").is_none() {
        return Err(vec![src.error(
            "",
            "not an OTM file: it has no `otmVersion` (an OTM file starts with `otmVersion: 0.2.0` and a `project`)",
        )]);
    }
    let doc: Doc = src.deserialize()?;
    Importer::new(&src).run(doc)
}

struct Importer<'a> {
    src: &'a Source<'a>,
    errors: Vec<ModelError>,
    notes: Vec<String>,
    model: Model,
    zones: Ids,
    components: Ids,
    flows: Ids,
    assets: Ids,
}

impl<'a> Importer<'a> {
    fn new(src: &'a Source<'a>) -> Importer<'a> {
        Importer {
            src,
            errors: Vec::new(),
            notes: Vec::new(),
            model: Model::default(),
            zones: Ids::default(),
            components: Ids::default(),
            flows: Ids::default(),
            assets: Ids::default(),
        }
    }

    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(self.src.error(path, message));
    }

    fn run(mut self, doc: Doc) -> Result<Imported, Vec<ModelError>> {
        if let Some(v) = &doc.otm_version
            && !(v.0.starts_with("0.1.") || v.0.starts_with("0.2."))
        {
            self.notes.push(format!(
                "otmVersion {} read as {OTM_VERSION}; fields of later versions are not read",
                v.0
            ));
        }
        if let Some(p) = &doc.project {
            self.model.name = text(&p.name);
            self.model.description = text(&p.description);
        }
        if doc.representations.as_ref().is_some_and(|r| !r.is_empty()) {
            self.notes.push(
                "representations (diagram positions, code locations) are not kept: Palisade draws its own diagram".into(),
            );
        }
        let assets = doc.assets.unwrap_or_default();
        let zones = doc.trust_zones.unwrap_or_default();
        let components = doc.components.unwrap_or_default();
        let flows = doc.dataflows.unwrap_or_default();
        let threats = doc.threats.unwrap_or_default();
        let mitigations = doc.mitigations.unwrap_or_default();

        self.assets_in(&assets);
        let ratings = self.zones_in(&zones);
        // Ids first, so that parents and flows may name components defined after them.
        let mut seen = BTreeSet::new();
        for (i, c) in components.iter().enumerate() {
            if !seen.insert(c.id.0.clone()) {
                self.error(
                    &format!("components[{i}].id"),
                    format!("component id `{}` is used twice", c.id.0),
                );
            }
            self.components.id(&c.id.0);
        }
        let parents = self.component_parents(&components, &zones);
        let threat_defs: HashMap<&str, &ThreatIn> =
            threats.iter().map(|t| (t.id.0.as_str(), t)).collect();
        let mitigation_defs: HashMap<&str, &MitigationIn> =
            mitigations.iter().map(|m| (m.id.0.as_str(), m)).collect();
        let mut guessed = Vec::new();
        for (i, c) in components.iter().enumerate() {
            self.component_in(i, c, &parents, &ratings, &mut guessed);
        }
        if !guessed.is_empty() {
            self.notes.push(format!(
                "kinds guessed from type, tags and trust rating (check them; `type:` in the model): {}",
                some(&guessed)
            ));
        }
        for (i, f) in flows.iter().enumerate() {
            self.flow_in(i, f);
        }
        let mut kept = 0;
        let mut open = 0;
        for (i, c) in components.iter().enumerate() {
            let target = self.components.id(&c.id.0);
            for (j, t) in c.threats.iter().flatten().enumerate() {
                let path = format!("components[{i}].threats[{j}]");
                let outcome =
                    self.status_in(&path, t, &c.id.0, &target, &threat_defs, &mitigation_defs);
                count(
                    outcome,
                    foreign(&threat_defs, &t.threat.0),
                    &mut kept,
                    &mut open,
                );
            }
        }
        for (i, f) in flows.iter().enumerate() {
            let Some(target) = self.flows.get(&f.id.0).map(str::to_string) else {
                continue;
            };
            for (j, t) in f.threats.iter().flatten().enumerate() {
                let path = format!("dataflows[{i}].threats[{j}]");
                let outcome =
                    self.status_in(&path, t, &f.id.0, &target, &threat_defs, &mitigation_defs);
                count(
                    outcome,
                    foreign(&threat_defs, &t.threat.0),
                    &mut kept,
                    &mut open,
                );
            }
        }
        if open > 0 {
            self.notes.push(format!(
                "{open} open threat(s) in the file are not written: Palisade raises threats from its rules; `palisade threat` lists them"
            ));
        }
        if kept > 0 {
            self.notes.push(format!(
                "{kept} decision(s) on threats (mitigated, accepted, not applicable) kept under `threats:`; those on threats Palisade's rules do not raise show as stale"
            ));
        }
        for (what, ids) in [
            ("trust zone", &self.zones),
            ("component", &self.components),
            ("dataflow", &self.flows),
            ("asset", &self.assets),
        ] {
            let renamed = ids.renamed();
            if !renamed.is_empty() {
                self.notes.push(format!(
                    "{what} ids changed to Palisade ids (letters, digits, `-`, `_`, `.`): {}",
                    some(&renamed)
                ));
            }
        }
        if self.model.elements.is_empty() && self.errors.is_empty() {
            self.error(
                "components",
                "the file has no components; a model needs at least one element",
            );
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        finish(self.src.file, self.model, self.notes)
    }

    fn assets_in(&mut self, assets: &[AssetIn]) {
        let mut seen = BTreeSet::new();
        for (i, a) in assets.iter().enumerate() {
            let path = format!("assets[{i}]");
            if !seen.insert(a.id.0.clone()) {
                self.error(
                    &format!("{path}.id"),
                    format!("asset id `{}` is used twice", a.id.0),
                );
                continue;
            }
            let id = self.assets.id(&a.id.0);
            let Some(attrs) = attribute_map(&a.attributes) else {
                self.error(
                    &format!("{path}.attributes"),
                    "attributes are a mapping of names to values",
                );
                continue;
            };
            let unclassified: Vec<String> = match attrs.get(UNCLASSIFIED_KEY) {
                Some(Value::Array(v)) => v
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            let mut level = |name: &str, score: Option<f64>| -> Option<Level> {
                let score = score?;
                if unclassified.iter().any(|u| u == name) {
                    return None;
                }
                if !(0.0..=100.0).contains(&score) {
                    self.errors.push(self.src.error(
                        &format!("{path}.risk.{name}"),
                        format!("{score} is not a score from 0 to 100"),
                    ));
                    return None;
                }
                Some(score_level(score))
            };
            let risk = a.risk.as_ref();
            let confidentiality = level("confidentiality", risk.and_then(|r| r.confidentiality));
            let integrity = level("integrity", risk.and_then(|r| r.integrity));
            let availability = level("availability", risk.and_then(|r| r.availability));
            let flag = |k: &str| {
                attrs.get(k).is_some_and(|v| {
                    v.as_bool()
                        .or_else(|| v.as_str().map(|s| s.eq_ignore_ascii_case("true")))
                        .unwrap_or(false)
                })
            };
            let name = text(&a.name).filter(|n| *n != a.id.0);
            self.model.assets.insert(
                id,
                Asset {
                    name,
                    description: text(&a.description),
                    confidentiality,
                    integrity,
                    availability,
                    pii: flag("pii"),
                    credentials: flag("credentials"),
                    origin: None,
                },
            );
        }
    }

    /// Boundaries from trust zones; the trust rating of each zone (by its Palisade id).
    fn zones_in(&mut self, zones: &[ZoneIn]) -> HashMap<String, f64> {
        let mut ratings = HashMap::new();
        let mut seen = BTreeSet::new();
        let mut synthetic = BTreeSet::new();
        for (i, z) in zones.iter().enumerate() {
            if !seen.insert(z.id.0.clone()) {
                self.error(
                    &format!("trustZones[{i}].id"),
                    format!("trust zone id `{}` is used twice", z.id.0),
                );
            }
            let id = self.zones.id(&z.id.0);
            if let Some(r) = z.risk.as_ref().and_then(|r| r.trust_rating) {
                if (0.0..=100.0).contains(&r) {
                    ratings.insert(id.clone(), r);
                } else {
                    self.error(
                        &format!("trustZones[{i}].risk.trustRating"),
                        format!("{r} is not a rating from 0 to 100"),
                    );
                }
            }
            if attribute_map(&z.attributes)
                .and_then(|a| a.get(SYNTHETIC_KEY).and_then(Value::as_bool))
                .unwrap_or(false)
            {
                synthetic.insert(id);
            }
        }
        for (i, z) in zones.iter().enumerate() {
            let id = self.zones.id(&z.id.0);
            if synthetic.contains(&id) {
                continue;
            }
            let parent = match z.parent.as_ref().map(ParentIn::resolve) {
                None => None,
                Some(Err(m)) => {
                    self.error(&format!("trustZones[{i}].parent"), m);
                    None
                }
                Some(Ok(Parent::Zone(p))) => match self.zones.get(&p) {
                    Some(pid) => Some(pid.to_string()),
                    None => {
                        self.error(
                            &format!("trustZones[{i}].parent.trustZone"),
                            format!("no trust zone `{p}` in `trustZones`"),
                        );
                        None
                    }
                },
                Some(Ok(Parent::Component(c))) => {
                    self.notes.push(format!(
                        "trust zone `{}` is inside component `{c}`: Palisade nests boundaries only in boundaries, so it is not nested",
                        z.id.0
                    ));
                    None
                }
            };
            let name = text(&z.name).filter(|n| *n != z.id.0);
            self.model.boundaries.insert(
                id,
                Boundary {
                    name,
                    description: text(&z.description),
                    parent,
                    origin: None,
                },
            );
        }
        // Loops of parents, and nesting too deep.
        for (i, z) in zones.iter().enumerate() {
            let id = self.zones.id(&z.id.0);
            let Some(b) = self.model.boundaries.get(&id) else {
                continue;
            };
            let mut cur = b.parent.clone();
            let mut steps = 0;
            while let Some(p) = cur {
                steps += 1;
                if p == id || steps > MAX_NESTING {
                    let message = if p == id {
                        format!("trust zone `{}` is inside itself", z.id.0)
                    } else {
                        format!(
                            "trust zone `{}` is nested more than {MAX_NESTING} deep (or in a loop of parents)",
                            z.id.0
                        )
                    };
                    self.error(&format!("trustZones[{i}].parent"), message);
                    break;
                }
                cur = self.model.boundaries.get(&p).and_then(|b| b.parent.clone());
            }
        }
        for id in synthetic {
            ratings.remove(&id);
        }
        ratings
    }

    /// The boundary of each component (by its OTM id): its trust zone's, or that of the component
    /// it is inside.
    fn component_parents(
        &mut self,
        components: &[ComponentIn],
        zones: &[ZoneIn],
    ) -> HashMap<String, Option<String>> {
        let synthetic: BTreeSet<String> = zones
            .iter()
            .filter(|z| {
                attribute_map(&z.attributes)
                    .and_then(|a| a.get(SYNTHETIC_KEY).and_then(Value::as_bool))
                    .unwrap_or(false)
            })
            .map(|z| z.id.0.clone())
            .collect();
        let mut direct: HashMap<String, (usize, Option<Parent>)> = HashMap::new();
        for (i, c) in components.iter().enumerate() {
            let parent = match c.parent.as_ref().map(ParentIn::resolve) {
                None => None,
                Some(Err(m)) => {
                    self.error(&format!("components[{i}].parent"), m);
                    None
                }
                Some(Ok(p)) => Some(p),
            };
            direct.entry(c.id.0.clone()).or_insert((i, parent));
        }
        let mut out = HashMap::new();
        let mut nested = Vec::new();
        for c in components {
            let mut cur = c.id.0.clone();
            let mut steps = 0;
            let boundary = loop {
                let Some((i, parent)) = direct.get(&cur) else {
                    break None;
                };
                match parent {
                    None => break None,
                    Some(Parent::Zone(z)) => {
                        if synthetic.contains(z) {
                            break None;
                        }
                        match self.zones.get(z) {
                            Some(b) => break Some(b.to_string()),
                            None => {
                                let path = format!("components[{i}].parent.trustZone");
                                if cur == c.id.0 {
                                    self.error(
                                        &path,
                                        format!("no trust zone `{z}` in `trustZones`"),
                                    );
                                }
                                break None;
                            }
                        }
                    }
                    Some(Parent::Component(p)) => {
                        if !direct.contains_key(p) {
                            if cur == c.id.0 {
                                self.error(
                                    &format!("components[{i}].parent.component"),
                                    format!("no component `{p}` in `components`"),
                                );
                            }
                            break None;
                        }
                        steps += 1;
                        if p == &c.id.0 || steps > MAX_NESTING {
                            let message = if p == &c.id.0 {
                                format!("component `{}` is inside itself", c.id.0)
                            } else {
                                format!(
                                    "component `{}` is nested more than {MAX_NESTING} deep (or in a loop of parents)",
                                    c.id.0
                                )
                            };
                            self.error(
                                &format!("components[{}].parent.component", direct[&c.id.0].0),
                                message,
                            );
                            break None;
                        }
                        if cur == c.id.0 {
                            nested.push(format!("`{}` in `{p}`", c.id.0));
                        }
                        cur = p.clone();
                    }
                }
            };
            out.insert(c.id.0.clone(), boundary);
        }
        if !nested.is_empty() {
            self.notes.push(format!(
                "components inside components are placed in the boundary of the outer one (elements do not nest): {}",
                some(&nested)
            ));
        }
        out
    }

    fn component_in(
        &mut self,
        i: usize,
        c: &ComponentIn,
        parents: &HashMap<String, Option<String>>,
        ratings: &HashMap<String, f64>,
        guessed: &mut Vec<String>,
    ) {
        let path = format!("components[{i}]");
        let id = self.components.id(&c.id.0);
        if self.model.elements.contains_key(&id) {
            return; // a duplicate, already reported
        }
        let Some(mut attrs_in) = attribute_map(&c.attributes) else {
            self.error(
                &format!("{path}.attributes"),
                "attributes are a mapping of names to values",
            );
            return;
        };
        let boundary = parents.get(&c.id.0).cloned().flatten();
        let otm_type = text(&c.kind);
        let tags = texts(&c.tags);
        let explicit = attrs_in
            .remove(KIND_KEY)
            .and_then(|v| v.as_str().and_then(kind_from_word));
        let mut extra = BTreeMap::new();
        let kind = match explicit {
            Some(k) => k,
            None => {
                let rating = self.rating(boundary.as_deref(), ratings);
                let name = text(&c.name);
                let (k, why) = guess_kind(otm_type.as_deref(), &tags, name.as_deref(), rating);
                guessed.push(format!("`{}` → {} ({why})", c.id.0, k.as_str()));
                if k == ElementKind::ExternalEntity {
                    let w = all_words(otm_type.as_deref(), &tags, name.as_deref());
                    if w.iter().any(|w| HUMAN_WORDS.contains(&w.as_str())) {
                        extra.insert("human".to_string(), Value::Bool(true));
                    }
                    if w.iter().any(|w| THIRD_PARTY_WORDS.contains(&w.as_str())) {
                        extra.insert("third_party".to_string(), Value::Bool(true));
                    }
                }
                k
            }
        };
        let mut attrs = BTreeMap::new();
        if let Some(t) = &otm_type
            && kind_from_word(t).is_none()
        {
            attrs.insert("technology".to_string(), Value::String(t.clone()));
        }
        attrs.extend(extra);
        let mut custom = BTreeMap::new();
        let what = format!("component `{}`", c.id.0);
        self.split_attributes(
            attrs_in,
            &mut attrs,
            &mut custom,
            |a| a.on.allows_element(kind),
            &what,
        );
        let mut data = Vec::new();
        let mut seen = BTreeSet::new();
        if let Some(a) = &c.assets {
            for (key, list) in [("processed", &a.processed), ("stored", &a.stored)] {
                for (j, asset) in list.iter().flatten().enumerate() {
                    let Some(asset) = asset else { continue };
                    match self.assets.get(&asset.0) {
                        Some(aid) => {
                            if seen.insert(aid.to_string()) {
                                data.push(aid.to_string());
                            }
                        }
                        None => self.error(
                            &format!("{path}.assets.{key}[{j}]"),
                            format!("no asset `{}` in `assets`", asset.0),
                        ),
                    }
                }
            }
        }
        let name = text(&c.name).filter(|n| *n != c.id.0);
        self.model.elements.insert(
            id,
            Element {
                kind,
                name,
                description: text(&c.description),
                boundary,
                data,
                tags,
                attributes: custom,
                attrs,
                origin: None,
            },
        );
    }

    /// The rating of a boundary, or of the nearest boundary around it that has one.
    fn rating(&self, boundary: Option<&str>, ratings: &HashMap<String, f64>) -> Option<f64> {
        let mut cur = boundary.map(str::to_string);
        let mut steps = 0;
        while let Some(b) = cur {
            if let Some(r) = ratings.get(&b) {
                return Some(*r);
            }
            steps += 1;
            if steps > MAX_NESTING {
                break;
            }
            cur = self.model.boundaries.get(&b).and_then(|x| x.parent.clone());
        }
        None
    }

    /// Foreign attributes into table attributes (when the name and value fit) and custom ones.
    fn split_attributes(
        &mut self,
        attrs_in: BTreeMap<String, Value>,
        attrs: &mut BTreeMap<String, Value>,
        custom: &mut BTreeMap<String, Value>,
        allowed: impl Fn(&crate::model::Attribute) -> bool,
        what: &str,
    ) {
        for (k, v) in attrs_in {
            if let Some(name) = k.strip_prefix(CUSTOM_PREFIX) {
                custom.insert(name.to_string(), v);
                continue;
            }
            match attribute(&k) {
                Some(a) if allowed(a) => match fit(a, &v) {
                    Some(v) => {
                        attrs.insert(k, v);
                    }
                    None => {
                        self.notes.push(format!(
                            "{what}: `{k}: {}` is not {} — kept under `attributes:`",
                            short(&v),
                            a.ty.describe()
                        ));
                        custom.insert(k, v);
                    }
                },
                Some(a) => {
                    self.notes.push(format!(
                        "{what}: `{k}` is an attribute of {} — kept under `attributes:`",
                        a.on.describe()
                    ));
                    custom.insert(k, v);
                }
                None => {
                    custom.insert(k, v);
                }
            }
        }
    }

    fn flow_in(&mut self, i: usize, f: &FlowIn) {
        let path = format!("dataflows[{i}]");
        let mut ok = true;
        let mut end = |me: &mut Self, key: &str, id: &str| -> Option<String> {
            match me.components.get(id) {
                Some(e) => Some(e.to_string()),
                None => {
                    let hint = if me.zones.get(id).is_some() {
                        " (it is a trust zone; a dataflow joins two components)"
                    } else {
                        ""
                    };
                    me.error(
                        &format!("{path}.{key}"),
                        format!("no component `{id}` in `components`{hint}"),
                    );
                    ok = false;
                    None
                }
            }
        };
        let from = end(self, "source", &f.source.0);
        let to = end(self, "destination", &f.destination.0);
        if self.flows.get(&f.id.0).is_some() {
            self.error(
                &format!("{path}.id"),
                format!("dataflow id `{}` is used twice", f.id.0),
            );
            return;
        }
        let id = self.flows.id(&f.id.0);
        let (Some(from), Some(to)) = (from, to) else {
            return;
        };
        if !ok {
            return;
        }
        if from == to {
            self.notes.push(format!(
                "dataflow `{}` goes from `{}` to itself: left out (a flow joins two elements)",
                f.id.0, f.source.0
            ));
            return;
        }
        let Some(mut attrs_in) = attribute_map(&f.attributes) else {
            self.error(
                &format!("{path}.attributes"),
                "attributes are a mapping of names to values",
            );
            return;
        };
        let protocol = match attrs_in.remove("protocol") {
            Some(Value::String(p)) if !p.trim().is_empty() => Some(p),
            Some(Value::Null) | None => None,
            Some(other) => {
                attrs_in.insert("protocol".into(), other);
                None
            }
        };
        let mut attrs = BTreeMap::new();
        let mut custom = BTreeMap::new();
        let what = format!("dataflow `{}`", f.id.0);
        self.split_attributes(
            attrs_in,
            &mut attrs,
            &mut custom,
            |a| a.on.allows_flow(),
            &what,
        );
        let mut data = Vec::new();
        let mut seen = BTreeSet::new();
        for (j, asset) in f.assets.iter().flatten().enumerate() {
            let Some(asset) = asset else { continue };
            match self.assets.get(&asset.0) {
                Some(aid) => {
                    if seen.insert(aid.to_string()) {
                        data.push(aid.to_string());
                    }
                }
                None => self.error(
                    &format!("{path}.assets[{j}]"),
                    format!("no asset `{}` in `assets`", asset.0),
                ),
            }
        }
        let name = text(&f.name).filter(|n| *n != f.id.0);
        self.model.flows.insert(
            id,
            Flow {
                from,
                to,
                name,
                description: text(&f.description),
                protocol,
                data,
                bidirectional: f.bidirectional.unwrap_or(false),
                tags: texts(&f.tags),
                attributes: custom,
                attrs,
                origin: None,
            },
        );
    }

    /// A threat instance's state as a status; `Some(true)` when one was written, `Some(false)`
    /// when it was open (nothing to write), `None` on an error.
    fn status_in(
        &mut self,
        path: &str,
        t: &ThreatInstance,
        foreign_target: &str,
        target: &str,
        defs: &HashMap<&str, &ThreatIn>,
        mitigations: &HashMap<&str, &MitigationIn>,
    ) -> Option<bool> {
        let Some(def) = defs.get(t.threat.0.as_str()) else {
            self.error(
                &format!("{path}.threat"),
                format!("no threat `{}` in `threats`", t.threat.0),
            );
            return None;
        };
        let mut implemented = Vec::new();
        let mut all = Vec::new();
        for (k, m) in t.mitigations.iter().flatten().enumerate() {
            let Some(m) = m else { continue };
            let Some(mid) = &m.mitigation else { continue };
            let Some(mdef) = mitigations.get(mid.0.as_str()) else {
                self.error(
                    &format!("{path}.mitigations[{k}].mitigation"),
                    format!("no mitigation `{}` in `mitigations`", mid.0),
                );
                return None;
            };
            let name = text(&mdef.name)
                .or_else(|| text(&mdef.description))
                .unwrap_or_else(|| mid.0.clone());
            let state = m
                .state
                .as_ref()
                .map(|s| s.0.to_ascii_lowercase())
                .unwrap_or_default();
            if matches!(
                state.as_str(),
                "implemented" | "done" | "verified" | "applied"
            ) {
                implemented.push(name.clone());
            }
            all.push(name);
        }
        let attrs = attribute_map(&def.attributes).unwrap_or_default();
        let get = |k: &str| {
            attrs
                .get(k)
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .filter(|s| !s.trim().is_empty())
        };
        let state = t
            .state
            .as_ref()
            .map(|s| s.0.trim().to_ascii_lowercase().replace([' ', '_'], "-"))
            .unwrap_or_default();
        // A Palisade export says the decision as written; other files say a state.
        let written = get(STATUS_KEY);
        let kind = match written.as_deref() {
            Some("open") => Some(StatusKind::Open),
            Some("mitigated") => Some(StatusKind::Mitigated),
            Some("accepted") => Some(StatusKind::Accepted),
            Some("false-positive") => Some(StatusKind::FalsePositive),
            _ => match state.as_str() {
                "mitigated" | "mitigate" | "closed" | "fixed" | "resolved" | "implemented" => {
                    Some(StatusKind::Mitigated)
                }
                "accepted" | "accept" | "risk-accepted" => Some(StatusKind::Accepted),
                "not-applicable" | "na" | "n-a" | "false-positive" | "rejected" | "hidden" => {
                    Some(StatusKind::FalsePositive)
                }
                "exposed" | "expose" | "open" | "new" | "identified" | "required"
                | "recommended" | "partly-mitigated" | "partly-mitigate" | "" => None,
                other => {
                    self.notes.push(format!(
                        "threat `{}` on `{foreign_target}`: state `{other}` is not known; read as open",
                        t.threat.0
                    ));
                    None
                }
            },
        };
        let id = match t.threat.0.rsplit_once('@') {
            Some((rule, on)) if on == foreign_target => format!("{rule}@{target}"),
            _ => format!("{}@{target}", t.threat.0),
        };
        let from_file = |s: &str| format!("marked `{s}` in the imported OTM file");
        let label = if state.is_empty() { "decided" } else { &state };
        // Another tool's threat is named in the note: its id says little.
        let from_palisade = attrs.contains_key("rule");
        let note = get("note").or_else(|| (!from_palisade).then(|| text(&def.name)).flatten());
        let entry = match kind {
            None => return Some(false),
            Some(StatusKind::Open) => StatusEntry {
                status: StatusKind::Open,
                mitigation: None,
                owner: None,
                reason: None,
                expires: None,
                note,
                origin: None,
            },
            Some(StatusKind::Mitigated) => StatusEntry {
                status: StatusKind::Mitigated,
                mitigation: get("mitigation")
                    .or_else(|| (!implemented.is_empty()).then(|| implemented.join("; ")))
                    .or_else(|| (!all.is_empty()).then(|| all.join("; ")))
                    .or_else(|| Some(from_file(label))),
                owner: None,
                reason: None,
                expires: None,
                note,
                origin: None,
            },
            Some(StatusKind::Accepted) => {
                let (owner, reason, expires) = (get("owner"), get("reason"), get("expires"));
                match (owner, reason, expires) {
                    (Some(owner), Some(reason), Some(expires))
                        if crate::model::parse_date(&expires).is_some() =>
                    {
                        StatusEntry {
                            status: StatusKind::Accepted,
                            mitigation: None,
                            owner: Some(owner),
                            reason: Some(reason),
                            expires: Some(expires),
                            note,
                            origin: None,
                        }
                    }
                    _ => {
                        self.notes.push(format!(
                            "threat `{}` on `{foreign_target}` is accepted in the file, but an acceptance in Palisade names its owner, reason and expiry (`owner`, `reason`, `expires` attributes of the threat): left open",
                            t.threat.0
                        ));
                        return Some(false);
                    }
                }
            }
            Some(StatusKind::FalsePositive) => StatusEntry {
                status: StatusKind::FalsePositive,
                mitigation: None,
                owner: None,
                reason: get("reason").or_else(|| Some(from_file(label))),
                expires: None,
                note,
                origin: None,
            },
        };
        if self.model.threats.contains_key(&id) {
            self.notes.push(format!(
                "threat `{}` is on `{foreign_target}` twice: the first is kept",
                t.threat.0
            ));
            return Some(false);
        }
        self.model.threats.insert(id, entry);
        Some(true)
    }
}

/// Whether a threat comes from another tool: Palisade's exports name the rule that raised it.
fn foreign(defs: &HashMap<&str, &ThreatIn>, id: &str) -> bool {
    defs.get(id).is_some_and(|d| {
        !attribute_map(&d.attributes)
            .unwrap_or_default()
            .contains_key("rule")
    })
}

/// Counts of another tool's threats: decisions kept, open ones left out.
fn count(outcome: Option<bool>, foreign: bool, kept: &mut usize, open: &mut usize) {
    match (outcome, foreign) {
        (Some(true), true) => *kept += 1,
        (Some(false), true) => *open += 1,
        _ => {}
    }
}

/// A value, briefly, for a note.
fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn score_level(score: f64) -> Level {
    if score <= 25.0 {
        Level::Low
    } else if score <= 50.0 {
        Level::Medium
    } else if score <= 75.0 {
        Level::High
    } else {
        Level::Critical
    }
}

fn level_score(l: Level) -> u8 {
    match l {
        Level::Low => 25,
        Level::Medium => 50,
        Level::High => 75,
        Level::Critical => 100,
    }
}

fn kind_from_word(w: &str) -> Option<ElementKind> {
    match w.trim().to_ascii_lowercase().as_str() {
        "external-entity" | "external_entity" | "externalentity" => {
            Some(ElementKind::ExternalEntity)
        }
        "process" => Some(ElementKind::Process),
        "data-store" | "datastore" | "data_store" => Some(ElementKind::DataStore),
        _ => None,
    }
}

/// Words of a type or tag that mean stored data.
const STORE_WORDS: &[&str] = &[
    "database",
    "db",
    "datastore",
    "store",
    "storage",
    "bucket",
    "queue",
    "cache",
    "s3",
    "rds",
    "dynamodb",
    "redis",
    "memcached",
    "kafka",
    "sqs",
    "rabbitmq",
    "mongodb",
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "sql",
    "nosql",
    "blob",
    "filesystem",
    "elasticsearch",
    "table",
];
/// Parts of words that mean stored data (`CloudStorage`, `mydatabase`).
const STORE_PARTS: &[&str] = &[
    "database",
    "storage",
    "bucket",
    "queue",
    "cache",
    "datastore",
];
/// Words that mean someone or something outside the system.
const EXTERNAL_WORDS: &[&str] = &[
    "user",
    "users",
    "client",
    "browser",
    "third",
    "thirdparty",
    "actor",
    "customer",
    "human",
    "person",
    "partner",
    "external",
    "mobile",
    "saas",
];
/// Words that make a component a process even when an external word is there (`user-service`).
const PROCESS_WORDS: &[&str] = &[
    "service",
    "server",
    "api",
    "backend",
    "function",
    "lambda",
    "microservice",
    "worker",
    "gateway",
];
const HUMAN_WORDS: &[&str] = &["user", "users", "customer", "human", "person", "actor"];
const THIRD_PARTY_WORDS: &[&str] = &["third", "thirdparty", "partner", "saas"];

fn all_words(otm_type: Option<&str>, tags: &[String], name: Option<&str>) -> Vec<String> {
    otm_type
        .into_iter()
        .chain(tags.iter().map(String::as_str))
        .chain(name)
        .flat_map(words)
        .collect()
}

/// The kind of a component from its type, tags, name and the trust rating around it, and why.
fn guess_kind(
    otm_type: Option<&str>,
    tags: &[String],
    name: Option<&str>,
    rating: Option<f64>,
) -> (ElementKind, String) {
    if let Some(k) = otm_type.and_then(kind_from_word) {
        return (k, "its type".into());
    }
    let w = all_words(otm_type, tags, name);
    if let Some(s) = w
        .iter()
        .find(|w| STORE_WORDS.contains(&w.as_str()) || STORE_PARTS.iter().any(|p| w.contains(p)))
    {
        return (ElementKind::DataStore, format!("`{s}`"));
    }
    if let Some(e) = w.iter().find(|w| THIRD_PARTY_WORDS.contains(&w.as_str())) {
        return (ElementKind::ExternalEntity, format!("`{e}`"));
    }
    let process = w.iter().any(|w| PROCESS_WORDS.contains(&w.as_str()));
    if !process && let Some(e) = w.iter().find(|w| EXTERNAL_WORDS.contains(&w.as_str())) {
        return (ElementKind::ExternalEntity, format!("`{e}`"));
    }
    if let Some(r) = rating
        && r <= LOW_TRUST
        && !process
    {
        return (
            ElementKind::ExternalEntity,
            format!("in a trust zone rated {r}"),
        );
    }
    (ElementKind::Process, "the default".into())
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OtmOut {
    otm_version: &'static str,
    project: ProjectOut,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    assets: Vec<AssetOut>,
    trust_zones: Vec<ZoneOut>,
    components: Vec<ComponentOut>,
    dataflows: Vec<FlowOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    threats: Vec<ThreatOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mitigations: Vec<MitigationOut>,
}

#[derive(Serialize)]
struct ProjectOut {
    name: String,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    attributes: Map<String, Value>,
}

#[derive(Serialize)]
struct AssetOut {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    risk: AssetRiskOut,
    #[serde(skip_serializing_if = "Map::is_empty")]
    attributes: Map<String, Value>,
}

#[derive(Serialize)]
struct AssetRiskOut {
    confidentiality: u8,
    integrity: u8,
    availability: u8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ZoneOut {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    risk: ZoneRiskOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<ParentOut>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    attributes: Map<String, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ZoneRiskOut {
    trust_rating: u8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ParentOut {
    trust_zone: String,
}

#[derive(Serialize)]
struct ComponentOut {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    parent: ParentOut,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assets: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    threats: Vec<ThreatInstanceOut>,
    attributes: Map<String, Value>,
}

#[derive(Serialize)]
struct FlowOut {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    bidirectional: bool,
    source: String,
    destination: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    assets: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    threats: Vec<ThreatInstanceOut>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    attributes: Map<String, Value>,
}

#[derive(Serialize)]
struct ThreatInstanceOut {
    threat: String,
    state: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mitigations: Vec<MitigationInstanceOut>,
}

#[derive(Serialize)]
struct MitigationInstanceOut {
    mitigation: String,
    state: &'static str,
}

#[derive(Serialize)]
struct ThreatOut {
    id: String,
    name: String,
    description: String,
    categories: Vec<&'static str>,
    cwes: Vec<String>,
    risk: ThreatRiskOut,
    tags: Vec<&'static str>,
    attributes: Map<String, Value>,
}

#[derive(Serialize)]
struct ThreatRiskOut {
    likelihood: u8,
    impact: u8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MitigationOut {
    id: String,
    name: String,
    description: String,
    risk_reduction: u8,
}

/// The model and its analysis as OTM 0.2.0 JSON (pretty-printed, keys in the order of the
/// specification).
pub fn export(model: &Model, analysis: &Analysis) -> String {
    let mut s = serde_json::to_string_pretty(&build(model, analysis))
        .unwrap_or_else(|e| panic!("OTM always serialises: {e}"));
    s.push('\n');
    s
}

/// The model and its analysis as an OTM 0.2.0 document.
pub fn export_value(model: &Model, analysis: &Analysis) -> Value {
    serde_json::to_value(build(model, analysis))
        .unwrap_or_else(|e| panic!("OTM always serialises: {e}"))
}

fn strings(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect()
}

fn build(model: &Model, analysis: &Analysis) -> OtmOut {
    let name = model.name.clone().unwrap_or_else(|| {
        model
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "Threat model".into())
    });
    let project = ProjectOut {
        id: slug(&name),
        name,
        description: model.description.clone(),
        attributes: strings(&[
            ("generator", "Palisade"),
            ("rules", &analysis.rules.to_string()),
        ]),
    };
    let assets = model
        .assets
        .iter()
        .map(|(id, a)| {
            let mut attributes = Map::new();
            if a.pii {
                attributes.insert("pii".into(), Value::Bool(true));
            }
            if a.credentials {
                attributes.insert("credentials".into(), Value::Bool(true));
            }
            let unclassified: Vec<&str> = [
                ("confidentiality", a.confidentiality),
                ("integrity", a.integrity),
                ("availability", a.availability),
            ]
            .iter()
            .filter(|(_, l)| l.is_none())
            .map(|(k, _)| *k)
            .collect();
            if !unclassified.is_empty() {
                attributes.insert(UNCLASSIFIED_KEY.into(), json!(unclassified));
            }
            let score = |l: Option<Level>| l.map_or(0, level_score);
            AssetOut {
                id: id.clone(),
                name: a.name.clone().unwrap_or_else(|| id.clone()),
                description: a.description.clone(),
                risk: AssetRiskOut {
                    confidentiality: score(a.confidentiality),
                    integrity: score(a.integrity),
                    availability: score(a.availability),
                },
                attributes,
            }
        })
        .collect();

    // Trust zones: every boundary, and one for the elements outside every boundary.
    let unbounded: Vec<&Element> = model
        .elements
        .values()
        .filter(|e| e.boundary.is_none())
        .collect();
    let mut outside_id = "outside-every-boundary".to_string();
    while model.boundaries.contains_key(&outside_id) {
        outside_id.push('_');
    }
    // Per boundary: whether it holds any element, and any that is not an external entity (in it
    // or in a boundary inside it).
    let mut holds: HashMap<&str, (bool, bool)> = HashMap::new();
    for (id, e) in &model.elements {
        for b in model.boundary_chain(id) {
            let h = holds.entry(b).or_default();
            h.0 = true;
            h.1 |= e.kind != ElementKind::ExternalEntity;
        }
    }
    let only_external = |b: &str| holds.get(b).is_some_and(|&(any, other)| any && !other);
    let mut trust_zones: Vec<ZoneOut> = model
        .boundaries_outside_in()
        .into_iter()
        .map(|id| {
            let b = &model.boundaries[id];
            ZoneOut {
                id: id.to_string(),
                name: b.name.clone().unwrap_or_else(|| id.to_string()),
                description: b.description.clone(),
                risk: ZoneRiskOut {
                    trust_rating: if only_external(id) { 10 } else { 80 },
                },
                parent: b.parent.clone().map(|p| ParentOut { trust_zone: p }),
                attributes: Map::new(),
            }
        })
        .collect();
    if !unbounded.is_empty() {
        let all_external = unbounded
            .iter()
            .all(|e| e.kind == ElementKind::ExternalEntity);
        trust_zones.push(ZoneOut {
            id: outside_id.clone(),
            name: "Outside every boundary".into(),
            description: Some(
                "The elements the Palisade model places in no trust boundary.".into(),
            ),
            risk: ZoneRiskOut {
                trust_rating: if all_external { 10 } else { 50 },
            },
            parent: None,
            attributes: Map::from_iter([(SYNTHETIC_KEY.to_string(), Value::Bool(true))]),
        });
    }

    // Threats, by what they are raised against.
    let mut on: HashMap<(bool, &str), Vec<&Threat>> = HashMap::new();
    for t in &analysis.threats {
        on.entry((t.target.kind == "flow", t.target.id.as_str()))
            .or_default()
            .push(t);
    }
    let mut mitigations: BTreeMap<String, MitigationOut> = BTreeMap::new();
    let mut threat_instances = |threats: Option<&Vec<&Threat>>| -> Vec<ThreatInstanceOut> {
        threats
            .into_iter()
            .flatten()
            .map(|t| {
                let mut ms = Vec::new();
                for (i, text) in t.mitigations.iter().enumerate() {
                    let mid = format!("{}.m{}", t.rule, i + 1);
                    mitigations
                        .entry(mid.clone())
                        .or_insert_with(|| MitigationOut {
                            id: mid.clone(),
                            name: first_sentence(text),
                            description: text.clone(),
                            // Palisade does not estimate how much a mitigation reduces a risk;
                            // OTM requires a figure: the middle of the scale.
                            risk_reduction: 50,
                        });
                    ms.push(MitigationInstanceOut {
                        mitigation: mid,
                        state: "recommended",
                    });
                }
                if let ThreatStatus::Mitigated { mitigation } = &t.status {
                    let mid = format!("{}.mitigation", t.id);
                    mitigations.insert(
                        mid.clone(),
                        MitigationOut {
                            id: mid.clone(),
                            name: first_sentence(mitigation),
                            description: mitigation.clone(),
                            risk_reduction: 100,
                        },
                    );
                    ms.push(MitigationInstanceOut {
                        mitigation: mid,
                        state: "implemented",
                    });
                }
                ThreatInstanceOut {
                    threat: t.id.clone(),
                    state: match &t.status {
                        ThreatStatus::Open { .. } => "exposed",
                        ThreatStatus::Mitigated { .. } => "mitigated",
                        ThreatStatus::Accepted { .. } => "accepted",
                        ThreatStatus::FalsePositive { .. } => "not-applicable",
                    },
                    mitigations: ms,
                }
            })
            .collect()
    };

    let components = model
        .elements
        .iter()
        .map(|(id, e)| {
            let technology = e.attrs.get("technology").and_then(Value::as_str);
            let mut attributes = Map::new();
            attributes.insert(KIND_KEY.into(), Value::String(e.kind.as_str().into()));
            for (k, v) in &e.attrs {
                // The technology is the type, unless it is a word the import reads as a kind.
                if k == "technology" && technology.and_then(kind_from_word).is_none() {
                    continue;
                }
                attributes.insert(k.clone(), v.clone());
            }
            custom_attributes(&mut attributes, &e.attributes);
            let assets = (!e.data.is_empty()).then(|| {
                let key = if e.kind == ElementKind::DataStore {
                    "stored"
                } else {
                    "processed"
                };
                Map::from_iter([(key.to_string(), json!(e.data))])
            });
            ComponentOut {
                id: id.clone(),
                name: e.name.clone().unwrap_or_else(|| id.clone()),
                kind: technology.unwrap_or(e.kind.as_str()).to_string(),
                description: e.description.clone(),
                parent: ParentOut {
                    trust_zone: e.boundary.clone().unwrap_or_else(|| outside_id.clone()),
                },
                tags: e.tags.clone(),
                assets,
                threats: threat_instances(on.get(&(false, id.as_str()))),
                attributes,
            }
        })
        .collect();

    let dataflows = model
        .flows
        .iter()
        .map(|(id, f)| {
            let mut attributes = Map::new();
            if let Some(p) = &f.protocol {
                attributes.insert("protocol".into(), Value::String(p.clone()));
            }
            for (k, v) in &f.attrs {
                attributes.insert(k.clone(), v.clone());
            }
            custom_attributes(&mut attributes, &f.attributes);
            FlowOut {
                id: id.clone(),
                name: f.name.clone().unwrap_or_else(|| id.clone()),
                description: f.description.clone(),
                bidirectional: f.bidirectional,
                source: f.from.clone(),
                destination: f.to.clone(),
                assets: f.data.clone(),
                tags: f.tags.clone(),
                threats: threat_instances(on.get(&(true, id.as_str()))),
                attributes,
            }
        })
        .collect();

    let threats = analysis
        .threats
        .iter()
        .map(|t| {
            let capec: Vec<String> = t.capec.iter().map(|c| format!("CAPEC-{c}")).collect();
            let capec = capec.join(", ");
            let mut attributes = strings(&[
                ("rule", &t.rule),
                ("stride", t.stride.as_str()),
                ("severity", t.severity.as_str()),
            ]);
            let mut put = |k: &str, v: &str| {
                attributes.insert(k.into(), Value::String(v.into()));
            };
            if !capec.is_empty() {
                put("capec", &capec);
            }
            if let Some(entry) = model.threats.get(&t.id) {
                put(
                    STATUS_KEY,
                    match entry.status {
                        StatusKind::Open => "open",
                        StatusKind::Mitigated => "mitigated",
                        StatusKind::Accepted => "accepted",
                        StatusKind::FalsePositive => "false-positive",
                    },
                );
                for (k, v) in [
                    ("mitigation", &entry.mitigation),
                    ("owner", &entry.owner),
                    ("reason", &entry.reason),
                    ("expires", &entry.expires),
                    ("note", &entry.note),
                ] {
                    if let Some(v) = v {
                        put(k, v);
                    }
                }
            }
            if let ThreatStatus::Open {
                acceptance_expired: Some(day),
            } = &t.status
            {
                put("acceptanceExpired", day);
            }
            ThreatOut {
                id: t.id.clone(),
                name: t.title.clone(),
                description: t.rationale.clone(),
                categories: vec![t.stride.title()],
                cwes: t.cwe.iter().map(|c| format!("CWE-{c}")).collect(),
                risk: ThreatRiskOut {
                    likelihood: level_score(t.likelihood),
                    impact: level_score(t.impact),
                },
                tags: vec![t.stride.as_str()],
                attributes,
            }
        })
        .collect();

    OtmOut {
        otm_version: OTM_VERSION,
        project,
        assets,
        trust_zones,
        components,
        dataflows,
        threats,
        mitigations: mitigations.into_values().collect(),
    }
}

/// Custom attributes under their own names, unless the name is one the import would read as
/// something else.
fn custom_attributes(out: &mut Map<String, Value>, custom: &BTreeMap<String, Value>) {
    for (k, v) in custom {
        let reserved = attribute(k).is_some() || k.starts_with("palisade.") || k == "protocol";
        let key = if reserved {
            format!("{CUSTOM_PREFIX}{k}")
        } else {
            k.clone()
        };
        out.insert(key, v.clone());
    }
}

fn first_sentence(s: &str) -> String {
    let end = s.find(". ").map_or(s.len(), |i| i + 1);
    s[..end].trim().to_string()
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "threat-model".into()
    } else {
        out
    }
}
