//! `model::to_yaml` writes a model file the loader reads back as the same model: for a model
//! written by hand with every kind of key, and for generated models whose text is anything at all
//! (strings that look like numbers, booleans or nulls, YAML indicators, several lines, any Unicode).

use std::collections::BTreeMap;
use std::path::Path;

use palisade_threat::model::{
    self, ATTRIBUTES, Asset, AttrType, Boundary, Element, ElementKind, Flow, Level, Model,
    StatusEntry, StatusKind,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A model as data, without where it was read from.
fn as_data(m: &Model) -> Value {
    let mut v = serde_json::to_value(m).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("file");
    o.remove("files");
    v
}

fn round_trip(m: &Model) -> Result<Model, String> {
    let text = model::to_yaml(m);
    model::from_str(Path::new("written.yaml"), &text).map_err(|e| {
        format!(
            "{}\n--- written ---\n{text}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

const SHOP: &str = r##"
version: 1
name: "Shop: checkout"
description: |
  The web shop's checkout.
  Two lines, and a trailing one.
assets:
  card-data: { name: Card data, confidentiality: critical, integrity: high, pii: true }
  sessions: { confidentiality: high, credentials: true, availability: low }
  "true": { description: an id that looks like a boolean }
boundaries:
  internet: { name: Internet }
  cloud: { name: Cloud, description: "# not a comment" }
  dmz: { name: DMZ, parent: cloud }
elements:
  customer: { type: external-entity, boundary: internet, human: true, tags: [buyer, "yes"] }
  web:
    type: process
    name: Web app
    boundary: dmz
    technology: web-application
    internet_facing: true
    authentication: password
    secrets_storage: vault
    data: [card-data, sessions]
    attributes: { replicas: 3, owner: team-a, ratio: 0.5, zones: [a, b], empty: null }
  db: { type: data-store, boundary: cloud, encryption_at_rest: true, backups: false, data: [card-data] }
  "0123": { type: process, description: "id with a leading zero" }
flows:
  checkout:
    from: customer
    to: web
    protocol: https
    bidirectional: true
    data: [card-data]
    authentication: session
    rate_limiting: true
  store: { from: web, to: db, protocol: postgres, encrypted: false, tags: [sql] }
  odd: { from: web, to: "0123", name: "- looks like a list", attributes: { "key: with colon": "value # hash" } }
threats:
  PAL-TM-S01@web: { status: mitigated, mitigation: "MFA for every account" }
  PAL-TM-T01@store: { status: accepted, owner: Ana, reason: "Private network", expires: "2027-01-31", note: "Review\nin January" }
  PAL-TM-I01@db: { status: false-positive, reason: "No data at rest" }
  PAL-TM-D01@web: { status: open, note: "'quoted'" }
"##;

#[test]
fn a_model_written_back_loads_as_the_same_model() {
    let m = model::from_str(Path::new("written.yaml"), SHOP).unwrap();
    let again = round_trip(&m).unwrap();
    assert_eq!(as_data(&m), as_data(&again));
    // And writing is stable: the second text is the first.
    assert_eq!(model::to_yaml(&m), model::to_yaml(&again));
}

#[test]
fn the_written_file_is_clean() {
    let m = model::from_str(Path::new("written.yaml"), SHOP).unwrap();
    let text = model::to_yaml(&m);
    assert!(text.starts_with("version: 1\n"), "{text}");
    for absent in [
        "null\n",
        ": []",
        ": {}",
        "pii: false",
        "bidirectional: false",
        "origin",
    ] {
        assert!(
            !text.replace("empty: null", "").contains(absent),
            "`{absent}` written:\n{text}"
        );
    }
    // Keys in the order they are usually written: the type first, table attributes in table order,
    // custom attributes after them.
    let web = &text[text.find("  web:").unwrap()..];
    let pos = |k: &str| web.find(k).unwrap_or_else(|| panic!("{k} in\n{web}"));
    assert!(pos("type: process") < pos("name: Web app"));
    assert!(pos("technology:") < pos("internet_facing:"));
    assert!(pos("internet_facing:") < pos("authentication:"));
    assert!(pos("secrets_storage:") < pos("attributes:"));
}

#[test]
fn a_minimal_model_is_written_minimally() {
    let m = model::from_str(Path::new("m.yaml"), "elements: { a: { type: process } }").unwrap();
    assert_eq!(
        model::to_yaml(&m),
        "version: 1\nelements:\n  a:\n    type: process\n"
    );
}

// Generated models.

/// Text of every kind, with the ones a YAML writer must quote well represented.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        3 => "[ -~]{0,20}",
        2 => "[a-z \n\t#:'\"-]{0,20}",
        2 => prop::sample::select(vec![
            "true", "False", "NULL", "~", "", " ", "0123", "-0", "+5", "1e3", ".5", "1.", "0x1F",
            ".inf", "-.inf", ".nan", "nan", "infinity", "yes", "no", "on", "off", "y", "n",
            "- item", "? key", ": value", "{a: b}", "[a]", "&anchor", "*alias", "!tag", "%directive",
            "@at", "`tick", "|", ">", "'", "\"", "a #b", "a: b", "trailing ", " leading",
            "line\n", "\nline", "two\n\nblank", "\ttab", "\u{feff}bom", "\u{85}next", "\r\n",
            "2027-01-31", "12:30", "1_000", "a -", "a - b", "a, b", "x]", "{", "a: b: c",
        ])
        .prop_map(str::to_string),
    ]
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9_-]{0,8}",
        1 => prop::sample::select(vec!["true", "null", "1", "0123", "1.5", "-", "_", ".", "y", "1e3"])
            .prop_map(str::to_string),
    ]
}

fn level() -> impl Strategy<Value = Option<Level>> {
    prop::option::of(prop::sample::select(Level::ALL.to_vec()))
}

fn kind() -> impl Strategy<Value = ElementKind> {
    prop::sample::select(vec![
        ElementKind::ExternalEntity,
        ElementKind::Process,
        ElementKind::DataStore,
    ])
}

/// A custom attribute's value: any scalar, or a list of them.
fn custom_value() -> impl Strategy<Value = Value> {
    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1.0e12f64..1.0e12).prop_map(|f| json!(f)),
            text().prop_map(Value::String),
        ]
    }
    prop_oneof![
        3 => scalar(),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
    ]
}

/// A value of the right type for a table attribute, picked by `seed`.
fn attr_value(ty: AttrType, seed: u32, text: &str) -> Value {
    match ty {
        AttrType::Bool => Value::Bool(seed.is_multiple_of(2)),
        AttrType::Text => Value::String(text.to_string()),
        AttrType::Int => Value::from(i64::from(seed) - 1000),
        AttrType::Level => Value::String(Level::ALL[seed as usize % 4].as_str().into()),
        AttrType::OneOf(words) => Value::String(words[seed as usize % words.len()].into()),
    }
}

/// Id, name, confidentiality/integrity/availability, pii, credentials.
type AssetSpec = (String, Option<String>, [Option<Level>; 3], bool, bool);
/// Id, name, description, parent (an index into the boundaries before it).
type BoundarySpec = (String, Option<String>, Option<String>, Option<usize>);

#[derive(Debug, Clone)]
struct Spec {
    name: Option<String>,
    description: Option<String>,
    assets: Vec<AssetSpec>,
    boundaries: Vec<BoundarySpec>,
    elements: Vec<ElementSpec>,
    flows: Vec<FlowSpec>,
    statuses: Vec<(usize, Option<String>, String)>,
}

#[derive(Debug, Clone)]
struct ElementSpec {
    id: String,
    kind: ElementKind,
    name: Option<String>,
    boundary: Option<usize>,
    data: Vec<usize>,
    tags: Vec<String>,
    attrs: Vec<(usize, u32, String)>,
    custom: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
struct FlowSpec {
    id: String,
    ends: (usize, usize),
    protocol: Option<String>,
    bidirectional: bool,
    data: Vec<usize>,
    attrs: Vec<(usize, u32, String)>,
    custom: Vec<(String, Value)>,
}

fn attrs() -> impl Strategy<Value = Vec<(usize, u32, String)>> {
    prop::collection::vec((0usize..ATTRIBUTES.len(), any::<u32>(), text()), 0..6)
}

fn custom() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::vec((text(), custom_value()), 0..3)
}

fn spec() -> impl Strategy<Value = Spec> {
    let asset = (
        id(),
        prop::option::of(text()),
        [level(), level(), level()],
        any::<bool>(),
        any::<bool>(),
    );
    let boundary = (
        id(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(0usize..8),
    );
    let element = (
        id(),
        kind(),
        prop::option::of(text()),
        prop::option::of(0usize..8),
        prop::collection::vec(0usize..8, 0..3),
        prop::collection::vec(text(), 0..3),
        attrs(),
        custom(),
    )
        .prop_map(
            |(id, kind, name, boundary, data, tags, attrs, custom)| ElementSpec {
                id,
                kind,
                name,
                boundary,
                data,
                tags,
                attrs,
                custom,
            },
        );
    let flow = (
        id(),
        (0usize..8, 0usize..8),
        prop::option::of(text()),
        any::<bool>(),
        prop::collection::vec(0usize..8, 0..3),
        attrs(),
        custom(),
    )
        .prop_map(
            |(id, ends, protocol, bidirectional, data, attrs, custom)| FlowSpec {
                id,
                ends,
                protocol,
                bidirectional,
                data,
                attrs,
                custom,
            },
        );
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::collection::vec(asset, 0..4),
        prop::collection::vec(boundary, 0..4),
        prop::collection::vec(element, 1..6),
        prop::collection::vec(flow, 0..6),
        prop::collection::vec((0usize..4, prop::option::of(text()), text()), 0..4),
    )
        .prop_map(
            |(name, description, assets, boundaries, elements, flows, statuses)| Spec {
                name,
                description,
                assets,
                boundaries,
                elements,
                flows,
                statuses,
            },
        )
}

/// A valid model from a spec: references are taken modulo what exists, parents only point to
/// earlier boundaries (no loops), and attributes go only where the table allows them.
fn build(s: Spec) -> Model {
    let mut m = Model {
        name: s.name,
        description: s.description,
        file: "written.yaml".into(),
        files: vec!["written.yaml".into()],
        ..Model::default()
    };
    for (id, name, [c, i, a], pii, credentials) in s.assets {
        m.assets.insert(
            id,
            Asset {
                name,
                description: None,
                confidentiality: c,
                integrity: i,
                availability: a,
                pii,
                credentials,
                origin: None,
            },
        );
    }
    let asset_ids: Vec<String> = m.assets.keys().cloned().collect();
    let pick_assets = |idx: &[usize]| -> Vec<String> {
        let mut v: Vec<String> = if asset_ids.is_empty() {
            Vec::new()
        } else {
            idx.iter()
                .map(|i| asset_ids[i % asset_ids.len()].clone())
                .collect()
        };
        v.dedup();
        v
    };
    let mut boundary_ids: Vec<String> = Vec::new();
    for (id, name, description, parent) in s.boundaries {
        if boundary_ids.contains(&id) {
            continue;
        }
        let parent = match (parent, boundary_ids.len()) {
            (Some(p), n) if n > 0 => Some(boundary_ids[p % n].clone()),
            _ => None,
        };
        m.boundaries.insert(
            id.clone(),
            Boundary {
                name,
                description,
                parent,
                origin: None,
            },
        );
        boundary_ids.push(id);
    }
    let attrs_for = |list: &[(usize, u32, String)], allowed: &dyn Fn(&model::Attribute) -> bool| {
        let mut out = BTreeMap::new();
        for (i, seed, t) in list {
            let a = &ATTRIBUTES[*i];
            if allowed(a) {
                out.insert(a.name.to_string(), attr_value(a.ty, *seed, t));
            }
        }
        out
    };
    for e in s.elements {
        let kind = e.kind;
        m.elements.insert(
            e.id,
            Element {
                kind,
                name: e.name,
                description: None,
                boundary: match (e.boundary, boundary_ids.len()) {
                    (Some(b), n) if n > 0 => Some(boundary_ids[b % n].clone()),
                    _ => None,
                },
                data: pick_assets(&e.data),
                tags: e.tags,
                attributes: e.custom.into_iter().collect(),
                attrs: attrs_for(&e.attrs, &|a| a.on.allows_element(kind)),
                origin: None,
            },
        );
    }
    let element_ids: Vec<String> = m.elements.keys().cloned().collect();
    for f in s.flows {
        let n = element_ids.len();
        let (a, b) = (f.ends.0 % n, f.ends.1 % n);
        if a == b {
            continue;
        }
        m.flows.insert(
            f.id,
            Flow {
                from: element_ids[a].clone(),
                to: element_ids[b].clone(),
                name: None,
                description: None,
                protocol: f.protocol,
                data: pick_assets(&f.data),
                bidirectional: f.bidirectional,
                tags: Vec::new(),
                attributes: f.custom.into_iter().collect(),
                attrs: attrs_for(&f.attrs, &|a| a.on.allows_flow()),
                origin: None,
            },
        );
    }
    for (i, (kind, note, t)) in s.statuses.into_iter().enumerate() {
        let text = Some(format!("x{t}"));
        let entry = match kind {
            0 => StatusEntry {
                status: StatusKind::Open,
                mitigation: None,
                owner: None,
                reason: None,
                expires: None,
                note,
                origin: None,
            },
            1 => StatusEntry {
                status: StatusKind::Mitigated,
                mitigation: text,
                owner: None,
                reason: None,
                expires: None,
                note,
                origin: None,
            },
            2 => StatusEntry {
                status: StatusKind::Accepted,
                mitigation: None,
                owner: text.clone(),
                reason: text,
                expires: Some("2027-02-28".into()),
                note,
                origin: None,
            },
            _ => StatusEntry {
                status: StatusKind::FalsePositive,
                mitigation: None,
                owner: None,
                reason: text,
                expires: None,
                note,
                origin: None,
            },
        };
        m.threats.insert(format!("PAL-TM-X{i:02}@{t}"), entry);
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_model_written_back_loads_as_the_same_model(s in spec()) {
        let m = build(s);
        let again = round_trip(&m).map_err(TestCaseError::fail)?;
        prop_assert_eq!(as_data(&m), as_data(&again));
    }
}

#[test]
fn long_keys_and_long_lists_are_written_so_they_read_back() {
    let mut m = model::from_str(Path::new("written.yaml"), SHOP).unwrap();
    let web = m.elements.get_mut("web").unwrap();
    web.attributes
        .insert("k".repeat(2000), Value::String("v".repeat(3000)));
    web.tags = (0..30).map(|i| format!("tag-{i}")).collect();
    web.attributes.insert(
        "nested".into(),
        json!([[1, "two"], {"a": ["x\ny", {"b": null}]}, []]),
    );
    let again = round_trip(&m).unwrap();
    assert_eq!(as_data(&m), as_data(&again));
}
