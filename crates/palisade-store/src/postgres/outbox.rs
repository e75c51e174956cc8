//! The outbox on PostgreSQL: messages written with the events that cause them, claimed by
//! notification workers of any instance as leases (`FOR UPDATE SKIP LOCKED`).

use super::writer::{Parts, Placeholders};
use super::{PgStore, corrupt};
use crate::{Destination, OutboxItem, OutboxMessage, Result};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// Outbox messages of an append group, one array per column (the group statement writes them
/// for the streams that moved, in the same transaction as their events).
#[derive(Default)]
pub(super) struct Rows<'a> {
    id: Vec<String>,
    stream: Vec<&'a str>,
    kind: Vec<&'a str>,
    destination: Vec<String>,
    payload: Vec<&'a str>,
    created_at: Vec<&'a str>,
    due_us: Vec<i64>,
}

impl<'a> Rows<'a> {
    pub fn push(&mut self, stream: &'a str, msgs: &'a [OutboxMessage]) {
        for m in msgs {
            self.id.push(m.id.to_string());
            self.stream.push(stream);
            self.kind.push(&m.kind);
            self.destination.push(m.destination.to_json());
            self.payload.push(&m.payload);
            self.created_at.push(&m.created_at);
            self.due_us.push(m.due_us);
        }
    }

    /// Whether its CTE has rows.
    pub fn parts(&self) -> Parts {
        Parts(Parts::when(Parts::OUTBOX, &self.id))
    }

    /// The statement's CTE, if `parts` has it (parameters numbered on from `p`).
    pub fn sql(p: &mut Placeholders, parts: Parts) -> String {
        if !parts.has(Parts::OUTBOX) {
            return String::new();
        }
        let cols: Vec<String> = [
            "text[]", "text[]", "text[]", "text[]", "text[]", "text[]", "int8[]",
        ]
        .iter()
        .map(|t| p.next(t))
        .collect();
        format!(
            ",
         outbox_new AS (
            INSERT INTO outbox (id, stream_id, kind, destination, payload, created_at, next_attempt_us)
            SELECT o.* FROM unnest({})
                AS o(id, stream_id, kind, destination, payload, created_at, next_attempt_us)
            WHERE o.stream_id IN (SELECT id FROM ok)
         )",
            cols.join(", ")
        )
    }

    /// The parameters, if `parts` has the CTE, in the order of [`Rows::sql`].
    pub fn params<'b>(&'b self, out: &mut Vec<&'b (dyn ToSql + Sync)>, parts: Parts) {
        if parts.has(Parts::OUTBOX) {
            out.extend([
                &self.id as &(dyn ToSql + Sync),
                &self.stream,
                &self.kind,
                &self.destination,
                &self.payload,
                &self.created_at,
                &self.due_us,
            ]);
        }
    }
}

impl PgStore {
    /// Claim due messages; several servers may claim concurrently (`SKIP LOCKED`), and a claim
    /// is a lease: a message not marked delivered is due again after `lease_us`.
    pub(crate) async fn outbox_claim(
        &self,
        class: crate::OutboxClass,
        now_us: i64,
        lease_us: i64,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_us = $2
                     WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_us <= $1
                                  AND {} ORDER BY next_attempt_us LIMIT $3 FOR UPDATE SKIP LOCKED)
                     RETURNING id, stream_id, kind, destination, payload, created_at, attempts",
                    crate::outbox::class_filter(class, "$4")
                ),
                &[
                    &now_us,
                    &(now_us + lease_us),
                    &(limit as i64),
                    &crate::OutboxClass::timer_destination(),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxItem {
                    id: Uuid::parse_str(r.get::<_, &str>(0)).map_err(corrupt)?,
                    stream: r
                        .get::<_, Option<&str>>(1)
                        .map(Uuid::parse_str)
                        .transpose()
                        .map_err(corrupt)?,
                    kind: r.get(2),
                    destination: Destination::from_json(r.get::<_, &str>(3))?,
                    payload: r.get(4),
                    created_at: r.get(5),
                    attempts: r.get::<_, i32>(6) as u32,
                })
            })
            .collect()
    }

    pub(crate) async fn outbox_done(&self, id: Uuid, at: &str) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE outbox SET delivered_at = $2, last_error = NULL WHERE id = $1",
                &[&id.to_string(), &at],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn outbox_done_many(
        &self,
        ids: Vec<Uuid>,
        at: &str,
        note: Option<&str>,
    ) -> Result<()> {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE outbox SET delivered_at = $2, last_error = $3 WHERE id = ANY($1)",
                &[&ids, &at, &note],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn outbox_retry(&self, id: Uuid, error: &str, next_us: i64) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE outbox SET last_error = $2, next_attempt_us = $3 WHERE id = $1",
                &[&id.to_string(), &error, &next_us],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn outbox_postpone(&self, ids: Vec<Uuid>, due_us: i64) -> Result<()> {
        let client = self.pool.get().await?;
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        client
            .execute(
                "UPDATE outbox SET attempts = greatest(attempts - 1, 0), next_attempt_us = $2
                 WHERE id = ANY($1) AND delivered_at IS NULL AND dead_at IS NULL",
                &[&ids, &due_us],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn outbox_pending(&self) -> Result<u64> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one(
                "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL",
                &[],
            )
            .await?
            .get::<_, i64>(0) as u64)
    }

    pub(crate) async fn outbox_dead(&self, id: Uuid, error: &str, at: &str) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE outbox SET last_error = $2, dead_at = $3 WHERE id = $1",
                &[&id.to_string(), &error, &at],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn outbox_list(
        &self,
        state: Option<crate::DeliveryState>,
        limit: u32,
    ) -> Result<Vec<crate::DeliveryRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(&crate::outbox::list_sql(state, "$1"), &[&(limit as i64)])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::DeliveryRow {
                    id: Uuid::parse_str(r.get::<_, &str>(0)).map_err(corrupt)?,
                    stream: r
                        .get::<_, Option<&str>>(1)
                        .map(Uuid::parse_str)
                        .transpose()
                        .map_err(corrupt)?,
                    kind: r.get(2),
                    destination: Destination::from_json(r.get::<_, &str>(3))?,
                    created_at: r.get(4),
                    attempts: r.get::<_, i32>(5) as u32,
                    last_error: r.get(6),
                    delivered_at: r.get(7),
                    dead_at: r.get(8),
                    next_attempt_us: r.get(9),
                })
            })
            .collect()
    }

    pub(crate) async fn outbox_resend(&self, id: Uuid, now_us: i64) -> Result<bool> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "UPDATE outbox SET dead_at = NULL, delivered_at = NULL, attempts = 0, next_attempt_us = $2 WHERE id = $1",
                &[&id.to_string(), &now_us],
            )
            .await?;
        Ok(n > 0)
    }

    pub(crate) async fn outbox_next_due(&self, class: crate::OutboxClass) -> Result<Option<i64>> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one(
                &format!(
                    "SELECT min(next_attempt_us) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND {}",
                    crate::outbox::class_filter(class, "$1")
                ),
                &[&crate::OutboxClass::timer_destination()],
            )
            .await?
            .get::<_, Option<i64>>(0))
    }
}
