//! Tests against the shared third-party data (`../shared/data` beside the workspace).
//! Skipped with a message when the data is absent, except under `CI=true`, where absence fails.

use std::path::PathBuf;

use palisade_deps::index::Index;
use palisade_deps::lockfile;
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

fn npm_lockfile(data: &std::path::Path, file: &str) -> (String, Vec<lockfile::Package>) {
    let path = data.join("lockfiles/npm").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let packages = lockfile::parse_package_lock(&path, &text).unwrap();
    (text, packages)
}

/// Every package of every shared npm lockfile is located at its own entry's key: v2/v3 at its
/// `"node_modules/…": {` key, v1 at its `"name": {` key at its nesting position; no two
/// packages share a line.
#[test]
fn shared_npm_lockfiles_locate_each_package_at_its_own_entry() {
    let Some(data) = shared_data() else { return };
    // (file, v1, (packages, aliased packages))
    for (file, v1, want) in [
        (
            "OWASP_threat-dragon_td.server@6546f9a/package-lock.json",
            true,
            (781, 0),
        ),
        (
            "OWASP_threat-dragon@4fc89c4/package-lock.json",
            false,
            (255, 0),
        ),
        ("OWASP_threat-dragon/package-lock.json", false, (27, 0)),
        (
            "OWASP_threat-dragon_td.server/package-lock.json",
            false,
            (926, 4),
        ),
        ("BookStackApp_BookStack/package-lock.json", false, (650, 0)),
        (
            "firebase_firebase-tools/npm-shrinkwrap.json",
            false,
            (1858, 4),
        ),
    ] {
        let (text, packages) = npm_lockfile(&data, file);
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut aliases = 0;
        let mut seen = std::collections::HashSet::new();
        for p in &packages {
            let at = lines[p.line - 1].trim();
            assert!(
                seen.insert(p.line),
                "{file}: two packages on line {}",
                p.line
            );
            let key = at
                .strip_suffix(": {")
                .unwrap_or_else(|| panic!("{file}: {} at line {}: {at:?}", p.id(), p.line));
            let key = key.trim_matches('"');
            if v1 {
                // No aliases in this file: the key is the name, indented by nesting depth.
                assert_eq!(key, p.name, "{file}:{}", p.line);
                assert_eq!((lines[p.line - 1].len() - at.len() - 4) % 4, 0);
            } else {
                // The directory is the name, or the entry is an alias naming the real package.
                let dir = key.rsplit_once("node_modules/").map(|(_, d)| d);
                assert!(dir.is_some(), "{file}:{}: {key}", p.line);
                let named = doc["packages"][key]["name"].as_str();
                assert!(
                    dir == Some(p.name.as_str()) || named == Some(p.name.as_str()),
                    "{file}:{}: {key} for {}",
                    p.line,
                    p.id()
                );
                aliases += usize::from(dir != Some(p.name.as_str()));
            }
        }
        assert_eq!((packages.len(), aliases), want, "{file}");
    }
    // Exact lines. v1: semver at the top level and nested under @babel/core and semver-diff,
    // ms three levels deep; line 58 (`"semver": "^6.3.0"` in @babel/core's `requires`, the first
    // `"semver":` of the file) locates none of them.
    let has = |packages: &[lockfile::Package], want: (&str, &str, usize)| {
        packages
            .iter()
            .any(|p| (p.name.as_str(), p.version.as_str(), p.line) == want)
    };
    let (_, packages) = npm_lockfile(
        &data,
        "OWASP_threat-dragon_td.server@6546f9a/package-lock.json",
    );
    for want in [
        ("semver", "6.3.0", 62),
        ("semver", "5.7.1", 5520),
        ("semver", "6.3.0", 5535),
        ("ms", "2.0.0", 5571),
    ] {
        assert!(has(&packages, want), "{want:?}");
    }
    assert!(!packages.iter().any(|p| p.line == 58));
    // v2: nested node_modules entries and the top-level ones of the same names.
    let (_, packages) = npm_lockfile(&data, "OWASP_threat-dragon@4fc89c4/package-lock.json");
    for want in [
        ("@opencensus/core", "0.0.9", 17),
        ("@opencensus/core", "0.0.8", 46),
        ("ansi-styles", "4.3.0", 83),
        ("ansi-styles", "3.2.1", 292),
    ] {
        assert!(has(&packages, want), "{want:?}");
    }
}

/// npm aliases in the shared lockfiles are the real packages: the v2 shrinkwrap's
/// `node_modules/pglite-2` (`"name": "@electric-sql/pglite"`) and `node_modules/string-width-cjs`,
/// and the same file's legacy v1 `dependencies` section (`"version": "npm:…@…"`) read alone
/// gives the same packages.
#[test]
fn shared_npm_aliases_are_the_real_packages_in_v1_and_v2_sections() {
    let Some(data) = shared_data() else { return };
    let (text, packages) = npm_lockfile(&data, "firebase_firebase-tools/npm-shrinkwrap.json");
    let find = |line: usize| packages.iter().find(|p| p.line == line).map(|p| p.id());
    assert_eq!(find(17126).as_deref(), Some("@electric-sql/pglite@0.2.17"));
    assert_eq!(find(19500).as_deref(), Some("string-width@4.2.3"));
    for alias in [
        "pglite-2",
        "string-width-cjs",
        "strip-ansi-cjs",
        "wrap-ansi-cjs",
    ] {
        assert!(!packages.iter().any(|p| p.name == alias), "{alias}");
    }
    // @isaacs/cliui depends on string-width ^5 (its nested copy) and on the alias
    // string-width-cjs: edges to both real packages, likewise for strip-ansi and wrap-ansi.
    let cliui = packages.iter().find(|p| p.line == 3423).unwrap();
    assert_eq!(cliui.id(), "@isaacs/cliui@8.0.2");
    assert_eq!(
        cliui.dependencies,
        [
            "string-width@5.1.2",
            "string-width@4.2.3",
            "strip-ansi@7.1.0",
            "strip-ansi@6.0.1",
            "wrap-ansi@8.1.0",
            "wrap-ansi@7.0.0"
        ]
    );
    let mut v1: serde_json::Value = serde_json::from_str(&text).unwrap();
    v1.as_object_mut().unwrap().remove("packages");
    v1["lockfileVersion"] = 1.into();
    let v1_text = serde_json::to_string_pretty(&v1).unwrap();
    let v1_packages =
        lockfile::parse_package_lock(std::path::Path::new("npm-shrinkwrap.json"), &v1_text)
            .unwrap();
    let ids = |ps: &[lockfile::Package]| -> std::collections::BTreeSet<String> {
        ps.iter().map(|p| p.id()).collect()
    };
    assert_eq!(ids(&v1_packages), ids(&packages));
    // The alias entry is located at its own key, the real package's entry at its own.
    let v1_lines: Vec<&str> = v1_text.lines().collect();
    let mut pglite: Vec<(&str, &str)> = v1_packages
        .iter()
        .filter(|p| p.name == "@electric-sql/pglite")
        .map(|p| (p.version.as_str(), v1_lines[p.line - 1].trim()))
        .collect();
    pglite.sort();
    assert_eq!(
        pglite,
        [
            ("0.2.17", "\"pglite-2\": {"),
            ("0.3.3", "\"@electric-sql/pglite\": {")
        ]
    );
}

/// The yarn berry lockfiles of prettier alias string-width, strip-ansi, wrap-ansi (`-cjs`) and
/// react-is (`-18`, `-19`): the packages are the real ones, at their entries' lines, and the
/// dependencies on the aliases are edges to them; no package is listed twice.
#[test]
fn shared_yarn_aliases_are_the_real_packages() {
    let Some(data) = shared_data() else { return };
    let path = data.join("lockfiles/yarn/prettier_prettier/yarn.lock");
    let lf = lockfile::parse_file(&path, lockfile::Kind::YarnLock).unwrap();
    let at = |id: &str| {
        lf.packages
            .iter()
            .filter(|p| p.id() == id)
            .map(|p| p.line)
            .collect::<Vec<_>>()
    };
    assert_eq!(at("string-width@4.2.3"), [8970]);
    assert_eq!(at("strip-ansi@6.0.1"), [9003]);
    assert_eq!(at("wrap-ansi@7.0.0"), [9914]);
    assert_eq!(at("react-is@18.3.1"), [8521]);
    assert_eq!(at("react-is@19.2.7"), [8528]);
    for alias in [
        "string-width-cjs",
        "strip-ansi-cjs",
        "wrap-ansi-cjs",
        "react-is-18",
        "react-is-19",
    ] {
        assert!(!lf.packages.iter().any(|p| p.name == alias), "{alias}");
    }
    let deps = |id: &str| {
        lf.packages
            .iter()
            .find(|p| p.id() == id)
            .unwrap()
            .dependencies
            .clone()
    };
    assert_eq!(
        deps("@isaacs/cliui@8.0.2"),
        [
            "string-width@5.1.2",
            "string-width@4.2.3",
            "strip-ansi@7.2.0",
            "strip-ansi@6.0.1",
            "wrap-ansi@8.1.0",
            "wrap-ansi@7.0.0"
        ]
    );
    assert!(
        deps("pretty-format@30.4.1")
            .ends_with(&["react-is@18.3.1".into(), "react-is@19.2.7".into()])
    );
    for file in [
        "prettier_prettier/yarn.lock",
        "prettier_prettier@053fd41/yarn.lock",
        "prettier_prettier@c453fc9/yarn.lock",
        "CTFd_CTFd_themes-core/yarn.lock",
        "CTFd_CTFd_themes-admin/yarn.lock",
    ] {
        let lf = lockfile::parse_file(
            &data.join("lockfiles/yarn").join(file),
            lockfile::Kind::YarnLock,
        )
        .unwrap();
        let mut ids: Vec<String> = lf.packages.iter().map(|p| p.id()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{file}");
        assert!(
            !lf.packages.iter().any(|p| p.name.ends_with("-cjs")),
            "{file}"
        );
    }
}

/// The shared pnpm v9 lockfile: peer variants (`tsutils@3.21.0(typescript@4.8.4)` and
/// `(typescript@5.1.6)`) are one package with the union of their dependencies; aliases
/// (`string-width-cjs: string-width@4.2.3`) are edges to the real packages; no package twice.
#[test]
fn shared_pnpm_peer_variants_and_aliases() {
    let Some(data) = shared_data() else { return };
    let path = data.join("lockfiles/pnpm/grafana_oncall_grafana-plugin/pnpm-lock.yaml");
    let lf = lockfile::parse_file(&path, lockfile::Kind::PnpmLock).unwrap();
    let mut ids: Vec<String> = lf.packages.iter().map(|p| p.id()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    let find = |id: &str| lf.packages.iter().find(|p| p.id() == id).unwrap();
    let tsutils = find("tsutils@3.21.0");
    assert_eq!(tsutils.line, 6441);
    assert_eq!(
        tsutils.dependencies,
        ["tslib@1.14.1", "typescript@4.8.4", "typescript@5.1.6"]
    );
    assert_eq!(
        find("@isaacs/cliui@8.0.2").dependencies,
        [
            "string-width@5.1.2",
            "string-width@4.2.3",
            "strip-ansi@7.1.0",
            "strip-ansi@6.0.1",
            "wrap-ansi@8.1.0",
            "wrap-ansi@7.0.0"
        ]
    );
    assert!(!lf.packages.iter().any(|p| p.name.ends_with("-cjs")));
}
