//! Idempotency records: the answer a command gave under its key, kept per account.

use crate::{IdempotencyRecord, Result, Store, dispatch};

impl Store {
    /// The answer stored under `actor`'s `key`, if the key was used.
    pub async fn idempotency_record(
        &self,
        actor: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>> {
        dispatch!(self, s => s.idempotency_record(actor, key).await)
    }
}
