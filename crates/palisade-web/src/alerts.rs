//! Alert pages: the list with filters (status, service), each alert with how many triggers were
//! deduplicated into it and by which rule and key; and an alert's page with its timeline as the
//! ledger records it (triggered, deduplicated with the reason, escalation steps with who was
//! paged, acknowledged, resolved) and Acknowledge / Resolve, which run the API's commands
//! through the same pipeline. An action the rules would refuse, or one that would change
//! nothing, is shown disabled with the reason.

use crate::page::{self, MainAttrs, Problem, csrf_field, frame, respond, time};
use crate::session::{Nothing, Posted, Signed};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use palisade_app::alerts::{AlertFilter, AlertSummary};
use palisade_app::signin::WebCaller;
use palisade_app::{App, AppError, Options};
use palisade_core::alert::{
    AlertCommand, AlertPayload, AlertSeverity, AlertState, AlertStatus, DedupMatch, Origin,
};
use palisade_core::{Event, UserName};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/alerts", get(list))
        .route("/alerts/{alert}", get(show))
        .route("/alerts/{alert}/acknowledge", post(acknowledge))
        .route("/alerts/{alert}/resolve", post(resolve))
}

/// Alerts listed at once (newest first); older ones a page at a time.
const LIST_PAGE: u32 = 100;
/// Services read for names and the filter (as the API's largest listing).
pub(crate) const SERVICES_READ: u32 = 1000;
/// Ledger events of an alert shown at once.
const EVENTS_PAGE: u64 = 100;
/// Characters of an alert's custom details shown on its page.
const DETAILS_SHOWN: usize = 4000;

/// Service names by id, for rows that name their service by id.
pub(crate) async fn service_names(app: &App) -> Result<HashMap<Uuid, String>, AppError> {
    Ok(app
        .list_services(SERVICES_READ)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

/// Why occurrences became one alert, in words: the rule and the fields it matched.
pub(crate) fn dedup_reason(d: &DedupMatch) -> Markup {
    html! {
        "rule " code { (d.rule) } " matched "
        @for (i, (k, v)) in d.matched.iter().enumerate() {
            @if i > 0 { ", " }
            code { (k) } " = " code.key { (format!("{v:?}")) }
        }
    }
}

/// Triggers deduplicated into an alert, and why.
fn deduplicated(occurrences: u32, by: Option<&DedupMatch>) -> Markup {
    let n = occurrences.saturating_sub(1);
    html! {
        @if n == 0 {
            "none"
        } @else {
            (n) @if n == 1 { " duplicate" } @else { " duplicates" }
            @if let Some(d) = by { br; span.why { (dedup_reason(d)) } }
        }
    }
}

/// A table of alerts (newest first), each linking to its page.
pub(crate) fn table(rows: &[AlertSummary], names: &HashMap<Uuid, String>, caption: &str) -> Markup {
    html! {
        div.scroll {
            table.list {
                caption.visually-hidden { (caption) }
                thead { tr {
                    th scope="col" { "Alert" } th scope="col" { "Status" } th scope="col" { "Severity" }
                    th scope="col" { "Service" } th scope="col" { "Deduplicated" } th scope="col" { "Triggered" }
                } }
                tbody {
                    @for a in rows {
                        tr {
                            td {
                                a href=(format!("/alerts/{}", a.id)) { (a.summary) }
                                br; span.meta { "from " (a.source) }
                            }
                            td { @match AlertStatus::parse(&a.status) { Some(s) => (page::alert_status(s)), None => (a.status) } }
                            td { @match AlertSeverity::parse(&a.severity) { Some(s) => (page::alert_severity(s)), None => (a.severity) } }
                            td {
                                @match names.get(&a.service) {
                                    Some(n) => a href=(format!("/services/{n}")) { (n) },
                                    None => code { (a.service) },
                                }
                            }
                            td { (deduplicated(a.occurrences, a.deduplicated_by.as_ref())) }
                            td { (page::time_text(&a.triggered_at)) }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    before: String,
}

async fn list(
    State(app): State<App>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> Response {
    match list_body(&app, &q).await {
        Ok(body) => respond(
            StatusCode::OK,
            frame("Alerts", Some(&caller), MainAttrs::default(), body),
        ),
        Err(p) => p.page(Some(&caller)),
    }
}

async fn list_body(app: &App, q: &ListQuery) -> Result<Markup, Problem> {
    let status = match q.status.as_str() {
        "" => None,
        s => Some(AlertStatus::parse(s).ok_or_else(|| {
            Problem::bad("the status filter is triggered, acknowledged or resolved")
        })?),
    };
    let before = match q.before.as_str() {
        "" => None,
        b => Some(Uuid::parse_str(b).map_err(|_| {
            Problem::bad("`before` is an alert's id; follow the “Older alerts” link instead")
        })?),
    };
    let service = Some(q.service.clone()).filter(|s| !s.is_empty());
    let mut rows = app
        .list_alerts(AlertFilter {
            service: service.clone(),
            status,
            before,
            limit: LIST_PAGE + 1,
        })
        .await?;
    let more = rows.len() > LIST_PAGE as usize;
    rows.truncate(LIST_PAGE as usize);
    let names = service_names(app).await?;
    let mut services: Vec<&String> = names.values().collect();
    services.sort();
    let older = rows.last().filter(|_| more).map(|last| {
        let mut query = vec![("before", last.id.to_string())];
        if let Some(s) = status {
            query.push(("status", s.as_str().to_string()));
        }
        if let Some(s) = &service {
            query.push(("service", s.clone()));
        }
        format!(
            "/alerts?{}",
            serde_urlencoded::to_string(query).unwrap_or_default()
        )
    });
    Ok(html! {
        h1 { "Alerts" }
        p.hint { "Alerts arrive from monitoring through a service's integration; triggers with the key of an open alert are deduplicated into it, and the rule that matched is recorded." }
        form.filters method="get" action="/alerts" aria-label="Filter alerts" {
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for s in [AlertStatus::Triggered, AlertStatus::Acknowledged, AlertStatus::Resolved] {
                        option value=(s.as_str()) selected[status == Some(s)] { (s.as_str()) }
                    }
                }
            }
            label { "Service "
                select name="service" {
                    option value="" { "any" }
                    @for n in &services {
                        option value=(n) selected[service.as_deref() == Some(n.as_str())] { (n) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if rows.is_empty() {
            p.empty { "No alert matches." }
        } @else {
            (table(&rows, &names, "Alerts, newest first"))
            @if more {
                p { "Showing the newest " (rows.len()) " matching alerts here; there are more. "
                    @if let Some(href) = &older { a href=(href) { "Older alerts" } } }
            }
            @if before.is_some() { p { a href="/alerts" { "Newest alerts" } } }
        }
    })
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    /// Show the events after this sequence number.
    #[serde(default)]
    after: Option<u64>,
}

async fn show(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(alert): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    alert_page(&app, &caller, &alert, None, q.after.unwrap_or(0)).await
}

/// The alert page, with `problem` (a refused or idle form) at the top.
async fn alert_page(
    app: &App,
    caller: &WebCaller,
    alert: &str,
    problem: Option<Problem>,
    after: u64,
) -> Response {
    let (st, events) = match app
        .alert_events(&caller.actor, alert, after, EVENTS_PAGE)
        .await
    {
        Ok(found) => found,
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let service = match app.load::<palisade_core::ServiceState>(st.service).await {
        Ok(s) => s.map(|s| s.name.to_string()),
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let title = format!("Alert: {}", st.details.summary);
    let body = alert_body(
        app,
        caller,
        &st,
        service.as_deref(),
        &events,
        after,
        problem.as_ref(),
    );
    respond(
        status,
        frame(&title, Some(caller), MainAttrs::default(), body),
    )
}

fn via(origin: &Option<Origin>) -> Markup {
    html! { @if let Some(o) = origin { " via integration " (o.name) } }
}

fn names(users: &[UserName]) -> String {
    users
        .iter()
        .map(UserName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One ledger event of an alert, in words.
fn event_text(e: &Event<AlertPayload>) -> Markup {
    match &e.data {
        AlertPayload::Triggered {
            details,
            origin,
            reason,
            ..
        } => html! {
            strong { "Triggered" } " (" (details.severity) ")" (via(origin)) ": " (details.summary)
            br; span.why { "A new alert because " (reason) "." }
        },
        AlertPayload::Deduplicated {
            details,
            origin,
            rule,
            matched,
            reason,
        } => html! {
            strong { "Deduplicated" } " (" (details.severity) ")" (via(origin)) ": " (details.summary)
            br; span.why {
                "Joined this alert by "
                (dedup_reason(&DedupMatch { rule: rule.clone(), matched: matched.clone() }))
                ": " (reason) "."
            }
        },
        AlertPayload::Acknowledged { origin } => html! {
            strong { "Acknowledged" } " by " (e.actor) (via(origin))
        },
        AlertPayload::Resolved { origin } => html! {
            strong { "Resolved" } " by " (e.actor) (via(origin))
        },
        AlertPayload::Escalated {
            step,
            users,
            next,
            reason,
            ..
        } => html! {
            strong { "Escalated" } " to level " (step.level + 1) " of round " (step.round + 1) ": "
            @if users.is_empty() { strong { "nobody paged" } } @else { "paged " strong.paged { (names(users)) } }
            br; span.why { (reason) }
            br; span.meta {
                @match next {
                    Some(n) => { "Next: level " (n.step.level + 1) " of round " (n.step.round + 1) " after " (palisade_core::comms::human_duration(n.after_secs as i64)) " unless acknowledged." },
                    None => "The last step of the policy.",
                }
            }
        },
        AlertPayload::Promoted { .. } => html! {
            strong { "Promoted" } " to an incident by " (e.actor)
        },
    }
}

/// What a person may do to the alert now: a button, or the same button disabled with the
/// reason (the rules' refusal, or that it would change nothing).
fn action_button(
    app: &App,
    caller: &WebCaller,
    st: &AlertState,
    cmd: AlertCommand,
    action: &str,
    label: &str,
    id: &str,
) -> Markup {
    let decided = app.would_change(&caller.actor, st, &cmd);
    html! {
        form.inline method="post" action=(format!("/alerts/{}/{action}", st.id)) {
            (csrf_field(caller))
            @match &decided {
                Ok(true) => button type="submit" { (label) },
                Ok(false) => {
                    button type="submit" disabled aria-describedby=(id) { (label) }
                    span.refusal id=(id) { "Nothing to do: the alert is already " (st.status) "." }
                }
                Err(e) => {
                    button type="submit" disabled aria-describedby=(id) { (label) }
                    span.refusal id=(id) {
                        (page::reason(e))
                        @if let AppError::Refused(r) = e { " (rule " code { (r.rule.id) } ")" }
                    }
                }
            }
        }
    }
}

/// Links from monitoring, as links only when they are web addresses.
fn web_link(href: &str, text: &str) -> Markup {
    let lower = href.to_ascii_lowercase();
    html! {
        @if lower.starts_with("https://") || lower.starts_with("http://") {
            a href=(href) rel="noopener noreferrer" { (text) }
        } @else {
            (text) " (" code { (href) } ")"
        }
    }
}

fn alert_body(
    app: &App,
    caller: &WebCaller,
    st: &AlertState,
    service: Option<&str>,
    events: &[Event<AlertPayload>],
    after: u64,
    problem: Option<&Problem>,
) -> Markup {
    let d = &st.details;
    let base = format!("/alerts/{}", st.id);
    let custom = d.custom_details.as_ref().map(|c| {
        let text = serde_json::to_string_pretty(&c.to_value()).unwrap_or_else(|_| c.0.clone());
        let total = text.chars().count();
        (text.chars().take(DETAILS_SHOWN).collect::<String>(), total)
    });
    html! {
        @if let Some(p) = problem { (p.banner()) }
        p.crumbs { a href="/alerts" { "Alerts" } " / " (st.id) }
        h1 { (d.summary) }
        p.badges { (page::alert_status(st.status)) " " (page::alert_severity(st.severity)) }
        dl.facts {
            dt { "Service" }
            dd { @match service { Some(n) => a href=(format!("/services/{n}")) { (n) }, None => code { (st.service) } } }
            dt { "Deduplication key" } dd { code.key { (st.dedup_key) } }
            dt { "Source" } dd { (d.source) }
            @if let Some(c) = &d.component { dt { "Component" } dd { (c) } }
            @if let Some(g) = &d.group { dt { "Group" } dd { (g) } }
            @if let Some(c) = &d.class { dt { "Class" } dd { (c) } }
            dt { "Triggers" }
            dd { (st.occurrences) " in all; deduplicated into it: " (deduplicated(st.occurrences, st.deduplicated_by.as_ref())) }
            dt { "Triggered" } dd { (time(st.triggered_at)) }
            dt { "Acknowledged" }
            dd { @match (&st.acknowledged_by, st.acknowledged_at) { (Some(by), Some(at)) => { (time(at)) " by " (by) }, _ => "not yet" } }
            dt { "Resolved" }
            dd { @match (&st.resolved_by, st.resolved_at) { (Some(by), Some(at)) => { (time(at)) " by " (by) }, _ => "not yet" } }
            @if st.incident.is_some() { dt { "Incident" } dd { "An incident was declared from this alert." } }
        }
        @if !d.links.is_empty() {
            h2 { "Links" }
            ul { @for l in &d.links { li { (web_link(&l.href, l.text.as_deref().unwrap_or(&l.href))) } } }
        }
        @if let Some((text, total)) = &custom {
            h2 { "Details sent with it" }
            pre.details { (text) }
            @if *total > DETAILS_SHOWN { p.hint { "Showing " (DETAILS_SHOWN) " of " (total) " characters; " code { "GET /api/v1/alerts/" (st.id) } " has them all." } }
        }
        section aria-labelledby="actions-title" {
            h2 id="actions-title" { "Act on it" }
            div.actions {
                (action_button(app, caller, st, AlertCommand::Acknowledge { origin: None }, "acknowledge", "Acknowledge", "why-ack"))
                (action_button(app, caller, st, AlertCommand::Resolve { origin: None }, "resolve", "Resolve", "why-resolve"))
            }
        }
        section aria-labelledby="timeline-title" {
            h2 id="timeline-title" { "Timeline" }
            div.scroll {
                table.list.timeline {
                    caption.visually-hidden { "The alert's ledger events, oldest first" }
                    thead { tr { th scope="col" { "#" } th scope="col" { "Recorded" } th scope="col" { "By" } th scope="col" { "What" } } }
                    tbody {
                        @for e in events {
                            tr class=(format!("ev-{}", e.data.kind())) {
                                td { (e.seq) }
                                td { (time(e.recorded_at)) }
                                td { (e.actor) }
                                td { (event_text(e)) }
                            }
                        }
                    }
                }
            }
            @let last = events.last().map_or(after, |e| e.seq);
            @if after > 0 || last < st.last_seq {
                p {
                    "Showing events " (after + 1) "–" (last) " of " (st.last_seq) ". "
                    @if after > 0 { a href=(base) { "First events" } " " }
                    @if last < st.last_seq { a href=(format!("{base}?after={last}")) { "Later events" } }
                }
            }
        }
    }
}

async fn acknowledge(
    State(app): State<App>,
    Path(alert): Path<String>,
    posted: Posted<Nothing>,
) -> Response {
    run(
        &app,
        &posted.caller,
        &alert,
        AlertCommand::Acknowledge { origin: None },
    )
    .await
}

async fn resolve(
    State(app): State<App>,
    Path(alert): Path<String>,
    posted: Posted<Nothing>,
) -> Response {
    run(
        &app,
        &posted.caller,
        &alert,
        AlertCommand::Resolve { origin: None },
    )
    .await
}

/// Run `cmd` on the alert as the API's acknowledge and resolve routes do: back to the page when
/// it changed something (303), else the page with why not at the top.
async fn run(app: &App, caller: &WebCaller, alert: &str, cmd: AlertCommand) -> Response {
    let done = app
        .execute::<AlertState>(&caller.actor, alert, cmd, &Options::default(), None)
        .await
        .and_then(|o| o.done());
    match done {
        Ok(e) if !e.events.is_empty() => {
            Redirect::to(&format!("/alerts/{}", e.state.id)).into_response()
        }
        Ok(e) => {
            let by = match e.state.status {
                AlertStatus::Resolved => e.state.resolved_by.as_ref(),
                _ => e.state.acknowledged_by.as_ref(),
            };
            let p = Problem {
                status: StatusCode::CONFLICT,
                headline: "Nothing changed",
                detail: format!(
                    "the alert is already {}{}; nothing was recorded",
                    e.state.status,
                    by.map(|u| format!(" (by {u})")).unwrap_or_default()
                ),
                rule: None,
            };
            alert_page(app, caller, alert, Some(p), 0).await
        }
        Err(e) => alert_page(app, caller, alert, Some(e.into()), 0).await,
    }
}
