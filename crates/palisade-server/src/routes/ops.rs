//! Operations: health, Prometheus metrics and the OpenAPI document.

use crate::ApiDoc;
use crate::extract::Caller;
use crate::problem::Problem;
use crate::views::Health;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use palisade_app::App;
use utoipa::OpenApi;

/// `/healthz` and `/metrics`, outside `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
}

/// Readiness: 200 when a write would succeed now (the database answered a durable write),
/// 503 saying what is wrong otherwise (unreachable, locked, read-only, disk full). No token
/// needed, for load balancers; concurrent checks share one probe.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn healthz(State(app): State<App>) -> Response {
    let r = app.readiness().await;
    match r.problem {
        None => Json(Health {
            status: "ok".into(),
            backend: app.store().backend().into(),
            version: env!("CARGO_PKG_VERSION").into(),
            database_disk_free_bytes: r.database_disk_free,
            evidence_disk_free_bytes: r.evidence_disk_free,
            warnings: r.warnings,
        })
        .into_response(),
        Some(problem) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Not ready: writes would fail",
            problem,
        )
        .into_response(),
    }
}

/// Prometheus metrics (token required, any role).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn metrics_text(State(app): State<App>, _caller: Caller) -> Response {
    let mut resp = app.metrics().render(app.store().backend()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// The OpenAPI document (no token needed).
pub async fn openapi_json() -> Response {
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
