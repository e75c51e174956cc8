//! Team use cases beyond the generic pipeline: creating one (its name must be free) and listing
//! them.

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use palisade_core::team::{CreateTeam, TeamState};
use palisade_core::{Actor, StreamKind};
use palisade_store::RecordFilter;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A team's listing row (the records projection's JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamSummary {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub members: usize,
    pub updated_at: String,
}

impl App {
    /// Create a team.
    pub async fn create_team(
        &self,
        actor: &Actor,
        create: CreateTeam,
        opts: &Options,
        render: Option<Render<'_, TeamState>>,
    ) -> Result<Outcome<TeamState>> {
        self.create::<TeamState>(actor, |_| Ok(create.clone()), opts, render)
            .await
            .map_err(|e| match e {
                AppError::Taken(what) => AppError::Taken(format!(
                    "{what}: another team has that name; choose another"
                )),
                other => other,
            })
    }

    /// Teams by name (every account sees every team).
    pub async fn list_teams(&self, limit: u32) -> Result<Vec<TeamSummary>> {
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Team,
                parent: None,
                status: None,
                before_us: None,
                limit,
            })
            .await?;
        let mut list = rows
            .iter()
            .map(|r| {
                serde_json::from_str::<TeamSummary>(&r.summary)
                    .map_err(|e| AppError::internal("a team's listing row does not parse", e))
            })
            .collect::<Result<Vec<_>>>()?;
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }
}
