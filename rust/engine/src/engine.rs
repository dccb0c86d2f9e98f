//! The running engine: the matcher on the callers' threads, the decision core
//! behind a lock, a timer thread for windows and summaries, and the sender.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, RecvTimeoutError, Sender as ChannelSender};
use parking_lot::Mutex;
use serde_json::Value;

use crate::alerter::Decision;
use crate::clock::{Clock, Now, SystemClock};
use crate::config::{show_duration, Config, DestinationKind};
use crate::contain::{Containment, EngineThread, FaultHook};
use crate::counters::{Counters, RuleCounters};
use crate::destination::app::api::{Api, DryRunApi, HttpApi};
use crate::event::{EventShape, MatchedEvent};
use crate::fleet::{outbox::FleetShared, CoordinatorHandle, FleetOutbox};
use crate::intent::{Outbox, Outgoing};
use crate::level::Level;
use crate::log::{LogLevel, LogOnce, LogSink};
use crate::matcher::{Candidacy, Matcher, Triage};
use crate::rules::{Matching, Outboxes, RuleSet};
use crate::sender::{
    self, Delivery, DryRunTransport, FleetPace, HttpTransport, QueueOutbox, RealTime, SenderClock,
    SenderHandle, SenderReport, SenderSettings, Transport,
};

/// How the engine is wired; [`EngineOptions::new`] gives production values.
pub struct EngineOptions {
    pub clock: Arc<dyn Clock>,
    pub log: Arc<dyn LogSink>,
    /// `None`: post over HTTPS, or log when `dry_run`.
    pub transport: Option<Box<dyn Transport>>,
    /// App-mode destinations' Web API (tests); `None`: HTTPS, or the log
    /// when `dry_run`.
    pub api: Option<Box<dyn Api>>,
    /// Least time between posts: Slack allows about one message a second.
    pub pace: Duration,
    /// First retry backoff after a 5xx or network failure.
    pub retry_base: Duration,
    /// How often windows and summaries are checked.
    pub tick: Duration,
    /// How the senders tell time and wait (tests record the waits instead).
    pub sender_clock: Arc<dyn SenderClock>,
    /// This node's name in the fleet's store (`coordination_hosts`); `None`: the host name,
    /// the process id and a number unique in the process.
    pub node_id: Option<String>,
}

impl EngineOptions {
    pub fn new(log: Arc<dyn LogSink>) -> EngineOptions {
        EngineOptions {
            clock: Arc::new(SystemClock::new()),
            log,
            transport: None,
            api: None,
            pace: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            tick: Duration::from_millis(250),
            sender_clock: Arc::new(RealTime),
            node_id: None,
        }
    }
}

/// A node name unique across the fleet and within the process.
fn default_node_id() -> String {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Starting the engine failed for a reason other than configuration.
///
/// Occurs when the HTTP client cannot be set up (e.g. TLS initialisation) or
/// a thread cannot be started.
#[derive(Debug)]
pub struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// What shutdown managed to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    pub took: Duration,
    pub limit: Duration,
    pub sent_total: u64,
    pub undelivered_messages: u64,
    pub undelivered_events: u64,
    pub thread_still_running: bool,
    /// Each sender's own account, in destination order (one for all in a
    /// dry run or with an injected transport).
    pub senders: Vec<SenderReport>,
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped in {:.1}s (shutdown_timeout {}); {} messages sent in total; ",
            self.took.as_secs_f32(),
            show_duration(self.limit),
            self.sent_total
        )?;
        if self.undelivered_messages == 0 && !self.thread_still_running {
            f.write_str("nothing left undelivered")
        } else {
            write!(
                f,
                "{} queued messages (accounting for {} events) could not be delivered in time",
                self.undelivered_messages, self.undelivered_events
            )?;
            if self.thread_still_running {
                f.write_str("; the sender thread was still busy")?;
            }
            Ok(())
        }
    }
}

struct State {
    rules: RuleSet,
    /// `None` once shut down.
    outboxes: Option<QueueOutboxes>,
}

/// The queue in front of one sender thread: straight, or through the fleet's coordinator.
enum Lane {
    Direct(QueueOutbox),
    Fleet(FleetOutbox),
}

impl Outbox for Lane {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
        match self {
            Lane::Direct(q) => q.offer(message),
            Lane::Fleet(f) => f.offer(message),
        }
    }

    fn has_room(&self) -> bool {
        match self {
            Lane::Direct(q) => q.has_room(),
            Lane::Fleet(f) => f.has_room(),
        }
    }
}

/// The queues in front of the sender threads, by destination.
struct QueueOutboxes {
    queues: Vec<Lane>,
    /// Destination index → index into `queues`.
    route: Vec<usize>,
    /// Where a message for a destination that does not exist goes.
    misrouted: Misrouted,
}

impl Outboxes for QueueOutboxes {
    fn outbox(&mut self, destination: usize) -> &mut dyn Outbox {
        match self
            .route
            .get(destination)
            .and_then(|&i| self.queues.get_mut(i))
        {
            Some(queue) => queue,
            None => {
                self.misrouted.destination = destination;
                &mut self.misrouted
            }
        }
    }
}

/// The outbox for a destination index the configuration does not have: a
/// bug, never a reason to post to someone else's webhook. It refuses every
/// message (the alerter counts it as dropped), counts an internal error and
/// logs the first time for each index.
struct Misrouted {
    destination: usize,
    counters: Arc<Counters>,
    log: Arc<dyn LogSink>,
    logged: LogOnce,
}

impl Outbox for Misrouted {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
        Counters::add(&self.counters.internal_errors, 1);
        if self.logged.first(&self.destination.to_string()) {
            self.log.log(
                LogLevel::Error,
                &format!(
                    "bug: rule {} sent a message to destination {}, which does not exist; \
                     it was not posted anywhere (counted in internal_errors and dropped)",
                    message.rule, self.destination
                ),
            );
        }
        Err(message)
    }

    fn has_room(&self) -> bool {
        false
    }
}

/// The alert engine. Cheap to share (`Arc<Engine>`); every method takes `&self`.
pub struct Engine {
    config: Arc<Config>,
    shape: Arc<EventShape>,
    /// The part of `shape` a decision reads (see [`Engine::submit_keys`]).
    key_shape: Arc<EventShape>,
    /// What a heartbeat carries (see [`Engine::heartbeat`]).
    heartbeat_shape: Arc<EventShape>,
    matching: Arc<Matching>,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
    rule_counters: Vec<Arc<RuleCounters>>,
    log: Arc<dyn LogSink>,
    state: Arc<Mutex<State>>,
    senders: Mutex<Vec<SenderHandle>>,
    timer: Mutex<Option<Timer>>,
    /// The fleet's coordinator, with `coordination_hosts`.
    coordinator: Mutex<Option<CoordinatorHandle>>,
    closed: AtomicBool,
    report: Mutex<Option<ShutdownReport>>,
}

impl Engine {
    /// Starts an engine that posts to Slack (or logs, with `dry_run`).
    pub fn start(config: Config, log: Arc<dyn LogSink>) -> Result<Engine, StartError> {
        Engine::start_with(config, EngineOptions::new(log))
    }

    pub fn start_with(config: Config, options: EngineOptions) -> Result<Engine, StartError> {
        let config = Arc::new(config);
        let counters = Arc::new(Counters::default());
        let clock = options.clock;
        let rules = RuleSet::new(Arc::clone(&config), Arc::clone(&counters), clock.now());
        let undelivered = rules.undelivered();
        // One sender per destination; a dry run or an injected transport
        // (tests) has one for all webhook destinations, and one for all
        // app-mode destinations.
        #[allow(clippy::type_complexity)]
        let mut deliveries: Vec<(
            Delivery,
            Duration,
            String,
            DestinationKind,
            Option<Arc<FleetPace>>,
        )> = Vec::new();
        let mut route = vec![usize::MAX; config.destinations.len()];
        let app = |d: &crate::config::Destination| d.kind == DestinationKind::SlackApp;
        let mut webhook_transport = options.transport;
        let shared_webhook = webhook_transport.is_some() || config.dry_run;
        let shared_app = options.api.is_some() || config.dry_run;
        let mut api = options.api;
        for (i, d) in config.destinations.iter().enumerate() {
            let shared = if app(d) { shared_app } else { shared_webhook };
            if shared {
                // Joins the one sender of its kind, if there is one yet.
                if let Some(first) = (0..i).find(|&j| app(&config.destinations[j]) == app(d)) {
                    route[i] = route[first];
                    continue;
                }
            }
            let delivery = if app(d) {
                match (api.take(), config.dry_run, &d.app) {
                    (Some(api), _, _) => Delivery::App(api),
                    (None, true, _) => {
                        Delivery::App(Box::new(DryRunApi::new(Arc::clone(&options.log))))
                    }
                    (None, false, Some((Some(token), url))) => {
                        let client =
                            crate::destination::client::http_client(&config.client_settings())
                                .map_err(StartError)?;
                        Delivery::App(Box::new(HttpApi::new(client, token.clone(), url.clone())))
                    }
                    (None, false, _) => {
                        return Err(StartError(
                            "slack_token: is required unless `dry_run` is true".into(),
                        ))
                    }
                }
            } else {
                match (webhook_transport.take(), config.dry_run) {
                    (Some(t), _) => Delivery::Webhook(t),
                    (None, true) => Delivery::Webhook(Box::new(DryRunTransport::for_config(
                        Arc::clone(&options.log),
                        &config,
                    ))),
                    (None, false) => {
                        let url = d.webhook.clone().ok_or_else(|| {
                            StartError("webhook_url: is required unless `dry_run` is true".into())
                        })?;
                        Delivery::Webhook(Box::new(
                            HttpTransport::new(url, &config.client_settings())
                                .map_err(StartError)?,
                        ))
                    }
                }
            };
            let (pace, name, kind) = if config.dry_run && !app(d) {
                (
                    Duration::ZERO,
                    "(dry run)".to_string(),
                    DestinationKind::Slack,
                )
            } else if shared && !app(d) {
                (options.pace, redacted(&config, i), DestinationKind::Slack)
            } else {
                (options.pace, redacted(&config, i), d.kind)
            };
            route[i] = deliveries.len();
            // A coordinated webhook's pace is the fleet's: named in the store by a hash of
            // its URL (a secret), never the URL.
            let fleet_pace = match (&config.coordination, &d.webhook) {
                (Some(_), Some(url)) if !app(d) && !config.dry_run => {
                    Some(Arc::new(FleetPace::new(format!(
                        "webhook:{:016x}",
                        crate::hash::hash_str(url.expose())
                    ))))
                }
                _ => None,
            };
            deliveries.push((delivery, pace, name, kind, fleet_pace));
        }
        let mut senders = Vec::with_capacity(deliveries.len());
        let mut queues = Vec::with_capacity(deliveries.len());
        let mut paces = Vec::with_capacity(deliveries.len());
        for (delivery, pace, redacted_url, kind, fleet_pace) in deliveries {
            paces.push(fleet_pace.clone());
            let settings = SenderSettings {
                queue_size: config.queue_size,
                timeout: config.timeout,
                max_retries: config.max_retries,
                pace,
                retry_base: options.retry_base,
                max_backoff: Duration::from_secs(60),
                redacted_url,
                kind,
                config: Arc::clone(&config),
                fleet_pace,
            };
            let (sender, outbox) = SenderHandle::spawn(
                settings,
                delivery,
                Arc::clone(&counters),
                undelivered.clone(),
                Arc::clone(&options.log),
                Arc::clone(&options.sender_clock),
            )
            .map_err(|e| StartError(format!("could not start the sender thread: {e}")))?;
            senders.push(sender);
            queues.push(outbox);
        }
        let mut coordinator = None;
        let queues: Vec<Lane> = match &config.coordination {
            None => queues.into_iter().map(Lane::Direct).collect(),
            Some(coordination) => {
                let store = coordination
                    .store()
                    .map_err(|e| StartError(e.to_string()))?;
                let node = options.node_id.clone().unwrap_or_else(default_node_id);
                let by_destination: Vec<QueueOutbox> =
                    route.iter().map(|&i| queues[i].clone()).collect();
                let paces: Vec<Option<Arc<FleetPace>>> =
                    route.iter().map(|&i| paces[i].clone()).collect();
                let shared = Arc::new(FleetShared::default());
                let handle = crate::fleet::spawn(
                    Arc::clone(&config),
                    store,
                    node,
                    by_destination,
                    paces,
                    Arc::clone(&clock),
                    Arc::clone(&counters),
                    Arc::clone(&options.log),
                    Arc::clone(&shared),
                )
                .map_err(|e| StartError(format!("could not start the coordinator thread: {e}")))?;
                let lanes = queues
                    .into_iter()
                    .enumerate()
                    .map(|(i, direct)| {
                        let edits = route.iter().position(|&q| q == i).is_some_and(|d| {
                            config.destinations[d].kind == DestinationKind::SlackApp
                        });
                        Lane::Fleet(FleetOutbox {
                            coordinator: handle.queue.clone(),
                            direct,
                            edits,
                            shared: Arc::clone(&shared),
                            counters: Arc::clone(&counters),
                        })
                    })
                    .collect();
                coordinator = Some(handle);
                lanes
            }
        };
        let matching = Arc::clone(rules.matching());
        let rule_counters = (0..config.rules.len())
            .filter_map(|i| rules.counters_of(i).cloned())
            .collect();
        let state = Arc::new(Mutex::new(State {
            rules,
            outboxes: Some(QueueOutboxes {
                queues,
                route,
                misrouted: Misrouted {
                    destination: 0,
                    counters: Arc::clone(&counters),
                    log: Arc::clone(&options.log),
                    logged: LogOnce::default(),
                },
            }),
        }));
        let timer = spawn_timer(
            Arc::clone(&state),
            Arc::clone(&clock),
            options.tick,
            Containment::new(
                "timer",
                "running windows, summaries and flatline checks",
                "what that tick had not yet queued may be missing from the next summary",
                Arc::clone(&counters),
                Arc::clone(&options.log),
            ),
        )
        .map_err(|e| StartError(format!("could not start the timer thread: {e}")))?;
        Ok(Engine {
            shape: EventShape::of_events(&config),
            key_shape: EventShape::new(config.key_refs()),
            heartbeat_shape: EventShape::new(config.heartbeat_refs()),
            matching,
            config,
            clock,
            counters,
            rule_counters,
            log: options.log,
            state,
            senders: Mutex::new(senders),
            timer: Mutex::new(Some(timer)),
            coordinator: Mutex::new(coordinator),
            closed: AtomicBool::new(false),
            report: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Field references the level is read from, tried in order.
    pub fn level_refs(&self) -> &[String] {
        &self.config.level_refs
    }

    /// Field references a matched event must carry, in the order
    /// [`Engine::event_from_values`] expects their values: what any rule
    /// decides on or shows.
    pub fn event_refs(&self) -> &[String] {
        self.shape.refs()
    }

    /// The most UTF-16 units of a string the engine keeps for each of
    /// [`Engine::event_refs`], in order: what the shim cuts to before it
    /// encodes (a stack trace in app mode is kept longer, to upload it).
    pub fn event_bounds(&self) -> Vec<usize> {
        self.shape.bounds()
    }

    /// Field references a matched event must carry for [`Engine::submit_keys`],
    /// in the order [`Engine::event_from_key_values`] expects their values:
    /// the level, the fingerprints' fields, the service, the rules'
    /// condition and `group_by` fields. A subset of [`Engine::event_refs`],
    /// in its order.
    pub fn key_refs(&self) -> &[String] {
        self.key_shape.refs()
    }

    /// Field references a heartbeat must carry, in the order
    /// [`Engine::event_from_heartbeat_values`] expects their values: the
    /// flatline rules' groups (`group_by`, else the service), the fields
    /// their conditions read, and the level fields if a flatline rule has
    /// levels. Empty without flatline rules.
    pub fn heartbeat_refs(&self) -> &[String] {
        self.heartbeat_shape.refs()
    }

    /// Matches the union of the rules' levels.
    pub fn matcher(&self) -> &Matcher {
        self.matching.matcher()
    }

    /// The batch matcher: each level's [`Candidacy`], in one table.
    pub fn triage(&self) -> &Triage {
        self.matching.triage()
    }

    /// The candidacy of every spelling of a level the engine knows, as
    /// such a level is usually written (lower, upper and title case), so
    /// that a caller may answer a batch's usual levels without asking: the
    /// engine's own answers, fixed for its life. Any other text, and a
    /// missing level, the caller sends to [`Engine::triage`].
    pub fn usual_levels(&self) -> Vec<(String, Candidacy)> {
        let mut out: Vec<(String, Candidacy)> = Vec::new();
        for (spelling, level) in crate::level::VOCABULARY {
            let mut title = spelling.to_string();
            title[..1].make_ascii_uppercase();
            for text in [spelling.to_string(), spelling.to_ascii_uppercase(), title] {
                if !out.iter().any(|(t, _)| *t == text) {
                    out.push((text, self.candidacy(Some(*level))));
                }
            }
        }
        out
    }

    /// Whether an event of `level` (`None`: none readable) is an alert
    /// candidate (hand it to [`Engine::submit`] or [`Engine::submit_keys`]),
    /// a heartbeat (hand its [`Engine::heartbeat_refs`] to
    /// [`Engine::heartbeat`]) or neither (nothing to do).
    pub fn candidacy(&self, level: Option<Level>) -> Candidacy {
        self.matching.candidacy(level)
    }

    /// The rule names, in configuration order (`default` for the simple form).
    pub fn rule_names(&self) -> Vec<String> {
        self.config.rule_names()
    }

    /// Every rule's counters, rules × [`crate::RULE_COUNTER_NAMES`],
    /// row-major in [`Engine::rule_names`] order.
    pub fn rule_counters(&self) -> Vec<u64> {
        self.rule_counters
            .iter()
            .flat_map(|c| c.snapshot())
            .collect()
    }

    /// One rule's counter by rule and counter name.
    pub fn rule_counter(&self, rule: &str, name: &str) -> Option<u64> {
        let i = self.config.rules.iter().position(|r| r.name == rule)?;
        self.rule_counters[i].get(name)
    }

    /// Counts events the matcher looked at.
    pub fn note_seen(&self, n: u64) {
        self.counters.events.add(n);
    }

    /// **Test-only** fault injection: makes the `n`-th next unit of work on
    /// `thread` panic inside it (a tick of the timer; a message on each
    /// sender), so tests can check that the engine's own threads contain
    /// panics. 0 disarms.
    #[doc(hidden)]
    pub fn inject_panic(&self, thread: EngineThread, n: u32) {
        match thread {
            EngineThread::Timer => {
                if let Some(timer) = self.timer.lock().as_ref() {
                    timer.fault.arm(n);
                }
            }
            EngineThread::Sender => {
                for sender in self.senders.lock().iter() {
                    sender.inject_panic(n);
                }
            }
        }
    }

    /// **Test-only**: the latest fleet-wide "not before" (a `Retry-After` shared through the
    /// store) this node knows of, in epoch ms; 0 when none or without `coordination_hosts`.
    #[doc(hidden)]
    pub fn fleet_not_before_ms(&self) -> u64 {
        self.coordinator
            .lock()
            .as_ref()
            .map_or(0, |c| c.not_before_ms())
    }

    /// **Test-only**: intents the fleet's coordinator has not yet handled (0 without
    /// `coordination_hosts`), for tests to wait until it caught up.
    #[doc(hidden)]
    pub fn fleet_backlog(&self) -> usize {
        self.coordinator.lock().as_ref().map_or(0, |c| c.backlog())
    }

    /// **Test-only**: simulates this node being killed: its coordinator stops at once without
    /// flushing or reporting, and the engine's incident messages go nowhere from then on.
    #[doc(hidden)]
    pub fn kill_coordination(&self) {
        if let Some(c) = self.coordinator.lock().as_ref() {
            c.kill();
        }
    }

    /// Counts a failure that was contained (a panic caught at the FFI
    /// boundary, an unreadable value).
    pub fn record_internal_error(&self) {
        Counters::add(&self.counters.internal_errors, 1);
    }

    pub fn event_from_values(&self, values: Vec<Option<Value>>) -> MatchedEvent {
        MatchedEvent::from_values(&self.shape, values)
    }

    /// An event for [`Engine::submit_keys`] from values in
    /// [`Engine::key_refs`] order.
    pub fn event_from_key_values(&self, values: Vec<Option<Value>>) -> MatchedEvent {
        MatchedEvent::from_values(&self.key_shape, values)
    }

    /// A heartbeat for [`Engine::heartbeat`] from values in
    /// [`Engine::heartbeat_refs`] order.
    pub fn event_from_heartbeat_values(&self, values: Vec<Option<Value>>) -> MatchedEvent {
        MatchedEvent::from_values(&self.heartbeat_shape, values)
    }

    /// A heartbeat for [`Engine::heartbeat`] from a whole event.
    pub fn heartbeat_from_json(&self, event: &Value) -> MatchedEvent {
        MatchedEvent::from_json(&self.heartbeat_shape, event)
    }

    pub fn event_from_json(&self, event: &Value) -> MatchedEvent {
        MatchedEvent::from_json(&self.shape, event)
    }

    /// Decides about one event over every rule and queues its messages.
    /// Never blocks on Slack: at worst it waits for another caller's
    /// decision (microseconds). [`Decision::Ignored`] when no alert rule
    /// matched.
    pub fn submit(&self, event: &MatchedEvent) -> Decision {
        if self.closed.load(Ordering::Acquire) {
            return Decision::Closed;
        }
        // Conditions and fingerprints are the costly part: outside the lock.
        let level = self.matching.level(event);
        let Some(prepared) = self.matching.prepare(level, event) else {
            return Decision::Ignored;
        };
        self.with_rules(|rules, now, outboxes| rules.apply(&prepared, event, now, outboxes))
            .unwrap_or(Decision::Closed)
    }

    /// Decides about one event from its key fields alone (an event made by
    /// [`Engine::event_from_key_values`]), exactly as [`Engine::submit`]
    /// would, unless some rule would give the event a message of its own
    /// now. Then it returns `None` having decided and counted nothing:
    /// submit the event again with every field of [`Engine::event_refs`],
    /// through `submit`.
    ///
    /// In an error storm almost every matched event is a repeat: this spares
    /// the Java shim reading and encoding the dozens of fields a message
    /// shows, for all but the few events that are posted.
    pub fn submit_keys(&self, event: &MatchedEvent) -> Option<Decision> {
        if self.closed.load(Ordering::Acquire) {
            return Some(Decision::Closed);
        }
        let level = self.matching.level(event);
        let Some(prepared) = self.matching.prepare(level, event) else {
            return Some(Decision::Ignored);
        };
        self.with_rules(|rules, now, outboxes| {
            rules.apply_unless_alerting(&prepared, event, now, outboxes)
        })
        .unwrap_or(Some(Decision::Closed))
    }

    /// Lets the flatline rules learn from an event only they take
    /// ([`Candidacy::Heartbeat`]; made by
    /// [`Engine::event_from_heartbeat_values`] or
    /// [`Engine::heartbeat_from_json`]), standing for `events` events with
    /// the same values (counted as that many): "its group logged now".
    /// Their conditions apply; a group that was silent gets its recovered
    /// message. No alert rule sees the event. Returns false once closed.
    pub fn heartbeat(&self, event: &MatchedEvent, events: u64) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let level = self.matching.level(event);
        self.with_rules(|rules, now, outboxes| rules.heartbeat(level, event, events, now, outboxes))
            .is_some()
    }

    /// Runs the timers now (the timer thread does this every tick).
    pub fn tick(&self) {
        self.with_rules(|rules, now, outboxes| rules.on_tick(now, outboxes));
    }

    /// `decide` on the rules under the engine's lock, at the clock's now,
    /// with the destinations' outboxes; `None` once shutdown took them.
    fn with_rules<R>(
        &self,
        decide: impl FnOnce(&mut RuleSet, Now, &mut dyn Outboxes) -> R,
    ) -> Option<R> {
        let mut state = self.state.lock();
        let State { rules, outboxes } = &mut *state;
        let outboxes = outboxes.as_mut()?;
        Some(decide(rules, self.clock.now(), outboxes))
    }

    /// Every counter, in [`crate::COUNTER_NAMES`] order.
    pub fn counters(&self) -> Vec<u64> {
        self.counters.snapshot()
    }

    pub fn counter(&self, name: &str) -> Option<u64> {
        self.counters.get(name)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Stops the engine: reports open windows and pending counts, delivers
    /// what is queued within `shutdown_timeout`, and stops the threads.
    /// Idempotent; a concurrent second call waits for the first.
    pub fn shutdown(&self) -> ShutdownReport {
        let mut report = self.report.lock();
        if let Some(r) = report.as_ref() {
            return r.clone();
        }
        let started = Instant::now();
        let deadline = started + self.config.shutdown_timeout;
        self.closed.store(true, Ordering::Release);
        if let Some(Timer { stop, thread, .. }) = self.timer.lock().take() {
            drop(stop);
            let _ = thread.join();
        }
        let mut senders = self.senders.lock();
        // Every sender learns the deadline first: from now on what fails
        // goes into this report rather than a summary that would come too
        // late, and no sender's wait delays telling the next one.
        for sender in senders.iter_mut() {
            sender.tell(deadline);
        }
        {
            let mut state = self.state.lock();
            let State { rules, outboxes } = &mut *state;
            if let Some(mut outboxes) = outboxes.take() {
                rules.on_shutdown(self.clock.now(), &mut outboxes);
            }
        }
        // The coordinator makes its last reports before the senders stop taking messages.
        if let Some(coordinator) = self.coordinator.lock().take() {
            coordinator.finish(deadline);
        }
        // Then they are waited for all together, until the deadline and a
        // little grace: at most shutdown_timeout + 50 ms whatever their number.
        let senders = sender::finish_all(&mut senders, deadline);
        let mut sender_report = SenderReport::default();
        for r in &senders {
            sender_report.abandoned_messages += r.abandoned_messages;
            sender_report.abandoned_events += r.abandoned_events;
            sender_report.thread_still_running |= r.thread_still_running;
        }
        let r = ShutdownReport {
            took: started.elapsed(),
            limit: self.config.shutdown_timeout,
            sent_total: self.counters.sent.load(Ordering::Relaxed),
            undelivered_messages: sender_report.abandoned_messages,
            undelivered_events: sender_report.abandoned_events,
            thread_still_running: sender_report.thread_still_running,
            senders,
        };
        let level = if r.undelivered_messages > 0 {
            LogLevel::Warn
        } else {
            LogLevel::Info
        };
        self.log.log(level, &r.to_string());
        *report = Some(r.clone());
        r
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// How destination `i` is shown in log lines (never the URL itself).
fn redacted(config: &Config, i: usize) -> String {
    config
        .destinations
        .get(i)
        .and_then(|d| d.webhook.as_ref())
        .map(|w| w.redacted())
        .unwrap_or_else(|| "(dry run)".into())
}

/// The timer thread and what stops it.
struct Timer {
    /// Dropping it stops the thread.
    stop: ChannelSender<()>,
    thread: JoinHandle<()>,
    /// Test-only: makes a chosen next tick panic.
    fault: Arc<FaultHook>,
}

/// Starts the timer thread. A tick is its unit of work: a panic in one is
/// contained (counted, logged once) and the next tick runs as usual, on
/// state that locks which do not poison leave usable.
fn spawn_timer(
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    tick: Duration,
    containment: Containment,
) -> std::io::Result<Timer> {
    let (stop_tx, stop_rx) = bounded::<()>(0);
    let fault = Arc::new(FaultHook::default());
    let thread_fault = Arc::clone(&fault);
    let thread = std::thread::Builder::new()
        .name("slack_alert-timer".into())
        .spawn(move || loop {
            match stop_rx.recv_timeout(tick) {
                Err(RecvTimeoutError::Timeout) => {
                    let mut guard = state.lock();
                    let State { rules, outboxes } = &mut *guard;
                    match outboxes.as_mut() {
                        Some(outboxes) => {
                            containment.run(|| {
                                thread_fault.strike("timer");
                                rules.on_tick(clock.now(), outboxes)
                            });
                        }
                        None => return,
                    }
                }
                // Dropping the sender stops the timer.
                _ => return,
            }
        })?;
    Ok(Timer {
        stop: stop_tx,
        thread,
        fault,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::log::BufferedLog;
    use crate::test_support::dry_run;
    use serde_json::json;
    use std::time::SystemTime;

    fn engine(extra: Value) -> (Engine, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
        let options = EngineOptions {
            clock: clock.clone(),
            ..EngineOptions::new(Arc::new(BufferedLog::new(1024)))
        };
        (Engine::start_with(dry_run(extra), options).unwrap(), clock)
    }

    fn error(message: &str) -> Value {
        json!({
            "log.level": "ERROR", "message": message, "service.name": "shop",
            "log.logger": "app.Db", "error.stack_trace": "at x\nat y", "host.name": "h1",
        })
    }

    /// Submits as the shim does: key fields first, every field only if asked.
    fn two_step(engine: &Engine, event: &Value) -> (Decision, bool) {
        let keys = MatchedEvent::from_json(&engine.key_shape, event);
        match engine.submit_keys(&keys) {
            Some(decision) => (decision, false),
            None => (engine.submit(&engine.event_from_json(event)), true),
        }
    }

    #[test]
    fn key_refs_are_what_a_decision_reads_and_no_more() {
        let (engine, _) = engine(json!({}));
        let keys = engine.key_refs();
        for r in [
            "[log.level]",
            "[level]",
            "[log.logger]",
            "[message]",
            "[error.type]",
        ] {
            assert!(keys.iter().any(|k| k == r), "{r} missing from {keys:?}");
        }
        assert!(keys.iter().any(|k| k == "[service.name]"));
        for r in [
            "[error.stack_trace]",
            "[@timestamp]",
            "[host.name]",
            "[trace.id]",
        ] {
            assert!(!keys.iter().any(|k| k == r), "{r} in {keys:?}");
        }
        let all = engine.event_refs();
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| all.iter().position(|r| r == k).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert!(
            keys.len() * 2 < all.len(),
            "{} of {}",
            keys.len(),
            all.len()
        );

        let (custom, _) = engine_with_dedup_fields();
        assert!(custom.key_refs().iter().any(|k| k == "[user][id]"));
        assert!(!custom.key_refs().iter().any(|k| k == "[message]"));
    }

    fn engine_with_dedup_fields() -> (Engine, Arc<ManualClock>) {
        engine(json!({"dedup_fields": ["[user][id]"]}))
    }

    #[test]
    fn only_events_that_get_their_own_message_are_asked_for_every_field() {
        let (engine, clock) = engine(json!({"rate_limit": 60, "burst": 2}));
        // First occurrence with a token: its message needs every field.
        assert_eq!(
            two_step(&engine, &error("disk full on 10.0.0.1")),
            (Decision::Alerted, true)
        );
        // Repeats are decided on their key fields.
        for i in 0..100 {
            let event = error(&format!("disk full on 10.0.0.{i}"));
            assert_eq!(two_step(&engine, &event), (Decision::Repeat, false));
        }
        assert_eq!(
            two_step(&engine, &error("other")),
            (Decision::Alerted, true)
        );
        // No token left: held back without its fields.
        assert_eq!(
            two_step(&engine, &error("third")),
            (Decision::RateLimited, false)
        );
        clock.advance(Duration::from_secs(5));
        engine.tick();
        // Every matched event was counted exactly once.
        assert_eq!(engine.counter("matched"), Some(103));
        assert_eq!(engine.counter("alerts"), Some(2));
        assert_eq!(engine.counter("repeats"), Some(100));
        assert_eq!(engine.counter("rate_limited"), Some(1));
    }

    #[test]
    fn two_steps_decide_exactly_as_one() {
        two_steps_decide_exactly_as_one_with(
            json!({"rate_limit": 30, "burst": 3, "dedup_window": "2s"}),
        );
    }

    #[test]
    fn two_steps_decide_exactly_as_one_over_several_rules() {
        two_steps_decide_exactly_as_one_with(json!({
            "rate_limit": 30, "burst": 3, "dedup_window": "2s",
            "rules": [
                {"name": "all"},
                {"name": "burst", "threshold": 3, "threshold_window": "2s", "group_by": "[service.name]"},
                {"name": "not-c", "exclude": {"[message]": "kind c$"}, "dedup_fields": ["[message]"]},
                {"name": "quiet", "type": "flatline", "silence": "10s"},
            ]
        }));
    }

    fn two_steps_decide_exactly_as_one_with(config: Value) {
        let (one, one_clock) = engine(config.clone());
        let (two, two_clock) = engine(config);
        let mut seed = 7u64;
        for step in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let event = match seed % 4 {
                0 => json!({"log.level": "INFO", "message": "fine"}),
                _ => error(&format!(
                    "failure kind {}",
                    ["a", "b", "c", "d", "e"][(seed >> 8) as usize % 5]
                )),
            };
            let expected = match one.matcher().match_json(&event["log.level"]) {
                Some(_) => one.submit(&one.event_from_json(&event)),
                None => Decision::Ignored,
            };
            let got = match two.matcher().match_json(&event["log.level"]) {
                Some(_) => two_step(&two, &event).0,
                None => Decision::Ignored,
            };
            assert_eq!(got, expected, "step {step}");
            if step % 10 == 0 {
                one_clock.advance(Duration::from_millis(300));
                two_clock.advance(Duration::from_millis(300));
            }
        }
        // The decision counters; `sent` and `retries` follow the sender
        // threads' timing, which differs between the two engines.
        for name in [
            "events",
            "matched",
            "alerts",
            "repeats",
            "rate_limited",
            "dropped",
            "evicted",
        ] {
            assert_eq!(one.counter(name), two.counter(name), "{name}");
        }
        assert_eq!(one.rule_counters(), two.rule_counters());
    }

    #[test]
    fn rules_are_named_and_counted_row_by_row() {
        let (engine, _) = engine(json!({
            "rules": [
                {"name": "db", "equals": {"[service.name]": "db"}},
                {"name": "quiet", "type": "flatline", "silence": "1m", "group_by": "[host.name]"},
            ]
        }));
        assert_eq!(engine.rule_names(), vec!["db", "quiet"]);
        assert_eq!(
            engine.candidacy(None),
            Candidacy::Heartbeat,
            "a flatline rule without levels"
        );
        assert!(engine.matcher().match_raw(b"debug").is_some());
        for r in ["[service.name]", "[host.name]"] {
            assert!(engine.key_refs().iter().any(|k| k == r), "{r}");
        }
        assert_eq!(
            engine.submit(
                &engine.event_from_json(&json!({"log.level": "ERROR", "service.name": "db"}))
            ),
            Decision::Alerted
        );
        assert_eq!(
            engine.submit(&engine.event_from_json(&json!({"host.name": "h1"}))),
            Decision::Ignored
        );
        let counters = engine.rule_counters();
        assert_eq!(counters.len(), 2 * crate::RULE_COUNTER_NAMES.len());
        assert_eq!(counters[0], 1, "db matched");
        assert_eq!(
            counters[crate::RULE_COUNTER_NAMES.len()],
            1,
            "quiet matched"
        );
        assert_eq!(engine.rule_counter("db", "alerts"), Some(1));
        assert_eq!(engine.counter("matched"), Some(1));
        let (simple, _) = engine_with_dedup_fields();
        assert_eq!(simple.rule_names(), vec!["default"]);
        assert_eq!(simple.candidacy(None), Candidacy::None);
    }

    #[test]
    fn a_dry_run_names_the_destination_kind_and_the_rule_never_the_url() {
        let log = Arc::new(BufferedLog::new(64));
        let config = Config::try_from(json!({
            "dry_run": true,
            "rules": [
                {"name": "db", "equals": {"[service.name]": "db"},
                 "webhook_url": "https://hooks.slack.com/services/TAAAA/BBBBB/slacksecret"},
                {"name": "payments", "destination": "json",
                 "equals": {"[service.name]": "payments"},
                 "webhook_url": "https://prod.example.com/workflows/JSONsecret",
                 "body_template": {"service": "%{[service.name]}", "text": "%{[message]}"}},
            ]
        }))
        .unwrap();
        let engine = Engine::start(config, log.clone()).unwrap();
        for (service, message) in [("db", "disk full"), ("payments", "card declined\nagain")] {
            let event = json!({"log.level": "ERROR", "service.name": service, "message": message});
            assert_eq!(
                engine.submit(&engine.event_from_json(&event)),
                Decision::Alerted
            );
        }
        engine.shutdown();
        let lines: Vec<String> = log.drain().into_iter().map(|(_, line)| line).collect();
        let slack = lines
            .iter()
            .find(|l| l.starts_with("dry run: would post to Slack (rule db):\n"))
            .unwrap_or_else(|| panic!("no Slack line for rule db in {lines:#?}"));
        assert!(slack.contains("disk full"), "{slack}");
        let prefix = "dry run: would post to JSON webhook (rule payments): ";
        let json_line = lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no JSON line for rule payments in {lines:#?}"));
        assert!(!json_line.contains('\n'), "one line: {json_line}");
        let body: Value = serde_json::from_str(&json_line[prefix.len()..]).unwrap();
        assert_eq!(body["service"], "payments");
        assert_eq!(body["text"], "card declined\nagain");
        for line in &lines {
            assert!(
                !line.contains("secret"),
                "the URL must never be logged: {line}"
            );
        }
    }

    #[test]
    fn the_usual_levels_are_answered_as_the_matcher_would() {
        let (engine, _) = engine(json!({"levels": ["ERROR", "FATAL"]}));
        let usual = engine.usual_levels();
        for text in [
            "ERROR", "error", "Error", "FATAL", "Warn", "WARNING", "info", "50", "3",
        ] {
            assert!(usual.iter().any(|(t, _)| t == text), "{text} is listed");
        }
        for (text, candidacy) in &usual {
            assert_eq!(
                *candidacy,
                engine.triage().of_raw(text.as_bytes()),
                "{text}"
            );
        }
        let alerting: Vec<&str> = usual
            .iter()
            .filter(|(_, c)| *c == Candidacy::Alert)
            .map(|(t, _)| t.as_str())
            .collect();
        assert!(
            alerting.contains(&"Error") && !alerting.contains(&"WARN"),
            "{alerting:?}"
        );
        engine.shutdown();
    }

    #[test]
    fn a_message_for_an_unknown_destination_goes_nowhere_and_is_counted_loudly() {
        // Regression: an index past the route fell back to queue 0, another
        // team's webhook.
        let log = Arc::new(BufferedLog::new(64));
        let options = EngineOptions {
            clock: Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH)),
            ..EngineOptions::new(log.clone())
        };
        let engine =
            Engine::start_with(Config::try_from(json!({"dry_run": true})).unwrap(), options)
                .unwrap();
        let message = |destination| Outgoing::test_alert(destination, 1, "for nobody");
        {
            let mut state = engine.state.lock();
            let outboxes = state.outboxes.as_mut().unwrap();
            assert!(outboxes.outbox(0).has_room());
            let unknown = outboxes.outbox(7);
            assert!(!unknown.has_room());
            assert!(unknown.offer(message(7)).is_err());
        }
        assert_eq!(engine.counter("internal_errors"), Some(1));
        engine.shutdown();
        let lines: Vec<String> = log.drain().into_iter().map(|(_, l)| l).collect();
        assert!(
            !lines.iter().any(|l| l.contains("for nobody")),
            "posted anyway: {lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("destination 7")),
            "{lines:#?}"
        );
    }

    #[test]
    fn non_alerting_levels_and_a_closed_engine_are_decided_at_once() {
        let (engine, _) = engine(json!({}));
        let info = MatchedEvent::from_json(&engine.key_shape, &json!({"log.level": "INFO"}));
        assert_eq!(engine.submit_keys(&info), Some(Decision::Ignored));
        engine.shutdown();
        let keys = MatchedEvent::from_json(&engine.key_shape, &error("late"));
        assert_eq!(engine.submit_keys(&keys), Some(Decision::Closed));
        assert_eq!(engine.counter("matched"), Some(0));
    }
}
