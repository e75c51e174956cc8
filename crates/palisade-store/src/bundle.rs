//! Export bundles: one tar archive holding an incident's ledger as stored, its signed
//! checkpoints, the public key, the evidence manifest and optionally the evidence content, and
//! their offline verification (no server, no database). The format is documented in
//! `docs/ledger-format.md` ("Export bundles").
//!
//! Entries, in this order:
//! - `palisade-bundle.json`: [`BundleHeader`]
//! - `ledger/events.jsonl`: one `{"seq","body","prev_hash","hash"}` per line, as stored
//! - `ledger/checkpoints.jsonl`: one `{"seq","body","signature"}` per line, as stored
//! - `evidence/manifest.json`: [`Manifest`], derived from the ledger's `evidence_acquired` events
//! - `evidence/E<n>/<name>`: the content (only when exported with evidence)
//! - `README.txt`: how to verify

use crate::verify::{Failure, Verifier};
use crate::{StoredCheckpoint, StoredEvent};
use palisade_core::{Event, IncidentState, Payload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use uuid::Uuid;

/// Bundle format version written in the header.
pub const BUNDLE_FORMAT: &str = "palisade-bundle/1";
pub const HEADER_ENTRY: &str = "palisade-bundle.json";
pub const EVENTS_ENTRY: &str = "ledger/events.jsonl";
pub const CHECKPOINTS_ENTRY: &str = "ledger/checkpoints.jsonl";
pub const MANIFEST_ENTRY: &str = "evidence/manifest.json";

/// What the bundle says about itself. Not signed: everything it claims is checked against the
/// signed ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleHeader {
    pub format: String,
    pub incident: Uuid,
    pub codename: String,
    pub exported_at: String,
    pub exported_by: String,
    pub purpose: String,
    /// The server's Ed25519 public key, hex.
    pub public_key: String,
    pub events: u64,
    pub with_evidence: bool,
}

/// One piece of evidence in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    pub evidence: u32,
    pub name: String,
    pub sha256: String,
    pub size: u64,
    /// Path of the content inside the bundle.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub evidence: Vec<ManifestEntry>,
}

/// `/`, `\\` and control characters of a name replaced by `_`.
fn without_separators(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Where the content of evidence `n` called `name` is in a bundle: `evidence/E<n>/<name>` with
/// `/`, `\\` and control characters replaced by `_`, and a name that is no file name (`.`, `..`,
/// or empty: recorded before names had to be portable) written as that many underscores (one
/// for an empty name). Every path it gives is one file inside `evidence/E<n>/`.
fn entry_path(n: u32, name: &str) -> String {
    let mut safe = without_separators(name);
    if safe.is_empty() || safe == "." || safe == ".." {
        safe = "_".repeat(safe.len().max(1));
    }
    format!("evidence/E{n}/{safe}")
}

/// The path bundles made before `.` and `..` were written as underscores listed in their
/// manifest for such names (those bundles could only hold the manifest, not the content).
fn legacy_entry_path(n: u32, name: &str) -> String {
    format!("evidence/E{n}/{}", without_separators(name))
}

fn manifest_from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Manifest {
    Manifest {
        evidence: events
            .into_iter()
            .filter_map(|e| match &e.data {
                Payload::EvidenceAcquired {
                    evidence,
                    name,
                    sha256,
                    size,
                    ..
                } => Some(ManifestEntry {
                    evidence: *evidence,
                    name: name.clone(),
                    sha256: sha256.clone(),
                    size: *size,
                    path: entry_path(*evidence, name),
                }),
                _ => None,
            })
            .collect(),
    }
}

/// The manifest of an incident's evidence.
pub fn manifest(st: &IncidentState) -> Manifest {
    Manifest {
        evidence: st
            .evidence
            .iter()
            .map(|i| ManifestEntry {
                evidence: i.n,
                name: i.name.clone(),
                sha256: i.sha256.clone(),
                size: i.size,
                path: entry_path(i.n, &i.name),
            })
            .collect(),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventLine {
    seq: u64,
    body: String,
    prev_hash: String,
    hash: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    seq: u64,
    body: String,
    signature: String,
}

const README: &str = "This is a Palisade incident export bundle (format palisade-bundle/1).

Verify it offline, with no server and no database:

    palisade verify THIS-FILE.tar [--public-key PUBLIC-KEY]

or with the independent verifier in Palisade's docs/verify_ledger.py. The ledger format
(canonical JSON, hash chain, signed checkpoints) is documented in docs/ledger-format.md.
Compare the public key printed by the verifier with the one your counterpart published:
the bundle carries its own key, so only a key you obtained separately proves who signed it.
";

/// Writes a bundle.
pub struct BundleWriter<W: Write> {
    tar: tar::Builder<W>,
}

fn header_for(path: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    let _ = h.set_path(path);
    h.set_cksum();
    h
}

impl<W: Write> BundleWriter<W> {
    pub fn new(w: W) -> BundleWriter<W> {
        BundleWriter {
            tar: tar::Builder::new(w),
        }
    }

    fn add_bytes(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        let mut h = header_for(path, data.len() as u64);
        self.tar.append_data(&mut h, path, data)
    }

    /// Everything but the evidence content.
    pub fn write_header(
        &mut self,
        header: &BundleHeader,
        events: &[StoredEvent],
        checkpoints: &[StoredCheckpoint],
        manifest: &Manifest,
    ) -> io::Result<()> {
        let json = |v: &dyn erased::Ser| v.to_vec();
        self.add_bytes(HEADER_ENTRY, &json(header)?)?;
        let mut lines = Vec::new();
        for e in events {
            serde_json::to_writer(
                &mut lines,
                &EventLine {
                    seq: e.seq,
                    body: e.body.clone(),
                    prev_hash: e.prev_hash.clone(),
                    hash: e.hash.clone(),
                },
            )?;
            lines.push(b'\n');
        }
        self.add_bytes(EVENTS_ENTRY, &lines)?;
        lines.clear();
        for c in checkpoints {
            serde_json::to_writer(
                &mut lines,
                &CheckpointLine {
                    seq: c.seq,
                    body: c.body.clone(),
                    signature: c.signature.clone(),
                },
            )?;
            lines.push(b'\n');
        }
        self.add_bytes(CHECKPOINTS_ENTRY, &lines)?;
        self.add_bytes(MANIFEST_ENTRY, &json(manifest)?)?;
        self.add_bytes("README.txt", README.as_bytes())
    }

    /// One piece of evidence; `content` must yield at least `entry.size` bytes (exactly that
    /// many are taken). Fewer is an error, never a short entry.
    pub fn write_evidence(
        &mut self,
        entry: &ManifestEntry,
        content: &mut dyn Read,
    ) -> io::Result<()> {
        let mut h = header_for(&entry.path, entry.size);
        let mut counted = Counted {
            inner: content.take(entry.size),
            n: 0,
        };
        self.tar.append_data(&mut h, &entry.path, &mut counted)?;
        if counted.n != entry.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the content of E{} ended after {} of its {} bytes",
                    entry.evidence, counted.n, entry.size
                ),
            ));
        }
        Ok(())
    }

    /// Write the end-of-archive marker.
    pub fn finish(&mut self) -> io::Result<()> {
        self.tar.finish()
    }

    pub fn get_mut(&mut self) -> &mut W {
        self.tar.get_mut()
    }

    /// The writer, after the end-of-archive marker (written now if [`BundleWriter::finish`] was
    /// not called).
    pub fn into_inner(self) -> io::Result<W> {
        self.tar.into_inner()
    }
}

/// A reader that counts what it yields.
struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

mod erased {
    pub trait Ser {
        fn to_vec(&self) -> std::io::Result<Vec<u8>>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_vec(&self) -> std::io::Result<Vec<u8>> {
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)
        }
    }
}

/// What verifying a bundle found.
#[derive(Debug, Clone, Serialize)]
pub struct BundleReport {
    pub format: String,
    pub incident: Option<Uuid>,
    pub codename: Option<String>,
    pub exported_at: Option<String>,
    pub exported_by: Option<String>,
    /// Key id (fingerprint) of the key the checkpoints were verified with.
    pub key_id: Option<String>,
    pub events: u64,
    pub checkpoints: u64,
    pub signatures_verified: u64,
    pub evidence_listed: usize,
    pub evidence_files_verified: usize,
    pub failures: Vec<Failure>,
}

impl BundleReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
    fn fail(&mut self, seq: Option<u64>, what: impl Into<String>) {
        let id = self.incident.map(|i| i.to_string());
        self.failures.push(Failure {
            stream: id.clone(),
            kind: id.as_ref().map(|_| "incident".to_string()),
            incident: id,
            seq,
            what: what.into(),
        });
    }
}

/// Largest metadata entry read into memory (events, checkpoints, manifest, header).
const MAX_META: u64 = 1 << 30;

/// Verify a bundle from `r`. `trusted_key` pins the public key; without it the bundle's own key
/// is used (and the report names it, to compare with one obtained separately).
pub fn verify_bundle(
    r: impl Read,
    trusted_key: Option<ed25519_dalek::VerifyingKey>,
) -> io::Result<BundleReport> {
    let mut report = BundleReport {
        format: String::new(),
        incident: None,
        codename: None,
        exported_at: None,
        exported_by: None,
        key_id: None,
        events: 0,
        checkpoints: 0,
        signatures_verified: 0,
        evidence_listed: 0,
        evidence_files_verified: 0,
        failures: Vec::new(),
    };
    let mut archive = tar::Archive::new(r);
    let mut header: Option<BundleHeader> = None;
    let mut events_text: Option<String> = None;
    let mut checkpoints_text: Option<String> = None;
    let mut manifest: Option<Manifest> = None;
    // path → (sha256, size) of evidence files met.
    let mut files: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let entries = archive
        .entries()
        .map_err(|e| io::Error::new(e.kind(), format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| io::Error::new(e.kind(), format!("reading the archive: {e}")))?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let meta = |entry: &mut tar::Entry<'_, _>| -> io::Result<String> {
            if entry.size() > MAX_META {
                return Err(io::Error::other(format!("{path} is implausibly large")));
            }
            let mut s = String::new();
            entry.read_to_string(&mut s)?;
            Ok(s)
        };
        match path.as_str() {
            HEADER_ENTRY => {
                let text = meta(&mut entry)?;
                match serde_json::from_str::<BundleHeader>(&text) {
                    Ok(h) => header = Some(h),
                    Err(e) => report.fail(None, format!("{HEADER_ENTRY} is not valid: {e}")),
                }
            }
            EVENTS_ENTRY => events_text = Some(meta(&mut entry)?),
            CHECKPOINTS_ENTRY => checkpoints_text = Some(meta(&mut entry)?),
            MANIFEST_ENTRY => {
                let text = meta(&mut entry)?;
                match serde_json::from_str::<Manifest>(&text) {
                    Ok(m) => manifest = Some(m),
                    Err(e) => report.fail(None, format!("{MANIFEST_ENTRY} is not valid: {e}")),
                }
            }
            "README.txt" => {}
            p if p.starts_with("evidence/") => {
                let mut hasher = Sha256::new();
                let mut buf = vec![0u8; 1 << 20];
                let mut size = 0u64;
                loop {
                    let n = entry.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    size += n as u64;
                    hasher.update(&buf[..n]);
                }
                if files
                    .insert(p.to_string(), (hex::encode(hasher.finalize()), size))
                    .is_some()
                {
                    report.fail(None, format!("{p} appears twice in the bundle"));
                }
            }
            other => report.fail(None, format!("unexpected entry {other:?} in the bundle")),
        }
    }
    let Some(header) = header else {
        report.fail(
            None,
            format!("{HEADER_ENTRY} is missing: this is not a Palisade bundle"),
        );
        return Ok(report);
    };
    report.format = header.format.clone();
    report.incident = Some(header.incident);
    report.codename = Some(header.codename.clone());
    report.exported_at = Some(header.exported_at.clone());
    report.exported_by = Some(header.exported_by.clone());
    if header.format != BUNDLE_FORMAT {
        report.fail(
            None,
            format!(
                "bundle format {:?} is not {BUNDLE_FORMAT}; upgrade palisade",
                header.format
            ),
        );
        return Ok(report);
    }
    let key = match trusted_key {
        Some(k) => {
            if hex::encode(k.as_bytes()) != header.public_key.trim() {
                report.fail(None, "the bundle carries a different public key than the trusted one you gave; checking against yours");
            }
            k
        }
        None => match crate::keys::read_public_key(header.public_key.trim()) {
            Ok(k) => k,
            Err(e) => {
                report.fail(None, format!("the bundle's public key is not valid: {e}"));
                return Ok(report);
            }
        },
    };
    report.key_id = Some(palisade_core::chain::key_id(&key));
    let (Some(events_text), Some(checkpoints_text)) = (events_text, checkpoints_text) else {
        report.fail(
            None,
            "the bundle has no ledger (ledger/events.jsonl and ledger/checkpoints.jsonl)",
        );
        return Ok(report);
    };
    let incident = header.incident.to_string();
    let mut v = Verifier::new(key, true);
    let mut parsed_events = Vec::new();
    for (i, line) in events_text.lines().enumerate() {
        match serde_json::from_str::<EventLine>(line) {
            Ok(l) => {
                v.event(
                    incident.as_bytes(),
                    l.seq as i64,
                    l.body.as_bytes(),
                    l.prev_hash.as_bytes(),
                    l.hash.as_bytes(),
                );
                match serde_json::from_str::<Event>(&l.body) {
                    Ok(e) => parsed_events.push(e),
                    Err(e) => {
                        report.fail(Some(l.seq), format!("event {} does not parse: {e}", l.seq))
                    }
                }
            }
            Err(e) => report.fail(None, format!("{EVENTS_ENTRY} line {}: {e}", i + 1)),
        }
    }
    for (i, line) in checkpoints_text.lines().enumerate() {
        match serde_json::from_str::<CheckpointLine>(line) {
            Ok(l) => v.checkpoint(&incident, l.seq as i64, &l.body, &l.signature),
            Err(e) => report.fail(None, format!("{CHECKPOINTS_ENTRY} line {}: {e}", i + 1)),
        }
    }
    let chain = v.finish(None);
    report.events = chain.events;
    report.checkpoints = chain.checkpoints;
    report.signatures_verified = chain.signatures_verified;
    report.failures.extend(chain.failures);
    if chain.events != header.events {
        report.fail(
            None,
            format!(
                "the header lists {} events but the ledger holds {}",
                header.events, chain.events
            ),
        );
    }
    if parsed_events
        .iter()
        .any(|e| e.stream != palisade_core::StreamId::incident(header.incident))
    {
        report.fail(None, "the ledger holds events of another incident");
    }
    match parsed_events.last().map(|e| &e.data) {
        Some(Payload::Exported { with_evidence, .. }) => {
            if *with_evidence != header.with_evidence {
                report.fail(None, "the header's with_evidence differs from the recorded export");
            }
        }
        _ => report.fail(
            parsed_events.last().map(|e| e.seq),
            "the ledger does not end with this export's own `exported` event: events were removed from its end, or it was not made by `palisade incident export`",
        ),
    }
    // The manifest must be exactly what the signed ledger says was acquired.
    let expected = manifest_from_events(&parsed_events);
    report.evidence_listed = expected.evidence.len();
    match &manifest {
        None => report.fail(None, format!("{MANIFEST_ENTRY} is missing")),
        Some(m) => {
            for (i, want) in expected.evidence.iter().enumerate() {
                match m.evidence.get(i) {
                    Some(got) if got == want => {}
                    // A bundle made before `.` and `..` were written as underscores.
                    Some(got)
                        if got.path == legacy_entry_path(want.evidence, &want.name)
                            && *got
                                == (ManifestEntry {
                                    path: got.path.clone(),
                                    ..want.clone()
                                }) => {}
                    Some(got) => report.fail(None, format!(
                        "manifest entry E{} ({}) does not match the ledger: the ledger records SHA-256 {} and {} bytes, the manifest {} and {} bytes",
                        want.evidence, want.name, want.sha256, want.size, got.sha256, got.size
                    )),
                    None => report.fail(None, format!("the manifest omits E{} ({})", want.evidence, want.name)),
                }
            }
            if m.evidence.len() > expected.evidence.len() {
                report.fail(
                    None,
                    "the manifest lists evidence the ledger does not record",
                );
            }
        }
    }
    for want in &expected.evidence {
        match files.remove(&want.path) {
            Some((sha, size)) => {
                if sha != want.sha256 || size != want.size {
                    report.fail(None, format!(
                        "evidence file {} does not match the ledger: it hashes to {sha} ({size} bytes), the ledger records {} ({} bytes)",
                        want.path, want.sha256, want.size
                    ));
                } else {
                    report.evidence_files_verified += 1;
                }
            }
            None if header.with_evidence => report.fail(
                None,
                format!("evidence file {} is missing from the bundle", want.path),
            ),
            None => {}
        }
    }
    for extra in files.keys() {
        report.fail(None, format!("{extra} is not evidence the ledger records"));
    }
    Ok(report)
}
