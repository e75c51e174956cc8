//! `/services`: create, list, show, rename. A service is a stream on the ledger like an incident,
//! and its commands go through the same generic handler.

use super::{ApiStream, IntoCommand, PathArgs, answer, command, show};
use crate::extract::{Caller, CommandBody, StrictQuery};
use crate::problem::Problem;
use crate::views::{ServiceList, ServiceListItem, ServiceView};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::App;
use palisade_core::Timestamp;
use palisade_core::service::ServiceName;
use palisade_core::service::{CreateService, ServiceCommand, ServiceState};
use serde::Deserialize;
use utoipa::ToSchema;

impl ApiStream for ServiceState {
    const PARAM: &'static str = "service";
    type View = ServiceView;
    fn view(_: &App, st: &ServiceState) -> ServiceView {
        ServiceView::from(st)
    }
}

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/services", post(create).get(list))
        .route("/services/{service}", get(show_service))
        .route(
            "/services/{service}/rename",
            post(command::<ServiceState, RenameRequest>),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceRequest {
    /// Unique among services.
    #[schema(value_type = ServiceName)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/services", tag = "services",
    request_body = CreateServiceRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    responses((status = 201, body = ServiceView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    req: CommandBody<CreateServiceRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(None);
    let create = CreateService {
        name: req.body.name,
        description: req.body.description,
    };
    let renderer =
        |e: &palisade_app::Executed<ServiceState>| super::json_of(&ServiceView::from(&e.state));
    let outcome = app
        .create_service(caller.actor(), create, &opts, Some(&renderer))
        .await?;
    Ok(answer(&app, StatusCode::CREATED, outcome))
}

#[utoipa::path(get, path = "/api/v1/services", tag = "services",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most this many (default 1000)")),
    responses((status = 200, body = ServiceList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    _caller: Caller,
    query: StrictQuery,
) -> Result<Json<ServiceList>, Problem> {
    let q = query.only(&["limit"])?;
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| Problem::unprocessable("limit must be 1 … 1000"))?,
        None => 1000,
    };
    Ok(Json(ServiceList {
        services: app
            .list_services(limit)
            .await?
            .into_iter()
            .map(ServiceListItem::from)
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/services/{service}", tag = "services",
    params(("service" = String, Path, description = "id or name")),
    responses((status = 200, body = ServiceView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn show_service(
    State(app): State<App>,
    caller: Caller,
    Path(service): Path<String>,
) -> Result<Json<ServiceView>, Problem> {
    show::<ServiceState>(&app, &caller, &service, "service").await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    /// The new name (unique among services).
    #[schema(value_type = ServiceName)]
    pub name: String,
}

impl IntoCommand<ServiceState> for RenameRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ServiceCommand, Option<Timestamp>), Problem> {
        Ok((ServiceCommand::Rename { name: self.name }, None))
    }
}

/// Documentation of the command routes, which share one handler ([`command`]).
pub mod docs {
    use super::*;

    /// Rename a service (the new name must be free).
    #[utoipa::path(post, path = "/api/v1/services/{service}/rename", tag = "services",
        request_body = RenameRequest,
        params(("service" = String, Path, description = "id or name"),
               ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
        responses((status = 200, body = ServiceView),
            (status = 400, body = Problem, content_type = "application/problem+json"),
            (status = 401, body = Problem, content_type = "application/problem+json"),
            (status = 403, body = Problem, content_type = "application/problem+json"),
            (status = 404, body = Problem, content_type = "application/problem+json"),
            (status = 409, body = Problem, content_type = "application/problem+json"),
            (status = 422, body = Problem, content_type = "application/problem+json")),
        security(("bearer" = [])))]
    #[allow(dead_code)]
    pub fn rename() {}
}
