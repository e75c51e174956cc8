//! Rendering scan results: a table for people, JSON, and SARIF 2.1.0.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use palisade_sarif::{
    Driver, Invocation, Level, Location, Log, Message, Notification, Region, Rule, Run, SarifResult,
};
use serde_json::{Map, json};

use crate::cvss::Rating;
use crate::scan::{AdvisoryKind, Finding, ScanResult};

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

fn sarif_level(f: &Finding) -> Level {
    if f.kind != AdvisoryKind::Vulnerability {
        return Level::Note;
    }
    match f.severity {
        Rating::Critical | Rating::High | Rating::Unknown => Level::Error,
        Rating::Medium => Level::Warning,
        _ => Level::Note,
    }
}

/// A rule per advisory: its summary, what to do, its aliases and link, and the CVSS score as
/// `security-severity` (what code-scanning UIs sort by).
fn sarif_rule(f: &Finding) -> Rule {
    let title = if f.summary.is_empty() {
        f.id.clone()
    } else {
        f.summary.clone()
    };
    let mut help = title.clone();
    if !f.aliases.is_empty() {
        let _ = write!(help, "\nAlso known as: {}.", f.aliases.join(", "));
    }
    if f.kind == AdvisoryKind::Vulnerability {
        help.push_str(
            "\nUpgrade the package to a version the advisory lists as fixed (each result names \
             it), or remove the dependency.",
        );
    } else {
        let _ = write!(
            help,
            "\nAn informational advisory ({}): reported, never fails the scan.",
            f.kind.as_str()
        );
    }
    if let Some(u) = &f.url {
        let _ = write!(help, "\nDetails: {u}");
    }
    let mut rule = Rule::new(&f.id, title);
    rule.help = Some(Message::text(help));
    rule.help_uri = f.url.clone();
    rule.properties
        .insert("tags".into(), json!([f.kind.as_str(), f.ecosystem]));
    rule.properties.insert("aliases".into(), json!(f.aliases));
    if let Some(s) = f.cvss_score {
        rule.properties
            .insert("security-severity".into(), json!(format!("{s:.1}")));
    }
    rule
}

/// SARIF 2.1.0: one rule per advisory id, one result per finding located at the lockfile line,
/// and the files that could not be scanned as error notifications of the invocation.
pub fn sarif(r: &ScanResult) -> String {
    let mut run = Run::new(Driver::palisade(env!("CARGO_PKG_VERSION")));
    // An image's packages and a repository's lockfiles are two analyses.
    let image = r.lockfiles.iter().any(|l| {
        matches!(
            l.kind,
            crate::lockfile::Kind::DpkgStatus
                | crate::lockfile::Kind::ApkInstalled
                | crate::lockfile::Kind::PythonMetadata
        )
    });
    run.automation_details = Some(palisade_sarif::AutomationDetails::category(if image {
        "palisade/image"
    } else {
        "palisade/deps"
    }));
    for f in r.findings.iter().chain(r.warnings.iter()) {
        let idx = run.rule_index_or_add(&f.id, || sarif_rule(f));
        run.results.push(SarifResult {
            rule_id: f.id.clone(),
            rule_index: Some(idx),
            level: sarif_level(f),
            message: Message::text(format!(
                "{} {} is affected by {} ({}); fix: {}",
                f.package,
                f.version,
                f.id,
                f.severity.as_str(),
                fixed_text(f)
            )),
            locations: vec![Location::file(
                &f.path.to_string_lossy(),
                Some(Region::line(f.line)),
            )],
            partial_fingerprints: BTreeMap::from([(
                "palisadeDeps/v1".to_string(),
                format!("{}|{}|{}", f.purl, f.id, f.path.display()),
            )]),
            suppressions: Vec::new(),
            properties: Map::new(),
        });
    }
    run.invocations.push(Invocation::new(
        r.errors
            .iter()
            .map(|e| Notification::new(Level::Error, e.clone()))
            .collect(),
    ));
    Log::new(run).to_json_pretty()
}
