//! Plain data passed in and out of the store.

use palisade_core::chain::Checkpoint;
use palisade_core::{AccountRole, Event, IncidentState, Kind, Severity, Status, UserName};
use serde::Serialize;
use uuid::Uuid;

/// Events to append to one incident, and the projection of the state after them.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub incident: Uuid,
    /// The last sequence number the caller saw (0 for a new incident).
    pub expected_last_seq: u64,
    pub events: Vec<Event>,
    pub projection: Projection,
    /// Side effects to deliver once the events are committed, written in the same transaction.
    pub outbox: Vec<OutboxMessage>,
}

/// A side effect (a notification) to deliver after its event is committed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// Unique; the receiver's idempotency key.
    pub id: Uuid,
    /// What kind of message, e.g. `break_glass`.
    pub kind: String,
    /// The JSON body to deliver.
    pub payload: String,
    /// Server clock, RFC 3339.
    pub created_at: String,
    /// First delivery attempt no earlier than this (µs since the Unix epoch).
    pub due_us: i64,
}

/// An outbox message claimed for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: Uuid,
    pub incident: Option<Uuid>,
    pub kind: String,
    pub payload: String,
    pub created_at: String,
    /// Delivery attempts so far, this one included.
    pub attempts: u32,
}

/// The listing fields of an incident, derived from its state after the append.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub summary: IncidentSummary,
    pub members: Vec<String>,
}

impl Projection {
    pub fn from_state(s: &IncidentState) -> Projection {
        Projection {
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

/// What was written.
#[derive(Debug, Clone)]
pub struct Appended {
    pub rows: Vec<StoredEvent>,
    pub checkpoint: Checkpoint,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCheckpoint {
    pub incident: Uuid,
    pub seq: u64,
    /// Canonical JSON of the checkpoint body (the signed bytes).
    pub body: String,
    pub signature: String,
}

/// One ledger event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    pub incident: Uuid,
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
