//! Ledger verification. A backend feeds every event row (ordered by stream, then sequence) and
//! then every checkpoint row (same order); the verifier recomputes each stream's hash chain, its
//! checkpoint chain and signatures, and finally compares the witness log with the database.
//! Streams of every kind (incidents, services, …) are verified alike; both body formats (1, for
//! incidents recorded before streams existed, and 2) are read.
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
    /// The stream (its UUID) the failure is in, when it is in one.
    pub stream: Option<String>,
    /// The kind of that stream, as its events name it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The same UUID when the stream is an incident (the field reports had before streams).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    pub seq: Option<u64>,
    pub what: String,
}

impl Failure {
    pub fn new(stream: Option<String>, seq: Option<u64>, what: String) -> Failure {
        Failure {
            stream,
            kind: None,
            incident: None,
            seq,
            what,
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Streams read (of every kind).
    pub streams: u64,
    /// Incident streams among them (as reports counted before other streams existed).
    pub incidents: u64,
    /// Streams by kind, as their events name it (`incident`, `service`, …).
    pub kinds: std::collections::BTreeMap<String, u64>,
    pub events: u64,
    pub checkpoints: u64,
    pub signatures_verified: u64,
    pub witness_entries: u64,
    /// The witness logs compared with the database.
    pub witness_logs: Vec<String>,
    /// Failures in the order found; the first is the first event that does not verify.
    pub failures: Vec<Failure>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The stream (kind and id) and sequence number a canonical event body states. Canonical
/// bodies sort their keys. Format 2 ends with `,"seq":N,"stream":"kind/id"}`; format 1 (kind
/// incident) ends with `seq`, and its `incident` is the last string member before `occurred_at`.
/// Inside strings every quote is escaped, so these patterns only match the top level. `None`
/// for anything unexpected (then the body is not a canonical event).
fn body_head(b: &[u8]) -> Option<(&[u8], &[u8], u64)> {
    const SEQ: &[u8] = b",\"seq\":";
    const STREAM: &[u8] = b",\"stream\":\"";
    const INC: &[u8] = b",\"incident\":\"";
    if b.last() != Some(&b'}') {
        return None;
    }
    let mut end = b.len() - 1;
    let mut stream = None;
    if b.get(end - 1) == Some(&b'"') {
        // Format 2: `,"stream":"kind/uuid"` closes the body.
        let open = b[..end - 1].iter().rposition(|&c| c == b'"')?;
        let name = &b[open + 1..end - 1];
        if open + 1 < STREAM.len() || &b[open + 1 - STREAM.len()..open + 1] != STREAM {
            return None;
        }
        let slash = name.iter().position(|&c| c == b'/')?;
        stream = Some((&name[..slash], &name[slash + 1..]));
        end = open + 1 - STREAM.len();
    }
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
    if let Some((kind, id)) = stream {
        return b.starts_with(b"{\"actor\":").then_some((kind, id, seq));
    }
    // Format 1: `incident` is followed by `occurred_at` and `recorded_at`, whose values hold no
    // commas: its comma is the third one back from `,"seq":`.
    let mut pos = i - SEQ.len();
    for _ in 0..3 {
        pos = b[..pos].iter().rposition(|&c| c == b',')?;
    }
    if !b[pos..].starts_with(INC) {
        return None;
    }
    let id = b.get(pos + INC.len()..pos + INC.len() + 36)?;
    Some((b"incident", id, seq))
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

/// The fields of a witness line that name it, for lines the fast path leaves to serde.
#[derive(Deserialize)]
struct WitnessHead {
    #[serde(default)]
    incident: Option<Uuid>,
    #[serde(default)]
    stream: Option<palisade_core::StreamId>,
    seq: u64,
    signature: String,
}

impl WitnessHead {
    fn id(&self) -> Option<Uuid> {
        match (self.incident, self.stream) {
            (Some(i), None) => Some(i),
            (None, Some(s)) => Some(s.id),
            _ => None,
        }
    }
}

/// SHA-256 of a checkpoint body's canonical text.
fn body_digest(canonical: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(canonical).into()
}

/// What a witness line says: its stream, event, signature, and the digest of the canonical
/// checkpoint body its members spell (compared with the database's, member for member).
struct WitnessFields<'a> {
    id: Uuid,
    seq: u64,
    signature: &'a [u8],
    body: [u8; 32],
}

/// The fields of a witness line as `serde_json::to_string(&Checkpoint)` writes it (format 2, or
/// format 1 written before streams existed), or `None` for any other layout (then serde_json
/// decides). String values here are plain printable ASCII, so the canonical body is their text
/// in sorted member order.
fn witness_fast(line: &[u8]) -> Option<WitnessFields<'_>> {
    let mut x = Exact::new(line);
    let v2 = line.starts_with(b"{\"format\":2,");
    let (id, name) = if v2 {
        x.lit(b"{\"format\":2,\"stream\":\"")?;
        let name = x.string()?;
        let parsed = std::str::from_utf8(name)
            .ok()?
            .parse::<palisade_core::StreamId>()
            .ok()?;
        (parsed.id, name)
    } else {
        x.lit(b"{\"format\":1,\"incident\":\"")?;
        let name = x.string()?;
        (Uuid::try_parse_ascii(name).ok()?, name)
    };
    x.lit(b",\"seq\":")?;
    let seq_at = x.i;
    let seq = x.uint()?;
    let seq_text = &line[seq_at..x.i];
    x.lit(b",\"head\":\"")?;
    let head = x.string()?;
    x.lit(b",\"prev\":\"")?;
    let prev = x.string()?;
    x.lit(b",\"signed_at\":\"")?;
    let signed_at = x.string()?;
    x.lit(b",\"key_id\":\"")?;
    let key_id = x.string()?;
    x.lit(b",\"signature\":\"")?;
    let signature = x.string()?;
    x.lit(b"}")?;
    if !x.end() {
        return None;
    }
    let mut c = Vec::with_capacity(320);
    let q = |c: &mut Vec<u8>, k: &[u8], v: &[u8]| {
        c.extend_from_slice(k);
        c.push(b'"');
        c.extend_from_slice(v);
        c.push(b'"');
    };
    c.extend_from_slice(if v2 {
        b"{\"format\":2"
    } else {
        b"{\"format\":1"
    });
    q(&mut c, b",\"head\":", head);
    if !v2 {
        q(&mut c, b",\"incident\":", name);
    }
    q(&mut c, b",\"key_id\":", key_id);
    q(&mut c, b",\"prev\":", prev);
    c.extend_from_slice(b",\"seq\":");
    c.extend_from_slice(seq_text);
    q(&mut c, b",\"signed_at\":", signed_at);
    if v2 {
        q(&mut c, b",\"stream\":", name);
    }
    c.push(b'}');
    Some(WitnessFields {
        id,
        seq,
        signature,
        body: body_digest(&c),
    })
}

/// What a checkpoint body states, borrowed from its text or from a parsed [`CheckpointBody`].
struct CheckpointFields<'a> {
    /// The stream kind it names (`incident` for format 1).
    kind: &'a [u8],
    id: Uuid,
    seq: u64,
    head: &'a [u8],
    prev: &'a [u8],
    key_id: &'a [u8],
}

/// A canonical checkpoint body (format 2, or format 1 of an incident; keys sorted), or `None`
/// for anything else. Accepts only what `serde_json::from_str::<CheckpointBody>` accepts, with
/// the same values: the UUID and the timestamp are parsed by the same functions serde uses.
fn checkpoint_fast(body: &str) -> Option<CheckpointFields<'_>> {
    let mut x = Exact::new(body.as_bytes());
    let v2 = body.starts_with("{\"format\":2,");
    x.lit(if v2 {
        b"{\"format\":2,\"head\":\""
    } else {
        b"{\"format\":1,\"head\":\""
    })?;
    let head = x.string()?;
    let mut kind: &[u8] = b"incident";
    let mut id = None;
    if !v2 {
        x.lit(b",\"incident\":\"")?;
        id = Some(Uuid::try_parse_ascii(x.string()?).ok()?);
    }
    x.lit(b",\"key_id\":\"")?;
    let key_id = x.string()?;
    x.lit(b",\"prev\":\"")?;
    let prev = x.string()?;
    x.lit(b",\"seq\":")?;
    let seq = x.uint()?;
    x.lit(b",\"signed_at\":\"")?;
    let signed_at = x.string()?;
    if v2 {
        x.lit(b",\"stream\":\"")?;
        let name = x.string()?;
        let parsed = std::str::from_utf8(name)
            .ok()?
            .parse::<palisade_core::StreamId>()
            .ok()?;
        let slash = name.iter().position(|&c| c == b'/')?;
        kind = &name[..slash];
        id = Some(parsed.id);
    }
    x.lit(b"}")?;
    if !x.end() {
        return None;
    }
    palisade_core::Timestamp::parse(std::str::from_utf8(signed_at).ok()?).ok()?;
    Some(CheckpointFields {
        kind,
        id: id?,
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
        stream: Uuid,
        seq: u64,
        /// The decoded signature, `None` if it is not 128 hex digits.
        signature: Option<[u8; 64]>,
        /// Digest of the canonical body the line's members spell (`None`: they spell none).
        body: Option<[u8; 32]>,
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
            if let Some(w) = witness_fast(&buf[..end]) {
                let mut signature = [0u8; 64];
                let decoded = unhex(w.signature, &mut signature);
                self.lines.push(WitnessLine::Checkpoint {
                    line,
                    stream: w.id,
                    seq: w.seq,
                    signature: decoded.then_some(signature),
                    body: Some(w.body),
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
                    // The members as a checkpoint, in canonical form (none if they are not one).
                    let body = serde_json::from_str::<palisade_core::chain::Checkpoint>(text)
                        .ok()
                        .and_then(|cp| palisade_core::canonical::to_canonical_from(&cp.body).ok())
                        .map(|c| body_digest(c.as_bytes()));
                    self.lines.push(WitnessLine::Checkpoint {
                        line,
                        stream: match head.id() {
                            Some(id) => id,
                            None => {
                                self.lines.push(WitnessLine::Invalid {
                                    line,
                                    error: "a witness line names its stream once, as `incident` or `stream`".into(),
                                });
                                continue;
                            }
                        },
                        seq: head.seq,
                        signature: decoded.then_some(signature),
                        body,
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
    stream: Uuid,
    /// The stream id as stored in the rows, to compare without parsing.
    stream_text: Vec<u8>,
    expected: u64,
    prev: Hash,
    prev_hex: [u8; 64],
    /// Hashes of this stream's events so far (index = seq − 1).
    hashes: Vec<Hash>,
    /// The stream kind its first event names.
    kind: Option<Vec<u8>>,
    broken: bool,
}

/// The newest checkpoint of the stream being read that verified so far.
struct LastCheckpoint {
    seq: u64,
    body: String,
    /// The decoded signature, `None` if it is not 128 hex digits.
    signature: Option<[u8; 64]>,
}

struct CheckpointCursor {
    stream: Uuid,
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
    /// Event hashes per stream, index = seq − 1.
    hashes: HashMap<Uuid, Vec<Hash>>,
    /// The kind each stream's events name.
    kinds: HashMap<Uuid, Vec<u8>>,
    ev: Option<EventCursor>,
    cp: Option<CheckpointCursor>,
    /// (stream, seq) → the checkpoint's signature and the digest of its canonical body, for the
    /// witness comparison: a witness line matches only if every member is the database's.
    seen_checkpoints: HashMap<(Uuid, u64), ([u8; 64], [u8; 32])>,
    /// Newest signatures not checked yet (see `verify_pending`).
    pending: Vec<PendingSignature>,
    max_failures: usize,
}

/// Signatures checked together in one Ed25519 batch (the gain per signature levels off beyond a
/// few hundred).
const BATCH: usize = 512;

const NEWEST_SIGNATURE_FAILS: &str =
    "the newest checkpoint's signature does not verify with the trusted key (forged or altered)";

/// A stream's newest checkpoint, whose signature is checked in the next batch.
struct PendingSignature {
    stream: Uuid,
    seq: u64,
    /// How many events the stream holds, to report those the checkpoint does not cover.
    events: u64,
    body: String,
    signature: [u8; 64],
    /// Where in `report.failures` its failure, if any, belongs.
    at: usize,
}

/// The failure for events after a stream's newest checkpoint, if there are any.
fn uncovered(stream: Uuid, seq: u64, events: u64) -> Option<Failure> {
    (seq < events).then(|| Failure::new(Some(stream.to_string()), Some(seq + 1), format!(
            "events {}–{events} are not covered by any signed checkpoint (appended outside palisade)",
            seq + 1
        )))
}

impl Verifier {
    /// `key` is the trusted public key. With `all_signatures`, every checkpoint signature is
    /// checked; otherwise the newest of each stream is, and the checkpoint chain vouches for
    /// the older ones (a changed old signature breaks the next checkpoint's link).
    pub fn new(key: VerifyingKey, all_signatures: bool) -> Verifier {
        Verifier {
            key_id: chain::key_id(&key),
            key,
            all_signatures,
            report: Report::default(),
            hashes: HashMap::new(),
            kinds: HashMap::new(),
            ev: None,
            cp: None,
            seen_checkpoints: HashMap::new(),
            pending: Vec::new(),
            max_failures: 100,
        }
    }

    fn fail(&mut self, stream: Option<String>, seq: Option<u64>, what: String) {
        if self.report.failures.len() < self.max_failures {
            self.report.failures.push(Failure::new(stream, seq, what));
        }
    }

    /// Move the current stream's hashes into the map (at a stream change, and before checkpoints).
    fn flush_events(&mut self) {
        if let Some(cur) = self.ev.take() {
            if let Some(kind) = cur.kind {
                *self
                    .report
                    .kinds
                    .entry(String::from_utf8_lossy(&kind).into_owned())
                    .or_default() += 1;
                self.kinds.insert(cur.stream, kind);
            }
            self.hashes.insert(cur.stream, cur.hashes);
        }
    }

    /// Feed one event row.
    pub fn event(&mut self, stream: &[u8], seq: i64, body: &[u8], prev_hash: &[u8], hash: &[u8]) {
        self.report.events += 1;
        if self
            .ev
            .as_ref()
            .is_none_or(|c| !same_id(&c.stream_text, stream))
        {
            let Ok(id) = Uuid::try_parse_ascii(stream) else {
                self.fail(
                    Some(String::from_utf8_lossy(stream).into_owned()),
                    Some(seq as u64),
                    "the stream id of this row is not a UUID".into(),
                );
                return;
            };
            self.flush_events();
            self.report.streams += 1;
            self.ev = Some(EventCursor {
                stream: id,
                stream_text: stream.to_vec(),
                expected: 1,
                prev: GENESIS,
                prev_hex: hex32(&GENESIS),
                hashes: Vec::new(),
                kind: None,
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
                    Some((h_kind, _, _)) if cur.kind.as_deref().is_some_and(|k| k != h_kind) => {
                        Some(format!(
                            "the body names a stream of kind {:?}, but the stream's earlier events name {:?}",
                            String::from_utf8_lossy(h_kind),
                            String::from_utf8_lossy(cur.kind.as_deref().unwrap_or_default())
                        ))
                    }
                    Some((h_kind, h_id, h_seq)) if h_seq == seq && h_id == stream => {
                        if cur.kind.is_none() {
                            cur.kind = Some(h_kind.to_vec());
                        }
                        cur.prev = computed;
                        cur.prev_hex = computed_hex;
                        cur.expected += 1;
                        cur.hashes.push(computed);
                        None
                    }
                    Some((_, h_inc, h_seq)) => Some(format!(
                        "the body says it is event {h_seq} of stream {}, but it is stored as event {seq} of stream {}",
                        String::from_utf8_lossy(h_inc),
                        cur.stream
                    )),
                    None => Some("the body is not a canonical ledger event".to_string()),
                }
            }
        };
        if let Some(what) = problem {
            cur.broken = true;
            // Name the kind the (unverified) body claims, so the failure says what it is in.
            if cur.kind.is_none()
                && let Some((kind, id, _)) = body_head(body)
                && id == stream
            {
                cur.kind = Some(kind.to_vec());
            }
            let id = cur.stream.to_string();
            self.fail(Some(id), Some(seq), what);
        }
    }

    fn close_checkpoint_stream(&mut self) {
        let Some(cur) = self.cp.take() else { return };
        let events = self.hashes.get(&cur.stream).map_or(0, |h| h.len() as u64);
        if cur.broken {
            return;
        }
        let Some(last) = cur.last else { return };
        if self.all_signatures {
            // Every signature, this one included, was checked as it was read.
            if let Some(f) = uncovered(cur.stream, last.seq, events) {
                self.fail(f.stream, f.seq, f.what);
            }
            return;
        }
        self.report.signatures_verified += 1;
        let Some(signature) = last.signature else {
            self.fail(
                Some(cur.stream.to_string()),
                Some(last.seq),
                NEWEST_SIGNATURE_FAILS.into(),
            );
            return;
        };
        self.pending.push(PendingSignature {
            stream: cur.stream,
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
    /// checked when its stream ended, so failures stay in the order found.
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
                uncovered(p.stream, p.seq, p.events)
            } else {
                Some(Failure::new(
                    Some(p.stream.to_string()),
                    Some(p.seq),
                    NEWEST_SIGNATURE_FAILS.into(),
                ))
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
    pub fn checkpoint(&mut self, stream: &str, seq: i64, body: &str, signature: &str) {
        self.flush_events();
        self.report.checkpoints += 1;
        let Ok(id) = Uuid::parse_str(stream) else {
            self.fail(
                Some(stream.to_string()),
                Some(seq as u64),
                "the stream id of this checkpoint row is not a UUID".into(),
            );
            return;
        };
        if self.cp.as_ref().is_none_or(|c| c.stream != id) {
            self.close_checkpoint_stream();
            self.cp = Some(CheckpointCursor {
                stream: id,
                prev_link: GENESIS,
                last: None,
                broken: false,
            });
        }
        let seq = seq as u64;
        let mut sig = [0u8; 64];
        let decoded = unhex(signature.as_bytes(), &mut sig);
        self.seen_checkpoints
            .insert((id, seq), (sig, body_digest(body.as_bytes())));
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
                        kind: parsed.stream.kind.as_str().as_bytes(),
                        id: parsed.stream.id,
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
            Ok(b) if b.id != id || b.seq != seq => Some(format!(
                "the checkpoint says it covers event {} of stream {}, but is stored for event {seq} of stream {id}",
                b.seq, b.id
            )),
            Ok(b) if self.kinds.get(&id).is_some_and(|k| k.as_slice() != b.kind) => Some(format!(
                "the checkpoint names a stream of kind {:?}, but the stream's events name {:?}",
                String::from_utf8_lossy(b.kind),
                String::from_utf8_lossy(self.kinds.get(&id).map(Vec::as_slice).unwrap_or_default())
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

    /// Close the current stream's cursors (a backend calls this after its last row).
    pub fn end_of_input(&mut self) {
        self.flush_events();
        self.close_checkpoint_stream();
        self.verify_pending();
    }

    /// Add what another verifier saw, for streams disjoint from this one's and ordered after
    /// them (so the first failure stays the first in ledger order).
    pub fn merge(&mut self, mut other: Verifier) {
        other.end_of_input();
        self.end_of_input();
        let r = &mut self.report;
        r.streams += other.report.streams;
        r.events += other.report.events;
        r.checkpoints += other.report.checkpoints;
        r.signatures_verified += other.report.signatures_verified;
        for (k, n) in other.report.kinds {
            *r.kinds.entry(k).or_default() += n;
        }
        for f in other.report.failures {
            if r.failures.len() < self.max_failures {
                r.failures.push(f);
            }
        }
        self.hashes.extend(other.hashes);
        self.kinds.extend(other.kinds);
        self.seen_checkpoints.extend(other.seen_checkpoints);
    }

    /// Finish: check every stream has a checkpoint, and compare the witness log — its first
    /// `len` bytes, written before the database was read — with the database.
    pub fn finish(self, witness: Option<(&Path, u64)>) -> Report {
        let scans = witness
            .map(|(path, len)| WitnessScan::read(path, len))
            .into_iter()
            .collect();
        self.finish_with(scans)
    }

    /// [`Verifier::finish`] with the witness log already read (see [`WitnessScan::read`]).
    pub fn finish_with(self, witnesses: Vec<WitnessScan>) -> Report {
        let mut report = self.finish_inner(witnesses);
        report.incidents = report.kinds.get("incident").copied().unwrap_or(0);
        report
    }

    fn finish_inner(mut self, witnesses: Vec<WitnessScan>) -> Report {
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
            // here: streams with events but no checkpoint at all.
            if !self.seen_checkpoints.keys().any(|(i, _)| *i == id) {
                self.fail(
                    Some(id.to_string()),
                    Some(1),
                    format!("events 1–{n} are not covered by any signed checkpoint"),
                );
            }
        }
        // Each node keeps its own witness log: every line of every one must be in the database.
        for scan in witnesses {
            let path = scan.path.display().to_string();
            self.report.witness_logs.push(path.clone());
            if let Err(e) = self.check_witness(scan) {
                self.fail(None, None, format!("witness log {path}: {e}"));
            }
        }
        // Name the kind of each failing stream, and keep the `incident` field of incidents.
        for f in &mut self.report.failures {
            let kind = f
                .stream
                .as_deref()
                .and_then(|s| Uuid::parse_str(s).ok())
                .and_then(|id| self.kinds.get(&id))
                .map(|k| String::from_utf8_lossy(k).into_owned());
            if kind.as_deref() == Some("incident") {
                f.incident = f.stream.clone();
            }
            f.kind = kind;
        }
        self.report
    }

    /// Every witness line must be a checkpoint the database holds, identical.
    fn check_witness(&mut self, scan: WitnessScan) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let path = scan.path;
        // The newest missing checkpoint per stream: (seq, line).
        let mut missing: HashMap<Uuid, (u64, usize)> = HashMap::new();
        // Opened again only to check the signature of a line the database lacks.
        let mut file: Option<std::fs::File> = None;
        for entry in scan.lines {
            let (line, stream, seq, signature, body, offset, len) = match entry {
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
                    stream,
                    seq,
                    signature,
                    body,
                    offset,
                    len,
                } => (line, stream, seq, signature, body, offset, len),
            };
            self.report.witness_entries += 1;
            match self.seen_checkpoints.get(&(stream, seq)) {
                Some((sig, stored)) if signature.as_ref() == Some(sig) && body.as_ref() == Some(stored) => {}
                Some(_) => self.fail(
                    Some(stream.to_string()),
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
                        let e = missing.entry(stream).or_insert((0, 0));
                        if seq > e.0 {
                            *e = (seq, line);
                        }
                    } else {
                        self.fail(
                            Some(stream.to_string()),
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
                    if held == 0 { "no events of this stream".to_string() } else { format!("events only up to {held}") }
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
        let cp = signer.sign(
            palisade_core::StreamId::incident(incident),
            seq,
            head,
            prev,
            at,
        );
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
            assert_eq!(f.id, b.stream.id, "{body}");
            assert_eq!(f.kind, b.stream.kind.as_str().as_bytes(), "{body}");
            assert_eq!(f.seq, b.seq, "{body}");
            assert_eq!(f.head, b.head.as_bytes(), "{body}");
            assert_eq!(f.prev, b.prev.as_bytes(), "{body}");
            assert_eq!(f.key_id, b.key_id.as_bytes(), "{body}");
        }
    }

    #[test]
    fn the_checkpoint_fast_path_reads_what_serde_reads() {
        for format in [1, 2] {
            checkpoint_fast_path_case(format);
        }
    }

    /// A checkpoint body of `format` (1: as incidents' were written before streams existed).
    fn body_of(format: u32) -> String {
        let signer = LedgerSigner::from_secret([7u8; 32]);
        let (_, mut cp) = checkpoint(&signer, Uuid::now_v7(), 12, &[1u8; 32], &[2u8; 32]);
        cp.body.format = format;
        to_canonical_from(&cp.body).unwrap()
    }

    fn checkpoint_fast_path_case(format: u32) {
        let body = body_of(format);
        assert!(
            checkpoint_fast(&body).is_some(),
            "the canonical layout takes the fast path"
        );
        same_as_serde(&body);
        let variants = [
            body.replace("\"seq\":12", "\"seq\":012"),
            body.replace("\"seq\":12", "\"seq\":99999999999999999999999"),
            body.replace("\"format\":1", "\"format\":2"),
            body.replace("\"format\":2", "\"format\":1"),
            body.replace("incident/", "service/"),
            body.replace("incident/", "team/"),
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
        for format in [1, 2] {
            witness_fast_path_case(format);
        }
    }

    fn witness_fast_path_case(format: u32) {
        let signer = LedgerSigner::from_secret([7u8; 32]);
        let (_, mut cp) = checkpoint(&signer, Uuid::now_v7(), 3, &[1u8; 32], &[2u8; 32]);
        cp.body.format = format;
        let line = serde_json::to_string(&cp).unwrap();
        let variants = [
            line.replace("\"format\":2", "\"format\":1"),
            line.replace("\"format\":1", "\"format\":2"),
            line.replace("\"stream\":\"incident/", "\"incident\":\""),
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
            if let Some(w) = fast {
                let h = serde
                    .unwrap_or_else(|e| panic!("fast path accepted what serde refuses ({e}): {v}"));
                assert_eq!(
                    (w.id, w.seq, w.signature),
                    (h.id().unwrap(), h.seq, h.signature.as_bytes()),
                    "{v}"
                );
                // The body it spells is the checkpoint's canonical body, as serde reads it.
                let parsed: palisade_core::chain::Checkpoint = serde_json::from_str(v).unwrap();
                let canonical = to_canonical_from(&parsed.body).unwrap();
                assert_eq!(w.body, body_digest(canonical.as_bytes()), "{v}");
            }
        }
        let w = witness_fast(line.as_bytes()).expect("the written layout takes the fast path");
        assert_eq!(
            w.body,
            body_digest(to_canonical_from(&cp.body).unwrap().as_bytes()),
            "the line spells the signed body"
        );
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
                    f.stream.clone().unwrap(),
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
