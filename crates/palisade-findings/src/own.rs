//! Palisade's own JSON reports: `scan secrets --format json` (findings with their fingerprint)
//! and `scan deps`/`scan image --format json` (findings by advisory and package).

use crate::{Format, ReadError, Report, clip, fingerprint, severity_of, text};
use palisade_core::finding::Observed;
use palisade_core::types::{FindingKind, FindingSeverity};
use serde_json::Value;

pub(crate) fn read(v: &Value, hint: Option<FindingKind>) -> Result<Report, ReadError> {
    let findings = v
        .get("findings")
        .and_then(Value::as_array)
        .ok_or_else(|| ReadError::Malformed("`findings` is not an array".into()))?;
    if findings.len() > crate::MAX_RESULTS {
        return Err(ReadError::TooManyResults);
    }
    if text(v, "tool") == Some("palisade/config") {
        return Ok(config(findings, hint.unwrap_or(FindingKind::Config)));
    }
    if let Some(lockfiles) = v.get("lockfiles") {
        // An image's package databases, as `scan image` names them.
        let image = lockfiles
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| text(l, "kind"))
            .any(|k| matches!(k, "dpkg-status" | "apk-installed" | "python-metadata"));
        let kind = hint.unwrap_or(if image {
            FindingKind::Image
        } else {
            FindingKind::Dependency
        });
        let mut r = deps(findings, kind);
        r.tool = if image {
            "palisade/image"
        } else {
            "palisade/deps"
        }
        .into();
        return Ok(r);
    }
    Ok(secrets(findings, hint.unwrap_or(FindingKind::Secret)))
}

fn report(format: Format) -> Report {
    Report {
        format,
        tool: "palisade/secrets".into(),
        findings: Vec::new(),
        skipped: Vec::new(),
        is_sbom: false,
        components: Vec::new(),
    }
}

fn secrets(findings: &[Value], kind: FindingKind) -> Report {
    let mut r = report(Format::PalisadeSecrets);
    for (i, f) in findings.iter().enumerate() {
        let (Some(rule), Some(fp)) = (text(f, "rule_id"), text(f, "fingerprint")) else {
            r.skipped
                .push(format!("findings[{i}]: no rule_id or fingerprint"));
            continue;
        };
        let location = text(f, "path").map(|p| match f.get("line").and_then(Value::as_u64) {
            Some(l) => format!("{p}:{l}"),
            None => p.to_string(),
        });
        r.findings.push(Observed {
            // As the scanner's SARIF names it (`partialFingerprints`), so its JSON and its SARIF
            // are the same findings; hashed again with the rule.
            fingerprint: fingerprint(&[rule, &format!("palisadeSecret/v1={fp}")]),
            kind,
            rule: clip(rule, 200),
            title: clip(text(f, "description").unwrap_or(rule), 1000),
            severity: f
                .get("severity")
                .and_then(severity_of)
                .unwrap_or(FindingSeverity::High),
            location: location.map(|l| clip(&l, 1000)),
            package: None,
        });
    }
    r
}

/// `scan config --format json`: suppressed findings (with their reason) are not findings.
fn config(findings: &[Value], kind: FindingKind) -> Report {
    let mut r = report(Format::PalisadeConfig);
    r.tool = "palisade/config".into();
    for (i, f) in findings.iter().enumerate() {
        if f.get("suppressed").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let (Some(rule), Some(fp)) = (text(f, "rule_id"), text(f, "fingerprint")) else {
            r.skipped
                .push(format!("findings[{i}]: no rule_id or fingerprint"));
            continue;
        };
        let location = text(f, "path").map(|p| match f.get("line").and_then(Value::as_u64) {
            Some(l) if l > 0 => format!("{p}:{l}"),
            _ => p.to_string(),
        });
        r.findings.push(Observed {
            // As the scanner's SARIF names it (`palisadeConfig/v1`).
            fingerprint: fingerprint(&[rule, &format!("palisadeConfig/v1={fp}")]),
            kind,
            rule: clip(rule, 200),
            title: clip(text(f, "title").unwrap_or(rule), 1000),
            severity: f
                .get("severity")
                .and_then(severity_of)
                .unwrap_or(FindingSeverity::High),
            location: location.map(|l| clip(&l, 1000)),
            package: None,
        });
    }
    r
}

fn deps(findings: &[Value], kind: FindingKind) -> Report {
    let mut r = report(Format::PalisadeDeps);
    for (i, f) in findings.iter().enumerate() {
        let Some(id) = text(f, "id") else {
            r.skipped.push(format!("findings[{i}]: no id"));
            continue;
        };
        let package = text(f, "purl").map(str::to_string).or_else(|| {
            Some(format!(
                "{}@{}",
                text(f, "package")?,
                text(f, "version").unwrap_or("")
            ))
        });
        let Some(package) = package else {
            r.skipped
                .push(format!("findings[{i}] ({id}): no purl or package"));
            continue;
        };
        let location = text(f, "path").map(|p| match f.get("line").and_then(Value::as_u64) {
            Some(l) if l > 0 => format!("{p}:{l}"),
            _ => p.to_string(),
        });
        // As the scanner's SARIF names it: purl, advisory and lockfile.
        r.findings.push(Observed {
            fingerprint: crate::dependency_fingerprint(
                id,
                text(f, "purl").unwrap_or(&package),
                text(f, "path").unwrap_or(""),
            ),
            kind,
            rule: clip(id, 200),
            title: clip(text(f, "summary").unwrap_or(id), 1000),
            severity: f
                .get("severity")
                .and_then(severity_of)
                .unwrap_or(FindingSeverity::High),
            location: location.map(|l| clip(&l, 1000)),
            package: Some(clip(&package, 1000)),
        });
    }
    r
}
