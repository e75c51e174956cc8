//! Renderers: a table for people, JSON, and SARIF 2.1.0. Secrets are redacted unless the
//! caller asks for them.

use crate::rules::{RuleSet, Severity};
use crate::scanner::{Finding, Outcome};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Redact a secret: keep a short prefix (at most 4 bytes, at most a quarter of it) so people can
/// recognise which credential it is, never enough to use it.
pub fn redact(secret: &str) -> String {
    let keep = (secret.chars().count() / 4).min(4);
    let prefix: String = secret.chars().take(keep).collect();
    format!("{prefix}*****")
}

fn shown(f: &Finding, show_secrets: bool) -> String {
    if show_secrets {
        f.secret.clone()
    } else {
        redact(&f.secret)
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

/// Human table. `color` adds ANSI colours to the severity column.
pub fn table(outcome: &Outcome, show_secrets: bool, color: bool) -> String {
    let mut s = String::new();
    for f in &outcome.findings {
        let sev = f.severity.as_str().to_uppercase();
        let sev = if color {
            let code = match f.severity {
                Severity::Critical => "1;31",
                Severity::High => "31",
                Severity::Medium => "33",
                Severity::Low => "36",
            };
            format!("\x1b[{code}m{sev:<8}\x1b[0m")
        } else {
            format!("{sev:<8}")
        };
        let _ = write!(
            s,
            "{sev} {:<28} {}:{}:{}  {}",
            f.rule_id,
            f.path,
            f.line,
            f.column,
            one_line(&shown(f, show_secrets), 80)
        );
        if let Some(c) = &f.commit {
            let _ = write!(
                s,
                "  commit {} {} <{}> {}",
                &c.commit[..c.commit.len().min(12)],
                c.author,
                c.email,
                c.date
            );
        }
        s.push('\n');
    }
    s
}

/// JSON report: `{"findings": [...], "issues": [...], "stats": {...}}`.
pub fn json(outcome: &Outcome, show_secrets: bool) -> Value {
    let findings: Vec<Value> = outcome
        .findings
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            v["secret"] = Value::String(shown(f, show_secrets));
            v
        })
        .collect();
    json!({
        "findings": findings,
        "issues": outcome.issues,
        "stats": {
            "files_scanned": outcome.files_scanned,
            "bytes_scanned": outcome.bytes_scanned,
            "skipped_binary": outcome.skipped_binary,
            "skipped_too_large": outcome.skipped_too_large,
        }
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// Percent-encode a relative path for a SARIF `uri` (RFC 3986 unreserved characters and `/` kept).
pub fn uri_encode(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            s.push(b as char);
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

/// SARIF 2.1.0 log with one run. Every result carries `partialFingerprints`.
pub fn sarif(outcome: &Outcome, rules: &RuleSet, tool_version: &str, show_secrets: bool) -> Value {
    let rule_objs: Vec<Value> = rules
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": { "text": r.description },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "severity": r.severity.as_str(), "tags": ["security", "secret"] },
            })
        })
        .collect();
    let results: Vec<Value> = outcome
        .findings
        .iter()
        .map(|f| {
            let idx = rules.rules.iter().position(|r| r.id == f.rule_id);
            let mut v = json!({
                "ruleId": f.rule_id,
                "level": level(f.severity),
                "message": { "text": format!("{}: {}", f.description, one_line(&shown(f, show_secrets), 200)) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri_encode(&f.path) },
                        "region": { "startLine": f.line, "startColumn": f.column, "endLine": f.end_line }
                    }
                }],
                "partialFingerprints": { "palisadeSecret/v1": f.fingerprint },
            });
            if let Some(i) = idx {
                v["ruleIndex"] = json!(i);
            }
            if let Some(c) = &f.commit {
                v["properties"] = json!({ "commit": c.commit, "author": c.author, "email": c.email, "date": c.date });
            }
            v
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "palisade",
                "semanticVersion": tool_version,
                "rules": rule_objs,
            }},
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_never_shows_more_than_a_quarter() {
        assert_eq!(
            redact(concat!("gh", "p_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5")),
            "ghp_*****"
        );
        assert_eq!(redact("hunter2pass"), "hu*****");
        assert_eq!(redact("abc"), "*****");
    }

    #[test]
    fn uri_encoding_keeps_slashes_and_escapes_spaces() {
        assert_eq!(uri_encode("a dir/é.txt"), "a%20dir/%C3%A9.txt");
    }
}
