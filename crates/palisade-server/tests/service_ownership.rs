//! A service's ownership through the API, on both backends: its owning team and escalation
//! policy (named by name, linked by id, so a rename shows through), tier, runbook links and
//! maintenance windows; unknown teams and policies, bad tiers, hostile URLs and inverted
//! windows refused with nothing written; a ledger that verifies.

use palisade_server::AppConfig;
use palisade_test_support::{TestServer, assert_problem, backends};
use reqwest::StatusCode;
use serde_json::json;

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
async fn a_service_gets_an_owner_a_policy_a_tier_runbooks_and_maintenance() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        srv.token("ana", "responder").await;
        for (path, body) in [
            ("/api/v1/services", json!({"name": "payments-api"})),
            ("/api/v1/teams", json!({"name": "payments"})),
            (
                "/api/v1/escalation-policies",
                json!({"name": "payments", "levels": [{"delay_minutes": 5, "targets": [{"type": "user", "name": "ana"}]}]}),
            ),
        ] {
            let r = srv.post(path, &srv.admin, body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{name} {path}: {}", r.text);
        }
        let team_id = srv.get("/api/v1/teams/payments", &srv.admin).await.body["id"].clone();
        let base = "/api/v1/services/payments-api";
        for (path, body) in [
            ("owner", json!({"team": "payments"})),
            ("escalation-policy", json!({"policy": "payments"})),
            ("tier", json!({"tier": 1})),
            (
                "runbooks",
                json!({"url": "https://wiki.example/payments", "title": "Payments"}),
            ),
            (
                "runbooks",
                json!({"url": "http://runbooks.internal/payments-db"}),
            ),
            (
                "runbooks/remove",
                json!({"url": "http://runbooks.internal/payments-db"}),
            ),
            (
                "maintenance",
                json!({"from": "2026-12-10T22:00:00+01:00", "to": "2026-12-11T02:00:00+01:00", "reason": "Database upgrade"}),
            ),
            (
                "maintenance",
                json!({"from": "2026-12-20T22:00:00Z", "to": "2026-12-20T23:00:00Z", "reason": "Failover drill"}),
            ),
            ("maintenance/remove", json!({"n": 2})),
        ] {
            let r = srv.post(&format!("{base}/{path}"), &srv.admin, body).await;
            assert_eq!(r.status, StatusCode::OK, "{name} {path}: {}", r.text);
        }
        // The team is renamed: the service shows the name it has now.
        let r = srv
            .post(
                "/api/v1/teams/payments/rename",
                &srv.admin,
                json!({"name": "payments-team"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let v = srv.get(base, &srv.admin).await.body;
        assert_eq!(
            v["owner"],
            json!({"id": team_id, "name": "payments-team"}),
            "{name}"
        );
        assert_eq!(v["escalation_policy"]["name"], "payments");
        assert_eq!(v["tier"], 1);
        assert_eq!(
            v["runbooks"],
            json!([{"url": "https://wiki.example/payments", "title": "Payments"}])
        );
        assert_eq!(v["maintenance"].as_array().unwrap().len(), 1);
        assert_eq!(v["maintenance"][0]["n"], 1);
        assert_eq!(v["maintenance"][0]["from"], "2026-12-10T22:00:00+01:00");
        assert_eq!(v["maintenance"][0]["reason"], "Database upgrade");
        assert_eq!(v["events"], 10);
        let types: Vec<&str> = v["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "created",
                "owner_set",
                "escalation_policy_set",
                "tier_set",
                "runbook_added",
                "runbook_added",
                "runbook_removed",
                "maintenance_added",
                "maintenance_added",
                "maintenance_removed"
            ]
        );

        // Refusals write nothing.
        for (path, body, status, rule) in [
            (
                "owner",
                json!({"team": "nobody"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "owner",
                json!({"team": "payments-team"}),
                StatusCode::CONFLICT,
                Some("service-unchanged"),
            ),
            (
                "escalation-policy",
                json!({"policy": "nowhere"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "tier",
                json!({"tier": 0}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-tier"),
            ),
            (
                "tier",
                json!({"tier": 5}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-tier"),
            ),
            (
                "tier",
                json!({"tier": 300}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "tier",
                json!({"tier": "one"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "runbooks",
                json!({"url": "javascript:alert(document.cookie)"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-runbook"),
            ),
            (
                "runbooks",
                json!({"url": "file:///etc/passwd"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-runbook"),
            ),
            (
                "runbooks",
                json!({"url": format!("https://x.example/{}", "a".repeat(2000))}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-runbook"),
            ),
            (
                "runbooks",
                json!({"url": "https://wiki.example/payments"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-runbook"),
            ),
            (
                "runbooks/remove",
                json!({"url": "https://nowhere.example"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-runbook"),
            ),
            (
                "maintenance",
                json!({"from": "2026-12-11T00:00:00Z", "to": "2026-12-10T00:00:00Z", "reason": "x"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-maintenance"),
            ),
            (
                "maintenance",
                json!({"from": "2026-01-01T00:00:00Z", "to": "2026-12-10T00:00:00Z", "reason": "x"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-maintenance"),
            ),
            (
                "maintenance",
                json!({"from": "2026-12-10T00:00:00Z", "to": "2026-12-11T00:00:00Z", "reason": ""}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-maintenance"),
            ),
            (
                "maintenance",
                json!({"from": "tomorrow", "to": "2026-12-11T00:00:00Z", "reason": "x"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "maintenance/remove",
                json!({"n": 2}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("service-maintenance"),
            ),
        ] {
            let r = srv
                .post(&format!("{base}/{path}"), &srv.admin, body.clone())
                .await;
            assert_problem(&r, status);
            if let Some(rule) = rule {
                assert_eq!(r.body["rule"], rule, "{name} {path} {body}: {}", r.text);
            }
        }
        let vic = srv.token("vic", "viewer").await;
        let r = srv
            .post(&format!("{base}/owner"), &vic, json!({"team": null}))
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        let r = srv
            .post(
                "/api/v1/services/nothing-here/owner",
                &srv.admin,
                json!({"team": "payments-team"}),
            )
            .await;
        assert_problem(&r, StatusCode::NOT_FOUND);
        assert_eq!(srv.get(base, &vic).await.body["events"], 10, "{name}");
        // Cleared.
        let r = srv
            .post(&format!("{base}/owner"), &srv.admin, json!({"team": null}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.body["owner"].is_null());
        verify(&srv, dir.path(), name).await;
    }
}
