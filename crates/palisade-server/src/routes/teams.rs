//! `/teams`: create, list, show; add a member (or change a member's role), remove one, rename.
//! Commands go through the generic handler; members must be users.

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
use palisade_core::team::{CreateTeam, TeamCommand, TeamRole, TeamState};
use palisade_core::types::{ResourceName, UserName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A member of a team.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamMemberView {
    #[schema(value_type = UserName)]
    pub user: String,
    pub role: TeamRole,
}

/// A team with its members and history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamView {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    pub description: Option<String>,
    /// By name.
    pub members: Vec<TeamMemberView>,
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

impl From<&TeamState> for TeamView {
    fn from(st: &TeamState) -> Self {
        TeamView {
            id: st.id,
            name: st.name.to_string(),
            description: st.description.clone(),
            members: st
                .members
                .iter()
                .map(|(u, r)| TeamMemberView {
                    user: u.to_string(),
                    role: *r,
                })
                .collect(),
            created_by: st.created_by.to_string(),
            created_at: st.created_at.to_string(),
            updated_at: st.updated_at.to_string(),
            events: st.last_seq,
            history: st.history.iter().map(HistoryView::from).collect(),
        }
    }
}

/// One team in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamListItem {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    pub description: Option<String>,
    pub members: usize,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamList {
    pub teams: Vec<TeamListItem>,
}

impl ApiStream for TeamState {
    const PARAM: &'static str = "team";
    type View = TeamView;
    fn view(_: &App, st: &TeamState) -> TeamView {
        TeamView::from(st)
    }
}

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/teams", post(create).get(list))
        .route("/teams/{team}", get(show_team))
        .route(
            "/teams/{team}/members",
            post(command::<TeamState, MemberRequest>),
        )
        .route(
            "/teams/{team}/members/remove",
            post(command::<TeamState, RemoveMemberRequest>),
        )
        .route(
            "/teams/{team}/rename",
            post(command::<TeamState, RenameTeamRequest>),
        )
}

/// A new team (members are added afterwards).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    /// Unique among teams.
    #[schema(value_type = ResourceName)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "teams",
    request_body = CreateTeamRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    responses((status = 201, body = TeamView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    req: CommandBody<CreateTeamRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(None);
    let create = CreateTeam {
        name: req.body.name,
        description: req.body.description,
    };
    let renderer =
        |e: &palisade_app::Executed<TeamState>| super::json_of(&TeamView::from(&e.state));
    let outcome = app
        .create_team(caller.actor(), create, &opts, Some(&renderer))
        .await?;
    Ok(answer(&app, StatusCode::CREATED, outcome))
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "teams",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most this many (default 1000)")),
    responses((status = 200, body = TeamList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    _caller: Caller,
    query: StrictQuery,
) -> Result<Json<TeamList>, Problem> {
    let q = query.only(&["limit"])?;
    let limit = super::limit(&q, 1000)?;
    Ok(Json(TeamList {
        teams: app
            .list_teams(limit)
            .await?
            .into_iter()
            .map(|t| TeamListItem {
                id: t.id,
                name: t.name,
                description: t.description,
                members: t.members,
                updated_at: t.updated_at,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}", tag = "teams",
    params(("team" = String, Path, description = "id or name")),
    responses((status = 200, body = TeamView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn show_team(
    State(app): State<App>,
    caller: Caller,
    Path(team): Path<String>,
) -> Result<Json<TeamView>, Problem> {
    show::<TeamState>(&app, &caller, &team, "team").await
}

/// A user joins with a role, or a member's role changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    #[schema(value_type = UserName)]
    pub user: UserName,
    /// Default `member`.
    #[serde(default = "member")]
    pub role: TeamRole,
}

fn member() -> TeamRole {
    TeamRole::Member
}

/// A member leaves.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveMemberRequest {
    #[schema(value_type = UserName)]
    pub user: UserName,
}

/// A new name (unique among teams).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameTeamRequest {
    #[schema(value_type = ResourceName)]
    pub name: String,
}

impl IntoCommand<TeamState> for MemberRequest {
    fn into_command(self, _: &PathArgs) -> Result<(TeamCommand, Option<Timestamp>), Problem> {
        Ok((
            TeamCommand::SetMember {
                user: self.user,
                role: self.role,
            },
            None,
        ))
    }
}
impl IntoCommand<TeamState> for RemoveMemberRequest {
    fn into_command(self, _: &PathArgs) -> Result<(TeamCommand, Option<Timestamp>), Problem> {
        Ok((TeamCommand::RemoveMember { user: self.user }, None))
    }
}
impl IntoCommand<TeamState> for RenameTeamRequest {
    fn into_command(self, _: &PathArgs) -> Result<(TeamCommand, Option<Timestamp>), Problem> {
        Ok((TeamCommand::Rename { name: self.name }, None))
    }
}

/// Documentation of the command routes, which share one handler ([`command`]).
pub mod docs {
    use super::*;

    macro_rules! team_command_doc {
        ($name:ident, $path:literal, $body:ty, $summary:literal) => {
            #[doc = $summary]
            #[utoipa::path(post, path = $path, tag = "teams", request_body = $body,
                params(("team" = String, Path, description = "id or name"),
                       ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
                responses((status = 200, body = TeamView),
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

    team_command_doc!(
        set_member,
        "/api/v1/teams/{team}/members",
        MemberRequest,
        "Add a member with a role (member or manager), or change a member's role."
    );
    team_command_doc!(
        remove_member,
        "/api/v1/teams/{team}/members/remove",
        RemoveMemberRequest,
        "Remove a member."
    );
    team_command_doc!(
        rename,
        "/api/v1/teams/{team}/rename",
        RenameTeamRequest,
        "Rename the team (the new name must be free)."
    );
}
