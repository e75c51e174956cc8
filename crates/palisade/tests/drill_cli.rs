//! A drill through the real binary: `palisade drill start` for a shipped scenario, the team
//! working the playbook with `palisade incident`, `drill tick` moving it on, `drill debrief` in
//! Markdown and HTML, and `playbook list` showing the playbook tested today.

mod common;

use common::{ok, serve};

#[test]
fn a_drill_from_start_to_debrief_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir.path().join("data"));
    let admin = server.admin.clone();

    let listed = ok(&server, &admin, &["playbook", "list"]);
    let security = listed.lines().find(|l| l.starts_with("security")).unwrap();
    assert!(
        security.contains("never") && security.contains("UNTESTED"),
        "{listed}"
    );

    let started = ok(
        &server,
        &admin,
        &["drill", "start", "insider-exfiltration", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&started).unwrap();
    let cn = v["incident"]["codename"].as_str().unwrap().to_string();
    let cn = cn.as_str();
    assert_eq!(v["incident"]["drill"]["scenario"], "insider-exfiltration");
    let table = ok(&server, &admin, &["incident", "list"]);
    assert!(table.contains("[DRILL]"), "{table}");

    ok(
        &server,
        &admin,
        &["incident", "role", "assign", cn, "admin", "ic"],
    );
    for step in ["1", "2", "3"] {
        ok(&server, &admin, &["incident", "step", "done", cn, step]);
    }
    let ticked = ok(&server, &admin, &["drill", "tick", cn, "--elapsed", "4h"]);
    assert!(ticked.contains("injection(s) released in all"), "{ticked}");
    let again = ok(&server, &admin, &["drill", "tick", cn]);
    assert!(again.contains("nothing due"), "{again}");

    let md = ok(&server, &admin, &["drill", "debrief", cn]);
    assert!(md.starts_with("# Drill debrief: "), "{md}");
    assert!(md.contains("Expectations"), "{md}");
    let html = ok(&server, &admin, &["drill", "debrief", cn, "--html"]);
    assert!(html.contains("<h1>Drill debrief"), "{html}");

    let listed = ok(&server, &admin, &["playbook", "list"]);
    let security = listed.lines().find(|l| l.starts_with("security")).unwrap();
    let today = palisade_core::comms::format_date(time::OffsetDateTime::now_utc().date());
    assert!(
        security.contains(&today) && security.contains(" ok "),
        "{listed}"
    );
}
