//! Continuous monitoring at scale: every deployed SBOM matched again after the vulnerability
//! index changes.
//!
//! Starts the application in-process on SQLite (or PostgreSQL with
//! `PALISADE_BENCH_DATABASE_URL`, in a schema of its own), creates `--services` services and
//! uploads `--sboms` SBOMs of `--components` components each for their environments (through
//! `App::upload_report`, the API's code path without HTTP), before any index exists. Components
//! are PyPI and crates.io packages: a few per SBOM at versions the shared OSV data
//! (`../shared/data/osv`) lists as affected, the rest packages no advisory names. Then imports
//! the shared OSV data into the data directory's index and measures `App::rematch_deployed`:
//!
//! 1. the first match after the import: every affected component opens a finding (and a
//!    critical or high one an alert);
//! 2. a match with nothing new (the index touched, nothing changed);
//! 3. a database update adding one advisory that affects a package in every SBOM: one new
//!    finding per SBOM.
//!
//! ```sh
//! cargo bench -p palisade-server --bench rematch                     # 1,000 SBOMs × 500 components
//! cargo bench -p palisade-server --bench rematch -- --sboms 100
//! MALLOC_ARENA_MAX=16 cargo bench -p palisade-server --bench rematch  # glibc's default on 2 cores
//! ```

use palisade_app::findings::Upload;
use palisade_app::{App, AppConfig, Options, Started};
use palisade_core::service::CreateService;
use palisade_core::types::Phase;
use palisade_core::{AccountRole, Actor, UserName};
use palisade_store::StoreConfig;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

const TARGET_SECS: f64 = 10.0;
const TARGET_MIB: f64 = 200.0;

fn status_kib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Reset the peak RSS (VmHWM) to the current RSS, so a phase's peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// (ecosystem purl type, name, an affected version) from the shared OSV records.
fn affected(osv: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for eco in ["PyPI", "crates.io"] {
        let Ok(dir) = std::fs::read_dir(osv.join(eco)) else {
            continue;
        };
        for e in dir.flatten() {
            let Ok(text) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            for a in v["affected"].as_array().into_iter().flatten() {
                let (Some(name), Some(version)) = (
                    a["package"]["name"].as_str(),
                    a["versions"]
                        .as_array()
                        .and_then(|vs| vs.last())
                        .and_then(Value::as_str),
                ) else {
                    continue;
                };
                let ty = if eco == "PyPI" { "pypi" } else { "cargo" };
                out.push((ty.to_string(), name.to_string(), version.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

async fn pg_admin(base: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("connect to PALISADE_BENCH_DATABASE_URL");
    tokio::spawn(conn);
    client.batch_execute(sql).await.expect(sql);
}

/// The allocator `palisade serve` runs with (see the binary's main.rs), so that the memory
/// figures are the server's.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() {
    let (mut sboms, mut components, mut services, mut vulnerable) =
        (1000usize, 500usize, 100usize, 5usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut n = || args.next().and_then(|v| v.parse().ok()).expect("a number");
        match a.as_str() {
            "--sboms" => sboms = n(),
            "--components" => components = n(),
            "--services" => services = n(),
            "--vulnerable" => vulnerable = n(),
            _ => {}
        }
    }
    let osv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/osv");
    let hits = affected(&osv);
    assert!(
        !hits.is_empty(),
        "the shared OSV data at {} is needed",
        osv.display()
    );
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
        "backend: {}; {sboms} SBOMs × {components} components ({vulnerable} affected each) over {services} services; {} affected packages in the OSV data",
        if base.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        hits.len()
    );
    let config = AppConfig {
        store: StoreConfig {
            data_dir: dir.path().to_path_buf(),
            database_url,
        },
        manual_timers: true,
        ..Default::default()
    };
    let Started { app, .. } = App::start(&config).await.expect("start");
    let admin = Actor {
        user: UserName::parse("admin").unwrap(),
        account_role: AccountRole::Admin,
    };
    let t = Instant::now();
    for s in 0..services {
        app.create_service(
            &admin,
            CreateService {
                name: format!("svc-{s:04}"),
                description: None,
            },
            &Options::default(),
            None,
        )
        .await
        .expect("a service");
    }
    let mut uploads = tokio::task::JoinSet::new();
    for i in 0..sboms {
        let app = app.clone();
        let admin = admin.clone();
        let mut purls: Vec<String> = (0..vulnerable)
            .map(|k| {
                let (ty, name, version) = &hits[(i * 7 + k * 131) % hits.len()];
                format!("pkg:{ty}/{name}@{version}")
            })
            .collect();
        purls.extend(
            (vulnerable..components)
                .map(|k| format!("pkg:pypi/bench-pkg-{k}@1.{}.{}", i % 10, k % 7)),
        );
        let bom = json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
            "components": purls.iter().map(|p| json!({"type": "library", "name": p, "purl": p})).collect::<Vec<_>>()});
        uploads.spawn(async move {
            app.upload_report(
                &admin,
                Upload {
                    service: format!("svc-{:04}", i % services),
                    phase: Phase::Deploy,
                    tool: None,
                    name: None,
                    kind: None,
                    environment: Some(format!("env-{}", i / services)),
                    release: Some(format!("1.0.{i}")),
                    report: serde_json::to_vec(&bom).unwrap(),
                },
                &Options::default(),
            )
            .await
            .expect("an SBOM upload");
        });
        if uploads.len() >= 32 {
            uploads.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = uploads.join_next().await {
        r.unwrap();
    }
    println!(
        "seeded in {:.1} s (not measured); RSS {:.0} MiB: anonymous {:.0} MiB, files {:.0} MiB",
        t.elapsed().as_secs_f64(),
        status_kib("VmRSS:") / 1024.0,
        status_kib("RssAnon:") / 1024.0,
        status_kib("RssFile:") / 1024.0
    );

    let index_path = dir.path().join("vulns.sqlite3");
    let mut index = palisade_deps::index::Index::open(&index_path).expect("an index");
    index
        .import_paths(&[osv.join("PyPI"), osv.join("crates.io")])
        .expect("the OSV data imported");
    drop(index);

    let mut worst: f64 = 0.0;
    let mut worst_mib: f64 = 0.0;
    for what in [
        "first match after the import",
        "nothing new",
        "one new advisory",
    ] {
        if what == "one new advisory" {
            let extra = tempfile::tempdir().unwrap();
            std::fs::write(
                extra.path().join("BENCH-0001.json"),
                serde_json::to_vec(&json!({"id": "BENCH-0001", "modified": "2026-12-07T00:00:00Z",
                    "summary": "bench advisory", "affected": [{"package": {"ecosystem": "PyPI", "name": "bench-pkg-7"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
                    "database_specific": {"severity": "HIGH"}})).unwrap(),
            )
            .unwrap();
            let mut index = palisade_deps::index::Index::open(&index_path).unwrap();
            index.import_paths(&[extra.path().to_path_buf()]).unwrap();
        }
        reset_peak();
        let start_mib = status_kib("VmRSS:") / 1024.0;
        let t = Instant::now();
        let r = app.rematch_deployed().await.expect("a rematch");
        let secs = t.elapsed().as_secs_f64();
        let mib = status_kib("VmHWM:") / 1024.0;
        println!(
            "{what:<30} {secs:>7.2} s  RSS {start_mib:>4.0} MiB at the start, peak {mib:>4.0} MiB (+{:.0}); after: anonymous {:.0} MiB, files {:.0} MiB; sboms {} components {} new {} fixed {} alerts {}",
            mib - start_mib,
            status_kib("RssAnon:") / 1024.0,
            status_kib("RssFile:") / 1024.0,
            r.sboms,
            r.components,
            r.new,
            r.fixed,
            r.alerts
        );
        if what != "first match after the import" {
            worst = worst.max(secs);
            worst_mib = worst_mib.max(mib - start_mib);
        }
    }
    println!(
        "target ≤ {TARGET_SECS} s and ≤ {TARGET_MIB} MiB (the re-match's own growth) after an update: {}",
        if worst <= TARGET_SECS && worst_mib <= TARGET_MIB {
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
