//! Custody and confidentiality rules, as data in and data out: each refusal names its rule and
//! produces nothing; accepted commands produce exactly the events the ledger format documents.

use palisade_core::custody::{EvidenceCommand, custody_rules};
use palisade_core::incident::{Command, Declaration, declare, events_for, rules};
use palisade_core::{
    AccountRole, Actor, IncidentState, Kind, Payload, Playbook, Role, Severity, Timestamp, UserName,
};
use uuid::Uuid;

fn user(s: &str) -> UserName {
    UserName::parse(s).unwrap()
}
fn actor(name: &str, role: AccountRole) -> Actor {
    Actor {
        user: user(name),
        account_role: role,
    }
}
fn t(secs: i64) -> Timestamp {
    Timestamp(time::OffsetDateTime::from_unix_timestamp(1_795_000_000 + secs).unwrap())
}
const SHA: &str = "5f3a1b2c5f3a1b2c5f3a1b2c5f3a1b2c5f3a1b2c5f3a1b2c5f3a1b2c5f3a1b2c";

fn apply(st: &mut IncidentState, by: &str, payloads: Vec<Payload>, at: i64) {
    for e in events_for(st.id, st.last_seq, &user(by), t(at), None, payloads) {
        st.apply(&e).unwrap();
    }
}

/// A restricted incident: dana declared it and is IC, alice is SME, with E1 acquired by dana.
fn incident(restricted: bool) -> IncidentState {
    let d = declare(
        Declaration {
            title: "Leaked deploy key".into(),
            kind: Kind::Security,
            severity: Severity::SEV1,
            restricted: Some(restricted),
            summary: None,
            playbook: Playbook::builtin_security(),
        },
        "amber-falcon".into(),
    )
    .unwrap();
    let mut st = IncidentState::fold(&events_for(
        Uuid::new_v4(),
        0,
        &user("dana"),
        t(0),
        None,
        vec![d],
    ))
    .unwrap();
    let dana = actor("dana", AccountRole::Responder);
    for cmd in [
        Command::AssignRole {
            user: user("dana"),
            role: Role::IncidentCommander,
        },
        Command::AssignRole {
            user: user("alice"),
            role: Role::SubjectMatterExpert,
        },
    ] {
        let p = st.decide(&dana, &cmd).unwrap();
        apply(&mut st, "dana", p, 1);
    }
    let p = st.decide_evidence(&dana, &acquire(Some(SHA))).unwrap();
    apply(&mut st, "dana", p, 2);
    st
}

fn acquire(original: Option<&str>) -> EvidenceCommand {
    EvidenceCommand::Acquire {
        name: "web-01.img".into(),
        sha256: SHA.into(),
        size: 42,
        source: "web-01".into(),
        tool: "dd".into(),
        original_sha256: original.map(str::to_string),
        note: None,
    }
}

fn refused_by(r: Result<Vec<Payload>, palisade_core::Refusal>, rule: &str) {
    match r {
        Err(refusal) => assert_eq!(refusal.rule, rule, "{}", refusal.message),
        Ok(p) => panic!("expected refusal by {rule}, got {p:?}"),
    }
}

#[test]
fn acquisition_records_the_first_custodian_and_numbers_evidence() {
    let st = incident(true);
    let e1 = st.evidence_item(1).unwrap();
    assert_eq!(
        (e1.custodian.as_str(), e1.sha256.as_str(), e1.custody.len()),
        ("dana", SHA, 1)
    );
    let p = st
        .decide_evidence(&actor("alice", AccountRole::Responder), &acquire(None))
        .unwrap();
    assert!(matches!(
        p[..],
        [Payload::EvidenceAcquired { evidence: 2, .. }]
    ));
}

#[test]
fn a_different_acquisition_hash_is_refused() {
    let st = incident(true);
    refused_by(
        st.decide_evidence(
            &actor("dana", AccountRole::Responder),
            &acquire(Some(&"0".repeat(64))),
        ),
        custody_rules::EVIDENCE_HASH_MISMATCH,
    );
    // Upper-case hex of the same hash is the same hash (and is recorded in lower case).
    let p = st
        .decide_evidence(
            &actor("dana", AccountRole::Responder),
            &acquire(Some(&SHA.to_uppercase())),
        )
        .unwrap();
    assert!(
        matches!(&p[..], [Payload::EvidenceAcquired { original_sha256: Some(o), .. }] if o == SHA),
        "{p:?}"
    );
    refused_by(
        st.decide_evidence(
            &actor("dana", AccountRole::Responder),
            &acquire(Some("xyz")),
        ),
        rules::INVALID_INPUT,
    );
}

#[test]
fn bad_names_and_viewers_are_refused() {
    let st = incident(true);
    let mut cmd = acquire(None);
    if let EvidenceCommand::Acquire { name, .. } = &mut cmd {
        *name = "../../etc/passwd".into();
    }
    refused_by(
        st.decide_evidence(&actor("dana", AccountRole::Responder), &cmd),
        rules::INVALID_INPUT,
    );
    refused_by(
        st.decide_evidence(&actor("vera", AccountRole::Viewer), &acquire(None)),
        rules::READ_ONLY,
    );
}

fn transfer(to: &str) -> EvidenceCommand {
    EvidenceCommand::Transfer {
        evidence: 1,
        to: user(to),
        purpose: "memory forensics".into(),
        verified_sha256: SHA.into(),
    }
}

#[test]
fn only_the_custodian_or_the_ic_hands_evidence_on_and_only_to_members() {
    let mut st = incident(true);
    refused_by(
        st.decide_evidence(&actor("alice", AccountRole::Responder), &transfer("dana")),
        custody_rules::CUSTODIAN_ONLY,
    );
    refused_by(
        st.decide_evidence(&actor("dana", AccountRole::Responder), &transfer("mallory")),
        custody_rules::CUSTODY_MEMBERS_ONLY,
    );
    refused_by(
        st.decide_evidence(&actor("dana", AccountRole::Responder), &transfer("dana")),
        rules::INVALID_TRANSITION,
    );
    let p = st
        .decide_evidence(&actor("dana", AccountRole::Responder), &transfer("alice"))
        .unwrap();
    apply(&mut st, "dana", p, 3);
    let e1 = st.evidence_item(1).unwrap();
    assert_eq!(e1.custodian.as_str(), "alice");
    let last = e1.custody.last().unwrap();
    assert_eq!(
        (
            last.action.as_str(),
            last.from.as_ref().unwrap().as_str(),
            last.to.as_ref().unwrap().as_str()
        ),
        ("transferred", "dana", "alice")
    );
    // Open incidents may hand evidence to any account.
    let open = incident(false);
    let p = open
        .decide_evidence(&actor("dana", AccountRole::Responder), &transfer("mallory"))
        .unwrap();
    assert!(
        matches!(&p[..], [Payload::EvidenceTransferred { to, .. }] if to.as_str() == "mallory"),
        "{p:?}"
    );
}

#[test]
fn a_re_check_that_does_not_match_records_an_integrity_failure_not_a_transfer() {
    let mut st = incident(true);
    let p = st
        .decide_evidence(
            &actor("dana", AccountRole::Responder),
            &EvidenceCommand::Transfer {
                evidence: 1,
                to: user("alice"),
                purpose: "x".into(),
                verified_sha256: "f".repeat(64),
            },
        )
        .unwrap();
    assert!(matches!(
        &p[..],
        [Payload::EvidenceIntegrityFailed { during, .. }] if during == "transfer"
    ));
    apply(&mut st, "dana", p, 3);
    let e1 = st.evidence_item(1).unwrap();
    assert!(e1.integrity_failed);
    assert_eq!(e1.custodian.as_str(), "dana", "custody did not move");
}

#[test]
fn unknown_evidence_is_an_unknown_reference() {
    let st = incident(true);
    refused_by(
        st.decide_evidence(
            &actor("dana", AccountRole::Responder),
            &EvidenceCommand::Access {
                evidence: 9,
                purpose: "x".into(),
            },
        ),
        rules::UNKNOWN_REFERENCE,
    );
}

#[test]
fn break_glass_is_for_admins_on_restricted_incidents_with_a_reason_for_a_while() {
    let st = incident(true);
    let admin = actor("root", AccountRole::Admin);
    let reason = "legal hold request from counsel, ticket LEG-42";
    refused_by(
        st.decide_break_glass(&actor("eve", AccountRole::Responder), reason, None, t(10)),
        custody_rules::BREAK_GLASS,
    );
    refused_by(
        st.decide_break_glass(&admin, "because", None, t(10)),
        custody_rules::BREAK_GLASS,
    );
    refused_by(
        st.decide_break_glass(&admin, reason, Some(0), t(10)),
        rules::INVALID_INPUT,
    );
    refused_by(
        st.decide_break_glass(&admin, reason, Some(481), t(10)),
        rules::INVALID_INPUT,
    );
    refused_by(
        incident(false).decide_break_glass(&admin, reason, None, t(10)),
        custody_rules::BREAK_GLASS,
    );
    refused_by(
        st.decide_break_glass(&actor("dana", AccountRole::Admin), reason, None, t(10)),
        custody_rules::BREAK_GLASS,
    );
    let mut st = st;
    assert!(!st.visible_to_at(&user("root"), t(10)));
    let p = st
        .decide_break_glass(&admin, reason, Some(30), t(10))
        .unwrap();
    apply(&mut st, "root", p, 10);
    assert!(st.visible_to_at(&user("root"), t(10)));
    assert!(st.visible_to_at(&user("root"), t(10 + 30 * 60 - 1)));
    assert!(
        !st.visible_to_at(&user("root"), t(10 + 30 * 60)),
        "expires at `until`"
    );
    assert!(!st.visible_to(&user("root")), "a grant is not membership");
    assert_eq!(st.break_glass[0].reason, reason);
}

#[test]
fn reads_of_restricted_incidents_are_recorded_and_kept_out_of_the_timeline() {
    let mut st = incident(true);
    let before = st.timeline.len();
    let p = st
        .access_event("incident", "api")
        .expect("restricted reads are recorded");
    apply(&mut st, "alice", vec![p], 5);
    assert_eq!(st.reads, 1);
    assert_eq!(st.timeline.len(), before);
    assert!(incident(false).access_event("incident", "api").is_none());
}

#[test]
fn evidence_numbers_out_of_order_do_not_fold() {
    let st = incident(true);
    let bad = Payload::EvidenceAcquired {
        evidence: 5,
        name: "x".into(),
        sha256: SHA.into(),
        size: 1,
        source: "s".into(),
        tool: "t".into(),
        original_sha256: None,
        note: None,
    };
    let e = events_for(st.id, st.last_seq, &user("dana"), t(9), None, vec![bad]);
    let mut st2 = st.clone();
    assert!(st2.apply(&e[0]).is_err());
}

#[test]
fn the_custody_report_names_every_hand() {
    let mut st = incident(true);
    let p = st
        .decide_evidence(&actor("dana", AccountRole::Responder), &transfer("alice"))
        .unwrap();
    apply(&mut st, "dana", p, 3);
    let md = palisade_core::custody::custody_report_markdown(
        &st.codename,
        &st.id,
        st.evidence_item(1).unwrap(),
    );
    assert!(md.contains("# Chain of custody: amber-falcon/E1"), "{md}");
    assert!(md.contains("dana → alice"), "{md}");
    assert!(md.contains("| acquired | dana |"), "{md}");
    assert!(md.contains("Current custodian | alice"), "{md}");
}
