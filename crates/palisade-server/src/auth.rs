//! API tokens: random, shown once, stored as SHA-256 hashes, revocable. Every `/api/v1` endpoint
//! except the OpenAPI document requires one.

use crate::AppState;
use crate::problem::Problem;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use palisade_core::{AccountRole, UserName};
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "pal_";

/// A new random token: `pal_` + 32 random bytes, base64url without padding.
pub fn generate_token() -> Result<String, Problem> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Problem::internal(format!("random number generator failed: {e}")))?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random id for a token record (safe to show and log, unlike the token).
pub fn token_id() -> Result<String, Problem> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes)
        .map_err(|e| Problem::internal(format!("random number generator failed: {e}")))?;
    Ok(format!("tok_{}", hex::encode(bytes)))
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: String,
    pub user: UserName,
    pub role: AccountRole,
}

impl Caller {
    pub fn require_admin(&self) -> Result<(), Problem> {
        if self.role == AccountRole::Admin {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this needs an admin account; {} is a {}",
                self.user, self.role
            )))
        }
    }
    pub fn require_writer(&self) -> Result<(), Problem> {
        if self.role == AccountRole::Viewer {
            Err(Problem::forbidden(format!(
                "{} has a viewer account, which may read but not change anything",
                self.user
            )))
        } else {
            Ok(())
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
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
        let who = state
            .store
            .authenticate(&hash_token(token))
            .await?
            .ok_or_else(|| Problem::unauthorized("the token is unknown or has been revoked"))?;
        Ok(Caller {
            token_id: who.token_id,
            user: who.user,
            role: who.role,
        })
    }
}
