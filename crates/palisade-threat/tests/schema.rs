//! The JSON Schema for editors: published in docs/ and current, valid models pass it, and it
//! agrees with the loader on every attribute, on every kind of element and on flows.

use std::path::{Path, PathBuf};

use palisade_threat::model::{self, ATTRIBUTES, AttrType, ElementKind};
use palisade_threat::{RuleSet, schema};
use serde_json::Value;

fn docs_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/threat-model.schema.json")
}

#[test]
fn the_published_schema_is_current() {
    let mut want = serde_json::to_string_pretty(&schema::json_schema()).unwrap();
    want.push('\n');
    let path = docs_path();
    if std::env::var_os("PALISADE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date: run `PALISADE_UPDATE_DOCS=1 cargo test -p palisade-threat --test schema`",
        path.display()
    );
}

struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new() -> Validator {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let url = "file:///threat-model.schema.json";
        compiler
            .add_resource(url, schema::json_schema())
            .unwrap_or_else(|e| panic!("{e}"));
        let index = compiler
            .compile(url, &mut schemas)
            .unwrap_or_else(|e| panic!("{e:#}"));
        Validator { schemas, index }
    }

    /// Why the model text is refused by the schema, or `None`.
    fn errors(&self, text: &str) -> Option<String> {
        let value = schema::yaml_value(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        self.schemas
            .validate(&value, self.index)
            .err()
            .map(|e| format!("{e:#}"))
    }
}

fn loads(text: &str) -> Result<(), String> {
    model::from_str(Path::new("m.yaml"), text)
        .map(|_| ())
        .map_err(|e| e[0].to_string())
}

const SHOP: &str = r#"
version: 1
name: Shop
description: The checkout.
assets:
  card-data: { name: Card data, confidentiality: critical, integrity: high, pii: true }
  sessions: { confidentiality: high, credentials: true, availability: ~ }
boundaries:
  internet: { name: Internet }
  dmz: { name: DMZ, parent: internet, description: ~ }
elements:
  customer: { type: external-entity, boundary: internet, human: true, tags: [buyer] }
  web:
    type: process
    name: Web app
    boundary: dmz
    technology: web-application
    internet_facing: true
    authentication: password
    secrets_storage: vault
    rate_limiting: true
    data: [card-data, sessions]
    attributes: { replicas: 3, zones: [a, b] }
  db: { type: data-store, encryption_at_rest: true, backups: true, data: [card-data] }
flows:
  checkout: { from: customer, to: web, protocol: https, bidirectional: true, data: [card-data], authentication: session, encrypted: true }
  store: { from: web, to: db, protocol: postgres, encrypted: false, attributes: { pool: 10 } }
threats:
  PAL-TM-S01@web: { status: mitigated, mitigation: MFA for every account }
  PAL-TM-T01@store: { status: accepted, owner: Ana, reason: Private network, expires: "2027-01-31", note: Review }
  PAL-TM-I01@db: { status: false-positive, reason: No data at rest }
  PAL-TM-D01@web: { status: open }
"#;

#[test]
fn valid_models_pass_the_schema() {
    let v = Validator::new();
    let mut models: Vec<(String, String)> = vec![("shop".into(), SHOP.into())];
    // The example at the top of the model's documentation.
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model.rs"))
        .unwrap();
    let start = src.find("//! ```yaml\n").unwrap() + "//! ```yaml\n".len();
    let end = start + src[start..].find("//! ```").unwrap();
    let doc: String = src[start..end]
        .lines()
        .map(|l| {
            l.strip_prefix("//! ")
                .or(l.strip_prefix("//!"))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    models.push(("model.rs docs".into(), doc));
    // The examples of every built-in rule.
    for r in RuleSet::builtin().rules {
        if let Some(ex) = r.examples {
            models.push((format!("{} raises", r.id), ex.raises));
            models.push((format!("{} silent", r.id), ex.silent));
        }
    }
    // Imported models, as written.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let otm_text = std::fs::read_to_string(data.join("otm-webshop.yaml")).unwrap();
    let otm = palisade_threat::otm::import(Path::new("o"), &otm_text).unwrap();
    models.push(("otm import".into(), model::to_yaml(&otm.model)));
    let tg_text = std::fs::read_to_string(data.join("threagile-tickets.yaml")).unwrap();
    let tg = palisade_threat::threagile::import(Path::new("t"), &tg_text).unwrap();
    models.push(("threagile import".into(), model::to_yaml(&tg.model)));
    // The web shop of the side-by-side with pytm.
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/threat/webshop.yaml");
    models.push((
        "bench/threat/webshop.yaml".into(),
        std::fs::read_to_string(bench).unwrap(),
    ));
    for (name, text) in &models {
        loads(text).unwrap_or_else(|e| panic!("{name} does not load: {e}"));
        if let Some(e) = v.errors(text) {
            panic!("{name} is refused by the schema:\n{e}\n{text}");
        }
    }
}

#[test]
fn a_misspelt_attribute_is_refused_by_the_schema_as_by_the_loader() {
    let v = Validator::new();
    let text = SHOP.replace("internet_facing: true", "internet_facin: true");
    assert!(loads(&text).is_err());
    let e = v.errors(&text).expect("refused");
    assert!(e.contains("internet_facin"), "{e}");
    let text = SHOP.replace("protocol: postgres,", "protocl: postgres,");
    assert!(loads(&text).is_err());
    assert!(v.errors(&text).is_some());
    let text = SHOP.replace("authentication: password", "authentication: passwd");
    assert!(loads(&text).is_err());
    assert!(v.errors(&text).is_some());
}

/// A value of the attribute's type, and one that is not.
fn values(ty: AttrType) -> (&'static str, &'static str) {
    match ty {
        AttrType::Bool => ("true", "\"yes please\""),
        AttrType::Text => ("some-text", "[a, b]"),
        AttrType::Int => ("3", "three"),
        AttrType::Level => ("high", "severe"),
        AttrType::OneOf(words) => (words[0], "not-a-word"),
    }
}

#[test]
fn the_schema_agrees_with_the_loader_on_every_attribute_kind_and_value() {
    let v = Validator::new();
    let kinds = [
        ElementKind::ExternalEntity,
        ElementKind::Process,
        ElementKind::DataStore,
    ];
    let mut disagreements = Vec::new();
    let mut check = |what: String, text: String| {
        let loader = loads(&text);
        let schema = v.errors(&text);
        if loader.is_ok() != schema.is_none() {
            disagreements.push(format!(
                "{what}: loader {loader:?}, schema {}",
                schema.map_or("accepts".into(), |e| format!("refuses: {e}"))
            ));
        }
    };
    for a in ATTRIBUTES {
        let (good, bad) = values(a.ty);
        for k in kinds {
            for (label, value) in [("good", good), ("bad", bad)] {
                check(
                    format!("{} {label} on {}", a.name, k.as_str()),
                    format!(
                        "elements:\n  x: {{ type: {}, {}: {value} }}\n  y: {{ type: process }}\n",
                        k.as_str(),
                        a.name
                    ),
                );
            }
        }
        for (label, value) in [("good", good), ("bad", bad)] {
            check(
                format!("{} {label} on a flow", a.name),
                format!(
                    "elements:\n  x: {{ type: process }}\n  y: {{ type: process }}\nflows:\n  f: {{ from: x, to: y, {}: {value} }}\n",
                    a.name
                ),
            );
        }
        // Empty is not a value of any attribute.
        check(
            format!("{} empty", a.name),
            format!("elements:\n  x: {{ type: process, {}: ~ }}\n", a.name),
        );
    }
    let base = "elements:\n  x: { type: process }\n  y: { type: data-store }\n";
    for (what, extra) in [
        ("unknown top-level key", "owner: me\n"),
        ("version 1", "version: 1\n"),
        ("version 2", "version: 2\n"),
        ("name as a number", "name: 12\n"),
        ("name empty", "name: ~\n"),
        ("bad asset id", "assets:\n  \"a b\": { pii: true }\n"),
        ("asset level", "assets:\n  a: { confidentiality: severe }\n"),
        ("asset unknown key", "assets:\n  a: { secret: true }\n"),
        ("asset empty level", "assets:\n  a: { integrity: ~ }\n"),
        ("boundary unknown key", "boundaries:\n  b: { trust: 3 }\n"),
        (
            "mitigated with how",
            "threats:\n  R@x: { status: mitigated, mitigation: WAF }\n",
        ),
        (
            "mitigated without how",
            "threats:\n  R@x: { status: mitigated }\n",
        ),
        (
            "mitigated with a blank how",
            "threats:\n  R@x: { status: mitigated, mitigation: \" \" }\n",
        ),
        (
            "accepted in full",
            "threats:\n  R@x: { status: accepted, owner: A, reason: R, expires: \"2027-01-01\" }\n",
        ),
        (
            "accepted without owner",
            "threats:\n  R@x: { status: accepted, reason: R, expires: \"2027-01-01\" }\n",
        ),
        (
            "accepted without expiry",
            "threats:\n  R@x: { status: accepted, owner: A, reason: R }\n",
        ),
        (
            "false positive with reason",
            "threats:\n  R@x: { status: false-positive, reason: R }\n",
        ),
        (
            "false positive without reason",
            "threats:\n  R@x: { status: false-positive }\n",
        ),
        ("unknown status", "threats:\n  R@x: { status: done }\n"),
        (
            "status unknown key",
            "threats:\n  R@x: { status: open, by: me }\n",
        ),
        ("element without type", "elements:\n  z: { name: Z }\n"),
        (
            "element unknown type",
            "elements:\n  z: { type: service }\n",
        ),
        (
            "element tags not text",
            "elements:\n  z: { type: process, tags: [[a]] }\n",
        ),
        (
            "element custom attributes",
            "elements:\n  z: { type: process, attributes: { a: [1, 2], b: { c: d } } }\n",
        ),
        ("flow without to", "flows:\n  f: { from: x }\n"),
        (
            "flow bidirectional text",
            "flows:\n  f: { from: x, to: y, bidirectional: sometimes }\n",
        ),
        (
            "flow element attribute",
            "flows:\n  f: { from: x, to: y, backups: true }\n",
        ),
    ] {
        let text = if extra.starts_with("elements:") {
            extra.replace("elements:\n", base)
        } else {
            format!("{base}{extra}")
        };
        check(what.to_string(), text);
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn the_schema_documents_every_attribute() {
    let s = schema::json_schema();
    let element = &s["$defs"]["element"]["properties"];
    let flow = &s["$defs"]["flow"]["properties"];
    for a in ATTRIBUTES {
        let here = if element.get(a.name).is_some() {
            &element[a.name]
        } else {
            &flow[a.name]
        };
        let d = here["description"].as_str().unwrap_or_default();
        assert!(d.starts_with(a.doc), "{}: {d}", a.name);
    }
    if let AttrType::OneOf(words) = model::attribute("authentication").unwrap().ty {
        assert_eq!(
            element["authentication"]["enum"],
            Value::from(words.to_vec())
        );
    }
}
