//! The engine against a real local HTTP server that behaves like Slack.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fake_slack::Mode;
use serde_json::{json, Value};
use slack_alert_engine::{Decision, ManualClock};

use common::{
    drain_log_checking_secret, error_event, finishes_within, letters, rig, rig_on, submit,
    wait_until, Rig, CEILING,
};

/// Every count a message states, read back from its fallback text.
fn text_of(message: &Value) -> String {
    message["text"].as_str().unwrap_or_default().to_string()
}

fn assert_clean(r: &Rig) {
    assert_eq!(
        r.receiver.violations(),
        Vec::<String>::new(),
        "every payload within Slack's limits"
    );
    drain_log_checking_secret(r);
}

#[test]
fn a_storm_of_10000_identical_errors_is_one_alert_and_one_repeat_count() {
    // On a clock that moves only when told: the whole storm falls in one
    // window however long a busy machine takes over it.
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let r = rig_on(
        json!({"dedup_window": "3s"}),
        Duration::from_millis(10),
        Some(clock.clone()),
    );
    let events: Vec<_> = (0..10_000)
        .map(|i| {
            r.engine.event_from_json(&error_event(&format!(
                "timeout after {} ms for user {}",
                2900 + i % 200,
                i
            )))
        })
        .collect();
    let mut decisions = std::collections::HashMap::new();
    for event in &events {
        *decisions.entry(r.engine.submit(event)).or_insert(0u32) += 1;
    }
    assert_eq!(decisions.get(&Decision::Alerted), Some(&1));
    assert_eq!(decisions.get(&Decision::Repeat), Some(&9_999));
    // No further event: once the window has passed, the timer closes it and
    // reports the count.
    assert_eq!(r.receiver.wait_for_accepted(1, CEILING).len(), 1);
    clock.advance(Duration::from_secs(3));
    let messages = r.receiver.wait_for_accepted(2, CEILING);
    assert_eq!(messages.len(), 2, "{messages:#?}");
    let repeat = text_of(&messages[1]);
    assert!(
        repeat.contains("9,999"),
        "the repeat message states the exact count: {repeat}"
    );
    // Shutdown delivers whatever is still open or queued: nothing more.
    let report = r.engine.shutdown();
    assert_eq!(report.undelivered_messages, 0, "{report}");
    assert_eq!(
        r.receiver.accepted().len(),
        2,
        "exactly one alert and one repeat report"
    );
    assert_eq!(r.engine.counter("repeats"), Some(9_999));
    assert_clean(&r);
}

#[test]
fn a_thousand_distinct_errors_stay_within_the_limit_and_are_all_accounted_for() {
    // Real pacing (1/s) and a generous limit so that the limit, not the
    // pacing, decides what is summarised.
    // Decisions on a clock that stands still while the thousand arrive, so
    // no token returns during them however slow the machine.
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let r = rig_on(
        json!({"rate_limit": 60, "burst": 3}),
        Duration::from_secs(1),
        Some(clock.clone()),
    );
    for i in 0..1000 {
        submit(
            &r.engine,
            &error_event(&format!("failure kind {}", letters(i))),
        );
    }
    let alerts = r.engine.counter("alerts").unwrap();
    let limited = r.engine.counter("rate_limited").unwrap();
    assert_eq!(alerts, 3);
    assert_eq!(alerts + limited, 1000);
    // The burst goes out paced, then the summary when a token returns.
    assert_eq!(r.receiver.wait_for_accepted(3, CEILING).len(), 3);
    assert_eq!(r.receiver.accepted().len(), 3, "no token yet: no summary");
    clock.advance(Duration::from_secs(1));
    let messages = r.receiver.wait_for_accepted(4, CEILING);
    assert_eq!(messages.len(), 4, "{messages:#?}");
    let summary = text_of(&messages[3]);
    assert!(
        summary.starts_with("slack_alert summary: 997 events"),
        "the summary accounts for every held-back alert: {summary}"
    );
    let stats = r.receiver.stats();
    assert!(
        stats.max_posts_in_any_1s <= 1,
        "paced to Slack's 1/s: {stats:?}"
    );
    assert_eq!(stats.rate_limited, 0);
    assert_clean(&r);
}

#[test]
fn retry_after_is_honoured() {
    let r = rig(json!({}), Duration::from_millis(10));
    r.receiver.set_mode(Mode::FailNext {
        count: 2,
        then: Box::new(Mode::Status {
            status: 429,
            error: "rate_limited".into(),
            retry_after: Some(1),
        }),
    });
    submit(&r.engine, &error_event("disk full"));
    let messages = r.receiver.wait_for_accepted(1, CEILING);
    assert_eq!(messages.len(), 1);
    let received = r.receiver.received();
    assert_eq!(
        received.iter().map(|x| x.status).collect::<Vec<_>>(),
        vec![429, 429, 200]
    );
    for pair in received.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(950),
            "waited only {gap:?} after a 429 with Retry-After: 1"
        );
    }
    assert_eq!(r.engine.counter("retries"), Some(2));
    assert_clean(&r);
}

#[test]
fn server_errors_are_retried_with_backoff() {
    let r = rig(json!({"max_retries": 3}), Duration::from_millis(10));
    r.receiver.set_mode(Mode::FailNext {
        count: 2,
        then: Box::new(Mode::Status {
            status: 500,
            error: "rollup_error".into(),
            retry_after: None,
        }),
    });
    submit(&r.engine, &error_event("disk full"));
    assert_eq!(r.receiver.wait_for_accepted(1, CEILING).len(), 1);
    assert_eq!(r.engine.counter("retries"), Some(2));
    assert_eq!(r.engine.counter("send_failures"), Some(0));
    assert_clean(&r);
}

#[test]
fn a_revoked_webhook_is_logged_once_with_slacks_words_and_counted() {
    let r = rig(
        json!({"rate_limit": 3600, "burst": 10}),
        Duration::from_millis(10),
    );
    r.receiver.set_mode(Mode::Status {
        status: 404,
        error: "no_service".into(),
        retry_after: None,
    });
    for i in 0..5 {
        submit(&r.engine, &error_event(&format!("problem {}", letters(i))));
    }
    // Five alerts fail, then the summary reporting them fails too.
    wait_until(CEILING, || r.engine.counter("send_failures").unwrap() >= 6);
    assert_eq!(r.engine.counter("send_failures"), Some(6));
    assert_eq!(r.engine.counter("retries"), Some(0), "4xx is never retried");
    let lines = r.log.drain();
    let errors: Vec<_> = lines
        .iter()
        .filter(|(_, l)| l.contains("no_service"))
        .collect();
    assert_eq!(errors.len(), 1, "logged once, not per message: {lines:?}");
    assert!(errors[0].1.contains("revoked or mistyped"));
    // When Slack works again, the next summary says what was lost.
    // A summary about failed deliveries is retried every 10 s, and a failed
    // summary hands its count back: all five are reported.
    r.receiver.set_mode(Mode::Ok);
    let messages = r.receiver.wait_for_accepted(1, CEILING);
    assert_eq!(messages.len(), 1);
    let summary = text_of(&messages[0]);
    assert!(
        summary.starts_with("slack_alert summary: 5 events"),
        "{summary}"
    );
}

#[test]
fn a_hung_slack_never_blocks_submit_and_shutdown_is_bounded() {
    // The longest request timeout there is: a submit or a shutdown that
    // waited for Slack would wait 300 s, far past the ceiling.
    let r = rig(
        json!({"queue_size": 10, "rate_limit": 3600, "burst": 1000,
               "timeout": "300s", "shutdown_timeout": "1s"}),
        Duration::ZERO,
    );
    r.receiver.set_mode(Mode::Hang);
    let engine = Arc::clone(&r.engine);
    let decisions = finishes_within(CEILING, move || {
        let mut decisions = std::collections::HashMap::new();
        for i in 0..2000 {
            let event = engine.event_from_json(&error_event(&format!("problem {}", letters(i))));
            *decisions.entry(engine.submit(&event)).or_insert(0u32) += 1;
        }
        decisions
    })
    .expect("2,000 submits return while Slack hangs");
    assert!(
        decisions.get(&Decision::Dropped).copied().unwrap_or(0) > 0,
        "{decisions:?}"
    );
    assert_eq!(
        r.engine.counter("dropped").map(|d| d as u32),
        decisions.get(&Decision::Dropped).copied()
    );
    let engine = Arc::clone(&r.engine);
    let report = finishes_within(CEILING, move || engine.shutdown())
        .expect("shutdown returns while Slack hangs");
    assert!(
        r.receiver.accepted().is_empty(),
        "Slack was hung throughout"
    );
    assert!(report.undelivered_messages > 0, "{report}");
    assert!(
        report.to_string().contains("could not be delivered"),
        "{report}"
    );
}

#[test]
fn shutdown_delivers_what_was_queued() {
    let r = rig(
        json!({"burst": 5, "dedup_window": "1h"}),
        Duration::from_millis(50),
    );
    for i in 0..3 {
        submit(&r.engine, &error_event(&format!("problem {}", letters(i))));
    }
    submit(&r.engine, &error_event("problem a"));
    let report = r.engine.shutdown();
    assert_eq!(report.undelivered_messages, 0, "{report}");
    let messages = r.receiver.accepted();
    // Three alerts, then the open window's repeat report.
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert_eq!(submit(&r.engine, &error_event("late")), Decision::Closed);
    assert_clean(&r);
}

#[test]
fn event_text_cannot_mention_or_link() {
    let r = rig(
        json!({"format": "<!here> %{message} from %{[service.name]}"}),
        Duration::from_millis(10),
    );
    let mut e = error_event("<!channel> <@U123> <https://evil.example|click> &amp;");
    e["service.name"] = json!("<!everyone>");
    submit(&r.engine, &e);
    let messages = r.receiver.wait_for_accepted(1, CEILING);
    let mentions = fake_slack::mentions(&messages[0]);
    assert!(!mentions.is_empty(), "the operator's own mention is kept");
    assert!(
        mentions.iter().all(|m| m == "<!here>"),
        "only the operator's mention survives: {mentions:?}"
    );
    assert_clean(&r);
}
