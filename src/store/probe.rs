//! Start-up check that create-only writes are exclusive on a store: the certification book
//! and request idempotency rely on it when several processes share the store.

use bytes::Bytes;

use super::{ObjectStore, StoreError};

/// Folder of the probe objects (each removed after use).
const PROBE_PREFIX: &str = "probes/conditional-write-";
/// Writers racing for one probe key in the concurrency part of the probe.
const RACERS: usize = 8;
/// Racing rounds (the first also warms up connections, so later rounds race harder).
const ROUNDS: usize = 3;

/// What the probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionalWrites {
    /// A second create-only write of the same key was refused and the first object stayed.
    Honoured,
    /// The store does not honour create-only writes; says what it did instead.
    Ignored(String),
}

/// Checks create-only writes twice: one after the other (a fresh key written twice with
/// `put_if_absent`: the second must be refused and the first content stay), then racing
/// (`RACERS` = 8 concurrent writers of another fresh key: exactly one may win). The second
/// part catches servers that check for the key and then write it in two steps (s3s-fs
/// 0.14.1); a race can be missed, so it proves nothing when it passes, but it fails such
/// servers in practice. Removes the probe keys afterwards.
pub async fn probe_conditional_writes(
    store: &dyn ObjectStore,
) -> Result<ConditionalWrites, StoreError> {
    if let ignored @ ConditionalWrites::Ignored(_) = sequential(store).await? {
        return Ok(ignored);
    }
    for _ in 0..ROUNDS {
        if let ignored @ ConditionalWrites::Ignored(_) = racing(store).await? {
            return Ok(ignored);
        }
    }
    Ok(ConditionalWrites::Honoured)
}

async fn racing(store: &dyn ObjectStore) -> Result<ConditionalWrites, StoreError> {
    let key = format!("{PROBE_PREFIX}{:032x}", rand::random::<u128>());
    let writers = (0..RACERS).map(|i| {
        let data = Bytes::from(format!("saoy probe {key} writer {i}"));
        store.put_if_absent(&key, data)
    });
    let results = futures::future::join_all(writers).await;
    if let Err(e) = store.delete(&key).await {
        tracing::warn!(key, error = %e, "could not remove the conditional-write probe");
    }
    let mut winners = 0;
    for result in results {
        if result? {
            winners += 1;
        }
    }
    Ok(match winners {
        1 => ConditionalWrites::Honoured,
        0 => ConditionalWrites::Ignored(format!(
            "none of {RACERS} racing create-only writes of a fresh key succeeded"
        )),
        n => ConditionalWrites::Ignored(format!(
            "it does not make If-None-Match: * atomic — {n} of {RACERS} racing create-only \
             writes of one fresh key all succeeded (the last one overwrote the others)"
        )),
    })
}

async fn sequential(store: &dyn ObjectStore) -> Result<ConditionalWrites, StoreError> {
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
                "the second create-only write was refused but the first object did not stay".into(),
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
