//! What every aggregate recorded on the ledger implements: a state folded from its stream's
//! events, and decisions that turn commands into new events once the rules allow them.
//!
//! The application layer runs every command of every aggregate through one pipeline (load the
//! folded state → check the account role and visibility → [`Aggregate::decide`] → append → retry
//! on a concurrent change); an aggregate supplies only the pure parts below.

use crate::event::Event;
use crate::rule::Refusal;
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, UserName};
use crate::{Actor, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// What a decision may depend on besides the state and the command: the time now (the core has
/// no clock) and the aggregate's policy (for incidents, the communications policy).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a, P> {
    pub now: Timestamp,
    pub policy: &'a P,
}

/// Someone to tell about what was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "user", rename_all = "snake_case")]
pub enum Recipient {
    /// Whoever the deployment routes operational notices to (its notification webhook).
    Operators,
    /// One person, through their contact methods.
    User(UserName),
    /// Nobody outside: a timer the application acts on when it falls due (an escalation step).
    /// Held in the database with the events that set it, so no timer is lost with a process.
    Timer,
}

/// A notification owed because of events just recorded. The application layer writes it to the
/// outbox in the same transaction as the events, so it is never lost and never sent for a change
/// that was not recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub to: Recipient,
    /// What kind of notice, e.g. `break_glass` (receivers dispatch on it).
    pub kind: &'static str,
    /// The message body (JSON).
    pub body: serde_json::Value,
    /// Not before this many seconds after it is recorded (0: at once).
    pub delay_secs: u64,
}

/// One line of a stream's history, as its views show it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: UserName,
    pub recorded_at: Timestamp,
    pub description: String,
}

impl HistoryEntry {
    /// The line of event `e`, of type `kind`, described as `description`.
    pub fn of<P>(e: &Event<P>, kind: &str, description: String) -> HistoryEntry {
        HistoryEntry {
            seq: e.seq,
            kind: kind.to_string(),
            actor: e.actor.clone(),
            recorded_at: e.recorded_at,
            description,
        }
    }
}

/// Why a sequence of events cannot be folded into an aggregate's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    #[error("the stream is empty")]
    Empty,
    #[error("event {seq}: the first event must be `{expected}`, found `{found}`")]
    NotCreatedFirst {
        seq: u64,
        expected: &'static str,
        found: &'static str,
    },
    #[error("event {seq}: `{what}` may only be the first event")]
    CreatedAgain { seq: u64, what: &'static str },
    #[error("event {seq}: expected sequence number {expected}")]
    Sequence { seq: u64, expected: u64 },
    #[error("event {seq}: belongs to stream {found}, not {expected}")]
    WrongStream {
        seq: u64,
        expected: StreamId,
        found: StreamId,
    },
    #[error("event {seq}: refers to step {step}, which the playbook does not have")]
    UnknownStep { seq: u64, step: u32 },
    #[error("event {seq}: evidence E{evidence} is out of order")]
    EvidenceNumber { seq: u64, evidence: u32 },
    #[error("event {seq}: {message}")]
    Inconsistent { seq: u64, message: String },
}

/// An aggregate: a state folded from one stream's events, and its decisions.
pub trait Aggregate: Sized + Clone + Send + Sync + 'static {
    /// The kind of stream it is recorded in.
    const KIND: StreamKind;
    /// What its events carry (`data`).
    type Payload: Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send + Sync + 'static;
    /// A change someone asks for.
    type Command: Debug + Clone + Send + Sync + 'static;
    /// What starts a new stream.
    type Create: Debug + Clone + Send + Sync + 'static;
    /// What decisions read besides state and command (a policy from configuration).
    type Policy: Debug + Send + Sync + 'static;

    fn stream(&self) -> StreamId;
    /// Sequence number of the last event folded in.
    fn last_seq(&self) -> u64;
    /// The state after the stream's first event.
    fn from_first(e: &Event<Self::Payload>) -> Result<Self, FoldError>;
    /// Fold one more event in. Events are facts: only structural consistency is checked.
    fn apply(&mut self, e: &Event<Self::Payload>) -> Result<(), FoldError>;

    /// The least account role that may start a stream with `create`.
    fn create_role(create: &Self::Create) -> AccountRole;
    /// The first events of a new stream, or the rule that refuses them.
    fn decide_create(
        actor: &Actor,
        create: &Self::Create,
        ctx: &Context<'_, Self::Policy>,
    ) -> Result<Vec<Self::Payload>, Refusal>;

    /// The least account role that may issue `cmd`. Checked before the stream is even looked
    /// up, so a refusal here says nothing about whether the stream exists.
    fn required_role(cmd: &Self::Command) -> AccountRole;
    /// Whether the stream exists for `actor` at `now` (with `cmd`, when one is being issued):
    /// a stream that is not visible answers "not found", exactly as one that does not exist.
    fn visible_to(&self, actor: &Actor, cmd: Option<&Self::Command>, now: Timestamp) -> bool;
    /// Check a command against the rules; the events it produces, or the rule that refuses it.
    fn decide(
        &self,
        actor: &Actor,
        cmd: &Self::Command,
        ctx: &Context<'_, Self::Policy>,
    ) -> Result<Vec<Self::Payload>, Refusal>;
    /// True when `cmd`'s decision does not depend on the state (a recorded read): it is
    /// appended after whatever the stream holds when it is written, with no check against that
    /// head, and never conflicts. Only for a command that no later event of the stream could make
    /// the rules refuse: an incident's note is not one (a `closed` event landing first would
    /// refuse it), nor does an at-head append write the projection or an idempotency record.
    fn independent_of_state(_cmd: &Self::Command) -> bool {
        false
    }
    /// The event recording a read of this stream by `via` of `what`, when reads are recorded.
    fn read_record(&self, _what: &str, _via: &str) -> Option<Self::Payload> {
        None
    }
    /// The event recording that `cmd` was refused by `refusal`, when refusals are recorded (a
    /// drill's, for its debrief). Appended after whatever the stream holds; the command is
    /// refused all the same.
    fn refusal_record(&self, _cmd: &Self::Command, _refusal: &Refusal) -> Option<Self::Payload> {
        None
    }
    /// Notifications owed because `new` was recorded (the state already includes them).
    fn effects(&self, _new: &[Event<Self::Payload>]) -> Vec<Notice> {
        Vec::new()
    }

    /// Fold a whole stream.
    fn fold<'a>(
        events: impl IntoIterator<Item = &'a Event<Self::Payload>>,
    ) -> Result<Self, FoldError>
    where
        Self::Payload: 'a,
    {
        let mut it = events.into_iter();
        let first = it.next().ok_or(FoldError::Empty)?;
        let mut state = Self::from_first(first)?;
        for e in it {
            state.apply(e)?;
        }
        Ok(state)
    }
}

/// The envelope checks every aggregate's `apply` starts with: the event is the next one of this
/// stream.
pub fn check_next<P>(stream: StreamId, last_seq: u64, e: &Event<P>) -> Result<(), FoldError> {
    if e.stream != stream {
        return Err(FoldError::WrongStream {
            seq: e.seq,
            expected: stream,
            found: e.stream,
        });
    }
    if e.seq != last_seq + 1 {
        return Err(FoldError::Sequence {
            seq: e.seq,
            expected: last_seq + 1,
        });
    }
    Ok(())
}

/// The envelope checks of a stream's first event.
pub fn check_first<P>(kind: StreamKind, e: &Event<P>) -> Result<(), FoldError> {
    if e.seq != 1 {
        return Err(FoldError::Sequence {
            seq: e.seq,
            expected: 1,
        });
    }
    if e.stream.kind != kind {
        return Err(FoldError::WrongStream {
            seq: e.seq,
            expected: StreamId::new(kind, e.stream.id),
            found: e.stream,
        });
    }
    Ok(())
}
