//! The gate: a policy file per phase, each failure naming its finding and the policy line.

use palisade_core::Timestamp;
use palisade_core::finding::{FindingStatus, Observed};
use palisade_core::types::{FindingKind, FindingSeverity, Phase};
use palisade_findings::gate::{Candidate, Policy, PolicyError, evaluate};

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn finding(kind: FindingKind, severity: FindingSeverity, rule: &str) -> Observed {
    Observed {
        fingerprint: format!("fp-{rule}"),
        kind,
        rule: rule.into(),
        title: format!("title of {rule}"),
        severity,
        location: Some("src/a.rs:3".into()),
        package: None,
    }
}

const POLICY: &str = r#"# the team's gate
[defaults]
fail_on = "critical"

[phase.build]
fail_on = { secret = "low", dependency = "high", config = "never" }
overdue = false

[phase.release]
require_sbom = true

[[waiver]]
rule = "GHSA-waived"
owner = "dana"
reason = "not reachable from any input we parse"
expires = "2027-01-31"
"#;

#[test]
fn each_failure_names_the_finding_and_the_policy_line_that_failed_it() {
    let policy = Policy::parse("gate.toml", POLICY).unwrap();
    let now = t("2027-01-10T00:00:00Z");
    let findings = vec![
        Candidate::local(finding(
            FindingKind::Secret,
            FindingSeverity::Low,
            "aws-key",
        )),
        Candidate::local(finding(
            FindingKind::Dependency,
            FindingSeverity::Medium,
            "GHSA-medium",
        )),
        Candidate::local(finding(
            FindingKind::Dependency,
            FindingSeverity::High,
            "GHSA-high",
        )),
        Candidate::local(finding(
            FindingKind::Config,
            FindingSeverity::Critical,
            "PAL-DF-001",
        )),
        Candidate::local(finding(
            FindingKind::Dependency,
            FindingSeverity::Critical,
            "GHSA-waived",
        )),
    ];
    let v = evaluate(&policy, Phase::Build, findings.clone(), false, now);
    assert!(!v.passed);
    let failed: Vec<(&str, Option<usize>)> = v
        .failures
        .iter()
        .map(|f| {
            (
                f.finding.as_ref().unwrap().observed.rule.as_str(),
                f.policy.line,
            )
        })
        .collect();
    assert_eq!(failed, [("aws-key", Some(6)), ("GHSA-high", Some(6))]);
    assert_eq!(
        v.failures[1].policy.setting,
        "[phase.build] fail_on.dependency = \"high\""
    );
    assert_eq!(v.waived, 1, "the waiver in force lets its finding through");
    assert_eq!(v.considered, 5);

    // Another phase falls back to [defaults]; the release needs an SBOM.
    let v = evaluate(&policy, Phase::Release, findings.clone(), false, now);
    let reasons: Vec<String> = v.failures.iter().map(|f| f.policy.to_string()).collect();
    assert_eq!(
        reasons,
        [
            "line 3: [defaults] fail_on = \"critical\"",
            "line 10: [phase.release] require_sbom = true"
        ]
    );
    assert!(v.failures[1].why.contains("no SBOM"));
    let v = evaluate(&policy, Phase::Release, Vec::new(), true, now);
    assert!(v.passed);

    // After the waiver's date (the whole day counts), its finding fails again, as an expired
    // acceptance when its severity alone would not fail it.
    let v = evaluate(
        &policy,
        Phase::Build,
        findings,
        false,
        t("2027-01-31T23:00:00Z"),
    );
    assert_eq!(v.waived, 1);
    let later = evaluate(
        &policy,
        Phase::Code,
        vec![Candidate::local(finding(
            FindingKind::Dependency,
            FindingSeverity::Low,
            "GHSA-waived",
        ))],
        false,
        t("2027-02-01T00:00:01Z"),
    );
    assert!(!later.passed);
    assert!(
        later.failures[0].why.contains("expired"),
        "{:?}",
        later.failures
    );
    assert_eq!(
        later.failures[0].policy.line, None,
        "the built-in setting decided"
    );
}

#[test]
fn server_marks_and_dates_decide_open_accepted_overdue_and_expired() {
    let policy = Policy::default();
    let now = t("2027-01-10T00:00:00Z");
    let with = |status, overdue, expired, sev| Candidate {
        id: Some("x".into()),
        observed: finding(FindingKind::Code, sev, "R"),
        status,
        overdue,
        due_at: Some(t("2027-01-01T00:00:00Z")),
        acceptance_expired: expired,
    };
    let v = evaluate(
        &policy,
        Phase::Build,
        vec![
            with(
                FindingStatus::Accepted,
                false,
                false,
                FindingSeverity::Critical,
            ),
            with(
                FindingStatus::FalsePositive,
                false,
                false,
                FindingSeverity::High,
            ),
            with(
                FindingStatus::Fixed,
                false,
                false,
                FindingSeverity::Critical,
            ),
        ],
        false,
        now,
    );
    assert!(v.passed, "{:?}", v.failures);
    assert_eq!((v.considered, v.accepted), (2, 2));
    let v = evaluate(
        &policy,
        Phase::Build,
        vec![
            with(FindingStatus::Open, true, false, FindingSeverity::Low),
            with(FindingStatus::Open, false, true, FindingSeverity::Medium),
            with(FindingStatus::Open, false, false, FindingSeverity::Medium),
        ],
        false,
        now,
    );
    let why: Vec<&str> = v.failures.iter().map(|f| f.why.as_str()).collect();
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(why[0].contains("past its due date"));
    assert!(why[1].contains("has expired"));
}

#[test]
fn a_bad_policy_is_refused_with_file_and_line() {
    let cases = [
        ("[phase.ship]\nfail_on = \"high\"\n", 1, "phase"),
        ("[defaults]\nfail_on = \"severe\"\n", 2, "finding severity"),
        (
            "[phase.build]\nfail_on = { secrets = \"low\", binary = \"low\" }\n",
            2,
            "finding kind",
        ),
        ("[defaults]\nfail_when = \"high\"\n", 2, "unknown field"),
        (
            "[[waiver]]\nowner = \"d\"\nreason = \"long enough reason\"\nexpires = \"2027-01-01\"\n",
            1,
            "names the finding",
        ),
        (
            "[[waiver]]\nrule = \"R\"\nowner = \"d\"\nreason = \"short\"\nexpires = \"2027-01-01\"\n",
            1,
            "reason",
        ),
        (
            "[[waiver]]\nrule = \"R\"\nowner = \"d\"\nreason = \"long enough reason\"\nexpires = \"soon\"\n",
            1,
            "write a date",
        ),
        ("fail_on = [\n", 1, ""),
    ];
    for (text, line, needle) in cases {
        match Policy::parse("gate.toml", text) {
            Err(PolicyError::At {
                file,
                line: l,
                message,
            }) => {
                assert_eq!(
                    (file.as_str(), l),
                    ("gate.toml", line),
                    "{text:?}: {message}"
                );
                assert!(message.contains(needle), "{text:?}: {message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

/// The same policy as [`POLICY`], in YAML, with its settings on the same lines.
const POLICY_YAML: &str = r#"# the team's gate
defaults:
  fail_on: critical

phase:
  build:
    fail_on: { secret: low, dependency: high, config: never }
    overdue: false
  release:
    require_sbom: true

waiver:
  - rule: GHSA-waived
    owner: dana
    reason: not reachable from any input we parse
    expires: "2027-01-31"
"#;

#[test]
fn a_yaml_policy_decides_as_its_toml_twin_and_names_its_own_lines() {
    let toml = Policy::parse("gate.toml", POLICY).unwrap();
    let yaml = Policy::parse("palisade-gate.yaml", POLICY_YAML).unwrap();
    let now = t("2027-01-10T00:00:00Z");
    let findings = vec![
        Candidate::local(finding(
            FindingKind::Secret,
            FindingSeverity::Low,
            "aws-key",
        )),
        Candidate::local(finding(
            FindingKind::Dependency,
            FindingSeverity::High,
            "GHSA-high",
        )),
        Candidate::local(finding(
            FindingKind::Config,
            FindingSeverity::Critical,
            "PAL-DF-001",
        )),
        Candidate::local(finding(
            FindingKind::Dependency,
            FindingSeverity::Critical,
            "GHSA-waived",
        )),
    ];
    for phase in [Phase::Build, Phase::Release, Phase::Design] {
        let a = evaluate(&toml, phase, findings.clone(), false, now);
        let b = evaluate(&yaml, phase, findings.clone(), false, now);
        let rules = |v: &palisade_findings::gate::Verdict| {
            v.failures
                .iter()
                .map(|f| {
                    (
                        f.finding.as_ref().map(|c| c.observed.rule.clone()),
                        f.why.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            (a.passed, rules(&a), a.waived),
            (b.passed, rules(&b), b.waived),
            "{phase}"
        );
    }
    let v = evaluate(&yaml, Phase::Build, findings, false, now);
    let lines: Vec<Option<usize>> = v.failures.iter().map(|f| f.policy.line).collect();
    assert_eq!(
        lines,
        [Some(7), Some(7)],
        "the line of build's fail_on in the YAML file"
    );
    assert_eq!(
        v.failures[1].policy.setting,
        "[phase.build] fail_on.dependency = \"high\""
    );
}

#[test]
fn a_broken_yaml_policy_names_its_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("defaults:\n  fail_on: severe\n", 2, "finding severity"),
        (
            "defaults:\n  fail_onn: high\n",
            2,
            "unknown field `fail_onn`",
        ),
        ("phase:\n  buidl:\n    overdue: true\n", 3, "phase"),
        ("phase:\n  build:\n    overdue: maybe\n", 3, "true or false"),
        (
            "waiver:\n  - rule: R\n    owner: d\n    reason: long enough reason\n",
            2,
            "missing field `expires`",
        ),
        (
            "waiver:\n  - rule: R\n    owner: d\n    reason: short\n    expires: 2027-01-01\n",
            2,
            "reason of at least 10",
        ),
        ("waiver: {}\n", 1, "a list of waivers"),
        ("defaults: [\n", 2, "not valid YAML"),
        ("a: 1\n---\nb: 2\n", 2, "one YAML document"),
    ];
    for (text, line, needle) in cases {
        match Policy::parse("gate.yml", text) {
            Err(PolicyError::At {
                file,
                line: l,
                message,
            }) => {
                assert_eq!(
                    (file.as_str(), l),
                    ("gate.yml", *line),
                    "{text:?}: {message}"
                );
                assert!(message.contains(needle), "{text:?}: {message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

/// The example policies of docs/findings.md, TOML and YAML, parse and decide alike.
#[test]
fn the_documented_policies_parse_and_agree() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/findings.md"),
    )
    .unwrap();
    let block = |after: &str, fence: &str| {
        let rest = &doc[doc.find(after).expect(after)..];
        let start = rest.find(fence).expect(fence) + fence.len();
        rest[start..start + rest[start..].find("```").unwrap()].to_string()
    };
    let toml = Policy::parse(
        "palisade-gate.toml",
        &block("The policy is one file", "```toml\n"),
    )
    .unwrap();
    let yaml = Policy::parse(
        "palisade-gate.yaml",
        &block("The same policy in YAML", "```yaml\n"),
    )
    .unwrap();
    let now = t("2027-01-10T00:00:00Z");
    let all: Vec<Candidate> = FindingKind::ALL
        .iter()
        .flat_map(|k| {
            [
                FindingSeverity::Low,
                FindingSeverity::High,
                FindingSeverity::Critical,
            ]
            .map(|s| Candidate::local(finding(*k, s, &format!("{k}-{s}"))))
        })
        .collect();
    for phase in [
        Phase::Design,
        Phase::Code,
        Phase::Build,
        Phase::Release,
        Phase::Deploy,
    ] {
        let a = evaluate(&toml, phase, all.clone(), false, now);
        let b = evaluate(&yaml, phase, all.clone(), false, now);
        let why = |v: &palisade_findings::gate::Verdict| {
            v.failures.iter().map(|f| f.why.clone()).collect::<Vec<_>>()
        };
        assert_eq!((a.passed, why(&a)), (b.passed, why(&b)), "{phase}");
    }
    // The design phase fails on a high threat.
    let v = evaluate(
        &yaml,
        Phase::Design,
        vec![Candidate::local(finding(
            FindingKind::Threat,
            FindingSeverity::High,
            "PAL-TM-S02",
        ))],
        false,
        now,
    );
    assert!(!v.passed);
}
