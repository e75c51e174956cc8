//! The embedded SQLite backend.
//!
//! One writer thread owns the only write connection and commits in groups: every write waiting
//! when a transaction starts joins it (each in its own savepoint, so one failed write does not
//! undo the others), and all are acknowledged after one durable commit (`synchronous = FULL` in
//! WAL mode) and one witness flush. Reads use a small pool of read-only connections.

//!
//! Its API is split as the store's is: `ledger` (append, read, verify), then one file per
//! aggregate's projection (`incidents`, `services`) and per table group (`accounts`, `outbox`,
//! `idempotency`).

mod accounts;
mod attachments;
mod idempotency;
mod incidents;
pub(crate) mod ledger;
mod outbox;
mod records;
mod services;
mod signin;

pub use ledger::{feed_range, open_for_verify, split_points};

use crate::{LedgerContext, Result, SCHEMA_VERSION, StoreError};
use palisade_core::AccountRole;
use palisade_core::bounded::Generations;
use palisade_core::chain::Checkpoint;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;
use uuid::Uuid;

/// Pooled read connections (and reads at once).
const READERS: usize = 8;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_evidence_outbox.sql"),
    include_str!("../../migrations/sqlite/0003_list_filter_index.sql"),
    include_str!("../../migrations/sqlite/0004_streams.sql"),
    include_str!("../../migrations/sqlite/0005_health.sql"),
    include_str!("../../migrations/sqlite/0006_records.sql"),
    include_str!("../../migrations/sqlite/0007_dead_letters.sql"),
    include_str!("../../migrations/sqlite/0008_web_sign_in.sql"),
    include_str!("../../migrations/sqlite/0009_records_by_parent.sql"),
    include_str!("../../migrations/sqlite/0010_attachments.sql"),
];

type Finish = Box<dyn FnOnce(Result<()>) + Send>;
struct Outcome {
    ok: bool,
    witness: Vec<Checkpoint>,
    finish: Finish,
}
/// A queued write: run inside the group's transaction, or (`Err`) told why the transaction
/// could not start, so its caller hears the reason rather than "writer gone".
type Job =
    Box<dyn FnOnce(std::result::Result<(&Connection, &mut Heads), StoreError>) -> Outcome + Send>;

/// The writer thread's cache of each stream's head: (last seq, its hash, link hash of the
/// newest checkpoint). The writer is the only writer of the database (the data directory is
/// locked by one server), so the cache saves three reads per append; it is dropped whenever a
/// transaction fails to commit. Bounded: two generations of at most [`HEADS_KEPT`] streams
/// each ([`Generations`]), so the streams appended to recently stay and a server that has
/// written millions of streams does not hold them all.
pub(crate) struct Heads(Generations<Uuid, Head>);

impl Default for Heads {
    fn default() -> Self {
        Heads(Generations::new(HEADS_KEPT))
    }
}

type Head = (u64, palisade_core::chain::Hash, palisade_core::chain::Hash);

/// Streams per generation of [`Heads`].
const HEADS_KEPT: usize = 32_768;

impl Heads {
    pub(crate) fn get(&mut self, id: &Uuid) -> Option<Head> {
        self.0.get(id).copied()
    }
    pub(crate) fn insert(&mut self, id: Uuid, head: Head) {
        self.0.insert(id, head);
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Largest number of writes committed together.
const MAX_GROUP: usize = 512;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
    /// One per pooled reader: reads beyond the pool wait for a connection rather than open
    /// one of their own (opening and configuring a connection costs more than most reads).
    read_slots: tokio::sync::Semaphore,
    ctx: LedgerContext,
}

/// The writer's page cache in MiB: `PALISADE_SQLITE_CACHE_MIB` (1–4096), else 16.
fn writer_cache_mib() -> i64 {
    std::env::var("PALISADE_SQLITE_CACHE_MIB")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| (1..=4096).contains(n))
        .unwrap_or(16)
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

impl SqliteStore {
    /// Open (creating and migrating) the database at `path`.
    pub fn open(path: &Path, ctx: LedgerContext) -> Result<SqliteStore> {
        let mut conn = Connection::open(path)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "{}: SQLite refused WAL mode (got {mode}); is the file on a network filesystem?",
                path.display()
            )));
        }
        configure(&conn)?;
        // The writer: a page cache of `PALISADE_SQLITE_CACHE_MIB` (default 16 MiB; the
        // operating system's file cache holds the rest, and 64 MiB here was a third of the
        // server's memory after a large re-match: BENCHMARKS), savepoint journals in memory,
        // and WAL checkpoints every ~40 MiB rather than every 4 MiB.
        conn.pragma_update(None, "cache_size", -(writer_cache_mib() * 1024))?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "wal_autocheckpoint", 10000)?;
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("palisade-sqlite-writer".into())
            .spawn({
                let witness = ctx.witness.clone();
                move || writer_loop(conn, rx, witness)
            })
            .map_err(|source| StoreError::Io {
                context: "starting the SQLite writer thread".into(),
                source,
            })?;
        let inner = Inner {
            path: path.to_path_buf(),
            writer: Mutex::new(tx),
            readers: Mutex::new(Vec::new()),
            read_slots: tokio::sync::Semaphore::new(READERS),
            ctx,
        };
        Ok(SqliteStore {
            inner: Arc::new(inner),
        })
    }

    pub(crate) async fn probe_write(&self, at: &str) -> Result<()> {
        let at = at.to_string();
        self.write(false, move |c, _| {
            c.execute(
                "INSERT INTO health_probe (id, probed_at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
                [at],
            )?;
            Ok(((), None))
        })
        .await
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn reader(&self) -> Result<Connection> {
        if let Some(c) = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
        {
            return Ok(c);
        }
        let conn = Connection::open_with_flags(
            &self.inner.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        Ok(conn)
    }

    /// Run a read on a pooled connection off the async runtime.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let this = self.clone();
        let _slot = self
            .inner
            .read_slots
            .acquire()
            .await
            .map_err(|e| StoreError::Corrupt(format!("the read pool is closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let conn = this.reader()?;
            let r = f(&conn);
            let mut pool = this.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < READERS {
                pool.push(conn);
            }
            r
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("read task failed: {e}")))?
    }

    /// Queue a write; it commits with whatever else is waiting.
    async fn write<T: Send + 'static>(
        &self,
        witness: bool,
        f: impl FnOnce(&Connection, &mut Heads) -> Result<(T, Option<Checkpoint>)> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(
            move |at| match at.and_then(|(conn, heads)| f(conn, heads)) {
                Ok((value, cp)) => Outcome {
                    ok: true,
                    witness: if witness {
                        cp.into_iter().collect()
                    } else {
                        Vec::new()
                    },
                    finish: Box::new(move |commit| {
                        let _ = tx.send(commit.map(|_| value));
                    }),
                },
                Err(e) => Outcome {
                    ok: false,
                    witness: Vec::new(),
                    finish: Box::new(move |_| {
                        let _ = tx.send(Err(e));
                    }),
                },
            },
        );
        self.inner
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>, witness: Arc<crate::witness::Witness>) {
    let mut heads = Heads::default();
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Nothing is written: each waiter hears why.
            tracing::error!(error = %e, "could not start a write transaction");
            let msg = e.to_string();
            let code = e.sqlite_error_code();
            for job in jobs {
                let err = code
                    .and_then(|c| by_code(c, &msg))
                    .unwrap_or_else(|| StoreError::Unavailable(msg.clone()));
                (job(Err(err)).finish)(Ok(()));
            }
            continue;
        }
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            let _ = conn.execute_batch("SAVEPOINT job");
            let out = job(Ok((&conn, &mut heads)));
            if out.ok {
                let _ = conn.execute_batch("RELEASE job");
            } else {
                let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            }
            outcomes.push(out);
        }
        match conn.execute_batch("COMMIT") {
            Ok(()) => {
                let checkpoints: Vec<&Checkpoint> =
                    outcomes.iter().flat_map(|o| o.witness.iter()).collect();
                let flushed = witness.append(&checkpoints).map_err(|e| e.to_string());
                for o in outcomes {
                    let r = match &flushed {
                        Err(e) if !o.witness.is_empty() => Err(StoreError::Io {
                            context:
                                "the change is committed, but the witness log could not be written"
                                    .into(),
                            source: std::io::Error::other(e.clone()),
                        }),
                        _ => Ok(()),
                    };
                    (o.finish)(r);
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                heads.clear();
                let msg = e.to_string();
                let code = e.sqlite_error_code();
                for o in outcomes {
                    let err = code.and_then(|c| by_code(c, &msg)).unwrap_or_else(|| {
                        StoreError::Unavailable(format!(
                            "the commit failed, nothing was written: {msg}"
                        ))
                    });
                    (o.finish)(Err(err));
                }
            }
        }
    }
}

/// A SQLite error as a store error: a full disk, a database locked by another process or an
/// I/O failure is said as such (nothing was written; the same request may succeed later).
pub(crate) fn classify(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(code) => by_code(code, &e.to_string()).unwrap_or(StoreError::Sqlite(e)),
        None => StoreError::Sqlite(e),
    }
}

/// The store error an SQLite result code means, where it is one the caller can act on.
fn by_code(code: rusqlite::ErrorCode, text: &str) -> Option<StoreError> {
    use rusqlite::ErrorCode as C;
    Some(match code {
        C::DiskFull => StoreError::Full(text.to_string()),
        C::DatabaseBusy | C::DatabaseLocked => StoreError::Unavailable(format!(
            "the database is locked by another process ({text}); stop whatever holds it open"
        )),
        C::ReadOnly => StoreError::Unavailable(format!(
            "the database cannot be written ({text}); check the data directory's permissions and mount"
        )),
        C::SystemIoFailure | C::CannotOpen => StoreError::Unavailable(format!(
            "the database file cannot be read or written: {text}"
        )),
        _ => return None,
    })
}

pub(crate) fn check_version(conn: &Connection) -> Result<i64> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if v > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: v,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(v)
}

/// Bring the schema up to [`SCHEMA_VERSION`], in one transaction. Foreign keys are off while
/// migrating (SQLite rebuilds a table to change its keys, and checks are no-ops inside a
/// transaction anyway) and checked in full before the commit — when a migration ran: on a
/// database already current, rows were written with foreign keys on, and a full check of a
/// large database took seconds at every start.
fn migrate(conn: &mut Connection) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = (|| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current = check_version(&tx)?;
        if current == SCHEMA_VERSION {
            return Ok(());
        }
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let version = i as i64 + 1;
            if version > current {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", version)?;
            }
        }
        let violations: i64 =
            tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if violations > 0 {
            return Err(StoreError::Corrupt(format!(
                "the schema upgrade found {violations} rows whose references do not resolve; nothing was changed"
            )));
        }
        tx.commit()?;
        Ok(())
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}

pub(crate) fn bad<E: std::fmt::Display>(i: usize) -> impl FnOnce(E) -> rusqlite::Error {
    move |e| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            e.to_string().into(),
        )
    }
}

pub(crate) fn parse_role(s: &str) -> Result<AccountRole> {
    s.parse()
        .map_err(|e: palisade_core::types::ParseError| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod heads_tests {
    use super::*;

    #[test]
    fn heads_keep_the_streams_written_recently_and_stay_bounded() {
        // The eviction itself is palisade_core::bounded's (tested there); this is the writer's
        // use of it: bounded at two generations, the newest streams held, an update in place.
        let mut heads = Heads::default();
        let ids: Vec<Uuid> = (0..3 * HEADS_KEPT as u128).map(Uuid::from_u128).collect();
        let head = |n: usize| (n as u64, [n as u8; 32], [0; 32]);
        for (n, id) in ids.iter().enumerate() {
            heads.insert(*id, head(n));
            assert!(heads.0.len() <= 2 * HEADS_KEPT);
        }
        let last = ids.len() - 1;
        assert_eq!(heads.get(&ids[last]), Some(head(last)));
        assert_eq!(heads.get(&ids[0]), None);
        heads.insert(ids[last], head(7));
        assert_eq!(heads.get(&ids[last]), Some(head(7)));
        heads.clear();
        assert_eq!(heads.get(&ids[last]), None);
    }
}
