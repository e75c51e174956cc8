//! Workers of every server woken by any server's appends (PostgreSQL).
//!
//! An append that sets an escalation timer or queues a notification wakes this server's workers
//! directly (in `pipeline`). On PostgreSQL several servers share the work; each also announces
//! such appends to the others (`NOTIFY`, once per burst: the announcer waits on a
//! `Notify`, which coalesces) and listens for theirs (`LISTEN`, through the store), waking its
//! own workers. So a page set by one server's intake is taken at once by any server's
//! escalation worker, not at its next polling pass. Nothing runs on SQLite (one process).
//!
//! The tasks hold the application only while they act on a wake, so dropping the application
//! ends them (each re-checks at least every [`RECHECK`]).

use std::sync::{Arc, Weak};
use std::time::Duration;

use palisade_store::wake::Wake;

use crate::Inner;

/// How often an idle task checks that the application still runs.
const RECHECK: Duration = Duration::from_secs(30);

/// Start the announcers and the listener, on PostgreSQL.
pub(crate) fn start(inner: &Arc<Inner>) {
    if inner.store.backend() != "postgres" {
        return;
    }
    let node = uuid::Uuid::new_v4().to_string();
    for (wake, signal) in [
        (Wake::Timers, inner.announce_timers.clone()),
        (Wake::Outbox, inner.announce_outbox.clone()),
    ] {
        let app = Arc::downgrade(inner);
        let node = node.clone();
        tokio::spawn(announce(app, wake, signal, node));
    }
    if let Some(rx) = inner.store.listen(node) {
        tokio::spawn(listen(Arc::downgrade(inner), rx));
    }
}

async fn announce(app: Weak<Inner>, wake: Wake, signal: Arc<tokio::sync::Notify>, node: String) {
    loop {
        let woken = tokio::time::timeout(RECHECK, signal.notified())
            .await
            .is_ok();
        let Some(inner) = app.upgrade() else {
            return;
        };
        if woken && let Err(e) = inner.store.announce(wake, &node).await {
            // The others still find the work at their next pass.
            tracing::warn!(error = %e, kind = wake.as_str(), "could not announce work to the other servers");
        }
    }
}

async fn listen(app: Weak<Inner>, mut rx: tokio::sync::mpsc::Receiver<Wake>) {
    loop {
        let got = tokio::time::timeout(RECHECK, rx.recv()).await;
        let Some(inner) = app.upgrade() else {
            return;
        };
        match got {
            Ok(Some(Wake::Timers)) => inner.timer_wake.notify_one(),
            Ok(Some(Wake::Outbox)) => inner.notify_wake.notify_one(),
            Ok(None) => return,
            Err(_) => {}
        }
    }
}
