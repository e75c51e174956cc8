//! Uploading a large SARIF report to a service's findings: time from sending the report to
//! having the answer, which comes after every finding it opens, fixes or reopens is a durable,
//! signed append and the run is recorded.
//!
//! Starts the application in-process (`App::start` and `palisade_server::router` on
//! 127.0.0.1:0) on SQLite, or on PostgreSQL when `PALISADE_BENCH_DATABASE_URL` is set (a new
//! schema, dropped at the end). Generates a SARIF file of `--results` results (default 10,000;
//! 200 rules, realistic messages, locations and partial fingerprints) and uploads it over HTTP:
//!
//! 1. the first upload: every result a new finding;
//! 2. the same report again: nothing changes but the run;
//! 3. a report with a tenth of the results replaced: that many fixed and that many new.
//!
//! ```sh
//! cargo bench -p palisade-server --bench findings_upload
//! PALISADE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p palisade-server --bench findings_upload
//! cargo bench -p palisade-server --bench findings_upload -- --results 50000
//! ```

use palisade_app::{App, AppConfig, Started};
use palisade_store::StoreConfig;
use serde_json::{Value, json};
use std::time::Instant;

/// The issue's target for a 10,000-result SARIF file.
const TARGET_SECS: f64 = 2.0;

fn report(results: usize, offset: usize) -> Vec<u8> {
    let rules: Vec<Value> = (0..200)
        .map(|r| {
            json!({"id": format!("rule-{r:03}"), "shortDescription": {"text": format!("Rule {r} found a problem")},
                   "properties": {"security-severity": format!("{}.0", r % 10)}})
        })
        .collect();
    let results: Vec<Value> = (offset..offset + results)
        .map(|i| {
            json!({"ruleId": format!("rule-{:03}", i % 200), "ruleIndex": i % 200, "level": "warning",
                   "message": {"text": format!("possible injection of request data into query {i}")},
                   "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("src/module{}/file{}.py", i % 97, i % 1013)},
                                  "region": {"startLine": 1 + i % 400, "startColumn": 5}}}],
                   "partialFingerprints": {"primaryLocationLineHash": format!("{:016x}:1", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))}})
        })
        .collect();
    serde_json::to_vec(&json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "bench-sast", "rules": rules}}, "results": results}]}))
        .unwrap()
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn pg_admin(base: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("connect to PALISADE_BENCH_DATABASE_URL");
    tokio::spawn(conn);
    client.batch_execute(sql).await.expect(sql);
}

#[tokio::main]
async fn main() {
    let mut results = 10_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--results" {
            results = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--results N");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let base = std::env::var("PALISADE_BENCH_DATABASE_URL").ok();
    let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let database_url = match &base {
        Some(b) => {
            pg_admin(b, &format!("CREATE SCHEMA {schema}")).await;
            let sep = if b.contains('?') { '&' } else { '?' };
            Some(format!("{b}{sep}options=-c%20search_path%3D{schema}"))
        }
        None => None,
    };
    println!(
        "backend: {}; {} results per report",
        if base.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        results
    );
    let config = AppConfig {
        store: StoreConfig {
            data_dir: dir.path().to_path_buf(),
            database_url,
        },
        ..Default::default()
    };
    let Started {
        app,
        bootstrap_token,
        ..
    } = App::start(&config).await.expect("start");
    let token = bootstrap_token.expect("admin token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = palisade_server::router(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/api/v1/services"))
        .bearer_auth(&token)
        .json(&json!({"name": "bench-svc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let first = report(results, 0);
    let shifted = report(results, results / 10);
    println!("report: {:.1} MiB", first.len() as f64 / 1048576.0);
    let mut worst: f64 = 0.0;
    for (what, body) in [
        ("first upload (all new)", &first),
        ("same report again", &first),
        ("a tenth replaced", &shifted),
    ] {
        let t = Instant::now();
        let r = http
            .post(format!(
                "{url}/api/v1/services/bench-svc/findings/uploads?phase=code"
            ))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(status, 201, "{v}");
        worst = worst.max(secs);
        println!(
            "{what:<24} {secs:>7.3} s   new {:>6} fixed {:>6} reopened {:>6} unchanged {:>6}",
            v["new"], v["fixed"], v["reopened"], v["unchanged"]
        );
    }
    println!(
        "peak RSS (server and client in one process): {:.0} MiB",
        rss_mib()
    );
    println!(
        "target ≤ {TARGET_SECS} s per {results}-result upload: {}",
        if worst <= TARGET_SECS {
            "met"
        } else {
            "NOT met"
        }
    );
    drop(app);
    if let Some(b) = &base {
        pg_admin(b, &format!("DROP SCHEMA {schema} CASCADE")).await;
    }
}
