//! The services, on-call and alert pages in a real browser (headless Chromium over WebDriver):
//! each page has no serious accessibility violation by axe-core, the timeline is drawn, and an
//! alert is acknowledged by clicking its button. The pages are photographed (to
//! `target/screenshots`, or `$PALISADE_SCREENSHOTS`): `service.png`, `oncall.png`,
//! `schedule.png`, `alert.png`.

use palisade_test_support::TestServer;
use palisade_test_support::browser::fantoccini::Locator;
use palisade_test_support::browser::{Browser, list, serious_or_worse};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;

fn shots() -> PathBuf {
    let dir = std::env::var_os("PALISADE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| palisade_test_support::workspace_root().join("target/screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Wait (WebDriver's wait, bounded) for an element that shows the page is where it should be.
async fn wait_for(b: &Browser, css: &str) {
    if let Err(e) = b
        .wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
    {
        panic!(
            "waiting for {css}: {e}\n{}",
            b.source().await.unwrap_or_default()
        );
    }
}

async fn visit(b: &Browser, url: &str, ready: &str) {
    b.goto(url).await.unwrap();
    wait_for(b, ready).await;
    let serious = serious_or_worse(&b.axe().await);
    assert!(serious.is_empty(), "{url}: {}", list(&serious));
}

async fn created(s: &TestServer, path: &str, body: Value) -> Value {
    let r = s.post(path, &s.admin, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.text);
    r.body
}

async fn ok(s: &TestServer, path: &str, body: Value) {
    let r = s.post(path, &s.admin, body).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
}

#[tokio::test]
async fn services_on_call_and_alert_pages_are_accessible_in_the_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = TestServer::spawn_with(|c| c.manual_timers = true).await;
    for u in ["ana", "ben", "cy", "dee"] {
        s.token(u, "responder").await;
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let rfc3339 = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    // A 24/7 rotation with an office-hours layer on top, and a night with nobody.
    created(
        &s,
        "/api/v1/schedules",
        json!({"name": "payments-primary", "description": "Payments, first line", "time_zone": "Europe/Berlin", "layers": [
            {"participants": ["ana", "ben"], "rotation": {"unit": "daily", "length": 1, "handoff": "09:00"},
             "start": "2026-01-05T09:00:00+01:00",
             "restrictions": [{"type": "daily", "from": "07:00", "to": "23:00"}]},
            {"participants": ["cy", "dee"], "rotation": {"unit": "weekly", "length": 1, "handoff": "09:00"},
             "start": "2026-01-05T09:00:00+01:00",
             "restrictions": [{"type": "daily", "from": "09:00", "to": "17:00"}]}
        ]}),
    )
    .await;
    created(
        &s,
        "/api/v1/schedules",
        json!({"name": "platform", "description": "Infrastructure, 24/7", "time_zone": "America/New_York", "layers": [
            {"participants": ["dee", "cy", "ben"], "rotation": {"unit": "weekly", "length": 1, "handoff": "10:00"},
             "start": "2026-01-05T10:00:00-05:00"}
        ]}),
    )
    .await;
    created(
        &s,
        "/api/v1/schedules",
        json!({"name": "security-office-hours", "time_zone": "UTC", "layers": [
            {"participants": ["ana"], "rotation": {"unit": "daily", "length": 1}, "start": "2026-01-05T09:00:00Z",
             "restrictions": [{"type": "daily", "from": "09:00", "to": "17:00"}]}
        ]}),
    )
    .await;
    created(&s, "/api/v1/teams", json!({"name": "payments"})).await;
    created(
        &s,
        "/api/v1/escalation-policies",
        json!({"name": "payments-urgent", "levels": [
            {"delay_minutes": 5, "targets": [{"type": "schedule", "name": "payments-primary"}]},
            {"delay_minutes": 15, "targets": [{"type": "user", "name": "dee"}]}
        ]}),
    )
    .await;
    created(
        &s,
        "/api/v1/services",
        json!({"name": "payments-api", "description": "Card payments and refunds"}),
    )
    .await;
    let base = "/api/v1/services/payments-api";
    ok(&s, &format!("{base}/owner"), json!({"team": "payments"})).await;
    ok(
        &s,
        &format!("{base}/escalation-policy"),
        json!({"policy": "payments-urgent"}),
    )
    .await;
    ok(&s, &format!("{base}/tier"), json!({"tier": 1})).await;
    ok(
        &s,
        &format!("{base}/runbooks"),
        json!({"url": "https://wiki.example/payments", "title": "Payments runbook"}),
    )
    .await;
    ok(
        &s,
        &format!("{base}/maintenance"),
        json!({"from": rfc3339(now + 3 * 86_400), "to": rfc3339(now + 3 * 86_400 + 7200), "reason": "Database upgrade"}),
    )
    .await;
    let key = created(
        &s,
        &format!("{base}/integrations"),
        json!({"name": "prometheus"}),
    )
    .await["routing_key"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..3 {
        let r = s
            .send(s.http.post(format!("{}/v2/enqueue", s.url)).json(&json!({
                "routing_key": key, "event_action": "trigger", "dedup_key": "checkout/5xx",
                "payload": {"summary": "Checkout returns 5xx for 12% of requests", "source": "lb-1",
                            "severity": "critical", "component": "checkout"},
                "links": [{"href": "https://grafana.example/d/checkout", "text": "Checkout dashboard"}]
            })))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let at_us = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
    assert_eq!(
        s.app.run_due_timers_at(at_us + 1_000_000).await,
        0,
        "taken with the trigger"
    );
    let alerts = s
        .get("/api/v1/alerts?service=payments-api", &s.admin)
        .await
        .body;
    let id = alerts["alerts"][0]["id"].as_str().unwrap().to_string();
    let dir = shots();

    b.goto(&format!("{}/login?next=/services", s.url))
        .await
        .unwrap();
    wait_for(&b, "#token").await;
    let token = b.find(Locator::Css("#token")).await.unwrap();
    token.send_keys(&s.admin).await.unwrap();
    b.find(Locator::Css("form:has(#token) button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, "a[href='/services/payments-api']").await;
    let serious = serious_or_worse(&b.axe().await);
    assert!(serious.is_empty(), "services: {}", list(&serious));

    visit(
        &b,
        &format!("{}/services/payments-api", s.url),
        "#paged-title",
    )
    .await;
    b.screenshot(dir.join("service.png")).await;
    visit(
        &b,
        &format!("{}/oncall", s.url),
        "a[href='/schedules/payments-primary']",
    )
    .await;
    b.screenshot(dir.join("oncall.png")).await;
    visit(
        &b,
        &format!("{}/schedules/payments-primary", s.url),
        "svg.timeline",
    )
    .await;
    // The timeline is drawn at a size one can read.
    let svg = b.find(Locator::Css("svg.timeline")).await.unwrap();
    let (_, _, width, height) = svg.rectangle().await.unwrap();
    assert!(width > 600.0 && height > 100.0, "{width}×{height}");
    b.screenshot(dir.join("schedule.png")).await;
    visit(&b, &format!("{}/alerts", s.url), "form.filters").await;
    visit(&b, &format!("{}/alerts/{id}", s.url), "#timeline-title").await;
    // Tall enough to show the timeline under the facts.
    b.set_window_size(1280, 1300).await;
    b.screenshot(dir.join("alert.png")).await;

    // Acknowledge by clicking: the page comes back with the alert acknowledged.
    b.find(Locator::Css("form[action$='/acknowledge'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, "span.badge.alert-acknowledged").await;
    let v = s.get(&format!("/api/v1/alerts/{id}"), &s.admin).await.body;
    assert_eq!(v["status"], "acknowledged");
    let serious = serious_or_worse(&b.axe().await);
    assert!(serious.is_empty(), "acknowledged alert: {}", list(&serious));

    // The findings a build uploaded: the list and a finding's page with its triage forms.
    let report = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep"}}, "results": [
        {"ruleId": "python.sql-injection", "level": "error", "message": {"text": "query built from request data"},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": "checkout/db.py"}, "region": {"startLine": 41}}}]},
        {"ruleId": "python.weak-hash", "level": "warning", "message": {"text": "MD5 used for a token"},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": "checkout/tokens.py"}, "region": {"startLine": 9}}}]}]}]});
    let r = s
        .send(
            s.http
                .post(format!(
                    "{}/api/v1/services/payments-api/findings/uploads?phase=build",
                    s.url
                ))
                .bearer_auth(&s.admin)
                .json(&report),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let finding = r.body["opened"][0].as_str().unwrap().to_string();
    visit(&b, &format!("{}/findings", s.url), "form.filters").await;
    b.screenshot(dir.join("findings.png")).await;
    visit(
        &b,
        &format!("{}/findings/{finding}", s.url),
        "#triage-title",
    )
    .await;
    b.screenshot(dir.join("finding.png")).await;

    // A CTF event: the list, the event's page, a flag submitted through its form.
    let salt = [9u8; 8];
    let toml = format!(
        "id = \"warmup\"\nname = \"Warm-up\"\ncategory = \"misc\"\ndescription = \"Read the notes.\"\nvalue = 50\nattachments = [\"notes.txt\"]\n[[flags]]\ntype = \"static\"\nsalt = \"{}\"\nsha256 = \"{}\"\n",
        hex::encode(salt),
        palisade_training::ctf::challenge::hash_flag(&salt, "palisade{hello}", true)
    );
    created(
        &s,
        "/api/v1/ctf",
        json!({"name": "friday", "start": rfc3339(now - 3600), "end": rfc3339(now + 3600),
               "mode": "teams", "challenges": [{"file": "w.toml", "toml": toml,
               "attachments": [{"name": "notes.txt", "content_base64": "dGhlIG5vdGVzCg=="}]}]}),
    )
    .await;
    ok(
        &s,
        "/api/v1/ctf/friday/accounts",
        json!({"id": "red", "name": "Team red", "members": ["admin"]}),
    )
    .await;
    visit(&b, &format!("{}/ctf", s.url), "table.list").await;
    visit(&b, &format!("{}/ctf/friday", s.url), "#submit-title").await;
    let file = b
        .find(Locator::Css("a[download][href$='/attachments/notes.txt']"))
        .await
        .unwrap();
    assert_eq!(file.text().await.unwrap(), "notes.txt");
    let flag = b.find(Locator::Css("input[name=flag]")).await.unwrap();
    flag.send_keys("palisade{hello}").await.unwrap();
    b.find(Locator::Css("form:has(#submit-title) button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The answer page (after the redirect) says it was right.
    wait_for(&b, ".banner.ok").await;
    let serious = serious_or_worse(&b.axe().await);
    assert!(serious.is_empty(), "CTF answer page: {}", list(&serious));
    b.screenshot(dir.join("ctf.png")).await;

    // A maturity assessment kept on the server: the list and its page.
    created(
        &s,
        "/api/v1/assessments",
        json!({"name": "payments-samm", "kind": "samm"}),
    )
    .await;
    ok(
        &s,
        "/api/v1/assessments/payments-samm/records",
        json!({"file": "format: 1\nmodel: { kind: samm, version: \"2.0.0\" }\nassessments:\n  - date: \"2026-03-01\"\n    by: admin\n    answers:\n      G-SM-A-1: { value: 0.5, evidence: [\"https://wiki.example/strategy\"] }\n      G-SM-A-2: ~\n"}),
    )
    .await;
    visit(&b, &format!("{}/maturity", s.url), "table.list").await;
    visit(
        &b,
        &format!("{}/maturity/payments-samm", s.url),
        "#answers-title",
    )
    .await;
    b.screenshot(dir.join("maturity.png")).await;
    b.close().await;
}
