//! The web UI over HTTP, as a browser speaks to it (forms, cookies, redirects): sign-in and
//! sessions, CSRF, security headers and caching, the incident pages running the same rules as
//! the API, confidentiality, live updates. The same pages in a real browser are tested by
//! `crates/palisade-server/tests/web_browser.rs`.

use palisade_test_support::web::Web;
use palisade_test_support::{TestServer, backends};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::json;

#[tokio::test]
async fn every_page_carries_a_strict_policy_and_assets_are_cached_by_content() {
    let s = TestServer::spawn().await;
    let mut w = Web::new(&s);
    let login = w.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.headers[CONTENT_TYPE], "text/html; charset=utf-8");
    let csp = login.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(login.headers["x-content-type-options"], "nosniff");
    assert_eq!(login.headers["referrer-policy"], "same-origin");
    assert_eq!(login.headers[CACHE_CONTROL], "no-store");
    // No inline script or style for the policy to block: every script and sheet is a file.
    assert!(
        !login.text.contains("<script>") && !login.text.contains("style="),
        "{}",
        login.text
    );
    for (ext, ctype) in [("css", "text/css"), ("js", "text/javascript")] {
        let at = login.text.find(&format!(".{ext}\"")).unwrap();
        let start = login.text[..at].rfind("/assets/").unwrap();
        let url = format!("{}.{ext}", &login.text[start..at]);
        let a = w.get(&url).await;
        assert_eq!(a.status, StatusCode::OK, "{url}");
        assert!(a.headers[CONTENT_TYPE].to_str().unwrap().starts_with(ctype));
        assert_eq!(
            a.headers[CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(a.text.len() > 1000);
    }
    assert_eq!(
        w.get("/assets/app-000000000000.css").await.status,
        StatusCode::NOT_FOUND
    );
    // An unknown page is a page for a browser, a problem detail for an API client.
    let missing = w.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text.contains("<h1>Not found</h1>"));
    let api = s.call("GET", "/no/such/page", None, None).await;
    assert_eq!(api.content_type, "application/problem+json");
}

#[tokio::test]
async fn signing_in_with_a_token_opens_a_strict_http_only_session_and_signing_out_ends_it() {
    let s = TestServer::spawn().await;
    let mut w = Web::new(&s);
    // Not signed in: every page sends to the sign-in page, which comes back afterwards.
    let p = w.get("/incidents?status=declared").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/login?next=%2Fincidents%3Fstatus%3Ddeclared");

    let bad = w
        .post("/login", &[("method", "token"), ("token", "pal_wrong")])
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(
        bad.text
            .contains("the token is unknown or has been revoked")
    );
    assert!(w.cookie.is_none());

    let req = w.http.post(format!("{}/login", s.url)).form(&[
        ("method", "token"),
        ("token", s.admin.as_str()),
        ("next", "/incidents?status=declared"),
    ]);
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/incidents?status=declared");
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.starts_with("palisade_session=pws_"), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    // The token itself is not the cookie.
    assert!(!cookie.contains(&s.admin));
    w.cookie = Some(cookie["palisade_session=".len()..cookie.find(';').unwrap()].to_string());

    let list = w.get("/incidents").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("admin (admin)"), "{}", list.text);
    let account = w.get("/account").await;
    assert!(account.text.contains("this session"));
    assert!(account.text.contains("with a token"));

    let old = w.cookie.clone();
    let out = w.submit("/incidents", "/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    assert!(w.cookie.is_none(), "the cookie is cleared");
    // The old cookie opens nothing any more.
    w.cookie = old;
    assert_eq!(w.get("/incidents").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_password_link_works_once_and_passwords_are_checked_and_guessing_is_stopped() {
    for (backend, store, _dir) in backends().await {
        let s = TestServer::spawn_with(|c| c.store = store).await;
        let mut admin = Web::new(&s);
        admin.sign_in_token(&s.admin).await;
        let page = admin
            .submit(
                "/account",
                "/account/password-links",
                &[("user", "dana"), ("role", "responder")],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.text);
        let at = page.text.find("/welcome/").expect("the link is shown");
        let link: String = page.text[at..]
            .chars()
            .take_while(|c| *c != '<' && *c != '"')
            .collect();
        assert!(link.starts_with("/welcome/pwl_"), "{link}");

        let mut dana = Web::new(&s);
        let form = dana.get(&link).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.text.contains("<strong>dana</strong>"));
        let differ = dana
            .post(
                &link,
                &[
                    ("password", "a long enough one"),
                    ("confirm", "another one entirely"),
                ],
            )
            .await;
        assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(differ.text.contains("the two passwords differ"));
        let short = dana
            .post(&link, &[("password", "short"), ("confirm", "short")])
            .await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(short.text.contains("at least 12 characters"));
        let pw = "correct horse battery staple";
        let set = dana.post(&link, &[("password", pw), ("confirm", pw)]).await;
        assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text);
        assert_eq!(set.location(), "/login?done=password");
        // Once only.
        let again = dana.post(&link, &[("password", pw), ("confirm", pw)]).await;
        assert_eq!(again.status, StatusCode::UNAUTHORIZED);
        assert!(again.text.contains("unknown, used or expired"));
        assert_eq!(dana.get(&link).await.status, StatusCode::UNAUTHORIZED);

        let wrong = dana
            .post(
                "/login",
                &[
                    ("method", "password"),
                    ("user", "dana"),
                    ("password", "not it at all"),
                ],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.text.contains("the user name or password is wrong"));
        let unknown = dana
            .post(
                "/login",
                &[("method", "password"), ("user", "nobody"), ("password", pw)],
            )
            .await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        assert!(
            unknown.text.contains("the user name or password is wrong"),
            "same answer for an unknown user"
        );
        let ok = dana
            .post(
                "/login",
                &[("method", "password"), ("user", "dana"), ("password", pw)],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{backend}: {}", ok.text);
        assert!(
            dana.get("/incidents")
                .await
                .text
                .contains("dana (responder)")
        );

        // Guessing: after 10 failures in the window, even the right password is refused.
        let mut guesser = Web::new(&s);
        for _ in 0..10 {
            let r = guesser
                .post(
                    "/login",
                    &[
                        ("method", "password"),
                        ("user", "dana"),
                        ("password", "guess guess guess"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let locked = guesser
            .post(
                "/login",
                &[("method", "password"), ("user", "dana"), ("password", pw)],
            )
            .await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(locked.text.contains("too many failed sign-ins"));
        assert!(guesser.cookie.is_none());
        // The session opened before is unaffected.
        assert_eq!(dana.get("/incidents").await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_form_without_the_session_csrf_token_or_from_another_site_changes_nothing() {
    let s = TestServer::spawn().await;
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let declare = [
        ("title", "CSRF probe"),
        ("kind", "security"),
        ("severity", "SEV-2"),
    ];
    let none = w.post("/incidents", &declare).await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    assert!(none.text.contains("Form refused"));
    let mut forged = vec![("csrf", "not-the-token")];
    forged.extend_from_slice(&declare);
    assert_eq!(
        w.post("/incidents", &forged).await.status,
        StatusCode::FORBIDDEN
    );

    // Another session's token does not work in this one.
    let mut other = Web::new(&s);
    other.sign_in_token(&s.admin).await;
    let theirs = other.get("/incidents/new").await.csrf();
    let mut wrong = vec![("csrf", theirs.as_str())];
    wrong.extend_from_slice(&declare);
    assert_eq!(
        w.post("/incidents", &wrong).await.status,
        StatusCode::FORBIDDEN
    );

    // The right token from another origin.
    let mine = w.get("/incidents/new").await.csrf();
    let mut fields = vec![("csrf", mine.as_str())];
    fields.extend_from_slice(&declare);
    let cross = w
        .send(
            w.http
                .post(format!("{}/incidents", s.url))
                .header("origin", "https://evil.example")
                .form(&fields),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let list = s.get("/api/v1/incidents", &s.admin).await;
    assert_eq!(
        list.body["incidents"].as_array().unwrap().len(),
        0,
        "nothing was declared"
    );

    // With it, from this site: declared.
    let ok = w.post("/incidents", &fields).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    let list = s.get("/api/v1/incidents", &s.admin).await;
    assert_eq!(list.body["incidents"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_board_shows_a_forbidden_step_disabled_with_its_rule_and_the_server_refuses_it_too() {
    let s = TestServer::spawn().await;
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let declared = w
        .submit(
            "/incidents/new",
            "/incidents",
            &[
                ("title", "Exfiltration from the billing database"),
                ("kind", "security"),
                ("severity", "SEV-1"),
                ("summary", "Outbound traffic to an unknown host."),
                ("commander_me", "1"),
            ],
        )
        .await;
    assert_eq!(declared.status, StatusCode::SEE_OTHER, "{}", declared.text);
    let path = declared.location().to_string();
    let codename = path.trim_start_matches("/incidents/").to_string();
    let page = w.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Exfiltration from the billing database"));
    assert!(page.text.contains("restricted to members"));
    assert_eq!(
        page.text.matches("class=\"step ").count(),
        14,
        "the 14 steps"
    );
    assert!(
        page.text.contains("incident_commander"),
        "the declarer is IC"
    );
    // Step 10 (forensics) needs steps 1–9 first: its button is disabled, the rule says why.
    let ten = &page.text[page.text.find("Forensic analysis").unwrap()..];
    let ten = &ten[..ten.find("</li>").unwrap()];
    assert!(ten.contains("disabled"), "{ten}");
    assert!(ten.contains("rule <code>"), "{ten}");
    let before = s.events(&codename, &s.admin).await;
    let refused = w.submit(&path, &format!("{path}/steps/10/done"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(refused.text.contains("Refused by a process rule"));
    assert!(refused.text.contains("role=\"alert\""));
    assert_eq!(
        s.events(&codename, &s.admin).await,
        before,
        "nothing recorded"
    );

    // Allowed actions run through the same pipeline as the API.
    let started = w.submit(&path, &format!("{path}/steps/1/start"), &[]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let done = w.submit(&path, &format!("{path}/steps/1/done"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let waived = w
        .submit(
            &path,
            &format!("{path}/steps/2/waive"),
            &[("reason", "vector already closed by the provider")],
        )
        .await;
    assert_eq!(waived.status, StatusCode::SEE_OTHER);
    let note = w
        .submit(
            &path,
            &format!("{path}/notes"),
            &[("text", "Disk images taken <b>read-only</b>")],
        )
        .await;
    assert_eq!(note.status, StatusCode::SEE_OTHER);
    let role = w
        .submit(
            &path,
            &format!("{path}/roles"),
            &[("user", "admin"), ("role", "scribe")],
        )
        .await;
    assert_eq!(role.status, StatusCode::SEE_OTHER);
    let update = w
        .submit(
            &path,
            &format!("{path}/status"),
            &[("message", "Contained the host"), ("status", "contained")],
        )
        .await;
    assert_eq!(update.status, StatusCode::SEE_OTHER);
    let api = s
        .get(&format!("/api/v1/incidents/{codename}"), &s.admin)
        .await
        .body;
    assert_eq!(api["steps"][0]["status"], "done");
    assert_eq!(api["steps"][1]["status"], "waived");
    assert_eq!(api["status"], "contained");
    let page = w.get(&path).await;
    // Text from people is escaped, never markup.
    assert!(
        page.text
            .contains("Disk images taken &lt;b&gt;read-only&lt;/b&gt;")
    );
    assert!(page.text.contains("vector already closed by the provider"));
    // A bad role is a clear error on the page, not a crash.
    let bad = w
        .submit(
            &path,
            &format!("{path}/roles"),
            &[("user", "admin"), ("role", "janitor")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("janitor"));
}

#[tokio::test]
async fn a_non_member_sees_no_trace_of_a_restricted_incident() {
    let s = TestServer::spawn().await;
    let v = s
        .declare(
            &s.admin,
            json!({"title": "Insider copying customer exports", "severity": "SEV-2"}),
        )
        .await;
    let codename = v["codename"].as_str().unwrap().to_string();
    let open = s
        .declare(
            &s.admin,
            json!({"title": "Slow checkout", "severity": "SEV-3", "kind": "operational"}),
        )
        .await;
    let eve = s.token("eve", "responder").await;
    let mut w = Web::new(&s);
    w.sign_in_token(&eve).await;
    let list = w.get("/incidents").await;
    assert!(list.text.contains("Slow checkout"));
    assert!(
        !list.text.contains(&codename) && !list.text.contains("Insider"),
        "absent, not greyed"
    );
    for path in [
        format!("/incidents/{codename}"),
        format!("/incidents/{}", v["id"].as_str().unwrap()),
        format!("/incidents/{codename}/live"),
    ] {
        let p = w.get(&path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!p.text.contains("Insider"), "{path}");
    }
    let nonexistent = w.get("/incidents/quiet-nonexistent").await;
    assert_eq!(nonexistent.status, StatusCode::NOT_FOUND);
    // Forms on it are refused the same way, and record nothing.
    let before = s.events(&codename, &s.admin).await;
    let p = w
        .submit(
            "/incidents",
            &format!("/incidents/{codename}/notes"),
            &[("text", "hello")],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(s.events(&codename, &s.admin).await, before);
    // "Mine" lists what the viewer is a member of.
    let mut admin = Web::new(&s);
    admin.sign_in_token(&s.admin).await;
    let mine = admin.get("/incidents?mine=1").await;
    assert!(mine.text.contains(&codename));
    assert!(
        mine.text.contains(open["codename"].as_str().unwrap()),
        "the declarer is a member"
    );
    let eves = w.get("/incidents?mine=1").await;
    assert!(
        !eves.text.contains("Slow checkout"),
        "eve is a member of nothing"
    );
}

/// The ids of the sessions listed on an account page: this session's, or the others'.
fn session_ids(page: &str, this: bool) -> Vec<String> {
    page.split("<tr>")
        .filter(|row| row.contains("/account/sessions/") && row.contains("this session") == this)
        .map(|row| {
            let i = row.find("/account/sessions/").unwrap() + "/account/sessions/".len();
            row[i..i + row[i..].find('/').unwrap()].to_string()
        })
        .collect()
}

#[tokio::test]
async fn sessions_are_listed_and_one_revoked_elsewhere_stops_working() {
    let s = TestServer::spawn().await;
    let dana = s.token("dana", "responder").await;
    let mut laptop = Web::new(&s);
    laptop.sign_in_token(&dana).await;
    let mut phone = Web::new(&s);
    phone.sign_in_token(&dana).await;
    let page = laptop.get("/account").await;
    assert_eq!(page.text.matches("/revoke\"").count(), 2, "{}", page.text);
    // Revoke the phone's session (the row that is not "this session").
    let phone_id = session_ids(&page.text, false).pop().unwrap();
    let r = laptop
        .submit(
            "/account",
            &format!("/account/sessions/{phone_id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/incidents").await.status, StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/incidents").await.status, StatusCode::OK);
    // A responder cannot revoke someone else's session.
    let mut admin = Web::new(&s);
    admin.sign_in_token(&s.admin).await;
    let admin_page = admin.get("/account").await;
    let admin_id = session_ids(&admin_page.text, true).pop().unwrap();
    let r = laptop
        .submit(
            "/account",
            &format!("/account/sessions/{admin_id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/incidents").await.status, StatusCode::OK);
}

#[tokio::test]
async fn oversized_and_malformed_forms_get_a_clear_answer() {
    let s = TestServer::spawn().await;
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let csrf = w.get("/incidents/new").await.csrf();
    let huge = "x".repeat(70 * 1024);
    let big = w
        .post(
            "/incidents",
            &[
                ("csrf", csrf.as_str()),
                ("title", huge.as_str()),
                ("severity", "SEV-1"),
            ],
        )
        .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(big.text.contains("a form is at most 64 KiB"));
    let no_sev = w
        .post(
            "/incidents",
            &[
                ("csrf", csrf.as_str()),
                ("title", "t"),
                ("severity", "SEV-9"),
            ],
        )
        .await;
    assert_eq!(no_sev.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_sev.text.contains("choose a severity"));
    let empty_title = w
        .post(
            "/incidents",
            &[
                ("csrf", csrf.as_str()),
                ("title", "  "),
                ("severity", "SEV-1"),
            ],
        )
        .await;
    assert_eq!(
        empty_title.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty_title.text
    );
    let garbage = w
        .send(
            w.http
                .post(format!("{}/login", s.url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("%%%\u{0}&&=="),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_open_incident_page_hears_of_each_change_but_not_of_reads() {
    use futures_util::StreamExt;
    let s = TestServer::spawn().await;
    let v = s
        .declare(&s.admin, json!({"title": "Live page", "severity": "SEV-2"}))
        .await;
    let codename = v["codename"].as_str().unwrap().to_string();
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let resp = w
        .http
        .get(format!("{}/incidents/{codename}/live", s.url))
        .header(
            "cookie",
            format!("palisade_session={}", w.cookie.clone().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CONTENT_TYPE], "text/event-stream");
    let mut body = resp.bytes_stream();
    // A read (which a restricted incident records) is not a change to show …
    s.get(&format!("/api/v1/incidents/{codename}"), &s.admin)
        .await;
    // … a note is.
    s.ok(
        &format!("/api/v1/incidents/{codename}/notes"),
        &s.admin,
        json!({"text": "new fact"}),
    )
    .await;
    let want = s.events(&codename, &s.admin).await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !seen.contains("event: changed") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("a change event within 30 s")
            .unwrap()
            .unwrap();
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(
        seen.contains(&format!("event: changed\ndata: {want}\n")),
        "{seen}"
    );
}

#[tokio::test]
async fn the_ledger_badge_says_verified_and_turns_red_when_a_row_is_altered() {
    let s = TestServer::spawn_with(|c| c.ledger_recheck_secs = Some(0)).await;
    let v = s
        .declare(&s.admin, json!({"title": "Badge", "severity": "SEV-3"}))
        .await;
    let codename = v["codename"].as_str().unwrap().to_string();
    s.ok(
        &format!("/api/v1/incidents/{codename}/notes"),
        &s.admin,
        json!({"text": "the attacker used a VPN exit"}),
    )
    .await;
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let page = w.get(&format!("/incidents/{codename}")).await;
    assert!(page.text.contains("✓ ledger verified"), "{}", page.text);
    assert!(
        page.text.contains("last signed checkpoint #"),
        "{}",
        page.text
    );

    // Someone with the database file rewrites history.
    let db = rusqlite::Connection::open(s.config.store.data_dir.join("palisade.db")).unwrap();
    db.execute_batch(
        "DROP TRIGGER ledger_events_no_update;
         UPDATE ledger_events SET body = replace(body, 'a VPN exit', 'a coffee shop') WHERE body LIKE '%a VPN exit%';",
    )
    .unwrap();
    drop(db);
    let page = w.get(&format!("/incidents/{codename}")).await;
    assert!(page.text.contains("✗ LEDGER CHECK FAILED"), "{}", page.text);
    assert!(!page.text.contains("✓ ledger verified"));
}

/// Signatures are what the badge's check leans on: an altered signature, old or newest, and a
/// rewritten checkpoint body each turn it red, and an untouched incident beside them stays green.
#[tokio::test]
async fn the_ledger_badge_turns_red_when_any_checkpoint_signature_or_body_is_altered() {
    let s = TestServer::spawn_with(|c| c.ledger_recheck_secs = Some(0)).await;
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    // Restricted (security), operational (no recorded reads), and one left alone.
    let mut incidents = Vec::new();
    for kind in ["security", "operational", "operational", "security"] {
        let v = s
            .declare(
                &s.admin,
                json!({"title": "Signed", "severity": "SEV-3", "kind": kind}),
            )
            .await;
        let codename = v["codename"].as_str().unwrap().to_string();
        for i in 0..4 {
            s.ok(
                &format!("/api/v1/incidents/{codename}/notes"),
                &s.admin,
                json!({"text": format!("note {i}")}),
            )
            .await;
        }
        let page = w.get(&format!("/incidents/{codename}")).await;
        assert!(page.text.contains("✓ ledger verified"), "{}", page.text);
        incidents.push((codename, v["id"].as_str().unwrap().to_string()));
    }
    let db = rusqlite::Connection::open(s.config.store.data_dir.join("palisade.db")).unwrap();
    db.execute_batch("DROP TRIGGER ledger_checkpoints_no_update;")
        .unwrap();
    let flip = "signature = (CASE WHEN substr(signature, 1, 1) = '0' THEN '1' ELSE '0' END) || substr(signature, 2)";
    let tamper = |sql: String, id: &str| {
        let changed = db.execute(&sql, [id]).unwrap();
        assert_eq!(changed, 1, "{sql}");
    };
    // An old checkpoint's signature (event 3 of 5 or more).
    tamper(
        format!("UPDATE ledger_checkpoints SET {flip} WHERE stream_id = ?1 AND seq = 3"),
        &incidents[0].1,
    );
    // The newest checkpoint's signature (an operational incident records no read on view, so it
    // stays the newest).
    tamper(
        format!(
            "UPDATE ledger_checkpoints SET {flip} WHERE stream_id = ?1
             AND seq = (SELECT max(seq) FROM ledger_checkpoints WHERE stream_id = ?1)"
        ),
        &incidents[1].1,
    );
    // An old checkpoint's body, in a field only its signature vouches for (when it was signed).
    tamper(
        "UPDATE ledger_checkpoints SET body = replace(body, '\"signed_at\":\"20', '\"signed_at\":\"19')
         WHERE stream_id = ?1 AND seq = 3"
            .to_string(),
        &incidents[2].1,
    );
    drop(db);
    for (codename, _) in &incidents[..3] {
        let page = w.get(&format!("/incidents/{codename}")).await;
        assert!(
            page.text.contains("✗ LEDGER CHECK FAILED"),
            "{codename}: {}",
            page.text
        );
        assert!(!page.text.contains("✓ ledger verified"));
    }
    let page = w.get(&format!("/incidents/{}", incidents[3].0)).await;
    assert!(page.text.contains("✓ ledger verified"), "{}", page.text);
}

#[tokio::test]
async fn a_long_timeline_is_shown_a_page_at_a_time() {
    let s = TestServer::spawn().await;
    let v = s
        .declare(
            &s.admin,
            json!({"title": "Chatty", "severity": "SEV-4", "kind": "operational"}),
        )
        .await;
    let codename = v["codename"].as_str().unwrap().to_string();
    for i in 0..150 {
        s.ok(
            &format!("/api/v1/incidents/{codename}/notes"),
            &s.admin,
            json!({"text": format!("note number {i}")}),
        )
        .await;
    }
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let first = w.get(&format!("/incidents/{codename}")).await;
    assert!(first.text.contains("note number 149") && !first.text.contains("note number 20<"));
    let at = first
        .text
        .find("?before=")
        .expect("a link to earlier entries");
    let link: String = first.text[at..].chars().take_while(|c| *c != '"').collect();
    let older = w.get(&format!("/incidents/{codename}{link}")).await;
    assert!(older.text.contains("note number 20<"), "{link}");
    assert!(!older.text.contains("note number 149"));
    assert!(older.text.contains("Newest entries"));
}

#[tokio::test]
async fn statements_are_drafted_refused_for_spin_approved_by_the_commander_and_published() {
    let s = TestServer::spawn().await;
    let sam = s.token("sam", "responder").await;
    let v = s
        .declare(
            &s.admin,
            json!({"title": "Customer data exposed", "severity": "SEV-1", "commander": "admin"}),
        )
        .await;
    let codename = v["codename"].as_str().unwrap().to_string();
    s.ok(
        &format!("/api/v1/incidents/{codename}/roles"),
        &s.admin,
        json!({"user": "sam", "role": "customer_liaison"}),
    )
    .await;
    let path = format!("/incidents/{codename}");
    let mut liaison = Web::new(&s);
    liaison.sign_in_token(&sam).await;
    let spin = liaison
        .submit(
            &path,
            &format!("{path}/statements"),
            &[
                ("title", "Update"),
                ("body", "We take security very seriously."),
            ],
        )
        .await;
    assert_eq!(
        spin.status,
        StatusCode::SEE_OTHER,
        "a draft may say anything: {}",
        spin.text
    );
    let page = liaison.get(&path).await;
    assert!(page.text.contains("awaiting the IC"), "{}", page.text);
    // Only the IC approves: the liaison sees the button disabled with the reason.
    let approve = &page.text[page.text.find("/statements/1/approve").unwrap()..];
    let approve = &approve[..approve.find("</form>").unwrap()];
    assert!(
        approve.contains("disabled") && approve.contains("rule <code>"),
        "{approve}"
    );
    let refused = liaison
        .submit(&path, &format!("{path}/statements/1/approve"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    // The IC cannot approve spin either: the phrase is named.
    let mut ic = Web::new(&s);
    ic.sign_in_token(&s.admin).await;
    let spun = ic
        .submit(&path, &format!("{path}/statements/1/approve"), &[])
        .await;
    assert_eq!(spun.status, StatusCode::CONFLICT, "{}", spun.text);
    assert!(
        spun.text
            .to_lowercase()
            .contains("we take security very seriously")
    );
    let revised = liaison
        .submit(
            &path,
            &format!("{path}/statements/1/revise"),
            &[
                ("title", "Service notice"),
                (
                    "body",
                    "On 6 December some exports were readable by other customers.",
                ),
            ],
        )
        .await;
    assert_eq!(revised.status, StatusCode::SEE_OTHER, "{}", revised.text);
    let approved = ic
        .submit(&path, &format!("{path}/statements/1/approve"), &[])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.text);
    let bad_date = liaison
        .submit(
            &path,
            &format!("{path}/statements/1/publish"),
            &[("date", "6 Dec")],
        )
        .await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_date.text.contains("YYYY-MM-DD"));
    let published = liaison
        .submit(
            &path,
            &format!("{path}/statements/1/publish"),
            &[("date", "2026-12-07")],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.text
    );
    let comms = s
        .get(
            &format!("/api/v1/incidents/{codename}/communications"),
            &s.admin,
        )
        .await
        .body;
    assert!(comms.to_string().contains("2026-12-07"), "{comms}");
    assert!(liaison.get(&path).await.text.contains(">published<"));
}

#[tokio::test]
async fn awareness_starts_the_deadlines_and_one_is_marked_met() {
    let s = TestServer::spawn().await;
    let v = s
        .declare(
            &s.admin,
            json!({"title": "Breach", "severity": "SEV-2", "commander": "admin"}),
        )
        .await;
    let codename = v["codename"].as_str().unwrap().to_string();
    let path = format!("/incidents/{codename}");
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let before = w.get(&path).await;
    assert!(before.text.contains("start when awareness is recorded"));
    let bad = w
        .submit(
            &path,
            &format!("{path}/awareness"),
            &[("aware_at", "last night")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = w
        .submit(
            &path,
            &format!("{path}/awareness"),
            &[("aware_at", "2026-12-06T22:30")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = w.get(&path).await;
    assert!(page.text.contains("GDPR Art. 33"), "{}", page.text);
    assert!(
        page.text.contains("2026-12-09 22:30 UTC"),
        "due 72 h after awareness"
    );
    let met = page.text.find("/deadlines/").unwrap();
    let action: String = page.text[met..].chars().take_while(|c| *c != '"').collect();
    let r = w.submit(&path, &format!("{path}{action}"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.text);
    let comms = s
        .get(
            &format!("/api/v1/incidents/{codename}/communications"),
            &s.admin,
        )
        .await
        .body;
    assert!(
        comms["status"]["deadlines"][0]["met"].is_object(),
        "{comms}"
    );
}

#[tokio::test]
async fn the_postmortem_follows_resolution_with_action_items_and_a_markdown_draft() {
    let s = TestServer::spawn().await;
    let v = s
        .declare(
            &s.admin,
            json!({"title": "Checkout down", "severity": "SEV-2", "kind": "operational", "commander": "admin"}),
        )
        .await;
    let codename = v["codename"].as_str().unwrap().to_string();
    let path = format!("/incidents/{codename}");
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    assert!(
        w.get(&path)
            .await
            .text
            .contains("Starts when the incident is resolved")
    );
    for n in 1..=3 {
        let r = w
            .submit(&path, &format!("{path}/steps/{n}/done"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let r = w
        .submit(
            &path,
            &format!("{path}/resolve"),
            &[("summary", "rolled back release 4.2")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = w.get(&path).await;
    assert!(
        page.text
            .contains("Status: <span class=\"badge\">draft</span>"),
        "{}",
        page.text
    );
    let unknown = w
        .submit(
            &path,
            &format!("{path}/action-items"),
            &[("title", "Canary releases"), ("owner", "nobody")],
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    let r = w
        .submit(
            &path,
            &format!("{path}/action-items"),
            &[
                ("title", "Canary releases"),
                ("owner", "admin"),
                ("due", "2027-01-15"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = w
        .submit(&path, &format!("{path}/action-items/1/done"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = w
        .submit(
            &path,
            &format!("{path}/postmortem/status"),
            &[("status", "in_review")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = w.get(&path).await;
    assert!(page.text.contains("in review"));
    assert!(page.text.contains("1 done, 0 open"));
    let md = w.get(&format!("{path}/postmortem.md")).await;
    assert_eq!(md.status, StatusCode::OK);
    assert!(
        md.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    assert!(md.text.contains("Canary releases") && md.text.contains("rolled back release 4.2"));
}

#[tokio::test]
async fn break_glass_opens_a_restricted_incident_to_an_admin_with_a_reason_and_a_banner() {
    let s = TestServer::spawn().await;
    let dana = s.token("dana", "responder").await;
    let root = s.token("root2", "admin").await;
    let v = s
        .declare(
            &dana,
            json!({"title": "Payroll tampering", "severity": "SEV-1", "commander": "dana"}),
        )
        .await;
    let codename = v["codename"].as_str().unwrap().to_string();
    let path = format!("/incidents/{codename}");
    let mut admin = Web::new(&s);
    admin.sign_in_token(&root).await;
    assert_eq!(
        admin.get(&path).await.status,
        StatusCode::NOT_FOUND,
        "admins are not exempt"
    );
    let no_reason = admin
        .submit(
            "/break-glass",
            "/break-glass",
            &[("incident", &codename), ("reason", " "), ("minutes", "30")],
        )
        .await;
    assert_eq!(
        no_reason.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_reason.text
    );
    let too_long = admin
        .submit(
            "/break-glass",
            "/break-glass",
            &[
                ("incident", &codename),
                ("reason", "audit"),
                ("minutes", "forever"),
            ],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = admin
        .submit(
            "/break-glass",
            "/break-glass",
            &[
                ("incident", &codename),
                ("reason", "dana is unreachable; payroll runs tonight"),
                ("minutes", "30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = admin.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Break-glass access."), "{}", page.text);
    assert!(
        page.text
            .contains("dana is unreachable; payroll runs tonight")
    );
    // Read-only: a note from the break-glass reader is refused by the rule.
    let note = admin
        .submit(&path, &format!("{path}/notes"), &[("text", "looking")])
        .await;
    assert_eq!(note.status, StatusCode::FORBIDDEN, "{}", note.text);
    assert!(note.text.contains("members-only"), "{}", note.text);
    // A responder cannot break glass.
    let mut eve = Web::new(&s);
    eve.sign_in_token(&s.token("eve", "responder").await).await;
    let r = eve
        .submit(
            "/incidents",
            "/break-glass",
            &[("incident", &codename), ("reason", "curious")],
        )
        .await;
    assert!(
        r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND,
        "{}",
        r.status
    );
    assert!(!r.text.contains("Payroll"));
}

#[tokio::test]
async fn a_correction_is_a_new_entry_and_a_severity_change_needs_a_reason() {
    let s = TestServer::spawn().await;
    let v = s
        .declare(
            &s.admin,
            json!({"title": "Phish", "severity": "SEV-3", "commander": "admin"}),
        )
        .await;
    let codename = v["codename"].as_str().unwrap().to_string();
    let path = format!("/incidents/{codename}");
    s.ok(
        &format!("/api/v1/incidents/{codename}/notes"),
        &s.admin,
        json!({"text": "user clicked at 09:10"}),
    )
    .await;
    let shown = s
        .get(&format!("/api/v1/incidents/{codename}"), &s.admin)
        .await
        .body;
    let seq = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["description"].as_str().unwrap().contains("09:10"))
        .unwrap_or_else(|| panic!("{shown}"))["seq"]
        .as_u64()
        .unwrap();
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let bad = w
        .submit(
            &path,
            &format!("{path}/corrections"),
            &[("supersedes", "x"), ("reason", "typo")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = w
        .submit(
            &path,
            &format!("{path}/corrections"),
            &[
                ("supersedes", &seq.to_string()),
                ("reason", "proxy logs say 09:01"),
                ("occurred_at", "2026-12-07T09:01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = w.get(&path).await;
    assert!(page.text.contains("proxy logs say 09:01"));
    assert!(
        page.text.contains("<del>"),
        "the old time is shown struck out"
    );
    assert!(
        page.text.contains("user clicked at 09:10"),
        "the entry itself is unchanged"
    );

    let r = w
        .submit(
            &path,
            &format!("{path}/severity"),
            &[("to", "SEV-1"), ("reason", "payroll data involved")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let api = s
        .get(&format!("/api/v1/incidents/{codename}"), &s.admin)
        .await
        .body;
    assert_eq!(api["severity"], "SEV-1");
    let bad = w
        .submit(
            &path,
            &format!("{path}/severity"),
            &[("to", "SEV-0"), ("reason", "x")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
