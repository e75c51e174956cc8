//! HTTP client for the server's API: connection settings from flags, environment or a config
//! file, and problem details turned into readable errors.

use anyhow::{Context, anyhow};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::path::PathBuf;

/// Where the server is and who we are. Flags win over the environment, which wins over the
/// config file (`$PALISADE_CONFIG`, else `$XDG_CONFIG_HOME/palisade/client.toml`, else
/// `~/.config/palisade/client.toml`, with keys `url` and `token`).
#[derive(clap::Args, Debug, Clone)]
pub struct ClientArgs {
    /// Server URL [default: http://127.0.0.1:7878]
    #[arg(long, env = "PALISADE_URL", global = true)]
    pub url: Option<String>,
    /// API token (pal_…). Prefer the environment or the config file to keep it out of shell history.
    #[arg(long, env = "PALISADE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t, global = true)]
    pub format: crate::Format,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    url: Option<String>,
    token: Option<String>,
}

fn config_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PALISADE_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("palisade").join("client.toml"))
}

/// A command the server refused (a process rule, a permission, or invalid input): exit code 1.
#[derive(Debug)]
pub struct Refused(pub String);
impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Refused {}

pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(args: &ClientArgs) -> anyhow::Result<Client> {
        let file = match config_path() {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("reading client config {}", p.display()))?;
                toml::from_str::<ClientFile>(&text)
                    .with_context(|| format!("parsing client config {}", p.display()))?
            }
            _ => ClientFile::default(),
        };
        let base = args
            .url
            .clone()
            .or(file.url)
            .unwrap_or_else(|| "http://127.0.0.1:7878".to_string());
        let token = args.token.clone().or(file.token).ok_or_else(|| {
            anyhow!(
                "no API token: set PALISADE_TOKEN (the server printed an admin token on first start), pass --token, or put `token = \"pal_…\"` in {}",
                config_path().map_or_else(|| "the client config file".into(), |p| p.display().to_string())
            )
        })?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("palisade-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
        })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> anyhow::Result<T> {
        // Commands carry one idempotency key per invocation, so a retry after a lost answer or
        // an unknown outcome can never record twice: the server answers a repeat with the first
        // answer.
        let key = uuid::Uuid::new_v4().to_string();
        let req = req.bearer_auth(&self.token).header("idempotency-key", &key);
        for pause in retry_pauses() {
            let Some(this) = req.try_clone() else { break };
            match self.send_once(this, what).await {
                Ok(v) => return Ok(v),
                Err(Failure::Retryable(_)) => tokio::time::sleep(pause).await,
                Err(Failure::Final(e)) => return Err(e),
            }
        }
        match self.send_once(req, what).await {
            Ok(v) => Ok(v),
            Err(Failure::Retryable(e) | Failure::Final(e)) => Err(e),
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T, Failure> {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return Err(Failure::Final(anyhow::Error::new(e).context(format!(
                    "cannot reach the Palisade server at {} ({what}); is `palisade serve` running and PALISADE_URL right?",
                    self.base
                ))));
            }
            // Sent, but the answer was lost: the same key makes asking again safe.
            Err(e) => {
                return Err(Failure::Retryable(anyhow::Error::new(e).context(format!(
                    "no answer from the Palisade server at {} ({what})",
                    self.base
                ))));
            }
        };
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .context("reading the server's response")
            .map_err(Failure::Retryable)?;
        if status.is_success() {
            let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(body)
                .with_context(|| {
                    format!("the server's answer to {what} is not what this CLI expects")
                })
                .map_err(Failure::Final);
        }
        Err(classify(status, &bytes, what))
    }

    /// A request with the token, for streaming bodies: no overall timeout (evidence may be many
    /// GB), only the connection's.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(std::time::Duration::from_secs(7 * 24 * 3600))
    }

    /// The server's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(self.http.get(format!("{}{path}", self.base)), path)
            .await
    }

    pub async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send(
            self.http.post(format!("{}{path}", self.base)).json(body),
            path,
        )
        .await
    }

    /// POST a JSON document given as bytes (a report read from a file).
    pub async fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<T> {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body),
            path,
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send::<serde_json::Value>(self.http.delete(format!("{}{path}", self.base)), path)
            .await
            .map(|_| ())
    }
}

/// Why a request did not succeed: worth asking again (with the same idempotency key), or not.
enum Failure {
    Retryable(anyhow::Error),
    Final(anyhow::Error),
}

/// What a problem answer means, from its status and problem type. Nothing was decided (the
/// stream kept changing, storage was unavailable, the commit's fate is unknown): worth asking
/// again, and never a refusal. A process rule, a permission or invalid input: a refusal (exit
/// code 1). Anything else: an error (exit code 2).
fn classify(status: reqwest::StatusCode, body: &[u8], what: &str) -> Failure {
    let problem: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let detail = problem["detail"]
        .as_str()
        .unwrap_or("(no detail)")
        .to_string();
    let kind = problem["type"].as_str().unwrap_or_default();
    let msg = match problem["rule"].as_str() {
        Some(rule) => format!("rule `{rule}`: {detail}"),
        None => detail,
    };
    match (status.as_u16(), kind) {
        // Nothing was decided (the incident kept changing, the database was down, the
        // commit's fate is unknown): asking again with the same key is safe.
        (409, "urn:palisade:problem:concurrent-change")
        | (503, _)
        | (500, "urn:palisade:problem:unknown-outcome") => Failure::Retryable(anyhow!(
            "{what}: {msg} (HTTP {}); nothing was refused: try again",
            status.as_u16()
        )),
        (403 | 409 | 422, _) => Failure::Final(Refused(msg).into()),
        (401, _) => Failure::Final(anyhow!("{msg} (HTTP 401)")),
        (code, _) => Failure::Final(anyhow!("{what}: {msg} (HTTP {code})")),
    }
}

/// The pauses before each retry of a command: three, about 100 ms, 200 ms and 400 ms apart
/// (with jitter, so that clients turned away together do not come back together).
pub fn retry_pauses() -> impl Iterator<Item = std::time::Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(std::time::Duration::from_millis(100))
        .with_max_delay(std::time::Duration::from_secs(2))
        .with_max_times(3)
        .with_jitter()
        .build()
}

/// [`problem_error`], saying too whether asking again (with the same idempotency key) is safe
/// and worth it: nothing was decided.
pub async fn problem_retryable(resp: reqwest::Response, what: &str) -> (bool, anyhow::Error) {
    let status = resp.status();
    match resp.bytes().await {
        Ok(bytes) => match classify(status, &bytes, what) {
            Failure::Retryable(e) => (true, e),
            Failure::Final(e) => (false, e),
        },
        Err(e) => (
            true,
            anyhow::Error::new(e).context(format!(
                "{what}: reading the server's answer (HTTP {})",
                status.as_u16()
            )),
        ),
    }
}

/// The error of a request that was not answered with success, for requests sent outside
/// [`Client`]'s own methods (streamed uploads and downloads), classified as those are: a
/// refusal is [`Refused`] (exit code 1); a conflict with a concurrent change, an unavailable
/// server or an unknown outcome says "try again" (exit code 2), never "refused".
pub async fn problem_error(resp: reqwest::Response, what: &str) -> anyhow::Error {
    let status = resp.status();
    let bytes = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return anyhow::Error::new(e).context(format!(
                "{what}: reading the server's answer (HTTP {})",
                status.as_u16()
            ));
        }
    };
    match classify(status, &bytes, what) {
        Failure::Retryable(e) | Failure::Final(e) => e,
    }
}

/// What [`seg`] escapes: everything but RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode a path segment (ids and codenames are safe, but user input may not be).
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod seg_tests {
    #[test]
    fn seg_keeps_unreserved_characters_and_escapes_every_other_byte() {
        assert_eq!(super::seg("brave-otter_2.0~"), "brave-otter_2.0~");
        assert_eq!(super::seg("a/b c?d#é%"), "a%2Fb%20c%3Fd%23%C3%A9%25");
    }
}
