//! The account page: web sessions (revocable), API tokens, and, for admins, one-time links for
//! people to set a password.

use crate::page::{MainAttrs, Problem, csrf_field, frame, respond, time_text};
use crate::session::{Nothing, Posted, Signed};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;
use palisade_app::App;
use palisade_app::signin::WebCaller;
use palisade_core::{AccountRole, UserName};
use serde::Deserialize;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/account", get(account))
        .route("/account/sessions/{id}/revoke", post(revoke_session))
        .route("/account/password-links", post(password_link))
}

fn seconds_text(s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(s)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

async fn account(State(app): State<App>, Signed(caller): Signed) -> Response {
    account_page(&app, &caller, None, None).await
}

async fn account_page(
    app: &App,
    caller: &WebCaller,
    problem: Option<Problem>,
    link: Option<(String, String)>,
) -> Response {
    let admin = caller.actor.account_role == AccountRole::Admin;
    let sessions = match app.list_web_sessions(&caller.actor, admin).await {
        Ok(s) => s,
        Err(e) => return Problem::from(e).page(Some(caller)),
    };
    let tokens = if admin {
        app.list_tokens(&caller.actor).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let body = html! {
        h1 { "Account" }
        @if let Some(p) = &problem { (p.banner()) }
        p { "Signed in as " strong { (caller.actor.user) } " (" (caller.actor.account_role) ") since " (time_text(&caller.session.created_at)) " with a " (caller.session.method) "." }
        section aria-labelledby="sessions-title" {
            h2 id="sessions-title" { @if admin { "Web sessions (everyone's)" } @else { "Your web sessions" } }
            div.scroll {
                table.list {
                    thead { tr { th scope="col" { "User" } th scope="col" { "Signed in" } th scope="col" { "With" } th scope="col" { "Last seen" } th scope="col" { "Browser" } th scope="col" { span.visually-hidden { "Action" } } } }
                    tbody {
                        @for s in &sessions {
                            tr {
                                td { (s.user) @if s.id == caller.session.id { " " span.badge.ok { "this session" } } }
                                td { (time_text(&s.created_at)) }
                                td { (s.method) }
                                td { (seconds_text(s.last_seen_s)) }
                                td.ua { (s.user_agent) }
                                td {
                                    form.inline method="post" action=(format!("/account/sessions/{}/revoke", s.id)) {
                                        (csrf_field(caller))
                                        button.small type="submit" aria-label=(format!("Revoke the session of {} from {}", s.user, s.created_at)) { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if admin {
            section aria-labelledby="tokens-title" {
                h2 id="tokens-title" { "API tokens" }
                p.hint { "Created and revoked with " code { "palisade token create" } " and " code { "palisade token revoke" } "." }
                div.scroll {
                    table.list {
                        thead { tr { th scope="col" { "Id" } th scope="col" { "User" } th scope="col" { "Role" } th scope="col" { "Label" } th scope="col" { "Created" } th scope="col" { "Revoked" } } }
                        tbody {
                            @for t in &tokens {
                                tr {
                                    td { code { (t.id) } } td { (t.user) } td { (t.role) } td { (t.label) }
                                    td { (time_text(&t.created_at)) }
                                    td { @if let Some(r) = &t.revoked_at { (time_text(r)) } @else { "—" } }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="links-title" {
                h2 id="links-title" { "Password links" }
                @if let Some((user, url)) = &link {
                    div.banner.ok role="status" {
                        "Send this link to " strong { (user) } " (it works once, for 72 hours, and is not shown again): "
                        code.secret { (url) }
                    }
                }
                form.row method="post" action="/account/password-links" {
                    (csrf_field(caller))
                    label for="link-user" { "User" }
                    input id="link-user" name="user" type="text" required autocapitalize="none" spellcheck="false";
                    label for="link-role" { "Role, if new" }
                    select id="link-role" name="role" {
                        option value="" { "existing user" }
                        @for r in AccountRole::ALL { option value=(r.as_str()) { (r.as_str()) } }
                    }
                    button type="submit" { "Create link" }
                }
            }
        }
    };
    respond(
        status,
        frame("Account", Some(caller), MainAttrs::default(), body),
    )
}

async fn revoke_session(
    State(app): State<App>,
    Path(id): Path<String>,
    posted: Posted<Nothing>,
) -> Response {
    match app.revoke_web_session(&posted.caller.actor, &id).await {
        Ok(()) if id == posted.caller.session.id => Redirect::to("/login").into_response(),
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => account_page(&app, &posted.caller, Some(e.into()), None).await,
    }
}

#[derive(Deserialize)]
struct LinkForm {
    user: String,
    #[serde(default)]
    role: String,
}

async fn password_link(
    State(app): State<App>,
    headers: HeaderMap,
    posted: Posted<LinkForm>,
) -> Response {
    let caller = &posted.caller;
    let user = match UserName::parse(posted.form.user.trim()) {
        Ok(u) => u,
        Err(e) => return account_page(&app, caller, Some(Problem::bad(e.to_string())), None).await,
    };
    let role = match posted.form.role.as_str() {
        "" => None,
        r => match r.parse::<AccountRole>() {
            Ok(r) => Some(r),
            Err(e) => {
                return account_page(&app, caller, Some(Problem::bad(e.to_string())), None).await;
            }
        },
    };
    match app.create_password_link(&caller.actor, user, role).await {
        Ok(link) => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let url = format!("//{host}/welcome/{}", link.secret);
            account_page(&app, caller, None, Some((link.user.to_string(), url))).await
        }
        Err(e) => account_page(&app, caller, Some(e.into()), None).await,
    }
}
