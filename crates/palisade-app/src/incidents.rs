//! Incident use cases beyond the generic pipeline: declaring (playbook choice, codenames),
//! listing, and reads that return the ledger itself.

use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use crate::{App, Kept};
use palisade_core::incident::{Declaration, Declare};
use palisade_core::{Actor, Event, IncidentState, Kind, Severity, Timestamp, UserName};
use palisade_store::{IncidentSummary, ListFilter, StoredEvent};
use serde::Serialize;
use uuid::Uuid;

/// What someone declares.
#[derive(Debug, Clone)]
pub struct DeclareInput {
    pub title: String,
    /// Security (the default) or operational.
    pub kind: Option<Kind>,
    pub severity: Severity,
    /// Default: restricted for security incidents, open otherwise.
    pub restricted: Option<bool>,
    pub summary: Option<String>,
    /// A playbook id; default: the built-in playbook of the kind.
    pub playbook: Option<String>,
    /// A user to make Incident Commander right away.
    pub commander: Option<UserName>,
    /// When the organisation became aware; starts the notification deadlines.
    pub aware_at: Option<Timestamp>,
}

/// What a `declared` event records besides the declaration.
#[derive(Debug, Clone, Default)]
pub(crate) struct Marks {
    /// A drill's scenario and participants.
    pub drill: Option<palisade_core::drill::DrillMarker>,
    /// The alert the incident is declared from, and its service.
    pub from_alert: Option<palisade_core::incident::AlertOrigin>,
}

/// Change events shown with an incident: of the service its alert came from, from four hours
/// before it was declared until it closed (or now).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentChanges {
    /// The service, when the incident was declared from one of its alerts.
    pub service: Option<String>,
    pub from: Timestamp,
    pub to: Timestamp,
    /// The changes' listing rows, newest first.
    pub changes: Vec<serde_json::Value>,
}

/// How long before an incident's declaration a change is shown with it.
pub const CHANGES_BEFORE: time::Duration = time::Duration::hours(4);

impl App {
    /// The change events around an incident (the read is recorded as any read of it is).
    pub async fn incident_changes(
        &self,
        actor: &Actor,
        reference: &str,
        via: &str,
    ) -> Result<(IncidentState, IncidentChanges)> {
        let st = self
            .read::<IncidentState>(actor, reference, "changes", via)
            .await?;
        let changes = self.changes_around(&st).await?;
        Ok((st, changes))
    }

    /// The change events around an incident already read (nothing is recorded).
    pub async fn changes_around(&self, st: &IncidentState) -> Result<IncidentChanges> {
        let from = Timestamp::from_datetime(st.declared_at.utc() - CHANGES_BEFORE);
        let to = st.closed_at.unwrap_or_else(crate::now);
        let Some(origin) = st.from_alert.clone() else {
            return Ok(IncidentChanges {
                service: None,
                from,
                to,
                changes: Vec::new(),
            });
        };
        let rows = self
            .inner
            .store
            .list_records(palisade_store::RecordFilter {
                kind: palisade_core::StreamKind::Change,
                parent: Some(origin.service),
                status: None,
                before_us: Some(to.unix_micros() + 1),
                limit: 200,
            })
            .await?;
        let mut changes = Vec::new();
        for r in rows {
            if r.sort_us < from.unix_micros() {
                break;
            }
            changes.push(
                serde_json::from_str(&r.summary)
                    .map_err(|e| AppError::internal("a change's listing row does not parse", e))?,
            );
        }
        Ok(IncidentChanges {
            service: Some(origin.service_name),
            from,
            to,
            changes,
        })
    }

    /// Declare an incident: any account but a viewer may, under an innocuous codename chosen at
    /// random (another is tried if it is taken).
    pub async fn declare(
        &self,
        actor: &Actor,
        input: DeclareInput,
        opts: &Options,
        render: Option<Render<'_, IncidentState>>,
    ) -> Result<Outcome<IncidentState>> {
        self.declare_as(actor, None, input, opts, render).await
    }

    /// [`Self::declare`] under an id chosen beforehand (an alert's promotion records it first).
    pub(crate) async fn declare_as(
        &self,
        actor: &Actor,
        id: Option<Uuid>,
        input: DeclareInput,
        opts: &Options,
        render: Option<Render<'_, IncidentState>>,
    ) -> Result<Outcome<IncidentState>> {
        self.declare_with(actor, id, input, Marks::default(), opts, render)
            .await
    }

    /// [`Self::declare_as`], with what the `declared` event records besides the declaration: a
    /// drill's marker, or the alert it is declared from.
    pub(crate) async fn declare_with(
        &self,
        actor: &Actor,
        id: Option<Uuid>,
        input: DeclareInput,
        marks: Marks,
        opts: &Options,
        render: Option<Render<'_, IncidentState>>,
    ) -> Result<Outcome<IncidentState>> {
        let Marks { drill, from_alert } = marks;
        let kind = input.kind.unwrap_or(Kind::Security);
        let playbooks = &self.inner.playbooks;
        let playbook = match &input.playbook {
            Some(id) => playbooks.get(id).cloned().ok_or_else(|| {
                let known: Vec<&str> = playbooks.keys().map(String::as_str).collect();
                AppError::Invalid(format!("no playbook {id:?}; known: {}", known.join(", ")))
            })?,
            None => playbooks
                .values()
                .find(|p| p.kind == kind && p.id == kind.as_str())
                .or_else(|| playbooks.values().find(|p| p.kind == kind))
                .cloned()
                .ok_or_else(|| AppError::Invalid(format!("no playbook for {kind} incidents")))?,
        };
        let declaration = Declaration {
            title: input.title,
            kind,
            severity: input.severity,
            restricted: input.restricted,
            summary: input.summary,
            playbook,
        };
        let mut random = [0u8; 8];
        let outcome = self
            .create_as::<IncidentState>(
                actor,
                id,
                |attempt| {
                    getrandom::fill(&mut random)
                        .map_err(|e| AppError::internal("the random number generator failed", e))?;
                    Ok(Declare {
                        declaration: declaration.clone(),
                        codename: palisade_core::codename::codename(
                            u64::from_le_bytes(random),
                            attempt,
                        ),
                        commander: input.commander.clone(),
                        aware_at: input.aware_at,
                        drill: drill.clone(),
                        from_alert: from_alert.clone(),
                    })
                },
                opts,
                render,
            )
            .await
            .map_err(|e| match e {
                AppError::Taken(_) => {
                    AppError::Conflict("could not find a free codename; try again".into())
                }
                other => other,
            })?;
        if let Outcome::Done(d) = &outcome {
            self.inner.metrics.declared(d.state.counted());
        }
        Ok(outcome)
    }

    /// Incidents `filter.viewer` may see, newest activity first.
    pub async fn list_incidents(&self, filter: &ListFilter) -> Result<Vec<IncidentSummary>> {
        Ok(self.inner.store.list_incidents(filter).await?)
    }

    /// Up to `limit` of an incident's ledger rows after `after` (the read is recorded).
    pub async fn incident_ledger(
        &self,
        actor: &Actor,
        reference: &str,
        after: u64,
        limit: u64,
    ) -> Result<(IncidentState, Vec<StoredEvent>)> {
        let st = self
            .read::<IncidentState>(actor, reference, "ledger events", "api")
            .await?;
        let rows = self
            .inner
            .store
            .stored_events_page(st.id, after, limit)
            .await?;
        Ok((st, rows))
    }

    /// An incident's state and every event, folded from the same read (the read is recorded as
    /// `what`), for views computed from the whole ledger (the postmortem).
    pub async fn incident_with_events(
        &self,
        actor: &Actor,
        reference: &str,
        what: &str,
    ) -> Result<(IncidentState, Vec<Event>)> {
        let visible = self
            .read::<IncidentState>(actor, reference, what, "api")
            .await?;
        let rows = self.inner.store.stored_events(visible.id).await?;
        let events: Vec<Event> = rows
            .iter()
            .map(|r| serde_json::from_str(&r.body))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| AppError::internal("an incident event cannot be read", e))?;
        let st = IncidentState::fold(&events)
            .map_err(|e| AppError::internal("an incident's ledger does not fold", e))?;
        Ok((st, events))
    }
}
