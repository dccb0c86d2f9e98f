//! Several rules against a local receiver: JSON destinations, shared webhooks.

mod common;

use std::time::Duration;

use serde_json::json;
use slack_alert_engine::Decision;
use slack_alert_receiver::Mode;

use common::{drain_log_checking_secret, error_event, rig, submit, wait_until};

fn json_rule(extra: serde_json::Value) -> serde_json::Value {
    let mut rule = json!({
        "name": "hook", "destination": "json",
        // `text` too, so that the receiver (a Slack stand-in) accepts it.
        "body_template": {"text": "%{[@alert][title]}", "summary": "%{[@alert][text]}", "count": "%{[@alert][count]}",
                          "kind": "%{[@alert][kind]}", "service": "%{[service.name]}"},
    });
    rule.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    rule
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
    assert!(wait_until(Duration::from_secs(5), || r
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
    assert!(wait_until(Duration::from_secs(10), || r
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
    assert!(wait_until(Duration::from_secs(10), || r
        .engine
        .counter("sent")
        == Some(2)));
    assert_eq!(r.engine.counter("retries"), Some(3));
    // A 4xx is not retried and its body is logged, escaped and short.
    r.receiver
        .set_mode(Mode::status(400, &format!("bad\n{}", "x".repeat(500))));
    submit(&r.engine, &error_event("third"));
    assert!(wait_until(Duration::from_secs(10), || r
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
    let messages = r.receiver.wait_for_accepted(2, Duration::from_secs(5));
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
    assert!(r.receiver.violations().is_empty());
}
