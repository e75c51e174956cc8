//! `/tokens` and `/me`: API tokens (admins create and list them; anyone revokes their own).

use crate::extract::{ApiJson, Caller};
use crate::problem::Problem;
use crate::views::{Me, TokenCreated, TokenView};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use palisade_app::App;
use palisade_core::{AccountRole, UserName};
use serde::Deserialize;
use utoipa::ToSchema;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/tokens", post(create_token).get(list_tokens))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/password-links", post(create_password_link))
        .route("/me", get(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The user the token acts as; created if it does not exist (then `role` is required).
    pub user: UserName,
    /// The role of a new user.
    #[serde(default)]
    pub role: Option<AccountRole>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub label: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenRequest,
    responses((status = 201, body = TokenCreated), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_token(
    State(app): State<App>,
    caller: Caller,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<TokenCreated>), Problem> {
    let (token, info) = app
        .create_token(caller.actor(), req.user, req.role, req.label)
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
    responses((status = 200, body = [TokenView]), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_tokens(
    State(app): State<App>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, Problem> {
    Ok(Json(
        app.list_tokens(caller.actor())
            .await?
            .into_iter()
            .map(TokenView::from)
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "token id (tok_…)")),
    responses((status = 204, description = "revoked"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    app.revoke_token(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "tokens",
    responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        user: caller.0.actor.user.to_string(),
        role: caller.0.actor.account_role.to_string(),
        token_id: caller.0.token_id,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordLinkRequest {
    /// The user who sets a password; created if it does not exist (then `role` is required).
    pub user: UserName,
    /// The role of a new user.
    #[serde(default)]
    pub role: Option<AccountRole>,
}

/// A one-time link to set a password for the web UI.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct PasswordLinkCreated {
    #[schema(value_type = UserName)]
    pub user: String,
    /// The link's path on this server (`/welcome/pwl_…`). It works once, is shown only this
    /// once, and only its hash is stored.
    #[schema(example = "/welcome/pwl_…")]
    pub path: String,
    /// When the link stops working (72 hours after it was made).
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: String,
}

/// Create a one-time link for a user to set a password (admins only). Using it ends the
/// user's web sessions.
#[utoipa::path(post, path = "/api/v1/password-links", tag = "tokens", request_body = PasswordLinkRequest,
    responses((status = 201, body = PasswordLinkCreated), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_password_link(
    State(app): State<App>,
    caller: Caller,
    ApiJson(req): ApiJson<PasswordLinkRequest>,
) -> Result<(StatusCode, Json<PasswordLinkCreated>), Problem> {
    let link = app
        .create_password_link(caller.actor(), req.user, req.role)
        .await?;
    let expires_at = time::OffsetDateTime::from_unix_timestamp(link.expires_s)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(PasswordLinkCreated {
            user: link.user.to_string(),
            path: format!("/welcome/{}", link.secret),
            expires_at,
        }),
    ))
}
