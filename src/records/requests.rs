//! Idempotency: one in-process lock per (agency, client request id), held by a
//! [`RequestGuard`] while the copy is produced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use super::model::Record;

type Lock = Arc<tokio::sync::Mutex<()>>;
type LockMap = Arc<Mutex<HashMap<String, Lock>>>;

/// The per-request locks of one registry; entries disappear when nobody holds or awaits them.
#[derive(Default)]
pub(super) struct RequestLocks {
    locks: LockMap,
}

impl RequestLocks {
    /// Waits for the lock of `name` and returns it held.
    pub(super) async fn acquire(&self, name: String) -> HeldLock {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(locks.entry(name.clone()).or_default())
        };
        let guard = lock.lock_owned().await;
        HeldLock {
            guard: Some(guard),
            name,
            locks: Arc::clone(&self.locks),
        }
    }

    /// Number of live lock entries (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A held request lock; releasing it drops the map entry when no one else wants it.
pub(super) struct HeldLock {
    guard: Option<OwnedMutexGuard<()>>,
    name: String,
    locks: LockMap,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        // Waiters hold a clone of the Arc, so a count of 1 means only the map has it.
        if locks
            .get(&self.name)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.name);
        }
    }
}

/// Exclusive right to work on one client request id in this process, plus the record
/// already issued for it, if any. Hold it until the copy is committed (or abandoned).
pub struct RequestGuard {
    /// The copy already issued for this request id; `Some` means: return it, do not issue.
    pub existing: Option<Record>,
    _lock: HeldLock,
}

impl RequestGuard {
    pub(super) fn new(existing: Option<Record>, lock: HeldLock) -> Self {
        Self {
            existing,
            _lock: lock,
        }
    }
}

impl std::fmt::Debug for RequestGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestGuard")
            .field("existing", &self.existing.as_ref().map(|r| &r.id))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_are_removed_when_released() {
        let locks = RequestLocks::default();
        let first = locks.acquire("a".into()).await;
        let locks = Arc::new(locks);
        let waiter = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move { drop(locks.acquire("a".into()).await) })
        };
        tokio::task::yield_now().await;
        assert_eq!(locks.len(), 1);
        drop(first);
        waiter.await.unwrap();
        assert_eq!(locks.len(), 0);
    }
}
