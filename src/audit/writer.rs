//! One writer task per chain: group commit and checkpoints.
//!
//! Appends arrive on a channel. The task takes the first waiting message and up to
//! `max_batch` entries more that are already queued, writes them as one block with a
//! create-only put, answers every waiter, and seals a checkpoint when one is due. Callers
//! that go away do not lose other callers' entries: the task, not a caller, does the write.
//!
//! Several processes may write one chain: a block number is claimed by `put_if_absent`.
//! When the number is taken, the task reads the block that took it (it must link to the
//! head this task knew, else the chain forks and the task stops with [`AuditError::Fork`]),
//! moves forward and writes its entries again, re-numbered and re-chained, after it.

use std::sync::Arc;

use bytes::Bytes;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::config::AuditConfig;
use super::error::AuditError;
use super::model::{
    AuditEntry, Block, EntryId, FORMAT, StoredEntry, block_key, blocks_prefix, checkpoint_key,
    checkpoints_prefix, entry_hash, seq_of,
};
use super::seal::{Checkpoint, Sealer};
use crate::clock::{Clock, rfc3339};
use crate::hash::sha256_hex;
use crate::store::ObjectStore;

/// Largest block or entry number a writer accepts from the store (far beyond any real
/// chain; keeps the arithmetic on numbers read from the store from overflowing).
const MAX_NUMBER: u64 = 1 << 50;

/// What every writer task of one log shares.
#[derive(Clone)]
pub struct Shared {
    /// Where blocks and checkpoints go.
    pub store: Arc<dyn ObjectStore>,
    /// A second store that receives a copy of every checkpoint.
    pub copy: Option<Arc<dyn ObjectStore>>,
    /// Signs checkpoints; none = no checkpoints.
    pub sealer: Option<Arc<Sealer>>,
    /// Batch size and checkpoint cadence.
    pub config: AuditConfig,
    /// The time of entries and checkpoints.
    pub clock: Arc<dyn Clock>,
}

/// The answer to one append.
pub type Reply = oneshot::Sender<Result<EntryId, AuditError>>;

/// The answer to one seal request.
pub type SealReply = oneshot::Sender<Result<(), AuditError>>;

/// A message to a chain's writer.
pub enum Msg {
    /// Append one entry (its `at` already set).
    Append(Box<AuditEntry>, Reply),
    /// Seal a checkpoint over the newest block: always (`force`) or only when one is due.
    Seal {
        /// Seal even when no checkpoint is due (as long as something is unsealed).
        force: bool,
        /// Told when done; `None` for timer ticks.
        reply: Option<SealReply>,
    },
}

/// Starts the writer of `chain` on the current runtime.
pub fn spawn(chain: String, shared: Arc<Shared>) -> mpsc::Sender<Msg> {
    let capacity = shared.config.max_batch.clamp(1, 4096) * 4;
    let (tx, rx) = mpsc::channel(capacity);
    tokio::spawn(run(chain, shared, rx));
    tx
}

/// What this process knows of a chain's newest block and newest checkpoint.
struct Head {
    /// Number of the newest block (0: none yet).
    seq: u64,
    /// Hex SHA-256 of its stored bytes.
    hash: Option<String>,
    /// Number of the newest entry.
    number: u64,
    /// Running hash of the newest entry ("" before the first).
    entry_hash: String,
    /// Newest block sealed by a checkpoint this process knows.
    sealed_seq: u64,
    /// Entries that checkpoint covers.
    sealed_entries: u64,
    /// When that checkpoint was made (or when this process started looking).
    sealed_at: OffsetDateTime,
}

async fn run(chain: String, shared: Arc<Shared>, mut rx: mpsc::Receiver<Msg>) {
    let max_batch = shared.config.max_batch.max(1);
    let mut head: Option<Head> = None;
    while let Some(first) = rx.recv().await {
        let mut appends = Vec::new();
        let mut seals = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Append(entry, reply) => appends.push((*entry, reply)),
                Msg::Seal { force, reply } => seals.push((force, reply)),
            }
            if appends.len() < max_batch {
                next = rx.try_recv().ok();
            }
        }
        if head.is_none() {
            match load(&chain, &shared).await {
                Ok(h) => head = Some(h),
                Err(e) => {
                    answer_all(appends, seals, &e);
                    continue;
                }
            }
        }
        let Some(h) = head.as_mut() else { continue };
        let forced = seals.iter().any(|(force, _)| *force);
        let mut outcome = Ok(());
        if !appends.is_empty() {
            outcome = commit_batch(&chain, &shared, h, appends).await;
        } else if !seals.is_empty() {
            outcome = refresh(&chain, &shared, h).await;
        }
        let sealed = match outcome {
            Ok(()) => {
                let sealed = maybe_checkpoint(&chain, &shared, h, forced).await;
                if let Err(e) = &sealed
                    && seals.is_empty()
                {
                    tracing::error!(chain = %chain, error = %e, "audit checkpoint failed; tried again after the next block");
                }
                sealed
            }
            Err(e) => Err(e),
        };
        if let Err(AuditError::Fork { .. } | AuditError::Corrupt { .. }) = &sealed {
            head = None;
        }
        for (_, reply) in seals {
            if let Some(reply) = reply {
                let _ = reply.send(sealed.as_ref().map(|_| ()).map_err(AuditError::duplicate));
            }
        }
    }
}

fn answer_all(
    appends: Vec<(AuditEntry, Reply)>,
    seals: Vec<(bool, Option<SealReply>)>,
    error: &AuditError,
) {
    for (_, reply) in appends {
        let _ = reply.send(Err(error.duplicate()));
    }
    for reply in seals.into_iter().filter_map(|(_, reply)| reply) {
        let _ = reply.send(Err(error.duplicate()));
    }
}

/// Writes one batch and answers its waiters; `Err` only for what should stop sealing.
async fn commit_batch(
    chain: &str,
    shared: &Shared,
    head: &mut Head,
    appends: Vec<(AuditEntry, Reply)>,
) -> Result<(), AuditError> {
    let (entries, replies): (Vec<_>, Vec<_>) = appends.into_iter().unzip();
    match commit(chain, shared, head, &entries).await {
        Ok(()) => {
            let first = head.number + 1 - entries.len() as u64;
            for (i, reply) in replies.into_iter().enumerate() {
                let _ = reply.send(Ok(EntryId {
                    chain: chain.to_string(),
                    block: head.seq,
                    number: first + i as u64,
                }));
            }
            Ok(())
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.duplicate()));
            }
            Err(e)
        }
    }
}

/// Reads the newest block and checkpoint of a chain from the store.
async fn load(chain: &str, shared: &Shared) -> Result<Head, AuditError> {
    let mut head = Head {
        seq: 0,
        hash: None,
        number: 0,
        entry_hash: String::new(),
        sealed_seq: 0,
        sealed_entries: 0,
        sealed_at: shared.clock.now(),
    };
    let prefix = blocks_prefix(chain);
    let keys = shared.store.list(&prefix).await?;
    if let Some((seq, key)) = keys
        .iter()
        .filter_map(|k| seq_of(k, &prefix).map(|s| (s, k)))
        .max()
    {
        let bytes = shared
            .store
            .get(key)
            .await?
            .ok_or_else(|| corrupt(key, "listed but gone"))?;
        let block = parse_block(key, &bytes, chain, seq)?;
        head.take(&block, &bytes);
    }
    let prefix = checkpoints_prefix(chain);
    let keys = shared.store.list(&prefix).await?;
    if let Some((_, key)) = keys
        .iter()
        .filter_map(|k| seq_of(k, &prefix).map(|s| (s, k)))
        .max()
        && let Some(bytes) = shared.store.get(key).await?
        && let Ok(cp) = serde_json::from_slice::<Checkpoint>(&bytes)
    {
        head.sealed_seq = cp.seq;
        head.sealed_entries = cp.entries;
        if let Some(at) = super::model::parse_time(&cp.at) {
            head.sealed_at = at;
        }
    }
    Ok(head)
}

impl Head {
    /// Moves the head to `block` (stored as `bytes`).
    fn take(&mut self, block: &Block, bytes: &[u8]) {
        self.seq = block.seq;
        self.hash = Some(sha256_hex(bytes));
        if let Some(last) = block.entries.last() {
            self.number = last.n;
            self.entry_hash = last.hash.clone();
        }
    }
}

fn corrupt(key: &str, reason: impl Into<String>) -> AuditError {
    AuditError::Corrupt {
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn parse_block(key: &str, bytes: &[u8], chain: &str, seq: u64) -> Result<Block, AuditError> {
    let block: Block =
        serde_json::from_slice(bytes).map_err(|e| corrupt(key, format!("not a block: {e}")))?;
    if block.entries.iter().any(|e| e.n > MAX_NUMBER) || seq > MAX_NUMBER {
        return Err(corrupt(
            key,
            "a block or entry number beyond any real chain",
        ));
    }
    if block.chain != chain || block.seq != seq {
        return Err(corrupt(
            key,
            format!("holds block {} of chain {:?}", block.seq, block.chain),
        ));
    }
    Ok(block)
}

/// Builds the next block of `entries` after `head`.
fn build(chain: &str, head: &Head, entries: &[AuditEntry]) -> Result<Bytes, AuditError> {
    let mut prev = head.entry_hash.clone();
    let mut stored = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let hash = entry_hash(&prev, entry)?;
        stored.push(StoredEntry {
            n: head.number + 1 + i as u64,
            hash: hash.clone(),
            entry: entry.clone(),
        });
        prev = hash;
    }
    let block = Block {
        format: FORMAT,
        chain: chain.to_string(),
        seq: head.seq + 1,
        prev: head.hash.clone(),
        entries: stored,
    };
    let mut bytes = serde_json::to_vec(&block).map_err(AuditError::Encode)?;
    bytes.push(b'\n');
    Ok(Bytes::from(bytes))
}

/// Writes `entries` as the next block, moving forward past blocks other writers added.
async fn commit(
    chain: &str,
    shared: &Shared,
    head: &mut Head,
    entries: &[AuditEntry],
) -> Result<(), AuditError> {
    loop {
        let bytes = build(chain, head, entries)?;
        let key = block_key(chain, head.seq + 1);
        let put = shared.store.put_if_absent(&key, bytes.clone()).await;
        if let Ok(true) = put {
            head.number += entries.len() as u64;
            head.seq += 1;
            head.hash = Some(sha256_hex(&bytes));
            head.entry_hash = last_hash(&bytes)?;
            return Ok(());
        }
        // Taken, or the put failed: look at what is there (a retried put may have
        // written our own bytes before its answer was lost).
        let found = match shared.store.get(&key).await {
            Ok(found) => found,
            Err(e) => return Err(put.err().map(AuditError::from).unwrap_or(e.into())),
        };
        match (found, put) {
            (Some(b), _) if b == bytes => {
                head.number += entries.len() as u64;
                head.seq += 1;
                head.hash = Some(sha256_hex(&bytes));
                head.entry_hash = last_hash(&bytes)?;
                return Ok(());
            }
            (Some(b), _) => advance(chain, head, &key, &b)?,
            (None, Err(e)) => return Err(e.into()),
            (None, Ok(_)) => return Err(corrupt(&key, "taken, yet nothing is there")),
        }
        // Straight on to the next number: a miss there costs one more read, while looking
        // first would cost a read every time and let a busier writer win every race.
    }
}

fn last_hash(bytes: &[u8]) -> Result<String, AuditError> {
    let block: Block = serde_json::from_slice(bytes).map_err(AuditError::Encode)?;
    Ok(block.last_hash().unwrap_or_default().to_string())
}

/// Moves `head` to the block another writer stored under `key`, checking that it links.
fn advance(chain: &str, head: &mut Head, key: &str, bytes: &[u8]) -> Result<(), AuditError> {
    let seq = head.seq + 1;
    let block = parse_block(key, bytes, chain, seq)?;
    let fork = |reason: String| AuditError::Fork {
        chain: chain.to_string(),
        seq,
        reason,
    };
    if block.prev != head.hash {
        return Err(fork(format!(
            "it records previous block hash {:?}, block {} has {:?}",
            block.prev, head.seq, head.hash
        )));
    }
    if block
        .entries
        .first()
        .is_some_and(|e| e.n != head.number + 1)
    {
        return Err(fork(format!(
            "its first entry is not number {}",
            head.number + 1
        )));
    }
    head.take(&block, bytes);
    Ok(())
}

/// Moves `head` past every block stored after it.
async fn refresh(chain: &str, shared: &Shared, head: &mut Head) -> Result<(), AuditError> {
    loop {
        let key = block_key(chain, head.seq + 1);
        match shared.store.get(&key).await? {
            Some(bytes) => advance(chain, head, &key, &bytes)?,
            None => return Ok(()),
        }
    }
}

/// Seals the newest block when a checkpoint is due (or `force`d and something is unsealed).
async fn maybe_checkpoint(
    chain: &str,
    shared: &Shared,
    head: &mut Head,
    force: bool,
) -> Result<(), AuditError> {
    let Some(sealer) = &shared.sealer else {
        return Ok(());
    };
    if head.seq <= head.sealed_seq {
        return Ok(());
    }
    let config = &shared.config;
    let now = shared.clock.now();
    let unsealed = head.number.saturating_sub(head.sealed_entries);
    let by_count =
        config.checkpoint_every_entries > 0 && unsealed >= config.checkpoint_every_entries;
    let waited = (now - head.sealed_at).whole_seconds();
    let by_time = config.checkpoint_every_secs > 0
        && waited >= i64::try_from(config.checkpoint_every_secs).unwrap_or(i64::MAX);
    if !(force || by_count || by_time) {
        return Ok(());
    }
    let checkpoint = sealer.seal(Checkpoint::unsigned(
        chain,
        head.seq,
        head.hash.clone().unwrap_or_default(),
        head.number,
        head.entry_hash.clone(),
        rfc3339(now),
    ))?;
    let mut bytes = serde_json::to_vec_pretty(&checkpoint).map_err(AuditError::Encode)?;
    bytes.push(b'\n');
    let bytes = Bytes::from(bytes);
    let key = checkpoint_key(chain, head.seq);
    // Taken: another process sealed the same block; either checkpoint holds.
    shared.store.put_if_absent(&key, bytes.clone()).await?;
    head.sealed_seq = head.seq;
    head.sealed_entries = head.number;
    head.sealed_at = now;
    if let Some(copy) = &shared.copy {
        copy.put_if_absent(&key, bytes).await?;
    }
    Ok(())
}
