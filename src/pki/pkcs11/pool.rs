//! A bounded pool of PKCS#11 sessions (generic over what it holds, so its rules are tested
//! without a token): at most `max` items exist at once, opened lazily when no idle one is
//! left, lent to one caller at a time and returned when the [`Lease`] drops; a caller
//! finding all of them lent waits. A broken item is [`Lease::discard`]ed: dropped (for a
//! session: closed) and no longer counted, so the next caller opens a fresh one.

use std::ops::Deref;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Items open (idle or lent), the idle ones, and the most ever open at once.
struct State<T> {
    idle: Vec<T>,
    open: usize,
    peak: usize,
}

/// The pool. `T` is dropped to close it.
pub(super) struct Pool<T> {
    state: Mutex<State<T>>,
    freed: Condvar,
    max: usize,
}

/// One item lent out; it goes back to the pool when dropped.
pub(super) struct Lease<'a, T> {
    pool: &'a Pool<T>,
    item: Option<T>,
}

impl<T> Pool<T> {
    /// An empty pool of at most `max` items (at least 1).
    pub(super) fn new(max: usize) -> Self {
        Self {
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                peak: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The state stays consistent under panics (counts change with the vector), so a
        // poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds an item opened elsewhere (e.g. the session that found the key) as idle; it is
    /// dropped instead when the pool is full.
    pub(super) fn put(&self, item: T) {
        let mut st = self.lock();
        if st.open < self.max {
            st.open += 1;
            st.peak = st.peak.max(st.open);
            st.idle.push(item);
            drop(st);
            self.freed.notify_one();
        }
    }

    /// Lends an idle item, or opens one with `open` when fewer than `max` exist, or waits
    /// for one to come back. `open` runs without the pool's lock held.
    pub(super) fn get<E>(&self, open: impl FnOnce() -> Result<T, E>) -> Result<Lease<'_, T>, E> {
        let mut st = self.lock();
        loop {
            if let Some(item) = st.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    item: Some(item),
                });
            }
            if st.open < self.max {
                st.open += 1;
                st.peak = st.peak.max(st.open);
                drop(st);
                return match open() {
                    Ok(item) => Ok(Lease {
                        pool: self,
                        item: Some(item),
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            st = self.freed.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Drops every idle item (after one turned out broken, the others likely are too).
    pub(super) fn clear_idle(&self) {
        let stale: Vec<T> = {
            let mut st = self.lock();
            let stale = std::mem::take(&mut st.idle);
            st.open -= stale.len();
            stale
        };
        drop(stale);
        self.freed.notify_all();
    }

    /// Items open now, idle or lent.
    pub(super) fn open(&self) -> usize {
        self.lock().open
    }

    /// The most items ever open at once.
    pub(super) fn peak(&self) -> usize {
        self.lock().peak
    }
}

impl<T> Lease<'_, T> {
    /// Drops the item instead of returning it (it is broken); the pool may open a new one.
    pub(super) fn discard(mut self) {
        if let Some(item) = self.item.take() {
            drop(item);
            self.pool.lock().open -= 1;
            self.pool.freed.notify_one();
        }
    }
}

impl<T> Deref for Lease<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // `item` is only taken by `discard` (which consumes the lease) and by `drop`.
        self.item
            .as_ref()
            .unwrap_or_else(|| unreachable!("a lease holds its item until it ends"))
    }
}

impl<T> Drop for Lease<'_, T> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            self.pool.lock().idle.push(item);
            self.pool.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn at_most_max_items_are_opened_under_contention() {
        let pool = Arc::new(Pool::new(3));
        let opened = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let (pool, opened) = (Arc::clone(&pool), Arc::clone(&opened));
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let lease = pool
                            .get(|| Ok::<_, ()>(opened.fetch_add(1, Ordering::SeqCst)))
                            .unwrap();
                        std::thread::sleep(std::time::Duration::from_micros(200));
                        drop(lease);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(opened.load(Ordering::SeqCst), 3);
        assert_eq!(pool.peak(), 3);
        assert_eq!(pool.open(), 3);
    }

    #[test]
    fn discarded_and_failed_items_free_their_place() {
        let pool = Pool::new(1);
        let lease = pool.get(|| Ok::<_, ()>(1)).unwrap();
        lease.discard();
        assert_eq!(pool.open(), 0);
        assert!(pool.get(|| Err::<i32, _>("down")).is_err());
        assert_eq!(pool.open(), 0);
        let lease = pool.get(|| Ok::<_, ()>(2)).unwrap();
        assert_eq!(*lease, 2);
        drop(lease);
        pool.clear_idle();
        assert_eq!(pool.open(), 0);
        pool.put(5);
        pool.put(6);
        assert_eq!(pool.open(), 1, "put beyond max drops the item");
        assert_eq!(*pool.get(|| Ok::<_, ()>(7)).unwrap(), 5);
    }
}
