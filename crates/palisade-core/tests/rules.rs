//! The process rules of the built-in security playbook, each proven by a test: the refused command
//! names its rule and produces no events; the allowed path produces exactly the expected events.

use palisade_core::comms::CommsPolicy;
use palisade_core::event::Event;
use palisade_core::incident::{Command, Declaration, IncidentState, declare, events_for, rules};
use palisade_core::{
    AccountRole, Actor, Context, Kind, Playbook, Role, Severity, Status, Timestamp, UserName,
};
use uuid::Uuid;

struct Harness {
    state: IncidentState,
    events: Vec<Event>,
    clock: i64,
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

impl Harness {
    fn security() -> Harness {
        Harness::with(Kind::Security, Playbook::builtin_security())
    }
    fn with(kind: Kind, playbook: Playbook) -> Harness {
        let payload = declare(
            Declaration {
                title: "Suspicious logins on the admin console".into(),
                kind,
                severity: Severity::SEV2,
                restricted: None,
                summary: None,
                playbook,
            },
            "amber-falcon".into(),
        )
        .unwrap();
        let at = Timestamp::parse("2026-11-26T03:00:00Z").unwrap();
        let events = events_for(
            Uuid::from_u128(42),
            0,
            &user("dana"),
            at,
            None,
            vec![payload],
        );
        let state = IncidentState::fold(&events).unwrap();
        Harness {
            state,
            events,
            clock: 0,
        }
    }

    /// Run a command as `actor`; on success append and apply its events.
    fn run(&mut self, actor: &Actor, cmd: Command) -> Result<(), palisade_core::Refusal> {
        let payloads = self.state.decide(
            actor,
            &cmd,
            &Context {
                now: Timestamp::parse("2026-11-26T03:00:00Z").unwrap(),
                policy: &CommsPolicy::default(),
            },
        )?;
        self.clock += 60;
        let at = Timestamp(
            Timestamp::parse("2026-11-26T03:00:00Z").unwrap().0
                + time::Duration::seconds(self.clock),
        );
        let new = events_for(
            self.state.id,
            self.state.last_seq,
            &actor.user,
            at,
            None,
            payloads,
        );
        for e in &new {
            self.state.apply(e).unwrap();
        }
        self.events.extend(new);
        Ok(())
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

    fn ok(&mut self, actor: &Actor, cmd: Command) {
        if let Err(e) = self.run(actor, cmd) {
            panic!("command refused: {e}");
        }
    }

    fn with_commander() -> (Harness, Actor) {
        let mut h = Harness::security();
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
}

fn done(step: u32) -> Command {
    Command::CompleteStep { step, note: None }
}
fn waive(step: u32, reason: &str) -> Command {
    Command::WaiveStep {
        step,
        reason: reason.into(),
    }
}

#[test]
fn security_incidents_are_restricted_to_members_by_default() {
    let h = Harness::security();
    assert!(h.state.restricted);
    assert!(
        h.state.visible_to(&user("dana")),
        "the declarer is a member"
    );
    assert!(!h.state.visible_to(&user("eve")));
    let ops = Harness::with(Kind::Operational, Playbook::builtin_operational());
    assert!(!ops.state.restricted);
    assert!(ops.state.visible_to(&user("eve")));
}

#[test]
fn no_step_is_done_before_a_commander_is_assigned() {
    let mut h = Harness::security();
    let dana = responder("dana");
    let msg = h.refused(&dana, done(1), rules::COMMANDER_REQUIRED);
    assert!(msg.contains("Incident Commander"), "{msg}");
    // Starting a step is allowed: work begins before the IC is named.
    h.ok(&dana, Command::StartStep { step: 1 });
    h.ok(
        &dana,
        Command::AssignRole {
            user: user("dana"),
            role: Role::IncidentCommander,
        },
    );
    h.ok(&dana, done(1));
    assert_eq!(h.state.status, Status::Investigating);
}

#[test]
fn forensics_waits_for_steps_1_2_4_and_9() {
    let (mut h, ic) = Harness::with_commander();
    let msg = h.refused(&ic, done(10), rules::STEP_PREREQUISITES);
    assert!(msg.contains("1, 2, 4, 9"), "{msg}");
    for s in [1, 2, 4] {
        h.ok(&ic, done(s));
    }
    let msg = h.refused(&ic, done(10), rules::STEP_PREREQUISITES);
    assert!(msg.contains("step(s) 9 "), "{msg}");
    // A waiver by the IC with a reason settles a prerequisite.
    h.ok(
        &ic,
        waive(9, "monitoring already in place from a previous incident"),
    );
    h.ok(&ic, done(10));
}

#[test]
fn internal_communication_waits_for_forensics_done_not_waived() {
    let (mut h, ic) = Harness::with_commander();
    h.refused(&ic, done(11), rules::STEP_PREREQUISITES);
    for s in [1, 2, 4, 9] {
        h.ok(&ic, done(s));
    }
    h.ok(&ic, waive(10, "no host access"));
    let msg = h.refused(&ic, done(11), rules::STEP_PREREQUISITES);
    assert!(msg.contains("waiver does not count"), "{msg}");
}

#[test]
fn external_communication_needs_timeline_scope_and_ic_approval() {
    let (mut h, ic) = Harness::with_commander();
    let scribe = responder("sam");
    h.ok(
        &ic,
        Command::AssignRole {
            user: user("sam"),
            role: Role::Scribe,
        },
    );
    let msg = h.refused(&ic, done(14), rules::STEP_PREREQUISITES);
    assert!(msg.contains("5, 6"), "{msg}");
    h.ok(&ic, done(5));
    h.ok(&ic, waive(6, "no data involved"));
    h.refused(&ic, done(14), rules::STEP_PREREQUISITES);
    // A fresh incident: 5 and 6 done, then the approval is still missing.
    let (mut h, ic) = Harness::with_commander();
    h.ok(&ic, done(5));
    h.ok(&ic, done(6));
    let msg = h.refused(&ic, done(14), rules::APPROVAL_REQUIRED);
    assert!(msg.contains("external-communication"), "{msg}");
    // Only the IC may approve.
    h.ok(
        &ic,
        Command::AssignRole {
            user: user("sam"),
            role: Role::Scribe,
        },
    );
    h.refused(
        &scribe,
        Command::Approve {
            approval: "external-communication".into(),
            note: None,
        },
        rules::COMMANDER_ONLY,
    );
    h.ok(
        &ic,
        Command::Approve {
            approval: "external-communication".into(),
            note: Some("facts validated".into()),
        },
    );
    h.ok(&ic, done(14));
}

#[test]
fn resolving_needs_steps_1_to_10_settled_by_the_ic() {
    let (mut h, ic) = Harness::with_commander();
    let summary = || Command::Resolve {
        summary: "credential stuffing stopped".into(),
    };
    let msg = h.refused(&ic, summary(), rules::RESOLVE_PREREQUISITES);
    assert!(msg.contains("1, 2, 3, 4, 5, 6, 7, 8, 9, 10"), "{msg}");
    for s in 1..=9 {
        h.ok(&ic, done(s));
    }
    // Only the IC may waive, and only with a reason.
    h.refused(&responder("sam"), waive(10, "x"), rules::COMMANDER_ONLY);
    h.refused(&ic, waive(10, "  "), rules::INVALID_INPUT);
    h.refused(&ic, summary(), rules::RESOLVE_PREREQUISITES);
    h.ok(&ic, waive(10, "handled by the vendor's forensics team"));
    h.refused(&responder("sam"), summary(), rules::COMMANDER_ONLY);
    h.ok(&ic, summary());
    assert_eq!(h.state.status, Status::Resolved);
    h.ok(&ic, Command::Close { note: None });
    assert_eq!(h.state.status, Status::Closed);
    // A closed incident accepts only corrections.
    h.refused(
        &ic,
        Command::AddNote {
            text: "late note".into(),
        },
        rules::INCIDENT_CLOSED,
    );
    h.ok(
        &ic,
        Command::Correct {
            supersedes: 3,
            reason: "step 1 was done at 02:50, reported late".into(),
            occurred_at: Some(Timestamp::parse("2026-11-26T02:50:00Z").unwrap()),
            text: None,
        },
    );
}

#[test]
fn once_there_is_a_commander_only_the_commander_assigns_roles() {
    let (mut h, ic) = Harness::with_commander();
    h.refused(
        &responder("eve"),
        Command::AssignRole {
            user: user("eve"),
            role: Role::Deputy,
        },
        rules::COMMANDER_ONLY,
    );
    // Handing over command moves the role; there is only ever one IC.
    h.ok(
        &ic,
        Command::AssignRole {
            user: user("lee"),
            role: Role::IncidentCommander,
        },
    );
    assert_eq!(h.state.commander(), Some(&user("lee")));
    assert!(!h.state.has_role(&user("dana"), Role::IncidentCommander));
    // Admins may reassign command when the IC is unreachable.
    let admin = Actor {
        user: user("root"),
        account_role: AccountRole::Admin,
    };
    h.ok(
        &admin,
        Command::AssignRole {
            user: user("dana"),
            role: Role::IncidentCommander,
        },
    );
    assert_eq!(h.state.commander(), Some(&user("dana")));
}

#[test]
fn viewers_cannot_change_anything() {
    let mut h = Harness::security();
    let viewer = Actor {
        user: user("dana"),
        account_role: AccountRole::Viewer,
    };
    h.refused(
        &viewer,
        Command::AddNote { text: "hi".into() },
        rules::READ_ONLY,
    );
}

#[test]
fn invalid_transitions_and_references_are_refused() {
    let (mut h, ic) = Harness::with_commander();
    h.refused(&ic, done(15), rules::UNKNOWN_REFERENCE);
    h.ok(&ic, done(1));
    h.refused(&ic, done(1), rules::INVALID_TRANSITION);
    h.refused(
        &ic,
        Command::StartStep { step: 1 },
        rules::INVALID_TRANSITION,
    );
    h.refused(
        &ic,
        Command::UpdateStatus {
            status: Some(Status::Resolved),
            message: None,
        },
        rules::INVALID_TRANSITION,
    );
    h.refused(
        &ic,
        Command::Close { note: None },
        rules::INVALID_TRANSITION,
    );
    h.refused(
        &ic,
        Command::ChangeSeverity {
            to: Severity::SEV2,
            reason: None,
        },
        rules::INVALID_TRANSITION,
    );
    h.refused(
        &ic,
        Command::Correct {
            supersedes: 99,
            reason: "x".into(),
            occurred_at: None,
            text: Some("y".into()),
        },
        rules::UNKNOWN_REFERENCE,
    );
    h.refused(
        &ic,
        Command::Approve {
            approval: "launch-missiles".into(),
            note: None,
        },
        rules::UNKNOWN_REFERENCE,
    );
}

#[test]
fn corrections_keep_both_the_record_and_the_correction() {
    let (mut h, ic) = Harness::with_commander();
    h.ok(
        &ic,
        Command::AddNote {
            text: "attacker IP 198.51.100.7".into(),
        },
    );
    let note_seq = h.state.last_seq;
    h.ok(
        &ic,
        Command::Correct {
            supersedes: note_seq,
            reason: "typo in the address".into(),
            occurred_at: Some(Timestamp::parse("2026-11-26T01:00:00+01:00").unwrap()),
            text: Some("attacker IP 198.51.100.17".into()),
        },
    );
    let entry = h.state.timeline.iter().find(|t| t.seq == note_seq).unwrap();
    assert_eq!(entry.description, "Note: attacker IP 198.51.100.7");
    assert_eq!(entry.corrections.len(), 1);
    assert_eq!(
        entry.corrections[0].text.as_deref(),
        Some("attacker IP 198.51.100.17")
    );
    // The corrected time (00:00 UTC) sorts the note before the declaration (03:00 UTC).
    assert_eq!(h.state.timeline_by_occurrence()[0].seq, note_seq);
    // The offset the time was reported in is kept.
    assert_eq!(
        entry.effective_occurred_at().to_string(),
        "2026-11-26T01:00:00+01:00"
    );
}

#[test]
fn declarations_are_validated() {
    let bad = declare(
        Declaration {
            title: "   ".into(),
            kind: Kind::Security,
            severity: Severity::SEV1,
            restricted: None,
            summary: None,
            playbook: Playbook::builtin_security(),
        },
        "x-y".into(),
    )
    .unwrap_err();
    assert_eq!(bad.rule, rules::INVALID_INPUT);
    let mismatch = declare(
        Declaration {
            title: "t".into(),
            kind: Kind::Security,
            severity: Severity::SEV1,
            restricted: None,
            summary: None,
            playbook: Playbook::builtin_operational(),
        },
        "x-y".into(),
    )
    .unwrap_err();
    assert!(mismatch.message.contains("operational"), "{mismatch}");
}

/// Why a note is decided on the latest state, like any other command, and not appended at the
/// head as a recorded read is (ARCHITECTURE.md, "Notes are decided on the state"): what a note's
/// decision reads of the state only widens as the stream grows — a member stays a member (a
/// role taken away leaves the membership), and whether the incident is restricted never changes
/// — but a note allowed on the open incident is refused once it is closed, and closing is
/// final. A note checked against an older state and written after a `closed` event would put on
/// the ledger what the rules refuse.
#[test]
fn a_note_depends_on_the_state_it_is_decided_on_only_through_closing() {
    use palisade_core::Aggregate;
    let note = || Command::AddNote {
        text: "seen from the firewall logs".into(),
    };
    assert!(!IncidentState::independent_of_state(&note()));
    assert!(IncidentState::independent_of_state(&Command::RecordRead {
        what: "incident".into(),
        via: "api".into(),
    }));

    let (mut h, ic) = Harness::with_commander();
    let sam = responder("sam");
    assert!(
        !h.state.visible_to(&sam.user),
        "restricted, and sam is no member"
    );
    // Membership only grows: a role taken away leaves a member who may still write notes.
    let (u, role) = (user("sam"), Role::Scribe);
    h.ok(
        &ic,
        Command::AssignRole {
            user: u.clone(),
            role,
        },
    );
    h.ok(&ic, Command::UnassignRole { user: u, role });
    assert!(h.state.is_member(&sam.user) && h.state.visible_to(&sam.user));
    h.ok(&sam, note());

    // Closing is what a note depends on.
    for s in 1..=9 {
        h.ok(&ic, done(s));
    }
    h.ok(&ic, waive(10, "handled by the vendor's forensics team"));
    h.ok(
        &ic,
        Command::Resolve {
            summary: "credential stuffing stopped".into(),
        },
    );
    let open = h.state.clone();
    h.ok(&ic, Command::Close { note: None });
    let ctx = Context {
        now: Timestamp::parse("2026-11-26T04:00:00Z").unwrap(),
        policy: &CommsPolicy::default(),
    };
    assert!(
        open.decide(&sam, &note(), &ctx).is_ok(),
        "allowed on the state before the close"
    );
    h.refused(&sam, note(), rules::INCIDENT_CLOSED);
}
