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

/// Every model in `dir` (each entry a SAMM directory, a DSOMM `model.yaml`, a CSF catalog or a
/// BSIMM activity file), in name order; none when the directory does not exist.
pub fn load_models(
    dir: &std::path::Path,
) -> std::result::Result<Vec<palisade_maturity::Model>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut paths: Vec<std::path::PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    paths
        .iter()
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .map(|p| palisade_maturity::load(p, None).map_err(|e| e.to_string()))
        .collect()
}

/// An assessment's newest scores, from the model of its kind the server holds.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentScores {
    /// The dated assessment scored (the newest in the last file).
    pub date: String,
    pub team: Option<String>,
    /// The model version scored with, and whether it is the version the answers name.
    pub model_version: String,
    pub same_version: bool,
    pub summary: palisade_maturity::history::Summary,
    /// Whether its model draws a heat map (NIST CSF has no levels).
    pub has_heatmap: bool,
}

impl App {
    /// Score the newest assessment of the last file pushed with a model of its kind the server
    /// holds (the same version if there is one; another, with unknown items skipped, if not).
    /// `None` when nothing is pushed or no model of the kind is installed; an error text when
    /// the answers do not score.
    pub fn assessment_scores(
        &self,
        st: &AssessmentState,
    ) -> Option<std::result::Result<AssessmentScores, String>> {
        self.evaluate_newest(st, |model, newest, e, same_version| AssessmentScores {
            date: newest.date.clone(),
            team: newest.team.clone(),
            model_version: model.version().to_string(),
            same_version,
            summary: e.summary(),
            has_heatmap: model.kind() != palisade_maturity::Kind::Csf,
        })
    }

    /// The heat map of the newest assessment as SVG, when it scores and its model has levels.
    pub fn assessment_heatmap(&self, st: &AssessmentState) -> Option<String> {
        self.evaluate_newest(st, |model, newest, e, _| {
            model.heat(e, false).map(|h| h.svg(&newest.label()))
        })?
        .ok()
        .flatten()
    }

    /// `then` on the newest assessment of the last file, evaluated with the model chosen as
    /// [`Self::assessment_scores`] says.
    fn evaluate_newest<T>(
        &self,
        st: &AssessmentState,
        then: impl FnOnce(
            &palisade_maturity::Model,
            &palisade_maturity::answers::Assessment,
            &palisade_maturity::Evaluation,
            bool,
        ) -> T,
    ) -> Option<std::result::Result<T, String>> {
        let text = st.file.as_deref()?;
        let file =
            palisade_maturity::answers::parse(std::path::Path::new("answers.yaml"), text).ok()?;
        let newest = file.assessments.iter().max_by(|a, b| a.date.cmp(&b.date))?;
        let of_kind = self
            .inner
            .maturity_models
            .iter()
            .filter(|m| m.kind() == st.kind);
        let exact = of_kind.clone().find(|m| m.version() == file.model.version);
        let model = exact.or_else(|| of_kind.clone().next())?;
        let same_version = model.version() == file.model.version;
        Some(
            model
                .evaluate(newest, !same_version)
                .map(|e| then(model, newest, &e, same_version))
                .map_err(|e| e.to_string()),
        )
    }
}
