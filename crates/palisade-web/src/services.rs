//! Service pages: the list (owning team, tier, escalation policy, open alerts) and a service's
//! page: ownership, runbooks, maintenance windows (the one in progress said in words),
//! integrations by name and id (never a routing key: only its hash is kept), who its escalation
//! policy pages now, and its recent alerts. Services are changed through the API and the CLI.

use crate::alerts;
use crate::page::{self, MainAttrs, Problem, frame, respond, time};
use crate::session::Signed;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use palisade_app::alerts::AlertFilter;
use palisade_app::signin::WebCaller;
use palisade_app::{App, AppError};
use palisade_core::ServiceState;
use palisade_core::alert::{AlertStatus, Step};
use palisade_core::comms::human_duration;
use palisade_core::service::Link;
use std::collections::HashMap;
use uuid::Uuid;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/services", get(list))
        .route("/services/{service}", get(show))
}

/// Services listed at once.
const LIST_SHOWN: usize = 100;
/// Open alerts counted per status for the list (the API's largest page).
const OPEN_COUNTED: u32 = 1000;
/// Recent alerts on a service's page.
const RECENT_ALERTS: u32 = 10;

/// Current names of linked teams and policies, each looked up once per page.
#[derive(Default)]
struct LinkNames(HashMap<Uuid, String>);

impl LinkNames {
    async fn of(&mut self, app: &App, link: &Link, team: bool) -> Result<String, AppError> {
        if let Some(n) = self.0.get(&link.id) {
            return Ok(n.clone());
        }
        let n = app.current_name(link, team).await?;
        self.0.insert(link.id, n.clone());
        Ok(n)
    }
}

/// Open (triggered or acknowledged) alerts per service, and whether every one was counted.
async fn open_alerts(app: &App) -> Result<(HashMap<Uuid, usize>, bool), AppError> {
    let mut counts = HashMap::new();
    let mut complete = true;
    for status in [AlertStatus::Triggered, AlertStatus::Acknowledged] {
        let rows = app
            .list_alerts(AlertFilter {
                service: None,
                status: Some(status),
                before: None,
                limit: OPEN_COUNTED,
            })
            .await?;
        complete &= rows.len() < OPEN_COUNTED as usize;
        for r in rows {
            *counts.entry(r.service).or_insert(0) += 1;
        }
    }
    Ok((counts, complete))
}

struct Row {
    state: ServiceState,
    owner: Option<String>,
    policy: Option<String>,
}

async fn list(State(app): State<App>, Signed(caller): Signed) -> Response {
    match list_body(&app).await {
        Ok(body) => respond(
            StatusCode::OK,
            frame("Services", Some(&caller), MainAttrs::default(), body),
        ),
        Err(p) => p.page(Some(&caller)),
    }
}

async fn list_body(app: &App) -> Result<Markup, Problem> {
    let all = app.list_services(alerts::SERVICES_READ).await?;
    let (open, complete) = open_alerts(app).await?;
    let mut names = LinkNames::default();
    let mut rows = Vec::new();
    for s in all.iter().take(LIST_SHOWN) {
        let Some(state) = app.load::<ServiceState>(s.id).await? else {
            continue;
        };
        let owner = match &state.owner {
            Some(l) => Some(names.of(app, l, true).await?),
            None => None,
        };
        let policy = match &state.escalation_policy {
            Some(l) => Some(names.of(app, l, false).await?),
            None => None,
        };
        rows.push(Row {
            state,
            owner,
            policy,
        });
    }
    Ok(html! {
        h1 { "Services" }
        p.hint { "Services are created and changed with " code { "palisade service" } " or the API; each is a stream on the ledger." }
        @if rows.is_empty() {
            p.empty { "No service yet. Create one with " code { "palisade service create NAME" } "." }
        } @else {
            div.scroll {
                table.list {
                    caption.visually-hidden { "Services by name" }
                    thead { tr {
                        th scope="col" { "Service" } th scope="col" { "Owning team" } th scope="col" { "Tier" }
                        th scope="col" { "Escalation policy" } th scope="col" { "Open alerts" }
                    } }
                    tbody {
                        @for r in &rows {
                            @let s = &r.state;
                            tr {
                                td {
                                    a href=(format!("/services/{}", s.name)) { strong { (s.name) } }
                                    @if let Some(d) = &s.description { br; span.title { (d) } }
                                }
                                td { (r.owner.as_deref().unwrap_or("none")) }
                                td { @match s.tier { Some(t) => { "tier " (t) }, None => "not set" } }
                                td { (r.policy.as_deref().unwrap_or("none")) }
                                td {
                                    @let n = open.get(&s.id).copied().unwrap_or(0);
                                    @if n == 0 { "0" } @else {
                                        a href=(format!("/alerts?service={}", s.name)) { (n) @if !complete { " or more" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if all.len() > rows.len() {
                p { "Showing " (rows.len()) " of " (all.len()) @if all.len() >= alerts::SERVICES_READ as usize { " or more" } " services (by name)." }
            }
        }
    })
}

async fn show(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(service): Path<String>,
) -> Response {
    match service_body(&app, &caller, &service).await {
        Ok((name, body)) => respond(
            StatusCode::OK,
            frame(&name, Some(&caller), MainAttrs::default(), body),
        ),
        Err(p) => p.page(Some(&caller)),
    }
}

async fn service_body(
    app: &App,
    caller: &WebCaller,
    service: &str,
) -> Result<(String, Markup), Problem> {
    let st = app
        .load_visible::<ServiceState>(&caller.actor, service)
        .await?;
    let mut names = LinkNames::default();
    let owner = match &st.owner {
        Some(l) => Some(names.of(app, l, true).await?),
        None => None,
    };
    let policy = match &st.escalation_policy {
        Some(l) => Some(names.of(app, l, false).await?),
        None => None,
    };
    let plan = app.escalation_plan(&st).await?;
    let mut recent = app
        .list_alerts(AlertFilter {
            service: Some(st.id.to_string()),
            status: None,
            before: None,
            limit: RECENT_ALERTS + 1,
        })
        .await?;
    let more_alerts = recent.len() > RECENT_ALERTS as usize;
    recent.truncate(RECENT_ALERTS as usize);
    let service_names = HashMap::from([(st.id, st.name.to_string())]);
    let now = palisade_app::now().unix_micros();
    let mut windows: Vec<_> = st.maintenance.iter().collect();
    windows.sort_by_key(|m| m.from.unix_micros());
    let body = html! {
        p.crumbs { a href="/services" { "Services" } " / " (st.name) }
        h1 { (st.name) }
        @if let Some(d) = &st.description { p { (page::prose(d)) } }
        dl.facts {
            dt { "Owning team" } dd { (owner.as_deref().unwrap_or("none")) }
            dt { "Tier" } dd { @match st.tier { Some(t) => { "tier " (t) }, None => "not set" } }
            dt { "Escalation policy" } dd { (policy.as_deref().unwrap_or("none")) }
        }

        section aria-labelledby="paged-title" {
            h2 id="paged-title" { "Who is paged now" }
            @match &plan {
                Ok(plan) => {
                    @match plan.levels.first() {
                        Some(first) => p {
                            "An alert now pages "
                            @if first.users.is_empty() { strong { "nobody" } } @else { strong { (first.users.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", ")) } }
                            " first (" (first.reason) ")."
                        },
                        None => p { "The escalation policy has no levels: nobody is paged." },
                    }
                    @if plan.levels.len() > 1 {
                        ol.levels {
                            @for (i, l) in plan.levels.iter().enumerate() {
                                li {
                                    @if l.users.is_empty() { "nobody" } @else { (l.users.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", ")) }
                                    " — " (l.reason) "; "
                                    @match plan.next(Step { round: 0, level: i as u32 }) {
                                        Some(n) if n.step.round == 0 => { "level " (n.step.level + 1) " after " (human_duration(n.after_secs as i64)) " unless acknowledged" }
                                        Some(n) => { "level 1 again (round " (n.step.round + 1) " of " (plan.repeat + 1) ") after " (human_duration(n.after_secs as i64)) " unless acknowledged" }
                                        None => "the last level",
                                    }
                                }
                            }
                        }
                    }
                }
                Err(why) => p { strong { "Nobody is paged now: " } (why) "." },
            }
        }

        section aria-labelledby="runbooks-title" {
            h2 id="runbooks-title" { "Runbooks" }
            @if st.runbooks.is_empty() {
                p.empty { "No runbook linked." }
            } @else {
                ul {
                    @for r in &st.runbooks {
                        li { a href=(r.url) rel="noopener noreferrer" { (r.title.as_deref().unwrap_or(&r.url)) }
                            @if r.title.is_some() { " " span.meta { (r.url) } } }
                    }
                }
            }
        }

        section aria-labelledby="maintenance-title" {
            h2 id="maintenance-title" { "Maintenance windows" }
            p.hint { "While a window is in progress, the service's alerts page nobody." }
            @if windows.is_empty() {
                p.empty { "None." }
            } @else {
                div.scroll {
                    table.list {
                        caption.visually-hidden { "Maintenance windows, earliest first" }
                        thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "State" } th scope="col" { "Reason" } th scope="col" { "Added by" } } }
                        tbody {
                            @for m in &windows {
                                @let current = m.from.unix_micros() <= now && now < m.to.unix_micros();
                                tr class=[current.then_some("current")] {
                                    td { (m.n) }
                                    td { (time(m.from)) " to " (time(m.to)) }
                                    td {
                                        @if current { span.badge.maintenance { "in progress now: paging suppressed" } }
                                        @else if m.to.unix_micros() <= now { "ended" }
                                        @else { "upcoming" }
                                    }
                                    td { (m.reason) }
                                    td { (m.added_by) }
                                }
                            }
                        }
                    }
                }
            }
        }

        section aria-labelledby="integrations-title" {
            h2 id="integrations-title" { "Integrations" }
            p.hint { "How monitoring sends alerts here. A routing key is shown once, when its integration is added, and never again." }
            @if st.integrations.is_empty() {
                p.empty { "None. Add one with " code { "palisade service integration add SERVICE NAME" } " or the API." }
            } @else {
                div.scroll {
                    table.list {
                        caption.visually-hidden { "Integrations" }
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "Id" } th scope="col" { "Added" } th scope="col" { "State" } } }
                        tbody {
                            @for i in &st.integrations {
                                tr {
                                    td { (i.name) }
                                    td { (i.kind.as_str()) }
                                    td { code { (i.id) } }
                                    td { (time(i.added_at)) " by " (i.added_by) }
                                    td { @match i.revoked_at { Some(at) => { "revoked " (time(at)) }, None => "active" } }
                                }
                            }
                        }
                    }
                }
            }
        }

        section aria-labelledby="alerts-title" {
            h2 id="alerts-title" { "Recent alerts" }
            @if recent.is_empty() {
                p.empty { "No alert yet." }
            } @else {
                (alerts::table(&recent, &service_names, "Recent alerts of this service, newest first"))
                @if more_alerts {
                    p { "Showing the newest " (recent.len()) ". " a href=(format!("/alerts?service={}", st.name)) { "All alerts of " (st.name) } }
                }
            }
        }
    };
    Ok((st.name.to_string(), body))
}
