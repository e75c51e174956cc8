//! Incident use cases beyond the generic pipeline: declaring (playbook choice, codenames),
//! listing, and reads that return the ledger itself.

use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use crate::{App, Kept};
use palisade_core::incident::{Declaration, Declare};
use palisade_core::{Actor, Event, IncidentState, Kind, Severity, Timestamp, UserName};
use palisade_store::{IncidentSummary, ListFilter, StoredEvent};
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

impl App {
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
        self.declare_with(actor, id, input, None, opts, render)
            .await
    }

    /// [`Self::declare_as`], for a drill when `drill` is given (its marker is recorded on the
    /// `declared` event).
    pub(crate) async fn declare_with(
        &self,
        actor: &Actor,
        id: Option<Uuid>,
        input: DeclareInput,
        drill: Option<palisade_core::drill::DrillMarker>,
        opts: &Options,
        render: Option<Render<'_, IncidentState>>,
    ) -> Result<Outcome<IncidentState>> {
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
