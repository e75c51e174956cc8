//! The scheduler, scoring on a scripted timeline, the debrief and "last tested".

use palisade_core::Timestamp;
use palisade_core::types::Role;
use palisade_training::debrief::Debrief;
use palisade_training::scenario::Scenario;
use palisade_training::schedule::{DrillRun, StepEvent, StepOutcome, due, next_due};
use palisade_training::score::{
    CommunicationEvent, DrillTimeline, EvidenceEvent, RefusalEvent, RoleEvent, score,
};
use palisade_training::tested::{self, Flag, PlaybookDates};
use std::collections::BTreeMap;

const SCENARIO: &str = r#"
id: scripted
title: Scripted drill
summary: For the tests.
playbook: security
declaration: { title: Odd, severity: SEV-2, kind: security }
injections:
  - { id: late, at: 30m, discovery: Late news. }
  - { id: early, at: 5m, discovery: Early news. }
  - { id: also-early, at: 5m, discovery: At the same time and listed later. }
  - { id: on-four, on_step: 4, discovery: Reached step 4. }
  - id: log
    at: 0m
    evidence: { name: a.log, content: "x\n" }
expectations:
  - { id: ic, points: 5, role: { role: incident_commander, within: 10m } }
  - { id: stop, points: 20, step_done: { step: 1, within: 30m } }
  - { id: cut, points: 15, step_done: { step: 2, within: 45m } }
  - { id: isolate-first, points: 10, order: { first: 4, then: 10 } }
  - { id: custody, points: 10, custody: { evidence: a.log } }
  - { id: cadence, points: 10, cadence: { audience: internal, every: 30m } }
  - { id: order, points: 10, respect_rule: { rule: step-prerequisites } }
  - { id: legal, points: 10, notify: { audience: legal, within: 72h } }
  - { id: waived-ok, points: 5, step_done: { step: 3, waiver_ok: true } }
"#;

fn scenario() -> Scenario {
    Scenario::from_yaml("scripted.yaml", SCENARIO).unwrap()
}
fn t(hhmm: &str) -> Timestamp {
    Timestamp::parse(&format!("2026-03-07T{hhmm}:00Z")).unwrap()
}
fn step(step: u32, at: &str, outcome: StepOutcome) -> StepEvent {
    StepEvent {
        step,
        at: t(at),
        outcome,
    }
}

#[test]
fn the_scheduler_releases_each_injection_once_in_the_order_it_fell_due() {
    let s = scenario();
    let mut run = DrillRun::new(&s, t("10:00"));
    let ids = |r: &[palisade_training::Release]| {
        r.iter().map(|x| x.injection.clone()).collect::<Vec<_>>()
    };
    let mut released = Vec::new();
    let mut steps = Vec::new();
    // (now, a step reached just before, expected releases)
    let script: Vec<(&str, Option<StepEvent>, Vec<&str>)> = vec![
        ("10:00", None, vec!["log"]),
        ("10:01", None, vec![]),
        ("10:07", None, vec!["early", "also-early"]),
        ("10:08", None, vec![]),
        (
            "10:20",
            Some(step(4, "10:19", StepOutcome::Started)),
            vec!["on-four"],
        ),
        ("10:25", Some(step(4, "10:24", StepOutcome::Done)), vec![]),
        ("10:45", None, vec!["late"]),
        ("11:45", None, vec![]),
    ];
    for (now, reached, expected) in script {
        steps.extend(reached);
        let r = due(&s, &run, &steps, t(now));
        assert_eq!(ids(&r), expected, "at {now}");
        assert!(r.iter().all(|x| x.released_at == t(now)));
        run.record(&r);
        run.record(&r); // recording twice changes nothing
        released.extend(ids(&r));
    }
    assert_eq!(released, ["log", "early", "also-early", "on-four", "late"]);
    assert_eq!(run.released.len(), 5);
    let on_four = run
        .released
        .iter()
        .find(|r| r.injection == "on-four")
        .unwrap();
    assert_eq!(
        on_four.due_at,
        t("10:19"),
        "due when the step was first reached"
    );
    let late = run.released.iter().find(|r| r.injection == "late").unwrap();
    assert_eq!(late.due_at, t("10:30"));
}

#[test]
fn a_timer_knows_the_next_timed_injection_and_steps_in_the_future_do_not_count() {
    let s = scenario();
    let run = DrillRun::new(&s, t("10:00"));
    assert_eq!(next_due(&s, &run, t("10:00")), Some(t("10:05")));
    assert_eq!(next_due(&s, &run, t("10:06")), Some(t("10:30")));
    assert_eq!(next_due(&s, &run, t("10:31")), None);
    let future = [step(4, "10:50", StepOutcome::Started)];
    let r = due(&s, &run, &future, t("10:10"));
    assert!(r.iter().all(|x| x.injection != "on-four"));
    // Serialisable, so the application can keep it.
    let json = serde_json::to_string(&run).unwrap();
    assert_eq!(serde_json::from_str::<DrillRun>(&json).unwrap(), run);
}

fn timeline() -> DrillTimeline {
    DrillTimeline {
        started_at: t("10:00"),
        ended_at: t("12:00"),
        steps: vec![
            step(1, "10:05", StepOutcome::Started),
            step(1, "10:24", StepOutcome::Done),
            step(2, "11:10", StepOutcome::Done), // late: 70m > 45m
            step(3, "10:15", StepOutcome::Waived),
            step(10, "11:30", StepOutcome::Done), // before step 4: order missed
            step(4, "11:40", StepOutcome::Done),
        ],
        refusals: vec![RefusalEvent {
            at: t("11:00"),
            rule: "step-prerequisites".into(),
            command: Some("complete step 10".into()),
        }],
        communications: vec![
            CommunicationEvent {
                at: t("10:20"),
                audience: "internal".into(),
            },
            CommunicationEvent {
                at: t("10:45"),
                audience: "Internal".into(),
            },
            CommunicationEvent {
                at: t("11:10"),
                audience: "internal".into(),
            },
            CommunicationEvent {
                at: t("11:35"),
                audience: "internal".into(),
            },
            CommunicationEvent {
                at: t("11:50"),
                audience: "legal".into(),
            },
        ],
        evidence: vec![EvidenceEvent {
            name: "a.log".into(),
            at: t("10:10"),
            custody_kept: true,
        }],
        roles: vec![RoleEvent {
            role: Role::IncidentCommander,
            at: t("10:03"),
        }],
    }
}

#[test]
fn a_scripted_timeline_meets_and_misses_the_expectations_it_should() {
    let s = scenario();
    let sc = score(&s, &timeline());
    let met: BTreeMap<&str, bool> = sc
        .expectations
        .iter()
        .map(|e| (e.id.as_str(), e.met))
        .collect();
    let expected = BTreeMap::from([
        ("ic", true),
        ("stop", true),
        ("cut", false),
        ("isolate-first", false),
        ("custody", true),
        ("cadence", true),
        ("order", false),
        ("legal", true),
        ("waived-ok", true),
    ]);
    assert_eq!(met, expected);
    assert_eq!(sc.total, 5 + 20 + 10 + 10 + 10 + 5);
    assert_eq!(sc.possible, 95);
    assert_eq!(
        sc.expectation("cut").unwrap().detail,
        "done after 1h 10m, later than 45m"
    );
    assert_eq!(
        sc.expectation("stop").unwrap().detail,
        "done after 24m 00s, within 30m"
    );
    assert_eq!(
        sc.expectation("isolate-first").unwrap().detail,
        "step 10 was done 10m 00s before step 4"
    );
    let step1 = sc.step(1).unwrap();
    assert_eq!(
        (step1.started_after, step1.settled_after),
        (Some(300), Some(1440))
    );
    assert!(sc.step(3).unwrap().waived);
    assert_eq!(sc.refusals.len(), 1);
    assert_eq!(sc.refusals[0].refusals, 1);
    assert_eq!(sc.cadence[0].updates, 4);
    assert_eq!(sc.cadence[0].longest_gap, 25 * 60);
    assert_eq!(sc.custody[0].kept, Some(true));
}

#[test]
fn cadence_gaps_custody_breaks_and_missing_roles_are_misses() {
    let s = scenario();
    let mut tl = timeline();
    tl.communications.retain(|c| c.at != t("10:45"));
    tl.evidence[0].custody_kept = false;
    tl.roles.clear();
    let sc = score(&s, &tl);
    let e = |id: &str| sc.expectation(id).unwrap().clone();
    assert!(!e("cadence").met);
    assert_eq!(
        e("cadence").detail,
        "3 updates to internal; longest gap 50m 00s, 1 interval(s) longer than 30m"
    );
    assert!(!e("custody").met);
    assert_eq!(e("custody").detail, "a.log recorded, but custody broke");
    assert!(!e("ic").met);
    assert_eq!(e("ic").detail, "no incident_commander was assigned");
}

#[test]
fn the_debrief_compares_with_expectations_and_earlier_runs_in_markdown_and_html() {
    let s = scenario();
    let mut earlier_tl = timeline();
    for e in &mut earlier_tl.steps {
        e.at = Timestamp(e.at.0 - time::Duration::days(30) + time::Duration::minutes(5));
    }
    earlier_tl.started_at = Timestamp(earlier_tl.started_at.0 - time::Duration::days(30));
    earlier_tl.ended_at = Timestamp(earlier_tl.ended_at.0 - time::Duration::days(30));
    earlier_tl.refusals.clear();
    let earlier = score(&s, &earlier_tl);
    let now = score(&s, &timeline());
    let titles: BTreeMap<u32, String> = palisade_core::Playbook::builtin_security()
        .steps
        .iter()
        .map(|s| (s.n, s.title.clone()))
        .collect();
    let d = Debrief {
        scenario: &s,
        score: &now,
        previous: std::slice::from_ref(&earlier),
        step_titles: &titles,
    };
    let md = d.markdown();
    assert!(md.starts_with("# Drill debrief: Scripted drill\n"), "{md}");
    assert!(
        md.contains("Score: 60 of 95 points (63%); 6 of 9 expectations met."),
        "{md}"
    );
    assert!(md.contains("| 1 | Stop the attack in progress | 5m 00s | 24m 00s | 29m 00s | 29m 00s | 5m 00s faster |"), "{md}");
    assert!(
        md.contains("| step-prerequisites | 1 | a step waits for"),
        "{md}"
    );
    assert!(
        md.contains("| 2026-03-07T10:00:00Z (this run) | 60/95 | 6/9 | 2h 00m |"),
        "{md}"
    );
    assert!(md.contains("15 points more than the last run."), "{md}");
    assert!(
        md.contains(
            "Met last time, missed this time: no command refused by rule step-prerequisites."
        ),
        "{md}"
    );
    let html = d.html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<td class=\"bad\">missed</td>"));
    assert!(!html.contains("<script"));
    // The first run has nothing to compare with.
    let first = Debrief { previous: &[], ..d }.markdown();
    assert!(first.contains("This is the first scored run of this scenario."));
}

#[test]
fn hostile_text_in_a_scenario_is_escaped_in_the_debrief() {
    let text = SCENARIO.replace(
        "title: Scripted drill",
        "title: \"<script>alert(1)</script> | *x*\"",
    );
    let s = Scenario::from_yaml("x.yaml", &text).unwrap();
    let sc = score(&s, &timeline());
    let titles = BTreeMap::new();
    let d = Debrief {
        scenario: &s,
        score: &sc,
        previous: &[],
        step_titles: &titles,
    };
    assert!(!d.html().contains("<script>"));
    assert!(d.html().contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        d.markdown()
            .starts_with("# Drill debrief: &lt;script&gt;alert(1)&lt;/script&gt; \\| \\*x\\*\n")
    );
}

#[test]
fn playbooks_not_tested_within_the_period_are_flagged() {
    let today = time::macros::date!(2026 - 12 - 07);
    let pb = |id: &str, reviewed: Option<&str>, tested: Option<&str>| PlaybookDates {
        id: id.into(),
        name: id.into(),
        last_reviewed: reviewed.map(String::from),
        last_tested: tested.map(String::from),
    };
    let books = [
        pb("fresh", Some("2026-11-01"), Some("2026-10-01")),
        pb("edge", None, Some("2026-06-10")), // + 180 days = 2026-12-07: still good today
        pb("stale", None, Some("2026-06-09")),
        pb("never", Some("2026-11-26"), None),
        pb("garbled", None, Some("last spring")),
    ];
    let all = tested::check(&books, tested::DEFAULT_PERIOD_DAYS, today);
    assert_eq!(all[0].flag, None);
    assert!(all[0].reviewed_since_tested);
    assert_eq!(all[1].flag, None);
    assert_eq!(all[1].due, Some(today));
    assert!(matches!(
        all[2].flag,
        Some(Flag::Overdue {
            days_overdue: 1,
            ..
        })
    ));
    assert_eq!(all[3].flag, Some(Flag::NeverTested));
    assert!(matches!(all[4].flag, Some(Flag::UnreadableDate { .. })));
    let flagged: Vec<String> = tested::untested(&books, 180, today)
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(flagged, ["stale", "never", "garbled"]);
    assert_eq!(
        all[2].describe(),
        "stale was last tested on 2026-06-09, 1 day(s) overdue"
    );
    // The built-in playbook, read through the core's own parser.
    let builtin = PlaybookDates::from(&palisade_core::Playbook::builtin_security());
    assert_eq!(
        tested::check(&[builtin], 180, today)[0].flag,
        Some(Flag::NeverTested)
    );
}
