//! CTF pages: the events, and an event's page — its window, the challenges (values now,
//! solves, what opens them), the scoreboard (frozen for players after the freeze; admins see the
//! live one beside it), each challenge's description and attachments (downloaded through the
//! same check against the ledger as the API's), and, for a player during the event, a form to
//! submit a flag for their account, through the same pipeline and rules as the API.

use crate::page::{self, MainAttrs, Problem, csrf_field, frame, path_segment, respond, time};
use crate::session::{Posted, Signed};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use palisade_app::signin::WebCaller;
use palisade_app::{App, Options};
use palisade_core::AccountRole;
use palisade_training::ctf::scoreboard::{Scoreboard, View};
use palisade_training::ctf::stream::{CtfCommand, CtfEventState, CtfPayload};
use serde::Deserialize;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/ctf", get(list))
        .route("/ctf/{event}", get(show))
        .route("/ctf/{event}/submit", post(submit))
        .route(
            "/ctf/{event}/challenges/{challenge}/attachments/{name}",
            get(attachment),
        )
}

/// Download an attachment: players from the event's start, admins at any time; the content is
/// checked against the ledger's SHA-256 and sent as a download, never shown as a page.
async fn attachment(
    State(app): State<App>,
    Signed(caller): Signed,
    Path((event, challenge, name)): Path<(String, String, String)>,
) -> Response {
    let a = match app
        .ctf_attachment(&caller.actor, &event, &challenge, &name)
        .await
    {
        Ok(a) => a,
        Err(e) => return Problem::from(e).page(Some(&caller)),
    };
    let file_name = a.download_name();
    let mut resp = a.content.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

async fn list(State(app): State<App>, Signed(caller): Signed) -> Response {
    let events = match app.list_ctfs(200).await {
        Ok(e) => e,
        Err(e) => return Problem::from(e).page(Some(&caller)),
    };
    let body = html! {
        h1 { "CTF events" }
        p.hint { "Capture-the-flag events for training. Organisers set one up with " code { "palisade ctf create" } " from a directory of challenges whose flags are hashed." }
        @if events.is_empty() {
            p.empty { "No event yet." }
        } @else {
            div.scroll {
                table.list {
                    caption.visually-hidden { "CTF events, the latest first" }
                    thead { tr { th scope="col" { "Event" } th scope="col" { "Starts" } th scope="col" { "Ends" } th scope="col" { "Challenges" } th scope="col" { "Accounts" } } }
                    tbody {
                        @for e in &events {
                            tr {
                                td { a href=(format!("/ctf/{}", e.name)) { (e.name) } }
                                td { (page::time_text(&e.start)) }
                                td { (page::time_text(&e.end)) }
                                td { (e.challenges) }
                                td { (e.accounts) }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        frame("CTF events", Some(&caller), MainAttrs::default(), body),
    )
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    #[serde(default)]
    result: String,
    #[serde(default)]
    challenge: String,
}

async fn show(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(event): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let banner = match q.result.as_str() {
        "correct" => {
            Some(html! { div.banner.ok role="status" { "Correct: " (q.challenge) " is solved." } })
        }
        "wrong" => Some(
            html! { div.banner.error role="status" { "Wrong: that is not the flag of " (q.challenge) ". Wrong answers count towards the rate limit." } },
        ),
        _ => None,
    };
    event_page(&app, &caller, &event, banner, StatusCode::OK).await
}

fn board(b: &Scoreboard, caption: &str) -> Markup {
    html! {
        div.scroll {
            table.list {
                caption { (caption) }
                thead { tr { th scope="col" { "Rank" } th scope="col" { "Account" } th scope="col" { "Score" } th scope="col" { "Solves" } th scope="col" { "Last solve" } } }
                tbody {
                    @for s in b.standings.iter().filter(|s| b.view == View::Admin || !s.hidden) {
                        tr {
                            td { (s.rank) }
                            td { (s.name) " " span.meta { "(" (s.account) ")" } }
                            td { (s.score) }
                            td { (s.solves) }
                            td { @match s.last_solve_at { Some(t) => (time(t)), None => "—" } }
                        }
                    }
                }
            }
        }
    }
}

async fn event_page(
    app: &App,
    caller: &WebCaller,
    event: &str,
    banner: Option<Markup>,
    status: StatusCode,
) -> Response {
    let st = match app
        .read::<CtfEventState>(&caller.actor, event, "ctf", "web")
        .await
    {
        Ok(st) => st,
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let now = palisade_app::now();
    let c = &st.ctf.config;
    let cutoff = c.freeze.filter(|f| now >= *f);
    let values = st.ctf.values(&st.state, cutoff);
    let mine = st.accounts_of(&caller.actor.user);
    let admin = caller.actor.account_role == AccountRole::Admin;
    let public = st.ctf.scoreboard(&st.state, now, View::Public);
    // The live board differs from the public one only once frozen.
    let live = (admin && public.frozen_at.is_some())
        .then(|| st.ctf.scoreboard(&st.state, now, View::Admin));
    let solved = |challenge: &str| {
        mine.iter()
            .any(|a| st.state.solved_at(&a.id, challenge).is_some())
    };
    let body = html! {
        h1 { "CTF: " (st.name) }
        @if let Some(b) = &banner { (b) }
        p {
            "From " (time(c.start)) " to " (time(c.end)) ". "
            @if st.running(now) { strong { "Running now." } } @else if now < c.start { "Not started yet." } @else { "Over." }
            @if let Some(f) = c.freeze { " The public scoreboard freezes at " (time(f)) "." }
        }
        @if mine.is_empty() {
            p.hint { "You play for no account in this event; ask an organiser to register your team." }
        } @else {
            p { "You play for " @for (i, a) in mine.iter().enumerate() { @if i > 0 { ", " } strong { (a.name) } } "." }
        }
        section aria-labelledby="challenges-title" {
            h2 id="challenges-title" { "Challenges" }
            div.scroll {
                table.list {
                    caption.visually-hidden { "The challenges, with their value now" }
                    thead { tr { th scope="col" { "Challenge" } th scope="col" { "Category" } th scope="col" { "Value" } th scope="col" { "Solves" } th scope="col" { "Opens after" } th scope="col" { "You" } } }
                    tbody {
                        @for ch in &st.ctf.challenges {
                            tr {
                                td { strong { (ch.name) } " " span.meta { "(" (ch.id) ")" } }
                                td { (ch.category) }
                                td { (values.get(&ch.id).copied().unwrap_or(0)) }
                                td { (st.state.solve_count(&ch.id, cutoff)) }
                                td { @if ch.prerequisites.is_empty() { "—" } @else { (ch.prerequisites.join(", ")) } }
                                td { @if solved(&ch.id) { span.badge.ok { "solved" } } @else { "—" } }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="details-title" {
            h2 id="details-title" { "What each challenge asks" }
            @for ch in &st.ctf.challenges {
                article.challenge aria-labelledby=(format!("ch-{}", ch.id)) {
                    h3 id=(format!("ch-{}", ch.id)) { (ch.name) }
                    @for para in ch.description.split("\n\n").filter(|p| !p.trim().is_empty()) {
                        p { (para.trim()) }
                    }
                    @if !ch.attachments.is_empty() {
                        @if admin || now >= c.start {
                            p { "Files: "
                                @for (i, a) in ch.attachments.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    a download href=(format!("/ctf/{}/challenges/{}/attachments/{}", path_segment(st.name.as_str()), path_segment(&ch.id), path_segment(a))) { (a) }
                                }
                            }
                        } @else {
                            p.hint { "Files (" (ch.attachments.len()) ") are handed out when the event starts." }
                        }
                    }
                    @if !ch.hints.is_empty() {
                        p.meta { "Hints: " (ch.hints.len()) ", costing " (ch.hints.iter().map(|h| h.cost.to_string()).collect::<Vec<_>>().join(", ")) " points (unlock with " code { "palisade ctf hint" } ")." }
                    }
                }
            }
        }
        @if st.running(now) && !mine.is_empty() {
            form.stack method="post" action=(format!("/ctf/{}/submit", st.name)) aria-labelledby="submit-title" {
                (csrf_field(caller))
                h2 id="submit-title" { "Submit a flag" }
                @if mine.len() == 1 {
                    input type="hidden" name="account" value=(mine[0].id);
                } @else {
                    label { "For " select name="account" { @for a in &mine { option value=(a.id) { (a.name) } } } }
                }
                label { "Challenge " select name="challenge" { @for ch in &st.ctf.challenges { option value=(ch.id) { (ch.name) } } } }
                label { "Flag " input type="text" name="flag" required maxlength="1024" autocomplete="off" spellcheck="false"; }
                button type="submit" { "Submit" }
            }
        }
        section aria-labelledby="board-title" {
            h2 id="board-title" { "Scoreboard" }
            @match public.frozen_at {
                Some(f) => p { "Frozen at " (time(f)) ": what happened after is not shown." },
                None => p { "Live." },
            }
            (board(&public, "The public scoreboard"))
            @if let Some(l) = &live {
                h3 { "Live (admins only)" }
                (board(l, "The live scoreboard, past the freeze"))
            }
        }
    };
    respond(
        status,
        frame(
            &format!("CTF {}", st.name),
            Some(caller),
            MainAttrs::default(),
            body,
        ),
    )
}

#[derive(Deserialize)]
struct SubmitForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    flag: String,
}

async fn submit(
    State(app): State<App>,
    Path(event): Path<String>,
    posted: Posted<SubmitForm>,
) -> Response {
    let cmd = CtfCommand::Submit {
        account: posted.form.account.clone(),
        challenge: posted.form.challenge.clone(),
        flag: posted.form.flag.clone(),
    };
    let done = app
        .execute::<CtfEventState>(&posted.caller.actor, &event, cmd, &Options::default(), None)
        .await
        .and_then(|o| o.done());
    match done {
        Ok(e) => {
            let correct = e.events.iter().any(
                |ev| matches!(&ev.data, CtfPayload::Submitted { submission } if submission.correct),
            );
            let query = serde_urlencoded::to_string([
                ("result", if correct { "correct" } else { "wrong" }),
                ("challenge", posted.form.challenge.as_str()),
            ])
            .unwrap_or_default();
            Redirect::to(&format!("/ctf/{}?{query}", e.state.name)).into_response()
        }
        Err(e) => {
            let p = Problem::from(e);
            let status = p.status;
            event_page(&app, &posted.caller, &event, Some(p.banner()), status).await
        }
    }
}
