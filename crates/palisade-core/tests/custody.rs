//! Custody and confidentiality rules, as data in and data out: each refusal names its rule and
//! produces nothing; accepted commands produce exactly the events the ledger format documents.

use palisade_core::comms::CommsPolicy;
use palisade_core::custody::{EvidenceCommand, EvidenceName, custody_rules};
use palisade_core::incident::{Command, Declaration, declare, events_for, rules};
use palisade_core::{
    AccountRole, Actor, Context, IncidentState, Kind, Payload, Playbook, Role, Severity, Timestamp,
    UserName,
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
fn ctx(secs: i64) -> Context<'static, CommsPolicy> {
    static POLICY: std::sync::OnceLock<CommsPolicy> = std::sync::OnceLock::new();
    Context {
        now: t(secs),
        policy: POLICY.get_or_init(CommsPolicy::default),
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
        let p = st.decide(&dana, &cmd, &ctx(0)).unwrap();
        apply(&mut st, "dana", p, 1);
    }
    let p = st
        .decide(&dana, &Command::Evidence(acquire(Some(SHA))), &ctx(0))
        .unwrap();
    apply(&mut st, "dana", p, 2);
    st
}

fn acquire(original: Option<&str>) -> EvidenceCommand {
    EvidenceCommand::Acquire {
        name: EvidenceName::parse("web-01.img").unwrap(),
        sha256: SHA.into(),
        size: 42,
        source: "web-01".into(),
        tool: "dd".into(),
        original_sha256: original.map(str::to_string),
        note: None,
    }
}

fn refused_by(r: Result<Vec<Payload>, palisade_core::Refusal>, rule: palisade_core::Rule) {
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
        .decide(
            &actor("alice", AccountRole::Responder),
            &Command::Evidence(acquire(None)),
            &ctx(0),
        )
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
        st.decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(acquire(Some(&"0".repeat(64)))),
            &ctx(0),
        ),
        custody_rules::EVIDENCE_HASH_MISMATCH,
    );
    // Upper-case hex of the same hash is the same hash (and is recorded in lower case).
    let p = st
        .decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(acquire(Some(&SHA.to_uppercase()))),
            &ctx(0),
        )
        .unwrap();
    assert!(
        matches!(&p[..], [Payload::EvidenceAcquired { original_sha256: Some(o), .. }] if o == SHA),
        "{p:?}"
    );
    refused_by(
        st.decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(acquire(Some("xyz"))),
            &ctx(0),
        ),
        rules::INVALID_INPUT,
    );
}

#[test]
fn evidence_names_are_portable_file_names() {
    let long = "x".repeat(256);
    let long_utf8 = "é".repeat(128); // 256 bytes
    for bad in [
        "",
        ".",
        "..",
        "../../etc/passwd",
        "a/b",
        "a\\b",
        "nul\0",
        "line\nbreak",
        "del\u{7f}",
        "c1\u{85}",
        long.as_str(),
        long_utf8.as_str(),
        "a<b",
        "a>b",
        "a:b",
        "a\"b",
        "a|b",
        "a?b",
        "a*b",
        "dot.",
        "space ",
        "   ",
        "CON",
        "prn",
        "Aux.txt",
        "NUL.tar.gz",
        "nul .txt",
        "COM0",
        "com1.log",
        "LPT9",
        "lpt¹",
        "gpj.exe\u{202e}",
        "\u{2066}isolate",
        "...",
    ] {
        let e = EvidenceName::parse(bad).expect_err(bad);
        let text = e.to_string();
        assert!(
            text.contains("is not a valid evidence name") && text.contains("1–255 bytes of UTF-8"),
            "{bad:?}: {text}"
        );
        let r: palisade_core::Refusal = e.into();
        assert_eq!(r.rule, rules::INVALID_INPUT);
    }
    // What is wrong is said, not only what is right.
    for (bad, says) in [
        ("..", "names a directory"),
        ("a/b", "not a path"),
        ("tab\there", "U+0009"),
        ("a:b", "`:`"),
        ("CON.txt", "reserves"),
        (long.as_str(), "256 bytes long"),
    ] {
        let text = EvidenceName::parse(bad).unwrap_err().to_string();
        assert!(text.contains(says), "{bad:?}: {text}");
    }
    // A very long name is shown shortened.
    assert!(
        EvidenceName::parse(&long).unwrap_err().to_string().len() < 600,
        "the message stays readable"
    );
    let max = "x".repeat(255);
    let max_utf8 = "é".repeat(127);
    for good in [
        "web-01.img",
        ".bash_history",
        "..hidden",
        " leading space",
        "memory dump 2026-11-26.lime",
        "CONFIG.SYS",
        "console",
        "COM10",
        "LPT",
        "nul-device.txt",
        "naïve résumé.pdf",
        "日本語.txt",
        max.as_str(),
        max_utf8.as_str(),
    ] {
        let n = EvidenceName::parse(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
        assert_eq!(n.as_str(), good, "kept exactly as given");
    }
    // Deserialized names are checked too.
    assert!(serde_json::from_str::<EvidenceName>("\"..\"").is_err());
    assert_eq!(
        serde_json::from_str::<EvidenceName>("\"a.img\"")
            .unwrap()
            .as_str(),
        "a.img"
    );
}

#[test]
fn viewers_are_refused() {
    let st = incident(true);
    refused_by(
        st.decide(
            &actor("vera", AccountRole::Viewer),
            &Command::Evidence(acquire(None)),
            &ctx(0),
        ),
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
        st.decide(
            &actor("alice", AccountRole::Responder),
            &Command::Evidence(transfer("dana")),
            &ctx(0),
        ),
        custody_rules::CUSTODIAN_ONLY,
    );
    refused_by(
        st.decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(transfer("mallory")),
            &ctx(0),
        ),
        custody_rules::CUSTODY_MEMBERS_ONLY,
    );
    refused_by(
        st.decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(transfer("dana")),
            &ctx(0),
        ),
        rules::INVALID_TRANSITION,
    );
    let p = st
        .decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(transfer("alice")),
            &ctx(0),
        )
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
        .decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(transfer("mallory")),
            &ctx(0),
        )
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
        .decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(EvidenceCommand::Transfer {
                evidence: 1,
                to: user("alice"),
                purpose: "x".into(),
                verified_sha256: "f".repeat(64),
            }),
            &ctx(0),
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
        st.decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(EvidenceCommand::Access {
                evidence: 9,
                purpose: "x".into(),
            }),
            &ctx(0),
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
        st.decide(
            &actor("eve", AccountRole::Responder),
            &Command::BreakGlass {
                reason: reason.to_string(),
                minutes: None,
            },
            &Context {
                now: t(10),
                policy: &CommsPolicy::default(),
            },
        ),
        custody_rules::BREAK_GLASS,
    );
    refused_by(
        st.decide(
            &admin,
            &Command::BreakGlass {
                reason: "because".to_string(),
                minutes: None,
            },
            &Context {
                now: t(10),
                policy: &CommsPolicy::default(),
            },
        ),
        custody_rules::BREAK_GLASS,
    );
    refused_by(
        st.decide(
            &admin,
            &Command::BreakGlass {
                reason: reason.to_string(),
                minutes: Some(0),
            },
            &Context {
                now: t(10),
                policy: &CommsPolicy::default(),
            },
        ),
        rules::INVALID_INPUT,
    );
    refused_by(
        st.decide(
            &admin,
            &Command::BreakGlass {
                reason: reason.to_string(),
                minutes: Some(481),
            },
            &Context {
                now: t(10),
                policy: &CommsPolicy::default(),
            },
        ),
        rules::INVALID_INPUT,
    );
    refused_by(
        incident(false).decide(
            &admin,
            &Command::BreakGlass {
                reason: reason.to_string(),
                minutes: None,
            },
            &Context {
                now: t(10),
                policy: &CommsPolicy::default(),
            },
        ),
        custody_rules::BREAK_GLASS,
    );
    refused_by(
        st.decide(
            &actor("dana", AccountRole::Admin),
            &Command::BreakGlass {
                reason: reason.to_string(),
                minutes: None,
            },
            &Context {
                now: t(10),
                policy: &CommsPolicy::default(),
            },
        ),
        custody_rules::BREAK_GLASS,
    );
    let mut st = st;
    assert!(!st.visible_to_at(&user("root"), t(10)));
    let p = st
        .decide(
            &admin,
            &Command::BreakGlass {
                reason: reason.to_string(),
                minutes: Some(30),
            },
            &Context {
                now: t(10),
                policy: &CommsPolicy::default(),
            },
        )
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
        .decide(
            &actor("dana", AccountRole::Responder),
            &Command::Evidence(transfer("alice")),
            &ctx(0),
        )
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

#[test]
fn an_export_with_evidence_is_recorded_only_for_every_piece_checked() {
    let mut st = incident(true);
    let dana = actor("dana", AccountRole::Responder);
    let export = |verified: Vec<(u32, String)>| Command::Export {
        purpose: "outside counsel".into(),
        with_evidence: true,
        verified,
    };
    // E2 was acquired after E1 was checked for this export: it would be listed, not included.
    let p = st
        .decide(&dana, &Command::Evidence(acquire(None)), &ctx(0))
        .unwrap();
    apply(&mut st, "dana", p, 3);
    let r = st.decide(&dana, &export(vec![(1, SHA.into())]), &ctx(0));
    refused_by(r, rules::INVALID_TRANSITION);
    let p = st
        .decide(
            &dana,
            &export(vec![(1, SHA.into()), (2, SHA.into())]),
            &ctx(0),
        )
        .unwrap();
    let kinds: Vec<&str> = p.iter().map(Payload::kind).collect();
    assert_eq!(
        kinds,
        [
            "accessed",
            "evidence_exported",
            "evidence_exported",
            "exported"
        ]
    );
    // Without evidence nothing needs checking.
    let p = st
        .decide(
            &dana,
            &Command::Export {
                purpose: "outside counsel".into(),
                with_evidence: false,
                verified: Vec::new(),
            },
            &ctx(0),
        )
        .unwrap();
    assert!(matches!(
        p.last(),
        Some(Payload::Exported {
            with_evidence: false,
            ..
        })
    ));
}

#[test]
fn a_download_counts_as_matching_only_once_its_outcome_says_so() {
    use palisade_core::custody::AccessResult;
    let mut st = incident(true);
    let alice = actor("alice", AccountRole::Responder);
    let access = |st: &mut IncidentState, purpose: &str, at: i64| {
        let p = st
            .decide(
                &alice,
                &Command::Evidence(EvidenceCommand::Access {
                    evidence: 1,
                    purpose: purpose.into(),
                }),
                &ctx(0),
            )
            .unwrap();
        // The access records the hash expected, not a measurement.
        assert!(matches!(&p[..], [Payload::EvidenceAccessed { sha256, .. }] if sha256 == SHA));
        apply(st, "alice", p, at);
        st.last_seq
    };
    let completed = |access: u64, sha256: &str, size: u64| {
        Command::Evidence(EvidenceCommand::AccessCompleted {
            evidence: 1,
            access,
            sha256: sha256.into(),
            size,
        })
    };
    let good = access(&mut st, "timeline", 3);
    let outcome = |st: &IncidentState, seq: u64| {
        st.evidence_item(1)
            .unwrap()
            .custody
            .iter()
            .find(|c| c.seq == seq)
            .unwrap()
            .clone()
    };
    // Granted, nothing measured yet: unverified.
    assert_eq!(outcome(&st, good).verified_sha256, None);
    assert_eq!(outcome(&st, good).outcome, None);
    // Only the one who downloaded records its outcome, once, for a download that exists.
    refused_by(
        st.decide(
            &actor("dana", AccountRole::Responder),
            &completed(good, SHA, 42),
            &ctx(0),
        ),
        rules::UNKNOWN_REFERENCE,
    );
    refused_by(
        st.decide(&alice, &completed(2, SHA, 42), &ctx(0)),
        rules::UNKNOWN_REFERENCE,
    );
    let p = st
        .decide(&alice, &completed(good, SHA, 42), &ctx(0))
        .unwrap();
    assert!(matches!(
        &p[..],
        [Payload::EvidenceAccessVerified { access, size: 42, .. }] if *access == good
    ));
    apply(&mut st, "alice", p, 4);
    let c = outcome(&st, good);
    assert_eq!(c.verified_sha256.as_deref(), Some(SHA));
    assert_eq!(c.outcome.unwrap().result, AccessResult::Verified);
    refused_by(
        st.decide(&alice, &completed(good, SHA, 42), &ctx(0)),
        rules::INVALID_TRANSITION,
    );

    // Other content, or the right content cut short: an integrity failure of that download.
    let other = "ab".repeat(32);
    for (sha, size) in [(other.as_str(), 42), (SHA, 41)] {
        let bad = access(&mut st, "again", 5);
        let p = st
            .decide(&alice, &completed(bad, sha, size), &ctx(0))
            .unwrap();
        assert!(
            matches!(&p[..], [Payload::EvidenceIntegrityFailed { access: Some(a), during, .. }]
                if *a == bad && during == "download"),
            "{p:?}"
        );
        apply(&mut st, "alice", p, 6);
        assert_eq!(
            outcome(&st, bad).outcome.unwrap().result,
            AccessResult::IntegrityFailed
        );
        assert_eq!(outcome(&st, bad).verified_sha256, None);
    }
    // A client that went away.
    let gone = access(&mut st, "gone", 7);
    let p = st
        .decide(
            &alice,
            &Command::Evidence(EvidenceCommand::AccessIncomplete {
                evidence: 1,
                access: gone,
                sent: 10,
            }),
            &ctx(0),
        )
        .unwrap();
    apply(&mut st, "alice", p, 8);
    let o = outcome(&st, gone).outcome.unwrap();
    assert_eq!((o.result, o.sent), (AccessResult::Incomplete, Some(10)));
    access(&mut st, "pending", 9);

    let md = palisade_core::custody::custody_report_markdown(
        &st.codename,
        &st.id,
        st.evidence_item(1).unwrap(),
    );
    let row = |purpose: &str| {
        md.lines()
            .find(|l| l.contains("| accessed |") && l.contains(purpose))
            .unwrap()
            .to_string()
    };
    assert!(
        row("timeline").contains(&format!("✔ matches, sent whole (#{})", good + 1)),
        "{md}"
    );
    assert!(row("again").contains("✘ failed"), "{md}");
    assert!(row("gone").contains("incomplete: 10 bytes sent"), "{md}");
    assert!(row("pending").contains("unverified"), "{md}");
    assert!(!row("pending").contains('✔'), "{md}");
    let ticks = md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains('✔'))
        .count();
    assert_eq!(ticks, 2, "acquisition and the one good download: {md}");
}
