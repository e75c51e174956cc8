//! Every member the model can write, validated against the OASIS SARIF 2.1.0 schema
//! (`../shared/data/schemas/sarif-schema-2.1.0.json`, with format assertions on, so URIs are
//! checked too). The scanners' own output is validated in `crates/palisade/tests/sarif.rs`.

use std::collections::BTreeMap;

use palisade_sarif::{
    Configuration, Driver, Invocation, Level, Location, Log, Message, Notification, Region, Rule,
    Run, SarifResult, Suppression, SuppressionKind,
};
use serde_json::{Map, Value, json};

/// A log with every optional member set: rules with all their fields, results with regions,
/// properties and fingerprints, and an invocation with notifications of each level.
fn full_log() -> Log {
    let mut driver = Driver::palisade("0.1.0");
    driver.information_uri = Some("https://example.org/palisade".into());
    let mut run = Run::new(driver);
    let mut rule = Rule::new("RUSTSEC-2099-0001", "demo overflow");
    rule.name = Some("DemoOverflow".into());
    rule.full_description = Some(Message::text("A longer description."));
    rule.help = Some(Message::text("Upgrade.\nDetails: https://example.org/a"));
    rule.help_uri = Some("https://example.org/a".into());
    rule.default_configuration = Some(Configuration {
        level: Level::Error,
    });
    rule.properties
        .insert("tags".into(), json!(["vulnerability", "crates.io"]));
    rule.properties
        .insert("security-severity".into(), json!("5.9"));
    let idx = run.add_rule(rule);
    run.add_rule(Rule::new("plain", "a rule with nothing else"));
    let mut properties = Map::new();
    properties.insert("commit".into(), json!("0123abcd"));
    for (path, region) in [
        ("dir with space/Cargo.lock", Region::line(3)),
        (
            "/abs/päth/#x?.txt",
            Region {
                start_line: 2,
                start_column: Some(7),
                end_line: Some(4),
            },
        ),
        ("C:\\windows\\style.lock", Region::line(0)),
    ] {
        run.results.push(SarifResult {
            rule_id: "RUSTSEC-2099-0001".into(),
            rule_index: Some(idx),
            level: Level::Warning,
            message: Message::text("demo 1.1.0 is affected"),
            locations: vec![Location::file(path, Some(region))],
            partial_fingerprints: BTreeMap::from([("palisadeDeps/v1".into(), "fp".into())]),
            suppressions: vec![Suppression {
                kind: SuppressionKind::InSource,
                justification: Some("accepted: not reachable".into()),
            }],
            properties: properties.clone(),
        });
    }
    run.results.push(SarifResult {
        rule_id: "plain".into(),
        rule_index: None,
        level: Level::None,
        message: Message::text("no region"),
        locations: vec![Location::file("a", None)],
        partial_fingerprints: BTreeMap::new(),
        suppressions: vec![Suppression {
            kind: SuppressionKind::External,
            justification: None,
        }],
        properties: Map::new(),
    });
    run.invocations.push(Invocation::new(vec![
        Notification::new(Level::Error, "broken/Cargo.lock:3: not TOML"),
        Notification::new(Level::Warning, "big.bin: skipped"),
        Notification::new(Level::Note, "note"),
    ]));
    Log::new(run)
}

#[test]
fn every_member_the_model_writes_is_valid_sarif_2_1_0() {
    let Some(v) = palisade_test_support::SarifSchema::load() else {
        return;
    };
    let doc = full_log().to_value();
    if let Some(e) = v.errors(&doc) {
        panic!("SARIF does not validate: {e}\n{doc:#}");
    }
    // The text form is the same document.
    let text: Value = serde_json::from_str(&full_log().to_json_pretty()).unwrap();
    assert_eq!(text, doc);
    let run = &doc["runs"][0];
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    assert_eq!(
        run["invocations"][0]["toolExecutionNotifications"][1]["level"],
        "warning"
    );
    assert_eq!(
        run["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "/abs/p%C3%A4th/%23x%3F.txt"
    );
    // A line number of 0 (unknown) is written as 1, SARIF's lowest.
    assert_eq!(
        run["results"][2]["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );

    // The check is real: documents the schema forbids are rejected.
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        edit(&mut d);
        v.errors(&d)
    };
    assert!(broken(&|d| d["runs"][0]["results"][0]["level"] = json!("catastrophic")).is_some());
    assert!(
        broken(&|d| {
            d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
                json!(0)
        })
        .is_some()
    );
    assert!(
        broken(&|d| {
            d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"] = json!("dir with space/x")
        })
        .is_some(),
        "an unencoded space is not a URI reference"
    );
    assert!(broken(&|d| d["version"] = json!("2.0.0")).is_some());
    assert!(
        broken(&|d| {
            d["runs"][0]["tool"]["driver"]
                .as_object_mut()
                .unwrap()
                .remove("name");
        })
        .is_some()
    );
}
