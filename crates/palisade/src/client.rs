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
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the Palisade server at {} ({what}); is `palisade serve` running and PALISADE_URL right?", self.base))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .context("reading the server's response")?;
        if status.is_success() {
            let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(body).with_context(|| {
                format!("the server's answer to {what} is not what this CLI expects")
            });
        }
        let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let detail = problem["detail"]
            .as_str()
            .unwrap_or("(no detail)")
            .to_string();
        let msg = match problem["rule"].as_str() {
            Some(rule) => format!("rule `{rule}`: {detail}"),
            None => detail,
        };
        match status.as_u16() {
            403 | 409 | 422 => Err(Refused(msg).into()),
            401 => Err(anyhow!("{msg} (HTTP 401)")),
            code => Err(anyhow!("{what}: {msg} (HTTP {code})")),
        }
    }

    /// A request with the token, for streaming bodies: no overall timeout (evidence may be many
    /// GB), only the connection's.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(std::time::Duration::from_secs(7 * 24 * 3600))
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

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send::<serde_json::Value>(self.http.delete(format!("{}{path}", self.base)), path)
            .await
            .map(|_| ())
    }
}

/// Percent-encode a path segment (ids and codenames are safe, but user input may not be).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
