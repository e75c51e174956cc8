//! Postmortems: the lifecycle (draft → in review → reviewed → closed, from the resolution on),
//! its due date (SEV-1: 3 calendar days after resolution; SEV-2: 5 business days), action items
//! with owners, and a Markdown draft rendered from the ledger.
//!
//! Times in the report are the events' *occurred* times after corrections, so a corrected time
//! moves the metrics too; the timeline shows both occurred and recorded times.

use crate::comms::{self, CommsPolicy, DATE_FORMAT, human_duration, seconds_until};
use crate::event::{Event, Payload, Timestamp};
use crate::incident::{Actor, IncidentState, Refusal, rules};
use crate::rule::refuse;
use crate::types::{Role, Severity, UserName};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;
use time::{Duration, Weekday};
use uuid::Uuid;

/// The postmortem lifecycle. Moves only forward, one status at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PostmortemStatus {
    Draft,
    InReview,
    Reviewed,
    Closed,
}

impl PostmortemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PostmortemStatus::Draft => "draft",
            PostmortemStatus::InReview => "in_review",
            PostmortemStatus::Reviewed => "reviewed",
            PostmortemStatus::Closed => "closed",
        }
    }
    pub fn next(self) -> Option<PostmortemStatus> {
        match self {
            PostmortemStatus::Draft => Some(PostmortemStatus::InReview),
            PostmortemStatus::InReview => Some(PostmortemStatus::Reviewed),
            PostmortemStatus::Reviewed => Some(PostmortemStatus::Closed),
            PostmortemStatus::Closed => None,
        }
    }
}
impl fmt::Display for PostmortemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl FromStr for PostmortemStatus {
    type Err = crate::types::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "draft" => Ok(PostmortemStatus::Draft),
            "in_review" | "review" => Ok(PostmortemStatus::InReview),
            "reviewed" => Ok(PostmortemStatus::Reviewed),
            "closed" => Ok(PostmortemStatus::Closed),
            _ => Err(crate::types::ParseError {
                what: "postmortem status",
                value: s.to_string(),
                expected: "draft, in_review, reviewed or closed",
            }),
        }
    }
}

/// A follow-up with an owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionItem {
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub n: u32,
    pub title: String,
    pub owner: UserName,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Date, example = "2026-12-01"))]
    pub due: Option<String>,
    pub added_by: UserName,
    pub added_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_by: Option<UserName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_note: Option<String>,
}

/// A postmortem status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: PostmortemStatus,
    pub by: UserName,
    pub at: Timestamp,
}

/// The postmortem part of an incident's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostmortemState {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<StatusChange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub action_items: Vec<ActionItem>,
}

impl PostmortemState {
    /// The postmortem's status: none before the incident is resolved, then draft until moved on.
    pub fn status(&self, st: &IncidentState) -> Option<PostmortemStatus> {
        self.history
            .last()
            .map(|c| c.status)
            .or(st.resolved_at.map(|_| PostmortemStatus::Draft))
    }
}

pub(crate) fn apply(st: &mut IncidentState, e: &Event) {
    let p = &mut st.postmortem;
    match &e.data {
        Payload::PostmortemStatusChanged { status } => p.history.push(StatusChange {
            status: *status,
            by: e.actor.clone(),
            at: e.occurred_at,
        }),
        Payload::ActionItemAdded {
            item,
            title,
            owner,
            due,
        } => p.action_items.push(ActionItem {
            n: *item,
            title: title.clone(),
            owner: owner.clone(),
            due: due.clone(),
            added_by: e.actor.clone(),
            added_at: e.occurred_at,
            done_at: None,
            done_by: None,
            done_note: None,
        }),
        Payload::ActionItemDone { item, note } => {
            if let Some(a) = p.action_items.iter_mut().find(|a| a.n == *item) {
                a.done_at = Some(e.occurred_at);
                a.done_by = Some(e.actor.clone());
                a.done_note = note.clone();
            }
        }
        _ => {}
    }
}

/// A postmortem command: its lifecycle and action items.
#[derive(Debug, Clone, PartialEq)]
pub enum PostmortemCommand {
    SetStatus {
        status: PostmortemStatus,
    },
    AddActionItem {
        title: String,
        owner: UserName,
        due: Option<String>,
    },
    CompleteActionItem {
        item: u32,
        note: Option<String>,
    },
}

pub(crate) fn decide(
    st: &IncidentState,
    actor: &Actor,
    cmd: &PostmortemCommand,
) -> Result<Vec<Payload>, Refusal> {
    let p = &st.postmortem;
    match cmd {
        PostmortemCommand::SetStatus { status } => {
            let Some(current) = p.status(st) else {
                return refuse(
                    rules::POSTMORTEM_NOT_STARTED,
                    format!(
                        "the postmortem starts when the incident is resolved; it is {}",
                        st.status
                    ),
                );
            };
            if current.next() != Some(*status) {
                return refuse(
                    rules::POSTMORTEM_FORWARD_ONLY,
                    match current.next() {
                        Some(n) => format!(
                            "the postmortem is {current}; it moves forward one status at a time, next is {n}"
                        ),
                        None => "the postmortem is closed".to_string(),
                    },
                );
            }
            if *status >= PostmortemStatus::Reviewed
                && !st.has_role(&actor.user, Role::IncidentCommander)
            {
                return refuse(
                    rules::COMMANDER_ONLY,
                    format!(
                        "only the Incident Commander may mark the postmortem {status}; {}",
                        st.commander().map_or_else(
                            || "no Incident Commander is assigned".to_string(),
                            |c| format!("the Incident Commander is {c}")
                        )
                    ),
                );
            }
            Ok(vec![Payload::PostmortemStatusChanged { status: *status }])
        }
        PostmortemCommand::AddActionItem { title, owner, due } => {
            let t = title.trim();
            if t.is_empty() || t.chars().count() > 200 {
                return refuse(
                    rules::INVALID_INPUT,
                    "an action item's title must be 1–200 characters",
                );
            }
            if let Some(d) = due
                && time::Date::parse(d, DATE_FORMAT).is_err()
            {
                return refuse(
                    rules::INVALID_INPUT,
                    format!("due date {d:?} is not a date like 2026-12-01"),
                );
            }
            if p.status(st) == Some(PostmortemStatus::Closed) {
                return refuse(
                    rules::INVALID_TRANSITION,
                    "the postmortem is closed; it takes no new action items",
                );
            }
            Ok(vec![Payload::ActionItemAdded {
                item: p.action_items.iter().map(|a| a.n).max().unwrap_or(0) + 1,
                title: t.to_string(),
                owner: owner.clone(),
                due: due.clone(),
            }])
        }
        PostmortemCommand::CompleteActionItem { item, note } => {
            let Some(a) = p.action_items.iter().find(|a| a.n == *item) else {
                return refuse(
                    rules::UNKNOWN_REFERENCE,
                    format!(
                        "action item {item} does not exist (this incident has {})",
                        p.action_items.len()
                    ),
                );
            };
            if a.done_at.is_some() {
                return refuse(
                    rules::INVALID_TRANSITION,
                    format!("action item {item} is already done"),
                );
            }
            if let Some(n) = note {
                crate::incident::text_ok("note", n)?;
            }
            Ok(vec![Payload::ActionItemDone {
                item: *item,
                note: note.clone(),
            }])
        }
    }
}

/// Add `days` business days (Monday–Friday) to `t`, keeping its time of day and offset.
pub fn add_business_days(t: Timestamp, days: u32) -> Timestamp {
    let mut d = t.0;
    let mut left = days;
    while left > 0 {
        d += Duration::days(1);
        if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    Timestamp(d)
}

/// When the postmortem is due: SEV-1 three calendar days after the resolution, SEV-2 five
/// business days after it; other severities have no due date.
pub fn due(severity: Severity, resolved_at: Timestamp) -> Option<Timestamp> {
    match severity.level() {
        1 => Some(Timestamp(resolved_at.0 + Duration::days(3))),
        2 => Some(add_business_days(resolved_at, 5)),
        _ => None,
    }
}

/// Where the postmortem stands at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostmortemSummary {
    /// `None` before the incident is resolved.
    pub status: Option<PostmortemStatus>,
    /// SEV-1 and SEV-2 incidents need one.
    pub required: bool,
    pub due: Option<Timestamp>,
    pub seconds_remaining: Option<i64>,
    /// Past due and not closed.
    pub overdue: bool,
    pub action_items_open: usize,
    pub action_items_done: usize,
}

pub fn summary(st: &IncidentState, now: Timestamp) -> PostmortemSummary {
    let status = st.postmortem.status(st);
    let due = st.resolved_at.and_then(|r| due(st.severity, r));
    let open = status != Some(PostmortemStatus::Closed);
    let seconds_remaining = due.filter(|_| open).map(|d| seconds_until(now, d));
    let done = st
        .postmortem
        .action_items
        .iter()
        .filter(|a| a.done_at.is_some())
        .count();
    PostmortemSummary {
        status,
        required: st.severity.is_major(),
        due,
        seconds_remaining,
        overdue: seconds_remaining.is_some_and(|s| s < 0),
        action_items_open: st.postmortem.action_items.len() - done,
        action_items_done: done,
    }
}

/// A metric: from the declaration to a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metric {
    pub at: Option<Timestamp>,
    pub seconds: Option<i64>,
}

/// The headline times, measured from the declaration's occurred time (after corrections).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metrics {
    pub declared_at: Timestamp,
    /// To the first sign of a responder: the IC assigned or a step started or done.
    pub time_to_acknowledge: Metric,
    /// To the moment steps 1 and 2 were both settled (done or waived).
    pub time_to_contain: Metric,
    /// To the resolution.
    pub time_to_resolve: Metric,
}

/// The postmortem as data (the JSON form); [`render_markdown`] writes the same as a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostmortemReport {
    pub incident: Uuid,
    pub codename: String,
    pub title: String,
    pub generated_at: Timestamp,
    pub postmortem: PostmortemSummary,
    pub metrics: Metrics,
    pub action_items: Vec<ActionItem>,
}

fn effective(st: &IncidentState, seq: u64) -> Option<Timestamp> {
    st.timeline
        .iter()
        .find(|t| t.seq == seq)
        .map(|t| t.effective_occurred_at())
}

/// The metrics, from the state and its events.
pub fn metrics(st: &IncidentState, events: &[Event]) -> Metrics {
    let declared = effective(st, 1).unwrap_or(st.declared_at);
    let ack = events
        .iter()
        .filter(|e| match &e.data {
            Payload::RoleAssigned { role, .. } => *role == Role::IncidentCommander,
            Payload::StepStarted { .. } | Payload::StepDone { .. } => true,
            _ => false,
        })
        .filter_map(|e| effective(st, e.seq))
        .min();
    let settled_at = |n: u32| -> Option<Timestamp> {
        st.steps
            .iter()
            .find(|s| s.n == n)?
            .status
            .settled()
            .then_some(())?;
        events
            .iter()
            .rev()
            .find(|e| {
                matches!(&e.data, Payload::StepDone { step, .. } | Payload::StepWaived { step, .. } if *step == n)
            })
            .and_then(|e| effective(st, e.seq))
    };
    let contained = match (settled_at(1), settled_at(2)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    let resolved = if st.resolved_at.is_some() {
        events
            .iter()
            .rev()
            .find(|e| matches!(e.data, Payload::Resolved { .. }))
            .and_then(|e| effective(st, e.seq))
    } else {
        None
    };
    let m = |at: Option<Timestamp>| Metric {
        at,
        seconds: at.map(|t| seconds_until(declared, t)),
    };
    Metrics {
        declared_at: declared,
        time_to_acknowledge: m(ack),
        time_to_contain: m(contained),
        time_to_resolve: m(resolved),
    }
}

pub fn report(st: &IncidentState, events: &[Event], now: Timestamp) -> PostmortemReport {
    PostmortemReport {
        incident: st.id,
        codename: st.codename.clone(),
        title: st.title.clone(),
        generated_at: now,
        postmortem: summary(st, now),
        metrics: metrics(st, events),
        action_items: st.postmortem.action_items.clone(),
    }
}

/// Text safe inside a Markdown table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\\', "\\\\")
        .replace('|', "\\|")
}

/// Text safe as a Markdown paragraph: no heading, list or HTML starts its lines.
fn para(s: &str) -> String {
    s.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with(['#', '>', '-', '*', '+', '<', '|', '='])
                || t.starts_with("```")
                || t.chars().next().is_some_and(|c| c.is_ascii_digit()) && t.contains(". ")
            {
                format!("\\{t}")
            } else {
                t.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn opt_ts(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "—".to_string(), |t| t.to_string())
}

fn metric_cell(m: &Metric) -> (String, String) {
    match (m.seconds, m.at) {
        (Some(s), Some(at)) => (human_duration(s), at.to_string()),
        _ => ("not reached".to_string(), "—".to_string()),
    }
}

/// The postmortem draft as Markdown: overview, metrics, timeline, the playbook's steps, roles,
/// communications, action items, and headings for the review to fill in.
pub fn render_markdown(
    st: &IncidentState,
    events: &[Event],
    policy: &CommsPolicy,
    now: Timestamp,
) -> String {
    let r = report(st, events, now);
    let mut o = String::new();
    let _ = writeln!(o, "# Postmortem: {} — {}", st.codename, cell(&st.title));
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "> Draft generated from the incident ledger at {now}. Blameless: describe what happened and \
         what the system and process allowed, not who is at fault. Times are as they occurred \
         (after corrections); the timeline also shows when each event was recorded."
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "## Overview");
    let _ = writeln!(o);
    let pm = &r.postmortem;
    let pm_line = match pm.status {
        None => "not started (starts when the incident is resolved)".to_string(),
        Some(s) => {
            let mut l = s.to_string();
            if let Some(d) = pm.due {
                let _ = write!(l, ", due {d}");
            }
            if pm.overdue {
                l.push_str(", **OVERDUE**");
            } else if !pm.required {
                l.push_str(" (optional below SEV-2)");
            }
            l
        }
    };
    let rows: Vec<(&str, String)> = vec![
        ("Incident", format!("{} (`{}`)", st.codename, st.id)),
        ("Title", cell(&st.title)),
        ("Kind", st.kind.to_string()),
        ("Severity", st.severity.to_string()),
        ("Status", st.status.to_string()),
        (
            "Restricted",
            if st.restricted { "yes" } else { "no" }.to_string(),
        ),
        (
            "Declared",
            format!("{} by {}", r.metrics.declared_at, st.declared_by),
        ),
        (
            "Incident Commander",
            st.commander().map_or("none".to_string(), |c| c.to_string()),
        ),
        (
            "Playbook",
            format!(
                "{} v{} ({})",
                st.playbook.id,
                st.playbook.version,
                cell(&st.playbook.name)
            ),
        ),
        ("Resolved", opt_ts(st.resolved_at)),
        ("Closed", opt_ts(st.closed_at)),
        ("Postmortem", pm_line),
        ("Ledger events", st.last_seq.to_string()),
    ];
    let _ = writeln!(o, "| | |\n|---|---|");
    for (k, v) in rows {
        let _ = writeln!(o, "| {k} | {v} |");
    }
    let _ = writeln!(o);
    if let Some(s) = &st.summary {
        let _ = writeln!(o, "**Summary.** {}\n", para(s));
    }
    if let Some(s) = &st.resolution {
        let _ = writeln!(o, "**Resolution.** {}\n", para(s));
    }

    let _ = writeln!(o, "## Metrics");
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Measured from the declaration ({}).\n",
        r.metrics.declared_at
    );
    let _ = writeln!(
        o,
        "| metric | time | reached at | definition |\n|---|---|---|---|"
    );
    for (name, m, def) in [
        (
            "Time to acknowledge",
            &r.metrics.time_to_acknowledge,
            "Incident Commander assigned or first step started",
        ),
        (
            "Time to contain",
            &r.metrics.time_to_contain,
            "steps 1 and 2 both done (or waived)",
        ),
        (
            "Time to resolve",
            &r.metrics.time_to_resolve,
            "incident resolved",
        ),
    ] {
        let (t, at) = metric_cell(m);
        let _ = writeln!(o, "| {name} | {t} | {at} | {def} |");
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Timeline");
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| # | occurred | recorded | by | event |\n|---|---|---|---|---|"
    );
    for t in st.timeline_by_occurrence() {
        let mut d = cell(&t.description);
        for c in &t.corrections {
            let _ = write!(
                d,
                " *(corrected in #{} by {}: {}",
                c.seq,
                c.by,
                cell(&c.reason)
            );
            if let Some(x) = &c.text {
                let _ = write!(d, "; now: {}", cell(x));
            }
            if let Some(x) = &c.occurred_at {
                let _ = write!(d, "; happened at {x}, first reported as {}", t.occurred_at);
            }
            d.push_str(")*");
        }
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            t.seq,
            t.effective_occurred_at(),
            t.recorded_at,
            t.actor,
            d
        );
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Steps ({})", cell(&st.playbook.name));
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| step | title | state | started | by | settled | by | notes / waiver |\n|---|---|---|---|---|---|---|---|"
    );
    for s in &st.steps {
        let mut notes: Vec<String> = s.notes.iter().map(|n| cell(n)).collect();
        if let Some(w) = &s.waiver_reason {
            notes.push(format!("waived: {}", cell(w)));
        }
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.n,
            cell(&s.title),
            s.status.as_str(),
            opt_ts(s.started_at),
            s.started_by.as_ref().map_or("—".into(), |u| u.to_string()),
            opt_ts(s.settled_at),
            s.settled_by.as_ref().map_or("—".into(), |u| u.to_string()),
            notes.join("; ")
        );
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Roles");
    let _ = writeln!(o);
    let _ = writeln!(o, "| member | roles |\n|---|---|");
    for (u, roles) in &st.members {
        let rs: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let _ = writeln!(
            o,
            "| {u} | {} |",
            if rs.is_empty() {
                "member".to_string()
            } else {
                rs.join(", ")
            }
        );
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Communications");
    let _ = writeln!(o);
    let cs = comms::status(st, policy, now);
    let _ = writeln!(
        o,
        "- Last internal update: {}; last external update: {}.",
        opt_ts(cs.internal.last_update),
        opt_ts(cs.external.last_update)
    );
    match cs.aware_at {
        Some(a) => {
            let _ = writeln!(o, "- The organisation became aware at {a}.");
        }
        None => {
            let _ = writeln!(o, "- When the organisation became aware is not recorded.");
        }
    }
    for d in &cs.deadlines {
        let state = match &d.met {
            Some(m) if d.met_late => format!("met late at {} by {}", m.at, m.by),
            Some(m) => format!("met at {} by {}", m.at, m.by),
            None if d.overdue => "**not met, overdue**".to_string(),
            None => "not met yet".to_string(),
        };
        let _ = writeln!(
            o,
            "- Deadline {} ({} h): due {}, {state}.",
            cell(&d.name),
            d.hours,
            d.due
        );
    }
    for s in &st.comms.statements {
        let latest = s.latest();
        let state = match &s.published {
            Some(p) => format!(
                "published at {} by {} as \"{}\"",
                p.at,
                p.by,
                cell(p.title.as_deref().unwrap_or(&latest.title))
            ),
            None => match s.approval_of_latest() {
                Some(a) => format!("approved by {} at {}, not published", a.by, a.at),
                None => "draft".to_string(),
            },
        };
        let _ = writeln!(
            o,
            "- Statement {} (revision {}): {state}.",
            s.n, latest.revision
        );
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Action items");
    let _ = writeln!(o);
    if r.action_items.is_empty() {
        let _ = writeln!(
            o,
            "None recorded yet. Add them with `palisade incident action add {} --title … --owner …`.",
            st.codename
        );
    } else {
        let _ = writeln!(
            o,
            "| # | action | owner | due | state |\n|---|---|---|---|---|"
        );
        for a in &r.action_items {
            let state = match (&a.done_at, &a.done_by) {
                (Some(at), Some(by)) => format!("done {at} by {by}"),
                _ => "open".to_string(),
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {state} |",
                a.n,
                cell(&a.title),
                a.owner,
                a.due.as_deref().unwrap_or("—")
            );
        }
    }
    let _ = writeln!(o);
    for h in [
        "What happened",
        "What went well",
        "What went wrong",
        "Where we got lucky",
        "Lessons learned",
    ] {
        let _ = writeln!(o, "## {h}\n\n_To be written by the review._\n");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn due_dates_count_calendar_days_for_sev1_and_business_days_for_sev2() {
        // (severity, resolved at, due)
        let cases = [
            // SEV-1: three calendar days, weekends included.
            (1, "2026-11-26T10:00:00Z", Some("2026-11-29T10:00:00Z")), // Thu → Sun
            (
                1,
                "2026-11-28T23:30:00+01:00",
                Some("2026-12-01T23:30:00+01:00"),
            ),
            // SEV-2: five business days; Saturday and Sunday do not count.
            (2, "2026-11-23T09:00:00Z", Some("2026-11-30T09:00:00Z")), // Mon → next Mon
            (2, "2026-11-27T17:00:00Z", Some("2026-12-04T17:00:00Z")), // Fri → next Fri
            (2, "2026-11-28T12:00:00Z", Some("2026-12-04T12:00:00Z")), // Sat → Fri
            (2, "2026-11-29T12:00:00Z", Some("2026-12-04T12:00:00Z")), // Sun → Fri
            (2, "2026-11-26T08:00:00Z", Some("2026-12-03T08:00:00Z")), // Thu → next Thu
            // The weekday is taken in the offset the time was reported in: Friday 23:30 in
            // UTC+2 is Friday there, though Friday 21:30 UTC.
            (
                2,
                "2026-11-27T23:30:00+02:00",
                Some("2026-12-04T23:30:00+02:00"),
            ),
            // Saturday 00:30 in UTC+2 (Friday 22:30 UTC) is a Saturday there.
            (
                2,
                "2026-11-28T00:30:00+02:00",
                Some("2026-12-04T00:30:00+02:00"),
            ),
            (3, "2026-11-26T10:00:00Z", None),
            (5, "2026-11-26T10:00:00Z", None),
        ];
        for (sev, resolved, want) in cases {
            let got = due(Severity::new(sev).unwrap(), ts(resolved));
            assert_eq!(got, want.map(ts), "SEV-{sev} resolved {resolved}");
        }
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
        assert_eq!(para("# not a heading\nok"), "\\# not a heading\nok");
    }

    #[test]
    fn postmortem_statuses_parse_and_move_forward() {
        assert_eq!(
            "in-review".parse::<PostmortemStatus>().unwrap(),
            PostmortemStatus::InReview
        );
        assert!("done".parse::<PostmortemStatus>().is_err());
        assert_eq!(PostmortemStatus::Closed.next(), None);
        assert_eq!(
            PostmortemStatus::Draft.next(),
            Some(PostmortemStatus::InReview)
        );
    }
}
