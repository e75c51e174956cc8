//! Alerts in: events from monitoring (the PagerDuty Events API v2 and what speaks it) through a
//! service's integration, deduplicated per (service, dedup_key), each decision recorded on the
//! alert's stream through the one pipeline; change events; listing; integrations and their
//! routing keys (made here, shown once, stored as SHA-256 hashes).

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Executed, Options, Outcome, Render, require_role_for};
use palisade_core::alert::{
    AlertCommand, AlertDetails, AlertPayload, AlertState, DedupMatch, Origin, RaiseAlert,
};
use palisade_core::bounded::Generations;
use palisade_core::change::{ChangeDetails, ChangeState, RecordChange};
use palisade_core::service::{INTEGRATION_KEY, Integration, IntegrationKind, ServiceCommand};
use palisade_core::{AccountRole, Actor, ServiceState, StreamKind, UserName};
use palisade_store::{RecordFilter, RecordRow, StreamKey};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The namespace of open alerts' keys among stream keys: `service-id/dedup_key`.
pub const ALERT_OPEN: &str = "alert-open";
/// Events accepted per routing key per minute unless configured otherwise.
pub const DEFAULT_EVENTS_PER_KEY_PER_MINUTE: u32 = 60_000;
/// Length of a routing key, as PagerDuty's integration keys.
pub const ROUTING_KEY_LEN: usize = 32;
/// Most attempts to place one trigger while its key changes hands (opened, resolved) under it.
const PLACE_ATTEMPTS: u32 = 8;

/// Who records what integrations send (the event names the integration itself).
pub fn integration_actor() -> Actor {
    Actor {
        user: UserName::parse("integration").expect("a valid user name"),
        account_role: AccountRole::Responder,
    }
}

/// A new routing key: 32 characters of `a-z0-9` from the operating system's random source
/// (about 165 bits).
pub fn new_routing_key() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut key = String::with_capacity(ROUTING_KEY_LEN);
    while key.len() < ROUTING_KEY_LEN {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf)
            .map_err(|e| AppError::internal("no randomness for a routing key", e))?;
        // 252 = 7 × 36: bytes above it are dropped so that every character is equally likely.
        for b in buf.into_iter().filter(|b| *b < 252) {
            if key.len() < ROUTING_KEY_LEN {
                key.push(ALPHABET[usize::from(b % 36)] as char);
            }
        }
    }
    Ok(key)
}

/// SHA-256 (hex) of a routing key: how it is stored and looked up.
/// (The same digest as API tokens'.)
pub fn key_hash(routing_key: &str) -> String {
    crate::accounts::hash_token(routing_key)
}

/// How long a routing key's service and integration are used without reading the service again.
const KEY_FRESH: Duration = Duration::from_secs(1);

/// Routing keys recently seen: key hash → the service and integration, and when they were read.
/// A key belongs to one service for good (each integration gets a new key), so only whether it
/// is still active can change: that is read again after [`KEY_FRESH`], and a revocation on this
/// server drops the service's keys at once.
#[derive(Default)]
pub struct KeyCache {
    map: Mutex<HashMap<String, (ServiceState, Integration, Instant)>>,
}

impl KeyCache {
    fn get(&self, hash: &str) -> Option<(ServiceState, Integration)> {
        let m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.get(hash)
            .filter(|(_, _, at)| at.elapsed() < KEY_FRESH)
            .map(|(s, i, _)| (s.clone(), i.clone()))
    }
    fn put(&self, hash: String, service: &ServiceState, integration: &Integration) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= 10_000 {
            m.clear();
        }
        m.insert(hash, (service.clone(), integration.clone(), Instant::now()));
    }
    /// Forget every key of `service`.
    pub fn forget_service(&self, service: Uuid) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (s, _, _)| s.id != service);
    }
}

/// Open alerts recently placed on this server: open key (service and dedup key) → the alert.
/// Only triggers use it, and a stale entry corrects itself: the alert it names refuses the
/// trigger once resolved (`alert-resolved`), the entry is dropped and the store asked. A
/// deduplication then reads no key from the store. Acknowledgements and resolutions always ask
/// the store (an entry naming a resolved alert would drop them).
pub struct OpenAlerts {
    map: Mutex<Generations<String, Uuid>>,
}

/// Open keys remembered per generation (the keys used recently; at most two generations).
const OPEN_KEYS: usize = 32_768;

impl Default for OpenAlerts {
    fn default() -> Self {
        OpenAlerts {
            map: Mutex::new(Generations::new(OPEN_KEYS)),
        }
    }
}

impl OpenAlerts {
    fn get(&self, key: &str) -> Option<Uuid> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }
    fn put(&self, key: &str, alert: Uuid) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), alert);
    }
    fn forget(&self, key: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// A per-key token bucket: a minute's budget, refilled continuously.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `None`: the default budget; `Some(0)`: no limit.
    pub fn new(per_minute: Option<u32>) -> RateLimiter {
        RateLimiter {
            per_minute: per_minute.unwrap_or(DEFAULT_EVENTS_PER_KEY_PER_MINUTE),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one event from `key`'s budget, or say how long until one is available.
    pub fn take(&self, key: &str) -> std::result::Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Only keys of live integrations get here, so the map stays small; bound it anyway.
        if b.len() > 100_000 && !b.contains_key(key) {
            b.clear();
        }
        let (tokens, at) = b.entry(key.to_string()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_second))
        }
    }
}

/// What an event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    Trigger,
    Acknowledge,
    Resolve,
}

/// An event from monitoring, checked for shape at the edge.
#[derive(Debug, Clone)]
pub struct InboundEvent {
    pub action: EventAction,
    pub dedup_key: Option<String>,
    /// Required for a trigger.
    pub details: Option<AlertDetails>,
}

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placed {
    /// A new alert.
    Opened,
    /// Recorded on the open alert with its key.
    Deduplicated,
    Acknowledged,
    Resolved,
    /// Accepted and dropped: no open alert has the key, or it already was so.
    Dropped,
}

/// The answer to an event: its key (made for it when it had none), the alert, what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub dedup_key: String,
    pub alert: Option<Uuid>,
    pub placed: Placed,
}

/// Why an event was not accepted.
#[derive(Debug)]
pub enum Rejected {
    /// No active integration has this routing key.
    UnknownKey,
    /// Over the key's budget: retry after this long.
    RateLimited(Duration),
    /// The event breaks the API's rules (each problem, as the API says them).
    Invalid(Vec<String>),
    /// Anything else (storage unavailable, …).
    App(AppError),
}

impl From<AppError> for Rejected {
    fn from(e: AppError) -> Rejected {
        match e {
            AppError::Refused(r) if r.rule.kind == palisade_core::RefusalKind::InvalidInput => {
                Rejected::Invalid(vec![r.message])
            }
            other => Rejected::App(other),
        }
    }
}

/// An alert's listing row (the records projection), as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertSummary {
    pub id: Uuid,
    pub service: Uuid,
    pub dedup_key: String,
    pub status: String,
    pub severity: String,
    pub summary: String,
    pub source: String,
    pub occurrences: u32,
    /// Why later triggers joined it: the rule and the matched fields of the last one (absent
    /// until one did, and in rows written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deduplicated_by: Option<DedupMatch>,
    pub triggered_at: String,
    pub updated_at: String,
}

impl AlertSummary {
    pub fn of(a: &AlertState) -> AlertSummary {
        AlertSummary {
            id: a.id,
            service: a.service,
            dedup_key: a.dedup_key.clone(),
            status: a.status.as_str().to_string(),
            severity: a.severity.as_str().to_string(),
            summary: a.details.summary.clone(),
            source: a.details.source.clone(),
            occurrences: a.occurrences,
            deduplicated_by: a.deduplicated_by.clone(),
            triggered_at: a.triggered_at.to_string(),
            updated_at: a.updated_at.to_string(),
        }
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("summaries serialize")
    }
    fn from_row(r: &RecordRow) -> Result<AlertSummary> {
        serde_json::from_str(&r.summary)
            .map_err(|e| AppError::internal("an alert's listing row does not parse", e))
    }
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// A service, by name or id.
    pub service: Option<String>,
    pub status: Option<palisade_core::alert::AlertStatus>,
    /// Only alerts triggered before this one (the next page).
    pub before: Option<Uuid>,
    pub limit: u32,
}

impl App {
    /// The service and integration a routing key belongs to, if it is active.
    pub async fn integration_for_key(
        &self,
        routing_key: &str,
    ) -> Result<Option<(ServiceState, Integration)>> {
        if routing_key.is_empty() || routing_key.len() > 256 {
            return Ok(None);
        }
        let hash = key_hash(routing_key);
        if let Some(hit) = self.inner.keys.get(&hash) {
            return Ok(Some(hit));
        }
        let Some(id) = self
            .inner
            .store
            .stream_by_key(StreamKey::new(INTEGRATION_KEY, &hash))
            .await?
        else {
            return Ok(None);
        };
        let Some(service) = self.load::<ServiceState>(id).await? else {
            return Ok(None);
        };
        let Some(integration) = service
            .active_integrations()
            .find(|i| i.key_hash == hash)
            .cloned()
        else {
            return Ok(None);
        };
        self.inner.keys.put(hash, &service, &integration);
        Ok(Some((service, integration)))
    }

    /// Revoke an integration: its routing key stops working at once on this server (and
    /// within a second on the others).
    pub async fn revoke_integration(
        &self,
        actor: &Actor,
        service: &str,
        integration: &str,
    ) -> Result<ServiceState> {
        let done = self
            .execute::<ServiceState>(
                actor,
                service,
                ServiceCommand::RevokeIntegration {
                    integration: integration.to_string(),
                },
                &Options::default(),
                None,
            )
            .await?
            .done()?;
        self.inner.keys.forget_service(done.state.id);
        Ok(done.state)
    }

    /// Take an event for the integration with `routing_key`: it is recorded (durably) before
    /// this returns, or rejected with the reason.
    pub async fn enqueue_event(
        &self,
        routing_key: &str,
        event: InboundEvent,
    ) -> std::result::Result<Enqueued, Rejected> {
        let (service, integration) = self
            .integration_for_key(routing_key)
            .await?
            .ok_or(Rejected::UnknownKey)?;
        self.inner
            .intake
            .take(&integration.key_hash)
            .map_err(Rejected::RateLimited)?;
        let origin = Origin {
            integration: integration.id,
            name: integration.name.clone(),
        };
        let placed = self.place(&service, origin, event).await?;
        self.inner.metrics.alert_event(placed.placed);
        Ok(placed)
    }

    /// Record an event on the alert its key names (or open one).
    async fn place(
        &self,
        service: &ServiceState,
        origin: Origin,
        event: InboundEvent,
    ) -> std::result::Result<Enqueued, Rejected> {
        let actor = integration_actor();
        let opts = Options::default();
        let (dedup_key, generated) = match event.dedup_key {
            Some(k) => (k, false),
            None => (Uuid::new_v4().to_string(), true),
        };
        let open_key = StreamKey::new(ALERT_OPEN, AlertState::open_key(service.id, &dedup_key));
        let answer = |alert, placed| Enqueued {
            dedup_key: dedup_key.clone(),
            alert,
            placed,
        };
        let origin = Some(origin);
        let remembered = &self.inner.open_alerts;
        let mut trust_remembered = event.action == EventAction::Trigger;
        for _ in 0..PLACE_ATTEMPTS {
            let open = match remembered.get(&open_key.key).filter(|_| trust_remembered) {
                Some(alert) => Some(alert),
                None => {
                    let found = self
                        .inner
                        .store
                        .stream_by_key(open_key.clone())
                        .await
                        .map_err(AppError::from)?;
                    match found {
                        Some(alert) => remembered.put(&open_key.key, alert),
                        None => remembered.forget(&open_key.key),
                    }
                    found
                }
            };
            match (event.action, open) {
                (EventAction::Trigger, Some(alert)) => {
                    let cmd = AlertCommand::Retrigger {
                        origin: origin.clone(),
                        details: event.details.clone().ok_or_else(|| {
                            Rejected::Invalid(vec!["'payload' is missing.".into()])
                        })?,
                    };
                    match self
                        .execute_id::<AlertState>(&actor, alert, cmd, &opts)
                        .await
                    {
                        Ok(_) => return Ok(answer(Some(alert), Placed::Deduplicated)),
                        // Resolved meanwhile: the trigger opens a new alert (or joins the
                        // one the store names now).
                        Err(AppError::Refused(r))
                            if r.rule == palisade_core::alert::rules::ALERT_RESOLVED =>
                        {
                            remembered.forget(&open_key.key);
                            trust_remembered = false;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                (EventAction::Trigger, None) => {
                    let raise = RaiseAlert {
                        service: service.id,
                        service_name: service.name.to_string(),
                        dedup_key: dedup_key.clone(),
                        dedup_key_generated: generated,
                        origin: origin.clone(),
                        details: event.details.clone().ok_or_else(|| {
                            Rejected::Invalid(vec!["'payload' is missing.".into()])
                        })?,
                        first_step: self.first_step(service.id).await,
                    };
                    match self
                        .create::<AlertState>(&actor, |_| Ok(raise.clone()), &opts, None)
                        .await
                    {
                        Ok(o) => {
                            let done = o.done()?;
                            self.paged_with_trigger(&done.state);
                            remembered.put(&open_key.key, done.state.id);
                            return Ok(answer(Some(done.state.id), Placed::Opened));
                        }
                        // Another trigger with this key opened it first: join that one.
                        Err(AppError::Taken(_)) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                (_, None) => return Ok(answer(None, Placed::Dropped)),
                (action, Some(alert)) => {
                    let (cmd, placed) = if action == EventAction::Acknowledge {
                        (
                            AlertCommand::Acknowledge {
                                origin: origin.clone(),
                            },
                            Placed::Acknowledged,
                        )
                    } else {
                        (
                            AlertCommand::Resolve {
                                origin: origin.clone(),
                            },
                            Placed::Resolved,
                        )
                    };
                    let done = self
                        .execute_id::<AlertState>(&actor, alert, cmd, &opts)
                        .await?
                        .done()?;
                    let placed = if done.events.is_empty() {
                        Placed::Dropped
                    } else {
                        placed
                    };
                    if placed == Placed::Resolved {
                        remembered.forget(&open_key.key);
                    }
                    return Ok(answer(Some(alert), placed));
                }
            }
        }
        Err(Rejected::App(AppError::Conflict(
            "the alert with this key kept changing while the event was placed; send it again"
                .into(),
        )))
    }

    /// Record a change event for the integration with `routing_key`.
    pub async fn enqueue_change(
        &self,
        routing_key: &str,
        details: ChangeDetails,
    ) -> std::result::Result<Uuid, Rejected> {
        let (service, integration) = self
            .integration_for_key(routing_key)
            .await?
            .ok_or(Rejected::UnknownKey)?;
        self.inner
            .intake
            .take(&integration.key_hash)
            .map_err(Rejected::RateLimited)?;
        let create = RecordChange {
            service: service.id,
            origin: Some(Origin {
                integration: integration.id,
                name: integration.name,
            }),
            details,
        };
        let done = self
            .create::<ChangeState>(
                &integration_actor(),
                |_| Ok(create.clone()),
                &Options::default(),
                None,
            )
            .await?
            .done()?;
        Ok(done.state.id)
    }

    /// Add an integration to a service: its routing key is returned here once and stored only
    /// as its hash.
    pub async fn add_integration(
        &self,
        actor: &Actor,
        service: &str,
        name: &str,
        kind: IntegrationKind,
    ) -> Result<(ServiceState, Integration, String)> {
        let key = new_routing_key()?;
        let id = Uuid::now_v7();
        let cmd = ServiceCommand::AddIntegration {
            id,
            name: name.to_string(),
            kind,
            key_hash: key_hash(&key),
        };
        let done = self
            .execute::<ServiceState>(actor, service, cmd, &Options::default(), None)
            .await?
            .done()?;
        let integration = done
            .state
            .integrations
            .iter()
            .find(|i| i.id == id)
            .cloned()
            .ok_or_else(|| AppError::internal("an added integration is missing", id))?;
        Ok((done.state, integration, key))
    }

    /// Alerts, newest first.
    pub async fn list_alerts(&self, f: AlertFilter) -> Result<Vec<AlertSummary>> {
        let parent = match &f.service {
            Some(s) => Some(self.resolve::<ServiceState>(s).await?),
            None => None,
        };
        let before_us = match f.before {
            Some(id) => Some(
                self.inner
                    .store
                    .record(id)
                    .await?
                    .filter(|r| r.kind == StreamKind::Alert.as_str())
                    .ok_or_else(|| AppError::Invalid(format!("no alert {id} to page from")))?
                    .sort_us,
            ),
            None => None,
        };
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Alert,
                parent,
                status: f.status.map(|s| s.as_str().to_string()),
                before_us,
                limit: f.limit,
            })
            .await?;
        rows.iter().map(AlertSummary::from_row).collect()
    }

    /// An alert and up to `limit` of its ledger events after sequence number `after`, as
    /// recorded (every account sees every alert, and reading one is not recorded): what a
    /// page shows of each step, such as a deduplication's rule and matched fields.
    pub async fn alert_events(
        &self,
        actor: &Actor,
        alert: &str,
        after: u64,
        limit: u64,
    ) -> Result<(AlertState, Vec<palisade_core::Event<AlertPayload>>)> {
        let st = self.load_visible::<AlertState>(actor, alert).await?;
        let rows = self
            .inner
            .store
            .stored_events_page(st.id, after, limit)
            .await?;
        let events = rows
            .iter()
            .map(|r| serde_json::from_str(&r.body))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| {
                AppError::internal("an alert event cannot be read; run `palisade verify`", e)
            })?;
        Ok((st, events))
    }

    /// Change events of a service, newest first.
    pub async fn list_changes(&self, service: &str, limit: u32) -> Result<Vec<serde_json::Value>> {
        let parent = self.resolve::<ServiceState>(service).await?;
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Change,
                parent: Some(parent),
                status: None,
                before_us: None,
                limit,
            })
            .await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(&r.summary)
                    .map_err(|e| AppError::internal("a change's listing row does not parse", e))
            })
            .collect()
    }

    /// Declare an incident from an alert and link the two. The alert records the incident's id;
    /// the incident's summary names the alert. `input.title` and `input.summary` default to the
    /// alert's.
    ///
    /// The alert is marked first, with the id the incident will have, and the incident is
    /// declared under that id after: the alert's stream is where concurrent promotions of one
    /// alert meet (on any node), so only one of them marks it and only that one declares an
    /// incident; the others are refused (`alert-promoted`) before anything is declared. Should the
    /// declaration fail after the mark, the alert names an incident that does not exist yet, and
    /// promoting it again declares that incident under the recorded id.
    ///
    /// With `opts.idempotency`, the answer `render` gives (from the alert and the incident) is
    /// stored with the incident's declaration, and a repeat gets it back before anything is
    /// checked ([`Promotion::Replayed`]).
    pub async fn promote_alert(
        &self,
        actor: &Actor,
        alert: &str,
        mut input: crate::incidents::DeclareInput,
        opts: &Options,
        render: Option<PromotionRender<'_>>,
    ) -> Result<Promotion> {
        let probe = AlertCommand::Promote {
            incident: Uuid::nil(),
        };
        require_role_for::<AlertState>(actor, &probe)?;
        if let Some(replay) = self.replay(actor, opts).await? {
            return Ok(Promotion::Replayed(replay));
        }
        let st = self.load_for::<AlertState>(actor, alert, &probe).await?;
        // Marked by a promotion whose declaration did not happen: complete it — once the mark is
        // older than a minute, so a promotion still declaring is not raced by its completion
        // (a mark that young is a promotion in progress, refused as a second one).
        let marked_at = st
            .history
            .iter()
            .rev()
            .find(|h| h.kind == "promoted")
            .map(|h| h.recorded_at);
        let stale =
            marked_at.is_some_and(|t| crate::now().unix_micros() - t.unix_micros() > 60_000_000);
        let unfinished = match st.incident {
            Some(id)
                if stale
                    && self
                        .load::<palisade_core::IncidentState>(id)
                        .await?
                        .is_none() =>
            {
                Some(id)
            }
            _ => None,
        };
        if unfinished.is_none() {
            self.check_rules(actor, &st, &probe)?;
        }
        if let Some(p) = &input.playbook
            && !self.inner.playbooks.contains_key(p)
        {
            let known: Vec<&str> = self.inner.playbooks.keys().map(String::as_str).collect();
            return Err(AppError::Invalid(format!(
                "no playbook {p:?}; known: {}",
                known.join(", ")
            )));
        }
        if input.title.trim().is_empty() {
            input.title = st.details.summary.chars().take(200).collect();
        }
        let from = format!(
            "Declared from alert {} ({} from {}, dedup_key {:?}): {}",
            st.id, st.severity, st.details.source, st.dedup_key, st.details.summary
        );
        input.summary = Some(match input.summary.take() {
            Some(s) if !s.trim().is_empty() => format!("{s}\n\n{from}"),
            _ => from,
        });
        let (alert_state, incident_id) = match unfinished {
            Some(id) => (st, id),
            None => {
                let id = Uuid::now_v7();
                let marked = self
                    .execute::<AlertState>(
                        actor,
                        &st.id.to_string(),
                        AlertCommand::Promote { incident: id },
                        &Options::default(),
                        None,
                    )
                    .await?
                    .done()?;
                (marked.state, id)
            }
        };
        let answer = render.map(|r| {
            let alert = alert_state.clone();
            move |e: &Executed<palisade_core::IncidentState>| r(&alert, &e.state)
        });
        let service_name = self
            .load::<ServiceState>(alert_state.service)
            .await?
            .map(|s| s.name.to_string())
            .unwrap_or_default();
        let marks = crate::incidents::Marks {
            drill: None,
            from_alert: Some(palisade_core::incident::AlertOrigin {
                alert: alert_state.id,
                service: alert_state.service,
                service_name,
            }),
        };
        let declared = self
            .declare_with(
                actor,
                Some(incident_id),
                input,
                marks,
                opts,
                answer
                    .as_ref()
                    .map(|a| a as Render<'_, palisade_core::IncidentState>),
            )
            .await;
        let outcome = match declared {
            // Completing an unfinished promotion while its own request is still declaring (or
            // another completion is): the incident now exists, so this one is a second
            // promotion of the alert.
            Err(AppError::Conflict(_))
                if unfinished.is_some()
                    && self
                        .load::<palisade_core::IncidentState>(incident_id)
                        .await?
                        .is_some() =>
            {
                self.check_rules(actor, &alert_state, &probe)?;
                return Err(AppError::Conflict(
                    "the alert was promoted concurrently; try again".into(),
                ));
            }
            other => other?,
        };
        Ok(match outcome {
            Outcome::Done(done) => Promotion::Done(alert_state, done.state),
            // The same key committed concurrently: its answer.
            Outcome::Replayed(text) => Promotion::Replayed(text),
        })
    }

    /// Acknowledge or resolve an alert as a person.
    pub async fn alert_command(
        &self,
        actor: &Actor,
        alert: &str,
        cmd: AlertCommand,
    ) -> Result<Outcome<AlertState>> {
        self.execute::<AlertState>(actor, alert, cmd, &Options::default(), None)
            .await
    }
}

/// How an interface renders a promotion's answer (from the alert and the incident declared), so
/// a repeat can be given the same one.
pub type PromotionRender<'a> =
    &'a (dyn Fn(&AlertState, &palisade_core::IncidentState) -> String + Send + Sync);

/// An alert promoted now (the alert and the incident declared from it), or the answer given
/// the first time for a repeated idempotency key.
#[derive(Debug)]
pub enum Promotion {
    Done(AlertState, palisade_core::IncidentState),
    Replayed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keys_are_32_characters_of_the_alphabet_and_differ() {
        let a = new_routing_key().unwrap();
        let b = new_routing_key().unwrap();
        assert_eq!(a.len(), ROUTING_KEY_LEN);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{a}"
        );
        assert_ne!(a, b);
        assert_eq!(key_hash(&a).len(), 64);
        assert_ne!(key_hash(&a), key_hash(&b));
    }

    #[test]
    fn the_rate_limiter_spends_a_minutes_budget_then_says_when_to_retry() {
        let r = RateLimiter::new(Some(3));
        assert_eq!(r.take("k"), Ok(()));
        assert_eq!(r.take("k"), Ok(()));
        assert_eq!(r.take("k"), Ok(()));
        let wait = r.take("k").unwrap_err();
        // 3 per minute: one token every 20 seconds.
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert_eq!(r.take("other"), Ok(()), "keys have budgets of their own");
        let off = RateLimiter::new(Some(0));
        for _ in 0..10_000 {
            assert_eq!(off.take("k"), Ok(()));
        }
    }
}
