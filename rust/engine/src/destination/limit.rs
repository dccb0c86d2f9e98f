//! A destination's limit: the token bucket every rule posting there draws
//! from, and the one pending summary of what it held back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::clock::Now;
use crate::config::Config;
use crate::hash::IdentityBuildHasher;
use crate::intent::{HeldBack, Intent, Outbox, Outgoing};
use crate::limiter::TokenBucket;

/// Why something is held back for the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Held {
    /// An alert over the rate limit.
    Suppressed,
    /// A flatline or recovery notice over the rate limit or the queue.
    Notice,
    /// An alert the full send queue refused.
    Dropped,
    /// Repeats no repeat report carries.
    Repeats,
}

/// How many distinct fingerprints a summary keeps counts for; the rest are
/// still counted in its totals.
const SUMMARY_TRACKED: usize = 1000;
/// How many fingerprints a summary lists.
const SUMMARY_TOP: usize = 10;
/// How often a summary that only reports failed deliveries is retried: often
/// enough to say so soon after Slack recovers, rarely enough not to hammer a
/// webhook that is gone.
const FAILURE_SUMMARY_EVERY_MS: u64 = 10_000;

/// Counts waiting for the next summary of one destination.
#[derive(Debug, Default)]
struct Pending {
    suppressed: u64,
    repeats: u64,
    dropped: u64,
    undelivered: u64,
    evicted: u64,
    /// Flatline and recovery messages held back by the rate limit: shown
    /// as held back, but they are not events.
    notices: u64,
    by_fingerprint: HashMap<u64, (String, u64), IdentityBuildHasher>,
    /// The rules whose events or notices are in it, ascending: the summary
    /// names them and takes the first one's style.
    rules: Vec<usize>,
    since: Option<SystemTime>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.suppressed
            + self.repeats
            + self.dropped
            + self.undelivered
            + self.evicted
            + self.notices
            == 0
    }

    /// Returns true if and only if the only news is failed deliveries.
    fn only_failures(&self) -> bool {
        self.suppressed + self.repeats + self.dropped + self.evicted + self.notices == 0
    }

    /// Notes that `rule` holds something back from now on.
    fn touch(&mut self, rule: usize, now: Now) {
        self.since.get_or_insert(now.wall);
        if let Err(at) = self.rules.binary_search(&rule) {
            self.rules.insert(at, rule);
        }
    }

    fn count(&mut self, hash: u64, label: &str, n: u64) {
        if let Some(entry) = self.by_fingerprint.get_mut(&hash) {
            entry.1 += n;
        } else if self.by_fingerprint.len() < SUMMARY_TRACKED {
            self.by_fingerprint.insert(hash, (label.to_string(), n));
        }
    }

    /// Events this summary accounts for (undelivered ones were already
    /// accounted for by the message that failed; evictions are not events).
    fn events(&self) -> u64 {
        self.suppressed + self.repeats + self.dropped
    }

    fn top(&self) -> Vec<(String, u64)> {
        let mut top: Vec<(String, u64)> = self.by_fingerprint.values().cloned().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(SUMMARY_TOP);
        top
    }
}

/// The rate limit of one destination and what it holds back: the token
/// bucket every rule posting there draws from, and the one pending summary
/// they all fold into.
///
/// Slack limits a webhook, not a rule: two rules on one webhook with
/// `rate_limit => 1` send one message a minute between them, and one summary
/// accounts for what both held back. The configuration refuses rules on one
/// destination that disagree on `rate_limit` or `burst`, so the bucket takes
/// the values of any of them.
#[derive(Debug)]
pub(crate) struct DestinationLimit {
    config: Arc<Config>,
    /// Index into `config.destinations`.
    destination: usize,
    bucket: TokenBucket,
    pending: Pending,
    /// Events in messages the sender could not deliver, reported by the
    /// sender thread and folded into the next summary.
    undelivered: Arc<AtomicU64>,
    last_summary_ms: Option<u64>,
}

impl DestinationLimit {
    /// The limit of `config.destinations[destination]`, with a full bucket
    /// at `now`.
    pub(crate) fn new(config: Arc<Config>, destination: usize, now: Now) -> DestinationLimit {
        let (rate_limit, burst) = config
            .rules
            .iter()
            .find(|r| r.destination == destination)
            .map_or((1, 1), |r| (r.rate_limit, r.burst));
        DestinationLimit {
            bucket: TokenBucket::new(rate_limit, burst, now.mono_ms),
            config,
            destination,
            pending: Pending::default(),
            undelivered: Arc::new(AtomicU64::new(0)),
            last_summary_ms: None,
        }
    }

    /// The counter the sender adds undelivered events to.
    pub(crate) fn undelivered(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.undelivered)
    }

    /// Returns true if and only if nothing is held back for a summary.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// Takes a token for a message of its own, unless a summary is pending:
    /// the next token belongs to it, so new messages fold in until it is
    /// out and a steady stream cannot starve it.
    pub(crate) fn admit(&mut self, now: Now) -> bool {
        self.pending.is_empty() && self.bucket.try_take(now.mono_ms)
    }

    /// [`DestinationLimit::admit`] without taking the token.
    pub(crate) fn would_admit(&mut self, now: Now) -> bool {
        self.pending.is_empty() && self.bucket.has_token(now.mono_ms)
    }

    /// Folds `n` events (or notices) of `label`, keyed by `hash`, that
    /// `rule` could not post on their own into the pending summary.
    pub(crate) fn hold(
        &mut self,
        rule: usize,
        why: Held,
        hash: u64,
        label: &str,
        n: u64,
        now: Now,
    ) {
        let p = &mut self.pending;
        p.touch(rule, now);
        match why {
            Held::Suppressed => p.suppressed += n,
            Held::Notice => p.notices += n,
            Held::Dropped => p.dropped += n,
            Held::Repeats => p.repeats += n,
        }
        p.count(hash, label, n);
    }

    /// Notes that a full dedup table of `rule` forgot a problem; its
    /// repeats are held with [`Held::Repeats`].
    pub(crate) fn note_evicted(&mut self, rule: usize, now: Now) {
        self.pending.touch(rule, now);
        self.pending.evicted += 1;
    }

    fn collect_undelivered(&mut self, now: Now) {
        let n = self.undelivered.swap(0, Ordering::Relaxed);
        if n > 0 {
            self.pending.since.get_or_insert(now.wall);
            self.pending.undelivered += n;
        }
    }

    /// Posts the pending summary when the rate limit allows (the timer).
    pub(crate) fn on_tick(&mut self, now: Now, outbox: &mut dyn Outbox) {
        self.collect_undelivered(now);
        let failures_wait = self.pending.only_failures()
            && self
                .last_summary_ms
                .is_some_and(|t| now.mono_ms < t + FAILURE_SUMMARY_EVERY_MS);
        if !self.pending.is_empty() && !failures_wait && self.bucket.has_token(now.mono_ms) {
            self.post_summary(now, outbox, true);
        }
    }

    /// Shutdown, after every rule reported its open windows: posts whatever
    /// is pending, once, without waiting for the rate limit (the sender
    /// still paces).
    pub(crate) fn on_shutdown(&mut self, now: Now, outbox: &mut dyn Outbox) {
        self.collect_undelivered(now);
        if !self.pending.is_empty() {
            self.post_summary(now, outbox, false);
        }
    }

    fn post_summary(&mut self, now: Now, outbox: &mut dyn Outbox, take_token: bool) {
        // Every matched event runs the timers first: against a stalled
        // Slack, building a summary the full queue then refuses would cost
        // a sort of its labels per event, on the pipeline's thread, under
        // the lock.
        if !outbox.has_room() {
            return;
        }
        // Only failed deliveries: no rule held anything back; the
        // destination's first rule speaks for it.
        let first = self.pending.rules.first().copied().unwrap_or_else(|| {
            self.config
                .rules
                .iter()
                .position(|r| r.destination == self.destination)
                .unwrap_or(0)
        });
        let p = &self.pending;
        let held = HeldBack {
            suppressed: p.suppressed,
            notices: p.notices,
            repeats: p.repeats,
            dropped: p.dropped,
            undelivered: p.undelivered,
            evicted: p.evicted,
            top: p.top(),
            rules: p.rules.clone(),
            since: p.since.unwrap_or(now.wall),
        };
        let message = Outgoing {
            intent: Intent::HeldBack(Box::new(held)),
            events: p.events(),
            undelivered: p.undelivered,
            rule: first,
            destination: self.destination,
        };
        // A summary that does not fit in the queue stays pending for the next tick.
        if outbox.offer(message).is_ok() {
            if take_token {
                self.bucket.try_take(now.mono_ms);
            }
            self.last_summary_ms = Some(now.mono_ms);
            self.pending = Pending::default();
        }
    }
}
