//! Both scanners' SARIF, from the real binary, validated against the OASIS SARIF 2.1.0 schema
//! (`../shared/data/schemas/sarif-schema-2.1.0.json`, format assertions on): `scan deps` with a
//! vulnerability, an informational advisory and a lockfile that cannot be parsed, and
//! `scan secrets` with findings and a file skipped for its size. Both go through
//! `palisade-sarif`, so they share the driver, URI encoding, rules with help text,
//! `partialFingerprints`, and the invocation's notifications.

use std::path::Path;
use std::process::{Command, Output};

use palisade_test_support::SarifSchema;
use serde_json::Value;

// A synthetic token, split so this file itself does not contain a whole one.
const GH: &str = concat!("gh", "p_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5");

/// Valid SARIF 2.1.0, and the schema check is real: a document it forbids is rejected.
fn check(v: &SarifSchema, what: &str, doc: &Value) {
    if let Some(e) = v.errors(doc) {
        panic!("{what}: SARIF does not validate: {e}\n{doc:#}");
    }
    let mut broken = doc.clone();
    broken["runs"][0]["invocations"][0]["executionSuccessful"] = Value::from("yes");
    assert!(
        v.errors(&broken).is_some(),
        "{what}: the schema check is real"
    );
}

fn palisade(cwd: &Path, data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .current_dir(cwd)
        .args(args)
        .env("PALISADE_DATA_DIR", data)
        .env("HOME", cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("run palisade: {e}"))
}

fn sarif_of(what: &str, o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

const ADVISORIES: [(&str, &str); 2] = [
    (
        "vuln.json",
        r#"{
  "id": "RUSTSEC-2099-0001", "modified": "2024-01-01T00:00:00Z",
  "aliases": ["CVE-2099-1"], "summary": "demo overflow",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
  "references": [{"type": "ADVISORY", "url": "https://rustsec.org/advisories/RUSTSEC-2099-0001"}],
  "affected": [{"package": {"ecosystem": "crates.io", "name": "demo"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0.0.0-0"}, {"fixed": "1.2.0"}]}]}]
}"#,
    ),
    (
        "info.json",
        r#"{
  "id": "RUSTSEC-2099-0002", "modified": "2024-01-01T00:00:00Z", "summary": "old is unmaintained",
  "affected": [{"package": {"ecosystem": "crates.io", "name": "old"},
    "database_specific": {"informational": "unmaintained"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0.0.0-0"}]}]}]
}"#,
    ),
];

const LOCK: &str = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["demo", "old"]

[[package]]
name = "demo"
version = "1.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "old"
version = "0.3.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

fn results(doc: &Value) -> Vec<Value> {
    doc["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn uri(result: &Value) -> &Value {
    &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
}

fn notifications(doc: &Value) -> Vec<(String, String)> {
    doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n["level"].as_str().unwrap_or("").to_string(),
                n["message"]["text"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn both_scanners_write_valid_sarif_with_help_fingerprints_and_notifications() {
    let Some(v) = SarifSchema::load() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = dir.path();
    let data = root.join("data");

    // scan deps
    for (name, text) in ADVISORIES {
        write(root, name, text);
        let o = palisade(root, &data, &["db", "import", name]);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
    }
    write(root, "proj/dir with space/Cargo.lock", LOCK);
    write(root, "proj/broken/Cargo.lock", "this is [not toml\n");
    let o = palisade(root, &data, &["scan", "deps", "proj", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(2), "a lockfile could not be parsed");
    let deps = sarif_of("scan deps", &o);
    check(&v, "scan deps", &deps);
    let rs = results(&deps);
    let ids: Vec<&str> = rs.iter().filter_map(|r| r["ruleId"].as_str()).collect();
    assert_eq!(ids, ["RUSTSEC-2099-0001", "RUSTSEC-2099-0002"]);
    assert_eq!(rs[0]["level"], "warning", "CVSS 5.9 is medium");
    assert_eq!(rs[1]["level"], "note", "informational advisories are notes");
    for r in &rs {
        assert_eq!(uri(r), "proj/dir%20with%20space/Cargo.lock");
        assert!(
            r["partialFingerprints"]["palisadeDeps/v1"].is_string(),
            "{r}"
        );
    }
    let rules = &deps["runs"][0]["tool"]["driver"]["rules"];
    assert_eq!(rules[0]["properties"]["security-severity"], "5.9");
    let help = rules[0]["help"]["text"].as_str().unwrap_or("");
    assert!(help.contains("Also known as: CVE-2099-1"), "{help}");
    assert!(
        help.contains("rustsec.org/advisories/RUSTSEC-2099-0001"),
        "{help}"
    );
    assert!(
        rules[1]["help"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("(unmaintained): reported, never fails the scan"),
        "{rules}"
    );
    assert_eq!(
        deps["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
    let notes = notifications(&deps);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].0, "error");
    assert!(notes[0].1.contains("broken/Cargo.lock"), "{notes:?}");

    // scan secrets
    let src = root.join("src");
    write(&src, "dir with space/conf.yml", format!("token: {GH}\n"));
    write(&src, "big.txt", "x".repeat(4096));
    let o = palisade(
        &src,
        &data,
        &[
            "scan",
            "secrets",
            ".",
            "--format",
            "sarif",
            "--max-file-size",
            "1K",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let secrets = sarif_of("scan secrets", &o);
    check(&v, "scan secrets", &secrets);
    let rs = results(&secrets);
    assert_eq!(rs.len(), 1, "{rs:?}");
    assert_eq!(uri(&rs[0]), "dir%20with%20space/conf.yml");
    assert_eq!(
        rs[0]["partialFingerprints"]["palisadeSecret/v1"]
            .as_str()
            .map(str::len),
        Some(64)
    );
    let rule = &secrets["runs"][0]["tool"]["driver"]["rules"]
        [rs[0]["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize];
    assert_eq!(rule["id"], rs[0]["ruleId"]);
    assert!(
        rule["help"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("revoke or rotate"),
        "{rule}"
    );
    assert_eq!(
        secrets["runs"][0]["invocations"][0]["executionSuccessful"], true,
        "a file skipped for its size is a warning"
    );
    let notes = notifications(&secrets);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].0, "warning");
    assert!(notes[0].1.starts_with("big.txt: skipped"), "{notes:?}");

    // One writer: the same driver in both.
    for doc in [&deps, &secrets] {
        let d = &doc["runs"][0]["tool"]["driver"];
        assert_eq!(d["name"], "palisade");
        assert_eq!(d["semanticVersion"], env!("CARGO_PKG_VERSION"));
        assert_eq!(doc["$schema"], deps["$schema"]);
    }
}
