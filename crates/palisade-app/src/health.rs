//! Readiness: would a write succeed now? `/healthz` asks this, so a load balancer stops sending
//! work to a server whose database is unreachable, locked, read-only or out of disk, and the
//! answer says which.

use crate::App;
use std::time::Instant;

/// Below this many free bytes, the data directory's disk is reported as nearly full.
pub const LOW_DISK_BYTES: u64 = 64 * 1024 * 1024;

/// What the readiness check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// `None` when a write succeeded; else what is wrong, in words an operator can act on.
    pub problem: Option<String>,
    /// Free bytes on the disk holding the database (SQLite only).
    pub database_disk_free: Option<u64>,
    /// Free bytes on the disk holding the evidence (file-system vault only).
    pub evidence_disk_free: Option<u64>,
    /// Things that do not stop writes yet but will (a nearly full disk).
    pub warnings: Vec<String>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.problem.is_none()
    }
}

/// The last probe and when it finished. One probe runs at a time; callers who asked while it
/// ran share its answer, so a flood of health checks costs one write at a time, and no answer
/// is older than the question.
#[derive(Default)]
pub(crate) struct ProbeCache(tokio::sync::Mutex<Option<(Instant, Readiness)>>);

impl App {
    /// Whether a write would succeed now: one durable write of the health row (shared by the
    /// callers who asked while it ran), plus the free space of the disks the server writes to.
    pub async fn readiness(&self) -> Readiness {
        let asked = Instant::now();
        let mut last = self.inner.probe.0.lock().await;
        if let Some((done, r)) = last.as_ref()
            && *done >= asked
        {
            return r.clone();
        }
        let store = &self.inner.store;
        let database_disk_free = store.disk_free_bytes();
        let evidence_disk_free = self
            .inner
            .vault
            .local_dir()
            .and_then(palisade_store::free_bytes);
        let problem = match store.probe_write(&crate::now().to_string()).await {
            Ok(()) => None,
            Err(e) => {
                tracing::error!(error = %e, "readiness probe: a write failed");
                Some(match e {
                    palisade_store::StoreError::Full(_) => {
                        "the disk holding the database is full: writes fail. Free space on it (or grow it)".to_string()
                    }
                    palisade_store::StoreError::Unavailable(why) => {
                        format!("the database does not accept writes: {why}")
                    }
                    other => format!("a write to the database failed: {other}"),
                })
            }
        };
        let mut warnings = Vec::new();
        for (what, free) in [
            ("database", database_disk_free),
            ("evidence", evidence_disk_free),
        ] {
            if let Some(free) = free.filter(|f| *f < LOW_DISK_BYTES) {
                warnings.push(format!(
                    "the disk holding the {what} has {} MiB free",
                    free / (1024 * 1024)
                ));
            }
        }
        let r = Readiness {
            problem,
            database_disk_free,
            evidence_disk_free,
            warnings,
        };
        *last = Some((Instant::now(), r.clone()));
        r
    }
}
