//! Waking the workers of every server on one database when work is waiting.
//!
//! An append that sets an escalation timer or queues a notification wakes its own server's
//! workers in-process. Other servers on the same PostgreSQL database hear of it through
//! `NOTIFY palisade_wake` (payload `timers:<node>` or `outbox:<node>`), which each of them
//! `LISTEN`s to on a connection of its own, so a page is taken by whichever server is free at
//! once rather than at its next polling pass. SQLite is one process: nothing to announce.
//!
//! Notifications are hints, never the work itself: the work is in the database, claimed with
//! `FOR UPDATE SKIP LOCKED`; a lost notification costs at most one polling interval, and after a
//! reconnect the listener reports both kinds so nothing waits for that.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::{Result, Store};

/// The channel every server listens on.
pub const CHANNEL: &str = "palisade_wake";

/// What kind of work is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// An escalation timer was set.
    Timers,
    /// A notification was queued in the outbox.
    Outbox,
}

impl Wake {
    pub fn as_str(self) -> &'static str {
        match self {
            Wake::Timers => "timers",
            Wake::Outbox => "outbox",
        }
    }

    /// A notification's payload: the kind, and the node that sent it.
    fn parse(payload: &str) -> Option<(Wake, &str)> {
        let (kind, node) = payload.split_once(':')?;
        let wake = match kind {
            "timers" => Wake::Timers,
            "outbox" => Wake::Outbox,
            _ => return None,
        };
        Some((wake, node))
    }
}

impl Store {
    /// Tell the other servers on this database that `wake` work is waiting (`node` names this
    /// server, so it does not wake itself twice). Nothing on SQLite.
    pub async fn announce(&self, wake: Wake, node: &str) -> Result<()> {
        match self {
            Store::Sqlite(_) => Ok(()),
            Store::Postgres(pg) => {
                let client = pg.pool.get().await?;
                client
                    .execute(
                        "SELECT pg_notify($1, $2)",
                        &[&CHANNEL, &format!("{}:{node}", wake.as_str())],
                    )
                    .await?;
                Ok(())
            }
        }
    }

    /// What the other servers announce, until the receiver is dropped (`None` on SQLite). The
    /// listening connection is its own, reconnected after a failure; after each (re)connection
    /// both kinds are reported, since announcements made in between are lost.
    pub fn listen(&self, node: String) -> Option<mpsc::Receiver<Wake>> {
        let Store::Postgres(pg) = self else {
            return None;
        };
        let config = pg.config.clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(100);
            while !tx.is_closed() {
                match listen_once(&config, &node, &tx).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "the wake-up listener lost its database connection; reconnecting");
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = tx.closed() => return,
                        }
                        pause = (pause * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });
        Some(rx)
    }
}

/// One connection's life: `Ok` when the receiver went away, `Err` when the connection did.
async fn listen_once(
    config: &tokio_postgres::Config,
    node: &str,
    tx: &mpsc::Sender<Wake>,
) -> std::result::Result<(), String> {
    let (client, mut conn) = config.connect(NoTls).await.map_err(|e| e.to_string())?;
    // The connection delivers notifications as it is polled; it is polled here, and the
    // messages handed over.
    let (ntx, mut nrx) = mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if ntx.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            }
        }
    });
    let listening = client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| e.to_string());
    if let Err(e) = listening {
        driver.abort();
        return Err(e);
    }
    for w in [Wake::Timers, Wake::Outbox] {
        if tx.send(w).await.is_err() {
            driver.abort();
            return Ok(());
        }
    }
    loop {
        tokio::select! {
            payload = nrx.recv() => match payload {
                Some(p) => {
                    if let Some((w, from)) = Wake::parse(&p)
                        && from != node
                        && tx.send(w).await.is_err()
                    {
                        driver.abort();
                        return Ok(());
                    }
                }
                None => return Err("the listening connection closed".into()),
            },
            _ = tx.closed() => {
                driver.abort();
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_the_kind_and_the_node() {
        assert_eq!(Wake::parse("timers:n1"), Some((Wake::Timers, "n1")));
        assert_eq!(Wake::parse("outbox:n2"), Some((Wake::Outbox, "n2")));
        assert_eq!(Wake::parse("other:n1"), None);
        assert_eq!(Wake::parse("timers"), None);
    }
}
