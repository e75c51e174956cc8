//! Scoring a drill from its timeline: time to each step, the rules that refused commands,
//! communications on cadence, evidence custody, and each expectation met or missed with its
//! points. The timeline is a plain struct the application fills from the incident's ledger.

use crate::duration::human;
use crate::scenario::{Check, Content, Scenario, audience_key};
use crate::schedule::{StepEvent, StepOutcome};
use palisade_core::Timestamp;
use palisade_core::types::Role;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A command the playbook's rules refused during the drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalEvent {
    pub at: Timestamp,
    /// The rule's id (`step-prerequisites`).
    pub rule: String,
    /// What was asked, in words (`complete step 10`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// A communication sent: a status update, a notification, a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunicationEvent {
    pub at: Timestamp,
    /// Who it was for: `internal`, `external`, `legal`, `regulator`, a deadline's name …
    pub audience: String,
}

/// A piece of evidence recorded by the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceEvent {
    pub name: String,
    pub at: Timestamp,
    /// Whether its chain of custody held: hashed on acquisition, every transfer and access
    /// recorded, no integrity failure.
    pub custody_kept: bool,
}

/// A role assigned during the drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleEvent {
    pub role: Role,
    pub at: Timestamp,
}

/// What happened in a drill, as input to [`score`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillTimeline {
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    #[serde(default)]
    pub steps: Vec<StepEvent>,
    #[serde(default)]
    pub refusals: Vec<RefusalEvent>,
    #[serde(default)]
    pub communications: Vec<CommunicationEvent>,
    #[serde(default)]
    pub evidence: Vec<EvidenceEvent>,
    #[serde(default)]
    pub roles: Vec<RoleEvent>,
}

/// How long a step took to reach, from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTime {
    pub step: u32,
    /// Seconds from the start to the step first started, if it was.
    pub started_after: Option<i64>,
    /// Seconds from the start to the step done or waived, if it was.
    pub settled_after: Option<i64>,
    pub waived: bool,
}

/// How often a rule refused a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTally {
    pub rule: String,
    pub refusals: u32,
}

/// Updates to one audience against a cadence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadenceResult {
    pub audience: String,
    pub every: u64,
    pub updates: u32,
    /// The longest time without an update, in seconds (from the start, between updates, to the end).
    pub longest_gap: i64,
    /// Intervals longer than the cadence (plus grace).
    pub late: u32,
}

/// Custody of one piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyResult {
    pub name: String,
    /// `None`: never recorded; `Some(false)`: recorded, custody broken.
    pub kept: Option<bool>,
}

/// One expectation, met or missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub id: String,
    pub description: String,
    pub points: u32,
    pub met: bool,
    pub earned: u32,
    /// Why, in words (`done after 24m 10s, within 30m`).
    pub detail: String,
}

/// A drill's score: what [`score`] computes and the debrief shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillScore {
    pub scenario: String,
    pub title: String,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    pub steps: Vec<StepTime>,
    pub refusals: Vec<RuleTally>,
    pub cadence: Vec<CadenceResult>,
    pub custody: Vec<CustodyResult>,
    pub expectations: Vec<ExpectationResult>,
    pub total: u32,
    pub possible: u32,
}

impl DrillScore {
    pub fn expectation(&self, id: &str) -> Option<&ExpectationResult> {
        self.expectations.iter().find(|e| e.id == id)
    }
    pub fn step(&self, step: u32) -> Option<&StepTime> {
        self.steps.iter().find(|s| s.step == step)
    }
    /// Seconds from start to end.
    pub fn duration(&self) -> i64 {
        secs(self.started_at, self.ended_at)
    }
}

fn secs(from: Timestamp, to: Timestamp) -> i64 {
    (to.0 - from.0).whole_seconds()
}

/// When step `step` was settled: the first time it was done, or waived (with the flag).
fn settled(steps: &[StepEvent], step: u32) -> Option<(Timestamp, bool)> {
    steps
        .iter()
        .filter(|e| e.step == step && e.outcome != StepOutcome::Started)
        .map(|e| (e.at, e.outcome == StepOutcome::Waived))
        .min_by_key(|(at, _)| *at)
}

fn done(steps: &[StepEvent], step: u32) -> Option<Timestamp> {
    steps
        .iter()
        .filter(|e| e.step == step && e.outcome == StepOutcome::Done)
        .map(|e| e.at)
        .min()
}

/// Updates to `audience` against a cadence of `every` seconds (plus `grace`).
pub fn cadence(t: &DrillTimeline, audience: &str, every: u64, grace: u64) -> CadenceResult {
    let key = audience_key(audience);
    let mut times: Vec<Timestamp> = t
        .communications
        .iter()
        .filter(|c| audience_key(&c.audience) == key)
        .filter(|c| c.at >= t.started_at && c.at <= t.ended_at)
        .map(|c| c.at)
        .collect();
    times.sort();
    let mut points = vec![t.started_at];
    points.extend(times.iter().copied());
    points.push(t.ended_at);
    let gaps: Vec<i64> = points.windows(2).map(|w| secs(w[0], w[1])).collect();
    let allowed = (every + grace) as i64;
    CadenceResult {
        audience: audience.to_string(),
        every,
        updates: times.len() as u32,
        longest_gap: gaps.iter().copied().max().unwrap_or(0),
        late: gaps.iter().filter(|g| **g > allowed).count() as u32,
    }
}

/// Score a drill of `scenario` from its timeline.
pub fn score(scenario: &Scenario, t: &DrillTimeline) -> DrillScore {
    let start = t.started_at;
    let mut step_ids: BTreeSet<u32> = t.steps.iter().map(|s| s.step).collect();
    for e in &scenario.expectations {
        match e.check {
            Check::StepDone { step, .. } => {
                step_ids.insert(step);
            }
            Check::Order { first, then } => {
                step_ids.extend([first, then]);
            }
            _ => {}
        }
    }
    let steps = step_ids
        .into_iter()
        .map(|step| {
            let started = t
                .steps
                .iter()
                .filter(|e| e.step == step)
                .map(|e| e.at)
                .min();
            let settled = settled(&t.steps, step);
            StepTime {
                step,
                started_after: started.map(|s| secs(start, s)),
                settled_after: settled.map(|(s, _)| secs(start, s)),
                waived: settled.is_some_and(|(_, w)| w),
            }
        })
        .collect();

    let mut tally: BTreeMap<&str, u32> = BTreeMap::new();
    for r in &t.refusals {
        *tally.entry(r.rule.as_str()).or_default() += 1;
    }
    let refusals = tally
        .into_iter()
        .map(|(rule, refusals)| RuleTally {
            rule: rule.to_string(),
            refusals,
        })
        .collect();

    let custody_of = |name: &str| -> Option<bool> {
        let records: Vec<&EvidenceEvent> = t.evidence.iter().filter(|e| e.name == name).collect();
        if records.is_empty() {
            None
        } else {
            Some(records.iter().all(|e| e.custody_kept))
        }
    };
    let mut names: Vec<String> = scenario
        .injections
        .iter()
        .filter_map(|i| match &i.content {
            Content::Evidence(e) => Some(e.name.clone()),
            _ => None,
        })
        .collect();
    for e in &t.evidence {
        if !names.contains(&e.name) {
            names.push(e.name.clone());
        }
    }
    let custody = names
        .into_iter()
        .map(|name| CustodyResult {
            kept: custody_of(&name),
            name,
        })
        .collect();

    let mut cadences = Vec::new();
    let mut expectations = Vec::new();
    for e in &scenario.expectations {
        let (met, detail) = match &e.check {
            Check::StepDone {
                step,
                within,
                waiver_ok,
            } => {
                let at = if *waiver_ok {
                    settled(&t.steps, *step).map(|(a, _)| a)
                } else {
                    done(&t.steps, *step)
                };
                match (at, within) {
                    (None, _) => {
                        let waived = settled(&t.steps, *step).is_some_and(|(_, w)| w);
                        (
                            false,
                            if waived {
                                format!("step {step} was waived, not done")
                            } else {
                                format!("step {step} was not done")
                            },
                        )
                    }
                    (Some(a), None) => (true, format!("done after {}", human(secs(start, a)))),
                    (Some(a), Some(w)) => {
                        let took = secs(start, a);
                        let ok = took <= w.0 as i64;
                        (
                            ok,
                            format!(
                                "done after {}, {} {w}",
                                human(took),
                                if ok { "within" } else { "later than" }
                            ),
                        )
                    }
                }
            }
            Check::Order { first, then } => match (done(&t.steps, *first), done(&t.steps, *then)) {
                (Some(a), Some(b)) if a <= b => (
                    true,
                    format!("step {first} done {} before step {then}", human(secs(a, b))),
                ),
                (Some(a), Some(b)) => (
                    false,
                    format!(
                        "step {then} was done {} before step {first}",
                        human(secs(b, a))
                    ),
                ),
                (Some(_), None) => (true, format!("step {first} done; step {then} not yet")),
                (None, Some(_)) => (
                    false,
                    format!("step {then} was done while step {first} was not"),
                ),
                (None, None) => (false, format!("neither step {first} nor {then} was done")),
            },
            Check::Notify { audience, within } => {
                let key = audience_key(audience);
                let first = t
                    .communications
                    .iter()
                    .filter(|c| audience_key(&c.audience) == key)
                    .map(|c| c.at)
                    .min();
                match first {
                    None => (false, format!("{audience} was never notified")),
                    Some(a) => {
                        let took = secs(start, a);
                        let ok = took <= within.0 as i64;
                        (
                            ok,
                            format!(
                                "{audience} notified after {}, {} {within}",
                                human(took),
                                if ok { "within" } else { "later than" }
                            ),
                        )
                    }
                }
            }
            Check::Custody { evidence } => match custody_of(evidence) {
                None => (false, format!("{evidence} was never recorded as evidence")),
                Some(true) => (true, format!("{evidence} recorded, custody kept")),
                Some(false) => (false, format!("{evidence} recorded, but custody broke")),
            },
            Check::Cadence {
                audience,
                every,
                grace,
            } => {
                let c = cadence(t, audience, every.0, grace.0);
                let ok = c.late == 0;
                let detail = format!(
                    "{} update{} to {audience}; longest gap {}{}",
                    c.updates,
                    if c.updates == 1 { "" } else { "s" },
                    human(c.longest_gap),
                    if ok {
                        String::new()
                    } else {
                        format!(", {} interval(s) longer than {every}", c.late)
                    }
                );
                cadences.push(c);
                (ok, detail)
            }
            Check::RespectRule { rule } => {
                let n = t.refusals.iter().filter(|r| r.rule == *rule).count();
                (
                    n == 0,
                    if n == 0 {
                        format!("no command refused by {rule}")
                    } else {
                        format!("{n} command(s) refused by {rule}")
                    },
                )
            }
            Check::Role { role, within } => {
                match t
                    .roles
                    .iter()
                    .filter(|r| r.role == *role)
                    .map(|r| r.at)
                    .min()
                {
                    None => (false, format!("no {role} was assigned")),
                    Some(a) => {
                        let took = secs(start, a);
                        let ok = took <= within.0 as i64;
                        (
                            ok,
                            format!(
                                "{role} assigned after {}, {} {within}",
                                human(took),
                                if ok { "within" } else { "later than" }
                            ),
                        )
                    }
                }
            }
        };
        expectations.push(ExpectationResult {
            id: e.id.clone(),
            description: e.description.clone(),
            points: e.points,
            met,
            earned: if met { e.points } else { 0 },
            detail,
        });
    }
    DrillScore {
        scenario: scenario.id.clone(),
        title: scenario.title.clone(),
        started_at: t.started_at,
        ended_at: t.ended_at,
        steps,
        refusals,
        cadence: cadences,
        custody,
        total: expectations.iter().map(|e| e.earned).sum(),
        possible: scenario.possible_points(),
        expectations,
    }
}
