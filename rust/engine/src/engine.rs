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

use crate::alerter::{Alerter, Decision};
use crate::clock::{Clock, SystemClock};
use crate::config::{show_duration, Config};
use crate::counters::Counters;
use crate::event::{EventShape, MatchedEvent};
use crate::fingerprint::Fingerprinter;
use crate::level::Level;
use crate::log::{LogLevel, LogSink};
use crate::matcher::Matcher;
use crate::sender::{
    DryRunTransport, HttpTransport, QueueOutbox, SenderHandle, SenderReport, SenderSettings,
    Transport,
};

/// How the engine is wired; [`EngineOptions::new`] gives production values.
pub struct EngineOptions {
    pub clock: Arc<dyn Clock>,
    pub log: Arc<dyn LogSink>,
    /// `None`: post over HTTPS, or log when `dry_run`.
    pub transport: Option<Box<dyn Transport>>,
    /// Least time between posts: Slack allows about one message a second.
    pub pace: Duration,
    /// First retry backoff after a 5xx or network failure.
    pub retry_base: Duration,
    /// How often windows and summaries are checked.
    pub tick: Duration,
}

impl EngineOptions {
    pub fn new(log: Arc<dyn LogSink>) -> EngineOptions {
        EngineOptions {
            clock: Arc::new(SystemClock::new()),
            log,
            transport: None,
            pace: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            tick: Duration::from_millis(250),
        }
    }
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
    alerter: Alerter,
    /// `None` once shut down.
    outbox: Option<QueueOutbox>,
}

/// The alert engine. Cheap to share (`Arc<Engine>`); every method takes `&self`.
pub struct Engine {
    config: Arc<Config>,
    shape: Arc<EventShape>,
    matcher: Matcher,
    fingerprinter: Fingerprinter,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
    log: Arc<dyn LogSink>,
    state: Arc<Mutex<State>>,
    sender: Mutex<Option<SenderHandle>>,
    timer: Mutex<Option<(ChannelSender<()>, JoinHandle<()>)>>,
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
        let alerter = Alerter::new(Arc::clone(&config), Arc::clone(&counters), clock.now());
        let (transport, pace): (Box<dyn Transport>, Duration) = match options.transport {
            Some(t) => (t, options.pace),
            None if config.dry_run => (
                Box::new(DryRunTransport::new(Arc::clone(&options.log))),
                Duration::ZERO,
            ),
            None => {
                let url = config.webhook_url.clone().ok_or_else(|| {
                    StartError("webhook_url: is required unless `dry_run` is true".into())
                })?;
                (
                    Box::new(HttpTransport::new(url, config.timeout).map_err(StartError)?),
                    options.pace,
                )
            }
        };
        let settings = SenderSettings {
            queue_size: config.queue_size,
            timeout: config.timeout,
            max_retries: config.max_retries,
            pace,
            retry_base: options.retry_base,
            max_backoff: Duration::from_secs(60),
            redacted_url: config
                .webhook_url
                .as_ref()
                .map(|w| w.redacted())
                .unwrap_or_else(|| "(dry run)".into()),
        };
        let (sender, outbox) = SenderHandle::spawn(
            settings,
            transport,
            Arc::clone(&counters),
            alerter.undelivered(),
            Arc::clone(&options.log),
        )
        .map_err(|e| StartError(format!("could not start the sender thread: {e}")))?;
        let state = Arc::new(Mutex::new(State {
            alerter,
            outbox: Some(outbox),
        }));
        let timer = spawn_timer(Arc::clone(&state), Arc::clone(&clock), options.tick)
            .map_err(|e| StartError(format!("could not start the timer thread: {e}")))?;
        Ok(Engine {
            shape: EventShape::new(config.event_refs()),
            matcher: Matcher::new(&config.levels),
            fingerprinter: Fingerprinter::new(config.dedup_fields.clone()),
            config,
            clock,
            counters,
            log: options.log,
            state,
            sender: Mutex::new(Some(sender)),
            timer: Mutex::new(Some(timer)),
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
    /// [`Engine::event_from_values`] expects their values.
    pub fn event_refs(&self) -> &[String] {
        self.shape.refs()
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Counts events the matcher looked at.
    pub fn note_seen(&self, n: u64) {
        Counters::add(&self.counters.events, n);
    }

    /// Counts a failure that was contained (a panic caught at the FFI
    /// boundary, an unreadable value).
    pub fn record_internal_error(&self) {
        Counters::add(&self.counters.internal_errors, 1);
    }

    pub fn event_from_values(&self, values: Vec<Option<Value>>) -> MatchedEvent {
        MatchedEvent::from_values(&self.shape, values)
    }

    pub fn event_from_json(&self, event: &Value) -> MatchedEvent {
        MatchedEvent::from_json(&self.shape, event)
    }

    /// The level of a matched event, if it alerts.
    pub fn alerting_level(&self, event: &MatchedEvent) -> Option<Level> {
        use slack_alert_message::Fields;
        let value = self.config.level_refs.iter().find_map(|r| event.get(r))?;
        self.matcher.match_json(value)
    }

    /// Decides about one event and queues its message. Never blocks on
    /// Slack: at worst it waits for another caller's decision (microseconds).
    pub fn submit(&self, event: &MatchedEvent) -> Decision {
        if self.closed.load(Ordering::Acquire) {
            return Decision::Closed;
        }
        let Some(level) = self.alerting_level(event) else {
            return Decision::Ignored;
        };
        // Fingerprinting is the costly part: outside the lock.
        let fingerprint = self.fingerprinter.fingerprint(level, event);
        let mut state = self.state.lock();
        let State { alerter, outbox } = &mut *state;
        let Some(outbox) = outbox.as_mut() else {
            return Decision::Closed;
        };
        Counters::add(&self.counters.matched, 1);
        alerter.on_event(level, &fingerprint, event, self.clock.now(), outbox)
    }

    /// Runs the timers now (the timer thread does this every tick).
    pub fn tick(&self) {
        let mut state = self.state.lock();
        let State { alerter, outbox } = &mut *state;
        if let Some(outbox) = outbox.as_mut() {
            alerter.on_tick(self.clock.now(), outbox);
        }
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
    /// what is queued within `shutdown_timeout`, and stops both threads.
    /// Idempotent; a concurrent second call waits for the first.
    pub fn shutdown(&self) -> ShutdownReport {
        let mut report = self.report.lock();
        if let Some(r) = report.as_ref() {
            return r.clone();
        }
        let started = Instant::now();
        let deadline = started + self.config.shutdown_timeout;
        self.closed.store(true, Ordering::Release);
        if let Some((stop, thread)) = self.timer.lock().take() {
            drop(stop);
            let _ = thread.join();
        }
        {
            let mut state = self.state.lock();
            let State { alerter, outbox } = &mut *state;
            if let Some(mut outbox) = outbox.take() {
                alerter.on_shutdown(self.clock.now(), &mut outbox);
            }
        }
        let sender_report = match self.sender.lock().as_mut() {
            Some(sender) => sender.finish(deadline),
            None => SenderReport::default(),
        };
        let r = ShutdownReport {
            took: started.elapsed(),
            limit: self.config.shutdown_timeout,
            sent_total: self.counters.sent.load(Ordering::Relaxed),
            undelivered_messages: sender_report.abandoned_messages,
            undelivered_events: sender_report.abandoned_events,
            thread_still_running: sender_report.thread_still_running,
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

fn spawn_timer(
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    tick: Duration,
) -> std::io::Result<(ChannelSender<()>, JoinHandle<()>)> {
    let (stop_tx, stop_rx) = bounded::<()>(0);
    let thread = std::thread::Builder::new()
        .name("slack_alert-timer".into())
        .spawn(move || loop {
            match stop_rx.recv_timeout(tick) {
                Err(RecvTimeoutError::Timeout) => {
                    let mut guard = state.lock();
                    let State { alerter, outbox } = &mut *guard;
                    match outbox.as_mut() {
                        Some(outbox) => alerter.on_tick(clock.now(), outbox),
                        None => return,
                    }
                }
                // Dropping the sender stops the timer.
                _ => return,
            }
        })?;
    Ok((stop_tx, thread))
}
