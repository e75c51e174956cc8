//! Evidence on the incident page: the list with each item's chain of custody, adding a file
//! (streamed into the vault as it arrives, hashed on the way), and downloading one for a stated
//! purpose (recorded before the first byte; re-hashed as it streams, as the API does).

use crate::page::{self, Problem, csrf_field, time};
use crate::session::{Signed, cross_site, forbidden_form, same};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use maud::{Markup, html};
use palisade_app::App;
use palisade_app::evidence::AcquireInput;
use palisade_app::signin::WebCaller;
use palisade_core::IncidentState;
use palisade_core::custody::EvidenceName;
use serde::Deserialize;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(
            "/incidents/{incident}/evidence",
            // The content is streamed into the vault, which enforces the evidence size limit.
            post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/incidents/{incident}/evidence/{n}/download",
            post(download),
        )
}

/// The evidence section of the incident page.
pub(crate) fn section(caller: &WebCaller, st: &IncidentState) -> Markup {
    let base = format!("/incidents/{}", st.codename);
    html! {
        section data-region="evidence" aria-labelledby="evidence-title" {
            h2 id="evidence-title" { "Evidence" }
            @if st.evidence.is_empty() {
                p.empty { "No evidence yet." }
            }
            @for e in &st.evidence {
                article.evidence aria-labelledby=(format!("e{}-title", e.n)) {
                    h3 id=(format!("e{}-title", e.n)) { "E" (e.n) ": " (e.name)
                        @if e.integrity_failed { " " span.badge.overdue { "INTEGRITY FAILED" } } }
                    p.meta {
                        (e.size) " bytes · SHA-256 " code.hash { (e.sha256) } br;
                        "From " (e.source) " with " (e.tool) " · acquired by " (e.acquired_by) " " (time(e.acquired_at))
                        " · custodian " strong { (e.custodian) }
                    }
                    @if let Some(n) = &e.note { p { (page::prose(n)) } }
                    details.custody {
                        summary { "Chain of custody (" (e.custody.len()) " entries)" }
                        ol {
                            @for c in &e.custody {
                                li {
                                    (c.action.replace('_', " ")) " by " (c.by) " " (time(c.occurred_at))
                                    @if let Some(to) = &c.to { " → " (to) }
                                    @if let Some(p) = &c.purpose { ": " (p) }
                                }
                            }
                        }
                    }
                    form.row method="post" action=(format!("{base}/evidence/{}/download", e.n)) {
                        (csrf_field(caller))
                        label for=(format!("purpose-{}", e.n)) { "Purpose" }
                        input id=(format!("purpose-{}", e.n)) name="purpose" type="text" required maxlength="2000" placeholder="why you need it (recorded)";
                        button type="submit" { "Download E" (e.n) }
                    }
                }
            }
            @if st.status.is_open() {
                form.stack method="post" action=(format!("{base}/evidence")) enctype="multipart/form-data" {
                    (csrf_field(caller))
                    h3 { "Add evidence" }
                    label for="ev-source" { "Where it comes from" }
                    input id="ev-source" name="source" type="text" required maxlength="2000" placeholder="host, bucket, mailbox…";
                    label for="ev-tool" { "How it was acquired" }
                    input id="ev-tool" name="tool" type="text" required maxlength="2000" placeholder="tool and version";
                    label for="ev-note" { "Note (optional)" }
                    input id="ev-note" name="note" type="text" maxlength="10000";
                    label for="ev-file" { "File" }
                    input id="ev-file" name="file" type="file" required;
                    p.hint { "Stored encrypted, hashed as it arrives; every access is recorded with its purpose." }
                    button type="submit" { "Add evidence" }
                }
            }
        }
    }
}

async fn text(field: axum::extract::multipart::Field<'_>) -> Result<String, Problem> {
    let name = field.name().unwrap_or_default().to_string();
    let bytes = field
        .bytes()
        .await
        .map_err(|e| Problem::bad(format!("the form could not be read: {e}")))?;
    if bytes.len() > 10_000 {
        return Err(Problem::bad(format!("{name} is at most 10,000 bytes")));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| Problem::bad(format!("{name} is not UTF-8 text")))
}

async fn upload(
    State(app): State<App>,
    Path(incident): Path<String>,
    headers: HeaderMap,
    Signed(caller): Signed,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    if cross_site(&headers) {
        return forbidden_form();
    }
    let Ok(mut mp) = multipart else {
        return forbidden_form();
    };
    match receive(&app, &caller, &incident, &mut mp).await {
        Ok(Some(p)) => crate::incidents::incident_page(&app, &caller, &incident, Some(p)).await,
        Ok(None) => Redirect::to(&format!("/incidents/{incident}")).into_response(),
        Err(forbidden) => forbidden,
    }
}

/// Read the form (the CSRF token first, the file last, as the page sends them) and stream the
/// file into the vault. `Err` is a refused form; `Ok(Some)` a problem to show on the page.
async fn receive(
    app: &App,
    caller: &WebCaller,
    incident: &str,
    mp: &mut Multipart,
) -> Result<Option<Problem>, Response> {
    let (mut source, mut tool, mut note) = (String::new(), String::new(), None);
    let mut csrf_ok = false;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(Some(Problem::bad("choose a file to add"))),
            Err(e) => {
                return Ok(Some(Problem::bad(format!(
                    "the upload could not be read: {e}"
                ))));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if !csrf_ok {
            let given = if name == "csrf" {
                text(field).await.unwrap_or_default()
            } else {
                String::new()
            };
            if !same(&given, &caller.csrf) {
                return Err(forbidden_form());
            }
            csrf_ok = true;
            continue;
        }
        match name.as_str() {
            "source" => source = text(field).await.map_err(|p| p.page(Some(caller)))?,
            "tool" => tool = text(field).await.map_err(|p| p.page(Some(caller)))?,
            "note" => {
                note = Some(text(field).await.map_err(|p| p.page(Some(caller)))?)
                    .filter(|n| !n.trim().is_empty())
            }
            "file" => {
                let file_name = field.file_name().unwrap_or_default().to_string();
                let name = match EvidenceName::parse(&file_name) {
                    Ok(n) => n,
                    Err(e) => return Ok(Some(palisade_app::AppError::Refused(e.into()).into())),
                };
                let input = AcquireInput {
                    name,
                    source: source.trim().to_string(),
                    tool: tool.trim().to_string(),
                    sha256: None,
                    note,
                };
                return Ok(stream_in(app, caller, incident, input, field).await.err());
            }
            _ => {}
        }
    }
}

/// Stream one multipart field into the vault as it arrives.
async fn stream_in(
    app: &App,
    caller: &WebCaller,
    incident: &str,
    input: AcquireInput,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<(), Problem> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let acquire = app.acquire_evidence(&caller.actor, incident, input, reader);
    let pump = async move {
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if tx.send(Ok(chunk)).await.is_err() {
                        return; // the vault stopped reading (refused or failed)
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = tx
                        .send(Err(std::io::Error::other(format!(
                            "the upload broke off: {e}"
                        ))))
                        .await;
                    return;
                }
            }
        }
    };
    let (acquired, ()) = tokio::join!(acquire, pump);
    acquired.map(|_| ()).map_err(Problem::from)
}

#[derive(Deserialize)]
struct PurposeForm {
    #[serde(default)]
    purpose: String,
}

async fn download(
    State(app): State<App>,
    Path((incident, n)): Path<(String, String)>,
    posted: crate::session::Posted<PurposeForm>,
) -> Response {
    let caller = &posted.caller;
    let Some(n) = n.parse::<u32>().ok().filter(|n| *n >= 1) else {
        return Problem {
            status: StatusCode::NOT_FOUND,
            headline: "Not found",
            detail: format!("no evidence {n:?}"),
            rule: None,
        }
        .page(Some(caller));
    };
    let dl = match app
        .open_evidence(
            &caller.actor,
            &incident,
            n,
            posted.form.purpose.trim().to_string(),
        )
        .await
    {
        Ok(dl) => dl,
        Err(e) => {
            return crate::incidents::incident_page(&app, caller, &incident, Some(e.into())).await;
        }
    };
    let item = dl.item.clone();
    let body = Body::from_stream(app.stream_download(&caller.actor, dl));
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(item.size));
    if let Ok(v) = HeaderValue::from_str(&item.sha256) {
        h.insert("x-palisade-sha256", v);
    }
    let name = palisade_app::evidence::download_name(&item);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}
