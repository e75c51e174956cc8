//! Errors as RFC 9457 problem details (`application/problem+json`). Every status follows from
//! the application error's kind (a refusal's from its rule's kind), so no rule id is listed here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_app::AppError;
use palisade_core::RefusalKind;
use serde::Serialize;
use utoipa::ToSchema;

tokio::task_local! {
    /// The id of the request being served (set by the request-id middleware).
    pub static REQUEST_ID: String;
}

/// The id of the request being served, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A problem detail. `type` is a `urn:palisade:problem:…` URI naming the kind of problem; `rule`
/// names the process rule when a command was refused; `request_id` matches the server's log
/// lines for the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:palisade:problem:<kind>`, e.g. `urn:palisade:problem:rule-violation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What happened and what to do next.
    pub detail: String,
    /// The process rule that refused the command (with `rule-violation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// How the rule refused: `invalid_input`, `permission`, `precondition` or `conflict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// The request's id, as in the server's log and the `x-request-id` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:palisade:problem:{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            rule: None,
            refusal: None,
            request_id: None,
        }
    }
    pub fn not_found(what: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", what)
    }
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }
    pub fn unprocessable(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            "Invalid input",
            detail,
        )
    }
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
    }
    pub fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            detail,
        )
    }
}

/// The HTTP status of a refusal, from its kind.
pub fn refusal_status(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
        RefusalKind::Permission => StatusCode::FORBIDDEN,
        RefusalKind::Precondition | RefusalKind::Conflict => StatusCode::CONFLICT,
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        let detail = e.to_string();
        match e {
            AppError::NotFound(_) => Problem::not_found(detail),
            AppError::Refused(r) => {
                let kind = r.kind();
                let mut p = Problem::new(
                    refusal_status(kind),
                    "rule-violation",
                    "Refused by a process rule",
                    r.message,
                );
                p.rule = Some(r.rule.id.to_string());
                p.refusal = Some(kind.as_str().to_string());
                p
            }
            AppError::Forbidden(_) => Problem::forbidden(detail),
            AppError::Invalid(_) => Problem::unprocessable(detail),
            AppError::Conflict(_) => Problem::new(
                StatusCode::CONFLICT,
                "concurrent-change",
                "Changed concurrently",
                detail,
            ),
            AppError::Taken(_) => Problem::new(
                StatusCode::CONFLICT,
                "already-exists",
                "Already exists",
                detail,
            ),
            AppError::IdempotencyMismatch(_) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
                detail,
            ),
            AppError::Unavailable(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Storage unavailable",
                detail,
            ),
            AppError::Full(_) => Problem::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient-storage",
                "Storage full",
                detail,
            ),
            AppError::UnknownOutcome(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "unknown-outcome",
                "Outcome unknown",
                detail,
            ),
            AppError::Integrity { .. } => Problem::new(
                StatusCode::CONFLICT,
                "evidence-integrity",
                "Evidence failed its integrity check",
                detail,
            ),
            AppError::TooLarge(_) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Too large",
                detail,
            ),
            AppError::Unauthenticated(_) => Problem::unauthorized(detail),
            AppError::TooManyAttempts { .. } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-attempts",
                "Too many attempts",
                detail,
            ),
            AppError::Internal(_) => Problem::internal(detail),
        }
    }
}

impl From<palisade_core::Refusal> for Problem {
    fn from(r: palisade_core::Refusal) -> Problem {
        AppError::Refused(r).into()
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.request_id.is_none() {
            self.request_id = current_request_id();
        }
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"palisade\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        resp
    }
}
