//! The data directory every command shares, and the settings built from flags, the environment
//! and `palisade.toml` (see `palisade_app::settings`).

use palisade_store::DataDir;
use std::path::PathBuf;

/// `--data-dir` / `PALISADE_DATA_DIR`, shared by every command that reads the data directory.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DataDirArg {
    /// Data directory: database, signing key, witness log, evidence, vulnerability index and
    /// palisade.toml [default: ./palisade-data]
    #[arg(long = "data-dir", env = "PALISADE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArg {
    pub fn resolve(&self) -> DataDir {
        palisade_app::settings::data_dir_or_default(self.data_dir.as_deref())
    }
}
