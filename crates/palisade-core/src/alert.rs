//! The alert aggregate: one stream per alert, from the trigger that opened it to its resolution.
//!
//! Alerts arrive from monitoring (the PagerDuty Events API v2, Alertmanager) through a service's
//! integration, or from Palisade's own scanners. At most one alert of a service is open per
//! deduplication key: a trigger whose key matches an open alert is recorded on that alert as
//! `deduplicated`, with the rule and the fields that matched, so anyone can later see why two
//! signals became one alert. A trigger after the alert was resolved opens a new alert.
//!
//! The limits are the Events API's: summary 1,024 characters, deduplication key 255, severity
//! one of critical/error/warning/info, image sources over https.

use crate::Actor;
use crate::aggregate::{Aggregate, Context, FoldError, Notice, Recipient, check_first, check_next};
use crate::event::{Event, Timestamp};
use crate::rule::{Refusal, refuse};
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, UserName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

/// The alert's rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// An alert's fields are within the Events API's limits.
    pub const ALERT_INPUT: Rule = Rule::new(
        "alert-input",
        InvalidInput,
        "an alert's fields are within the Events API's limits (summary 1–1,024 characters, dedup_key up to 255, severity critical/error/warning/info, https image sources)",
    );
    /// A resolved alert stays resolved: a new trigger with its key opens a new alert.
    pub const ALERT_RESOLVED: Rule = Rule::new(
        "alert-resolved",
        Conflict,
        "a resolved alert stays resolved; a new trigger with its key opens a new alert",
    );
    /// Viewers read alerts but do not acknowledge or resolve them.
    pub const ALERT_READ_ONLY: Rule = Rule::new(
        "alert-read-only",
        Permission,
        "viewer accounts read alerts but do not acknowledge or resolve them",
    );

    /// An alert is promoted to one incident at most.
    pub const ALERT_PROMOTED: Rule = Rule::new(
        "alert-promoted",
        Conflict,
        "an alert is promoted to an incident once; later work goes on that incident",
    );

    /// Every alert rule.
    pub const ALL: &[Rule] = &[ALERT_INPUT, ALERT_RESOLVED, ALERT_READ_ONLY, ALERT_PROMOTED];
}

/// The rule recorded when a trigger joins an open alert because their keys are equal.
pub const SAME_DEDUP_KEY: &str = "same-dedup-key";

/// Longest summary (characters), as the Events API.
pub const MAX_SUMMARY: usize = 1024;
/// Longest deduplication key (characters), as the Events API.
pub const MAX_DEDUP_KEY: usize = 255;
/// Longest source, component, group, class, client (characters).
pub const MAX_FIELD: usize = 1024;
/// Most links and images on one event.
pub const MAX_LINKS: usize = 50;

/// How bad it is, as the Events API says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Critical,
    Error,
    Warning,
    Info,
}

impl AlertSeverity {
    pub fn parse(s: &str) -> Option<AlertSeverity> {
        Some(match s {
            "critical" => AlertSeverity::Critical,
            "error" => AlertSeverity::Error,
            "warning" => AlertSeverity::Warning,
            "info" => AlertSeverity::Info,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Critical => "critical",
            AlertSeverity::Error => "error",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Info => "info",
        }
    }
}

impl fmt::Display for AlertSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Triggered => "triggered",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }
    pub fn parse(s: &str) -> Option<AlertStatus> {
        Some(match s {
            "triggered" => AlertStatus::Triggered,
            "acknowledged" => AlertStatus::Acknowledged,
            "resolved" => AlertStatus::Resolved,
            _ => return None,
        })
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A link sent with an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertLink {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// An image sent with an event (its source over https).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertImage {
    pub src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// Free-form details as the sender sent them (any JSON), kept as JSON text: the ledger's
/// canonical encoding has no floating-point numbers and no integers beyond ±2^53, and monitoring
/// data is full of both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct CustomDetails(pub String);

impl CustomDetails {
    pub fn from_value(v: &serde_json::Value) -> CustomDetails {
        CustomDetails(v.to_string())
    }
    /// The details as JSON again (text that is not JSON, which only a hand-edited ledger could
    /// hold, comes back as a string).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_else(|_| serde_json::Value::String(self.0.clone()))
    }
}

/// What one trigger said: the Events API's payload and its links, images and client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertDetails {
    pub summary: String,
    pub source: String,
    pub severity: AlertSeverity,
    /// When the monitoring tool saw it, as it said (not trusted as the record's time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// As JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_details: Option<CustomDetails>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<AlertLink>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<AlertImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
}

impl AlertDetails {
    /// Everything wrong with these details, each as the Events API would say it (empty when
    /// they are valid).
    pub fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let n = self.summary.chars().count();
        if self.summary.trim().is_empty() {
            errors.push("'payload.summary' is missing or blank.".to_string());
        } else if n > MAX_SUMMARY {
            errors.push(format!(
                "'payload.summary' is {n} characters; the limit is {MAX_SUMMARY}."
            ));
        }
        if self.source.trim().is_empty() {
            errors.push("'payload.source' is missing or blank.".to_string());
        }
        for (name, v) in [
            ("payload.source", Some(&self.source)),
            ("payload.component", self.component.as_ref()),
            ("payload.group", self.group.as_ref()),
            ("payload.class", self.class.as_ref()),
            ("payload.timestamp", self.timestamp.as_ref()),
            ("client", self.client.as_ref()),
            ("client_url", self.client_url.as_ref()),
        ] {
            if let Some(v) = v
                && v.chars().count() > MAX_FIELD
            {
                errors.push(format!("'{name}' is longer than {MAX_FIELD} characters."));
            }
        }
        if self.links.len() > MAX_LINKS {
            errors.push(format!("'links' has more than {MAX_LINKS} entries."));
        }
        if self.images.len() > MAX_LINKS {
            errors.push(format!("'images' has more than {MAX_LINKS} entries."));
        }
        for (i, img) in self.images.iter().enumerate() {
            if !img.src.starts_with("https://") {
                errors.push(format!("'images[{i}].src' must be an https URL."));
            }
        }
        errors
    }
}

/// The kind of timer notice that moves an alert's escalation on: `{"alert", "level", "round"}`.
pub const ESCALATE: &str = "escalate";
/// The kind of notice that pages a person.
pub const PAGE: &str = "page";

/// An escalation step: a level of the policy in a round (rounds repeat the levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub round: u32,
    pub level: u32,
}

/// When the escalation moves on if nobody acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NextStep {
    pub step: Step,
    pub after_secs: u64,
}

/// Which integration a signal came through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub integration: Uuid,
    pub name: String,
}

/// What happened to an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertPayload {
    /// The alert opened: no open alert of the service had this key.
    Triggered {
        service: Uuid,
        dedup_key: String,
        /// The sender gave no key; this one was made for it (and returned to it).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dedup_key_generated: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
        details: AlertDetails,
        /// Why this is a new alert and not an occurrence of an open one.
        reason: String,
    },
    /// Another trigger joined this open alert, by `rule` on the `matched` fields.
    Deduplicated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
        details: AlertDetails,
        rule: String,
        matched: BTreeMap<String, String>,
        reason: String,
    },
    Acknowledged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
    },
    Resolved {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
    },
    /// An escalation step was taken: these people were paged (none when the level had nobody
    /// to page, said in `reason`), and the next step, if any, is due `next.after_secs` later
    /// unless the alert is acknowledged or resolved first.
    Escalated {
        step: Step,
        users: Vec<UserName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<NextStep>,
        reason: String,
        /// The policy keeps paging this level's people after an acknowledgement (their later
        /// notification rules still go out); otherwise an acknowledgement stops them.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_paging_after_ack: bool,
    },
    /// An incident was declared from this alert. Its id is recorded here; views name the
    /// incident only to those who may see it (a restricted incident exists for its members
    /// alone).
    Promoted { incident: Uuid },
}

impl AlertPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            AlertPayload::Triggered { .. } => "triggered",
            AlertPayload::Deduplicated { .. } => "deduplicated",
            AlertPayload::Acknowledged { .. } => "acknowledged",
            AlertPayload::Resolved { .. } => "resolved",
            AlertPayload::Escalated { .. } => "escalated",
            AlertPayload::Promoted { .. } => "promoted",
        }
    }
    pub fn describe(&self) -> String {
        let via = |o: &Option<Origin>| {
            o.as_ref()
                .map(|o| format!(" via integration {}", o.name))
                .unwrap_or_default()
        };
        match self {
            AlertPayload::Triggered {
                details,
                origin,
                reason,
                ..
            } => format!(
                "Triggered ({}){}: {} — {reason}",
                details.severity,
                via(origin),
                details.summary
            ),
            AlertPayload::Deduplicated {
                details,
                origin,
                reason,
                ..
            } => format!(
                "Deduplicated ({}){}: {} — {reason}",
                details.severity,
                via(origin),
                details.summary
            ),
            AlertPayload::Acknowledged { origin } => format!("Acknowledged{}", via(origin)),
            AlertPayload::Resolved { origin } => format!("Resolved{}", via(origin)),
            AlertPayload::Escalated {
                step,
                users,
                next,
                reason,
                ..
            } => {
                let then = match next {
                    Some(n) => format!(
                        "; level {} of round {} in {} s unless acknowledged",
                        n.step.level + 1,
                        n.step.round + 1,
                        n.after_secs
                    ),
                    None => "; the last step".to_string(),
                };
                let who = if users.is_empty() {
                    format!("Nobody paged ({reason})")
                } else {
                    let names: Vec<&str> = users.iter().map(UserName::as_str).collect();
                    format!("Paged {} ({reason})", names.join(", "))
                };
                format!(
                    "{who} at level {} of round {}{then}",
                    step.level + 1,
                    step.round + 1
                )
            }
            AlertPayload::Promoted { .. } => "Promoted to an incident".to_string(),
        }
    }
}

/// Opening an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct RaiseAlert {
    pub service: Uuid,
    pub service_name: String,
    pub dedup_key: String,
    pub dedup_key_generated: bool,
    pub origin: Option<Origin>,
    pub details: AlertDetails,
    /// The first escalation step, resolved when the alert opens: recorded with the trigger in
    /// one append, its pages committed with it (no timer, no second append). Without it the
    /// trigger sets a timer for the first step, due at once.
    pub first_step: Option<StepPlan>,
}

/// An escalation step as the service's policy resolves it at a time: who is paged, why, and
/// the step after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepPlan {
    pub users: Vec<UserName>,
    pub next: Option<NextStep>,
    pub reason: String,
    pub keep_paging_after_ack: bool,
}

impl StepPlan {
    /// The event recording this plan taken as step `step`.
    fn escalated(&self, step: Step) -> AlertPayload {
        AlertPayload::Escalated {
            step,
            users: self.users.clone(),
            next: self.next,
            reason: self.reason.clone(),
            keep_paging_after_ack: self.keep_paging_after_ack,
        }
    }
}

/// A change to an alert.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertCommand {
    /// Another trigger with this alert's key.
    Retrigger {
        origin: Option<Origin>,
        details: AlertDetails,
    },
    Acknowledge {
        origin: Option<Origin>,
    },
    Resolve {
        origin: Option<Origin>,
    },
    /// Record that `incident` was declared from this alert.
    Promote {
        incident: Uuid,
    },
    /// Take an escalation step (the application resolved who is on call for it).
    Escalate {
        step: Step,
        plan: StepPlan,
    },
}

/// How later triggers were joined to an alert: the rule and the fields it matched, as a
/// `deduplicated` event recorded them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupMatch {
    pub rule: String,
    pub matched: BTreeMap<String, String>,
}

/// Deduplication lines an alert's history keeps: the most recent ones. An alert that flaps
/// all week is deduplicated tens of thousands of times; its state (kept in memory, cloned per
/// command) must not grow with each. Every occurrence stays on the ledger, counted in
/// `occurrences`, and its event is read by page.
pub const DEDUP_LINES_KEPT: usize = 20;

/// One line of an alert's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertHistoryEntry {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: UserName,
    pub recorded_at: Timestamp,
    pub description: String,
}

/// An alert: a fold of its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    pub id: Uuid,
    pub service: Uuid,
    pub dedup_key: String,
    pub status: AlertStatus,
    /// The first trigger's details; later occurrences are in the history.
    pub details: AlertDetails,
    /// The rule and matched fields of the last trigger deduplicated into it (`None` until one
    /// was), so a listing can say why occurrences became one alert.
    #[serde(default)]
    pub deduplicated_by: Option<DedupMatch>,
    /// The highest severity any occurrence reported.
    pub severity: AlertSeverity,
    /// Triggers recorded on this alert (the first included).
    pub occurrences: u32,
    pub triggered_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<UserName>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<UserName>,
    /// The incident declared from it, if any.
    pub incident: Option<Uuid>,
    /// The last escalation step taken.
    #[serde(default)]
    pub escalation: Option<Step>,
    /// When someone was first paged for it.
    #[serde(default)]
    pub first_paged_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    /// Every line but the oldest deduplications beyond [`DEDUP_LINES_KEPT`].
    pub history: Vec<AlertHistoryEntry>,
    /// Deduplication lines left out of `history` (their events are on the ledger).
    #[serde(default)]
    pub history_elided: u64,
    pub last_seq: u64,
}

impl AlertState {
    /// About how many bytes this state holds: its text, which the sender chose (a payload may
    /// be hundreds of kilobytes), plus a fixed cost per part. For bounding caches, not exact.
    pub fn approximate_bytes(&self) -> usize {
        let opt = |o: &Option<String>| o.as_ref().map_or(0, String::len);
        let d = &self.details;
        let details = d.summary.len()
            + d.source.len()
            + opt(&d.timestamp)
            + opt(&d.component)
            + opt(&d.group)
            + opt(&d.class)
            + d.custom_details.as_ref().map_or(0, |c| c.0.len())
            + d.links
                .iter()
                .map(|l| 64 + l.href.len() + opt(&l.text))
                .sum::<usize>()
            + d.images
                .iter()
                .map(|i| 64 + i.src.len() + opt(&i.href) + opt(&i.alt))
                .sum::<usize>()
            + opt(&d.client)
            + opt(&d.client_url);
        let dedup = self.deduplicated_by.as_ref().map_or(0, |m| {
            m.rule.len()
                + m.matched
                    .iter()
                    .map(|(k, v)| 64 + k.len() + v.len())
                    .sum::<usize>()
        });
        let history = self
            .history
            .iter()
            .map(|h| 128 + h.kind.len() + h.description.len())
            .sum::<usize>();
        512 + self.dedup_key.len() + details + dedup + history
    }

    /// The unique key an open alert holds: one open alert per (service, dedup_key).
    pub fn open_key(service: Uuid, dedup_key: &str) -> String {
        format!("{}/{dedup_key}", service.as_hyphenated())
    }

    fn record(&mut self, e: &Event<AlertPayload>) {
        self.history.push(AlertHistoryEntry {
            seq: e.seq,
            kind: e.data.kind().to_string(),
            actor: e.actor.clone(),
            recorded_at: e.recorded_at,
            description: e.data.describe(),
        });
        if matches!(e.data, AlertPayload::Deduplicated { .. }) {
            let kept = u64::from(self.occurrences - 1) - self.history_elided;
            if kept > DEDUP_LINES_KEPT as u64
                && let Some(i) = self.history.iter().position(|h| h.kind == "deduplicated")
            {
                self.history.remove(i);
                self.history_elided += 1;
            }
        }
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
    }
}

fn check_details(d: &AlertDetails) -> Result<(), Refusal> {
    let problems = d.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        refuse(rules::ALERT_INPUT, problems.join(" "))
    }
}

impl Aggregate for AlertState {
    const KIND: StreamKind = StreamKind::Alert;
    type Payload = AlertPayload;
    type Command = AlertCommand;
    type Create = RaiseAlert;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Alert, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn from_first(e: &Event<AlertPayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Alert, e)?;
        let AlertPayload::Triggered {
            service,
            dedup_key,
            details,
            ..
        } = &e.data
        else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "triggered",
                found: e.data.kind(),
            });
        };
        let mut st = AlertState {
            id: e.stream.id,
            service: *service,
            dedup_key: dedup_key.clone(),
            status: AlertStatus::Triggered,
            severity: details.severity,
            details: details.clone(),
            deduplicated_by: None,
            occurrences: 1,
            triggered_at: e.recorded_at,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            incident: None,
            escalation: None,
            first_paged_at: None,
            updated_at: e.recorded_at,
            history: Vec::new(),
            history_elided: 0,
            last_seq: 0,
        };
        st.record(e);
        Ok(st)
    }

    fn apply(&mut self, e: &Event<AlertPayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        match &e.data {
            AlertPayload::Triggered { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "triggered",
                });
            }
            AlertPayload::Deduplicated {
                details,
                rule,
                matched,
                ..
            } => {
                self.occurrences += 1;
                self.deduplicated_by = Some(DedupMatch {
                    rule: rule.clone(),
                    matched: matched.clone(),
                });
                // Critical sorts first: the most severe occurrence is the alert's severity.
                self.severity = self.severity.min(details.severity);
            }
            AlertPayload::Acknowledged { .. } => {
                self.status = AlertStatus::Acknowledged;
                self.acknowledged_at = Some(e.recorded_at);
                self.acknowledged_by = Some(e.actor.clone());
            }
            AlertPayload::Resolved { .. } => {
                self.status = AlertStatus::Resolved;
                self.resolved_at = Some(e.recorded_at);
                self.resolved_by = Some(e.actor.clone());
            }
            AlertPayload::Promoted { incident } => self.incident = Some(*incident),
            AlertPayload::Escalated { step, users, .. } => {
                self.escalation = Some(*step);
                if !users.is_empty() && self.first_paged_at.is_none() {
                    self.first_paged_at = Some(e.recorded_at);
                }
            }
        }
        self.record(e);
        Ok(())
    }

    fn create_role(_: &RaiseAlert) -> AccountRole {
        AccountRole::Responder
    }

    fn decide_create(
        _: &Actor,
        c: &RaiseAlert,
        _: &Context<'_, ()>,
    ) -> Result<Vec<AlertPayload>, Refusal> {
        check_details(&c.details)?;
        let n = c.dedup_key.chars().count();
        if n == 0 || n > MAX_DEDUP_KEY {
            return refuse(
                rules::ALERT_INPUT,
                format!("a dedup_key is 1–{MAX_DEDUP_KEY} characters; this one is {n}"),
            );
        }
        let reason = if c.dedup_key_generated {
            "the event had no dedup_key, so a new one was made and the event opened a new alert"
                .to_string()
        } else {
            format!(
                "no open alert of service {} has dedup_key {:?}",
                c.service_name, c.dedup_key
            )
        };
        let mut out = vec![AlertPayload::Triggered {
            service: c.service,
            dedup_key: c.dedup_key.clone(),
            dedup_key_generated: c.dedup_key_generated,
            origin: c.origin.clone(),
            details: c.details.clone(),
            reason,
        }];
        if let Some(first) = &c.first_step {
            out.push(first.escalated(Step { round: 0, level: 0 }));
        }
        Ok(out)
    }

    fn required_role(_: &AlertCommand) -> AccountRole {
        AccountRole::Responder
    }

    /// Alerts belong to services, and every account sees every service.
    fn visible_to(&self, _: &Actor, _: Option<&AlertCommand>, _: Timestamp) -> bool {
        true
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &AlertCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<AlertPayload>, Refusal> {
        if actor.account_role == AccountRole::Viewer {
            return refuse(
                rules::ALERT_READ_ONLY,
                "viewer accounts may read alerts but not change them",
            );
        }
        match cmd {
            AlertCommand::Retrigger { origin, details } => {
                if self.status == AlertStatus::Resolved {
                    return refuse(
                        rules::ALERT_RESOLVED,
                        "the alert with this key was resolved; the trigger opens a new one",
                    );
                }
                check_details(details)?;
                let matched = BTreeMap::from([("dedup_key".to_string(), self.dedup_key.clone())]);
                Ok(vec![AlertPayload::Deduplicated {
                    origin: origin.clone(),
                    details: details.clone(),
                    rule: SAME_DEDUP_KEY.to_string(),
                    matched,
                    reason: format!(
                        "alert {} of this service is open ({}) with dedup_key {:?}",
                        self.id, self.status, self.dedup_key
                    ),
                }])
            }
            // Acknowledging an acknowledged or resolved alert, or resolving a resolved one,
            // changes nothing and is not an error (the Events API accepts and drops them).
            AlertCommand::Acknowledge { origin } => Ok(match self.status {
                AlertStatus::Triggered => vec![AlertPayload::Acknowledged {
                    origin: origin.clone(),
                }],
                _ => Vec::new(),
            }),
            AlertCommand::Resolve { origin } => Ok(match self.status {
                AlertStatus::Resolved => Vec::new(),
                _ => vec![AlertPayload::Resolved {
                    origin: origin.clone(),
                }],
            }),
            // Acknowledging or resolving stops the escalation; a step already taken (a timer
            // that fired twice after a crash) is not taken again.
            AlertCommand::Escalate { step, plan } => Ok(
                if self.status != AlertStatus::Triggered
                    || self.escalation.is_some_and(|s| s >= *step)
                {
                    Vec::new()
                } else {
                    vec![plan.escalated(*step)]
                },
            ),
            AlertCommand::Promote { incident } => {
                if self.incident.is_some() {
                    return refuse(
                        rules::ALERT_PROMOTED,
                        "this alert was already promoted to an incident",
                    );
                }
                Ok(vec![AlertPayload::Promoted {
                    incident: *incident,
                }])
            }
        }
    }
    /// A new alert sets its first escalation timer (due at once) unless its first step was
    /// taken with it; each step pages its people and sets the timer of the next step. All are
    /// written with the event, so none is lost.
    fn effects(&self, new: &[Event<AlertPayload>]) -> Vec<Notice> {
        let timer = |step: Step, delay_secs: u64| Notice {
            to: Recipient::Timer,
            kind: ESCALATE,
            body: serde_json::json!({"alert": self.id, "round": step.round, "level": step.level}),
            delay_secs,
        };
        let mut out = Vec::new();
        for e in new {
            match &e.data {
                AlertPayload::Triggered { .. }
                    if !new
                        .iter()
                        .any(|e| matches!(e.data, AlertPayload::Escalated { .. })) =>
                {
                    out.push(timer(Step { round: 0, level: 0 }, 0))
                }
                AlertPayload::Escalated {
                    step,
                    users,
                    next,
                    keep_paging_after_ack,
                    ..
                } => {
                    for u in users {
                        out.push(Notice {
                            to: Recipient::User(u.clone()),
                            kind: PAGE,
                            body: serde_json::json!({
                                "type": PAGE,
                                "to": u,
                                "alert": self.id,
                                "service": self.service,
                                "severity": self.severity,
                                "summary": self.details.summary,
                                "dedup_key": self.dedup_key,
                                "level": step.level + 1,
                                "round": step.round + 1,
                                "keep_paging_after_ack": keep_paging_after_ack,
                                "at": e.recorded_at.to_string(),
                                "text": format!(
                                    "[{}] {} (alert {}; acknowledge with `palisade alert ack {}`)",
                                    self.severity, self.details.summary, self.id, self.id
                                ),
                            }),
                            delay_secs: 0,
                        });
                    }
                    if let Some(n) = next {
                        out.push(timer(n.step, n.after_secs));
                    }
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::numbered;

    fn actor(role: AccountRole) -> Actor {
        Actor {
            user: UserName::parse("integration").unwrap(),
            account_role: role,
        }
    }
    fn at() -> Timestamp {
        Timestamp::parse("2026-12-07T03:00:00Z").unwrap()
    }
    fn ctx() -> Context<'static, ()> {
        Context {
            now: at(),
            policy: &(),
        }
    }
    fn details(summary: &str, severity: AlertSeverity) -> AlertDetails {
        AlertDetails {
            summary: summary.into(),
            source: "web-1".into(),
            severity,
            timestamp: None,
            component: None,
            group: None,
            class: None,
            custom_details: None,
            links: Vec::new(),
            images: Vec::new(),
            client: None,
            client_url: None,
        }
    }
    fn raise(key: &str) -> RaiseAlert {
        RaiseAlert {
            service: Uuid::nil(),
            service_name: "payments-api".into(),
            dedup_key: key.into(),
            dedup_key_generated: false,
            origin: None,
            details: details("Disk full on web-1", AlertSeverity::Warning),
            first_step: None,
        }
    }
    fn opened(key: &str) -> AlertState {
        let a = actor(AccountRole::Responder);
        let p = AlertState::decide_create(&a, &raise(key), &ctx()).unwrap();
        let events = numbered(
            StreamId::new(StreamKind::Alert, Uuid::nil()),
            0,
            &a.user,
            at(),
            None,
            p,
        );
        AlertState::fold(&events).unwrap()
    }
    fn run(st: &mut AlertState, cmd: AlertCommand) -> Result<usize, Refusal> {
        let a = actor(AccountRole::Responder);
        let p = st.decide(&a, &cmd, &ctx())?;
        let n = p.len();
        for e in numbered(st.stream(), st.last_seq, &a.user, at(), None, p) {
            st.apply(&e).unwrap();
        }
        Ok(n)
    }

    #[test]
    fn a_trigger_with_an_open_alerts_key_is_recorded_with_the_rule_and_the_matched_key() {
        let mut st = opened("disk/web-1");
        assert_eq!(st.status, AlertStatus::Triggered);
        assert!(
            st.history[0]
                .description
                .contains("no open alert of service payments-api has dedup_key \"disk/web-1\""),
            "{}",
            st.history[0].description
        );
        let again = AlertCommand::Retrigger {
            origin: None,
            details: details("Disk full on web-1", AlertSeverity::Critical),
        };
        assert_eq!(run(&mut st, again.clone()), Ok(1));
        assert_eq!(st.occurrences, 2);
        assert_eq!(st.severity, AlertSeverity::Critical, "the worst occurrence");
        assert_eq!(
            st.deduplicated_by,
            Some(DedupMatch {
                rule: SAME_DEDUP_KEY.into(),
                matched: BTreeMap::from([("dedup_key".into(), "disk/web-1".into())]),
            }),
            "the state says why, as the event recorded it"
        );
        let a = actor(AccountRole::Responder);
        let p = st.decide(&a, &again, &ctx()).unwrap();
        let AlertPayload::Deduplicated { rule, matched, .. } = &p[0] else {
            panic!("{p:?}")
        };
        assert_eq!(rule, SAME_DEDUP_KEY);
        assert_eq!(
            matched.get("dedup_key").map(String::as_str),
            Some("disk/web-1")
        );
    }

    #[test]
    fn a_flapping_alert_keeps_its_latest_deduplication_lines_and_counts_the_rest() {
        let a = actor(AccountRole::Responder);
        let mut events = numbered(
            StreamId::new(StreamKind::Alert, Uuid::nil()),
            0,
            &a.user,
            at(),
            None,
            AlertState::decide_create(&a, &raise("flap"), &ctx()).unwrap(),
        );
        let mut st = AlertState::fold(&events).unwrap();
        let mut step = |st: &mut AlertState, cmd: &AlertCommand| {
            let p = st.decide(&a, cmd, &ctx()).unwrap();
            for e in numbered(st.stream(), st.last_seq, &a.user, at(), None, p) {
                st.apply(&e).unwrap();
                events.push(e);
            }
        };
        step(&mut st, &AlertCommand::Acknowledge { origin: None });
        let again = AlertCommand::Retrigger {
            origin: None,
            details: details("Disk full on web-1", AlertSeverity::Warning),
        };
        let n = 10_000;
        for _ in 0..n {
            step(&mut st, &again);
        }
        assert_eq!(st.occurrences, n + 1);
        assert_eq!(st.last_seq, u64::from(n) + 2);
        let kinds: Vec<&str> = st.history.iter().map(|h| h.kind.as_str()).collect();
        assert_eq!(kinds.len(), 2 + DEDUP_LINES_KEPT, "{kinds:?}");
        assert_eq!(&kinds[..2], ["triggered", "acknowledged"], "never elided");
        assert_eq!(st.history_elided, u64::from(n) - DEDUP_LINES_KEPT as u64);
        // The lines kept are the latest, in order.
        let seqs: Vec<u64> = st.history[2..].iter().map(|h| h.seq).collect();
        let last = st.last_seq;
        assert_eq!(
            seqs,
            ((last - DEDUP_LINES_KEPT as u64 + 1)..=last).collect::<Vec<_>>()
        );
        // A fold of the whole stream gives the same as the state kept between commands.
        assert_eq!(AlertState::fold(&events).unwrap(), st);
    }

    #[test]
    fn acknowledge_and_resolve_move_once_and_repeats_change_nothing() {
        let mut st = opened("k");
        assert_eq!(
            run(&mut st, AlertCommand::Acknowledge { origin: None }),
            Ok(1)
        );
        assert_eq!(st.status, AlertStatus::Acknowledged);
        assert_eq!(
            run(&mut st, AlertCommand::Acknowledge { origin: None }),
            Ok(0)
        );
        assert_eq!(run(&mut st, AlertCommand::Resolve { origin: None }), Ok(1));
        assert_eq!(st.status, AlertStatus::Resolved);
        assert_eq!(run(&mut st, AlertCommand::Resolve { origin: None }), Ok(0));
        assert_eq!(
            run(&mut st, AlertCommand::Acknowledge { origin: None }),
            Ok(0)
        );
        let r = run(
            &mut st,
            AlertCommand::Retrigger {
                origin: None,
                details: details("again", AlertSeverity::Info),
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::ALERT_RESOLVED);
        assert_eq!(st.last_seq, 3);
    }

    #[test]
    fn events_outside_the_limits_are_refused_with_every_problem_named() {
        let a = actor(AccountRole::Responder);
        let mut bad = raise("k");
        bad.details.summary = "s".repeat(MAX_SUMMARY + 1);
        bad.details.source = " ".into();
        bad.details.images = vec![AlertImage {
            src: "http://example.invalid/x.png".into(),
            href: None,
            alt: None,
        }];
        let r = AlertState::decide_create(&a, &bad, &ctx()).unwrap_err();
        assert_eq!(r.rule, rules::ALERT_INPUT);
        for needle in ["payload.summary", "payload.source", "images[0].src"] {
            assert!(r.message.contains(needle), "{needle} in {}", r.message);
        }
        let long_key = raise(&"k".repeat(MAX_DEDUP_KEY + 1));
        let r = AlertState::decide_create(&a, &long_key, &ctx()).unwrap_err();
        assert_eq!(r.rule, rules::ALERT_INPUT);
        let exactly = raise(&"k".repeat(MAX_DEDUP_KEY));
        assert_eq!(
            AlertState::decide_create(&a, &exactly, &ctx()).map(|p| p.len()),
            Ok(1)
        );
    }

    #[test]
    fn an_alert_is_promoted_once_and_its_history_does_not_name_the_incident() {
        let mut st = opened("k");
        let incident = Uuid::from_u128(7);
        assert_eq!(run(&mut st, AlertCommand::Promote { incident }), Ok(1));
        assert_eq!(st.incident, Some(incident));
        assert_eq!(st.history[1].description, "Promoted to an incident");
        let again = run(
            &mut st,
            AlertCommand::Promote {
                incident: Uuid::from_u128(8),
            },
        )
        .unwrap_err();
        assert_eq!(again.rule, rules::ALERT_PROMOTED);
    }

    #[test]
    fn escalation_steps_page_once_set_the_next_timer_and_stop_at_acknowledgement() {
        let mut st = opened("k");
        let a = actor(AccountRole::Responder);
        // The trigger set the first timer, due at once.
        let first = numbered(
            st.stream(),
            0,
            &a.user,
            at(),
            None,
            vec![AlertPayload::Triggered {
                service: Uuid::nil(),
                dedup_key: "k".into(),
                dedup_key_generated: false,
                origin: None,
                details: details("x", AlertSeverity::Error),
                reason: "r".into(),
            }],
        );
        let fx = st.effects(&first);
        assert_eq!(fx.len(), 1);
        assert_eq!(
            (fx[0].to.clone(), fx[0].kind, fx[0].delay_secs),
            (Recipient::Timer, ESCALATE, 0)
        );
        let alice = UserName::parse("alice").unwrap();
        let step = |round, level| Step { round, level };
        let page = |s: Step, next: Option<NextStep>| AlertCommand::Escalate {
            step: s,
            plan: StepPlan {
                users: vec![alice.clone()],
                next,
                reason: "on call for primary".into(),
                keep_paging_after_ack: false,
            },
        };
        let next = NextStep {
            step: step(0, 1),
            after_secs: 300,
        };
        let p = st
            .decide(&a, &page(step(0, 0), Some(next)), &ctx())
            .unwrap();
        let events = numbered(st.stream(), st.last_seq, &a.user, at(), None, p);
        for e in &events {
            st.apply(e).unwrap();
        }
        let fx = st.effects(&events);
        assert_eq!(fx.len(), 2, "{fx:?}");
        assert_eq!(fx[0].to, Recipient::User(alice.clone()));
        assert_eq!(fx[0].kind, PAGE);
        assert_eq!((fx[1].kind, fx[1].delay_secs), (ESCALATE, 300));
        assert_eq!(fx[1].body["level"], 1);
        assert!(
            st.history.last().unwrap().description.starts_with("Paged alice (on call for primary) at level 1 of round 1; level 2 of round 1 in 300 s"),
            "{}",
            st.history.last().unwrap().description
        );
        // The same step again (a timer that fired twice) changes nothing.
        assert_eq!(run(&mut st, page(step(0, 0), Some(next))), Ok(0));
        // Acknowledged: the next step pages nobody.
        assert_eq!(
            run(&mut st, AlertCommand::Acknowledge { origin: None }),
            Ok(1)
        );
        assert_eq!(run(&mut st, page(step(0, 1), None)), Ok(0));
    }

    #[test]
    fn a_first_step_resolved_at_the_trigger_is_recorded_and_paged_with_it_and_sets_no_first_timer()
    {
        let a = actor(AccountRole::Responder);
        let alice = UserName::parse("alice").unwrap();
        let raise = RaiseAlert {
            first_step: Some(StepPlan {
                users: vec![alice.clone()],
                next: Some(NextStep {
                    step: Step { round: 0, level: 1 },
                    after_secs: 300,
                }),
                reason: "on call for primary".into(),
                keep_paging_after_ack: false,
            }),
            ..raise("k")
        };
        let p = AlertState::decide_create(&a, &raise, &ctx()).unwrap();
        assert_eq!(
            p.iter().map(AlertPayload::kind).collect::<Vec<_>>(),
            ["triggered", "escalated"]
        );
        let events = numbered(
            StreamId::new(StreamKind::Alert, Uuid::nil()),
            0,
            &a.user,
            at(),
            None,
            p,
        );
        let mut st = AlertState::fold(&events).unwrap();
        assert_eq!(st.escalation, Some(Step { round: 0, level: 0 }));
        assert_eq!(st.first_paged_at, Some(st.triggered_at));
        let fx = st.effects(&events);
        let shape: Vec<(Recipient, &str, u64)> = fx
            .iter()
            .map(|n| (n.to.clone(), n.kind, n.delay_secs))
            .collect();
        assert_eq!(
            shape,
            [
                (Recipient::User(alice.clone()), PAGE, 0),
                (Recipient::Timer, ESCALATE, 300)
            ],
            "the page, and the second level's timer; no timer for the step taken"
        );
        // The timer of the first step, had one been set too, would find it taken.
        let again = AlertCommand::Escalate {
            step: Step { round: 0, level: 0 },
            plan: StepPlan {
                users: vec![alice],
                next: None,
                reason: "r".into(),
                keep_paging_after_ack: false,
            },
        };
        assert_eq!(run(&mut st, again), Ok(0));
    }

    #[test]
    fn viewers_cannot_change_alerts() {
        let st = opened("k");
        let r = st
            .decide(
                &actor(AccountRole::Viewer),
                &AlertCommand::Resolve { origin: None },
                &ctx(),
            )
            .unwrap_err();
        assert_eq!(r.rule, rules::ALERT_READ_ONLY);
    }

    #[test]
    fn the_open_key_names_service_and_dedup_key() {
        assert_eq!(
            AlertState::open_key(Uuid::nil(), "a/b"),
            "00000000-0000-0000-0000-000000000000/a/b"
        );
    }
}
