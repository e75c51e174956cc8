//! `/escalation-policies`: create, list, show; replace the levels, rename, set the repeat count
//! and whether paging goes on after the first acknowledgement. Commands go through the generic
//! handler; the users and schedules levels name must exist.

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
use palisade_core::escalation::{
    CreateEscalation, EscalationCommand, EscalationState, Level, MAX_REPEAT,
};
use palisade_core::types::{ResourceName, UserName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// An escalation policy with its history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EscalationView {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    pub description: Option<String>,
    /// In order; each level's targets are paged its delay after the previous level's.
    pub levels: Vec<Level>,
    /// How many times the levels are gone through again when nobody acknowledges (0–9).
    #[schema(minimum = 0, maximum = 9)]
    pub repeat: u8,
    /// Keep paging everyone on the level after the first acknowledgement.
    pub keep_paging_after_ack: bool,
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

impl From<&EscalationState> for EscalationView {
    fn from(st: &EscalationState) -> Self {
        EscalationView {
            id: st.id,
            name: st.name.to_string(),
            description: st.description.clone(),
            levels: st.levels.clone(),
            repeat: st.repeat,
            keep_paging_after_ack: st.keep_paging_after_ack,
            created_by: st.created_by.to_string(),
            created_at: st.created_at.to_string(),
            updated_at: st.updated_at.to_string(),
            events: st.last_seq,
            history: st.history.iter().map(HistoryView::from).collect(),
        }
    }
}

/// One policy in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EscalationListItem {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    pub description: Option<String>,
    pub levels: usize,
    pub repeat: u8,
    pub keep_paging_after_ack: bool,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EscalationList {
    pub escalation_policies: Vec<EscalationListItem>,
}

impl ApiStream for EscalationState {
    const PARAM: &'static str = "policy";
    type View = EscalationView;
    fn view(_: &App, st: &EscalationState) -> EscalationView {
        EscalationView::from(st)
    }
}

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/escalation-policies", post(create).get(list))
        .route("/escalation-policies/{policy}", get(show_policy))
        .route(
            "/escalation-policies/{policy}/levels",
            post(command::<EscalationState, SetLevelsRequest>),
        )
        .route(
            "/escalation-policies/{policy}/rename",
            post(command::<EscalationState, RenamePolicyRequest>),
        )
        .route(
            "/escalation-policies/{policy}/settings",
            post(command::<EscalationState, SettingsRequest>),
        )
}

/// A new escalation policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEscalationRequest {
    /// Unique among escalation policies.
    #[schema(value_type = ResourceName)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// 1–10 levels.
    pub levels: Vec<Level>,
    /// 0–9 (default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9)]
    pub repeat: u8,
    /// Default false: the first acknowledgement stops the paging.
    #[serde(default)]
    pub keep_paging_after_ack: bool,
}

#[utoipa::path(post, path = "/api/v1/escalation-policies", tag = "escalation-policies",
    request_body = CreateEscalationRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    responses((status = 201, body = EscalationView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    req: CommandBody<CreateEscalationRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(None);
    let b = req.body;
    let create = CreateEscalation {
        name: b.name,
        description: b.description,
        levels: b.levels,
        repeat: b.repeat,
        keep_paging_after_ack: b.keep_paging_after_ack,
    };
    let renderer = |e: &palisade_app::Executed<EscalationState>| {
        super::json_of(&EscalationView::from(&e.state))
    };
    let outcome = app
        .create_escalation(caller.actor(), create, &opts, Some(&renderer))
        .await?;
    Ok(answer(&app, StatusCode::CREATED, outcome))
}

#[utoipa::path(get, path = "/api/v1/escalation-policies", tag = "escalation-policies",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most this many (default 1000)")),
    responses((status = 200, body = EscalationList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    _caller: Caller,
    query: StrictQuery,
) -> Result<Json<EscalationList>, Problem> {
    let q = query.only(&["limit"])?;
    let limit = super::limit(&q, 1000)?;
    Ok(Json(EscalationList {
        escalation_policies: app
            .list_escalations(limit)
            .await?
            .into_iter()
            .map(|s| EscalationListItem {
                id: s.id,
                name: s.name,
                description: s.description,
                levels: s.levels,
                repeat: s.repeat,
                keep_paging_after_ack: s.keep_paging_after_ack,
                updated_at: s.updated_at,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/escalation-policies/{policy}", tag = "escalation-policies",
    params(("policy" = String, Path, description = "id or name")),
    responses((status = 200, body = EscalationView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn show_policy(
    State(app): State<App>,
    caller: Caller,
    Path(policy): Path<String>,
) -> Result<Json<EscalationView>, Problem> {
    show::<EscalationState>(&app, &caller, &policy, "escalation policy").await
}

/// The policy's levels, all replaced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLevelsRequest {
    pub levels: Vec<Level>,
}

/// A new name (unique among escalation policies).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenamePolicyRequest {
    #[schema(value_type = ResourceName)]
    pub name: String,
}

/// The repeat count and/or the flag (at least one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9)]
    pub repeat: Option<u8>,
    #[serde(default)]
    pub keep_paging_after_ack: Option<bool>,
}

impl IntoCommand<EscalationState> for SetLevelsRequest {
    fn into_command(self, _: &PathArgs) -> Result<(EscalationCommand, Option<Timestamp>), Problem> {
        Ok((
            EscalationCommand::SetLevels {
                levels: self.levels,
            },
            None,
        ))
    }
}
impl IntoCommand<EscalationState> for RenamePolicyRequest {
    fn into_command(self, _: &PathArgs) -> Result<(EscalationCommand, Option<Timestamp>), Problem> {
        Ok((EscalationCommand::Rename { name: self.name }, None))
    }
}
impl IntoCommand<EscalationState> for SettingsRequest {
    fn into_command(self, _: &PathArgs) -> Result<(EscalationCommand, Option<Timestamp>), Problem> {
        if self.repeat.is_none() && self.keep_paging_after_ack.is_none() {
            return Err(Problem::unprocessable(format!(
                "give `repeat` (0–{MAX_REPEAT}), `keep_paging_after_ack`, or both"
            )));
        }
        Ok((
            EscalationCommand::Configure {
                repeat: self.repeat,
                keep_paging_after_ack: self.keep_paging_after_ack,
            },
            None,
        ))
    }
}

/// Documentation of the command routes, which share one handler ([`command`]).
pub mod docs {
    use super::*;

    macro_rules! policy_command_doc {
        ($name:ident, $path:literal, $body:ty, $summary:literal) => {
            #[doc = $summary]
            #[utoipa::path(post, path = $path, tag = "escalation-policies", request_body = $body,
                params(("policy" = String, Path, description = "id or name"),
                       ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
                responses((status = 200, body = EscalationView),
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

    policy_command_doc!(
        set_levels,
        "/api/v1/escalation-policies/{policy}/levels",
        SetLevelsRequest,
        "Replace the levels (their users and schedules must exist)."
    );
    policy_command_doc!(
        rename,
        "/api/v1/escalation-policies/{policy}/rename",
        RenamePolicyRequest,
        "Rename the policy (the new name must be free)."
    );
    policy_command_doc!(
        settings,
        "/api/v1/escalation-policies/{policy}/settings",
        SettingsRequest,
        "Set the repeat count and/or whether paging goes on after the first acknowledgement."
    );
}
