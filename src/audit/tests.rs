//! Unit tests of the log as a whole: append, read back, verify, group commit, sealing.

use std::sync::Arc;

use super::*;
use crate::clock::FixedClock;
use crate::pki::key::Credential;
use crate::store::{LocalStore, ObjectStore};

fn clock() -> Arc<dyn crate::clock::Clock> {
    Arc::new(FixedClock(time::macros::datetime!(2026-03-01 03:00 UTC)))
}

fn sealer() -> Arc<Sealer> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-test");
    let credential = Credential::load(
        &dir.join("certifier.key.pem"),
        &dir.join("certifier-chain.pem"),
    )
    .expect("test credential");
    Arc::new(Sealer::new(credential))
}

async fn store() -> (tempfile::TempDir, Arc<dyn ObjectStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalStore::open(dir.path()).await.expect("store");
    (dir, Arc::new(store))
}

fn entry(action: &str, owner: &str) -> AuditEntry {
    AuditEntry {
        action: action.into(),
        owner_id: Some(owner.into()),
        outcome: "ok".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn appends_read_back_in_order_and_verify() {
    let (_dir, store) = store().await;
    let config = AuditConfig {
        checkpoint_every_entries: 3,
        ..Default::default()
    };
    let log = AuditLog::new(Arc::clone(&store), Some(sealer()), config, clock());
    for i in 0..7 {
        let id = log
            .append(Some("H72"), entry("GetCopy", &format!("00109900000{i}")))
            .await
            .unwrap();
        assert_eq!((id.block, id.number), (i + 1, i + 1));
    }
    let id = log.append(None, entry("VerifyCopy", "x")).await.unwrap();
    assert_eq!(id.chain, NO_AGENCY);
    let all = log
        .entries(Some("H72"), &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(all[0].1.at, "2026-03-01T10:00:00+07:00");
    let one = AuditFilter {
        owner_id: Some("001099000003".into()),
        ..Default::default()
    };
    let found = log.entries(None, &one).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0.number, 4);
    let report = verify(
        store.as_ref(),
        None,
        &[sealer().certificate("H72").unwrap()],
    )
    .await
    .unwrap();
    assert!(report.is_intact(), "{}", report.render());
    let h72 = &report.chains[0];
    assert_eq!((h72.chain.as_str(), h72.entries, h72.blocks), ("H72", 7, 7));
    assert_eq!(h72.last_checkpoint.as_ref().map(|c| c.block), Some(6));
    assert_eq!(h72.unsealed_entries, 1);
    log.seal(Some("H72")).await.unwrap();
    let report = verify(store.as_ref(), Some("H72"), &[]).await.unwrap();
    assert_eq!(report.chains[0].unsealed_entries, 0);
    assert_eq!(report.chains[0].signers_not_checked.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_grouped_into_fewer_blocks() {
    let (_dir, store) = store().await;
    let log = Arc::new(AuditLog::new(
        Arc::clone(&store),
        None,
        AuditConfig::default(),
        clock(),
    ));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                log.append(Some("A"), entry("Certify", &i.to_string()))
                    .await
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap().unwrap().number);
    }
    numbers.sort();
    assert_eq!(numbers, (1..=200).collect::<Vec<_>>());
    let report = verify(store.as_ref(), Some("A"), &[]).await.unwrap();
    assert!(report.is_intact(), "{}", report.render());
    assert!(report.chains[0].blocks < 200, "{:?}", report.chains[0]);
}

#[tokio::test]
async fn bad_input_is_refused() {
    let (_dir, store) = store().await;
    let log = AuditLog::new(store, None, AuditConfig::default(), clock());
    let err = log
        .append(Some("a/b"), entry("GetCopy", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), crate::error_kind::ErrorKind::InvalidArgument);
    let err = log.append(None, entry("", "x")).await.unwrap_err();
    assert!(matches!(err, AuditError::InvalidInput(_)));
    let mut late = entry("GetCopy", "x");
    late.at = "yesterday".into();
    assert!(log.append(None, late).await.is_err());
    let mut big = entry("GetCopy", "x");
    big.detail = Some("x".repeat(MAX_ENTRY_BYTES + 1));
    assert!(log.append(None, big).await.is_err());
}

#[tokio::test]
async fn a_foreign_block_that_does_not_link_stops_the_writer() {
    let (_dir, store) = store().await;
    let log = AuditLog::new(Arc::clone(&store), None, AuditConfig::default(), clock());
    log.append(Some("A"), entry("GetCopy", "1")).await.unwrap();
    // Someone writes block 2 that does not link to block 1.
    let forged = br#"{"format":1,"chain":"A","seq":2,"prev":"00","entries":[]}"#;
    store
        .put(&block_key("A", 2), bytes::Bytes::from_static(forged))
        .await
        .unwrap();
    let err = log
        .append(Some("A"), entry("GetCopy", "2"))
        .await
        .unwrap_err();
    assert!(matches!(err, AuditError::Fork { seq: 2, .. }), "{err}");
}

#[tokio::test]
async fn absurd_numbers_in_the_store_are_errors_not_panics() {
    let (_dir, store) = store().await;
    let huge = format!("{}", u64::MAX);
    let key = format!("audit/A/blocks/{huge:0>20}.json");
    let block = format!(
        r#"{{"format":1,"chain":"A","seq":{huge},"prev":null,"entries":[{{"n":{huge},"hash":"","entry":{{"at":"","actor":{{"fingerprint":null,"agency":null,"role":null,"citizen":null}},"action":"x","copy_id":null,"owner_id":null,"consent_id":null,"outcome":"","detail":null}}}}]}}"#
    );
    store.put(&key, bytes::Bytes::from(block)).await.unwrap();
    let log = AuditLog::new(Arc::clone(&store), None, AuditConfig::default(), clock());
    let err = log
        .append(Some("A"), entry("GetCopy", "1"))
        .await
        .unwrap_err();
    assert!(matches!(err, AuditError::Corrupt { .. }), "{err}");
    let report = verify(store.as_ref(), Some("A"), &[]).await.unwrap();
    assert!(!report.is_intact());
}

/// A block written before entries had `request_id` (its bytes as stored then) still
/// verifies, and a new entry appended after it (with a request id) chains on and verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_of_the_format_before_request_ids_still_verifies() {
    let (_dir, store) = store().await;
    let old = r#"{"at":"2026-03-01T10:00:00+07:00","actor":{"fingerprint":null,"agency":"H72","role":"clerk","citizen":null},"action":"GetCopy","copy_id":"c1","owner_id":"001099000001","consent_id":null,"outcome":"ok","detail":null}"#;
    let hash = crate::hash::sha256_hex(format!("\n{old}").as_bytes());
    let block = format!(
        r#"{{"format":1,"chain":"H72","seq":1,"prev":null,"entries":[{{"n":1,"hash":"{hash}","entry":{old}}}]}}"#
    );
    store
        .put(
            &crate::audit::block_key("H72", 1),
            bytes::Bytes::from(block),
        )
        .await
        .unwrap();
    let report = verify(store.as_ref(), Some("H72"), &[]).await.unwrap();
    assert!(report.is_intact(), "{}", report.render());
    assert_eq!(report.chains[0].entries, 1);
    let log = AuditLog::new(Arc::clone(&store), None, AuditConfig::default(), clock());
    let mut new = entry("GetCopy", "001099000002");
    new.request_id = Some("req-2".into());
    let id = log.append(Some("H72"), new).await.unwrap();
    assert_eq!((id.block, id.number), (2, 2));
    let report = verify(store.as_ref(), Some("H72"), &[]).await.unwrap();
    assert!(report.is_intact(), "{}", report.render());
    let all = log
        .entries(Some("H72"), &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(all[0].1.request_id, None);
    assert_eq!(all[1].1.request_id.as_deref(), Some("req-2"));
}
