//! Signing in to the web UI: password hashes, one-time password links and web sessions. Only
//! digests of secrets are stored (SHA-256 of a link or session secret; argon2id of a password);
//! hashing is the application's job, the store keeps and compares the results.

use crate::{Result, Store, dispatch};
use palisade_core::{AccountRole, UserName};
use serde::Serialize;

/// A one-time link to set a password, as stored.
#[derive(Debug, Clone)]
pub struct NewPasswordLink {
    /// SHA-256 (hex) of the link's secret.
    pub link_hash: String,
    pub user: UserName,
    pub created_by: UserName,
    pub created_at: String,
    /// Unix seconds after which the link no longer works.
    pub expires_s: i64,
}

/// A new web session, as stored.
#[derive(Debug, Clone)]
pub struct NewWebSession {
    /// Safe to show and log (`ses_…`).
    pub id: String,
    /// SHA-256 (hex) of the cookie's secret.
    pub secret_hash: String,
    pub user: UserName,
    /// How the user signed in: `password`, `token` or `oidc`.
    pub method: String,
    pub user_agent: String,
    pub created_at: String,
    pub now_s: i64,
    pub expires_s: i64,
}

/// A web session: who, how, since when, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebSession {
    pub id: String,
    pub user: UserName,
    pub role: AccountRole,
    pub method: String,
    pub user_agent: String,
    pub created_at: String,
    pub last_seen_s: i64,
    pub expires_s: i64,
}

/// What redeeming a password link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The password is set for this user; the link is used up and the user's other web
    /// sessions are revoked.
    Set(UserName),
    /// No such link, or it was used or has expired.
    Invalid,
}

impl Store {
    /// The argon2id hash of `user`'s password, if one is set.
    pub async fn password_hash(&self, user: &UserName) -> Result<Option<String>> {
        dispatch!(self, s => s.password_hash(user).await)
    }
    /// Keep a one-time password link (its digest).
    pub async fn insert_password_link(&self, link: &NewPasswordLink) -> Result<()> {
        dispatch!(self, s => s.insert_password_link(link).await)
    }
    /// The user a live (unused, unexpired) link is for, without using it.
    pub async fn password_link_user(
        &self,
        link_hash: &str,
        now_s: i64,
    ) -> Result<Option<UserName>> {
        dispatch!(self, s => s.password_link_user(link_hash, now_s).await)
    }
    /// In one transaction: use up the link, set the password hash, revoke the user's web
    /// sessions. A link works once, before it expires.
    pub async fn redeem_password_link(
        &self,
        link_hash: &str,
        now_s: i64,
        password_hash: &str,
        at: &str,
    ) -> Result<Redeemed> {
        dispatch!(self, s => s.redeem_password_link(link_hash, now_s, password_hash, at).await)
    }
    pub async fn insert_web_session(&self, session: &NewWebSession) -> Result<()> {
        dispatch!(self, s => s.insert_web_session(session).await)
    }
    /// The live session whose secret has this digest (not revoked, not expired at `now_s`).
    pub async fn web_session(&self, secret_hash: &str, now_s: i64) -> Result<Option<WebSession>> {
        dispatch!(self, s => s.web_session(secret_hash, now_s).await)
    }
    /// Note that a session was used at `now_s`.
    pub async fn touch_web_session(&self, id: &str, now_s: i64) -> Result<()> {
        dispatch!(self, s => s.touch_web_session(id, now_s).await)
    }
    /// Live sessions, of one user or of everyone, newest first.
    pub async fn list_web_sessions(
        &self,
        user: Option<&UserName>,
        now_s: i64,
    ) -> Result<Vec<WebSession>> {
        dispatch!(self, s => s.list_web_sessions(user, now_s).await)
    }
    /// Revoke a live session (only one of `owner`'s when given). Whether one was revoked.
    pub async fn revoke_web_session(
        &self,
        id: &str,
        owner: Option<&UserName>,
        at: &str,
    ) -> Result<bool> {
        dispatch!(self, s => s.revoke_web_session(id, owner, at).await)
    }
}
