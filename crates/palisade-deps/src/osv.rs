//! The subset of the OSV schema (<https://ossf.github.io/osv-schema/>) Palisade stores and matches.
//!
//! Parsing is lenient where upstream data is known to be sloppy (e.g. a GIT `fixed` event that is
//! not a full commit id): such records are accepted and reported as warnings by
//! [`validate`], never rejected.

use serde::{Deserialize, Deserializer, Serialize};

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One OSV vulnerability record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Vulnerability {
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub severity: Vec<Severity>,
    #[serde(default, deserialize_with = "null_default")]
    pub affected: Vec<Affected>,
    #[serde(default, deserialize_with = "null_default")]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A severity entry (`CVSS_V3`, `CVSS_V4`, …) with its vector.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Severity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// A reference URL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// One affected package with its ranges and explicit versions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    #[serde(default, deserialize_with = "null_default")]
    pub severity: Vec<Severity>,
    #[serde(default, deserialize_with = "null_default")]
    pub ranges: Vec<Range>,
    #[serde(default, deserialize_with = "null_default")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

impl Affected {
    /// RustSec's informational kind (`unsound`, `unmaintained`, `notice`), if any.
    pub fn informational(&self) -> Option<&str> {
        self.database_specific
            .as_ref()?
            .get("informational")?
            .as_str()
            .filter(|s| !s.is_empty())
    }
}

/// The affected package's identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A range of affected versions described by events.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub events: Vec<Event>,
}

/// The three range types of the OSV schema.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum RangeKind {
    #[serde(rename = "SEMVER")]
    Semver,
    #[serde(rename = "ECOSYSTEM")]
    Ecosystem,
    #[serde(rename = "GIT")]
    Git,
}

/// One event of a range. Exactly one field is set in valid data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl Event {
    pub fn introduced(v: &str) -> Self {
        Event {
            introduced: Some(v.to_string()),
            ..Event::default()
        }
    }
    pub fn fixed(v: &str) -> Self {
        Event {
            fixed: Some(v.to_string()),
            ..Event::default()
        }
    }
    pub fn last_affected(v: &str) -> Self {
        Event {
            last_affected: Some(v.to_string()),
            ..Event::default()
        }
    }
    pub fn limit(v: &str) -> Self {
        Event {
            limit: Some(v.to_string()),
            ..Event::default()
        }
    }
}

/// Parse one record from JSON text.
pub fn from_json(text: &str) -> Result<Vulnerability, serde_json::Error> {
    serde_json::from_str(text)
}

/// Parse one record from YAML text.
pub fn from_yaml(text: &str) -> Result<Vulnerability, serde_norway::Error> {
    serde_norway::from_str(text)
}

/// Schema deviations worth a warning (the record is still imported).
pub fn validate(v: &Vulnerability) -> Vec<String> {
    let mut out = Vec::new();
    if v.modified.is_empty() {
        out.push("missing `modified`".to_string());
    }
    for a in &v.affected {
        for r in &a.ranges {
            if r.kind != RangeKind::Git {
                continue;
            }
            for e in &r.events {
                for val in [&e.introduced, &e.fixed, &e.last_affected, &e.limit]
                    .into_iter()
                    .flatten()
                {
                    let is_commit = val.len() == 40 && val.bytes().all(|b| b.is_ascii_hexdigit());
                    if val != "0" && !is_commit {
                        out.push(format!("GIT range event {val:?} is not a full commit id"));
                    }
                }
            }
        }
    }
    out
}

/// Strip the parts a scan never needs (long `details`), keeping everything matching and reports use.
/// A record without `summary` (most PYSEC ones) gets the first line of `details`, cut at 160
/// characters, so reports still say what the vulnerability is.
pub fn compact(mut v: Vulnerability) -> Vulnerability {
    if v.summary.as_deref().is_none_or(|s| s.trim().is_empty())
        && let Some(first) = v
            .details
            .as_deref()
            .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
    {
        let mut s: String = first.chars().take(160).collect();
        if s.len() < first.len() {
            s.push('…');
        }
        v.summary = Some(s);
    }
    v.details = None;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_drops_details_but_keeps_a_summary() {
        let v = from_json(
            r#"{"id":"X","modified":"2024-01-01T00:00:00Z","details":"\nFirst line here.\nMore."}"#,
        )
        .unwrap();
        let c = compact(v);
        assert_eq!(
            (c.summary.as_deref(), c.details),
            (Some("First line here."), None)
        );
        let long = format!(
            r#"{{"id":"X","modified":"m","details":"{}"}}"#,
            "a".repeat(300)
        );
        assert_eq!(
            compact(from_json(&long).unwrap())
                .summary
                .unwrap()
                .chars()
                .count(),
            161
        );
        let kept = from_json(r#"{"id":"X","modified":"m","summary":"S","details":"D"}"#).unwrap();
        assert_eq!(compact(kept).summary.as_deref(), Some("S"));
    }
}
