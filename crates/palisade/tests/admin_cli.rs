//! Nobody can lock every admin out: revoking the last live admin token is refused by a rule,
//! and an operator with the data directory (or the database) recovers access offline, which is
//! recorded on the deployment's signed log. On SQLite, and on PostgreSQL when
//! `PALISADE_TEST_DATABASE_URL` is set (required under `CI=true`).

mod common;

use common::{BIN, Server, ok, palisade, serve_on};
use std::path::Path;
use std::process::Command;

fn token_id(server: &Server, token: &str) -> String {
    let me = ok(server, token, &["token", "whoami", "--format", "json"]);
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    me["token_id"].as_str().unwrap().to_string()
}

/// The last admin token cannot be revoked, by the admin or anyone; a second admin's can.
fn the_last_admin_token_is_kept(server: &Server) {
    let admin = server.admin.clone();
    let own = token_id(server, &admin);
    let refused = palisade(server, &admin, &["token", "revoke", &own]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("rule `last-admin`"),
        "{}",
        refused.stderr
    );
    ok(server, &admin, &["token", "whoami"]);
    // With a second admin token, the first may go; then the second is the last.
    let second = ok(
        server,
        &admin,
        &[
            "token", "create", "--user", "root2", "--role", "admin", "--format", "json",
        ],
    );
    let second: serde_json::Value = serde_json::from_str(&second).unwrap();
    let second = second["token"].as_str().unwrap().to_string();
    ok(server, &second, &["token", "revoke", &own]);
    let own2 = token_id(server, &second);
    let refused = palisade(server, &second, &["token", "revoke", &own2]);
    assert!(
        refused.stderr.contains("rule `last-admin`"),
        "{}",
        refused.stderr
    );
}

fn recover(data: &Path, url: Option<&str>) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["admin", "recover", "--format", "json", "--data-dir"])
        .arg(data)
        .args(["--reason", "the admin tokens were lost with a laptop"])
        .env_remove("PALISADE_DATABASE_URL");
    if let Some(u) = url {
        cmd.args(["--database-url", u]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["user"], "admin");
    v["token"].as_str().unwrap().to_string()
}

#[test]
fn lockout_is_refused_and_offline_recovery_is_recorded_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve_on(&data, None, true);
    the_last_admin_token_is_kept(&server);
    // While the server runs, the data directory is its own.
    let busy = Command::new(BIN)
        .args([
            "admin",
            "recover",
            "--reason",
            "a reason given here",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("another palisade process"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );
    drop(server);
    let token = recover(&data, None);
    let server = serve_on(&data, None, false);
    let me = ok(&server, &token, &["token", "whoami", "--format", "json"]);
    assert!(me.contains("\"admin\""), "{me}");
    drop(server);
    let out = Command::new(BIN).arg("verify").arg(&data).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("1 deployments"),
        "the recovery is on the ledger: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lockout_is_refused_and_offline_recovery_is_recorded_on_postgres() {
    let Some(base) = palisade_test_support::pg::base() else {
        return;
    };
    let url = palisade_test_support::pg::fresh_schema(&base).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve_on(&data, Some(&url), true);
    the_last_admin_token_is_kept(&server);
    // PostgreSQL: recovery works beside a running server, from another data directory that
    // holds the deployment's signing key (or with PALISADE_SIGNING_KEY).
    let scratch = dir.path().join("operator");
    std::fs::create_dir_all(&scratch).unwrap();
    for f in ["ledger-signing.key", "ledger-signing.pub"] {
        std::fs::copy(data.join(f), scratch.join(f)).unwrap();
    }
    let token = recover(&scratch, Some(&url));
    ok(&server, &token, &["token", "whoami"]);
    drop(server);
    let out = Command::new(BIN)
        .args(["verify", &url, "--public-key"])
        .arg(data.join("ledger-signing.pub"))
        .arg("--witness")
        .arg(data.join("witness.log"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("1 deployments"), "{text}");
}
