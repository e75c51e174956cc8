//! Tests against the shared third-party data (`../shared/data` beside the workspace).
//! Skipped with a message when the data is absent, except under `CI=true`, where absence fails.

use std::path::PathBuf;

use palisade_deps::index::Index;
use palisade_deps::version::Ecosystem;

fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.join("osv").is_dir() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "shared data not found at {} (required when CI=true)",
            p.display()
        );
    }
    eprintln!("SKIP: shared data not found at {}", p.display());
    None
}

#[test]
fn imports_all_shared_osv_data_with_warnings_for_the_seven_nonconforming_records() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut ix = Index::open(&dir.path().join("ix.sqlite3")).unwrap();
    let r = ix
        .import_paths(&[data.join("osv/crates.io"), data.join("osv/PyPI")])
        .unwrap();
    assert_eq!(r.read, 1206 + 2661);
    assert_eq!(r.written, r.read);
    let mut flagged: Vec<&str> = r
        .warnings
        .iter()
        .filter_map(|w| w.split(": ").nth(1))
        .collect();
    flagged.sort();
    flagged.dedup();
    assert_eq!(
        flagged,
        [
            "PYSEC-2017-27",
            "PYSEC-2019-155",
            "PYSEC-2021-371",
            "PYSEC-2021-424",
            "PYSEC-2021-425",
            "PYSEC-2021-436",
            "PYSEC-2023-80"
        ]
    );
    let st = ix.status().unwrap();
    let names: Vec<&str> = st.iter().map(|s| s.ecosystem.as_str()).collect();
    assert_eq!(names, ["PyPI", "crates.io"]);
    assert_eq!(
        st.iter().map(|s| s.records + s.withdrawn).sum::<u64>(),
        1206 + 2661
    );
    // The known-vulnerable base64 of cargo-audit's fixture is in the index.
    let hits = ix.lookup(&Ecosystem::CratesIo, "base64").unwrap();
    assert!(hits.iter().any(|v| v.id == "RUSTSEC-2017-0004"));
    // Re-import changes nothing.
    let again = ix.import_paths(&[data.join("osv/crates.io")]).unwrap();
    assert_eq!((again.written, again.unchanged), (0, 1206));
}

/// Every CVSS vector in the shared OSV data has a base score, and every record whose only
/// vectors are v4.0 gets its severity from them (not `unknown`).
#[test]
fn every_shared_cvss_vector_is_scored_and_v4_only_records_are_rated() {
    use palisade_deps::cvss::{self, Rating, Version};
    let Some(data) = shared_data() else { return };
    let (mut v3, mut v4, mut v4_only) = (0, 0, 0);
    for eco in ["crates.io", "PyPI"] {
        for e in std::fs::read_dir(data.join("osv").join(eco)).unwrap() {
            let path = e.unwrap().path();
            let rec = palisade_deps::osv::from_json(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let vectors: Vec<&str> = rec
                .severity
                .iter()
                .chain(rec.affected.iter().flat_map(|a| a.severity.iter()))
                .map(|s| s.score.as_str())
                .collect();
            for v in &vectors {
                let s = cvss::base_score(v).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                match s.version {
                    Version::V4_0 => v4 += 1,
                    _ => v3 += 1,
                }
            }
            if !vectors.is_empty() && vectors.iter().all(|v| v.starts_with("CVSS:4.0/")) {
                v4_only += 1;
                let (rating, score, _) = palisade_deps::scan::severity_of(&rec);
                assert_ne!(rating, Rating::Unknown, "{}", path.display());
                assert_eq!(rating, Rating::from_score(score.unwrap()));
            }
        }
    }
    assert_eq!((v3, v4, v4_only), (562, 57, 57));
}
