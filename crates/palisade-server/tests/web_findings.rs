//! The findings pages over HTTP as a browser speaks to them: the list shows what uploads opened,
//! most severe first and filtered; a finding's page accepts its risk through the pipeline (the
//! mark on its page and its history), refuses a short reason with the rule, says why a form
//! would be refused before anyone types (a viewer), needs the CSRF token, escapes hostile text
//! from a report, and unknown findings are 404 pages.

use palisade_test_support::TestServer;
use palisade_test_support::web::Web;
use reqwest::StatusCode;
use serde_json::json;

async fn upload(s: &TestServer, results: serde_json::Value) -> serde_json::Value {
    let body = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep"}}, "results": results}]});
    let r = s
        .send(
            s.http
                .post(format!(
                    "{}/api/v1/services/payments-api/findings/uploads?phase=code",
                    s.url
                ))
                .bearer_auth(&s.admin)
                .body(serde_json::to_vec(&body).unwrap()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn findings_are_listed_accepted_through_the_form_and_refused_with_the_rule() {
    let s = TestServer::spawn().await;
    let r = s
        .post(
            "/api/v1/services",
            &s.admin,
            json!({"name": "payments-api"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let up = upload(
        &s,
        json!([
            {"ruleId": "sql-injection", "level": "error", "message": {"text": "query from input"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/db.py"}, "region": {"startLine": 12}}}]},
            {"ruleId": "<script>alert(1)</script>", "level": "note", "message": {"text": "<img src=x onerror=alert(1)>"}}
        ]),
    )
    .await;
    assert_eq!(up["new"], 2);
    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;

    let list = w.ok("/findings").await;
    assert!(
        list.text.contains("2 findings match: 2 open, 0 overdue"),
        "{}",
        list.text
    );
    let high = list.text.find("sql-injection").unwrap();
    let low = list
        .text
        .find("&lt;script&gt;")
        .expect("hostile rule ids are escaped");
    assert!(high < low, "most severe first");
    assert!(
        !list.text.contains("<script>alert"),
        "nothing from a report is markup"
    );
    assert!(!list.text.contains("<img src=x"));
    let only_low = w.ok("/findings?min_severity=high").await;
    assert!(
        !only_low.text.contains("&lt;script&gt;"),
        "{}",
        only_low.text
    );
    let bad = w.get("/findings?status=maybe").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Accept the high one through its page's form.
    let id = list.text[..high]
        .rfind("/findings/")
        .map(|at| list.text[at + 10..at + 46].to_string())
        .unwrap();
    let page = format!("/findings/{id}");
    let shown = w.ok(&page).await;
    assert!(shown.text.contains("app/db.py:12"), "{}", shown.text);
    let refused = w
        .submit(
            &page,
            &format!("{page}/accept"),
            &[("reason", "too short"), ("expires", "2099-01-01")],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(refused.text.contains("finding-reason"), "{}", refused.text);
    let until = {
        let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(20);
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    };
    let done = w
        .submit(
            &page,
            &format!("{page}/accept"),
            &[
                ("reason", "the WAF blocks this input until the fix ships"),
                ("expires", &until),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(done.location(), page);
    let after = w.ok(&page).await;
    assert!(after.text.contains("Risk accepted"), "{}", after.text);
    assert!(
        after
            .text
            .contains("the WAF blocks this input until the fix ships")
    );
    assert!(
        after.text.contains("Risk accepted until"),
        "the history says it"
    );
    let api = s.get(&format!("/api/v1/findings/{id}"), &s.admin).await;
    assert_eq!(api.body["status"], "accepted");
    assert_eq!(api.body["triage"]["by"], "admin");

    // Without the CSRF token nothing is recorded.
    let forged = w
        .post(
            &format!("{page}/reopen"),
            &[("reason", "forged from another site")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert_eq!(
        s.get(&format!("/api/v1/findings/{id}"), &s.admin)
            .await
            .body["events"],
        2
    );

    // A viewer sees the forms disabled, with why.
    let viewer = s.token("vera", "viewer").await;
    let mut v = Web::new(&s);
    v.sign_in_token(&viewer).await;
    let seen = v.ok(&page).await;
    assert!(seen.text.contains("disabled"), "{}", seen.text);
    assert!(
        seen.text
            .contains("this needs a responder account; vera is a viewer"),
        "{}",
        seen.text
    );

    let missing = w
        .get("/findings/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let nonsense = w.get("/findings/not-an-id").await;
    assert_eq!(nonsense.status, StatusCode::NOT_FOUND);
}
