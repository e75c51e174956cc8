//! Storage for Palisade: one store, two backends (embedded SQLite by default, PostgreSQL for
//! scale-out), the append-only ledger with its hash chain and signed checkpoints, the witness
//! log kept outside the database, the server's signing key, and ledger verification.
//!
//! The store knows nothing of HTTP. It does not decide whether a change is allowed (that is
//! `palisade-core`'s job); it makes an allowed change durable and provable.

pub mod bundle;
pub mod evidence;
pub mod keys;
mod model;
mod postgres;
mod sqlite;
pub mod verify;
pub mod witness;

pub use model::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use palisade_core::chain::{self, Checkpoint, GENESIS, Hash, LedgerSigner};
use palisade_core::{AccountRole, UserName};
use std::sync::Arc;
use uuid::Uuid;

/// Latest schema version this build knows; migrations up to it are embedded and applied at start.
pub const SCHEMA_VERSION: i64 = 3;

/// Errors from the store. Each says what to do next where a person can act.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "incident {incident} changed concurrently (expected last event {expected}, found {found}); retry the command"
    )]
    Conflict {
        incident: Uuid,
        expected: u64,
        found: u64,
    },
    #[error("codename {0:?} is already in use")]
    CodenameTaken(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(
        "the database schema is version {found}, newer than this palisade understands ({supported}); upgrade palisade before using this database"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
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

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // Show the server's message and detail, not just "db error".
        match e.as_db_error() {
            Some(db) => StoreError::Postgres(format!(
                "{}{}",
                db.message(),
                db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
            )),
            None => StoreError::Postgres(e.to_string()),
        }
    }
}
impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Postgres(format!("connection pool: {e}"))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store: one API over both backends.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Which backend this is ("sqlite" or "postgres").
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Append events to an incident's ledger, with a signed checkpoint of the new head, and update
    /// the projections, in one transaction. `expected_last_seq` is the sequence number the caller
    /// decided on (0 for a new incident); if the ledger moved on, nothing is written and
    /// [`StoreError::Conflict`] is returned. When this returns `Ok`, the events are durable and the
    /// checkpoint is in the witness log.
    pub async fn append(&self, req: AppendRequest) -> Result<Appended> {
        dispatch!(self, s => s.append(req).await)
    }
    /// Append events that do not depend on the incident's state (recorded reads) after whatever
    /// its ledger holds now, numbered by the store: concurrent readers of one incident never
    /// conflict, and on SQLite they share one commit. Only the projection's `last_seq` changes.
    pub async fn append_at_head(
        &self,
        incident: Uuid,
        actor: UserName,
        at: palisade_core::Timestamp,
        payloads: Vec<palisade_core::Payload>,
    ) -> Result<Appended> {
        dispatch!(self, s => s.append_at_head(incident, actor, at, payloads).await)
    }
    /// An incident's events after sequence number `after`, in order (for folding onto a state
    /// already known up to `after`).
    pub async fn events_after(
        &self,
        incident: Uuid,
        after: u64,
    ) -> Result<Vec<palisade_core::Event>> {
        let bodies = dispatch!(self, s => s.event_bodies_after(incident, after).await)?;
        bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                serde_json::from_str(b).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "incident {incident} event {}: {e}",
                        after + 1 + i as u64
                    ))
                })
            })
            .collect()
    }
    /// An incident's events in order.
    pub async fn events(&self, incident: Uuid) -> Result<Vec<palisade_core::Event>> {
        let rows = self.stored_events(incident).await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(&r.body).map_err(|e| {
                    StoreError::Corrupt(format!("incident {incident} event {}: {e}", r.seq))
                })
            })
            .collect()
    }
    /// An incident's ledger rows as stored (body text and hashes).
    pub async fn stored_events(&self, incident: Uuid) -> Result<Vec<StoredEvent>> {
        dispatch!(self, s => s.stored_events(incident).await)
    }
    /// An incident's signed checkpoints as stored, in order.
    pub async fn stored_checkpoints(&self, incident: Uuid) -> Result<Vec<StoredCheckpoint>> {
        dispatch!(self, s => s.stored_checkpoints(incident).await)
    }
    /// Find an incident by id or codename.
    pub async fn resolve_ref(&self, reference: &str) -> Result<Option<Uuid>> {
        if let Ok(id) = Uuid::parse_str(reference) {
            return Ok(self.summary(id).await?.map(|s| s.id));
        }
        dispatch!(self, s => s.find_by_codename(reference).await)
    }
    /// The listing row of an incident (visibility is the caller's concern).
    pub async fn summary(&self, incident: Uuid) -> Result<Option<IncidentSummary>> {
        dispatch!(self, s => s.summary(incident).await)
    }
    /// Incidents visible to `filter.viewer`, newest activity first.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<IncidentSummary>> {
        dispatch!(self, s => s.list(filter).await)
    }
    pub async fn create_user(&self, name: &UserName, role: AccountRole) -> Result<User> {
        dispatch!(self, s => s.create_user(name, role).await)
    }
    pub async fn user(&self, name: &UserName) -> Result<Option<User>> {
        dispatch!(self, s => s.user(name).await)
    }
    pub async fn user_count(&self) -> Result<u64> {
        dispatch!(self, s => s.user_count().await)
    }
    /// Store a new token (only its hash).
    pub async fn insert_token(&self, token: &NewToken) -> Result<TokenInfo> {
        dispatch!(self, s => s.insert_token(token).await)
    }
    /// The live (not revoked) token with this hash.
    pub async fn authenticate(&self, token_hash: &str) -> Result<Option<Authenticated>> {
        dispatch!(self, s => s.authenticate(token_hash).await)
    }
    /// Revoke a token; false if there is no live token with that id.
    pub async fn revoke_token(&self, id: &str, at: &str) -> Result<bool> {
        dispatch!(self, s => s.revoke_token(id, at).await)
    }
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        dispatch!(self, s => s.list_tokens().await)
    }
    /// Record the public half of a signing key, for auditors reading the database.
    pub async fn register_key(&self, key_id: &str, public_hex: &str, at: &str) -> Result<()> {
        dispatch!(self, s => s.register_key(key_id, public_hex, at).await)
    }
    /// Feed every ledger row and checkpoint to a verifier, in order.
    /// The wrapped evidence key of an incident, if one was created.
    pub async fn incident_key(&self, incident: Uuid) -> Result<Option<String>> {
        dispatch!(self, s => s.incident_key(incident).await)
    }
    /// Store an incident's wrapped evidence key unless one exists; returns the stored one (the
    /// first writer wins, so concurrent first uploads agree on one key).
    pub async fn put_incident_key(
        &self,
        incident: Uuid,
        wrapped: &str,
        at: &str,
    ) -> Result<String> {
        dispatch!(self, s => s.put_incident_key(incident, wrapped, at).await)
    }
    /// Claim up to `limit` due outbox messages for `lease_us` microseconds.
    pub async fn outbox_claim(
        &self,
        now_us: i64,
        lease_us: i64,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        dispatch!(self, s => s.outbox_claim(now_us, lease_us, limit).await)
    }
    /// Mark an outbox message delivered.
    pub async fn outbox_done(&self, id: Uuid, at: &str) -> Result<()> {
        dispatch!(self, s => s.outbox_done(id, at).await)
    }
    /// Record a failed delivery and when to try again.
    pub async fn outbox_retry(&self, id: Uuid, error: &str, next_us: i64) -> Result<()> {
        dispatch!(self, s => s.outbox_retry(id, error, next_us).await)
    }
    /// Messages not yet delivered.
    pub async fn outbox_pending(&self) -> Result<u64> {
        dispatch!(self, s => s.outbox_pending().await)
    }
    pub async fn feed_verifier(&self, v: &mut verify::Verifier) -> Result<()> {
        dispatch!(self, s => s.feed_verifier(v).await)
    }
}

/// Rows to write for one append, computed from the current head. Shared by both backends so the
/// chain is built the same way everywhere.
pub(crate) struct PreparedAppend {
    pub rows: Vec<StoredEvent>,
    pub checkpoint: Checkpoint,
    pub checkpoint_body: String,
}

pub(crate) fn prepare_append(
    signer: &LedgerSigner,
    req: &AppendRequest,
    bodies: Vec<String>,
    head: Hash,
    prev_checkpoint: Hash,
) -> Result<PreparedAppend> {
    let mut prev = head;
    let mut rows = Vec::with_capacity(req.events.len());
    for (i, (e, body)) in req.events.iter().zip(bodies).enumerate() {
        let expected = req.expected_last_seq + 1 + i as u64;
        if e.seq != expected || e.incident != req.incident {
            return Err(StoreError::Corrupt(format!(
                "append for incident {} got event {} of incident {}, expected event {expected}",
                req.incident, e.seq, e.incident
            )));
        }
        let hash = chain::event_hash(&prev, body.as_bytes());
        rows.push(StoredEvent {
            incident: e.incident,
            seq: e.seq,
            body,
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
        req.incident,
        last.seq,
        &prev,
        &prev_checkpoint,
        last.recorded_at,
    );
    if rows.len() != req.events.len() {
        return Err(StoreError::Corrupt(
            "append: one canonical body per event expected".into(),
        ));
    }
    let checkpoint_body = palisade_core::canonical::to_canonical_from(&checkpoint.body)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(PreparedAppend {
        rows,
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

/// Canonical bodies of the events of an append.
pub(crate) fn canonical_bodies(req: &AppendRequest) -> Result<Vec<String>> {
    req.events
        .iter()
        .map(|e| chain::canonical_event(e).map_err(|err| StoreError::Corrupt(err.to_string())))
        .collect()
}

/// Shared handles both backends need.
#[derive(Clone)]
pub struct LedgerContext {
    pub signer: Arc<LedgerSigner>,
    pub witness: Arc<witness::Witness>,
    /// The data directory's lock, held while any handle of the store lives.
    pub(crate) _lock: Arc<std::fs::File>,
}

/// Name of the SQLite database file in the data directory.
pub const DATABASE_FILE: &str = "palisade.db";

/// Where the store lives.
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    /// Holds the SQLite database (unless `database_url` is set), the signing key and the witness log.
    pub data_dir: std::path::PathBuf,
    /// `postgres://…` selects PostgreSQL instead of the embedded SQLite database.
    pub database_url: Option<String>,
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
        let lock_path = config.data_dir.join("palisade.lock");
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
        let (signer, key_created) = keys::load_or_create(&config.data_dir)?;
        let signer = Arc::new(signer);
        let witness = Arc::new(witness::Witness::open(
            &config.data_dir.join(witness::WITNESS_FILE),
        )?);
        let ctx = LedgerContext {
            signer: signer.clone(),
            witness,
            _lock: Arc::new(lock),
        };
        let store = match &config.database_url {
            Some(url) => Store::Postgres(PgStore::open(url, ctx).await?),
            None => Store::Sqlite(SqliteStore::open(
                &config.data_dir.join(DATABASE_FILE),
                ctx,
            )?),
        };
        let public = hex::encode(signer.verifying_key().as_bytes());
        store
            .register_key(signer.key_id(), &public, &sqlite::now_text())
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

/// Verify a ledger against a trusted public key, and against a witness log when one is given
/// (for a data directory, its own `witness.log` is used when present).
pub async fn verify(
    target: &VerifyTarget,
    key: ed25519_dalek::VerifyingKey,
    witness: Option<&std::path::Path>,
    all_signatures: bool,
) -> Result<verify::Report> {
    // Only witness entries written before the database is read must be in it: a live server may
    // append (database first, then witness) while verification runs.
    let own_witness = match target {
        VerifyTarget::DataDir(dir) => Some(dir.join(witness::WITNESS_FILE)),
        VerifyTarget::Postgres(_) => None,
    };
    let witness = witness
        .map(|p| p.to_path_buf())
        .or_else(|| own_witness.filter(|p| p.exists()));
    let witness_len = match &witness {
        Some(p) => Some(
            std::fs::metadata(p)
                .map_err(|source| StoreError::Io {
                    context: format!("reading witness log {}", p.display()),
                    source,
                })?
                .len(),
        ),
        None => None,
    };
    let witness = witness.zip(witness_len);
    let (v, scan) = match target {
        VerifyTarget::DataDir(dir) => {
            let path = dir.join(DATABASE_FILE);
            tokio::task::spawn_blocking(move || verify_sqlite(&path, key, all_signatures, witness))
                .await
                .map_err(|e| StoreError::Corrupt(format!("verify task failed: {e}")))??
        }
        VerifyTarget::Postgres(url) => {
            // The witness log is read while the database streams.
            let scan = witness.map(|(path, len)| {
                tokio::task::spawn_blocking(move || verify::WitnessScan::read(&path, len))
            });
            let mut v = verify::Verifier::new(key, all_signatures);
            let pool = postgres::connect_for_verify(url).await?;
            postgres::feed(&pool, &mut v).await?;
            let scan = match scan {
                Some(task) => Some(
                    task.await
                        .map_err(|e| StoreError::Corrupt(format!("verify task failed: {e}")))?,
                ),
                None => None,
            };
            (v, scan)
        }
    };
    tokio::task::spawn_blocking(move || v.finish_with(scan))
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
    witness: Option<(std::path::PathBuf, u64)>,
) -> Result<(verify::Verifier, Option<verify::WitnessScan>)> {
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
    let scan: Mutex<Option<verify::WitnessScan>> = Mutex::new(None);
    let spare = Mutex::new(Some(conn));
    std::thread::scope(|scope| {
        let worker = || -> Result<()> {
            let mut conn = spare.lock().unwrap_or_else(|p| p.into_inner()).take();
            loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job == 0 {
                    if let Some((p, len)) = &witness {
                        let s = verify::WitnessScan::read(p, *len);
                        *scan.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
                    }
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
    Ok((v, scan.into_inner().unwrap_or_else(|p| p.into_inner())))
}
