//! Matching parsed lockfiles against the index, and grouping the results into findings.
//!
//! [`findings_for_package`] is pure: given a package and the candidate records it returns one
//! finding per vulnerability, records that alias each other (CVE, GHSA, RUSTSEC, PYSEC…) merged.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::cvss::{self, Rating};
use crate::index::Index;
use crate::lockfile::{self, Kind, Lockfile, Package};
use crate::matcher;
use crate::osv::Vulnerability;
use crate::scanrec::ScanRecord;
use crate::version::Ecosystem;
use crate::{Error, Result};

/// What kind of advisory a finding is. Only `Vulnerability` counts towards `--fail-on`; the
/// informational kinds (RustSec's `unsound`, `unmaintained`, `notice`) are reported as warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum AdvisoryKind {
    Vulnerability,
    Unsound,
    Unmaintained,
    Notice,
    Other(String),
}

impl AdvisoryKind {
    fn from_informational(s: Option<&str>) -> AdvisoryKind {
        match s {
            None => AdvisoryKind::Vulnerability,
            Some("unsound") => AdvisoryKind::Unsound,
            Some("unmaintained") => AdvisoryKind::Unmaintained,
            Some("notice") => AdvisoryKind::Notice,
            Some(o) => AdvisoryKind::Other(o.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AdvisoryKind::Vulnerability => "vulnerability",
            AdvisoryKind::Unsound => "unsound",
            AdvisoryKind::Unmaintained => "unmaintained",
            AdvisoryKind::Notice => "notice",
            AdvisoryKind::Other(s) => s,
        }
    }
}

/// One package affected by one vulnerability (aliases merged).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The preferred id (the ecosystem database's own over GHSA over CVE).
    pub id: String,
    /// Every other id of the same vulnerability, sorted.
    pub aliases: Vec<String>,
    pub kind: AdvisoryKind,
    pub package: String,
    pub version: String,
    pub ecosystem: String,
    pub purl: String,
    pub path: PathBuf,
    pub line: usize,
    pub summary: String,
    pub severity: Rating,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss_vector: Option<String>,
    /// Versions that fix it, ascending; empty when no fix is known.
    pub fixed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The outcome of a scan.
#[derive(Debug, Default, Serialize)]
pub struct ScanResult {
    pub lockfiles: Vec<ScannedFile>,
    /// Vulnerabilities.
    pub findings: Vec<Finding>,
    /// Informational advisories (unsound, unmaintained, notice): never fail a scan.
    pub warnings: Vec<Finding>,
    /// Files that could not be scanned (`file:line: message`); the rest were still scanned.
    pub errors: Vec<String>,
}

/// A lockfile that was scanned.
#[derive(Debug, Clone, Serialize)]
pub struct ScannedFile {
    pub path: PathBuf,
    pub kind: Kind,
    pub packages: usize,
}

/// Find lockfiles: files are taken as they are (their kind from the name), directories are
/// walked (skipping `.git`, `node_modules`, `target` and hidden directories).
pub fn discover(paths: &[PathBuf]) -> (Vec<(PathBuf, Kind)>, Vec<Error>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Err(e) => errors.push(Error::io(p, e)),
            Ok(m) if m.is_dir() => walk(p, &mut found, &mut errors),
            Ok(_) => match Kind::detect(p) {
                Some(k) => found.push((p.clone(), k)),
                None => errors.push(Error::parse(p, 0, "not a lockfile Palisade recognises")),
            },
        }
    }
    (found, errors)
}

fn walk(dir: &Path, found: &mut Vec<(PathBuf, Kind)>, errors: &mut Vec<Error>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push(Error::io(dir, e)),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if !(name.starts_with('.') || name == "node_modules" || name == "target") {
                walk(&p, found, errors);
            }
        } else if let Some(k) = Kind::detect(&p) {
            // go.sum lists more than the build uses; go.mod (Go >= 1.17) is the resolved list.
            if k == Kind::GoSum && dir.join("go.mod").is_file() {
                continue;
            }
            found.push((p, k));
        }
    }
}

/// Parse every lockfile, with dependency graphs (for SBOMs); a malformed one is recorded as an
/// error and the others still parse.
pub fn parse_all(files: &[(PathBuf, Kind)]) -> (Vec<Lockfile>, Vec<Error>) {
    parse_all_with(files, lockfile::parse_file)
}

fn parse_all_with(
    files: &[(PathBuf, Kind)],
    parse: fn(&Path, Kind) -> Result<Lockfile>,
) -> (Vec<Lockfile>, Vec<Error>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (p, k) in files {
        match parse(p, *k) {
            Ok(l) => out.push(l),
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

/// Scan `paths` (lockfiles or directories) against `index`.
pub fn scan_paths(index: &Index, paths: &[PathBuf]) -> Result<ScanResult> {
    let (files, mut errors) = discover(paths);
    // A scan does not read dependency graphs: skip building them where that is costly.
    let (lockfiles, parse_errors) = parse_all_with(&files, lockfile::parse_file_for_scan);
    errors.extend(parse_errors);
    let mut result = scan_lockfiles(index, &lockfiles)?;
    result.errors = errors.iter().map(|e| e.to_string()).collect();
    Ok(result)
}

/// Scan a container image (docker-save tarball, OCI layout tar or directory) against `index`.
pub fn scan_image(index: &Index, image: &Path) -> Result<ScanResult> {
    let fs = crate::image::read_image(image)?;
    let (lockfiles, errors) = crate::image::image_lockfiles(image, &fs);
    let mut result = scan_lockfiles(index, &lockfiles)?;
    result.errors = errors.iter().map(|e| e.to_string()).collect();
    Ok(result)
}

/// Match already-parsed lockfiles against `index` (in one read snapshot of it).
pub fn scan_lockfiles(index: &Index, lockfiles: &[Lockfile]) -> Result<ScanResult> {
    index.read_snapshot(|index| scan_lockfiles_in(index, lockfiles))
}

fn scan_lockfiles_in(index: &Index, lockfiles: &[Lockfile]) -> Result<ScanResult> {
    let mut result = ScanResult::default();
    // A file included by several lockfiles (requirements `-r`) is reported once: per declaring
    // file, the (name, version) pairs seen. Consecutive packages share their file, so the map
    // of files is consulted only when it changes.
    let mut seen: FxHashMap<&Path, FxHashSet<(&str, &str)>> = FxHashMap::default();
    // Pass 1: the packages to match, with their normalised names, in report order.
    let mut todo: Vec<(&Package, std::borrow::Cow<'_, str>)> =
        Vec::with_capacity(lockfiles.iter().map(|l| l.packages.len()).sum());
    for lf in lockfiles {
        result.lockfiles.push(ScannedFile {
            path: lf.path.clone(),
            kind: lf.kind,
            packages: lf.packages.len(),
        });
        let mut current: Option<(&Path, FxHashSet<(&str, &str)>)> = None;
        for pkg in &lf.packages {
            let path = pkg.path.as_path();
            if current.as_ref().is_none_or(|(p, _)| *p != path) {
                if let Some((p, set)) = current.take() {
                    seen.insert(p, set);
                }
                current = Some((
                    path,
                    seen.remove(path).unwrap_or_else(|| {
                        FxHashSet::with_capacity_and_hasher(lf.packages.len(), Default::default())
                    }),
                ));
            }
            let Some((_, set)) = current.as_mut() else {
                continue;
            };
            if !set.insert((pkg.name.as_str(), pkg.version.as_str())) || !is_published(pkg) {
                continue;
            }
            let name = pkg
                .os
                .as_ref()
                .map_or(pkg.name.as_str(), |o| o.source_name.as_str());
            todo.push((pkg, pkg.ecosystem.normalize_name(name)));
        }
        if let Some((p, set)) = current {
            seen.insert(p, set);
        }
    }
    match_packages(index, &todo, &mut result)?;
    Ok(result)
}

/// Match packages (with their normalised names) against the index: pass 2, one query per
/// ecosystem for the records of all its names (sorted, distinct); pass 3, each package matched,
/// in order, vulnerabilities into `findings` and other advisories into `warnings`.
fn match_packages(
    index: &Index,
    todo: &[(&Package, std::borrow::Cow<'_, str>)],
    result: &mut ScanResult,
) -> Result<()> {
    let mut wanted: Vec<(&Ecosystem, Vec<&str>)> = Vec::new();
    for (pkg, name) in todo {
        match wanted.iter_mut().find(|(e, _)| *e == &pkg.ecosystem) {
            Some((_, names)) => names.push(name.as_ref()),
            None => wanted.push((&pkg.ecosystem, vec![name.as_ref()])),
        }
    }
    let mut records: HashMap<&Ecosystem, HashMap<String, Vec<ScanRecord>>> = HashMap::new();
    for (eco, mut names) in wanted {
        names.sort_unstable();
        names.dedup();
        records.insert(eco, index.scan_records(eco, &names)?);
    }
    // Pass 3: match, in lockfile order.
    for (pkg, name) in todo {
        let Some(candidates) = records
            .get(&pkg.ecosystem)
            .and_then(|m| m.get(name.as_ref()))
        else {
            continue;
        };
        for f in findings_for_records(pkg, candidates) {
            if f.kind == AdvisoryKind::Vulnerability {
                result.findings.push(f);
            } else {
                result.warnings.push(f);
            }
        }
    }
    Ok(())
}

/// Match packages that are not from a lockfile (an SBOM's components, by package URL).
pub fn scan_packages(index: &Index, packages: &[Package]) -> Result<ScanResult> {
    index.read_snapshot(|index| {
        let mut result = ScanResult::default();
        let todo: Vec<(&Package, std::borrow::Cow<'_, str>)> = packages
            .iter()
            .filter(|p| is_published(p))
            .map(|p| {
                let name =
                    p.os.as_ref()
                        .map_or(p.name.as_str(), |o| o.source_name.as_str());
                (p, p.ecosystem.normalize_name(name))
            })
            .collect();
        match_packages(index, &todo, &mut result)?;
        Ok(result)
    })
}

/// Can advisories about the registry's releases apply? A `Cargo.lock` package without a
/// `source` is a workspace member or path dependency: the project's own code, not the
/// crates.io release of that name (cargo-audit skips them too).
pub fn is_published(pkg: &Package) -> bool {
    !(pkg.ecosystem == Ecosystem::CratesIo && pkg.source.is_none())
}

/// Severity of a record: the base score of its CVSS vectors (record or affected level; the
/// highest CVSS version wins, then the highest score: [`cvss::best`]); else a word in
/// `database_specific.severity`; else `Unknown`. Returns (rating, score, vector).
pub fn severity_of(v: &Vulnerability) -> (Rating, Option<f64>, Option<String>) {
    let mut vectors: Vec<&str> = v
        .severity
        .iter()
        .chain(v.affected.iter().flat_map(|a| a.severity.iter()))
        .map(|s| s.score.as_str())
        .collect();
    for a in &v.affected {
        if let Some(c) = a
            .database_specific
            .as_ref()
            .and_then(|d| d.get("cvss")?.as_str())
        {
            vectors.push(c);
        }
    }
    if let Some((best, vec)) = cvss::best(vectors.iter().copied()) {
        return (
            Rating::from_score(best.score),
            Some(best.score),
            Some(vec.to_string()),
        );
    }
    let word = v
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity")?.as_str())
        .map(Rating::from_word)
        .unwrap_or(Rating::Unknown);
    (word, None, vectors.first().map(|s| s.to_string()))
}

/// The major CVSS version of a scored vector (4 or 3); 0 when unknown.
fn cvss_major(vector: Option<&str>) -> u8 {
    match vector {
        Some(v) if v.starts_with("CVSS:4.") => 4,
        Some(v) if v.starts_with("CVSS:3.") => 3,
        _ => 0,
    }
}

fn id_rank(id: &str) -> u8 {
    if id.starts_with("CVE-") {
        3
    } else if id.starts_with("GHSA-") {
        2
    } else if id.starts_with("OSV-") {
        1
    } else {
        0
    }
}

/// The URL reported with a finding: the first `ADVISORY` reference, else the first one.
pub fn advisory_url(v: &Vulnerability) -> Option<String> {
    v.references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .or_else(|| v.references.first())
        .map(|r| r.url.clone())
}

/// One finding per vulnerability that affects `pkg`, aliases merged. Pure.
pub fn findings_for_package(pkg: &Package, candidates: &[Vulnerability]) -> Vec<Finding> {
    let records: Vec<ScanRecord> = candidates
        .iter()
        .map(ScanRecord::from_vulnerability)
        .collect();
    findings_for_records(pkg, &records)
}

/// [`findings_for_package`] on records already reduced to their [`ScanRecord`] form (what the
/// index stores for scans). Pure.
pub fn findings_for_records(pkg: &Package, candidates: &[ScanRecord]) -> Vec<Finding> {
    let (name, version) = match &pkg.os {
        Some(o) => (o.source_name.as_str(), o.source_version.as_str()),
        None => (pkg.name.as_str(), pkg.version.as_str()),
    };
    let want = pkg.ecosystem.normalize_name(name);
    // (record, kind, fixes) for every record that matches.
    let mut hits: Vec<(&ScanRecord, AdvisoryKind, Vec<String>)> = Vec::new();
    for v in candidates {
        let mut kind = None;
        let mut fixed: Vec<String> = Vec::new();
        for a in &v.affected {
            let eco = Ecosystem::from_osv(&a.ecosystem);
            if eco != pkg.ecosystem || eco.normalize_name(&a.name) != want {
                continue;
            }
            // `Debian:12` applies to release 12 only; a bare `Debian` to every release.
            if let (Some(o), Some((_, release))) = (&pkg.os, a.ecosystem.split_once(':'))
                && release != o.release
            {
                continue;
            }
            if let Some(m) =
                matcher::match_versions_and_ranges(&eco, version, &a.versions, &a.ranges)
            {
                let k = AdvisoryKind::from_informational(a.informational.as_deref());
                kind = Some(kind.map_or(k.clone(), |old: AdvisoryKind| old.min(k)));
                fixed.extend(m.fixed);
            }
        }
        if let Some(k) = kind {
            hits.push((v, k, fixed));
        }
    }
    // Union records whose id sets intersect.
    let ids: Vec<BTreeSet<&str>> = hits
        .iter()
        .map(|(v, _, _)| {
            std::iter::once(v.id.as_str())
                .chain(v.aliases.iter().map(String::as_str))
                .collect()
        })
        .collect();
    let mut group: Vec<usize> = (0..hits.len()).collect();
    for i in 0..hits.len() {
        for j in 0..i {
            if !ids[i].is_disjoint(&ids[j]) {
                let (gi, gj) = (group[i], group[j]);
                for g in group.iter_mut() {
                    if *g == gi {
                        *g = gj;
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut roots: Vec<usize> = group.clone();
    roots.sort();
    roots.dedup();
    for root in roots {
        let members: Vec<usize> = (0..hits.len()).filter(|&i| group[i] == root).collect();
        let mut all_ids: BTreeSet<&str> = BTreeSet::new();
        for &i in &members {
            all_ids.extend(ids[i].iter().copied());
        }
        // The preferred record: its own id ranks best (database-native < OSV < GHSA < CVE).
        let lead = *members
            .iter()
            .min_by_key(|&&i| (id_rank(&hits[i].0.id), hits[i].0.id.clone()))
            .unwrap_or(&root);
        let (lead_v, _, _) = &hits[lead];
        let kind = members
            .iter()
            .map(|&i| hits[i].1.clone())
            .min()
            .unwrap_or(AdvisoryKind::Vulnerability);
        // As within a record: a CVSS score of the highest version, then the highest score; a
        // word rating (no score) only when no member has a score.
        let (mut severity, mut score, mut vector) = (Rating::Unknown, None, None);
        let mut key = (0u8, f64::NEG_INFINITY, Rating::Unknown);
        for &i in &members {
            let (r, s, vec) = &hits[i].0.severity;
            let k = match s {
                Some(s) => (cvss_major(vec.as_deref()), *s, *r),
                None => (0, f64::NEG_INFINITY, *r),
            };
            if (k.0, k.1, k.2).partial_cmp(&key) == Some(std::cmp::Ordering::Greater) {
                (severity, score, vector, key) = (*r, *s, vec.clone(), k);
            }
        }
        let mut fixed: Vec<String> = members
            .iter()
            .flat_map(|&i| hits[i].2.iter().cloned())
            .collect();
        fixed.sort_by(|a, b| pkg.ecosystem.compare(a, b));
        fixed.dedup_by(|a, b| pkg.ecosystem.compare(a, b) == std::cmp::Ordering::Equal);
        let summary = members
            .iter()
            .find_map(|&i| hits[i].0.summary.clone().filter(|s| !s.is_empty()))
            .unwrap_or_default();
        out.push(Finding {
            id: lead_v.id.clone(),
            aliases: all_ids
                .into_iter()
                .filter(|i| *i != lead_v.id)
                .map(String::from)
                .collect(),
            kind,
            package: pkg.name.clone(),
            version: pkg.version.clone(),
            ecosystem: pkg.ecosystem.osv_name().to_string(),
            purl: pkg.purl(),
            path: pkg.path.clone(),
            line: pkg.line,
            summary,
            severity,
            cvss_score: score,
            cvss_vector: vector,
            fixed,
            url: lead_v.url.clone(),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv;

    fn pkg(name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            ecosystem: Ecosystem::PyPI,
            path: "requirements.txt".into(),
            line: 3,
            source: None,
            dependencies: vec![],
            os: None,
        }
    }

    fn rec(json: &str) -> Vulnerability {
        osv::from_json(json).unwrap()
    }

    #[test]
    fn aliased_records_become_one_finding() {
        let pysec = rec(
            r#"{"id":"PYSEC-2023-1","modified":"2023-01-01T00:00:00Z","aliases":["CVE-2023-9","GHSA-aaaa-bbbb-cccc"],
            "summary":"bad","affected":[{"package":{"ecosystem":"PyPI","name":"Foo-Bar"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2"}]}]}]}"#,
        );
        let ghsa = rec(
            r#"{"id":"GHSA-aaaa-bbbb-cccc","modified":"2023-01-01T00:00:00Z","aliases":["CVE-2023-9"],
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected":[{"package":{"ecosystem":"PyPI","name":"foo_bar"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"fixed":"1.1.5"}]}]}]}"#,
        );
        let other = rec(r#"{"id":"PYSEC-2020-7","modified":"2023-01-01T00:00:00Z",
            "affected":[{"package":{"ecosystem":"PyPI","name":"foo-bar"},"versions":["9.9"]}]}"#);
        let f = findings_for_package(&pkg("foo.bar", "1.1"), &[pysec, ghsa, other]);
        assert_eq!(f.len(), 1);
        let f = &f[0];
        assert_eq!(f.id, "PYSEC-2023-1");
        assert_eq!(f.aliases, ["CVE-2023-9", "GHSA-aaaa-bbbb-cccc"]);
        assert_eq!((f.severity, f.cvss_score), (Rating::Critical, Some(9.8)));
        assert_eq!(f.fixed, ["1.1.5", "1.2"]);
        assert_eq!(f.summary, "bad");
        assert_eq!((f.line, f.purl.as_str()), (3, "pkg:pypi/foo-bar@1.1"));
    }

    #[test]
    fn cvss_v4_vectors_are_scored_and_the_highest_version_wins() {
        let v4_only = rec(
            r#"{"id":"GHSA-v4v4-v4v4-v4v4","modified":"2024-01-01T00:00:00Z",
            "severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
            "database_specific":{"severity":"LOW"},
            "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"]}]}"#,
        );
        assert_eq!(
            severity_of(&v4_only),
            (
                Rating::High,
                Some(8.5),
                Some("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into())
            )
        );
        // Both versions in one record: v4.0 (8.5, high) wins over v3.1 (9.8, critical).
        let both = rec(
            r#"{"id":"GHSA-both-both-both","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-1"],
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                        {"type":"CVSS_V4","score":"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
            "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"]}]}"#,
        );
        assert_eq!(severity_of(&both).1, Some(8.5));
        // Merged aliases follow the same rule: the v4-scored record sets the finding's severity
        // over an alias with only a v3 vector, and over one with only a word.
        let v3_alias = rec(
            r#"{"id":"PYSEC-2024-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-1"],
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"]}]}"#,
        );
        let word_alias = rec(
            r#"{"id":"OSV-2024-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-1"],
            "database_specific":{"severity":"CRITICAL"},
            "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"]}]}"#,
        );
        let v4_alias = rec(
            r#"{"id":"GHSA-v4v4-v4v4-aaaa","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-1"],
            "severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
            "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"]}]}"#,
        );
        let f = findings_for_package(&pkg("a", "1.0"), &[v3_alias, word_alias, v4_alias]);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].cvss_score), (Rating::High, Some(8.5)));
        // A malformed v4 vector falls back to the word.
        let broken = rec(r#"{"id":"GHSA-bad","modified":"2024-01-01T00:00:00Z",
            "severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N"}],
            "database_specific":{"severity":"MODERATE"},
            "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"]}]}"#);
        let (r, s, _) = severity_of(&broken);
        assert_eq!((r, s), (Rating::Medium, None));
    }

    #[test]
    fn informational_advisories_are_their_own_kind_and_other_ecosystems_ignored() {
        let unsound = rec(r#"{"id":"RUSTSEC-2020-1","modified":"2023-01-01T00:00:00Z",
            "affected":[{"package":{"ecosystem":"crates.io","name":"x"},"database_specific":{"informational":"unsound"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"}]}]}]}"#);
        let mut p = pkg("x", "1.0.0");
        p.ecosystem = Ecosystem::CratesIo;
        let f = findings_for_package(&p, std::slice::from_ref(&unsound));
        assert_eq!(f[0].kind, AdvisoryKind::Unsound);
        assert_eq!(f[0].severity, Rating::Unknown);
        // The same name in another ecosystem is not affected.
        assert!(findings_for_package(&pkg("x", "1.0.0"), &[unsound]).is_empty());
    }

    #[test]
    fn local_cargo_crates_are_not_matched_against_crates_io_advisories() {
        let mut p = pkg("grep-cli", "0.1.5");
        p.ecosystem = Ecosystem::CratesIo;
        assert!(!is_published(&p));
        p.source = Some("registry+https://github.com/rust-lang/crates.io-index".into());
        assert!(is_published(&p));
        // Other ecosystems rarely record a source: they are always matched.
        assert!(is_published(&pkg("flask", "2.0.0")));
    }
}
