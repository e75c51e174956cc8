//! Errors: every one names its file, and its line and column where the format has lines.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a model or answers file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    pub file: PathBuf,
    /// 1-based line, where the format has lines (YAML, JSON).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl Error {
    /// An error about a whole file (unreadable, too large, of no known kind).
    pub fn file(file: &Path, message: impl Into<String>) -> Error {
        Error {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// An error at a position of a file.
    pub fn at(file: &Path, line: usize, column: usize, message: impl Into<String>) -> Error {
        Error {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}
