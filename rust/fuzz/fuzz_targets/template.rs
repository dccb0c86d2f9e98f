//! `%{}` templates: parsing operator text and rendering it over any event.
//!
//! Input: the template text, a NUL byte, then the event as JSON (anything
//! that is not JSON becomes an event whose `message` is that text). Checks
//! that an alert rendered with the template as title and body stays within
//! Slack's limits, and that an alert whose only operator text is references
//! carries no mention or link: values from the event are always escaped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use slack_alert_render::{limits, render_alert, AlertView, Style, Template};
use fake_slack::mentions;

fn alert(event: &Value, title: Option<&Template>, format: Option<&Template>) -> Value {
    let view = AlertView {
        level: "ERROR",
        raw_level: event.get("log.level").and_then(Value::as_str),
        fields: event,
        title,
        format,
        mention: None,
        link: None,
        occurrences: None,
        rule: None,
    };
    render_alert(&view, &Style::default())
}

fn assert_within_limits(payload: &Value) {
    let violations = limits::check(payload);
    assert!(violations.is_empty(), "{violations:?}\n{payload:.2000}");
}

fuzz_target!(|data: &[u8]| {
    let (template, event) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let event = match serde_json::from_slice::<Value>(event) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({"log.level": "ERROR", "message": String::from_utf8_lossy(event)}),
    };

    // Values from the event never become mentions or links.
    let refs_only = Template::parse("%{message} %{[log.level]} %{[service.name]} %{[a][b]}")
        .expect("a valid template");
    let payload = alert(&event, Some(&refs_only), Some(&refs_only));
    assert_within_limits(&payload);
    assert_eq!(mentions(&payload), Vec::<String>::new(), "{payload}");
    let default = alert(&event, None, None);
    assert_within_limits(&default);
    assert_eq!(mentions(&default), Vec::<String>::new(), "{default}");

    // Whatever the operator writes, the message stays within Slack's limits.
    let Ok(text) = std::str::from_utf8(template) else {
        return;
    };
    let Ok(template) = Template::parse(text) else {
        return;
    };
    assert_eq!(template.as_str(), text);
    for reference in template.references() {
        assert!(reference.starts_with('['), "not canonical: {reference}");
    }
    let _ = template.render(&event);
    let _ = template.render_plain(&event);
    if !text.trim().is_empty() {
        assert_within_limits(&alert(&event, Some(&template), Some(&template)));
    }
});
