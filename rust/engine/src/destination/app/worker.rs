//! The app sender's thread: one message per incident, kept current.
//!
//! Intents arrive in the order the decision core made them. An opened
//! incident is posted (`chat.postMessage`); its progress and its quiet
//! change what its message should show, and the message is updated
//! (`chat.update`) at most once per `update_interval`, then once more, at
//! once, when it is final. Replies go into its thread, a long stack trace
//! is uploaded there.
//!
//! Nothing waits for anything it does not need: posts are paced per
//! channel, updates share a Tier 3 budget for the workspace, uploads a
//! Tier 4 one, and a `Retry-After` stops only the method it came with.
//! Work that is not due yet waits in this thread's own queues while it
//! takes in new intents, so the engine's bounded queue keeps draining.
//!
//! Accounting is the webhook sender's: every intent that accounts for
//! events is delivered (counted `sent`) when Slack shows it, or handed back
//! to its rule's next summary when Slack refused it, or abandoned into the
//! shutdown report at the deadline.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use serde_json::{json, Value};
use slack_alert_event::ecs;

use super::api::{advice, trouble, Answer, Api, Body, Trouble};
use super::status::{closing_reply, milestone_reply, window_reply, with_status, Phase, Status};
use crate::config::{AppRule, ThreadReplies};
use crate::counters::Counters;
use crate::destination;
use crate::destination::sender::{Alarm, Awaited, SenderClock, SenderSettings, Shared, Wait};
use crate::hash::hash_str;
use crate::intent::{Closing, IncidentId, Intent, Outgoing, Spread};
use crate::log::LogLevel;

/// Slack's Tier 3 (`chat.update`): about 50 calls a minute per workspace.
const UPDATE_TIER: Tier = Tier {
    per_minute: 50.0,
    burst: 10.0,
};
/// Slack's Tier 4 (the files methods): about 100 a minute.
const UPLOAD_TIER: Tier = Tier {
    per_minute: 100.0,
    burst: 10.0,
};
/// Messages kept for updates; past it the oldest finished one goes (an
/// incident that outlives it gets a message of its own when it closes).
const MAX_KEPT: usize = 2000;
/// Jobs waiting to be posted (replies included) beyond the engine's queue.
const MAX_POSTS: usize = 4096;
/// The most of a stack trace uploaded.
pub const MAX_UPLOAD_BYTES: usize = 1 << 20;
/// A trace longer than this is not shown whole in a message (one section
/// of Slack's 3,000 characters, its code fences and a margin).
pub const SHOWN_TRACE_CHARS: usize = 2900;
/// Channels whose post pace is remembered.
const MAX_CHANNELS: usize = 1024;

#[derive(Clone, Copy, Debug)]
struct Tier {
    per_minute: f64,
    burst: f64,
}

/// A token bucket over the sender's clock.
#[derive(Debug)]
struct Bucket {
    tier: Tier,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(tier: Tier, now: Instant) -> Bucket {
        Bucket {
            tier,
            tokens: tier.burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let secs = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + secs * self.tier.per_minute / 60.0).min(self.tier.burst);
        self.at = now;
    }

    /// When `n` tokens will be there.
    fn ready_at(&mut self, n: f64, now: Instant) -> Instant {
        self.refill(now);
        if self.tokens >= n {
            now
        } else {
            now + Duration::from_secs_f64((n - self.tokens) * 60.0 / self.tier.per_minute)
        }
    }

    fn take(&mut self, n: f64, now: Instant) {
        self.refill(now);
        self.tokens -= n;
    }
}

/// A method's (or a group of methods') wait after a 429.
#[derive(Debug, Default)]
struct Gate {
    not_before: Option<Instant>,
    streak: u32,
}

/// One message the sender keeps current.
struct Kept {
    rule: usize,
    id: IncidentId,
    /// The message as a webhook would get it, without a status.
    base: Value,
    /// Where it goes (resolved from the rule's channel).
    channel: String,
    fallback_tried: bool,
    /// Slack's channel id and the message's `ts`, once posted.
    posted: Option<(String, String)>,
    status: Status,
    /// What Slack shows.
    shown: Option<Status>,
    last_update: Option<Instant>,
    update_attempts: u32,
    /// Intents whose news Slack does not show yet, and their events.
    owed_messages: u64,
    owed_events: u64,
    /// Replies waiting for the message to be posted.
    replies: Vec<(String, bool)>,
    trace: Option<String>,
    /// Its post failed for good: later news goes in messages of their own.
    failed: bool,
}

impl Kept {
    fn is_dirty(&self) -> bool {
        self.posted.is_some() && self.shown != Some(self.status)
    }

    fn is_done(&self) -> bool {
        self.failed || (self.status.phase.is_final() && !self.is_dirty() && self.owed_messages == 0)
    }
}

enum Job {
    /// Post kept message `seq`.
    Post(u64),
    Reply {
        seq: u64,
        text: String,
        broadcast: bool,
    },
    /// A message kept by no one (summaries, reports about messages gone).
    Loose {
        rule: usize,
        payload: Value,
        channel: String,
        fallback_tried: bool,
        events: u64,
        undelivered: u64,
    },
}

struct Queued {
    job: Job,
    attempts: u32,
    not_before: Instant,
}

/// What the loop does next.
enum Action {
    Post(usize),
    Update(u64),
    Upload(u64),
}

pub(crate) struct AppWorker {
    settings: SenderSettings,
    shared: Arc<Shared>,
    alarm: Alarm,
    clock: Arc<dyn SenderClock>,
    kept: HashMap<u64, Kept>,
    /// Kept messages in the order they were made, for eviction.
    order: VecDeque<u64>,
    /// The kept message of each incident still open.
    current: HashMap<IncidentId, u64>,
    next_seq: u64,
    posts: VecDeque<Queued>,
    uploads: VecDeque<(u64, u32, Instant)>,
    uploads_allowed: bool,
    /// When the next post may go to a channel, keyed by its id once Slack
    /// named it (a name and its id are one channel's pace).
    channel_next: HashMap<String, Instant>,
    /// Channel ids Slack answered for the names posted to.
    channel_ids: HashMap<String, String>,
    post_gate: Gate,
    update_gate: Gate,
    upload_gate: Gate,
    updates: Bucket,
    files: Bucket,
    rng: u64,
}

impl AppWorker {
    pub(crate) fn new(
        settings: SenderSettings,
        shared: Arc<Shared>,
        alarm: Alarm,
        clock: Arc<dyn SenderClock>,
        rng: u64,
    ) -> AppWorker {
        let now = clock.now();
        AppWorker {
            settings,
            shared,
            alarm,
            clock,
            kept: HashMap::new(),
            order: VecDeque::new(),
            current: HashMap::new(),
            next_seq: 0,
            posts: VecDeque::new(),
            uploads: VecDeque::new(),
            uploads_allowed: true,
            channel_next: HashMap::new(),
            channel_ids: HashMap::new(),
            post_gate: Gate::default(),
            update_gate: Gate::default(),
            upload_gate: Gate::default(),
            updates: Bucket::new(UPDATE_TIER, now),
            files: Bucket::new(UPLOAD_TIER, now),
            rng: rng | 1,
        }
    }

    pub(crate) fn run(&mut self, queue: &Receiver<Outgoing>, api: &mut dyn Api) {
        let shared = Arc::clone(&self.shared);
        let mut open = true;
        loop {
            // Take in what is queued first: it may make pending work moot
            // (a quiet folds into an update) and the queue must drain.
            while open {
                match queue.try_recv() {
                    Ok(m) => self.accept_contained(m),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => open = false,
                }
            }
            if self.past_deadline() {
                self.abandon_all(queue);
                return;
            }
            let now = self.clock.now();
            if let Some(action) = self.next_action(now) {
                let owed = self.owed_by(&action);
                shared.in_flight_events.store(owed.1, Ordering::Relaxed);
                shared.in_flight.store(true, Ordering::Release);
                let done = shared.containment.run(|| {
                    shared.fault.strike("sender");
                    self.perform(action, api)
                });
                shared.in_flight.store(false, Ordering::Release);
                if done.is_none() {
                    // The job was taken out before it ran: what it owed
                    // goes to the next summary.
                    shared.failed_counts(owed.0, owed.1, owed.2);
                }
                continue;
            }
            if !open && !self.has_owed_work() {
                return;
            }
            match self.next_due(now) {
                Some(at) => {
                    let wait = at
                        .saturating_duration_since(now)
                        .max(Duration::from_millis(1));
                    if let Some(m) = self.wait_for_work(queue, wait, &mut open) {
                        self.accept_contained(m);
                    }
                }
                None if open => match queue.recv() {
                    Ok(m) => self.accept_contained(m),
                    Err(_) => open = false,
                },
                None => return,
            }
        }
    }

    /// Does what is due until `until` on the sender's clock, without
    /// taking in intents (tests step the core and the sender in turn).
    #[cfg(test)]
    pub(crate) fn drive(&mut self, api: &mut dyn Api, until: Instant) {
        loop {
            let now = self.clock.now();
            if let Some(action) = self.next_action(now) {
                self.perform(action, api);
                continue;
            }
            let next = self
                .next_due(now)
                .filter(|at| *at <= until)
                .unwrap_or(until);
            if next <= now {
                return;
            }
            self.clock
                .sleep(next.saturating_duration_since(now), Wait::Pace, &self.alarm);
        }
    }

    /// Waits up to `wait` for a new intent, shutdown or the clock.
    fn wait_for_work(
        &mut self,
        queue: &Receiver<Outgoing>,
        wait: Duration,
        open: &mut bool,
    ) -> Option<Outgoing> {
        let mut wait = wait;
        if let Some(deadline) = self.shared.deadline() {
            wait = wait.min(deadline.saturating_duration_since(self.clock.now()));
        }
        if !*open {
            self.clock.sleep(wait, Wait::Pace, &self.alarm);
            return None;
        }
        match self.clock.wait_for(queue, wait, &self.alarm) {
            Awaited::Message(m) => Some(m),
            Awaited::Nothing => None,
            Awaited::Closed => {
                *open = false;
                None
            }
        }
    }

    fn past_deadline(&self) -> bool {
        self.shared
            .deadline()
            .is_some_and(|d| self.clock.now() >= d)
    }

    /// Is there work left that Slack must see for the accounting to hold
    /// (posts, final updates)? Progress-only updates and replies are
    /// not worth waiting for once the queue has closed... except replies
    /// and updates are cheap when due: they are done while anything owed
    /// remains.
    fn has_owed_work(&self) -> bool {
        self.posts.iter().any(|q| match &q.job {
            Job::Post(_) => true,
            Job::Loose {
                events,
                undelivered,
                ..
            } => events + undelivered > 0,
            Job::Reply { .. } => false,
        }) || self.kept.values().any(|k| k.owed_messages > 0 && !k.failed)
    }

    fn accept_contained(&mut self, message: Outgoing) {
        let shared = Arc::clone(&self.shared);
        let (rule, events, undelivered) = (message.rule, message.events, message.undelivered);
        if shared.containment.run(|| self.accept(message)).is_none() {
            shared.failed_counts(rule, events, undelivered);
        }
    }

    fn app(&self, rule: usize) -> Option<&AppRule> {
        self.settings
            .config
            .rules
            .get(rule)
            .and_then(|r| r.app.as_ref())
    }

    /// Takes in one intent.
    fn accept(&mut self, message: Outgoing) {
        let now = self.clock.now();
        let rule = message.rule;
        let Some(app) = self.app(rule).cloned() else {
            // Not an app rule (a misrouted message): post it as it is.
            self.loose(&message, None);
            return;
        };
        match &message.intent {
            Intent::Opened {
                incident, event, ..
            } => {
                let (channel, fell_back) = match app.channel.resolve(event) {
                    Some(c) => (c, false),
                    None => (app.fixed_channel().unwrap_or_default(), true),
                };
                if fell_back {
                    Counters::add(&self.shared.counters.channel_fallbacks, 1);
                }
                let trace = trace_to_upload(event).map(str::to_string);
                let status = Status {
                    phase: Phase::Open,
                    total: 1,
                    first_seen: incident.first_seen,
                    last_seen: incident.last_seen,
                    spread: Spread::default(),
                };
                let seq = self.keep(Kept {
                    rule,
                    id: incident.id,
                    base: base_payload(&self.settings, &message),
                    channel,
                    fallback_tried: fell_back,
                    posted: None,
                    status,
                    shown: None,
                    last_update: None,
                    update_attempts: 0,
                    owed_messages: 1,
                    owed_events: message.events + message.undelivered,
                    replies: Vec::new(),
                    trace,
                    failed: false,
                });
                self.current.insert(incident.id, seq);
                self.push_post(Job::Post(seq), now);
            }
            Intent::Progress { incident, progress } => {
                let Some(seq) = self.current.get(&incident.id).copied() else {
                    return;
                };
                let mut replies = Vec::new();
                if let Some(k) = self.kept.get_mut(&seq) {
                    k.status.total = 1 + incident.count;
                    k.status.last_seen = incident.last_seen;
                    k.status.spread = progress.spread;
                    match app.thread_replies {
                        ThreadReplies::None => {}
                        ThreadReplies::Milestones => replies.extend(
                            progress
                                .milestones
                                .iter()
                                .map(|m| (milestone_reply(m), app.reply_broadcast)),
                        ),
                        ThreadReplies::EveryWindow => {
                            replies.push((window_reply(progress.new_repeats, &k.status), false))
                        }
                    }
                }
                for (text, broadcast) in replies {
                    self.reply(seq, text, broadcast, now);
                }
            }
            Intent::Quiet {
                incident,
                closing,
                spread,
            } => {
                let seq = self.current.remove(&incident.id);
                let kept = seq.and_then(|s| self.kept.get_mut(&s).map(|k| (s, k)));
                match kept {
                    Some((seq, k)) if !k.failed => {
                        k.status.phase = match closing {
                            Closing::Quiet => Phase::Quiet,
                            Closing::Shutdown => Phase::Stopped,
                            Closing::Evicted => Phase::Evicted,
                        };
                        k.status.total = 1 + incident.count;
                        k.status.last_seen = incident.last_seen;
                        k.status.spread = *spread;
                        k.owed_messages += 1;
                        k.owed_events += message.events + message.undelivered;
                        if let Some(text) = closing_reply(&k.status) {
                            self.reply(seq, text, false, now);
                        }
                    }
                    // Its message is gone or never made it: a report of
                    // its own, as a webhook would post it.
                    _ if message.events > 0 => self.loose(&message, app.fixed_channel()),
                    _ => {}
                }
            }
            Intent::Silent {
                group, last_seen, ..
            } => {
                let id = IncidentId {
                    rule,
                    key: hash_str(group),
                };
                let status = Status {
                    phase: Phase::Silent,
                    total: 0,
                    first_seen: *last_seen,
                    last_seen: *last_seen,
                    spread: Spread::default(),
                };
                let seq = self.keep(Kept {
                    rule,
                    id,
                    base: base_payload(&self.settings, &message),
                    channel: app.fixed_channel().unwrap_or_default(),
                    fallback_tried: false,
                    posted: None,
                    status,
                    shown: None,
                    last_update: None,
                    update_attempts: 0,
                    owed_messages: 1,
                    owed_events: message.events + message.undelivered,
                    replies: Vec::new(),
                    trace: None,
                    failed: false,
                });
                self.current.insert(id, seq);
                self.push_post(Job::Post(seq), now);
            }
            Intent::Recovered { group, after, .. } => {
                let id = IncidentId {
                    rule,
                    key: hash_str(group),
                };
                let seq = self.current.remove(&id);
                match seq.and_then(|s| self.kept.get_mut(&s).map(|k| (s, k))) {
                    Some((seq, k)) if !k.failed => {
                        k.status.phase = Phase::Recovered { after: *after };
                        k.owed_messages += 1;
                        k.owed_events += message.events + message.undelivered;
                        if let Some(text) = closing_reply(&k.status) {
                            self.reply(seq, text, false, now);
                        }
                    }
                    _ => self.loose(&message, app.fixed_channel()),
                }
            }
            Intent::HeldBack(_) => self.loose(&message, app.fixed_channel()),
        }
    }

    /// A message of its own, rendered as a webhook would get it.
    fn loose(&mut self, message: &Outgoing, channel: Option<String>) {
        let now = self.clock.now();
        let Some(channel) = channel else {
            self.shared
                .failed_counts(message.rule, message.events, message.undelivered);
            return;
        };
        self.push_post(
            Job::Loose {
                rule: message.rule,
                payload: base_payload(&self.settings, message),
                channel,
                fallback_tried: false,
                events: message.events,
                undelivered: message.undelivered,
            },
            now,
        );
    }

    fn keep(&mut self, kept: Kept) -> u64 {
        while self.kept.len() >= MAX_KEPT {
            // The oldest finished message first; else the oldest at all,
            // whose news then goes in messages of their own.
            let at = self
                .order
                .iter()
                .position(|s| self.kept.get(s).is_none_or(Kept::is_done))
                .unwrap_or(0);
            let Some(seq) = self.order.remove(at) else {
                break;
            };
            if let Some(k) = self.kept.remove(&seq) {
                if self.current.get(&k.id) == Some(&seq) {
                    self.current.remove(&k.id);
                }
                // What it still owed Slack goes to the next summary.
                if k.owed_messages > 0 && !k.failed {
                    self.shared.failed_counts(k.rule, k.owed_events, 0);
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.kept.insert(seq, kept);
        self.order.push_back(seq);
        seq
    }

    fn push_post(&mut self, job: Job, now: Instant) {
        if self.posts.len() >= MAX_POSTS {
            match job {
                // Replies are the first thing to give up on.
                Job::Reply { .. } => return,
                Job::Loose {
                    rule,
                    events,
                    undelivered,
                    ..
                } => {
                    self.shared.failed_counts(rule, events, undelivered);
                    return;
                }
                Job::Post(_) => {}
            }
        }
        self.posts.push_back(Queued {
            job,
            attempts: 0,
            not_before: now,
        });
    }

    fn reply(&mut self, seq: u64, text: String, broadcast: bool, now: Instant) {
        let Some(k) = self.kept.get_mut(&seq) else {
            return;
        };
        if k.posted.is_some() {
            self.push_post(
                Job::Reply {
                    seq,
                    text,
                    broadcast,
                },
                now,
            );
        } else if k.replies.len() < 16 {
            k.replies.push((text, broadcast));
        }
    }

    /// (rule, events, undelivered) an action settles.
    fn owed_by(&self, action: &Action) -> (usize, u64, u64) {
        match action {
            Action::Post(i) => match self.posts.get(*i).map(|q| &q.job) {
                Some(Job::Post(seq)) => self.kept_owed(*seq),
                Some(Job::Loose {
                    rule,
                    events,
                    undelivered,
                    ..
                }) => (*rule, *events, *undelivered),
                _ => (0, 0, 0),
            },
            Action::Update(seq) => self.kept_owed(*seq),
            Action::Upload(_) => (0, 0, 0),
        }
    }

    fn kept_owed(&self, seq: u64) -> (usize, u64, u64) {
        self.kept
            .get(&seq)
            .map_or((0, 0, 0), |k| (k.rule, k.owed_events, 0))
    }

    fn channel_ready(&self, channel: &str, now: Instant) -> bool {
        self.channel_next
            .get(self.pace_key(channel))
            .is_none_or(|t| *t <= now)
    }

    /// The key a channel's pace is kept under: its id when known.
    fn pace_key<'a>(&'a self, channel: &'a str) -> &'a str {
        self.channel_ids
            .get(channel)
            .map_or(channel, String::as_str)
    }

    fn gate_open(gate: &Gate, now: Instant) -> bool {
        gate.not_before.is_none_or(|t| t <= now)
    }

    /// The channel a queued post goes to, `None` while it cannot go yet
    /// (a reply whose message is not posted).
    fn post_channel(&self, q: &Queued) -> Option<String> {
        match &q.job {
            Job::Post(seq) => self.kept.get(seq).map(|k| k.channel.clone()),
            Job::Reply { seq, .. } => self
                .kept
                .get(seq)
                .and_then(|k| k.posted.as_ref())
                .map(|(c, _)| c.clone()),
            Job::Loose { channel, .. } => Some(channel.clone()),
        }
    }

    fn next_action(&mut self, now: Instant) -> Option<Action> {
        // Drop what can never go: posts of messages evicted, replies of
        // messages that failed.
        self.posts.retain(|q| match &q.job {
            Job::Post(seq) | Job::Reply { seq, .. } => {
                self.kept.get(seq).is_some_and(|k| !k.failed)
            }
            Job::Loose { .. } => true,
        });
        if Self::gate_open(&self.post_gate, now) {
            for (i, q) in self.posts.iter().enumerate().take(256) {
                if q.not_before > now {
                    continue;
                }
                if let Some(channel) = self.post_channel(q) {
                    if self.channel_ready(&channel, now) {
                        return Some(Action::Post(i));
                    }
                }
            }
        }
        if Self::gate_open(&self.update_gate, now) && self.updates.ready_at(1.0, now) <= now {
            let mut best: Option<(bool, u64)> = None;
            for (&seq, k) in &self.kept {
                if k.failed || !self.update_due(k, now) {
                    continue;
                }
                let finality = k.status.phase.is_final();
                // Final ones first, then the oldest.
                if best.is_none_or(|(f, s)| (finality && !f) || (finality == f && seq < s)) {
                    best = Some((finality, seq));
                }
            }
            if let Some((_, seq)) = best {
                return Some(Action::Update(seq));
            }
        }
        if self.uploads_allowed
            && Self::gate_open(&self.upload_gate, now)
            && self.files.ready_at(2.0, now) <= now
        {
            if let Some(&(seq, _, not_before)) = self.uploads.front() {
                if not_before <= now {
                    return Some(Action::Upload(seq));
                }
            }
        }
        None
    }

    fn update_due(&self, k: &Kept, now: Instant) -> bool {
        if !k.is_dirty() {
            return false;
        }
        if k.status.phase.is_final() {
            return k.last_update.is_none_or(|t| {
                now >= t + self.settings.retry_base.min(Duration::from_secs(1))
                    || k.update_attempts == 0
            });
        }
        let interval = self
            .app(k.rule)
            .map_or(Duration::from_secs(10), |a| a.update_interval);
        k.last_update.is_none_or(|t| now >= t + interval)
    }

    /// When something pending could go next; `None` when nothing is pending.
    fn next_due(&mut self, now: Instant) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        let mut at = |t: Instant| due = Some(due.map_or(t, |d: Instant| d.min(t)));
        let post_gate = self.post_gate.not_before.unwrap_or(now);
        for q in self.posts.iter().take(256) {
            if let Some(channel) = self.post_channel(q) {
                let ch = self
                    .channel_next
                    .get(self.pace_key(&channel))
                    .copied()
                    .unwrap_or(now);
                at(q.not_before.max(ch).max(post_gate));
            }
        }
        let update_gate = self.update_gate.not_before.unwrap_or(now);
        let bucket = self.updates.ready_at(1.0, now);
        for k in self.kept.values().filter(|k| k.is_dirty() && !k.failed) {
            let interval = if k.status.phase.is_final() {
                Duration::ZERO
            } else {
                self.settings
                    .config
                    .rules
                    .get(k.rule)
                    .and_then(|r| r.app.as_ref())
                    .map_or(Duration::from_secs(10), |a| a.update_interval)
            };
            let t = k.last_update.map_or(now, |t| t + interval);
            at(t.max(update_gate).max(bucket));
        }
        if self.uploads_allowed {
            if let Some(&(_, _, not_before)) = self.uploads.front() {
                let gate = self.upload_gate.not_before.unwrap_or(now);
                let bucket = self.files.ready_at(2.0, now);
                at(not_before.max(gate).max(bucket));
            }
        }
        due
    }

    fn perform(&mut self, action: Action, api: &mut dyn Api) {
        match action {
            Action::Post(i) => {
                if let Some(q) = self.posts.remove(i) {
                    self.post(q, api);
                }
            }
            Action::Update(seq) => self.update(seq, api),
            Action::Upload(seq) => self.upload(seq, api),
        }
    }

    fn timeout(&self) -> Option<Duration> {
        match self.shared.deadline() {
            None => Some(self.settings.timeout),
            Some(d) => {
                let left = d.saturating_duration_since(self.clock.now());
                (!left.is_zero()).then(|| self.settings.timeout.min(left))
            }
        }
    }

    fn call(
        &mut self,
        api: &mut dyn Api,
        method: &'static str,
        body: Body,
    ) -> Result<Answer, String> {
        let Some(timeout) = self.timeout() else {
            return Err("the shutdown deadline passed".into());
        };
        api.call(method, &body, timeout)
    }

    fn post(&mut self, mut q: Queued, api: &mut dyn Api) {
        let now = self.clock.now();
        let Some(channel) = self.post_channel(&q) else {
            return;
        };
        let body = match &q.job {
            Job::Post(seq) => {
                let Some(k) = self.kept.get(seq) else { return };
                let mut payload = with_status(&k.base, &k.status);
                payload["channel"] = json!(channel);
                payload
            }
            Job::Reply {
                seq,
                text,
                broadcast,
            } => {
                let Some((_, ts)) = self.kept.get(seq).and_then(|k| k.posted.clone()) else {
                    return;
                };
                let mut body = json!({"channel": channel, "thread_ts": ts, "text": text});
                if *broadcast {
                    body["reply_broadcast"] = json!(true);
                }
                body
            }
            Job::Loose { payload, .. } => {
                let mut payload = payload.clone();
                payload["channel"] = json!(channel);
                payload
            }
        };
        let answer = self.call(api, "chat.postMessage", Body::Json(body));
        // Slack's pace is per channel: one post a second, from its answer.
        let after = self.clock.now();
        if self.channel_next.len() >= MAX_CHANNELS {
            self.channel_next.retain(|_, t| *t > after);
        }
        if self.channel_ids.len() >= MAX_CHANNELS {
            self.channel_ids.clear();
        }
        if let Ok(a) = &answer {
            if let Some(id) = a.field("channel").filter(|id| *id != channel) {
                self.channel_ids.insert(channel.clone(), id.to_string());
            }
        }
        let key = self.pace_key(&channel).to_string();
        self.channel_next.insert(key, after + self.settings.pace);
        match answer {
            Ok(a) if a.is_ok() => {
                self.post_gate.streak = 0;
                self.posted(q.job, &a);
            }
            Ok(a) if a.is_rate_limited() => {
                let wait = self.rate_limited(a.retry_after, Which::Post);
                self.log_once(
                    "post 429",
                    LogLevel::Warn,
                    format!(
                        "Slack is rate limiting chat.postMessage; posts wait {:.1}s (updates and \
                         uploads go on); alerts over the limit are summarised",
                        wait.as_secs_f32()
                    ),
                );
                self.requeue(q);
            }
            Ok(a) if a.status == 200 || (400..500).contains(&a.status) => {
                let error = a.error().unwrap_or("unexpected answer").to_string();
                if trouble(&error) == Trouble::Channel {
                    if let Some(fallback) = self.fallback(&q.job, &channel) {
                        self.log_once(
                            &format!("channel {error} {channel}"),
                            LogLevel::Warn,
                            format!(
                                "Slack refused channel {} ({error}: {}); posting to \
                                 fallback_channel {fallback} instead",
                                shown(&channel),
                                advice(&error, None)
                            ),
                        );
                        Counters::add(&self.shared.counters.channel_fallbacks, 1);
                        self.set_channel(&mut q.job, fallback);
                        self.requeue(q);
                        return;
                    }
                }
                let needed = a.field("needed").map(str::to_string);
                self.refused(
                    q.job,
                    "chat.postMessage",
                    &error,
                    needed.as_deref(),
                    &channel,
                );
            }
            other => {
                let problem = match other {
                    Ok(a) => format!("HTTP {}", a.status),
                    Err(e) => e,
                };
                q.attempts += 1;
                Counters::add(&self.shared.counters.retries, 1);
                if q.attempts > self.settings.max_retries {
                    self.log_once(
                        &format!("post gave up: {problem}"),
                        LogLevel::Error,
                        format!(
                            "could not post to Slack ({}) after {} retries: {problem}. The alert \
                             is counted in the next summary",
                            self.settings.redacted_url, self.settings.max_retries
                        ),
                    );
                    self.give_up(q.job);
                } else {
                    q.not_before = now + self.backoff(q.attempts);
                    self.requeue(q);
                }
            }
        }
    }

    fn requeue(&mut self, q: Queued) {
        self.posts.push_front(q);
    }

    fn fallback(&self, job: &Job, channel: &str) -> Option<String> {
        let (rule, tried) = match job {
            Job::Post(seq) => {
                let k = self.kept.get(seq)?;
                (k.rule, k.fallback_tried)
            }
            Job::Loose {
                rule,
                fallback_tried,
                ..
            } => (*rule, *fallback_tried),
            Job::Reply { .. } => return None,
        };
        if tried {
            return None;
        }
        self.app(rule)?.fallback_for(channel)
    }

    fn set_channel(&mut self, job: &mut Job, to: String) {
        match job {
            Job::Post(seq) => {
                if let Some(k) = self.kept.get_mut(seq) {
                    k.channel = to;
                    k.fallback_tried = true;
                }
            }
            Job::Loose {
                channel,
                fallback_tried,
                ..
            } => {
                *channel = to;
                *fallback_tried = true;
            }
            Job::Reply { .. } => {}
        }
    }

    /// Slack took a post.
    fn posted(&mut self, job: Job, answer: &Answer) {
        let now = self.clock.now();
        match job {
            Job::Post(seq) => {
                let Some(k) = self.kept.get_mut(&seq) else {
                    return;
                };
                let channel = answer.field("channel").unwrap_or(&k.channel).to_string();
                let ts = answer.field("ts").unwrap_or_default().to_string();
                k.posted = Some((channel, ts));
                k.shown = Some(k.status);
                k.last_update = Some(now);
                Counters::add(&self.shared.counters.sent, k.owed_messages);
                k.owed_messages = 0;
                k.owed_events = 0;
                let replies = std::mem::take(&mut k.replies);
                let has_trace = k.trace.is_some();
                for (text, broadcast) in replies {
                    self.push_post(
                        Job::Reply {
                            seq,
                            text,
                            broadcast,
                        },
                        now,
                    );
                }
                if has_trace && self.uploads_allowed && self.uploads.len() < 64 {
                    self.uploads.push_back((seq, 0, now));
                } else if let Some(k) = self.kept.get_mut(&seq) {
                    k.trace = None;
                }
            }
            Job::Reply { .. } => Counters::add(&self.shared.counters.thread_replies, 1),
            Job::Loose { .. } => Counters::add(&self.shared.counters.sent, 1),
        }
    }

    /// Slack refused a post for good.
    fn refused(
        &mut self,
        job: Job,
        method: &str,
        error: &str,
        needed: Option<&str>,
        channel: &str,
    ) {
        self.log_once(
            &format!("{method} {error}"),
            LogLevel::Error,
            format!(
                "Slack refused {method} to {} ({error}): {}. Not retrying; further refusals \
                 like this are counted (send_failures), not logged",
                shown(channel),
                advice(error, needed)
            ),
        );
        self.give_up(job);
    }

    fn give_up(&mut self, job: Job) {
        match job {
            Job::Post(seq) => {
                if let Some(k) = self.kept.get_mut(&seq) {
                    k.failed = true;
                    let (rule, events) = (k.rule, k.owed_events);
                    k.owed_messages = 0;
                    k.owed_events = 0;
                    self.shared.failed_counts(rule, events, 0);
                }
            }
            Job::Reply { .. } => {}
            Job::Loose {
                rule,
                events,
                undelivered,
                ..
            } => self.shared.failed_counts(rule, events, undelivered),
        }
    }

    fn update(&mut self, seq: u64, api: &mut dyn Api) {
        let now = self.clock.now();
        let Some(k) = self.kept.get(&seq) else { return };
        let Some((channel, ts)) = k.posted.clone() else {
            return;
        };
        let status = k.status;
        let mut body = with_status(&k.base, &status);
        body["channel"] = json!(channel);
        body["ts"] = json!(ts);
        self.updates.take(1.0, now);
        let answer = self.call(api, "chat.update", Body::Json(body));
        let now = self.clock.now();
        let shared = Arc::clone(&self.shared);
        let max_retries = self.settings.max_retries;
        let wait = self.backoff(1);
        let Some(k) = self.kept.get_mut(&seq) else {
            return;
        };
        k.last_update = Some(now);
        match answer {
            Ok(a) if a.is_ok() => {
                self.update_gate.streak = 0;
                k.update_attempts = 0;
                k.shown = Some(status);
                Counters::add(&shared.counters.updates, 1);
                if k.status == status {
                    Counters::add(&shared.counters.sent, k.owed_messages);
                    k.owed_messages = 0;
                    k.owed_events = 0;
                }
            }
            Ok(a) if a.is_rate_limited() => {
                let wait = self.rate_limited(a.retry_after, Which::Update);
                log_once(
                    &shared,
                    "update 429",
                    LogLevel::Warn,
                    format!(
                        "Slack is rate limiting chat.update; updates wait {:.1}s (new alerts are \
                         still posted); the next update brings the count",
                        wait.as_secs_f32()
                    ),
                );
            }
            Ok(a) if a.status == 200 || (400..500).contains(&a.status) => {
                let error = a.error().unwrap_or("unexpected answer").to_string();
                match trouble(&error) {
                    // The message is gone: a new one carries the incident on.
                    Trouble::Gone | Trouble::Channel => {
                        log_once(
                            &shared,
                            &format!("update {error}"),
                            LogLevel::Warn,
                            format!(
                                "Slack could not update an incident's message ({error}): {}",
                                advice("message_not_found", None)
                            ),
                        );
                        Counters::add(&shared.counters.reposts, 1);
                        k.posted = None;
                        k.shown = None;
                        self.push_post(Job::Post(seq), now);
                    }
                    _ => {
                        let needed = a.field("needed").map(str::to_string);
                        log_once(
                            &shared,
                            &format!("chat.update {error}"),
                            LogLevel::Error,
                            format!(
                                "Slack refused chat.update ({error}): {}. Further refusals like \
                                 this are counted, not logged",
                                advice(&error, needed.as_deref())
                            ),
                        );
                        // What the message could not show goes to the summary.
                        k.shown = Some(status);
                        let (rule, events) = (k.rule, k.owed_events);
                        k.owed_messages = 0;
                        k.owed_events = 0;
                        shared.failed_counts(rule, events, 0);
                    }
                }
            }
            other => {
                let problem = match other {
                    Ok(a) => format!("HTTP {}", a.status),
                    Err(e) => e,
                };
                k.update_attempts += 1;
                Counters::add(&shared.counters.retries, 1);
                if k.update_attempts > max_retries {
                    k.shown = Some(status);
                    let (rule, events) = (k.rule, k.owed_events);
                    k.owed_messages = 0;
                    k.owed_events = 0;
                    shared.failed_counts(rule, events, 0);
                    log_once(
                        &shared,
                        &format!("update gave up: {problem}"),
                        LogLevel::Error,
                        format!(
                            "could not update an incident's message after {} retries: {problem}; \
                             its count is reported in the next summary",
                            max_retries
                        ),
                    );
                } else {
                    k.last_update = Some(now + wait * (1 << k.update_attempts.min(6)));
                }
            }
        }
    }

    fn upload(&mut self, seq: u64, api: &mut dyn Api) {
        let Some((_, attempts, _)) = self.uploads.pop_front() else {
            return;
        };
        let Some(k) = self.kept.get(&seq) else { return };
        let (Some(trace), Some((channel, ts))) = (k.trace.clone(), k.posted.clone()) else {
            return;
        };
        let now = self.clock.now();
        self.files.take(2.0, now);
        let result = self.upload_steps(api, &trace, &channel, &ts);
        match result {
            Ok(()) => {
                Counters::add(&self.shared.counters.uploads, 1);
                if let Some(k) = self.kept.get_mut(&seq) {
                    k.trace = None;
                }
            }
            Err(Step::RateLimited(after)) => {
                self.rate_limited(after, Which::Upload);
                self.uploads.push_front((seq, attempts, now));
            }
            Err(Step::Refused(error, needed)) => {
                if error == "missing_scope" || trouble(&error) == Trouble::Credential {
                    self.uploads_allowed = false;
                    self.uploads.clear();
                }
                self.log_once(
                    &format!("upload {error}"),
                    LogLevel::Warn,
                    format!(
                        "could not upload a stack trace into an incident's thread ({error}): {}; \
                         messages keep their trimmed trace",
                        advice(&error, needed.as_deref())
                    ),
                );
            }
            Err(Step::Failed(problem)) => {
                Counters::add(&self.shared.counters.retries, 1);
                if attempts < self.settings.max_retries {
                    let at = self.clock.now() + self.backoff(attempts + 1);
                    self.uploads.push_back((seq, attempts + 1, at));
                } else {
                    self.log_once(
                        "upload gave up",
                        LogLevel::Warn,
                        format!("gave up uploading a stack trace: {problem}"),
                    );
                }
            }
        }
    }

    /// `files.getUploadURLExternal`, the upload, `files.completeUploadExternal`.
    fn upload_steps(
        &mut self,
        api: &mut dyn Api,
        trace: &str,
        channel: &str,
        ts: &str,
    ) -> Result<(), Step> {
        let bytes = trace.as_bytes();
        let answer = self.call(
            api,
            "files.getUploadURLExternal",
            Body::Form(vec![
                ("filename", "stack-trace.txt".into()),
                ("length", bytes.len().to_string()),
                ("snippet_type", "text".into()),
            ]),
        );
        let answer = step(answer)?;
        let (Some(url), Some(file)) = (answer.field("upload_url"), answer.field("file_id")) else {
            return Err(Step::Failed("no upload_url in Slack's answer".into()));
        };
        let (url, file) = (url.to_string(), file.to_string());
        let Some(timeout) = self.timeout() else {
            return Err(Step::Failed("the shutdown deadline passed".into()));
        };
        let sent = api.upload(&url, bytes, timeout).map_err(Step::Failed)?;
        if !(200..300).contains(&sent.status) {
            return Err(Step::Failed(format!(
                "the upload URL answered HTTP {}",
                sent.status
            )));
        }
        let title = format!("Stack trace ({} KiB)", bytes.len().div_ceil(1024));
        let answer = self.call(
            api,
            "files.completeUploadExternal",
            Body::Json(json!({
                "files": [{"id": file, "title": title}],
                "channel_id": channel,
                "thread_ts": ts,
            })),
        );
        step(answer).map(|_| ())
    }

    fn rate_limited(&mut self, told: Option<Duration>, which: Which) -> Duration {
        let now = self.clock.now();
        let base = self.settings.pace.max(self.settings.retry_base);
        let max_backoff = self.settings.max_backoff.max(base);
        let gate = match which {
            Which::Post => &mut self.post_gate,
            Which::Update => &mut self.update_gate,
            Which::Upload => &mut self.upload_gate,
        };
        gate.streak = gate.streak.saturating_add(1);
        let step = base
            .saturating_mul(1 << (gate.streak - 1).min(31))
            .min(max_backoff);
        let wait = told
            .unwrap_or(Duration::ZERO)
            .min(crate::destination::sender::MAX_RETRY_AFTER)
            .max(step);
        gate.not_before = Some(now + wait);
        Counters::add(&self.shared.counters.retries, 1);
        wait
    }

    fn backoff(&mut self, attempts: u32) -> Duration {
        let d = self
            .settings
            .retry_base
            .saturating_mul(1 << attempts.saturating_sub(1).min(16))
            .min(self.settings.max_backoff);
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        d.mul_f64(0.5 + (self.rng % 1000) as f64 / 2000.0)
    }

    fn log_once(&self, key: &str, level: LogLevel, line: String) {
        log_once(&self.shared, key, level, line);
    }

    /// The deadline passed: what Slack does not show yet goes into the
    /// shutdown report.
    fn abandon_all(&mut self, queue: &Receiver<Outgoing>) {
        for q in std::mem::take(&mut self.posts) {
            match q.job {
                Job::Loose {
                    events,
                    undelivered,
                    ..
                } => self.shared.abandon_counts(1, events + undelivered),
                Job::Post(_) | Job::Reply { .. } => {}
            }
        }
        for k in self.kept.values_mut() {
            if k.owed_messages > 0 && !k.failed {
                self.shared.abandon_counts(k.owed_messages, k.owed_events);
                k.owed_messages = 0;
            }
        }
        while let Ok(m) = queue.try_recv() {
            if m.events + m.undelivered > 0 {
                self.shared.abandon_counts(1, m.events + m.undelivered);
            }
        }
    }
}

fn log_once(shared: &Shared, key: &str, level: LogLevel, line: String) {
    if shared.log_once.first(key) {
        shared.log.log(level, &line);
    }
}

enum Which {
    Post,
    Update,
    Upload,
}

enum Step {
    RateLimited(Option<Duration>),
    Refused(String, Option<String>),
    Failed(String),
}

fn step(answer: Result<Answer, String>) -> Result<Answer, Step> {
    match answer {
        Ok(a) if a.is_ok() => Ok(a),
        Ok(a) if a.is_rate_limited() => Err(Step::RateLimited(a.retry_after)),
        Ok(a) if a.status == 200 || (400..500).contains(&a.status) => Err(Step::Refused(
            a.error().unwrap_or("unexpected answer").to_string(),
            a.field("needed").map(str::to_string),
        )),
        Ok(a) => Err(Step::Failed(format!("HTTP {}", a.status))),
        Err(e) => Err(Step::Failed(e)),
    }
}

/// The webhook body of `message`, which app mode posts and updates: the
/// channel is the sender's to set.
fn base_payload(settings: &SenderSettings, message: &Outgoing) -> Value {
    let mut payload = destination::render(&settings.config, message);
    if let Some(map) = payload.as_object_mut() {
        map.remove("channel");
    }
    payload
}

/// A channel as a log line shows it: names and ids are no secrets, but a
/// name read from an event is event data.
fn shown(channel: &str) -> String {
    channel.escape_debug().take(90).collect()
}

/// The stack trace of `event` to upload into its incident's thread: one
/// longer than a message shows, cut to [`MAX_UPLOAD_BYTES`]; `None` when
/// the message shows it whole (or it has none).
pub fn trace_to_upload(event: &dyn slack_alert_event::Fields) -> Option<&str> {
    ecs::first(&ecs::STACK_TRACE, event)
        .and_then(Value::as_str)
        .filter(|t| t.chars().count() > SHOWN_TRACE_CHARS)
        .map(|t| cut_bytes(t, MAX_UPLOAD_BYTES))
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use parking_lot::Mutex;
    use serde_json::json;

    use super::*;
    use crate::config::Config;
    use crate::fingerprint::Fingerprinter;
    use crate::level::Level;
    use crate::log::BufferedLog;
    use crate::sender::RecordingClock;
    use crate::test_support::at;
    use crate::{Alerter, DestinationKind};

    /// One Web API call as the scripted Slack saw it.
    #[derive(Clone, Debug)]
    struct Call {
        method: String,
        body: Value,
        /// Virtual seconds since the test began.
        at: Duration,
    }

    type Answerer = Box<dyn FnMut(&str, &Value) -> Result<Answer, String> + Send>;

    /// A Slack that answers as `answer` says and records every call.
    struct Scripted {
        calls: Arc<Mutex<Vec<Call>>>,
        clock: Arc<RecordingClock>,
        origin: Instant,
        answer: Answerer,
    }

    impl Api for Scripted {
        fn call(
            &mut self,
            method: &'static str,
            body: &Body,
            _: Duration,
        ) -> Result<Answer, String> {
            let body = match body {
                Body::Json(v) => v.clone(),
                Body::Form(pairs) => pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            };
            self.calls.lock().push(Call {
                method: method.into(),
                body: body.clone(),
                at: self.clock.now() - self.origin,
            });
            (self.answer)(method, &body)
        }

        fn upload(&mut self, url: &str, bytes: &[u8], _: Duration) -> Result<Answer, String> {
            self.calls.lock().push(Call {
                method: "upload".into(),
                body: json!({"url": url, "length": bytes.len()}),
                at: self.clock.now() - self.origin,
            });
            Ok(Answer::ok(json!({"ok": true})))
        }
    }

    /// Answers as Slack does when all is well: ids and increasing ts.
    fn healthy() -> Answerer {
        let mut n = 0u64;
        Box::new(move |method, body| {
            n += 1;
            let channel = body["channel"].as_str().unwrap_or("C1");
            let id = match channel.strip_prefix('#') {
                Some(name) => format!("C{name}"),
                None => channel.into(),
            };
            Ok(Answer::ok(match method {
                "files.getUploadURLExternal" => {
                    json!({"ok": true, "upload_url": "http://up/1", "file_id": "F1"})
                }
                _ => json!({"ok": true, "channel": id, "ts": format!("1700000000.{n:06}")}),
            }))
        })
    }

    struct Rig {
        worker: AppWorker,
        api: Scripted,
        calls: Arc<Mutex<Vec<Call>>>,
        counters: Arc<Counters>,
        undelivered: Arc<AtomicU64>,
        log: Arc<BufferedLog>,
        clock: Arc<RecordingClock>,
        origin: Instant,
        alerter: Alerter,
        outbox: Vec<Outgoing>,
        _alarm: crossbeam_channel::Sender<()>,
    }

    fn config(extra: Value) -> Arc<Config> {
        let mut c = json!({"slack_token": "xoxb-test-SECRET", "channel": "#alerts",
            "fallback_channel": "#fallback", "rate_limit": 3600, "burst": 1000,
            "dedup_window": "5m", "update_interval": "10s", "allow_custom_webhook": true});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Arc::new(Config::try_from(c).unwrap())
    }

    fn rig(extra: Value, answer: Answerer) -> Rig {
        let config = config(extra);
        let counters = Arc::new(Counters::default());
        let undelivered = Arc::new(AtomicU64::new(0));
        let log = Arc::new(BufferedLog::new(100));
        let shared = Shared::for_test(
            Arc::clone(&counters),
            vec![Arc::clone(&undelivered)],
            log.clone(),
        );
        let clock = Arc::new(RecordingClock::default());
        let origin = clock.now();
        let (alarm, ring) = Alarm::never();
        let settings = SenderSettings {
            queue_size: 100,
            timeout: Duration::from_secs(5),
            max_retries: 2,
            pace: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            redacted_url: "https://slack.com/api".into(),
            kind: DestinationKind::SlackApp,
            config: Arc::clone(&config),
            fleet_pace: None,
        };
        let calls = Arc::new(Mutex::new(Vec::new()));
        Rig {
            worker: AppWorker::new(settings, shared, alarm, clock.clone(), 7),
            api: Scripted {
                calls: Arc::clone(&calls),
                clock: clock.clone(),
                origin,
                answer,
            },
            calls,
            alerter: Alerter::new(config, Arc::clone(&counters), at(0)),
            counters,
            undelivered,
            log,
            clock,
            origin,
            outbox: Vec::new(),
            _alarm: ring,
        }
    }

    impl Rig {
        /// `n` events of one problem at event second `s` (on `host`).
        fn events(&mut self, s: u64, n: u64, message: &str, extra: Value) {
            let mut event = json!({"log.level": "ERROR", "message": message,
                "service.name": "orders", "host.name": "web-1"});
            event
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let fp = Fingerprinter::new(vec![]).fingerprint(Level::Error, &event);
            for _ in 0..n {
                self.alerter
                    .on_event(Level::Error, &fp, &event, at(s * 1000), &mut self.outbox);
            }
        }

        /// Event time and the sender's time both move to second `s`: the
        /// core's ticks, then whatever the sender can do by then.
        fn until(&mut self, s: u64) {
            self.alerter.on_tick(at(s * 1000), &mut self.outbox);
            for m in std::mem::take(&mut self.outbox) {
                self.worker.accept(m);
            }
            self.worker
                .drive(&mut self.api, self.origin + Duration::from_secs(s));
        }

        fn calls(&self, method: &str) -> Vec<Call> {
            self.calls
                .lock()
                .iter()
                .filter(|c| c.method == method)
                .cloned()
                .collect()
        }

        fn counter(&self, name: &str) -> u64 {
            self.counters.get(name).unwrap()
        }

        fn logs(&self) -> String {
            self.log
                .drain()
                .into_iter()
                .map(|(_, l)| l)
                .collect::<Vec<_>>()
                .join("\n")
        }
    }

    /// A word per number: digits are normalised out of fingerprints.
    fn word(i: u64) -> String {
        let a = (b'a' + (i % 26) as u8) as char;
        let b = (b'a' + (i / 26 % 26) as u8) as char;
        format!("{a}{b}")
    }

    fn text(v: &Value) -> String {
        v.to_string()
    }

    #[test]
    fn a_storm_is_one_message_kept_current_and_marked_quiet_with_the_exact_count() {
        let mut r = rig(json!({}), healthy());
        // 10,000 events over 100 s, then quiet until the window closes.
        for s in 0..100 {
            r.events(s, 100, "disk full on /var", json!({}));
            r.until(s + 1);
        }
        r.until(400);
        let posts = r.calls("chat.postMessage");
        let updates = r.calls("chat.update");
        let top: Vec<_> = posts
            .iter()
            .filter(|c| c.body.get("thread_ts").is_none())
            .collect();
        assert_eq!(top.len(), 1, "{posts:?}");
        // At most one update per update_interval over the storm, and the last.
        assert!(updates.len() <= 100 / 10 + 2, "{} updates", updates.len());
        assert!(updates.len() >= 5, "{} updates", updates.len());
        let last = &updates.last().unwrap().body;
        assert!(
            text(last).contains("Quiet since") && text(last).contains("10,000 events"),
            "{last}"
        );
        assert_eq!(
            last["attachments"][0]["color"],
            super::super::status::RESOLVED_COLOR
        );
        // Updates name the message Slack answered for the post.
        assert_eq!(last["ts"], "1700000000.000001");
        assert_eq!(last["channel"], "Calerts");
        // A live status went out while it repeated.
        assert!(updates.iter().any(|u| text(&u.body).contains("🔁 Seen")));
        for pair in updates.windows(2) {
            assert!(
                pair[1].at - pair[0].at >= Duration::from_secs(10)
                    || text(&pair[1].body).contains("Quiet")
            );
        }
        // The thread: milestones 10×, 100×, 1,000×, 10,000× and the quiet note.
        let replies: Vec<String> = posts
            .iter()
            .filter(|c| c.body["thread_ts"] == "1700000000.000001")
            .map(|c| c.body["text"].as_str().unwrap().to_string())
            .collect();
        assert!(
            replies.iter().any(|t| t.contains("Quiet since")),
            "{replies:?}"
        );
        assert!(
            replies.iter().any(|t| t.contains("1,000× now")),
            "{replies:?}"
        );
        // Accounting: the alert and its repeat report were delivered.
        assert_eq!(r.counter("sent"), 2);
        assert_eq!(r.counter("send_failures"), 0);
        assert_eq!(r.undelivered.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn many_incidents_at_once_are_paced_per_channel_and_updates_keep_within_the_tier() {
        let mut r = rig(json!({"channel": "#alerts-%{[service.name]}"}), healthy());
        for s in 0..120 {
            for i in 0..50u64 {
                r.events(
                    s,
                    3,
                    &format!("problem {}", word(i)),
                    json!({"service.name": format!("svc{}", i % 2)}),
                );
            }
            r.until(s + 1);
        }
        r.until(600);
        let posts: Vec<Call> = r
            .calls("chat.postMessage")
            .into_iter()
            .filter(|c| c.body.get("thread_ts").is_none())
            .collect();
        assert_eq!(posts.len(), 50);
        let mut last: HashMap<String, Duration> = HashMap::new();
        for p in r.calls("chat.postMessage") {
            // Posts name the channel, replies its id: one channel's pace.
            let named = p.body["channel"].as_str().unwrap();
            let channel = named
                .trim_start_matches('#')
                .trim_start_matches('C')
                .to_string();
            if let Some(before) = last.insert(channel.clone(), p.at) {
                assert!(
                    p.at - before >= Duration::from_secs(1),
                    "{channel} twice within 1s"
                );
            }
        }
        let updates = r.calls("chat.update");
        for (i, u) in updates.iter().enumerate() {
            let in_minute = updates[i..]
                .iter()
                .take_while(|v| v.at - u.at < Duration::from_secs(60))
                .count();
            assert!(
                in_minute as f64 <= UPDATE_TIER.per_minute + UPDATE_TIER.burst,
                "{in_minute}"
            );
        }
        // Every incident ends quiet with its exact count (3 × 120).
        let finals: Vec<&Call> = updates
            .iter()
            .filter(|u| text(&u.body).contains("Quiet since"))
            .collect();
        assert_eq!(finals.len(), 50);
        assert!(finals.iter().all(|u| text(&u.body).contains("360 events")));
        assert_eq!(r.counter("sent"), 100);
    }

    #[test]
    fn a_message_slack_can_no_longer_update_is_posted_afresh_with_the_right_count() {
        let mut healthy = healthy();
        let mut r = rig(
            json!({"thread_replies": "none"}),
            Box::new(move |m, b| {
                if m == "chat.update" {
                    Ok(Answer::ok(
                        json!({"ok": false, "error": "message_not_found"}),
                    ))
                } else {
                    healthy(m, b)
                }
            }),
        );
        r.events(0, 1, "x", json!({}));
        r.until(1);
        r.events(2, 41, "x", json!({}));
        r.until(400);
        let posts: Vec<Call> = r
            .calls("chat.postMessage")
            .into_iter()
            .filter(|c| c.body.get("thread_ts").is_none())
            .collect();
        assert_eq!(posts.len(), 2, "{posts:?}");
        assert!(
            text(&posts[1].body).contains("42 events"),
            "{}",
            text(&posts[1].body)
        );
        assert_eq!(r.counter("reposts"), 1);
        assert_eq!(r.counter("sent"), 2);
        assert!(r.logs().contains("message_not_found"));
    }

    #[test]
    fn a_refused_channel_falls_back_and_a_refused_token_is_logged_once_and_counted() {
        let mut healthy_ = healthy();
        let mut r = rig(
            json!({}),
            Box::new(move |m, b| {
                if b["channel"] == "#alerts" {
                    Ok(Answer::ok(json!({"ok": false, "error": "not_in_channel"})))
                } else {
                    healthy_(m, b)
                }
            }),
        );
        r.events(0, 1, "x", json!({}));
        r.until(5);
        let posts = r.calls("chat.postMessage");
        assert_eq!(posts[0].body["channel"], "#alerts");
        assert_eq!(posts[1].body["channel"], "#fallback");
        assert_eq!(r.counter("channel_fallbacks"), 1);
        assert_eq!(r.counter("sent"), 1);
        assert!(r.logs().contains("invite it"));

        let mut r = rig(
            json!({}),
            Box::new(|_, _| Ok(Answer::ok(json!({"ok": false, "error": "token_revoked"})))),
        );
        for i in 0..5u64 {
            r.events(0, 1, &format!("problem {}", word(i)), json!({}));
        }
        r.until(30);
        assert_eq!(
            r.calls("chat.postMessage").len(),
            5,
            "each tried once, never retried"
        );
        assert_eq!(r.counter("send_failures"), 5);
        assert_eq!(r.undelivered.load(Ordering::Relaxed), 5);
        let logs = r.logs();
        assert_eq!(logs.matches("token_revoked").count(), 1, "{logs}");
        assert!(logs.contains("reinstall the app"));
        assert!(!logs.contains("SECRET"));
    }

    #[test]
    fn updates_held_back_by_429_leave_posts_going() {
        let mut healthy_ = healthy();
        let mut r = rig(
            json!({"thread_replies": "none"}),
            Box::new(move |m, b| {
                if m == "chat.update" {
                    Ok(Answer {
                        status: 429,
                        retry_after: Some(Duration::from_secs(30)),
                        body: json!({"ok": false, "error": "ratelimited"}),
                    })
                } else {
                    healthy_(m, b)
                }
            }),
        );
        r.events(0, 1, "first", json!({}));
        r.until(1);
        r.events(11, 5, "first", json!({}));
        r.until(12);
        let tried = r.calls("chat.update").len();
        assert_eq!(tried, 1);
        // While updates wait 30 s, a new incident is still posted at once.
        r.events(13, 1, "second", json!({}));
        r.until(14);
        assert_eq!(
            r.calls("chat.update").len(),
            tried,
            "no update inside the wait"
        );
        assert_eq!(r.calls("chat.postMessage").len(), 2);
    }

    #[test]
    fn a_long_stack_trace_is_uploaded_into_the_thread_unless_the_scope_is_missing() {
        let trace = format!(
            "java.lang.IllegalStateException: boom\n{}",
            "\tat a.b.C.d(C.java:1)\n".repeat(3000)
        );
        assert!(trace.len() > 64 * 1024);
        let mut r = rig(json!({}), healthy());
        r.events(0, 1, "x", json!({"error.stack_trace": trace}));
        r.until(5);
        let calls: Vec<String> = r.calls.lock().iter().map(|c| c.method.clone()).collect();
        assert_eq!(
            calls,
            [
                "chat.postMessage",
                "files.getUploadURLExternal",
                "upload",
                "files.completeUploadExternal"
            ]
        );
        let get = &r.calls("files.getUploadURLExternal")[0];
        assert_eq!(get.body["length"], json!(trace.len().to_string()));
        let complete = &r.calls("files.completeUploadExternal")[0];
        assert_eq!(complete.body["thread_ts"], "1700000000.000001");
        assert_eq!(complete.body["channel_id"], "Calerts");
        assert_eq!(r.counter("uploads"), 1);

        let mut healthy_ = healthy();
        let mut r = rig(
            json!({}),
            Box::new(move |m, b| {
                if m.starts_with("files.") {
                    Ok(Answer::ok(
                        json!({"ok": false, "error": "missing_scope", "needed": "files:write"}),
                    ))
                } else {
                    healthy_(m, b)
                }
            }),
        );
        let long = "x\n".repeat(5000);
        r.events(0, 1, "a", json!({"error.stack_trace": long}));
        r.events(0, 1, "b", json!({"error.stack_trace": long}));
        r.until(10);
        assert_eq!(
            r.calls("files.getUploadURLExternal").len(),
            1,
            "the scope is missing: tried once"
        );
        assert!(r.logs().contains("files:write"));
        assert_eq!(r.counter("sent"), 2);
    }

    #[test]
    fn a_flatline_is_marked_recovered_in_place_when_its_group_logs_again() {
        let mut r = rig(json!({}), healthy());
        let notice = |intent: Intent| Outgoing {
            intent,
            events: 0,
            undelivered: 0,
            rule: 0,
            destination: 0,
        };
        r.worker.accept(notice(Intent::Silent {
            rule: 0,
            group: "checkout".into(),
            last_seen: at(0).wall,
        }));
        r.worker
            .drive(&mut r.api, r.origin + Duration::from_secs(5));
        r.worker.accept(notice(Intent::Recovered {
            rule: 0,
            group: "checkout".into(),
            after: Duration::from_secs(720),
            last_seen: at(0).wall,
        }));
        r.worker
            .drive(&mut r.api, r.origin + Duration::from_secs(30));
        let posts = r.calls("chat.postMessage");
        assert_eq!(
            posts
                .iter()
                .filter(|c| c.body.get("thread_ts").is_none())
                .count(),
            1
        );
        let updates = r.calls("chat.update");
        assert_eq!(updates.len(), 1);
        let update = text(&updates[0].body);
        assert!(update.contains("Logging again after 12m"), "{update}");
        assert!(update.contains(super::super::status::RESOLVED_COLOR));
        assert!(posts
            .iter()
            .any(|c| c.body["thread_ts"] == "1700000000.000001"
                && text(&c.body).contains("Logging again")));
        assert_eq!(r.counter("sent"), 2);
    }

    #[test]
    fn at_the_deadline_what_slack_does_not_show_is_abandoned_into_the_report() {
        let mut r = rig(
            json!({}),
            Box::new(|_, _| Err("could not connect".to_string())),
        );
        r.events(0, 1, "x", json!({}));
        r.events(0, 9, "x", json!({}));
        r.alerter.on_shutdown(at(1000), &mut r.outbox);
        for m in std::mem::take(&mut r.outbox) {
            r.worker.accept(m);
        }
        *r.worker.shared.deadline.lock() = Some(r.clock.now());
        let (tx, rx) = crossbeam_channel::bounded(1);
        drop(tx);
        r.worker.abandon_all(&rx);
        // The alert and its repeat report: two messages, ten events.
        assert_eq!(r.worker.shared.abandoned(), (2, 10));
    }
}
