//! Request and response bodies of the HTTP API. Requests refuse unknown fields.

use palisade_core::IncidentState;
use palisade_store::{IncidentSummary, StoredEvent, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareRequest {
    /// Short, factual title. For security incidents the codename is what people see in lists.
    pub title: String,
    /// `security` (default) or `operational`. When unsure whether it is a security incident,
    /// declare it as one.
    #[serde(default)]
    pub kind: Option<String>,
    /// `SEV-1` (most urgent) … `SEV-5`. When unsure, pick the higher.
    pub severity: String,
    /// Defaults to true for security incidents, false for operational ones.
    #[serde(default)]
    pub restricted: Option<bool>,
    #[serde(default)]
    pub summary: Option<String>,
    /// Playbook id; defaults to the built-in playbook of the kind.
    #[serde(default)]
    pub playbook: Option<String>,
    /// User to make Incident Commander right away.
    #[serde(default)]
    pub commander: Option<String>,
    /// When the incident began, RFC 3339 with offset (defaults to now).
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// When the organisation became aware (RFC 3339); starts the notification deadlines.
    #[serde(default)]
    pub aware_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub user: String,
    /// incident_commander (ic), deputy, scribe, subject_matter_expert (sme), internal_liaison,
    /// customer_liaison or legal.
    pub role: String,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// A note (for `done`).
    #[serde(default)]
    pub note: Option<String>,
    /// Why the step is waived (required for `waive`).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub text: String,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// declared, investigating or contained (resolve and close have their own commands).
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// internal (default) or external. External updates carry a message only and are checked
    /// against the phrases to avoid.
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeverityRequest {
    pub severity: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The approval id from the playbook, e.g. `external-communication`.
    pub approval: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    pub summary: String,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    /// Sequence number of the event being corrected.
    pub supersedes: u64,
    pub reason: String,
    /// The corrected time the event happened.
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// The corrected text (notes, status updates, step notes).
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The user the token acts as; created if it does not exist (then `role` is required).
    pub user: String,
    /// admin, responder or viewer — for a new user.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// The secret token. It is shown only this once; only its hash is stored.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub user: String,
    pub role: String,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> Self {
        TokenView {
            id: t.id,
            user: t.user,
            role: t.role.to_string(),
            label: t.label,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: String,
    pub role: String,
    pub token_id: String,
}

/// One row of the incident list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentListItem {
    pub id: Uuid,
    pub codename: String,
    pub title: String,
    pub kind: String,
    pub severity: String,
    pub status: String,
    pub restricted: bool,
    pub commander: Option<String>,
    pub declared_at: String,
    pub updated_at: String,
    pub events: u64,
}

impl From<IncidentSummary> for IncidentListItem {
    fn from(s: IncidentSummary) -> Self {
        IncidentListItem {
            id: s.id,
            codename: s.codename,
            title: s.title,
            kind: s.kind.to_string(),
            severity: s.severity.to_string(),
            status: s.status.to_string(),
            restricted: s.restricted,
            commander: s.commander,
            declared_at: s.declared_at,
            updated_at: s.updated_at,
            events: s.last_seq,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentList {
    pub incidents: Vec<IncidentListItem>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub user: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    pub n: u32,
    pub title: String,
    pub owner: Option<String>,
    /// pending, in_progress, done or waived.
    pub status: String,
    pub started_at: Option<String>,
    pub started_by: Option<String>,
    pub settled_at: Option<String>,
    pub settled_by: Option<String>,
    pub waiver_reason: Option<String>,
    pub notes: Vec<String>,
    /// Steps that must be done or waived first.
    pub requires: Vec<u32>,
    /// Steps that must be done first.
    pub requires_done: Vec<u32>,
    pub requires_approval: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApprovalView {
    pub approval: String,
    pub by: String,
    pub at: String,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CorrectionView {
    pub seq: u64,
    pub by: String,
    pub recorded_at: String,
    pub reason: String,
    pub occurred_at: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineView {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: String,
    /// As reported (with the offset it was reported in).
    pub occurred_at: String,
    /// As recorded by the server (UTC).
    pub recorded_at: String,
    /// After corrections.
    pub effective_occurred_at: String,
    pub description: String,
    pub corrections: Vec<CorrectionView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlaybookView {
    pub id: String,
    pub name: String,
    pub version: u32,
    pub last_reviewed: Option<String>,
    pub last_tested: Option<String>,
}

/// An incident with its steps, roles and timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentView {
    pub id: Uuid,
    pub codename: String,
    pub title: String,
    pub kind: String,
    pub severity: String,
    pub status: String,
    pub restricted: bool,
    pub summary: Option<String>,
    pub declared_by: String,
    pub declared_at: String,
    pub updated_at: String,
    pub commander: Option<String>,
    pub members: Vec<MemberView>,
    pub playbook: PlaybookView,
    pub steps: Vec<StepView>,
    pub approvals: Vec<ApprovalView>,
    pub resolution: Option<String>,
    pub resolved_at: Option<String>,
    pub closed_at: Option<String>,
    /// Ordered by when things happened (after corrections), then by sequence.
    pub timeline: Vec<TimelineView>,
    /// Number of ledger events.
    pub events: u64,
    /// Recorded reads of this (restricted) incident among them; every read adds one.
    pub reads: u64,
    /// Evidence items (details at `/evidence`).
    pub evidence: u64,
    /// Update cadence (last update, next due, overdue) and notification deadlines, evaluated
    /// when the response was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub communications: Option<palisade_core::comms::CommsStatus>,
    /// Postmortem status, due date and overdue flag, evaluated when the response was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub postmortem: Option<palisade_core::postmortem::PostmortemSummary>,
}

fn s<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(|x| x.to_string())
}

impl From<&IncidentState> for IncidentView {
    fn from(st: &IncidentState) -> Self {
        IncidentView {
            id: st.id,
            codename: st.codename.clone(),
            title: st.title.clone(),
            kind: st.kind.to_string(),
            severity: st.severity.to_string(),
            status: st.status.to_string(),
            restricted: st.restricted,
            summary: st.summary.clone(),
            declared_by: st.declared_by.to_string(),
            declared_at: st.declared_at.to_string(),
            updated_at: st.updated_at.to_string(),
            commander: st.commander().map(|c| c.to_string()),
            members: st
                .members
                .iter()
                .map(|(u, roles)| MemberView {
                    user: u.to_string(),
                    roles: roles.iter().map(|r| r.to_string()).collect(),
                })
                .collect(),
            playbook: PlaybookView {
                id: st.playbook.id.clone(),
                name: st.playbook.name.clone(),
                version: st.playbook.version,
                last_reviewed: st.playbook.last_reviewed.clone(),
                last_tested: st.playbook.last_tested.clone(),
            },
            steps: st
                .steps
                .iter()
                .map(|x| {
                    let def = st.playbook.step(x.n);
                    StepView {
                        n: x.n,
                        title: x.title.clone(),
                        owner: x.owner.clone(),
                        status: x.status.as_str().to_string(),
                        started_at: s(&x.started_at),
                        started_by: s(&x.started_by),
                        settled_at: s(&x.settled_at),
                        settled_by: s(&x.settled_by),
                        waiver_reason: x.waiver_reason.clone(),
                        notes: x.notes.clone(),
                        requires: def.map(|d| d.requires.clone()).unwrap_or_default(),
                        requires_done: def.map(|d| d.requires_done.clone()).unwrap_or_default(),
                        requires_approval: def
                            .map(|d| d.requires_approval.clone())
                            .unwrap_or_default(),
                    }
                })
                .collect(),
            approvals: st
                .approvals
                .iter()
                .map(|(id, a)| ApprovalView {
                    approval: id.clone(),
                    by: a.by.to_string(),
                    at: a.at.to_string(),
                    note: a.note.clone(),
                })
                .collect(),
            resolution: st.resolution.clone(),
            resolved_at: s(&st.resolved_at),
            closed_at: s(&st.closed_at),
            timeline: st
                .timeline_by_occurrence()
                .into_iter()
                .map(|t| TimelineView {
                    seq: t.seq,
                    kind: t.kind.clone(),
                    actor: t.actor.to_string(),
                    occurred_at: t.occurred_at.to_string(),
                    recorded_at: t.recorded_at.to_string(),
                    effective_occurred_at: t.effective_occurred_at().to_string(),
                    description: t.description.clone(),
                    corrections: t
                        .corrections
                        .iter()
                        .map(|c| CorrectionView {
                            seq: c.seq,
                            by: c.by.to_string(),
                            recorded_at: c.recorded_at.to_string(),
                            reason: c.reason.clone(),
                            occurred_at: s(&c.occurred_at),
                            text: c.text.clone(),
                        })
                        .collect(),
                })
                .collect(),
            events: st.last_seq,
            reads: st.reads,
            evidence: st.evidence.len() as u64,
            communications: None,
            postmortem: None,
        }
    }
}

/// One ledger row with its chain hashes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerRow {
    pub seq: u64,
    /// The canonical event body (the hashed bytes), parsed.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<StoredEvent> for LedgerRow {
    fn from(r: StoredEvent) -> Self {
        LedgerRow {
            seq: r.seq,
            event: serde_json::from_str(&r.body).unwrap_or(serde_json::Value::String(r.body)),
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerView {
    pub incident: Uuid,
    pub events: Vec<LedgerRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub backend: String,
    pub version: String,
}
