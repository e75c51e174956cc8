//! The witness: every signed checkpoint is also appended to a log outside the database
//! (`witness.log` in the data directory, one JSON checkpoint per line). The database alone cannot
//! prove that its newest events were not deleted together with their checkpoints; the witness can,
//! because `palisade verify` requires every checkpoint it holds to be present in the database.

use crate::{Result, StoreError};
use palisade_core::chain::Checkpoint;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

/// An append-only witness log (or none, when disabled).
///
/// Concurrent appends are flushed in groups: the first caller to find no flush in progress writes
/// and syncs everything pending, the others wait for the flush that covers their lines. So many
/// concurrent appends (PostgreSQL) cost one fsync per group, not one each.
pub struct Witness {
    path: Option<PathBuf>,
    state: Mutex<State>,
    flushed: Condvar,
}

struct State {
    file: Option<File>,
    pending: String,
    /// Tickets handed out, and written and synced.
    issued: u64,
    durable: u64,
    flushing: bool,
    /// Failed flushes: tickets in `(from, to]` get the error. The newest few are kept.
    errors: Vec<(u64, u64, String)>,
}

impl Witness {
    /// Open (creating) the witness log at `path`.
    pub fn open(path: &Path) -> Result<Witness> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| StoreError::Io {
                context: format!("opening witness log {}", path.display()),
                source,
            })?;
        Ok(Witness::with(Some(path.to_path_buf()), Some(file)))
    }

    /// No witness (for tests of the database alone).
    pub fn disabled() -> Witness {
        Witness::with(None, None)
    }

    fn with(path: Option<PathBuf>, file: Option<File>) -> Witness {
        Witness {
            path,
            state: Mutex::new(State {
                file,
                pending: String::new(),
                issued: 0,
                durable: 0,
                flushing: false,
                errors: Vec::new(),
            }),
            flushed: Condvar::new(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Append checkpoints and return once they are flushed to disk.
    pub fn append(&self, checkpoints: &[&Checkpoint]) -> Result<()> {
        if checkpoints.is_empty() {
            return Ok(());
        }
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.file.is_none() && !st.flushing {
            return Ok(());
        }
        for cp in checkpoints {
            st.pending
                .push_str(&serde_json::to_string(cp).expect("checkpoints serialize"));
            st.pending.push('\n');
        }
        st.issued += 1;
        let ticket = st.issued;
        loop {
            if st.durable >= ticket {
                return match st
                    .errors
                    .iter()
                    .find(|(from, to, _)| ticket > *from && ticket <= *to)
                {
                    Some((_, _, msg)) => Err(StoreError::Io {
                        context: format!(
                            "appending to witness log {}",
                            self.path.as_deref().unwrap_or(Path::new("?")).display()
                        ),
                        source: std::io::Error::other(msg.clone()),
                    }),
                    None => Ok(()),
                };
            }
            if st.flushing {
                st = self.flushed.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Lead a flush of everything pending, without holding the lock while writing.
            st.flushing = true;
            let buf = std::mem::take(&mut st.pending);
            let target = st.issued;
            let from = st.durable;
            let mut file = st.file.take();
            drop(st);
            let result = match file.as_mut() {
                Some(f) => f.write_all(buf.as_bytes()).and_then(|_| f.sync_data()),
                None => Ok(()),
            };
            st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.file = file;
            st.flushing = false;
            if let Err(e) = result {
                st.errors.push((from, target, e.to_string()));
                if st.errors.len() > 16 {
                    st.errors.remove(0);
                }
            }
            st.durable = target;
            self.flushed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::Timestamp;
    use palisade_core::chain::{GENESIS, LedgerSigner};
    use std::sync::Arc;

    #[test]
    fn concurrent_appends_are_all_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("witness.log");
        let w = Arc::new(Witness::open(&path).unwrap());
        let signer = Arc::new(LedgerSigner::from_secret([3u8; 32]));
        let at = Timestamp::parse("2026-11-26T00:00:00Z").unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (w, signer) = (w.clone(), signer.clone());
                std::thread::spawn(move || {
                    for seq in 1..=50u64 {
                        let cp = signer.sign(
                            palisade_core::StreamId::incident(uuid::Uuid::from_u128(t)),
                            seq,
                            &[1; 32],
                            &GENESIS,
                            at,
                        );
                        w.append(&[&cp]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        for l in lines {
            let cp: Checkpoint = serde_json::from_str(l).unwrap();
            assert!(palisade_core::chain::verify_checkpoint(
                &signer.verifying_key(),
                &cp
            ));
        }
    }
}
