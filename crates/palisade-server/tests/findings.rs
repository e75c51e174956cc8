//! Findings through the API, on both backends: reports uploaded run after run open, keep, fix
//! and reopen findings by fingerprint; due dates by severity; risk acceptance and false-positive
//! marks with reasons and expiries, each on the ledger; bad reports and bad requests refused
//! with nothing written; a repeated upload with the same key answered once.

use palisade_server::AppConfig;
use palisade_test_support::{Resp, TestServer, assert_problem, backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn sarif(results: &[(&str, &str, &str)]) -> Value {
    // (rule, severity word, file)
    json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "semgrep", "rules": results.iter().map(|(r, sev, _)| json!({
                "id": r, "shortDescription": {"text": format!("rule {r}")},
                "properties": {"severity": sev}
            })).collect::<Vec<_>>()}},
            "results": results.iter().map(|(r, _, file)| json!({
                "ruleId": r, "message": {"text": format!("{r} in {file}")},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": file}, "region": {"startLine": 3}}}]
            })).collect::<Vec<_>>()
        }]
    })
}

async fn upload(srv: &TestServer, token: &str, query: &str, body: Vec<u8>) -> Resp {
    srv.send(
        srv.http
            .post(format!(
                "{}/api/v1/services/payments-api/findings/uploads?{query}",
                srv.url
            ))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

async fn up(srv: &TestServer, results: &[(&str, &str, &str)]) -> Value {
    let r = upload(
        srv,
        &srv.admin,
        "phase=code",
        serde_json::to_vec(&sarif(results)).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

fn counts(v: &Value) -> [u64; 5] {
    ["results", "new", "fixed", "reopened", "unchanged"].map(|k| v[k].as_u64().unwrap())
}

async fn findings(srv: &TestServer, query: &str) -> Vec<Value> {
    let r = srv
        .get(
            &format!("/api/v1/findings?service=payments-api&{query}"),
            &srv.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["findings"].as_array().unwrap().clone()
}

fn by_rule<'a>(list: &'a [Value], rule: &str) -> &'a Value {
    list.iter().find(|f| f["rule"] == rule).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_open_keep_fix_and_reopen_findings_and_triage_is_recorded() {
    for (name, store, _dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        let r = srv
            .post(
                "/api/v1/services",
                &srv.admin,
                json!({"name": "payments-api"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);

        let first = up(
            &srv,
            &[
                ("R1", "critical", "a.py"),
                ("R2", "high", "b.py"),
                ("R3", "low", "c.py"),
            ],
        )
        .await;
        assert_eq!(counts(&first), [3, 3, 0, 0, 0], "{name}: {first}");
        assert_eq!(
            (first["run"].as_u64(), first["format"].as_str()),
            (Some(1), Some("sarif"))
        );
        let list = findings(&srv, "").await;
        assert_eq!(
            list.iter()
                .map(|f| f["rule"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["R1", "R2", "R3"],
            "{name}: most severe first"
        );
        let r1 = by_rule(&list, "R1");
        assert_eq!(
            (r1["status"].as_str(), r1["kind"].as_str()),
            (Some("open"), Some("code"))
        );
        // Critical: due 7 days after first seen.
        let first_seen =
            palisade_core::Timestamp::parse(r1["first_seen"].as_str().unwrap()).unwrap();
        let due = palisade_core::Timestamp::parse(r1["due_at"].as_str().unwrap()).unwrap();
        assert_eq!(due.0 - first_seen.0, time::Duration::days(7), "{name}");

        // The same report again: nothing changes but the run count.
        let again = up(
            &srv,
            &[
                ("R1", "critical", "a.py"),
                ("R2", "high", "b.py"),
                ("R3", "low", "c.py"),
            ],
        )
        .await;
        assert_eq!(counts(&again), [3, 0, 0, 0, 3], "{name}");
        assert_eq!(again["run"], 2);
        // R3 is fixed, R4 is new.
        let third = up(
            &srv,
            &[
                ("R1", "critical", "a.py"),
                ("R2", "high", "b.py"),
                ("R4", "medium", "d.py"),
            ],
        )
        .await;
        assert_eq!(counts(&third), [3, 1, 1, 0, 2], "{name}");
        let fixed = findings(&srv, "status=fixed").await;
        assert_eq!(fixed.len(), 1);
        assert_eq!(fixed[0]["rule"], "R3");
        // Last seen: R3 by run 2 (before the fix), R1 by run 3 (the scan's latest), as the list
        // and the finding's own page say.
        let ts = |v: &Value| palisade_core::Timestamp::parse(v.as_str().unwrap()).unwrap();
        let r3_seen = ts(&fixed[0]["last_seen"]);
        assert!(r3_seen < ts(&fixed[0]["fixed_at"]), "{name}: {}", fixed[0]);
        let open_now = findings(&srv, "status=open").await;
        let r1 = by_rule(&open_now, "R1");
        assert!(ts(&r1["last_seen"]) > r3_seen, "{name}: {r1}");
        let shown = srv
            .get(
                &format!("/api/v1/findings/{}", r1["id"].as_str().unwrap()),
                &srv.admin,
            )
            .await;
        assert_eq!(shown.body["last_seen"], r1["last_seen"], "{name}");
        // R3 comes back: reopened, the same finding.
        let fourth = up(
            &srv,
            &[
                ("R1", "critical", "a.py"),
                ("R2", "high", "b.py"),
                ("R3", "low", "c.py"),
                ("R4", "medium", "d.py"),
            ],
        )
        .await;
        assert_eq!(counts(&fourth), [4, 0, 0, 1, 3], "{name}");
        let r3 = by_rule(&findings(&srv, "").await, "R3").clone();
        assert_eq!(
            (r3["status"].as_str(), r3["reopened"].as_u64()),
            (Some("open"), Some(1))
        );
        assert_eq!(r3["id"], fixed[0]["id"]);

        // Accept R1 until next month: accepted, on the ledger with who and why.
        let id = by_rule(&findings(&srv, "").await, "R1")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let expires = palisade_core::Timestamp::from_datetime(
            time::OffsetDateTime::now_utc() + time::Duration::days(30),
        );
        let r = srv
            .post(
                &format!("/api/v1/findings/{id}/accept"),
                &srv.admin,
                json!({"reason": "compensating WAF rule until the rewrite ships", "expires_at": expires.to_string()}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["status"], "accepted");
        assert_eq!(r.body["triage"]["by"], "admin");
        assert_eq!(r.body["triage"]["in_force"], true);
        let shown = srv.get(&format!("/api/v1/findings/{id}"), &srv.admin).await;
        let history: Vec<&str> = shown.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["type"].as_str().unwrap())
            .collect();
        assert_eq!(history, ["opened", "accepted"], "{name}");
        assert_eq!(findings(&srv, "status=accepted").await.len(), 1);
        // As it will stand the day after the acceptance ends: open again, and said to be so.
        let later = palisade_core::Timestamp::from_datetime(expires.0 + time::Duration::days(1));
        let then = findings(
            &srv,
            &format!("status=open&at={}", later.to_string().replace('+', "%2B")),
        )
        .await;
        let r1_then = by_rule(&then, "R1");
        assert_eq!(r1_then["acceptance_expired"], true, "{name}: {r1_then}");
        assert_eq!(r1_then["triage"]["in_force"], false);

        // Refusals write nothing.
        let viewer = srv.token("vera", "viewer").await;
        for (token, body, status) in [
            (
                &srv.admin,
                json!({"reason": "short", "expires_at": expires.to_string()}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                &srv.admin,
                json!({"reason": "long enough reason here", "expires_at": "2001-01-01T00:00:00Z"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                &srv.admin,
                json!({"reason": "long enough reason here", "expires_at": "2099-01-01T00:00:00Z"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                &viewer,
                json!({"reason": "long enough reason here", "expires_at": expires.to_string()}),
                StatusCode::FORBIDDEN,
            ),
        ] {
            let r = srv
                .post(&format!("/api/v1/findings/{id}/accept"), token, body)
                .await;
            assert_problem(&r, status);
        }
        let fixed_id = fixed[0]["id"].as_str().unwrap();
        let r = srv
            .get(&format!("/api/v1/findings/{fixed_id}"), &srv.admin)
            .await;
        assert_eq!(r.body["status"], "open", "R3 was reopened");
        // Reopening withdraws the mark.
        let r = srv
            .post(
                &format!("/api/v1/findings/{id}/reopen"),
                &srv.admin,
                json!({"reason": "the WAF rule was removed"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["status"], "open");
        let r = srv
            .post(
                &format!("/api/v1/findings/{id}/reopen"),
                &srv.admin,
                json!({"reason": "the WAF rule was removed"}),
            )
            .await;
        assert_problem(&r, StatusCode::CONFLICT);
        let r = srv
            .post(
                &format!("/api/v1/findings/{id}/false-positive"),
                &srv.admin,
                json!({"reason": "the input is a constant, not user data"}),
            )
            .await;
        assert_eq!(r.body["status"], "false_positive", "{name}: {}", r.text);
        let shown = srv.get(&format!("/api/v1/findings/{id}"), &srv.admin).await;
        assert_eq!(
            shown.body["events"], 4,
            "{name}: the refusals wrote nothing"
        );

        // The service's scan shows its runs.
        let r = srv
            .get("/api/v1/services/payments-api/scans", &srv.admin)
            .await;
        assert_eq!(r.body["scans"][0]["runs"], 4, "{name}: {}", r.text);
        assert_eq!(r.body["scans"][0]["tool"], "semgrep");
        assert_eq!(r.body["scans"][0]["last_format"], "sarif");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_reports_and_requests_are_refused_and_a_repeat_is_answered_once() {
    let srv = TestServer::spawn().await;
    let r = srv
        .post(
            "/api/v1/services",
            &srv.admin,
            json!({"name": "payments-api"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    for (query, body, status, needle) in [
        (
            "phase=code",
            b"not json".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not JSON",
        ),
        (
            "phase=code",
            b"{\"hello\": 1}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "SARIF",
        ),
        (
            "phase=code",
            format!("{{\"runs\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not JSON",
        ),
        (
            "",
            b"{}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phase is required",
        ),
        (
            "phase=ship",
            b"{}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phase",
        ),
        (
            "phase=code&colour=red",
            b"{}".to_vec(),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            "phase=code&kind=binary",
            b"{}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind",
        ),
        (
            "phase=code&tool=%07bell",
            serde_json::to_vec(&sarif(&[("R1", "high", "a")])).unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "scan",
        ),
    ] {
        let r = upload(&srv, &srv.admin, query, body).await;
        assert_problem(&r, status);
        assert!(r.text.contains(needle), "{query}: {}", r.text);
    }
    // Over the limit: 413 naming the limit.
    let big = vec![b' '; palisade_findings::MAX_REPORT_BYTES + 10];
    let r = upload(&srv, &srv.admin, "phase=code", big).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
    // Unknown service, viewer, no token.
    let body = serde_json::to_vec(&sarif(&[("R1", "high", "a")])).unwrap();
    let r = srv
        .send(
            srv.http
                .post(format!(
                    "{}/api/v1/services/nope/findings/uploads?phase=code",
                    srv.url
                ))
                .bearer_auth(&srv.admin)
                .body(body.clone()),
        )
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    let viewer = srv.token("vera", "viewer").await;
    assert_problem(
        &upload(&srv, &viewer, "phase=code", body.clone()).await,
        StatusCode::FORBIDDEN,
    );
    assert_eq!(
        srv.get("/api/v1/findings", &srv.admin).await.body["total"],
        0,
        "nothing was written"
    );

    // The same upload twice with one key: one run, the same answer.
    let send = |key: &'static str| {
        srv.send(
            srv.http
                .post(format!(
                    "{}/api/v1/services/payments-api/findings/uploads?phase=build",
                    srv.url
                ))
                .bearer_auth(&srv.admin)
                .header("idempotency-key", key)
                .body(body.clone()),
        )
    };
    let a = send("ci-run-77").await;
    let b = send("ci-run-77").await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!((b.status, &b.body), (StatusCode::CREATED, &a.body));
    let r = srv
        .get("/api/v1/services/payments-api/scans", &srv.admin)
        .await;
    assert_eq!(r.body["scans"][0]["runs"], 1, "{}", r.text);
    // List parameters are checked.
    for (q, status) in [
        ("status=maybe", StatusCode::UNPROCESSABLE_ENTITY),
        ("limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("min_severity=huge", StatusCode::UNPROCESSABLE_ENTITY),
        ("sort=asc", StatusCode::BAD_REQUEST),
        ("at=tomorrow", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        assert_problem(
            &srv.get(&format!("/api/v1/findings?{q}"), &srv.admin).await,
            status,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_services_own_days_to_fix_set_the_due_dates_of_its_new_findings() {
    let srv = TestServer::spawn().await;
    let r = srv
        .post(
            "/api/v1/services",
            &srv.admin,
            json!({"name": "payments-api"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let path = "/api/v1/services/payments-api/finding-sla";
    let sla = json!({"sla": {"critical": 2, "high": 10, "medium": 30, "low": 60, "info": 365}});
    let r = srv.post(path, &srv.admin, sla.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["finding_sla"]["critical"], 2);
    assert_problem(&srv.post(path, &srv.admin, sla).await, StatusCode::CONFLICT);
    let bad = json!({"sla": {"critical": 0, "high": 10, "medium": 30, "low": 60}});
    let r = srv.post(path, &srv.admin, bad).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("service-finding-sla"), "{}", r.text);

    up(&srv, &[("R1", "critical", "a.py"), ("R2", "info", "b.py")]).await;
    let list = findings(&srv, "").await;
    let days = |rule: &str| {
        let f = by_rule(&list, rule);
        let first = palisade_core::Timestamp::parse(f["first_seen"].as_str().unwrap()).unwrap();
        let due = palisade_core::Timestamp::parse(f["due_at"].as_str().unwrap()).unwrap();
        (due.0 - first.0).whole_days()
    };
    assert_eq!((days("R1"), days("R2")), (2, 365));
    // Back to the deployment's: informational findings have no due date again.
    let r = srv.post(path, &srv.admin, json!({"sla": null})).await;
    assert_eq!(r.body["finding_sla"], Value::Null, "{}", r.text);
    up(
        &srv,
        &[
            ("R1", "critical", "a.py"),
            ("R2", "info", "b.py"),
            ("R3", "info", "c.py"),
        ],
    )
    .await;
    let r3 = by_rule(&findings(&srv, "").await, "R3").clone();
    assert_eq!(r3["due_at"], Value::Null);
}

/// An OSV advisory for lodash before 4.17.21 (CVSS 9.8: critical), in the data directory's index.
fn import_lodash_advisory(data_dir: &std::path::Path) {
    let osv = tempfile::tempdir().unwrap();
    std::fs::write(
        osv.path().join("GHSA-test-lodash.json"),
        serde_json::to_vec(&json!({
            "id": "GHSA-test-lodash", "modified": "2026-12-01T00:00:00Z",
            "summary": "Prototype pollution in lodash",
            "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
        }))
        .unwrap(),
    )
    .unwrap();
    let mut index =
        palisade_deps::index::Index::open(&data_dir.join("vulns.sqlite3")).expect("an index");
    index
        .import_paths(&[osv.path().to_path_buf()])
        .expect("imported");
}

fn sbom(components: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
        "components": components.iter().enumerate().map(|(i, p)| json!({"bom-ref": format!("c{i}"), "name": format!("c{i}"), "purl": p})).collect::<Vec<_>>()}))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_advisory_for_a_deployed_sbom_opens_a_finding_and_alerts_the_service_once() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            manual_timers: true,
            ..Default::default()
        })
        .await;
        let r = srv
            .post(
                "/api/v1/services",
                &srv.admin,
                json!({"name": "payments-api"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        let deploy = "phase=deploy&environment=production&release=1.4.2";
        let components = ["pkg:npm/lodash@4.17.20", "pkg:cargo/serde@1.0.200"];
        let r = upload(&srv, &srv.admin, deploy, sbom(&components)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        assert_eq!(r.body["monitored"], Value::Null, "{name}: no index yet");

        // The advisory arrives (`palisade db import`); the deployed SBOM is matched again.
        import_lodash_advisory(dir.path());
        let viewer = srv.token("vera", "viewer").await;
        assert_problem(
            &srv.post("/api/v1/findings/rematch", &viewer, json!({}))
                .await,
            StatusCode::FORBIDDEN,
        );
        let r = srv
            .post("/api/v1/findings/rematch", &srv.admin, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(
            (
                r.body["sboms"].as_u64(),
                r.body["components"].as_u64(),
                r.body["new"].as_u64(),
                r.body["alerts"].as_u64()
            ),
            (Some(1), Some(2), Some(1), Some(1)),
            "{name}: {}",
            r.text
        );
        let list = findings(&srv, "phase=deploy").await;
        assert_eq!(list.len(), 1, "{name}: {list:?}");
        let f = &list[0];
        assert_eq!(
            (
                f["rule"].as_str(),
                f["severity"].as_str(),
                f["package"].as_str(),
                f["kind"].as_str()
            ),
            (
                Some("GHSA-test-lodash"),
                Some("critical"),
                Some("pkg:npm/lodash@4.17.20"),
                Some("dependency")
            )
        );
        let alerts = srv
            .get("/api/v1/alerts?service=payments-api", &srv.admin)
            .await;
        let alerts = alerts.body["alerts"].as_array().unwrap().clone();
        assert_eq!(alerts.len(), 1, "{name}: {alerts:?}");
        let summary = alerts[0]["summary"].as_str().unwrap();
        assert!(
            summary.contains("GHSA-test-lodash")
                && summary.contains("production")
                && summary.contains("1.4.2"),
            "{summary}"
        );

        // Matched again: nothing new, no second alert.
        let r = srv
            .post("/api/v1/findings/rematch", &srv.admin, json!({}))
            .await;
        assert_eq!(
            (r.body["new"].as_u64(), r.body["alerts"].as_u64()),
            (Some(0), Some(0)),
            "{name}"
        );
        let alerts = srv
            .get("/api/v1/alerts?service=payments-api", &srv.admin)
            .await;
        assert_eq!(
            alerts.body["alerts"].as_array().unwrap().len(),
            1,
            "{name}: once"
        );

        // The fixed release is deployed: matched at once, the finding fixed.
        let r = upload(
            &srv,
            &srv.admin,
            "phase=deploy&environment=production&release=1.4.3",
            sbom(&["pkg:npm/lodash@4.17.21", "pkg:cargo/serde@1.0.200"]),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        assert_eq!(r.body["monitored"]["fixed"], 1, "{name}: {}", r.text);
        assert_eq!(findings(&srv, "phase=deploy&status=fixed").await.len(), 1);

        // What an environment runs is an SBOM; a release needs its environment.
        let sarif_body = serde_json::to_vec(&sarif(&[("R1", "high", "a")])).unwrap();
        let r = upload(
            &srv,
            &srv.admin,
            "phase=deploy&environment=production",
            sarif_body,
        )
        .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("SBOM"), "{}", r.text);
        let r = upload(
            &srv,
            &srv.admin,
            "phase=deploy&release=2.0",
            sbom(&components),
        )
        .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
