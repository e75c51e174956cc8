//! CTF event use cases beyond the generic pipeline: setting one up (its name must be free) and
//! listing them. Commands (registering, submitting, hints, the freeze) go through `execute`;
//! the scoreboard is a pure function of the folded event (`palisade_training::ctf`).

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use palisade_core::{Actor, StreamKind};
use palisade_store::RecordFilter;
use palisade_training::ctf::stream::{CreateCtf, CtfEventState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An event's listing row (the records projection's JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtfSummary {
    pub id: Uuid,
    pub name: String,
    pub start: String,
    pub end: String,
    pub freeze: Option<String>,
    pub mode: palisade_training::ctf::Mode,
    pub challenges: usize,
    pub accounts: usize,
    pub updated_at: String,
}

impl CtfSummary {
    pub(crate) fn of(st: &CtfEventState) -> CtfSummary {
        let c = &st.ctf.config;
        CtfSummary {
            id: st.id,
            name: st.name.to_string(),
            start: c.start.to_string(),
            end: c.end.to_string(),
            freeze: c.freeze.map(|f| f.to_string()),
            mode: c.mode,
            challenges: st.ctf.challenges.len(),
            accounts: st.state.accounts.len(),
            updated_at: st.updated_at.to_string(),
        }
    }
}

impl App {
    /// Set up a CTF event (admins).
    pub async fn create_ctf(
        &self,
        actor: &Actor,
        create: CreateCtf,
        opts: &Options,
        render: Option<Render<'_, CtfEventState>>,
    ) -> Result<Outcome<CtfEventState>> {
        self.create::<CtfEventState>(actor, |_| Ok(create.clone()), opts, render)
            .await
            .map_err(|e| match e {
                AppError::Taken(what) => AppError::Taken(format!(
                    "{what}: another CTF event has that name; choose another"
                )),
                other => other,
            })
    }

    /// Events, the latest first (every account sees every event).
    pub async fn list_ctfs(&self, limit: u32) -> Result<Vec<CtfSummary>> {
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Ctf,
                parent: None,
                status: None,
                before_us: None,
                limit,
            })
            .await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str::<CtfSummary>(&r.summary)
                    .map_err(|e| AppError::internal("a CTF event's listing row does not parse", e))
            })
            .collect()
    }
}
