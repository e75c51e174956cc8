//! Rendering scan results: a table for people, JSON, and SARIF 2.1.0.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::cvss::Rating;
use crate::scan::{Finding, ScanResult};

fn fixed_text(f: &Finding) -> String {
    if f.fixed.is_empty() {
        "no fix".to_string()
    } else {
        f.fixed.join(", ")
    }
}

fn row(out: &mut String, f: &Finding, label: &str) {
    let ids = if f.aliases.is_empty() {
        f.id.clone()
    } else {
        format!("{} ({})", f.id, f.aliases.join(", "))
    };
    let _ = writeln!(
        out,
        "{label:<13} {} {}  {ids}\n              {}:{}  fix: {}\n              {}",
        f.package,
        f.version,
        f.path.display(),
        f.line,
        fixed_text(f),
        if f.summary.is_empty() {
            "(no summary)"
        } else {
            &f.summary
        },
    );
}

/// A plain-text report (no colour codes, so `NO_COLOR` and pipes are always honoured).
pub fn table(r: &ScanResult) -> String {
    let mut out = String::new();
    let mut findings: Vec<&Finding> = r.findings.iter().collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.package.cmp(&b.package))
            .then(a.id.cmp(&b.id))
    });
    for f in &findings {
        let label = match f.cvss_score {
            Some(s) => format!("{} {s:.1}", f.severity.as_str().to_uppercase()),
            None => f.severity.as_str().to_uppercase(),
        };
        row(&mut out, f, &label);
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\nWarnings (informational advisories, do not fail the scan):"
        );
        for f in &r.warnings {
            row(&mut out, f, &format!("warning:{}", f.kind.as_str()));
        }
    }
    let packages: usize = r.lockfiles.iter().map(|l| l.packages).sum();
    let affected: std::collections::BTreeSet<(&str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.package.as_str(), f.version.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "\n{} vulnerabilities in {} packages; {} warnings; {} lockfiles, {} packages scanned{}",
        r.findings.len(),
        affected.len(),
        r.warnings.len(),
        r.lockfiles.len(),
        packages,
        if r.errors.is_empty() {
            String::new()
        } else {
            format!("; {} files could not be scanned", r.errors.len())
        }
    );
    out
}

/// The JSON report: the [`ScanResult`] as is.
pub fn json(r: &ScanResult) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|_| "{}".to_string())
}

fn sarif_level(f: &Finding) -> &'static str {
    match f.severity {
        Rating::Critical | Rating::High | Rating::Unknown => "error",
        Rating::Medium => "warning",
        _ => "note",
    }
}

/// SARIF 2.1.0: one rule per advisory id, one result per finding located at the lockfile line.
pub fn sarif(r: &ScanResult) -> String {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_index = std::collections::BTreeMap::new();
    let mut results = Vec::new();
    for f in r.findings.iter().chain(r.warnings.iter()) {
        let idx = *rule_index.entry(f.id.clone()).or_insert_with(|| {
            let mut rule = json!({
                "id": f.id,
                "shortDescription": {"text": if f.summary.is_empty() { f.id.clone() } else { f.summary.clone() }},
                "properties": {"tags": [f.kind.as_str(), f.ecosystem], "aliases": f.aliases},
            });
            if let Some(u) = &f.url {
                rule["helpUri"] = json!(u);
            }
            if let Some(s) = f.cvss_score {
                rule["properties"]["security-severity"] = json!(format!("{s:.1}"));
            }
            rules.push(rule);
            rules.len() - 1
        });
        let level = if f.kind == crate::scan::AdvisoryKind::Vulnerability {
            sarif_level(f)
        } else {
            "note"
        };
        results.push(json!({
            "ruleId": f.id,
            "ruleIndex": idx,
            "level": level,
            "message": {"text": format!("{} {} is affected by {} ({}); fix: {}", f.package, f.version, f.id, f.severity.as_str(), fixed_text(f))},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": f.path.to_string_lossy().replace('\\', "/")},
                "region": {"startLine": f.line.max(1)}
            }}],
            "partialFingerprints": {"palisadeDeps/v1": format!("{}|{}|{}", f.purl, f.id, f.path.display())},
        }));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "palisade",
                "informationUri": "https://github.com/palisade/palisade",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string())
}
