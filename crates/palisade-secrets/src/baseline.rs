//! Baselines: accepted findings, identified by fingerprint (rule + path + secret hash).

use crate::error::Error;
use crate::scanner::Finding;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    palisade_baseline: u32,
    findings: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    fingerprint: String,
    rule_id: String,
    path: String,
}

/// A set of accepted fingerprints.
#[derive(Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, Error> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: name.clone(),
            source: e,
        })?;
        let f: File = serde_json::from_str(&text).map_err(|e| Error::Baseline {
            path: format!("{name}:{}:{}", e.line(), e.column()),
            message: e.to_string(),
        })?;
        if f.palisade_baseline != VERSION {
            return Err(Error::Baseline {
                path: name,
                message: format!(
                    "unsupported version {} (expected {VERSION})",
                    f.palisade_baseline
                ),
            });
        }
        Ok(Baseline {
            fingerprints: f.findings.into_iter().map(|e| e.fingerprint).collect(),
        })
    }

    /// Write every finding's fingerprint (deduplicated, sorted) to `path`. No secret is written.
    pub fn write(path: &Path, findings: &[Finding]) -> Result<usize, Error> {
        let mut entries: Vec<Entry> = findings
            .iter()
            .map(|f| Entry {
                fingerprint: f.fingerprint.clone(),
                rule_id: f.rule_id.clone(),
                path: f.path.clone(),
            })
            .collect();
        entries.sort_by(|a, b| {
            (&a.path, &a.rule_id, &a.fingerprint).cmp(&(&b.path, &b.rule_id, &b.fingerprint))
        });
        entries.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        let n = entries.len();
        let json = serde_json::to_string_pretty(&File {
            palisade_baseline: VERSION,
            findings: entries,
        })
        .map_err(|e| Error::Baseline {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(path, json + "\n").map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        Ok(n)
    }

    pub fn contains(&self, f: &Finding) -> bool {
        self.fingerprints.contains(&f.fingerprint)
    }

    /// Drop the findings the baseline accepts; returns how many were dropped.
    pub fn filter(&self, findings: &mut Vec<Finding>) -> usize {
        let before = findings.len();
        findings.retain(|f| !self.contains(f));
        before - findings.len()
    }
}
