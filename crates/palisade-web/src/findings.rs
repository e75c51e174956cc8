//! Findings pages: the list as findings stand now (filtered by service, status, kind and
//! severity; overdue ones said in words), and a finding's page: what and where, its due date,
//! its mark (who accepted it, why, until when), its history, and the forms that accept its risk,
//! mark it a false positive or withdraw the mark — through the same pipeline as the API.

use crate::alerts::service_names;
use crate::page::{self, MainAttrs, Problem, csrf_field, frame, respond, time};
use crate::session::{Posted, Signed};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use palisade_app::findings::{FindingFilter, FindingRow};
use palisade_app::signin::WebCaller;
use palisade_app::{App, Options};
use palisade_core::Timestamp;
use palisade_core::finding::{FindingCommand, FindingState, FindingStatus, TriageKind};
use palisade_core::types::{FindingKind, FindingSeverity};
use serde::Deserialize;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/findings", get(list))
        .route("/findings/{finding}", get(show))
        .route("/findings/{finding}/accept", post(accept))
        .route("/findings/{finding}/false-positive", post(false_positive))
        .route("/findings/{finding}/reopen", post(reopen))
}

/// Findings listed at once.
const LIST_SHOWN: usize = 200;

const STATUSES: [FindingStatus; 4] = [
    FindingStatus::Open,
    FindingStatus::Accepted,
    FindingStatus::FalsePositive,
    FindingStatus::Fixed,
];

fn severity(s: FindingSeverity) -> Markup {
    html! { span class=(format!("badge fsev-{}", s.as_str())) { (s.as_str()) } }
}

fn status(r: &FindingRow) -> Markup {
    html! {
        span class=(format!("badge fst-{}", r.status.as_str())) { (r.status.as_str().replace('_', " ")) }
        @if r.overdue { " " span.badge.overdue { "overdue" } }
        @if r.acceptance_expired { " " span.badge.overdue { "acceptance expired" } }
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    service: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    min_severity: String,
}

fn parse_opt<T: std::str::FromStr>(s: &str, what: &str) -> Result<Option<T>, Problem>
where
    T::Err: std::fmt::Display,
{
    match s {
        "" => Ok(None),
        v => v
            .parse::<T>()
            .map(Some)
            .map_err(|e| Problem::bad(format!("the {what} filter: {e}"))),
    }
}

async fn list(
    State(app): State<App>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> Response {
    match list_body(&app, &caller, &q).await {
        Ok(body) => respond(
            StatusCode::OK,
            frame("Findings", Some(&caller), MainAttrs::default(), body),
        ),
        Err(p) => p.page(Some(&caller)),
    }
}

async fn list_body(app: &App, caller: &WebCaller, q: &ListQuery) -> Result<Markup, Problem> {
    let filter = FindingFilter {
        service: Some(q.service.clone()).filter(|s| !s.is_empty()),
        phase: None,
        kind: parse_opt::<FindingKind>(&q.kind, "kind")?,
        status: parse_opt::<FindingStatus>(&q.status, "status")?,
        min_severity: parse_opt::<FindingSeverity>(&q.min_severity, "severity")?,
        overdue: false,
        at: None,
    };
    let rows = app.list_findings(&caller.actor, &filter).await?;
    let names = service_names(app).await?;
    let mut services: Vec<&String> = names.values().collect();
    services.sort();
    let open = rows
        .iter()
        .filter(|r| r.status == FindingStatus::Open)
        .count();
    let overdue = rows.iter().filter(|r| r.overdue).count();
    Ok(html! {
        h1 { "Findings" }
        p.hint { "What the scanners of each service's pipeline report, kept between runs: opened when first reported, fixed when a later run no longer reports them, reopened when they return. Upload reports with " code { "palisade upload" } "; the gate decides with " code { "palisade gate" } "." }
        form.filters method="get" action="/findings" aria-label="Filter findings" {
            label { "Service "
                select name="service" {
                    option value="" { "any" }
                    @for n in &services { option value=(n) selected[q.service == **n] { (n) } }
                }
            }
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s.as_str()) selected[q.status == s.as_str()] { (s.as_str().replace('_', " ")) } }
                }
            }
            label { "Kind "
                select name="kind" {
                    option value="" { "any" }
                    @for k in FindingKind::ALL { option value=(k.as_str()) selected[q.kind == k.as_str()] { (k.as_str()) } }
                }
            }
            label { "At least "
                select name="min_severity" {
                    option value="" { "any severity" }
                    @for s in FindingSeverity::ALL.iter().rev() { option value=(s.as_str()) selected[q.min_severity == s.as_str()] { (s.as_str()) } }
                }
            }
            button type="submit" { "Filter" }
        }
        @if rows.is_empty() {
            p.empty { "No finding matches." }
        } @else {
            p { (rows.len()) " findings match: " (open) " open, " (overdue) " overdue." }
            div.scroll {
                table.list {
                    caption.visually-hidden { "Findings, most severe first" }
                    thead { tr {
                        th scope="col" { "Severity" } th scope="col" { "Status" } th scope="col" { "Finding" }
                        th scope="col" { "Where" } th scope="col" { "Service" } th scope="col" { "Due" }
                    } }
                    tbody {
                        @for r in rows.iter().take(LIST_SHOWN) {
                            @let f = &r.finding;
                            tr {
                                td { (severity(f.observed.severity)) }
                                td { (status(r)) }
                                td { a href=(format!("/findings/{}", f.id)) { (f.observed.rule) } " " span.meta { (f.observed.kind) ": " (f.observed.title) } }
                                td { code { (f.observed.location.as_deref().or(f.observed.package.as_deref()).unwrap_or("—")) } }
                                td { @match names.get(&f.service) { Some(n) => a href=(format!("/services/{n}")) { (n) }, None => code { (f.service) } } }
                                td { @match f.due_at { Some(d) => (time(d)), None => "—" } }
                            }
                        }
                    }
                }
            }
            @if rows.len() > LIST_SHOWN {
                p { "Showing the " (LIST_SHOWN) " most severe of " (rows.len()) "; filter to see the others, or use " code { "GET /api/v1/findings" } "." }
            }
        }
    })
}

async fn show(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(finding): Path<String>,
) -> Response {
    finding_page(&app, &caller, &finding, None).await
}

async fn finding_page(
    app: &App,
    caller: &WebCaller,
    finding: &str,
    problem: Option<Problem>,
) -> Response {
    let st = match app
        .read::<FindingState>(&caller.actor, finding, "finding", "web")
        .await
    {
        Ok(st) => st,
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let service = match app.load::<palisade_core::ServiceState>(st.service).await {
        Ok(s) => s.map(|s| s.name.to_string()),
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let scan_last_run = match app.load::<palisade_core::finding::ScanState>(st.scan).await {
        Ok(s) => s.and_then(|s| s.last_run_at),
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let status_code = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let title = format!("Finding: {}", st.observed.rule);
    let body = finding_body(
        app,
        caller,
        &st,
        service.as_deref(),
        scan_last_run,
        problem.as_ref(),
    );
    respond(
        status_code,
        frame(&title, Some(caller), MainAttrs::default(), body),
    )
}

/// The reason a form would be refused now, if it would.
fn refusal(
    app: &App,
    caller: &WebCaller,
    st: &FindingState,
    cmd: FindingCommand,
) -> Option<String> {
    app.would_refuse(&caller.actor, st, &cmd)
        .map(|e| page::reason(&e))
}

fn finding_body(
    app: &App,
    caller: &WebCaller,
    st: &FindingState,
    service: Option<&str>,
    scan_last_run: Option<Timestamp>,
    problem: Option<&Problem>,
) -> Markup {
    let now = palisade_app::now();
    let row = FindingRow::of(st.clone(), now, scan_last_run);
    let o = &st.observed;
    let in_a_month = Timestamp::from_datetime(now.0 + time::Duration::days(30));
    let date = |t: Timestamp| {
        let d = t.utc().date();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    };
    // Rules checked with a placeholder reason and date, so a form the rules would refuse says
    // why before anyone types (a permission, a fixed finding, nothing to withdraw).
    let probe = "checked before the form is sent".to_string();
    let accept_refused = refusal(
        app,
        caller,
        st,
        FindingCommand::Accept {
            reason: probe.clone(),
            expires_at: in_a_month,
        },
    );
    let fp_refused = refusal(
        app,
        caller,
        st,
        FindingCommand::FalsePositive {
            reason: probe.clone(),
            expires_at: None,
        },
    );
    let reopen_refused = refusal(app, caller, st, FindingCommand::Reopen { reason: probe });
    let base = format!("/findings/{}", st.id);
    html! {
        @if let Some(p) = problem { (p.banner()) }
        p.crumbs { a href="/findings" { "Findings" } " / " (st.id) }
        h1 { (o.rule) ": " (o.title) }
        p.badges { (severity(o.severity)) " " (status(&row)) }
        dl.facts {
            dt { "Service" }
            dd { @match service { Some(n) => a href=(format!("/findings?service={n}")) { (n) }, None => code { (st.service) } } }
            dt { "Kind" } dd { (o.kind) }
            dt { "Phase" } dd { (st.phase) }
            @if let Some(l) = &o.location { dt { "Where" } dd { code { (l) } } }
            @if let Some(p) = &o.package { dt { "Package" } dd { code { (p) } } }
            dt { "First seen" } dd { (time(st.first_seen)) }
            @if let Some(l) = row.last_seen { dt { "Last seen" } dd { (time(l)) } }
            dt { "Due" } dd { @match st.due_at { Some(d) => { (time(d)) @if row.overdue { " (overdue)" } }, None => "no due date (informational)" } }
            @if let Some(f) = st.fixed_at { dt { "Fixed" } dd { (time(f)) } }
            @if st.reopened > 0 { dt { "Reopened" } dd { (st.reopened) " times" } }
            dt { "Fingerprint" } dd { code.key { (o.fingerprint) } }
            @if let Some(t) = &st.triage {
                dt { @match t.kind { TriageKind::Accepted => "Risk accepted", TriageKind::FalsePositive => "False positive" } }
                dd {
                    "by " (t.by) " at " (time(t.at))
                    @if let Some(e) = t.expires_at { ", until " (time(e)) @if !t.in_force(now) { " (expired)" } }
                    ": " (page::prose(&t.reason))
                }
            }
        }
        section aria-labelledby="triage-title" {
            h2 id="triage-title" { "Triage" }
            p.hint { "Each mark is recorded on the ledger with who made it and why. An acceptance ends on its date (at most 366 days ahead; a date means the end of that day, UTC); after it the finding counts as open again and fails the gate." }
            form.stack method="post" action=(format!("{base}/accept")) {
                (csrf_field(caller))
                h3 { "Accept the risk" }
                label { "Why the risk is acceptable " textarea name="reason" required minlength="10" maxlength="2000" rows="2" {} }
                label { "Until " input type="date" name="expires" required value=(date(in_a_month)); }
                @match &accept_refused {
                    None => button type="submit" { "Accept the risk" },
                    Some(why) => { button type="submit" disabled aria-describedby="why-accept" { "Accept the risk" } span.refusal id="why-accept" { (why) } }
                }
            }
            form.stack method="post" action=(format!("{base}/false-positive")) {
                (csrf_field(caller))
                h3 { "Mark a false positive" }
                label { "Why it is not a real problem " textarea name="reason" required minlength="10" maxlength="2000" rows="2" {} }
                label { "Until (optional) " input type="date" name="expires"; }
                @match &fp_refused {
                    None => button type="submit" { "Mark a false positive" },
                    Some(why) => { button type="submit" disabled aria-describedby="why-fp" { "Mark a false positive" } span.refusal id="why-fp" { (why) } }
                }
            }
            form.stack method="post" action=(format!("{base}/reopen")) {
                (csrf_field(caller))
                h3 { "Withdraw the mark" }
                label { "Why " textarea name="reason" required minlength="10" maxlength="2000" rows="2" {} }
                @match &reopen_refused {
                    None => button type="submit" { "Withdraw the mark" },
                    Some(why) => { button type="submit" disabled aria-describedby="why-reopen" { "Withdraw the mark" } span.refusal id="why-reopen" { (why) } }
                }
            }
        }
        section aria-labelledby="history-title" {
            h2 id="history-title" { "History" }
            div.scroll {
                table.list.timeline {
                    caption.visually-hidden { "The finding's ledger events, oldest first" }
                    thead { tr { th scope="col" { "#" } th scope="col" { "Recorded" } th scope="col" { "By" } th scope="col" { "What" } } }
                    tbody {
                        @for h in &st.history {
                            tr { td { (h.seq) } td { (time(h.recorded_at)) } td { (h.actor) } td { (h.description) } }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct TriageForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    expires: String,
}

fn expiry(s: &str) -> Result<Option<Timestamp>, Problem> {
    match s.trim() {
        "" => Ok(None),
        v => palisade_findings::gate::parse_expiry(v)
            .map(Some)
            .ok_or_else(|| Problem::bad(format!("the date {v:?}: write it as 2027-03-01"))),
    }
}

async fn accept(
    State(app): State<App>,
    Path(finding): Path<String>,
    posted: Posted<TriageForm>,
) -> Response {
    let cmd = match expiry(&posted.form.expires) {
        Ok(Some(expires_at)) => FindingCommand::Accept {
            reason: posted.form.reason.clone(),
            expires_at,
        },
        Ok(None) => {
            let p = Problem::bad("an acceptance needs the date it ends");
            return finding_page(&app, &posted.caller, &finding, Some(p)).await;
        }
        Err(p) => return finding_page(&app, &posted.caller, &finding, Some(p)).await,
    };
    run(&app, &posted.caller, &finding, cmd).await
}

async fn false_positive(
    State(app): State<App>,
    Path(finding): Path<String>,
    posted: Posted<TriageForm>,
) -> Response {
    let cmd = match expiry(&posted.form.expires) {
        Ok(expires_at) => FindingCommand::FalsePositive {
            reason: posted.form.reason.clone(),
            expires_at,
        },
        Err(p) => return finding_page(&app, &posted.caller, &finding, Some(p)).await,
    };
    run(&app, &posted.caller, &finding, cmd).await
}

async fn reopen(
    State(app): State<App>,
    Path(finding): Path<String>,
    posted: Posted<TriageForm>,
) -> Response {
    let cmd = FindingCommand::Reopen {
        reason: posted.form.reason.clone(),
    };
    run(&app, &posted.caller, &finding, cmd).await
}

/// Run `cmd` as the API does: back to the page when it was recorded (303), else the page with
/// why not at the top.
async fn run(app: &App, caller: &WebCaller, finding: &str, cmd: FindingCommand) -> Response {
    let done = app
        .execute::<FindingState>(&caller.actor, finding, cmd, &Options::default(), None)
        .await
        .and_then(|o| o.done());
    match done {
        Ok(e) => Redirect::to(&format!("/findings/{}", e.state.id)).into_response(),
        Err(e) => finding_page(app, caller, finding, Some(e.into())).await,
    }
}
