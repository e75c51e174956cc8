//! Load for the Events API: `POST /v2/enqueue` against a running `palisade serve`.
//!
//! Open loop at a fixed rate (each request has a scheduled send time, and its latency is counted
//! from then, so a slow server cannot hide its queueing: no coordinated omission), or closed
//! loop at full speed (`--rate 0`). Prints requests, answers other than 202, throughput and the
//! latency distribution.
//!
//! ```sh
//! cargo bench -p palisade-server --bench intake -- --url http://127.0.0.1:7979 --key KEY \
//!     [--rate 5000] [--seconds 30] [--connections 64] [--distinct 100000]
//! ```
//! `--distinct N`: dedup keys cycle through N values (N new alerts, then deduplications).
//!
//! `--pages PORT`: trigger-to-page latency. Listen on PORT for the server's page webhooks
//! (`PALISADE_NOTIFY_URL=http://127.0.0.1:PORT/hook`, the service's escalation policy paging
//! someone with no contact methods of their own), send one new alert per request at `--rate`,
//! and count from each trigger's send to its page's arrival (matched by `dedup_key`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Args {
    url: String,
    key: String,
    rate: u64,
    seconds: u64,
    connections: usize,
    distinct: u64,
    pages: Option<u16>,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:7979".into(),
        key: String::new(),
        rate: 0,
        seconds: 20,
        connections: 64,
        distinct: 100_000,
        pages: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = value(),
            "--key" => a.key = value(),
            "--rate" => a.rate = value().parse().expect("--rate N"),
            "--seconds" => a.seconds = value().parse().expect("--seconds N"),
            "--connections" => a.connections = value().parse().expect("--connections N"),
            "--distinct" => a.distinct = value().parse().expect("--distinct N"),
            "--pages" => a.pages = Some(value().parse().expect("--pages PORT")),
            // cargo bench passes --bench.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.key.is_empty(), "--key ROUTING_KEY is required");
    a
}

fn body(key: &str, n: u64, distinct: u64) -> String {
    serde_json::json!({
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": format!("bench-{}", n % distinct.max(1)),
        "payload": {"summary": format!("Load test alert {n}"), "source": "bench", "severity": "warning",
                    "custom_details": {"n": n, "ratio": 0.5}}
    })
    .to_string()
}

/// Trigger-to-page latency: one new alert per request at `a.rate`, each page's arrival at the
/// receiver matched to its trigger's send time by `dedup_key`.
async fn pages(a: &Args, port: u16) {
    use std::collections::HashMap;
    use std::sync::Mutex;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if let Some(k) = v["dedup_key"].as_str() {
                    let _ = tx.send((k.to_string(), Instant::now()));
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the receiver's port");
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let url = format!("{}/v2/enqueue", a.url.trim_end_matches('/'));
    let total = a.rate.max(1) * a.seconds;
    let interval = Duration::from_secs_f64(1.0 / a.rate.max(1) as f64);
    let run = uuid_like();
    let start = Instant::now();
    for n in 0..total {
        tokio::time::sleep_until((start + interval * n as u32).into()).await;
        let key = format!("page-{run}-{n}");
        sent.lock().unwrap().insert(key.clone(), Instant::now());
        let body =
            serde_json::json!({"routing_key": a.key, "event_action": "trigger", "dedup_key": key,
            "payload": {"summary": "latency probe", "source": "bench", "severity": "critical"}})
            .to_string();
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let _ = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
        });
    }
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (latencies.len() as u64) < total {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some((key, at))) = tokio::time::timeout(left, rx.recv()).await else {
            break;
        };
        if let Some(t) = sent.lock().unwrap().remove(&key) {
            latencies.push(at.duration_since(t).as_micros() as u64);
        }
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "trigger-to-page: {} of {total} alerts paged at {}/s; latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        latencies.len(),
        a.rate,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0
    );
}

/// A value that differs between runs (no dependency on a random number crate).
fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[tokio::main]
async fn main() {
    let a = args();
    if let Some(port) = a.pages {
        return pages(&a, port).await;
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections)
        .build()
        .unwrap();
    let url = format!("{}/v2/enqueue", a.url.trim_end_matches('/'));
    let total = if a.rate > 0 {
        a.rate * a.seconds
    } else {
        u64::MAX
    };
    let next = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.seconds);
    let interval = if a.rate > 0 {
        Duration::from_secs_f64(1.0 / a.rate as f64)
    } else {
        Duration::ZERO
    };
    let mut workers = Vec::new();
    for _ in 0..a.connections {
        let (client, url, key, next, other) = (
            client.clone(),
            url.clone(),
            a.key.clone(),
            next.clone(),
            other.clone(),
        );
        let distinct = a.distinct;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                // Open loop: request n is due at start + n × interval.
                let due = start + interval * n as u32;
                if a.rate > 0 {
                    tokio::time::sleep_until(due.into()).await;
                } else if Instant::now() >= deadline {
                    break;
                }
                let sent_from = if a.rate > 0 { due } else { Instant::now() };
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body(&key, n, distinct))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 202 => {
                        let _ = r.bytes().await;
                    }
                    _ => {
                        other.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.push(sent_from.elapsed().as_micros() as u64);
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "requests {} in {:.1} s: {:.0}/s; not 202: {}; mode {}; connections {}",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        other.load(Ordering::Relaxed),
        if a.rate > 0 {
            format!("open loop at {}/s", a.rate)
        } else {
            "closed loop".into()
        },
        a.connections
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        all.last().copied().unwrap_or(0) as f64 / 1000.0
    );
}
