//! Property: the state built live (decide → apply, command by command) equals the state replayed
//! from the stored ledger (canonical text → parse → fold), for any sequence of commands.

use palisade_core::chain::{GENESIS, canonical_event, event_hash};
use palisade_core::event::Event;
use palisade_core::incident::{Command, Declaration, IncidentState, declare, events_for};
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
    (0..USERS.len(), cmd)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn replay_equals_live(cmds in prop::collection::vec(arb_command(), 0..60)) {
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
            if let Ok(payloads) = live.decide(&actor, &cmd) {
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
