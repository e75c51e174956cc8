//! Inline suppressions, each with a reason:
//!
//! - a comment on the line before the offending line, or before the start of its object (a
//!   container's list item, a compose service, a Kubernetes document, a Dockerfile instruction):
//!   `# palisade:ignore PAL-DF-003 reason: the base image is rebuilt nightly` (several ids may be
//!   given, separated by commas or blanks; other comment lines may stand between it and its line);
//! - on a Kubernetes object (its `metadata.annotations`, or the pod template's), the annotation
//!   `palisade.dev/ignore: "PAL-K8S-005: why; PAL-K8S-010: why"` (entries separated by `;` or
//!   line breaks, each `ID[,ID…]: reason`); on a compose service, the label of the same name.
//!
//! A suppression without a reason is not applied and is itself a finding (`PAL-CFG-001`); one
//! that names an unknown rule is `PAL-CFG-002`. Pure.

use std::collections::HashMap;

use crate::finding::{Finding, Hit, Suppression, SuppressionKind};
use crate::rules;

/// The annotation (Kubernetes) and label (compose) that carry suppressions.
pub const ANNOTATION: &str = "palisade.dev/ignore";
/// A suppression without a reason.
pub const NO_REASON: &str = "PAL-CFG-001";
/// A suppression naming an unknown rule.
pub const UNKNOWN_RULE: &str = "PAL-CFG-002";

/// One suppression as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub rules: Vec<String>,
    pub reason: Option<String>,
    pub line: usize,
    pub column: usize,
    pub kind: SuppressionKind,
}

/// Parse the text of a comment (after `#`). `None` when it is not a `palisade:ignore` comment.
pub fn parse_comment(text: &str, line: usize, column: usize) -> Option<Directive> {
    let rest = text.trim().strip_prefix("palisade:ignore")?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let (ids, reason) = match rest.find("reason:") {
        Some(p) => (&rest[..p], Some(rest[p + "reason:".len()..].trim())),
        None => (rest, None),
    };
    let rules: Vec<String> = ids
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    Some(Directive {
        rules,
        reason: reason.filter(|r| !r.is_empty()).map(String::from),
        line,
        column,
        kind: SuppressionKind::Comment,
    })
}

/// Parse the value of a `palisade.dev/ignore` annotation or label written at `line`.
pub fn parse_annotation(
    value: &str,
    line: usize,
    column: usize,
    kind: SuppressionKind,
) -> Vec<Directive> {
    value
        .split([';', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (ids, reason) = entry.split_once(':').unwrap_or((entry, ""));
            Directive {
                rules: ids
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|w| !w.is_empty())
                    .map(String::from)
                    .collect(),
                reason: Some(reason.trim())
                    .filter(|r| !r.is_empty())
                    .map(String::from),
                line,
                column,
                kind,
            }
        })
        .collect()
}

/// The suppressions of one file.
#[derive(Debug, Default)]
pub struct Suppressions {
    directives: Vec<Directive>,
    /// Line a comment covers → its directives.
    by_line: HashMap<usize, Vec<usize>>,
    /// Annotation/label scopes → their directives.
    scopes: Vec<Vec<usize>>,
}

impl Suppressions {
    /// The comment suppressions of a file: each `palisade:ignore` comment covers the next line
    /// that is neither blank nor a comment. `comments` are (line, text after `#`, column of
    /// `#`); `lines` is the file.
    pub fn from_comments(comments: &[(usize, String, usize)], lines: &[&str]) -> Suppressions {
        let mut s = Suppressions::default();
        for (line, text, column) in comments {
            let Some(d) = parse_comment(text, *line, *column) else {
                continue;
            };
            let mut target = *line; // 1-based line of the comment; lines[target] is the next one
            while let Some(l) = lines.get(target) {
                let t = l.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    target += 1;
                } else {
                    break;
                }
            }
            let idx = s.directives.len();
            s.directives.push(d);
            s.by_line.entry(target + 1).or_default().push(idx);
        }
        s
    }

    /// Add a scope (an object's annotation or a service's labels); its index for [`Hit::scopes`].
    pub fn add_scope(&mut self, directives: Vec<Directive>) -> usize {
        let mut idx = Vec::new();
        for d in directives {
            idx.push(self.directives.len());
            self.directives.push(d);
        }
        self.scopes.push(idx);
        self.scopes.len() - 1
    }

    /// The directive with a reason that covers `hit`, if any.
    fn covering(&self, hit: &Hit) -> Option<&Directive> {
        let by_comment = std::iter::once(hit.line)
            .chain(hit.anchors.iter().copied())
            .filter_map(|l| self.by_line.get(&l))
            .flatten();
        let by_scope = hit
            .scopes
            .iter()
            .filter_map(|&s| self.scopes.get(s))
            .flatten();
        by_comment
            .chain(by_scope)
            .map(|&i| &self.directives[i])
            .find(|d| d.reason.is_some() && d.rules.iter().any(|r| r == hit.rule))
    }

    /// The findings about the suppressions themselves: no reason, unknown rule ids.
    pub fn problems(&self) -> Vec<Hit> {
        let mut out = Vec::new();
        for d in &self.directives {
            let what = match d.kind {
                SuppressionKind::Comment => "# palisade:ignore comment",
                SuppressionKind::Annotation => "palisade.dev/ignore annotation",
                SuppressionKind::Label => "palisade.dev/ignore label",
            };
            if d.reason.is_none() {
                let mut h = Hit::new(
                    NO_REASON,
                    d.line,
                    d.column,
                    format!(
                        "{what} for {} has no reason, so it is not applied (write `{}`)",
                        if d.rules.is_empty() {
                            "no rule".to_string()
                        } else {
                            d.rules.join(", ")
                        },
                        match d.kind {
                            SuppressionKind::Comment => "reason: …",
                            _ => "RULE-ID: reason",
                        }
                    ),
                );
                h.object = what.to_string();
                out.push(h);
            }
            for r in &d.rules {
                if rules::get(r).is_none() {
                    let mut h = Hit::new(
                        UNKNOWN_RULE,
                        d.line,
                        d.column,
                        format!("{what} names {r:?}, which is not a rule"),
                    );
                    h.object = what.to_string();
                    out.push(h);
                }
            }
        }
        out
    }

    /// Mark the findings these suppressions cover. `findings[i]` is `hits[i]`'s.
    pub fn apply(&self, hits: &[Hit], findings: &mut [Finding]) {
        for (hit, f) in hits.iter().zip(findings.iter_mut()) {
            if let Some(d) = self.covering(hit) {
                f.suppressed = true;
                f.suppression = Some(Suppression {
                    kind: d.kind,
                    reason: d.reason.clone().unwrap_or_default(),
                    line: d.line,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_need_the_keyword_and_may_name_several_rules() {
        let d = parse_comment(
            " palisade:ignore PAL-DF-001, PAL-DF-002 reason: root on purpose",
            3,
            1,
        );
        assert_eq!(
            d.map(|d| (d.rules, d.reason)),
            Some((
                vec!["PAL-DF-001".to_string(), "PAL-DF-002".to_string()],
                Some("root on purpose".to_string())
            ))
        );
        assert_eq!(
            parse_comment("palisade:ignore PAL-DF-001", 1, 1).map(|d| d.reason),
            Some(None)
        );
        assert_eq!(parse_comment("palisade:ignored", 1, 1), None);
        assert_eq!(parse_comment("just a comment", 1, 1), None);
    }

    #[test]
    fn annotations_hold_several_entries() {
        let d = parse_annotation(
            "PAL-K8S-005: host network for the CNI; PAL-K8S-006,PAL-K8S-007:\n PAL-K8S-001: x",
            7,
            5,
            SuppressionKind::Annotation,
        );
        let got: Vec<(Vec<String>, Option<String>)> =
            d.into_iter().map(|d| (d.rules, d.reason)).collect();
        assert_eq!(
            got,
            [
                (
                    vec!["PAL-K8S-005".to_string()],
                    Some("host network for the CNI".to_string())
                ),
                (vec!["PAL-K8S-006".into(), "PAL-K8S-007".into()], None),
                (vec!["PAL-K8S-001".into()], Some("x".into())),
            ]
        );
    }

    #[test]
    fn a_comment_covers_the_next_line_that_is_not_blank_or_a_comment() {
        let text = "a\n# palisade:ignore PAL-DF-001 reason: r\n\n# other\nb\n";
        let lines: Vec<&str> = text.lines().collect();
        let s = Suppressions::from_comments(
            &[
                (2, " palisade:ignore PAL-DF-001 reason: r".into(), 1),
                (4, " other".into(), 1),
            ],
            &lines,
        );
        assert_eq!(s.by_line.get(&5), Some(&vec![0]));
        let hit = Hit::new("PAL-DF-001", 5, 1, "m");
        assert!(s.covering(&hit).is_some());
        let other = Hit::new("PAL-DF-002", 5, 1, "m");
        assert!(s.covering(&other).is_none());
    }
}
