//! Several rules against a local receiver: JSON destinations, shared webhooks.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fake_slack::{Mode, Receiver};
use serde_json::json;
use slack_alert_engine::{BufferedLog, Config, Decision, Engine, EngineOptions, ManualClock};

use common::{
    assert_no_violations, drain_log_checking_secret, error_event, letters, merged, rig, submit,
    wait_until, SECRET,
};

fn json_rule(extra: serde_json::Value) -> serde_json::Value {
    merged(
        json!({
            "name": "hook", "destination": "json",
            // `text` too, so that the receiver (a Slack stand-in) accepts it.
            "body_template": {"text": "%{[@alert][title]}", "summary": "%{[@alert][text]}", "count": "%{[@alert][count]}",
                              "kind": "%{[@alert][kind]}", "service": "%{[service.name]}"},
        }),
        extra,
    )
}

#[test]
fn a_json_destination_gets_its_template_and_any_2xx_is_success() {
    let r = rig(
        json!({"rules": [json_rule(json!({}))]}),
        Duration::from_millis(10),
    );
    r.receiver.set_mode(Mode::status(202, "accepted"));
    assert_eq!(
        submit(&r.engine, &error_event("disk full")),
        Decision::Alerted
    );
    assert!(wait_until(Duration::from_secs(60), || r
        .engine
        .counter("sent")
        == Some(1)));
    let received = r.receiver.received();
    let body = received[0].body.clone().unwrap();
    assert_eq!(
        body["count"],
        json!(1),
        "a lone reference keeps its JSON type"
    );
    assert_eq!(body["kind"], "alert");
    assert_eq!(body["service"], "orders");
    assert!(
        body["summary"].as_str().unwrap().contains("disk full"),
        "{body}"
    );
    assert!(body.get("blocks").is_none(), "not a Slack payload: {body}");
    assert_eq!(r.engine.counter("send_failures"), Some(0));
    drain_log_checking_secret(&r);
}

#[test]
fn a_json_destination_is_retried_on_429_and_5xx_like_slack() {
    let r = rig(
        json!({"rules": [json_rule(json!({}))]}),
        Duration::from_millis(10),
    );
    r.receiver.set_mode(Mode::FailNext {
        count: 2,
        then: Box::new(Mode::status(503, "busy")),
    });
    submit(&r.engine, &error_event("first"));
    assert!(wait_until(Duration::from_secs(60), || r
        .engine
        .counter("sent")
        == Some(1)));
    assert_eq!(r.engine.counter("retries"), Some(2));
    // One 429 (Retry-After: 0), then accepted.
    r.receiver.set_mode(Mode::FailNext {
        count: 1,
        then: Box::new(Mode::rate_limited(Some(0))),
    });
    submit(&r.engine, &error_event("second"));
    assert!(wait_until(Duration::from_secs(60), || r
        .engine
        .counter("sent")
        == Some(2)));
    assert_eq!(r.engine.counter("retries"), Some(3));
    // A 4xx is not retried and its body is logged, escaped and short.
    r.receiver
        .set_mode(Mode::status(400, &format!("bad\n{}", "x".repeat(500))));
    submit(&r.engine, &error_event("third"));
    assert!(wait_until(Duration::from_secs(60), || r
        .engine
        .counter("send_failures")
        == Some(1)));
    let lines = drain_log_checking_secret(&r);
    let line = lines
        .iter()
        .find(|l| l.contains("HTTP 400"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(line.contains("bad\\n"), "{line}");
    assert!(!line.contains(&"x".repeat(201)), "{line}");
}

#[test]
fn two_rules_sharing_a_webhook_are_paced_together() {
    let pace = Duration::from_millis(300);
    let r = rig(
        json!({"rules": [
            {"name": "a", "equals": {"[message]": "from a"}},
            {"name": "b", "equals": {"[message]": "from b"}},
        ]}),
        pace,
    );
    for i in 0..2 {
        assert_eq!(
            submit(&r.engine, &error_event("from a")),
            if i == 0 {
                Decision::Alerted
            } else {
                Decision::Repeat
            }
        );
        submit(&r.engine, &error_event("from b"));
    }
    let messages = r.receiver.wait_for_accepted(2, Duration::from_secs(60));
    assert_eq!(messages.len(), 2);
    let received = r.receiver.received();
    let gap = received[1].at.duration_since(received[0].at);
    assert!(
        gap >= pace - Duration::from_millis(20),
        "one sender paces both rules: {gap:?}"
    );
    assert_eq!(r.engine.rule_counter("a", "alerts"), Some(1));
    assert_eq!(r.engine.rule_counter("b", "alerts"), Some(1));
    assert_eq!(r.engine.rule_counter("a", "repeats"), Some(1));
    assert_no_violations(&r.receiver);
}

/// Issue 12, item 5: `rate_limit` is per webhook, as the README says, not
/// per rule. Ten distinct errors in a second, half for each of two rules on
/// one webhook, with one token a minute: one alert, then (when the clock
/// gives the token back) one summary accounting for the other nine.
#[test]
fn two_rules_sharing_a_webhook_share_one_rate_limit_and_one_summary() {
    let receiver = Receiver::start().expect("receiver starts");
    let config = Config::try_from(json!({
        "webhook_url": format!("http://{}/services/{SECRET}", receiver.addr()),
        "allow_custom_webhook": true,
        "timeout": "2s",
        "shutdown_timeout": "3s",
        "rate_limit": 1,
        "burst": 1,
        "rules": [
            {"name": "orders", "equals": {"[service.name]": "orders"}},
            {"name": "payments", "equals": {"[service.name]": "payments"}},
        ],
    }))
    .expect("valid config");
    let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
    let mut options = EngineOptions::new(Arc::new(BufferedLog::new(1000)));
    options.clock = clock.clone();
    options.pace = Duration::from_millis(10);
    options.tick = Duration::from_millis(20);
    let engine = Engine::start_with(config, options).expect("engine starts");

    let mut decisions = Vec::new();
    for i in 0..10 {
        let mut event = error_event(&format!("failure kind {}", letters(i)));
        event["service.name"] = json!(if i % 2 == 0 { "orders" } else { "payments" });
        decisions.push(submit(&engine, &event));
        clock.advance(Duration::from_millis(100));
    }
    assert_eq!(decisions[0], Decision::Alerted);
    assert!(
        decisions[1..].iter().all(|d| *d == Decision::RateLimited),
        "one bucket for the webhook: {decisions:?}"
    );
    assert_eq!(engine.rule_counter("orders", "rate_limited"), Some(4));
    assert_eq!(engine.rule_counter("payments", "rate_limited"), Some(5));
    assert_eq!(engine.rule_counter("payments", "alerts"), Some(0));

    // The token comes back a minute later, on the engine's clock.
    clock.advance(Duration::from_secs(60));
    let messages = receiver.wait_for_accepted(2, Duration::from_secs(30));
    assert_eq!(messages.len(), 2, "{messages:#?}");
    let report = engine.shutdown();
    assert_eq!(report.undelivered_messages, 0, "{report}");
    let messages = receiver.accepted();
    let texts: Vec<&str> = messages
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts.len(), 2, "one alert and one summary: {texts:#?}");
    assert!(texts[0].contains("failure kind a"), "{texts:#?}");
    assert!(
        texts[1].starts_with("slack_alert summary: 9 events"),
        "the summary accounts for the other nine: {texts:#?}"
    );
    let summary = messages[1].to_string();
    assert!(summary.contains("orders, payments"), "{summary}");
    assert_no_violations(&receiver);
}
