//! Palisade's domain core: incidents, playbooks and their process rules, roles, severity, and the
//! ledger (events, canonical encoding, hash chain, signed checkpoints).
//!
//! This crate does no I/O: no files, no network, no clock, no randomness of its own. Callers pass
//! in times, ids and random values, which keeps every rule testable as plain data in, data out.

pub mod canonical;
pub mod chain;
pub mod codename;
pub mod comms;
pub mod custody;
pub mod event;
pub mod incident;
pub mod playbook;
pub mod postmortem;
pub mod types;

pub use event::{Event, Payload, Timestamp};
pub use incident::{Actor, Command, Declaration, IncidentState, Refusal};
pub use playbook::Playbook;
pub use types::{AccountRole, Kind, Role, Severity, Status, UserName};
