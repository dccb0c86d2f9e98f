//! Faults the engine must survive without stalling its callers or losing
//! count: shutdown against a hung Slack with hundreds of alerts queued, a
//! storm against a full queue, recovery after it.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{drain_log_checking_secret, error_event, letters, rig, submit, wait_until};
use serde_json::json;
use slack_alert_engine::Decision;
use slack_alert_receiver::Mode;

#[test]
fn shutdown_with_500_alerts_queued_and_slack_hung_is_bounded_and_counts_every_one() {
    // Slack's real pace (1/s) and a request timeout far past the shutdown
    // deadline: the sender is stuck in the first post when shutdown starts.
    let common::Rig {
        receiver,
        engine,
        log,
    } = rig(
        json!({"queue_size": 1000, "rate_limit": 3600, "burst": 1000,
               "timeout": "10s", "shutdown_timeout": "1s", "dedup_window": "0s"}),
        Duration::from_secs(1),
    );
    receiver.set_mode(Mode::Hang);
    for i in 0..500 {
        let d = submit(&engine, &error_event(&format!("problem {}", letters(i))));
        assert_eq!(d, Decision::Alerted, "alert {i}");
    }
    assert!(wait_until(Duration::from_secs(5), || !receiver
        .received()
        .is_empty()));
    let started = Instant::now();
    let report = engine.shutdown();
    let took = started.elapsed();
    // The deadline, then half a second's grace for the last request.
    assert!(
        took < Duration::from_millis(2000),
        "shutdown took {took:?} with shutdown_timeout 1s"
    );
    assert_eq!(
        (report.undelivered_messages, report.undelivered_events),
        (500, 500),
        "{report}"
    );
    // Dropping the engine does not wait for the stuck sender a second time.
    let dropping = Instant::now();
    drop(engine);
    assert!(
        dropping.elapsed() < Duration::from_millis(300),
        "dropping the engine took {:?}",
        dropping.elapsed()
    );
    let lines: Vec<String> = log.drain().into_iter().map(|(_, l)| l).collect();
    assert!(lines.iter().all(|l| !l.contains("leaktoken")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l
            .contains("500 queued messages (accounting for 500 events) could not be delivered")),
        "{lines:?}"
    );
}

#[test]
fn a_storm_against_a_full_queue_counts_every_drop_and_reports_it_after_recovery() {
    let r = rig(
        json!({"queue_size": 5, "rate_limit": 3600, "burst": 1000, "timeout": "300ms",
               "max_retries": 0, "dedup_window": "0s", "shutdown_timeout": "5s"}),
        Duration::ZERO,
    );
    r.receiver.set_mode(Mode::Hang);
    let mut decisions: HashMap<Decision, u64> = HashMap::new();
    let mut slowest = Duration::ZERO;
    let storm = Instant::now();
    let mut i = 0;
    while storm.elapsed() < Duration::from_secs(2) {
        let event = r
            .engine
            .event_from_json(&error_event(&format!("problem {}", letters(i))));
        let started = Instant::now();
        *decisions.entry(r.engine.submit(&event)).or_default() += 1;
        slowest = slowest.max(started.elapsed());
        i += 1;
    }
    let matched: u64 = decisions.values().sum();
    assert!(
        slowest < Duration::from_millis(100),
        "a submit took {slowest:?} with the queue full"
    );
    let dropped = decisions.get(&Decision::Dropped).copied().unwrap_or(0);
    assert!(dropped > 0, "{decisions:?}");
    assert_eq!(r.engine.counter("dropped"), Some(dropped), "{decisions:?}");
    assert_eq!(r.engine.counter("matched"), Some(matched));

    r.receiver.set_mode(Mode::Ok);
    // Every matched event reaches Slack: as its own alert or counted in a summary.
    let accounted = || {
        r.receiver
            .accepted()
            .iter()
            .map(|m| {
                let text = m["text"].as_str().unwrap_or_default();
                match text.strip_prefix("slack_alert summary: ") {
                    Some(rest) => rest
                        .split(' ')
                        .next()
                        .unwrap()
                        .replace(',', "")
                        .parse::<u64>()
                        .unwrap(),
                    None => 1,
                }
            })
            .sum::<u64>()
    };
    assert!(
        wait_until(Duration::from_secs(30), || accounted() == matched),
        "{} of {matched} events reached Slack: {decisions:?} {:#?}",
        accounted(),
        r.receiver
            .accepted()
            .iter()
            .map(|m| m["text"].clone())
            .collect::<Vec<_>>()
    );
    let texts: Vec<String> = r
        .receiver
        .accepted()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("lost")),
        "a summary says alerts were lost: {texts:#?}"
    );
    assert!(r.receiver.violations().is_empty());
    drain_log_checking_secret(&r);
}
