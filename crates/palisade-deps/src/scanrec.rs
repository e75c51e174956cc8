//! The per-record form a scan matches against: an OSV record reduced, at import time, to what
//! [`crate::scan::findings_for_records`] reads, in a small binary encoding.
//!
//! A scan decodes only this (no JSON, no `references`, no `database_specific` maps); severity
//! and the advisory URL are computed once at import. `GIT` ranges are dropped: they never match
//! a version (see [`crate::matcher`]).
//!
//! Encoding (all integers little-endian `u32`, strings as length + UTF-8 bytes):
//! `FORMAT` byte, id, aliases (count + strings), summary (flag + string), rating (byte),
//! score (flag + `f64` bits), vector (flag + string), url (flag + string), affected entries
//! (count; each: ecosystem, name, informational (flag + string), versions (count + strings),
//! ranges (count; each: kind byte, events (count; each: kind byte + string))).

use crate::cvss::Rating;
use crate::osv::{Event, Range, RangeKind, Vulnerability};

/// First byte of every encoded record; bump with any change to the layout.
const FORMAT: u8 = 1;

/// What matching and reporting need of one OSV record.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRecord {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    /// [`crate::scan::severity_of`] of the full record.
    pub severity: (Rating, Option<f64>, Option<String>),
    /// The advisory URL reported with a finding.
    pub url: Option<String>,
    pub affected: Vec<ScanAffected>,
}

/// One `affected` entry with a package, reduced to what matching reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanAffected {
    /// The OSV ecosystem string as written (`Debian:12` keeps its release).
    pub ecosystem: String,
    pub name: String,
    /// RustSec's `informational` kind, if any.
    pub informational: Option<String>,
    pub versions: Vec<String>,
    /// `SEMVER` and `ECOSYSTEM` ranges (no `repo`).
    pub ranges: Vec<Range>,
}

impl ScanRecord {
    /// Reduce a full record.
    pub fn from_vulnerability(v: &Vulnerability) -> ScanRecord {
        ScanRecord {
            id: v.id.clone(),
            aliases: v.aliases.clone(),
            summary: v.summary.clone(),
            severity: crate::scan::severity_of(v),
            url: crate::scan::advisory_url(v),
            affected: v
                .affected
                .iter()
                .filter_map(|a| {
                    let p = a.package.as_ref()?;
                    Some(ScanAffected {
                        ecosystem: p.ecosystem.clone(),
                        name: p.name.clone(),
                        informational: a.informational().map(str::to_string),
                        versions: a.versions.clone(),
                        ranges: a
                            .ranges
                            .iter()
                            .filter(|r| r.kind != RangeKind::Git)
                            .map(|r| Range {
                                kind: r.kind,
                                repo: None,
                                events: r.events.clone(),
                            })
                            .collect(),
                    })
                })
                .collect(),
        }
    }

    /// The binary form stored in the index.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(256);
        w.push(FORMAT);
        put_str(&mut w, &self.id);
        put_strs(&mut w, &self.aliases);
        put_opt(&mut w, self.summary.as_deref());
        w.push(rating_byte(self.severity.0));
        match self.severity.1 {
            Some(s) => {
                w.push(1);
                w.extend_from_slice(&s.to_bits().to_le_bytes());
            }
            None => w.push(0),
        }
        put_opt(&mut w, self.severity.2.as_deref());
        put_opt(&mut w, self.url.as_deref());
        put_u32(&mut w, self.affected.len());
        for a in &self.affected {
            put_str(&mut w, &a.ecosystem);
            put_str(&mut w, &a.name);
            put_opt(&mut w, a.informational.as_deref());
            put_strs(&mut w, &a.versions);
            put_u32(&mut w, a.ranges.len());
            for r in &a.ranges {
                w.push(match r.kind {
                    RangeKind::Semver => 0,
                    RangeKind::Ecosystem => 1,
                    RangeKind::Git => 2,
                });
                let n: usize = r.events.iter().map(event_values).sum();
                put_u32(&mut w, n);
                for e in &r.events {
                    for (k, v) in [
                        (0u8, &e.introduced),
                        (1, &e.fixed),
                        (2, &e.last_affected),
                        (3, &e.limit),
                    ] {
                        if let Some(v) = v {
                            w.push(k);
                            put_str(&mut w, v);
                        }
                    }
                }
            }
        }
        w
    }

    /// Decode [`ScanRecord::encode`]'s output; `None` if it is not that (wrong format, cut).
    pub fn decode(bytes: &[u8]) -> Option<ScanRecord> {
        let mut r = Reader { b: bytes };
        if r.byte()? != FORMAT {
            return None;
        }
        let id = r.string()?;
        let aliases = r.strings()?;
        let summary = r.opt()?;
        let rating = byte_rating(r.byte()?)?;
        let score = match r.byte()? {
            0 => None,
            _ => Some(f64::from_bits(u64::from_le_bytes(
                r.take(8)?.try_into().ok()?,
            ))),
        };
        let vector = r.opt()?;
        let url = r.opt()?;
        let n = r.u32()?;
        let mut affected = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let ecosystem = r.string()?;
            let name = r.string()?;
            let informational = r.opt()?;
            let versions = r.strings()?;
            let nr = r.u32()?;
            let mut ranges = Vec::with_capacity(nr.min(64));
            for _ in 0..nr {
                let kind = match r.byte()? {
                    0 => RangeKind::Semver,
                    1 => RangeKind::Ecosystem,
                    2 => RangeKind::Git,
                    _ => return None,
                };
                let ne = r.u32()?;
                let mut events = Vec::with_capacity(ne.min(64));
                for _ in 0..ne {
                    let k = r.byte()?;
                    let v = r.string()?;
                    events.push(match k {
                        0 => Event {
                            introduced: Some(v),
                            ..Event::default()
                        },
                        1 => Event {
                            fixed: Some(v),
                            ..Event::default()
                        },
                        2 => Event {
                            last_affected: Some(v),
                            ..Event::default()
                        },
                        3 => Event {
                            limit: Some(v),
                            ..Event::default()
                        },
                        _ => return None,
                    });
                }
                ranges.push(Range {
                    kind,
                    repo: None,
                    events,
                });
            }
            affected.push(ScanAffected {
                ecosystem,
                name,
                informational,
                versions,
                ranges,
            });
        }
        if !r.b.is_empty() {
            return None;
        }
        Some(ScanRecord {
            id,
            aliases,
            summary,
            severity: (rating, score, vector),
            url,
            affected,
        })
    }
}

/// An event with several fields set (invalid OSV, but parsed) is stored as one event per
/// field, in field order: matching reads each field as its own event anyway.
fn event_values(e: &Event) -> usize {
    [&e.introduced, &e.fixed, &e.last_affected, &e.limit]
        .iter()
        .filter(|v| v.is_some())
        .count()
}

fn rating_byte(r: Rating) -> u8 {
    match r {
        Rating::Unknown => 0,
        Rating::None => 1,
        Rating::Low => 2,
        Rating::Medium => 3,
        Rating::High => 4,
        Rating::Critical => 5,
    }
}

fn byte_rating(b: u8) -> Option<Rating> {
    Some(match b {
        0 => Rating::Unknown,
        1 => Rating::None,
        2 => Rating::Low,
        3 => Rating::Medium,
        4 => Rating::High,
        5 => Rating::Critical,
        _ => return None,
    })
}

fn put_u32(w: &mut Vec<u8>, n: usize) {
    w.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    put_u32(w, s.len());
    w.extend_from_slice(s.as_bytes());
}

fn put_strs(w: &mut Vec<u8>, v: &[String]) {
    put_u32(w, v.len());
    for s in v {
        put_str(w, s);
    }
}

fn put_opt(w: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            w.push(1);
            put_str(w, s);
        }
        None => w.push(0),
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Some(head)
    }
    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u32()?;
        std::str::from_utf8(self.take(n)?).ok().map(str::to_string)
    }
    fn strings(&mut self) -> Option<Vec<String>> {
        let n = self.u32()?;
        let mut out = Vec::with_capacity(n.min(256));
        for _ in 0..n {
            out.push(self.string()?);
        }
        Some(out)
    }
    fn opt(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            _ => Some(Some(self.string()?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv;

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let v = osv::from_json(
            r#"{"id":"RUSTSEC-2021-1","modified":"2023-01-01T00:00:00Z","aliases":["CVE-1","GHSA-x"],
            "summary":"s","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "references":[{"type":"WEB","url":"https://a"},{"type":"ADVISORY","url":"https://b"}],
            "affected":[{"package":{"ecosystem":"crates.io","name":"x"},"versions":["0.1.0"],
              "database_specific":{"informational":"unsound"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"},{"last_affected":"0.9.0"},{"limit":"*"}]},
                        {"type":"GIT","repo":"r","events":[{"introduced":"0"}]}]},
              {"ranges":[]}]}"#,
        )
        .unwrap();
        let r = ScanRecord::from_vulnerability(&v);
        assert_eq!(r.url.as_deref(), Some("https://b"));
        assert_eq!(r.severity.0, Rating::Critical);
        assert_eq!(r.affected.len(), 1);
        assert_eq!(r.affected[0].ranges.len(), 1, "GIT ranges dropped");
        assert_eq!(r.affected[0].informational.as_deref(), Some("unsound"));
        let bytes = r.encode();
        assert_eq!(ScanRecord::decode(&bytes), Some(r));
        assert_eq!(ScanRecord::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(ScanRecord::decode(b"{\"id\":\"x\"}"), None);
        let mut other = bytes.clone();
        other[0] = FORMAT + 1;
        assert_eq!(ScanRecord::decode(&other), None);
    }
}
