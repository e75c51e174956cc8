//! The rules file is the specification: every rule's positive examples raise it on the line
//! they name, its negative examples do not raise it, every id the checks use is a rule, and
//! docs/config-rules.md is generated from it.

use std::collections::HashSet;

use palisade_config::rules::{self, FileKind};
use palisade_config::{InputKind, check_text};

fn input_kind(k: FileKind) -> InputKind {
    match k {
        FileKind::Dockerfile => InputKind::Dockerfile,
        FileKind::Compose => InputKind::Compose,
        FileKind::Kubernetes | FileKind::Any => InputKind::Yaml,
    }
}

#[test]
fn every_rule_is_raised_by_its_positive_examples_and_not_by_its_negative_ones() {
    let mut failures = Vec::new();
    for r in rules::builtin() {
        assert!(
            !r.positive.is_empty() && !r.negative.is_empty(),
            "{}: needs a positive and a negative example",
            r.id
        );
        for (n, e) in r.positive.iter().enumerate() {
            let kind = e.file_kind(r);
            assert_ne!(
                kind,
                FileKind::Any,
                "{} positive {n}: give its `kind`",
                r.id
            );
            let o = check_text("example", &e.input, input_kind(kind));
            assert!(o.issues.is_empty(), "{} positive {n}: {:?}", r.id, o.issues);
            let lines: Vec<usize> = o
                .findings
                .iter()
                .filter(|f| f.rule_id == r.id && !f.suppressed)
                .map(|f| f.line)
                .collect();
            let want = e
                .line
                .unwrap_or_else(|| panic!("{} positive {n}: no `line`", r.id));
            if !lines.contains(&want) {
                failures.push(format!(
                    "{} positive {n}: wanted on line {want}, found on {lines:?}; all: {:#?}",
                    r.id,
                    o.findings
                        .iter()
                        .map(|f| format!("{}:{} {}", f.line, f.rule_id, f.message))
                        .collect::<Vec<_>>()
                ));
            }
        }
        for (n, e) in r.negative.iter().enumerate() {
            let kind = e.file_kind(r);
            assert_ne!(
                kind,
                FileKind::Any,
                "{} negative {n}: give its `kind`",
                r.id
            );
            let o = check_text("example", &e.input, input_kind(kind));
            assert!(o.issues.is_empty(), "{} negative {n}: {:?}", r.id, o.issues);
            let raised: Vec<String> = o
                .findings
                .iter()
                .filter(|f| f.rule_id == r.id && !f.suppressed)
                .map(|f| format!("{}:{} {}", f.line, f.column, f.message))
                .collect();
            if !raised.is_empty() {
                failures.push(format!("{} negative {n}: raised {raised:?}", r.id));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ids_are_unique_well_formed_and_match_their_kind() {
    let mut seen = HashSet::new();
    for r in rules::builtin() {
        assert!(seen.insert(r.id.clone()), "{} twice", r.id);
        let (prefix, kind) = match r.kind {
            FileKind::Dockerfile => ("PAL-DF-", "dockerfile"),
            FileKind::Kubernetes => ("PAL-K8S-", "kubernetes"),
            FileKind::Compose => ("PAL-DC-", "compose"),
            FileKind::Any => ("PAL-CFG-", "any"),
        };
        let num =
            r.id.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{}: a {kind} rule's id starts with {prefix}", r.id));
        assert!(
            num.len() == 3 && num.chars().all(|c| c.is_ascii_digit()),
            "{}: three digits",
            r.id
        );
        for text in [&r.title, &r.rationale, &r.fix] {
            assert!(!text.trim().is_empty(), "{}: empty text", r.id);
        }
    }
    assert!(rules::builtin().len() >= 35, "{}", rules::builtin().len());
}

/// Every `"PAL-…"` literal in the checks' sources names a rule of the file, and every rule of
/// the file is raised somewhere in the sources (no rule without a check).
#[test]
fn every_id_in_the_code_is_a_rule_and_every_rule_has_code() {
    let sources = [
        include_str!("../src/dockerfile/mod.rs"),
        include_str!("../src/k8s.rs"),
        include_str!("../src/compose.rs"),
        include_str!("../src/suppress.rs"),
    ];
    let mut used = HashSet::new();
    for src in sources {
        for (i, _) in src.match_indices("\"PAL-") {
            let id: String = src[i + 1..]
                .chars()
                .take_while(|&c| c.is_ascii_alphanumeric() || c == '-')
                .collect();
            // Only whole literals that are ids (`"PAL-DF-001"`), not prose that starts with one.
            if src[i + 1 + id.len()..].starts_with('"') {
                used.insert(id);
            }
        }
    }
    for id in &used {
        assert!(
            rules::get(id).is_some(),
            "{id} is used in the code but not in rules.toml"
        );
    }
    for r in rules::builtin() {
        assert!(used.contains(&r.id), "{} has no check in the code", r.id);
    }
}

#[test]
fn a_broken_rules_file_is_refused_with_its_line() {
    let e = rules::parse("[[rule]]\nid = \"X\"\nkind = \"dockerfile\"\nseverity = \"severe\"\n")
        .err()
        .unwrap_or_default();
    assert!(e.contains("line 4"), "{e}");
    let e = rules::parse("[[rule]]\nid = \"X\"\nunknown = 1\n")
        .err()
        .unwrap_or_default();
    assert!(e.contains("unknown field"), "{e}");
}

#[test]
fn docs_list_every_rule_and_are_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/config-rules.md");
    let want = rules::markdown();
    if std::env::var_os("PALISADE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date: run `PALISADE_UPDATE_DOCS=1 cargo test -p palisade-config --test rules_examples`",
        path.display()
    );
    for r in rules::builtin() {
        assert!(have.contains(&format!("## {}", r.id)), "{}", r.id);
    }
}
