//! Start-up check that create-only writes are exclusive on a store: the certification book
//! and request idempotency rely on it when several processes share the store.

use bytes::Bytes;

use super::{ObjectStore, StoreError};

/// Folder of the probe objects (each removed after use).
const PROBE_PREFIX: &str = "probes/conditional-write-";

/// What the probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionalWrites {
    /// A second create-only write of the same key was refused and the first object stayed.
    Honoured,
    /// The store does not honour create-only writes; says what it did instead.
    Ignored(String),
}

/// Writes a fresh probe key twice with `put_if_absent`: the second write must be refused
/// and the first content must stay. Removes the probe key afterwards.
pub async fn probe_conditional_writes(
    store: &dyn ObjectStore,
) -> Result<ConditionalWrites, StoreError> {
    let key = format!("{PROBE_PREFIX}{:032x}", rand::random::<u128>());
    let first = Bytes::from(format!("saoy probe {key} first"));
    let second = Bytes::from(format!("saoy probe {key} second"));
    let verdict = async {
        if !store.put_if_absent(&key, first.clone()).await? {
            return Ok(ConditionalWrites::Ignored(format!(
                "a create-only write of the fresh key {key} was refused as if it existed"
            )));
        }
        let refused = !store.put_if_absent(&key, second.clone()).await?;
        let kept = store.get(&key).await?;
        Ok(match (refused, kept) {
            (true, Some(kept)) if kept == first => ConditionalWrites::Honoured,
            (true, _) => ConditionalWrites::Ignored(
                "the second create-only write was refused but the first object did not stay"
                    .into(),
            ),
            (false, Some(kept)) if kept == second => ConditionalWrites::Ignored(
                "it ignores If-None-Match: * — a second create-only write of the same key \
                 succeeded and overwrote the first object"
                    .into(),
            ),
            (false, _) => ConditionalWrites::Ignored(
                "it ignores If-None-Match: * — a second create-only write of the same key \
                 succeeded"
                    .into(),
            ),
        })
    }
    .await;
    if let Err(e) = store.delete(&key).await {
        tracing::warn!(key, error = %e, "could not remove the conditional-write probe");
    }
    verdict
}
