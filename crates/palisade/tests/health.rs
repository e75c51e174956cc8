//! Readiness tells the truth about writes: with the data directory's disk full, `/healthz`
//! answers 503 saying so, writes fail with 507 saying what to do (and nothing is half-written),
//! and once space is freed the same server is ready again.
//!
//! The server runs in a mount namespace of its own (`unshare`) with its data directory on a
//! small tmpfs; the test fills that tmpfs through `/proc/<pid>/root`.

mod common;

use common::{BIN, Server, palisade, start};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `palisade serve` on a fresh 24 MiB tmpfs, or a skip line (a failure under CI=true) where
/// user and mount namespaces are not available.
fn serve_on_small_disk(dir: &Path) -> Option<Server> {
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .output();
    if !probe.map(|o| o.status.success()).unwrap_or(false) {
        return palisade_test_support::skip_or_fail(
            "the disk-full readiness test",
            "`unshare --user --map-root-user --mount` does not work here",
        );
    }
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        r#"mount -t tmpfs -o size=24m tmpfs "$1" && exec "$2" serve --listen 127.0.0.1:0 --data-dir "$1""#,
        "sh",
    ])
    .arg(dir)
    .arg(BIN)
    .env_remove("PALISADE_DATABASE_URL");
    Some(start(cmd, true))
}

/// Fill the file system holding `path` until it refuses more.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5a_u8; 64 * 1024];
    loop {
        match f.write_all(&chunk).and_then(|_| f.sync_data()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => return, // ENOSPC
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
}

async fn health(url: &str) -> (u16, serde_json::Value) {
    let r = reqwest::get(format!("{url}/healthz")).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_makes_the_server_unready_and_writes_fail_with_a_reason_until_space_is_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(server) = serve_on_small_disk(&dir) else {
        return;
    };
    // The server's view of its data directory (its own mount namespace).
    let inside: PathBuf = format!("/proc/{}/root{}", server.child.id(), dir.display()).into();
    let admin = server.admin.clone();

    let (status, body) = health(&server.url).await;
    assert_eq!(status, 200, "{body}");
    let free = body["database_disk_free_bytes"].as_u64().unwrap();
    assert!(free > 0 && free <= 24 * 1024 * 1024, "{body}");
    assert!(
        body["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("database") && w.contains("MiB free")),
        "under 64 MiB free is worth a warning: {body}"
    );
    let out = palisade(
        &server,
        &admin,
        &[
            "incident",
            "declare",
            "--title",
            "Disk filled by logs",
            "--severity",
            "SEV-3",
            "--commander",
            "admin",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let codename = serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap()["codename"]
        .as_str()
        .unwrap()
        .to_string();
    // Evidence before the disk fills (so the incident's evidence key exists).
    let first = tmp.path().join("first.log");
    std::fs::write(&first, b"first").unwrap();
    let add = palisade(
        &server,
        &admin,
        &[
            "evidence",
            "add",
            &codename,
            first.to_str().unwrap(),
            "--source",
            "web-1",
            "--tool",
            "cp",
        ],
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    let events_before = events(&server, &admin, &codename);

    let filler = inside.join("filler");
    fill(&filler);

    let (status, body) = health(&server.url).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "urn:palisade:problem:unavailable", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("disk holding the database is full"),
        "{body}"
    );
    let note = palisade(
        &server,
        &admin,
        &["incident", "note", &codename, "still here?"],
    );
    assert_eq!(note.code, 2, "{}\n{}", note.stdout, note.stderr);
    assert!(
        note.stderr.contains("disk holding the database is full")
            && note.stderr.contains("nothing was written")
            && note.stderr.contains("HTTP 507"),
        "{}",
        note.stderr
    );

    let image = tmp.path().join("auth.log");
    std::fs::write(&image, vec![b'x'; 256 * 1024]).unwrap();
    let add = palisade(
        &server,
        &admin,
        &[
            "evidence",
            "add",
            &codename,
            image.to_str().unwrap(),
            "--source",
            "web-1",
            "--tool",
            "cp",
        ],
    );
    assert_eq!(add.code, 2, "{}\n{}", add.stdout, add.stderr);
    assert!(
        add.stderr
            .contains("disk holding the data directory is full")
            && add.stderr.contains("nothing was recorded")
            && add.stderr.contains("507"),
        "{}",
        add.stderr
    );

    std::fs::remove_file(&filler).unwrap();
    let (status, body) = health(&server.url).await;
    assert_eq!(status, 200, "{body}");
    // The failed note left nothing behind; the next one lands.
    assert_eq!(events(&server, &admin, &codename), events_before);
    let out = palisade(
        &server,
        &admin,
        &["incident", "note", &codename, "space freed"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(events(&server, &admin, &codename), events_before + 1);
}

/// Changes recorded for an incident (reads of a restricted incident left out).
fn events(server: &Server, token: &str, codename: &str) -> u64 {
    let out = palisade(
        server,
        token,
        &["incident", "show", codename, "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v["events"].as_u64().unwrap() - v["reads"].as_u64().unwrap()
}
