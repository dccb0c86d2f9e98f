//! Opaque handles: what Java holds instead of a pointer.
//!
//! Java gets a `long` id, never an address. Ids come from a counter and are
//! never reused, so a stale id from a closed filter can only miss, never reach
//! another filter's engine.
//!
//! Every batch of every pipeline worker looks its engine up, so a lookup
//! writes nothing another thread reads: the map is an immutable snapshot
//! behind an [`ArcSwap`], loaded without a lock or a reference count, and
//! `insert` and `remove` (a filter starting or closing) publish a new one. A
//! call works on the snapshot it loaded, so an engine is freed only after the
//! last call that found it has returned.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

/// A map from never-reused ids to shared values.
#[derive(Debug)]
pub struct Registry<T> {
    next: AtomicU64,
    entries: ArcSwap<HashMap<u64, Arc<T>>>,
}

impl<T> Default for Registry<T> {
    fn default() -> Registry<T> {
        Registry::new()
    }
}

impl<T> Registry<T> {
    pub fn new() -> Registry<T> {
        Registry {
            next: AtomicU64::new(1),
            entries: ArcSwap::from_pointee(HashMap::new()),
        }
    }

    /// Stores `value` and returns its id: positive and never returned before.
    pub fn insert(&self, value: T) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let value = Arc::new(value);
        self.entries.rcu(|entries| {
            let mut entries = HashMap::clone(entries);
            entries.insert(id, Arc::clone(&value));
            entries
        });
        id
    }

    /// The value for `id` as Java passes it, if it is still registered.
    pub fn get(&self, id: i64) -> Option<Arc<T>> {
        self.with(id, Arc::clone)
    }

    /// `f` of the value for `id`, if it is still registered; the hot path's
    /// lookup, which takes no reference count.
    pub fn with<R>(&self, id: i64, f: impl FnOnce(&Arc<T>) -> R) -> Option<R> {
        let id = u64::try_from(id).ok()?;
        self.entries.load().get(&id).map(f)
    }

    /// Unregisters `id`; returns its value if and only if it was registered.
    pub fn remove(&self, id: i64) -> Option<Arc<T>> {
        let id = u64::try_from(id).ok()?;
        let mut removed = None;
        self.entries.rcu(|entries| {
            let mut entries = HashMap::clone(entries);
            removed = entries.remove(&id);
            entries
        });
        removed
    }

    /// How many values are registered.
    pub fn len(&self) -> usize {
        self.entries.load().len()
    }

    /// Returns true if and only if nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn ids_start_at_one_and_are_never_reused() {
        let r = Registry::new();
        let a = r.insert("a");
        assert_eq!(a, 1);
        assert!(r.remove(a as i64).is_some());
        let b = r.insert("b");
        assert_eq!(b, 2);
        assert!(
            r.get(a as i64).is_none(),
            "a closed id must not reach another value"
        );
        assert_eq!(r.get(b as i64).as_deref(), Some(&"b"));
    }

    #[test]
    fn unknown_zero_and_negative_ids_miss() {
        let r = Registry::new();
        r.insert(1u8);
        for id in [0, -1, i64::MIN, 99] {
            assert!(r.get(id).is_none());
            assert!(r.remove(id).is_none());
        }
    }

    #[test]
    fn remove_is_idempotent() {
        let r = Registry::new();
        let id = r.insert(5) as i64;
        assert_eq!(r.remove(id).as_deref(), Some(&5));
        assert!(r.remove(id).is_none());
        assert!(r.is_empty());
    }

    #[test]
    fn a_value_outlives_removal_while_a_caller_holds_it() {
        let r = Registry::new();
        let id = r.insert(String::from("engine")) as i64;
        let held = r.get(id).unwrap();
        let removed = r.remove(id).unwrap();
        drop(removed);
        assert_eq!(held.as_str(), "engine");
        assert_eq!(Arc::strong_count(&held), 1);
    }

    #[test]
    fn concurrent_lookups_and_removal() {
        let r = Arc::new(Registry::new());
        let id = r.insert(AtomicU64::new(0)) as i64;
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let r = Arc::clone(&r);
                thread::spawn(move || {
                    let mut hits = 0;
                    for _ in 0..10_000 {
                        if let Some(v) = r.get(id) {
                            v.fetch_add(1, Ordering::Relaxed);
                            hits += 1;
                        }
                    }
                    hits
                })
            })
            .collect();
        let removed = r.remove(id).unwrap();
        let hits: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(removed.load(Ordering::Relaxed), hits);
        assert!(r.get(id).is_none());
    }
}
