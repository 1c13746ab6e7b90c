//! The audit log (issue 10) on real stores: tampering of every kind is found and named,
//! two replicas appending at once leave one unbroken chain, group commit batches, and
//! `saoy audit verify|show` report it.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use saoy::audit::{
    Actor, AuditConfig, AuditEntry, AuditFilter, AuditLog, ProblemKind, Sealer, VerifyOptions,
    VerifyReport, block_key, checkpoint_key, read_checkpoints, verify, verify_with,
};
use saoy::clock::{Clock, SystemClock};
use saoy::pki::key::Credential;
use saoy::store::{LocalStore, ObjectStore};

use crate::support::s3::S3Server;

const AGENCY: &str = "H72.21.01";

fn sealer() -> Arc<Sealer> {
    let credential = Credential::load(
        &crate::support::pki("agency.key.pem"),
        &crate::support::pki("agency-chain.pem"),
    )
    .expect("agency credential");
    Arc::new(Sealer::new(credential))
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

async fn local() -> (tempfile::TempDir, Arc<dyn ObjectStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalStore::open(dir.path()).await.expect("store");
    (dir, Arc::new(store))
}

fn entry(i: usize) -> AuditEntry {
    AuditEntry {
        actor: Actor {
            fingerprint: Some("ab".repeat(32)),
            agency: Some(AGENCY.into()),
            role: Some("clerk".into()),
            citizen: None,
        },
        action: "GetCopy".into(),
        copy_id: Some(format!("copy-{i}")),
        owner_id: Some(format!("{:012}", 1_099_000_000 + i % 7)),
        outcome: "ok".into(),
        detail: Some(format!("entry {i}")),
        ..Default::default()
    }
}

/// A log sealing every `every` entries, with `n` entries appended one at a time (so one
/// block per entry: block k holds entry k).
async fn chain_of(store: &Arc<dyn ObjectStore>, n: usize, every: u64) -> AuditLog {
    let config = AuditConfig {
        checkpoint_every_entries: every,
        ..Default::default()
    };
    let log = AuditLog::new(Arc::clone(store), Some(sealer()), config, clock());
    for i in 1..=n {
        log.append(Some(AGENCY), entry(i)).await.expect("append");
    }
    log
}

fn trusted() -> Vec<Vec<u8>> {
    vec![
        sealer()
            .certificate("H72.21.01")
            .expect("one key seals every chain"),
    ]
}

async fn get(store: &Arc<dyn ObjectStore>, key: &str) -> Vec<u8> {
    store.get(key).await.expect("get").expect("exists").to_vec()
}

async fn put(store: &Arc<dyn ObjectStore>, key: &str, bytes: Vec<u8>) {
    store.put(key, Bytes::from(bytes)).await.expect("put");
}

/// The first problem of the only chain, which must exist.
fn first(report: &VerifyReport) -> (ProblemKind, u64, Option<u64>, String) {
    assert!(!report.is_intact(), "{}", report.render());
    let p = report.chains[0].first_problem().expect("a problem");
    (p.kind, p.block, p.entry, p.message.clone())
}

fn replace(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    assert!(text.contains(from), "{from:?} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

#[tokio::test]
async fn intact_chain_verifies_with_its_checkpoints() {
    let (_dir, store) = local().await;
    let log = chain_of(&store, 12, 5).await;
    log.append(None, entry(0)).await.expect("no-agency append");
    let report = verify(store.as_ref(), None, &trusted())
        .await
        .expect("verify");
    assert!(report.is_intact(), "{}", report.render());
    assert_eq!(report.chains.len(), 2);
    let chain = &report.chains[0];
    assert_eq!((chain.entries, chain.blocks), (12, 12));
    assert_eq!(chain.last_checkpoint.as_ref().map(|c| c.block), Some(10));
    assert_eq!(chain.unsealed_entries, 2);
    assert!(report.render().contains("2 entries not yet sealed"));
    assert_eq!(report.chains[1].chain, "_none");
    let owners = AuditFilter {
        owner_id: Some(format!("{:012}", 1_099_000_001)),
        ..Default::default()
    };
    let found = log.entries(Some(AGENCY), &owners).await.expect("entries");
    let numbers: Vec<u64> = found.iter().map(|(id, _)| id.number).collect();
    assert_eq!(numbers, [1, 8]);
    // A checkpoint signed by someone else is not trusted.
    let other = saoy::pki::key::read_pem_certificates(&crate::support::pki("other-signer.pem"))
        .expect("other signer");
    let report = verify(store.as_ref(), Some(AGENCY), &other)
        .await
        .expect("verify");
    let (kind, block, _, message) = first(&report);
    assert_eq!((kind, block), (ProblemKind::BadCheckpoint, 5), "{message}");
    assert!(message.contains("untrusted"), "{message}");
}

#[tokio::test]
async fn an_edited_entry_is_named() {
    let (_dir, store) = local().await;
    chain_of(&store, 6, 0).await;
    let key = block_key(AGENCY, 3);
    let bytes = get(&store, &key).await;
    put(
        &store,
        &key,
        replace(
            &bytes,
            "\"outcome\":\"ok\"",
            "\"outcome\":\"denied: no consent\"",
        ),
    )
    .await;
    let report = verify(store.as_ref(), Some(AGENCY), &[])
        .await
        .expect("verify");
    let (kind, block, entry, message) = first(&report);
    assert_eq!(
        (kind, block, entry),
        (ProblemKind::Edited, 3, Some(3)),
        "{message}"
    );
    assert!(message.contains("entry 3 (block 3) edited"), "{message}");
}

#[tokio::test]
async fn an_edited_block_is_named_even_when_no_entry_changed() {
    let (_dir, store) = local().await;
    chain_of(&store, 6, 0).await;
    let key = block_key(AGENCY, 2);
    let mut bytes = get(&store, &key).await;
    bytes.insert(1, b' ');
    put(&store, &key, bytes).await;
    let report = verify(store.as_ref(), Some(AGENCY), &[])
        .await
        .expect("verify");
    let (kind, block, entry, message) = first(&report);
    assert_eq!(
        (kind, block, entry),
        (ProblemKind::Edited, 2, None),
        "{message}"
    );
    assert!(message.contains("block 2 edited"), "{message}");
}

#[tokio::test]
async fn a_removed_block_is_named() {
    let (_dir, store) = local().await;
    chain_of(&store, 6, 0).await;
    store.delete(&block_key(AGENCY, 4)).await.expect("delete");
    let report = verify(store.as_ref(), Some(AGENCY), &[])
        .await
        .expect("verify");
    let (kind, block, _, message) = first(&report);
    assert_eq!((kind, block), (ProblemKind::Removed, 4), "{message}");
    assert!(message.contains("block 4 removed"), "{message}");
}

#[tokio::test]
async fn swapped_blocks_are_named() {
    let (_dir, store) = local().await;
    chain_of(&store, 6, 0).await;
    let (k2, k3) = (block_key(AGENCY, 2), block_key(AGENCY, 3));
    let (b2, b3) = (get(&store, &k2).await, get(&store, &k3).await);
    put(&store, &k2, b3.clone()).await;
    put(&store, &k3, b2.clone()).await;
    let report = verify(store.as_ref(), Some(AGENCY), &[])
        .await
        .expect("verify");
    let (kind, block, _, message) = first(&report);
    assert_eq!((kind, block), (ProblemKind::Reordered, 2), "{message}");
    // Swapped with their numbers rewritten too: block 2 no longer follows block 1.
    put(&store, &k2, replace(&b3, "\"seq\":3", "\"seq\":2")).await;
    put(&store, &k3, replace(&b2, "\"seq\":2", "\"seq\":3")).await;
    let report = verify(store.as_ref(), Some(AGENCY), &[])
        .await
        .expect("verify");
    let (_, block, _, message) = first(&report);
    assert_eq!(block, 2, "{message}");
    let messages: Vec<&str> = report.chains[0]
        .problems
        .iter()
        .map(|p| p.message.as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("block 2 replaced or moved")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("entry 2 reordered")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn an_edited_checkpoint_is_named() {
    let (_dir, store) = local().await;
    let log = chain_of(&store, 10, 4).await;
    let key = checkpoint_key(AGENCY, 8);
    let bytes = get(&store, &key).await;
    put(
        &store,
        &key,
        replace(&bytes, "\"entries\": 8", "\"entries\": 7"),
    )
    .await;
    let report = verify(store.as_ref(), Some(AGENCY), &trusted())
        .await
        .expect("verify");
    let (kind, block, _, message) = first(&report);
    assert_eq!((kind, block), (ProblemKind::BadCheckpoint, 8), "{message}");
    assert!(
        message.contains("checkpoint of block 8 edited"),
        "{message}"
    );
    // The last checkpoint that holds is the earlier one.
    assert_eq!(
        report.chains[0].last_checkpoint.as_ref().map(|c| c.block),
        Some(4)
    );
    // The newest block has no successor: once sealed, an edit to it is still seen.
    put(&store, &key, bytes).await;
    log.seal(Some(AGENCY)).await.expect("seal");
    let head = block_key(AGENCY, 10);
    let mut edited = get(&store, &head).await;
    edited.insert(1, b' ');
    put(&store, &head, edited).await;
    let report = verify(store.as_ref(), Some(AGENCY), &trusted())
        .await
        .expect("verify");
    let (kind, block, entry, message) = first(&report);
    assert_eq!(
        (kind, block, entry),
        (ProblemKind::Edited, 10, None),
        "{message}"
    );
    assert!(message.contains("block 10 edited"), "{message}");
}

#[tokio::test]
async fn a_cut_tail_is_seen_against_the_copied_checkpoints() {
    let (_dir, store) = local().await;
    let (_copy_dir, copy) = local().await;
    let config = AuditConfig {
        checkpoint_every_entries: 5,
        ..Default::default()
    };
    let log = AuditLog::new(Arc::clone(&store), Some(sealer()), config, clock())
        .with_checkpoint_copy(Arc::clone(&copy));
    for i in 1..=22 {
        log.append(Some(AGENCY), entry(i)).await.expect("append");
    }
    // Cut blocks 11..=22 and the checkpoints that sealed them from the main store.
    for seq in 11..=22 {
        store.delete(&block_key(AGENCY, seq)).await.expect("delete");
        store
            .delete(&checkpoint_key(AGENCY, seq))
            .await
            .expect("delete");
    }
    let alone = verify(store.as_ref(), Some(AGENCY), &trusted())
        .await
        .expect("verify");
    assert!(
        alone.is_intact(),
        "the store alone cannot tell: {}",
        alone.render()
    );
    assert_eq!(alone.chains[0].entries, 10);
    let options = VerifyOptions {
        trusted_sealers: trusted(),
        external_checkpoints: read_checkpoints(copy.as_ref(), Some(AGENCY))
            .await
            .expect("copies"),
    };
    assert_eq!(options.external_checkpoints.len(), 4);
    let report = verify_with(store.as_ref(), Some(AGENCY), &options)
        .await
        .expect("verify");
    let (kind, block, _, message) = first(&report);
    assert_eq!((kind, block), (ProblemKind::TailCut, 11), "{message}");
    assert!(message.contains("blocks 11 to 15 removed"), "{message}");
}

/// Two logs ("replicas") on one store, each appending `per_replica` entries from `tasks`
/// tasks at once: one unbroken chain holding every entry exactly once, in fewer blocks.
///
/// `interleave`: also require that the chain switches between the replicas. On S3 (through
/// the serialising proxy) the replica whose write round trip is shorter wins every claim
/// while its queue never empties, so the other waits until it pauses (no entry is lost):
/// there the switches are only printed.
async fn two_replicas(
    store: Arc<dyn ObjectStore>,
    per_replica: usize,
    tasks: usize,
    interleave: bool,
) {
    let config = AuditConfig {
        checkpoint_every_entries: 100,
        ..Default::default()
    };
    let replicas: Vec<Arc<AuditLog>> = (0..2)
        .map(|_| {
            Arc::new(AuditLog::new(
                Arc::clone(&store),
                Some(sealer()),
                config.clone(),
                clock(),
            ))
        })
        .collect();
    let started = Instant::now();
    let mut handles = Vec::new();
    for (r, log) in replicas.iter().enumerate() {
        for t in 0..tasks {
            let log = Arc::clone(log);
            handles.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in (t..per_replica).step_by(tasks) {
                    let id = r * per_replica + i;
                    ids.push((id, log.append(Some(AGENCY), entry(id)).await));
                }
                ids
            }));
        }
    }
    let mut numbers = BTreeSet::new();
    for h in handles {
        for (id, result) in h.await.expect("task") {
            let at = result.unwrap_or_else(|e| panic!("append {id}: {e}"));
            assert!(
                numbers.insert(at.number),
                "number {} given twice",
                at.number
            );
        }
    }
    let elapsed = started.elapsed();
    let total = 2 * per_replica;
    eprintln!(
        "two replicas, {tasks} tasks each, {} ({}): {total} entries in {:.2?} ({:.0} entries/s)",
        store.describe(),
        per_replica,
        elapsed,
        total as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(numbers, (1..=total as u64).collect());
    let report = verify(store.as_ref(), Some(AGENCY), &trusted())
        .await
        .expect("verify");
    assert!(report.is_intact(), "{}", report.render());
    let chain = &report.chains[0];
    assert_eq!(chain.entries, total as u64);
    assert!(
        chain.blocks < total as u64,
        "no batching: {} blocks",
        chain.blocks
    );
    eprintln!("  {} blocks for {total} entries", chain.blocks);
    let all = replicas[0]
        .entries(Some(AGENCY), &AuditFilter::default())
        .await
        .expect("entries");
    let details: BTreeSet<String> = all.iter().filter_map(|(_, e)| e.detail.clone()).collect();
    assert_eq!(details.len(), total, "every entry exactly once");
    assert_eq!(all.len(), total);
    // The replicas really wrote at the same time: the chain switches between them.
    let replica_of = |e: &AuditEntry| {
        e.detail
            .as_deref()
            .and_then(|d| d.strip_prefix("entry "))
            .and_then(|n| n.parse::<usize>().ok())
            .map(|n| n / per_replica)
    };
    let switches = all
        .windows(2)
        .filter(|w| replica_of(&w[0].1) != replica_of(&w[1].1))
        .count();
    eprintln!("  the chain switches replica {switches} times");
    assert!(
        !interleave || switches >= 2,
        "replicas did not interleave: {switches} switches"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_a_local_store_keep_one_chain() {
    let (_dir, store) = local().await;
    two_replicas(store, 500, 32, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_s3_keep_one_chain() {
    let server = S3Server::start();
    let store: Arc<dyn ObjectStore> = Arc::new(server.store("").await);
    two_replicas(store, 200, 16, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_with_64_tasks_on_the_local_store() {
    let (_dir, store) = local().await;
    let log = Arc::new(AuditLog::new(
        Arc::clone(&store),
        Some(sealer()),
        AuditConfig::default(),
        clock(),
    ));
    let started = Instant::now();
    let handles: Vec<_> = (0..64)
        .map(|t| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                for i in 0..50 {
                    log.append(Some(AGENCY), entry(t * 50 + i))
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    for h in handles {
        h.await.expect("task");
    }
    let elapsed = started.elapsed();
    let report = verify(store.as_ref(), Some(AGENCY), &[])
        .await
        .expect("verify");
    assert!(report.is_intact(), "{}", report.render());
    eprintln!(
        "64 tasks × 50 entries on the local store: {:.2?}, {:.0} entries/s, {} blocks",
        elapsed,
        3200.0 / elapsed.as_secs_f64(),
        report.chains[0].blocks
    );
    assert_eq!(report.chains[0].entries, 3200);
}

fn saoy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_saoy"))
        .args(args)
        .env("RUST_LOG", "warn")
        .current_dir(crate::support::root())
        .output()
        .expect("run saoy")
}

#[tokio::test]
async fn saoy_audit_verify_and_show() {
    let (dir, store) = local().await;
    chain_of(&store, 7, 5).await;
    let data = dir.path().to_str().expect("utf-8 path");
    let ok = saoy(&["audit", "verify", "--data", data]);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(text.contains("2 entries not yet sealed"), "{text}");
    let shown = saoy(&[
        "audit",
        "show",
        "--agency",
        AGENCY,
        "--owner",
        "001099000001",
        "--format",
        "json",
        "--data",
        data,
    ]);
    assert_eq!(shown.status.code(), Some(0));
    let items: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    let numbers: Vec<u64> = items
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|i| i["id"]["number"].as_u64())
        .collect();
    assert_eq!(numbers, [1]);
    store.delete(&block_key(AGENCY, 3)).await.expect("delete");
    let bad = saoy(&["audit", "verify", "--agency", AGENCY, "--data", data]);
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FIRST PROBLEM: chain H72.21.01: block 3 removed"),
        "{text}"
    );
    let usage = saoy(&["audit", "show", "--since", "yesterday", "--data", data]);
    assert_eq!(usage.status.code(), Some(2));
}
