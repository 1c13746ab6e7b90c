//! The one place where errors become gRPC status codes: each error says its
//! [`ErrorKind`], and this module maps kinds to codes and nothing else.

use tonic::{Code, Status};

use crate::error::{Error, ErrorKind};

/// Maps an [`Error`] to a gRPC status. Internal details are logged, not sent.
pub fn to_status(err: Error) -> Status {
    let code = code_of(err.kind());
    if code == Code::Internal {
        tracing::error!(error = %err, "internal error");
        return Status::internal("internal error; the incident was logged");
    }
    Status::new(code, err.to_string())
}

/// The gRPC code of an error kind.
pub fn code_of(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::ResourceExhausted => Code::ResourceExhausted,
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::AlreadyExists => Code::AlreadyExists,
        ErrorKind::NotReady => Code::FailedPrecondition,
        ErrorKind::Unavailable => Code::Unavailable,
        ErrorKind::Unauthenticated => Code::Unauthenticated,
        ErrorKind::PermissionDenied => Code::PermissionDenied,
        ErrorKind::Internal => Code::Internal,
    }
}
