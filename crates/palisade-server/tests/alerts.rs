//! Alerts in through the PagerDuty-compatible Events API v2, on both backends: routing keys,
//! deduplication per (service, dedup_key) with its recorded reason, acknowledge/resolve, the
//! API's answers and limits, concurrency on one key, change events, and a ledger that verifies.

use palisade_server::AppConfig;
use palisade_test_support::{Resp, TestServer, assert_problem, backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn enqueue(srv: &TestServer, body: Value) -> Resp {
    srv.send(srv.http.post(format!("{}/v2/enqueue", srv.url)).json(&body))
        .await
}

fn trigger(key: &str, dedup: Option<&str>, summary: &str) -> Value {
    let mut v = json!({
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": summary, "source": "web-1", "severity": "warning",
                    "custom_details": {"disk": "/var", "used": 0.97}},
        "links": [{"href": "https://grafana.example/d/1", "text": "dashboard"}],
        "client": "Prometheus"
    });
    if let Some(d) = dedup {
        v["dedup_key"] = json!(d);
    }
    v
}

fn action(key: &str, action: &str, dedup: &str) -> Value {
    json!({"routing_key": key, "event_action": action, "dedup_key": dedup})
}

/// A service with an events_v2 integration; its routing key.
async fn service_with_key(srv: &TestServer, name: &str) -> String {
    let r = srv
        .post("/api/v1/services", &srv.admin, json!({"name": name}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = srv
        .post(
            &format!("/api/v1/services/{name}/integrations"),
            &srv.admin,
            json!({"name": "prometheus"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.headers["cache-control"], "no-store");
    let key = r.body["routing_key"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 32);
    key
}

/// A server whose escalation timers the test takes (steps are taken by the tests that are
/// about them).
async fn with_manual_timers(store: palisade_store::StoreConfig) -> TestServer {
    TestServer::serve(AppConfig {
        store,
        manual_timers: true,
        ..Default::default()
    })
    .await
}

/// A server whose escalation timers the test takes, and service payments-api's routing key.
async fn payments_with_manual_timers(store: palisade_store::StoreConfig) -> (TestServer, String) {
    let srv = with_manual_timers(store).await;
    let key = service_with_key(&srv, "payments-api").await;
    (srv, key)
}

async fn alerts(srv: &TestServer, query: &str) -> Vec<Value> {
    let r = srv.get(&format!("/api/v1/alerts{query}"), &srv.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["alerts"].as_array().unwrap().clone()
}

async fn verify(srv: &TestServer, dir: &std::path::Path, name: &str) {
    let report = palisade_store::verify(
        &match &srv.config.store.database_url {
            Some(u) => palisade_store::VerifyTarget::Postgres(u.clone()),
            None => palisade_store::VerifyTarget::DataDir(dir.to_path_buf()),
        },
        palisade_store::keys::read_public_key(dir.join("ledger-signing.pub").to_str().unwrap())
            .unwrap(),
        &palisade_store::VerifyOptions {
            witnesses: vec![dir.join("witness.log")],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(report.ok(), "{name}: {:?}", report.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alert_opens_deduplicates_is_acknowledged_and_resolved_and_the_ledger_verifies() {
    for (name, store, dir) in backends().await {
        let srv = with_manual_timers(store).await;
        let key = service_with_key(&srv, "payments-api").await;
        let svc = srv.get("/api/v1/services/payments-api", &srv.admin).await;
        let integrations = svc.body["integrations"].as_array().unwrap();
        assert_eq!(integrations.len(), 1, "{name}");
        assert_eq!(integrations[0]["kind"], "events_v2");
        assert!(
            !svc.text.contains(&key),
            "{name}: the routing key is never shown again"
        );

        // A trigger without a key gets a new one, returned as PagerDuty returns it.
        let r = enqueue(&srv, trigger(&key, None, "CPU high on web-1")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {}", r.text);
        assert_eq!(r.content_type, "application/json");
        assert_eq!(r.body["status"], "success");
        assert_eq!(r.body["message"], "Event processed");
        let generated = r.body["dedup_key"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");

        // Two triggers with one key: one alert, two occurrences, the reason recorded.
        for _ in 0..2 {
            let r = enqueue(
                &srv,
                trigger(&key, Some("disk/web-1"), "Disk full on web-1"),
            )
            .await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {}", r.text);
            assert_eq!(r.body["dedup_key"], "disk/web-1");
        }
        let open = alerts(&srv, "?service=payments-api&status=triggered").await;
        assert_eq!(open.len(), 2, "{name}: {open:?}");
        let disk = open
            .iter()
            .find(|a| a["dedup_key"] == "disk/web-1")
            .unwrap();
        assert_eq!(disk["occurrences"], 2);
        let id = disk["id"].as_str().unwrap().to_string();
        let view = srv.get(&format!("/api/v1/alerts/{id}"), &srv.admin).await;
        assert_eq!(view.status, StatusCode::OK, "{}", view.text);
        let history = view.body["history"].as_array().unwrap();
        assert_eq!(history[0]["type"], "triggered");
        assert_eq!(
            history[1]["type"], "escalated",
            "the first step, with the trigger"
        );
        assert_eq!(history[2]["type"], "deduplicated");
        let why = history[2]["description"].as_str().unwrap();
        assert!(
            why.contains("dedup_key \"disk/web-1\"") && why.contains("via integration prometheus"),
            "{name}: {why}"
        );
        assert_eq!(view.body["details"]["custom_details"]["used"], 0.97);
        assert_eq!(view.body["details"]["links"][0]["text"], "dashboard");

        // Acknowledge, then resolve; repeats and unknown keys are accepted and dropped.
        for (act, status) in [
            ("acknowledge", "acknowledged"),
            ("acknowledge", "acknowledged"),
            ("resolve", "resolved"),
            ("resolve", "resolved"),
            ("acknowledge", "resolved"),
        ] {
            let r = enqueue(&srv, action(&key, act, "disk/web-1")).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {}", r.text);
            assert_eq!(r.body["dedup_key"], "disk/web-1");
            let v = srv.get(&format!("/api/v1/alerts/{id}"), &srv.admin).await;
            assert_eq!(v.body["status"], status, "{name} after {act}");
        }
        let v = srv.get(&format!("/api/v1/alerts/{id}"), &srv.admin).await;
        // (The escalation worker records its own step beside these, whenever it runs.)
        let changes: Vec<&str> = v.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["type"].as_str().unwrap())
            .filter(|t| *t != "escalated")
            .collect();
        assert_eq!(
            changes,
            ["triggered", "deduplicated", "acknowledged", "resolved"],
            "{name}: repeats recorded nothing"
        );
        let r = enqueue(&srv, action(&key, "resolve", "never-seen")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(r.body["dedup_key"], "never-seen");

        // A trigger after the resolve opens a new alert with the same key.
        let r = enqueue(&srv, trigger(&key, Some("disk/web-1"), "Disk full again")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let same_key: Vec<_> = alerts(&srv, "?service=payments-api")
            .await
            .into_iter()
            .filter(|a| a["dedup_key"] == "disk/web-1")
            .collect();
        assert_eq!(same_key.len(), 2, "{name}");
        assert_eq!(same_key[0]["status"], "triggered", "newest first");
        assert_eq!(same_key[1]["status"], "resolved");
        // Paging: the next page starts after the given alert.
        let first = &same_key[0]["id"].as_str().unwrap();
        let page = alerts(&srv, &format!("?limit=1&before={first}")).await;
        assert_eq!(page.len(), 1);
        assert_ne!(page[0]["id"], same_key[0]["id"]);

        // People acknowledge through the API; viewers may not.
        let new_id = same_key[0]["id"].as_str().unwrap();
        let viewer = srv.token("vic", "viewer").await;
        let r = srv
            .post(
                &format!("/api/v1/alerts/{new_id}/acknowledge"),
                &viewer,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        let v = srv
            .ok(
                &format!("/api/v1/alerts/{new_id}/acknowledge"),
                &srv.admin,
                json!({}),
            )
            .await;
        assert_eq!(v["status"], "acknowledged");
        assert_eq!(v["acknowledged_by"], "admin");

        // Keys are scoped to their routing key: another service's key opens its own alert.
        let other = service_with_key(&srv, "search").await;
        let r = enqueue(
            &srv,
            trigger(&other, Some("disk/web-1"), "Disk full on search"),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(alerts(&srv, "?service=search").await.len(), 1);

        // A revoked integration's key is refused.
        let r = srv
            .call(
                "DELETE",
                "/api/v1/services/search/integrations/prometheus",
                Some(&srv.admin),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        let v = srv.get("/api/v1/services/search", &srv.admin).await;
        assert!(
            v.body["integrations"][0]["revoked_at"].is_string(),
            "{}",
            v.text
        );
        let r = enqueue(&srv, trigger(&other, Some("x"), "after revoke")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(r.body["status"], "invalid event");

        // Change events.
        let r = srv
            .send(
                srv.http
                    .post(format!("{}/v2/change/enqueue", srv.url))
                    .json(&json!({
                        "routing_key": key,
                        "payload": {"summary": "Deployed payments-api v1.4.2", "source": "ci",
                                    "timestamp": "2026-12-07T03:00:00Z"},
                        "links": [{"href": "https://ci.example/run/7"}]
                    })),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let r = srv
            .get("/api/v1/services/payments-api/changes", &srv.admin)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            r.body["changes"][0]["summary"],
            "Deployed payments-api v1.4.2"
        );
        assert_eq!(r.body["changes"][0]["integration"], "prometheus");

        let metrics = srv.get("/metrics", &srv.admin).await.text;
        assert!(
            metrics.contains("palisade_alert_events_total{outcome=\"deduplicated\"} 1"),
            "{metrics}"
        );
        assert!(metrics.contains("palisade_alert_events_total{outcome=\"dropped\"} 4"));
        verify(&srv, dir.path(), name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_events_get_the_events_apis_answers_with_every_problem_named() {
    let srv = TestServer::spawn().await;
    let key = service_with_key(&srv, "api").await;
    let cases: Vec<(Value, &[&str])> = vec![
        (
            json!({"routing_key": key, "event_action": "trigger"}),
            &["'payload' is missing."],
        ),
        (
            json!({"routing_key": key, "event_action": "explode", "payload": {}}),
            &["'event_action' is \"explode\""],
        ),
        (
            json!({"routing_key": key, "event_action": "trigger",
                   "payload": {"summary": "x", "source": "y", "severity": "fatal"}}),
            &["'payload.severity' is \"fatal\""],
        ),
        (
            json!({"routing_key": key, "event_action": "trigger",
                   "payload": {"severity": "info"}}),
            &[
                "'payload.summary' is missing.",
                "'payload.source' is missing.",
            ],
        ),
        (
            json!({"routing_key": key, "event_action": "trigger",
                   "payload": {"summary": "s".repeat(1025), "source": "y", "severity": "info"}}),
            &["the limit is 1024"],
        ),
        (
            json!({"routing_key": key, "event_action": "trigger", "dedup_key": "k".repeat(256),
                   "payload": {"summary": "x", "source": "y", "severity": "info"}}),
            &["'dedup_key' is longer than 255"],
        ),
        (
            json!({"routing_key": key, "event_action": "trigger",
                   "payload": {"summary": "x", "source": "y", "severity": "info"},
                   "images": [{"src": "http://insecure.example/x.png"}]}),
            &["'images[0].src' must be an https URL."],
        ),
        (
            json!({"routing_key": key, "event_action": "resolve"}),
            &["'dedup_key' is required for acknowledge and resolve events."],
        ),
        (
            json!({"event_action": "trigger"}),
            &["'routing_key' is missing."],
        ),
        (
            json!({"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger",
                   "payload": {"summary": "x", "source": "y", "severity": "info"}}),
            &["'routing_key' is not the key of an active integration."],
        ),
        (json!([1, 2, 3]), &["not a JSON object"]),
    ];
    for (body, needles) in cases {
        let r = enqueue(&srv, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.body["status"], "invalid event");
        assert_eq!(r.body["message"], "Event object is invalid");
        let errors = r.body["errors"].to_string();
        for n in needles {
            assert!(errors.contains(&n.replace('"', "\\\"")), "{n} in {errors}");
        }
    }
    // Not JSON at all.
    let r = srv
        .send(
            srv.http
                .post(format!("{}/v2/enqueue", srv.url))
                .header("content-type", "application/json")
                .body("{\"routing_key\": "),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["status"], "invalid event");
    // Over 512 KB.
    let mut big = trigger(&key, Some("big"), "big");
    big["payload"]["custom_details"] = json!({"blob": "x".repeat(600 * 1024)});
    let r = enqueue(&srv, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.body["status"], "invalid event");
    // Just under it is taken.
    let mut fits = trigger(&key, Some("fits"), "fits");
    fits["payload"]["custom_details"] = json!({"blob": "x".repeat(500 * 1024)});
    let r = enqueue(&srv, fits).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    // Nothing invalid was recorded.
    let all = alerts(&srv, "").await;
    assert_eq!(all.len(), 1, "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_the_keys_rate_the_answer_is_429_with_retry_after() {
    let srv = TestServer::spawn_with(|c| c.events_per_key_per_minute = Some(3)).await;
    let key = service_with_key(&srv, "api").await;
    for i in 0..3 {
        let r = enqueue(&srv, trigger(&key, Some(&format!("k{i}")), "x")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let r = enqueue(&srv, trigger(&key, Some("k3"), "x")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.body["status"], "throttle event");
    let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&after), "{after}");
    assert_eq!(
        alerts(&srv, "").await.len(),
        3,
        "the refused event was not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_triggers_with_one_new_key_make_one_alert_with_every_occurrence() {
    for (name, store, dir) in backends().await {
        let srv = with_manual_timers(store).await;
        let key = service_with_key(&srv, "api").await;
        let sends =
            (0..24).map(|i| {
                let srv = &srv;
                let key = key.clone();
                async move {
                    enqueue(srv, trigger(&key, Some("flap"), &format!("occurrence {i}"))).await
                }
            });
        for r in futures_util::future::join_all(sends).await {
            assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {}", r.text);
            assert_eq!(r.body["dedup_key"], "flap");
        }
        let all = alerts(&srv, "").await;
        assert_eq!(all.len(), 1, "{name}: {all:?}");
        assert_eq!(all[0]["occurrences"], 24, "{name}");
        verify(&srv, dir.path(), name).await;
    }
}

/// An Alertmanager webhook message (version 4) as Alertmanager sends it.
fn am_message(status: &str, alerts: &[(&str, &str, &str)]) -> Value {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(fingerprint, instance, alert_status)| {
            json!({
                "status": alert_status,
                "labels": {"alertname": "DiskFull", "instance": instance, "severity": "critical", "job": "node"},
                "annotations": {"summary": "Disk almost full"},
                "startsAt": "2026-12-07T03:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
                "fingerprint": fingerprint
            })
        })
        .collect();
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"DiskFull\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "palisade",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "severity": "critical", "job": "node"},
        "commonAnnotations": {"summary": "Disk almost full"},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts
    })
}

async fn am_post(srv: &TestServer, key: &str, body: &Value) -> Resp {
    srv.send(
        srv.http
            .post(format!("{}/v1/alertmanager/{key}", srv.url))
            .json(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alertmanager_alerts_stay_distinct_per_fingerprint_or_become_one_per_group() {
    for (name, store, _dir) in backends().await {
        let srv = with_manual_timers(store).await;
        for (service, kind) in [
            ("per-alert", "alertmanager_alert"),
            ("per-group", "alertmanager_group"),
        ] {
            let r = srv
                .post("/api/v1/services", &srv.admin, json!({"name": service}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            let r = srv
                .post(
                    &format!("/api/v1/services/{service}/integrations"),
                    &srv.admin,
                    json!({"name": "alertmanager", "kind": kind}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            let key = r.body["routing_key"].as_str().unwrap().to_string();
            // Two alerts with the same summary on two hosts, sent twice (a repeat notification).
            let firing = am_message(
                "firing",
                &[
                    ("aa11", "web-1:9100", "firing"),
                    ("bb22", "web-2:9100", "firing"),
                ],
            );
            for _ in 0..2 {
                let r = am_post(&srv, &key, &firing).await;
                assert_eq!(r.status, StatusCode::OK, "{name} {kind}: {}", r.text);
                assert_eq!(r.body["status"], "success");
            }
            let open = alerts(&srv, &format!("?service={service}&status=triggered")).await;
            if kind == "alertmanager_alert" {
                assert_eq!(open.len(), 2, "{name}: one alert per fingerprint: {open:?}");
                let keys: Vec<&str> = open
                    .iter()
                    .map(|a| a["dedup_key"].as_str().unwrap())
                    .collect();
                assert!(keys.contains(&"aa11") && keys.contains(&"bb22"), "{keys:?}");
                let a = open.iter().find(|a| a["dedup_key"] == "aa11").unwrap();
                assert_eq!(a["occurrences"], 2);
                assert_eq!(a["severity"], "critical");
                assert_eq!(a["source"], "web-1:9100");
                assert!(a["summary"].as_str().unwrap().contains("web-1:9100"), "{a}");
            } else {
                assert_eq!(open.len(), 1, "{name}: one alert per group: {open:?}");
                assert_eq!(open[0]["summary"], "[FIRING:2] Disk almost full");
                assert_eq!(open[0]["dedup_key"], "{}:{alertname=\"DiskFull\"}");
            }
            // One host recovers: per alert, that alert resolves; the group stays open.
            let partly = am_message(
                "firing",
                &[
                    ("aa11", "web-1:9100", "resolved"),
                    ("bb22", "web-2:9100", "firing"),
                ],
            );
            let r = am_post(&srv, &key, &partly).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let open = alerts(&srv, &format!("?service={service}&status=triggered")).await;
            assert_eq!(open.len(), 1, "{name} {kind}: {open:?}");
            // All recover.
            let resolved = am_message(
                "resolved",
                &[
                    ("aa11", "web-1:9100", "resolved"),
                    ("bb22", "web-2:9100", "resolved"),
                ],
            );
            let r = am_post(&srv, &key, &resolved).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let open = alerts(&srv, &format!("?service={service}&status=triggered")).await;
            assert!(open.is_empty(), "{name} {kind}: {open:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_messages_that_are_not_version_4_or_not_for_a_key_are_refused() {
    let srv = TestServer::spawn().await;
    let key = service_with_key(&srv, "api").await;
    let mut v3 = am_message("firing", &[("aa11", "web-1", "firing")]);
    v3["version"] = json!("3");
    let r = am_post(&srv, &key, &v3).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("version 4"), "{}", r.text);
    let r = am_post(
        &srv,
        "0123456789abcdef0123456789abcdef",
        &am_message("firing", &[("aa11", "web-1", "firing")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = am_post(&srv, &key, &json!({"version": "4"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("missing"), "{}", r.text);
    assert!(alerts(&srv, "").await.is_empty());
    // The routing key in the path never reaches the request log: it is redacted there.
    assert_eq!(
        palisade_server::routes::alerts::redacted_path(&format!("/v1/alertmanager/{key}")),
        "/v1/alertmanager/[routing key]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alert_is_promoted_to_an_incident_that_only_its_members_see_named() {
    for (name, store, dir) in backends().await {
        let srv = with_manual_timers(store).await;
        let key = service_with_key(&srv, "payments-api").await;
        // A deploy just before: the first suspect, shown with the incident.
        let r = srv
            .send(
                srv.http
                    .post(format!("{}/v2/change/enqueue", srv.url))
                    .json(&json!({"routing_key": key,
                        "payload": {"summary": "Deployed auth-proxy v2.0.0", "source": "ci"}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let r = enqueue(
            &srv,
            trigger(&key, Some("creds"), "Admin logins from a new country"),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let id = alerts(&srv, "").await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let dana = srv.token("dana", "responder").await;
        let erin = srv.token("erin", "responder").await;
        let r = srv
            .post(&format!("/api/v1/alerts/{id}/promote"), &dana, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        let codename = r.body["codename"].as_str().unwrap().to_string();
        assert_eq!(r.body["alert"]["incident"], codename.as_str());
        // A security incident by default (restricted), its severity from the alert's (warning).
        let inc = srv
            .get(&format!("/api/v1/incidents/{codename}"), &dana)
            .await;
        assert_eq!(inc.status, StatusCode::OK, "{}", inc.text);
        assert_eq!(inc.body["severity"], "SEV-3");
        assert_eq!(inc.body["restricted"], true);
        assert_eq!(inc.body["title"], "Admin logins from a new country");
        assert!(
            inc.text.contains(&format!("Declared from alert {id}")),
            "{}",
            inc.text
        );
        assert_eq!(inc.body["from_alert"]["service_name"], "payments-api");
        // The service's changes around the incident, for its members only.
        let c = srv
            .get(&format!("/api/v1/incidents/{codename}/changes"), &dana)
            .await;
        assert_eq!(c.status, StatusCode::OK, "{name}: {}", c.text);
        assert_eq!(c.body["service"], "payments-api");
        assert_eq!(
            c.body["changes"][0]["summary"],
            "Deployed auth-proxy v2.0.0"
        );
        assert_problem(
            &srv.get(&format!("/api/v1/incidents/{codename}/changes"), &erin)
                .await,
            StatusCode::NOT_FOUND,
        );
        let mut w = palisade_test_support::web::Web::new(&srv);
        w.sign_in_token(&dana).await;
        let page = w.ok(&format!("/incidents/{codename}")).await;
        assert!(
            page.text.contains("around this incident")
                && page.text.contains("Deployed auth-proxy v2.0.0"),
            "{}",
            page.text
        );
        // The member sees the incident named on the alert; a non-member sees only that it was
        // promoted: nothing names the restricted incident.
        let v = srv.get(&format!("/api/v1/alerts/{id}"), &dana).await;
        assert_eq!(v.body["incident"], codename.as_str());
        let v = srv.get(&format!("/api/v1/alerts/{id}"), &erin).await;
        assert_eq!(v.body["promoted"], true);
        assert!(v.body.get("incident").is_none(), "{}", v.text);
        assert!(!v.text.contains(&codename), "{}", v.text);
        let inc_id = srv
            .get(&format!("/api/v1/incidents/{codename}"), &dana)
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            !v.text.contains(&inc_id),
            "the incident's id leaked: {}",
            v.text
        );
        // Once only.
        let again = srv
            .post(
                &format!("/api/v1/alerts/{id}/promote"),
                &erin,
                json!({"kind": "operational"}),
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
        assert!(again.text.contains("alert-promoted"), "{}", again.text);
        // An operational promotion is open to everyone.
        let r = enqueue(&srv, trigger(&key, Some("latency"), "p99 latency over 2 s")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        let other = alerts(&srv, "?status=triggered")
            .await
            .into_iter()
            .find(|a| a["dedup_key"] == "latency")
            .unwrap();
        let oid = other["id"].as_str().unwrap();
        let r = srv
            .post(
                &format!("/api/v1/alerts/{oid}/promote"),
                &dana,
                json!({"kind": "operational", "severity": "SEV-2", "title": "Checkout slow"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let open_codename = r.body["codename"].as_str().unwrap();
        let v = srv.get(&format!("/api/v1/alerts/{oid}"), &erin).await;
        assert_eq!(v.body["incident"], open_codename);
        // An incident declared on its own names no service, and so no changes.
        let r = srv
            .post(
                "/api/v1/incidents",
                &dana,
                json!({"title": "Phishing wave", "severity": "SEV-3", "kind": "operational"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let c = srv
            .get(
                &format!(
                    "/api/v1/incidents/{}/changes",
                    r.body["codename"].as_str().unwrap()
                ),
                &dana,
            )
            .await;
        assert_eq!(c.status, StatusCode::OK, "{}", c.text);
        assert_eq!(c.body["service"], Value::Null);
        assert_eq!(c.body["changes"], json!([]));
        verify(&srv, dir.path(), name).await;
    }
}

/// Without an escalation policy, the first step records that nobody could be paged, and why:
/// "why did nobody get paged?" is answered on the alert itself. The step is recorded with the
/// trigger (one append), so no timer is left for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_without_an_escalation_policy_records_why_nobody_was_paged() {
    for (name, store, _dir) in backends().await {
        let (srv, key) = payments_with_manual_timers(store).await;
        let r = enqueue(&srv, trigger(&key, Some("disk"), "Disk full")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(
            srv.app.run_due_timers().await,
            0,
            "{name}: the first step was taken with the trigger: no timer"
        );
        let id = alerts(&srv, "").await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let v = srv.get(&format!("/api/v1/alerts/{id}"), &srv.admin).await;
        let last = v.body["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["type"], "escalated", "{name}: {}", v.text);
        assert_eq!(last["seq"], 2, "{name}: recorded with the trigger");
        assert_eq!(last["actor"], "integration", "the trigger's actor");
        assert_eq!(
            last["description"],
            "Nobody paged (service payments-api has no escalation policy) at level 1 of round 1; the last step"
        );
    }
}

/// Concurrent promotions of one alert (a double click, two responders, two nodes) declare one
/// incident: the alert is marked first, and only the promotion that marked it declares.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_promotions_of_one_alert_declare_one_incident() {
    for (name, store, _dir) in backends().await {
        let (srv, key) = payments_with_manual_timers(store).await;
        let r = enqueue(&srv, trigger(&key, Some("db"), "Database CPU at 100 %")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let id = alerts(&srv, "").await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut tokens = Vec::new();
        for i in 0..8 {
            tokens.push(srv.token(&format!("responder{i}"), "responder").await);
        }
        let srv = std::sync::Arc::new(srv);
        let mut tasks = Vec::new();
        for t in tokens {
            let (srv, id) = (srv.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                srv.post(
                    &format!("/api/v1/alerts/{id}/promote"),
                    &t,
                    json!({"kind": "operational"}),
                )
                .await
            }));
        }
        let mut created = Vec::new();
        for task in tasks {
            let r = task.await.unwrap();
            match r.status {
                StatusCode::CREATED => {
                    created.push(r.body["codename"].as_str().unwrap().to_string())
                }
                StatusCode::CONFLICT => {
                    assert!(r.text.contains("alert-promoted"), "{name}: {}", r.text)
                }
                other => panic!("{name}: {other}: {}", r.text),
            }
        }
        assert_eq!(created.len(), 1, "{name}: {created:?}");
        let list = srv.get("/api/v1/incidents", &srv.admin).await;
        let incidents = list.body["incidents"].as_array().unwrap();
        assert_eq!(incidents.len(), 1, "{name}: {}", list.text);
        assert_eq!(incidents[0]["codename"], created[0].as_str());
        let alert = srv.get(&format!("/api/v1/alerts/{id}"), &srv.admin).await;
        assert_eq!(
            alert.body["incident"],
            created[0].as_str(),
            "{}",
            alert.text
        );
    }
}

/// A server remembers which alert holds an open key, so that a deduplication reads no key
/// from the store. An alert resolved by hand (or by another server) leaves that memory stale:
/// the next trigger with its key still opens a new alert, and later ones join the new alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_after_a_resolution_by_hand_opens_a_new_alert_and_later_ones_join_it() {
    for (name, store, _dir) in backends().await {
        let (srv, key) = payments_with_manual_timers(store).await;
        let first = enqueue(&srv, trigger(&key, Some("disk"), "Disk full")).await;
        assert_eq!(first.body["dedup_key"], "disk");
        enqueue(&srv, trigger(&key, Some("disk"), "Disk full")).await;
        let open = alerts(&srv, "?status=triggered").await;
        assert_eq!(open.len(), 1, "{name}");
        let old = open[0]["id"].as_str().unwrap().to_string();
        assert_eq!(open[0]["occurrences"], 2);
        let r = srv
            .post(
                &format!("/api/v1/alerts/{old}/resolve"),
                &srv.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        for _ in 0..3 {
            let r = enqueue(&srv, trigger(&key, Some("disk"), "Disk full again")).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {}", r.text);
        }
        let open = alerts(&srv, "?status=triggered").await;
        assert_eq!(open.len(), 1, "{name}: {open:?}");
        assert_ne!(open[0]["id"], old.as_str(), "{name}: a new alert");
        assert_eq!(open[0]["occurrences"], 3, "{name}");
        let resolved = alerts(&srv, "?status=resolved").await;
        assert_eq!(resolved.len(), 1, "{name}");
        assert_eq!(
            resolved[0]["occurrences"], 2,
            "{name}: the old one got none of them"
        );
        // Acknowledge and resolve by key reach the new alert, not the remembered old one.
        for a in ["acknowledge", "resolve"] {
            let r = enqueue(&srv, action(&key, a, "disk")).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {}", r.text);
        }
        assert!(alerts(&srv, "?status=triggered").await.is_empty(), "{name}");
        assert_eq!(alerts(&srv, "?status=resolved").await.len(), 2, "{name}");
    }
}

/// Two servers on one PostgreSQL. A server decides an alert's event first on the state it last
/// wrote (kept in memory, not read again); when the other server has written to the alert
/// since, the append finds the stream moved on and the event is decided on the stored alert.
/// So a trigger after another server's resolution opens a new alert (it is not counted on the
/// resolved one), and an acknowledgement the other server already recorded is not recorded
/// twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_behind_another_servers_writes_decides_on_the_stored_alert() {
    let mut ran = false;
    for (name, store, _dir) in backends().await {
        if store.database_url.is_none() {
            continue;
        }
        ran = true;
        let (a, key) = payments_with_manual_timers(store.clone()).await;
        let b_dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            store.dir().signing_key(),
            palisade_store::datadir::DataDir::new(b_dir.path()).signing_key(),
        )
        .unwrap();
        let b = with_manual_timers(palisade_store::StoreConfig {
            data_dir: b_dir.path().to_path_buf(),
            database_url: store.database_url.clone(),
        })
        .await;

        // A takes the alert in (and keeps its state); B resolves it.
        enqueue(&a, trigger(&key, Some("disk"), "Disk full")).await;
        let old = alerts(&a, "?status=triggered").await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = b
            .post(
                &format!("/api/v1/alerts/{old}/resolve"),
                &a.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        // A's next trigger with the key opens a new alert.
        let r = enqueue(&a, trigger(&key, Some("disk"), "Disk full again")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {}", r.text);
        let open = alerts(&a, "?status=triggered").await;
        assert_eq!(open.len(), 1, "{name}: {open:?}");
        assert_ne!(open[0]["id"], old.as_str(), "{name}: a new alert");
        let old_view = alert_view(&a, &old).await;
        assert_eq!(old_view["status"], "resolved", "{name}");
        assert_eq!(old_view["occurrences"], 1, "{name}: {old_view}");

        // A knows the new alert as triggered; B acknowledges it; A's acknowledgement by key is
        // accepted and recorded once, by B.
        let new = open[0]["id"].as_str().unwrap().to_string();
        let r = b
            .post(
                &format!("/api/v1/alerts/{new}/acknowledge"),
                &a.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        let r = enqueue(&a, action(&key, "acknowledge", "disk")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {}", r.text);
        let view = alert_view(&a, &new).await;
        let acks: Vec<&Value> = view["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["type"] == "acknowledged")
            .collect();
        assert_eq!(acks.len(), 1, "{name}: {view}");
        assert_eq!(acks[0]["actor"], "admin", "{name}: B's, by hand");
        // And a deduplication on A after B's write lands on the stored alert, in order.
        let r = enqueue(&a, trigger(&key, Some("disk"), "Disk still full")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {}", r.text);
        let view = alert_view(&a, &new).await;
        assert_eq!(
            (view["status"].as_str(), view["occurrences"].as_u64()),
            (Some("acknowledged"), Some(2)),
            "{name}: {view}"
        );
    }
    if !ran {
        println!("skip: PALISADE_TEST_DATABASE_URL is not set; two servers need PostgreSQL");
    }
}

async fn alert_view(srv: &TestServer, id: &str) -> Value {
    let r = srv.get(&format!("/api/v1/alerts/{id}"), &srv.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}
