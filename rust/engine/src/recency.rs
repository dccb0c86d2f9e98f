//! A bounded recency order with lazy deletion, for tables that evict their
//! least recently seen entry (the groups of [`threshold`](crate::threshold)
//! and [`flatline`](crate::flatline)).
//!
//! The owner keeps its entries in its own map and stores in each the stamp
//! that [`Recency::touch`] returned when the entry was last seen. Seeing an
//! entry again does not search the queue for its older record: that record
//! stays, stale (its stamp is no longer the entry's), and a new one is
//! pushed. Stale records are skipped when popped and compacted away once the
//! queue holds more than twice the live entries (plus [`SLACK`]), so a few
//! hot keys seen millions of times cannot grow it and every operation is
//! amortised O(1).
//!
//! The dedup [`window`](crate::window) does not use it: its entries are not
//! moved when seen again (insertion order is its expiry order), so its queue
//! never holds stale records to compact.

use std::collections::VecDeque;

/// Records allowed beyond twice the live entries before a compaction, so
/// that small tables do not compact on nearly every touch.
const SLACK: usize = 64;

/// Keys, least recently seen first, each with the stamp of when.
#[derive(Debug)]
pub(crate) struct Recency<K> {
    /// (stamp, key), oldest first; a key's older records are stale.
    order: VecDeque<(u64, K)>,
    next_stamp: u64,
}

impl<K> Recency<K> {
    pub(crate) fn new() -> Recency<K> {
        Recency {
            order: VecDeque::new(),
            next_stamp: 0,
        }
    }

    /// Records that `key` was seen now and returns its new stamp, which the
    /// owner stores with the entry (its earlier records become stale).
    pub(crate) fn touch(&mut self, key: K) -> u64 {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.order.push_back((stamp, key));
        stamp
    }

    /// Pops records, oldest first, until one is current, and returns its
    /// key for the owner to remove; `None` if no record is current.
    ///
    /// `is_current(key, stamp)` returns true if and only if the owner holds
    /// `key` and `stamp` is the latest it got for it.
    pub(crate) fn evict_oldest(&mut self, is_current: impl Fn(&K, u64) -> bool) -> Option<K> {
        while let Some((stamp, key)) = self.order.pop_front() {
            if is_current(&key, stamp) {
                return Some(key);
            }
        }
        None
    }

    /// Pops records, oldest first, while `retire(key, stamp)` returns true,
    /// and returns how many it popped. `retire` says true for a stale record
    /// and for a current one whose entry the owner removes; false for the
    /// first entry to keep, whose record stays first.
    ///
    /// For an owner whose entries expire in the order they were last seen:
    /// expiring costs what expires, not the table.
    pub(crate) fn retire_oldest(&mut self, mut retire: impl FnMut(&K, u64) -> bool) -> usize {
        let mut popped = 0;
        while let Some((stamp, key)) = self.order.front() {
            if !retire(key, *stamp) {
                break;
            }
            self.order.pop_front();
            popped += 1;
        }
        popped
    }

    /// Drops the stale records if there are more than `2 × live + SLACK`,
    /// `live` being how many entries the owner holds (see
    /// [`Recency::evict_oldest`] for `is_current`).
    pub(crate) fn compact(&mut self, live: usize, is_current: impl Fn(&K, u64) -> bool) {
        if self.order.len() <= 2 * live + SLACK {
            return;
        }
        self.order.retain(|(stamp, key)| is_current(key, *stamp));
    }

    /// Records queued, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An owner: each key's latest stamp.
    struct Table {
        stamps: HashMap<&'static str, u64>,
        order: Recency<&'static str>,
    }

    impl Table {
        fn new() -> Table {
            Table {
                stamps: HashMap::new(),
                order: Recency::new(),
            }
        }

        fn see(&mut self, key: &'static str) {
            let stamp = self.order.touch(key);
            self.stamps.insert(key, stamp);
            let stamps = &self.stamps;
            self.order
                .compact(stamps.len(), |k, s| stamps.get(k) == Some(&s));
        }

        fn evict(&mut self) -> Option<&'static str> {
            let stamps = &self.stamps;
            let key = self.order.evict_oldest(|k, s| stamps.get(k) == Some(&s))?;
            self.stamps.remove(key);
            Some(key)
        }
    }

    #[test]
    fn evicts_the_least_recently_seen_first() {
        let mut t = Table::new();
        for key in ["a", "b", "c"] {
            t.see(key);
        }
        assert_eq!(t.evict(), Some("a"));
        assert_eq!(t.evict(), Some("b"));
        assert_eq!(t.evict(), Some("c"));
        assert_eq!(t.evict(), None);
    }

    #[test]
    fn stale_records_are_skipped() {
        let mut t = Table::new();
        for key in ["a", "b", "a", "c", "b"] {
            t.see(key);
        }
        assert_eq!(t.order.len(), 5, "seeing again leaves the old record");
        assert_eq!(t.evict(), Some("a"));
        assert_eq!(t.evict(), Some("c"));
        assert_eq!(t.evict(), Some("b"));
        assert_eq!(t.evict(), None);
        assert_eq!(t.order.len(), 0);
    }

    #[test]
    fn a_removed_entry_is_not_evicted() {
        let mut t = Table::new();
        t.see("a");
        t.see("b");
        t.stamps.remove("a");
        assert_eq!(t.evict(), Some("b"));
        assert_eq!(t.evict(), None);
    }

    #[test]
    fn compaction_keeps_the_queue_within_twice_the_entries_plus_slack() {
        let mut t = Table::new();
        let keys = ["a", "b", "c"];
        for i in 0..100_000 {
            t.see(keys[i % 3]);
            assert!(t.order.len() <= 2 * t.stamps.len() + SLACK);
        }
        // Compaction kept the current records, in order.
        assert_eq!(t.evict(), Some("b"));
        assert_eq!(t.evict(), Some("c"));
        assert_eq!(t.evict(), Some("a"));
        assert_eq!(t.evict(), None);
    }

    #[test]
    fn retiring_stops_at_the_first_entry_kept() {
        let mut t = Table::new();
        for key in ["a", "b", "a", "c"] {
            t.see(key);
        }
        let mut asked = Vec::new();
        let stamps = &mut t.stamps;
        let popped = t.order.retire_oldest(|k, s| {
            asked.push(*k);
            match stamps.get(k) {
                Some(&current) if current == s && *k == "b" => {
                    stamps.remove(k);
                    true
                }
                Some(&current) if current == s => false,
                _ => true,
            }
        });
        // a's stale record, then b (removed), then a (kept): c never asked.
        assert_eq!(asked, ["a", "b", "a"]);
        assert_eq!(popped, 2);
        assert_eq!(t.evict(), Some("a"));
        assert_eq!(t.evict(), Some("c"));
        assert_eq!(t.evict(), None);
    }

    #[test]
    fn no_compaction_within_the_bound() {
        let mut t = Table::new();
        for _ in 0..SLACK + 2 {
            t.see("a");
        }
        assert_eq!(t.order.len(), SLACK + 2);
        t.see("a");
        assert_eq!(t.order.len(), 1);
    }
}
