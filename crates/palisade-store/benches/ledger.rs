//! Ledger benchmarks (figures go to BENCHMARKS.md).
//!
//! ```text
//! cargo bench -p palisade-store --bench ledger -- append [--pg URL] [--rounds 3]
//! cargo bench -p palisade-store --bench ledger -- verify --events 1000000
//! cargo bench -p palisade-store --bench ledger -- dataset DIR --incidents 10000 --events-per 100 [--pg URL]
//! cargo bench -p palisade-store --bench ledger -- verify-dir DIR [--runs 3] [--all-signatures]
//! ```
//!
//! `append` measures durable appends (each acknowledged only after commit and witness flush):
//! one incident with one client, and 1,000 incidents appended to in parallel, on SQLite and (with
//! `--pg`, in a schema of its own, dropped at the end) PostgreSQL, in alternating rounds; it
//! prints the load average and the disk's fdatasync latency at the start and the end. `verify` builds a
//! ledger of the given size and times `verify` on it. `dataset` builds a data directory for the
//! HTTP latency benchmark (bench/api-latency.sh) and writes an admin token to DIR/bench-token.

use palisade_core::incident::{Declaration, declare, events_for};
use palisade_core::{
    AccountRole, IncidentState, Kind, Payload, Playbook, Role, Severity, Timestamp, UserName,
};
use palisade_store::{AppendRequest, NewToken, Store, StoreConfig, VerifyTarget};
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
        .append(AppendRequest::for_incident(&st, 0, &events).unwrap())
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
            .append(AppendRequest::for_incident(st, before, &events).unwrap())
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

/// A new schema in the database at `base` (dropped again by [`drop_pg_schema`]) and a URL whose
/// connections use it.
async fn fresh_pg_schema(base: &str) -> (String, String) {
    let schema = format!("bench_{}", Uuid::new_v4().simple());
    pg_admin(base, &format!("CREATE SCHEMA {schema}")).await;
    let sep = if base.contains('?') { '&' } else { '?' };
    (
        format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        schema,
    )
}

async fn drop_pg_schema(base: &str, schema: &str) {
    pg_admin(base, &format!("DROP SCHEMA {schema} CASCADE")).await;
}

async fn pg_admin(base: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
}

/// fdatasync latency of the disk under `dir` (p50, p90 in ms over 200 small appends): durable
/// appends wait for two of them (commit, then witness), so this bounds the sequential figures.
fn fdatasync_ms(dir: &std::path::Path) -> (f64, f64) {
    use std::io::Write;
    let path = dir.join("fdatasync-probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut t: Vec<f64> = (0..200)
        .map(|_| {
            f.write_all(&[b'x'; 300]).unwrap();
            let start = Instant::now();
            f.sync_data().unwrap();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    std::fs::remove_file(&path).unwrap();
    t.sort_by(f64::total_cmp);
    (t[100], t[180])
}

/// The floor under a durable PostgreSQL append from one client: 500 single-row `INSERT`s of a
/// 600-byte row, each its own transaction (one round trip and one WAL flush, nothing else), on a
/// table of its own in the bench's schema. Returns p50, p90 in ms and the rate per second.
async fn pg_commit_floor(url: &str) -> (f64, f64, f64) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS commit_floor (id bigserial PRIMARY KEY, body text NOT NULL)")
        .await
        .unwrap();
    let stmt = client
        .prepare("INSERT INTO commit_floor (body) VALUES ($1)")
        .await
        .unwrap();
    let body = "x".repeat(600);
    let all = Instant::now();
    let mut t: Vec<f64> = Vec::with_capacity(500);
    for _ in 0..500 {
        let start = Instant::now();
        client.execute(&stmt, &[&body]).await.unwrap();
        t.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let rate = 500.0 / all.elapsed().as_secs_f64();
    t.sort_by(f64::total_cmp);
    (t[250], t[450], rate)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine(dir: &std::path::Path) -> String {
    let (p50, p90) = fdatasync_ms(dir);
    format!(
        "load average {}, fdatasync p50 {p50:.2} ms, p90 {p90:.2} ms",
        load_average()
    )
}

/// Median, min and max.
fn summary(v: &[f64]) -> String {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    format!(
        "median {:.0}, min {:.0}, max {:.0}",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1]
    )
}

/// Durable appends on each backend: one incident with one client (every event waits for its own
/// commit and witness flush), and 1,000 incidents appended to in parallel. Each round runs the
/// sequential workload on every backend, then the parallel one, so the backends meet the same
/// machine: on a shared machine disk latency moves a lot within minutes, and figures taken a
/// minute apart are not comparable. The summary gives each figure over the rounds.
async fn bench_append(pg: Option<String>, rounds: usize) {
    let mut backends: Vec<(&str, Option<String>)> = vec![("sqlite", None)];
    let mut schema = None;
    let mut pg_url = None;
    if let Some(base) = &pg {
        let (url, name) = fresh_pg_schema(base).await;
        backends.push(("postgres", Some(url.clone())));
        schema = Some(name);
        pg_url = Some(url);
    }
    let mut stores = Vec::new();
    for (name, url) in backends {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), url).await;
        stores.push((name, store, dir));
    }
    let probe_dir = stores[0].2.path().to_path_buf();
    println!("start: {}", machine(&probe_dir));
    let mut incidents_made = 0;
    let mut seq: Vec<Vec<f64>> = vec![Vec::new(); stores.len()];
    let mut par: Vec<Vec<f64>> = vec![Vec::new(); stores.len()];
    for round in 1..=rounds {
        println!("round {round}: {}", machine(&probe_dir));
        if let Some(url) = &pg_url {
            let (p50, p90, rate) = pg_commit_floor(url).await;
            println!(
                "round {round} postgres floor: a bare one-row INSERT per transaction: p50 {p50:.2} ms, p90 {p90:.2} ms, {rate:.0} commits/s"
            );
        }
        for (i, (name, store, _)) in stores.iter().enumerate() {
            incidents_made += 1;
            let mut st = new_incident(store, incidents_made).await;
            let n = 500;
            let t = Instant::now();
            append_events(store, &mut st, n, 1).await;
            let secs = t.elapsed().as_secs_f64();
            seq[i].push(n as f64 / secs);
            println!(
                "round {round} {name}: one incident, 1 event per append, sequential: {n} events in {secs:.2} s = {:.0} events/s ({:.2} ms per durable append)",
                n as f64 / secs,
                secs * 1000.0 / n as f64
            );
        }
        for (i, (name, store, _)) in stores.iter().enumerate() {
            let incidents = 1000;
            let per = 20;
            let mut states = Vec::new();
            for _ in 0..incidents {
                incidents_made += 1;
                states.push(new_incident(store, incidents_made).await);
            }
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
            par[i].push(total as f64 / secs);
            println!(
                "round {round} {name}: {incidents} incidents in parallel, 1 event per append: {total} events in {secs:.2} s = {:.0} events/s",
                total as f64 / secs
            );
        }
    }
    println!("end: {}", machine(&probe_dir));
    for (i, (name, _, _)) in stores.iter().enumerate() {
        println!(
            "{name}: sequential, one incident: {} events/s; 1,000 incidents in parallel: {} events/s ({rounds} rounds)",
            summary(&seq[i]),
            summary(&par[i])
        );
    }
    drop(stores);
    if let (Some(base), Some(schema)) = (&pg, &schema) {
        drop_pg_schema(base, schema).await;
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
        let report = palisade_store::verify(
            &target,
            key,
            &palisade_store::VerifyOptions {
                all_signatures: all,
                ..Default::default()
            },
        )
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
        let report = palisade_store::verify(
            &target,
            key,
            &palisade_store::VerifyOptions {
                all_signatures: all,
                ..Default::default()
            },
        )
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

/// With `pg`, the ledger goes into a new schema of that database (its URL is written to
/// `DIR/database-url` for `bench/api-latency.sh`); otherwise into SQLite in `dir`.
async fn dataset(dir: PathBuf, incidents: usize, per: usize, pg: Option<String>) {
    std::fs::create_dir_all(&dir).unwrap();
    let url = match &pg {
        Some(base) => {
            let (url, _schema) = fresh_pg_schema(base).await;
            std::fs::write(dir.join("database-url"), &url).unwrap();
            Some(url)
        }
        None => None,
    };
    let opened = Store::open(&StoreConfig {
        data_dir: dir.clone(),
        database_url: url,
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
            bench_append(pg, arg(&args, "--rounds", 3)).await
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
                args.iter()
                    .position(|a| a == "--pg")
                    .and_then(|i| args.get(i + 1))
                    .cloned(),
            )
            .await
        }
        _ => eprintln!(
            "usage: ledger append [--pg URL] [--rounds N] | verify [--events N] | verify-dir DIR [--runs N] [--all-signatures] | dataset DIR [--incidents N] [--events-per N] [--pg URL]"
        ),
    }
}
