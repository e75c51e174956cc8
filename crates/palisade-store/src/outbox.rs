//! The outbox: side effects written with the events that cause them, delivered by a worker.

use crate::{OutboxItem, Result, Store, dispatch};
use uuid::Uuid;

impl Store {
    /// Claim up to `limit` due outbox messages for `lease_us` microseconds.
    pub async fn outbox_claim(
        &self,
        now_us: i64,
        lease_us: i64,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        dispatch!(self, s => s.outbox_claim(now_us, lease_us, limit).await)
    }
    /// Mark an outbox message delivered.
    pub async fn outbox_done(&self, id: Uuid, at: &str) -> Result<()> {
        dispatch!(self, s => s.outbox_done(id, at).await)
    }
    /// Record a failed delivery and when to try again.
    pub async fn outbox_retry(&self, id: Uuid, error: &str, next_us: i64) -> Result<()> {
        dispatch!(self, s => s.outbox_retry(id, error, next_us).await)
    }
    /// Messages not yet delivered.
    pub async fn outbox_pending(&self) -> Result<u64> {
        dispatch!(self, s => s.outbox_pending().await)
    }
}
