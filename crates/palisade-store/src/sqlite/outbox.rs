//! The outbox on SQLite: messages written with the events that cause them, claimed by the
//! notification worker as leases.

use super::{SqliteStore, bad};
use crate::{Destination, OutboxItem, OutboxMessage, Result};
use rusqlite::{Connection, params};
use uuid::Uuid;

/// Write messages inside an append's transaction.
pub(super) fn insert(
    conn: &Connection,
    stream: Option<&str>,
    msgs: &[OutboxMessage],
) -> Result<()> {
    if msgs.is_empty() {
        return Ok(());
    }
    let mut ins = conn.prepare_cached(
        "INSERT INTO outbox (id, stream_id, kind, destination, payload, created_at, next_attempt_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for m in msgs {
        ins.execute(params![
            m.id.to_string(),
            stream,
            m.kind,
            m.destination.to_json(),
            m.payload,
            m.created_at,
            m.due_us
        ])?;
    }
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn outbox_claim(
        &self,
        now_us: i64,
        lease_us: i64,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        self.write(false, move |c, _| {
            let mut st = c.prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_us = ?2
                 WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_us <= ?1 ORDER BY next_attempt_us LIMIT ?3)
                 RETURNING id, stream_id, kind, destination, payload, created_at, attempts",
            )?;
            let rows = st
                .query_map(params![now_us, now_us + lease_us, limit as i64], |r| {
                    Ok((
                        Uuid::parse_str(&r.get::<_, String>(0)?).map_err(bad(0))?,
                        r.get::<_, Option<String>>(1)?
                            .map(|s| Uuid::parse_str(&s))
                            .transpose()
                            .map_err(bad(1))?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)? as u32,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let items = rows
                .into_iter()
                .map(|(id, stream, kind, dest, payload, created_at, attempts)| {
                    Ok(OutboxItem {
                        id,
                        stream,
                        kind,
                        destination: Destination::from_json(&dest)?,
                        payload,
                        created_at,
                        attempts,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((items, None))
        })
        .await
    }

    pub(crate) async fn outbox_done(&self, id: Uuid, at: &str) -> Result<()> {
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

    pub(crate) async fn outbox_retry(&self, id: Uuid, error: &str, next_us: i64) -> Result<()> {
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

    pub(crate) async fn outbox_pending(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM outbox WHERE delivered_at IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
        .await
    }
}
