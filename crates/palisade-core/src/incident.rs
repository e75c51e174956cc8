//! The incident aggregate: its state as a fold of ledger events, and the commands that produce new
//! events once the process rules allow them.
//!
//! `decide` checks a command against the current state and the playbook's rules and returns the
//! events to append, or a [`Refusal`] naming the rule; it never changes state. `apply` folds one
//! event into the state and is the only place state changes, both live and on replay.

use crate::aggregate::{Aggregate, Context};
use crate::comms::{Audience, CommsPolicy, CommsState};
use crate::event::{Event, Payload, Timestamp};
use crate::playbook::Playbook;
use crate::postmortem::PostmortemState;
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, Kind, Role, Severity, Status, UserName};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The incident's process rules, as returned in refusals (and in the API's problem details).
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// No step may be marked done before an Incident Commander is assigned.
    pub const COMMANDER_REQUIRED: Rule = Rule::new(
        "commander-required",
        Precondition,
        "no step may be marked done before an Incident Commander is assigned",
    );
    /// A step's prerequisite steps (playbook `requires` / `requires_done`) are not settled.
    pub const STEP_PREREQUISITES: Rule = Rule::new(
        "step-prerequisites",
        Precondition,
        "a step waits for the steps the playbook says come first",
    );
    /// A step needs an approval (playbook `requires_approval`) that has not been given.
    pub const APPROVAL_REQUIRED: Rule = Rule::new(
        "approval-required",
        Precondition,
        "a step that needs an approval waits for it",
    );
    /// The incident cannot be resolved until the playbook's `[resolve] requires` steps are done or waived.
    pub const RESOLVE_PREREQUISITES: Rule = Rule::new(
        "resolve-prerequisites",
        Precondition,
        "an incident is resolved only once the playbook's required steps are done or waived",
    );
    /// Only the Incident Commander (or the role an approval names) may take this decision.
    pub const COMMANDER_ONLY: Rule = Rule::new(
        "commander-only",
        Permission,
        "only the Incident Commander (or the role an approval names) takes this decision",
    );
    /// The step or incident is not in a state that allows this command.
    pub const INVALID_TRANSITION: Rule = Rule::new(
        "invalid-transition",
        Conflict,
        "the step or incident is not in a state that allows this command",
    );
    /// A closed incident accepts only corrections.
    pub const INCIDENT_CLOSED: Rule = Rule::new(
        "incident-closed",
        Precondition,
        "a closed incident accepts only corrections and postmortem work",
    );
    /// The command refers to a step, approval or event that does not exist.
    pub const UNKNOWN_REFERENCE: Rule = Rule::new(
        "unknown-reference",
        InvalidInput,
        "the command refers to a step, approval, event or item that does not exist",
    );
    /// A required field is empty or a value is out of range.
    pub const INVALID_INPUT: Rule = Rule::new(
        "invalid-input",
        InvalidInput,
        "a required field is empty or a value is out of range",
    );
    /// Viewers may read but never change an incident.
    pub const READ_ONLY: Rule = Rule::new(
        "read-only-account",
        Permission,
        "viewer accounts may read but never change an incident",
    );
    /// Break-glass opens a restricted incident for reading only; changing it takes membership.
    pub const MEMBERS_ONLY: Rule = Rule::new(
        "members-only",
        Permission,
        "only members change a restricted incident; break-glass opens it for reading only",
    );
    /// External text (a statement, an external update) contains a phrase the policy says to avoid.
    pub const AVOIDED_PHRASE: Rule = Rule::new(
        "avoided-phrase",
        Precondition,
        "external text must not contain a phrase the communications policy says to avoid",
    );
    /// A statement is published only after the IC approved that exact revision.
    pub const STATEMENT_APPROVAL_REQUIRED: Rule = Rule::new(
        "statement-approval-required",
        Precondition,
        "a statement is published only after the IC approved that exact revision",
    );
    /// The postmortem starts when the incident is resolved.
    pub const POSTMORTEM_NOT_STARTED: Rule = Rule::new(
        "postmortem-not-started",
        Precondition,
        "the postmortem starts when the incident is resolved",
    );
    /// The postmortem moves forward one status at a time: draft → in_review → reviewed → closed.
    pub const POSTMORTEM_FORWARD_ONLY: Rule = Rule::new(
        "postmortem-forward-only",
        Conflict,
        "the postmortem moves forward one status at a time: draft, in review, reviewed, closed",
    );

    /// Every incident rule.
    pub const ALL: &[Rule] = &[
        COMMANDER_REQUIRED,
        STEP_PREREQUISITES,
        APPROVAL_REQUIRED,
        RESOLVE_PREREQUISITES,
        COMMANDER_ONLY,
        INVALID_TRANSITION,
        INCIDENT_CLOSED,
        UNKNOWN_REFERENCE,
        INVALID_INPUT,
        READ_ONLY,
        MEMBERS_ONLY,
        AVOIDED_PHRASE,
        STATEMENT_APPROVAL_REQUIRED,
        POSTMORTEM_NOT_STARTED,
        POSTMORTEM_FORWARD_ONLY,
    ];
}

pub use crate::rule::Refusal;
use crate::rule::refuse;

/// Who issues a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: UserName,
    pub account_role: AccountRole,
}

/// A change someone asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    AssignRole {
        user: UserName,
        role: Role,
    },
    UnassignRole {
        user: UserName,
        role: Role,
    },
    StartStep {
        step: u32,
    },
    CompleteStep {
        step: u32,
        note: Option<String>,
    },
    WaiveStep {
        step: u32,
        reason: String,
    },
    AddNote {
        text: String,
    },
    UpdateStatus {
        status: Option<Status>,
        message: Option<String>,
    },
    ChangeSeverity {
        to: Severity,
        reason: Option<String>,
    },
    Approve {
        approval: String,
        note: Option<String>,
    },
    Resolve {
        summary: String,
    },
    Close {
        note: Option<String>,
    },
    Correct {
        supersedes: u64,
        reason: String,
        occurred_at: Option<Timestamp>,
        text: Option<String>,
    },
    /// A status update for an external audience (customers, a status page); checked against the
    /// phrases to avoid. Internal updates are `UpdateStatus`.
    ExternalUpdate {
        message: String,
    },
    /// Awareness, notification deadlines and external statements.
    Comms(crate::comms::CommsCommand),
    /// The postmortem's lifecycle and action items.
    Postmortem(crate::postmortem::PostmortemCommand),
    /// Evidence and its chain of custody.
    Evidence(crate::custody::EvidenceCommand),
    /// An admin who is not a member opens a restricted incident for `minutes` (default 60, at
    /// most 480), with a written reason.
    BreakGlass {
        reason: String,
        minutes: Option<u32>,
    },
    /// Release a drill's injection to the team (drills only; once per injection: a release
    /// already recorded records nothing).
    ReleaseInjection {
        injection: String,
        kind: String,
        due_at: Timestamp,
        text: String,
        /// A status injection's new severity.
        severity: Option<Severity>,
    },
    /// Record a read of the incident (`what`, through `via`): restricted incidents record every
    /// read; open ones record nothing.
    RecordRead {
        what: String,
        via: String,
    },
    /// Export the incident as a signed bundle for `purpose`; `verified` holds each piece of
    /// evidence included, with the hash its stored content was just measured at.
    Export {
        purpose: String,
        with_evidence: bool,
        verified: Vec<(u32, String)>,
    },
}

/// What a command asked, in words, for a drill's record of its refusals (no free text: notes,
/// messages and reasons stay out of it).
fn command_words(cmd: &Command) -> String {
    match cmd {
        Command::AssignRole { user, role } => format!("assign {user} as {role}"),
        Command::UnassignRole { user, role } => format!("unassign {user} as {role}"),
        Command::StartStep { step } => format!("start step {step}"),
        Command::CompleteStep { step, .. } => format!("complete step {step}"),
        Command::WaiveStep { step, .. } => format!("waive step {step}"),
        Command::AddNote { .. } => "add a note".into(),
        Command::UpdateStatus { .. } => "update the status".into(),
        Command::ChangeSeverity { to, .. } => format!("change the severity to {to}"),
        Command::Approve { approval, .. } => format!("approve {approval}"),
        Command::Resolve { .. } => "resolve".into(),
        Command::Close { .. } => "close".into(),
        Command::Correct { supersedes, .. } => format!("correct event {supersedes}"),
        Command::ExternalUpdate { .. } => "publish an external update".into(),
        Command::Comms(_) => "a communication".into(),
        Command::Postmortem(_) => "postmortem work".into(),
        Command::Evidence(_) => "evidence custody".into(),
        Command::BreakGlass { .. } => "break-glass".into(),
        Command::ReleaseInjection { injection, .. } => format!("release injection {injection}"),
        Command::RecordRead { .. } => "a read".into(),
        Command::Export { .. } => "an export".into(),
    }
}

impl Command {
    /// Commands a closed incident still accepts: corrections, postmortem work (which goes on
    /// after closing), evidence custody (whose own rules refuse new evidence), reads and
    /// break-glass.
    pub fn allowed_when_closed(&self) -> bool {
        matches!(
            self,
            Command::Correct { .. }
                | Command::Postmortem(_)
                | Command::Evidence(_)
                | Command::BreakGlass { .. }
                | Command::RecordRead { .. }
                | Command::Export { .. }
        )
    }

    /// Commands that only read (and are recorded): a viewer may issue them, and so may an admin
    /// reading under break-glass.
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            Command::RecordRead { .. }
                | Command::Export { .. }
                | Command::Evidence(
                    crate::custody::EvidenceCommand::Access { .. }
                        | crate::custody::EvidenceCommand::AccessCompleted { .. }
                        | crate::custody::EvidenceCommand::AccessIncomplete { .. }
                        | crate::custody::EvidenceCommand::Export { .. }
                        | crate::custody::EvidenceCommand::IntegrityFailed { .. }
                )
        )
    }
}

/// The state of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    InProgress,
    Done,
    Waived,
}

impl StepStatus {
    pub fn settled(self) -> bool {
        matches!(self, StepStatus::Done | StepStatus::Waived)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::InProgress => "in_progress",
            StepStatus::Done => "done",
            StepStatus::Waived => "waived",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub n: u32,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<UserName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_by: Option<UserName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver_reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub by: UserName,
    pub at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A correction, as shown beside the event it corrects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectionView {
    pub seq: u64,
    pub by: UserName,
    pub recorded_at: Timestamp,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One line of the timeline: the event as recorded and any corrections of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: UserName,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<CorrectionView>,
}

impl TimelineEntry {
    /// When it happened, after the latest correction of the time.
    pub fn effective_occurred_at(&self) -> Timestamp {
        self.corrections
            .iter()
            .rev()
            .find_map(|c| c.occurred_at)
            .unwrap_or(self.occurred_at)
    }
}

/// The current state of an incident: a fold of its ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentState {
    pub id: Uuid,
    pub codename: String,
    pub title: String,
    pub kind: Kind,
    pub severity: Severity,
    pub status: Status,
    pub restricted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub declared_by: UserName,
    pub declared_at: Timestamp,
    pub updated_at: Timestamp,
    pub playbook: Playbook,
    pub steps: Vec<StepState>,
    /// Members and the roles they hold; a member may hold none (the declarer, or after unassignment).
    pub members: BTreeMap<UserName, BTreeSet<Role>>,
    pub approvals: BTreeMap<String, ApprovalRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    pub timeline: Vec<TimelineEntry>,
    /// Evidence and its chain of custody.
    #[serde(default)]
    pub evidence: Vec<crate::custody::EvidenceState>,
    /// Break-glass grants, expired ones included (the record keeps them).
    #[serde(default)]
    pub break_glass: Vec<crate::custody::BreakGlassGrant>,
    /// Recorded reads (restricted incidents only).
    #[serde(default)]
    pub reads: u64,
    /// Sequence number of the last event folded in.
    pub last_seq: u64,
    /// Status updates, awareness and deadlines, external statements.
    #[serde(default)]
    pub comms: CommsState,
    #[serde(default)]
    pub postmortem: PostmortemState,
    /// Set when the incident is a drill: its scenario and participants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<crate::drill::DrillMarker>,
    /// A drill's injections released so far, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injected: Vec<crate::drill::Injected>,
    /// The alert it was declared from, and that alert's service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_alert: Option<AlertOrigin>,
}

pub use crate::aggregate::FoldError;

/// Details of a new incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    pub title: String,
    pub kind: Kind,
    pub severity: Severity,
    /// `None`: restricted when the kind is security (the default), open otherwise.
    pub restricted: Option<bool>,
    pub summary: Option<String>,
    pub playbook: Playbook,
}

/// The alert an incident was declared from, and that alert's service: the service whose change
/// events are shown with the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertOrigin {
    pub alert: Uuid,
    pub service: Uuid,
    /// The service's name when the incident was declared.
    pub service_name: String,
}

/// The `declared` payload for a new incident, after validation.
pub fn declare(d: Declaration, codename: String) -> Result<Payload, Refusal> {
    let title = d.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        return refuse(rules::INVALID_INPUT, "title must be 1–200 characters");
    }
    if d.summary.as_ref().is_some_and(|s| s.len() > 10_000) {
        return refuse(rules::INVALID_INPUT, "summary is longer than 10,000 bytes");
    }
    if d.playbook.kind != d.kind {
        return refuse(
            rules::INVALID_INPUT,
            format!(
                "playbook {:?} is for {} incidents, not {}",
                d.playbook.id, d.playbook.kind, d.kind
            ),
        );
    }
    Ok(Payload::Declared {
        codename,
        title,
        kind: d.kind,
        severity: d.severity,
        restricted: d.restricted.unwrap_or(d.kind == Kind::Security),
        playbook: d.playbook,
        summary: d.summary.filter(|s| !s.trim().is_empty()),
        drill: None,
        from_alert: None,
    })
}

/// What declares a new incident: the details, the codename chosen for it, and optionally an
/// Incident Commander to assign and when the organisation became aware, recorded with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Declare {
    pub declaration: Declaration,
    pub codename: String,
    pub commander: Option<UserName>,
    pub aware_at: Option<Timestamp>,
    /// Declares a drill (scenario and participants) instead of a real incident.
    pub drill: Option<crate::drill::DrillMarker>,
    /// The alert it is declared from (a promotion), with its service.
    pub from_alert: Option<AlertOrigin>,
}

/// Wrap incident payloads into events of incident `incident` numbered after `last_seq`.
pub fn events_for(
    incident: Uuid,
    last_seq: u64,
    actor: &UserName,
    recorded_at: Timestamp,
    occurred_at: Option<Timestamp>,
    payloads: Vec<Payload>,
) -> Vec<Event> {
    crate::event::numbered(
        StreamId::incident(incident),
        last_seq,
        actor,
        recorded_at,
        occurred_at,
        payloads,
    )
}

const MAX_TEXT: usize = 10_000;

pub(crate) fn text_ok(field: &str, s: &str) -> Result<(), Refusal> {
    if s.trim().is_empty() {
        return refuse(rules::INVALID_INPUT, format!("{field} must not be empty"));
    }
    if s.len() > MAX_TEXT {
        return refuse(
            rules::INVALID_INPUT,
            format!("{field} is longer than {MAX_TEXT} bytes"),
        );
    }
    Ok(())
}

impl IncidentState {
    /// Fold a whole ledger.
    pub fn fold<'a>(
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<IncidentState, FoldError> {
        <IncidentState as Aggregate>::fold(events)
    }

    /// The stream this incident is recorded in.
    pub fn stream(&self) -> StreamId {
        StreamId::incident(self.id)
    }

    /// The state after the first (`declared`) event.
    pub fn from_first(e: &Event) -> Result<IncidentState, FoldError> {
        crate::aggregate::check_first(StreamKind::Incident, e)?;
        let Payload::Declared {
            codename,
            title,
            kind,
            severity,
            restricted,
            playbook,
            summary,
            drill,
            from_alert,
        } = &e.data
        else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "declared",
                found: e.data.kind(),
            });
        };
        let steps = playbook
            .steps
            .iter()
            .map(|s| StepState {
                n: s.n,
                title: s.title.clone(),
                owner: s.owner.clone(),
                status: StepStatus::Pending,
                started_at: None,
                started_by: None,
                settled_at: None,
                settled_by: None,
                waiver_reason: None,
                notes: Vec::new(),
            })
            .collect();
        let mut members = BTreeMap::new();
        members.insert(e.actor.clone(), BTreeSet::new());
        // A drill's participants are members from the start: they may see and run it.
        for p in drill.iter().flat_map(|d| &d.participants) {
            members.entry(p.clone()).or_insert_with(BTreeSet::new);
        }
        Ok(IncidentState {
            id: e.stream.id,
            codename: codename.clone(),
            title: title.clone(),
            kind: *kind,
            severity: *severity,
            status: Status::Declared,
            restricted: *restricted,
            summary: summary.clone(),
            declared_by: e.actor.clone(),
            declared_at: e.occurred_at,
            updated_at: e.recorded_at,
            playbook: playbook.clone(),
            steps,
            members,
            approvals: BTreeMap::new(),
            resolution: None,
            resolved_at: None,
            closed_at: None,
            timeline: vec![TimelineEntry {
                seq: 1,
                kind: e.data.kind().to_string(),
                actor: e.actor.clone(),
                occurred_at: e.occurred_at,
                recorded_at: e.recorded_at,
                description: e.data.describe(),
                corrections: Vec::new(),
            }],
            evidence: Vec::new(),
            break_glass: Vec::new(),
            reads: 0,
            last_seq: 1,
            comms: CommsState::default(),
            postmortem: PostmortemState::default(),
            drill: drill.clone(),
            injected: Vec::new(),
            from_alert: from_alert.clone(),
        })
    }

    /// Fold one more event in. Events are facts: the rules were checked when they were decided,
    /// so here only structural consistency is checked.
    pub fn apply(&mut self, e: &Event) -> Result<(), FoldError> {
        crate::aggregate::check_next(self.stream(), self.last_seq, e)?;
        let step_index = |step: u32| -> Result<usize, FoldError> {
            self.steps
                .iter()
                .position(|s| s.n == step)
                .ok_or(FoldError::UnknownStep { seq: e.seq, step })
        };
        match &e.data {
            Payload::Declared { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "declared",
                });
            }
            Payload::RoleAssigned { user, role } => {
                if *role == Role::IncidentCommander {
                    for roles in self.members.values_mut() {
                        roles.remove(&Role::IncidentCommander);
                    }
                }
                self.members.entry(user.clone()).or_default().insert(*role);
            }
            Payload::RoleUnassigned { user, role } => {
                if let Some(roles) = self.members.get_mut(user) {
                    roles.remove(role);
                }
            }
            Payload::StepStarted { step } => {
                let i = step_index(*step)?;
                let s = &mut self.steps[i];
                s.status = StepStatus::InProgress;
                s.started_at = Some(e.occurred_at);
                s.started_by = Some(e.actor.clone());
                if self.status == Status::Declared {
                    self.status = Status::Investigating;
                }
            }
            Payload::StepDone { step, note } => {
                let i = step_index(*step)?;
                let s = &mut self.steps[i];
                s.status = StepStatus::Done;
                s.settled_at = Some(e.occurred_at);
                s.settled_by = Some(e.actor.clone());
                if s.started_at.is_none() {
                    s.started_at = Some(e.occurred_at);
                    s.started_by = Some(e.actor.clone());
                }
                if let Some(n) = note {
                    s.notes.push(n.clone());
                }
                if self.status == Status::Declared {
                    self.status = Status::Investigating;
                }
            }
            Payload::StepWaived { step, reason } => {
                let i = step_index(*step)?;
                let s = &mut self.steps[i];
                s.status = StepStatus::Waived;
                s.settled_at = Some(e.occurred_at);
                s.settled_by = Some(e.actor.clone());
                s.waiver_reason = Some(reason.clone());
            }
            Payload::NoteAdded { .. } | Payload::DrillRefused { .. } => {}
            Payload::DrillInjected {
                injection,
                kind,
                due_at,
                text,
                severity,
            } => {
                self.injected.push(crate::drill::Injected {
                    injection: injection.clone(),
                    kind: kind.clone(),
                    due_at: *due_at,
                    released_at: e.recorded_at,
                    text: text.clone(),
                });
                if let Some(s) = severity {
                    self.severity = *s;
                }
            }
            Payload::StatusUpdated {
                status, audience, ..
            } => {
                if let Some(s) = status {
                    self.status = *s;
                }
                self.comms.record_update(*audience, e.occurred_at);
            }
            Payload::SeverityChanged { to, .. } => self.severity = *to,
            Payload::Approved { approval, note } => {
                self.approvals.insert(
                    approval.clone(),
                    ApprovalRecord {
                        by: e.actor.clone(),
                        at: e.occurred_at,
                        note: note.clone(),
                    },
                );
            }
            Payload::Resolved { summary } => {
                self.status = Status::Resolved;
                self.resolution = Some(summary.clone());
                self.resolved_at = Some(e.occurred_at);
            }
            Payload::Closed { .. } => {
                self.status = Status::Closed;
                self.closed_at = Some(e.occurred_at);
            }
            Payload::Corrected {
                supersedes,
                reason,
                occurred_at,
                text,
            } => {
                if let Some(entry) = self.timeline.iter_mut().find(|t| t.seq == *supersedes) {
                    entry.corrections.push(CorrectionView {
                        seq: e.seq,
                        by: e.actor.clone(),
                        recorded_at: e.recorded_at,
                        reason: reason.clone(),
                        occurred_at: *occurred_at,
                        text: text.clone(),
                    });
                }
            }
            Payload::EvidenceAcquired { .. }
            | Payload::EvidenceTransferred { .. }
            | Payload::EvidenceAccessed { .. }
            | Payload::EvidenceAccessVerified { .. }
            | Payload::EvidenceAccessIncomplete { .. }
            | Payload::EvidenceExported { .. }
            | Payload::EvidenceIntegrityFailed { .. }
            | Payload::Accessed { .. }
            | Payload::BreakGlass { .. }
            | Payload::Exported { .. } => {
                if let Payload::EvidenceAcquired { evidence, .. } = &e.data
                    && *evidence as usize != self.evidence.len() + 1
                {
                    return Err(FoldError::EvidenceNumber {
                        seq: e.seq,
                        evidence: *evidence,
                    });
                }
                self.apply_custody(e);
                if matches!(e.data, Payload::Accessed { .. }) {
                    // Reads are kept in the ledger, not in the timeline people read.
                    self.last_seq = e.seq;
                    return Ok(());
                }
            }
            Payload::AwarenessRecorded { .. }
            | Payload::DeadlineMet { .. }
            | Payload::StatementDrafted { .. }
            | Payload::StatementApproved { .. }
            | Payload::StatementPublished { .. } => crate::comms::apply(self, e),
            Payload::PostmortemStatusChanged { .. }
            | Payload::ActionItemAdded { .. }
            | Payload::ActionItemDone { .. } => crate::postmortem::apply(self, e),
        }
        self.timeline.push(TimelineEntry {
            seq: e.seq,
            kind: e.data.kind().to_string(),
            actor: e.actor.clone(),
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            description: e.data.describe(),
            corrections: Vec::new(),
        });
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
        Ok(())
    }

    /// Whether `user` is a member (with or without a role).
    pub fn is_member(&self, user: &UserName) -> bool {
        self.members.contains_key(user)
    }

    /// Whether `user` may see this incident at all. Restricted incidents exist only for their
    /// members; admins are no exception (break-glass is a separate, recorded path).
    pub fn visible_to(&self, user: &UserName) -> bool {
        !self.restricted || self.is_member(user)
    }

    /// The current Incident Commander, if any.
    pub fn commander(&self) -> Option<&UserName> {
        self.members
            .iter()
            .find(|(_, roles)| roles.contains(&Role::IncidentCommander))
            .map(|(u, _)| u)
    }

    pub fn has_role(&self, user: &UserName, role: Role) -> bool {
        self.members.get(user).is_some_and(|r| r.contains(&role))
    }

    fn step(&self, n: u32) -> Result<&StepState, Refusal> {
        self.steps.iter().find(|s| s.n == n).map_or_else(
            || {
                refuse(
                    rules::UNKNOWN_REFERENCE,
                    format!(
                        "step {n} does not exist in playbook {:?} (steps 1–{})",
                        self.playbook.id,
                        self.steps.len()
                    ),
                )
            },
            Ok,
        )
    }

    fn require_commander(&self, actor: &Actor, what: &str) -> Result<(), Refusal> {
        if self.has_role(&actor.user, Role::IncidentCommander) {
            Ok(())
        } else {
            let who = self.commander().map_or_else(
                || "no Incident Commander is assigned yet".to_string(),
                |c| format!("the Incident Commander is {c}"),
            );
            refuse(
                rules::COMMANDER_ONLY,
                format!("only the Incident Commander may {what}; {who}"),
            )
        }
    }

    /// Check a command against the rules and return the events it produces, or the rule that
    /// refuses it. `ctx.policy` supplies the phrases external text must avoid and the
    /// notification deadlines awareness starts; `ctx.now` bounds break-glass grants.
    pub fn decide(
        &self,
        actor: &Actor,
        cmd: &Command,
        ctx: &Context<'_, CommsPolicy>,
    ) -> Result<Vec<Payload>, Refusal> {
        if !cmd.is_read() && !matches!(cmd, Command::BreakGlass { .. }) {
            if actor.account_role == AccountRole::Viewer {
                return refuse(
                    rules::READ_ONLY,
                    "viewer accounts may read but not change incidents",
                );
            }
            // A non-member reaches a restricted incident only through break-glass (the
            // application answers "not found" to anyone else), and break-glass only reads.
            if !self.visible_to(&actor.user)
                && self.break_glass_active(&actor.user, ctx.now).is_some()
            {
                return refuse(
                    rules::MEMBERS_ONLY,
                    "break-glass opens a restricted incident for reading only; to change it, ask its Incident Commander for a role",
                );
            }
        }
        if self.status == Status::Closed && !cmd.allowed_when_closed() {
            return refuse(
                rules::INCIDENT_CLOSED,
                "the incident is closed; only corrections can still be recorded",
            );
        }
        let policy = ctx.policy;
        match cmd {
            Command::AssignRole { user, role } => {
                if self.commander().is_some() && actor.account_role != AccountRole::Admin {
                    self.require_commander(actor, "assign roles")?;
                }
                if self.has_role(user, *role) {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!("{user} already holds the role {role}"),
                    );
                }
                Ok(vec![Payload::RoleAssigned {
                    user: user.clone(),
                    role: *role,
                }])
            }
            Command::UnassignRole { user, role } => {
                if self.commander().is_some() && actor.account_role != AccountRole::Admin {
                    self.require_commander(actor, "unassign roles")?;
                }
                if !self.has_role(user, *role) {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!("{user} does not hold the role {role}"),
                    );
                }
                Ok(vec![Payload::RoleUnassigned {
                    user: user.clone(),
                    role: *role,
                }])
            }
            Command::StartStep { step } => {
                let s = self.step(*step)?;
                if s.status != StepStatus::Pending {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!("step {step} is {}, not pending", s.status.as_str()),
                    );
                }
                Ok(vec![Payload::StepStarted { step: *step }])
            }
            Command::CompleteStep { step, note } => {
                let s = self.step(*step)?;
                if let Some(n) = note {
                    text_ok("note", n)?;
                }
                if s.status.settled() {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!("step {step} is already {}", s.status.as_str()),
                    );
                }
                if self.playbook.commander_required_for_done && self.commander().is_none() {
                    return refuse(
                        rules::COMMANDER_REQUIRED,
                        format!(
                            "step {step} cannot be marked done before an Incident Commander is assigned"
                        ),
                    );
                }
                let def = self.playbook.step(*step).expect("step exists");
                let unsettled: Vec<String> = def
                    .requires
                    .iter()
                    .filter(|r| !self.step(**r).is_ok_and(|s| s.status.settled()))
                    .map(u32::to_string)
                    .collect();
                let not_done: Vec<String> = def
                    .requires_done
                    .iter()
                    .filter(|r| !self.step(**r).is_ok_and(|s| s.status == StepStatus::Done))
                    .map(u32::to_string)
                    .collect();
                if !unsettled.is_empty() || !not_done.is_empty() {
                    let mut parts = Vec::new();
                    if !unsettled.is_empty() {
                        parts.push(format!(
                            "step(s) {} must be done or waived first",
                            unsettled.join(", ")
                        ));
                    }
                    if !not_done.is_empty() {
                        parts.push(format!(
                            "step(s) {} must be done first (a waiver does not count)",
                            not_done.join(", ")
                        ));
                    }
                    return refuse(
                        rules::STEP_PREREQUISITES,
                        format!("step {step} ({}): {}", def.title, parts.join("; ")),
                    );
                }
                let missing: Vec<&str> = def
                    .requires_approval
                    .iter()
                    .filter(|a| !self.approvals.contains_key(*a))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    return refuse(
                        rules::APPROVAL_REQUIRED,
                        format!(
                            "step {step} ({}) needs the approval {} from the Incident Commander first",
                            def.title,
                            missing.join(", ")
                        ),
                    );
                }
                Ok(vec![Payload::StepDone {
                    step: *step,
                    note: note.clone(),
                }])
            }
            Command::WaiveStep { step, reason } => {
                let s = self.step(*step)?;
                text_ok("reason", reason)?;
                self.require_commander(actor, "waive a step")?;
                if s.status.settled() {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!("step {step} is already {}", s.status.as_str()),
                    );
                }
                Ok(vec![Payload::StepWaived {
                    step: *step,
                    reason: reason.clone(),
                }])
            }
            Command::ReleaseInjection {
                injection,
                kind,
                due_at,
                text,
                severity,
            } => {
                if self.drill.is_none() {
                    return refuse(
                        rules::INVALID_INPUT,
                        "injections are released only to drills; this is a real incident",
                    );
                }
                text_ok("injection", injection)?;
                text_ok("text", text)?;
                if !matches!(kind.as_str(), "alert" | "evidence" | "status" | "discovery") {
                    return refuse(
                        rules::INVALID_INPUT,
                        format!(
                            "an injection is an alert, evidence, status or discovery, not {kind:?}"
                        ),
                    );
                }
                if self.injected.iter().any(|i| &i.injection == injection) {
                    return Ok(Vec::new());
                }
                if severity.is_some() && kind != "status" {
                    return refuse(
                        rules::INVALID_INPUT,
                        "only a status injection changes the severity",
                    );
                }
                Ok(vec![Payload::DrillInjected {
                    injection: injection.clone(),
                    kind: kind.clone(),
                    due_at: *due_at,
                    text: text.clone(),
                    severity: *severity,
                }])
            }
            Command::AddNote { text } => {
                text_ok("note", text)?;
                Ok(vec![Payload::NoteAdded { text: text.clone() }])
            }
            Command::UpdateStatus { status, message } => {
                if let Some(m) = message {
                    text_ok("message", m)?;
                }
                if status.is_none() && message.is_none() {
                    return refuse(
                        rules::INVALID_INPUT,
                        "a status update needs a new status, a message, or both",
                    );
                }
                if let Some(to) = status {
                    match to {
                        Status::Resolved => {
                            return refuse(
                                rules::INVALID_TRANSITION,
                                "use the resolve command, which checks the resolve prerequisites",
                            );
                        }
                        Status::Closed => {
                            return refuse(rules::INVALID_TRANSITION, "use the close command");
                        }
                        Status::Declared if self.status != Status::Declared => {
                            return refuse(
                                rules::INVALID_TRANSITION,
                                "an incident cannot go back to declared",
                            );
                        }
                        _ => {}
                    }
                    if self.status == Status::Resolved {
                        // Reopening a resolved incident is a decision for the IC.
                        self.require_commander(actor, "reopen a resolved incident")?;
                    }
                }
                Ok(vec![Payload::StatusUpdated {
                    status: *status,
                    message: message.clone(),
                    audience: None,
                }])
            }
            Command::ChangeSeverity { to, reason } => {
                if *to == self.severity {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!("severity is already {to}"),
                    );
                }
                if let Some(r) = reason {
                    text_ok("reason", r)?;
                }
                Ok(vec![Payload::SeverityChanged {
                    from: self.severity,
                    to: *to,
                    reason: reason.clone(),
                }])
            }
            Command::Approve { approval, note } => {
                let Some(def) = self.playbook.approvals.iter().find(|a| a.id == *approval) else {
                    let known: Vec<&str> = self
                        .playbook
                        .approvals
                        .iter()
                        .map(|a| a.id.as_str())
                        .collect();
                    return refuse(
                        rules::UNKNOWN_REFERENCE,
                        format!(
                            "playbook {:?} defines no approval {approval:?} (it has: {})",
                            self.playbook.id,
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                };
                if !self.has_role(&actor.user, def.role) {
                    return refuse(
                        rules::COMMANDER_ONLY,
                        format!("approval {approval:?} must be given by the {}", def.role),
                    );
                }
                if self.approvals.contains_key(approval) {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!("approval {approval:?} was already given"),
                    );
                }
                if let Some(n) = note {
                    text_ok("note", n)?;
                }
                Ok(vec![Payload::Approved {
                    approval: approval.clone(),
                    note: note.clone(),
                }])
            }
            Command::Resolve { summary } => {
                text_ok("summary", summary)?;
                self.require_commander(actor, "resolve the incident")?;
                if !self.status.is_open() {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!("the incident is already {}", self.status),
                    );
                }
                let open: Vec<String> = self
                    .playbook
                    .resolve
                    .requires
                    .iter()
                    .filter(|r| !self.step(**r).is_ok_and(|s| s.status.settled()))
                    .map(u32::to_string)
                    .collect();
                if !open.is_empty() {
                    return refuse(
                        rules::RESOLVE_PREREQUISITES,
                        format!(
                            "the incident cannot be resolved until steps {} are done or waived by the Incident Commander with a reason",
                            open.join(", ")
                        ),
                    );
                }
                Ok(vec![Payload::Resolved {
                    summary: summary.clone(),
                }])
            }
            Command::Close { note } => {
                self.require_commander(actor, "close the incident")?;
                if self.status != Status::Resolved {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!(
                            "only a resolved incident can be closed; it is {}",
                            self.status
                        ),
                    );
                }
                if let Some(n) = note {
                    text_ok("note", n)?;
                }
                Ok(vec![Payload::Closed { note: note.clone() }])
            }
            Command::Correct {
                supersedes,
                reason,
                occurred_at,
                text,
            } => {
                text_ok("reason", reason)?;
                let Some(target) = self.timeline.iter().find(|t| t.seq == *supersedes) else {
                    return refuse(
                        rules::UNKNOWN_REFERENCE,
                        format!(
                            "event {supersedes} does not exist (the ledger has events 1–{})",
                            self.last_seq
                        ),
                    );
                };
                if occurred_at.is_none() && text.is_none() {
                    return refuse(
                        rules::INVALID_INPUT,
                        "a correction needs a corrected occurred_at, a corrected text, or both",
                    );
                }
                if let Some(t) = text {
                    text_ok("text", t)?;
                    if !matches!(
                        target.kind.as_str(),
                        "note_added" | "status_updated" | "step_done" | "corrected"
                    ) {
                        return refuse(
                            rules::INVALID_INPUT,
                            format!(
                                "event {supersedes} ({}) has no text to correct; only notes, status updates and step notes do",
                                target.kind
                            ),
                        );
                    }
                }
                if target.kind == "corrected" && occurred_at.is_some() {
                    return refuse(
                        rules::INVALID_INPUT,
                        "correct the original event's time, not the correction's",
                    );
                }
                Ok(vec![Payload::Corrected {
                    supersedes: *supersedes,
                    reason: reason.clone(),
                    occurred_at: *occurred_at,
                    text: text.clone(),
                }])
            }
            Command::ExternalUpdate { message } => {
                text_ok("message", message)?;
                crate::comms::check_external_update(policy, message)?;
                Ok(vec![Payload::StatusUpdated {
                    status: None,
                    message: Some(message.clone()),
                    audience: Some(Audience::External),
                }])
            }
            Command::Comms(c) => crate::comms::decide(self, actor, c, policy),
            Command::Postmortem(c) => crate::postmortem::decide(self, actor, c),
            Command::Evidence(c) => self.decide_evidence(actor, c),
            Command::BreakGlass { reason, minutes } => {
                self.decide_break_glass(actor, reason, *minutes, ctx.now)
            }
            // A read depends on nothing but the incident being restricted.
            Command::RecordRead { what, via } => {
                Ok(self.access_event(what, via).into_iter().collect())
            }
            Command::Export {
                purpose,
                with_evidence,
                verified,
            } => {
                let purpose = purpose.trim();
                if purpose.is_empty() || purpose.chars().count() > 2_000 {
                    return refuse(rules::INVALID_INPUT, "purpose must be 1 … 2000 characters");
                }
                // With evidence, the bundle holds every piece, each checked just before: evidence
                // acquired since the check would be listed but not in the bundle.
                if *with_evidence {
                    let checked: Vec<u32> = verified.iter().map(|(n, _)| *n).collect();
                    if let Some(e) = self.evidence.iter().find(|e| !checked.contains(&e.n)) {
                        return refuse(
                            rules::INVALID_TRANSITION,
                            format!(
                                "E{} was acquired while the export was being prepared and is not in it; export again",
                                e.n
                            ),
                        );
                    }
                }
                let mut out: Vec<Payload> =
                    self.access_event("export", "api").into_iter().collect();
                for (n, sha) in verified {
                    out.extend(self.decide_evidence(
                        actor,
                        &crate::custody::EvidenceCommand::Export {
                            evidence: *n,
                            purpose: purpose.to_string(),
                            verified_sha256: sha.clone(),
                        },
                    )?);
                }
                out.push(Payload::Exported {
                    purpose: purpose.to_string(),
                    with_evidence: *with_evidence,
                });
                Ok(out)
            }
        }
    }

    /// The timeline ordered by when things happened (after corrections), then by sequence.
    pub fn timeline_by_occurrence(&self) -> Vec<&TimelineEntry> {
        let mut v: Vec<&TimelineEntry> = self.timeline.iter().collect();
        v.sort_by_key(|t| (t.effective_occurred_at(), t.seq));
        v
    }
}

impl Aggregate for IncidentState {
    const KIND: StreamKind = StreamKind::Incident;
    type Payload = Payload;
    type Command = Command;
    type Create = Declare;
    type Policy = CommsPolicy;

    fn stream(&self) -> StreamId {
        IncidentState::stream(self)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }
    fn from_first(e: &Event) -> Result<Self, FoldError> {
        IncidentState::from_first(e)
    }
    fn apply(&mut self, e: &Event) -> Result<(), FoldError> {
        IncidentState::apply(self, e)
    }

    /// Any user may declare an incident ("when unsure, declare it anyway"); viewers only read.
    fn create_role(_: &Declare) -> AccountRole {
        AccountRole::Responder
    }

    /// `declared`, then the Incident Commander's assignment and the awareness time when given,
    /// each decided on the state the previous one leaves.
    fn decide_create(
        actor: &Actor,
        d: &Declare,
        ctx: &Context<'_, CommsPolicy>,
    ) -> Result<Vec<Payload>, Refusal> {
        if actor.account_role == AccountRole::Viewer {
            return refuse(
                rules::READ_ONLY,
                "viewer accounts may read but not declare incidents",
            );
        }
        let mut declared = declare(d.declaration.clone(), d.codename.clone())?;
        if let (Some(marker), Payload::Declared { drill, .. }) = (&d.drill, &mut declared) {
            check_drill(actor, marker)?;
            *drill = Some(marker.clone());
        }
        if let (Some(origin), Payload::Declared { from_alert, .. }) = (&d.from_alert, &mut declared)
        {
            *from_alert = Some(origin.clone());
        }
        let mut payloads = vec![declared];
        let mut follow = Vec::new();
        if let Some(c) = &d.commander {
            follow.push(Command::AssignRole {
                user: c.clone(),
                role: Role::IncidentCommander,
            });
        }
        if let Some(aware_at) = d.aware_at {
            follow.push(Command::Comms(
                crate::comms::CommsCommand::RecordAwareness {
                    aware_at,
                    note: None,
                },
            ));
        }
        if follow.is_empty() {
            return Ok(payloads);
        }
        // A provisional state: the id is irrelevant to the rules.
        let mut st = IncidentState::fold(&events_for(
            Uuid::nil(),
            0,
            &actor.user,
            ctx.now,
            None,
            payloads.clone(),
        ))
        .map_err(|e| Refusal::new(rules::INVALID_INPUT, e.to_string()))?;
        for cmd in follow {
            let more = st.decide(actor, &cmd, ctx)?;
            for e in events_for(
                Uuid::nil(),
                st.last_seq,
                &actor.user,
                ctx.now,
                None,
                more.clone(),
            ) {
                st.apply(&e)
                    .map_err(|e| Refusal::new(rules::INVALID_INPUT, e.to_string()))?;
            }
            payloads.extend(more);
        }
        Ok(payloads)
    }

    fn required_role(cmd: &Command) -> AccountRole {
        match cmd {
            Command::BreakGlass { .. } => AccountRole::Admin,
            c if c.is_read() => AccountRole::Viewer,
            _ => AccountRole::Responder,
        }
    }

    /// Restricted incidents exist only for their members and holders of an unexpired
    /// break-glass grant; break-glass itself is how an admin who is neither asks in.
    fn visible_to(&self, actor: &Actor, cmd: Option<&Command>, now: Timestamp) -> bool {
        matches!(cmd, Some(Command::BreakGlass { .. })) || self.visible_to_at(&actor.user, now)
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &Command,
        ctx: &Context<'_, CommsPolicy>,
    ) -> Result<Vec<Payload>, Refusal> {
        IncidentState::decide(self, actor, cmd, ctx)
    }

    /// Recorded reads only. A note is decided on the latest state like any other command: it
    /// is refused once the incident is closed, and closing can land between a note's decision
    /// and an append at the head (ARCHITECTURE.md, "Notes are decided on the state").
    fn independent_of_state(cmd: &Command) -> bool {
        matches!(cmd, Command::RecordRead { .. })
    }

    fn read_record(&self, what: &str, via: &str) -> Option<Payload> {
        self.access_event(what, via)
    }

    /// A drill keeps its refusals (the debrief scores "rules respected"); a real incident's
    /// refused commands write nothing.
    fn refusal_record(&self, cmd: &Command, refusal: &Refusal) -> Option<Payload> {
        self.drill.as_ref()?;
        Some(Payload::DrillRefused {
            rule: refusal.rule.id.to_string(),
            command: command_words(cmd),
        })
    }

    /// Break-glass is told to the Incident Commander (or, with none assigned yet, to the
    /// operators; on a drill, to whoever declared it) the moment it is recorded. A drill's
    /// alert injections page each participant, and nobody else.
    fn effects(&self, new: &[Event]) -> Vec<crate::aggregate::Notice> {
        let mut drill_pages = Vec::new();
        if let Some(d) = &self.drill {
            for e in new {
                if let Payload::DrillInjected {
                    injection,
                    kind,
                    text,
                    ..
                } = &e.data
                    && kind == "alert"
                {
                    for p in &d.participants {
                        drill_pages.push(crate::aggregate::Notice {
                            to: crate::aggregate::Recipient::User(p.clone()),
                            kind: "drill_alert",
                            body: serde_json::json!({
                                "type": "drill_alert",
                                "drill": true,
                                "scenario": d.scenario,
                                "incident": self.id,
                                "codename": self.codename,
                                "injection": injection,
                                "to": p,
                                "at": e.recorded_at.to_string(),
                                "text": format!("[DRILL {}] {text}", self.codename),
                            }),
                            delay_secs: 0,
                        });
                    }
                }
            }
        }
        new.iter()
            .filter_map(|e| match &e.data {
                Payload::BreakGlass { reason, until } => Some(crate::aggregate::Notice {
                    to: match (self.commander(), &self.drill) {
                        (Some(c), _) => crate::aggregate::Recipient::User(c.clone()),
                        // A drill never reaches anyone outside it.
                        (None, Some(_)) => {
                            crate::aggregate::Recipient::User(self.declared_by.clone())
                        }
                        (None, None) => crate::aggregate::Recipient::Operators,
                    },
                    kind: "break_glass",
                    body: serde_json::json!({
                        "type": "break_glass",
                        "incident": self.id,
                        "codename": self.codename,
                        "by": e.actor,
                        "reason": reason,
                        "until": until.to_string(),
                        "at": e.recorded_at.to_string(),
                        "to": self.commander().map(|c| c.to_string()),
                        "text": format!(
                            "{} used break-glass to read restricted incident {} until {}: {}",
                            e.actor, self.codename, until, reason
                        ),
                    }),
                    delay_secs: 0,
                }),
                _ => None,
            })
            .chain(drill_pages)
            .collect()
    }
}

/// A drill's marker as declared: a scenario id, 1–100 participants, the declarer among them, and
/// a custom scenario's file within its size limit.
fn check_drill(actor: &Actor, d: &crate::drill::DrillMarker) -> Result<(), Refusal> {
    text_ok("scenario", &d.scenario)?;
    if d.participants.is_empty() || d.participants.len() > crate::drill::MAX_PARTICIPANTS {
        return refuse(
            rules::INVALID_INPUT,
            format!(
                "a drill has 1–{} participants",
                crate::drill::MAX_PARTICIPANTS
            ),
        );
    }
    if !d.includes(&actor.user) {
        return refuse(
            rules::INVALID_INPUT,
            "whoever starts a drill takes part in it",
        );
    }
    if d.source
        .as_ref()
        .is_some_and(|s| s.len() > crate::drill::MAX_SOURCE_BYTES)
    {
        return refuse(
            rules::INVALID_INPUT,
            format!(
                "a custom scenario file is at most {} KiB",
                crate::drill::MAX_SOURCE_BYTES / 1024
            ),
        );
    }
    Ok(())
}
