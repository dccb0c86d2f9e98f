//! Faults the engine must survive without stalling its callers or losing
//! count: shutdown against a hung Slack with hundreds of alerts queued, a
//! storm against a full queue, recovery after it.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{
    assert_no_violations, drain_log_checking_secret, error_event, finishes_within, letters, rig,
    submit, wait_until, CEILING,
};
use fake_slack::Mode;
use serde_json::json;
use slack_alert_engine::Decision;

#[test]
fn shutdown_with_500_alerts_queued_and_slack_hung_is_bounded_and_counts_every_one() {
    // Slack's real pace (1/s) and the longest request timeout there is: the
    // sender is stuck in the first post when shutdown starts, and a shutdown
    // that waited for that post would take 300 s, far past the ceiling.
    let common::Rig {
        receiver,
        engine,
        log,
    } = rig(
        json!({"queue_size": 1000, "rate_limit": 3600, "burst": 1000,
               "timeout": "300s", "shutdown_timeout": "1s", "dedup_window": "0s"}),
        Duration::from_secs(1),
    );
    receiver.set_mode(Mode::Hang);
    for i in 0..500 {
        let d = submit(&engine, &error_event(&format!("problem {}", letters(i))));
        assert_eq!(d, Decision::Alerted, "alert {i}");
    }
    assert!(wait_until(CEILING, || !receiver.received().is_empty()));
    let stopping = Arc::clone(&engine);
    let report = finishes_within(CEILING, move || stopping.shutdown())
        .expect("shutdown returns while Slack still hangs on its post");
    assert_eq!(
        receiver.received().len(),
        1,
        "Slack was still hung on the first post: nothing else was sent"
    );
    assert!(receiver.accepted().is_empty());
    assert_eq!(
        (report.undelivered_messages, report.undelivered_events),
        (500, 500),
        "{report}"
    );
    // Dropping the engine does not wait for the stuck sender a second time.
    finishes_within(CEILING, move || drop(engine))
        .expect("dropping the engine returns while Slack still hangs");
    let lines: Vec<String> = log.drain().into_iter().map(|(_, l)| l).collect();
    assert!(lines.iter().all(|l| !l.contains("leaktoken")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l
            .contains("500 queued messages (accounting for 500 events) could not be delivered")),
        "{lines:?}"
    );
}

/// Submits in the storm against a full queue.
const STORM: usize = 20_000;

#[test]
fn a_storm_against_a_full_queue_counts_every_drop_and_reports_it_after_recovery() {
    let r = rig(
        json!({"queue_size": 5, "rate_limit": 3600, "burst": 1000, "timeout": "300ms",
               "max_retries": 0, "dedup_window": "0s", "shutdown_timeout": "5s"}),
        Duration::ZERO,
    );
    r.receiver.set_mode(Mode::Hang);
    // The storm runs on a thread of its own; it must finish while Slack is
    // still hung. A submit that waited for room in the queue would wait out a
    // 300 ms request timeout each time: 20,000 of them, 100 minutes.
    // (How long each submit takes is measured by `scripts/bench filter-latency`.)
    let engine = Arc::clone(&r.engine);
    let decisions: HashMap<Decision, u64> = finishes_within(CEILING, move || {
        let mut decisions = HashMap::new();
        for i in 0..STORM {
            let event = engine.event_from_json(&error_event(&format!("problem {}", letters(i))));
            *decisions.entry(engine.submit(&event)).or_default() += 1;
        }
        decisions
    })
    .expect("20,000 submits return while Slack hangs and the queue is full");
    assert!(
        r.receiver.accepted().is_empty(),
        "Slack was hung for the whole storm"
    );
    let matched: u64 = decisions.values().sum();
    assert_eq!(matched, STORM as u64);
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
        wait_until(CEILING, || accounted() == matched),
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
    assert_no_violations(&r.receiver);
    drain_log_checking_secret(&r);
}
