//! `/incidents`: declare, list, show, the ledger, the process commands (roles, steps, notes,
//! status, severity, approvals, resolution, corrections) and break-glass.

use super::{ApiStream, IntoCommand, PathArgs, answer, command, json_of, json_text};
use crate::extract::{Caller, CommandBody, StrictQuery, path_number};
use crate::problem::Problem;
use crate::views::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::incidents::DeclareInput;
use palisade_app::{App, Executed, Outcome};
use palisade_core::incident::Command;
use palisade_core::{
    IncidentState, Kind, Payload, Role, Severity, Status, Timestamp, UserName, comms, postmortem,
};
use palisade_store::ListFilter;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

impl ApiStream for IncidentState {
    const PARAM: &'static str = "incident";
    type View = IncidentView;
    fn view(app: &App, st: &IncidentState) -> IncidentView {
        incident_view(app, st)
    }
    /// The incident without its timeline, and the entries the command added or corrected.
    fn changed(app: &App, e: &palisade_app::Executed<IncidentState>) -> IncidentView {
        let before = e
            .events
            .first()
            .map(|ev| ev.seq - 1)
            .unwrap_or(e.state.last_seq);
        incident_view(app, &e.state).with_appended(&e.state, before)
    }
}

/// The incident view with the time-dependent flags (cadence, deadlines, postmortem) at `now`
/// under the server's policy.
pub fn incident_view(app: &App, st: &IncidentState) -> IncidentView {
    let now = palisade_app::now();
    let mut v = IncidentView::from(st);
    v.communications = Some(comms::status(st, app.comms_policy(), now));
    v.postmortem = Some(postmortem::summary(st, now));
    v
}

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    type I = IncidentState;
    Router::new()
        .route("/incidents", post(declare).get(list))
        .route("/incidents/{incident}", get(show_incident))
        .route("/incidents/{incident}/events", get(events))
        .route("/incidents/{incident}/changes", get(changes))
        .route(
            "/incidents/{incident}/roles",
            post(command::<I, RoleRequest>),
        )
        .route(
            "/incidents/{incident}/roles/unassign",
            post(command::<I, UnassignRequest>),
        )
        .route(
            "/incidents/{incident}/steps/{step}/{action}",
            post(command::<I, StepRequest>),
        )
        .route(
            "/incidents/{incident}/notes",
            post(command::<I, NoteRequest>),
        )
        .route(
            "/incidents/{incident}/status",
            post(command::<I, StatusRequest>),
        )
        .route(
            "/incidents/{incident}/severity",
            post(command::<I, SeverityRequest>),
        )
        .route(
            "/incidents/{incident}/approvals",
            post(command::<I, ApproveRequest>),
        )
        .route(
            "/incidents/{incident}/resolve",
            post(command::<I, ResolveRequest>),
        )
        .route(
            "/incidents/{incident}/close",
            post(command::<I, CloseRequest>),
        )
        .route(
            "/incidents/{incident}/corrections",
            post(command::<I, CorrectionRequest>),
        )
        .route("/incidents/{incident}/break-glass", post(break_glass))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareRequest {
    /// Short, factual title. For security incidents the codename is what people see in lists.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Default: security. When unsure whether it is a security incident, declare it as one.
    #[serde(default)]
    pub kind: Option<Kind>,
    pub severity: Severity,
    /// Defaults to true for security incidents, false for operational ones.
    #[serde(default)]
    pub restricted: Option<bool>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub summary: Option<String>,
    /// Playbook id; defaults to the built-in playbook of the kind.
    #[serde(default)]
    pub playbook: Option<String>,
    /// User to make Incident Commander right away.
    #[serde(default)]
    pub commander: Option<UserName>,
    /// When the incident began (defaults to now).
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
    /// When the organisation became aware; starts the notification deadlines.
    #[serde(default)]
    pub aware_at: Option<Timestamp>,
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents",
    request_body = DeclareRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    responses((status = 201, body = IncidentView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn declare(
    State(app): State<App>,
    caller: Caller,
    req: CommandBody<DeclareRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(req.body.occurred_at);
    let b = req.body;
    let input = DeclareInput {
        title: b.title,
        kind: b.kind,
        severity: b.severity,
        restricted: b.restricted,
        summary: b.summary,
        playbook: b.playbook,
        commander: b.commander,
        aware_at: b.aware_at,
    };
    let renderer = |e: &palisade_app::Executed<IncidentState>| {
        super::json_of(&<IncidentState as ApiStream>::changed(&app, e))
    };
    let outcome = app
        .declare(caller.actor(), input, &opts, Some(&renderer))
        .await?;
    Ok(answer(&app, StatusCode::CREATED, outcome))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub severity: Option<Severity>,
    pub kind: Option<Kind>,
    /// Only incidents the caller is a member of.
    pub mine: Option<bool>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

fn parse<T: std::str::FromStr<Err = palisade_core::types::ParseError>>(
    s: &str,
) -> Result<T, Problem> {
    s.parse()
        .map_err(|e: palisade_core::types::ParseError| Problem::unprocessable(e.to_string()))
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = IncidentList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    query: StrictQuery,
) -> Result<Json<IncidentList>, Problem> {
    let q = query.only(&["status", "severity", "kind", "mine", "limit"])?;
    let filter = ListFilter {
        viewer: caller.actor().user.clone(),
        status: q.get("status").map(|s| parse::<Status>(s)).transpose()?,
        severity: q
            .get("severity")
            .map(|s| parse::<Severity>(s))
            .transpose()?,
        kind: q.get("kind").map(|s| parse::<Kind>(s)).transpose()?,
        mine: match q.get("mine").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(Problem::unprocessable("mine must be true or false")),
        },
        limit: super::limit(&q, 100)?,
    };
    let rows = app.list_incidents(&filter).await?;
    Ok(Json(IncidentList {
        incidents: rows.into_iter().map(IncidentListItem::from).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShowQuery {
    /// The timeline page holds entries after this sequence number (default 0: from the first).
    pub after: Option<u64>,
    /// At most this many timeline entries (default 500, at most 10,000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u64>,
}

/// `after` and `limit` of a paged read, checked.
fn page(q: &HashMap<String, String>, default: u64, max: u64) -> Result<(u64, u64), Problem> {
    let after = match q.get("after") {
        Some(a) => a
            .parse::<u64>()
            .map_err(|_| Problem::unprocessable("after must be a sequence number (0 or more)"))?,
        None => 0,
    };
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<u64>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| Problem::unprocessable(format!("limit must be 1 … {max}")))?,
        None => default,
    };
    Ok((after, limit))
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}", tag = "incidents",
    params(("incident" = String, Path, description = "id or codename"), ShowQuery),
    responses((status = 200, body = IncidentView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn show_incident(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
    query: StrictQuery,
) -> Result<Json<IncidentView>, Problem> {
    let q = query.only(&["after", "limit"])?;
    let (after, limit) = page(&q, TIMELINE_PAGE, TIMELINE_PAGE_MAX)?;
    let st = app
        .read::<IncidentState>(caller.actor(), &incident, "incident", "api")
        .await?;
    Ok(Json(
        incident_view(&app, &st).with_timeline_page(&st, after, limit),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events after this sequence number (default 0: from the first).
    pub after: Option<u64>,
    /// At most this many (default and maximum 10,000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/events", tag = "incidents",
    params(("incident" = String, Path, description = "id or codename"), EventsQuery),
    responses((status = 200, body = LedgerView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn events(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
    query: StrictQuery,
) -> Result<Json<LedgerView>, Problem> {
    let q = query.only(&["after", "limit"])?;
    let (after, limit) = page(&q, 10_000, 10_000)?;
    let (st, rows) = app
        .incident_ledger(caller.actor(), &incident, after, limit)
        .await?;
    Ok(Json(LedgerView {
        incident: st.id,
        events: rows.into_iter().map(LedgerRow::from).collect(),
    }))
}

/// The change events shown with an incident.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentChangesView {
    pub incident: Uuid,
    /// The service whose changes these are: the one of the alert the incident was declared
    /// from (none when it was declared otherwise, and then there are no changes).
    pub service: Option<String>,
    /// From four hours before the declaration…
    pub from: Timestamp,
    /// …until the incident closed, or now.
    pub to: Timestamp,
    /// Newest first (at most 200).
    pub changes: Vec<super::alerts::ChangeItem>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/changes", tag = "incidents",
    params(("incident" = String, Path, description = "id or codename")),
    responses((status = 200, body = IncidentChangesView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// The change events of the incident's service (the one its alert came from) from four hours
/// before it was declared until it closed: what changed around the time it began. Reading a
/// restricted incident's changes is a recorded read.
pub async fn changes(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
    query: StrictQuery,
) -> Result<Json<IncidentChangesView>, Problem> {
    query.only(&[])?;
    let (st, c) = app
        .incident_changes(caller.actor(), &incident, "api")
        .await?;
    let changes = c
        .changes
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<Vec<super::alerts::ChangeItem>, _>>()
        .map_err(|e| {
            Problem::from(palisade_app::AppError::internal(
                "a change row does not parse",
                e,
            ))
        })?;
    Ok(Json(IncidentChangesView {
        incident: st.id,
        service: c.service,
        from: c.from,
        to: c.to,
        changes,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub user: UserName,
    pub role: Role,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for RoleRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::AssignRole {
                user: self.user,
                role: self.role,
            },
            self.occurred_at,
        ))
    }
}

/// The body of a role assignment, posted to `/roles/unassign` to take the role away.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct UnassignRequest(pub RoleRequest);

impl IntoCommand<IncidentState> for UnassignRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::UnassignRole {
                user: self.0.user,
                role: self.0.role,
            },
            self.0.occurred_at,
        ))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// A note (for `done`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub note: Option<String>,
    /// Why the step is waived (required for `waive`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub reason: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for StepRequest {
    fn into_command(self, path: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        let step = path_number("step", path.get("step").map_or("", String::as_str))?;
        let cmd = match path.get("action").map(String::as_str) {
            Some("start") => Command::StartStep { step },
            Some("done") => Command::CompleteStep {
                step,
                note: self.note,
            },
            Some("waive") => Command::WaiveStep {
                step,
                reason: self.reason.ok_or_else(|| {
                    Problem::unprocessable("waiving a step needs a reason (field `reason`)")
                })?,
            },
            other => {
                return Err(Problem::not_found(format!(
                    "no step action {:?}: use start, done or waive",
                    other.unwrap_or_default()
                )));
            }
        };
        Ok((cmd, self.occurred_at))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    #[schema(min_length = 1, max_length = 10000)]
    pub text: String,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for NoteRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((Command::AddNote { text: self.text }, self.occurred_at))
    }
}

/// Who a status update is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudienceParam {
    Internal,
    External,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// declared, investigating or contained (resolve and close have their own commands).
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub message: Option<String>,
    /// internal (default) or external. External updates carry a message only and are checked
    /// against the phrases to avoid.
    #[serde(default)]
    pub audience: Option<AudienceParam>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for StatusRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        if self.audience == Some(AudienceParam::External) {
            if self.status.is_some() {
                return Err(Problem::unprocessable(
                    "an external update carries a message only; change the status with an internal update",
                ));
            }
            let message = self
                .message
                .ok_or_else(|| Problem::unprocessable("an external update needs a `message`"))?;
            return Ok((Command::ExternalUpdate { message }, self.occurred_at));
        }
        Ok((
            Command::UpdateStatus {
                status: self.status,
                message: self.message,
            },
            self.occurred_at,
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeverityRequest {
    pub severity: Severity,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub reason: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for SeverityRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::ChangeSeverity {
                to: self.severity,
                reason: self.reason,
            },
            self.occurred_at,
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The approval id from the playbook, e.g. `external-communication`.
    pub approval: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub note: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for ApproveRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::Approve {
                approval: self.approval,
                note: self.note,
            },
            self.occurred_at,
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    #[schema(min_length = 1, max_length = 10000)]
    pub summary: String,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for ResolveRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((
            Command::Resolve {
                summary: self.summary,
            },
            self.occurred_at,
        ))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub note: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

impl IntoCommand<IncidentState> for CloseRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        Ok((Command::Close { note: self.note }, self.occurred_at))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    /// Sequence number of the event being corrected.
    #[schema(minimum = 1)]
    pub supersedes: u64,
    #[schema(min_length = 1, max_length = 10000)]
    pub reason: String,
    /// The corrected time the event happened.
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
    /// The corrected text (notes, status updates, step notes).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub text: Option<String>,
}

impl IntoCommand<IncidentState> for CorrectionRequest {
    fn into_command(self, _: &PathArgs) -> Result<(Command, Option<Timestamp>), Problem> {
        // `occurred_at` here is the corrected time, not when the correction happened.
        Ok((
            Command::Correct {
                supersedes: self.supersedes,
                reason: self.reason,
                occurred_at: self.occurred_at,
                text: self.text,
            },
            None,
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    /// Why you must see this incident (recorded, and sent to its Incident Commander).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
    /// How long access lasts, in minutes (default 60, at most 480).
    #[schema(minimum = 1, maximum = 480)]
    pub minutes: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BreakGlassView {
    pub incident: Uuid,
    pub codename: String,
    /// Access ends at this time.
    #[schema(value_type = Timestamp)]
    pub until: String,
    pub reason: String,
    /// Whom the notification goes to (the Incident Commander), if one is assigned.
    #[schema(value_type = Option<UserName>)]
    pub notified: Option<String>,
}

/// Break-glass: an admin who is not a member opens a restricted incident for a limited time with a
/// written reason. It is recorded in the ledger and the Incident Commander is notified (through
/// the outbox, written in the same transaction).
#[utoipa::path(post, path = "/api/v1/incidents/{incident}/break-glass", tag = "incidents",
    params(("incident" = String, Path, description = "id or codename"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    request_body = BreakGlassRequest,
    responses((status = 200, body = BreakGlassView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn break_glass(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
    req: CommandBody<BreakGlassRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(None);
    let cmd = Command::BreakGlass {
        reason: req.body.reason,
        minutes: req.body.minutes,
    };
    let render =
        |e: &Executed<IncidentState>| break_glass_view(e).map(|v| json_of(&v)).unwrap_or_default();
    match app
        .execute::<IncidentState>(caller.actor(), &incident, cmd, &opts, Some(&render))
        .await?
    {
        Outcome::Done(done) => Ok(Json(break_glass_view(&done)?).into_response()),
        Outcome::Replayed(text) => Ok(json_text(StatusCode::OK, text)),
    }
}

/// What a break-glass command recorded.
fn break_glass_view(done: &Executed<IncidentState>) -> Result<BreakGlassView, Problem> {
    let st = &done.state;
    let (reason, until) = done
        .events
        .iter()
        .find_map(|e| match &e.data {
            Payload::BreakGlass { reason, until } => Some((reason.clone(), until.to_string())),
            _ => None,
        })
        .ok_or_else(|| Problem::internal("break-glass was not recorded"))?;
    Ok(BreakGlassView {
        incident: st.id,
        codename: st.codename.clone(),
        until,
        reason,
        notified: st.commander().map(|c| c.to_string()),
    })
}

/// Documentation of the command routes, which share one handler ([`command`]).
pub mod docs {
    use super::*;

    /// What to do with a step (the `{action}` of its path).
    #[derive(utoipa::ToSchema)]
    #[schema(rename_all = "snake_case")]
    #[allow(dead_code)]
    pub enum StepAction {
        Start,
        Done,
        Waive,
    }

    incident_command_doc!(
        assign_role,
        "/api/v1/incidents/{incident}/roles",
        "commands",
        RoleRequest,
        "Assign a role (the IC assigns roles once there is one)."
    );
    incident_command_doc!(
        unassign_role,
        "/api/v1/incidents/{incident}/roles/unassign",
        "commands",
        UnassignRequest,
        "Take a role away."
    );
    incident_command_doc!(
        add_note,
        "/api/v1/incidents/{incident}/notes",
        "commands",
        NoteRequest,
        "Add a note to the timeline."
    );
    incident_command_doc!(
        update_status,
        "/api/v1/incidents/{incident}/status",
        "commands",
        StatusRequest,
        "A status update (internal or external), a lifecycle change, or both."
    );
    incident_command_doc!(
        change_severity,
        "/api/v1/incidents/{incident}/severity",
        "commands",
        SeverityRequest,
        "Change the severity."
    );
    incident_command_doc!(
        approve,
        "/api/v1/incidents/{incident}/approvals",
        "commands",
        ApproveRequest,
        "Give an approval the playbook defines."
    );
    incident_command_doc!(
        resolve,
        "/api/v1/incidents/{incident}/resolve",
        "commands",
        ResolveRequest,
        "Resolve (the playbook's required steps must be done or waived)."
    );
    incident_command_doc!(
        close,
        "/api/v1/incidents/{incident}/close",
        "commands",
        CloseRequest,
        "Close a resolved incident."
    );
    incident_command_doc!(
        correct,
        "/api/v1/incidents/{incident}/corrections",
        "commands",
        CorrectionRequest,
        "Correct an earlier event's time or text; both stay visible."
    );

    incident_command_doc!(
        step_action,
        "/api/v1/incidents/{incident}/steps/{step}/{action}",
        "commands",
        StepRequest,
        "Start, complete or waive a step of the playbook.",
        ("step" = u32, Path, minimum = 1, description = "step number"),
        (
            "action" = inline(StepAction),
            Path,
            description = "start, done or waive"
        )
    );
}
