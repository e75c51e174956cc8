//! Escalation policy use cases beyond the generic pipeline: creating one (its name must be
//! free; the users and schedules it names must exist) and listing them.

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use palisade_core::escalation::{CreateEscalation, EscalationState};
use palisade_core::{Actor, StreamKind};
use palisade_store::RecordFilter;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A policy's listing row (the records projection's JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationSummary {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub levels: usize,
    pub repeat: u8,
    pub keep_paging_after_ack: bool,
    pub updated_at: String,
}

impl App {
    /// Create an escalation policy.
    pub async fn create_escalation(
        &self,
        actor: &Actor,
        create: CreateEscalation,
        opts: &Options,
        render: Option<Render<'_, EscalationState>>,
    ) -> Result<Outcome<EscalationState>> {
        self.create::<EscalationState>(actor, |_| Ok(create.clone()), opts, render)
            .await
            .map_err(|e| match e {
                AppError::Taken(what) => AppError::Taken(format!(
                    "{what}: another escalation policy has that name; choose another"
                )),
                other => other,
            })
    }

    /// Escalation policies by name (every account sees every policy).
    pub async fn list_escalations(&self, limit: u32) -> Result<Vec<EscalationSummary>> {
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Escalation,
                parent: None,
                status: None,
                before_us: None,
                limit,
            })
            .await?;
        let mut list = rows
            .iter()
            .map(|r| {
                serde_json::from_str::<EscalationSummary>(&r.summary).map_err(|e| {
                    AppError::internal("an escalation policy's listing row does not parse", e)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }
}
