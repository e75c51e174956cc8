//! Errors as RFC 9457 problem details (`application/problem+json`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_core::custody::custody_rules;
use palisade_core::incident::{Refusal, rules};
use palisade_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem detail. `type` is a `urn:palisade:problem:…` URI naming the kind of problem; `rule`
/// names the process rule when a command was refused.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:palisade:problem:{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            rule: None,
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

impl From<Refusal> for Problem {
    fn from(r: Refusal) -> Problem {
        let status = match r.rule {
            rules::READ_ONLY
            | rules::COMMANDER_ONLY
            | custody_rules::CUSTODIAN_ONLY
            | custody_rules::BREAK_GLASS => StatusCode::FORBIDDEN,
            custody_rules::EVIDENCE_HASH_MISMATCH => StatusCode::UNPROCESSABLE_ENTITY,
            rules::INVALID_INPUT | rules::UNKNOWN_REFERENCE => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        };
        let mut p = Problem::new(
            status,
            "rule-violation",
            "Refused by a process rule",
            r.message,
        );
        p.rule = Some(r.rule.to_string());
        p
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        match e {
            StoreError::Conflict { .. } => Problem::new(
                StatusCode::CONFLICT,
                "concurrent-change",
                "Changed concurrently",
                e.to_string(),
            ),
            StoreError::AlreadyExists(_) => Problem::new(
                StatusCode::CONFLICT,
                "already-exists",
                "Already exists",
                e.to_string(),
            ),
            StoreError::NotFound(what) => Problem::not_found(format!("{what} not found")),
            other => {
                tracing::error!(error = %other, "storage error");
                Problem::internal(
                    "the server could not complete the request because of a storage error; nothing was written. The server log has details.",
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
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
        resp
    }
}
