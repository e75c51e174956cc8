//! What the application layer needs of an aggregate beyond the core's [`Aggregate`]: where its
//! folded states are cached, its policy, its listing projection, how a reference names it, and
//! which other things (users) its commands refer to.

use crate::{Inner, cache::StateCache};
use palisade_core::alert::AlertState;
use palisade_core::change::ChangeState;
use palisade_core::deployment::{DEPLOYMENT_ID, DeploymentState};
use palisade_core::escalation::{
    CreateEscalation, ESCALATION_NAME_KEY, EscalationCommand, EscalationState, targets_named,
};
use palisade_core::finding::{FINDING_KEY, FindingState, Presence, SCAN_KEY, ScanState};
use palisade_core::incident::{Command, Declare};
use palisade_core::person::{CreatePerson, PERSON_KEY, PersonState};
use palisade_core::schedule::{CreateSchedule, SCHEDULE_NAME_KEY, ScheduleCommand, ScheduleState};
use palisade_core::service::ServiceState;
use palisade_core::team::{TEAM_NAME_KEY, TeamCommand, TeamState};
use palisade_core::types::ResourceName;
use palisade_core::{Aggregate, IncidentState, UserName};
use palisade_maturity::stream::AssessmentState;
use palisade_store::{
    IncidentProjection, Projection, RecordProjection, ServiceProjection, Store, StreamKey,
};
use palisade_training::ctf::stream::{CtfCommand, CtfEventState};
use std::future::Future;
use uuid::Uuid;

/// An aggregate the application keeps on the ledger.
pub trait Kept: Aggregate {
    /// What people call it ("incident", "service"), for messages.
    const NOUN: &'static str;
    /// How many times a creation is tried with a fresh `Create` when a unique name it chose is
    /// taken (an incident's random codename); 1 when the name is the user's.
    const CREATE_ATTEMPTS: u32 = 1;

    fn cache(app: &Inner) -> &StateCache<Self>;
    fn policy(app: &Inner) -> &Self::Policy;
    /// The listing row written with its events.
    fn projection(&self) -> Option<Projection>;
    /// The stream a user's reference (an id, a codename, a name) names.
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a;
    /// Users a command names, who must exist (checked after visibility, so a non-member learns
    /// nothing about accounts from a refusal).
    fn users_named(_cmd: &Self::Command) -> Vec<UserName> {
        Vec::new()
    }
    /// Whether counts about this stream may be shown to everyone (metrics): not for restricted
    /// incidents, whose existence is their members' to know.
    fn counted(&self) -> bool {
        true
    }
    /// Every unique key the stream holds in this state (an integration key's hash, an open
    /// alert's deduplication key), written with its events; `None` for aggregates that hold
    /// none.
    fn keys(&self) -> Option<Vec<palisade_store::StreamKey>> {
        None
    }
    /// Users a creation names, who must exist.
    fn users_named_at_creation(_create: &Self::Create) -> Vec<UserName> {
        Vec::new()
    }
    /// Other streams (schedules, policies, …) a command names by name, which must exist.
    fn references(_cmd: &Self::Command) -> Vec<Reference> {
        Vec::new()
    }
    /// Other streams a creation names, which must exist.
    fn references_at_creation(_create: &Self::Create) -> Vec<Reference> {
        Vec::new()
    }
}

/// A stream of another aggregate that a command names, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Schedule(ResourceName),
    Escalation(ResourceName),
    Team(ResourceName),
}

impl Kept for IncidentState {
    const NOUN: &'static str = "incident";
    const CREATE_ATTEMPTS: u32 = 20;

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.incidents
    }
    fn policy(app: &Inner) -> &Self::Policy {
        &app.comms
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Incident(IncidentProjection::from_state(self)))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        store.resolve_incident(reference)
    }
    fn users_named(cmd: &Command) -> Vec<UserName> {
        use palisade_core::custody::EvidenceCommand;
        use palisade_core::postmortem::PostmortemCommand;
        match cmd {
            Command::AssignRole { user, .. } => vec![user.clone()],
            Command::Evidence(EvidenceCommand::Transfer { to, .. }) => vec![to.clone()],
            Command::Postmortem(PostmortemCommand::AddActionItem { owner, .. }) => {
                vec![owner.clone()]
            }
            _ => Vec::new(),
        }
    }
    /// Restricted incidents are not counted, and neither are drills: they are not real
    /// incidents and never move the real figures.
    fn counted(&self) -> bool {
        !self.restricted && self.drill.is_none()
    }
    fn users_named_at_creation(d: &Declare) -> Vec<UserName> {
        let participants = d.drill.iter().flat_map(|m| m.participants.iter());
        d.commander.iter().chain(participants).cloned().collect()
    }
}

impl Kept for DeploymentState {
    const NOUN: &'static str = "deployment log";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.deployment
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    /// Nothing lists it: there is one.
    fn projection(&self) -> Option<Projection> {
        None
    }
    // The trait promises `Send`, which an `async fn` here could not state.
    #[allow(clippy::manual_async_fn)]
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        async move {
            let id = DEPLOYMENT_ID;
            if reference != id.to_string() {
                return Ok(None);
            }
            Ok(store.stream(id).await?.map(|_| id))
        }
    }
}

impl Kept for ServiceState {
    const NOUN: &'static str = "service";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.services
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Service(ServiceProjection::from_state(self)))
    }
    /// Each active integration's routing key hash names the service.
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(
            self.active_integrations()
                .map(|i| StreamKey::new(palisade_core::service::INTEGRATION_KEY, &i.key_hash))
                .collect(),
        )
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        store.resolve_service(reference)
    }
}

/// A stream found by its id in the records projection (aggregates without a table of their
/// own are named by id).
async fn record_id(store: &Store, reference: &str) -> palisade_store::Result<Option<Uuid>> {
    let Ok(id) = Uuid::parse_str(reference) else {
        return Ok(None);
    };
    Ok(store.record(id).await?.map(|r| r.id))
}

impl Kept for AlertState {
    const NOUN: &'static str = "alert";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.alerts
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: Some(self.service),
            status: self.status.as_str().to_string(),
            sort_us: self.triggered_at.unix_micros(),
            summary: crate::alerts::AlertSummary::of(self).to_json(),
        }))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        record_id(store, reference)
    }
    /// An open alert holds its (service, dedup_key): one open alert per key.
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(match self.status {
            palisade_core::alert::AlertStatus::Resolved => Vec::new(),
            _ => vec![StreamKey::new(
                crate::alerts::ALERT_OPEN,
                AlertState::open_key(self.service, &self.dedup_key),
            )],
        })
    }
}

impl Kept for ChangeState {
    const NOUN: &'static str = "change event";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.changes
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: Some(self.service),
            status: "recorded".to_string(),
            sort_us: self.recorded_at.unix_micros(),
            summary: serde_json::json!({
                "id": self.id,
                "service": self.service,
                "summary": self.details.summary,
                "source": self.details.source,
                "timestamp": self.details.timestamp,
                "recorded_at": self.recorded_at.to_string(),
                "integration": self.origin.as_ref().map(|o| &o.name),
            })
            .to_string(),
        }))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        record_id(store, reference)
    }
}

/// A stream named by its id, or by the unique name it holds under `namespace` in the stream keys.
async fn named(
    store: &Store,
    namespace: &str,
    reference: &str,
) -> palisade_store::Result<Option<Uuid>> {
    if Uuid::parse_str(reference).is_ok() {
        return record_id(store, reference).await;
    }
    match palisade_core::types::ResourceName::parse(reference) {
        Ok(name) => {
            store
                .stream_by_key(StreamKey::new(namespace, name.as_str()))
                .await
        }
        Err(_) => Ok(None),
    }
}

impl Kept for ScheduleState {
    const NOUN: &'static str = "schedule";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.schedules
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: None,
            status: "active".to_string(),
            sort_us: self.created_at.unix_micros(),
            summary: crate::schedules::ScheduleSummary::of(self).to_json(),
        }))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        named(store, SCHEDULE_NAME_KEY, reference)
    }
    /// Its name, unique among schedules.
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(vec![StreamKey::new(SCHEDULE_NAME_KEY, self.name.as_str())])
    }
    fn users_named(cmd: &ScheduleCommand) -> Vec<UserName> {
        cmd.users()
    }
    fn users_named_at_creation(create: &CreateSchedule) -> Vec<UserName> {
        create.users()
    }
}

fn schedules(levels: &[palisade_core::escalation::Level]) -> Vec<Reference> {
    targets_named(levels)
        .1
        .into_iter()
        .map(Reference::Schedule)
        .collect()
}

impl Kept for EscalationState {
    const NOUN: &'static str = "escalation policy";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.escalations
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: None,
            status: "active".to_string(),
            sort_us: self.created_at.unix_micros(),
            summary: serde_json::json!({
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "levels": self.levels.len(),
                "repeat": self.repeat,
                "keep_paging_after_ack": self.keep_paging_after_ack,
                "updated_at": self.updated_at.to_string(),
            })
            .to_string(),
        }))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        named(store, ESCALATION_NAME_KEY, reference)
    }
    /// Its name, unique among policies (a rename releases the old one).
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(vec![StreamKey::new(
            ESCALATION_NAME_KEY,
            self.name.as_str(),
        )])
    }
    fn users_named(cmd: &EscalationCommand) -> Vec<UserName> {
        targets_named(cmd.levels()).0
    }
    fn users_named_at_creation(create: &CreateEscalation) -> Vec<UserName> {
        targets_named(&create.levels).0
    }
    fn references(cmd: &EscalationCommand) -> Vec<Reference> {
        schedules(cmd.levels())
    }
    fn references_at_creation(create: &CreateEscalation) -> Vec<Reference> {
        schedules(&create.levels)
    }
}

impl Kept for TeamState {
    const NOUN: &'static str = "team";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.teams
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: None,
            status: "active".to_string(),
            sort_us: self.created_at.unix_micros(),
            summary: serde_json::json!({
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "members": self.members.len(),
                "updated_at": self.updated_at.to_string(),
            })
            .to_string(),
        }))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        named(store, TEAM_NAME_KEY, reference)
    }
    /// Its name, unique among teams (a rename releases the old one).
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(vec![StreamKey::new(TEAM_NAME_KEY, self.name.as_str())])
    }
    fn users_named(cmd: &TeamCommand) -> Vec<UserName> {
        match cmd {
            TeamCommand::SetMember { user, .. } => vec![user.clone()],
            _ => Vec::new(),
        }
    }
}

impl Kept for CtfEventState {
    const NOUN: &'static str = "CTF event";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.ctfs
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: None,
            status: "active".to_string(),
            sort_us: self.ctf.config.start.unix_micros(),
            summary: serde_json::to_string(&crate::ctf::CtfSummary::of(self)).unwrap_or_default(),
        }))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        named(store, palisade_core::ctf::CTF_NAME_KEY, reference)
    }
    /// Its name, unique among events.
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(vec![StreamKey::new(
            palisade_core::ctf::CTF_NAME_KEY,
            self.name.as_str(),
        )])
    }
    /// An account's members are users of the deployment.
    fn users_named(cmd: &CtfCommand) -> Vec<UserName> {
        match cmd {
            CtfCommand::Register { members, .. } => members.clone(),
            _ => Vec::new(),
        }
    }
}

impl Kept for AssessmentState {
    const NOUN: &'static str = "assessment";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.assessments
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: None,
            status: "active".to_string(),
            sort_us: self.created_at.unix_micros(),
            summary: serde_json::to_string(&crate::assessments::AssessmentSummary::of(self))
                .unwrap_or_default(),
        }))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        named(
            store,
            palisade_core::assessment::ASSESSMENT_NAME_KEY,
            reference,
        )
    }
    /// Its name, unique among assessments.
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(vec![StreamKey::new(
            palisade_core::assessment::ASSESSMENT_NAME_KEY,
            self.name.as_str(),
        )])
    }
}

impl Kept for PersonState {
    const NOUN: &'static str = "person";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.people
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: None,
            status: "active".to_string(),
            sort_us: self.updated_at.unix_micros(),
            summary: serde_json::json!({
                "id": self.id,
                "user": self.user,
                "contacts": self.contacts.len(),
                "rules": self.rules.len(),
            })
            .to_string(),
        }))
    }
    /// By id, or by the user's name.
    // The trait promises `Send`, which an `async fn` here could not state.
    #[allow(clippy::manual_async_fn)]
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        async move {
            if Uuid::parse_str(reference).is_ok() {
                return record_id(store, reference).await;
            }
            match UserName::parse(reference) {
                Ok(u) => {
                    store
                        .stream_by_key(StreamKey::new(PERSON_KEY, u.as_str()))
                        .await
                }
                Err(_) => Ok(None),
            }
        }
    }
    /// One stream per user.
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(vec![StreamKey::new(PERSON_KEY, self.user.as_str())])
    }
    fn users_named_at_creation(create: &CreatePerson) -> Vec<UserName> {
        vec![create.user.clone()]
    }
}

impl Kept for FindingState {
    const NOUN: &'static str = "finding";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.findings
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    /// Listed under its scan (a run compares with its own scan's findings only; a service's
    /// are its scans'), by whether the scan still reports it; the row is the state without its
    /// history (the gate and lists read status, dates and marks from it).
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: Some(self.scan),
            status: match self.presence {
                Presence::Open => "open",
                Presence::Fixed => "fixed",
            }
            .to_string(),
            sort_us: self.first_seen.unix_micros(),
            summary: crate::findings::row_of(self),
        }))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        record_id(store, reference)
    }
    /// One finding per scan and fingerprint, for good (a fixed finding that returns reopens).
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(vec![StreamKey::new(
            FINDING_KEY,
            crate::findings::finding_key(self.scan, &self.observed.fingerprint),
        )])
    }
}

impl Kept for ScanState {
    const NOUN: &'static str = "scan";

    fn cache(app: &Inner) -> &StateCache<Self> {
        &app.scans
    }
    fn policy(_: &Inner) -> &Self::Policy {
        &()
    }
    fn projection(&self) -> Option<Projection> {
        Some(Projection::Record(RecordProjection {
            parent: Some(self.service),
            status: self.phase.as_str().to_string(),
            sort_us: self.last_run_at.unwrap_or(self.created_at).unix_micros(),
            summary: crate::findings::scan_row_of(self),
        }))
    }
    fn resolve<'a>(
        store: &'a Store,
        reference: &'a str,
    ) -> impl Future<Output = palisade_store::Result<Option<Uuid>>> + Send + 'a {
        record_id(store, reference)
    }
    fn keys(&self) -> Option<Vec<StreamKey>> {
        Some(vec![StreamKey::new(SCAN_KEY, self.key())])
    }
}
