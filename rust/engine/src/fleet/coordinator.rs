//! The coordinator thread: the only one of a node that calls the fleet's store.
//!
//! Per incident (`IncidentId` → [`Tracked`]) it knows this node's role:
//!
//! - **owner**: its claim created the document (or reopened an ended one, or took it over).
//!   Its `Opened` is forwarded (posted). At its window's close it flushes its own repeats,
//!   waits [`Coordinator::grace`] for the others' last flush, then reads the document, marks it
//!   reported with a compare-and-set on what it read (a count landing in between makes it read
//!   again) and forwards its `Quiet` carrying the fleet's count.
//! - **follower**: the claim found a live incident. Nothing is forwarded; its events are added
//!   to the document (the opening one at once, repeats at each progress report, the rest at its
//!   close). A flush answered with the report already made is this node's to report: it
//!   forwards a `Quiet` of that remainder at its close. After its close it watches the document
//!   until it is reported; past the owner's lease it takes the incident over (`take_over`
//!   compare-and-set, one node wins) and reports it.
//! - **local**: decided without the store (it was failing): everything is forwarded.
//!
//! While the store fails ([`Health`]) no call is made; every intent is decided locally
//! (`coordination_fallbacks`), and an incident's unflushed remainder is reported by its node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use slack_alert_coordination::{
    Cas, Claim, ClaimDoc, Incident as Doc, Store, StoreError, Versioned,
};

use super::health::Health;
use super::outbox::{local, FleetShared};
use super::{EXPIRY_INTERVAL, FLUSH_INTERVAL, KEEP_AFTER_END};
use crate::clock::{Clock, Now};
use crate::config::{Config, DestinationKind};
use crate::contain::Containment;
use crate::counters::Counters;
use crate::intent::{Incident, IncidentId, Intent, Outgoing};
use crate::log::LogSink;
use crate::sender::{FleetPace, QueueOutbox};

/// How long the thread waits for an intent before it looks at its timers.
const POLL: Duration = Duration::from_millis(50);
/// How long it waits for room in a sender's queue before it drops (and counts) a message.
const FORWARD_WAIT: Duration = Duration::from_secs(1);
/// Compare-and-set rounds before a report goes out with the count last read.
const CAS_ATTEMPTS: usize = 5;
/// How often a destination's fleet-wide pace is read while its sender has something to post
/// (and at most this old when a message is forwarded to it).
const PACE_READ: Duration = Duration::from_secs(1);

/// One destination's shared pace as the coordinator keeps it.
struct PaceState {
    pace: Arc<FleetPace>,
    /// The sender's `retry_until_ms` last published.
    published: u64,
    read_at: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Owner,
    Follower,
    Local,
}

#[derive(Debug)]
struct Tracked {
    fleet_id: String,
    role: Role,
    /// Events this node saw: the opening one and its repeats.
    local: u64,
    /// Of them, added to the document.
    flushed: u64,
    /// Of the flushed, those the fleet's report had already gone without: this node reports them.
    late: u64,
    /// The fleet's count as last read.
    fleet: u64,
}

/// An owner's report, due after the grace.
struct Report {
    fleet_id: String,
    message: Outgoing,
    /// This node's own repeats (what the report accounts for on this node).
    own_repeats: u64,
    /// The fleet's count as last read: what a report made without the store says.
    known: u64,
    due_mono: u64,
}

/// A closed incident this node followed, watched until it is reported.
struct Watch {
    fleet_id: String,
    message: Outgoing,
    due_wall_ms: i64,
}

/// The running coordinator, as the engine holds it.
pub(crate) struct CoordinatorHandle {
    /// Clones go into the destinations' [`FleetOutbox`](super::FleetOutbox)es.
    pub(crate) queue: Sender<Outgoing>,
    queued: Receiver<Outgoing>,
    busy: Arc<AtomicBool>,
    pub(crate) shared: Arc<FleetShared>,
    paces: Vec<Arc<FleetPace>>,
    thread: Option<JoinHandle<()>>,
    done: Receiver<()>,
}

impl CoordinatorHandle {
    /// Intents waiting or being handled (tests poll it to see the coordinator caught up).
    pub(crate) fn backlog(&self) -> usize {
        self.queued.len() + usize::from(self.busy.load(Ordering::Acquire))
    }

    /// The latest fleet-wide "not before" this node knows of, over its destinations (epoch
    /// ms, 0 when none): tests poll it to see a `Retry-After` shared.
    pub(crate) fn not_before_ms(&self) -> u64 {
        self.paces
            .iter()
            .map(|p| p.not_before_ms.load(Ordering::Acquire))
            .max()
            .unwrap_or(0)
    }

    /// Test-only: the node dies: the thread stops at once, reporting and flushing nothing.
    pub(crate) fn kill(&self) {
        self.shared.killed.store(true, Ordering::Release);
    }

    /// Waits for the thread until `deadline` (after the engine dropped every queue clone, so
    /// that it makes its last reports and ends); true if it ended.
    pub(crate) fn finish(mut self, deadline: Instant) -> bool {
        drop(self.queue);
        let wait = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(50);
        let ended = !matches!(self.done.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
        if ended {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
        ended
    }
}

/// Starts the coordinator of a node called `node`, forwarding to `senders` (by destination).
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn(
    config: Arc<Config>,
    store: Store,
    node: String,
    senders: Vec<QueueOutbox>,
    paces: Vec<Option<Arc<FleetPace>>>,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
    log: Arc<dyn LogSink>,
    shared: Arc<FleetShared>,
) -> std::io::Result<CoordinatorHandle> {
    // Destinations sharing a sender share its pace: one state each.
    let mut pace_states: Vec<PaceState> = Vec::new();
    let pace_of = paces
        .iter()
        .map(|p| {
            let p = p.as_ref()?;
            Some(
                match pace_states.iter().position(|s| Arc::ptr_eq(&s.pace, p)) {
                    Some(i) => i,
                    None => {
                        pace_states.push(PaceState {
                            pace: Arc::clone(p),
                            published: 0,
                            read_at: None,
                        });
                        pace_states.len() - 1
                    }
                },
            )
        })
        .collect();
    let known_paces: Vec<Arc<FleetPace>> =
        pace_states.iter().map(|s| Arc::clone(&s.pace)).collect();
    let coordination = config
        .coordination
        .clone()
        .expect("a coordinator is started only with coordination_hosts");
    let (queue_tx, queue_rx) = bounded::<Outgoing>(config.queue_size);
    let (done_tx, done_rx) = bounded::<()>(1);
    let busy = Arc::new(AtomicBool::new(false));
    let containment = Containment::new(
        "coordinator",
        "coordinating an incident with the fleet",
        "that incident's message or count may be missing",
        Arc::clone(&counters),
        Arc::clone(&log),
    );
    let grace = FLUSH_INTERVAL + coordination.settings.timeout;
    let mut coordinator = Coordinator {
        health: Health::new(Arc::clone(&counters), log),
        edits: config
            .destinations
            .iter()
            .map(|d| d.kind == DestinationKind::SlackApp)
            .collect(),
        config,
        store,
        node,
        senders,
        clock,
        counters,
        shared: Arc::clone(&shared),
        tracked: HashMap::new(),
        paces: pace_states,
        pace_of,
        reports: Vec::new(),
        watches: Vec::new(),
        grace,
        lease: coordination.lease,
        next_expiry: Instant::now(),
    };
    let (thread_rx, thread_busy) = (queue_rx.clone(), Arc::clone(&busy));
    let thread = std::thread::Builder::new()
        .name("slack_alert-coordinator".into())
        .spawn(move || {
            containment.run(|| coordinator.start());
            loop {
                if coordinator.killed() {
                    break;
                }
                match thread_rx.recv_timeout(POLL) {
                    Ok(message) => {
                        thread_busy.store(true, Ordering::Release);
                        containment.run(|| coordinator.handle(message));
                        thread_busy.store(false, Ordering::Release);
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {
                        containment.run(|| coordinator.finish());
                        break;
                    }
                }
                containment.run(|| coordinator.timers());
            }
            let _ = done_tx.send(());
        })?;
    Ok(CoordinatorHandle {
        queue: queue_tx,
        queued: queue_rx,
        busy,
        shared,
        paces: known_paces,
        thread: Some(thread),
        done: done_rx,
    })
}

struct Coordinator {
    config: Arc<Config>,
    store: Store,
    node: String,
    /// By destination index.
    senders: Vec<QueueOutbox>,
    edits: Vec<bool>,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
    shared: Arc<FleetShared>,
    health: Health,
    tracked: HashMap<IncidentId, Tracked>,
    /// The shared paces, and each destination's (by index) among them.
    paces: Vec<PaceState>,
    pace_of: Vec<Option<usize>>,
    reports: Vec<Report>,
    watches: Vec<Watch>,
    /// How long an owner waits after its window's close before it reports: one flush interval
    /// and one call's timeout, so that the others' last flush has landed.
    grace: Duration,
    lease: Duration,
    next_expiry: Instant,
}

fn wall_ms(now: Now) -> i64 {
    now.wall
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn incident_of(message: &mut Outgoing) -> Option<&mut Incident> {
    match &mut message.intent {
        Intent::Opened { incident, .. }
        | Intent::Progress { incident, .. }
        | Intent::Quiet { incident, .. } => Some(incident),
        _ => None,
    }
}

/// `message` (a `Quiet`) saying `count` repeats, accounting for `events` on this node.
fn with_count(mut message: Outgoing, count: u64, events: u64) -> Outgoing {
    if let Some(incident) = incident_of(&mut message) {
        incident.count = count;
    }
    message.events = events;
    message
}

impl Coordinator {
    fn killed(&self) -> bool {
        self.shared.killed.load(Ordering::Acquire)
    }

    fn start(&mut self) {
        match self.store.ensure_index() {
            Ok(_) => self.health.answered(),
            Err(e) => self.health.failed(&e),
        }
    }

    /// A call failed: node-local from now until a probe answers.
    fn failed(&mut self, error: &StoreError) {
        self.health.failed(error);
    }

    fn fallback(&mut self, message: Outgoing) {
        Counters::add(&self.counters.coordination_fallbacks, 1);
        self.forward(message);
    }

    fn forward(&mut self, message: Outgoing) {
        if self.killed() {
            return;
        }
        let destination = message.destination;
        if let Some(Some(p)) = self.pace_of.get(destination).copied() {
            // The sender waits out what the fleet was told before it posts this.
            self.read_pace(p, false);
        }
        let edits = self.edits.get(destination).copied().unwrap_or(false);
        let Some(sender) = self.senders.get(destination) else {
            Counters::add(&self.counters.internal_errors, 1);
            return;
        };
        let mut waiting = WaitingOutbox(sender);
        if local(message, edits, &mut waiting).is_err() {
            Counters::add(&self.counters.dropped, 1);
        }
    }

    fn fleet_id(&self, id: IncidentId) -> String {
        let name = self
            .config
            .rules
            .get(id.rule)
            .map_or("?", |r| r.name.as_str());
        format!("{name}:{:016x}", id.key)
    }

    fn handle(&mut self, message: Outgoing) {
        match &message.intent {
            Intent::Opened { .. } => self.opened(message),
            Intent::Progress { .. } => self.progress(message),
            Intent::Quiet { .. } => self.quiet(message),
            _ => self.forward(message),
        }
    }

    fn opened(&mut self, mut message: Outgoing) {
        let Some(incident) = incident_of(&mut message) else {
            return;
        };
        let id = incident.id;
        let label = incident.label.clone();
        let fleet_id = self.fleet_id(id);
        let mut tracked = Tracked {
            fleet_id: fleet_id.clone(),
            role: Role::Local,
            local: 1,
            flushed: 0,
            late: 0,
            fleet: 1,
        };
        if self.health.failing() {
            self.tracked.insert(id, tracked);
            return self.fallback(message);
        }
        let now = self.clock.now();
        let wall = wall_ms(now);
        let window = self
            .config
            .rules
            .get(id.rule)
            .map_or(Duration::ZERO, |r| r.dedup_window);
        let lease_until = wall + ms(window) + ms(self.grace) + ms(self.lease);
        let doc = ClaimDoc {
            owner: self.node.clone(),
            rule: self
                .config
                .rules
                .get(id.rule)
                .map_or(String::new(), |r| r.name.clone()),
            key: label,
            window_start_ms: wall,
            first_seen_ms: wall,
            last_seen_ms: wall,
            count: 1,
            hosts: Vec::new(),
            lease_until_ms: lease_until,
            expires_at_ms: lease_until + ms(KEEP_AFTER_END),
        };
        match self.claim(&fleet_id, &doc, wall) {
            Ok(true) => {
                tracked.role = Role::Owner;
                tracked.flushed = 1;
                self.tracked.insert(id, tracked);
                self.forward(message);
            }
            Ok(false) => {
                tracked.role = Role::Follower;
                let flushed = self.flush(&mut tracked, wall);
                self.tracked.insert(id, tracked);
                if let Err(e) = flushed {
                    // Not counted anywhere yet: this node says it.
                    self.failed(&e);
                    if let Some(t) = self.tracked.get_mut(&id) {
                        t.role = Role::Local;
                    }
                    self.fallback(message);
                }
            }
            Err(e) => {
                self.failed(&e);
                self.tracked.insert(id, tracked);
                self.fallback(message);
            }
        }
    }

    /// True if this node owns the incident now.
    fn claim(&mut self, fleet_id: &str, doc: &ClaimDoc, wall: i64) -> Result<bool, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            match self.store.claim(fleet_id, doc)? {
                Claim::Owned { .. } => return Ok(true),
                Claim::Taken {
                    doc: taken,
                    seq_no,
                    primary_term,
                    ..
                } => {
                    if taken.owner == self.node && taken.reported_count.is_none() {
                        return Ok(true);
                    }
                    let ended = taken.reported_count.is_some() || taken.lease_until_ms < wall;
                    if !ended {
                        return Ok(false);
                    }
                    match self.store.reopen(fleet_id, doc, seq_no, primary_term)? {
                        Cas::Done { .. } => return Ok(true),
                        Cas::Stale | Cas::Missing => continue,
                    }
                }
            }
        }
        Ok(false)
    }

    /// Adds what this node counted since its last flush; the document as it is after.
    fn flush(&mut self, t: &mut Tracked, wall: i64) -> Result<Option<Versioned<Doc>>, StoreError> {
        let delta = t.local.saturating_sub(t.flushed);
        if delta == 0 {
            return Ok(None);
        }
        let answer = self
            .store
            .add_counts(&t.fleet_id, &self.node, delta, wall, &[])?;
        t.flushed = t.local;
        match &answer {
            Some(v) => {
                t.fleet = v.doc.count;
                if v.doc.reported_count.is_some() && v.doc.owner != self.node {
                    t.late += delta;
                } else if t.role == Role::Follower {
                    Counters::add(&self.counters.coordination_deferred, delta);
                }
            }
            // Gone (expired): nobody else reports these.
            None => t.late += delta,
        }
        Ok(answer)
    }

    fn progress(&mut self, mut message: Outgoing) {
        let Some(incident) = incident_of(&mut message) else {
            return;
        };
        let id = incident.id;
        let repeats = incident.count;
        let Some(mut t) = self.tracked.remove(&id) else {
            return self.forward(message);
        };
        t.local = 1 + repeats;
        let owner = t.role == Role::Owner;
        if t.role != Role::Local && !self.health.failing() {
            let wall = wall_ms(self.clock.now());
            match self.flush(&mut t, wall) {
                Ok(Some(v)) if owner => {
                    message = with_count(message, v.doc.count.saturating_sub(1), 0);
                }
                Ok(_) => {}
                Err(e) => self.failed(&e),
            }
        }
        let role = t.role;
        self.tracked.insert(id, t);
        // Only the message's owner (and a node on its own) shows progress.
        if role != Role::Follower {
            self.forward(message);
        }
    }

    fn quiet(&mut self, mut message: Outgoing) {
        let Some(incident) = incident_of(&mut message) else {
            return;
        };
        let id = incident.id;
        let repeats = incident.count;
        let shutdown = matches!(
            message.intent,
            Intent::Quiet {
                closing: crate::intent::Closing::Shutdown,
                ..
            }
        );
        let Some(mut t) = self.tracked.remove(&id) else {
            return self.forward(message);
        };
        t.local = 1 + repeats;
        if t.role == Role::Local {
            return self.forward(message);
        }
        let before = t.flushed;
        if self.health.failing() {
            return self.report_alone(t, message, before);
        }
        let now = self.clock.now();
        let flushed = self.flush(&mut t, wall_ms(now));
        if let Err(e) = flushed {
            self.failed(&e);
            return self.report_alone(t, message, before);
        }
        match t.role {
            Role::Owner => {
                let report = Report {
                    fleet_id: t.fleet_id.clone(),
                    own_repeats: repeats,
                    known: t.fleet.max(t.local),
                    message,
                    due_mono: if shutdown {
                        now.mono_ms
                    } else {
                        now.mono_ms + self.grace.as_millis() as u64
                    },
                };
                if shutdown {
                    self.report(report);
                } else {
                    self.reports.push(report);
                }
            }
            Role::Follower => {
                if t.late > 0 {
                    let late = t.late;
                    return self.forward(with_count(message, late, late));
                }
                if shutdown {
                    return;
                }
                let due = match flushed {
                    Ok(Some(v)) => v.doc.lease_until_ms,
                    _ => wall_ms(now),
                };
                self.watches.push(Watch {
                    fleet_id: t.fleet_id,
                    message: with_count(message, 0, 0),
                    due_wall_ms: due,
                });
            }
            Role::Local => {}
        }
    }

    /// The store failed at an incident's close: its node reports what only it knows. An owner
    /// reports the fleet's count as last read plus its own unflushed events; a follower the
    /// events it had not flushed (the flushed ones are the owner's to report).
    fn report_alone(&mut self, t: Tracked, message: Outgoing, flushed_before: u64) {
        Counters::add(&self.counters.coordination_fallbacks, 1);
        let unflushed = t.local.saturating_sub(flushed_before);
        let message = match t.role {
            Role::Owner => {
                let repeats = (t.fleet + unflushed).saturating_sub(1);
                let own = t.local.saturating_sub(1);
                with_count(message, repeats, own)
            }
            _ => with_count(message, unflushed + t.late, unflushed + t.late),
        };
        self.forward(message);
    }

    /// The owner's report: the fleet's count, marked reported with a compare-and-set.
    fn report(&mut self, report: Report) {
        if self.health.failing() {
            Counters::add(&self.counters.coordination_fallbacks, 1);
            let count = report.known.saturating_sub(1);
            return self.forward(with_count(report.message, count, report.own_repeats));
        }
        let mut last = report.known;
        for _ in 0..CAS_ATTEMPTS {
            let read = match self.store.get(&report.fleet_id) {
                Ok(read) => read,
                Err(e) => {
                    self.failed(&e);
                    Counters::add(&self.counters.coordination_fallbacks, 1);
                    let count = last.saturating_sub(1);
                    return self.forward(with_count(report.message, count, report.own_repeats));
                }
            };
            let Some(v) = read else {
                // Expired under it: what it knows.
                let count = last.saturating_sub(1);
                return self.forward(with_count(report.message, count, report.own_repeats));
            };
            if v.doc.owner != self.node {
                // Taken over: the new owner reports.
                return;
            }
            if v.doc.reported_count.is_some() {
                // An earlier attempt of this report landed.
                return;
            }
            last = v.doc.count;
            let wall = wall_ms(self.clock.now());
            match self.store.mark_reported_if(
                &report.fleet_id,
                v.doc.count,
                wall,
                v.seq_no,
                v.primary_term,
            ) {
                Ok(Cas::Done { .. }) => {
                    self.health.answered();
                    let count = v.doc.count.saturating_sub(1);
                    return self.forward(with_count(report.message, count, report.own_repeats));
                }
                Ok(Cas::Stale) => continue,
                Ok(Cas::Missing) => break,
                Err(e) => {
                    self.failed(&e);
                    break;
                }
            }
        }
        let count = last.saturating_sub(1);
        self.forward(with_count(report.message, count, report.own_repeats));
    }

    /// A followed incident past its owner's lease without a report: take it over (one node
    /// wins the compare-and-set) and report it now. True when the watch is over.
    fn watch(&mut self, watch: &Watch, wall: i64) -> Result<bool, StoreError> {
        let Some(v) = self.store.get(&watch.fleet_id)? else {
            return Ok(true);
        };
        if v.doc.reported_count.is_some() {
            return Ok(true);
        }
        if v.doc.lease_until_ms > wall {
            return Ok(false);
        }
        let lease_until = wall + ms(self.grace) + ms(self.lease);
        match self.store.take_over(
            &watch.fleet_id,
            &self.node,
            lease_until,
            v.seq_no,
            v.primary_term,
        )? {
            Cas::Done { .. } => {
                Counters::add(&self.counters.coordination_takeovers, 1);
                let report = Report {
                    fleet_id: watch.fleet_id.clone(),
                    message: watch.message.clone(),
                    own_repeats: 0,
                    known: v.doc.count,
                    due_mono: 0,
                };
                self.report(report);
                Ok(true)
            }
            Cas::Stale => Ok(false),
            Cas::Missing => Ok(true),
        }
    }

    /// Publishes a `Retry-After` this node's sender was given, once; the store answers the
    /// fleet's latest, which the sender then waits out.
    fn publish_pace(&mut self, p: usize) {
        if self.health.failing() {
            return;
        }
        let until = self.paces[p].pace.retry_until_ms.load(Ordering::Acquire);
        if until <= self.paces[p].published {
            return;
        }
        let name = self.paces[p].pace.name.clone();
        match self
            .store
            .set_not_before(&name, until.min(i64::MAX as u64) as i64)
        {
            Ok(fleet) => {
                let state = &mut self.paces[p];
                state.published = until;
                state
                    .pace
                    .not_before_ms
                    .fetch_max(fleet.max(0) as u64, Ordering::AcqRel);
            }
            Err(e) => self.failed(&e),
        }
    }

    /// Reads the fleet's "not before" of a destination if the last read is older than
    /// [`PACE_READ`] (or `only_if_pending` and its sender has nothing to post).
    fn read_pace(&mut self, p: usize, only_if_pending: bool) {
        if self.health.failing() {
            return;
        }
        let state = &self.paces[p];
        if only_if_pending && !state.pace.pending.load(Ordering::Acquire) {
            return;
        }
        if state.read_at.is_some_and(|at| at.elapsed() < PACE_READ) {
            return;
        }
        let name = state.pace.name.clone();
        match self.store.pace(&name) {
            Ok(pace) => {
                let state = &mut self.paces[p];
                state.read_at = Some(Instant::now());
                state
                    .pace
                    .not_before_ms
                    .fetch_max(pace.not_before_ms.max(0) as u64, Ordering::AcqRel);
            }
            Err(e) => self.failed(&e),
        }
    }

    fn pace_timers(&mut self) {
        for p in 0..self.paces.len() {
            self.publish_pace(p);
            self.read_pace(p, true);
        }
    }

    fn timers(&mut self) {
        if self.killed() {
            return;
        }
        if self.health.probe_due() {
            match self.store.ensure_index() {
                Ok(_) => self.health.answered(),
                Err(e) => self.health.failed(&e),
            }
        }
        self.pace_timers();
        let now = self.clock.now();
        let due: Vec<Report>;
        (due, self.reports) = std::mem::take(&mut self.reports)
            .into_iter()
            .partition(|r| r.due_mono <= now.mono_ms);
        for report in due {
            self.report(report);
        }
        if !self.health.failing() {
            let wall = wall_ms(now);
            let watches = std::mem::take(&mut self.watches);
            for mut w in watches {
                if w.due_wall_ms > wall || self.health.failing() {
                    self.watches.push(w);
                    continue;
                }
                match self.watch(&w, wall) {
                    Ok(true) => {}
                    Ok(false) => {
                        // Looked at again after a flush interval.
                        w.due_wall_ms = wall + ms(FLUSH_INTERVAL);
                        self.watches.push(w);
                    }
                    Err(e) => {
                        self.failed(&e);
                        self.watches.push(w);
                    }
                }
            }
            if Instant::now() >= self.next_expiry {
                self.next_expiry = Instant::now() + EXPIRY_INTERVAL;
                let wall_now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                // The later of both clocks: a test clock may stand in the past.
                if let Err(e) = self.store.delete_expired(wall.max(wall_now)) {
                    self.failed(&e);
                }
            }
        }
    }

    /// The engine stops: every report is made now, without the grace; watches end (another
    /// node still tracking the incident takes it over).
    fn finish(&mut self) {
        for report in std::mem::take(&mut self.reports) {
            self.report(report);
        }
    }
}

/// A sender's queue offered with a wait.
struct WaitingOutbox<'a>(&'a QueueOutbox);

impl crate::intent::Outbox for WaitingOutbox<'_> {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
        self.0.offer_wait(message, FORWARD_WAIT)
    }
}
