//! The web UI in a real browser (headless Chromium over WebDriver), as a responder uses it: sign
//! in, declare a security incident, assign roles, see a step the rules forbid shown disabled with
//! its reason and refused by the server when forced, walk all 14 steps, add evidence and
//! download it, resolve and close; a non-member sees no trace of it; a form without its CSRF
//! token is refused; sign out. axe-core finds no serious violation on any page, and the pages
//! are photographed (to `target/screenshots`, or `$PALISADE_SCREENSHOTS`) for the README.

use palisade_test_support::TestServer;
use palisade_test_support::browser::fantoccini::Locator;
use palisade_test_support::browser::{Browser, list, serious_or_worse};
use serde_json::{Value, json};
use std::path::PathBuf;

fn shots() -> PathBuf {
    let dir = std::env::var_os("PALISADE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| palisade_test_support::workspace_root().join("target/screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn click(b: &Browser, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn fill(b: &Browser, css: &str, text: &str) {
    let e = b
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn select(b: &Browser, css: &str, value: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
}

/// Wait (WebDriver's wait, bounded) for an element that shows the page is where it should be.
async fn wait_for(b: &Browser, css: &str) -> fantoccini::elements::Element {
    match b
        .wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => panic!(
            "waiting for {css}: {e}\n{}",
            b.source().await.unwrap_or_default()
        ),
    }
}

async fn text_of(b: &Browser, css: &str) -> String {
    b.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn accessible(b: &Browser, page: &str) {
    let serious = serious_or_worse(&b.axe().await);
    assert!(serious.is_empty(), "{page}: {}", list(&serious));
}

/// POST from the page's own script context (what a forged or scripted request would do);
/// the status and body.
async fn fetch_post(b: &Browser, path: &str, fields: Value) -> (u64, String) {
    let r = b
        .execute_async(
            "const [path, fields, done] = arguments;
             fetch(path, {method: 'POST', body: new URLSearchParams(fields), redirect: 'manual'})
               .then(async r => done([r.status, await r.text()]))
               .catch(e => done([0, String(e)]));",
            vec![json!(path), fields],
        )
        .await
        .unwrap();
    (r[0].as_u64().unwrap(), r[1].as_str().unwrap().to_string())
}

use palisade_test_support::browser::fantoccini;

#[tokio::test]
async fn a_responder_runs_a_security_incident_start_to_close_in_the_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = TestServer::spawn().await;
    let dir = shots();

    // Setting a password through a one-time link.
    let link = s
        .post(
            "/api/v1/password-links",
            &s.admin,
            json!({"user": "dana", "role": "responder"}),
        )
        .await
        .body["path"]
        .as_str()
        .unwrap()
        .to_string();
    b.goto(&format!("{}{link}", s.url)).await.unwrap();
    wait_for(&b, "#confirm").await;
    accessible(&b, "set a password").await;
    fill(&b, "#password", "four random words here").await;
    fill(&b, "#confirm", "four random words here").await;
    click(&b, "form button[type=submit]").await;
    wait_for(&b, ".banner.ok").await;
    assert_eq!(b.current_url().await.unwrap().path(), "/login");

    // Not signed in: the sign-in page.
    b.goto(&format!("{}/incidents", s.url)).await.unwrap();
    wait_for(&b, "#token").await;
    assert_eq!(b.current_url().await.unwrap().path(), "/login");
    accessible(&b, "sign-in").await;
    b.screenshot(dir.join("sign-in.png")).await;
    fill(&b, "#token", &s.admin).await;
    click(&b, "form:has(#token) button[type=submit]").await;
    wait_for(&b, "a.button[href='/incidents/new']").await;
    accessible(&b, "incident list (empty)").await;

    // Declare.
    click(&b, "a.button[href='/incidents/new']").await;
    wait_for(&b, "#title").await;
    accessible(&b, "declare").await;
    fill(&b, "#title", "Cloud key used to start crypto miners").await;
    select(&b, "#severity", "SEV-1").await;
    fill(
        &b,
        "#summary",
        "Billing alarm: 40 GPU instances in eu-west-3 nobody started.",
    )
    .await;
    b.screenshot(dir.join("declare.png")).await;
    click(&b, "form.stack button[type=submit]").await;
    wait_for(&b, "#incident-title").await;
    let path = b.current_url().await.unwrap().path().to_string();
    let codename = path.trim_start_matches("/incidents/").to_string();
    assert!(
        text_of(&b, "#incident-title")
            .await
            .contains("Cloud key used")
    );

    // Step 10 is shown disabled with the rule's reason …
    let ten = wait_for(&b, "form[action$='/steps/10/done'] button").await;
    assert_eq!(ten.attr("disabled").await.unwrap().as_deref(), Some("true"));
    let why = text_of(&b, "#why-done-10").await;
    assert!(
        why.contains("must be done or waived first") && why.contains("rule"),
        "{why}"
    );
    // … and refused by the server when forced.
    b.execute(
        "document.querySelector(\"form[action$='/steps/10/done'] button\").removeAttribute('disabled')",
        vec![],
    )
    .await
    .unwrap();
    click(&b, "form[action$='/steps/10/done'] button").await;
    let banner = wait_for(&b, ".banner.error").await.text().await.unwrap();
    assert!(banner.contains("Refused by a process rule"), "{banner}");
    b.screenshot(dir.join("step-refused.png")).await;

    // Roles.
    let eve = s.token("eve", "responder").await;
    let sam = s.token("sam", "responder").await;
    fill(&b, "#role-user", "sam").await;
    select(&b, "#role-role", "scribe").await;
    click(&b, "form[action$='/roles'] button[type=submit]").await;
    wait_for(&b, "button[aria-label='Remove scribe from sam']").await;

    // Live: a note recorded elsewhere (the API) appears on the open page without a reload.
    s.ok(
        &format!("/api/v1/incidents/{codename}/notes"),
        &s.admin,
        json!({"text": "GuardDuty flagged the key from 203.0.113.7"}),
    )
    .await;
    let live = wait_for(&b, "section[data-region=timeline] tbody tr:first-child").await;
    b.wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::XPath(
            "//section[@data-region='timeline']//td[contains(., 'GuardDuty flagged the key')]",
        ))
        .await
        .unwrap_or_else(|e| panic!("the note did not appear live: {e}"));
    let _ = live;
    let status = text_of(&b, ".live-status").await;
    assert!(status.starts_with("Updated"), "{status}");

    // Walk the steps: 1–13 in order.
    for n in 1..=13 {
        click(&b, &format!("form[action$='/steps/{n}/done'] button")).await;
        wait_for(&b, &format!("ol.board > li:nth-child({n}).done")).await;
    }
    // Step 14 needs the IC's approval first: disabled with the reason, until approved.
    let why = text_of(&b, "#why-done-14").await;
    assert!(why.contains("external-communication"), "{why}");
    click(
        &b,
        "form[action$='/approvals/external-communication'] button",
    )
    .await;
    wait_for(&b, "ul.approvals .badge.ok").await;
    click(&b, "form[action$='/steps/14/done'] button").await;
    wait_for(&b, "ol.board > li:nth-child(14).done").await;

    // Evidence: add a file, see its custody, download it for a purpose.
    let file = tempfile::Builder::new()
        .prefix("cloudtrail-")
        .suffix(".json")
        .tempfile()
        .unwrap();
    let content = b"{\"eventName\":\"RunInstances\",\"sourceIPAddress\":\"203.0.113.7\"}\n";
    std::fs::write(file.path(), content).unwrap();
    fill(&b, "#ev-source", "CloudTrail, account 1234").await;
    fill(&b, "#ev-tool", "aws s3 cp (CLI 2.15)").await;
    b.find(Locator::Css("#ev-file"))
        .await
        .unwrap()
        .send_keys(&file.path().display().to_string())
        .await
        .unwrap();
    click(&b, "form[action$='/evidence'] button[type=submit]").await;
    wait_for(&b, "#e1-title").await;
    let sha = text_of(&b, "article.evidence code.hash").await;
    assert_eq!(sha.len(), 64);
    // Download from the page's session (what the Download button posts), hashed in the browser.
    let csrf = b
        .find(Locator::Css("input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let got = b
        .execute_async(
            "const [path, csrf, done] = arguments;
             fetch(path, {method: 'POST', body: new URLSearchParams({csrf, purpose: 'timeline of the miner launch'})})
               .then(r => r.arrayBuffer().then(buf => crypto.subtle.digest('SHA-256', buf)).then(d =>
                  done([r.status, r.headers.get('content-disposition'),
                        Array.from(new Uint8Array(d)).map(x => x.toString(16).padStart(2, '0')).join('')])))
               .catch(e => done([0, String(e), '']));",
            vec![json!(format!("{path}/evidence/1/download")), json!(csrf)],
        )
        .await
        .unwrap();
    assert_eq!(got[0], 200, "{got}");
    assert!(
        got[1]
            .as_str()
            .unwrap()
            .contains("attachment; filename=\"cloudtrail-"),
        "{got}"
    );
    assert_eq!(
        got[2].as_str().unwrap(),
        sha,
        "the download is the content, byte for byte"
    );
    b.refresh().await.unwrap();
    wait_for(&b, "#e1-title").await;
    let custody = b
        .find(Locator::Css("details.custody"))
        .await
        .unwrap()
        .html(false)
        .await
        .unwrap();
    assert!(custody.contains("acquired by admin"), "{custody}");
    assert!(
        custody.contains("timeline of the miner launch"),
        "the access and its purpose: {custody}"
    );
    accessible(&b, "incident page").await;
    b.screenshot(dir.join("incident.png")).await;
    b.set_window_size(375, 800).await;
    b.screenshot(dir.join("incident-phone.png")).await;
    let width: Value = b
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .unwrap();
    assert!(
        width.as_u64().unwrap() <= 375,
        "no sideways scrolling on a phone: {width}"
    );
    b.set_window_size(1280, 900).await;

    // Resolve and close.
    fill(
        &b,
        "#resolve-summary",
        "Key revoked, miners terminated, billing disputed.",
    )
    .await;
    click(&b, "form[action$='/resolve'] button[type=submit]").await;
    wait_for(&b, "form[action$='/close'] button").await;
    click(&b, "form[action$='/close'] button").await;
    wait_for(&b, ".badge.st-closed").await;
    let api = s
        .get(&format!("/api/v1/incidents/{codename}"), &s.admin)
        .await
        .body;
    assert_eq!(api["status"], "closed");
    assert!(
        api["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|st| st["status"] == "done")
    );

    b.goto(&format!("{}/break-glass", s.url)).await.unwrap();
    wait_for(&b, "#bg-reason").await;
    accessible(&b, "break-glass").await;

    // The account page lists this session.
    b.goto(&format!("{}/account", s.url)).await.unwrap();
    wait_for(&b, "#sessions-title").await;
    accessible(&b, "account").await;
    b.goto(&format!("{}/incidents", s.url)).await.unwrap();
    wait_for(&b, "table.list").await;
    accessible(&b, "incident list").await;
    b.screenshot(dir.join("incidents.png")).await;

    // Sign out; sign in as someone who is not a member.
    click(&b, "form.signout button").await;
    wait_for(&b, "#token").await;
    fill(&b, "#token", &eve).await;
    click(&b, "form:has(#token) button[type=submit]").await;
    wait_for(&b, "form.filters").await;
    assert!(
        !b.source().await.unwrap().contains(&codename),
        "absent from eve's list"
    );
    b.goto(&format!("{}{path}", s.url)).await.unwrap();
    let h1 = wait_for(&b, "h1").await.text().await.unwrap();
    assert_eq!(h1, "Not found");
    assert!(!b.source().await.unwrap().contains("crypto miners"));

    // A form without the session's CSRF token is refused, and declares nothing.
    let (status, body) = fetch_post(
        &b,
        "/incidents",
        json!({"title": "forged", "severity": "SEV-1"}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let all = s.get("/api/v1/incidents", &s.admin).await.body;
    assert_eq!(all["incidents"].as_array().unwrap().len(), 1);
    let _ = sam;

    // Sign out: back to the sign-in page, and the incident list needs signing in again.
    b.goto(&format!("{}/incidents", s.url)).await.unwrap();
    click(&b, "form.signout button").await;
    wait_for(&b, "#token").await;
    b.goto(&format!("{}/incidents", s.url)).await.unwrap();
    wait_for(&b, "#token").await;
    assert_eq!(b.current_url().await.unwrap().path(), "/login");
    b.close().await;
}
