//! The incident page's communications and aftermath: when the organisation became aware (which
//! starts the notification deadlines), deadlines met, external statements (drafted, revised,
//! approved by the Incident Commander, published), and the postmortem (its status, action
//! items, the Markdown draft made from the ledger). Each form is one incident command.

use crate::incidents::{action_button, base, run};
use crate::page::{self, Problem, csrf_field, path_segment, time};
use crate::session::{Posted, Signed};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use palisade_app::App;
use palisade_app::signin::WebCaller;
use palisade_core::comms::CommsCommand;
use palisade_core::incident::Command;
use palisade_core::postmortem::{PostmortemCommand, PostmortemStatus};
use palisade_core::{IncidentState, Timestamp, UserName};
use serde::Deserialize;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/incidents/{incident}/awareness", post(awareness))
        .route(
            "/incidents/{incident}/deadlines/{name}/met",
            post(deadline_met),
        )
        .route("/incidents/{incident}/statements", post(draft))
        .route("/incidents/{incident}/statements/{n}/revise", post(revise))
        .route(
            "/incidents/{incident}/statements/{n}/approve",
            post(approve),
        )
        .route(
            "/incidents/{incident}/statements/{n}/publish",
            post(publish),
        )
        .route(
            "/incidents/{incident}/postmortem/status",
            post(postmortem_status),
        )
        .route("/incidents/{incident}/action-items", post(add_item))
        .route(
            "/incidents/{incident}/action-items/{n}/done",
            post(item_done),
        )
        .route(
            "/incidents/{incident}/postmortem.md",
            get(postmortem_markdown),
        )
}

fn comms(cmd: CommsCommand) -> Command {
    Command::Comms(cmd)
}

fn pm(cmd: PostmortemCommand) -> Command {
    Command::Postmortem(cmd)
}

/// The awareness form and the deadlines' "met" buttons (shown in the communications section).
pub(crate) fn awareness_and_deadlines(app: &App, caller: &WebCaller, st: &IncidentState) -> Markup {
    let base = base(st);
    let c = &st.comms;
    html! {
        @if st.status.is_open() {
            @for (i, d) in c.deadlines.iter().enumerate() {
                @if !c.deadlines_met.contains_key(&d.name) {
                    (action_button(app, caller, st,
                        comms(CommsCommand::MeetDeadline { name: d.name.clone(), note: None }),
                        &format!("{base}/deadlines/{}/met", path_segment(&d.name)),
                        &format!("Mark “{}” met", d.name),
                        &format!("why-met-{i}")))
                }
            }
            details.awareness {
                summary { @if c.aware_at.is_some() { "Correct the time of awareness…" } @else { "Record when we became aware…" } }
                form.stack method="post" action=(format!("{base}/awareness")) {
                    (csrf_field(caller))
                    label for="aware-at" { "Aware since (UTC)" }
                    input id="aware-at" name="aware_at" type="datetime-local" required;
                    label for="aware-note" { @if c.aware_at.is_some() { "Why it changed (required)" } @else { "Note (optional)" } }
                    input id="aware-note" name="note" type="text" maxlength="10000";
                    p.hint { "Awareness starts the notification deadlines (e.g. 72 hours to the regulator)." }
                    button type="submit" { "Record awareness" }
                }
            }
        }
    }
}

/// The external statements section.
pub(crate) fn statements(app: &App, caller: &WebCaller, st: &IncidentState) -> Markup {
    let base = base(st);
    html! {
        section data-region="statements" aria-labelledby="statements-title" {
            h2 id="statements-title" { "External statements" }
            @if st.comms.statements.is_empty() { p.empty { "None drafted." } }
            @for s in &st.comms.statements {
                @let latest = s.latest();
                article.statement aria-labelledby=(format!("st{}-title", s.n)) {
                    h3 id=(format!("st{}-title", s.n)) { "Statement " (s.n) ": " (latest.title) }
                    p.meta { "Revision " (latest.revision) " by " (latest.by) " " (time(latest.at)) ". "
                        @match (&s.published, s.approval_of_latest()) {
                            (Some(p), _) => { span.badge.ok { "published" } " " (p.title.as_deref().unwrap_or("")) " by " (p.by) " " (time(p.at)) }
                            (None, Some(a)) => { span.badge.ok { "approved" } " by " (a.by) " " (time(a.at)) }
                            (None, None) => { span.badge { "awaiting the IC's approval" } }
                        }
                    }
                    blockquote { (page::prose(&latest.body)) }
                    @if s.published.is_none() && st.status != palisade_core::Status::Closed {
                        div.actions {
                            (action_button(app, caller, st,
                                comms(CommsCommand::ApproveStatement { statement: s.n, revision: Some(latest.revision), note: None }),
                                &format!("{base}/statements/{}/approve", s.n), "Approve", &format!("why-approve-st{}", s.n)))
                            @let today = time::OffsetDateTime::now_utc().date();
                            @let publish = comms(CommsCommand::PublishStatement { statement: s.n, date: today });
                            @match app.would_refuse(&caller.actor, st, &publish) {
                                None => form.inline method="post" action=(format!("{base}/statements/{}/publish", s.n)) {
                                    (csrf_field(caller))
                                    label for=(format!("pub-date-{}", s.n)) { "Published on" }
                                    input id=(format!("pub-date-{}", s.n)) name="date" type="date" required value=(today.to_string());
                                    button type="submit" { "Record publication" }
                                },
                                Some(e) => span.refusal { "Publication: " (page::reason(&e)) },
                            }
                        }
                        details {
                            summary { "Revise…" }
                            (statement_form(caller, &format!("{base}/statements/{}/revise", s.n), &format!("rev{}", s.n), &latest.title, &latest.body))
                        }
                    }
                }
            }
            @if st.status.is_open() || st.status == palisade_core::Status::Resolved {
                details {
                    summary { "Draft a statement…" }
                    (statement_form(caller, &format!("{base}/statements"), "new", "", ""))
                }
            }
        }
    }
}

fn statement_form(caller: &WebCaller, action: &str, id: &str, title: &str, body: &str) -> Markup {
    html! {
        form.stack method="post" action=(action) {
            (csrf_field(caller))
            label for=(format!("{id}-title")) { "Title" }
            input id=(format!("{id}-title")) name="title" type="text" required maxlength="200" value=(title);
            label for=(format!("{id}-body")) { "Text" }
            textarea id=(format!("{id}-body")) name="body" rows="5" required maxlength="10000" { (body) }
            p.hint { "Phrases that speculate or blame are refused; facts, timeline and scope first." }
            button type="submit" { "Save draft" }
        }
    }
}

/// The postmortem section (once the incident is resolved).
pub(crate) fn postmortem(app: &App, caller: &WebCaller, st: &IncidentState) -> Markup {
    let base = base(st);
    let now = palisade_app::now();
    let sum = palisade_core::postmortem::summary(st, now);
    html! {
        section data-region="postmortem" aria-labelledby="postmortem-title" {
            h2 id="postmortem-title" { "Postmortem" }
            @match sum.status {
                None => p.empty { "Starts when the incident is resolved."
                    @if sum.required { " Required for " (st.severity) "." } },
                Some(status) => {
                    p { "Status: " span.badge { (status.as_str().replace('_', " ")) }
                        @if let (Some(due), Some(secs)) = (sum.due, sum.seconds_remaining) { " — due " (time(due)) ", " (page::countdown(secs, due)) }
                        @if sum.overdue { " " span.badge.overdue { "OVERDUE" } }
                        " · " a href=(format!("{base}/postmortem.md")) { "Draft from the ledger (Markdown)" }
                    }
                    div.actions {
                        @for next in [PostmortemStatus::InReview, PostmortemStatus::Reviewed, PostmortemStatus::Closed] {
                            @if Some(next) != sum.status {
                                @let cmd = pm(PostmortemCommand::SetStatus { status: next });
                                @if app.would_refuse(&caller.actor, st, &cmd).is_none() {
                                    form.inline method="post" action=(format!("{base}/postmortem/status")) {
                                        (csrf_field(caller))
                                        input type="hidden" name="status" value=(next.as_str());
                                        button type="submit" { "Move to " (next.as_str().replace('_', " ")) }
                                    }
                                }
                            }
                        }
                    }
                    h3 { "Action items (" (sum.action_items_done) " done, " (sum.action_items_open) " open)" }
                    ul.items {
                        @for a in &st.postmortem.action_items {
                            li {
                                @if a.done_at.is_some() { span.badge.ok { "done" } " " } @else { span.badge { "open" } " " }
                                strong { (a.title) } " — " (a.owner)
                                @if let Some(d) = &a.due { ", due " (d) }
                                @if a.done_at.is_none() {
                                    " " (action_button(app, caller, st, pm(PostmortemCommand::CompleteActionItem { item: a.n, note: None }),
                                        &format!("{base}/action-items/{}/done", a.n), "Mark done", &format!("why-item-{}", a.n)))
                                }
                            }
                        }
                    }
                    @if status != PostmortemStatus::Closed {
                        form.row method="post" action=(format!("{base}/action-items")) {
                            (csrf_field(caller))
                            label for="item-title" { "Action item" }
                            input id="item-title" name="title" type="text" required maxlength="500";
                            label for="item-owner" { "Owner" }
                            input id="item-owner" name="owner" type="text" required autocapitalize="none" spellcheck="false";
                            label for="item-due" { "Due" }
                            input id="item-due" name="due" type="date";
                            button type="submit" { "Add" }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct AwarenessForm {
    #[serde(default)]
    aware_at: String,
    #[serde(default)]
    note: String,
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM[:SS]`), read as UTC.
pub(crate) fn local_utc(s: &str) -> Option<Timestamp> {
    let with_seconds = if s.len() == 16 {
        format!("{s}:00Z")
    } else {
        format!("{s}Z")
    };
    Timestamp::parse(&with_seconds).ok()
}

fn note(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|n| !n.is_empty())
}

async fn awareness(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<AwarenessForm>,
) -> Response {
    let Some(aware_at) = local_utc(posted.form.aware_at.trim()) else {
        let p = Problem::bad("give the date and time of awareness (UTC)");
        return crate::incidents::incident_page(&app, &posted.caller, &incident, Some(p)).await;
    };
    let cmd = comms(CommsCommand::RecordAwareness {
        aware_at,
        note: note(&posted.form.note),
    });
    run(&app, &posted.caller, &incident, cmd).await
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    note: String,
}

async fn deadline_met(
    State(app): State<App>,
    Path((incident, name)): Path<(String, String)>,
    posted: Posted<NoteForm>,
) -> Response {
    let cmd = comms(CommsCommand::MeetDeadline {
        name,
        note: note(&posted.form.note),
    });
    run(&app, &posted.caller, &incident, cmd).await
}

#[derive(Deserialize)]
struct StatementForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

async fn draft(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<StatementForm>,
) -> Response {
    let f = &posted.form;
    let cmd = comms(CommsCommand::DraftStatement {
        statement: None,
        title: f.title.trim().to_string(),
        body: f.body.trim().to_string(),
    });
    run(&app, &posted.caller, &incident, cmd).await
}

fn number(s: &str) -> Option<u32> {
    s.parse::<u32>().ok().filter(|n| *n >= 1)
}

async fn not_found(app: &App, caller: &WebCaller, incident: &str, what: &str) -> Response {
    let p = Problem {
        status: axum::http::StatusCode::NOT_FOUND,
        headline: "Not found",
        detail: format!("no {what}"),
        rule: None,
    };
    crate::incidents::incident_page(app, caller, incident, Some(p)).await
}

async fn revise(
    State(app): State<App>,
    Path((incident, n)): Path<(String, String)>,
    posted: Posted<StatementForm>,
) -> Response {
    let Some(n) = number(&n) else {
        return not_found(&app, &posted.caller, &incident, "such statement").await;
    };
    let f = &posted.form;
    let cmd = comms(CommsCommand::DraftStatement {
        statement: Some(n),
        title: f.title.trim().to_string(),
        body: f.body.trim().to_string(),
    });
    run(&app, &posted.caller, &incident, cmd).await
}

async fn approve(
    State(app): State<App>,
    Path((incident, n)): Path<(String, String)>,
    posted: Posted<NoteForm>,
) -> Response {
    let Some(n) = number(&n) else {
        return not_found(&app, &posted.caller, &incident, "such statement").await;
    };
    // No revision given: the latest. A page older than a revision approves what the page shows
    // only if it is still the latest (the page sends nothing else), so the rule decides.
    let cmd = comms(CommsCommand::ApproveStatement {
        statement: n,
        revision: None,
        note: note(&posted.form.note),
    });
    run(&app, &posted.caller, &incident, cmd).await
}

#[derive(Deserialize)]
struct PublishForm {
    #[serde(default)]
    date: String,
}

async fn publish(
    State(app): State<App>,
    Path((incident, n)): Path<(String, String)>,
    posted: Posted<PublishForm>,
) -> Response {
    let Some(n) = number(&n) else {
        return not_found(&app, &posted.caller, &incident, "such statement").await;
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let Ok(date) = time::Date::parse(posted.form.date.trim(), &format) else {
        let p = Problem::bad("give the publication date as YYYY-MM-DD");
        return crate::incidents::incident_page(&app, &posted.caller, &incident, Some(p)).await;
    };
    let cmd = comms(CommsCommand::PublishStatement { statement: n, date });
    run(&app, &posted.caller, &incident, cmd).await
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    status: String,
}

async fn postmortem_status(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<StatusForm>,
) -> Response {
    let status = match posted.form.status.as_str() {
        "draft" => PostmortemStatus::Draft,
        "in_review" => PostmortemStatus::InReview,
        "reviewed" => PostmortemStatus::Reviewed,
        "closed" => PostmortemStatus::Closed,
        other => {
            let p = Problem::bad(format!("no postmortem status {other:?}"));
            return crate::incidents::incident_page(&app, &posted.caller, &incident, Some(p)).await;
        }
    };
    run(
        &app,
        &posted.caller,
        &incident,
        pm(PostmortemCommand::SetStatus { status }),
    )
    .await
}

#[derive(Deserialize)]
struct ItemForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due: String,
}

async fn add_item(
    State(app): State<App>,
    Path(incident): Path<String>,
    posted: Posted<ItemForm>,
) -> Response {
    let f = &posted.form;
    let owner = match UserName::parse(f.owner.trim()) {
        Ok(o) => o,
        Err(e) => {
            let p = Problem::bad(e.to_string());
            return crate::incidents::incident_page(&app, &posted.caller, &incident, Some(p)).await;
        }
    };
    let cmd = pm(PostmortemCommand::AddActionItem {
        title: f.title.trim().to_string(),
        owner,
        due: note(&f.due),
    });
    run(&app, &posted.caller, &incident, cmd).await
}

async fn item_done(
    State(app): State<App>,
    Path((incident, n)): Path<(String, String)>,
    posted: Posted<NoteForm>,
) -> Response {
    let Some(item) = number(&n) else {
        return not_found(&app, &posted.caller, &incident, "such action item").await;
    };
    let cmd = pm(PostmortemCommand::CompleteActionItem {
        item,
        note: note(&posted.form.note),
    });
    run(&app, &posted.caller, &incident, cmd).await
}

/// The postmortem draft as Markdown, made from the whole ledger (the read is recorded).
async fn postmortem_markdown(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(incident): Path<String>,
) -> Response {
    let (st, events) = match app
        .incident_with_events(&caller.actor, &incident, "postmortem")
        .await
    {
        Ok(x) => x,
        Err(e) => return Problem::from(e).page(Some(&caller)),
    };
    let md = palisade_core::postmortem::render_markdown(
        &st,
        &events,
        app.comms_policy(),
        palisade_app::now(),
    );
    let mut resp = md.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/markdown; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename=\"{}-postmortem.md\"",
        st.codename
    )) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_name_is_one_path_segment() {
        assert_eq!(
            path_segment("GDPR Art. 33 (supervisory authority)"),
            "GDPR%20Art.%2033%20%28supervisory%20authority%29"
        );
        assert_eq!(path_segment("a/b"), "a%2Fb");
        assert_eq!(path_segment("ü"), "%C3%BC");
    }

    #[test]
    fn a_datetime_local_value_is_read_as_utc() {
        assert_eq!(
            local_utc("2026-12-07T03:15").unwrap().to_string(),
            "2026-12-07T03:15:00Z"
        );
        assert_eq!(
            local_utc("2026-12-07T03:15:09").unwrap().to_string(),
            "2026-12-07T03:15:09Z"
        );
        assert!(local_utc("yesterday").is_none());
    }
}
