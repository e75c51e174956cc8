//! The ledger of every stream: appends and reads of stored rows.

use crate::{
    AppendRequest, Appended, Result, Store, StoreError, StoredCheckpoint, StoredEvent, dispatch,
    verify,
};
use palisade_core::{StreamId, StreamKind};
use uuid::Uuid;

pub use crate::sqlite::ledger::HeadEvents;

impl Store {
    /// Append events to a stream's ledger, with a signed checkpoint of the new head, the
    /// projection row, outbox messages and idempotency record, in one transaction.
    /// `expected_last_seq` is the sequence number the caller decided on (0 for a new stream); if
    /// the ledger moved on, nothing is written and [`StoreError::Conflict`] is returned. When
    /// this returns `Ok`, the events are durable and the checkpoint is in the witness log.
    pub async fn append(&self, req: AppendRequest) -> Result<Appended> {
        if req.events.is_empty() {
            return Err(StoreError::Corrupt("append with no events".into()));
        }
        dispatch!(self, s => s.append(req).await)
    }

    /// Append events that do not depend on the stream's state (recorded reads) after whatever
    /// its ledger holds now, numbered by the store: concurrent appends never conflict with
    /// them, and on SQLite they share one commit. Only the stream's event count changes.
    pub async fn append_at_head(&self, stream: StreamId, make: HeadEvents) -> Result<Appended> {
        dispatch!(self, s => s.append_at_head(stream, make).await)
    }

    /// A stream's canonical event bodies after sequence number `after`, in order (to fold onto
    /// a state already known up to `after`).
    pub async fn event_bodies_after(&self, stream: Uuid, after: u64) -> Result<Vec<String>> {
        dispatch!(self, s => s.event_bodies_after(stream, after).await)
    }

    /// A stream's ledger rows as stored (body text and hashes), all of them.
    pub async fn stored_events(&self, stream: Uuid) -> Result<Vec<StoredEvent>> {
        self.stored_events_page(stream, 0, u64::MAX).await
    }

    /// Up to `limit` of a stream's ledger rows after sequence number `after`.
    pub async fn stored_events_page(
        &self,
        stream: Uuid,
        after: u64,
        limit: u64,
    ) -> Result<Vec<StoredEvent>> {
        dispatch!(self, s => s.stored_events(stream, after, limit).await)
    }

    /// A stream's signed checkpoints as stored, in order.
    pub async fn stored_checkpoints(&self, stream: Uuid) -> Result<Vec<StoredCheckpoint>> {
        dispatch!(self, s => s.stored_checkpoints(stream).await)
    }

    /// A stream's kind and event count, if it exists.
    pub async fn stream(&self, id: Uuid) -> Result<Option<(StreamKind, u64)>> {
        let found = dispatch!(self, s => s.stream(id).await)?;
        found
            .map(|(kind, n)| {
                kind.parse::<StreamKind>()
                    .map(|k| (k, n))
                    .map_err(|e| StoreError::Corrupt(format!("stream {id}: {e}")))
            })
            .transpose()
    }

    /// Feed every ledger row and checkpoint to a verifier, in order.
    pub async fn feed_verifier(&self, v: &mut verify::Verifier) -> Result<()> {
        dispatch!(self, s => s.feed_verifier(v).await)
    }
}
