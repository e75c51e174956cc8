//! Communications: status updates with an audience and their cadence, external statements
//! (draft → IC approval of an exact revision → publication with the date in the title), the time
//! the organisation became aware of the incident and the notification deadlines that run from it.
//!
//! Like the rest of the core this does no I/O and reads no clock: the policy (cadences, deadlines,
//! phrases to avoid) and `now` are passed in. What the rules decided is recorded in the ledger —
//! the deadlines in force are copied into the `awareness_recorded` event, as the playbook is into
//! `declared` — so a later policy change never rewrites what applied to an old incident.

use crate::event::{Event, Payload, Timestamp};
use crate::incident::{Actor, IncidentState, Refusal, rules};
use crate::rule::refuse;
use crate::types::{Role, Severity, UserName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use time::Duration;

/// Who a status update is for. Updates recorded before audiences existed are internal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Internal,
    External,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Internal => "internal",
            Audience::External => "external",
        }
    }
}
impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl FromStr for Audience {
    type Err = crate::types::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "internal" | "int" => Ok(Audience::Internal),
            "external" | "ext" | "public" => Ok(Audience::External),
            _ => Err(crate::types::ParseError {
                what: "audience",
                value: s.to_string(),
                expected: "internal or external",
            }),
        }
    }
}

/// A notification deadline: `hours` after the organisation became aware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeadlineDef {
    pub name: String,
    pub hours: u32,
}

/// How often updates are due, per severity, in minutes. A severity that is absent has no cadence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CadencePolicy {
    pub internal: BTreeMap<Severity, u32>,
    pub external: BTreeMap<Severity, u32>,
}

impl Default for CadencePolicy {
    fn default() -> Self {
        CadencePolicy {
            internal: BTreeMap::from([
                (Severity::SEV1, 30),
                (Severity::SEV2, 30),
                (Severity::SEV3, 60),
            ]),
            external: BTreeMap::new(),
        }
    }
}

/// The communications policy (`[comms]` in `palisade.toml`). Every table given replaces its
/// default as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommsPolicy {
    pub cadence: CadencePolicy,
    /// Notification deadlines, copied into the ledger when awareness is recorded.
    pub deadlines: Vec<DeadlineDef>,
    /// Phrases external statements and updates must not contain (case-insensitive, whitespace
    /// normalised).
    pub avoid_phrases: Vec<String>,
}

/// The default notification deadline.
pub const GDPR_ART_33: &str = "GDPR Art. 33 (supervisory authority)";

impl Default for CommsPolicy {
    fn default() -> Self {
        CommsPolicy {
            cadence: CadencePolicy::default(),
            deadlines: vec![DeadlineDef {
                name: GDPR_ART_33.to_string(),
                hours: 72,
            }],
            avoid_phrases: [
                "we take security very seriously",
                "we take your privacy very seriously",
                "highly sophisticated attack",
                "out of an abundance of caution",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl CommsPolicy {
    /// Check the policy is usable; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        for (audience, map) in [
            ("internal", &self.cadence.internal),
            ("external", &self.cadence.external),
        ] {
            for (sev, m) in map {
                if *m == 0 || *m > 7 * 24 * 60 {
                    return Err(format!(
                        "comms.cadence.{audience}.{sev}: {m} minutes is out of range (1 … 10080)"
                    ));
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.deadlines {
            if d.name.trim().is_empty() || d.name.len() > 200 {
                return Err("comms.deadlines: every deadline needs a name of 1–200 bytes".into());
            }
            if d.hours == 0 || d.hours > 24 * 366 {
                return Err(format!(
                    "comms.deadlines {:?}: {} hours is out of range (1 … 8784)",
                    d.name, d.hours
                ));
            }
            if !seen.insert(d.name.trim()) {
                return Err(format!(
                    "comms.deadlines: the name {:?} is used twice",
                    d.name
                ));
            }
        }
        if self.avoid_phrases.iter().any(|p| normalise(p).is_empty()) {
            return Err("comms.avoid_phrases: a phrase is empty".into());
        }
        Ok(())
    }

    /// The cadence in minutes for an audience at a severity, if any.
    pub fn cadence(&self, audience: Audience, severity: Severity) -> Option<u32> {
        match audience {
            Audience::Internal => self.cadence.internal.get(&severity).copied(),
            Audience::External => self.cadence.external.get(&severity).copied(),
        }
    }

    /// The avoided phrases `text` contains, as configured, in policy order.
    pub fn avoided_in(&self, text: &str) -> Vec<String> {
        let t = normalise(text);
        self.avoid_phrases
            .iter()
            .filter(|p| {
                let p = normalise(p);
                !p.is_empty() && t.contains(&p)
            })
            .cloned()
            .collect()
    }
}

/// Lower case, typographic quotes made plain, runs of whitespace made one space.
pub fn normalise(s: &str) -> String {
    let lowered: String = s
        .to_lowercase()
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{02bc}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            c => c,
        })
        .collect();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One revision of a statement's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatementRevision {
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub revision: u32,
    pub title: String,
    pub body: String,
    pub by: UserName,
    pub at: Timestamp,
}

/// An approval or publication of one revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionMark {
    pub revision: u32,
    pub by: UserName,
    pub at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a publication: the title as published (dated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// An external statement and its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub n: u32,
    pub revisions: Vec<StatementRevision>,
    pub approvals: Vec<RevisionMark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<RevisionMark>,
}

impl Statement {
    pub fn latest(&self) -> &StatementRevision {
        self.revisions.last().expect("a statement has a revision")
    }
    /// The approval of the latest revision, if the IC gave one.
    pub fn approval_of_latest(&self) -> Option<&RevisionMark> {
        let r = self.latest().revision;
        self.approvals.iter().rev().find(|a| a.revision == r)
    }
}

/// When a deadline was met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadlineMetRecord {
    pub by: UserName,
    pub at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The communications part of an incident's state (a fold, like the rest).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommsState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_internal_update: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_external_update: Option<Timestamp>,
    /// When the organisation became aware (the latest recording wins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aware_at: Option<Timestamp>,
    /// The deadlines in force, as recorded with the awareness.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<DeadlineDef>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub deadlines_met: BTreeMap<String, DeadlineMetRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<Statement>,
}

impl CommsState {
    /// Note a status update (called from the incident's fold).
    pub fn record_update(&mut self, audience: Option<Audience>, at: Timestamp) {
        let slot = match audience.unwrap_or(Audience::Internal) {
            Audience::Internal => &mut self.last_internal_update,
            Audience::External => &mut self.last_external_update,
        };
        if slot.is_none_or(|t| t < at) {
            *slot = Some(at);
        }
    }

    pub fn statement(&self, n: u32) -> Option<&Statement> {
        self.statements.iter().find(|s| s.n == n)
    }
}

/// Fold one communications event into the state.
pub(crate) fn apply(st: &mut IncidentState, e: &Event) {
    let c = &mut st.comms;
    match &e.data {
        Payload::AwarenessRecorded {
            aware_at,
            deadlines,
            ..
        } => {
            c.aware_at = Some(*aware_at);
            c.deadlines = deadlines.clone();
        }
        Payload::DeadlineMet { name, note } => {
            c.deadlines_met.insert(
                name.clone(),
                DeadlineMetRecord {
                    by: e.actor.clone(),
                    at: e.occurred_at,
                    note: note.clone(),
                },
            );
        }
        Payload::StatementDrafted {
            statement,
            revision,
            title,
            body,
        } => {
            let rev = StatementRevision {
                revision: *revision,
                title: title.clone(),
                body: body.clone(),
                by: e.actor.clone(),
                at: e.occurred_at,
            };
            match c.statements.iter_mut().find(|s| s.n == *statement) {
                Some(s) => s.revisions.push(rev),
                None => c.statements.push(Statement {
                    n: *statement,
                    revisions: vec![rev],
                    approvals: Vec::new(),
                    published: None,
                }),
            }
        }
        Payload::StatementApproved {
            statement,
            revision,
            note,
        } => {
            if let Some(s) = c.statements.iter_mut().find(|s| s.n == *statement) {
                s.approvals.push(RevisionMark {
                    revision: *revision,
                    by: e.actor.clone(),
                    at: e.occurred_at,
                    note: note.clone(),
                    title: None,
                });
            }
        }
        Payload::StatementPublished {
            statement,
            revision,
            title,
            ..
        } => {
            if let Some(s) = c.statements.iter_mut().find(|s| s.n == *statement) {
                s.published = Some(RevisionMark {
                    revision: *revision,
                    by: e.actor.clone(),
                    at: e.occurred_at,
                    note: None,
                    title: Some(title.clone()),
                });
            }
        }
        _ => {}
    }
}

const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 10_000;

fn statement_text_ok(title: &str, body: &str) -> Result<(), Refusal> {
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE {
        return refuse(
            rules::INVALID_INPUT,
            format!("a statement title must be 1–{MAX_TITLE} characters"),
        );
    }
    if body.trim().is_empty() || body.len() > MAX_BODY {
        return refuse(
            rules::INVALID_INPUT,
            format!("a statement body must be 1–{MAX_BODY} bytes"),
        );
    }
    Ok(())
}

fn avoided_refusal(policy: &CommsPolicy, what: &str, text: &str) -> Result<(), Refusal> {
    let found = policy.avoided_in(text);
    if found.is_empty() {
        return Ok(());
    }
    let quoted: Vec<String> = found.iter().map(|p| format!("{p:?}")).collect();
    refuse(
        rules::AVOIDED_PHRASE,
        format!(
            "{what} contains {} to avoid: {}; say what happened, what it means for the reader and what they should do",
            if found.len() == 1 {
                "a phrase"
            } else {
                "phrases"
            },
            quoted.join(", ")
        ),
    )
}

/// The date prefix a published title carries: `YYYY-MM-DD: `.
pub fn dated_title(title: &str, date: time::Date) -> Result<String, Refusal> {
    let day = format_date(date);
    let t = title.trim();
    if let Some(prefix) = t.get(..10)
        && time::Date::parse(prefix, DATE_FORMAT).is_ok()
    {
        if prefix == day {
            return Ok(t.to_string());
        }
        return refuse(
            rules::INVALID_INPUT,
            format!(
                "the title is dated {prefix} but the statement is published on {day}; revise the title or give the publication date"
            ),
        );
    }
    Ok(format!("{day}: {t}"))
}

/// `YYYY-MM-DD`.
pub const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

pub fn format_date(d: time::Date) -> String {
    d.format(DATE_FORMAT).unwrap_or_else(|_| d.to_string())
}

/// A communications command: awareness and notification deadlines, external statements.
#[derive(Debug, Clone, PartialEq)]
pub enum CommsCommand {
    /// When the organisation became aware; starts the policy's notification deadlines.
    RecordAwareness {
        aware_at: Timestamp,
        note: Option<String>,
    },
    MeetDeadline {
        name: String,
        note: Option<String>,
    },
    /// Draft a new statement (`statement: None`) or a new revision of one.
    DraftStatement {
        statement: Option<u32>,
        title: String,
        body: String,
    },
    /// The IC approves a statement's latest revision (`revision`, when given, must be it).
    ApproveStatement {
        statement: u32,
        revision: Option<u32>,
        note: Option<String>,
    },
    /// Record the publication of an approved statement on `date` (put in the title).
    PublishStatement {
        statement: u32,
        date: time::Date,
    },
}

/// Decide a communications command (reached through [`IncidentState::decide`]).
pub(crate) fn decide(
    st: &IncidentState,
    actor: &Actor,
    cmd: &CommsCommand,
    policy: &CommsPolicy,
) -> Result<Vec<Payload>, Refusal> {
    let c = &st.comms;
    match cmd {
        CommsCommand::RecordAwareness { aware_at, note } => {
            if let Some(n) = note {
                crate::incident::text_ok("note", n)?;
            }
            if c.aware_at.is_some() && note.is_none() {
                return refuse(
                    rules::INVALID_INPUT,
                    "awareness was already recorded; a new time needs a note saying why it changed",
                );
            }
            if c.aware_at == Some(*aware_at) {
                return refuse(
                    rules::INVALID_TRANSITION,
                    format!("awareness is already recorded at {aware_at}"),
                );
            }
            Ok(vec![Payload::AwarenessRecorded {
                aware_at: *aware_at,
                deadlines: policy.deadlines.clone(),
                note: note.clone(),
            }])
        }
        CommsCommand::MeetDeadline { name, note } => {
            if c.aware_at.is_none() {
                return refuse(
                    rules::UNKNOWN_REFERENCE,
                    "no notification deadlines run yet: record when the organisation became aware first",
                );
            }
            let Some(def) = c.deadlines.iter().find(|d| d.name == *name) else {
                let known: Vec<&str> = c.deadlines.iter().map(|d| d.name.as_str()).collect();
                return refuse(
                    rules::UNKNOWN_REFERENCE,
                    format!(
                        "no deadline {name:?} (deadlines in force: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join("; ")
                        }
                    ),
                );
            };
            if c.deadlines_met.contains_key(&def.name) {
                return refuse(
                    rules::INVALID_TRANSITION,
                    format!("deadline {name:?} was already met"),
                );
            }
            if let Some(n) = note {
                crate::incident::text_ok("note", n)?;
            }
            Ok(vec![Payload::DeadlineMet {
                name: def.name.clone(),
                note: note.clone(),
            }])
        }
        CommsCommand::DraftStatement {
            statement,
            title,
            body,
        } => {
            statement_text_ok(title, body)?;
            let (n, revision) = match statement {
                None => (c.statements.iter().map(|s| s.n).max().unwrap_or(0) + 1, 1),
                Some(n) => {
                    let s = statement_ref(st, *n)?;
                    if s.published.is_some() {
                        return refuse(
                            rules::INVALID_TRANSITION,
                            format!(
                                "statement {n} is already published; draft a new statement for a follow-up"
                            ),
                        );
                    }
                    (*n, s.latest().revision + 1)
                }
            };
            Ok(vec![Payload::StatementDrafted {
                statement: n,
                revision,
                title: title.trim().to_string(),
                body: body.clone(),
            }])
        }
        CommsCommand::ApproveStatement {
            statement,
            revision,
            note,
        } => {
            let s = statement_ref(st, *statement)?;
            if !st.has_role(&actor.user, Role::IncidentCommander) {
                return refuse(
                    rules::COMMANDER_ONLY,
                    format!(
                        "only the Incident Commander may approve an external statement; {}",
                        st.commander().map_or_else(
                            || "no Incident Commander is assigned yet".to_string(),
                            |c| format!("the Incident Commander is {c}")
                        )
                    ),
                );
            }
            let latest = s.latest();
            let r = revision.unwrap_or(latest.revision);
            if r != latest.revision {
                return refuse(
                    rules::INVALID_TRANSITION,
                    format!(
                        "statement {statement} is at revision {}, not {r}; read the latest revision before approving it",
                        latest.revision
                    ),
                );
            }
            if s.published.is_some() {
                return refuse(
                    rules::INVALID_TRANSITION,
                    format!("statement {statement} is already published"),
                );
            }
            if s.approval_of_latest().is_some() {
                return refuse(
                    rules::INVALID_TRANSITION,
                    format!("revision {r} of statement {statement} is already approved"),
                );
            }
            avoided_refusal(
                policy,
                &format!("statement {statement} revision {r}"),
                &format!("{}\n{}", latest.title, latest.body),
            )?;
            if let Some(n) = note {
                crate::incident::text_ok("note", n)?;
            }
            Ok(vec![Payload::StatementApproved {
                statement: *statement,
                revision: r,
                note: note.clone(),
            }])
        }
        CommsCommand::PublishStatement { statement, date } => {
            let s = statement_ref(st, *statement)?;
            if s.published.is_some() {
                return refuse(
                    rules::INVALID_TRANSITION,
                    format!("statement {statement} is already published"),
                );
            }
            let latest = s.latest();
            if s.approval_of_latest().is_none() {
                let why = match s.approvals.last() {
                    Some(a) => format!(
                        "the Incident Commander approved revision {}, but the draft is now at revision {}",
                        a.revision, latest.revision
                    ),
                    None => "the Incident Commander has not approved it".to_string(),
                };
                return refuse(
                    rules::STATEMENT_APPROVAL_REQUIRED,
                    format!(
                        "statement {statement} cannot be published: {why}; the IC approves with `palisade incident statement approve`"
                    ),
                );
            }
            // The phrase list may have changed since the approval.
            avoided_refusal(
                policy,
                &format!("statement {statement} revision {}", latest.revision),
                &format!("{}\n{}", latest.title, latest.body),
            )?;
            let title = dated_title(&latest.title, *date)?;
            Ok(vec![Payload::StatementPublished {
                statement: *statement,
                revision: latest.revision,
                title,
                date: format_date(*date),
            }])
        }
    }
}

fn statement_ref(st: &IncidentState, n: u32) -> Result<&Statement, Refusal> {
    st.comms.statement(n).map_or_else(
        || {
            refuse(
                rules::UNKNOWN_REFERENCE,
                format!(
                    "statement {n} does not exist (this incident has {} statement(s))",
                    st.comms.statements.len()
                ),
            )
        },
        Ok,
    )
}

/// Check an external status update against the phrases to avoid.
pub(crate) fn check_external_update(policy: &CommsPolicy, message: &str) -> Result<(), Refusal> {
    avoided_refusal(policy, "the external update", message)
}

// ---------------------------------------------------------------------------------------------
// Computed flags: state + policy + now.

/// The update cadence of one audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CadenceStatus {
    pub audience: Audience,
    /// Minutes between updates at the current severity; `None`: no cadence.
    pub every_minutes: Option<u32>,
    /// The last update to this audience.
    pub last_update: Option<Timestamp>,
    /// When the next update is due (from the last update, or from the declaration when there
    /// was none); `None` without a cadence or once the incident is resolved.
    pub next_due: Option<Timestamp>,
    /// Seconds until the next update is due (negative: overdue by that much).
    pub seconds_remaining: Option<i64>,
    pub overdue: bool,
}

/// A notification deadline and how it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadlineStatus {
    pub name: String,
    pub hours: u32,
    pub due: Timestamp,
    /// Seconds until due (negative: past due). Absent once met.
    pub seconds_remaining: Option<i64>,
    /// Past due and not met.
    pub overdue: bool,
    pub met: Option<DeadlineMetRecord>,
    /// Met, but after it was due.
    pub met_late: bool,
}

/// Where the incident's communications stand at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommsStatus {
    pub internal: CadenceStatus,
    pub external: CadenceStatus,
    pub aware_at: Option<Timestamp>,
    pub deadlines: Vec<DeadlineStatus>,
    /// Deadlines configured now that would apply once awareness is recorded.
    pub pending_deadlines: Vec<DeadlineDef>,
}

/// Seconds from `now` to `t` (negative when `t` is past).
pub fn seconds_until(now: Timestamp, t: Timestamp) -> i64 {
    (t.0 - now.0).whole_seconds()
}

/// Whether an update to `audience` is due, at `now`.
pub fn cadence_status(
    st: &IncidentState,
    policy: &CommsPolicy,
    audience: Audience,
    now: Timestamp,
) -> CadenceStatus {
    let every = policy.cadence(audience, st.severity);
    let last = match audience {
        Audience::Internal => st.comms.last_internal_update,
        Audience::External => st.comms.last_external_update,
    };
    let declared = st
        .timeline
        .first()
        .map_or(st.declared_at, |t| t.recorded_at);
    let next_due = match every {
        Some(m) if st.status.is_open() => {
            let from = last.map_or(declared, |l| l.max(declared));
            Some(Timestamp(from.0 + Duration::minutes(i64::from(m))))
        }
        _ => None,
    };
    let seconds_remaining = next_due.map(|d| seconds_until(now, d));
    CadenceStatus {
        audience,
        every_minutes: every,
        last_update: last,
        next_due,
        seconds_remaining,
        overdue: seconds_remaining.is_some_and(|s| s < 0),
    }
}

/// The deadlines in force and where they stand, at `now`.
pub fn deadline_status(st: &IncidentState, now: Timestamp) -> Vec<DeadlineStatus> {
    let Some(aware) = st.comms.aware_at else {
        return Vec::new();
    };
    st.comms
        .deadlines
        .iter()
        .map(|d| {
            let due = Timestamp(aware.0 + Duration::hours(i64::from(d.hours)));
            let met = st.comms.deadlines_met.get(&d.name).cloned();
            let remaining = seconds_until(now, due);
            DeadlineStatus {
                name: d.name.clone(),
                hours: d.hours,
                due,
                seconds_remaining: met.is_none().then_some(remaining),
                overdue: met.is_none() && remaining < 0,
                met_late: met.as_ref().is_some_and(|m| m.at > due),
                met,
            }
        })
        .collect()
}

/// Everything time-dependent about the incident's communications.
pub fn status(st: &IncidentState, policy: &CommsPolicy, now: Timestamp) -> CommsStatus {
    CommsStatus {
        internal: cadence_status(st, policy, Audience::Internal, now),
        external: cadence_status(st, policy, Audience::External, now),
        aware_at: st.comms.aware_at,
        deadlines: deadline_status(st, now),
        pending_deadlines: if st.comms.aware_at.is_none() {
            policy.deadlines.clone()
        } else {
            Vec::new()
        },
    }
}

/// A duration in seconds as people read it: `2h 05m`, `45m`, `3d 4h`; negative as `-…`.
pub fn human_duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{sign}{d}d {h}h")
    } else if h > 0 {
        format!("{sign}{h}h {m:02}m")
    } else if m > 0 {
        format!("{sign}{m}m")
    } else {
        format!("{sign}{}s", s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_case_and_whitespace_insensitively() {
        let p = CommsPolicy::default();
        for text in [
            "We take security very seriously.",
            "we  take\nsecurity   VERY seriously",
            "Here at Acme, WE TAKE SECURITY VERY SERIOUSLY!",
        ] {
            assert_eq!(
                p.avoided_in(text),
                vec!["we take security very seriously".to_string()],
                "{text:?}"
            );
        }
        assert!(p.avoided_in("We take security seriously").is_empty());
        assert!(p.avoided_in("We\u{2019}re sorry").is_empty());
    }

    #[test]
    fn titles_get_the_publication_date() {
        let d = time::macros::date!(2026 - 11 - 26);
        for (title, want) in [
            ("Security incident", Ok("2026-11-26: Security incident")),
            ("2026-11-26: Update", Ok("2026-11-26: Update")),
            ("  Update  ", Ok("2026-11-26: Update")),
        ] {
            assert_eq!(dated_title(title, d).as_deref().map_err(|_| ()), want);
        }
        let e = dated_title("2026-11-25: Update", d).unwrap_err();
        assert_eq!(e.rule, rules::INVALID_INPUT);
        assert!(e.message.contains("2026-11-25"), "{e}");
    }

    #[test]
    fn durations_read_like_people_write_them() {
        for (s, want) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3_900, "1h 05m"),
            (-1_800, "-30m"),
            (3 * 86_400 + 7_200, "3d 2h"),
        ] {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }

    #[test]
    fn policies_are_validated() {
        assert_eq!(CommsPolicy::default().validate(), Ok(()));
        let mut p = CommsPolicy::default();
        p.deadlines.push(p.deadlines[0].clone());
        assert!(p.validate().unwrap_err().contains("twice"));
        let mut p = CommsPolicy::default();
        p.cadence.internal.insert(Severity::SEV4, 0);
        assert!(p.validate().unwrap_err().contains("SEV-4"));
        let mut p = CommsPolicy::default();
        p.avoid_phrases.push("   ".into());
        assert!(p.validate().is_err());
    }

    #[test]
    fn policy_reads_from_toml() {
        let p: CommsPolicy = toml::from_str(
            r#"
            avoid_phrases = ["rest assured"]
            [cadence.internal]
            "SEV-1" = 20
            [[deadlines]]
            name = "NIS2 early warning"
            hours = 24
            "#,
        )
        .unwrap();
        assert_eq!(p.cadence(Audience::Internal, Severity::SEV1), Some(20));
        assert_eq!(p.cadence(Audience::Internal, Severity::SEV2), None);
        assert_eq!(p.deadlines[0].hours, 24);
        assert_eq!(p.avoided_in("Rest  assured, …"), vec!["rest assured"]);
        let bad = toml::from_str::<CommsPolicy>("[cadence.internal]\n\"SEV-9\" = 5\n");
        assert!(bad.is_err());
    }
}
