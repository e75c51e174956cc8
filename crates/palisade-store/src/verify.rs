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
    // As `str::parse::<u64>` on the digits: leading zeros allowed, overflow refused.
    let mut seq: u64 = 0;
    for &c in &b[i..end] {
        seq = seq.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
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

/// Value of each hex digit (either case), 0xff for any other byte.
const UNHEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// `hex::decode_to_slice`, table-driven: exactly `2 * out.len()` digits of either case, else
/// false (with the bytes before the first bad digit written, as `hex` does).
fn unhex(s: &[u8], out: &mut [u8]) -> bool {
    if s.len() != 2 * out.len() {
        return false;
    }
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let (h, l) = (UNHEX[pair[0] as usize], UNHEX[pair[1] as usize]);
        if (h | l) == 0xff {
            return false;
        }
        *o = (h << 4) | l;
    }
    true
}

/// `a == b` for a stored hex hash; a fixed-size comparison the compiler inlines.
fn eq_hex(a: &[u8], b: &[u8; 64]) -> bool {
    <&[u8; 64]>::try_from(a).is_ok_and(|a| a == b)
}

/// `a == b` for incident ids as stored (36 bytes when well-formed: compared inline).
fn same_id(a: &[u8], b: &[u8]) -> bool {
    match (<&[u8; 36]>::try_from(a), <&[u8; 36]>::try_from(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
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

/// A cursor over JSON text of one exact, known layout. The fast paths below accept a line or
/// body only if it has exactly the layout Palisade writes, with string values of printable ASCII
/// other than `"` and `\\` (so the raw text *is* the decoded value); anything else goes to
/// serde_json, so both paths accept the same inputs with the same values.
struct Exact<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Exact<'a> {
    fn new(b: &'a [u8]) -> Exact<'a> {
        Exact { b, i: 0 }
    }
    fn lit(&mut self, s: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + s.len())? == s {
            self.i += s.len();
            Some(())
        } else {
            None
        }
    }
    /// A string value's content, up to its closing quote (the opening one is part of the literal before).
    fn string(&mut self) -> Option<&'a [u8]> {
        let rest = &self.b[self.i..];
        let len = rest.iter().position(|&c| c == b'"')?;
        let s = &rest[..len];
        if s.iter().any(|&c| !(0x20..0x7f).contains(&c) || c == b'\\') {
            return None;
        }
        self.i += len + 1;
        Some(s)
    }
    /// An unsigned integer as serde_json reads one into a u64: digits, no leading zero.
    fn uint(&mut self) -> Option<u64> {
        let rest = &self.b[self.i..];
        let len = rest
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if len == 0 || (len > 1 && rest[0] == b'0') {
            return None;
        }
        let mut n: u64 = 0;
        for &c in &rest[..len] {
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        }
        self.i += len;
        Some(n)
    }
    fn end(&self) -> bool {
        self.i == self.b.len()
    }
}

#[derive(Deserialize)]
struct WitnessHead {
    incident: Uuid,
    seq: u64,
    signature: String,
}

/// The fields of a witness line as `serde_json::to_string(&Checkpoint)` writes it, or `None`
/// for any other layout (then serde_json decides).
fn witness_fast(line: &[u8]) -> Option<(Uuid, u64, &[u8])> {
    let mut x = Exact::new(line);
    x.lit(b"{\"format\":1,\"incident\":\"")?;
    let incident = Uuid::try_parse_ascii(x.string()?).ok()?;
    x.lit(b",\"seq\":")?;
    let seq = x.uint()?;
    x.lit(b",\"head\":\"")?;
    x.string()?;
    x.lit(b",\"prev\":\"")?;
    x.string()?;
    x.lit(b",\"signed_at\":\"")?;
    x.string()?;
    x.lit(b",\"key_id\":\"")?;
    x.string()?;
    x.lit(b",\"signature\":\"")?;
    let signature = x.string()?;
    x.lit(b"}")?;
    x.end().then_some((incident, seq, signature))
}

/// What a checkpoint body states, borrowed from its text or from a parsed [`CheckpointBody`].
struct CheckpointFields<'a> {
    incident: Uuid,
    seq: u64,
    head: &'a [u8],
    prev: &'a [u8],
    key_id: &'a [u8],
}

/// A canonical checkpoint body (`format` 1, keys sorted), or `None` for anything else. Accepts
/// only what `serde_json::from_str::<CheckpointBody>` accepts, with the same values: the UUID
/// and the timestamp are parsed by the same functions serde uses.
fn checkpoint_fast(body: &str) -> Option<CheckpointFields<'_>> {
    let mut x = Exact::new(body.as_bytes());
    x.lit(b"{\"format\":1,\"head\":\"")?;
    let head = x.string()?;
    x.lit(b",\"incident\":\"")?;
    let incident = Uuid::try_parse_ascii(x.string()?).ok()?;
    x.lit(b",\"key_id\":\"")?;
    let key_id = x.string()?;
    x.lit(b",\"prev\":\"")?;
    let prev = x.string()?;
    x.lit(b",\"seq\":")?;
    let seq = x.uint()?;
    x.lit(b",\"signed_at\":\"")?;
    let signed_at = x.string()?;
    x.lit(b"}")?;
    if !x.end() {
        return None;
    }
    palisade_core::Timestamp::parse(std::str::from_utf8(signed_at).ok()?).ok()?;
    Some(CheckpointFields {
        incident,
        seq,
        head,
        prev,
        key_id,
    })
}

/// One line of a witness log, as read by [`WitnessScan::read`].
enum WitnessLine {
    Checkpoint {
        line: usize,
        incident: Uuid,
        seq: u64,
        /// The decoded signature, `None` if it is not 128 hex digits.
        signature: Option<[u8; 64]>,
        /// Where the line's text is in the file (to read it again if the database lacks it).
        offset: u64,
        len: usize,
    },
    Invalid {
        line: usize,
        error: String,
    },
}

/// A witness log read, ahead of the comparison with the database (so it can be read on another
/// thread while the database is). Holds one small record per line, not the text.
pub struct WitnessScan {
    path: std::path::PathBuf,
    lines: Vec<WitnessLine>,
    /// An I/O error that ended the reading (the lines before it are compared, as before).
    error: Option<std::io::Error>,
}

impl WitnessScan {
    /// Read the first `len` bytes of the witness log at `path` (those written before the
    /// database was read).
    pub fn read(path: &Path, len: u64) -> WitnessScan {
        let mut scan = WitnessScan {
            path: path.to_path_buf(),
            lines: Vec::new(),
            error: None,
        };
        if let Err(e) = scan.read_lines(len) {
            scan.error = Some(e);
        }
        scan
    }

    fn read_lines(&mut self, len: u64) -> std::io::Result<()> {
        use std::io::{BufRead, Read};
        let f = std::fs::File::open(&self.path)?.take(len);
        let mut reader = std::io::BufReader::with_capacity(1 << 16, f);
        let mut buf = Vec::new();
        let mut offset = 0u64;
        let mut line = 0usize;
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            let start = offset;
            offset += n as u64;
            line += 1;
            let mut end = buf.len();
            while end > 0 && buf[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            if let Some((incident, seq, sig)) = witness_fast(&buf[..end]) {
                let mut signature = [0u8; 64];
                let decoded = unhex(sig, &mut signature);
                self.lines.push(WitnessLine::Checkpoint {
                    line,
                    incident,
                    seq,
                    signature: decoded.then_some(signature),
                    offset: start,
                    len: end,
                });
                continue;
            }
            // As `read_line` into a String did: invalid UTF-8 ends the reading with an error.
            let text = std::str::from_utf8(&buf).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                )
            })?;
            let text = text.trim_end();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<WitnessHead>(text) {
                Ok(head) => {
                    let mut signature = [0u8; 64];
                    let decoded = unhex(head.signature.as_bytes(), &mut signature);
                    self.lines.push(WitnessLine::Checkpoint {
                        line,
                        incident: head.incident,
                        seq: head.seq,
                        signature: decoded.then_some(signature),
                        offset: start,
                        len: text.len(),
                    });
                }
                Err(e) => self.lines.push(WitnessLine::Invalid {
                    line,
                    error: e.to_string(),
                }),
            }
        }
        Ok(())
    }
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

/// The newest checkpoint of the incident being read that verified so far.
struct LastCheckpoint {
    seq: u64,
    body: String,
    /// The decoded signature, `None` if it is not 128 hex digits.
    signature: Option<[u8; 64]>,
}

struct CheckpointCursor {
    incident: Uuid,
    prev_link: Hash,
    last: Option<LastCheckpoint>,
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
    /// Newest signatures not checked yet (see `verify_pending`).
    pending: Vec<PendingSignature>,
    max_failures: usize,
}

/// Signatures checked together in one Ed25519 batch (the gain per signature levels off beyond a
/// few hundred).
const BATCH: usize = 512;

const NEWEST_SIGNATURE_FAILS: &str =
    "the newest checkpoint's signature does not verify with the trusted key (forged or altered)";

/// An incident's newest checkpoint, whose signature is checked in the next batch.
struct PendingSignature {
    incident: Uuid,
    seq: u64,
    /// How many events the incident holds, to report those the checkpoint does not cover.
    events: u64,
    body: String,
    signature: [u8; 64],
    /// Where in `report.failures` its failure, if any, belongs.
    at: usize,
}

/// The failure for events after an incident's newest checkpoint, if there are any.
fn uncovered(incident: Uuid, seq: u64, events: u64) -> Option<Failure> {
    (seq < events).then(|| Failure {
        incident: Some(incident.to_string()),
        seq: Some(seq + 1),
        what: format!(
            "events {}–{events} are not covered by any signed checkpoint (appended outside palisade)",
            seq + 1
        ),
    })
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
            pending: Vec::new(),
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
        if self
            .ev
            .as_ref()
            .is_none_or(|c| !same_id(&c.incident_text, incident))
        {
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
        } else if !eq_hex(prev_hash, &cur.prev_hex) {
            Some(format!(
                "prev_hash does not equal the hash of event {} (rows swapped, removed or rewritten)",
                seq - 1
            ))
        } else {
            let computed = chain::event_hash(&cur.prev, body);
            let computed_hex = hex32(&computed);
            if !eq_hex(hash, &computed_hex) {
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
        let Some(last) = cur.last else { return };
        if self.all_signatures {
            // Every signature, this one included, was checked as it was read.
            if let Some(f) = uncovered(cur.incident, last.seq, events) {
                self.fail(f.incident, f.seq, f.what);
            }
            return;
        }
        self.report.signatures_verified += 1;
        let Some(signature) = last.signature else {
            self.fail(
                Some(cur.incident.to_string()),
                Some(last.seq),
                NEWEST_SIGNATURE_FAILS.into(),
            );
            return;
        };
        self.pending.push(PendingSignature {
            incident: cur.incident,
            seq: last.seq,
            events,
            body: last.body,
            signature,
            at: self.report.failures.len(),
        });
        if self.pending.len() >= BATCH {
            self.verify_pending();
        }
    }

    /// Check the newest signatures collected so far, as one Ed25519 batch; if the batch does not
    /// verify, each signature on its own (so the failures name exactly the ones that fail, as a
    /// single check would). Each outcome goes where it would have been reported had it been
    /// checked when its incident ended, so failures stay in the order found.
    fn verify_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let all_verify = pending.len() >= 4 && {
            let messages: Vec<Vec<u8>> = pending
                .iter()
                .map(|p| chain::checkpoint_message(&p.body))
                .collect();
            let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            let signatures: Vec<ed25519_dalek::Signature> = pending
                .iter()
                .map(|p| ed25519_dalek::Signature::from_bytes(&p.signature))
                .collect();
            let keys = vec![self.key; pending.len()];
            ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
        };
        let mut inserted = 0;
        for p in pending {
            let verifies =
                all_verify || chain::verify_checkpoint_sig(&self.key, &p.body, &p.signature);
            let failure = if verifies {
                uncovered(p.incident, p.seq, p.events)
            } else {
                Some(Failure {
                    incident: Some(p.incident.to_string()),
                    seq: Some(p.seq),
                    what: NEWEST_SIGNATURE_FAILS.into(),
                })
            };
            let at = p.at + inserted;
            if let Some(f) = failure
                && at < self.max_failures
            {
                self.report.failures.insert(at, f);
                self.report.failures.truncate(self.max_failures);
                inserted += 1;
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
        let mut sig = [0u8; 64];
        let decoded = unhex(signature.as_bytes(), &mut sig);
        self.seen_checkpoints.insert((id, seq), sig);
        if self.cp.as_ref().expect("set").broken {
            return;
        }
        // The canonical layout is read directly; anything else is parsed by serde_json.
        let parsed;
        let fields = match checkpoint_fast(body) {
            Some(f) => Ok(f),
            None => match serde_json::from_str::<CheckpointBody>(body) {
                Ok(b) => {
                    parsed = b;
                    Ok(CheckpointFields {
                        incident: parsed.incident,
                        seq: parsed.seq,
                        head: parsed.head.as_bytes(),
                        prev: parsed.prev.as_bytes(),
                        key_id: parsed.key_id.as_bytes(),
                    })
                }
                Err(e) => Err(e),
            },
        };
        let problem = match fields {
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
                } else if at.map(hex32).as_ref().map(|h| &h[..]) != Some(b.head) {
                    Some(format!(
                        "the checkpoint's head does not equal the hash of event {seq} (the ledger up to here was rewritten)"
                    ))
                } else if b.prev != hex32(&prev_link)
                    && std::str::from_utf8(b.prev).ok().and_then(chain::parse_hash)
                        != Some(prev_link)
                {
                    // (Lower-case hex is compared as text; anything else is decoded, as before.)
                    Some(
                        "the checkpoint does not link to the previous checkpoint (a checkpoint or its signature was altered, removed or reordered)"
                            .to_string(),
                    )
                } else if b.key_id != self.key_id.as_bytes() {
                    Some(format!(
                        "the checkpoint names signing key {}, not the trusted key {}",
                        String::from_utf8_lossy(b.key_id),
                        self.key_id
                    ))
                } else if self.all_signatures && {
                    self.report.signatures_verified += 1;
                    !(decoded && chain::verify_checkpoint_sig(&self.key, body, &sig))
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
                cur.prev_link = if decoded {
                    chain::link_hash_raw(body, &sig)
                } else {
                    chain::link_hash(body, signature)
                };
                // Reuse the buffer of the previous checkpoint's body.
                let mut last = cur.last.take().unwrap_or(LastCheckpoint {
                    seq,
                    body: String::new(),
                    signature: None,
                });
                last.seq = seq;
                last.body.clear();
                last.body.push_str(body);
                last.signature = decoded.then_some(sig);
                cur.last = Some(last);
            }
        }
    }

    /// Close the current incident's cursors (a backend calls this after its last row).
    pub fn end_of_input(&mut self) {
        self.flush_events();
        self.close_checkpoint_incident();
        self.verify_pending();
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
    pub fn finish(self, witness: Option<(&Path, u64)>) -> Report {
        let scan = witness.map(|(path, len)| WitnessScan::read(path, len));
        self.finish_with(scan)
    }

    /// [`Verifier::finish`] with the witness log already read (see [`WitnessScan::read`]).
    pub fn finish_with(mut self, witness: Option<WitnessScan>) -> Report {
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
        if let Some(scan) = witness
            && let Err(e) = self.check_witness(scan)
        {
            self.fail(None, None, format!("witness log: {e}"));
        }
        self.report
    }

    /// Every witness line must be a checkpoint the database holds, identical.
    fn check_witness(&mut self, scan: WitnessScan) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let path = scan.path;
        // The newest missing checkpoint per incident: (seq, line).
        let mut missing: HashMap<Uuid, (u64, usize)> = HashMap::new();
        // Opened again only to check the signature of a line the database lacks.
        let mut file: Option<std::fs::File> = None;
        for entry in scan.lines {
            let (line, incident, seq, signature, offset, len) = match entry {
                WitnessLine::Invalid { line, error } => {
                    self.fail(
                        None,
                        None,
                        format!(
                            "witness log {} line {line}: not a checkpoint: {error}",
                            path.display()
                        ),
                    );
                    continue;
                }
                WitnessLine::Checkpoint {
                    line,
                    incident,
                    seq,
                    signature,
                    offset,
                    len,
                } => (line, incident, seq, signature, offset, len),
            };
            self.report.witness_entries += 1;
            match self.seen_checkpoints.get(&(incident, seq)) {
                Some(stored) if signature.as_ref() == Some(stored) => {}
                Some(_) => self.fail(
                    Some(incident.to_string()),
                    Some(seq),
                    format!(
                        "the database's checkpoint at event {seq} differs from the one in the witness log (line {line}): the ledger was rewritten"
                    ),
                ),
                None => {
                    let f = match &mut file {
                        Some(f) => f,
                        None => file.insert(std::fs::File::open(&path)?),
                    };
                    f.seek(SeekFrom::Start(offset))?;
                    let mut text = vec![0u8; len];
                    f.read_exact(&mut text)?;
                    let signed = serde_json::from_slice::<palisade_core::chain::Checkpoint>(&text)
                        .is_ok_and(|cp| palisade_core::chain::verify_checkpoint(&self.key, &cp));
                    if signed {
                        let e = missing.entry(incident).or_insert((0, 0));
                        if seq > e.0 {
                            *e = (seq, line);
                        }
                    } else {
                        self.fail(
                            Some(incident.to_string()),
                            Some(seq),
                            format!("witness log line {line} is not signed by the trusted key"),
                        );
                    }
                }
            }
        }
        if let Some(e) = scan.error {
            return Err(e);
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

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::Timestamp;
    use palisade_core::canonical::to_canonical_from;
    use palisade_core::chain::{Checkpoint, LedgerSigner};

    fn checkpoint(
        signer: &LedgerSigner,
        incident: Uuid,
        seq: u64,
        head: &Hash,
        prev: &Hash,
    ) -> (String, Checkpoint) {
        let at = Timestamp::parse("2026-11-26T10:00:00.123456Z").unwrap();
        let cp = signer.sign(incident, seq, head, prev, at);
        (to_canonical_from(&cp.body).unwrap(), cp)
    }

    #[test]
    fn unhex_agrees_with_the_hex_crate() {
        let cases: &[&[u8]] = &[
            b"00ff10aB",
            b"00FF10AB",
            b"00ff10a",
            b"00ff10ag",
            b"0g",
            b"",
            b"00ff10ab00",
            b"zz000000",
            b"0000zz00",
        ];
        for case in cases {
            let (mut ours, mut theirs) = ([0u8; 4], [0u8; 4]);
            let a = unhex(case, &mut ours);
            let b = hex::decode_to_slice(case, &mut theirs).is_ok();
            assert_eq!((a, ours), (b, theirs), "{}", String::from_utf8_lossy(case));
        }
    }

    /// The fast path must read what serde_json reads, or leave the body to it.
    fn same_as_serde(body: &str) {
        let fast = checkpoint_fast(body);
        let serde = serde_json::from_str::<CheckpointBody>(body);
        if let Some(f) = fast {
            let b = serde
                .unwrap_or_else(|e| panic!("fast path accepted what serde refuses ({e}): {body}"));
            assert_eq!(f.incident, b.incident, "{body}");
            assert_eq!(f.seq, b.seq, "{body}");
            assert_eq!(f.head, b.head.as_bytes(), "{body}");
            assert_eq!(f.prev, b.prev.as_bytes(), "{body}");
            assert_eq!(f.key_id, b.key_id.as_bytes(), "{body}");
        }
    }

    #[test]
    fn the_checkpoint_fast_path_reads_what_serde_reads() {
        let signer = LedgerSigner::from_secret([7u8; 32]);
        let (body, _) = checkpoint(&signer, Uuid::now_v7(), 12, &[1u8; 32], &[2u8; 32]);
        assert!(
            checkpoint_fast(&body).is_some(),
            "the canonical layout takes the fast path"
        );
        same_as_serde(&body);
        let variants = [
            body.replace("\"seq\":12", "\"seq\":012"),
            body.replace("\"seq\":12", "\"seq\":99999999999999999999999"),
            body.replace("\"format\":1", "\"format\":2"),
            body.replace("2026-11-26", "2026-13-26"),
            body.replace("2026-11-26", "2026-11-2\\u0036"),
            body.replace("0101", "\\u00301\\u00301"),
            body.to_uppercase(),
            body.replace(",\"seq\"", ", \"seq\""),
            body.replace("}", ",\"extra\":1}"),
            body.replace("\"key_id\":\"", "\"key_id\":\"\\\""),
            format!("{body} "),
            body[..body.len() - 1].to_string(),
        ];
        for v in &variants {
            same_as_serde(v);
        }
        // Escapes go to serde, which decodes them: same values either way.
        let escaped = body.replace("2026-11-26", "2026-11-2\\u0036");
        assert!(checkpoint_fast(&escaped).is_none());
        let decoded: CheckpointBody = serde_json::from_str(&escaped).unwrap();
        let plain: CheckpointBody = serde_json::from_str(&body).unwrap();
        assert_eq!(
            decoded, plain,
            "the escaped body decodes to the same checkpoint"
        );
    }

    #[test]
    fn the_witness_fast_path_reads_what_serde_reads() {
        let signer = LedgerSigner::from_secret([7u8; 32]);
        let (_, cp) = checkpoint(&signer, Uuid::now_v7(), 3, &[1u8; 32], &[2u8; 32]);
        let line = serde_json::to_string(&cp).unwrap();
        let variants = [
            line.clone(),
            line.replace("\"seq\":3", "\"seq\":03"),
            line.replace("\"format\":1", "\"format\":\"1\""),
            line.replace("\"signature\":\"", "\"signature\":\"\\u0030"),
            line.to_uppercase(),
            line.replace("}", ",\"x\":[1,2]}"),
        ];
        for v in &variants {
            let fast = witness_fast(v.as_bytes());
            let serde = serde_json::from_str::<WitnessHead>(v);
            if let Some((incident, seq, sig)) = fast {
                let h = serde
                    .unwrap_or_else(|e| panic!("fast path accepted what serde refuses ({e}): {v}"));
                assert_eq!(
                    (incident, seq, sig),
                    (h.incident, h.seq, h.signature.as_bytes()),
                    "{v}"
                );
            }
        }
        assert!(witness_fast(line.as_bytes()).is_some());
    }

    /// One test incident: its id, its event rows (body, prev hash, hash), its checkpoint (body,
    /// hex signature).
    type TestIncident = (Uuid, Vec<(String, Hash, Hash)>, (String, String));

    /// A small ledger fed straight to a verifier: `incidents` incidents of `events` events, one
    /// checkpoint each at its last event.
    fn ledger(signer: &LedgerSigner, incidents: usize, events: u64) -> Vec<TestIncident> {
        let mut ids: Vec<Uuid> = (0..incidents).map(|_| Uuid::new_v4()).collect();
        ids.sort();
        ids.into_iter()
            .map(|id| {
                let mut prev = GENESIS;
                let mut rows = Vec::new();
                for seq in 1..=events {
                    let body = format!(
                        "{{\"actor\":\"a\",\"data\":{{\"text\":\"n\",\"type\":\"note_added\"}},\"format\":1,\"incident\":\"{id}\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"recorded_at\":\"2026-01-01T00:00:00Z\",\"seq\":{seq}}}"
                    );
                    let hash = chain::event_hash(&prev, body.as_bytes());
                    rows.push((body, prev, hash));
                    prev = hash;
                }
                let (body, cp) = checkpoint(signer, id, events, &prev, &GENESIS);
                (id, rows, (body, cp.signature))
            })
            .collect()
    }

    fn feed(v: &mut Verifier, l: &[TestIncident]) {
        for (id, rows, _) in l {
            for (i, (body, prev, hash)) in rows.iter().enumerate() {
                v.event(
                    id.to_string().as_bytes(),
                    i as i64 + 1,
                    body.as_bytes(),
                    &hex32(prev),
                    &hex32(hash),
                );
            }
        }
        for (id, rows, (body, sig)) in l {
            v.checkpoint(&id.to_string(), rows.len() as i64, body, sig);
        }
        v.end_of_input();
    }

    #[test]
    fn batched_signatures_report_the_failures_in_ledger_order() {
        let signer = LedgerSigner::from_secret([7u8; 32]);
        let key = signer.verifying_key();
        let mut l = ledger(&signer, 12, 3);
        assert!(Verifier::new(key, false).finish(None).ok());
        let mut clean = Verifier::new(key, false);
        feed(&mut clean, &l);
        let report = clean.finish(None);
        assert!(report.ok(), "{:?}", report.failures);
        assert_eq!(report.signatures_verified, 12);
        // Incident 3: a forged newest signature (found in the batch); incident 6: an event the
        // checkpoint does not cover; incident 9: a forged signature again.
        let mut forged = l[3].2.1.clone().into_bytes();
        forged[0] = if forged[0] == b'0' { b'1' } else { b'0' };
        l[3].2.1 = String::from_utf8(forged).unwrap();
        let (body, cp) = checkpoint(&signer, l[6].0, 2, &l[6].1[1].2, &GENESIS);
        l[6].2 = (body, cp.signature);
        l[9].2.1 = "00".repeat(64);
        let mut v = Verifier::new(key, false);
        feed(&mut v, &l);
        let report = v.finish(None);
        let got: Vec<(String, u64, bool)> = report
            .failures
            .iter()
            .map(|f| {
                (
                    f.incident.clone().unwrap(),
                    f.seq.unwrap(),
                    f.what.contains("signature"),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (l[3].0.to_string(), 3, true),
                (l[6].0.to_string(), 3, false),
                (l[9].0.to_string(), 3, true),
            ]
        );
    }
}
