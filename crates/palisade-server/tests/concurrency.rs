//! Concurrency as operators meet it: many people writing to one incident at once, several
//! servers starting together on one empty database. On SQLite and, when
//! `PALISADE_TEST_DATABASE_URL` is set (required under `CI=true`), on PostgreSQL.

use palisade_app::{App, AppConfig};
use palisade_test_support::{TestServer, backends};
use reqwest::StatusCode;
use serde_json::json;

/// 64 writers add notes to one incident at the same moment: every one is accepted (a note does
/// not depend on what the others wrote, so none may be refused as a concurrent change), each is
/// in the ledger once, and the ledger verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_notes_on_one_incident_all_land() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        let inc = srv
            .declare(
                &srv.admin,
                json!({"title": "Noisy alerts", "severity": "SEV-3", "kind": "operational"}),
            )
            .await;
        let cn = inc["codename"].as_str().unwrap().to_string();
        let path = format!("/api/v1/incidents/{cn}/notes");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(64));
        let mut tasks = Vec::new();
        for i in 0..64 {
            let (http, url, token, path, barrier) = (
                srv.http.clone(),
                srv.url.clone(),
                srv.admin.clone(),
                path.clone(),
                barrier.clone(),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let r = http
                    .post(format!("{url}{path}"))
                    .bearer_auth(token)
                    .json(&json!({ "text": format!("observation {i}") }))
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.text().await.unwrap())
            }));
        }
        let mut refused = Vec::new();
        for t in tasks {
            let (status, text) = t.await.unwrap();
            if status != StatusCode::OK {
                refused.push(format!("{status}: {text}"));
            }
        }
        assert!(
            refused.is_empty(),
            "{name}: {} of 64 notes were not accepted: {refused:?}",
            refused.len()
        );
        let events = palisade_test_support::incident_events(
            srv.app.store(),
            inc["id"].as_str().unwrap().parse().unwrap(),
        )
        .await;
        let mut notes: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.data {
                palisade_core::Payload::NoteAdded { text } => Some(text.clone()),
                _ => None,
            })
            .collect();
        notes.sort();
        notes.dedup();
        assert_eq!(notes.len(), 64, "{name}: every note once");
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=events.len() as u64).collect::<Vec<_>>(),
            "{name}"
        );
        let report = palisade_store::verify(
            &match &srv.config.store.database_url {
                Some(u) => palisade_store::VerifyTarget::Postgres(u.clone()),
                None => palisade_store::VerifyTarget::DataDir(dir.path().to_path_buf()),
            },
            palisade_store::keys::read_public_key(
                dir.path().join("ledger-signing.pub").to_str().unwrap(),
            )
            .unwrap(),
            &palisade_store::VerifyOptions {
                witnesses: vec![dir.path().join("witness.log")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(report.ok(), "{name}: {:?}", report.failures);
    }
}

/// Two servers started at once on one empty PostgreSQL database: both come up, and there is one
/// admin with one bootstrap token (no "user admin already exists").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_starting_together_on_an_empty_database_make_one_admin() {
    let Some(base) = palisade_test_support::pg::base() else {
        return;
    };
    for _ in 0..5 {
        let url = palisade_test_support::pg::fresh_schema(&base).await;
        let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let starts = dirs.iter().map(|d| {
            let config = AppConfig {
                store: palisade_store::StoreConfig {
                    data_dir: d.path().to_path_buf(),
                    database_url: Some(url.clone()),
                },
                ..Default::default()
            };
            async move { App::start(&config).await }
        });
        let started = futures_util::future::join_all(starts).await;
        let mut tokens = 0;
        for s in &started {
            match s {
                Ok(s) => tokens += usize::from(s.bootstrap_token.is_some()),
                Err(e) => panic!("a server did not start: {e}"),
            }
        }
        assert_eq!(tokens, 1, "exactly one start prints an admin token");
        let app = &started[0].as_ref().unwrap().app;
        assert_eq!(app.store().user_count().await.unwrap(), 1);
        assert_eq!(app.store().list_tokens().await.unwrap().len(), 1);
    }
}

/// People keep opening a restricted incident (each read is itself recorded in its ledger)
/// while others write to it: no write is ever turned away as a concurrent change, however many
/// reads land around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_are_never_starved_by_recorded_reads() {
    for (name, store, _dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        let inc = srv
            .declare(
                &srv.admin,
                json!({"title": "Exfiltration suspected", "severity": "SEV-1", "commander": "admin"}),
            )
            .await;
        assert_eq!(inc["restricted"], true);
        let cn = inc["codename"].as_str().unwrap().to_string();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        for _ in 0..12 {
            let (http, url, token, cn, done) = (
                srv.http.clone(),
                srv.url.clone(),
                srv.admin.clone(),
                cn.clone(),
                done.clone(),
            );
            readers.push(tokio::spawn(async move {
                let mut n = 0u64;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let r = http
                        .get(format!("{url}/api/v1/incidents/{cn}?limit=1"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::OK);
                    n += 1;
                }
                n
            }));
        }
        let mut writers = Vec::new();
        for w in 0..4 {
            let (http, url, token, cn) = (
                srv.http.clone(),
                srv.url.clone(),
                srv.admin.clone(),
                cn.clone(),
            );
            writers.push(tokio::spawn(async move {
                let mut refused = Vec::new();
                for i in 0..25 {
                    let r = http
                        .post(format!("{url}/api/v1/incidents/{cn}/notes"))
                        .bearer_auth(&token)
                        .json(&json!({ "text": format!("writer {w} note {i}") }))
                        .send()
                        .await
                        .unwrap();
                    if r.status() != StatusCode::OK {
                        refused.push(format!("{}: {}", r.status(), r.text().await.unwrap()));
                    }
                }
                refused
            }));
        }
        let mut refused = Vec::new();
        for w in writers {
            refused.extend(w.await.unwrap());
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut reads = 0;
        for r in readers {
            reads += r.await.unwrap();
        }
        assert!(
            refused.is_empty(),
            "{name}: {} of 100 notes were turned away while {reads} reads were recorded: {:?}",
            refused.len(),
            &refused[..refused.len().min(3)]
        );
        let v = srv
            .get(&format!("/api/v1/incidents/{cn}?limit=1"), &srv.admin)
            .await
            .body;
        assert!(
            v["reads"].as_u64().unwrap() >= reads,
            "{name}: every read recorded"
        );
    }
}
