//! Files handed out with a stream (a CTF challenge's attachments), content-addressed: the
//! ledger records a file's name, size and SHA-256, the bytes are kept here once per content.
//! The store keeps and returns bytes under the digest it is given; computing it, and checking
//! the bytes read back against the ledger's digest, is the application's job.

use crate::{Result, Store, dispatch};

impl Store {
    /// Keep `content` under its SHA-256 (lowercase hex). Keeping the same content again is a
    /// no-op. Durable when this returns.
    pub async fn put_attachment(&self, sha256: &str, content: Vec<u8>) -> Result<()> {
        dispatch!(self, s => s.put_attachment(sha256, content).await)
    }

    /// The content kept under `sha256`, if any.
    pub async fn attachment(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        dispatch!(self, s => s.attachment(sha256).await)
    }
}
