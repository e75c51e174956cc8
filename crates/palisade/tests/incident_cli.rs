//! The real binary, as a new user would drive it: `palisade serve` on a fresh data directory,
//! then a scripted session through the CLI that takes a security incident from declared through
//! all 14 steps to closed, with each process rule refusing what it must; then `palisade verify`,
//! which passes, and catches tampering.

mod common;

use common::{BIN, ok, palisade, refused, serve};
use std::process::Command;

#[test]
fn a_security_incident_from_declared_to_closed_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data);
    let admin = server.admin.clone();

    let created = ok(
        &server,
        &admin,
        &[
            "token",
            "create",
            "--user",
            "dana",
            "--role",
            "responder",
            "--format",
            "json",
        ],
    );
    let dana: serde_json::Value = serde_json::from_str(&created).unwrap();
    let dana = dana["token"].as_str().unwrap().to_string();
    ok(
        &server,
        &admin,
        &["token", "create", "--user", "sam", "--role", "responder"],
    );
    assert!(ok(&server, &dana, &["token", "whoami"]).starts_with("dana (responder)"));

    let declared = ok(
        &server,
        &dana,
        &[
            "incident",
            "declare",
            "--title",
            "Unknown admin logins",
            "--severity",
            "SEV-1",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&declared).unwrap();
    let cn = v["codename"].as_str().unwrap().to_string();
    let cn = cn.as_str();

    refused(
        &server,
        &dana,
        &["incident", "step", "done", cn, "1"],
        "commander-required",
    );
    ok(
        &server,
        &dana,
        &["incident", "role", "assign", cn, "dana", "ic"],
    );
    ok(
        &server,
        &dana,
        &["incident", "role", "assign", cn, "sam", "scribe"],
    );
    refused(
        &server,
        &dana,
        &["incident", "step", "done", cn, "10"],
        "step-prerequisites",
    );
    for step in ["1", "2", "3", "4", "5", "6", "7", "8"] {
        ok(&server, &dana, &["incident", "step", "start", cn, step]);
        ok(
            &server,
            &dana,
            &["incident", "step", "done", cn, step, "--note", "handled"],
        );
    }
    refused(
        &server,
        &dana,
        &["incident", "step", "done", cn, "11"],
        "step-prerequisites",
    );
    refused(
        &server,
        &dana,
        &["incident", "step", "done", cn, "14"],
        "approval-required",
    );
    refused(
        &server,
        &dana,
        &["incident", "resolve", cn, "--summary", "x"],
        "resolve-prerequisites",
    );
    refused(
        &server,
        &dana,
        &["incident", "step", "waive", cn, "9", "--reason", ""],
        "invalid-input",
    );
    ok(
        &server,
        &dana,
        &[
            "incident",
            "step",
            "waive",
            cn,
            "9",
            "--reason",
            "monitoring already covers this host class",
        ],
    );
    ok(
        &server,
        &dana,
        &[
            "incident",
            "step",
            "done",
            cn,
            "10",
            "--note",
            "no internal actor",
        ],
    );
    for step in ["11", "12", "13"] {
        ok(&server, &dana, &["incident", "step", "done", cn, step]);
    }
    ok(
        &server,
        &dana,
        &["incident", "note", cn, "customers notified by email"],
    );
    ok(
        &server,
        &dana,
        &[
            "incident",
            "update",
            cn,
            "--status",
            "contained",
            "--message",
            "attacker locked out",
        ],
    );
    ok(
        &server,
        &dana,
        &[
            "incident",
            "severity",
            cn,
            "SEV-2",
            "--reason",
            "no data exfiltrated",
        ],
    );
    ok(&server, &dana, &["incident", "approve", cn]);
    ok(&server, &dana, &["incident", "step", "done", cn, "14"]);
    ok(
        &server,
        &dana,
        &[
            "incident",
            "resolve",
            cn,
            "--summary",
            "credentials rotated, vector closed",
        ],
    );
    let closed = ok(&server, &dana, &["incident", "close", cn]);
    assert!(
        closed.starts_with(&format!("{cn}  SEV-2  closed")),
        "{closed}"
    );
    refused(
        &server,
        &dana,
        &["incident", "note", cn, "after close"],
        "incident-closed",
    );
    ok(
        &server,
        &dana,
        &[
            "incident",
            "correct",
            cn,
            "5",
            "--reason",
            "clock skew",
            "--occurred-at",
            "2026-11-26T02:00:00Z",
        ],
    );

    let show = ok(&server, &dana, &["incident", "show", cn]);
    assert!(show.contains("waived: monitoring already covers"), "{show}");
    assert!(show.contains("corrected in #"), "{show}");
    let list = ok(&server, &dana, &["incident", "list", "--status", "closed"]);
    assert!(list.contains(cn), "{list}");
    // Sam is a member, the admin is not: the restricted incident does not exist for the admin.
    assert!(!ok(&server, &admin, &["incident", "list"]).contains(cn));
    let r = palisade(&server, &admin, &["incident", "show", cn]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);

    let events = ok(&server, &dana, &["incident", "events", cn]);
    let n_events = events.lines().count() - 1;
    assert!(n_events > 30, "{events}");
    drop(server);

    let verify = Command::new(BIN).arg("verify").arg(&data).output().unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(verify.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!("1 incidents, {n_events} events")),
        "{out}"
    );
    assert!(out.contains("OK: the ledger verifies"), "{out}");

    // Tamper: change one field of one event directly in SQLite.
    let db = rusqlite::Connection::open(data.join("palisade.db")).unwrap();
    db.execute_batch(
        "DROP TRIGGER ledger_events_no_update;
         UPDATE ledger_events SET body = replace(body, 'no internal actor', 'an intern did it') WHERE body LIKE '%no internal actor%';",
    )
    .unwrap();
    drop(db);
    let verify = Command::new(BIN)
        .args(["verify", "--format", "json"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["failures"][0]["incident"], v["id"]);
    assert!(
        report["failures"][0]["what"]
            .as_str()
            .unwrap()
            .contains("field of this event was changed")
    );
}

#[test]
fn verify_and_clients_fail_clearly_on_bad_setup() {
    let dir = tempfile::tempdir().unwrap();
    let r = Command::new(BIN)
        .arg("verify")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("holds no Palisade database"));

    let r = Command::new(BIN)
        .args(["incident", "list"])
        .env_remove("PALISADE_TOKEN")
        .env("PALISADE_CONFIG", "/nonexistent/x.toml")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("no API token"));

    let r = Command::new(BIN)
        .args([
            "incident",
            "list",
            "--url",
            "http://127.0.0.1:9",
            "--token",
            "pal_x",
        ])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("cannot reach the Palisade server"));

    let help = Command::new(BIN)
        .args(["incident", "declare", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("Anyone may; when unsure"), "{text}");
    assert!(text.contains("--severity <SEVERITY>"), "{text}");
}

#[test]
fn communications_and_the_postmortem_through_the_cli_with_a_configured_policy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("palisade.toml"),
        r#"
[comms]
avoid_phrases = ["we take security very seriously", "rest assured"]

[comms.cadence.internal]
"SEV-1" = 20

[[comms.deadlines]]
name = "GDPR Art. 33 (supervisory authority)"
hours = 72

[[comms.deadlines]]
name = "NIS2 early warning"
hours = 24
"#,
    )
    .unwrap();
    let server = serve(&data);
    let t = server.admin.clone();
    let declared = ok(
        &server,
        &t,
        &[
            "incident",
            "declare",
            "--title",
            "Leaked signing key",
            "--severity",
            "SEV-1",
            "--commander",
            "admin",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&declared).unwrap();
    let cn = v["codename"].as_str().unwrap().to_string();
    assert_eq!(v["communications"]["internal"]["every_minutes"], 20);
    let shown = ok(&server, &t, &["incident", "show", &cn]);
    assert!(shown.contains("internal updates: every 20m"), "{shown}");
    assert!(shown.contains("NIS2 early warning (24 h)"), "{shown}");

    let aware = ok(
        &server,
        &t,
        &[
            "incident",
            "aware",
            &cn,
            "--at",
            "2026-11-26T02:40:00+01:00",
        ],
    );
    assert!(
        aware.contains("deadline NIS2 early warning: due 2026-11-27T02:40:00+01:00"),
        "{aware}"
    );
    refused(
        &server,
        &t,
        &[
            "incident",
            "update",
            &cn,
            "--audience",
            "external",
            "--message",
            "Rest assured, nothing happened.",
        ],
        "avoided-phrase",
    );
    ok(
        &server,
        &t,
        &[
            "incident",
            "update",
            &cn,
            "--audience",
            "external",
            "--message",
            "We are investigating.",
        ],
    );
    ok(
        &server,
        &t,
        &[
            "incident",
            "statement",
            "draft",
            &cn,
            "--title",
            "Signing key exposure",
            "--body",
            "We take security very seriously.",
        ],
    );
    refused(
        &server,
        &t,
        &["incident", "statement", "publish", &cn, "1"],
        "statement-approval-required",
    );
    refused(
        &server,
        &t,
        &["incident", "statement", "approve", &cn, "1"],
        "avoided-phrase",
    );
    let body = dir.path().join("statement.txt");
    std::fs::write(
        &body,
        "On 26 November a signing key was exposed for 40 minutes.",
    )
    .unwrap();
    ok(
        &server,
        &t,
        &[
            "incident",
            "statement",
            "revise",
            &cn,
            "1",
            "--title",
            "Signing key exposure",
            "--body-file",
            body.to_str().unwrap(),
        ],
    );
    ok(
        &server,
        &t,
        &[
            "incident",
            "statement",
            "approve",
            &cn,
            "1",
            "--revision",
            "2",
        ],
    );
    ok(
        &server,
        &t,
        &[
            "incident",
            "statement",
            "publish",
            &cn,
            "1",
            "--date",
            "2026-11-27",
        ],
    );
    let comms = ok(&server, &t, &["incident", "comms", &cn]);
    assert!(
        comms.contains("2026-11-27: Signing key exposure"),
        "{comms}"
    );
    assert!(comms.contains("published"), "{comms}");
    ok(
        &server,
        &t,
        &[
            "incident",
            "deadline-met",
            &cn,
            "NIS2 early warning",
            "--note",
            "CSIRT ref 77",
        ],
    );

    refused(
        &server,
        &t,
        &["incident", "postmortem-status", &cn, "in_review"],
        "postmortem-not-started",
    );
    for step in 1..=10 {
        ok(
            &server,
            &t,
            &["incident", "step", "done", &cn, &step.to_string()],
        );
    }
    ok(
        &server,
        &t,
        &[
            "incident",
            "resolve",
            &cn,
            "--summary",
            "Key revoked and rotated.",
        ],
    );
    ok(
        &server,
        &t,
        &[
            "incident",
            "action",
            "add",
            &cn,
            "--title",
            "Move signing to an HSM",
            "--owner",
            "admin",
            "--due",
            "2026-12-15",
        ],
    );
    let file = dir.path().join("postmortem.md");
    let r = palisade(
        &server,
        &t,
        &["incident", "postmortem", &cn, "-o", file.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("postmortem draft"), "{}", r.stderr);
    let md = std::fs::read_to_string(&file).unwrap();
    assert!(
        md.starts_with(&format!("# Postmortem: {cn} — Leaked signing key")),
        "{md}"
    );
    assert!(
        md.contains("## Timeline\n\n| # | occurred | recorded | by | event |"),
        "{md}"
    );
    assert!(
        md.contains("Statement 1 published: 2026-11-27: Signing key exposure"),
        "{md}"
    );
    let titles = [
        "Stop the attack in progress",
        "Cut off the attack vector",
        "Assemble the response team",
        "Isolate affected instances",
        "Identify the timeline of the attack",
        "Identify compromised data",
        "Assess risk to other systems",
        "Assess risk of re-attack",
        "Apply additional mitigations and monitoring",
        "Forensic analysis of compromised systems",
        "Internal communication",
        "Involve law enforcement",
        "Reach out to external parties that may have been used as a vector",
        "External communication",
    ];
    for (i, title) in titles.iter().enumerate() {
        let n = i + 1;
        let state = if n <= 10 { "done" } else { "pending" };
        assert!(
            md.contains(&format!("| {n} | {title} | {state} |")),
            "step {n}:\n{md}"
        );
    }
    assert!(
        md.contains("| 1 | Move signing to an HSM | admin | 2026-12-15 | open |"),
        "{md}"
    );
    assert!(md.contains("| Time to resolve |"), "{md}");
    let js = ok(
        &server,
        &t,
        &["incident", "postmortem", &cn, "--format", "json"],
    );
    let js: serde_json::Value = serde_json::from_str(&js).unwrap();
    assert_eq!(js["postmortem"]["status"], "draft");
    assert_eq!(js["postmortem"]["required"], true);

    refused(
        &server,
        &t,
        &["incident", "postmortem-status", &cn, "closed"],
        "postmortem-forward-only",
    );
    let moved = ok(
        &server,
        &t,
        &["incident", "postmortem-status", &cn, "in_review"],
    );
    assert!(moved.contains("postmortem in_review, due "), "{moved}");
    ok(&server, &t, &["incident", "action", "done", &cn, "1"]);
    // Exit code 2 for errors: an unreadable body file.
    let r = palisade(
        &server,
        &t,
        &[
            "incident",
            "statement",
            "draft",
            &cn,
            "--title",
            "x",
            "--body-file",
            "/nonexistent/body.txt",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
}
