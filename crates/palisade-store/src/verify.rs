//! Ledger verification. A backend feeds every event row (ordered by incident, then sequence) and
//! then every checkpoint row (same order); the verifier recomputes the hash chain, the checkpoint
//! chain and signatures, and finally compares the witness log with the database.
//!
//! What is checked, and what each failure means, is documented in `docs/ledger-format.md`.

use ed25519_dalek::VerifyingKey;
use palisade_core::chain::{self, CheckpointBody, GENESIS, Hash};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use uuid::Uuid;

/// One thing that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub incident: Option<String>,
    pub seq: Option<u64>,
    pub what: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub incidents: u64,
    pub events: u64,
    pub checkpoints: u64,
    pub signatures_verified: u64,
    pub witness_entries: u64,
    /// Failures in the order found; the first is the first event that does not verify.
    pub failures: Vec<Failure>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

#[derive(Deserialize)]
struct BodyHead {
    incident: Uuid,
    seq: u64,
}

struct EventCursor {
    incident: Uuid,
    expected: u64,
    prev: Hash,
    broken: bool,
}

struct CheckpointCursor {
    incident: Uuid,
    prev_link: Hash,
    last: Option<(u64, String, String)>,
    broken: bool,
}

/// Incremental verifier fed by a backend.
pub struct Verifier {
    key: VerifyingKey,
    key_id: String,
    all_signatures: bool,
    report: Report,
    /// Event hashes per incident, index = seq − 1.
    hashes: HashMap<Uuid, Vec<Hash>>,
    ev: Option<EventCursor>,
    cp: Option<CheckpointCursor>,
    /// (incident, seq) → first 8 bytes of the checkpoint's link hash, for the witness comparison.
    seen_checkpoints: HashMap<(Uuid, u64), [u8; 8]>,
    max_failures: usize,
}

impl Verifier {
    /// `key` is the trusted public key. With `all_signatures`, every checkpoint signature is
    /// checked; otherwise the newest of each incident is, and the checkpoint chain vouches for
    /// the older ones (a changed old signature breaks the next checkpoint's link).
    pub fn new(key: VerifyingKey, all_signatures: bool) -> Verifier {
        Verifier {
            key_id: chain::key_id(&key),
            key,
            all_signatures,
            report: Report::default(),
            hashes: HashMap::new(),
            ev: None,
            cp: None,
            seen_checkpoints: HashMap::new(),
            max_failures: 100,
        }
    }

    fn fail(&mut self, incident: Option<String>, seq: Option<u64>, what: String) {
        if self.report.failures.len() < self.max_failures {
            self.report.failures.push(Failure {
                incident,
                seq,
                what,
            });
        }
    }

    /// Feed one event row.
    pub fn event(&mut self, incident: &str, seq: i64, body: &str, prev_hash: &str, hash: &str) {
        self.report.events += 1;
        let Ok(id) = Uuid::parse_str(incident) else {
            self.fail(
                Some(incident.to_string()),
                Some(seq as u64),
                "the incident id of this row is not a UUID".into(),
            );
            return;
        };
        if self.ev.as_ref().is_none_or(|c| c.incident != id) {
            self.report.incidents += 1;
            self.ev = Some(EventCursor {
                incident: id,
                expected: 1,
                prev: GENESIS,
                broken: false,
            });
            self.hashes.entry(id).or_default();
        }
        let cur = self.ev.as_mut().expect("set above");
        if cur.broken {
            return;
        }
        let seq = seq as u64;
        let expected = cur.expected;
        let prev = cur.prev;
        let problem = if seq != expected {
            Some(if seq > expected {
                format!(
                    "event {expected} is missing: the ledger jumps from event {} to event {seq} (a row was deleted)",
                    expected - 1
                )
            } else {
                format!(
                    "event {seq} appears where event {expected} belongs (rows reordered or duplicated)"
                )
            })
        } else if chain::parse_hash(prev_hash) != Some(prev) {
            Some(format!(
                "prev_hash does not equal the hash of event {} (rows swapped, removed or rewritten)",
                seq - 1
            ))
        } else {
            let computed = chain::event_hash(&prev, body.as_bytes());
            if chain::parse_hash(hash) != Some(computed) {
                Some(
                    "the stored body does not hash to the stored hash (a field of this event was changed)"
                        .to_string(),
                )
            } else {
                match serde_json::from_str::<BodyHead>(body) {
                    Ok(h) if h.incident == id && h.seq == seq => {
                        let cur = self.ev.as_mut().expect("set above");
                        cur.prev = computed;
                        cur.expected += 1;
                        self.hashes.get_mut(&id).expect("inserted").push(computed);
                        None
                    }
                    Ok(h) => Some(format!(
                        "the body says it is event {} of incident {}, but it is stored as event {seq} of incident {id}",
                        h.seq, h.incident
                    )),
                    Err(e) => Some(format!("the body is not a ledger event: {e}")),
                }
            }
        };
        if let Some(what) = problem {
            self.ev.as_mut().expect("set above").broken = true;
            self.fail(Some(id.to_string()), Some(seq), what);
        }
    }

    fn close_checkpoint_incident(&mut self) {
        let Some(cur) = self.cp.take() else { return };
        let events = self.hashes.get(&cur.incident).map_or(0, |h| h.len() as u64);
        if cur.broken {
            return;
        }
        if let Some((seq, body, sig)) = &cur.last {
            {
                if !self.all_signatures {
                    self.report.signatures_verified += 1;
                    if !chain::verify_checkpoint_raw(&self.key, body, sig) {
                        self.fail(
                            Some(cur.incident.to_string()),
                            Some(*seq),
                            "the newest checkpoint's signature does not verify with the trusted key (forged or altered)".into(),
                        );
                        return;
                    }
                }
                if *seq < events {
                    self.fail(
                        Some(cur.incident.to_string()),
                        Some(*seq + 1),
                        format!(
                            "events {}–{events} are not covered by any signed checkpoint (appended outside palisade)",
                            seq + 1
                        ),
                    );
                }
            }
        }
    }

    /// Feed one checkpoint row (after all events).
    pub fn checkpoint(&mut self, incident: &str, seq: i64, body: &str, signature: &str) {
        self.report.checkpoints += 1;
        let Ok(id) = Uuid::parse_str(incident) else {
            self.fail(
                Some(incident.to_string()),
                Some(seq as u64),
                "the incident id of this checkpoint row is not a UUID".into(),
            );
            return;
        };
        if self.cp.as_ref().is_none_or(|c| c.incident != id) {
            self.close_checkpoint_incident();
            self.cp = Some(CheckpointCursor {
                incident: id,
                prev_link: GENESIS,
                last: None,
                broken: false,
            });
        }
        let seq = seq as u64;
        let link = chain::link_hash(body, signature);
        let mut short = [0u8; 8];
        short.copy_from_slice(&link[..8]);
        self.seen_checkpoints.insert((id, seq), short);
        if self.cp.as_ref().expect("set").broken {
            return;
        }
        let problem = match serde_json::from_str::<CheckpointBody>(body) {
            Err(e) => Some(format!("the checkpoint body is not valid: {e}")),
            Ok(b) if b.incident != id || b.seq != seq => Some(format!(
                "the checkpoint says it covers event {} of incident {}, but is stored for event {seq} of incident {id}",
                b.seq, b.incident
            )),
            Ok(b) => {
                let hashes = self.hashes.get(&id);
                let at = hashes.and_then(|h| h.get((seq as usize).wrapping_sub(1)));
                let prev_link = self.cp.as_ref().expect("set").prev_link;
                if at.is_none() {
                    Some(format!(
                        "the checkpoint covers event {seq}, which the database does not hold (events removed)"
                    ))
                } else if at.map(hex::encode).as_deref() != Some(b.head.as_str()) {
                    Some(format!(
                        "the checkpoint's head does not equal the hash of event {seq} (the ledger up to here was rewritten)"
                    ))
                } else if chain::parse_hash(&b.prev) != Some(prev_link) {
                    Some(
                        "the checkpoint does not link to the previous checkpoint (a checkpoint or its signature was altered, removed or reordered)"
                            .to_string(),
                    )
                } else if b.key_id != self.key_id {
                    Some(format!(
                        "the checkpoint names signing key {}, not the trusted key {}",
                        b.key_id, self.key_id
                    ))
                } else if self.all_signatures && {
                    self.report.signatures_verified += 1;
                    !chain::verify_checkpoint_raw(&self.key, body, signature)
                } {
                    Some("the checkpoint's signature does not verify with the trusted key (forged or altered)".into())
                } else {
                    None
                }
            }
        };
        let cur = self.cp.as_mut().expect("set");
        match problem {
            Some(what) => {
                cur.broken = true;
                self.fail(Some(id.to_string()), Some(seq), what);
            }
            None => {
                cur.prev_link = link;
                cur.last = Some((seq, body.to_string(), signature.to_string()));
            }
        }
    }

    /// Finish: close the last incident, check every incident has a checkpoint, and compare the
    /// witness log (if any) with the database.
    pub fn finish(mut self, witness: Option<&Path>) -> Report {
        self.close_checkpoint_incident();
        let mut unsigned: Vec<(Uuid, usize)> = self
            .hashes
            .iter()
            .filter(|(id, h)| {
                !h.is_empty() && !self.seen_checkpoints.contains_key(&(**id, h.len() as u64))
            })
            .map(|(id, h)| (*id, h.len()))
            .collect();
        unsigned.sort();
        for (id, n) in unsigned {
            // Incidents whose newest checkpoint is short of their last event are reported above;
            // here: incidents with events but no checkpoint at all.
            if !self.seen_checkpoints.keys().any(|(i, _)| *i == id) {
                self.fail(
                    Some(id.to_string()),
                    Some(1),
                    format!("events 1–{n} are not covered by any signed checkpoint"),
                );
            }
        }
        if let Some(path) = witness {
            match crate::witness::read(path) {
                Err(e) => self.fail(None, None, format!("witness log: {e}")),
                Ok((entries, bad)) => {
                    for b in bad {
                        self.fail(
                            None,
                            None,
                            format!(
                                "witness log {} line {}: not a checkpoint: {}",
                                path.display(),
                                b.line,
                                b.error
                            ),
                        );
                    }
                    // Report the newest missing checkpoint per incident (one line per incident).
                    let mut missing: HashMap<Uuid, (u64, usize)> = HashMap::new();
                    for (line, cp) in &entries {
                        self.report.witness_entries += 1;
                        let key = (cp.body.incident, cp.body.seq);
                        let link = cp.link_hash();
                        match self.seen_checkpoints.get(&key) {
                            Some(short) if short[..] == link[..8] => {}
                            Some(_) => self.fail(
                                Some(cp.body.incident.to_string()),
                                Some(cp.body.seq),
                                format!(
                                    "the database's checkpoint at event {} differs from the one in the witness log (line {line}): the ledger was rewritten",
                                    cp.body.seq
                                ),
                            ),
                            None => {
                                if palisade_core::chain::verify_checkpoint(&self.key, cp) {
                                    let e = missing.entry(cp.body.incident).or_insert((0, 0));
                                    if cp.body.seq > e.0 {
                                        *e = (cp.body.seq, *line);
                                    }
                                } else {
                                    self.fail(
                                        Some(cp.body.incident.to_string()),
                                        Some(cp.body.seq),
                                        format!("witness log line {line} is not signed by the trusted key"),
                                    );
                                }
                            }
                        }
                    }
                    let mut missing: Vec<_> = missing.into_iter().collect();
                    missing.sort();
                    for (id, (seq, line)) in missing {
                        let held = self.hashes.get(&id).map_or(0, |h| h.len());
                        self.fail(
                            Some(id.to_string()),
                            Some(seq),
                            format!(
                                "the witness log (line {line}) holds a signed checkpoint at event {seq}, but the database holds {}: the newest events were deleted (truncation)",
                                if held == 0 { "no events of this incident".to_string() } else { format!("events only up to {held}") }
                            ),
                        );
                    }
                }
            }
        }
        self.report
    }
}
