//! What [`super::verify`] found, per chain, and its text form.

use serde::Serialize;

/// What kind of damage a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A block's or an entry's bytes were changed after they were written.
    Edited,
    /// A block (or entries) is missing in the middle of the chain.
    Removed,
    /// A block or entry is not where its number says (moved or swapped).
    Reordered,
    /// The store's chain and a checkpoint kept elsewhere disagree about a sealed block.
    Fork,
    /// A checkpoint is unreadable, its signature does not hold, or its signer is not trusted.
    BadCheckpoint,
    /// Blocks a checkpoint sealed are gone from the end of the chain.
    TailCut,
    /// An object under the chain's folder that the log never writes.
    Foreign,
}

/// One problem, placed at the block (and entry, when known) where it starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// The block number (from 1) where the damage starts.
    pub block: u64,
    /// The entry number (from 1), when the damage is one entry.
    pub entry: Option<u64>,
    /// A sentence naming what is wrong.
    pub message: String,
}

/// A checkpoint that holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SealInfo {
    /// The block it seals.
    pub block: u64,
    /// Entries up to and including that block.
    pub entries: u64,
    /// When it was made.
    pub at: String,
    /// Hex SHA-256 of the signer certificate.
    pub signer_sha256: String,
    /// Whether it came from the checkpoints given from elsewhere (not the store itself).
    pub external: bool,
}

/// The verdict on one chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The chain (agency code, or `_none`).
    pub chain: String,
    /// Blocks read.
    pub blocks: u64,
    /// Entries read.
    pub entries: u64,
    /// The newest checkpoint that holds, if any.
    pub last_checkpoint: Option<SealInfo>,
    /// Entries after the last checkpoint that holds: not yet sealed, so cutting them off
    /// cannot be seen.
    pub unsealed_entries: u64,
    /// Signers of checkpoints accepted without a trust list (hex SHA-256 of their
    /// certificates): a checkpoint proves only as much as its signer is known.
    pub signers_not_checked: Vec<String>,
    /// Every problem found, first (lowest block, then entry) first.
    pub problems: Vec<Problem>,
}

impl ChainReport {
    /// The problem nearest the start of the chain.
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
}

/// The verdict on every chain looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// One report per chain, by name.
    pub chains: Vec<ChainReport>,
    /// Checkpoints given from elsewhere that could not be read at all.
    pub unreadable_external: Vec<String>,
}

impl VerifyReport {
    /// Whether every chain and checkpoint is intact (an unsealed tail is not a problem).
    pub fn is_intact(&self) -> bool {
        self.unreadable_external.is_empty() && self.chains.iter().all(|c| c.problems.is_empty())
    }

    /// Human-readable lines: per chain the counts, the last checkpoint, the unsealed tail,
    /// and the first problem (then how many more).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.chains.is_empty() {
            out.push_str("no audit chains found\n");
        }
        for c in &self.chains {
            out.push_str(&render_chain(c));
        }
        for e in &self.unreadable_external {
            out.push_str(&format!("external checkpoint unreadable: {e}\n"));
        }
        out.push_str(if self.is_intact() {
            "audit log intact\n"
        } else {
            "audit log DAMAGED\n"
        });
        out
    }
}

fn render_chain(c: &ChainReport) -> String {
    let mut out = format!(
        "chain {}: {} entries in {} blocks\n",
        c.chain, c.entries, c.blocks
    );
    match &c.last_checkpoint {
        Some(s) => out.push_str(&format!(
            "  last checkpoint: block {} ({} entries) at {}, signer sha256 {}{}\n",
            s.block,
            s.entries,
            s.at,
            s.signer_sha256,
            if s.external { " (external copy)" } else { "" }
        )),
        None => out.push_str("  no checkpoint\n"),
    }
    if c.unsealed_entries > 0 {
        out.push_str(&format!(
            "  {} entries not yet sealed (after the last checkpoint)\n",
            c.unsealed_entries
        ));
    }
    for s in &c.signers_not_checked {
        out.push_str(&format!(
            "  checkpoint signer not checked against a trust list: sha256 {s}\n"
        ));
    }
    if let Some(p) = c.first_problem() {
        out.push_str(&format!("  FIRST PROBLEM: {}\n", p.message));
        if c.problems.len() > 1 {
            out.push_str(&format!("  and {} more problems\n", c.problems.len() - 1));
        }
    }
    out
}
