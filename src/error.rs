//! The crate-wide error type. Module errors convert into it; `service::status` maps it to
//! gRPC status codes in one place.

use crate::config::ConfigError;
use crate::digitize::DigitizeError;
pub use crate::error_kind::ErrorKind;
use crate::pdf::PdfError;
use crate::pki::key::KeyError;
use crate::records::RecordsError;
use crate::sign::SignError;
use crate::store::StoreError;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong serving a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something malformed or incomplete; the message says what to fix.
    #[error("{0}")]
    InvalidArgument(String),
    /// The caller sent more than a limit allows; the message names the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The requested copy or record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with an earlier one (e.g. a reused client request id).
    #[error("{0}")]
    Conflict(String),
    /// The request comes too early (e.g. a job's result before the job is done).
    #[error("{0}")]
    NotReady(String),
    /// The request does not fit the state of what it acts on (a pending copy voided or
    /// past its deadline); the message says what to do instead.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller could not be identified; the message says what to present.
    #[error("{0}")]
    Unauthenticated(String),
    /// The rules do not let this caller do this; the message names the rule.
    #[error("{0}")]
    PermissionDenied(String),
    /// The uploaded originals were refused.
    #[error(transparent)]
    Digitize(#[from] DigitizeError),
    /// Building the copy PDF failed.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A signing key could not be loaded or used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The object store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Records, book or index trouble.
    #[error(transparent)]
    Records(#[from] RecordsError),
    /// Configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Trust anchors or CRLs could not be loaded.
    #[error(transparent)]
    Trust(#[from] crate::pki::trust::TrustError),
    /// The audit log could not be written or read.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// A bug or an impossible state; details are logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The kind of this error, as the module that raised it says; the transport maps kinds
    /// to its codes (`service::status`).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::TooLarge(_) => ErrorKind::ResourceExhausted,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::AlreadyExists,
            Error::NotReady(_) | Error::FailedPrecondition(_) => ErrorKind::NotReady,
            Error::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::Digitize(e) => e.kind(),
            Error::Store(e) => e.kind(),
            Error::Records(e) => e.kind(),
            Error::Pdf(e) => e.kind(),
            Error::Sign(e) => e.kind(),
            Error::Key(e) => e.kind(),
            Error::Config(e) => e.kind(),
            Error::Trust(e) => e.kind(),
            Error::Audit(e) => e.kind(),
            Error::Internal(_) => ErrorKind::Internal,
        }
    }
}
