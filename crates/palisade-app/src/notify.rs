//! The notification worker: delivers outbox messages (written in the same transaction as the
//! ledger event that caused them) to their destinations, with retries. Each message carries its
//! destination: the deployment's notification webhook (`default`), a webhook of its own, or a
//! Slack-compatible incoming webhook. Webhooks get signed HTTP POSTs.
//!
//! Signing follows the Standard Webhooks specification (<https://www.standardwebhooks.com/>):
//! headers `webhook-id` (the outbox id, stable across retries: the receiver's idempotency key),
//! `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`. A secret written `whsec_<base64>` is base64-decoded, as the
//! specification says; any other secret is used as raw bytes.
//!
//! Pages to people's own channels (Slack, email) are throttled and bundled: at most one message
//! per address per interval (`Throttle`; by default one a second to Slack, one a minute by
//! email), and the pages for one person and service that are due together, or that waited out
//! the interval, go out as one message listing them all. The first page always goes at once.
//! Webhooks are for machines and get one message per page. Each server keeps its own memory of
//! when it last wrote to an address, so with several servers an address may get one message per
//! server in an interval.
//!
//! Several servers on one PostgreSQL claim messages with `FOR UPDATE SKIP LOCKED`; a claim is a
//! lease, so a message whose sender crashed is delivered again once the lease ends. A crash after
//! the receiver accepted but before the message was marked delivered sends it twice with the same
//! `webhook-id`; receivers deduplicate on it.

use base64::Engine;
use hmac::{Hmac, Mac};
use palisade_store::{Destination, OutboxItem, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Where and how to deliver.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub url: String,
    pub secret: String,
    /// First retry delay; doubles per attempt (with jitter) up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claimed message is reserved for one sender.
    pub lease: Duration,
    /// How often the outbox is read without a wake-up (for other servers' messages); a retry
    /// that is due sooner is attempted when it is due.
    pub poll: Duration,
    /// Email over SMTP, when configured.
    pub smtp: Option<SmtpConfig>,
    /// After this many failed attempts a message is a dead letter: kept with its last error,
    /// not tried again until someone resends it (`palisade delivery resend`).
    pub max_attempts: u32,
    /// The least time between two messages to one Slack webhook or email address.
    pub throttle: Throttle,
}

/// The least time between two pages to one address, per method (zero: no throttle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub slack: Duration,
    pub email: Duration,
}

impl Default for Throttle {
    /// Slack's incoming webhooks take about one message a second; a person's inbox, one page
    /// email a minute, the rest bundled.
    fn default() -> Self {
        Throttle {
            slack: Duration::from_secs(1),
            email: Duration::from_secs(60),
        }
    }
}

impl Throttle {
    fn of(&self, d: &Destination) -> Option<Duration> {
        match d {
            Destination::Slack { .. } => Some(self.slack),
            Destination::Email { .. } => Some(self.email),
            _ => None,
        }
    }
}

/// When each throttled address was last written to (µs since the Unix epoch), by this worker.
#[derive(Debug, Default)]
pub struct LastSent(std::sync::Mutex<HashMap<String, i64>>);

impl LastSent {
    fn get(&self, address: &str) -> Option<i64> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(address)
            .copied()
    }
    fn set(&self, address: String, at_us: i64) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // A bound on memory: addresses not written to for a day are forgotten.
        if m.len() > 100_000 {
            m.retain(|_, t| *t > at_us - 86_400_000_000);
        }
        m.insert(address, at_us);
    }
}

/// The delay before attempt `attempts + 1` of a message tried `attempts` times: exponential
/// from `initial_backoff` up to `max_backoff`, with jitter so that the messages of one outage
/// do not all come back at once.
fn retry_delay(cfg: &NotifyConfig, attempts: u32) -> Duration {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(cfg.initial_backoff)
        .with_max_delay(cfg.max_backoff)
        .without_max_times()
        .with_jitter()
        .build()
        .nth(attempts.saturating_sub(1).min(64) as usize)
        .unwrap_or(cfg.max_backoff)
        .min(cfg.max_backoff)
}

impl NotifyConfig {
    pub fn new(url: String, secret: String) -> NotifyConfig {
        NotifyConfig {
            url,
            secret,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(600),
            // Longer than a send may take (the client gives up after 5 s), short enough that
            // another server takes over a crashed one's messages within 10 s.
            lease: Duration::from_secs(8),
            poll: Duration::from_secs(5),
            // About a day and a half at the default backoff (1 s doubling to 10 minutes).
            max_attempts: 200,
            smtp: None,
            throttle: Throttle::default(),
        }
    }
}

/// The SMTP server email goes through.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `smtp://host:25` (plain), `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465`
    /// (implicit TLS); credentials as `smtps://user:password@host`.
    pub url: String,
    /// The sender, e.g. `Palisade <palisade@example.com>`.
    pub from: String,
}

/// The subject and text of an email for a message: its own `text`, else its kind.
fn email_text(m: &OutboxItem) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(&m.payload).unwrap_or_default();
    let text = v["text"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("Palisade notification: {}", m.kind));
    let subject = match v["summary"].as_str() {
        Some(s) => format!("[Palisade {}] {s}", m.kind),
        None => format!(
            "[Palisade {}] {}",
            m.kind,
            text.chars().take(120).collect::<String>()
        ),
    };
    let body = format!(
        "{text}\n\n-- \nPalisade notification {} ({}). The details as JSON:\n{}\n",
        m.id,
        m.kind,
        serde_json::to_string_pretty(&v).unwrap_or_else(|_| m.payload.clone())
    );
    (subject, body)
}

async fn send_email(cfg: &NotifyConfig, m: &OutboxItem, to: &str) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let smtp = cfg
        .smtp
        .as_ref()
        .ok_or("no SMTP server is configured (smtp_url, smtp_from)")?;
    let (subject, body) = email_text(m);
    let email = Message::builder()
        .from(
            smtp.from
                .parse()
                .map_err(|e| format!("smtp_from {:?}: {e}", smtp.from))?,
        )
        .to(to.parse().map_err(|e| format!("the address {to:?}: {e}"))?)
        .subject(subject)
        // The receiver's idempotency key, as webhook-id is for webhooks.
        .message_id(Some(format!("<{}@palisade>", m.id)))
        .body(body)
        .map_err(|e| format!("building the email: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url)
        .map_err(|e| format!("smtp_url: {e}"))?
        .timeout(Some(Duration::from_secs(20)))
        .build();
    transport
        .send(email)
        .await
        .map(|_| ())
        .map_err(|e| format!("sending the email: {e}"))
}

fn secret_bytes(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` value for a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(&secret_bytes(secret)).expect("HMAC takes any key");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

fn now_us() -> i64 {
    crate::now().unix_micros()
}

/// The text a Slack-compatible receiver shows: the message's own `text`, else its kind.
fn slack_body(m: &OutboxItem) -> String {
    let text = serde_json::from_str::<serde_json::Value>(&m.payload)
        .ok()
        .and_then(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| format!("Palisade notification: {}", m.kind));
    serde_json::json!({ "text": text }).to_string()
}

/// Whether `m` is a page whose alert no longer needs it: resolved, or acknowledged and its
/// policy does not keep paging after an acknowledgement.
async fn page_no_longer_needed(store: &Store, m: &OutboxItem) -> bool {
    if m.kind != palisade_core::alert::PAGE {
        return false;
    }
    let body: serde_json::Value = serde_json::from_str(&m.payload).unwrap_or_default();
    let Some(alert) = body["alert"]
        .as_str()
        .and_then(|a| uuid::Uuid::parse_str(a).ok())
    else {
        return false;
    };
    let keep = body["keep_paging_after_ack"].as_bool().unwrap_or(false);
    match store.record(alert).await {
        Ok(Some(r)) => r.status == "resolved" || (r.status == "acknowledged" && !keep),
        // Unknown, or the store cannot say: send it (a page too many beats one too few).
        _ => false,
    }
}

/// Deliver one message to its destination.
pub async fn deliver(
    http: &reqwest::Client,
    cfg: &NotifyConfig,
    m: &OutboxItem,
) -> Result<(), String> {
    let id = m.id.to_string();
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed = |url: &str| {
        http.post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sign(&cfg.secret, &id, ts, &m.payload))
            .body(m.payload.clone())
    };
    let request = match &m.destination {
        Destination::Default if cfg.url.is_empty() => {
            return Err("no notification webhook is configured (notify_url)".into());
        }
        Destination::Default => signed(&cfg.url),
        Destination::Webhook { url } => signed(url),
        Destination::Slack { url } => http
            .post(url)
            .header("content-type", "application/json")
            .body(slack_body(m)),
        // Never claimed here (the timer worker acts on them).
        Destination::Timer => return Err("a timer is not a message to send".into()),
        Destination::Email { to } => return send_email(cfg, m, to).await,
    };
    let resp = request.send().await.map_err(|e| format!("sending: {e}"))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {}", resp.status()))
    }
}

/// Several pages for one person and service, due together, as one message: its payload lists
/// them (`pages`), and its text has a line per alert. The bundle's id is its first page's.
fn bundle(pages: &[OutboxItem]) -> OutboxItem {
    let bodies: Vec<serde_json::Value> = pages
        .iter()
        .map(|m| serde_json::from_str(&m.payload).unwrap_or_default())
        .collect();
    let first = &bodies[0];
    let lines: Vec<String> = bodies
        .iter()
        .map(|b| {
            b["text"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("page for alert {}", b["alert"]))
        })
        .collect();
    let payload = serde_json::json!({
        "type": "pages",
        "to": first["to"],
        "service": first["service"],
        "summary": format!("{} alerts need you", pages.len()),
        "text": format!("{} alerts need you:\n{}", pages.len(), lines.join("\n")),
        "pages": bodies,
    });
    OutboxItem {
        id: pages[0].id,
        stream: pages[0].stream,
        kind: palisade_core::alert::PAGE.to_string(),
        destination: pages[0].destination.clone(),
        payload: payload.to_string(),
        created_at: pages[0].created_at.clone(),
        attempts: pages.iter().map(|m| m.attempts).max().unwrap_or(1),
    }
}

/// A throttled address's key: its method and address (never logged).
fn address_key(d: &Destination) -> Option<String> {
    match d {
        Destination::Slack { url } => Some(format!("slack {url}")),
        Destination::Email { to } => Some(format!("email {}", to.to_ascii_lowercase())),
        _ => None,
    }
}

/// Deliver what is due now; returns how many were delivered.
pub async fn deliver_due(store: &Store, http: &reqwest::Client, cfg: &NotifyConfig) -> usize {
    deliver_due_at(store, http, cfg, now_us()).await
}

/// Deliver what is due at `at_us` (µs since the Unix epoch: tests pass a later time to send a
/// delayed message without waiting for it); returns how many were delivered.
pub async fn deliver_due_at(
    store: &Store,
    http: &reqwest::Client,
    cfg: &NotifyConfig,
    at_us: i64,
) -> usize {
    deliver_due_with(store, http, cfg, &LastSent::default(), at_us).await
}

/// [`deliver_due_at`] with the worker's memory of when each throttled address was last
/// written to (tests pass one across calls to see the throttle at work).
pub async fn deliver_due_with(
    store: &Store,
    http: &reqwest::Client,
    cfg: &NotifyConfig,
    last: &LastSent,
    at_us: i64,
) -> usize {
    deliver_pass_at(
        store,
        http,
        cfg,
        &crate::metrics::Metrics::default(),
        last,
        at_us,
    )
    .await
    .0
}

/// A destination's channel, for metric labels (never an address).
fn channel(d: &Destination) -> &'static str {
    match d {
        Destination::Default => "default",
        Destination::Webhook { .. } => "webhook",
        Destination::Slack { .. } => "slack",
        Destination::Email { .. } => "email",
        Destination::Timer => "timer",
    }
}

/// One pass over the due messages: how many were delivered, and how soon the earliest retry
/// this pass scheduled is due.
async fn deliver_pass(
    store: &Store,
    http: &reqwest::Client,
    cfg: &NotifyConfig,
    metrics: &crate::metrics::Metrics,
    last: &LastSent,
) -> (usize, Option<Duration>) {
    deliver_pass_at(store, http, cfg, metrics, last, now_us()).await
}

async fn deliver_pass_at(
    store: &Store,
    http: &reqwest::Client,
    cfg: &NotifyConfig,
    metrics: &crate::metrics::Metrics,
    last: &LastSent,
    at_us: i64,
) -> (usize, Option<Duration>) {
    let lease = cfg.lease.as_micros() as i64;
    let claimed = match store.outbox_claim(at_us, lease, 64).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the notification outbox");
            return (0, None);
        }
    };
    let mut delivered = 0;
    let mut retry: Option<Duration> = None;
    // A page whose alert was acknowledged (unless its policy keeps paging) or resolved since
    // it was written is not sent: a later notification rule, or a retry, after the responder
    // is already on it.
    let mut send = Vec::with_capacity(claimed.len());
    let mut skipped = Vec::new();
    for m in claimed {
        if page_no_longer_needed(store, &m).await {
            metrics.delivery(&m.kind, channel(&m.destination), "skipped");
            skipped.push(m.id);
        } else {
            send.push(m);
        }
    }
    if !skipped.is_empty() {
        let at = crate::now();
        if let Err(e) = store
            .outbox_skip(
                skipped,
                &at.to_string(),
                "not sent: its alert was acknowledged or resolved before it was due",
            )
            .await
        {
            tracing::warn!(error = %e, "could not mark pages no longer needed");
        }
    }
    // Pages to a person's Slack or email: by address and service, so that the pages due
    // together go as one message; held back whole while the address's throttle runs.
    let mut groups: Vec<Vec<OutboxItem>> = Vec::new();
    let mut bundles: BTreeMap<(String, String), Vec<OutboxItem>> = BTreeMap::new();
    for m in send {
        let service = serde_json::from_str::<serde_json::Value>(&m.payload)
            .ok()
            .and_then(|v| v["service"].as_str().map(str::to_string));
        match (
            m.kind == palisade_core::alert::PAGE,
            address_key(&m.destination),
            service,
        ) {
            (true, Some(address), Some(service)) => {
                bundles.entry((address, service)).or_default().push(m)
            }
            _ => groups.push(vec![m]),
        }
    }
    let mut postponed: BTreeMap<i64, Vec<uuid::Uuid>> = BTreeMap::new();
    for ((address, _), pages) in bundles {
        let interval = cfg
            .throttle
            .of(&pages[0].destination)
            .unwrap_or_default()
            .as_micros() as i64;
        match last.get(&address) {
            Some(t) if interval > 0 && at_us < t + interval => {
                postponed
                    .entry(t + interval)
                    .or_default()
                    .extend(pages.iter().map(|m| m.id));
            }
            _ => groups.push(pages),
        }
    }
    for (due, ids) in postponed {
        if let Err(e) = store.outbox_postpone(ids, due).await {
            tracing::warn!(error = %e, "could not hold pages back for the throttle; they are sent when their claim ends");
        }
        let wait = Duration::from_micros(due.saturating_sub(at_us).max(0) as u64);
        retry = Some(retry.map_or(wait, |r| r.min(wait)));
    }
    // Sent together (each to its own receiver; one slow receiver does not hold up the rest
    // of the pass for more than the send timeout).
    let sends = groups.into_iter().map(|pages| async move {
        let result = if pages.len() == 1 {
            deliver(http, cfg, &pages[0]).await
        } else {
            deliver(http, cfg, &bundle(&pages)).await
        };
        if let Some(address) = address_key(&pages[0].destination)
            && pages[0].kind == palisade_core::alert::PAGE
        {
            // Tried, whatever came of it: the next page to this address waits its turn.
            last.set(address, at_us);
        }
        (pages, result)
    });
    let sent: Vec<(OutboxItem, Result<(), String>)> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .flat_map(|(pages, result)| {
            let n = pages.len();
            pages.into_iter().map(move |m| {
                let r = match &result {
                    Ok(()) => Ok(()),
                    Err(e) if n > 1 => {
                        Err(format!("{e} (sent bundled with {} other pages)", n - 1))
                    }
                    Err(e) => Err(e.clone()),
                };
                (m, r)
            })
        })
        .collect();
    for (m, result) in sent {
        let outcome = match &result {
            Ok(()) => "sent",
            Err(_) if m.attempts >= cfg.max_attempts => "dead",
            Err(_) => "failed",
        };
        metrics.delivery(&m.kind, channel(&m.destination), outcome);
        match result {
            Ok(()) => {
                let at = crate::now();
                if let Err(e) = store.outbox_done(m.id, &at.to_string()).await {
                    tracing::warn!(error = %e, id = %m.id, "delivered, but could not mark it; it will be sent again with the same webhook-id");
                }
                delivered += 1;
            }
            Err(why) if m.attempts >= cfg.max_attempts => {
                tracing::error!(id = %m.id, kind = %m.kind, attempts = m.attempts, error = %why, "notification given up: a dead letter until someone resends it (palisade delivery list --state dead)");
                let at = crate::now();
                if let Err(e) = store.outbox_dead(m.id, &why, &at.to_string()).await {
                    tracing::warn!(error = %e, "could not record the dead letter");
                }
            }
            Err(why) => {
                let backoff = retry_delay(cfg, m.attempts);
                tracing::warn!(id = %m.id, kind = %m.kind, attempts = m.attempts, error = %why, retry_in_s = backoff.as_secs(), "notification not delivered");
                let next = now_us() + backoff.as_micros() as i64;
                if let Err(e) = store.outbox_retry(m.id, &why, next).await {
                    tracing::warn!(error = %e, "could not record the failed delivery");
                }
                retry = Some(retry.map_or(backoff, |r| r.min(backoff)));
            }
        }
    }
    (delivered, retry)
}

/// Run until dropped: deliver what is due whenever woken (after an append that wrote to the
/// outbox), when a retry falls due, and at least every `poll` (for other servers' messages).
pub async fn run(
    store: Store,
    cfg: NotifyConfig,
    wake: Arc<Notify>,
    poll: Duration,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the notification HTTP client");
            return;
        }
    };
    // When the earliest retry this worker scheduled falls due.
    let mut retry_at: Option<std::time::Instant> = None;
    let last = LastSent::default();
    loop {
        if retry_at.is_some_and(|t| t <= std::time::Instant::now()) {
            retry_at = None; // due: this pass claims it (and reschedules it if it fails again)
        }
        loop {
            let (delivered, retry) = deliver_pass(&store, &http, &cfg, &metrics, &last).await;
            if let Some(r) = retry {
                let t = std::time::Instant::now() + r;
                retry_at = Some(retry_at.map_or(t, |x| x.min(t)));
            }
            if delivered == 0 {
                break;
            }
        }
        // Wait for a wake-up, the earliest retry, the earliest message due in the outbox (a
        // message another server claimed and never finished is due when its lease ends), or
        // the poll interval, whichever comes first.
        let mut wait = retry_at.map_or(poll, |t| {
            t.saturating_duration_since(std::time::Instant::now())
                .min(poll)
        });
        if let Ok(Some(due)) = store
            .outbox_next_due(palisade_store::OutboxClass::Messages)
            .await
        {
            wait = wait.min(Duration::from_micros(
                due.saturating_sub(now_us()).max(0) as u64
            ));
        }
        let _ = tokio::time::timeout(wait, wake.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_and_never_beyond_the_maximum() {
        let cfg = NotifyConfig::new("http://x.invalid".into(), "s".into());
        for _ in 0..50 {
            let first = retry_delay(&cfg, 1);
            assert!(
                first >= Duration::from_secs(1) && first <= Duration::from_secs(2),
                "{first:?}"
            );
            let fifth = retry_delay(&cfg, 5);
            assert!(
                fifth >= Duration::from_secs(16) && fifth <= Duration::from_secs(32),
                "{fifth:?}"
            );
            assert!(retry_delay(&cfg, 40) <= cfg.max_backoff);
            assert!(retry_delay(&cfg, u32::MAX) <= cfg.max_backoff);
        }
        // Jitter spreads the messages of one outage.
        let spread: std::collections::HashSet<Duration> =
            (0..20).map(|_| retry_delay(&cfg, 3)).collect();
        assert!(spread.len() > 1);
    }
}
