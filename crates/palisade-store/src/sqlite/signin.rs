//! Web sign-in on SQLite: password hashes, password links, web sessions.

use super::{SqliteStore, bad};
use crate::signin::{NewPasswordLink, NewWebSession, Redeemed, WebSession};
use crate::{Result, StoreError};
use palisade_core::{AccountRole, UserName};
use rusqlite::{OptionalExtension, params};

const SESSION_COLUMNS: &str =
    "s.id, s.user_name, u.role, s.method, s.user_agent, s.created_at, s.last_seen_s, s.expires_s";

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebSession> {
    Ok(WebSession {
        id: r.get(0)?,
        user: UserName::parse(&r.get::<_, String>(1)?).map_err(bad(1))?,
        role: r
            .get::<_, String>(2)?
            .parse::<AccountRole>()
            .map_err(bad(2))?,
        method: r.get(3)?,
        user_agent: r.get(4)?,
        created_at: r.get(5)?,
        last_seen_s: r.get(6)?,
        expires_s: r.get(7)?,
    })
}

impl SqliteStore {
    pub(crate) async fn password_hash(&self, user: &UserName) -> Result<Option<String>> {
        let user = user.clone();
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT hash FROM passwords WHERE user_name = ?1")?
                    .query_row([user.as_str()], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

    pub(crate) async fn insert_password_link(&self, l: &NewPasswordLink) -> Result<()> {
        let l = l.clone();
        self.write(false, move |c, _| {
            let exists: bool = c
                .query_row("SELECT 1 FROM users WHERE name = ?1", [l.user.as_str()], |_| Ok(true))
                .optional()?
                .unwrap_or(false);
            if !exists {
                return Err(StoreError::NotFound(format!("user {}", l.user)));
            }
            c.execute(
                "INSERT INTO password_links (link_hash, user_name, created_by, created_at, expires_s)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![l.link_hash, l.user.as_str(), l.created_by.as_str(), l.created_at, l.expires_s],
            )?;
            Ok(((), None))
        })
        .await
    }

    pub(crate) async fn password_link_user(
        &self,
        link_hash: &str,
        now_s: i64,
    ) -> Result<Option<UserName>> {
        let h = link_hash.to_string();
        self.read(move |c| {
            let name: Option<String> = c
                .prepare_cached(
                    "SELECT user_name FROM password_links
                     WHERE link_hash = ?1 AND used_at IS NULL AND expires_s > ?2",
                )?
                .query_row(params![h, now_s], |r| r.get(0))
                .optional()?;
            name.map(|n| UserName::parse(&n).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    pub(crate) async fn redeem_password_link(
        &self,
        link_hash: &str,
        now_s: i64,
        password_hash: &str,
        at: &str,
    ) -> Result<Redeemed> {
        let (h, p, at) = (
            link_hash.to_string(),
            password_hash.to_string(),
            at.to_string(),
        );
        // The writer thread is the only writer: using the link, setting the password and
        // revoking sessions happen together or not at all.
        self.write(false, move |c, _| {
            let name: Option<String> = c
                .query_row(
                    "UPDATE password_links SET used_at = ?3
                     WHERE link_hash = ?1 AND used_at IS NULL AND expires_s > ?2
                     RETURNING user_name",
                    params![h, now_s, at],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(name) = name else {
                return Ok((Redeemed::Invalid, None));
            };
            c.execute(
                "INSERT INTO passwords (user_name, hash, set_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_name) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
                params![name, p, at],
            )?;
            c.execute(
                "UPDATE web_sessions SET revoked_at = ?2 WHERE user_name = ?1 AND revoked_at IS NULL",
                params![name, at],
            )?;
            let user = UserName::parse(&name).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((Redeemed::Set(user), None))
        })
        .await
    }

    pub(crate) async fn insert_web_session(&self, s: &NewWebSession) -> Result<()> {
        let s = s.clone();
        self.write(false, move |c, _| {
            c.execute(
                "INSERT INTO web_sessions (id, secret_hash, user_name, method, user_agent, created_at, last_seen_s, expires_s)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![s.id, s.secret_hash, s.user.as_str(), s.method, s.user_agent, s.created_at, s.now_s, s.expires_s],
            )?;
            Ok(((), None))
        })
        .await
    }

    pub(crate) async fn web_session(
        &self,
        secret_hash: &str,
        now_s: i64,
    ) -> Result<Option<WebSession>> {
        let h = secret_hash.to_string();
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM web_sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.secret_hash = ?1 AND s.revoked_at IS NULL AND s.expires_s > ?2"
            ))?
            .query_row(params![h, now_s], session_row)
            .optional()?)
        })
        .await
    }

    pub(crate) async fn touch_web_session(&self, id: &str, now_s: i64) -> Result<()> {
        let id = id.to_string();
        self.write(false, move |c, _| {
            c.execute(
                "UPDATE web_sessions SET last_seen_s = ?2 WHERE id = ?1 AND last_seen_s < ?2",
                params![id, now_s],
            )?;
            Ok(((), None))
        })
        .await
    }

    pub(crate) async fn list_web_sessions(
        &self,
        user: Option<&UserName>,
        now_s: i64,
    ) -> Result<Vec<WebSession>> {
        let user = user.map(|u| u.to_string());
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM web_sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.revoked_at IS NULL AND s.expires_s > ?1 AND (?2 IS NULL OR s.user_name = ?2)
                 ORDER BY s.created_at DESC, s.id"
            ))?;
            let rows = st.query_map(params![now_s, user], session_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub(crate) async fn revoke_web_session(
        &self,
        id: &str,
        owner: Option<&UserName>,
        at: &str,
    ) -> Result<bool> {
        let (id, owner, at) = (id.to_string(), owner.map(|o| o.to_string()), at.to_string());
        self.write(false, move |c, _| {
            let n = c.execute(
                "UPDATE web_sessions SET revoked_at = ?3
                 WHERE id = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR user_name = ?2)",
                params![id, owner, at],
            )?;
            Ok((n > 0, None))
        })
        .await
    }
}
