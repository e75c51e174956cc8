//! Reports of an analysis: JSON for scripts, SARIF 2.1.0 for pull-request annotations (each
//! threat a result at the line of its element or flow in the model), Markdown for a pull request
//! or a wiki, and a standalone HTML page with the diagram. Pure: text in, text out.

use std::collections::BTreeMap;
use std::fmt::Write;

use palisade_sarif as sarif;
use serde_json::{Value, json};

use crate::engine::{Analysis, Threat, ThreatStatus};
use crate::model::{Level, Model};
use crate::rules::{RuleSet, Stride};

/// The SARIF category of threat-model analyses (`automationDetails.id`).
pub const SARIF_CATEGORY: &str = "palisade/threat";

/// Counts of threats: per STRIDE category and severity (open ones), and per status.
pub fn summary(a: &Analysis) -> Value {
    let mut by_stride = serde_json::Map::new();
    for s in Stride::ALL {
        let open = a
            .threats
            .iter()
            .filter(|t| t.stride == s && t.status.is_open())
            .count();
        let all = a.threats.iter().filter(|t| t.stride == s).count();
        by_stride.insert(s.as_str().into(), json!({"open": open, "total": all}));
    }
    let mut by_severity = serde_json::Map::new();
    for l in Level::ALL.iter().rev() {
        let n = a
            .threats
            .iter()
            .filter(|t| t.severity == *l && t.status.is_open())
            .count();
        by_severity.insert(l.as_str().into(), json!(n));
    }
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &a.threats {
        *by_status.entry(t.status.name()).or_default() += 1;
    }
    json!({
        "threats": a.threats.len(),
        "open": a.threats.iter().filter(|t| t.status.is_open()).count(),
        "by_stride": by_stride,
        "open_by_severity": by_severity,
        "by_status": by_status,
        "elements": a.elements,
        "flows": a.flows,
        "rules": a.rules,
    })
}

/// The analysis as JSON.
pub fn json(a: &Analysis) -> Value {
    json!({
        "model": a.model,
        "summary": summary(a),
        "threats": a.threats,
        "stale_statuses": a.stale,
    })
}

fn level(s: Level) -> sarif::Level {
    match s {
        Level::Critical | Level::High => sarif::Level::Error,
        Level::Medium => sarif::Level::Warning,
        Level::Low => sarif::Level::Note,
    }
}

/// GitHub's `security-severity` (0.0–10.0) for a level.
fn security_severity(s: Level) -> &'static str {
    match s {
        Level::Critical => "9.5",
        Level::High => "8.0",
        Level::Medium => "5.5",
        Level::Low => "2.0",
    }
}

/// The analysis as SARIF: one result per threat at its element's or flow's line; threats decided
/// in the model (mitigated, accepted, false positive) carry a suppression with the decision.
pub fn sarif(model: &Model, a: &Analysis, rules: &RuleSet, version: &str) -> sarif::Log {
    let mut run = sarif::Run::new(sarif::Driver::palisade(version));
    run.automation_details = Some(sarif::AutomationDetails::category(SARIF_CATEGORY));
    for t in &a.threats {
        let index = run.rule_index_or_add(&t.rule, || {
            let r = rules.get(&t.rule);
            let mut rule = sarif::Rule::new(
                t.rule.clone(),
                r.map_or_else(
                    || t.title.clone(),
                    |r| {
                        r.title
                            .replace("{name}", "an element")
                            .replace("{source}", "a source")
                            .replace("{target}", "a target")
                    },
                ),
            );
            rule.full_description = Some(sarif::Message::text(t.rationale.clone()));
            let mut help = String::new();
            for m in &t.mitigations {
                let _ = writeln!(help, "- {m}");
            }
            if !help.is_empty() {
                rule.help = Some(sarif::Message::text(help));
            }
            rule.default_configuration = Some(sarif::Configuration {
                level: level(t.severity),
            });
            let mut tags = vec![
                Value::String("security".into()),
                Value::String("threat-model".into()),
                Value::String(format!("stride/{}", t.stride.as_str())),
            ];
            tags.extend(
                t.cwe
                    .iter()
                    .map(|c| Value::String(format!("external/cwe/cwe-{c}"))),
            );
            rule.properties.insert("tags".into(), Value::Array(tags));
            rule.properties.insert(
                "security-severity".into(),
                Value::String(security_severity(t.severity).into()),
            );
            rule
        });
        let location = t.location.as_ref().map_or_else(
            || sarif::Location::file(&model.file.to_string_lossy(), None),
            |o| sarif::Location::file(&o.file.to_string_lossy(), Some(sarif::Region::line(o.line))),
        );
        let mut fingerprints = BTreeMap::new();
        fingerprints.insert("palisadeThreat/v1".to_string(), t.id.clone());
        let suppressions = match &t.status {
            ThreatStatus::Open { .. } => Vec::new(),
            ThreatStatus::Mitigated { mitigation } => vec![sarif::Suppression {
                kind: sarif::SuppressionKind::InSource,
                justification: Some(format!("mitigated: {mitigation}")),
            }],
            ThreatStatus::Accepted {
                owner,
                reason,
                expires,
            } => vec![sarif::Suppression {
                kind: sarif::SuppressionKind::InSource,
                justification: Some(format!("accepted by {owner} until {expires}: {reason}")),
            }],
            ThreatStatus::FalsePositive { reason } => vec![sarif::Suppression {
                kind: sarif::SuppressionKind::InSource,
                justification: Some(format!("false positive: {reason}")),
            }],
        };
        let mut properties = serde_json::Map::new();
        properties.insert("threatId".into(), Value::String(t.id.clone()));
        properties.insert("stride".into(), Value::String(t.stride.as_str().into()));
        properties.insert("severity".into(), Value::String(t.severity.as_str().into()));
        // Per result: one rule's threats differ in severity when their impact comes from the data.
        properties.insert(
            "security-severity".into(),
            Value::String(security_severity(t.severity).into()),
        );
        properties.insert("status".into(), Value::String(t.status.name().into()));
        properties.insert(
            "target".into(),
            json!({"kind": t.target.kind, "id": t.target.id}),
        );
        run.results.push(sarif::SarifResult {
            rule_id: t.rule.clone(),
            rule_index: Some(index),
            level: level(t.severity),
            message: sarif::Message::text(format!("{} [{}] — {}", t.title, t.id, because(t))),
            locations: vec![location],
            partial_fingerprints: fingerprints,
            suppressions,
            properties,
        });
    }
    sarif::Log::new(run)
}

/// The matched attributes in one line: `internet_facing = true, authentication not set`.
pub fn because(t: &Threat) -> String {
    t.matched
        .iter()
        .map(|m| match &m.value {
            Value::Null => format!("{} not set", m.attribute),
            v => format!("{} = {}", m.attribute, v),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text for a Markdown table cell or line: Markdown's special characters escaped.
pub fn md_cell(s: &str) -> String {
    md_escape(s)
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '\\' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn cwe_links(t: &Threat) -> String {
    let mut parts: Vec<String> = t
        .cwe
        .iter()
        .map(|c| format!("[CWE-{c}](https://cwe.mitre.org/data/definitions/{c}.html)"))
        .collect();
    parts.extend(
        t.capec
            .iter()
            .map(|c| format!("[CAPEC-{c}](https://capec.mitre.org/data/definitions/{c}.html)")),
    );
    parts.join(", ")
}

fn status_text(s: &ThreatStatus) -> String {
    match s {
        ThreatStatus::Open {
            acceptance_expired: Some(d),
        } => format!("open (acceptance expired {d})"),
        ThreatStatus::Open {
            acceptance_expired: None,
        } => "open".into(),
        ThreatStatus::Mitigated { mitigation } => format!("mitigated: {mitigation}"),
        ThreatStatus::Accepted {
            owner,
            reason,
            expires,
        } => {
            format!("accepted by {owner} until {expires}: {reason}")
        }
        ThreatStatus::FalsePositive { reason } => format!("false positive: {reason}"),
    }
}

/// A Markdown report: the summary, then every open threat by element or flow with why it was
/// raised and what to do, then the decided ones.
pub fn markdown(model: &Model, a: &Analysis) -> String {
    let mut out = String::new();
    let name = model.name.as_deref().unwrap_or("Threat model");
    let _ = writeln!(out, "# {} — threats\n", md_escape(name));
    let open = a.threats.iter().filter(|t| t.status.is_open()).count();
    let _ = writeln!(
        out,
        "{} threats from {} rules over {} elements and {} flows; **{open} open**.\n",
        a.threats.len(),
        a.rules,
        a.elements,
        a.flows
    );
    let _ = writeln!(out, "| STRIDE | critical | high | medium | low | decided |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for s in Stride::ALL {
        let count = |l: Level| {
            a.threats
                .iter()
                .filter(|t| t.stride == s && t.severity == l && t.status.is_open())
                .count()
        };
        let decided = a
            .threats
            .iter()
            .filter(|t| t.stride == s && !t.status.is_open())
            .count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {decided} |",
            s.title(),
            count(Level::Critical),
            count(Level::High),
            count(Level::Medium),
            count(Level::Low)
        );
    }
    let mut by_target: BTreeMap<(String, String), Vec<&Threat>> = BTreeMap::new();
    for t in a.threats.iter().filter(|t| t.status.is_open()) {
        by_target
            .entry((t.target.name.clone(), t.target.id.clone()))
            .or_default()
            .push(t);
    }
    if !by_target.is_empty() {
        let _ = writeln!(out, "\n## Open threats\n");
    }
    for ((name, id), threats) in &by_target {
        let kind = &threats[0].target.kind;
        let _ = writeln!(out, "### {} (`{}`, {kind})\n", md_escape(name), id);
        for t in threats {
            let _ = writeln!(
                out,
                "- **{}** {} — `{}` · {} · likelihood {} × impact {}{}",
                t.severity,
                md_escape(&t.title),
                t.id,
                t.stride.title(),
                t.likelihood,
                t.impact,
                if t.cwe.is_empty() && t.capec.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", cwe_links(t))
                }
            );
            if let ThreatStatus::Open {
                acceptance_expired: Some(d),
            } = &t.status
            {
                let _ = writeln!(out, "  - *The acceptance expired on {d}: decide again.*");
            }
            let _ = writeln!(out, "  - Why: {}", md_escape(&t.rationale));
            let _ = writeln!(out, "  - Matched: `{}`", because(t).replace('`', "'"));
            for m in &t.mitigations {
                let _ = writeln!(out, "  - Mitigate: {}", md_escape(m));
            }
        }
        out.push('\n');
    }
    let decided: Vec<&Threat> = a.threats.iter().filter(|t| !t.status.is_open()).collect();
    if !decided.is_empty() {
        let _ = writeln!(out, "## Decided\n");
        let _ = writeln!(out, "| Threat | Severity | Status |");
        let _ = writeln!(out, "|---|---|---|");
        for t in decided {
            let _ = writeln!(
                out,
                "| `{}` {} | {} | {} |",
                t.id,
                md_escape(&t.title),
                t.severity,
                md_escape(&status_text(&t.status))
            );
        }
        out.push('\n');
    }
    if !a.stale.is_empty() {
        let _ = writeln!(out, "## Statuses no rule raises any more\n");
        for s in &a.stale {
            let at = s
                .location
                .as_ref()
                .map(|o| format!(" ({}:{})", o.file.display(), o.line))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- `{}`{at}: remove it, or check the element's id",
                s.id
            );
        }
    }
    out
}

/// Text escaped for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A standalone HTML page: the diagram (`svg`, already rendered) and every threat, open ones
/// first. No scripts, no external resources.
pub fn html(model: &Model, a: &Analysis, svg: &str) -> String {
    let name = html_escape(model.name.as_deref().unwrap_or("Threat model"));
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name} — threats</title>\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>\n\
body{{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}}\n\
table{{border-collapse:collapse;width:100%}}th,td{{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}}\n\
.sev{{font-weight:600;border-radius:.3rem;padding:0 .4rem;color:#fff}}.critical{{background:#8b0000}}.high{{background:#c0392b}}.medium{{background:#b36b00}}.low{{background:#4a6b8a}}\n\
.diagram{{overflow:auto;border:1px solid #d0d7de;margin:1rem 0}}.diagram svg{{max-width:100%;height:auto}}code{{font-size:.9em}}\n\
details{{margin:.25rem 0}}\n</style></head><body>\n<h1>{name} — threats</h1>\n"
    );
    let open = a.threats.iter().filter(|t| t.status.is_open()).count();
    let _ = writeln!(
        out,
        "<p>{} threats from {} rules over {} elements and {} flows; <strong>{open} open</strong>.</p>",
        a.threats.len(),
        a.rules,
        a.elements,
        a.flows
    );
    let _ = writeln!(
        out,
        "<table><caption>Open threats by STRIDE category and severity</caption><thead><tr><th>STRIDE</th><th>critical</th><th>high</th><th>medium</th><th>low</th><th>decided</th></tr></thead><tbody>"
    );
    for s in Stride::ALL {
        let count = |l: Level| {
            a.threats
                .iter()
                .filter(|t| t.stride == s && t.severity == l && t.status.is_open())
                .count()
        };
        let decided = a
            .threats
            .iter()
            .filter(|t| t.stride == s && !t.status.is_open())
            .count();
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{decided}</td></tr>",
            s.title(),
            count(Level::Critical),
            count(Level::High),
            count(Level::Medium),
            count(Level::Low)
        );
    }
    let _ = writeln!(
        out,
        "</tbody></table>\n<h2>Data-flow diagram</h2>\n<div class=\"diagram\">{svg}</div>"
    );
    let _ = writeln!(
        out,
        "<h2>Threats</h2>\n<table><thead><tr><th>Severity</th><th>Threat</th><th>On</th><th>Status</th></tr></thead><tbody>"
    );
    let mut ordered: Vec<&Threat> = a.threats.iter().collect();
    ordered.sort_by_key(|t| !t.status.is_open());
    for t in ordered {
        let mut detail = String::new();
        let _ = write!(
            detail,
            "<details><summary>{} <code>{}</code></summary><p>{} · likelihood {} × impact {}</p><p>{}</p><p>Matched: <code>{}</code></p>",
            html_escape(&t.title),
            html_escape(&t.id),
            t.stride.title(),
            t.likelihood,
            t.impact,
            html_escape(&t.rationale),
            html_escape(&because(t))
        );
        if !t.mitigations.is_empty() {
            detail.push_str("<ul>");
            for m in &t.mitigations {
                let _ = write!(detail, "<li>{}</li>", html_escape(m));
            }
            detail.push_str("</ul>");
        }
        let refs: Vec<String> = t
            .cwe
            .iter()
            .map(|c| {
                format!("<a href=\"https://cwe.mitre.org/data/definitions/{c}.html\">CWE-{c}</a>")
            })
            .chain(t.capec.iter().map(|c| {
                format!(
                    "<a href=\"https://capec.mitre.org/data/definitions/{c}.html\">CAPEC-{c}</a>"
                )
            }))
            .collect();
        if !refs.is_empty() {
            let _ = write!(detail, "<p>{}</p>", refs.join(", "));
        }
        detail.push_str("</details>");
        let _ = writeln!(
            out,
            "<tr><td><span class=\"sev {s}\">{s}</span></td><td>{detail}</td><td>{} <small>({})</small></td><td>{}</td></tr>",
            html_escape(&t.target.name),
            html_escape(&t.target.kind),
            html_escape(&status_text(&t.status)),
            s = t.severity
        );
    }
    let _ = writeln!(out, "</tbody></table>");
    if !a.stale.is_empty() {
        let _ = writeln!(out, "<h2>Statuses no rule raises any more</h2><ul>");
        for s in &a.stale {
            let _ = writeln!(out, "<li><code>{}</code></li>", html_escape(&s.id));
        }
        let _ = writeln!(out, "</ul>");
    }
    out.push_str("</body></html>\n");
    out
}
