//! Break-glass: an admin who is not a member opens a restricted incident for a limited time,
//! with a written reason. The incident does not exist for them until they do; the form asks for
//! its codename or id, and the pipeline decides (admins only, a reason, at most 8 hours; the
//! grant and every read recorded; the Incident Commander told).

use crate::page::{MainAttrs, Problem, csrf_field, frame, respond};
use crate::session::{Posted, Signed};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::html;
use palisade_app::signin::WebCaller;
use palisade_app::{App, Options};
use palisade_core::IncidentState;
use palisade_core::incident::Command;
use serde::Deserialize;

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/break-glass", get(page).post(open))
}

fn form_page(caller: &WebCaller, problem: Option<&Problem>, f: &BreakGlassForm) -> Response {
    respond(
        problem.map_or(StatusCode::OK, |p| p.status),
        frame(
            "Break-glass access",
            Some(caller),
            MainAttrs::default(),
            html! {
                h1 { "Break-glass access" }
                @if let Some(p) = problem { (p.banner()) }
                p { "For an admin who must read a restricted incident they are not a member of — to help, to audit, because its members are unreachable. "
                    "Access is read-only, ends on its own, and is on the incident's record with your reason; its Incident Commander is told at once." }
                form.stack method="post" action="/break-glass" {
                    (csrf_field(caller))
                    label for="bg-incident" { "Incident (codename or id)" }
                    input id="bg-incident" name="incident" type="text" required value=(f.incident) autocapitalize="none" spellcheck="false";
                    label for="bg-reason" { "Why you need it" }
                    textarea id="bg-reason" name="reason" rows="3" required maxlength="2000" { (f.reason) }
                    label for="bg-minutes" { "For how long (minutes, at most 480)" }
                    input id="bg-minutes" name="minutes" type="number" min="1" max="480" value=(f.minutes.as_deref().unwrap_or("60"));
                    button type="submit" { "Open the incident" }
                }
            },
        ),
    )
}

async fn page(Signed(caller): Signed) -> Response {
    form_page(&caller, None, &BreakGlassForm::default())
}

#[derive(Deserialize, Default)]
struct BreakGlassForm {
    #[serde(default)]
    incident: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    minutes: Option<String>,
}

async fn open(State(app): State<App>, posted: Posted<BreakGlassForm>) -> Response {
    let (caller, f) = (&posted.caller, &posted.form);
    let minutes = match f
        .minutes
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => None,
        Some(m) => match m.parse::<u32>() {
            Ok(m) => Some(m),
            Err(_) => {
                return form_page(
                    caller,
                    Some(&Problem::bad("minutes is a whole number, 1 to 480")),
                    f,
                );
            }
        },
    };
    let cmd = Command::BreakGlass {
        reason: f.reason.trim().to_string(),
        minutes,
    };
    let reference = f.incident.trim();
    match app
        .execute::<IncidentState>(&caller.actor, reference, cmd, &Options::default(), None)
        .await
        .and_then(|o| o.done())
    {
        Ok(e) => Redirect::to(&format!("/incidents/{}", e.state.codename)).into_response(),
        Err(e) => form_page(caller, Some(&e.into()), f),
    }
}
