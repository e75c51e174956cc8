//! Two `palisade serve` processes on one PostgreSQL database, as a scaled-out deployment runs
//! them: separate data directories (each its own witness log), one signing key
//! (`PALISADE_SIGNING_KEY`), one schema. Commands to the same incidents go through both at
//! once; then every acknowledged command is in the ledger exactly once, the sequence numbers
//! run 1..n without a gap or a repeat, a read through one node right after a write through the
//! other shows the write (neither node's fold cache is ever stale), and `palisade verify`
//! accepts the ledger, with either node's witness log.
//!
//! Needs `PALISADE_TEST_DATABASE_URL` (it skips without it, and fails without it under
//! `CI=true`).

mod common;

use palisade_test_support::pg;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A `palisade serve` process.
struct Node {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn witness_log(&self) -> PathBuf {
        self.dir.path().join("witness.log")
    }
}

/// Start `palisade serve` on the database `db` with a fresh data directory and the signing key
/// `key_hex`. Returns the node and, when this start created the first admin, its token.
fn start(db: &str, key_hex: &str, expect_admin: bool) -> (Node, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut child = Command::new(common::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--database-url", db])
        .env("PALISADE_SIGNING_KEY", key_hex)
        .env_remove("PALISADE_DATABASE_URL")
        .env_remove("PALISADE_EVIDENCE_STORE")
        .env("PALISADE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start palisade serve");
    let (url, admin) = common::read_banner(child.stdout.take().unwrap(), expect_admin);
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    let url = url.unwrap_or_else(|| panic!("palisade serve did not start:\n{log}"));
    if expect_admin {
        assert!(admin.is_some(), "the first node printed no admin token");
    }
    (Node { child, url, dir }, admin)
}

/// A response: status and JSON body.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http.request(method, &url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = r.status();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

async fn post(
    http: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    call(http, reqwest::Method::POST, url, token, Some(body)).await
}

async fn get(http: &reqwest::Client, url: String, token: &str) -> (StatusCode, Value) {
    call(http, reqwest::Method::GET, url, token, None).await
}

/// An incident's whole ledger as `GET …/events` gives it: (seq, event body).
async fn ledger(http: &reqwest::Client, node: &str, cn: &str, token: &str) -> Vec<(u64, Value)> {
    let (status, body) = get(http, format!("{node}/api/v1/incidents/{cn}/events"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["seq"].as_u64().unwrap(), r["event"].clone()))
        .collect()
}

/// The event at `seq`, read through `node`.
async fn event_at(
    http: &reqwest::Client,
    node: &str,
    cn: &str,
    token: &str,
    seq: u64,
) -> Option<Value> {
    let url = format!(
        "{node}/api/v1/incidents/{cn}/events?after={}&limit=1",
        seq - 1
    );
    let (status, body) = get(http, url, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["events"]
        .as_array()
        .unwrap()
        .first()
        .filter(|r| r["seq"].as_u64() == Some(seq))
        .map(|r| r["event"].clone())
}

/// What a task did: notes acknowledged (text, sequence number), notes given up on, steps started.
#[derive(Default)]
struct Done {
    acked: Vec<(String, u64)>,
    gave_up: Vec<String>,
    started: Vec<(String, u32)>,
}

/// The server gave up on a command after the stream changed under it on every attempt (409,
/// `concurrent-change`): nothing was written, and the client may send it again.
fn gave_up_on_contention(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::CONFLICT
        && body["type"]
            .as_str()
            .is_some_and(|t| t.ends_with(":concurrent-change"))
}

/// Notes each writer task sends, and writer tasks per node and incident.
const NOTES: usize = 8;
const WRITERS: usize = 2;
/// Steps both nodes race to start on each incident (both playbooks have at least 5).
const STEPS: u32 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_serve_processes_on_one_database_keep_one_ledger() {
    let Some(base) = pg::base() else { return };
    let db = pg::fresh_schema(&base).await;
    // One signing key for both nodes, as a deployment shares it.
    let mut secret = [0u8; 32];
    secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let key_hex = hex::encode(secret);
    let public = hex::encode(
        palisade_core::chain::LedgerSigner::from_secret(secret)
            .verifying_key()
            .as_bytes(),
    );
    let (a, admin) = start(&db, &key_hex, true);
    let admin = admin.unwrap();
    // The second node finds the admin the first one created, and prints no token.
    let (b, _) = start(&db, &key_hex, false);
    let nodes = [a.url.clone(), b.url.clone()];
    let http = reqwest::Client::new();

    // An account made through one node works through the other.
    let (status, body) = post(
        &http,
        format!("{}/api/v1/tokens", nodes[0]),
        &admin,
        json!({"user": "dana", "role": "responder"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let dana = body["token"].as_str().unwrap().to_string();
    let (status, me) = get(&http, format!("{}/api/v1/me", nodes[1]), &dana).await;
    assert_eq!(status, StatusCode::OK, "{me}");

    // Three operational incidents and a restricted security one (every read of which is
    // itself appended, so both nodes also append reads at the head concurrently), declared
    // through either node and visible through the other at once.
    let mut incidents = Vec::new();
    for i in 0..4 {
        let body = if i == 3 {
            json!({"title": "Two nodes, restricted", "severity": "SEV-1"})
        } else {
            json!({"title": format!("Two nodes {i}"), "severity": "SEV-3", "kind": "operational"})
        };
        let (status, inc) = post(
            &http,
            format!("{}/api/v1/incidents", nodes[i % 2]),
            &dana,
            body,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{inc}");
        assert_eq!(inc["restricted"], i == 3);
        let cn = inc["codename"].as_str().unwrap().to_string();
        let (status, seen) = get(
            &http,
            format!("{}/api/v1/incidents/{cn}", nodes[(i + 1) % 2]),
            &dana,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        incidents.push(cn);
    }

    // Through both nodes at once: notes from several tasks per node and incident, each checked
    // through the other node as soon as it is acknowledged, and both nodes racing to start the
    // same steps (exactly one start of each may succeed).
    let mut tasks = Vec::new();
    for cn in &incidents {
        for node in 0..2 {
            let (here, there) = (nodes[node].clone(), nodes[1 - node].clone());
            for w in 0..WRITERS {
                let (http, dana, cn) = (http.clone(), dana.clone(), cn.clone());
                let (here, there) = (here.clone(), there.clone());
                tasks.push(tokio::spawn(async move {
                    let mut acked = Vec::new();
                    let mut gave_up = Vec::new();
                    for k in 0..NOTES {
                        let text = format!("{cn} note {node}-{w}-{k}");
                        let (status, view) = post(
                            &http,
                            format!("{here}/api/v1/incidents/{cn}/notes"),
                            &dana,
                            json!({"text": text}),
                        )
                        .await;
                        if gave_up_on_contention(status, &view) {
                            gave_up.push(text);
                            continue;
                        }
                        assert_eq!(status, StatusCode::OK, "note through {here}: {view}");
                        // The answer is the incident after the note: its last event is the note.
                        let seq = view["events"].as_u64().unwrap();
                        // The other node shows it: in the ledger at that number …
                        let e = event_at(&http, &there, &cn, &dana, seq).await;
                        assert_eq!(
                            e.as_ref().map(|e| e["data"]["text"].clone()),
                            Some(json!(text)),
                            "{there} right after {here} acknowledged event {seq}"
                        );
                        // … and in its folded state.
                        let (status, seen) =
                            get(&http, format!("{there}/api/v1/incidents/{cn}"), &dana).await;
                        assert_eq!(status, StatusCode::OK, "{seen}");
                        assert!(
                            seen["events"].as_u64().unwrap() >= seq,
                            "{there} folded {} events after {here} acknowledged event {seq}",
                            seen["events"]
                        );
                        acked.push((text, seq));
                    }
                    Done {
                        acked,
                        gave_up,
                        ..Done::default()
                    }
                }));
            }
            let (http, dana, cn) = (http.clone(), dana.clone(), cn.clone());
            tasks.push(tokio::spawn(async move {
                let mut started = Vec::new();
                for step in 1..=STEPS {
                    let (status, view) = post(
                        &http,
                        format!("{here}/api/v1/incidents/{cn}/steps/{step}/start"),
                        &dana,
                        json!({}),
                    )
                    .await;
                    match status {
                        StatusCode::OK => {
                            let (status, seen) =
                                get(&http, format!("{there}/api/v1/incidents/{cn}"), &dana).await;
                            assert_eq!(status, StatusCode::OK, "{seen}");
                            assert_eq!(
                                seen["steps"][step as usize - 1]["status"],
                                "in_progress",
                                "{there} right after {here} started step {step}"
                            );
                            started.push(step);
                        }
                        // The other node started it first: decided on the fresh state.
                        StatusCode::CONFLICT if view["rule"] == "invalid-transition" => {}
                        _ if gave_up_on_contention(status, &view) => {}
                        other => panic!("start step {step} through {here}: {other} {view}"),
                    }
                }
                Done {
                    started: started.into_iter().map(|s| (cn.clone(), s)).collect(),
                    ..Done::default()
                }
            }));
        }
    }
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut gave_up = Vec::new();
    let mut starts: BTreeMap<(String, u32), u32> = BTreeMap::new();
    for t in tasks {
        let done = t.await.unwrap();
        for (text, seq) in done.acked {
            assert!(acked.insert(text, seq).is_none());
        }
        gave_up.extend(done.gave_up);
        for key in done.started {
            *starts.entry(key).or_default() += 1;
        }
    }
    let sent = incidents.len() * 2 * WRITERS * NOTES;
    assert_eq!(acked.len() + gave_up.len(), sent);
    // Contention may make a note give up: a note is decided on the state and appended at its
    // number (it is refused once the incident is closed, so it cannot be appended at the head
    // unchecked; ARCHITECTURE.md, "Notes are decided on the state"), and the other node's notes
    // and recorded reads can land between its decision and its append on every retry. It must
    // stay rare.
    assert!(
        acked.len() * 10 >= sent * 9,
        "only {} of {sent} notes were acknowledged",
        acked.len()
    );

    let mut total_events = 0;
    for cn in &incidents {
        // Read through the node that did not declare it, last: nothing is missing there.
        let rows = ledger(&http, &nodes[1], cn, &dana).await;
        total_events += rows.len() as u64;
        let seqs: Vec<u64> = rows.iter().map(|(s, _)| *s).collect();
        let expect: Vec<u64> = (1..=rows.len() as u64).collect();
        assert_eq!(seqs, expect, "{cn}: sequence numbers run 1..n");
        let mut notes: HashMap<&str, Vec<u64>> = HashMap::new();
        let mut step_started: HashMap<u64, u32> = HashMap::new();
        for (seq, e) in &rows {
            assert_eq!(e["seq"].as_u64(), Some(*seq), "{cn}: {e}");
            match e["data"]["type"].as_str().unwrap() {
                "note_added" => notes
                    .entry(e["data"]["text"].as_str().unwrap())
                    .or_default()
                    .push(*seq),
                "step_started" => {
                    *step_started
                        .entry(e["data"]["step"].as_u64().unwrap())
                        .or_default() += 1
                }
                _ => {}
            }
        }
        // Every acknowledged note once, where its answer said; no note that was not (a note
        // given up on is not there either).
        for (text, seqs) in &notes {
            assert_eq!(
                Some(seqs.as_slice()),
                acked.get(*text).map(std::slice::from_ref),
                "{cn}: note {text:?}"
            );
        }
        let mine = acked.keys().filter(|t| t.starts_with(cn.as_str())).count();
        assert_eq!(notes.len(), mine, "{cn}: every acknowledged note is there");
        // Each step started once, by exactly one of the two racing nodes.
        for step in 1..=STEPS {
            assert_eq!(
                step_started.get(&(step as u64)),
                Some(&1),
                "{cn} step {step}"
            );
            assert_eq!(
                starts.get(&(cn.clone(), step)),
                Some(&1),
                "{cn} step {step}: one acknowledged start"
            );
        }
    }

    // The ledger verifies, and with either node's witness log (each holds the checkpoints that
    // node wrote; all of them are in the database).
    for node in [&a, &b] {
        let witnessed = std::fs::read_to_string(node.witness_log())
            .unwrap()
            .lines()
            .count() as u64;
        assert!(witnessed > 0, "{} witnessed nothing", node.url);
        let report = verify(&db, &public, &node.witness_log());
        assert_eq!(report["failures"], json!([]), "{report}");
        assert_eq!(report["witness_entries"].as_u64(), Some(witnessed));
        assert!(
            report["events"].as_u64().unwrap() >= total_events,
            "{report}"
        );
    }
}

/// `palisade verify` on the database with the trusted key and a witness log; its JSON report.
fn verify(db: &str, public_hex: &str, witness: &Path) -> Value {
    let out = Command::new(common::BIN)
        .args(["verify", db, "--public-key", public_hex, "--format", "json"])
        .arg("--witness")
        .arg(witness)
        .env_remove("PALISADE_DATA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "palisade verify:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}
