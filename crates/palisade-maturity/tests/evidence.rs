//! Evidence from Palisade's own record: facts from what the server holds, rules that turn them
//! into proposed answers with links, and the built-in rules checked against the official models.

use std::collections::BTreeSet;
use std::path::Path;

use palisade_maturity::Kind;
use palisade_maturity::evidence::{
    self, Facts, IncidentRecord, Record, ScanRecord, ServiceRecord, coverage_answer, fact_names,
    parse_rules, propose,
};
use palisade_test_support::shared_data;

const TODAY: &str = "2026-12-07";

fn scan(phase: &str, tool: &str, runs: u64, last: &str, format: &str) -> ScanRecord {
    ScanRecord {
        phase: phase.into(),
        tool: tool.into(),
        name: None,
        runs,
        last_run_at: Some(format!("{last}T10:00:00Z")),
        last_format: Some(format.into()),
    }
}

fn service(name: &str, scans: Vec<ScanRecord>, on_call: bool) -> ServiceRecord {
    ServiceRecord {
        name: name.into(),
        url: format!("https://palisade.example/services/{name}"),
        scans,
        on_call,
        alerting: on_call,
        overdue: 0,
        overdue_high: 0,
    }
}

/// Four services: two scan secrets recently, one long ago, one never; one has a deployed SBOM
/// and an on-call; one keeps its threat model up to date.
fn record() -> Record {
    Record {
        services: vec![
            service(
                "payments",
                vec![
                    scan("build", "palisade/secrets", 40, "2026-12-01", "sarif"),
                    scan("deploy", "palisade", 3, "2026-11-30", "cyclonedx"),
                    scan("design", "palisade/threat", 4, "2026-10-01", "sarif"),
                ],
                true,
            ),
            service(
                "search",
                vec![scan("code", "gitleaks", 12, "2026-11-20", "sarif")],
                false,
            ),
            service(
                "legacy",
                vec![scan("build", "palisade/secrets", 2, "2025-01-10", "sarif")],
                false,
            ),
            service("docs", vec![], false),
        ],
        incidents: vec![
            IncidentRecord {
                codename: "brave-otter".into(),
                url: "https://palisade.example/incidents/brave-otter".into(),
                status: "closed".into(),
                commander: true,
                postmortem: Some("closed".into()),
                declared_at: "2026-06-01T08:00:00Z".into(),
                drill: false,
            },
            IncidentRecord {
                codename: "quiet-heron".into(),
                url: "https://palisade.example/incidents/quiet-heron".into(),
                status: "resolved".into(),
                commander: true,
                postmortem: Some("draft".into()),
                declared_at: "2026-09-01T08:00:00Z".into(),
                drill: false,
            },
            IncidentRecord {
                codename: "old-one".into(),
                url: "https://palisade.example/incidents/old-one".into(),
                status: "closed".into(),
                commander: false,
                postmortem: None,
                declared_at: "2024-01-01T08:00:00Z".into(),
                drill: false,
            },
            IncidentRecord {
                codename: "drill-one".into(),
                url: "https://palisade.example/incidents/drill-one".into(),
                status: "closed".into(),
                commander: true,
                postmortem: None,
                declared_at: "2026-09-02T08:00:00Z".into(),
                drill: true,
            },
        ],
    }
}

#[test]
fn facts_are_shares_of_services_with_links_to_each() {
    let f = Facts::from_record(&record(), TODAY);
    let v = |n: &str| f.facts[n].value;
    assert_eq!(
        v("coverage.secrets"),
        0.5,
        "legacy's scan is older than 90 days"
    );
    assert_eq!(v("coverage.sbom_deployed"), 0.25);
    assert_eq!(v("coverage.monitored"), 0.25);
    assert_eq!(v("coverage.threat_model"), 0.25);
    assert_eq!(v("coverage.threat_model_reviewed"), 0.25);
    assert_eq!(v("coverage.findings_tracked"), 0.75);
    assert_eq!(
        f.facts["coverage.secrets"].links,
        vec![
            "https://palisade.example/services/payments".to_string(),
            "https://palisade.example/services/search".to_string(),
        ]
    );
    assert_eq!(
        f.facts["coverage.secrets"].detail,
        "secret scans in CI, last 90 days: 2 of 4 service(s)"
    );
    // Incidents of the last 365 days only.
    // The drill is a drill run, not a security incident.
    assert_eq!(v("incidents.security"), 2.0);
    assert_eq!(v("drills.run"), 1.0);
    assert_eq!(v("incidents.commanded"), 1.0);
    assert_eq!(v("incidents.finished"), 2.0);
    assert_eq!(
        v("incidents.postmortems"),
        0.5,
        "one of two postmortems is closed; the other a draft"
    );
}

#[test]
fn proposals_follow_samm_scale_and_carry_the_facts_and_links() {
    assert_eq!(
        [0.0, 0.1, 0.5, 0.7, 0.75, 1.0].map(coverage_answer),
        [0.0, 0.25, 0.5, 0.5, 1.0, 1.0]
    );
    let facts = Facts::from_record(&record(), TODAY);
    let items: BTreeSet<String> = ["D-TA-B-1", "V-ST-A-1", "O-IM-B-2", "I-DM-A-2", "O-EM-A-1"]
        .map(String::from)
        .into();
    let ps = propose(Kind::Samm, &evidence::builtin(), &facts, &items);
    let by = |id: &str| ps.iter().find(|p| p.item == id);
    let tm = by("D-TA-B-1").expect("a threat-model proposal");
    assert_eq!(tm.value, serde_json::json!(0.25));
    assert_eq!(
        tm.evidence[0].url,
        "https://palisade.example/services/payments"
    );
    assert_eq!(tm.facts[0].0, "coverage.threat_model");
    assert_eq!(by("V-ST-A-1").unwrap().value, serde_json::json!(0.5));
    assert_eq!(by("O-IM-B-2").unwrap().value, serde_json::json!(0.5));
    assert_eq!(
        by("I-DM-A-2").unwrap().value,
        serde_json::json!(1.0),
        "nothing is overdue"
    );
    assert!(
        by("O-EM-A-1").is_none(),
        "no configuration checks: nothing proposed"
    );

    // An overdue finding withdraws the SLA proposal.
    let mut r = record();
    r.services[0].overdue = 2;
    let ps = propose(
        Kind::Samm,
        &evidence::builtin(),
        &Facts::from_record(&r, TODAY),
        &items,
    );
    assert!(ps.iter().all(|p| p.item != "I-DM-A-2"));
}

#[test]
fn a_rules_file_with_a_misspelt_fact_or_a_bad_condition_names_its_line() {
    let known = fact_names();
    for (text, line, wanted) in [
        (
            "[[evidence]]\nmodel = \"samm\"\nitem = \"X\"\nwhen = [\"coverage.secret > 0\"]\nanswer = 1\nbecause = \"b\"\n",
            1,
            "did you mean `coverage.secrets`",
        ),
        (
            "\n[[evidence]]\nmodel = \"samm\"\nitem = \"X\"\nwhen = [\"coverage.secrets >> 0\"]\nanswer = 1\nbecause = \"b\"\n",
            2,
            "not one of",
        ),
        (
            "[[evidence]]\nmodel = \"dsomm\"\nitem = \"X\"\nanswer = { coverage = \"coverage.secrets\" }\nbecause = \"b\"\n",
            1,
            "SAMM's scale",
        ),
        (
            "[[evidence]]\nmodel = \"samm\"\nitem = \"X\"\nanswer = 1\nbecause = \" \"\n",
            1,
            "because",
        ),
        (
            "[[evidence]]\nmodel = \"iso\"\nitem = \"X\"\nanswer = 1\nbecause = \"b\"\n",
            2,
            "samm",
        ),
    ] {
        let e = parse_rules(Path::new("mine.toml"), text, &known).unwrap_err();
        assert_eq!(e.line, Some(line), "{text}: {e}");
        assert!(e.to_string().contains(wanted), "{text}: {e}");
    }
}

/// Every item the built-in rules name exists in the official models.
#[test]
fn the_builtin_rules_name_items_the_official_models_have() {
    for (kind, sub) in [
        (Kind::Samm, "maturity/samm/model"),
        (Kind::Dsomm, "maturity/dsomm/model.yaml"),
    ] {
        let Some(path) = shared_data(sub) else { return };
        let model = palisade_maturity::load(&path, Some(kind)).unwrap_or_else(|e| panic!("{e}"));
        let ids = model.ids();
        let named: Vec<String> = evidence::builtin()
            .into_iter()
            .filter(|r| r.model == kind)
            .map(|r| r.item)
            .collect();
        assert!(named.len() >= 10, "{kind}: {} rules", named.len());
        for item in named {
            assert!(
                ids.contains(&item),
                "{kind}: no item {item} in the official model"
            );
        }
    }
}
