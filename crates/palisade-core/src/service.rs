//! The service aggregate: a system a team owns and runs, recorded on the ledger like an incident
//! (its own stream, hash-chained and signed): a name, a description, and the integrations
//! monitoring sends alerts through (each with a routing key, stored only as its SHA-256 hash).
//! Owners, tiers and escalation follow as more commands and events here.

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
    /// Integrations are named uniquely among a service's active ones, within a limit.
    pub const INTEGRATION_NAME: Rule = Rule::new(
        "integration-name",
        InvalidInput,
        "an integration's name is 1–64 characters of a-z, 0-9, '.', '_', '-', unique among the service's active integrations (at most 20)",
    );
    /// Only an active integration of the service can be revoked.
    pub const INTEGRATION_UNKNOWN: Rule = Rule::new(
        "integration-unknown",
        InvalidInput,
        "the service has no active integration by that name or id",
    );

    /// Every service rule.
    pub const ALL: &[Rule] = &[
        SERVICE_NAME,
        SERVICE_INPUT,
        SERVICE_UNCHANGED,
        SERVICE_READ_ONLY,
        INTEGRATION_NAME,
        INTEGRATION_UNKNOWN,
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
    /// An integration to send alerts through; its routing key is recorded only as its hash.
    IntegrationAdded {
        id: Uuid,
        name: String,
        kind: IntegrationKind,
        /// SHA-256 (hex) of the routing key.
        key_hash: String,
    },
    IntegrationRevoked {
        id: Uuid,
        name: String,
    },
}

/// What an integration receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    /// The PagerDuty Events API v2 (`POST /v2/enqueue`, `/v2/change/enqueue`), which
    /// Alertmanager's `pagerduty_configs` also speaks.
    EventsV2,
    /// Alertmanager's webhook (payload version 4): one alert per Alertmanager alert.
    AlertmanagerAlert,
    /// Alertmanager's webhook: one alert per Alertmanager group.
    AlertmanagerGroup,
}

impl IntegrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::EventsV2 => "events_v2",
            IntegrationKind::AlertmanagerAlert => "alertmanager_alert",
            IntegrationKind::AlertmanagerGroup => "alertmanager_group",
        }
    }
    pub fn parse(s: &str) -> Option<IntegrationKind> {
        Some(match s {
            "events_v2" => IntegrationKind::EventsV2,
            "alertmanager_alert" => IntegrationKind::AlertmanagerAlert,
            "alertmanager_group" => IntegrationKind::AlertmanagerGroup,
            _ => return None,
        })
    }
}

impl fmt::Display for IntegrationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An integration of a service, as its events left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub id: Uuid,
    pub name: String,
    pub kind: IntegrationKind,
    pub key_hash: String,
    pub added_by: UserName,
    pub added_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// The namespace of integration routing keys among stream keys: a key's hash names its service.
pub const INTEGRATION_KEY: &str = "integration-key";
/// Most active integrations of one service.
pub const MAX_INTEGRATIONS: usize = 20;

impl ServicePayload {
    pub fn kind(&self) -> &'static str {
        match self {
            ServicePayload::Created { .. } => "created",
            ServicePayload::Renamed { .. } => "renamed",
            ServicePayload::IntegrationAdded { .. } => "integration_added",
            ServicePayload::IntegrationRevoked { .. } => "integration_revoked",
        }
    }
    pub fn describe(&self) -> String {
        match self {
            ServicePayload::Created { name, .. } => format!("Service {name} created"),
            ServicePayload::Renamed { from, to } => format!("Renamed from {from} to {to}"),
            ServicePayload::IntegrationAdded { name, kind, .. } => {
                format!("Integration {name} ({kind}) added")
            }
            ServicePayload::IntegrationRevoked { name, .. } => {
                format!("Integration {name} revoked")
            }
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
    Rename {
        name: String,
    },
    /// Add an integration; the caller made its id and routing key, and passes the key's hash.
    AddIntegration {
        id: Uuid,
        name: String,
        kind: IntegrationKind,
        key_hash: String,
    },
    /// Revoke an active integration, named by id or name.
    RevokeIntegration {
        integration: String,
    },
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
    #[serde(default)]
    pub integrations: Vec<Integration>,
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
    /// The integrations that still accept events.
    pub fn active_integrations(&self) -> impl Iterator<Item = &Integration> {
        self.integrations.iter().filter(|i| i.revoked_at.is_none())
    }

    /// The active integration a reference (id or name) names.
    pub fn active_integration(&self, reference: &str) -> Option<&Integration> {
        self.active_integrations()
            .find(|i| i.name == reference || i.id.to_string() == reference)
    }

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
            integrations: Vec::new(),
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
            ServicePayload::IntegrationAdded {
                id,
                name,
                kind,
                key_hash,
            } => self.integrations.push(Integration {
                id: *id,
                name: name.clone(),
                kind: *kind,
                key_hash: key_hash.clone(),
                added_by: e.actor.clone(),
                added_at: e.recorded_at,
                revoked_at: None,
            }),
            ServicePayload::IntegrationRevoked { id, .. } => {
                if let Some(i) = self.integrations.iter_mut().find(|i| i.id == *id) {
                    i.revoked_at = Some(e.recorded_at);
                }
            }
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
            ServiceCommand::AddIntegration {
                id,
                name,
                kind,
                key_hash,
            } => {
                let name = UserName::parse(name.trim())
                    .map_err(|e| Refusal::new(rules::INTEGRATION_NAME, e.to_string()))?
                    .to_string();
                if self.active_integration(&name).is_some() {
                    return refuse(
                        rules::INTEGRATION_NAME,
                        format!(
                            "{} already has an active integration called {name}",
                            self.name
                        ),
                    );
                }
                if self.active_integrations().count() >= MAX_INTEGRATIONS {
                    return refuse(
                        rules::INTEGRATION_NAME,
                        format!(
                            "{} has {MAX_INTEGRATIONS} active integrations; revoke one first",
                            self.name
                        ),
                    );
                }
                if key_hash.len() != 64 || !key_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return refuse(
                        rules::SERVICE_INPUT,
                        "an integration's key hash is 64 hexadecimal digits",
                    );
                }
                Ok(vec![ServicePayload::IntegrationAdded {
                    id: *id,
                    name,
                    kind: *kind,
                    key_hash: key_hash.to_ascii_lowercase(),
                }])
            }
            ServiceCommand::RevokeIntegration { integration } => {
                let Some(i) = self.active_integration(integration) else {
                    return refuse(
                        rules::INTEGRATION_UNKNOWN,
                        format!(
                            "{} has no active integration {integration:?}; `palisade service show {}` lists them",
                            self.name, self.name
                        ),
                    );
                };
                Ok(vec![ServicePayload::IntegrationRevoked {
                    id: i.id,
                    name: i.name.clone(),
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

    #[test]
    fn integrations_are_added_named_uniquely_and_revoked_by_name_or_id() {
        let mut st = created("payments-api");
        let a = actor(AccountRole::Responder);
        let ctx = Context {
            now: at(),
            policy: &(),
        };
        let add = |name: &str, id: u128| ServiceCommand::AddIntegration {
            id: Uuid::from_u128(id),
            name: name.into(),
            kind: IntegrationKind::EventsV2,
            key_hash: "ab".repeat(32),
        };
        let apply = |st: &mut ServiceState, p: Vec<ServicePayload>| {
            for e in numbered(st.stream(), st.last_seq, &a.user, at(), None, p) {
                st.apply(&e).unwrap();
            }
        };
        let p = st.decide(&a, &add("prometheus", 1), &ctx).unwrap();
        apply(&mut st, p);
        assert_eq!(st.active_integrations().count(), 1);
        let dup = st.decide(&a, &add("prometheus", 2), &ctx).unwrap_err();
        assert_eq!(dup.rule, rules::INTEGRATION_NAME);
        let bad = st.decide(&a, &add("Prom Etheus", 2), &ctx).unwrap_err();
        assert_eq!(bad.rule, rules::INTEGRATION_NAME);
        let by_id = ServiceCommand::RevokeIntegration {
            integration: Uuid::from_u128(1).to_string(),
        };
        let p = st.decide(&a, &by_id, &ctx).unwrap();
        apply(&mut st, p);
        assert_eq!(st.active_integrations().count(), 0);
        assert!(st.integrations[0].revoked_at.is_some());
        let again = st.decide(&a, &by_id, &ctx).unwrap_err();
        assert_eq!(again.rule, rules::INTEGRATION_UNKNOWN);
        // The name is free again once revoked; the limit counts active integrations only.
        for n in 0..MAX_INTEGRATIONS {
            let p = st
                .decide(&a, &add(&format!("i{n}"), 10 + n as u128), &ctx)
                .unwrap();
            apply(&mut st, p);
        }
        let full = st.decide(&a, &add("prometheus", 99), &ctx).unwrap_err();
        assert!(
            full.message.contains("revoke one first"),
            "{}",
            full.message
        );
    }
}
