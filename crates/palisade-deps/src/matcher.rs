//! OSV range semantics (<https://ossf.github.io/osv-schema/#evaluation>). Pure: no I/O.
//!
//! A version is affected by an `affected` entry when it is listed in `versions`, or when it
//! falls in one of its `SEMVER`/`ECOSYSTEM` ranges. `GIT` ranges describe commits, not
//! versions, so they never match a version (their enumerated `versions` still do).

use std::cmp::Ordering;

use crate::osv::{Affected, Range, RangeKind};
use crate::version::Ecosystem;

/// The outcome of matching one version against one `affected` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// `fixed` versions above the matched version, ascending: the upgrades that leave the range.
    pub fixed: Vec<String>,
}

/// Does `version` fall in `affected`? Returns the fix versions when it does.
pub fn match_affected(eco: &Ecosystem, version: &str, affected: &Affected) -> Option<Match> {
    match_versions_and_ranges(eco, version, &affected.versions, &affected.ranges)
}

/// [`match_affected`] on an entry's parts (`versions`, `ranges`).
pub fn match_versions_and_ranges(
    eco: &Ecosystem,
    version: &str,
    versions: &[String],
    ranges: &[Range],
) -> Option<Match> {
    let listed = versions
        .iter()
        .any(|v| v == version || eco.compare(v, version) == Ordering::Equal);
    let mut hit = listed;
    let mut fixed: Vec<String> = Vec::new();
    for range in ranges {
        if range.kind == RangeKind::Git {
            continue;
        }
        let inside = in_range(eco, version, range);
        hit |= inside;
        if inside || listed {
            for e in &range.events {
                if let Some(f) = &e.fixed
                    && eco.compare(f, version) == Ordering::Greater
                {
                    fixed.push(f.clone());
                }
            }
        }
    }
    if !hit {
        return None;
    }
    fixed.sort_by(|a, b| eco.compare(a, b));
    fixed.dedup_by(|a, b| eco.compare(a, b) == Ordering::Equal);
    Some(Match { fixed })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fixed,
    LastAffected,
    Introduced,
}

/// Is `version` inside one `SEMVER`/`ECOSYSTEM` range? (`GIT` ranges: always false.)
pub fn in_range(eco: &Ecosystem, version: &str, range: &Range) -> bool {
    if range.kind == RangeKind::Git {
        return false;
    }
    let mut events: Vec<(Kind, &str)> = Vec::new();
    let mut limits: Vec<&str> = Vec::new();
    for e in &range.events {
        if let Some(v) = &e.introduced {
            events.push((Kind::Introduced, v));
        }
        if let Some(v) = &e.fixed {
            events.push((Kind::Fixed, v));
        }
        if let Some(v) = &e.last_affected {
            events.push((Kind::LastAffected, v));
        }
        if let Some(v) = &e.limit {
            limits.push(v);
        }
    }
    let key_cmp = |a: &str, b: &str| match (a == "0", b == "0") {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => eco.compare(a, b),
    };
    // A stable sort by version: events at the same version keep the record's order, as the
    // spec's evaluation does. So `introduced: X, fixed: X` is an empty interval (RustSec writes
    // these for "unaffected" ranges) and `fixed: X, introduced: X` joins two intervals.
    events.sort_by(|(_, va), (_, vb)| key_cmp(va, vb));
    let mut affected = false;
    for (kind, v) in events {
        let ord = if v == "0" {
            Ordering::Greater
        } else {
            eco.compare(version, v)
        };
        match kind {
            Kind::Introduced if ord != Ordering::Less => affected = true,
            Kind::Fixed if ord != Ordering::Less => affected = false,
            Kind::LastAffected if ord == Ordering::Greater => affected = false,
            _ => {}
        }
    }
    let bounded: Vec<&str> = limits.into_iter().filter(|l| *l != "*").collect();
    if affected && !bounded.is_empty() {
        affected = bounded
            .iter()
            .any(|l| eco.compare(version, l) == Ordering::Less);
    }
    affected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Event;

    fn range(kind: RangeKind, events: Vec<Event>) -> Range {
        Range {
            kind,
            repo: None,
            events,
        }
    }

    fn affected(ranges: Vec<Range>, versions: &[&str]) -> Affected {
        Affected {
            ranges,
            versions: versions.iter().map(|s| s.to_string()).collect(),
            ..Affected::default()
        }
    }

    /// (description, ecosystem, affected entry, [(version, expected affected?, expected fixes)])
    type Case = (
        &'static str,
        Ecosystem,
        Affected,
        Vec<(&'static str, bool, Vec<&'static str>)>,
    );

    fn check(cases: Vec<Case>) {
        for (what, eco, aff, probes) in cases {
            for (v, want, fixes) in probes {
                let got = match_affected(&eco, v, &aff);
                assert_eq!(got.is_some(), want, "{what}: version {v}");
                if let Some(m) = got {
                    assert_eq!(m.fixed, fixes, "{what}: fixes for {v}");
                }
            }
        }
    }

    #[test]
    fn osv_range_semantics() {
        use Event as E;
        use RangeKind as K;
        check(vec![
            (
                "introduced 0, fixed",
                Ecosystem::CratesIo,
                affected(
                    vec![range(
                        K::Semver,
                        vec![E::introduced("0"), E::fixed("0.5.2")],
                    )],
                    &[],
                ),
                vec![
                    ("0.5.1", true, vec!["0.5.2"]),
                    ("0.5.2", false, vec![]),
                    ("0.0.1", true, vec!["0.5.2"]),
                ],
            ),
            (
                "introduced 0.0.0-0 covers pre-releases",
                Ecosystem::CratesIo,
                affected(
                    vec![range(
                        K::Semver,
                        vec![E::introduced("0.0.0-0"), E::fixed("1.0.0")],
                    )],
                    &[],
                ),
                vec![
                    ("0.0.0-alpha", true, vec!["1.0.0"]),
                    ("1.0.0-rc.1", true, vec!["1.0.0"]),
                    ("1.0.0", false, vec![]),
                ],
            ),
            (
                "several intervals in one range",
                Ecosystem::CratesIo,
                affected(
                    vec![range(
                        K::Semver,
                        vec![
                            E::introduced("0"),
                            E::fixed("1.2.3"),
                            E::introduced("2.0.0"),
                            E::fixed("2.1.1"),
                        ],
                    )],
                    &[],
                ),
                vec![
                    ("1.0.0", true, vec!["1.2.3", "2.1.1"]),
                    ("1.5.0", false, vec![]),
                    ("2.0.0", true, vec!["2.1.1"]),
                    ("2.1.1", false, vec![]),
                    ("3.0.0", false, vec![]),
                ],
            ),
            (
                "events in any order",
                Ecosystem::CratesIo,
                affected(
                    vec![range(
                        K::Semver,
                        vec![E::fixed("2.0.0"), E::introduced("1.0.0")],
                    )],
                    &[],
                ),
                vec![
                    ("0.9.0", false, vec![]),
                    ("1.0.0", true, vec!["2.0.0"]),
                    ("2.0.0", false, vec![]),
                ],
            ),
            (
                "last_affected is inclusive",
                Ecosystem::PyPI,
                affected(
                    vec![range(
                        K::Ecosystem,
                        vec![E::introduced("1.0"), E::last_affected("1.4")],
                    )],
                    &[],
                ),
                vec![
                    ("1.4", true, vec![]),
                    ("1.4.0", true, vec![]),
                    ("1.4.post1", false, vec![]),
                    ("0.9", false, vec![]),
                ],
            ),
            (
                "no fix: open-ended",
                Ecosystem::PyPI,
                affected(vec![range(K::Ecosystem, vec![E::introduced("2.0")])], &[]),
                vec![("1.9", false, vec![]), ("99.0", true, vec![])],
            ),
            (
                "limit bounds the range",
                Ecosystem::CratesIo,
                affected(
                    vec![range(
                        K::Semver,
                        vec![E::introduced("1.0.0"), E::limit("1.5.0")],
                    )],
                    &[],
                ),
                vec![("1.4.9", true, vec![]), ("1.5.0", false, vec![])],
            ),
            (
                "limit * is unbounded",
                Ecosystem::CratesIo,
                affected(
                    vec![range(
                        K::Semver,
                        vec![E::introduced("1.0.0"), E::limit("*")],
                    )],
                    &[],
                ),
                vec![("9.0.0", true, vec![])],
            ),
            (
                "explicit versions list, PEP 440 equality",
                Ecosystem::PyPI,
                affected(vec![], &["1.0", "1.1"]),
                vec![
                    ("1.0.0", true, vec![]),
                    ("1.1", true, vec![]),
                    ("1.2", false, vec![]),
                ],
            ),
            (
                "GIT range never matches a version, its versions list does",
                Ecosystem::PyPI,
                affected(
                    vec![range(
                        K::Git,
                        vec![
                            E::introduced("0"),
                            E::fixed("b27f38a67573f4c989710c9bfb726dd4c1eeb929"),
                        ],
                    )],
                    &["0.3.10"],
                ),
                vec![("0.3.10", true, vec![]), ("0.3.11", false, vec![])],
            ),
            (
                "versions list plus ecosystem range gives the fix",
                Ecosystem::PyPI,
                affected(
                    vec![range(
                        K::Ecosystem,
                        vec![E::introduced("0"), E::fixed("0.9.0")],
                    )],
                    &["0.8.0"],
                ),
                vec![("0.8.0", true, vec!["0.9.0"]), ("0.9.0", false, vec![])],
            ),
            (
                "an empty interval at equal versions (RUSTSEC-2024-0399 rustls) affects nothing",
                Ecosystem::CratesIo,
                affected(
                    vec![range(
                        K::Semver,
                        vec![
                            E::introduced("0.23.0"),
                            E::fixed("0.23.0"),
                            E::introduced("0.23.13"),
                            E::fixed("0.23.18"),
                        ],
                    )],
                    &[],
                ),
                vec![
                    ("0.23.12", false, vec![]),
                    ("0.23.0", false, vec![]),
                    ("0.23.13", true, vec!["0.23.18"]),
                    ("0.23.18", false, vec![]),
                ],
            ),
            (
                "adjacent intervals keep the boundary affected",
                Ecosystem::CratesIo,
                affected(
                    vec![range(
                        K::Semver,
                        vec![
                            E::introduced("1.0.0"),
                            E::fixed("2.0.0"),
                            E::introduced("2.0.0"),
                            E::fixed("3.0.0"),
                        ],
                    )],
                    &[],
                ),
                vec![
                    ("2.0.0", true, vec!["3.0.0"]),
                    ("2.5.0", true, vec!["3.0.0"]),
                ],
            ),
            (
                "several ranges: any one matches",
                Ecosystem::Npm,
                affected(
                    vec![
                        range(K::Semver, vec![E::introduced("0"), E::fixed("4.17.21")]),
                        range(K::Semver, vec![E::introduced("5.0.0"), E::fixed("5.0.1")]),
                    ],
                    &[],
                ),
                vec![
                    ("4.17.20", true, vec!["4.17.21"]),
                    ("5.0.0", true, vec!["5.0.1"]),
                    ("4.17.21", false, vec![]),
                ],
            ),
            (
                "ECOSYSTEM range uses the ecosystem ordering (dpkg)",
                Ecosystem::Debian,
                affected(
                    vec![range(
                        K::Ecosystem,
                        vec![E::introduced("0"), E::fixed("1.0-1+deb12u1")],
                    )],
                    &[],
                ),
                vec![
                    ("1.0-1", true, vec!["1.0-1+deb12u1"]),
                    ("1.0~rc1-1", true, vec!["1.0-1+deb12u1"]),
                    ("1.0-1+deb12u1", false, vec![]),
                ],
            ),
        ]);
    }
}
