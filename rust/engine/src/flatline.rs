//! Flatline: notice a group (a service) that was logging and went silent.
//!
//! Events only teach groups (a service never seen is never reported); the
//! timer asks [`Flatline::due`] which groups have been silent for `silence`
//! and reports each once; the next event of such a group says it recovered.
//! Groups are bounded: past `max_groups` the least recently seen is
//! forgotten (and counted), so a `group_by` field with unbounded values
//! cannot grow memory.
//!
//! The timer asks every tick, under the engine's lock, with up to
//! `max_tracked` groups: so `due` does not look at every group but pops a
//! heap of deadlines (a group's last event + `silence`). Seeing a group again
//! pushes its new deadline and leaves the old one, stale, to be skipped when
//! popped (lazy deletion); stale entries are dropped when they outnumber the
//! groups, so the heap stays within twice the groups and `due` costs
//! O(log n) per group due (or stale entry passed).

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::BinaryHeap;
use std::time::{Duration, SystemTime};

use hashlink::LinkedHashMap;

use crate::clock::Now;

#[derive(Debug)]
struct Group {
    last_seen_ms: u64,
    last_seen_wall: SystemTime,
    /// A flatline alert was raised and the group has not logged since.
    alerted: bool,
    /// The stamp of its current entry in `Flatline::deadlines`.
    stamp: u64,
}

impl Group {
    fn deadline(&self, silence_ms: u64) -> u64 {
        self.last_seen_ms.saturating_add(silence_ms)
    }
}

/// When a group falls silent (ms), the group's stamp then, and its name.
type Deadline = Reverse<(u64, u64, String)>;

/// Heap entries allowed beyond twice the groups before stale ones are dropped.
const DEADLINE_SLACK: usize = 64;

/// A group that has been silent for the rule's `silence`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silent {
    pub group: String,
    pub last_seen: SystemTime,
}

/// A silent group that logs again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    pub group: String,
    /// How long it was silent.
    pub after: Duration,
}

/// What one observation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    pub recovered: Option<Recovered>,
    pub evicted: bool,
}

/// The flatline state of one rule.
#[derive(Debug)]
pub struct Flatline {
    silence_ms: u64,
    max_groups: usize,
    /// Least recently seen first. Group names come from log data: std's
    /// keyed SipHash, as in every other table of event values.
    groups: LinkedHashMap<String, Group, RandomState>,
    /// The stamp the next observation gives its group.
    next_stamp: u64,
    /// Earliest deadline first; an entry is current while its group holds
    /// its stamp and was not reported.
    deadlines: BinaryHeap<Deadline>,
    /// Heap entries popped by `due` (tests count work, not time).
    #[cfg(test)]
    visited: u64,
}

impl Flatline {
    pub fn new(silence: Duration, max_groups: usize) -> Flatline {
        Flatline {
            silence_ms: silence.as_millis() as u64,
            max_groups: max_groups.max(1),
            groups: LinkedHashMap::with_hasher(RandomState::new()),
            next_stamp: 0,
            deadlines: BinaryHeap::new(),
            #[cfg(test)]
            visited: 0,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Returns true if and only if an event of `group` now would recover it
    /// (changes nothing).
    #[cfg(test)]
    fn would_recover(&self, group: &str) -> bool {
        self.groups.get(group).is_some_and(|g| g.alerted)
    }

    /// An event of `group` at `now`.
    pub fn observe(&mut self, group: &str, now: Now) -> Observed {
        let mut observed = Observed::default();
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        match self.groups.to_back(group) {
            Some(g) => {
                if g.alerted {
                    observed.recovered = Some(Recovered {
                        group: group.to_string(),
                        after: Duration::from_millis(now.mono_ms.saturating_sub(g.last_seen_ms)),
                    });
                }
                g.alerted = false;
                g.last_seen_ms = g.last_seen_ms.max(now.mono_ms);
                g.last_seen_wall = now.wall;
                g.stamp = stamp;
                self.deadlines.push(Reverse((
                    g.deadline(self.silence_ms),
                    g.stamp,
                    group.to_string(),
                )));
            }
            None => {
                if self.groups.len() >= self.max_groups {
                    observed.evicted = self.evict_oldest();
                }
                let g = Group {
                    last_seen_ms: now.mono_ms,
                    last_seen_wall: now.wall,
                    alerted: false,
                    stamp,
                };
                self.deadlines.push(Reverse((
                    g.deadline(self.silence_ms),
                    stamp,
                    group.to_string(),
                )));
                self.groups.insert(group.to_string(), g);
            }
        }
        self.compact();
        observed
    }

    /// Groups silent for `silence` at `now` that were not reported yet;
    /// each is reported once (until it logs again). In name order.
    pub fn due(&mut self, now: Now) -> Vec<Silent> {
        let mut due = Vec::new();
        while let Some(Reverse((deadline, stamp, _))) = self.deadlines.peek() {
            if *deadline > now.mono_ms {
                break;
            }
            let stamp = *stamp;
            let Some(Reverse((_, _, name))) = self.deadlines.pop() else {
                break;
            };
            #[cfg(test)]
            {
                self.visited += 1;
            }
            if let Some(g) = self.groups.get_mut(&name) {
                if g.stamp == stamp && !g.alerted {
                    g.alerted = true;
                    due.push(Silent {
                        group: name,
                        last_seen: g.last_seen_wall,
                    });
                }
            }
        }
        due.sort_by(|a, b| a.group.cmp(&b.group));
        due
    }

    fn evict_oldest(&mut self) -> bool {
        self.groups.pop_front().is_some()
    }

    /// Keeps the heap within twice the groups (plus slack), so that a few
    /// hot groups seen millions of times do not grow it.
    fn compact(&mut self) {
        if self.deadlines.len() > 2 * self.groups.len() + DEADLINE_SLACK {
            // Keeps each unreported group's current deadline, in place.
            let groups = &self.groups;
            self.deadlines.retain(|Reverse((_, stamp, name))| {
                groups
                    .get(name)
                    .is_some_and(|g| g.stamp == *stamp && !g.alerted)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::at_epoch as at;

    #[test]
    fn silent_for_the_silence_alerts_once_then_recovers() {
        let mut f = Flatline::new(Duration::from_secs(60), 10);
        f.observe("checkout", at(0));
        assert!(f.due(at(59_999)).is_empty());
        let due = f.due(at(60_000));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].group, "checkout");
        assert!(f.due(at(120_000)).is_empty(), "once");
        assert!(f.would_recover("checkout"));
        let o = f.observe("checkout", at(720_000));
        assert_eq!(
            o.recovered,
            Some(Recovered {
                group: "checkout".into(),
                after: Duration::from_secs(720)
            })
        );
        assert!(f.due(at(750_000)).is_empty());
        assert_eq!(f.due(at(780_000)).len(), 1, "silent again");
    }

    #[test]
    fn a_group_never_seen_is_never_reported() {
        let mut f = Flatline::new(Duration::from_secs(10), 10);
        assert!(f.due(at(1_000_000)).is_empty());
        f.observe("a", at(0));
        let due = f.due(at(1_000_000));
        assert_eq!(
            due.iter().map(|s| s.group.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
    }

    #[test]
    fn logging_keeps_a_group_quiet() {
        let mut f = Flatline::new(Duration::from_secs(10), 10);
        for s in 0..100 {
            f.observe("a", at(s * 5_000));
            assert!(f.due(at(s * 5_000 + 4_000)).is_empty());
        }
    }

    #[test]
    fn due_visits_only_the_groups_due_not_every_group() {
        let mut f = Flatline::new(Duration::from_secs(10), 100_000);
        for i in 0..50_000u64 {
            f.observe(&format!("svc{i}"), at(i));
        }
        f.visited = 0;
        assert!(f.due(at(9_999)).is_empty());
        assert_eq!(f.visited, 0, "nothing due, nothing visited");
        let due = f.due(at(10_002));
        assert_eq!(
            due.iter().map(|s| s.group.as_str()).collect::<Vec<_>>(),
            ["svc0", "svc1", "svc2"]
        );
        assert_eq!(f.visited, 3);
        // A group seen again leaves a stale deadline, skipped once.
        f.observe("svc3", at(10_003));
        f.visited = 0;
        assert_eq!(f.due(at(10_003)).len(), 0);
        assert_eq!(f.visited, 1);
    }

    #[test]
    fn hot_groups_do_not_grow_the_deadlines() {
        let mut f = Flatline::new(Duration::from_secs(10), 10);
        for i in 0..100_000u64 {
            f.observe(["a", "b", "c"][(i % 3) as usize], at(i));
            assert!(f.deadlines.len() <= 2 * f.len() + DEADLINE_SLACK);
        }
        let due = f.due(at(200_000));
        assert_eq!(due.len(), 3);
        assert!(f.due(at(300_000)).is_empty(), "once");
    }

    #[test]
    fn an_evicted_group_is_not_reported_and_a_new_one_of_its_name_counts_afresh() {
        let mut f = Flatline::new(Duration::from_secs(10), 2);
        f.observe("a", at(0));
        f.observe("b", at(1));
        assert!(f.observe("c", at(2)).evicted, "a evicted");
        f.observe("a", at(5_000)); // evicts b
        let due = f.due(at(10_004));
        assert_eq!(
            due.iter().map(|s| s.group.as_str()).collect::<Vec<_>>(),
            ["c"]
        );
        assert_eq!(f.due(at(15_000)).len(), 1, "a, from its second life");
    }

    #[test]
    fn groups_are_bounded() {
        let mut f = Flatline::new(Duration::from_secs(10), 3);
        let mut evicted = 0;
        for i in 0..1000u64 {
            evicted += f.observe(&format!("svc{i}"), at(i)).evicted as u64;
        }
        assert_eq!(f.len(), 3);
        assert_eq!(evicted, 997);
        assert!(f.deadlines.len() <= 2 * f.len() + DEADLINE_SLACK);
        let due = f.due(at(1_000_000));
        assert_eq!(due.len(), 3);
        assert_eq!(due[0].group, "svc997");
    }
}
