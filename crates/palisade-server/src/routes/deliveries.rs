//! `/deliveries`: the notification delivery log (pending, delivered, dead letters) and resend.
//! Admins only. Destinations are shown by channel and host: a Slack-compatible webhook URL is a
//! secret in its path.

use crate::extract::{Caller, StrictQuery};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_app::App;
use palisade_core::Timestamp;
use palisade_store::{DeliveryRow, DeliveryState, Destination};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{id}/resend", post(resend))
}

/// One message of the delivery log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    /// The stream whose event caused it.
    pub stream: Option<Uuid>,
    #[schema(example = "break_glass")]
    pub kind: String,
    #[schema(example = "pending")]
    pub state: String,
    /// `default`, `webhook` or `slack`.
    pub channel: String,
    /// The receiver's host (never the full URL).
    pub host: Option<String>,
    #[schema(value_type = Timestamp)]
    pub created_at: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[schema(value_type = Option<Timestamp>)]
    pub delivered_at: Option<String>,
    /// When it was given up (a dead letter).
    #[schema(value_type = Option<Timestamp>)]
    pub dead_at: Option<String>,
}

/// The delivery log, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

/// The host of a URL (`https://hooks.example.com/…` → `hooks.example.com`), never its path,
/// query or credentials.
fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    // Credentials before an `@` are never shown.
    Some(authority.rsplit('@').next()?.to_string())
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Delivery {
        let state = r.state();
        let (channel, host) = match &r.destination {
            Destination::Default => ("default", None),
            Destination::Webhook { url } => ("webhook", host(url)),
            Destination::Slack { url } => ("slack", host(url)),
            Destination::Timer => ("timer", None),
            // The domain only: an address is personal data.
            Destination::Email { to } => ("email", to.rsplit_once('@').map(|(_, d)| d.to_string())),
        };
        Delivery {
            id: r.id,
            stream: r.stream,
            kind: r.kind,
            state: serde_json::to_value(state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            channel: channel.to_string(),
            host,
            created_at: r.created_at,
            attempts: r.attempts,
            last_error: r.last_error,
            delivered_at: r.delivered_at,
            dead_at: r.dead_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/deliveries", tag = "operations",
    params(("state" = Option<String>, Query, description = "pending, delivered, dead or skipped"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most this many (default 100)")),
    responses((status = 200, body = DeliveryList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    query: StrictQuery,
) -> Result<Json<DeliveryList>, Problem> {
    let q = query.only(&["state", "limit"])?;
    let state = match q.get("state").map(String::as_str) {
        None => None,
        Some("pending") => Some(DeliveryState::Pending),
        Some("delivered") => Some(DeliveryState::Delivered),
        Some("dead") => Some(DeliveryState::Dead),
        Some("skipped") => Some(DeliveryState::Skipped),
        Some(_) => {
            return Err(Problem::unprocessable(
                "state is pending, delivered or dead",
            ));
        }
    };
    let limit = super::limit(&q, 100)?;
    let rows = app.deliveries(caller.actor(), state, limit).await?;
    Ok(Json(DeliveryList {
        deliveries: rows.into_iter().map(Delivery::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/deliveries/{id}/resend", tag = "operations",
    params(("id" = Uuid, Path, description = "the delivery's id (its webhook-id)")),
    responses((status = 202, description = "Due again now, under the same id"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn resend(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = Uuid::parse_str(&id).map_err(|_| Problem::not_found(format!("no delivery {id:?}")))?;
    app.resend_delivery(caller.actor(), id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_host_of_a_receiver_is_shown() {
        use super::host;
        assert_eq!(
            host("https://hooks.slack.com/services/T0/B0/secretpart").as_deref(),
            Some("hooks.slack.com")
        );
        assert_eq!(
            host("https://user:pw@hooks.example.com:8443/x?y").as_deref(),
            Some("hooks.example.com:8443")
        );
        assert_eq!(host("not a url"), None);
    }
}
