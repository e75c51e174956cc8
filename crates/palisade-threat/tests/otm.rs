//! Open Threat Model: export then import gives the model back; a file written the way another
//! tool writes OTM imports with sensible kinds, attributes and decisions; malformed or hostile
//! input is an error with its line, never a panic.

use std::path::Path;

use palisade_threat::model::{self, ElementKind, Model, StatusKind};
use palisade_threat::{RuleSet, analyse, otm, rules};
use proptest::prelude::*;
use serde_json::{Value, json};

const TODAY: (i32, u8, u8) = (2026, 12, 7);

/// A few rules that raise threats on every kind of element and on flows.
fn rules() -> RuleSet {
    let text = r#"
[[rule]]
id = "T-S1"
title = "{name} does not authenticate its callers"
stride = "spoofing"
target = "process"
when = 'not element.authentication or element.authentication == "none"'
likelihood = "high"
impact = "data"
cwe = [306]
capec = [115, 151]
rationale = "Anyone can act as anyone."
mitigations = ["Authenticate every caller. Prefer SSO.", "State the mechanism in the model."]

[[rule]]
id = "T-T1"
title = "{source} to {target} is not encrypted"
stride = "tampering"
target = "flow"
when = "not flow.encrypted"
likelihood = "medium"
impact = "high"
cwe = [319]
rationale = "Data on the wire can be changed."
mitigations = ["Use TLS."]

[[rule]]
id = "T-I1"
title = "{name} is not encrypted at rest"
stride = "information-disclosure"
target = "data-store"
when = "not element.encryption_at_rest"
likelihood = "low"
impact = "data"
rationale = "Stolen disks or snapshots disclose the data."
mitigations = ["Encrypt the store."]

[[rule]]
id = "T-R1"
title = "{name} acts without an audit trail"
stride = "repudiation"
target = "external-entity"
when = "not element.audit_log"
likelihood = "medium"
impact = "medium"
rationale = "Nobody can tell who did what."
"#;
    RuleSet {
        rules: rules::parse_toml(Path::new("test-rules.toml"), text).unwrap(),
    }
}

const SHOP: &str = r#"
name: Shop
description: The checkout.
assets:
  card-data: { name: Card data, confidentiality: critical, integrity: high, pii: true }
  sessions: { confidentiality: high, credentials: true, description: Session cookies }
  logs: { availability: low }
boundaries:
  internet: { name: Internet }
  cloud: { name: Cloud, description: Our cloud account }
  dmz: { name: DMZ, parent: cloud }
elements:
  customer: { type: external-entity, boundary: internet, human: true, tags: [buyer] }
  web:
    type: process
    name: Web app
    boundary: dmz
    technology: web-application
    internet_facing: true
    rate_limiting: true
    data: [card-data, sessions]
    attributes: { replicas: 3, protocol: not-a-flow, internet_facing: shadowed, palisade.x: y }
  db: { type: data-store, boundary: cloud, technology: postgresql, backups: true, data: [card-data, logs] }
  batch: { type: process, boundary: cloud, technology: data-store, description: A kind word as technology }
  cron: { type: process }
  payments: { type: external-entity, name: Payment provider, third_party: true }
flows:
  checkout: { from: customer, to: web, protocol: https, bidirectional: true, data: [card-data], authentication: session }
  store: { from: web, to: db, protocol: postgres, encrypted: false, tags: [sql], attributes: { pool: 10 } }
  pay: { from: web, to: payments, protocol: https, name: Card payment, description: Charge the card }
  tick: { from: cron, to: web }
threats:
  T-S1@cron: { status: mitigated, mitigation: Runs only inside the cluster }
  T-S1@web: { status: accepted, owner: Bo, reason: Behind the gateway, expires: "2020-01-01" }
  T-T1@store: { status: accepted, owner: Ana, reason: Private network, expires: "2099-01-31", note: Review }
  T-I1@db: { status: false-positive, reason: Encrypted by the platform }
  T-R1@customer: { status: open, note: Tracked in JIRA-1 }
"#;

fn shop() -> Model {
    model::from_str(Path::new("shop.yaml"), SHOP).unwrap()
}

/// A model as data, without where it was read from.
fn as_data(m: &Model) -> Value {
    let mut v = serde_json::to_value(m).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("file");
    o.remove("files");
    v
}

/// The fields OTM 0.2.0 requires, and the types it gives them.
fn check_otm_shape(doc: &Value) {
    let s = |v: &Value, k: &str, ctx: &str| {
        assert!(v[k].is_string(), "{ctx}.{k} is text: {v}");
    };
    let n = |v: &Value, k: &str, ctx: &str| {
        let x = v[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{ctx}.{k} is a number: {v}"));
        assert!((0.0..=100.0).contains(&x), "{ctx}.{k} is 0 to 100: {v}");
    };
    s(doc, "otmVersion", "");
    s(&doc["project"], "name", "project");
    s(&doc["project"], "id", "project");
    let zones: Vec<&str> = doc["trustZones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["id"].as_str().unwrap())
        .collect();
    for z in doc["trustZones"].as_array().unwrap() {
        s(z, "name", "trustZones[]");
        n(&z["risk"], "trustRating", "trustZones[].risk");
        if let Some(p) = z.get("parent") {
            assert!(zones.contains(&p["trustZone"].as_str().unwrap()));
        }
    }
    let components: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for c in doc["components"].as_array().unwrap() {
        for k in ["id", "name", "type"] {
            s(c, k, "components[]");
        }
        assert!(
            zones.contains(&c["parent"]["trustZone"].as_str().unwrap()),
            "{c}"
        );
        for t in c["threats"].as_array().into_iter().flatten() {
            s(t, "threat", "components[].threats[]");
            s(t, "state", "components[].threats[]");
        }
    }
    for f in doc["dataflows"].as_array().unwrap() {
        for k in ["id", "name", "source", "destination"] {
            s(f, k, "dataflows[]");
        }
        assert!(components.contains(&f["source"].as_str().unwrap()));
        assert!(components.contains(&f["destination"].as_str().unwrap()));
        assert!(f["bidirectional"].is_boolean());
    }
    let threats: Vec<&str> = doc["threats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    for t in doc["threats"].as_array().unwrap() {
        s(t, "name", "threats[]");
        n(&t["risk"], "likelihood", "threats[].risk");
        n(&t["risk"], "impact", "threats[].risk");
        assert!(
            t["categories"]
                .as_array()
                .unwrap()
                .iter()
                .all(Value::is_string)
        );
        assert!(t["attributes"].is_object());
    }
    let mitigations: Vec<&str> = doc["mitigations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for m in doc["mitigations"].as_array().unwrap() {
        s(m, "name", "mitigations[]");
        n(m, "riskReduction", "mitigations[]");
    }
    for holder in doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .chain(doc["dataflows"].as_array().unwrap())
    {
        for t in holder["threats"].as_array().into_iter().flatten() {
            assert!(threats.contains(&t["threat"].as_str().unwrap()), "{t}");
            for m in t["mitigations"].as_array().into_iter().flatten() {
                assert!(
                    mitigations.contains(&m["mitigation"].as_str().unwrap()),
                    "{m}"
                );
            }
        }
    }
    for a in doc["assets"].as_array().into_iter().flatten() {
        for k in ["id", "name"] {
            s(a, k, "assets[]");
        }
        for k in ["confidentiality", "integrity", "availability"] {
            n(&a["risk"], k, "assets[].risk");
        }
    }
}

#[test]
fn export_then_import_gives_the_model_back() {
    let m = shop();
    let analysis = analyse(&m, &rules(), TODAY);
    assert!(analysis.threats.len() >= 8, "{:?}", analysis.threats);
    let text = otm::export(&m, &analysis);
    let doc: Value = serde_json::from_str(&text).unwrap();
    check_otm_shape(&doc);
    let back = otm::import(Path::new("shop.otm.json"), &text).unwrap();
    assert_eq!(as_data(&m), as_data(&back.model), "{text}");
    assert!(back.notes.is_empty(), "{:?}", back.notes);
    // The same threats with the same statuses.
    let again = analyse(&back.model, &rules(), TODAY);
    let summary = |a: &palisade_threat::Analysis| {
        a.threats
            .iter()
            .map(|t| (t.id.clone(), serde_json::to_value(&t.status).unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&analysis), summary(&again));
}

#[test]
fn the_export_says_what_the_analysis_found() {
    let m = shop();
    let analysis = analyse(&m, &rules(), TODAY);
    let doc: Value = serde_json::from_str(&otm::export(&m, &analysis)).unwrap();
    assert_eq!(doc["otmVersion"], "0.2.0");
    assert_eq!(doc["project"]["name"], "Shop");
    let zone = |id: &str| {
        doc["trustZones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|z| z["id"] == id)
            .unwrap_or_else(|| panic!("zone {id}"))
            .clone()
    };
    assert_eq!(zone("dmz")["parent"], json!({"trustZone": "cloud"}));
    assert_eq!(
        zone("internet")["risk"]["trustRating"],
        10,
        "only external entities"
    );
    assert_eq!(zone("cloud")["risk"]["trustRating"], 80);
    // cron and payments are in no boundary: a zone of their own.
    let outside = zone("outside-every-boundary");
    assert_eq!(outside["attributes"]["palisade.synthetic"], true);
    let component = |id: &str| {
        doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let web = component("web");
    assert_eq!(web["type"], "web-application");
    assert_eq!(web["name"], "Web app");
    assert_eq!(web["parent"], json!({"trustZone": "dmz"}));
    assert_eq!(web["attributes"]["internet_facing"], true);
    assert_eq!(
        web["attributes"]["palisade.custom.internet_facing"],
        "shadowed"
    );
    assert_eq!(web["attributes"]["replicas"], 3);
    assert_eq!(
        web["assets"],
        json!({"processed": ["card-data", "sessions"]})
    );
    assert_eq!(
        component("db")["assets"],
        json!({"stored": ["card-data", "logs"]})
    );
    assert_eq!(component("cron")["type"], "process");
    // Threats: category, risk, severity, and the state on their component.
    let threat = |id: &str| {
        doc["threats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap_or_else(|| panic!("threat {id}"))
            .clone()
    };
    let s1 = threat("T-S1@cron");
    assert_eq!(s1["categories"], json!(["Spoofing"]));
    assert_eq!(s1["cwes"], json!(["CWE-306"]));
    assert_eq!(s1["risk"], json!({"likelihood": 75, "impact": 50}));
    assert_eq!(s1["attributes"]["severity"], "high");
    assert_eq!(s1["attributes"]["capec"], "CAPEC-115, CAPEC-151");
    let cron = component("cron");
    let instance = &cron["threats"][0];
    assert_eq!(instance["threat"], "T-S1@cron");
    assert_eq!(instance["state"], "mitigated");
    let ms = instance["mitigations"].as_array().unwrap();
    assert!(ms.contains(&json!({"mitigation": "T-S1.m1", "state": "recommended"})));
    assert!(ms.contains(&json!({"mitigation": "T-S1@cron.mitigation", "state": "implemented"})));
    let store = doc["dataflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "store")
        .unwrap();
    assert_eq!(store["threats"][0]["state"], "accepted");
    assert_eq!(store["attributes"]["protocol"], "postgres");
    assert_eq!(store["attributes"]["encrypted"], false);
    assert_eq!(
        threat("T-I1@db")["categories"],
        json!(["Information disclosure"])
    );
    // An acceptance that ran out is open, and says so.
    let web_s1 = threat("T-S1@web");
    assert_eq!(web_s1["attributes"]["acceptanceExpired"], "2020-01-01");
    assert_eq!(web["threats"][0]["state"], "exposed");
    let m1 = doc["mitigations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "T-S1.m1")
        .unwrap();
    assert_eq!(m1["name"], "Authenticate every caller.");
    assert_eq!(m1["description"], "Authenticate every caller. Prefer SSO.");
}

fn webshop() -> palisade_threat::Imported {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/otm-webshop.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    otm::import(&path, &text).unwrap_or_else(|e| panic!("{}", e[0]))
}

#[test]
fn an_otm_file_from_another_tool_imports_with_sensible_kinds_and_attributes() {
    let imported = webshop();
    let m = &imported.model;
    let notes = imported.notes.join("\n");
    assert_eq!(m.name.as_deref(), Some("Web shop"));
    let el = |id: &str| {
        m.elements
            .get(id)
            .unwrap_or_else(|| panic!("{id} in {:?}", m.elements.keys()))
    };
    let kind = |id: &str| el(id).kind;
    assert_eq!(kind("a1b2c3d4-customer"), ElementKind::ExternalEntity);
    assert_eq!(kind("b2c3d4e5-shop"), ElementKind::Process);
    assert_eq!(kind("c3d4e5f6-auth"), ElementKind::Process);
    assert_eq!(kind("d4e5f6a7-orders-db"), ElementKind::DataStore);
    assert_eq!(kind("e5f6a7b8-payments"), ElementKind::ExternalEntity);
    assert_eq!(kind("f6a7b8c9-mail"), ElementKind::Process);
    assert_eq!(el("e5f6a7b8-payments").attrs["third_party"], true);
    assert_eq!(
        el("d4e5f6a7-orders-db").attrs["technology"],
        "postgresql",
        "the OTM type is kept"
    );
    // Boundaries nest as the zones do; the login module, inside the shop component, is in the
    // shop's boundary.
    let cloud = "2ab4effa-40b7-4cd2-ba81-8247d29a6f2d";
    assert_eq!(
        m.boundaries["6376d53e-6461-412b-8e04-7b3fe2b397de"]
            .parent
            .as_deref(),
        Some(cloud)
    );
    assert_eq!(el("c3d4e5f6-auth").boundary.as_deref(), Some(cloud));
    assert!(
        notes.contains("`c3d4e5f6-auth` in `b2c3d4e5-shop`"),
        "{notes}"
    );
    // Attributes: known names with values that fit become attributes ("true" and "no" read as
    // booleans), the rest are kept as custom attributes.
    let shop = el("b2c3d4e5-shop");
    assert_eq!(shop.attrs["internet_facing"], true);
    assert_eq!(shop.attrs["authentication"], "password");
    assert_eq!(shop.attrs["waf"], false);
    assert_eq!(shop.attributes["framework"], "Django 5.1");
    assert_eq!(shop.data.len(), 3);
    let auth = el("c3d4e5f6-auth");
    assert_eq!(auth.attrs["account_lockout"], true);
    assert_eq!(auth.attributes["authentication"], "OAuth2");
    assert!(notes.contains("`authentication: OAuth2` is not"), "{notes}");
    assert_eq!(el("f6a7b8c9-mail").attributes["location"], "eu-west-1");
    // Assets: scores become levels.
    let card = &m.assets["5b1f3b8e-card-data"];
    assert_eq!(card.confidentiality, Some(model::Level::Critical));
    assert_eq!(card.integrity, Some(model::Level::Critical));
    assert_eq!(card.availability, Some(model::Level::Medium));
    assert!(card.pii);
    assert!(m.assets["0f9e7d21-session-tokens"].credentials);
    // Flows.
    let browse = &m.flows["11111111-browse"];
    assert!(browse.bidirectional);
    assert_eq!(browse.protocol.as_deref(), Some("https"));
    assert_eq!(browse.attrs["rate_limiting"], true);
    assert_eq!(m.flows["22222222-store-order"].attrs["encrypted"], false);
    // Decisions: the mitigated one with its implemented mitigation, the not-applicable one with
    // its reason; the accepted one has no owner or expiry, so it stays open, and says why.
    let sqli = &m.threats["7b0d7a43-sqli@b2c3d4e5-shop"];
    assert_eq!(sqli.status, StatusKind::Mitigated);
    assert_eq!(
        sqli.mitigation.as_deref(),
        Some("Parameterised queries through the ORM")
    );
    assert_eq!(
        sqli.note.as_deref(),
        Some("SQL injection in the order form")
    );
    let sniff = &m.threats["3e4f5a6b-sniff@22222222-store-order"];
    assert_eq!(sniff.status, StatusKind::FalsePositive);
    assert!(sniff.reason.as_deref().unwrap().contains("only the shop"));
    assert_eq!(m.threats.len(), 2, "{:?}", m.threats.keys());
    assert!(notes.contains("9c8b7a6d-db-dump"), "{notes}");
    assert!(notes.contains("open threat(s)"), "{notes}");
    assert!(notes.contains("representations"), "{notes}");
    // And it is a model: it analyses, and its YAML loads.
    let text = model::to_yaml(m);
    model::from_str(Path::new("webshop.yaml"), &text).unwrap();
    let _ = analyse(m, &RuleSet::builtin(), TODAY);
}

#[test]
fn json_otm_imports_too_and_ids_are_made_palisade_ids() {
    let text = r#"{
  "otmVersion": "0.2.0",
  "project": {"name": "Tiny", "id": "tiny"},
  "trustZones": [{"id": "zone 1", "name": "Zone", "risk": {"trustRating": 90}}],
  "components": [
    {"id": "c/1", "name": "API", "type": "api", "parent": {"trustZone": "zone 1"}},
    {"id": "c:1", "name": "Cache", "type": "redis", "parent": {"id": "zone 1", "type": "trustZone"}},
    {"id": "", "name": "Nameless", "type": "worker", "parent": {"trustZone": "zone 1"}}
  ],
  "dataflows": [
    {"id": "f1", "name": "Read", "source": "c/1", "target": "c:1"},
    {"id": "f2", "name": "Loop", "source": "c/1", "destination": "c/1"}
  ]
}"#;
    let imported = otm::import(Path::new("tiny.json"), text).unwrap();
    let m = &imported.model;
    let ids: Vec<&str> = m.elements.keys().map(String::as_str).collect();
    assert_eq!(ids, ["c-1", "c-1-2", "x"]);
    assert_eq!(m.elements["c-1-2"].kind, ElementKind::DataStore);
    assert_eq!(
        m.flows["f1"].to, "c-1-2",
        "`target` is read as `destination`"
    );
    assert!(!m.flows.contains_key("f2"));
    let notes = imported.notes.join("\n");
    assert!(notes.contains("`c/1` → `c-1`"), "{notes}");
    assert!(notes.contains("to itself"), "{notes}");
    assert_eq!(m.boundaries["zone-1"].name.as_deref(), Some("Zone"));
}

// Malformed and hostile input.

fn import_err(text: &str) -> Vec<model::ModelError> {
    match otm::import(Path::new("in.otm"), text) {
        Ok(i) => panic!("imported: {:?}", i.model.elements.keys()),
        Err(e) => e,
    }
}

fn one_err(text: &str) -> model::ModelError {
    let e = import_err(text);
    e.into_iter().next().unwrap()
}

const MINIMAL: &str = "otmVersion: 0.2.0\nproject: { name: P, id: p }\ntrustZones:\n  - { id: z, name: Z, risk: { trustRating: 50 } }\ncomponents:\n  - { id: a, name: A, type: api, parent: { trustZone: z } }\n  - { id: b, name: B, type: database, parent: { trustZone: z } }\ndataflows:\n  - { id: f, name: F, source: a, destination: b }\n";

#[test]
fn the_minimal_file_imports() {
    let m = otm::import(Path::new("in.otm"), MINIMAL).unwrap().model;
    assert_eq!(m.elements.len(), 2);
    assert_eq!(m.flows["f"].from, "a");
}

#[test]
fn text_that_is_not_json_or_yaml_is_refused_with_its_line() {
    let e = one_err("{\n  \"otmVersion\": \"0.2.0\",\n  \"project\": {\"name\": }\n}");
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.starts_with("not valid JSON"), "{e}");
    let e = one_err("otmVersion: 0.2.0\nproject: [unclosed\n");
    assert!(e.message.contains("not valid JSON or YAML"), "{e}");
    let e = one_err("just some words");
    assert!(e.message.contains("mapping"), "{e}");
    let e = one_err("");
    assert!(e.message.contains("empty"), "{e}");
    let e = one_err("name: a Palisade model?\nelements: {}\n");
    assert!(e.message.contains("not an OTM file"), "{e}");
    let e = one_err("otmVersion: 0.2.0\n---\notmVersion: 0.2.0\n");
    assert!(e.message.contains("one YAML document"), "{e}");
}

#[test]
fn wrong_types_are_refused_at_their_path_and_line() {
    let e = one_err(&MINIMAL.replace("trustRating: 50", "trustRating: high"));
    assert_eq!(e.path, "trustZones[0].risk.trustRating", "{e}");
    assert_eq!(e.line, 4, "{e}");
    let e = one_err(&MINIMAL.replace("components:\n", "components: 3\nx:\n"));
    assert_eq!(e.path, "components", "{e}");
    let e = one_err(&MINIMAL.replace("id: f, name: F", "id: [f], name: F"));
    assert_eq!(e.path, "dataflows[0].id", "{e}");
    assert_eq!(e.line, 9, "{e}");
    let json = r#"{"otmVersion": "0.2.0", "project": {"name": "P"},
"components": [{"id": "a", "name": "A", "type": "api", "parent": {"trustZone": 5.5}},
  {"id": "b", "name": "B", "type": "api", "attributes": "not a map"}]}"#;
    let e = import_err(json);
    // Every error is reported, each with its line (a JSON file's too).
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].path, "components[0].parent.trustZone", "{e:?}");
    assert!(e[0].message.contains("no trust zone `5.5`"), "{}", e[0]);
    assert_eq!(e[0].line, 2, "{}", e[0]);
    assert_eq!(e[1].path, "components[1].attributes", "{e:?}");
    assert_eq!(e[1].line, 3, "{}", e[1]);
    let e = one_err(&MINIMAL.replace("trustRating: 50", "trustRating: 500"));
    assert!(e.message.contains("0 to 100"), "{e}");
    let e = one_err(&MINIMAL.replace(
        "parent: { trustZone: z } }\n  - { id: b",
        "parent: { trustZone: z, component: b } }\n  - { id: b",
    ));
    assert_eq!(e.path, "components[0].parent", "{e}");
}

#[test]
fn dangling_references_are_errors_that_name_what_is_missing() {
    let cases = [
        (
            MINIMAL.replace("destination: b", "destination: nowhere"),
            "dataflows[0].destination",
            "no component `nowhere`",
        ),
        (
            MINIMAL.replace("destination: b", "destination: z"),
            "dataflows[0].destination",
            "it is a trust zone",
        ),
        (
            MINIMAL.replace(
                "type: api, parent: { trustZone: z }",
                "type: api, parent: { trustZone: zz }",
            ),
            "components[0].parent.trustZone",
            "no trust zone `zz`",
        ),
        (
            MINIMAL.replace(
                "type: api, parent: { trustZone: z }",
                "type: api, parent: { component: ghost }",
            ),
            "components[0].parent.component",
            "no component `ghost`",
        ),
        (
            MINIMAL.replace(
                "type: api, parent: { trustZone: z }",
                "type: api, parent: { component: a }",
            ),
            "components[0].parent.component",
            "inside itself",
        ),
        (
            MINIMAL.replace("source: a,", "source: a, assets: [gold],"),
            "dataflows[0].assets[0]",
            "no asset `gold`",
        ),
        (
            MINIMAL.replace(
                "type: database,",
                "type: database, threats: [{ threat: t9, state: mitigated }],",
            ),
            "components[1].threats[0].threat",
            "no threat `t9`",
        ),
        (
            MINIMAL.replace(
                "risk: { trustRating: 50 } }",
                "risk: { trustRating: 50 }, parent: { trustZone: y } }",
            ),
            "trustZones[0].parent.trustZone",
            "no trust zone `y`",
        ),
        (
            MINIMAL.replace("  - { id: b, name: B", "  - { id: a, name: B"),
            "components[1].id",
            "used twice",
        ),
    ];
    for (text, path, message) in cases {
        let errors = import_err(&text);
        assert!(
            errors
                .iter()
                .any(|e| e.path == path && e.message.contains(message)),
            "{path} / {message}: {errors:?}"
        );
        assert!(errors.iter().all(|e| e.line >= 1));
    }
    // A loop of trust zones.
    let text = MINIMAL.replace(
        "  - { id: z, name: Z, risk: { trustRating: 50 } }",
        "  - { id: z, name: Z, risk: { trustRating: 50 }, parent: { trustZone: y } }\n  - { id: y, name: Y, risk: { trustRating: 50 }, parent: { trustZone: z } }",
    );
    let errors = import_err(&text);
    assert!(
        errors.iter().any(|e| e.message.contains("inside itself")),
        "{errors:?}"
    );
}

#[test]
fn huge_deep_and_explosive_input_is_refused() {
    let huge = format!(
        "{{\"otmVersion\": \"0.2.0\", \"x\": \"{}\"}}",
        "a".repeat(9 * 1024 * 1024)
    );
    let e = one_err(&huge);
    assert!(e.message.contains("at most"), "{e}");
    let deep = format!(
        "{{\"otmVersion\": {}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let e = one_err(&deep);
    assert!(e.message.contains("not valid JSON"), "{e}");
    let deep_yaml = format!("otmVersion: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    let e = one_err(&deep_yaml);
    assert!(
        e.message.contains("deeper") || e.message.contains("recursion limit"),
        "{e}"
    );
    let mut bomb = String::from("otmVersion: 0.2.0\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = one_err(&bomb);
    assert!(e.message.contains("alias"), "{e}");
    // Nesting deeper than any real system, of trust zones and of components: refused, and
    // quickly (every walk up the nesting is bounded).
    let mut deep = String::from(
        "otmVersion: 0.2.0\nproject: { name: P, id: p }\ntrustZones:\n  - { id: z0, name: Z, risk: { trustRating: 50 } }\n",
    );
    for i in 1..20_000 {
        deep.push_str(&format!(
            "  - {{ id: z{i}, name: Z, risk: {{ trustRating: 50 }}, parent: {{ trustZone: z{} }} }}\n",
            i - 1
        ));
    }
    deep.push_str("components:\n  - { id: c0, name: C, type: api, parent: { trustZone: z0 } }\n");
    for i in 1..20_000 {
        deep.push_str(&format!(
            "  - {{ id: c{i}, name: C, type: api, parent: {{ component: c{} }} }}\n",
            i - 1
        ));
    }
    let started = std::time::Instant::now();
    let errors = import_err(&deep);
    assert!(
        errors
            .iter()
            .any(|e| e.path == "trustZones[65].parent"
                && e.message.contains("nested more than 64 deep")),
        "{:?}",
        &errors[..3]
    );
    assert!(
        errors
            .iter()
            .any(|e| e.path == "components[65].parent.component"),
        "{:?}",
        &errors[..3]
    );
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    // Many ids that are one id once made Palisade ids: suffixed, each in one step.
    let mut same = String::from(
        "otmVersion: 0.2.0\nproject: { name: P, id: p }\ntrustZones: [{ id: z, name: Z, risk: { trustRating: 50 } }]\ncomponents:\n",
    );
    for i in 0..20_000usize {
        // `a` and punctuation, a different string each time: all of them are `a` as ids.
        let mut id = String::from("a");
        let mut n = i + 1;
        while n > 0 {
            id.push(['!', '?', '*', '%', '#', '&'][n % 6]);
            n /= 6;
        }
        same.push_str(&format!(
            "  - {{ id: \"{id}\", name: C, type: api, parent: {{ trustZone: z }} }}\n"
        ));
    }
    let started = std::time::Instant::now();
    let m = otm::import(Path::new("same.yaml"), &same).unwrap().model;
    assert_eq!(m.elements.len(), 20_000);
    assert!(m.elements.contains_key("a-20000"));
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    // Many components are fine.
    let mut many = String::from(
        "otmVersion: 0.2.0\nproject: { name: P, id: p }\ntrustZones: [{ id: z, name: Z, risk: { trustRating: 50 } }]\ncomponents:\n",
    );
    for i in 0..5000 {
        many.push_str(&format!(
            "  - {{ id: c{i}, name: C, type: api, parent: {{ trustZone: z }} }}\n"
        ));
    }
    assert_eq!(
        otm::import(Path::new("many.yaml"), &many)
            .unwrap()
            .model
            .elements
            .len(),
        5000
    );
}

/// A value of any shape, to put anywhere in a valid file.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z@ ]{0,6}".prop_map(Value::String),
        Just(Value::String("z".into())),
        Just(Value::String("a".into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replace the value at a path chosen by `pick` in `doc` by `with`.
fn mutate(doc: &mut Value, mut pick: usize, with: Value) {
    let mut cur = doc;
    loop {
        let children = match cur {
            Value::Object(o) => o.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if children == 0 || pick.is_multiple_of(4) {
            *cur = with;
            return;
        }
        let i = (pick / 4) % children;
        pick /= 3;
        cur = match cur {
            Value::Object(o) => o.values_mut().nth(i).unwrap(),
            Value::Array(a) => &mut a[i],
            _ => unreachable!(),
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = otm::import(Path::new("fuzz"), &text);
        let with_header = format!("otmVersion: 0.2.0\n{text}");
        let _ = otm::import(Path::new("fuzz"), &with_header);
    }

    #[test]
    fn a_valid_file_damaged_anywhere_imports_or_is_refused_without_panic(
        picks in prop::collection::vec((any::<usize>(), any_json()), 1..4),
        json_form in any::<bool>(),
    ) {
        let m = shop();
        let a = analyse(&m, &rules(), TODAY);
        let mut doc = otm::export_value(&m, &a);
        for (pick, with) in picks {
            mutate(&mut doc, pick, with);
        }
        let text = if json_form {
            serde_json::to_string(&doc).unwrap()
        } else {
            // The same document as YAML: JSON is YAML, but not from the first character.
            format!("# damaged\n{}", serde_json::to_string_pretty(&doc).unwrap())
        };
        match otm::import(Path::new("damaged"), &text) {
            // Whatever imports is a model that loads.
            Ok(i) => {
                let yaml = model::to_yaml(&i.model);
                match model::from_str(Path::new("x.yaml"), &yaml) {
                    // Written back, it is the same model: the same elements of the same kinds,
                    // the same flows between the same ends.
                    Ok(back) => {
                        let kinds = |m: &model::Model| {
                            m.elements.iter().map(|(id, e)| (id.clone(), e.kind)).collect::<Vec<_>>()
                        };
                        let ends = |m: &model::Model| {
                            m.flows
                                .iter()
                                .map(|(id, f)| (id.clone(), f.from.clone(), f.to.clone()))
                                .collect::<Vec<_>>()
                        };
                        prop_assert_eq!(kinds(&back), kinds(&i.model));
                        prop_assert_eq!(ends(&back), ends(&i.model));
                    }
                    Err(e) => prop_assert!(false, "the import does not load back: {:?}", e),
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    prop_assert!(e.line >= 1 && !e.message.is_empty());
                }
            }
        }
    }
}
