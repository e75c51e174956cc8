//! Paging end to end, on both backends: an alert pages whoever is on call by the service's
//! escalation policy (a schedule, then a named person), through each person's contact methods
//! (email over SMTP) or the deployment's webhook; an unacknowledged alert escalates after its
//! level's delay; acknowledging stops it; a maintenance window suppresses it; each step says why.
//! Page emails to one person are throttled, and the pages that wait go out as one email.
//! Time is the test's: steps are taken with `run_due_timers_at` (no worker, no sleeping). A new
//! alert's first step is recorded with its trigger, so no timer is due right after one (the
//! tests say so: `run_due_timers() == 0`).

use palisade_app::notify::{NotifyConfig, SmtpConfig};
use palisade_server::AppConfig;
use palisade_test_support::{SmtpSink, TestServer, backends};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;

/// A webhook receiver (the deployment's `notify_url`): each body, in order.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(serde_json::from_str(&body).unwrap_or(Value::Null));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("a webhook within 30 s")
        .unwrap()
}

fn now_us() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

async fn ok(srv: &TestServer, path: &str, token: &str, body: Value) -> Value {
    let r = srv.post(path, token, body).await;
    assert!(r.status.is_success(), "{path}: {}", r.text);
    r.body
}

async fn trigger(srv: &TestServer, key: &str, dedup: &str) -> String {
    let r = srv
        .send(srv.http.post(format!("{}/v2/enqueue", srv.url)).json(&json!({
            "routing_key": key, "event_action": "trigger", "dedup_key": dedup,
            "payload": {"summary": format!("Checkout failing ({dedup})"), "source": "web-1", "severity": "critical"}
        })))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let list = srv
        .get("/api/v1/alerts?service=payments-api", &srv.admin)
        .await;
    list.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["dedup_key"] == dedup && a["status"] == "triggered")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Pages recorded for `alert` in the outbox (sent or not).
async fn pages_of(srv: &TestServer, alert: &str) -> usize {
    srv.app
        .store()
        .outbox_list(None, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|d| d.kind == "page" && d.stream.map(|s| s.to_string()).as_deref() == Some(alert))
        .count()
}

/// Email through the test's SMTP sink, nothing else.
fn email_only(smtp: &SmtpSink) -> NotifyConfig {
    let mut cfg = NotifyConfig::new(String::new(), String::new());
    cfg.smtp = Some(SmtpConfig {
        url: smtp.url.clone(),
        from: "palisade@example.com".into(),
    });
    cfg
}

/// alice, a responder reached by email; her token.
async fn alice_by_email(srv: &TestServer) -> String {
    let alice = srv.token("alice", "responder").await;
    ok(
        srv,
        "/api/v1/people/alice/contact-methods",
        &alice,
        json!({"type": "email", "address": "alice@example.com"}),
    )
    .await;
    alice
}

/// The service payments-api and its integration's routing key.
async fn payments_key(srv: &TestServer) -> String {
    ok(
        srv,
        "/api/v1/services",
        &srv.admin,
        json!({"name": "payments-api"}),
    )
    .await;
    ok(
        srv,
        "/api/v1/services/payments-api/integrations",
        &srv.admin,
        json!({"name": "prometheus"}),
    )
    .await["routing_key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Service payments-api, whose policy pages alice (level 1, 30 minutes); its routing key.
async fn payments_paging_alice(srv: &TestServer) -> String {
    ok(
        srv,
        "/api/v1/escalation-policies",
        &srv.admin,
        json!({"name": "payments", "levels": [
            {"delay_minutes": 30, "targets": [{"type": "user", "name": "alice"}]}]}),
    )
    .await;
    let key = payments_key(srv).await;
    ok(
        srv,
        "/api/v1/services/payments-api/escalation-policy",
        &srv.admin,
        json!({"policy": "payments"}),
    )
    .await;
    key
}

fn history(v: &Value) -> Vec<(String, String)> {
    v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["type"].as_str().unwrap().to_string(),
                h["description"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alert_pages_the_on_call_escalates_stops_when_acknowledged_and_is_suppressed_in_maintenance()
 {
    for (name, store, _dir) in backends().await {
        let (hook, mut webhooks) = receiver().await;
        let mut smtp = SmtpSink::start().await;
        let mut notify = NotifyConfig::new(hook, "whsec_dGVzdA==".into());
        notify.smtp = Some(SmtpConfig {
            url: smtp.url.clone(),
            from: "Palisade <palisade@example.com>".into(),
        });
        notify.initial_backoff = Duration::from_millis(20);
        // Every page of this test goes out as it falls due (the throttle has its own test).
        notify.throttle = palisade_app::notify::Throttle {
            slack: Duration::ZERO,
            email: Duration::ZERO,
        };
        let srv = TestServer::serve(AppConfig {
            store,
            notify: Some(notify),
            manual_timers: true,
            ..Default::default()
        })
        .await;
        let alice = srv.token("alice", "responder").await;
        srv.token("bob", "responder").await;
        // alice is reached by email; bob has set nothing (the deployment's webhook).
        ok(
            &srv,
            "/api/v1/people/alice/contact-methods",
            &alice,
            json!({"type": "email", "address": "alice@example.com"}),
        )
        .await;
        ok(
            &srv,
            "/api/v1/schedules",
            &srv.admin,
            json!({"name": "primary", "time_zone": "Europe/Berlin",
                   "layers": [{"participants": ["alice"], "rotation": {"unit": "daily", "length": 1},
                               "start": "2026-01-01T09:00:00+01:00"}]}),
        )
        .await;
        ok(
            &srv,
            "/api/v1/escalation-policies",
            &srv.admin,
            json!({"name": "payments", "levels": [
                {"delay_minutes": 5, "targets": [{"type": "schedule", "name": "primary"}]},
                {"delay_minutes": 10, "targets": [{"type": "user", "name": "bob"}]}]}),
        )
        .await;
        ok(
            &srv,
            "/api/v1/services",
            &srv.admin,
            json!({"name": "payments-api"}),
        )
        .await;
        ok(
            &srv,
            "/api/v1/services/payments-api/escalation-policy",
            &srv.admin,
            json!({"policy": "payments"}),
        )
        .await;
        let key = ok(
            &srv,
            "/api/v1/services/payments-api/integrations",
            &srv.admin,
            json!({"name": "prometheus"}),
        )
        .await["routing_key"]
            .as_str()
            .unwrap()
            .to_string();

        // Level 1 at once: alice, on call in the schedule, by email.
        let first = trigger(&srv, &key, "checkout").await;
        let t0 = now_us();
        assert_eq!(srv.app.run_due_timers().await, 0, "{name}");
        let (to, mail) = smtp.next().await;
        assert_eq!(to, "<alice@example.com>", "{name}");
        assert!(mail.contains("Checkout failing (checkout)"), "{mail}");
        // Nobody acknowledged within 5 minutes: level 2, bob, through the deployment's webhook.
        assert_eq!(
            srv.app.run_due_timers_at(t0 + 299_000_000).await,
            0,
            "{name}: not yet"
        );
        assert_eq!(
            srv.app.run_due_timers_at(t0 + 301_000_000).await,
            1,
            "{name}"
        );
        let page = next(&mut webhooks).await;
        assert_eq!(page["type"], "page");
        assert_eq!(page["to"], "bob");
        assert_eq!(page["level"], 2);
        assert_eq!(page["alert"], first.as_str());
        // That was the last step: nothing is due, however late.
        assert_eq!(
            srv.app.run_due_timers_at(t0 + 7_200_000_000).await,
            0,
            "{name}"
        );
        let v = srv
            .get(&format!("/api/v1/alerts/{first}"), &srv.admin)
            .await;
        let steps: Vec<String> = history(&v.body)
            .into_iter()
            .filter(|(t, _)| t == "escalated")
            .map(|(_, d)| d)
            .collect();
        assert_eq!(steps.len(), 2, "{name}: {steps:?}");
        assert!(
            steps[0].starts_with("Paged alice (policy payments: on call in schedule primary: alice) at level 1 of round 1; level 2 of round 1 in 300 s"),
            "{}",
            steps[0]
        );
        assert!(
            steps[1].starts_with(
                "Paged bob (policy payments: bob named) at level 2 of round 1; the last step"
            ),
            "{}",
            steps[1]
        );
        assert_eq!(pages_of(&srv, &first).await, 2);

        // A second alert: alice acknowledges after the first page, and nobody else is paged.
        let second = trigger(&srv, &key, "payments-db").await;
        let t1 = now_us();
        assert_eq!(srv.app.run_due_timers().await, 0);
        smtp.next().await;
        let r = srv
            .post(
                &format!("/api/v1/alerts/{second}/acknowledge"),
                &alice,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            srv.app.run_due_timers_at(t1 + 301_000_000).await,
            1,
            "the timer fires"
        );
        assert_eq!(
            pages_of(&srv, &second).await,
            1,
            "{name}: acknowledged, nobody else paged"
        );

        // In a maintenance window nobody is paged, and the alert says so.
        let from = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
        let to = from + time::Duration::hours(1);
        let fmt = &time::format_description::well_known::Rfc3339;
        ok(
            &srv,
            "/api/v1/services/payments-api/maintenance",
            &srv.admin,
            json!({"from": from.format(fmt).unwrap(), "to": to.format(fmt).unwrap(), "reason": "database upgrade"}),
        )
        .await;
        let third = trigger(&srv, &key, "during-upgrade").await;
        assert_eq!(srv.app.run_due_timers().await, 0);
        assert_eq!(pages_of(&srv, &third).await, 0, "{name}");
        let v = srv
            .get(&format!("/api/v1/alerts/{third}"), &srv.admin)
            .await;
        let last = history(&v.body).pop().unwrap();
        assert_eq!(last.0, "escalated");
        assert!(
            last.1.contains("is in maintenance window 1") && last.1.contains("database upgrade"),
            "{}",
            last.1
        );
        // Two alerts paged someone, each counted once.
        let metrics = srv.get("/metrics", &srv.admin).await.text;
        assert!(
            metrics.contains("palisade_alert_first_page_seconds_count 2"),
            "{metrics}"
        );
    }
}

/// Email through SMTP: the Message-ID is the delivery's id (the receiver's idempotency key); a
/// malformed address fails with the reason, like any failed delivery.
#[tokio::test]
async fn an_email_carries_its_delivery_id_and_a_bad_address_is_an_error() {
    use palisade_store::{Destination, OutboxItem};
    let mut smtp = SmtpSink::start().await;
    let mut cfg = NotifyConfig::new("http://x.invalid".into(), "s".into());
    cfg.smtp = Some(SmtpConfig {
        url: smtp.url.clone(),
        from: "Palisade <palisade@example.com>".into(),
    });
    let item = |to: &str| OutboxItem {
        id: uuid::Uuid::from_u128(42),
        stream: None,
        kind: "page".into(),
        destination: Destination::Email { to: to.into() },
        payload: json!({"summary": "Disk full on web-1", "text": "[critical] Disk full on web-1"})
            .to_string(),
        created_at: "2026-12-07T03:00:00Z".into(),
        attempts: 1,
    };
    let http = reqwest::Client::new();
    palisade_app::notify::deliver(&http, &cfg, &item("dana@example.com"))
        .await
        .unwrap();
    let (rcpt, data) = smtp.next().await;
    assert_eq!(rcpt, "<dana@example.com>");
    assert!(
        data.contains("Subject: [Palisade page] Disk full on web-1"),
        "{data}"
    );
    assert!(
        data.contains("Message-ID: <00000000-0000-0000-0000-00000000002a@palisade>"),
        "{data}"
    );
    let e = palisade_app::notify::deliver(&http, &cfg, &item("not an address"))
        .await
        .unwrap_err();
    assert!(e.contains("not an address"), "{e}");
    cfg.smtp = None;
    let e = palisade_app::notify::deliver(&http, &cfg, &item("dana@example.com"))
        .await
        .unwrap_err();
    assert!(e.contains("no SMTP server"), "{e}");
}

/// Pages by email to one person are throttled and bundled: the first goes at once; the pages of
/// the same service that fall due within the next minute wait (not counted as attempts), then
/// go as one email listing them all. No worker runs: the test sends at the times it chooses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_emails_to_one_person_are_throttled_and_bundled() {
    use palisade_app::notify::{LastSent, deliver_due_with};
    for (name, store, _dir) in backends().await {
        let mut smtp = SmtpSink::start().await;
        let srv = TestServer::serve(AppConfig {
            store,
            manual_timers: true,
            ..Default::default()
        })
        .await;
        let cfg = email_only(&smtp);
        assert_eq!(cfg.throttle.email, Duration::from_secs(60), "the default");
        let http = reqwest::Client::new();
        let last = LastSent::default();
        alice_by_email(&srv).await;
        let key = payments_paging_alice(&srv).await;
        let store = srv.app.store().clone();
        let t0 = now_us();
        let send = |at: i64| deliver_due_with(&store, &http, &cfg, &last, at);

        // The first page goes at once, alone.
        trigger(&srv, &key, "a").await;
        assert_eq!(srv.app.run_due_timers().await, 0);
        assert_eq!(send(t0 + 1_000_000).await, 1, "{name}");
        let (_, first) = smtp.next().await;
        assert!(first.contains("Checkout failing (a)"), "{first}");

        // Two more within the minute wait for it, and are not counted as attempts.
        trigger(&srv, &key, "b").await;
        trigger(&srv, &key, "c").await;
        assert_eq!(srv.app.run_due_timers().await, 0);
        assert_eq!(send(t0 + 2_000_000).await, 0, "{name}: held back");
        let waiting: Vec<_> = store
            .outbox_list(None, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.kind == "page" && d.delivered_at.is_none())
            .collect();
        assert_eq!(waiting.len(), 2, "{name}");
        for d in &waiting {
            assert_eq!(d.attempts, 0, "{name}: a wait is not an attempt");
            assert_eq!(
                d.next_attempt_us,
                t0 + 61_000_000,
                "{name}: due when the minute ends"
            );
        }
        assert_eq!(
            send(t0 + 30_000_000).await,
            0,
            "{name}: still within the minute"
        );

        // When the minute is up: one email for both.
        assert_eq!(send(t0 + 61_000_000).await, 2, "{name}");
        let (rcpt, both) = smtp.next().await;
        assert_eq!(rcpt, "<alice@example.com>");
        assert!(
            both.contains("Subject: [Palisade page] 2 alerts need you"),
            "{both}"
        );
        assert!(
            both.contains("Checkout failing (b)") && both.contains("Checkout failing (c)"),
            "{both}"
        );
        assert_eq!(
            send(t0 + 200_000_000).await,
            0,
            "{name}: nothing sent twice"
        );
        let delivered = srv
            .get("/api/v1/deliveries?state=delivered", &srv.admin)
            .await;
        let pages = delivered.body["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"] == "page")
            .count();
        assert_eq!(
            pages, 3,
            "{name}: each page is delivered: {}",
            delivered.text
        );
    }
}

/// A person's later notification rule does not go out once they acknowledged, unless the
/// policy keeps paging after an acknowledgement; a resolved alert pages nobody more either way.
/// No worker runs: the test takes steps and sends at the times it chooses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_notification_rules_stop_at_acknowledgement_unless_the_policy_keeps_paging() {
    for (name, store, _dir) in backends().await {
        let mut smtp = SmtpSink::start().await;
        let srv = TestServer::serve(AppConfig {
            store,
            manual_timers: true,
            ..Default::default()
        })
        .await;
        let cfg = email_only(&smtp);
        let http = reqwest::Client::new();
        let alice = alice_by_email(&srv).await;
        for after in [0, 5] {
            ok(
                &srv,
                "/api/v1/people/alice/notification-rules",
                &alice,
                json!({"contact": 1, "after_minutes": after}),
            )
            .await;
        }
        for (policy, keep) in [("stops", false), ("keeps", true)] {
            ok(
                &srv,
                "/api/v1/escalation-policies",
                &srv.admin,
                json!({"name": policy, "keep_paging_after_ack": keep, "levels": [
                    {"delay_minutes": 30, "targets": [{"type": "user", "name": "alice"}]}]}),
            )
            .await;
        }
        let key = payments_key(&srv).await;
        let store = srv.app.store().clone();
        for (policy, keep) in [("stops", false), ("keeps", true)] {
            ok(
                &srv,
                "/api/v1/services/payments-api/escalation-policy",
                &srv.admin,
                json!({"policy": policy}),
            )
            .await;
            let alert = trigger(&srv, &key, policy).await;
            let t0 = now_us();
            assert_eq!(srv.app.run_due_timers().await, 0);
            assert_eq!(pages_of(&srv, &alert).await, 2, "{name}: one page per rule");
            // The first rule's email now; the second is not due yet.
            assert_eq!(
                palisade_app::notify::deliver_due_at(&store, &http, &cfg, t0 + 1_000_000).await,
                1
            );
            smtp.next().await;
            let r = srv
                .post(
                    &format!("/api/v1/alerts/{alert}/acknowledge"),
                    &alice,
                    json!({}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            // Five minutes on: the later rule's email goes out only if the policy keeps paging.
            let sent =
                palisade_app::notify::deliver_due_at(&store, &http, &cfg, t0 + 301_000_000).await;
            assert_eq!(sent, usize::from(keep), "{name}: policy {policy}");
            if keep {
                smtp.next().await;
            }
        }
        let skipped = srv
            .get("/api/v1/deliveries?state=skipped", &srv.admin)
            .await;
        let rows = skipped.body["deliveries"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{name}: {}", skipped.text);
        assert!(
            rows[0]["last_error"]
                .as_str()
                .unwrap()
                .contains("acknowledged or resolved"),
            "{}",
            skipped.text
        );
    }
}

/// Two servers on one PostgreSQL database: an alert taken in by one (its first step, and the
/// page, committed with the trigger) is paged by the other's notification worker as soon as it
/// is written — woken by the database (`LISTEN`/`NOTIFY`), not by its polling pass, which here
/// is an hour away. (SQLite is one process: nothing to test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alert_taken_in_by_one_server_is_paged_at_once_by_another() {
    for (name, store, _dir) in backends().await {
        if store.database_url.is_none() {
            continue;
        }
        // Server A takes alerts in and runs no workers of its own.
        let a = TestServer::serve(AppConfig {
            store: store.clone(),
            manual_timers: true,
            ..Default::default()
        })
        .await;
        a.token("bob", "responder").await;
        ok(
            &a,
            "/api/v1/escalation-policies",
            &a.admin,
            json!({"name": "payments", "levels": [
            {"delay_minutes": 5, "targets": [{"type": "user", "name": "bob"}]}]}),
        )
        .await;
        ok(
            &a,
            "/api/v1/services",
            &a.admin,
            json!({"name": "payments-api"}),
        )
        .await;
        ok(
            &a,
            "/api/v1/services/payments-api/escalation-policy",
            &a.admin,
            json!({"policy": "payments"}),
        )
        .await;
        let key = ok(
            &a,
            "/api/v1/services/payments-api/integrations",
            &a.admin,
            json!({"name": "prometheus"}),
        )
        .await["routing_key"]
            .as_str()
            .unwrap()
            .to_string();

        // Server B shares the database and the signing key, and polls only hourly.
        let b_dir = tempfile::tempdir().unwrap();
        let (a_keys, b_keys) = (
            store.dir(),
            palisade_store::datadir::DataDir::new(b_dir.path()),
        );
        std::fs::copy(a_keys.signing_key(), b_keys.signing_key()).unwrap();
        let (hook, mut webhooks) = receiver().await;
        let mut notify = NotifyConfig::new(hook, "whsec_dGVzdA==".into());
        notify.poll = Duration::from_secs(3600);
        let _b = TestServer::serve(AppConfig {
            store: palisade_store::StoreConfig {
                data_dir: b_dir.path().to_path_buf(),
                database_url: store.database_url.clone(),
            },
            notify: Some(notify),
            timer_poll: Some(Duration::from_secs(3600)),
            ..Default::default()
        })
        .await;

        for dedup in ["checkout", "refunds"] {
            let alert = trigger(&a, &key, dedup).await;
            let page = next(&mut webhooks).await;
            assert_eq!(
                (page["type"].as_str(), page["to"].as_str()),
                (Some("page"), Some("bob")),
                "{name}: {page}"
            );
            assert_eq!(page["alert"], alert.as_str(), "{name}");
        }
    }
}

/// The destinations of `alert`'s pages in the outbox, as text, sorted.
async fn page_destinations(srv: &TestServer, alert: &str) -> Vec<String> {
    let mut out: Vec<String> = srv
        .app
        .store()
        .outbox_list(None, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|d| d.kind == "page" && d.stream.map(|s| s.to_string()).as_deref() == Some(alert))
        .map(|d| format!("{:?}", d.destination))
        .collect();
    out.sort();
    out
}

/// Contact addresses are sealed to the master key on the ledger. A deployment restored without
/// that key cannot open them: the person's page shows so, their pages go to the operators'
/// channel (naming them) rather than nowhere, and the same address can be added again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_sealed_under_another_master_key_pages_the_operators_channel_instead() {
    for (name, store, dir) in backends().await {
        let config = AppConfig {
            store,
            manual_timers: true,
            ..Default::default()
        };
        let srv = TestServer::serve(config.clone()).await;
        let admin = srv.admin.clone();
        let alice = alice_by_email(&srv).await;
        let key = payments_paging_alice(&srv).await;
        let before = trigger(&srv, &key, "before").await;
        assert_eq!(srv.app.run_due_timers().await, 0, "{name}");
        assert_eq!(
            page_destinations(&srv, &before).await,
            [r#"Email { to: "alice@example.com" }"#],
            "{name}"
        );
        srv.stop().await;

        // Restored without its key file: a new master key is made at the next start.
        std::fs::remove_file(dir.path().join(palisade_store::evidence::MASTER_KEY_FILE)).unwrap();
        let mut srv = TestServer::serve(config).await;
        srv.admin = admin;
        let shown = srv.get("/api/v1/people/alice", &alice).await;
        assert_eq!(
            shown.body["contact_methods"][0]["address"],
            "(sealed under another master key: it does not open here)",
            "{name}: {}",
            shown.text
        );
        let after = trigger(&srv, &key, "after").await;
        assert_eq!(srv.app.run_due_timers().await, 0, "{name}");
        assert_eq!(
            page_destinations(&srv, &after).await,
            ["Default"],
            "{name}: the operators' channel"
        );
        // Its digest was keyed by the old key too: the same address is not a duplicate now.
        ok(
            &srv,
            "/api/v1/people/alice/contact-methods",
            &alice,
            json!({"type": "email", "address": "alice@example.com"}),
        )
        .await;
        let again = trigger(&srv, &key, "again").await;
        assert_eq!(srv.app.run_due_timers().await, 0, "{name}");
        assert_eq!(
            page_destinations(&srv, &again).await,
            ["Default", r#"Email { to: "alice@example.com" }"#],
            "{name}"
        );
    }
}
