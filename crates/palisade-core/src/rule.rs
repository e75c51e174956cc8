//! Process rules and refusals.
//!
//! A [`Rule`] is data: an id (stable, shown to users and in problem details), the [`RefusalKind`]
//! of a refusal by it, and a one-line summary. Every rule is declared once, next to the aggregate
//! it guards, and listed in [`ALL`]; callers outside the core never list rule ids: whatever they
//! do with a refusal (an HTTP status, an exit code) follows from its kind.

use std::fmt;

/// What kind of "no" a refusal is. Interfaces map it to their own vocabulary (the HTTP API to a
/// status code, the CLI to an exit code); a new rule needs no change there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The command itself is malformed or refers to something that does not exist
    /// (a step, an approval, evidence): asking again unchanged will never work.
    InvalidInput,
    /// The actor may not do this (the IC only, the custodian only, admins only, viewers read).
    Permission,
    /// The state does not allow it yet or any more (prerequisites, lifecycle): it may once the
    /// process has moved on.
    Precondition,
    /// The state already is what the command asks for, or contradicts it (already assigned,
    /// already approved).
    Conflict,
}

impl RefusalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::InvalidInput => "invalid_input",
            RefusalKind::Permission => "permission",
            RefusalKind::Precondition => "precondition",
            RefusalKind::Conflict => "conflict",
        }
    }
}

/// A process rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Stable identifier, e.g. `commander-required`.
    pub id: &'static str,
    pub kind: RefusalKind,
    /// What the rule says, in one line (for documentation and `--help`).
    pub summary: &'static str,
}

impl Rule {
    pub const fn new(id: &'static str, kind: RefusalKind, summary: &'static str) -> Rule {
        Rule { id, kind, summary }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

impl PartialEq<str> for Rule {
    fn eq(&self, other: &str) -> bool {
        self.id == other
    }
}
impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.id == *other
    }
}

/// A command refused by a process rule. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused by rule `{rule}`: {message}")]
pub struct Refusal {
    pub rule: Rule,
    pub message: String,
}

impl Refusal {
    pub fn new(rule: Rule, message: impl Into<String>) -> Refusal {
        Refusal {
            rule,
            message: message.into(),
        }
    }
    pub fn kind(&self) -> RefusalKind {
        self.rule.kind
    }
}

/// `Err(Refusal)` by `rule`.
pub fn refuse<T>(rule: Rule, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::new(rule, message))
}

/// Every rule the core enforces, across aggregates.
pub const ALL: &[&[Rule]] = &[
    crate::incident::rules::ALL,
    crate::custody::custody_rules::ALL,
    crate::service::rules::ALL,
    crate::deployment::rules::ALL,
    crate::alert::rules::ALL,
    crate::change::rules::ALL,
    crate::schedule::rules::ALL,
    crate::escalation::rules::ALL,
    crate::team::rules::ALL,
    crate::person::rules::ALL,
    crate::finding::rules::ALL,
    crate::ctf::rules::ALL,
    crate::assessment::rules::ALL,
];

/// Look a rule up by id.
pub fn by_id(id: &str) -> Option<Rule> {
    ALL.iter()
        .flat_map(|r| r.iter())
        .copied()
        .find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ALL.iter().flat_map(|r| r.iter()) {
            assert!(seen.insert(r.id), "rule id {} declared twice", r.id);
            assert!(
                r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "rule id {} is not kebab-case",
                r.id
            );
            assert!(!r.summary.is_empty(), "rule {} has no summary", r.id);
            assert_eq!(by_id(r.id), Some(*r));
        }
        assert!(
            seen.len() >= 20,
            "the rules are all listed ({})",
            seen.len()
        );
    }
}
