//! Palisade's domain core: the aggregates recorded on the ledger (incidents with their
//! playbooks, process rules, roles, evidence custody and communications; services), and the
//! ledger itself (the event envelope, canonical encoding, hash chain, signed checkpoints); and
//! on-call schedules, computed from their definition.
//!
//! This crate does no I/O: no files, no network, no clock, no randomness of its own. Callers pass
//! in times, ids and random values, which keeps every rule testable as plain data in, data out.

pub mod aggregate;
pub mod alert;
pub mod assessment;
pub mod bounded;
pub mod canonical;
pub mod chain;
pub mod change;
pub mod codename;
pub mod comms;
pub mod ctf;
pub mod custody;
pub mod deployment;
pub mod drill;
pub mod escalation;
pub mod event;
pub mod finding;
pub mod incident;
pub mod oncall;
#[cfg(feature = "openapi")]
mod openapi;
pub mod person;
pub mod playbook;
pub mod postmortem;
pub mod rule;
pub mod schedule;
pub mod service;
pub mod stream;
pub mod team;
pub mod types;

pub use aggregate::{Aggregate, Context, FoldError, Notice, Recipient};
pub use event::{Event, Payload, Timestamp};
pub use incident::{Actor, Command, Declaration, IncidentState};
pub use oncall::{Schedule, ScheduleError};
pub use playbook::Playbook;
pub use rule::{Refusal, RefusalKind, Rule};
pub use service::ServiceState;
pub use stream::{StreamId, StreamKind};
pub use types::{AccountRole, Kind, Role, Severity, Status, UserName};
