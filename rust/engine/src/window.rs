//! The dedup window: the first occurrence of a fingerprint alerts, repeats
//! within `dedup_window` are counted, and when the window closes with a
//! non-zero count the count is reported.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use crate::clock::Now;
use crate::hash::{hash_str, IdentityBuildHasher};
use crate::intent::{Milestone, Progress, Spread};
use crate::level::Level;

/// What the window made of one occurrence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Not tracked (or its window had closed): alert.
    First,
    /// Within an open window: counted.
    Repeat,
}

/// A window that closed (or was evicted) with repeats to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    pub hash: u64,
    pub label: String,
    pub level: Level,
    pub service: Option<String>,
    pub repeats: u64,
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
    pub spread: Spread,
}

/// An open window's news since its last report ([`Window::progress`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reported {
    pub closed: Closed,
    pub progress: Progress,
}

#[derive(Debug)]
struct Tracked {
    label: String,
    level: Level,
    service: Option<String>,
    repeats: u64,
    first_seen: SystemTime,
    last_seen: SystemTime,
    /// Distinguishes this entry from an earlier one of the same hash whose
    /// expiry record is still queued.
    generation: u64,
    /// Live status (app mode only): boxed, so a webhook rule's table stays
    /// as small as it was.
    live: Option<Box<Live>>,
}

/// What a live status needs of one open window.
#[derive(Debug, Default)]
struct Live {
    /// Repeats at the last progress report.
    reported: u64,
    /// When the last progress was reported (monotonic ms).
    reported_ms: u64,
    /// Hashes of the distinct hosts and services seen, at most [`Spread::MAX`].
    hosts: Vec<u64>,
    services: Vec<u64>,
    /// Names that showed up since the last report, a few at most.
    new_names: Vec<Milestone>,
}

/// New host or service names kept for one progress report: a storm over a
/// thousand hosts says "1,000+ hosts", not a thousand names.
const NEW_NAMES_MAX: usize = 3;

/// Tracks at most `max_tracked` fingerprints.
///
/// Every window has the same length and opens on insertion, so insertion
/// order is expiry order: one queue serves both expiry and eviction of the
/// oldest entry when the table is full, in O(1) each.
#[derive(Debug)]
pub struct Window {
    window_ms: u64,
    max_tracked: usize,
    /// Keyed by fingerprint hashes, which are already well mixed.
    tracked: HashMap<u64, Tracked, IdentityBuildHasher>,
    /// (expires_at_ms, hash, generation), oldest first.
    order: VecDeque<(u64, u64, u64)>,
    next_generation: u64,
    /// Keep a live status of each window and report every closing, also
    /// one without repeats (app mode: its message is marked quiet).
    live: bool,
    /// When [`Window::progress`] next scans the table (monotonic ms).
    next_scan_ms: u64,
}

/// What `observe` did to the table.
#[derive(Debug, Default)]
pub struct Observation {
    pub seen: Option<Seen>,
    /// An entry pushed out to make room; `Some` even with zero repeats, so
    /// eviction is always counted.
    pub evicted: Option<Closed>,
}

impl Window {
    /// `window_ms` 0 turns deduplication off: every occurrence is First.
    pub fn new(window_ms: u64, max_tracked: usize) -> Window {
        Window {
            window_ms,
            max_tracked: max_tracked.max(1),
            tracked: HashMap::default(),
            order: VecDeque::new(),
            next_generation: 0,
            live: false,
            next_scan_ms: 0,
        }
    }

    /// A window that keeps a live status of each incident (app mode).
    pub fn live(window_ms: u64, max_tracked: usize) -> Window {
        Window {
            live: true,
            ..Window::new(window_ms, max_tracked)
        }
    }

    /// Notes where an occurrence of `hash` (just observed) came from.
    pub fn note_origin(&mut self, hash: u64, host: Option<&str>, service: Option<&str>) {
        let Some(live) = self.tracked.get_mut(&hash).and_then(|t| t.live.as_mut()) else {
            return;
        };
        let mut note = |seen: &mut Vec<u64>, name: Option<&str>, new: fn(String) -> Milestone| {
            let Some(name) = name.filter(|n| !n.is_empty()) else {
                return;
            };
            let h = hash_str(name);
            if seen.contains(&h) || seen.len() >= Spread::MAX as usize {
                return;
            }
            // The first one is where the incident opened: no news.
            if !seen.is_empty() && live.new_names.len() < NEW_NAMES_MAX {
                live.new_names.push(new(name.chars().take(200).collect()));
            }
            seen.push(h);
        };
        note(&mut live.hosts, host, Milestone::NewHost);
        note(&mut live.services, service, Milestone::NewService);
    }

    /// Open windows with repeats not yet reported whose last report is at
    /// least `interval_ms` old; scans at most once a second.
    pub fn progress(&mut self, now: Now, interval_ms: u64) -> Vec<Reported> {
        if !self.live || now.mono_ms < self.next_scan_ms {
            return Vec::new();
        }
        self.next_scan_ms = now.mono_ms.saturating_add(interval_ms.clamp(1, 1000));
        let mut reports = Vec::new();
        for (&hash, t) in self.tracked.iter_mut() {
            let Some(live) = t.live.as_mut() else {
                continue;
            };
            if t.repeats == live.reported
                || now.mono_ms.saturating_sub(live.reported_ms) < interval_ms
            {
                continue;
            }
            let mut milestones = Vec::new();
            // The largest power of ten the count (the first event and its
            // repeats) passed since the last report.
            let (before, after) = (live.reported + 1, t.repeats + 1);
            let mut step = 10u64;
            let mut passed = None;
            while step <= after {
                if step > before {
                    passed = Some(step);
                }
                step = match step.checked_mul(10) {
                    Some(s) => s,
                    None => break,
                };
            }
            milestones.extend(passed.map(Milestone::Count));
            milestones.append(&mut live.new_names);
            let progress = Progress {
                new_repeats: t.repeats - live.reported,
                spread: spread(live),
                milestones,
            };
            live.reported = t.repeats;
            live.reported_ms = now.mono_ms;
            reports.push(Reported {
                closed: closed(hash, t),
                progress,
            });
        }
        reports
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.tracked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracked.is_empty()
    }

    /// Returns true if and only if `hash` is tracked: an occurrence now
    /// would be a repeat (after [`Window::expire`]).
    pub fn contains(&self, hash: u64) -> bool {
        self.tracked.contains_key(&hash)
    }

    /// Records one occurrence. Call [`Window::expire`] first so that closed
    /// windows are reported before a new one opens.
    pub fn observe(
        &mut self,
        hash: u64,
        label: &str,
        level: Level,
        service: Option<&str>,
        now: Now,
    ) -> Observation {
        if self.window_ms == 0 {
            return Observation {
                seen: Some(Seen::First),
                evicted: None,
            };
        }
        if let Some(t) = self.tracked.get_mut(&hash) {
            t.repeats += 1;
            t.last_seen = now.wall;
            return Observation {
                seen: Some(Seen::Repeat),
                evicted: None,
            };
        }
        let mut evicted = None;
        if self.tracked.len() >= self.max_tracked {
            evicted = self.pop_oldest();
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.tracked.insert(
            hash,
            Tracked {
                label: label.to_string(),
                level,
                service: service.map(str::to_string),
                repeats: 0,
                first_seen: now.wall,
                last_seen: now.wall,
                generation,
                live: self.live.then(|| {
                    Box::new(Live {
                        reported_ms: now.mono_ms,
                        ..Live::default()
                    })
                }),
            },
        );
        self.order
            .push_back((now.mono_ms.saturating_add(self.window_ms), hash, generation));
        Observation {
            seen: Some(Seen::First),
            evicted,
        }
    }

    /// Closes every window that ended at or before `now`, returning those
    /// with repeats to report.
    pub fn expire(&mut self, now: Now) -> Vec<Closed> {
        let mut closed = Vec::new();
        while let Some(&(expires, _, _)) = self.order.front() {
            if expires > now.mono_ms {
                break;
            }
            if let Some(c) = self.pop_oldest() {
                if c.repeats > 0 || self.live {
                    closed.push(c);
                }
            }
        }
        closed
    }

    /// Closes every window now (shutdown), returning those with repeats
    /// (every one, live).
    pub fn drain(&mut self) -> Vec<Closed> {
        let mut closed = Vec::new();
        while !self.order.is_empty() {
            if let Some(c) = self.pop_oldest() {
                if c.repeats > 0 || self.live {
                    closed.push(c);
                }
            }
        }
        closed
    }

    fn pop_oldest(&mut self) -> Option<Closed> {
        while let Some((_, hash, generation)) = self.order.pop_front() {
            let live = self
                .tracked
                .get(&hash)
                .is_some_and(|t| t.generation == generation);
            if live {
                let t = self.tracked.remove(&hash).expect("checked above");
                return Some(closed(hash, &t));
            }
        }
        None
    }
}

fn spread(live: &Live) -> Spread {
    Spread {
        hosts: live.hosts.len() as u32,
        services: live.services.len() as u32,
    }
}

fn closed(hash: u64, t: &Tracked) -> Closed {
    Closed {
        hash,
        label: t.label.clone(),
        level: t.level,
        service: t.service.clone(),
        repeats: t.repeats,
        first_seen: t.first_seen,
        last_seen: t.last_seen,
        spread: t.live.as_deref().map(spread).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::at_epoch as at;

    fn observe(w: &mut Window, hash: u64, ms: u64) -> Observation {
        w.observe(hash, "label", Level::Error, Some("svc"), at(ms))
    }

    #[test]
    fn first_then_repeats_then_one_report_when_the_window_closes() {
        let mut w = Window::new(60_000, 100);
        assert_eq!(observe(&mut w, 1, 0).seen, Some(Seen::First));
        for ms in 1..=9999u64 {
            assert_eq!(observe(&mut w, 1, ms).seen, Some(Seen::Repeat));
        }
        assert!(w.expire(at(59_999)).is_empty());
        let closed = w.expire(at(60_000));
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].repeats, 9999);
        assert_eq!(closed[0].first_seen, SystemTime::UNIX_EPOCH);
        assert!(w.is_empty());
        // After the window, the same problem alerts again.
        assert_eq!(observe(&mut w, 1, 60_001).seen, Some(Seen::First));
    }

    #[test]
    fn windows_without_repeats_close_silently() {
        let mut w = Window::new(1000, 100);
        observe(&mut w, 1, 0);
        observe(&mut w, 2, 10);
        observe(&mut w, 2, 20);
        let closed = w.expire(at(5000));
        assert_eq!(
            closed
                .iter()
                .map(|c| (c.hash, c.repeats))
                .collect::<Vec<_>>(),
            vec![(2, 1)]
        );
    }

    #[test]
    fn the_table_is_bounded_and_eviction_is_reported() {
        let mut w = Window::new(60_000, 3);
        for h in 0..3 {
            observe(&mut w, h, h);
        }
        observe(&mut w, 0, 10); // a repeat of the oldest
        let o = observe(&mut w, 99, 20);
        assert_eq!(o.seen, Some(Seen::First));
        let evicted = o.evicted.expect("the oldest is evicted");
        assert_eq!((evicted.hash, evicted.repeats), (0, 1));
        assert_eq!(w.len(), 3);
        for h in 100..10_000 {
            observe(&mut w, h, 30);
        }
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn zero_window_turns_dedup_off() {
        let mut w = Window::new(0, 10);
        for _ in 0..3 {
            assert_eq!(observe(&mut w, 7, 0).seen, Some(Seen::First));
        }
        assert!(w.is_empty());
    }

    #[test]
    fn drain_reports_every_open_window_with_repeats() {
        let mut w = Window::new(60_000, 10);
        observe(&mut w, 1, 0);
        observe(&mut w, 1, 1);
        observe(&mut w, 2, 2);
        let closed = w.drain();
        assert_eq!(closed.len(), 1);
        assert!(w.is_empty());
    }
}
