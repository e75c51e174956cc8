//! What a check reports ([`Hit`]), what the scan reports ([`Finding`], [`Issue`], [`Outcome`]).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rules::{self, Severity};

/// A rule's hit in one file, before suppressions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: &'static str,
    /// 1-based line and column of the offending key or instruction.
    pub line: usize,
    pub column: usize,
    /// What is wrong, without line numbers (it is part of the fingerprint).
    pub message: String,
    /// The object it is about: `stage build`, `Deployment/web container app`, `service db`.
    pub object: String,
    /// Other lines a `# palisade:ignore` comment may stand above to cover this hit: where its
    /// object starts (the container's list item, the document, the compose service).
    pub anchors: Vec<usize>,
    /// The annotation or label suppression scopes (indexes into the file's
    /// [`crate::suppress::Suppressions`]) that cover this hit.
    pub scopes: Vec<usize>,
}

impl Hit {
    pub fn new(rule: &'static str, line: usize, column: usize, message: impl Into<String>) -> Hit {
        Hit {
            rule,
            line,
            column,
            message: message.into(),
            object: String::new(),
            anchors: Vec::new(),
            scopes: Vec::new(),
        }
    }
}

/// How a finding was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressionKind {
    /// `# palisade:ignore RULE reason: …` on the line before.
    Comment,
    /// The Kubernetes annotation `palisade.dev/ignore`.
    Annotation,
    /// The compose service label `palisade.dev/ignore`.
    Label,
}

/// A suppression that applied to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    pub reason: String,
    /// Where the suppression is written (1-based).
    pub line: usize,
}

/// A finding: a rule's hit in a file, with its rule's severity and title, and its suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub object: String,
    /// The Helm template a rendered document came from (its `# Source:` comment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `sha256(rule ‖ 0 ‖ path ‖ 0 ‖ object ‖ 0 ‖ message)`: no line numbers, so it survives
    /// edits elsewhere in the file.
    pub fingerprint: String,
    pub suppressed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
}

impl Finding {
    /// A finding of `hit` in `path`. Panics only if the hit names a rule the built-in set does not
    /// have, which `tests/rules_examples.rs` rules out for every id the checks use.
    pub fn from_hit(hit: &Hit, path: &str, source: Option<String>) -> Finding {
        let rule = rules::get(hit.rule);
        let mut h = Sha256::new();
        for part in [hit.rule, path, &hit.object, &hit.message] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        Finding {
            rule_id: hit.rule.to_string(),
            severity: rule.map_or(Severity::Medium, |r| r.severity),
            title: rule.map_or_else(|| hit.rule.to_string(), |r| r.title.clone()),
            path: path.to_string(),
            line: hit.line,
            column: hit.column,
            message: hit.message.clone(),
            object: hit.object.clone(),
            source,
            fingerprint: hex::encode(h.finalize()),
            suppressed: false,
            suppression: None,
        }
    }
}

/// A problem with an input, not a finding: unreadable, not UTF-8, malformed, skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
    /// The input could not be checked (exit 2).
    pub is_error: bool,
    /// Skipped on purpose (over the size cap, binary): exit 2 unless the caller accepts skips.
    pub skipped: bool,
}

impl Issue {
    pub fn error(path: &str, message: impl Into<String>) -> Issue {
        Issue {
            path: path.to_string(),
            line: None,
            column: None,
            message: message.into(),
            is_error: true,
            skipped: false,
        }
    }

    pub fn at(mut self, line: usize, column: usize) -> Issue {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    pub fn skipped(path: &str, message: impl Into<String>) -> Issue {
        Issue {
            path: path.to_string(),
            line: None,
            column: None,
            message: message.into(),
            is_error: false,
            skipped: true,
        }
    }

    pub fn warning(path: &str, message: impl Into<String>) -> Issue {
        Issue {
            path: path.to_string(),
            line: None,
            column: None,
            message: message.into(),
            is_error: false,
            skipped: false,
        }
    }

    /// `path[:line[:column]]: message`
    pub fn display(&self) -> String {
        let mut s = self.path.clone();
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
            if let Some(c) = self.column {
                s.push_str(&format!(":{c}"));
            }
        }
        format!("{s}: {}", self.message)
    }
}

/// Counts of what was checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub files_checked: u64,
    pub dockerfiles: u64,
    pub kubernetes_objects: u64,
    pub compose_files: u64,
    pub skipped_binary: u64,
    pub skipped_too_large: u64,
}

/// The result of a scan: findings (suppressed ones included, marked), issues, counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub issues: Vec<Issue>,
    pub stats: Stats,
}

impl Outcome {
    /// Sort findings by path, line, column, rule and issues by path and line: the output does not
    /// depend on the order threads finished in.
    pub fn finish(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
        });
        self.issues
            .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    }

    pub fn merge(&mut self, other: Outcome) {
        self.findings.extend(other.findings);
        self.issues.extend(other.issues);
        let (a, b) = (&mut self.stats, other.stats);
        a.files_checked += b.files_checked;
        a.dockerfiles += b.dockerfiles;
        a.kubernetes_objects += b.kubernetes_objects;
        a.compose_files += b.compose_files;
        a.skipped_binary += b.skipped_binary;
        a.skipped_too_large += b.skipped_too_large;
    }

    /// Some input could not be checked.
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.is_error)
    }

    /// Some input was skipped on purpose.
    pub fn has_skips(&self) -> bool {
        self.issues.iter().any(|i| i.skipped)
    }

    /// Keep only findings at or above `min` (suppressed ones included).
    pub fn retain_min_severity(&mut self, min: Severity) {
        self.findings.retain(|f| f.severity >= min);
    }

    /// Findings not suppressed at or above `threshold`.
    pub fn failing(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| !f.suppressed && f.severity >= threshold)
            .count()
    }
}
