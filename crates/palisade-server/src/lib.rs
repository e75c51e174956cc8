//! Palisade's HTTP server: the `/api/v1` JSON API over the store, authentication, problem
//! details, the OpenAPI document, health and metrics. It parses no command line: the binary
//! builds a [`ServerConfig`] and calls [`start`].

pub mod api;
pub mod auth;
pub mod comms;
pub mod evidence;
pub mod metrics;
pub mod notify;
pub mod problem;
pub mod state_cache;
pub mod views;
pub mod witness_forwarder;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use palisade_core::Playbook;
use palisade_store::{NewToken, Store, StoreConfig};
use problem::Problem;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use utoipa::OpenApi;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub playbooks: Arc<BTreeMap<String, Playbook>>,
    pub metrics: Arc<metrics::Metrics>,
    /// Wakes the external-witness forwarder after an append.
    pub witness_wake: Arc<tokio::sync::Notify>,
    /// Wakes the notification worker after an append.
    pub notify_wake: Arc<tokio::sync::Notify>,
    /// Folded incident states between requests.
    pub states: Arc<state_cache::StateCache>,
    /// Encrypted, content-addressed evidence storage.
    pub vault: Arc<palisade_store::evidence::Vault>,
    /// Largest evidence upload accepted, in bytes.
    pub evidence_limit: u64,
    /// The ledger signing key's public half, hex (for export bundles).
    pub public_key_hex: String,
    /// Update cadences, notification deadlines, phrases to avoid.
    pub comms: Arc<palisade_core::comms::CommsPolicy>,
}

/// Server configuration, built by the binary from flags, environment and config file.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
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
    /// Notification webhook (break-glass notices to the Incident Commander), with its signing
    /// secret. Without it, notifications wait in the outbox.
    pub notify: Option<notify::NotifyConfig>,
    /// Communications policy (`[comms]` in `palisade.toml`).
    pub comms: palisade_core::comms::CommsPolicy,
}

/// Default largest evidence upload: 256 GiB.
pub const DEFAULT_EVIDENCE_LIMIT: u64 = 256 << 30;

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
    #[error("{0}")]
    Playbook(String),
    #[error("invalid communications policy: {0}")]
    Comms(String),
}

/// A started application: the router and what the first start created.
pub struct App {
    pub router: Router,
    pub state: AppState,
    /// On the very first start (no users yet): the admin token, to print once.
    pub bootstrap_token: Option<String>,
    pub key_created: bool,
    /// The external-witness forwarder task, when one is configured.
    pub forwarder: Option<tokio::task::JoinHandle<()>>,
    /// The notification worker, when a webhook is configured.
    pub notifier: Option<tokio::task::JoinHandle<()>>,
}

/// Load the built-in playbooks and the custom ones in `dir` (`*.toml`).
pub fn load_playbooks(
    dir: Option<&std::path::Path>,
) -> Result<BTreeMap<String, Playbook>, StartError> {
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

/// Open the store, bootstrap the first admin, and build the router.
pub async fn start(config: &ServerConfig) -> Result<App, StartError> {
    let playbooks = load_playbooks(config.playbooks_dir.as_deref())?;
    config.comms.validate().map_err(StartError::Comms)?;
    let opened = Store::open(&config.store).await?;
    let store = opened.store;
    let mut bootstrap_token = None;
    if store.user_count().await? == 0 {
        let admin = palisade_core::UserName::parse("admin").expect("valid");
        store
            .create_user(&admin, palisade_core::AccountRole::Admin)
            .await?;
        let token = auth::generate_token().map_err(|p| StartError::Playbook(p.detail))?;
        store
            .insert_token(&NewToken {
                id: auth::token_id().map_err(|p| StartError::Playbook(p.detail))?,
                user: admin,
                label: "bootstrap".into(),
                token_hash: auth::hash_token(&token),
                created_at:
                    palisade_core::Timestamp::from_datetime(time::OffsetDateTime::now_utc())
                        .to_string(),
            })
            .await?;
        bootstrap_token = Some(token);
    }
    let witness_wake = Arc::new(tokio::sync::Notify::new());
    let forwarder = config.witness_url.as_ref().map(|url| {
        tokio::spawn(witness_forwarder::run(
            witness_forwarder::ForwarderConfig {
                url: url.clone(),
                witness_log: config
                    .store
                    .data_dir
                    .join(palisade_store::witness::WITNESS_FILE),
                initial_backoff: std::time::Duration::from_millis(200),
            },
            witness_wake.clone(),
        ))
    });
    let vault = match &config.evidence_store {
        None => palisade_store::evidence::Vault::filesystem(&config.store.data_dir)?,
        Some(url) => palisade_store::evidence::Vault::s3_from_env(&config.store.data_dir, url)?,
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
            Ok(Err(e)) => tracing::warn!(error = %e, "could not sweep partial evidence uploads"),
            _ => {}
        }
    }
    let notify_wake = Arc::new(tokio::sync::Notify::new());
    let notifier = match &config.notify {
        Some(cfg) => Some(tokio::spawn(notify::run(
            store.clone(),
            cfg.clone(),
            notify_wake.clone(),
            cfg.poll,
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
    let state = AppState {
        store,
        playbooks: Arc::new(playbooks),
        metrics: Arc::new(metrics::Metrics::default()),
        witness_wake,
        notify_wake,
        states: Arc::default(),
        vault,
        evidence_limit: config.evidence_max_bytes.unwrap_or(DEFAULT_EVIDENCE_LIMIT),
        public_key_hex: hex::encode(opened.signer.verifying_key().as_bytes()),
        comms: Arc::new(config.comms.clone()),
    };
    Ok(App {
        router: router(state.clone()),
        state,
        bootstrap_token,
        key_created: opened.key_created,
        forwarder,
        notifier,
    })
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Palisade API", description = "Secure incident response on a signed, hash-chained ledger. Errors are RFC 9457 problem details."),
    paths(
        api::declare_incident, api::list_incidents, api::show_incident, api::incident_events,
        api::assign_role, api::unassign_role, api::step_action, api::add_note, api::update_status,
        api::change_severity, api::approve, api::resolve, api::close, api::correct,
        api::create_token, api::list_tokens, api::revoke_token, api::me, healthz, metrics_text,
        evidence::upload, evidence::list, evidence::show, evidence::transfer, evidence::download,
        evidence::break_glass, evidence::export,
        comms::communications, comms::record_awareness, comms::meet_deadline,
        comms::draft_statement, comms::revise_statement, comms::approve_statement,
        comms::publish_statement, comms::postmortem_draft, comms::postmortem_status,
        comms::add_action_item, comms::complete_action_item
    ),
    modifiers(&BearerAuth),
    tags((name = "incidents"), (name = "commands"), (name = "evidence"), (name = "communications"), (name = "postmortems"), (name = "tokens"), (name = "operations"))
)]
pub struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The router with every route, limit and middleware.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/incidents",
            post(api::declare_incident).get(api::list_incidents),
        )
        .route("/incidents/{incident}", get(api::show_incident))
        .route("/incidents/{incident}/events", get(api::incident_events))
        .route("/incidents/{incident}/roles", post(api::assign_role))
        .route(
            "/incidents/{incident}/roles/unassign",
            post(api::unassign_role),
        )
        .route(
            "/incidents/{incident}/steps/{step}/{action}",
            post(api::step_action),
        )
        .route("/incidents/{incident}/notes", post(api::add_note))
        .route("/incidents/{incident}/status", post(api::update_status))
        .route("/incidents/{incident}/severity", post(api::change_severity))
        .route("/incidents/{incident}/approvals", post(api::approve))
        .route("/incidents/{incident}/resolve", post(api::resolve))
        .route("/incidents/{incident}/close", post(api::close))
        .route("/incidents/{incident}/corrections", post(api::correct))
        .route(
            "/incidents/{incident}/evidence",
            post(evidence::upload)
                .get(evidence::list)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/incidents/{incident}/evidence/{evidence}",
            get(evidence::show),
        )
        .route(
            "/incidents/{incident}/evidence/{evidence}/content",
            get(evidence::download),
        )
        .route(
            "/incidents/{incident}/evidence/{evidence}/transfer",
            post(evidence::transfer),
        )
        .route(
            "/incidents/{incident}/break-glass",
            post(evidence::break_glass),
        )
        .route("/incidents/{incident}/export", get(evidence::export))
        .route("/tokens", post(api::create_token).get(api::list_tokens))
        .route("/tokens/{id}", delete(api::revoke_token))
        .route("/me", get(api::me))
        .merge(comms::routes())
        .route("/openapi.json", get(openapi_json))
        .fallback(api_not_found);
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn api_not_found() -> Problem {
    Problem::not_found("no such endpoint; the API is described at /api/v1/openapi.json")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this endpoint does not accept that method; see /api/v1/openapi.json",
    )
}

async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let resp = next.run(req).await;
    state.metrics.request(
        &method,
        &route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

async fn openapi_json() -> Response {
    let mut resp = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_default()
        .into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Liveness and storage check (no token needed, for load balancers).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = views::Health), (status = 503, body = Problem)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.user_count().await {
        Ok(_) => axum::Json(views::Health {
            status: "ok".into(),
            backend: state.store.backend().into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Storage unavailable",
                "the database does not answer",
            )
            .into_response()
        }
    }
}

/// Prometheus metrics (token required, any role).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn metrics_text(State(state): State<AppState>, _caller: auth::Caller) -> Response {
    let mut resp = state.metrics.render(state.store.backend()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
