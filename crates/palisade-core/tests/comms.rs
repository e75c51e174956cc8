//! Communications and postmortem rules, each proven by a test: a refused command names its rule
//! and writes nothing. Plus the time-dependent flags (cadence, deadlines, postmortem due dates)
//! as data-driven tables, and the postmortem draft.

use palisade_core::Context;
use palisade_core::chain::canonical_event;
use palisade_core::comms::CommsCommand;
use palisade_core::comms::{self, Audience, CommsPolicy, DeadlineDef, GDPR_ART_33};
use palisade_core::event::Event;
use palisade_core::incident::{Command, Declaration, IncidentState, declare, events_for, rules};
use palisade_core::postmortem::PostmortemCommand;
use palisade_core::postmortem::{self, PostmortemStatus};
use palisade_core::{
    AccountRole, Actor, Kind, Payload, Playbook, Role, Severity, Status, Timestamp, UserName,
};
use uuid::Uuid;

const T0: &str = "2026-11-26T03:00:00Z";

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}
fn user(s: &str) -> UserName {
    UserName::parse(s).unwrap()
}
fn responder(s: &str) -> Actor {
    Actor {
        user: user(s),
        account_role: AccountRole::Responder,
    }
}
fn plus_minutes(t: Timestamp, m: i64) -> Timestamp {
    Timestamp(t.0 + time::Duration::minutes(m))
}

struct Harness {
    state: IncidentState,
    events: Vec<Event>,
    policy: CommsPolicy,
    /// Minutes after T0 of the next event.
    clock: i64,
}

impl Harness {
    fn new(severity: Severity) -> Harness {
        let payload = declare(
            Declaration {
                title: "Suspicious logins on the admin console".into(),
                kind: Kind::Security,
                severity,
                restricted: None,
                summary: Some("Credential stuffing against the admin console.".into()),
                playbook: Playbook::builtin_security(),
            },
            "amber-falcon".into(),
        )
        .unwrap();
        let events = events_for(
            Uuid::from_u128(42),
            0,
            &user("dana"),
            ts(T0),
            None,
            vec![payload],
        );
        Harness {
            state: IncidentState::fold(&events).unwrap(),
            events,
            policy: CommsPolicy::default(),
            clock: 0,
        }
    }

    /// With dana as IC.
    fn with_commander(severity: Severity) -> (Harness, Actor) {
        let mut h = Harness::new(severity);
        let ic = responder("dana");
        h.ok(
            &ic,
            Command::AssignRole {
                user: user("dana"),
                role: Role::IncidentCommander,
            },
        );
        (h, ic)
    }

    /// The IC gives `who` a role: only members change a restricted incident.
    fn member(&mut self, ic: &Actor, who: &str, role: Role) {
        self.ok(
            ic,
            Command::AssignRole {
                user: user(who),
                role,
            },
        );
    }

    fn now(&self) -> Timestamp {
        plus_minutes(ts(T0), self.clock)
    }

    fn run(&mut self, actor: &Actor, cmd: Command) -> Result<(), palisade_core::Refusal> {
        let payloads = self.state.decide(
            actor,
            &cmd,
            &Context {
                now: self.now(),
                policy: &self.policy,
            },
        )?;
        self.clock += 1;
        let new = events_for(
            self.state.id,
            self.state.last_seq,
            &actor.user,
            self.now(),
            None,
            payloads,
        );
        for e in &new {
            self.state.apply(e).unwrap();
        }
        self.events.extend(new);
        Ok(())
    }

    fn ok(&mut self, actor: &Actor, cmd: Command) {
        if let Err(e) = self.run(actor, cmd) {
            panic!("command refused: {e}");
        }
    }

    fn refused(&mut self, actor: &Actor, cmd: Command, rule: palisade_core::Rule) -> String {
        let before = self.events.len();
        let state_before = self.state.clone();
        let err = self.run(actor, cmd).expect_err("command should be refused");
        assert_eq!(err.rule, rule, "wrong rule: {err}");
        assert_eq!(self.events.len(), before, "a refused command wrote events");
        assert_eq!(self.state, state_before, "a refused command changed state");
        err.message
    }

    fn resolve(&mut self, ic: &Actor) {
        for step in 1..=10 {
            self.ok(ic, Command::CompleteStep { step, note: None });
        }
        self.ok(
            ic,
            Command::Resolve {
                summary: "Attacker locked out, credentials rotated.".into(),
            },
        );
    }
}

fn draft(statement: Option<u32>, body: &str) -> Command {
    Command::Comms(CommsCommand::DraftStatement {
        statement,
        title: "Security incident affecting admin logins".into(),
        body: body.into(),
    })
}
fn approve(statement: u32, revision: Option<u32>) -> Command {
    Command::Comms(CommsCommand::ApproveStatement {
        statement,
        revision,
        note: None,
    })
}
fn publish(statement: u32) -> Command {
    Command::Comms(CommsCommand::PublishStatement {
        statement,
        date: time::macros::date!(2026 - 11 - 27),
    })
}

#[test]
fn approval_is_refused_while_the_draft_contains_an_avoided_phrase() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV1);
    h.ok(
        &ic,
        draft(
            None,
            "At Acme we take security\n very   Seriously. On 26 November …",
        ),
    );
    let msg = h.refused(&ic, approve(1, None), rules::AVOIDED_PHRASE);
    assert!(msg.contains("we take security very seriously"), "{msg}");
    // The list is the configured one.
    h.policy.avoid_phrases = vec!["on 26 november".into()];
    h.refused(&ic, approve(1, None), rules::AVOIDED_PHRASE);
    h.policy = CommsPolicy::default();
    h.ok(
        &ic,
        draft(
            Some(1),
            "On 26 November an attacker used stolen passwords to sign in to 14 admin accounts.",
        ),
    );
    h.ok(&ic, approve(1, Some(2)));
    // External updates are checked against the same list; internal ones are not.
    h.refused(
        &ic,
        Command::ExternalUpdate {
            message: "We take security very seriously and are investigating.".into(),
        },
        rules::AVOIDED_PHRASE,
    );
    h.ok(
        &ic,
        Command::UpdateStatus {
            status: None,
            message: Some("we take security very seriously, says the draft".into()),
        },
    );
}

#[test]
fn only_the_commander_approves_a_statement_and_only_its_latest_revision() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV1);
    h.member(&ic, "sam", Role::SubjectMatterExpert);
    h.ok(&responder("sam"), draft(None, "First draft."));
    let msg = h.refused(&responder("sam"), approve(1, None), rules::COMMANDER_ONLY);
    assert!(msg.contains("dana"), "{msg}");
    h.ok(&responder("sam"), draft(Some(1), "Second draft."));
    let msg = h.refused(&ic, approve(1, Some(1)), rules::INVALID_TRANSITION);
    assert!(msg.contains("revision 2"), "{msg}");
    h.refused(&ic, approve(2, None), rules::UNKNOWN_REFERENCE);
    h.ok(&ic, approve(1, Some(2)));
    h.refused(&ic, approve(1, None), rules::INVALID_TRANSITION);
}

#[test]
fn a_statement_is_published_only_with_the_commanders_approval_of_that_exact_revision() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV1);
    h.member(&ic, "sam", Role::SubjectMatterExpert);
    let comms = responder("sam");
    h.ok(
        &comms,
        draft(None, "What happened, what it means, what to do."),
    );
    let msg = h.refused(&comms, publish(1), rules::STATEMENT_APPROVAL_REQUIRED);
    assert!(msg.contains("has not approved"), "{msg}");
    h.ok(&ic, approve(1, None));
    // A revision after the approval needs a new approval.
    h.ok(
        &comms,
        draft(Some(1), "What happened (now with the scope), …"),
    );
    let msg = h.refused(&comms, publish(1), rules::STATEMENT_APPROVAL_REQUIRED);
    assert!(msg.contains("approved revision 1"), "{msg}");
    h.ok(&ic, approve(1, None));
    h.ok(&comms, publish(1));
    let s = h.state.comms.statement(1).unwrap();
    let published = s.published.as_ref().unwrap();
    assert_eq!(published.revision, 2);
    assert_eq!(
        published.title.as_deref(),
        Some("2026-11-27: Security incident affecting admin logins")
    );
    assert!(matches!(
        &h.events.last().unwrap().data,
        Payload::StatementPublished { date, .. } if date == "2026-11-27"
    ));
    // Published is final: a follow-up is a new statement.
    h.refused(&comms, publish(1), rules::INVALID_TRANSITION);
    h.refused(&comms, draft(Some(1), "x"), rules::INVALID_TRANSITION);
    h.ok(&comms, draft(None, "Follow-up."));
    assert_eq!(h.state.comms.statements.len(), 2);
    // The step-14 rule is untouched: the playbook approval is still needed for the step.
    h.refused(
        &ic,
        Command::CompleteStep {
            step: 14,
            note: None,
        },
        rules::STEP_PREREQUISITES,
    );
}

#[test]
fn statements_need_a_title_and_a_body() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV2);
    h.refused(
        &ic,
        Command::Comms(CommsCommand::DraftStatement {
            statement: None,
            title: " ".into(),
            body: "b".into(),
        }),
        rules::INVALID_INPUT,
    );
    h.refused(&ic, draft(None, ""), rules::INVALID_INPUT);
    h.refused(&ic, draft(None, &"x".repeat(10_001)), rules::INVALID_INPUT);
}

#[test]
fn awareness_starts_the_configured_deadlines_and_they_are_met_once() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV1);
    let msg = h.refused(
        &ic,
        Command::Comms(CommsCommand::MeetDeadline {
            name: GDPR_ART_33.into(),
            note: None,
        }),
        rules::UNKNOWN_REFERENCE,
    );
    assert!(msg.contains("aware"), "{msg}");
    h.policy.deadlines.push(DeadlineDef {
        name: "NIS2 early warning".into(),
        hours: 24,
    });
    h.ok(
        &ic,
        Command::Comms(CommsCommand::RecordAwareness {
            aware_at: ts("2026-11-26T02:30:00+01:00"),
            note: None,
        }),
    );
    // The deadlines in force are recorded in the ledger: a later policy change does not move them.
    h.policy = CommsPolicy::default();
    assert_eq!(h.state.comms.deadlines.len(), 2);
    // Changing the time needs a note.
    h.refused(
        &ic,
        Command::Comms(CommsCommand::RecordAwareness {
            aware_at: ts("2026-11-26T01:00:00Z"),
            note: None,
        }),
        rules::INVALID_INPUT,
    );
    h.refused(
        &ic,
        Command::Comms(CommsCommand::MeetDeadline {
            name: "CCPA".into(),
            note: None,
        }),
        rules::UNKNOWN_REFERENCE,
    );
    h.ok(
        &ic,
        Command::Comms(CommsCommand::MeetDeadline {
            name: "NIS2 early warning".into(),
            note: Some("CSIRT ticket 4411".into()),
        }),
    );
    h.refused(
        &ic,
        Command::Comms(CommsCommand::MeetDeadline {
            name: "NIS2 early warning".into(),
            note: None,
        }),
        rules::INVALID_TRANSITION,
    );
}

#[test]
fn deadlines_show_time_remaining_and_go_overdue() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV1);
    h.ok(
        &ic,
        Command::Comms(CommsCommand::RecordAwareness {
            aware_at: ts("2026-11-26T02:00:00Z"),
            note: None,
        }),
    );
    // (now, seconds remaining, overdue)
    let cases = [
        ("2026-11-26T02:00:00Z", 72 * 3600, false),
        ("2026-11-28T02:00:00Z", 24 * 3600, false),
        ("2026-11-29T01:59:00+00:00", 60, false),
        ("2026-11-29T03:00:00+01:00", 0, false), // the same instant in another offset
        ("2026-11-29T02:00:01Z", -1, true),
        ("2026-12-01T02:00:00Z", -48 * 3600, true),
    ];
    for (now, remaining, overdue) in cases {
        let d = &comms::deadline_status(&h.state, ts(now))[0];
        assert_eq!(d.name, GDPR_ART_33);
        assert_eq!(d.due, ts("2026-11-29T02:00:00Z"));
        assert_eq!(d.seconds_remaining, Some(remaining), "{now}");
        assert_eq!(d.overdue, overdue, "{now}");
    }
    // Met (late): no longer overdue, no time remaining, flagged late.
    h.clock = 4 * 24 * 60;
    h.ok(
        &ic,
        Command::Comms(CommsCommand::MeetDeadline {
            name: GDPR_ART_33.into(),
            note: None,
        }),
    );
    let d = &comms::deadline_status(&h.state, ts("2026-12-05T00:00:00Z"))[0];
    assert_eq!(
        (d.overdue, d.seconds_remaining, d.met_late),
        (false, None, true)
    );
}

#[test]
fn updates_are_due_on_a_cadence_per_severity_while_the_incident_is_open() {
    // (severity, minutes after declaration of the last internal update or None, minutes now,
    //  expected every, expected overdue)
    type Case = (u8, Option<i64>, i64, Option<u32>, bool);
    let cases: [Case; 7] = [
        (1, None, 29, Some(30), false),
        (1, None, 31, Some(30), true),
        (2, Some(20), 49, Some(30), false),
        (2, Some(20), 51, Some(30), true),
        (3, Some(10), 69, Some(60), false),
        (3, Some(10), 71, Some(60), true),
        (4, None, 10_000, None, false),
    ];
    for (sev, last, now, every, overdue) in cases {
        let mut h = Harness::new(Severity::new(sev).unwrap());
        if let Some(m) = last {
            h.clock = m - 1;
            h.ok(
                &responder("dana"),
                Command::UpdateStatus {
                    status: None,
                    message: Some("still investigating".into()),
                },
            );
        }
        let c = comms::cadence_status(
            &h.state,
            &h.policy,
            Audience::Internal,
            plus_minutes(ts(T0), now),
        );
        assert_eq!(c.every_minutes, every, "SEV-{sev}");
        assert_eq!(c.overdue, overdue, "SEV-{sev} last {last:?} now +{now}m");
        if let (Some(m), Some(e)) = (last, every) {
            assert_eq!(c.next_due, Some(plus_minutes(ts(T0), m + i64::from(e))));
        }
        // External updates have no cadence by default and do not reset the internal one.
        let x = comms::cadence_status(&h.state, &h.policy, Audience::External, ts(T0));
        assert_eq!((x.every_minutes, x.overdue), (None, false));
    }
    // A resolved incident is never overdue.
    let (mut h, ic) = Harness::with_commander(Severity::SEV1);
    h.resolve(&ic);
    let c = comms::cadence_status(
        &h.state,
        &h.policy,
        Audience::Internal,
        ts("2027-01-01T00:00:00Z"),
    );
    assert!(!c.overdue && c.next_due.is_none());
    // A configured external cadence counts external updates only.
    let (mut h, ic) = Harness::with_commander(Severity::SEV1);
    h.policy.cadence.external.insert(Severity::SEV1, 60);
    h.ok(
        &ic,
        Command::ExternalUpdate {
            message: "We are investigating sign-in problems.".into(),
        },
    );
    let now = plus_minutes(ts(T0), 45);
    assert!(comms::cadence_status(&h.state, &h.policy, Audience::Internal, now).overdue);
    assert!(!comms::cadence_status(&h.state, &h.policy, Audience::External, now).overdue);
}

#[test]
fn internal_updates_keep_their_old_encoding() {
    // Events recorded before audiences existed must hash the same: an internal update has no
    // `audience` field; an external one has.
    let (mut h, ic) = Harness::with_commander(Severity::SEV2);
    h.ok(
        &ic,
        Command::UpdateStatus {
            status: Some(Status::Investigating),
            message: Some("on it".into()),
        },
    );
    let text = canonical_event(h.events.last().unwrap()).unwrap();
    assert!(
        text.contains(
            r#""data":{"message":"on it","status":"investigating","type":"status_updated"}"#
        ),
        "{text}"
    );
    h.ok(
        &ic,
        Command::ExternalUpdate {
            message: "We are investigating.".into(),
        },
    );
    let text = canonical_event(h.events.last().unwrap()).unwrap();
    assert!(text.contains(r#""audience":"external""#), "{text}");
    let old: Event =
        serde_json::from_str(&canonical_event(&h.events[h.events.len() - 2]).unwrap()).unwrap();
    assert!(matches!(
        old.data,
        Payload::StatusUpdated { audience: None, .. }
    ));
}

#[test]
fn the_postmortem_starts_at_resolution_and_moves_forward_one_status_at_a_time() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV2);
    h.member(&ic, "sam", Role::SubjectMatterExpert);
    let to = |status| Command::Postmortem(PostmortemCommand::SetStatus { status });
    let msg = h.refused(
        &ic,
        to(PostmortemStatus::InReview),
        rules::POSTMORTEM_NOT_STARTED,
    );
    assert!(msg.contains("resolved"), "{msg}");
    h.resolve(&ic);
    assert_eq!(
        h.state.postmortem.status(&h.state),
        Some(PostmortemStatus::Draft)
    );
    let msg = h.refused(
        &ic,
        to(PostmortemStatus::Closed),
        rules::POSTMORTEM_FORWARD_ONLY,
    );
    assert!(msg.contains("next is in_review"), "{msg}");
    h.refused(
        &ic,
        to(PostmortemStatus::Draft),
        rules::POSTMORTEM_FORWARD_ONLY,
    );
    h.ok(&responder("sam"), to(PostmortemStatus::InReview));
    h.refused(
        &ic,
        to(PostmortemStatus::InReview),
        rules::POSTMORTEM_FORWARD_ONLY,
    );
    // Reviewed and closed are the IC's decisions.
    h.refused(
        &responder("sam"),
        to(PostmortemStatus::Reviewed),
        rules::COMMANDER_ONLY,
    );
    h.ok(&ic, to(PostmortemStatus::Reviewed));
    // Postmortem work goes on after the incident is closed; nothing else does.
    h.ok(&ic, Command::Close { note: None });
    h.ok(
        &ic,
        Command::Postmortem(PostmortemCommand::AddActionItem {
            title: "Rate-limit admin logins".into(),
            owner: user("sam"),
            due: Some("2026-12-15".into()),
        }),
    );
    h.refused(
        &ic,
        Command::ExternalUpdate {
            message: "late".into(),
        },
        rules::INCIDENT_CLOSED,
    );
    h.ok(&ic, to(PostmortemStatus::Closed));
    h.refused(
        &ic,
        to(PostmortemStatus::Closed),
        rules::POSTMORTEM_FORWARD_ONLY,
    );
    h.refused(
        &ic,
        Command::Postmortem(PostmortemCommand::AddActionItem {
            title: "too late".into(),
            owner: user("sam"),
            due: None,
        }),
        rules::INVALID_TRANSITION,
    );
    // Action items can still be completed.
    h.ok(
        &responder("sam"),
        Command::Postmortem(PostmortemCommand::CompleteActionItem {
            item: 1,
            note: Some("deployed".into()),
        }),
    );
}

#[test]
fn action_items_have_owners_valid_due_dates_and_are_done_once() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV2);
    h.member(&ic, "sam", Role::SubjectMatterExpert);
    h.member(&ic, "lee", Role::SubjectMatterExpert);
    h.refused(
        &ic,
        Command::Postmortem(PostmortemCommand::AddActionItem {
            title: "x".into(),
            owner: user("sam"),
            due: Some("next week".into()),
        }),
        rules::INVALID_INPUT,
    );
    h.refused(
        &ic,
        Command::Postmortem(PostmortemCommand::AddActionItem {
            title: "  ".into(),
            owner: user("sam"),
            due: None,
        }),
        rules::INVALID_INPUT,
    );
    h.refused(
        &ic,
        Command::Postmortem(PostmortemCommand::CompleteActionItem {
            item: 1,
            note: None,
        }),
        rules::UNKNOWN_REFERENCE,
    );
    h.ok(
        &ic,
        Command::Postmortem(PostmortemCommand::AddActionItem {
            title: "Enforce MFA for admins".into(),
            owner: user("lee"),
            due: None,
        }),
    );
    h.ok(
        &responder("lee"),
        Command::Postmortem(PostmortemCommand::CompleteActionItem {
            item: 1,
            note: None,
        }),
    );
    h.refused(
        &ic,
        Command::Postmortem(PostmortemCommand::CompleteActionItem {
            item: 1,
            note: None,
        }),
        rules::INVALID_TRANSITION,
    );
    let a = &h.state.postmortem.action_items[0];
    assert_eq!(
        (a.owner.as_str(), a.done_by.as_ref().map(|u| u.as_str())),
        ("lee", Some("lee"))
    );
}

#[test]
fn postmortem_due_dates_and_overdue_flag() {
    // Resolved Friday 2026-11-27 around 03:30 UTC (the harness clock).
    for (sev, due) in [
        (1, Some("2026-11-30")), // 3 calendar days: Monday
        (2, Some("2026-12-04")), // 5 business days: next Friday
        (3, None),
    ] {
        let (mut h, ic) = Harness::with_commander(Severity::new(sev).unwrap());
        h.clock = 24 * 60 + 30 - 11;
        h.resolve(&ic);
        let resolved = h.state.resolved_at.unwrap();
        assert_eq!(resolved, ts("2026-11-27T03:30:00Z"));
        let s = postmortem::summary(&h.state, resolved);
        assert_eq!(
            s.due.map(|d| d.to_string()[..10].to_string()).as_deref(),
            due,
            "SEV-{sev}"
        );
        assert_eq!(s.required, sev <= 2);
        let later = ts("2026-12-10T00:00:00Z");
        assert_eq!(postmortem::summary(&h.state, later).overdue, due.is_some());
        assert!(!postmortem::summary(&h.state, resolved).overdue);
    }
}

#[test]
fn the_postmortem_draft_has_the_timeline_steps_roles_metrics_and_action_items() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV1);
    h.ok(
        &ic,
        Command::AssignRole {
            user: user("sam"),
            role: Role::Scribe,
        },
    );
    h.ok(&ic, Command::StartStep { step: 1 });
    h.ok(
        &ic,
        Command::AddNote {
            text: "attacker | IP 198.51.100.7".into(),
        },
    );
    h.ok(
        &ic,
        Command::Postmortem(PostmortemCommand::AddActionItem {
            title: "Rotate the admin console's session keys".into(),
            owner: user("sam"),
            due: Some("2026-12-01".into()),
        }),
    );
    h.resolve(&ic);
    let now = h.now();
    let md = postmortem::render_markdown(&h.state, &h.events, &h.policy, now);
    for want in [
        "# Postmortem: amber-falcon — Suspicious logins on the admin console",
        "## Timeline",
        "| # | occurred | recorded | by | event |",
        "attacker \\| IP 198.51.100.7",
        "| 14 | External communication | pending |",
        "| 1 | Stop the attack in progress | done |",
        "| sam | scribe |",
        "| dana | incident_commander |",
        "| Time to acknowledge | 1m |",
        "| Time to contain | 7m |",
        "| Time to resolve | 16m |",
        "| 1 | Rotate the admin console's session keys | sam | 2026-12-01 | open |",
        "## What went well",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    // Every ledger event appears in the timeline.
    for e in &h.events {
        assert!(
            md.contains(&format!("| {} | ", e.seq)),
            "event {} missing",
            e.seq
        );
    }
    let r = postmortem::report(&h.state, &h.events, now);
    assert_eq!(r.metrics.time_to_resolve.seconds, Some(16 * 60));
    assert_eq!(r.postmortem.status, Some(PostmortemStatus::Draft));
}

#[test]
fn metrics_follow_corrected_times() {
    let (mut h, ic) = Harness::with_commander(Severity::SEV1);
    h.resolve(&ic);
    let resolved_seq = h.state.last_seq;
    h.ok(
        &ic,
        Command::Correct {
            supersedes: resolved_seq,
            reason: "resolved earlier, recorded late".into(),
            occurred_at: Some(ts("2026-11-26T03:05:00Z")),
            text: None,
        },
    );
    let m = postmortem::metrics(&h.state, &h.events);
    assert_eq!(m.time_to_resolve.seconds, Some(5 * 60));
}
