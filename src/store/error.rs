//! Errors of the object store.

use std::error::Error as StdError;

use crate::error_kind::ErrorKind;

/// What can go wrong talking to an object store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or the operation failed for I/O reasons (disk,
    /// network, permissions, a lost task); retrying later may succeed.
    #[error("object store unavailable while trying to {op} {key:?}: {source}")]
    Unavailable {
        /// The operation, e.g. `put`.
        op: &'static str,
        /// The key (or prefix) involved.
        key: String,
        /// The underlying failure.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// An object that the operation requires does not exist.
    #[error("object {key:?} not found")]
    NotFound {
        /// The missing key.
        key: String,
    },
    /// The key or prefix is not acceptable (empty, `..`, absolute, bad characters, too long,
    /// or it clashes with another key used as a folder).
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An object exists but is not what the store itself wrote (e.g. not a regular file).
    #[error("object {key:?} is corrupt: {reason}")]
    Corrupt {
        /// The key of the damaged object.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store does not make create-only writes exclusive (e.g. it ignores
    /// `If-None-Match: *`), so several processes sharing it could issue one certification
    /// number twice.
    #[error(
        "{store} does not honour conditional writes: {behaviour}. saoy keeps the \
         certification book with create-only writes, so replicas sharing this store could \
         issue a number twice. Use a store that makes If-None-Match atomic (AWS S3, MinIO, \
         Cloudflare R2; not Garage 2.5, nor s3s-fs under racing writers; `scripts/test-s3 \
         ENDPOINT` checks yours), or, if this is the only saoy process using the store, set \
         store.single_replica = true"
    )]
    ConditionalWritesIgnored {
        /// The store, as [`super::ObjectStore::describe`] puts it.
        store: String,
        /// What the probe saw.
        behaviour: String,
    },
}

impl StoreError {
    /// Wraps an I/O (or other transient) failure.
    pub fn unavailable(
        op: &'static str,
        key: &str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            op,
            key: key.to_string(),
            source: source.into(),
        }
    }

    /// Builds an [`StoreError::InvalidKey`].
    pub fn invalid_key(key: &str, reason: impl Into<String>) -> Self {
        Self::InvalidKey {
            key: key.to_string(),
            reason: reason.into(),
        }
    }
}

impl StoreError {
    /// The kind of this failure: unavailable (retry later), not found, or internal.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::NotFound { .. } => ErrorKind::NotFound,
            _ => ErrorKind::Internal,
        }
    }
}
