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

/// Reader threads, each with its connection (and so reads at once).
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
    /// Reads go to [`READERS`] threads of their own, each with its own connection; reads beyond
    /// them wait in this queue. (On Tokio's blocking pool, a read often found no idle thread
    /// at the moment it was handed over, and the pool grew by a thread, and its memory, for
    /// each such moment: 60 to 89 threads over ten minutes of alerts.)
    reads: mpsc::Sender<ReadJob>,
    ctx: LedgerContext,
}

/// A read, run on a reader thread with its connection (or the reason it has none).
type ReadJob = Box<dyn FnOnce(Result<&Connection>) + Send>;

/// A reader thread: one connection, opened at its first read (again after a failure), and
/// the reads the queue hands it until the store is dropped.
fn reader_loop(path: PathBuf, jobs: Arc<Mutex<mpsc::Receiver<ReadJob>>>) {
    let mut conn: Option<Connection> = None;
    loop {
        let next = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(job) = next else {
            return;
        };
        if conn.is_none() {
            match open_reader(&path) {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    job(Err(e));
                    continue;
                }
            }
        }
        let c = conn.as_ref().expect("opened above");
        // A read that panics answers nothing (its caller sees the reader fail) and takes its
        // connection with it, not the thread.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(c)))).is_err() {
            conn = None;
        }
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    Ok(conn)
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
        let (reads, jobs) = mpsc::channel::<ReadJob>();
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..READERS {
            let (path, jobs) = (path.to_path_buf(), jobs.clone());
            std::thread::Builder::new()
                .name("palisade-sqlite-reader".into())
                .spawn(move || reader_loop(path, jobs))
                .map_err(|source| StoreError::Io {
                    context: "starting an SQLite reader thread".into(),
                    source,
                })?;
        }
        let inner = Inner {
            path: path.to_path_buf(),
            writer: Mutex::new(tx),
            reads,
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

    /// Run a read on a reader thread, off the async runtime.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: ReadJob = Box::new(move |conn| {
            let _ = tx.send(conn.and_then(f));
        });
        self.inner
            .reads
            .send(job)
            .map_err(|_| StoreError::Corrupt("the SQLite reader threads have stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Corrupt("a read failed on its reader thread".into()))?
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

#[cfg(test)]
mod reader_tests {
    use super::*;
    use crate::{Store, StoreConfig};

    async fn sqlite(dir: &Path) -> SqliteStore {
        let config = StoreConfig {
            data_dir: dir.to_path_buf(),
            database_url: None,
        };
        match Store::open(&config).await.unwrap().store {
            Store::Sqlite(s) => s,
            Store::Postgres(_) => unreachable!("no database URL was given"),
        }
    }

    /// Many more reads at once than reader threads: each gets its answer, in whatever order,
    /// and the process does not grow a thread per read.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_beyond_the_reader_threads_wait_and_all_answer() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(dir.path()).await;
        let reads = (0..20 * READERS as i64).map(|n| {
            let store = store.clone();
            async move {
                store
                    .read(move |c| Ok(c.query_row("SELECT ?1 * 2", [n], |r| r.get::<_, i64>(0))?))
                    .await
            }
        });
        let answers = futures_util::future::join_all(reads).await;
        for (n, a) in answers.into_iter().enumerate() {
            assert_eq!(a.unwrap(), 2 * n as i64);
        }
        let threads = std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                    .filter(|name| name.trim() == "palisade-sqlite")
                    .count()
            })
            .unwrap_or(0);
        // "palisade-sqlite-reader" and "-writer" show as "palisade-sqlite" (15 characters).
        assert!(threads <= READERS + 1, "{threads} SQLite threads");
    }

    /// A read that panics answers with an error, and the readers go on serving.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_panics_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(dir.path()).await;
        for _ in 0..2 * READERS {
            let e = store
                .read(|_| -> Result<()> { panic!("a read gone wrong") })
                .await
                .unwrap_err();
            assert!(e.to_string().contains("reader thread"), "{e}");
        }
        let n = store
            .read(|c| Ok(c.query_row("SELECT 41 + 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .unwrap();
        assert_eq!(n, 42);
    }
}
