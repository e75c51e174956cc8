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
use palisade_core::types::ResourceName;
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
        .route("/services/{service}/owner", post(set_owner))
        .route(
            "/services/{service}/escalation-policy",
            post(set_escalation_policy),
        )
        .route(
            "/services/{service}/tier",
            post(command::<ServiceState, TierRequest>),
        )
        .route(
            "/services/{service}/finding-sla",
            post(command::<ServiceState, FindingSlaRequest>),
        )
        .route(
            "/services/{service}/runbooks",
            post(command::<ServiceState, RunbookRequest>),
        )
        .route(
            "/services/{service}/runbooks/remove",
            post(command::<ServiceState, RemoveRunbookRequest>),
        )
        .route(
            "/services/{service}/maintenance",
            post(command::<ServiceState, MaintenanceRequest>),
        )
        .route(
            "/services/{service}/maintenance/remove",
            post(command::<ServiceState, RemoveMaintenanceRequest>),
        )
}

/// The owning team, by name or id; `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerRequest {
    #[schema(value_type = Option<ResourceName>)]
    pub team: Option<String>,
}

/// The escalation policy, by name or id; `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyRequest {
    #[schema(value_type = Option<ResourceName>)]
    pub policy: Option<String>,
}

/// The tier, 1 (most critical) to 4; `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierRequest {
    #[schema(minimum = 1, maximum = 4)]
    pub tier: Option<u8>,
}

/// The service's own days to fix findings; `null` goes back to the deployment's
/// (`[findings.sla]` in palisade.toml).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingSlaRequest {
    pub sla: Option<crate::views::FindingSlaView>,
}

impl IntoCommand<ServiceState> for FindingSlaRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ServiceCommand, Option<Timestamp>), Problem> {
        Ok((
            ServiceCommand::SetFindingSla {
                sla: self.sla.map(Into::into),
            },
            None,
        ))
    }
}

/// A runbook link (http or https).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookRequest {
    #[schema(example = "https://wiki.example/runbooks/payments")]
    pub url: String,
    #[serde(default)]
    pub title: Option<String>,
}

/// A runbook link to remove.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveRunbookRequest {
    pub url: String,
}

/// A maintenance window: from, to (RFC 3339; at most 90 days) and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceRequest {
    #[schema(value_type = Timestamp)]
    pub from: String,
    #[schema(value_type = Timestamp)]
    pub to: String,
    pub reason: String,
}

/// The maintenance window to remove, by number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveMaintenanceRequest {
    #[schema(minimum = 1)]
    pub n: u32,
}

impl IntoCommand<ServiceState> for TierRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ServiceCommand, Option<Timestamp>), Problem> {
        Ok((ServiceCommand::SetTier { tier: self.tier }, None))
    }
}
impl IntoCommand<ServiceState> for RunbookRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ServiceCommand, Option<Timestamp>), Problem> {
        Ok((
            ServiceCommand::AddRunbook {
                url: self.url,
                title: self.title,
            },
            None,
        ))
    }
}
impl IntoCommand<ServiceState> for RemoveRunbookRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ServiceCommand, Option<Timestamp>), Problem> {
        Ok((ServiceCommand::RemoveRunbook { url: self.url }, None))
    }
}
impl IntoCommand<ServiceState> for MaintenanceRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ServiceCommand, Option<Timestamp>), Problem> {
        let time = |name: &str, v: &str| {
            Timestamp::parse(v).map_err(|e| Problem::unprocessable(format!("`{name}`: {e}")))
        };
        Ok((
            ServiceCommand::AddMaintenance {
                from: time("from", &self.from)?,
                to: time("to", &self.to)?,
                reason: self.reason,
            },
            None,
        ))
    }
}
impl IntoCommand<ServiceState> for RemoveMaintenanceRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ServiceCommand, Option<Timestamp>), Problem> {
        Ok((ServiceCommand::RemoveMaintenance { n: self.n }, None))
    }
}

fn render_service(e: &palisade_app::Executed<ServiceState>) -> String {
    super::json_of(&ServiceView::from(&e.state))
}

#[utoipa::path(post, path = "/api/v1/services/{service}/owner", tag = "services",
    request_body = OwnerRequest,
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
pub async fn set_owner(
    State(app): State<App>,
    caller: Caller,
    Path(service): Path<String>,
    req: CommandBody<OwnerRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(None);
    let outcome = app
        .set_service_owner(
            caller.actor(),
            &service,
            req.body.team.as_deref(),
            &opts,
            Some(&render_service),
        )
        .await?;
    Ok(answer(&app, StatusCode::OK, outcome))
}

#[utoipa::path(post, path = "/api/v1/services/{service}/escalation-policy", tag = "services",
    request_body = EscalationPolicyRequest,
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
pub async fn set_escalation_policy(
    State(app): State<App>,
    caller: Caller,
    Path(service): Path<String>,
    req: CommandBody<EscalationPolicyRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(None);
    let outcome = app
        .set_service_escalation(
            caller.actor(),
            &service,
            req.body.policy.as_deref(),
            &opts,
            Some(&render_service),
        )
        .await?;
    Ok(answer(&app, StatusCode::OK, outcome))
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
    let limit = super::limit(&q, 1000)?;
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
    let Json(mut view) = show::<ServiceState>(&app, &caller, &service, "service").await?;
    // Linked by id: show the names they have now.
    if let Some(l) = view.owner.as_mut()
        && let Ok(n) = palisade_core::types::ResourceName::parse(&app.current_name(l, true).await?)
    {
        l.name = n;
    }
    if let Some(l) = view.escalation_policy.as_mut()
        && let Ok(n) = palisade_core::types::ResourceName::parse(&app.current_name(l, false).await?)
    {
        l.name = n;
    }
    Ok(Json(view))
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

    macro_rules! service_command_doc {
        ($name:ident, $path:literal, $body:ty, $summary:literal) => {
            #[doc = $summary]
            #[utoipa::path(post, path = $path, tag = "services", request_body = $body,
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
            pub fn $name() {}
        };
    }

    service_command_doc!(
        tier,
        "/api/v1/services/{service}/tier",
        TierRequest,
        "Set (or with null clear) the tier: 1 (most critical) to 4."
    );
    service_command_doc!(
        finding_sla,
        "/api/v1/services/{service}/finding-sla",
        FindingSlaRequest,
        "Set the service's own days to fix findings by severity (or with null, the deployment's); findings opened afterwards are due by them."
    );
    service_command_doc!(
        add_runbook,
        "/api/v1/services/{service}/runbooks",
        RunbookRequest,
        "Add a runbook link (http or https)."
    );
    service_command_doc!(
        remove_runbook,
        "/api/v1/services/{service}/runbooks/remove",
        RemoveRunbookRequest,
        "Remove a runbook link."
    );
    service_command_doc!(
        add_maintenance,
        "/api/v1/services/{service}/maintenance",
        MaintenanceRequest,
        "Add a maintenance window with its reason."
    );
    service_command_doc!(
        remove_maintenance,
        "/api/v1/services/{service}/maintenance/remove",
        RemoveMaintenanceRequest,
        "Remove a maintenance window by its number."
    );
}
