//! Communications and postmortem endpoints, spawned on port 0 with a fresh data directory each.

use palisade_core::comms::{CommsPolicy, DeadlineDef};
mod common;

use common::{Resp, assert_problem, spawn, spawn_with};
use palisade_app::{App, AppConfig as ServerConfig};
use palisade_store::StoreConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn assert_refused(r: &Resp, status: StatusCode, rule: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.body["rule"], rule, "{}", r.text);
}

#[tokio::test]
async fn a_statement_goes_from_draft_to_ic_approval_to_a_dated_publication() {
    let app = spawn().await;
    let dana = app.token("dana", "responder").await;
    let sam = app.token("sam", "responder").await;
    let inc = app
        .declare(
            &dana,
            json!({"title": "Leaked key", "severity": "SEV-1", "commander": "dana",
                   "aware_at": "2026-11-26T02:00:00+01:00"}),
        )
        .await;
    let cn = inc["codename"].as_str().unwrap().to_string();
    // Awareness at declaration starts the default GDPR deadline: 72 h from 01:00 UTC.
    let d = &inc["communications"]["deadlines"][0];
    assert_eq!(d["name"], "GDPR Art. 33 (supervisory authority)");
    assert_eq!(d["due"], "2026-11-29T02:00:00+01:00");
    assert_eq!(
        d["overdue"],
        json!(d["seconds_remaining"].as_i64().unwrap() < 0)
    );
    // The internal cadence is 30 minutes for SEV-1.
    assert_eq!(inc["communications"]["internal"]["every_minutes"], 30);
    assert_eq!(inc["communications"]["internal"]["overdue"], false);
    app.ok(
        &format!("/api/v1/incidents/{cn}/roles"),
        &dana,
        json!({"user": "sam", "role": "customer_liaison"}),
    )
    .await;
    let base = format!("/api/v1/incidents/{cn}/statements");
    app.ok(
        &base,
        &sam,
        json!({"title": "Security incident", "body": "We take security very seriously."}),
    )
    .await;
    let view = app
        .get(&format!("/api/v1/incidents/{cn}/communications"), &sam)
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    assert_eq!(
        view.body["statements"][0]["avoided_phrases"],
        json!(["we take security very seriously"])
    );
    let r = app
        .post(&format!("{base}/1/publish"), &sam, json!({}))
        .await;
    assert_refused(&r, StatusCode::CONFLICT, "statement-approval-required");
    let r = app
        .post(&format!("{base}/1/approve"), &sam, json!({}))
        .await;
    assert_refused(&r, StatusCode::FORBIDDEN, "commander-only");
    let r = app
        .post(&format!("{base}/1/approve"), &dana, json!({}))
        .await;
    assert_refused(&r, StatusCode::CONFLICT, "avoided-phrase");
    app.ok(
        &format!("{base}/1/revise"),
        &sam,
        json!({"title": "Security incident", "body": "On 26 November an API key was exposed."}),
    )
    .await;
    let r = app
        .post(&format!("{base}/1/approve"), &dana, json!({"revision": 1}))
        .await;
    assert_refused(&r, StatusCode::CONFLICT, "invalid-transition");
    app.ok(&format!("{base}/1/approve"), &dana, json!({"revision": 2}))
        .await;
    app.ok(
        &format!("{base}/1/publish"),
        &sam,
        json!({"date": "2026-11-27"}),
    )
    .await;
    let view = app
        .get(&format!("/api/v1/incidents/{cn}/communications"), &sam)
        .await
        .body;
    let s = &view["statements"][0];
    assert_eq!(s["state"], "published");
    assert_eq!(s["published_title"], "2026-11-27: Security incident");
    assert_eq!(s["approved_by"], "dana");
    assert_eq!(s["revisions"].as_array().unwrap().len(), 2);
    // The deadline is met once.
    let met = format!("/api/v1/incidents/{cn}/deadlines/met");
    let v = app
        .ok(
            &met,
            &dana,
            json!({"name": "GDPR Art. 33 (supervisory authority)", "note": "ref 2026/114"}),
        )
        .await;
    assert_eq!(v["communications"]["deadlines"][0]["met"]["by"], "dana");
    assert_eq!(v["communications"]["deadlines"][0]["overdue"], false);
    let r = app
        .post(
            &met,
            &dana,
            json!({"name": "GDPR Art. 33 (supervisory authority)"}),
        )
        .await;
    assert_refused(&r, StatusCode::CONFLICT, "invalid-transition");
    let r = app.post(&met, &dana, json!({"name": "CCPA"})).await;
    assert_refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "unknown-reference");
}

#[tokio::test]
async fn updates_have_an_audience_and_external_ones_avoid_the_configured_phrases() {
    let policy = CommsPolicy {
        avoid_phrases: vec!["rest assured".into()],
        deadlines: vec![DeadlineDef {
            name: "NIS2 early warning".into(),
            hours: 24,
        }],
        ..Default::default()
    };
    let app = spawn_with(|c| c.comms = policy).await;
    let t = app.admin.clone();
    let inc = app
        .declare(
            &t,
            json!({"title": "x", "severity": "SEV-2", "commander": "admin"}),
        )
        .await;
    let cn = inc["codename"].as_str().unwrap().to_string();
    assert_eq!(
        inc["communications"]["pending_deadlines"][0]["name"],
        "NIS2 early warning"
    );
    let status = format!("/api/v1/incidents/{cn}/status");
    let r = app
        .post(
            &status,
            &t,
            json!({"message": "Rest   assured, all is fine", "audience": "external"}),
        )
        .await;
    assert_refused(&r, StatusCode::CONFLICT, "avoided-phrase");
    let r = app
        .post(
            &status,
            &t,
            json!({"status": "contained", "message": "m", "audience": "external"}),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(&status, &t, json!({"message": "m", "audience": "everyone"}))
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let v = app
        .ok(
            &status,
            &t,
            json!({"message": "We are investigating sign-in errors.", "audience": "external"}),
        )
        .await;
    assert!(v["communications"]["external"]["last_update"].is_string());
    assert!(v["communications"]["internal"]["last_update"].is_null());
    let v = app
        .ok(
            &status,
            &t,
            json!({"message": "internal: scope is one host"}),
        )
        .await;
    assert!(v["communications"]["internal"]["last_update"].is_string());
    let next = v["communications"]["internal"]["seconds_remaining"]
        .as_i64()
        .unwrap();
    assert!((29 * 60..=30 * 60).contains(&next), "{next}");
    let ledger = app
        .get(&format!("/api/v1/incidents/{cn}/events"), &t)
        .await
        .body;
    let types: Vec<Value> = ledger["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["data"]["type"] != "accessed")
        .map(|e| e["event"]["data"]["audience"].clone())
        .collect();
    assert_eq!(types[types.len() - 2], "external");
    assert!(
        types[types.len() - 1].is_null(),
        "internal keeps the old encoding"
    );
    // Awareness with the configured deadline, recorded in the ledger.
    let v = app
        .ok(
            &format!("/api/v1/incidents/{cn}/awareness"),
            &t,
            json!({"aware_at": "2026-11-26T10:00:00Z"}),
        )
        .await;
    assert_eq!(
        v["communications"]["deadlines"][0]["due"],
        "2026-11-27T10:00:00Z"
    );
    let r = app
        .post(
            &format!("/api/v1/incidents/{cn}/awareness"),
            &t,
            json!({"aware_at": "2026-11-26T09:00:00Z"}),
        )
        .await;
    assert_refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid-input");
}

#[tokio::test]
async fn the_postmortem_draft_comes_as_markdown_or_json_and_its_lifecycle_moves_forward() {
    let app = spawn().await;
    let t = app.admin.clone();
    let sam = app.token("sam", "responder").await;
    let inc = app
        .declare(
            &t,
            json!({"title": "Stolen laptop", "severity": "SEV-2", "commander": "admin"}),
        )
        .await;
    let cn = inc["codename"].as_str().unwrap().to_string();
    app.ok(
        &format!("/api/v1/incidents/{cn}/roles"),
        &t,
        json!({"user": "sam", "role": "scribe"}),
    )
    .await;
    let pm = format!("/api/v1/incidents/{cn}/postmortem");
    let r = app
        .post(&format!("{pm}/status"), &t, json!({"status": "in_review"}))
        .await;
    assert_refused(&r, StatusCode::CONFLICT, "postmortem-not-started");
    for step in 1..=10 {
        app.ok(
            &format!("/api/v1/incidents/{cn}/steps/{step}/done"),
            &t,
            json!({}),
        )
        .await;
    }
    let v = app
        .ok(
            &format!("/api/v1/incidents/{cn}/resolve"),
            &t,
            json!({"summary": "Disk was encrypted; device wiped."}),
        )
        .await;
    assert_eq!(v["postmortem"]["status"], "draft");
    assert_eq!(v["postmortem"]["required"], true);
    assert!(v["postmortem"]["due"].is_string());
    assert_eq!(v["postmortem"]["overdue"], false);
    let items = format!("/api/v1/incidents/{cn}/action-items");
    let r = app
        .post(&items, &t, json!({"title": "Audit MDM", "owner": "nobody"}))
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            &items,
            &t,
            json!({"title": "Audit MDM", "owner": "sam", "due": "soon"}),
        )
        .await;
    assert_refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid-input");
    app.ok(
        &items,
        &t,
        json!({"title": "Audit MDM enrolment", "owner": "sam", "due": "2026-12-15"}),
    )
    .await;
    // Markdown by query or by Accept header.
    let md = app.get(&format!("{pm}?format=markdown"), &t).await;
    assert_eq!(md.status, StatusCode::OK);
    assert_eq!(md.content_type, "text/markdown; charset=utf-8");
    for want in [
        "## Timeline",
        "| 14 | External communication | pending |",
        "| Time to resolve |",
        "| 1 | Audit MDM enrolment | sam | 2026-12-15 | open |",
    ] {
        assert!(md.text.contains(want), "missing {want:?}:\n{}", md.text);
    }
    let by_accept = app
        .send(
            app.http
                .get(format!("{}{pm}", app.url))
                .bearer_auth(&t)
                .header("accept", "text/markdown"),
        )
        .await;
    assert_eq!(by_accept.content_type, "text/markdown; charset=utf-8");
    let js = app.get(&pm, &t).await;
    assert_eq!(js.content_type, "application/json");
    assert_eq!(js.body["codename"], cn.as_str());
    assert_eq!(js.body["postmortem"]["status"], "draft");
    assert!(js.body["metrics"]["time_to_resolve"]["seconds"].is_i64());
    assert!(
        js.body["markdown"]
            .as_str()
            .unwrap()
            .starts_with("# Postmortem")
    );
    assert_problem(
        &app.get(&format!("{pm}?format=pdf"), &t).await,
        StatusCode::BAD_REQUEST,
    );
    assert_problem(
        &app.get(&format!("{pm}?colour=red"), &t).await,
        StatusCode::BAD_REQUEST,
    );
    // Forward only, one step at a time.
    let r = app
        .post(&format!("{pm}/status"), &t, json!({"status": "closed"}))
        .await;
    assert_refused(&r, StatusCode::CONFLICT, "postmortem-forward-only");
    for s in ["in_review", "reviewed", "closed"] {
        let v = app
            .ok(&format!("{pm}/status"), &t, json!({"status": s}))
            .await;
        assert_eq!(v["postmortem"]["status"], s);
    }
    let v = app
        .ok(&format!("{items}/1/done"), &sam, json!({"note": "done"}))
        .await;
    assert_eq!(v["postmortem"]["action_items_done"], 1);
    let r = app.post(&format!("{items}/1/done"), &t, json!({})).await;
    assert_refused(&r, StatusCode::CONFLICT, "invalid-transition");
}

#[tokio::test]
async fn bad_input_non_members_and_viewers_get_problems_and_nothing_is_written() {
    let app = spawn().await;
    let dana = app.token("dana", "responder").await;
    let eve = app.token("eve", "responder").await;
    let vic = app.token("vic", "viewer").await;
    let inc = app
        .declare(
            &dana,
            json!({"title": "Leaked key", "severity": "SEV-2", "commander": "dana"}),
        )
        .await;
    let cn = inc["codename"].as_str().unwrap().to_string();
    let before = app.events(&cn, &dana).await;
    let i = format!("/api/v1/incidents/{cn}");
    let posts = [
        (
            format!("{i}/statements"),
            json!({"title": "t", "body": "b"}),
        ),
        (
            format!("{i}/statements/1/revise"),
            json!({"title": "t", "body": "b"}),
        ),
        (format!("{i}/statements/1/approve"), json!({})),
        (format!("{i}/statements/1/publish"), json!({})),
        (
            format!("{i}/awareness"),
            json!({"aware_at": "2026-11-26T10:00:00Z"}),
        ),
        (format!("{i}/deadlines/met"), json!({"name": "x"})),
        (
            format!("{i}/postmortem/status"),
            json!({"status": "in_review"}),
        ),
        (
            format!("{i}/action-items"),
            json!({"title": "t", "owner": "dana"}),
        ),
        (format!("{i}/action-items/1/done"), json!({})),
    ];
    for (path, body) in &posts {
        // A non-member of a restricted incident: it does not exist.
        assert_problem(
            &app.post(path, &eve, body.clone()).await,
            StatusCode::NOT_FOUND,
        );
        // Unknown fields.
        let mut with_unknown = body.clone();
        with_unknown["colour"] = json!("red");
        let r = app.post(path, &dana, with_unknown).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("colour"), "{path}: {}", r.text);
        // Malformed JSON.
        let r = app
            .send(
                app.http
                    .post(format!("{}{path}", app.url))
                    .bearer_auth(&dana)
                    .header("content-type", "application/json")
                    .body("{oops"),
            )
            .await;
        assert_problem(&r, StatusCode::BAD_REQUEST);
        // Oversized.
        let r = app
            .post(path, &dana, json!({"title": "x".repeat(70 * 1024)}))
            .await;
        assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
        // Unknown incident.
        let ghost = path.replace(&cn, "no-such-thing");
        assert_problem(
            &app.post(&ghost, &dana, body.clone()).await,
            StatusCode::NOT_FOUND,
        );
    }
    for get in [format!("{i}/communications"), format!("{i}/postmortem")] {
        assert_problem(&app.get(&get, &eve).await, StatusCode::NOT_FOUND);
        assert_problem(
            &app.get(&get.replace(&cn, "no-such-thing"), &dana).await,
            StatusCode::NOT_FOUND,
        );
    }
    // A viewer who is a member reads but does not write.
    app.ok(
        &format!("{i}/roles"),
        &dana,
        json!({"user": "vic", "role": "scribe"}),
    )
    .await;
    let before = before + 1;
    assert_eq!(
        app.get(&format!("{i}/communications"), &vic).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("{i}/postmortem"), &vic).await.status,
        StatusCode::OK
    );
    for (path, body) in &posts {
        let r = app.post(path, &vic, body.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
    }
    // Bad values.
    for (path, body) in [
        (format!("{i}/statements/x/approve"), json!({})),
        (format!("{i}/statements/0/approve"), json!({})),
        (format!("{i}/action-items/x/done"), json!({})),
    ] {
        assert_problem(&app.post(&path, &dana, body).await, StatusCode::NOT_FOUND);
    }
    for (path, body) in [
        (format!("{i}/awareness"), json!({"aware_at": "yesterday"})),
        (format!("{i}/awareness"), json!({})),
        (format!("{i}/statements"), json!({"title": "", "body": "b"})),
        (format!("{i}/statements/9/approve"), json!({})),
        (
            format!("{i}/statements/1/publish"),
            json!({"date": "27/11/2026"}),
        ),
        (format!("{i}/postmortem/status"), json!({"status": "done"})),
        (
            format!("{i}/action-items"),
            json!({"title": "t", "owner": "Not A User"}),
        ),
    ] {
        let r = app.post(&path, &dana, body.clone()).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(
        app.events(&cn, &dana).await,
        before,
        "bad input wrote events"
    );
}

#[tokio::test]
async fn openapi_documents_the_new_routes() {
    let app = spawn().await;
    let doc = app.get("/api/v1/openapi.json", &app.admin).await.body;
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/incidents/{incident}/communications",
        "/api/v1/incidents/{incident}/awareness",
        "/api/v1/incidents/{incident}/deadlines/met",
        "/api/v1/incidents/{incident}/statements",
        "/api/v1/incidents/{incident}/statements/{statement}/revise",
        "/api/v1/incidents/{incident}/statements/{statement}/approve",
        "/api/v1/incidents/{incident}/statements/{statement}/publish",
        "/api/v1/incidents/{incident}/postmortem",
        "/api/v1/incidents/{incident}/postmortem/status",
        "/api/v1/incidents/{incident}/action-items",
        "/api/v1/incidents/{incident}/action-items/{item}/done",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
}

#[tokio::test]
async fn an_invalid_policy_stops_the_server_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut comms = CommsPolicy::default();
    comms.deadlines[0].hours = 0;
    let err = match App::start(&ServerConfig {
        store: StoreConfig {
            data_dir: dir.path().to_path_buf(),
            database_url: None,
        },
        comms,
        ..Default::default()
    })
    .await
    {
        Ok(_) => panic!("an invalid policy was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("hours is out of range"), "{err}");
}
