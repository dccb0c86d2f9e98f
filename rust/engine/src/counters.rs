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
        $($name:ident => $help:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $set {
            $(#[doc = $help] pub $name: AtomicU64,)+
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

counters! {
    /// What the engine has done since it started.
    struct Counters, names COUNTER_NAMES, docs COUNTER_DOCS {
        events => "Events the engine looked at.",
        matched => "Events at least one alert rule matched (with the single default rule: whose level alerts).",
        alerts => "First occurrences queued as their own message.",
        repeats => "Matched events folded into an earlier alert, reported when its window closes.",
        rate_limited => "Alerts and repeat reports held back by the rate limit, to be summarised.",
        dropped => "Messages dropped because the send queue was full (their events are summarised).",
        evicted => "Problems evicted from a full dedup table (reported).",
        sent => "Messages the destination accepted.",
        send_failures => "Messages the destination did not accept after every retry.",
        retries => "Retried posts (429, 5xx, network).",
        internal_errors => "Failures inside the engine that were contained (panics, bad input).",
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
