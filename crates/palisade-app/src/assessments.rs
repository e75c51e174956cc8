//! Maturity assessment use cases beyond the generic pipeline: starting one (its name must be
//! free) and listing them. Pushing an answers file is `execute` with
//! `AssessmentCommand::Record`; pulling it is a `read`.

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use palisade_core::{Actor, StreamKind};
use palisade_maturity::answers::Kind;
use palisade_maturity::stream::{AssessmentState, CreateAssessment};
use palisade_store::RecordFilter;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An assessment's listing row (the records projection's JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentSummary {
    pub id: Uuid,
    pub name: String,
    pub kind: Kind,
    /// Pushes recorded.
    pub records: usize,
    /// The newest dated assessment in the last file, and the model version it answers.
    pub latest: Option<String>,
    pub model_version: Option<String>,
    pub updated_at: String,
}

impl AssessmentSummary {
    pub(crate) fn of(st: &AssessmentState) -> AssessmentSummary {
        let last = st.records.last();
        AssessmentSummary {
            id: st.id,
            name: st.name.to_string(),
            kind: st.kind,
            records: st.records.len(),
            latest: last.and_then(|r| r.latest.clone()),
            model_version: last.map(|r| r.model_version.clone()),
            updated_at: st.updated_at.to_string(),
        }
    }
}

impl App {
    /// Start an assessment.
    pub async fn create_assessment(
        &self,
        actor: &Actor,
        create: CreateAssessment,
        opts: &Options,
        render: Option<Render<'_, AssessmentState>>,
    ) -> Result<Outcome<AssessmentState>> {
        self.create::<AssessmentState>(actor, |_| Ok(create.clone()), opts, render)
            .await
            .map_err(|e| match e {
                AppError::Taken(what) => AppError::Taken(format!(
                    "{what}: another assessment has that name; choose another"
                )),
                other => other,
            })
    }

    /// Assessments by name (every account sees every assessment).
    pub async fn list_assessments(&self, limit: u32) -> Result<Vec<AssessmentSummary>> {
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Assessment,
                parent: None,
                status: None,
                before_us: None,
                limit,
            })
            .await?;
        let mut list = rows
            .iter()
            .map(|r| {
                serde_json::from_str::<AssessmentSummary>(&r.summary).map_err(|e| {
                    AppError::internal("an assessment's listing row does not parse", e)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }
}
