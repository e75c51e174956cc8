//! Idempotency records on SQLite: the answer of a command sent with an `Idempotency-Key`,
//! written in the same transaction as its events.

use super::SqliteStore;
use crate::{IdempotencyRecord, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn insert(conn: &Connection, r: &IdempotencyRecord) -> Result<()> {
    let done = conn
        .prepare_cached(
            "INSERT INTO idempotency (actor, key, request_hash, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![r.actor, r.key, r.request_hash, r.response, r.created_at]);
    match done {
        Err(e) if super::ledger::is_unique_violation(&e) => {
            Err(StoreError::IdempotencyKeyUsed(r.key.clone()))
        }
        d => d.map(|_| ()).map_err(Into::into),
    }
}

impl SqliteStore {
    pub(crate) async fn idempotency_record(
        &self,
        actor: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>> {
        let (actor, key) = (actor.to_string(), key.to_string());
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT request_hash, response, created_at FROM idempotency WHERE actor = ?1 AND key = ?2",
            )?
            .query_row(params![actor, key], |r| {
                Ok(IdempotencyRecord {
                    actor: actor.clone(),
                    key: key.clone(),
                    request_hash: r.get(0)?,
                    response: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })
            .optional()?)
        })
        .await
    }
}
