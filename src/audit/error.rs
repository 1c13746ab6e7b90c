//! Errors of the audit log.

use crate::error_kind::ErrorKind;
use crate::pki::key::KeyError;
use crate::store::StoreError;

/// What can go wrong appending to, reading or verifying the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The object store failed (see [`StoreError`] for unavailable vs. other trouble); an
    /// entry whose append fails this way may or may not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The agency code cannot name a chain.
    #[error("agency code {chain:?} cannot name an audit chain: {reason}")]
    InvalidChain {
        /// The code as given (at most 80 characters of it).
        chain: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An entry or a filter is malformed (e.g. a time that is not RFC 3339).
    #[error("{0}")]
    InvalidInput(String),
    /// A stored block or checkpoint that appending needs cannot be read (bad JSON, wrong
    /// chain or number): the log was damaged; `saoy audit verify` says where.
    #[error("audit object {key:?} is unreadable: {reason}")]
    Corrupt {
        /// Its key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The block after the last one this process knows does not link to it: someone
    /// rewrote the chain. Appending stops rather than extend a fork.
    #[error("audit chain {chain:?} forks at block {seq}: {reason}")]
    Fork {
        /// The chain.
        chain: String,
        /// The block that does not link.
        seq: u64,
        /// What does not match.
        reason: String,
    },
    /// The sealer's key does not belong to its certificate or cannot sign.
    #[error("audit sealer: {0}")]
    Sealer(#[from] KeyError),
    /// No key is configured to seal this chain (its agency is no longer served).
    #[error("audit sealer: no key seals chain {0}")]
    NoSealKey(String),
    /// Encoding an entry, block or checkpoint as JSON failed (a bug).
    #[error("cannot encode an audit object: {0}")]
    Encode(#[source] serde_json::Error),
    /// The chain's writer task is gone (its runtime shut down).
    #[error("the audit writer of chain {0:?} has stopped")]
    WriterGone(String),
    /// A failure shared by every entry of one batch (said once, copied to each waiter).
    #[error("{message}")]
    Shared {
        /// The kind of the original failure.
        kind: ErrorKind,
        /// The original failure, as text.
        message: String,
    },
}

impl AuditError {
    /// The kind of this failure: the store's own kind, invalid argument for bad input,
    /// internal otherwise (a damaged log is the operator's problem, not the caller's).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Store(e) => e.kind(),
            Self::InvalidChain { .. } | Self::InvalidInput(_) => ErrorKind::InvalidArgument,
            Self::WriterGone(_) => ErrorKind::Unavailable,
            Self::Shared { kind, .. } => *kind,
            Self::Corrupt { .. }
            | Self::Fork { .. }
            | Self::Sealer(_)
            | Self::NoSealKey(_)
            | Self::Encode(_) => ErrorKind::Internal,
        }
    }

    /// A copy for every waiter of a batch: unavailable (with the source as text), fork,
    /// corrupt and writer-gone stay what they are; anything else becomes
    /// [`AuditError::Shared`] with the same kind.
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Self::Store(StoreError::Unavailable { op, key, source }) => {
                Self::Store(StoreError::unavailable(op, key, source.to_string()))
            }
            Self::Fork { chain, seq, reason } => Self::Fork {
                chain: chain.clone(),
                seq: *seq,
                reason: reason.clone(),
            },
            Self::Corrupt { key, reason } => Self::Corrupt {
                key: key.clone(),
                reason: reason.clone(),
            },
            Self::WriterGone(chain) => Self::WriterGone(chain.clone()),
            other => Self::Shared {
                kind: other.kind(),
                message: other.to_string(),
            },
        }
    }
}
