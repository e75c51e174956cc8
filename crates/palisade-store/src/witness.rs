//! The witness: every signed checkpoint is also appended to a log outside the database
//! (`witness.log` in the data directory, one JSON checkpoint per line). The database alone cannot
//! prove that its newest events were not deleted together with their checkpoints; the witness can,
//! because `palisade verify` requires every checkpoint it holds to be present in the database.

use crate::{Result, StoreError};
use palisade_core::chain::Checkpoint;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const WITNESS_FILE: &str = "witness.log";

/// An append-only witness log (or none, when disabled).
pub struct Witness {
    path: Option<PathBuf>,
    file: Mutex<Option<File>>,
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
        Ok(Witness {
            path: Some(path.to_path_buf()),
            file: Mutex::new(Some(file)),
        })
    }

    /// No witness (for tests of the database alone).
    pub fn disabled() -> Witness {
        Witness {
            path: None,
            file: Mutex::new(None),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Append checkpoints and flush them to disk before returning.
    pub fn append(&self, checkpoints: &[&Checkpoint]) -> Result<()> {
        if checkpoints.is_empty() {
            return Ok(());
        }
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let Some(file) = guard.as_mut() else {
            return Ok(());
        };
        let mut buf = String::new();
        for cp in checkpoints {
            buf.push_str(&serde_json::to_string(cp).expect("checkpoints serialize"));
            buf.push('\n');
        }
        file.write_all(buf.as_bytes())
            .and_then(|_| file.sync_data())
            .map_err(|source| StoreError::Io {
                context: format!(
                    "appending to witness log {}",
                    self.path.as_deref().unwrap_or(Path::new("?")).display()
                ),
                source,
            })
    }
}
