//! Request extractors: the authenticated caller, JSON bodies with problem-details errors (and the
//! idempotency key that may come with them), and strict query strings.

use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use palisade_app::accounts::{Session, TOKEN_PREFIX};
use palisade_app::{App, IdempotencyKey, Options};
use palisade_core::{Actor, Timestamp};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The authenticated caller (a bearer token). Every `/api/v1` endpoint but the OpenAPI document
/// requires one.
#[derive(Debug, Clone)]
pub struct Caller(pub Session);

impl Caller {
    pub fn actor(&self) -> &Actor {
        &self.0.actor
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                Problem::unauthorized(
                    "missing Authorization header; send `Authorization: Bearer <token>` (create a token with `palisade token create`)",
                )
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(TOKEN_PREFIX) && t.len() < 100)
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header is not `Bearer pal_…`")
            })?;
        let session = app
            .authenticate(token)
            .await?
            .ok_or_else(|| Problem::unauthorized("the token is unknown or has been revoked"))?;
        Ok(Caller(session))
    }
}

/// Read a request body, answering 413 beyond the limit.
async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Problem> {
    Bytes::from_request(req, state).await.map_err(|e| {
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
    })
}

/// Parse a JSON body; an empty body reads as `{}`, so commands without required fields can be
/// posted without one. Malformed JSON is 400; well-formed JSON of the wrong shape (a missing
/// field, a bad value) is 422.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice::<T>(text).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => Problem::unprocessable(format!("invalid request body: {e}")),
            _ => Problem::bad_request(format!("malformed JSON: {e}")),
        }
    })
}

/// A JSON request body with problem-details errors.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        Ok(ApiJson(parse_json(&bytes)?))
    }
}

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// A command's JSON body and, when the client sent an `Idempotency-Key` header, that key with a
/// digest of the request (method, path and body), so a repeat gets the first answer.
pub struct CommandBody<T> {
    pub body: T,
    pub idempotency: Option<IdempotencyKey>,
}

impl<T> CommandBody<T> {
    /// Recording options for this request.
    pub fn options(&self, occurred_at: Option<Timestamp>) -> Options {
        Options {
            occurred_at,
            idempotency: self.idempotency.clone(),
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CommandBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = idempotency_header(req.headers())?;
        let operation = format!("{} {}", req.method(), req.uri().path());
        let bytes = body_bytes(req, state).await?;
        let body = parse_json(&bytes)?;
        let idempotency = match key {
            Some(k) => Some(IdempotencyKey::new(&k, &operation, &bytes).map_err(Problem::from)?),
            None => None,
        };
        Ok(CommandBody { body, idempotency })
    }
}

/// The `Idempotency-Key` a request carries, if any (not yet checked as a key).
fn idempotency_header(headers: &axum::http::HeaderMap) -> Result<Option<String>, Problem> {
    headers
        .get(IDEMPOTENCY_HEADER)
        .map(|v| {
            v.to_str().map(str::to_string).map_err(|_| {
                Problem::bad_request("the Idempotency-Key header is not printable ASCII")
            })
        })
        .transpose()
}

/// The idempotency key of a request whose body is not JSON (a streamed upload), with a digest
/// of its method, path and query string; the application extends it with the content's hash
/// once the content is read ([`IdempotencyKey::covering`]).
pub struct UploadKey(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for UploadKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(k) = idempotency_header(&parts.headers)? else {
            return Ok(UploadKey(None));
        };
        let operation = format!("{} {}", parts.method, parts.uri.path());
        let query = parts.uri.query().unwrap_or_default();
        IdempotencyKey::new(&k, &operation, query.as_bytes())
            .map(|k| UploadKey(Some(k)))
            .map_err(Problem::from)
    }
}

/// A query string whose parameters are all among `allowed`: an unknown parameter is a 400 that
/// names the accepted ones, never silently ignored.
pub struct StrictQuery(pub HashMap<String, String>);

impl StrictQuery {
    pub fn only(self, allowed: &[&str]) -> Result<HashMap<String, String>, Problem> {
        for k in self.0.keys() {
            if !allowed.contains(&k.as_str()) {
                return Err(Problem::bad_request(format!(
                    "unknown query parameter {k:?}; accepted: {}",
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
                )));
            }
        }
        Ok(self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for StrictQuery {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(q) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?;
        Ok(StrictQuery(q))
    }
}

/// A number in a path (`steps/3`, `statements/2`): anything else names nothing (404).
pub fn path_number(what: &str, s: &str) -> Result<u32, Problem> {
    s.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| Problem::not_found(format!("no {what} {s:?}: they are numbered 1, 2, 3 …")))
}

/// An evidence number in a path (`E4`, `e4` or `4`).
pub fn evidence_number(s: &str) -> Result<u32, Problem> {
    s.trim_start_matches(['E', 'e'])
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Problem::not_found(format!("no evidence {s:?}; evidence is numbered E1, E2, …"))
        })
}
