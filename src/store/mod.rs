//! Object storage behind one small trait, shaped after S3 semantics.
//!
//! Keys are flat strings such as `records/0190ab.json`; `/` has no meaning to the store
//! except that [`ObjectStore::list`] filters by prefix. Every write is atomic: a reader sees
//! either the old object or the new one, never a part. [`ObjectStore::put_if_absent`] is the
//! only coordination primitive (S3: `If-None-Match: *`); numbering and idempotency in
//! `records` are built on it, so it must be exclusive also across processes.
//!
//! Backends: [`LocalStore`] (a directory; the default) and [`S3Store`] (an S3-compatible
//! bucket). Both pass the same [`conformance`] checks; [`open`] picks one from a
//! [`Location`], and [`probe_conditional_writes`] checks that create-only writes are
//! really exclusive on the store at hand.

pub mod conformance;
mod error;
mod key;
mod local;
mod location;
mod probe;
mod s3;

pub use error::StoreError;
pub use key::{validate_key, validate_prefix};
pub use local::LocalStore;
pub use location::{Location, open};
pub use probe::{ConditionalWrites, probe_conditional_writes};
pub use s3::{MULTIPART_THRESHOLD, S3Credentials, S3Location, S3Options, S3Store};

use bytes::Bytes;

/// A flat key → bytes store with atomic writes and create-only puts.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores `data` under `key`, atomically replacing any earlier object.
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError>;

    /// Stores `data` under `key` only if no object exists there; returns `false` (and
    /// leaves the existing object untouched) when the key was taken. Exclusive across
    /// processes sharing the store.
    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError>;

    /// Reads an object; `None` when the key does not exist.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError>;

    /// All keys starting with `prefix` (which may end inside a path segment), sorted
    /// bytewise ascending.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Removes an object; removing a missing key is not an error (as on S3).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// A short human description for logs, e.g. `local directory /var/lib/saoy`.
    fn describe(&self) -> String;
}
