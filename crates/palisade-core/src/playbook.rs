//! Playbooks are data: steps and the process rules between them (dependencies, approvals, what
//! must be settled before resolving). The built-in security (14 steps) and operational playbooks
//! ship embedded; teams add their own TOML files. Parsing is here; reading files is the caller's.

use crate::types::{Kind, Role};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

const SECURITY: &str = include_str!("../playbooks/security.toml");
const OPERATIONAL: &str = include_str!("../playbooks/operational.toml");

/// A playbook: the steps of a process and the rules between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub version: u32,
    /// When the playbook was last reviewed (a date, as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reviewed: Option<String>,
    /// When the playbook was last tested by a drill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tested: Option<String>,
    /// Rule `commander-required`: no step may be marked done before an Incident Commander is assigned.
    #[serde(default)]
    pub commander_required_for_done: bool,
    #[serde(default)]
    pub resolve: ResolveRule,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalDef>,
    pub steps: Vec<StepDef>,
}

/// Rule `resolve-prerequisites`: steps that must be done (or waived by the IC with a reason)
/// before the incident can be resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResolveRule {
    #[serde(default)]
    pub requires: Vec<u32>,
}

/// An approval a step may require, given by a member holding `role`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApprovalDef {
    pub id: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One step and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub n: u32,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who owns the step by default (free text, e.g. "engineering leadership").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Rule `step-prerequisites`: steps that must be done or waived before this one is done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<u32>,
    /// Rule `step-prerequisites`: steps that must be done (a waiver does not count).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_done: Vec<u32>,
    /// Rule `approval-required`: approvals that must be recorded before this step is done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_approval: Vec<String>,
}

/// A playbook file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaybookError {
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

impl Playbook {
    /// Parse and validate a TOML playbook; `origin` (a file name) is used in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Playbook, PlaybookError> {
        let pb: Playbook = toml::from_str(text).map_err(|e| PlaybookError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        pb.validate().map_err(|message| PlaybookError::Invalid {
            origin: origin.to_string(),
            message,
        })?;
        Ok(pb)
    }

    /// The built-in 14-step secure incident response playbook.
    pub fn builtin_security() -> Playbook {
        Playbook::from_toml(SECURITY, "built-in security playbook")
            .expect("built-in playbook is valid")
    }

    /// The built-in short operational playbook.
    pub fn builtin_operational() -> Playbook {
        Playbook::from_toml(OPERATIONAL, "built-in operational playbook")
            .expect("built-in playbook is valid")
    }

    pub fn step(&self, n: u32) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.n == n)
    }

    fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty()
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "playbook id {:?} must be non-empty and use only letters, digits, '-' and '_'",
                self.id
            ));
        }
        if self.steps.is_empty() {
            return Err("a playbook needs at least one step".into());
        }
        for (i, s) in self.steps.iter().enumerate() {
            if s.n as usize != i + 1 {
                return Err(format!(
                    "steps must be numbered 1, 2, 3 … in order; entry {} has n = {}",
                    i + 1,
                    s.n
                ));
            }
            if s.title.trim().is_empty() {
                return Err(format!("step {} has an empty title", s.n));
            }
        }
        let max = self.steps.len() as u32;
        let approvals: BTreeSet<&str> = self.approvals.iter().map(|a| a.id.as_str()).collect();
        if approvals.len() != self.approvals.len() {
            return Err("approval ids must be unique".into());
        }
        for s in &self.steps {
            for r in s.requires.iter().chain(&s.requires_done) {
                if *r == s.n || *r == 0 || *r > max {
                    return Err(format!(
                        "step {} requires step {r}, which is not another step of this playbook (1–{max})",
                        s.n
                    ));
                }
            }
            for a in &s.requires_approval {
                if !approvals.contains(a.as_str()) {
                    return Err(format!(
                        "step {} requires approval {a:?}, which is not defined under [[approvals]]",
                        s.n
                    ));
                }
            }
        }
        for r in &self.resolve.requires {
            if *r == 0 || *r > max {
                return Err(format!(
                    "[resolve] requires step {r}, which is not a step of this playbook (1–{max})"
                ));
            }
        }
        // Dependencies must not form a cycle, or some step could never be done.
        let mut state = vec![0u8; self.steps.len() + 1];
        fn visit(pb: &Playbook, n: u32, state: &mut [u8]) -> Result<(), String> {
            match state[n as usize] {
                1 => return Err(format!("step dependencies form a cycle through step {n}")),
                2 => return Ok(()),
                _ => {}
            }
            state[n as usize] = 1;
            let s = pb.step(n).expect("validated");
            for r in s.requires.iter().chain(&s.requires_done) {
                visit(pb, *r, state)?;
            }
            state[n as usize] = 2;
            Ok(())
        }
        for s in &self.steps {
            visit(self, s.n, &mut state)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_security_playbook_has_the_fourteen_steps_in_order() {
        let pb = Playbook::builtin_security();
        assert_eq!(pb.steps.len(), 14);
        assert_eq!(pb.kind, Kind::Security);
        assert!(pb.commander_required_for_done);
        assert_eq!(pb.step(1).unwrap().title, "Stop the attack in progress");
        assert_eq!(pb.step(10).unwrap().requires, vec![1, 2, 4, 9]);
        assert_eq!(pb.step(11).unwrap().requires_done, vec![10]);
        assert_eq!(pb.step(14).unwrap().requires_done, vec![5, 6]);
        assert_eq!(
            pb.step(14).unwrap().requires_approval,
            vec!["external-communication".to_string()]
        );
        assert_eq!(pb.resolve.requires, (1..=10).collect::<Vec<_>>());
        assert_eq!(pb.approvals[0].role, Role::IncidentCommander);
    }

    #[test]
    fn builtin_operational_playbook_is_valid() {
        let pb = Playbook::builtin_operational();
        assert_eq!(pb.kind, Kind::Operational);
        assert!(pb.steps.len() >= 3);
    }

    fn err(text: &str) -> String {
        Playbook::from_toml(text, "custom.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn invalid_playbooks_are_refused_with_a_reason() {
        let head = "id='x'\nname='X'\nkind='operational'\nversion=1\n";
        assert!(err(&format!("{head}[[steps]]\nn=2\ntitle='a'\n")).contains("numbered"));
        assert!(
            err(&format!("{head}[[steps]]\nn=1\ntitle='a'\nrequires=[3]\n"))
                .contains("requires step 3")
        );
        assert!(
            err(&format!(
                "{head}[[steps]]\nn=1\ntitle='a'\nrequires_approval=['nope']\n"
            ))
            .contains("not defined")
        );
        assert!(
            err(&format!(
                "{head}[[steps]]\nn=1\ntitle='a'\nrequires=[2]\n[[steps]]\nn=2\ntitle='b'\nrequires=[1]\n"
            ))
            .contains("cycle")
        );
        let unknown = err(&format!("{head}colour='red'\n[[steps]]\nn=1\ntitle='a'\n"));
        assert!(
            unknown.starts_with("custom.toml:") && unknown.contains("colour"),
            "{unknown}"
        );
        assert!(err("id='x'\n").contains("custom.toml"));
    }
}
