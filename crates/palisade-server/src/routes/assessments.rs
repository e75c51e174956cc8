//! `/assessments`: maturity assessments on the ledger. Start one for a kind of model, push its
//! answers file (each push a signed event: who, when, the file), read its pushes, and pull the
//! last file back for the offline commands (`palisade maturity assess --model …`). A new
//! confirmation in a pushed file must name the account that pushes it.

use super::{ApiStream, IntoCommand, PathArgs, answer, command};
use crate::extract::{Caller, CommandBody, StrictQuery};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::{App, Executed};
use palisade_core::Timestamp;
use palisade_core::types::{ResourceName, UserName};
use palisade_maturity::answers::Kind;
use palisade_maturity::stream::{AssessmentCommand, AssessmentState, CreateAssessment};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The family of model an assessment answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AssessmentKind {
    Samm,
    Dsomm,
    Csf,
    Bsimm,
}

impl From<Kind> for AssessmentKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Samm => AssessmentKind::Samm,
            Kind::Dsomm => AssessmentKind::Dsomm,
            Kind::Csf => AssessmentKind::Csf,
            Kind::Bsimm => AssessmentKind::Bsimm,
        }
    }
}

impl From<AssessmentKind> for Kind {
    fn from(k: AssessmentKind) -> Self {
        match k {
            AssessmentKind::Samm => Kind::Samm,
            AssessmentKind::Dsomm => Kind::Dsomm,
            AssessmentKind::Csf => Kind::Csf,
            AssessmentKind::Bsimm => Kind::Bsimm,
        }
    }
}

/// One push of the answers file.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssessmentRecordView {
    /// Its event's sequence number.
    pub seq: u64,
    #[schema(value_type = UserName)]
    pub by: String,
    #[schema(value_type = Timestamp)]
    pub at: String,
    /// SHA-256 of the file as pushed.
    pub sha256: String,
    pub model_version: String,
    /// Dated assessments in the file, and the newest date.
    pub assessments: usize,
    pub latest: Option<String>,
}

/// An assessment and its pushes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssessmentView {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    pub kind: AssessmentKind,
    /// Every push, oldest first.
    pub records: Vec<AssessmentRecordView>,
    #[schema(value_type = UserName)]
    pub created_by: String,
    #[schema(value_type = Timestamp)]
    pub created_at: String,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
    /// Number of ledger events.
    pub events: u64,
    /// The newest assessment's scores, when the server holds a model of its kind (the data
    /// directory's `maturity-models/`).
    pub scores: Option<AssessmentScoresView>,
    /// Why there are no scores, when there are none.
    pub scores_note: Option<String>,
}

/// A score (a SAMM level 0–3, or a share in per cent).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupScore {
    /// A business function, dimension, CSF function or BSIMM domain.
    pub name: String,
    pub score: Option<f64>,
}

/// An assessment's scores as its model computes them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssessmentScoresView {
    /// The dated assessment scored (the newest), and its team.
    pub date: String,
    pub team: Option<String>,
    /// The model version scored with; `same_version` false: the answers name another one
    /// (items the model does not have are skipped).
    pub model_version: String,
    pub same_version: bool,
    /// `score` (SAMM, 0 to `max`), `percent` (shares implemented: DSOMM, BSIMM) or `level`
    /// (CSF profile levels, 0 to `max`).
    pub unit: String,
    pub max: f64,
    pub overall: Option<f64>,
    pub groups: Vec<GroupScore>,
}

/// The view of an assessment, with its scores when the server can compute them.
pub fn view_of(app: &App, st: &AssessmentState) -> AssessmentView {
    let mut v = AssessmentView::from(st);
    match app.assessment_scores(st) {
        Some(Ok(s)) => {
            v.scores = Some(AssessmentScoresView {
                date: s.date,
                team: s.team,
                model_version: s.model_version,
                same_version: s.same_version,
                unit: match s.summary.unit {
                    palisade_maturity::history::Unit::Score => "score".into(),
                    palisade_maturity::history::Unit::Percent => "percent".into(),
                    palisade_maturity::history::Unit::Level => "level".into(),
                },
                max: s.summary.max,
                overall: s.summary.overall,
                groups: s
                    .summary
                    .groups
                    .into_iter()
                    .map(|(name, score)| GroupScore { name, score })
                    .collect(),
            })
        }
        Some(Err(why)) => v.scores_note = Some(format!("the answers do not score: {why}")),
        None if st.file.is_none() => v.scores_note = Some("no answers file pushed yet".into()),
        None => {
            v.scores_note = Some(format!(
                "this server holds no {} model: put the model file in the data directory's maturity-models/ (or score offline: palisade maturity pull, then assess --model)",
                st.kind.title()
            ))
        }
    }
    v
}

impl From<&AssessmentState> for AssessmentView {
    fn from(st: &AssessmentState) -> Self {
        AssessmentView {
            id: st.id,
            name: st.name.to_string(),
            kind: st.kind.into(),
            records: st
                .records
                .iter()
                .map(|r| AssessmentRecordView {
                    seq: r.seq,
                    by: r.by.to_string(),
                    at: r.at.to_string(),
                    sha256: r.sha256.clone(),
                    model_version: r.model_version.clone(),
                    assessments: r.assessments,
                    latest: r.latest.clone(),
                })
                .collect(),
            created_by: st.created_by.to_string(),
            created_at: st.created_at.to_string(),
            updated_at: st.updated_at.to_string(),
            events: st.last_seq,
            scores: None,
            scores_note: None,
        }
    }
}

impl ApiStream for AssessmentState {
    const PARAM: &'static str = "assessment";
    type View = AssessmentView;
    fn view(app: &App, st: &AssessmentState) -> AssessmentView {
        view_of(app, st)
    }
}

/// One assessment in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssessmentListItem {
    pub id: Uuid,
    #[schema(value_type = ResourceName)]
    pub name: String,
    pub kind: AssessmentKind,
    pub records: usize,
    pub latest: Option<String>,
    pub model_version: Option<String>,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssessmentList {
    pub assessments: Vec<AssessmentListItem>,
}

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/assessments", post(create).get(list))
        .route("/assessments/{assessment}", get(show_assessment))
        .route("/assessments/{assessment}/file", get(file))
        .route(
            "/assessments/{assessment}/records",
            post(command::<AssessmentState, RecordRequest>),
        )
}

/// A new assessment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssessmentRequest {
    /// Unique among assessments (`payments-samm`).
    #[schema(value_type = ResourceName)]
    pub name: String,
    pub kind: AssessmentKind,
}

/// An answers file to record (its text, as `palisade maturity template` writes it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    /// At most 1 MiB of YAML.
    pub file: String,
}

impl IntoCommand<AssessmentState> for RecordRequest {
    fn into_command(self, _: &PathArgs) -> Result<(AssessmentCommand, Option<Timestamp>), Problem> {
        Ok((AssessmentCommand::Record { file: self.file }, None))
    }
}

#[utoipa::path(post, path = "/api/v1/assessments", tag = "maturity",
    request_body = CreateAssessmentRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    responses((status = 201, body = AssessmentView), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// Start an assessment for a kind of model.
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    req: CommandBody<CreateAssessmentRequest>,
) -> Result<Response, Problem> {
    let opts = req.options(None);
    let create = CreateAssessment {
        name: req.body.name,
        kind: req.body.kind.into(),
    };
    let renderer = |e: &Executed<AssessmentState>| super::json_of(&AssessmentView::from(&e.state));
    let outcome = app
        .create_assessment(caller.actor(), create, &opts, Some(&renderer))
        .await?;
    Ok(answer(&app, StatusCode::CREATED, outcome))
}

#[utoipa::path(get, path = "/api/v1/assessments", tag = "maturity",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most this many (default 1000)")),
    responses((status = 200, body = AssessmentList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// Assessments by name.
pub async fn list(
    State(app): State<App>,
    _caller: Caller,
    query: StrictQuery,
) -> Result<Json<AssessmentList>, Problem> {
    let q = query.only(&["limit"])?;
    let limit = super::limit(&q, 1000)?;
    Ok(Json(AssessmentList {
        assessments: app
            .list_assessments(limit)
            .await?
            .into_iter()
            .map(|a| AssessmentListItem {
                id: a.id,
                name: a.name,
                kind: a.kind.into(),
                records: a.records,
                latest: a.latest,
                model_version: a.model_version,
                updated_at: a.updated_at,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/assessments/{assessment}", tag = "maturity",
    params(("assessment" = String, Path, description = "id or name")),
    responses((status = 200, body = AssessmentView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// An assessment and every push of its answers file.
pub async fn show_assessment(
    State(app): State<App>,
    caller: Caller,
    Path(assessment): Path<String>,
) -> Result<Json<AssessmentView>, Problem> {
    super::show::<AssessmentState>(&app, &caller, &assessment, "assessment").await
}

#[utoipa::path(get, path = "/api/v1/assessments/{assessment}/file", tag = "maturity",
    params(("assessment" = String, Path, description = "id or name")),
    responses((status = 200, body = String, content_type = "application/yaml", description = "the answers file as last pushed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// The answers file as last pushed, for `palisade maturity assess` and the other offline
/// commands.
pub async fn file(
    State(app): State<App>,
    caller: Caller,
    Path(assessment): Path<String>,
) -> Result<Response, Problem> {
    let st = app
        .read::<AssessmentState>(caller.actor(), &assessment, "assessment file", "api")
        .await?;
    let Some(text) = st.file else {
        return Err(Problem::not_found(format!(
            "{} has no answers file yet; push one with `palisade maturity push`",
            st.name
        )));
    };
    let mut resp = (StatusCode::OK, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    Ok(resp)
}

/// Documentation of the command route, which shares the generic handler ([`command`]).
pub mod docs {
    use super::*;

    /// Record an answers file: a new push of the assessment (refused when it does not read,
    /// answers another kind of model, is the file recorded last, or carries a new confirmation
    /// by someone other than the caller).
    #[utoipa::path(post, path = "/api/v1/assessments/{assessment}/records", tag = "maturity", request_body = RecordRequest,
        params(("assessment" = String, Path, description = "id or name"),
               ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
        responses((status = 200, body = AssessmentView),
            (status = 400, body = Problem, content_type = "application/problem+json"),
            (status = 401, body = Problem, content_type = "application/problem+json"),
            (status = 403, body = Problem, content_type = "application/problem+json"),
            (status = 404, body = Problem, content_type = "application/problem+json"),
            (status = 409, body = Problem, content_type = "application/problem+json"),
            (status = 422, body = Problem, content_type = "application/problem+json")),
        security(("bearer" = [])))]
    #[allow(dead_code)]
    pub fn record() {}
}
