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

/// The incident and sequence number a canonical event body states. Canonical bodies sort their
/// keys, so `seq` is the last member and `incident` the last string member before
/// `occurred_at`; inside strings every quote is escaped, so these patterns only match the top
/// level. Falls back to a full parse for anything unexpected.
fn body_head(b: &[u8]) -> Option<(&[u8], u64)> {
    const SEQ: &[u8] = b",\"seq\":";
    const INC: &[u8] = b",\"incident\":\"";
    if b.last() != Some(&b'}') {
        return None;
    }
    let end = b.len() - 1;
    let mut i = end;
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i == end || i < SEQ.len() || &b[i - SEQ.len()..i] != SEQ {
        return None;
    }
    let seq: u64 = std::str::from_utf8(&b[i..end]).ok()?.parse().ok()?;
    // `incident` is followed by `occurred_at` and `recorded_at`, whose values hold no commas:
    // its comma is the third one back from `,"seq":`.
    let mut pos = i - SEQ.len();
    for _ in 0..3 {
        pos = b[..pos].iter().rposition(|&c| c == b',')?;
    }
    if !b[pos..].starts_with(INC) {
        return None;
    }
    let id = b.get(pos + INC.len()..pos + INC.len() + 36)?;
    Some((id, seq))
}

/// Lower-case hex of a hash, without allocating.
fn hex32(h: &Hash) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, byte) in h.iter().enumerate() {
        out[2 * i] = DIGITS[(byte >> 4) as usize];
        out[2 * i + 1] = DIGITS[(byte & 15) as usize];
    }
    out
}

#[derive(Deserialize)]
struct WitnessHead {
    incident: Uuid,
    seq: u64,
    signature: String,
}

struct EventCursor {
    incident: Uuid,
    /// The incident id as stored in the rows, to compare without parsing.
    incident_text: Vec<u8>,
    expected: u64,
    prev: Hash,
    prev_hex: [u8; 64],
    /// Hashes of this incident's events so far (index = seq − 1).
    hashes: Vec<Hash>,
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
    /// (incident, seq) → the checkpoint's signature, for the witness comparison. Equal signatures
    /// mean equal bodies: Ed25519 signatures are deterministic, and the database's bodies are
    /// vouched for by the checkpoint chain.
    seen_checkpoints: HashMap<(Uuid, u64), [u8; 64]>,
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

    /// Move the current incident's hashes into the map (at an incident change, and before checkpoints).
    fn flush_events(&mut self) {
        if let Some(cur) = self.ev.take() {
            self.hashes.insert(cur.incident, cur.hashes);
        }
    }

    /// Feed one event row.
    pub fn event(&mut self, incident: &[u8], seq: i64, body: &[u8], prev_hash: &[u8], hash: &[u8]) {
        self.report.events += 1;
        if self.ev.as_ref().is_none_or(|c| c.incident_text != incident) {
            let Ok(id) = Uuid::try_parse_ascii(incident) else {
                self.fail(
                    Some(String::from_utf8_lossy(incident).into_owned()),
                    Some(seq as u64),
                    "the incident id of this row is not a UUID".into(),
                );
                return;
            };
            self.flush_events();
            self.report.incidents += 1;
            self.ev = Some(EventCursor {
                incident: id,
                incident_text: incident.to_vec(),
                expected: 1,
                prev: GENESIS,
                prev_hex: hex32(&GENESIS),
                hashes: Vec::new(),
                broken: false,
            });
        }
        let cur = self.ev.as_mut().expect("set above");
        if cur.broken {
            return;
        }
        let seq = seq as u64;
        let expected = cur.expected;
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
        } else if prev_hash != cur.prev_hex {
            Some(format!(
                "prev_hash does not equal the hash of event {} (rows swapped, removed or rewritten)",
                seq - 1
            ))
        } else {
            let computed = chain::event_hash(&cur.prev, body);
            let computed_hex = hex32(&computed);
            if hash != computed_hex {
                Some(
                    "the stored body does not hash to the stored hash (a field of this event was changed)"
                        .to_string(),
                )
            } else {
                match body_head(body) {
                    Some((h_inc, h_seq)) if h_seq == seq && h_inc == incident => {
                        cur.prev = computed;
                        cur.prev_hex = computed_hex;
                        cur.expected += 1;
                        cur.hashes.push(computed);
                        None
                    }
                    Some((h_inc, h_seq)) => Some(format!(
                        "the body says it is event {h_seq} of incident {}, but it is stored as event {seq} of incident {}",
                        String::from_utf8_lossy(h_inc),
                        cur.incident
                    )),
                    None => Some("the body is not a canonical ledger event".to_string()),
                }
            }
        };
        if let Some(what) = problem {
            cur.broken = true;
            let id = cur.incident.to_string();
            self.fail(Some(id), Some(seq), what);
        }
    }

    fn close_checkpoint_incident(&mut self) {
        let Some(cur) = self.cp.take() else { return };
        let events = self.hashes.get(&cur.incident).map_or(0, |h| h.len() as u64);
        if cur.broken {
            return;
        }
        if let Some((seq, body, sig)) = &cur.last {
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

    /// Feed one checkpoint row (after all events).
    pub fn checkpoint(&mut self, incident: &str, seq: i64, body: &str, signature: &str) {
        self.flush_events();
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
        let mut sig = [0u8; 64];
        let _ = hex::decode_to_slice(signature, &mut sig);
        self.seen_checkpoints.insert((id, seq), sig);
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

    /// Close the current incident's cursors (a backend calls this after its last row).
    pub fn end_of_input(&mut self) {
        self.flush_events();
        self.close_checkpoint_incident();
    }

    /// Add what another verifier saw, for incidents disjoint from this one's and ordered after
    /// them (so the first failure stays the first in ledger order).
    pub fn merge(&mut self, mut other: Verifier) {
        other.end_of_input();
        self.end_of_input();
        let r = &mut self.report;
        r.incidents += other.report.incidents;
        r.events += other.report.events;
        r.checkpoints += other.report.checkpoints;
        r.signatures_verified += other.report.signatures_verified;
        for f in other.report.failures {
            if r.failures.len() < self.max_failures {
                r.failures.push(f);
            }
        }
        self.hashes.extend(other.hashes);
        self.seen_checkpoints.extend(other.seen_checkpoints);
    }

    /// Finish: check every incident has a checkpoint, and compare the witness log — its first
    /// `len` bytes, written before the database was read — with the database.
    pub fn finish(mut self, witness: Option<(&Path, u64)>) -> Report {
        self.end_of_input();
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
        if let Some((path, len)) = witness
            && let Err(e) = self.check_witness(path, len)
        {
            self.fail(None, None, format!("witness log: {e}"));
        }
        self.report
    }

    /// Every witness line must be a checkpoint the database holds, identical.
    fn check_witness(&mut self, path: &Path, len: u64) -> std::io::Result<()> {
        use std::io::{BufRead, Read};
        let f = std::fs::File::open(path)?.take(len);
        // The newest missing checkpoint per incident: (seq, line).
        let mut missing: HashMap<Uuid, (u64, usize)> = HashMap::new();
        let mut buf = String::new();
        let mut reader = std::io::BufReader::with_capacity(1 << 16, f);
        let mut line = 0usize;
        loop {
            buf.clear();
            if reader.read_line(&mut buf)? == 0 {
                break;
            }
            line += 1;
            let text = buf.trim_end();
            if text.is_empty() {
                continue;
            }
            let head: WitnessHead = match serde_json::from_str(text) {
                Ok(h) => h,
                Err(e) => {
                    self.fail(
                        None,
                        None,
                        format!(
                            "witness log {} line {line}: not a checkpoint: {e}",
                            path.display()
                        ),
                    );
                    continue;
                }
            };
            self.report.witness_entries += 1;
            let mut sig = [0u8; 64];
            let decoded = hex::decode_to_slice(&head.signature, &mut sig).is_ok();
            match self.seen_checkpoints.get(&(head.incident, head.seq)) {
                Some(stored) if decoded && *stored == sig => {}
                Some(_) => self.fail(
                    Some(head.incident.to_string()),
                    Some(head.seq),
                    format!(
                        "the database's checkpoint at event {} differs from the one in the witness log (line {line}): the ledger was rewritten",
                        head.seq
                    ),
                ),
                None => {
                    let signed = serde_json::from_str::<palisade_core::chain::Checkpoint>(text)
                        .is_ok_and(|cp| palisade_core::chain::verify_checkpoint(&self.key, &cp));
                    if signed {
                        let e = missing.entry(head.incident).or_insert((0, 0));
                        if head.seq > e.0 {
                            *e = (head.seq, line);
                        }
                    } else {
                        self.fail(
                            Some(head.incident.to_string()),
                            Some(head.seq),
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
        Ok(())
    }
}
