//! Every rule of a configuration, decided together: the pure core.
//!
//! A [`RuleSet`] takes one event (or a timer tick) and a [`Now`], and puts
//! messages in [`Outboxes`]. It starts no thread and reads no clock, so the
//! live [`crate::Engine`], the sidecar's `check` replay and the tests drive
//! one implementation.
//!
//! Per rule: level in its set → conditions hold → not excluded → the rule
//! *matches*. An alert rule then counts towards its threshold (if > 1) and
//! goes through its own [`Alerter`] (dedup window, token bucket, pending
//! summary). A flatline rule learns the event's group and says when a
//! silent group logs again; [`RuleSet::on_tick`] reports groups gone silent.
//!
//! Deciding is split in two so that the live engine can do the costly part
//! (conditions, fingerprints) outside its lock: [`Matching::prepare`] reads
//! only the configuration, [`RuleSet::apply`] changes state.

use std::hash::{Hash, Hasher};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use serde_json::Value;
use slack_alert_message::{ecs, template::value_text, Fields};

use crate::alerter::{AlertExtras, Alerter, Decision, Outbox, Outgoing};
use crate::clock::Now;
use crate::config::{Config, RuleKind};
use crate::counters::{Counters, RuleCounters};
use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::flatline::Flatline;
use crate::hash::FoldHasher;
use crate::level::Level;
use crate::matcher::Matcher;
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

    /// Returns true if and only if some rule accepts `level` (no allocation:
    /// the caller's fast path).
    pub fn is_candidate(&self, level: Option<Level>) -> bool {
        match level {
            Some(l) => self.matcher.accepts(l),
            None => self.any_level,
        }
    }

    /// Which rules `fields` matches, with the alert rules' fingerprints.
    /// `None` when no rule's level accepts it (nothing to do).
    pub fn prepare(&self, level: Option<Level>, fields: &dyn Fields) -> Option<Prepared> {
        if !self.is_candidate(level) {
            return None;
        }
        let mut prepared = Prepared {
            level,
            hits: Vec::with_capacity(1),
            excluded: Vec::new(),
        };
        for (i, (m, rule)) in self.rules.iter().zip(&self.config.rules).enumerate() {
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
            prepared.hits.push(Hit {
                rule: i,
                fingerprint,
            });
        }
        Some(prepared)
    }
}

/// The state of one rule.
#[derive(Debug)]
enum State {
    Alert {
        alerter: Alerter,
        threshold: Option<Threshold>,
    },
    Flatline {
        alerter: Alerter,
        flatline: Flatline,
    },
}

impl State {
    fn alerter(&mut self) -> &mut Alerter {
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
}

impl RuleSet {
    pub fn new(config: Arc<Config>, counters: Arc<Counters>, now: Now) -> RuleSet {
        let matching = Arc::new(Matching::new(Arc::clone(&config)));
        let mut rule_counters = Vec::with_capacity(config.rules.len());
        let mut states = Vec::with_capacity(config.rules.len());
        for (i, rule) in config.rules.iter().enumerate() {
            let rc = Arc::new(RuleCounters::default());
            let alerter = Alerter::for_rule(
                Arc::clone(&config),
                i,
                Arc::clone(&counters),
                Arc::clone(&rc),
                now,
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
        RuleSet {
            matching,
            counters,
            rule_counters,
            states,
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
    /// events to.
    pub fn undelivered(&self) -> Vec<Arc<AtomicU64>> {
        self.states
            .iter()
            .map(|s| match s {
                State::Alert { alerter, .. } | State::Flatline { alerter, .. } => {
                    alerter.undelivered()
                }
            })
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

    /// [`RuleSet::on_event`] after [`Matching::prepare`].
    pub fn apply(
        &mut self,
        prepared: &Prepared,
        event: &dyn Fields,
        now: Now,
        outboxes: &mut dyn Outboxes,
    ) -> Decision {
        self.count_matches(prepared);
        let mut decision = Decision::Ignored;
        for hit in &prepared.hits {
            let d = self.decide(hit, prepared.level, event, now, outboxes, false);
            decision = stronger(decision, d.unwrap_or(Decision::Dropped));
        }
        decision
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
        self.count_matches(prepared);
        let mut decision = Decision::Ignored;
        for hit in &prepared.hits {
            let d = self.decide(hit, prepared.level, event, now, outboxes, true);
            decision = stronger(decision, d.unwrap_or(Decision::Dropped));
        }
        Some(decision)
    }

    fn count_matches(&self, prepared: &Prepared) {
        for &i in &prepared.excluded {
            Counters::add(&self.rule_counters[i].excluded, 1);
        }
        for hit in &prepared.hits {
            Counters::add(&self.rule_counters[hit.rule].matched, 1);
        }
        if prepared.matched_alert_rule() {
            Counters::add(&self.counters.matched, 1);
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
                alerter.would_post(fp, now, outbox)
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
        let rc = &self.rule_counters[hit.rule];
        match &mut self.states[hit.rule] {
            State::Alert { alerter, threshold } => {
                let (Some(fp), Some(level)) = (&hit.fingerprint, level) else {
                    return None;
                };
                let mut extras = AlertExtras::default();
                if let Some(t) = threshold {
                    let key = group_key(rule.group_by.as_deref(), fp, event);
                    let observed = t.observe(key, now.mono_ms);
                    if observed.evicted {
                        Counters::add(&self.counters.evicted, 1);
                    }
                    if !observed.reached {
                        alerter.on_tick(now, outbox);
                        Counters::add(&rc.below_threshold, 1);
                        return Some(Decision::BelowThreshold);
                    }
                    extras.occurrences = Some(t.count() as u64);
                    extras.within = rule.threshold_window;
                    extras.group = rule.group_by.as_ref().map(|r| {
                        (
                            r.clone(),
                            event
                                .get(r)
                                .map(|v| value_text(v).into_owned())
                                .unwrap_or_default(),
                        )
                    });
                }
                Some(if keys_only {
                    alerter
                        .on_event_unless_alerting_with(level, fp, event, &extras, now, outbox)
                        .unwrap_or(Decision::Dropped)
                } else {
                    alerter.on_event_with(level, fp, event, &extras, now, outbox)
                })
            }
            State::Flatline { alerter, flatline } => {
                let group = flatline_group(rule.group_by.as_deref(), event)?;
                let observed = flatline.observe(&group, now);
                if observed.evicted {
                    Counters::add(&self.counters.evicted, 1);
                }
                alerter.on_tick(now, outbox);
                if let Some(recovered) = observed.recovered {
                    alerter.post_recovered(&recovered, now, outbox);
                }
                None
            }
        }
    }

    /// Runs every rule's timers: closed windows, summaries, flatlines.
    pub fn on_tick(&mut self, now: Now, outboxes: &mut dyn Outboxes) {
        let config = Arc::clone(&self.matching.config);
        for (i, state) in self.states.iter_mut().enumerate() {
            let outbox = outboxes.outbox(config.rules[i].destination);
            match state {
                State::Alert { alerter, threshold } => {
                    alerter.on_tick(now, outbox);
                    if let Some(t) = threshold {
                        t.sweep(now.mono_ms);
                    }
                }
                State::Flatline { alerter, flatline } => {
                    alerter.on_tick(now, outbox);
                    for silent in flatline.due(now) {
                        alerter.post_flatline(&silent, now, outbox);
                    }
                }
            }
        }
    }

    /// Shutdown: every rule reports its open windows and pending counts.
    pub fn on_shutdown(&mut self, now: Now, outboxes: &mut dyn Outboxes) {
        let config = Arc::clone(&self.matching.config);
        for (i, state) in self.states.iter_mut().enumerate() {
            let outbox = outboxes.outbox(config.rules[i].destination);
            state.alerter().on_shutdown(now, outbox);
        }
    }

    /// Returns true if and only if no rule has anything waiting to be
    /// reported (flatline groups being watched do not count).
    pub fn is_idle(&self) -> bool {
        self.states.iter().all(|s| match s {
            State::Alert { alerter, .. } | State::Flatline { alerter, .. } => alerter.is_idle(),
        })
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
    let value: Option<&Value> = match group_by {
        Some(r) => fields.get(r),
        None => ecs::first(&ecs::SERVICE, fields),
    };
    value
        .filter(|v| !v.is_null())
        .map(|v| value_text(v).chars().take(200).collect::<String>())
        .filter(|s| !s.is_empty())
}
