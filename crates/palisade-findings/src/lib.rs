//! Security reports read into findings, and the CI gate.
//!
//! [`read`] takes the bytes of a report — SARIF 2.1.0 from any tool, a CycloneDX JSON SBOM with
//! vulnerabilities, OSV-Scanner's JSON, or Palisade's own JSON of `scan secrets` and `scan
//! deps`/`scan image` — and gives the distinct results it holds as
//! [`palisade_core::finding::Observed`], each with a fingerprint that stays the same when code
//! moves (so a finding is recognised again in the next run). [`gate`] decides, from a policy
//! file and findings, whether a phase of a pipeline passes.
//!
//! Pure: bytes in, values out; no files, no network, no clock (the gate is told the time).

pub mod gate;
mod osv;
mod own;
mod sarif;
mod sbom;

use palisade_core::finding::Observed;
use palisade_core::types::{FindingKind, FindingSeverity};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The largest report read (bytes).
pub const MAX_REPORT_BYTES: usize = 64 * 1024 * 1024;
/// The most results one report may hold.
pub const MAX_RESULTS: usize = 200_000;

/// Why a report cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("the report is {0} bytes; the limit is {MAX_REPORT_BYTES} (split it by scan)")]
    TooLarge(usize),
    #[error(
        "the report is not JSON ({0}); upload SARIF, CycloneDX JSON, OSV-Scanner JSON or Palisade's JSON"
    )]
    NotJson(String),
    #[error(
        "the report's format is not recognised: expected SARIF 2.1.0 (`runs`), CycloneDX JSON \
         (`bomFormat`), SPDX JSON (`spdxVersion`), OSV-Scanner JSON (`results` with `packages`) \
         or Palisade's JSON (`findings`)"
    )]
    UnknownFormat,
    #[error("the report is malformed: {0}")]
    Malformed(String),
    #[error("the report holds more than {MAX_RESULTS} results; split it by scan")]
    TooManyResults,
}

/// The formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Sarif,
    CycloneDx,
    Spdx,
    Osv,
    PalisadeSecrets,
    PalisadeDeps,
    PalisadeConfig,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sarif => "sarif",
            Format::CycloneDx => "cyclonedx",
            Format::Spdx => "spdx",
            Format::Osv => "osv-scanner",
            Format::PalisadeSecrets => "palisade-secrets",
            Format::PalisadeDeps => "palisade-deps",
            Format::PalisadeConfig => "palisade-config",
        }
    }
}

/// What a report holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub format: Format,
    /// The tool that wrote it, as it names itself (`palisade`, `hadolint`, `osv-scanner`).
    pub tool: String,
    /// Distinct results, by fingerprint (a result reported twice counts once).
    pub findings: Vec<Observed>,
    /// Results that could not be read, with why (the rest were read).
    pub skipped: Vec<String>,
    /// Whether the report is an SBOM (CycloneDX with components, or SPDX): the gate's
    /// `require_sbom`.
    pub is_sbom: bool,
    /// An SBOM's components by package URL (sorted, distinct; those without one are left out):
    /// what is deployed, matched again when the vulnerability data changes.
    pub components: Vec<String>,
}

/// Read a report. `kind` overrides the kind of every finding (for formats that do not say,
/// such as SARIF from a tool Palisade does not know, or `image` for an image's dependencies).
pub fn read(bytes: &[u8], kind: Option<FindingKind>) -> Result<Report, ReadError> {
    if bytes.len() > MAX_REPORT_BYTES {
        return Err(ReadError::TooLarge(bytes.len()));
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| ReadError::NotJson(e.to_string()))?;
    let Value::Object(top) = &v else {
        return Err(ReadError::UnknownFormat);
    };
    let mut report = if top.contains_key("runs") {
        sarif::read(&v, kind)?
    } else if top.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        sbom::read(&v, kind)?
    } else if top.contains_key("spdxVersion") {
        sbom::read_spdx(&v)?
    } else if top
        .get("results")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().all(|x| x.get("packages").is_some()))
    {
        osv::read(&v, kind)?
    } else if top.contains_key("findings") {
        own::read(&v, kind)?
    } else {
        return Err(ReadError::UnknownFormat);
    };
    if report.findings.len() > MAX_RESULTS {
        return Err(ReadError::TooManyResults);
    }
    // Distinct by fingerprint, worst severity kept, in a stable order.
    let mut by_fp: BTreeMap<String, Observed> = BTreeMap::new();
    for f in report.findings.drain(..) {
        match by_fp.get_mut(&f.fingerprint) {
            Some(prev) if prev.severity < f.severity => *prev = f,
            Some(_) => {}
            None => {
                by_fp.insert(f.fingerprint.clone(), f);
            }
        }
    }
    report.findings = by_fp.into_values().collect();
    report.components.sort();
    report.components.dedup();
    Ok(report)
}

/// A fingerprint from its parts: SHA-256 over the parts separated by NUL, hex.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0]);
        }
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The fingerprint of a dependency finding, as Palisade's dependency SARIF names it
/// (`palisadeDeps/v1`: purl, advisory, where it was found), hashed with the advisory.
pub fn dependency_fingerprint(id: &str, purl: &str, path: &str) -> String {
    fingerprint(&[id, &format!("palisadeDeps/v1={purl}|{id}|{path}")])
}

/// A severity from a CVSS base score (FIRST's bands).
pub fn severity_of_score(score: f64) -> FindingSeverity {
    if score >= 9.0 {
        FindingSeverity::Critical
    } else if score >= 7.0 {
        FindingSeverity::High
    } else if score >= 4.0 {
        FindingSeverity::Medium
    } else if score > 0.0 {
        FindingSeverity::Low
    } else {
        FindingSeverity::Info
    }
}

/// A severity a tool wrote as a word or a score (`"HIGH"`, `"moderate"`, `"7.5"`, `9.8`).
/// `unknown` and unreadable values are `None`.
pub fn severity_of(v: &Value) -> Option<FindingSeverity> {
    match v {
        Value::Number(n) => n.as_f64().map(severity_of_score),
        Value::String(s) => {
            if let Ok(score) = s.trim().parse::<f64>() {
                return Some(severity_of_score(score));
            }
            s.parse::<FindingSeverity>().ok()
        }
        _ => None,
    }
}

/// Text cut to `max` characters (titles of a thousand-line message).
pub(crate) fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    let first = s.lines().next().unwrap_or("");
    let mut out: String = first
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect();
    if first.chars().count() > max {
        out.pop();
        out.push('…');
    }
    out
}

/// A string field of a JSON object.
pub(crate) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}
