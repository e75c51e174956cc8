//! Data written by the previous release (schema 3, ledger format 1: see
//! tests/fixtures/schema-v3/README.md) upgrades in place: it verifies before the upgrade (read
//! as it is), the server migrates it on start, the old incidents fold and take new format-2
//! events, and everything verifies after — with `palisade verify` and with the independent
//! verifier written from docs/ledger-format.md. On SQLite always; on PostgreSQL when
//! `PALISADE_TEST_DATABASE_URL` is set (required under `CI=true`).

mod common;

use common::{BIN, Server, ok, serve_on};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/schema-v3")
        .join(name)
}

/// Copy a fixture's data directory (keys back to mode 0600: git keeps no permissions).
fn copy_data_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_data_dir(&entry.path(), &target);
        } else if entry.file_name() != "dump.sql" && entry.file_name() != "admin-token" {
            std::fs::copy(entry.path(), &target).unwrap();
            if entry.file_name().to_string_lossy().ends_with(".key") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
    }
}

fn verify(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("verify")
        .args(args)
        .env_remove("PALISADE_DATA_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("OK: the ledger verifies"), "{text}");
    text
}

/// After the upgrade: the old restricted incident folds (its timeline, evidence and reads as
/// recorded), takes a new event from its commander, and the new event is format 2 while the
/// old ones keep format 1.
fn use_the_upgraded_data(server: &Server, admin: &str) {
    let list = ok(server, admin, &["incident", "list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    // The admin is no member of the restricted incident: only the operational one is listed.
    assert_eq!(list["incidents"].as_array().unwrap().len(), 1, "{list}");
    let dana = ok(
        server,
        admin,
        &["token", "create", "--user", "dana", "--format", "json"],
    );
    let dana: serde_json::Value = serde_json::from_str(&dana).unwrap();
    let dana = dana["token"].as_str().unwrap().to_string();
    let mine = ok(server, &dana, &["incident", "list", "--format", "json"]);
    let mine: serde_json::Value = serde_json::from_str(&mine).unwrap();
    let restricted = mine["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["restricted"] == true)
        .expect("dana sees her restricted incident")
        .clone();
    let cn = restricted["codename"].as_str().unwrap().to_string();
    let before: serde_json::Value = serde_json::from_str(&ok(
        server,
        &dana,
        &["incident", "show", &cn, "--format", "json"],
    ))
    .unwrap();
    assert_eq!(before["commander"], "dana");
    assert_eq!(before["evidence"], 1);
    assert_eq!(before["steps"][0]["status"], "done");
    ok(
        server,
        &dana,
        &["incident", "note", &cn, "recorded after the upgrade"],
    );
    ok(server, &dana, &["incident", "step", "start", &cn, "2"]);
    let events: serde_json::Value = serde_json::from_str(&ok(
        server,
        &dana,
        &["incident", "events", &cn, "--format", "json"],
    ))
    .unwrap();
    let formats: Vec<u64> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["format"].as_u64().unwrap())
        .collect();
    assert_eq!(formats[0], 1, "the declaration keeps format 1");
    assert_eq!(*formats.last().unwrap(), 2, "new events are format 2");
    let note = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["data"]["text"] == "recorded after the upgrade")
        .expect("the new note is in the ledger");
    assert_eq!(
        note["event"]["stream"],
        format!("incident/{}", before["id"].as_str().unwrap())
    );
    // A new kind of stream beside them.
    ok(server, &dana, &["service", "create", "checkout"]);
}

#[test]
fn a_schema_3_data_directory_upgrades_in_place_and_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_data_dir(&fixture("sqlite"), &data);
    let path = data.to_str().unwrap();
    // Read as it is, without upgrading it.
    let before = verify(&[path]);
    assert!(before.contains("2 incidents, 10 events"), "{before}");
    let db = rusqlite::Connection::open(data.join("palisade.db")).unwrap();
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3, "verify does not upgrade");
    drop(db);

    let admin = std::fs::read_to_string(fixture("sqlite").join("admin-token")).unwrap();
    let server = serve_on(&data, None, false);
    use_the_upgraded_data(&server, admin.trim());
    drop(server);

    let after = verify(&[path]);
    assert!(after.contains("1 services, 2 incidents"), "{after}");
    let python = palisade_test_support::tool("python3", "apt-get install python3");
    if python.is_some() {
        let script = palisade_test_support::workspace_root().join("docs/verify_ledger.py");
        let out = Command::new("python3")
            .arg(script)
            .arg(&data)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.starts_with("OK 3 streams"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schema_3_postgres_database_upgrades_in_place_and_still_verifies() {
    let Some(base) = palisade_test_support::pg::base() else {
        return;
    };
    let dump = std::fs::read_to_string(fixture("postgres").join("dump.sql")).unwrap();
    let (url, schema) = palisade_test_support::pg::restore(&base, &dump).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_data_dir(&fixture("postgres"), &data);
    let key = data.join("ledger-signing.pub");
    let witness = data.join("witness.log");
    let args = [
        url.as_str(),
        "--public-key",
        key.to_str().unwrap(),
        "--witness",
        witness.to_str().unwrap(),
    ];
    let before = verify(&args);
    assert!(before.contains("2 incidents, 10 events"), "{before}");

    let admin = std::fs::read_to_string(fixture("postgres").join("admin-token")).unwrap();
    let server = serve_on(&data, Some(&url), false);
    use_the_upgraded_data(&server, admin.trim());
    drop(server);
    let after = verify(&args);
    assert!(after.contains("1 services, 2 incidents"), "{after}");
    let version = palisade_test_support::pg::query_i64(
        &url,
        &format!("SELECT version FROM {schema}.palisade_schema"),
    )
    .await;
    assert_eq!(version, palisade_store::SCHEMA_VERSION);
}
