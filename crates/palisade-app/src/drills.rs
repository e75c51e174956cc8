//! Drills: a scenario run as an incident through the real playbook, rules and pipeline.
//!
//! Starting one declares an incident whose `declared` event carries the drill's marker
//! (scenario and participants, who are its members); its title starts with `[DRILL]`, so every
//! list shows it for what it is. Injections are released by [`App::drill_tick`], which asks
//! `palisade_training::schedule::due` what is due and records each release on the incident's
//! ledger (`drill_injected`; evidence first acquired into the vault with its custody). The
//! debrief is scored from the ledger alone. Drills are kept out of metrics (`Kept::counted`) and
//! their notices reach only participants (the incident's `effects`).

use crate::error::{AppError, Result};
use crate::evidence::AcquireInput;
use crate::incidents::DeclareInput;
use crate::pipeline::{IdempotencyKey, Options, require_role};
use crate::{App, now};
use palisade_core::comms::Audience;
use palisade_core::custody::EvidenceName;
use palisade_core::drill::{DrillMarker, Injected};
use palisade_core::incident::{Command, StepStatus};
use palisade_core::team::TeamState;
use palisade_core::{AccountRole, Actor, Event, IncidentState, Payload, Timestamp, UserName};
use palisade_store::ListFilter;
use palisade_training::scenario::{BUILTIN, Content};
use palisade_training::score::{CommunicationEvent, EvidenceEvent, RefusalEvent, RoleEvent};
use palisade_training::tested::{self, PlaybookDates, TestStatus};
use palisade_training::{
    Debrief, DrillRun, DrillScore, DrillTimeline, Release, Scenario, StepEvent, StepOutcome,
};
use std::collections::{BTreeMap, BTreeSet};

pub use palisade_training::Dur;
pub use palisade_training::tested::DEFAULT_PERIOD_DAYS;

/// The title prefix of every drill incident.
pub const DRILL_TITLE_PREFIX: &str = "[DRILL] ";

/// Most incidents read when looking for earlier drills (previous runs, last tested).
const DRILL_SCAN_LIMIT: u32 = 500;

/// What starting a drill needs.
#[derive(Debug, Clone)]
pub struct DrillStart {
    /// A shipped scenario's id (ignored when `source` is given).
    pub scenario: String,
    /// A custom scenario file (YAML), kept on the drill's ledger.
    pub source: Option<String>,
    /// A team whose members take part.
    pub team: Option<String>,
    /// Further participants by name (the starter always takes part).
    pub participants: Vec<UserName>,
}

/// How a debrief is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebriefFormat {
    Markdown,
    Html,
}

/// A playbook with its dates: reviewed as written, tested as the ledger's drills say.
#[derive(Debug, Clone)]
pub struct PlaybookStatus {
    pub id: String,
    pub name: String,
    pub version: u32,
    pub last_reviewed: Option<String>,
    /// The later of the playbook file's own date and the newest drill of it (`YYYY-MM-DD`).
    pub last_tested: Option<String>,
    pub status: TestStatus,
}

/// The shipped scenarios, read and checked against the playbooks they name.
pub fn builtin_scenarios() -> Result<Vec<Scenario>> {
    BUILTIN
        .iter()
        .map(|(file, text)| {
            Scenario::from_yaml(file, text).map_err(|errs| {
                let msg: Vec<String> = errs.iter().map(ToString::to_string).collect();
                AppError::internal("a shipped scenario does not read", msg.join("; "))
            })
        })
        .collect()
}

/// A custom scenario file, read as `palisade-training` reads any (errors located in it).
fn custom_scenario(text: &str) -> Result<Scenario> {
    if text.len() > palisade_core::drill::MAX_SOURCE_BYTES {
        return Err(AppError::Invalid(format!(
            "a custom scenario file is at most {} KiB",
            palisade_core::drill::MAX_SOURCE_BYTES / 1024
        )));
    }
    Scenario::from_yaml("scenario.yaml", text).map_err(|errs| {
        let msg: Vec<String> = errs.iter().map(ToString::to_string).collect();
        AppError::Invalid(msg.join("; "))
    })
}

/// The scenario a drill runs: its own file when it was started with one, else the shipped one.
fn scenario_of(marker: &DrillMarker) -> Result<Scenario> {
    match &marker.source {
        Some(text) => custom_scenario(text),
        None => scenario(&marker.scenario),
    }
}

fn scenario(id: &str) -> Result<Scenario> {
    let all = builtin_scenarios()?;
    let known: Vec<String> = all.iter().map(|s| s.id.clone()).collect();
    all.into_iter().find(|s| s.id == id).ok_or_else(|| {
        AppError::Invalid(format!("no scenario {id:?}; known: {}", known.join(", ")))
    })
}

fn date_of(t: Timestamp) -> String {
    palisade_core::comms::format_date(t.utc().date())
}

/// The steps as the state records them: when each was first started and when settled.
fn step_events(st: &IncidentState) -> Vec<StepEvent> {
    let mut out = Vec::new();
    for s in &st.steps {
        if let Some(at) = s.started_at {
            out.push(StepEvent {
                step: s.n,
                at,
                outcome: StepOutcome::Started,
            });
        }
        if let Some(at) = s.settled_at {
            let outcome = match s.status {
                StepStatus::Waived => StepOutcome::Waived,
                _ => StepOutcome::Done,
            };
            out.push(StepEvent {
                step: s.n,
                at,
                outcome,
            });
        }
    }
    out
}

/// What the team did, read from the incident's ledger: steps, communications (status updates
/// by audience, deadlines met by name, statements published as external), evidence custody and
/// roles, and the commands the rules refused (a drill records them: `drill_refused`).
pub fn timeline(st: &IncidentState, events: &[Event], now: Timestamp) -> DrillTimeline {
    let mut t = DrillTimeline {
        started_at: st.declared_at,
        ended_at: st.closed_at.or(st.resolved_at).unwrap_or(now),
        steps: Vec::new(),
        refusals: Vec::new(),
        communications: Vec::new(),
        evidence: Vec::new(),
        roles: Vec::new(),
    };
    for e in events {
        let at = e.occurred_at;
        match &e.data {
            Payload::DrillRefused { rule, command } => t.refusals.push(RefusalEvent {
                at,
                rule: rule.clone(),
                command: Some(command.clone()),
            }),
            Payload::StepStarted { step } => t.steps.push(StepEvent {
                step: *step,
                at,
                outcome: StepOutcome::Started,
            }),
            Payload::StepDone { step, .. } => t.steps.push(StepEvent {
                step: *step,
                at,
                outcome: StepOutcome::Done,
            }),
            Payload::StepWaived { step, .. } => t.steps.push(StepEvent {
                step: *step,
                at,
                outcome: StepOutcome::Waived,
            }),
            Payload::StatusUpdated { audience, .. } => t.communications.push(CommunicationEvent {
                at,
                audience: match audience {
                    Some(Audience::External) => "external".into(),
                    _ => "internal".into(),
                },
            }),
            Payload::DeadlineMet { name, .. } => t.communications.push(CommunicationEvent {
                at,
                audience: name.clone(),
            }),
            Payload::StatementPublished { .. } => t.communications.push(CommunicationEvent {
                at,
                audience: "external".into(),
            }),
            Payload::RoleAssigned { role, .. } => t.roles.push(RoleEvent { role: *role, at }),
            _ => {}
        }
    }
    t.evidence = st
        .evidence
        .iter()
        .map(|item| EvidenceEvent {
            name: item.name.clone(),
            at: item.acquired_at,
            custody_kept: !item.integrity_failed,
        })
        .collect();
    t
}

impl App {
    /// Start a drill of a shipped scenario: declare its incident (marked, with its participants
    /// as members), then release what is due at once.
    pub async fn start_drill(
        &self,
        actor: &Actor,
        start: DrillStart,
    ) -> Result<(IncidentState, Vec<Injected>)> {
        require_role(actor, AccountRole::Responder)?;
        let scenario = match &start.source {
            Some(text) => custom_scenario(text)?,
            None => scenario(&start.scenario)?,
        };
        let playbook = self
            .inner
            .playbooks
            .get(&scenario.playbook)
            .ok_or_else(|| {
                AppError::Invalid(format!(
                    "scenario {:?} runs playbook {:?}, which this server does not have",
                    scenario.id, scenario.playbook
                ))
            })?;
        let steps: Vec<u32> = playbook.steps.iter().map(|s| s.n).collect();
        scenario
            .check_playbook(&scenario.id, &playbook.id, &steps)
            .map_err(|errs| {
                let msg: Vec<String> = errs.iter().map(ToString::to_string).collect();
                AppError::Invalid(msg.join("; "))
            })?;
        let mut participants: BTreeSet<UserName> = start.participants.into_iter().collect();
        participants.insert(actor.user.clone());
        if let Some(team) = &start.team {
            let team = self.load_visible::<TeamState>(actor, team).await?;
            participants.extend(team.members.keys().cloned());
        }
        let marker = DrillMarker {
            scenario: scenario.id.clone(),
            participants: participants.into_iter().collect(),
            source: start.source.clone(),
        };
        let d = &scenario.declaration;
        let input = DeclareInput {
            title: format!("{DRILL_TITLE_PREFIX}{}", d.title),
            kind: Some(d.kind),
            severity: d.severity,
            // Invented content: everyone may see a drill and its outcome (last tested).
            restricted: Some(false),
            summary: d.summary.clone(),
            playbook: Some(scenario.playbook.clone()),
            commander: None,
            aware_at: None,
        };
        let done = self
            .declare_with(
                actor,
                None,
                input,
                crate::incidents::Marks {
                    drill: Some(marker),
                    from_alert: None,
                },
                &Options::default(),
                None,
            )
            .await?
            .done()?;
        let id = done.state.id.to_string();
        // The drill worker follows this drill from now on.
        self.inner.drill_wake.notify_one();
        let released = self.drill_tick(actor, &id, None).await?;
        let st = self.load_visible::<IncidentState>(actor, &id).await?;
        Ok((st, released))
    }

    /// Release a drill's injections that are due now, or — a facilitator moving the drill on —
    /// due by `until` after its start. Each release is recorded once on the incident's ledger;
    /// an evidence file is acquired into the vault first (an idempotency key per injection, so a
    /// tick cut short and run again acquires it once).
    pub async fn drill_tick(
        &self,
        actor: &Actor,
        reference: &str,
        until: Option<Dur>,
    ) -> Result<Vec<Injected>> {
        require_role(actor, AccountRole::Responder)?;
        // One tick at a time on this server (a facilitator's and the worker's): what is due is
        // decided and released without another tick releasing it too.
        let _one = self.inner.drill_ticks.lock().await;
        let st = self.load_visible::<IncidentState>(actor, reference).await?;
        let Some(marker) = st.drill.clone() else {
            return Err(AppError::Invalid(format!(
                "{} is a real incident, not a drill",
                st.codename
            )));
        };
        let scenario = scenario_of(&marker)?;
        let run = DrillRun {
            scenario: scenario.id.clone(),
            started_at: st.declared_at,
            released: st
                .injected
                .iter()
                .map(|i| Release {
                    injection: i.injection.clone(),
                    due_at: i.due_at,
                    released_at: i.released_at,
                })
                .collect(),
        };
        let at = now();
        let as_of = match until {
            Some(d) => Timestamp(st.declared_at.0 + d.to_time()).max(at),
            None => at,
        };
        let due = palisade_training::due(&scenario, &run, &step_events(&st), as_of);
        let id = st.id.to_string();
        for r in &due {
            let Some(inj) = scenario.injection(&r.injection) else {
                continue;
            };
            let severity = match &inj.content {
                Content::Status(c) => c.severity,
                _ => None,
            };
            let (kind, text) = match &inj.content {
                Content::Discovery(text) => ("discovery", text.clone()),
                Content::Alert(a) => (
                    "alert",
                    format!("{} ({}, {})", a.summary, a.source, a.severity),
                ),
                Content::Status(c) => {
                    let mut parts = Vec::new();
                    if let Some(s) = c.severity {
                        parts.push(format!("severity now {s}"));
                    }
                    if let Some(s) = c.status {
                        parts.push(format!("status now {s}"));
                    }
                    if let Some(m) = &c.message {
                        parts.push(m.clone());
                    }
                    ("status", parts.join("; "))
                }
                Content::Evidence(ev) => {
                    let name = EvidenceName::parse(&ev.name)
                        .map_err(|e| AppError::Invalid(e.to_string()))?;
                    let bytes = ev.render(st.declared_at).into_bytes();
                    let key = IdempotencyKey::new(
                        &format!("drill-{}-{}", st.id, inj.id),
                        "drill evidence",
                        inj.id.as_bytes(),
                    )?;
                    let opts = Options {
                        occurred_at: None,
                        idempotency: Some(key),
                    };
                    let input = AcquireInput {
                        name,
                        source: format!("drill scenario {}", scenario.id),
                        tool: "palisade drill".into(),
                        sha256: None,
                        note: ev.description.clone(),
                    };
                    let render = |_: &crate::Executed<IncidentState>| String::new();
                    self.acquire_evidence_with(
                        actor,
                        &id,
                        input,
                        std::io::Cursor::new(bytes),
                        &opts,
                        Some(&render),
                    )
                    .await?;
                    let text = match &ev.description {
                        Some(d) => format!("{}: {d}", ev.name),
                        None => ev.name.clone(),
                    };
                    ("evidence", text)
                }
            };
            self.execute::<IncidentState>(
                actor,
                &id,
                Command::ReleaseInjection {
                    injection: inj.id.clone(),
                    kind: kind.into(),
                    due_at: r.due_at,
                    text: if text.trim().is_empty() {
                        inj.id.clone()
                    } else {
                        text
                    },
                    severity,
                },
                &Options::default(),
                None,
            )
            .await?;
        }
        let after = self.load_visible::<IncidentState>(actor, &id).await?;
        let released: BTreeSet<&str> = due.iter().map(|r| r.injection.as_str()).collect();
        Ok(after
            .injected
            .into_iter()
            .filter(|i| released.contains(i.injection.as_str()))
            .collect())
    }

    /// Drills `actor` can see (a bounded number of the newest), as states.
    async fn drills_visible(&self, actor: &Actor) -> Result<Vec<IncidentState>> {
        let list = self
            .list_incidents(&ListFilter {
                viewer: actor.user.clone(),
                status: None,
                severity: None,
                kind: None,
                mine: false,
                limit: DRILL_SCAN_LIMIT,
            })
            .await?;
        let mut out = Vec::new();
        for summary in list
            .iter()
            .filter(|s| s.title.starts_with(DRILL_TITLE_PREFIX))
        {
            if let Some(st) = self.load::<IncidentState>(summary.id).await?
                && st.drill.is_some()
                && st.visible_to(&actor.user)
            {
                out.push(st);
            }
        }
        Ok(out)
    }

    /// A drill's score and its debrief, compared with the earlier runs of its scenario that
    /// `actor` can see.
    pub async fn drill_debrief(
        &self,
        actor: &Actor,
        reference: &str,
        format: DebriefFormat,
    ) -> Result<(DrillScore, String)> {
        // Checked before the read is recorded: a real incident's debrief is refused unrecorded.
        let visible = self.load_visible::<IncidentState>(actor, reference).await?;
        if visible.drill.is_none() {
            return Err(AppError::Invalid(format!(
                "{} is a real incident, not a drill",
                visible.codename
            )));
        }
        let (st, events) = self
            .incident_with_events(actor, reference, "drill debrief")
            .await?;
        let Some(marker) = st.drill.clone() else {
            return Err(AppError::Invalid(format!(
                "{} is a real incident, not a drill",
                st.codename
            )));
        };
        let scenario = scenario_of(&marker)?;
        let at = now();
        let score = palisade_training::score(&scenario, &timeline(&st, &events, at));
        let mut previous = Vec::new();
        for other in self.drills_visible(actor).await? {
            let same = other
                .drill
                .as_ref()
                .is_some_and(|d| d.scenario == marker.scenario);
            if !same || other.id == st.id || other.declared_at >= st.declared_at {
                continue;
            }
            let (o, ev) = self
                .incident_with_events(actor, &other.id.to_string(), "drill debrief")
                .await?;
            previous.push(palisade_training::score(&scenario, &timeline(&o, &ev, at)));
        }
        let step_titles: BTreeMap<u32, String> = st
            .playbook
            .steps
            .iter()
            .map(|s| (s.n, s.title.clone()))
            .collect();
        let debrief = Debrief {
            scenario: &scenario,
            score: &score,
            previous: &previous,
            step_titles: &step_titles,
        };
        let text = match format {
            DebriefFormat::Markdown => debrief.markdown(),
            DebriefFormat::Html => debrief.html(),
        };
        Ok((score, text))
    }

    /// Every playbook with its last review (as written) and last test (the newer of the file's
    /// date and the newest drill of it on the ledger), flagged when untested for longer than
    /// `period_days`.
    pub async fn playbook_status(
        &self,
        actor: &Actor,
        period_days: u32,
    ) -> Result<Vec<PlaybookStatus>> {
        let mut drilled: BTreeMap<String, String> = BTreeMap::new();
        for d in self.drills_visible(actor).await? {
            let day = date_of(d.declared_at);
            let e = drilled.entry(d.playbook.id.clone()).or_default();
            if *e < day {
                *e = day;
            }
        }
        let today = now().utc().date();
        let mut out = Vec::new();
        for p in self.inner.playbooks.values() {
            let mut dates = PlaybookDates::from(p);
            if let Some(day) = drilled.get(&p.id)
                && dates.last_tested.as_ref().is_none_or(|t| t < day)
            {
                dates.last_tested = Some(day.clone());
            }
            let status = tested::check(std::slice::from_ref(&dates), period_days, today)
                .into_iter()
                .next()
                .ok_or_else(|| AppError::internal("no test status", "empty check"))?;
            out.push(PlaybookStatus {
                id: p.id.clone(),
                name: p.name.clone(),
                version: p.version,
                last_reviewed: dates.last_reviewed,
                last_tested: dates.last_tested,
                status,
            });
        }
        Ok(out)
    }
}

/// Who releases a drill's injections when nobody ticks it: the drill worker.
pub fn drill_actor() -> Actor {
    Actor {
        user: palisade_core::UserName::parse("drill").expect("a valid user name"),
        account_role: AccountRole::Responder,
    }
}

/// Run while the application lives: release the due injections of open drills without a
/// facilitator — at once when a drill's incident changes (a step reached releases what waits
/// for it), and every `poll` for injections due at a time. The drills are found from the
/// incident list each `poll` and whenever a drill is started.
pub(crate) async fn run(app: std::sync::Weak<crate::Inner>, poll: std::time::Duration) {
    let mut changed = match app.upgrade() {
        Some(inner) => inner.changed.subscribe(),
        None => return,
    };
    let mut open: BTreeSet<uuid::Uuid> = BTreeSet::new();
    let mut refresh = true;
    loop {
        let mut due: Vec<uuid::Uuid> = Vec::new();
        {
            let Some(inner) = app.upgrade() else {
                return;
            };
            let app = App { inner };
            if refresh {
                match app.drills_visible(&drill_actor()).await {
                    Ok(list) => {
                        open = list
                            .iter()
                            .filter(|s| s.status.is_open())
                            .map(|s| s.id)
                            .collect();
                        due.extend(open.iter().copied());
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot list the open drills"),
                }
            }
        }
        for id in due {
            let Some(inner) = app.upgrade() else {
                return;
            };
            let app = App { inner };
            if let Err(e) = app.drill_tick(&drill_actor(), &id.to_string(), None).await {
                tracing::warn!(error = %e, drill = %id, "cannot release a drill's injections");
            }
        }
        refresh = false;
        let wake = match app.upgrade() {
            Some(inner) => inner.drill_wake.clone(),
            None => return,
        };
        let next = tokio::select! {
            c = changed.recv() => Some(c),
            _ = wake.notified() => {
                refresh = true;
                continue;
            }
            _ = tokio::time::sleep(poll) => None,
        };
        match next.ok_or(()) {
            Ok(Ok(id)) if open.contains(&id) => {
                let Some(inner) = app.upgrade() else {
                    return;
                };
                let app = App { inner };
                if let Err(e) = app.drill_tick(&drill_actor(), &id.to_string(), None).await {
                    tracing::warn!(error = %e, drill = %id, "cannot release a drill's injections");
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) | Err(()) => {
                refresh = true
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return,
        }
    }
}
