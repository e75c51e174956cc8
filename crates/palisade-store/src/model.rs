//! Plain data passed in and out of the store.

use palisade_core::chain::Checkpoint;
use palisade_core::service::ServiceState;
use palisade_core::{AccountRole, IncidentState, Kind, Severity, Status, StreamId, UserName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One event to append: its canonical body (the bytes that are hashed, exactly as the caller
/// encoded them), its sequence number and when it was recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub seq: u64,
    /// When the server recorded it (the event body's `recorded_at`); the checkpoint of an
    /// append is signed at its last event's.
    pub recorded_at: palisade_core::Timestamp,
    /// Canonical JSON of the event (see `palisade_core::chain::canonical_event`).
    pub body: String,
}

impl NewEvent {
    /// The row of an event: its canonical encoding, number and time.
    pub fn from_event<P: Serialize>(e: &palisade_core::Event<P>) -> crate::Result<NewEvent> {
        Ok(NewEvent {
            seq: e.seq,
            recorded_at: e.recorded_at,
            body: palisade_core::chain::canonical_event(e)
                .map_err(|err| crate::StoreError::Corrupt(err.to_string()))?,
        })
    }

    /// The rows of several events.
    pub fn from_events<P: Serialize>(
        events: &[palisade_core::Event<P>],
    ) -> crate::Result<Vec<NewEvent>> {
        events.iter().map(NewEvent::from_event).collect()
    }
}

/// Events to append to one stream, the projection of the state after them, and what to write
/// with them in the same transaction.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub stream: StreamId,
    /// The last sequence number the caller decided on (0 for a new stream).
    pub expected_last_seq: u64,
    /// Numbered `expected_last_seq + 1`, `+ 2`, …
    pub events: Vec<NewEvent>,
    /// The aggregate's listing row after these events (`None` when nothing listed changes, as
    /// for a recorded read).
    pub projection: Option<Projection>,
    /// Side effects to deliver once the events are committed.
    pub outbox: Vec<OutboxMessage>,
    /// The answer to remember under an idempotency key, when the command carried one.
    pub idempotency: Option<IdempotencyRecord>,
    /// Every unique key the stream holds after these events (`None`: unchanged). Keys it held
    /// and no longer lists are released; a key another stream holds refuses the append
    /// ([`crate::StoreError::Taken`]).
    pub keys: Option<Vec<StreamKey>>,
}

impl AppendRequest {
    /// An append of incident events: `state` is the incident after them, `expected_last_seq`
    /// its last sequence number before them.
    pub fn for_incident(
        state: &IncidentState,
        expected_last_seq: u64,
        events: &[palisade_core::Event],
    ) -> crate::Result<AppendRequest> {
        Ok(AppendRequest {
            stream: state.stream(),
            expected_last_seq,
            events: NewEvent::from_events(events)?,
            projection: Some(Projection::Incident(IncidentProjection::from_state(state))),
            outbox: Vec::new(),
            idempotency: None,
            keys: None,
        })
    }

    /// The same append with outbox messages written in its transaction.
    pub fn with_outbox(mut self, outbox: Vec<OutboxMessage>) -> AppendRequest {
        self.outbox = outbox;
        self
    }
}

/// The listing row of a stream's aggregate, written with its events. Each aggregate with a
/// projection has a variant here and a file per backend that writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    Incident(IncidentProjection),
    Service(ServiceProjection),
    /// Any other aggregate's row in the shared `records` table.
    Record(RecordProjection),
}

/// The listing row of an aggregate with no table of its own (alerts, and those to come): what
/// lists filter and sort on, and the row itself as JSON. Lists read it without folding streams.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordProjection {
    /// The stream it belongs to (an alert's service), if any.
    pub parent: Option<Uuid>,
    /// What lists filter on (`triggered`, `resolved`, …).
    pub status: String,
    /// Lists come newest first by this (µs since the Unix epoch).
    pub sort_us: i64,
    /// The listing row (JSON object).
    pub summary: String,
}

/// One row of the `records` table.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    pub id: Uuid,
    pub kind: String,
    pub parent: Option<Uuid>,
    pub status: String,
    pub sort_us: i64,
    /// The listing row (JSON object), as the aggregate wrote it.
    pub summary: String,
    /// Number of ledger events.
    pub last_seq: u64,
}

/// Which records to list: of one kind, newest first, optionally of one parent and status, and
/// before a sort key (the next page).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordFilter {
    pub kind: palisade_core::StreamKind,
    pub parent: Option<Uuid>,
    pub status: Option<String>,
    /// Only rows with `sort_us` below this (the last row of the previous page).
    pub before_us: Option<i64>,
    pub limit: u32,
}

/// A unique key held by one stream: (namespace, key). Namespaces are the aggregates' own
/// (`integration-key`, `alert-open`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    pub namespace: String,
    pub key: String,
}

impl StreamKey {
    pub fn new(namespace: &str, key: impl Into<String>) -> StreamKey {
        StreamKey {
            namespace: namespace.to_string(),
            key: key.into(),
        }
    }
}

/// A side effect (a notification) to deliver after its event is committed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// Unique; the receiver's idempotency key.
    pub id: Uuid,
    /// What kind of message, e.g. `break_glass`.
    pub kind: String,
    /// Where it goes.
    pub destination: Destination,
    /// The JSON body to deliver.
    pub payload: String,
    /// Server clock, RFC 3339.
    pub created_at: String,
    /// First delivery attempt no earlier than this (µs since the Unix epoch).
    pub due_us: i64,
}

/// Where an outbox message goes: a channel and, for channels that need one, its address. Stored
/// as JSON; a receiver that changes (a new webhook URL in the configuration) applies to messages
/// routed to the configured channel (`default`) even when they are already waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case", deny_unknown_fields)]
pub enum Destination {
    /// The deployment's notification webhook (`notify_url`), signed with its secret.
    Default,
    /// A webhook of its own, signed (Standard Webhooks) with the deployment's secret.
    Webhook { url: String },
    /// A Slack-compatible incoming webhook (`{"text": …}`).
    Slack { url: String },
    /// An email over the deployment's SMTP server (`smtp_url`).
    Email { to: String },
    /// Nobody outside: a timer the application acts on when it falls due (an escalation step).
    /// Claimed by the timer worker only, never sent.
    Timer,
}

/// Which outbox rows a worker claims: messages to send, or timers to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxClass {
    Messages,
    Timers,
}

impl OutboxClass {
    /// The stored destination of every timer row.
    pub fn timer_destination() -> String {
        Destination::Timer.to_json()
    }
}

impl Destination {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("destinations serialize")
    }
    pub fn from_json(s: &str) -> Result<Destination, crate::StoreError> {
        serde_json::from_str(s)
            .map_err(|e| crate::StoreError::Corrupt(format!("outbox destination {s:?}: {e}")))
    }
}

/// Where a message stands in the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet (first attempt or a retry to come).
    Pending,
    Delivered,
    /// Given up after its last allowed attempt; waits for someone to resend it.
    Dead,
    /// Not sent because it was no longer needed when it fell due (a page whose alert was
    /// acknowledged or resolved); `last_error` says why.
    Skipped,
}

/// One message of the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub stream: Option<Uuid>,
    pub kind: String,
    pub destination: Destination,
    pub created_at: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    pub dead_at: Option<String>,
    /// Next attempt no earlier than this (µs since the Unix epoch), while pending.
    pub next_attempt_us: i64,
}

impl DeliveryRow {
    pub fn state(&self) -> DeliveryState {
        if self.delivered_at.is_some() && self.last_error.is_some() {
            DeliveryState::Skipped
        } else if self.delivered_at.is_some() {
            DeliveryState::Delivered
        } else if self.dead_at.is_some() {
            DeliveryState::Dead
        } else {
            DeliveryState::Pending
        }
    }
}

/// An outbox message claimed for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: Uuid,
    /// The stream whose event caused it.
    pub stream: Option<Uuid>,
    pub kind: String,
    pub destination: Destination,
    pub payload: String,
    pub created_at: String,
    /// Delivery attempts so far, this one included.
    pub attempts: u32,
}

/// The answer a command gave, kept under its idempotency key so that a repeat of the command
/// (a client retrying after a lost response) gets the same answer and writes nothing again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Whose key it is: keys are per account.
    pub actor: String,
    pub key: String,
    /// SHA-256 of what was asked (operation and body), to refuse a key reused for something else.
    pub request_hash: String,
    /// The answer, as the interface rendered it (JSON).
    pub response: String,
    pub created_at: String,
}

/// The listing fields of an incident, derived from its state after the append.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentProjection {
    pub summary: IncidentSummary,
    pub members: Vec<String>,
}

impl IncidentProjection {
    pub fn from_state(s: &IncidentState) -> IncidentProjection {
        IncidentProjection {
            summary: IncidentSummary {
                id: s.id,
                codename: s.codename.clone(),
                title: s.title.clone(),
                kind: s.kind,
                severity: s.severity,
                status: s.status,
                restricted: s.restricted,
                commander: s.commander().map(|c| c.to_string()),
                declared_at: s.declared_at.to_string(),
                updated_at: s.updated_at.to_string(),
                updated_us: s.updated_at.unix_micros(),
                last_seq: s.last_seq,
            },
            members: s.members.keys().map(|m| m.to_string()).collect(),
        }
    }
}

/// One row of an incident listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentSummary {
    pub id: Uuid,
    pub codename: String,
    pub title: String,
    pub kind: Kind,
    pub severity: Severity,
    pub status: Status,
    pub restricted: bool,
    pub commander: Option<String>,
    pub declared_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub updated_us: i64,
    /// Number of ledger events.
    pub last_seq: u64,
}

/// The listing fields of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceProjection {
    pub summary: ServiceSummary,
}

impl ServiceProjection {
    pub fn from_state(s: &ServiceState) -> ServiceProjection {
        ServiceProjection {
            summary: ServiceSummary {
                id: s.id,
                name: s.name.to_string(),
                description: s.description.clone(),
                created_at: s.created_at.to_string(),
                updated_at: s.updated_at.to_string(),
                updated_us: s.updated_at.unix_micros(),
                last_seq: s.last_seq,
            },
        }
    }
}

/// One row of a service listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceSummary {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub updated_us: i64,
    /// Number of ledger events.
    pub last_seq: u64,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Appended {
    pub rows: Vec<StoredEvent>,
    pub checkpoint: Checkpoint,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCheckpoint {
    pub stream: Uuid,
    pub seq: u64,
    /// Canonical JSON of the checkpoint body (the signed bytes).
    pub body: String,
    pub signature: String,
}

/// One ledger event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    pub stream: Uuid,
    pub seq: u64,
    /// Canonical JSON of the event (the hashed bytes).
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
    #[serde(skip)]
    pub recorded_at_us: i64,
}

/// Listing filters. `viewer` sees open incidents and the restricted ones they are a member of.
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub viewer: UserName,
    pub status: Option<Status>,
    pub severity: Option<Severity>,
    pub kind: Option<Kind>,
    /// Only incidents `viewer` is a member of.
    pub mine: bool,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: UserName,
    pub role: AccountRole,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: String,
    pub user: UserName,
    pub label: String,
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    pub token_hash: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user: String,
    pub role: AccountRole,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// Who a live token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub token_id: String,
    pub user: UserName,
    pub role: AccountRole,
}
