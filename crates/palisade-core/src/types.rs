//! Small validated domain types: severity, kind, lifecycle status, roles, user names.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A value that failed validation, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: expected {expected}")]
pub struct ParseError {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Severity, SEV-1 (most urgent) to SEV-5. SEV-1 and SEV-2 are major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Severity(u8);

impl Severity {
    pub const SEV1: Severity = Severity(1);
    pub const SEV2: Severity = Severity(2);
    pub const SEV3: Severity = Severity(3);
    pub const SEV4: Severity = Severity(4);
    pub const SEV5: Severity = Severity(5);

    pub fn new(level: u8) -> Option<Severity> {
        (1..=5).contains(&level).then_some(Severity(level))
    }
    pub fn level(self) -> u8 {
        self.0
    }
    /// SEV-1 and SEV-2 are major incidents.
    pub fn is_major(self) -> bool {
        self.0 <= 2
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SEV-{}", self.0)
    }
}

impl FromStr for Severity {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_uppercase();
        let digits = t
            .strip_prefix("SEV-")
            .or_else(|| t.strip_prefix("SEV"))
            .unwrap_or(&t);
        digits
            .parse::<u8>()
            .ok()
            .and_then(Severity::new)
            .ok_or_else(|| ParseError {
                what: "severity",
                value: s.to_string(),
                expected: "SEV-1 … SEV-5 (or 1 … 5)",
            })
    }
}

impl TryFrom<String> for Severity {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}
impl From<Severity> for String {
    fn from(s: Severity) -> String {
        s.to_string()
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, $expected:literal, { $($variant:ident => $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                match t.as_str() {
                    $($text $(| $alias)* => Ok($name::$variant),)+
                    _ => Err(ParseError { what: $what, value: s.to_string(), expected: $expected }),
                }
            }
        }
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> { s.parse() }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String { v.as_str().to_string() }
        }
    };
}

string_enum!(
    /// Whether an incident is a security incident (restricted by default, 14-step playbook) or an
    /// operational one.
    Kind, "kind", "security or operational", {
        Security => "security" | "sec",
        Operational => "operational" | "ops",
    }
);

string_enum!(
    /// The incident lifecycle: declared → investigating → contained → resolved → closed.
    Status, "status", "declared, investigating, contained, resolved or closed", {
        Declared => "declared",
        Investigating => "investigating",
        Contained => "contained",
        Resolved => "resolved",
        Closed => "closed",
    }
);

impl Status {
    /// Open statuses are those before `resolved`.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Declared | Status::Investigating | Status::Contained
        )
    }
}

string_enum!(
    /// A role a member holds in one incident.
    Role, "role", "incident_commander (ic), deputy, scribe, subject_matter_expert (sme), internal_liaison, customer_liaison or legal", {
        IncidentCommander => "incident_commander" | "ic" | "commander",
        Deputy => "deputy",
        Scribe => "scribe",
        SubjectMatterExpert => "subject_matter_expert" | "sme",
        InternalLiaison => "internal_liaison",
        CustomerLiaison => "customer_liaison",
        Legal => "legal",
    }
);

string_enum!(
    /// Server-wide account role, which bounds what a token may do.
    AccountRole, "account role", "admin, responder or viewer", {
        Admin => "admin",
        Responder => "responder",
        Viewer => "viewer",
    }
);

impl AccountRole {
    /// Rank: viewer < responder < admin.
    fn rank(self) -> u8 {
        match self {
            AccountRole::Viewer => 0,
            AccountRole::Responder => 1,
            AccountRole::Admin => 2,
        }
    }
    /// Whether an account of this role may do what `needed` may (admins everything a responder
    /// may, responders everything a viewer may).
    pub fn at_least(self, needed: AccountRole) -> bool {
        self.rank() >= needed.rank()
    }
}

/// A user name: 1–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl UserName {
    pub fn parse(s: &str) -> Result<UserName, ParseError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(UserName(s.to_string()))
        } else {
            Err(ParseError {
                what: "user name",
                value: s.to_string(),
                expected: "1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
            })
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for UserName {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        UserName::parse(&s)
    }
}
impl From<UserName> for String {
    fn from(u: UserName) -> String {
        u.0
    }
}
impl FromStr for UserName {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UserName::parse(s)
    }
}

/// The name of a schedule, an escalation policy or a team: unique among its kind, in the alphabet
/// of user names (safe in URLs, file names and shells): `payments-primary`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceName(String);

impl ResourceName {
    pub fn parse(s: &str) -> Result<ResourceName, ParseError> {
        UserName::parse(s)
            .map(|u| ResourceName(u.0))
            .map_err(|_| ParseError {
                what: "name",
                value: s.to_string(),
                expected: "1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
            })
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for ResourceName {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ResourceName::parse(&s)
    }
}
impl From<ResourceName> for String {
    fn from(n: ResourceName) -> String {
        n.0
    }
}
impl FromStr for ResourceName {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceName::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_parses_common_spellings() {
        for s in ["SEV-1", "sev1", "1", " Sev-1 "] {
            assert_eq!(s.parse::<Severity>().unwrap(), Severity::SEV1, "{s}");
        }
        assert!("SEV-0".parse::<Severity>().is_err());
        assert!("SEV-6".parse::<Severity>().is_err());
        assert_eq!(Severity::SEV2.to_string(), "SEV-2");
        assert!(Severity::SEV2.is_major() && !Severity::SEV3.is_major());
        assert!(Severity::SEV1 < Severity::SEV5);
    }

    #[test]
    fn roles_accept_aliases_and_reject_unknown() {
        assert_eq!("IC".parse::<Role>().unwrap(), Role::IncidentCommander);
        assert_eq!(
            "subject-matter-expert".parse::<Role>().unwrap(),
            Role::SubjectMatterExpert
        );
        let err = "janitor".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("incident_commander"), "{err}");
    }

    #[test]
    fn user_names_are_validated() {
        assert_eq!(
            UserName::parse("alice.smith-2").unwrap().as_str(),
            "alice.smith-2"
        );
        for bad in ["", "Alice", "-x", "a b", &"a".repeat(65), "ä"] {
            assert!(UserName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}

string_enum!(
    /// How much a security finding matters, `info` (least) to `critical`. Ordered: a threshold
    /// "high" is met by high and critical.
    FindingSeverity, "finding severity", "critical, high, medium, low or info", {
        Info => "info" | "informational" | "none" | "note",
        Low => "low",
        Medium => "medium" | "moderate",
        High => "high" | "error",
        Critical => "critical",
    }
);

string_enum!(
    /// What found a security finding: a secret, a vulnerable dependency or image package, a
    /// configuration check, code analysis (any other SARIF producer), or a threat model (an
    /// open threat of `palisade threat check`).
    FindingKind, "finding kind", "secret, dependency, image, config, code or threat", {
        Secret => "secret" | "secrets",
        Dependency => "dependency" | "deps" | "dependencies",
        Image => "image",
        Config => "config" | "configuration" | "iac",
        Code => "code" | "sast",
        Threat => "threat" | "threats" | "threat-model",
    }
);

string_enum!(
    /// The lifecycle phase a scan ran in; the gate decides per phase. `design` is the threat
    /// model's.
    Phase, "phase", "design, code, build, release or deploy", {
        Design => "design" | "plan",
        Code => "code",
        Build => "build",
        Release => "release",
        Deploy => "deploy",
    }
);
