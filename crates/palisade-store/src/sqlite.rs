//! The embedded SQLite backend.
//!
//! One writer thread owns the only write connection and commits in groups: every write waiting
//! when a transaction starts joins it (each in its own savepoint, so one failed write does not
//! undo the others), and all are acknowledged after one durable commit (`synchronous = FULL` in
//! WAL mode) and one witness flush. Reads use a small pool of read-only connections.

use crate::OutboxItem;
use crate::verify::Verifier;
use crate::{
    AppendRequest, Appended, Authenticated, IncidentSummary, LedgerContext, ListFilter, NewToken,
    Result, SCHEMA_VERSION, StoreError, StoredCheckpoint, StoredEvent, TokenInfo, User, genesis,
    parse_hash_col, prepare_append,
};
use palisade_core::chain::{self, Checkpoint};
use palisade_core::{AccountRole, Kind, Severity, Status, UserName};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_evidence_outbox.sql"),
    include_str!("../migrations/sqlite/0003_list_filter_index.sql"),
];

type Finish = Box<dyn FnOnce(Result<()>) + Send>;
struct Outcome {
    ok: bool,
    witness: Vec<Checkpoint>,
    finish: Finish,
}
type Job = Box<dyn FnOnce(&Connection, &mut Heads) -> Outcome + Send>;

/// The writer thread's cache of each incident's head: (last seq, its hash, link hash of the
/// newest checkpoint). The writer is the only writer of the database (the data directory is
/// locked by one server), so the cache saves three reads per append; it is dropped whenever a
/// transaction fails to commit.
#[derive(Default)]
pub(crate) struct Heads {
    map: std::collections::HashMap<
        Uuid,
        (u64, palisade_core::chain::Hash, palisade_core::chain::Hash),
    >,
}

/// Largest number of writes committed together.
const MAX_GROUP: usize = 512;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
    ctx: LedgerContext,
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

impl SqliteStore {
    /// Open (creating and migrating) the database at `path`.
    pub fn open(path: &Path, ctx: LedgerContext) -> Result<SqliteStore> {
        let mut conn = Connection::open(path)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "{}: SQLite refused WAL mode (got {mode}); is the file on a network filesystem?",
                path.display()
            )));
        }
        configure(&conn)?;
        // The writer: a 64 MiB page cache (no spilling mid-transaction), savepoint journals in
        // memory, and WAL checkpoints every ~40 MiB rather than every 4 MiB.
        conn.pragma_update(None, "cache_size", -65536)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "wal_autocheckpoint", 10000)?;
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("palisade-sqlite-writer".into())
            .spawn({
                let witness = ctx.witness.clone();
                move || writer_loop(conn, rx, witness)
            })
            .map_err(|source| StoreError::Io {
                context: "starting the SQLite writer thread".into(),
                source,
            })?;
        let inner = Inner {
            path: path.to_path_buf(),
            writer: Mutex::new(tx),
            readers: Mutex::new(Vec::new()),
            ctx,
        };
        Ok(SqliteStore {
            inner: Arc::new(inner),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn reader(&self) -> Result<Connection> {
        if let Some(c) = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
        {
            return Ok(c);
        }
        let conn = Connection::open_with_flags(
            &self.inner.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        Ok(conn)
    }

    /// Run a read on a pooled connection off the async runtime.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = this.reader()?;
            let r = f(&conn);
            let mut pool = this.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < 8 {
                pool.push(conn);
            }
            r
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("read task failed: {e}")))?
    }

    /// Queue a write; it commits with whatever else is waiting.
    async fn write<T: Send + 'static>(
        &self,
        witness: bool,
        f: impl FnOnce(&Connection, &mut Heads) -> Result<(T, Option<Checkpoint>)> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |conn, heads| match f(conn, heads) {
            Ok((value, cp)) => Outcome {
                ok: true,
                witness: if witness {
                    cp.into_iter().collect()
                } else {
                    Vec::new()
                },
                finish: Box::new(move |commit| {
                    let _ = tx.send(commit.map(|_| value));
                }),
            },
            Err(e) => Outcome {
                ok: false,
                witness: Vec::new(),
                finish: Box::new(move |_| {
                    let _ = tx.send(Err(e));
                }),
            },
        });
        self.inner
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    pub async fn append(&self, req: AppendRequest) -> Result<Appended> {
        let signer = self.inner.ctx.signer.clone();
        // The writer thread flushes the witness log before acknowledging (see writer_loop).
        // Canonical encoding needs no chain state: do it here, off the single writer thread.
        let bodies = crate::canonical_bodies(&req)?;
        self.write(true, move |conn, heads| {
            let a = append_in(conn, heads, &signer, &req, bodies)?;
            let cp = a.checkpoint.clone();
            Ok((a, Some(cp)))
        })
        .await
    }

    pub async fn event_bodies_after(&self, incident: Uuid, after: u64) -> Result<Vec<String>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT body FROM ledger_events WHERE incident_id = ?1 AND seq > ?2 ORDER BY seq",
            )?;
            let rows = st.query_map(params![incident.to_string(), after as i64], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }

    pub async fn append_at_head(
        &self,
        incident: Uuid,
        actor: palisade_core::UserName,
        at: palisade_core::Timestamp,
        payloads: Vec<palisade_core::Payload>,
    ) -> Result<Appended> {
        let signer = self.inner.ctx.signer.clone();
        self.write(true, move |conn, heads| {
            let id = incident.to_string();
            let head = match heads.map.get(&incident) {
                Some((seq, _, _)) => *seq,
                None => {
                    let found: Option<i64> = conn
                        .prepare_cached(
                            "SELECT max(seq) FROM ledger_events WHERE incident_id = ?1",
                        )?
                        .query_row([&id], |r| r.get(0))?;
                    found.ok_or_else(|| StoreError::NotFound(format!("incident {incident}")))?
                        as u64
                }
            };
            let mut summary = conn
                .prepare_cached(&format!(
                    "SELECT {SUMMARY_COLS} FROM incidents WHERE id = ?1"
                ))?
                .query_row([&id], summary_row)?;
            let events =
                palisade_core::incident::events_for(incident, head, &actor, at, None, payloads);
            summary.last_seq = head + events.len() as u64;
            let req = AppendRequest {
                incident,
                expected_last_seq: head,
                events,
                projection: crate::Projection {
                    summary,
                    members: Vec::new(),
                },
                outbox: Vec::new(),
            };
            let bodies = crate::canonical_bodies(&req)?;
            let a = append_in(conn, heads, &signer, &req, bodies)?;
            let cp = a.checkpoint.clone();
            Ok((a, Some(cp)))
        })
        .await
    }

    pub async fn stored_events(&self, incident: Uuid) -> Result<Vec<StoredEvent>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, body, prev_hash, hash, recorded_at_us FROM ledger_events WHERE incident_id = ?1 ORDER BY seq",
            )?;
            let rows = st.query_map([incident.to_string()], |r| {
                Ok(StoredEvent {
                    incident,
                    seq: r.get::<_, i64>(0)? as u64,
                    body: r.get(1)?,
                    prev_hash: r.get(2)?,
                    hash: r.get(3)?,
                    recorded_at_us: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn stored_checkpoints(&self, incident: Uuid) -> Result<Vec<StoredCheckpoint>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, body, signature FROM ledger_checkpoints WHERE incident_id = ?1 ORDER BY seq",
            )?;
            let rows = st.query_map([incident.to_string()], |r| {
                Ok(StoredCheckpoint {
                    incident,
                    seq: r.get::<_, i64>(0)? as u64,
                    body: r.get(1)?,
                    signature: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn find_by_codename(&self, codename: &str) -> Result<Option<Uuid>> {
        let codename = codename.to_string();
        self.read(move |c| {
            let id: Option<String> = c
                .prepare_cached("SELECT id FROM incidents WHERE codename = ?1")?
                .query_row([codename], |r| r.get(0))
                .optional()?;
            id.map(|s| Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    pub async fn summary(&self, incident: Uuid) -> Result<Option<IncidentSummary>> {
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {SUMMARY_COLS} FROM incidents WHERE id = ?1"
            ))?
            .query_row([incident.to_string()], summary_row)
            .optional()?)
        })
        .await
    }

    pub async fn list(&self, f: &ListFilter) -> Result<Vec<IncidentSummary>> {
        let f = f.clone();
        self.read(move |c| {
            // Only the filters given appear in the query, so SQLite can use the
            // (status, severity, updated_us) index instead of scanning every incident.
            let status = f.status.map(|s| s.as_str());
            let severity = f.severity.map(|s| s.level() as i64);
            let kind = f.kind.map(|k| k.as_str());
            let limit = f.limit as i64;
            let viewer = f.viewer.as_str();
            let mut filters = String::new();
            let mut args: Vec<(&str, &dyn rusqlite::ToSql)> =
                vec![(":viewer", &viewer), (":limit", &limit)];
            if let Some(s) = &status {
                filters.push_str(" AND i.status = :status");
                args.push((":status", s));
            }
            if let Some(s) = &severity {
                filters.push_str(" AND i.severity = :severity");
                args.push((":severity", s));
            }
            if let Some(k) = &kind {
                filters.push_str(" AND i.kind = :kind");
                args.push((":kind", k));
            }
            let sql = format!(
                "SELECT {SUMMARY_COLS} FROM incidents i
                 WHERE (i.restricted = 0 OR EXISTS (SELECT 1 FROM incident_members m WHERE m.incident_id = i.id AND m.user_name = :viewer))
                   {filters}
                 ORDER BY i.updated_us DESC, i.id
                 LIMIT :limit"
            );
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(&args[..], summary_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn create_user(&self, name: &UserName, role: AccountRole) -> Result<User> {
        let user = User {
            name: name.clone(),
            role,
            created_at: now_text(),
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

    pub async fn user(&self, name: &UserName) -> Result<Option<User>> {
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

    pub async fn user_count(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))? as u64)
        })
        .await
    }

    pub async fn insert_token(&self, t: &NewToken) -> Result<TokenInfo> {
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

    pub async fn authenticate(&self, token_hash: &str) -> Result<Option<Authenticated>> {
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

    pub async fn revoke_token(&self, id: &str, at: &str) -> Result<bool> {
        let (id, at) = (id.to_string(), at.to_string());
        self.write(false, move |c, _| {
            let n = c.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, at],
            )?;
            Ok((n == 1, None))
        })
        .await
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
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

    pub async fn register_key(&self, key_id: &str, public_hex: &str, at: &str) -> Result<()> {
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

    pub async fn incident_key(&self, incident: Uuid) -> Result<Option<String>> {
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT wrapped FROM incident_keys WHERE incident_id = ?1")?
                    .query_row([incident.to_string()], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

    pub async fn put_incident_key(
        &self,
        incident: Uuid,
        wrapped: &str,
        at: &str,
    ) -> Result<String> {
        let (w, a) = (wrapped.to_string(), at.to_string());
        self.write(false, move |c, _| {
            let id = incident.to_string();
            c.execute(
                "INSERT INTO incident_keys (incident_id, wrapped, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (incident_id) DO NOTHING",
                params![id, w, a],
            )?;
            let stored: String = c.query_row(
                "SELECT wrapped FROM incident_keys WHERE incident_id = ?1",
                [&id],
                |r| r.get(0),
            )?;
            Ok((stored, None))
        })
        .await
    }

    pub async fn outbox_claim(
        &self,
        now_us: i64,
        lease_us: i64,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        self.write(false, move |c, _| {
            let mut st = c.prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_us = ?2
                 WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_us <= ?1 ORDER BY next_attempt_us LIMIT ?3)
                 RETURNING id, incident_id, kind, payload, created_at, attempts",
            )?;
            let rows = st
                .query_map(params![now_us, now_us + lease_us, limit as i64], |r| {
                    Ok(OutboxItem {
                        id: Uuid::parse_str(&r.get::<_, String>(0)?).map_err(bad(0))?,
                        incident: r
                            .get::<_, Option<String>>(1)?
                            .map(|s| Uuid::parse_str(&s))
                            .transpose()
                            .map_err(bad(1))?,
                        kind: r.get(2)?,
                        payload: r.get(3)?,
                        created_at: r.get(4)?,
                        attempts: r.get::<_, i64>(5)? as u32,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((rows, None))
        })
        .await
    }

    pub async fn outbox_done(&self, id: Uuid, at: &str) -> Result<()> {
        let a = at.to_string();
        self.write(false, move |c, _| {
            c.execute(
                "UPDATE outbox SET delivered_at = ?2, last_error = NULL WHERE id = ?1",
                params![id.to_string(), a],
            )?;
            Ok(((), None))
        })
        .await
    }

    pub async fn outbox_retry(&self, id: Uuid, error: &str, next_us: i64) -> Result<()> {
        let e = error.to_string();
        self.write(false, move |c, _| {
            c.execute(
                "UPDATE outbox SET last_error = ?2, next_attempt_us = ?3 WHERE id = ?1",
                params![id.to_string(), e, next_us],
            )?;
            Ok(((), None))
        })
        .await
    }

    pub async fn outbox_pending(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM outbox WHERE delivered_at IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
        .await
    }

    pub async fn feed_verifier(&self, v: &mut Verifier) -> Result<()> {
        let conn = self.reader()?;
        feed(&conn, v)
    }
}

/// Feed a verifier from a SQLite connection (also used by `palisade verify` on a data directory
/// without starting a store).
pub fn feed(conn: &Connection, v: &mut Verifier) -> Result<()> {
    feed_range(conn, v, None, None)
}

/// Feed the ledger rows of incidents with `from <= incident_id < to` (text order; either bound
/// may be open), events first, then checkpoints, from one read snapshot.
pub fn feed_range(
    conn: &Connection,
    v: &mut Verifier,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<()> {
    // Only the bounds that are given, as plain comparisons: SQLite then seeks the primary key to
    // the range. (`?1 IS NULL OR incident_id >= ?1` would make it scan the whole table and filter,
    // so each half read every row.)
    let bounds: Vec<&str> = from.iter().chain(to.iter()).copied().collect();
    let range = match (from, to) {
        (None, None) => String::new(),
        (Some(_), None) => "WHERE incident_id >= ?1".into(),
        (None, Some(_)) => "WHERE incident_id < ?1".into(),
        (Some(_), Some(_)) => "WHERE incident_id >= ?1 AND incident_id < ?2".into(),
    };
    conn.execute_batch("BEGIN")?;
    let r = (|| {
        let mut st = conn.prepare(&format!(
            "SELECT incident_id, seq, body, prev_hash, hash FROM ledger_events {range} ORDER BY incident_id, seq"
        ))?;
        let mut rows = st.query(rusqlite::params_from_iter(&bounds))?;
        while let Some(r) = rows.next()? {
            v.event(
                r.get_ref(0)?.as_bytes()?,
                r.get(1)?,
                r.get_ref(2)?.as_bytes()?,
                r.get_ref(3)?.as_bytes()?,
                r.get_ref(4)?.as_bytes()?,
            );
        }
        let mut st = conn.prepare(&format!(
            "SELECT incident_id, seq, body, signature FROM ledger_checkpoints {range} ORDER BY incident_id, seq"
        ))?;
        let mut rows = st.query(rusqlite::params_from_iter(&bounds))?;
        while let Some(r) = rows.next()? {
            v.checkpoint(
                r.get_ref(0)?.as_str()?,
                r.get(1)?,
                r.get_ref(2)?.as_str()?,
                r.get_ref(3)?.as_str()?,
            );
        }
        v.end_of_input();
        Ok::<_, rusqlite::Error>(())
    })();
    conn.execute_batch("COMMIT")?;
    Ok(r?)
}

/// Up to `chunks − 1` incident ids that cut the ledger into `chunks` ranges of about the same
/// number of events, to verify the ranges in parallel. Only balance depends on them, not
/// correctness: the ranges `< b1`, `b1 ≤ … < b2`, …, `≥ bn` cover every row whatever the bounds.
/// So they are read from the `incidents` projection (ids and event counts: a few thousand small
/// rows), which verification otherwise never looks at; counting the ledger itself would cost a
/// scan of it before the parallel part starts. A projection that cannot be read gives no bounds
/// (one range): it must not stop the ledger from being verified.
pub fn split_points(conn: &Connection, chunks: usize) -> Vec<String> {
    if chunks < 2 {
        return Vec::new();
    }
    let rows = conn
        .prepare("SELECT id, last_seq FROM incidents ORDER BY id")
        .and_then(|mut st| {
            st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?.clamp(1, 1 << 40) as u128,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap_or_default();
    let total: u128 = rows.iter().map(|r| r.1).sum();
    let mut bounds = Vec::with_capacity(chunks - 1);
    let mut sum = 0u128;
    for (id, n) in rows {
        // Start a new range at this incident once the events before it reach the next share.
        let next_share = total * (bounds.len() as u128 + 1) / chunks as u128;
        if sum > 0 && sum >= next_share && bounds.len() < chunks - 1 {
            bounds.push(id);
        }
        sum += n;
    }
    bounds
}

/// Open a database read-only for verification, refusing to create one.
pub fn open_for_verify(path: &Path) -> Result<Connection> {
    if !path.exists() {
        return Err(StoreError::NotFound(format!("database {}", path.display())));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    check_version(&conn)?;
    // Verification reads the whole file once, in key order: map it (SQLite caps this at its
    // compile-time limit, 2 GiB by default, and reads the rest as usual) rather than copying
    // every page through read(2) into its own cache. Pages still in the WAL are read from there.
    conn.pragma_update(None, "mmap_size", 1i64 << 40)?;
    Ok(conn)
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>, witness: Arc<crate::witness::Witness>) {
    let mut heads = Heads::default();
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Dropping a job drops its reply channel: each waiter gets an error, nothing is written.
            tracing::error!(error = %e, "could not start a write transaction");
            continue;
        }
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            let _ = conn.execute_batch("SAVEPOINT job");
            let out = job(&conn, &mut heads);
            if out.ok {
                let _ = conn.execute_batch("RELEASE job");
            } else {
                let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            }
            outcomes.push(out);
        }
        match conn.execute_batch("COMMIT") {
            Ok(()) => {
                let checkpoints: Vec<&Checkpoint> =
                    outcomes.iter().flat_map(|o| o.witness.iter()).collect();
                let flushed = witness.append(&checkpoints).map_err(|e| e.to_string());
                for o in outcomes {
                    let r = match &flushed {
                        Err(e) if !o.witness.is_empty() => Err(StoreError::Io {
                            context:
                                "the change is committed, but the witness log could not be written"
                                    .into(),
                            source: std::io::Error::other(e.clone()),
                        }),
                        _ => Ok(()),
                    };
                    (o.finish)(r);
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                heads.map.clear();
                let msg = e.to_string();
                for o in outcomes {
                    (o.finish)(Err(StoreError::Corrupt(format!(
                        "commit failed, nothing was written: {msg}"
                    ))));
                }
            }
        }
    }
}

fn check_version(conn: &Connection) -> Result<i64> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if v > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: v,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(v)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current = check_version(&tx)?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version > current {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn append_in(
    conn: &Connection,
    heads: &mut Heads,
    signer: &chain::LedgerSigner,
    req: &AppendRequest,
    bodies: Vec<String>,
) -> Result<Appended> {
    let id = req.incident.to_string();
    let p = &req.projection.summary;
    let (head, prev_cp) = if req.expected_last_seq == 0 {
        let taken: Option<String> = conn
            .prepare_cached("SELECT id FROM incidents WHERE id = ?1 OR codename = ?2")?
            .query_row(params![id, p.codename], |r| r.get(0))
            .optional()?;
        if let Some(t) = taken {
            return Err(if t == id {
                StoreError::Conflict {
                    incident: req.incident,
                    expected: 0,
                    found: 1,
                }
            } else {
                StoreError::CodenameTaken(p.codename.clone())
            });
        }
        conn.prepare_cached(
            "INSERT INTO incidents (id, codename, title, kind, severity, status, restricted, commander, declared_at, updated_at, updated_us, last_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0)",
        )?
        .execute(params![
            id, p.codename, p.title, p.kind.as_str(), p.severity.level() as i64, p.status.as_str(),
            p.restricted, p.commander, p.declared_at, p.updated_at, p.updated_us
        ])?;
        (genesis(), genesis())
    } else if let Some((seq, head, link)) = heads.map.get(&req.incident).copied() {
        if seq != req.expected_last_seq {
            return Err(StoreError::Conflict {
                incident: req.incident,
                expected: req.expected_last_seq,
                found: seq,
            });
        }
        (head, link)
    } else {
        let found: Option<i64> = conn
            .prepare_cached("SELECT max(seq) FROM ledger_events WHERE incident_id = ?1")?
            .query_row([&id], |r| r.get(0))?;
        let found = found.unwrap_or(0) as u64;
        if found != req.expected_last_seq {
            return Err(StoreError::Conflict {
                incident: req.incident,
                expected: req.expected_last_seq,
                found,
            });
        }
        let head: String = conn
            .prepare_cached("SELECT hash FROM ledger_events WHERE incident_id = ?1 AND seq = ?2")?
            .query_row(params![id, found as i64], |r| r.get(0))?;
        let prev_cp: Option<(String, String)> = conn
            .prepare_cached("SELECT body, signature FROM ledger_checkpoints WHERE incident_id = ?1 ORDER BY seq DESC LIMIT 1")?
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let link = prev_cp.map_or_else(genesis, |(b, s)| chain::link_hash(&b, &s));
        (parse_hash_col(&head, "stored event hash")?, link)
    };
    let prepared = prepare_append(signer, req, bodies, head, prev_cp)?;
    {
        let mut ins = conn.prepare_cached(
            "INSERT INTO ledger_events (incident_id, seq, body, prev_hash, hash, recorded_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for r in &prepared.rows {
            ins.execute(params![
                id,
                r.seq as i64,
                r.body,
                r.prev_hash,
                r.hash,
                r.recorded_at_us
            ])?;
        }
    }
    conn.prepare_cached("INSERT INTO ledger_checkpoints (incident_id, seq, body, signature) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, prepared.checkpoint.body.seq as i64, prepared.checkpoint_body, prepared.checkpoint.signature])?;
    conn.prepare_cached(
        "UPDATE incidents SET title = ?2, severity = ?3, status = ?4, restricted = ?5, commander = ?6, updated_at = ?7, updated_us = ?8, last_seq = ?9 WHERE id = ?1",
    )?
    .execute(params![
        id, p.title, p.severity.level() as i64, p.status.as_str(), p.restricted, p.commander,
        p.updated_at, p.updated_us, p.last_seq as i64
    ])?;
    let mut member = conn.prepare_cached(
        "INSERT INTO incident_members (incident_id, user_name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    for m in &req.projection.members {
        member.execute(params![id, m])?;
    }
    if !req.outbox.is_empty() {
        let mut ins = conn.prepare_cached(
            "INSERT INTO outbox (id, incident_id, kind, payload, created_at, next_attempt_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for m in &req.outbox {
            ins.execute(params![
                m.id.to_string(),
                id,
                m.kind,
                m.payload,
                m.created_at,
                m.due_us
            ])?;
        }
    }
    Ok(Appended {
        rows: prepared.rows,
        checkpoint: prepared.checkpoint,
    })
}

const SUMMARY_COLS: &str = "id, codename, title, kind, severity, status, restricted, commander, declared_at, updated_at, updated_us, last_seq";

fn bad<E: std::fmt::Display>(i: usize) -> impl FnOnce(E) -> rusqlite::Error {
    move |e| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            e.to_string().into(),
        )
    }
}

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentSummary> {
    Ok(IncidentSummary {
        id: Uuid::parse_str(&r.get::<_, String>(0)?).map_err(bad(0))?,
        codename: r.get(1)?,
        title: r.get(2)?,
        kind: r.get::<_, String>(3)?.parse::<Kind>().map_err(bad(3))?,
        severity: Severity::new(r.get::<_, i64>(4)? as u8)
            .ok_or_else(|| bad(4)("severity out of range"))?,
        status: r.get::<_, String>(5)?.parse::<Status>().map_err(bad(5))?,
        restricted: r.get(6)?,
        commander: r.get(7)?,
        declared_at: r.get(8)?,
        updated_at: r.get(9)?,
        updated_us: r.get(10)?,
        last_seq: r.get::<_, i64>(11)? as u64,
    })
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

pub(crate) fn parse_role(s: &str) -> Result<AccountRole> {
    s.parse()
        .map_err(|e: palisade_core::types::ParseError| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn now_text() -> String {
    palisade_core::Timestamp::from_datetime(time::OffsetDateTime::now_utc()).to_string()
}
