//! Drills through the API, on both backends: a shipped scenario started for a team runs as a
//! drill incident through the real playbook and rules, its injections released onto the ledger
//! (evidence with custody), to the end and a debrief compared with an earlier run; the drill is
//! marked, kept out of the metrics, pages only its participants, stamps the playbook tested
//! today, and its ledger verifies.

use palisade_server::AppConfig;
use palisade_store::Destination;
use palisade_test_support::{TestServer, assert_problem, backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

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

async fn declared_total(srv: &TestServer) -> u64 {
    let r = srv.get("/metrics", &srv.admin).await;
    assert_eq!(r.status, StatusCode::OK);
    r.text
        .lines()
        .find_map(|l| l.strip_prefix("palisade_incidents_declared_total "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn injected(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|i| i["injection"].as_str().unwrap().to_string())
        .collect()
}

/// The team's moves on drill `code`, as `token` (ana, the Incident Commander).
async fn run_the_playbook(srv: &TestServer, token: &str, code: &str, name: &str) {
    let ok = |path: String, body: Value| async move {
        let r = srv.post(&path, token, body).await;
        assert_eq!(r.status, StatusCode::OK, "{name} {path}: {}", r.text);
    };
    let inc = format!("/api/v1/incidents/{code}");
    ok(
        format!("{inc}/roles"),
        json!({"user": "ana", "role": "incident_commander"}),
    )
    .await;
    ok(
        format!("{inc}/status"),
        json!({"message": "Mining instances found in three regions; stopping them."}),
    )
    .await;
    // The rules hold in a drill as in a real incident: forensics before isolation is refused.
    let r = srv
        .post(&format!("{inc}/steps/10/done"), token, json!({}))
        .await;
    assert_problem(&r, StatusCode::CONFLICT);
    for step in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] {
        ok(format!("{inc}/steps/{step}/done"), json!({})).await;
    }
    ok(
        format!("{inc}/status"),
        json!({"message": "Contained; the key and the user it made are gone."}),
    )
    .await;
    ok(
        format!("{inc}/resolve"),
        json!({"summary": "Key revoked, instances imaged and stopped, persistence removed."}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shipped_drill_runs_to_the_end_marked_uncounted_paging_only_its_team() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        let ana = srv.token("ana", "responder").await;
        let ben = srv.token("ben", "responder").await;
        let zoe = srv.token("zoe", "responder").await;
        let viewer = srv.token("val", "viewer").await;
        for user in ["ana", "ben", "zoe"] {
            let r = srv
                .post(
                    &format!("/api/v1/people/{user}/contact-methods"),
                    &srv.admin,
                    json!({"type": "webhook", "address": format!("https://hooks.example/{user}")}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        }
        let r = srv
            .post("/api/v1/teams", &srv.admin, json!({"name": "blue"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        for user in ["ana", "ben"] {
            let r = srv
                .post(
                    "/api/v1/teams/blue/members",
                    &srv.admin,
                    json!({"user": user}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        }

        // Never tested before the first drill.
        let r = srv.get("/api/v1/playbooks", &zoe).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        let security = |b: &Value| {
            b["playbooks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == "security")
                .cloned()
                .unwrap()
        };
        assert_eq!(security(&r.body)["last_tested"], Value::Null, "{name}");
        assert_eq!(security(&r.body)["flagged"], true, "{name}");

        // Refused before anything is written: a viewer, an unknown scenario, an unknown user.
        let r = srv
            .post(
                "/api/v1/drills",
                &viewer,
                json!({"scenario": "leaked-cloud-key"}),
            )
            .await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        let r = srv
            .post("/api/v1/drills", &ana, json!({"scenario": "no-such-thing"}))
            .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("leaked-cloud-key"), "{name}: {}", r.text);
        let r = srv
            .post(
                "/api/v1/drills",
                &ana,
                json!({"scenario": "leaked-cloud-key", "participants": ["nobody"]}),
            )
            .await;
        assert_eq!(r.status.as_u16() / 100, 4, "{name}: {}", r.text);

        let before = declared_total(&srv).await;
        let mut codes = Vec::new();
        let mut ids: Vec<uuid::Uuid> = Vec::new();
        for run in 0..2 {
            let r = srv
                .post(
                    "/api/v1/drills",
                    &ana,
                    json!({"scenario": "leaked-cloud-key", "team": "blue"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
            let inc = &r.body["incident"];
            let code = inc["codename"].as_str().unwrap().to_string();
            ids.push(inc["id"].as_str().unwrap().parse().unwrap());
            assert!(
                inc["title"].as_str().unwrap().starts_with("[DRILL] "),
                "{name}"
            );
            assert_eq!(inc["drill"]["scenario"], "leaked-cloud-key", "{name}");
            assert_eq!(
                inc["drill"]["participants"],
                json!(["ana", "ben"]),
                "{name}"
            );
            // At 0m: the billing alert, at once.
            assert_eq!(injected(&r.body["released"]), ["billing-alert"], "{name}");

            run_the_playbook(&srv, &ana, &code, name).await;

            // Reaching steps 5, 6 and 8 released their injections; the rest by the drill's
            // planned end (a facilitator moving it on, no waiting).
            let r = srv
                .post(
                    &format!("/api/v1/incidents/{code}/drill/tick"),
                    &ben,
                    json!({"elapsed": "3h"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
            let mut all = injected(&r.body["drill"]["injected"]);
            all.sort();
            assert_eq!(
                all,
                [
                    "audit-log",
                    "billing-alert",
                    "bucket-reads",
                    "key-found-public",
                    "persistence",
                    "severity-up"
                ],
                "{name} run {run}"
            );
            // The severity-up status injection changed the incident's severity.
            let inc = srv.get(&format!("/api/v1/incidents/{code}"), &ben).await;
            assert_eq!(inc.body["severity"], "SEV-1", "{name}: {}", inc.text);
            // Nothing is released twice.
            let r = srv
                .post(
                    &format!("/api/v1/incidents/{code}/drill/tick"),
                    &ana,
                    json!({"elapsed": "3h"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
            assert_eq!(r.body["released"], json!([]), "{name}");

            // On the ledger: one drill_injected per injection, the evidence acquired with its
            // custody first.
            let (_, events) = srv
                .app
                .incident_with_events(&admin_actor(), &code, "test")
                .await
                .unwrap();
            let types: Vec<&str> = events.iter().map(|e| e.data.kind()).collect();
            assert_eq!(
                types.iter().filter(|t| **t == "drill_injected").count(),
                6,
                "{name}: {types:?}"
            );
            assert_eq!(
                types.iter().filter(|t| **t == "evidence_acquired").count(),
                2,
                "{name}: {types:?}"
            );
            // The refused step 10 is on the drill's ledger, with the rule and what was asked.
            let refused: Vec<String> = events
                .iter()
                .filter(|e| e.data.kind() == "drill_refused")
                .map(|e| e.data.describe())
                .collect();
            assert_eq!(
                refused,
                ["Drill: complete step 10 refused by rule step-prerequisites"],
                "{name}"
            );
            let r = srv
                .get(&format!("/api/v1/incidents/{code}/evidence"), &ben)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
            assert!(
                r.text.contains("audit-log-build-account.jsonl"),
                "{name}: {}",
                r.text
            );
            codes.push(code);
        }

        // Kept out of the metrics; marked in every list.
        assert_eq!(declared_total(&srv).await, before, "{name}");
        let r = srv.get("/api/v1/incidents", &zoe).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        for code in &codes {
            let row = r.body["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["codename"] == code.as_str())
                .unwrap();
            assert!(
                row["title"].as_str().unwrap().starts_with("[DRILL] "),
                "{name}"
            );
        }

        // The billing alert paged ana and ben, each through their own contact method, once per
        // drill, and nobody else was told anything.
        let deliveries = srv.get("/api/v1/deliveries", &srv.admin).await;
        assert_eq!(deliveries.status, StatusCode::OK, "{name}");
        let rows = srv
            .app
            .deliveries(&admin_actor(), None, 1000)
            .await
            .unwrap();
        let mut pages: Vec<String> = rows
            .iter()
            .filter(|d| d.stream.is_some_and(|s| ids.contains(&s)))
            .map(|d| match &d.destination {
                Destination::Webhook { url } => format!("{} {url}", d.kind),
                other => panic!("{name}: a drill's notice went to {other:?}"),
            })
            .collect();
        pages.sort();
        assert_eq!(
            pages,
            [
                "drill_alert https://hooks.example/ana",
                "drill_alert https://hooks.example/ana",
                "drill_alert https://hooks.example/ben",
                "drill_alert https://hooks.example/ben",
            ],
            "{name}"
        );

        // The debrief: scored from the ledger, the second run compared with the first.
        let r = srv
            .get(
                &format!("/api/v1/incidents/{}/drill/debrief", codes[1]),
                &ben,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert!(r.content_type.starts_with("text/markdown"), "{name}");
        for want in [
            "# Drill debrief: A leaked cloud key mining coins",
            "Compared with earlier runs",
            "Stop the attack in progress",
            "audit-log-build-account.jsonl",
            // run_the_playbook tried step 10 before its prerequisites: the drill kept the
            // refusal, and "follow the order" is scored as missed.
            "1 command(s) refused by step-prerequisites",
        ] {
            assert!(r.text.contains(want), "{name}: {want:?} in {}", r.text);
        }
        let r = srv
            .get(
                &format!("/api/v1/incidents/{}/drill/debrief?format=html", codes[0]),
                &zoe,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert!(r.content_type.starts_with("text/html"), "{name}");
        assert!(r.text.contains("<h1>Drill debrief"), "{name}: {}", r.text);

        // A real incident is not a drill: no tick, no debrief, nothing written.
        let real = srv
            .declare(
                &ana,
                json!({"title": "real one", "severity": "SEV-3", "kind": "operational"}),
            )
            .await;
        let real = real["codename"].as_str().unwrap();
        let n = srv.events(real, &ana).await;
        let r = srv
            .post(
                &format!("/api/v1/incidents/{real}/drill/tick"),
                &ana,
                json!({}),
            )
            .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        let r = srv
            .get(&format!("/api/v1/incidents/{real}/drill/debrief"), &ana)
            .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        // A real incident's refused command writes nothing (only drills keep their refusals):
        // its playbook has five steps.
        let r = srv
            .post(
                &format!("/api/v1/incidents/{real}/steps/10/done"),
                &ana,
                json!({}),
            )
            .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.body["rule"], "unknown-reference", "{name}");
        assert_eq!(srv.events(real, &ana).await, n, "{name}");

        // The web page marks the drill, with its scenario and participants; a real incident's
        // page has no such mark.
        let mut web = palisade_test_support::web::Web::new(&srv);
        web.sign_in_token(&srv.admin).await;
        let page = web.get(&format!("/incidents/{}", codes[0])).await;
        assert_eq!(page.status, StatusCode::OK, "{name}");
        assert!(page.text.contains("badge drill"), "{name}");
        assert!(
            page.text.contains("not a real incident") && page.text.contains("ana, ben"),
            "{name}"
        );
        let page = web.get(&format!("/incidents/{real}")).await;
        assert!(!page.text.contains("badge drill"), "{name}");

        // The playbook was tested today.
        let r = srv.get("/api/v1/playbooks", &zoe).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        let today = palisade_core::comms::format_date(palisade_app::now().utc().date());
        assert_eq!(security(&r.body)["last_tested"], today.as_str(), "{name}");
        assert_eq!(security(&r.body)["flagged"], false, "{name}");
        assert_eq!(r.body["period_days"], 180, "{name}");

        verify(&srv, dir.path(), name).await;
    }
}

fn admin_actor() -> palisade_core::Actor {
    palisade_core::Actor {
        user: palisade_core::UserName::parse("admin").unwrap(),
        account_role: palisade_core::AccountRole::Admin,
    }
}

/// With the workers running, nobody needs to tick: reaching a step releases what waits for it
/// (a discovery, and evidence taken in with custody by the drill worker).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reaching_a_step_releases_its_injections_without_a_tick() {
    for (name, store, _dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        let ana = srv.token("ana", "responder").await;
        let mut changes = srv.app.subscribe_changes();
        let r = srv
            .post(
                "/api/v1/drills",
                &ana,
                json!({"scenario": "leaked-cloud-key"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        let code = r.body["incident"]["codename"].as_str().unwrap().to_string();
        let id: uuid::Uuid = r.body["incident"]["id"].as_str().unwrap().parse().unwrap();
        let inc = format!("/api/v1/incidents/{code}");
        let r = srv
            .post(
                &format!("{inc}/roles"),
                &ana,
                json!({"user": "ana", "role": "incident_commander"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        for step in 1..=6 {
            let r = srv
                .post(&format!("{inc}/steps/{step}/done"), &ana, json!({}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name} step {step}: {}", r.text);
        }
        // Wait for the worker's releases: each append to the incident is a change.
        let released = |srv: &TestServer| {
            let srv = srv.app.clone();
            async move {
                let st = srv
                    .load::<palisade_core::IncidentState>(id)
                    .await
                    .unwrap()
                    .unwrap();
                st.injected
                    .iter()
                    .map(|i| i.injection.clone())
                    .collect::<Vec<_>>()
            }
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let got = released(&srv).await;
            if got.contains(&"key-found-public".to_string())
                && got.contains(&"bucket-reads".to_string())
            {
                assert!(
                    !got.contains(&"persistence".to_string()),
                    "{name}: step 8 is not reached: {got:?}"
                );
                break;
            }
            match tokio::time::timeout_at(deadline, changes.recv()).await {
                Ok(_) => {}
                Err(_) => panic!("{name}: not released within 30 s: {got:?}"),
            }
        }
        // The evidence was taken in through the evidence path, with custody.
        let ev = srv.get(&format!("{inc}/evidence"), &ana).await;
        assert!(
            ev.text.contains("artifact-bucket-reads.csv"),
            "{name}: {}",
            ev.text
        );
    }
}

/// A scenario file of one's own runs as a shipped one does: started from its YAML (kept on the
/// drill's ledger, not shown in the view), its injections released by step and by time, its
/// status injection changing the severity, its debrief scored; a broken file is refused with
/// where it is broken.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_custom_scenario_file_runs_as_a_drill() {
    let srv = TestServer::spawn().await;
    let ana = srv.token("ana", "responder").await;
    let yaml = r#"
version: 1
id: phished-admin
title: A phished administrator
summary: An administrator enters their password on a look-alike page.
sources:
  - title: Our own tabletop
    url: https://example.org/tabletop
playbook: security
declaration: { title: Suspicious admin sign-in, severity: SEV-3, kind: security }
injections:
  - id: first-clue
    at: 0m
    discovery: The sign-in came from an address never seen before.
  - id: worse
    on_step: 1
    status: { severity: SEV-1, message: "The attacker created an API token." }
expectations:
  - { id: ic, points: 10, role: { role: incident_commander, within: 10m } }
"#;
    let bad = srv
        .post(
            "/api/v1/drills",
            &ana,
            json!({"scenario_yaml": yaml.replace("at: 0m", "at: soon")}),
        )
        .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("scenario.yaml:"), "{}", bad.text);
    let both = srv
        .post(
            "/api/v1/drills",
            &ana,
            json!({"scenario": "leaked-cloud-key", "scenario_yaml": yaml}),
        )
        .await;
    assert_problem(&both, StatusCode::UNPROCESSABLE_ENTITY);

    let r = srv
        .post("/api/v1/drills", &ana, json!({"scenario_yaml": yaml}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let inc = &r.body["incident"];
    assert_eq!(inc["drill"]["scenario"], "phished-admin");
    assert_eq!(inc["drill"]["custom"], true);
    assert!(
        !r.text.contains("attacker created"),
        "what is to come stays hidden"
    );
    assert_eq!(injected(&r.body["released"]), ["first-clue"]);
    assert_eq!(inc["severity"], "SEV-3");
    let code = inc["codename"].as_str().unwrap().to_string();

    let ok = |path: String, body: Value| {
        let (srv, ana) = (&srv, ana.clone());
        async move {
            let r = srv.post(&path, &ana, body).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        }
    };
    ok(
        format!("/api/v1/incidents/{code}/roles"),
        json!({"user": "ana", "role": "incident_commander"}),
    )
    .await;
    ok(format!("/api/v1/incidents/{code}/steps/1/done"), json!({})).await;
    // Reaching step 1 released the status injection at once (the worker, or this tick).
    let r = srv
        .post(
            &format!("/api/v1/incidents/{code}/drill/tick"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut all = injected(&r.body["drill"]["injected"]);
    all.sort();
    assert_eq!(all, ["first-clue", "worse"]);
    let inc = srv.get(&format!("/api/v1/incidents/{code}"), &ana).await;
    assert_eq!(inc.body["severity"], "SEV-1", "{}", inc.text);

    let r = srv
        .get(&format!("/api/v1/incidents/{code}/drill/debrief"), &ana)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.contains("# Drill debrief: A phished administrator"),
        "{}",
        r.text
    );
}
