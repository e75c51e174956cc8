//! The services, on-call and alert pages of the web UI over HTTP, as a browser speaks to them:
//! what they list is what exists (set up through the JSON API), who is on call now and next is
//! what the schedule's definition says, the timeline draws one labelled shift per shift and
//! the gaps, an alert says why its occurrences were deduplicated, Acknowledge runs the API's
//! command (and is refused, or shown idle, with the reason), forms need the session's CSRF
//! token, routing keys never appear, unknown things are 404 pages, hostile text is escaped,
//! and long lists are capped. The same pages in a browser: `web_browser_services.rs`.

use palisade_test_support::TestServer;
use palisade_test_support::web::{Page, Web};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

/// What these pages' tests look for in a page.
trait Parts {
    /// The inline SVG timeline.
    fn svg(&self) -> &str;
    /// The table row that links to `href` (from `<tr` to `</tr>`).
    fn row(&self, href: &str) -> &str;
}

impl Parts for Page {
    fn svg(&self) -> &str {
        let start = self.text.find("<svg").expect("an inline SVG");
        let end = self.text[start..].find("</svg>").expect("the SVG ends") + start;
        &self.text[start..end]
    }

    fn row(&self, href: &str) -> &str {
        let at = self
            .text
            .find(&format!("href=\"{href}\""))
            .unwrap_or_else(|| panic!("no link to {href}: {}", self.text));
        let start = self.text[..at].rfind("<tr").unwrap();
        let end = self.text[at..].find("</tr>").unwrap() + at;
        &self.text[start..end]
    }
}

const DAY: i64 = 86_400;

fn now_s() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A time as the pages write it.
fn shown(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn created(s: &TestServer, path: &str, body: Value) -> Value {
    let r = s.post(path, &s.admin, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.text);
    r.body
}

async fn ok(s: &TestServer, path: &str, body: Value) -> Value {
    let r = s.post(path, &s.admin, body).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    r.body
}

/// A new integration of `service`; its routing key.
async fn integration(s: &TestServer, service: &str, name: &str) -> String {
    created(
        s,
        &format!("/api/v1/services/{service}/integrations"),
        json!({"name": name}),
    )
    .await["routing_key"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn trigger(s: &TestServer, key: &str, dedup: &str, summary: &str) {
    let r = s
        .send(s.http.post(format!("{}/v2/enqueue", s.url)).json(&json!({
            "routing_key": key, "event_action": "trigger", "dedup_key": dedup,
            "payload": {"summary": summary, "source": "web-1", "severity": "critical",
                        "custom_details": {"disk": "/var", "used": 0.97}},
            "links": [{"href": "https://grafana.example/d/1", "text": "dashboard"},
                      {"href": "javascript:alert(1)", "text": "not a web link"}]
        })))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
}

/// The alerts of `service` through the API, newest first.
async fn alerts(s: &TestServer, service: &str) -> Vec<Value> {
    let r = s
        .get(&format!("/api/v1/alerts?service={service}"), &s.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["alerts"].as_array().unwrap().clone()
}

async fn alert(s: &TestServer, id: &str) -> Value {
    let r = s.get(&format!("/api/v1/alerts/{id}"), &s.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// The names in the `<title>`s of the shifts drawn in the SVG's final row, in order, and the
/// number of "no one on call" segments there.
fn final_row(svg: &str) -> (Vec<String>, usize) {
    let row = &svg[svg.find("class=\"row final\"").expect("a final row")..];
    let row = &row[..row
        .find("class=\"legend\"")
        .expect("the legend after the rows")];
    let names = row
        .split("<g class=\"shift ")
        .skip(1)
        .map(|g| {
            let t = &g[g.find("<title>").expect("each shift has a title") + "<title>".len()..];
            t[..t.find(':').unwrap()].to_string()
        })
        .collect();
    let gaps = row.matches("<g class=\"gap\">").count();
    (names, gaps)
}

#[tokio::test]
async fn service_pages_show_ownership_who_is_paged_maintenance_and_integrations_without_keys() {
    let s = TestServer::spawn().await;
    for u in ["ana", "ben", "cy"] {
        s.token(u, "responder").await;
    }
    // A daily rotation in UTC handing off at midnight: who is on call now follows from the
    // definition and the clock.
    let start = 1_767_571_200; // 2026-01-05T00:00:00Z
    created(
        &s,
        "/api/v1/schedules",
        json!({"name": "payments-primary", "time_zone": "UTC", "layers": [
            {"participants": ["ana", "ben", "cy"], "rotation": {"unit": "daily", "length": 1}, "start": rfc3339(start)}
        ]}),
    )
    .await;
    let now = now_s();
    let on_call_now = ["ana", "ben", "cy"][((now - start).div_euclid(DAY) % 3) as usize];
    created(&s, "/api/v1/teams", json!({"name": "payments"})).await;
    created(
        &s,
        "/api/v1/escalation-policies",
        json!({"name": "payments-urgent", "levels": [
            {"delay_minutes": 5, "targets": [{"type": "schedule", "name": "payments-primary"}]},
            {"delay_minutes": 10, "targets": [{"type": "user", "name": "cy"}]}
        ]}),
    )
    .await;
    for name in ["payments-api", "ledger", "search"] {
        created(
            &s,
            "/api/v1/services",
            json!({"name": name, "description": "Takes <script>alert('card')</script> payments"}),
        )
        .await;
    }
    for name in ["payments-api", "ledger"] {
        let base = format!("/api/v1/services/{name}");
        ok(&s, &format!("{base}/owner"), json!({"team": "payments"})).await;
        ok(
            &s,
            &format!("{base}/escalation-policy"),
            json!({"policy": "payments-urgent"}),
        )
        .await;
        ok(&s, &format!("{base}/tier"), json!({"tier": 1})).await;
    }
    ok(
        &s,
        "/api/v1/services/payments-api/runbooks",
        json!({"url": "https://wiki.example/payments", "title": "Payments <b>runbook</b>"}),
    )
    .await;
    // payments-api: a window next week; ledger: one in progress now.
    ok(
        &s,
        "/api/v1/services/payments-api/maintenance",
        json!({"from": rfc3339(now + 7 * DAY), "to": rfc3339(now + 7 * DAY + 3600), "reason": "Database upgrade"}),
    )
    .await;
    ok(
        &s,
        "/api/v1/services/ledger/maintenance",
        json!({"from": rfc3339(now - 3600), "to": rfc3339(now + 3600), "reason": "Failover <i>drill</i>"}),
    )
    .await;
    let key = integration(&s, "payments-api", "prometheus").await;
    let old_key = integration(&s, "payments-api", "old-nagios").await;
    let r = s
        .call(
            "DELETE",
            "/api/v1/services/payments-api/integrations/old-nagios",
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    trigger(
        &s,
        &key,
        "disk/web-1",
        "Disk <script>full</script> on web-1",
    )
    .await;

    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let list = w.ok("/services").await;
    for name in ["payments-api", "ledger", "search"] {
        assert!(
            list.text.contains(&format!("href=\"/services/{name}\"")),
            "{name}: {}",
            list.text
        );
    }
    assert!(list.text.contains("href=\"/services\">Services</a>"), "nav");
    let row = list.row("/services/payments-api");
    assert!(row.contains("payments") && row.contains("tier 1"), "{row}");
    assert!(row.contains("payments-urgent"), "{row}");
    assert!(
        row.contains("href=\"/alerts?service=payments-api\">1</a>"),
        "one open alert: {row}"
    );
    let row = list.row("/services/search");
    assert!(row.contains("none") && row.contains("not set"), "{row}");
    assert!(
        list.text
            .contains("Takes &lt;script&gt;alert('card')&lt;/script&gt; payments"),
        "escaped: {}",
        list.text
    );

    let page = w.ok("/services/payments-api").await;
    assert!(page.text.contains("<h1>payments-api</h1>"), "{}", page.text);
    // Who is paged: level 1 is whoever the schedule has on call now.
    assert!(
        page.text.contains(&format!(
            "An alert now pages <strong>{on_call_now}</strong> first"
        )),
        "{on_call_now}: {}",
        page.text
    );
    assert!(
        page.text.contains("on call in schedule payments-primary"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains(
            "<a href=\"https://wiki.example/payments\" rel=\"noopener noreferrer\">Payments &lt;b&gt;runbook&lt;/b&gt;</a>"
        ),
        "{}",
        page.text
    );
    assert!(page.text.contains("upcoming") && page.text.contains("Database upgrade"));
    assert!(!page.text.contains("in progress now"));
    // Integrations by name and id, one revoked; the recent alert, escaped.
    let integrations =
        s.get("/api/v1/services/payments-api", &s.admin).await.body["integrations"].clone();
    for i in integrations.as_array().unwrap() {
        assert!(page.text.contains(i["id"].as_str().unwrap()), "{i}");
        assert!(page.text.contains(i["name"].as_str().unwrap()), "{i}");
    }
    assert!(page.text.contains("revoked "), "{}", page.text);
    assert!(
        page.text
            .contains("Disk &lt;script&gt;full&lt;/script&gt; on web-1")
    );
    assert!(!page.text.contains("<script>full"), "never markup");
    assert!(!page.text.contains("<script>alert"));

    // In a maintenance window: said in words, and that nobody is paged.
    let ledger = w.ok("/services/ledger").await;
    assert!(
        ledger.text.contains("in progress now: paging suppressed"),
        "{}",
        ledger.text
    );
    assert!(
        ledger.text.contains("Nobody is paged now"),
        "{}",
        ledger.text
    );
    assert!(ledger.text.contains("Failover &lt;i&gt;drill&lt;/i&gt;"));

    // No page ever shows a routing key (nor its hash), and no page has inline code.
    let alert_id = alerts(&s, "payments-api").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for k in [&key, &old_key] {
        let hash = hex::encode(sha2::Sha256::digest(k.as_bytes()));
        for path in [
            "/services".to_string(),
            "/services/payments-api".to_string(),
            "/services/ledger".to_string(),
            "/alerts".to_string(),
            format!("/alerts/{alert_id}"),
            "/oncall".to_string(),
            "/schedules/payments-primary".to_string(),
        ] {
            let p = w.ok(&path).await;
            assert!(!p.text.contains(k.as_str()), "{path} shows a routing key");
            assert!(!p.text.contains(&hash), "{path} shows a routing key's hash");
            // Nothing for the Content-Security-Policy to block: no inline style, and the one
            // script is the asset file.
            assert!(!p.text.contains(" style="), "{path} has an inline style");
            assert_eq!(p.text.matches("<script").count(), 1, "{path}: {}", p.text);
        }
    }

    // Unknown services are 404 pages.
    let missing = w.get("/services/no-such-service").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.text.contains("<h1>Not found</h1>"),
        "{}",
        missing.text
    );
    assert!(missing.text.contains("no-such-service"));
    // Not signed in: to the sign-in page and back.
    let mut stranger = Web::new(&s);
    let p = stranger.get("/services/payments-api").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/login?next=%2Fservices%2Fpayments-api");
}

#[tokio::test]
async fn on_call_pages_name_who_is_on_call_now_and_next_and_draw_every_shift_and_gap() {
    let s = TestServer::spawn().await;
    for u in ["ana", "ben", "cy", "dee"] {
        s.token(u, "responder").await;
    }
    let start = 1_767_571_200; // 2026-01-05T00:00:00Z, a Monday
    let people = ["ana", "ben", "cy"];
    created(
        &s,
        "/api/v1/schedules",
        json!({"name": "primary", "description": "First <em>line</em>", "time_zone": "UTC", "layers": [
            {"participants": people, "rotation": {"unit": "daily", "length": 1}, "start": rfc3339(start)}
        ]}),
    )
    .await;
    // Office hours only: nobody on call outside 09:00–17:00 UTC.
    created(
        &s,
        "/api/v1/schedules",
        json!({"name": "office-hours", "time_zone": "UTC", "layers": [
            {"participants": ["dee"], "rotation": {"unit": "daily", "length": 1}, "start": rfc3339(start + 9 * 3600),
             "restrictions": [{"type": "daily", "from": "09:00", "to": "17:00"}]}
        ]}),
    )
    .await;

    let now = now_s();
    let today = now.div_euclid(DAY) * DAY;
    let day_n = (now - start).div_euclid(DAY);
    let who = |d: i64| people[(d % 3) as usize];

    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let oncall = w.ok("/oncall").await;
    assert!(oncall.text.contains("href=\"/oncall\">On call</a>"), "nav");
    let row = oncall.row("/schedules/primary");
    assert!(
        row.contains(&format!("<td class=\"now\">{}</td>", who(day_n))),
        "now: {row}"
    );
    assert!(
        row.contains(&format!("<td>{} from <time", who(day_n + 1)))
            && row.contains(&format!(">{}</time>", shown(today + DAY))),
        "next, at midnight: {row}"
    );
    assert!(row.contains("First &lt;em&gt;line&lt;/em&gt;"), "{row}");
    let row = oncall.row("/schedules/office-hours");
    let second = now - today;
    let nobody = "<span class=\"badge gap\">no one on call</span>";
    let (now_words, next_who, next_at) = if (9 * 3600..17 * 3600).contains(&second) {
        ("dee", nobody, today + 17 * 3600)
    } else if second < 9 * 3600 {
        (nobody, "dee", today + 9 * 3600)
    } else {
        (nobody, "dee", today + DAY + 9 * 3600)
    };
    assert!(
        row.contains(&format!("<td class=\"now\">{now_words}</td>")),
        "{row}"
    );
    assert!(
        row.contains(&format!("<td>{next_who} from <time"))
            && row.contains(&format!(">{}</time>", shown(next_at))),
        "{row}"
    );

    // The timeline: from today's midnight for 8 days; one labelled shift a day.
    let page = w.ok("/schedules/primary").await;
    let svg = page.svg();
    assert!(svg.contains("role=\"img\""), "{svg}");
    assert!(
        svg.contains("<title id=\"tl-title\">On-call timeline of primary from "),
        "{svg}"
    );
    assert!(!svg.contains("style="), "no inline style: {svg}");
    let (names, gaps) = final_row(svg);
    let expected: Vec<String> = (0..8).map(|d| who(day_n + d).to_string()).collect();
    assert_eq!(names, expected, "one shift a day, by the rotation");
    assert_eq!(gaps, 0);
    // Each shift's rectangle is labelled with the name (a day is wide enough).
    let row = &svg[svg.find("class=\"row final\"").unwrap()..];
    for name in &expected {
        assert!(row.contains(&format!("\">{name}</text>")), "{name}: {row}");
    }
    assert!(svg.contains("\">now</text>"), "the now marker");
    assert_eq!(
        svg.matches("<text class=\"day\"").count(),
        8,
        "a tick label a day"
    );
    // The same shifts in the table below.
    for d in 0..8 {
        assert!(
            page.text.contains(&shown(today + d * DAY)),
            "day {d} in the table"
        );
    }
    assert!(page.text.contains("daily rotation, 1 day each"));

    let page = w.ok("/schedules/office-hours").await;
    let (names, gaps) = final_row(page.svg());
    assert_eq!(names, vec!["dee"; 8], "09:00–17:00 each day");
    assert_eq!(gaps, 9, "before the first, between each, after the last");
    assert!(
        page.svg().contains(">nobody</text>"),
        "a gap says so in words: {}",
        page.svg()
    );
    assert!(page.text.contains("only every day 09:00–17:00"));
    assert!(
        page.text.contains("<tr class=\"gap\">"),
        "gaps are rows of the table too"
    );

    let missing = w.get("/schedules/no-such-schedule").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.text.contains("<h1>Not found</h1>"),
        "{}",
        missing.text
    );
}

#[tokio::test]
async fn an_alert_says_why_it_was_deduplicated_and_is_acknowledged_from_its_page() {
    let s = TestServer::spawn_with(|c| c.manual_timers = true).await;
    s.token("ana", "responder").await;
    let viewer = s.token("vic", "viewer").await;
    created(&s, "/api/v1/services", json!({"name": "payments-api"})).await;
    created(&s, "/api/v1/services", json!({"name": "search"})).await;
    created(
        &s,
        "/api/v1/escalation-policies",
        json!({"name": "payments", "levels": [{"delay_minutes": 5, "targets": [{"type": "user", "name": "ana"}]}]}),
    )
    .await;
    ok(
        &s,
        "/api/v1/services/payments-api/escalation-policy",
        json!({"policy": "payments"}),
    )
    .await;
    let key = integration(&s, "payments-api", "prometheus").await;
    trigger(&s, &key, "disk/web-1", "Disk full on <b>web-1</b>").await;
    trigger(&s, &key, "disk/web-1", "Disk full on <b>web-1</b>").await;
    // The first escalation step, taken at a time the test chooses.
    let at_us = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
    assert_eq!(
        s.app.run_due_timers_at(at_us + 1_000_000).await,
        0,
        "taken with the trigger"
    );
    let listed = alerts(&s, "payments-api").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["occurrences"], 2);
    let id = listed[0]["id"].as_str().unwrap().to_string();
    let path = format!("/alerts/{id}");

    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let list = w.ok("/alerts").await;
    assert!(list.text.contains("href=\"/alerts\">Alerts</a>"), "nav");
    let row = list.row(&path);
    assert!(row.contains(">triggered</span>"), "status in words: {row}");
    assert!(row.contains(">critical</span>"), "{row}");
    assert!(row.contains("href=\"/services/payments-api\""), "{row}");
    assert!(row.contains("1 duplicate"), "{row}");
    assert!(
        row.contains("rule <code>same-dedup-key</code> matched <code>dedup_key</code> = <code class=\"key\">&quot;disk/web-1&quot;</code>"),
        "the rule and the matched key: {row}"
    );
    assert!(
        row.contains("Disk full on &lt;b&gt;web-1&lt;/b&gt;"),
        "{row}"
    );
    // Filters.
    assert!(w.ok("/alerts?status=triggered").await.text.contains(&path));
    for q in ["status=resolved", "status=acknowledged", "service=search"] {
        let p = w.ok(&format!("/alerts?{q}")).await;
        assert!(!p.text.contains(&path), "{q}");
        assert!(p.text.contains("No alert matches."), "{q}");
    }
    assert!(
        w.ok("/alerts?service=payments-api&status=triggered")
            .await
            .text
            .contains(&path)
    );
    let bad = w.get("/alerts?status=sleeping").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("triggered, acknowledged or resolved"));
    assert_eq!(
        w.get("/alerts?service=no-such-service").await.status,
        StatusCode::NOT_FOUND
    );

    // The alert's page: its timeline as recorded.
    let page = w.ok(&path).await;
    assert!(
        page.text
            .contains("<h1>Disk full on &lt;b&gt;web-1&lt;/b&gt;</h1>")
    );
    assert!(!page.text.contains("<b>web-1"), "never markup");
    assert!(page.text.contains("<strong>Triggered</strong>"));
    assert!(
        page.text.contains("<strong>Deduplicated</strong>"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("Joined this alert by rule <code>same-dedup-key</code>"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!("alert {id} of this service is open"))
    );
    assert!(
        page.text
            .contains("paged <strong class=\"paged\">ana</strong>"),
        "who was paged: {}",
        page.text
    );
    assert!(page.text.contains(
        "<a href=\"https://grafana.example/d/1\" rel=\"noopener noreferrer\">dashboard</a>"
    ));
    assert!(
        !page.text.contains("href=\"javascript:"),
        "only web addresses are links"
    );
    assert!(
        page.text.contains("&quot;used&quot;: 0.97"),
        "custom details"
    );

    // A form without the session's token changes nothing.
    let forged = w.post(&format!("{path}/acknowledge"), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.text.contains("Form refused"));
    assert_eq!(alert(&s, &id).await["status"], "triggered");

    // A viewer sees Acknowledge disabled with the reason, and is refused when sending it.
    let mut v = Web::new(&s);
    v.sign_in_token(&viewer).await;
    let vp = v.ok(&path).await;
    let form = &vp.text[vp.text.find("action=\"/alerts/").unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    assert!(form.contains("disabled"), "{form}");
    assert!(form.contains("this needs a responder account"), "{form}");
    let refused = v.submit(&path, &format!("{path}/acknowledge"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(refused.text.contains("role=\"alert\""));
    assert_eq!(alert(&s, &id).await["status"], "triggered");

    // Acknowledged from the page: the API sees it.
    let acked = w.submit(&path, &format!("{path}/acknowledge"), &[]).await;
    assert_eq!(acked.status, StatusCode::SEE_OTHER, "{}", acked.text);
    assert_eq!(acked.location(), path);
    let api = alert(&s, &id).await;
    assert_eq!(api["status"], "acknowledged");
    assert_eq!(api["acknowledged_by"], "admin");
    let page = w.ok(&path).await;
    assert!(page.text.contains("<strong>Acknowledged</strong> by admin"));

    // Resolved elsewhere; the page says there is nothing left to acknowledge, and a stale
    // form says why nothing changed.
    let stale = w.ok(&path).await.csrf();
    ok(&s, &format!("/api/v1/alerts/{id}/resolve"), json!({})).await;
    let events = alert(&s, &id).await["events"].clone();
    let page = w.ok(&path).await;
    assert!(
        page.text
            .contains("Nothing to do: the alert is already resolved."),
        "{}",
        page.text
    );
    let again = w
        .post(&format!("{path}/acknowledge"), &[("csrf", stale.as_str())])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert!(again.text.contains("Nothing changed"), "{}", again.text);
    assert!(
        again
            .text
            .contains("the alert is already resolved (by admin)"),
        "{}",
        again.text
    );
    assert_eq!(alert(&s, &id).await["events"], events, "nothing recorded");

    // Unknown alerts are 404 pages.
    for p in [
        "/alerts/00000000-0000-7000-8000-000000000000",
        "/alerts/not-an-id",
    ] {
        let missing = w.get(p).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{p}");
        assert!(missing.text.contains("<h1>Not found</h1>"), "{p}");
    }
    let missing = w.submit(&path, "/alerts/not-an-id/acknowledge", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn long_lists_and_busy_schedules_are_capped_and_pages_stay_small() {
    let s = TestServer::spawn_with(|c| c.manual_timers = true).await;
    for u in ["ana", "ben"] {
        s.token(u, "responder").await;
    }
    // Eight layers of one-hour shifts: 168 a week each.
    let layer = json!({"participants": ["ana", "ben"], "rotation": {"unit": "hourly", "length": 1}, "start": "2026-01-05T00:00:00Z"});
    created(
        &s,
        "/api/v1/schedules",
        json!({"name": "busy", "time_zone": "UTC", "layers": vec![layer; 8]}),
    )
    .await;
    created(&s, "/api/v1/services", json!({"name": "noisy"})).await;
    let key = integration(&s, "noisy", "prometheus").await;
    for i in 0..101 {
        trigger(&s, &key, &format!("k{i}"), &format!("Alert number {i}")).await;
    }

    let mut w = Web::new(&s);
    w.sign_in_token(&s.admin).await;
    let page = w.ok("/schedules/busy").await;
    assert!(page.text.len() < 100 * 1024, "{} bytes", page.text.len());
    assert!(
        page.text.contains("Showing layers 1–6 of 8"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("On call: showing the first 40 of 192 spans"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("Layer 1: showing the first 20 of 192 spans"),
        "the layers share a budget: {}",
        page.text
    );
    let (names, _) = final_row(page.svg());
    assert_eq!(names.len(), 40);

    let list = w.ok("/alerts").await;
    assert!(list.text.len() < 100 * 1024, "{} bytes", list.text.len());
    assert_eq!(list.text.matches("<a href=\"/alerts/").count(), 100);
    assert!(
        list.text
            .contains("Showing the newest 100 matching alerts here; there are more."),
        "{}",
        list.text
    );
    let at = list.text.find("/alerts?before=").unwrap();
    let older: String = list.text[at..]
        .chars()
        .take_while(|c| *c != '"')
        .collect::<String>()
        .replace("&amp;", "&");
    let rest = w.ok(&older).await;
    assert_eq!(rest.text.matches("<a href=\"/alerts/").count(), 1);
    assert!(rest.text.contains("Alert number 0<"), "the oldest");
    for p in ["/services", "/services/noisy", "/oncall"] {
        let page = w.ok(p).await;
        assert!(
            page.text.len() < 100 * 1024,
            "{p}: {} bytes",
            page.text.len()
        );
    }
    assert!(
        w.ok("/services")
            .await
            .row("/services/noisy")
            .contains(">101</a>"),
        "open alerts counted"
    );
}
