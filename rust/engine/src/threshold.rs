//! Thresholds: alert only when N matching events happen within a window.
//!
//! Per group (a `group_by` value, or the fingerprint) a ring keeps the times
//! of the last N matches; the Nth match within the window reaches the
//! threshold and the group starts counting again. Groups are bounded: past
//! `max_groups` the least recently seen one is evicted (and counted), so a
//! field with unbounded values cannot grow memory.

use std::collections::{HashMap, VecDeque};

use crate::hash::IdentityBuildHasher;
use crate::recency::Recency;

#[derive(Debug)]
struct Group {
    /// Times (monotonic ms) of the latest matches, oldest first; at most N.
    times: VecDeque<u64>,
    /// The stamp of this group's latest record in `Threshold::order`.
    stamp: u64,
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
    groups: HashMap<u64, Group, IdentityBuildHasher>,
    /// The groups' keys, least recently seen first.
    order: Recency<u64>,
}

impl Threshold {
    /// `n` matches within `window_ms`, at most `max_groups` groups.
    pub fn new(n: u32, window_ms: u64, max_groups: usize) -> Threshold {
        Threshold {
            n: n.max(1) as usize,
            window_ms,
            max_groups: max_groups.max(1),
            groups: HashMap::default(),
            order: Recency::new(),
        }
    }

    /// How many matches reach it.
    pub fn count(&self) -> u32 {
        self.n as u32
    }

    /// Groups tracked now.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Returns true if and only if a match of group `key` at `now_ms` would
    /// reach the threshold (changes nothing).
    pub fn would_reach(&self, key: u64, now_ms: u64) -> bool {
        let since = now_ms.saturating_sub(self.window_ms);
        let within = self
            .groups
            .get(&key)
            .map_or(0, |g| g.times.iter().filter(|t| **t >= since).count());
        within + 1 >= self.n
    }

    /// Records a match of group `key` at `now_ms`.
    pub fn observe(&mut self, key: u64, now_ms: u64) -> Observed {
        let mut observed = Observed::default();
        if !self.groups.contains_key(&key) && self.groups.len() >= self.max_groups {
            observed.evicted = self.evict_oldest();
        }
        let stamp = self.order.touch(key);
        let n = self.n;
        let group = self.groups.entry(key).or_insert_with(|| Group {
            times: VecDeque::with_capacity(n.min(64)),
            stamp,
        });
        group.stamp = stamp;
        let since = now_ms.saturating_sub(self.window_ms);
        while group.times.front().is_some_and(|t| *t < since) {
            group.times.pop_front();
        }
        group.times.push_back(now_ms);
        // Never more than N: the Nth clears the ring.
        if group.times.len() >= n {
            group.times.clear();
            observed.reached = true;
        }
        self.compact();
        observed
    }

    fn evict_oldest(&mut self) -> bool {
        match self.order.evict_oldest(current(&self.groups)) {
            Some(key) => self.groups.remove(&key).is_some(),
            None => false,
        }
    }

    /// Keeps `order` within twice the groups (plus slack), so that a few hot
    /// groups seen millions of times do not grow it.
    fn compact(&mut self) {
        self.order.compact(self.groups.len(), current(&self.groups));
    }

    /// Forgets groups whose every match is outside the window (a timer calls
    /// this so idle groups do not hold memory until evicted).
    pub fn sweep(&mut self, now_ms: u64) {
        let since = now_ms.saturating_sub(self.window_ms);
        self.groups
            .retain(|_, g| g.times.back().is_some_and(|t| *t >= since));
        self.compact();
    }
}

/// Returns a test of whether `stamp` is the latest record of group `key`.
fn current(groups: &HashMap<u64, Group, IdentityBuildHasher>) -> impl Fn(&u64, u64) -> bool + '_ {
    |key, stamp| groups.get(key).is_some_and(|g| g.stamp == stamp)
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
        assert!(t.order.len() <= 2 * t.len() + 64);
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
