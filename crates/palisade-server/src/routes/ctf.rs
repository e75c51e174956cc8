//! `/ctf`: CTF events. Admins set one up from challenge files (the authoring format of
//! `palisade ctf check`, flags hashed), register teams and freeze the scoreboard; players
//! register themselves (individuals), submit flags and unlock hints for their account. Commands
//! go through the generic handler; the scoreboard is computed from the folded event.
//!
//! What players never see: flags (hashed or patterns), wrong answers, hidden accounts, hint
//! texts they did not unlock, and after the freeze the live board (admins only).

use super::{ApiStream, IntoCommand, PathArgs, answer, command};
use crate::extract::{Caller, CommandBody, StrictQuery};
use crate::problem::Problem;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::ctf::AttachmentUpload;
use palisade_app::{App, Executed};
use palisade_core::types::{ResourceName, UserName};
use palisade_core::{AccountRole, Timestamp};
use palisade_training::ctf::challenge::Challenge;
use palisade_training::ctf::scoreboard::View;
use palisade_training::ctf::stream::{CreateCtf, CtfCommand, CtfEventState, CtfPayload};
use palisade_training::ctf::{EventConfig, Mode, RateLimit};
use palisade_training::duration::Dur;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Whether players compete alone or in teams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CtfMode {
    Individuals,
    Teams,
}

impl From<Mode> for CtfMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Individuals => CtfMode::Individuals,
            Mode::Teams => CtfMode::Teams,
        }
    }
}

/// A challenge as players see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CtfChallengeView {
    pub id: String,
    pub name: String,
    pub category: String,
    pub description: String,
    /// Its value now (dynamic challenges fall with solves; after the freeze, as it stood then).
    pub value: u32,
    /// Solves by visible accounts (before the freeze, once frozen).
    pub solves: u64,
    /// Challenges to solve first.
    pub prerequisites: Vec<String>,
    /// Files handed to players: their names, as the download route takes them
    /// (`GET …/challenges/{id}/attachments/{name}`, the name percent-encoded).
    pub attachments: Vec<String>,
    /// What each hint costs, in order (`POST …/hints` with its position unlocks it).
    pub hint_costs: Vec<u32>,
    /// Most wrong answers an account may give, if limited.
    pub max_attempts: Option<u32>,
}

/// An account (a team or a player).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CtfAccountView {
    pub id: String,
    pub name: String,
    #[schema(value_type = Vec<UserName>)]
    pub members: Vec<String>,
}

/// What the command just done came to, for its caller.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CtfResult {
    /// `registered`, `submitted`, `hint_unlocked` or `freeze_set`.
    pub kind: String,
    pub account: Option<String>,
    pub challenge: Option<String>,
    /// A submission: whether the flag was right.
    pub correct: Option<bool>,
    /// An unlocked hint: its text.
    pub hint: Option<String>,
}

/// A CTF event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CtfView {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    #[schema(value_type = Timestamp)]
    pub start: String,
    #[schema(value_type = Timestamp)]
    pub end: String,
    /// When the public scoreboard stops moving.
    #[schema(value_type = Option<Timestamp>)]
    pub freeze: Option<String>,
    pub mode: CtfMode,
    /// Wrong answers allowed per account and challenge within `rate_limit_seconds`.
    pub rate_limit_wrong: u32,
    pub rate_limit_seconds: u64,
    /// Whether it runs now.
    pub running: bool,
    pub challenges: Vec<CtfChallengeView>,
    /// Visible accounts.
    pub accounts: Vec<CtfAccountView>,
    #[schema(value_type = UserName)]
    pub created_by: String,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
    /// Number of ledger events.
    pub events: u64,
    /// The outcome of the command answered with this view.
    pub result: Option<CtfResult>,
}

fn view_of(st: &CtfEventState, now: Timestamp) -> CtfView {
    let c = &st.ctf.config;
    let cutoff = c.freeze.filter(|f| now >= *f);
    let values = st.ctf.values(&st.state, cutoff);
    CtfView {
        id: st.id,
        name: st.name.to_string(),
        start: c.start.to_string(),
        end: c.end.to_string(),
        freeze: c.freeze.map(|f| f.to_string()),
        mode: c.mode.into(),
        rate_limit_wrong: c.rate_limit.max_wrong,
        rate_limit_seconds: c.rate_limit.per.as_secs(),
        running: st.running(now),
        challenges: st
            .ctf
            .challenges
            .iter()
            .map(|ch| CtfChallengeView {
                id: ch.id.clone(),
                name: ch.name.clone(),
                category: ch.category.clone(),
                description: ch.description.clone(),
                value: values.get(&ch.id).copied().unwrap_or(0),
                solves: st.state.solve_count(&ch.id, cutoff),
                prerequisites: ch.prerequisites.clone(),
                attachments: ch.attachments.clone(),
                hint_costs: ch.hints.iter().map(|h| h.cost).collect(),
                max_attempts: ch.max_attempts,
            })
            .collect(),
        accounts: st
            .state
            .accounts
            .iter()
            .filter(|a| !a.hidden)
            .map(|a| CtfAccountView {
                id: a.id.clone(),
                name: a.name.clone(),
                members: a.members.clone(),
            })
            .collect(),
        created_by: st.created_by.to_string(),
        updated_at: st.updated_at.to_string(),
        events: st.last_seq,
        result: None,
    }
}

impl ApiStream for CtfEventState {
    const PARAM: &'static str = "ctf";
    type View = CtfView;
    fn view(_: &App, st: &CtfEventState) -> CtfView {
        view_of(st, palisade_app::now())
    }
    /// The view, with what the command came to: a flag right or wrong, a hint's text (to the
    /// account that paid for it: the answer goes to its caller only).
    fn changed(_: &App, e: &Executed<CtfEventState>) -> CtfView {
        let mut v = view_of(&e.state, palisade_app::now());
        v.result = e.events.last().map(|ev| match &ev.data {
            CtfPayload::Registered { account } => CtfResult {
                kind: "registered".into(),
                account: Some(account.id.clone()),
                challenge: None,
                correct: None,
                hint: None,
            },
            CtfPayload::Submitted { submission } => CtfResult {
                kind: "submitted".into(),
                account: Some(submission.account.clone()),
                challenge: Some(submission.challenge.clone()),
                correct: Some(submission.correct),
                hint: None,
            },
            CtfPayload::HintUnlocked { unlock } => CtfResult {
                kind: "hint_unlocked".into(),
                account: Some(unlock.account.clone()),
                challenge: Some(unlock.challenge.clone()),
                correct: None,
                hint: e
                    .state
                    .ctf
                    .challenge(&unlock.challenge)
                    .and_then(|c| c.hints.get(unlock.hint))
                    .map(|h| h.text.clone()),
            },
            CtfPayload::FreezeSet { .. } | CtfPayload::Created { .. } => CtfResult {
                kind: ev.data.kind().into(),
                account: None,
                challenge: None,
                correct: None,
                hint: None,
            },
        });
        v
    }
}

/// One event in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CtfListItem {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    #[schema(value_type = Timestamp)]
    pub start: String,
    #[schema(value_type = Timestamp)]
    pub end: String,
    #[schema(value_type = Option<Timestamp>)]
    pub freeze: Option<String>,
    pub mode: CtfMode,
    pub challenges: usize,
    pub accounts: usize,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CtfList {
    pub events: Vec<CtfListItem>,
}

/// An account's line on the scoreboard.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CtfStandingView {
    pub rank: u32,
    pub account: String,
    pub name: String,
    pub score: i64,
    pub solves: u32,
    pub hint_costs: u32,
    #[schema(value_type = Option<Timestamp>)]
    pub last_solve_at: Option<String>,
}

/// A challenge on the scoreboard: its value and who solved it, first blood first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CtfBoardChallenge {
    pub id: String,
    pub name: String,
    pub value: u32,
    pub solvers: Vec<String>,
}

/// The scoreboard.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CtfScoreboardView {
    /// `public` (stops at the freeze) or `admin` (live).
    pub view: String,
    /// Set when this board stopped at the freeze.
    #[schema(value_type = Option<Timestamp>)]
    pub frozen_at: Option<String>,
    pub standings: Vec<CtfStandingView>,
    pub challenges: Vec<CtfBoardChallenge>,
}

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/ctf",
            post(create)
                .layer(DefaultBodyLimit::max(CREATE_LIMIT))
                .get(list),
        )
        .route("/ctf/{ctf}", get(show_ctf))
        .route("/ctf/{ctf}/scoreboard", get(scoreboard))
        .route(
            "/ctf/{ctf}/accounts",
            post(command::<CtfEventState, RegisterRequest>),
        )
        .route(
            "/ctf/{ctf}/submissions",
            post(command::<CtfEventState, SubmitRequest>),
        )
        .route(
            "/ctf/{ctf}/hints",
            post(command::<CtfEventState, HintRequest>),
        )
        .route(
            "/ctf/{ctf}/freeze",
            post(command::<CtfEventState, FreezeRequest>),
        )
        .route(
            "/ctf/{ctf}/challenges/{challenge}/attachments/{name}",
            get(attachment),
        )
}

/// The largest set-up request: every attachment (32 MiB in all) in base64, with the
/// challenge files.
const CREATE_LIMIT: usize = 48 * 1024 * 1024;

/// An attachment's content, as a challenge lists it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentBody {
    /// The name the challenge file lists (`attachments = [...]`).
    pub name: String,
    /// The content, base64 (standard alphabet, padded): at most 8 MiB decoded, 32 MiB for
    /// all of an event's attachments.
    pub content_base64: String,
}

/// A challenge file, as `palisade ctf check` reads it (TOML; flags hashed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeFile {
    /// Its name, for errors (`web-1.toml`).
    pub file: String,
    pub toml: String,
    /// The content of every attachment the challenge lists (the server refuses an event whose
    /// attachments are not all sent: players could not download them).
    #[serde(default)]
    pub attachments: Vec<AttachmentBody>,
}

/// A new event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCtfRequest {
    /// Unique among events.
    #[schema(value_type = ResourceName)]
    pub name: String,
    #[schema(value_type = Timestamp)]
    pub start: String,
    #[schema(value_type = Timestamp)]
    pub end: String,
    #[serde(default)]
    #[schema(value_type = Option<Timestamp>)]
    pub freeze: Option<String>,
    pub mode: CtfMode,
    /// Wrong answers allowed per account and challenge within `rate_limit_seconds` (default 10
    /// per 60).
    #[serde(default)]
    pub rate_limit_wrong: Option<u32>,
    #[serde(default)]
    pub rate_limit_seconds: Option<u64>,
    /// 1–500 challenge files.
    pub challenges: Vec<ChallengeFile>,
}

fn time(what: &str, s: &str) -> Result<Timestamp, Problem> {
    Timestamp::parse(s).map_err(|e| {
        Problem::unprocessable(format!("{what}: {e} (RFC 3339, e.g. 2026-05-01T09:00:00Z)"))
    })
}

impl CreateCtfRequest {
    fn into_create(self) -> Result<(CreateCtf, Vec<AttachmentUpload>), Problem> {
        use base64::Engine;
        if self.challenges.is_empty() || self.challenges.len() > 500 {
            return Err(Problem::unprocessable("an event holds 1–500 challenges"));
        }
        let mut challenges: Vec<Challenge> = Vec::with_capacity(self.challenges.len());
        let mut uploads = Vec::new();
        for f in self.challenges {
            let c = Challenge::from_toml(&f.file, &f.toml).map_err(|errs| {
                Problem::unprocessable(
                    errs.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            for a in f.attachments {
                let content = base64::engine::general_purpose::STANDARD
                    .decode(a.content_base64.as_bytes())
                    .map_err(|e| {
                        Problem::unprocessable(format!(
                            "{}: attachment {:?}: content_base64 is not base64 ({e})",
                            f.file, a.name
                        ))
                    })?;
                uploads.push(AttachmentUpload {
                    challenge: c.id.clone(),
                    name: a.name,
                    content,
                });
            }
            challenges.push(c);
        }
        let defaults = RateLimit::default();
        let create = CreateCtf {
            config: EventConfig {
                name: self.name,
                start: time("start", &self.start)?,
                end: time("end", &self.end)?,
                freeze: self
                    .freeze
                    .as_deref()
                    .map(|f| time("freeze", f))
                    .transpose()?,
                mode: match self.mode {
                    CtfMode::Individuals => Mode::Individuals,
                    CtfMode::Teams => Mode::Teams,
                },
                rate_limit: RateLimit {
                    max_wrong: self.rate_limit_wrong.unwrap_or(defaults.max_wrong),
                    per: self
                        .rate_limit_seconds
                        .map(Dur::seconds)
                        .unwrap_or(defaults.per),
                },
            },
            challenges,
            files: vec![],
        };
        Ok((create, uploads))
    }
}

#[utoipa::path(post, path = "/api/v1/ctf", tag = "training",
    request_body = CreateCtfRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    responses((status = 201, body = CtfView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// Set up a CTF event (admins) from challenge files whose flags are hashed, with the content
/// of their attachments (the request may be up to 48 MiB).
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    req: CommandBody<CreateCtfRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(None);
    let (create, uploads) = req.body.into_create()?;
    let renderer =
        |e: &Executed<CtfEventState>| super::json_of(&view_of(&e.state, palisade_app::now()));
    let outcome = app
        .create_ctf(caller.actor(), create, uploads, &opts, Some(&renderer))
        .await?;
    Ok(answer(&app, StatusCode::CREATED, outcome))
}

#[utoipa::path(get, path = "/api/v1/ctf", tag = "training",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most this many (default 1000)")),
    responses((status = 200, body = CtfList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// CTF events, the latest first.
pub async fn list(
    State(app): State<App>,
    _caller: Caller,
    query: StrictQuery,
) -> Result<Json<CtfList>, Problem> {
    let q = query.only(&["limit"])?;
    let limit = super::limit(&q, 1000)?;
    Ok(Json(CtfList {
        events: app
            .list_ctfs(limit)
            .await?
            .into_iter()
            .map(|e| CtfListItem {
                id: e.id,
                name: e.name,
                start: e.start,
                end: e.end,
                freeze: e.freeze,
                mode: e.mode.into(),
                challenges: e.challenges,
                accounts: e.accounts,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/ctf/{ctf}", tag = "training",
    params(("ctf" = String, Path, description = "id or name")),
    responses((status = 200, body = CtfView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// An event: its window, challenges (never their flags) and accounts.
pub async fn show_ctf(
    State(app): State<App>,
    caller: Caller,
    Path(ctf): Path<String>,
) -> Result<Json<CtfView>, Problem> {
    super::show::<CtfEventState>(&app, &caller, &ctf, "ctf").await
}

#[utoipa::path(get, path = "/api/v1/ctf/{ctf}/scoreboard", tag = "training",
    params(("ctf" = String, Path, description = "id or name"),
        ("view" = Option<String>, Query, description = "`public` (default: stops at the freeze) or `admin` (live; admins only)")),
    responses((status = 200, body = CtfScoreboardView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// The scoreboard: ranked by score, ties by who got there first; frozen for the public.
pub async fn scoreboard(
    State(app): State<App>,
    caller: Caller,
    Path(ctf): Path<String>,
    query: StrictQuery,
) -> Result<Json<CtfScoreboardView>, Problem> {
    let q = query.only(&["view"])?;
    let view = match q.get("view").map(String::as_str) {
        None | Some("public") => View::Public,
        Some("admin") if caller.actor().account_role == AccountRole::Admin => View::Admin,
        Some("admin") => {
            return Err(Problem::forbidden(
                "the live scoreboard is for admins; the public one stops at the freeze",
            ));
        }
        Some(other) => {
            return Err(Problem::unprocessable(format!(
                "view must be public or admin, not {other:?}"
            )));
        }
    };
    let st = app
        .read::<CtfEventState>(caller.actor(), &ctf, "ctf scoreboard", "api")
        .await?;
    let board = st.ctf.scoreboard(&st.state, palisade_app::now(), view);
    Ok(Json(CtfScoreboardView {
        view: match board.view {
            View::Public => "public".into(),
            View::Admin => "admin".into(),
        },
        frozen_at: board.frozen_at.map(|t| t.to_string()),
        standings: board
            .standings
            .iter()
            .filter(|s| view == View::Admin || !s.hidden)
            .map(|s| CtfStandingView {
                rank: s.rank,
                account: s.account.clone(),
                name: s.name.clone(),
                score: s.score,
                solves: s.solves,
                hint_costs: s.hint_costs,
                last_solve_at: s.last_solve_at.map(|t| t.to_string()),
            })
            .collect(),
        challenges: board
            .challenges
            .iter()
            .map(|c| CtfBoardChallenge {
                id: c.id.clone(),
                name: c.name.clone(),
                value: c.value,
                solvers: c.solvers.iter().map(|s| s.account.clone()).collect(),
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/ctf/{ctf}/challenges/{challenge}/attachments/{name}", tag = "training",
    params(("ctf" = String, Path, description = "id or name"),
        ("challenge" = String, Path, description = "the challenge's id"),
        ("name" = String, Path, description = "the attachment's name as the challenge lists it, percent-encoded (`logs%2Fa.log`)")),
    responses((status = 200, body = super::evidence::Binary, description = "the content, as it was when the event was set up (`Repr-Digest` carries its SHA-256)", content_type = "application/octet-stream"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// Download a challenge's attachment: players from the event's start (409 `ctf-not-open`
/// before), admins at any time. The content is checked against the SHA-256 the ledger
/// recorded; a changed file is never handed out.
pub async fn attachment(
    State(app): State<App>,
    caller: Caller,
    Path((ctf, challenge, name)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let a = app
        .ctf_attachment(caller.actor(), &ctf, &challenge, &name)
        .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(d) = super::evidence::repr_digest(&a.file.sha256) {
        headers.insert("repr-digest", d);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", a.download_name()))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, a.content).into_response())
}

/// A team or a player joins. Admins register anyone (teams, hidden test accounts); a player
/// registers only themself, alone (in individuals mode with their user name as the id).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 1–64 of a-z, 0-9, '-', '_', '.', unique in the event.
    pub id: String,
    /// 1–80 characters.
    pub name: String,
    #[schema(value_type = Vec<UserName>)]
    pub members: Vec<UserName>,
    /// An organiser's test account: counts for nothing, on no public board.
    #[serde(default)]
    pub hidden: bool,
}

/// A flag for a challenge, for an account the caller plays for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    pub account: String,
    pub challenge: String,
    /// 1–1,024 bytes.
    pub flag: String,
}

/// Unlock a hint (its position, from 0) for an account the caller plays for; it costs points.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HintRequest {
    pub account: String,
    pub challenge: String,
    pub hint: usize,
}

/// Freeze the public scoreboard at `at` (default now), or `unfreeze` it (admins).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeRequest {
    #[serde(default)]
    #[schema(value_type = Option<Timestamp>)]
    pub at: Option<String>,
    #[serde(default)]
    pub unfreeze: bool,
}

impl IntoCommand<CtfEventState> for RegisterRequest {
    fn into_command(self, _: &PathArgs) -> Result<(CtfCommand, Option<Timestamp>), Problem> {
        Ok((
            CtfCommand::Register {
                id: self.id,
                name: self.name,
                members: self.members,
                hidden: self.hidden,
            },
            None,
        ))
    }
}
impl IntoCommand<CtfEventState> for SubmitRequest {
    fn into_command(self, _: &PathArgs) -> Result<(CtfCommand, Option<Timestamp>), Problem> {
        Ok((
            CtfCommand::Submit {
                account: self.account,
                challenge: self.challenge,
                flag: self.flag,
            },
            None,
        ))
    }
}
impl IntoCommand<CtfEventState> for HintRequest {
    fn into_command(self, _: &PathArgs) -> Result<(CtfCommand, Option<Timestamp>), Problem> {
        Ok((
            CtfCommand::UnlockHint {
                account: self.account,
                challenge: self.challenge,
                hint: self.hint,
            },
            None,
        ))
    }
}
impl IntoCommand<CtfEventState> for FreezeRequest {
    fn into_command(self, _: &PathArgs) -> Result<(CtfCommand, Option<Timestamp>), Problem> {
        let at = self.at.as_deref().map(|a| time("at", a)).transpose()?;
        Ok((
            CtfCommand::Freeze {
                at,
                unfreeze: self.unfreeze,
            },
            None,
        ))
    }
}

/// Documentation of the command routes, which share one handler ([`command`]).
pub mod docs {
    use super::*;

    macro_rules! ctf_command_doc {
        ($name:ident, $path:literal, $body:ty, $summary:literal) => {
            #[doc = $summary]
            #[utoipa::path(post, path = $path, tag = "training", request_body = $body,
                params(("ctf" = String, Path, description = "id or name"),
                       ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
                responses((status = 200, body = CtfView),
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

    ctf_command_doc!(
        register,
        "/api/v1/ctf/{ctf}/accounts",
        RegisterRequest,
        "Register a team or a player."
    );
    ctf_command_doc!(
        submit,
        "/api/v1/ctf/{ctf}/submissions",
        SubmitRequest,
        "Submit a flag: the answer's `result.correct` says whether it was right. Wrong answers count towards the rate limit (refused with when to try again)."
    );
    ctf_command_doc!(
        hint,
        "/api/v1/ctf/{ctf}/hints",
        HintRequest,
        "Unlock a hint for its cost: the answer's `result.hint` holds its text."
    );
    ctf_command_doc!(
        freeze,
        "/api/v1/ctf/{ctf}/freeze",
        FreezeRequest,
        "Freeze the public scoreboard (now, or at a time within the event), or unfreeze it."
    );
}
