//! Property: the state built live (decide → apply, command by command) equals the state replayed
//! from the stored ledger (canonical text → parse → fold), for any sequence of commands.

use palisade_core::Context;
use palisade_core::chain::{GENESIS, canonical_event, event_hash};
use palisade_core::comms::{CommsCommand, CommsPolicy};
use palisade_core::event::Event;
use palisade_core::incident::{Command, Declaration, IncidentState, declare, events_for};
use palisade_core::postmortem::PostmortemCommand;
use palisade_core::postmortem::PostmortemStatus;
use palisade_core::{
    AccountRole, Actor, Kind, Playbook, Role, Severity, Status, Timestamp, UserName,
};
use proptest::prelude::*;
use uuid::Uuid;

const USERS: [&str; 3] = ["dana", "sam", "lee"];

fn arb_command() -> impl Strategy<Value = (usize, Command)> {
    let user = (0..USERS.len()).prop_map(|i| UserName::parse(USERS[i]).unwrap());
    let role = prop::sample::select(Role::ALL.to_vec());
    let step = 1u32..=15;
    let text = "[a-z ]{0,12}";
    let cmd = prop_oneof![
        (user.clone(), role.clone()).prop_map(|(user, role)| Command::AssignRole { user, role }),
        (user, role).prop_map(|(user, role)| Command::UnassignRole { user, role }),
        step.clone().prop_map(|step| Command::StartStep { step }),
        (step.clone(), prop::option::of(text))
            .prop_map(|(step, note)| Command::CompleteStep { step, note }),
        (step, text).prop_map(|(step, reason)| Command::WaiveStep { step, reason }),
        text.prop_map(|text| Command::AddNote { text }),
        (
            prop::option::of(prop::sample::select(Status::ALL.to_vec())),
            prop::option::of(text)
        )
            .prop_map(|(status, message)| Command::UpdateStatus { status, message }),
        (1u8..=5).prop_map(|l| Command::ChangeSeverity {
            to: Severity::new(l).unwrap(),
            reason: None
        }),
        Just(Command::Approve {
            approval: "external-communication".into(),
            note: None
        }),
        text.prop_map(|summary| Command::Resolve { summary }),
        Just(Command::Close { note: None }),
        (
            1u64..40,
            text,
            prop::option::of(0i64..100_000),
            prop::option::of(text)
        )
            .prop_map(|(supersedes, reason, secs, text)| Command::Correct {
                supersedes,
                reason,
                occurred_at: secs.map(|s| Timestamp(
                    time::OffsetDateTime::from_unix_timestamp(1_790_000_000 + s).unwrap()
                )),
                text,
            }),
    ];
    let cmd = prop_oneof![3 => cmd, 2 => arb_comms_command()];
    (0..USERS.len(), cmd)
}

/// Communications and postmortem commands; texts sometimes carry an avoided phrase.
fn arb_comms_command() -> impl Strategy<Value = Command> {
    let user = (0..USERS.len()).prop_map(|i| UserName::parse(USERS[i]).unwrap());
    let text = prop_oneof![
        4 => "[a-z ]{0,12}",
        1 => Just("We take security VERY  seriously".to_string()),
    ];
    let at = (0i64..400_000).prop_map(|s| {
        Timestamp(time::OffsetDateTime::from_unix_timestamp(1_790_000_000 + s).unwrap())
    });
    let statement = 1u32..=3;
    prop_oneof![
        text.clone()
            .prop_map(|message| Command::ExternalUpdate { message }),
        (at, prop::option::of(text.clone())).prop_map(|(aware_at, note)| Command::Comms(
            CommsCommand::RecordAwareness { aware_at, note }
        )),
        (
            prop::sample::select(vec![palisade_core::comms::GDPR_ART_33, "NIS2"]),
            prop::option::of(text.clone())
        )
            .prop_map(|(name, note)| Command::Comms(CommsCommand::MeetDeadline {
                name: name.into(),
                note
            })),
        (
            prop::option::of(statement.clone()),
            text.clone(),
            text.clone()
        )
            .prop_map(|(statement, title, body)| Command::Comms(
                CommsCommand::DraftStatement {
                    statement,
                    title,
                    body
                }
            )),
        (
            statement.clone(),
            prop::option::of(1u32..=3),
            prop::option::of(text.clone())
        )
            .prop_map(|(statement, revision, note)| Command::Comms(
                CommsCommand::ApproveStatement {
                    statement,
                    revision,
                    note
                }
            )),
        (statement, 0i64..30).prop_map(|(statement, d)| Command::Comms(
            CommsCommand::PublishStatement {
                statement,
                date: time::macros::date!(2026 - 11 - 26) + time::Duration::days(d),
            }
        )),
        prop::sample::select(vec![
            PostmortemStatus::Draft,
            PostmortemStatus::InReview,
            PostmortemStatus::Reviewed,
            PostmortemStatus::Closed
        ])
        .prop_map(|status| Command::Postmortem(PostmortemCommand::SetStatus { status })),
        (
            text.clone(),
            user,
            prop::option::of(prop::sample::select(vec!["2026-12-01", "2026-13-01"]))
        )
            .prop_map(|(title, owner, due)| Command::Postmortem(
                PostmortemCommand::AddActionItem {
                    title,
                    owner,
                    due: due.map(String::from)
                }
            )),
        (1u32..=4, prop::option::of(text)).prop_map(|(item, note)| Command::Postmortem(
            PostmortemCommand::CompleteActionItem { item, note }
        )),
    ]
}

/// Commands that take a fresh security incident to resolved, so the postmortem commands run.
fn resolve_script() -> Vec<(usize, Command)> {
    let mut v = vec![(
        0,
        Command::AssignRole {
            user: UserName::parse("dana").unwrap(),
            role: Role::IncidentCommander,
        },
    )];
    for step in 1..=10 {
        v.push((0, Command::CompleteStep { step, note: None }));
    }
    v.push((
        0,
        Command::Resolve {
            summary: "done".into(),
        },
    ));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn replay_equals_live(
        resolved_first in any::<bool>(),
        cmds in prop::collection::vec(arb_command(), 0..60),
    ) {
        let cmds: Vec<(usize, Command)> = if resolved_first {
            resolve_script().into_iter().chain(cmds).collect()
        } else {
            cmds
        };
        let id = Uuid::from_u128(7);
        let dana = UserName::parse("dana").unwrap();
        let t0 = Timestamp::parse("2026-11-26T03:00:00Z").unwrap();
        let declared = declare(Declaration {
            title: "t".into(), kind: Kind::Security, severity: Severity::SEV1,
            restricted: None, summary: None, playbook: Playbook::builtin_security(),
        }, "calm-otter".into()).unwrap();
        let mut events: Vec<Event> = events_for(id, 0, &dana, t0, None, vec![declared]);
        let mut live = IncidentState::fold(&events).unwrap();
        let mut accepted = 0;
        for (i, (who, cmd)) in cmds.into_iter().enumerate() {
            let actor = Actor { user: UserName::parse(USERS[who]).unwrap(), account_role: AccountRole::Responder };
            let at = Timestamp(t0.0 + time::Duration::seconds(i as i64 + 1));
            if let Ok(payloads) = live.decide(&actor, &cmd, &Context { now: at, policy: &CommsPolicy::default() }) {
                accepted += 1;
                for e in events_for(id, live.last_seq, &actor.user, at, None, payloads) {
                    live.apply(&e).unwrap();
                    events.push(e);
                }
            }
        }
        // Store as canonical text with a hash chain, then read back and replay.
        let mut prev = GENESIS;
        let mut stored = Vec::new();
        for e in &events {
            let text = canonical_event(e).unwrap();
            prev = event_hash(&prev, text.as_bytes());
            stored.push((text, prev));
        }
        let parsed: Vec<Event> = stored.iter().map(|(t, _)| serde_json::from_str(t).unwrap()).collect();
        prop_assert_eq!(&parsed, &events);
        let replayed = IncidentState::fold(&parsed).unwrap();
        prop_assert_eq!(&replayed, &live);
        prop_assert_eq!(replayed.last_seq as usize, 1 + events.len() - 1);
        prop_assert!(accepted <= events.len());
    }
}
