//! CTF event use cases beyond the generic pipeline: setting one up (its name must be free, its
//! attachments kept), listing them, and handing an attachment out. Commands (registering,
//! submitting, hints, the freeze) go through `execute`; the scoreboard is a pure function of the
//! folded event (`palisade_training::ctf`).
//!
//! Attachments: the `created` event records each file's name, size and SHA-256; the bytes are
//! kept content-addressed in the store before the event is written (a set-up refused for any
//! reason the request alone shows keeps nothing), and every download re-hashes them against
//! the ledger's record, so a changed file is never handed out.

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render, require_role};
use palisade_core::ctf::rules;
use palisade_core::{AccountRole, Actor, Refusal, StreamKind};
use palisade_store::RecordFilter;
use palisade_training::ctf::stream::{AttachmentFile, CreateCtf, CtfEventState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// An attachment's content, sent to set an event up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentUpload {
    /// The challenge's id.
    pub challenge: String,
    /// The name the challenge lists.
    pub name: String,
    pub content: Vec<u8>,
}

/// An attachment handed out: what the ledger records of it, and its content, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file: AttachmentFile,
    pub content: Vec<u8>,
}

/// An event's listing row (the records projection's JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtfSummary {
    pub id: Uuid,
    pub name: String,
    pub start: String,
    pub end: String,
    pub freeze: Option<String>,
    pub mode: palisade_training::ctf::Mode,
    pub challenges: usize,
    pub accounts: usize,
    pub updated_at: String,
}

impl Attachment {
    /// A file name to save it under: the last part of its name with anything but ASCII
    /// letters, digits and `._-` replaced, so it is safe in a `Content-Disposition` header
    /// and on any disk.
    pub fn download_name(&self) -> String {
        let last = self.file.name.rsplit('/').next().unwrap_or_default();
        crate::evidence::safe_file_name(last, "attachment")
    }
}

impl CtfSummary {
    pub(crate) fn of(st: &CtfEventState) -> CtfSummary {
        let c = &st.ctf.config;
        CtfSummary {
            id: st.id,
            name: st.name.to_string(),
            start: c.start.to_string(),
            end: c.end.to_string(),
            freeze: c.freeze.map(|f| f.to_string()),
            mode: c.mode,
            challenges: st.ctf.challenges.len(),
            accounts: st.state.accounts.len(),
            updated_at: st.updated_at.to_string(),
        }
    }
}

impl App {
    /// Set up a CTF event (admins) with the content of every attachment its challenges list
    /// (`create.files` is filled from `uploads`).
    pub async fn create_ctf(
        &self,
        actor: &Actor,
        mut create: CreateCtf,
        uploads: Vec<AttachmentUpload>,
        opts: &Options,
        render: Option<Render<'_, CtfEventState>>,
    ) -> Result<Outcome<CtfEventState>> {
        require_role(actor, AccountRole::Admin)?;
        create.files = uploads
            .iter()
            .map(|u| AttachmentFile {
                challenge: u.challenge.clone(),
                name: u.name.clone(),
                size: u.content.len() as u64,
                sha256: hex::encode(Sha256::digest(&u.content)),
            })
            .collect();
        // Nothing is kept for a set-up the request alone shows is refused.
        create.check()?;
        for (u, f) in uploads.into_iter().zip(&create.files) {
            self.inner
                .store
                .put_attachment(&f.sha256, u.content)
                .await?;
        }
        self.create::<CtfEventState>(actor, |_| Ok(create.clone()), opts, render)
            .await
            .map_err(|e| match e {
                AppError::Taken(what) => AppError::Taken(format!(
                    "{what}: another CTF event has that name; choose another"
                )),
                other => other,
            })
    }

    /// The content of `challenge`'s attachment `name` in `event`, checked against the ledger.
    /// Players download from the event's start; admins at any time.
    pub async fn ctf_attachment(
        &self,
        actor: &Actor,
        event: &str,
        challenge: &str,
        name: &str,
    ) -> Result<Attachment> {
        let st = self
            .read::<CtfEventState>(actor, event, "ctf", "api")
            .await?;
        let Some(file) = st.attachment(challenge, name).cloned() else {
            let listed = st
                .ctf
                .challenge(challenge)
                .is_some_and(|c| c.attachments.iter().any(|a| a == name));
            return Err(AppError::NotFound(if listed {
                format!(
                    "attachment {name:?} of {challenge:?} was not sent when {} was set up; ask an organiser for it",
                    st.name
                )
            } else {
                format!(
                    "no attachment {name:?} of challenge {challenge:?} in {}",
                    st.name
                )
            }));
        };
        let now = crate::now();
        if actor.account_role != AccountRole::Admin && now < st.ctf.config.start {
            return Err(Refusal::new(
                rules::CTF_NOT_OPEN,
                format!(
                    "{} starts at {}: attachments are handed out from then",
                    st.name, st.ctf.config.start
                ),
            )
            .into());
        }
        let content = self
            .inner
            .store
            .attachment(&file.sha256)
            .await?
            .ok_or_else(|| {
                AppError::internal(
                    "an attachment's content is missing from the store",
                    format!("{}/{challenge}/{name}: sha256 {}", st.name, file.sha256),
                )
            })?;
        let found = hex::encode(Sha256::digest(&content));
        if found != file.sha256 || content.len() as u64 != file.size {
            return Err(AppError::internal(
                "an attachment's stored content does not match the ledger; it was not handed out",
                format!(
                    "{}/{challenge}/{name}: the ledger records sha256 {} ({} bytes), the store holds {found} ({} bytes)",
                    st.name,
                    file.sha256,
                    file.size,
                    content.len()
                ),
            ));
        }
        Ok(Attachment { file, content })
    }

    /// Events, the latest first (every account sees every event).
    pub async fn list_ctfs(&self, limit: u32) -> Result<Vec<CtfSummary>> {
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Ctf,
                parent: None,
                status: None,
                before_us: None,
                limit,
            })
            .await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str::<CtfSummary>(&r.summary)
                    .map_err(|e| AppError::internal("a CTF event's listing row does not parse", e))
            })
            .collect()
    }
}
