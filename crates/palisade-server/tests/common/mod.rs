//! The HTTP API spawned on port 0 with a fresh data directory, and a small client for it.
//! Shared by the API test binaries.
#![allow(dead_code)] // each test binary uses a different part

use palisade_server::{ServerConfig, start};
use palisade_store::StoreConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub struct TestApp {
    pub url: String,
    pub admin: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A server with the default configuration.
pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

/// A server whose configuration `configure` adjusts (the store is always a fresh temp dir).
pub async fn spawn_with(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig {
        store: StoreConfig {
            data_dir: dir.path().to_path_buf(),
            database_url: None,
        },
        ..Default::default()
    };
    configure(&mut config);
    let app = start(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app.router).await.unwrap() });
    TestApp {
        url,
        admin: app
            .bootstrap_token
            .expect("first start creates an admin token"),
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub text: String,
    /// The body as JSON, or as a JSON string when it is not JSON.
    pub body: Value,
}

impl TestApp {
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.unwrap();
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        Resp {
            status,
            content_type,
            body: serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone())),
            text,
        }
    }
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Some(body)).await
    }
    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), None).await
    }
    /// A token for a new user with the given account role.
    pub async fn token(&self, user: &str, role: &str) -> String {
        let r = self
            .post(
                "/api/v1/tokens",
                &self.admin,
                json!({"user": user, "role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["token"].as_str().unwrap().to_string()
    }
    pub async fn declare(&self, token: &str, body: Value) -> Value {
        let r = self.post("/api/v1/incidents", token, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    }
    /// POST that must answer 200; its body.
    pub async fn ok(&self, path: &str, token: &str, body: Value) -> Value {
        let r = self.post(path, token, body).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        r.body
    }
    /// Changes recorded for an incident (every read of a restricted incident is itself recorded,
    /// so reads are left out).
    pub async fn events(&self, codename: &str, token: &str) -> u64 {
        let v = self
            .get(&format!("/api/v1/incidents/{codename}"), token)
            .await
            .body;
        v["events"].as_u64().unwrap() - v["reads"].as_u64().unwrap()
    }
}

/// An RFC 9457 problem with `status`.
pub fn assert_problem(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json", "{}", r.text);
    assert!(
        r.body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:palisade:problem:")
    );
    assert_eq!(r.body["status"].as_u64(), Some(status.as_u16() as u64));
    assert!(!r.body["detail"].as_str().unwrap().is_empty());
}
