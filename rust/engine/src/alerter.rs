//! The decision core: one matched event in, at most one message out.
//!
//! It owns the dedup [`Window`], the [`TokenBucket`] and the pending summary,
//! decides on a [`Now`] it is given, and hands messages to an [`Outbox`]. It
//! starts no thread and reads no clock, so the live engine, the sidecar's
//! replay and the tests all drive the same logic.
//!
//! Accounting: every matched event is exactly one of an alert (posted on its
//! own), a repeat (reported when its window closes, or folded into a
//! summary), rate-limited (folded into a summary) or dropped because the send
//! queue was full (counted in a summary). Nothing is lost silently.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use slack_alert_message::{
    ecs, render_alert, render_flatline, render_repeat, render_summary, AlertMeta, AlertView,
    Fields, FlatlineView, Link, Occurrences, RepeatView, SummaryView,
};

use crate::clock::Now;
use crate::config::{Config, RuleConfig};
use crate::counters::{Counters, RuleCounters};
use crate::fingerprint::Fingerprint;
use crate::flatline::{Recovered, Silent};
use crate::hash::IdentityBuildHasher;
use crate::level::Level;
use crate::limiter::TokenBucket;
use crate::window::{Closed, Seen, Window};

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

/// Which kind of message an [`Outgoing`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Alert,
    Repeat,
    Summary,
    Test,
    /// A flatline rule's group went silent.
    Flatline,
    /// A silent group logs again.
    Recovered,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Alert => "alert",
            MessageKind::Repeat => "repeat",
            MessageKind::Summary => "summary",
            MessageKind::Test => "test",
            MessageKind::Flatline => "flatline",
            MessageKind::Recovered => "recovered",
        }
    }
}

/// What an alert's message says beyond the event: set for threshold alerts.
#[derive(Clone, Debug, Default)]
pub struct AlertExtras {
    /// The threshold that was reached (N events...).
    pub occurrences: Option<u64>,
    /// ...within this window...
    pub within: Duration,
    /// ...in this group (`group_by` reference and value).
    pub group: Option<(String, String)>,
}

/// A rendered Slack message on its way out.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub kind: MessageKind,
    /// The webhook body.
    pub payload: Value,
    /// How many matched events this message accounts for.
    pub events: u64,
    /// Undelivered events from earlier failures that this (summary) message
    /// reports; handed back if it fails too.
    pub undelivered: u64,
    /// Index of the rule that sent it (into `Config::rules`).
    pub rule: usize,
    /// Index of its destination (into `Config::destinations`): which
    /// sender posts it.
    pub destination: usize,
}

/// Where the alerter puts messages. Offering never blocks: a full outbox
/// gives the message back.
pub trait Outbox {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing>;

    /// Returns false when an offer would surely be refused, so the message
    /// need not be rendered (a storm against a stalled Slack).
    fn has_room(&self) -> bool {
        true
    }
}

/// The fields of a message that is about no one event.
static NO_FIELDS: Value = Value::Null;

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

/// Collects messages (the sidecar's replay, tests).
impl Outbox for Vec<Outgoing> {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
        self.push(message);
        Ok(())
    }
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

/// Counts waiting for the next summary.
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

    fn touch(&mut self, now: Now) {
        self.since.get_or_insert(now.wall);
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

/// The decision core. See the module docs.
#[derive(Debug)]
pub struct Alerter {
    config: Arc<Config>,
    /// Index of this alerter's rule in `config.rules`.
    rule: usize,
    rule_counters: Arc<RuleCounters>,
    window: Window,
    limiter: TokenBucket,
    pending: Pending,
    counters: Arc<Counters>,
    /// Events in messages the sender could not deliver, reported by the
    /// sender thread and folded into the next summary.
    undelivered: Arc<AtomicU64>,
    last_summary_ms: Option<u64>,
}

impl Alerter {
    /// The alerter of the first rule (the simple form's only rule).
    pub fn new(config: Arc<Config>, counters: Arc<Counters>, now: Now) -> Alerter {
        Alerter::for_rule(config, 0, counters, Arc::default(), now)
    }

    /// The alerter of `config.rules[rule]`, counting into the global
    /// `counters` and the rule's own.
    pub fn for_rule(
        config: Arc<Config>,
        rule: usize,
        counters: Arc<Counters>,
        rule_counters: Arc<RuleCounters>,
        now: Now,
    ) -> Alerter {
        let r = &config.rules[rule];
        Alerter {
            window: Window::new(r.dedup_window.as_millis() as u64, r.max_tracked),
            limiter: TokenBucket::new(r.rate_limit, r.burst, now.mono_ms),
            rule,
            rule_counters,
            pending: Pending::default(),
            counters,
            undelivered: Arc::new(AtomicU64::new(0)),
            last_summary_ms: None,
            config,
        }
    }

    /// This alerter's rule.
    pub fn rule(&self) -> &RuleConfig {
        &self.config.rules[self.rule]
    }

    /// This alerter's rule counters.
    pub fn rule_counters(&self) -> &Arc<RuleCounters> {
        &self.rule_counters
    }

    /// The counter the sender adds undelivered events to.
    pub fn undelivered(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.undelivered)
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
        self.on_event_with(
            level,
            fingerprint,
            fields,
            &AlertExtras::default(),
            now,
            outbox,
        )
    }

    /// [`Alerter::on_event`] with what the message says beyond the event.
    pub fn on_event_with(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        extras: &AlertExtras,
        now: Now,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        // Close windows that ended before this event, so their reports come
        // first (this also makes replay on event time behave like live timers).
        self.on_tick(now, outbox);
        self.decide(level, fingerprint, fields, extras, now, outbox)
    }

    /// Returns true if and only if an event of `fingerprint` would get a
    /// message of its own now (a first occurrence with a token and room in
    /// the queue). Runs the timers first, as deciding would.
    pub fn would_post(
        &mut self,
        fingerprint: &Fingerprint,
        now: Now,
        outbox: &mut dyn Outbox,
    ) -> bool {
        self.on_tick(now, outbox);
        !self.window.contains(fingerprint.hash)
            && self.pending.is_empty()
            && self.limiter.has_token(now.mono_ms)
            && outbox.has_room()
    }

    /// [`Alerter::on_event`] for an event that carries only the fields the
    /// decision reads (level, fingerprint fields, service), not those its
    /// message shows: decides and counts exactly as `on_event` would, unless
    /// the event would get a message of its own now (a first occurrence with
    /// a token and room in the queue). Then it returns `None` having decided
    /// and counted nothing, and the caller calls `on_event` with every field.
    ///
    /// In a storm almost every matched event is a repeat, so the shim sends
    /// most of them with a few fields instead of dozens.
    pub fn on_event_unless_alerting(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        now: Now,
        outbox: &mut dyn Outbox,
    ) -> Option<Decision> {
        let extras = AlertExtras::default();
        self.on_event_unless_alerting_with(level, fingerprint, fields, &extras, now, outbox)
    }

    /// [`Alerter::on_event_unless_alerting`] with extras (see [`Alerter::on_event_with`]).
    pub fn on_event_unless_alerting_with(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        extras: &AlertExtras,
        now: Now,
        outbox: &mut dyn Outbox,
    ) -> Option<Decision> {
        self.on_tick(now, outbox);
        let first = !self.window.contains(fingerprint.hash);
        if first && self.pending.is_empty() && self.limiter.has_token(now.mono_ms) {
            if outbox.has_room() {
                return None;
            }
            // The queue is full: dropped, as `decide` would find. Its own
            // view of the queue, so that room made meanwhile by the sender
            // cannot make it render a message without its fields.
            return Some(self.decide(level, fingerprint, fields, extras, now, &mut NoRoom));
        }
        // A repeat or held back by the rate limit: `decide` renders nothing.
        Some(self.decide(level, fingerprint, fields, extras, now, outbox))
    }

    /// [`Alerter::on_event_unless_alerting_with`] for a caller that already
    /// learnt no message is due. Should the sender thread have made room in
    /// the queue meanwhile, the event still cannot be rendered without its
    /// fields: it is decided as dropped, and so counted in the next summary
    /// rather than lost.
    pub fn on_event_keys_only(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        extras: &AlertExtras,
        now: Now,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        match self.on_event_unless_alerting_with(level, fingerprint, fields, extras, now, outbox) {
            Some(decision) => decision,
            None => self.decide(level, fingerprint, fields, extras, now, &mut NoRoom),
        }
    }

    /// The decision of [`Alerter::on_event`] after the timers ran.
    fn decide(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        extras: &AlertExtras,
        now: Now,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        let service = ecs::first(&ecs::SERVICE, fields).and_then(Value::as_str);
        let observation =
            self.window
                .observe(fingerprint.hash, &fingerprint.label, level, service, now);
        if let Some(evicted) = observation.evicted {
            self.evicted(evicted, now);
        }
        if observation.seen == Some(Seen::Repeat) {
            Counters::add(&self.counters.repeats, 1);
            Counters::add(&self.rule_counters.repeats, 1);
            return Decision::Repeat;
        }
        // While a summary is pending, the next token belongs to it: new alerts
        // fold in until it is out, so that a steady stream cannot starve it.
        if !self.pending.is_empty() || !self.limiter.try_take(now.mono_ms) {
            Counters::add(&self.counters.rate_limited, 1);
            Counters::add(&self.rule_counters.rate_limited, 1);
            self.pending.touch(now);
            self.pending.suppressed += 1;
            self.pending.count(fingerprint.hash, &fingerprint.label, 1);
            return Decision::RateLimited;
        }
        if !outbox.has_room() {
            return self.dropped(fingerprint, now);
        }
        let raw_level = self
            .config
            .level_refs
            .iter()
            .find_map(|r| fields.get(r))
            .and_then(Value::as_str);
        let config = Arc::clone(&self.config);
        let rule = &config.rules[self.rule];
        let view = AlertView {
            level: level.name(),
            raw_level,
            fields,
            title: self.rule().title.as_ref(),
            format: self.rule().format.as_ref(),
            mention: self.rule().mention(Some(level)),
            link: rule.link_template.as_ref().map(|template| Link {
                template,
                text: &rule.link_text,
            }),
            occurrences: extras.occurrences.map(|count| Occurrences {
                count,
                within: extras.within,
                group: extras.group.as_ref().map(|(r, v)| (r.as_str(), v.as_str())),
            }),
            rule: Some(&rule.name),
        };
        let slack = render_alert(&view, &rule.style);
        let kind = if extras.occurrences.is_some() {
            "threshold"
        } else {
            "alert"
        };
        let group = extras.group.as_ref().map(|(_, v)| v.as_str());
        let payload = self.for_destination(slack, kind, fields, Some(level.name()), 1, group);
        let message = Outgoing {
            kind: MessageKind::Alert,
            payload,
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
            Err(_) => self.dropped(fingerprint, now),
        }
    }

    /// A flatline rule's group went silent: one message, through the rule's
    /// limit (held back, it folds into the summary).
    pub fn post_flatline(&mut self, silent: &Silent, now: Now, outbox: &mut dyn Outbox) {
        let payload = self.flatline_payload(&silent.group, silent.last_seen, None);
        if self.post_notice(MessageKind::Flatline, payload, &silent.group, now, outbox) {
            Counters::add(&self.rule_counters.flatline_alerts, 1);
        }
    }

    /// A silent group logs again.
    pub fn post_recovered(&mut self, recovered: &Recovered, now: Now, outbox: &mut dyn Outbox) {
        let last_seen = now.wall.checked_sub(recovered.after).unwrap_or(now.wall);
        let payload = self.flatline_payload(&recovered.group, last_seen, Some(recovered.after));
        if self.post_notice(
            MessageKind::Recovered,
            payload,
            &recovered.group,
            now,
            outbox,
        ) {
            Counters::add(&self.rule_counters.recovered, 1);
        }
    }

    fn flatline_payload(
        &self,
        group: &str,
        last_seen: SystemTime,
        recovered_after: Option<Duration>,
    ) -> Value {
        let rule = self.rule();
        let view = FlatlineView {
            rule: &rule.name,
            group_ref: rule
                .group_by
                .as_deref()
                .unwrap_or(ecs::SERVICE.candidates[0]),
            group,
            silence: rule.silence,
            last_seen,
            mention: rule.mention(None),
            recovered_after,
        };
        let kind = if recovered_after.is_some() {
            "recovered"
        } else {
            "flatline"
        };
        let slack = render_flatline(&view, &rule.style);
        self.for_destination(slack, kind, &NO_FIELDS, None, 0, Some(group))
    }

    /// The body for this rule's destination: the Slack payload as is, or the
    /// operator's JSON body with the message as plain text in `[@alert]`.
    fn for_destination(
        &self,
        slack: Value,
        kind: &str,
        fields: &dyn Fields,
        level: Option<&str>,
        count: u64,
        group: Option<&str>,
    ) -> Value {
        let rule = self.rule();
        let Some(body) = rule.body_template.as_ref() else {
            return slack;
        };
        let title = slack
            .get("text")
            .and_then(Value::as_str)
            .map(|t| slack_alert_message::escape::unescape_mrkdwn(t).into_owned())
            .unwrap_or_default();
        let text = slack_alert_message::plain::to_text(&slack);
        let link = rule.link_template.as_ref().and_then(|t| t.render(fields));
        let meta = AlertMeta {
            rule: &rule.name,
            kind,
            level,
            title: &title,
            text: &text,
            count,
            link: link.as_deref(),
            group,
        };
        body.render(fields, &meta)
    }

    /// Queues a message that accounts for no event, within the rate limit.
    /// Returns true if and only if it was queued.
    fn post_notice(
        &mut self,
        kind: MessageKind,
        payload: Value,
        label: &str,
        now: Now,
        outbox: &mut dyn Outbox,
    ) -> bool {
        if self.pending.is_empty() && self.limiter.try_take(now.mono_ms) {
            let message = Outgoing {
                kind,
                payload,
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
        self.pending.touch(now);
        self.pending.notices += 1;
        let mut h = crate::hash::FoldHasher::default();
        std::hash::Hash::hash(&(kind.as_str(), label), &mut h);
        let label = format!("{} {}", kind.as_str(), label);
        self.pending.count(std::hash::Hasher::finish(&h), &label, 1);
        false
    }

    fn dropped(&mut self, fingerprint: &Fingerprint, now: Now) -> Decision {
        Counters::add(&self.counters.dropped, 1);
        Counters::add(&self.rule_counters.dropped, 1);
        self.pending.touch(now);
        self.pending.dropped += 1;
        self.pending.count(fingerprint.hash, &fingerprint.label, 1);
        Decision::Dropped
    }

    /// Runs the timers: closes ended windows and posts a pending summary
    /// when the rate limit allows. Called by the engine's timer thread.
    pub fn on_tick(&mut self, now: Now, outbox: &mut dyn Outbox) {
        for closed in self.window.expire(now) {
            self.report_repeats(closed, now, outbox);
        }
        self.collect_undelivered(now);
        let failures_wait = self.pending.only_failures()
            && self
                .last_summary_ms
                .is_some_and(|t| now.mono_ms < t + FAILURE_SUMMARY_EVERY_MS);
        if !self.pending.is_empty() && !failures_wait && self.limiter.has_token(now.mono_ms) {
            self.post_summary(now, outbox, true);
        }
    }

    /// Shutdown: reports every open window and whatever is pending, once,
    /// without waiting for the rate limit (the sender still paces).
    pub fn on_shutdown(&mut self, now: Now, outbox: &mut dyn Outbox) {
        self.on_tick(now, outbox);
        for closed in self.window.drain() {
            self.report_repeats(closed, now, outbox);
        }
        self.collect_undelivered(now);
        if !self.pending.is_empty() {
            self.post_summary(now, outbox, false);
        }
    }

    fn evicted(&mut self, evicted: Closed, now: Now) {
        Counters::add(&self.counters.evicted, 1);
        self.pending.touch(now);
        self.pending.evicted += 1;
        if evicted.repeats > 0 {
            self.pending.repeats += evicted.repeats;
            self.pending
                .count(evicted.hash, &evicted.label, evicted.repeats);
        }
    }

    fn report_repeats(&mut self, closed: Closed, now: Now, outbox: &mut dyn Outbox) {
        if self.pending.is_empty() && self.limiter.try_take(now.mono_ms) {
            let view = RepeatView {
                level: closed.level.name(),
                label: &closed.label,
                count: closed.repeats,
                first_seen: closed.first_seen,
                window: self.rule().dedup_window,
                service: closed.service.as_deref(),
                rule: Some(&self.rule().name),
            };
            let slack = render_repeat(&view, &self.rule().style);
            let payload = self.for_destination(
                slack,
                "repeat",
                &NO_FIELDS,
                Some(closed.level.name()),
                closed.repeats,
                None,
            );
            let message = Outgoing {
                kind: MessageKind::Repeat,
                payload,
                events: closed.repeats,
                undelivered: 0,
                rule: self.rule,
                destination: self.rule().destination,
            };
            if outbox.offer(message).is_ok() {
                return;
            }
        }
        self.pending.touch(now);
        self.pending.repeats += closed.repeats;
        self.pending
            .count(closed.hash, &closed.label, closed.repeats);
    }

    fn collect_undelivered(&mut self, now: Now) {
        let n = self.undelivered.swap(0, Ordering::Relaxed);
        if n > 0 {
            self.pending.touch(now);
            self.pending.undelivered += n;
        }
    }

    fn post_summary(&mut self, now: Now, outbox: &mut dyn Outbox, take_token: bool) {
        let top = self.pending.top();
        let view = SummaryView {
            suppressed: self.pending.suppressed + self.pending.notices,
            top: &top,
            repeats: self.pending.repeats,
            dropped: self.pending.dropped,
            undelivered: self.pending.undelivered,
            evicted: self.pending.evicted,
            since: self.pending.since.unwrap_or(now.wall),
            rule: Some(&self.rule().name),
        };
        let slack = render_summary(&view, &self.rule().style);
        let payload = self.for_destination(
            slack,
            "summary",
            &NO_FIELDS,
            None,
            self.pending.events(),
            None,
        );
        let message = Outgoing {
            kind: MessageKind::Summary,
            payload,
            events: self.pending.events(),
            undelivered: self.pending.undelivered,
            rule: self.rule,
            destination: self.rule().destination,
        };
        // A summary that does not fit in the queue stays pending for the next tick.
        if outbox.offer(message).is_ok() {
            if take_token {
                self.limiter.try_take(now.mono_ms);
            }
            self.last_summary_ms = Some(now.mono_ms);
            self.pending = Pending::default();
        }
    }

    /// Returns true if and only if nothing is waiting to be reported.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.window.is_empty()
    }

    /// The dedup window length (for display).
    pub fn window_length(&self) -> Duration {
        self.rule().dedup_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Fingerprinter;
    use serde_json::json;
    use std::time::Duration;

    fn config(extra: Value) -> Arc<Config> {
        let mut v = json!({"dry_run": true});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Arc::new(Config::try_from(v).unwrap())
    }

    fn at(ms: u64) -> Now {
        Now {
            mono_ms: ms,
            wall: SystemTime::UNIX_EPOCH
                + Duration::from_secs(1_700_000_000)
                + Duration::from_millis(ms),
        }
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

        fn kinds(&self) -> Vec<MessageKind> {
            self.sent.iter().map(|m| m.kind).collect()
        }

        /// Every matched event is accounted for by exactly one message count.
        fn accounted(&self) -> u64 {
            self.sent.iter().map(|m| m.events).sum()
        }
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
        let text = s.sent.last().unwrap().payload.to_string();
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
        assert!(s.sent[0].payload.to_string().contains('7'));
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
