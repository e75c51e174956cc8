//! The outbox: side effects written with the events that cause them, delivered by a worker.

use crate::{DeliveryRow, DeliveryState, OutboxClass, OutboxItem, Result, Store, dispatch};
use uuid::Uuid;

impl Store {
    /// Claim up to `limit` due outbox messages to send for `lease_us` microseconds.
    pub async fn outbox_claim(
        &self,
        now_us: i64,
        lease_us: i64,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        self.outbox_claim_class(OutboxClass::Messages, now_us, lease_us, limit)
            .await
    }
    /// Claim up to `limit` due rows of `class` for `lease_us` microseconds.
    pub async fn outbox_claim_class(
        &self,
        class: OutboxClass,
        now_us: i64,
        lease_us: i64,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        dispatch!(self, s => s.outbox_claim(class, now_us, lease_us, limit).await)
    }
    /// When the earliest row of `class` not yet done falls due (µs since the Unix epoch).
    pub async fn outbox_next_due(&self, class: OutboxClass) -> Result<Option<i64>> {
        dispatch!(self, s => s.outbox_next_due(class).await)
    }
    /// Mark an outbox message delivered.
    pub async fn outbox_done(&self, id: Uuid, at: &str) -> Result<()> {
        dispatch!(self, s => s.outbox_done(id, at).await)
    }
    /// Mark several outbox rows done at once (one write).
    pub async fn outbox_done_many(&self, ids: Vec<Uuid>, at: &str) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        dispatch!(self, s => s.outbox_done_many(ids, at, None).await)
    }
    /// Mark messages done without sending them, saying why (they are listed as skipped).
    pub async fn outbox_skip(&self, ids: Vec<Uuid>, at: &str, why: &str) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        dispatch!(self, s => s.outbox_done_many(ids, at, Some(why)).await)
    }
    /// Record a failed delivery and when to try again.
    pub async fn outbox_retry(&self, id: Uuid, error: &str, next_us: i64) -> Result<()> {
        dispatch!(self, s => s.outbox_retry(id, error, next_us).await)
    }
    /// Hand claimed messages back unsent, due at `due_us`: the claim's attempt is not
    /// counted (a throttle held them back; nothing was tried).
    pub async fn outbox_postpone(&self, ids: Vec<Uuid>, due_us: i64) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        dispatch!(self, s => s.outbox_postpone(ids, due_us).await)
    }
    /// Give a message up after its last allowed attempt (a dead letter).
    pub async fn outbox_dead(&self, id: Uuid, error: &str, at: &str) -> Result<()> {
        dispatch!(self, s => s.outbox_dead(id, error, at).await)
    }
    /// The delivery log: messages in `state` (all when `None`), newest first.
    pub async fn outbox_list(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>> {
        dispatch!(self, s => s.outbox_list(state, limit).await)
    }
    /// Send a message again (dead or delivered): due now, attempts counted from zero. False
    /// when there is no such message.
    pub async fn outbox_resend(&self, id: Uuid, now_us: i64) -> Result<bool> {
        dispatch!(self, s => s.outbox_resend(id, now_us).await)
    }
    /// Messages not yet delivered (dead letters left out).
    pub async fn outbox_pending(&self) -> Result<u64> {
        dispatch!(self, s => s.outbox_pending().await)
    }
}

/// The delivery log's statement for `state` (a statement per state, each with its index).
pub(crate) fn list_sql(state: Option<DeliveryState>, limit_param: &str) -> String {
    let filter = match state {
        None => "",
        Some(DeliveryState::Pending) => " WHERE delivered_at IS NULL AND dead_at IS NULL",
        Some(DeliveryState::Delivered) => " WHERE delivered_at IS NOT NULL AND last_error IS NULL",
        Some(DeliveryState::Skipped) => {
            " WHERE delivered_at IS NOT NULL AND last_error IS NOT NULL"
        }
        Some(DeliveryState::Dead) => " WHERE dead_at IS NOT NULL AND delivered_at IS NULL",
    };
    format!(
        "SELECT id, stream_id, kind, destination, created_at, attempts, last_error, delivered_at,
                dead_at, next_attempt_us
         FROM outbox{filter} ORDER BY created_at DESC, id DESC LIMIT {limit_param}"
    )
}

/// The claim's filter on the destination for `class` (`?` / `$n` is the timer destination).
pub(crate) fn class_filter(class: OutboxClass, param: &str) -> String {
    match class {
        OutboxClass::Messages => format!("destination <> {param}"),
        OutboxClass::Timers => format!("destination = {param}"),
    }
}
