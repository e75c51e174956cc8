//! The drill's scheduler: which injections are due, given the scenario, when the drill started,
//! the steps reached so far and now. Pure: the application keeps a [`DrillRun`] (serde), asks
//! [`due`] on every change and on a timer ([`next_due`] says when), hands the releases to the
//! team and records them with [`DrillRun::record`], so each injection is released once.

use crate::scenario::{Scenario, Trigger};
use palisade_core::Timestamp;
use serde::{Deserialize, Serialize};

/// What the team did with a step, as the incident recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Started,
    Done,
    Waived,
}

/// A step's status changing at a time (the incident's `step_started`, `step_completed`,
/// `step_waived` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepEvent {
    pub step: u32,
    pub at: Timestamp,
    pub outcome: StepOutcome,
}

/// One injection released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The injection's id in the scenario.
    pub injection: String,
    /// When it became due (the start plus `at`, or when its step was first reached).
    pub due_at: Timestamp,
    /// When it was handed out.
    pub released_at: Timestamp,
}

/// A drill under way: which scenario, when it started, what has been released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillRun {
    pub scenario: String,
    pub started_at: Timestamp,
    #[serde(default)]
    pub released: Vec<Release>,
}

impl DrillRun {
    pub fn new(scenario: &Scenario, started_at: Timestamp) -> DrillRun {
        DrillRun {
            scenario: scenario.id.clone(),
            started_at,
            released: Vec::new(),
        }
    }

    pub fn is_released(&self, injection: &str) -> bool {
        self.released.iter().any(|r| r.injection == injection)
    }

    /// Record releases (those already recorded are ignored, so recording twice is harmless).
    pub fn record(&mut self, releases: &[Release]) {
        for r in releases {
            if !self.is_released(&r.injection) {
                self.released.push(r.clone());
            }
        }
    }
}

/// When each step was first reached (started, done or waived, whichever came first).
pub fn first_reached(steps: &[StepEvent], step: u32) -> Option<Timestamp> {
    steps.iter().filter(|e| e.step == step).map(|e| e.at).min()
}

/// The injections due at `now` and not yet released, in the order they became due (ties in the
/// scenario's order). Steps reached after `now` are ignored.
pub fn due(
    scenario: &Scenario,
    run: &DrillRun,
    steps: &[StepEvent],
    now: Timestamp,
) -> Vec<Release> {
    let past: Vec<StepEvent> = steps.iter().copied().filter(|e| e.at <= now).collect();
    let mut out: Vec<(Timestamp, usize, Release)> = Vec::new();
    for (i, inj) in scenario.injections.iter().enumerate() {
        if run.is_released(&inj.id) {
            continue;
        }
        let due_at = match inj.trigger {
            Trigger::At(d) => Some(Timestamp(run.started_at.0 + d.to_time())),
            // A step reached before the drill started (a replayed incident) counts from the start.
            Trigger::OnStep(s) => first_reached(&past, s).map(|t| t.max(run.started_at)),
        };
        if let Some(due_at) = due_at.filter(|t| *t <= now) {
            out.push((
                due_at,
                i,
                Release {
                    injection: inj.id.clone(),
                    due_at,
                    released_at: now,
                },
            ));
        }
    }
    out.sort_by_key(|a| (a.0, a.1));
    out.into_iter().map(|(_, _, r)| r).collect()
}

/// When the next timed injection not yet released falls due, after `now` (for a timer).
/// Injections waiting for a step have no time until the step is reached.
pub fn next_due(scenario: &Scenario, run: &DrillRun, now: Timestamp) -> Option<Timestamp> {
    scenario
        .injections
        .iter()
        .filter(|i| !run.is_released(&i.id))
        .filter_map(|i| match i.trigger {
            Trigger::At(d) => Some(Timestamp(run.started_at.0 + d.to_time())),
            Trigger::OnStep(_) => None,
        })
        .filter(|t| *t > now)
        .min()
}
