//! Whether the store answers: a failure switches the node to node-local decisions, logged once
//! with what to fix; a probe with backoff switches it back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use slack_alert_coordination::StoreError;

use crate::counters::Counters;
use crate::log::{LogLevel, LogSink};

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(crate) struct Health {
    failing: bool,
    backoff: Duration,
    next_probe: Instant,
    counters: Arc<Counters>,
    log: Arc<dyn LogSink>,
}

impl Health {
    pub(crate) fn new(counters: Arc<Counters>, log: Arc<dyn LogSink>) -> Health {
        Health {
            failing: false,
            backoff: FIRST_BACKOFF,
            next_probe: Instant::now(),
            counters,
            log,
        }
    }

    /// True while calls are not to be made: decide node-locally.
    pub(crate) fn failing(&self) -> bool {
        self.failing
    }

    /// True when a failing store is due a probe.
    pub(crate) fn probe_due(&self) -> bool {
        self.failing && Instant::now() >= self.next_probe
    }

    /// A call failed: count it; the first of a run is logged with what to fix.
    pub(crate) fn failed(&mut self, error: &StoreError) {
        Counters::add(&self.counters.coordination_failures, 1);
        if !self.failing {
            self.log.log(
                LogLevel::Warn,
                &format!(
                    "{error}; every node alerts on its own until it answers again \
                     (duplicates across nodes are possible meanwhile; counted in \
                     coordination_failures and coordination_fallbacks)"
                ),
            );
            self.failing = true;
            self.backoff = FIRST_BACKOFF;
        } else {
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
        self.next_probe = Instant::now() + self.backoff;
    }

    /// A call (or probe) answered.
    pub(crate) fn answered(&mut self) {
        if self.failing {
            self.failing = false;
            self.backoff = FIRST_BACKOFF;
            self.log.log(
                LogLevel::Info,
                "the coordination store answers again: the fleet coordinates its alerts again",
            );
        }
    }
}
