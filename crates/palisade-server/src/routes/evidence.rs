//! `/incidents/{incident}/evidence` and `/export`: evidence uploads (streamed into the vault),
//! custody transfers and reports, downloads (streamed back, re-hashed as they go) and signed
//! export bundles. Content never sits whole in memory.

use crate::extract::{Caller, CommandBody, StrictQuery, UploadKey, evidence_number};
use crate::problem::Problem;
use crate::routes::{json_of, json_text};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::evidence::{AcquireInput, TransferInput};
use palisade_app::{App, Executed, Outcome};
use palisade_core::custody::{EvidenceName, EvidenceState};
use palisade_core::{IncidentState, UserName};
use serde::{Deserialize, Serialize};
use std::io::Write;
use uuid::Uuid;

/// Raw bytes (evidence content, export bundles, CTF attachments).
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}
impl utoipa::ToSchema for Binary {}

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/incidents/{incident}/evidence",
            post(upload).get(list).layer(DefaultBodyLimit::disable()),
        )
        .route("/incidents/{incident}/evidence/{evidence}", get(show))
        .route(
            "/incidents/{incident}/evidence/{evidence}/content",
            get(download),
        )
        .route(
            "/incidents/{incident}/evidence/{evidence}/transfer",
            post(transfer),
        )
        .route("/incidents/{incident}/export", get(export))
}

/// Evidence as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidenceView {
    pub incident: Uuid,
    pub codename: String,
    /// `codename/E<n>`: how to refer to it.
    #[schema(example = "sapphire-otter/E1")]
    pub reference: String,
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// A portable file name: 1–255 bytes of UTF-8, not `.` or `..`, without `/` or `\\`,
    /// control characters, bidirectional-text controls or any of `< > : " | ? *`, not ending
    /// in a dot or a space, and not a device name Windows reserves (CON, PRN, AUX, NUL,
    /// COM0–COM9, LPT0–LPT9, alone or before an extension). Anything else is refused (422).
    #[param(min_length = 1, max_length = 255)]
    pub name: String,
    /// Where it was acquired from (host, account, device).
    #[param(min_length = 1, max_length = 500)]
    pub source: String,
    /// The acquisition tool.
    #[param(min_length = 1, max_length = 500)]
    pub tool: String,
    /// SHA-256 computed at acquisition; the upload is refused if the content differs.
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: Option<String>,
    #[param(min_length = 1, max_length = 10000)]
    pub note: Option<String>,
}

/// Add evidence: the request body is the raw content (streamed; any size up to the limit).
#[utoipa::path(post, path = "/api/v1/incidents/{incident}/evidence", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename"), UploadQuery,
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key and the same content returns the first answer, and records nothing; with other content it is refused (1–200 printable ASCII characters, no spaces)")),
    request_body(content = Binary, content_type = "application/octet-stream", description = "the evidence content, as acquired"),
    responses((status = 201, body = EvidenceView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn upload(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
    query: StrictQuery,
    UploadKey(idempotency): UploadKey,
    body: Body,
) -> Result<Response, Problem> {
    let q = query.only(&["name", "source", "tool", "sha256", "note"])?;
    let need = |k: &str| {
        q.get(k)
            .cloned()
            .ok_or_else(|| Problem::unprocessable(format!("query parameter {k:?} is required")))
    };
    // The name is checked before a byte of the content is read.
    let name = EvidenceName::parse(&need("name")?)
        .map_err(|e| Problem::from(palisade_core::Refusal::from(e)))?;
    let input = AcquireInput {
        name,
        source: need("source")?,
        tool: need("tool")?,
        sha256: q.get("sha256").cloned(),
        note: q.get("note").cloned(),
    };
    let stream = futures_util::TryStreamExt::map_err(body.into_data_stream(), |e| {
        std::io::Error::other(e.to_string())
    });
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let opts = palisade_app::Options {
        occurred_at: None,
        idempotency,
    };
    let render = |e: &Executed<IncidentState>| {
        App::acquired(e)
            .map(|item| json_of(&EvidenceView::new(&e.state, &item)))
            .unwrap_or_default()
    };
    let outcome = app
        .acquire_evidence_with(
            caller.actor(),
            &incident,
            input,
            reader,
            &opts,
            Some(&render),
        )
        .await?;
    if let Outcome::Done(e) = &outcome {
        // Only a recorded acquisition renders (`acquired` finds it).
        App::acquired(e)?;
    }
    Ok(answer_with(outcome, StatusCode::CREATED, &render))
}

/// The answer to an evidence command: rendered now, or as first given for a repeated key.
fn answer_with(
    outcome: Outcome<IncidentState>,
    status: StatusCode,
    render: &dyn Fn(&Executed<IncidentState>) -> String,
) -> Response {
    match outcome {
        Outcome::Done(e) => json_text(status, render(&e)),
        Outcome::Replayed(text) => json_text(status, text),
    }
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/evidence", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename")),
    responses((status = 200, body = EvidenceList), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
) -> Result<Json<EvidenceList>, Problem> {
    let st = app
        .read::<IncidentState>(caller.actor(), &incident, "evidence list", "api")
        .await?;
    Ok(Json(EvidenceList {
        evidence: st
            .evidence
            .iter()
            .map(|i| EvidenceView::new(&st, i))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{incident}/evidence/{evidence}", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename"), ("evidence" = String, Path, pattern = "^[Ee]?[1-9][0-9]{0,8}$", example = "E1", description = "evidence number: E1, E2, … (e1 and 1 are accepted too)")),
    responses((status = 200, body = EvidenceView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn show(
    State(app): State<App>,
    caller: Caller,
    Path((incident, evidence)): Path<(String, String)>,
) -> Result<Json<EvidenceView>, Problem> {
    let n = evidence_number(&evidence)?;
    // Look before recording, so a read of evidence that does not exist records nothing.
    let st = app
        .load_visible::<IncidentState>(caller.actor(), &incident)
        .await?;
    st.evidence_item(n)
        .map_err(|r| Problem::not_found(r.message))?;
    let st = app
        .read::<IncidentState>(
            caller.actor(),
            &st.id.to_string(),
            &format!("evidence E{n} custody"),
            "api",
        )
        .await?;
    let item = st
        .evidence_item(n)
        .map_err(|r| Problem::not_found(r.message))?;
    Ok(Json(EvidenceView::new(&st, item)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The user who takes custody.
    pub to: UserName,
    /// Why (e.g. "imaging for forensic analysis").
    #[schema(min_length = 1, max_length = 2000)]
    pub purpose: String,
}

/// Hand evidence to someone else. The stored content is re-hashed first; a mismatch is recorded
/// as an integrity failure and custody does not move.
#[utoipa::path(post, path = "/api/v1/incidents/{incident}/evidence/{evidence}/transfer", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename"), ("evidence" = String, Path, pattern = "^[Ee]?[1-9][0-9]{0,8}$", example = "E1", description = "evidence number: E1, E2, … (e1 and 1 are accepted too)"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    request_body = TransferRequest,
    responses((status = 200, body = EvidenceView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn transfer(
    State(app): State<App>,
    caller: Caller,
    Path((incident, evidence)): Path<(String, String)>,
    req: CommandBody<TransferRequest>,
) -> Result<Response, Problem> {
    let n = evidence_number(&evidence)?;
    let opts = req.options(None);
    let render = |e: &Executed<IncidentState>| {
        e.state
            .evidence_item(n)
            .map(|item| json_of(&EvidenceView::new(&e.state, item)))
            .unwrap_or_default()
    };
    let outcome = app
        .transfer_evidence(
            caller.actor(),
            &incident,
            TransferInput {
                evidence: n,
                to: req.body.to,
                purpose: req.body.purpose,
            },
            &opts,
            Some(&render),
        )
        .await?;
    Ok(answer_with(outcome, StatusCode::OK, &render))
}

pub(crate) fn repr_digest(sha256_hex: &str) -> Option<HeaderValue> {
    use base64::Engine;
    let raw = hex::decode(sha256_hex).ok()?;
    HeaderValue::from_str(&format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
    .ok()
}

/// Download evidence. The access is recorded (with its purpose) before any byte is sent; the
/// hash is re-checked as the content streams, and its last byte goes out only once the outcome
/// is recorded: `evidence_access_verified` when it matched, or `evidence_integrity_failed` and
/// an aborted transfer (the client sees an incomplete body) when it did not. A client that goes
/// away midway leaves `evidence_access_incomplete`. `Repr-Digest` carries the recorded hash so
/// clients check it too.
#[utoipa::path(get, path = "/api/v1/incidents/{incident}/evidence/{evidence}/content", tag = "evidence",
    params(("incident" = String, Path, description = "id or codename"), ("evidence" = String, Path, pattern = "^[Ee]?[1-9][0-9]{0,8}$", example = "E1", description = "evidence number: E1, E2, … (e1 and 1 are accepted too)"),
        ("purpose" = String, Query, min_length = 1, max_length = 2000, description = "why you need it (recorded)")),
    responses((status = 200, content_type = "application/octet-stream", body = Binary, description = "the content; `Repr-Digest` and `X-Palisade-Sha256` carry its recorded hash"), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn download(
    State(app): State<App>,
    caller: Caller,
    Path((incident, evidence)): Path<(String, String)>,
    query: StrictQuery,
) -> Result<Response, Problem> {
    let q = query.only(&["purpose"])?;
    let purpose = q
        .get("purpose")
        .cloned()
        .ok_or_else(|| Problem::unprocessable("say why you need it: ?purpose=…"))?;
    let n = evidence_number(&evidence)?;
    let dl = app
        .open_evidence(caller.actor(), &incident, n, purpose)
        .await?;
    let item = dl.item.clone();
    let body = Body::from_stream(app.stream_download(caller.actor(), dl));
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
    let safe = palisade_app::evidence::download_name(&item);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, body).into_response())
}

/// Export a signed bundle (a tar archive, streamed): the ledger as stored, its signed
/// checkpoints, the public key, the evidence manifest and, with `evidence=true`, the evidence
/// content (decrypted). The bundle is complete before the export is recorded, but for the
/// export's own events, which it ends with: every piece of evidence is read back and checked
/// first, and content that does not match its record is a problem answer (409) before any byte
/// of a bundle, with no `exported` event recorded.
#[utoipa::path(get, path = "/api/v1/incidents/{incident}/export", tag = "incidents",
    params(("incident" = String, Path, description = "id or codename"),
        ("purpose" = String, Query, min_length = 1, max_length = 2000, description = "why it is exported (recorded)"),
        ("evidence" = Option<bool>, Query, description = "include evidence content")),
    responses((status = 200, content_type = "application/x-tar", body = Binary, description = "the signed bundle (tar)"), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn export(
    State(app): State<App>,
    caller: Caller,
    Path(incident): Path<String>,
    query: StrictQuery,
) -> Result<Response, Problem> {
    let q = query.only(&["purpose", "evidence"])?;
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
    let plan = app
        .export_incident(caller.actor(), &incident, purpose, with_evidence)
        .await?;
    let codename = plan.state.codename.clone();
    let (mut w, stream) = palisade_app::streaming::channel();
    let body = Body::from_stream(stream);
    tokio::task::spawn_blocking(move || match plan.write_to(&mut w) {
        Ok(_) => {
            let _ = w.flush();
        }
        // The client went away: nothing to tell it.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            tracing::error!(error = %e, "an export bundle could not be written");
            w.abort(format!("export failed: {e}"));
        }
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"{codename}.palisade.tar\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, body).into_response())
}
