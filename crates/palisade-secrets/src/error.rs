//! Typed errors. Every variant names the file (and line where there is one) it is about.

/// An error that stops a scan before it starts (bad rules, bad baseline, not a repository).
/// Errors met while reading one file or object during a scan are not errors of this type:
/// they become [`crate::Issue`]s and the scan goes on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rules, allowlist or gitleaks config file that cannot be used.
    #[error("{path}:{line}:{column}: {message}")]
    Config {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A git repository that could not be opened or walked.
    #[error("{path}: git: {message}")]
    Git { path: String, message: String },
    /// A baseline file that is not a palisade baseline.
    #[error("{path}: not a valid baseline: {message}")]
    Baseline { path: String, message: String },
}

impl Error {
    pub(crate) fn config_at(
        path: &str,
        src: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_col(src, offset);
        Error::Config {
            path: path.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// 1-based line and column of a byte offset in `src`.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, offset - line_start + 1)
}
