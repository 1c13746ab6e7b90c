//! The audit log: who did what, hash-chained and append-only in the object store, with
//! signed checkpoints, so that nobody can rewrite it unseen (issue 10).
//!
//! # Layout
//! One chain per agency (its code names the chain) plus `_none` for calls that name no
//! agency:
//! - `audit/<chain>/blocks/<seq:020>.json` — block `seq` (from 1): `{"format":1, "chain",
//!   "seq", "prev": hex SHA-256 of block seq-1's stored bytes (null for block 1),
//!   "entries": [{"n": number in the chain from 1, "hash", "entry": AuditEntry}]}`. An
//!   entry's `hash` is SHA-256 over the previous entry's hash (empty for entry 1), `\n` and
//!   the entry's JSON as saoy writes it ([`entry_hash`]).
//! - `audit/<chain>/checkpoints/<seq:020>.json` — a [`Checkpoint`] sealing block `seq`: its
//!   hash, the entries up to it, the last entry hash, the time, and a signature over
//!   [`Checkpoint::signed_bytes`] with the signer certificate (hex DER).
//!
//! # Writing
//! Blocks are claimed with create-only writes (`put_if_absent`), which are exclusive also
//! across processes, so replicas sharing a store never fork the chain: a writer that loses
//! a number reads the block that won, checks that it links to what it knew, moves forward
//! and writes its entries again after it. In one process, a writer task per chain takes
//! every entry waiting (up to `max_batch`) into one block: a group commit, so the log is
//! not a serial point. `append` returns once its block is stored.
//!
//! # Verifying
//! [`verify`] walks each chain and names the first block or entry edited, removed or
//! reordered, and checks every checkpoint's signature and the block it seals. Entries after
//! the last checkpoint are reported as not yet sealed: removing them, or the whole tail
//! together with its checkpoints, is seen only against checkpoints kept elsewhere
//! ([`AuditLog::with_checkpoint_copy`], [`VerifyOptions::external_checkpoints`]).

pub mod cli;
mod config;
mod error;
mod log;
mod model;
mod read;
mod report;
mod seal;
mod verify;
mod writer;

pub use config::{
    AuditConfig, DEFAULT_CHECKPOINT_EVERY_ENTRIES, DEFAULT_CHECKPOINT_EVERY_SECS, DEFAULT_MAX_BATCH,
};
pub use error::AuditError;
pub use log::{AuditLog, MAX_ENTRY_BYTES};
pub use model::{
    Actor, AuditEntry, Block, EntryId, NO_AGENCY, StoredEntry, block_key, checkpoint_key,
    entry_hash,
};
pub use read::AuditFilter;
pub use report::{ChainReport, Problem, ProblemKind, SealInfo, VerifyReport};
pub use seal::{Checkpoint, Sealer};
pub use verify::{VerifyOptions, read_checkpoints, verify, verify_with};

#[cfg(test)]
mod tests;
