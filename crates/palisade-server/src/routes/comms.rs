//! Communications and postmortems: awareness and notification deadlines, external statements
//! (draft, revise, IC approval, publication), the postmortem draft (Markdown or JSON), its
//! lifecycle and action items. Commands go through the generic handler like every other.

use super::{IntoCommand, PathArgs, command};
use crate::extract::{Caller, StrictQuery, path_number};
use crate::problem::Problem;
use crate::views::IncidentView;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::App;
use palisade_core::comms::{self, CommsCommand, CommsStatus, StatementRevision};
use palisade_core::incident::Command;
use palisade_core::postmortem::{self, PostmortemCommand, PostmortemReport, PostmortemStatus};
use palisade_core::{IncidentState, Timestamp, UserName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    type I = IncidentState;
    Router::new()
        .route("/incidents/{incident}/communications", get(communications))
        .route(
            "/incidents/{incident}/awareness",
            post(command::<I, AwarenessRequest>),
        )
        .route(
            "/incidents/{incident}/deadlines/met",
            post(command::<I, DeadlineMetRequest>),
        )
        .route(
            "/incidents/{incident}/statements",
            post(command::<I, StatementRequest>),
        )
        .route(
            "/incidents/{incident}/statements/{statement}/revise",
            post(command::<I, StatementRequest>),
        )
        .route(
            "/incidents/{incident}/statements/{statement}/approve",
            post(command::<I, ApproveStatementRequest>),
        )
        .route(
            "/incidents/{incident}/statements/{statement}/publish",
            post(command::<I, PublishStatementRequest>),
        )
        .route("/incidents/{incident}/postmortem", get(postmortem_draft))
        .route(
            "/incidents/{incident}/postmortem/status",
            post(command::<I, PostmortemStatusRequest>),
        )
        .route(
            "/incidents/{incident}/action-items",
            post(command::<I, ActionItemRequest>),
        )
        .route(
            "/incidents/{incident}/action-items/{item}/done",
            post(command::<I, ActionItemDoneRequest>),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwarenessRequest {
    /// When the organisation became aware. Notification deadlines run from it.
    pub aware_at: Timestamp,
    /// Why; required when awareness was already recorded and the time changes.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub note: Option<String>,
}

impl IntoCommand<IncidentState> for AwarenessRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::Comms(CommsCommand::RecordAwareness {
                aware_at: self.aware_at,
                note: self.note,
            }),
            None,
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadlineMetRequest {
    /// The deadline's name, as shown in the communications view.
    pub name: String,
    /// E.g. the regulator's reference number.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub note: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for DeadlineMetRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::Comms(CommsCommand::MeetDeadline {
                name: self.name,
                note: self.note,
            }),
            self.occurred_at,
        ))
    }
}

/// A statement's draft: posted to `/statements` it starts a new statement, to
/// `/statements/{n}/revise` it is the next revision of statement `n`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementRequest {
    /// The title; the publication date is put in front of it when published.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
}

fn statement(path: &PathArgs) -> Result<u32, Problem> {
    path_number(
        "statement",
        path.get("statement").map_or("", String::as_str),
    )
}

impl IntoCommand<IncidentState> for StatementRequest {
    fn into_command(self, path: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        let n = match path.get("statement") {
            Some(_) => Some(statement(path)?),
            None => None,
        };
        Ok((
            Command::Comms(CommsCommand::DraftStatement {
                statement: n,
                title: self.title,
                body: self.body,
            }),
            None,
        ))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveStatementRequest {
    /// The revision the IC read; refused if the draft has moved on. Default: the latest.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub revision: Option<u32>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub note: Option<String>,
}

impl IntoCommand<IncidentState> for ApproveStatementRequest {
    fn into_command(self, path: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::Comms(CommsCommand::ApproveStatement {
                statement: statement(path)?,
                revision: self.revision,
                note: self.note,
            }),
            None,
        ))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishStatementRequest {
    /// The publication date (YYYY-MM-DD) carried in the title. Default: the date of
    /// `occurred_at` in its offset, else today (UTC).
    #[serde(default)]
    #[schema(format = Date, example = "2026-11-26")]
    pub date: Option<String>,
    /// When it was published. Default: now.
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for PublishStatementRequest {
    fn into_command(self, path: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        let date = match &self.date {
            Some(d) => time::Date::parse(d, comms::DATE_FORMAT).map_err(|_| {
                Problem::unprocessable(format!("date {d:?} is not a date like 2026-11-26"))
            })?,
            None => self.occurred_at.unwrap_or_else(palisade_app::now).0.date(),
        };
        Ok((
            Command::Comms(CommsCommand::PublishStatement {
                statement: statement(path)?,
                date,
            }),
            self.occurred_at,
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostmortemStatusRequest {
    /// in_review, reviewed or closed (one step forward at a time).
    #[schema(schema_with = postmortem_target)]
    pub status: String,
}

fn postmortem_target() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::views::string_enum(
        &["in_review", "reviewed", "closed"],
        "The next status: in_review, reviewed or closed (one step forward at a time; `review` is accepted for in_review).",
    )
}

impl IntoCommand<IncidentState> for PostmortemStatusRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        let status = self
            .status
            .parse::<PostmortemStatus>()
            .map_err(|e| Problem::unprocessable(e.to_string()))?;
        Ok((
            Command::Postmortem(PostmortemCommand::SetStatus { status }),
            None,
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// The user who owns it (must exist).
    pub owner: UserName,
    /// YYYY-MM-DD.
    #[serde(default)]
    #[schema(format = Date, example = "2026-12-01")]
    pub due: Option<String>,
}

impl IntoCommand<IncidentState> for ActionItemRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::Postmortem(PostmortemCommand::AddActionItem {
                title: self.title,
                owner: self.owner,
                due: self.due,
            }),
            None,
        ))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemDoneRequest {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub note: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for ActionItemDoneRequest {
    fn into_command(self, path: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::Postmortem(PostmortemCommand::CompleteActionItem {
                item: path_number("action item", path.get("item").map_or("", String::as_str))?,
                note: self.note,
            }),
            self.occurred_at,
        ))
    }
}

/// A statement and where it stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementView {
    #[schema(minimum = 1)]
    pub n: u32,
    #[schema(schema_with = statement_state)]
    pub state: String,
    /// The latest revision.
    #[schema(minimum = 1)]
    pub revision: u32,
    pub title: String,
    pub body: String,
    /// Avoided phrases the latest revision contains (approval is refused while any remain).
    pub avoided_phrases: Vec<String>,
    #[schema(value_type = Option<UserName>)]
    pub approved_by: Option<String>,
    #[schema(value_type = Option<Timestamp>)]
    pub approved_at: Option<String>,
    pub published_title: Option<String>,
    #[schema(value_type = Option<Timestamp>)]
    pub published_at: Option<String>,
    pub revisions: Vec<StatementRevision>,
}

fn statement_state() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::views::string_enum(
        &["draft", "approved", "published"],
        "draft, approved (the latest revision) or published.",
    )
}

/// Cadence, deadlines and statements of an incident.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommunicationsView {
    pub codename: String,
    /// Evaluated at this time (server clock).
    #[schema(value_type = Timestamp)]
    pub now: String,
    pub status: CommsStatus,
    pub statements: Vec<StatementView>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/communications", tag = "communications",
    params(("incident" = String, Path, description = "id or codename")),
    responses((status = 200, body = CommunicationsView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn communications(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
) -> Result<Json<CommunicationsView>, Problem> {
    let st = app
        .read::<IncidentState>(caller.actor(), &incident, "communications", "api")
        .await?;
    let policy = app.comms_policy();
    let now = palisade_app::now();
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
                avoided_phrases: policy.avoided_in(&format!("{}\n{}", latest.title, latest.body)),
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
        status: comms::status(&st, policy, now),
        statements,
    }))
}

/// How the postmortem is returned.
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documents the `format` query parameter, which is read as a string
pub enum PostmortemFormat {
    Json,
    Markdown,
}

/// The postmortem as data plus the Markdown draft.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PostmortemView {
    #[serde(flatten)]
    pub report: PostmortemReport,
    /// The draft document (the same as `?format=markdown`).
    pub markdown: String,
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/postmortem", tag = "postmortems",
    params(("incident" = String, Path, description = "id or codename"),
           ("format" = inline(Option<PostmortemFormat>), Query, description = "json (default) or markdown (`md` too); without it, `Accept: text/markdown` selects Markdown")),
    responses((status = 200, description = "The postmortem as data with its Markdown draft, or the draft alone",
            content((PostmortemView = "application/json"), (String = "text/markdown"))),
        (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn postmortem_draft(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
    headers: HeaderMap,
    query: StrictQuery,
) -> Result<Response, Problem> {
    let q = query.only(&["format"])?;
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
    let (st, events) = app
        .incident_with_events(caller.actor(), &incident, "postmortem")
        .await?;
    let now = palisade_app::now();
    let md = postmortem::render_markdown(&st, &events, app.comms_policy(), now);
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

/// Documentation of the command routes, which share one handler ([`command`]).
pub mod docs {
    use super::*;

    incident_command_doc!(
        record_awareness,
        "/api/v1/incidents/{incident}/awareness",
        "communications",
        AwarenessRequest,
        "Record when the organisation became aware; starts the notification deadlines."
    );
    incident_command_doc!(
        meet_deadline,
        "/api/v1/incidents/{incident}/deadlines/met",
        "communications",
        DeadlineMetRequest,
        "Record that a notification deadline was met."
    );
    incident_command_doc!(
        draft_statement,
        "/api/v1/incidents/{incident}/statements",
        "communications",
        StatementRequest,
        "Draft a new external statement."
    );
    incident_command_doc!(
        revise_statement,
        "/api/v1/incidents/{incident}/statements/{statement}/revise",
        "communications",
        StatementRequest,
        "Draft the next revision of a statement.",
        (
            "statement" = u32,
            Path,
            minimum = 1,
            description = "statement number"
        )
    );
    incident_command_doc!(
        approve_statement,
        "/api/v1/incidents/{incident}/statements/{statement}/approve",
        "communications",
        ApproveStatementRequest,
        "The IC approves a statement's latest revision.",
        (
            "statement" = u32,
            Path,
            minimum = 1,
            description = "statement number"
        )
    );
    incident_command_doc!(
        publish_statement,
        "/api/v1/incidents/{incident}/statements/{statement}/publish",
        "communications",
        PublishStatementRequest,
        "Record the publication of an approved statement.",
        (
            "statement" = u32,
            Path,
            minimum = 1,
            description = "statement number"
        )
    );
    incident_command_doc!(
        postmortem_status,
        "/api/v1/incidents/{incident}/postmortem/status",
        "postmortems",
        PostmortemStatusRequest,
        "Move the postmortem one status forward."
    );
    incident_command_doc!(
        add_action_item,
        "/api/v1/incidents/{incident}/action-items",
        "postmortems",
        ActionItemRequest,
        "Add a postmortem action item."
    );
    incident_command_doc!(
        complete_action_item,
        "/api/v1/incidents/{incident}/action-items/{item}/done",
        "postmortems",
        ActionItemDoneRequest,
        "Mark an action item done.",
        (
            "item" = u32,
            Path,
            minimum = 1,
            description = "action item number"
        )
    );
}
