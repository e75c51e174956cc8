//! The data directory: the one place that knows which file is where. Every command that touches
//! it (`serve`, `verify`, `db`, `scan`, `sbom`, the key commands) goes through [`DataDir`].
//!
//! ```text
//! palisade-data/
//!   palisade.toml             configuration (optional)
//!   palisade.db               the SQLite database (unless PostgreSQL is configured)
//!   palisade.lock             held by the one process using the directory
//!   ledger-signing.key        Ed25519 signing key (mode 0600), unless PALISADE_SIGNING_KEY
//!   ledger-signing.pub        its public half, 64 hex characters and a newline
//!   witness.log               this node's witness log (one signed checkpoint per line)
//!   witness-forward.cursor    how far the external-witness forwarder got
//!   evidence-master.key       the evidence master key (mode 0600), unless PALISADE_EVIDENCE_KEY
//!   evidence/                 encrypted evidence blobs (unless an S3 store is configured)
//!   spool/                    evidence staged for an export bundle while it is built: unnamed
//!                             temporary files, encrypted under a key held only in memory
//!   vulns.sqlite3             the offline vulnerability index (`palisade db`)
//!   maturity-models/          official maturity model files the server scores assessments
//!                             with (optional: a SAMM directory, DSOMM's model.yaml, …)
//! ```

use std::path::{Path, PathBuf};

/// A data directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// Where the data directory is when nothing says otherwise (relative to the working
    /// directory).
    pub const DEFAULT: &'static str = "palisade-data";

    pub const CONFIG_FILE: &'static str = "palisade.toml";
    pub const DATABASE_FILE: &'static str = "palisade.db";
    pub const LOCK_FILE: &'static str = "palisade.lock";
    pub const SIGNING_KEY_FILE: &'static str = "ledger-signing.key";
    pub const PUBLIC_KEY_FILE: &'static str = "ledger-signing.pub";
    pub const WITNESS_FILE: &'static str = "witness.log";
    pub const WITNESS_CURSOR_FILE: &'static str = "witness-forward.cursor";
    pub const EVIDENCE_KEY_FILE: &'static str = "evidence-master.key";
    pub const EVIDENCE_DIR: &'static str = "evidence";
    pub const SPOOL_DIR: &'static str = "spool";
    pub const VULNS_INDEX_FILE: &'static str = "vulns.sqlite3";
    pub const MATURITY_MODELS_DIR: &'static str = "maturity-models";

    pub fn new(path: impl Into<PathBuf>) -> DataDir {
        DataDir(path.into())
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn config_file(&self) -> PathBuf {
        self.0.join(Self::CONFIG_FILE)
    }
    pub fn database(&self) -> PathBuf {
        self.0.join(Self::DATABASE_FILE)
    }
    pub fn lock_file(&self) -> PathBuf {
        self.0.join(Self::LOCK_FILE)
    }
    pub fn signing_key(&self) -> PathBuf {
        self.0.join(Self::SIGNING_KEY_FILE)
    }
    pub fn public_key(&self) -> PathBuf {
        self.0.join(Self::PUBLIC_KEY_FILE)
    }
    pub fn witness_log(&self) -> PathBuf {
        self.0.join(Self::WITNESS_FILE)
    }
    pub fn witness_cursor(&self) -> PathBuf {
        self.0.join(Self::WITNESS_CURSOR_FILE)
    }
    pub fn evidence_key(&self) -> PathBuf {
        self.0.join(Self::EVIDENCE_KEY_FILE)
    }
    pub fn evidence_dir(&self) -> PathBuf {
        self.0.join(Self::EVIDENCE_DIR)
    }
    pub fn spool_dir(&self) -> PathBuf {
        self.0.join(Self::SPOOL_DIR)
    }
    pub fn vulns_index(&self) -> PathBuf {
        self.0.join(Self::VULNS_INDEX_FILE)
    }
    pub fn maturity_models(&self) -> PathBuf {
        self.0.join(Self::MATURITY_MODELS_DIR)
    }

    /// Whether it holds an embedded database.
    pub fn has_database(&self) -> bool {
        self.database().exists()
    }
}

impl std::fmt::Display for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.display().fmt(f)
    }
}

impl From<PathBuf> for DataDir {
    fn from(p: PathBuf) -> DataDir {
        DataDir(p)
    }
}

impl From<&Path> for DataDir {
    fn from(p: &Path) -> DataDir {
        DataDir(p.to_path_buf())
    }
}
