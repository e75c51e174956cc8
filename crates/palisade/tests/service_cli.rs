//! A service — the first aggregate that is not an incident — through the CLI: created, renamed,
//! shown, its events appended to the same signed ledger, and `palisade verify` checking them, on
//! the embedded SQLite database and on PostgreSQL (when `PALISADE_TEST_DATABASE_URL` is set;
//! required under `CI=true`).

mod common;

use common::{BIN, ok, palisade, serve_on};
use std::path::Path;
use std::process::Command;

/// Create, rename, show and list a service as a responder; a viewer may read but not rename.
fn run_services(server: &common::Server) {
    let sam = ok(
        server,
        &server.admin,
        &[
            "token",
            "create",
            "--user",
            "sam",
            "--role",
            "responder",
            "--format",
            "json",
        ],
    );
    let sam: serde_json::Value = serde_json::from_str(&sam).unwrap();
    let sam = sam["token"].as_str().unwrap().to_string();
    let created = ok(
        server,
        &sam,
        &[
            "service",
            "create",
            "payments-api",
            "--description",
            "Card payments",
        ],
    );
    assert!(created.contains("payments-api"), "{created}");
    let renamed = ok(
        server,
        &sam,
        &["service", "rename", "payments-api", "payments"],
    );
    assert!(
        renamed.contains("Renamed from payments-api to payments"),
        "{renamed}"
    );
    let shown = ok(
        server,
        &sam,
        &["service", "show", "payments", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["name"], "payments");
    assert_eq!(v["events"], 2);
    assert_eq!(v["history"][1]["actor"], "sam");
    let list = ok(server, &sam, &["service", "list"]);
    assert!(
        list.contains("payments") && list.contains("Card payments"),
        "{list}"
    );
    // A taken name is refused (exit 1), naming why.
    let again = palisade(server, &sam, &["service", "create", "payments"]);
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    assert!(again.stderr.contains("taken"), "{}", again.stderr);
    // Viewers read services but do not change them.
    let vic = ok(
        server,
        &server.admin,
        &[
            "token", "create", "--user", "vic", "--role", "viewer", "--format", "json",
        ],
    );
    let vic: serde_json::Value = serde_json::from_str(&vic).unwrap();
    let vic = vic["token"].as_str().unwrap();
    ok(server, vic, &["service", "show", "payments"]);
    let refused = palisade(server, vic, &["service", "rename", "payments", "pay"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    // And an incident beside it, on the same ledger.
    ok(
        server,
        &sam,
        &[
            "incident",
            "declare",
            "--title",
            "Card data in logs",
            "--severity",
            "SEV-2",
        ],
    );
}

fn verify(target: &str, extra: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("verify")
        .arg(target)
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn a_service_is_recorded_signed_and_verified_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve_on(&data, None, true);
    run_services(&server);
    drop(server);
    let out = verify(data.to_str().unwrap(), &[]);
    assert!(out.contains("1 services, 1 incidents"), "{out}");
    assert!(out.contains("OK: the ledger verifies"), "{out}");
    tampered_service_event_fails(&data);
}

/// A changed field of a service event is found, and named as a service's.
fn tampered_service_event_fails(data: &Path) {
    let db = rusqlite::Connection::open(data.join("palisade.db")).unwrap();
    db.execute_batch(
        "DROP TRIGGER ledger_events_no_update;
         UPDATE ledger_events SET body = replace(body, 'Card payments', 'Card games') WHERE body LIKE '%Card payments%';",
    )
    .unwrap();
    drop(db);
    let out = Command::new(BIN)
        .args(["verify", "--format", "json"])
        .arg(data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failures"][0]["kind"], "service", "{report}");
    assert!(report["failures"][0]["incident"].is_null(), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_is_recorded_signed_and_verified_on_postgres() {
    let Some(base) = palisade_test_support::pg::base() else {
        return;
    };
    let url = palisade_test_support::pg::fresh_schema(&base).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve_on(&data, Some(&url), true);
    run_services(&server);
    drop(server);
    let key = data.join("ledger-signing.pub");
    let witness = data.join("witness.log");
    let out = verify(
        &url,
        &[
            "--public-key",
            key.to_str().unwrap(),
            "--witness",
            witness.to_str().unwrap(),
        ],
    );
    assert!(out.contains("1 services, 1 incidents"), "{out}");
    assert!(out.contains("OK: the ledger verifies"), "{out}");
}
