//! Maturity pages: the assessments kept on the server, and an assessment's page — every push of
//! its answers file (who, when, which model version), and the newest dated assessment's answers
//! with who gave them, who confirmed them and the evidence linked. Scores need the model file,
//! so they come from `palisade maturity pull` and `assess` (the page says so).

use crate::page::{MainAttrs, Problem, frame, respond, time};
use crate::session::Signed;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use palisade_app::App;
use palisade_maturity::answers::{self, Given};
use palisade_maturity::stream::AssessmentState;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/maturity", get(list))
        .route("/maturity/{assessment}", get(show))
        .route("/maturity/{assessment}/heatmap.svg", get(heatmap))
}

async fn list(State(app): State<App>, Signed(caller): Signed) -> Response {
    let rows = match app.list_assessments(1000).await {
        Ok(r) => r,
        Err(e) => return Problem::from(e).page(Some(&caller)),
    };
    let body = html! {
        h1 { "Maturity assessments" }
        p.hint { "SAMM, DSOMM, NIST CSF and BSIMM answers kept on the ledger: each push of an answers file is recorded with who and when. Push with " code { "palisade maturity push FILE --name NAME" } "; score with " code { "palisade maturity pull NAME" } " and " code { "assess --model …" } "." }
        @if rows.is_empty() {
            p.empty { "No assessment yet." }
        } @else {
            div.scroll {
                table.list {
                    caption.visually-hidden { "Assessments by name" }
                    thead { tr { th scope="col" { "Assessment" } th scope="col" { "Model" } th scope="col" { "Pushes" } th scope="col" { "Newest assessment" } } }
                    tbody {
                        @for a in &rows {
                            tr {
                                td { a href=(format!("/maturity/{}", a.name)) { (a.name) } }
                                td { (a.kind.title()) @if let Some(v) = &a.model_version { " " span.meta { (v) } } }
                                td { (a.records) }
                                td { (a.latest.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        frame("Maturity", Some(&caller), MainAttrs::default(), body),
    )
}

fn score(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.2}"))
}

fn given(g: &Given) -> String {
    match g {
        Given::Nothing => "—".into(),
        Given::Number(n) => n.to_string(),
        Given::Text(t) => t.clone(),
        Given::Levels(l) => format!(
            "{} → {}",
            l.current.map_or("—".into(), |c| c.to_string()),
            l.target.map_or("—".into(), |t| t.to_string())
        ),
    }
}

/// A link only for a web address; anything else is shown as text.
fn evidence(url: &str) -> Markup {
    if url.starts_with("https://") || url.starts_with("http://") {
        html! { a href=(url) rel="noopener noreferrer" { (url) } }
    } else {
        html! { code { (url) } }
    }
}

async fn show(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(assessment): Path<String>,
) -> Response {
    let st = match app
        .read::<AssessmentState>(&caller.actor, &assessment, "assessment", "web")
        .await
    {
        Ok(st) => st,
        Err(e) => return Problem::from(e).page(Some(&caller)),
    };
    let parsed = st
        .file
        .as_deref()
        .and_then(|t| answers::parse(std::path::Path::new("answers.yaml"), t).ok());
    let newest = parsed
        .as_ref()
        .and_then(|f| f.assessments.iter().max_by(|a, b| a.date.cmp(&b.date)));
    let body = html! {
        h1 { "Assessment: " (st.name) }
        p { (st.kind.title()) ". Started by " (st.created_by) " at " (time(st.created_at)) "." }
        @match app.assessment_scores(&st) {
            Some(Ok(sc)) => section aria-labelledby="scores-title" {
                h2 id="scores-title" { "Scores of " (sc.date) @if let Some(t) = &sc.team { " (" (t) ")" } }
                p { "Scored with " (st.kind.title()) " " (sc.model_version)
                    @if !sc.same_version { " — the answers name another version; items it does not have are skipped" }
                    ". Overall: " strong { (score(sc.summary.overall)) } " of " (sc.summary.max) "." }
                @if sc.has_heatmap {
                    p { img.heatmap src=(format!("/maturity/{}/heatmap.svg", st.name)) alt=(format!("Heat map of {} {}: the same scores by practice or dimension and level", st.kind.title(), sc.date)); }
                }
                div.scroll {
                    table.list {
                        caption.visually-hidden { "Scores by group" }
                        thead { tr { th scope="col" { "Group" } th scope="col" { "Score" } } }
                        tbody { @for (name, v) in &sc.summary.groups { tr { td { (name) } td { (score(*v)) } } } }
                    }
                }
            },
            Some(Err(why)) => p.banner.warn { "The answers do not score: " (why) },
            None => p.hint { "Scores come from the model file: put it in the data directory's " code { "maturity-models/" } ", or score offline with " code { "palisade maturity pull " (st.name) " -o answers.yaml" } " and " code { "palisade maturity assess --model MODEL --answers answers.yaml" } "." },
        }
        section aria-labelledby="pushes-title" {
            h2 id="pushes-title" { "Pushes" }
            @if st.records.is_empty() {
                p.empty { "No answers file pushed yet." }
            } @else {
                div.scroll {
                    table.list {
                        caption.visually-hidden { "Every push of the answers file, oldest first" }
                        thead { tr { th scope="col" { "#" } th scope="col" { "Recorded" } th scope="col" { "By" } th scope="col" { "Model version" } th scope="col" { "Assessments" } th scope="col" { "Newest" } } }
                        tbody {
                            @for r in &st.records {
                                tr { td { (r.seq) } td { (time(r.at)) } td { (r.by) } td { (r.model_version) } td { (r.assessments) } td { (r.latest.as_deref().unwrap_or("—")) } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(a) = newest {
            section aria-labelledby="answers-title" {
                h2 id="answers-title" { "Answers of " (a.label()) }
                p { (a.answers.values().filter(|x| x.given != Given::Nothing).count()) " answered, "
                    (a.answers.values().filter(|x| x.confirmed_by.is_some()).count()) " confirmed." }
                div.scroll {
                    table.list {
                        caption.visually-hidden { "The newest assessment's answers" }
                        thead { tr { th scope="col" { "Item" } th scope="col" { "Answer" } th scope="col" { "By" } th scope="col" { "Confirmed by" } th scope="col" { "Evidence" } } }
                        tbody {
                            @for (id, x) in &a.answers {
                                tr {
                                    td { code { (id) } }
                                    td { (given(&x.given)) }
                                    td { (x.by.as_deref().or(a.by.as_deref()).unwrap_or("—")) }
                                    td { (x.confirmed_by.as_deref().unwrap_or("—")) }
                                    td { @for (i, e) in x.evidence.iter().enumerate() { @if i > 0 { ", " } (evidence(&e.url)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        frame(
            &format!("Assessment {}", st.name),
            Some(&caller),
            MainAttrs::default(),
            body,
        ),
    )
}

/// The heat map of the newest assessment, as an image (no script runs in an SVG image).
async fn heatmap(
    State(app): State<App>,
    Signed(caller): Signed,
    Path(assessment): Path<String>,
) -> Response {
    use axum::response::IntoResponse;
    let st = match app
        .read::<AssessmentState>(&caller.actor, &assessment, "assessment heat map", "web")
        .await
    {
        Ok(st) => st,
        Err(e) => return Problem::from(e).page(Some(&caller)),
    };
    match app.assessment_heatmap(&st) {
        Some(svg) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "image/svg+xml")],
            svg,
        )
            .into_response(),
        None => crate::page::error_page(
            StatusCode::NOT_FOUND,
            "No heat map",
            "This assessment has no scores on this server, or its model (NIST CSF) has no levels to map.",
        ),
    }
}
