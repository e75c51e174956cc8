//! Communications and postmortem endpoints: awareness and notification deadlines, external
//! statements (draft, revise, IC approval, publication), the postmortem draft (Markdown or JSON),
//! its lifecycle and action items. Commands go through [`crate::api::run`] like every other.

use crate::AppState;
use crate::api::{ApiJson, load_visible, now, parse_time, require_user, run};
use crate::auth::Caller;
use crate::problem::Problem;
use crate::views::IncidentView;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use palisade_core::IncidentState;
use palisade_core::comms::{self, CommsStatus, StatementRevision};
use palisade_core::incident::Command;
use palisade_core::postmortem::{self, PostmortemReport, PostmortemStatus};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/incidents/{incident}/communications", get(communications))
        .route("/incidents/{incident}/awareness", post(record_awareness))
        .route("/incidents/{incident}/deadlines/met", post(meet_deadline))
        .route("/incidents/{incident}/statements", post(draft_statement))
        .route(
            "/incidents/{incident}/statements/{statement}/revise",
            post(revise_statement),
        )
        .route(
            "/incidents/{incident}/statements/{statement}/approve",
            post(approve_statement),
        )
        .route(
            "/incidents/{incident}/statements/{statement}/publish",
            post(publish_statement),
        )
        .route("/incidents/{incident}/postmortem", get(postmortem_draft))
        .route(
            "/incidents/{incident}/postmortem/status",
            post(postmortem_status),
        )
        .route("/incidents/{incident}/action-items", post(add_action_item))
        .route(
            "/incidents/{incident}/action-items/{item}/done",
            post(complete_action_item),
        )
}

/// The incident view with the time-dependent flags (cadence, deadlines, postmortem) at `now`
/// under the server's policy.
pub fn incident_view(state: &AppState, st: &IncidentState) -> IncidentView {
    let now = now();
    let mut v = IncidentView::from(st);
    v.communications = Some(comms::status(st, &state.comms, now));
    v.postmortem = Some(postmortem::summary(st, now));
    v
}

fn number(what: &str, s: &str) -> Result<u32, Problem> {
    s.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| Problem::not_found(format!("no {what} {s:?}: they are numbered 1, 2, 3 …")))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwarenessRequest {
    /// When the organisation became aware (RFC 3339 with offset). Notification deadlines run from it.
    pub aware_at: String,
    /// Why; required when awareness was already recorded and the time changes.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadlineMetRequest {
    /// The deadline's name, as shown in the communications view.
    pub name: String,
    /// E.g. the regulator's reference number.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementRequest {
    /// The title; the publication date is put in front of it when published.
    pub title: String,
    pub body: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveStatementRequest {
    /// The revision the IC read; refused if the draft has moved on. Default: the latest.
    #[serde(default)]
    pub revision: Option<u32>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishStatementRequest {
    /// The publication date (YYYY-MM-DD) carried in the title. Default: the date of
    /// `occurred_at` in its offset, else today (UTC).
    #[serde(default)]
    pub date: Option<String>,
    /// When it was published (RFC 3339). Default: now.
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostmortemStatusRequest {
    /// in_review, reviewed or closed (one step forward at a time).
    pub status: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemRequest {
    pub title: String,
    /// The user who owns it (must exist).
    pub owner: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub due: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemDoneRequest {
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

/// A statement and where it stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementView {
    pub n: u32,
    /// draft, approved or published.
    pub state: String,
    pub revision: u32,
    pub title: String,
    pub body: String,
    /// Avoided phrases the latest revision contains (approval is refused while any remain).
    pub avoided_phrases: Vec<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub published_title: Option<String>,
    pub published_at: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub revisions: Vec<StatementRevision>,
}

/// Cadence, deadlines and statements of an incident.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommunicationsView {
    pub codename: String,
    /// Evaluated at this time (server clock).
    pub now: String,
    #[schema(value_type = Object)]
    pub status: CommsStatus,
    pub statements: Vec<StatementView>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/communications", tag = "communications",
    params(("incident" = String, Path, description = "id or codename")),
    responses((status = 200, body = CommunicationsView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn communications(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
) -> Result<Json<CommunicationsView>, Problem> {
    let st = load_visible(&state, &caller, &incident).await?;
    crate::evidence::record_read(&state, &caller, &st, "communications").await?;
    let now = now();
    let statements = st
        .comms
        .statements
        .iter()
        .map(|s| {
            let latest = s.latest();
            let approval = s.approval_of_latest();
            StatementView {
                n: s.n,
                state: if s.published.is_some() {
                    "published"
                } else if approval.is_some() {
                    "approved"
                } else {
                    "draft"
                }
                .into(),
                revision: latest.revision,
                title: latest.title.clone(),
                body: latest.body.clone(),
                avoided_phrases: state
                    .comms
                    .avoided_in(&format!("{}\n{}", latest.title, latest.body)),
                approved_by: approval.map(|a| a.by.to_string()),
                approved_at: approval.map(|a| a.at.to_string()),
                published_title: s.published.as_ref().and_then(|p| p.title.clone()),
                published_at: s.published.as_ref().map(|p| p.at.to_string()),
                revisions: s.revisions.clone(),
            }
        })
        .collect();
    Ok(Json(CommunicationsView {
        codename: st.codename.clone(),
        now: now.to_string(),
        status: comms::status(&st, &state.comms, now),
        statements,
    }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/awareness", tag = "communications",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = AwarenessRequest,
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn record_awareness(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<AwarenessRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let aware_at = parse_time(&Some(req.aware_at))?.expect("given");
    let cmd = Command::RecordAwareness {
        aware_at,
        note: req.note,
    };
    run(&state, &caller, &incident, cmd, None).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/deadlines/met", tag = "communications",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = DeadlineMetRequest,
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn meet_deadline(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<DeadlineMetRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let at = parse_time(&req.occurred_at)?;
    let cmd = Command::MeetDeadline {
        name: req.name,
        note: req.note,
    };
    run(&state, &caller, &incident, cmd, at).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/statements", tag = "communications",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = StatementRequest,
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn draft_statement(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<StatementRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let cmd = Command::DraftStatement {
        statement: None,
        title: req.title,
        body: req.body,
    };
    run(&state, &caller, &incident, cmd, None).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/statements/{statement}/revise", tag = "communications",
    params(("incident" = String, Path, description = "id or codename"), ("statement" = u32, Path, description = "statement number")),
    request_body = StatementRequest,
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn revise_statement(
    State(state): State<AppState>,
    caller: Caller,
    Path((incident, statement)): Path<(String, String)>,
    ApiJson(req): ApiJson<StatementRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let cmd = Command::DraftStatement {
        statement: Some(number("statement", &statement)?),
        title: req.title,
        body: req.body,
    };
    run(&state, &caller, &incident, cmd, None).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/statements/{statement}/approve", tag = "communications",
    params(("incident" = String, Path, description = "id or codename"), ("statement" = u32, Path, description = "statement number")),
    request_body = ApproveStatementRequest,
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn approve_statement(
    State(state): State<AppState>,
    caller: Caller,
    Path((incident, statement)): Path<(String, String)>,
    ApiJson(req): ApiJson<ApproveStatementRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let cmd = Command::ApproveStatement {
        statement: number("statement", &statement)?,
        revision: req.revision,
        note: req.note,
    };
    run(&state, &caller, &incident, cmd, None).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/statements/{statement}/publish", tag = "communications",
    params(("incident" = String, Path, description = "id or codename"), ("statement" = u32, Path, description = "statement number")),
    request_body = PublishStatementRequest,
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn publish_statement(
    State(state): State<AppState>,
    caller: Caller,
    Path((incident, statement)): Path<(String, String)>,
    ApiJson(req): ApiJson<PublishStatementRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let at = parse_time(&req.occurred_at)?;
    let date = match &req.date {
        Some(d) => time::Date::parse(d, comms::DATE_FORMAT).map_err(|_| {
            Problem::unprocessable(format!("date {d:?} is not a date like 2026-11-26"))
        })?,
        None => at.unwrap_or_else(now).0.date(),
    };
    let cmd = Command::PublishStatement {
        statement: number("statement", &statement)?,
        date,
    };
    run(&state, &caller, &incident, cmd, at).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/postmortem/status", tag = "postmortems",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = PostmortemStatusRequest,
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn postmortem_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<PostmortemStatusRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let status = req
        .status
        .parse::<PostmortemStatus>()
        .map_err(|e| Problem::unprocessable(e.to_string()))?;
    run(
        &state,
        &caller,
        &incident,
        Command::SetPostmortemStatus { status },
        None,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/action-items", tag = "postmortems",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = ActionItemRequest,
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_action_item(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<ActionItemRequest>,
) -> Result<Json<IncidentView>, Problem> {
    // Read-only accounts are refused before anything is looked up (as every command is); then
    // visibility, so a non-member learns nothing about users from this endpoint.
    caller.require_writer()?;
    load_visible(&state, &caller, &incident).await?;
    let owner = require_user(&state, &req.owner).await?;
    let cmd = Command::AddActionItem {
        title: req.title,
        owner,
        due: req.due,
    };
    run(&state, &caller, &incident, cmd, None).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/action-items/{item}/done", tag = "postmortems",
    params(("incident" = String, Path, description = "id or codename"), ("item" = u32, Path, description = "action item number")),
    request_body = ActionItemDoneRequest,
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn complete_action_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((incident, item)): Path<(String, String)>,
    ApiJson(req): ApiJson<ActionItemDoneRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let at = parse_time(&req.occurred_at)?;
    let cmd = Command::CompleteActionItem {
        item: number("action item", &item)?,
        note: req.note,
    };
    run(&state, &caller, &incident, cmd, at).await
}

/// The postmortem as data plus the Markdown draft.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PostmortemView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub report: PostmortemReport,
    /// The draft document (the same as `?format=markdown`).
    pub markdown: String,
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/postmortem", tag = "postmortems",
    params(("incident" = String, Path, description = "id or codename"),
           ("format" = Option<String>, Query, description = "json (default) or markdown; `Accept: text/markdown` also selects Markdown")),
    responses((status = 200, body = PostmortemView),
        (status = 200, description = "The draft as Markdown", content_type = "text/markdown"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn postmortem_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    if let Some(k) = q.keys().find(|k| k.as_str() != "format") {
        return Err(Problem::bad_request(format!(
            "unknown query parameter {k:?}; use format"
        )));
    }
    let markdown = match q.get("format").map(String::as_str) {
        Some("markdown" | "md") => true,
        Some("json") => false,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "unknown format {other:?}; use json or markdown"
            )));
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/markdown")),
    };
    let visible = load_visible(&state, &caller, &incident).await?;
    crate::evidence::record_read(&state, &caller, &visible, "postmortem").await?;
    // Fold again from the events the draft is rendered from, so both agree.
    let events = state.store.events(visible.id).await?;
    let st = IncidentState::fold(&events)
        .map_err(|e| Problem::internal(format!("the incident's ledger does not fold: {e}")))?;
    let now = now();
    let md = postmortem::render_markdown(&st, &events, &state.comms, now);
    if markdown {
        let mut resp = md.into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/markdown; charset=utf-8"),
        );
        return Ok(resp);
    }
    Ok(Json(PostmortemView {
        report: postmortem::report(&st, &events, now),
        markdown: md,
    })
    .into_response())
}
