//! Security findings over time, and the scans that report them.
//!
//! A **scan** is one service's sequence of uploaded reports from one tool in one lifecycle phase
//! (and an optional name, for a monorepo's parts): its stream records each run with what it
//! found new, fixed and reopened. A **finding** is one stream per distinct problem a scan
//! reported, named by a fingerprint that survives line moves (a rule and its location, or a
//! package, its version and an advisory). It is opened the first time a run reports it, fixed
//! when a later run of the same scan no longer does, reopened when it comes back; people accept
//! its risk or mark it a false positive, each with an owner, a reason and an expiry. Every change
//! is an event on the ledger, so an auditor sees who accepted what, when, and until when.
//!
//! The core decides; which results a run holds is computed by the application from the uploaded
//! report (see `palisade-findings`).

use crate::Actor;
use crate::aggregate::{Aggregate, Context, FoldError, HistoryEntry, check_first, check_next};
use crate::event::{Event, Timestamp};
use crate::rule::{Refusal, refuse};
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, FindingKind, FindingSeverity, Phase, UserName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The findings' rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// A triage mark says why, in a sentence someone can audit.
    pub const FINDING_REASON: Rule = Rule::new(
        "finding-reason",
        InvalidInput,
        "accepting a risk, marking a false positive or reopening says why in 10–2,000 characters",
    );
    /// A risk acceptance ends: in the future, at most a year ahead.
    pub const FINDING_EXPIRY: Rule = Rule::new(
        "finding-expiry",
        InvalidInput,
        "a risk acceptance expires in the future and at most 366 days ahead (a false positive may \
         have no expiry)",
    );
    /// Only an open finding is triaged; a fixed one needs nothing.
    pub const FINDING_NOT_OPEN: Rule = Rule::new(
        "finding-not-open",
        Precondition,
        "only a finding the latest run still reports can be accepted or marked a false positive",
    );
    /// Reopening clears a mark; a finding without one is already open.
    pub const FINDING_UNCHANGED: Rule = Rule::new(
        "finding-unchanged",
        Conflict,
        "a change to a finding must change something",
    );
    /// Viewers read findings but do not triage them.
    pub const FINDING_READ_ONLY: Rule = Rule::new(
        "finding-read-only",
        Permission,
        "viewer accounts read findings but do not change them",
    );
    /// What a report says of one result is within limits.
    pub const FINDING_INPUT: Rule = Rule::new(
        "finding-input",
        InvalidInput,
        "a finding has a fingerprint of 1–200 characters, a rule of 1–200 and a title of at most \
         1,000",
    );
    /// A scan is named by a tool and an optional name of 1–100 printable characters.
    pub const SCAN_INPUT: Rule = Rule::new(
        "scan-input",
        InvalidInput,
        "a scan's tool and name are 1–100 printable characters",
    );

    /// Every findings rule.
    pub const ALL: &[Rule] = &[
        FINDING_REASON,
        FINDING_EXPIRY,
        FINDING_NOT_OPEN,
        FINDING_UNCHANGED,
        FINDING_READ_ONLY,
        FINDING_INPUT,
        SCAN_INPUT,
    ];
}

/// The namespace of finding fingerprints among stream keys (one finding per scan and
/// fingerprint).
pub const FINDING_KEY: &str = "finding";
/// The namespace of scans among stream keys (one per service, phase, tool and name).
pub const SCAN_KEY: &str = "scan";
const MAX_REASON: usize = 2_000;
const MIN_REASON: usize = 10;
const MAX_TITLE: usize = 1_000;
const MAX_FIELD: usize = 200;
/// The furthest ahead a risk acceptance may end.
pub const MAX_ACCEPT_DAYS: i64 = 366;

/// Days to fix a finding, by severity: its due date is when it was first seen plus these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct SlaDays {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    /// Informational findings have no due date unless this is set.
    pub info: Option<u32>,
}

impl Default for SlaDays {
    /// DefectDojo's defaults, which many teams know: 7, 30, 90 and 120 days.
    fn default() -> Self {
        SlaDays {
            critical: 7,
            high: 30,
            medium: 90,
            low: 120,
            info: None,
        }
    }
}

impl SlaDays {
    /// Days to fix a finding of `severity` (`None`: no due date).
    pub fn days(&self, severity: FindingSeverity) -> Option<u32> {
        match severity {
            FindingSeverity::Critical => Some(self.critical),
            FindingSeverity::High => Some(self.high),
            FindingSeverity::Medium => Some(self.medium),
            FindingSeverity::Low => Some(self.low),
            FindingSeverity::Info => self.info,
        }
    }
}

/// One result of a report, as every format is read into (see `palisade-findings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observed {
    /// Stable across runs for the same problem (no line numbers): what names the finding.
    pub fingerprint: String,
    pub kind: FindingKind,
    /// The rule or advisory id (`PAL-DF-001`, `GHSA-…`, `aws-access-key`).
    pub rule: String,
    pub title: String,
    pub severity: FindingSeverity,
    /// Where: `path:line` of code, or the lockfile or image it was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The affected package (`purl`, or `name@version`) for dependency and image findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

impl Observed {
    /// What is wrong with it, if anything.
    pub fn check(&self) -> Result<(), Refusal> {
        let bad = |what: &str| {
            refuse(
                rules::FINDING_INPUT,
                format!("a result's {what} is empty, too long or has control characters"),
            )
        };
        if !field_ok(&self.fingerprint, MAX_FIELD) {
            return bad("fingerprint");
        }
        if !field_ok(&self.rule, MAX_FIELD) {
            return bad("rule");
        }
        if self.title.chars().count() > MAX_TITLE {
            return bad("title");
        }
        for f in [&self.location, &self.package].into_iter().flatten() {
            if f.chars().count() > MAX_TITLE {
                return bad("location or package");
            }
        }
        Ok(())
    }
}

fn field_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

/// A person's verdict on an open finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageKind {
    /// The risk is accepted until the expiry (a waiver).
    Accepted,
    /// Not a real problem (until the expiry, when one is given).
    FalsePositive,
}

impl TriageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriageKind::Accepted => "accepted",
            TriageKind::FalsePositive => "false_positive",
        }
    }
}

/// A triage mark in force or expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triage {
    pub kind: TriageKind,
    pub by: UserName,
    pub reason: String,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl Triage {
    /// Whether the mark still holds at `now`.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }
}

/// What happened to a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FindingPayload {
    /// First reported, by run `run` of `scan`.
    Opened {
        service: Uuid,
        scan: Uuid,
        phase: Phase,
        run: u64,
        observed: Observed,
        /// First seen plus the SLA days of its severity; none for informational findings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_at: Option<Timestamp>,
    },
    /// Run `run` of its scan no longer reports it.
    Fixed {
        run: u64,
        /// When its scan last reported it (the run before).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<Timestamp>,
    },
    /// Run `run` of its scan reports it again after it was fixed.
    Reopened { run: u64 },
    /// Its risk was accepted until `expires_at`.
    Accepted {
        reason: String,
        expires_at: Timestamp,
    },
    /// Marked not a real problem.
    FalsePositive {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<Timestamp>,
    },
    /// The acceptance or false-positive mark was withdrawn: it counts as open again.
    TriageCleared { reason: String },
}

impl FindingPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            FindingPayload::Opened { .. } => "opened",
            FindingPayload::Fixed { .. } => "fixed",
            FindingPayload::Reopened { .. } => "reopened",
            FindingPayload::Accepted { .. } => "accepted",
            FindingPayload::FalsePositive { .. } => "false_positive",
            FindingPayload::TriageCleared { .. } => "triage_cleared",
        }
    }
    pub fn describe(&self) -> String {
        match self {
            FindingPayload::Opened {
                observed,
                run,
                due_at,
                ..
            } => {
                let due = due_at.map(|d| format!(", due {d}")).unwrap_or_default();
                format!(
                    "Opened by run {run}: {} {} ({}){due}",
                    observed.severity, observed.rule, observed.title
                )
            }
            FindingPayload::Fixed { run, .. } => format!("Fixed: run {run} no longer reports it"),
            FindingPayload::Reopened { run } => format!("Reopened: run {run} reports it again"),
            FindingPayload::Accepted { reason, expires_at } => {
                format!("Risk accepted until {expires_at}: {reason}")
            }
            FindingPayload::FalsePositive { reason, expires_at } => match expires_at {
                Some(e) => format!("Marked a false positive until {e}: {reason}"),
                None => format!("Marked a false positive: {reason}"),
            },
            FindingPayload::TriageCleared { reason } => format!("Mark withdrawn: {reason}"),
        }
    }
}

/// Opening a finding (the application does, for a result a run reports for the first time).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenFinding {
    pub service: Uuid,
    pub scan: Uuid,
    pub phase: Phase,
    pub run: u64,
    pub observed: Observed,
    /// The service's SLA (the deployment's, or its own).
    pub sla: SlaDays,
}

/// A change to a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum FindingCommand {
    /// Run `run` of its scan did not report it; `last_seen` is when the scan last ran before.
    Missing {
        run: u64,
        last_seen: Option<Timestamp>,
    },
    /// Run `run` of its scan reported it.
    Reported { run: u64 },
    Accept {
        reason: String,
        expires_at: Timestamp,
    },
    FalsePositive {
        reason: String,
        expires_at: Option<Timestamp>,
    },
    /// Withdraw an acceptance or false-positive mark.
    Reopen { reason: String },
}

/// Whether a scan still reports a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Open,
    Fixed,
}

/// A finding: a fold of its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingState {
    pub id: Uuid,
    pub service: Uuid,
    pub scan: Uuid,
    pub phase: Phase,
    pub observed: Observed,
    pub presence: Presence,
    pub first_seen: Timestamp,
    /// When a run last reported it, as far as its own events say (opened, reopened, or the run
    /// before the one that fixed it); while open, its scan's latest run is later
    /// ([`FindingState::last_seen_with`]).
    #[serde(default)]
    pub last_seen: Option<Timestamp>,
    /// When it was last fixed (while fixed).
    pub fixed_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    /// The latest mark (kept after expiry, so lists can say "acceptance expired").
    pub triage: Option<Triage>,
    pub reopened: u32,
    pub updated_at: Timestamp,
    pub history: Vec<HistoryEntry>,
    pub last_seq: u64,
}

/// What a finding counts as at a moment: what lists filter on and the gate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// Reported and not triaged (or its mark expired).
    Open,
    Accepted,
    FalsePositive,
    Fixed,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Accepted => "accepted",
            FindingStatus::FalsePositive => "false_positive",
            FindingStatus::Fixed => "fixed",
        }
    }
}

impl std::str::FromStr for FindingStatus {
    type Err = crate::types::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "open" => Ok(FindingStatus::Open),
            "accepted" => Ok(FindingStatus::Accepted),
            "false_positive" => Ok(FindingStatus::FalsePositive),
            "fixed" => Ok(FindingStatus::Fixed),
            _ => Err(crate::types::ParseError {
                what: "finding status",
                value: s.to_string(),
                expected: "open, accepted, false_positive or fixed",
            }),
        }
    }
}

impl FindingState {
    /// What it counts as at `now`: a mark past its expiry no longer holds.
    pub fn status_at(&self, now: Timestamp) -> FindingStatus {
        if self.presence == Presence::Fixed {
            return FindingStatus::Fixed;
        }
        match &self.triage {
            Some(t) if t.in_force(now) => match t.kind {
                TriageKind::Accepted => FindingStatus::Accepted,
                TriageKind::FalsePositive => FindingStatus::FalsePositive,
            },
            _ => FindingStatus::Open,
        }
    }
    /// When a run last reported it, given its scan's latest run: while its scan still reports
    /// it, that run; once fixed, the run before the fix.
    pub fn last_seen_with(&self, scan_last_run: Option<Timestamp>) -> Option<Timestamp> {
        match self.presence {
            Presence::Open => self.last_seen.max(scan_last_run),
            Presence::Fixed => self.last_seen,
        }
    }

    /// Open at `now` and past its due date.
    pub fn overdue_at(&self, now: Timestamp) -> bool {
        self.status_at(now) == FindingStatus::Open && self.due_at.is_some_and(|d| d <= now)
    }
    /// A risk acceptance that has run out on a finding still reported.
    pub fn acceptance_expired_at(&self, now: Timestamp) -> bool {
        self.presence == Presence::Open
            && self
                .triage
                .as_ref()
                .is_some_and(|t| t.kind == TriageKind::Accepted && !t.in_force(now))
    }

    fn record(&mut self, e: &Event<FindingPayload>) {
        self.history
            .push(HistoryEntry::of(e, e.data.kind(), e.data.describe()));
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
    }
}

fn writer(actor: &Actor) -> Result<(), Refusal> {
    if actor.account_role == AccountRole::Viewer {
        return refuse(
            rules::FINDING_READ_ONLY,
            "viewer accounts may read findings but not change them",
        );
    }
    Ok(())
}

fn reason(s: &str) -> Result<String, Refusal> {
    let r = s.trim();
    let n = r.chars().count();
    if !(MIN_REASON..=MAX_REASON).contains(&n) {
        return refuse(
            rules::FINDING_REASON,
            format!(
                "the reason is {n} characters; say why in {MIN_REASON}–{MAX_REASON} (an auditor \
                 will read it)"
            ),
        );
    }
    Ok(r.to_string())
}

fn add_days(t: Timestamp, days: u32) -> Timestamp {
    Timestamp::from_datetime(t.0 + time::Duration::days(i64::from(days)))
}

impl Aggregate for FindingState {
    const KIND: StreamKind = StreamKind::Finding;
    type Payload = FindingPayload;
    type Command = FindingCommand;
    type Create = OpenFinding;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Finding, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn from_first(e: &Event<FindingPayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Finding, e)?;
        let FindingPayload::Opened {
            service,
            scan,
            phase,
            observed,
            due_at,
            ..
        } = &e.data
        else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "opened",
                found: e.data.kind(),
            });
        };
        let mut st = FindingState {
            id: e.stream.id,
            service: *service,
            scan: *scan,
            phase: *phase,
            observed: observed.clone(),
            presence: Presence::Open,
            first_seen: e.recorded_at,
            last_seen: Some(e.recorded_at),
            fixed_at: None,
            due_at: *due_at,
            triage: None,
            reopened: 0,
            updated_at: e.recorded_at,
            history: Vec::new(),
            last_seq: 0,
        };
        st.record(e);
        Ok(st)
    }

    fn apply(&mut self, e: &Event<FindingPayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        match &e.data {
            FindingPayload::Opened { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "opened",
                });
            }
            FindingPayload::Fixed { last_seen, .. } => {
                self.presence = Presence::Fixed;
                self.fixed_at = Some(e.recorded_at);
                if last_seen.is_some() {
                    self.last_seen = *last_seen;
                }
            }
            FindingPayload::Reopened { .. } => {
                self.presence = Presence::Open;
                self.fixed_at = None;
                self.reopened += 1;
                self.last_seen = Some(e.recorded_at);
            }
            FindingPayload::Accepted { reason, expires_at } => {
                self.triage = Some(Triage {
                    kind: TriageKind::Accepted,
                    by: e.actor.clone(),
                    reason: reason.clone(),
                    at: e.occurred_at,
                    expires_at: Some(*expires_at),
                });
            }
            FindingPayload::FalsePositive { reason, expires_at } => {
                self.triage = Some(Triage {
                    kind: TriageKind::FalsePositive,
                    by: e.actor.clone(),
                    reason: reason.clone(),
                    at: e.occurred_at,
                    expires_at: *expires_at,
                });
            }
            FindingPayload::TriageCleared { .. } => self.triage = None,
        }
        self.record(e);
        Ok(())
    }

    fn create_role(_: &OpenFinding) -> AccountRole {
        AccountRole::Responder
    }

    fn decide_create(
        actor: &Actor,
        c: &OpenFinding,
        ctx: &Context<'_, ()>,
    ) -> Result<Vec<FindingPayload>, Refusal> {
        writer(actor)?;
        c.observed.check()?;
        Ok(vec![FindingPayload::Opened {
            service: c.service,
            scan: c.scan,
            phase: c.phase,
            run: c.run,
            observed: c.observed.clone(),
            due_at: c
                .sla
                .days(c.observed.severity)
                .map(|d| add_days(ctx.now, d)),
        }])
    }

    fn required_role(_: &FindingCommand) -> AccountRole {
        AccountRole::Responder
    }

    /// Every account sees every finding (findings say where a weakness is; they never hold a
    /// secret's value).
    fn visible_to(&self, _: &Actor, _: Option<&FindingCommand>, _: Timestamp) -> bool {
        true
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &FindingCommand,
        ctx: &Context<'_, ()>,
    ) -> Result<Vec<FindingPayload>, Refusal> {
        writer(actor)?;
        match cmd {
            // A run's report decides presence; repeating it changes nothing (an upload retried
            // after a crash converges).
            FindingCommand::Missing { run, last_seen } => Ok(match self.presence {
                Presence::Open => vec![FindingPayload::Fixed {
                    run: *run,
                    last_seen: *last_seen,
                }],
                Presence::Fixed => Vec::new(),
            }),
            FindingCommand::Reported { run } => Ok(match self.presence {
                Presence::Fixed => vec![FindingPayload::Reopened { run: *run }],
                Presence::Open => Vec::new(),
            }),
            FindingCommand::Accept {
                reason: r,
                expires_at,
            } => {
                self.triageable(TriageKind::Accepted, ctx.now)?;
                let r = reason(r)?;
                expiry(*expires_at, ctx.now)?;
                Ok(vec![FindingPayload::Accepted {
                    reason: r,
                    expires_at: *expires_at,
                }])
            }
            FindingCommand::FalsePositive {
                reason: r,
                expires_at,
            } => {
                self.triageable(TriageKind::FalsePositive, ctx.now)?;
                let r = reason(r)?;
                if let Some(e) = expires_at {
                    expiry(*e, ctx.now)?;
                }
                Ok(vec![FindingPayload::FalsePositive {
                    reason: r,
                    expires_at: *expires_at,
                }])
            }
            FindingCommand::Reopen { reason: r } => {
                if self.triage.is_none() {
                    return refuse(
                        rules::FINDING_UNCHANGED,
                        "the finding has no acceptance or false-positive mark to withdraw",
                    );
                }
                Ok(vec![FindingPayload::TriageCleared { reason: reason(r)? }])
            }
        }
    }
}

impl FindingState {
    fn triageable(&self, kind: TriageKind, now: Timestamp) -> Result<(), Refusal> {
        if self.presence == Presence::Fixed {
            return refuse(
                rules::FINDING_NOT_OPEN,
                "the finding is fixed: the latest run of its scan no longer reports it",
            );
        }
        if let Some(t) = &self.triage
            && t.kind == kind
            && t.in_force(now)
            && kind == TriageKind::FalsePositive
        {
            return refuse(
                rules::FINDING_UNCHANGED,
                "the finding already is marked a false positive",
            );
        }
        Ok(())
    }
}

fn expiry(expires_at: Timestamp, now: Timestamp) -> Result<(), Refusal> {
    if expires_at <= now {
        return refuse(
            rules::FINDING_EXPIRY,
            format!("the expiry {expires_at} is not in the future"),
        );
    }
    if expires_at.0 - now.0 > time::Duration::days(MAX_ACCEPT_DAYS) {
        return refuse(
            rules::FINDING_EXPIRY,
            format!(
                "the expiry {expires_at} is more than {MAX_ACCEPT_DAYS} days ahead; accept for \
                 less and review it again"
            ),
        );
    }
    Ok(())
}

/// What one run of a scan found, against what the scan held before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunCounts {
    /// Distinct results in the report.
    pub results: u32,
    pub new: u32,
    pub fixed: u32,
    pub reopened: u32,
    /// Reported before and again.
    pub unchanged: u32,
}

/// What an environment runs: an SBOM uploaded for it, kept to be matched again whenever the
/// vulnerability data changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployed {
    /// The release it is (a version, a tag), as the uploader named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Its components by package URL (sorted, distinct).
    pub components: Vec<String>,
}

/// What happened to a scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScanPayload {
    Created {
        service: Uuid,
        phase: Phase,
        tool: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A report was uploaded and compared with the scan's findings.
    Ran {
        run: u64,
        /// The report's format (`sarif`, `cyclonedx`, `osv`, `palisade-secrets`, …).
        format: String,
        /// SHA-256 of the uploaded bytes (hex), so the report can be matched to its file.
        sha256: String,
        counts: RunCounts,
        /// An SBOM uploaded as what an environment runs (the scan's name is the environment).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deployed: Option<Deployed>,
    },
}

impl ScanPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            ScanPayload::Created { .. } => "created",
            ScanPayload::Ran { .. } => "ran",
        }
    }
    pub fn describe(&self) -> String {
        match self {
            ScanPayload::Created {
                phase, tool, name, ..
            } => match name {
                Some(n) => format!("Scan {tool} ({n}) in phase {phase}"),
                None => format!("Scan {tool} in phase {phase}"),
            },
            ScanPayload::Ran {
                run,
                format,
                counts: c,
                ..
            } => format!(
                "Run {run} ({format}): {} results, {} new, {} fixed, {} reopened",
                c.results, c.new, c.fixed, c.reopened
            ),
        }
    }
}

/// Starting a scan (at its first upload).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateScan {
    pub service: Uuid,
    pub phase: Phase,
    pub tool: String,
    pub name: Option<String>,
}

impl CreateScan {
    /// The unique key of the scan: one per service, phase, tool and name.
    pub fn key(&self) -> String {
        scan_key(
            self.service,
            self.phase,
            &self.tool,
            self.name.as_deref().unwrap_or(""),
        )
    }
}

/// The unique key of a scan.
pub fn scan_key(service: Uuid, phase: Phase, tool: &str, name: &str) -> String {
    format!("{service}/{phase}/{tool}/{name}")
}

/// A run to record on a scan.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanCommand {
    Ran {
        run: u64,
        format: String,
        sha256: String,
        counts: RunCounts,
        deployed: Option<Deployed>,
    },
}

/// A scan: a fold of its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanState {
    pub id: Uuid,
    pub service: Uuid,
    pub phase: Phase,
    pub tool: String,
    pub name: Option<String>,
    /// Runs recorded.
    pub runs: u64,
    pub last_run_at: Option<Timestamp>,
    pub last_counts: Option<RunCounts>,
    /// The last run's report format.
    #[serde(default)]
    pub last_format: Option<String>,
    /// What the environment (the scan's name) runs, from the last SBOM uploaded for it.
    #[serde(default)]
    pub deployed: Option<Deployed>,
    pub created_at: Timestamp,
    pub history: Vec<HistoryEntry>,
    pub last_seq: u64,
}

impl ScanState {
    /// Its unique key.
    pub fn key(&self) -> String {
        scan_key(
            self.service,
            self.phase,
            &self.tool,
            self.name.as_deref().unwrap_or(""),
        )
    }
}

fn label_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 100 && !s.chars().any(char::is_control)
}

impl Aggregate for ScanState {
    const KIND: StreamKind = StreamKind::Scan;
    type Payload = ScanPayload;
    type Command = ScanCommand;
    type Create = CreateScan;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Scan, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }
    fn from_first(e: &Event<ScanPayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Scan, e)?;
        let ScanPayload::Created {
            service,
            phase,
            tool,
            name,
        } = &e.data
        else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "created",
                found: e.data.kind(),
            });
        };
        Ok(ScanState {
            id: e.stream.id,
            service: *service,
            phase: *phase,
            tool: tool.clone(),
            name: name.clone(),
            runs: 0,
            last_run_at: None,
            last_counts: None,
            last_format: None,
            deployed: None,
            created_at: e.recorded_at,
            history: vec![HistoryEntry::of(e, e.data.kind(), e.data.describe())],
            last_seq: e.seq,
        })
    }
    fn apply(&mut self, e: &Event<ScanPayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        match &e.data {
            ScanPayload::Created { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "created",
                });
            }
            ScanPayload::Ran {
                run,
                counts,
                format,
                deployed,
                ..
            } => {
                if *run != self.runs + 1 {
                    return Err(FoldError::Inconsistent {
                        seq: e.seq,
                        message: format!("run {run} follows run {}", self.runs),
                    });
                }
                self.runs = *run;
                self.last_run_at = Some(e.recorded_at);
                self.last_counts = Some(*counts);
                self.last_format = Some(format.clone());
                if deployed.is_some() {
                    self.deployed = deployed.clone();
                }
            }
        }
        self.history
            .push(HistoryEntry::of(e, e.data.kind(), e.data.describe()));
        self.last_seq = e.seq;
        Ok(())
    }
    fn create_role(_: &CreateScan) -> AccountRole {
        AccountRole::Responder
    }
    fn decide_create(
        actor: &Actor,
        c: &CreateScan,
        _: &Context<'_, ()>,
    ) -> Result<Vec<ScanPayload>, Refusal> {
        writer(actor)?;
        if !label_ok(&c.tool) || c.name.as_deref().is_some_and(|n| !label_ok(n)) {
            return refuse(
                rules::SCAN_INPUT,
                "a scan's tool and name are 1–100 printable characters",
            );
        }
        Ok(vec![ScanPayload::Created {
            service: c.service,
            phase: c.phase,
            tool: c.tool.clone(),
            name: c.name.clone(),
        }])
    }
    fn required_role(_: &ScanCommand) -> AccountRole {
        AccountRole::Responder
    }
    fn visible_to(&self, _: &Actor, _: Option<&ScanCommand>, _: Timestamp) -> bool {
        true
    }
    fn decide(
        &self,
        actor: &Actor,
        cmd: &ScanCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<ScanPayload>, Refusal> {
        writer(actor)?;
        let ScanCommand::Ran {
            run,
            format,
            sha256,
            counts,
            deployed,
        } = cmd;
        if *run != self.runs + 1 {
            // Another upload of this scan was recorded since this one was compared: the
            // application compares again (a conflict, retried).
            return refuse(
                rules::FINDING_UNCHANGED,
                format!(
                    "run {run} was compared against run {}, but the scan is at run {}",
                    run - 1,
                    self.runs
                ),
            );
        }
        Ok(vec![ScanPayload::Ran {
            run: *run,
            format: format.clone(),
            sha256: sha256.clone(),
            counts: *counts,
            deployed: deployed.clone(),
        }])
    }
}
