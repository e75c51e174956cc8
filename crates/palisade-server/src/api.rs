//! The `/api/v1` handlers. Each command loads the incident's ledger, folds it, asks the core to
//! decide, and appends the resulting events with the sequence number it decided on; a concurrent
//! change makes the store refuse, and the command is decided again on the new state.

use crate::AppState;
use crate::auth::{Caller, generate_token, hash_token, token_id};
use crate::problem::Problem;
use crate::views::*;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use palisade_core::incident::{Command, Declaration, declare, events_for};
use palisade_core::{
    AccountRole, Actor, IncidentState, Kind, Role, Severity, Status, Timestamp, UserName,
};
use palisade_store::{AppendRequest, ListFilter, NewToken, Projection, StoreError};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use uuid::Uuid;

/// JSON request body with problem-details errors. An empty body reads as `{}`, so commands
/// without required fields can be posted without one.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    status,
                    "payload-too-large",
                    "Request body too large",
                    format!("request bodies are limited to {} bytes", crate::BODY_LIMIT),
                )
            } else {
                Problem::bad_request(e.body_text())
            }
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let value = serde_json::from_slice::<T>(text).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => Problem::unprocessable(format!("invalid request body: {e}")),
                _ => Problem::bad_request(format!("malformed JSON: {e}")),
            }
        })?;
        Ok(ApiJson(value))
    }
}

fn parse<T: std::str::FromStr<Err = palisade_core::types::ParseError>>(
    s: &str,
) -> Result<T, Problem> {
    s.parse()
        .map_err(|e: palisade_core::types::ParseError| Problem::unprocessable(e.to_string()))
}

pub(crate) fn parse_time(s: &Option<String>) -> Result<Option<Timestamp>, Problem> {
    s.as_deref()
        .map(|t| Timestamp::parse(t).map_err(|e| Problem::unprocessable(e.to_string())))
        .transpose()
}

pub(crate) fn now() -> Timestamp {
    Timestamp::from_datetime(time::OffsetDateTime::now_utc())
}

fn actor(c: &Caller) -> Actor {
    Actor {
        user: c.user.clone(),
        account_role: c.role,
    }
}

/// Load an incident the caller may see. Non-members get 404 for restricted incidents, exactly as
/// for incidents that do not exist, so existence does not leak.
pub(crate) async fn load_visible(
    state: &AppState,
    caller: &Caller,
    reference: &str,
) -> Result<IncidentState, Problem> {
    let not_found = || Problem::not_found(format!("no incident {reference:?} that you can see"));
    if reference.len() > 100 {
        return Err(not_found());
    }
    let id = state
        .store
        .resolve_ref(reference)
        .await?
        .ok_or_else(not_found)?;
    let st = load_state(state, id).await?;
    if !st.visible_to_at(&caller.user, now()) {
        return Err(not_found());
    }
    Ok(st)
}

/// Changing a restricted incident takes membership: a break-glass grant makes an incident
/// visible (so this is reached only with one), and opens it for reading only.
pub(crate) fn require_member_to_write(caller: &Caller, st: &IncidentState) -> Result<(), Problem> {
    if st.visible_to(&caller.user) {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "break-glass opens a restricted incident for reading only; to change it, ask its Incident Commander for a role",
        ))
    }
}

/// The current state of an incident (cached fold plus newer events).
pub(crate) async fn load_state(state: &AppState, id: Uuid) -> Result<IncidentState, Problem> {
    state
        .states
        .load(&state.store, id)
        .await
        .map_err(|e| match e {
            crate::state_cache::LoadError::Store(e) => Problem::from(e),
            other => {
                tracing::error!(incident = %id, error = %other, "ledger does not fold");
                Problem::internal("the incident's ledger could not be read; run `palisade verify`")
            }
        })
}

/// Decide and append a command, retrying on concurrent changes.
pub(crate) async fn run(
    state: &AppState,
    caller: &Caller,
    reference: &str,
    cmd: Command,
    occurred_at: Option<Timestamp>,
) -> Result<Json<IncidentView>, Problem> {
    caller.require_writer()?;
    for _ in 0..8 {
        let mut st = load_visible(state, caller, reference).await?;
        require_member_to_write(caller, &st)?;
        let payloads = match st.decide_with(&actor(caller), &cmd, &state.comms) {
            Ok(p) => p,
            Err(r) => {
                state.metrics.refused(r.rule);
                return Err(r.into());
            }
        };
        let before = st.last_seq;
        let events = events_for(st.id, before, &caller.user, now(), occurred_at, payloads);
        for e in &events {
            st.apply(e)
                .map_err(|e| Problem::internal(format!("decided event does not apply: {e}")))?;
        }
        let n = events.len() as u64;
        match state
            .store
            .append(AppendRequest {
                incident: st.id,
                expected_last_seq: before,
                events,
                projection: Projection::from_state(&st),
                outbox: Vec::new(),
            })
            .await
        {
            Ok(_) => {
                state.metrics.appended(&st, n);
                state.witness_wake.notify_one();
                state.states.remember(&st);
                return Ok(Json(crate::comms::incident_view(state, &st)));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::new(
        StatusCode::CONFLICT,
        "concurrent-change",
        "Changed concurrently",
        "the incident kept changing while this command was decided; try again",
    ))
}

pub(crate) async fn require_user(state: &AppState, name: &str) -> Result<UserName, Problem> {
    let user = parse::<UserName>(name)?;
    if state.store.user(&user).await?.is_none() {
        return Err(Problem::unprocessable(format!(
            "there is no user {user:?}; an admin creates one with `palisade token create --user {user} --role responder`"
        )));
    }
    Ok(user)
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents",
    request_body = DeclareRequest,
    responses((status = 201, body = IncidentView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn declare_incident(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<DeclareRequest>,
) -> Result<(StatusCode, Json<IncidentView>), Problem> {
    caller.require_writer()?;
    let kind = req
        .kind
        .as_deref()
        .map(parse::<Kind>)
        .transpose()?
        .unwrap_or(Kind::Security);
    let severity = parse::<Severity>(&req.severity)?;
    let occurred_at = parse_time(&req.occurred_at)?;
    let aware_at = parse_time(&req.aware_at)?;
    let playbook = match &req.playbook {
        Some(id) => state.playbooks.get(id).cloned().ok_or_else(|| {
            let known: Vec<&str> = state.playbooks.keys().map(String::as_str).collect();
            Problem::unprocessable(format!("no playbook {id:?}; known: {}", known.join(", ")))
        })?,
        None => state
            .playbooks
            .values()
            .find(|p| p.kind == kind && p.id == kind.as_str())
            .or_else(|| state.playbooks.values().find(|p| p.kind == kind))
            .cloned()
            .ok_or_else(|| Problem::internal(format!("no playbook for {kind} incidents")))?,
    };
    let commander = match &req.commander {
        Some(c) => Some(require_user(&state, c).await?),
        None => None,
    };
    let declaration = Declaration {
        title: req.title,
        kind,
        severity,
        restricted: req.restricted,
        summary: req.summary,
        playbook,
    };
    let id = Uuid::now_v7();
    let mut random = [0u8; 8];
    for attempt in 0..20 {
        getrandom::fill(&mut random).map_err(|e| Problem::internal(e.to_string()))?;
        let codename = palisade_core::codename::codename(u64::from_le_bytes(random), attempt);
        let declared = declare(declaration.clone(), codename).map_err(Problem::from)?;
        let recorded = now();
        let mut events = events_for(id, 0, &caller.user, recorded, occurred_at, vec![declared]);
        let mut st = IncidentState::fold(&events)
            .map_err(|e| Problem::internal(format!("declaration does not fold: {e}")))?;
        if let Some(c) = &commander {
            let payloads = st
                .decide(
                    &actor(&caller),
                    &Command::AssignRole {
                        user: c.clone(),
                        role: Role::IncidentCommander,
                    },
                )
                .map_err(Problem::from)?;
            let more = events_for(
                id,
                st.last_seq,
                &caller.user,
                recorded,
                occurred_at,
                payloads,
            );
            for e in &more {
                st.apply(e).map_err(|e| Problem::internal(e.to_string()))?;
            }
            events.extend(more);
        }
        if let Some(aware_at) = aware_at {
            let payloads = st
                .decide_with(
                    &actor(&caller),
                    &Command::RecordAwareness {
                        aware_at,
                        note: None,
                    },
                    &state.comms,
                )
                .map_err(Problem::from)?;
            let more = events_for(id, st.last_seq, &caller.user, recorded, None, payloads);
            for e in &more {
                st.apply(e).map_err(|e| Problem::internal(e.to_string()))?;
            }
            events.extend(more);
        }
        let n = events.len() as u64;
        match state
            .store
            .append(AppendRequest {
                incident: id,
                expected_last_seq: 0,
                events,
                projection: Projection::from_state(&st),
                outbox: Vec::new(),
            })
            .await
        {
            Ok(_) => {
                state.metrics.appended(&st, n);
                state.metrics.declared(&st);
                state.witness_wake.notify_one();
                return Ok((
                    StatusCode::CREATED,
                    Json(crate::comms::incident_view(&state, &st)),
                ));
            }
            Err(StoreError::CodenameTaken(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::internal(
        "could not find a free codename; try again",
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// declared, investigating, contained, resolved or closed
    pub status: Option<String>,
    /// SEV-1 … SEV-5
    pub severity: Option<String>,
    /// security or operational
    pub kind: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = IncidentList), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_incidents(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<IncidentList>, Problem> {
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    for k in q.keys() {
        if !matches!(k.as_str(), "status" | "severity" | "kind" | "limit") {
            return Err(Problem::bad_request(format!(
                "unknown query parameter {k:?}; use status, severity, kind or limit"
            )));
        }
    }
    let filter = ListFilter {
        viewer: caller.user.clone(),
        status: q.get("status").map(|s| parse::<Status>(s)).transpose()?,
        severity: q
            .get("severity")
            .map(|s| parse::<Severity>(s))
            .transpose()?,
        kind: q.get("kind").map(|s| parse::<Kind>(s)).transpose()?,
        limit: match q.get("limit") {
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=1000).contains(l))
                .ok_or_else(|| Problem::unprocessable("limit must be 1 … 1000"))?,
            None => 100,
        },
    };
    let rows = state.store.list(&filter).await?;
    Ok(Json(IncidentList {
        incidents: rows.into_iter().map(IncidentListItem::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}", tag = "incidents",
    params(("incident" = String, Path, description = "id or codename")),
    responses((status = 200, body = IncidentView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn show_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
) -> Result<Json<IncidentView>, Problem> {
    let mut st = load_visible(&state, &caller, &incident).await?;
    crate::evidence::record_read(&state, &caller, &st, "incident").await?;
    if st.restricted {
        // Show the ledger as it is now, this read included.
        st = load_state(&state, st.id).await?;
    }
    Ok(Json(crate::comms::incident_view(&state, &st)))
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/events", tag = "incidents",
    params(("incident" = String, Path, description = "id or codename")),
    responses((status = 200, body = LedgerView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn incident_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
) -> Result<Json<LedgerView>, Problem> {
    let st = load_visible(&state, &caller, &incident).await?;
    crate::evidence::record_read(&state, &caller, &st, "ledger events").await?;
    let rows = state.store.stored_events(st.id).await?;
    Ok(Json(LedgerView {
        incident: st.id,
        events: rows.into_iter().map(LedgerRow::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/roles", tag = "commands",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = RoleRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn assign_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let role = parse::<Role>(&req.role)?;
    let at = parse_time(&req.occurred_at)?;
    let user = require_user(&state, &req.user).await?;
    run(
        &state,
        &caller,
        &incident,
        Command::AssignRole { user, role },
        at,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/roles/unassign", tag = "commands",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = RoleRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn unassign_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let role = parse::<Role>(&req.role)?;
    let at = parse_time(&req.occurred_at)?;
    let user = parse::<UserName>(&req.user)?;
    run(
        &state,
        &caller,
        &incident,
        Command::UnassignRole { user, role },
        at,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/steps/{step}/{action}", tag = "commands",
    params(("incident" = String, Path, description = "id or codename"),
           ("step" = u32, Path, description = "step number"),
           ("action" = String, Path, description = "start, done or waive")),
    request_body = StepRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn step_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((incident, step, action)): Path<(String, String, String)>,
    ApiJson(req): ApiJson<StepRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let step: u32 = step.parse().map_err(|_| {
        Problem::not_found(format!("no step {step:?}: steps are numbered 1, 2, 3 …"))
    })?;
    let at = parse_time(&req.occurred_at)?;
    let cmd = match action.as_str() {
        "start" => Command::StartStep { step },
        "done" => Command::CompleteStep {
            step,
            note: req.note,
        },
        "waive" => Command::WaiveStep {
            step,
            reason: req.reason.ok_or_else(|| {
                Problem::unprocessable("waiving a step needs a reason (field `reason`)")
            })?,
        },
        other => {
            return Err(Problem::not_found(format!(
                "no step action {other:?}: use start, done or waive"
            )));
        }
    };
    run(&state, &caller, &incident, cmd, at).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/notes", tag = "commands",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = NoteRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let at = parse_time(&req.occurred_at)?;
    run(
        &state,
        &caller,
        &incident,
        Command::AddNote { text: req.text },
        at,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/status", tag = "commands",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = StatusRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let at = parse_time(&req.occurred_at)?;
    let status = req.status.as_deref().map(parse::<Status>).transpose()?;
    let audience = req
        .audience
        .as_deref()
        .map(parse::<palisade_core::comms::Audience>)
        .transpose()?;
    if audience == Some(palisade_core::comms::Audience::External) {
        if status.is_some() {
            return Err(Problem::unprocessable(
                "an external update carries a message only; change the status with an internal update",
            ));
        }
        let message = req
            .message
            .ok_or_else(|| Problem::unprocessable("an external update needs a `message`"))?;
        return run(
            &state,
            &caller,
            &incident,
            Command::ExternalUpdate { message },
            at,
        )
        .await;
    }
    run(
        &state,
        &caller,
        &incident,
        Command::UpdateStatus {
            status,
            message: req.message,
        },
        at,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/severity", tag = "commands",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = SeverityRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn change_severity(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<SeverityRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let at = parse_time(&req.occurred_at)?;
    let to = parse::<Severity>(&req.severity)?;
    run(
        &state,
        &caller,
        &incident,
        Command::ChangeSeverity {
            to,
            reason: req.reason,
        },
        at,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/approvals", tag = "commands",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = ApproveRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<ApproveRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let at = parse_time(&req.occurred_at)?;
    run(
        &state,
        &caller,
        &incident,
        Command::Approve {
            approval: req.approval,
            note: req.note,
        },
        at,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/resolve", tag = "commands",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = ResolveRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let at = parse_time(&req.occurred_at)?;
    run(
        &state,
        &caller,
        &incident,
        Command::Resolve {
            summary: req.summary,
        },
        at,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/close", tag = "commands",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = CloseRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<CloseRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let at = parse_time(&req.occurred_at)?;
    run(
        &state,
        &caller,
        &incident,
        Command::Close { note: req.note },
        at,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{incident}/corrections", tag = "commands",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = CorrectionRequest,
    responses((status = 200, body = IncidentView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn correct(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<CorrectionRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let occurred_at = parse_time(&req.occurred_at)?;
    run(
        &state,
        &caller,
        &incident,
        Command::Correct {
            supersedes: req.supersedes,
            reason: req.reason,
            occurred_at,
            text: req.text,
        },
        None,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenRequest,
    responses((status = 201, body = TokenCreated), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<TokenCreated>), Problem> {
    caller.require_admin()?;
    let user = parse::<UserName>(&req.user)?;
    let role = req.role.as_deref().map(parse::<AccountRole>).transpose()?;
    match (state.store.user(&user).await?, role) {
        (Some(existing), Some(r)) if existing.role != r => {
            return Err(Problem::unprocessable(format!(
                "user {user} already exists as {}; omit `role` or use that role",
                existing.role
            )));
        }
        (Some(_), _) => {}
        (None, Some(r)) => {
            state.store.create_user(&user, r).await?;
        }
        (None, None) => {
            return Err(Problem::unprocessable(format!(
                "there is no user {user}; give a role (admin, responder or viewer) to create one"
            )));
        }
    }
    let token = generate_token()?;
    let info = state
        .store
        .insert_token(&NewToken {
            id: token_id()?,
            user,
            label: req.label.unwrap_or_default(),
            token_hash: hash_token(&token),
            created_at: now().to_string(),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            token,
            info: info.into(),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = [TokenView]), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, Problem> {
    caller.require_admin()?;
    Ok(Json(
        state
            .store
            .list_tokens()
            .await?
            .into_iter()
            .map(TokenView::from)
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "token id (tok_…)")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    // Anyone may revoke their own token; only admins may revoke others'.
    if id != caller.token_id {
        caller.require_admin()?;
    }
    if state.store.revoke_token(&id, &now().to_string()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found(format!("no live token {id:?}")))
    }
}

#[utoipa::path(get, path = "/api/v1/me", tag = "tokens",
    responses((status = 200, body = Me), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        user: caller.user.to_string(),
        role: caller.role.to_string(),
        token_id: caller.token_id,
    })
}
