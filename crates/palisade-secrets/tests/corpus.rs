//! Issue 18's target: recall on secrets written in code, on a labelled corpus of one-line
//! shapes across languages and formats (`tests/corpus/`, synthetic values). Each labelled line
//! ends with a marker, removed before scanning:
//!
//! - `#!pos`: a secret a developer would act on; must be shown by default.
//! - `#!neg`: not a secret (a reference, comparison, parameter, type, empty value, ...); must
//!   not be shown by default.
//! - `#!flag`: an example, placeholder, localhost or value-equals-key credential; must not be
//!   shown by default (it counts as a negative); how many `--all` shows is printed.
//!
//! Files are scanned as if they lived under `src/` (the corpus path itself is a test path,
//! which would hide everything). Unlabelled lines are context (a YAML parent key, ...).

use palisade_secrets::{Finding, RuleSet, Scanner};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Label {
    Pos,
    Neg,
    Flag,
}

fn strip_label(line: &str) -> (&str, Option<Label>) {
    for (marker, label) in [
        ("  #!pos", Label::Pos),
        ("  #!neg", Label::Neg),
        ("  #!flag", Label::Flag),
    ] {
        if let Some(text) = line.strip_suffix(marker) {
            return (text, Some(label));
        }
    }
    (line, None)
}

#[test]
fn labelled_corpus_recall_and_false_positive_rate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    let scanner = Scanner::new(RuleSet::builtin());
    let (mut pos, mut pos_found, mut neg, mut neg_shown) = (0usize, 0usize, 0usize, 0usize);
    let (mut flag, mut flag_found_all) = (0usize, 0usize);
    let mut problems = Vec::new();
    let mut dropped = Vec::new();
    for name in &names {
        let raw = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut text = String::new();
        let mut labels = Vec::new();
        for line in raw.lines() {
            let (t, label) = strip_label(line);
            text.push_str(t);
            text.push('\n');
            labels.push(label);
        }
        let findings: Vec<Finding> = scanner.scan(&format!("src/{name}"), text.as_bytes());
        let shown: BTreeSet<usize> = findings
            .iter()
            .filter(|f| f.shown_by_default())
            .map(|f| f.line)
            .collect();
        let any: BTreeSet<usize> = findings.iter().map(|f| f.line).collect();
        for (i, label) in labels.iter().enumerate() {
            let n = i + 1;
            let line = text.lines().nth(i).unwrap_or("");
            match label {
                Some(Label::Pos) => {
                    pos += 1;
                    if shown.contains(&n) {
                        pos_found += 1;
                    } else {
                        problems.push(format!("missed   {name}:{n}: {line}"));
                    }
                }
                Some(Label::Neg) | Some(Label::Flag) => {
                    neg += 1;
                    if shown.contains(&n) {
                        neg_shown += 1;
                        let f: Vec<_> = findings.iter().filter(|f| f.line == n).collect();
                        problems.push(format!(
                            "reported {name}:{n}: {line}  <- {:?}",
                            f.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
                        ));
                    }
                    if *label == Some(Label::Flag) {
                        flag += 1;
                        if any.contains(&n) {
                            flag_found_all += 1;
                        } else {
                            // Dropped outright (entropy, length, a stopword): also fine.
                            dropped.push(format!("{name}:{n}: {line}"));
                        }
                    }
                }
                None => {}
            }
        }
    }
    let recall = pos_found as f64 / pos.max(1) as f64;
    let fp_rate = neg_shown as f64 / neg.max(1) as f64;
    println!(
        "labelled corpus: {} files, {} labelled lines; positives {pos}, found by default {pos_found} (recall {:.1}%); negatives {neg} (of which flagged {flag}), shown by default {neg_shown} ({:.2}%); flagged lines found with --all {flag_found_all}/{flag}",
        names.len(),
        pos + neg,
        100.0 * recall,
        100.0 * fp_rate
    );
    for p in &problems {
        println!("  {p}");
    }
    for d in &dropped {
        println!("  flagged line not found even with --all: {d}");
    }
    assert!(names.len() >= 15, "only {} formats", names.len());
    assert!(pos + neg >= 300, "only {} labelled lines", pos + neg);
    assert!(
        recall >= 0.9,
        "recall {recall:.3}:\n{}",
        problems.join("\n")
    );
    assert!(
        fp_rate <= 0.01,
        "{neg_shown} of {neg} negatives shown:\n{}",
        problems.join("\n")
    );
}
