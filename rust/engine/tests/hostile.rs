//! Hostile and broken events: levels of every type and size, huge messages
//! and events, field values that try to ping a channel or forge a link, and
//! Korean, emoji and escapes at every truncation boundary. Nothing panics,
//! every message stays within Slack's limits, and nothing from an event
//! becomes a mention or a link.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{assert_no_violations, drain_log_checking_secret, merged, rig, submit};
use fake_slack::mentions;
use serde_json::{json, Map, Value};
use slack_alert_engine::destination;
use slack_alert_engine::{
    Alerter, Config, Decision, EventShape, Fingerprinter, Level, MatchedEvent, Now, Outgoing,
};
use slack_alert_render::limits::{
    FIELD_TEXT_MAX, HEADER_MAX, MESSAGE_BUDGET, SECTION_TEXT_MAX, TEXT_MAX,
};
use slack_alert_render::render::{FIELD_VALUE_MAX, LABEL_MAX, SUMMARY_LABEL_MAX};
use slack_alert_render::truncate::TRUNCATION_MARKER;

/// Text a log line may carry to ping people, forge links or break markup.
const HOSTILE: &[&str] = &[
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S123|@oncall>",
    "<@U123>",
    "<#C123|general>",
    "<https://evil.example|click>",
    "<mailto:ceo@example.com|mail>",
    "&amp;",
    "&lt;!channel&gt;",
    "&",
    "```",
    "`x`",
    "*bold* _it_ ~st~ >quote",
    "\u{0}\u{1}\u{7}\u{1b}[31mred\u{7f}",
    "\u{202e}reversed\u{2066}",
    "line\r\nbreak\ttab",
    "에러 발생",
    "🚨👩‍👩‍👧‍👦🏳️‍🌈",
    "\u{FFFD}\u{FEFF}",
];

/// Every ECS field the default message shows, as the flat keys JSON loggers write.
const FIELDS: &[&str] = &[
    "message",
    "service.name",
    "host.name",
    "log.logger",
    "process.thread.name",
    "trace.id",
    "error.type",
    "error.message",
    "error.stack_trace",
    "service.environment",
    "@timestamp",
];

/// Fails unless `payload` keeps Slack's limits, carries no mention or link,
/// and has no entity cut in half (every `&` starts `&amp;`, `&lt;` or `&gt;`).
fn assert_safe(payload: &Value, what: &str) {
    let violations = slack_alert_render::limits::check(payload);
    assert!(
        violations.is_empty(),
        "{what}: breaks Slack's limits: {violations:?}\n{payload:.3000}"
    );
    let found = mentions(payload);
    assert!(
        found.is_empty(),
        "{what}: event data became a mention or link: {found:?}"
    );
    fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(payload, &mut all);
    for s in all {
        for (i, _) in s.match_indices('&') {
            let rest = &s[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "{what}: a raw or broken entity at {:?}",
                &rest[..rest.len().min(12)]
            );
        }
    }
}

/// The decision core on a clock the test moves, collecting messages.
struct Scenario {
    config: Arc<Config>,
    alerter: Alerter,
    shape: Arc<EventShape>,
    fingerprinter: Fingerprinter,
    sent: Vec<Outgoing>,
}

impl Scenario {
    fn new(options: Value) -> Scenario {
        let config = merged(json!({"dry_run": true}), options);
        let config = Arc::new(Config::try_from(config).unwrap());
        Scenario {
            alerter: Alerter::new(Arc::clone(&config), Arc::default(), at(0)),
            shape: EventShape::new(config.event_refs()),
            fingerprinter: Fingerprinter::new(config.rules[0].dedup_fields.clone()),
            sent: Vec::new(),
            config,
        }
    }

    fn event(&mut self, ms: u64, event: &Value) -> Decision {
        let matched = MatchedEvent::from_json(&self.shape, event);
        let fingerprint = self.fingerprinter.fingerprint(Level::Error, &matched);
        self.alerter
            .on_event(Level::Error, &fingerprint, &matched, at(ms), &mut self.sent)
    }

    fn shutdown(&mut self, ms: u64) {
        self.alerter.on_shutdown(at(ms), &mut self.sent);
    }

    fn assert_all_safe(&self, what: &str) {
        assert!(!self.sent.is_empty(), "{what}: nothing was rendered");
        for (i, m) in self.sent.iter().enumerate() {
            let payload = destination::render(&self.config, m);
            assert_safe(&payload, &format!("{what}, message {i} ({:?})", m.kind()));
        }
    }
}

fn at(ms: u64) -> Now {
    Now {
        mono_ms: ms,
        wall: SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_790_000_000)
            + Duration::from_millis(ms),
    }
}

fn event_with(field: &str, value: Value) -> Value {
    let mut e = json!({
        "@timestamp": "2026-11-20T09:00:00.000Z",
        "log.level": "ERROR",
        "message": "plain message",
        "service.name": "orders",
    });
    e[field] = value;
    e
}

/// Alerts, repeat reports and summaries (whose labels come from event text)
/// for every hostile value in every field, with the default rendering and
/// with operator templates that only reference fields.
#[test]
fn hostile_values_in_every_field_and_every_message_kind_mention_no_one() {
    let formats = [
        json!({}),
        json!({
            "title": "%{[service.name]} %{message}",
            "format": "%{message}\n%{[error.stack_trace]}\n%{[log.logger]} %{[host.name]} %{[trace.id]}",
        }),
    ];
    for options in formats {
        for field in FIELDS {
            let mut options = options.clone();
            options["dedup_window"] = json!("10s");
            options["rate_limit"] = json!(60);
            options["burst"] = json!(3);
            let mut s = Scenario::new(options.clone());
            for (i, hostile) in HOSTILE.iter().enumerate() {
                let value = format!("{hostile} {hostile}\n{hostile} second line {i}");
                let event = event_with(field, json!(value));
                s.event(i as u64, &event);
                s.event(i as u64 + 1, &event);
            }
            // Windows close (repeat reports), the limit refills (summary).
            s.alerter.on_tick(at(11_000), &mut s.sent);
            s.alerter.on_tick(at(120_000), &mut s.sent);
            s.shutdown(121_000);
            let kinds: Vec<_> = s.sent.iter().map(Outgoing::kind).collect();
            s.assert_all_safe(&format!("{field} with {options}: {kinds:?}"));
        }
    }
}

/// Multi-byte characters, grapheme clusters and escapes straddling every
/// limit a text is cut to, in every field that is cut.
#[test]
fn korean_emoji_and_escapes_at_every_truncation_boundary_stay_within_limits() {
    let marker = TRUNCATION_MARKER.chars().count();
    let limits = [
        20, // a level name
        HEADER_MAX,
        FIELD_VALUE_MAX,
        SUMMARY_LABEL_MAX,
        LABEL_MAX,
        FIELD_TEXT_MAX,
        SECTION_TEXT_MAX,
        MESSAGE_BUDGET,
    ];
    let fillers = ["가", "😀", "&", "<", ">", "👩‍👩‍👧", "e\u{301}", "\u{0}", "`"];
    let fields = [
        "message",
        "error.stack_trace",
        "service.name",
        "log.logger",
        "error.type",
    ];
    let templates = [
        json!({}),
        json!({"title": "%{message}", "format": "%{message} %{[error.stack_trace]}"}),
    ];
    let mut rendered = 0;
    for options in &templates {
        let mut s = Scenario::new(json!({
            "dedup_window": "0s", "rate_limit": 3600, "burst": 1000,
            "title": options.get("title").cloned().unwrap_or(Value::Null),
            "format": options.get("format").cloned().unwrap_or(Value::Null),
        }));
        for limit in limits {
            for cut in [limit - marker, limit] {
                for offset in 0..=4 {
                    for filler in fillers {
                        for field in fields {
                            let lead = "a".repeat(cut.saturating_sub(offset));
                            let value = format!("{lead}{}{lead}", filler.repeat(6));
                            s.event(0, &event_with(field, json!(value)));
                            rendered += 1;
                        }
                    }
                }
            }
        }
        s.assert_all_safe(&format!("boundaries with {options}"));
    }
    assert!(rendered > 1000);
}

/// Levels of every JSON type and size: only real levels alert, nothing panics.
#[test]
fn levels_of_every_type_and_size_decide_without_panicking() {
    let r = rig(
        json!({"dedup_window": "0s", "rate_limit": 3600, "burst": 1000}),
        Duration::from_millis(5),
    );
    let huge = "E".repeat(1 << 20);
    let ignored = [
        Value::Null,
        json!(true),
        json!(3.5),
        json!(-3),
        json!(1e300),
        json!(u64::MAX),
        json!(["ERROR"]),
        json!({"name": "ERROR"}),
        json!(""),
        json!(huge),
        json!(format!("ERROR{huge}")),
        json!("ERROR\u{0}"),
        json!("\u{FEFF}ERROR"),
        json!("ＥＲＲＯＲ"),
        json!("에러"),
        json!("INFO"),
    ];
    for (i, level) in ignored.iter().enumerate() {
        let mut event = common::error_event(&format!("ignored {i}"));
        event["log.level"] = level.clone();
        assert_eq!(submit(&r.engine, &event), Decision::Ignored, "level {i}");
    }
    let mut missing = common::error_event("no level at all");
    missing.as_object_mut().unwrap().remove("log.level");
    assert_eq!(submit(&r.engine, &missing), Decision::Ignored);
    let alerting = [
        json!("error"),
        json!(" FATAL\t"),
        json!(3),
        json!(50),
        json!("crit"),
    ];
    for (i, level) in alerting.iter().enumerate() {
        let mut event = common::error_event(&format!("alerting {}", common::letters(i)));
        event["log.level"] = level.clone();
        assert_eq!(submit(&r.engine, &event), Decision::Alerted, "{level}");
    }
    let accepted = r
        .receiver
        .wait_for_accepted(alerting.len(), Duration::from_secs(60));
    assert_eq!(accepted.len(), alerting.len());
    assert_no_violations(&r.receiver);
    drain_log_checking_secret(&r);
}

/// A 10 MB message, a 10 MB stack trace and an event of 10,000 fields cost no
/// more than the text Slack will show, and reach Slack within its limits.
#[test]
fn huge_messages_and_events_are_cheap_and_stay_within_limits() {
    let r = rig(
        json!({"dedup_window": "0s", "rate_limit": 3600, "burst": 1000}),
        Duration::from_millis(5),
    );
    let ten_mb_korean = "에러 <!channel> 발생 ".repeat(10 << 20 >> 5);
    let ten_mb_one_line = "x".repeat(10 << 20);
    let mut many = Map::new();
    for i in 0..10_000 {
        many.insert(format!("field.{i}"), json!(format!("<!here> value {i}")));
    }
    many.insert("log.level".into(), json!("ERROR"));
    many.insert("message".into(), json!("an event with 10,000 fields"));
    let events = [
        common::error_event(&ten_mb_korean),
        common::error_event(&ten_mb_one_line),
        {
            let mut e = common::error_event("stack trace of 10 MB");
            e["error.stack_trace"] = json!(format!("at a.b.C\n{ten_mb_korean}"));
            e
        },
        Value::Object(many),
    ];
    for (i, event) in events.iter().enumerate() {
        // What matters is that nothing scales with 10 MB twice: work quadratic
        // in the size would not finish within the ceiling, any machine load
        // would. (How long it takes: `scripts/bench huge`.)
        let engine = std::sync::Arc::clone(&r.engine);
        let event = event.clone();
        let decision = common::finishes_within(common::CEILING, move || submit(&engine, &event))
            .unwrap_or_else(|| panic!("event {i} was not decided within the ceiling"));
        assert_eq!(decision, Decision::Alerted, "event {i}");
    }
    let accepted = r.receiver.wait_for_accepted(events.len(), common::CEILING);
    assert_eq!(accepted.len(), events.len());
    for (i, payload) in accepted.iter().enumerate() {
        assert_safe(payload, &format!("huge event {i}"));
        assert!(
            payload.to_string().len() < 4 * TEXT_MAX,
            "payload {i} is too big"
        );
    }
    assert_no_violations(&r.receiver);
    drain_log_checking_secret(&r);
}

#[test]
fn counters_stay_consistent_after_hostile_input() {
    // Every matched event is exactly one of alert, repeat, rate-limited or dropped.
    let r = rig(
        json!({"dedup_window": "1h", "rate_limit": 60, "burst": 5}),
        Duration::from_millis(5),
    );
    for (i, hostile) in HOSTILE.iter().enumerate() {
        for _ in 0..3 {
            submit(&r.engine, &common::error_event(&format!("{hostile} {i}")));
        }
    }
    let get = |n: &str| r.engine.counter(n).unwrap();
    let matched = get("matched");
    assert_eq!(matched, 3 * HOSTILE.len() as u64);
    assert_eq!(
        get("alerts") + get("repeats") + get("rate_limited") + get("dropped"),
        matched
    );
}
