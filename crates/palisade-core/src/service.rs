//! The service aggregate: a system a team owns and runs, recorded on the ledger like an incident
//! (its own stream, hash-chained and signed): a name, a description, and the integrations
//! monitoring sends alerts through (each with a routing key, stored only as its SHA-256 hash);
//! its ownership: the owning team and escalation policy (linked by id, with their names when
//! linked), a tier, runbook links and maintenance windows.

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

    /// A tier is 1 (most critical) to 4.
    pub const SERVICE_TIER: Rule = Rule::new(
        "service-tier",
        InvalidInput,
        "a service's tier is 1 (most critical) to 4",
    );
    /// A service's own days to fix findings are 1–3,650 each.
    pub const SERVICE_FINDING_SLA: Rule = Rule::new(
        "service-finding-sla",
        InvalidInput,
        "a service's days to fix a finding are 1–3,650 for each severity",
    );
    /// Runbook links are http(s) URLs, each once, at most 20.
    pub const SERVICE_RUNBOOK: Rule = Rule::new(
        "service-runbook",
        InvalidInput,
        "a runbook link is an http or https URL of at most 2,000 characters, listed once, at most 20 per service; only a listed one can be removed",
    );
    /// Maintenance windows end after they start, have a reason, and exist to be removed.
    pub const SERVICE_MAINTENANCE: Rule = Rule::new(
        "service-maintenance",
        InvalidInput,
        "a maintenance window ends after it starts, lasts at most 90 days and has a reason (1–500 characters); at most 100 per service; only a listed one can be removed",
    );

    /// Every service rule.
    pub const ALL: &[Rule] = &[
        SERVICE_NAME,
        SERVICE_INPUT,
        SERVICE_UNCHANGED,
        SERVICE_READ_ONLY,
        INTEGRATION_NAME,
        INTEGRATION_UNKNOWN,
        SERVICE_TIER,
        SERVICE_FINDING_SLA,
        SERVICE_RUNBOOK,
        SERVICE_MAINTENANCE,
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
    /// The owning team (`None`: no owner).
    OwnerSet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<Link>,
    },
    /// The tier, 1 (most critical) to 4 (`None`: no tier).
    TierSet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tier: Option<u8>,
    },
    /// The service's own days to fix findings (`None`: the deployment's).
    FindingSlaSet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sla: Option<crate::finding::SlaDays>,
    },
    RunbookAdded {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    RunbookRemoved {
        url: String,
    },
    /// The escalation policy alerts follow (`None`: none).
    EscalationPolicySet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<Link>,
    },
    /// Maintenance window `n` (numbered from 1 in the service's stream).
    MaintenanceAdded {
        n: u32,
        from: Timestamp,
        to: Timestamp,
        reason: String,
    },
    MaintenanceRemoved {
        n: u32,
    },
}

/// Another stream a service refers to: its id (which stays when it is renamed) and its name when
/// the link was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::types::ResourceName))]
    pub name: crate::types::ResourceName,
}

/// A runbook link of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runbook {
    pub url: String,
    pub title: Option<String>,
}

/// A maintenance window of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    pub n: u32,
    pub from: Timestamp,
    pub to: Timestamp,
    pub reason: String,
    pub added_by: UserName,
}

/// Most runbook links of a service.
pub const MAX_RUNBOOKS: usize = 20;
/// Most maintenance windows of a service.
pub const MAX_MAINTENANCE: usize = 100;
/// The longest maintenance window.
pub const MAX_MAINTENANCE_DAYS: i64 = 90;

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
            ServicePayload::OwnerSet { .. } => "owner_set",
            ServicePayload::TierSet { .. } => "tier_set",
            ServicePayload::FindingSlaSet { .. } => "finding_sla_set",
            ServicePayload::RunbookAdded { .. } => "runbook_added",
            ServicePayload::RunbookRemoved { .. } => "runbook_removed",
            ServicePayload::EscalationPolicySet { .. } => "escalation_policy_set",
            ServicePayload::MaintenanceAdded { .. } => "maintenance_added",
            ServicePayload::MaintenanceRemoved { .. } => "maintenance_removed",
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
            ServicePayload::OwnerSet { team: Some(t) } => format!("Owned by team {}", t.name),
            ServicePayload::OwnerSet { team: None } => "No owning team".to_string(),
            ServicePayload::TierSet { tier: Some(t) } => format!("Tier {t}"),
            ServicePayload::TierSet { tier: None } => "No tier".to_string(),
            ServicePayload::FindingSlaSet { sla: Some(d) } => format!(
                "Days to fix findings: critical {}, high {}, medium {}, low {}{}",
                d.critical,
                d.high,
                d.medium,
                d.low,
                d.info.map(|i| format!(", info {i}")).unwrap_or_default()
            ),
            ServicePayload::FindingSlaSet { sla: None } => {
                "Days to fix findings: the deployment's".to_string()
            }
            ServicePayload::RunbookAdded { url, .. } => format!("Runbook {url} added"),
            ServicePayload::RunbookRemoved { url } => format!("Runbook {url} removed"),
            ServicePayload::EscalationPolicySet { policy: Some(p) } => {
                format!("Escalates by policy {}", p.name)
            }
            ServicePayload::EscalationPolicySet { policy: None } => {
                "No escalation policy".to_string()
            }
            ServicePayload::MaintenanceAdded {
                n,
                from,
                to,
                reason,
            } => format!("Maintenance window {n} from {from} to {to}: {reason}"),
            ServicePayload::MaintenanceRemoved { n } => format!("Maintenance window {n} removed"),
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
    /// Set or clear the owning team (the caller found it).
    SetOwner {
        team: Option<Link>,
    },
    SetTier {
        tier: Option<u8>,
    },
    /// Set or clear (back to the deployment's) the days to fix findings.
    SetFindingSla {
        sla: Option<crate::finding::SlaDays>,
    },
    AddRunbook {
        url: String,
        title: Option<String>,
    },
    RemoveRunbook {
        url: String,
    },
    /// Set or clear the escalation policy (the caller found it).
    SetEscalationPolicy {
        policy: Option<Link>,
    },
    AddMaintenance {
        from: Timestamp,
        to: Timestamp,
        reason: String,
    },
    RemoveMaintenance {
        n: u32,
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
    #[serde(default)]
    pub owner: Option<Link>,
    #[serde(default)]
    pub tier: Option<u8>,
    /// Its own days to fix findings, when they differ from the deployment's.
    #[serde(default)]
    pub finding_sla: Option<crate::finding::SlaDays>,
    #[serde(default)]
    pub runbooks: Vec<Runbook>,
    #[serde(default)]
    pub escalation_policy: Option<Link>,
    #[serde(default)]
    pub maintenance: Vec<Maintenance>,
    /// The number the next maintenance window gets.
    #[serde(default)]
    pub next_maintenance: u32,
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
            owner: None,
            tier: None,
            finding_sla: None,
            runbooks: Vec::new(),
            escalation_policy: None,
            maintenance: Vec::new(),
            next_maintenance: 1,
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
            ServicePayload::OwnerSet { team } => self.owner = team.clone(),
            ServicePayload::TierSet { tier } => self.tier = *tier,
            ServicePayload::FindingSlaSet { sla } => self.finding_sla = *sla,
            ServicePayload::RunbookAdded { url, title } => self.runbooks.push(Runbook {
                url: url.clone(),
                title: title.clone(),
            }),
            ServicePayload::RunbookRemoved { url } => self.runbooks.retain(|r| r.url != *url),
            ServicePayload::EscalationPolicySet { policy } => {
                self.escalation_policy = policy.clone()
            }
            ServicePayload::MaintenanceAdded {
                n,
                from,
                to,
                reason,
            } => {
                if *n != self.next_maintenance {
                    return Err(FoldError::Inconsistent {
                        seq: e.seq,
                        message: format!(
                            "maintenance window {n} out of order (expected {})",
                            self.next_maintenance
                        ),
                    });
                }
                self.next_maintenance += 1;
                self.maintenance.push(Maintenance {
                    n: *n,
                    from: *from,
                    to: *to,
                    reason: reason.clone(),
                    added_by: e.actor.clone(),
                });
            }
            ServicePayload::MaintenanceRemoved { n } => self.maintenance.retain(|m| m.n != *n),
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
            ServiceCommand::SetOwner { team } => {
                if self.owner.as_ref().map(|l| l.id) == team.as_ref().map(|l| l.id) {
                    return refuse(
                        rules::SERVICE_UNCHANGED,
                        "the service already has that owner",
                    );
                }
                Ok(vec![ServicePayload::OwnerSet { team: team.clone() }])
            }
            ServiceCommand::SetTier { tier } => {
                if tier.is_some_and(|t| !(1..=4).contains(&t)) {
                    return refuse(
                        rules::SERVICE_TIER,
                        format!("tier {} is not 1–4", tier.unwrap_or_default()),
                    );
                }
                if *tier == self.tier {
                    return refuse(
                        rules::SERVICE_UNCHANGED,
                        "the service already has that tier",
                    );
                }
                Ok(vec![ServicePayload::TierSet { tier: *tier }])
            }
            ServiceCommand::SetFindingSla { sla } => {
                if let Some(d) = sla {
                    let days = [
                        Some(d.critical),
                        Some(d.high),
                        Some(d.medium),
                        Some(d.low),
                        d.info,
                    ];
                    if days.into_iter().flatten().any(|n| !(1..=3650).contains(&n)) {
                        return refuse(
                            rules::SERVICE_FINDING_SLA,
                            "days to fix a finding are 1–3,650 for each severity",
                        );
                    }
                }
                if *sla == self.finding_sla {
                    return refuse(
                        rules::SERVICE_UNCHANGED,
                        "the service already has those days to fix findings",
                    );
                }
                Ok(vec![ServicePayload::FindingSlaSet { sla: *sla }])
            }
            ServiceCommand::AddRunbook { url, title } => {
                let url = url.trim();
                let lower = url.to_ascii_lowercase();
                let host = lower
                    .strip_prefix("https://")
                    .or_else(|| lower.strip_prefix("http://"));
                if host.is_none_or(|h| h.is_empty() || h.starts_with('/'))
                    || url.chars().count() > 2_000
                    || url.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return refuse(
                        rules::SERVICE_RUNBOOK,
                        format!("{url:?} is not an http or https URL of at most 2,000 characters"),
                    );
                }
                if self.runbooks.iter().any(|r| r.url == url) {
                    return refuse(rules::SERVICE_RUNBOOK, format!("{url} is listed already"));
                }
                if self.runbooks.len() >= MAX_RUNBOOKS {
                    return refuse(
                        rules::SERVICE_RUNBOOK,
                        format!(
                            "{} has {MAX_RUNBOOKS} runbooks; remove one first",
                            self.name
                        ),
                    );
                }
                let title = title.as_deref().map(str::trim).filter(|t| !t.is_empty());
                if title.is_some_and(|t| t.chars().count() > 200) {
                    return refuse(
                        rules::SERVICE_RUNBOOK,
                        "a runbook's title is at most 200 characters",
                    );
                }
                Ok(vec![ServicePayload::RunbookAdded {
                    url: url.to_string(),
                    title: title.map(str::to_string),
                }])
            }
            ServiceCommand::RemoveRunbook { url } => {
                if !self.runbooks.iter().any(|r| r.url == url.trim()) {
                    return refuse(
                        rules::SERVICE_RUNBOOK,
                        format!("{} lists no runbook {url:?}", self.name),
                    );
                }
                Ok(vec![ServicePayload::RunbookRemoved {
                    url: url.trim().to_string(),
                }])
            }
            ServiceCommand::SetEscalationPolicy { policy } => {
                if self.escalation_policy.as_ref().map(|l| l.id) == policy.as_ref().map(|l| l.id) {
                    return refuse(
                        rules::SERVICE_UNCHANGED,
                        "the service already has that escalation policy",
                    );
                }
                Ok(vec![ServicePayload::EscalationPolicySet {
                    policy: policy.clone(),
                }])
            }
            ServiceCommand::AddMaintenance { from, to, reason } => {
                let bad = |m: String| refuse(rules::SERVICE_MAINTENANCE, m);
                if to.unix_micros() <= from.unix_micros() {
                    return bad(format!(
                        "the window runs from {from} to {to}: it must end after it starts"
                    ));
                }
                if to.unix_micros() - from.unix_micros() > MAX_MAINTENANCE_DAYS * 86_400_000_000 {
                    return bad(format!(
                        "a window lasts at most {MAX_MAINTENANCE_DAYS} days"
                    ));
                }
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > 500 {
                    return bad("a window's reason is 1–500 characters".to_string());
                }
                if self.maintenance.len() >= MAX_MAINTENANCE {
                    return bad(format!(
                        "{} has {MAX_MAINTENANCE} maintenance windows; remove some first",
                        self.name
                    ));
                }
                Ok(vec![ServicePayload::MaintenanceAdded {
                    n: self.next_maintenance,
                    from: *from,
                    to: *to,
                    reason: reason.to_string(),
                }])
            }
            ServiceCommand::RemoveMaintenance { n } => {
                if !self.maintenance.iter().any(|m| m.n == *n) {
                    return refuse(
                        rules::SERVICE_MAINTENANCE,
                        format!("{} has no maintenance window {n}", self.name),
                    );
                }
                Ok(vec![ServicePayload::MaintenanceRemoved { n: *n }])
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
    fn ownership_tier_runbooks_policy_and_maintenance_are_recorded_and_checked() {
        let mut st = created("payments-api");
        let a = actor(AccountRole::Responder);
        let ctx = Context {
            now: at(),
            policy: &(),
        };
        let run = |st: &mut ServiceState, cmd: ServiceCommand| -> Result<(), Refusal> {
            let p = st.decide(&a, &cmd, &ctx)?;
            for e in numbered(st.stream(), st.last_seq, &a.user, at(), None, p) {
                st.apply(&e).unwrap();
            }
            Ok(())
        };
        let link = |n: u128, name: &str| Link {
            id: Uuid::from_u128(n),
            name: crate::types::ResourceName::parse(name).unwrap(),
        };
        run(
            &mut st,
            ServiceCommand::SetOwner {
                team: Some(link(1, "payments")),
            },
        )
        .unwrap();
        run(&mut st, ServiceCommand::SetTier { tier: Some(1) }).unwrap();
        run(
            &mut st,
            ServiceCommand::AddRunbook {
                url: "https://wiki.example/payments".into(),
                title: Some("Payments runbook".into()),
            },
        )
        .unwrap();
        run(
            &mut st,
            ServiceCommand::SetEscalationPolicy {
                policy: Some(link(2, "payments")),
            },
        )
        .unwrap();
        let t = |s: &str| Timestamp::parse(s).unwrap();
        run(
            &mut st,
            ServiceCommand::AddMaintenance {
                from: t("2026-12-10T22:00:00+01:00"),
                to: t("2026-12-11T02:00:00+01:00"),
                reason: "Database upgrade".into(),
            },
        )
        .unwrap();
        assert_eq!(st.owner.as_ref().unwrap().name.as_str(), "payments");
        assert_eq!(st.tier, Some(1));
        assert_eq!(st.runbooks[0].title.as_deref(), Some("Payments runbook"));
        assert_eq!(st.maintenance[0].n, 1);
        assert_eq!(
            st.history.last().unwrap().description,
            "Maintenance window 1 from 2026-12-10T22:00:00+01:00 to 2026-12-11T02:00:00+01:00: Database upgrade"
        );
        run(&mut st, ServiceCommand::RemoveMaintenance { n: 1 }).unwrap();
        run(
            &mut st,
            ServiceCommand::RemoveRunbook {
                url: "https://wiki.example/payments".into(),
            },
        )
        .unwrap();
        run(&mut st, ServiceCommand::SetOwner { team: None }).unwrap();
        assert!(st.owner.is_none() && st.runbooks.is_empty() && st.maintenance.is_empty());
        // The next window is 2, never 1 again.
        run(
            &mut st,
            ServiceCommand::AddMaintenance {
                from: t("2026-12-12T00:00:00Z"),
                to: t("2026-12-12T01:00:00Z"),
                reason: "Again".into(),
            },
        )
        .unwrap();
        assert_eq!(st.maintenance[0].n, 2);

        for (cmd, rule) in [
            (
                ServiceCommand::SetTier { tier: Some(0) },
                rules::SERVICE_TIER,
            ),
            (
                ServiceCommand::SetTier { tier: Some(5) },
                rules::SERVICE_TIER,
            ),
            (
                ServiceCommand::SetTier { tier: Some(1) },
                rules::SERVICE_UNCHANGED,
            ),
            (
                ServiceCommand::SetOwner { team: None },
                rules::SERVICE_UNCHANGED,
            ),
            (
                ServiceCommand::AddRunbook {
                    url: "javascript:alert(1)".into(),
                    title: None,
                },
                rules::SERVICE_RUNBOOK,
            ),
            (
                ServiceCommand::AddRunbook {
                    url: "https://".into(),
                    title: None,
                },
                rules::SERVICE_RUNBOOK,
            ),
            (
                ServiceCommand::AddRunbook {
                    url: "https://a.example/x y".into(),
                    title: None,
                },
                rules::SERVICE_RUNBOOK,
            ),
            (
                ServiceCommand::RemoveRunbook {
                    url: "https://nowhere.example".into(),
                },
                rules::SERVICE_RUNBOOK,
            ),
            (
                ServiceCommand::AddMaintenance {
                    from: t("2026-12-12T01:00:00Z"),
                    to: t("2026-12-12T01:00:00Z"),
                    reason: "x".into(),
                },
                rules::SERVICE_MAINTENANCE,
            ),
            (
                ServiceCommand::AddMaintenance {
                    from: t("2026-01-01T00:00:00Z"),
                    to: t("2026-06-01T00:00:00Z"),
                    reason: "x".into(),
                },
                rules::SERVICE_MAINTENANCE,
            ),
            (
                ServiceCommand::AddMaintenance {
                    from: t("2026-12-12T00:00:00Z"),
                    to: t("2026-12-12T01:00:00Z"),
                    reason: "  ".into(),
                },
                rules::SERVICE_MAINTENANCE,
            ),
            (
                ServiceCommand::RemoveMaintenance { n: 1 },
                rules::SERVICE_MAINTENANCE,
            ),
        ] {
            let r = run(&mut st, cmd.clone()).unwrap_err();
            assert_eq!(r.rule, rule, "{cmd:?}");
        }
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
