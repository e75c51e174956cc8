//! Streams: the ledger holds one hash-chained sequence of events per stream, and a stream is one
//! aggregate instance (an incident, a service, …), named by its kind and a UUID.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The kind of aggregate a stream records. Written in event and checkpoint bodies (format 2) as
/// the part before the `/` of the stream name, so it is covered by hashes and signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamKind {
    Incident,
    Service,
    /// The deployment's own record (one stream): what operators did to the deployment itself.
    Deployment,
    /// An alert, from its trigger to its resolution.
    Alert,
    /// A change event reported for a service (one event).
    Change,
    /// An on-call schedule.
    Schedule,
    /// An escalation policy.
    Escalation,
    /// A team.
    Team,
    /// How one user is reached (contact methods, notification rules).
    Person,
    /// A security finding of a service, from its first report to its fix.
    Finding,
    /// One service's uploads of one tool's reports in one phase (its runs).
    Scan,
    /// A CTF event: its challenges, accounts, submissions and hint unlocks.
    Ctf,
    /// A maturity assessment: each push of its answers file.
    Assessment,
}

impl StreamKind {
    /// Every kind, in a stable order.
    pub const ALL: &'static [StreamKind] = &[
        StreamKind::Incident,
        StreamKind::Service,
        StreamKind::Deployment,
        StreamKind::Alert,
        StreamKind::Change,
        StreamKind::Schedule,
        StreamKind::Escalation,
        StreamKind::Team,
        StreamKind::Person,
        StreamKind::Finding,
        StreamKind::Scan,
        StreamKind::Ctf,
        StreamKind::Assessment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Incident => "incident",
            StreamKind::Service => "service",
            StreamKind::Deployment => "deployment",
            StreamKind::Alert => "alert",
            StreamKind::Change => "change",
            StreamKind::Schedule => "schedule",
            StreamKind::Escalation => "escalation",
            StreamKind::Team => "team",
            StreamKind::Person => "person",
            StreamKind::Finding => "finding",
            StreamKind::Scan => "scan",
            StreamKind::Ctf => "ctf",
            StreamKind::Assessment => "assessment",
        }
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StreamKind {
    type Err = crate::types::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StreamKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::types::ParseError {
                what: "stream kind",
                value: s.to_string(),
                expected: "incident, service, deployment, alert, change, schedule, escalation, team, person, finding, scan, ctf or assessment",
            })
    }
}

/// A stream: kind and id. Written `kind/uuid`, e.g. `incident/0193f6a2-…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    pub kind: StreamKind,
    pub id: Uuid,
}

impl StreamId {
    pub fn new(kind: StreamKind, id: Uuid) -> StreamId {
        StreamId { kind, id }
    }
    pub fn incident(id: Uuid) -> StreamId {
        StreamId::new(StreamKind::Incident, id)
    }
    pub fn service(id: Uuid) -> StreamId {
        StreamId::new(StreamKind::Service, id)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.id.as_hyphenated())
    }
}

impl FromStr for StreamId {
    type Err = crate::types::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::types::ParseError {
            what: "stream",
            value: s.to_string(),
            expected: "kind/uuid, e.g. incident/0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e",
        };
        let (kind, id) = s.split_once('/').ok_or_else(bad)?;
        let kind = kind.parse::<StreamKind>()?;
        // Only the canonical spelling: lower-case, hyphenated, so a name has one form.
        let id = Uuid::try_parse(id).map_err(|_| bad())?;
        if id.as_hyphenated().to_string() != s[s.len() - 36..]
            || s.len() != kind.as_str().len() + 37
        {
            return Err(bad());
        }
        Ok(StreamId { kind, id })
    }
}

impl Serialize for StreamId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_round_trip_in_one_spelling_only() {
        let id = Uuid::parse_str("0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e").unwrap();
        let s = StreamId::service(id);
        assert_eq!(
            s.to_string(),
            "service/0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e"
        );
        assert_eq!(s.to_string().parse::<StreamId>().unwrap(), s);
        for bad in [
            "service/0193F6A2-7C4E-7B1A-9D2E-4F5A6B7C8D9E",
            "service/0193f6a27c4e7b1a9d2e4f5a6b7c8d9e",
            "Service/0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e",
            "squad/0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e",
            "service:0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e",
            "service/0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e ",
            "",
        ] {
            assert!(bad.parse::<StreamId>().is_err(), "{bad:?} must not parse");
        }
    }
}
