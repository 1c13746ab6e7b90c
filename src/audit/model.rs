//! What the audit log stores: entries, blocks, their keys and the running entry hash.
//!
//! A block is one JSON object under `audit/<chain>/blocks/<seq:020>.json`; see the module
//! documentation of [`crate::audit`] for the format.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::AuditError;
use crate::hash::sha256_hex;

/// Format version written into every block and checkpoint.
pub const FORMAT: u32 = 1;
/// Chain name of calls that name no agency.
pub const NO_AGENCY: &str = "_none";
/// Root of everything the audit log writes.
pub const ROOT: &str = "audit/";
/// Longest agency code accepted as a chain name.
const MAX_CHAIN_LEN: usize = 64;

/// Who made a call, as the transport proved it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Hex SHA-256 of the client certificate (mTLS), if one was presented.
    pub fingerprint: Option<String>,
    /// Agency code of the caller, as its certificate or configuration says.
    pub agency: Option<String>,
    /// Role the caller acted in (e.g. `clerk`, `verifier`, `portal`).
    pub role: Option<String>,
    /// 12-digit personal id of the citizen when a portal acted for a citizen.
    pub citizen: Option<String>,
}

/// One audited event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339 time of the event; set by the log from its clock when empty.
    pub at: String,
    /// Who made the call.
    pub actor: Actor,
    /// The call, e.g. `Certify`, `GetCopy`, `VerifyCopy`, `ListRecords`, `RevokeCopy`.
    pub action: String,
    /// The certified copy involved, if any.
    pub copy_id: Option<String>,
    /// The citizen whose data was touched (the owner id the agency keeps for its records).
    pub owner_id: Option<String>,
    /// The consent the call relied on, if any.
    pub consent_id: Option<String>,
    /// `ok`, `denied: <rule>` or `error: <kind>`.
    pub outcome: String,
    /// Free text for what the fields above do not say.
    pub detail: Option<String>,
    /// The request id of the call (`x-request-id`, taken or made), when it came through
    /// gRPC. Added after format 1 was first written: absent, it is left out of the JSON
    /// (and so of the entry hash), and entries written before it still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Where an entry sits: its chain, its block and its number in the chain (from 1).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntryId {
    /// The chain (agency code, or [`NO_AGENCY`]).
    pub chain: String,
    /// Sequence number of the block holding the entry (from 1).
    pub block: u64,
    /// Position of the entry in its chain (from 1).
    pub number: u64,
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} entry {} (block {})",
            self.chain, self.number, self.block
        )
    }
}

/// An entry as stored: its number, the running hash and the entry itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredEntry {
    /// Position in the chain (from 1).
    pub n: u64,
    /// [`entry_hash`] of the previous entry's hash and this entry.
    pub hash: String,
    /// The event.
    pub entry: AuditEntry,
}

/// One block as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Block {
    /// Format version (1).
    pub format: u32,
    /// The chain it belongs to.
    pub chain: String,
    /// Its sequence number (from 1), also in its key.
    pub seq: u64,
    /// Hex SHA-256 of the previous block's stored bytes; `None` for block 1.
    pub prev: Option<String>,
    /// The entries, numbered on from the previous block's last.
    pub entries: Vec<StoredEntry>,
}

impl Block {
    /// Number of the last entry of this block (the previous block's when empty).
    pub fn last_number(&self) -> u64 {
        self.entries.last().map(|e| e.n).unwrap_or(0)
    }

    /// Hash of the last entry (for chaining the next block's first entry).
    pub fn last_hash(&self) -> Option<&str> {
        self.entries.last().map(|e| e.hash.as_str())
    }
}

/// The running entry hash: SHA-256 over the previous entry's hash (empty for the first
/// entry of a chain), a newline, and the entry's canonical JSON.
pub fn entry_hash(prev: &str, entry: &AuditEntry) -> Result<String, AuditError> {
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(prev.as_bytes());
    bytes.push(b'\n');
    serde_json::to_writer(&mut bytes, entry).map_err(AuditError::Encode)?;
    Ok(sha256_hex(&bytes))
}

/// The chain name for an agency code (`None`: calls that name no agency).
pub fn chain_name(agency: Option<&str>) -> Result<String, AuditError> {
    let Some(code) = agency else {
        return Ok(NO_AGENCY.to_string());
    };
    let bad = |reason: &str| AuditError::InvalidChain {
        chain: code.chars().take(80).collect(),
        reason: reason.to_string(),
    };
    if code.is_empty() || code.len() > MAX_CHAIN_LEN {
        return Err(bad("an agency code has 1 to 64 characters"));
    }
    if code.starts_with(['.', '_', '-']) {
        return Err(bad("an agency code does not start with `.`, `_` or `-`"));
    }
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(bad("an agency code has only A-Z a-z 0-9 . _ -"));
    }
    Ok(code.to_string())
}

/// Prefix of one chain's blocks.
pub fn blocks_prefix(chain: &str) -> String {
    format!("{ROOT}{chain}/blocks/")
}

/// Key of block `seq` of `chain`.
pub fn block_key(chain: &str, seq: u64) -> String {
    format!("{ROOT}{chain}/blocks/{seq:020}.json")
}

/// Prefix of one chain's checkpoints.
pub fn checkpoints_prefix(chain: &str) -> String {
    format!("{ROOT}{chain}/checkpoints/")
}

/// Key of the checkpoint sealing block `seq` of `chain`.
pub fn checkpoint_key(chain: &str, seq: u64) -> String {
    format!("{ROOT}{chain}/checkpoints/{seq:020}.json")
}

/// The sequence number in a block or checkpoint key under `prefix`, if it is one.
pub fn seq_of(key: &str, prefix: &str) -> Option<u64> {
    let digits = key.strip_prefix(prefix)?.strip_suffix(".json")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The chain names found in a listing of [`ROOT`].
pub fn chains_in(keys: &[String]) -> Vec<String> {
    let mut chains: Vec<String> = keys
        .iter()
        .filter_map(|k| k.strip_prefix(ROOT)?.split_once('/').map(|(c, _)| c))
        .map(str::to_string)
        .collect();
    chains.dedup();
    chains
}

/// Parses an RFC 3339 time.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names() {
        assert_eq!(chain_name(None).unwrap(), NO_AGENCY);
        assert_eq!(chain_name(Some("H72.21.01")).unwrap(), "H72.21.01");
        for bad in ["", "_none", "../x", "a/b", ".x", "ä", &"x".repeat(65)] {
            assert!(chain_name(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_round_trip() {
        let key = block_key("A", 42);
        assert_eq!(key, "audit/A/blocks/00000000000000000042.json");
        assert_eq!(seq_of(&key, &blocks_prefix("A")), Some(42));
        assert_eq!(seq_of("audit/A/blocks/42.json", &blocks_prefix("A")), None);
        assert_eq!(seq_of(&key, &checkpoints_prefix("A")), None);
        let keys = vec![block_key("A", 1), checkpoint_key("A", 1), block_key("B", 1)];
        assert_eq!(chains_in(&keys), ["A", "B"]);
    }

    #[test]
    fn entry_hash_depends_on_previous_and_content() {
        let e = AuditEntry {
            action: "GetCopy".into(),
            ..Default::default()
        };
        let h1 = entry_hash("", &e).unwrap();
        assert_ne!(h1, entry_hash("x", &e).unwrap());
        let mut e2 = e.clone();
        e2.outcome = "ok".into();
        assert_ne!(h1, entry_hash("", &e2).unwrap());
        assert_eq!(h1, entry_hash("", &e).unwrap());
        let mut e3 = e.clone();
        e3.request_id = Some("r-1".into());
        assert_ne!(h1, entry_hash("", &e3).unwrap());
    }

    /// An entry as written before `request_id` existed: read back, it hashes to what was
    /// stored then (the field, absent, stays out of the canonical JSON).
    #[test]
    fn old_entries_without_request_id_keep_their_hash() {
        let old = r#"{"at":"2026-03-01T10:00:00+07:00","actor":{"fingerprint":null,"agency":"A","role":"clerk","citizen":null},"action":"GetCopy","copy_id":"c1","owner_id":null,"consent_id":null,"outcome":"ok","detail":null}"#;
        let mut bytes = b"\n".to_vec();
        bytes.extend_from_slice(old.as_bytes());
        let stored_hash = sha256_hex(&bytes);
        let entry: AuditEntry = serde_json::from_str(old).unwrap();
        assert_eq!(entry.request_id, None);
        assert_eq!(entry_hash("", &entry).unwrap(), stored_hash);
        assert_eq!(serde_json::to_string(&entry).unwrap(), old);
    }
}
