//! Ledger events: the only way an incident changes. The state of an incident is a fold of them.

use crate::comms::{Audience, DeadlineDef};
use crate::playbook::Playbook;
use crate::postmortem::PostmortemStatus;
use crate::types::{Kind, Role, Severity, Status, UserName};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Version of the event body format (`format` field); see `docs/ledger-format.md`.
pub const EVENT_FORMAT: u32 = 1;

/// A point in time, written as RFC 3339 with the offset it was given in (UTC for server clocks).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub OffsetDateTime);

impl Timestamp {
    pub fn parse(s: &str) -> Result<Timestamp, crate::types::ParseError> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(Timestamp)
            .map_err(|_| crate::types::ParseError {
                what: "timestamp",
                value: s.to_string(),
                expected: "RFC 3339, e.g. 2026-11-26T03:12:00+01:00",
            })
    }
    /// Microsecond precision keeps text short and survives every database's timestamp type.
    pub fn from_datetime(t: OffsetDateTime) -> Timestamp {
        let micros = t.microsecond();
        Timestamp(t.replace_microsecond(micros).unwrap_or(t))
    }
    pub fn unix_micros(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1000) as i64
    }
    pub fn utc(self) -> OffsetDateTime {
        self.0.to_offset(time::UtcOffset::UTC)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{:?}", self.0),
        }
    }
}
impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One ledger event: the envelope every event shares, and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Body format version ([`EVENT_FORMAT`]).
    pub format: u32,
    pub incident: Uuid,
    /// Position in the incident's ledger, from 1, without gaps.
    pub seq: u64,
    /// When the server recorded it (server clock, UTC).
    pub recorded_at: Timestamp,
    /// When it happened, as reported (offset kept); equals `recorded_at` when not given.
    pub occurred_at: Timestamp,
    /// Who did it.
    pub actor: UserName,
    pub data: Payload,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Payload {
    /// The incident was declared. Carries the full playbook in force, so the ledger alone
    /// determines the rules that applied.
    Declared {
        codename: String,
        title: String,
        kind: Kind,
        severity: Severity,
        restricted: bool,
        playbook: Playbook,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<String>,
    },
    RoleAssigned {
        user: UserName,
        role: Role,
    },
    RoleUnassigned {
        user: UserName,
        role: Role,
    },
    StepStarted {
        step: u32,
    },
    StepDone {
        step: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    StepWaived {
        step: u32,
        reason: String,
    },
    NoteAdded {
        text: String,
    },
    /// A status update: a message, a lifecycle change, or both.
    StatusUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<Status>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// Absent for internal updates (and in every update recorded before audiences existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<Audience>,
    },
    SeverityChanged {
        from: Severity,
        to: Severity,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Approved {
        approval: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Resolved {
        summary: String,
    },
    Closed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A correction of an earlier event. The earlier event stays as recorded; views show both.
    Corrected {
        supersedes: u64,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        occurred_at: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Evidence was acquired and stored: content-addressed by `sha256` (of the plaintext, computed
    /// by the server while storing it), encrypted at rest. The actor is its first custodian.
    EvidenceAcquired {
        /// Number within the incident, from 1 (shown as `E1`, `E2`, …).
        evidence: u32,
        name: String,
        sha256: String,
        size: u64,
        /// Where it was acquired from (host, account, device).
        source: String,
        /// The tool that acquired it.
        tool: String,
        /// The hash reported at acquisition, when given; always equal to `sha256`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original_sha256: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Custody passed from one person to another; the stored content was re-hashed first.
    EvidenceTransferred {
        evidence: u32,
        from: UserName,
        to: UserName,
        purpose: String,
        verified_sha256: String,
    },
    /// Evidence content was released to the actor (download). The hash is re-checked while the
    /// content streams; a mismatch aborts the transfer and records `evidence_integrity_failed`.
    EvidenceAccessed {
        evidence: u32,
        purpose: String,
        sha256: String,
    },
    /// Evidence was included in an export bundle; the stored content was re-hashed first.
    EvidenceExported {
        evidence: u32,
        purpose: String,
        verified_sha256: String,
    },
    /// The stored content of a piece of evidence did not match its recorded hash.
    EvidenceIntegrityFailed {
        evidence: u32,
        expected_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        found_sha256: Option<String>,
        during: String,
        detail: String,
    },
    /// A read of a restricted incident (what was read, and through which interface).
    Accessed {
        what: String,
        via: String,
    },
    /// An admin who is not a member opened a restricted incident, with a written reason, until `until`.
    BreakGlass {
        reason: String,
        until: Timestamp,
    },
    /// The incident was exported as a signed bundle.
    Exported {
        purpose: String,
        with_evidence: bool,
    },
    /// When the organisation became aware of the incident, with the notification deadlines in
    /// force at that moment (they run from `aware_at`). A later recording replaces the time.
    AwarenessRecorded {
        aware_at: Timestamp,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        deadlines: Vec<DeadlineDef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A notification deadline was met (the notification was made).
    DeadlineMet {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A revision of an external statement (revision 1 starts the statement).
    StatementDrafted {
        statement: u32,
        revision: u32,
        title: String,
        body: String,
    },
    /// The Incident Commander approved this exact revision.
    StatementApproved {
        statement: u32,
        revision: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The approved revision was published, under a title carrying the date.
    StatementPublished {
        statement: u32,
        revision: u32,
        title: String,
        /// `YYYY-MM-DD`.
        date: String,
    },
    /// The postmortem moved on (draft → in_review → reviewed → closed).
    PostmortemStatusChanged {
        status: PostmortemStatus,
    },
    ActionItemAdded {
        item: u32,
        title: String,
        owner: UserName,
        /// `YYYY-MM-DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<String>,
    },
    ActionItemDone {
        item: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

impl Payload {
    /// The `type` tag of the payload.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Declared { .. } => "declared",
            Payload::RoleAssigned { .. } => "role_assigned",
            Payload::RoleUnassigned { .. } => "role_unassigned",
            Payload::StepStarted { .. } => "step_started",
            Payload::StepDone { .. } => "step_done",
            Payload::StepWaived { .. } => "step_waived",
            Payload::NoteAdded { .. } => "note_added",
            Payload::StatusUpdated { .. } => "status_updated",
            Payload::SeverityChanged { .. } => "severity_changed",
            Payload::Approved { .. } => "approved",
            Payload::Resolved { .. } => "resolved",
            Payload::Closed { .. } => "closed",
            Payload::Corrected { .. } => "corrected",
            Payload::EvidenceAcquired { .. } => "evidence_acquired",
            Payload::EvidenceTransferred { .. } => "evidence_transferred",
            Payload::EvidenceAccessed { .. } => "evidence_accessed",
            Payload::EvidenceExported { .. } => "evidence_exported",
            Payload::EvidenceIntegrityFailed { .. } => "evidence_integrity_failed",
            Payload::Accessed { .. } => "accessed",
            Payload::BreakGlass { .. } => "break_glass",
            Payload::Exported { .. } => "exported",
            Payload::AwarenessRecorded { .. } => "awareness_recorded",
            Payload::DeadlineMet { .. } => "deadline_met",
            Payload::StatementDrafted { .. } => "statement_drafted",
            Payload::StatementApproved { .. } => "statement_approved",
            Payload::StatementPublished { .. } => "statement_published",
            Payload::PostmortemStatusChanged { .. } => "postmortem_status_changed",
            Payload::ActionItemAdded { .. } => "action_item_added",
            Payload::ActionItemDone { .. } => "action_item_done",
        }
    }

    /// A one-line human description for timelines.
    pub fn describe(&self) -> String {
        match self {
            Payload::Declared {
                title,
                kind,
                severity,
                ..
            } => format!("Declared {kind} incident ({severity}): {title}"),
            Payload::RoleAssigned { user, role } => format!("{user} assigned as {role}"),
            Payload::RoleUnassigned { user, role } => format!("{user} no longer {role}"),
            Payload::StepStarted { step } => format!("Step {step} started"),
            Payload::StepDone { step, note } => match note {
                Some(n) => format!("Step {step} done: {n}"),
                None => format!("Step {step} done"),
            },
            Payload::StepWaived { step, reason } => format!("Step {step} waived: {reason}"),
            Payload::NoteAdded { text } => format!("Note: {text}"),
            Payload::StatusUpdated {
                status,
                message,
                audience: None | Some(Audience::Internal),
            } => match (status, message) {
                (Some(s), Some(m)) => format!("Status {s}: {m}"),
                (Some(s), None) => format!("Status {s}"),
                (None, Some(m)) => format!("Update: {m}"),
                (None, None) => "Status update".to_string(),
            },
            Payload::StatusUpdated {
                status,
                message,
                audience: Some(Audience::External),
            } => match (status, message) {
                (Some(s), Some(m)) => format!("Status {s}, external update: {m}"),
                (Some(s), None) => format!("Status {s} (external)"),
                (None, Some(m)) => format!("External update: {m}"),
                (None, None) => "External status update".to_string(),
            },
            Payload::SeverityChanged { from, to, reason } => match reason {
                Some(r) => format!("Severity {from} → {to}: {r}"),
                None => format!("Severity {from} → {to}"),
            },
            Payload::Approved { approval, .. } => format!("Approved: {approval}"),
            Payload::Resolved { summary } => format!("Resolved: {summary}"),
            Payload::Closed { .. } => "Closed".to_string(),
            Payload::Corrected {
                supersedes, reason, ..
            } => format!("Correction of event {supersedes}: {reason}"),
            Payload::EvidenceAcquired {
                evidence,
                name,
                sha256,
                source,
                tool,
                ..
            } => format!(
                "Evidence E{evidence} acquired: {name} from {source} with {tool} (SHA-256 {sha256})"
            ),
            Payload::EvidenceTransferred {
                evidence,
                from,
                to,
                purpose,
                ..
            } => format!("Evidence E{evidence} transferred from {from} to {to}: {purpose}"),
            Payload::EvidenceAccessed {
                evidence, purpose, ..
            } => format!("Evidence E{evidence} downloaded: {purpose}"),
            Payload::EvidenceExported {
                evidence, purpose, ..
            } => format!("Evidence E{evidence} exported: {purpose}"),
            Payload::EvidenceIntegrityFailed {
                evidence, during, ..
            } => format!("Evidence E{evidence} FAILED its integrity check during {during}"),
            Payload::Accessed { what, via } => format!("Read ({what}) via {via}"),
            Payload::BreakGlass { reason, until } => {
                format!("Break-glass access until {until}: {reason}")
            }
            Payload::Exported {
                purpose,
                with_evidence,
            } => {
                if *with_evidence {
                    format!("Exported with evidence: {purpose}")
                } else {
                    format!("Exported: {purpose}")
                }
            }
            Payload::AwarenessRecorded { aware_at, note, .. } => match note {
                Some(n) => format!("Organisation aware since {aware_at}: {n}"),
                None => format!("Organisation aware since {aware_at}"),
            },
            Payload::DeadlineMet { name, note } => match note {
                Some(n) => format!("Deadline met: {name}: {n}"),
                None => format!("Deadline met: {name}"),
            },
            Payload::StatementDrafted {
                statement,
                revision,
                title,
                ..
            } => format!("Statement {statement} revision {revision} drafted: {title}"),
            Payload::StatementApproved {
                statement,
                revision,
                ..
            } => format!("Statement {statement} revision {revision} approved"),
            Payload::StatementPublished {
                statement, title, ..
            } => format!("Statement {statement} published: {title}"),
            Payload::PostmortemStatusChanged { status } => format!("Postmortem {status}"),
            Payload::ActionItemAdded {
                item, title, owner, ..
            } => format!("Action item {item} for {owner}: {title}"),
            Payload::ActionItemDone { item, note } => match note {
                Some(n) => format!("Action item {item} done: {n}"),
                None => format!("Action item {item} done"),
            },
        }
    }
}
