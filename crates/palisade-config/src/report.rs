//! Renderers: a table for people (suppressed findings left out unless asked for), JSON and
//! SARIF 2.1.0 through `palisade-sarif` (suppressed findings are results with an `inSource`
//! suppression carrying the reason). Pure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use palisade_sarif::{
    AutomationDetails, Configuration, Driver, Invocation, Level, Location, Log, Message,
    Notification, Region, Run, SarifResult, Suppression, SuppressionKind,
};
use serde_json::{Map, Value, json};

use crate::finding::Outcome;
use crate::rules::{self, Severity};

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

/// Human table: one line per finding, severity first. `color` adds ANSI colours;
/// `show_suppressed` lists suppressed findings too, with their reasons.
pub fn table(outcome: &Outcome, color: bool, show_suppressed: bool) -> String {
    let mut s = String::new();
    for f in &outcome.findings {
        if f.suppressed && !show_suppressed {
            continue;
        }
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
            "{sev} {:<12} {}:{}:{}  {}",
            f.rule_id,
            f.path,
            f.line,
            f.column,
            one_line(&f.message, 160)
        );
        if !f.object.is_empty() {
            let _ = write!(s, "  [{}]", f.object);
        }
        if let Some(src) = &f.source {
            let _ = write!(s, "  (from {src})");
        }
        if let Some(sup) = &f.suppression {
            let _ = write!(s, "  SUPPRESSED: {}", one_line(&sup.reason, 120));
        }
        s.push('\n');
    }
    s
}

/// The analysis this scanner's reports are (SARIF `automationDetails`, JSON `tool`).
pub const ANALYSIS: &str = "palisade/config";

/// JSON: `{"tool": "palisade/config", "findings": [...], "issues": [...], "stats": {...}}`;
/// suppressed findings included, with `"suppressed": true` and their `suppression` (kind,
/// reason, line).
pub fn json(outcome: &Outcome) -> Value {
    json!({
        "tool": ANALYSIS,
        "findings": outcome.findings,
        "issues": outcome.issues,
        "stats": outcome.stats,
    })
}

fn level(s: Severity) -> Level {
    match s {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low => Level::Note,
    }
}

/// A SARIF rule from a built-in rule: title, rationale, fix, severity.
fn sarif_rule(r: &rules::Rule) -> palisade_sarif::Rule {
    let mut rule = palisade_sarif::Rule::new(&r.id, &r.title);
    rule.name = Some(r.id.clone());
    rule.full_description = Some(Message::text(r.rationale.trim()));
    rule.help = Some(Message::text(format!(
        "{}\n\nFix: {}\n\nSuppress (with a reason) by a comment `# palisade:ignore {} reason: …` on the line before{}.",
        r.rationale.trim(),
        r.fix.trim(),
        r.id,
        match r.kind {
            rules::FileKind::Kubernetes =>
                ", or the annotation `palisade.dev/ignore: \"ID: reason\"`",
            rules::FileKind::Compose =>
                ", or the service label `palisade.dev/ignore: \"ID: reason\"`",
            _ => "",
        }
    )));
    rule.default_configuration = Some(Configuration {
        level: level(r.severity),
    });
    rule.properties
        .insert("severity".into(), json!(r.severity.as_str()));
    rule.properties.insert(
        "security-severity".into(),
        json!(r.severity.security_severity()),
    );
    rule.properties.insert(
        "tags".into(),
        json!(["security", "configuration", r.kind.as_str()]),
    );
    rule
}

/// SARIF 2.1.0: every built-in rule, one result per finding (suppressed ones with an `inSource`
/// suppression and its reason), the issues as notifications of the invocation.
pub fn sarif(outcome: &Outcome, tool_version: &str) -> Log {
    let mut run = Run::new(Driver::palisade(tool_version));
    // The analysis, as the other scanners name theirs: uploads of config scans are compared
    // with each other (a clean run fixes what the last one found), not with secrets or deps.
    run.automation_details = Some(AutomationDetails::category(ANALYSIS));
    for r in rules::builtin() {
        run.add_rule(sarif_rule(r));
    }
    for f in &outcome.findings {
        let mut properties = Map::new();
        properties.insert("severity".into(), json!(f.severity.as_str()));
        if !f.object.is_empty() {
            properties.insert("object".into(), json!(f.object));
        }
        if let Some(src) = &f.source {
            properties.insert("helmSource".into(), json!(src));
        }
        run.results.push(SarifResult {
            rule_id: f.rule_id.clone(),
            rule_index: run.rule_index(&f.rule_id),
            level: level(f.severity),
            message: Message::text(format!("{}: {}", f.title, f.message)),
            locations: vec![Location::file(
                &f.path,
                Some(Region {
                    start_line: f.line.max(1),
                    start_column: Some(f.column.max(1)),
                    end_line: None,
                }),
            )],
            partial_fingerprints: BTreeMap::from([(
                "palisadeConfig/v1".to_string(),
                f.fingerprint.clone(),
            )]),
            suppressions: f
                .suppression
                .iter()
                .map(|s| Suppression {
                    kind: SuppressionKind::InSource,
                    justification: Some(s.reason.clone()),
                })
                .collect(),
            properties,
        });
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
                Notification::new(level, i.display())
            })
            .collect(),
    ));
    Log::new(run)
}
