//! Drill scenarios: a YAML file that scripts an incident for a team to run through a playbook.
//!
//! A scenario says what is declared, what is injected and when (alerts, evidence files, status
//! changes, discoveries — at a time after the start, `at: 15m`, or when a step is reached,
//! `on_step: 4`), and what a team is expected to decide, with points. Reading checks the file's
//! shape and its own references, and names the line of every mistake; [`Scenario::check_playbook`]
//! checks it against a playbook's id and step numbers, given by the caller. See
//! `docs/training.md` for the format.

use crate::duration::Dur;
use crate::generate::Generate;
use crate::yaml::{self, LocatedError, Positions};
use palisade_core::alert::{AlertDetails, AlertSeverity, CustomDetails};
use palisade_core::custody::EvidenceName;
use palisade_core::types::{Kind, Role, Severity, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// The format version this crate reads.
pub const FORMAT: u32 = 1;
/// Most injections in one scenario.
pub const MAX_INJECTIONS: usize = 500;
/// Most expectations in one scenario.
pub const MAX_EXPECTATIONS: usize = 200;
/// Most points one expectation may carry.
pub const MAX_POINTS: u32 = 1000;
/// Longest inline evidence content, in bytes.
pub const MAX_CONTENT_BYTES: usize = 256 * 1024;

/// Where something was written in its file (1-based); not part of the scenario's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// A public write-up a scenario is based on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub title: String,
    pub url: String,
}

/// What the team declares when the drill starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    pub title: String,
    pub severity: Severity,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A scripted incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub sources: Vec<Source>,
    /// The playbook it runs (`security`).
    pub playbook: String,
    pub declaration: Declaration,
    /// How long the drill is planned to last, if said.
    pub duration: Option<Dur>,
    pub injections: Vec<Injection>,
    pub expectations: Vec<Expectation>,
    /// Where `playbook:` is written.
    #[serde(default)]
    pub playbook_at: Location,
}

/// When an injection is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// This long after the drill starts.
    At(Dur),
    /// When the team first reaches this step (starts, completes or waives it).
    OnStep(u32),
}

/// Something released to the team during a drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Injection {
    pub id: String,
    pub trigger: Trigger,
    pub content: Content,
    #[serde(default)]
    pub location: Location,
}

/// What an injection releases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// An alert, as the monitoring tool would raise it.
    Alert(ScenarioAlert),
    /// A file handed to the team as evidence.
    Evidence(ScenarioEvidence),
    /// The situation changes: a new severity, status or a message from the facilitator.
    Status(StatusChange),
    /// A fact the team learns.
    Discovery(String),
}

impl Content {
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Alert(_) => "alert",
            Content::Evidence(_) => "evidence",
            Content::Status(_) => "status",
            Content::Discovery(_) => "discovery",
        }
    }
}

/// An injected alert; [`ScenarioAlert::details`] is what the alert aggregate takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioAlert {
    pub summary: String,
    pub source: String,
    pub severity: AlertSeverity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_details: Option<serde_json::Value>,
}

impl ScenarioAlert {
    /// The alert as the core's alert aggregate records it.
    pub fn details(&self) -> AlertDetails {
        AlertDetails {
            summary: self.summary.clone(),
            source: self.source.clone(),
            severity: self.severity,
            timestamp: None,
            component: self.component.clone(),
            group: None,
            class: self.class.clone(),
            custom_details: self.custom_details.as_ref().map(CustomDetails::from_value),
            links: vec![],
            images: vec![],
            client: Some("palisade drill".into()),
            client_url: None,
        }
    }
}

/// An evidence file: its content written out, or generated (a log excerpt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioEvidence {
    /// The file name (a portable name: no `/`, no control characters).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<Generate>,
}

impl ScenarioEvidence {
    /// The file's bytes for a drill that started at `start` (generated content depends on it;
    /// the same scenario and start always give the same bytes).
    pub fn render(&self, start: palisade_core::Timestamp) -> String {
        match (&self.content, &self.generate) {
            (Some(c), _) => c.clone(),
            (None, Some(g)) => g.render(start),
            (None, None) => String::new(),
        }
    }
}

/// A change of the situation the facilitator announces (and may apply to the incident).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A decision the team is expected to take, with the points it is worth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    pub id: String,
    pub description: String,
    pub points: u32,
    pub check: Check,
    #[serde(default)]
    pub location: Location,
}

/// What an expectation checks in the drill's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Step `step` is done within `within` of the start (a waiver counts only if `waiver_ok`).
    StepDone {
        step: u32,
        within: Option<Dur>,
        #[serde(default)]
        waiver_ok: bool,
    },
    /// Step `first` is done before step `then` is (contain before eradicate).
    Order { first: u32, then: u32 },
    /// Someone in `audience` (`legal`, `regulator`, `internal`, …) is told within `within`.
    Notify { audience: String, within: Dur },
    /// Evidence `evidence` (an injected file's name) is recorded with its custody kept.
    Custody { evidence: String },
    /// Updates to `audience` at least every `every` (plus `grace`) from start to end.
    Cadence {
        audience: String,
        every: Dur,
        #[serde(default)]
        grace: Dur,
    },
    /// The playbook never had to refuse a command by rule `rule`.
    RespectRule { rule: String },
    /// Role `role` is assigned within `within`.
    Role { role: Role, within: Dur },
}

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default)]
    version: Option<u32>,
    id: String,
    title: String,
    summary: String,
    #[serde(default)]
    sources: Vec<Source>,
    playbook: String,
    declaration: Declaration,
    #[serde(default)]
    duration: Option<Dur>,
    #[serde(default)]
    injections: Vec<RawInjection>,
    #[serde(default)]
    expectations: Vec<RawExpectation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInjection {
    id: String,
    #[serde(default)]
    at: Option<Dur>,
    #[serde(default)]
    on_step: Option<u32>,
    #[serde(default)]
    alert: Option<ScenarioAlert>,
    #[serde(default)]
    evidence: Option<ScenarioEvidence>,
    #[serde(default)]
    status: Option<StatusChange>,
    #[serde(default)]
    discovery: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDoneRaw {
    step: u32,
    #[serde(default)]
    within: Option<Dur>,
    #[serde(default)]
    waiver_ok: bool,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderRaw {
    first: u32,
    then: u32,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyRaw {
    audience: String,
    within: Dur,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustodyRaw {
    evidence: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CadenceRaw {
    audience: String,
    every: Dur,
    #[serde(default)]
    grace: Dur,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleRaw {
    rule: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleRaw {
    role: Role,
    within: Dur,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpectation {
    id: String,
    #[serde(default)]
    description: Option<String>,
    points: u32,
    #[serde(default)]
    step_done: Option<StepDoneRaw>,
    #[serde(default)]
    order: Option<OrderRaw>,
    #[serde(default)]
    notify: Option<NotifyRaw>,
    #[serde(default)]
    custody: Option<CustodyRaw>,
    #[serde(default)]
    cadence: Option<CadenceRaw>,
    #[serde(default)]
    respect_rule: Option<RuleRaw>,
    #[serde(default)]
    role: Option<RoleRaw>,
}

/// Ids of scenarios, injections and expectations: 1–64 of `a-z 0-9 - _ .`, starting with a
/// letter or digit.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

/// An audience label: 1–64 of `a-z 0-9 - _ .` and spaces (`legal`, `regulator`, `internal`).
fn valid_audience(a: &str) -> bool {
    let t = a.trim();
    !t.is_empty()
        && t.len() <= 64
        && t.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b' ' | b'(' | b')')
        })
}

/// An audience as compared: trimmed, lower case.
pub fn audience_key(a: &str) -> String {
    a.trim().to_ascii_lowercase()
}

impl Scenario {
    /// Read a scenario file (at most [`yaml::MAX_FILE_BYTES`]).
    pub fn load(path: &Path) -> Result<Scenario, Vec<LocatedError>> {
        let name = path.display().to_string();
        let whole = |message: String| {
            vec![LocatedError {
                file: name.clone(),
                line: 1,
                column: 1,
                path: String::new(),
                message,
            }]
        };
        let meta = std::fs::metadata(path).map_err(|e| whole(format!("cannot read: {e}")))?;
        if meta.len() > yaml::MAX_FILE_BYTES as u64 {
            return Err(whole(format!(
                "the file is {} bytes; a scenario file may be at most {} bytes",
                meta.len(),
                yaml::MAX_FILE_BYTES
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| whole(format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|_| whole("not UTF-8 text".into()))?;
        Scenario::from_yaml(&name, &text)
    }

    /// Parse and check a scenario; `file` names it in errors. Every error found is returned.
    pub fn from_yaml(file: &str, text: &str) -> Result<Scenario, Vec<LocatedError>> {
        let (raw, pos): (RawScenario, Positions) =
            yaml::parse(file, text, "a scenario").map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        let mut err = |path: &str, message: String| {
            let (line, column) = pos.locate(path);
            errors.push(LocatedError {
                file: file.to_string(),
                line,
                column,
                path: path.to_string(),
                message,
            });
        };
        let loc = |path: &str| {
            let (line, column) = pos.locate(path);
            Location { line, column }
        };
        if let Some(v) = raw.version
            && v != FORMAT
        {
            err(
                "version",
                format!("format version {v} is not known; this Palisade reads version {FORMAT}"),
            );
        }
        if !valid_id(&raw.id) {
            err(
                "id",
                format!(
                    "{:?} is not an id: use 1–64 of a-z, 0-9, '-', '_', '.', starting with a letter or digit",
                    raw.id
                ),
            );
        }
        for (field, value, max) in [
            ("title", &raw.title, 200),
            ("summary", &raw.summary, 10_000),
            ("declaration.title", &raw.declaration.title, 200),
        ] {
            if value.trim().is_empty() {
                err(field, "must not be empty".into());
            } else if value.chars().count() > max {
                err(field, format!("is longer than {max} characters"));
            }
        }
        for (i, s) in raw.sources.iter().enumerate() {
            if !(s.url.starts_with("https://") || s.url.starts_with("http://"))
                || s.url.chars().any(char::is_whitespace)
            {
                err(
                    &format!("sources[{i}].url"),
                    format!("{:?} is not an http(s) link", s.url),
                );
            }
            if s.title.trim().is_empty() {
                err(&format!("sources[{i}].title"), "must not be empty".into());
            }
        }
        if raw.injections.len() > MAX_INJECTIONS {
            err(
                "injections",
                format!("more than {MAX_INJECTIONS} injections"),
            );
        }
        if raw.expectations.len() > MAX_EXPECTATIONS {
            err(
                "expectations",
                format!("more than {MAX_EXPECTATIONS} expectations"),
            );
        }

        let mut injections = Vec::new();
        let mut ids = BTreeSet::new();
        let mut evidence_names = BTreeSet::new();
        for (i, r) in raw.injections.into_iter().enumerate() {
            let base = format!("injections[{i}]");
            if !valid_id(&r.id) {
                err(&format!("{base}.id"), format!("{:?} is not an id", r.id));
            } else if !ids.insert(r.id.clone()) {
                err(
                    &format!("{base}.id"),
                    format!("injection id {:?} is used twice", r.id),
                );
            }
            let trigger = match (r.at, r.on_step) {
                (Some(at), None) => Some(Trigger::At(at)),
                (None, Some(step)) => Some(Trigger::OnStep(step)),
                (Some(_), Some(_)) => {
                    err(
                        &format!("{base}.on_step"),
                        "an injection is released either `at` a time or `on_step`, not both".into(),
                    );
                    None
                }
                (None, None) => {
                    err(
                        &base,
                        "say when it is released: `at: 15m` (after the start) or `on_step: 4`"
                            .into(),
                    );
                    None
                }
            };
            let given = [
                r.alert.is_some(),
                r.evidence.is_some(),
                r.status.is_some(),
                r.discovery.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if given != 1 {
                err(
                    &base,
                    format!(
                        "an injection releases exactly one of `alert`, `evidence`, `status` or `discovery` ({given} given)"
                    ),
                );
            }
            let content = if let Some(a) = r.alert {
                for p in a.details().problems() {
                    err(&format!("{base}.alert"), p);
                }
                Some(Content::Alert(a))
            } else if let Some(e) = r.evidence {
                let p = format!("{base}.evidence");
                if let Err(why) = EvidenceName::parse(&e.name) {
                    err(&format!("{p}.name"), why.to_string());
                } else if !evidence_names.insert(e.name.clone()) {
                    err(
                        &format!("{p}.name"),
                        format!("evidence {:?} is injected twice", e.name),
                    );
                }
                match (&e.content, &e.generate) {
                    (Some(_), Some(_)) => err(
                        &p,
                        "evidence has either `content` or `generate`, not both".into(),
                    ),
                    (None, None) => err(
                        &p,
                        "evidence needs `content` (written out) or `generate` (a log)".into(),
                    ),
                    (Some(c), None) if c.len() > MAX_CONTENT_BYTES => err(
                        &format!("{p}.content"),
                        format!("content is longer than {MAX_CONTENT_BYTES} bytes"),
                    ),
                    (None, Some(g)) => {
                        for (path, message) in g.problems() {
                            err(&format!("{p}.generate{path}"), message);
                        }
                    }
                    _ => {}
                }
                Some(Content::Evidence(e))
            } else if let Some(s) = r.status {
                if s.severity.is_none() && s.status.is_none() && s.message.is_none() {
                    err(
                        &format!("{base}.status"),
                        "a status change names a `severity`, a `status` or a `message`".into(),
                    );
                }
                if matches!(s.status, Some(Status::Closed | Status::Resolved)) {
                    err(
                        &format!("{base}.status.status"),
                        "a scenario cannot resolve or close the incident for the team".into(),
                    );
                }
                Some(Content::Status(s))
            } else if let Some(d) = r.discovery {
                if d.trim().is_empty() || d.len() > 10_000 {
                    err(
                        &format!("{base}.discovery"),
                        "a discovery is 1–10,000 bytes of text".into(),
                    );
                }
                Some(Content::Discovery(d))
            } else {
                None
            };
            if let (Some(trigger), Some(content), 1) = (trigger, content, given) {
                injections.push(Injection {
                    id: r.id,
                    trigger,
                    content,
                    location: loc(&base),
                });
            }
        }

        let mut expectations = Vec::new();
        let mut ids = BTreeSet::new();
        for (i, r) in raw.expectations.into_iter().enumerate() {
            let base = format!("expectations[{i}]");
            if !valid_id(&r.id) {
                err(&format!("{base}.id"), format!("{:?} is not an id", r.id));
            } else if !ids.insert(r.id.clone()) {
                err(
                    &format!("{base}.id"),
                    format!("expectation id {:?} is used twice", r.id),
                );
            }
            if r.points == 0 || r.points > MAX_POINTS {
                err(
                    &format!("{base}.points"),
                    format!("points are 1–{MAX_POINTS}, not {}", r.points),
                );
            }
            let mut checks = Vec::new();
            if let Some(c) = r.step_done {
                checks.push(Check::StepDone {
                    step: c.step,
                    within: c.within,
                    waiver_ok: c.waiver_ok,
                });
            }
            if let Some(c) = r.order {
                if c.first == c.then {
                    err(
                        &format!("{base}.order"),
                        "`first` and `then` name the same step".into(),
                    );
                }
                checks.push(Check::Order {
                    first: c.first,
                    then: c.then,
                });
            }
            if let Some(c) = r.notify {
                if !valid_audience(&c.audience) {
                    err(
                        &format!("{base}.notify.audience"),
                        format!("{:?} is not an audience label", c.audience),
                    );
                }
                checks.push(Check::Notify {
                    audience: c.audience,
                    within: c.within,
                });
            }
            if let Some(c) = r.custody {
                if !evidence_names.contains(&c.evidence) {
                    err(
                        &format!("{base}.custody.evidence"),
                        format!(
                            "no injected evidence is named {:?} (injected: {})",
                            c.evidence,
                            list(evidence_names.iter())
                        ),
                    );
                }
                checks.push(Check::Custody {
                    evidence: c.evidence,
                });
            }
            if let Some(c) = r.cadence {
                if !valid_audience(&c.audience) {
                    err(
                        &format!("{base}.cadence.audience"),
                        format!("{:?} is not an audience label", c.audience),
                    );
                }
                if c.every.0 < 60 {
                    err(
                        &format!("{base}.cadence.every"),
                        "a cadence is at least a minute".into(),
                    );
                }
                checks.push(Check::Cadence {
                    audience: c.audience,
                    every: c.every,
                    grace: c.grace,
                });
            }
            if let Some(c) = r.respect_rule {
                if palisade_core::rule::by_id(&c.rule).is_none() {
                    err(
                        &format!("{base}.respect_rule.rule"),
                        format!(
                            "{:?} is not a rule of the playbook or the incident (see docs/playbooks.md)",
                            c.rule
                        ),
                    );
                }
                checks.push(Check::RespectRule { rule: c.rule });
            }
            if let Some(c) = r.role {
                checks.push(Check::Role {
                    role: c.role,
                    within: c.within,
                });
            }
            if checks.len() != 1 {
                err(
                    &base,
                    format!(
                        "an expectation checks exactly one of `step_done`, `order`, `notify`, `custody`, `cadence`, `respect_rule` or `role` ({} given)",
                        checks.len()
                    ),
                );
                continue;
            }
            let check = checks.pop().expect("one check");
            let description = r
                .description
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| describe(&check));
            expectations.push(Expectation {
                id: r.id,
                description,
                points: r.points,
                check,
                location: loc(&base),
            });
        }

        if errors.is_empty() {
            Ok(Scenario {
                id: raw.id,
                title: raw.title,
                summary: raw.summary,
                sources: raw.sources,
                playbook: raw.playbook,
                declaration: raw.declaration,
                duration: raw.duration,
                injections,
                expectations,
                playbook_at: loc("playbook"),
            })
        } else {
            Err(errors)
        }
    }

    /// Check the scenario against the playbook it names: its id, and every step number an
    /// injection or expectation uses (`step_ids`: the playbook's steps, e.g. from
    /// `palisade_core::Playbook::steps`). `file` names the scenario in errors.
    pub fn check_playbook(
        &self,
        file: &str,
        playbook_id: &str,
        step_ids: &[u32],
    ) -> Result<(), Vec<LocatedError>> {
        let mut errors = Vec::new();
        let at = |l: Location, path: String, message: String| LocatedError {
            file: file.to_string(),
            line: l.line,
            column: l.column,
            path,
            message,
        };
        let known = || {
            let mut s: Vec<u32> = step_ids.to_vec();
            s.sort_unstable();
            match (s.first(), s.last()) {
                (Some(a), Some(b)) if s.len() as u32 == b - a + 1 => format!("{a}–{b}"),
                _ => list(s.iter()),
            }
        };
        if self.playbook != playbook_id {
            errors.push(at(
                self.playbook_at,
                "playbook".into(),
                format!(
                    "the scenario runs playbook {:?}, checked against {:?}",
                    self.playbook, playbook_id
                ),
            ));
        }
        for (i, inj) in self.injections.iter().enumerate() {
            if let Trigger::OnStep(s) = inj.trigger
                && !step_ids.contains(&s)
            {
                errors.push(at(
                    inj.location,
                    format!("injections[{i}].on_step"),
                    format!(
                        "injection {:?} waits for step {s}, which playbook {playbook_id:?} does not have (steps {})",
                        inj.id,
                        known()
                    ),
                ));
            }
        }
        for (i, e) in self.expectations.iter().enumerate() {
            let steps: Vec<u32> = match &e.check {
                Check::StepDone { step, .. } => vec![*step],
                Check::Order { first, then } => vec![*first, *then],
                _ => vec![],
            };
            for s in steps {
                if !step_ids.contains(&s) {
                    errors.push(at(
                        e.location,
                        format!("expectations[{i}]"),
                        format!(
                            "expectation {:?} names step {s}, which playbook {playbook_id:?} does not have (steps {})",
                            e.id,
                            known()
                        ),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub fn injection(&self, id: &str) -> Option<&Injection> {
        self.injections.iter().find(|i| i.id == id)
    }

    /// The points all expectations are worth together.
    pub fn possible_points(&self) -> u32 {
        self.expectations.iter().map(|e| e.points).sum()
    }

    /// The injected evidence files.
    pub fn evidence(&self) -> impl Iterator<Item = &ScenarioEvidence> {
        self.injections.iter().filter_map(|i| match &i.content {
            Content::Evidence(e) => Some(e),
            _ => None,
        })
    }
}

/// A check said in words (when the file gives no description).
pub fn describe(check: &Check) -> String {
    match check {
        Check::StepDone {
            step,
            within: Some(w),
            ..
        } => format!("step {step} done within {w}"),
        Check::StepDone {
            step, within: None, ..
        } => format!("step {step} done"),
        Check::Order { first, then } => format!("step {first} done before step {then}"),
        Check::Notify { audience, within } => format!("{audience} notified within {within}"),
        Check::Custody { evidence } => format!("custody of {evidence} recorded and kept"),
        Check::Cadence {
            audience, every, ..
        } => format!("{audience} updates at least every {every}"),
        Check::RespectRule { rule } => format!("no command refused by rule {rule}"),
        Check::Role { role, within } => format!("{role} assigned within {within}"),
    }
}

fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let v: Vec<String> = items.map(|t| t.to_string()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The shipped scenarios (`scenarios/*.yaml`), compiled in: (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "leaked-cloud-key.yaml",
        include_str!("../scenarios/leaked-cloud-key.yaml"),
    ),
    (
        "compromised-dependency.yaml",
        include_str!("../scenarios/compromised-dependency.yaml"),
    ),
    (
        "insider-exfiltration.yaml",
        include_str!("../scenarios/insider-exfiltration.yaml"),
    ),
];
