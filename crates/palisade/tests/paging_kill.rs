//! Three `palisade serve` processes on one PostgreSQL database take alerts and page; the first
//! is killed with SIGKILL in the middle of sending a page, and two more take over. Every alert pages its person exactly once (each page
//! one webhook-id; a page sent again after the crash carries the same id), and the survivors take
//! over the dead one's claimed escalation steps and deliveries within 10 seconds (its leases).
//!
//! Needs `PALISADE_TEST_DATABASE_URL` (it skips without it, and fails without it under
//! `CI=true`).

mod common;

use palisade_test_support::pg;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

struct Node {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &str, key_hex: &str, hook: &str, expect_admin: bool) -> (Node, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut child = Command::new(common::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--database-url", db])
        .env("PALISADE_SIGNING_KEY", key_hex)
        .env("PALISADE_NOTIFY_URL", hook)
        .env("PALISADE_NOTIFY_SECRET", "whsec_dGVzdA==")
        .env_remove("PALISADE_DATABASE_URL")
        .env_remove("PALISADE_EVIDENCE_STORE")
        .env_remove("PALISADE_SMTP_URL")
        .env("PALISADE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start palisade serve");
    let (url, admin) = common::read_banner(child.stdout.take().unwrap(), expect_admin);
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    let url = url.unwrap_or_else(|| panic!("palisade serve did not start:\n{log}"));
    (
        Node {
            child,
            url,
            _dir: dir,
        },
        admin,
    )
}

/// The test's webhook receiver: (webhook-id, body, when) of each page as it arrives. It answers
/// nothing until `open` is set, so the senders are in the middle of their deliveries (holding
/// their claims) until then.
async fn receiver(
    open: tokio::sync::watch::Receiver<bool>,
) -> (String, mpsc::UnboundedReceiver<(String, Value, Instant)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let tx = tx.clone();
            let mut open = open.clone();
            async move {
                let id = headers
                    .get("webhook-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let _ = tx.send((
                    id,
                    serde_json::from_str(&body).unwrap_or(Value::Null),
                    Instant::now(),
                ));
                let _ = open.wait_for(|o| *o).await;
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let r = http
        .post(&url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

const ALERTS: usize = 90;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_mid_escalation_loses_no_page_and_sends_none_twice() {
    let Some(base) = pg::base() else { return };
    let db = pg::fresh_schema(&base).await;
    let key_hex = hex::encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let (opened, open) = tokio::sync::watch::channel(false);
    let (hook, mut pages) = receiver(open).await;
    // B runs alone until it is killed: the first page can only be its own (with the servers
    // waking each other through PostgreSQL, a node started beside it could take the step).
    let (b, admin) = start(&db, &key_hex, &hook, true);
    let admin = admin.unwrap();
    let http = reqwest::Client::new();
    let api = |n: &Node, p: &str| format!("{}/api/v1{p}", n.url);

    post(
        &http,
        api(&b, "/tokens"),
        &admin,
        json!({"user": "alice", "role": "responder"}),
    )
    .await;
    post(
        &http,
        api(&b, "/escalation-policies"),
        &admin,
        json!({"name": "oncall", "levels": [{"delay_minutes": 5, "targets": [{"type": "user", "name": "alice"}]}]}),
    )
    .await;
    post(
        &http,
        api(&b, "/services"),
        &admin,
        json!({"name": "payments-api"}),
    )
    .await;
    post(
        &http,
        api(&b, "/services/payments-api/escalation-policy"),
        &admin,
        json!({"policy": "oncall"}),
    )
    .await;
    let key = post(
        &http,
        api(&b, "/services/payments-api/integrations"),
        &admin,
        json!({"name": "prometheus"}),
    )
    .await["routing_key"]
        .as_str()
        .unwrap()
        .to_string();

    let trigger = |node_url: String, i: usize| {
        let http = http.clone();
        let key = key.clone();
        async move {
            let r = http
                .post(format!("{node_url}/v2/enqueue"))
                .json(&json!({"routing_key": key, "event_action": "trigger", "dedup_key": format!("k{i}"),
                    "payload": {"summary": format!("alert {i}"), "source": "load", "severity": "critical"}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 202, "alert {i}");
        }
    };

    // The first alert goes to B, which takes its step and starts sending its page at once; the
    // receiver holds that page, so B dies with SIGKILL in the middle of the delivery, holding
    // its claim. Then the survivors start, on the same database.
    let mut b = b;
    trigger(b.url.clone(), 0).await;
    let (first_id, first_body, _) = pages.recv().await.unwrap();
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let killed_at = Instant::now();
    drop(b);
    opened.send(true).unwrap();
    let (a, _) = start(&db, &key_hex, &hook, false);
    let (c, _) = start(&db, &key_hex, &hook, false);
    let first_alert = first_body["alert"].as_str().unwrap().to_string();
    let mut ids_by_alert: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    ids_by_alert
        .entry(first_alert.clone())
        .or_default()
        .insert(first_id.clone());

    // The rest round-robin to the survivors.
    for i in 1..ALERTS {
        let node = if i % 2 == 0 { &a } else { &c };
        trigger(node.url.clone(), i).await;
    }

    // Every alert pages alice, and the dead node's page is sent again by a survivor under the
    // same webhook-id once its lease ends. Collect until both are seen (or 60 s).
    let mut deliveries = 1;
    let mut taken_over = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while ids_by_alert.len() < ALERTS || taken_over.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some((id, body, at))) = tokio::time::timeout(left, pages.recv()).await else {
            break;
        };
        assert_eq!(body["type"], "page", "{body}");
        assert_eq!(body["to"], "alice");
        deliveries += 1;
        if id == first_id {
            taken_over = Some(at.duration_since(killed_at));
        }
        ids_by_alert
            .entry(body["alert"].as_str().unwrap().to_string())
            .or_default()
            .insert(id);
    }
    assert_eq!(
        ids_by_alert.len(),
        ALERTS,
        "every accepted alert paged ({} of {ALERTS}; {deliveries} deliveries)",
        ids_by_alert.len()
    );
    let took = taken_over.expect("the killed node's page was never sent again");
    for (alert, ids) in &ids_by_alert {
        assert_eq!(
            ids.len(),
            1,
            "alert {alert} was paged as {} pages",
            ids.len()
        );
    }
    assert!(
        took <= Duration::from_secs(10),
        "the survivors took {took:?} to take over the dead node's delivery"
    );
    eprintln!(
        "{ALERTS} alerts, {deliveries} deliveries ({} sent again under the same webhook-id); the dead node's page was sent again {took:?} after the kill",
        deliveries - ALERTS
    );
    drop((a, c));
}
