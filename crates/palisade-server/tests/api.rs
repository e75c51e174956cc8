//! The HTTP API, spawned on port 0 with a fresh data directory per test.

mod common;

use common::{assert_problem, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_security_incident_runs_through_all_fourteen_steps_with_every_rule_enforced() {
    let app = spawn().await;
    let dana = app.token("dana", "responder").await;
    let sam = app.token("sam", "responder").await;
    let inc = app
        .declare(
            &dana,
            json!({"title": "Credential stuffing on login", "severity": "SEV-1"}),
        )
        .await;
    let cn = inc["codename"].as_str().unwrap().to_string();
    assert!(palisade_core::codename::looks_like_codename(&cn), "{cn}");
    assert_eq!(inc["restricted"], true);
    assert_eq!(inc["steps"].as_array().unwrap().len(), 14);
    let p = |s: &str| format!("/api/v1/incidents/{cn}{s}");

    // Rule: no step done before an IC.
    let r = app.post(&p("/steps/1/done"), &dana, json!({})).await;
    assert_problem(&r, StatusCode::CONFLICT);
    assert_eq!(r.body["rule"], "commander-required");
    assert_eq!(
        app.events(&cn, &dana).await,
        1,
        "a refused command wrote nothing"
    );

    let r = app
        .post(&p("/roles"), &dana, json!({"user": "dana", "role": "ic"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .post(
            &p("/roles"),
            &dana,
            json!({"user": "sam", "role": "scribe"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Rule: forensics after 1, 2, 4, 9.
    let r = app.post(&p("/steps/10/done"), &dana, json!({})).await;
    assert_eq!(r.body["rule"], "step-prerequisites");
    for s in [1, 2, 3, 4] {
        let r = app
            .post(&p(&format!("/steps/{s}/start")), &sam, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let r = app
            .post(
                &p(&format!("/steps/{s}/done")),
                &sam,
                json!({"note": format!("step {s} handled")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    // Rule: internal communication after forensics.
    let r = app.post(&p("/steps/11/done"), &dana, json!({})).await;
    assert_eq!(r.body["rule"], "step-prerequisites");
    // Rule: external communication needs 5 and 6 done and the IC's approval.
    let r = app.post(&p("/steps/14/done"), &dana, json!({})).await;
    assert_eq!(r.body["rule"], "step-prerequisites");
    for s in [5, 6, 7, 8, 9] {
        let r = app
            .post(&p(&format!("/steps/{s}/done")), &sam, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let r = app.post(&p("/steps/14/done"), &dana, json!({})).await;
    assert_eq!(r.body["rule"], "approval-required");
    let r = app
        .post(
            &p("/approvals"),
            &sam,
            json!({"approval": "external-communication"}),
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    assert_eq!(r.body["rule"], "commander-only");
    // Rule: resolve needs 1–10 settled.
    let r = app
        .post(&p("/resolve"), &dana, json!({"summary": "done"}))
        .await;
    assert_eq!(r.body["rule"], "resolve-prerequisites");
    let r = app
        .post(
            &p("/steps/10/done"),
            &sam,
            json!({"note": "no internal actor"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for s in [11, 12, 13] {
        let r = app
            .post(&p(&format!("/steps/{s}/done")), &dana, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let r = app
        .post(
            &p("/approvals"),
            &dana,
            json!({"approval": "external-communication", "note": "facts validated"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app.post(&p("/steps/14/done"), &dana, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .post(
            &p("/status"),
            &sam,
            json!({"status": "contained", "message": "attack stopped"}),
        )
        .await;
    assert_eq!(r.body["status"], "contained");
    let r = app
        .post(
            &p("/severity"),
            &dana,
            json!({"severity": "SEV-2", "reason": "no data lost"}),
        )
        .await;
    assert_eq!(r.body["severity"], "SEV-2");
    let r = app
        .post(
            &p("/resolve"),
            &dana,
            json!({"summary": "accounts reset, IPs blocked"}),
        )
        .await;
    assert_eq!(r.body["status"], "resolved", "{:?}", r.body);
    let r = app.post(&p("/close"), &dana, json!({})).await;
    assert_eq!(r.body["status"], "closed");
    let r = app.post(&p("/notes"), &dana, json!({"text": "late"})).await;
    assert_eq!(r.body["rule"], "incident-closed");
    // A correction is still possible, and both versions show.
    let r = app
        .post(&p("/corrections"), &dana, json!({"supersedes": 5, "reason": "wrong time", "occurred_at": "2026-11-26T01:00:00+01:00"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let entry = r.body["appended"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["seq"] == 5)
        .unwrap()
        .clone();
    assert_eq!(entry["effective_occurred_at"], "2026-11-26T01:00:00+01:00");
    assert_ne!(entry["occurred_at"], entry["effective_occurred_at"]);
    // The raw ledger is a hash chain.
    let ledger = app.get(&p("/events"), &dana).await.body;
    let rows = ledger["events"].as_array().unwrap();
    for w in rows.windows(2) {
        assert_eq!(w[1]["prev_hash"], w[0]["hash"]);
    }
    let changes = rows
        .iter()
        .filter(|r| r["event"]["data"]["type"] != "accessed")
        .count() as u64;
    assert_eq!(changes, app.events(&cn, &dana).await);
}

#[tokio::test]
async fn restricted_incidents_do_not_exist_for_non_members() {
    let app = spawn().await;
    let dana = app.token("dana", "responder").await;
    let eve = app.token("eve", "responder").await;
    let inc = app
        .declare(&dana, json!({"title": "Leaked key", "severity": "SEV-2"}))
        .await;
    let cn = inc["codename"].as_str().unwrap();
    let id = inc["id"].as_str().unwrap();
    let open = app
        .declare(
            &dana,
            json!({"title": "DB latency", "severity": "SEV-3", "kind": "operational"}),
        )
        .await;
    for reference in [cn, id] {
        for path in ["", "/events"] {
            let r = app
                .get(&format!("/api/v1/incidents/{reference}{path}"), &eve)
                .await;
            assert_problem(&r, StatusCode::NOT_FOUND);
        }
        let r = app
            .post(
                &format!("/api/v1/incidents/{reference}/notes"),
                &eve,
                json!({"text": "hi"}),
            )
            .await;
        assert_problem(&r, StatusCode::NOT_FOUND);
    }
    // Not found reads the same as a codename that never existed.
    let ghost = app.get("/api/v1/incidents/nosuch-thing", &eve).await;
    assert_eq!(
        ghost.body["title"],
        app.get(&format!("/api/v1/incidents/{cn}"), &eve).await.body["title"]
    );
    // Admins are no exception (break-glass is a separate, recorded path).
    let r = app
        .get(&format!("/api/v1/incidents/{cn}"), &app.admin)
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    let list = app.get("/api/v1/incidents", &eve).await.body;
    let names: Vec<&str> = list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["codename"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![open["codename"].as_str().unwrap()]);
    // Membership makes it visible.
    app.post(
        &format!("/api/v1/incidents/{cn}/roles"),
        &dana,
        json!({"user": "eve", "role": "sme"}),
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/v1/incidents/{cn}"), &eve)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/incidents", &eve).await.body["incidents"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn list_filters_by_status_severity_and_kind() {
    let app = spawn().await;
    let t = &app.admin;
    app.declare(t, json!({"title": "a", "severity": "SEV-1"}))
        .await;
    app.declare(
        t,
        json!({"title": "b", "severity": "SEV-3", "kind": "operational"}),
    )
    .await;
    let count = |q: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/incidents{q}"), &app.admin)
                .await
                .body["incidents"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count("").await, 2);
    assert_eq!(count("?severity=SEV-1").await, 1);
    assert_eq!(count("?kind=operational").await, 1);
    assert_eq!(count("?status=declared&kind=security").await, 1);
    assert_eq!(count("?status=closed").await, 0);
    assert_eq!(count("?limit=1").await, 1);
    let r = app.get("/api/v1/incidents?severity=SEV-9", t).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get("/api/v1/incidents?colour=red", t).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_input_gets_problem_details_and_writes_nothing() {
    let app = spawn().await;
    let t = app.admin.clone();
    let inc = app
        .declare(
            &t,
            json!({"title": "x", "severity": "SEV-2", "commander": "admin"}),
        )
        .await;
    assert_eq!(inc["commander"], "admin");
    let cn = inc["codename"].as_str().unwrap().to_string();
    let before = app.events(&cn, &t).await;
    let notes = format!("/api/v1/incidents/{cn}/notes");
    // Oversized body.
    let big = "x".repeat(70 * 1024);
    let r = app.post(&notes, &t, json!({"text": big})).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
    // Malformed JSON.
    let r = app
        .http
        .post(format!("{}{notes}", app.url))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // Unknown field.
    let r = app
        .post(&notes, &t, json!({"text": "a", "colour": "red"}))
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["detail"].as_str().unwrap().contains("colour"));
    // Wrong types, empty text, bad times and enums.
    for (path, body) in [
        (notes.clone(), json!({"text": 5})),
        (notes.clone(), json!({"text": "   "})),
        (
            notes.clone(),
            json!({"text": "a", "occurred_at": "yesterday"}),
        ),
        (
            format!("/api/v1/incidents/{cn}/severity"),
            json!({"severity": "SEV-0"}),
        ),
        (
            format!("/api/v1/incidents/{cn}/roles"),
            json!({"user": "nobody", "role": "ic"}),
        ),
        (
            format!("/api/v1/incidents/{cn}/roles"),
            json!({"user": "admin", "role": "janitor"}),
        ),
        (format!("/api/v1/incidents/{cn}/steps/99/done"), json!({})),
        (format!("/api/v1/incidents/{cn}/steps/3/waive"), json!({})),
        (
            "/api/v1/incidents".to_string(),
            json!({"title": "", "severity": "SEV-1"}),
        ),
        (
            "/api/v1/incidents".to_string(),
            json!({"title": "t", "severity": "SEV-1", "playbook": "nope"}),
        ),
    ] {
        let r = app.post(&path, &t, body.clone()).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.status.is_client_error(), "{path} {body}");
    }
    // Invalid transitions.
    let r = app
        .post(&format!("/api/v1/incidents/{cn}/close"), &t, json!({}))
        .await;
    assert_problem(&r, StatusCode::CONFLICT);
    assert_eq!(r.body["rule"], "invalid-transition");
    let r = app
        .post(
            &format!("/api/v1/incidents/{cn}/steps/1/fly"),
            &t,
            json!({}),
        )
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    // Unknown incidents and endpoints.
    for path in [
        "/api/v1/incidents/no-such",
        "/api/v1/incidents/5d1f3c1e-0000-4000-8000-000000000000",
        "/api/v1/nothing",
    ] {
        assert_problem(&app.get(path, &t).await, StatusCode::NOT_FOUND);
    }
    let r = app.call("PUT", "/api/v1/incidents", Some(&t), None).await;
    assert_problem(&r, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.events(&cn, &t).await, before, "bad input wrote events");
    assert_eq!(
        app.get("/api/v1/incidents", &t).await.body["incidents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn every_endpoint_requires_a_valid_token_and_the_right_role() {
    let app = spawn().await;
    let responder = app.token("rita", "responder").await;
    let viewer = app.token("vic", "viewer").await;
    let revoked = app.token("rex", "responder").await;
    let tokens = app.get("/api/v1/tokens", &app.admin).await.body;
    let rex_id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["user"] == "rex")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/tokens/{rex_id}"),
            Some(&app.admin),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    // An open incident every role can see, with rita as IC so her commands are allowed.
    let inc = app
        .declare(&app.admin, json!({"title": "ops", "severity": "SEV-3", "kind": "operational", "commander": "rita"}))
        .await;
    let cn = inc["codename"].as_str().unwrap().to_string();
    let i = |s: &str| format!("/api/v1/incidents/{cn}{s}");
    // (method, path, body, expected status for admin, responder, viewer)
    let ok = StatusCode::OK;
    let cases: Vec<(&str, String, Option<Value>, [StatusCode; 3])> = vec![
        ("GET", "/api/v1/incidents".into(), None, [ok; 3]),
        (
            "POST",
            "/api/v1/incidents".into(),
            Some(json!({"title": "t", "severity": "SEV-4", "kind": "operational"})),
            [
                StatusCode::CREATED,
                StatusCode::CREATED,
                StatusCode::FORBIDDEN,
            ],
        ),
        ("GET", i(""), None, [ok; 3]),
        ("GET", i("/events"), None, [ok; 3]),
        (
            "POST",
            i("/notes"),
            Some(json!({"text": "n"})),
            [ok, ok, StatusCode::FORBIDDEN],
        ),
        (
            "POST",
            i("/status"),
            Some(json!({"message": "m"})),
            [ok, ok, StatusCode::FORBIDDEN],
        ),
        (
            "POST",
            i("/steps/1/start"),
            Some(json!({})),
            [ok, StatusCode::CONFLICT, StatusCode::FORBIDDEN],
        ),
        (
            "POST",
            i("/steps/1/done"),
            Some(json!({})),
            [ok, StatusCode::CONFLICT, StatusCode::FORBIDDEN],
        ),
        (
            "POST",
            i("/roles"),
            Some(json!({"user": "vic", "role": "scribe"})),
            [ok, StatusCode::CONFLICT, StatusCode::FORBIDDEN],
        ),
        (
            "POST",
            i("/roles/unassign"),
            Some(json!({"user": "vic", "role": "scribe"})),
            [ok, StatusCode::CONFLICT, StatusCode::FORBIDDEN],
        ),
        (
            "POST",
            i("/severity"),
            Some(json!({"severity": "SEV-2"})),
            [ok, StatusCode::CONFLICT, StatusCode::FORBIDDEN],
        ),
        (
            "POST",
            i("/steps/4/waive"),
            Some(json!({"reason": "n/a"})),
            [StatusCode::FORBIDDEN, ok, StatusCode::FORBIDDEN],
        ),
        (
            "POST",
            i("/approvals"),
            Some(json!({"approval": "x"})),
            [
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::FORBIDDEN,
            ],
        ),
        (
            "POST",
            i("/resolve"),
            Some(json!({"summary": "s"})),
            [
                StatusCode::FORBIDDEN,
                StatusCode::CONFLICT,
                StatusCode::FORBIDDEN,
            ],
        ),
        (
            "POST",
            i("/close"),
            Some(json!({})),
            [
                StatusCode::FORBIDDEN,
                StatusCode::CONFLICT,
                StatusCode::FORBIDDEN,
            ],
        ),
        (
            "POST",
            i("/corrections"),
            Some(json!({"supersedes": 1, "reason": "r", "text": "x"})),
            [
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::FORBIDDEN,
            ],
        ),
        ("GET", "/api/v1/me".into(), None, [ok; 3]),
        (
            "GET",
            "/api/v1/tokens".into(),
            None,
            [ok, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN],
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"user": "newbie", "role": "viewer"})),
            [
                StatusCode::CREATED,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
            ],
        ),
        (
            "DELETE",
            "/api/v1/tokens/tok_000000000000".into(),
            None,
            [
                StatusCode::NOT_FOUND,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
            ],
        ),
        ("GET", "/metrics".into(), None, [ok; 3]),
    ];
    for (method, path, body, expected) in &cases {
        for (who, token, want) in [
            ("admin", app.admin.as_str(), expected[0]),
            ("responder", responder.as_str(), expected[1]),
            ("viewer", viewer.as_str(), expected[2]),
        ] {
            let r = app.call(method, path, Some(token), body.clone()).await;
            assert_eq!(r.status, want, "{method} {path} as {who}: {:?}", r.body);
        }
        for (who, token) in [
            ("no token", None),
            ("revoked token", Some(revoked.as_str())),
            ("garbage token", Some("pal_garbage")),
        ] {
            let r = app.call(method, path, token, body.clone()).await;
            assert_problem(&r, StatusCode::UNAUTHORIZED);
            assert!(
                !r.body["detail"].as_str().unwrap().is_empty(),
                "{method} {path} with {who}"
            );
        }
    }
    // Public endpoints.
    assert_eq!(
        app.call("GET", "/healthz", None, None).await.body["status"],
        "ok"
    );
    assert_eq!(
        app.call("GET", "/api/v1/openapi.json", None, None)
            .await
            .status,
        StatusCode::OK
    );
    // A user may revoke their own token.
    let me = app.get("/api/v1/me", &viewer).await.body;
    let r = app
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{}", me["token_id"].as_str().unwrap()),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", &viewer).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn openapi_documents_every_route_and_metrics_leak_no_names() {
    let app = spawn().await;
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/incidents",
        "/api/v1/incidents/{incident}",
        "/api/v1/incidents/{incident}/events",
        "/api/v1/incidents/{incident}/roles",
        "/api/v1/incidents/{incident}/roles/unassign",
        "/api/v1/incidents/{incident}/steps/{step}/{action}",
        "/api/v1/incidents/{incident}/notes",
        "/api/v1/incidents/{incident}/status",
        "/api/v1/incidents/{incident}/severity",
        "/api/v1/incidents/{incident}/approvals",
        "/api/v1/incidents/{incident}/resolve",
        "/api/v1/incidents/{incident}/close",
        "/api/v1/incidents/{incident}/corrections",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/me",
        "/healthz",
        "/metrics",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    assert_eq!(doc["openapi"].as_str().unwrap().chars().next(), Some('3'));
    assert!(doc["components"]["schemas"]["IncidentView"].is_object());
    let inc = app
        .declare(
            &app.admin,
            json!({"title": "secret thing", "severity": "SEV-1"}),
        )
        .await;
    let cn = inc["codename"].as_str().unwrap();
    // An open incident: its declaration is counted; the restricted one's is not (a moving count
    // would tell a non-member that it exists).
    app.declare(
        &app.admin,
        json!({"title": "db latency", "severity": "SEV-3", "kind": "operational"}),
    )
    .await;
    app.post(
        &format!("/api/v1/incidents/{cn}/steps/1/done"),
        &app.admin,
        json!({}),
    )
    .await;
    let r = app
        .http
        .get(format!("{}/metrics", app.url))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert!(
        text.contains("palisade_commands_refused_total{rule=\"commander-required\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("palisade_ledger_events_appended_total 1\n"),
        "{text}"
    );
    assert!(
        text.contains("palisade_incidents_declared_total 1\n"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/api/v1/incidents/{incident}/steps/{step}/{action}\""),
        "{text}"
    );
    assert!(!text.contains(cn), "metrics leak a codename");
    assert!(!text.contains("secret thing"));
}

#[tokio::test]
async fn a_command_answers_with_what_it_changed_and_the_timeline_comes_in_pages() {
    let app = spawn().await;
    let ic = app.token("dana", "responder").await;
    let v = app
        .declare(
            &ic,
            json!({"title": "Token leak", "severity": "SEV-2", "commander": "dana"}),
        )
        .await;
    let cn = v["codename"].as_str().unwrap().to_string();
    assert!(v.get("timeline").is_none(), "{v}");
    assert!(!v["appended"].as_array().unwrap().is_empty(), "{v}");
    let p = |s: &str| format!("/api/v1/incidents/{cn}{s}");
    let mut sizes = Vec::new();
    for i in 0..120 {
        let r = app
            .post(&p("/notes"), &ic, json!({"text": format!("note {i}")}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        // The answer is the incident's summary and the one entry the note added, however long
        // the timeline has grown.
        assert!(r.body.get("timeline").is_none(), "{}", r.text);
        let added = r.body["appended"].as_array().unwrap();
        assert_eq!(added.len(), 1, "{}", r.text);
        assert_eq!(
            added[0]["description"],
            format!("Note: note {i}"),
            "{}",
            r.text
        );
        assert_eq!(r.body["events"], added[0]["seq"], "{}", r.text);
        sizes.push(r.text.len());
    }
    assert!(
        sizes[119] < sizes[0] + 64,
        "answers grow with the timeline: {} then {} bytes",
        sizes[0],
        sizes[119]
    );

    // Pages of 50 walk the whole timeline once, each in order of occurrence.
    let whole = app.get(&p("?limit=10000"), &ic).await.body;
    let all: Vec<u64> = whole["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["seq"].as_u64().unwrap())
        .collect();
    assert!(whole.get("timeline_next_after").is_none(), "{whole}");
    assert!(all.len() > 120, "{}", all.len());
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let r = app.get(&p(&format!("?after={after}&limit=50")), &ic).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let page = r.body["timeline"].as_array().unwrap();
        assert!(page.len() <= 50);
        seen.extend(page.iter().map(|t| t["seq"].as_u64().unwrap()));
        match r.body["timeline_next_after"].as_u64() {
            Some(next) => {
                assert!(next > after);
                after = next;
            }
            None => break,
        }
    }
    let mut sorted = all.clone();
    sorted.sort_unstable();
    seen.sort_unstable();
    assert_eq!(seen, sorted, "pages miss or repeat entries");
    // Without a limit, a page holds 500 at most.
    let first = app.get(&p(""), &ic).await.body;
    assert_eq!(
        first["timeline"].as_array().unwrap().len(),
        all.len().min(500)
    );

    // Bad paging is refused with a reason, an unknown parameter too.
    for (q, status) in [
        ("?limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("?limit=10001", StatusCode::UNPROCESSABLE_ENTITY),
        ("?after=-1", StatusCode::UNPROCESSABLE_ENTITY),
        ("?page=2", StatusCode::BAD_REQUEST),
    ] {
        let r = app.get(&p(q), &ic).await;
        assert_problem(&r, status);
    }
}
