//! What Palisade's tests share, so each test file does not carry its own copy:
//!
//! - [`skip_or_fail`]: the rule for tests that need something optional (PostgreSQL, an S3
//!   server, the `age` tool, the shared data sets): without it they print a `SKIP …` line and
//!   pass, except under `CI=true`, where its absence fails the test;
//! - [`pg`]: the PostgreSQL URL (`PALISADE_TEST_DATABASE_URL`) and a fresh schema per test;
//! - [`shared_data`]: `../shared/data` beside the workspace;
//! - [`backends`]: a fresh store configuration per backend (SQLite always, PostgreSQL when set);
//! - [`TestServer`]: the application started on a fresh data directory and served on port 0,
//!   with a small HTTP client for it;
//! - [`browser`]: headless Chromium over WebDriver, with an accessibility check (axe-core).

use palisade_app::{App, AppConfig, Started};
use palisade_store::StoreConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub mod browser;
pub mod web;

/// Whether this run is CI (`CI=true`), where nothing optional may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// `what` is unavailable (`why`): under `CI=true` the test fails, otherwise it prints a skip line
/// and the caller returns. Always returns `None`, for `let Some(x) = … else { return }`.
pub fn skip_or_fail<T>(what: &str, why: &str) -> Option<T> {
    if in_ci() {
        panic!("CI=true but {why}: {what} is required in CI");
    }
    eprintln!("SKIP {what}: {why}");
    None
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/data/<sub>` beside the workspace, if it is there.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let p = workspace_root().join("../shared/data").join(sub);
    if p.exists() {
        return Some(p);
    }
    skip_or_fail(
        &format!("tests on ../shared/data/{sub}"),
        &format!("{} is not there", p.display()),
    )
}

/// The OASIS SARIF 2.1.0 schema from `../shared/data/schemas`, compiled with format assertions
/// on (so URIs are checked too).
pub struct SarifSchema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl SarifSchema {
    /// The schema; `None` with a skip line when `../shared` is absent (a failure under CI).
    pub fn load() -> Option<SarifSchema> {
        let path = shared_data("schemas/sarif-schema-2.1.0.json")?;
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.enable_format_assertions();
        let url = "file:///sarif-schema-2.1.0.json";
        compiler
            .add_resource(url, schema)
            .unwrap_or_else(|e| panic!("{e}"));
        let index = compiler
            .compile(url, &mut schemas)
            .unwrap_or_else(|e| panic!("{e:#}"));
        Some(SarifSchema { schemas, index })
    }

    /// Why `doc` is not valid SARIF 2.1.0, or `None` when it is.
    pub fn errors(&self, doc: &Value) -> Option<String> {
        self.schemas
            .validate(doc, self.index)
            .err()
            .map(|e| format!("{e:#}"))
    }
}

/// Whether a command-line tool is installed (skip-or-fail otherwise).
pub fn tool(name: &str, install: &str) -> Option<()> {
    let found = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok();
    if found {
        return Some(());
    }
    skip_or_fail(
        &format!("tests with `{name}`"),
        &format!("`{name}` is not installed ({install})"),
    )
}

/// The S3-compatible server of `PALISADE_TEST_S3_URL`.
pub fn s3_url() -> Option<String> {
    match std::env::var("PALISADE_TEST_S3_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => skip_or_fail(
            "the S3 evidence store",
            "PALISADE_TEST_S3_URL is not set (.ci/run starts a local S3 server)",
        ),
    }
}

pub mod pg {
    use super::skip_or_fail;

    /// `PALISADE_TEST_DATABASE_URL`, the PostgreSQL database tests may create schemas in.
    pub fn base() -> Option<String> {
        match std::env::var("PALISADE_TEST_DATABASE_URL") {
            Ok(u) if !u.is_empty() => Some(u),
            _ => skip_or_fail(
                "the PostgreSQL backend",
                "PALISADE_TEST_DATABASE_URL is not set (SQLite only)",
            ),
        }
    }

    /// A new schema (`t_<uuid>`) made by `sql`, in which `__SCHEMA__` stands for its name (a
    /// schema-only `pg_dump`), and a URL whose connections use it.
    pub async fn restore(base: &str, sql: &str) -> (String, String) {
        let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
            .await
            .expect("connect to PALISADE_TEST_DATABASE_URL");
        tokio::spawn(conn);
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&sql.replace("__SCHEMA__", &schema))
            .await
            .expect("restore the dump");
        (url_for(base, &schema), schema)
    }

    /// One integer a query returns (for tests that look inside the database).
    pub async fn query_i64(url: &str, sql: &str) -> i64 {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client.query_one(sql, &[]).await.expect(sql).get(0)
    }

    fn url_for(base: &str, schema: &str) -> String {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{schema}")
    }

    /// A new empty schema (`t_<uuid>`, dropped by `.ci/run` before its next run) and a URL whose
    /// connections use it.
    pub async fn fresh_schema(base: &str) -> String {
        let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
            .await
            .expect("connect to PALISADE_TEST_DATABASE_URL");
        tokio::spawn(conn);
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create a test schema");
        url_for(base, &schema)
    }
}

/// A fresh store configuration per backend: (name, configuration, its data directory). SQLite
/// always; PostgreSQL (a fresh schema) when `PALISADE_TEST_DATABASE_URL` is set.
pub async fn backends() -> Vec<(&'static str, StoreConfig, tempfile::TempDir)> {
    let mut out = Vec::new();
    let mut urls: Vec<(&'static str, Option<String>)> = vec![("sqlite", None)];
    if let Some(base) = pg::base() {
        urls.push(("postgres", Some(pg::fresh_schema(&base).await)));
    }
    for (name, url) in urls {
        let dir = tempfile::tempdir().unwrap();
        out.push((
            name,
            StoreConfig {
                data_dir: dir.path().to_path_buf(),
                database_url: url,
            },
            dir,
        ));
    }
    out
}

/// The application started and served on port 0.
pub struct TestServer {
    pub url: String,
    /// The admin token of the first start (empty on a restart of the same data).
    pub admin: String,
    pub http: reqwest::Client,
    pub app: App,
    pub config: AppConfig,
    task: tokio::task::JoinHandle<()>,
    notifier: Option<tokio::task::JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(n) = &self.notifier {
            n.abort();
        }
    }
}

/// A response, read whole.
pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    /// The body as JSON, or as a JSON string when it is not JSON.
    pub body: Value,
}

impl TestServer {
    /// A server on a fresh data directory with the default configuration (SQLite).
    pub async fn spawn() -> TestServer {
        TestServer::spawn_with(|_| {}).await
    }

    /// A server on a fresh data directory whose configuration `configure` adjusts.
    pub async fn spawn_with(configure: impl FnOnce(&mut AppConfig)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = AppConfig {
            store: StoreConfig {
                data_dir: dir.path().to_path_buf(),
                database_url: None,
            },
            ..Default::default()
        };
        configure(&mut config);
        let mut s = TestServer::serve(config).await;
        s._dir = Some(dir);
        s
    }

    /// Serve `config` as it is (the caller owns its data directory).
    pub async fn serve(config: AppConfig) -> TestServer {
        let Started {
            app,
            bootstrap_token,
            notifier,
            ..
        } = App::start(&config).await.expect("start the application");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = palisade_server::router(app.clone());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await
                .unwrap()
        });
        TestServer {
            url,
            admin: bootstrap_token.unwrap_or_default(),
            http: reqwest::Client::new(),
            app,
            config,
            task,
            notifier,
            shutdown: Some(shutdown),
            _dir: None,
        }
    }

    /// Stop serving and wait until every connection and the notifier are gone, so that once
    /// this returns the application is released (its data directory lock with it) and the same
    /// data can be served again, as after a restart.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.expect("the server stops");
        if let Some(n) = self.notifier.as_mut() {
            n.abort();
            let _ = n.await;
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let content_type = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        Resp {
            status,
            content_type,
            headers,
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

    /// Declare an incident (must answer 201); its view.
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

    /// Changes recorded for an incident (every read of a restricted incident is itself
    /// recorded, so reads are left out).
    pub async fn events(&self, codename: &str, token: &str) -> u64 {
        let v = self
            .get(&format!("/api/v1/incidents/{codename}"), token)
            .await
            .body;
        v["events"].as_u64().unwrap() - v["reads"].as_u64().unwrap()
    }
}

/// An RFC 9457 problem with `status`, carrying the request's id.
pub fn assert_problem(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json", "{}", r.text);
    assert!(
        r.body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:palisade:problem:"),
        "{}",
        r.text
    );
    assert_eq!(r.body["status"].as_u64(), Some(status.as_u16() as u64));
    assert!(!r.body["detail"].as_str().unwrap().is_empty());
}

/// An incident's events as stored, parsed (read directly, so reading records nothing).
pub async fn incident_events(
    store: &palisade_store::Store,
    id: uuid::Uuid,
) -> Vec<palisade_core::Event> {
    store
        .stored_events(id)
        .await
        .expect("read the ledger")
        .iter()
        .map(|r| serde_json::from_str(&r.body).expect("an incident event"))
        .collect()
}

/// Test certificates for HTTPS: a CA, and a server certificate it signed for `127.0.0.1` and
/// `localhost`, written as PEM files in `dir`.
pub struct TestCerts {
    /// The CA certificate, for clients to trust.
    pub ca: PathBuf,
    /// The server's certificate chain (leaf, then CA).
    pub cert: PathBuf,
    /// The server's private key (PKCS#8).
    pub key: PathBuf,
}

impl TestCerts {
    pub fn write(dir: &std::path::Path) -> TestCerts {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Palisade test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("a CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().expect("a server key");
        let params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("server parameters");
        let cert = params
            .signed_by(&key, &issuer)
            .expect("a server certificate");
        let out = TestCerts {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&out.ca, ca_cert.pem()).unwrap();
        std::fs::write(&out.cert, format!("{}{}", cert.pem(), ca_cert.pem())).unwrap();
        std::fs::write(&out.key, key.serialize_pem()).unwrap();
        out
    }
}

/// A minimal SMTP server on a free port, for email notifications: it accepts every message and
/// hands over (recipient, message text) for each.
pub struct SmtpSink {
    /// `smtp://127.0.0.1:PORT` (no TLS).
    pub url: String,
    pub received: tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let (mut rcpt, mut data, mut in_data) = (String::new(), String::new(), false);
                    while let Ok(Some(line)) = lines.next_line().await {
                        if in_data {
                            if line == "." {
                                in_data = false;
                                let _ = tx.send((rcpt.clone(), std::mem::take(&mut data)));
                                let _ = w.write_all(b"250 queued\r\n").await;
                            } else {
                                data.push_str(&line);
                                data.push('\n');
                            }
                            continue;
                        }
                        let upper = line.to_ascii_uppercase();
                        let answer: &[u8] = if upper.starts_with("RCPT TO:") {
                            rcpt = line[8..].trim().to_string();
                            b"250 ok\r\n"
                        } else if upper.starts_with("DATA") {
                            in_data = true;
                            b"354 go on\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        if w.write_all(answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SmtpSink {
            url: format!("smtp://127.0.0.1:{port}"),
            received: rx,
        }
    }

    /// The next message (waits up to 30 s for the notification worker to send it).
    pub async fn next(&mut self) -> (String, String) {
        tokio::time::timeout(std::time::Duration::from_secs(30), self.received.recv())
            .await
            .expect("an email within 30 s")
            .expect("the sink is running")
    }
}
