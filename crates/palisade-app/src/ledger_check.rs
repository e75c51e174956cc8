//! One stream's ledger checked as `palisade verify` checks it by default (the hash chain, every
//! checkpoint's head and link to the checkpoint before, the newest checkpoint's Ed25519 signature,
//! the head covered by a signed checkpoint), for the incident page's "ledger verified" badge. The
//! newest signature vouches for every earlier checkpoint, signatures included, through the links
//! (docs/ledger-format.md), so an altered old signature or checkpoint fails the check as it
//! fails `palisade verify`. Checking every signature on its own (`--all-signatures`) would cost an
//! Ed25519 verification per append, and every view of a restricted incident is an append: it was
//! about half of a page view's CPU at 100 events per incident (BENCHMARKS.md, "Web UI: incident page").
//! A result is reused for [`RECHECK_SECS`] (a page view of a restricted incident appends a
//! recorded read, so "until the stream moves on" would mean every view): the badge says which
//! event it was checked through, and when.

use crate::error::{AppError, Result};
use crate::{App, now};
use palisade_core::Timestamp;
use palisade_store::verify::Verifier;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// What checking one stream's ledger found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCheck {
    /// Every event chains, every checkpoint links to the one before, and the newest checkpoint's
    /// signature verifies.
    pub ok: bool,
    pub events: u64,
    /// Signatures checked: the newest checkpoint's (the links vouch for the others).
    pub signatures_verified: u64,
    /// Checked through this event.
    pub through: u64,
    /// The sequence number the newest signed checkpoint covers.
    pub last_checkpoint: Option<u64>,
    /// The first failure, when not ok.
    pub failure: Option<String>,
    pub checked_at: Timestamp,
}

/// A stream's check is reused for this long by default (`AppConfig::ledger_recheck_secs`).
pub const RECHECK_SECS: i64 = 30;

/// The last check of each stream, reused for `reuse_secs`.
pub(crate) struct LedgerChecks {
    checks: Mutex<HashMap<Uuid, LedgerCheck>>,
    reuse_secs: i64,
}

impl LedgerChecks {
    pub(crate) fn new(reuse_secs: i64) -> LedgerChecks {
        LedgerChecks {
            checks: Mutex::default(),
            reuse_secs,
        }
    }
}

impl App {
    /// Check stream `id`'s ledger (read straight from the store; nothing is recorded), or the
    /// check made less than the configured time ago ([`RECHECK_SECS`] by default).
    pub async fn check_ledger(&self, id: Uuid) -> Result<LedgerCheck> {
        {
            let checks = &self.inner.ledger_checks;
            let cache = checks.checks.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = cache.get(&id)
                && (now().0 - c.checked_at.0).whole_seconds() < checks.reuse_secs
            {
                return Ok(c.clone());
            }
        }
        let store = &self.inner.store;
        let events = store.stored_events(id).await?;
        let checkpoints = store.stored_checkpoints(id).await?;
        let key = palisade_store::keys::read_public_key(&self.inner.public_key_hex)
            .map_err(|e| AppError::internal("reading the ledger's public key", e))?;
        let through = events.last().map_or(0, |e| e.seq);
        let check = tokio::task::spawn_blocking(move || {
            let stream = id.to_string();
            let mut v = Verifier::new(key, false);
            for e in &events {
                v.event(
                    stream.as_bytes(),
                    e.seq as i64,
                    e.body.as_bytes(),
                    e.prev_hash.as_bytes(),
                    e.hash.as_bytes(),
                );
            }
            for c in &checkpoints {
                v.checkpoint(&stream, c.seq as i64, &c.body, &c.signature);
            }
            let report = v.finish_with(Vec::new());
            LedgerCheck {
                ok: report.ok(),
                events: report.events,
                signatures_verified: report.signatures_verified,
                through,
                last_checkpoint: checkpoints.iter().map(|c| c.seq).max(),
                failure: report.failures.first().map(|f| match f.seq {
                    Some(seq) => format!("event {seq}: {}", f.what),
                    None => f.what.clone(),
                }),
                checked_at: now(),
            }
        })
        .await
        .map_err(|e| AppError::internal("checking a ledger", e))?;
        let mut cache = self
            .inner
            .ledger_checks
            .checks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(id, check.clone());
        Ok(check)
    }
}
