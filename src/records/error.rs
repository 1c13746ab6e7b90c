//! Errors of the records layer.

use crate::error_kind::ErrorKind;
use crate::store::StoreError;

/// What can go wrong with records, the book or the indexes.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The object store failed (see [`StoreError`] for unavailable vs. other trouble).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A caller-supplied value is malformed; the message says what to fix.
    #[error("{0}")]
    InvalidInput(String),
    /// The record handed to `commit` does not match its reservation or bytes (a bug in
    /// the caller, never the client's fault).
    #[error("record does not match what is being committed: {0}")]
    Mismatch(String),
    /// A stored document could not be read back (bad JSON, unknown schema version).
    #[error("stored document {key:?} is unreadable: {reason}")]
    Corrupt {
        /// Its key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The book for this year has no numbers left (the zero-padded key width).
    #[error("certification book {agency}/{year} is full")]
    BookFull {
        /// The agency.
        agency: String,
        /// The year.
        year: i32,
    },
    /// The year's book is closed: no number can be taken in it any more.
    #[error("the certification book {agency}/{year} is closed; no number can be taken in it")]
    BookClosed {
        /// The agency.
        agency: String,
        /// The year.
        year: i32,
    },
    /// The book cannot be opened or closed now (the message says why).
    #[error("certification book {agency}/{year}: {problem}")]
    BookNotReady {
        /// The agency.
        agency: String,
        /// The year.
        year: i32,
        /// What stands in the way.
        problem: String,
    },
    /// The book entry is not in a state that allows the operation (e.g. voiding an issued
    /// number, committing a voided one, or a number that was never reserved).
    #[error("certification number {number} of {agency}/{year}: {problem}")]
    BookState {
        /// The agency.
        agency: String,
        /// The year.
        year: i32,
        /// The number.
        number: u64,
        /// What is wrong.
        problem: String,
    },
    /// A different record is already stored under this id.
    #[error("a different record is already stored under id {0}")]
    IdTaken(String),
}

impl RecordsError {
    /// True when the caller sent something malformed (maps to INVALID_ARGUMENT).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::InvalidInput(_))
    }

    /// The kind of this failure: the store's kind for store trouble, invalid argument for
    /// malformed input, internal for everything else.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Store(e) => e.kind(),
            Self::InvalidInput(_) => ErrorKind::InvalidArgument,
            Self::BookClosed { .. } | Self::BookNotReady { .. } => ErrorKind::NotReady,
            _ => ErrorKind::Internal,
        }
    }
}
