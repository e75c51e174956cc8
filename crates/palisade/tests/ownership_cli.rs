//! Service ownership through the CLI, on the embedded SQLite database and on PostgreSQL (when
//! `PALISADE_TEST_DATABASE_URL` is set; required under `CI=true`): an on-call schedule created
//! from a YAML file, changed by override and layer commands, asked who is on call and for the
//! shifts of a span; an escalation policy paging it; a team; a service they own; how a person is
//! reached; refusals exit 1 naming their rule;
//! `palisade verify` checks the events afterwards.

mod common;

use common::{BIN, ok, palisade, refused, serve_on};
use std::path::Path;
use std::process::Command;

const DEFINITION: &str = "\
# Payments, first line: weekly handoffs at 09:00 Berlin time.
time_zone: Europe/Berlin
description: Payments, first line
layers:
  - participants: [ana, ben]
    rotation: {unit: weekly, length: 1, handoff: \"09:00\"}
    start: 2026-11-30T09:00:00+01:00
";

const NIGHTS: &str = r#"{"participants": ["cy"], "rotation": {"unit": "daily", "length": 1},
  "start": "2026-11-30T22:00:00+01:00",
  "restrictions": [{"type": "daily", "from": "22:00", "to": "06:00"}]}"#;

fn run_ownership(server: &common::Server, dir: &Path) {
    for user in ["ana", "ben", "cy"] {
        ok(
            server,
            &server.admin,
            &["token", "create", "--user", user, "--role", "responder"],
        );
    }
    let file = dir.join("payments.yaml");
    std::fs::write(&file, DEFINITION).unwrap();
    let created = ok(
        server,
        &server.admin,
        &[
            "schedule",
            "create",
            "payments",
            "--file",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        created.contains("payments") && created.contains("Europe/Berlin"),
        "{created}"
    );
    let who = |at: &str| {
        ok(
            server,
            &server.admin,
            &["schedule", "who", "payments", "--at", at],
        )
    };
    assert_eq!(who("2026-12-01T12:00:00+01:00").trim(), "ana");
    assert_eq!(who("2026-12-07T09:00:00+01:00").trim(), "ben");

    // Ben takes over for a day; the override is listed and can be removed by its position.
    ok(
        server,
        &server.admin,
        &[
            "schedule",
            "override",
            "add",
            "payments",
            "--user",
            "ben",
            "--from",
            "2026-12-01T00:00:00Z",
            "--to",
            "2026-12-02T00:00:00Z",
        ],
    );
    assert_eq!(who("2026-12-01T12:00:00Z").trim(), "ben");
    // A layer of nights on top.
    let nights = dir.join("nights.json");
    std::fs::write(&nights, NIGHTS).unwrap();
    ok(
        server,
        &server.admin,
        &[
            "schedule",
            "layer",
            "add",
            "payments",
            "--file",
            nights.to_str().unwrap(),
        ],
    );
    assert_eq!(who("2026-12-03T23:30:00+01:00").trim(), "cy");
    let shifts = ok(
        server,
        &server.admin,
        &[
            "schedule",
            "shifts",
            "payments",
            "--from",
            "2026-12-03T00:00:00Z",
            "--to",
            "2026-12-04T00:00:00Z",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&shifts).unwrap();
    let users: Vec<&str> = v["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["users"][0].as_str().unwrap())
        .collect();
    assert_eq!(users, ["cy", "ana", "cy"], "{shifts}");
    ok(
        server,
        &server.admin,
        &["schedule", "layer", "remove", "payments", "1"],
    );
    ok(
        server,
        &server.admin,
        &["schedule", "override", "remove", "payments", "0"],
    );
    assert_eq!(who("2026-12-01T12:00:00Z").trim(), "ana");

    let shown = ok(
        server,
        &server.admin,
        &["schedule", "show", "payments", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["events"], 5, "{shown}");
    assert_eq!(v["layers"][0]["rotation"]["handoff"], "09:00:00");
    let table = ok(server, &server.admin, &["schedule", "show", "payments"]);
    assert!(
        table.contains("Override 0 removed") && table.contains("ana, ben"),
        "{table}"
    );
    let list = ok(server, &server.admin, &["schedule", "list"]);
    assert!(
        list.contains("payments") && list.contains("Europe/Berlin"),
        "{list}"
    );

    // Refusals: exit 1 with the rule; unknown people and bad files exit non-zero too.
    refused(
        server,
        &server.admin,
        &[
            "schedule",
            "create",
            "mars",
            "--time-zone",
            "Mars/Olympus_Mons",
        ],
        "schedule-zone",
    );
    refused(
        server,
        &server.admin,
        &[
            "schedule",
            "override",
            "add",
            "payments",
            "--user",
            "ana",
            "--from",
            "2026-12-02T00:00:00Z",
            "--to",
            "2026-12-01T00:00:00Z",
        ],
        "schedule-invalid",
    );
    let r = palisade(
        server,
        &server.admin,
        &[
            "schedule",
            "override",
            "add",
            "payments",
            "--user",
            "mallory",
            "--from",
            "2026-12-01T00:00:00Z",
            "--to",
            "2026-12-02T00:00:00Z",
        ],
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("mallory"), "{}", r.stderr);
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "time_zone: [unclosed").unwrap();
    let r = palisade(
        server,
        &server.admin,
        &["schedule", "create", "bad", "--file", bad.to_str().unwrap()],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not valid YAML"), "{}", r.stderr);
    let again = palisade(
        server,
        &server.admin,
        &["schedule", "create", "payments", "--time-zone", "UTC"],
    );
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("another schedule"),
        "{}",
        again.stderr
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
fn service_ownership_through_the_cli_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve_on(&data, None, true);
    run_ownership(&server, dir.path());
    drop(server);
    let out = verify(data.to_str().unwrap(), &[]);
    assert!(out.contains("OK: the ledger verifies"), "{out}");
    // The independent verifier, written from docs/ledger-format.md alone, agrees: streams of
    // the new kinds are checked like every other.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/verify_ledger.py");
    match Command::new("python3").arg(script).arg(&data).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(text.starts_with("OK"), "{text}");
        }
        Err(e) => {
            palisade_test_support::skip_or_fail::<()>("the independent verifier", &e.to_string());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn service_ownership_through_the_cli_on_postgres() {
    let Some(base) = palisade_test_support::pg::base() else {
        return;
    };
    let url = palisade_test_support::pg::fresh_schema(&base).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve_on(&data, Some(&url), true);
    run_ownership(&server, dir.path());
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
    assert!(out.contains("OK: the ledger verifies"), "{out}");
}
