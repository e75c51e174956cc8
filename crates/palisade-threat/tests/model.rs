//! The model as a user writes it: what loads, what is refused and how the error reads (file,
//! line, column, path), includes, threat statuses and their stable ids.

use std::path::Path;

use palisade_threat::model::{self, ModelError};
use palisade_threat::rules::{RuleSet, parse_toml};
use palisade_threat::{ThreatStatus, analyse};

const TODAY: (i32, u8, u8) = (2026, 12, 7);

const SHOP: &str = "\
name: Shop
assets:
  card-data: { name: Card data, confidentiality: critical, integrity: high, pii: true }
boundaries:
  internet: { name: Internet }
  cloud: { name: Cloud account }
  vpc: { name: VPC, parent: cloud }
elements:
  customer: { type: external-entity, name: Customer, boundary: internet, human: true }
  web: { type: process, name: Web app, boundary: vpc, internet_facing: true, authentication: password }
  db: { type: data-store, name: Orders DB, boundary: vpc, data: [card-data] }
flows:
  checkout: { from: customer, to: web, protocol: https, data: [card-data], bidirectional: true }
  store: { from: web, to: db, protocol: postgres, data: [card-data] }
";

/// Two small rules, independent of the built-in set: one on elements, one on flows.
fn rules() -> RuleSet {
    let text = r#"
[[rule]]
id = "T-S1"
title = "{name} takes passwords alone"
stride = "spoofing"
target = "process"
when = 'element.exposed and element.authentication in ["none", "password"]'
likelihood = "high"
impact = "data"
rationale = "r"

[[rule]]
id = "T-I1"
title = "{source} to {target} in clear"
stride = "information-disclosure"
target = "flow"
when = 'not flow.encrypted and flow.confidentiality >= "high"'
likelihood = "medium"
impact = "data"
rationale = "r"

[[rule]]
id = "T-T1"
title = "{name} unencrypted at rest"
stride = "tampering"
target = "data-store"
when = 'not element.encryption_at_rest'
likelihood = "low"
impact = "medium"
rationale = "r"
"#;
    RuleSet {
        rules: parse_toml(Path::new("t.toml"), text).unwrap(),
    }
}

fn load(text: &str) -> Result<model::Model, Vec<ModelError>> {
    model::from_str(Path::new("shop.yaml"), text)
}

fn one_error(text: &str) -> ModelError {
    let errors = load(text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn a_model_loads_with_its_implied_attributes_and_raises_threats_with_ids_and_reasons() {
    let m = load(SHOP).unwrap();
    assert_eq!(m.elements.len(), 3);
    assert_eq!(m.boundary_chain("web"), vec!["vpc", "cloud"]);
    let a = analyse(&m, &rules(), TODAY);
    let ids: Vec<&str> = a.threats.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["T-S1@web", "T-I1@store", "T-T1@db"],
        "{:#?}",
        a.threats
    );
    let s = a.get("T-S1@web").unwrap();
    // Impact from the data: card data is critical for confidentiality; high × critical.
    assert_eq!(
        (s.impact.as_str(), s.severity.as_str()),
        ("critical", "critical")
    );
    assert_eq!(s.title, "Web app takes passwords alone");
    let matched: Vec<(&str, String)> = s
        .matched
        .iter()
        .map(|m| (m.attribute.as_str(), m.value.to_string()))
        .collect();
    assert_eq!(
        matched,
        vec![
            ("element.exposed", "true".into()),
            ("element.authentication", "\"password\"".into())
        ]
    );
    let f = a.get("T-I1@store").unwrap();
    assert_eq!(f.title, "Web app to Orders DB in clear");
    assert_eq!(f.location.as_ref().unwrap().line, 14);
    // https implies encryption: the checkout flow raises nothing.
    assert!(a.get("T-I1@checkout").is_none());
}

#[test]
fn errors_name_file_line_column_and_path() {
    let e = one_error(&SHOP.replace("type: data-store", "type: datastore"));
    assert_eq!((e.line, e.path.as_str()), (11, "elements.db.type"), "{e}");
    assert!(e.message.contains("data-store"), "{e}");
    assert!(e.to_string().starts_with("shop.yaml:11:"), "{e}");

    let e = one_error(&SHOP.replace("internet_facing: true", "internet_facng: true"));
    assert_eq!(
        (e.line, e.path.as_str()),
        (10, "elements.web.internet_facng")
    );
    assert!(e.message.contains("did you mean `internet_facing`"), "{e}");

    let e = one_error(&SHOP.replace("internet_facing: true", "internet_facing: yes-ish"));
    assert!(e.message.contains("true or false"), "{e}");

    let e = one_error(&SHOP.replace("authentication: password", "authentication: passwd"));
    assert!(
        e.message.contains("password") && e.message.contains("mfa"),
        "{e}"
    );

    let e = one_error(&SHOP.replace("to: db", "to: dbb"));
    assert_eq!((e.line, e.path.as_str()), (14, "flows.store.to"));
    assert!(e.message.contains("did you mean `db`"), "{e}");

    let e = one_error(&SHOP.replace("parent: cloud", "parent: vpc"));
    assert!(e.message.contains("inside itself"), "{e}");

    let e = one_error(
        &SHOP
            .replace("encryption_at_rest", "x")
            .replace("human: true", "encryption_at_rest: true"),
    );
    assert!(
        e.message.contains("not of a external-entity") || e.message.contains("data stores"),
        "{e}"
    );

    let e = one_error(&format!("{SHOP}elements2: {{}}\n"));
    assert!(e.message.contains("unknown field `elements2`"), "{e}");

    let e = one_error(&SHOP.replace("  db:", "  web:"));
    assert!(e.message.contains("written twice"), "{e}");
    assert_eq!(e.line, 11);
}

#[test]
fn broken_or_hostile_files_are_refused_with_a_reason_never_a_panic() {
    for (text, wanted) in [
        ("", "empty"),
        ("- a\n- b\n", "mapping"),
        ("elements: [\n", "not valid YAML"),
        ("elements: {}\n---\nelements: {}\n", "one YAML document"),
        ("name: x\nelements: {}\n", "at least one element"),
        (
            "version: 2\nelements: { a: { type: process } }\n",
            "version 2",
        ),
        (
            "elements: { a: { type: process, name: [1, 2] } }\n",
            "invalid type",
        ),
        ("elements: { \"a b\": { type: process } }\n", "an id is"),
        (
            "elements: { a: { type: process } }\nflows: { f: { from: a, to: a } }\n",
            "not to itself",
        ),
    ] {
        let errors = load(text).unwrap_err();
        assert!(
            errors.iter().any(|e| e.message.contains(wanted)),
            "{text:?}: wanted {wanted:?}, got {errors:#?}"
        );
    }
    // An alias bomb costs the size of its text and is refused.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..8 {
        bomb.push_str(&format!(
            "b{i}: &b{i} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n",
            p = if i == 0 {
                "a".into()
            } else {
                format!("b{}", i - 1)
            }
        ));
    }
    let errors = load(&bomb).unwrap_err();
    assert!(errors[0].message.contains("not valid YAML"), "{errors:#?}");
    let deep = format!("elements: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    assert!(load(&deep).is_err());
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.yaml");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(model::MAX_FILE_BYTES + 1).unwrap();
    let e = &model::load(&p).unwrap_err()[0];
    assert!(e.message.contains("at most"), "{e}");
}

#[test]
fn includes_join_files_and_a_duplicate_id_names_both_places() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("system.yaml");
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    std::fs::write(&root, "name: System\ninclude: [parts/data.yaml]\nelements:\n  web: { type: process }\nflows:\n  save: { from: web, to: db }\n").unwrap();
    std::fs::write(
        dir.path().join("parts/data.yaml"),
        "include: [../system.yaml]\nelements:\n  db: { type: data-store }\n",
    )
    .unwrap();
    let m = model::load(&root).unwrap();
    assert_eq!(m.elements.keys().collect::<Vec<_>>(), vec!["db", "web"]);
    assert_eq!(
        m.files.len(),
        2,
        "the loop back to system.yaml is read once"
    );
    assert_eq!(
        m.elements["db"].origin.as_ref().unwrap().file,
        dir.path().join("parts/data.yaml")
    );

    std::fs::write(
        dir.path().join("parts/data.yaml"),
        "elements:\n  db: { type: data-store }\n  web: { type: process }\n",
    )
    .unwrap();
    let e = &model::load(&root).unwrap_err()[0];
    assert!(
        e.message.contains("already defined at") && e.message.contains("system.yaml:4"),
        "{e}"
    );

    std::fs::write(
        &root,
        "include: [parts/missing.yaml]\nelements:\n  web: { type: process }\n",
    )
    .unwrap();
    let e = &model::load(&root).unwrap_err()[0];
    assert_eq!((e.file.as_path(), e.line), (root.as_path(), 1), "{e}");
    assert!(e.message.contains("missing.yaml"), "{e}");
}

#[test]
fn statuses_are_applied_by_id_and_an_expired_acceptance_reopens() {
    let text = format!(
        "{SHOP}threats:\n  T-S1@web: {{ status: mitigated, mitigation: MFA for every account }}\n  T-I1@store: {{ status: accepted, owner: alice, reason: private link, expires: 2026-12-06 }}\n  T-T1@db: {{ status: accepted, owner: bob, reason: disk encryption by the provider, expires: 2027-01-31 }}\n  T-S1@gone: {{ status: false-positive, reason: removed }}\n"
    );
    let m = load(&text).unwrap();
    let a = analyse(&m, &rules(), TODAY);
    assert_eq!(
        a.get("T-S1@web").unwrap().status,
        ThreatStatus::Mitigated {
            mitigation: "MFA for every account".into()
        }
    );
    assert_eq!(
        a.get("T-I1@store").unwrap().status,
        ThreatStatus::Open {
            acceptance_expired: Some("2026-12-06".into())
        }
    );
    assert!(matches!(
        a.get("T-T1@db").unwrap().status,
        ThreatStatus::Accepted { .. }
    ));
    // The last day of an acceptance still counts; the day after it does not.
    let a = analyse(&m, &rules(), (2027, 1, 31));
    assert!(matches!(
        a.get("T-T1@db").unwrap().status,
        ThreatStatus::Accepted { .. }
    ));
    let a = analyse(&m, &rules(), (2027, 2, 1));
    assert!(a.get("T-T1@db").unwrap().status.is_open());
    assert_eq!(
        a.stale.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec!["T-S1@gone"]
    );

    for (entry, wanted) in [
        ("{ status: mitigated }", "says how"),
        ("{ status: accepted, owner: a, reason: b }", "expires"),
        (
            "{ status: accepted, owner: a, reason: b, expires: 2027-02-30 }",
            "not a date",
        ),
        ("{ status: accepted, expires: 2027-01-01 }", "owner"),
        ("{ status: false-positive }", "why"),
        ("{ status: closed }", "unknown variant"),
    ] {
        let e = one_error(&format!("{SHOP}threats:\n  T-S1@web: {entry}\n"));
        assert!(e.message.contains(wanted), "{entry}: {e}");
        assert_eq!(e.line, 16, "{e}");
    }
}

#[test]
fn a_status_survives_renaming_an_unrelated_element() {
    let with_status = format!(
        "{SHOP}threats:\n  T-T1@db: {{ status: mitigated, mitigation: encrypted volumes }}\n"
    );
    let before = analyse(&load(&with_status).unwrap(), &rules(), TODAY);
    // The web app gets a new id and a new name; the flows follow it.
    let renamed = with_status
        .replace(
            "  web: { type: process, name: Web app",
            "  storefront: { type: process, name: Storefront",
        )
        .replace("to: web", "to: storefront")
        .replace("from: web", "from: storefront");
    let after = analyse(&load(&renamed).unwrap(), &rules(), TODAY);
    let db = |a: &palisade_threat::Analysis| a.get("T-T1@db").unwrap().status.clone();
    assert_eq!(db(&before), db(&after));
    assert!(matches!(db(&after), ThreatStatus::Mitigated { .. }));
    assert!(after.get("T-S1@storefront").is_some() && after.get("T-S1@web").is_none());
    assert!(after.stale.is_empty());
}

#[test]
fn a_model_can_be_read_from_another_source_with_its_includes() {
    let files = std::collections::HashMap::from([
        (
            "m/root.yaml",
            "include: [part.yaml]\nelements: { a: { type: process } }\n",
        ),
        ("m/part.yaml", "elements: { b: { type: data-store } }\n"),
    ]);
    let read = |p: &Path| {
        files
            .get(p.to_str().unwrap())
            .map(|s| s.to_string())
            .ok_or_else(|| "absent".to_string())
    };
    let m = model::load_with(Path::new("m/root.yaml"), &read).unwrap();
    assert_eq!(m.elements.len(), 2);
}
