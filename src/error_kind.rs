//! What kind of failure an error is, said by the module that raised it. The transport maps
//! kinds to its own codes in one place (`service::status` for gRPC); this module imports
//! nothing of saoy, so every module may use it.

/// The kind of a failure, as the caller should understand it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller sent something malformed, incomplete or refused by policy.
    InvalidArgument,
    /// The caller sent more than a limit allows, or a queue is full.
    ResourceExhausted,
    /// The thing asked for does not exist.
    NotFound,
    /// The request conflicts with an earlier one (e.g. a reused client request id).
    AlreadyExists,
    /// The request does not fit the state of what it acts on: too early (a job's result
    /// before the job is done) or too late (a pending copy past its deadline).
    NotReady,
    /// A dependency (the object store) cannot be reached; retrying later may work.
    Unavailable,
    /// The caller could not be identified: no, an unknown, expired, revoked or untrusted
    /// certificate, or a forged or expired citizen assertion.
    Unauthenticated,
    /// The caller is known but the rules do not let it do this.
    PermissionDenied,
    /// A bug, a broken configuration or an impossible state: details are logged, not sent.
    Internal,
}
