//! Sign-in, sign-out, setting a password with a one-time link, and the two extractors every
//! other page uses: [`Signed`] (the session cookie) and [`Posted`] (a form with the session's
//! CSRF token).

use crate::WebOptions;
use crate::page::{self, MainAttrs, Problem, frame, respond};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::html;
use palisade_app::App;
use palisade_app::signin::{SESSION_LIFETIME_SECS, WebCaller};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "palisade_session";

/// Largest form accepted (the API's limit).
const FORM_LIMIT: usize = 64 * 1024;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/oidc", get(oidc_begin))
        .route("/login/oidc/callback", get(oidc_callback))
        .route("/logout", axum::routing::post(logout))
        .route("/welcome/{link}", get(welcome_page).post(welcome))
}

fn cookie_secret(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
}

/// Where to go after signing in: a path on this site only.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() < 2000 =>
        {
            n.to_string()
        }
        _ => "/incidents".into(),
    }
}

/// The signed-in caller. Without a live session, a page answers with a redirect to the
/// sign-in page that comes back here.
pub(crate) struct Signed(pub WebCaller);

impl FromRequestParts<App> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        if let Some(c) = parts.extensions.get::<WebCaller>() {
            return Ok(Signed(c.clone()));
        }
        let found = match cookie_secret(&parts.headers) {
            Some(secret) => app
                .web_session(&secret)
                .await
                .map_err(|e| Problem::from(e).page(None))?,
            None => None,
        };
        match found {
            Some(c) => {
                parts.extensions.insert(c.clone());
                Ok(Signed(c))
            }
            None => {
                let back = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let to = format!(
                    "/login?{}",
                    serde_urlencoded::to_string([("next", back)]).unwrap_or_default()
                );
                Err(Redirect::to(&to).into_response())
            }
        }
    }
}

/// A request from another site is refused before any form is read: by the browser's own
/// `Sec-Fetch-Site` when it sends one (only `same-origin` and `none`, a user's own navigation,
/// pass), else by an `Origin` that is not this host.
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => false,
        Some(origin) => {
            let origin_host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            origin_host != host
        }
    }
}

pub(crate) fn forbidden_form() -> Response {
    page::error_page(
        StatusCode::FORBIDDEN,
        "Form refused",
        "This form did not come from this Palisade page, or the page is from an earlier session. Reload the page and send it again.",
    )
}

/// Compare two tokens in constant time.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// A form posted by the signed-in caller, with the session's CSRF token (checked before the
/// form is parsed further). A form with fields of the wrong shape is a 422 page.
pub(crate) struct Posted<T> {
    pub caller: WebCaller,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<App> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        if cross_site(&parts.headers) {
            return Err(forbidden_form());
        }
        let Signed(caller) = Signed::from_request_parts(&mut parts, app).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            Problem {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                headline: "Too large",
                detail: format!("a form is at most {} KiB", FORM_LIMIT / 1024),
                rule: None,
            }
            .page(Some(&caller))
        })?;
        let token = serde_urlencoded::from_bytes::<CsrfOnly>(&bytes)
            .map(|c| c.csrf)
            .unwrap_or_default();
        if !same(&token, &caller.csrf) {
            return Err(forbidden_form());
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
            Problem::bad(format!("the form could not be read: {e}")).page(Some(&caller))
        })?;
        Ok(Posted { caller, form })
    }
}

fn session_cookie(value: &str, max_age: i64, options: WebOptions) -> HeaderValue {
    let secure = if options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
    done: Option<String>,
}

fn login_form(
    sso: Option<&str>,
    next: &str,
    user: &str,
    problem: Option<&Problem>,
    notice: Option<&str>,
) -> maud::Markup {
    frame(
        "Sign in",
        None,
        MainAttrs::default(),
        html! {
            h1 { "Sign in" }
            @if let Some(p) = problem { (p.banner()) }
            @if let Some(n) = notice { div.banner.ok role="status" { (n) } }
            @if let Some(label) = sso {
                p { a.button href=(format!("/login/oidc?{}", serde_urlencoded::to_string([("next", next)]).unwrap_or_default())) { "Sign in with " (label) } }
            }
            div.cards {
                section.card aria-labelledby="with-password" {
                    h2 id="with-password" { "With your password" }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        input type="hidden" name="method" value="password";
                        label for="user" { "User name" }
                        input id="user" name="user" type="text" autocomplete="username" required value=(user) autocapitalize="none" spellcheck="false";
                        label for="password" { "Password" }
                        input id="password" name="password" type="password" autocomplete="current-password" required;
                        button type="submit" { "Sign in" }
                    }
                }
                section.card aria-labelledby="with-token" {
                    h2 id="with-token" { "With an API token" }
                    p.hint { "The first admin's token is printed once when the server first starts. A token opens a web session; it is not stored in the browser." }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        input type="hidden" name="method" value="token";
                        label for="token" { "Token" }
                        input id="token" name="token" type="password" autocomplete="off" required placeholder="pal_…";
                        button type="submit" { "Sign in with token" }
                    }
                }
            }
            p.hint { "No password yet? An admin creates a one-time link for you (" code { "palisade token password-link --user NAME" } ")." }
        },
    )
}

async fn login_page(State(app): State<App>, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    let notice = q
        .done
        .as_deref()
        .filter(|d| *d == "password")
        .map(|_| "Your password is set. Sign in with it.");
    respond(
        StatusCode::OK,
        login_form(app.oidc_label(), &next, "", None, notice),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    method: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(
    State(app): State<App>,
    axum::Extension(options): axum::Extension<WebOptions>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if cross_site(&headers) {
        return forbidden_form();
    }
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            login_form(
                app.oidc_label(),
                "/incidents",
                "",
                Some(&Problem::bad(
                    "the sign-in form was incomplete; fill it in again",
                )),
                None,
            ),
        );
    };
    let next = safe_next(form.next.as_deref());
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let result = match form.method.as_str() {
        "token" => app.sign_in_token(&form.token, agent).await,
        _ => {
            app.sign_in_password(&form.user, &form.password, agent)
                .await
        }
    };
    match result {
        Ok(signed) => {
            let mut resp = Redirect::to(&next).into_response();
            resp.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&signed.secret, SESSION_LIFETIME_SECS, options),
            );
            resp
        }
        Err(e) => {
            let p = Problem::from(e);
            respond(
                p.status,
                login_form(app.oidc_label(), &next, &form.user, Some(&p), None),
            )
        }
    }
}

/// The pending single sign-on, kept from leaving for the provider until coming back. Lax, not
/// Strict: the provider's redirect back is a navigation from another site.
const OIDC_COOKIE: &str = "palisade_oidc";

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn oidc_cookie(value: &str, max_age: i64, options: WebOptions) -> HeaderValue {
    let secure = if options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{OIDC_COOKIE}={value}; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

async fn oidc_begin(
    State(app): State<App>,
    axum::Extension(options): axum::Extension<WebOptions>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    match app.oidc_begin(&next).await {
        Ok(start) => {
            let mut resp = Redirect::to(&start.authorize_url).into_response();
            resp.headers_mut().insert(
                header::SET_COOKIE,
                oidc_cookie(&start.pending, 600, options),
            );
            resp
        }
        Err(e) => {
            let p = Problem::from(e);
            respond(p.status, login_form(None, &next, "", Some(&p), None))
        }
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

async fn oidc_callback(
    State(app): State<App>,
    axum::Extension(options): axum::Extension<WebOptions>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let fail = |p: Problem| {
        let mut resp = respond(
            p.status,
            login_form(app.oidc_label(), "/incidents", "", Some(&p), None),
        );
        resp.headers_mut()
            .insert(header::SET_COOKIE, oidc_cookie("", 0, options));
        resp
    };
    if let Some(error) = q.error {
        let said = q.error_description.unwrap_or(error);
        return fail(Problem {
            status: StatusCode::UNAUTHORIZED,
            headline: "Not signed in",
            detail: format!("the provider did not sign you in: {said}"),
            rule: None,
        });
    }
    let pending = cookie_value(&headers, OIDC_COOKIE).unwrap_or_default();
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match app.oidc_finish(&q.code, &q.state, &pending, agent).await {
        Ok((signed, next)) => {
            let next = safe_next(Some(&next));
            // A page, not a redirect: the browser arrived from the provider's site, and a
            // redirect chain that began there would not carry the SameSite=Strict session
            // cookie. Moving on from this page is a same-site navigation.
            let page = frame(
                "Signed in",
                None,
                MainAttrs::default(),
                html! {
                    meta http-equiv="refresh" content=(format!("0;url={next}"));
                    h1 { "Signed in" }
                    p { "Signed in as " strong { (signed.session.user) } ". " a href=(next) { "Continue" } }
                },
            );
            let mut resp = respond(StatusCode::OK, page);
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                session_cookie(&signed.secret, SESSION_LIFETIME_SECS, options),
            );
            h.append(header::SET_COOKIE, oidc_cookie("", 0, options));
            resp
        }
        Err(e) => fail(Problem::from(e)),
    }
}

/// A form with nothing in it but its CSRF token.
#[derive(Deserialize)]
pub(crate) struct Nothing {}

async fn logout(
    State(app): State<App>,
    axum::Extension(options): axum::Extension<WebOptions>,
    posted: Posted<Nothing>,
) -> Response {
    if let Err(e) = app.sign_out(&posted.caller).await {
        return Problem::from(e).page(Some(&posted.caller));
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie("", 0, options));
    resp
}

fn welcome_form(link: &str, user: &str, problem: Option<&Problem>) -> maud::Markup {
    frame(
        "Set your password",
        None,
        MainAttrs::default(),
        html! {
            h1 { "Set your password" }
            @if let Some(p) = problem { (p.banner()) }
            p { "For " strong { (user) } ". This link works once." }
            form method="post" action=(format!("/welcome/{link}")) {
                input type="text" name="user" value=(user) autocomplete="username" hidden;
                label for="password" { "New password" }
                input id="password" name="password" type="password" autocomplete="new-password" required minlength=(palisade_app::signin::PASSWORD_MIN_CHARS) maxlength=(palisade_app::signin::PASSWORD_MAX_CHARS) aria-describedby="pw-hint";
                p.hint id="pw-hint" { "At least " (palisade_app::signin::PASSWORD_MIN_CHARS) " characters. A few unrelated words make a strong one." }
                label for="confirm" { "The same password again" }
                input id="confirm" name="confirm" type="password" autocomplete="new-password" required;
                button type="submit" { "Set password" }
            }
        },
    )
}

async fn welcome_page(State(app): State<App>, Path(link): Path<String>) -> Response {
    match app.password_link_user(&link).await {
        Ok(user) => respond(StatusCode::OK, welcome_form(&link, user.as_str(), None)),
        Err(e) => Problem::from(e).page(None),
    }
}

#[derive(Deserialize)]
struct WelcomeForm {
    password: String,
    confirm: String,
}

async fn welcome(
    State(app): State<App>,
    Path(link): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if cross_site(&headers) {
        return forbidden_form();
    }
    let user = match app.password_link_user(&link).await {
        Ok(u) => u,
        Err(e) => return Problem::from(e).page(None),
    };
    let form = match serde_urlencoded::from_bytes::<WelcomeForm>(&body) {
        Ok(f) => f,
        Err(_) => {
            let p = Problem::bad("fill in both password fields");
            return respond(p.status, welcome_form(&link, user.as_str(), Some(&p)));
        }
    };
    if form.password != form.confirm {
        let p = Problem::bad("the two passwords differ");
        return respond(p.status, welcome_form(&link, user.as_str(), Some(&p)));
    }
    match app.set_password_with_link(&link, &form.password).await {
        Ok(_) => Redirect::to("/login?done=password").into_response(),
        Err(e) => {
            let p = Problem::from(e);
            respond(p.status, welcome_form(&link, user.as_str(), Some(&p)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/incidents/abc")), "/incidents/abc");
        assert_eq!(safe_next(Some("//evil.example/x")), "/incidents");
        assert_eq!(safe_next(Some("https://evil.example/")), "/incidents");
        assert_eq!(safe_next(Some("/\\evil.example")), "/incidents");
        assert_eq!(safe_next(None), "/incidents");
    }

    #[test]
    fn cross_site_forms_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(
            header::HOST,
            HeaderValue::from_static("palisade.local:8080"),
        );
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://palisade.local:8080"),
        );
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(cross_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(cross_site(&h), "a sibling subdomain is another site's page");
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        // The browser's word wins over an Origin it hides (`null` under some policies).
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!cross_site(&h));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_under_tls() {
        let c = session_cookie(
            "pws_x",
            60,
            WebOptions {
                secure_cookies: true,
            },
        );
        let c = c.to_str().unwrap();
        assert!(
            c.starts_with("palisade_session=pws_x; Path=/; HttpOnly; SameSite=Strict; Max-Age=60")
        );
        assert!(c.ends_with("; Secure"));
        let plain = session_cookie("pws_x", 60, WebOptions::default());
        assert!(!plain.to_str().unwrap().contains("Secure"));
    }
}
