//! The ledger's body formats (docs/ledger-format.md): format 2 names the stream, format 1
//! (incidents recorded before streams existed) names the incident, and a format-1 body reads
//! back and encodes again to exactly the bytes that were hashed.

use palisade_core::canonical::to_canonical_from;
use palisade_core::chain::{CheckpointBody, LedgerSigner, canonical_event};
use palisade_core::event::{Event, numbered};
use palisade_core::service::ServicePayload;
use palisade_core::{IncidentState, Payload, StreamId, StreamKind, Timestamp, UserName};
use uuid::Uuid;

const V1_BODY: &str = r#"{"actor":"dana","data":{"text":"blocked 198.51.100.7","type":"note_added"},"format":1,"incident":"0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e","occurred_at":"2026-11-26T03:12:00+01:00","recorded_at":"2026-11-26T02:12:00.5Z","seq":7}"#;

#[test]
fn a_format_1_body_reads_as_an_incident_event_and_encodes_to_the_same_bytes() {
    let e: Event = serde_json::from_str(V1_BODY).unwrap();
    assert_eq!(e.format, 1);
    assert_eq!(e.stream.kind, StreamKind::Incident);
    assert_eq!(
        e.stream.id,
        Uuid::parse_str("0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e").unwrap()
    );
    assert_eq!(canonical_event(&e).unwrap(), V1_BODY);
}

#[test]
fn new_events_are_format_2_and_name_their_stream() {
    let at = Timestamp::parse("2026-12-06T10:00:00Z").unwrap();
    let id = Uuid::parse_str("0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e").unwrap();
    let e = numbered(
        StreamId::incident(id),
        6,
        &UserName::parse("dana").unwrap(),
        at,
        None,
        vec![Payload::NoteAdded { text: "x".into() }],
    )
    .remove(0);
    let body = canonical_event(&e).unwrap();
    assert_eq!(
        body,
        r#"{"actor":"dana","data":{"text":"x","type":"note_added"},"format":2,"occurred_at":"2026-12-06T10:00:00Z","recorded_at":"2026-12-06T10:00:00Z","seq":7,"stream":"incident/0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e"}"#
    );
    let back: Event = serde_json::from_str(&body).unwrap();
    assert_eq!(back, e);
    // A service event names its kind; it is not an incident event.
    let s = numbered(
        StreamId::service(id),
        0,
        &UserName::parse("dana").unwrap(),
        at,
        None,
        vec![ServicePayload::Renamed {
            from: "a".parse().unwrap(),
            to: "b".parse().unwrap(),
        }],
    )
    .remove(0);
    let sbody = canonical_event(&s).unwrap();
    assert!(
        sbody.ends_with(r#","seq":1,"stream":"service/0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e"}"#)
    );
    assert!(serde_json::from_str::<Event>(&sbody).is_err());
}

#[test]
fn bodies_that_name_their_stream_twice_or_in_an_unknown_format_are_refused() {
    for bad in [
        V1_BODY.replace(r#""format":1"#, r#""format":2"#),
        V1_BODY.replace(r#""format":1"#, r#""format":3"#),
        V1_BODY.replace(
            r#""format":1,"#,
            r#""format":1,"stream":"incident/0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e","#,
        ),
        V1_BODY.replace(r#""incident":"0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e","#, ""),
    ] {
        assert!(
            serde_json::from_str::<Event>(&bad).is_err(),
            "accepted: {bad}"
        );
    }
}

#[test]
fn checkpoints_are_format_2_and_format_1_ones_still_read() {
    let signer = LedgerSigner::from_secret([9u8; 32]);
    let at = Timestamp::parse("2026-12-06T10:00:00Z").unwrap();
    let stream = StreamId::service(Uuid::nil());
    let cp = signer.sign(stream, 3, &[1u8; 32], &[0u8; 32], at);
    let body = to_canonical_from(&cp.body).unwrap();
    assert!(body.starts_with(r#"{"format":2,"head":""#), "{body}");
    assert!(body.contains(r#""stream":"service/00000000-0000-0000-0000-000000000000""#));
    let back: CheckpointBody = serde_json::from_str(&body).unwrap();
    assert_eq!(back, cp.body);
    let v1 = r#"{"format":1,"head":"0101010101010101010101010101010101010101010101010101010101010101","incident":"00000000-0000-0000-0000-000000000000","key_id":"0011223344556677","prev":"0000000000000000000000000000000000000000000000000000000000000000","seq":3,"signed_at":"2026-12-06T10:00:00Z"}"#;
    let old: CheckpointBody = serde_json::from_str(v1).unwrap();
    assert_eq!(old.stream, StreamId::incident(Uuid::nil()));
    assert_eq!(to_canonical_from(&old).unwrap(), v1);
}

#[test]
fn an_incident_folds_across_the_format_change() {
    // Recorded before the upgrade: declared and a note in format 1; after it, format 2.
    let id = Uuid::from_u128(5);
    let dana = UserName::parse("dana").unwrap();
    let at = Timestamp::parse("2026-11-26T03:00:00Z").unwrap();
    let declared = palisade_core::incident::declare(
        palisade_core::Declaration {
            title: "t".into(),
            kind: palisade_core::Kind::Security,
            severity: palisade_core::Severity::SEV2,
            restricted: None,
            summary: None,
            playbook: palisade_core::Playbook::builtin_security(),
        },
        "calm-otter".into(),
    )
    .unwrap();
    let mut events = numbered(
        StreamId::incident(id),
        0,
        &dana,
        at,
        None,
        vec![declared, Payload::NoteAdded { text: "a".into() }],
    );
    for e in &mut events {
        e.format = 1;
    }
    events.extend(numbered(
        StreamId::incident(id),
        2,
        &dana,
        at,
        None,
        vec![Payload::NoteAdded { text: "b".into() }],
    ));
    let reread: Vec<Event> = events
        .iter()
        .map(|e| serde_json::from_str(&canonical_event(e).unwrap()).unwrap())
        .collect();
    let st = IncidentState::fold(&reread).unwrap();
    assert_eq!(st.last_seq, 3);
    assert_eq!(reread[0].format, 1);
    assert_eq!(reread[2].format, 2);
}
