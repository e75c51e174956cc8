//! One configuration for every command: flags, then the environment, then `palisade.toml` in the
//! data directory. `serve` reads its listen address and log format from the file; `verify` with
//! no target finds the configured PostgreSQL database and checks it with the data directory's
//! key and witness log.

mod common;

use common::BIN;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread")]
async fn serve_takes_its_settings_from_palisade_toml_and_logs_json_with_request_ids() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("palisade.toml"),
        "listen = \"127.0.0.1:0\"\nlog = \"info\"\nlog_format = \"json\"\n",
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(&data)
        .env_remove("PALISADE_LISTEN")
        .env_remove("PALISADE_LOG")
        .env_remove("PALISADE_LOG_FORMAT")
        .env_remove("PALISADE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let url = BufReader::new(stdout)
        .lines()
        .map(Result::unwrap)
        .find_map(|l| l.split("serving at ").nth(1).map(|u| u.trim().to_string()))
        .expect("the banner names the URL");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // An unauthenticated request: its problem body and the log line share its request id.
    let resp = reqwest::get(format!("{url}/api/v1/incidents"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["request_id"], id.as_str());
    let stderr = child.stderr.take().unwrap();
    let mut found = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        if v["span"]["request_id"] == id.as_str() {
            found = Some(v);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = found.expect("a log line carries the request's id");
    assert_eq!(line["span"]["path"], "/api/v1/incidents");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_without_a_target_checks_the_configured_postgres_database() {
    let Some(base) = palisade_test_support::pg::base() else {
        return;
    };
    let url = palisade_test_support::pg::fresh_schema(&base).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("palisade.toml"),
        format!("database_url = \"{url}\"\n"),
    )
    .unwrap();
    let server = common::serve_on(&data, None, true);
    common::ok(
        &server,
        &server.admin,
        &["incident", "declare", "--title", "t", "--severity", "SEV-3"],
    );
    drop(server);
    assert!(
        !data.join("palisade.db").exists(),
        "the file chose PostgreSQL"
    );
    let out = Command::new(BIN)
        .args(["verify", "--data-dir"])
        .arg(&data)
        .env_remove("PALISADE_DATA_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 incidents"), "{text}");
    assert!(text.contains("1 witness entries"), "{text}");
}

/// The binary's allocator is jemalloc, and it takes its settings from `MALLOC_CONF` as the
/// README says (here: print its statistics at exit, which only jemalloc does).
#[test]
#[cfg(not(target_env = "msvc"))]
fn the_binary_allocates_with_jemalloc_which_reads_malloc_conf() {
    let out = Command::new(BIN)
        .arg("--version")
        .env("MALLOC_CONF", "stats_print:true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("jemalloc statistics"), "{err}");
    let plain = Command::new(BIN)
        .arg("--version")
        .env_remove("MALLOC_CONF")
        .output()
        .unwrap();
    assert!(plain.stderr.is_empty(), "{plain:?}");
}
