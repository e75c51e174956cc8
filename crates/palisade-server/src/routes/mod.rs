//! One module per resource, each with its own router and request bodies; commands of every
//! aggregate go through one generic handler ([`command`]) into the application's pipeline.

/// The OpenAPI description of a command posted to an incident. Command routes share one
/// handler ([`command`]), so a stand-in function carries each one's documentation: `$body`
/// posted to `$path` (with `$extra` path parameters after `incident`), answered with what the
/// command changed, or a problem.
macro_rules! incident_command_doc {
    ($name:ident, $path:literal, $tag:literal, $body:ty, $summary:literal $(, $extra:tt)*) => {
        #[doc = $summary]
        #[utoipa::path(post, path = $path, tag = $tag, request_body = $body,
            params(("incident" = String, Path, description = "id or codename") $(, $extra)*,
                   ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
            responses((status = 200, body = IncidentView),
                (status = 400, body = Problem, content_type = "application/problem+json"),
                (status = 401, body = Problem, content_type = "application/problem+json"),
                (status = 403, body = Problem, content_type = "application/problem+json"),
                (status = 404, body = Problem, content_type = "application/problem+json"),
                (status = 409, body = Problem, content_type = "application/problem+json"),
                (status = 422, body = Problem, content_type = "application/problem+json"),
                (status = 503, body = Problem, content_type = "application/problem+json"),
                (status = 507, body = Problem, content_type = "application/problem+json")),
            security(("bearer" = [])))]
        #[allow(dead_code)]
        pub fn $name() {}
    };
}

pub mod alerts;
pub mod assessments;
pub mod comms;
pub mod ctf;
pub mod deliveries;
pub mod drills;
pub mod escalations;
pub mod evidence;
pub mod findings;
pub mod incidents;
pub mod ops;
pub mod people;
pub mod schedules;
pub mod services;
pub mod teams;
pub mod tokens;

use crate::extract::{Caller, CommandBody};
use crate::problem::Problem;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_app::{App, Executed, Kept, Outcome};
use palisade_core::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The parameters of a request's path (`incident`, `step`, `statement`, …).
pub type PathArgs = HashMap<String, String>;

/// An aggregate as the API shows it, and the path parameter that names one.
pub trait ApiStream: Kept {
    /// The path parameter holding the reference (`incident`, `service`).
    const PARAM: &'static str;
    type View: Serialize;
    fn view(app: &App, st: &Self) -> Self::View;
    /// A command's answer: what it changed (by default the whole view, for small aggregates).
    fn changed(app: &App, e: &Executed<Self>) -> Self::View {
        Self::view(app, &e.state)
    }
}

/// A request body that is one command of aggregate `A` (with the path it was posted to).
pub trait IntoCommand<A: Kept>: DeserializeOwned + Send + 'static {
    /// The command, and when it happened when the body says.
    fn into_command(self, path: &PathArgs) -> Result<(A::Command, Option<Timestamp>), Problem>;
}

/// A list's `limit` query parameter: 1 … 1000, `default` when absent.
pub fn limit(q: &HashMap<String, String>, default: u32) -> Result<u32, Problem> {
    match q.get("limit") {
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| Problem::unprocessable("limit must be 1 … 1000")),
        None => Ok(default),
    }
}

/// A JSON answer given now or replayed from an idempotency record (already rendered).
pub fn json_text(status: StatusCode, text: String) -> Response {
    let mut resp = (status, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A view as the JSON text of an answer.
pub fn json_of<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn render<A: ApiStream>(app: &App, e: &Executed<A>) -> String {
    json_of(&A::changed(app, e))
}

/// The answer to a command: what it changed (now, or as first given for a repeated key).
pub fn answer<A: ApiStream>(app: &App, status: StatusCode, outcome: Outcome<A>) -> Response {
    match outcome {
        Outcome::Done(e) => json_text(status, render(app, &e)),
        Outcome::Replayed(text) => json_text(status, text),
    }
}

/// The one handler of every command that is "a JSON body posted to a stream's sub-resource":
/// the body becomes a command, the pipeline runs it, the answer is what it changed.
pub async fn command<A: ApiStream, B: IntoCommand<A>>(
    State(app): State<App>,
    caller: Caller,
    Path(path): Path<PathArgs>,
    req: CommandBody<B>,
) -> Result<Response, Problem> {
    let reference = path.get(A::PARAM).cloned().unwrap_or_default();
    let idempotency = req.idempotency.clone();
    let (cmd, occurred_at) = req.body.into_command(&path)?;
    let opts = palisade_app::Options {
        occurred_at,
        idempotency,
    };
    let renderer = |e: &Executed<A>| render(&app, e);
    let outcome = app
        .execute::<A>(caller.actor(), &reference, cmd, &opts, Some(&renderer))
        .await?;
    Ok(answer(&app, StatusCode::OK, outcome))
}

/// A stream's view, read as `actor` (the read is recorded where reads are).
pub async fn show<A: ApiStream>(
    app: &App,
    caller: &Caller,
    reference: &str,
    what: &str,
) -> Result<Json<A::View>, Problem> {
    let st = app
        .read::<A>(caller.actor(), reference, what, "api")
        .await?;
    Ok(Json(A::view(app, &st)))
}
