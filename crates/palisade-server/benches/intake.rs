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
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:7979".into(),
        key: String::new(),
        rate: 0,
        seconds: 20,
        connections: 64,
        distinct: 100_000,
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

#[tokio::main]
async fn main() {
    let a = args();
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
