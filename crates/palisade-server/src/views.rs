//! Response bodies of the HTTP API shared by several routes (each route module declares its own
//! request bodies, which refuse unknown fields).

use palisade_core::service::ServiceName;
use palisade_core::{
    AccountRole, IncidentState, Kind, Role, Severity, Status, Timestamp, UserName,
};
use palisade_store::{IncidentSummary, ServiceSummary, StoredEvent, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use uuid::Uuid;

// The view types hold plain strings (as rendered by the core's `Display`), so their documented
// schemas name the core type whose spelling they carry (`value_type`): enums for severities,
// kinds, statuses and roles, date-times for times, patterns for user names.

/// A string that is one of `values`.
pub(crate) fn string_enum(values: &[&str], description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .into()
}

/// A step's status.
fn step_status() -> RefOr<Schema> {
    string_enum(
        &["pending", "in_progress", "done", "waived"],
        "pending, in_progress, done or waived.",
    )
}

/// A SHA-256 hash of the ledger chain, in lower-case hex.
fn chain_hash() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9a-f]{64}$"))
        .description(Some("SHA-256, lower-case hex."))
        .into()
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
    #[schema(example = "tok_0123456789abcdef")]
    pub id: String,
    #[schema(value_type = UserName)]
    pub user: String,
    #[schema(value_type = AccountRole)]
    pub role: String,
    pub label: String,
    #[schema(value_type = Timestamp)]
    pub created_at: String,
    #[schema(value_type = Option<Timestamp>)]
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
    #[schema(value_type = UserName)]
    pub user: String,
    #[schema(value_type = AccountRole)]
    pub role: String,
    pub token_id: String,
}

/// One row of the incident list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentListItem {
    pub id: Uuid,
    pub codename: String,
    pub title: String,
    #[schema(value_type = Kind)]
    pub kind: String,
    #[schema(value_type = Severity)]
    pub severity: String,
    #[schema(value_type = Status)]
    pub status: String,
    pub restricted: bool,
    #[schema(value_type = Option<UserName>)]
    pub commander: Option<String>,
    #[schema(value_type = Timestamp)]
    pub declared_at: String,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
    /// Number of ledger events.
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
    #[schema(value_type = UserName)]
    pub user: String,
    #[schema(value_type = Vec<Role>)]
    pub roles: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    #[schema(minimum = 1)]
    pub n: u32,
    pub title: String,
    pub owner: Option<String>,
    #[schema(schema_with = step_status)]
    pub status: String,
    #[schema(value_type = Option<Timestamp>)]
    pub started_at: Option<String>,
    #[schema(value_type = Option<UserName>)]
    pub started_by: Option<String>,
    #[schema(value_type = Option<Timestamp>)]
    pub settled_at: Option<String>,
    #[schema(value_type = Option<UserName>)]
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
    #[schema(value_type = UserName)]
    pub by: String,
    #[schema(value_type = Timestamp)]
    pub at: String,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CorrectionView {
    /// The correction's own sequence number.
    #[schema(minimum = 1)]
    pub seq: u64,
    #[schema(value_type = UserName)]
    pub by: String,
    #[schema(value_type = Timestamp)]
    pub recorded_at: String,
    pub reason: String,
    /// The corrected time, when the correction gave one.
    #[schema(value_type = Option<Timestamp>)]
    pub occurred_at: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineView {
    #[schema(minimum = 1)]
    pub seq: u64,
    /// The event's `type` (e.g. `note_added`).
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = UserName)]
    pub actor: String,
    /// As reported (with the offset it was reported in).
    #[schema(value_type = Timestamp)]
    pub occurred_at: String,
    /// As recorded by the server (UTC).
    #[schema(value_type = Timestamp)]
    pub recorded_at: String,
    /// After corrections.
    #[schema(value_type = Timestamp)]
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
    #[schema(value_type = Kind)]
    pub kind: String,
    #[schema(value_type = Severity)]
    pub severity: String,
    #[schema(value_type = Status)]
    pub status: String,
    pub restricted: bool,
    pub summary: Option<String>,
    #[schema(value_type = UserName)]
    pub declared_by: String,
    #[schema(value_type = Timestamp)]
    pub declared_at: String,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
    #[schema(value_type = Option<UserName>)]
    pub commander: Option<String>,
    pub members: Vec<MemberView>,
    pub playbook: PlaybookView,
    pub steps: Vec<StepView>,
    pub approvals: Vec<ApprovalView>,
    pub resolution: Option<String>,
    #[schema(value_type = Option<Timestamp>)]
    pub resolved_at: Option<String>,
    #[schema(value_type = Option<Timestamp>)]
    pub closed_at: Option<String>,
    /// A page of the timeline (`GET /incidents/{incident}?after=SEQ&limit=N`): the entries
    /// recorded after sequence number `after`, at most `limit` of them (default 500), ordered
    /// by when things happened (after corrections), then by sequence. Absent from a command's
    /// answer, which carries `appended` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineView>>,
    /// Present when the timeline has more entries than this page: ask again with
    /// `?after=` this sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub timeline_next_after: Option<u64>,
    /// In a command's answer: the timeline entries the command added or corrected, in
    /// sequence order (the rest of the timeline is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appended: Option<Vec<TimelineView>>,
    /// Number of ledger events.
    pub events: u64,
    /// Recorded reads of this (restricted) incident among them; every read adds one.
    pub reads: u64,
    /// Evidence items (details at `/evidence`).
    pub evidence: u64,
    /// Update cadence (last update, next due, overdue) and notification deadlines, evaluated
    /// when the response was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communications: Option<palisade_core::comms::CommsStatus>,
    /// Postmortem status, due date and overdue flag, evaluated when the response was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmortem: Option<palisade_core::postmortem::PostmortemSummary>,
    /// Present only on a drill: not a real incident (kept out of metrics, notices only to its
    /// participants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillView>,
    /// The alert it was declared from, and that alert's service (its changes around the
    /// incident: `GET /incidents/{incident}/changes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_alert: Option<palisade_core::incident::AlertOrigin>,
}

/// What marks an incident as a drill.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DrillView {
    /// The scenario's id.
    pub scenario: String,
    /// Started from a scenario file of its own rather than a shipped one (the file is on the
    /// ledger, not shown here: it holds what is still to come).
    pub custom: bool,
    /// Who takes part, by name.
    #[schema(value_type = Vec<UserName>)]
    pub participants: Vec<String>,
    /// Injections released so far.
    pub injected: Vec<InjectedView>,
}

/// An injection released to a drill.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InjectedView {
    pub injection: String,
    /// `alert`, `evidence`, `status` or `discovery`.
    pub kind: String,
    #[schema(value_type = Timestamp)]
    pub due_at: String,
    #[schema(value_type = Timestamp)]
    pub released_at: String,
    pub text: String,
}

impl From<&palisade_core::drill::Injected> for InjectedView {
    fn from(i: &palisade_core::drill::Injected) -> Self {
        InjectedView {
            injection: i.injection.clone(),
            kind: i.kind.clone(),
            due_at: i.due_at.to_string(),
            released_at: i.released_at.to_string(),
            text: i.text.clone(),
        }
    }
}

impl DrillView {
    pub fn of(st: &IncidentState) -> Option<DrillView> {
        st.drill.as_ref().map(|d| DrillView {
            scenario: d.scenario.clone(),
            custom: d.source.is_some(),
            participants: d.participants.iter().map(ToString::to_string).collect(),
            injected: st.injected.iter().map(InjectedView::from).collect(),
        })
    }
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
            timeline: None,
            timeline_next_after: None,
            appended: None,
            events: st.last_seq,
            reads: st.reads,
            evidence: st.evidence.len() as u64,
            communications: None,
            postmortem: None,
            drill: DrillView::of(st),
            from_alert: st.from_alert.clone(),
        }
    }
}

fn timeline_entry(t: &palisade_core::incident::TimelineEntry) -> TimelineView {
    TimelineView {
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
    }
}

/// Timeline entries per page when the request does not say.
pub const TIMELINE_PAGE: u64 = 500;
/// The most a request may ask for.
pub const TIMELINE_PAGE_MAX: u64 = 10_000;

impl IncidentView {
    /// The view with one page of the timeline: the entries with a sequence number above
    /// `after`, the first `limit` of them by sequence, ordered by occurrence within the page.
    pub fn with_timeline_page(mut self, st: &IncidentState, after: u64, limit: u64) -> Self {
        let mut page: Vec<&palisade_core::incident::TimelineEntry> =
            st.timeline.iter().filter(|t| t.seq > after).collect();
        page.sort_by_key(|t| t.seq);
        if page.len() as u64 > limit {
            page.truncate(limit as usize);
            self.timeline_next_after = page.last().map(|t| t.seq);
        }
        page.sort_by_key(|t| (t.effective_occurred_at(), t.seq));
        self.timeline = Some(page.into_iter().map(timeline_entry).collect());
        self
    }

    /// The view as a command's answer: the entries whose event or correction has a sequence
    /// number above `before` (what the command appended), in sequence order.
    pub fn with_appended(mut self, st: &IncidentState, before: u64) -> Self {
        let mut added: Vec<&palisade_core::incident::TimelineEntry> = st
            .timeline
            .iter()
            .filter(|t| t.seq > before || t.corrections.iter().any(|c| c.seq > before))
            .collect();
        added.sort_by_key(|t| t.seq);
        self.appended = Some(added.into_iter().map(timeline_entry).collect());
        self
    }
}

/// An incident's event (a plain name, as the schema derive takes no generic `value_type`).
type IncidentEvent = palisade_core::Event<palisade_core::Payload>;

/// One ledger row with its chain hashes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerRow {
    #[schema(minimum = 1)]
    pub seq: u64,
    /// The canonical event body (the hashed bytes), parsed.
    #[schema(value_type = IncidentEvent)]
    pub event: serde_json::Value,
    /// The previous event's hash (all zeros before the first).
    #[schema(schema_with = chain_hash)]
    pub prev_hash: String,
    /// SHA-256 over `prev_hash` and the canonical body.
    #[schema(schema_with = chain_hash)]
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

/// One row of the service list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ServiceListItem {
    pub id: Uuid,
    #[schema(value_type = ServiceName)]
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Timestamp)]
    pub created_at: String,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
    /// Number of ledger events.
    pub events: u64,
}

impl From<ServiceSummary> for ServiceListItem {
    fn from(s: ServiceSummary) -> Self {
        ServiceListItem {
            id: s.id,
            name: s.name,
            description: s.description,
            created_at: s.created_at,
            updated_at: s.updated_at,
            events: s.last_seq,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ServiceList {
    pub services: Vec<ServiceListItem>,
}

/// One line of a service's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ServiceHistoryView {
    #[schema(minimum = 1)]
    pub seq: u64,
    /// The event's `type` (`created`, `renamed`).
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = UserName)]
    pub actor: String,
    #[schema(value_type = Timestamp)]
    pub recorded_at: String,
    pub description: String,
}

/// A service with its history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ServiceView {
    pub id: Uuid,
    #[schema(value_type = ServiceName)]
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = UserName)]
    pub created_by: String,
    #[schema(value_type = Timestamp)]
    pub created_at: String,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
    /// Number of ledger events.
    pub events: u64,
    /// Integrations monitoring sends alerts through (revoked ones included; routing keys are
    /// shown only when an integration is added).
    pub integrations: Vec<IntegrationView>,
    /// The owning team (its name as it is now on `show`).
    pub owner: Option<palisade_core::service::Link>,
    /// 1 (most critical) to 4.
    #[schema(minimum = 1, maximum = 4)]
    pub tier: Option<u8>,
    /// Its own days to fix findings by severity (`null`: the deployment's).
    pub finding_sla: Option<FindingSlaView>,
    pub runbooks: Vec<RunbookView>,
    /// The escalation policy its alerts follow.
    pub escalation_policy: Option<palisade_core::service::Link>,
    /// Maintenance windows, past and future (removed ones are gone).
    pub maintenance: Vec<MaintenanceView>,
    pub history: Vec<ServiceHistoryView>,
}

/// Days to fix a finding by severity, counted from when it was first seen.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingSlaView {
    #[schema(minimum = 1, maximum = 3650)]
    pub critical: u32,
    #[schema(minimum = 1, maximum = 3650)]
    pub high: u32,
    #[schema(minimum = 1, maximum = 3650)]
    pub medium: u32,
    #[schema(minimum = 1, maximum = 3650)]
    pub low: u32,
    /// Informational findings have no due date unless this is set.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub info: Option<u32>,
}

impl From<palisade_core::finding::SlaDays> for FindingSlaView {
    fn from(d: palisade_core::finding::SlaDays) -> Self {
        FindingSlaView {
            critical: d.critical,
            high: d.high,
            medium: d.medium,
            low: d.low,
            info: d.info,
        }
    }
}

impl From<FindingSlaView> for palisade_core::finding::SlaDays {
    fn from(d: FindingSlaView) -> Self {
        palisade_core::finding::SlaDays {
            critical: d.critical,
            high: d.high,
            medium: d.medium,
            low: d.low,
            info: d.info,
        }
    }
}

/// A runbook link.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunbookView {
    pub url: String,
    pub title: Option<String>,
}

/// A maintenance window.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceView {
    #[schema(minimum = 1)]
    pub n: u32,
    #[schema(value_type = Timestamp)]
    pub from: String,
    #[schema(value_type = Timestamp)]
    pub to: String,
    pub reason: String,
    #[schema(value_type = UserName)]
    pub added_by: String,
}

/// An integration of a service.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntegrationView {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = String, example = "events_v2")]
    pub kind: String,
    #[schema(value_type = UserName)]
    pub added_by: String,
    #[schema(value_type = Timestamp)]
    pub added_at: String,
    #[schema(value_type = Option<Timestamp>)]
    pub revoked_at: Option<String>,
}

impl From<&palisade_core::service::Integration> for IntegrationView {
    fn from(i: &palisade_core::service::Integration) -> Self {
        IntegrationView {
            id: i.id,
            name: i.name.clone(),
            kind: i.kind.as_str().to_string(),
            added_by: i.added_by.to_string(),
            added_at: i.added_at.to_string(),
            revoked_at: i.revoked_at.map(|t| t.to_string()),
        }
    }
}

/// One line of a stream's history (schedules, and the aggregates after them).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryView {
    #[schema(minimum = 1)]
    pub seq: u64,
    /// The event's `type`, as docs/ledger-format.md lists them.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = UserName)]
    pub actor: String,
    #[schema(value_type = Timestamp)]
    pub recorded_at: String,
    pub description: String,
}

impl From<&palisade_core::aggregate::HistoryEntry> for HistoryView {
    fn from(h: &palisade_core::aggregate::HistoryEntry) -> Self {
        HistoryView {
            seq: h.seq,
            kind: h.kind.clone(),
            actor: h.actor.to_string(),
            recorded_at: h.recorded_at.to_string(),
            description: h.description.clone(),
        }
    }
}

impl From<&palisade_core::ServiceState> for ServiceView {
    fn from(st: &palisade_core::ServiceState) -> Self {
        ServiceView {
            id: st.id,
            name: st.name.to_string(),
            description: st.description.clone(),
            created_by: st.created_by.to_string(),
            created_at: st.created_at.to_string(),
            updated_at: st.updated_at.to_string(),
            events: st.last_seq,
            integrations: st.integrations.iter().map(IntegrationView::from).collect(),
            owner: st.owner.clone(),
            tier: st.tier,
            finding_sla: st.finding_sla.map(FindingSlaView::from),
            runbooks: st
                .runbooks
                .iter()
                .map(|r| RunbookView {
                    url: r.url.clone(),
                    title: r.title.clone(),
                })
                .collect(),
            escalation_policy: st.escalation_policy.clone(),
            maintenance: st
                .maintenance
                .iter()
                .map(|m| MaintenanceView {
                    n: m.n,
                    from: m.from.to_string(),
                    to: m.to.to_string(),
                    reason: m.reason.clone(),
                    added_by: m.added_by.to_string(),
                })
                .collect(),
            history: st
                .history
                .iter()
                .map(|h| ServiceHistoryView {
                    seq: h.seq,
                    kind: h.kind.clone(),
                    actor: h.actor.to_string(),
                    recorded_at: h.recorded_at.to_string(),
                    description: h.description.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
    /// The storage backend: `sqlite` or `postgres`.
    pub backend: String,
    pub version: String,
    /// Free bytes on the disk holding the database (SQLite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_disk_free_bytes: Option<u64>,
    /// Free bytes on the disk holding the evidence (when it is kept on a local disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_disk_free_bytes: Option<u64>,
    /// What will stop writes soon if nobody acts (a nearly full disk).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
