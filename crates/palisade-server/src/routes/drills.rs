//! `/drills`: start a drill of a shipped scenario; `/incidents/{incident}/drill/tick` releases
//! what is due; `/incidents/{incident}/drill/debrief` scores it from the ledger; `/playbooks`
//! lists playbooks with their last review and last test. The drill itself is an incident: every
//! command of the team goes through the incident routes and the one pipeline.

use super::incidents::incident_view;
use crate::extract::{ApiJson, Caller, StrictQuery};
use crate::problem::Problem;
use crate::views::{DrillView, IncidentView, InjectedView};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::App;
use palisade_app::drills::{DebriefFormat, DrillStart};
use palisade_core::UserName;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/drills", post(start))
        .route("/incidents/{incident}/drill/tick", post(tick))
        .route("/incidents/{incident}/drill/debrief", get(debrief))
        .route("/playbooks", get(playbooks))
}

/// A drill to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartDrillRequest {
    /// A shipped scenario's id (`leaked-cloud-key`, `compromised-dependency`,
    /// `insider-exfiltration`); or give `scenario_yaml`.
    #[serde(default)]
    pub scenario: String,
    /// A scenario file of your own (YAML, at most 256 KiB; the format of docs/training.md),
    /// instead of a shipped one. It is kept on the drill's ledger.
    #[serde(default)]
    pub scenario_yaml: Option<String>,
    /// A team whose members take part.
    #[serde(default)]
    pub team: Option<String>,
    /// Further participants by user name (whoever starts the drill always takes part).
    #[serde(default)]
    #[schema(value_type = Vec<UserName>)]
    pub participants: Vec<String>,
}

/// A drill started: its incident, and what was released at once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DrillStarted {
    pub incident: IncidentView,
    pub released: Vec<InjectedView>,
}

/// Release what is due: now, or once `elapsed` of the drill has passed.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TickRequest {
    /// Move the drill on: release what falls due within this long of its start (`30m`, `3h`).
    #[serde(default)]
    pub elapsed: Option<String>,
}

/// What a tick released, and the drill as it stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TickAnswer {
    pub released: Vec<InjectedView>,
    pub drill: DrillView,
}

/// A playbook's review and test dates.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlaybookListItem {
    pub id: String,
    pub name: String,
    pub version: u32,
    /// `YYYY-MM-DD`, as written in the playbook.
    pub last_reviewed: Option<String>,
    /// `YYYY-MM-DD`: the newest drill of it, or the playbook's own date if later.
    pub last_tested: Option<String>,
    /// When the next test is due (`YYYY-MM-DD`), if it was ever tested.
    pub next_test_due: Option<String>,
    /// Untested for longer than the period (or never).
    pub flagged: bool,
    /// Reviewed after its last test.
    pub reviewed_since_tested: bool,
    /// In words.
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlaybookList {
    /// The period, in days, a test stays good.
    pub period_days: u32,
    pub playbooks: Vec<PlaybookListItem>,
}

fn users(names: &[String]) -> Result<Vec<UserName>, Problem> {
    names
        .iter()
        .map(|n| {
            UserName::parse(n).map_err(|e| Problem::unprocessable(format!("participant: {e}")))
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/drills", tag = "drills",
    request_body = StartDrillRequest,
    responses((status = 201, body = DrillStarted), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn start(
    State(app): State<App>,
    caller: Caller,
    ApiJson(req): ApiJson<StartDrillRequest>,
) -> Result<Response, Problem> {
    if req.scenario.is_empty() == req.scenario_yaml.is_none() {
        return Err(Problem::unprocessable(
            "name a shipped scenario (`scenario`) or give a scenario file (`scenario_yaml`), not both",
        ));
    }
    let start = DrillStart {
        scenario: req.scenario,
        source: req.scenario_yaml,
        team: req.team,
        participants: users(&req.participants)?,
    };
    let (st, released) = app.start_drill(caller.actor(), start).await?;
    let body = DrillStarted {
        incident: incident_view(&app, &st),
        released: released.iter().map(InjectedView::from).collect(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/drill/tick", tag = "drills",
    request_body = TickRequest,
    params(("incident" = String, Path, description = "id or codename of a drill")),
    responses((status = 200, body = TickAnswer), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn tick(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<TickRequest>,
) -> Result<Json<TickAnswer>, Problem> {
    let until = match req.elapsed {
        Some(u) => Some(
            u.parse::<palisade_app::drills::Dur>()
                .map_err(|e| Problem::unprocessable(format!("elapsed: {e}")))?,
        ),
        None => None,
    };
    let released = app.drill_tick(caller.actor(), &incident, until).await?;
    let st = app
        .load_visible::<palisade_core::IncidentState>(caller.actor(), &incident)
        .await?;
    let drill = DrillView::of(&st)
        .ok_or_else(|| Problem::unprocessable(format!("{} is not a drill", st.codename)))?;
    Ok(Json(TickAnswer {
        released: released.iter().map(InjectedView::from).collect(),
        drill,
    }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/drill/debrief", tag = "drills",
    params(("incident" = String, Path, description = "id or codename of a drill"),
           ("format" = Option<String>, Query, description = "markdown (default) or html")),
    responses((status = 200, description = "The debrief: score, step times, cadence, custody, expectations, compared with earlier runs of the scenario",
            content((String = "text/markdown"), (String = "text/html"))),
        (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn debrief(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
    query: StrictQuery,
) -> Result<Response, Problem> {
    let q = query.only(&["format"])?;
    let (format, content_type) = match q.get("format").map(String::as_str) {
        None | Some("markdown" | "md") => (DebriefFormat::Markdown, "text/markdown; charset=utf-8"),
        Some("html") => (DebriefFormat::Html, "text/html; charset=utf-8"),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "unknown format {other:?}; use markdown or html"
            )));
        }
    };
    let (_, text) = app.drill_debrief(caller.actor(), &incident, format).await?;
    let mut resp = (StatusCode::OK, text).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}

#[utoipa::path(get, path = "/api/v1/playbooks", tag = "drills",
    params(("period_days" = Option<u32>, Query, description = "days a test stays good (default 180)")),
    responses((status = 200, body = PlaybookList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn playbooks(
    State(app): State<App>,
    caller: Caller,
    query: StrictQuery,
) -> Result<Json<PlaybookList>, Problem> {
    let q = query.only(&["period_days"])?;
    let period_days = match q.get("period_days") {
        None => palisade_app::drills::DEFAULT_PERIOD_DAYS,
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| Problem::bad_request("period_days is a whole number from 1 to 3650"))?,
    };
    let list = app.playbook_status(caller.actor(), period_days).await?;
    Ok(Json(PlaybookList {
        period_days,
        playbooks: list
            .into_iter()
            .map(|p| PlaybookListItem {
                flagged: p.status.is_flagged(),
                reviewed_since_tested: p.status.reviewed_since_tested,
                next_test_due: p.status.due.map(palisade_core::comms::format_date),
                status: p.status.describe(),
                id: p.id,
                name: p.name,
                version: p.version,
                last_reviewed: p.last_reviewed,
                last_tested: p.last_tested,
            })
            .collect(),
    }))
}
