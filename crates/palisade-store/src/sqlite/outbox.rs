//! The outbox on SQLite: messages written with the events that cause them, claimed by the
//! notification worker as leases.

use super::{SqliteStore, bad};
use crate::{
    DeliveryRow, DeliveryState, Destination, OutboxClass, OutboxItem, OutboxMessage, Result,
};
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
        class: OutboxClass,
        now_us: i64,
        lease_us: i64,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        self.write(false, move |c, _| {
            let mut st = c.prepare_cached(&format!(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_us = ?2
                 WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_us <= ?1 AND {} ORDER BY next_attempt_us LIMIT ?3)
                 RETURNING id, stream_id, kind, destination, payload, created_at, attempts",
                crate::outbox::class_filter(class, "?4")
            ))?;
            let rows = st
                .query_map(params![now_us, now_us + lease_us, limit as i64, OutboxClass::timer_destination()], |r| {
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

    pub(crate) async fn outbox_done_many(
        &self,
        ids: Vec<Uuid>,
        at: &str,
        note: Option<&str>,
    ) -> Result<()> {
        let a = at.to_string();
        let note = note.map(str::to_string);
        self.write(false, move |c, _| {
            let mut st = c.prepare_cached(
                "UPDATE outbox SET delivered_at = ?2, last_error = ?3 WHERE id = ?1",
            )?;
            for id in &ids {
                st.execute(params![id.to_string(), a, note])?;
            }
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

    pub(crate) async fn outbox_postpone(&self, ids: Vec<Uuid>, due_us: i64) -> Result<()> {
        self.write(false, move |c, _| {
            let mut st = c.prepare_cached(
                "UPDATE outbox SET attempts = max(attempts - 1, 0), next_attempt_us = ?2
                 WHERE id = ?1 AND delivered_at IS NULL AND dead_at IS NULL",
            )?;
            for id in &ids {
                st.execute(params![id.to_string(), due_us])?;
            }
            Ok(((), None))
        })
        .await
    }

    pub(crate) async fn outbox_pending(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
        .await
    }

    pub(crate) async fn outbox_dead(&self, id: Uuid, error: &str, at: &str) -> Result<()> {
        let (e, a) = (error.to_string(), at.to_string());
        self.write(false, move |c, _| {
            c.execute(
                "UPDATE outbox SET last_error = ?2, dead_at = ?3 WHERE id = ?1",
                params![id.to_string(), e, a],
            )?;
            Ok(((), None))
        })
        .await
    }

    pub(crate) async fn outbox_list(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&crate::outbox::list_sql(state, "?1"))?;
            let rows = st
                .query_map([limit as i64], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, i64>(9)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(
                    |(
                        id,
                        stream,
                        kind,
                        dest,
                        created_at,
                        attempts,
                        last_error,
                        delivered_at,
                        dead_at,
                        next,
                    )| {
                        Ok(DeliveryRow {
                            id: Uuid::parse_str(&id)
                                .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
                            stream: stream
                                .map(|s| Uuid::parse_str(&s))
                                .transpose()
                                .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
                            kind,
                            destination: Destination::from_json(&dest)?,
                            created_at,
                            attempts: attempts as u32,
                            last_error,
                            delivered_at,
                            dead_at,
                            next_attempt_us: next,
                        })
                    },
                )
                .collect()
        })
        .await
    }

    pub(crate) async fn outbox_resend(&self, id: Uuid, now_us: i64) -> Result<bool> {
        self.write(false, move |c, _| {
            let n = c.execute(
                "UPDATE outbox SET dead_at = NULL, delivered_at = NULL, attempts = 0, next_attempt_us = ?2 WHERE id = ?1",
                params![id.to_string(), now_us],
            )?;
            Ok((n > 0, None))
        })
        .await
    }

    pub(crate) async fn outbox_next_due(&self, class: OutboxClass) -> Result<Option<i64>> {
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT min(next_attempt_us) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND {}",
                crate::outbox::class_filter(class, "?1")
            ))?
            .query_row([OutboxClass::timer_destination()], |r| r.get::<_, Option<i64>>(0))?)
        })
        .await
    }
}
