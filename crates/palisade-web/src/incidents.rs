//! Incident pages: the list with filters, the declare form, and the incident page (the step
//! board, roles, communications, timeline, evidence, resolution), its forms, and its live
//! updates. Every form runs the same command the API runs, through the same pipeline; an action
//! the rules would refuse is shown disabled with the rule's reason, and refused again if sent.

use crate::page::{self, MainAttrs, Problem, csrf_field, frame, respond, time};
use crate::session::{Posted, Signed};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use maud::{Markup, html};
use palisade_app::incidents::DeclareInput;
use palisade_app::signin::WebCaller;
use palisade_app::{App, Options};
use palisade_core::incident::{Command, StepStatus};
use palisade_core::{IncidentState, Kind, Role, Severity, Status, UserName};
use palisade_store::ListFilter;
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/incidents", get(list).post(declare))
        .route("/incidents/new", get(declare_page))
        .route("/incidents/{incident}", get(show))
        .route("/incidents/{incident}/live", get(live))
        .route("/incidents/{incident}/steps/{step}/{action}", post(step))
        .route("/incidents/{incident}/roles", post(assign_role))
        .route("/incidents/{incident}/roles/unassign", post(unassign_role))
        .route("/incidents/{incident}/notes", post(note))
        .route("/incidents/{incident}/severity", post(severity))
        .route("/incidents/{incident}/corrections", post(correct))
        .route("/incidents/{incident}/status", post(status_update))
        .route("/incidents/{incident}/approvals/{approval}", post(approve))
        .route("/incidents/{incident}/resolve", post(resolve))
        .route("/incidents/{incident}/close", post(close))
}

/// Incidents listed at most (the most recently changed): a page stays well under 100 KB.
const LIST_LIMIT: u32 = 100;

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    mine: Option<String>,
}

fn pick<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() { None } else { s.parse().ok() }
}

async fn list(
    State(app): State<App>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> Response {
    let filter = ListFilter {
        viewer: caller.actor.user.clone(),
        status: pick::<Status>(&q.status),
        severity: pick::<Severity>(&q.severity),
        kind: pick::<Kind>(&q.kind),
        mine: q.mine.is_some(),
        limit: LIST_LIMIT,
    };
    let rows = match app.list_incidents(&filter).await {
        Ok(r) => r,
        Err(e) => return Problem::from(e).page(Some(&caller)),
    };
    let body = html! {
        div.heading {
            h1 { "Incidents" }
            a.button href="/incidents/new" { "Declare an incident" }
        }
        form.filters method="get" action="/incidents" aria-label="Filter incidents" {
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for s in Status::ALL { option value=(s.as_str()) selected[filter.status == Some(*s)] { (s.as_str()) } }
                }
            }
            label { "Severity "
                select name="severity" {
                    option value="" { "any" }
                    @for n in 1..=5u8 {
                        @let s = Severity::new(n).expect("1..=5");
                        option value=(s.to_string()) selected[filter.severity == Some(s)] { (s) }
                    }
                }
            }
            label { "Kind "
                select name="kind" {
                    option value="" { "any" }
                    @for k in Kind::ALL { option value=(k.as_str()) selected[filter.kind == Some(*k)] { (k.as_str()) } }
                }
            }
            label.check { input type="checkbox" name="mine" value="1" checked[filter.mine]; " Mine only" }
            button type="submit" { "Filter" }
        }
        @if rows.is_empty() {
            p.empty { "No incident matches. " a href="/incidents/new" { "Declare one" } " when something is wrong." }
        } @else {
            @if rows.len() as u32 == LIST_LIMIT {
                p.hint { "Showing the " (LIST_LIMIT) " most recently changed; filter to find older ones." }
            }
            div.scroll {
                table.list {
                    caption.visually-hidden { "Incidents, most recently changed first" }
                    thead { tr { th scope="col" { "Incident" } th scope="col" { "Severity" } th scope="col" { "Status" } th scope="col" { "Kind" } th scope="col" { "Commander" } th scope="col" { "Updated" } } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td {
                                    a href=(format!("/incidents/{}", r.codename)) { strong { (r.codename) } }
                                    br; span.title { (r.title) }
                                    @if r.restricted { " " span.badge.restricted { "restricted" } }
                                }
                                td { (page::severity(r.severity)) }
                                td { (page::status(r.status)) }
                                td { (r.kind.as_str()) }
                                td { (r.commander.as_deref().unwrap_or("—")) }
                                td { (page::time_text(&r.updated_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        frame("Incidents", Some(&caller), MainAttrs::default(), body),
    )
}

fn declare_form(caller: &WebCaller, problem: Option<&Problem>, f: &DeclareForm) -> Markup {
    frame(
        "Declare an incident",
        Some(caller),
        MainAttrs::default(),
        html! {
            h1 { "Declare an incident" }
            @if let Some(p) = problem { (p.banner()) }
            form.stack method="post" action="/incidents" {
                (csrf_field(caller))
                label for="title" { "Title" }
                input id="title" name="title" type="text" required maxlength="200" value=(f.title) aria-describedby="title-hint";
                p.hint id="title-hint" { "Short and factual. Security incidents are listed by their codename; the title is seen by members only." }
                fieldset {
                    legend { "Kind" }
                    label.check { input type="radio" name="kind" value="security" checked[f.kind != "operational"]; " Security incident" }
                    label.check { input type="radio" name="kind" value="operational" checked[f.kind == "operational"]; " Operational incident" }
                    p.hint { "When unsure whether it is a security incident, declare it as one: it is restricted to its members and follows the 14-step process." }
                }
                label for="severity" { "Severity" }
                select id="severity" name="severity" required aria-describedby="sev-hint" {
                    @for n in 1..=5u8 {
                        @let s = Severity::new(n).expect("1..=5");
                        option value=(s.to_string()) selected[f.severity == s.to_string()] {
                            (s) (match n { 1 => " — critical: major harm now", 2 => " — major: serious harm likely", 3 => " — moderate", 4 => " — minor", _ => " — low" })
                        }
                    }
                }
                p.hint id="sev-hint" { strong { "When unsure, pick the higher severity." } " It can be lowered later, with a reason on the record." }
                label for="summary" { "What is known (optional)" }
                textarea id="summary" name="summary" rows="4" maxlength="10000" { (f.summary) }
                label.check { input type="checkbox" name="commander_me" value="1" checked[f.commander_me || f.title.is_empty()]; " I am the Incident Commander" }
                button type="submit" { "Declare" }
            }
        },
    )
}

async fn declare_page(Signed(caller): Signed) -> Response {
    respond(
        StatusCode::OK,
        declare_form(&caller, None, &DeclareForm::default()),
    )
}

#[derive(Deserialize, Default)]
struct DeclareForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    summary: String,
    #[serde(default, deserialize_with = "checkbox")]
    commander_me: bool,
}

fn checkbox<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(!String::deserialize(d)?.is_empty())
}

async fn declare(State(app): State<App>, posted: Posted<DeclareForm>) -> Response {
    let (caller, f) = (posted.caller, posted.form);
    let bad = |p: Problem| respond(p.status, declare_form(&caller, Some(&p), &f));
    let Ok(severity) = f.severity.parse::<Severity>() else {
        return bad(Problem::bad("choose a severity"));
    };
    let kind = match f.kind.as_str() {
        "operational" => Kind::Operational,
        _ => Kind::Security,
    };
    let input = DeclareInput {
        title: f.title.trim().to_string(),
        kind: Some(kind),
        severity,
        restricted: None,
        summary: Some(f.summary.trim().to_string()).filter(|s| !s.is_empty()),
        playbook: None,
        commander: f.commander_me.then(|| caller.actor.user.clone()),
        aware_at: None,
    };
    match app
        .declare(&caller.actor, input, &Options::default(), None)
        .await
    {
        Ok(outcome) => match outcome.done() {
            Ok(e) => Redirect::to(&format!("/incidents/{}", e.state.codename)).into_response(),
            Err(e) => bad(e.into()),
        },
        Err(e) => bad(e.into()),
    }
}

/// What a page shows as the incident's version: events other than recorded reads, so a read
/// (which a page view of a restricted incident records) does not make every open page reload.
fn version(st: &IncidentState) -> u64 {
    st.last_seq - st.reads
}

/// Timeline entries shown at once (newest first); older ones a page at a time.
const TIMELINE_PAGE: usize = 100;

#[derive(Deserialize, Default)]
struct ShowQuery {
    /// Show timeline entries before this sequence number.
    #[serde(default)]
    before: Option<u64>,
}

async fn show(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(incident): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    incident_page_at(&app, &caller, &incident, None, q.before).await
}

/// The incident page, with `problem` (a refused form) at the top.
pub(crate) async fn incident_page(
    app: &App,
    caller: &WebCaller,
    reference: &str,
    problem: Option<Problem>,
) -> Response {
    incident_page_at(app, caller, reference, problem, None).await
}

async fn incident_page_at(
    app: &App,
    caller: &WebCaller,
    reference: &str,
    problem: Option<Problem>,
    before: Option<u64>,
) -> Response {
    let st = match app
        .read::<IncidentState>(&caller.actor, reference, "incident page", "web")
        .await
    {
        Ok(st) => st,
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let attrs = MainAttrs {
        live: Some(format!("/incidents/{}/live", st.codename)),
        version: Some(version(&st)),
    };
    let title = format!("{} — {}", st.codename, st.title);
    let check = match app.check_ledger(st.id).await {
        Ok(c) => c,
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let changes = match app.changes_around(&st).await {
        Ok(c) => c,
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let shown = Shown {
        before,
        check,
        changes,
    };
    respond(
        status,
        frame(
            &title,
            Some(caller),
            attrs,
            incident_body(app, caller, &st, problem.as_ref(), &shown),
        ),
    )
}

pub(crate) fn base(st: &IncidentState) -> String {
    format!("/incidents/{}", st.codename)
}

/// A button that posts `fields` to `action`, or, when the rules would refuse `cmd`, the same
/// button disabled with the reason beside it.
pub(crate) fn action_button(
    app: &App,
    caller: &WebCaller,
    st: &IncidentState,
    cmd: Command,
    action: &str,
    label: &str,
    id: &str,
) -> Markup {
    let refusal = app.would_refuse(&caller.actor, st, &cmd);
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(caller))
            @match &refusal {
                None => button type="submit" { (label) },
                Some(e) => {
                    button type="submit" disabled aria-describedby=(id) { (label) }
                    span.refusal id=(id) {
                        (page::reason(e))
                        @if let palisade_app::AppError::Refused(r) = e { " (rule " code { (r.rule.id) } ")" }
                    }
                }
            }
        }
    }
}

/// What the page shows besides the state: where the timeline starts, the ledger's check.
struct Shown {
    before: Option<u64>,
    check: palisade_app::ledger_check::LedgerCheck,
    /// Change events of the service the incident's alert came from, around its start.
    changes: palisade_app::incidents::IncidentChanges,
}

fn ledger_badge(c: &palisade_app::ledger_check::LedgerCheck) -> Markup {
    html! {
        @if c.ok {
            span.badge.ok { "✓ ledger verified" }
            " through event " (c.through) " (hash chain and checkpoint links; last signed checkpoint "
            @match c.last_checkpoint { Some(n) => { "#" (n) }, None => "none" }
            ", its signature verified; checked " (time(c.checked_at)) ")"
        } @else {
            span.badge.overdue { "✗ LEDGER CHECK FAILED" }
            " " (c.failure.as_deref().unwrap_or("")) " — run " code { "palisade verify" } " and see docs/ledger-format.md"
        }
    }
}

fn incident_body(
    app: &App,
    caller: &WebCaller,
    st: &IncidentState,
    problem: Option<&Problem>,
    shown: &Shown,
) -> Markup {
    let entries: Vec<_> = st
        .timeline
        .iter()
        .rev()
        .filter(|t| shown.before.is_none_or(|b| t.seq < b))
        .take(TIMELINE_PAGE + 1)
        .collect();
    let more = entries.len() > TIMELINE_PAGE;
    let entries = &entries[..entries.len().min(TIMELINE_PAGE)];
    let now = palisade_app::now();
    let comms = palisade_core::comms::status(st, app.comms_policy(), now);
    let base = base(st);
    let roles_of = |u: &UserName| -> String {
        st.members
            .get(u)
            .map(|r| r.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    html! {
        @if let Some(p) = problem { (p.banner()) }
        @if let Some(g) = break_glass_grant(caller, st) {
            div.banner.warn role="alert" {
                strong { "Break-glass access. " }
                "You are not a member of this incident; you may read it until " (time(g.until))
                " because: “" (g.reason) "”. Every read is recorded and the Incident Commander was told."
            }
        }
        p.live-status role="status" aria-live="polite" {}
        section data-region="head" aria-labelledby="incident-title" {
            p.crumbs { a href="/incidents" { "Incidents" } " / " (st.codename) }
            h1 id="incident-title" { (st.codename) ": " (st.title) }
            p.badges {
                (page::severity(st.severity)) " " (page::status(st.status)) " "
                span.badge { (st.kind.as_str()) }
                @if st.restricted { " " span.badge.restricted { "restricted to members" } }
                @if st.drill.is_some() { " " span.badge.drill { "drill" } }
            }
            @if let Some(d) = &st.drill {
                p.drill-note role="note" {
                    "A drill of scenario " code { (d.scenario) } ": not a real incident, kept out of metrics, and its notices reach only its participants ("
                    @for (i, p) in d.participants.iter().enumerate() { @if i > 0 { ", " } (p) }
                    "). " (st.injected.len()) " injection(s) released so far."
                }
            }
            p.meta { "Declared by " (st.declared_by) " at " (time(st.declared_at)) ". Last change " (time(st.updated_at)) "." }
            @if st.status.is_open() {
                details.severity {
                    summary { "Change severity…" }
                    form.row method="post" action=(format!("{base}/severity")) {
                        (csrf_field(caller))
                        label for="sev-to" { "New severity" }
                        select id="sev-to" name="to" {
                            @for n in 1..=5u8 {
                                @let sv = Severity::new(n).expect("1..=5");
                                option value=(sv.to_string()) selected[sv == st.severity] { (sv) }
                            }
                        }
                        label for="sev-reason" { "Why" }
                        input id="sev-reason" name="reason" type="text" required maxlength="10000";
                        button type="submit" { "Change" }
                    }
                }
            }
            p.ledger { (ledger_badge(&shown.check)) }
            @if let Some(s) = &st.summary { p.summary { (page::prose(s)) } }
        }

        section data-region="board" aria-labelledby="board-title" {
            h2 id="board-title" { "Steps: " (st.playbook.name) }
            @if !st.playbook.approvals.is_empty() {
                ul.approvals aria-label="Approvals" {
                    @for a in &st.playbook.approvals {
                        li {
                            strong { "Approval: " (a.id) } " (by the " (a.role.as_str().replace('_', " ")) ")"
                            @if let Some(d) = &a.description { br; span.hint { (d) } }
                            br;
                            @match st.approvals.get(&a.id) {
                                Some(r) => { span.badge.ok { "approved" } " by " (r.by) " " (time(r.at)) }
                                None => @if st.status.is_open() {
                                    (action_button(app, caller, st, Command::Approve { approval: a.id.clone(), note: None }, &format!("{base}/approvals/{}", a.id), "Approve", &format!("why-approve-{}", a.id)))
                                } @else { span.badge { "not given" } },
                            }
                        }
                    }
                }
            }
            ol.board {
                @for step in &st.steps {
                    @let n = step.n;
                    li class=(format!("step {}", step.status.as_str())) {
                        div.step-head {
                            span.num { (n) }
                            span.step-title { (step.title) }
                            span class=(format!("badge step-{}", step.status.as_str())) { (step_label(step.status)) }
                        }
                        p.step-meta {
                            @if let Some(o) = &step.owner { "Owner: " (o) ". " }
                            @if let (Some(at), Some(by)) = (step.started_at, &step.started_by) { "Started " (time(at)) " by " (by) ". " }
                            @if let (Some(at), Some(by)) = (step.settled_at, &step.settled_by) {
                                (if step.status == StepStatus::Waived { "Waived " } else { "Done " }) (time(at)) " by " (by) ". "
                            }
                            @if let Some(r) = &step.waiver_reason { "Reason: " (r) }
                        }
                        @if !step.status.settled() && st.status.is_open() {
                            div.actions {
                                @if step.status == StepStatus::Pending {
                                    (action_button(app, caller, st, Command::StartStep { step: n }, &format!("{base}/steps/{n}/start"), "Start", &format!("why-start-{n}")))
                                }
                                (action_button(app, caller, st, Command::CompleteStep { step: n, note: None }, &format!("{base}/steps/{n}/done"), "Mark done", &format!("why-done-{n}")))
                                @let waive = app.would_refuse(&caller.actor, st, &Command::WaiveStep { step: n, reason: "-".into() });
                                @if waive.is_none() {
                                    details.waive {
                                        summary { "Waive…" }
                                        form.inline method="post" action=(format!("{base}/steps/{n}/waive")) {
                                            (csrf_field(caller))
                                            label for=(format!("waive-{n}")) { "Why is step " (n) " waived?" }
                                            input id=(format!("waive-{n}")) name="reason" type="text" required maxlength="10000";
                                            button type="submit" { "Waive" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        section data-region="roles" aria-labelledby="roles-title" {
            h2 id="roles-title" { "People and roles" }
            ul.members {
                @for (user, roles) in &st.members {
                    li {
                        strong { (user) }
                        @if roles.is_empty() { " — member" } @else { " — " (roles_of(user)) }
                        @for r in roles {
                            form.inline method="post" action=(format!("{base}/roles/unassign")) {
                                (csrf_field(caller))
                                input type="hidden" name="user" value=(user);
                                input type="hidden" name="role" value=(r.as_str());
                                button.small type="submit" aria-label=(format!("Remove {} from {}", r.as_str(), user)) { "Remove " (r.as_str()) }
                            }
                        }
                    }
                }
            }
            @if st.status.is_open() {
                form.row method="post" action=(format!("{base}/roles")) {
                    (csrf_field(caller))
                    label for="role-user" { "User" }
                    input id="role-user" name="user" type="text" required autocapitalize="none" spellcheck="false";
                    label for="role-role" { "Role" }
                    select id="role-role" name="role" {
                        @for r in Role::ALL { option value=(r.as_str()) { (r.as_str().replace('_', " ")) } }
                    }
                    button type="submit" { "Assign" }
                }
            }
        }

        section data-region="comms" aria-labelledby="comms-title" {
            h2 id="comms-title" { "Status updates and deadlines" }
            ul.cadence {
                @for c in [&comms.internal, &comms.external] {
                    li class=(if c.overdue { "overdue" } else { "" }) {
                        strong { (format!("{:?}", c.audience).to_lowercase()) " updates" }
                        @match (c.every_minutes, c.next_due, c.seconds_remaining) {
                            (Some(every), Some(due), Some(secs)) => {
                                ": every " (every) " min; next " (page::countdown(secs, due))
                                @if c.overdue { " " span.badge.overdue { "OVERDUE" } }
                            }
                            _ => { ": no cadence now" }
                        }
                        @if let Some(l) = c.last_update { " (last " (time(l)) ")" }
                    }
                }
                @for d in &comms.deadlines {
                    li class=(if d.overdue { "overdue" } else { "" }) {
                        strong { (d.name) } " (" (d.hours) " h): due " (time(d.due))
                        @if let Some(secs) = d.seconds_remaining { " — " (page::countdown(secs, d.due)) }
                        @if d.overdue { " " span.badge.overdue { "OVERDUE" } }
                        @if d.met.is_some() { " " span.badge.ok { (if d.met_late { "met late" } else { "met" }) } }
                    }
                }
                @if comms.aware_at.is_none() && !comms.pending_deadlines.is_empty() {
                    li.hint { "Notification deadlines (" (comms.pending_deadlines.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")) ") start when awareness is recorded." }
                }
            }
            (crate::comms::awareness_and_deadlines(app, caller, st))
            @if st.status.is_open() {
                form.stack method="post" action=(format!("{base}/status")) {
                    (csrf_field(caller))
                    label for="status-message" { "Internal status update" }
                    textarea id="status-message" name="message" rows="2" maxlength="10000" required {}
                    label for="status-status" { "Status" }
                    select id="status-status" name="status" {
                        option value="" { "unchanged (" (st.status.as_str()) ")" }
                        @for s in [Status::Investigating, Status::Contained] { option value=(s.as_str()) { (s.as_str()) } }
                    }
                    button type="submit" { "Post update" }
                }
            }
        }

        (crate::evidence::section(caller, st))
        (crate::comms::statements(app, caller, st))

        @if let Some(service) = &shown.changes.service {
            section aria-labelledby="changes-title" {
                h2 id="changes-title" { "Changes to " a href=(format!("/services/{service}")) { (service) } " around this incident" }
                p.hint { "Declared from an alert of " (service) ". Change events from four hours before the declaration (" (time(shown.changes.from)) ") until " @if st.closed_at.is_some() { "it closed" } @else { "now" } ": a deploy or a configuration change here is the first suspect." }
                @if shown.changes.changes.is_empty() {
                    p.empty { "No change was recorded in that window." }
                } @else {
                    div.scroll {
                        table.list {
                            caption.visually-hidden { "Change events of the service, newest first" }
                            thead { tr { th scope="col" { "Recorded" } th scope="col" { "Change" } th scope="col" { "Source" } } }
                            tbody {
                                @for c in &shown.changes.changes {
                                    tr {
                                        td { (page::time_text(c["recorded_at"].as_str().unwrap_or_default())) }
                                        td { (c["summary"].as_str().unwrap_or_default()) }
                                        td { (c["source"].as_str().unwrap_or("—")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        section data-region="timeline" aria-labelledby="timeline-title" {
            h2 id="timeline-title" { "Timeline" }
            @if st.status.is_open() || st.status == Status::Resolved {
                form.stack method="post" action=(format!("{base}/notes")) {
                    (csrf_field(caller))
                    label for="note" { "Add a note" }
                    textarea id="note" name="text" rows="2" maxlength="10000" required {}
                    button type="submit" { "Add note" }
                }
            }
            div.scroll {
                table.list.timeline {
                    thead { tr { th scope="col" { "#" } th scope="col" { "Occurred" } th scope="col" { "Recorded" } th scope="col" { "By" } th scope="col" { "What" } } }
                    tbody {
                        @for t in entries {
                            tr {
                                td { (t.seq) }
                                td { (time(t.effective_occurred_at())) @if t.effective_occurred_at() != t.occurred_at { br; del { (time(t.occurred_at)) } } }
                                td { (time(t.recorded_at)) }
                                td { (t.actor) }
                                td {
                                    (page::prose(&t.description))
                                    @for c in &t.corrections { br; span.correction { "Corrected (#" (c.seq) "): " (c.reason) } }
                                }
                            }
                        }
                    }
                }
            }
            @if st.status != Status::Closed {
                details.correct {
                    summary { "Correct an entry…" }
                    form.stack method="post" action=(format!("{base}/corrections")) {
                        (csrf_field(caller))
                        p.hint { "Entries are never changed: a correction is a new entry that says which one it corrects, and why." }
                        label for="corr-seq" { "Entry #" }
                        input id="corr-seq" name="supersedes" type="number" min="1" required;
                        label for="corr-reason" { "Why it is corrected" }
                        input id="corr-reason" name="reason" type="text" required maxlength="10000";
                        label for="corr-at" { "When it really happened (UTC, optional)" }
                        input id="corr-at" name="occurred_at" type="datetime-local";
                        label for="corr-text" { "Corrected text (optional)" }
                        input id="corr-text" name="text" type="text" maxlength="10000";
                        button type="submit" { "Record correction" }
                    }
                }
            }
            @if shown.before.is_some() { p { a href=(base) { "Newest entries" } } }
            @if more { @if let Some(last) = entries.last() {
                p { a href=(format!("{base}?before={}", last.seq)) { "Earlier entries" } }
            } }
        }

        section data-region="resolution" aria-labelledby="resolution-title" {
            h2 id="resolution-title" { "Resolution" }
            @if let Some(r) = &st.resolution { p { "Resolved" @if let Some(at) = st.resolved_at { " " (time(at)) } ": " (page::prose(r)) } }
            @if let Some(at) = st.closed_at { p { "Closed " (time(at)) "." } }
            @if st.status.is_open() {
                @let refusal = app.would_refuse(&caller.actor, st, &Command::Resolve { summary: "-".into() });
                form.stack method="post" action=(format!("{base}/resolve")) {
                    (csrf_field(caller))
                    label for="resolve-summary" { "Resolution summary" }
                    textarea id="resolve-summary" name="summary" rows="2" maxlength="10000" required disabled[refusal.is_some()] {}
                    @match &refusal {
                        None => button type="submit" { "Resolve" },
                        Some(e) => {
                            button type="submit" disabled aria-describedby="why-resolve" { "Resolve" }
                            span.refusal id="why-resolve" { (page::reason(e)) @if let palisade_app::AppError::Refused(r) = e { " (rule " code { (r.rule.id) } ")" } }
                        }
                    }
                }
            }
            @if st.status == Status::Resolved {
                (action_button(app, caller, st, Command::Close { note: None }, &format!("{base}/close"), "Close the incident", "why-close"))
            }
        }
        (crate::comms::postmortem(app, caller, st))
    }
}

/// The caller's live break-glass grant, when they read the incident through one (not a member).
fn break_glass_grant<'a>(
    caller: &WebCaller,
    st: &'a IncidentState,
) -> Option<&'a palisade_core::custody::BreakGlassGrant> {
    if st.members.contains_key(&caller.actor.user) {
        return None;
    }
    let now = palisade_app::now();
    st.break_glass
        .iter()
        .rev()
        .find(|g| g.user == caller.actor.user && g.until > now)
}

fn step_label(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Pending => "to do",
        StepStatus::InProgress => "in progress",
        StepStatus::Done => "done",
        StepStatus::Waived => "waived",
    }
}

/// Run `cmd` on the incident for the form's caller: back to the page when done (303, so a
/// reload does not post again), or the page with the refusal at the top.
pub(crate) async fn run(app: &App, caller: &WebCaller, incident: &str, cmd: Command) -> Response {
    match app
        .execute::<IncidentState>(&caller.actor, incident, cmd, &Options::default(), None)
        .await
    {
        Ok(outcome) => match outcome.done() {
            Ok(e) => Redirect::to(&base(&e.state)).into_response(),
            Err(e) => incident_page(app, caller, incident, Some(e.into())).await,
        },
        Err(e) => incident_page(app, caller, incident, Some(e.into())).await,
    }
}

#[derive(Deserialize)]
struct StepForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

async fn step(
    State(app): State<App>,
    Path((incident, n, action)): Path<(String, String, String)>,
    posted: Posted<StepForm>,
) -> Response {
    let caller = &posted.caller;
    let Some(step) = n.parse::<u32>().ok().filter(|n| *n >= 1) else {
        return Problem {
            status: StatusCode::NOT_FOUND,
            headline: "Not found",
            detail: format!("no step {n:?}"),
            rule: None,
        }
        .page(Some(caller));
    };
    let f = posted.form;
    let cmd = match action.as_str() {
        "start" => Command::StartStep { step },
        "done" => Command::CompleteStep {
            step,
            note: Some(f.note.trim().to_string()).filter(|s| !s.is_empty()),
        },
        "waive" => Command::WaiveStep {
            step,
            reason: f.reason.trim().to_string(),
        },
        _ => {
            return Problem {
                status: StatusCode::NOT_FOUND,
                headline: "Not found",
                detail: format!("no step action {action:?}"),
                rule: None,
            }
            .page(Some(caller));
        }
    };
    run(&app, caller, &incident, cmd).await
}

#[derive(Deserialize)]
struct RoleForm {
    user: String,
    role: String,
}

fn role_command(f: &RoleForm, assign: bool) -> Result<Command, Problem> {
    let user = UserName::parse(f.user.trim()).map_err(|e| Problem::bad(e.to_string()))?;
    let role = f
        .role
        .parse::<Role>()
        .map_err(|e| Problem::bad(e.to_string()))?;
    Ok(if assign {
        Command::AssignRole { user, role }
    } else {
        Command::UnassignRole { user, role }
    })
}

async fn assign_role(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<RoleForm>,
) -> Response {
    match role_command(&posted.form, true) {
        Ok(cmd) => run(&app, &posted.caller, &incident, cmd).await,
        Err(p) => incident_page(&app, &posted.caller, &incident, Some(p)).await,
    }
}

async fn unassign_role(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<RoleForm>,
) -> Response {
    match role_command(&posted.form, false) {
        Ok(cmd) => run(&app, &posted.caller, &incident, cmd).await,
        Err(p) => incident_page(&app, &posted.caller, &incident, Some(p)).await,
    }
}

#[derive(Deserialize)]
struct TextForm {
    #[serde(default)]
    text: String,
}

async fn note(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<TextForm>,
) -> Response {
    let cmd = Command::AddNote {
        text: posted.form.text.trim().to_string(),
    };
    run(&app, &posted.caller, &incident, cmd).await
}

#[derive(Deserialize)]
struct SeverityForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
}

async fn severity(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<SeverityForm>,
) -> Response {
    let Ok(to) = posted.form.to.parse::<Severity>() else {
        let p = Problem::bad("choose a severity, SEV-1 to SEV-5");
        return incident_page(&app, &posted.caller, &incident, Some(p)).await;
    };
    let reason = Some(posted.form.reason.trim().to_string()).filter(|r| !r.is_empty());
    run(
        &app,
        &posted.caller,
        &incident,
        Command::ChangeSeverity { to, reason },
    )
    .await
}

#[derive(Deserialize)]
struct CorrectionForm {
    #[serde(default)]
    supersedes: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    occurred_at: String,
    #[serde(default)]
    text: String,
}

async fn correct(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<CorrectionForm>,
) -> Response {
    let f = &posted.form;
    let bad = |msg: &str| Some(Problem::bad(msg));
    let Ok(supersedes) = f.supersedes.trim().parse::<u64>() else {
        return incident_page(
            &app,
            &posted.caller,
            &incident,
            bad("give the number (#) of the entry to correct"),
        )
        .await;
    };
    let occurred_at = match f.occurred_at.trim() {
        "" => None,
        t => match crate::comms::local_utc(t) {
            Some(at) => Some(at),
            None => {
                return incident_page(
                    &app,
                    &posted.caller,
                    &incident,
                    bad("give the time as a date and time (UTC)"),
                )
                .await;
            }
        },
    };
    let cmd = Command::Correct {
        supersedes,
        reason: f.reason.trim().to_string(),
        occurred_at,
        text: Some(f.text.trim().to_string()).filter(|t| !t.is_empty()),
    };
    run(&app, &posted.caller, &incident, cmd).await
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

async fn status_update(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<StatusForm>,
) -> Response {
    let f = &posted.form;
    let status = match f.status.as_str() {
        "" => None,
        s => match s.parse::<Status>() {
            Ok(s) => Some(s),
            Err(e) => {
                return incident_page(
                    &app,
                    &posted.caller,
                    &incident,
                    Some(Problem::bad(e.to_string())),
                )
                .await;
            }
        },
    };
    let cmd = Command::UpdateStatus {
        status,
        message: Some(f.message.trim().to_string()).filter(|m| !m.is_empty()),
    };
    run(&app, &posted.caller, &incident, cmd).await
}

async fn approve(
    State(app): State<App>,
    Path((incident, approval)): Path<(String, String)>,
    posted: Posted<CloseForm>,
) -> Response {
    let cmd = Command::Approve {
        approval,
        note: Some(posted.form.note.trim().to_string()).filter(|n| !n.is_empty()),
    };
    run(&app, &posted.caller, &incident, cmd).await
}

#[derive(Deserialize)]
struct ResolveForm {
    #[serde(default)]
    summary: String,
}

async fn resolve(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<ResolveForm>,
) -> Response {
    let cmd = Command::Resolve {
        summary: posted.form.summary.trim().to_string(),
    };
    run(&app, &posted.caller, &incident, cmd).await
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    note: String,
}

async fn close(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<CloseForm>,
) -> Response {
    let cmd = Command::Close {
        note: Some(posted.form.note.trim().to_string()).filter(|n| !n.is_empty()),
    };
    run(&app, &posted.caller, &incident, cmd).await
}

/// Server-sent events for an open incident page: `changed` with the incident's version each
/// time it moves (on this instance as it commits; every 10 seconds otherwise, for changes made
/// through other instances). The stream ends when the caller may no longer see the incident.
async fn live(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(incident): Path<String>,
) -> Response {
    let st = match app
        .load_visible::<IncidentState>(&caller.actor, &incident)
        .await
    {
        Ok(st) => st,
        Err(e) => return Problem::from(e).page(Some(&caller)),
    };
    Sse::new(changes(app, caller, st))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn changes(
    app: App,
    caller: WebCaller,
    st: IncidentState,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let rx = app.subscribe_changes();
    let id = st.id;
    let shown = version(&st);
    futures_util::stream::unfold(
        (app, caller, rx, shown, false),
        move |(app, caller, mut rx, shown, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let woke = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
                match woke {
                    Ok(Ok(changed)) if changed != id => continue,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return None,
                    _ => {}
                }
                let now = match app
                    .load_visible::<IncidentState>(&caller.actor, &id.to_string())
                    .await
                {
                    Ok(st) => version(&st),
                    // Gone from view (membership removed, break-glass over): tell the page, stop.
                    Err(palisade_app::AppError::NotFound(_)) => {
                        return Some((
                            Ok(Event::default().event("gone").data("")),
                            (app, caller, rx, shown, true),
                        ));
                    }
                    Err(_) => continue,
                };
                if now != shown {
                    let ev = Event::default().event("changed").data(now.to_string());
                    return Some((Ok(ev), (app, caller, rx, now, false)));
                }
            }
        },
    )
}
