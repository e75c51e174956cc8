//! The stylesheet and script, compiled in and served under a name that carries their content
//! hash: cached for a year as immutable, and a new build's page asks for the new name.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use palisade_app::App;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

pub(crate) const CSS: &str = include_str!("../assets/app.css");
pub(crate) const JS: &str = include_str!("../assets/app.js");

struct Asset {
    name: String,
    body: &'static str,
    content_type: &'static str,
}

fn assets() -> &'static [Asset; 2] {
    static ASSETS: OnceLock<[Asset; 2]> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let named = |stem: &str, ext: &str, body: &'static str, content_type| Asset {
            name: format!(
                "{stem}-{}.{ext}",
                &hex::encode(Sha256::digest(body.as_bytes()))[..12]
            ),
            body,
            content_type,
        };
        [
            named("app", "css", CSS, "text/css; charset=utf-8"),
            named("app", "js", JS, "text/javascript; charset=utf-8"),
        ]
    })
}

/// The URL of the stylesheet.
pub(crate) fn css_url() -> String {
    format!("/assets/{}", assets()[0].name)
}

/// The URL of the script.
pub(crate) fn js_url() -> String {
    format!("/assets/{}", assets()[1].name)
}

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/assets/{name}", get(serve))
}

async fn serve(Path(name): Path<String>) -> Response {
    let Some(a) = assets().iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut resp = a.body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    resp
}
