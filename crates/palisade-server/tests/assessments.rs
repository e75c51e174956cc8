//! Maturity assessments through the API, on both backends: started for a kind of model, an
//! answers file pushed and pulled back byte for byte, each push on the ledger with who and when;
//! a file that does not read, answers another model, repeats the last push, or carries someone
//! else's new confirmation is refused with its rule and writes nothing; viewers read only; the
//! ledger verifies.

use palisade_server::AppConfig;
use palisade_test_support::{TestServer, assert_problem, backends};
use reqwest::StatusCode;
use serde_json::json;

fn answers(kind: &str, value: &str, confirmed_by: Option<&str>) -> String {
    let confirm = confirmed_by
        .map(|c| format!(", confirmed_by: {c}, confirmed_at: \"2026-03-02\""))
        .unwrap_or_default();
    format!(
        "format: 1\nmodel: {{ kind: {kind}, version: \"2.0.0\" }}\nassessments:\n  - date: \"2026-03-01\"\n    team: payments\n    answers:\n      G-SM-A-1: {{ value: {value}, evidence: [\"https://wiki.example/strategy\"]{confirm} }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_files_are_pushed_and_pulled_with_who_and_when_on_the_ledger() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        let ana = srv.token("ana", "responder").await;
        let ben = srv.token("ben", "responder").await;
        let vic = srv.token("vic", "viewer").await;
        let r = srv
            .post(
                "/api/v1/assessments",
                &ana,
                json!({"name": "payments-samm", "kind": "samm"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        assert_problem(
            &srv.get("/api/v1/assessments/payments-samm/file", &ana)
                .await,
            StatusCode::NOT_FOUND,
        );
        let push = |token: &str, file: String| {
            let (srv, token) = (&srv, token.to_string());
            async move {
                srv.post(
                    "/api/v1/assessments/payments-samm/records",
                    &token,
                    json!({"file": file}),
                )
                .await
            }
        };
        let first = answers("samm", "0.5", None);
        let r = push(&ana, first.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["records"][0]["by"], "ana");
        assert_eq!(r.body["records"][0]["latest"], "2026-03-01");
        assert_eq!(r.body["records"][0]["model_version"], "2.0.0");

        // Refusals, each with its rule, nothing written.
        for (token, file, status, rule) in [
            (
                &ana,
                first.clone(),
                StatusCode::CONFLICT,
                "assessment-unchanged",
            ),
            (
                &ana,
                answers("dsomm", "0.5", None),
                StatusCode::UNPROCESSABLE_ENTITY,
                "assessment-file",
            ),
            (
                &ana,
                "format: 1\nmodel: 3\n".to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "assessment-file",
            ),
            (
                &ben,
                answers("samm", "0.5", Some("ana")),
                StatusCode::FORBIDDEN,
                "assessment-confirmed-by-self",
            ),
            (&vic, answers("samm", "1", None), StatusCode::FORBIDDEN, ""),
        ] {
            let r = push(token, file).await;
            assert_problem(&r, status);
            if !rule.is_empty() {
                assert_eq!(r.body["rule"], rule, "{name}: {}", r.text);
            }
        }
        let r = srv.get("/api/v1/assessments/payments-samm", &vic).await;
        assert_eq!(r.body["events"], 2, "{name}: refusals write nothing");

        // Ana confirms her own answer; Ben pushes the next change, keeping her confirmation.
        let confirmed = answers("samm", "0.5", Some("ana"));
        assert_eq!(push(&ana, confirmed).await.status, StatusCode::OK);
        let later = answers("samm", "1", Some("ana"));
        let r = push(&ben, later.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        let by: Vec<&str> = r.body["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["by"].as_str().unwrap())
            .collect();
        assert_eq!(by, ["ana", "ana", "ben"], "{name}");

        // Pulled back exactly as pushed, by anyone (viewers too).
        let r = srv
            .get("/api/v1/assessments/payments-samm/file", &vic)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}");
        assert_eq!(r.text, later, "{name}");
        let list = srv.get("/api/v1/assessments", &vic).await;
        assert_eq!(list.body["assessments"][0]["name"], "payments-samm");
        assert_eq!(list.body["assessments"][0]["records"], 3);
        assert_eq!(list.body["assessments"][0]["kind"], "samm");

        let r = srv
            .post(
                "/api/v1/assessments",
                &vic,
                json!({"name": "viewers-samm", "kind": "samm"}),
            )
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        let r = srv
            .post(
                "/api/v1/assessments",
                &ana,
                json!({"name": "payments-samm", "kind": "dsomm"}),
            )
            .await;
        assert_problem(&r, StatusCode::CONFLICT);

        let report = palisade_store::verify(
            &match &srv.config.store.database_url {
                Some(u) => palisade_store::VerifyTarget::Postgres(u.clone()),
                None => palisade_store::VerifyTarget::DataDir(dir.path().to_path_buf()),
            },
            palisade_store::keys::read_public_key(
                dir.path().join("ledger-signing.pub").to_str().unwrap(),
            )
            .unwrap(),
            &palisade_store::VerifyOptions {
                witnesses: vec![dir.path().join("witness.log")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(report.ok(), "{name}: {:?}", report.failures);
    }
}

/// The maturity pages over HTTP: the list, and an assessment's page with its pushes and the
/// newest answers — who gave and confirmed each, evidence as links only when it is a web
/// address, nothing from the file as markup.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_maturity_pages_show_pushes_and_answers_without_trusting_the_file() {
    use palisade_test_support::web::Web;
    let srv = TestServer::spawn().await;
    let ana = srv.token("ana", "responder").await;
    let r = srv
        .post(
            "/api/v1/assessments",
            &ana,
            json!({"name": "payments-samm", "kind": "samm"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let file = "format: 1\nmodel: { kind: samm, version: \"2.0.0\" }\nassessments:\n  - date: \"2026-03-01\"\n    by: ana\n    answers:\n      G-SM-A-1: { value: 0.5, evidence: [\"https://wiki.example/strategy\", \"javascript:alert(1)\"], confirmed_by: ana, confirmed_at: \"2026-03-02\", note: \"<script>alert(1)</script>\" }\n      G-SM-A-2: ~\n";
    let r = srv
        .post(
            "/api/v1/assessments/payments-samm/records",
            &ana,
            json!({"file": file}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut w = Web::new(&srv);
    w.sign_in_token(&ana).await;
    let list = w.ok("/maturity").await;
    assert!(
        list.text.contains("href=\"/maturity/payments-samm\""),
        "{}",
        list.text
    );
    let page = w.ok("/maturity/payments-samm").await;
    for want in [
        "Pushes",
        "Answers of 2026-03-01",
        "1 answered, 1 confirmed",
        "href=\"https://wiki.example/strategy\"",
        "<code>javascript:alert(1)</code>",
    ] {
        assert!(page.text.contains(want), "{want:?} in {}", page.text);
    }
    assert!(!page.text.contains("href=\"javascript:"), "{}", page.text);
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
    assert_eq!(
        w.get("/maturity/no-such-thing").await.status,
        StatusCode::NOT_FOUND
    );
}
