//! The web UI's incident page at scale: server time and page weight.
//!
//! Starts the application in-process (`App::start` and `palisade_server::router` on
//! 127.0.0.1:0, as the tests' `TestServer` does) on SQLite, or on PostgreSQL when
//! `PALISADE_BENCH_DATABASE_URL` is set (in a new schema of that database, dropped at the end).
//! Seeds `--incidents` incidents with `--events` events in all **through the application's
//! pipeline** (`App::declare`, `App::execute`: the API's code path without HTTP), from
//! `--concurrency` tasks at once, each taking one incident from declaration to its last event:
//! role assignments, status updates, steps started and completed (the approval before the
//! external-communication step), notes, some incidents resolved and closed. Most are security
//! incidents, restricted to their members as in real use; every event is a durable, signed,
//! witnessed append of its own, as an API call makes it.
//!
//! Then signs in over HTTP with the admin token (`POST /login`, the session cookie) and measures,
//! with reqwest over loopback, the time from sending `GET /incidents/{codename}` for a random
//! incident to having read the whole answer: `--requests` sequentially from one client, then
//! the same number from `--clients` concurrent clients; then `GET /incidents` (the list).
//! A view of a restricted incident appends its recorded read (a durable append) before the page
//! is built, and the page checks the incident's ledger for its badge (hash chain and every
//! checkpoint signature, reused for 30 s): both are inside the figures. Page weight is the
//! HTML plus the stylesheet and script it references, uncompressed.
//!
//! ```sh
//! bench/web.sh                                   # 10,000 incidents, 1,000,000 events, SQLite
//! bench/web.sh --incidents 1000 --events 100000  # smaller
//! PALISADE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test bench/web.sh
//! cargo bench -p palisade-server --bench web_page -- --incidents 100 --events 10000
//! ```
//!
//! `--data-dir DIR` keeps the data set in DIR (and, on PostgreSQL, its schema) and measures it
//! again without seeding when run again with the same DIR. Sizes also from
//! `PALISADE_BENCH_INCIDENTS` and `PALISADE_BENCH_EVENTS`. Exits non-zero only on errors (a
//! failed command, an answer other than 200); whether the targets are met is printed.

use palisade_app::incidents::DeclareInput;
use palisade_app::{App, AppConfig, Options, Started};
use palisade_core::incident::Command;
use palisade_core::{AccountRole, Actor, IncidentState, Kind, Role, Severity, Status, UserName};
use palisade_store::StoreConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The targets of the web UI issue.
const TARGET_P99_MS: f64 = 20.0;
const TARGET_WEIGHT_BYTES: usize = 100 * 1000;

struct Args {
    incidents: usize,
    events: u64,
    concurrency: usize,
    requests: usize,
    clients: usize,
    list_requests: usize,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    seed: u64,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .unwrap_or_else(|_| fail(&format!("{name}={v:?} is not a number"))),
        _ => default,
    }
}

fn args() -> Args {
    let mut a = Args {
        incidents: env_or("PALISADE_BENCH_INCIDENTS", 10_000),
        events: env_or("PALISADE_BENCH_EVENTS", 1_000_000),
        concurrency: 64,
        requests: 2_000,
        clients: 8,
        list_requests: 200,
        data_dir: None,
        database_url: std::env::var("PALISADE_BENCH_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty()),
        seed: 0x5eed,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")))
        };
        let number = |v: String| -> u64 {
            v.replace(['_', ','], "")
                .parse()
                .unwrap_or_else(|_| fail(&format!("{v:?} is not a number")))
        };
        match flag.as_str() {
            "--incidents" => a.incidents = number(value()) as usize,
            "--events" => a.events = number(value()),
            "--concurrency" => a.concurrency = number(value()) as usize,
            "--requests" => a.requests = number(value()) as usize,
            "--clients" => a.clients = number(value()) as usize,
            "--list-requests" => a.list_requests = number(value()) as usize,
            "--data-dir" => a.data_dir = Some(PathBuf::from(value())),
            "--seed" => a.seed = number(value()),
            // cargo bench passes --bench.
            "--bench" => {}
            other => fail(&format!(
                "unknown argument {other} (--incidents N --events N --concurrency N --requests N \
                 --clients N --list-requests N --data-dir DIR --seed N)"
            )),
        }
    }
    if a.incidents == 0 || a.concurrency == 0 || a.clients == 0 || a.requests == 0 {
        fail("--incidents, --concurrency, --clients and --requests must be at least 1");
    }
    a
}

fn fail(msg: &str) -> ! {
    eprintln!("web_page: error: {msg}");
    std::process::exit(1)
}

/// A small deterministic generator (SplitMix64): the same seed gives the same data set and the
/// same sequence of pages, so runs before and after a change ask for the same incidents.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SYSTEMS: &[&str] = &[
    "api-gateway",
    "billing-db",
    "auth-service",
    "ci-runners",
    "vpn-concentrator",
    "customer-portal",
    "object-storage",
    "build-cache",
    "mail-relay",
    "k8s-prod-eu",
];
const WHAT: &[&str] = &[
    "Suspicious login burst on",
    "Leaked credential used against",
    "Unexpected outbound traffic from",
    "Elevated error rate on",
    "Malware alert on a host behind",
    "Latency regression in",
    "Unauthorised configuration change to",
    "Certificate expiry warning for",
];
const SENTENCES: &[&str] = &[
    "Checked the access logs for the last 24 hours; the first request from the suspicious range was at 02:14 UTC.",
    "Rotated the service account's credentials and revoked the old keys.",
    "Blocked the source addresses at the edge; traffic from them dropped to zero within a minute.",
    "No sign of lateral movement so far.",
    "Disk images of the two affected instances are being copied to the read-only evidence bucket.",
    "Paged the database on-call to confirm replication is healthy.",
    "Customer support reports three tickets that may be related.",
    "The vendor confirmed the advisory applies to our version.",
    "Error rate back under 0.1 % after the rollback.",
    "Waiting for legal on whether the data involved is personal data.",
    "Monitoring added for the outbound connection pattern.",
    "Timeline drafted in the shared document; needs review by the scribe.",
    "Scope so far: one cluster, no production data store touched.",
    "MFA enforced for all administrator accounts as a precaution.",
    "Next update in 30 minutes.",
];

fn prose(rng: &mut Rng, min: usize, max: usize) -> String {
    let want = min + rng.below((max - min) as u64) as usize;
    let mut s = String::new();
    while s.len() < want {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(rng.pick::<&str>(SENTENCES));
    }
    s
}

/// The users of the data set: the admin (who declares every incident and is its Incident
/// Commander, so the admin's session sees them all) and responders given roles.
struct People {
    admin: Actor,
    responders: Vec<Actor>,
}

const ROLES: &[Role] = &[
    Role::Deputy,
    Role::Scribe,
    Role::SubjectMatterExpert,
    Role::InternalLiaison,
    Role::CustomerLiaison,
    Role::Legal,
];

/// One incident's commands after its declaration, in order, with who sends each.
fn plan(rng: &mut Rng, st: &IncidentState, people: &People, budget: u64) -> Vec<(Actor, Command)> {
    let admin = &people.admin;
    // Roles for two to five responders.
    let mut members = vec![admin.clone()];
    let mut head = Vec::new();
    let n_roles = 2 + rng.below(4) as usize;
    let first = rng.below(people.responders.len() as u64) as usize;
    for (k, role) in ROLES.iter().take(n_roles).enumerate() {
        let who = people.responders[(first + k) % people.responders.len()].clone();
        head.push((
            admin.clone(),
            Command::AssignRole {
                user: who.user.clone(),
                role: *role,
            },
        ));
        members.push(who);
    }
    head.push((
        admin.clone(),
        Command::UpdateStatus {
            status: Some(Status::Investigating),
            message: Some(prose(rng, 40, 200)),
        },
    ));
    // Steps 1..=k in order, which is always allowed by the playbooks' prerequisites.
    let steps = st.playbook.steps.len() as u64;
    let k = rng.below(steps + 1) as u32;
    let mut body = Vec::new();
    for n in 1..=k {
        let def = st.playbook.step(n).expect("playbook step");
        body.push((rng.pick(&members).clone(), Command::StartStep { step: n }));
        for approval in &def.requires_approval {
            body.push((
                admin.clone(),
                Command::Approve {
                    approval: approval.clone(),
                    note: Some(prose(rng, 20, 80)),
                },
            ));
        }
        let note = (rng.below(2) == 0).then(|| prose(rng, 30, 200));
        body.push((
            rng.pick(&members).clone(),
            Command::CompleteStep { step: n, note },
        ));
    }
    let resolvable = st.playbook.resolve.requires.iter().all(|r| *r <= k);
    let mut tail = Vec::new();
    if resolvable && rng.below(100) < 40 {
        tail.push((
            admin.clone(),
            Command::Resolve {
                summary: prose(rng, 60, 300),
            },
        ));
        if rng.below(2) == 0 {
            tail.push((admin.clone(), Command::Close { note: None }));
        }
    }
    // Fill the rest of the budget with notes and status updates, anywhere among the steps.
    let fixed = (head.len() + body.len() + tail.len()) as u64;
    for _ in 0..budget.saturating_sub(fixed) {
        let who = rng.pick(&members).clone();
        let cmd = if rng.below(4) == 0 {
            Command::UpdateStatus {
                status: None,
                message: Some(prose(rng, 40, 300)),
            }
        } else {
            Command::AddNote {
                text: prose(rng, 20, 500),
            }
        };
        let at = rng.below(body.len() as u64 + 1) as usize;
        body.insert(at, (who, cmd));
    }
    let mut all = head;
    all.extend(body);
    all.extend(tail);
    all.truncate(budget as usize);
    all
}

/// Declare incident `i` and run its plan; its codename and the number of events appended.
async fn seed_one(
    app: &App,
    people: &People,
    seed: u64,
    i: usize,
    budget: u64,
) -> Result<(String, u64), String> {
    let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let security = rng.below(100) < 85;
    let system = *rng.pick(SYSTEMS);
    let input = DeclareInput {
        title: format!("{} {system}", rng.pick(WHAT)),
        kind: Some(if security {
            Kind::Security
        } else {
            Kind::Operational
        }),
        severity: Severity::new(1 + rng.below(5) as u8).expect("1..=5"),
        restricted: None,
        summary: Some(prose(&mut rng, 60, 400)),
        playbook: None,
        commander: Some(people.admin.user.clone()),
        aware_at: (security && rng.below(2) == 0).then(|| {
            palisade_core::Timestamp::from_datetime(
                time::OffsetDateTime::now_utc() - time::Duration::hours(rng.below(48) as i64),
            )
        }),
    };
    let declared = app
        .declare(&people.admin, input, &Options::default(), None)
        .await
        .and_then(|o| o.done())
        .map_err(|e| format!("declaring incident {i}: {e}"))?;
    let st = declared.state;
    let mut events = declared.events.len() as u64;
    for (actor, cmd) in plan(&mut rng, &st, people, budget.saturating_sub(events)) {
        let what = format!("{cmd:?}");
        let done = app
            .execute::<IncidentState>(&actor, &st.codename, cmd, &Options::default(), None)
            .await
            .and_then(|o| o.done())
            .map_err(|e| {
                format!(
                    "incident {i} ({}), {} sent {what}: {e}",
                    st.codename, actor.user
                )
            })?;
        events += done.events.len() as u64;
    }
    Ok((st.codename, events))
}

async fn seed(app: &App, a: &Args) -> Result<Vec<String>, String> {
    let admin = Actor {
        user: UserName::parse("admin").expect("valid"),
        account_role: AccountRole::Admin,
    };
    let mut responders = Vec::new();
    for n in 1..=8 {
        let user = UserName::parse(&format!("responder-{n}")).expect("valid");
        app.create_token(
            &admin,
            user.clone(),
            Some(AccountRole::Responder),
            Some("web bench".into()),
        )
        .await
        .map_err(|e| format!("creating {user}: {e}"))?;
        responders.push(Actor {
            user,
            account_role: AccountRole::Responder,
        });
    }
    let people = Arc::new(People { admin, responders });
    let n = a.incidents;
    let (per, extra) = (a.events / n as u64, a.events % n as u64);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let events = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let progress = {
        let (done, events) = (done.clone(), events.clone());
        tokio::spawn(async move {
            let mut last = (Instant::now(), 0u64);
            // A progress line every 15 s (a period, not a wait for anything).
            let mut every = tokio::time::interval(Duration::from_secs(15));
            every.tick().await;
            loop {
                every.tick().await;
                let e = events.load(Ordering::Relaxed);
                let now = Instant::now();
                println!(
                    "  seeding: {:>6} / {n} incidents, {e:>9} events, {:>6.0} events/s now, {:>6.0} overall, {:.0} s",
                    done.load(Ordering::Relaxed),
                    (e - last.1) as f64 / now.duration_since(last.0).as_secs_f64(),
                    e as f64 / start.elapsed().as_secs_f64(),
                    start.elapsed().as_secs_f64()
                );
                last = (now, e);
            }
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency.min(n) {
        let (app, people, next, done, events) = (
            app.clone(),
            people.clone(),
            next.clone(),
            done.clone(),
            events.clone(),
        );
        let seed = a.seed;
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(mine);
                }
                let budget = per + u64::from((i as u64) < extra);
                let (codename, e) = seed_one(&app, &people, seed, i, budget).await?;
                events.fetch_add(e, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Relaxed);
                mine.push((i, codename));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        match t.await {
            Ok(Ok(mine)) => all.extend(mine),
            Ok(Err(e)) => {
                progress.abort();
                return Err(e);
            }
            Err(e) => {
                progress.abort();
                return Err(format!("a seeding task failed: {e}"));
            }
        }
    }
    progress.abort();
    all.sort();
    let secs = start.elapsed().as_secs_f64();
    let e = events.load(Ordering::Relaxed);
    println!(
        "seeded {n} incidents, {e} events in {secs:.1} s ({:.0} events/s, {:.0} incidents/s) with {} concurrent tasks",
        e as f64 / secs,
        n as f64 / secs,
        a.concurrency.min(n)
    );
    Ok(all.into_iter().map(|(_, c)| c).collect())
}

/// A client signed in to the web UI: one session cookie, no automatic redirects.
#[derive(Clone)]
struct Web {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Web {
    async fn sign_in(base: &str, token: &str) -> Result<Web, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| e.to_string())?;
        let r = http
            .post(format!("{base}/login"))
            .form(&[
                ("method", "token"),
                ("token", token),
                ("next", "/incidents"),
            ])
            .send()
            .await
            .map_err(|e| format!("POST /login: {e}"))?;
        if r.status().as_u16() != 303 {
            return Err(format!("POST /login answered {}", r.status()));
        }
        let cookie = r
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("palisade_session="))
            .and_then(|v| v.split(';').next())
            .filter(|v| !v.is_empty())
            .ok_or("POST /login set no session cookie")?
            .to_string();
        Ok(Web {
            http,
            base: base.to_string(),
            cookie,
        })
    }

    /// GET `path`: the body and the time from sending to having read all of it.
    async fn get(&self, path: &str) -> Result<(String, Duration), String> {
        let start = Instant::now();
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("palisade_session={}", self.cookie))
            .header("accept", "text/html")
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = r.status();
        let text = r.text().await.map_err(|e| format!("GET {path}: {e}"))?;
        let took = start.elapsed();
        if status.as_u16() != 200 {
            let head: String = text.chars().take(300).collect();
            return Err(format!("GET {path} answered {status}: {head}"));
        }
        Ok((text, took))
    }
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn ms(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_unstable();
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        v[i].as_secs_f64() * 1e3
    }
    fn line(&self) -> String {
        format!(
            "ms p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  (n = {})",
            self.ms(0.50),
            self.ms(0.90),
            self.ms(0.99),
            self.ms(1.0),
            self.0.len()
        )
    }
}

/// One view of an incident page.
struct View {
    size: usize,
    took: Duration,
    /// A restricted incident's page (its view appended a recorded read).
    restricted: bool,
}

/// The incident page of `codename`, checked to be that incident's page.
async fn incident_page(web: &Web, codename: &str) -> Result<View, String> {
    let (text, took) = web.get(&format!("/incidents/{codename}")).await?;
    if !text.contains(codename) || !text.contains("data-region=\"timeline\"") {
        return Err(format!(
            "GET /incidents/{codename} is not the incident's page"
        ));
    }
    Ok(View {
        size: text.len(),
        took,
        restricted: text.contains("restricted to members"),
    })
}

fn asset_urls(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"/assets/", "src=\"/assets/"] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            let from = at + attr.len() - "/assets/".len();
            let end = rest[from..].find('"').map_or(rest.len(), |e| from + e);
            out.push(rest[from..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!("{cores} cores ({cpu}); load {load}; {date}")
}

async fn pg_admin(base: &str, sql: &str) -> Result<(), String> {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("connecting to PALISADE_BENCH_DATABASE_URL: {e}"))?;
    tokio::spawn(conn);
    client
        .batch_execute(sql)
        .await
        .map_err(|e| format!("{sql}: {e}"))
}

fn schema_url(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

async fn run(a: Args) -> Result<(), String> {
    println!("machine: {}", machine());
    // The data directory: kept when given (and measured again without seeding next time).
    let (dir, _tmp) = match &a.data_dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            (d.clone(), None)
        }
        None => {
            let t = tempfile::tempdir().map_err(|e| e.to_string())?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let codenames_file = dir.join("bench-codenames.txt");
    let reuse = codenames_file.exists();
    // PostgreSQL: a schema of its own (remembered in the data directory when it is kept).
    let mut drop_schema = None;
    let database_url = match &a.database_url {
        None => None,
        Some(base) => {
            let schema_file = dir.join("bench-schema");
            let schema = match std::fs::read_to_string(&schema_file) {
                Ok(s) if reuse => s.trim().to_string(),
                _ => {
                    let s = format!("bench_{}", uuid::Uuid::new_v4().simple());
                    pg_admin(base, &format!("CREATE SCHEMA {s}")).await?;
                    if a.data_dir.is_some() {
                        std::fs::write(&schema_file, &s).map_err(|e| e.to_string())?;
                    } else {
                        drop_schema = Some(s.clone());
                    }
                    s
                }
            };
            println!("backend: PostgreSQL, schema {schema}");
            Some(schema_url(base, &schema))
        }
    };
    if database_url.is_none() {
        println!("backend: SQLite in {}", dir.display());
    }
    let result = measure(&a, &dir, database_url, reuse, &codenames_file).await;
    if let (Some(base), Some(schema)) = (&a.database_url, &drop_schema) {
        pg_admin(base, &format!("DROP SCHEMA {schema} CASCADE")).await?;
    }
    result
}

async fn measure(
    a: &Args,
    dir: &Path,
    database_url: Option<String>,
    reuse: bool,
    codenames_file: &Path,
) -> Result<(), String> {
    let config = AppConfig {
        store: StoreConfig {
            data_dir: dir.to_path_buf(),
            database_url,
        },
        ..Default::default()
    };
    let started = Instant::now();
    let Started { app, .. } = App::start(&config)
        .await
        .map_err(|e| format!("starting the application: {e}"))?;
    println!(
        "App::start: {:.2} s (store opened, migrations checked)",
        started.elapsed().as_secs_f64()
    );
    let codenames = if reuse {
        let text = std::fs::read_to_string(codenames_file).map_err(|e| e.to_string())?;
        let c: Vec<String> = text.lines().map(str::to_string).collect();
        println!(
            "reusing the data set in {} ({} incidents; not seeded again)",
            dir.display(),
            c.len()
        );
        c
    } else {
        println!(
            "seeding {} incidents with {} events through the pipeline, {} concurrent tasks",
            a.incidents, a.events, a.concurrency
        );
        let c = seed(&app, a).await?;
        if a.data_dir.is_some() {
            std::fs::write(codenames_file, c.join("\n")).map_err(|e| e.to_string())?;
        }
        c
    };
    // A token for the admin, to sign in with as the first admin does.
    let admin = Actor {
        user: UserName::parse("admin").expect("valid"),
        account_role: AccountRole::Admin,
    };
    let (token, _) = app
        .create_token(&admin, admin.user.clone(), None, Some("web bench".into()))
        .await
        .map_err(|e| format!("creating the admin's token: {e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let router = palisade_server::router(app.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let web = Web::sign_in(&base, &token).await?;
    println!("signed in over HTTP at {base}; {}", machine());

    // The stylesheet and script every page references.
    let (first, _) = web.get(&format!("/incidents/{}", codenames[0])).await?;
    let mut asset_bytes = 0;
    for url in asset_urls(&first) {
        let (body, _) = web.get(&url).await?;
        println!("  asset {url}: {} bytes", body.len());
        asset_bytes += body.len();
    }

    let mut rng = Rng::new(a.seed ^ 0x7e57);
    let mut pick = || codenames[rng.below(codenames.len() as u64) as usize].clone();
    // Warm-up (not counted): connections, the first views.
    for _ in 0..20 {
        incident_page(&web, &pick()).await?;
    }

    let mut sizes = Vec::new();
    let mut largest = (0, String::new());
    let mut seq = Vec::new();
    let (mut restricted, mut open) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let mut slowest = Vec::new();
    for n in 0..a.requests {
        let c = pick();
        let sent = start.elapsed();
        let v = incident_page(&web, &c).await?;
        seq.push(v.took);
        slowest.push((v.took, n, sent));
        if v.restricted {
            restricted.push(v.took);
        } else {
            open.push(v.took);
        }
        if v.size > largest.0 {
            largest = (v.size, c);
        }
        sizes.push(v.size);
    }
    let seq = Latencies(seq);
    println!(
        "incident page, 1 client, {} random incidents: {}",
        a.requests,
        seq.line()
    );
    for (name, l) in [("restricted (read recorded)", restricted), ("open", open)] {
        if !l.is_empty() {
            println!("  of which {name}: {}", Latencies(l).line());
        }
    }
    slowest.sort_unstable_by_key(|v| std::cmp::Reverse(v.0));
    let slow: Vec<String> = slowest
        .iter()
        .take(5)
        .map(|(t, n, at)| {
            format!(
                "{:.1} ms (request {n}, at {:.1} s)",
                t.as_secs_f64() * 1e3,
                at.as_secs_f64()
            )
        })
        .collect();
    println!("  slowest: {}", slow.join(", "));

    let per_client = a.requests.div_ceil(a.clients);
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..a.clients {
        let list: Vec<String> = (0..per_client).map(|_| pick()).collect();
        let web = web.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for c in list {
                out.push(incident_page(&web, &c).await?);
            }
            Ok::<_, String>(out)
        }));
    }
    let mut conc = Vec::new();
    for t in tasks {
        for v in t.await.map_err(|e| e.to_string())?? {
            conc.push(v.took);
            sizes.push(v.size);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let conc = Latencies(conc);
    println!(
        "incident page, {} concurrent clients, {} requests: {}; {:.0} pages/s",
        a.clients,
        conc.0.len(),
        conc.line(),
        conc.0.len() as f64 / wall
    );

    let mut list = Vec::new();
    let mut list_size = 0;
    for _ in 0..a.list_requests {
        let (text, took) = web.get("/incidents").await?;
        list_size = text.len();
        list.push(took);
    }
    let list = Latencies(list);
    println!(
        "incident list (/incidents, the 200 most recently changed), 1 client: {}",
        list.line()
    );

    sizes.sort_unstable();
    let typical = sizes[sizes.len() / 2];
    println!(
        "page weight (uncompressed): incident page HTML p50 {typical} B, largest {} B ({}); \
         stylesheet + script {asset_bytes} B; total typical {} B, largest {} B; list page {} B",
        largest.0,
        largest.1,
        typical + asset_bytes,
        largest.0 + asset_bytes,
        list_size + asset_bytes
    );
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    let p99 = seq.ms(0.99);
    println!(
        "target p99 <= {TARGET_P99_MS} ms (incident page, 1 client): {p99:.2} ms: {}; \
         with {} clients: {:.2} ms: {}",
        met(p99 <= TARGET_P99_MS),
        a.clients,
        conc.ms(0.99),
        met(conc.ms(0.99) <= TARGET_P99_MS)
    );
    println!(
        "target page weight < {TARGET_WEIGHT_BYTES} B: largest {} B: {}",
        largest.0 + asset_bytes,
        met(largest.0 + asset_bytes < TARGET_WEIGHT_BYTES)
    );
    println!("done; {}", machine());
    server.abort();
    Ok(())
}

#[tokio::main]
async fn main() {
    let a = args();
    if let Err(e) = run(a).await {
        fail(&e);
    }
}
