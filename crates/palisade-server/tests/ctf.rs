//! A CTF event through the API, on both backends: set up from challenge files, two teams play,
//! the scoreboard is frozen (the public board stops, the admin board moves on), brute force is
//! refused with when to try again, hints cost points, prerequisites lock, non-members and
//! non-organisers are refused, players never see a flag or a wrong answer, and the ledger
//! verifies.

use palisade_server::AppConfig;
use palisade_test_support::{TestServer, assert_problem, backends};
use palisade_training::ctf::challenge::hash_flag;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SALT: [u8; 8] = [0x5a, 0x17, 0x0c, 0x99, 0x31, 0xe2, 0x7b, 0x40];

/// A challenge file with one static flag, stored hashed.
fn challenge(id: &str, value: u32, flag: &str, extra: &str) -> Value {
    let toml = format!(
        "id = \"{id}\"\nname = \"{id}\"\ncategory = \"web\"\ndescription = \"find it\"\nvalue = {value}\n{extra}\n[[hints]]\ntext = \"look at robots.txt\"\ncost = 10\n\n[[flags]]\ntype = \"static\"\nsalt = \"{}\"\nsha256 = \"{}\"\n",
        hex::encode(SALT),
        hash_flag(&SALT, flag, true)
    );
    json!({"file": format!("{id}.toml"), "toml": toml})
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

fn rule(r: &palisade_test_support::Resp) -> &str {
    r.body["rule"].as_str().unwrap_or("")
}

fn score(board: &Value, account: &str) -> i64 {
    board["standings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["account"] == account)
        .map(|s| s["score"].as_i64().unwrap())
        .unwrap_or_else(|| panic!("{account} is not on the board: {board:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_teams_play_a_ctf_with_a_frozen_scoreboard_and_the_ledger_verifies() {
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        let ann = srv.token("ann", "viewer").await;
        let bob = srv.token("bob", "viewer").await;
        let cat = srv.token("cat", "responder").await;
        let now = time::OffsetDateTime::now_utc();
        let at = |d: time::Duration| {
            (now + d)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let create = json!({
            "name": "spring-ctf",
            "start": at(-time::Duration::hours(1)),
            "end": at(time::Duration::hours(1)),
            "mode": "teams",
            "rate_limit_wrong": 2,
            "rate_limit_seconds": 3600,
            "challenges": [
                challenge("web-1", 100, "flag{robots}", ""),
                challenge("web-2", 200, "flag{second}", "prerequisites = [\"web-1\"]"),
            ],
        });
        // Only organisers set events up.
        let r = srv.post("/api/v1/ctf", &cat, create.clone()).await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        let r = srv.post("/api/v1/ctf", &srv.admin, create.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        assert!(
            !r.text.contains("sha256") && !r.text.contains("salt"),
            "{}",
            r.text
        );
        // A plain flag is refused: the ledger never holds one.
        let mut plain = create.clone();
        plain["name"] = json!("plain-ctf");
        plain["challenges"] = json!([{"file": "p.toml", "toml": "id = \"p\"\nname = \"p\"\ncategory = \"web\"\ndescription = \"x\"\nvalue = 1\n[[flags]]\ntype = \"static\"\nflag = \"flag{plain}\"\n"}]);
        let r = srv.post("/api/v1/ctf", &srv.admin, plain).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("hash"), "{name}: {}", r.text);
        // Hostile numbers are refused, not overflowed.
        let mut huge = create.clone();
        huge["name"] = json!("huge-ctf");
        huge["rate_limit_seconds"] = json!(u64::MAX);
        let r = srv.post("/api/v1/ctf", &srv.admin, huge).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(rule(&r), "ctf-setup", "{name}: {}", r.text);

        for (id, member) in [("red", "ann"), ("blue", "bob")] {
            let r = srv
                .post(
                    "/api/v1/ctf/spring-ctf/accounts",
                    &srv.admin,
                    json!({"id": id, "name": format!("Team {id}"), "members": [member]}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{name} {id}: {}", r.text);
        }
        // A player does not register a team of others.
        let r = srv
            .post(
                "/api/v1/ctf/spring-ctf/accounts",
                &cat,
                json!({"id": "green", "name": "Green", "members": ["cat", "ann"]}),
            )
            .await;
        assert_eq!(rule(&r), "ctf-organisers", "{name}: {}", r.text);

        let submit = |token: &str, account: &str, challenge: &str, flag: &str| {
            let (srv, token) = (&srv, token.to_string());
            let body = json!({"account": account, "challenge": challenge, "flag": flag});
            async move {
                srv.post("/api/v1/ctf/spring-ctf/submissions", &token, body)
                    .await
            }
        };
        let r = submit(&ann, "red", "web-1", "flag{guess}").await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["result"]["correct"], false);
        let r = submit(&ann, "red", "web-1", "flag{robots}").await;
        assert_eq!(r.body["result"]["correct"], true, "{name}: {}", r.text);
        let r = submit(&bob, "red", "web-1", "flag{robots}").await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        assert_eq!(rule(&r), "ctf-not-a-member");
        let r = submit(&bob, "blue", "web-2", "flag{second}").await;
        assert_problem(&r, StatusCode::CONFLICT);
        assert_eq!(rule(&r), "ctf-locked");
        assert!(r.text.contains("solve web-1 first"), "{}", r.text);

        // The organiser freezes the board; blue solves afterwards.
        let r = srv
            .post("/api/v1/ctf/spring-ctf/freeze", &bob, json!({}))
            .await;
        assert_eq!(rule(&r), "ctf-organisers", "{name}: {}", r.text);
        let r = srv
            .post("/api/v1/ctf/spring-ctf/freeze", &srv.admin, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert!(r.body["freeze"].is_string());
        let r = submit(&bob, "blue", "web-1", "flag{robots}").await;
        assert_eq!(r.body["result"]["correct"], true, "{name}: {}", r.text);

        let public = srv.get("/api/v1/ctf/spring-ctf/scoreboard", &bob).await;
        assert_eq!(public.status, StatusCode::OK, "{name}: {}", public.text);
        assert!(public.body["frozen_at"].is_string());
        assert_eq!(
            (score(&public.body, "red"), score(&public.body, "blue")),
            (100, 0),
            "{name}: the public board stops at the freeze"
        );
        let live = srv
            .get("/api/v1/ctf/spring-ctf/scoreboard?view=admin", &srv.admin)
            .await;
        assert_eq!(
            (score(&live.body, "red"), score(&live.body, "blue")),
            (100, 100),
            "{name}: the admin board is live"
        );
        assert_eq!(
            live.body["challenges"][0]["solvers"],
            json!(["red", "blue"])
        );
        assert_problem(
            &srv.get("/api/v1/ctf/spring-ctf/scoreboard?view=admin", &bob)
                .await,
            StatusCode::FORBIDDEN,
        );

        // A hint costs points and gives its text to the account that paid.
        let r = srv
            .post(
                "/api/v1/ctf/spring-ctf/hints",
                &ann,
                json!({"account": "red", "challenge": "web-2", "hint": 0}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["result"]["hint"], "look at robots.txt");
        let live = srv
            .get("/api/v1/ctf/spring-ctf/scoreboard?view=admin", &srv.admin)
            .await;
        assert_eq!(score(&live.body, "red"), 90);

        // Brute force: two wrong answers per hour, then refused with when to try again.
        for guess in ["a", "b"] {
            let r = submit(&ann, "red", "web-2", guess).await;
            assert_eq!(r.body["result"]["correct"], false, "{name}: {}", r.text);
        }
        let r = submit(&ann, "red", "web-2", "flag{second}").await;
        assert_problem(&r, StatusCode::CONFLICT);
        assert_eq!(rule(&r), "ctf-rate-limit");
        assert!(r.text.contains("try again at"), "{}", r.text);

        // What players see: no flag, no wrong answer.
        let v = srv.get("/api/v1/ctf/spring-ctf", &bob).await;
        assert_eq!(v.status, StatusCode::OK);
        for secret in ["flag{", "sha256", "salt", "flag{guess}", "look at robots"] {
            assert!(!v.text.contains(secret), "{name}: {secret} in {}", v.text);
        }
        assert_eq!(v.body["challenges"][1]["hint_costs"], json!([10]));
        assert_eq!(v.body["accounts"].as_array().unwrap().len(), 2);
        let list = srv.get("/api/v1/ctf", &bob).await;
        assert_eq!(list.body["events"][0]["name"], "spring-ctf");
        assert_eq!(list.body["events"][0]["accounts"], 2);

        verify(&srv, dir.path(), name).await;
    }
}

/// Change the content kept under `sha256` behind the server's back (a disk or a person at the
/// database), on either backend.
async fn tamper(srv: &TestServer, dir: &std::path::Path, sha256: &str) {
    let changed: &[u8] = b"changed";
    match &srv.config.store.database_url {
        Some(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let task = tokio::spawn(conn);
            let n = client
                .execute(
                    "UPDATE attachments SET content = $1 WHERE sha256 = $2",
                    &[&changed, &sha256],
                )
                .await
                .unwrap();
            assert_eq!(n, 1);
            drop(client);
            task.await.unwrap().unwrap();
        }
        None => {
            let db = rusqlite::Connection::open(dir.join("palisade.db")).unwrap();
            let n = db
                .execute(
                    "UPDATE attachments SET content = ?1 WHERE sha256 = ?2",
                    rusqlite::params![changed, sha256],
                )
                .unwrap();
            assert_eq!(n, 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attachments_are_handed_out_as_recorded_from_the_start() {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    for (name, store, dir) in backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        let ann = srv.token("ann", "viewer").await;
        let now = time::OffsetDateTime::now_utc();
        let at = |d: time::Duration| {
            (now + d)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        // A page that would run script if a browser showed it, and a binary file in a folder.
        let page = b"<script>alert(document.cookie)</script>".to_vec();
        let capture: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let mut web = challenge(
            "web-1",
            100,
            "flag{robots}",
            "attachments = [\"index.html\", \"pcap/trace one.pcap\"]",
        );
        web["attachments"] = json!([
            {"name": "index.html", "content_base64": b64(&page)},
            {"name": "pcap/trace one.pcap", "content_base64": b64(&capture)},
        ]);
        let event = |name: &str, start: time::Duration, web: Value| {
            json!({"name": name, "start": at(start), "end": at(time::Duration::hours(2)),
                   "mode": "teams", "challenges": [web]})
        };

        // Every attachment a challenge lists is sent, or nothing is set up; content that is
        // not base64, a file the challenge does not list and a file over the limit of one
        // (in a request accepted in size) are refused too.
        let mut missing = web.clone();
        missing["attachments"] = json!([{"name": "index.html", "content_base64": b64(&page)}]);
        let mut garbled = web.clone();
        garbled["attachments"][0]["content_base64"] = json!("not base64!");
        let mut stray = web.clone();
        stray["attachments"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "../../etc/passwd", "content_base64": b64(b"x")}));
        let mut big = web.clone();
        big["attachments"][1]["content_base64"] = json!(b64(&vec![0u8; 8 * 1024 * 1024 + 1]));
        for (event_name, body, says) in [
            ("missing", missing, "was not sent"),
            ("garbled", garbled, "not base64"),
            ("stray", stray, "is not an attachment"),
            ("big", big, "at most 8388608 bytes"),
        ] {
            let r = srv
                .post(
                    "/api/v1/ctf",
                    &srv.admin,
                    event(event_name, time::Duration::hours(-1), body),
                )
                .await;
            assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text.contains(says), "{name} {event_name}: {}", r.text);
            if event_name != "garbled" {
                assert_eq!(rule(&r), "ctf-setup", "{name}: {}", r.text);
            }
        }
        for refused in ["missing", "garbled", "stray", "big"] {
            assert_problem(
                &srv.get(&format!("/api/v1/ctf/{refused}"), &srv.admin).await,
                StatusCode::NOT_FOUND,
            );
        }

        let r = srv
            .post(
                "/api/v1/ctf",
                &srv.admin,
                event("running", time::Duration::hours(-1), web.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        assert_eq!(
            r.body["challenges"][0]["attachments"],
            json!(["index.html", "pcap/trace one.pcap"])
        );
        let r = srv
            .post(
                "/api/v1/ctf",
                &srv.admin,
                event("later", time::Duration::hours(1), web.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);

        // A player downloads what was sent, byte for byte, as a download (never a page).
        let url = |event: &str, file: &str| {
            format!("/api/v1/ctf/{event}/challenges/web-1/attachments/{file}")
        };
        let r = srv.get(&url("running", "index.html"), &ann).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.text.as_bytes(), page.as_slice());
        assert_eq!(r.content_type, "application/octet-stream");
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        assert_eq!(
            r.headers["content-disposition"],
            "attachment; filename=\"index.html\""
        );
        let digest = format!("sha-256=:{}:", b64(&Sha256::digest(&page)));
        assert_eq!(r.headers["repr-digest"].to_str().unwrap(), digest);
        let bin = srv
            .http
            .get(format!(
                "{}{}",
                srv.url,
                url("running", "pcap%2Ftrace%20one.pcap")
            ))
            .bearer_auth(&ann)
            .send()
            .await
            .unwrap();
        assert_eq!(bin.status(), StatusCode::OK);
        assert_eq!(
            bin.headers()["content-disposition"],
            "attachment; filename=\"trace_one.pcap\""
        );
        assert_eq!(bin.bytes().await.unwrap().as_ref(), capture.as_slice());

        // Before the start a player waits; an organiser checks the files at any time.
        let r = srv.get(&url("later", "index.html"), &ann).await;
        assert_problem(&r, StatusCode::CONFLICT);
        assert_eq!(rule(&r), "ctf-not-open", "{name}: {}", r.text);
        assert!(r.text.contains("handed out from then"), "{}", r.text);
        let r = srv.get(&url("later", "index.html"), &srv.admin).await;
        assert_eq!(r.text.as_bytes(), page.as_slice(), "{name}");

        // Unknown files, challenges and events are 404s; a signed-out caller is 401.
        for path in [
            url("running", "robots.txt"),
            url("running", "..%2F..%2Fetc%2Fpasswd"),
            "/api/v1/ctf/running/challenges/nope/attachments/index.html".into(),
            url("nope", "index.html"),
        ] {
            assert_problem(&srv.get(&path, &ann).await, StatusCode::NOT_FOUND);
        }
        assert_problem(
            &srv.get(&url("running", "index.html"), "").await,
            StatusCode::UNAUTHORIZED,
        );

        // The same content in two events is kept once; changed behind the server's back, it
        // is never handed out.
        tamper(&srv, dir.path(), &hex::encode(Sha256::digest(&page))).await;
        for event in ["running", "later"] {
            let r = srv.get(&url(event, "index.html"), &srv.admin).await;
            assert_problem(&r, StatusCode::INTERNAL_SERVER_ERROR);
            assert!(
                r.text.contains("does not match the ledger"),
                "{name}: {}",
                r.text
            );
            assert!(!r.text.contains("changed"), "{}", r.text);
        }
        verify(&srv, dir.path(), name).await;
    }
}
