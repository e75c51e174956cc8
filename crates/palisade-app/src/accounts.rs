//! Accounts: users and API tokens (random, shown once, stored as SHA-256 hashes, revocable),
//! authentication, and the first admin of a new deployment.

use crate::error::{AppError, Result};
use crate::{App, now};
use palisade_core::{AccountRole, Actor, UserName};
use palisade_store::{NewToken, Revoked, Store, StoreError, TokenInfo};
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "pal_";

/// A new random token: `pal_` + 32 random bytes, base64url without padding.
pub fn generate_token() -> Result<String> {
    crate::signin::random_secret(TOKEN_PREFIX)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random id for a token record (safe to show and log, unlike the token).
pub fn token_id() -> Result<String> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::internal("the random number generator failed", e))?;
    Ok(format!("tok_{}", hex::encode(bytes)))
}

/// Who a request comes from: the account and the token it used.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub token_id: String,
}

/// On a database with no users, create the `admin` account and a token for it; the token is
/// returned to be shown once. Several instances starting together on one empty database agree on
/// one admin: whoever creates it first also makes its token; the others find it and make none.
pub async fn bootstrap_admin(
    store: &Store,
) -> std::result::Result<Option<String>, crate::StartError> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let admin = UserName::parse("admin").expect("valid");
    match store.create_user(&admin, AccountRole::Admin).await {
        Ok(_) => {}
        Err(StoreError::AlreadyExists(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let bad = |e: AppError| crate::StartError::Bootstrap(e.to_string());
    let token = generate_token().map_err(bad)?;
    store
        .insert_token(&NewToken {
            id: token_id().map_err(bad)?,
            user: admin,
            label: "bootstrap".into(),
            token_hash: hash_token(&token),
            created_at: now().to_string(),
        })
        .await?;
    Ok(Some(token))
}

pub(crate) fn require_admin(actor: &Actor) -> Result<()> {
    if actor.account_role == AccountRole::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "this needs an admin account; {} is a {}",
            actor.user, actor.account_role
        )))
    }
}

impl App {
    /// The session a bearer token opens, if it is live.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Session>> {
        let who = self.inner.store.authenticate(&hash_token(token)).await?;
        Ok(who.map(|w| Session {
            actor: Actor {
                user: w.user,
                account_role: w.role,
            },
            token_id: w.token_id,
        }))
    }

    /// Create a token for `user` (admins only), creating the user with `role` if it does not
    /// exist. Returns the secret (to show once) and the record.
    pub async fn create_token(
        &self,
        actor: &Actor,
        user: UserName,
        role: Option<AccountRole>,
        label: Option<String>,
    ) -> Result<(String, TokenInfo)> {
        require_admin(actor)?;
        let store = &self.inner.store;
        match (store.user(&user).await?, role) {
            (Some(existing), Some(r)) if existing.role != r => {
                return Err(AppError::Invalid(format!(
                    "user {user} already exists as {}; omit `role` or use that role",
                    existing.role
                )));
            }
            (Some(_), _) => {}
            (None, Some(r)) => match store.create_user(&user, r).await {
                Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            },
            (None, None) => {
                return Err(AppError::Invalid(format!(
                    "there is no user {user}; give a role (admin, responder or viewer) to create one"
                )));
            }
        }
        let label = label.unwrap_or_default();
        if label.chars().count() > 200 {
            return Err(AppError::Invalid(
                "a token label is at most 200 characters".into(),
            ));
        }
        let token = generate_token()?;
        let info = store
            .insert_token(&NewToken {
                id: token_id()?,
                user,
                label,
                token_hash: hash_token(&token),
                created_at: now().to_string(),
            })
            .await?;
        Ok((token, info))
    }

    /// Every token (admins only).
    pub async fn list_tokens(&self, actor: &Actor) -> Result<Vec<TokenInfo>> {
        require_admin(actor)?;
        Ok(self.inner.store.list_tokens().await?)
    }

    /// Revoke a token: anyone their own, admins anyone's.
    pub async fn revoke_token(&self, session: &Session, id: &str) -> Result<()> {
        if id != session.token_id {
            require_admin(&session.actor)?;
        }
        match self
            .inner
            .store
            .revoke_token(id, &now().to_string())
            .await?
        {
            Revoked::Done => Ok(()),
            Revoked::NotFound => Err(AppError::NotFound(format!("no live token {id:?}"))),
            Revoked::LastAdmin => Err(palisade_core::deployment::check_revoke(true, 1)
                .expect_err("the last admin token is kept")
                .into()),
        }
    }

    /// Recover admin access with access to the data directory or the database only (the
    /// server need not run): a new token for `user` (an admin; created as one if missing),
    /// recorded on the deployment's log with `reason` by `operator`. Returns the secret (to
    /// show once) and the record.
    pub async fn recover_admin(
        &self,
        operator: UserName,
        user: UserName,
        reason: String,
    ) -> Result<(String, TokenInfo)> {
        use palisade_core::deployment::{DEPLOYMENT_ID, DeploymentCommand, DeploymentState};
        let store = &self.inner.store;
        match store.user(&user).await? {
            Some(u) if u.role != AccountRole::Admin => {
                return Err(AppError::Invalid(format!(
                    "{user} is a {}, not an admin; recover access for an admin account (or a new name)",
                    u.role
                )));
            }
            Some(_) => {}
            None => match store.create_user(&user, AccountRole::Admin).await {
                Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            },
        }
        let token = generate_token()?;
        let info = store
            .insert_token(&NewToken {
                id: token_id()?,
                user: user.clone(),
                label: "recovered offline".into(),
                token_hash: hash_token(&token),
                created_at: now().to_string(),
            })
            .await?;
        let op = Actor {
            user: operator,
            account_role: AccountRole::Admin,
        };
        let cmd = DeploymentCommand::RecordRecovery {
            user,
            token_id: info.id.clone(),
            reason,
        };
        let opts = crate::Options::default();
        let recorded = match self.load::<DeploymentState>(DEPLOYMENT_ID).await? {
            Some(_) => self
                .execute::<DeploymentState>(&op, &DEPLOYMENT_ID.to_string(), cmd, &opts, None)
                .await
                .map(|_| ()),
            None => self
                .create_with_id::<DeploymentState>(&op, DEPLOYMENT_ID, cmd, &opts)
                .await
                .map(|_| ()),
        };
        if let Err(e) = recorded {
            // Unrecorded access is no access: take the token back.
            let _ = store.revoke_token(&info.id, &now().to_string()).await;
            return Err(e);
        }
        Ok((token, info))
    }
}
