//! Thresholds: alert only when N matching events happen within a window.
//!
//! Per group (a `group_by` value, or the fingerprint) a ring keeps the times
//! of the last N matches; the Nth match within the window reaches the
//! threshold and the group starts counting again. Groups are bounded: past
//! `max_groups` the least recently seen one is evicted (and counted), so a
//! field with unbounded values cannot grow memory.
//!
//! Every operation runs under the engine's lock with N up to 1,000,000, so
//! none scans a ring or the table: a ring is kept in time order, so the
//! matches within the window are found by binary search (O(log N)); the
//! timer's sweep pops idle groups off the front of the table, which is kept
//! in the order of their last match, and so visits only what it forgets.

use std::collections::VecDeque;

use hashlink::linked_hash_map::{Entry, LinkedHashMap};

use crate::hash::IdentityBuildHasher;

#[derive(Debug)]
struct Group {
    /// Times (monotonic ms) of the latest matches, in ascending order (a
    /// match a little out of order, from another pipeline worker, is put in
    /// its place); at most N.
    times: VecDeque<u64>,
}

/// What one observation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The threshold was reached by this match (the group restarts).
    pub reached: bool,
    /// Another group was evicted to make room.
    pub evicted: bool,
}

/// The threshold state of one rule.
#[derive(Debug)]
pub struct Threshold {
    n: usize,
    window_ms: u64,
    max_groups: usize,
    /// Least recently matched first.
    groups: LinkedHashMap<u64, Group, IdentityBuildHasher>,
    /// Groups that reached the threshold since the last sweep: empty, they
    /// are forgotten by the next one wherever they stand in `groups`.
    reached: Vec<u64>,
    /// Ring entries and groups looked at (tests count work, not time).
    #[cfg(test)]
    visited: std::cell::Cell<u64>,
}

impl Threshold {
    /// `n` matches within `window_ms`, at most `max_groups` groups.
    pub fn new(n: u32, window_ms: u64, max_groups: usize) -> Threshold {
        Threshold {
            n: n.max(1) as usize,
            window_ms,
            max_groups: max_groups.max(1),
            groups: LinkedHashMap::default(),
            reached: Vec::new(),
            #[cfg(test)]
            visited: std::cell::Cell::new(0),
        }
    }

    /// Counts one entry looked at (tests only).
    #[inline]
    fn visit(&self) {
        #[cfg(test)]
        self.visited.set(self.visited.get() + 1);
    }

    /// How many of `times` (ascending) are at or after `since`, by binary
    /// search.
    fn within(&self, times: &VecDeque<u64>, since: u64) -> usize {
        times.len()
            - times.partition_point(|t| {
                self.visit();
                *t < since
            })
    }

    /// How many matches reach it.
    pub fn count(&self) -> u32 {
        self.n as u32
    }

    /// Groups tracked now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.groups.len()
    }

    /// Returns true if and only if a match of group `key` at `now_ms` would
    /// reach the threshold (changes nothing).
    pub fn would_reach(&self, key: u64, now_ms: u64) -> bool {
        let since = now_ms.saturating_sub(self.window_ms);
        let within = self
            .groups
            .get(&key)
            .map_or(0, |g| self.within(&g.times, since));
        within + 1 >= self.n
    }

    /// Records a match of group `key` at `now_ms`.
    pub fn observe(&mut self, key: u64, now_ms: u64) -> Observed {
        let mut observed = Observed::default();
        if !self.groups.contains_key(&key) && self.groups.len() >= self.max_groups {
            observed.evicted = self.evict_oldest();
        }
        let group = match self.groups.entry(key) {
            Entry::Occupied(mut seen) => {
                seen.to_back();
                seen.into_mut()
            }
            Entry::Vacant(new) => new.insert(Group {
                times: VecDeque::with_capacity(self.n.min(64)),
            }),
        };
        let n = self.n;
        let since = now_ms.saturating_sub(self.window_ms);
        while group.times.front().is_some_and(|t| *t < since) {
            group.times.pop_front();
        }
        // In order: at the back, unless another worker's later match got
        // in first.
        if group.times.back().is_some_and(|t| *t > now_ms) {
            let at = group.times.partition_point(|t| *t <= now_ms);
            group.times.insert(at, now_ms);
        } else {
            group.times.push_back(now_ms);
        }
        // Never more than N: the Nth clears the ring.
        if group.times.len() >= n {
            group.times.clear();
            observed.reached = true;
            self.reached.push(key);
        }
        // Without sweeps (a caller that runs no timer) `reached` stays
        // within the groups too.
        if self.reached.len() > 2 * self.groups.len() + 64 {
            let groups = &self.groups;
            self.reached
                .retain(|k| groups.get(k).is_some_and(|g| g.times.is_empty()));
            self.reached.sort_unstable();
            self.reached.dedup();
        }
        observed
    }

    fn evict_oldest(&mut self) -> bool {
        self.groups.pop_front().is_some()
    }

    /// Forgets groups whose every match is outside the window, and those
    /// that reached the threshold since (a timer calls this so idle groups
    /// do not hold memory until evicted).
    ///
    /// Visits only what it forgets: groups are in the table by their latest
    /// match, so the idle ones are at its front.
    pub fn sweep(&mut self, now_ms: u64) {
        let since = now_ms.saturating_sub(self.window_ms);
        for key in std::mem::take(&mut self.reached) {
            self.visit();
            if self.groups.get(&key).is_some_and(|g| g.times.is_empty()) {
                self.groups.remove(&key);
            }
        }
        while let Some((_, oldest)) = self.groups.front() {
            self.visit();
            if oldest.times.back().is_some_and(|t| *t >= since) {
                break;
            }
            self.groups.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_minus_one_matches_do_not_reach_the_nth_does_and_the_group_restarts() {
        let mut t = Threshold::new(3, 60_000, 10);
        assert!(!t.observe(1, 0).reached);
        assert!(!t.would_reach(1, 1_000));
        assert!(!t.observe(1, 1_000).reached);
        assert!(t.would_reach(1, 2_000));
        assert!(t.observe(1, 2_000).reached);
        assert!(!t.observe(1, 3_000).reached, "counting starts again");
    }

    #[test]
    fn the_window_slides() {
        let mut t = Threshold::new(3, 10_000, 10);
        t.observe(1, 0);
        t.observe(1, 5_000);
        // The first match left the window: two within it, not three.
        assert!(!t.observe(1, 10_001).reached);
        assert!(t.observe(1, 12_000).reached);
    }

    #[test]
    fn groups_count_apart() {
        let mut t = Threshold::new(2, 60_000, 10);
        assert!(!t.observe(1, 0).reached);
        assert!(!t.observe(2, 1).reached);
        assert!(t.observe(2, 2).reached);
        assert!(t.observe(1, 3).reached);
    }

    #[test]
    fn groups_are_bounded_and_the_least_recent_is_evicted() {
        let mut t = Threshold::new(2, 60_000, 2);
        t.observe(1, 0);
        t.observe(2, 1);
        t.observe(1, 2); // reached; group 1 is now the most recent
        let o = t.observe(3, 3);
        assert!(o.evicted);
        assert_eq!(t.len(), 2);
        // Group 2 was evicted: its earlier match is forgotten.
        assert!(!t.observe(2, 4).reached);
        for i in 0..100_000u64 {
            t.observe(i % 7, 10 + i);
        }
        assert!(t.len() <= 2);
    }

    #[test]
    fn a_million_strong_threshold_counts_by_binary_search_not_by_scan() {
        let n = 1_000_000u32;
        let mut t = Threshold::new(n, 3_600_000, 10);
        // 999,998 matches, one a ms: the next but one reaches.
        for ms in 0..u64::from(n) - 2 {
            assert!(!t.observe(7, ms).reached);
        }
        t.visited.set(0);
        assert!(!t.would_reach(7, 1_000_000));
        // log2(1e6) is 20: a scan would look at all 999,998.
        assert!(t.visited.get() <= 21, "{} visited", t.visited.get());
        // Half the ring outside the window: counted, as the scan did.
        assert!(!t.would_reach(7, 3_600_000 + 500_000));
        assert!(t.observe(7, 999_998).reached || t.observe(7, 999_999).reached);
    }

    #[test]
    fn a_match_out_of_order_is_counted_in_its_place() {
        let mut t = Threshold::new(3, 10_000, 10);
        t.observe(1, 5_000);
        // Another worker's earlier moment arrives late.
        t.observe(1, 4_000);
        // At 14,500 only the match at 5,000 is within the window.
        assert!(!t.would_reach(1, 14_500));
        assert!(!t.observe(1, 14_500).reached);
        assert!(t.observe(1, 14_600).reached);
    }

    #[test]
    fn sweep_visits_what_it_forgets_not_the_table() {
        let mut t = Threshold::new(5, 1_000, 100_000);
        for key in 0..10_000u64 {
            t.observe(key, 10_000 + key);
        }
        // Only the 100 oldest groups are idle at 11,100.
        t.visited.set(0);
        t.sweep(11_100);
        assert_eq!(t.len(), 9_900);
        assert!(t.visited.get() <= 101, "{} visited", t.visited.get());
        t.sweep(100_000);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_group_that_reached_is_forgotten_by_the_next_sweep() {
        let mut t = Threshold::new(2, 60_000, 10);
        t.observe(1, 0);
        t.observe(2, 1);
        assert!(t.observe(1, 2).reached);
        t.sweep(3);
        assert_eq!(t.len(), 1, "group 1 restarted empty and is gone");
        assert!(!t.observe(1, 4).reached);
        assert!(t.observe(2, 5).reached);
    }

    #[test]
    fn sweep_forgets_idle_groups() {
        let mut t = Threshold::new(5, 1_000, 10);
        t.observe(1, 0);
        t.observe(2, 900);
        t.sweep(1_500);
        assert_eq!(t.len(), 1);
    }
}
