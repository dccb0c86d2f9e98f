//! Every rule of a configuration, decided together: the pure core.
//!
//! A [`RuleSet`] takes one event (or a timer tick) and a [`Now`], and puts
//! intents in [`Outboxes`], one per destination, whose senders render them.
//! It starts no thread, reads no clock and renders nothing, so the live
//! [`crate::Engine`], the sidecar's `check` replay and the tests drive one
//! implementation.
//!
//! Per rule: level in its set → conditions hold → not excluded → the rule
//! *matches*. An alert rule then counts towards its threshold (if > 1) and
//! goes through its own dedup window, then through the token bucket and
//! pending summary of its destination ([`DestinationLimit`]), which every
//! rule posting there shares. A flatline rule learns the event's group and
//! says when a silent group logs again; [`RuleSet::on_tick`] reports groups
//! gone silent.
//!
//! Deciding is split in two so that the live engine can do the costly part
//! (conditions, fingerprints) outside its lock: [`Matching::prepare`] reads
//! only the configuration, [`RuleSet::apply`] changes state.

use std::hash::{Hash, Hasher};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use serde_json::Value;
use slack_alert_event::{ecs, value_text, Fields};

use crate::alerter::{Decision, RuleAlerter};
use crate::clock::Now;
use crate::config::{Config, RuleKind};
use crate::counters::{Counters, RuleCounters};
use crate::destination::DestinationLimit;
use crate::event::EventShape;
use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::flatline::Flatline;
use crate::hash::FoldHasher;
use crate::intent::{Outbox, Outgoing, Reached};
use crate::level::Level;
use crate::matcher::{Candidacy, Matcher, Triage};
use crate::threshold::Threshold;

/// Where a rule set puts messages: one outbox per destination.
pub trait Outboxes {
    /// The outbox in front of destination `destination`
    /// (an index into `Config::destinations`).
    fn outbox(&mut self, destination: usize) -> &mut dyn Outbox;
}

/// Collects every message, whatever its destination (replay, tests); each
/// carries its `rule` and `destination`.
impl Outboxes for Vec<Outgoing> {
    fn outbox(&mut self, _: usize) -> &mut dyn Outbox {
        self
    }
}

/// What deciding about one rule reads, fixed at start.
#[derive(Debug)]
struct RuleMatch {
    accept: Matcher,
    any_level: bool,
    alert: bool,
    fingerprinter: Fingerprinter,
}

/// The read-only half of a [`RuleSet`]: which rules an event matches.
/// Shared with callers' threads (see [`RuleSet::matching`]).
#[derive(Debug)]
pub struct Matching {
    config: Arc<Config>,
    rules: Vec<RuleMatch>,
    /// The union of the rules' levels.
    matcher: Matcher,
    any_level: bool,
    /// Alert candidate, heartbeat or neither, by level.
    triage: Triage,
}

/// One rule an event matched.
#[derive(Clone, Debug)]
struct Hit {
    rule: usize,
    /// Alert rules only.
    fingerprint: Option<Fingerprint>,
}

/// The rules one event matched, worked out by [`Matching::prepare`].
#[derive(Clone, Debug)]
pub struct Prepared {
    level: Option<Level>,
    hits: Vec<Hit>,
    /// Rules whose level and conditions held but an `exclude` matched.
    excluded: Vec<usize>,
}

impl Prepared {
    /// The event's canonical level, if it has one.
    pub fn level(&self) -> Option<Level> {
        self.level
    }

    /// Returns true if and only if some alert rule matched.
    pub fn matched_alert_rule(&self) -> bool {
        self.hits.iter().any(|h| h.fingerprint.is_some())
    }

    /// Indices of the rules the event matched.
    pub fn rules(&self) -> impl Iterator<Item = usize> + '_ {
        self.hits.iter().map(|h| h.rule)
    }

    /// The fingerprint label of the first alert rule matched.
    pub fn label(&self) -> Option<&str> {
        self.hits
            .iter()
            .find_map(|h| h.fingerprint.as_ref().map(|f| f.label.as_str()))
    }
}

impl Matching {
    fn new(config: Arc<Config>) -> Matching {
        let rules = config
            .rules
            .iter()
            .map(|r| RuleMatch {
                accept: Matcher::new(&r.levels),
                any_level: r.any_level,
                alert: r.kind == RuleKind::Alert,
                fingerprinter: Fingerprinter::new(r.dedup_fields.clone()),
            })
            .collect();
        Matching {
            matcher: Matcher::new(&config.candidate_levels()),
            any_level: config.admits_missing_level(),
            triage: Triage::new(
                &config.levels_of(RuleKind::Alert),
                &config.levels_of(RuleKind::Flatline),
                config.admits_missing_level(),
            ),
            config,
            rules,
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The union of the rules' levels.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Returns true if and only if some rule takes events whatever their
    /// level, also without one.
    pub fn admits_missing_level(&self) -> bool {
        self.any_level
    }

    /// The event's canonical level: the first level field present, parsed
    /// (whether or not any rule accepts it).
    pub fn level(&self, fields: &dyn Fields) -> Option<Level> {
        let value = self.config.level_refs.iter().find_map(|r| fields.get(r))?;
        Level::from_json(value)
    }

    /// The candidacy of each level, as a table (the batch matcher).
    pub fn triage(&self) -> &Triage {
        &self.triage
    }

    /// Whether an event of `level` is an alert candidate (some alert rule
    /// takes its level), a heartbeat (only flatline rules take it) or
    /// neither (no allocation: the caller's fast path).
    #[inline]
    pub fn candidacy(&self, level: Option<Level>) -> Candidacy {
        self.triage.of(level)
    }

    /// Returns true if and only if some rule accepts `level` (no allocation:
    /// the caller's fast path).
    pub fn is_candidate(&self, level: Option<Level>) -> bool {
        self.candidacy(level) != Candidacy::None
    }

    /// Which rules `fields` matches, with the alert rules' fingerprints.
    /// `None` when no rule's level accepts it (nothing to do).
    pub fn prepare(&self, level: Option<Level>, fields: &dyn Fields) -> Option<Prepared> {
        if !self.is_candidate(level) {
            return None;
        }
        Some(self.prepare_rules(level, fields, false))
    }

    /// [`Matching::prepare`] over the flatline rules only: what a heartbeat
    /// (an event of [`Candidacy::Heartbeat`], carrying
    /// [`Config::heartbeat_refs`]) matches. For such an event it gives what
    /// `prepare` would, as no alert rule takes its level. `None` when no
    /// flatline rule's level accepts it.
    pub fn prepare_heartbeat(&self, level: Option<Level>, fields: &dyn Fields) -> Option<Prepared> {
        if !self.is_candidate(level) {
            return None;
        }
        Some(self.prepare_rules(level, fields, true))
    }

    fn prepare_rules(
        &self,
        level: Option<Level>,
        fields: &dyn Fields,
        flatline_only: bool,
    ) -> Prepared {
        let mut prepared = Prepared {
            level,
            hits: Vec::with_capacity(1),
            excluded: Vec::new(),
        };
        for (i, (m, rule)) in self.rules.iter().zip(&self.config.rules).enumerate() {
            if flatline_only && m.alert {
                continue;
            }
            let level_ok = m.any_level || level.is_some_and(|l| m.accept.accepts(l));
            if !level_ok || !rule.conditions.hold(fields) {
                continue;
            }
            if rule.conditions.excluded(fields) {
                prepared.excluded.push(i);
                continue;
            }
            let fingerprint = match (m.alert, level) {
                (true, Some(l)) => {
                    // Rules with the same dedup fields share one fingerprint.
                    let same = prepared.hits.iter().find(|h| {
                        h.fingerprint.is_some()
                            && self.config.rules[h.rule].dedup_fields == rule.dedup_fields
                    });
                    Some(match same.and_then(|h| h.fingerprint.clone()) {
                        Some(f) => f,
                        None => m.fingerprinter.fingerprint(l, fields),
                    })
                }
                _ => None,
            };
            if m.alert && fingerprint.is_none() {
                // An alert rule needs a level (any_level is flatline only).
                continue;
            }
            if !m.alert && group_value(rule.group_by.as_deref(), fields).is_none() {
                // A flatline rule learns only events that name their group.
                continue;
            }
            prepared.hits.push(Hit {
                rule: i,
                fingerprint,
            });
        }
        prepared
    }
}

/// The state of one rule.
#[derive(Debug)]
enum State {
    Alert {
        alerter: RuleAlerter,
        threshold: Option<Threshold>,
    },
    Flatline {
        alerter: RuleAlerter,
        flatline: Flatline,
    },
}

impl State {
    fn alerter(&mut self) -> &mut RuleAlerter {
        match self {
            State::Alert { alerter, .. } | State::Flatline { alerter, .. } => alerter,
        }
    }

    fn alerter_ref(&self) -> &RuleAlerter {
        match self {
            State::Alert { alerter, .. } | State::Flatline { alerter, .. } => alerter,
        }
    }
}

/// Every rule of a configuration and its state. See the module docs.
#[derive(Debug)]
pub struct RuleSet {
    matching: Arc<Matching>,
    counters: Arc<Counters>,
    rule_counters: Vec<Arc<RuleCounters>>,
    states: Vec<State>,
    /// By destination (`Config::destinations`): the token bucket and the
    /// pending summary the rules posting there share.
    limits: Vec<DestinationLimit>,
}

impl RuleSet {
    pub fn new(config: Arc<Config>, counters: Arc<Counters>, now: Now) -> RuleSet {
        let matching = Arc::new(Matching::new(Arc::clone(&config)));
        let mut rule_counters = Vec::with_capacity(config.rules.len());
        let mut states = Vec::with_capacity(config.rules.len());
        let shape = EventShape::of_events(&config);
        for (i, rule) in config.rules.iter().enumerate() {
            let rc = Arc::new(RuleCounters::default());
            let alerter = RuleAlerter::new(
                Arc::clone(&config),
                i,
                Arc::clone(&counters),
                Arc::clone(&rc),
                Arc::clone(&shape),
            );
            states.push(match rule.kind {
                RuleKind::Alert => State::Alert {
                    alerter,
                    threshold: (rule.threshold > 1).then(|| {
                        Threshold::new(
                            rule.threshold,
                            rule.threshold_window.as_millis() as u64,
                            rule.max_tracked,
                        )
                    }),
                },
                RuleKind::Flatline => State::Flatline {
                    alerter,
                    flatline: Flatline::new(rule.silence, rule.max_tracked),
                },
            });
            rule_counters.push(rc);
        }
        let limits = (0..config.destinations.len())
            .map(|d| DestinationLimit::new(Arc::clone(&config), d, now))
            .collect();
        RuleSet {
            matching,
            counters,
            rule_counters,
            states,
            limits,
        }
    }

    /// The read-only half, for deciding outside a lock.
    pub fn matching(&self) -> &Arc<Matching> {
        &self.matching
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.matching.config
    }

    /// Per rule (in rule order) the counter the senders add undelivered
    /// events to: its destination's, shared by the rules posting there, as
    /// their next summary is.
    pub fn undelivered(&self) -> Vec<Arc<AtomicU64>> {
        self.matching
            .config
            .rules
            .iter()
            .map(|r| self.limits[r.destination].undelivered())
            .collect()
    }

    /// Decides about one event whose level is `level` (`None`: none
    /// readable): the strongest decision over the alert rules it matched,
    /// [`Decision::Ignored`] if it matched none.
    pub fn on_event(
        &mut self,
        level: Option<Level>,
        event: &dyn Fields,
        now: Now,
        outboxes: &mut dyn Outboxes,
    ) -> Decision {
        match self.matching.prepare(level, event) {
            Some(prepared) => self.apply(&prepared, event, now, outboxes),
            None => Decision::Ignored,
        }
    }

    /// Lets the flatline rules learn from a heartbeat: an event only they
    /// take ([`Candidacy::Heartbeat`]), which need carry only
    /// [`Config::heartbeat_refs`], standing for `events` events with the
    /// same values at about `now` (counted as that many). Each flatline rule
    /// whose level and conditions hold learns its group, and says if that
    /// group was silent (recovered). No alert rule sees the event, so it is
    /// never counted as matched by one; returns nothing, as the event's
    /// fate is to pass.
    pub fn heartbeat(
        &mut self,
        level: Option<Level>,
        event: &dyn Fields,
        events: u64,
        now: Now,
        outboxes: &mut dyn Outboxes,
    ) {
        let Some(prepared) = self.matching.prepare_heartbeat(level, event) else {
            return;
        };
        self.count_matches_times(&prepared, events);
        for hit in &prepared.hits {
            self.decide(hit, level, event, now, outboxes, false);
        }
    }

    /// [`RuleSet::on_event`] after [`Matching::prepare`].
    pub fn apply(
        &mut self,
        prepared: &Prepared,
        event: &dyn Fields,
        now: Now,
        outboxes: &mut dyn Outboxes,
    ) -> Decision {
        self.decide_all(prepared, event, now, outboxes, false)
    }

    /// [`RuleSet::apply`] for an event that carries only the key fields
    /// ([`Config::key_refs`]): decides exactly as `apply` would, unless some
    /// rule would post a message of its own for it now. Then it returns
    /// `None` having decided and counted nothing: apply the event again
    /// with every field.
    pub fn apply_unless_alerting(
        &mut self,
        prepared: &Prepared,
        event: &dyn Fields,
        now: Now,
        outboxes: &mut dyn Outboxes,
    ) -> Option<Decision> {
        for hit in &prepared.hits {
            if self.would_post(hit, event, now, outboxes) {
                return None;
            }
        }
        Some(self.decide_all(prepared, event, now, outboxes, true))
    }

    /// Counts the event's matches and decides over every rule it matched:
    /// the strongest decision. `keys_only`: the event carries only the key
    /// fields, and no rule posts a message of its own for it.
    fn decide_all(
        &mut self,
        prepared: &Prepared,
        event: &dyn Fields,
        now: Now,
        outboxes: &mut dyn Outboxes,
        keys_only: bool,
    ) -> Decision {
        self.count_matches(prepared);
        let mut decision = Decision::Ignored;
        for hit in &prepared.hits {
            if let Some(d) = self.decide(hit, prepared.level, event, now, outboxes, keys_only) {
                decision = stronger(decision, d);
            }
        }
        decision
    }

    fn count_matches(&self, prepared: &Prepared) {
        self.count_matches_times(prepared, 1);
    }

    /// Counts `events` events that matched as `prepared` says.
    fn count_matches_times(&self, prepared: &Prepared, events: u64) {
        for &i in &prepared.excluded {
            Counters::add(&self.rule_counters[i].excluded, events);
        }
        for hit in &prepared.hits {
            Counters::add(&self.rule_counters[hit.rule].matched, events);
        }
        if prepared.matched_alert_rule() {
            Counters::add(&self.counters.matched, events);
        }
    }

    /// Returns true if and only if `hit` would get a message of its own now
    /// (runs the rule's timers, as deciding would).
    fn would_post(
        &mut self,
        hit: &Hit,
        event: &dyn Fields,
        now: Now,
        outboxes: &mut dyn Outboxes,
    ) -> bool {
        let rule = &self.matching.config.rules[hit.rule];
        let outbox = outboxes.outbox(rule.destination);
        let limit = &mut self.limits[rule.destination];
        match &mut self.states[hit.rule] {
            State::Alert { alerter, threshold } => {
                let Some(fp) = &hit.fingerprint else {
                    return false;
                };
                if let Some(t) = threshold {
                    if !t.would_reach(group_key(rule.group_by.as_deref(), fp, event), now.mono_ms) {
                        return false;
                    }
                }
                alerter.would_post(fp, now, limit, outbox)
            }
            // A recovery message reads only the group (a key field).
            State::Flatline { .. } => false,
        }
    }

    /// One rule's decision; `None` if the rule only learnt from the event
    /// (flatline). `keys_only`: the event carries only key fields, and
    /// [`RuleSet::would_post`] said no message is due.
    fn decide(
        &mut self,
        hit: &Hit,
        level: Option<Level>,
        event: &dyn Fields,
        now: Now,
        outboxes: &mut dyn Outboxes,
        keys_only: bool,
    ) -> Option<Decision> {
        let config = Arc::clone(&self.matching.config);
        let rule = &config.rules[hit.rule];
        let outbox = outboxes.outbox(rule.destination);
        let limit = &mut self.limits[rule.destination];
        let rc = &self.rule_counters[hit.rule];
        match &mut self.states[hit.rule] {
            State::Alert { alerter, threshold } => {
                let (Some(fp), Some(level)) = (&hit.fingerprint, level) else {
                    return None;
                };
                let mut reached = None;
                if let Some(t) = threshold {
                    let key = group_key(rule.group_by.as_deref(), fp, event);
                    let observed = t.observe(key, now.mono_ms);
                    if observed.evicted {
                        Counters::add(&self.counters.evicted, 1);
                    }
                    if !observed.reached {
                        alerter.on_tick(now, limit, outbox);
                        Counters::add(&rc.below_threshold, 1);
                        return Some(Decision::BelowThreshold);
                    }
                    reached = Some(Reached {
                        count: t.count() as u64,
                        within: rule.threshold_window,
                        group: rule.group_by.as_ref().map(|r| {
                            (
                                r.clone(),
                                event
                                    .get(r)
                                    .map(|v| value_text(v).into_owned())
                                    .unwrap_or_default(),
                            )
                        }),
                    });
                }
                let reached = reached.as_ref();
                Some(if keys_only {
                    alerter.on_event_keys_only(level, fp, event, reached, now, limit, outbox)
                } else {
                    alerter.on_event_with(level, fp, event, reached, now, limit, outbox)
                })
            }
            State::Flatline { alerter, flatline } => {
                let group = flatline_group(rule.group_by.as_deref(), event)?;
                let observed = flatline.observe(&group, now);
                if observed.evicted {
                    Counters::add(&self.counters.evicted, 1);
                }
                alerter.on_tick(now, limit, outbox);
                if let Some(recovered) = observed.recovered {
                    alerter.post_recovered(&recovered, now, limit, outbox);
                }
                None
            }
        }
    }

    /// Runs every rule's timers: closed windows, summaries, flatlines.
    pub fn on_tick(&mut self, now: Now, outboxes: &mut dyn Outboxes) {
        let config = Arc::clone(&self.matching.config);
        for (i, state) in self.states.iter_mut().enumerate() {
            let destination = config.rules[i].destination;
            let outbox = outboxes.outbox(destination);
            let limit = &mut self.limits[destination];
            match state {
                State::Alert { alerter, threshold } => {
                    alerter.on_tick(now, limit, outbox);
                    if let Some(t) = threshold {
                        t.sweep(now.mono_ms);
                    }
                }
                State::Flatline { alerter, flatline } => {
                    alerter.on_tick(now, limit, outbox);
                    let due = flatline.due(now);
                    alerter.post_flatlines(due, now, limit, outbox);
                }
            }
        }
    }

    /// Shutdown: every rule reports its open windows, then every
    /// destination its one summary of what is pending.
    pub fn on_shutdown(&mut self, now: Now, outboxes: &mut dyn Outboxes) {
        let config = Arc::clone(&self.matching.config);
        for (i, state) in self.states.iter_mut().enumerate() {
            let destination = config.rules[i].destination;
            let outbox = outboxes.outbox(destination);
            state
                .alerter()
                .on_shutdown(now, &mut self.limits[destination], outbox);
        }
        for (destination, limit) in self.limits.iter_mut().enumerate() {
            limit.on_shutdown(now, outboxes.outbox(destination));
        }
    }

    /// Returns true if and only if no rule has anything waiting to be
    /// reported (flatline groups being watched do not count).
    pub fn is_idle(&self) -> bool {
        self.states.iter().all(|s| s.alerter_ref().is_idle())
            && self.limits.iter().all(DestinationLimit::is_idle)
    }

    /// Returns true if and only if some rule needs its timer even when
    /// idle (a flatline rule watching groups).
    pub fn watches(&self) -> bool {
        self.states
            .iter()
            .any(|s| matches!(s, State::Flatline { flatline, .. } if !flatline.is_empty()))
    }

    /// Each rule's name and counters ([`crate::RULE_COUNTER_NAMES`] order).
    pub fn rule_counters(&self) -> Vec<(String, Vec<u64>)> {
        self.matching
            .config
            .rules
            .iter()
            .zip(&self.rule_counters)
            .map(|(r, c)| (r.name.clone(), c.snapshot()))
            .collect()
    }

    /// The shared counters of rule `i`.
    pub fn counters_of(&self, i: usize) -> Option<&Arc<RuleCounters>> {
        self.rule_counters.get(i)
    }
}

/// The stronger of two decisions: what the event's fate is, said once.
pub fn stronger(a: Decision, b: Decision) -> Decision {
    fn rank(d: Decision) -> u8 {
        match d {
            Decision::Ignored => 0,
            Decision::BelowThreshold => 1,
            Decision::Repeat => 2,
            Decision::RateLimited => 3,
            Decision::Dropped => 4,
            Decision::Alerted => 5,
            Decision::Closed => 6,
        }
    }
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// The threshold group of an event: its `group_by` text, or its fingerprint.
fn group_key(group_by: Option<&str>, fingerprint: &Fingerprint, fields: &dyn Fields) -> u64 {
    match group_by {
        None => fingerprint.hash,
        Some(r) => {
            let mut h = FoldHasher::default();
            match fields.get(r) {
                Some(v) => (1u8, &*value_text(v)).hash(&mut h),
                None => 0u8.hash(&mut h),
            }
            h.finish()
        }
    }
}

/// The flatline group of an event: its `group_by` text, or its service.
fn flatline_group(group_by: Option<&str>, fields: &dyn Fields) -> Option<String> {
    group_value(group_by, fields).map(|v| value_text(v).chars().take(200).collect::<String>())
}

/// The value naming an event's flatline group, if it has a non-empty one.
fn group_value<'a>(group_by: Option<&str>, fields: &'a dyn Fields) -> Option<&'a Value> {
    let value: Option<&Value> = match group_by {
        Some(r) => fields.get(r),
        None => ecs::first(&ecs::SERVICE, fields),
    };
    value.filter(|v| !v.is_null() && v.as_str() != Some(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::MessageKind;
    use crate::test_support::{at, dry_run};
    use serde_json::json;

    struct Scenario {
        rules: RuleSet,
        counters: Arc<Counters>,
        sent: Vec<Outgoing>,
    }

    impl Scenario {
        fn new(config: Value) -> Scenario {
            let config = Arc::new(dry_run(config));
            let counters = Arc::new(Counters::default());
            Scenario {
                rules: RuleSet::new(config, Arc::clone(&counters), at(0)),
                counters,
                sent: Vec::new(),
            }
        }

        fn event(&mut self, ms: u64, event: Value) -> Decision {
            let level = self.rules.matching().level(&event);
            self.rules.on_event(level, &event, at(ms), &mut self.sent)
        }

        /// The body message `i` is posted with.
        fn payload(&self, i: usize) -> Value {
            crate::destination::render(self.rules.config(), &self.sent[i])
        }

        fn tick(&mut self, ms: u64) {
            self.rules.on_tick(at(ms), &mut self.sent);
        }

        fn counter(&self, rule: &str, name: &str) -> u64 {
            let i = crate::counters::RULE_COUNTER_NAMES
                .iter()
                .position(|n| *n == name)
                .unwrap();
            self.rules
                .rule_counters()
                .into_iter()
                .find(|(r, _)| r == rule)
                .unwrap()
                .1[i]
        }

        fn sent_by(&self, rule: &str) -> Vec<&Outgoing> {
            let i = self
                .rules
                .config()
                .rules
                .iter()
                .position(|r| r.name == rule)
                .unwrap();
            self.sent.iter().filter(|m| m.rule == i).collect()
        }

        /// Every matched event of every alert rule is in a message or a
        /// count: each rule's counters say what became of each of its
        /// events, and the messages to each destination account for every
        /// event of the rules posting there (one summary speaks for them
        /// all).
        fn assert_accounted(&mut self, end_ms: u64) {
            self.rules.on_shutdown(at(end_ms), &mut self.sent);
            let config = Arc::clone(self.rules.config());
            let alert_rules = || config.rules.iter().filter(|r| r.kind == RuleKind::Alert);
            for rule in alert_rules() {
                let name = &rule.name;
                let fates: u64 = [
                    "alerts",
                    "repeats",
                    "rate_limited",
                    "dropped",
                    "below_threshold",
                ]
                .iter()
                .map(|c| self.counter(name, c))
                .sum();
                assert_eq!(fates, self.counter(name, "matched"), "rule {name}");
            }
            for d in 0..config.destinations.len() {
                let in_messages: u64 = self
                    .sent
                    .iter()
                    .filter(|m| m.destination == d)
                    .map(|m| m.events)
                    .sum();
                let decided: u64 = alert_rules()
                    .filter(|r| r.destination == d)
                    .map(|r| {
                        self.counter(&r.name, "matched") - self.counter(&r.name, "below_threshold")
                    })
                    .sum();
                assert_eq!(in_messages, decided, "destination {d}");
            }
        }
    }

    /// A queue that is full when first asked and has room from then on: the
    /// sender thread freeing a slot between two looks of a keys-only decision.
    #[derive(Default)]
    struct FreedMeanwhile {
        asked: std::cell::Cell<u32>,
        sent: Vec<Outgoing>,
    }

    impl crate::intent::Outbox for FreedMeanwhile {
        fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
            self.sent.push(message);
            Ok(())
        }

        fn has_room(&self) -> bool {
            let n = self.asked.get();
            self.asked.set(n + 1);
            n > 0
        }
    }

    impl Outboxes for FreedMeanwhile {
        fn outbox(&mut self, _destination: usize) -> &mut dyn crate::intent::Outbox {
            self
        }
    }

    #[test]
    fn room_made_during_a_keys_only_decision_still_counts_the_event() {
        let config = Config::try_from(json!({"dry_run": true})).unwrap();
        let counters = Arc::new(Counters::default());
        let mut rules = RuleSet::new(Arc::new(config), Arc::clone(&counters), at(0));
        let event = error("shop", "disk full");
        let level = rules.matching().level(&event);
        let prepared = rules.matching().prepare(level, &event).unwrap();
        let mut queue = FreedMeanwhile::default();
        let decision = rules.apply_unless_alerting(&prepared, &event, at(0), &mut queue);
        assert_eq!(decision, Some(Decision::Dropped));
        assert_eq!(counters.get("matched"), Some(1));
        assert_eq!(counters.get("dropped"), Some(1));
        rules.on_shutdown(at(1), &mut queue);
        let accounted: u64 = queue.sent.iter().map(|m| m.events).sum();
        assert_eq!(accounted, 1, "{:?}", queue.sent);
    }

    fn error(service: &str, message: &str) -> Value {
        json!({"log.level": "ERROR", "service.name": service, "message": message})
    }

    #[test]
    fn conditions_route_events_to_their_rule_and_exclude_silences_noise() {
        let mut s = Scenario::new(json!({
            "exclude": {"[url.path]": "^/health"},
            "rules": [
                {"name": "db", "equals": {"[service.name]": ["db", "db-replica"]}},
                {"name": "timeouts", "contains": {"[message]": "timeout"}},
                {"name": "cards", "regex": {"[message]": "^card \\d+ declined$"}},
            ]
        }));
        assert_eq!(s.event(0, error("db", "disk full")), Decision::Alerted);
        assert_eq!(
            s.event(1, error("shop", "card 42 declined")),
            Decision::Alerted
        );
        assert_eq!(
            s.event(2, error("shop", "nothing to see")),
            Decision::Ignored
        );
        let mut health = error("db", "health check timeout");
        health["url.path"] = json!("/healthz");
        assert_eq!(s.event(3, health), Decision::Ignored);
        // db and timeouts both match: one message each.
        assert_eq!(
            s.event(4, error("db-replica", "timeout on read")),
            Decision::Alerted
        );
        assert_eq!(s.counter("db", "matched"), 2);
        assert_eq!(s.counter("db", "excluded"), 1);
        assert_eq!(s.counter("timeouts", "excluded"), 1);
        assert_eq!(s.counter("timeouts", "matched"), 1);
        assert_eq!(s.counter("cards", "matched"), 1);
        assert_eq!(
            s.counters
                .matched
                .load(std::sync::atomic::Ordering::Relaxed),
            3
        );
        assert_eq!(s.sent_by("db").len(), 2);
        assert_eq!(s.sent_by("timeouts").len(), 1);
        s.assert_accounted(10);
    }

    #[test]
    fn a_threshold_alerts_on_the_nth_event_within_the_window_per_group() {
        let mut s = Scenario::new(json!({
            "rules": [{"name": "burst", "threshold": 3, "threshold_window": "1m",
                       "group_by": "[service.name]", "dedup_window": "0s"}]
        }));
        assert_eq!(s.event(0, error("a", "one")), Decision::BelowThreshold);
        assert_eq!(s.event(1_000, error("a", "two")), Decision::BelowThreshold);
        // Another group counts apart.
        assert_eq!(s.event(1_500, error("b", "one")), Decision::BelowThreshold);
        assert!(s.sent.is_empty());
        assert_eq!(s.event(2_000, error("a", "three")), Decision::Alerted);
        assert_eq!(s.sent.len(), 1);
        assert_eq!(s.sent[0].kind(), MessageKind::Alert);
        // The group starts again; the window slides: two old ones fall out.
        assert_eq!(s.event(10_000, error("a", "x")), Decision::BelowThreshold);
        assert_eq!(s.event(20_000, error("a", "y")), Decision::BelowThreshold);
        assert_eq!(s.event(75_000, error("a", "z")), Decision::BelowThreshold);
        assert_eq!(s.event(76_000, error("a", "w")), Decision::Alerted);
        assert_eq!(s.counter("burst", "below_threshold"), 6);
        assert_eq!(s.counter("burst", "alerts"), 2);
        s.assert_accounted(100_000);
    }

    #[test]
    fn a_threshold_without_group_by_counts_per_fingerprint() {
        let mut s = Scenario::new(json!({"threshold": 2, "threshold_window": "10s"}));
        assert_eq!(s.event(0, error("a", "alpha")), Decision::BelowThreshold);
        assert_eq!(s.event(1, error("a", "beta")), Decision::BelowThreshold);
        assert_eq!(s.event(2, error("a", "alpha")), Decision::Alerted);
    }

    #[test]
    fn threshold_groups_are_bounded_and_evictions_counted() {
        let mut s = Scenario::new(json!({
            "threshold": 2, "threshold_window": "1h", "group_by": "[user.id]", "max_tracked": 3
        }));
        for i in 0..100 {
            let mut e = error("a", "boom");
            e["user.id"] = json!(i);
            assert_eq!(s.event(i, e), Decision::BelowThreshold);
        }
        assert_eq!(
            s.counters
                .evicted
                .load(std::sync::atomic::Ordering::Relaxed),
            97
        );
    }

    #[test]
    fn a_flatline_alerts_once_when_a_service_goes_silent_and_says_when_it_recovers() {
        let mut s = Scenario::new(json!({
            "rules": [
                {"name": "errors"},
                {"name": "quiet", "type": "flatline", "silence": "10m",
                 "mentions": {"default": "<!here>"}},
            ]
        }));
        // Any level, or none, is a heartbeat; heartbeats alone are Ignored.
        assert_eq!(
            s.event(0, json!({"log.level": "INFO", "service.name": "checkout"})),
            Decision::Ignored
        );
        assert_eq!(
            s.event(1, json!({"service.name": "checkout"})),
            Decision::Ignored
        );
        assert!(s.rules.matching().admits_missing_level());
        s.tick(599_999);
        assert!(s.sent.is_empty());
        s.tick(600_001);
        assert_eq!(s.sent.len(), 1);
        assert_eq!(s.sent[0].kind(), MessageKind::Flatline);
        assert_eq!(s.sent[0].events, 0);
        let text = s.payload(0).to_string();
        assert!(
            text.contains("checkout") && text.contains("<!here>"),
            "{text}"
        );
        s.tick(3_600_000);
        assert_eq!(s.sent.len(), 1, "once per silence");
        s.event(
            3_700_000,
            json!({"log.level": "DEBUG", "service.name": "checkout"}),
        );
        assert_eq!(s.sent.len(), 2);
        assert_eq!(s.sent[1].kind(), MessageKind::Recovered);
        assert!(s.payload(1).to_string().contains("logging again"));
        assert_eq!(s.counter("quiet", "flatline_alerts"), 1);
        assert_eq!(s.counter("quiet", "recovered"), 1);
        assert_eq!(s.counter("quiet", "matched"), 3);
        assert_eq!(s.counter("errors", "matched"), 0);
    }

    #[test]
    fn candidacy_tells_alert_candidates_from_heartbeats() {
        let s = Scenario::new(json!({
            "rules": [
                {"name": "errors"},
                {"name": "quiet", "type": "flatline", "silence": "10m"},
            ]
        }));
        let m = s.rules.matching();
        assert_eq!(m.candidacy(Some(Level::Error)), Candidacy::Alert);
        assert_eq!(m.candidacy(Some(Level::Fatal)), Candidacy::Alert);
        assert_eq!(m.candidacy(Some(Level::Info)), Candidacy::Heartbeat);
        assert_eq!(
            m.candidacy(None),
            Candidacy::Heartbeat,
            "missing or unknown"
        );
        let c = s.rules.config();
        assert_eq!(
            c.heartbeat_refs(),
            vec!["[service.name]", "[service][name]"]
        );
        // Without a flatline rule nothing is a heartbeat.
        let s = Scenario::new(json!({"levels": ["ERROR"]}));
        assert_eq!(
            s.rules.matching().candidacy(Some(Level::Warn)),
            Candidacy::None
        );
        assert_eq!(s.rules.matching().candidacy(None), Candidacy::None);
        assert!(s.rules.config().heartbeat_refs().is_empty());
    }

    #[test]
    fn a_heartbeat_applies_the_flatline_conditions_and_is_never_an_alerting_match() {
        let mut s = Scenario::new(json!({
            "rules": [
                {"name": "errors"},
                {"name": "quiet", "type": "flatline", "silence": "10s",
                 "group_by": "[host.name]", "equals": {"[env]": "prod"},
                 "exclude": {"[url.path]": "^/health"}},
            ]
        }));
        assert_eq!(
            s.rules.config().heartbeat_refs(),
            vec!["[host.name]", "[env]", "[url.path]"]
        );
        let beat = |s: &mut Scenario, ms: u64, e: Value| {
            let level = s.rules.matching().level(&e);
            assert_eq!(s.rules.matching().candidacy(level), Candidacy::Heartbeat);
            s.rules.heartbeat(level, &e, 1, at(ms), &mut s.sent);
        };
        beat(
            &mut s,
            0,
            json!({"host.name": "a", "env": "prod", "log.level": "INFO"}),
        );
        beat(&mut s, 0, json!({"host.name": "b", "env": "test"}));
        beat(
            &mut s,
            0,
            json!({"host.name": "c", "env": "prod", "url.path": "/healthz"}),
        );
        assert_eq!(s.counter("quiet", "matched"), 1);
        assert_eq!(s.counter("quiet", "excluded"), 1);
        assert_eq!(s.counter("errors", "matched"), 0);
        assert_eq!(
            s.counters
                .matched
                .load(std::sync::atomic::Ordering::Relaxed),
            0,
            "a heartbeat is no alerting match"
        );
        s.tick(20_000);
        assert_eq!(s.sent.len(), 1, "only host a was learnt: {:?}", s.sent);
        beat(&mut s, 30_000, json!({"host.name": "a", "env": "prod"}));
        assert_eq!(s.sent.len(), 2);
        assert_eq!(s.sent[1].kind(), MessageKind::Recovered);
        assert_eq!(s.counter("quiet", "recovered"), 1);
    }

    #[test]
    fn a_flatline_rule_with_levels_takes_heartbeats_of_those_levels_only() {
        // WARN is a heartbeat; ERROR an alert candidate, which the WARN-only
        // flatline rule ignores as it would any other level; INFO nothing.
        let mut s = Scenario::new(json!({
            "rules": [
                {"name": "errors"},
                {"name": "warned", "type": "flatline", "silence": "10s", "levels": ["WARN"]},
            ]
        }));
        let m = Arc::clone(s.rules.matching());
        assert_eq!(m.candidacy(Some(Level::Warn)), Candidacy::Heartbeat);
        assert_eq!(m.candidacy(Some(Level::Error)), Candidacy::Alert);
        assert_eq!(m.candidacy(Some(Level::Info)), Candidacy::None);
        assert_eq!(m.candidacy(None), Candidacy::None);
        assert_eq!(
            s.rules.config().heartbeat_refs(),
            vec![
                "[log.level]",
                "[log][level]",
                "[level]",
                "[service.name]",
                "[service][name]"
            ]
        );
        assert_eq!(s.event(0, error("shop", "boom")), Decision::Alerted);
        assert_eq!(s.counter("warned", "matched"), 0, "ERROR is not WARN");
        let warn = json!({"log.level": "WARN", "service.name": "pay"});
        s.rules
            .heartbeat(Some(Level::Warn), &warn, 3, at(1), &mut s.sent);
        // A heartbeat whose level the rule does not take teaches it nothing.
        let info = json!({"log.level": "INFO", "service.name": "cart"});
        s.rules
            .heartbeat(Some(Level::Info), &info, 1, at(1), &mut s.sent);
        assert_eq!(
            s.counter("warned", "matched"),
            3,
            "one heartbeat for three events"
        );
        s.tick(20_000);
        let silent: Vec<String> = s
            .sent_by("warned")
            .iter()
            .map(|m| crate::destination::render(s.rules.config(), m).to_string())
            .collect();
        assert_eq!(silent.len(), 1, "{silent:?}");
        assert!(silent[0].contains("pay"), "{silent:?}");
    }

    #[test]
    fn a_flatline_never_reports_a_group_it_never_saw_and_stays_bounded() {
        let mut s = Scenario::new(json!({
            "rules": [{"name": "quiet", "type": "flatline", "silence": "10s",
                       "group_by": "[host.name]", "max_tracked": 5, "rate_limit": 3600, "burst": 100}]
        }));
        s.tick(1_000_000);
        assert!(s.sent.is_empty());
        for i in 0..50u64 {
            s.event(1_000_000 + i, json!({"host.name": format!("h{i}")}));
        }
        s.tick(2_000_000);
        assert_eq!(s.sent.len(), 5);
        assert_eq!(
            s.counters
                .evicted
                .load(std::sync::atomic::Ordering::Relaxed),
            45
        );
    }

    #[test]
    fn mentions_follow_the_level_and_event_text_cannot_mention() {
        let mut s = Scenario::new(json!({
            "mentions": {"FATAL": "<!here>", "critical": "<!subteam^S0123ABC>"},
            "levels": ["ERROR", "FATAL"],
            "dedup_window": "0s",
        }));
        s.event(
            0,
            json!({"log.level": "FATAL", "message": "<!channel> db down"}),
        );
        s.event(
            1,
            json!({"log.level": "ERROR", "message": "<!everyone> minor"}),
        );
        let fatal = s.payload(0).to_string();
        let error = s.payload(1).to_string();
        assert!(
            fatal.contains("<!subteam^S0123ABC>"),
            "CRITICAL is FATAL, set last: {fatal}"
        );
        assert!(!fatal.contains("<!channel>"), "{fatal}");
        assert!(!error.contains("<!"), "{error}");
    }

    #[test]
    fn a_link_button_is_percent_encoded_and_a_threshold_alert_says_how_many() {
        let mut s = Scenario::new(json!({
            "link_template": "https://kibana.example/app/discover#/?q=trace.id:%{[trace.id]}",
            "link_text": "Open trace",
            "threshold": 2, "threshold_window": "1m", "group_by": "[service.name]",
        }));
        let mut e = error("pay", "boom");
        e["trace.id"] = json!("a b>|<!here>&x");
        assert_eq!(s.event(0, e.clone()), Decision::BelowThreshold);
        assert_eq!(s.event(1, e), Decision::Alerted);
        let payload = &s.payload(0);
        let text = payload.to_string();
        assert!(text.contains("Open trace"), "{text}");
        assert!(text.contains("a%20b%3E%7C%3C%21here%3E%26x"), "{text}");
        assert!(!text.contains("<!here>"), "{text}");
        let plain = slack_alert_render::plain::to_text(payload);
        assert!(plain.contains('2') && plain.contains("pay"), "{plain}");
        assert!(slack_alert_render::limits::check(payload).is_empty());
    }

    #[test]
    fn rules_sharing_a_webhook_share_a_destination() {
        let c = Config::try_from(json!({
            "webhook_url": "https://hooks.slack.com/services/T/B/one",
            "rules": [
                {"name": "a"},
                {"name": "b", "equals": {"[service.name]": "x"}},
                {"name": "c", "webhook_url": "https://hooks.slack.com/services/T/B/two"},
                {"name": "d", "destination": "json", "webhook_url": "https://example.com/hook",
                 "body_template": {"text": "%{[@alert][text]}"}},
            ]
        }))
        .unwrap();
        let d: Vec<usize> = c.rules.iter().map(|r| r.destination).collect();
        assert_eq!(d, vec![0, 0, 1, 2]);
        assert_eq!(c.destinations.len(), 3);
        assert_eq!(c.destinations[2].kind, crate::config::DestinationKind::Json);
    }

    /// Ten distinct errors in a second, five for each of two rules on one
    /// destination, `rate_limit => 1`, `burst => 1`.
    fn two_rules_sharing_one_destination(s: &mut Scenario) -> Vec<Decision> {
        (0..10u64)
            .map(|i| {
                let service = if i % 2 == 0 { "a" } else { "b" };
                let word = [
                    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                ];
                let message = format!("failure {}", word[i as usize]);
                s.event(i * 100, error(service, &message))
            })
            .collect()
    }

    #[test]
    fn rules_sharing_a_destination_share_its_bucket_and_one_summary() {
        let mut s = Scenario::new(json!({
            "rate_limit": 1, "burst": 1,
            "rules": [
                {"name": "a", "equals": {"[service.name]": "a"}},
                {"name": "b", "equals": {"[service.name]": "b"}},
            ]
        }));
        let decisions = two_rules_sharing_one_destination(&mut s);
        assert_eq!(decisions[0], Decision::Alerted);
        assert!(
            decisions[1..].iter().all(|d| *d == Decision::RateLimited),
            "one token between both rules: {decisions:?}"
        );
        assert_eq!(s.sent.len(), 1);
        // Each rule counts its own events.
        assert_eq!(
            (s.counter("a", "alerts"), s.counter("a", "rate_limited")),
            (1, 4)
        );
        assert_eq!(
            (s.counter("b", "alerts"), s.counter("b", "rate_limited")),
            (0, 5)
        );
        // One token a minute: the summary waits for it, then speaks for both.
        s.tick(59_999);
        assert_eq!(s.sent.len(), 1);
        s.tick(60_000);
        assert_eq!(s.sent.len(), 2, "{:?}", s.sent);
        let summary = &s.sent[1];
        assert_eq!(summary.kind(), MessageKind::Summary);
        assert_eq!(summary.events, 9);
        let text = s.payload(1).to_string();
        assert!(text.contains("a, b"), "names both rules: {text}");
        s.tick(200_000);
        assert_eq!(s.sent.len(), 2, "nothing else pending");
        s.assert_accounted(300_000);
        assert_eq!(s.sent.len(), 2, "shutdown had nothing left: {:?}", s.sent);
    }

    #[test]
    fn rules_on_destinations_of_their_own_keep_buckets_of_their_own() {
        let mut s = Scenario::new(json!({
            "rate_limit": 1, "burst": 1,
            "rules": [
                {"name": "a", "equals": {"[service.name]": "a"},
                 "webhook_url": "https://hooks.slack.com/services/T/B/a"},
                {"name": "b", "equals": {"[service.name]": "b"},
                 "webhook_url": "https://hooks.slack.com/services/T/B/b"},
            ]
        }));
        let decisions = two_rules_sharing_one_destination(&mut s);
        assert_eq!(&decisions[..2], [Decision::Alerted, Decision::Alerted]);
        // b took its token 100 ms after a: it is back 100 ms later too.
        s.tick(61_000);
        let summaries: Vec<(usize, u64)> = s
            .sent
            .iter()
            .filter(|m| m.kind() == MessageKind::Summary)
            .map(|m| (m.destination, m.events))
            .collect();
        assert_eq!(summaries, [(0, 4), (1, 4)]);
        s.assert_accounted(100_000);
    }

    #[test]
    fn repeats_and_flatline_notices_of_rules_on_one_destination_fold_into_one_summary() {
        let mut s = Scenario::new(json!({
            "rate_limit": 1, "burst": 1, "dedup_window": "10s",
            "rules": [
                {"name": "a", "equals": {"[service.name]": "a"}},
                {"name": "quiet", "type": "flatline", "silence": "10s"},
            ]
        }));
        assert_eq!(s.event(0, error("a", "boom")), Decision::Alerted);
        assert_eq!(s.event(1, error("a", "boom")), Decision::Repeat);
        // The window closes and service a goes silent with no token left:
        // both wait in the destination's one summary.
        s.tick(10_001);
        assert_eq!(s.sent.len(), 1, "{:?}", s.sent);
        assert_eq!(s.counter("quiet", "rate_limited"), 1);
        s.tick(60_000);
        assert_eq!(s.sent.len(), 2, "{:?}", s.sent);
        assert_eq!(s.sent[1].kind(), MessageKind::Summary);
        assert_eq!(s.sent[1].events, 1, "the repeat; a notice is no event");
        let text = s.payload(1).to_string();
        assert!(text.contains("a, quiet"), "{text}");
        s.assert_accounted(70_000);
    }

    #[test]
    fn accounting_holds_across_rules_under_a_storm() {
        let mut s = Scenario::new(json!({
            "rate_limit": 6, "burst": 2, "dedup_window": "5s",
            "rules": [
                {"name": "all"},
                {"name": "db", "equals": {"[service.name]": "db"}, "threshold": 3, "threshold_window": "2s"},
                {"name": "quiet", "type": "flatline", "silence": "10s"},
            ]
        }));
        let mut seed = 11u64;
        for i in 0..5_000u64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let service = ["db", "shop", "pay"][(seed % 3) as usize];
            let message = format!("failure {}", ["a", "b", "c", "d"][(seed >> 8) as usize % 4]);
            s.event(i * 7, error(service, &message));
            if i % 50 == 0 {
                s.tick(i * 7);
            }
        }
        s.assert_accounted(5_000 * 7 + 1);
    }
}
