//! Palisade's HTTP server: the `/api/v1` JSON API over the application layer, authentication,
//! problem details, the OpenAPI document, health and metrics, request tracing. It parses no
//! command line and holds no business logic: each route module turns requests into the
//! application's commands and reads, and its answers into responses.

pub mod extract;
pub mod problem;
pub mod routes;
pub mod tls;
pub mod views;

pub use palisade_app::{App, AppConfig, StartError, Started};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use problem::{Problem, REQUEST_ID};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

/// Largest request body accepted (evidence uploads are streamed and limited separately).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The request id header, set on every request that lacks one and echoed on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(OpenApi)]
#[openapi(
    info(title = "Palisade API", description = "Secure incident response on a signed, hash-chained ledger. Errors are RFC 9457 problem details (`application/problem+json`). Commands accept an `Idempotency-Key` header: a repeat with the same key returns the first answer and writes nothing again."),
    paths(
        routes::incidents::declare, routes::incidents::list, routes::incidents::show_incident,
        routes::incidents::events, routes::incidents::changes, routes::incidents::break_glass,
        routes::incidents::docs::assign_role, routes::incidents::docs::unassign_role,
        routes::incidents::docs::step_action, routes::incidents::docs::add_note,
        routes::incidents::docs::update_status, routes::incidents::docs::change_severity,
        routes::incidents::docs::approve, routes::incidents::docs::resolve,
        routes::incidents::docs::close, routes::incidents::docs::correct,
        routes::comms::communications, routes::comms::postmortem_draft,
        routes::comms::docs::record_awareness, routes::comms::docs::meet_deadline,
        routes::comms::docs::draft_statement, routes::comms::docs::revise_statement,
        routes::comms::docs::approve_statement, routes::comms::docs::publish_statement,
        routes::comms::docs::postmortem_status, routes::comms::docs::add_action_item,
        routes::comms::docs::complete_action_item,
        routes::evidence::upload, routes::evidence::list, routes::evidence::show,
        routes::evidence::transfer, routes::evidence::download, routes::evidence::export,
        routes::services::create, routes::services::list, routes::services::show_service,
        routes::services::docs::rename,
        routes::services::set_owner, routes::services::set_escalation_policy,
        routes::services::docs::tier, routes::services::docs::finding_sla, routes::services::docs::add_runbook,
        routes::services::docs::remove_runbook, routes::services::docs::add_maintenance,
        routes::services::docs::remove_maintenance,
        routes::alerts::enqueue, routes::alerts::enqueue_change, routes::alerts::alertmanager,
        routes::alerts::list, routes::alerts::show_alert,
        routes::alerts::docs::acknowledge, routes::alerts::docs::resolve, routes::alerts::promote,
        routes::alerts::add_integration, routes::alerts::revoke_integration,
        routes::alerts::list_changes,
        routes::schedules::create, routes::schedules::list, routes::schedules::show_schedule,
        routes::schedules::on_call, routes::schedules::shifts,
        routes::schedules::docs::add_layer, routes::schedules::docs::replace_layer,
        routes::schedules::docs::remove_layer, routes::schedules::docs::add_override,
        routes::schedules::docs::remove_override, routes::schedules::docs::add_temporary,
        routes::schedules::docs::remove_temporary,
        routes::escalations::create, routes::escalations::list, routes::escalations::show_policy,
        routes::escalations::docs::set_levels, routes::escalations::docs::rename,
        routes::escalations::docs::settings,
        routes::teams::create, routes::teams::list, routes::teams::show_team,
        routes::teams::docs::set_member, routes::teams::docs::remove_member,
        routes::teams::docs::rename,
        routes::people::show_person, routes::people::docs::add_contact,
        routes::people::docs::remove_contact, routes::people::docs::add_rule,
        routes::people::docs::remove_rule,
        routes::tokens::create_token, routes::tokens::list_tokens, routes::tokens::revoke_token,
        routes::tokens::create_password_link,
        routes::tokens::me,
        routes::drills::start, routes::drills::tick, routes::drills::debrief,
        routes::drills::playbooks,
        routes::ops::healthz, routes::ops::metrics_text,
        routes::deliveries::list, routes::deliveries::resend,
        routes::findings::upload, routes::findings::list, routes::findings::show_finding,
        routes::findings::scans, routes::findings::rematch, routes::findings::docs::accept,
        routes::findings::docs::false_positive, routes::findings::docs::reopen,
        routes::ctf::create, routes::ctf::list, routes::ctf::show_ctf, routes::ctf::scoreboard,
        routes::ctf::docs::register, routes::ctf::docs::submit, routes::ctf::docs::hint,
        routes::ctf::docs::freeze, routes::ctf::attachment,
        routes::assessments::create, routes::assessments::list,
        routes::assessments::show_assessment, routes::assessments::file,
        routes::assessments::docs::record,
    ),
    modifiers(&BearerAuth, &SharedResponses),
    tags((name = "incidents"), (name = "commands"), (name = "evidence"), (name = "communications"), (name = "postmortems"), (name = "services"), (name = "alerts"), (name = "schedules"), (name = "escalation-policies"), (name = "teams"), (name = "people"), (name = "findings"), (name = "drills"), (name = "training"), (name = "maturity"), (name = "tokens"), (name = "operations"))
)]
pub struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The error responses every route shares because they come from the extractors and layers, not
/// from the handler: 401 and 503 wherever a bearer token is read (authentication reads the
/// store); 400 (malformed JSON), 413 (over [`BODY_LIMIT`]) and 422 (well-formed JSON of the wrong
/// shape) wherever a JSON body is read; 400 wherever a query string is read (strictly: an unknown
/// parameter is refused); 400 (not printable ASCII) and 422 (reused with another request) wherever
/// an `Idempotency-Key` is accepted; and 414 everywhere, from the HTTP server itself (hyper refuses
/// a request URI over 64 KiB before the router sees it, so that one answer has no body). Added
/// here once, so no route's documentation can miss one; every other error response is a problem
/// detail, and each gets a description of what it means.
struct SharedResponses;

impl SharedResponses {
    fn description(status: &str) -> &'static str {
        match status {
            "400" => {
                "Malformed request: JSON syntax, a query parameter that is unknown or not allowed, or a bad header"
            }
            "401" => "No valid bearer token (missing, unknown or revoked)",
            "403" => {
                "Not allowed: the caller's role or membership, or a process rule on permissions"
            }
            "404" => "No such resource, or one the caller may not see",
            "409" => {
                "Refused by a process rule (precondition or conflict), changed concurrently, already exists, or failed an integrity check"
            }
            "413" => "Request body too large",
            "414" => {
                "URI too long (over 64 KiB): refused by the HTTP server before the API reads the request, with no body"
            }
            "422" => "Invalid input: well-formed, but a value or combination is not acceptable",
            "503" => "Storage unavailable; retry after `Retry-After` seconds",
            _ => "An error (a problem detail)",
        }
    }
}

impl utoipa::Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = |status: &str| {
            ResponseBuilder::new()
                .description(Self::description(status))
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            // The Events API answers as PagerDuty does, never with problem details, and
            // documents its own errors (400, 413, 429, 500, 503).
            let events_api = routes::alerts::is_intake_path(path);
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let params = op.parameters.as_deref().unwrap_or_default();
                let query = params
                    .iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Query));
                let idempotent = params
                    .iter()
                    .any(|p| p.name.eq_ignore_ascii_case(extract::IDEMPOTENCY_HEADER));
                let json = op
                    .request_body
                    .as_ref()
                    .is_some_and(|b| b.content.contains_key("application/json"));
                let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut add: Vec<&str> = vec!["414"];
                if authenticated {
                    add.extend(["401", "503"]);
                }
                if json && !events_api {
                    add.extend(["400", "413", "422"]);
                }
                if query {
                    add.push("400");
                }
                if idempotent {
                    add.extend(["400", "422"]);
                }
                let responses = &mut op.responses.responses;
                for status in add {
                    responses.entry(status.to_string()).or_insert_with(|| {
                        RefOr::T(if status == "414" {
                            ResponseBuilder::new()
                                .description(Self::description(status))
                                .build()
                        } else {
                            problem(status)
                        })
                    });
                }
                // Every error response: a problem detail, described.
                for (status, r) in responses.iter_mut() {
                    if let RefOr::T(r) = r
                        && status.starts_with(['4', '5'])
                        && r.description.is_empty()
                    {
                        r.description = Self::description(status).to_string();
                    }
                }
                let mut sorted: Vec<_> = std::mem::take(responses).into_iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                *responses = sorted.into_iter().collect();
            }
        }
    }
}

/// The router with every route, limit and middleware (the web UI's cookies without `Secure`:
/// plain HTTP).
pub fn router(app: App) -> Router {
    router_with(app, palisade_web::WebOptions::default())
}

/// The router, with the web UI served as `web` says (`Secure` cookies under TLS).
pub fn router_with(app: App, web: palisade_web::WebOptions) -> Router {
    let api = Router::new()
        .merge(routes::incidents::routes())
        .merge(routes::comms::routes())
        .merge(routes::evidence::routes())
        .merge(routes::services::routes())
        .merge(routes::alerts::routes())
        .merge(routes::deliveries::routes())
        .merge(routes::schedules::routes())
        .merge(routes::escalations::routes())
        .merge(routes::teams::routes())
        .merge(routes::ctf::routes())
        .merge(routes::assessments::routes())
        .merge(routes::drills::routes())
        .merge(routes::people::routes())
        .merge(routes::findings::routes())
        .merge(routes::tokens::routes())
        .route("/openapi.json", get(routes::ops::openapi_json))
        .fallback(api_not_found);
    let id_header = HeaderName::from_static(REQUEST_ID_HEADER);
    Router::new()
        .nest("/api/v1", api)
        .merge(routes::alerts::events_routes())
        .merge(routes::ops::routes())
        .merge(palisade_web::router(web))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), record_metrics))
        .layer(middleware::from_fn(scope_request_id))
        .layer(PropagateRequestIdLayer::new(id_header.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // A routing key in a path (Alertmanager's webhook URL) is a secret: logged
                    // redacted.
                    let path = routes::alerts::redacted_path(req.uri().path());
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %path)
                })
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        )
        .layer(SetRequestIdLayer::new(id_header, MakeRequestUuid))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

/// Make the request id available to problem bodies built while serving the request.
async fn scope_request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    REQUEST_ID.scope(id, next.run(req)).await
}

/// An unknown path: a page for a browser, a problem detail for anything else.
async fn not_found(req: Request) -> Response {
    if palisade_web::wants_html(&req) {
        palisade_web::not_found_page()
    } else {
        axum::response::IntoResponse::into_response(api_not_found().await)
    }
}

async fn api_not_found() -> Problem {
    Problem::not_found("no such endpoint; the API is described at /api/v1/openapi.json")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this endpoint does not accept that method; see /api/v1/openapi.json",
    )
}

async fn record_metrics(State(app): State<App>, req: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let resp = next.run(req).await;
    app.metrics().request(
        &method,
        &route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}
