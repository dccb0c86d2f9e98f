//! Shared by the integration tests: an engine posting to a local receiver.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_slack::Receiver;
use serde_json::{json, Value};
use slack_alert_engine::{BufferedLog, Clock, Config, Decision, Engine, EngineOptions};

/// The secret part of every webhook URL these tests configure.
pub const SECRET: &str = "T0LEAKTEST/B0LEAKTEST/leaktoken0123456789";

/// How long a test waits for something that should happen at once: far past
/// what a loaded CI machine needs, and still far short of what waiting on a
/// hung Slack (request timeouts up to 300 s) or a stuck thread would take.
pub const CEILING: Duration = Duration::from_secs(60);

pub struct Rig {
    pub receiver: Receiver,
    /// Shared, so that a test can run a call on another thread and watch it finish.
    pub engine: Arc<Engine>,
    pub log: Arc<BufferedLog>,
}

/// An engine posting to a fresh receiver, on a webhook path carrying
/// [`SECRET`]. `options` are merged over fast test defaults; `pace` replaces
/// Slack's one post a second where a test is not about pacing.
pub fn rig(options: Value, pace: Duration) -> Rig {
    rig_on(options, pace, None)
}

/// [`rig`] whose decisions (windows, rate limits) run on `clock`, when given,
/// so that a test moves time by hand instead of racing the real one.
pub fn rig_on(options: Value, pace: Duration, clock: Option<Arc<dyn Clock>>) -> Rig {
    let receiver = Receiver::start().expect("receiver starts");
    let webhook = format!("http://{}/services/{SECRET}", receiver.addr());
    let config = merged(
        json!({
            "webhook_url": webhook,
            "allow_custom_webhook": true,
            "timeout": "2s",
            "shutdown_timeout": "3s",
        }),
        options,
    );
    let config = Config::try_from(config).expect("valid config");
    let log = Arc::new(BufferedLog::new(10_000));
    let mut opts = EngineOptions::new(log.clone());
    opts.pace = pace;
    opts.retry_base = Duration::from_millis(50);
    opts.tick = Duration::from_millis(50);
    if let Some(clock) = clock {
        opts.clock = clock;
    }
    let engine = Arc::new(Engine::start_with(config, opts).expect("engine starts"));
    Rig {
        receiver,
        engine,
        log,
    }
}

/// The object `base` with every key of the object `over` set over it.
pub fn merged(mut base: Value, over: Value) -> Value {
    base.as_object_mut()
        .unwrap()
        .extend(over.as_object().unwrap().clone());
    base
}

pub fn error_event(message: &str) -> Value {
    json!({
        "@timestamp": "2026-11-20T09:00:00.000Z",
        "log.level": "ERROR",
        "message": message,
        "service.name": "orders",
        "log.logger": "com.example.OrderService",
    })
}

pub fn submit(engine: &Engine, event: &Value) -> Decision {
    engine.submit(&engine.event_from_json(event))
}

/// `i` spelled in letters, so that normalisation keeps messages apart.
pub fn letters(i: usize) -> String {
    i.to_string()
        .bytes()
        .map(|b| (b'a' + (b - b'0')) as char)
        .collect()
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `work` on a thread of its own and polls until it has finished, for at
/// most `ceiling`. Returns its result, or `None` if it is still running then
/// (the thread is left behind; the test fails). For "this call returns while
/// Slack hangs" without timing the call: the ceiling only catches a call that
/// waits on Slack, never a slow machine.
pub fn finishes_within<T: Send + 'static>(
    ceiling: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let thread = std::thread::spawn(work);
    if !wait_until(ceiling, || thread.is_finished()) {
        return None;
    }
    Some(
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
    )
}

/// Every log line, and asserts that none carries the webhook's secret path.
/// Fails the test, listing them, if the receiver saw any request break
/// Slack's rules.
pub fn assert_no_violations(receiver: &Receiver) {
    let violations = receiver.violations();
    assert!(violations.is_empty(), "{violations:?}");
}

pub fn drain_log_checking_secret(rig: &Rig) -> Vec<String> {
    let lines: Vec<String> = rig.log.drain().into_iter().map(|(_, l)| l).collect();
    for line in &lines {
        assert!(
            !line.contains("leaktoken") && !line.contains("T0LEAKTEST"),
            "the webhook leaked into a log line: {line}"
        );
    }
    lines
}
