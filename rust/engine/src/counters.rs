//! Counters readable at any time, from any thread, without a lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// One counter as users see it: its name and what it counts, in one line.
/// The one place a counter is described: the sidecar's Prometheus `# HELP`
/// lines and the README's counter tables are made from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterDoc {
    pub name: &'static str,
    pub help: &'static str,
}

/// Declares a set of counters once: the struct of atomics, its names in
/// snapshot order, and its docs.
macro_rules! counters {
    ($(#[$meta:meta])* struct $set:ident, names $names:ident, docs $docs:ident {
        $($name:ident $(as $kind:ty)? => $help:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $set {
            $(#[doc = $help] pub $name: counter_type!($($kind)?),)+
        }

        /// The counter names, in the order `snapshot` reports them.
        pub const $names: &[&str] = &[$(stringify!($name)),+];

        /// What each counter counts, in the order of the names.
        pub const $docs: &[CounterDoc] = &[$(CounterDoc { name: stringify!($name), help: $help }),+];

        impl $set {
            /// Every counter's current value, in the order of the names.
            pub fn snapshot(&self) -> Vec<u64> {
                vec![$(self.$name.load(Ordering::Relaxed)),+]
            }

            /// One counter by name.
            pub fn get(&self, name: &str) -> Option<u64> {
                $names.iter().position(|n| *n == name).map(|i| self.snapshot()[i])
            }
        }
    };
}

/// A counter's type: an [`AtomicU64`] unless the declaration names another.
macro_rules! counter_type {
    () => {
        AtomicU64
    };
    ($kind:ty) => {
        $kind
    };
}

counters! {
    /// What the engine has done since it started.
    struct Counters, names COUNTER_NAMES, docs COUNTER_DOCS {
        events as Striped => "Events the engine looked at.",
        matched => "Events at least one alert rule matched (with the single default rule: whose level alerts).",
        alerts => "First occurrences queued as their own message.",
        repeats => "Matched events folded into an earlier alert, reported when its window closes.",
        rate_limited => "Alerts and repeat reports held back by the rate limit, to be summarised.",
        dropped => "Messages dropped because the send queue was full (their events are summarised).",
        evicted => "Problems evicted from a full dedup table (reported).",
        sent => "Messages the destination accepted.",
        send_failures => "Messages the destination did not accept after every retry.",
        retries => "Retried posts (429, 5xx, network).",
        updates => "Messages updated in place (app mode: live status, quiet, recovered).",
        thread_replies => "Replies posted into incidents' threads (app mode).",
        uploads => "Stack traces uploaded into incidents' threads (app mode).",
        channel_fallbacks => "Messages sent to `fallback_channel` because their channel was missing or refused (app mode).",
        reposts => "Incidents posted afresh because Slack could no longer update their message (app mode).",
        internal_errors => "Failures inside the engine that were contained (panics, bad input).",
        coordination_deferred => "Events this node counted into an incident another node owns, for that node to report (`coordination_hosts`).",
        coordination_takeovers => "Incidents this node took over from an owner that did not report in time (`coordination_lease`).",
        coordination_failures => "Calls to the coordination store that failed (unreachable, timed out, refused, nonsense); logged once until it answers again.",
        coordination_fallbacks => "Messages this node decided on its own because the coordination store was failing or its queue was full (duplicates across nodes possible; nothing held back).",
    }
}

counters! {
    /// What one rule has done since the engine started (`Engine::rule_counters`
    /// lays out each rule's row in the order of [`RULE_COUNTER_NAMES`]).
    struct RuleCounters, names RULE_COUNTER_NAMES, docs RULE_COUNTER_DOCS {
        matched => "Events the rule matched (level, conditions, not excluded).",
        excluded => "Events the rule's exclude patterns left out.",
        below_threshold => "Matched events that did not (yet) reach the rule's threshold.",
        alerts => "Alerts the rule queued as their own message (threshold alerts included).",
        repeats => "Matched events folded into an earlier alert of the rule.",
        rate_limited => "Alerts of the rule held back by its destination's rate limit (summarised).",
        dropped => "Messages of the rule dropped because its destination's queue was full.",
        flatline_alerts => "Groups the flatline rule reported as silent.",
        recovered => "Silent groups the flatline rule reported as logging again.",
    }
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A counter every pipeline worker adds to on every batch (`events`): each
/// thread adds to a stripe of its own, on a cache line of its own, so that
/// workers on different cores do not take the line from each other; a read
/// sums the stripes.
#[derive(Debug, Default)]
pub struct Striped([Stripe; STRIPES]);

/// More stripes than a Logstash node usually has workers (one per core).
const STRIPES: usize = 16;

/// Two cache lines: the adjacent-line prefetcher fetches 128 bytes.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

impl Striped {
    pub(crate) fn add(&self, n: u64) {
        use std::sync::atomic::AtomicUsize;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
        }
        let stripe = MINE.with(|m| *m);
        self.0[stripe].0.fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of the stripes; `order` as for an atomic's load.
    pub fn load(&self, order: Ordering) -> u64 {
        self.0
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.0.load(order)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_follows_names() {
        let c = Counters::default();
        Counters::add(&c.matched, 3);
        Counters::add(&c.retries, 1);
        assert_eq!(c.snapshot().len(), COUNTER_NAMES.len());
        assert_eq!(c.get("matched"), Some(3));
        assert_eq!(c.get("retries"), Some(1));
        assert_eq!(c.get("nope"), None);
    }

    #[test]
    fn a_striped_counter_sums_what_every_thread_added() {
        let c = std::sync::Arc::new(Counters::default());
        let threads: Vec<_> = (0..2 * STRIPES as u64)
            .map(|t| {
                let c = std::sync::Arc::clone(&c);
                std::thread::spawn(move || c.events.add(t + 1))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = 2 * STRIPES as u64;
        assert_eq!(c.get("events"), Some(n * (n + 1) / 2));
    }

    #[test]
    fn rule_snapshot_follows_names() {
        let c = RuleCounters::default();
        Counters::add(&c.below_threshold, 2);
        Counters::add(&c.recovered, 1);
        assert_eq!(c.snapshot().len(), RULE_COUNTER_NAMES.len());
        assert_eq!(c.get("below_threshold"), Some(2));
        assert_eq!(c.get("recovered"), Some(1));
        assert_eq!(c.snapshot()[8], 1);
    }

    #[test]
    fn every_counter_has_one_line_of_its_own() {
        for docs in [COUNTER_DOCS, RULE_COUNTER_DOCS] {
            for d in docs {
                assert!(
                    !d.help.contains('\n') && d.help.ends_with('.'),
                    "{}",
                    d.name
                );
                assert_eq!(docs.iter().filter(|o| o.help == d.help).count(), 1);
            }
        }
        let names: Vec<&str> = COUNTER_DOCS.iter().map(|d| d.name).collect();
        assert_eq!(names, COUNTER_NAMES);
        let names: Vec<&str> = RULE_COUNTER_DOCS.iter().map(|d| d.name).collect();
        assert_eq!(names, RULE_COUNTER_NAMES);
    }
}
