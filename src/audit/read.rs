//! Reading the log back: which chains exist, their blocks in order, entries by filter.

use futures::stream::{self, StreamExt, TryStreamExt};
use time::OffsetDateTime;

use super::error::AuditError;
use super::model::{
    AuditEntry, Block, EntryId, NO_AGENCY, ROOT, blocks_prefix, chain_name, chains_in, parse_time,
    seq_of,
};
use crate::store::ObjectStore;

/// How many objects are read at once.
pub const READ_AHEAD: usize = 16;

/// Which entries [`super::AuditLog::entries`] returns; every field set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries about this citizen (`owner_id`).
    pub owner_id: Option<String>,
    /// Only this action (e.g. `GetCopy`).
    pub action: Option<String>,
    /// Only entries about this copy.
    pub copy_id: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only entries before this time.
    pub until: Option<OffsetDateTime>,
    /// At most this many entries (the first ones in order).
    pub limit: Option<usize>,
}

impl AuditFilter {
    /// Whether `entry` passes the filter.
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        if !same(&self.owner_id, entry.owner_id.as_deref())
            || !same(&self.action, Some(&entry.action))
            || !same(&self.copy_id, entry.copy_id.as_deref())
        {
            return false;
        }
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Some(at) = parse_time(&entry.at) else {
            return false;
        };
        self.since.is_none_or(|s| at >= s) && self.until.is_none_or(|u| at < u)
    }
}

/// The chain a reader names: an agency code or [`NO_AGENCY`] itself.
pub fn reading_chain(name: &str) -> Result<String, AuditError> {
    if name == NO_AGENCY {
        return Ok(name.to_string());
    }
    chain_name(Some(name))
}

/// The chains to read: the one named, or every chain in the store.
pub async fn chains(
    store: &dyn ObjectStore,
    chain: Option<&str>,
) -> Result<Vec<String>, AuditError> {
    match chain {
        Some(name) => Ok(vec![reading_chain(name)?]),
        None => Ok(chains_in(&store.list(ROOT).await?)),
    }
}

/// A chain's block keys with their numbers, in order, and keys under `blocks/` that are
/// not block keys.
pub async fn block_keys(
    store: &dyn ObjectStore,
    chain: &str,
) -> Result<(Vec<(u64, String)>, Vec<String>), AuditError> {
    let prefix = blocks_prefix(chain);
    let mut blocks = Vec::new();
    let mut other = Vec::new();
    for key in store.list(&prefix).await? {
        match seq_of(&key, &prefix) {
            Some(seq) => blocks.push((seq, key)),
            None => other.push(key),
        }
    }
    blocks.sort();
    Ok((blocks, other))
}

/// Entries of one chain (or all chains, chain by chain in name order) that match `filter`,
/// in chain order.
pub async fn entries(
    store: &dyn ObjectStore,
    chain: Option<&str>,
    filter: &AuditFilter,
) -> Result<Vec<(EntryId, AuditEntry)>, AuditError> {
    let limit = filter.limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for chain in chains(store, chain).await? {
        let (keys, _) = block_keys(store, &chain).await?;
        let mut blocks = stream::iter(keys)
            .map(|(_, key)| async move {
                let bytes = store.get(&key).await?;
                Ok::<_, AuditError>((key, bytes))
            })
            .buffered(READ_AHEAD);
        while let Some((key, bytes)) = blocks.try_next().await? {
            let Some(bytes) = bytes else { continue };
            let block: Block = serde_json::from_slice(&bytes).map_err(|e| AuditError::Corrupt {
                key: key.clone(),
                reason: format!("not a block ({e}); run `saoy audit verify`"),
            })?;
            for stored in block.entries {
                if out.len() >= limit {
                    return Ok(out);
                }
                if filter.matches(&stored.entry) {
                    let id = EntryId {
                        chain: chain.clone(),
                        block: block.seq,
                        number: stored.n,
                    };
                    out.push((id, stored.entry));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_by_fields_and_time() {
        let entry = AuditEntry {
            at: "2026-03-01T10:00:00+07:00".into(),
            action: "GetCopy".into(),
            owner_id: Some("001099000001".into()),
            ..Default::default()
        };
        let t = |s: &str| parse_time(s);
        assert!(AuditFilter::default().matches(&entry));
        let owner = AuditFilter {
            owner_id: Some("001099000001".into()),
            action: Some("GetCopy".into()),
            ..Default::default()
        };
        assert!(owner.matches(&entry));
        let other = AuditFilter {
            owner_id: Some("001099000002".into()),
            ..Default::default()
        };
        assert!(!other.matches(&entry));
        let copy = AuditFilter {
            copy_id: Some("x".into()),
            ..Default::default()
        };
        assert!(!copy.matches(&entry));
        let window = AuditFilter {
            since: t("2026-03-01T03:00:00Z"),
            until: t("2026-03-01T03:00:01Z"),
            ..Default::default()
        };
        assert!(window.matches(&entry));
        let later = AuditFilter {
            since: t("2026-03-01T03:00:01Z"),
            ..Default::default()
        };
        assert!(!later.matches(&entry));
        let mut undated = entry.clone();
        undated.at = "yesterday".into();
        assert!(!window.matches(&undated));
    }
}
