//! The PostgreSQL backend, for several stateless `palisade serve` instances on one database.
//!
//! Appends are signed by their callers and committed in groups by one writer per instance
//! (`writer`): one statement per group, which moves each stream's `last_seq` only from the value
//! its append expects, under the stream's row lock, and writes the rest only for those streams.
//! So appends to one stream, from any instance, are serialized and a stale one is refused.
//! Migrations run under an advisory lock so instances starting together do not race. Its API is
//! split as the store's is: `ledger`, then one file per aggregate's projection and per table
//! group.

mod accounts;
mod attachments;
mod idempotency;
mod incidents;
mod ledger;
mod outbox;
mod records;
mod services;
mod signin;
mod writer;

pub use ledger::feed;

use crate::{LedgerContext, Result, SCHEMA_VERSION, StoreError};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_evidence_outbox.sql"),
    include_str!("../../migrations/postgres/0003_list_filter_index.sql"),
    include_str!("../../migrations/postgres/0004_streams.sql"),
    include_str!("../../migrations/postgres/0005_health.sql"),
    include_str!("../../migrations/postgres/0006_records.sql"),
    include_str!("../../migrations/postgres/0007_dead_letters.sql"),
    include_str!("../../migrations/postgres/0008_web_sign_in.sql"),
    include_str!("../../migrations/postgres/0009_records_by_parent.sql"),
    include_str!("../../migrations/postgres/0010_attachments.sql"),
];
/// Advisory lock key held while migrating ("palisade" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x7061_6c69_7361_6465;

#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: Pool,
    /// The connection settings, for connections of their own (the wake-up listener).
    pub(crate) config: tokio_postgres::Config,
    ctx: LedgerContext,
    /// Each stream's head as this instance last wrote or read it: (last seq, its hash, link
    /// hash of the newest checkpoint). Other instances may have moved a stream on; an append
    /// checks the stream's `last_seq` under its row lock, and a stale entry is a conflict that
    /// drops the entry.
    heads: std::sync::Arc<std::sync::Mutex<ledger::Heads>>,
    /// The group-commit writer every append goes through.
    writer: writer::Writer,
    /// At-head appends waiting for their stream's combiner (see `append_at_head`).
    at_head: std::sync::Arc<std::sync::Mutex<ledger::AtHeadQueues>>,
}

impl PgStore {
    pub(crate) async fn probe_write(&self, at: &str) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO health_probe (id, probed_at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
                &[&at],
            )
            .await?;
        Ok(())
    }

    /// Connect to `url` (a `postgres://` URL), migrate, and return the store.
    pub async fn open(url: &str, ctx: LedgerContext) -> Result<PgStore> {
        let config = parse_url(url)?;
        let heads: std::sync::Arc<std::sync::Mutex<ledger::Heads>> = Default::default();
        let writer = writer::Writer::start(config.clone(), heads.clone(), ctx.witness.clone())?;
        let store = PgStore {
            pool: pool(config.clone(), 16)?,
            config,
            ctx,
            heads,
            writer,
            at_head: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS palisade_schema (version BIGINT NOT NULL)")
            .await?;
        let current: i64 = tx
            .query_opt("SELECT version FROM palisade_schema", &[])
            .await?
            .map_or(0, |r| r.get(0));
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let v = i as i64 + 1;
            if v > current {
                tx.batch_execute(sql).await?;
            }
        }
        tx.execute("DELETE FROM palisade_schema", &[]).await?;
        tx.execute(
            "INSERT INTO palisade_schema (version) VALUES ($1)",
            &[&SCHEMA_VERSION.max(current)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Connect a pool for verification without migrating (verify never writes).
pub async fn connect_for_verify(url: &str) -> Result<Pool> {
    pool(parse_url(url)?, 2)
}

fn parse_url(url: &str) -> Result<tokio_postgres::Config> {
    url.parse()
        .map_err(|e| StoreError::Postgres(format!("invalid database URL: {e}")))
}

fn pool(config: tokio_postgres::Config, max_size: usize) -> Result<Pool> {
    let mgr = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(max_size)
        .build()
        .map_err(|e| StoreError::Postgres(e.to_string()))
}

/// A PostgreSQL error as a store error: the server's message and detail for refusals, and
/// "unavailable" when the server cannot be reached or refuses work for now.
pub(crate) fn classify(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let text = format!(
                "{}{}",
                db.message(),
                db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
            );
            // Class 08: connection exception; 53: insufficient resources; 57P: operator
            // intervention (shutdown, cannot connect now).
            if code == "53100" {
                StoreError::Full(text)
            } else if code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") {
                StoreError::Unavailable(text)
            } else {
                StoreError::Postgres(text)
            }
        }
        None => StoreError::Unavailable(e.to_string()),
    }
}

/// Commit `tx`: a commit whose answer never came back (the connection broke) has an unknown
/// outcome, which is said as such; a refusal by the server is classified as usual.
pub(crate) async fn commit(tx: deadpool_postgres::Transaction<'_>) -> Result<()> {
    tx.commit().await.map_err(|e| match e.as_db_error() {
        Some(_) => classify(e),
        None => StoreError::UnknownOutcome(e.to_string()),
    })
}

/// The constraint a unique violation names, if `e` is one.
pub(crate) fn unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    (db.code() == &SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or(""))
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}
