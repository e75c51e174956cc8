//! The browser harness against two tiny pages served here under a strict Content-Security-Policy
//! (no inline scripts), as the web UI will be: navigation, a form filled and submitted, a window
//! resized to a phone's width, a screenshot, and axe-core run in spite of the policy.

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use fantoccini::Locator;
use palisade_test_support::browser::{Browser, DEFAULT_WINDOW, list, serious_or_worse};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'";

/// A page with nothing for axe to object to seriously. Its inline script must not run (CSP).
const GOOD: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Declare an incident</title></head>
<body>
<main>
<h1>Declare an incident</h1>
<form method="post" action="/declare">
  <label for="title">Title</label>
  <input id="title" name="title" type="text">
  <button type="submit">Declare</button>
</form>
</main>
<script>document.body.dataset.inline = "ran";</script>
</body>
</html>"#;

/// A page with two known faults: an image without a text alternative, a field without a label.
const BAD: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Faults</title></head>
<body>
<main>
<h1>Faults</h1>
<img id="logo" src="/logo.png">
<input id="unlabelled" name="q" type="text">
</main>
</body>
</html>"#;

/// The titles the server received.
type Seen = Arc<Mutex<Vec<String>>>;

#[derive(serde::Deserialize)]
struct Declare {
    title: String,
}

async fn declare(State(seen): State<Seen>, Form(d): Form<Declare>) -> Html<String> {
    seen.lock().unwrap().push(d.title.clone());
    let escaped = d
        .title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Declared</title></head>
<body><main><h1>Declared</h1><p id="declared">{escaped}</p></main></body></html>"#
    ))
}

/// The two pages on 127.0.0.1:0, every response with [`CSP`]: its URL and what it received.
async fn serve() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/good", get(|| async { Html(GOOD) }))
        .route("/bad", get(|| async { Html(BAD) }))
        .route("/declare", post(declare))
        .with_state(seen.clone())
        .layer(axum::middleware::map_response(|mut r: Response| async {
            r.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            r
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// Width and height from a PNG's IHDR chunk, after checking its signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG: {:?}",
        &bytes[..bytes.len().min(8)]
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test]
async fn a_form_is_filled_and_submitted_and_the_page_captured_at_two_widths() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (url, seen) = serve().await;

    browser.goto(&format!("{url}/good")).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Declare an incident");
    // The policy is in force: the page's inline script did not run.
    let inline = browser
        .execute("return document.body.dataset.inline ?? null", vec![])
        .await
        .unwrap();
    assert_eq!(
        inline,
        serde_json::Value::Null,
        "CSP let an inline script run"
    );

    browser
        .find(Locator::Id("title"))
        .await
        .unwrap()
        .send_keys("Disk full on <db-1> & db-2")
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let declared = browser
        .wait()
        .for_element(Locator::Id("declared"))
        .await
        .unwrap();
    assert_eq!(declared.text().await.unwrap(), "Disk full on <db-1> & db-2");
    assert_eq!(
        browser.current_url().await.unwrap().as_str(),
        format!("{url}/declare")
    );
    assert_eq!(*seen.lock().unwrap(), ["Disk full on <db-1> & db-2"]);

    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.png");
    browser.screenshot(&wide).await;
    let (w, _) = png_size(&std::fs::read(&wide).unwrap());
    assert_eq!(w, DEFAULT_WINDOW.0);

    browser.set_window_size(375, 812).await;
    let inner = browser
        .execute("return window.innerWidth", vec![])
        .await
        .unwrap();
    assert_eq!(inner, 375, "the viewport is the window's width");
    let phone = dir.path().join("phone.png");
    browser.screenshot(&phone).await;
    let (w, h) = png_size(&std::fs::read(&phone).unwrap());
    assert_eq!(w, 375);
    assert!(h > 0);

    browser.close().await;
}

#[tokio::test]
async fn axe_runs_under_a_strict_csp_and_names_the_faults() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (url, _) = serve().await;

    browser.goto(&format!("{url}/bad")).await.unwrap();
    let found = browser.axe().await;
    let ids: BTreeSet<&str> = found.iter().map(|v| v.id.as_str()).collect();
    assert!(
        ids.contains("image-alt") && ids.contains("label"),
        "{}",
        list(&found)
    );
    let targets = |id: &str| {
        found
            .iter()
            .find(|v| v.id == id)
            .map(|v| v.targets.clone())
            .unwrap()
    };
    assert_eq!(targets("image-alt"), ["#logo"]);
    assert_eq!(targets("label"), ["#unlabelled"]);
    let serious = serious_or_worse(&found);
    let serious_ids: BTreeSet<&str> = serious.iter().map(|v| v.id.as_str()).collect();
    assert!(
        serious_ids.contains("image-alt") && serious_ids.contains("label"),
        "{}",
        list(&serious)
    );

    browser.goto(&format!("{url}/good")).await.unwrap();
    let serious = serious_or_worse(&browser.axe().await);
    assert!(serious.is_empty(), "{}", list(&serious));

    browser.close().await;
}

/// The processes whose command line names `needle` (a zombie's is empty, so it is not counted).
fn processes_naming(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

#[tokio::test]
async fn a_browser_dropped_without_close_leaves_no_chromium_running() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    // ChromeDriver reports the profile it started Chromium with; every Chromium process of this
    // session names it on its command line.
    let profile = browser.capabilities().unwrap()["chrome"]["userDataDir"]
        .as_str()
        .expect("chromedriver reports chrome.userDataDir")
        .to_string();
    assert!(!processes_naming(&profile).is_empty(), "Chromium runs");

    drop(browser);
    // SIGKILL is delivered asynchronously: wait on the processes themselves (a pidfd becomes
    // readable when its process ends), bounded, until none of the session's is left.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut left = processes_naming(&profile);
    while !left.is_empty() {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(!remaining.is_zero(), "still running after drop: {left:?}");
        for pid in &left {
            // Gone already (ESRCH) is what we wait for.
            let Some(fd) = rustix::process::Pid::from_raw(*pid as i32).and_then(|p| {
                rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
            }) else {
                continue;
            };
            let mut fds = [rustix::event::PollFd::new(
                &fd,
                rustix::event::PollFlags::IN,
            )];
            let timeout = rustix::event::Timespec::try_from(remaining).unwrap();
            rustix::event::poll(&mut fds, Some(&timeout)).unwrap();
        }
        left = processes_naming(&profile);
    }
    assert!(left.is_empty(), "still running after drop: {left:?}");
}
