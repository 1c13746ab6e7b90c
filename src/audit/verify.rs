//! Verifying chains and checkpoints: what was edited, removed or reordered, and where.
//!
//! Each chain is read block by block in key order. A block must sit under its own number,
//! follow the previous number without a gap, record the SHA-256 of the previous block's
//! stored bytes, and hold entries numbered on from the previous block whose running hashes
//! recompute. Each checkpoint (in the store and, optionally, copies kept elsewhere) must
//! carry a signature that verifies with its embedded certificate (one of the trusted ones
//! when a list is given) and name a block whose hash and entry count match. A checkpoint
//! for a block past the end of the chain shows that the tail was cut.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::error::AuditError;
use super::model::{Block, checkpoints_prefix, entry_hash, seq_of};
use super::read::{READ_AHEAD, block_keys, chains};
use super::report::{ChainReport, Problem, ProblemKind, SealInfo, VerifyReport};
use super::seal::Checkpoint;
use crate::hash::sha256_hex;
use crate::store::ObjectStore;

/// Most problems listed per chain (the first ones).
const MAX_PROBLEMS: usize = 1000;

/// What to trust and what to compare with.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Certificates (DER) allowed to sign checkpoints; empty = any embedded certificate,
    /// listed in [`ChainReport::signers_not_checked`].
    pub trusted_sealers: Vec<Vec<u8>>,
    /// Checkpoint objects (their JSON bytes) kept outside the store, e.g. read with
    /// [`read_checkpoints`] from the copy store of [`super::AuditLog::with_checkpoint_copy`].
    pub external_checkpoints: Vec<Vec<u8>>,
}

/// Verifies one chain (an agency code or `_none`) or, with `None`, every chain in the store.
pub async fn verify(
    store: &dyn ObjectStore,
    chain: Option<&str>,
    trusted_sealers: &[Vec<u8>],
) -> Result<VerifyReport, AuditError> {
    let options = VerifyOptions {
        trusted_sealers: trusted_sealers.to_vec(),
        external_checkpoints: Vec::new(),
    };
    verify_with(store, chain, &options).await
}

/// [`verify`] with checkpoints kept elsewhere, which reveal a cut tail they seal.
pub async fn verify_with(
    store: &dyn ObjectStore,
    chain: Option<&str>,
    options: &VerifyOptions,
) -> Result<VerifyReport, AuditError> {
    let mut report = VerifyReport::default();
    let mut external = Vec::new();
    for bytes in &options.external_checkpoints {
        match serde_json::from_slice::<Checkpoint>(bytes) {
            Ok(cp) => external.push(cp),
            Err(e) => report.unreadable_external.push(e.to_string()),
        }
    }
    let mut names = chains(store, chain).await?;
    if chain.is_none() {
        names.extend(external.iter().map(|cp| cp.chain.clone()));
        names.sort();
        names.dedup();
    }
    for name in names {
        let theirs: Vec<&Checkpoint> = external.iter().filter(|cp| cp.chain == name).collect();
        let chain_report = verify_chain(store, &name, &options.trusted_sealers, &theirs).await?;
        report.chains.push(chain_report);
    }
    Ok(report)
}

/// Every checkpoint object of one chain (or all chains) in `store`, as stored.
pub async fn read_checkpoints(
    store: &dyn ObjectStore,
    chain: Option<&str>,
) -> Result<Vec<Vec<u8>>, AuditError> {
    let mut out = Vec::new();
    for name in chains(store, chain).await? {
        for key in store.list(&checkpoints_prefix(&name)).await? {
            if let Some(bytes) = store.get(&key).await? {
                out.push(bytes.to_vec());
            }
        }
    }
    Ok(out)
}

/// A sealed block as the walk saw it: hash of its bytes and the entries up to its end.
struct Seen {
    hash: String,
    entries: u64,
}

/// The state of the walk along one chain.
struct Walk {
    chain: String,
    problems: Vec<Problem>,
    /// Number the next block should have.
    expected: u64,
    /// Hash of the previous block's bytes; `None` when there is none or it is unknown.
    prev: Option<String>,
    /// Whether `prev` may be compared (false after a gap).
    link_known: bool,
    /// Number of the last entry seen.
    number: u64,
    /// Running hash of the last entry; `None` when unknown (after an unreadable block).
    entry_hash: Option<String>,
    blocks: u64,
    seen: BTreeMap<u64, Seen>,
}

impl Walk {
    fn new(chain: &str) -> Self {
        Self {
            chain: chain.to_string(),
            problems: Vec::new(),
            expected: 1,
            prev: None,
            link_known: true,
            number: 0,
            entry_hash: Some(String::new()),
            blocks: 0,
            seen: BTreeMap::new(),
        }
    }

    fn problem(&mut self, kind: ProblemKind, block: u64, entry: Option<u64>, message: String) {
        self.problems.push(Problem {
            kind,
            block,
            entry,
            message: format!("chain {}: {message}", self.chain),
        });
    }

    /// Takes the block stored under number `seq` (`None`: it vanished while being read).
    fn block(&mut self, seq: u64, bytes: Option<Bytes>) {
        if seq > self.expected {
            let gap = if seq - 1 == self.expected {
                format!("block {} removed", self.expected)
            } else {
                format!("blocks {} to {} removed", self.expected, seq - 1)
            };
            let message = format!("{gap} (entries after number {})", self.number);
            self.problem(ProblemKind::Removed, self.expected, None, message);
            self.link_known = false;
            self.entry_hash = None;
        }
        self.expected = seq.saturating_add(1);
        let Some(bytes) = bytes else {
            self.problem(
                ProblemKind::Removed,
                seq,
                None,
                format!("block {seq} vanished while being read"),
            );
            self.link_known = false;
            self.entry_hash = None;
            return;
        };
        self.blocks += 1;
        let hash = sha256_hex(&bytes);
        match serde_json::from_slice::<Block>(&bytes) {
            Ok(block) => self.parsed(seq, &block),
            Err(e) => {
                let message = format!("block {seq} edited: it is no longer a readable block ({e})");
                self.problem(ProblemKind::Edited, seq, None, message);
                self.entry_hash = None;
            }
        }
        self.seen.insert(
            seq,
            Seen {
                hash: hash.clone(),
                entries: self.number,
            },
        );
        self.prev = Some(hash);
        self.link_known = true;
    }

    fn parsed(&mut self, seq: u64, block: &Block) {
        let in_place = block.seq == seq;
        if !in_place {
            let message = format!(
                "block {seq} reordered: the object under number {seq} holds block {}",
                block.seq
            );
            self.problem(ProblemKind::Reordered, seq, None, message);
        }
        if block.chain != self.chain {
            let message = format!("block {seq} belongs to chain {:?}", block.chain);
            self.problem(ProblemKind::Reordered, seq, None, message);
        }
        if in_place && self.link_known && block.prev != self.prev {
            self.broken_link(seq, block);
        }
        for stored in &block.entries {
            // A block out of place is one problem, not one per entry.
            self.entry(seq, stored, in_place);
        }
    }

    /// Block `seq` does not record the hash of block `seq - 1`: when its first entry still
    /// follows the previous block's last one, block `seq - 1` was edited; otherwise block
    /// `seq` was replaced or moved.
    fn broken_link(&mut self, seq: u64, block: &Block) {
        let entries_follow = match (block.entries.first(), &self.entry_hash) {
            (Some(first), Some(prev)) => {
                entry_hash(prev, &first.entry).is_ok_and(|h| h == first.hash)
            }
            _ => true,
        };
        let (at, message) = if seq == 1 {
            (1, "block 1 edited: it names a previous block".to_string())
        } else if entries_follow {
            let before = seq - 1;
            let message = format!(
                "block {before} edited: its bytes do not match the hash block {seq} records for it"
            );
            (before, message)
        } else {
            let message = format!(
                "block {seq} replaced or moved: it does not follow block {}",
                seq - 1
            );
            (seq, message)
        };
        self.problem(ProblemKind::Edited, at, None, message);
    }

    fn entry(&mut self, seq: u64, stored: &super::model::StoredEntry, report: bool) {
        let want = self.number.saturating_add(1);
        if report && stored.n > want {
            let gone = if stored.n - 1 == want {
                format!("entry {want} removed")
            } else {
                format!("entries {want} to {} removed", stored.n - 1)
            };
            let message = format!("{gone} (block {seq} goes on with entry {})", stored.n);
            self.problem(ProblemKind::Removed, seq, Some(want), message);
        } else if report && stored.n < want {
            let message = format!(
                "entry {} reordered: found in block {seq} where entry {want} belongs",
                stored.n
            );
            self.problem(ProblemKind::Reordered, seq, Some(stored.n), message);
        }
        if let Some(prev) = self.entry_hash.as_ref().filter(|_| report) {
            match entry_hash(prev, &stored.entry) {
                Ok(h) if h == stored.hash => {}
                _ => {
                    let message = format!(
                        "entry {} (block {seq}) edited: its content or place does not match its hash",
                        stored.n
                    );
                    self.problem(ProblemKind::Edited, seq, Some(stored.n), message);
                }
            }
        }
        self.number = stored.n;
        self.entry_hash = Some(stored.hash.clone());
    }

    /// Checks one checkpoint against the walk; `Some` when it holds.
    fn checkpoint(
        &mut self,
        cp: &Checkpoint,
        key_seq: Option<u64>,
        external: bool,
        trusted: &[Vec<u8>],
    ) -> Option<SealInfo> {
        let what = if external {
            format!("external checkpoint of block {}", cp.seq)
        } else {
            format!("checkpoint of block {}", cp.seq)
        };
        let bad = if cp.chain != self.chain {
            Some(format!("{what} names chain {:?}", cp.chain))
        } else if key_seq.is_some_and(|k| k != cp.seq) {
            Some(format!("{what} is stored under block {key_seq:?}"))
        } else if let Err(why) = cp.check_signature() {
            Some(format!("{what} edited: {why}"))
        } else if !trusted.is_empty() && !cp.signer_der().is_some_and(|der| trusted.contains(&der))
        {
            Some(format!(
                "{what} signed by an untrusted certificate (sha256 {})",
                cp.signer_sha256()
            ))
        } else {
            None
        };
        if let Some(message) = bad {
            self.problem(ProblemKind::BadCheckpoint, cp.seq, None, message);
            return None;
        }
        self.sealed_block(cp, &what, external)
    }

    /// Compares a checkpoint whose signature holds with the block it seals.
    fn sealed_block(&mut self, cp: &Checkpoint, what: &str, external: bool) -> Option<SealInfo> {
        let last = self.expected - 1;
        let Some(seen) = self.seen.get(&cp.seq) else {
            if cp.seq > last {
                let message = format!(
                    "tail cut: {what} seals {} entries, the chain ends at block {last} with {} entries (blocks {} to {} removed)",
                    cp.entries,
                    self.number,
                    last + 1,
                    cp.seq
                );
                self.problem(ProblemKind::TailCut, last + 1, None, message);
            } else {
                let message = format!("block {} sealed by the {what} is missing", cp.seq);
                self.problem(ProblemKind::Removed, cp.seq, None, message);
            }
            return None;
        };
        let (hash_ok, entries_ok) = (seen.hash == cp.block_hash, seen.entries == cp.entries);
        if !hash_ok {
            let kind = if external {
                ProblemKind::Fork
            } else {
                ProblemKind::Edited
            };
            let message = format!(
                "block {} edited or forked: it is not the block the {what} sealed",
                cp.seq
            );
            self.problem(kind, cp.seq, None, message);
            return None;
        }
        if !entries_ok {
            let message = format!(
                "{what} counts {} entries up to it, the chain has {}",
                cp.entries, seen.entries
            );
            self.problem(ProblemKind::Edited, cp.seq, None, message);
            return None;
        }
        Some(SealInfo {
            block: cp.seq,
            entries: cp.entries,
            at: cp.at.clone(),
            signer_sha256: cp.signer_sha256(),
            external,
        })
    }
}

async fn verify_chain(
    store: &dyn ObjectStore,
    chain: &str,
    trusted: &[Vec<u8>],
    external: &[&Checkpoint],
) -> Result<ChainReport, AuditError> {
    let mut walk = Walk::new(chain);
    let (keys, foreign) = block_keys(store, chain).await?;
    let mut blocks = stream::iter(keys)
        .map(|(seq, key)| async move { Ok::<_, AuditError>((seq, store.get(&key).await?)) })
        .buffered(READ_AHEAD);
    while let Some((seq, bytes)) = blocks.try_next().await? {
        walk.block(seq, bytes);
    }
    for key in foreign {
        let message = format!("{key} is not an object the audit log writes");
        walk.problem(ProblemKind::Foreign, u64::MAX, None, message);
    }
    let mut seals = Vec::new();
    let prefix = checkpoints_prefix(chain);
    for key in store.list(&prefix).await? {
        let key_seq = seq_of(&key, &prefix);
        let Some(bytes) = store.get(&key).await? else {
            continue;
        };
        match serde_json::from_slice::<Checkpoint>(&bytes) {
            Ok(cp) => seals.extend(walk.checkpoint(&cp, key_seq, false, trusted)),
            Err(e) => {
                let at = key_seq.unwrap_or(u64::MAX);
                let message = format!("checkpoint {key} edited: unreadable ({e})");
                walk.problem(ProblemKind::BadCheckpoint, at, None, message);
            }
        }
    }
    for cp in external {
        seals.extend(walk.checkpoint(cp, None, true, trusted));
    }
    Ok(conclude(walk, seals, trusted.is_empty()))
}

fn conclude(mut walk: Walk, seals: Vec<SealInfo>, untrusted: bool) -> ChainReport {
    walk.problems
        .sort_by_key(|p| (p.block, p.entry.unwrap_or(u64::MAX)));
    walk.problems.truncate(MAX_PROBLEMS);
    let mut signers: Vec<String> = if untrusted {
        seals.iter().map(|s| s.signer_sha256.clone()).collect()
    } else {
        Vec::new()
    };
    signers.sort();
    signers.dedup();
    let last = seals.into_iter().max_by_key(|s| (s.block, !s.external));
    ChainReport {
        chain: walk.chain,
        blocks: walk.blocks,
        entries: walk.number,
        unsealed_entries: walk
            .number
            .saturating_sub(last.as_ref().map(|s| s.entries).unwrap_or(0)),
        last_checkpoint: last,
        signers_not_checked: signers,
        problems: walk.problems,
    }
}
