//! Accounts on PostgreSQL: users, API tokens, and the public halves of signing keys.

use super::PgStore;
use crate::sqlite::parse_role;
use crate::{Authenticated, NewToken, Result, Revoked, StoreError, TokenInfo, User};
use palisade_core::{AccountRole, UserName};

/// Advisory lock key held while revoking a token ("revoke" in ASCII).
const REVOKE_LOCK: i64 = 0x7265_766f_6b65;

impl PgStore {
    pub(crate) async fn create_user(&self, name: &UserName, role: AccountRole) -> Result<User> {
        let client = self.pool.get().await?;
        let created_at = crate::now_text();
        let n = client
            .execute(
                "INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                &[&name.as_str(), &role.as_str(), &created_at],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(format!("user {name}")));
        }
        Ok(User {
            name: name.clone(),
            role,
            created_at,
        })
    }

    pub(crate) async fn user(&self, name: &UserName) -> Result<Option<User>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT name, role, created_at FROM users WHERE name = $1",
                &[&name.as_str()],
            )
            .await?;
        row.map(|r| {
            Ok(User {
                name: UserName::parse(r.get::<_, &str>(0))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                role: parse_role(r.get::<_, &str>(1))?,
                created_at: r.get(2),
            })
        })
        .transpose()
    }

    pub(crate) async fn user_count(&self) -> Result<u64> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM users", &[])
            .await?
            .get(0);
        Ok(n as u64)
    }

    pub(crate) async fn insert_token(&self, t: &NewToken) -> Result<TokenInfo> {
        let client = self.pool.get().await?;
        let user = self
            .user(&t.user)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {}", t.user)))?;
        client
            .execute(
                "INSERT INTO api_tokens (id, user_name, label, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&t.id, &t.user.as_str(), &t.label, &t.token_hash, &t.created_at],
            )
            .await?;
        Ok(TokenInfo {
            id: t.id.clone(),
            user: t.user.to_string(),
            role: user.role,
            label: t.label.clone(),
            created_at: t.created_at.clone(),
            revoked_at: None,
        })
    }

    pub(crate) async fn authenticate(&self, token_hash: &str) -> Result<Option<Authenticated>> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT t.id, u.name, u.role FROM api_tokens t JOIN users u ON u.name = t.user_name
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
            )
            .await?;
        let row = client.query_opt(&stmt, &[&token_hash]).await?;
        row.map(|r| {
            Ok(Authenticated {
                token_id: r.get(0),
                user: UserName::parse(r.get::<_, &str>(1))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                role: parse_role(r.get::<_, &str>(2))?,
            })
        })
        .transpose()
    }

    pub(crate) async fn revoke_token(&self, id: &str, at: &str) -> Result<Revoked> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Revocations serialize on one advisory lock, so two instances revoking the last two
        // admin tokens at once cannot both see the other's as still live.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REVOKE_LOCK])
            .await?;
        let role = tx
            .query_opt(
                "SELECT u.role FROM api_tokens t JOIN users u ON u.name = t.user_name
                 WHERE t.id = $1 AND t.revoked_at IS NULL",
                &[&id],
            )
            .await?;
        let Some(role) = role.map(|r| r.get::<_, String>(0)) else {
            return Ok(Revoked::NotFound);
        };
        let admins: i64 = tx
            .query_one(
                "SELECT count(*) FROM api_tokens t JOIN users u ON u.name = t.user_name
                 WHERE u.role = 'admin' AND t.revoked_at IS NULL",
                &[],
            )
            .await?
            .get(0);
        if palisade_core::deployment::check_revoke(role == "admin", admins as u64).is_err() {
            return Ok(Revoked::LastAdmin);
        }
        tx.execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &at],
        )
        .await?;
        super::commit(tx).await?;
        Ok(Revoked::Done)
    }

    pub(crate) async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT t.id, t.user_name, u.role, t.label, t.created_at, t.revoked_at
                 FROM api_tokens t JOIN users u ON u.name = t.user_name ORDER BY t.created_at, t.id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: r.get(0),
                    user: r.get(1),
                    role: parse_role(r.get::<_, &str>(2))?,
                    label: r.get(3),
                    created_at: r.get(4),
                    revoked_at: r.get(5),
                })
            })
            .collect()
    }

    pub(crate) async fn register_key(
        &self,
        key_id: &str,
        public_hex: &str,
        at: &str,
    ) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING",
                &[&key_id, &public_hex, &at],
            )
            .await?;
        Ok(())
    }
}
