//! Accounts: users, API tokens (stored as hashes), and the public halves of signing keys.

use crate::{Authenticated, NewToken, Result, Store, TokenInfo, User, dispatch};
use palisade_core::{AccountRole, UserName};

/// What revoking a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    Done,
    /// No live token has that id.
    NotFound,
    /// It is the last live admin token, kept (rule `last-admin`).
    LastAdmin,
}

impl Store {
    pub async fn create_user(&self, name: &UserName, role: AccountRole) -> Result<User> {
        dispatch!(self, s => s.create_user(name, role).await)
    }
    pub async fn user(&self, name: &UserName) -> Result<Option<User>> {
        dispatch!(self, s => s.user(name).await)
    }
    pub async fn user_count(&self) -> Result<u64> {
        dispatch!(self, s => s.user_count().await)
    }
    /// Store a new token (only its hash).
    pub async fn insert_token(&self, token: &NewToken) -> Result<TokenInfo> {
        dispatch!(self, s => s.insert_token(token).await)
    }
    /// The live (not revoked) token with this hash.
    pub async fn authenticate(&self, token_hash: &str) -> Result<Option<Authenticated>> {
        dispatch!(self, s => s.authenticate(token_hash).await)
    }
    /// Revoke a token, unless it is the last live admin token.
    pub async fn revoke_token(&self, id: &str, at: &str) -> Result<Revoked> {
        dispatch!(self, s => s.revoke_token(id, at).await)
    }
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        dispatch!(self, s => s.list_tokens().await)
    }
    /// Record the public half of a signing key, for auditors reading the database.
    pub async fn register_key(&self, key_id: &str, public_hex: &str, at: &str) -> Result<()> {
        dispatch!(self, s => s.register_key(key_id, public_hex, at).await)
    }
}
