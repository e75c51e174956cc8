//! Findings: reports uploaded per service and phase (`/services/{service}/findings/uploads`),
//! each compared with its scan; findings listed as they stand now, shown with their history,
//! accepted, marked false positives and reopened; a service's scans.

use super::{ApiStream, IntoCommand, PathArgs, command};
use crate::extract::{Caller, StrictQuery};
use crate::problem::Problem;
use crate::views::HistoryView;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use palisade_app::App;
use palisade_app::findings::{FindingFilter, FindingRow, Upload, UploadAnswer, Uploaded};
use palisade_core::Timestamp;
use palisade_core::finding::{FindingCommand, FindingState, FindingStatus, Triage};
use palisade_core::types::{FindingKind, FindingSeverity, Phase};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Largest report uploaded (the reader's own limit).
pub const REPORT_LIMIT: usize = palisade_findings::MAX_REPORT_BYTES;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/services/{service}/findings/uploads",
            post(upload).layer(DefaultBodyLimit::max(REPORT_LIMIT)),
        )
        .route("/services/{service}/scans", get(scans))
        .route("/findings/rematch", post(rematch))
        .route("/findings", get(list))
        .route("/findings/{finding}", get(show_finding))
        .route(
            "/findings/{finding}/accept",
            post(command::<FindingState, AcceptRequest>),
        )
        .route(
            "/findings/{finding}/false-positive",
            post(command::<FindingState, FalsePositiveRequest>),
        )
        .route(
            "/findings/{finding}/reopen",
            post(command::<FindingState, ReopenRequest>),
        )
}

/// A triage mark as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TriageView {
    /// `accepted` or `false_positive`.
    pub kind: String,
    pub by: String,
    pub reason: String,
    #[schema(value_type = Timestamp)]
    pub at: String,
    #[schema(value_type = Option<Timestamp>)]
    pub expires_at: Option<String>,
    /// Whether it still holds.
    pub in_force: bool,
}

impl TriageView {
    fn of(t: &Triage, now: Timestamp) -> TriageView {
        TriageView {
            kind: t.kind.as_str().to_string(),
            by: t.by.to_string(),
            reason: t.reason.clone(),
            at: t.at.to_string(),
            expires_at: t.expires_at.map(|e| e.to_string()),
            in_force: t.in_force(now),
        }
    }
}

/// A finding as it stands now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FindingView {
    pub id: Uuid,
    pub service: Uuid,
    pub scan: Uuid,
    /// `code`, `build`, `release` or `deploy`.
    pub phase: String,
    /// `secret`, `dependency`, `image`, `config` or `code`.
    pub kind: String,
    /// The rule or advisory id.
    pub rule: String,
    pub title: String,
    /// `critical`, `high`, `medium`, `low` or `info`.
    pub severity: String,
    pub location: Option<String>,
    pub package: Option<String>,
    pub fingerprint: String,
    /// What it counts as now: `open`, `accepted`, `false_positive` or `fixed`.
    pub status: String,
    /// Open and past its due date.
    pub overdue: bool,
    /// Its risk acceptance ran out (it counts as open).
    pub acceptance_expired: bool,
    #[schema(value_type = Timestamp)]
    pub first_seen: String,
    /// When a run of its scan last reported it (while open, its scan's latest run).
    #[schema(value_type = Option<Timestamp>)]
    pub last_seen: Option<String>,
    #[schema(value_type = Option<Timestamp>)]
    pub fixed_at: Option<String>,
    #[schema(value_type = Option<Timestamp>)]
    pub due_at: Option<String>,
    pub triage: Option<TriageView>,
    /// Times it came back after a fix.
    pub reopened: u32,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
    /// Number of ledger events.
    pub events: u64,
    /// Its events, oldest first (empty in lists).
    pub history: Vec<HistoryView>,
}

impl FindingView {
    fn of(r: &FindingRow, now: Timestamp) -> FindingView {
        let f = &r.finding;
        FindingView {
            id: f.id,
            service: f.service,
            scan: f.scan,
            phase: f.phase.as_str().to_string(),
            kind: f.observed.kind.as_str().to_string(),
            rule: f.observed.rule.clone(),
            title: f.observed.title.clone(),
            severity: f.observed.severity.as_str().to_string(),
            location: f.observed.location.clone(),
            package: f.observed.package.clone(),
            fingerprint: f.observed.fingerprint.clone(),
            status: r.status.as_str().to_string(),
            overdue: r.overdue,
            acceptance_expired: r.acceptance_expired,
            first_seen: f.first_seen.to_string(),
            last_seen: r.last_seen.map(|t| t.to_string()),
            fixed_at: f.fixed_at.map(|t| t.to_string()),
            due_at: f.due_at.map(|t| t.to_string()),
            triage: f.triage.as_ref().map(|t| TriageView::of(t, now)),
            reopened: f.reopened,
            updated_at: f.updated_at.to_string(),
            events: f.last_seq,
            history: f.history.iter().map(HistoryView::from).collect(),
        }
    }
    /// A command's answer: the state as its own events say (the scan's latest run is not read).
    fn of_state(st: &FindingState) -> FindingView {
        let now = palisade_app::now();
        FindingView::of(&FindingRow::of(st.clone(), now, None), now)
    }
}

impl ApiStream for FindingState {
    const PARAM: &'static str = "finding";
    type View = FindingView;
    fn view(_: &App, st: &FindingState) -> FindingView {
        FindingView::of_state(st)
    }
}

/// Findings, most severe first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FindingList {
    pub findings: Vec<FindingView>,
    /// How many matched (the list holds at most `limit` of them, from `offset`).
    pub total: usize,
}

/// What an upload did: the run's counts against what the scan held.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadView {
    pub service: Uuid,
    pub scan: Uuid,
    pub tool: String,
    pub phase: String,
    /// The run's number in its scan.
    pub run: u64,
    /// `sarif`, `cyclonedx`, `osv-scanner`, `palisade-secrets` or `palisade-deps`.
    pub format: String,
    /// SHA-256 of the uploaded report (hex).
    pub sha256: String,
    pub results: u32,
    pub new: u32,
    pub fixed: u32,
    pub reopened: u32,
    pub unchanged: u32,
    /// Results that could not be read, with why (the others were).
    pub skipped: Vec<String>,
    /// Findings this run opened.
    pub opened: Vec<Uuid>,
    /// Whether the report is an SBOM.
    pub is_sbom: bool,
    /// For an environment's SBOM: what matching it against the vulnerability index found
    /// (null without an index).
    pub monitored: Option<MonitoredView>,
}

/// Findings a match of deployed components opened, fixed and reopened.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MonitoredView {
    pub new: u32,
    pub fixed: u32,
    pub reopened: u32,
}

/// What matching every deployed SBOM again did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RematchView {
    /// Deployed SBOMs matched.
    pub sboms: usize,
    /// Their components, in all.
    pub components: usize,
    pub new: u32,
    pub fixed: u32,
    pub reopened: u32,
    /// Alerts raised on services for new critical and high findings.
    pub alerts: usize,
    /// Whether there is a vulnerability index (`palisade db import`) to match against.
    pub index: bool,
}

impl From<Uploaded> for UploadView {
    fn from(u: Uploaded) -> Self {
        UploadView {
            service: u.service,
            scan: u.scan,
            tool: u.tool,
            phase: u.phase.as_str().to_string(),
            run: u.run,
            format: u.format,
            sha256: u.sha256,
            results: u.counts.results,
            new: u.counts.new,
            fixed: u.counts.fixed,
            reopened: u.counts.reopened,
            unchanged: u.counts.unchanged,
            skipped: u.skipped,
            opened: u.opened,
            is_sbom: u.is_sbom,
            monitored: u.monitored.map(|c| MonitoredView {
                new: c.new,
                fixed: c.fixed,
                reopened: c.reopened,
            }),
        }
    }
}

/// A service's scan: one tool's uploads in one phase.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScanView {
    pub id: Uuid,
    pub phase: String,
    pub tool: String,
    pub name: Option<String>,
    pub runs: u64,
    #[schema(value_type = Option<Timestamp>)]
    pub last_run_at: Option<String>,
    /// The last run's format.
    pub last_format: Option<String>,
    pub last_results: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScanList {
    pub scans: Vec<ScanView>,
}

fn parse<T: std::str::FromStr>(
    q: &std::collections::HashMap<String, String>,
    key: &str,
) -> Result<Option<T>, Problem>
where
    T::Err: std::fmt::Display,
{
    q.get(key)
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| Problem::unprocessable(format!("{key}: {e}")))
        })
        .transpose()
}

#[utoipa::path(post, path = "/api/v1/services/{service}/findings/uploads", tag = "findings",
    request_body(content = String, description = "the report: SARIF 2.1.0, CycloneDX JSON, OSV-Scanner JSON, or Palisade's JSON (at most 64 MiB)", content_type = "application/json"),
    params(("service" = String, Path, description = "id or name"),
        ("phase" = String, Query, pattern = "^(design|plan|code|build|release|deploy)$", description = "the lifecycle phase the scan ran in"),
        ("tool" = Option<String>, Query, description = "the scan's tool (default: as the report names itself)"),
        ("name" = Option<String>, Query, description = "one of several scans of a tool in a phase (a monorepo's part)"),
        ("kind" = Option<String>, Query, pattern = "^(secret|dependency|image|config|code)$", description = "the kind of every finding, for reports that do not say"),
        ("environment" = Option<String>, Query, description = "for an SBOM: the environment it is what runs in; kept and matched again whenever the vulnerability data changes"),
        ("release" = Option<String>, Query, description = "with environment: the release deployed (a version or tag)"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    responses((status = 201, body = UploadView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// Upload a report: new findings are opened, missing ones fixed, returning ones reopened, and
/// the run recorded, before the answer.
pub async fn upload(
    State(app): State<App>,
    caller: Caller,
    Path(service): Path<String>,
    query: StrictQuery,
    req: Request,
) -> Result<Response, Problem> {
    let q = query.only(&["phase", "tool", "name", "kind", "environment", "release"])?;
    let phase: Phase = parse(&q, "phase")?.ok_or_else(|| {
        Problem::unprocessable("phase is required: code, build, release or deploy")
    })?;
    let kind: Option<FindingKind> = parse(&q, "kind")?;
    let key = match req.headers().get(crate::extract::IDEMPOTENCY_HEADER) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    Problem::bad_request("the Idempotency-Key header is not printable ASCII")
                })?
                .to_string(),
        ),
        None => None,
    };
    let operation = format!(
        "{} {}",
        req.method(),
        req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("")
    );
    let bytes: Bytes = axum::body::to_bytes(req.into_body(), REPORT_LIMIT)
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
                format!("a report is at most {REPORT_LIMIT} bytes; split it by scan (--name)"),
            )
        })?;
    let idempotency = key
        .map(|k| palisade_app::IdempotencyKey::new(&k, &operation, &bytes))
        .transpose()?;
    let opts = palisade_app::Options {
        occurred_at: None,
        idempotency,
    };
    let up = Upload {
        service,
        phase,
        tool: q.get("tool").cloned(),
        name: q.get("name").cloned(),
        kind,
        environment: q.get("environment").cloned(),
        release: q.get("release").cloned(),
        report: bytes.to_vec(),
    };
    let text = match app.upload_report(caller.actor(), up, &opts).await? {
        UploadAnswer::Done(u) => super::json_of(&UploadView::from(u)),
        UploadAnswer::Replayed(t) => match serde_json::from_str::<Uploaded>(&t) {
            Ok(u) => super::json_of(&UploadView::from(u)),
            Err(_) => t,
        },
    };
    Ok(super::json_text(StatusCode::CREATED, text))
}

#[utoipa::path(get, path = "/api/v1/findings", tag = "findings",
    params(("service" = Option<String>, Query, description = "one service's (id or name)"),
        ("phase" = Option<String>, Query, pattern = "^(design|plan|code|build|release|deploy)$", description = "one phase's"),
        ("kind" = Option<String>, Query, pattern = "^(secret|dependency|image|config|code)$", description = "one kind's"),
        ("status" = Option<String>, Query, pattern = "^(open|accepted|false_positive|fixed)$", description = "as it stands now"),
        ("min_severity" = Option<String>, Query, pattern = "^(critical|high|medium|low|info)$", description = "at least this severe"),
        ("overdue" = Option<bool>, Query, description = "only open findings past their due date"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "at most this many (default 100)"),
        ("offset" = Option<u32>, Query, minimum = 0, description = "skip this many (default 0)"),
        ("at" = Option<String>, Query, format = DateTime, description = "as they stand at this time (default now): what fails once an acceptance runs out")),
    responses((status = 200, body = FindingList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// Findings as they stand now, most severe first, then oldest first.
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    query: StrictQuery,
) -> Result<Json<FindingList>, Problem> {
    let q = query.only(&[
        "service",
        "phase",
        "kind",
        "status",
        "min_severity",
        "overdue",
        "limit",
        "offset",
        "at",
    ])?;
    let filter = FindingFilter {
        service: q.get("service").cloned(),
        phase: parse::<Phase>(&q, "phase")?,
        kind: parse::<FindingKind>(&q, "kind")?,
        status: parse::<FindingStatus>(&q, "status")?,
        min_severity: parse::<FindingSeverity>(&q, "min_severity")?,
        overdue: parse::<bool>(&q, "overdue")?.unwrap_or(false),
        at: q
            .get("at")
            .map(|v| Timestamp::parse(v).map_err(|e| Problem::unprocessable(format!("at: {e}"))))
            .transpose()?,
    };
    let limit = parse::<u32>(&q, "limit")?.unwrap_or(100);
    if !(1..=10_000).contains(&limit) {
        return Err(Problem::unprocessable("limit must be 1 … 10000"));
    }
    let offset = parse::<u32>(&q, "offset")?.unwrap_or(0) as usize;
    let rows = app.list_findings(caller.actor(), &filter).await?;
    let now = filter.at.unwrap_or_else(palisade_app::now);
    Ok(Json(FindingList {
        total: rows.len(),
        findings: rows
            .iter()
            .skip(offset)
            .take(limit as usize)
            .map(|r| FindingView::of(r, now))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/findings/{finding}", tag = "findings",
    params(("finding" = String, Path, description = "id")),
    responses((status = 200, body = FindingView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// A finding with its history: who opened, fixed, accepted or reopened it, and when.
pub async fn show_finding(
    State(app): State<App>,
    caller: Caller,
    Path(finding): Path<String>,
) -> Result<Json<FindingView>, Problem> {
    let st = app
        .read::<FindingState>(caller.actor(), &finding, "finding", "api")
        .await?;
    let row = app.finding_row(st).await?;
    Ok(Json(FindingView::of(&row, palisade_app::now())))
}

#[utoipa::path(post, path = "/api/v1/findings/rematch", tag = "findings",
    responses((status = 200, body = RematchView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// Match every deployed SBOM against the vulnerability index now (admins; the server also does
/// it by itself within a minute of the index changing).
pub async fn rematch(State(app): State<App>, caller: Caller) -> Result<Json<RematchView>, Problem> {
    let r = app.rematch_as(caller.actor()).await?;
    Ok(Json(RematchView {
        sboms: r.sboms,
        components: r.components,
        new: r.new,
        fixed: r.fixed,
        reopened: r.reopened,
        alerts: r.alerts,
        index: r.index,
    }))
}

#[utoipa::path(get, path = "/api/v1/services/{service}/scans", tag = "findings",
    params(("service" = String, Path, description = "id or name")),
    responses((status = 200, body = ScanList), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
/// A service's scans, most recently run first.
pub async fn scans(
    State(app): State<App>,
    caller: Caller,
    Path(service): Path<String>,
) -> Result<Json<ScanList>, Problem> {
    let list = app.list_scans(caller.actor(), &service).await?;
    Ok(Json(ScanList {
        scans: list
            .into_iter()
            .map(|s| ScanView {
                id: s.id,
                phase: s.phase.as_str().to_string(),
                tool: s.tool,
                name: s.name,
                runs: s.runs,
                last_run_at: s.last_run_at.map(|t| t.to_string()),
                last_format: s.last_format,
                last_results: s.last_counts.map(|c| c.results),
            })
            .collect(),
    }))
}

/// Accept the risk of an open finding until a date (a waiver).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// Why the risk is acceptable (10–2,000 characters).
    pub reason: String,
    /// When the acceptance ends (in the future, at most 366 days ahead).
    #[schema(value_type = Timestamp)]
    pub expires_at: Timestamp,
}

/// Mark an open finding not a real problem.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FalsePositiveRequest {
    /// Why it is not a real problem (10–2,000 characters).
    pub reason: String,
    /// When the mark ends (optional; in the future, at most 366 days ahead).
    #[serde(default)]
    #[schema(value_type = Option<Timestamp>)]
    pub expires_at: Option<Timestamp>,
}

/// Withdraw an acceptance or false-positive mark.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    /// Why (10–2,000 characters).
    pub reason: String,
}

impl IntoCommand<FindingState> for AcceptRequest {
    fn into_command(self, _: &PathArgs) -> Result<(FindingCommand, Option<Timestamp>), Problem> {
        Ok((
            FindingCommand::Accept {
                reason: self.reason,
                expires_at: self.expires_at,
            },
            None,
        ))
    }
}
impl IntoCommand<FindingState> for FalsePositiveRequest {
    fn into_command(self, _: &PathArgs) -> Result<(FindingCommand, Option<Timestamp>), Problem> {
        Ok((
            FindingCommand::FalsePositive {
                reason: self.reason,
                expires_at: self.expires_at,
            },
            None,
        ))
    }
}
impl IntoCommand<FindingState> for ReopenRequest {
    fn into_command(self, _: &PathArgs) -> Result<(FindingCommand, Option<Timestamp>), Problem> {
        Ok((
            FindingCommand::Reopen {
                reason: self.reason,
            },
            None,
        ))
    }
}

/// Documentation of the command routes, which share one handler ([`command`]).
pub mod docs {
    use super::*;

    macro_rules! finding_command_doc {
        ($name:ident, $path:literal, $body:ty, $summary:literal) => {
            #[doc = $summary]
            #[utoipa::path(post, path = $path, tag = "findings", request_body = $body,
                params(("finding" = String, Path, description = "id"),
                       ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
                responses((status = 200, body = FindingView),
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

    finding_command_doc!(
        accept,
        "/api/v1/findings/{finding}/accept",
        AcceptRequest,
        "Accept an open finding's risk until a date, with a reason (recorded on the ledger)."
    );
    finding_command_doc!(
        false_positive,
        "/api/v1/findings/{finding}/false-positive",
        FalsePositiveRequest,
        "Mark an open finding a false positive, with a reason and an optional expiry."
    );
    finding_command_doc!(
        reopen,
        "/api/v1/findings/{finding}/reopen",
        ReopenRequest,
        "Withdraw an acceptance or false-positive mark: the finding counts as open again."
    );
}
