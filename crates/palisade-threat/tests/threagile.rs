//! Threagile import: a Threagile-style model becomes a Palisade model with the attributes the
//! table knows, its boundaries nested, its ratings mapped; bad references are located errors.

use std::path::Path;

use palisade_threat::model::{self, ElementKind, Level};
use palisade_threat::{RuleSet, analyse, threagile};
use proptest::prelude::*;

fn tickets() -> palisade_threat::Imported {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/threagile-tickets.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    threagile::import(&path, &text).unwrap_or_else(|e| panic!("{}", e[0]))
}

fn text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/threagile-tickets.yaml");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_threagile_model_imports_with_its_elements_links_and_boundaries() {
    let imported = tickets();
    let m = &imported.model;
    assert_eq!(m.name.as_deref(), Some("Ticket shop"));
    assert_eq!(
        m.description.as_deref(),
        Some("Sells concert tickets online.")
    );
    assert_eq!(m.elements.len(), 9);
    let el = |id: &str| &m.elements[id];
    assert_eq!(el("browser").kind, ElementKind::ExternalEntity);
    assert_eq!(el("booking-db").kind, ElementKind::DataStore);
    assert_eq!(el("booking-app").kind, ElementKind::Process);
    assert_eq!(
        el("booking-app").name.as_deref(),
        Some("Booking Application")
    );
    // Attributes of the table.
    assert_eq!(el("browser").attrs["human"], true);
    assert_eq!(el("browser").attrs["internet_facing"], true);
    assert_eq!(el("browser").attrs["technology"], "browser");
    assert!(el("browser").tags.contains(&"out-of-scope".to_string()));
    assert_eq!(el("booking-app").attrs["deserializes_untrusted"], true);
    assert_eq!(el("booking-app").attrs["redundancy"], true);
    assert_eq!(el("booking-db").attrs["encryption_at_rest"], true);
    assert_eq!(el("order-queue").attrs["encryption_at_rest"], false);
    assert_eq!(el("order-queue").attrs["multi_tenant"], true);
    // On an external entity, Threagile's fields that are ours only for components stay custom.
    assert_eq!(el("payments").attributes["multi_tenant"], true);
    assert!(!el("payments").attrs.contains_key("multi_tenant"));
    assert_eq!(el("booking-app").attributes["machine"], "container");
    assert_eq!(
        el("booking-app").attributes["confidentiality"],
        "confidential"
    );
    assert_eq!(el("booking-app").data.len(), 4);
    // Boundaries: placed and nested.
    assert_eq!(el("booking-app").boundary.as_deref(), Some("app-subnet"));
    assert_eq!(el("load-balancer").boundary.as_deref(), Some("cloud"));
    assert_eq!(el("browser").boundary, None);
    assert_eq!(m.boundaries["data-subnet"].parent.as_deref(), Some("cloud"));
    assert_eq!(m.boundaries["cloud"].name.as_deref(), Some("Cloud Account"));
    assert_eq!(m.boundaries["cloud"].parent, None);
    // Links.
    let f = |id: &str| {
        m.flows
            .get(id)
            .unwrap_or_else(|| panic!("{id} in {:?}", m.flows.keys()))
    };
    let shop = f("browser.shop-traffic");
    assert_eq!(
        (shop.from.as_str(), shop.to.as_str()),
        ("browser", "load-balancer")
    );
    assert_eq!(shop.protocol.as_deref(), Some("https"));
    assert_eq!(shop.attrs["authentication"], "session");
    assert_eq!(shop.attrs["authorization"], "role-based");
    assert!(shop.bidirectional, "data comes back");
    assert_eq!(shop.data, ["customer-accounts", "orders", "listings"]);
    let store = f("booking-app.store-bookings");
    assert_eq!(
        store.attrs["encrypted"], true,
        "jdbc-encrypted is encrypted"
    );
    assert_eq!(store.attrs["authentication"], "password");
    assert_eq!(store.attrs["authorization"], "authenticated");
    assert_eq!(
        f("booking-app.charge-card").attrs["authentication"],
        "token"
    );
    assert!(!f("booking-app.charge-card").bidirectional);
    assert_eq!(
        f("booking-app.publish-order-events").attrs["authentication"],
        "client-certificate"
    );
    let admin = f("admin.administration");
    assert_eq!(admin.attrs["authentication"], "mfa");
    assert_eq!(admin.attrs["vpn"], true);
    assert_eq!(admin.attrs["encrypted"], true, "ssh-tunnel");
    assert_eq!(f("reporting.read-orders").attributes["readonly"], true);
    assert!(!f("load-balancer.forward").attrs.contains_key("encrypted"));
    // Data assets: Threagile's five steps on four levels.
    let a = |id: &str| &m.assets[id];
    assert_eq!(a("customer-accounts").confidentiality, Some(Level::High));
    assert_eq!(a("customer-accounts").integrity, Some(Level::High));
    assert_eq!(a("customer-accounts").availability, Some(Level::Medium));
    assert!(a("customer-accounts").pii, "tagged gdpr");
    assert_eq!(a("orders").confidentiality, Some(Level::Medium));
    assert_eq!(a("orders").integrity, Some(Level::Critical));
    assert_eq!(a("payment-api-key").confidentiality, Some(Level::Critical));
    assert_eq!(a("payment-api-key").availability, Some(Level::Low));
    assert!(a("payment-api-key").credentials, "a key");
    assert_eq!(a("listings").confidentiality, Some(Level::Low));
    // What did not carry over is said.
    let notes = imported.notes.join("\n");
    for said in [
        "shared runtimes",
        "2 risk-tracking entries",
        "in-process-library-call",
        "`payment-api-key` credentials",
        "`customer-accounts` personal data",
    ] {
        assert!(notes.contains(said), "{said}: {notes}");
    }
    // It is a model: it loads from its YAML, and analyses.
    let again = model::from_str(Path::new("tickets.yaml"), &model::to_yaml(m)).unwrap();
    assert_eq!(again.flows.len(), m.flows.len());
    let _ = analyse(m, &RuleSet::builtin(), (2026, 12, 7));
}

fn err(text: &str) -> Vec<model::ModelError> {
    match threagile::import(Path::new("t.yaml"), text) {
        Ok(_) => panic!("imported"),
        Err(e) => e,
    }
}

fn has(errors: &[model::ModelError], path: &str, message: &str) -> bool {
    errors
        .iter()
        .any(|e| e.path == path && e.message.contains(message))
}

#[test]
fn bad_references_and_values_are_located_errors() {
    let t = text();
    let e = err(&t.replace(
        "target: booking-db\n        protocol: jdbc",
        "target: booking-dbx\n        protocol: jdbc",
    ));
    assert!(
        has(
            &e,
            "technical_assets.Booking Application.communication_links.Store Bookings.target",
            "no technical asset `booking-dbx`"
        ),
        "{e:?}"
    );
    let line = t
        .lines()
        .position(|l| l.contains("target: booking-db"))
        .unwrap()
        + 1;
    assert_eq!(e[0].line, line, "{}", e[0]);
    let e = err(&t.replace(
        "technical_assets_inside: [booking-db, order-queue]",
        "technical_assets_inside: [booking-db, order-queue, booking-app]",
    ));
    assert!(
        has(
            &e,
            "trust_boundaries.Data Subnet.technical_assets_inside[2]",
            "inside `app-subnet` already"
        ),
        "{e:?}"
    );
    let e = err(&t.replace(
        "trust_boundaries_nested: [app-subnet, data-subnet]",
        "trust_boundaries_nested: [app-subnet, data-subnet, nowhere]",
    ));
    assert!(
        has(
            &e,
            "trust_boundaries.Cloud Account.trust_boundaries_nested[2]",
            "no trust boundary `nowhere`"
        ),
        "{e:?}"
    );
    let e = err(&t.replace(
        "    type: network-cloud-security-group\n    technical_assets_inside: [booking-db",
        "    type: network-cloud-security-group\n    trust_boundaries_nested: [cloud]\n    technical_assets_inside: [booking-db",
    ));
    assert!(
        e.iter().any(|e| e.message.contains("nested inside itself")),
        "{e:?}"
    );
    let e = err(&t.replace("confidentiality: restricted", "confidentiality: secret"));
    assert!(
        has(
            &e,
            "data_assets.Orders.confidentiality",
            "`secret` is not a Threagile rating"
        ),
        "{e:?}"
    );
    let e = err(&t.replace(
        "data_assets_stored: [orders]",
        "data_assets_stored: [ordres]",
    ));
    assert!(
        has(
            &e,
            "technical_assets.Order Queue.data_assets_stored[0]",
            "no data asset `ordres`"
        ),
        "{e:?}"
    );
    let e = err(&t.replace(
        "type: datastore\n    technology: message-queue",
        "type: queue\n    technology: message-queue",
    ));
    assert!(
        has(
            &e,
            "technical_assets.Order Queue.type",
            "not a technical asset type"
        ),
        "{e:?}"
    );
    let e = err(&t.replace(
        "    internet: false\n    machine: container\n    data_assets_processed: [orders]",
        "    internet: maybe\n    machine: container\n    data_assets_processed: [orders]",
    ));
    assert!(
        has(
            &e,
            "technical_assets.Reporting Job.internet",
            "expected a boolean"
        ),
        "{e:?}"
    );
    let e = err(&t.replace("id: reporting", "id: booking-app"));
    assert!(
        e.iter().any(|e| e.message.contains("also the id of")),
        "{e:?}"
    );
    let e = err("title: not Threagile\nelements: {}\n");
    assert!(e[0].message.contains("not a Threagile model"), "{}", e[0]);
    let e = err("technical_assets: [a, b]\n");
    assert_eq!(e[0].path, "technical_assets", "{}", e[0]);
    let e = err("{ not yaml");
    assert!(e[0].message.contains("not valid"), "{}", e[0]);
}

#[test]
fn boundaries_nested_too_deep_are_refused() {
    let mut t = String::from(
        "threagile_version: 1.0.0\ntechnical_assets:\n  A: { id: a, type: process }\ntrust_boundaries:\n",
    );
    for i in 0..100 {
        t.push_str(&format!(
            "  B{i}: {{ id: b{i}, trust_boundaries_nested: [b{}] }}\n",
            i + 1
        ));
    }
    t.push_str("  B100: { id: b100, technical_assets_inside: [a] }\n");
    let e = err(&t);
    assert!(
        e.iter()
            .any(|e| e.message.contains("nested more than 64 deep")),
        "{e:?}"
    );
    // 64 levels are fine.
    let shallow = t.replace(
        "trust_boundaries_nested: [b64]",
        "trust_boundaries_nested: []",
    );
    let i = threagile::import(Path::new("t.yaml"), &shallow).unwrap();
    assert_eq!(i.model.boundaries.len(), 101);
}

#[test]
fn unknown_link_words_are_kept_and_said() {
    let t = text().replace("authentication: token", "authentication: oauth-magic");
    let i = threagile::import(Path::new("t.yaml"), &t).unwrap();
    let f = &i.model.flows["booking-app.charge-card"];
    assert_eq!(f.attributes["authentication"], "oauth-magic");
    assert!(!f.attrs.contains_key("authentication"));
    assert!(i.notes.join("\n").contains("oauth-magic"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = threagile::import(Path::new("fuzz"), &text);
        let _ = threagile::import(Path::new("fuzz"), &format!("threagile_version: 1.0.0\n{text}"));
    }

    #[test]
    fn a_valid_model_with_a_line_damaged_imports_or_is_refused_without_panic(
        line in any::<prop::sample::Index>(),
        replacement in "[a-z_:\\[\\]{}, -]{0,20}",
    ) {
        let t = text();
        let mut lines: Vec<&str> = t.lines().collect();
        let i = line.index(lines.len());
        let indent = lines[i].len() - lines[i].trim_start().len();
        let damaged = format!("{}{replacement}", " ".repeat(indent));
        lines[i] = &damaged;
        match threagile::import(Path::new("damaged"), &lines.join("\n")) {
            Ok(im) => {
                let yaml = model::to_yaml(&im.model);
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
                        prop_assert_eq!(kinds(&back), kinds(&im.model));
                        prop_assert_eq!(ends(&back), ends(&im.model));
                    }
                    Err(e) => prop_assert!(false, "the import does not load back: {:?}", e),
                }
            }
            Err(errors) => prop_assert!(errors.iter().all(|e| e.line >= 1)),
        }
    }
}
