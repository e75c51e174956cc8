//! Evidence use cases: content goes into (and out of) the encrypted vault, and each custody
//! step is a command of the incident through the pipeline. What needs the content measured
//! (a transfer, an export) re-hashes it first and records what it found; a mismatch is an
//! integrity failure, recorded before it is reported.

use crate::error::{AppError, Result};
use crate::pipeline::{Executed, Options, Outcome, Render, require_role_for};
use crate::{App, now};
use palisade_core::custody::{EvidenceCommand, EvidenceName, EvidenceState, custody_rules};
use palisade_core::incident::Command;
use palisade_core::{Actor, IncidentState, Payload, Refusal, UserName};
use palisade_store::bundle::{BundleHeader, Manifest};
use palisade_store::evidence::{
    HashingReader, IncidentKey, StageError, StageItem, Staged, VaultError,
};
use palisade_store::{StoredCheckpoint, StoredEvent};
use std::io::Read;
use uuid::Uuid;

/// What is said about content at acquisition.
#[derive(Debug, Clone)]
pub struct AcquireInput {
    /// A portable file name, checked where the request arrived.
    pub name: EvidenceName,
    pub source: String,
    pub tool: String,
    /// The hash computed at acquisition; the content is refused if it differs.
    pub sha256: Option<String>,
    pub note: Option<String>,
}

/// A hand-over of custody someone asks for.
#[derive(Debug, Clone)]
pub struct TransferInput {
    /// The evidence number (E<n>).
    pub evidence: u32,
    /// Who takes custody.
    pub to: UserName,
    /// Why.
    pub purpose: String,
}

/// An open download: the item, its recorded access, and its decrypted content, which
/// re-hashes as it is read. Send it with [`App::deliver_download`], which records how it ended.
pub struct Download {
    pub incident: Uuid,
    pub item: EvidenceState,
    /// Sequence number of the `evidence_accessed` event that granted it.
    pub access: u64,
    pub reader: HashingReader<Box<dyn Read + Send>>,
}

/// How a download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent whole; the content matched its recorded hash, and that is recorded.
    Verified { size: u64 },
    /// The way out closed after `sent` bytes (the client went away); recorded when it could be.
    Incomplete { sent: u64 },
    /// Held back before its end: the content failed its check (recorded), or the outcome could
    /// not be recorded. The caller breaks the transfer off with `why`, so the client sees an
    /// incomplete body, never a complete one.
    BrokenOff { why: String },
}

/// Largest piece of content read and sent at once.
const DELIVERY_CHUNK: usize = 256 * 1024;

/// An export whose events are recorded: what the bundle holds, everything in it already read
/// and checked. [`ExportPlan::write_to`] writes it.
pub struct ExportPlan {
    pub state: IncidentState,
    pub header: BundleHeader,
    pub events: Vec<StoredEvent>,
    pub checkpoints: Vec<StoredCheckpoint>,
    pub manifest: Manifest,
    /// The evidence content, staged in manifest order (when it is included).
    pub content: Option<Staged>,
}

/// An export recorded, its bundle not read yet.
struct RecordedExport {
    /// The incident as the export left it (its last event is the export's `exported`).
    state: IncidentState,
    purpose: String,
    with_evidence: bool,
    content: Option<Staged>,
}

impl ExportPlan {
    /// Write the bundle to `out` (blocking I/O). Its content was read back and checked before
    /// the export was recorded, so what can still fail is the local spool or the way out.
    pub fn write_to<W: std::io::Write>(self, out: W) -> std::io::Result<W> {
        let mut tar = palisade_store::bundle::BundleWriter::new(out);
        tar.write_header(
            &self.header,
            &self.events,
            &self.checkpoints,
            &self.manifest,
        )?;
        if let Some(staged) = self.content {
            let mut r = staged.into_reader()?;
            for entry in &self.manifest.evidence {
                tar.write_evidence(entry, &mut r)?;
            }
        }
        tar.finish()?;
        tar.into_inner()
    }
}

/// A vault error that is not about the content's integrity.
fn vault_error(e: VaultError) -> AppError {
    match e {
        VaultError::TooLarge { limit } => AppError::TooLarge(format!(
            "evidence is limited to {limit} bytes (configure evidence_max_bytes)"
        )),
        VaultError::Source(e) => AppError::Invalid(format!(
            "the upload did not complete ({e}); nothing was recorded"
        )),
        VaultError::Store(e) => match AppError::from(e) {
            AppError::Internal(_) => {
                AppError::Internal("the evidence vault failed; the server log has details".into())
            }
            known => known,
        },
        other => AppError::internal("the evidence vault failed", other),
    }
}

fn evidence_cmd(c: EvidenceCommand) -> Command {
    Command::Evidence(c)
}

/// Write `data` to `out`, adding what it took to `sent` (also when it took only part).
fn write_counted(
    out: &mut dyn std::io::Write,
    mut data: &[u8],
    sent: &mut u64,
) -> std::io::Result<()> {
    while !data.is_empty() {
        match out.write(data) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(k) => {
                *sent += k as u64;
                data = &data[k..];
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl App {
    async fn incident_key(&self, id: Uuid) -> Result<IncidentKey> {
        self.inner
            .vault
            .incident_key(&self.inner.store, id)
            .await
            .map_err(AppError::from)
    }

    /// Re-hash stored content. Outer error: could not run; inner: the content does not match
    /// (the hash found if readable, and why).
    async fn recheck(
        &self,
        id: Uuid,
        sha256: &str,
    ) -> Result<std::result::Result<String, (Option<String>, String)>> {
        let key = self.incident_key(id).await?;
        let vault = self.inner.vault.clone();
        let sha = sha256.to_string();
        let r = tokio::task::spawn_blocking(move || vault.recheck(&key, id, &sha))
            .await
            .map_err(|e| AppError::internal("the re-hash task failed", e))?;
        Ok(match r {
            Ok(b) => Ok(b.sha256),
            Err(VaultError::Mismatch { found, .. }) => Err((
                Some(found),
                "the stored content does not match its recorded hash".to_string(),
            )),
            Err(e @ (VaultError::Missing { .. } | VaultError::Undecryptable(_))) => {
                Err((None, e.to_string()))
            }
            Err(e) => return Err(vault_error(e)),
        })
    }

    /// Record that evidence failed its integrity check `during` a transfer, an export, or the
    /// opening of a download (before its access was recorded; a download under way records its
    /// failure with its access, in [`App::deliver_download`]).
    pub async fn record_integrity_failure(
        &self,
        actor: &Actor,
        incident: Uuid,
        evidence: u32,
        found_sha256: Option<String>,
        during: &str,
        detail: String,
    ) -> Result<()> {
        self.execute::<IncidentState>(
            actor,
            &incident.to_string(),
            evidence_cmd(EvidenceCommand::IntegrityFailed {
                evidence,
                found_sha256,
                during: during.into(),
                detail,
                access: None,
            }),
            &Options::default(),
            None,
        )
        .await?
        .done()?;
        Ok(())
    }

    fn item(st: &IncidentState, n: u32) -> Result<EvidenceState> {
        st.evidence_item(n)
            .cloned()
            .map_err(|r| AppError::NotFound(r.message))
    }

    /// Store content as evidence of an incident and record its acquisition. Everything that
    /// does not depend on the content is checked before a byte of it is read; content that does
    /// not hash to the hash given at acquisition is discarded and refused.
    pub async fn acquire_evidence(
        &self,
        actor: &Actor,
        reference: &str,
        input: AcquireInput,
        content: impl Read + Send + 'static,
    ) -> Result<(IncidentState, EvidenceState)> {
        let done = self
            .acquire_evidence_with(actor, reference, input, content, &Options::default(), None)
            .await?
            .done()?;
        let item = App::acquired(&done)?;
        Ok((done.state, item))
    }

    /// The evidence an acquisition recorded.
    pub fn acquired(done: &Executed<IncidentState>) -> Result<EvidenceState> {
        let n = done
            .events
            .iter()
            .find_map(|e| match &e.data {
                Payload::EvidenceAcquired { evidence, .. } => Some(*evidence),
                _ => None,
            })
            .ok_or_else(|| AppError::internal("evidence was not recorded", "no acquired event"))?;
        App::item(&done.state, n)
    }

    /// [`App::acquire_evidence`] with an idempotency key and the answer to store with it. The
    /// key's digest (`opts.idempotency`: the request without its content) is extended with the
    /// content's SHA-256 once it is read, so a repeat with other content is refused as a reused
    /// key. A repeat of an upload that was recorded is answered with the first answer, whatever
    /// happened to the incident since (its content is read and hashed, not stored again).
    pub async fn acquire_evidence_with(
        &self,
        actor: &Actor,
        reference: &str,
        input: AcquireInput,
        content: impl Read + Send + 'static,
        opts: &Options,
        render: Option<Render<'_, IncidentState>>,
    ) -> Result<Outcome<IncidentState>> {
        let probe = EvidenceCommand::Acquire {
            name: input.name.clone(),
            sha256: "0".repeat(64),
            size: 0,
            source: input.source.clone(),
            tool: input.tool.clone(),
            original_sha256: None,
            note: input.note.clone(),
        };
        let probe_cmd = evidence_cmd(probe);
        require_role_for::<IncidentState>(actor, &probe_cmd)?;
        if let Some(k) = &opts.idempotency
            && let Some(r) = self
                .inner
                .store
                .idempotency_record(actor.user.as_str(), &k.key)
                .await?
        {
            // Used before: the same request only if the content is the same too.
            let sha = self.hash_upload(content).await?;
            return if r.request_hash == k.covering(&sha).request_hash {
                Ok(Outcome::Replayed(r.response))
            } else {
                Err(AppError::IdempotencyMismatch(format!(
                    "idempotency key {:?} was already used for a different request; use a new key for a new request",
                    k.key
                )))
            };
        }
        let st = self
            .load_for::<IncidentState>(actor, reference, &probe_cmd)
            .await?;
        self.check_rules(actor, &st, &probe_cmd)?;
        let expected = match &input.sha256 {
            Some(o) => {
                let o = o.trim().to_ascii_lowercase();
                if !palisade_core::custody::is_sha256_hex(&o) {
                    return Err(AppError::Invalid("sha256 must be 64 hex digits".into()));
                }
                Some(o)
            }
            None => None,
        };
        let key = self.incident_key(st.id).await?;
        let vault = self.inner.vault.clone();
        let limit = self.inner.evidence_limit;
        let id = st.id;
        let stored = tokio::task::spawn_blocking(move || {
            vault.put_expecting(&key, id, content, limit, expected.as_deref())
        })
        .await
        .map_err(|e| AppError::internal("the upload task failed", e))?;
        let stored = match stored {
            Ok(s) => s,
            // Not the content that was acquired: discarded before it reached a content address,
            // and refused by the rule (which names both hashes).
            Err(VaultError::Mismatch { expected, found }) => {
                let r = Refusal::new(
                    custody_rules::EVIDENCE_HASH_MISMATCH,
                    format!(
                        "the content received hashes to {found}, but the hash recorded at acquisition is {expected}; the file changed (or is not the one acquired) and was not recorded"
                    ),
                );
                self.inner.metrics.refused(r.rule.id);
                return Err(r.into());
            }
            Err(e) => return Err(vault_error(e)),
        };
        let opts = Options {
            idempotency: opts
                .idempotency
                .as_ref()
                .map(|k| k.covering(&stored.sha256)),
            ..opts.clone()
        };
        self.execute::<IncidentState>(
            actor,
            &id.to_string(),
            evidence_cmd(EvidenceCommand::Acquire {
                name: input.name,
                sha256: stored.sha256,
                size: stored.size,
                source: input.source,
                tool: input.tool,
                original_sha256: input.sha256,
                note: input.note,
            }),
            &opts,
            render,
        )
        .await
    }

    /// The SHA-256 of an upload's content, read to its end (at most the evidence limit) and not
    /// stored: the repeat of an upload already recorded.
    async fn hash_upload(&self, mut content: impl Read + Send + 'static) -> Result<String> {
        let limit = self.inner.evidence_limit;
        tokio::task::spawn_blocking(move || {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            let mut buf = vec![0u8; DELIVERY_CHUNK];
            let mut total = 0u64;
            loop {
                let k = match content.read(&mut buf) {
                    Ok(0) => return Ok(hex::encode(h.finalize())),
                    Ok(k) => k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(vault_error(VaultError::Source(e))),
                };
                total += k as u64;
                if total > limit {
                    return Err(vault_error(VaultError::TooLarge { limit }));
                }
                h.update(&buf[..k]);
            }
        })
        .await
        .map_err(|e| AppError::internal("the upload task failed", e))?
    }

    /// Hand evidence to someone else. Who may is checked before the stored content is
    /// re-hashed; a mismatch is recorded as an integrity failure and custody does not move.
    /// With `opts.idempotency`, the answer `render` gives is stored with the transfer, and a
    /// repeat gets it back ([`Outcome::Replayed`]) before anything is checked or re-hashed.
    pub async fn transfer_evidence(
        &self,
        actor: &Actor,
        reference: &str,
        transfer: TransferInput,
        opts: &Options,
        render: Option<Render<'_, IncidentState>>,
    ) -> Result<Outcome<IncidentState>> {
        let TransferInput {
            evidence: n,
            to,
            purpose,
        } = transfer;
        // The account's role is checked before anything is looked up.
        let mut probe = evidence_cmd(EvidenceCommand::Transfer {
            evidence: n,
            to: to.clone(),
            purpose: purpose.clone(),
            verified_sha256: String::new(),
        });
        require_role_for::<IncidentState>(actor, &probe)?;
        if let Some(replay) = self.replay(actor, opts).await? {
            return Ok(Outcome::Replayed(replay));
        }
        let st = self
            .load_for::<IncidentState>(actor, reference, &probe)
            .await?;
        let item = App::item(&st, n)?;
        if let Command::Evidence(EvidenceCommand::Transfer {
            verified_sha256, ..
        }) = &mut probe
        {
            *verified_sha256 = item.sha256.clone();
        }
        self.require_users(vec![to.clone()]).await?;
        self.check_rules(actor, &st, &probe)?;
        let measured = self.recheck(st.id, &item.sha256).await?;
        let (cmd, opts, render) = match &measured {
            Ok(sha) => (
                EvidenceCommand::Transfer {
                    evidence: n,
                    to,
                    purpose,
                    verified_sha256: sha.clone(),
                },
                opts.clone(),
                render,
            ),
            // An error answer: nothing to give a repeat, which re-hashes again.
            Err((found, detail)) => (
                EvidenceCommand::IntegrityFailed {
                    evidence: n,
                    found_sha256: found.clone(),
                    during: "transfer".into(),
                    detail: detail.clone(),
                    access: None,
                },
                Options::default(),
                None,
            ),
        };
        let outcome = self
            .execute::<IncidentState>(actor, &st.id.to_string(), evidence_cmd(cmd), &opts, render)
            .await?;
        if let Err((_, detail)) = measured {
            return Err(AppError::Integrity {
                evidence: n,
                detail,
            });
        }
        Ok(outcome)
    }

    /// Open evidence content for download by `actor`, for `purpose`. The access is recorded
    /// (`evidence_accessed`: granted, verification pending) before any byte is released; content
    /// that cannot be opened is an integrity failure, recorded. Send it with
    /// [`App::deliver_download`].
    pub async fn open_evidence(
        &self,
        actor: &Actor,
        reference: &str,
        n: u32,
        purpose: String,
    ) -> Result<Download> {
        let access = evidence_cmd(EvidenceCommand::Access {
            evidence: n,
            purpose: purpose.clone(),
        });
        let st = self
            .load_for::<IncidentState>(actor, reference, &access)
            .await?;
        let item = App::item(&st, n)?;
        let key = self.incident_key(st.id).await?;
        let vault = self.inner.vault.clone();
        let (id, sha) = (st.id, item.sha256.clone());
        // Open (and so check the age header and key) before recording, so a missing blob is an
        // error answer rather than an aborted stream.
        let opened = tokio::task::spawn_blocking(move || vault.open(&key, id, &sha))
            .await
            .map_err(|e| AppError::internal("the open task failed", e))?;
        let reader = match opened {
            Ok(r) => r,
            Err(e) => {
                let detail = e.to_string();
                self.record_integrity_failure(actor, id, n, None, "download", detail.clone())
                    .await?;
                return Err(AppError::Integrity {
                    evidence: n,
                    detail,
                });
            }
        };
        let done = self
            .execute::<IncidentState>(actor, &id.to_string(), access, &Options::default(), None)
            .await?
            .done()?;
        let access = done
            .events
            .iter()
            .find(|e| matches!(e.data, Payload::EvidenceAccessed { .. }))
            .map(|e| e.seq)
            .ok_or_else(|| {
                AppError::internal("the download was not recorded", "no accessed event")
            })?;
        Ok(Download {
            incident: id,
            item,
            access,
            reader,
        })
    }

    /// Send an opened download to `out`, re-hashing it as it goes, and record how it ended
    /// (blocking I/O: call it from a blocking thread, with the runtime's handle for the
    /// records). The last byte is held back until the content has been read to its end, its
    /// hash and size checked and the outcome recorded: `evidence_access_verified` (then the last
    /// byte goes out), `evidence_integrity_failed` (it never does), or, when `out` stops taking
    /// bytes, `evidence_access_incomplete` with how many it took. If the outcome cannot be
    /// recorded the last byte is held back too: a download is complete only with its
    /// verification on record.
    /// Deliver an open download as a stream of chunks (on a blocking thread): what
    /// [`App::deliver_download`] writes, ending in an error when the delivery broke off.
    pub fn stream_download(
        &self,
        actor: &Actor,
        dl: Download,
    ) -> impl futures_util::Stream<Item = crate::streaming::Chunk> + Send + 'static {
        let (mut w, stream) = crate::streaming::channel();
        let app = self.clone();
        let actor = actor.clone();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            // The outcome is recorded before the last byte goes out; a download that is not
            // verified ends with an error, so the client never holds it whole.
            if let Delivery::BrokenOff { why } = app.deliver_download(&handle, &actor, dl, &mut w) {
                w.abort(why);
            }
        });
        stream
    }

    pub fn deliver_download(
        &self,
        rt: &tokio::runtime::Handle,
        actor: &Actor,
        dl: Download,
        out: &mut dyn std::io::Write,
    ) -> Delivery {
        let Download {
            incident,
            item,
            access,
            mut reader,
        } = dl;
        let n = item.n;
        let record = |cmd: EvidenceCommand| {
            rt.block_on(self.execute::<IncidentState>(
                actor,
                &incident.to_string(),
                evidence_cmd(cmd),
                &Options::default(),
                None,
            ))
            .and_then(|o| o.done())
        };
        let broken_off = |detail: String, found: Option<String>| {
            let why = format!("integrity check failed: {detail}");
            if let Err(e) = record(EvidenceCommand::IntegrityFailed {
                evidence: n,
                found_sha256: found,
                during: "download".into(),
                detail,
                access: Some(access),
            }) {
                tracing::error!(error = %e, "could not record an evidence integrity failure");
            }
            Delivery::BrokenOff { why }
        };
        let mut buf = vec![0u8; DELIVERY_CHUNK];
        let mut sent = 0u64;
        // The last byte read so far, held back.
        let mut held: Option<u8> = None;
        loop {
            let k = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return broken_off(
                        format!("the stored content could not be decrypted ({e})"),
                        None,
                    );
                }
            };
            let (body, last) = buf[..k].split_at(k - 1);
            let mut chunk = Vec::with_capacity(k);
            chunk.extend(held.take());
            chunk.extend_from_slice(body);
            if let Err(e) = write_counted(out, &chunk, &mut sent) {
                return self.incomplete(&record, access, n, sent, e);
            }
            held = Some(last[0]);
        }
        let size = sent + u64::from(held.is_some());
        let measured = match reader.finish() {
            Ok(b) => b.sha256,
            Err(VaultError::Mismatch { found, .. }) => found,
            Err(e) => return broken_off(e.to_string(), None),
        };
        let done = match record(EvidenceCommand::AccessCompleted {
            evidence: n,
            access,
            sha256: measured,
            size,
        }) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "could not record a download's outcome");
                return Delivery::BrokenOff {
                    why: format!("the download's outcome could not be recorded ({e})"),
                };
            }
        };
        let verified = done
            .events
            .iter()
            .any(|e| matches!(e.data, Payload::EvidenceAccessVerified { .. }));
        if !verified {
            let detail = done
                .events
                .iter()
                .find_map(|e| match &e.data {
                    Payload::EvidenceIntegrityFailed { detail, .. } => Some(detail.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "the content did not match its record".into());
            return Delivery::BrokenOff {
                why: format!("integrity check failed: {detail}"),
            };
        }
        let last: Vec<u8> = held.into_iter().collect();
        match write_counted(out, &last, &mut sent).and_then(|_| out.flush()) {
            Ok(()) => Delivery::Verified { size },
            Err(e) => {
                // Verified and recorded; only the very end did not go out.
                tracing::warn!(error = %e, "a verified download lost its connection at the end");
                Delivery::Incomplete { sent }
            }
        }
    }

    /// The way out closed after `sent` bytes: record that the download did not complete.
    fn incomplete(
        &self,
        record: &dyn Fn(EvidenceCommand) -> Result<crate::pipeline::Executed<IncidentState>>,
        access: u64,
        evidence: u32,
        sent: u64,
        why: std::io::Error,
    ) -> Delivery {
        tracing::info!(error = %why, sent, "a download ended early");
        if let Err(e) = record(EvidenceCommand::AccessIncomplete {
            evidence,
            access,
            sent,
        }) {
            tracing::error!(error = %e, "could not record an incomplete download");
        }
        Delivery::Incomplete { sent }
    }

    /// Record an export and gather what its bundle holds. The bundle is complete before the
    /// export is recorded, but for the export's own events: with evidence, every piece is read
    /// back, checked against its recorded hash and size, and staged (a mismatch or unreadable
    /// content is recorded as an integrity failure and refuses the export; any other failure
    /// records nothing). Then the export's events are recorded, and the bundle ends with them.
    pub async fn export_incident(
        &self,
        actor: &Actor,
        reference: &str,
        purpose: String,
        with_evidence: bool,
    ) -> Result<ExportPlan> {
        let recorded = self
            .record_export(actor, reference, purpose, with_evidence)
            .await?;
        self.plan_export(actor, recorded).await
    }

    /// Check, stage and record an export: everything but reading its ledger back.
    async fn record_export(
        &self,
        actor: &Actor,
        reference: &str,
        purpose: String,
        with_evidence: bool,
    ) -> Result<RecordedExport> {
        // What is checked before any content is read (role, visibility, purpose); the evidence
        // is checked once it is staged.
        let probe = Command::Export {
            purpose: purpose.clone(),
            with_evidence: false,
            verified: Vec::new(),
        };
        let st = self
            .load_for::<IncidentState>(actor, reference, &probe)
            .await?;
        self.check_rules(actor, &st, &probe)?;
        let content = if with_evidence {
            Some(self.stage_evidence(actor, &st).await?)
        } else {
            None
        };
        let verified = content
            .iter()
            .flat_map(|c| c.measured.iter().map(|(n, sha, _)| (*n, sha.clone())))
            .collect();
        let done = self
            .execute::<IncidentState>(
                actor,
                &st.id.to_string(),
                Command::Export {
                    purpose: purpose.clone(),
                    with_evidence,
                    verified,
                },
                &Options::default(),
                None,
            )
            .await?
            .done()?;
        Ok(RecordedExport {
            state: done.state,
            purpose,
            with_evidence,
            content,
        })
    }

    /// The bundle of a recorded export: its ledger read back up to the export's own events and
    /// their checkpoint. Whatever was appended since (a recorded read of a restricted incident,
    /// a note) is left out: the bundle ends with its own `exported` event, as its verifier
    /// requires.
    async fn plan_export(&self, actor: &Actor, recorded: RecordedExport) -> Result<ExportPlan> {
        let RecordedExport {
            state: st,
            purpose,
            with_evidence,
            content,
        } = recorded;
        // The state the export left: its last event is the export's `exported`, and the
        // export's append was signed at that number.
        let exported = st.last_seq;
        let events = self
            .inner
            .store
            .stored_events_page(st.id, 0, exported)
            .await?;
        let mut checkpoints = self.inner.store.stored_checkpoints(st.id).await?;
        checkpoints.retain(|c| c.seq <= exported);
        if events.last().map(|e| e.seq) != Some(exported)
            || checkpoints.last().map(|c| c.seq) != Some(exported)
        {
            return Err(AppError::internal(
                "the export's own events could not be read back",
                format!(
                    "incident {}: the export is event {exported}, but the ledger read back ends at event {:?} and checkpoint {:?}",
                    st.id,
                    events.last().map(|e| e.seq),
                    checkpoints.last().map(|c| c.seq)
                ),
            ));
        }
        let header = BundleHeader {
            format: palisade_store::bundle::BUNDLE_FORMAT.to_string(),
            incident: st.id,
            codename: st.codename.clone(),
            exported_at: now().to_string(),
            exported_by: actor.user.to_string(),
            purpose: purpose.trim().to_string(),
            public_key: self.inner.public_key_hex.clone(),
            events: events.len() as u64,
            with_evidence,
        };
        let manifest = palisade_store::bundle::manifest(&st);
        Ok(ExportPlan {
            state: st,
            header,
            events,
            checkpoints,
            manifest,
            content,
        })
    }

    /// Read every piece of `st`'s evidence back and stage it for a bundle. Content that does not
    /// read back as recorded is an integrity failure, recorded and returned.
    async fn stage_evidence(&self, actor: &Actor, st: &IncidentState) -> Result<Staged> {
        let items: Vec<StageItem> = st
            .evidence
            .iter()
            .map(|i| StageItem {
                evidence: i.n,
                sha256: i.sha256.clone(),
                size: i.size,
            })
            .collect();
        let key = self.incident_key(st.id).await?;
        let vault = self.inner.vault.clone();
        let id = st.id;
        let staged = tokio::task::spawn_blocking(move || vault.stage(&key, id, &items))
            .await
            .map_err(|e| AppError::internal("the export staging task failed", e))?;
        let (evidence, error) = match staged {
            Ok(s) => return Ok(s),
            Err(StageError::Evidence { evidence, error }) => (evidence, error),
            Err(e @ StageError::Spool(_)) => {
                return Err(AppError::internal("staging the export bundle", e));
            }
        };
        let (found, detail) = match error {
            VaultError::Mismatch { found, .. } => (
                Some(found),
                "the stored content does not match its recorded hash".to_string(),
            ),
            e @ (VaultError::Missing { .. }
            | VaultError::Undecryptable(_)
            | VaultError::WrongSize { .. }) => (None, e.to_string()),
            other => return Err(vault_error(other)),
        };
        self.record_integrity_failure(actor, st.id, evidence, found, "export", detail.clone())
            .await?;
        Err(AppError::Integrity { evidence, detail })
    }

    /// The vault, to stream a planned export's evidence content from.
    pub fn vault(&self) -> &std::sync::Arc<palisade_store::evidence::Vault> {
        &self.inner.vault
    }
}

/// A file name for evidence as downloaded: its recorded name made safe ([`safe_file_name`]);
/// `E<n>` for `.` or `..`, recorded before names had to be file names.
pub fn download_name(item: &EvidenceState) -> String {
    safe_file_name(&item.name, &format!("E{}", item.n))
}

/// `name` with anything but ASCII letters, digits and `._-` replaced by `_`, so it is safe in
/// a `Content-Disposition` header and on any disk; `fallback` when that leaves only dots.
pub fn safe_file_name(name: &str, fallback: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.chars().all(|c| c == '.') {
        fallback.to_string()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::DeclareInput;
    use crate::{AppConfig, Started};
    use palisade_core::{AccountRole, Severity};
    use palisade_store::StoreConfig;

    #[tokio::test]
    async fn an_export_bundle_ends_with_its_own_export_whatever_was_appended_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let Started { app, .. } = App::start(&AppConfig {
            store: StoreConfig {
                data_dir: dir.path().to_path_buf(),
                database_url: None,
            },
            manual_timers: true,
            ..Default::default()
        })
        .await
        .unwrap();
        let admin = Actor {
            user: UserName::parse("admin").unwrap(),
            account_role: AccountRole::Admin,
        };
        // A restricted incident: every read of it is appended to its ledger.
        let st = app
            .declare(
                &admin,
                DeclareInput {
                    title: "Exported while read".into(),
                    kind: None,
                    severity: Severity::SEV2,
                    restricted: Some(true),
                    summary: None,
                    playbook: None,
                    commander: None,
                    aware_at: None,
                },
                &Options::default(),
                None,
            )
            .await
            .unwrap()
            .done()
            .unwrap()
            .state;
        let id = st.id.to_string();
        let recorded = app
            .record_export(&admin, &id, "for the auditors".into(), false)
            .await
            .unwrap();
        let exported = recorded.state.last_seq;
        // Between the export's record and the reading of its ledger: a recorded read and a note.
        app.read::<IncidentState>(&admin, &id, "incident", "api")
            .await
            .unwrap();
        app.execute::<IncidentState>(
            &admin,
            &id,
            Command::AddNote {
                text: "written while the bundle was being made".into(),
            },
            &Options::default(),
            None,
        )
        .await
        .unwrap()
        .done()
        .unwrap();
        let head = app.store().stream(st.id).await.unwrap().unwrap().1;
        assert_eq!(head, exported + 2, "both landed after the export");

        let plan = app.plan_export(&admin, recorded).await.unwrap();
        let bundle = plan.write_to(Vec::new()).unwrap();
        let report = palisade_store::bundle::verify_bundle(&bundle[..], None).unwrap();
        assert!(report.ok(), "{:#?}", report.failures);
        assert_eq!(report.events, exported);
        assert_eq!(report.exported_by.as_deref(), Some("admin"));
        // The declaration's checkpoint and the export's, both signatures checked.
        assert_eq!(report.checkpoints, 2, "{report:#?}");
        assert_eq!(report.signatures_verified, 2, "{report:#?}");
    }
}
