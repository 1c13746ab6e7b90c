//! The one place where internal errors become gRPC status codes.

use tonic::{Code, Status};

use crate::digitize::DigitizeError;
use crate::error::Error;
use crate::records::RecordsError;
use crate::store::StoreError;

/// Maps an [`Error`] to a gRPC status. Internal details are logged, not sent.
pub fn to_status(err: Error) -> Status {
    let code = code_of(&err);
    if code == Code::Internal {
        tracing::error!(error = %err, "internal error");
        return Status::internal("internal error; the incident was logged");
    }
    Status::new(code, err.to_string())
}

fn code_of(err: &Error) -> Code {
    match err {
        Error::InvalidArgument(_) => Code::InvalidArgument,
        Error::TooLarge(_) => Code::ResourceExhausted,
        Error::NotFound(_) => Code::NotFound,
        Error::Conflict(_) => Code::AlreadyExists,
        Error::NotReady(_) => Code::FailedPrecondition,
        Error::Jobs(_) => Code::ResourceExhausted,
        Error::Digitize(e) if e.is_resource_limit() => Code::ResourceExhausted,
        Error::Digitize(_) => Code::InvalidArgument,
        Error::Store(e) => store_code(e),
        Error::Records(RecordsError::Store(e)) => store_code(e),
        Error::Records(e) if e.is_invalid_input() => Code::InvalidArgument,
        Error::Records(_) => Code::Internal,
        Error::Pdf(_)
        | Error::Sign(_)
        | Error::Key(_)
        | Error::Config(_)
        | Error::Trust(_)
        | Error::Internal(_) => Code::Internal,
    }
}

fn store_code(e: &StoreError) -> Code {
    match e {
        StoreError::Unavailable { .. } => Code::Unavailable,
        StoreError::NotFound { .. } => Code::NotFound,
        _ => Code::Internal,
    }
}

/// A status for a malformed request stream.
pub fn invalid(message: impl Into<String>) -> Status {
    Status::invalid_argument(message.into())
}

/// A status for a request over a size limit.
pub fn too_large(message: impl Into<String>) -> Status {
    Status::resource_exhausted(message.into())
}

#[allow(dead_code)]
fn _assert_digitize_error_is_used(_: &DigitizeError) {}
