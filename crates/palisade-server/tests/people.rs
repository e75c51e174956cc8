//! People through the API, on both backends: a user sets how they are reached (contact methods,
//! notification rules); an admin may too, nobody else; webhook URLs are shown in full only to
//! the user and admins; malformed and hostile addresses refused with nothing written; a
//! refused first command starts no stream; the ledger verifies.

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
async fn a_user_sets_how_they_are_reached_and_only_they_or_an_admin_may() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        let ana = srv.token("ana", "viewer").await;
        let ben = srv.token("ben", "responder").await;
        // Nothing set yet.
        let r = srv.get("/api/v1/people/ana", &ben).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["events"], 0);
        assert_problem(
            &srv.get("/api/v1/people/nobody", &ben).await,
            StatusCode::NOT_FOUND,
        );

        // A refused first command starts nothing.
        let r = srv
            .post(
                "/api/v1/people/ana/contact-methods",
                &ana,
                json!({"type": "email", "address": "not-an-address"}),
            )
            .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.body["rule"], "contact-address");
        assert_eq!(srv.get("/api/v1/people/ana", &ana).await.body["events"], 0);
        let r = srv
            .post(
                "/api/v1/people/ana/contact-methods",
                &ben,
                json!({"type": "email", "address": "ana@example.com"}),
            )
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        assert_eq!(r.body["rule"], "person-self-only");
        assert_eq!(srv.get("/api/v1/people/ana", &ana).await.body["events"], 0);

        // The user (a viewer) and an admin set them.
        let secret = "https://hooks.slack.example/services/T000/B000/XXXXSECRET";
        for (token, body) in [
            (&ana, json!({"type": "email", "address": "ana@example.com"})),
            (
                &srv.admin,
                json!({"type": "slack", "address": secret, "label": "#payments"}),
            ),
            (
                &ana,
                json!({"type": "webhook", "address": "https://pager.example/ana"}),
            ),
        ] {
            let r = srv
                .post("/api/v1/people/ana/contact-methods", token, body)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        }
        for (contact, after) in [(2, 0), (1, 5), (3, 10)] {
            let r = srv
                .post(
                    "/api/v1/people/ana/notification-rules",
                    &ana,
                    json!({"contact": contact, "after_minutes": after}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        }
        let r = srv
            .post(
                "/api/v1/people/ana/notification-rules/remove",
                &ana,
                json!({"n": 3}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let r = srv
            .post(
                "/api/v1/people/ana/contact-methods/remove",
                &ana,
                json!({"n": 3}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let own = srv.get("/api/v1/people/ana", &ana).await;
        assert_eq!(own.body["contact_methods"][1]["address"], secret);
        assert_eq!(own.body["contact_methods"].as_array().unwrap().len(), 2);
        assert_eq!(
            own.body["notification_rules"],
            json!([{"n": 1, "contact": 2, "after_minutes": 0}, {"n": 2, "contact": 1, "after_minutes": 5}])
        );
        assert_eq!(own.body["events"], 9);
        // Others see the email and the webhook's host, never its path.
        let other = srv.get("/api/v1/people/ana", &ben).await;
        assert_eq!(
            other.body["contact_methods"][0]["address"],
            "ana@example.com"
        );
        assert_eq!(
            other.body["contact_methods"][1]["address"],
            "https://hooks.slack.example/…"
        );
        assert!(!other.text.contains("XXXXSECRET"), "{}", other.text);
        // The ledger (kept for years, exported in bundles) holds every address sealed: none in
        // clear, and each a base64 age file that opens to the address with the master key.
        let stream = srv
            .app
            .resolve::<palisade_core::person::PersonState>("ana")
            .await
            .unwrap();
        let stored = srv.app.store().stored_events(stream).await.unwrap();
        let added: Vec<serde_json::Value> = stored
            .iter()
            .map(|e| serde_json::from_str::<serde_json::Value>(&e.body).unwrap()["data"].clone())
            .filter(|d| d["type"] == "contact_added")
            .collect();
        assert_eq!(added.len(), 3, "{name}");
        for clear in [
            "XXXXSECRET",
            "hooks.slack",
            "ana@example.com",
            "pager.example",
        ] {
            assert!(
                stored.iter().all(|e| !e.body.contains(clear)),
                "{name}: {clear} in clear on the ledger"
            );
        }
        let vault = palisade_store::evidence::Vault::filesystem(dir.path()).unwrap();
        for (d, clear) in added.iter().zip(["ana@example.com", secret]) {
            assert!(d.get("address").is_none(), "{name}: {d}");
            assert_eq!(d["sealed"]["digest"].as_str().unwrap().len(), 64);
            assert_eq!(
                vault
                    .open_text(d["sealed"]["sealed"].as_str().unwrap())
                    .unwrap(),
                clear
            );
        }

        // Hostile and malformed input; nothing written.
        for (path, body, status) in [
            (
                "contact-methods",
                json!({"type": "webhook", "address": "http://pager.example/ana"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "contact-methods",
                json!({"type": "webhook", "address": "javascript:alert(1)"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "contact-methods",
                json!({"type": "email", "address": "ana@example.com\r\nBcc: x@evil.example"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "contact-methods",
                json!({"type": "email", "address": "ana@example.com"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "contact-methods",
                json!({"type": "sms", "address": "+15555550100"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "contact-methods",
                json!({"type": "webhook", "address": format!("https://x.example/{}", "a".repeat(3000))}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "contact-methods/remove",
                json!({"n": 2}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "contact-methods/remove",
                json!({"n": 99}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "notification-rules",
                json!({"contact": 9, "after_minutes": 1}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "notification-rules",
                json!({"contact": 1, "after_minutes": 1441}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "notification-rules",
                json!({"contact": 1, "after_minutes": -1}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "notification-rules/remove",
                json!({"n": 3}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ] {
            let r = srv
                .post(&format!("/api/v1/people/ana/{path}"), &ana, body.clone())
                .await;
            assert_problem(&r, status);
        }
        let r = srv
            .post(
                "/api/v1/people/ana/notification-rules/remove",
                &ben,
                json!({"n": 1}),
            )
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        let r = srv
            .post(
                "/api/v1/people/nobody/contact-methods",
                &srv.admin,
                json!({"type": "email", "address": "x@example.com"}),
            )
            .await;
        assert_problem(&r, StatusCode::NOT_FOUND);
        assert_eq!(
            srv.get("/api/v1/people/ana", &ana).await.body["events"],
            9,
            "{name}"
        );
        verify(&srv, dir.path(), name).await;
    }
}
