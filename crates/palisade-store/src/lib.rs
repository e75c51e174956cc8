//! Storage for Palisade: one store, two backends (embedded SQLite by default, PostgreSQL for
//! scale-out), the append-only ledger of every stream with its hash chain and signed
//! checkpoints, the witness log kept outside the database, the server's signing key, and ledger
//! verification.
//!
//! The store knows nothing of HTTP, and nothing of what events mean: it takes canonical event
//! bodies and makes them durable and provable, with the projection rows an aggregate lists by.
//! Its API is split by aggregate (`ledger`, `incidents`, `services`, `accounts`, `outbox`,
//! `idempotency`), each file dispatching to the same file of each backend.

pub mod bundle;
pub mod datadir;
pub mod evidence;
pub mod keys;
pub mod verify;
pub mod wake;
pub mod witness;

mod accounts;
mod attachments;
mod health;
pub use accounts::Revoked;
pub use health::free_bytes;
mod idempotency;
mod incidents;
mod ledger;
pub use ledger::HeadEvents;
mod model;
mod outbox;
mod postgres;
mod records;
mod services;
pub mod signin;
mod sqlite;

pub use datadir::DataDir;
pub use model::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use palisade_core::chain::{self, Checkpoint, GENESIS, Hash, LedgerSigner};
use std::sync::Arc;
use uuid::Uuid;

/// Latest schema version this build knows; migrations up to it are embedded and applied at start.
pub const SCHEMA_VERSION: i64 = 10;

/// Errors from the store. Each says what to do next where a person can act.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "stream {stream} changed concurrently (expected last event {expected}, found {found}); retry the command"
    )]
    Conflict {
        stream: Uuid,
        expected: u64,
        found: u64,
    },
    /// A unique name (an incident's codename, a service's name) is already used.
    #[error("{0} is already taken")]
    Taken(String),
    /// This idempotency key was already used by this account; its answer is stored.
    #[error("idempotency key {0:?} was already used")]
    IdempotencyKeyUsed(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(
        "the database schema is version {found}, newer than this palisade understands ({supported}); upgrade palisade before using this database"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    /// The database cannot be reached or refuses work for now (connection refused or lost, disk
    /// full): nothing was written, and the same request may succeed later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The commit was sent but its result never came back (the connection broke): the change
    /// may or may not be recorded.
    #[error("the outcome of the commit is unknown: {0}")]
    UnknownOutcome(String),
    /// The disk holding the database is full: nothing was written.
    #[error("the disk holding the database is full: {0}")]
    Full(String),
    #[error("SQLite: {0}")]
    Sqlite(rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("the storage writer has stopped; restart palisade")]
    WriterGone,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        sqlite::classify(e)
    }
}
impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        postgres::classify(e)
    }
}
impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Unavailable(format!("connection pool: {e}"))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store: one API over both backends.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Call the same method on whichever backend this is.
macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}
pub(crate) use dispatch;

impl Store {
    /// Which backend this is ("sqlite" or "postgres").
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }
}

/// Rows to write for one append, computed from the current head. Shared by both backends so the
/// chain is built the same way everywhere.
pub(crate) struct PreparedAppend {
    pub rows: Vec<StoredEvent>,
    /// The chain hash of the last event (the stream's new head).
    pub head: Hash,
    pub checkpoint: Checkpoint,
    pub checkpoint_body: String,
}

pub(crate) fn prepare_append(
    signer: &LedgerSigner,
    req: &AppendRequest,
    head: Hash,
    prev_checkpoint: Hash,
) -> Result<PreparedAppend> {
    let mut prev = head;
    let mut rows = Vec::with_capacity(req.events.len());
    for (i, e) in req.events.iter().enumerate() {
        let expected = req.expected_last_seq + 1 + i as u64;
        if e.seq != expected {
            return Err(StoreError::Corrupt(format!(
                "append to stream {} got event {}, expected event {expected}",
                req.stream, e.seq
            )));
        }
        let hash = chain::event_hash(&prev, e.body.as_bytes());
        rows.push(StoredEvent {
            stream: req.stream.id,
            seq: e.seq,
            body: e.body.clone(),
            prev_hash: hex::encode(prev),
            hash: hex::encode(hash),
            recorded_at_us: e.recorded_at.unix_micros(),
        });
        prev = hash;
    }
    let last = req
        .events
        .last()
        .ok_or_else(|| StoreError::Corrupt("append with no events".into()))?;
    let checkpoint = signer.sign(
        req.stream,
        last.seq,
        &prev,
        &prev_checkpoint,
        last.recorded_at,
    );
    let checkpoint_body = palisade_core::canonical::to_canonical_from(&checkpoint.body)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(PreparedAppend {
        rows,
        head: prev,
        checkpoint,
        checkpoint_body,
    })
}

pub(crate) fn parse_hash_col(s: &str, what: &str) -> Result<Hash> {
    chain::parse_hash(s)
        .ok_or_else(|| StoreError::Corrupt(format!("{what} is not a hex SHA-256: {s:?}")))
}

pub(crate) fn genesis() -> Hash {
    GENESIS
}

/// The server clock as stored in text columns (RFC 3339, UTC, microseconds).
pub(crate) fn now_text() -> String {
    palisade_core::Timestamp::from_datetime(time::OffsetDateTime::now_utc()).to_string()
}

/// Shared handles both backends need.
#[derive(Clone)]
pub struct LedgerContext {
    pub signer: Arc<LedgerSigner>,
    pub witness: Arc<witness::Witness>,
    /// The data directory's lock, held while any handle of the store lives.
    pub(crate) _lock: Arc<std::fs::File>,
}

/// Where the store lives.
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    /// Holds the SQLite database (unless `database_url` is set), the signing key and the witness log.
    pub data_dir: std::path::PathBuf,
    /// `postgres://…` selects PostgreSQL instead of the embedded SQLite database.
    pub database_url: Option<String>,
}

impl StoreConfig {
    /// The data directory, which knows its file layout.
    pub fn dir(&self) -> DataDir {
        DataDir::new(&self.data_dir)
    }
}

/// What opening found.
pub struct Opened {
    pub store: Store,
    pub signer: Arc<LedgerSigner>,
    /// True when this start created the signing key (a new data directory).
    pub key_created: bool,
}

impl Store {
    /// Open the configured store: create the data directory and signing key on first start,
    /// open the witness log, connect and migrate the database.
    pub async fn open(config: &StoreConfig) -> Result<Opened> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StoreError::Io {
            context: format!("creating data directory {}", config.data_dir.display()),
            source,
        })?;
        // One process per data directory: the SQLite writer caches chain heads and owns the
        // witness log. The lock is released when the last handle of the store is dropped.
        let dir = config.dir();
        let lock_path = dir.lock_file();
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| StoreError::Io {
                context: format!("opening {}", lock_path.display()),
                source,
            })?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Io {
                context: format!(
                    "another palisade process is using the data directory {}; stop it or choose another --data-dir",
                    config.data_dir.display()
                ),
                source: std::io::Error::from(std::io::ErrorKind::WouldBlock),
            });
        }
        let (signer, key_created) = keys::load_or_create(&dir)?;
        let signer = Arc::new(signer);
        let witness = Arc::new(witness::Witness::open(&dir.witness_log())?);
        let ctx = LedgerContext {
            signer: signer.clone(),
            witness,
            _lock: Arc::new(lock),
        };
        let store = match &config.database_url {
            Some(url) => Store::Postgres(PgStore::open(url, ctx).await?),
            None => Store::Sqlite(SqliteStore::open(&dir.database(), ctx)?),
        };
        let public = hex::encode(signer.verifying_key().as_bytes());
        store
            .register_key(signer.key_id(), &public, &now_text())
            .await?;
        Ok(Opened {
            store,
            signer,
            key_created,
        })
    }
}

/// What `palisade verify` checks.
#[derive(Debug, Clone)]
pub enum VerifyTarget {
    /// A data directory: its SQLite database, and its witness log unless another is given.
    DataDir(std::path::PathBuf),
    /// A PostgreSQL database.
    Postgres(String),
}

/// How to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Witness logs to compare with (every node's, and the external witness's copy): every
    /// line of each must be in the database. A data directory's own `witness.log` is added.
    pub witnesses: Vec<std::path::PathBuf>,
    /// Accept verifying without any witness log (the database alone cannot rule out that its
    /// newest events were removed). Without this, no witness log is a failure.
    pub no_witness: bool,
    /// Check every checkpoint signature, not only the newest of each stream.
    pub all_signatures: bool,
}

/// What a verification without any witness log cannot rule out.
pub const NO_WITNESS: &str = "no witness log was compared: the database alone cannot show that its newest events were not removed together with their checkpoints (truncation); give each node's witness log with --witness, or --no-witness to verify the database alone";

/// Verify a ledger against a trusted public key and witness logs (see [`VerifyOptions`]).
pub async fn verify(
    target: &VerifyTarget,
    key: ed25519_dalek::VerifyingKey,
    opts: &VerifyOptions,
) -> Result<verify::Report> {
    let all_signatures = opts.all_signatures;
    let mut paths = opts.witnesses.clone();
    if let VerifyTarget::DataDir(dir) = target {
        let own = DataDir::new(dir).witness_log();
        if own.exists() && !paths.contains(&own) {
            paths.insert(0, own);
        }
    }
    // Only witness entries written before the database is read must be in it: a live server may
    // append (database first, then witness) while verification runs.
    let mut witnesses = Vec::with_capacity(paths.len());
    for p in paths {
        let len = std::fs::metadata(&p)
            .map_err(|source| StoreError::Io {
                context: format!("reading witness log {}", p.display()),
                source,
            })?
            .len();
        witnesses.push((p, len));
    }
    let none = witnesses.is_empty();
    let (v, scans) = match target {
        VerifyTarget::DataDir(dir) => {
            let path = DataDir::new(dir).database();
            tokio::task::spawn_blocking(move || {
                verify_sqlite(&path, key, all_signatures, witnesses)
            })
            .await
            .map_err(|e| StoreError::Corrupt(format!("verify task failed: {e}")))??
        }
        VerifyTarget::Postgres(url) => {
            // The witness logs are read while the database streams.
            let scans = tokio::task::spawn_blocking(move || {
                witnesses
                    .iter()
                    .map(|(path, len)| verify::WitnessScan::read(path, *len))
                    .collect::<Vec<_>>()
            });
            let mut v = verify::Verifier::new(key, all_signatures);
            let pool = postgres::connect_for_verify(url).await?;
            postgres::feed(&pool, &mut v).await?;
            let scans = scans
                .await
                .map_err(|e| StoreError::Corrupt(format!("verify task failed: {e}")))?;
            (v, scans)
        }
    };
    let no_witness = opts.no_witness;
    tokio::task::spawn_blocking(move || {
        let mut report = v.finish_with(scans);
        if none && !no_witness {
            report
                .failures
                .push(verify::Failure::new(None, None, NO_WITNESS.into()));
        }
        report
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("verify task failed: {e}")))
}

/// Verify a SQLite ledger on every core: the incidents are cut into ranges of about equal size
/// (several per thread, so a thread that gets less CPU holds up the others by one small range at
/// most), each range is read in its own read transaction by whichever thread is free and verified
/// by its own [`verify::Verifier`], and the verifiers are merged in range order (so failures stay
/// in ledger order). The witness log is read as the first job, alongside the database.
fn verify_sqlite(
    path: &std::path::Path,
    key: ed25519_dalek::VerifyingKey,
    all_signatures: bool,
    witnesses: Vec<(std::path::PathBuf, u64)>,
) -> Result<(verify::Verifier, Vec<verify::WitnessScan>)> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(16));
    let conn = sqlite::open_for_verify(path)?;
    let chunks = if threads == 1 { 1 } else { threads * 8 };
    let bounds = sqlite::split_points(&conn, chunks);
    let ranges: Vec<(Option<&str>, Option<&str>)> = (0..=bounds.len())
        .map(|i| {
            let from = i.checked_sub(1).map(|j| bounds[j].as_str());
            (from, bounds.get(i).map(String::as_str))
        })
        .collect();
    // Job 0 reads the witness log; job i > 0 verifies range i − 1.
    let next = AtomicUsize::new(0);
    let done: Vec<Mutex<Option<verify::Verifier>>> =
        ranges.iter().map(|_| Mutex::new(None)).collect();
    let scans: Mutex<Vec<verify::WitnessScan>> = Mutex::new(Vec::new());
    let spare = Mutex::new(Some(conn));
    std::thread::scope(|scope| {
        let worker = || -> Result<()> {
            let mut conn = spare.lock().unwrap_or_else(|p| p.into_inner()).take();
            loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job == 0 {
                    let read: Vec<verify::WitnessScan> = witnesses
                        .iter()
                        .map(|(p, len)| verify::WitnessScan::read(p, *len))
                        .collect();
                    *scans.lock().unwrap_or_else(|p| p.into_inner()) = read;
                    continue;
                }
                let Some((from, to)) = ranges.get(job - 1) else {
                    return Ok(());
                };
                let c = match &conn {
                    Some(c) => c,
                    None => conn.insert(sqlite::open_for_verify(path)?),
                };
                let mut v = verify::Verifier::new(key, all_signatures);
                sqlite::feed_range(c, &mut v, *from, *to)?;
                *done[job - 1].lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
            }
        };
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
        for h in handles {
            h.join()
                .map_err(|_| StoreError::Corrupt("a verify thread panicked".into()))??;
        }
        Ok::<_, StoreError>(())
    })?;
    let mut merged: Option<verify::Verifier> = None;
    for slot in done {
        let v = slot
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .ok_or_else(|| StoreError::Corrupt("a verify range was not read".into()))?;
        match &mut merged {
            None => merged = Some(v),
            Some(m) => m.merge(v),
        }
    }
    let v = merged.unwrap_or_else(|| verify::Verifier::new(key, all_signatures));
    Ok((v, scans.into_inner().unwrap_or_else(|p| p.into_inner())))
}
