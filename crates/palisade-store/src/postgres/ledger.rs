//! The ledger on PostgreSQL: appends (signed here against the cached or read chain head, then
//! written with the projection rows, outbox messages and idempotency record by the group-commit
//! writer, `writer.rs`), reads of stored rows, and the verifier's feed.

use super::PgStore;
use super::writer::Signed;
use crate::verify::Verifier;
use crate::{
    AppendRequest, Appended, Result, StoreError, StoredCheckpoint, StoredEvent, genesis,
    parse_hash_col, prepare_append,
};
use deadpool_postgres::Pool;
use palisade_core::StreamId;
use palisade_core::chain::{self, Hash};
use std::collections::HashMap;
use tokio::sync::oneshot;
use uuid::Uuid;

pub use crate::sqlite::ledger::HeadEvents;

/// Stream heads this instance knows: (last seq, its hash, link hash of the newest checkpoint).
/// An entry is only ever a head this stream really had (written by this instance's writer
/// after its commit, or read from the ledger); whether it is still the head is checked by the
/// writer's statement under the stream's row lock, so a stale entry costs a conflict, never a
/// fork.
#[derive(Default)]
pub(crate) struct Heads {
    map: HashMap<Uuid, (u64, Hash, Hash)>,
}

/// An at-head append waiting for its stream's combiner: how to build its events once the head
/// is known, and where its answer goes.
pub(crate) type AtHeadWaiter = (HeadEvents, oneshot::Sender<Result<Appended>>);

/// At-head appends waiting, by stream; a stream is present while its combiner runs.
pub(crate) type AtHeadQueues = HashMap<Uuid, Vec<AtHeadWaiter>>;

/// Most callers' events one combined append holds.
const MAX_COMBINED: usize = 256;

/// The same error for each caller of a combined append (errors are not `Clone`: the I/O error
/// inside one is not).
fn share(e: &StoreError) -> StoreError {
    match e {
        StoreError::Conflict {
            stream,
            expected,
            found,
        } => StoreError::Conflict {
            stream: *stream,
            expected: *expected,
            found: *found,
        },
        StoreError::Taken(s) => StoreError::Taken(s.clone()),
        StoreError::IdempotencyKeyUsed(s) => StoreError::IdempotencyKeyUsed(s.clone()),
        StoreError::AlreadyExists(s) => StoreError::AlreadyExists(s.clone()),
        StoreError::NotFound(s) => StoreError::NotFound(s.clone()),
        StoreError::SchemaTooNew { found, supported } => StoreError::SchemaTooNew {
            found: *found,
            supported: *supported,
        },
        StoreError::Unavailable(s) => StoreError::Unavailable(s.clone()),
        StoreError::UnknownOutcome(s) => StoreError::UnknownOutcome(s.clone()),
        StoreError::Full(s) => StoreError::Full(s.clone()),
        StoreError::Postgres(s) => StoreError::Postgres(s.clone()),
        StoreError::Sqlite(e) => StoreError::Postgres(e.to_string()),
        StoreError::Io { context, source } => StoreError::Io {
            context: context.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        StoreError::Corrupt(s) => StoreError::Corrupt(s.clone()),
        StoreError::WriterGone => StoreError::WriterGone,
    }
}

/// Entries kept; beyond this the cache starts over.
const HEADS_CAPACITY: usize = 65_536;

impl Heads {
    pub(super) fn remember(&mut self, stream: Uuid, seq: u64, head: Hash, link: Hash) {
        if self.map.get(&stream).is_some_and(|(s, _, _)| *s > seq) {
            return;
        }
        if self.map.len() >= HEADS_CAPACITY {
            self.map.clear();
        }
        self.map.insert(stream, (seq, head, link));
    }

    /// Drop the entry of `stream` unless it is past `seq` (a head remembered since).
    pub(super) fn forget_up_to(&mut self, stream: Uuid, seq: u64) {
        if self.map.get(&stream).is_some_and(|(s, _, _)| *s <= seq) {
            self.map.remove(&stream);
        }
    }
}

impl PgStore {
    fn cached_head(&self, stream: Uuid) -> Option<(u64, Hash, Hash)> {
        self.heads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .get(&stream)
            .copied()
    }

    /// The chain head an append after `expected` continues: from the cache, or read from the
    /// ledger (one round trip). A ledger that is not at `expected` is a conflict right away.
    async fn head_for(&self, req: &AppendRequest) -> Result<(Hash, Hash)> {
        let expected = req.expected_last_seq;
        if expected == 0 {
            return Ok((genesis(), genesis()));
        }
        let conflict = |found: u64| StoreError::Conflict {
            stream: req.stream.id,
            expected,
            found,
        };
        match self.cached_head(req.stream.id) {
            Some((seq, head, link)) if seq == expected => return Ok((head, link)),
            // Sequence numbers only grow: the ledger is past `expected` already.
            Some((seq, _, _)) if seq > expected => return Err(conflict(seq)),
            _ => {}
        }
        // One snapshot: the stream's count, and the event and checkpoint at it (immutable rows).
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached(
                        "SELECT s.last_seq, e.hash, c.body, c.signature FROM streams s
                         LEFT JOIN ledger_events e ON e.stream_id = s.id AND e.seq = s.last_seq
                         LEFT JOIN LATERAL (
                             SELECT body, signature FROM ledger_checkpoints
                             WHERE stream_id = s.id AND seq <= s.last_seq
                             ORDER BY seq DESC LIMIT 1
                         ) c ON true
                         WHERE s.id = $1",
                    )
                    .await?,
                &[&req.stream.id.to_string()],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("stream {}", req.stream)))?;
        let found = row.get::<_, i64>(0) as u64;
        let head = match row.get::<_, Option<&str>>(1) {
            Some(h) => parse_hash_col(h, "stored event hash")?,
            None if found == 0 => genesis(),
            None => {
                return Err(StoreError::Corrupt(format!(
                    "stream {} counts {found} events but its event {found} is missing",
                    req.stream
                )));
            }
        };
        let link = match (row.get::<_, Option<&str>>(2), row.get::<_, Option<&str>>(3)) {
            (Some(body), Some(sig)) => chain::link_hash(body, sig),
            _ => genesis(),
        };
        self.heads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remember(req.stream.id, found, head, link);
        if found != expected {
            return Err(conflict(found));
        }
        Ok((head, link))
    }

    /// Sign the append on the caller's task and hand it to the writer, which commits it with
    /// whatever else is waiting and answers once it is committed and witnessed.
    pub(crate) async fn append(&self, req: AppendRequest) -> Result<Appended> {
        let (head, link) = self.head_for(&req).await?;
        let prepared = prepare_append(&self.ctx.signer, &req, head, link)?;
        self.writer
            .write(Signed {
                stream: req.stream,
                expected: req.expected_last_seq,
                prepared,
                projection: req.projection,
                outbox: req.outbox,
                idempotency: req.idempotency,
                keys: req.keys,
            })
            .await
    }

    /// Append events numbered after whatever the stream holds now (recorded reads).
    ///
    /// Concurrent at-head appends to one stream are combined: the first starts a combiner task
    /// for the stream, and everything that arrives while its append is out is written by the
    /// next one, as **one** append (one checkpoint, one commit, one witness flush) holding each
    /// caller's events in arrival order. Without that, the writer could take only one of them
    /// per group (one append per stream per statement) and the rest would be signed on a head
    /// that had moved, conflict, and retry: on PostgreSQL, four clients reading one restricted
    /// incident waited up to 650 ms (p99). The combiner runs as a task of its own, so a caller
    /// that gives up (a client that disconnects) does not strand the others.
    pub(crate) async fn append_at_head(
        &self,
        stream: StreamId,
        make: HeadEvents,
    ) -> Result<Appended> {
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut waiting = self.at_head.lock().unwrap_or_else(|p| p.into_inner());
            match waiting.get_mut(&stream.id) {
                Some(queue) => {
                    queue.push((make, reply));
                    false
                }
                None => {
                    waiting.insert(stream.id, vec![(make, reply)]);
                    true
                }
            }
        };
        if lead {
            let store = self.clone();
            tokio::spawn(async move { store.combine_at_head(stream).await });
        }
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Write the at-head appends waiting for `stream`, a batch at a time, until none wait.
    async fn combine_at_head(&self, stream: StreamId) {
        loop {
            let batch = {
                let mut waiting = self.at_head.lock().unwrap_or_else(|p| p.into_inner());
                let Some(queue) = waiting.get_mut(&stream.id) else {
                    return;
                };
                if queue.is_empty() {
                    waiting.remove(&stream.id);
                    return;
                }
                let n = queue.len().min(MAX_COMBINED);
                queue.drain(..n).collect::<Vec<_>>()
            };
            self.write_combined(stream, batch).await;
        }
    }

    /// One append holding every caller's events; each caller gets its own rows (or the error).
    async fn write_combined(&self, stream: StreamId, mut batch: Vec<AtHeadWaiter>) {
        loop {
            let head = match self.cached_head(stream.id) {
                Some((seq, _, _)) => Ok(seq),
                None => self
                    .stream(stream.id)
                    .await
                    .and_then(|s| s.ok_or_else(|| StoreError::NotFound(format!("stream {stream}"))))
                    .map(|(_, last)| last),
            };
            let head = match head {
                Ok(h) => h,
                Err(e) => {
                    for (_, reply) in batch {
                        let _ = reply.send(Err(share(&e)));
                    }
                    return;
                }
            };
            // Each caller's events, numbered after the previous caller's; a caller whose events
            // cannot be built gets its error and is left out.
            let mut events = Vec::new();
            let mut spans = Vec::with_capacity(batch.len());
            let mut kept = Vec::with_capacity(batch.len());
            for (make, reply) in batch {
                match make(head + events.len() as u64) {
                    Ok(mine) => {
                        spans.push(events.len()..events.len() + mine.len());
                        events.extend(mine);
                        kept.push((make, reply));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            batch = kept;
            if batch.is_empty() {
                return;
            }
            let req = AppendRequest {
                stream,
                expected_last_seq: head,
                events,
                projection: None,
                outbox: Vec::new(),
                idempotency: None,
                keys: None,
            };
            match self.append(req).await {
                // Another instance moved the stream on: number them again after its head.
                Err(StoreError::Conflict { .. }) => continue,
                Ok(appended) => {
                    for ((_, reply), span) in batch.into_iter().zip(spans) {
                        let _ = reply.send(Ok(Appended {
                            rows: appended.rows[span].to_vec(),
                            checkpoint: appended.checkpoint.clone(),
                        }));
                    }
                    return;
                }
                Err(e) => {
                    for (_, reply) in batch {
                        let _ = reply.send(Err(share(&e)));
                    }
                    return;
                }
            }
        }
    }

    pub(crate) async fn stored_events(
        &self,
        stream: Uuid,
        after: u64,
        limit: u64,
    ) -> Result<Vec<StoredEvent>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT seq, body, prev_hash, hash, recorded_at_us FROM ledger_events
                         WHERE stream_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    )
                    .await?,
                &[
                    &stream.to_string(),
                    &(after.min(i64::MAX as u64) as i64),
                    &(limit.min(i64::MAX as u64) as i64),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoredEvent {
                stream,
                seq: r.get::<_, i64>(0) as u64,
                body: r.get(1),
                prev_hash: r.get(2),
                hash: r.get(3),
                recorded_at_us: r.get(4),
            })
            .collect())
    }

    pub(crate) async fn stored_checkpoints(&self, stream: Uuid) -> Result<Vec<StoredCheckpoint>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT seq, body, signature FROM ledger_checkpoints WHERE stream_id = $1 ORDER BY seq",
                &[&stream.to_string()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoredCheckpoint {
                stream,
                seq: r.get::<_, i64>(0) as u64,
                body: r.get(1),
                signature: r.get(2),
            })
            .collect())
    }

    pub(crate) async fn event_bodies_after(&self, stream: Uuid, after: u64) -> Result<Vec<String>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT body FROM ledger_events WHERE stream_id = $1 AND seq > $2 ORDER BY seq",
                    )
                    .await?,
                &[&stream.to_string(), &(after as i64)],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(crate) async fn stream(&self, id: Uuid) -> Result<Option<(String, u64)>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached("SELECT kind, last_seq FROM streams WHERE id = $1")
                    .await?,
                &[&id.to_string()],
            )
            .await?;
        Ok(row.map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64)))
    }

    pub(crate) async fn feed_verifier(&self, v: &mut Verifier) -> Result<()> {
        feed(&self.pool, v).await
    }
}

/// Feed a verifier from PostgreSQL, streaming rows in one repeatable-read snapshot.
pub async fn feed(pool: &Pool, v: &mut Verifier) -> Result<()> {
    use futures_util::{StreamExt, pin_mut};
    let mut client = pool.get().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 0] = [];
    // Before schema 4 (streams) the column was `incident_id`: a database not yet upgraded
    // verifies as it is, read-only.
    let version: i64 = tx
        .query_opt("SELECT version FROM palisade_schema", &[])
        .await
        .ok()
        .flatten()
        .map_or(crate::SCHEMA_VERSION, |r| r.get(0));
    let col = if version >= 4 {
        "stream_id"
    } else {
        "incident_id"
    };
    let stream = tx
        .query_raw(
            &format!(
                "SELECT {col}, seq, body, prev_hash, hash FROM ledger_events ORDER BY {col} COLLATE \"C\", seq"
            ),
            params,
        )
        .await?;
    pin_mut!(stream);
    while let Some(row) = stream.next().await {
        let r = row?;
        let (sid, body, prev, hash): (&str, &str, &str, &str) =
            (r.get(0), r.get(2), r.get(3), r.get(4));
        v.event(
            sid.as_bytes(),
            r.get(1),
            body.as_bytes(),
            prev.as_bytes(),
            hash.as_bytes(),
        );
    }
    let stream = tx
        .query_raw(
            &format!(
                "SELECT {col}, seq, body, signature FROM ledger_checkpoints ORDER BY {col} COLLATE \"C\", seq"
            ),
            params,
        )
        .await?;
    pin_mut!(stream);
    while let Some(row) = stream.next().await {
        let r = row?;
        v.checkpoint(r.get(0), r.get(1), r.get(2), r.get(3));
    }
    v.end_of_input();
    tx.commit().await?;
    Ok(())
}
