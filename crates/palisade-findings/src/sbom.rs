//! CycloneDX JSON (1.4–1.6) with `vulnerabilities`: one finding per vulnerability and affected
//! component, named by the advisory id and the component's purl (or name@version). An SBOM
//! without vulnerabilities holds no findings but counts as an SBOM for the gate.

use crate::{Format, ReadError, Report, clip, fingerprint, severity_of, text};
use palisade_core::finding::Observed;
use palisade_core::types::{FindingKind, FindingSeverity};
use serde_json::Value;
use std::collections::HashMap;

pub(crate) fn read(v: &Value, hint: Option<FindingKind>) -> Result<Report, ReadError> {
    let mut components: HashMap<&str, String> = HashMap::new();
    let mut stack: Vec<&Value> = Vec::new();
    if let Some(c) = v.pointer("/metadata/component") {
        stack.push(c);
    }
    if let Some(cs) = v.get("components").and_then(Value::as_array) {
        stack.extend(cs);
    }
    let mut seen = 0usize;
    let mut purls = Vec::new();
    while let Some(c) = stack.pop() {
        seen += 1;
        if seen > crate::MAX_RESULTS * 4 {
            return Err(ReadError::TooManyResults);
        }
        let name = package_of(c);
        if let (Some(r), Some(n)) = (text(c, "bom-ref"), name.clone()) {
            components.insert(r, n);
        }
        if let Some(p) = text(c, "purl") {
            components.entry(p).or_insert_with(|| p.to_string());
            purls.push(clip(p, 1000));
        }
        if let Some(cs) = c.get("components").and_then(Value::as_array) {
            stack.extend(cs);
        }
    }
    let tool = v
        .pointer("/metadata/tools/components/0/name")
        .or_else(|| v.pointer("/metadata/tools/0/name"))
        .and_then(Value::as_str)
        .unwrap_or("cyclonedx");
    let mut report = Report {
        format: Format::CycloneDx,
        tool: clip(tool, 100),
        findings: Vec::new(),
        skipped: Vec::new(),
        is_sbom: v.get("components").is_some(),
        components: purls,
    };
    let vulns = match v.get("vulnerabilities") {
        None | Some(Value::Null) => return Ok(report),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ReadError::Malformed(
                "`vulnerabilities` is not an array".into(),
            ));
        }
    };
    for (i, vuln) in vulns.iter().enumerate() {
        let Some(id) = text(vuln, "id") else {
            report.skipped.push(format!("vulnerabilities[{i}]: no id"));
            continue;
        };
        let severity = vuln
            .get("ratings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                r.get("severity")
                    .and_then(severity_of)
                    .or_else(|| r.get("score").and_then(severity_of))
            })
            .max()
            // No rating: treated as high until someone says otherwise (an unknown severity
            // must not slip through a gate).
            .unwrap_or(FindingSeverity::High);
        let title = text(vuln, "description")
            .or_else(|| text(vuln, "detail"))
            .unwrap_or(id);
        let affects: Vec<&str> = vuln
            .get("affects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| text(a, "ref"))
            .collect();
        if affects.is_empty() {
            report
                .skipped
                .push(format!("vulnerabilities[{i}] ({id}): affects no component"));
            continue;
        }
        for r in affects {
            let package = components.get(r).cloned().unwrap_or_else(|| r.to_string());
            report.findings.push(Observed {
                fingerprint: fingerprint(&[id, &package]),
                kind: hint.unwrap_or(FindingKind::Dependency),
                rule: clip(id, 200),
                title: clip(title, 1000),
                severity,
                location: None,
                package: Some(clip(&package, 1000)),
            });
        }
    }
    Ok(report)
}

fn package_of(c: &Value) -> Option<String> {
    if let Some(p) = text(c, "purl") {
        return Some(p.to_string());
    }
    let name = text(c, "name")?;
    Some(match text(c, "version") {
        Some(v) => format!("{name}@{v}"),
        None => name.to_string(),
    })
}

/// SPDX 2.x JSON: an SBOM (its packages' `purl` external references); it holds no findings.
pub(crate) fn read_spdx(v: &Value) -> Result<Report, ReadError> {
    let packages = match v.get("packages") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(ReadError::Malformed("`packages` is not an array".into())),
    };
    if packages.len() > crate::MAX_RESULTS * 4 {
        return Err(ReadError::TooManyResults);
    }
    let components = packages
        .iter()
        .flat_map(|p| {
            p.get("externalRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|r| text(r, "referenceType") == Some("purl"))
        .filter_map(|r| text(r, "referenceLocator"))
        .map(|p| clip(p, 1000))
        .collect();
    // Not the creator tool: SPDX writes it with its version (`Tool: palisade-0.1.0`), and an
    // upgrade must not make a new scan.
    Ok(Report {
        format: Format::Spdx,
        tool: "spdx".into(),
        findings: Vec::new(),
        skipped: Vec::new(),
        is_sbom: true,
        components,
    })
}
