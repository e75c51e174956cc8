//! Alerts: the PagerDuty-compatible Events API v2 (`POST /v2/enqueue`, `POST /v2/change/enqueue`,
//! authenticated by the routing key in the body, answered exactly as PagerDuty answers), the
//! alert API under `/api/v1/alerts` (list, show, acknowledge, resolve), and a service's
//! integrations (`/api/v1/services/{service}/integrations`) and change events.

use super::{ApiStream, IntoCommand, PathArgs, command, json_of, json_text};
use crate::extract::{Caller, CommandBody, StrictQuery};
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use palisade_app::alerts::{AlertFilter, EventAction, InboundEvent, Promotion, Rejected};
use palisade_app::{App, AppError};
use palisade_core::alert::{
    AlertCommand, AlertDetails, AlertImage, AlertLink, AlertSeverity, AlertState, AlertStatus,
    CustomDetails, MAX_DEDUP_KEY,
};
use palisade_core::change::ChangeDetails;
use palisade_core::service::IntegrationKind;
use palisade_core::{IncidentState, Timestamp, UserName};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

/// Largest Events API body, as PagerDuty's (512 KB).
pub const EVENT_BODY_LIMIT: usize = 512 * 1024;

impl ApiStream for AlertState {
    const PARAM: &'static str = "alert";
    type View = AlertView;
    fn view(_: &App, st: &AlertState) -> AlertView {
        AlertView::from(st)
    }
}

/// Largest Alertmanager webhook body (a group of many alerts).
pub const ALERTMANAGER_BODY_LIMIT: usize = 1024 * 1024;

/// The Events API routes, at the server's root (where PagerDuty's clients post), and
/// Alertmanager's webhook receiver.
pub fn events_routes() -> Router<App> {
    Router::new()
        .route("/v2/enqueue", post(enqueue))
        .route("/v2/change/enqueue", post(enqueue_change))
        .layer(DefaultBodyLimit::max(EVENT_BODY_LIMIT))
        .merge(
            Router::new()
                .route("/v1/alertmanager/{key}", post(alertmanager))
                .layer(DefaultBodyLimit::max(ALERTMANAGER_BODY_LIMIT)),
        )
}

/// Whether `path` (a route template or a request path) is one of the intake endpoints: the
/// Events API and Alertmanager's webhook, authenticated by a routing key rather than a caller's
/// token, and answering as PagerDuty does rather than with problem details.
pub fn is_intake_path(path: &str) -> bool {
    path.starts_with("/v2/") || path.starts_with("/v1/alertmanager/")
}

/// A request path with the routing key of an Alertmanager webhook URL replaced, for logs.
pub fn redacted_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/v1/alertmanager/") {
        Some(_) => "/v1/alertmanager/[routing key]".into(),
        None => path.into(),
    }
}

/// The routes of this module under `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/alerts", get(list))
        .route("/alerts/{alert}", get(show_alert))
        .route(
            "/alerts/{alert}/acknowledge",
            post(command::<AlertState, AcknowledgeRequest>),
        )
        .route(
            "/alerts/{alert}/resolve",
            post(command::<AlertState, ResolveRequest>),
        )
        .route("/alerts/{alert}/promote", post(promote))
        .route("/services/{service}/integrations", post(add_integration))
        .route(
            "/services/{service}/integrations/{integration}",
            delete(revoke_integration),
        )
        .route("/services/{service}/changes", get(list_changes))
}

// ---------------------------------------------------------------------------------------------
// The Events API v2

/// The Events API's answer to an accepted event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventAccepted {
    #[schema(example = "success")]
    pub status: String,
    #[schema(example = "Event processed")]
    pub message: String,
    /// The alert's key: the one sent, or the one made for a trigger without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
}

/// The Events API's answer to an event it did not take.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventRefused {
    #[schema(example = "invalid event")]
    pub status: String,
    #[schema(example = "Event object is invalid")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// An event, as PagerDuty's Events API v2 takes it (fields it does not know are ignored, as
/// PagerDuty ignores them).
#[derive(Debug, Deserialize, ToSchema)]
pub struct EventRequest {
    /// The integration's 32-character routing key.
    pub routing_key: String,
    #[schema(example = "trigger")]
    pub event_action: String,
    /// Up to 255 characters; a trigger without one gets a new one.
    #[serde(default)]
    pub dedup_key: Option<String>,
    /// Required for a trigger: `summary`, `source`, `severity` (critical, error, warning,
    /// info), and optionally `timestamp`, `component`, `group`, `class`, `custom_details`.
    #[serde(default)]
    #[schema(value_type = Option<EventPayloadDoc>)]
    pub payload: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<AlertImage>>)]
    pub images: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<AlertLink>>)]
    pub links: Option<Value>,
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    pub client_url: Option<String>,
}

/// Any JSON value, as a sender's free-form details may be.
pub struct AnyJson;

impl utoipa::PartialSchema for AnyJson {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let of = |t: Type| ObjectBuilder::new().schema_type(t);
        OneOfBuilder::new()
            .description(Some("Any JSON value, kept as sent"))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(AdditionalProperties::FreeForm(true))),
            )
            .item(of(Type::Array))
            .item(of(Type::String))
            .item(of(Type::Number))
            .item(of(Type::Boolean))
            .into()
    }
}
impl ToSchema for AnyJson {}

/// An event's `payload`, as the Events API takes it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventPayloadDoc {
    /// 1–1,024 characters.
    summary: String,
    source: String,
    severity: AlertSeverity,
    /// When the monitoring tool saw it.
    timestamp: Option<String>,
    component: Option<String>,
    group: Option<String>,
    class: Option<String>,
    #[schema(value_type = Option<AnyJson>)]
    custom_details: Option<()>,
}

/// A change event's `payload`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChangePayloadDoc {
    /// 1–1,024 characters.
    summary: String,
    source: Option<String>,
    timestamp: Option<String>,
    #[schema(value_type = Option<AnyJson>)]
    custom_details: Option<()>,
}

/// What a trigger said.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlertDetailsDoc {
    summary: String,
    source: String,
    severity: AlertSeverity,
    timestamp: Option<String>,
    component: Option<String>,
    group: Option<String>,
    class: Option<String>,
    #[schema(value_type = Option<AnyJson>)]
    custom_details: Option<()>,
    links: Option<Vec<AlertLink>>,
    images: Option<Vec<AlertImage>>,
    client: Option<String>,
    client_url: Option<String>,
}

fn pd_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut r = (status, serde_json::to_string(body).unwrap_or_default()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn invalid(errors: Vec<String>) -> Response {
    pd_json(
        StatusCode::BAD_REQUEST,
        &EventRefused {
            status: "invalid event".into(),
            message: "Event object is invalid".into(),
            errors,
        },
    )
}

fn rejected(r: Rejected) -> Response {
    match r {
        Rejected::UnknownKey => invalid(vec![
            "'routing_key' is not the key of an active integration.".into(),
        ]),
        Rejected::Invalid(errors) => invalid(errors),
        Rejected::RateLimited(wait) => {
            let mut resp = pd_json(
                StatusCode::TOO_MANY_REQUESTS,
                &EventRefused {
                    status: "throttle event".into(),
                    message: "Requests for this integration are arriving too quickly. Please retry later.".into(),
                    errors: Vec::new(),
                },
            );
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            resp
        }
        Rejected::App(e) => {
            let unavailable = matches!(e, AppError::Unavailable(_) | AppError::Conflict(_));
            let status = if unavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            if !unavailable {
                tracing::error!("an event could not be recorded: {e}");
            }
            let mut resp = pd_json(
                status,
                &EventRefused {
                    status: "error".into(),
                    message: if unavailable {
                        "The event could not be recorded now; retry it.".into()
                    } else {
                        "The event could not be recorded.".into()
                    },
                    errors: Vec::new(),
                },
            );
            if unavailable {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            resp
        }
    }
}

/// The body, or the Events API's answer to one it cannot read.
fn read_event<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, Response> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            pd_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &EventRefused {
                    status: "invalid event".into(),
                    message: "Event object is too large".into(),
                    errors: vec![format!("The body is larger than {EVENT_BODY_LIMIT} bytes.")],
                },
            )
        } else {
            invalid(vec![format!("The body could not be read: {e}")])
        }
    })?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(vec![format!("The body is not valid JSON: {e}")]))?;
    if !value.is_object() {
        return Err(invalid(vec!["The body is not a JSON object.".into()]));
    }
    serde_json::from_value(value).map_err(|e| invalid(vec![describe_shape_error(&e)]))
}

/// A serde error as the Events API would phrase it (which field, what was wrong).
fn describe_shape_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.strip_prefix("missing field `") {
        Some(rest) => format!(
            "'{}' is missing.",
            rest.split('`').next().unwrap_or_default()
        ),
        None => format!("The event has a field of the wrong type: {msg}."),
    }
}

fn string_field(
    obj: &Map<String, Value>,
    name: &str,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<String> {
    match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        // Numbers and booleans are accepted as their text, as PagerDuty does for source and
        // component (monitoring tools send them unquoted).
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
        Some(_) => {
            errors.push(format!("'{path}' must be a string."));
            None
        }
    }
}

fn links(v: Option<&Value>, errors: &mut Vec<String>) -> Vec<AlertLink> {
    let Some(Value::Array(items)) = v else {
        if v.is_some_and(|v| !v.is_null()) {
            errors.push("'links' must be an array.".into());
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Object(o) => {
                match string_field(o, "href", &format!("links[{i}].href"), errors) {
                    Some(href) => out.push(AlertLink {
                        href,
                        text: string_field(o, "text", &format!("links[{i}].text"), errors),
                    }),
                    None => errors.push(format!("'links[{i}].href' is missing.")),
                }
            }
            _ => errors.push(format!("'links[{i}]' must be an object.")),
        }
    }
    out
}

fn images(v: Option<&Value>, errors: &mut Vec<String>) -> Vec<AlertImage> {
    let Some(Value::Array(items)) = v else {
        if v.is_some_and(|v| !v.is_null()) {
            errors.push("'images' must be an array.".into());
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Object(o) => match string_field(o, "src", &format!("images[{i}].src"), errors) {
                Some(src) => out.push(AlertImage {
                    src,
                    href: string_field(o, "href", &format!("images[{i}].href"), errors),
                    alt: string_field(o, "alt", &format!("images[{i}].alt"), errors),
                }),
                None => errors.push(format!("'images[{i}].src' is missing.")),
            },
            _ => errors.push(format!("'images[{i}]' must be an object.")),
        }
    }
    out
}

/// The event an Events API request describes, or every problem with it.
fn inbound(req: EventRequest) -> Result<InboundEvent, Vec<String>> {
    let mut errors = Vec::new();
    let action = match req.event_action.as_str() {
        "trigger" => Some(EventAction::Trigger),
        "acknowledge" => Some(EventAction::Acknowledge),
        "resolve" => Some(EventAction::Resolve),
        other => {
            errors.push(format!(
                "'event_action' is {other:?}; it must be trigger, acknowledge or resolve."
            ));
            None
        }
    };
    let dedup_key = req.dedup_key.filter(|k| !k.is_empty());
    if let Some(k) = &dedup_key
        && k.chars().count() > MAX_DEDUP_KEY
    {
        errors.push(format!(
            "'dedup_key' is longer than {MAX_DEDUP_KEY} characters."
        ));
    }
    if matches!(
        action,
        Some(EventAction::Acknowledge | EventAction::Resolve)
    ) && dedup_key.is_none()
    {
        errors.push("'dedup_key' is required for acknowledge and resolve events.".into());
    }
    let mut details = None;
    if action == Some(EventAction::Trigger) {
        match req.payload {
            Some(Value::Object(p)) => {
                let severity = match p.get("severity") {
                    Some(Value::String(s)) => AlertSeverity::parse(s).or_else(|| {
                        errors.push(format!(
                            "'payload.severity' is {s:?}; it must be critical, error, warning or info."
                        ));
                        None
                    }),
                    _ => {
                        errors.push("'payload.severity' is missing or not a string.".into());
                        None
                    }
                };
                let summary = string_field(&p, "summary", "payload.summary", &mut errors);
                let source = string_field(&p, "source", "payload.source", &mut errors);
                if summary.is_none() {
                    errors.push("'payload.summary' is missing.".into());
                }
                if source.is_none() {
                    errors.push("'payload.source' is missing.".into());
                }
                let d = AlertDetails {
                    summary: summary.unwrap_or_default(),
                    source: source.unwrap_or_default(),
                    severity: severity.unwrap_or(AlertSeverity::Critical),
                    timestamp: string_field(&p, "timestamp", "payload.timestamp", &mut errors),
                    component: string_field(&p, "component", "payload.component", &mut errors),
                    group: string_field(&p, "group", "payload.group", &mut errors),
                    class: string_field(&p, "class", "payload.class", &mut errors),
                    custom_details: p
                        .get("custom_details")
                        .filter(|v| !v.is_null())
                        .map(CustomDetails::from_value),
                    links: links(req.links.as_ref(), &mut errors),
                    images: images(req.images.as_ref(), &mut errors),
                    client: req.client,
                    client_url: req.client_url,
                };
                if errors.is_empty() {
                    errors.extend(d.problems());
                }
                details = Some(d);
            }
            Some(_) => errors.push("'payload' must be an object.".into()),
            None => errors.push("'payload' is missing.".into()),
        }
    }
    match action {
        Some(action) if errors.is_empty() => Ok(InboundEvent {
            action,
            dedup_key,
            details,
        }),
        _ => Err(errors),
    }
}

/// Send an alert event (PagerDuty Events API v2).
///
/// `trigger` opens an alert on the integration's service, or joins the open alert with the
/// same `dedup_key` (recorded as deduplicated, with the key that matched); `acknowledge` and
/// `resolve` act on the open alert with the key, and are accepted and dropped when there is
/// none. The event is recorded durably before the answer.
#[utoipa::path(post, path = "/v2/enqueue", tag = "alerts",
    request_body = EventRequest,
    responses((status = 202, body = EventAccepted, description = "Recorded"),
        (status = 400, body = EventRefused, description = "Invalid event (each problem in `errors`), or an unknown routing key"),
        (status = 413, body = EventRefused, description = "Body over 512 KB"),
        (status = 429, body = EventRefused, description = "Over the routing key's rate; retry after `Retry-After` seconds"),
        (status = 500, body = EventRefused, description = "Not recorded"),
        (status = 503, body = EventRefused, description = "Not recorded now; retry after `Retry-After` seconds")))]
pub async fn enqueue(State(app): State<App>, body: Result<Bytes, BytesRejection>) -> Response {
    let req: EventRequest = match read_event(body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let routing_key = req.routing_key.clone();
    let event = match inbound(req) {
        Ok(e) => e,
        Err(errors) => return invalid(errors),
    };
    match app.enqueue_event(&routing_key, event).await {
        Ok(done) => pd_json(
            StatusCode::ACCEPTED,
            &EventAccepted {
                status: "success".into(),
                message: "Event processed".into(),
                dedup_key: Some(done.dedup_key),
            },
        ),
        Err(r) => rejected(r),
    }
}

/// A change event, as the Events API's change endpoint takes it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeRequest {
    pub routing_key: String,
    #[schema(value_type = ChangePayloadDoc)]
    pub payload: Value,
    #[serde(default)]
    #[schema(value_type = Option<Vec<AlertLink>>)]
    pub links: Option<Value>,
}

/// Send a change event (a deploy, a configuration change) for the integration's service.
#[utoipa::path(post, path = "/v2/change/enqueue", tag = "alerts",
    request_body = ChangeRequest,
    responses((status = 202, body = EventAccepted, description = "Recorded"),
        (status = 400, body = EventRefused, description = "Invalid event, or an unknown routing key"),
        (status = 413, body = EventRefused, description = "Body over 512 KB"),
        (status = 429, body = EventRefused, description = "Over the routing key's rate; retry after `Retry-After` seconds"),
        (status = 500, body = EventRefused, description = "Not recorded"),
        (status = 503, body = EventRefused, description = "Not recorded now; retry after `Retry-After` seconds")))]
pub async fn enqueue_change(
    State(app): State<App>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req: ChangeRequest = match read_event(body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let mut errors = Vec::new();
    let Value::Object(p) = &req.payload else {
        return invalid(vec!["'payload' must be an object.".into()]);
    };
    let summary = string_field(p, "summary", "payload.summary", &mut errors);
    if summary.is_none() {
        errors.push("'payload.summary' is missing.".into());
    }
    let details = ChangeDetails {
        summary: summary.unwrap_or_default(),
        source: string_field(p, "source", "payload.source", &mut errors),
        timestamp: string_field(p, "timestamp", "payload.timestamp", &mut errors),
        custom_details: p
            .get("custom_details")
            .filter(|v| !v.is_null())
            .map(CustomDetails::from_value),
        links: links(req.links.as_ref(), &mut errors),
    };
    if errors.is_empty() {
        errors.extend(details.problems());
    }
    if !errors.is_empty() {
        return invalid(errors);
    }
    match app.enqueue_change(&req.routing_key, details).await {
        Ok(_) => pd_json(
            StatusCode::ACCEPTED,
            &EventAccepted {
                status: "success".into(),
                message: "Change event processed".into(),
                dedup_key: None,
            },
        ),
        Err(r) => rejected(r),
    }
}

// ---------------------------------------------------------------------------------------------
// The alert API

/// One row of an alert listing.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertListItem {
    pub id: Uuid,
    pub service: Uuid,
    pub dedup_key: String,
    #[schema(value_type = AlertStatus)]
    pub status: String,
    #[schema(value_type = AlertSeverity)]
    pub severity: String,
    pub summary: String,
    pub source: String,
    /// Triggers recorded on the alert (the first included).
    pub occurrences: u32,
    #[schema(value_type = Timestamp)]
    pub triggered_at: String,
    #[schema(value_type = Timestamp)]
    pub updated_at: String,
}

/// Alerts, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertList {
    pub alerts: Vec<AlertListItem>,
}

/// One line of an alert's history: each trigger, deduplication (with its reason), acknowledgement
/// and resolution.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertHistoryView {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = UserName)]
    pub actor: String,
    #[schema(value_type = Timestamp)]
    pub recorded_at: String,
    pub description: String,
}

/// An alert with its history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    pub id: Uuid,
    pub service: Uuid,
    pub dedup_key: String,
    pub status: AlertStatus,
    /// The most severe occurrence's.
    pub severity: AlertSeverity,
    /// The first trigger's details.
    #[schema(value_type = AlertDetailsDoc)]
    pub details: Value,
    pub occurrences: u32,
    #[schema(value_type = Timestamp)]
    pub triggered_at: String,
    #[schema(value_type = Option<Timestamp>)]
    pub acknowledged_at: Option<String>,
    #[schema(value_type = Option<UserName>)]
    pub acknowledged_by: Option<String>,
    #[schema(value_type = Option<Timestamp>)]
    pub resolved_at: Option<String>,
    #[schema(value_type = Option<UserName>)]
    pub resolved_by: Option<String>,
    /// Whether an incident was declared from it.
    pub promoted: bool,
    /// That incident's codename, shown only to those who may see the incident (and only when
    /// the alert is read, not in command answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// Number of ledger events.
    pub events: u64,
    /// Every event but the oldest deduplications beyond the 20 most recent.
    pub history: Vec<AlertHistoryView>,
    /// Deduplications left out of `history` (each is on the ledger, and on the alert's web
    /// page, which lists every event).
    pub history_elided: u64,
}

/// An event's details as JSON, its custom details as they were sent (not as stored text).
fn details_json(d: &AlertDetails) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let (Some(obj), Some(c)) = (v.as_object_mut(), &d.custom_details) {
        obj.insert("custom_details".into(), c.to_value());
    }
    v
}

impl From<&AlertState> for AlertView {
    fn from(a: &AlertState) -> Self {
        AlertView {
            id: a.id,
            service: a.service,
            dedup_key: a.dedup_key.clone(),
            status: a.status,
            severity: a.severity,
            details: details_json(&a.details),
            occurrences: a.occurrences,
            triggered_at: a.triggered_at.to_string(),
            acknowledged_at: a.acknowledged_at.map(|t| t.to_string()),
            acknowledged_by: a.acknowledged_by.as_ref().map(|u| u.to_string()),
            resolved_at: a.resolved_at.map(|t| t.to_string()),
            resolved_by: a.resolved_by.as_ref().map(|u| u.to_string()),
            promoted: a.incident.is_some(),
            incident: None,
            events: a.last_seq,
            history: a
                .history
                .iter()
                .map(|h| AlertHistoryView {
                    seq: h.seq,
                    kind: h.kind.clone(),
                    actor: h.actor.to_string(),
                    recorded_at: h.recorded_at.to_string(),
                    description: h.description.clone(),
                })
                .collect(),
            history_elided: a.history_elided,
        }
    }
}

fn limit_of(q: &std::collections::HashMap<String, String>) -> Result<u32, Problem> {
    super::limit(q, 100)
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts",
    params(("service" = Option<String>, Query, description = "only this service's (id or name)"),
           ("status" = Option<AlertStatus>, Query, description = "only alerts in this status"),
           ("before" = Option<Uuid>, Query, description = "only alerts triggered before this one (the next page)"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most this many (default 100)")),
    responses((status = 200, body = AlertList), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    _caller: Caller,
    query: StrictQuery,
) -> Result<Json<AlertList>, Problem> {
    let q = query.only(&["service", "status", "before", "limit"])?;
    let status = match q.get("status") {
        Some(s) => Some(AlertStatus::parse(s).ok_or_else(|| {
            Problem::unprocessable("status is triggered, acknowledged or resolved")
        })?),
        None => None,
    };
    let before = match q.get("before") {
        Some(b) => Some(
            Uuid::parse_str(b)
                .map_err(|_| Problem::unprocessable("before is an alert id (a UUID)"))?,
        ),
        None => None,
    };
    let alerts = app
        .list_alerts(AlertFilter {
            service: q.get("service").cloned(),
            status,
            before,
            limit: limit_of(&q)?,
        })
        .await?;
    Ok(Json(AlertList {
        alerts: alerts
            .into_iter()
            .map(|a| AlertListItem {
                id: a.id,
                service: a.service,
                dedup_key: a.dedup_key,
                status: a.status,
                severity: a.severity,
                summary: a.summary,
                source: a.source,
                occurrences: a.occurrences,
                triggered_at: a.triggered_at,
                updated_at: a.updated_at,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/alerts/{alert}", tag = "alerts",
    params(("alert" = String, Path, description = "the alert's id")),
    responses((status = 200, body = AlertView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn show_alert(
    State(app): State<App>,
    caller: Caller,
    Path(alert): Path<String>,
) -> Result<Json<AlertView>, Problem> {
    let st = app
        .read::<AlertState>(caller.actor(), &alert, "alert", "api")
        .await?;
    let mut view = AlertView::from(&st);
    if let Some(id) = st.incident {
        // Named only to those who may see it: a restricted incident exists for its members.
        view.incident = app
            .load_visible::<palisade_core::IncidentState>(caller.actor(), &id.to_string())
            .await
            .ok()
            .map(|i| i.codename);
    }
    Ok(Json(view))
}

/// Declare an incident from an alert. Everything is optional: the title and summary default to
/// the alert's, the severity follows the alert's (critical → SEV-1, error → SEV-2, warning →
/// SEV-3, info → SEV-4), the kind is security unless said otherwise.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    #[serde(default)]
    #[schema(max_length = 200)]
    pub title: Option<String>,
    #[serde(default)]
    pub kind: Option<palisade_core::Kind>,
    #[serde(default)]
    pub severity: Option<palisade_core::Severity>,
    #[serde(default)]
    pub restricted: Option<bool>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub summary: Option<String>,
    #[serde(default)]
    pub commander: Option<UserName>,
}

/// The alert, and the incident declared from it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Promoted {
    pub alert: AlertView,
    pub incident_id: Uuid,
    pub codename: String,
}

#[utoipa::path(post, path = "/api/v1/alerts/{alert}/promote", tag = "alerts",
    request_body = PromoteRequest,
    params(("alert" = String, Path, description = "the alert's id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
    responses((status = 201, body = Promoted),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn promote(
    State(app): State<App>,
    caller: Caller,
    Path(alert): Path<String>,
    req: CommandBody<PromoteRequest>,
) -> Result<Response, Problem> {
    use palisade_core::Severity;
    let opts = req.options(None);
    let b = req.body;
    let severity = match b.severity {
        Some(s) => s,
        None => {
            let a = app
                .load_visible::<AlertState>(caller.actor(), &alert)
                .await?;
            match a.severity {
                AlertSeverity::Critical => Severity::SEV1,
                AlertSeverity::Error => Severity::SEV2,
                AlertSeverity::Warning => Severity::SEV3,
                AlertSeverity::Info => Severity::SEV4,
            }
        }
    };
    let input = palisade_app::incidents::DeclareInput {
        title: b.title.unwrap_or_default(),
        kind: b.kind,
        severity,
        restricted: b.restricted,
        summary: b.summary,
        playbook: None,
        commander: b.commander,
        aware_at: None,
    };
    let render = |st: &AlertState, incident: &IncidentState| {
        let mut view = AlertView::from(st);
        view.incident = Some(incident.codename.clone());
        json_of(&Promoted {
            alert: view,
            incident_id: incident.id,
            codename: incident.codename.clone(),
        })
    };
    let text = match app
        .promote_alert(caller.actor(), &alert, input, &opts, Some(&render))
        .await?
    {
        Promotion::Done(st, incident) => render(&st, &incident),
        Promotion::Replayed(text) => text,
    };
    Ok(json_text(StatusCode::CREATED, text))
}

/// Acknowledge an alert (nothing changes if it already is, or is resolved).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeRequest {}

impl IntoCommand<AlertState> for AcknowledgeRequest {
    fn into_command(self, _: &PathArgs) -> Result<(AlertCommand, Option<Timestamp>), Problem> {
        Ok((AlertCommand::Acknowledge { origin: None }, None))
    }
}

/// Resolve an alert (nothing changes if it already is).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {}

impl IntoCommand<AlertState> for ResolveRequest {
    fn into_command(self, _: &PathArgs) -> Result<(AlertCommand, Option<Timestamp>), Problem> {
        Ok((AlertCommand::Resolve { origin: None }, None))
    }
}

// ---------------------------------------------------------------------------------------------
// Integrations and change events of a service

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddIntegrationRequest {
    /// Unique among the service's active integrations (`a-z 0-9 . _ -`).
    pub name: String,
    /// `events_v2` (default: the PagerDuty Events API v2, also Alertmanager's
    /// `pagerduty_configs`), `alertmanager_alert` or `alertmanager_group`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "events_v2")]
    pub kind: Option<String>,
}

/// A new integration with its routing key, shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntegrationCreated {
    pub id: Uuid,
    pub service: Uuid,
    pub name: String,
    #[schema(example = "events_v2")]
    pub kind: String,
    /// The routing key (32 characters). It is not stored and cannot be shown again.
    pub routing_key: String,
}

#[utoipa::path(post, path = "/api/v1/services/{service}/integrations", tag = "services",
    request_body = AddIntegrationRequest,
    params(("service" = String, Path, description = "id or name"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "accepted and checked (1–200 printable ASCII characters, no spaces), but the first answer is not kept: it holds the routing key, which is stored only as a hash. A repeat is refused by the `integration-name` rule (422: an active integration of that name exists), so nothing is added twice; if the first answer was lost, revoke that integration and add another")),
    responses((status = 201, body = IntegrationCreated),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn add_integration(
    State(app): State<App>,
    caller: Caller,
    Path(service): Path<String>,
    req: CommandBody<AddIntegrationRequest>,
) -> Result<Response, Problem> {
    let kind = match req.body.kind.as_deref() {
        None => IntegrationKind::EventsV2,
        Some(k) => IntegrationKind::parse(k).ok_or_else(|| {
            Problem::unprocessable("kind is events_v2, alertmanager_alert or alertmanager_group")
        })?,
    };
    let (st, integration, routing_key) = app
        .add_integration(caller.actor(), &service, &req.body.name, kind)
        .await?;
    let body = IntegrationCreated {
        id: integration.id,
        service: st.id,
        name: integration.name,
        kind: integration.kind.as_str().to_string(),
        routing_key,
    };
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[utoipa::path(delete, path = "/api/v1/services/{service}/integrations/{integration}", tag = "services",
    params(("service" = String, Path, description = "id or name"),
           ("integration" = String, Path, description = "the integration's id or name")),
    responses((status = 204, description = "Revoked: its routing key no longer works"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn revoke_integration(
    State(app): State<App>,
    caller: Caller,
    Path((service, integration)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    app.revoke_integration(caller.actor(), &service, &integration)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One change event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangeItem {
    pub id: Uuid,
    pub service: Uuid,
    pub summary: String,
    pub source: Option<String>,
    /// When it happened, as the sender said.
    pub timestamp: Option<String>,
    #[schema(value_type = Timestamp)]
    pub recorded_at: String,
    pub integration: Option<String>,
}

/// A service's change events, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangeList {
    pub changes: Vec<ChangeItem>,
}

#[utoipa::path(get, path = "/api/v1/services/{service}/changes", tag = "services",
    params(("service" = String, Path, description = "id or name"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most this many (default 100)")),
    responses((status = 200, body = ChangeList),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_changes(
    State(app): State<App>,
    _caller: Caller,
    Path(service): Path<String>,
    query: StrictQuery,
) -> Result<Json<ChangeList>, Problem> {
    let q = query.only(&["limit"])?;
    let rows = app.list_changes(&service, limit_of(&q)?).await?;
    let changes = rows
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<Vec<ChangeItem>, _>>()
        .map_err(|e| Problem::from(AppError::internal("a change row does not parse", e)))?;
    Ok(Json(ChangeList { changes }))
}

/// Documentation of the command routes, which share one handler ([`command`]).
pub mod docs {
    use super::*;

    /// Acknowledge an alert: escalation stops; nothing changes if it already is acknowledged
    /// or resolved.
    #[utoipa::path(post, path = "/api/v1/alerts/{alert}/acknowledge", tag = "alerts",
        request_body = AcknowledgeRequest,
        params(("alert" = String, Path, description = "the alert's id"),
               ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
        responses((status = 200, body = AlertView),
            (status = 403, body = Problem, content_type = "application/problem+json"),
            (status = 404, body = Problem, content_type = "application/problem+json"),
            (status = 409, body = Problem, content_type = "application/problem+json")),
        security(("bearer" = [])))]
    #[allow(dead_code)]
    pub fn acknowledge() {}

    /// Resolve an alert; a later trigger with its key opens a new alert.
    #[utoipa::path(post, path = "/api/v1/alerts/{alert}/resolve", tag = "alerts",
        request_body = ResolveRequest,
        params(("alert" = String, Path, description = "the alert's id"),
               ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "repeat-safe: a repeat with the same key returns the first answer (1–200 printable ASCII characters, no spaces)")),
        responses((status = 200, body = AlertView),
            (status = 403, body = Problem, content_type = "application/problem+json"),
            (status = 404, body = Problem, content_type = "application/problem+json"),
            (status = 409, body = Problem, content_type = "application/problem+json")),
        security(("bearer" = [])))]
    #[allow(dead_code)]
    pub fn resolve() {}
}

// ---------------------------------------------------------------------------------------------
// Alertmanager's webhook (payload version 4)

/// Alertmanager's webhook body (version 4). Fields it adds later are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerMessage {
    #[schema(example = "4")]
    pub version: String,
    pub group_key: String,
    #[schema(example = "firing")]
    pub status: String,
    #[serde(default)]
    pub receiver: Option<String>,
    #[serde(default)]
    pub group_labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: std::collections::BTreeMap<String, String>,
    #[serde(default, rename = "externalURL")]
    pub external_url: Option<String>,
    #[serde(default)]
    pub truncated_alerts: u64,
    pub alerts: Vec<AlertmanagerAlert>,
}

/// One alert of an Alertmanager group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    #[schema(example = "firing")]
    pub status: String,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    /// Alertmanager's identity of the alert (a hash of its labels).
    pub fingerprint: String,
}

/// What became of each alert of the message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertmanagerAccepted {
    #[schema(example = "success")]
    pub status: String,
    pub placed: Vec<AlertmanagerPlaced>,
}

/// One alert (or the group) and what became of it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertmanagerPlaced {
    pub dedup_key: String,
    /// opened, deduplicated, acknowledged, resolved or dropped.
    pub outcome: String,
}

/// Alertmanager's `severity` label as an Events API severity (Alertmanager's own PagerDuty
/// receiver sends `error` when it has none).
fn am_severity(labels: &std::collections::BTreeMap<String, String>) -> AlertSeverity {
    match labels
        .get("severity")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("critical" | "page" | "emergency" | "fatal" | "p1") => AlertSeverity::Critical,
        Some("warning" | "warn" | "medium" | "p3") => AlertSeverity::Warning,
        Some("info" | "informational" | "low" | "none" | "notice" | "p4" | "p5") => {
            AlertSeverity::Info
        }
        _ => AlertSeverity::Error,
    }
}

fn truncate(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn am_labels(labels: &std::collections::BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The events one Alertmanager message makes: one per alert, or one for the group.
fn am_events(msg: &AlertmanagerMessage, per_group: bool) -> Vec<(String, InboundEvent)> {
    use palisade_core::alert::MAX_SUMMARY;
    let links = |url: &Option<String>| -> Vec<AlertLink> {
        url.iter()
            .filter(|u| !u.is_empty())
            .map(|u| AlertLink {
                href: u.clone(),
                text: Some("Source".into()),
            })
            .collect()
    };
    if per_group {
        let firing: Vec<&AlertmanagerAlert> =
            msg.alerts.iter().filter(|a| a.status == "firing").collect();
        let key = truncate(msg.group_key.clone(), MAX_DEDUP_KEY);
        let action = if msg.status == "resolved" {
            EventAction::Resolve
        } else {
            EventAction::Trigger
        };
        let name = msg
            .common_annotations
            .get("summary")
            .cloned()
            .unwrap_or_else(|| am_labels(&msg.group_labels));
        let summary = truncate(format!("[FIRING:{}] {name}", firing.len()), MAX_SUMMARY);
        let details = AlertDetails {
            summary,
            source: msg
                .external_url
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "alertmanager".into()),
            severity: am_severity(&msg.common_labels),
            timestamp: None,
            component: msg.common_labels.get("job").cloned(),
            group: msg.common_labels.get("alertname").cloned(),
            class: None,
            custom_details: Some(CustomDetails::from_value(&serde_json::json!({
                "group_labels": msg.group_labels,
                "common_labels": msg.common_labels,
                "common_annotations": msg.common_annotations,
                "firing": firing.iter().map(|a| &a.labels).collect::<Vec<_>>(),
                "truncated_alerts": msg.truncated_alerts,
            }))),
            links: links(&msg.external_url),
            images: Vec::new(),
            client: Some("Alertmanager".into()),
            client_url: msg.external_url.clone(),
        };
        return vec![(
            key.clone(),
            InboundEvent {
                action,
                dedup_key: Some(key),
                details: Some(details),
            },
        )];
    }
    msg.alerts
        .iter()
        .map(|a| {
            let key = truncate(a.fingerprint.clone(), MAX_DEDUP_KEY);
            let action = if a.status == "resolved" {
                EventAction::Resolve
            } else {
                EventAction::Trigger
            };
            let alertname = a.labels.get("alertname").cloned().unwrap_or_default();
            let text = a
                .annotations
                .get("summary")
                .or_else(|| a.annotations.get("description"))
                .cloned()
                .unwrap_or_else(|| am_labels(&a.labels));
            let summary = match a.labels.get("instance") {
                Some(i) if !text.contains(i.as_str()) => format!("{alertname}: {text} ({i})"),
                _ if alertname.is_empty() || text.contains(&alertname) => text,
                _ => format!("{alertname}: {text}"),
            };
            let details = AlertDetails {
                summary: truncate(summary, MAX_SUMMARY),
                source: a
                    .labels
                    .get("instance")
                    .or_else(|| a.labels.get("job"))
                    .cloned()
                    .or_else(|| msg.external_url.clone().filter(|u| !u.is_empty()))
                    .unwrap_or_else(|| "alertmanager".into()),
                severity: am_severity(&a.labels),
                timestamp: a.starts_at.clone(),
                component: a.labels.get("job").cloned(),
                group: (!alertname.is_empty()).then(|| alertname.clone()),
                class: None,
                custom_details: Some(CustomDetails::from_value(&serde_json::json!({
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "starts_at": a.starts_at,
                    "fingerprint": a.fingerprint,
                    "group_key": msg.group_key,
                }))),
                links: links(&a.generator_url),
                images: Vec::new(),
                client: Some("Alertmanager".into()),
                client_url: msg.external_url.clone(),
            };
            (
                key.clone(),
                InboundEvent {
                    action,
                    dedup_key: Some(key),
                    details: Some(details),
                },
            )
        })
        .collect()
}

/// Receive Alertmanager's webhook (`webhook_configs`, payload version 4).
///
/// The integration chooses the grouping: `alertmanager_alert` (and `events_v2`) make one alert
/// per Alertmanager alert, keyed by its fingerprint, so distinct alerts that share a summary
/// stay distinct; `alertmanager_group` makes one alert per Alertmanager group, keyed by the
/// group key. Firing triggers, resolved resolves. The routing key is the last path segment
/// (it is never logged).
#[utoipa::path(post, path = "/v1/alertmanager/{key}", tag = "alerts",
    request_body = AlertmanagerMessage,
    params(("key" = String, Path, description = "the integration's routing key")),
    responses((status = 200, body = AlertmanagerAccepted, description = "Every alert recorded"),
        (status = 400, body = EventRefused, description = "Not an Alertmanager version 4 message, or an unknown routing key"),
        (status = 413, body = EventRefused, description = "Body over 1 MiB"),
        (status = 429, body = EventRefused, description = "Over the routing key's rate; retry after `Retry-After` seconds"),
        (status = 500, body = EventRefused, description = "Not recorded"),
        (status = 503, body = EventRefused, description = "Not recorded now; retry after `Retry-After` seconds")))]
pub async fn alertmanager(
    State(app): State<App>,
    Path(key): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let msg: AlertmanagerMessage = match read_event(body) {
        Ok(m) => m,
        Err(resp) => return resp,
    };
    if msg.version != "4" {
        return invalid(vec![format!(
            "'version' is {:?}; this receiver takes Alertmanager's webhook version 4.",
            msg.version
        )]);
    }
    let per_group = match app.integration_for_key(&key).await {
        Ok(Some((_, integration))) => integration.kind == IntegrationKind::AlertmanagerGroup,
        Ok(None) => return rejected(Rejected::UnknownKey),
        Err(e) => return rejected(Rejected::App(e)),
    };
    let mut placed = Vec::new();
    for (dedup_key, event) in am_events(&msg, per_group) {
        match app.enqueue_event(&key, event).await {
            Ok(done) => placed.push(AlertmanagerPlaced {
                dedup_key,
                outcome: serde_json::to_value(done.placed)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            }),
            // Alertmanager sends the whole message again on a 429 or 5xx: what was recorded
            // already is deduplicated then.
            Err(r) => return rejected(r),
        }
    }
    pd_json(
        StatusCode::OK,
        &AlertmanagerAccepted {
            status: "success".into(),
            placed,
        },
    )
}
