//! Counters readable at any time, from any thread, without a lock.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {
        /// What the engine has done since it started.
        #[derive(Debug, Default)]
        pub struct Counters {
            $($(#[$doc])* pub $name: AtomicU64,)+
        }

        /// The counter names, in the order [`Counters::snapshot`] reports them.
        pub const COUNTER_NAMES: &[&str] = &[$(stringify!($name)),+];

        impl Counters {
            /// Every counter's current value, in [`COUNTER_NAMES`] order.
            pub fn snapshot(&self) -> Vec<u64> {
                vec![$(self.$name.load(Ordering::Relaxed)),+]
            }
        }
    };
}

counters! {
    /// Events the matcher looked at.
    events,
    /// Events matched by at least one alert rule.
    matched,
    /// First occurrences queued as their own Slack message.
    alerts,
    /// Matched events folded into an earlier alert as repeats.
    repeats,
    /// Matched events (and repeat reports) held back by the rate limit, to be summarised.
    rate_limited,
    /// Messages dropped because the send queue was full (their events are summarised).
    dropped,
    /// Fingerprints evicted from a full dedup table.
    evicted,
    /// Messages Slack accepted.
    sent,
    /// Messages Slack did not accept after every retry.
    send_failures,
    /// Retried posts (429, 5xx, network).
    retries,
    /// Failures inside the engine that were contained (panics, bad input).
    internal_errors,
}

/// The per-rule counter names, in the order [`RuleCounters::snapshot`]
/// reports them (and `Engine::rule_counters` lays out each row).
pub const RULE_COUNTER_NAMES: &[&str] = &[
    "matched",
    "excluded",
    "below_threshold",
    "alerts",
    "repeats",
    "rate_limited",
    "dropped",
    "flatline_alerts",
    "recovered",
];

/// What one rule has done since the engine started.
#[derive(Debug, Default)]
pub struct RuleCounters {
    /// Events whose level and conditions the rule accepts (and not excluded).
    pub matched: AtomicU64,
    /// Events the rule would have matched but an `exclude` pattern silenced.
    pub excluded: AtomicU64,
    /// Matched events counted towards a `threshold` that was not reached.
    pub below_threshold: AtomicU64,
    /// Alerts queued as their own message (threshold alerts included).
    pub alerts: AtomicU64,
    /// Matched events folded into an earlier alert as repeats.
    pub repeats: AtomicU64,
    /// Events (and reports) held back by the rule's rate limit, summarised.
    pub rate_limited: AtomicU64,
    /// Messages dropped because the destination's queue was full.
    pub dropped: AtomicU64,
    /// Flatline alerts queued (a group went silent).
    pub flatline_alerts: AtomicU64,
    /// Recovery messages queued (a silent group logs again).
    pub recovered: AtomicU64,
}

impl RuleCounters {
    /// Every counter's current value, in [`RULE_COUNTER_NAMES`] order.
    pub fn snapshot(&self) -> Vec<u64> {
        [
            &self.matched,
            &self.excluded,
            &self.below_threshold,
            &self.alerts,
            &self.repeats,
            &self.rate_limited,
            &self.dropped,
            &self.flatline_alerts,
            &self.recovered,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect()
    }

    /// One counter by name.
    pub fn get(&self, name: &str) -> Option<u64> {
        RULE_COUNTER_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| self.snapshot()[i])
    }
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// One counter by name.
    pub fn get(&self, name: &str) -> Option<u64> {
        COUNTER_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| self.snapshot()[i])
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
}
