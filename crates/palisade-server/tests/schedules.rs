//! On-call schedules through the API, on both backends: created with a unique name in an IANA
//! zone, changed layer by layer, override by override, temporary schedule by temporary
//! schedule (each change checked whole), asked who is on call and for the shifts and gaps of a
//! span; malformed, oversized and hostile input refused with nothing written; and a ledger that
//! verifies afterwards.

use palisade_server::AppConfig;
use palisade_test_support::{Resp, TestServer, assert_problem, backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn weekly(participants: &[&str], start: &str) -> Value {
    json!({"participants": participants, "rotation": {"unit": "weekly", "length": 1}, "start": start})
}

fn definition(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Payments, first line",
        "time_zone": "Europe/Berlin",
        "layers": [weekly(&["ana", "ben"], "2026-11-30T09:00:00+01:00")],
    })
}

async fn who(srv: &TestServer, schedule: &str, at: &str) -> Vec<String> {
    let r = srv
        .get(
            &format!(
                "/api/v1/schedules/{schedule}/oncall?at={}",
                at.replace('+', "%2B")
            ),
            &srv.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect()
}

async fn events(srv: &TestServer, schedule: &str) -> u64 {
    let r = srv
        .get(&format!("/api/v1/schedules/{schedule}"), &srv.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["events"].as_u64().unwrap()
}

fn refused(r: &Resp, status: StatusCode, rule: &str) {
    assert_problem(r, status);
    assert_eq!(r.body["rule"], rule, "{}", r.text);
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
async fn a_schedule_is_created_changed_and_asked_and_the_ledger_verifies() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        for u in ["ana", "ben", "cy", "dee"] {
            srv.token(u, "responder").await;
        }
        let r = srv
            .post("/api/v1/schedules", &srv.admin, definition("payments"))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        assert_eq!(r.body["time_zone"], "Europe/Berlin");
        assert_eq!(r.body["history"][0]["type"], "created");
        let id = r.body["id"].as_str().unwrap().to_string();

        // Weekly handoffs at 09:00 Berlin time: ana, then ben.
        assert_eq!(who(&srv, "payments", "2026-12-01T12:00:00Z").await, ["ana"]);
        assert_eq!(who(&srv, &id, "2026-12-07T07:59:59Z").await, ["ana"]);
        assert_eq!(who(&srv, "payments", "2026-12-07T08:00:00Z").await, ["ben"]);
        assert_eq!(
            who(&srv, "payments", "2026-12-07T09:00:00+01:00").await,
            ["ben"]
        );

        // An override: cy instead, for a day.
        let r = srv
            .post(
                "/api/v1/schedules/payments/overrides",
                &srv.admin,
                json!({"type": "replace", "user": "cy", "from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["overrides"][0]["user"], "cy");
        assert_eq!(who(&srv, "payments", "2026-12-01T12:00:00Z").await, ["cy"]);

        // The shifts and gaps of a span.
        let r = srv
            .get(
                "/api/v1/schedules/payments/shifts?from=2026-12-01T00:00:00Z&to=2026-12-03T00:00:00Z",
                &srv.admin,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        let shifts = r.body["shifts"].as_array().unwrap();
        assert_eq!(shifts.len(), 2, "{}", r.text);
        assert_eq!(shifts[0]["users"], json!(["cy"]));
        assert_eq!(shifts[0]["overrides"], json!([0]));
        assert_eq!(shifts[1]["users"], json!(["ana"]));
        assert_eq!(r.body["gaps"], json!([]));

        // A layer on top, only on weekday office hours, then replaced and removed.
        let mut top = weekly(&["dee"], "2026-11-30T09:00:00+01:00");
        top["restrictions"] = json!([{"type": "daily", "from": "09:00", "to": "17:00"}]);
        let r = srv
            .post(
                "/api/v1/schedules/payments/layers",
                &srv.admin,
                json!({"layer": top}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(who(&srv, "payments", "2026-12-03T10:00:00Z").await, ["dee"]);
        assert_eq!(who(&srv, "payments", "2026-12-03T20:00:00Z").await, ["ana"]);
        let r = srv
            .post(
                "/api/v1/schedules/payments/layers/replace",
                &srv.admin,
                json!({"index": 1, "layer": weekly(&["ben"], "2026-11-30T09:00:00+01:00")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(who(&srv, "payments", "2026-12-03T20:00:00Z").await, ["ben"]);
        let r = srv
            .post(
                "/api/v1/schedules/payments/layers/remove",
                &srv.admin,
                json!({"index": 1}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["layers"].as_array().unwrap().len(), 1);

        // A temporary schedule with a hole: nobody on call there, a gap.
        let r = srv
            .post(
                "/api/v1/schedules/payments/temporary",
                &srv.admin,
                json!({"from": "2026-12-24T00:00:00Z", "to": "2026-12-26T00:00:00Z",
                       "shifts": [{"user": "dee", "from": "2026-12-24T00:00:00Z", "to": "2026-12-25T00:00:00Z"}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        let r = srv
            .get(
                "/api/v1/schedules/payments/shifts?from=2026-12-24T00:00:00Z&to=2026-12-27T00:00:00Z",
                &srv.admin,
            )
            .await;
        assert_eq!(
            r.body["gaps"],
            json!([{"start": "2026-12-25T00:00:00Z", "end": "2026-12-26T00:00:00Z"}]),
            "{name}: {}",
            r.text
        );
        for (path, index) in [("temporary/remove", 0), ("overrides/remove", 0)] {
            let r = srv
                .post(
                    &format!("/api/v1/schedules/payments/{path}"),
                    &srv.admin,
                    json!({"index": index}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name} {path}: {}", r.text);
        }
        assert_eq!(who(&srv, "payments", "2026-12-01T12:00:00Z").await, ["ana"]);
        assert_eq!(events(&srv, "payments").await, 8);

        // Listed by name; every account reads it.
        srv.post("/api/v1/schedules", &srv.admin, definition("auth"))
            .await;
        let vic = srv.token("vic", "viewer").await;
        let r = srv.get("/api/v1/schedules", &vic).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let names: Vec<&str> = r.body["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["auth", "payments"], "{name}");
        assert_eq!(r.body["schedules"][1]["layers"], 1);

        verify(&srv, dir.path(), name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_and_hostile_schedules_are_refused_and_write_nothing() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        srv.token("ana", "responder").await;
        srv.token("ben", "responder").await;
        let r = srv
            .post("/api/v1/schedules", &srv.admin, definition("payments"))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);

        // Creation: the name taken, bad names, unknown zones, unknown users, invalid layers.
        let r = srv
            .post("/api/v1/schedules", &srv.admin, definition("payments"))
            .await;
        assert_problem(&r, StatusCode::CONFLICT);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("another schedule"),
            "{}",
            r.text
        );
        for (patch, status, rule) in [
            (
                json!({"name": "Payments Team"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-name"),
            ),
            (
                json!({"time_zone": "Mars/Olympus_Mons"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-zone"),
            ),
            (
                json!({"time_zone": "europe/berlin"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-zone"),
            ),
            (
                json!({"description": "d".repeat(2001)}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-input"),
            ),
            (
                json!({"layers": [weekly(&["ana", "mallory"], "2026-11-30T09:00:00+01:00")]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                json!({"layers": [weekly(&[], "2026-11-30T09:00:00+01:00")]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-invalid"),
            ),
            (
                json!({"layers": (0..21).map(|_| weekly(&["ana"], "2026-11-30T09:00:00+01:00")).collect::<Vec<_>>()}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-invalid"),
            ),
            (
                json!({"layers": [weekly(&["ana"], "2026-11-30T09:00:00")]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                json!({"layers": [weekly(&["Robert'); DROP TABLE"], "2026-11-30T09:00:00Z")]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                json!({"layers": [{"participants": ["ana"], "rotation": {"unit": "weekly", "length": 0}, "start": "2026-11-30T08:00:00Z"}]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-invalid"),
            ),
            (
                json!({"overrides": [{"type": "add", "user": "ana", "from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-invalid"),
            ),
            (json!({"bogus": 1}), StatusCode::UNPROCESSABLE_ENTITY, None),
        ] {
            let mut body = definition("fresh");
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            let r = srv.post("/api/v1/schedules", &srv.admin, body).await;
            assert_problem(&r, status);
            if let Some(rule) = rule {
                assert_eq!(r.body["rule"], rule, "{name} {patch}: {}", r.text);
            }
        }
        let r = srv
            .send(
                srv.http
                    .post(format!("{}/api/v1/schedules", srv.url))
                    .bearer_auth(&srv.admin)
                    .header("content-type", "application/json")
                    .body("{\"name\": \"x\", "),
            )
            .await;
        assert_problem(&r, StatusCode::BAD_REQUEST);
        let r = srv
            .send(
                srv.http
                    .post(format!("{}/api/v1/schedules", srv.url))
                    .bearer_auth(&srv.admin)
                    .header("content-type", "application/json")
                    .body(format!(
                        "{{\"name\": \"big\", \"description\": \"{}\"}}",
                        "x".repeat(100_000)
                    )),
            )
            .await;
        assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
        let r = srv.get("/api/v1/schedules/fresh", &srv.admin).await;
        assert_problem(&r, StatusCode::NOT_FOUND);

        // Changes: nothing refused is written.
        let before = events(&srv, "payments").await;
        let o = |user: &str, from: &str, to: &str| json!({"type": "add", "user": user, "from": from, "to": to});
        for (path, body, status, rule) in [
            (
                "overrides",
                o("ana", "2026-12-02T00:00:00Z", "2026-12-01T00:00:00Z"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-invalid"),
            ),
            (
                "overrides",
                o("ana", "2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-invalid"),
            ),
            (
                "overrides",
                o("mallory", "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "overrides",
                json!({"type": "swap", "user": "ana", "from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "overrides/remove",
                json!({"index": 0}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-no-such-part"),
            ),
            (
                "overrides/remove",
                json!({"index": -1}),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                "layers/remove",
                json!({"index": 1}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-no-such-part"),
            ),
            (
                "layers/replace",
                json!({"index": 0, "layer": weekly(&["ana", "ben"], "2026-11-30T09:00:00+01:00")}),
                StatusCode::CONFLICT,
                Some("schedule-unchanged"),
            ),
            (
                "layers/replace",
                json!({"index": 0, "layer": weekly(&["ana"], "2026-11-30T09:30:00+01:00")}),
                StatusCode::OK,
                None,
            ),
            (
                "temporary",
                json!({"from": "2026-12-24T00:00:00Z", "to": "2026-12-25T00:00:00Z",
                "shifts": [{"user": "ana", "from": "2026-12-23T00:00:00Z", "to": "2026-12-24T12:00:00Z"}]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-invalid"),
            ),
            (
                "temporary/remove",
                json!({"index": 3}),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("schedule-no-such-part"),
            ),
        ] {
            let r = srv
                .post(
                    &format!("/api/v1/schedules/payments/{path}"),
                    &srv.admin,
                    body.clone(),
                )
                .await;
            if status == StatusCode::OK {
                // A layer's start off its handoff is fine when no handoff time is given: the
                // start's own clock time is the handoff.
                assert_eq!(r.status, status, "{name} {path} {body}: {}", r.text);
                continue;
            }
            match rule {
                Some(rule) => refused(&r, status, rule),
                None => assert_problem(&r, status),
            }
        }
        assert_eq!(
            events(&srv, "payments").await,
            before + 1,
            "{name}: only the good change"
        );

        // Queries: bad times, spans too long, unknown parameters, unknown schedules.
        for (q, status) in [
            ("oncall?at=yesterday", StatusCode::UNPROCESSABLE_ENTITY),
            (
                "oncall?at=2026-12-01T00:00:00",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            ("oncall?when=2026-12-01T00:00:00Z", StatusCode::BAD_REQUEST),
            (
                "shifts?from=2026-12-01T00:00:00Z",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "shifts?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "shifts?from=2026-01-01T00:00:00Z&to=2028-01-01T00:00:00Z",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ] {
            let r = srv
                .get(&format!("/api/v1/schedules/payments/{q}"), &srv.admin)
                .await;
            assert_problem(&r, status);
        }
        let r = srv
            .get("/api/v1/schedules/nowhere/oncall", &srv.admin)
            .await;
        assert_problem(&r, StatusCode::NOT_FOUND);
        let r = srv
            .get("/api/v1/schedules/payments/oncall", &srv.admin)
            .await;
        assert_eq!(r.status, StatusCode::OK, "now is the default: {}", r.text);

        // Viewers read but do not change.
        let vic = srv.token("vic", "viewer").await;
        let r = srv
            .post(
                "/api/v1/schedules/payments/layers/remove",
                &vic,
                json!({"index": 0}),
            )
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        let r = srv
            .post("/api/v1/schedules", &vic, definition("mine"))
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        assert_eq!(events(&srv, "payments").await, before + 1, "{name}");
        verify(&srv, dir.path(), name).await;
    }
}

/// Overlapping overrides are allowed and ordered (a later one wins where they overlap, as the
/// engine's semantics say); two requests racing for one name make one schedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_overrides_stack_in_order_and_a_name_race_makes_one_schedule() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        for u in ["ana", "ben", "cy"] {
            srv.token(u, "responder").await;
        }
        let r = srv
            .post("/api/v1/schedules", &srv.admin, definition("payments"))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        for (kind, user, from, to) in [
            (
                "replace",
                "ben",
                "2026-12-01T00:00:00Z",
                "2026-12-03T00:00:00Z",
            ),
            ("add", "cy", "2026-12-02T00:00:00Z", "2026-12-04T00:00:00Z"),
            (
                "remove",
                "ben",
                "2026-12-02T12:00:00Z",
                "2026-12-02T18:00:00Z",
            ),
        ] {
            let r = srv
                .post(
                    "/api/v1/schedules/payments/overrides",
                    &srv.admin,
                    json!({"type": kind, "user": user, "from": from, "to": to}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        }
        assert_eq!(who(&srv, "payments", "2026-12-01T12:00:00Z").await, ["ben"]);
        assert_eq!(
            who(&srv, "payments", "2026-12-02T06:00:00Z").await,
            ["ben", "cy"]
        );
        assert_eq!(who(&srv, "payments", "2026-12-02T15:00:00Z").await, ["cy"]);
        assert_eq!(
            who(&srv, "payments", "2026-12-03T12:00:00Z").await,
            ["ana", "cy"]
        );
        assert_eq!(who(&srv, "payments", "2026-12-04T12:00:00Z").await, ["ana"]);

        let answers = futures_util::future::join_all(
            (0..8).map(|_| srv.post("/api/v1/schedules", &srv.admin, definition("raced"))),
        )
        .await;
        let created = answers
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count();
        assert_eq!(
            created,
            1,
            "{name}: {:?}",
            answers.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        for r in answers.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_problem(r, StatusCode::CONFLICT);
        }
        let r = srv.get("/api/v1/schedules", &srv.admin).await;
        assert_eq!(r.body["schedules"].as_array().unwrap().len(), 2, "{name}");
        verify(&srv, dir.path(), name).await;
    }
}
