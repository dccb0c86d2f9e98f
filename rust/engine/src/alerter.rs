//! The decision core: one matched event in, at most one intent out.
//!
//! A `RuleAlerter` owns one rule's dedup [`Window`]; the token bucket and
//! the pending summary belong to the rule's destination
//! ([`DestinationLimit`]), shared by every rule posting there, because the
//! limit is Slack's, per webhook. Both decide on a [`Now`] they are given and
//! hand [`Intent`]s to an [`Outbox`]; rendering them is the destination's
//! business ([`crate::destination`]). They start no thread, read no clock
//! and render nothing, so the live engine, the sidecar's replay and the
//! tests all drive the same logic. [`Alerter`] is one rule on a destination
//! of its own.
//!
//! Accounting: every matched event is exactly one of an alert (posted on its
//! own), a repeat (reported when its window closes, or folded into a
//! summary), rate-limited (folded into a summary) or dropped because the send
//! queue was full (counted in a summary). Nothing is lost silently.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use serde_json::Value;
use slack_alert_event::{ecs, Fields};

use crate::clock::Now;
use crate::config::{Config, RuleConfig};
use crate::counters::{Counters, RuleCounters};
use crate::destination::{DestinationLimit, Held};
use crate::event::{EventShape, MatchedEvent};
use crate::fingerprint::Fingerprint;
use crate::flatline::{Recovered, Silent};
use crate::intent::{
    Closing, Incident, IncidentId, Intent, MessageKind, Outbox, Outgoing, Reached,
};
use crate::level::Level;
use crate::window::{Closed, Reported, Seen, Window};

/// What happened to one matched event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// First occurrence: its own Slack message was queued.
    Alerted,
    /// Folded into an open dedup window; reported when the window closes.
    Repeat,
    /// Over the rate limit; folded into the next summary.
    RateLimited,
    /// The send queue was full; counted in the next summary.
    Dropped,
    /// Matched a rule with a `threshold` that this event did not reach
    /// (counted in the rule's `below_threshold`).
    BelowThreshold,
    /// No alert rule matched it (nothing done).
    Ignored,
    /// The engine is shut down.
    Closed,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Alerted => "alerted",
            Decision::Repeat => "repeat",
            Decision::RateLimited => "rate_limited",
            Decision::Dropped => "dropped",
            Decision::BelowThreshold => "below_threshold",
            Decision::Ignored => "ignored",
            Decision::Closed => "closed",
        }
    }
}

/// An outbox that is full.
struct NoRoom;

impl Outbox for NoRoom {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
        Err(message)
    }

    fn has_room(&self) -> bool {
        false
    }
}

/// The decision core of one rule: its dedup window and counters. Its
/// messages go through the [`DestinationLimit`] of the rule's destination,
/// which the caller passes in (rules on one destination share it).
#[derive(Debug)]
pub(crate) struct RuleAlerter {
    config: Arc<Config>,
    /// Index of this alerter's rule in `config.rules`.
    rule: usize,
    rule_counters: Arc<RuleCounters>,
    window: Window,
    counters: Arc<Counters>,
    /// The fields an opened incident keeps of its first event: what any
    /// message may show ([`Config::event_refs`]).
    shape: Arc<EventShape>,
}

impl RuleAlerter {
    /// The alerter of `config.rules[rule]`, counting into the global
    /// `counters` and the rule's own.
    pub(crate) fn new(
        config: Arc<Config>,
        rule: usize,
        counters: Arc<Counters>,
        rule_counters: Arc<RuleCounters>,
        shape: Arc<EventShape>,
    ) -> RuleAlerter {
        let r = &config.rules[rule];
        let window_ms = r.dedup_window.as_millis() as u64;
        RuleAlerter {
            // Coordinated rules flush their repeats to the fleet from progress reports.
            window: if r.app.is_some() || config.coordination.is_some() {
                Window::live(window_ms, r.max_tracked)
            } else {
                Window::new(window_ms, r.max_tracked)
            },
            rule,
            rule_counters,
            counters,
            config,
            shape,
        }
    }

    /// This alerter's rule.
    pub(crate) fn rule(&self) -> &RuleConfig {
        &self.config.rules[self.rule]
    }

    /// Decides what to do with one matched event, with what the message
    /// says beyond the event.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_event_with(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        reached: Option<&Reached>,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        // Close windows that ended before this event, so their reports come
        // first (this also makes replay on event time behave like live timers).
        self.expire(now, limit, outbox);
        self.decide(level, fingerprint, fields, reached, now, limit, outbox)
    }

    /// Returns true if and only if an event of `fingerprint` would get a
    /// message of its own now (a first occurrence with a token and room in
    /// the queue). Runs the timers first, as deciding would.
    pub(crate) fn would_post(
        &mut self,
        fingerprint: &Fingerprint,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> bool {
        self.expire(now, limit, outbox);
        !self.window.contains(fingerprint.hash) && limit.would_admit(now) && outbox.has_room()
    }

    /// [`RuleAlerter::on_event_with`] for an event that carries only the
    /// fields the decision reads (level, fingerprint fields, service), once
    /// [`RuleAlerter::would_post`] said it gets no message of its own: in a
    /// storm almost every matched event is a repeat, and the shim sends those
    /// with a few fields instead of dozens. Should one be due after all (the
    /// sender made room in the queue meanwhile), the event cannot open an
    /// incident without its fields: it is decided as dropped, its own view of
    /// the queue full, and so counted in the next summary rather than lost.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_event_keys_only(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        reached: Option<&Reached>,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        self.expire(now, limit, outbox);
        if !self.window.contains(fingerprint.hash) && limit.would_admit(now) {
            return self.decide(level, fingerprint, fields, reached, now, limit, &mut NoRoom);
        }
        // A repeat or held back by the rate limit: `decide` captures nothing.
        self.decide(level, fingerprint, fields, reached, now, limit, outbox)
    }

    /// The decision of [`RuleAlerter::on_event_with`] after the timers ran.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        reached: Option<&Reached>,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        let service = ecs::first(&ecs::SERVICE, fields).and_then(Value::as_str);
        let observation =
            self.window
                .observe(fingerprint.hash, &fingerprint.label, level, service, now);
        if let Some(evicted) = observation.evicted {
            self.evicted(evicted, now, limit, outbox);
        }
        if self.is_live() {
            let host = ecs::first(&ecs::HOST, fields).and_then(Value::as_str);
            self.window.note_origin(fingerprint.hash, host, service);
        }
        if observation.seen == Some(Seen::Repeat) {
            Counters::add(&self.counters.repeats, 1);
            Counters::add(&self.rule_counters.repeats, 1);
            return Decision::Repeat;
        }
        if !limit.admit(now) {
            Counters::add(&self.counters.rate_limited, 1);
            Counters::add(&self.rule_counters.rate_limited, 1);
            limit.hold(
                self.rule,
                Held::Suppressed,
                fingerprint.hash,
                &fingerprint.label,
                1,
                now,
            );
            return Decision::RateLimited;
        }
        if !outbox.has_room() {
            return self.dropped(fingerprint, now, limit);
        }
        let incident = Box::new(Incident {
            id: IncidentId {
                rule: self.rule,
                key: fingerprint.hash,
            },
            label: fingerprint.label.clone(),
            level,
            service: service.map(str::to_string),
            first_seen: now.wall,
            count: 1,
            last_seen: now.wall,
        });
        let message = Outgoing {
            intent: Intent::Opened {
                incident,
                event: MatchedEvent::capture(&self.shape, fields),
                reached: reached.cloned().map(Box::new),
            },
            events: 1,
            undelivered: 0,
            rule: self.rule,
            destination: self.rule().destination,
        };
        match outbox.offer(message) {
            Ok(()) => {
                Counters::add(&self.counters.alerts, 1);
                Counters::add(&self.rule_counters.alerts, 1);
                Decision::Alerted
            }
            Err(_) => self.dropped(fingerprint, now, limit),
        }
    }

    /// A flatline rule's group went silent: one message, through the
    /// destination's limit (held back, it folds into the summary).
    pub(crate) fn post_flatline(
        &mut self,
        silent: &Silent,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        let intent = Intent::Silent {
            rule: self.rule,
            group: silent.group.clone(),
            last_seen: silent.last_seen,
        };
        if self.post_notice(intent, &silent.group, now, limit, outbox) {
            Counters::add(&self.rule_counters.flatline_alerts, 1);
        }
    }

    /// A silent group logs again.
    pub(crate) fn post_recovered(
        &mut self,
        recovered: &Recovered,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        let intent = Intent::Recovered {
            rule: self.rule,
            group: recovered.group.clone(),
            after: recovered.after,
            last_seen: now.wall.checked_sub(recovered.after).unwrap_or(now.wall),
        };
        if self.post_notice(intent, &recovered.group, now, limit, outbox) {
            Counters::add(&self.rule_counters.recovered, 1);
        }
    }

    /// Queues a message that accounts for no event, within the rate limit.
    /// Returns true if and only if it was queued.
    fn post_notice(
        &mut self,
        intent: Intent,
        label: &str,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> bool {
        let kind = intent.kind();
        if limit.admit(now) {
            let message = Outgoing {
                intent,
                events: 0,
                undelivered: 0,
                rule: self.rule,
                destination: self.rule().destination,
            };
            if outbox.offer(message).is_ok() {
                return true;
            }
            Counters::add(&self.counters.dropped, 1);
            Counters::add(&self.rule_counters.dropped, 1);
        } else {
            Counters::add(&self.counters.rate_limited, 1);
            Counters::add(&self.rule_counters.rate_limited, 1);
        }
        self.fold_notice(kind, label, now, limit);
        false
    }

    /// A notice that could not go out is counted in the destination's
    /// summary.
    fn fold_notice(&self, kind: MessageKind, label: &str, now: Now, limit: &mut DestinationLimit) {
        let mut h = crate::hash::FoldHasher::default();
        std::hash::Hash::hash(&(kind.as_str(), label), &mut h);
        let label = format!("{} {}", kind.as_str(), label);
        limit.hold(
            self.rule,
            Held::Notice,
            std::hash::Hasher::finish(&h),
            &label,
            1,
            now,
        );
    }

    fn dropped(
        &mut self,
        fingerprint: &Fingerprint,
        now: Now,
        limit: &mut DestinationLimit,
    ) -> Decision {
        Counters::add(&self.counters.dropped, 1);
        Counters::add(&self.rule_counters.dropped, 1);
        limit.hold(
            self.rule,
            Held::Dropped,
            fingerprint.hash,
            &fingerprint.label,
            1,
            now,
        );
        Decision::Dropped
    }

    /// Runs the timers: closes ended windows and posts the destination's
    /// pending summary when the rate limit allows. Called by the engine's
    /// timer thread.
    pub(crate) fn on_tick(
        &mut self,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        self.expire(now, limit, outbox);
        // On the timer only: the scan of the open windows never runs inside
        // a pipeline worker's decision.
        let interval = match (&self.rule().app, &self.config.coordination) {
            (Some(app), _) => Some(app.update_interval),
            (None, Some(_)) => Some(crate::fleet::FLUSH_INTERVAL),
            (None, None) => None,
        };
        if let Some(interval) = interval {
            let interval = interval.as_millis() as u64;
            for report in self.window.progress(now, interval) {
                self.report_progress(report, outbox);
            }
        }
    }

    /// Closes ended windows and posts the destination's pending summary
    /// when the rate limit allows: what every decision runs first.
    fn expire(&mut self, now: Now, limit: &mut DestinationLimit, outbox: &mut dyn Outbox) {
        let closed = self.window.expire(now);
        self.report_all(closed, Closing::Quiet, now, limit, outbox);
        limit.on_tick(now, outbox);
    }

    /// Returns true if and only if the rule's messages show a live status
    /// (app mode).
    fn is_live(&self) -> bool {
        self.rule().app.is_some()
    }

    /// An open incident's news, for its message's live status. It
    /// accounts for no events (its `Quiet` will), so a full queue loses
    /// only this status, which the next one or the `Quiet` brings.
    fn report_progress(&mut self, report: Reported, outbox: &mut dyn Outbox) {
        let c = report.closed;
        let message = Outgoing {
            events: 0,
            undelivered: 0,
            rule: self.rule,
            destination: self.rule().destination,
            intent: Intent::Progress {
                incident: Box::new(Incident {
                    id: IncidentId {
                        rule: self.rule,
                        key: c.hash,
                    },
                    label: c.label,
                    level: c.level,
                    service: c.service,
                    first_seen: c.first_seen,
                    count: c.repeats,
                    last_seen: c.last_seen,
                }),
                progress: Box::new(report.progress),
            },
        };
        let _ = outbox.offer(message);
    }

    /// Shutdown: reports every open window, without waiting for the rate
    /// limit; what cannot go out waits in the destination's summary, which
    /// [`DestinationLimit::on_shutdown`] then posts.
    pub(crate) fn on_shutdown(
        &mut self,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        self.on_tick(now, limit, outbox);
        let open = self.window.drain();
        self.report_all(open, Closing::Shutdown, now, limit, outbox);
    }

    /// Reports each closed window. The windows are already out of the table,
    /// so if reporting one panics (a bug, say), that window and
    /// every one after it fold into the destination's summary before the
    /// panic goes on to the thread's containment: their counts still reach
    /// Slack instead of vanishing with the unwound tick.
    fn report_all(
        &mut self,
        closed: Vec<Closed>,
        closing: Closing,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        let mut rest = closed.into_iter();
        while let Some(c) = rest.next() {
            let (hash, label, repeats) = (c.hash, c.label.clone(), c.repeats);
            let reported = panic::catch_unwind(AssertUnwindSafe(|| {
                self.report_repeats(c, closing, now, limit, outbox)
            }));
            if let Err(panic) = reported {
                self.fold_repeats(hash, &label, repeats, now, limit);
                for c in rest {
                    self.fold_repeats(c.hash, &c.label, c.repeats, now, limit);
                }
                panic::resume_unwind(panic);
            }
        }
    }

    /// Flatline notices for the groups that fell silent; like
    /// [`Self::report_all`], a panic folds this notice and the rest into
    /// the summary before it goes on.
    pub(crate) fn post_flatlines(
        &mut self,
        due: Vec<Silent>,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        let mut rest = due.into_iter();
        while let Some(silent) = rest.next() {
            let posted = panic::catch_unwind(AssertUnwindSafe(|| {
                self.post_flatline(&silent, now, limit, outbox)
            }));
            if let Err(panic) = posted {
                for s in std::iter::once(silent).chain(rest) {
                    self.fold_notice(MessageKind::Flatline, &s.group, now, limit);
                }
                panic::resume_unwind(panic);
            }
        }
    }

    fn evicted(
        &mut self,
        evicted: Closed,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        Counters::add(&self.counters.evicted, 1);
        limit.note_evicted(self.rule, now);
        if self.is_live() {
            // Its message still shows the count it reached.
            self.report_repeats(evicted, Closing::Evicted, now, limit, outbox);
        } else {
            self.fold_repeats(evicted.hash, &evicted.label, evicted.repeats, now, limit);
        }
    }

    fn report_repeats(
        &mut self,
        closed: Closed,
        closing: Closing,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        // In app mode the report edits the incident's message: no new
        // message, so no token of the limit, which counts messages. A
        // coordinated rule's report goes to the fleet's coordinator, which
        // posts only the owner's (and only with repeats).
        if self.is_live() || self.config.coordination.is_some() || limit.admit(now) {
            let message = Outgoing {
                events: closed.repeats,
                undelivered: 0,
                rule: self.rule,
                destination: self.rule().destination,
                intent: Intent::Quiet {
                    incident: Box::new(Incident {
                        id: IncidentId {
                            rule: self.rule,
                            key: closed.hash,
                        },
                        label: closed.label.clone(),
                        level: closed.level,
                        service: closed.service.clone(),
                        first_seen: closed.first_seen,
                        count: closed.repeats,
                        last_seen: closed.last_seen,
                    }),
                    closing,
                    spread: closed.spread,
                },
            };
            #[cfg(test)]
            tests::strike_report();
            if outbox.offer(message).is_ok() {
                return;
            }
        }
        self.fold_repeats(closed.hash, &closed.label, closed.repeats, now, limit);
    }

    /// A window's repeats that no repeat report carries go into the
    /// destination's summary.
    fn fold_repeats(
        &mut self,
        hash: u64,
        label: &str,
        repeats: u64,
        now: Now,
        limit: &mut DestinationLimit,
    ) {
        if repeats == 0 {
            return;
        }
        limit.hold(self.rule, Held::Repeats, hash, label, repeats, now);
    }

    /// Returns true if and only if no dedup window is open.
    pub(crate) fn is_idle(&self) -> bool {
        self.window.is_empty()
    }
}

/// The decision core of one rule on a destination of its own (the simple
/// form's one rule; benchmarks and tests). [`crate::RuleSet`] runs several
/// rules, sharing a [`DestinationLimit`] between those on one destination.
#[derive(Debug)]
pub struct Alerter {
    rule: RuleAlerter,
    limit: DestinationLimit,
}

impl Alerter {
    /// The alerter of the first rule (the simple form's only rule).
    pub fn new(config: Arc<Config>, counters: Arc<Counters>, now: Now) -> Alerter {
        let destination = config.rules[0].destination;
        Alerter {
            limit: DestinationLimit::new(Arc::clone(&config), destination, now),
            rule: RuleAlerter::new(
                Arc::clone(&config),
                0,
                counters,
                Arc::default(),
                EventShape::of_events(&config),
            ),
        }
    }

    /// This alerter's rule.
    pub fn rule(&self) -> &RuleConfig {
        self.rule.rule()
    }

    /// The counter the sender adds undelivered events to.
    pub fn undelivered(&self) -> Arc<AtomicU64> {
        self.limit.undelivered()
    }

    /// Decides what to do with one matched event.
    pub fn on_event(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        now: Now,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        self.rule.on_event_with(
            level,
            fingerprint,
            fields,
            None,
            now,
            &mut self.limit,
            outbox,
        )
    }

    /// Runs the timers: closes ended windows and posts a pending summary
    /// when the rate limit allows.
    pub fn on_tick(&mut self, now: Now, outbox: &mut dyn Outbox) {
        self.rule.on_tick(now, &mut self.limit, outbox);
    }

    /// Shutdown: reports every open window and whatever is pending, once,
    /// without waiting for the rate limit (the sender still paces).
    pub fn on_shutdown(&mut self, now: Now, outbox: &mut dyn Outbox) {
        self.rule.on_shutdown(now, &mut self.limit, outbox);
        self.limit.on_shutdown(now, outbox);
    }

    /// Returns true if and only if nothing is waiting to be reported.
    pub fn is_idle(&self) -> bool {
        self.rule.is_idle() && self.limit.is_idle()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Fingerprinter;
    use crate::test_support::{at, dry_run};
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;

    fn config(extra: Value) -> Arc<Config> {
        Arc::new(dry_run(extra))
    }

    struct Scenario {
        alerter: Alerter,
        counters: Arc<Counters>,
        sent: Vec<Outgoing>,
        fingerprinter: Fingerprinter,
    }

    impl Scenario {
        fn new(extra: Value) -> Scenario {
            let counters = Arc::new(Counters::default());
            Scenario {
                alerter: Alerter::new(config(extra), Arc::clone(&counters), at(0)),
                counters,
                sent: Vec::new(),
                fingerprinter: Fingerprinter::new(vec![]),
            }
        }

        fn event(&mut self, ms: u64, message: &str) -> Decision {
            let event = json!({"log.level": "ERROR", "message": message, "service.name": "orders"});
            let fp = self.fingerprinter.fingerprint(Level::Error, &event);
            self.alerter
                .on_event(Level::Error, &fp, &event, at(ms), &mut self.sent)
        }

        /// The body message `i` is posted with.
        fn payload(&self, i: usize) -> Value {
            crate::destination::render(&self.alerter.rule.config, &self.sent[i])
        }

        fn kinds(&self) -> Vec<MessageKind> {
            self.sent.iter().map(|m| m.kind()).collect()
        }

        /// Every matched event is accounted for by exactly one message count.
        fn accounted(&self) -> u64 {
            self.sent.iter().map(|m| m.events).sum()
        }
    }

    thread_local! {
        /// Test-only: the n-th next repeat report built on this thread
        /// panics just before it is queued (0: none).
        static PANIC_IN_REPORT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }

    pub(super) fn strike_report() {
        PANIC_IN_REPORT.with(|n| match n.get() {
            0 => {}
            1 => {
                n.set(0);
                panic!("injected panic while reporting a window (test-only)");
            }
            k => n.set(k - 1),
        });
    }

    #[test]
    fn a_panic_while_the_timer_reports_windows_folds_them_into_the_summary() {
        // Three windows close in one tick; reporting the second panics.
        // The first went out; the second and third are already out of the
        // table, so only the summary can still carry their counts.
        let mut s = Scenario::new(json!({"dedup_window": "1m", "rate_limit": 600, "burst": 10}));
        for (i, word) in ["alpha", "beta", "gamma"].iter().enumerate() {
            let i = i as u64;
            assert_eq!(s.event(i, &format!("failure {word}")), Decision::Alerted);
            for k in 0..=i {
                assert_eq!(
                    s.event(10 + k, &format!("failure {word}")),
                    Decision::Repeat
                );
            }
        }
        PANIC_IN_REPORT.with(|n| n.set(2));
        let ticked = panic::catch_unwind(AssertUnwindSafe(|| {
            s.alerter.on_tick(at(70_000), &mut s.sent)
        }));
        assert!(
            ticked.is_err(),
            "the injected panic goes on to the thread's containment"
        );
        let kinds = s.kinds();
        assert_eq!(
            kinds.iter().filter(|k| **k == MessageKind::Repeat).count(),
            1
        );
        // The next tick posts the summary of what the panic left behind.
        s.alerter.on_tick(at(80_000), &mut s.sent);
        let summary = s.sent.last().unwrap();
        assert_eq!(summary.kind(), MessageKind::Summary);
        assert_eq!(summary.events, 2 + 3, "beta's 2 and gamma's 3 repeats");
        assert_eq!(s.accounted(), 3 + 1 + 2 + 3);
    }

    /// A queue that is full until told otherwise, counting what is offered.
    #[derive(Default)]
    struct Stalled {
        full: bool,
        offers: u32,
        sent: Vec<Outgoing>,
    }

    impl Outbox for Stalled {
        fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
            self.offers += 1;
            if self.full {
                return Err(message);
            }
            self.sent.push(message);
            Ok(())
        }

        fn has_room(&self) -> bool {
            !self.full
        }
    }

    #[test]
    fn a_summary_is_not_rendered_while_the_queue_is_full() {
        let mut s = Scenario::new(json!({"rate_limit": 60, "burst": 1}));
        let mut queue = Stalled::default();
        let event = |s: &mut Scenario, ms: u64, message: &str, queue: &mut Stalled| {
            let event = json!({"log.level": "ERROR", "message": message});
            let fp = s.fingerprinter.fingerprint(Level::Error, &event);
            s.alerter.on_event(Level::Error, &fp, &event, at(ms), queue)
        };
        assert_eq!(
            event(&mut s, 0, "failure alpha", &mut queue),
            Decision::Alerted
        );
        queue.full = true;
        for i in 1..500u64 {
            let d = event(&mut s, i, &format!("failure kind {}", word(i)), &mut queue);
            assert_eq!(d, Decision::RateLimited);
        }
        // Tokens are back and a summary is owed, but the queue is full: the
        // timer (and every event) must not build what cannot be queued.
        for t in 0..100u64 {
            s.alerter.on_tick(at(5_000 + t * 250), &mut queue);
        }
        assert_eq!(queue.offers, 1, "only the first alert was offered");
        queue.full = false;
        s.alerter.on_tick(at(40_000), &mut queue);
        let summary = queue.sent.last().unwrap();
        assert_eq!(summary.kind(), MessageKind::Summary);
        assert_eq!(summary.events, 499);
    }

    #[test]
    fn a_storm_of_identical_errors_is_one_alert_and_one_repeat_report() {
        let mut s = Scenario::new(json!({"dedup_window": "5m"}));
        assert_eq!(s.event(0, "timeout after 3012 ms"), Decision::Alerted);
        for i in 1..10_000 {
            assert_eq!(
                s.event(i / 100, &format!("timeout after {i} ms")),
                Decision::Repeat
            );
        }
        s.alerter.on_tick(at(299_999), &mut s.sent);
        assert_eq!(s.kinds(), vec![MessageKind::Alert]);
        // The timer closes the window with no further event.
        s.alerter.on_tick(at(300_000), &mut s.sent);
        assert_eq!(s.kinds(), vec![MessageKind::Alert, MessageKind::Repeat]);
        assert_eq!(s.sent[1].events, 9_999);
        assert_eq!(s.accounted(), 10_000);
    }

    #[test]
    fn distinct_errors_over_the_limit_are_summarised_when_capacity_returns() {
        let mut s = Scenario::new(json!({"rate_limit": 20, "burst": 5}));
        let mut decisions = HashMap::new();
        for i in 0..1000u64 {
            // Distinct words, not numbers, so each is its own fingerprint.
            let d = s.event(i, &format!("failure kind {}", word(i)));
            *decisions.entry(d).or_insert(0) += 1;
        }
        assert_eq!(decisions[&Decision::Alerted], 5);
        assert_eq!(decisions[&Decision::RateLimited], 995);
        assert_eq!(s.kinds().len(), 5);
        // One token refills after 3 s: the summary takes it.
        s.alerter.on_tick(at(2_000), &mut s.sent);
        assert_eq!(s.kinds().len(), 5);
        s.alerter.on_tick(at(4_000), &mut s.sent);
        assert_eq!(s.kinds().last(), Some(&MessageKind::Summary));
        assert_eq!(s.sent.last().unwrap().events, 995);
        assert_eq!(s.accounted(), 1000);
        let text = s.payload(s.sent.len() - 1).to_string();
        assert!(text.contains("995"), "{text}");
    }

    #[test]
    fn while_a_summary_is_pending_new_alerts_fold_into_it() {
        let mut s = Scenario::new(json!({"rate_limit": 60, "burst": 1}));
        assert_eq!(s.event(0, "alpha"), Decision::Alerted);
        assert_eq!(s.event(10, "beta"), Decision::RateLimited);
        // A token is back at 1 s: the pending summary takes it before gamma
        // is decided, so gamma folds into the next one.
        assert_eq!(s.event(1_000, "gamma"), Decision::RateLimited);
        assert_eq!(s.kinds(), vec![MessageKind::Alert, MessageKind::Summary]);
        assert_eq!(s.sent[1].events, 1);
        s.alerter.on_tick(at(2_000), &mut s.sent);
        assert_eq!(s.sent.last().unwrap().events, 1);
        assert_eq!(s.event(3_000, "delta"), Decision::Alerted);
        assert_eq!(s.accounted(), 4);
    }

    #[test]
    fn repeat_reports_respect_the_limit_too() {
        let mut s = Scenario::new(json!({"rate_limit": 1, "burst": 1, "dedup_window": "10s"}));
        s.event(0, "alpha");
        s.event(1, "alpha");
        s.event(2, "alpha");
        // No token at 10 s (one a minute): the repeats are folded into the summary.
        s.alerter.on_tick(at(10_000), &mut s.sent);
        assert_eq!(s.kinds(), vec![MessageKind::Alert]);
        s.alerter.on_tick(at(60_000), &mut s.sent);
        assert_eq!(s.kinds(), vec![MessageKind::Alert, MessageKind::Summary]);
        assert_eq!(s.accounted(), 3);
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_the_summary_reports_it() {
        struct Full;
        impl Outbox for Full {
            fn offer(&mut self, m: Outgoing) -> Result<(), Outgoing> {
                Err(m)
            }
        }
        let mut s = Scenario::new(json!({}));
        let event = json!({"message": "boom"});
        let fp = s.fingerprinter.fingerprint(Level::Error, &event);
        assert_eq!(
            s.alerter
                .on_event(Level::Error, &fp, &event, at(0), &mut Full),
            Decision::Dropped
        );
        assert_eq!(s.counters.dropped.load(Ordering::Relaxed), 1);
        // The queue is still full: the summary waits.
        s.alerter.on_tick(at(10_000), &mut Full);
        s.alerter.on_tick(at(20_000), &mut s.sent);
        assert_eq!(s.kinds(), vec![MessageKind::Summary]);
        assert_eq!(s.sent[0].events, 1);
    }

    #[test]
    fn shutdown_reports_open_windows_and_pending_counts() {
        let mut s = Scenario::new(json!({"rate_limit": 60, "burst": 2}));
        s.event(0, "alpha");
        s.event(1, "alpha");
        s.event(2, "beta");
        s.event(3, "gamma"); // rate limited
        s.alerter.on_shutdown(at(4), &mut s.sent);
        assert_eq!(
            s.kinds(),
            vec![MessageKind::Alert, MessageKind::Alert, MessageKind::Summary]
        );
        assert_eq!(s.accounted(), 4);
        assert!(s.alerter.is_idle());
    }

    #[test]
    fn undelivered_events_reach_the_next_summary() {
        let mut s = Scenario::new(json!({}));
        s.alerter.undelivered().fetch_add(7, Ordering::Relaxed);
        s.alerter.on_tick(at(0), &mut s.sent);
        assert_eq!(s.kinds(), vec![MessageKind::Summary]);
        assert!(s.payload(0).to_string().contains('7'));
    }

    #[test]
    fn eviction_is_counted_and_reported() {
        let mut s = Scenario::new(json!({"max_tracked": 2, "rate_limit": 3600, "burst": 100}));
        s.event(0, "alpha");
        s.event(1, "alpha");
        s.event(2, "beta");
        s.event(3, "gamma"); // evicts alpha, which had one repeat
        assert_eq!(s.counters.evicted.load(Ordering::Relaxed), 1);
        s.alerter.on_tick(at(100), &mut s.sent);
        assert_eq!(s.kinds().last(), Some(&MessageKind::Summary));
        assert_eq!(s.accounted(), 4);
    }

    fn word(i: u64) -> String {
        // Spell the number in letters so normalisation keeps them apart.
        i.to_string()
            .bytes()
            .map(|b| (b'a' + (b - b'0')) as char)
            .collect()
    }
}
