//! Certification book numbering, void entries, commit and idempotency of [`Registry`] over a
//! [`LocalStore`], including two registries sharing one directory (two replicas).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use saoy::records::{
    EntryState, OriginalFile, Record, RecordStatus, RecordsError, Registry, Reservation,
    SignerFingerprint,
};
use saoy::store::{LocalStore, ObjectStore};

const AGENCY: &str = "H56.01";
const OWNER: &str = "001203004567";

async fn store_in(dir: &std::path::Path) -> Arc<dyn ObjectStore> {
    Arc::new(LocalStore::open(dir).await.expect("open store"))
}

async fn registry() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = Registry::new(store_in(dir.path()).await);
    (dir, registry)
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

/// A record matching `r`, `copy` and `originals`, as the app would build it.
fn record_for(
    r: &Reservation,
    id: &str,
    request: &str,
    copy: &[u8],
    originals: &[Bytes],
) -> Record {
    Record {
        schema_version: 1,
        id: id.to_string(),
        agency_code: r.agency_code.clone(),
        agency_name: "UBND phường Hạc Thành".into(),
        number: r.number,
        book: r.book.clone(),
        year: r.year,
        book_code: "SCT/BS".into(),
        reference: format!("{}, quyển số {}/{}-SCT/BS", r.number, r.book, r.year),
        owner_id: OWNER.into(),
        document_type: "Giấy khai sinh".into(),
        document_name: "Giấy khai sinh Nguyễn Văn A".into(),
        procedure_code: "2.000815".into(),
        client_request_id: request.to_string(),
        issued_at: format!("{}-01-05T14:30:{:02}+07:00", r.year, r.number % 60),
        valid_until: None,
        status: RecordStatus::Valid,
        page_count: 1,
        copy_sha256: sha256_hex(copy),
        copy_size: copy.len() as u64,
        originals: originals
            .iter()
            .enumerate()
            .map(|(i, o)| OriginalFile {
                name: format!("scan-{i}.jpg"),
                media_type: "image/jpeg".into(),
                sha256: sha256_hex(o),
                size: o.len() as u64,
            })
            .collect(),
        signers: vec![SignerFingerprint {
            subject: "CN=UBND,O=UBND,L=Thanh Hoa,C=VN".into(),
            issuer: "CN=Test CA".into(),
            serial: "01".into(),
            sha256: "00".repeat(32),
            name: "UBND".into(),
            title: String::new(),
        }],
        kind: Default::default(),
        refusal: None,
        fee_vnd: None,
    }
}

/// Reserves and commits one copy for `request`; returns its record.
async fn issue(registry: &Registry, year: i32, id: &str, request: &str) -> Record {
    let r = registry
        .reserve_number(AGENCY, year)
        .await
        .expect("reserve");
    let copy = Bytes::from(format!("%PDF-1.7 copy {id}"));
    let originals = vec![Bytes::from_static(b"jpeg 1"), Bytes::from_static(b"jpeg 2")];
    let record = record_for(&r, id, request, &copy, &originals);
    registry
        .commit(&r, &record, copy, originals)
        .await
        .expect("commit");
    record
}

#[tokio::test]
async fn numbers_start_at_one_per_agency_and_year() {
    let (_dir, registry) = registry().await;
    for expected in 1..=3 {
        let r = registry
            .reserve_number(AGENCY, 2026)
            .await
            .expect("reserve");
        assert_eq!((r.number, r.book.as_str(), r.year), (expected, "01", 2026));
    }
    assert_eq!(
        registry
            .reserve_number(AGENCY, 2027)
            .await
            .expect("reserve")
            .number,
        1
    );
    assert_eq!(
        registry
            .reserve_number("H56.02", 2026)
            .await
            .expect("reserve")
            .number,
        1
    );
    assert_eq!(
        registry
            .reserve_number(AGENCY, 2026)
            .await
            .expect("reserve")
            .number,
        4
    );
}

#[tokio::test]
async fn numbering_continues_after_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let registry = Registry::new(store_in(dir.path()).await);
        for _ in 0..3 {
            registry
                .reserve_number(AGENCY, 2026)
                .await
                .expect("reserve");
        }
    }
    let registry = Registry::new(store_in(dir.path()).await);
    assert_eq!(
        registry
            .reserve_number(AGENCY, 2026)
            .await
            .expect("reserve")
            .number,
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_reservers_across_two_registries_get_1_to_50() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Two independent stores and registries over one directory: two replicas.
    let replicas = [
        Arc::new(Registry::new(store_in(dir.path()).await)),
        Arc::new(Registry::new(store_in(dir.path()).await)),
    ];
    let mut tasks = Vec::new();
    for i in 0..50 {
        let registry = Arc::clone(&replicas[i % 2]);
        tasks.push(tokio::spawn(async move {
            registry
                .reserve_number(AGENCY, 2026)
                .await
                .map(|r| r.number)
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.expect("task").expect("reserve"));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=50).collect::<Vec<u64>>());
    let entries = replicas[0]
        .book_entries(AGENCY, 2026)
        .await
        .expect("entries");
    let listed: Vec<u64> = entries.iter().map(|e| e.number).collect();
    assert_eq!(listed, (1..=50).collect::<Vec<u64>>());
    assert!(entries.iter().all(|e| e.state == EntryState::Reserved));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_reservers_in_one_registry() {
    let (_dir, registry) = registry().await;
    let registry = Arc::new(registry);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let registry = Arc::clone(&registry);
            tokio::spawn(async move { registry.reserve_number(AGENCY, 2026).await })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for task in tasks {
        numbers.insert(task.await.expect("task").expect("reserve").number);
    }
    assert_eq!(numbers, (1..=50).collect::<BTreeSet<u64>>());
}

#[tokio::test]
async fn void_leaves_an_entry_with_the_reason() {
    let (_dir, registry) = registry().await;
    let r = registry
        .reserve_number(AGENCY, 2026)
        .await
        .expect("reserve");
    registry
        .void(AGENCY, &r, "signing failed: HSM offline")
        .await
        .expect("void");
    // Voiding again is harmless and keeps the first reason.
    registry
        .void(AGENCY, &r, "retry")
        .await
        .expect("void again");
    let next = registry
        .reserve_number(AGENCY, 2026)
        .await
        .expect("reserve");
    assert_eq!(next.number, 2, "a voided number is not reused");

    let entries = registry.book_entries(AGENCY, 2026).await.expect("entries");
    assert_eq!(entries.len(), 2);
    match &entries[0].state {
        EntryState::Void { reason, at } => {
            assert_eq!(reason, "signing failed: HSM offline");
            assert!(at.ends_with("+07:00"), "{at}");
        }
        other => panic!("expected a void entry, got {other:?}"),
    }
    assert_eq!(entries[1].state, EntryState::Reserved);

    // A voided number cannot be issued.
    let copy = Bytes::from_static(b"%PDF");
    let record = record_for(&r, "copy-void", "req-void", &copy, &[]);
    let result = registry.commit(&r, &record, copy, vec![]).await;
    assert!(
        matches!(result, Err(RecordsError::BookState { .. })),
        "{result:?}"
    );
    assert_eq!(registry.get("copy-void").await.expect("get"), None);

    let err = registry.void(AGENCY, &next, "  ").await.unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    let err = registry
        .void("H56.02", &next, "wrong book")
        .await
        .unwrap_err();
    assert!(matches!(err, RecordsError::Mismatch(_)), "{err}");
}

#[tokio::test]
async fn commit_stores_everything_and_marks_the_book() {
    let (_dir, registry) = registry().await;
    let record = issue(
        &registry,
        2026,
        "0190e1c2-0000-7000-8000-000000000001",
        "req-1",
    )
    .await;
    assert_eq!(
        registry.get(&record.id).await.expect("get"),
        Some(record.clone())
    );
    let copy = registry
        .copy_bytes(&record.id)
        .await
        .expect("copy")
        .expect("some copy");
    assert_eq!(sha256_hex(&copy), record.copy_sha256);
    assert_eq!(
        registry
            .original_bytes(&record.id, 1)
            .await
            .expect("original"),
        Some(Bytes::from_static(b"jpeg 2"))
    );
    let entries = registry.book_entries(AGENCY, 2026).await.expect("entries");
    match &entries[0].state {
        EntryState::Issued {
            record_id,
            owner_id,
            ..
        } => {
            assert_eq!(
                (record_id.as_str(), owner_id.as_str()),
                (record.id.as_str(), OWNER)
            );
        }
        other => panic!("expected an issued entry, got {other:?}"),
    }
    // An issued number cannot be voided.
    let r = Reservation {
        agency_code: AGENCY.into(),
        number: 1,
        book: "01".into(),
        year: 2026,
    };
    let result = registry.void(AGENCY, &r, "too late").await;
    assert!(
        matches!(result, Err(RecordsError::BookState { .. })),
        "{result:?}"
    );

    let second = issue(
        &registry,
        2026,
        "0190e1c2-0000-7000-8000-000000000002",
        "req-2",
    )
    .await;
    let owned: Vec<String> = registry
        .records_of_owner(OWNER)
        .await
        .expect("owner")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(owned, vec![record.id, second.id]);
}

#[tokio::test]
async fn commit_refuses_a_record_that_does_not_match() {
    let (_dir, registry) = registry().await;
    let r = registry
        .reserve_number(AGENCY, 2026)
        .await
        .expect("reserve");
    let copy = Bytes::from_static(b"%PDF real");
    let mut record = record_for(&r, "copy-x", "req-x", &copy, &[]);
    record.copy_sha256 = sha256_hex(b"something else");
    let result = registry.commit(&r, &record, copy.clone(), vec![]).await;
    assert!(
        matches!(result, Err(RecordsError::Mismatch(_))),
        "{result:?}"
    );
    let mut record = record_for(&r, "copy-x", "req-x", &copy, &[]);
    record.number += 1;
    let result = registry.commit(&r, &record, copy, vec![]).await;
    assert!(
        matches!(result, Err(RecordsError::Mismatch(_))),
        "{result:?}"
    );
    assert_eq!(registry.copy_bytes("copy-x").await.expect("copy"), None);
}

#[tokio::test]
async fn begin_request_after_commit_returns_the_first_record() {
    let (_dir, registry) = registry().await;
    let guard = registry
        .begin_request(AGENCY, "req-1")
        .await
        .expect("begin");
    assert_eq!(guard.existing, None);
    let record = issue(&registry, 2026, "copy-1", "req-1").await;
    drop(guard);
    for _ in 0..2 {
        let guard = registry
            .begin_request(AGENCY, "req-1")
            .await
            .expect("begin");
        assert_eq!(guard.existing.as_ref(), Some(&record));
    }
    // The same request id at another agency is another request.
    let other = registry
        .begin_request("H56.02", "req-1")
        .await
        .expect("begin");
    assert_eq!(other.existing, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_begin_request_waits_and_sees_the_first_record() {
    let (_dir, registry) = registry().await;
    let registry = Arc::new(registry);
    let first = registry
        .begin_request(AGENCY, "req-same")
        .await
        .expect("begin");
    assert_eq!(first.existing, None);

    let second = {
        let registry = Arc::clone(&registry);
        tokio::spawn(async move { registry.begin_request(AGENCY, "req-same").await })
    };
    // Another id is not blocked.
    let unrelated = tokio::time::timeout(
        Duration::from_secs(5),
        registry.begin_request(AGENCY, "req-other"),
    )
    .await
    .expect("other id not blocked")
    .expect("begin");
    drop(unrelated);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !second.is_finished(),
        "the second caller must wait for the first"
    );

    let record = issue(&registry, 2026, "copy-same", "req-same").await;
    drop(first);
    let second = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("second caller released")
        .expect("task")
        .expect("begin");
    assert_eq!(second.existing, Some(record));
}

#[tokio::test]
async fn bad_input_is_reported_as_invalid() {
    let (_dir, registry) = registry().await;
    for result in [
        registry.get("../records/x").await.err(),
        registry.copy_bytes("a/b").await.err(),
        registry.reserve_number("h56", 2026).await.err(),
        registry.reserve_number(AGENCY, 26).await.err(),
        registry.begin_request(AGENCY, "").await.err(),
        registry.records_of_owner("123").await.err(),
    ] {
        let err = result.expect("an error");
        assert!(err.is_invalid_input(), "{err}");
    }
    assert_eq!(registry.get("no-such-copy").await.expect("get"), None);
}

#[tokio::test]
async fn a_stale_cache_skips_numbers_taken_by_another_replica() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = Registry::new(store_in(dir.path()).await);
    let b = Registry::new(store_in(dir.path()).await);
    let mut got = Vec::new();
    for registry in [&a, &b, &b, &a, &a, &b] {
        got.push(
            registry
                .reserve_number(AGENCY, 2026)
                .await
                .expect("reserve")
                .number,
        );
    }
    assert_eq!(got, vec![1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn a_retried_commit_is_harmless() {
    let (_dir, registry) = registry().await;
    let r = registry
        .reserve_number(AGENCY, 2026)
        .await
        .expect("reserve");
    let copy = Bytes::from_static(b"%PDF retry");
    let record = record_for(&r, "copy-retry", "req-retry", &copy, &[]);
    for _ in 0..2 {
        registry
            .commit(&r, &record, copy.clone(), vec![])
            .await
            .expect("commit");
    }
    let mut other = record.clone();
    other.document_name = "another document".into();
    let result = registry.commit(&r, &other, copy, vec![]).await;
    assert!(
        matches!(result, Err(RecordsError::IdTaken(_))),
        "{result:?}"
    );
    let entries = registry.book_entries(AGENCY, 2026).await.expect("entries");
    assert_eq!(entries.len(), 1);
}

#[tokio::test]
async fn a_request_claimed_by_a_failed_attempt_keeps_its_copy_id_across_replicas() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = Registry::new(store_in(dir.path()).await);
    let second = Registry::new(store_in(dir.path()).await);
    let id = "0190e1c2-0000-7000-8000-0000000000c1";
    let other = "0190e1c2-0000-7000-8000-0000000000c2";
    // The first attempt claims the request, then dies before its record is stored.
    assert_eq!(
        first.claim_request(AGENCY, "claim-1", id).await.unwrap(),
        id
    );
    let guard = second.begin_request(AGENCY, "claim-1").await.unwrap();
    assert!(
        guard.existing.is_none(),
        "no record yet: the retry must issue"
    );
    drop(guard);
    // The retry, on another replica, gets the first attempt's copy id, not its own.
    assert_eq!(
        second
            .claim_request(AGENCY, "claim-1", other)
            .await
            .unwrap(),
        id
    );
    // Once that copy is committed, every retry returns it.
    let record = issue(&second, 2026, id, "claim-1").await;
    let guard = first.begin_request(AGENCY, "claim-1").await.unwrap();
    assert_eq!(guard.existing.as_ref(), Some(&record));
    // A different request id is free.
    assert_eq!(
        first.claim_request(AGENCY, "claim-2", other).await.unwrap(),
        other
    );
}
