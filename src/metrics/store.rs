//! [`MeteredStore`]: an [`ObjectStore`] that counts the operations of the store it wraps,
//! their failures by kind, and the certification book's lost claims.

use std::sync::Arc;

use bytes::Bytes;

use super::{Metrics, StoreOp};
use crate::error_kind::ErrorKind;
use crate::store::{ObjectStore, StoreError};

/// Prefix of the certification book's entries (`records::keys::book_entry`). A
/// `put_if_absent` there that finds the key taken is a claim lost to another reserver:
/// the book then tries the next number, so each one is a book allocation retry.
const BOOK_PREFIX: &str = "books/";

/// Counts every operation of `inner` into [`Metrics`]; otherwise `inner` itself.
pub struct MeteredStore {
    inner: Arc<dyn ObjectStore>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    /// `inner`, counted into `metrics`.
    pub fn new(inner: Arc<dyn ObjectStore>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn count<T>(&self, op: StoreOp, result: &Result<T, StoreError>) {
        let kind = result.as_ref().err().map(|e| kind_name(e.kind()));
        self.metrics.store_op(op, kind);
    }
}

#[async_trait::async_trait]
impl ObjectStore for MeteredStore {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        let r = self.inner.put(key, data).await;
        self.count(StoreOp::Put, &r);
        r
    }

    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError> {
        let r = self.inner.put_if_absent(key, data).await;
        self.count(StoreOp::PutIfAbsent, &r);
        if matches!(r, Ok(false)) && key.starts_with(BOOK_PREFIX) {
            self.metrics.book_retry();
        }
        r
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let r = self.inner.get(key).await;
        self.count(StoreOp::Get, &r);
        r
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let r = self.inner.list(prefix).await;
        self.count(StoreOp::List, &r);
        r
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let r = self.inner.delete(key).await;
        self.count(StoreOp::Delete, &r);
        r
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// The `kind` label of a failed operation.
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::NotFound => "not_found",
        ErrorKind::InvalidArgument => "invalid_argument",
        ErrorKind::AlreadyExists => "already_exists",
        ErrorKind::ResourceExhausted => "resource_exhausted",
        _ => "internal",
    }
}
