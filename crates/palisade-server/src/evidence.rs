//! Evidence (streamed upload and download, custody transfers, custody reports), recorded reads of
//! restricted incidents, break-glass, and signed export bundles.
//!
//! Content never sits whole in memory: uploads stream from the request body through the vault's
//! encryption into the blob store on a blocking thread; downloads and exports stream back out
//! through a bounded channel.

use crate::AppState;
use crate::api::{ApiJson, load_visible, now, require_member_to_write};
use crate::auth::Caller;
use crate::problem::Problem;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_core::custody::{EvidenceCommand, EvidenceState};
use palisade_core::incident::events_for;
use palisade_core::{Actor, Event, IncidentState, Payload, Refusal, UserName};
use palisade_store::evidence::{IncidentKey, VaultError};
use palisade_store::{AppendRequest, OutboxMessage, Projection, StoreError, bundle};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use uuid::Uuid;

fn actor(c: &Caller) -> Actor {
    Actor {
        user: c.user.clone(),
        account_role: c.role,
    }
}

/// Decide on the freshest state and append, retrying when the ledger moved on. `decide` returns
/// the payloads to append and the outbox messages to write in the same transaction.
pub(crate) async fn commit_with<F>(
    state: &AppState,
    id: Uuid,
    caller: &UserName,
    mut decide: F,
) -> Result<(IncidentState, Vec<Event>), Problem>
where
    F: FnMut(&IncidentState) -> Result<(Vec<Payload>, Vec<OutboxMessage>), Problem>,
{
    for _ in 0..8 {
        let mut st = crate::api::load_state(state, id).await?;
        let (payloads, outbox) = decide(&st)?;
        if payloads.is_empty() {
            return Ok((st, Vec::new()));
        }
        let before = st.last_seq;
        let new = events_for(st.id, before, caller, now(), None, payloads);
        for e in &new {
            st.apply(e)
                .map_err(|e| Problem::internal(format!("decided event does not apply: {e}")))?;
        }
        let n = new.len() as u64;
        match state
            .store
            .append(AppendRequest {
                incident: st.id,
                expected_last_seq: before,
                events: new.clone(),
                projection: Projection::from_state(&st),
                outbox,
            })
            .await
        {
            Ok(_) => {
                state.metrics.appended(&st, n);
                state.witness_wake.notify_one();
                state.states.remember(&st);
                if !new.is_empty() {
                    state.notify_wake.notify_one();
                }
                return Ok((st, new));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::new(
        StatusCode::CONFLICT,
        "concurrent-change",
        "Changed concurrently",
        "the incident kept changing while this was recorded; try again",
    ))
}

fn refused(state: &AppState, r: Refusal) -> Problem {
    state.metrics.refused(r.rule);
    r.into()
}

/// Record a read of a restricted incident in its ledger (open incidents record nothing).
pub(crate) async fn record_read(
    state: &AppState,
    caller: &Caller,
    st: &IncidentState,
    what: &str,
) -> Result<(), Problem> {
    let Some(read) = st.access_event(what, "api") else {
        return Ok(());
    };
    // A read depends on nothing in the incident's state: the store appends it at the head, so
    // concurrent readers share a commit instead of conflicting.
    let payloads = vec![read];
    state
        .store
        .append_at_head(st.id, caller.user.clone(), now(), payloads)
        .await?;
    state.witness_wake.notify_one();
    Ok(())
}

/// Evidence as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidenceView {
    pub incident: Uuid,
    pub codename: String,
    /// `codename/E<n>`: how to refer to it.
    pub reference: String,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub item: EvidenceState,
}

impl EvidenceView {
    fn new(st: &IncidentState, item: &EvidenceState) -> EvidenceView {
        EvidenceView {
            incident: st.id,
            codename: st.codename.clone(),
            reference: format!("{}/E{}", st.codename, item.n),
            item: item.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidenceList {
    pub evidence: Vec<EvidenceView>,
}

fn parse_evidence_number(s: &str) -> Result<u32, Problem> {
    s.trim_start_matches(['E', 'e'])
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Problem::not_found(format!("no evidence {s:?}; evidence is numbered E1, E2, …"))
        })
}

fn query_only(q: &HashMap<String, String>, allowed: &[&str]) -> Result<(), Problem> {
    for k in q.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(Problem::bad_request(format!(
                "unknown query parameter {k:?}; accepted: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn vault_problem(e: VaultError) -> Problem {
    match e {
        VaultError::TooLarge { limit } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Evidence too large",
            format!("evidence is limited to {limit} bytes (configure evidence_max_bytes)"),
        ),
        VaultError::Source(e) => Problem::bad_request(format!(
            "the upload did not complete ({e}); nothing was recorded"
        )),
        other => Problem::internal(other.to_string()),
    }
}

async fn incident_key(state: &AppState, id: Uuid) -> Result<IncidentKey, Problem> {
    Ok(state.vault.incident_key(&state.store, id).await?)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// File name (no path).
    pub name: String,
    /// Where it was acquired from (host, account, device).
    pub source: String,
    /// The acquisition tool.
    pub tool: String,
    /// SHA-256 computed at acquisition; the upload is refused if the content differs.
    pub sha256: Option<String>,
    pub note: Option<String>,
}

/// Add evidence: the request body is the raw content (streamed; any size up to the limit).
#[utoipa::path(post, path = "/api/v1/incidents/{incident}/evidence", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = EvidenceView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<(StatusCode, Json<EvidenceView>), Problem> {
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    query_only(&q, &["name", "source", "tool", "sha256", "note"])?;
    let need = |k: &str| {
        q.get(k)
            .cloned()
            .ok_or_else(|| Problem::unprocessable(format!("query parameter {k:?} is required")))
    };
    let (name, source, tool) = (need("name")?, need("source")?, need("tool")?);
    let original = q.get("sha256").cloned();
    let note = q.get("note").cloned();
    caller.require_writer()?;
    let st = load_visible(&state, &caller, &incident).await?;
    require_member_to_write(&caller, &st)?;
    // Check everything that does not depend on the content before reading a byte of it.
    let probe = EvidenceCommand::Acquire {
        name: name.clone(),
        sha256: "0".repeat(64),
        size: 0,
        source: source.clone(),
        tool: tool.clone(),
        original_sha256: None,
        note: note.clone(),
    };
    st.decide_evidence(&actor(&caller), &probe)
        .map_err(|r| refused(&state, r))?;
    if let Some(o) = &original
        && !palisade_core::custody::is_sha256_hex(&o.trim().to_ascii_lowercase())
    {
        return Err(Problem::unprocessable("sha256 must be 64 hex digits"));
    }
    let key = incident_key(&state, st.id).await?;
    let vault = state.vault.clone();
    let limit = state.evidence_limit;
    let id = st.id;
    let stream = futures_util::TryStreamExt::map_err(body.into_data_stream(), |e| {
        std::io::Error::other(e.to_string())
    });
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let expected = original.as_ref().map(|o| o.trim().to_ascii_lowercase());
    let stored = tokio::task::spawn_blocking(move || {
        vault.put_expecting(&key, id, reader, limit, expected.as_deref())
    })
    .await
    .map_err(|e| Problem::internal(format!("upload task failed: {e}")))?;
    let stored = match stored {
        Ok(s) => s,
        // Not the content that was acquired: discarded before it reached a content address,
        // and refused by the rule (which names both hashes).
        Err(VaultError::Mismatch { expected, found }) => {
            let r = palisade_core::Refusal {
                rule: palisade_core::custody::custody_rules::EVIDENCE_HASH_MISMATCH,
                message: format!(
                    "the content received hashes to {found}, but the hash recorded at acquisition is {expected}; the file changed (or is not the one acquired) and was not recorded"
                ),
            };
            return Err(refused(&state, r));
        }
        Err(e) => return Err(vault_problem(e)),
    };
    let cmd = EvidenceCommand::Acquire {
        name,
        sha256: stored.sha256.clone(),
        size: stored.size,
        source,
        tool,
        original_sha256: original,
        note,
    };
    let a = actor(&caller);
    let (st, new) = commit_with(&state, id, &caller.user, |s| {
        if !s.visible_to(&a.user) {
            return Err(Problem::not_found(
                "the incident is no longer visible to you",
            ));
        }
        Ok((
            s.decide_evidence(&a, &cmd)
                .map_err(|r| refused(&state, r))?,
            Vec::new(),
        ))
    })
    .await?;
    let n = new
        .iter()
        .find_map(|e| match &e.data {
            Payload::EvidenceAcquired { evidence, .. } => Some(*evidence),
            _ => None,
        })
        .ok_or_else(|| Problem::internal("evidence was not recorded"))?;
    let item = st.evidence_item(n).map_err(Problem::from)?;
    Ok((StatusCode::CREATED, Json(EvidenceView::new(&st, item))))
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/evidence", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename")),
    responses((status = 200, body = EvidenceList), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
) -> Result<Json<EvidenceList>, Problem> {
    let st = load_visible(&state, &caller, &incident).await?;
    record_read(&state, &caller, &st, "evidence list").await?;
    Ok(Json(EvidenceList {
        evidence: st
            .evidence
            .iter()
            .map(|i| EvidenceView::new(&st, i))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/evidence/{evidence}", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename"), ("evidence" = String, Path, description = "E1, E2, …")),
    responses((status = 200, body = EvidenceView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((incident, evidence)): Path<(String, String)>,
) -> Result<Json<EvidenceView>, Problem> {
    let n = parse_evidence_number(&evidence)?;
    let st = load_visible(&state, &caller, &incident).await?;
    let item = st
        .evidence_item(n)
        .map_err(|r| Problem::not_found(r.message))?;
    let view = EvidenceView::new(&st, item);
    record_read(&state, &caller, &st, &format!("evidence E{n} custody")).await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The user who takes custody.
    pub to: String,
    /// Why (e.g. "imaging for forensic analysis").
    pub purpose: String,
}

/// Hand evidence to someone else. The stored content is re-hashed first; a mismatch is recorded
/// as an integrity failure and custody does not move.
#[utoipa::path(post, path = "/api/v1/incidents/{incident}/evidence/{evidence}/transfer", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename"), ("evidence" = String, Path, description = "E1, E2, …")),
    request_body = TransferRequest,
    responses((status = 200, body = EvidenceView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    Path((incident, evidence)): Path<(String, String)>,
    ApiJson(req): ApiJson<TransferRequest>,
) -> Result<Json<EvidenceView>, Problem> {
    let n = parse_evidence_number(&evidence)?;
    caller.require_writer()?;
    let to = crate::api::require_user(&state, &req.to).await?;
    let st = load_visible(&state, &caller, &incident).await?;
    require_member_to_write(&caller, &st)?;
    let a = actor(&caller);
    // Check who may transfer before re-hashing (which reads the whole content).
    let item = st
        .evidence_item(n)
        .map_err(|r| Problem::not_found(r.message))?;
    st.decide_evidence(
        &a,
        &EvidenceCommand::Transfer {
            evidence: n,
            to: to.clone(),
            purpose: req.purpose.clone(),
            verified_sha256: item.sha256.clone(),
        },
    )
    .map_err(|r| refused(&state, r))?;
    let measured = recheck(&state, st.id, &item.sha256).await?;
    let cmd = match &measured {
        Ok(sha) => EvidenceCommand::Transfer {
            evidence: n,
            to,
            purpose: req.purpose,
            verified_sha256: sha.clone(),
        },
        Err((found, detail)) => EvidenceCommand::IntegrityFailed {
            evidence: n,
            found_sha256: found.clone(),
            during: "transfer".into(),
            detail: detail.clone(),
        },
    };
    let (st, _) = commit_with(&state, st.id, &caller.user, |s| {
        Ok((
            s.decide_evidence(&a, &cmd)
                .map_err(|r| refused(&state, r))?,
            Vec::new(),
        ))
    })
    .await?;
    if let Err((_, detail)) = measured {
        return Err(integrity_problem(n, &detail));
    }
    let item = st.evidence_item(n).map_err(Problem::from)?;
    Ok(Json(EvidenceView::new(&st, item)))
}

fn integrity_problem(n: u32, detail: &str) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "evidence-integrity",
        "Evidence failed its integrity check",
        format!("E{n}: {detail}. The failure is recorded in the ledger; nothing was released."),
    )
}

/// Re-hash stored content. Outer error: could not run; inner: the content does not match
/// (found hash if readable, and why).
async fn recheck(
    state: &AppState,
    id: Uuid,
    sha256: &str,
) -> Result<Result<String, (Option<String>, String)>, Problem> {
    let key = incident_key(state, id).await?;
    let vault = state.vault.clone();
    let sha = sha256.to_string();
    let r = tokio::task::spawn_blocking(move || vault.recheck(&key, id, &sha))
        .await
        .map_err(|e| Problem::internal(format!("re-hash task failed: {e}")))?;
    Ok(match r {
        Ok(b) => Ok(b.sha256),
        Err(VaultError::Mismatch { found, .. }) => Err((
            Some(found),
            "the stored content does not match its recorded hash".to_string(),
        )),
        Err(e @ (VaultError::Missing { .. } | VaultError::Undecryptable(_))) => {
            Err((None, e.to_string()))
        }
        Err(e) => return Err(vault_problem(e)),
    })
}

/// A `Write` that sends what is written as `Bytes` chunks to a response body.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

const OUT_CHUNK: usize = 256 * 1024;

impl ChannelWriter {
    fn new(tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) -> ChannelWriter {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(OUT_CHUNK),
        }
    }
    fn send_buf(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(OUT_CHUNK),
        ));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
    /// End the body with an error: the client sees an incomplete transfer, never a silent pass.
    fn abort(&mut self, why: String) {
        let _ = self.tx.blocking_send(Err(std::io::Error::other(why)));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() > OUT_CHUNK {
            // Hold the last byte back until `flush`: a body whose check fails at the very end
            // must never reach the client complete (it has a Content-Length).
            let last = self.buf.split_off(self.buf.len() - 1);
            self.send_buf()?;
            self.buf = last;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send_buf()
    }
}

fn streaming_body() -> (ChannelWriter, Body) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    (
        ChannelWriter::new(tx),
        Body::from_stream(tokio_stream_from(rx)),
    )
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn repr_digest(sha256_hex: &str) -> Option<HeaderValue> {
    use base64::Engine;
    let raw = hex::decode(sha256_hex).ok()?;
    HeaderValue::from_str(&format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
    .ok()
}

/// Download evidence. The read is recorded (with its purpose) before any byte is sent; the hash
/// is re-checked as the content streams, and a mismatch aborts the transfer (the client sees an
/// incomplete body) and is recorded as an integrity failure. `Repr-Digest` carries the recorded
/// hash so clients check it too.
#[utoipa::path(get, path = "/api/v1/incidents/{incident}/evidence/{evidence}/content", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename"), ("evidence" = String, Path, description = "E1, E2, …"),
        ("purpose" = String, Query, description = "why you need it (recorded)")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((incident, evidence)): Path<(String, String)>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    query_only(&q, &["purpose"])?;
    let purpose = q
        .get("purpose")
        .cloned()
        .ok_or_else(|| Problem::unprocessable("say why you need it: ?purpose=…"))?;
    let n = parse_evidence_number(&evidence)?;
    let st = load_visible(&state, &caller, &incident).await?;
    let item = st
        .evidence_item(n)
        .map_err(|r| Problem::not_found(r.message))?
        .clone();
    let a = actor(&caller);
    let cmd = EvidenceCommand::Access {
        evidence: n,
        purpose,
    };
    let key = incident_key(&state, st.id).await?;
    let vault = state.vault.clone();
    let id = st.id;
    // Open (and so check the age header and key) before recording, so a missing blob is an error
    // response rather than an aborted stream.
    let sha = item.sha256.clone();
    let opened = {
        let (vault, key, sha) = (vault.clone(), key.clone(), sha.clone());
        tokio::task::spawn_blocking(move || vault.open(&key, id, &sha))
            .await
            .map_err(|e| Problem::internal(format!("open task failed: {e}")))?
    };
    let mut reader = match opened {
        Ok(r) => r,
        Err(e) => {
            let detail = e.to_string();
            let fail = EvidenceCommand::IntegrityFailed {
                evidence: n,
                found_sha256: None,
                during: "download".into(),
                detail: detail.clone(),
            };
            commit_with(&state, id, &caller.user, |s| {
                Ok((
                    s.decide_evidence(&a, &fail).map_err(Problem::from)?,
                    Vec::new(),
                ))
            })
            .await?;
            return Err(integrity_problem(n, &detail));
        }
    };
    commit_with(&state, id, &caller.user, |s| {
        Ok((
            s.decide_evidence(&a, &cmd)
                .map_err(|r| refused(&state, r))?,
            Vec::new(),
        ))
    })
    .await?;
    let (mut w, body) = streaming_body();
    let failure_state = state.clone();
    let user = caller.user.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let copied = std::io::copy(&mut reader, &mut w);
        let failure = match copied {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return,
            Err(e) => Some((
                None,
                format!("the stored content could not be decrypted ({e})"),
            )),
            Ok(_) => match reader.finish() {
                // Verified: now the held-back end may go.
                Ok(_) => {
                    let _ = w.flush();
                    None
                }
                Err(VaultError::Mismatch { found, .. }) => Some((
                    Some(found),
                    "the stored content does not match its recorded hash".to_string(),
                )),
                Err(e) => Some((None, e.to_string())),
            },
        };
        if let Some((found, detail)) = failure {
            // Record the failure first, then break the transfer off: by the time the client
            // sees the error, the ledger says why.
            let why = format!("integrity check failed: {detail}");
            let fail = EvidenceCommand::IntegrityFailed {
                evidence: n,
                found_sha256: found,
                during: "download".into(),
                detail,
            };
            let a = Actor {
                user: user.clone(),
                account_role: a.account_role,
            };
            let _ = handle.block_on(commit_with(&failure_state, id, &user, |s| {
                Ok((
                    s.decide_evidence(&a, &fail).map_err(Problem::from)?,
                    Vec::new(),
                ))
            }));
            w.abort(why);
        }
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(item.size));
    if let Some(d) = repr_digest(&item.sha256) {
        headers.insert("repr-digest", d);
    }
    if let Ok(v) = HeaderValue::from_str(&item.sha256) {
        headers.insert("x-palisade-sha256", v);
    }
    let safe: String = item
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, body).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    /// Why you must see this incident (recorded, and sent to its Incident Commander).
    pub reason: String,
    /// How long access lasts, in minutes (default 60, at most 480).
    pub minutes: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BreakGlassView {
    pub incident: Uuid,
    pub codename: String,
    pub until: String,
    pub reason: String,
    /// Whom the notification goes to (the Incident Commander), if one is assigned.
    pub notified: Option<String>,
}

/// Break-glass: an admin who is not a member opens a restricted incident for a limited time with a
/// written reason. It is recorded in the ledger and the Incident Commander is notified (through
/// the outbox, written in the same transaction).
#[utoipa::path(post, path = "/api/v1/incidents/{incident}/break-glass", tag = "incidents",
    params(("incident" = String, Path, description = "id or codename")),
    request_body = BreakGlassRequest,
    responses((status = 200, body = BreakGlassView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn break_glass(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    ApiJson(req): ApiJson<BreakGlassRequest>,
) -> Result<Json<BreakGlassView>, Problem> {
    // Refuse non-admins before looking anything up, so the answer says nothing about existence.
    caller.require_admin()?;
    let not_found = || Problem::not_found(format!("no incident {incident:?}"));
    if incident.len() > 100 {
        return Err(not_found());
    }
    let id = state
        .store
        .resolve_ref(&incident)
        .await?
        .ok_or_else(not_found)?;
    let a = actor(&caller);
    let at = now();
    let (st, new) = commit_with(&state, id, &caller.user, |s| {
        let payloads = s
            .decide_break_glass(&a, &req.reason, req.minutes, at)
            .map_err(|r| refused(&state, r))?;
        let until = payloads.iter().find_map(|p| match p {
            Payload::BreakGlass { until, .. } => Some(*until),
            _ => None,
        });
        let message = serde_json::json!({
            "type": "break_glass",
            "incident": s.id,
            "codename": s.codename,
            "by": a.user,
            "reason": req.reason.trim(),
            "until": until.map(|u| u.to_string()),
            "at": at.to_string(),
            "to": s.commander().map(|c| c.to_string()),
            "text": format!(
                "{} used break-glass to read restricted incident {} until {}: {}",
                a.user,
                s.codename,
                until.map(|u| u.to_string()).unwrap_or_default(),
                req.reason.trim()
            ),
        });
        Ok((
            payloads,
            vec![OutboxMessage {
                id: Uuid::now_v7(),
                kind: "break_glass".into(),
                payload: message.to_string(),
                created_at: at.to_string(),
                due_us: at.unix_micros(),
            }],
        ))
    })
    .await?;
    let (reason, until) = new
        .iter()
        .find_map(|e| match &e.data {
            Payload::BreakGlass { reason, until } => Some((reason.clone(), until.to_string())),
            _ => None,
        })
        .ok_or_else(|| Problem::internal("break-glass was not recorded"))?;
    Ok(Json(BreakGlassView {
        incident: st.id,
        codename: st.codename.clone(),
        until,
        reason,
        notified: st.commander().map(|c| c.to_string()),
    }))
}

/// Export a signed bundle (a tar archive, streamed): the ledger as stored, its signed
/// checkpoints, the public key, the evidence manifest and, with `evidence=true`, the evidence
/// content (decrypted, each file re-checked against its hash as it is written). The export is
/// recorded first, so the bundle contains its own export event.
#[utoipa::path(get, path = "/api/v1/incidents/{incident}/export", tag = "incidents",
    params(("incident" = String, Path, description = "id or codename"),
        ("purpose" = String, Query, description = "why it is exported (recorded)"),
        ("evidence" = Option<bool>, Query, description = "include evidence content")),
    responses((status = 200, content_type = "application/x-tar", body = Vec<u8>), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    query_only(&q, &["purpose", "evidence"])?;
    let purpose = q
        .get("purpose")
        .cloned()
        .ok_or_else(|| Problem::unprocessable("say why it is exported: ?purpose=…"))?;
    if purpose.trim().is_empty() || purpose.len() > 2000 {
        return Err(Problem::unprocessable(
            "purpose must be 1 … 2000 characters",
        ));
    }
    let with_evidence = match q.get("evidence").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(Problem::unprocessable(format!(
                "evidence must be true or false, not {other:?}"
            )));
        }
    };
    let st = load_visible(&state, &caller, &incident).await?;
    let id = st.id;
    // Re-check every piece of evidence that goes out.
    let mut verified = Vec::new();
    if with_evidence {
        for item in &st.evidence {
            match recheck(&state, id, &item.sha256).await? {
                Ok(sha) => verified.push((item.n, sha)),
                Err((found, detail)) => {
                    let a = actor(&caller);
                    let fail = EvidenceCommand::IntegrityFailed {
                        evidence: item.n,
                        found_sha256: found,
                        during: "export".into(),
                        detail: detail.clone(),
                    };
                    commit_with(&state, id, &caller.user, |s| {
                        Ok((
                            s.decide_evidence(&a, &fail).map_err(Problem::from)?,
                            Vec::new(),
                        ))
                    })
                    .await?;
                    return Err(integrity_problem(item.n, &detail));
                }
            }
        }
    }
    let a = actor(&caller);
    let (st, _) = commit_with(&state, id, &caller.user, |s| {
        let mut out = Vec::new();
        out.extend(s.access_event("export", "api"));
        for (n, sha) in &verified {
            out.extend(
                s.decide_evidence(
                    &a,
                    &EvidenceCommand::Export {
                        evidence: *n,
                        purpose: purpose.clone(),
                        verified_sha256: sha.clone(),
                    },
                )
                .map_err(|r| refused(&state, r))?,
            );
        }
        out.push(Payload::Exported {
            purpose: purpose.trim().to_string(),
            with_evidence,
        });
        Ok((out, Vec::new()))
    })
    .await?;
    let rows = state.store.stored_events(id).await?;
    let checkpoints = state.store.stored_checkpoints(id).await?;
    let key = if with_evidence {
        Some(incident_key(&state, id).await?)
    } else {
        None
    };
    let header = bundle::BundleHeader {
        format: bundle::BUNDLE_FORMAT.to_string(),
        incident: id,
        codename: st.codename.clone(),
        exported_at: now().to_string(),
        exported_by: caller.user.to_string(),
        purpose: purpose.trim().to_string(),
        public_key: state.public_key_hex.clone(),
        events: rows.len() as u64,
        with_evidence,
    };
    let manifest = bundle::manifest(&st);
    let (w, body) = streaming_body();
    let vault = state.vault.clone();
    tokio::task::spawn_blocking(move || {
        let mut tar = bundle::BundleWriter::new(w);
        let result = (|| -> Result<(), String> {
            tar.write_header(&header, &rows, &checkpoints, &manifest)
                .map_err(|e| e.to_string())?;
            if let Some(key) = &key {
                for entry in &manifest.evidence {
                    let mut r = vault
                        .open(key, id, &entry.sha256)
                        .map_err(|e| e.to_string())?;
                    tar.write_evidence(entry, &mut r)
                        .map_err(|e| e.to_string())?;
                    r.finish().map_err(|e| e.to_string())?;
                }
            }
            Ok(())
        })();
        match result.and_then(|_| tar.finish().map_err(|e| e.to_string())) {
            Ok(()) => {
                let _ = tar.get_mut().flush();
            }
            Err(e) => tar.get_mut().abort(format!("export failed: {e}")),
        }
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}.palisade.tar\"",
        st.codename
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, body).into_response())
}
