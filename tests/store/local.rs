//! The object-store conformance suite on [`LocalStore`], plus local-only checks
//! (no temp files left on disk, durability across reopen, folder/key clashes).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use saoy::store::{LocalStore, ObjectStore, StoreError, conformance};

async fn fresh() -> (tempfile::TempDir, Arc<dyn ObjectStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalStore::open(dir.path().join("store"))
        .await
        .expect("open");
    (dir, Arc::new(store))
}

/// Every file under `dir` whose name starts with `.` (temp files of the local backend).
fn hidden_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if entry.file_name().to_string_lossy().starts_with('.') {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

macro_rules! conformance_test {
    ($name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (dir, store) = fresh().await;
            conformance::$name(store, "t/")
                .await
                .expect(stringify!($name));
            assert_eq!(
                hidden_files(dir.path()),
                Vec::<String>::new(),
                "temp files left"
            );
        }
    };
}

conformance_test!(put_get_roundtrip);
conformance_test!(put_replaces);
conformance_test!(put_if_absent_never_overwrites);
conformance_test!(list_by_prefix_sorted);
conformance_test!(delete_is_idempotent);
conformance_test!(folder_name_reusable_after_delete);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn put_if_absent_race_of_20() {
    let (dir, store) = fresh().await;
    for round in 0..5 {
        conformance::put_if_absent_race(Arc::clone(&store), &format!("t/{round}/"), 20)
            .await
            .expect("race");
    }
    assert_eq!(
        hidden_files(dir.path()),
        Vec::<String>::new(),
        "temp files left"
    );
}

#[tokio::test]
async fn invalid_keys_rejected() {
    let (_dir, store) = fresh().await;
    conformance::invalid_keys_rejected(store)
        .await
        .expect("invalid keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_suite_on_one_store() {
    let (dir, store) = fresh().await;
    conformance::run_all(store, "suite/").await.expect("suite");
    assert_eq!(
        hidden_files(dir.path()),
        Vec::<String>::new(),
        "temp files left"
    );
}

#[tokio::test]
async fn objects_survive_reopen_and_stay_under_root() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("store");
    {
        let store = LocalStore::open(&root).await.expect("open");
        store
            .put("a/b.json", Bytes::from_static(b"{}"))
            .await
            .expect("put");
        assert!(store.describe().contains("store"), "{}", store.describe());
    }
    assert!(root.join("a/b.json").is_file());
    let store = LocalStore::open(&root).await.expect("reopen");
    assert_eq!(
        store.get("a/b.json").await.expect("get"),
        Some(Bytes::from_static(b"{}"))
    );
    assert_eq!(store.list("").await.expect("list"), vec!["a/b.json"]);
}

#[tokio::test]
async fn list_ignores_foreign_files() {
    let (dir, store) = fresh().await;
    store
        .put("k/1", Bytes::from_static(b"x"))
        .await
        .expect("put");
    let root = dir.path().join("store");
    std::fs::write(root.join("k/.tmp-crashed"), b"partial").expect("write");
    std::fs::write(root.join("k/with space"), b"x").expect("write");
    assert_eq!(store.list("k/").await.expect("list"), vec!["k/1"]);
}

#[tokio::test]
async fn key_used_as_folder_is_an_invalid_key() {
    let (_dir, store) = fresh().await;
    store.put("a", Bytes::from_static(b"x")).await.expect("put");
    for result in [
        store.put("a/b", Bytes::from_static(b"y")).await.err(),
        store
            .put_if_absent("a/b", Bytes::from_static(b"y"))
            .await
            .err(),
    ] {
        assert!(
            matches!(result, Some(StoreError::InvalidKey { .. })),
            "{result:?}"
        );
    }
    assert_eq!(store.get("a/b").await.expect("get"), None);
    store
        .put("c/d", Bytes::from_static(b"x"))
        .await
        .expect("put");
    let result = store.put("c", Bytes::from_static(b"y")).await;
    assert!(
        matches!(result, Err(StoreError::InvalidKey { .. })),
        "{result:?}"
    );
    assert_eq!(store.get("c").await.expect("get"), None);
}

#[tokio::test]
async fn unwritable_root_is_unavailable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    let result = LocalStore::open(&file).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable { .. })),
        "{result:?}"
    );
}
