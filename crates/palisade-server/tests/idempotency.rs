//! Commands outside the generic command handler honour `Idempotency-Key` as the others do: a
//! repeat with the same key gets the first answer, byte for byte, and records nothing again —
//! evidence transfers, evidence uploads (the key's request also covers the content), break-glass
//! and alert promotion. Over HTTP on SQLite, and PostgreSQL in a fresh schema when
//! `PALISADE_TEST_DATABASE_URL` is set (required under `CI=true`).

use palisade_app::AppConfig;
use palisade_core::{Event, Payload};
use palisade_test_support::{Resp, TestServer, incident_events};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

async fn servers() -> Vec<(&'static str, TestServer, tempfile::TempDir)> {
    let mut out = Vec::new();
    for (name, store, dir) in palisade_test_support::backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            manual_timers: true,
            ..Default::default()
        })
        .await;
        out.push((name, srv, dir));
    }
    out
}

/// POST `body` to `path` as `token` with `key`.
async fn post_keyed(srv: &TestServer, path: &str, token: &str, key: &str, body: Value) -> Resp {
    srv.send(
        srv.http
            .post(format!("{}{path}", srv.url))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body),
    )
    .await
}

/// Upload `content` as evidence `name` to `codename`, with `key`.
async fn upload_keyed(srv: &TestServer, codename: &str, key: &str, content: &[u8]) -> Resp {
    srv.send(
        srv.http
            .post(format!("{}/api/v1/incidents/{codename}/evidence", srv.url))
            .query(&[
                ("name", "web-01.img"),
                ("source", "web-01"),
                ("tool", "dd 9.4"),
            ])
            .bearer_auth(&srv.admin)
            .header("content-type", "application/octet-stream")
            .header("idempotency-key", key)
            .body(content.to_vec()),
    )
    .await
}

fn count(events: &[Event], kind: &str) -> usize {
    events.iter().filter(|e| e.data.kind() == kind).count()
}

fn id_of(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_uploads_and_transfers_repeated_with_their_key_answer_as_first_and_record_once() {
    for (backend, srv, _dir) in servers().await {
        let inc = srv
            .declare(
                &srv.admin,
                json!({"title": "Web server compromise", "severity": "SEV-2",
                       "commander": "admin"}),
            )
            .await;
        let (id, code) = (id_of(&inc), inc["codename"].as_str().unwrap().to_string());
        srv.token("bob", "responder").await;
        let r = srv
            .post(
                &format!("/api/v1/incidents/{code}/roles"),
                &srv.admin,
                json!({"user": "bob", "role": "sme"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{backend}: {}", r.text);

        // An upload, sent again with its key: the first answer, one acquisition.
        let first = upload_keyed(&srv, &code, "upload-1", b"disk image").await;
        assert_eq!(
            first.status,
            StatusCode::CREATED,
            "{backend}: {}",
            first.text
        );
        assert_eq!(first.body["reference"], format!("{code}/E1"));
        let again = upload_keyed(&srv, &code, "upload-1", b"disk image").await;
        assert_eq!(
            again.status,
            StatusCode::CREATED,
            "{backend}: {}",
            again.text
        );
        assert_eq!(again.text, first.text, "{backend}: the first answer");
        // The same key with other content is another request: refused, nothing recorded.
        let other = upload_keyed(&srv, &code, "upload-1", b"another image").await;
        assert_eq!(
            other.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{backend}: {}",
            other.text
        );
        assert_eq!(
            other.body["type"],
            "urn:palisade:problem:idempotency-key-reused"
        );
        let events = incident_events(srv.app.store(), id).await;
        assert_eq!(count(&events, "evidence_acquired"), 1, "{backend}");

        // A transfer, sent again with its key: the first answer, one transfer (without the
        // key the repeat would be decided again, and refused: bob already holds it).
        let path = format!("/api/v1/incidents/{code}/evidence/E1/transfer");
        let body = json!({"to": "bob", "purpose": "imaging for forensic analysis"});
        let first = post_keyed(&srv, &path, &srv.admin, "transfer-1", body.clone()).await;
        assert_eq!(first.status, StatusCode::OK, "{backend}: {}", first.text);
        assert_eq!(first.body["custodian"], "bob", "{backend}: {}", first.text);
        let again = post_keyed(&srv, &path, &srv.admin, "transfer-1", body.clone()).await;
        assert_eq!(again.status, StatusCode::OK, "{backend}: {}", again.text);
        assert_eq!(again.text, first.text, "{backend}: the first answer");
        let events = incident_events(srv.app.store(), id).await;
        assert_eq!(count(&events, "evidence_transferred"), 1, "{backend}");
        let unkeyed = srv.post(&path, &srv.admin, body).await;
        assert_eq!(
            unkeyed.status,
            StatusCode::CONFLICT,
            "{backend}: {}",
            unkeyed.text
        );
        assert_eq!(unkeyed.body["rule"], "invalid-transition", "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_and_alert_promotion_repeated_with_their_key_answer_as_first_and_record_once() {
    for (backend, srv, _dir) in servers().await {
        // Break-glass: the admin is not a member of dana's restricted incident.
        let dana = srv.token("dana", "responder").await;
        let inc = srv
            .declare(
                &dana,
                json!({"title": "Credential stuffing", "severity": "SEV-2"}),
            )
            .await;
        let (id, code) = (id_of(&inc), inc["codename"].as_str().unwrap().to_string());
        let path = format!("/api/v1/incidents/{code}/break-glass");
        let body = json!({"reason": "legal hold request from counsel", "minutes": 30});
        let first = post_keyed(&srv, &path, &srv.admin, "glass-1", body.clone()).await;
        assert_eq!(first.status, StatusCode::OK, "{backend}: {}", first.text);
        let again = post_keyed(&srv, &path, &srv.admin, "glass-1", body).await;
        assert_eq!(again.status, StatusCode::OK, "{backend}: {}", again.text);
        assert_eq!(again.text, first.text, "{backend}: the first answer");
        let events = incident_events(srv.app.store(), id).await;
        let grants = events
            .iter()
            .filter(|e| matches!(e.data, Payload::BreakGlass { .. }))
            .count();
        assert_eq!(grants, 1, "{backend}: one grant");

        // Promotion: one incident declared from the alert, however often the request is sent.
        let r = srv
            .post(
                "/api/v1/services",
                &srv.admin,
                json!({"name": "payments-api"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{backend}: {}", r.text);
        let r = srv
            .post(
                "/api/v1/services/payments-api/integrations",
                &srv.admin,
                json!({"name": "prometheus"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{backend}: {}", r.text);
        let key = r.body["routing_key"].as_str().unwrap().to_string();
        let r = srv
            .send(
                srv.http
                    .post(format!("{}/v2/enqueue", srv.url))
                    .json(&json!({
                        "routing_key": key, "event_action": "trigger", "dedup_key": "creds",
                        "payload": {"summary": "Admin logins from a new country", "source": "idp",
                                    "severity": "warning"}
                    })),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{backend}: {}", r.text);
        let r = srv.get("/api/v1/alerts", &srv.admin).await;
        let alert = r.body["alerts"][0]["id"].as_str().unwrap().to_string();
        let incidents_before = srv.get("/api/v1/incidents", &dana).await.body["incidents"]
            .as_array()
            .unwrap()
            .len();
        let path = format!("/api/v1/alerts/{alert}/promote");
        let first = post_keyed(&srv, &path, &dana, "promote-1", json!({})).await;
        assert_eq!(
            first.status,
            StatusCode::CREATED,
            "{backend}: {}",
            first.text
        );
        let again = post_keyed(&srv, &path, &dana, "promote-1", json!({})).await;
        assert_eq!(
            again.status,
            StatusCode::CREATED,
            "{backend}: {}",
            again.text
        );
        assert_eq!(again.text, first.text, "{backend}: the first answer");
        let incidents_after = srv.get("/api/v1/incidents", &dana).await.body["incidents"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(
            incidents_after,
            incidents_before + 1,
            "{backend}: one incident"
        );
    }
}
