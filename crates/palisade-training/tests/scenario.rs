//! Scenario files: what loads, what is refused and where, and the shipped scenarios checked
//! against the real security playbook.

use palisade_core::Playbook;
use palisade_core::Timestamp;
use palisade_training::scenario::{Check, Content, Scenario, Trigger};
use std::path::Path;

const VALID: &str = r#"
version: 1
id: tiny
title: A tiny drill
summary: Two injections and two expectations.
sources:
  - title: A write-up
    url: https://example.org/post
playbook: security
declaration: { title: Something odd, severity: SEV-2, kind: security }
injections:
  - id: first
    at: 5m
    discovery: Something was found.
  - id: log
    on_step: 2
    evidence:
      name: app.log
      content: "line one\nline two\n"
expectations:
  - id: fast
    points: 10
    step_done: { step: 1, within: 30m }
  - id: custody
    points: 5
    custody: { evidence: app.log }
"#;

fn errors(text: &str) -> Vec<String> {
    Scenario::from_yaml("s.yaml", text)
        .expect_err("refused")
        .iter()
        .map(|e| e.to_string())
        .collect()
}

fn security_steps() -> Vec<u32> {
    Playbook::builtin_security()
        .steps
        .iter()
        .map(|s| s.n)
        .collect()
}

#[test]
fn a_valid_scenario_reads_with_typed_triggers_and_checks() {
    let s = Scenario::from_yaml("s.yaml", VALID).unwrap();
    assert_eq!(s.id, "tiny");
    assert_eq!(s.injections[0].trigger, Trigger::At("5m".parse().unwrap()));
    assert_eq!(s.injections[1].trigger, Trigger::OnStep(2));
    assert!(matches!(&s.injections[1].content, Content::Evidence(e) if e.name == "app.log"));
    assert_eq!(s.injections[1].location.line, 15);
    assert!(matches!(
        s.expectations[0].check,
        Check::StepDone { step: 1, .. }
    ));
    assert_eq!(s.expectations[0].description, "step 1 done within 30m");
    assert_eq!(s.possible_points(), 15);
    s.check_playbook("s.yaml", "security", &security_steps())
        .unwrap();
}

#[test]
fn mistakes_are_named_with_their_line_and_path() {
    // (the change, what the error must say)
    let cases: &[(&str, &str, &str)] = &[
        (
            "at: 5m",
            "at: 5 minutes",
            "s.yaml:13:5: injections[0].at: invalid duration",
        ),
        (
            "severity: SEV-2",
            "severity: SEV-9",
            "declaration.severity: invalid severity",
        ),
        (
            "    discovery: Something was found.",
            "    colour: red",
            "unknown field `colour`",
        ),
        (
            "    at: 5m\n",
            "    at: 5m\n    on_step: 3\n",
            "either `at` a time or `on_step`, not both",
        ),
        ("    on_step: 2\n", "", "say when it is released"),
        (
            "custody: { evidence: app.log }",
            "custody: { evidence: other.log }",
            "no injected evidence is named \"other.log\"",
        ),
        (
            "points: 10",
            "points: 0",
            "expectations[0].points: points are 1–1000",
        ),
        (
            "url: https://example.org/post",
            "url: ftp://example.org",
            "is not an http(s) link",
        ),
        ("id: first", "id: log", "injection id \"log\" is used twice"),
        (
            "name: app.log",
            "name: ../etc/passwd",
            "must name a file, not a path",
        ),
        (
            "step_done: { step: 1, within: 30m }",
            "respect_rule: { rule: no-such-rule }",
            "\"no-such-rule\" is not a rule",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(VALID.contains(from), "{from}");
        let text = VALID.replacen(from, to, 1);
        let errs = errors(&text);
        assert!(
            errs.iter().any(|e| e.contains(expected)),
            "{from} → {to}: expected {expected:?} in {errs:?}"
        );
        assert!(errs.iter().all(|e| e.starts_with("s.yaml:")), "{errs:?}");
    }
}

#[test]
fn an_expectation_with_two_checks_or_none_is_refused_at_its_line() {
    let text = VALID.replace(
        "    step_done: { step: 1, within: 30m }",
        "    step_done: { step: 1, within: 30m }\n    order: { first: 1, then: 2 }",
    );
    let errs = errors(&text);
    assert!(
        errs.iter().any(|e| e.starts_with("s.yaml:21:")
            && e.contains("exactly one of")
            && e.contains("(2 given)")),
        "{errs:?}"
    );
}

#[test]
fn steps_and_playbook_are_checked_against_the_ids_given() {
    let text = VALID.replace("on_step: 2", "on_step: 15").replace(
        "step_done: { step: 1, within: 30m }",
        "order: { first: 4, then: 99 }",
    );
    let s = Scenario::from_yaml("s.yaml", &text).unwrap();
    let errs: Vec<String> = s
        .check_playbook("s.yaml", "security", &security_steps())
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0].starts_with("s.yaml:15:")
            && errs[0].contains("waits for step 15")
            && errs[0].contains("steps 1–14"),
        "{errs:?}"
    );
    assert!(errs[1].contains("names step 99"), "{errs:?}");
    let other = s.check_playbook(
        "s.yaml",
        "operational",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 99],
    );
    let msg = other.unwrap_err()[0].to_string();
    assert!(
        msg.contains("runs playbook \"security\", checked against \"operational\""),
        "{msg}"
    );
}

#[test]
fn hostile_and_oversized_files_are_refused_without_blowing_up() {
    // An alias bomb: each level doubles.
    let mut bomb = String::from("a0: &a0 [x, x]\n");
    for i in 1..40 {
        bomb.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
    }
    bomb.push_str("id: x\n");
    let errs = errors(&bomb);
    assert!(
        errs[0].contains("not valid YAML") || errs[0].contains("unknown field"),
        "{errs:?}"
    );
    let deep = format!("id: {}{}", "[".repeat(500), "]".repeat(500));
    assert!(errors(&deep)[0].contains("not valid YAML"));
    let big = format!("id: x\nsummary: \"{}\"\n", "a".repeat(1024 * 1024 + 1));
    assert!(errors(&big)[0].contains("at most 1048576 bytes"));
    assert!(errors("")[0].contains("empty"));
    assert!(errors("- a list\n")[0].contains("a scenario is a mapping"));
    assert!(errors("id: a\n---\nid: b\n")[0].contains("one YAML document"));
    assert!(errors("id: [unclosed\n")[0].starts_with("s.yaml:"));
    let twice = errors("id: a\nid: b\n");
    assert!(
        twice[0].starts_with("s.yaml:2:1") && twice[0].contains("written twice"),
        "{twice:?}"
    );
}

#[test]
fn the_shipped_scenarios_validate_against_the_security_playbook() {
    let pb = Playbook::builtin_security();
    let steps: Vec<u32> = pb.steps.iter().map(|s| s.n).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut ids = Vec::new();
    for name in [
        "leaked-cloud-key.yaml",
        "compromised-dependency.yaml",
        "insider-exfiltration.yaml",
    ] {
        let path = dir.join(name);
        let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        s.check_playbook(name, &pb.id, &steps)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(format!("{}.yaml", s.id), name);
        assert!(!s.sources.is_empty(), "{name} cites its sources");
        assert!(s.expectations.len() >= 6, "{name}");
        assert!(s.possible_points() >= 80, "{name}");
        let start = Timestamp::parse("2026-03-07T14:00:00Z").unwrap();
        for e in s.evidence() {
            let text = e.render(start);
            assert!(!text.is_empty(), "{name}: {}", e.name);
            assert_eq!(text, e.render(start), "deterministic");
        }
        for inj in &s.injections {
            if let Content::Alert(a) = &inj.content {
                assert!(a.details().problems().is_empty());
            }
        }
        ids.push(s.id);
    }
    assert_eq!(ids.len(), 3);
}

#[test]
fn generated_evidence_places_the_inserted_lines_at_times_from_the_start() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/leaked-cloud-key.yaml");
    let s = Scenario::load(&path).unwrap();
    let log = s
        .evidence()
        .find(|e| e.name == "audit-log-build-account.jsonl")
        .unwrap();
    let text = log.render(Timestamp::parse("2026-03-07T14:00:00Z").unwrap());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 240);
    // from -1h, every 15s: line 160 is 159 × 15s after 13:00.
    assert_eq!(
        lines[159],
        r#"{"time":"2026-03-07T13:39:45Z","event":"RunInstances","user":"deploy-script-key","ip":"198.51.100.23","region":"ap-southeast-3","count":70,"type":"c6i.32xlarge"}"#
    );
    assert!(lines[0].starts_with(r#"{"time":"2026-03-07T13:00:00Z""#));
}
