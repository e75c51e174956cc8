//! What a client is told when the database fails under it, through a proxy that cuts
//! PostgreSQL connections: a commit whose answer never came is an *unknown outcome* (never
//! "nothing was written"), and repeating the command with the same `Idempotency-Key` records it
//! exactly once; an unreachable database is 503, not 500. Needs `PALISADE_TEST_DATABASE_URL`
//! (required under `CI=true`).

use palisade_app::AppConfig;
use palisade_test_support::{TestServer, assert_problem};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy to PostgreSQL. When `cut_after` holds some bytes, the next client→server chunk
/// holding them (the write that carries a marker text: appends are one statement, committed as
/// it completes) is forwarded and then both sides are closed, so the write commits but its
/// answer never reaches the client. `refuse` makes it drop every new connection.
struct Proxy {
    port: u16,
    cut_after: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    refuse: Arc<AtomicBool>,
    /// Closes every connection open now.
    cut_all: Arc<tokio::sync::watch::Sender<u64>>,
}

async fn proxy(upstream: String) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cut: Arc<std::sync::Mutex<Option<Vec<u8>>>> = Arc::default();
    let refuse = Arc::new(AtomicBool::new(false));
    let (cut_all, cut_rx) = tokio::sync::watch::channel(0u64);
    let (c, r) = (cut.clone(), refuse.clone());
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            if r.load(Ordering::SeqCst) {
                drop(client);
                continue;
            }
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let cut = c.clone();
            let mut all = cut_rx.clone();
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        let chunk = &buf[..n];
                        let marked = {
                            let mut armed = cut.lock().unwrap();
                            let hit = armed
                                .as_ref()
                                .is_some_and(|m| chunk.windows(m.len()).any(|w| w == m));
                            if hit {
                                *armed = None;
                            }
                            hit
                        };
                        if sw.write_all(chunk).await.is_err() {
                            return;
                        }
                        if marked {
                            let _ = sw.flush().await;
                            return; // both halves dropped with this task's futures
                        }
                    }
                };
                let down = async {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                };
                tokio::select! {
                    _ = up => {},
                    _ = down => {},
                    _ = all.changed() => {},
                }
            });
        }
    });
    Proxy {
        port,
        cut_after: cut,
        refuse,
        cut_all: Arc::new(cut_all),
    }
}

/// host:port and the rest of a `postgres://user@host:port/db?…` URL.
fn split_url(url: &str) -> (String, String, String) {
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (auth_host, path) = rest.split_once('/').expect("a database name");
    let (user, host) = match auth_host.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h.to_string()),
        None => (String::new(), auth_host.to_string()),
    };
    (user, host, path.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commit_cut_off_is_an_unknown_outcome_and_a_repeat_records_it_once() {
    let Some(base) = palisade_test_support::pg::base() else {
        return;
    };
    let url = palisade_test_support::pg::fresh_schema(&base).await;
    let (user, host, path) = split_url(&url);
    let p = proxy(host).await;
    let via_proxy = format!("postgres://{user}127.0.0.1:{}/{path}", p.port);
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::serve(AppConfig {
        store: palisade_store::StoreConfig {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(via_proxy),
        },
        ..Default::default()
    })
    .await;
    let inc = srv
        .declare(
            &srv.admin,
            json!({"title": "Disk latency", "severity": "SEV-3", "kind": "operational"}),
        )
        .await;
    let cn = inc["codename"].as_str().unwrap();
    let note = |key: &str| {
        srv.http
            .post(format!("{}/api/v1/incidents/{cn}/notes", srv.url))
            .bearer_auth(&srv.admin)
            .header("idempotency-key", key)
            .json(&json!({"text": "replica lag at 40 s"}))
    };

    *p.cut_after.lock().unwrap() = Some(b"replica lag at 40 s".to_vec());
    let cut = srv.send(note("note-1")).await;
    assert_problem(&cut, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        cut.body["type"], "urn:palisade:problem:unknown-outcome",
        "{}",
        cut.text
    );
    assert!(
        !cut.text.contains("nothing was written"),
        "an unknown outcome is not 'nothing was written': {}",
        cut.text
    );

    // The same request again: recorded exactly once, whatever the cut commit did.
    let again = srv.send(note("note-1")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let third = srv.send(note("note-1")).await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.text);
    assert_eq!(third.text, again.text, "a repeat gets the first answer");
    let events = palisade_test_support::incident_events(
        srv.app.store(),
        inc["id"].as_str().unwrap().parse().unwrap(),
    )
    .await;
    let notes = events
        .iter()
        .filter(|e| matches!(&e.data, palisade_core::Payload::NoteAdded { .. }))
        .count();
    assert_eq!(notes, 1, "the note is in the ledger exactly once");

    // The same key for another request is refused, not replayed.
    let other = srv
        .send(
            srv.http
                .post(format!("{}/api/v1/incidents/{cn}/notes", srv.url))
                .bearer_auth(&srv.admin)
                .header("idempotency-key", "note-1")
                .json(&json!({"text": "something else"})),
        )
        .await;
    assert_problem(&other, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        other.body["type"],
        "urn:palisade:problem:idempotency-key-reused"
    );

    // The database unreachable: 503 with Retry-After, for reads and writes alike.
    p.refuse.store(true, Ordering::SeqCst);
    p.cut_all.send_modify(|n| *n += 1);
    let down = srv.send(note("note-2")).await;
    assert_problem(&down, StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.headers.contains_key("retry-after"));
    let health = srv.call("GET", "/healthz", None, None).await;
    assert_problem(&health, StatusCode::SERVICE_UNAVAILABLE);
}
