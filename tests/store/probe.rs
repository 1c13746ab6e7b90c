//! The start-up probe: saoy refuses to keep a certification book on a store whose
//! create-only writes are not exclusive, unless told it is the only replica.
//!
//! The store that ignores `If-None-Match` here is a wrapper around a real [`LocalStore`]
//! whose `put_if_absent` overwrites and reports success, exactly what Garage 2.5 does with
//! a conditional PUT. (A real server that is refused, raw s3s-fs, is in `store_s3.rs`.)

use std::sync::Arc;

use bytes::Bytes;
use saoy::app::App;
use saoy::store::{LocalStore, ObjectStore, StoreError};

/// Ignores the condition: every create-only write overwrites and "succeeds".
struct IgnoresIfNoneMatch(LocalStore);

#[async_trait::async_trait]
impl ObjectStore for IgnoresIfNoneMatch {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        self.0.put(key, data).await
    }
    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError> {
        self.0.put(key, data).await.map(|()| true)
    }
    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        self.0.get(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.0.list(prefix).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
    fn describe(&self) -> String {
        "a store that ignores If-None-Match".into()
    }
}

async fn ignoring_store(dir: &std::path::Path) -> Arc<dyn ObjectStore> {
    Arc::new(IgnoresIfNoneMatch(
        LocalStore::open(dir).await.expect("local store"),
    ))
}

#[tokio::test]
async fn a_store_that_ignores_if_none_match_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::support::server::test_config(dir.path());
    let err = App::open_on(config, ignoring_store(dir.path()).await)
        .await
        .expect_err("refused");
    let text = err.to_string();
    for needle in [
        "a store that ignores If-None-Match",
        "does not honour conditional writes",
        "overwrote the first object",
        "store.single_replica",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in: {text}");
    }
    assert!(
        matches!(
            err,
            saoy::Error::Store(StoreError::ConditionalWritesIgnored { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn single_replica_accepts_it_and_a_good_store_passes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::server::test_config(dir.path());
    config.store.single_replica = true;
    App::open_on(config, ignoring_store(dir.path()).await)
        .await
        .expect("accepted as the only replica");

    let good = tempfile::tempdir().unwrap();
    let config = crate::support::server::test_config(good.path());
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(good.path()).await.unwrap());
    App::open_on(config, Arc::clone(&store))
        .await
        .expect("a local store honours create-only writes");
    assert!(
        store.list("").await.unwrap().is_empty(),
        "the probe left objects behind"
    );
}
