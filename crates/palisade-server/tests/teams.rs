//! Teams through the API, on both backends: created with a unique name, members added with a
//! role (which can change), removed, the team renamed (the old name freed); unknown users,
//! unknown roles, non-members and viewers refused with nothing written; a ledger that verifies.

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
async fn a_team_gains_and_loses_members_is_renamed_and_the_ledger_verifies() {
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
                "/api/v1/teams",
                &srv.admin,
                json!({"name": "payments", "description": "Card payments"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        let id = r.body["id"].as_str().unwrap().to_string();
        for (user, role) in [("ana", "manager"), ("ben", "member"), ("ben", "manager")] {
            let r = srv
                .post(
                    "/api/v1/teams/payments/members",
                    &srv.admin,
                    json!({"user": user, "role": role}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name} {user}: {}", r.text);
        }
        let r = srv
            .post(
                "/api/v1/teams/payments/members/remove",
                &srv.admin,
                json!({"user": "ana"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(
            r.body["members"],
            json!([{"user": "ben", "role": "manager"}])
        );
        let r = srv
            .post(
                "/api/v1/teams/payments/rename",
                &srv.admin,
                json!({"name": "payments-team"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        let r = srv.get(&format!("/api/v1/teams/{id}"), &srv.admin).await;
        assert_eq!(r.body["name"], "payments-team");
        assert_eq!(r.body["events"], 6);
        assert_eq!(r.body["history"][2]["description"], "ben is a member");
        assert_problem(
            &srv.get("/api/v1/teams/payments", &srv.admin).await,
            StatusCode::NOT_FOUND,
        );
        let r = srv
            .post("/api/v1/teams", &srv.admin, json!({"name": "payments"}))
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "the old name is free: {}",
            r.text
        );
        let r = srv.get("/api/v1/teams", &srv.admin).await;
        let names: Vec<&str> = r.body["teams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["payments", "payments-team"]);

        // Refusals write nothing.
        let events = |r: &palisade_test_support::Resp| r.body["events"].as_u64().unwrap();
        let before = events(&srv.get("/api/v1/teams/payments-team", &srv.admin).await);
        for (path, body, status, rule) in [
            (
                "members",
                json!({"user": "mallory"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "members",
                json!({"user": "ben", "role": "overlord"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "members",
                json!({"user": "Ben Smith"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "members",
                json!({"user": "ben", "role": "manager"}),
                StatusCode::CONFLICT,
                Some("team-unchanged"),
            ),
            (
                "members/remove",
                json!({"user": "ana"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("team-not-a-member"),
            ),
            (
                "rename",
                json!({"name": "payments"}),
                StatusCode::CONFLICT,
                None,
            ),
            (
                "rename",
                json!({"name": "../etc"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("team-name"),
            ),
        ] {
            let r = srv
                .post(
                    &format!("/api/v1/teams/payments-team/{path}"),
                    &srv.admin,
                    body.clone(),
                )
                .await;
            assert_problem(&r, status);
            if let Some(rule) = rule {
                assert_eq!(r.body["rule"], rule, "{name} {path} {body}: {}", r.text);
            }
        }
        let r = srv
            .post(
                "/api/v1/teams",
                &srv.admin,
                json!({"name": "x", "description": "d".repeat(2001)}),
            )
            .await;
        assert_eq!(r.body["rule"], "team-input", "{}", r.text);
        let vic = srv.token("vic", "viewer").await;
        let r = srv
            .post(
                "/api/v1/teams/payments-team/members",
                &vic,
                json!({"user": "vic"}),
            )
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        assert_eq!(
            events(&srv.get("/api/v1/teams/payments-team", &vic).await),
            before,
            "{name}"
        );
        verify(&srv, dir.path(), name).await;
    }
}
