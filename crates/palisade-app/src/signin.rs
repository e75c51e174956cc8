//! Signing in to the web UI: username and password (argon2id) or an API token, turned into a
//! web session (a random secret in a cookie, stored as its SHA-256); one-time links an admin
//! creates for a user to set a password; sessions listed and revoked; the CSRF token of a
//! session. The HTTP details (cookie attributes, forms) are the web edge's.

use crate::accounts::{hash_token, require_admin};
use crate::error::{AppError, Result};
use crate::{App, now};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use palisade_core::{AccountRole, Actor, UserName};
use palisade_store::signin::{NewPasswordLink, NewWebSession, Redeemed, WebSession};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// A web session ends this long after sign-in, whatever happens.
pub const SESSION_LIFETIME_SECS: i64 = 7 * 24 * 3600;
/// … or after this long without a request.
pub const SESSION_IDLE_SECS: i64 = 12 * 3600;
/// A password link works this long.
pub const LINK_LIFETIME_SECS: i64 = 72 * 3600;
/// Passwords are at least this long (NIST SP 800-63B asks 8 at least; we ask more, and no
/// composition rules) …
pub const PASSWORD_MIN_CHARS: usize = 12;
/// … and at most this long (argon2 hashes any length; this bounds the work per attempt).
pub const PASSWORD_MAX_CHARS: usize = 256;
/// Failed sign-ins allowed per user name within [`FAILURE_WINDOW_SECS`].
pub const MAX_FAILURES: u32 = 10;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;

const SESSION_PREFIX: &str = "pws_";

fn now_s() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `prefix` + 32 random bytes, base64url without padding (tokens, session secrets, links).
pub(crate) fn random_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::internal("the random number generator failed", e))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

fn random_id(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::internal("the random number generator failed", e))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// The CSRF token of the session whose cookie secret is `secret`: derived from it, so nothing
/// more is stored, and unknowable without the cookie.
pub fn csrf_token(secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"palisade web csrf\0")
        .chain_update(secret.as_bytes())
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24])
}

/// Whether two secrets (tokens, states) are equal, compared in constant time (for equal lengths).
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether `given` is the CSRF token of `secret`, compared in constant time.
pub fn csrf_matches(secret: &str, given: &str) -> bool {
    same_secret(&csrf_token(secret), given)
}

/// Whether a password is acceptable; the reason when not.
pub fn check_password(password: &str) -> std::result::Result<(), String> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(format!(
            "a password is at least {PASSWORD_MIN_CHARS} characters (a few words make a good one)"
        ));
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(format!(
            "a password is at most {PASSWORD_MAX_CHARS} characters"
        ));
    }
    if password.chars().any(char::is_control) {
        return Err("a password has no control characters".into());
    }
    Ok(())
}

/// The argon2id hash (PHC string, OWASP's parameters: 19 MiB, 2 passes) of a password. CPU-bound
/// for tens of milliseconds: call it off the async threads.
fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| AppError::internal("the random number generator failed", e))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| AppError::internal("encoding a password salt", e))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal("hashing a password", e))
}

/// Whether `password` matches the stored PHC string.
fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Password hashes computed at once, at most: each takes 19 MiB and tens of milliseconds of a
/// core, so a flood of sign-ins (many user names, each under its own failure limit) queues here
/// instead of taking every core and all memory from the rest of the server.
const HASHING_AT_ONCE: usize = 2;

/// Run `f` (an argon2 computation) on a blocking thread, [`HASHING_AT_ONCE`] at a time.
async fn hashing<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING_AT_ONCE);
    let _permit = PERMITS
        .acquire()
        .await
        .map_err(|e| AppError::internal("waiting to hash a password", e))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal("hashing a password", e))
}

/// A hash of a password nobody has, verified when the user does not exist or has no password,
/// so the answer takes as long either way and does not tell which names exist.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password never used").unwrap_or_default())
}

/// Failed sign-ins per user name, in a sliding window: beyond [`MAX_FAILURES`] the name is
/// refused until the window passes (password guessing is slowed to a crawl, and argon2's cost
/// cannot be turned on the server).
#[derive(Default)]
pub(crate) struct Failures(Mutex<HashMap<String, (u32, i64)>>);

impl Failures {
    /// Seconds to wait when `name` is locked out now.
    fn locked(&self, name: &str, now: i64) -> Option<u64> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(name).and_then(|&(n, since)| {
            let left = since + FAILURE_WINDOW_SECS - now;
            (n >= MAX_FAILURES && left > 0).then_some(left as u64)
        })
    }
    fn failed(&self, name: &str, now: i64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| *since + FAILURE_WINDOW_SECS > now);
        }
        let e = map.entry(name.to_string()).or_insert((0, now));
        if e.1 + FAILURE_WINDOW_SECS <= now {
            *e = (0, now);
        }
        e.0 += 1;
    }
    fn succeeded(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }
}

/// A new web session: the cookie's secret (to send once) and the session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub secret: String,
    pub session: WebSession,
}

/// A live web session and who it is.
#[derive(Debug, Clone)]
pub struct WebCaller {
    pub session: WebSession,
    pub actor: Actor,
    pub csrf: String,
}

/// A one-time link: the secret for the URL (to show once), and until when it works.
#[derive(Debug, Clone)]
pub struct PasswordLink {
    pub secret: String,
    pub user: UserName,
    pub expires_s: i64,
}

const WRONG: &str = "the user name or password is wrong";

impl App {
    /// Sign in with a user name and password. The same answer for an unknown user and a wrong
    /// password; after [`MAX_FAILURES`] failures in [`FAILURE_WINDOW_SECS`], refused for a while.
    pub async fn sign_in_password(
        &self,
        user: &str,
        password: &str,
        user_agent: &str,
    ) -> Result<SignedIn> {
        let now = now_s();
        let key = user.trim().to_ascii_lowercase();
        if let Some(wait) = self.inner.sign_in_failures.locked(&key, now) {
            return Err(AppError::TooManyAttempts {
                detail: format!(
                    "too many failed sign-ins for this user name; try again in {} minutes, or ask an admin for a new password link",
                    wait.div_ceil(60)
                ),
                retry_after_secs: wait,
            });
        }
        let name = UserName::parse(user.trim()).ok();
        let stored = match &name {
            Some(n) => self.inner.store.password_hash(n).await?,
            None => None,
        };
        let known = stored.is_some();
        let given = password.to_string();
        // The decoy is made (once) on the blocking thread too.
        let ok = hashing(move || {
            verify_password(&given, stored.as_deref().unwrap_or_else(|| decoy_hash()))
        })
        .await?;
        match name {
            Some(n) if ok && known && password.chars().count() <= PASSWORD_MAX_CHARS => {
                self.inner.sign_in_failures.succeeded(&key);
                self.open_web_session(n, "password", user_agent).await
            }
            _ => {
                self.inner.sign_in_failures.failed(&key, now);
                Err(AppError::Unauthenticated(WRONG.into()))
            }
        }
    }

    /// Sign in with an API token (the bootstrap admin's first way in).
    pub async fn sign_in_token(&self, token: &str, user_agent: &str) -> Result<SignedIn> {
        let token = token.trim();
        let session = if token.starts_with(crate::accounts::TOKEN_PREFIX) && token.len() < 100 {
            self.authenticate(token).await?
        } else {
            None
        };
        let session = session.ok_or_else(|| {
            AppError::Unauthenticated("the token is unknown or has been revoked".into())
        })?;
        self.open_web_session(session.actor.user, "token", user_agent)
            .await
    }

    pub(crate) async fn open_web_session(
        &self,
        user: UserName,
        method: &str,
        user_agent: &str,
    ) -> Result<SignedIn> {
        let secret = random_secret(SESSION_PREFIX)?;
        let now = now_s();
        let ua: String = user_agent.chars().take(200).collect();
        let new = NewWebSession {
            id: random_id("ses_")?,
            secret_hash: hash_token(&secret),
            user,
            method: method.to_string(),
            user_agent: ua,
            created_at: crate::now().to_string(),
            now_s: now,
            expires_s: now + SESSION_LIFETIME_SECS,
        };
        self.inner.store.insert_web_session(&new).await?;
        let role = self
            .inner
            .store
            .user(&new.user)
            .await?
            .map(|u| u.role)
            .ok_or_else(|| AppError::NotFound(format!("user {}", new.user)))?;
        Ok(SignedIn {
            secret,
            session: WebSession {
                id: new.id,
                user: new.user,
                role,
                method: new.method,
                user_agent: new.user_agent,
                created_at: new.created_at,
                last_seen_s: now,
                expires_s: new.expires_s,
            },
        })
    }

    /// The live session a cookie's secret opens (not revoked, not expired, not idle too long).
    /// Marks it used at most once a minute.
    pub async fn web_session(&self, secret: &str) -> Result<Option<WebCaller>> {
        if !secret.starts_with(SESSION_PREFIX) || secret.len() > 100 {
            return Ok(None);
        }
        let now = now_s();
        let Some(s) = self
            .inner
            .store
            .web_session(&hash_token(secret), now)
            .await?
        else {
            return Ok(None);
        };
        if s.last_seen_s + SESSION_IDLE_SECS <= now {
            return Ok(None);
        }
        if now - s.last_seen_s >= 60 {
            self.inner.store.touch_web_session(&s.id, now).await?;
        }
        Ok(Some(WebCaller {
            actor: Actor {
                user: s.user.clone(),
                account_role: s.role,
            },
            csrf: csrf_token(secret),
            session: s,
        }))
    }

    /// End the session a cookie's secret opens.
    pub async fn sign_out(&self, caller: &WebCaller) -> Result<()> {
        self.inner
            .store
            .revoke_web_session(&caller.session.id, None, &now().to_string())
            .await?;
        Ok(())
    }

    /// Live web sessions: the actor's own, or everyone's for an admin asking for all.
    pub async fn list_web_sessions(&self, actor: &Actor, all: bool) -> Result<Vec<WebSession>> {
        if all {
            require_admin(actor)?;
        }
        let who = (!all).then_some(&actor.user);
        Ok(self.inner.store.list_web_sessions(who, now_s()).await?)
    }

    /// Revoke a web session: anyone their own, admins anyone's.
    pub async fn revoke_web_session(&self, actor: &Actor, id: &str) -> Result<()> {
        let owner = (actor.account_role != AccountRole::Admin).then_some(&actor.user);
        if self
            .inner
            .store
            .revoke_web_session(id, owner, &now().to_string())
            .await?
        {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("no live session {id:?}")))
        }
    }

    /// A one-time link for `user` to set a password (admins only), creating the user with
    /// `role` when missing. Using it revokes the user's web sessions.
    pub async fn create_password_link(
        &self,
        actor: &Actor,
        user: UserName,
        role: Option<AccountRole>,
    ) -> Result<PasswordLink> {
        require_admin(actor)?;
        let store = &self.inner.store;
        if store.user(&user).await?.is_none() {
            let Some(r) = role else {
                return Err(AppError::Invalid(format!(
                    "there is no user {user}; give a role (admin, responder or viewer) to create one"
                )));
            };
            match store.create_user(&user, r).await {
                Ok(_) | Err(palisade_store::StoreError::AlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let secret = random_secret("pwl_")?;
        let expires_s = now_s() + LINK_LIFETIME_SECS;
        store
            .insert_password_link(&NewPasswordLink {
                link_hash: hash_token(&secret),
                user: user.clone(),
                created_by: actor.user.clone(),
                created_at: now().to_string(),
                expires_s,
            })
            .await?;
        Ok(PasswordLink {
            secret,
            user,
            expires_s,
        })
    }

    /// Who a live password link is for.
    pub async fn password_link_user(&self, secret: &str) -> Result<UserName> {
        let user = if secret.starts_with("pwl_") && secret.len() < 100 {
            self.inner
                .store
                .password_link_user(&hash_token(secret), now_s())
                .await?
        } else {
            None
        };
        user.ok_or_else(|| {
            AppError::Unauthenticated(
                "this link is unknown, used or expired; ask an admin for a new one".into(),
            )
        })
    }

    /// Set a password with a one-time link; the link is used up, the user's web sessions end.
    pub async fn set_password_with_link(&self, secret: &str, password: &str) -> Result<UserName> {
        check_password(password).map_err(AppError::Invalid)?;
        self.password_link_user(secret).await?;
        let given = password.to_string();
        let hash = hashing(move || hash_password(&given)).await??;
        match self
            .inner
            .store
            .redeem_password_link(&hash_token(secret), now_s(), &hash, &now().to_string())
            .await?
        {
            Redeemed::Set(user) => Ok(user),
            Redeemed::Invalid => Err(AppError::Unauthenticated(
                "this link is unknown, used or expired; ask an admin for a new one".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let a = csrf_token("pws_a");
        assert_ne!(a, csrf_token("pws_b"));
        assert!(csrf_matches("pws_a", &a));
        assert!(!csrf_matches("pws_b", &a));
        assert!(!csrf_matches("pws_a", &a[..a.len() - 1]));
        assert!(!csrf_matches("pws_a", ""));
    }

    #[test]
    fn passwords_are_hashed_with_argon2id_and_verified() {
        let h = hash_password("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("correct horse battery stapl", &h));
        assert!(!verify_password("x", "not a phc string"));
        assert_ne!(h, hash_password("correct horse battery staple").unwrap());
    }

    #[test]
    fn password_rules_say_what_is_wrong() {
        assert!(check_password("short").unwrap_err().contains("at least 12"));
        assert!(
            check_password(&"x".repeat(257))
                .unwrap_err()
                .contains("at most 256")
        );
        assert!(
            check_password("twelve chars\u{0}")
                .unwrap_err()
                .contains("control")
        );
        assert_eq!(check_password("twelve chars"), Ok(()));
    }

    #[test]
    fn failures_lock_a_name_for_the_window_then_release_it() {
        let f = Failures::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(f.locked("alice", 1000), None);
            f.failed("alice", 1000);
        }
        assert_eq!(f.locked("alice", 1000), Some(FAILURE_WINDOW_SECS as u64));
        assert_eq!(f.locked("bob", 1000), None);
        assert_eq!(f.locked("alice", 1000 + FAILURE_WINDOW_SECS), None);
        f.failed("alice", 1000 + FAILURE_WINDOW_SECS);
        assert_eq!(f.locked("alice", 1000 + FAILURE_WINDOW_SECS), None);
    }
}
