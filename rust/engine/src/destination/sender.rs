//! The background sender: one thread that posts queued messages to Slack.
//!
//! Submitting never blocks: the engine offers messages to a bounded queue and
//! counts what does not fit. This thread paces posts to Slack's one message a
//! second, waits on 429 as told but at least the pace and longer while 429s
//! repeat (never more than [`MAX_RETRY_AFTER`]), retries 5xx and network
//! failures with exponential backoff and jitter, gives up at once on other
//! 4xx, and logs each kind of failure once. A panic while handling a message
//! costs that message only (counted). Every wait is cut short by shutdown,
//! and every request's timeout is clipped to the shutdown deadline, so
//! shutdown is bounded.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{
    bounded, Receiver, RecvTimeoutError, Sender as ChannelSender, TrySendError,
};
use parking_lot::Mutex;

use crate::config::{Config, DestinationKind, Webhook};
use crate::contain::{Containment, FaultHook};
use crate::counters::Counters;
use crate::destination;
use crate::intent::{Outbox, Outgoing};
use crate::log::{LogLevel, LogOnce, LogSink};
use crate::slack_error::{explain, is_transient};

/// Slack's answer to one post.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// The body, e.g. `ok` or `no_service` (shortened).
    pub body: String,
}

/// Posts one webhook body. Error strings must not contain the webhook URL.
pub trait Transport: Send {
    fn post(&mut self, body: &[u8], timeout: Duration) -> Result<Reply, String>;

    /// Posts `body`, the webhook body of `message`. The sender calls this;
    /// the default ignores the message and calls [`Transport::post`]. A
    /// transport that reports what it posts (the dry run) overrides it to
    /// name the rule that sent the message.
    fn post_message(
        &mut self,
        message: &Outgoing,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Reply, String> {
        let _ = message;
        self.post(body, timeout)
    }
}

/// What a sender waits for (see [`SenderClock::sleep`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Slack's one message a second, between messages.
    Pace,
    /// After a 429: `Retry-After`, or backoff when it is missing or too short.
    RateLimited,
    /// Before retrying a 5xx or a network failure.
    Backoff,
}

/// Rings when shutdown begins: what a sleeping sender listens for.
pub struct Alarm(Receiver<()>);

impl Alarm {
    /// Waits up to `d`; returns early if the alarm rang.
    pub fn wait(&self, d: Duration) {
        match self.0.recv_timeout(d) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            // The handle is gone: nobody will ring; wait in short steps so
            // the caller keeps re-checking the deadline.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(d.min(Duration::from_millis(10)))
            }
        }
    }
}

/// The sender's time: what time it is and how it waits. [`RealTime`] in
/// production; tests inject one that records the waits the sender asked for
/// (and moves its own time on by them) instead of sleeping.
pub trait SenderClock: Send + Sync {
    fn now(&self) -> Instant;

    /// Waits `d` for `why`, or less if `alarm` rings (shutdown began: the
    /// sender then re-checks the deadline and may sleep again).
    fn sleep(&self, d: Duration, why: Wait, alarm: &Alarm);

    /// Waits up to `d` for a message on `queue` (the app sender, whose
    /// pending work is not due yet), the alarm or the time.
    fn wait_for(&self, queue: &Receiver<Outgoing>, d: Duration, alarm: &Alarm) -> Awaited {
        crossbeam_channel::select! {
            recv(queue) -> m => m.map_or(Awaited::Closed, Awaited::Message),
            recv(alarm.0) -> _ => {
                // A rung (or dropped) alarm: re-check the deadline soon.
                if alarm.0.is_empty() {
                    std::thread::sleep(d.min(Duration::from_millis(10)));
                }
                Awaited::Nothing
            }
            default(d) => Awaited::Nothing,
        }
    }
}

/// What [`SenderClock::wait_for`] waited for.
pub enum Awaited {
    Message(Outgoing),
    /// The time passed or the alarm rang.
    Nothing,
    /// The queue closed.
    Closed,
}

/// The real clock.
#[derive(Debug, Default)]
pub struct RealTime;

impl SenderClock for RealTime {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, d: Duration, _: Wait, alarm: &Alarm) {
        alarm.wait(d)
    }
}

/// A [`SenderClock`] for tests: it never sleeps, records each wait asked
/// for and moves its own time on by it. It can also hold waits of one kind
/// until the test releases them ([`RecordingClock::hold`]), to look at the
/// engine while a destination waits.
pub struct RecordingClock {
    origin: Instant,
    offset: Mutex<Duration>,
    waits: Mutex<Vec<(Wait, Duration)>>,
    held: Mutex<Option<Wait>>,
    release: (ChannelSender<()>, Receiver<()>),
}

impl Default for RecordingClock {
    fn default() -> RecordingClock {
        RecordingClock {
            origin: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
            waits: Mutex::new(Vec::new()),
            held: Mutex::new(None),
            release: crossbeam_channel::unbounded(),
        }
    }
}

impl RecordingClock {
    /// Every wait asked for so far, in order.
    pub fn waits(&self) -> Vec<(Wait, Duration)> {
        self.waits.lock().clone()
    }

    /// The waits asked for `why`, in order.
    pub fn waits_for(&self, why: Wait) -> Vec<Duration> {
        self.waits()
            .into_iter()
            .filter(|(w, _)| *w == why)
            .map(|(_, d)| d)
            .collect()
    }

    /// From now on a wait for `why` blocks (for at most a minute) until
    /// [`RecordingClock::release`].
    pub fn hold(&self, why: Wait) {
        *self.held.lock() = Some(why);
    }

    /// Lets one held wait end (and stops holding new ones).
    pub fn release(&self) {
        *self.held.lock() = None;
        let _ = self.release.0.send(());
    }
}

impl SenderClock for RecordingClock {
    /// Never waits for the queue: what is queued is taken, else the time
    /// is recorded as a wait and passes.
    fn wait_for(&self, queue: &Receiver<Outgoing>, d: Duration, alarm: &Alarm) -> Awaited {
        match queue.try_recv() {
            Ok(m) => Awaited::Message(m),
            Err(crossbeam_channel::TryRecvError::Disconnected) => Awaited::Closed,
            Err(crossbeam_channel::TryRecvError::Empty) => {
                self.sleep(d, Wait::Pace, alarm);
                Awaited::Nothing
            }
        }
    }

    fn now(&self) -> Instant {
        self.origin + Instant::now().duration_since(self.origin) + *self.offset.lock()
    }

    fn sleep(&self, d: Duration, why: Wait, _: &Alarm) {
        self.waits.lock().push((why, d));
        if *self.held.lock() == Some(why) {
            let _ = self.release.1.recv_timeout(Duration::from_secs(60));
        }
        let mut offset = self.offset.lock();
        *offset = offset.saturating_add(d);
    }
}

/// Posts over HTTPS with reqwest (rustls).
pub struct HttpTransport {
    client: reqwest::blocking::Client,
    url: Webhook,
}

impl HttpTransport {
    /// Posts to `url` with the client of `settings` (proxy, extra CAs).
    pub fn new(
        url: Webhook,
        settings: &crate::destination::client::ClientSettings,
    ) -> Result<HttpTransport, String> {
        Ok(HttpTransport {
            client: crate::destination::client::http_client(settings)?,
            url,
        })
    }
}

impl Transport for HttpTransport {
    fn post(&mut self, body: &[u8], timeout: Duration) -> Result<Reply, String> {
        let response = self
            .client
            .post(self.url.expose())
            .header("content-type", "application/json")
            .timeout(timeout)
            .body(body.to_vec())
            .send()
            .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        // Only the first few KiB: a peer answering an endless body must not
        // hold the sender (or its memory). Dropping the rest closes the
        // connection instead of reusing it.
        let mut body = Vec::new();
        let _ = response.take(MAX_REPLY_BYTES).read_to_end(&mut body);
        Ok(Reply {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body).chars().take(200).collect(),
        })
    }
}

/// Most bytes of a reply body read: Slack answers `ok` or an error word, and
/// at most 200 characters of any body are shown (an error from a JSON
/// webhook), which 4 KiB holds whatever the encoding.
pub const MAX_REPLY_BYTES: u64 = 4 * 1024;

/// Reads a `Retry-After` header (RFC 9110): whole seconds, or an HTTP date
/// (a date already past is no wait at all). Anything else, a negative or
/// fractional number, one too long for 64 bits, garbage, is treated as no
/// header. The sender clamps what this returns to [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A reqwest error in words, without the URL (reqwest puts it in Display).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// Renders messages to the log instead of posting them (`dry_run`).
///
/// Each line says what would receive the message and which rule sent it,
/// never the URL: `dry run: would post to Slack (rule db):` followed by the
/// message as a person would read it, or `dry run: would post to JSON
/// webhook (rule teams): {...}` followed by the body exactly as it would be
/// posted (compact JSON, so on one line).
pub struct DryRunTransport {
    log: Arc<dyn LogSink>,
    /// Name and destination kind of each rule, by `Outgoing::rule`.
    rules: Vec<(String, DestinationKind)>,
}

impl DryRunTransport {
    /// A dry run that names the rule of each message and shows it as its
    /// rule's destination would receive it.
    pub fn for_config(log: Arc<dyn LogSink>, config: &Config) -> DryRunTransport {
        DryRunTransport {
            log,
            rules: config
                .rules
                .iter()
                .map(|r| (r.name.clone(), r.destination_kind))
                .collect(),
        }
    }

    fn show(&self, rule: Option<usize>, body: &[u8]) {
        let (name, kind) = match rule.and_then(|i| self.rules.get(i)) {
            Some((name, kind)) => (format!(" (rule {name})"), *kind),
            None => (String::new(), DestinationKind::Slack),
        };
        let line = match kind {
            DestinationKind::Slack => {
                let text = serde_json::from_slice(body)
                    .map(|v| slack_alert_render::plain::to_text(&v))
                    .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
                format!("dry run: would post to Slack{name}:\n{text}")
            }
            DestinationKind::Json => format!(
                "dry run: would post to JSON webhook{name}: {}",
                String::from_utf8_lossy(body)
            ),
            // App-mode rules have a dry-run sender of their own.
            DestinationKind::SlackApp => format!(
                "dry run: would post to Slack{name}: {}",
                String::from_utf8_lossy(body)
            ),
        };
        self.log.log(LogLevel::Info, &line);
    }

    fn ok() -> Reply {
        Reply {
            status: 200,
            retry_after: None,
            body: "ok".into(),
        }
    }
}

impl Transport for DryRunTransport {
    fn post(&mut self, body: &[u8], _: Duration) -> Result<Reply, String> {
        self.show(None, body);
        Ok(DryRunTransport::ok())
    }

    fn post_message(
        &mut self,
        message: &Outgoing,
        body: &[u8],
        _: Duration,
    ) -> Result<Reply, String> {
        self.show(Some(message.rule), body);
        Ok(DryRunTransport::ok())
    }
}

/// How the sender thread behaves; the defaults are Slack's rules.
#[derive(Clone, Debug)]
pub struct SenderSettings {
    pub queue_size: usize,
    pub timeout: Duration,
    pub max_retries: u32,
    /// At least this long between posts (Slack: one message a second).
    pub pace: Duration,
    /// First backoff after a 5xx or network failure; doubles up to `max_backoff`.
    pub retry_base: Duration,
    pub max_backoff: Duration,
    /// Shown in log lines instead of the URL.
    pub redacted_url: String,
    /// What the destination speaks: Slack's error bodies are explained, a
    /// JSON webhook's are shown (escaped, shortened).
    pub kind: DestinationKind,
    /// What messages are rendered from: their rules' styles and templates.
    pub config: Arc<Config>,
    /// The destination's pace shared with the fleet (coordinated webhooks only).
    pub fleet_pace: Option<Arc<FleetPace>>,
}

/// A destination's pace shared with the fleet (issue 16), between its sender and the node's
/// coordinator. The sender never calls the store: the coordinator keeps `not_before_ms` fresh
/// from the store's per-destination "not before" (the latest `Retry-After` any node was
/// given), and publishes the waits this node's sender records in `retry_until_ms`. Both are
/// epoch milliseconds of the wall clock, which every node shares.
#[derive(Debug, Default)]
pub struct FleetPace {
    /// The destination's name in the store: a hash of its URL, never the URL.
    pub name: String,
    /// No post before then (0: none known).
    pub not_before_ms: AtomicU64,
    /// The latest wait a 429 told this node's sender, for the coordinator to publish.
    pub retry_until_ms: AtomicU64,
    /// The sender is handling a message: the coordinator keeps `not_before_ms` fresh.
    pub pending: AtomicBool,
}

impl FleetPace {
    pub fn new(name: String) -> FleetPace {
        FleetPace {
            name,
            ..FleetPace::default()
        }
    }
}

/// The wall clock in epoch milliseconds.
pub(crate) fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// State shared between the engine and the sender thread.
pub(crate) struct Shared {
    pub(crate) counters: Arc<Counters>,
    /// Per rule (indexed by `Outgoing::rule`): events in messages that
    /// could not be delivered, for that rule's next summary.
    undelivered: Vec<Arc<AtomicU64>>,
    pub(crate) log: Arc<dyn LogSink>,
    pub(crate) log_once: LogOnce,
    pub(crate) deadline: Mutex<Option<Instant>>,
    /// Test-only: makes a chosen next message's handling panic.
    pub(crate) fault: FaultHook,
    /// Contains a panic while handling one message.
    pub(crate) containment: Containment,
    /// Messages (and the events they carried) abandoned at the shutdown deadline.
    abandoned_messages: AtomicU64,
    abandoned_events: AtomicU64,
    /// Events carried by the message being posted right now (0 when idle):
    /// lost if the thread is still posting when shutdown gives up on it.
    pub(crate) in_flight_events: AtomicU64,
    pub(crate) in_flight: AtomicBool,
}

impl Shared {
    pub(crate) fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock()
    }

    /// Counts a message Slack did not take. Before shutdown its events go
    /// to its rule's next summary; once shutdown began (and has already
    /// posted the last summaries) into the shutdown report. Decided under
    /// the deadline's lock, so that none slips between the two.
    fn failed(&self, message: &Outgoing) {
        self.failed_counts(message.rule, message.events, message.undelivered);
    }

    /// [`Shared::failed`] for what a message of `rule` accounted for.
    pub(crate) fn failed_counts(&self, rule: usize, events: u64, undelivered: u64) {
        let deadline = self.deadline.lock();
        if deadline.is_some() {
            self.abandon_counts(1, events + undelivered);
            return;
        }
        Counters::add(&self.counters.send_failures, 1);
        // A failed summary hands back both its events and the failures it
        // was reporting.
        if let Some(u) = self.undelivered.get(rule) {
            u.fetch_add(events + undelivered, Ordering::Relaxed);
        }
    }

    /// Counts a message given up on at the shutdown deadline. Nothing can
    /// report it to Slack any more: the shutdown report logs it instead.
    fn abandon(&self, message: &Outgoing) {
        self.abandon_counts(1, message.events + message.undelivered);
    }

    pub(crate) fn abandon_counts(&self, messages: u64, events: u64) {
        self.abandoned_messages
            .fetch_add(messages, Ordering::Relaxed);
        self.abandoned_events.fetch_add(events, Ordering::Relaxed);
        Counters::add(&self.counters.send_failures, messages);
    }
}

#[cfg(test)]
impl Shared {
    /// A sender's shared state without its thread, for tests that run a
    /// worker on their own thread.
    pub(crate) fn for_test(
        counters: Arc<Counters>,
        undelivered: Vec<Arc<AtomicU64>>,
        log: Arc<dyn LogSink>,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            counters: Arc::clone(&counters),
            undelivered,
            log: Arc::clone(&log),
            log_once: LogOnce::default(),
            deadline: Mutex::new(None),
            fault: FaultHook::default(),
            containment: Containment::new("sender", "a test", "counted", counters, log),
            abandoned_messages: AtomicU64::new(0),
            abandoned_events: AtomicU64::new(0),
            in_flight_events: AtomicU64::new(0),
            in_flight: AtomicBool::new(false),
        })
    }

    pub(crate) fn abandoned(&self) -> (u64, u64) {
        (
            self.abandoned_messages.load(Ordering::Relaxed),
            self.abandoned_events.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
impl Alarm {
    /// An alarm that never rings.
    pub(crate) fn never() -> (Alarm, ChannelSender<()>) {
        let (tx, rx) = bounded(1);
        (Alarm(rx), tx)
    }
}

/// How a sender delivers: a webhook (one post per message) or Slack's
/// Web API (app mode: one message per incident, kept current).
pub enum Delivery {
    Webhook(Box<dyn Transport>),
    App(Box<dyn crate::destination::app::api::Api>),
}

/// The engine's end of the sender: offer messages, then finish.
pub struct SenderHandle {
    queue: Option<ChannelSender<Outgoing>>,
    /// The queue's other end, to count what a thread stuck past the
    /// deadline never reached.
    queued: Receiver<Outgoing>,
    wake: ChannelSender<()>,
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    /// When [`SenderHandle::tell`] was called.
    told: Option<Instant>,
}

/// The outbox in front of the sender thread.
#[derive(Clone)]
pub struct QueueOutbox(ChannelSender<Outgoing>);

impl QueueOutbox {
    /// Offers `message`, waiting up to `wait` for room: for the fleet's coordinator, which may
    /// wait (it is no pipeline worker) rather than drop what it already accepted.
    pub(crate) fn offer_wait(&self, message: Outgoing, wait: Duration) -> Result<(), Outgoing> {
        self.0
            .send_timeout(message, wait)
            .map_err(|e| e.into_inner())
    }
}

impl Outbox for QueueOutbox {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
        self.0.try_send(message).map_err(|e| match e {
            TrySendError::Full(m) | TrySendError::Disconnected(m) => m,
        })
    }

    fn has_room(&self) -> bool {
        !self.0.is_full()
    }
}

/// What a finished sender left behind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderReport {
    pub abandoned_messages: u64,
    pub abandoned_events: u64,
    /// The thread was still busy at the deadline (it stops within one
    /// request timeout clipped to the deadline, so this should not happen).
    pub thread_still_running: bool,
    /// When the sender was told the shutdown deadline.
    pub told: Option<Instant>,
    /// When shutdown began waiting for its thread. Every sender of an
    /// engine is told before any is waited for, so that one stuck sender
    /// cannot delay telling the next.
    pub waited: Option<Instant>,
}

impl SenderHandle {
    /// Starts the sender thread.
    pub fn spawn(
        settings: SenderSettings,
        delivery: Delivery,
        counters: Arc<Counters>,
        undelivered: Vec<Arc<AtomicU64>>,
        log: Arc<dyn LogSink>,
        clock: Arc<dyn SenderClock>,
    ) -> std::io::Result<(SenderHandle, QueueOutbox)> {
        let (queue_tx, queue_rx) = bounded::<Outgoing>(settings.queue_size);
        let queued = queue_rx.clone();
        let (wake_tx, wake_rx) = bounded::<()>(1);
        let (done_tx, done_rx) = bounded::<()>(1);
        let shared = Arc::new(Shared {
            counters: Arc::clone(&counters),
            undelivered,
            log: Arc::clone(&log),
            log_once: LogOnce::default(),
            deadline: Mutex::new(None),
            fault: FaultHook::default(),
            containment: Containment::new(
                "sender",
                "handling a message",
                "the message is counted as undelivered (send_failures) and reported in its \
                 rule's next summary",
                Arc::clone(&counters),
                Arc::clone(&log),
            ),
            abandoned_messages: AtomicU64::new(0),
            abandoned_events: AtomicU64::new(0),
            in_flight_events: AtomicU64::new(0),
            in_flight: AtomicBool::new(false),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("slack_alert-sender".into())
            .spawn(move || {
                match delivery {
                    Delivery::Webhook(mut transport) => {
                        let mut worker = Worker {
                            settings,
                            shared: thread_shared,
                            alarm: Alarm(wake_rx),
                            clock,
                            last_post: None,
                            failing_since: None,
                            failures_while_down: 0,
                            rate_limited_streak: 0,
                            rng: seed(),
                        };
                        worker.run(&queue_rx, transport.as_mut());
                    }
                    Delivery::App(mut api) => {
                        let shared = Arc::clone(&thread_shared);
                        let mut worker = crate::destination::app::AppWorker::new(
                            settings,
                            thread_shared,
                            Alarm(wake_rx),
                            clock,
                            seed(),
                        );
                        // The loop contains each intent and action; a panic
                        // outside them (a bug in the loop itself) must not
                        // end the thread silently either.
                        let _ = shared
                            .containment
                            .run(|| worker.run(&queue_rx, api.as_mut()));
                    }
                }
                drop(done_tx);
            })?;
        let outbox = QueueOutbox(queue_tx.clone());
        Ok((
            SenderHandle {
                queue: Some(queue_tx),
                queued,
                wake: wake_tx,
                done: done_rx,
                thread: Some(thread),
                shared,
                told: None,
            },
            outbox,
        ))
    }

    /// **Test-only** fault injection: the `n`-th next message this sender
    /// handles panics inside its thread (0 disarms).
    #[doc(hidden)]
    pub fn inject_panic(&self, n: u32) {
        self.shared.fault.arm(n);
    }

    /// Tells the thread the shutdown deadline: it delivers what is queued
    /// until then, cuts every wait short at it and clips every request to
    /// it. Every clone of the outbox must be dropped too, or the thread keeps
    /// waiting for more until the deadline. Returns at once.
    pub fn tell(&mut self, deadline: Instant) {
        if self.told.is_some() {
            return;
        }
        *self.shared.deadline.lock() = Some(deadline);
        self.told = Some(Instant::now());
        self.queue.take();
        let _ = self.wake.try_send(());
    }

    /// Delivers what is queued until `deadline`, then stops the thread:
    /// [`SenderHandle::tell`], then [`SenderHandle::wait`] until the deadline
    /// and [`SHUTDOWN_GRACE`].
    pub fn finish(&mut self, deadline: Instant) -> SenderReport {
        self.tell(deadline);
        self.wait(deadline + SHUTDOWN_GRACE)
    }

    /// Waits until `until` for the thread told by [`SenderHandle::tell`] to
    /// end, then reports what it left undelivered.
    pub fn wait(&mut self, until: Instant) -> SenderReport {
        let waited = Some(Instant::now());
        if self.told.is_none() {
            self.tell(until);
        }
        let finished = !matches!(
            self.done.recv_deadline(until),
            Err(RecvTimeoutError::Timeout)
        );
        if finished {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        } else {
            // The thread is stuck in a request that outlived the deadline:
            // what is still queued behind it can no longer go out. Let the
            // thread go (it ends when that request times out), so that
            // dropping this handle does not wait for it a second time.
            while let Ok(message) = self.queued.try_recv() {
                self.shared.abandon(&message);
            }
            self.thread.take();
        }
        let mut report = SenderReport {
            abandoned_messages: self.shared.abandoned_messages.load(Ordering::Relaxed),
            abandoned_events: self.shared.abandoned_events.load(Ordering::Relaxed),
            thread_still_running: !finished,
            told: self.told,
            waited,
        };
        if !finished && self.shared.in_flight.load(Ordering::Acquire) {
            // A request that outlived the deadline (Slack hung before
            // shutdown clipped the timeout): count what it carried.
            report.abandoned_messages += 1;
            report.abandoned_events += self.shared.in_flight_events.load(Ordering::Relaxed);
        }
        report
    }
}

impl Drop for SenderHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.finish(Instant::now());
        }
    }
}

/// The longest wait a `Retry-After` can impose. Slack's limits count per
/// second or per minute, so a real answer asks for seconds, a minute at
/// most; a longer one is a broken header or proxy. 15 minutes never cuts a
/// real instruction short yet keeps one bad header from silencing a
/// destination for longer (meanwhile alerts fold into its summary); if
/// Slack still answers 429 afterwards, the wait starts again.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// How long shutdown waits past the deadline for the sender threads to end,
/// all of them together: their last requests were clipped to the deadline
/// and need only to return. Within the 100 ms that shutdown may overrun
/// `shutdown_timeout`.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(50);

/// Tells every sender the deadline, then waits for all of them together
/// until the deadline and [`SHUTDOWN_GRACE`]: a stuck sender costs no
/// other one its time, so shutdown is bounded whatever their number.
pub fn finish_all(senders: &mut [SenderHandle], deadline: Instant) -> Vec<SenderReport> {
    for sender in senders.iter_mut() {
        sender.tell(deadline);
    }
    let until = deadline + SHUTDOWN_GRACE;
    senders.iter_mut().map(|s| s.wait(until)).collect()
}

struct Worker {
    settings: SenderSettings,
    shared: Arc<Shared>,
    alarm: Alarm,
    clock: Arc<dyn SenderClock>,
    last_post: Option<Instant>,
    failing_since: Option<Instant>,
    failures_while_down: u64,
    /// 429s in a row, across messages: each waits twice as long as the last.
    rate_limited_streak: u32,
    rng: u64,
}

enum Outcome {
    Delivered,
    Failed,
    Abandoned,
}

impl Worker {
    fn run(&mut self, queue: &Receiver<Outgoing>, transport: &mut dyn Transport) {
        let shared = Arc::clone(&self.shared);
        while let Ok(message) = queue.recv() {
            // One message is the unit of work: a panic while handling it
            // (a bug here or in the transport) costs that message, counted
            // as failed, and the thread goes on with the next.
            let outcome = shared
                .containment
                .run(|| self.handle(&message, transport))
                .unwrap_or(Outcome::Failed);
            shared.in_flight.store(false, Ordering::Release);
            match outcome {
                Outcome::Delivered => Counters::add(&shared.counters.sent, 1),
                Outcome::Failed => shared.failed(&message),
                Outcome::Abandoned => shared.abandon(&message),
            }
        }
    }

    /// Paces, then delivers one message.
    fn handle(&mut self, message: &Outgoing, transport: &mut dyn Transport) -> Outcome {
        if self.past_deadline() {
            return Outcome::Abandoned;
        }
        if let Some(last) = self.last_post {
            let since = self.clock.now().saturating_duration_since(last);
            self.sleep(self.settings.pace.saturating_sub(since), Wait::Pace);
            if self.past_deadline() {
                return Outcome::Abandoned;
            }
        }
        self.shared
            .in_flight_events
            .store(message.events + message.undelivered, Ordering::Relaxed);
        self.shared.in_flight.store(true, Ordering::Release);
        self.shared.fault.strike("sender");
        if let Some(pace) = &self.settings.fleet_pace {
            pace.pending.store(true, Ordering::Release);
        }
        let outcome = self.deliver(message, transport);
        if let Some(pace) = &self.settings.fleet_pace {
            pace.pending.store(false, Ordering::Release);
        }
        outcome
    }

    /// Waits out the fleet's "not before" (a `Retry-After` another node was given), looking
    /// again each second (the coordinator may learn of a later one meanwhile).
    fn wait_for_fleet(&self) {
        let Some(pace) = self.settings.fleet_pace.clone() else {
            return;
        };
        loop {
            let not_before = pace.not_before_ms.load(Ordering::Acquire);
            let now = epoch_ms();
            if not_before <= now || self.past_deadline() {
                return;
            }
            let left = Duration::from_millis(not_before - now).min(Duration::from_secs(1));
            self.sleep(left, Wait::RateLimited);
        }
    }

    fn deliver(&mut self, message: &Outgoing, transport: &mut dyn Transport) -> Outcome {
        // Rendered here, on this thread, once for every attempt: the engine's
        // lock is not held, and a renderer's panic costs this message only
        // (contained by `run`, counted as undelivered).
        let payload = destination::render(&self.settings.config, message);
        let body = match serde_json::to_vec(&payload) {
            Ok(b) => b,
            Err(_) => return Outcome::Failed,
        };
        let mut attempts = 0u32;
        let mut backoff = self.settings.retry_base;
        loop {
            self.wait_for_fleet();
            let Some(timeout) = self.request_timeout() else {
                return Outcome::Abandoned;
            };
            let answer = transport.post_message(message, &body, timeout);
            // Pace from when Slack answered, so request latency cannot bunch
            // two posts into one of Slack's seconds.
            self.last_post = Some(self.clock.now());
            let (transient, problem) = match answer {
                Ok(r) if (200..300).contains(&r.status) => {
                    self.rate_limited_streak = 0;
                    self.recovered();
                    return Outcome::Delivered;
                }
                Ok(r) if r.status == 429 => {
                    // Not counted against max_retries: Slack told us to come back.
                    Counters::add(&self.shared.counters.retries, 1);
                    let wait = self.rate_limited_wait(r.retry_after);
                    if let Some(pace) = &self.settings.fleet_pace {
                        // What Slack told this node, for the fleet (the coordinator
                        // publishes it); the longest-known wait counts here too.
                        let until = epoch_ms().saturating_add(wait.as_millis() as u64);
                        pace.retry_until_ms.fetch_max(until, Ordering::AcqRel);
                    }
                    self.log_once(
                        "429",
                        LogLevel::Warn,
                        format!(
                            "{} is rate limiting {} (429); waiting {:.1}s and retrying (at least \
                             the pace, longer while 429s repeat, Retry-After honoured up to \
                             15 minutes); alerts over the limit are summarised",
                            self.destination_name(),
                            self.settings.redacted_url,
                            wait.as_secs_f32()
                        ),
                    );
                    self.sleep(wait, Wait::RateLimited);
                    if self.past_deadline() {
                        return Outcome::Abandoned;
                    }
                    continue;
                }
                Ok(r) => {
                    let error = r.body.trim().to_string();
                    let problem = match self.settings.kind {
                        DestinationKind::Slack | DestinationKind::SlackApp => {
                            format!("{} {}: {}", r.status, error, explain(r.status, &error))
                        }
                        // Not Slack: its body means nothing to `explain`;
                        // show it, escaped and short, for the operator.
                        DestinationKind::Json => format!(
                            "HTTP {}: {}",
                            r.status,
                            error.escape_debug().take(200).collect::<String>()
                        ),
                    };
                    (is_transient(r.status), problem)
                }
                Err(e) => (true, e),
            };
            let now = self.clock.now();
            self.failing_since.get_or_insert(now);
            if !transient {
                self.failures_while_down += 1;
                self.log_once(
                    &problem,
                    LogLevel::Error,
                    format!(
                        "{} rejected a message to {}: {problem}. Not retrying; further \
                         failures like this are counted (send_failures), not logged",
                        self.destination_name(),
                        self.settings.redacted_url
                    ),
                );
                return Outcome::Failed;
            }
            if attempts >= self.settings.max_retries {
                self.failures_while_down += 1;
                self.log_once(
                    &format!("gave up: {problem}"),
                    LogLevel::Error,
                    format!(
                        "could not post to {} after {} retries: {problem}. The alert is counted \
                         in the next summary; further failures like this are counted, not logged",
                        self.settings.redacted_url, attempts
                    ),
                );
                return Outcome::Failed;
            }
            attempts += 1;
            Counters::add(&self.shared.counters.retries, 1);
            let jittered = self.jitter(backoff);
            backoff = backoff.saturating_mul(2).min(self.settings.max_backoff);
            self.sleep(jittered, Wait::Backoff);
            if self.past_deadline() {
                return Outcome::Abandoned;
            }
        }
    }

    fn destination_name(&self) -> &'static str {
        match self.settings.kind {
            DestinationKind::Slack | DestinationKind::SlackApp => "Slack",
            DestinationKind::Json => "The JSON webhook",
        }
    }

    fn recovered(&mut self) {
        if let Some(since) = self.failing_since.take() {
            if self.failures_while_down > 0 {
                self.shared.log.log(
                    LogLevel::Info,
                    &format!(
                        "Slack is accepting messages again after {:.0}s; {} messages failed meanwhile",
                        self.clock.now().saturating_duration_since(since).as_secs_f32(),
                        self.failures_while_down
                    ),
                );
            }
            self.failures_while_down = 0;
            self.shared.log_once.reset();
        }
    }

    fn log_once(&self, key: &str, level: LogLevel, line: String) {
        if self.shared.log_once.first(key) {
            self.shared.log.log(level, &line);
        }
    }

    fn past_deadline(&self) -> bool {
        self.shared
            .deadline()
            .is_some_and(|d| self.clock.now() >= d)
    }

    /// The request timeout, clipped to the shutdown deadline; `None` once
    /// the deadline has passed.
    fn request_timeout(&self) -> Option<Duration> {
        match self.shared.deadline() {
            None => Some(self.settings.timeout),
            Some(d) => {
                let left = d.saturating_duration_since(self.clock.now());
                (!left.is_zero()).then(|| self.settings.timeout.min(left))
            }
        }
    }

    /// Sleeps, but wakes early when shutdown starts and never past its deadline.
    fn sleep(&self, d: Duration, why: Wait) {
        // Whoever asked, never longer than the longest Retry-After, and
        // never an `Instant` overflow.
        let d = d.min(MAX_RETRY_AFTER);
        if d.is_zero() {
            return;
        }
        let mut now = self.clock.now();
        let until = now.checked_add(d).unwrap_or(now);
        loop {
            let mut left = until.saturating_duration_since(now);
            if let Some(deadline) = self.shared.deadline() {
                left = left.min(deadline.saturating_duration_since(now));
            }
            if left.is_zero() {
                return;
            }
            // Returns early when shutdown starts: re-check against its deadline.
            self.clock.sleep(left, why, &self.alarm);
            now = self.clock.now();
        }
    }

    /// How long to wait after a 429: what `Retry-After` asked (at most
    /// [`MAX_RETRY_AFTER`]), but never less than the backoff, which starts
    /// at the pace (Slack's one post a second) and doubles with every 429 in
    /// a row up to `max_backoff`, plus up to half again of jitter so that
    /// senders limited together do not come back together.
    fn rate_limited_wait(&mut self, told: Option<Duration>) -> Duration {
        self.rate_limited_streak = self.rate_limited_streak.saturating_add(1);
        let base = self.settings.pace.max(self.settings.retry_base);
        let doublings = (self.rate_limited_streak - 1).min(31);
        let step = base
            .saturating_mul(1 << doublings)
            .min(self.settings.max_backoff.max(base));
        let backoff = step.saturating_add(self.jitter(step).saturating_sub(step / 2));
        told.unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER)
            .max(backoff)
    }

    /// A duration between half and all of `d` (xorshift; no need for a crate).
    fn jitter(&mut self, d: Duration) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let fraction = 0.5 + (self.rng % 1000) as f64 / 2000.0;
        d.mul_f64(fraction)
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9e37_79b9);
    nanos | 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::BufferedLog;
    use std::collections::VecDeque;

    /// Answers from a script, records what it was sent.
    struct Scripted {
        answers: Arc<Mutex<VecDeque<Result<Reply, String>>>>,
        posts: Arc<AtomicU64>,
    }

    impl Transport for Scripted {
        fn post(&mut self, _: &[u8], _: Duration) -> Result<Reply, String> {
            self.posts.fetch_add(1, Ordering::SeqCst);
            self.answers
                .lock()
                .pop_front()
                .unwrap_or(Ok(reply(200, None, "ok")))
        }
    }

    fn reply(status: u16, retry_after: Option<u64>, body: &str) -> Reply {
        Reply {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            body: body.into(),
        }
    }

    struct Rig {
        handle: SenderHandle,
        outbox: QueueOutbox,
        counters: Arc<Counters>,
        undelivered: Arc<AtomicU64>,
        log: Arc<BufferedLog>,
        posts: Arc<AtomicU64>,
    }

    /// A sender that posts without pacing and backs off for milliseconds.
    fn fast_settings(max_retries: u32) -> SenderSettings {
        SenderSettings {
            queue_size: 4,
            timeout: Duration::from_secs(1),
            max_retries,
            pace: Duration::ZERO,
            retry_base: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
            redacted_url: "https://hooks.slack.com/services/***".into(),
            kind: DestinationKind::Slack,
            config: test_config(),
            fleet_pace: None,
        }
    }

    /// A sender of `settings` on `clock` whose posts get `answers` in turn.
    fn spawned(
        answers: Vec<Result<Reply, String>>,
        settings: SenderSettings,
        clock: Arc<dyn SenderClock>,
    ) -> Rig {
        let counters = Arc::new(Counters::default());
        let undelivered = Arc::new(AtomicU64::new(0));
        let log = Arc::new(BufferedLog::new(100));
        let posts = Arc::new(AtomicU64::new(0));
        let transport = Scripted {
            answers: Arc::new(Mutex::new(answers.into())),
            posts: Arc::clone(&posts),
        };
        let (handle, outbox) = SenderHandle::spawn(
            settings,
            Delivery::Webhook(Box::new(transport)),
            Arc::clone(&counters),
            vec![Arc::clone(&undelivered)],
            log.clone(),
            clock,
        )
        .unwrap();
        Rig {
            handle,
            outbox,
            counters,
            undelivered,
            log,
            posts,
        }
    }

    fn rig(answers: Vec<Result<Reply, String>>, max_retries: u32) -> Rig {
        spawned(answers, fast_settings(max_retries), Arc::new(RealTime))
    }

    fn alert(events: u64) -> Outgoing {
        Outgoing::test_alert(0, events, "x")
    }

    fn test_config() -> Arc<Config> {
        Arc::new(Config::try_from(serde_json::json!({"dry_run": true})).unwrap())
    }

    /// Polls `condition` for up to 30 s; panics if it never holds.
    fn wait_for(mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !condition() {
            assert!(Instant::now() < deadline, "the condition never held");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn finish(mut r: Rig) -> (Rig, SenderReport) {
        drop(std::mem::replace(&mut r.outbox, QueueOutbox(bounded(1).0)));
        let report = r.handle.finish(Instant::now() + Duration::from_secs(5));
        (r, report)
    }

    #[test]
    fn retries_5xx_then_delivers() {
        let mut r = rig(
            vec![
                Ok(reply(500, None, "rollup_error")),
                Err("could not connect".into()),
            ],
            3,
        );
        r.outbox.offer(alert(1)).unwrap();
        let (r, report) = finish(r);
        assert_eq!(
            (report.abandoned_messages, report.thread_still_running),
            (0, false)
        );
        assert_eq!(r.counters.sent.load(Ordering::Relaxed), 1);
        assert_eq!(r.counters.retries.load(Ordering::Relaxed), 2);
        assert_eq!(r.posts.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn gives_up_after_max_retries_and_reports_the_events() {
        let answers = (0..10)
            .map(|_| Ok(reply(503, None, "unavailable")))
            .collect();
        let mut r = rig(answers, 2);
        r.outbox.offer(alert(5)).unwrap();
        // Given up on before shutdown: for the next summary, not the report.
        wait_for(|| r.counters.send_failures.load(Ordering::Relaxed) == 1);
        let (r, _) = finish(r);
        assert_eq!(r.posts.load(Ordering::SeqCst), 3);
        assert_eq!(r.counters.send_failures.load(Ordering::Relaxed), 1);
        assert_eq!(r.undelivered.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn permanent_errors_are_not_retried_and_are_logged_once() {
        let answers = (0..3).map(|_| Ok(reply(404, None, "no_service"))).collect();
        let mut r = rig(answers, 3);
        for _ in 0..3 {
            r.outbox.offer(alert(1)).unwrap();
        }
        let (r, _) = finish(r);
        assert_eq!(r.posts.load(Ordering::SeqCst), 3);
        assert_eq!(r.counters.send_failures.load(Ordering::Relaxed), 3);
        let lines = r.log.drain();
        let errors: Vec<_> = lines
            .iter()
            .filter(|(l, _)| *l == LogLevel::Error)
            .collect();
        assert_eq!(errors.len(), 1, "{lines:?}");
        assert!(errors[0]
            .1
            .contains("404 no_service: the webhook was revoked or mistyped"));
        assert!(errors[0].1.contains("hooks.slack.com/services/***"));
    }

    /// A sender at Slack's pace (1 s, backoff from 1 s up to 60 s) on a
    /// recording clock: no test waits for real.
    fn paced_rig(answers: Vec<Result<Reply, String>>) -> (Rig, Arc<RecordingClock>) {
        let clock = Arc::new(RecordingClock::default());
        let settings = SenderSettings {
            pace: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            ..fast_settings(0)
        };
        (spawned(answers, settings, clock.clone()), clock)
    }

    #[test]
    fn a_429_is_never_followed_by_a_post_sooner_than_the_pace_and_repeats_back_off() {
        // Regression: `Retry-After: 0` was obeyed literally, 2,292 posts in 4 s.
        let mut answers = vec![Ok(reply(429, Some(0), "rate_limited")); 9];
        answers.push(Ok(reply(429, None, "rate_limited")));
        let (mut r, clock) = paced_rig(answers);
        r.outbox.offer(alert(1)).unwrap();
        wait_for(|| r.counters.sent.load(Ordering::Relaxed) == 1);
        let (r, _) = finish(r);
        // Not counted against max_retries (0): Slack said when to come back.
        assert_eq!(r.counters.sent.load(Ordering::Relaxed), 1);
        assert_eq!(r.counters.retries.load(Ordering::Relaxed), 10);
        let waits = clock.waits_for(Wait::RateLimited);
        assert_eq!(waits.len(), 10, "{:?}", clock.waits());
        for (i, wait) in waits.iter().enumerate() {
            // 1 s, 2 s, 4 s ... doubling up to 60 s, plus up to half of that.
            let step = Duration::from_secs((1u64 << i).min(60));
            assert!(
                *wait >= step && *wait <= step.mul_f64(1.5),
                "wait {i} after a 429 was {wait:?}, expected {step:?} to 1.5 × that: {waits:?}"
            );
        }
        // A later success starts the backoff afresh.
        assert_eq!(r.posts.load(Ordering::SeqCst), 11);
    }

    #[test]
    fn a_longer_retry_after_is_honoured_and_a_huge_one_is_clamped() {
        // Regression: `Retry-After: 18446744073709551615` overflowed
        // `Instant + Duration` and killed the sender thread.
        let (mut r, clock) = paced_rig(vec![
            Ok(reply(429, Some(30), "rate_limited")),
            Ok(reply(429, Some(u64::MAX), "rate_limited")),
        ]);
        r.outbox.offer(alert(1)).unwrap();
        wait_for(|| r.counters.sent.load(Ordering::Relaxed) == 1);
        let (r, report) = finish(r);
        assert_eq!(r.counters.sent.load(Ordering::Relaxed), 1, "{report:?}");
        assert_eq!(
            clock.waits_for(Wait::RateLimited),
            vec![Duration::from_secs(30), MAX_RETRY_AFTER]
        );
    }

    #[test]
    fn a_message_that_fails_after_shutdown_began_is_in_the_shutdown_report() {
        // Regression: it went to the undelivered count for a next summary
        // that shutdown had already posted, and the report said nothing
        // was left undelivered.
        // Slack answers 404 only once the sender was told the deadline.
        struct AnswersWhenTold(Receiver<()>, Arc<AtomicU64>);
        impl Transport for AnswersWhenTold {
            fn post(&mut self, _: &[u8], _: Duration) -> Result<Reply, String> {
                self.1.fetch_add(1, Ordering::SeqCst);
                let _ = self.0.recv_timeout(Duration::from_secs(30));
                Ok(reply(404, None, "no_service"))
            }
        }
        let (told_tx, told_rx) = bounded(1);
        let posts = Arc::new(AtomicU64::new(0));
        let counters: Arc<Counters> = Arc::default();
        let undelivered = Arc::new(AtomicU64::new(0));
        let (mut handle, mut outbox) = spawn_gated(
            AnswersWhenTold(told_rx, Arc::clone(&posts)),
            2,
            Arc::clone(&counters),
            Arc::clone(&undelivered),
        );
        outbox.offer(alert(3)).unwrap();
        wait_for(|| posts.load(Ordering::SeqCst) == 1);
        drop(outbox);
        handle.tell(Instant::now() + Duration::from_secs(30));
        told_tx.send(()).unwrap();
        let report = handle.wait(Instant::now() + Duration::from_secs(30));
        assert_eq!(
            (report.abandoned_messages, report.abandoned_events),
            (1, 3),
            "{report:?}"
        );
        assert_eq!(counters.send_failures.load(Ordering::Relaxed), 1);
        assert_eq!(undelivered.load(Ordering::Relaxed), 0);
    }

    /// A transport whose posts hang until the test drops the gate's other
    /// end, and that says when each post began: no test guesses with a
    /// sleep how long a request takes to start or to end.
    struct Gate {
        began: crossbeam_channel::Sender<()>,
        open: crossbeam_channel::Receiver<()>,
    }

    impl Transport for Gate {
        fn post(&mut self, _: &[u8], _: Duration) -> Result<Reply, String> {
            let _ = self.began.send(());
            let _ = self.open.recv();
            Err("timed out".into())
        }
    }

    /// A closed gate, the receiver of its "a post began" signals, and the
    /// sender end whose drop opens it.
    fn gate() -> (
        Gate,
        crossbeam_channel::Receiver<()>,
        crossbeam_channel::Sender<()>,
    ) {
        let (began, began_rx) = crossbeam_channel::unbounded();
        let (open_tx, open) = crossbeam_channel::bounded(0);
        (Gate { began, open }, began_rx, open_tx)
    }

    /// Generous: only a sender that really waits on the hung post misses it.
    const CEILING: Duration = Duration::from_secs(60);

    /// Runs `f` on a thread of its own; true if and only if it returned
    /// within [`CEILING`].
    fn returns(f: impl FnOnce() + Send + 'static) -> bool {
        let (done, finished) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            f();
            let _ = done.send(());
        });
        finished.recv_timeout(CEILING).is_ok()
    }

    /// A sender of [`gate_settings`] on `transport`, in real time.
    fn spawn_gated(
        transport: impl Transport + 'static,
        queue_size: usize,
        counters: Arc<Counters>,
        undelivered: Arc<AtomicU64>,
    ) -> (SenderHandle, QueueOutbox) {
        SenderHandle::spawn(
            gate_settings(queue_size),
            Delivery::Webhook(Box::new(transport)),
            counters,
            vec![undelivered],
            Arc::new(BufferedLog::new(10)),
            Arc::new(RealTime),
        )
        .unwrap()
    }

    fn gate_settings(queue_size: usize) -> SenderSettings {
        SenderSettings {
            queue_size,
            timeout: Duration::from_secs(10),
            max_retries: 0,
            pace: Duration::ZERO,
            retry_base: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            redacted_url: "x".into(),
            kind: DestinationKind::Slack,
            config: test_config(),
            fleet_pace: None,
        }
    }

    #[test]
    fn the_queue_is_bounded() {
        // The first post hangs until the test opens the gate; offers beyond
        // the queue's capacity come back, and offering never waits for the
        // hung post (if it did, it would never return: the gate stays shut).
        let (transport, began, open) = gate();
        let counters = Arc::new(Counters::default());
        let (mut handle, outbox) = spawn_gated(
            transport,
            2,
            Arc::clone(&counters),
            Arc::new(AtomicU64::new(0)),
        );
        let mut outbox = Some(outbox);
        let (refused_tx, refused_rx) = crossbeam_channel::bounded(1);
        let mut offering = outbox.take().unwrap();
        assert!(
            returns(move || {
                let refused = (0..100)
                    .filter(|_| offering.offer(alert(1)).is_err())
                    .count();
                let _ = refused_tx.send((refused, offering));
            }),
            "offering waited for the hung post"
        );
        let (refused, outbox) = refused_rx.recv().unwrap();
        assert!(refused >= 97, "{refused}");
        assert!(began.recv_timeout(CEILING).is_ok(), "the first post began");
        drop(outbox);
        // The deadline passes while the post hangs; once it ends, what is
        // still queued is abandoned, not posted.
        handle.tell(Instant::now());
        drop(open);
        let report = handle.wait(Instant::now() + CEILING);
        assert!(!report.thread_still_running);
        assert!(report.abandoned_messages >= 1, "{report:?}");
    }

    #[test]
    fn a_request_still_hanging_at_the_deadline_is_reported_as_undelivered() {
        // A request that ignores its timeout, like one that began before
        // shutdown clipped the timeout to the deadline.
        let (transport, began, open) = gate();
        let (mut handle, mut outbox) =
            spawn_gated(transport, 2, Arc::default(), Arc::new(AtomicU64::new(0)));
        outbox.offer(alert(7)).unwrap();
        assert!(began.recv_timeout(CEILING).is_ok(), "the post began");
        drop(outbox);
        let report = handle.finish(Instant::now() + Duration::from_millis(100));
        assert!(report.thread_still_running);
        assert_eq!((report.abandoned_messages, report.abandoned_events), (1, 7));
        drop(open);
    }

    #[test]
    fn messages_queued_behind_a_stuck_request_are_counted_as_undelivered() {
        // Regression: only the in-flight message was reported; the ones
        // queued behind it were silently lost from the shutdown report.
        let (transport, began, open) = gate();
        let counters: Arc<Counters> = Arc::default();
        let (mut handle, mut outbox) = spawn_gated(
            transport,
            10,
            Arc::clone(&counters),
            Arc::new(AtomicU64::new(0)),
        );
        for events in [1, 2, 3, 4] {
            outbox.offer(alert(events)).unwrap();
        }
        assert!(began.recv_timeout(CEILING).is_ok(), "the first post began");
        drop(outbox);
        let report = handle.finish(Instant::now() + Duration::from_millis(100));
        assert!(report.thread_still_running);
        assert_eq!(
            (report.abandoned_messages, report.abandoned_events),
            (4, 10)
        );
        assert_eq!(counters.send_failures.load(Ordering::Relaxed), 3);
        // Regression: dropping the handle waited for the stuck thread again
        // (it would wait forever: the gate is still shut).
        assert!(returns(move || drop(handle)), "dropping the handle waited");
        drop(open);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date_and_anything_else_is_absent() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let secs = |n| Some(Duration::from_secs(n));
        assert_eq!(parse_retry_after("0", now), secs(0));
        assert_eq!(parse_retry_after(" 120 ", now), secs(120));
        assert_eq!(
            parse_retry_after("18446744073709551615", now),
            secs(u64::MAX)
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(parse_retry_after(&later, now), secs(90));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), secs(0));
        for garbage in [
            "",
            "-1",
            "+5",
            "1.5",
            "1e3",
            "soon",
            "18446744073709551616",
            "Sun, 31 Dec 99999 23:59:59 GMT",
        ] {
            assert_eq!(parse_retry_after(garbage, now), None, "{garbage:?}");
        }
    }

    #[test]
    fn jitter_stays_within_half_and_whole() {
        let mut w = Worker {
            settings: SenderSettings {
                queue_size: 1,
                timeout: Duration::from_secs(1),
                max_retries: 0,
                pace: Duration::ZERO,
                retry_base: Duration::ZERO,
                max_backoff: Duration::ZERO,
                redacted_url: String::new(),
                kind: DestinationKind::Slack,
                config: test_config(),
                fleet_pace: None,
            },
            shared: Arc::new(Shared {
                counters: Arc::default(),
                undelivered: vec![Arc::default()],
                log: Arc::new(BufferedLog::new(1)),
                log_once: LogOnce::default(),
                deadline: Mutex::new(None),
                fault: FaultHook::default(),
                containment: Containment::new(
                    "sender",
                    "testing",
                    "nothing",
                    Arc::default(),
                    Arc::new(BufferedLog::new(1)),
                ),
                abandoned_messages: AtomicU64::new(0),
                abandoned_events: AtomicU64::new(0),
                in_flight_events: AtomicU64::new(0),
                in_flight: AtomicBool::new(false),
            }),
            alarm: Alarm(bounded(1).1),
            clock: Arc::new(RealTime),
            last_post: None,
            failing_since: None,
            failures_while_down: 0,
            rate_limited_streak: 0,
            rng: 12345,
        };
        for _ in 0..1000 {
            let j = w.jitter(Duration::from_millis(1000));
            assert!(
                j >= Duration::from_millis(500) && j <= Duration::from_millis(1000),
                "{j:?}"
            );
        }
    }
}
