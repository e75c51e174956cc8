//! Escalation policies through the API, on both backends: levels naming users and schedules
//! (which must exist), delays, repeats and the keep-paging flag within their bounds, unique
//! names that a rename moves, refusals that write nothing, and a ledger that verifies.

use palisade_server::AppConfig;
use palisade_test_support::{TestServer, assert_problem, backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn levels() -> Value {
    json!([
        {"delay_minutes": 5, "targets": [{"type": "schedule", "name": "payments-primary"}]},
        {"delay_minutes": 15, "targets": [{"type": "user", "name": "ana"},
                                           {"type": "schedule", "name": "payments-primary"}]},
    ])
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
async fn an_escalation_policy_is_created_changed_refused_when_bad_and_the_ledger_verifies() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        srv.token("ana", "responder").await;
        srv.token("ben", "responder").await;
        let r = srv
            .post(
                "/api/v1/schedules",
                &srv.admin,
                json!({"name": "payments-primary", "time_zone": "UTC",
                       "layers": [{"participants": ["ana", "ben"], "rotation": {"unit": "weekly", "length": 1},
                                   "start": "2026-11-30T09:00:00Z"}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);

        let r = srv
            .post(
                "/api/v1/escalation-policies",
                &srv.admin,
                json!({"name": "payments", "levels": levels(), "repeat": 2}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        assert_eq!(r.body["levels"], levels());
        assert_eq!(r.body["repeat"], 2);
        assert_eq!(r.body["keep_paging_after_ack"], false);
        let id = r.body["id"].as_str().unwrap().to_string();

        // Changes.
        let r = srv
            .post(
                "/api/v1/escalation-policies/payments/levels",
                &srv.admin,
                json!({"levels": [{"delay_minutes": 1, "targets": [{"type": "user", "name": "ben"}]}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        let r = srv
            .post(
                "/api/v1/escalation-policies/payments/settings",
                &srv.admin,
                json!({"repeat": 0, "keep_paging_after_ack": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(
            (
                r.body["repeat"].clone(),
                r.body["keep_paging_after_ack"].clone()
            ),
            (json!(0), json!(true))
        );
        let r = srv
            .post(
                "/api/v1/escalation-policies/payments/rename",
                &srv.admin,
                json!({"name": "payments-v2"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_problem(
            &srv.get("/api/v1/escalation-policies/payments", &srv.admin)
                .await,
            StatusCode::NOT_FOUND,
        );
        let r = srv
            .get(&format!("/api/v1/escalation-policies/{id}"), &srv.admin)
            .await;
        assert_eq!(r.body["name"], "payments-v2");
        assert_eq!(r.body["events"], 5, "{}", r.text);
        // The old name is free again.
        let r = srv
            .post(
                "/api/v1/escalation-policies",
                &srv.admin,
                json!({"name": "payments", "levels": levels()}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        let r = srv.get("/api/v1/escalation-policies", &srv.admin).await;
        let names: Vec<&str> = r.body["escalation_policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["payments", "payments-v2"], "{name}");

        // Refusals write nothing.
        let before = srv
            .get("/api/v1/escalation-policies/payments", &srv.admin)
            .await
            .body["events"]
            .as_u64()
            .unwrap();
        let level =
            |delay: u32, targets: Value| json!({"delay_minutes": delay, "targets": targets});
        let ana = json!([{"type": "user", "name": "ana"}]);
        for (body, status, rule) in [
            (
                json!({"levels": [level(5, json!([{"type": "user", "name": "mallory"}]))]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                json!({"levels": [level(5, json!([{"type": "schedule", "name": "nowhere"}]))]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                json!({"levels": [level(5, json!([{"type": "team", "name": "x"}]))]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                json!({"levels": []}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("escalation-levels"),
            ),
            (
                json!({"levels": (0..11).map(|_| level(5, ana.clone())).collect::<Vec<_>>()}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("escalation-levels"),
            ),
            (
                json!({"levels": [level(0, ana.clone())]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("escalation-levels"),
            ),
            (
                json!({"levels": [level(1441, ana.clone())]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("escalation-levels"),
            ),
            (
                json!({"levels": [level(5, json!([]))]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("escalation-levels"),
            ),
            (
                json!({"levels": [level(5, json!([{"type": "user", "name": "ana"}, {"type": "user", "name": "ana"}]))]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("escalation-levels"),
            ),
            (
                json!({"levels": [level(5, ana.clone())], "extra": 1}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                json!({"levels": levels()}),
                StatusCode::CONFLICT,
                Some("escalation-unchanged"),
            ),
        ] {
            let r = srv
                .post(
                    "/api/v1/escalation-policies/payments/levels",
                    &srv.admin,
                    body.clone(),
                )
                .await;
            assert_problem(&r, status);
            if let Some(rule) = rule {
                assert_eq!(r.body["rule"], rule, "{name} {body}: {}", r.text);
            }
        }
        for (body, status) in [
            (json!({"repeat": 10}), StatusCode::UNPROCESSABLE_ENTITY),
            (json!({"repeat": -1}), StatusCode::UNPROCESSABLE_ENTITY),
            (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
            (json!({"repeat": 0}), StatusCode::CONFLICT),
        ] {
            let r = srv
                .post(
                    "/api/v1/escalation-policies/payments/settings",
                    &srv.admin,
                    body.clone(),
                )
                .await;
            assert_problem(&r, status);
        }
        let r = srv
            .post(
                "/api/v1/escalation-policies/payments/rename",
                &srv.admin,
                json!({"name": "payments-v2"}),
            )
            .await;
        assert_problem(&r, StatusCode::CONFLICT);
        let r = srv
            .post(
                "/api/v1/escalation-policies",
                &srv.admin,
                json!({"name": "payments", "levels": levels()}),
            )
            .await;
        assert_problem(&r, StatusCode::CONFLICT);
        let vic = srv.token("vic", "viewer").await;
        let r = srv
            .post(
                "/api/v1/escalation-policies/payments/settings",
                &vic,
                json!({"repeat": 3}),
            )
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        assert_eq!(
            srv.get("/api/v1/escalation-policies/payments", &vic)
                .await
                .body["events"],
            before,
            "{name}"
        );
        verify(&srv, dir.path(), name).await;
    }
}
