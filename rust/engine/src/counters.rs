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
    /// Events whose level alerts.
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
}
