//! Evidence and its chain of custody, reads of restricted incidents, and break-glass access.
//!
//! Like the rest of the core this does no I/O: the server stores and hashes the content and
//! passes in what it measured (`sha256`, `size`) and the current time; the rules here decide
//! which events that produces.

use crate::event::{Payload, Timestamp};
use crate::incident::{Actor, IncidentState, Refusal, rules};
use crate::rule::refuse;
use crate::types::{AccountRole, Role, Status, UserName};
use serde::{Deserialize, Serialize};

/// Rules specific to custody and confidentiality.
pub mod custody_rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// The hash given at acquisition differs from the content received.
    pub const EVIDENCE_HASH_MISMATCH: Rule = Rule::new(
        "evidence-hash-mismatch",
        InvalidInput,
        "evidence is recorded only if its content hashes to the hash given at acquisition",
    );
    /// Only the current custodian or the Incident Commander may hand evidence on.
    pub const CUSTODIAN_ONLY: Rule = Rule::new(
        "custodian-only",
        Permission,
        "only the current custodian or the Incident Commander hands evidence on",
    );
    /// Evidence of a restricted incident may only be handed to a member.
    pub const CUSTODY_MEMBERS_ONLY: Rule = Rule::new(
        "custody-members-only",
        Precondition,
        "evidence of a restricted incident is handed only to its members",
    );
    /// Break-glass is for admins, on restricted incidents they are not a member of, with a reason.
    pub const BREAK_GLASS: Rule = Rule::new(
        "break-glass",
        Permission,
        "break-glass is for admins who are not members, on restricted incidents, with a written reason",
    );

    /// Every custody rule.
    pub const ALL: &[Rule] = &[
        EVIDENCE_HASH_MISMATCH,
        CUSTODIAN_ONLY,
        CUSTODY_MEMBERS_ONLY,
        BREAK_GLASS,
    ];
}

/// Longest break-glass window, in minutes (8 hours).
pub const BREAK_GLASS_MAX_MINUTES: u32 = 480;
/// Break-glass window when none is asked for, in minutes.
pub const BREAK_GLASS_DEFAULT_MINUTES: u32 = 60;

/// One hand in the chain of custody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustodyEntry {
    /// Ledger sequence number of the event.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub seq: u64,
    /// `acquired`, `transferred`, `accessed`, `exported` or `integrity_failed`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::custody_action))]
    pub action: String,
    pub by: UserName,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<UserName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<UserName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The hash the content had when this step re-checked it: absent when the check failed,
    /// and for a download (`accessed`) until its outcome records that it was sent whole and
    /// matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For a download (`accessed`): how it ended, as its outcome event records. Absent when no
    /// outcome is recorded (it is under way, or it ended with nothing recorded): unverified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AccessOutcome>,
}

/// How a download ended, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccessResult {
    /// Sent whole, and the content matched its recorded hash (`evidence_access_verified`).
    Verified,
    /// The client went away before the end (`evidence_access_incomplete`).
    Incomplete,
    /// The content did not match, or did not decrypt, and the transfer was broken off
    /// (`evidence_integrity_failed`).
    IntegrityFailed,
}

/// The outcome of a download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessOutcome {
    /// Ledger sequence number of the outcome event.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub seq: u64,
    pub result: AccessResult,
    /// Bytes sent (all of them when verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<u64>,
}

/// A piece of evidence as the ledger describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceState {
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub n: u32,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    pub size: u64,
    pub source: String,
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub acquired_by: UserName,
    pub acquired_at: Timestamp,
    /// Who holds it now.
    pub custodian: UserName,
    /// True once a re-check found the stored content different from `sha256`.
    pub integrity_failed: bool,
    pub custody: Vec<CustodyEntry>,
}

/// A break-glass grant: `user` may read the incident until `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakGlassGrant {
    pub seq: u64,
    pub user: UserName,
    pub reason: String,
    pub granted_at: Timestamp,
    pub until: Timestamp,
}

/// What a valid evidence name is, as error messages and documentation say it.
pub const EVIDENCE_NAME_RULE: &str = "An evidence name is a portable file name: 1–255 bytes of UTF-8, not `.` or `..`, without `/` or `\\`, control characters, bidirectional-text controls or any of `< > : \" | ? *`, not ending in a dot or a space, and not a device name Windows reserves (CON, PRN, AUX, NUL, COM0–COM9, LPT0–LPT9, alone or before an extension)";

/// The name of a piece of evidence: a file name that means the same file on every system the
/// evidence may be exported to, downloaded to or examined on (forensic workstations are often
/// Windows), so an export bundle holds it as one file under `evidence/E<n>/` and an analyst can
/// unpack it anywhere. See [`EVIDENCE_NAME_RULE`].
///
/// Names recorded before this rule keep their bytes in the ledger (an `evidence_acquired`
/// event's `name` is a plain string); export bundles write those that are no file name (`.`,
/// `..`) as underscores (docs/ledger-format.md, "Export bundles").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EvidenceName(String);

/// Why a name is not an [`EvidenceName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shown} is not a valid evidence name: {problem}. {EVIDENCE_NAME_RULE}.")]
pub struct EvidenceNameError {
    /// The name as given, quoted (shortened when long).
    shown: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Device names Windows reserves, alone or before an extension (`NUL`, `nul.txt`). Windows
/// counts the superscript digits ¹ ² ³ as digits here too.
const WINDOWS_DEVICES: &[&str] = &["CON", "PRN", "AUX", "NUL"];

/// Characters Windows refuses in file names (besides `/`, `\\` and control characters).
const WINDOWS_RESERVED_CHARS: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

/// Unicode controls that reorder how text is displayed: a name holding one shows as another
/// (`gpj.exe` + U+202E reads as `exe.jpg`).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn is_windows_device(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_uppercase();
    if WINDOWS_DEVICES.contains(&upper.as_str()) {
        return true;
    }
    let mut chars = upper.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let rest: Vec<char> = chars.collect();
    (prefix == "COM" || prefix == "LPT")
        && matches!(rest[..], [d] if d.is_ascii_digit() || matches!(d, '¹' | '²' | '³'))
}

impl EvidenceName {
    /// The longest name, in bytes of UTF-8 (what file systems and tar headers count).
    pub const MAX_BYTES: usize = 255;

    /// Check `s` against [`EVIDENCE_NAME_RULE`]; it is kept exactly as given.
    pub fn parse(s: &str) -> Result<EvidenceName, EvidenceNameError> {
        let problem = if s.is_empty() {
            Some("it is empty".to_string())
        } else if s.len() > Self::MAX_BYTES {
            Some(format!(
                "it is {} bytes long, more than {}",
                s.len(),
                Self::MAX_BYTES
            ))
        } else if s == "." || s == ".." {
            Some(format!("`{s}` names a directory, not a file"))
        } else if s.contains('/') || s.contains('\\') {
            Some("it contains `/` or `\\`: it must name a file, not a path".to_string())
        } else if let Some(c) = s.chars().find(|c| c.is_control()) {
            Some(format!(
                "it contains the control character U+{:04X}",
                c as u32
            ))
        } else if let Some(c) = s.chars().find(|c| is_bidi_control(*c)) {
            Some(format!(
                "it contains U+{:04X}, which changes how the name is displayed",
                c as u32
            ))
        } else if let Some(c) = s.chars().find(|c| WINDOWS_RESERVED_CHARS.contains(c)) {
            Some(format!("it contains `{c}`, which Windows does not allow"))
        } else if s.ends_with('.') || s.ends_with(' ') {
            Some("it ends in a dot or a space, which Windows drops".to_string())
        } else if is_windows_device(s) {
            Some("Windows reserves it for a device".to_string())
        } else {
            None
        };
        match problem {
            None => Ok(EvidenceName(s.to_string())),
            Some(problem) => {
                let shown = if s.chars().count() > 60 {
                    format!("{:?}…", s.chars().take(60).collect::<String>())
                } else {
                    format!("{s:?}")
                };
                Err(EvidenceNameError { shown, problem })
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EvidenceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EvidenceName {
    type Err = EvidenceNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EvidenceName::parse(s)
    }
}

impl TryFrom<String> for EvidenceName {
    type Error = EvidenceNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EvidenceName::parse(&s)
    }
}

impl From<EvidenceName> for String {
    fn from(n: EvidenceName) -> String {
        n.0
    }
}

impl From<EvidenceNameError> for Refusal {
    fn from(e: EvidenceNameError) -> Refusal {
        Refusal::new(rules::INVALID_INPUT, e.to_string())
    }
}

/// What someone asks for about evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum EvidenceCommand {
    /// Record content the server has already stored and hashed.
    Acquire {
        name: EvidenceName,
        sha256: String,
        size: u64,
        source: String,
        tool: String,
        original_sha256: Option<String>,
        note: Option<String>,
    },
    /// Hand evidence to someone else; `verified_sha256` is what the server just measured.
    Transfer {
        evidence: u32,
        to: UserName,
        purpose: String,
        verified_sha256: String,
    },
    /// Release the content to the actor (a download starts). Its outcome follows as one of
    /// `AccessCompleted`, `AccessIncomplete` or `IntegrityFailed` naming this access.
    Access { evidence: u32, purpose: String },
    /// The download `access` (the sequence number of its `evidence_accessed` event) was read to
    /// the end: what the content measured. Verified when it matches the record, an integrity
    /// failure otherwise.
    AccessCompleted {
        evidence: u32,
        access: u64,
        sha256: String,
        size: u64,
    },
    /// The download `access` ended early: `sent` bytes went out before the client went away.
    AccessIncomplete {
        evidence: u32,
        access: u64,
        sent: u64,
    },
    /// Include the evidence in an export; `verified_sha256` is what the server just measured.
    Export {
        evidence: u32,
        purpose: String,
        verified_sha256: String,
    },
    /// A re-check found the stored content different (or unreadable); during a download,
    /// `access` names it.
    IntegrityFailed {
        evidence: u32,
        found_sha256: Option<String>,
        during: String,
        detail: String,
        access: Option<u64>,
    },
}

/// Whether `s` is a lowercase hex SHA-256.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn text(field: &str, s: &str, max: usize) -> Result<(), Refusal> {
    if s.trim().is_empty() {
        return refuse(rules::INVALID_INPUT, format!("{field} must not be empty"));
    }
    if s.chars().count() > max {
        return refuse(
            rules::INVALID_INPUT,
            format!("{field} is longer than {max} characters"),
        );
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return refuse(
            rules::INVALID_INPUT,
            format!("{field} must not contain control characters"),
        );
    }
    Ok(())
}

impl IncidentState {
    /// Look up evidence by number.
    pub fn evidence_item(&self, n: u32) -> Result<&EvidenceState, Refusal> {
        self.evidence.iter().find(|e| e.n == n).map_or_else(
            || {
                refuse(
                    rules::UNKNOWN_REFERENCE,
                    format!(
                        "incident {} has no evidence E{n} (it has {})",
                        self.codename,
                        self.evidence.len()
                    ),
                )
            },
            Ok,
        )
    }

    /// Whether `user` may read this incident at `now`: open incidents are visible to every
    /// account; restricted ones to members and to holders of an unexpired break-glass grant.
    pub fn visible_to_at(&self, user: &UserName, now: Timestamp) -> bool {
        self.visible_to(user) || self.break_glass_active(user, now).is_some()
    }

    /// The unexpired break-glass grant `user` holds, if any.
    pub fn break_glass_active(&self, user: &UserName, now: Timestamp) -> Option<&BreakGlassGrant> {
        self.break_glass
            .iter()
            .rev()
            .find(|g| &g.user == user && g.until > now)
    }

    /// The download `access` of evidence `n` by `actor` whose outcome is not recorded yet.
    fn pending_access(&self, actor: &Actor, n: u32, access: u64) -> Result<(), Refusal> {
        let item = self.evidence_item(n)?;
        let Some(entry) = item
            .custody
            .iter()
            .find(|c| c.seq == access && c.action == "accessed" && c.by == actor.user)
        else {
            return refuse(
                rules::UNKNOWN_REFERENCE,
                format!(
                    "ledger event {access} is not a download of E{n} by {}",
                    actor.user
                ),
            );
        };
        if let Some(o) = &entry.outcome {
            return refuse(
                rules::INVALID_TRANSITION,
                format!(
                    "the download of E{n} at ledger event {access} already has its outcome (event {})",
                    o.seq
                ),
            );
        }
        Ok(())
    }

    /// Decide an evidence command (reached through [`IncidentState::decide`], which has already
    /// refused viewers and break-glass readers the commands that change custody).
    pub(crate) fn decide_evidence(
        &self,
        actor: &Actor,
        cmd: &EvidenceCommand,
    ) -> Result<Vec<Payload>, Refusal> {
        match cmd {
            EvidenceCommand::Acquire {
                name,
                sha256,
                size,
                source,
                tool,
                original_sha256,
                note,
            } => {
                if self.status == Status::Closed {
                    return refuse(
                        rules::INCIDENT_CLOSED,
                        "the incident is closed; evidence can no longer be added",
                    );
                }
                text("source", source, 500)?;
                text("tool", tool, 500)?;
                if let Some(n) = note {
                    text("note", n, 10_000)?;
                }
                if !is_sha256_hex(sha256) {
                    return refuse(
                        rules::INVALID_INPUT,
                        "sha256 must be 64 lowercase hex digits",
                    );
                }
                let original = match original_sha256 {
                    Some(o) => {
                        let o = o.trim().to_ascii_lowercase();
                        if !is_sha256_hex(&o) {
                            return refuse(
                                rules::INVALID_INPUT,
                                "the original SHA-256 must be 64 hex digits",
                            );
                        }
                        if &o != sha256 {
                            return refuse(
                                custody_rules::EVIDENCE_HASH_MISMATCH,
                                format!(
                                    "the content received hashes to {sha256}, but the hash recorded at acquisition is {o}; the file changed (or is not the one acquired) and was not recorded"
                                ),
                            );
                        }
                        Some(o)
                    }
                    None => None,
                };
                Ok(vec![Payload::EvidenceAcquired {
                    evidence: self.evidence.len() as u32 + 1,
                    name: name.to_string(),
                    sha256: sha256.clone(),
                    size: *size,
                    source: source.trim().to_string(),
                    tool: tool.trim().to_string(),
                    original_sha256: original,
                    note: note.clone(),
                }])
            }
            EvidenceCommand::Transfer {
                evidence,
                to,
                purpose,
                verified_sha256,
            } => {
                let item = self.evidence_item(*evidence)?;
                text("purpose", purpose, 2_000)?;
                if item.custodian != actor.user
                    && !self.has_role(&actor.user, Role::IncidentCommander)
                {
                    return refuse(
                        custody_rules::CUSTODIAN_ONLY,
                        format!(
                            "E{evidence} is held by {}; only its custodian or the Incident Commander may hand it on",
                            item.custodian
                        ),
                    );
                }
                if &item.custodian == to {
                    return refuse(
                        rules::INVALID_TRANSITION,
                        format!("{to} already holds E{evidence}"),
                    );
                }
                if self.restricted && !self.is_member(to) {
                    return refuse(
                        custody_rules::CUSTODY_MEMBERS_ONLY,
                        format!(
                            "{to} is not a member of this restricted incident; the Incident Commander assigns them a role first"
                        ),
                    );
                }
                if verified_sha256 != &item.sha256 {
                    return Ok(vec![Payload::EvidenceIntegrityFailed {
                        evidence: *evidence,
                        expected_sha256: item.sha256.clone(),
                        found_sha256: Some(verified_sha256.clone()),
                        during: "transfer".into(),
                        detail: "the stored content no longer matches its recorded hash; custody was not transferred".into(),
                        access: None,
                    }]);
                }
                Ok(vec![Payload::EvidenceTransferred {
                    evidence: *evidence,
                    from: item.custodian.clone(),
                    to: to.clone(),
                    purpose: purpose.trim().to_string(),
                    verified_sha256: verified_sha256.clone(),
                }])
            }
            EvidenceCommand::Access { evidence, purpose } => {
                let item = self.evidence_item(*evidence)?;
                text("purpose", purpose, 2_000)?;
                Ok(vec![Payload::EvidenceAccessed {
                    evidence: *evidence,
                    purpose: purpose.trim().to_string(),
                    sha256: item.sha256.clone(),
                }])
            }
            EvidenceCommand::Export {
                evidence,
                purpose,
                verified_sha256,
            } => {
                let item = self.evidence_item(*evidence)?;
                text("purpose", purpose, 2_000)?;
                if verified_sha256 != &item.sha256 {
                    return Ok(vec![Payload::EvidenceIntegrityFailed {
                        evidence: *evidence,
                        expected_sha256: item.sha256.clone(),
                        found_sha256: Some(verified_sha256.clone()),
                        during: "export".into(),
                        detail: "the stored content no longer matches its recorded hash; it was not exported".into(),
                        access: None,
                    }]);
                }
                Ok(vec![Payload::EvidenceExported {
                    evidence: *evidence,
                    purpose: purpose.trim().to_string(),
                    verified_sha256: verified_sha256.clone(),
                }])
            }
            EvidenceCommand::AccessCompleted {
                evidence,
                access,
                sha256,
                size,
            } => {
                self.pending_access(actor, *evidence, *access)?;
                let item = self.evidence_item(*evidence)?;
                if sha256 == &item.sha256 && *size == item.size {
                    return Ok(vec![Payload::EvidenceAccessVerified {
                        evidence: *evidence,
                        access: *access,
                        sha256: sha256.clone(),
                        size: *size,
                    }]);
                }
                let detail = if sha256 != &item.sha256 {
                    "the content does not match its recorded hash; the download was broken off before its end".to_string()
                } else {
                    format!(
                        "the content is {size} bytes, not the {} recorded; the download was broken off before its end",
                        item.size
                    )
                };
                Ok(vec![Payload::EvidenceIntegrityFailed {
                    evidence: *evidence,
                    expected_sha256: item.sha256.clone(),
                    found_sha256: Some(sha256.clone()),
                    during: "download".into(),
                    detail,
                    access: Some(*access),
                }])
            }
            EvidenceCommand::AccessIncomplete {
                evidence,
                access,
                sent,
            } => {
                self.pending_access(actor, *evidence, *access)?;
                Ok(vec![Payload::EvidenceAccessIncomplete {
                    evidence: *evidence,
                    access: *access,
                    sent: *sent,
                }])
            }
            EvidenceCommand::IntegrityFailed {
                evidence,
                found_sha256,
                during,
                detail,
                access,
            } => {
                if let Some(a) = access {
                    self.pending_access(actor, *evidence, *a)?;
                }
                let item = self.evidence_item(*evidence)?;
                Ok(vec![Payload::EvidenceIntegrityFailed {
                    evidence: *evidence,
                    expected_sha256: item.sha256.clone(),
                    found_sha256: found_sha256.clone(),
                    during: during.clone(),
                    detail: detail.clone(),
                    access: *access,
                }])
            }
        }
    }

    /// Decide a break-glass request by `actor` at `now` for `minutes` (default 60, at most 480).
    pub(crate) fn decide_break_glass(
        &self,
        actor: &Actor,
        reason: &str,
        minutes: Option<u32>,
        now: Timestamp,
    ) -> Result<Vec<Payload>, Refusal> {
        if actor.account_role != AccountRole::Admin {
            return refuse(
                custody_rules::BREAK_GLASS,
                "only admins may use break-glass",
            );
        }
        if !self.restricted {
            return refuse(
                custody_rules::BREAK_GLASS,
                "this incident is not restricted; every account can already read it",
            );
        }
        if self.is_member(&actor.user) {
            return refuse(
                custody_rules::BREAK_GLASS,
                "you are a member of this incident and can already read it",
            );
        }
        let reason = reason.trim();
        text("reason", reason, 2_000)?;
        if reason.split_whitespace().count() < 3 {
            return refuse(
                custody_rules::BREAK_GLASS,
                "break-glass needs a written reason (a sentence saying why you must see this incident)",
            );
        }
        let minutes = minutes.unwrap_or(BREAK_GLASS_DEFAULT_MINUTES);
        if minutes == 0 || minutes > BREAK_GLASS_MAX_MINUTES {
            return refuse(
                rules::INVALID_INPUT,
                format!("break-glass lasts 1 … {BREAK_GLASS_MAX_MINUTES} minutes"),
            );
        }
        let until = Timestamp::from_datetime(now.utc() + time::Duration::minutes(minutes.into()));
        Ok(vec![Payload::BreakGlass {
            reason: reason.to_string(),
            until,
        }])
    }

    /// The event recording a read of this incident, when one must be recorded (restricted
    /// incidents only). Reads are recorded for every reader, members included.
    pub fn access_event(&self, what: &str, via: &str) -> Option<Payload> {
        self.restricted.then(|| Payload::Accessed {
            what: what.to_string(),
            via: via.to_string(),
        })
    }

    /// Fold a custody, access or break-glass event. Returns false for other payloads.
    pub(crate) fn apply_custody(&mut self, e: &crate::event::Event) -> bool {
        let entry = |action: &str| CustodyEntry {
            seq: e.seq,
            action: action.to_string(),
            by: e.actor.clone(),
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            from: None,
            to: None,
            purpose: None,
            verified_sha256: None,
            detail: None,
            outcome: None,
        };
        // Record the outcome of download `access` of evidence `n`.
        let mut settle = |n: u32, access: u64, result: AccessResult, sent: Option<u64>| {
            if let Some(c) = self
                .evidence
                .iter_mut()
                .find(|i| i.n == n)
                .and_then(|i| i.custody.iter_mut().find(|c| c.seq == access))
            {
                c.outcome = Some(AccessOutcome {
                    seq: e.seq,
                    result,
                    sent,
                });
                c.verified_sha256 = match (result, &e.data) {
                    (AccessResult::Verified, Payload::EvidenceAccessVerified { sha256, .. }) => {
                        Some(sha256.clone())
                    }
                    _ => None,
                };
            }
        };
        match &e.data {
            Payload::EvidenceAcquired {
                evidence,
                name,
                sha256,
                size,
                source,
                tool,
                original_sha256,
                note,
            } => {
                let mut first = entry("acquired");
                first.detail = Some(format!("from {source} with {tool}"));
                first.verified_sha256 = Some(sha256.clone());
                self.evidence.push(EvidenceState {
                    n: *evidence,
                    name: name.clone(),
                    sha256: sha256.clone(),
                    size: *size,
                    source: source.clone(),
                    tool: tool.clone(),
                    original_sha256: original_sha256.clone(),
                    note: note.clone(),
                    acquired_by: e.actor.clone(),
                    acquired_at: e.occurred_at,
                    custodian: e.actor.clone(),
                    integrity_failed: false,
                    custody: vec![first],
                });
            }
            Payload::EvidenceTransferred {
                evidence,
                from,
                to,
                purpose,
                verified_sha256,
            } => {
                let mut c = entry("transferred");
                c.from = Some(from.clone());
                c.to = Some(to.clone());
                c.purpose = Some(purpose.clone());
                c.verified_sha256 = Some(verified_sha256.clone());
                if let Some(item) = self.evidence.iter_mut().find(|i| i.n == *evidence) {
                    item.custodian = to.clone();
                    item.custody.push(c);
                }
            }
            Payload::EvidenceAccessed {
                evidence, purpose, ..
            } => {
                // `sha256` is the hash expected, not a measurement: the outcome says whether the
                // content matched.
                let mut c = entry("accessed");
                c.purpose = Some(purpose.clone());
                if let Some(item) = self.evidence.iter_mut().find(|i| i.n == *evidence) {
                    item.custody.push(c);
                }
            }
            Payload::EvidenceAccessVerified {
                evidence,
                access,
                size,
                ..
            } => settle(*evidence, *access, AccessResult::Verified, Some(*size)),
            Payload::EvidenceAccessIncomplete {
                evidence,
                access,
                sent,
            } => settle(*evidence, *access, AccessResult::Incomplete, Some(*sent)),
            Payload::EvidenceExported {
                evidence,
                purpose,
                verified_sha256,
            } => {
                let mut c = entry("exported");
                c.purpose = Some(purpose.clone());
                c.verified_sha256 = Some(verified_sha256.clone());
                if let Some(item) = self.evidence.iter_mut().find(|i| i.n == *evidence) {
                    item.custody.push(c);
                }
            }
            Payload::EvidenceIntegrityFailed {
                evidence,
                found_sha256,
                during,
                detail,
                access,
                ..
            } => {
                if let Some(a) = access {
                    settle(*evidence, *a, AccessResult::IntegrityFailed, None);
                }
                let mut c = entry("integrity_failed");
                c.purpose = Some(during.clone());
                c.detail = Some(match found_sha256 {
                    Some(f) => format!("{detail} (found SHA-256 {f})"),
                    None => detail.clone(),
                });
                if let Some(item) = self.evidence.iter_mut().find(|i| i.n == *evidence) {
                    item.integrity_failed = true;
                    item.custody.push(c);
                }
            }
            Payload::Accessed { .. } => self.reads += 1,
            Payload::BreakGlass { reason, until } => self.break_glass.push(BreakGlassGrant {
                seq: e.seq,
                user: e.actor.clone(),
                reason: reason.clone(),
                granted_at: e.recorded_at,
                until: *until,
            }),
            Payload::Exported { .. } => {}
            _ => return false,
        }
        true
    }
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {} ({n} bytes)", UNITS[u])
    }
}

/// Escape text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A custody report in Markdown: what the evidence is, and every hand it passed through, in
/// ledger order, each with its ledger sequence number so a reader can check it against the signed
/// record.
pub fn custody_report_markdown(
    codename: &str,
    incident: &uuid::Uuid,
    item: &EvidenceState,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "# Chain of custody: {codename}/E{}", item.n);
    let _ = writeln!(s);
    let _ = writeln!(s, "| | |");
    let _ = writeln!(s, "|---|---|");
    let _ = writeln!(s, "| Incident | {codename} (`{incident}`) |");
    let _ = writeln!(s, "| Evidence | E{} — {} |", item.n, cell(&item.name));
    let _ = writeln!(s, "| SHA-256 | `{}` |", item.sha256);
    let _ = writeln!(s, "| Size | {} |", human_size(item.size));
    let _ = writeln!(s, "| Acquired from | {} |", cell(&item.source));
    let _ = writeln!(s, "| Acquisition tool | {} |", cell(&item.tool));
    let _ = writeln!(
        s,
        "| Hash recorded at acquisition | {} |",
        match &item.original_sha256 {
            Some(o) => format!("`{o}` (matches)"),
            None => "not given".into(),
        }
    );
    let _ = writeln!(
        s,
        "| Acquired by | {} at {} |",
        item.acquired_by, item.acquired_at
    );
    let _ = writeln!(s, "| Current custodian | {} |", item.custodian);
    let unverified = item
        .custody
        .iter()
        .filter(|c| {
            c.action == "accessed"
                && !matches!(
                    c.outcome,
                    Some(AccessOutcome {
                        result: AccessResult::Verified,
                        ..
                    })
                )
        })
        .count();
    let _ = writeln!(
        s,
        "| Integrity | {} |",
        if item.integrity_failed {
            "**FAILED** at least once: see below".to_string()
        } else if unverified > 0 {
            format!(
                "no re-check failed; {unverified} download{} not verified to the end: see below",
                if unverified == 1 { " was" } else { "s were" }
            )
        } else {
            "every re-check matched the recorded hash".to_string()
        }
    );
    if let Some(n) = &item.note {
        let _ = writeln!(s, "| Note | {} |", cell(n));
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Custody log");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| Ledger # | Occurred | Recorded | Action | By | From → To | Purpose | Hash re-checked |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for c in &item.custody {
        let hands = match (&c.from, &c.to) {
            (Some(f), Some(t)) => format!("{f} → {t}"),
            _ => String::new(),
        };
        let purpose = match (&c.purpose, &c.detail) {
            (Some(p), Some(d)) => format!("{p}: {d}"),
            (Some(p), None) => p.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => String::new(),
        };
        let hash = if c.action == "accessed" {
            // A download matched only if its outcome says it was sent whole and matched.
            match &c.outcome {
                Some(o) => match o.result {
                    AccessResult::Verified if c.verified_sha256.as_ref() == Some(&item.sha256) => {
                        format!("✔ matches, sent whole (#{})", o.seq)
                    }
                    AccessResult::Verified => format!(
                        "✘ `{}` (#{})",
                        c.verified_sha256.as_deref().unwrap_or("?"),
                        o.seq
                    ),
                    AccessResult::Incomplete => format!(
                        "incomplete: {} bytes sent, unverified (#{})",
                        o.sent.unwrap_or(0),
                        o.seq
                    ),
                    AccessResult::IntegrityFailed => {
                        format!("✘ failed, broken off (#{})", o.seq)
                    }
                },
                None => "unverified: no outcome recorded".to_string(),
            }
        } else {
            match &c.verified_sha256 {
                Some(h) if *h == item.sha256 => "✔ matches".to_string(),
                Some(h) => format!("✘ `{h}`"),
                None => "✘ failed".to_string(),
            }
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            c.seq,
            c.occurred_at,
            c.recorded_at,
            c.action,
            c.by,
            cell(&hands),
            cell(&purpose),
            hash
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Each row is an event in the incident's hash-chained, signed ledger (`palisade incident events {codename}`); \
         `palisade verify` checks the chain and signatures. Content is stored encrypted and addressed by its SHA-256; \
         every transfer and export re-hashed the stored content first, and every download re-hashed it while streaming: \
         a download shows ✔ only when its outcome (the ledger # given) records that it was sent whole and matched."
    );
    s
}
