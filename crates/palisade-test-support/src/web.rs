//! The web UI as a browser speaks to it over HTTP, for tests that need no real browser: forms,
//! one session cookie, redirects not followed, each page's CSRF token read from its forms.

use crate::TestServer;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};

/// A browser's view of the server: no automatic redirects, one session cookie.
pub struct Web<'a> {
    pub s: &'a TestServer,
    pub http: reqwest::Client,
    /// The session cookie's value, once signed in.
    pub cookie: Option<String>,
}

/// A page as received.
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Page {
    /// Where a redirect points (empty when it is not one).
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// The value of the hidden CSRF field of the page's forms.
    pub fn csrf(&self) -> String {
        let at = self
            .text
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no CSRF field in the page: {}", self.text));
        let rest = &self.text[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl<'a> Web<'a> {
    pub fn new(s: &'a TestServer) -> Web<'a> {
        Web {
            s,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    /// Send `req` with the session cookie, keeping the cookie the answer sets (or clears).
    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", format!("palisade_session={c}")),
            None => req,
        };
        let r = req.header("accept", "text/html").send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        if let Some(set) = headers.get(SET_COOKIE) {
            let v = set.to_str().unwrap();
            let value = v
                .strip_prefix("palisade_session=")
                .unwrap()
                .split(';')
                .next()
                .unwrap();
            self.cookie = (!value.is_empty()).then(|| value.to_string());
        }
        Page {
            status,
            headers,
            text: r.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.s.url));
        self.send(req).await
    }

    /// A page that must answer 200.
    pub async fn ok(&mut self, path: &str) -> Page {
        let p = self.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.text);
        p
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.s.url)).form(form);
        self.send(req).await
    }

    /// POST a form with the CSRF token of the page at `from`.
    pub async fn submit(&mut self, from: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(from).await.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(path, &fields).await
    }

    /// Sign in with an API token (must succeed).
    pub async fn sign_in_token(&mut self, token: &str) -> Page {
        let p = self
            .post(
                "/login",
                &[
                    ("method", "token"),
                    ("token", token),
                    ("next", "/incidents"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
        p
    }
}
