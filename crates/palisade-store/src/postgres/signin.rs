//! Web sign-in on PostgreSQL: password hashes, password links, web sessions.

use super::PgStore;
use crate::signin::{NewPasswordLink, NewWebSession, Redeemed, WebSession};
use crate::sqlite::parse_role;
use crate::{Result, StoreError};
use palisade_core::UserName;

const SESSION_COLUMNS: &str =
    "s.id, s.user_name, u.role, s.method, s.user_agent, s.created_at, s.last_seen_s, s.expires_s";

fn user_name(s: &str) -> Result<UserName> {
    UserName::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn session_row(r: &tokio_postgres::Row) -> Result<WebSession> {
    Ok(WebSession {
        id: r.get(0),
        user: user_name(r.get::<_, &str>(1))?,
        role: parse_role(r.get::<_, &str>(2))?,
        method: r.get(3),
        user_agent: r.get(4),
        created_at: r.get(5),
        last_seen_s: r.get(6),
        expires_s: r.get(7),
    })
}

impl PgStore {
    pub(crate) async fn password_hash(&self, user: &UserName) -> Result<Option<String>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT hash FROM passwords WHERE user_name = $1",
                &[&user.as_str()],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub(crate) async fn insert_password_link(&self, l: &NewPasswordLink) -> Result<()> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "INSERT INTO password_links (link_hash, user_name, created_by, created_at, expires_s)
                 SELECT $1, name, $3, $4, $5 FROM users WHERE name = $2",
                &[
                    &l.link_hash,
                    &l.user.as_str(),
                    &l.created_by.as_str(),
                    &l.created_at,
                    &l.expires_s,
                ],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {}", l.user)));
        }
        Ok(())
    }

    pub(crate) async fn password_link_user(
        &self,
        link_hash: &str,
        now_s: i64,
    ) -> Result<Option<UserName>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT user_name FROM password_links
                 WHERE link_hash = $1 AND used_at IS NULL AND expires_s > $2",
                &[&link_hash, &now_s],
            )
            .await?;
        row.map(|r| user_name(r.get::<_, &str>(0))).transpose()
    }

    pub(crate) async fn redeem_password_link(
        &self,
        link_hash: &str,
        now_s: i64,
        password_hash: &str,
        at: &str,
    ) -> Result<Redeemed> {
        // One statement, so one transaction: the link's row lock makes a second redemption
        // of the same link find it used.
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "WITH used AS (
                    UPDATE password_links SET used_at = $3
                    WHERE link_hash = $1 AND used_at IS NULL AND expires_s > $2
                    RETURNING user_name
                 ), pw AS (
                    INSERT INTO passwords (user_name, hash, set_at)
                    SELECT user_name, $4, $3 FROM used
                    ON CONFLICT (user_name) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at
                 ), revoked AS (
                    UPDATE web_sessions SET revoked_at = $3
                    WHERE user_name IN (SELECT user_name FROM used) AND revoked_at IS NULL
                 )
                 SELECT user_name FROM used",
                &[&link_hash, &now_s, &at, &password_hash],
            )
            .await?;
        match row {
            Some(r) => Ok(Redeemed::Set(user_name(r.get::<_, &str>(0))?)),
            None => Ok(Redeemed::Invalid),
        }
    }

    pub(crate) async fn insert_web_session(&self, s: &NewWebSession) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO web_sessions (id, secret_hash, user_name, method, user_agent, created_at, last_seen_s, expires_s)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &s.id,
                    &s.secret_hash,
                    &s.user.as_str(),
                    &s.method,
                    &s.user_agent,
                    &s.created_at,
                    &s.now_s,
                    &s.expires_s,
                ],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn web_session(
        &self,
        secret_hash: &str,
        now_s: i64,
    ) -> Result<Option<WebSession>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {SESSION_COLUMNS} FROM web_sessions s JOIN users u ON u.name = s.user_name
                     WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND s.expires_s > $2"
                ),
                &[&secret_hash, &now_s],
            )
            .await?;
        row.as_ref().map(session_row).transpose()
    }

    pub(crate) async fn touch_web_session(&self, id: &str, now_s: i64) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE web_sessions SET last_seen_s = $2 WHERE id = $1 AND last_seen_s < $2",
                &[&id, &now_s],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn list_web_sessions(
        &self,
        user: Option<&UserName>,
        now_s: i64,
    ) -> Result<Vec<WebSession>> {
        let client = self.pool.get().await?;
        let user = user.map(|u| u.as_str());
        let rows = client
            .query(
                &format!(
                    "SELECT {SESSION_COLUMNS} FROM web_sessions s JOIN users u ON u.name = s.user_name
                     WHERE s.revoked_at IS NULL AND s.expires_s > $1
                       AND ($2::TEXT IS NULL OR s.user_name = $2)
                     ORDER BY s.created_at DESC, s.id"
                ),
                &[&now_s, &user],
            )
            .await?;
        rows.iter().map(session_row).collect()
    }

    pub(crate) async fn revoke_web_session(
        &self,
        id: &str,
        owner: Option<&UserName>,
        at: &str,
    ) -> Result<bool> {
        let client = self.pool.get().await?;
        let owner = owner.map(|o| o.as_str());
        let n = client
            .execute(
                "UPDATE web_sessions SET revoked_at = $3
                 WHERE id = $1 AND revoked_at IS NULL AND ($2::TEXT IS NULL OR user_name = $2)",
                &[&id, &owner, &at],
            )
            .await?;
        Ok(n > 0)
    }
}
