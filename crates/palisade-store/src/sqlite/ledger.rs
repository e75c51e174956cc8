//! The ledger on SQLite: appends (with the projection rows, outbox messages and idempotency
//! record of the same transaction), reads of stored rows, and the verifier's feed.

use super::{Heads, SqliteStore};
use crate::verify::Verifier;
use crate::{
    AppendRequest, Appended, NewEvent, Projection, Result, StoreError, StoredCheckpoint,
    StoredEvent, genesis, parse_hash_col, prepare_append,
};
use palisade_core::StreamId;
use palisade_core::chain;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

/// Builds the events of an at-head append once the head is known (their first sequence number
/// is the head + 1).
pub type HeadEvents = Arc<dyn Fn(u64) -> Result<Vec<NewEvent>> + Send + Sync>;

impl SqliteStore {
    pub(crate) async fn append(&self, req: AppendRequest) -> Result<Appended> {
        let signer = self.inner.ctx.signer.clone();
        // The writer thread flushes the witness log before acknowledging (see writer_loop).
        self.write(true, move |conn, heads| {
            let a = append_in(conn, heads, &signer, &req)?;
            let cp = a.checkpoint.clone();
            Ok((a, Some(cp)))
        })
        .await
    }

    pub(crate) async fn append_at_head(
        &self,
        stream: StreamId,
        make: HeadEvents,
    ) -> Result<Appended> {
        let signer = self.inner.ctx.signer.clone();
        self.write(true, move |conn, heads| {
            let head = match heads.get(&stream.id) {
                Some((seq, _, _)) => seq,
                None => stream_last_seq(conn, stream.id)?
                    .ok_or_else(|| StoreError::NotFound(format!("stream {stream}")))?,
            };
            let req = AppendRequest {
                stream,
                expected_last_seq: head,
                events: make(head)?,
                projection: None,
                outbox: Vec::new(),
                idempotency: None,
                keys: None,
            };
            let a = append_in(conn, heads, &signer, &req)?;
            let cp = a.checkpoint.clone();
            Ok((a, Some(cp)))
        })
        .await
    }

    pub(crate) async fn event_bodies_after(&self, stream: Uuid, after: u64) -> Result<Vec<String>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT body FROM ledger_events WHERE stream_id = ?1 AND seq > ?2 ORDER BY seq",
            )?;
            let rows = st.query_map(params![stream.to_string(), after as i64], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }

    pub(crate) async fn stored_events(
        &self,
        stream: Uuid,
        after: u64,
        limit: u64,
    ) -> Result<Vec<StoredEvent>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, body, prev_hash, hash, recorded_at_us FROM ledger_events
                 WHERE stream_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = st.query_map(
                params![
                    stream.to_string(),
                    after as i64,
                    limit.min(i64::MAX as u64) as i64
                ],
                |r| {
                    Ok(StoredEvent {
                        stream,
                        seq: r.get::<_, i64>(0)? as u64,
                        body: r.get(1)?,
                        prev_hash: r.get(2)?,
                        hash: r.get(3)?,
                        recorded_at_us: r.get(4)?,
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub(crate) async fn stored_checkpoints(&self, stream: Uuid) -> Result<Vec<StoredCheckpoint>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, body, signature FROM ledger_checkpoints WHERE stream_id = ?1 ORDER BY seq",
            )?;
            let rows = st.query_map([stream.to_string()], |r| {
                Ok(StoredCheckpoint {
                    stream,
                    seq: r.get::<_, i64>(0)? as u64,
                    body: r.get(1)?,
                    signature: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub(crate) async fn stream(&self, id: Uuid) -> Result<Option<(String, u64)>> {
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT kind, last_seq FROM streams WHERE id = ?1")?
                    .query_row([id.to_string()], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                    })
                    .optional()?,
            )
        })
        .await
    }

    pub(crate) async fn feed_verifier(&self, v: &mut Verifier) -> Result<()> {
        // A connection of its own: the whole ledger is read, on the caller's thread.
        let conn = super::open_reader(self.path())?;
        feed(&conn, v)
    }
}

fn stream_last_seq(conn: &Connection, id: Uuid) -> Result<Option<u64>> {
    Ok(conn
        .prepare_cached("SELECT last_seq FROM streams WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|n| n as u64))
}

/// Whether `e` is SQLite refusing a duplicate in a UNIQUE or PRIMARY KEY column.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// One append, inside the writer's transaction (its own savepoint).
fn append_in(
    conn: &Connection,
    heads: &mut Heads,
    signer: &chain::LedgerSigner,
    req: &AppendRequest,
) -> Result<Appended> {
    let id = req.stream.id.to_string();
    let conflict = |found: u64| StoreError::Conflict {
        stream: req.stream.id,
        expected: req.expected_last_seq,
        found,
    };
    let (head, prev_cp) = if req.expected_last_seq == 0 {
        let inserted = conn
            .prepare_cached(
                "INSERT INTO streams (id, kind, last_seq, created_at) VALUES (?1, ?2, 0, ?3)
                 ON CONFLICT (id) DO NOTHING",
            )?
            .execute(params![id, req.stream.kind.as_str(), crate::now_text()])?;
        if inserted == 0 {
            return Err(conflict(stream_last_seq(conn, req.stream.id)?.unwrap_or(1)));
        }
        (genesis(), genesis())
    } else if let Some((seq, head, link)) = heads.get(&req.stream.id) {
        if seq != req.expected_last_seq {
            return Err(conflict(seq));
        }
        (head, link)
    } else {
        let found = stream_last_seq(conn, req.stream.id)?
            .ok_or_else(|| StoreError::NotFound(format!("stream {}", req.stream)))?;
        if found != req.expected_last_seq {
            return Err(conflict(found));
        }
        let head: String = conn
            .prepare_cached("SELECT hash FROM ledger_events WHERE stream_id = ?1 AND seq = ?2")?
            .query_row(params![id, found as i64], |r| r.get(0))?;
        let prev_cp: Option<(String, String)> = conn
            .prepare_cached("SELECT body, signature FROM ledger_checkpoints WHERE stream_id = ?1 ORDER BY seq DESC LIMIT 1")?
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let link = prev_cp.map_or_else(genesis, |(b, s)| chain::link_hash(&b, &s));
        (parse_hash_col(&head, "stored event hash")?, link)
    };
    let prepared = prepare_append(signer, req, head, prev_cp)?;
    {
        let mut ins = conn.prepare_cached(
            "INSERT INTO ledger_events (stream_id, seq, body, prev_hash, hash, recorded_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
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
    conn.prepare_cached(
        "INSERT INTO ledger_checkpoints (stream_id, seq, body, signature) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        id,
        prepared.checkpoint.body.seq as i64,
        prepared.checkpoint_body,
        prepared.checkpoint.signature
    ])?;
    let last = prepared.checkpoint.body.seq as i64;
    conn.prepare_cached("UPDATE streams SET last_seq = ?2 WHERE id = ?1")?
        .execute(params![id, last])?;
    let first = req.expected_last_seq == 0;
    match &req.projection {
        Some(Projection::Incident(p)) => super::incidents::write_projection(conn, p, first)?,
        Some(Projection::Service(p)) => super::services::write_projection(conn, p, first)?,
        Some(Projection::Record(p)) => super::records::write_projection(conn, req.stream, p)?,
        None => {}
    }
    if let Some(keys) = &req.keys {
        super::records::write_keys(conn, req.stream, keys)?;
    }
    super::outbox::insert(conn, Some(&id), &req.outbox)?;
    if let Some(rec) = &req.idempotency {
        super::idempotency::insert(conn, rec)?;
    }
    heads.insert(
        req.stream.id,
        (
            prepared.checkpoint.body.seq,
            prepared.head,
            prepared.checkpoint.link_hash(),
        ),
    );
    Ok(Appended {
        rows: prepared.rows,
        checkpoint: prepared.checkpoint,
    })
}

/// The ledger tables' stream column: `stream_id` from schema 4 on, `incident_id` before (a
/// database not yet upgraded verifies as it is, read-only).
fn stream_column(conn: &Connection) -> Result<&'static str> {
    Ok(if super::check_version(conn)? >= 4 {
        "stream_id"
    } else {
        "incident_id"
    })
}

/// Feed a verifier from a SQLite connection (also used by `palisade verify` on a data directory
/// without starting a store).
pub fn feed(conn: &Connection, v: &mut Verifier) -> Result<()> {
    feed_range(conn, v, None, None)
}

/// Feed the ledger rows of streams with `from <= stream_id < to` (text order; either bound
/// may be open), events first, then checkpoints, from one read snapshot.
pub fn feed_range(
    conn: &Connection,
    v: &mut Verifier,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<()> {
    // Only the bounds that are given, as plain comparisons: SQLite then seeks the primary key to
    // the range. (`?1 IS NULL OR stream_id >= ?1` would make it scan the whole table and filter,
    // so each half read every row.)
    let bounds: Vec<&str> = from.iter().chain(to.iter()).copied().collect();
    let col = stream_column(conn)?;
    let range = match (from, to) {
        (None, None) => String::new(),
        (Some(_), None) => format!("WHERE {col} >= ?1"),
        (None, Some(_)) => format!("WHERE {col} < ?1"),
        (Some(_), Some(_)) => format!("WHERE {col} >= ?1 AND {col} < ?2"),
    };
    conn.execute_batch("BEGIN")?;
    let r = (|| {
        let mut st = conn.prepare(&format!(
            "SELECT {col}, seq, body, prev_hash, hash FROM ledger_events {range} ORDER BY {col}, seq"
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
            "SELECT {col}, seq, body, signature FROM ledger_checkpoints {range} ORDER BY {col}, seq"
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

/// Up to `chunks − 1` stream ids that cut the ledger into `chunks` ranges of about the same
/// number of events, to verify the ranges in parallel. Only balance depends on them, not
/// correctness: the ranges `< b1`, `b1 ≤ … < b2`, …, `≥ bn` cover every row whatever the bounds.
/// So they are read from the `streams` index (ids and event counts: a few thousand small rows),
/// which verification otherwise never trusts; counting the ledger itself would cost a scan of it
/// before the parallel part starts. An index that cannot be read gives no bounds (one range): it
/// must not stop the ledger from being verified.
pub fn split_points(conn: &Connection, chunks: usize) -> Vec<String> {
    if chunks < 2 {
        return Vec::new();
    }
    // Before schema 4 (streams), the incidents projection held the same counts.
    let index = match stream_column(conn) {
        Ok("stream_id") => "SELECT id, last_seq FROM streams ORDER BY id",
        _ => "SELECT id, last_seq FROM incidents ORDER BY id",
    };
    let rows = conn
        .prepare(index)
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
    super::check_version(&conn)?;
    // Verification reads the whole file once, in key order: map it (SQLite caps this at its
    // compile-time limit, 2 GiB by default, and reads the rest as usual) rather than copying
    // every page through read(2) into its own cache. Pages still in the WAL are read from there.
    conn.pragma_update(None, "mmap_size", 1i64 << 40)?;
    Ok(conn)
}
