//! The CTF pages over HTTP as a browser speaks to them: a player sees the event, the challenges
//! with their values and the scoreboard, submits a flag through the form (right: solved on the
//! page and the board; wrong: said so), needs the CSRF token, never sees a flag; after the
//! freeze players see the frozen board and admins the live one beside it. Each challenge's
//! description and attachments are on the page; an attachment downloads as a file, never as a
//! page, and only from the event's start.

use palisade_test_support::TestServer;
use palisade_test_support::web::Web;
use palisade_training::ctf::challenge::hash_flag;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_player_submits_through_the_page_and_the_board_freezes() {
    let s = TestServer::spawn().await;
    let ann = s.token("ann", "viewer").await;
    s.token("bob", "viewer").await;
    let salt = [3u8; 8];
    let toml = format!(
        "id = \"warmup\"\nname = \"Warm-up <b>\"\ncategory = \"misc\"\ndescription = \"Say hello.\\n\\nThe log has the rest.\"\nvalue = 50\nattachments = [\"logs/app 1.log\"]\n[[flags]]\ntype = \"static\"\nsalt = \"{}\"\nsha256 = \"{}\"\n",
        hex::encode(salt),
        hash_flag(&salt, "palisade{hello}", true)
    );
    let at = |h: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::hours(h))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let r = s
        .post(
            "/api/v1/ctf",
            &s.admin,
            json!({"name": "friday", "start": at(-1), "end": at(1), "mode": "teams",
                   "challenges": [{"file": "w.toml", "toml": toml, "attachments": [
                       {"name": "logs/app 1.log", "content_base64": "PGI+aGVsbG88L2I+Cg=="}]}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The same challenge in an event that has not started.
    let r = s
        .post(
            "/api/v1/ctf",
            &s.admin,
            json!({"name": "next-week", "start": at(100), "end": at(101), "mode": "teams",
                   "challenges": [{"file": "w.toml", "toml": toml, "attachments": [
                       {"name": "logs/app 1.log", "content_base64": "PGI+aGVsbG88L2I+Cg=="}]}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for (team, member) in [("red", "ann"), ("blue", "bob")] {
        let r = s
            .post(
                "/api/v1/ctf/friday/accounts",
                &s.admin,
                json!({"id": team, "name": format!("Team {team}"), "members": [member]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    let mut w = Web::new(&s);
    w.sign_in_token(&ann).await;
    let list = w.ok("/ctf").await;
    assert!(list.text.contains("href=\"/ctf/friday\""), "{}", list.text);
    let page = w.ok("/ctf/friday").await;
    assert!(page.text.contains("You play for"), "{}", page.text);
    assert!(page.text.contains("Warm-up &lt;b&gt;"), "names are escaped");
    assert!(page.text.contains("Submit a flag"), "{}", page.text);
    for secret in ["sha256", "salt", "palisade{hello}"] {
        assert!(!page.text.contains(secret), "{secret} on the page");
    }
    // The description, paragraph by paragraph, and the file to download.
    assert!(
        page.text
            .contains("<p>Say hello.</p><p>The log has the rest.</p>"),
        "{}",
        page.text
    );
    let link = "/ctf/friday/challenges/warmup/attachments/logs%2Fapp%201.log";
    assert!(
        page.text.contains(&format!("href=\"{link}\"")),
        "{}",
        page.text
    );
    let file = w.ok(link).await;
    assert_eq!(file.text, "<b>hello</b>\n");
    assert_eq!(file.headers["content-type"], "application/octet-stream");
    assert_eq!(
        file.headers["content-disposition"],
        "attachment; filename=\"app_1.log\""
    );
    // Before the start: no link, and the address answers with when.
    let later = w.ok("/ctf/next-week").await;
    assert!(
        later.text.contains("handed out when the event starts")
            && !later.text.contains("/attachments/"),
        "{}",
        later.text
    );
    let early = w
        .get("/ctf/next-week/challenges/warmup/attachments/logs%2Fapp%201.log")
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text);
    assert!(
        early.text.contains("handed out from then"),
        "{}",
        early.text
    );

    let wrong = w
        .submit(
            "/ctf/friday",
            "/ctf/friday/submit",
            &[
                ("account", "red"),
                ("challenge", "warmup"),
                ("flag", "palisade{bye}"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::SEE_OTHER, "{}", wrong.text);
    let shown = w.ok(wrong.location()).await;
    assert!(
        shown.text.contains("Wrong: that is not the flag"),
        "{}",
        shown.text
    );
    let right = w
        .submit(
            "/ctf/friday",
            "/ctf/friday/submit",
            &[
                ("account", "red"),
                ("challenge", "warmup"),
                ("flag", "palisade{hello}"),
            ],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.text);
    let shown = w.ok(right.location()).await;
    assert!(
        shown.text.contains("Correct: warmup is solved"),
        "{}",
        shown.text
    );
    assert!(shown.text.contains("solved"), "{}", shown.text);
    // Solved once: the second time is refused with the rule, on the page.
    let again = w
        .submit(
            "/ctf/friday",
            "/ctf/friday/submit",
            &[
                ("account", "red"),
                ("challenge", "warmup"),
                ("flag", "palisade{hello}"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert!(again.text.contains("ctf-done"), "{}", again.text);
    // Not a member of blue.
    let other = w
        .submit(
            "/ctf/friday",
            "/ctf/friday/submit",
            &[
                ("account", "blue"),
                ("challenge", "warmup"),
                ("flag", "palisade{hello}"),
            ],
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
    // Without the CSRF token nothing is recorded.
    let forged = w
        .post(
            "/ctf/friday/submit",
            &[("account", "red"), ("challenge", "warmup"), ("flag", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert_eq!(
        s.get("/api/v1/ctf/friday", &s.admin).await.body["events"],
        5
    );

    // Freeze; blue solves after it: players see the frozen board, admins the live one too.
    let r = s
        .post("/api/v1/ctf/friday/freeze", &s.admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let bob = s.token("bob2", "viewer").await;
    let r = s
        .post(
            "/api/v1/ctf/friday/accounts",
            &s.admin,
            json!({"id": "green", "name": "Team green", "members": ["bob2"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = s
        .post(
            "/api/v1/ctf/friday/submissions",
            &bob,
            json!({"account": "green", "challenge": "warmup", "flag": "palisade{hello}"}),
        )
        .await;
    assert_eq!(r.body["result"]["correct"], true, "{}", r.text);
    let player = w.ok("/ctf/friday").await;
    assert!(player.text.contains("Frozen at"), "{}", player.text);
    assert!(!player.text.contains("Live (admins only)"));
    let mut a = Web::new(&s);
    a.sign_in_token(&s.admin).await;
    let organiser = a.ok("/ctf/friday").await;
    assert!(
        organiser.text.contains("Live (admins only)"),
        "{}",
        organiser.text
    );
    let live = &organiser.text[organiser.text.find("Live (admins only)").unwrap()..];
    assert!(live.contains("Team green"), "{live}");
    let public = &player.text[player.text.find("Scoreboard").unwrap()..];
    let green = public.find("Team green");
    let red = public.find("Team red").expect("red on the board");
    assert!(
        green.is_none_or(|g| g > red),
        "green's solve is after the freeze: {public}"
    );

    assert_eq!(
        w.get("/ctf/nothing-here").await.status,
        StatusCode::NOT_FOUND
    );
}
