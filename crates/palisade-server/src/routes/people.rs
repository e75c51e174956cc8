//! `/people/{user}`: how a user is reached — contact methods (webhook, Slack-compatible webhook,
//! email) and notification rules (which method, how many minutes after a page). Only the user
//! themself or an admin changes them; everyone reads them, with webhook URLs (which carry
//! secrets) shown in full only to the user and admins.

use super::{ApiStream, IntoCommand, PathArgs, answer};
use crate::extract::{Caller, CommandBody};
use crate::problem::Problem;
use crate::views::HistoryView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::{App, Executed, Options};
use palisade_core::person::{ContactKind, NotificationRule, PersonCommand, PersonState};
use palisade_core::types::UserName;
use palisade_core::{AccountRole, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A contact method.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactView {
    #[schema(minimum = 1)]
    pub n: u32,
    #[serde(rename = "type")]
    pub kind: ContactKind,
    /// A webhook URL is shown as its scheme and host to anyone but the user and admins.
    pub address: String,
    pub label: Option<String>,
}

/// How a user is reached.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonView {
    #[schema(value_type = UserName)]
    pub user: String,
    pub contact_methods: Vec<ContactView>,
    /// Which contact method, how many minutes after a page.
    pub notification_rules: Vec<NotificationRule>,
    /// Number of ledger events (0: nothing set yet).
    pub events: u64,
    pub history: Vec<HistoryView>,
}

/// Shown for an address sealed under another master key (pages for it go to the operators'
/// channel).
const UNOPENED: &str = "(sealed under another master key: it does not open here)";

/// `https://host/…` for a URL, so its secret path is not shown.
fn redact(url: &str) -> String {
    let rest = url.get(8..).unwrap_or_default();
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    format!("https://{host}/…")
}

impl PersonView {
    fn of(user: &UserName, st: Option<&PersonState>, full: bool) -> PersonView {
        let Some(st) = st else {
            return PersonView {
                user: user.to_string(),
                contact_methods: Vec::new(),
                notification_rules: Vec::new(),
                events: 0,
                history: Vec::new(),
            };
        };
        PersonView {
            user: st.user.to_string(),
            contact_methods: st
                .contacts
                .iter()
                .map(|c| ContactView {
                    n: c.n,
                    kind: c.kind,
                    address: match (c.clear(), c.kind) {
                        (None, _) => UNOPENED.to_string(),
                        (Some(a), ContactKind::Email) => a.to_string(),
                        (Some(a), _) if full => a.to_string(),
                        (Some(a), _) => redact(a),
                    },
                    label: c.label.clone(),
                })
                .collect(),
            notification_rules: st.rules.clone(),
            events: st.last_seq,
            history: st.history.iter().map(HistoryView::from).collect(),
        }
    }
}

/// Commands are answered to the user or an admin only (anyone else is refused), in full.
impl ApiStream for PersonState {
    const PARAM: &'static str = "user";
    type View = PersonView;
    fn view(app: &App, st: &PersonState) -> PersonView {
        PersonView::of(&st.user, Some(&app.open_contacts(st.clone())), true)
    }
}

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/people/{user}", get(show_person))
        .route(
            "/people/{user}/contact-methods",
            post(person_command::<ContactRequest>),
        )
        .route(
            "/people/{user}/contact-methods/remove",
            post(person_command::<RemoveContactRequest>),
        )
        .route(
            "/people/{user}/notification-rules",
            post(person_command::<RuleRequest>),
        )
        .route(
            "/people/{user}/notification-rules/remove",
            post(person_command::<RemoveRuleRequest>),
        )
}

#[utoipa::path(get, path = "/api/v1/people/{user}", tag = "people",
    params(("user" = String, Path, description = "the user's name")),
    responses((status = 200, body = PersonView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn show_person(
    State(app): State<App>,
    caller: Caller,
    Path(user): Path<String>,
) -> Result<Json<PersonView>, Problem> {
    let actor = caller.actor();
    let (u, st) = app.person(actor, &user).await?;
    let full = actor.user == u || actor.account_role == AccountRole::Admin;
    Ok(Json(PersonView::of(&u, st.as_ref(), full)))
}

/// The one handler of the people's commands: the user's stream is started by the first.
pub async fn person_command<B: IntoCommand<PersonState>>(
    State(app): State<App>,
    caller: Caller,
    Path(path): Path<PathArgs>,
    req: CommandBody<B>,
) -> Result<Response, Problem> {
    let user = path.get("user").cloned().unwrap_or_default();
    let idempotency = req.idempotency.clone();
    let (cmd, _) = req.body.into_command(&path)?;
    let opts = Options {
        occurred_at: None,
        idempotency,
    };
    let renderer = |e: &Executed<PersonState>| super::json_of(&PersonState::view(&app, &e.state));
    let outcome = app
        .person_command(caller.actor(), &user, cmd, &opts, Some(&renderer))
        .await?;
    Ok(answer(&app, StatusCode::OK, outcome))
}

/// A contact method.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    #[serde(rename = "type")]
    pub kind: ContactKind,
    /// An https URL (webhook, slack) or an email address.
    pub address: String,
    #[serde(default)]
    pub label: Option<String>,
}

/// The contact method to remove, by number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveContactRequest {
    #[schema(minimum = 1)]
    pub n: u32,
}

/// A notification rule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// The contact method's number.
    #[schema(minimum = 1)]
    pub contact: u32,
    #[schema(minimum = 0, maximum = 1440)]
    pub after_minutes: u32,
}

/// The notification rule to remove, by number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveRuleRequest {
    #[schema(minimum = 1)]
    pub n: u32,
}

impl IntoCommand<PersonState> for ContactRequest {
    fn into_command(self, _: &PathArgs) -> Result<(PersonCommand, Option<Timestamp>), Problem> {
        Ok((
            PersonCommand::AddContact {
                kind: self.kind,
                address: self.address,
                label: self.label,
                sealed: None,
            },
            None,
        ))
    }
}
impl IntoCommand<PersonState> for RemoveContactRequest {
    fn into_command(self, _: &PathArgs) -> Result<(PersonCommand, Option<Timestamp>), Problem> {
        Ok((PersonCommand::RemoveContact { n: self.n }, None))
    }
}
impl IntoCommand<PersonState> for RuleRequest {
    fn into_command(self, _: &PathArgs) -> Result<(PersonCommand, Option<Timestamp>), Problem> {
        Ok((
            PersonCommand::AddRule {
                contact: self.contact,
                after_minutes: self.after_minutes,
            },
            None,
        ))
    }
}
impl IntoCommand<PersonState> for RemoveRuleRequest {
    fn into_command(self, _: &PathArgs) -> Result<(PersonCommand, Option<Timestamp>), Problem> {
        Ok((PersonCommand::RemoveRule { n: self.n }, None))
    }
}

/// Documentation of the command routes, which share one handler ([`person_command`]).
pub mod docs {
    use super::*;

    macro_rules! person_command_doc {
        ($name:ident, $path:literal, $body:ty, $summary:literal) => {
            #[doc = $summary]
            #[utoipa::path(post, path = $path, tag = "people", request_body = $body,
                params(("user" = String, Path, description = "the user's name"),
                       ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
                responses((status = 200, body = PersonView),
                    (status = 400, body = Problem, content_type = "application/problem+json"),
                    (status = 401, body = Problem, content_type = "application/problem+json"),
                    (status = 403, body = Problem, content_type = "application/problem+json"),
                    (status = 404, body = Problem, content_type = "application/problem+json"),
                    (status = 409, body = Problem, content_type = "application/problem+json"),
                    (status = 422, body = Problem, content_type = "application/problem+json")),
                security(("bearer" = [])))]
            #[allow(dead_code)]
            pub fn $name() {}
        };
    }

    person_command_doc!(
        add_contact,
        "/api/v1/people/{user}/contact-methods",
        ContactRequest,
        "Add a contact method (the user or an admin)."
    );
    person_command_doc!(
        remove_contact,
        "/api/v1/people/{user}/contact-methods/remove",
        RemoveContactRequest,
        "Remove a contact method no rule uses."
    );
    person_command_doc!(
        add_rule,
        "/api/v1/people/{user}/notification-rules",
        RuleRequest,
        "Add a notification rule: a contact method, minutes after a page."
    );
    person_command_doc!(
        remove_rule,
        "/api/v1/people/{user}/notification-rules/remove",
        RemoveRuleRequest,
        "Remove a notification rule."
    );
}
