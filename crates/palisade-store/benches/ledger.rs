//! Ledger benchmarks (figures go to BENCHMARKS.md).
//!
//! ```text
//! cargo bench -p palisade-store --bench ledger -- append [--pg URL]
//! cargo bench -p palisade-store --bench ledger -- verify --events 1000000
//! cargo bench -p palisade-store --bench ledger -- dataset DIR --incidents 10000 --events-per 100
//! cargo bench -p palisade-store --bench ledger -- verify-dir DIR [--runs 3] [--all-signatures]
//! ```
//!
//! `append` measures durable appends (each acknowledged only after commit and witness flush):
//! one incident with one client, and 1,000 incidents appended to in parallel. `verify` builds a
//! ledger of the given size and times `verify` on it. `dataset` builds a data directory for the
//! HTTP latency benchmark (bench/api-latency.sh) and writes an admin token to DIR/bench-token.

use palisade_core::incident::{Declaration, declare, events_for};
use palisade_core::{
    AccountRole, IncidentState, Kind, Payload, Playbook, Role, Severity, Timestamp, UserName,
};
use palisade_store::{AppendRequest, NewToken, Projection, Store, StoreConfig, VerifyTarget};
use sha2::Digest;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

fn now() -> Timestamp {
    Timestamp::from_datetime(time::OffsetDateTime::now_utc())
}

fn admin() -> UserName {
    UserName::parse("admin").unwrap()
}

async fn new_incident(store: &Store, n: usize) -> IncidentState {
    let id = Uuid::now_v7();
    let payload = declare(
        Declaration {
            title: format!("Benchmark incident {n}"),
            kind: Kind::Security,
            severity: Severity::SEV2,
            restricted: None,
            summary: None,
            playbook: Playbook::builtin_security(),
        },
        format!("bench-incident-{n}"),
    )
    .unwrap();
    let events = events_for(id, 0, &admin(), now(), None, vec![payload]);
    let st = IncidentState::fold(&events).unwrap();
    store
        .append(AppendRequest {
            incident: id,
            expected_last_seq: 0,
            events,
            projection: Projection::from_state(&st),
            outbox: Vec::new(),
        })
        .await
        .unwrap();
    st
}

/// The i-th event of a realistic incident: the IC, the 14 steps, then notes and status updates.
fn payload(i: usize) -> Payload {
    match i {
        0 => Payload::RoleAssigned {
            user: admin(),
            role: Role::IncidentCommander,
        },
        1..=14 => Payload::StepStarted { step: i as u32 },
        _ if i.is_multiple_of(10) => Payload::StatusUpdated {
            status: None,
            message: Some(format!(
                "Update {i}: containment holding; next update in 30 minutes."
            )),
            audience: None,
        },
        _ => Payload::NoteAdded {
            text: format!(
                "Observation {i}: request from 198.51.100.{} with a reused session token.",
                i % 250
            ),
        },
    }
}

/// Append `count` events to `st`, `per_append` at a time.
async fn append_events(store: &Store, st: &mut IncidentState, count: usize, per_append: usize) {
    let mut done = 0;
    while done < count {
        let k = per_append.min(count - done);
        let payloads: Vec<Payload> = (0..k)
            .map(|j| payload(st.last_seq as usize - 1 + j))
            .collect();
        let before = st.last_seq;
        let events = events_for(st.id, before, &admin(), now(), None, payloads);
        for e in &events {
            st.apply(e).unwrap();
        }
        store
            .append(AppendRequest {
                incident: st.id,
                expected_last_seq: before,
                events,
                projection: Projection::from_state(st),
                outbox: Vec::new(),
            })
            .await
            .unwrap();
        done += k;
    }
}

async fn open(dir: &std::path::Path, url: Option<String>) -> Store {
    Store::open(&StoreConfig {
        data_dir: dir.to_path_buf(),
        database_url: url,
    })
    .await
    .unwrap()
    .store
}

async fn fresh_pg_schema(base: &str) -> String {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let schema = format!("bench_{}", Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

async fn bench_append(pg: Option<String>) {
    let mut backends: Vec<(&str, Option<String>)> = vec![("sqlite", None)];
    if let Some(base) = pg {
        backends.push(("postgres", Some(fresh_pg_schema(&base).await)));
    }
    for (name, url) in backends {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), url.clone()).await;
        // One incident, one client: every event waits for its own durable commit.
        let mut st = new_incident(&store, 0).await;
        let n = 500;
        let t = Instant::now();
        append_events(&store, &mut st, n, 1).await;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{name}: one incident, 1 event per append, sequential: {n} events in {secs:.2} s = {:.0} events/s ({:.2} ms per durable append)",
            n as f64 / secs,
            secs * 1000.0 / n as f64
        );
        // 1,000 incidents in parallel, each appending events one at a time.
        let incidents = 1000;
        let per = 20;
        let mut states = Vec::new();
        for i in 0..incidents {
            states.push(new_incident(&store, i + 1).await);
        }
        let store = Arc::new(store);
        let t = Instant::now();
        let mut tasks = Vec::new();
        for mut st in states {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                append_events(&store, &mut st, per, 1).await
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        let total = incidents * per;
        println!(
            "{name}: {incidents} incidents in parallel, 1 event per append: {total} events in {secs:.2} s = {:.0} events/s",
            total as f64 / secs
        );
    }
}

/// Build a ledger of `incidents` × `per` events quickly (many incidents in parallel so commits group).
async fn build(store: Arc<Store>, incidents: usize, per: usize, per_append: usize) {
    let sem = Arc::new(tokio::sync::Semaphore::new(512));
    let mut tasks = Vec::new();
    for i in 0..incidents {
        let store = store.clone();
        let sem = sem.clone();
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire().await.unwrap();
            let mut st = new_incident(&store, i).await;
            append_events(&store, &mut st, per - 1, per_append).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

async fn bench_verify(events: usize) {
    let dir = tempfile::tempdir().unwrap();
    let opened = Store::open(&StoreConfig {
        data_dir: dir.path().to_path_buf(),
        database_url: None,
    })
    .await
    .unwrap();
    let key = opened.signer.verifying_key();
    let per = 100;
    let t = Instant::now();
    build(Arc::new(opened.store), events / per, per, 10).await;
    println!(
        "built {events} events ({} incidents, 10 events per append) in {:.1} s",
        events / per,
        t.elapsed().as_secs_f64()
    );
    let target = VerifyTarget::DataDir(dir.path().to_path_buf());
    for all in [false, true] {
        let t = Instant::now();
        let report = palisade_store::verify(&target, key, None, all)
            .await
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(report.ok(), "{:?}", report.failures.first());
        println!(
            "verify{}: {} events, {} checkpoints, {} signatures, {} witness entries in {secs:.2} s = {:.0} events/s",
            if all { " --all-signatures" } else { "" },
            report.events,
            report.checkpoints,
            report.signatures_verified,
            report.witness_entries,
            report.events as f64 / secs
        );
    }
}

async fn verify_dir(dir: PathBuf, runs: usize, all: bool) {
    let key = palisade_store::keys::read_public_key(
        &palisade_store::keys::public_key_path(&dir)
            .display()
            .to_string(),
    )
    .unwrap();
    let target = VerifyTarget::DataDir(dir);
    for _ in 0..runs {
        let t = Instant::now();
        let report = palisade_store::verify(&target, key, None, all)
            .await
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(report.ok(), "{:?}", report.failures.first());
        println!(
            "verify-dir{}: {} events, {} checkpoints, {} signatures, {} witness entries in {secs:.2} s = {:.0} events/s",
            if all { " --all-signatures" } else { "" },
            report.events,
            report.checkpoints,
            report.signatures_verified,
            report.witness_entries,
            report.events as f64 / secs
        );
    }
}

async fn dataset(dir: PathBuf, incidents: usize, per: usize) {
    let opened = Store::open(&StoreConfig {
        data_dir: dir.clone(),
        database_url: None,
    })
    .await
    .unwrap();
    let store = opened.store;
    if store.user(&admin()).await.unwrap().is_none() {
        store
            .create_user(&admin(), AccountRole::Admin)
            .await
            .unwrap();
    }
    let token = format!("pal_bench{}", Uuid::new_v4().simple());
    store
        .insert_token(&NewToken {
            id: format!("tok_{}", &Uuid::new_v4().simple().to_string()[..12]),
            user: admin(),
            label: "bench".into(),
            token_hash: hex::encode(sha2::Sha256::digest(token.as_bytes())),
            created_at: now().to_string(),
        })
        .await
        .unwrap();
    std::fs::write(dir.join("bench-token"), &token).unwrap();
    let t = Instant::now();
    build(Arc::new(store), incidents, per, 10).await;
    println!(
        "dataset: {incidents} incidents × {per} events in {:.1} s at {}",
        t.elapsed().as_secs_f64(),
        dir.display()
    );
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("append") => {
            let pg = args
                .iter()
                .position(|a| a == "--pg")
                .and_then(|i| args.get(i + 1))
                .cloned();
            bench_append(pg).await
        }
        Some("verify") => bench_verify(arg(&args, "--events", 1_000_000)).await,
        Some("verify-dir") => {
            let dir = PathBuf::from(args.get(1).expect("verify-dir DIR"));
            verify_dir(
                dir,
                arg(&args, "--runs", 3),
                args.iter().any(|a| a == "--all-signatures"),
            )
            .await
        }
        Some("dataset") => {
            let dir = PathBuf::from(args.get(1).expect("dataset DIR"));
            dataset(
                dir,
                arg(&args, "--incidents", 10_000),
                arg(&args, "--events-per", 100),
            )
            .await
        }
        _ => eprintln!(
            "usage: ledger append [--pg URL] | verify [--events N] | verify-dir DIR [--runs N] [--all-signatures] | dataset DIR [--incidents N] [--events-per N]"
        ),
    }
}
