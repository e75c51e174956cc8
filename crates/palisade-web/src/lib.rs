//! Palisade's web UI: the pages responders use, server-rendered HTML over the same application
//! layer as the JSON API (no rule is checked here that the pipeline does not check again).
//!
//! - Templates are `maud` macros: compiled in, checked when the crate builds, escaped by default.
//! - Every page works with JavaScript off; `assets/app.js` adds live updates (server-sent
//!   events) and countdowns when it runs. No inline script or style: the Content-Security-Policy
//!   forbids them, and nothing is loaded from anywhere but this server.
//! - Signing in (password or API token) opens a web session: a random secret in an HttpOnly,
//!   SameSite=Strict cookie (Secure under TLS). Every form carries the session's CSRF token,
//!   and a POST without it is refused before anything is read.

mod account;
mod alerts;
mod assets;
mod break_glass;
mod comms;
mod ctf;
mod evidence;
mod findings;
mod incidents;
mod maturity;
mod oncall;
mod page;
mod services;
mod session;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use palisade_app::App;

pub use session::SESSION_COOKIE;

/// How the web UI is served.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebOptions {
    /// Served over TLS: session cookies are marked `Secure`.
    pub secure_cookies: bool,
}

/// The Content-Security-Policy of every page: this server's own script, style and images only;
/// no inline script or style, no framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The web UI's routes (at `/`), with its security headers. Merged beside `/api/v1` by the
/// server.
pub fn router(options: WebOptions) -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/incidents") }))
        .merge(session::routes())
        .merge(incidents::routes())
        .merge(evidence::routes())
        .merge(comms::routes())
        .merge(break_glass::routes())
        .merge(account::routes())
        .merge(services::routes())
        .merge(oncall::routes())
        .merge(alerts::routes())
        .merge(findings::routes())
        .merge(ctf::routes())
        .merge(maturity::routes())
        .merge(assets::routes())
        .layer(axum::Extension(options))
        .layer(middleware::from_fn(security_headers))
}

/// Whether a request path belongs to the web UI (for the server's fallback: a browser asking
/// for an unknown page gets an HTML answer).
pub fn wants_html(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// The answer to an unknown path for a browser.
pub fn not_found_page() -> Response {
    page::error_page(
        axum::http::StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page. The incident list is at /incidents.",
    )
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await.into_response();
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Same-origin only: nothing (a password link's path, an incident's codename) leaks to another
    // site, and the browser still sends this site's own `Origin` with its forms.
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    // Pages show restricted incidents: never stored by a browser or a proxy. Assets set their
    // own (immutable, by content hash).
    set(h, header::CACHE_CONTROL, "no-store");
    resp
}
