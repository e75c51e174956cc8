//! On-call pages: every schedule with who is on call now and who takes over next (and when),
//! and a schedule's page with its next days drawn as a timeline: an inline SVG rendered here
//! (one row per layer and the final row, shifts labelled with the person's name, spans with
//! nobody on call drawn and said as such, a "now" marker, day ticks; no `style` attribute, so
//! the Content-Security-Policy holds), followed by the same shifts as a table, which is the
//! accessible version. Everything is computed by the on-call engine through the app.

use crate::page::{self, MainAttrs, Problem, frame, instant, respond};
use crate::session::Signed;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use palisade_app::schedules::{OnCallNext, ScheduleTimeline};
use palisade_app::signin::WebCaller;
use palisade_app::{App, AppError};
use palisade_core::oncall::{Layer, Origin, Restriction, RotationUnit, Shift};
use palisade_core::schedule::{Instant, ScheduleState, instant_of};

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/oncall", get(oncall))
        .route("/schedules/{schedule}", get(show))
}

const DAY: i64 = 86_400;
/// How far ahead "next" is looked for, and the timeline's length beyond today.
const AHEAD_DAYS: i64 = 7;
/// Schedules read, and shown, on the on-call page.
const SCHEDULES_READ: u32 = 1000;
const SCHEDULES_SHOWN: usize = 100;
/// Layer rows drawn (a schedule has up to 20 layers).
const LAYER_ROWS: usize = 6;
/// Spans drawn (and listed) per row, so a schedule of hourly shifts keeps the page small …
const ROW_SPANS: usize = 40;
/// … and at most this many for all layer rows together (the final row has its own).
const LAYER_SPANS: usize = 120;

fn at_second(s: i64) -> Result<Instant, Problem> {
    Instant::from_second(s)
        .map_err(|e| Problem::from(AppError::internal("a time out of the calendar's range", e)))
}

fn now_and_until() -> Result<(Instant, Instant), Problem> {
    let now = instant_of(palisade_app::now());
    let until = at_second(now.as_second() + AHEAD_DAYS * DAY)?;
    Ok((now, until))
}

fn names(users: &[palisade_core::UserName]) -> String {
    users
        .iter()
        .map(|u| u.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who takes over next, in words.
fn next_words(n: &OnCallNext) -> Markup {
    html! {
        @match &n.next {
            Some(h) => { (page::people(&h.users)) " from " (instant(h.at)) }
            None => { "no change in the next " (AHEAD_DAYS) " days" }
        }
    }
}

async fn oncall(State(app): State<App>, Signed(caller): Signed) -> Response {
    match oncall_body(&app, &caller).await {
        Ok(body) => respond(
            StatusCode::OK,
            frame("On call", Some(&caller), MainAttrs::default(), body),
        ),
        Err(p) => p.page(Some(&caller)),
    }
}

async fn oncall_body(app: &App, caller: &WebCaller) -> Result<Markup, Problem> {
    let all = app.list_schedules(SCHEDULES_READ).await?;
    let (now, until) = now_and_until()?;
    let mut rows = Vec::new();
    for s in all.iter().take(SCHEDULES_SHOWN) {
        let answer = app
            .on_call_next(&caller.actor, &s.id.to_string(), now, until)
            .await
            .map(|(_, n)| n);
        rows.push((s, answer));
    }
    Ok(html! {
        h1 { "On call" }
        p.hint { "Now is " (instant(now)) ". Schedules are defined with " code { "palisade schedule" } " or the API; who is paged for a service is set by its escalation policy." }
        @if rows.is_empty() {
            p.empty { "No schedule yet. Create one with " code { "palisade schedule create" } "." }
        } @else {
            div.scroll {
                table.list {
                    caption.visually-hidden { "Schedules by name, with who is on call now and next" }
                    thead { tr {
                        th scope="col" { "Schedule" } th scope="col" { "On call now" } th scope="col" { "Next" } th scope="col" { "Time zone" }
                    } }
                    tbody {
                        @for (s, answer) in &rows {
                            tr {
                                td {
                                    a href=(format!("/schedules/{}", s.name)) { strong { (s.name) } }
                                    @if let Some(d) = &s.description { br; span.title { (d) } }
                                }
                                @match answer {
                                    Ok(n) => {
                                        td.now { (page::people(&n.now)) }
                                        td { (next_words(n)) }
                                    }
                                    Err(e) => td colspan="2" { span.error { "Cannot be computed: " (page::reason(e)) } },
                                }
                                td { (s.time_zone) }
                            }
                        }
                    }
                }
            }
            @if all.len() > rows.len() {
                p { "Showing " (rows.len()) " of " (all.len()) @if all.len() >= SCHEDULES_READ as usize { " or more" } " schedules (by name)." }
            }
        }
    })
}

async fn show(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(schedule): Path<String>,
) -> Response {
    match schedule_body(&app, &caller, &schedule).await {
        Ok((name, body)) => respond(
            StatusCode::OK,
            frame(&name, Some(&caller), MainAttrs::default(), body),
        ),
        Err(p) => p.page(Some(&caller)),
    }
}

/// One row of the timeline: what is drawn (at most [`ROW_SPANS`]) of how many.
struct Row {
    label: String,
    last: bool,
    spans: Vec<Shift>,
    total: usize,
}

fn rows_of(st: &ScheduleState, t: &ScheduleTimeline) -> (Vec<Row>, usize) {
    let per_layer = ROW_SPANS.min(LAYER_SPANS / t.layers.len().clamp(1, LAYER_ROWS));
    let mut rows: Vec<Row> = t
        .layers
        .iter()
        .enumerate()
        .take(LAYER_ROWS)
        .map(|(i, spans)| {
            let staffed: Vec<&Shift> = spans.iter().filter(|s| !s.users.is_empty()).collect();
            Row {
                label: format!("Layer {}", i + 1),
                last: false,
                total: staffed.len(),
                spans: staffed.into_iter().take(per_layer).cloned().collect(),
            }
        })
        .collect();
    rows.push(Row {
        label: "On call".into(),
        last: true,
        total: t.on_call.len(),
        spans: t.on_call.iter().take(ROW_SPANS).cloned().collect(),
    });
    (rows, st.schedule.layers().len())
}

fn rotation_words(l: &Layer) -> String {
    let r = &l.rotation;
    let (kind, unit) = match r.unit {
        RotationUnit::Hourly => ("hourly", "hour"),
        RotationUnit::Daily => ("daily", "day"),
        RotationUnit::Weekly => ("weekly", "week"),
        RotationUnit::Monthly => ("monthly", "month"),
    };
    let each = if r.length == 1 {
        format!("1 {unit} each")
    } else {
        format!("{} {unit}s each", r.length)
    };
    match r.handoff {
        Some(h) => format!(
            "{kind} rotation, {each}, handing off at {}",
            hm(h.hour(), h.minute())
        ),
        None => format!("{kind} rotation, {each}"),
    }
}

/// A local clock time as people write it (09:00).
fn hm(hour: i8, minute: i8) -> String {
    format!("{hour:02}:{minute:02}")
}

fn restriction_words(r: &Restriction) -> String {
    match r {
        Restriction::Daily { from, to } => format!(
            "every day {}–{}",
            hm(from.hour(), from.minute()),
            hm(to.hour(), to.minute())
        ),
        Restriction::Weekly {
            from_day,
            from,
            to_day,
            to,
        } => format!(
            "{from_day:?} {} to {to_day:?} {}",
            hm(from.hour(), from.minute()),
            hm(to.hour(), to.minute())
        ),
    }
}

async fn schedule_body(
    app: &App,
    caller: &WebCaller,
    schedule: &str,
) -> Result<(String, Markup), Problem> {
    let (now, until) = now_and_until()?;
    let (st, next) = app
        .on_call_next(&caller.actor, schedule, now, until)
        .await?;
    let from = at_second(now.as_second().div_euclid(DAY) * DAY)?;
    let to = at_second(from.as_second() + (AHEAD_DAYS + 1) * DAY)?;
    let (_, timeline) = app
        .schedule_timeline(&caller.actor, &st.id.to_string(), from, to)
        .await?;
    let (rows, layers) = rows_of(&st, &timeline);
    let zone = st.schedule.zone().to_string();
    let capped: Vec<&Row> = rows.iter().filter(|r| r.total > r.spans.len()).collect();
    let body = html! {
        p.crumbs { a href="/oncall" { "On call" } " / " (st.name) }
        h1 { (st.name) }
        @if let Some(d) = &st.description { p { (page::prose(d)) } }
        dl.facts {
            dt { "On call now" } dd.now { (page::people(&next.now)) }
            dt { "Next" } dd { (next_words(&next)) }
            dt { "Time zone" } dd { (zone) " (handoffs follow its clock; times here are UTC)" }
        }

        section aria-labelledby="timeline-title" {
            h2 id="timeline-title" { "The next " (AHEAD_DAYS) " days" }
            div.scroll {
                (svg(&st.name.to_string(), &rows, from, to, now))
            }
            @if layers > LAYER_ROWS {
                p.hint { "Showing layers 1–" (LAYER_ROWS) " of " (layers) " (the final row takes them all into account)." }
            }
            @for r in &capped {
                p.hint { (r.label) ": showing the first " (r.spans.len()) " of " (r.total) " spans; " code { "GET /api/v1/schedules/" (st.name) "/shifts" } " lists them all." }
            }
            (table(&rows))
        }

        section aria-labelledby="layers-title" {
            h2 id="layers-title" { "Layers" }
            p.hint { "A higher layer, where it has someone, takes precedence over the ones below; temporary schedules replace the layers, and overrides apply last." }
            ol.layers {
                @for l in st.schedule.layers() {
                    li {
                        (names(&l.participants)) " — " (rotation_words(l)) "; from " (instant(l.start))
                        @if let Some(end) = l.end { " until " (instant(end)) }
                        @if !l.restrictions.is_empty() {
                            "; only " (l.restrictions.iter().map(restriction_words).collect::<Vec<_>>().join(", "))
                        }
                    }
                }
            }
            p { (st.schedule.overrides().len()) " overrides and " (st.schedule.temporary().len()) " temporary schedules are defined." }
        }
    };
    Ok((st.name.to_string(), body))
}

// ---------------------------------------------------------------------------------------------
// The timeline as SVG: a 1000-unit-wide drawing, scaled by CSS to the page.

const WIDTH: f64 = 1000.0;
const LABEL_W: f64 = 90.0;
const CHART_W: f64 = WIDTH - LABEL_W - 10.0;
const AXIS_H: f64 = 26.0;
const ROW_H: f64 = 30.0;
const ROW_GAP: f64 = 8.0;
/// Width of one character of a label at the drawing's font size, for deciding whether a name
/// fits in its rectangle (a name that does not is still the rectangle's title).
const CHAR_W: f64 = 6.6;

fn n(x: f64) -> String {
    format!("{x:.1}")
}

/// The colour class of a person: the same person, the same colour (names say who; the colour
/// only helps the eye follow them).
fn person_class(users: &[palisade_core::UserName]) -> String {
    let sum: u32 = users
        .iter()
        .flat_map(|u| u.as_str().bytes())
        .map(u32::from)
        .sum();
    format!("p{}", sum % 6)
}

fn day_label(t: Instant) -> String {
    let ts = page::timestamp_of(t).utc();
    let weekday = ts.weekday().to_string();
    let month = ts.month().to_string();
    format!("{} {} {}", &weekday[..3], ts.day(), &month[..3])
}

/// The text drawn in a rectangle `w` wide: the names (shortened with "…" when they do not
/// fit), or for nobody "no one on call" (or "nobody" in a narrow gap); `None` when nothing
/// fits. The rectangle's title always has it all.
fn label(names: Option<&str>, w: f64) -> Option<String> {
    let fits = |s: &str| w >= s.chars().count() as f64 * CHAR_W + 8.0;
    match names {
        None => ["no one on call", "nobody", "none"]
            .into_iter()
            .find(|l| fits(l))
            .map(str::to_string),
        Some(full) if fits(full) => Some(full.to_string()),
        Some(full) => {
            let room = ((w - 8.0) / CHAR_W).floor() as usize;
            (room >= 3).then(|| {
                let mut short: String = full.chars().take(room - 1).collect();
                short.push('…');
                short
            })
        }
    }
}

fn span_title(s: &Shift) -> String {
    let who = if s.users.is_empty() {
        "No one on call".to_string()
    } else {
        names(&s.users)
    };
    format!(
        "{who}: {} – {}",
        page::time_words(page::timestamp_of(s.start)),
        page::time_words(page::timestamp_of(s.end))
    )
}

fn svg(name: &str, rows: &[Row], from: Instant, to: Instant, now: Instant) -> Markup {
    let span = (to.as_second() - from.as_second()) as f64;
    let x = |t: Instant| LABEL_W + ((t.as_second() - from.as_second()) as f64 / span) * CHART_W;
    let row_y = |i: usize, last: bool| {
        AXIS_H + i as f64 * (ROW_H + ROW_GAP) + if last { ROW_GAP } else { 0.0 }
    };
    let height = row_y(rows.len(), true) + 14.0;
    let legend_y = height + 6.0;
    let days = (to.as_second() - from.as_second()) / DAY;
    let title = format!(
        "On-call timeline of {name} from {} to {}",
        page::time_words(page::timestamp_of(from)),
        page::time_words(page::timestamp_of(to))
    );
    let now_x = x(now);
    html! {
        svg.timeline xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {}", n(legend_y + 22.0))) role="img" aria-labelledby="tl-title tl-desc" font-size="11" {
            title id="tl-title" { (title) }
            desc id="tl-desc" { "One row per layer and a final row of who is on call, with a marker at now. The table below lists the same shifts." }
            g.ticks {
                @for d in 0..=days {
                    @let t = Instant::from_second(from.as_second() + d * DAY).unwrap_or(from);
                    @let tx = x(t);
                    line.tick x1=(n(tx)) x2=(n(tx)) y1=(n(AXIS_H - 6.0)) y2=(n(height - 14.0)) {}
                    @if d < days { text.day x=(n(tx + 3.0)) y="14" { (day_label(t)) } }
                }
            }
            @for (i, r) in rows.iter().enumerate() {
                @let y = row_y(i, r.last);
                g class=(if r.last { "row final" } else { "row layer" }) {
                    text.row-label x="4" y=(n(y + 19.0)) { (r.label) }
                    rect.lane x=(n(LABEL_W)) y=(n(y)) width=(n(CHART_W)) height=(n(ROW_H)) {}
                    @for s in &r.spans {
                        @let x1 = x(s.start).max(LABEL_W);
                        @let x2 = x(s.end).min(LABEL_W + CHART_W);
                        @let w = (x2 - x1).max(0.5);
                        @if s.users.is_empty() {
                            g.gap {
                                title { (span_title(s)) }
                                rect x=(n(x1)) y=(n(y)) width=(n(w)) height=(n(ROW_H)) {}
                                @if let Some(l) = label(None, w) { text x=(n(x1 + 4.0)) y=(n(y + 19.0)) { (l) } }
                            }
                        } @else {
                            g class=(format!("shift {}", person_class(&s.users))) {
                                title { (span_title(s)) }
                                rect x=(n(x1)) y=(n(y)) width=(n(w)) height=(n(ROW_H)) rx="3" {}
                                @if let Some(l) = label(Some(&names(&s.users)), w) { text x=(n(x1 + 4.0)) y=(n(y + 19.0)) { (l) } }
                            }
                        }
                    }
                }
            }
            g.legend {
                g.gap { rect x=(n(LABEL_W)) y=(n(legend_y)) width="28" height="14" {} }
                text x=(n(LABEL_W + 34.0)) y=(n(legend_y + 11.0)) { "no one on call" }
                g.now { line x1=(n(LABEL_W + 160.0)) x2=(n(LABEL_W + 160.0)) y1=(n(legend_y)) y2=(n(legend_y + 14.0)) {} }
                text x=(n(LABEL_W + 166.0)) y=(n(legend_y + 11.0)) { "now" }
                text x=(n(LABEL_W + 210.0)) y=(n(legend_y + 11.0)) { "times in UTC; hover a shift for its times" }
            }
            @if (LABEL_W..=LABEL_W + CHART_W).contains(&now_x) {
                g.now {
                    line x1=(n(now_x)) x2=(n(now_x)) y1=(n(AXIS_H - 4.0)) y2=(n(height - 12.0)) {}
                    text x=(n(now_x)) y=(n(height - 2.0)) text-anchor="middle" { "now" }
                }
            }
        }
    }
}

/// The drawn spans as a table: the timeline's accessible version.
fn table(rows: &[Row]) -> Markup {
    html! {
        div.scroll {
            table.list.shifts {
                caption { "The same shifts as a table (times in UTC)" }
                thead { tr { th scope="col" { "Row" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "On call" } th scope="col" { "Why" } } }
                tbody {
                    @for r in rows {
                        @for s in &r.spans {
                            tr class=[s.users.is_empty().then_some("gap")] {
                                td { (r.label) }
                                td { (instant(s.start)) }
                                td { (instant(s.end)) }
                                td { (page::people(&s.users)) }
                                td {
                                    @match s.origin {
                                        Origin::Layer { index } if r.last => { "layer " (index + 1) }
                                        Origin::Layer { .. } => "its rotation",
                                        Origin::Temporary { index } => { "temporary schedule " (index + 1) }
                                        Origin::Nobody => "no layer has anyone",
                                    }
                                    @if !s.overrides.is_empty() {
                                        ", changed by override "
                                        (s.overrides.iter().map(|o| (o + 1).to_string()).collect::<Vec<_>>().join(", "))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
