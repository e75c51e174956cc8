//! Evidence and its chain of custody, reads of restricted incidents, and break-glass access.
//!
//! Like the rest of the core this does no I/O: the server stores and hashes the content and
//! passes in what it measured (`sha256`, `size`) and the current time; the rules here decide
//! which events that produces.

use crate::event::{Payload, Timestamp};
use crate::incident::{Actor, IncidentState, Refusal, rules};
use crate::types::{AccountRole, Role, Status, UserName};
use serde::{Deserialize, Serialize};

/// Rule ids specific to custody and confidentiality.
pub mod custody_rules {
    /// The hash given at acquisition differs from the content received.
    pub const EVIDENCE_HASH_MISMATCH: &str = "evidence-hash-mismatch";
    /// Only the current custodian or the Incident Commander may hand evidence on.
    pub const CUSTODIAN_ONLY: &str = "custodian-only";
    /// Evidence of a restricted incident may only be handed to a member.
    pub const CUSTODY_MEMBERS_ONLY: &str = "custody-members-only";
    /// Break-glass is for admins, on restricted incidents they are not a member of, with a reason.
    pub const BREAK_GLASS: &str = "break-glass";
}

/// Longest break-glass window, in minutes (8 hours).
pub const BREAK_GLASS_MAX_MINUTES: u32 = 480;
/// Break-glass window when none is asked for, in minutes.
pub const BREAK_GLASS_DEFAULT_MINUTES: u32 = 60;

/// One hand in the chain of custody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustodyEntry {
    /// Ledger sequence number of the event.
    pub seq: u64,
    /// `acquired`, `transferred`, `accessed`, `exported` or `integrity_failed`.
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
    /// The hash the content had when this step re-checked it (absent when the check failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A piece of evidence as the ledger describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceState {
    pub n: u32,
    pub name: String,
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

/// What someone asks for about evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum EvidenceCommand {
    /// Record content the server has already stored and hashed.
    Acquire {
        name: String,
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
    /// Release the content to the actor (download).
    Access { evidence: u32, purpose: String },
    /// Include the evidence in an export; `verified_sha256` is what the server just measured.
    Export {
        evidence: u32,
        purpose: String,
        verified_sha256: String,
    },
    /// A re-check found the stored content different (or unreadable).
    IntegrityFailed {
        evidence: u32,
        found_sha256: Option<String>,
        during: String,
        detail: String,
    },
}

fn refuse<T>(rule: &'static str, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        rule,
        message: message.into(),
    })
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

    /// Decide an evidence command.
    pub fn decide_evidence(
        &self,
        actor: &Actor,
        cmd: &EvidenceCommand,
    ) -> Result<Vec<Payload>, Refusal> {
        let writes = matches!(
            cmd,
            EvidenceCommand::Acquire { .. } | EvidenceCommand::Transfer { .. }
        );
        if writes && actor.account_role == AccountRole::Viewer {
            return refuse(
                rules::READ_ONLY,
                "viewer accounts may read evidence but not add or hand it on",
            );
        }
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
                text("name", name, 255)?;
                if name.contains('/') || name.contains('\\') {
                    return refuse(rules::INVALID_INPUT, "name must be a file name, not a path");
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
                    name: name.clone(),
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
                    }]);
                }
                Ok(vec![Payload::EvidenceExported {
                    evidence: *evidence,
                    purpose: purpose.trim().to_string(),
                    verified_sha256: verified_sha256.clone(),
                }])
            }
            EvidenceCommand::IntegrityFailed {
                evidence,
                found_sha256,
                during,
                detail,
            } => {
                let item = self.evidence_item(*evidence)?;
                Ok(vec![Payload::EvidenceIntegrityFailed {
                    evidence: *evidence,
                    expected_sha256: item.sha256.clone(),
                    found_sha256: found_sha256.clone(),
                    during: during.clone(),
                    detail: detail.clone(),
                }])
            }
        }
    }

    /// Decide a break-glass request by `actor` at `now` for `minutes` (default 60, at most 480).
    pub fn decide_break_glass(
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
                evidence,
                purpose,
                sha256,
            } => {
                let mut c = entry("accessed");
                c.purpose = Some(purpose.clone());
                c.verified_sha256 = Some(sha256.clone());
                if let Some(item) = self.evidence.iter_mut().find(|i| i.n == *evidence) {
                    item.custody.push(c);
                }
            }
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
                ..
            } => {
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
    let _ = writeln!(
        s,
        "| Integrity | {} |",
        if item.integrity_failed {
            "**FAILED** at least once: see below"
        } else {
            "every re-check matched the recorded hash"
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
        let hash = match &c.verified_sha256 {
            Some(h) if *h == item.sha256 => "✔ matches".to_string(),
            Some(h) => format!("✘ `{h}`"),
            None => "✘ failed".to_string(),
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
         every transfer and export re-hashed the stored content first, and every download re-hashed it while streaming."
    );
    s
}
