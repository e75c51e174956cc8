//! Idempotency records on PostgreSQL, written in the same transaction as the command's events.

use super::PgStore;
use super::writer::{Parts, Placeholders};
use crate::{IdempotencyRecord, Result};
use tokio_postgres::types::ToSql;

/// Idempotency records of an append group, one array per column (the group statement writes
/// them for the streams that moved; a key used twice refuses the statement, and the writer then
/// answers [`crate::StoreError::IdempotencyKeyUsed`] to the append that carried it).
#[derive(Default)]
pub(super) struct Rows<'a> {
    stream: Vec<&'a str>,
    actor: Vec<&'a str>,
    key: Vec<&'a str>,
    request_hash: Vec<&'a str>,
    response: Vec<&'a str>,
    created_at: Vec<&'a str>,
}

impl<'a> Rows<'a> {
    pub fn push(&mut self, stream: &'a str, r: &'a IdempotencyRecord) {
        self.stream.push(stream);
        self.actor.push(&r.actor);
        self.key.push(&r.key);
        self.request_hash.push(&r.request_hash);
        self.response.push(&r.response);
        self.created_at.push(&r.created_at);
    }

    /// Whether its CTE has rows.
    pub fn parts(&self) -> Parts {
        Parts(Parts::when(Parts::IDEMPOTENCY, &self.stream))
    }

    /// The statement's CTE, if `parts` has it (parameters numbered on from `p`).
    pub fn sql(p: &mut Placeholders, parts: Parts) -> String {
        if !parts.has(Parts::IDEMPOTENCY) {
            return String::new();
        }
        let cols: Vec<String> = ["text[]", "text[]", "text[]", "text[]", "text[]", "text[]"]
            .iter()
            .map(|t| p.next(t))
            .collect();
        format!(
            ",
         idempotency_new AS (
            INSERT INTO idempotency (actor, key, request_hash, response, created_at)
            SELECT k.actor, k.key, k.request_hash, k.response, k.created_at FROM unnest({})
                AS k(stream, actor, key, request_hash, response, created_at)
            WHERE k.stream IN (SELECT id FROM ok)
         )",
            cols.join(", ")
        )
    }

    /// The parameters, if `parts` has the CTE, in the order of [`Rows::sql`].
    pub fn params<'b>(&'b self, out: &mut Vec<&'b (dyn ToSql + Sync)>, parts: Parts) {
        if parts.has(Parts::IDEMPOTENCY) {
            out.extend([
                &self.stream as &(dyn ToSql + Sync),
                &self.actor,
                &self.key,
                &self.request_hash,
                &self.response,
                &self.created_at,
            ]);
        }
    }
}

impl PgStore {
    pub(crate) async fn idempotency_record(
        &self,
        actor: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT request_hash, response, created_at FROM idempotency WHERE actor = $1 AND key = $2",
                &[&actor, &key],
            )
            .await?;
        Ok(row.map(|r| IdempotencyRecord {
            actor: actor.to_string(),
            key: key.to_string(),
            request_hash: r.get(0),
            response: r.get(1),
            created_at: r.get(2),
        }))
    }
}
