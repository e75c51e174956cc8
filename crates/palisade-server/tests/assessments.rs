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

/// With the official SAMM model in the data directory's `maturity-models/`, the server scores
/// the newest assessment of the last push as the toolbox does (the toolbox example: 1.24), in
/// the API and on the page; without a model it says how to get scores.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_scores_with_the_model_in_its_data_directory() {
    let Some(model) = palisade_test_support::shared_data("maturity/samm/model") else {
        return;
    };
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let dest = to.join(p.file_name().unwrap());
            if p.is_dir() {
                copy(&p, &dest);
            } else {
                std::fs::copy(&p, &dest).unwrap();
            }
        }
    }
    const TOOLBOX: &str = "G-SM-A-1=0 G-SM-A-2=0 G-SM-A-3=0.25 G-SM-B-2=0.25 G-SM-B-3=0.5 G-PC-A-1=0.5 G-PC-A-2=0.5 G-PC-A-3=0.5 G-PC-B-1=0.25 G-PC-B-2=0.5 G-PC-B-3=1 G-EG-A-1=1 G-EG-A-2=1 G-EG-A-3=0.5 G-EG-B-1=0.5 G-EG-B-2=1 G-EG-B-3=0 D-TA-A-1=0 D-TA-A-2=0.25 D-TA-A-3=0 D-TA-B-1=1 D-TA-B-2=0 D-TA-B-3=1 D-SR-A-2=0.5 D-SR-A-3=0.25 D-SR-B-1=0.5 D-SR-B-2=0.5 D-SR-B-3=0.5 D-SA-A-1=1 D-SA-A-2=1 D-SA-A-3=0.5 D-SA-B-1=0 D-SA-B-2=1 D-SA-B-3=0.5 I-SB-A-1=0 I-SB-A-2=0 I-SB-A-3=0 I-SB-B-1=0.25 I-SB-B-2=1 I-SB-B-3=1 I-SD-A-2=0 I-SD-A-3=1 I-SD-B-1=1 I-SD-B-2=0.5 I-SD-B-3=0 I-DM-A-1=1 I-DM-A-2=0 I-DM-A-3=0.5 I-DM-B-1=0.5 I-DM-B-2=0 I-DM-B-3=1 V-AA-A-2=0.5 V-AA-A-3=0 V-AA-B-1=0.25 V-AA-B-2=0.5 V-AA-B-3=0.25 V-RT-A-1=0.5 V-RT-A-2=0 V-RT-A-3=0.25 V-RT-B-1=0 V-RT-B-2=0 V-RT-B-3=1 V-ST-A-1=0.25 V-ST-A-2=0.5 V-ST-A-3=1 V-ST-B-1=0 V-ST-B-2=0 V-ST-B-3=0.25 O-IM-A-1=1 O-IM-A-2=0.25 O-IM-A-3=0.5 O-IM-B-1=0.25 O-IM-B-2=0 O-IM-B-3=1 O-EM-A-1=0.5 O-EM-A-2=1 O-EM-B-1=0.5 O-EM-B-2=0.25 O-EM-B-3=0.25 O-OM-A-1=0.5 O-OM-A-2=0 O-OM-A-3=1 O-OM-B-1=0.25 O-OM-B-2=0 O-OM-B-3=0.25";
    let mut file =
        "format: 1\nmodel: { kind: samm, version: \"older\" }\nassessments:\n  - date: \"2026-01-15\"\n    team: payments\n    answers:\n".to_string();
    for pair in TOOLBOX.split_whitespace() {
        let (k, v) = pair.split_once('=').unwrap();
        file.push_str(&format!("      {k}: {v}\n"));
    }
    let (name, store, dir) = backends().await.into_iter().next().unwrap();
    copy(&model, &dir.path().join("maturity-models").join("samm"));
    let srv = TestServer::serve(AppConfig {
        store,
        ..Default::default()
    })
    .await;
    for (asm, kind) in [("payments-samm", "samm"), ("platform-dsomm", "dsomm")] {
        let r = srv
            .post(
                "/api/v1/assessments",
                &srv.admin,
                json!({"name": asm, "kind": kind}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
    }
    let r = srv
        .post(
            "/api/v1/assessments/payments-samm/records",
            &srv.admin,
            json!({"file": file}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
    let scores = &r.body["scores"];
    let overall = scores["overall"].as_f64().expect("scored");
    assert!((overall - 1.24).abs() < 0.005, "{overall}: {}", r.text);
    assert_eq!(scores["unit"], "score");
    assert_eq!(
        scores["same_version"], false,
        "the answers name another version"
    );
    assert_eq!(scores["team"], "payments");
    assert_eq!(scores["groups"].as_array().unwrap().len(), 5);

    let dsomm = srv
        .get("/api/v1/assessments/platform-dsomm", &srv.admin)
        .await;
    assert!(dsomm.body["scores"].is_null());
    assert_eq!(dsomm.body["scores_note"], "no answers file pushed yet");

    let mut w = palisade_test_support::web::Web::new(&srv);
    w.sign_in_token(&srv.admin).await;
    let page = w.ok("/maturity/payments-samm").await;
    assert!(
        page.text.contains("Scores of 2026-01-15 (payments)"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("Overall: <strong>1.24</strong>"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("src=\"/maturity/payments-samm/heatmap.svg\""),
        "{}",
        page.text
    );
    let svg = w.ok("/maturity/payments-samm/heatmap.svg").await;
    assert!(svg.text.contains("<svg"), "{}", svg.text);
    assert!(
        svg.text.contains("OWASP SAMM: score per practice"),
        "the heat map's title"
    );
    assert_eq!(
        w.get("/maturity/platform-dsomm/heatmap.svg").await.status,
        StatusCode::NOT_FOUND
    );
}

/// A model file in `maturity-models/` that does not load stops the server at start, naming the
/// file, rather than leaving assessments silently unscored.
#[tokio::test]
async fn a_broken_model_in_the_data_directory_stops_the_start_with_its_file() {
    let (_, store, dir) = backends().await.into_iter().next().unwrap();
    let models = dir.path().join("maturity-models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::write(models.join("dsomm.yaml"), "meta: [unclosed\n").unwrap();
    let err = palisade_app::App::start(&AppConfig {
        store,
        ..Default::default()
    })
    .await
    .err()
    .expect("refused to start");
    let text = err.to_string();
    assert!(
        text.starts_with("a maturity model in the data directory does not load")
            && text.contains("dsomm.yaml"),
        "{text}"
    );
}
