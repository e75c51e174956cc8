//! The page frame (head, navigation, the signed-in user, sign-out), error pages, and the small
//! pieces every page uses: times, badges, the CSRF field.

use crate::assets;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use palisade_app::AppError;
use palisade_app::signin::WebCaller;
use palisade_core::alert::{AlertSeverity, AlertStatus};
use palisade_core::schedule::Instant;
use palisade_core::{Severity, Status, Timestamp, UserName};

/// A whole page: `title` in the tab, `body` in `<main>`; `caller` when signed in.
pub(crate) fn frame(
    title: &str,
    caller: Option<&WebCaller>,
    main_attrs: MainAttrs,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Palisade" }
                link rel="stylesheet" href=(assets::css_url());
                script src=(assets::js_url()) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/incidents" { "Palisade" }
                    @if let Some(c) = caller {
                        nav aria-label="Main" {
                            a href="/incidents" { "Incidents" }
                            a href="/incidents/new" { "Declare" }
                            a href="/services" { "Services" }
                            a href="/oncall" { "On call" }
                            a href="/alerts" { "Alerts" }
                            a href="/findings" { "Findings" }
                            a href="/maturity" { "Maturity" }
                            a href="/ctf" { "CTF" }
                            a href="/account" { "Account" }
                            @if c.actor.account_role == palisade_core::AccountRole::Admin {
                                a href="/break-glass" { "Break-glass" }
                            }
                        }
                        form.signout method="post" action="/logout" {
                            (csrf_field(c))
                            span.who { (c.actor.user) " (" (c.actor.account_role) ")" }
                            " "
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" tabindex="-1" data-live=[main_attrs.live.as_deref()] data-version=[main_attrs.version] {
                    (body)
                }
            }
        }
    }
}

/// Attributes of `<main>` for live pages: where to listen, and the version shown.
#[derive(Default)]
pub(crate) struct MainAttrs {
    pub live: Option<String>,
    pub version: Option<u64>,
}

/// A rendered page as a response.
pub(crate) fn respond(status: StatusCode, page: Markup) -> Response {
    (status, Html(page.into_string())).into_response()
}

/// An error page without the signed-in frame.
pub(crate) fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    respond(
        status,
        frame(
            title,
            None,
            MainAttrs::default(),
            html! {
                h1 { (title) }
                p.error role="alert" { (detail) }
                p { a href="/incidents" { "Back to the incidents" } }
            },
        ),
    )
}

/// The hidden CSRF field every form carries.
pub(crate) fn csrf_field(c: &WebCaller) -> Markup {
    html! { input type="hidden" name="csrf" value=(c.csrf); }
}

/// What went wrong, as shown on a page: a status, a headline, the detail, and the rule that
/// refused, if one did.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub status: StatusCode,
    pub headline: &'static str,
    pub detail: String,
    pub rule: Option<String>,
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        let detail = reason(&e);
        let (status, headline, rule) = match &e {
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found", None),
            AppError::Refused(r) => (
                match r.kind() {
                    palisade_core::RefusalKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
                    palisade_core::RefusalKind::Permission => StatusCode::FORBIDDEN,
                    _ => StatusCode::CONFLICT,
                },
                "Refused by a process rule",
                Some(r.rule.id.to_string()),
            ),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "Not allowed", None),
            AppError::Invalid(_) | AppError::IdempotencyMismatch(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "Not accepted", None)
            }
            AppError::Conflict(_) | AppError::Taken(_) | AppError::Integrity { .. } => {
                (StatusCode::CONFLICT, "Not done", None)
            }
            AppError::Unavailable(_) | AppError::Full(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "Storage unavailable", None)
            }
            AppError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "Too large", None),
            AppError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "Not signed in", None),
            AppError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "Too many attempts", None)
            }
            AppError::UnknownOutcome(_) | AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                None,
            ),
        };
        Problem {
            status,
            headline,
            detail,
            rule,
        }
    }
}

impl Problem {
    pub(crate) fn bad(detail: impl Into<String>) -> Problem {
        Problem {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            headline: "Not accepted",
            detail: detail.into(),
            rule: None,
        }
    }

    /// The problem as a banner at the top of a page.
    pub(crate) fn banner(&self) -> Markup {
        html! {
            div.banner.error role="alert" {
                strong { (self.headline) ": " }
                (self.detail)
                @if let Some(rule) = &self.rule {
                    " " span.rule { "(rule " code { (rule) } ")" }
                }
            }
        }
    }

    /// The problem as a page of its own.
    pub(crate) fn page(&self, caller: Option<&WebCaller>) -> Response {
        respond(
            self.status,
            frame(
                self.headline,
                caller,
                MainAttrs::default(),
                html! {
                    h1 { (self.headline) }
                    (self.banner())
                    p { a href="/incidents" { "Back to the incidents" } }
                },
            ),
        )
    }
}

/// Why something was refused, as a sentence: a rule's own message (its id is shown beside it),
/// else the error's text.
pub(crate) fn reason(e: &AppError) -> String {
    match e {
        AppError::Refused(r) => r.message.clone(),
        other => other.to_string(),
    }
}

/// A time as people read it (UTC, to the minute), machine-readable in `datetime`.
pub(crate) fn time(t: Timestamp) -> Markup {
    html! {
        time datetime=(t.to_string()) { (time_words(t)) }
    }
}

/// A time as [`time`] shows it, as plain text (for SVG titles and attributes).
pub(crate) fn time_words(t: Timestamp) -> String {
    let utc = t.utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        utc.year(),
        utc.month() as u8,
        utc.day(),
        utc.hour(),
        utc.minute()
    )
}

/// An instant of the on-call engine as a [`Timestamp`].
pub(crate) fn timestamp_of(t: Instant) -> Timestamp {
    Timestamp::from_datetime(
        time::OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    )
}

/// An instant of the on-call engine, shown as [`time`].
pub(crate) fn instant(t: Instant) -> Markup {
    time(timestamp_of(t))
}

/// People named in a list ("ana, ben"), or the words for nobody: a gap is said, not coloured.
pub(crate) fn people(users: &[UserName]) -> Markup {
    html! {
        @if users.is_empty() {
            span.badge.gap { "no one on call" }
        } @else {
            (users.iter().map(UserName::as_str).collect::<Vec<_>>().join(", "))
        }
    }
}

/// An alert's status in words (the colour only repeats it).
pub(crate) fn alert_status(s: AlertStatus) -> Markup {
    html! { span class=(format!("badge alert-{}", s.as_str())) { (s.as_str()) } }
}

/// An alert's severity in words (the colour only repeats it).
pub(crate) fn alert_severity(s: AlertSeverity) -> Markup {
    html! { span class=(format!("badge asev-{}", s.as_str())) { (s.as_str()) } }
}

/// A time given as RFC 3339 text (listing rows), shown as [`time`] when it parses.
pub(crate) fn time_text(s: &str) -> Markup {
    match Timestamp::parse(s) {
        Ok(t) => time(t),
        Err(_) => html! { (s) },
    }
}

/// Severity as a badge: the text says it, the colour only repeats it.
pub(crate) fn severity(s: Severity) -> Markup {
    html! { span class=(format!("badge sev sev{}", s.level())) { (s) } }
}

pub(crate) fn status(s: Status) -> Markup {
    html! { span class=(format!("badge status st-{}", s.as_str())) { (s.as_str()) } }
}

/// A countdown to `due` (or "overdue by"), kept current by the script when it runs.
pub(crate) fn countdown(seconds: i64, due: Timestamp) -> Markup {
    let text = if seconds < 0 {
        format!(
            "overdue by {}",
            palisade_core::comms::human_duration(-seconds)
        )
    } else {
        format!("in {}", palisade_core::comms::human_duration(seconds))
    };
    html! { span.countdown data-due=(due.to_string()) { (text) } }
}

/// Text kept as written, line breaks included (CSS `white-space: pre-wrap`).
pub(crate) fn prose(s: &str) -> Markup {
    html! { span.prose { (s) } }
}

/// `s` as one path segment: every byte but unreserved ones percent-encoded (deadline names
/// have spaces, dots and parentheses; a CTF attachment's name may hold a `/`).
pub(crate) fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
