//! What the receiver remembers and how it decides the answer to a webhook post.
//!
//! All of it sits behind one mutex: posts are rare (a correct client sends about one a
//! second), so simplicity wins over concurrency here. The decision itself
//! ([`State::post`]) takes the time as a parameter and touches no socket, so it is tested
//! without a server.

use crate::api::{self, ApiCall, Epoch, Workspace};
use crate::limits::{self, Violation};
use crate::options::{Mode, Options};
use crate::print::Printer;
use crate::rate::{BusiestSecond, LeakyBucket};
use serde_json::Value;
use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// Records kept of each kind (received posts, accepted bodies, violations); older ones
/// are dropped so a demo left running for days does not grow without bound. Counters in
/// [`Stats`] keep counting past it.
pub const KEEP_LAST: usize = 10_000;

/// One post to `/services/...`, whatever was answered.
#[derive(Clone, Debug)]
pub struct Received {
    /// When the request had been read.
    pub at: Instant,
    /// The body, or `None` if it was not JSON.
    pub body: Option<Value>,
    /// Length of the body in bytes.
    pub raw_len: usize,
    /// The HTTP status answered, or 0 if none was (modes `Hang` and `CloseImmediately`).
    pub status: u16,
    /// The body answered (`ok`, a Slack error string), or `(hung)` / `(closed)`.
    pub answer: String,
}

/// Counters since start or the last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Posts to `/services/...`.
    pub posts: u64,
    /// Posts answered 200.
    pub accepted: u64,
    /// Posts answered 429, by the rate limit or by a [`Mode::Status`] 429.
    pub rate_limited: u64,
    /// The most posts that arrived within any one second.
    pub max_posts_in_any_1s: u32,
    /// Violations recorded (see [`crate::Receiver::violations`]).
    pub violations: u64,
    /// Bytes of [`Mode::HugeBody`] answers written before the client stopped reading.
    pub huge_body_bytes_written: u64,
}

/// What the connection should do with a post.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Answer {
        status: u16,
        body: String,
        retry_after: Option<u64>,
    },
    /// Answer with `retry_after` sent verbatim as the `Retry-After` header.
    AnswerRaw {
        status: u16,
        body: String,
        retry_after: String,
    },
    /// Answer with a body of `bytes` bytes.
    HugeBody { status: u16, bytes: u64 },
    /// Say nothing until the mode's generation moves past this one or the receiver stops.
    Hang { generation: u64 },
    /// Close the connection without a word.
    Close,
}

/// The part of a [`Mode`] that applies to one post.
enum Action {
    Validate,
    Status {
        status: u16,
        error: String,
        retry_after: Option<u64>,
    },
    Raw {
        status: u16,
        error: String,
        retry_after: String,
    },
    HugeBody {
        status: u16,
        bytes: u64,
    },
    Hang,
    Close,
}

pub(crate) struct State {
    mode: Mode,
    /// Bumped by every `set_mode` and `reset` (not by `FailNext` counting down), so a
    /// hung connection knows when to let go.
    generation: u64,
    stopping: bool,
    received: VecDeque<Received>,
    accepted: VecDeque<Value>,
    violations: VecDeque<String>,
    stats: Stats,
    bucket: Option<LeakyBucket>,
    busiest: BusiestSecond,
    /// Set by every 429 with `Retry-After`: a post before this instant ignored it.
    retry_not_before: Option<Instant>,
    options: Options,
    /// The Web API side: channels, messages, files, tokens, tiers, its call log.
    pub(crate) api: Workspace,
}

impl State {
    pub(crate) fn new(options: Options) -> State {
        State {
            mode: Mode::Ok,
            generation: 0,
            stopping: false,
            received: VecDeque::new(),
            accepted: VecDeque::new(),
            violations: VecDeque::new(),
            stats: Stats::default(),
            bucket: options.rate_limit.map(LeakyBucket::new),
            busiest: BusiestSecond::default(),
            retry_not_before: None,
            options,
            api: Workspace::new(Epoch::now(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
        }
    }

    /// Decides the answer to a post of `raw` read at `now`, and records it.
    pub(crate) fn post(&mut self, raw: &[u8], now: Instant) -> Outcome {
        self.stats.posts += 1;
        self.stats.max_posts_in_any_1s = self.busiest.record(now);
        if let Some(not_before) = self.retry_not_before {
            if now < not_before {
                let early = not_before.duration_since(now).as_millis();
                self.violate(format!(
                    "ignored Retry-After: posted {early} ms before the wait it was given had passed"
                ));
            }
        }
        let (body, breaches) = match limits::parse(raw) {
            Ok(body) => {
                let breaches = limits::check_all(&body);
                (Some(body), breaches)
            }
            Err(not_json) => (None, vec![not_json]),
        };
        for breach in &breaches {
            self.violate(breach.to_string());
        }
        let outcome = match self.next_action() {
            Action::Hang => Outcome::Hang {
                generation: self.generation,
            },
            Action::Close => Outcome::Close,
            Action::Status {
                status,
                error,
                retry_after,
            } => Outcome::Answer {
                status,
                body: error,
                retry_after,
            },
            Action::Raw {
                status,
                error,
                retry_after,
            } => Outcome::AnswerRaw {
                status,
                body: error,
                retry_after,
            },
            Action::HugeBody { status, bytes } => Outcome::HugeBody { status, bytes },
            Action::Validate => self.validate(limits::worst(&breaches), now),
        };
        self.record(now, body, raw.len(), &outcome);
        outcome
    }

    /// Slack's own behaviour: the rate limit first, then the limits.
    fn validate(&mut self, breach: Option<&Violation>, now: Instant) -> Outcome {
        if let Some(bucket) = &mut self.bucket {
            if let Err(secs) = bucket.admit(now) {
                return Outcome::Answer {
                    status: 429,
                    body: "rate_limited".to_string(),
                    retry_after: Some(secs),
                };
            }
        }
        match breach {
            Some(breach) => Outcome::Answer {
                status: breach.status(),
                body: breach.slack_error().to_string(),
                retry_after: None,
            },
            None => Outcome::Answer {
                status: 200,
                body: "ok".to_string(),
                retry_after: None,
            },
        }
    }

    fn record(&mut self, now: Instant, body: Option<Value>, raw_len: usize, outcome: &Outcome) {
        let (status, answer) = match outcome {
            Outcome::Answer {
                status,
                body,
                retry_after,
            } => {
                if *status == 429 {
                    self.stats.rate_limited += 1;
                    if let Some(secs) = retry_after {
                        self.retry_not_before = Some(now + Duration::from_secs(*secs));
                    }
                }
                (*status, body.clone())
            }
            Outcome::AnswerRaw { status, body, .. } => {
                if *status == 429 {
                    self.stats.rate_limited += 1;
                }
                (*status, body.clone())
            }
            Outcome::HugeBody { status, bytes } => (*status, format!("({bytes} bytes)")),
            Outcome::Hang { .. } => (0, "(hung)".to_string()),
            Outcome::Close => (0, "(closed)".to_string()),
        };
        if status == 200 {
            self.stats.accepted += 1;
            if let Some(body) = &body {
                push_capped(&mut self.accepted, body.clone());
            }
        }
        let received = Received {
            at: now,
            body,
            raw_len,
            status,
            answer,
        };
        push_capped(&mut self.received, received);
    }

    fn violate(&mut self, what: String) {
        self.stats.violations += 1;
        let numbered = format!("post {}: {what}", self.stats.posts);
        push_capped(&mut self.violations, numbered);
    }

    /// Takes the action the mode prescribes for one post, counting `FailNext` down.
    fn next_action(&mut self) -> Action {
        let action = action_of(&self.mode);
        if let Mode::FailNext { count, .. } = &mut self.mode {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.mode = Mode::Ok;
            }
        }
        action
    }

    pub(crate) fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        self.generation += 1;
    }

    pub(crate) fn mode(&self) -> Mode {
        self.mode.clone()
    }

    /// Forgets everything recorded and goes back to [`Mode::Ok`] with a full-capacity
    /// rate limit, as if just started.
    pub(crate) fn reset(&mut self) {
        let options = self.options.clone();
        let generation = self.generation + 1;
        let stopping = self.stopping;
        let mut fresh = State::new(options);
        // The Web API keeps its clock, upload address and hang generation.
        std::mem::swap(&mut fresh.api, &mut self.api);
        fresh.api.reset();
        *self = fresh;
        self.generation = generation;
        self.stopping = stopping;
    }

    /// Records breaches found by the Web API side (each already names its call).
    fn note_api_violations(&mut self, violations: Vec<String>) {
        for violation in violations {
            self.stats.violations += 1;
            push_capped(&mut self.violations, violation);
        }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.iter().cloned().collect()
    }

    pub(crate) fn accepted(&self) -> Vec<Value> {
        self.accepted.iter().cloned().collect()
    }

    pub(crate) fn violations(&self) -> Vec<String> {
        self.violations.iter().cloned().collect()
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats
    }
}

fn action_of(mode: &Mode) -> Action {
    match mode {
        Mode::Ok => Action::Validate,
        Mode::Status {
            status,
            error,
            retry_after,
        } => Action::Status {
            status: *status,
            error: error.clone(),
            retry_after: *retry_after,
        },
        Mode::RawRetryAfter {
            status,
            error,
            retry_after,
        } => Action::Raw {
            status: *status,
            error: error.clone(),
            retry_after: retry_after.clone(),
        },
        Mode::HugeBody { status, bytes } => Action::HugeBody {
            status: *status,
            bytes: *bytes,
        },
        Mode::Hang => Action::Hang,
        Mode::CloseImmediately => Action::Close,
        Mode::FailNext { count: 0, .. } => Action::Validate,
        Mode::FailNext { then, .. } => action_of(then),
    }
}

fn push_capped<T>(list: &mut VecDeque<T>, item: T) {
    if list.len() == KEEP_LAST {
        list.pop_front();
    }
    list.push_back(item);
}

/// The state shared by the [`crate::Receiver`] handle and every connection thread.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Notified on every accepted post, mode change, reset and stop.
    changed: Condvar,
    pub(crate) started: Instant,
    /// The wall time at `started`, to show when a post arrived.
    pub(crate) started_wall: SystemTime,
    printer: Option<Printer>,
}

impl Shared {
    /// The state of a receiver listening on `addr` (which the upload URLs name).
    pub(crate) fn new(options: Options, addr: SocketAddr) -> io::Result<Shared> {
        let printer = if options.print {
            Some(Printer::start()?)
        } else {
            None
        };
        let epoch = Epoch::now();
        let mut state = State::new(options);
        state.api = Workspace::new(epoch, addr);
        Ok(Shared {
            printer,
            state: Mutex::new(state),
            changed: Condvar::new(),
            started: epoch.started,
            started_wall: epoch.started_wall,
        })
    }

    /// Answers a call to `/api/<name>`, printing the message it showed, if any.
    pub(crate) fn api_call(&self, name: &str, call: &api::Call) -> api::Answer {
        let mut state = self.lock();
        let handled = state.api.call(name, call, Instant::now());
        self.after_api_call(&mut state, handled)
    }

    /// Answers bytes sent to the upload URL of `file_id`.
    pub(crate) fn api_upload(&self, file_id: &str, call: &api::Call) -> api::Answer {
        let mut state = self.lock();
        let handled = state.api.upload(file_id, call, Instant::now());
        self.after_api_call(&mut state, handled)
    }

    fn after_api_call(&self, state: &mut State, handled: api::Handled) -> api::Answer {
        state.note_api_violations(handled.violations);
        if let (Some(printer), Some((heading, message))) = (&self.printer, handled.shown) {
            printer.print_headed(heading, message);
        }
        self.changed.notify_all();
        handled.answer
    }

    /// Changes the Web API's settings with `change`, waking hung calls to look again.
    pub(crate) fn api_changed<R>(&self, change: impl FnOnce(&mut Workspace) -> R) -> R {
        let result = change(&mut self.lock().api);
        self.changed.notify_all();
        result
    }

    /// Blocks while the failure a Web API call hung in is unchanged and the receiver runs.
    pub(crate) fn wait_while_api_hung(&self, generation: u64) {
        let mut state = self.lock();
        while state.api.generation == generation && !state.stopping {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Blocks until at least `n` Web API calls were made since start or the last reset,
    /// or `timeout` passed; returns the call log either way.
    pub(crate) fn wait_for_api_calls(&self, n: usize, timeout: Duration) -> Vec<ApiCall> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while (state.api.calls_made() as usize) < n && !state.stopping {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.api.calls()
    }

    /// Locks the state, shrugging off a panic elsewhere: the records stay readable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts bytes of a [`Mode::HugeBody`] answer that got out.
    pub(crate) fn note_huge_body_bytes(&self, n: u64) {
        self.lock().stats.huge_body_bytes_written += n;
    }

    /// Answers one post to `/services/...`, printing the message if it was accepted.
    pub(crate) fn post(&self, raw: &[u8]) -> Outcome {
        let mut state = self.lock();
        let outcome = state.post(raw, Instant::now());
        let accepted = matches!(outcome, Outcome::Answer { status: 200, .. });
        if accepted {
            self.changed.notify_all();
        }
        if let (Some(printer), true) = (&self.printer, accepted) {
            // Queued under the state lock, so messages print in the order accepted.
            if let Some(body) = state.received.back().and_then(|r| r.body.clone()) {
                printer.print(body);
            }
        }
        outcome
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        self.lock().set_mode(mode);
        self.changed.notify_all();
    }

    pub(crate) fn reset(&self) {
        self.lock().reset();
        self.changed.notify_all();
    }

    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.changed.notify_all();
    }

    /// Prints the messages still queued, waiting until `deadline` at most.
    pub(crate) fn finish_printing(&self, deadline: Instant) {
        if let Some(printer) = &self.printer {
            printer.finish(deadline);
        }
    }

    /// The options the receiver was started with.
    pub(crate) fn options(&self) -> Options {
        self.lock().options.clone()
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.lock().stopping
    }

    /// Blocks while the mode is still the one a post hung in and the receiver runs.
    pub(crate) fn wait_while_hung(&self, generation: u64) {
        let mut state = self.lock();
        while state.generation == generation && !state.stopping {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Blocks until at least `n` posts were accepted or `timeout` passed; returns the
    /// accepted bodies either way.
    pub(crate) fn wait_for_accepted(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while (state.stats.accepted as usize) < n && !state.stopping {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.accepted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::RateLimit;
    use serde_json::json;

    const VALID: &[u8] = br#"{"text":"disk full"}"#;

    fn answer(status: u16, body: &str) -> Outcome {
        Outcome::Answer {
            status,
            body: body.to_string(),
            retry_after: None,
        }
    }

    fn state() -> State {
        State::new(Options::default())
    }

    #[test]
    fn ok_mode_accepts_valid_posts() {
        let mut state = state();
        let now = Instant::now();
        assert_eq!(state.post(VALID, now), answer(200, "ok"));
        assert_eq!(state.accepted(), vec![json!({"text": "disk full"})]);
        let received = state.received();
        assert_eq!(received.len(), 1);
        assert_eq!(
            (received[0].status, received[0].raw_len),
            (200, VALID.len())
        );
        assert_eq!(state.stats().accepted, 1);
        assert!(state.violations().is_empty());
    }

    #[test]
    fn ok_mode_rejects_breaches_and_records_them() {
        let mut state = state();
        let now = Instant::now();
        assert_eq!(state.post(b"not json", now), answer(400, "invalid_payload"));
        assert_eq!(state.post(br#"{"text":""}"#, now), answer(400, "no_text"));
        assert!(state.accepted().is_empty());
        assert_eq!(state.received()[0].body, None);
        let violations = state.violations();
        assert_eq!(violations.len(), 2);
        assert!(
            violations[0].starts_with("post 1: invalid_payload"),
            "{violations:?}"
        );
        assert!(
            violations[1].starts_with("post 2: no_text"),
            "{violations:?}"
        );
        assert_eq!(state.stats().violations, 2);
    }

    #[test]
    fn status_mode_answers_as_told_but_still_referees() {
        let mut state = state();
        state.set_mode(Mode::status(500, "rollup_error"));
        let now = Instant::now();
        assert_eq!(state.post(VALID, now), answer(500, "rollup_error"));
        assert_eq!(state.post(b"[]", now), answer(500, "rollup_error"));
        assert_eq!(state.violations().len(), 1);
        assert_eq!(state.stats().accepted, 0);
    }

    #[test]
    fn fail_next_counts_down_then_accepts() {
        let mut state = state();
        state.set_mode(Mode::fail_next(2, Mode::status(404, "no_service")));
        let now = Instant::now();
        assert_eq!(state.post(VALID, now), answer(404, "no_service"));
        assert_eq!(state.post(VALID, now), answer(404, "no_service"));
        assert_eq!(state.mode(), Mode::Ok);
        assert_eq!(state.post(VALID, now), answer(200, "ok"));
    }

    #[test]
    fn fail_next_with_hang_keeps_its_generation() {
        let mut state = state();
        state.set_mode(Mode::fail_next(1, Mode::Hang));
        let generation = state.generation;
        assert_eq!(
            state.post(VALID, Instant::now()),
            Outcome::Hang { generation }
        );
        // Counting down to Ok does not release the hung post; only set_mode/reset do.
        assert_eq!(state.generation, generation);
        assert_eq!(state.received()[0].status, 0);
        assert_eq!(state.received()[0].answer, "(hung)");
    }

    #[test]
    fn close_mode_is_recorded_without_status() {
        let mut state = state();
        state.set_mode(Mode::CloseImmediately);
        assert_eq!(state.post(VALID, Instant::now()), Outcome::Close);
        assert_eq!(state.received()[0].answer, "(closed)");
    }

    #[test]
    fn rate_limit_answers_429_and_counts_it() {
        let mut state = State::new(Options {
            rate_limit: Some(RateLimit {
                per_second: 1.0,
                burst: 2,
            }),
            ..Options::default()
        });
        let t0 = Instant::now();
        assert_eq!(state.post(VALID, t0), answer(200, "ok"));
        assert_eq!(state.post(VALID, t0), answer(200, "ok"));
        assert_eq!(
            state.post(VALID, t0),
            Outcome::Answer {
                status: 429,
                body: "rate_limited".to_string(),
                retry_after: Some(1)
            }
        );
        let stats = state.stats();
        assert_eq!((stats.posts, stats.accepted, stats.rate_limited), (3, 2, 1));
        assert_eq!(stats.max_posts_in_any_1s, 3);
        // Rate limiting comes before validation: a bad post while limited is a 429.
        assert_eq!(
            state.post(b"[]", t0 + Duration::from_millis(200)).status(),
            429
        );
        // After the wait, posting again is fine.
        assert_eq!(
            state.post(VALID, t0 + Duration::from_secs(3)),
            answer(200, "ok")
        );
    }

    #[test]
    fn posting_before_retry_after_is_a_violation() {
        let mut state = state();
        let t0 = Instant::now();
        state.set_mode(Mode::fail_next(1, Mode::rate_limited(Some(2))));
        assert_eq!(state.post(VALID, t0).status(), 429);
        assert_eq!(
            state.post(VALID, t0 + Duration::from_millis(500)).status(),
            200
        );
        assert_eq!(state.post(VALID, t0 + Duration::from_secs(2)).status(), 200);
        let violations = state.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].contains("ignored Retry-After: posted 1500 ms"));
    }

    #[test]
    fn reset_forgets_everything_and_releases_hangs() {
        let mut state = state();
        state.set_mode(Mode::Hang);
        state.post(b"x", Instant::now());
        let generation = state.generation;
        state.reset();
        assert!(state.generation > generation);
        assert_eq!(state.mode(), Mode::Ok);
        assert!(state.received().is_empty());
        assert!(state.violations().is_empty());
        assert_eq!(state.stats(), Stats::default());
    }

    #[test]
    fn records_are_capped() {
        let mut state = state();
        let now = Instant::now();
        for _ in 0..KEEP_LAST + 5 {
            state.post(VALID, now);
        }
        assert_eq!(state.received().len(), KEEP_LAST);
        assert_eq!(state.accepted().len(), KEEP_LAST);
        assert_eq!(state.stats().accepted, (KEEP_LAST + 5) as u64);
    }

    impl Outcome {
        fn status(&self) -> u16 {
            match self {
                Outcome::Answer { status, .. } => *status,
                _ => 0,
            }
        }
    }
}
