//! Accounts on SQLite: users, API tokens, and the public halves of signing keys.

use super::{SqliteStore, bad, parse_role};
use crate::{Authenticated, NewToken, Result, Revoked, StoreError, TokenInfo, User};
use palisade_core::{AccountRole, UserName};
use rusqlite::{OptionalExtension, params};

impl SqliteStore {
    pub(crate) async fn create_user(&self, name: &UserName, role: AccountRole) -> Result<User> {
        let user = User {
            name: name.clone(),
            role,
            created_at: crate::now_text(),
        };
        let u = user.clone();
        self.write(false, move |c, _| {
            let n = c.execute(
                "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
                params![u.name.as_str(), u.role.as_str(), u.created_at],
            )?;
            if n == 0 {
                return Err(StoreError::AlreadyExists(format!("user {}", u.name)));
            }
            Ok(((), None))
        })
        .await?;
        Ok(user)
    }

    pub(crate) async fn user(&self, name: &UserName) -> Result<Option<User>> {
        let name = name.clone();
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT name, role, created_at FROM users WHERE name = ?1")?
                    .query_row([name.as_str()], user_row)
                    .optional()?,
            )
        })
        .await
    }

    pub(crate) async fn user_count(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))? as u64)
        })
        .await
    }

    pub(crate) async fn insert_token(&self, t: &NewToken) -> Result<TokenInfo> {
        let t = t.clone();
        self.write(false, move |c, _| {
            let role: Option<String> = c
                .query_row("SELECT role FROM users WHERE name = ?1", [t.user.as_str()], |r| r.get(0))
                .optional()?;
            let Some(role) = role else {
                return Err(StoreError::NotFound(format!("user {}", t.user)));
            };
            c.execute(
                "INSERT INTO api_tokens (id, user_name, label, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.id, t.user.as_str(), t.label, t.token_hash, t.created_at],
            )?;
            Ok((
                TokenInfo {
                    id: t.id,
                    user: t.user.to_string(),
                    role: parse_role(&role)?,
                    label: t.label,
                    created_at: t.created_at,
                    revoked_at: None,
                },
                None,
            ))
        })
        .await
    }

    pub(crate) async fn authenticate(&self, token_hash: &str) -> Result<Option<Authenticated>> {
        let h = token_hash.to_string();
        self.read(move |c| {
            let row: Option<(String, String, String)> = c
                .prepare_cached(
                    "SELECT t.id, u.name, u.role FROM api_tokens t JOIN users u ON u.name = t.user_name
                     WHERE t.token_hash = ?1 AND t.revoked_at IS NULL",
                )?
                .query_row([h], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            row.map(|(id, user, role)| {
                Ok(Authenticated {
                    token_id: id,
                    user: UserName::parse(&user).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    role: parse_role(&role)?,
                })
            })
            .transpose()
        })
        .await
    }

    pub(crate) async fn revoke_token(&self, id: &str, at: &str) -> Result<Revoked> {
        let (id, at) = (id.to_string(), at.to_string());
        // The writer thread is the only writer: the check and the update cannot interleave
        // with another revocation.
        self.write(false, move |c, _| {
            let role: Option<String> = c
                .query_row(
                    "SELECT u.role FROM api_tokens t JOIN users u ON u.name = t.user_name
                     WHERE t.id = ?1 AND t.revoked_at IS NULL",
                    [&id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(role) = role else {
                return Ok((Revoked::NotFound, None));
            };
            let admins: i64 = c.query_row(
                "SELECT count(*) FROM api_tokens t JOIN users u ON u.name = t.user_name
                 WHERE u.role = 'admin' AND t.revoked_at IS NULL",
                [],
                |r| r.get(0),
            )?;
            if palisade_core::deployment::check_revoke(role == "admin", admins as u64).is_err() {
                return Ok((Revoked::LastAdmin, None));
            }
            c.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, at],
            )?;
            Ok((Revoked::Done, None))
        })
        .await
    }

    pub(crate) async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT t.id, t.user_name, u.role, t.label, t.created_at, t.revoked_at
                 FROM api_tokens t JOIN users u ON u.name = t.user_name ORDER BY t.created_at, t.id",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            rows.map(|r| {
                let (id, user, role, label, created_at, revoked_at) = r?;
                Ok(TokenInfo {
                    id,
                    user,
                    role: parse_role(&role)?,
                    label,
                    created_at,
                    revoked_at,
                })
            })
            .collect()
        })
        .await
    }

    pub(crate) async fn register_key(
        &self,
        key_id: &str,
        public_hex: &str,
        at: &str,
    ) -> Result<()> {
        let (k, p, a) = (key_id.to_string(), public_hex.to_string(), at.to_string());
        self.write(false, move |c, _| {
            c.execute(
                "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (key_id) DO NOTHING",
                params![k, p, a],
            )?;
            Ok(((), None))
        })
        .await
    }
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        name: UserName::parse(&r.get::<_, String>(0)?).map_err(bad(0))?,
        role: r
            .get::<_, String>(1)?
            .parse::<AccountRole>()
            .map_err(bad(1))?,
        created_at: r.get(2)?,
    })
}
