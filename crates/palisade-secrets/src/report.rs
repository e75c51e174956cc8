//! Renderers: a table for people, JSON, and SARIF 2.1.0. Secrets are redacted unless the
//! caller asks for them.

use crate::rules::{Confidence, Rule, RuleSet, Severity};
use crate::scanner::{Finding, Outcome};
use palisade_sarif::{
    Configuration, Driver, Invocation, Level, Location, Log, Message, Notification, Region, Run,
    SarifResult,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
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
            "{sev} {:<6} {:<28} {}:{}:{}  {}",
            f.confidence.as_str(),
            f.rule_id,
            f.path,
            f.line,
            f.column,
            one_line(&shown(f, show_secrets), 80)
        );
        if !f.flags.is_empty() {
            let flags: Vec<&str> = f.flags.iter().map(|x| x.as_str()).collect();
            let _ = write!(s, "  [{}]", flags.join(", "));
        }
        if let Some(v) = &f.verification {
            let _ = write!(s, "  {}: {}", v.status.as_str().to_uppercase(), v.reason);
        }
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

fn level(s: Severity) -> Level {
    match s {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low => Level::Note,
    }
}

/// A result's level: its severity's, capped by its confidence (medium: at most a warning, low:
/// a note), so that code-scanning UIs sort real credentials above look-alikes.
fn result_level(f: &Finding) -> Level {
    match f.confidence {
        Confidence::High => level(f.severity),
        Confidence::Medium if f.severity >= Severity::Medium => Level::Warning,
        Confidence::Medium | Confidence::Low => Level::Note,
    }
}

/// SARIF `rank` (0–100, §3.27.24) of a confidence.
pub fn rank(c: Confidence) -> f64 {
    match c {
        Confidence::High => 90.0,
        Confidence::Medium => 60.0,
        Confidence::Low => 20.0,
    }
}

/// A rule with its description, what to do about a finding, and its severity.
fn sarif_rule(r: &Rule) -> palisade_sarif::Rule {
    let mut rule = palisade_sarif::Rule::new(&r.id, &r.description);
    rule.name = Some(r.id.clone());
    rule.help = Some(Message::text(format!(
        "{}.\nA secret in a repository must be taken as leaked: revoke or rotate it where it \
         was issued, then remove it from the code (and from the history if it was pushed). If \
         it is not a secret, allowlist it in the rules configuration or mark the line with \
         `palisade:allow`; a baseline (`--baseline`) silences findings already known.",
        r.description.trim_end_matches('.')
    )));
    rule.default_configuration = Some(Configuration {
        level: level(r.severity),
    });
    rule.properties
        .insert("severity".into(), json!(r.severity.as_str()));
    rule.properties
        .insert("tags".into(), json!(["security", "secret"]));
    rule
}

/// SARIF 2.1.0 log with one run: every rule of the set, one result per finding (each with
/// `partialFingerprints`), and the scan's issues as notifications of the invocation (errors for
/// input that could not be read, warnings for skipped files).
pub fn sarif(outcome: &Outcome, rules: &RuleSet, tool_version: &str, show_secrets: bool) -> Value {
    let mut run = Run::new(Driver::palisade(tool_version));
    run.automation_details = Some(palisade_sarif::AutomationDetails::category(
        "palisade/secrets",
    ));
    for r in &rules.rules {
        run.add_rule(sarif_rule(r));
    }
    for f in &outcome.findings {
        let mut properties = Map::new();
        properties.insert("confidence".into(), json!(f.confidence.as_str()));
        properties.insert("flags".into(), json!(f.flags));
        properties.insert("shownByDefault".into(), json!(f.shown_by_default()));
        if let Some(v) = &f.verification {
            properties.insert("verification".into(), json!(v));
        }
        if let Some(c) = &f.commit {
            properties.insert("commit".into(), json!(c.commit));
            properties.insert("author".into(), json!(c.author));
            properties.insert("email".into(), json!(c.email));
            properties.insert("date".into(), json!(c.date));
        }
        let result = SarifResult {
            rule_id: f.rule_id.clone(),
            rule_index: run.rule_index(&f.rule_id),
            level: result_level(f),
            message: Message::text(format!(
                "{}: {}",
                f.description,
                one_line(&shown(f, show_secrets), 200)
            )),
            locations: vec![Location::file(
                &f.path,
                Some(Region {
                    start_line: f.line,
                    start_column: Some(f.column),
                    end_line: Some(f.end_line),
                }),
            )],
            partial_fingerprints: BTreeMap::from([(
                "palisadeSecret/v1".to_string(),
                f.fingerprint.clone(),
            )]),
            suppressions: Vec::new(),
            properties,
        };
        run.results.push(result);
    }
    run.invocations.push(Invocation::new(
        outcome
            .issues
            .iter()
            .map(|i| {
                let level = if i.is_error {
                    Level::Error
                } else {
                    Level::Warning
                };
                Notification::new(level, format!("{}: {}", i.path, i.message))
            })
            .collect(),
    ));
    let mut log = Log::new(run).to_value();
    // `rank` is not a field of palisade-sarif's result type; it is added to the value, in the
    // same order as the findings.
    if let Some(results) = log
        .pointer_mut("/runs/0/results")
        .and_then(Value::as_array_mut)
    {
        for (r, f) in results.iter_mut().zip(&outcome.findings) {
            r["rank"] = json!(rank(f.confidence));
        }
    }
    log
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
}
