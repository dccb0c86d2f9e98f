//! What hostile Slack answers and bugs on the engine's own threads must not
//! break (issue 12): a `Retry-After` of any form, a panic on the timer or a
//! sender thread, several hung destinations at shutdown, a huge reply body.
//! Nothing here measures time: waits are recorded by a [`RecordingClock`],
//! conditions are polled with a generous ceiling.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{error_event, letters, merged, submit, wait_until, SECRET};
use fake_slack::{Mode, Receiver};
use serde_json::{json, Value};
use slack_alert_engine::sender::{RecordingClock, Wait};
use slack_alert_engine::{
    BufferedLog, Config, Decision, Engine, EngineOptions, EngineThread, LogLevel, ManualClock,
};

/// Generous: a busy CI machine may be slow, a correct engine is never stuck.
const PATIENCE: Duration = Duration::from_secs(30);

struct Rig {
    receiver: Receiver,
    engine: Engine,
    log: Arc<BufferedLog>,
}

/// An engine posting to a fresh receiver; `options` over test defaults.
fn start(options: Value, wire: impl FnOnce(&mut EngineOptions)) -> Rig {
    let receiver = Receiver::start().expect("receiver starts");
    let config = merged(
        json!({
            "webhook_url": format!("http://{}/services/{SECRET}", receiver.addr()),
            "allow_custom_webhook": true,
            "timeout": "10s",
            "shutdown_timeout": "3s",
            "rate_limit": 3600,
            "burst": 100,
        }),
        options,
    );
    let config = Config::try_from(config).expect("valid config");
    let log = Arc::new(BufferedLog::new(10_000));
    let mut opts = EngineOptions::new(log.clone());
    opts.pace = Duration::from_millis(10);
    opts.retry_base = Duration::from_millis(50);
    opts.tick = Duration::from_millis(20);
    wire(&mut opts);
    let engine = Engine::start_with(config, opts).expect("engine starts");
    Rig {
        receiver,
        engine,
        log,
    }
}

fn texts(receiver: &Receiver) -> Vec<String> {
    receiver
        .accepted()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn lines(log: &BufferedLog) -> Vec<(LogLevel, String)> {
    let lines = log.drain();
    for (_, line) in &lines {
        assert!(!line.contains("leaktoken"), "the URL was logged: {line}");
    }
    lines
}

/// The panics in the log (drained, as [`lines`] does), each logged as an error.
fn logged_panics(log: &BufferedLog) -> Vec<String> {
    lines(log)
        .into_iter()
        .filter(|(_, l)| l.contains("panicked"))
        .map(|(level, l)| {
            assert_eq!(level, LogLevel::Error, "{l}");
            l
        })
        .collect()
}

/// A sender at Slack's own pace (1 s, backoff from 1 s) whose waits are
/// recorded, not slept.
fn paced(clock: &Arc<RecordingClock>) -> impl FnOnce(&mut EngineOptions) + '_ {
    move |o| {
        o.pace = Duration::from_secs(1);
        o.retry_base = Duration::from_secs(1);
        o.sender_clock = clock.clone();
    }
}

#[test]
fn every_form_of_retry_after_waits_at_least_the_pace_and_at_most_the_clamp() {
    let cases: [(&str, Duration, Duration); 7] = [
        // (header, least wait, most wait)
        ("0", Duration::from_secs(1), Duration::from_millis(1500)),
        ("-5", Duration::from_secs(1), Duration::from_millis(1500)),
        ("soon", Duration::from_secs(1), Duration::from_millis(1500)),
        ("1.5", Duration::from_secs(1), Duration::from_millis(1500)),
        // More than fits in 64 bits: out of range, as if absent.
        (
            "99999999999999999999999",
            Duration::from_secs(1),
            Duration::from_millis(1500),
        ),
        // Fits, but would wait longer than the universe: clamped.
        (
            "18446744073709551615",
            Duration::from_secs(15 * 60),
            Duration::from_secs(15 * 60),
        ),
        // An HTTP date 10 min ahead, less the time it takes to get there: the
        // recording clock never sleeps, so a long wait costs nothing, and a
        // wide margin keeps a busy machine from eating it.
        (
            "(in 10 min)",
            Duration::from_secs(8 * 60),
            Duration::from_secs(10 * 60),
        ),
    ];
    for (header, least, most) in cases {
        let header = match header {
            "(in 10 min)" => {
                httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(10 * 60))
            }
            other => other.to_string(),
        };
        let header = header.as_str();
        let clock = Arc::new(RecordingClock::default());
        let r = start(json!({}), paced(&clock));
        r.receiver
            .set_mode(Mode::fail_next(1, Mode::raw_retry_after(header)));
        submit(&r.engine, &error_event("disk full"));
        assert!(
            wait_until(PATIENCE, || r.engine.counter("sent") == Some(1)),
            "Retry-After {header:?}: never delivered after the 429; {:?} {:?}",
            clock.waits(),
            lines(&r.log)
        );
        let waits = clock.waits_for(Wait::RateLimited);
        assert_eq!(waits.len(), 1, "Retry-After {header:?}: {waits:?}");
        assert!(
            waits[0] >= least && waits[0] <= most,
            "Retry-After {header:?}: waited {:?}, expected {least:?} to {most:?}",
            waits[0]
        );
        assert_eq!(r.engine.counter("internal_errors"), Some(0));
        let statuses: Vec<u16> = r.receiver.received().iter().map(|x| x.status).collect();
        assert_eq!(statuses, vec![429, 200], "Retry-After {header:?}");
    }
}

#[test]
fn while_a_destination_waits_out_a_huge_retry_after_new_alerts_fold_into_its_summary() {
    let clock = Arc::new(RecordingClock::default());
    let r = start(
        json!({"queue_size": 2, "dedup_window": "0s"}),
        paced(&clock),
    );
    clock.hold(Wait::RateLimited);
    r.receiver.set_mode(Mode::fail_next(
        1,
        Mode::raw_retry_after("18446744073709551615"),
    ));
    assert_eq!(
        submit(&r.engine, &error_event("problem first")),
        Decision::Alerted
    );
    // The sender got the 429 and is waiting (held here) instead of dying.
    assert!(
        wait_until(PATIENCE, || !clock.waits_for(Wait::RateLimited).is_empty()),
        "no wait after the 429: {:?} {:?}",
        clock.waits(),
        lines(&r.log)
    );
    assert_eq!(
        clock.waits_for(Wait::RateLimited),
        vec![Duration::from_secs(15 * 60)]
    );
    // Two more fit in the queue; the rest are counted for the summary.
    let decisions: Vec<Decision> = (0..10)
        .map(|i| submit(&r.engine, &error_event(&format!("problem {}", letters(i)))))
        .collect();
    assert_eq!(
        decisions
            .iter()
            .filter(|d| **d == Decision::Alerted)
            .count(),
        2,
        "{decisions:?}"
    );
    // Held back for the summary: the first as dropped (the queue was full),
    // the next ones behind it as they would be behind any pending summary.
    assert!(
        decisions[2..]
            .iter()
            .all(|d| matches!(d, Decision::Dropped | Decision::RateLimited)),
        "{decisions:?}"
    );
    let held = r.engine.counter("dropped").unwrap() + r.engine.counter("rate_limited").unwrap();
    assert_eq!(held, 8, "{decisions:?}");
    clock.release();
    // The wait over: the three alerts, then one summary for the eight.
    let all_there = || {
        let t = texts(&r.receiver);
        t.len() >= 4 && t.iter().any(|t| t.contains("8 events"))
    };
    assert!(
        wait_until(PATIENCE, all_there),
        "{:#?} {:?}",
        texts(&r.receiver),
        lines(&r.log)
    );
    assert_eq!(r.engine.counter("internal_errors"), Some(0));
    let report = r.engine.shutdown();
    assert_eq!(report.undelivered_messages, 0, "{report}");
    assert_eq!(r.engine.counter("sent"), Some(4));
}

#[test]
fn a_panic_on_the_timer_thread_is_counted_logged_once_and_the_timer_carries_on() {
    let manual = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
    let clock = manual.clone();
    let r = start(json!({"dedup_window": "10s"}), move |o| o.clock = clock);
    r.engine.inject_panic(EngineThread::Timer, 1);
    assert!(
        wait_until(PATIENCE, || r.engine.counter("internal_errors") == Some(1)),
        "the timer's panic was not counted: {:?}",
        lines(&r.log)
    );
    // Still ticking: a repeat report comes out when the window closes.
    assert_eq!(
        submit(&r.engine, &error_event("disk full")),
        Decision::Alerted
    );
    assert_eq!(
        submit(&r.engine, &error_event("disk full")),
        Decision::Repeat
    );
    manual.advance(Duration::from_secs(11));
    assert!(
        wait_until(PATIENCE, || texts(&r.receiver).len() == 2),
        "no repeat report after the timer's panic: {:#?}",
        texts(&r.receiver)
    );
    // A second panic is counted, not logged again.
    r.engine.inject_panic(EngineThread::Timer, 1);
    assert!(wait_until(PATIENCE, || r.engine.counter("internal_errors") == Some(2)));
    let panics = logged_panics(&r.log);
    assert_eq!(panics.len(), 1, "{panics:#?}");
    assert!(panics[0].contains("timer thread"), "{panics:?}");
    let report = r.engine.shutdown();
    assert_eq!(report.undelivered_messages, 0, "{report}");
}

#[test]
fn a_panic_on_a_sender_thread_counts_the_message_as_undelivered_and_the_sender_carries_on() {
    let r = start(json!({"dedup_window": "0s"}), |_| {});
    r.engine.inject_panic(EngineThread::Sender, 1);
    assert_eq!(
        submit(&r.engine, &error_event("problem first")),
        Decision::Alerted
    );
    assert!(
        wait_until(PATIENCE, || r.engine.counter("internal_errors") == Some(1)),
        "the sender's panic was not counted: {:?}",
        lines(&r.log)
    );
    assert_eq!(r.engine.counter("send_failures"), Some(1));
    // The sender still delivers, and the lost alert reaches a summary.
    assert_eq!(
        submit(&r.engine, &error_event("problem second")),
        Decision::Alerted
    );
    let reported = || {
        let t = texts(&r.receiver);
        t.iter().any(|t| t.contains("problem second"))
            && t.iter()
                .any(|t| t.starts_with("slack_alert summary: 1 event since"))
    };
    assert!(
        wait_until(PATIENCE, reported),
        "{:#?} {:?}",
        texts(&r.receiver),
        lines(&r.log)
    );
    let panics = logged_panics(&r.log);
    assert_eq!(panics.len(), 1, "{panics:#?}");
    assert!(panics[0].contains("sender thread"), "{panics:?}");
    let report = r.engine.shutdown();
    assert_eq!(report.undelivered_messages, 0, "{report}");
}

#[test]
fn shutdown_tells_every_hung_destination_the_deadline_before_waiting_for_any() {
    // Five rules, five webhooks, all hung with requests that outlive the
    // deadline: one stuck sender must not hold up telling the next.
    let receiver = Receiver::start().expect("receiver starts");
    let rules: Vec<Value> = (0..5)
        .map(|i| {
            json!({"name": format!("team{i}"),
                   "webhook_url": format!("http://{}/services/T{i}/B{i}/{SECRET}", receiver.addr())})
        })
        .collect();
    let config = Config::try_from(json!({
        "rules": rules, "allow_custom_webhook": true, "timeout": "60s",
        "shutdown_timeout": "1s", "rate_limit": 3600, "burst": 100, "dedup_window": "0s",
    }))
    .unwrap();
    assert_eq!(config.destinations.len(), 5);
    let log = Arc::new(BufferedLog::new(1000));
    let mut opts = EngineOptions::new(log.clone());
    opts.pace = Duration::from_millis(10);
    let engine = Engine::start_with(config, opts).unwrap();
    receiver.set_mode(Mode::Hang);
    for message in ["disk full", "out of memory"] {
        assert_eq!(submit(&engine, &error_event(message)), Decision::Alerted);
    }
    // Every destination has one post hanging and one message queued.
    assert!(wait_until(PATIENCE, || receiver.received().len() == 5));
    let report = engine.shutdown();
    assert_eq!(report.senders.len(), 5, "{report:?}");
    let last_told = report.senders.iter().filter_map(|s| s.told).max().unwrap();
    let first_waited = report
        .senders
        .iter()
        .filter_map(|s| s.waited)
        .min()
        .unwrap();
    assert!(
        last_told <= first_waited,
        "a sender was told the deadline only after shutdown began waiting for another: {:#?}",
        report.senders
    );
    for sender in &report.senders {
        assert_eq!(
            (sender.abandoned_messages, sender.abandoned_events),
            (2, 2),
            "{:#?}",
            report.senders
        );
        assert!(sender.thread_still_running);
    }
    assert_eq!(
        (report.undelivered_messages, report.undelivered_events),
        (10, 10)
    );
    assert!(
        report
            .to_string()
            .contains("10 queued messages (accounting for 10 events) could not be delivered"),
        "{report}"
    );
}

#[test]
fn a_huge_reply_body_is_not_read_whole() {
    const BODY: u64 = 64 << 20;
    let r = start(json!({"timeout": "60s"}), |_| {});
    r.receiver.set_mode(Mode::HugeBody {
        status: 200,
        bytes: BODY,
    });
    submit(&r.engine, &error_event("disk full"));
    assert!(wait_until(PATIENCE, || r.engine.counter("sent") == Some(1)));
    // The receiver counts what got out once the client stopped reading.
    assert!(
        wait_until(PATIENCE, || r.receiver.stats().huge_body_bytes_written > 0),
        "the client kept the connection open without reading"
    );
    let written = r.receiver.stats().huge_body_bytes_written;
    // A few KiB read, plus whatever the sockets' buffers took: far from all.
    assert!(
        written < BODY / 2,
        "{written} of {BODY} bytes of the reply were read"
    );
}
