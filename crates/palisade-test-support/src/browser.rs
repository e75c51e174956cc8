//! A real headless browser for tests of the web UI: Debian's `chromium`, driven over WebDriver
//! by Debian's `chromedriver` (packages `chromium chromium-driver`), through [`fantoccini`].
//!
//! [`Browser::start`] starts chromedriver on a port of its own choosing and opens a session in a
//! fresh profile; without the two programs it skips (fails under `CI=true`), like the other
//! optional tools. [`Browser::axe`] runs the vendored axe-core (`vendor/axe-core/`) in the
//! current page. It is sent through WebDriver's execute command rather than added as a
//! `<script>` element, so a page whose Content-Security-Policy forbids inline and foreign
//! scripts is checked as served.
//!
//! ```no_run
//! # async fn t() {
//! use palisade_test_support::browser::{Browser, list, serious_or_worse};
//! let Some(browser) = Browser::start().await else { return };
//! browser.goto("http://127.0.0.1:8080/").await.unwrap();
//! let serious = serious_or_worse(&browser.axe().await);
//! assert!(serious.is_empty(), "{}", list(&serious));
//! browser.close().await;
//! # }
//! ```

use crate::skip_or_fail;
pub use fantoccini;
use fantoccini::{Client, ClientBuilder};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// axe-core, vendored from npm (see `vendor/axe-core/README.md` for its version and origin).
pub const AXE_SOURCE: &str = include_str!("../vendor/axe-core/axe.min.js");

/// The window size a session starts with (a laptop screen).
pub const DEFAULT_WINDOW: (u32, u32) = (1280, 900);

/// How long chromedriver may take to say which port it listens on and then to report ready.
const DRIVER_START: Duration = Duration::from_secs(30);

/// A headless Chromium session, with the chromedriver serving it. [`Browser::close`] ends the
/// session cleanly; dropping it instead (a test that panicked) kills chromedriver and Chromium.
pub struct Browser {
    client: Client,
    /// chromedriver, leader of a process group of its own that its Chromium processes join.
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After `close` chromedriver is reaped and this does nothing.
        self.kill_group();
    }
}

impl std::ops::Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    /// A new session in headless Chromium, with a fresh profile and a 1280×900 window. `None`
    /// with a skip line when `chromium` or `chromedriver` is not on `PATH` (a failure under
    /// `CI=true`). Panics when they are there but do not start.
    pub async fn start() -> Option<Browser> {
        let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver"))
        else {
            return skip_or_fail(
                "tests in a headless browser",
                "`chromium` or `chromedriver` is not on PATH \
                 (apt-get install chromium chromium-driver)",
            );
        };

        // Port 0: chromedriver binds a free port itself and prints which, so no other process
        // can take the port between our choosing it and chromedriver binding it. Its own process
        // group: Chromium's processes inherit it, so one kill ends them all, even when the
        // session was never closed (killing chromedriver alone leaves Chromium running).
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let mut lines =
            BufReader::new(driver.stdout.take().expect("chromedriver's stdout")).lines();
        let mut said = String::new();
        let port = tokio::time::timeout(DRIVER_START, async {
            while let Some(line) = lines.next_line().await.expect("read chromedriver's output") {
                said.push_str(&line);
                said.push('\n');
                if let Some(port) = announced_port(&line) {
                    return Some(port);
                }
            }
            None
        })
        .await
        .unwrap_or_else(|_| panic!("chromedriver named no port within {DRIVER_START:?}"))
        .unwrap_or_else(|| panic!("chromedriver exited without naming its port:\n{said}"));
        // Keep reading what chromedriver prints (so it never blocks on a full pipe), shown with
        // the test's output.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("chromedriver: {line}");
            }
        });

        let url = format!("http://127.0.0.1:{port}");
        wait_until_ready(&url, &mut driver).await;

        let profile = tempfile::tempdir().expect("a profile directory");
        let (w, h) = DEFAULT_WINDOW;
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={w},{h}"),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("open a Chromium session through chromedriver: {e}"));
        Some(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// The WebDriver client: navigate, find elements, fill and submit forms, wait.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Resize the window (a phone is 375 px wide); in headless Chromium the page's viewport is
    /// the window.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("resize the window to {width}×{height}: {e}"));
    }

    /// Write a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("take a screenshot: {e}"));
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// axe-core's violations in the current page (its top document; frames are not entered).
    pub async fn axe(&self) -> Vec<AxeViolation> {
        // The source goes in as the body of an execute command: no <script> element, so the
        // page's CSP does not apply to it. It defines `window.axe`.
        self.client
            .execute(AXE_SOURCE, vec![])
            .await
            .unwrap_or_else(|e| panic!("load axe-core into the page: {e}"));
        let out = self
            .client
            .execute_async(
                r#"
                const done = arguments[arguments.length - 1];
                axe.run(document, { resultTypes: ["violations"], iframes: false })
                  .then(r => done({ violations: r.violations.map(v => ({
                    id: v.id,
                    impact: v.impact,
                    help: v.help,
                    helpUrl: v.helpUrl,
                    targets: v.nodes.map(n => n.target
                      .map(t => Array.isArray(t) ? t.join(" >>> ") : t)
                      .join(" ")),
                  })) }))
                  .catch(e => done({ error: String(e && e.stack || e) }));
                "#,
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("run axe-core: {e}"));
        if let Some(error) = out.get("error") {
            panic!("axe-core failed: {}", error.as_str().unwrap_or_default());
        }
        serde_json::from_value(out["violations"].clone())
            .unwrap_or_else(|e| panic!("axe-core's violations ({e}): {out}"))
    }

    /// End the session (Chromium quits), then stop chromedriver and whatever it left running.
    pub async fn close(mut self) {
        self.client
            .clone()
            .close()
            .await
            .unwrap_or_else(|e| panic!("end the WebDriver session: {e}"));
        self.kill_group();
        self.driver
            .wait()
            .await
            .unwrap_or_else(|e| panic!("wait for chromedriver to stop: {e}"));
    }

    /// SIGKILL to chromedriver's process group (chromedriver and the Chromium it started).
    fn kill_group(&self) {
        let Some(pid) = self
            .driver
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        else {
            return; // already reaped
        };
        match rustix::process::kill_process_group(pid, rustix::process::Signal::KILL) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => {}
            Err(e) => eprintln!("kill chromedriver's process group {pid:?}: {e}"),
        }
    }
}

/// The port of chromedriver's line `ChromeDriver was started successfully on port 38973.`
fn announced_port(line: &str) -> Option<u16> {
    let rest = line.split_once("started successfully on port ")?.1;
    rest.trim_end_matches('.').trim().parse().ok()
}

/// Ask chromedriver's `/status` whether it is ready. It announces its port once it listens, so
/// the first answer is the one that counts: there is nothing to wait for.
async fn wait_until_ready(url: &str, driver: &mut Child) {
    if let Ok(Some(exit)) = driver.try_wait() {
        panic!("chromedriver exited ({exit}) before it was ready");
    }
    let status: Value = reqwest::Client::new()
        .get(format!("{url}/status"))
        .timeout(DRIVER_START)
        .send()
        .await
        .unwrap_or_else(|e| panic!("chromedriver announced {url} but does not answer: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("chromedriver's /status is not JSON: {e}"));
    assert_eq!(
        status["value"]["ready"],
        json!(true),
        "chromedriver is not ready: {status}"
    );
}

/// The executable `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// How much a violation hurts users, as axe-core ranks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Minor,
    Moderate,
    Serious,
    Critical,
}

/// One axe-core rule the page breaks, and where.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AxeViolation {
    /// The rule, e.g. `image-alt`, `label`, `color-contrast`.
    pub id: String,
    pub impact: Option<Impact>,
    /// What the rule asks for, in a sentence.
    pub help: String,
    pub help_url: String,
    /// A CSS selector for each element that breaks it.
    pub targets: Vec<String>,
}

impl fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = self
            .impact
            .map(|i| format!("{i:?}").to_lowercase())
            .unwrap_or_else(|| "unrated".into());
        write!(
            f,
            "{} ({impact}): {} <{}>",
            self.id, self.help, self.help_url
        )?;
        for t in &self.targets {
            write!(f, "\n    {t}")?;
        }
        Ok(())
    }
}

/// The violations whose impact is serious or critical.
pub fn serious_or_worse(violations: &[AxeViolation]) -> Vec<AxeViolation> {
    violations
        .iter()
        .filter(|v| v.impact >= Some(Impact::Serious))
        .cloned()
        .collect()
}

/// The violations, one per paragraph, for an assertion's message.
pub fn list(violations: &[AxeViolation]) -> String {
    let mut out = format!("{} accessibility violation(s):", violations.len());
    for v in violations {
        out.push_str(&format!("\n  {v}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_read_from_chromedriver_s_announcement() {
        assert_eq!(
            announced_port("ChromeDriver was started successfully on port 38973."),
            Some(38973)
        );
        assert_eq!(
            announced_port("Starting ChromeDriver 156.0.8078.129 (…) on port 0"),
            None
        );
        assert_eq!(announced_port("Only local connections are allowed."), None);
    }

    #[test]
    fn serious_or_worse_keeps_serious_and_critical_only() {
        let v = |id: &str, impact| AxeViolation {
            id: id.into(),
            impact,
            help: String::new(),
            help_url: String::new(),
            targets: vec![],
        };
        let all = [
            v("a", Some(Impact::Minor)),
            v("b", Some(Impact::Moderate)),
            v("c", Some(Impact::Serious)),
            v("d", Some(Impact::Critical)),
            v("e", None),
        ];
        let ids: Vec<String> = serious_or_worse(&all).into_iter().map(|v| v.id).collect();
        assert_eq!(ids, ["c", "d"]);
    }
}
