//! `/schedules`: on-call schedules — create, list, show; replace, add and remove layers; add and
//! remove overrides and temporary schedules; and what the engine answers: who is on call at a
//! time, the shifts and the gaps of a span. Commands go through the generic handler.

use super::{ApiStream, IntoCommand, PathArgs, answer, command, show};
use crate::extract::{Caller, CommandBody, StrictQuery};
use crate::problem::Problem;
use crate::views::HistoryView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::App;
use palisade_core::Timestamp;
use palisade_core::oncall::{Gap, Layer, Override, Shift, TemporarySchedule};
use palisade_core::schedule::{
    CreateSchedule, Instant, ScheduleCommand, ScheduleState, parse_instant,
};
use palisade_core::types::{ResourceName, UserName};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// A schedule: its definition and history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleView {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    pub description: Option<String>,
    /// The IANA time zone its rotations and restrictions are computed in.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    /// Lowest first; the highest layer with someone on call wins.
    pub layers: Vec<Layer>,
    /// Applied in order on top of the layers; a later one wins where they overlap.
    pub overrides: Vec<Override>,
    /// Spans in which their shifts replace the layers.
    pub temporary: Vec<TemporarySchedule>,
    #[schema(value_type = UserName)]
    pub created_by: String,
    #[schema(value_type = Timestamp)]
    pub created_at: String,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
    /// Number of ledger events.
    pub events: u64,
    pub history: Vec<HistoryView>,
}

impl From<&ScheduleState> for ScheduleView {
    fn from(st: &ScheduleState) -> Self {
        ScheduleView {
            id: st.id,
            name: st.name.to_string(),
            description: st.description.clone(),
            time_zone: st.schedule.zone().to_string(),
            layers: st.schedule.layers().to_vec(),
            overrides: st.schedule.overrides().to_vec(),
            temporary: st.schedule.temporary().to_vec(),
            created_by: st.created_by.to_string(),
            created_at: st.created_at.to_string(),
            updated_at: st.updated_at.to_string(),
            events: st.last_seq,
            history: st.history.iter().map(HistoryView::from).collect(),
        }
    }
}

/// One schedule in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleListItem {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    pub description: Option<String>,
    pub time_zone: String,
    pub layers: usize,
    pub overrides: usize,
    pub temporary: usize,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleList {
    pub schedules: Vec<ScheduleListItem>,
}

/// Who is on call at a time.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OnCallView {
    #[schema(value_type = ResourceName)]
    pub schedule: String,
    #[schema(value_type = Timestamp)]
    pub at: String,
    /// Sorted by name; empty when nobody is.
    #[schema(value_type = Vec<UserName>)]
    pub users: Vec<String>,
}

/// The final shifts (and gaps) of a span.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ShiftsView {
    #[schema(value_type = ResourceName)]
    pub schedule: String,
    #[schema(value_type = Timestamp)]
    pub from: String,
    #[schema(value_type = Timestamp)]
    pub to: String,
    /// Who is on call when, and why; spans with nobody are in `gaps`.
    pub shifts: Vec<Shift>,
    /// Spans with nobody on call.
    pub gaps: Vec<Gap>,
}

impl ApiStream for ScheduleState {
    const PARAM: &'static str = "schedule";
    type View = ScheduleView;
    fn view(_: &App, st: &ScheduleState) -> ScheduleView {
        ScheduleView::from(st)
    }
}

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/schedules", post(create).get(list))
        .route("/schedules/{schedule}", get(show_schedule))
        .route("/schedules/{schedule}/oncall", get(on_call))
        .route("/schedules/{schedule}/shifts", get(shifts))
        .route(
            "/schedules/{schedule}/layers",
            post(command::<ScheduleState, AddLayerRequest>),
        )
        .route(
            "/schedules/{schedule}/layers/replace",
            post(command::<ScheduleState, ReplaceLayerRequest>),
        )
        .route(
            "/schedules/{schedule}/layers/remove",
            post(command::<ScheduleState, RemoveLayerRequest>),
        )
        .route(
            "/schedules/{schedule}/overrides",
            post(command::<ScheduleState, AddOverrideRequest>),
        )
        .route(
            "/schedules/{schedule}/overrides/remove",
            post(command::<ScheduleState, RemoveOverrideRequest>),
        )
        .route(
            "/schedules/{schedule}/temporary",
            post(command::<ScheduleState, AddTemporaryRequest>),
        )
        .route(
            "/schedules/{schedule}/temporary/remove",
            post(command::<ScheduleState, RemoveTemporaryRequest>),
        )
}

/// A new schedule: its name, zone and definition (the definition file's shape).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScheduleRequest {
    /// Unique among schedules.
    #[schema(value_type = ResourceName)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// An IANA time zone name, spelled as the database spells it.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    /// Lowest first (at most 20).
    #[serde(default)]
    pub layers: Vec<Layer>,
    #[serde(default)]
    pub overrides: Vec<Override>,
    #[serde(default)]
    pub temporary: Vec<TemporarySchedule>,
}

#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules",
    request_body = CreateScheduleRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    responses((status = 201, body = ScheduleView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    req: CommandBody<CreateScheduleRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(None);
    let b = req.body;
    let create = CreateSchedule {
        name: b.name,
        description: b.description,
        time_zone: b.time_zone,
        layers: b.layers,
        overrides: b.overrides,
        temporary: b.temporary,
    };
    let renderer =
        |e: &palisade_app::Executed<ScheduleState>| super::json_of(&ScheduleView::from(&e.state));
    let outcome = app
        .create_schedule(caller.actor(), create, &opts, Some(&renderer))
        .await?;
    Ok(answer(&app, StatusCode::CREATED, outcome))
}

fn limit(q: &HashMap<String, String>) -> Result<u32, Problem> {
    super::limit(q, 1000)
}

#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most this many (default 1000)")),
    responses((status = 200, body = ScheduleList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    _caller: Caller,
    query: StrictQuery,
) -> Result<Json<ScheduleList>, Problem> {
    let q = query.only(&["limit"])?;
    let limit = limit(&q)?;
    Ok(Json(ScheduleList {
        schedules: app
            .list_schedules(limit)
            .await?
            .into_iter()
            .map(|s| ScheduleListItem {
                id: s.id,
                name: s.name,
                description: s.description,
                time_zone: s.time_zone,
                layers: s.layers,
                overrides: s.overrides,
                temporary: s.temporary,
                updated_at: s.updated_at,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/schedules/{schedule}", tag = "schedules",
    params(("schedule" = String, Path, description = "id or name")),
    responses((status = 200, body = ScheduleView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn show_schedule(
    State(app): State<App>,
    caller: Caller,
    Path(schedule): Path<String>,
) -> Result<Json<ScheduleView>, Problem> {
    show::<ScheduleState>(&app, &caller, &schedule, "schedule").await
}

fn instant(q: &HashMap<String, String>, name: &str) -> Result<Option<Instant>, Problem> {
    q.get(name)
        .map(|v| parse_instant(v).map_err(|e| Problem::unprocessable(format!("`{name}`: {e}"))))
        .transpose()
}

fn required(q: &HashMap<String, String>, name: &str) -> Result<Instant, Problem> {
    instant(q, name)?
        .ok_or_else(|| Problem::unprocessable(format!("`{name}` is required (an RFC 3339 time)")))
}

#[utoipa::path(get, path = "/api/v1/schedules/{schedule}/oncall", tag = "schedules",
    params(("schedule" = String, Path, description = "id or name"),
           ("at" = Option<String>, Query, format = DateTime, description = "when (RFC 3339; default now)")),
    responses((status = 200, body = OnCallView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn on_call(
    State(app): State<App>,
    caller: Caller,
    Path(schedule): Path<String>,
    query: StrictQuery,
) -> Result<Json<OnCallView>, Problem> {
    let q = query.only(&["at"])?;
    let at = match instant(&q, "at")? {
        Some(at) => at,
        None => palisade_core::schedule::instant_of(palisade_app::now()),
    };
    let (st, users) = app.on_call(caller.actor(), &schedule, at).await?;
    Ok(Json(OnCallView {
        schedule: st.name.to_string(),
        at: at.to_string(),
        users: users.iter().map(UserName::to_string).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/schedules/{schedule}/shifts", tag = "schedules",
    params(("schedule" = String, Path, description = "id or name"),
           ("from" = String, Query, format = DateTime, description = "start of the span (RFC 3339)"),
           ("to" = String, Query, format = DateTime, description = "end of the span (RFC 3339; at most 400 days after `from`)")),
    responses((status = 200, body = ShiftsView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn shifts(
    State(app): State<App>,
    caller: Caller,
    Path(schedule): Path<String>,
    query: StrictQuery,
) -> Result<Json<ShiftsView>, Problem> {
    let q = query.only(&["from", "to"])?;
    let (from, to) = (required(&q, "from")?, required(&q, "to")?);
    let (st, shifts) = app.shifts(caller.actor(), &schedule, from, to).await?;
    let (_, gaps) = app.gaps(caller.actor(), &schedule, from, to).await?;
    Ok(Json(ShiftsView {
        schedule: st.name.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        shifts,
        gaps,
    }))
}

/// A layer on top of the others.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLayerRequest {
    pub layer: Layer,
}

/// Layer `index` (0 is the lowest) replaced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceLayerRequest {
    #[schema(minimum = 0)]
    pub index: usize,
    pub layer: Layer,
}

/// The layer, override or temporary schedule at `index` (from 0) removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveAtRequest {
    #[schema(minimum = 0)]
    pub index: usize,
}

/// The same body for layers.
pub type RemoveLayerRequest = RemoveAt<0>;
/// The same body for overrides.
pub type RemoveOverrideRequest = RemoveAt<1>;
/// The same body for temporary schedules.
pub type RemoveTemporaryRequest = RemoveAt<2>;

/// `{"index": n}` for part `P` (0 layers, 1 overrides, 2 temporary schedules).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveAt<const P: u8> {
    pub index: usize,
}

impl<const P: u8> IntoCommand<ScheduleState> for RemoveAt<P> {
    fn into_command(self, _: &PathArgs) -> Result<(ScheduleCommand, Option<Timestamp>), Problem> {
        let index = self.index;
        Ok((
            match P {
                0 => ScheduleCommand::RemoveLayer { index },
                1 => ScheduleCommand::RemoveOverride { index },
                _ => ScheduleCommand::RemoveTemporary { index },
            },
            None,
        ))
    }
}

/// An override after the others: `replace` (the user alone), `add` (the user too) or `remove`
/// (not the user), from `from` to `to`.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct AddOverrideRequest(pub Override);

/// A temporary schedule: within `[from, to)` its shifts replace the layers.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct AddTemporaryRequest(pub TemporarySchedule);

impl IntoCommand<ScheduleState> for AddLayerRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ScheduleCommand, Option<Timestamp>), Problem> {
        Ok((ScheduleCommand::AddLayer { layer: self.layer }, None))
    }
}
impl IntoCommand<ScheduleState> for ReplaceLayerRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ScheduleCommand, Option<Timestamp>), Problem> {
        Ok((
            ScheduleCommand::ReplaceLayer {
                index: self.index,
                layer: self.layer,
            },
            None,
        ))
    }
}
impl IntoCommand<ScheduleState> for AddOverrideRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ScheduleCommand, Option<Timestamp>), Problem> {
        Ok((ScheduleCommand::AddOverride { entry: self.0 }, None))
    }
}
impl IntoCommand<ScheduleState> for AddTemporaryRequest {
    fn into_command(self, _: &PathArgs) -> Result<(ScheduleCommand, Option<Timestamp>), Problem> {
        Ok((ScheduleCommand::AddTemporary { temporary: self.0 }, None))
    }
}

/// Documentation of the command routes, which share one handler ([`command`]).
pub mod docs {
    use super::*;

    macro_rules! schedule_command_doc {
        ($name:ident, $path:literal, $body:ty, $summary:literal) => {
            #[doc = $summary]
            #[utoipa::path(post, path = $path, tag = "schedules", request_body = $body,
                params(("schedule" = String, Path, description = "id or name"),
                       ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
                responses((status = 200, body = ScheduleView),
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

    schedule_command_doc!(
        add_layer,
        "/api/v1/schedules/{schedule}/layers",
        AddLayerRequest,
        "Add a layer on top of the others (its participants must exist)."
    );
    schedule_command_doc!(
        replace_layer,
        "/api/v1/schedules/{schedule}/layers/replace",
        ReplaceLayerRequest,
        "Replace a layer (by position, 0 the lowest)."
    );
    schedule_command_doc!(
        remove_layer,
        "/api/v1/schedules/{schedule}/layers/remove",
        RemoveAtRequest,
        "Remove a layer (by position); the layers above move down one."
    );
    schedule_command_doc!(
        add_override,
        "/api/v1/schedules/{schedule}/overrides",
        Override,
        "Add an override after the others (its user must exist)."
    );
    schedule_command_doc!(
        remove_override,
        "/api/v1/schedules/{schedule}/overrides/remove",
        RemoveAtRequest,
        "Remove an override (by position)."
    );
    schedule_command_doc!(
        add_temporary,
        "/api/v1/schedules/{schedule}/temporary",
        TemporarySchedule,
        "Add a temporary schedule: within its span its shifts replace the layers."
    );
    schedule_command_doc!(
        remove_temporary,
        "/api/v1/schedules/{schedule}/temporary/remove",
        RemoveAtRequest,
        "Remove a temporary schedule (by position)."
    );
}
