//! The finding aggregate as plain data: opened with a due date by severity, fixed and reopened
//! by runs (repeats decide nothing), triaged with a reason and an expiry within bounds, and what
//! it counts as at a moment (a mark past its expiry no longer holds).

use palisade_core::aggregate::{Aggregate, Context};
use palisade_core::event::numbered;
use palisade_core::finding::{
    FindingCommand, FindingState, FindingStatus, Observed, OpenFinding, SlaDays, rules,
};
use palisade_core::types::{AccountRole, FindingKind, FindingSeverity, Phase, UserName};
use palisade_core::{Actor, StreamId, StreamKind, Timestamp};
use uuid::Uuid;

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn actor(role: AccountRole) -> Actor {
    Actor {
        user: UserName::parse("dana").unwrap(),
        account_role: role,
    }
}

fn ctx(now: Timestamp) -> Context<'static, ()> {
    Context { now, policy: &() }
}

/// A finding of `severity` opened at `at`.
fn opened(severity: FindingSeverity, at: &str) -> FindingState {
    let open = OpenFinding {
        service: Uuid::nil(),
        scan: Uuid::nil(),
        phase: Phase::Build,
        run: 1,
        observed: Observed {
            fingerprint: "fp".into(),
            kind: FindingKind::Dependency,
            rule: "GHSA-x".into(),
            title: "t".into(),
            severity,
            location: None,
            package: Some("pkg:npm/x@1".into()),
        },
        sla: SlaDays::default(),
    };
    let who = actor(AccountRole::Responder);
    let payloads = FindingState::decide_create(&who, &open, &ctx(t(at))).unwrap();
    let events = numbered(
        StreamId::new(StreamKind::Finding, Uuid::now_v7()),
        0,
        &who.user,
        t(at),
        None,
        payloads,
    );
    FindingState::fold(&events).unwrap()
}

/// Decide `cmd` at `at` and apply what it decides; the refusal's rule, if refused.
fn run(
    st: &mut FindingState,
    cmd: FindingCommand,
    at: &str,
    role: AccountRole,
) -> Result<usize, &'static str> {
    let payloads = st
        .decide(&actor(role), &cmd, &ctx(t(at)))
        .map_err(|r| r.rule.id)?;
    let n = payloads.len();
    for e in numbered(
        st.stream(),
        st.last_seq,
        &actor(role).user,
        t(at),
        None,
        payloads,
    ) {
        st.apply(&e).unwrap();
    }
    Ok(n)
}

const R: AccountRole = AccountRole::Responder;

#[test]
fn due_dates_follow_the_severity_and_informational_findings_have_none() {
    let at = "2027-01-01T00:00:00Z";
    for (sev, days) in [
        (FindingSeverity::Critical, Some(7)),
        (FindingSeverity::High, Some(30)),
        (FindingSeverity::Medium, Some(90)),
        (FindingSeverity::Low, Some(120)),
        (FindingSeverity::Info, None),
    ] {
        let st = opened(sev, at);
        assert_eq!(
            st.due_at.map(|d| (d.0 - t(at).0).whole_days()),
            days,
            "{sev}"
        );
    }
    let st = opened(FindingSeverity::Critical, at);
    assert!(!st.overdue_at(t("2027-01-07T23:59:59Z")));
    assert!(st.overdue_at(t("2027-01-08T00:00:00Z")));
}

#[test]
fn runs_fix_and_reopen_and_repeating_them_decides_nothing() {
    let mut st = opened(FindingSeverity::High, "2027-01-01T00:00:00Z");
    let gone = FindingCommand::Missing {
        run: 2,
        last_seen: Some(t("2027-01-01T00:00:00Z")),
    };
    assert_eq!(run(&mut st, gone.clone(), "2027-01-02T00:00:00Z", R), Ok(1));
    assert_eq!(
        st.status_at(t("2027-01-02T00:00:00Z")),
        FindingStatus::Fixed
    );
    assert_eq!(run(&mut st, gone, "2027-01-02T00:00:01Z", R), Ok(0));
    assert_eq!(
        run(
            &mut st,
            FindingCommand::Reported { run: 3 },
            "2027-01-03T00:00:00Z",
            R
        ),
        Ok(1)
    );
    assert_eq!(
        run(
            &mut st,
            FindingCommand::Reported { run: 4 },
            "2027-01-04T00:00:00Z",
            R
        ),
        Ok(0)
    );
    assert_eq!((st.reopened, st.last_seq), (1, 3));
    assert_eq!(
        st.last_seen_with(Some(t("2027-01-04T00:00:00Z"))),
        Some(t("2027-01-04T00:00:00Z"))
    );
}

#[test]
fn triage_needs_a_reason_an_expiry_in_bounds_an_open_finding_and_a_writer() {
    let mut st = opened(FindingSeverity::Critical, "2027-01-01T00:00:00Z");
    let now = "2027-01-02T00:00:00Z";
    let accept = |reason: &str, until: &str| FindingCommand::Accept {
        reason: reason.into(),
        expires_at: t(until),
    };
    for (cmd, role, rule) in [
        (
            accept("too short", "2027-02-01T00:00:00Z"),
            R,
            rules::FINDING_REASON.id,
        ),
        (
            accept("compensating control in place", "2027-01-01T00:00:00Z"),
            R,
            rules::FINDING_EXPIRY.id,
        ),
        (
            accept("compensating control in place", "2028-02-01T00:00:00Z"),
            R,
            rules::FINDING_EXPIRY.id,
        ),
        (
            accept("compensating control in place", "2027-02-01T00:00:00Z"),
            AccountRole::Viewer,
            rules::FINDING_READ_ONLY.id,
        ),
        (
            FindingCommand::Reopen {
                reason: "nothing to withdraw".into(),
            },
            R,
            rules::FINDING_UNCHANGED.id,
        ),
    ] {
        assert_eq!(run(&mut st, cmd, now, role), Err(rule));
    }
    assert_eq!(st.last_seq, 1, "refusals record nothing");
    assert_eq!(
        run(
            &mut st,
            accept("compensating control in place", "2027-02-01T00:00:00Z"),
            now,
            R
        ),
        Ok(1)
    );
    assert_eq!(
        st.status_at(t("2027-01-31T23:59:59Z")),
        FindingStatus::Accepted
    );
    // After the expiry: open again, and said to be an expired acceptance.
    assert_eq!(st.status_at(t("2027-02-01T00:00:00Z")), FindingStatus::Open);
    assert!(st.acceptance_expired_at(t("2027-02-01T00:00:00Z")));
    // A fixed finding is not triaged.
    run(
        &mut st,
        FindingCommand::Missing {
            run: 2,
            last_seen: None,
        },
        "2027-01-03T00:00:00Z",
        R,
    )
    .unwrap();
    assert_eq!(
        run(
            &mut st,
            FindingCommand::FalsePositive {
                reason: "a documented example key".into(),
                expires_at: None
            },
            "2027-01-03T00:00:01Z",
            R
        ),
        Err(rules::FINDING_NOT_OPEN.id)
    );
}
