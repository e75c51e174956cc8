//! The service aggregate: a system a team owns and runs, recorded on the ledger like an incident
//! (its own stream, hash-chained and signed). For now a service has a name and a description;
//! owners, tiers, on-call and integrations follow (issue 11) as more commands and events here.

use crate::Actor;
use crate::aggregate::{Aggregate, Context, FoldError, check_first, check_next};
use crate::event::{Event, Timestamp};
use crate::rule::{Refusal, refuse};
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, ParseError, UserName};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The service's rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// A service name is 1–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
    pub const SERVICE_NAME: Rule = Rule::new(
        "service-name",
        InvalidInput,
        "a service name is 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
    );
    /// A required field is empty or too long.
    pub const SERVICE_INPUT: Rule = Rule::new(
        "service-input",
        InvalidInput,
        "a service's fields are within their limits",
    );
    /// The command would change nothing.
    pub const SERVICE_UNCHANGED: Rule = Rule::new(
        "service-unchanged",
        Conflict,
        "a change must change something",
    );
    /// Viewers read services but do not change them.
    pub const SERVICE_READ_ONLY: Rule = Rule::new(
        "service-read-only",
        Permission,
        "viewer accounts read services but do not change them",
    );

    /// Every service rule.
    pub const ALL: &[Rule] = &[
        SERVICE_NAME,
        SERVICE_INPUT,
        SERVICE_UNCHANGED,
        SERVICE_READ_ONLY,
    ];
}

/// A service name, unique among services: `payments-api`, `auth.internal`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceName(String);

impl ServiceName {
    pub fn parse(s: &str) -> Result<ServiceName, ParseError> {
        // The same alphabet as user names: safe in URLs, file names and shells.
        UserName::parse(s)
            .map(|u| ServiceName(u.as_str().to_string()))
            .map_err(|_| ParseError {
                what: "service name",
                value: s.to_string(),
                expected: "1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
            })
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl FromStr for ServiceName {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceName::parse(s)
    }
}
impl TryFrom<String> for ServiceName {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ServiceName::parse(&s)
    }
}
impl From<ServiceName> for String {
    fn from(n: ServiceName) -> String {
        n.0
    }
}

/// What happened to a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServicePayload {
    Created {
        name: ServiceName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    Renamed {
        from: ServiceName,
        to: ServiceName,
    },
}

impl ServicePayload {
    pub fn kind(&self) -> &'static str {
        match self {
            ServicePayload::Created { .. } => "created",
            ServicePayload::Renamed { .. } => "renamed",
        }
    }
    pub fn describe(&self) -> String {
        match self {
            ServicePayload::Created { name, .. } => format!("Service {name} created"),
            ServicePayload::Renamed { from, to } => format!("Renamed from {from} to {to}"),
        }
    }
}

/// Starting a service.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateService {
    pub name: String,
    pub description: Option<String>,
}

/// A change to a service.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceCommand {
    Rename { name: String },
}

/// One line of a service's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceHistoryEntry {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: UserName,
    pub recorded_at: Timestamp,
    pub description: String,
}

/// A service: a fold of its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    pub id: Uuid,
    pub name: ServiceName,
    pub description: Option<String>,
    pub created_by: UserName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub history: Vec<ServiceHistoryEntry>,
    pub last_seq: u64,
}

const MAX_DESCRIPTION: usize = 2_000;

fn name(s: &str) -> Result<ServiceName, Refusal> {
    ServiceName::parse(s.trim()).map_err(|e| Refusal::new(rules::SERVICE_NAME, e.to_string()))
}

fn writer(actor: &Actor) -> Result<(), Refusal> {
    if actor.account_role == AccountRole::Viewer {
        return refuse(
            rules::SERVICE_READ_ONLY,
            "viewer accounts may read services but not change them",
        );
    }
    Ok(())
}

impl ServiceState {
    fn record(&mut self, e: &Event<ServicePayload>) {
        self.history.push(ServiceHistoryEntry {
            seq: e.seq,
            kind: e.data.kind().to_string(),
            actor: e.actor.clone(),
            recorded_at: e.recorded_at,
            description: e.data.describe(),
        });
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
    }
}

impl Aggregate for ServiceState {
    const KIND: StreamKind = StreamKind::Service;
    type Payload = ServicePayload;
    type Command = ServiceCommand;
    type Create = CreateService;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::service(self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn from_first(e: &Event<ServicePayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Service, e)?;
        let ServicePayload::Created { name, description } = &e.data else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "created",
                found: e.data.kind(),
            });
        };
        let mut st = ServiceState {
            id: e.stream.id,
            name: name.clone(),
            description: description.clone(),
            created_by: e.actor.clone(),
            created_at: e.occurred_at,
            updated_at: e.recorded_at,
            history: Vec::new(),
            last_seq: 0,
        };
        st.record(e);
        Ok(st)
    }

    fn apply(&mut self, e: &Event<ServicePayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        match &e.data {
            ServicePayload::Created { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "created",
                });
            }
            ServicePayload::Renamed { to, .. } => self.name = to.clone(),
        }
        self.record(e);
        Ok(())
    }

    fn create_role(_: &CreateService) -> AccountRole {
        AccountRole::Responder
    }

    fn decide_create(
        actor: &Actor,
        c: &CreateService,
        _: &Context<'_, ()>,
    ) -> Result<Vec<ServicePayload>, Refusal> {
        writer(actor)?;
        let description = c
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            return refuse(
                rules::SERVICE_INPUT,
                format!("the description is longer than {MAX_DESCRIPTION} characters"),
            );
        }
        Ok(vec![ServicePayload::Created {
            name: name(&c.name)?,
            description: description.map(str::to_string),
        }])
    }

    fn required_role(_: &ServiceCommand) -> AccountRole {
        AccountRole::Responder
    }

    /// Every account sees every service: ownership is public inside the organisation.
    fn visible_to(&self, _: &Actor, _: Option<&ServiceCommand>, _: Timestamp) -> bool {
        true
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &ServiceCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<ServicePayload>, Refusal> {
        writer(actor)?;
        match cmd {
            ServiceCommand::Rename { name: new } => {
                let to = name(new)?;
                if to == self.name {
                    return refuse(
                        rules::SERVICE_UNCHANGED,
                        format!("the service is already called {to}"),
                    );
                }
                Ok(vec![ServicePayload::Renamed {
                    from: self.name.clone(),
                    to,
                }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::numbered;

    fn actor(role: AccountRole) -> Actor {
        Actor {
            user: UserName::parse("sam").unwrap(),
            account_role: role,
        }
    }

    fn at() -> Timestamp {
        Timestamp::parse("2026-12-06T10:00:00Z").unwrap()
    }

    fn created(name: &str) -> ServiceState {
        let a = actor(AccountRole::Responder);
        let ctx = Context {
            now: at(),
            policy: &(),
        };
        let payloads = ServiceState::decide_create(
            &a,
            &CreateService {
                name: name.into(),
                description: Some("  Card payments  ".into()),
            },
            &ctx,
        )
        .unwrap();
        let events = numbered(
            StreamId::service(Uuid::nil()),
            0,
            &a.user,
            at(),
            None,
            payloads,
        );
        ServiceState::fold(&events).unwrap()
    }

    #[test]
    fn a_service_is_created_and_renamed_by_its_events() {
        let mut st = created("payments-api");
        assert_eq!(st.name.as_str(), "payments-api");
        assert_eq!(st.description.as_deref(), Some("Card payments"));
        let a = actor(AccountRole::Responder);
        let ctx = Context {
            now: at(),
            policy: &(),
        };
        let rename = ServiceCommand::Rename {
            name: "payments".into(),
        };
        let p = st.decide(&a, &rename, &ctx).unwrap();
        for e in numbered(st.stream(), st.last_seq, &a.user, at(), None, p) {
            st.apply(&e).unwrap();
        }
        assert_eq!(st.name.as_str(), "payments");
        assert_eq!(st.last_seq, 2);
        assert_eq!(
            st.history[1].description,
            "Renamed from payments-api to payments"
        );
        let again = st.decide(&a, &rename, &ctx).unwrap_err();
        assert_eq!(again.rule, rules::SERVICE_UNCHANGED);
    }

    #[test]
    fn bad_names_viewers_and_long_descriptions_are_refused() {
        let ctx = Context {
            now: at(),
            policy: &(),
        };
        let responder = actor(AccountRole::Responder);
        for bad in ["", "Payments", "pay ments", "-x", &"a".repeat(65)] {
            let r = ServiceState::decide_create(
                &responder,
                &CreateService {
                    name: bad.into(),
                    description: None,
                },
                &ctx,
            )
            .unwrap_err();
            assert_eq!(r.rule, rules::SERVICE_NAME, "{bad:?}");
        }
        let long = ServiceState::decide_create(
            &responder,
            &CreateService {
                name: "x".into(),
                description: Some("d".repeat(MAX_DESCRIPTION + 1)),
            },
            &ctx,
        )
        .unwrap_err();
        assert_eq!(long.rule, rules::SERVICE_INPUT);
        let st = created("api");
        let viewer = actor(AccountRole::Viewer);
        let r = st
            .decide(&viewer, &ServiceCommand::Rename { name: "b".into() }, &ctx)
            .unwrap_err();
        assert_eq!(r.rule, rules::SERVICE_READ_ONLY);
    }

    #[test]
    fn a_service_stream_starts_with_created_and_only_once() {
        let a = actor(AccountRole::Responder);
        let s = StreamId::service(Uuid::nil());
        let twice = numbered(
            s,
            0,
            &a.user,
            at(),
            None,
            vec![
                ServicePayload::Created {
                    name: ServiceName::parse("a").unwrap(),
                    description: None,
                },
                ServicePayload::Created {
                    name: ServiceName::parse("b").unwrap(),
                    description: None,
                },
            ],
        );
        assert!(matches!(
            ServiceState::fold(&twice),
            Err(FoldError::CreatedAgain { seq: 2, .. })
        ));
        let incident_stream = numbered(
            StreamId::incident(Uuid::nil()),
            0,
            &a.user,
            at(),
            None,
            vec![ServicePayload::Created {
                name: ServiceName::parse("a").unwrap(),
                description: None,
            }],
        );
        assert!(matches!(
            ServiceState::fold(&incident_stream),
            Err(FoldError::WrongStream { .. })
        ));
    }
}
