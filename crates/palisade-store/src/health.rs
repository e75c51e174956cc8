//! Readiness: whether a write would succeed now, and how much room the database has left.

use crate::{Result, Store, dispatch};

impl Store {
    /// Write the one row of `health_probe` (durably, as any write): succeeds only if the
    /// database answers and accepts writes (not locked, not read-only, disk not full).
    pub async fn probe_write(&self, at: &str) -> Result<()> {
        dispatch!(self, s => s.probe_write(at).await)
    }

    /// Free bytes on the file system holding the database, where it is a local file (SQLite).
    pub fn disk_free_bytes(&self) -> Option<u64> {
        match self {
            Store::Sqlite(s) => free_bytes(s.path().parent()?),
            Store::Postgres(_) => None,
        }
    }
}

/// Free bytes available to this process on the file system holding `dir`.
pub fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}
