//! The external witness (checkpoints forwarded to a webhook, surviving failures and restarts)
//! and custom playbooks loaded from a directory.

use axum::http::StatusCode;
use palisade_app::{App, AppConfig as ServerConfig};
use palisade_store::StoreConfig;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// A local receiver: answers 500 to the first `fail` requests, then records each body.
async fn receiver(fail: usize) -> (String, mpsc::UnboundedReceiver<String>, Arc<AtomicUsize>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let app = axum::Router::new().route(
        "/witness",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            let a = a.clone();
            async move {
                if a.fetch_add(1, Ordering::SeqCst) < fail {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let _ = tx.send(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/witness", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx, attempts)
}

async fn app(
    dir: &Path,
    witness_url: Option<String>,
    playbooks: Option<&Path>,
) -> (String, String, palisade_app::Started) {
    let app = App::start(&ServerConfig {
        store: StoreConfig {
            data_dir: dir.to_path_buf(),
            database_url: None,
        },
        playbooks_dir: playbooks.map(Path::to_path_buf),
        witness_url,
        ..Default::default()
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = palisade_server::router(app.app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, app.bootstrap_token.clone().unwrap_or_default(), app)
}

async fn declare(url: &str, token: &str, body: serde_json::Value) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/incidents"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, reqwest::StatusCode::CREATED, "{v}");
    v
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> serde_json::Value {
    let body = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("the external witness received a checkpoint in time")
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_reach_the_external_witness_despite_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (witness, mut rx, attempts) = receiver(2).await;
    let (url, token, _app) = app(dir.path(), Some(witness), None).await;
    let inc = declare(
        &url,
        &token,
        json!({"title": "t", "severity": "SEV-2", "commander": "admin"}),
    )
    .await;
    let cp = next(&mut rx).await;
    assert_eq!(
        cp["stream"],
        format!("incident/{}", inc["id"].as_str().unwrap())
    );
    assert_eq!(
        cp["seq"], 2,
        "one checkpoint covers the declaration and the IC assignment"
    );
    assert_eq!(cp["signature"].as_str().unwrap().len(), 128);
    assert!(
        attempts.load(Ordering::SeqCst) >= 3,
        "two refusals were retried"
    );
    // The receiver can check the signature with the public key alone.
    let key = palisade_store::keys::read_public_key(
        palisade_store::keys::public_key_path(dir.path())
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let parsed: palisade_core::chain::Checkpoint = serde_json::from_value(cp).unwrap();
    assert!(palisade_core::chain::verify_checkpoint(&key, &parsed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_committed_while_the_witness_was_down_are_delivered_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // A witness URL nobody listens on: delivery fails while the incident is worked on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/witness", l.local_addr().unwrap())
    };
    let app1 = App::start(&ServerConfig {
        store: StoreConfig {
            data_dir: dir.path().to_path_buf(),
            database_url: None,
        },
        playbooks_dir: None,
        witness_url: Some(dead),
        ..Default::default()
    })
    .await
    .unwrap();
    let token = app1.bootstrap_token.clone().unwrap();
    // Drive the router in-process, so no connection outlives the "crash" below.
    use tower::ServiceExt;
    let resp = palisade_server::router(app1.app.clone())
        .oneshot(
            axum::http::Request::post("/api/v1/incidents")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    r#"{"title": "t", "severity": "SEV-3"}"#,
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let inc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    // "Crash": stop the forwarder and drop the server before anything was delivered.
    app1.forwarder.as_ref().unwrap().abort();
    drop(app1);
    let (witness, mut rx, _) = receiver(0).await;
    let _app2 = App::start(&ServerConfig {
        store: StoreConfig {
            data_dir: dir.path().to_path_buf(),
            database_url: None,
        },
        playbooks_dir: None,
        witness_url: Some(witness),
        ..Default::default()
    })
    .await
    .unwrap();
    let cp = next(&mut rx).await;
    assert_eq!(
        cp["stream"],
        format!("incident/{}", inc["id"].as_str().unwrap())
    );
    assert_eq!(cp["seq"], 1);
}

#[tokio::test]
async fn custom_playbooks_are_loaded_from_a_directory_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let pbs = tempfile::tempdir().unwrap();
    std::fs::write(
        pbs.path().join("ransomware.toml"),
        r#"
id = "ransomware"
name = "Ransomware"
kind = "security"
version = 3
commander_required_for_done = true
[resolve]
requires = [1, 2]
[[steps]]
n = 1
title = "Disconnect affected hosts from the network"
[[steps]]
n = 2
title = "Restore from offline backups"
requires = [1]
"#,
    )
    .unwrap();
    std::fs::write(pbs.path().join("notes.txt"), "not a playbook").unwrap();
    let (url, token, _app) = app(dir.path(), None, Some(pbs.path())).await;
    let inc = declare(
        &url,
        &token,
        json!({"title": "encrypted shares", "severity": "SEV-1", "playbook": "ransomware"}),
    )
    .await;
    assert_eq!(inc["playbook"]["id"], "ransomware");
    assert_eq!(inc["playbook"]["version"], 3);
    assert_eq!(inc["steps"].as_array().unwrap().len(), 2);
    assert_eq!(inc["steps"][1]["requires"], json!([1]));

    // An invalid playbook stops the start with the file and the reason.
    std::fs::write(pbs.path().join("broken.toml"), "id = 'x'\nname = 'X'\nkind = 'security'\nversion = 1\n[[steps]]\nn = 1\ntitle = 'a'\nrequires = [7]\n").unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let err = App::start(&ServerConfig {
        store: StoreConfig {
            data_dir: dir2.path().to_path_buf(),
            database_url: None,
        },
        playbooks_dir: Some(pbs.path().to_path_buf()),
        witness_url: None,
        ..Default::default()
    })
    .await
    .err()
    .expect("invalid playbook refused")
    .to_string();
    assert!(
        err.contains("broken.toml") && err.contains("requires step 7"),
        "{err}"
    );
}
