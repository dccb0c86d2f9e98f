//! The decision core: one matched event in, at most one message out.
//!
//! A `RuleAlerter` owns one rule's dedup [`Window`]; the [`TokenBucket`]
//! and the pending summary belong to the rule's destination
//! ([`DestinationLimit`]), shared by every rule posting there, because the
//! limit is Slack's, per webhook. Both decide on a [`Now`] they are given and
//! hand messages to an [`Outbox`]. They start no thread and read no clock, so
//! the live engine, the sidecar's replay and the tests all drive the same
//! logic. [`Alerter`] is one rule on a destination of its own.
//!
//! Accounting: every matched event is exactly one of an alert (posted on its
//! own), a repeat (reported when its window closes, or folded into a
//! summary), rate-limited (folded into a summary) or dropped because the send
//! queue was full (counted in a summary). Nothing is lost silently.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use slack_alert_event::{ecs, Fields};
use slack_alert_render::{
    render_alert, render_flatline, render_repeat, render_summary, AlertMeta, AlertView,
    FlatlineView, Link, Occurrences, RepeatView, SummaryView,
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
pub struct DestinationLimit {
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
    pub fn new(config: Arc<Config>, destination: usize, now: Now) -> DestinationLimit {
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
    pub fn undelivered(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.undelivered)
    }

    /// Returns true if and only if nothing is held back for a summary.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// Takes a token for a message of its own, unless a summary is pending:
    /// the next token belongs to it, so new messages fold in until it is
    /// out and a steady stream cannot starve it.
    fn admit(&mut self, now: Now) -> bool {
        self.pending.is_empty() && self.bucket.try_take(now.mono_ms)
    }

    /// [`DestinationLimit::admit`] without taking the token.
    fn would_admit(&mut self, now: Now) -> bool {
        self.pending.is_empty() && self.bucket.has_token(now.mono_ms)
    }

    fn collect_undelivered(&mut self, now: Now) {
        let n = self.undelivered.swap(0, Ordering::Relaxed);
        if n > 0 {
            self.pending.since.get_or_insert(now.wall);
            self.pending.undelivered += n;
        }
    }

    /// Posts the pending summary when the rate limit allows (the timer).
    pub fn on_tick(&mut self, now: Now, outbox: &mut dyn Outbox) {
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
    pub fn on_shutdown(&mut self, now: Now, outbox: &mut dyn Outbox) {
        self.collect_undelivered(now);
        if !self.pending.is_empty() {
            self.post_summary(now, outbox, false);
        }
    }

    fn post_summary(&mut self, now: Now, outbox: &mut dyn Outbox, take_token: bool) {
        // Every matched event runs the timers first: against a stalled
        // Slack, rendering a summary the full queue then refuses would cost
        // a whole render per event, on the pipeline's thread, under the lock.
        if !outbox.has_room() {
            return;
        }
        let config = Arc::clone(&self.config);
        // Only failed deliveries: no rule held anything back; the
        // destination's first rule speaks for it.
        let first = self.pending.rules.first().copied().unwrap_or_else(|| {
            config
                .rules
                .iter()
                .position(|r| r.destination == self.destination)
                .unwrap_or(0)
        });
        let rule = &config.rules[first];
        let names = if self.pending.rules.len() > 1 {
            let names: Vec<&str> = self
                .pending
                .rules
                .iter()
                .map(|&i| config.rules[i].name.as_str())
                .collect();
            names.join(", ")
        } else {
            rule.name.clone()
        };
        let top = self.pending.top();
        let view = SummaryView {
            suppressed: self.pending.suppressed + self.pending.notices,
            top: &top,
            repeats: self.pending.repeats,
            dropped: self.pending.dropped,
            undelivered: self.pending.undelivered,
            evicted: self.pending.evicted,
            since: self.pending.since.unwrap_or(now.wall),
            rule: Some(&names),
        };
        let slack = render_summary(&view, &rule.style);
        let body = Body {
            kind: "summary",
            rule: &names,
            fields: &NO_FIELDS,
            level: None,
            count: self.pending.events(),
            group: None,
        };
        let message = Outgoing {
            kind: MessageKind::Summary,
            payload: for_destination(rule, slack, &body),
            events: self.pending.events(),
            undelivered: self.pending.undelivered,
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

/// What a JSON destination's body may say about a message beyond the event.
struct Body<'a> {
    kind: &'a str,
    /// The rule name(s) shown as `[@alert][rule]`.
    rule: &'a str,
    fields: &'a dyn Fields,
    level: Option<&'a str>,
    count: u64,
    group: Option<&'a str>,
}

/// The body for `rule`'s destination: the Slack payload as is, or the
/// operator's JSON body with the message as plain text in `[@alert]`.
fn for_destination(rule: &RuleConfig, slack: Value, body: &Body<'_>) -> Value {
    let Some(template) = rule.body_template.as_ref() else {
        return slack;
    };
    let title = slack
        .get("text")
        .and_then(Value::as_str)
        .map(|t| slack_alert_render::escape::unescape_mrkdwn(t).into_owned())
        .unwrap_or_default();
    let text = slack_alert_render::plain::to_text(&slack);
    let link = rule
        .link_template
        .as_ref()
        .and_then(|t| t.render(body.fields));
    let meta = AlertMeta {
        rule: body.rule,
        kind: body.kind,
        level: body.level,
        title: &title,
        text: &text,
        count: body.count,
        link: link.as_deref(),
        group: body.group,
    };
    template.render(body.fields, &meta)
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
}

impl RuleAlerter {
    /// The alerter of `config.rules[rule]`, counting into the global
    /// `counters` and the rule's own.
    pub(crate) fn new(
        config: Arc<Config>,
        rule: usize,
        counters: Arc<Counters>,
        rule_counters: Arc<RuleCounters>,
    ) -> RuleAlerter {
        let r = &config.rules[rule];
        RuleAlerter {
            window: Window::new(r.dedup_window.as_millis() as u64, r.max_tracked),
            rule,
            rule_counters,
            counters,
            config,
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
        extras: &AlertExtras,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        // Close windows that ended before this event, so their reports come
        // first (this also makes replay on event time behave like live timers).
        self.on_tick(now, limit, outbox);
        self.decide(level, fingerprint, fields, extras, now, limit, outbox)
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
        self.on_tick(now, limit, outbox);
        !self.window.contains(fingerprint.hash) && limit.would_admit(now) && outbox.has_room()
    }

    /// [`RuleAlerter::on_event_with`] for an event that carries only the
    /// fields the decision reads (level, fingerprint fields, service), not
    /// those its message shows: decides and counts exactly as
    /// `on_event_with` would, unless the event would get a message of its
    /// own now (a first occurrence with a token and room in the queue). Then
    /// it returns `None` having decided and counted nothing, and the caller
    /// decides again with every field.
    ///
    /// In a storm almost every matched event is a repeat, so the shim sends
    /// most of them with a few fields instead of dozens.
    #[allow(clippy::too_many_arguments)]
    fn on_event_unless_alerting_with(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        extras: &AlertExtras,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> Option<Decision> {
        self.on_tick(now, limit, outbox);
        let first = !self.window.contains(fingerprint.hash);
        if first && limit.would_admit(now) {
            if outbox.has_room() {
                return None;
            }
            // The queue is full: dropped, as `decide` would find. Its own
            // view of the queue, so that room made meanwhile by the sender
            // cannot make it render a message without its fields.
            return Some(self.decide(level, fingerprint, fields, extras, now, limit, &mut NoRoom));
        }
        // A repeat or held back by the rate limit: `decide` renders nothing.
        Some(self.decide(level, fingerprint, fields, extras, now, limit, outbox))
    }

    /// [`RuleAlerter::on_event_unless_alerting_with`] for a caller that
    /// already learnt no message is due. Should the sender thread have made
    /// room in the queue meanwhile, the event still cannot be rendered
    /// without its fields: it is decided as dropped, and so counted in the
    /// next summary rather than lost.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_event_keys_only(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        extras: &AlertExtras,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        match self.on_event_unless_alerting_with(
            level,
            fingerprint,
            fields,
            extras,
            now,
            limit,
            outbox,
        ) {
            Some(decision) => decision,
            None => self.decide(level, fingerprint, fields, extras, now, limit, &mut NoRoom),
        }
    }

    /// The decision of [`RuleAlerter::on_event_with`] after the timers ran.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &mut self,
        level: Level,
        fingerprint: &Fingerprint,
        fields: &dyn Fields,
        extras: &AlertExtras,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> Decision {
        let service = ecs::first(&ecs::SERVICE, fields).and_then(Value::as_str);
        let observation =
            self.window
                .observe(fingerprint.hash, &fingerprint.label, level, service, now);
        if let Some(evicted) = observation.evicted {
            self.evicted(evicted, now, limit);
        }
        if observation.seen == Some(Seen::Repeat) {
            Counters::add(&self.counters.repeats, 1);
            Counters::add(&self.rule_counters.repeats, 1);
            return Decision::Repeat;
        }
        if !limit.admit(now) {
            Counters::add(&self.counters.rate_limited, 1);
            Counters::add(&self.rule_counters.rate_limited, 1);
            limit.pending.touch(self.rule, now);
            limit.pending.suppressed += 1;
            limit.pending.count(fingerprint.hash, &fingerprint.label, 1);
            return Decision::RateLimited;
        }
        if !outbox.has_room() {
            return self.dropped(fingerprint, now, limit);
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
            title: rule.title.as_ref(),
            format: rule.format.as_ref(),
            mention: rule.mention(Some(level)),
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
        let body = Body {
            kind: if extras.occurrences.is_some() {
                "threshold"
            } else {
                "alert"
            },
            rule: &rule.name,
            fields,
            level: Some(level.name()),
            count: 1,
            group: extras.group.as_ref().map(|(_, v)| v.as_str()),
        };
        let message = Outgoing {
            kind: MessageKind::Alert,
            payload: for_destination(rule, slack, &body),
            events: 1,
            undelivered: 0,
            rule: self.rule,
            destination: rule.destination,
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
        let payload = self.flatline_payload(&silent.group, silent.last_seen, None);
        if self.post_notice(
            MessageKind::Flatline,
            payload,
            &silent.group,
            now,
            limit,
            outbox,
        ) {
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
        let last_seen = now.wall.checked_sub(recovered.after).unwrap_or(now.wall);
        let payload = self.flatline_payload(&recovered.group, last_seen, Some(recovered.after));
        if self.post_notice(
            MessageKind::Recovered,
            payload,
            &recovered.group,
            now,
            limit,
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
        let slack = render_flatline(&view, &rule.style);
        let body = Body {
            kind: if recovered_after.is_some() {
                "recovered"
            } else {
                "flatline"
            },
            rule: &rule.name,
            fields: &NO_FIELDS,
            level: None,
            count: 0,
            group: Some(group),
        };
        for_destination(rule, slack, &body)
    }

    /// Queues a message that accounts for no event, within the rate limit.
    /// Returns true if and only if it was queued.
    fn post_notice(
        &mut self,
        kind: MessageKind,
        payload: Value,
        label: &str,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) -> bool {
        if limit.admit(now) {
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
        self.fold_notice(kind, label, now, limit);
        false
    }

    /// A notice that could not go out is counted in the destination's
    /// summary.
    fn fold_notice(&self, kind: MessageKind, label: &str, now: Now, limit: &mut DestinationLimit) {
        limit.pending.touch(self.rule, now);
        limit.pending.notices += 1;
        let mut h = crate::hash::FoldHasher::default();
        std::hash::Hash::hash(&(kind.as_str(), label), &mut h);
        let label = format!("{} {}", kind.as_str(), label);
        limit
            .pending
            .count(std::hash::Hasher::finish(&h), &label, 1);
    }

    fn dropped(
        &mut self,
        fingerprint: &Fingerprint,
        now: Now,
        limit: &mut DestinationLimit,
    ) -> Decision {
        Counters::add(&self.counters.dropped, 1);
        Counters::add(&self.rule_counters.dropped, 1);
        limit.pending.touch(self.rule, now);
        limit.pending.dropped += 1;
        limit.pending.count(fingerprint.hash, &fingerprint.label, 1);
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
        let closed = self.window.expire(now);
        self.report_all(closed, now, limit, outbox);
        limit.on_tick(now, outbox);
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
        self.report_all(open, now, limit, outbox);
    }

    /// Reports each closed window. The windows are already out of the table,
    /// so if reporting one panics (a bug in rendering, say), that window and
    /// every one after it fold into the destination's summary before the
    /// panic goes on to the thread's containment: their counts still reach
    /// Slack instead of vanishing with the unwound tick.
    fn report_all(
        &mut self,
        closed: Vec<Closed>,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        let mut rest = closed.into_iter();
        while let Some(c) = rest.next() {
            let (hash, label, repeats) = (c.hash, c.label.clone(), c.repeats);
            let reported = panic::catch_unwind(AssertUnwindSafe(|| {
                self.report_repeats(c, now, limit, outbox)
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

    fn evicted(&mut self, evicted: Closed, now: Now, limit: &mut DestinationLimit) {
        Counters::add(&self.counters.evicted, 1);
        limit.pending.touch(self.rule, now);
        limit.pending.evicted += 1;
        self.fold_repeats(evicted.hash, &evicted.label, evicted.repeats, now, limit);
    }

    fn report_repeats(
        &mut self,
        closed: Closed,
        now: Now,
        limit: &mut DestinationLimit,
        outbox: &mut dyn Outbox,
    ) {
        if limit.admit(now) {
            let rule = self.rule();
            let view = RepeatView {
                level: closed.level.name(),
                label: &closed.label,
                count: closed.repeats,
                first_seen: closed.first_seen,
                window: rule.dedup_window,
                service: closed.service.as_deref(),
                rule: Some(&rule.name),
            };
            let slack = render_repeat(&view, &rule.style);
            let body = Body {
                kind: "repeat",
                rule: &rule.name,
                fields: &NO_FIELDS,
                level: Some(closed.level.name()),
                count: closed.repeats,
                group: None,
            };
            let message = Outgoing {
                kind: MessageKind::Repeat,
                payload: for_destination(rule, slack, &body),
                events: closed.repeats,
                undelivered: 0,
                rule: self.rule,
                destination: rule.destination,
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
        limit.pending.touch(self.rule, now);
        limit.pending.repeats += repeats;
        limit.pending.count(hash, label, repeats);
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
            rule: RuleAlerter::new(config, 0, counters, Arc::default()),
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
        let extras = AlertExtras::default();
        self.rule.on_event_with(
            level,
            fingerprint,
            fields,
            &extras,
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

    thread_local! {
        /// Test-only: the n-th next repeat report rendered on this thread
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
        assert_eq!(summary.kind, MessageKind::Summary);
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
        // timer (and every event) must not render what cannot be queued.
        for t in 0..100u64 {
            s.alerter.on_tick(at(5_000 + t * 250), &mut queue);
        }
        assert_eq!(queue.offers, 1, "only the first alert was offered");
        queue.full = false;
        s.alerter.on_tick(at(40_000), &mut queue);
        let summary = queue.sent.last().unwrap();
        assert_eq!(summary.kind, MessageKind::Summary);
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
