//! Schedule use cases beyond the generic pipeline: creating one (its name must be free), listing
//! them, and what the on-call engine answers about one: who is on call at a time (and who
//! next), the shifts and the gaps of a span, and the span drawn layer by layer.

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use palisade_core::oncall::{Gap, Shift};
use palisade_core::schedule::{CreateSchedule, Instant, ScheduleState};
use palisade_core::{Actor, StreamKind, UserName};
use palisade_store::{RecordFilter, RecordRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A schedule's listing row (the records projection's JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSummary {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub time_zone: String,
    pub layers: usize,
    pub overrides: usize,
    pub temporary: usize,
    pub updated_at: String,
}

impl ScheduleSummary {
    pub fn of(st: &ScheduleState) -> ScheduleSummary {
        ScheduleSummary {
            id: st.id,
            name: st.name.to_string(),
            description: st.description.clone(),
            time_zone: st.schedule.zone().to_string(),
            layers: st.schedule.layers().len(),
            overrides: st.schedule.overrides().len(),
            temporary: st.schedule.temporary().len(),
            updated_at: st.updated_at.to_string(),
        }
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    fn from_row(r: &RecordRow) -> Result<ScheduleSummary> {
        serde_json::from_str(&r.summary)
            .map_err(|e| AppError::internal("a schedule's listing row does not parse", e))
    }
}

fn query_error(e: palisade_core::ScheduleError) -> AppError {
    AppError::Invalid(e.message)
}

/// A schedule over a span, as drawn: each layer on its own and the final schedule, each a list
/// of spans covering the span exactly, in order, with nobody's spans (empty `users`) included.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleTimeline {
    /// Layer by layer (index 0 the lowest), before the layers above, temporary schedules and
    /// overrides (`Schedule::layer_timeline`).
    pub layers: Vec<Vec<Shift>>,
    /// Who is on call (`Schedule::timeline`): what paging uses.
    pub on_call: Vec<Shift>,
}

/// A change of who is on call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    pub at: Instant,
    /// Who takes over (empty: nobody, a gap).
    pub users: Vec<UserName>,
}

/// Who is on call at a time, and the next change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCallNext {
    /// Sorted by name; empty in a gap.
    pub now: Vec<UserName>,
    /// The first change after it within the span asked about (`None`: the same all along).
    pub next: Option<Handoff>,
}

impl App {
    /// Create a schedule; its name must be free and everyone it names must exist.
    pub async fn create_schedule(
        &self,
        actor: &Actor,
        create: CreateSchedule,
        opts: &Options,
        render: Option<Render<'_, ScheduleState>>,
    ) -> Result<Outcome<ScheduleState>> {
        self.create::<ScheduleState>(actor, |_| Ok(create.clone()), opts, render)
            .await
            .map_err(|e| match e {
                AppError::Taken(what) => AppError::Taken(format!(
                    "{what}: another schedule has that name; choose another"
                )),
                other => other,
            })
    }

    /// Schedules by name (every account sees every schedule).
    pub async fn list_schedules(&self, limit: u32) -> Result<Vec<ScheduleSummary>> {
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Schedule,
                parent: None,
                status: None,
                before_us: None,
                limit,
            })
            .await?;
        let mut list = rows
            .iter()
            .map(ScheduleSummary::from_row)
            .collect::<Result<Vec<_>>>()?;
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// Who is on call on a schedule at `at`.
    pub async fn on_call(
        &self,
        actor: &Actor,
        schedule: &str,
        at: Instant,
    ) -> Result<(ScheduleState, Vec<UserName>)> {
        let st = self.load_visible::<ScheduleState>(actor, schedule).await?;
        let users = st.schedule.on_call_at(at).map_err(query_error)?;
        Ok((st, users))
    }

    /// Who is on call on a schedule at `at`, and the first time after it, before `until`, that
    /// someone else is (or nobody).
    pub async fn on_call_next(
        &self,
        actor: &Actor,
        schedule: &str,
        at: Instant,
        until: Instant,
    ) -> Result<(ScheduleState, OnCallNext)> {
        let st = self.load_visible::<ScheduleState>(actor, schedule).await?;
        let spans = st.schedule.timeline(at, until).map_err(query_error)?;
        let now = spans.first().map(|s| s.users.clone()).unwrap_or_default();
        let next = spans.iter().find(|s| s.users != now).map(|s| Handoff {
            at: s.start,
            users: s.users.clone(),
        });
        Ok((st, OnCallNext { now, next }))
    }

    /// A schedule in `[from, to)`, layer by layer and final, gaps included.
    pub async fn schedule_timeline(
        &self,
        actor: &Actor,
        schedule: &str,
        from: Instant,
        to: Instant,
    ) -> Result<(ScheduleState, ScheduleTimeline)> {
        let st = self.load_visible::<ScheduleState>(actor, schedule).await?;
        let on_call = st.schedule.timeline(from, to).map_err(query_error)?;
        let layers = (0..st.schedule.layers().len())
            .map(|i| st.schedule.layer_timeline(i, from, to))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(query_error)?;
        Ok((st, ScheduleTimeline { layers, on_call }))
    }

    /// The final shifts of a schedule in `[from, to)` (spans with nobody on call left out).
    pub async fn shifts(
        &self,
        actor: &Actor,
        schedule: &str,
        from: Instant,
        to: Instant,
    ) -> Result<(ScheduleState, Vec<Shift>)> {
        let st = self.load_visible::<ScheduleState>(actor, schedule).await?;
        let shifts = st.schedule.shifts(from, to).map_err(query_error)?;
        Ok((st, shifts))
    }

    /// The spans of `[from, to)` in which nobody is on call.
    pub async fn gaps(
        &self,
        actor: &Actor,
        schedule: &str,
        from: Instant,
        to: Instant,
    ) -> Result<(ScheduleState, Vec<Gap>)> {
        let st = self.load_visible::<ScheduleState>(actor, schedule).await?;
        let gaps = st.schedule.gaps(from, to).map_err(query_error)?;
        Ok((st, gaps))
    }
}
