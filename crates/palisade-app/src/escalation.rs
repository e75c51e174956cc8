//! Escalation: the timer worker that moves unacknowledged alerts up their service's escalation
//! policy.
//!
//! Timers are outbox rows (destination `timer`), written in the same transaction as the event
//! that sets them: a new alert's first step is due at once, each step sets the next one's. So a
//! timer is never lost with a process, and any `palisade serve` on the same database takes it
//! (claims are leases with `FOR UPDATE SKIP LOCKED`; a claimer that died is replaced once its
//! lease ends). A step is an `escalated` event on the alert, recorded through the pipeline with
//! the pages it sends (outbox messages, one per person); the alert refuses a step it has already
//! taken, so a timer that fires twice pages nobody twice. Acknowledging or resolving the alert
//! ends its escalation: a later timer finds it and does nothing.
//!
//! The worker is woken when an append writes a timer (a new alert pages within moments, not on
//! a polling cycle), when its earliest timer falls due, and at least every `poll` (timers other
//! servers wrote).

use crate::error::Result;
use crate::pipeline::Options;
use crate::{App, now};
use palisade_core::alert::{AlertCommand, AlertState, AlertStatus, NextStep, Step, StepPlan};
use palisade_core::{AccountRole, Actor, ServiceState, UserName};
use palisade_store::{OutboxClass, OutboxItem};
use std::time::Duration;
use uuid::Uuid;

/// Who records escalation steps.
fn escalation_actor() -> Actor {
    Actor {
        user: UserName::parse("escalation").expect("a valid user name"),
        account_role: AccountRole::Responder,
    }
}

/// One level of a service's escalation, resolved at a time: who to page, and how long until
/// the next level if nobody acknowledges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLevel {
    pub users: Vec<UserName>,
    /// Why these people (e.g. "on call in schedule primary").
    pub reason: String,
    pub delay_secs: u64,
}

/// A service's escalation, resolved at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub levels: Vec<PlanLevel>,
    /// How many times the levels are gone through again after the last (0: once).
    pub repeat: u32,
    /// An acknowledgement does not stop the pages of the level's people still to go out.
    pub keep_paging_after_ack: bool,
}

impl Plan {
    /// The step after `step` (if any), and how long after `step` it falls due.
    pub fn next(&self, step: Step) -> Option<NextStep> {
        let level = self.levels.get(step.level as usize)?;
        let after_secs = level.delay_secs;
        if (step.level as usize) + 1 < self.levels.len() {
            Some(NextStep {
                step: Step {
                    round: step.round,
                    level: step.level + 1,
                },
                after_secs,
            })
        } else if step.round < self.repeat {
            Some(NextStep {
                step: Step {
                    round: step.round + 1,
                    level: 0,
                },
                after_secs,
            })
        } else {
            None
        }
    }
}

/// A timer's body.
#[derive(serde::Deserialize)]
struct Timer {
    alert: Uuid,
    round: u32,
    level: u32,
}

impl App {
    /// The escalation of `service` as it stands now (who is on call now), or why nobody is to
    /// be paged (a maintenance window, no policy).
    pub async fn escalation_plan(
        &self,
        service: &ServiceState,
    ) -> Result<std::result::Result<Plan, String>> {
        use palisade_core::escalation::{EscalationState, Target};
        use palisade_core::schedule::ScheduleState;
        let at = now();
        let at_us = at.unix_micros();
        if let Some(m) = service
            .maintenance
            .iter()
            .find(|m| m.from.unix_micros() <= at_us && at_us < m.to.unix_micros())
        {
            return Ok(Err(format!(
                "service {} is in maintenance window {} until {} ({}): paging is suppressed",
                service.name, m.n, m.to, m.reason
            )));
        }
        let Some(link) = &service.escalation_policy else {
            return Ok(Err(format!(
                "service {} has no escalation policy",
                service.name
            )));
        };
        let Some(policy) = self.load::<EscalationState>(link.id).await? else {
            return Ok(Err(format!(
                "the escalation policy {} of service {} does not exist",
                link.name, service.name
            )));
        };
        let instant = palisade_core::schedule::Instant::from_microsecond(at_us)
            .map_err(|e| crate::AppError::internal("the clock is out of range", e))?;
        let mut levels = Vec::with_capacity(policy.levels.len());
        for level in &policy.levels {
            let mut users: Vec<UserName> = Vec::new();
            let mut why = Vec::new();
            for target in &level.targets {
                let found = match target {
                    Target::User { name } => {
                        why.push(format!("{name} named"));
                        vec![name.clone()]
                    }
                    Target::Schedule { name } => {
                        let on_call = match self.resolve::<ScheduleState>(name.as_str()).await {
                            Ok(id) => match self.load::<ScheduleState>(id).await? {
                                Some(st) => st.schedule.on_call_at(instant).map_err(|e| {
                                    crate::AppError::internal("a schedule could not be read", e)
                                })?,
                                None => Vec::new(),
                            },
                            Err(crate::AppError::NotFound(_)) => Vec::new(),
                            Err(e) => return Err(e),
                        };
                        let names: Vec<&str> = on_call.iter().map(UserName::as_str).collect();
                        why.push(if names.is_empty() {
                            format!("nobody on call in schedule {name}")
                        } else {
                            format!("on call in schedule {name}: {}", names.join(", "))
                        });
                        on_call
                    }
                };
                for u in found {
                    if !users.contains(&u) {
                        users.push(u);
                    }
                }
            }
            levels.push(PlanLevel {
                users,
                reason: format!("policy {}: {}", policy.name, why.join("; ")),
                delay_secs: u64::from(level.delay_minutes) * 60,
            });
        }
        Ok(Ok(Plan {
            levels,
            repeat: u32::from(policy.repeat),
            keep_paging_after_ack: policy.keep_paging_after_ack,
        }))
    }

    /// Step `step` of `service`'s escalation as it stands now: who is paged and why (nobody,
    /// and why, in a maintenance window or without a policy), and the step after it.
    pub(crate) async fn step_plan(&self, service: &ServiceState, step: Step) -> Result<StepPlan> {
        Ok(match self.escalation_plan(service).await? {
            Err(why) => StepPlan {
                users: Vec::new(),
                next: None,
                reason: why,
                keep_paging_after_ack: false,
            },
            Ok(plan) => match plan.levels.get(step.level as usize) {
                Some(level) => StepPlan {
                    users: level.users.clone(),
                    next: plan.next(step),
                    reason: level.reason.clone(),
                    keep_paging_after_ack: plan.keep_paging_after_ack,
                },
                None => StepPlan {
                    users: Vec::new(),
                    next: None,
                    reason: format!("the escalation policy has no level {}", step.level + 1),
                    keep_paging_after_ack: false,
                },
            },
        })
    }

    /// The first step of a new alert of `service`, to be recorded with its trigger; `None`
    /// (the timer takes it, at once) when the policy cannot be read now.
    pub(crate) async fn first_step(&self, service: Uuid) -> Option<StepPlan> {
        let service = match self.load::<ServiceState>(service).await {
            Ok(Some(s)) => s,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "a new alert's first escalation step is left to its timer");
                return None;
            }
        };
        match self.step_plan(&service, Step { round: 0, level: 0 }).await {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, "a new alert's first escalation step is left to its timer");
                None
            }
        }
    }

    /// Record the first-page latency of an alert whose first step paged someone with its
    /// trigger (zero: the pages were committed with the alert).
    pub(crate) fn paged_with_trigger(&self, st: &AlertState) {
        if st.first_paged_at == Some(st.triggered_at) {
            self.inner.metrics.first_page(0.0);
        }
    }

    /// Take escalation step `step` of `alert`, unless it was taken already or the alert was
    /// acknowledged or resolved.
    pub async fn escalate(&self, alert: Uuid, step: Step) -> Result<()> {
        let Some(st) = self.load::<AlertState>(alert).await? else {
            return Ok(());
        };
        if st.status != AlertStatus::Triggered || st.escalation.is_some_and(|s| s >= step) {
            return Ok(());
        }
        let Some(service) = self.load::<ServiceState>(st.service).await? else {
            return Ok(());
        };
        let plan = self.step_plan(&service, step).await?;
        let done = self
            .execute_id::<AlertState>(
                &escalation_actor(),
                alert,
                AlertCommand::Escalate { step, plan },
                &Options::default(),
            )
            .await?
            .done()?;
        // This step paged someone for the first time: how long after the trigger.
        if st.first_paged_at.is_none()
            && let Some(at) = done.state.first_paged_at
        {
            let secs = (at.unix_micros() - done.state.triggered_at.unix_micros()) as f64 / 1e6;
            self.inner.metrics.first_page(secs.max(0.0));
        }
        Ok(())
    }

    /// Act on the timers due now; how many were done.
    pub async fn run_due_timers(&self) -> usize {
        self.run_due_timers_at(now_us()).await
    }

    /// Act on the timers due at `at_us` (µs since the Unix epoch; tests pass a later time to
    /// fire a step without waiting for it); how many were done.
    pub async fn run_due_timers_at(&self, at_us: i64) -> usize {
        let store = &self.inner.store;
        let claimed = match store
            .outbox_claim_class(OutboxClass::Timers, at_us, LEASE.as_micros() as i64, BATCH)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the escalation timers");
                return 0;
            }
        };
        // The steps of different alerts are independent (one stream each): taken together, so
        // their appends share the store's group commits and an alert storm pages in seconds
        // rather than one step at a time.
        let mut steps = tokio::task::JoinSet::new();
        for t in claimed {
            let app = self.clone();
            steps.spawn(async move {
                let r = app.timer(&t).await;
                (t, r)
            });
        }
        let mut done = Vec::new();
        while let Some(joined) = steps.join_next().await {
            let Ok((t, result)) = joined else {
                // A step that panicked: its timer fires again after the lease.
                continue;
            };
            match result {
                Ok(()) => done.push(t.id),
                Err(e) => {
                    let backoff = Duration::from_secs(u64::from(t.attempts.min(6)).pow(2));
                    tracing::warn!(error = %e, id = %t.id, attempts = t.attempts, "escalation step failed; retrying");
                    let next = now_us() + backoff.as_micros() as i64;
                    if let Err(e) = store.outbox_retry(t.id, &e.to_string(), next).await {
                        tracing::warn!(error = %e, "could not record the failed escalation step");
                    }
                }
            }
        }
        // One write for the pass. A crash before it leaves the timers to fire again, and
        // each finds its step taken.
        let n = done.len();
        if let Err(e) = store.outbox_done_many(done, &now().to_string()).await {
            tracing::warn!(error = %e, "escalation steps taken, but their timers could not be marked done; they will fire again and find the steps taken");
        }
        n
    }

    async fn timer(&self, t: &OutboxItem) -> Result<()> {
        let timer: Timer = serde_json::from_str(&t.payload)
            .map_err(|e| crate::AppError::internal("an escalation timer does not parse", e))?;
        self.escalate(
            timer.alert,
            Step {
                round: timer.round,
                level: timer.level,
            },
        )
        .await
    }
}

/// Most timers claimed (and taken together) in one pass.
const BATCH: u32 = 256;

/// How long a claimed timer is reserved for one worker: a step takes milliseconds, and another
/// server takes over a crashed one's timers within this.
const LEASE: Duration = Duration::from_secs(8);

fn now_us() -> i64 {
    now().unix_micros()
}

/// Run while the application lives: take due escalation steps whenever woken (an append wrote
/// a timer), when the earliest timer falls due, and at least every `poll`. It holds the
/// application only while it works, so dropping the last handle to the application (and its
/// store, with the data directory's lock) ends it.
pub(crate) async fn run(
    app: std::sync::Weak<crate::Inner>,
    wake: std::sync::Arc<tokio::sync::Notify>,
    poll: Duration,
) {
    loop {
        let wait = {
            let Some(inner) = app.upgrade() else {
                return;
            };
            let app = App { inner };
            while app.run_due_timers().await > 0 {}
            match app.inner.store.outbox_next_due(OutboxClass::Timers).await {
                Ok(Some(due)) => {
                    Duration::from_micros(due.saturating_sub(now_us()).max(0) as u64).min(poll)
                }
                Ok(None) => poll,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the escalation timers");
                    poll
                }
            }
        };
        let _ = tokio::time::timeout(wait, wake.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(delay_secs: u64) -> PlanLevel {
        PlanLevel {
            users: vec![UserName::parse("alice").unwrap()],
            reason: "r".into(),
            delay_secs,
        }
    }

    #[test]
    fn a_plan_goes_through_its_levels_then_repeats_then_ends() {
        let plan = Plan {
            levels: vec![level(300), level(600)],
            repeat: 1,
            keep_paging_after_ack: false,
        };
        let s = |round, level| Step { round, level };
        let n = |round, level, after_secs| {
            Some(NextStep {
                step: s(round, level),
                after_secs,
            })
        };
        assert_eq!(plan.next(s(0, 0)), n(0, 1, 300));
        assert_eq!(plan.next(s(0, 1)), n(1, 0, 600));
        assert_eq!(plan.next(s(1, 0)), n(1, 1, 300));
        assert_eq!(plan.next(s(1, 1)), None);
        assert_eq!(plan.next(s(0, 5)), None, "a level the plan no longer has");
    }
}
