//! Palisade's application layer: the one command pipeline and read path every interface uses
//! (the HTTP API, the CLI's local commands, background workers, the coming web UI), the use
//! cases built on it (declaring incidents, evidence custody, exports, services, schedules, accounts), and
//! the background workers (notifications, the external witness).
//!
//! It knows nothing of HTTP: errors are [`AppError`]s, which each interface presents in its own
//! terms. The store knows nothing of what events mean; the core decides and does no I/O; this
//! layer joins them.

pub mod accounts;
pub mod alerts;
pub mod assessments;
pub mod cache;
pub mod ctf;
pub mod deliveries;
pub mod drills;
pub mod error;
pub mod escalation;
pub mod escalations;
pub mod evidence;
pub mod findings;
pub mod health;
pub mod incidents;
pub mod kept;
pub mod ledger_check;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod oidc;
pub mod people;
pub mod pipeline;
pub mod schedules;
pub mod services;
pub mod settings;
pub mod signin;
pub mod streaming;
pub mod teams;
mod wake;
pub mod witness_forwarder;

pub use error::{AppError, Result};
pub use kept::Kept;
pub use pipeline::{Executed, IdempotencyKey, Options, Outcome};

use palisade_core::comms::CommsPolicy;
use palisade_core::service::ServiceState;
use palisade_core::{IncidentState, Playbook, Timestamp};
use palisade_store::evidence::Vault;
use palisade_store::{Store, StoreConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The server clock, as events record it (UTC, microseconds).
pub fn now() -> Timestamp {
    Timestamp::from_datetime(time::OffsetDateTime::now_utc())
}

/// What the application needs to start, built by the binary from its settings.
#[derive(Debug, Clone, Default)]
pub struct AppConfig {
    pub store: StoreConfig,
    /// Directory of custom playbook TOML files, loaded beside the built-in ones.
    pub playbooks_dir: Option<PathBuf>,
    /// External witness: every signed checkpoint is also POSTed here.
    pub witness_url: Option<String>,
    /// Evidence blob store: `None` for the data directory, or `s3://bucket[/prefix]` (configured
    /// from the `AWS_*` environment variables).
    pub evidence_store: Option<String>,
    /// Largest evidence upload, in bytes (default [`DEFAULT_EVIDENCE_LIMIT`]).
    pub evidence_max_bytes: Option<u64>,
    /// Notification delivery (the default webhook and the signing secret). Without it,
    /// notifications wait in the outbox.
    pub notify: Option<notify::NotifyConfig>,
    /// Communications policy (`[comms]` in `palisade.toml`).
    pub comms: CommsPolicy,
    /// Events API rate limit per routing key (`None`: the default; 0: no limit).
    pub events_per_key_per_minute: Option<u32>,
    /// Run no escalation worker: the caller takes due steps itself
    /// ([`App::run_due_timers_at`]), at times it chooses. For tests.
    pub manual_timers: bool,
    /// How often the escalation worker looks for due steps when nothing woke it (`None`: 5 s).
    /// Appends on this server wake it at once, and on PostgreSQL so do other servers' appends.
    pub timer_poll: Option<Duration>,
    /// How long a stream's ledger check is reused by the web UI's badge (`None`: 30 s; 0:
    /// every page view checks again).
    pub ledger_recheck_secs: Option<u32>,
    /// Single sign-on for the web UI through an OpenID Connect provider.
    pub oidc: Option<oidc::OidcConfig>,
    /// Days to fix a finding, by severity (`[findings.sla]`).
    pub finding_sla: palisade_core::finding::SlaDays,
}

/// Default largest evidence upload: 256 GiB.
pub const DEFAULT_EVIDENCE_LIMIT: u64 = 256 << 30;

/// Errors that stop the application from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
    #[error("{0}")]
    Playbook(String),
    #[error("invalid communications policy: {0}")]
    Comms(String),
    #[error("{0}")]
    Bootstrap(String),
    #[error("a maturity model in the data directory does not load: {0}")]
    Maturity(String),
}

/// The application: cheap to clone, shared by every interface and worker of one process.
#[derive(Clone)]
pub struct App {
    pub(crate) inner: Arc<Inner>,
}

/// Scan states kept between requests (see where the cache is made).
const SCAN_STATES: usize = 128;

/// Alert states kept per generation of the cache, and their bytes at most (by
/// `AlertState::approximate_bytes`): the flapping alerts of a busy deployment stay folded,
/// and a flood of large payloads cannot hold more than twice the bytes.
const ALERT_STATES: usize = 4_096;
const ALERT_STATE_BYTES: usize = 8 << 20;

/// The application's state.
pub struct Inner {
    pub(crate) store: Store,
    pub(crate) playbooks: BTreeMap<String, Playbook>,
    pub(crate) comms: CommsPolicy,
    pub(crate) vault: Arc<Vault>,
    pub(crate) evidence_limit: u64,
    pub(crate) public_key_hex: String,
    pub(crate) metrics: Arc<metrics::Metrics>,
    pub(crate) incidents: cache::StateCache<IncidentState>,
    pub(crate) services: cache::StateCache<ServiceState>,
    pub(crate) alerts: cache::StateCache<palisade_core::alert::AlertState>,
    pub(crate) changes: cache::StateCache<palisade_core::change::ChangeState>,
    pub(crate) schedules: cache::StateCache<palisade_core::schedule::ScheduleState>,
    pub(crate) escalations: cache::StateCache<palisade_core::escalation::EscalationState>,
    pub(crate) teams: cache::StateCache<palisade_core::team::TeamState>,
    pub(crate) people: cache::StateCache<palisade_core::person::PersonState>,
    pub(crate) findings: cache::StateCache<palisade_core::finding::FindingState>,
    pub(crate) scans: cache::StateCache<palisade_core::finding::ScanState>,
    pub(crate) ctfs: cache::StateCache<palisade_training::ctf::stream::CtfEventState>,
    pub(crate) assessments: cache::StateCache<palisade_maturity::stream::AssessmentState>,
    /// The maturity models assessments are scored with (the data directory's
    /// `maturity-models/`; none: assessments are kept but not scored).
    pub(crate) maturity_models: Vec<palisade_maturity::Model>,
    pub(crate) finding_sla: palisade_core::finding::SlaDays,
    /// The offline vulnerability index deployed SBOMs are matched against.
    pub(crate) vulns_index: PathBuf,
    /// Events accepted per routing key, for the Events API's rate limit.
    pub(crate) intake: alerts::RateLimiter,
    /// Routing keys recently seen.
    pub(crate) keys: alerts::KeyCache,
    pub(crate) open_alerts: alerts::OpenAlerts,
    /// Streams changed on this instance (for live pages).
    pub(crate) changed: tokio::sync::broadcast::Sender<uuid::Uuid>,
    /// Single sign-on, when configured.
    pub(crate) oidc: Option<oidc::OidcConfig>,
    /// For calls the application makes itself (the OpenID Connect provider).
    pub(crate) http: reqwest::Client,
    /// The last check of each stream's ledger (the web UI's badge).
    pub(crate) ledger_checks: ledger_check::LedgerChecks,
    /// Failed web sign-ins per user name.
    pub(crate) sign_in_failures: signin::Failures,
    pub(crate) deployment: cache::StateCache<palisade_core::deployment::DeploymentState>,
    pub(crate) locks: cache::StreamLocks,
    /// Wakes the external-witness forwarder after an append.
    pub(crate) witness_wake: Arc<tokio::sync::Notify>,
    /// Wakes the notification worker after an append that wrote to the outbox.
    pub(crate) notify_wake: Arc<tokio::sync::Notify>,
    /// Wakes the escalation worker after an append that set a timer.
    pub(crate) timer_wake: Arc<tokio::sync::Notify>,
    /// Tell the other servers on the database (PostgreSQL) of a timer set / a notification
    /// queued here; each announcer sends one notice per burst of appends.
    pub(crate) announce_timers: Arc<tokio::sync::Notify>,
    pub(crate) announce_outbox: Arc<tokio::sync::Notify>,
    /// Tells the drill worker a drill was started.
    pub(crate) drill_wake: Arc<tokio::sync::Notify>,
    /// Drill ticks, one at a time.
    pub(crate) drill_ticks: tokio::sync::Mutex<()>,
    /// The last readiness probe.
    pub(crate) probe: health::ProbeCache,
}

/// A started application and what its first start created.
pub struct Started {
    pub app: App,
    /// On the very first start (no users yet): the admin token, to print once.
    pub bootstrap_token: Option<String>,
    pub key_created: bool,
    /// The external-witness forwarder task, when one is configured.
    pub forwarder: Option<tokio::task::JoinHandle<()>>,
    /// The notification worker, when notifications are configured.
    pub notifier: Option<tokio::task::JoinHandle<()>>,
    /// The escalation worker (unless `manual_timers`).
    pub escalator: Option<tokio::task::JoinHandle<()>>,
}

/// Load the built-in playbooks and the custom ones in `dir` (`*.toml`).
pub fn load_playbooks(
    dir: Option<&std::path::Path>,
) -> std::result::Result<BTreeMap<String, Playbook>, StartError> {
    let mut out = BTreeMap::new();
    for pb in [
        Playbook::builtin_security(),
        Playbook::builtin_operational(),
    ] {
        out.insert(pb.id.clone(), pb);
    }
    let Some(dir) = dir else { return Ok(out) };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        StartError::Playbook(format!("reading playbook directory {}: {e}", dir.display()))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| StartError::Playbook(format!("reading {}: {e}", path.display())))?;
        let pb = Playbook::from_toml(&text, &path.display().to_string())
            .map_err(|e| StartError::Playbook(e.to_string()))?;
        if out.contains_key(&pb.id) {
            return Err(StartError::Playbook(format!(
                "{}: playbook id {:?} is already taken (built-in or another file); choose another id",
                path.display(),
                pb.id
            )));
        }
        out.insert(pb.id.clone(), pb);
    }
    Ok(out)
}

impl App {
    /// Open the store, load playbooks, bootstrap the first admin, and start the workers.
    pub async fn start(config: &AppConfig) -> std::result::Result<Started, StartError> {
        let playbooks = load_playbooks(config.playbooks_dir.as_deref())?;
        let maturity_models = assessments::load_models(&config.store.dir().maturity_models())
            .map_err(StartError::Maturity)?;
        config.comms.validate().map_err(StartError::Comms)?;
        let opened = Store::open(&config.store).await?;
        let store = opened.store;
        let bootstrap_token = accounts::bootstrap_admin(&store).await?;
        let witness_wake = Arc::new(tokio::sync::Notify::new());
        let forwarder = config.witness_url.as_ref().map(|url| {
            tokio::spawn(witness_forwarder::run(
                witness_forwarder::ForwarderConfig {
                    url: url.clone(),
                    witness_log: config.store.dir().witness_log(),
                    initial_backoff: std::time::Duration::from_millis(200),
                },
                witness_wake.clone(),
            ))
        });
        let vault = match &config.evidence_store {
            None => Vault::filesystem(&config.store.data_dir)?,
            Some(url) => Vault::s3_from_env(&config.store.data_dir, url)?,
        };
        let vault = Arc::new(vault);
        {
            // Uploads killed mid-way leave temporary files; none of them is evidence.
            let v = vault.clone();
            match tokio::task::spawn_blocking(move || {
                v.sweep_tmp(std::time::Duration::from_secs(24 * 3600))
            })
            .await
            {
                Ok(Ok(n)) if n > 0 => {
                    tracing::info!(removed = n, "removed stale partial evidence uploads")
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "could not sweep partial evidence uploads")
                }
                _ => {}
            }
        }
        let notify_wake = Arc::new(tokio::sync::Notify::new());
        let metrics = Arc::new(metrics::Metrics::default());
        let notifier = match &config.notify {
            Some(cfg) => Some(tokio::spawn(notify::run(
                store.clone(),
                cfg.clone(),
                notify_wake.clone(),
                cfg.poll,
                metrics.clone(),
            ))),
            None => {
                if store.outbox_pending().await? > 0 {
                    tracing::warn!(
                        "notifications are waiting in the outbox; configure notify_url to deliver them"
                    );
                }
                None
            }
        };
        let inner = Inner {
            store,
            playbooks,
            comms: config.comms.clone(),
            vault,
            evidence_limit: config.evidence_max_bytes.unwrap_or(DEFAULT_EVIDENCE_LIMIT),
            public_key_hex: hex::encode(opened.signer.verifying_key().as_bytes()),
            metrics,
            incidents: Default::default(),
            services: Default::default(),
            alerts: cache::StateCache::weighed(
                ALERT_STATES,
                ALERT_STATE_BYTES,
                palisade_core::alert::AlertState::approximate_bytes,
            ),
            changes: Default::default(),
            schedules: Default::default(),
            escalations: Default::default(),
            teams: Default::default(),
            ctfs: Default::default(),
            assessments: Default::default(),
            maturity_models,
            people: Default::default(),
            findings: Default::default(),
            // A scan's state carries its SBOM (hundreds of component purls) and its run's
            // observations; only the re-match reads them in bulk, and it reads every deployed
            // one each time, so keeping thousands buys nothing but memory.
            scans: cache::StateCache::with_capacity(SCAN_STATES),
            finding_sla: config.finding_sla,
            vulns_index: config.store.dir().vulns_index(),
            intake: alerts::RateLimiter::new(config.events_per_key_per_minute),
            keys: Default::default(),
            open_alerts: Default::default(),
            sign_in_failures: Default::default(),
            oidc: config.oidc.clone(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .map_err(|e| StartError::Bootstrap(format!("an HTTP client: {e}")))?,
            ledger_checks: ledger_check::LedgerChecks::new(
                config
                    .ledger_recheck_secs
                    .map_or(ledger_check::RECHECK_SECS, i64::from),
            ),
            changed: tokio::sync::broadcast::channel(1024).0,
            deployment: Default::default(),
            locks: Default::default(),
            witness_wake,
            notify_wake,
            timer_wake: Arc::new(tokio::sync::Notify::new()),
            announce_timers: Arc::new(tokio::sync::Notify::new()),
            announce_outbox: Arc::new(tokio::sync::Notify::new()),
            drill_wake: Arc::new(tokio::sync::Notify::new()),
            drill_ticks: tokio::sync::Mutex::new(()),
            probe: Default::default(),
        };
        let app = App {
            inner: Arc::new(inner),
        };
        let escalator = (!config.manual_timers).then(|| {
            tokio::spawn(escalation::run(
                Arc::downgrade(&app.inner),
                app.inner.timer_wake.clone(),
                config.timer_poll.unwrap_or(Duration::from_secs(5)),
            ))
        });
        wake::start(&app.inner);
        // Drills' injections released as they fall due (tests tick drills themselves).
        if !config.manual_timers {
            tokio::spawn(drills::run(
                Arc::downgrade(&app.inner),
                config.timer_poll.unwrap_or(Duration::from_secs(15)),
            ));
        }
        // Deployed SBOMs matched again when the vulnerability index changes (checked each
        // minute; tests call `rematch_deployed` themselves).
        if !config.manual_timers {
            tokio::spawn(monitor::run(
                Arc::downgrade(&app.inner),
                Duration::from_secs(60),
            ));
        }
        Ok(Started {
            app,
            bootstrap_token,
            key_created: opened.key_created,
            forwarder,
            notifier,
            escalator,
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }
    pub fn comms_policy(&self) -> &CommsPolicy {
        &self.inner.comms
    }
    pub fn playbooks(&self) -> &BTreeMap<String, Playbook> {
        &self.inner.playbooks
    }
    /// The ledger signing key's public half, hex.
    pub fn public_key_hex(&self) -> &str {
        &self.inner.public_key_hex
    }
    /// Largest evidence upload accepted, in bytes.
    pub fn evidence_limit(&self) -> u64 {
        self.inner.evidence_limit
    }
}
