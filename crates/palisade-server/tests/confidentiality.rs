//! Confidentiality: restricted incidents are invisible to non-members everywhere, every read of
//! one is recorded in its ledger, break-glass is admin-only, recorded and time-limited, and the
//! Incident Commander is told through an outbox delivered as a signed webhook (with retries, and
//! across a crash between commit and delivery).
//!
//! Every server runs on port 0 with a fresh data directory. The notification tests run on SQLite
//! and, when `PALISADE_TEST_DATABASE_URL` is set (required when `CI=true`), on PostgreSQL in a
//! fresh schema. Nothing here sleeps: waits are on channels, bounded by a timeout that only turns
//! a hang into a failure.

use axum::http::HeaderMap;
use palisade_app::notify::{self, NotifyConfig};
use palisade_app::{App, AppConfig};
use palisade_core::{IncidentState, Timestamp, UserName};
use palisade_store::StoreConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

// ---------------------------------------------------------------------------------------------
// Backends

/// Where a server keeps its data: a data directory and, for PostgreSQL, a database URL.
struct Backend {
    name: &'static str,
    dir: tempfile::TempDir,
    database_url: Option<String>,
}

impl Backend {
    fn config(&self, notify: Option<NotifyConfig>) -> AppConfig {
        AppConfig {
            store: StoreConfig {
                data_dir: self.dir.path().to_path_buf(),
                database_url: self.database_url.clone(),
            },
            notify,
            ..Default::default()
        }
    }
}

async fn sqlite() -> Backend {
    Backend {
        name: "sqlite",
        dir: tempfile::tempdir().unwrap(),
        database_url: None,
    }
}

/// SQLite always; PostgreSQL too when configured.
async fn backends() -> Vec<Backend> {
    palisade_test_support::backends()
        .await
        .into_iter()
        .map(|(name, store, dir)| Backend {
            name,
            dir,
            database_url: store.database_url,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A server over HTTP

struct Server {
    url: String,
    admin: String,
    http: reqwest::Client,
    /// The application, to read the ledger and the outbox without going through the API.
    app: App,
    task: tokio::task::JoinHandle<()>,
    notifier: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(n) = &self.notifier {
            n.abort();
        }
    }
}

async fn serve(config: &AppConfig) -> Server {
    let started = App::start(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = palisade_server::router(started.app.clone());
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server {
        url,
        // Empty on a restart: only the first start creates an admin token.
        admin: started.bootstrap_token.clone().unwrap_or_default(),
        http: reqwest::Client::new(),
        app: started.app,
        task,
        notifier: started.notifier,
    }
}

enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

#[derive(Debug)]
struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
    body: Value,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl Server {
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Body) -> Resp {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(ct, b) => req.header("content-type", ct).body(b),
        };
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap().to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            bytes,
            body,
        }
    }
    async fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), Body::None).await
    }
    async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Body::Json(body)).await
    }
    async fn token(&self, user: &str, role: &str) -> String {
        let r = self
            .post(
                "/api/v1/tokens",
                &self.admin,
                json!({"user": user, "role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.body["token"].as_str().unwrap().to_string()
    }
    async fn token_id(&self, token: &str) -> String {
        let r = self.get("/api/v1/me", token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.body["token_id"].as_str().unwrap().to_string()
    }
    async fn revoke(&self, token: &str) {
        let id = self.token_id(token).await;
        let r = self
            .call(
                "DELETE",
                &format!("/api/v1/tokens/{id}"),
                Some(&self.admin),
                Body::None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    }
    /// The ledger as stored (read directly, so reading it records nothing).
    async fn ledger(&self, id: uuid::Uuid) -> Vec<palisade_core::Event> {
        palisade_test_support::incident_events(self.app.store(), id).await
    }
    async fn fold(&self, id: uuid::Uuid) -> IncidentState {
        IncidentState::fold(&self.ledger(id).await).unwrap()
    }
    async fn pending(&self) -> u64 {
        self.app.store().outbox_pending().await.unwrap()
    }
}

fn assert_problem(r: &Resp, status: StatusCode, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(
        r.headers["content-type"],
        "application/problem+json",
        "{what}: {}",
        r.text()
    );
    assert!(
        r.body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:palisade:problem:")),
        "{what}: {}",
        r.text()
    );
    assert_eq!(r.body["status"], status.as_u16(), "{what}");
    assert!(
        r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {}",
        r.text()
    );
    if status == StatusCode::UNAUTHORIZED {
        assert!(r.headers.contains_key("www-authenticate"), "{what}");
    }
}

fn event_type(e: &Value) -> &str {
    e["event"]["data"]["type"].as_str().unwrap()
}

// ---------------------------------------------------------------------------------------------
// The cast and the fixture incident

/// Everyone the matrix calls as, in its column order.
struct Cast {
    /// Admin, member of nothing.
    admin: String,
    /// mia: responder, Incident Commander of every fixture.
    member: String,
    /// rita: responder, member of nothing.
    outsider: String,
    /// vic: viewer, scribe of every fixture (so a member, but read-only).
    viewer: String,
    /// rex: responder, member of every fixture, whose token is revoked.
    revoked: String,
}

const CALLERS: [&str; 6] = [
    "admin",
    "member",
    "non-member responder",
    "viewer",
    "no token",
    "revoked token",
];

impl Cast {
    async fn new(srv: &Server) -> Cast {
        let cast = Cast {
            admin: srv.admin.clone(),
            member: srv.token("mia", "responder").await,
            outsider: srv.token("rita", "responder").await,
            viewer: srv.token("vic", "viewer").await,
            revoked: srv.token("rex", "responder").await,
        };
        srv.token("sam", "responder").await;
        srv.revoke(&cast.revoked).await;
        cast
    }
    fn column(&self, i: usize) -> Option<&str> {
        match i {
            0 => Some(&self.admin),
            1 => Some(&self.member),
            2 => Some(&self.outsider),
            3 => Some(&self.viewer),
            4 => None,
            _ => Some(&self.revoked),
        }
    }
}

const EVIDENCE: &[u8] = b"disk image of web-1: 0123456789abcdef";
const EVIDENCE_QUERY: &str = "name=web-1.img&source=web-1&tool=dd";
/// Sequence number of the fixture's note (the correction target).
const NOTE_SEQ: u64 = 6;

#[derive(Debug, Clone)]
struct Fixture {
    id: String,
    codename: String,
    title: String,
    restricted: bool,
}

/// A SEV-2 security incident (restricted or not) declared by mia with herself as IC, vic as
/// scribe, sam as SME, rex as legal, one note (seq 6) and evidence E1 held by mia.
async fn fixture(srv: &Server, cast: &Cast, restricted: bool) -> Fixture {
    let title = format!("Exfiltration via {}", uuid::Uuid::new_v4().simple());
    let r = srv
        .post(
            "/api/v1/incidents",
            &cast.member,
            json!({"title": title, "severity": "SEV-2", "kind": "security",
                   "restricted": restricted, "commander": "mia"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.body["restricted"], restricted);
    let fx = Fixture {
        id: r.body["id"].as_str().unwrap().to_string(),
        codename: r.body["codename"].as_str().unwrap().to_string(),
        title,
        restricted,
    };
    for (user, role) in [("vic", "scribe"), ("sam", "sme"), ("rex", "legal")] {
        let r = srv
            .post(
                &format!("/api/v1/incidents/{}/roles", fx.codename),
                &cast.member,
                json!({"user": user, "role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let r = srv
        .post(
            &format!("/api/v1/incidents/{}/notes", fx.codename),
            &cast.member,
            json!({"text": "first responder note"}),
        )
        .await;
    assert_eq!(r.body["events"], NOTE_SEQ, "{}", r.text());
    let r = srv
        .call(
            "POST",
            &format!(
                "/api/v1/incidents/{}/evidence?{EVIDENCE_QUERY}",
                fx.codename
            ),
            Some(&cast.member),
            Body::Raw("application/octet-stream", EVIDENCE.to_vec()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.body["reference"], format!("{}/E1", fx.codename));
    fx
}

// ---------------------------------------------------------------------------------------------
// 1. The matrix

/// One route of `palisade_server::router`. `{i}` is replaced by the incident reference, `{tok}`
/// by the id of a token made for the cell. Expected statuses are per caller, in [`CALLERS`]
/// order, for a restricted and for an open incident.
struct Route {
    method: &'static str,
    path: &'static str,
    body: fn() -> Body,
    restricted: [u16; 6],
    open: [u16; 6],
}

fn no_body() -> Body {
    Body::None
}

/// Every route in the router, and what each caller gets.
fn routes() -> Vec<Route> {
    // Shorthands for rows that do not depend on the incident.
    fn same(method: &'static str, path: &'static str, body: fn() -> Body, s: [u16; 6]) -> Route {
        Route {
            method,
            path,
            body,
            restricted: s,
            open: s,
        }
    }
    let inc = |method, path, body, restricted, open| Route {
        method,
        path,
        body,
        restricted,
        open,
    };
    // Each array: [admin, member, non-member responder, viewer (a member), no token, revoked].
    vec![
        same(
            "GET",
            "/api/v1/incidents",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/incidents",
            || {
                Body::Json(
                    json!({"title": "another one", "severity": "SEV-4", "kind": "operational"}),
                )
            },
            [201, 201, 201, 403, 401, 401],
        ),
        inc(
            "GET",
            "/api/v1/incidents/{i}",
            no_body,
            [404, 200, 404, 200, 401, 401],
            [200, 200, 200, 200, 401, 401],
        ),
        inc(
            "GET",
            "/api/v1/incidents/{i}/events",
            no_body,
            [404, 200, 404, 200, 401, 401],
            [200, 200, 200, 200, 401, 401],
        ),
        inc(
            "GET",
            "/api/v1/incidents/{i}/changes",
            no_body,
            [404, 200, 404, 200, 401, 401],
            [200, 200, 200, 200, 401, 401],
        ),
        // Only the IC assigns roles once there is one; admins are exempt.
        inc(
            "POST",
            "/api/v1/incidents/{i}/roles",
            || Body::Json(json!({"user": "rita", "role": "deputy"})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 403, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/roles/unassign",
            || Body::Json(json!({"user": "sam", "role": "sme"})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 403, 403, 401, 401],
        ),
        // Any writer who can see the incident starts and completes steps.
        inc(
            "POST",
            "/api/v1/incidents/{i}/steps/1/start",
            || Body::Json(json!({})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 200, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/steps/1/done",
            || Body::Json(json!({"note": "blocked"})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 200, 403, 401, 401],
        ),
        // Only the IC waives.
        inc(
            "POST",
            "/api/v1/incidents/{i}/steps/3/waive",
            || Body::Json(json!({"reason": "team already here"})),
            [404, 200, 404, 403, 401, 401],
            [403, 200, 403, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/notes",
            || Body::Json(json!({"text": "a note"})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 200, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/status",
            || Body::Json(json!({"status": "investigating", "message": "looking"})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 200, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/severity",
            || Body::Json(json!({"severity": "SEV-1", "reason": "customer data"})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 200, 403, 401, 401],
        ),
        // The approval is the IC's.
        inc(
            "POST",
            "/api/v1/incidents/{i}/approvals",
            || Body::Json(json!({"approval": "external-communication"})),
            [404, 200, 404, 403, 401, 401],
            [403, 200, 403, 403, 401, 401],
        ),
        // Only the IC resolves and closes; for her the process refuses (steps open, not resolved).
        inc(
            "POST",
            "/api/v1/incidents/{i}/resolve",
            || Body::Json(json!({"summary": "fixed"})),
            [404, 409, 404, 403, 401, 401],
            [403, 409, 403, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/close",
            || Body::Json(json!({})),
            [404, 409, 404, 403, 401, 401],
            [403, 409, 403, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/corrections",
            || {
                Body::Json(
                    json!({"supersedes": NOTE_SEQ, "reason": "typo", "text": "first responder note, corrected"}),
                )
            },
            [404, 200, 404, 403, 401, 401],
            [200, 200, 200, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/evidence?name=mem.dump&source=web-2&tool=avml",
            || Body::Raw("application/octet-stream", b"memory".to_vec()),
            [404, 201, 404, 403, 401, 401],
            [201, 201, 201, 403, 401, 401],
        ),
        inc(
            "GET",
            "/api/v1/incidents/{i}/evidence",
            no_body,
            [404, 200, 404, 200, 401, 401],
            [200, 200, 200, 200, 401, 401],
        ),
        inc(
            "GET",
            "/api/v1/incidents/{i}/evidence/E1",
            no_body,
            [404, 200, 404, 200, 401, 401],
            [200, 200, 200, 200, 401, 401],
        ),
        inc(
            "GET",
            "/api/v1/incidents/{i}/evidence/E1/content?purpose=analysis",
            no_body,
            [404, 200, 404, 200, 401, 401],
            [200, 200, 200, 200, 401, 401],
        ),
        // Custody moves only from the custodian (mia) or the IC (also mia).
        inc(
            "POST",
            "/api/v1/incidents/{i}/evidence/E1/transfer",
            || Body::Json(json!({"to": "sam", "purpose": "imaging for forensics"})),
            [404, 200, 404, 403, 401, 401],
            [403, 200, 403, 403, 401, 401],
        ),
        // Admins only, restricted incidents only, non-members only.
        inc(
            "POST",
            "/api/v1/incidents/{i}/break-glass",
            || Body::Json(json!({"reason": "legal hold request from counsel", "minutes": 30})),
            [200, 403, 403, 403, 401, 401],
            [403, 403, 403, 403, 401, 401],
        ),
        inc(
            "GET",
            "/api/v1/incidents/{i}/export?purpose=insurer&evidence=true",
            no_body,
            [404, 200, 404, 200, 401, 401],
            [200, 200, 200, 200, 401, 401],
        ),
        // Communications and postmortems (mia, the member, is IC). The fixture has no awareness
        // time, statement, resolution or action item yet, so those commands are refused by the
        // process (422 unknown reference, 409 rule) for everyone who may see the incident.
        inc(
            "GET",
            "/api/v1/incidents/{i}/communications",
            no_body,
            [404, 200, 404, 200, 401, 401],
            [200, 200, 200, 200, 401, 401],
        ),
        inc(
            "GET",
            "/api/v1/incidents/{i}/postmortem",
            no_body,
            [404, 200, 404, 200, 401, 401],
            [200, 200, 200, 200, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/awareness",
            || Body::Json(json!({"aware_at": "2026-11-26T01:00:00Z"})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 200, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/deadlines/met",
            || Body::Json(json!({"name": "GDPR Art. 33 (supervisory authority)"})),
            [404, 422, 404, 403, 401, 401],
            [422, 422, 422, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/statements",
            || Body::Json(json!({"title": "Security notice", "body": "We are investigating."})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 200, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/statements/1/revise",
            || Body::Json(json!({"title": "Security notice", "body": "Update."})),
            [404, 422, 404, 403, 401, 401],
            [422, 422, 422, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/statements/1/approve",
            || Body::Json(json!({})),
            [404, 422, 404, 403, 401, 401],
            [422, 422, 422, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/statements/1/publish",
            || Body::Json(json!({})),
            [404, 422, 404, 403, 401, 401],
            [422, 422, 422, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/postmortem/status",
            || Body::Json(json!({"status": "in_review"})),
            [404, 409, 404, 403, 401, 401],
            [409, 409, 409, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/action-items",
            || Body::Json(json!({"title": "Rotate deploy keys", "owner": "mia"})),
            [404, 200, 404, 403, 401, 401],
            [200, 200, 200, 403, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/action-items/1/done",
            || Body::Json(json!({})),
            [404, 422, 404, 403, 401, 401],
            [422, 422, 422, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/tokens",
            no_body,
            [200, 403, 403, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/tokens",
            || Body::Json(json!({"user": "newbie", "role": "viewer"})),
            [201, 403, 403, 403, 401, 401],
        ),
        same(
            "DELETE",
            "/api/v1/tokens/{tok}",
            no_body,
            [204, 403, 403, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/password-links",
            || Body::Json(json!({"user": "newcomer", "role": "viewer"})),
            [201, 403, 403, 403, 401, 401],
        ),
        same("GET", "/api/v1/me", no_body, [200, 200, 200, 200, 401, 401]),
        // Services are not restricted: every account sees them, viewers do not change them.
        same(
            "GET",
            "/api/v1/services",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services",
            || Body::Json(json!({"name": fresh_name("svc")})),
            [201, 201, 201, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/services/{s}",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services/{s}/rename",
            || Body::Json(json!({"name": fresh_name("renamed")})),
            [200, 200, 200, 403, 401, 401],
        ),
        // Alerts and integrations belong to services: every account sees them, viewers do
        // not change them.
        same(
            "GET",
            "/api/v1/alerts",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/alerts/{a}",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/alerts/{a}/acknowledge",
            || Body::Json(json!({})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/alerts/{a}/resolve",
            || Body::Json(json!({})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/alerts/{a}/promote",
            || Body::Json(json!({})),
            [201, 201, 201, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services/{s}/integrations",
            || Body::Json(json!({"name": "prometheus"})),
            [201, 201, 201, 403, 401, 401],
        ),
        same(
            "DELETE",
            "/api/v1/services/{s}/integrations/{int}",
            no_body,
            [204, 204, 204, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/services/{s}/changes",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        // The delivery log is deployment configuration: admins only, refused before any lookup.
        same(
            "GET",
            "/api/v1/deliveries",
            no_body,
            [200, 403, 403, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/deliveries/00000000-0000-4000-8000-000000000000/resend",
            no_body,
            [404, 403, 403, 403, 401, 401],
        ),
        // Schedules are not restricted: every account sees who is on call, viewers change
        // nothing. Each cell gets a schedule of its own (one layer, one override, one
        // temporary schedule, all mia's).
        same(
            "GET",
            "/api/v1/schedules",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/schedules",
            || Body::Json(schedule_body(&fresh_name("sched"))),
            [201, 201, 201, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/schedules/{sch}",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/schedules/{sch}/oncall?at=2026-12-01T12:00:00Z",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/schedules/{sch}/shifts?from=2026-12-01T00:00:00Z&to=2026-12-08T00:00:00Z",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/schedules/{sch}/layers",
            || Body::Json(json!({"layer": schedule_body("x")["layers"][0].clone()})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/schedules/{sch}/layers/replace",
            || {
                let mut layer = schedule_body("x")["layers"][0].clone();
                layer["rotation"]["unit"] = json!("daily");
                Body::Json(json!({"index": 0, "layer": layer}))
            },
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/schedules/{sch}/layers/remove",
            || Body::Json(json!({"index": 0})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/schedules/{sch}/overrides",
            || Body::Json(schedule_body("x")["overrides"][0].clone()),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/schedules/{sch}/overrides/remove",
            || Body::Json(json!({"index": 0})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/schedules/{sch}/temporary",
            || Body::Json(schedule_body("x")["temporary"][0].clone()),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/schedules/{sch}/temporary/remove",
            || Body::Json(json!({"index": 0})),
            [200, 200, 200, 403, 401, 401],
        ),
        // Escalation policies likewise: public inside the organisation, viewers read only.
        same(
            "GET",
            "/api/v1/escalation-policies",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/escalation-policies",
            || Body::Json(policy_body(&fresh_name("policy"))),
            [201, 201, 201, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/escalation-policies/{esc}",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/escalation-policies/{esc}/levels",
            || {
                Body::Json(json!({"levels": [{"delay_minutes": 30,
                    "targets": [{"type": "user", "name": "sam"}]}]}))
            },
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/escalation-policies/{esc}/rename",
            || Body::Json(json!({"name": fresh_name("policy")})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/escalation-policies/{esc}/settings",
            || Body::Json(json!({"repeat": 3})),
            [200, 200, 200, 403, 401, 401],
        ),
        // Findings: every account reads them; viewers do not upload or triage.
        same(
            "POST",
            "/api/v1/services/{s}/findings/uploads?phase=code",
            || Body::Raw("application/json", finding_report()),
            [201, 201, 201, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/services/{s}/scans",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/findings",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        // Matching every deployed SBOM again is an operator's act.
        same(
            "POST",
            "/api/v1/findings/rematch",
            no_body,
            [200, 403, 403, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/findings/{f}",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/findings/{f}/accept",
            || {
                Body::Json(
                    json!({"reason": "behind the VPN until the fix ships", "expires_at": in_a_month()}),
                )
            },
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/findings/{f}/false-positive",
            || Body::Json(json!({"reason": "the value is a documented example key"})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/findings/{f}/reopen",
            || Body::Json(json!({"reason": "the compensating control was removed"})),
            [200, 200, 200, 403, 401, 401],
        ),
        // Drills: starting one is a declaration (viewers refused); the playbook list is for
        // every account. On a real incident a tick or a debrief is refused as "not a drill"
        // (422) for whoever may see it, writing nothing; a viewer may not tick.
        same(
            "POST",
            "/api/v1/drills",
            || Body::Json(json!({"scenario": "leaked-cloud-key"})),
            [201, 201, 201, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/playbooks",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        inc(
            "POST",
            "/api/v1/incidents/{i}/drill/tick",
            || Body::Json(json!({})),
            [404, 422, 404, 403, 401, 401],
            [422, 422, 422, 403, 401, 401],
        ),
        inc(
            "GET",
            "/api/v1/incidents/{i}/drill/debrief",
            no_body,
            [404, 422, 404, 422, 401, 401],
            [422, 422, 422, 422, 401, 401],
        ),
        // Teams likewise.
        same(
            "GET",
            "/api/v1/teams",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/teams",
            || Body::Json(json!({"name": fresh_name("team")})),
            [201, 201, 201, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/teams/{team}",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/teams/{team}/members",
            || Body::Json(json!({"user": "sam", "role": "manager"})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/teams/{team}/members/remove",
            || Body::Json(json!({"user": "mia"})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/teams/{team}/rename",
            || Body::Json(json!({"name": fresh_name("team")})),
            [200, 200, 200, 403, 401, 401],
        ),
        // CTF events: organisers (admins) set up, register others and freeze; players (any
        // account) read, and submit and unlock hints only for accounts they are members of
        // (the fixture's event has team "red" with mia).
        same(
            "GET",
            "/api/v1/ctf",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/ctf",
            || Body::Json(ctf_body(&fresh_name("ctf"))),
            [201, 403, 403, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/ctf/{ctf}",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/ctf/{ctf}/scoreboard",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/ctf/{ctf}/accounts",
            || Body::Json(json!({"id": "blue", "name": "Blue", "members": ["sam"]})),
            [200, 403, 403, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/ctf/{ctf}/submissions",
            || Body::Json(json!({"account": "red", "challenge": "c1", "flag": "flag{wrong}"})),
            [403, 200, 403, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/ctf/{ctf}/hints",
            || Body::Json(json!({"account": "red", "challenge": "c1", "hint": 0})),
            [403, 200, 403, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/ctf/{ctf}/freeze",
            || Body::Json(json!({})),
            [200, 403, 403, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/ctf/{ctf}/challenges/c1/attachments/notes.txt",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        // Maturity assessments: every account reads; responders and admins start and push.
        same(
            "GET",
            "/api/v1/assessments",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/assessments",
            || Body::Json(json!({"name": fresh_name("asm"), "kind": "samm"})),
            [201, 201, 201, 403, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/assessments/{asm}",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "GET",
            "/api/v1/assessments/{asm}/file",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/assessments/{asm}/records",
            || Body::Json(json!({"file": answers_file("1")})),
            [200, 200, 200, 403, 401, 401],
        ),
        // A service's ownership: the team and policy named exist (made before the matrix).
        same(
            "POST",
            "/api/v1/services/{s}/owner",
            || Body::Json(json!({"team": "owners"})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services/{s}/escalation-policy",
            || Body::Json(json!({"policy": "owners"})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services/{s}/tier",
            || Body::Json(json!({"tier": 2})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services/{s}/finding-sla",
            || Body::Json(json!({"sla": {"critical": 3, "high": 14, "medium": 60, "low": 90}})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services/{s}/runbooks",
            || Body::Json(json!({"url": "https://wiki.example/runbook"})),
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services/{s}/runbooks/remove",
            || Body::Json(json!({"url": "https://wiki.example/runbook"})),
            [422, 422, 422, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services/{s}/maintenance",
            || {
                Body::Json(json!({"from": "2026-12-10T22:00:00+01:00",
                    "to": "2026-12-11T02:00:00+01:00", "reason": "Database upgrade"}))
            },
            [200, 200, 200, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/services/{s}/maintenance/remove",
            || Body::Json(json!({"n": 1})),
            [422, 422, 422, 403, 401, 401],
        ),
        // How mia is reached: she and admins change it, everyone reads it.
        same(
            "GET",
            "/api/v1/people/mia",
            no_body,
            [200, 200, 200, 200, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/people/mia/contact-methods",
            || {
                Body::Json(json!({"type": "webhook",
                    "address": format!("https://hooks.example/{}", fresh_name("mia"))}))
            },
            [200, 200, 403, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/people/mia/contact-methods/remove",
            || Body::Json(json!({"n": 999})),
            [422, 422, 403, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/people/mia/notification-rules",
            || {
                let n = fresh_name("m");
                let minutes: u32 = n.trim_start_matches("m-").parse().unwrap();
                Body::Json(json!({"contact": 1, "after_minutes": minutes % 1440}))
            },
            [200, 200, 403, 403, 401, 401],
        ),
        same(
            "POST",
            "/api/v1/people/mia/notification-rules/remove",
            || Body::Json(json!({"n": 999})),
            [422, 422, 403, 403, 401, 401],
        ),
        same("GET", "/metrics", no_body, [200, 200, 200, 200, 401, 401]),
        same("GET", "/healthz", no_body, [200, 200, 200, 200, 200, 200]),
        same(
            "GET",
            "/api/v1/openapi.json",
            no_body,
            [200, 200, 200, 200, 200, 200],
        ),
    ]
}

/// An integration called `prometheus` on `service`; its routing key.
async fn integration(srv: &Server, cast: &Cast, service: &str) -> String {
    let r = srv
        .post(
            &format!("/api/v1/services/{service}/integrations"),
            &cast.admin,
            json!({"name": "prometheus"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.body["routing_key"].as_str().unwrap().to_string()
}

/// A triggered alert on a new service; its id.
async fn alert(srv: &Server, cast: &Cast) -> String {
    let service = fresh_name("alerting");
    let r = srv
        .post("/api/v1/services", &cast.admin, json!({"name": service}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let key = integration(srv, cast, &service).await;
    let r = srv
        .call(
            "POST",
            "/v2/enqueue",
            None,
            Body::Json(
                json!({"routing_key": key, "event_action": "trigger", "dedup_key": "matrix",
                "payload": {"summary": "matrix", "source": "test", "severity": "error"}}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let r = srv
        .get(&format!("/api/v1/alerts?service={service}"), &cast.admin)
        .await;
    r.body["alerts"][0]["id"].as_str().unwrap().to_string()
}

/// A schedule `name` of mia's: a weekly layer, an override and a temporary schedule.
fn schedule_body(name: &str) -> Value {
    json!({
        "name": name,
        "time_zone": "Europe/Berlin",
        "layers": [{"participants": ["mia"], "rotation": {"unit": "weekly", "length": 1},
                    "start": "2026-11-30T09:00:00+01:00"}],
        "overrides": [{"type": "add", "user": "mia", "from": "2026-12-01T00:00:00Z",
                       "to": "2026-12-02T00:00:00Z"}],
        "temporary": [{"from": "2026-12-24T00:00:00Z", "to": "2026-12-25T00:00:00Z",
                       "shifts": [{"user": "mia", "from": "2026-12-24T00:00:00Z",
                                   "to": "2026-12-25T00:00:00Z"}]}],
    })
}

/// An escalation policy `name` paging mia after five minutes.
fn policy_body(name: &str) -> Value {
    json!({"name": name, "levels": [{"delay_minutes": 5,
        "targets": [{"type": "user", "name": "mia"}]}]})
}

/// A SAMM answers file with one answer.
fn answers_file(value: &str) -> String {
    format!(
        "format: 1\nmodel: {{ kind: samm, version: \"2.0\" }}\nassessments:\n  - date: \"2026-03-01\"\n    answers:\n      G-SM-A-1: {value}\n"
    )
}

/// A running CTF event (an hour each way) with one challenge whose flag is stored hashed,
/// whose one hint is free and which hands out one file.
fn ctf_body(name: &str) -> Value {
    let at = |h: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::hours(h))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let salt = [7u8; 8];
    let toml = format!(
        "id = \"c1\"\nname = \"First\"\ncategory = \"web\"\ndescription = \"x\"\nvalue = 100\nattachments = [\"notes.txt\"]\n[[hints]]\ntext = \"free hint\"\ncost = 0\n[[flags]]\ntype = \"static\"\nsalt = \"{}\"\nsha256 = \"{}\"\n",
        hex::encode(salt),
        palisade_training::ctf::challenge::hash_flag(&salt, "flag{right}", true)
    );
    json!({"name": name, "start": at(-1), "end": at(1), "mode": "teams",
           "challenges": [{"file": "c1.toml", "toml": toml,
               "attachments": [{"name": "notes.txt", "content_base64": "dGhlIG5vdGVzCg=="}]}]})
}

/// A name no other call of this test uses.
/// A SARIF report with one result (rule R1).
fn finding_report() -> Vec<u8> {
    serde_json::to_vec(
        &json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep"}},
        "results": [{"ruleId": "R1", "level": "error", "message": {"text": "injection"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app.py"}}}]}]}]}),
    )
    .unwrap()
}

/// A time thirty days ahead.
fn in_a_month() -> String {
    palisade_core::Timestamp::from_datetime(
        time::OffsetDateTime::now_utc() + time::Duration::days(30),
    )
    .to_string()
}

/// A finding (rule R1) of a new service, its risk accepted: every triage command applies.
async fn accepted_finding(srv: &Server, cast: &Cast) -> String {
    let service = fresh_name("findings");
    let r = srv
        .post("/api/v1/services", &cast.admin, json!({"name": service}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = srv
        .call(
            "POST",
            &format!("/api/v1/services/{service}/findings/uploads?phase=code"),
            Some(&cast.admin),
            Body::Raw("application/json", finding_report()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.body["opened"][0].as_str().unwrap().to_string();
    let r = srv
        .post(
            &format!("/api/v1/findings/{id}/accept"),
            &cast.admin,
            json!({"reason": "accepted for the matrix's commands", "expires_at": in_a_month()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    id
}

fn fresh_name(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Problem details with the incident reference (and the request's own id) blanked out, to
/// compare a hidden incident's 404 with an unknown one's.
fn normalized(body: &Value, reference: &str) -> Value {
    let text = serde_json::to_string(body).unwrap();
    let mut v: Value = serde_json::from_str(&text.replace(reference, "REF")).unwrap();
    if let Some(o) = v.as_object_mut() {
        o.remove("request_id");
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_for_every_caller_on_restricted_and_open_incidents() {
    let be = sqlite().await;
    let srv = serve(&be.config(None)).await;
    let cast = Cast::new(&srv).await;
    let shared_restricted = fixture(&srv, &cast, true).await;
    let shared_open = fixture(&srv, &cast, false).await;
    // What services' ownership rows name.
    // mia's first contact method, which the notification rules rows name.
    let r = srv
        .post(
            "/api/v1/people/mia/contact-methods",
            &cast.admin,
            json!({"type": "email", "address": "mia@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = srv
        .post("/api/v1/teams", &cast.admin, json!({"name": "owners"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = srv
        .post(
            "/api/v1/escalation-policies",
            &cast.admin,
            policy_body("owners"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());

    // Every route of the router is in the table (checked against the OpenAPI document, which
    // documents each handler; openapi.json itself is the one undocumented route).
    let rows = routes();
    let doc = srv
        .call("GET", "/api/v1/openapi.json", None, Body::None)
        .await
        .body;
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        // The Events API (`/v2/…`) and Alertmanager's webhook take no caller's token: the routing key in the body is its
        // credential, and it answers as PagerDuty does; tests/alerts.rs covers it.
        if palisade_server::routes::alerts::is_intake_path(path) {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    for (method, path) in &documented {
        let covered = rows.iter().any(|r| {
            let template = r
                .path
                .split('?')
                .next()
                .unwrap()
                .replace("{i}", "{incident}")
                .replace("{tok}", "{id}")
                .replace("{s}", "{service}")
                .replace("{int}", "{integration}")
                .replace("{a}", "{alert}")
                .replace("00000000-0000-4000-8000-000000000000", "{id}")
                .replace("{sch}", "{schedule}")
                .replace("{esc}", "{policy}")
                .replace("{f}", "{finding}")
                .replace("{asm}", "{assessment}")
                .replace("/people/mia", "/people/{user}")
                .replace("steps/1/start", "steps/{step}/{action}")
                .replace("steps/1/done", "steps/{step}/{action}")
                .replace("steps/3/waive", "steps/{step}/{action}")
                .replace("/E1", "/{evidence}")
                .replace("statements/1/", "statements/{statement}/")
                .replace("action-items/1/", "action-items/{item}/")
                .replace(
                    "/challenges/c1/attachments/notes.txt",
                    "/challenges/{challenge}/attachments/{name}",
                );
            r.method == method && &template == path
        });
        assert!(covered, "the matrix lacks {method} {path}");
    }
    assert_eq!(
        documented.len(),
        117,
        "routes were added: extend the matrix"
    );

    let mut cells = 0;
    let mut mismatches: Vec<String> = Vec::new();
    for row in &rows {
        for restricted in [true, false] {
            let want_row = if restricted { row.restricted } else { row.open };
            for (col, caller) in CALLERS.iter().enumerate() {
                let want = StatusCode::from_u16(want_row[col]).unwrap();
                let token = cast.column(col);
                // A cell that changes state gets an incident of its own, so no cell's outcome
                // depends on another's. The others share one, which a refused cell must leave
                // unchanged (successful reads of the restricted one append access events,
                // which change no other cell's outcome; section 2 counts them).
                let writes = row.method != "GET" && want.is_success();
                let fx = if writes && row.path.contains("{i}") {
                    fixture(&srv, &cast, restricted).await
                } else if restricted {
                    shared_restricted.clone()
                } else {
                    shared_open.clone()
                };
                let mut path = row.path.replace("{i}", &fx.codename);
                if path.contains("{s}") {
                    let r = srv
                        .post(
                            "/api/v1/services",
                            &cast.admin,
                            json!({"name": fresh_name("matrix")}),
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
                    let service = r.body["name"].as_str().unwrap().to_string();
                    path = path.replace("{s}", &service);
                    if path.contains("{int}") {
                        integration(&srv, &cast, &service).await;
                        path = path.replace("{int}", "prometheus");
                    }
                }
                if path.contains("{f}") {
                    path = path.replace("{f}", &accepted_finding(&srv, &cast).await);
                }
                if path.contains("{a}") {
                    path = path.replace("{a}", &alert(&srv, &cast).await);
                }
                if path.contains("{asm}") {
                    let asm = fresh_name("asm");
                    let r = srv
                        .post(
                            "/api/v1/assessments",
                            &cast.admin,
                            json!({"name": asm, "kind": "samm"}),
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
                    let r = srv
                        .post(
                            &format!("/api/v1/assessments/{asm}/records"),
                            &cast.admin,
                            json!({"file": answers_file("0.5")}),
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
                    path = path.replace("{asm}", &asm);
                }
                if path.contains("{ctf}") {
                    let event = fresh_name("ctf");
                    let r = srv.post("/api/v1/ctf", &cast.admin, ctf_body(&event)).await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
                    let r = srv
                        .post(
                            &format!("/api/v1/ctf/{event}/accounts"),
                            &cast.admin,
                            json!({"id": "red", "name": "Red", "members": ["mia"]}),
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
                    path = path.replace("{ctf}", &event);
                }
                if path.contains("{team}") {
                    let team = fresh_name("team");
                    let r = srv
                        .post("/api/v1/teams", &cast.admin, json!({"name": team}))
                        .await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
                    let r = srv
                        .post(
                            &format!("/api/v1/teams/{team}/members"),
                            &cast.admin,
                            json!({"user": "mia"}),
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
                    path = path.replace("{team}", &team);
                }
                if path.contains("{esc}") {
                    let r = srv
                        .post(
                            "/api/v1/escalation-policies",
                            &cast.admin,
                            policy_body(&fresh_name("policy")),
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
                    path = path.replace("{esc}", r.body["name"].as_str().unwrap());
                }
                if path.contains("{sch}") {
                    let r = srv
                        .post(
                            "/api/v1/schedules",
                            &cast.admin,
                            schedule_body(&fresh_name("sched")),
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
                    path = path.replace("{sch}", r.body["name"].as_str().unwrap());
                }
                let mut throwaway = None;
                if path.contains("{tok}") {
                    let t = srv.token("temp", "viewer").await;
                    path = path.replace("{tok}", &srv.token_id(&t).await);
                    throwaway = Some(t);
                }
                let id = fx.id.parse().unwrap();
                let before = srv.ledger(id).await.len();
                let what = format!(
                    "{} {} as {caller} on a{} incident",
                    row.method,
                    row.path,
                    if restricted { " restricted" } else { "n open" }
                );
                let r = srv.call(row.method, &path, token, (row.body)()).await;
                cells += 1;
                if r.status != want {
                    // Collect every wrong cell, so one run shows the whole picture.
                    mismatches.push(format!(
                        "{what}: got {}, want {want}: {}",
                        r.status,
                        r.text()
                    ));
                    continue;
                }
                let after = srv.ledger(id).await.len();
                if !want.is_success() {
                    assert_problem(&r, want, &what);
                    assert_eq!(
                        after, before,
                        "{what}: a refused request wrote to the ledger"
                    );
                    if let Some(t) = &throwaway {
                        assert_eq!(
                            srv.get("/api/v1/me", t).await.status,
                            StatusCode::OK,
                            "{what}: the token survived"
                        );
                    }
                }
                if want == StatusCode::NOT_FOUND {
                    // Indistinguishable from an incident that does not exist, by codename or id.
                    for (real, ghost) in [
                        (fx.codename.as_str(), "quiet-nowhere"),
                        (fx.id.as_str(), "01890000-0000-7000-8000-000000000000"),
                    ] {
                        let p = row.path.replace("{i}", real);
                        let r = srv.call(row.method, &p, token, (row.body)()).await;
                        let g = srv
                            .call(
                                row.method,
                                &row.path.replace("{i}", ghost),
                                token,
                                (row.body)(),
                            )
                            .await;
                        assert_problem(&g, StatusCode::NOT_FOUND, &what);
                        assert_eq!(
                            normalized(&r.body, real),
                            normalized(&g.body, ghost),
                            "{what}: a hidden incident answers unlike an unknown one"
                        );
                        assert!(!r.text().contains(&fx.title), "{what}: the title leaked");
                    }
                    assert_eq!(srv.ledger(id).await.len(), before, "{what}");
                }
                if want.is_success() {
                    check_success_body(&r, row, &fx, caller, &what);
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {cells} cells differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(cells, rows.len() * 12);

    // A viewer who is not a member: reads of the restricted incident are 404 like an unknown
    // incident's; writes are refused for the account (403) before any lookup, for a hidden
    // incident exactly as for an unknown one.
    let val = srv.token("val", "viewer").await;
    let fx = &shared_restricted;
    let id = fx.id.parse().unwrap();
    for row in rows.iter().filter(|r| r.path.contains("{i}")) {
        let want = if row.method == "GET" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        let what = format!("{} {} as a non-member viewer", row.method, row.path);
        let before = srv.ledger(id).await.len();
        let p = row.path.replace("{i}", &fx.codename);
        let r = srv.call(row.method, &p, Some(&val), (row.body)()).await;
        assert_problem(&r, want, &what);
        let g = srv
            .call(
                row.method,
                &row.path.replace("{i}", "quiet-nowhere"),
                Some(&val),
                (row.body)(),
            )
            .await;
        assert_eq!(
            normalized(&r.body, &fx.codename),
            normalized(&g.body, "quiet-nowhere"),
            "{what}"
        );
        assert_eq!(srv.ledger(id).await.len(), before, "{what}");
    }
}

/// A successful answer carries what was asked for.
fn check_success_body(r: &Resp, row: &Route, fx: &Fixture, caller: &str, what: &str) {
    let path = row.path.split('?').next().unwrap();
    match (row.method, path) {
        ("GET", "/api/v1/incidents") => assert!(r.body["incidents"].is_array(), "{what}"),
        ("POST", "/api/v1/incidents") => assert_eq!(r.body["title"], "another one", "{what}"),
        ("GET", "/api/v1/tokens") => {
            assert!(r.body.as_array().is_some_and(|a| a.len() >= 5), "{what}")
        }
        ("POST", "/api/v1/tokens") => {
            assert!(
                r.body["token"].as_str().unwrap().starts_with("pal_"),
                "{what}"
            )
        }
        ("POST", "/api/v1/password-links") => {
            assert!(
                r.body["path"]
                    .as_str()
                    .unwrap()
                    .starts_with("/welcome/pwl_"),
                "{what}"
            )
        }
        ("DELETE", _) => assert!(r.bytes.is_empty(), "{what}"),
        ("GET", "/api/v1/me") => {
            let user = match caller {
                "admin" => "admin",
                "member" => "mia",
                "viewer" => "vic",
                _ => "rita",
            };
            assert_eq!(r.body["user"], user, "{what}");
        }
        ("GET", "/metrics") => assert!(r.text().contains("palisade_build_info"), "{what}"),
        ("GET", "/healthz") => assert_eq!(r.body["status"], "ok", "{what}"),
        ("GET", "/api/v1/openapi.json") => assert!(r.body["paths"].is_object(), "{what}"),
        ("GET", "/api/v1/incidents/{i}/evidence/E1/content") => {
            assert_eq!(r.bytes, EVIDENCE, "{what}")
        }
        ("GET", "/api/v1/incidents/{i}/export") => {
            assert_eq!(r.headers["content-type"], "application/x-tar", "{what}");
            let text = r.text();
            assert!(
                text.contains(&fx.id),
                "{what}: the bundle names its incident"
            );
            assert!(
                r.bytes.windows(EVIDENCE.len()).any(|w| w == EVIDENCE),
                "{what}: the bundle carries the evidence"
            );
        }
        ("GET", "/api/v1/services") => assert!(r.body["services"].is_array(), "{what}"),
        ("GET", "/api/v1/alerts") => assert!(r.body["alerts"].is_array(), "{what}"),
        ("GET", "/api/v1/deliveries") => assert!(r.body["deliveries"].is_array(), "{what}"),
        ("GET", "/api/v1/alerts/{a}") => assert_eq!(r.body["status"], "triggered", "{what}"),
        ("POST", "/api/v1/alerts/{a}/acknowledge") => {
            assert_eq!(r.body["status"], "acknowledged", "{what}")
        }
        ("POST", "/api/v1/alerts/{a}/promote") => {
            assert!(r.body["codename"].is_string(), "{what}");
            assert_eq!(r.body["alert"]["promoted"], true, "{what}");
        }
        ("POST", "/api/v1/alerts/{a}/resolve") => {
            assert_eq!(r.body["status"], "resolved", "{what}")
        }
        ("POST", "/api/v1/services/{s}/integrations") => {
            assert_eq!(
                r.body["routing_key"].as_str().map(str::len),
                Some(32),
                "{what}"
            )
        }
        ("GET", "/api/v1/services/{s}/changes") => {
            assert!(r.body["changes"].is_array(), "{what}")
        }
        ("POST", "/api/v1/services") | ("POST", "/api/v1/services/{s}/rename") => {
            assert!(
                r.body["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("svc-") || n.starts_with("renamed-")),
                "{what}: {}",
                r.text()
            );
        }
        ("GET", "/api/v1/schedules") => assert!(r.body["schedules"].is_array(), "{what}"),
        ("GET", "/api/v1/schedules/{sch}/oncall") => {
            assert_eq!(r.body["users"], json!(["mia"]), "{what}")
        }
        ("GET", "/api/v1/schedules/{sch}/shifts") => {
            assert!(!r.body["shifts"].as_array().unwrap().is_empty(), "{what}")
        }
        ("GET", "/api/v1/escalation-policies") => {
            assert!(r.body["escalation_policies"].is_array(), "{what}")
        }
        ("GET", "/api/v1/teams") => assert!(r.body["teams"].is_array(), "{what}"),
        ("POST", "/api/v1/drills") => {
            assert_eq!(
                r.body["incident"]["drill"]["scenario"], "leaked-cloud-key",
                "{what}"
            )
        }
        ("GET", "/api/v1/playbooks") => assert!(r.body["playbooks"].is_array(), "{what}"),
        (_, p) if p.starts_with("/api/v1/people/mia") => {
            assert_eq!(r.body["user"], "mia", "{what}");
            let addresses = r.body["contact_methods"].to_string();
            if caller == "admin" || caller == "member" {
                assert!(addresses.contains("mia@example.com"), "{what}: {addresses}");
            } else {
                assert!(
                    !addresses.contains("hooks.example/mia"),
                    "{what}: {addresses}"
                );
            }
        }
        ("GET", "/api/v1/assessments") => {
            assert!(r.body["assessments"].is_array(), "{what}")
        }
        ("GET", "/api/v1/assessments/{asm}/file") => {
            assert!(r.text().starts_with("format: 1"), "{what}: {}", r.text())
        }
        (_, p) if p.starts_with("/api/v1/assessments") => {
            assert!(
                r.body["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("asm-")),
                "{what}: {}",
                r.text()
            );
        }
        ("GET", "/api/v1/ctf") => assert!(r.body["events"].is_array(), "{what}"),
        ("GET", p) if p.contains("/attachments/") => assert_eq!(r.text(), "the notes\n", "{what}"),
        ("GET", "/api/v1/ctf/{ctf}/scoreboard") => {
            assert_eq!(r.body["view"], "public", "{what}");
            assert_eq!(r.body["standings"][0]["account"], "red", "{what}");
        }
        (_, p) if p.starts_with("/api/v1/ctf") => {
            assert!(
                r.body["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("ctf-")),
                "{what}: {}",
                r.text()
            );
            // Players never see a flag, a wrong answer or a hint they did not pay for.
            for secret in ["sha256", "salt", "flag{wrong}"] {
                assert!(
                    !r.text().contains(secret),
                    "{what}: {secret} in {}",
                    r.text()
                );
            }
        }
        (_, p) if p.starts_with("/api/v1/teams") => {
            assert!(
                r.body["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("team-")),
                "{what}: {}",
                r.text()
            );
        }
        (_, p) if p.starts_with("/api/v1/escalation-policies") => {
            assert!(
                r.body["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("policy-")),
                "{what}: {}",
                r.text()
            );
        }
        (_, p) if p.starts_with("/api/v1/schedules") => {
            assert!(
                r.body["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("sched-")),
                "{what}: {}",
                r.text()
            );
        }
        ("POST", "/api/v1/services/{s}/findings/uploads") => {
            assert_eq!(r.body["new"], 1, "{what}: {}", r.text())
        }
        ("GET", "/api/v1/services/{s}/scans") => assert!(r.body["scans"].is_array(), "{what}"),
        ("GET", "/api/v1/findings") => assert!(r.body["total"].as_u64() > Some(0), "{what}"),
        ("POST", "/api/v1/findings/rematch") => {
            assert_eq!(
                r.body["index"], false,
                "{what}: no index in this data directory"
            )
        }
        (_, p) if p.starts_with("/api/v1/findings/{f}") => {
            assert_eq!(r.body["rule"], "R1", "{what}: {}", r.text())
        }
        ("POST", p) if p.starts_with("/api/v1/services/{s}/") => {
            assert!(
                r.body["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("matrix-")),
                "{what}: {}",
                r.text()
            );
        }
        ("GET", "/api/v1/services/{s}") => {
            assert!(
                r.body["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("matrix-")),
                "{what}: {}",
                r.text()
            );
        }
        ("GET", "/api/v1/incidents/{i}/events") => {
            assert_eq!(r.body["incident"], fx.id.as_str(), "{what}");
            assert!(r.body["events"].as_array().unwrap().len() >= 7, "{what}");
        }
        ("GET", "/api/v1/incidents/{i}/changes") => {
            assert_eq!(r.body["incident"], fx.id.as_str(), "{what}");
            assert!(r.body["changes"].is_array(), "{what}");
        }
        _ => {
            // Incident views, evidence views, lists and break-glass all name the incident.
            assert!(
                r.text().contains(&fx.codename),
                "{what}: {} does not name {}",
                r.text(),
                fx.codename
            );
            assert_eq!(r.headers["content-type"], "application/json", "{what}");
            if path.ends_with("/break-glass") {
                assert_eq!(r.body["notified"], "mia", "{what}");
                assert!(fx.restricted);
            }
        }
    }
}

/// The list endpoint (with every filter), counts and the metrics text never show a restricted
/// incident to a non-member, on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_counts_and_metrics_never_show_a_restricted_incident_to_non_members() {
    for be in backends().await {
        let srv = serve(&be.config(None)).await;
        let cast = Cast::new(&srv).await;
        let open = fixture(&srv, &cast, false).await;
        let hidden = fixture(&srv, &cast, true).await;
        // The restricted one is the most recently active, so a limit of 1 would show it first
        // if the filter were applied after the limit.
        let r = srv
            .post(
                &format!("/api/v1/incidents/{}/notes", hidden.codename),
                &cast.member,
                json!({"text": "latest"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        // Non-members probe it by every path they have (each answers 404 or 403, tested above).
        for token in [&cast.admin, &cast.outsider] {
            for reference in [&hidden.codename, &hidden.id] {
                srv.get(&format!("/api/v1/incidents/{reference}"), token)
                    .await;
                srv.get(&format!("/api/v1/incidents/{reference}/evidence/E1"), token)
                    .await;
            }
        }
        let leaks = |text: &str| {
            [&hidden.codename, &hidden.id, &hidden.title]
                .into_iter()
                .filter(|s| text.contains(s.as_str()))
                .count()
        };
        for (who, token) in [("admin", &cast.admin), ("rita", &cast.outsider)] {
            for query in [
                "",
                "?limit=1",
                "?limit=1000",
                "?kind=security",
                "?severity=SEV-2",
                "?status=declared",
                "?status=declared&severity=SEV-2&kind=security&limit=5",
            ] {
                let r = srv.get(&format!("/api/v1/incidents{query}"), token).await;
                assert_eq!(r.status, StatusCode::OK, "{}: {}", be.name, r.text());
                let items = r.body["incidents"].as_array().unwrap();
                assert_eq!(items.len(), 1, "{} {who} {query}: {}", be.name, r.text());
                assert_eq!(items[0]["id"], open.id.as_str());
                assert_eq!(
                    leaks(&r.text()),
                    0,
                    "{} {who} {query}: {}",
                    be.name,
                    r.text()
                );
            }
        }
        // Members see both; viewers who are members too.
        for token in [&cast.member, &cast.viewer] {
            let r = srv.get("/api/v1/incidents", token).await;
            let ids: Vec<&str> = r.body["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap())
                .collect();
            assert_eq!(
                ids,
                vec![hidden.id.as_str(), open.id.as_str()],
                "{}",
                be.name
            );
            let r = srv.get("/api/v1/incidents?limit=1", token).await;
            assert_eq!(r.body["incidents"][0]["id"], hidden.id.as_str());
        }
        // The metrics text, read by anyone, carries route templates, never references.
        let r = srv.get("/metrics", &cast.outsider).await;
        assert_eq!(r.status, StatusCode::OK);
        let text = r.text();
        assert_eq!(leaks(&text), 0, "{}: {text}", be.name);
        assert!(!text.contains(&open.codename), "{}: {text}", be.name);
        assert!(
            text.contains("route=\"/api/v1/incidents/{incident}\",status=\"404\""),
            "{}: {text}",
            be.name
        );
        assert!(
            text.contains(
                "route=\"/api/v1/incidents/{incident}/evidence/{evidence}\",status=\"404\""
            ),
            "{}: {text}",
            be.name
        );
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let labels = line.split_once('{').map_or("", |(_, rest)| rest);
            for value in labels.split('"').skip(1).step_by(2) {
                assert!(
                    !palisade_core::codename::looks_like_codename(value),
                    "{}: a metric label looks like a codename: {line}",
                    be.name
                );
                assert!(uuid::Uuid::parse_str(value).is_err(), "{line}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Recorded reads

/// `(type, what)` of each event after the first `from`, as a member's `/events` shows them.
fn tail(events: &Value, from: usize) -> Vec<(String, String, String)> {
    events["events"].as_array().unwrap()[from..]
        .iter()
        .map(|e| {
            (
                event_type(e).to_string(),
                e["event"]["data"]["what"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                e["event"]["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `(event type, what)` of the events a read appends.
type Records = Vec<(&'static str, &'static str)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_of_a_restricted_incident_is_recorded_once_and_open_ones_never() {
    let be = sqlite().await;
    let srv = serve(&be.config(None)).await;
    let cast = Cast::new(&srv).await;
    let hidden = fixture(&srv, &cast, true).await;
    let open = fixture(&srv, &cast, false).await;
    // (path, what a restricted incident records, what an open one records) — `accessed` events
    // carry what was read; custody and export events are recorded for every incident.
    let reads: Vec<(&str, Records, Records)> = vec![
        ("", vec![("accessed", "incident")], vec![]),
        ("/events", vec![("accessed", "ledger events")], vec![]),
        ("/changes", vec![("accessed", "changes")], vec![]),
        ("/evidence", vec![("accessed", "evidence list")], vec![]),
        (
            "/evidence/E1",
            vec![("accessed", "evidence E1 custody")],
            vec![],
        ),
        (
            // The download, then its outcome, recorded before its last byte is sent.
            "/evidence/E1/content?purpose=timeline",
            vec![("evidence_accessed", ""), ("evidence_access_verified", "")],
            vec![("evidence_accessed", ""), ("evidence_access_verified", "")],
        ),
        (
            "/export?purpose=counsel",
            vec![("accessed", "export"), ("exported", "")],
            vec![("exported", "")],
        ),
        (
            "/export?purpose=counsel&evidence=true",
            vec![
                ("accessed", "export"),
                ("evidence_exported", ""),
                ("exported", ""),
            ],
            vec![("evidence_exported", ""), ("exported", "")],
        ),
    ];
    for fx in [&hidden, &open] {
        let events = format!("/api/v1/incidents/{}/events", fx.codename);
        let id = fx.id.parse().unwrap();
        for (reader, token) in [("mia", &cast.member), ("vic", &cast.viewer)] {
            for (path, restricted_records, open_records) in &reads {
                let expected = if fx.restricted {
                    restricted_records
                } else {
                    open_records
                };
                let before = srv.get(&events, &cast.member).await;
                let n = before.body["events"].as_array().unwrap().len();
                let stored_before = srv.ledger(id).await.len();
                assert_eq!(stored_before, n, "the ledger view is the whole ledger");
                let r = srv
                    .get(&format!("/api/v1/incidents/{}{path}", fx.codename), token)
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
                assert_eq!(
                    srv.ledger(id).await.len(),
                    stored_before + expected.len(),
                    "{path} by {reader}"
                );
                let after = srv.get(&events, &cast.member).await;
                let mut want: Vec<(String, String, String)> = expected
                    .iter()
                    .map(|(t, w)| (t.to_string(), w.to_string(), reader.to_string()))
                    .collect();
                if fx.restricted {
                    // The member's own read of the ledger is recorded too, before it is shown.
                    want.push(("accessed".into(), "ledger events".into(), "mia".into()));
                }
                assert_eq!(
                    tail(&after.body, n),
                    want,
                    "{path} read by {reader} (restricted: {})",
                    fx.restricted
                );
                for e in &after.body["events"].as_array().unwrap()[n..] {
                    if event_type(e) == "accessed" {
                        assert_eq!(e["event"]["data"]["via"], "api");
                    }
                }
            }
        }
        // The fold counts recorded reads.
        let st = srv.fold(id).await;
        if fx.restricted {
            assert!(st.reads > 0);
        } else {
            assert_eq!(st.reads, 0, "open incidents record no reads");
            assert!(
                !srv.ledger(id)
                    .await
                    .iter()
                    .any(|e| e.data.kind() == "accessed"),
                "an open incident has no accessed events"
            );
        }
    }

    // A non-member's 404 records nothing, by codename or id, on every read path; nor does a
    // member's failed read.
    let id = hidden.id.parse().unwrap();
    let before = srv.ledger(id).await.len();
    for token in [&cast.admin, &cast.outsider] {
        for reference in [&hidden.codename, &hidden.id] {
            for (path, _, _) in &reads {
                let r = srv
                    .get(&format!("/api/v1/incidents/{reference}{path}"), token)
                    .await;
                assert_problem(&r, StatusCode::NOT_FOUND, path);
            }
        }
    }
    for path in [
        "/evidence/E9",
        "/evidence/E9/content?purpose=x",
        "/evidence/E1/content",
        "/export?purpose=x&evidence=maybe",
    ] {
        let r = srv
            .get(
                &format!("/api/v1/incidents/{}{path}", hidden.codename),
                &cast.member,
            )
            .await;
        assert!(r.status.is_client_error(), "{path}: {}", r.text());
    }
    assert_eq!(srv.ledger(id).await.len(), before, "failed reads recorded");
}

// ---------------------------------------------------------------------------------------------
// 3. Break-glass

fn now() -> Timestamp {
    Timestamp::from_datetime(time::OffsetDateTime::now_utc())
}

fn plus(t: Timestamp, d: time::Duration) -> Timestamp {
    Timestamp::from_datetime(t.utc() + d)
}

/// (what, incident, token, body, status, rule)
type Refusal<'a> = (
    &'a str,
    &'a Fixture,
    &'a str,
    Value,
    StatusCode,
    Option<&'a str>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_is_for_admin_non_members_with_a_reason_is_recorded_and_expires() {
    let be = sqlite().await;
    let srv = serve(&be.config(None)).await;
    let cast = Cast::new(&srv).await;
    let ada = srv.token("ada", "admin").await;
    let hidden = fixture(&srv, &cast, true).await;
    let open = fixture(&srv, &cast, false).await;
    let r = srv
        .post(
            &format!("/api/v1/incidents/{}/roles", hidden.codename),
            &cast.member,
            json!({"user": "ada", "role": "deputy"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let id: uuid::Uuid = hidden.id.parse().unwrap();
    let bg = |fx: &Fixture| format!("/api/v1/incidents/{}/break-glass", fx.codename);
    let reason = "Counsel needs the timeline for a legal hold";

    // Refusals: nothing recorded, nothing queued.
    let before = srv.ledger(id).await.len();
    let refusals: Vec<Refusal<'_>> = vec![
        (
            "responder",
            &hidden,
            &cast.outsider,
            json!({"reason": reason}),
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            "viewer",
            &hidden,
            &cast.viewer,
            json!({"reason": reason}),
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            "member responder",
            &hidden,
            &cast.member,
            json!({"reason": reason}),
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            "admin member",
            &hidden,
            &ada,
            json!({"reason": reason}),
            StatusCode::FORBIDDEN,
            Some("break-glass"),
        ),
        (
            "open incident",
            &open,
            &cast.admin,
            json!({"reason": reason}),
            StatusCode::FORBIDDEN,
            Some("break-glass"),
        ),
        (
            "no reason",
            &hidden,
            &cast.admin,
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "empty reason",
            &hidden,
            &cast.admin,
            json!({"reason": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid-input"),
        ),
        (
            "blank reason",
            &hidden,
            &cast.admin,
            json!({"reason": " \n "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid-input"),
        ),
        (
            "control characters",
            &hidden,
            &cast.admin,
            json!({"reason": "legal hold \u{7} request today"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid-input"),
        ),
        // Not a written reason: refused by the break-glass rule.
        (
            "two words",
            &hidden,
            &cast.admin,
            json!({"reason": "need access"}),
            StatusCode::FORBIDDEN,
            Some("break-glass"),
        ),
        (
            "zero minutes",
            &hidden,
            &cast.admin,
            json!({"reason": reason, "minutes": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid-input"),
        ),
        (
            "481 minutes",
            &hidden,
            &cast.admin,
            json!({"reason": reason, "minutes": 481}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid-input"),
        ),
        (
            "negative minutes",
            &hidden,
            &cast.admin,
            json!({"reason": reason, "minutes": -5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "fractional minutes",
            &hidden,
            &cast.admin,
            json!({"reason": reason, "minutes": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "minutes as text",
            &hidden,
            &cast.admin,
            json!({"reason": reason, "minutes": "ten"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
    ];
    for (what, fx, token, body, status, rule) in refusals {
        let r = srv.post(&bg(fx), token, body).await;
        assert_problem(&r, status, what);
        assert_eq!(r.body["rule"].as_str(), rule, "{what}: {}", r.text());
    }
    let r = srv
        .post(
            "/api/v1/incidents/quiet-nowhere/break-glass",
            &cast.admin,
            json!({"reason": reason}),
        )
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND, "unknown incident");
    assert_eq!(
        srv.ledger(id).await.len(),
        before,
        "a refused break-glass wrote"
    );
    assert_eq!(
        srv.ledger(open.id.parse().unwrap())
            .await
            .iter()
            .filter(|e| e.data.kind() == "break_glass")
            .count(),
        0
    );
    assert_eq!(
        srv.pending().await,
        0,
        "a refused break-glass queued a notification"
    );

    // Before: the admin sees nothing.
    let show = format!("/api/v1/incidents/{}", hidden.codename);
    assert_problem(
        &srv.get(&show, &cast.admin).await,
        StatusCode::NOT_FOUND,
        "before",
    );

    // Granted, for 45 minutes.
    let t0 = now();
    let r = srv
        .post(
            &bg(&hidden),
            &cast.admin,
            json!({"reason": format!("  {reason}  "), "minutes": 45}),
        )
        .await;
    let t1 = now();
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.body["incident"], hidden.id.as_str());
    assert_eq!(r.body["codename"], hidden.codename.as_str());
    assert_eq!(r.body["reason"], reason, "the reason is trimmed");
    assert_eq!(r.body["notified"], "mia", "the IC is the one told");
    let until = Timestamp::parse(r.body["until"].as_str().unwrap()).unwrap();
    let minutes = time::Duration::minutes(45);
    assert!(
        plus(t0, minutes - time::Duration::seconds(1)) <= until && until <= plus(t1, minutes),
        "until {until} is 45 minutes after {t0}…{t1}"
    );
    assert_eq!(
        srv.pending().await,
        1,
        "the notification waits in the outbox"
    );

    // The grant is in the ledger, with reason and until, as the admin did it.
    let ledger = srv.get(&format!("{show}/events"), &cast.member).await.body;
    let grants: Vec<&Value> = ledger["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| event_type(e) == "break_glass")
        .collect();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["event"]["actor"], "admin");
    assert_eq!(grants[0]["event"]["data"]["reason"], reason);
    assert_eq!(grants[0]["event"]["data"]["until"], r.body["until"]);

    // Until it expires the admin reads (each read recorded as the admin's), and only reads.
    let reads_before = srv.fold(id).await.reads;
    for path in [
        "",
        "/events",
        "/evidence",
        "/evidence/E1",
        "/export?purpose=review",
    ] {
        let r = srv.get(&format!("{show}{path}"), &cast.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        assert!(r.text().contains(&hidden.id) || r.text().contains(&hidden.codename));
    }
    let r = srv
        .get(
            &format!("{show}/evidence/E1/content?purpose=review"),
            &cast.admin,
        )
        .await;
    assert_eq!(r.bytes, EVIDENCE);
    let st = srv.fold(id).await;
    assert_eq!(st.reads, reads_before + 5);
    let admin_reads = srv
        .ledger(id)
        .await
        .iter()
        .filter(|e| {
            e.actor.as_str() == "admin" && matches!(e.data.kind(), "accessed" | "evidence_accessed")
        })
        .count();
    assert_eq!(admin_reads, 6);
    // Break-glass opens the incident for reading: it makes the admin neither a member nor a
    // writer, and the list (membership) still does not show it.
    let list = srv.get("/api/v1/incidents", &cast.admin).await;
    assert!(!list.text().contains(&hidden.id), "{}", list.text());
    let before = srv.ledger(id).await.len();
    for (path, body) in [
        (
            "/roles",
            Body::Json(json!({"user": "admin", "role": "deputy"})),
        ),
        ("/notes", Body::Json(json!({"text": "I was here"}))),
        ("/status", Body::Json(json!({"message": "taking over"}))),
        (
            "/evidence?name=x.img&source=s&tool=t",
            Body::Raw("application/octet-stream", b"x".to_vec()),
        ),
        (
            "/evidence/E1/transfer",
            Body::Json(json!({"to": "sam", "purpose": "analysis"})),
        ),
    ] {
        let r = srv
            .call("POST", &format!("{show}{path}"), Some(&cast.admin), body)
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN, path);
    }
    assert_eq!(srv.ledger(id).await.len(), before, "break-glass wrote");
    assert!(
        !srv.fold(id)
            .await
            .is_member(&UserName::parse("admin").unwrap())
    );
    // Others gain nothing from it.
    assert_problem(
        &srv.get(&show, &cast.outsider).await,
        StatusCode::NOT_FOUND,
        "rita",
    );
    assert_eq!(
        srv.get(&show, &ada).await.status,
        StatusCode::OK,
        "members read"
    );

    // Expiry, without waiting for it: the fold of the stored ledger decides visibility at any
    // instant, and the server asks it with the current time on every request.
    let st = srv.fold(id).await;
    let admin = UserName::parse("admin").unwrap();
    let grant = st.break_glass_active(&admin, now()).expect("active now");
    assert_eq!(grant.until, until);
    assert_eq!(grant.reason, reason);
    let micro = time::Duration::microseconds(1);
    assert!(st.visible_to_at(&admin, plus(until, -micro)));
    assert!(!st.visible_to_at(&admin, until), "the grant ends at until");
    assert!(!st.visible_to_at(&admin, plus(until, time::Duration::days(1))));
    assert!(st.break_glass_active(&admin, until).is_none());
    for user in ["rita", "ada", "mia", "vic"] {
        let u = UserName::parse(user).unwrap();
        let member = st.is_member(&u);
        assert_eq!(st.visible_to_at(&u, plus(until, micro)), member, "{user}");
        assert!(st.break_glass_active(&u, now()).is_none(), "{user}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. The IC is notified: outbox → signed webhook, with retries, across a crash

/// Standard Webhooks secret (`whsec_` + base64 of the key bytes).
const SECRET: &str = "whsec_c2VjcmV0LWtleS1mb3ItdGhlLXRlc3QtcmVjZWl2ZXI="; // palisade:allow (synthetic test vector)

#[derive(Debug)]
struct Delivery {
    id: String,
    timestamp: i64,
    signature: String,
    content_type: String,
    body: String,
    /// What the receiver answered.
    answered: u16,
}

impl Delivery {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    fn assert_signed(&self) {
        assert_eq!(
            self.signature,
            notify::sign(SECRET, &self.id, self.timestamp, &self.body),
            "the signature verifies over id.timestamp.body"
        );
        assert_ne!(
            self.signature,
            notify::sign("whsec_b3RoZXI=", &self.id, self.timestamp, &self.body),
            "and only with the right secret"
        );
        assert_ne!(
            self.signature,
            notify::sign(SECRET, &self.id, self.timestamp + 1, &self.body),
            "and only for that timestamp"
        );
        let age = time::OffsetDateTime::now_utc().unix_timestamp() - self.timestamp;
        assert!((0..300).contains(&age), "timestamp is current: {age}");
        assert_eq!(self.content_type, "application/json");
        uuid::Uuid::parse_str(&self.id).expect("webhook-id is the outbox id");
    }
}

/// A local webhook receiver: answers 500 to the first `fail` requests, 200 afterwards, and
/// reports every request it got on the channel.
async fn receiver(fail: usize) -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            let seen = seen.clone();
            async move {
                let status = if seen.fetch_add(1, Ordering::SeqCst) < fail {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                };
                let h = |k: &str| {
                    headers
                        .get(k)
                        .map(|v| v.to_str().unwrap().to_string())
                        .unwrap_or_default()
                };
                let _ = tx.send(Delivery {
                    id: h("webhook-id"),
                    timestamp: h("webhook-timestamp").parse().unwrap_or(0),
                    signature: h("webhook-signature"),
                    content_type: h("content-type"),
                    body,
                    answered: status.as_u16(),
                });
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

/// Delivery settings for tests: quick first retry, and a poll interval so long that a test
/// only passes if the worker is woken by the append and retries on its backoff.
fn notify_config(url: String) -> NotifyConfig {
    let mut cfg = NotifyConfig::new(url, SECRET.to_string());
    cfg.initial_backoff = Duration::from_millis(20);
    cfg.max_backoff = Duration::from_millis(100);
    cfg.poll = Duration::from_secs(3600);
    cfg
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Delivery>, what: &str) -> Delivery {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no webhook delivery in time: {what}"))
        .expect("receiver running")
}

const REASON: &str = "Regulator asked for the breach timeline today";

fn assert_names_everything(d: &Delivery, fx: &Fixture, granted: &Value) {
    let n = d.json();
    assert_eq!(n["type"], "break_glass", "{}", d.body);
    assert_eq!(n["incident"], fx.id.as_str());
    assert_eq!(n["codename"], fx.codename.as_str());
    assert_eq!(n["reason"], REASON);
    assert_eq!(n["by"], "admin");
    assert_eq!(n["to"], "mia", "addressed to the IC");
    assert_eq!(n["until"], granted["until"]);
    let text = n["text"].as_str().unwrap();
    for part in [REASON, "admin", fx.codename.as_str()] {
        assert!(text.contains(part), "{text}");
    }
}

async fn break_glass(srv: &Server, cast: &Cast, fx: &Fixture) -> Value {
    let r = srv
        .post(
            &format!("/api/v1/incidents/{}/break-glass", fx.codename),
            &cast.admin,
            json!({"reason": REASON, "minutes": 10}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_notifies_the_commander_with_one_signed_webhook() {
    for be in backends().await {
        let (url, mut rx) = receiver(0).await;
        let srv = serve(&be.config(Some(notify_config(url)))).await;
        let cast = Cast::new(&srv).await;
        let fx = fixture(&srv, &cast, true).await;
        let granted = break_glass(&srv, &cast, &fx).await;
        let d = next(&mut rx, be.name).await;
        assert_eq!(d.answered, 200);
        d.assert_signed();
        assert_names_everything(&d, &fx, &granted);
        // Exactly one: a second notice (for another incident) arrives after the first was
        // marked delivered, and nothing else came in between or since.
        let other = fixture(&srv, &cast, true).await;
        break_glass(&srv, &cast, &other).await;
        let d2 = next(&mut rx, be.name).await;
        assert_ne!(d2.id, d.id);
        assert_eq!(d2.json()["incident"], other.id.as_str());
        assert!(
            rx.try_recv().is_err(),
            "{}: a notice was sent twice",
            be.name
        );
        assert!(srv.pending().await <= 1, "{}", be.name);
        // The first delivery was counted before the worker went on to the second; the metric
        // names the kind and the channel, never an address.
        let metrics = srv.get("/metrics", &cast.admin).await.text();
        assert!(
            metrics.contains(
                "palisade_deliveries_total{kind=\"break_glass\",channel=\"default\",outcome=\"sent\"}"
            ),
            "{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_notification_is_retried_with_the_same_webhook_id() {
    for be in backends().await {
        // The receiver fails the first two attempts.
        let (url, mut rx) = receiver(2).await;
        let srv = serve(&be.config(Some(notify_config(url)))).await;
        let cast = Cast::new(&srv).await;
        let fx = fixture(&srv, &cast, true).await;
        let granted = break_glass(&srv, &cast, &fx).await;
        let first = next(&mut rx, be.name).await;
        let second = next(&mut rx, be.name).await;
        let third = next(&mut rx, be.name).await;
        assert_eq!(
            [first.answered, second.answered, third.answered],
            [500, 500, 200],
            "{}",
            be.name
        );
        for d in [&first, &second, &third] {
            d.assert_signed();
            assert_eq!(d.id, first.id, "{}: the idempotency key is stable", be.name);
            assert_eq!(d.body, first.body, "{}: the same message", be.name);
            assert_names_everything(d, &fx, &granted);
        }
        let other = fixture(&srv, &cast, true).await;
        break_glass(&srv, &cast, &other).await;
        let d = next(&mut rx, be.name).await;
        assert_eq!(d.answered, 200);
        assert_eq!(d.json()["incident"], other.id.as_str());
        assert!(
            rx.try_recv().is_err(),
            "{}: delivered once successfully, then never again",
            be.name
        );
    }
}

/// Drive a router in-process, so no connection outlives the "crash".
async fn oneshot(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    use tower::ServiceExt;
    let resp = router
        .clone()
        .oneshot(
            axum::http::Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_committed_before_a_crash_is_delivered_after_the_restart() {
    for be in backends().await {
        // Without a webhook configured, the notice is committed with the event and waits.
        let started = App::start(&be.config(None)).await.unwrap();
        assert!(started.notifier.is_none());
        let admin = started.bootstrap_token.clone().unwrap();
        let router = palisade_server::router(started.app.clone());
        let (s, t) = oneshot(
            &router,
            "POST",
            "/api/v1/tokens",
            &admin,
            json!({"user": "mia", "role": "responder"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let mia = t["token"].as_str().unwrap().to_string();
        let (s, inc) = oneshot(
            &router,
            "POST",
            "/api/v1/incidents",
            &mia,
            json!({"title": "Stolen laptop", "severity": "SEV-2", "commander": "mia"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{inc}");
        assert_eq!(inc["restricted"], true);
        let fx = Fixture {
            id: inc["id"].as_str().unwrap().to_string(),
            codename: inc["codename"].as_str().unwrap().to_string(),
            title: "Stolen laptop".into(),
            restricted: true,
        };
        let (s, granted) = oneshot(
            &router,
            "POST",
            &format!("/api/v1/incidents/{}/break-glass", fx.codename),
            &admin,
            json!({"reason": REASON, "minutes": 10}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{granted}");
        assert_eq!(
            started.app.store().outbox_pending().await.unwrap(),
            1,
            "{}",
            be.name
        );
        let events =
            palisade_test_support::incident_events(started.app.store(), fx.id.parse().unwrap())
                .await;
        assert_eq!(events.last().unwrap().data.kind(), "break_glass");
        // "Crash": the process goes away between commit and delivery.
        drop(router);
        drop(started);

        let (url, mut rx) = receiver(0).await;
        let srv = serve(&be.config(Some(notify_config(url)))).await;
        assert!(srv.notifier.is_some());
        let d = next(&mut rx, be.name).await;
        assert_eq!(d.answered, 200);
        d.assert_signed();
        assert_names_everything(&d, &fx, &granted);
        assert!(rx.try_recv().is_err(), "{}", be.name);
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Bad input to the new endpoints

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_to_evidence_break_glass_and_export_is_refused_and_writes_nothing() {
    let be = sqlite().await;
    let srv = serve(&be.config(None)).await;
    let cast = Cast::new(&srv).await;
    let fx = fixture(&srv, &cast, true).await;
    let id = fx.id.parse().unwrap();
    let i = |p: &str| format!("/api/v1/incidents/{}{p}", fx.codename);
    let big = "word ".repeat(14_000); // 70 000 bytes, over the 64 KiB JSON limit
    let json = |v: Value| Body::Json(v);
    let raw = |s: &'static str| Body::Raw("application/json", s.as_bytes().to_vec());
    let octets = || Body::Raw("application/octet-stream", b"content".to_vec());
    let other_sha = "0".repeat(64);
    let (admin, mia) = (cast.admin.as_str(), cast.member.as_str());
    // (what, method, path, token, body, status, a word the detail must contain)
    let cases: Vec<(&str, &str, String, &str, Body, u16, &str)> = vec![
        (
            "break-glass unknown field",
            "POST",
            i("/break-glass"),
            admin,
            json(json!({"reason": REASON, "colour": "red"})),
            422,
            "colour",
        ),
        (
            "break-glass malformed",
            "POST",
            i("/break-glass"),
            admin,
            raw("{\"reason\": "),
            400,
            "JSON",
        ),
        (
            "break-glass not an object",
            "POST",
            i("/break-glass"),
            admin,
            raw("[1, 2]"),
            422,
            "invalid",
        ),
        (
            "break-glass wrong type",
            "POST",
            i("/break-glass"),
            admin,
            json(json!({"reason": 5})),
            422,
            "expected a string",
        ),
        (
            "break-glass oversized",
            "POST",
            i("/break-glass"),
            admin,
            json(json!({"reason": big})),
            413,
            "65536",
        ),
        (
            "transfer unknown field",
            "POST",
            i("/evidence/E1/transfer"),
            mia,
            json(json!({"to": "sam", "purpose": "analysis", "colour": 1})),
            422,
            "colour",
        ),
        (
            "transfer malformed",
            "POST",
            i("/evidence/E1/transfer"),
            mia,
            raw("{\"to\": \"sam\""),
            400,
            "JSON",
        ),
        (
            "transfer oversized",
            "POST",
            i("/evidence/E1/transfer"),
            mia,
            json(json!({"to": "sam", "purpose": big})),
            413,
            "65536",
        ),
        (
            "transfer without purpose",
            "POST",
            i("/evidence/E1/transfer"),
            mia,
            json(json!({"to": "sam"})),
            422,
            "purpose",
        ),
        (
            "transfer to nobody",
            "POST",
            i("/evidence/E1/transfer"),
            mia,
            json(json!({"to": "nobody", "purpose": "analysis"})),
            422,
            "nobody",
        ),
        (
            "transfer to a non-member",
            "POST",
            i("/evidence/E1/transfer"),
            mia,
            json(json!({"to": "rita", "purpose": "analysis"})),
            409,
            "member",
        ),
        (
            "transfer unknown evidence",
            "POST",
            i("/evidence/E9/transfer"),
            mia,
            json(json!({"to": "sam", "purpose": "analysis"})),
            404,
            "E9",
        ),
        (
            "upload without name",
            "POST",
            i("/evidence?source=s&tool=t"),
            mia,
            octets(),
            422,
            "name",
        ),
        (
            "upload without source",
            "POST",
            i("/evidence?name=n&tool=t"),
            mia,
            octets(),
            422,
            "source",
        ),
        (
            "upload without tool",
            "POST",
            i("/evidence?name=n&source=s"),
            mia,
            octets(),
            422,
            "tool",
        ),
        (
            "upload unknown parameter",
            "POST",
            i(&format!("/evidence?{EVIDENCE_QUERY}&colour=red")),
            mia,
            octets(),
            400,
            "colour",
        ),
        (
            "upload bad sha256",
            "POST",
            i(&format!("/evidence?{EVIDENCE_QUERY}&sha256=xyz")),
            mia,
            octets(),
            422,
            "sha256",
        ),
        (
            "upload other sha256",
            "POST",
            i(&format!("/evidence?{EVIDENCE_QUERY}&sha256={other_sha}")),
            mia,
            octets(),
            422,
            "hashes to",
        ),
        (
            "upload path as name",
            "POST",
            i("/evidence?name=../etc/passwd&source=s&tool=t"),
            mia,
            octets(),
            422,
            "path",
        ),
        (
            "show unknown evidence",
            "GET",
            i("/evidence/E9"),
            mia,
            Body::None,
            404,
            "E9",
        ),
        (
            "show evidence zero",
            "GET",
            i("/evidence/E0"),
            mia,
            Body::None,
            404,
            "E0",
        ),
        (
            "show evidence not a number",
            "GET",
            i("/evidence/Ex"),
            mia,
            Body::None,
            404,
            "Ex",
        ),
        (
            "download unknown evidence",
            "GET",
            i("/evidence/E9/content?purpose=x"),
            mia,
            Body::None,
            404,
            "E9",
        ),
        (
            "download without purpose",
            "GET",
            i("/evidence/E1/content"),
            mia,
            Body::None,
            422,
            "purpose",
        ),
        (
            "download blank purpose",
            "GET",
            i("/evidence/E1/content?purpose=%20"),
            mia,
            Body::None,
            422,
            "purpose",
        ),
        (
            "download unknown parameter",
            "GET",
            i("/evidence/E1/content?purpose=x&colour=red"),
            mia,
            Body::None,
            400,
            "colour",
        ),
        (
            "export evidence=maybe",
            "GET",
            i("/export?purpose=x&evidence=maybe"),
            mia,
            Body::None,
            422,
            "maybe",
        ),
        (
            "export without purpose",
            "GET",
            i("/export"),
            mia,
            Body::None,
            422,
            "purpose",
        ),
        (
            "export blank purpose",
            "GET",
            i("/export?purpose=%20"),
            mia,
            Body::None,
            422,
            "purpose",
        ),
        (
            "export unknown parameter",
            "GET",
            i("/export?purpose=x&colour=red"),
            mia,
            Body::None,
            400,
            "colour",
        ),
    ];
    let before = srv.ledger(id).await.len();
    for (what, method, path, token, body, status, word) in cases {
        let r = srv.call(method, &path, Some(token), body).await;
        assert_problem(&r, StatusCode::from_u16(status).unwrap(), what);
        let detail = r.body["detail"].as_str().unwrap();
        assert!(
            detail.contains(word),
            "{what}: {detail:?} should mention {word:?}"
        );
        assert_eq!(
            srv.ledger(id).await.len(),
            before,
            "{what} wrote to the ledger"
        );
    }
    assert_eq!(srv.pending().await, 0);
    // The evidence is as it was: one item, custody unchanged.
    let st = srv.fold(id).await;
    assert_eq!(st.evidence.len(), 1);
    assert_eq!(st.evidence[0].custodian.as_str(), "mia");
    assert_eq!(st.evidence[0].custody.len(), 1);
}

/// A message that fails its last allowed attempt is a dead letter: listed with its error (the
/// receiver's host, never its URL), not tried again, and delivered under the same webhook-id
/// once an admin resends it. The worker is driven pass by pass here, so each step is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_kept_listed_and_resent_under_the_same_id() {
    for be in backends().await {
        let (url, mut rx) = receiver(2).await;
        // No worker of its own: this test delivers.
        let srv = serve(&be.config(None)).await;
        let cast = Cast::new(&srv).await;
        let fx = fixture(&srv, &cast, true).await;
        break_glass(&srv, &cast, &fx).await;
        let mut cfg = NotifyConfig::new(url.clone(), SECRET.to_string());
        cfg.initial_backoff = Duration::ZERO;
        cfg.max_backoff = Duration::ZERO;
        cfg.max_attempts = 2;
        let http = reqwest::Client::new();
        let store = srv.app.store().clone();
        // Two passes, two refusals: the second was the last allowed attempt.
        for _ in 0..2 {
            assert_eq!(notify::deliver_due(&store, &http, &cfg).await, 0);
            assert_eq!(next(&mut rx, be.name).await.answered, 500);
        }
        assert_eq!(notify::deliver_due(&store, &http, &cfg).await, 0);
        assert!(
            rx.try_recv().is_err(),
            "{}: a dead letter was tried again",
            be.name
        );
        let dead = srv.get("/api/v1/deliveries?state=dead", &cast.admin).await;
        assert_eq!(dead.status, StatusCode::OK, "{}", dead.text());
        let rows = dead.body["deliveries"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{}: {}", be.name, dead.text());
        let d = &rows[0];
        assert_eq!(d["kind"], "break_glass");
        assert_eq!(d["attempts"], 2);
        assert_eq!(d["channel"], "default");
        assert!(d["last_error"].as_str().unwrap().contains("500"), "{d}");
        assert!(d["dead_at"].is_string());
        assert_eq!(
            srv.pending().await,
            0,
            "{}: a dead letter is not pending",
            be.name
        );
        let id = d["id"].as_str().unwrap().to_string();
        // Only admins see the log and resend.
        let r = srv.get("/api/v1/deliveries", &cast.member).await;
        assert_problem(&r, StatusCode::FORBIDDEN, "member reads the delivery log");
        let r = srv
            .call(
                "POST",
                &format!("/api/v1/deliveries/{id}/resend"),
                Some(&cast.member),
                Body::None,
            )
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN, "member resends");
        let r = srv
            .call(
                "POST",
                "/api/v1/deliveries/00000000-0000-4000-8000-000000000000/resend",
                Some(&cast.admin),
                Body::None,
            )
            .await;
        assert_problem(&r, StatusCode::NOT_FOUND, "unknown delivery");
        let r = srv
            .call(
                "POST",
                &format!("/api/v1/deliveries/{id}/resend"),
                Some(&cast.admin),
                Body::None,
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
        assert_eq!(notify::deliver_due(&store, &http, &cfg).await, 1);
        let third = next(&mut rx, be.name).await;
        assert_eq!(third.answered, 200);
        assert_eq!(
            third.id, id,
            "{}: resent under the same webhook-id",
            be.name
        );
        let log = srv
            .get("/api/v1/deliveries?state=delivered", &cast.admin)
            .await;
        assert_eq!(
            log.body["deliveries"][0]["id"],
            id.as_str(),
            "{}",
            log.text()
        );
        assert!(
            srv.get("/api/v1/deliveries?state=dead", &cast.admin)
                .await
                .body["deliveries"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
}
