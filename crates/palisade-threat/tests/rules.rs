//! The built-in rules are the specification: each one is raised by its `raises` example and not by
//! its `silent` one, the set covers all six STRIDE categories with at least eight rules each
//! (Repudiation included), and a broken rules file is reported with its file and line.

use std::path::Path;

use palisade_threat::model;
use palisade_threat::rules::{self, RuleSet, Stride};

const TODAY: (i32, u8, u8) = (2026, 12, 7);

fn only(rule: &rules::Rule) -> RuleSet {
    RuleSet {
        rules: vec![rule.clone()],
    }
}

#[test]
fn every_builtin_rule_is_raised_by_its_example_and_not_by_its_counter_example() {
    let set = RuleSet::builtin();
    let mut failures = Vec::new();
    for rule in &set.rules {
        let Some(ex) = &rule.examples else {
            failures.push(format!("{}: no [rule.examples]", rule.id));
            continue;
        };
        for (which, text, want) in [("raises", &ex.raises, true), ("silent", &ex.silent, false)] {
            let m = match model::from_str(Path::new(which), text) {
                Ok(m) => m,
                Err(e) => {
                    failures.push(format!(
                        "{} {which}: the example model is invalid: {}",
                        rule.id, e[0]
                    ));
                    continue;
                }
            };
            let a = palisade_threat::analyse(&m, &only(rule), TODAY);
            let raised = !a.threats.is_empty();
            if raised != want {
                failures.push(format!(
                    "{} {which}: {} ({:?})",
                    rule.id,
                    if want {
                        "raised nothing"
                    } else {
                        "raised a threat"
                    },
                    a.threats
                        .iter()
                        .map(|t| (&t.id, &t.matched))
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_builtin_set_covers_every_stride_category_with_at_least_eight_rules() {
    let set = RuleSet::builtin();
    assert!(
        set.rules.len() >= 80,
        "{} built-in rules; at least 80 wanted",
        set.rules.len()
    );
    for s in Stride::ALL {
        let n = set.rules.iter().filter(|r| r.stride == s).count();
        assert!(n >= 8, "{}: {n} rules; at least 8 wanted", s.title());
    }
    let mut ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), set.rules.len(), "rule ids are unique");
}

#[test]
fn a_condition_with_a_misspelt_attribute_is_reported_with_file_line_and_column() {
    let text = "\n[[rule]]\nid = \"X1\"\ntitle = \"t\"\nstride = \"spoofing\"\ntarget = \"process\"\nwhen = 'element.internet_facing and not element.autentication'\nlikelihood = \"low\"\nimpact = \"low\"\nrationale = \"r\"\n";
    let errors = rules::parse_toml(Path::new("mine.toml"), text).unwrap_err();
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!((e.file.as_path(), e.line), (Path::new("mine.toml"), 7));
    assert_eq!(e.column, 41, "{e}");
    assert!(e.message.contains("did you mean `authentication`"), "{e}");
}

#[test]
fn a_syntax_error_in_a_rules_file_names_its_line() {
    let text = "[[rule]]\nid = \"X1\"\ntitle = \"t\"\nstride = \"spoofing\"\ntarget = \"process\"\nwhen = 'element.internet_facing and and'\nlikelihood = \"low\"\nimpact = \"low\"\nrationale = \"r\"\n";
    let e = &rules::parse_toml(Path::new("r.toml"), text).unwrap_err()[0];
    assert_eq!(e.line, 6);
    assert!(e.message.contains("found `and`"), "{e}");
    let bad_toml = "[[rule]]\nid = \"X1\"\nstride = \"spoofing\nwhen = 1\n";
    let e = &rules::parse_toml(Path::new("r.toml"), bad_toml).unwrap_err()[0];
    assert_eq!(e.line, 3, "{e}");
    let unknown_category = "[[rule]]\nid = \"X1\"\ntitle = \"t\"\nstride = \"spoof\"\ntarget = \"process\"\nwhen = 'element.internet_facing'\nlikelihood = \"low\"\nimpact = \"low\"\nrationale = \"r\"\n";
    let e = &rules::parse_toml(Path::new("r.toml"), unknown_category).unwrap_err()[0];
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("spoofing"), "{e}");
}

#[test]
fn yaml_rules_files_load_and_name_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.yaml");
    std::fs::write(
        &p,
        "rules:\n  - id: ACME-R1\n    title: \"{name} keeps no audit trail\"\n    stride: repudiation\n    target: process\n    when: not element.audit_log\n    likelihood: medium\n    impact: medium\n    rationale: Nobody can tell who did what.\n",
    )
    .unwrap();
    let rules = rules::load_file(&p).unwrap();
    assert_eq!(rules[0].id, "ACME-R1");
    assert_eq!(rules[0].stride, Stride::Repudiation);
    std::fs::write(
        &p,
        "rules:\n  - id: ACME-R1\n    title: t\n    stride: repudiation\n    target: process\n    when: not element.audit_logs\n    likelihood: medium\n    impact: medium\n    rationale: r\n",
    )
    .unwrap();
    let e = &rules::load_file(&p).unwrap_err()[0];
    assert_eq!(e.line, 6, "{e}");
    assert!(e.message.contains("audit_log"), "{e}");
}
