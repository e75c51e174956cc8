//! Typed errors; every variant that concerns a file names it (and the line when known).

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the dependency scanner.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file's content is malformed; `line` is 1-based, 0 when unknown.
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// The local index could not be used.
    #[error("vulnerability index {path}: {source}")]
    Index {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The local index has a schema this build does not understand.
    #[error(
        "vulnerability index {path} has format {found}, this palisade reads format {expected}: re-run `palisade db import PATH…` to rebuild it"
    )]
    SchemaVersion {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// A download failed.
    #[error("download {url}: {message}")]
    Download { url: String, message: String },
    /// A zip archive could not be read.
    #[error("{path}: {message}")]
    Archive { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

/// 1-based line number of byte offset `offset` in `text`.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
