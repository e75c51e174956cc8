//! OSV-Scanner's JSON (`osv-scanner --format json`): one finding per package and vulnerability
//! group (OSV-Scanner groups a GHSA with its CVE aliases), named by the group's first id, the
//! ecosystem, package and version. Severity is the group's `max_severity` score, else the
//! advisory's `database_specific.severity` word, else high.

use crate::{Format, ReadError, Report, clip, fingerprint, severity_of, text};
use palisade_core::finding::Observed;
use palisade_core::types::{FindingKind, FindingSeverity};
use serde_json::Value;

pub(crate) fn read(v: &Value, hint: Option<FindingKind>) -> Result<Report, ReadError> {
    let mut report = Report {
        format: Format::Osv,
        tool: "osv-scanner".into(),
        findings: Vec::new(),
        skipped: Vec::new(),
        is_sbom: false,
        components: Vec::new(),
    };
    let results = v
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| ReadError::Malformed("`results` is not an array".into()))?;
    for (ri, res) in results.iter().enumerate() {
        let source = res
            .pointer("/source/path")
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(packages) = res.get("packages").and_then(Value::as_array) else {
            report
                .skipped
                .push(format!("results[{ri}]: `packages` is not an array"));
            continue;
        };
        for (pi, p) in packages.iter().enumerate() {
            let Some(pkg) = p.get("package") else {
                report
                    .skipped
                    .push(format!("results[{ri}].packages[{pi}]: no package"));
                continue;
            };
            let (Some(name), Some(version)) = (text(pkg, "name"), text(pkg, "version")) else {
                report.skipped.push(format!(
                    "results[{ri}].packages[{pi}]: a package without name or version"
                ));
                continue;
            };
            let ecosystem = text(pkg, "ecosystem").unwrap_or("");
            let package = format!("{ecosystem}/{name}@{version}");
            let vulns: Vec<&Value> = p
                .get("vulnerabilities")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let mut groups: Vec<(Vec<String>, Option<FindingSeverity>)> = p
                .get("groups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|g| {
                    let ids: Vec<String> = g
                        .get("ids")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect();
                    (ids, g.get("max_severity").and_then(severity_of))
                })
                .filter(|(ids, _)| !ids.is_empty())
                .collect();
            // Without groups (older versions), each vulnerability is its own group.
            if groups.is_empty() {
                groups = vulns
                    .iter()
                    .filter_map(|v| text(v, "id"))
                    .map(|id| (vec![id.to_string()], None))
                    .collect();
            }
            for (mut ids, max) in groups {
                ids.sort();
                let id = ids[0].clone();
                let advisory = vulns
                    .iter()
                    .find(|v| text(v, "id").is_some_and(|x| ids.iter().any(|i| i == x)));
                let severity = max
                    .or_else(|| {
                        advisory
                            .and_then(|a| a.pointer("/database_specific/severity"))
                            .and_then(severity_of)
                    })
                    .unwrap_or(FindingSeverity::High);
                let title = advisory
                    .and_then(|a| text(a, "summary").or_else(|| text(a, "details")))
                    .unwrap_or(&id);
                report.findings.push(Observed {
                    fingerprint: fingerprint(&[&id, &package]),
                    kind: hint.unwrap_or(FindingKind::Dependency),
                    rule: clip(&id, 200),
                    title: clip(title, 1000),
                    severity,
                    location: source.as_deref().map(|s| clip(s, 1000)),
                    package: Some(clip(&package, 1000)),
                });
            }
        }
    }
    Ok(report)
}
