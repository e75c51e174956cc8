//! The application layer's error: what went wrong with a command or a read, in terms any
//! interface can present (the HTTP API as problem details, the CLI as messages and exit codes).
//! It knows nothing of HTTP.

use palisade_core::{Refusal, RefusalKind};
use palisade_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// It does not exist, or the actor may not know it exists: the same answer either way.
    #[error("{0}")]
    NotFound(String),
    /// A process rule refused the command; nothing was written.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The account's role does not allow this (checked before anything is looked up).
    #[error("{0}")]
    Forbidden(String),
    /// The request is malformed or names something that cannot be used (an unknown user, a
    /// playbook that does not exist).
    #[error("{0}")]
    Invalid(String),
    /// The stream kept changing while the command was decided, beyond the retries: asking again
    /// will most likely work.
    #[error("{0}")]
    Conflict(String),
    /// A unique name is in use (a service name): asking again unchanged will not work.
    #[error("{0} is already taken")]
    Taken(String),
    /// An idempotency key was used before for a different request.
    #[error("{0}")]
    IdempotencyMismatch(String),
    /// Storage is unavailable for now (database unreachable, disk full); nothing was written.
    #[error("{0}")]
    Unavailable(String),
    /// The disk holding the database or the evidence is full; nothing was written.
    #[error("{0}")]
    Full(String),
    /// The commit's result is unknown (the connection broke while committing): the change may
    /// be recorded. Repeating the command with the same idempotency key is safe.
    #[error("{0}")]
    UnknownOutcome(String),
    /// Evidence failed its integrity check; the failure is recorded, nothing was released.
    #[error("E{evidence}: {detail}. The failure is recorded in the ledger; nothing was released.")]
    Integrity { evidence: u32, detail: String },
    /// Too large (evidence beyond the configured limit).
    #[error("{0}")]
    TooLarge(String),
    /// The credentials (a password, a sign-in token, a link) are wrong, unknown, used or
    /// expired; the text does not say which.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed attempts in a short time: try again after `retry_after_secs`.
    #[error("{detail}")]
    TooManyAttempts {
        detail: String,
        retry_after_secs: u64,
    },
    /// Something that should not happen. The details went to the log; this text is safe to show.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// An internal error: the details are logged, the answer says where to look.
    pub fn internal(context: &str, detail: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %detail, "{context}");
        AppError::Internal(format!(
            "the server could not complete the request ({context}); the server log has details"
        ))
    }

    /// The refusal kind, when a rule refused.
    pub fn refusal_kind(&self) -> Option<RefusalKind> {
        match self {
            AppError::Refused(r) => Some(r.kind()),
            _ => None,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Conflict { .. } => AppError::Conflict(format!("{e}")),
            StoreError::Taken(what) => AppError::Taken(what),
            StoreError::NotFound(what) => AppError::NotFound(format!("{what} not found")),
            StoreError::AlreadyExists(what) => AppError::Taken(what),
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "storage unavailable");
                AppError::Unavailable(
                    "the database is unavailable; nothing was written. Try again shortly; the server log has details"
                        .into(),
                )
            }
            StoreError::Full(why) => {
                tracing::error!(error = %why, "storage full");
                AppError::Full(
                    "the disk holding the database is full; nothing was written. Free space on it (or grow it), then try again"
                        .into(),
                )
            }
            StoreError::Io { ref source, .. }
                if source.kind() == std::io::ErrorKind::StorageFull =>
            {
                tracing::error!(error = %e, "storage full");
                AppError::Full(
                    "the disk holding the data directory is full; nothing was recorded. Free space on it (or grow it), then try again"
                        .into(),
                )
            }
            StoreError::UnknownOutcome(why) => {
                tracing::warn!(error = %why, "commit outcome unknown");
                AppError::UnknownOutcome(
                    "the connection to the database broke while the change was being committed: it may or may not be recorded. Repeat the request with the same Idempotency-Key to find out safely"
                        .into(),
                )
            }
            StoreError::IdempotencyKeyUsed(k) => {
                AppError::IdempotencyMismatch(format!("idempotency key {k:?} was already used"))
            }
            StoreError::Io { ref context, .. } if context.contains("witness") => {
                AppError::internal("the change is committed but its witness entry failed", e)
            }
            other => AppError::internal("storage error", other),
        }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
