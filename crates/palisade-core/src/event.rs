//! Ledger events: the envelope every stream's events share, and the incident's payloads. The
//! state of an aggregate is a fold of its stream's events.

use crate::comms::{Audience, DeadlineDef};
use crate::playbook::Playbook;
use crate::postmortem::PostmortemStatus;
use crate::stream::StreamId;
use crate::types::{Kind, Role, Severity, Status, UserName};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Version of the event body format (`format` field); see `docs/ledger-format.md`.
pub const EVENT_FORMAT: u32 = 2;

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

/// One ledger event: the envelope every event shares, and what happened (`data`, whose type is
/// the stream's aggregate's payload; incidents' by default).
///
/// Two body formats exist (see `docs/ledger-format.md`): format 1 (incidents only, recorded before
/// streams existed) names the stream with an `incident` member; format 2 with a `stream` member,
/// `kind/uuid`. Every new event is format 2; a format-1 event reads back, and serializes again,
/// exactly as it was recorded, so its canonical body (and hash) never changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<P = Payload> {
    /// Body format version (1 or [`EVENT_FORMAT`]).
    pub format: u32,
    /// The stream (aggregate instance) this event belongs to.
    pub stream: StreamId,
    /// Position in the stream's ledger, from 1, without gaps.
    pub seq: u64,
    /// When the server recorded it (server clock, UTC).
    pub recorded_at: Timestamp,
    /// When it happened, as reported (offset kept); equals `recorded_at` when not given.
    pub occurred_at: Timestamp,
    /// Who did it.
    pub actor: UserName,
    pub data: P,
}

impl<P> Event<P> {
    /// The UUID of the stream (for incidents: the incident's id).
    pub fn id(&self) -> Uuid {
        self.stream.id
    }
}

/// The members of an event body as written; `Event` converts from and to it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<P> {
    format: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    incident: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream: Option<StreamId>,
    seq: u64,
    recorded_at: Timestamp,
    occurred_at: Timestamp,
    actor: UserName,
    data: P,
}

impl<P: Serialize> Serialize for Event<P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (incident, stream) = match self.format {
            1 if self.stream.kind == crate::stream::StreamKind::Incident => {
                (Some(self.stream.id), None)
            }
            1 => {
                return Err(serde::ser::Error::custom(
                    "format 1 events belong to incidents only",
                ));
            }
            _ => (None, Some(self.stream)),
        };
        Wire {
            format: self.format,
            incident,
            stream,
            seq: self.seq,
            recorded_at: self.recorded_at,
            occurred_at: self.occurred_at,
            actor: self.actor.clone(),
            data: &self.data,
        }
        .serialize(s)
    }
}

impl<'de, P: Deserialize<'de>> Deserialize<'de> for Event<P> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let w = Wire::<P>::deserialize(d)?;
        let stream = match (w.format, w.incident, w.stream) {
            (1, Some(id), None) => StreamId::incident(id),
            (EVENT_FORMAT, None, Some(s)) => s,
            (1, _, _) => {
                return Err(D::Error::custom(
                    "a format 1 event names its `incident` (and no `stream`)",
                ));
            }
            (EVENT_FORMAT, _, _) => {
                return Err(D::Error::custom(format!(
                    "a format {EVENT_FORMAT} event names its `stream` (and no `incident`)"
                )));
            }
            (f, _, _) => {
                return Err(D::Error::custom(format!(
                    "unknown event format {f}; this palisade reads formats 1 and {EVENT_FORMAT}"
                )));
            }
        };
        Ok(Event {
            format: w.format,
            stream,
            seq: w.seq,
            recorded_at: w.recorded_at,
            occurred_at: w.occurred_at,
            actor: w.actor,
            data: w.data,
        })
    }
}

/// Wrap payloads into format-[`EVENT_FORMAT`] events of `stream`, numbered after `last_seq`.
pub fn numbered<P>(
    stream: StreamId,
    last_seq: u64,
    actor: &UserName,
    recorded_at: Timestamp,
    occurred_at: Option<Timestamp>,
    payloads: Vec<P>,
) -> Vec<Event<P>> {
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, data)| Event {
            format: EVENT_FORMAT,
            stream,
            seq: last_seq + 1 + i as u64,
            recorded_at,
            occurred_at: occurred_at.unwrap_or(recorded_at),
            actor: actor.clone(),
            data,
        })
        .collect()
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        /// Set only on drills (absent otherwise, so real incidents encode as before).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drill: Option<crate::drill::DrillMarker>,
        /// Set when the incident was declared from an alert: the alert and its service (absent
        /// otherwise, and in incidents declared before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_alert: Option<crate::incident::AlertOrigin>,
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
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        step: u32,
    },
    StepDone {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        step: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    StepWaived {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        step: u32,
        reason: String,
    },
    NoteAdded {
        text: String,
    },
    /// A drill's injection released to the team (drills only).
    DrillInjected {
        injection: String,
        /// `alert`, `evidence`, `status` or `discovery`.
        kind: String,
        due_at: Timestamp,
        text: String,
        /// A status injection's new severity: the situation changed, so the incident's severity
        /// is this from now on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        severity: Option<Severity>,
    },
    /// A command the rules refused during a drill (drills only): the debrief counts them.
    DrillRefused {
        /// The rule's id (`step-prerequisites`).
        rule: String,
        /// What was asked, in words.
        command: String,
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
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
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
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        evidence: u32,
        name: String,
        #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
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
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        evidence: u32,
        from: UserName,
        to: UserName,
        purpose: String,
        #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
        verified_sha256: String,
    },
    /// Access to evidence content was granted to the actor (a download starts); whether the
    /// content then went out whole and matched is recorded by a later outcome event naming this
    /// one (`evidence_access_verified`, `evidence_access_incomplete` or
    /// `evidence_integrity_failed`). Without one, the download is unverified.
    EvidenceAccessed {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        evidence: u32,
        purpose: String,
        /// The hash the content is **expected** to have (the recorded one), not a measurement.
        #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
        sha256: String,
    },
    /// The download `access` (an `evidence_accessed` event) was sent whole and its content,
    /// re-hashed as it streamed, matched the recorded hash. Recorded before its last byte went
    /// out.
    EvidenceAccessVerified {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        evidence: u32,
        /// Sequence number of the `evidence_accessed` event this completes.
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        access: u64,
        /// What the content sent hashed to.
        #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
        sha256: String,
        /// Bytes sent.
        size: u64,
    },
    /// The download `access` ended before all of its content was sent (the client went away).
    EvidenceAccessIncomplete {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        evidence: u32,
        /// Sequence number of the `evidence_accessed` event this ends.
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        access: u64,
        /// Bytes handed to the connection before it closed.
        sent: u64,
    },
    /// Evidence was included in an export bundle; the stored content was re-hashed first.
    EvidenceExported {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        evidence: u32,
        purpose: String,
        #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
        verified_sha256: String,
    },
    /// The stored content of a piece of evidence did not match its recorded hash.
    EvidenceIntegrityFailed {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        evidence: u32,
        #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
        expected_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        found_sha256: Option<String>,
        during: String,
        detail: String,
        /// During a download: the sequence number of its `evidence_accessed` event.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        access: Option<u64>,
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
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        statement: u32,
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        revision: u32,
        title: String,
        body: String,
    },
    /// The Incident Commander approved this exact revision.
    StatementApproved {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        statement: u32,
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        revision: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The approved revision was published, under a title carrying the date.
    StatementPublished {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        statement: u32,
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        revision: u32,
        title: String,
        /// `YYYY-MM-DD`.
        #[cfg_attr(feature = "openapi", schema(format = Date, example = "2026-12-01"))]
        date: String,
    },
    /// The postmortem moved on (draft → in_review → reviewed → closed).
    PostmortemStatusChanged {
        status: PostmortemStatus,
    },
    ActionItemAdded {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        item: u32,
        title: String,
        owner: UserName,
        /// `YYYY-MM-DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(format = Date, example = "2026-12-01"))]
        due: Option<String>,
    },
    ActionItemDone {
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
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
            Payload::DrillInjected { .. } => "drill_injected",
            Payload::DrillRefused { .. } => "drill_refused",
            Payload::StatusUpdated { .. } => "status_updated",
            Payload::SeverityChanged { .. } => "severity_changed",
            Payload::Approved { .. } => "approved",
            Payload::Resolved { .. } => "resolved",
            Payload::Closed { .. } => "closed",
            Payload::Corrected { .. } => "corrected",
            Payload::EvidenceAcquired { .. } => "evidence_acquired",
            Payload::EvidenceTransferred { .. } => "evidence_transferred",
            Payload::EvidenceAccessed { .. } => "evidence_accessed",
            Payload::EvidenceAccessVerified { .. } => "evidence_access_verified",
            Payload::EvidenceAccessIncomplete { .. } => "evidence_access_incomplete",
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
                drill: None,
                ..
            } => format!("Declared {kind} incident ({severity}): {title}"),
            Payload::Declared {
                title,
                kind,
                severity,
                drill: Some(d),
                ..
            } => format!(
                "Declared DRILL {} of a {kind} incident ({severity}): {title}",
                d.scenario
            ),
            Payload::RoleAssigned { user, role } => format!("{user} assigned as {role}"),
            Payload::RoleUnassigned { user, role } => format!("{user} no longer {role}"),
            Payload::StepStarted { step } => format!("Step {step} started"),
            Payload::StepDone { step, note } => match note {
                Some(n) => format!("Step {step} done: {n}"),
                None => format!("Step {step} done"),
            },
            Payload::StepWaived { step, reason } => format!("Step {step} waived: {reason}"),
            Payload::NoteAdded { text } => format!("Note: {text}"),
            Payload::DrillInjected {
                injection,
                kind,
                text,
                ..
            } => format!("Drill {kind} {injection}: {text}"),
            Payload::DrillRefused { rule, command } => {
                format!("Drill: {command} refused by rule {rule}")
            }
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
            } => format!("Evidence E{evidence} download started: {purpose}"),
            Payload::EvidenceAccessVerified {
                evidence,
                access,
                size,
                ..
            } => format!(
                "Evidence E{evidence} download (event {access}) sent whole ({size} bytes) and verified"
            ),
            Payload::EvidenceAccessIncomplete {
                evidence,
                access,
                sent,
            } => format!(
                "Evidence E{evidence} download (event {access}) ended after {sent} bytes, incomplete"
            ),
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
