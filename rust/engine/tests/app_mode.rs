//! Slack app mode end to end: the engine, its real HTTP client and the fake
//! Slack's Web API, which keeps what a person would see in each channel.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fake_slack::{ApiFailure, ChannelSpec, Method, Mode, Receiver, Token, TokenState};
use serde_json::{json, Value};
use slack_alert_engine::{BufferedLog, Config, Decision, Engine, EngineOptions, ManualClock};

use common::{error_event, finishes_within, letters, merged, wait_until, CEILING};

/// The secret part of the token every test configures.
const TOKEN_SECRET: &str = "LEAKTESTtoken0123456789";

struct App {
    receiver: Receiver,
    engine: Arc<Engine>,
    log: Arc<BufferedLog>,
    clock: Arc<ManualClock>,
}

fn token() -> String {
    format!("xoxb-1-2-{TOKEN_SECRET}")
}

/// An engine in app mode on a manual clock (windows and update intervals
/// move only when told), posting to a fresh fake Slack.
fn app(options: Value) -> App {
    app_on(Receiver::start().expect("receiver starts"), options)
}

fn app_on(receiver: Receiver, options: Value) -> App {
    let config = merged(
        json!({
            "slack_token": token(),
            "slack_api_url": receiver.api_url(),
            "allow_custom_webhook": true,
            "channel": "#alerts",
            "dedup_window": "1m",
            "update_interval": "1s",
            "rate_limit": 3600,
            "burst": 100,
            "timeout": "2s",
            "shutdown_timeout": "5s",
        }),
        options,
    );
    let config = Config::try_from(config).expect("valid config");
    let log = Arc::new(BufferedLog::new(10_000));
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let mut opts = EngineOptions::new(log.clone());
    opts.clock = clock.clone();
    opts.tick = Duration::from_millis(20);
    opts.retry_base = Duration::from_millis(50);
    let engine = Arc::new(Engine::start_with(config, opts).expect("engine starts"));
    App {
        receiver,
        engine,
        log,
        clock,
    }
}

impl App {
    fn submit(&self, event: &Value) -> Decision {
        self.engine.submit(&self.engine.event_from_json(event))
    }

    /// The top-level messages of `channel` once `done` holds for them.
    fn messages_when(
        &self,
        channel: &str,
        mut done: impl FnMut(&[fake_slack::MessageView]) -> bool,
    ) -> Vec<fake_slack::MessageView> {
        let mut seen = Vec::new();
        let held = wait_until(CEILING, || {
            seen = self
                .receiver
                .channel(channel)
                .map(|c| c.messages)
                .unwrap_or_default();
            done(&seen)
        });
        assert!(held, "{channel} never got there: {seen:#?}");
        seen
    }

    fn calls(&self, method: &str) -> usize {
        self.receiver
            .api_calls()
            .iter()
            .filter(|c| c.method == method && c.ok)
            .count()
    }

    /// Every log line; none may carry the token.
    fn logs(&self) -> String {
        let lines: Vec<String> = self.log.drain().into_iter().map(|(_, l)| l).collect();
        let all = lines.join("\n");
        assert!(!all.contains(TOKEN_SECRET), "the token leaked: {all}");
        all
    }
}

/// What the message shows now, as one string.
fn shown(m: &fake_slack::MessageView) -> String {
    format!(
        "{} {} {}",
        m.text,
        m.blocks.clone().unwrap_or(Value::Null),
        m.attachments.clone().unwrap_or(Value::Null)
    )
}

#[test]
fn a_storm_of_10000_repeats_is_one_message_updated_and_marked_quiet_with_the_exact_count() {
    let a = app(json!({}));
    let event = error_event("connection pool exhausted");
    // Ten seconds of storm in event time, a thousand a second.
    for _second in 0..10 {
        for _ in 0..1000 {
            a.submit(&event);
        }
        a.messages_when("#alerts", |m| m.len() == 1);
        a.clock.advance(Duration::from_secs(1));
    }
    // The window closes: the message is marked quiet with the final count.
    a.clock.advance(Duration::from_secs(61));
    let messages = a.messages_when("#alerts", |m| {
        m.first().is_some_and(|m| {
            shown(m).contains("Quiet since")
                && m.replies.iter().any(|r| r.text.contains("Quiet since"))
        })
    });
    assert_eq!(messages.len(), 1, "one message for the incident");
    let message = &messages[0];
    assert!(
        shown(message).contains("10,000 events"),
        "{}",
        shown(message)
    );
    assert!(shown(message).contains("#2eb886"), "turned green");
    // At most one update per second of the storm, and the final one.
    assert!(message.edits as u64 <= 10 + 2, "{} edits", message.edits);
    assert!(message.edits >= 1);
    // Its thread says so, and the milestones it passed.
    let replies: Vec<&str> = message.replies.iter().map(|r| r.text.as_str()).collect();
    assert!(
        replies.iter().any(|r| r.contains("Quiet since")),
        "{replies:?}"
    );
    assert!(
        replies.iter().any(|r| r.contains("1,000× now")),
        "{replies:?}"
    );
    let report = a.engine.shutdown();
    assert_eq!(report.undelivered_messages, 0, "{report}");
    assert_eq!(a.engine.counter("sent"), Some(2));
    assert!(
        a.receiver.violations().is_empty(),
        "{:?}",
        a.receiver.violations()
    );
    a.logs();
}

#[test]
fn channel_templates_route_to_each_channel_and_a_missing_one_falls_back() {
    let receiver = Receiver::start().unwrap();
    receiver
        .declare_channels(&[ChannelSpec {
            name: "alerts-secret".into(),
            member: false,
            archived: false,
            private: true,
        }])
        .unwrap();
    let a = app_on(
        receiver,
        json!({"channel": "#alerts-%{[service.name]}", "fallback_channel": "#alerts"}),
    );
    for (i, service) in ["orders", "billing", "search"].iter().enumerate() {
        let mut e = error_event(&format!("failure {}", letters(i)));
        e["service.name"] = json!(service);
        a.submit(&e);
    }
    let mut no_service = error_event("no service named");
    no_service.as_object_mut().unwrap().remove("service.name");
    a.submit(&no_service);
    // A private channel the bot is not in: Slack refuses, the fallback takes it.
    let mut secret = error_event("secret failure");
    secret["service.name"] = json!("secret");
    a.submit(&secret);
    for channel in ["#alerts-orders", "#alerts-billing", "#alerts-search"] {
        a.messages_when(channel, |m| m.len() == 1);
    }
    a.messages_when("#alerts", |m| m.len() == 2);
    assert_eq!(a.engine.counter("channel_fallbacks"), Some(2));
    // Slack shows a message a moment before its answer is counted.
    assert!(wait_until(CEILING, || a.engine.counter("sent") == Some(5)));
    assert!(a.logs().contains("not_in_channel"));
}

#[test]
fn refused_tokens_and_scopes_are_logged_once_counted_and_reported() {
    let a = app(json!({}));
    a.receiver.set_token(
        &token(),
        Token {
            state: TokenState::Revoked,
            scopes: vec![],
        },
    );
    for i in 0..3 {
        a.submit(&error_event(&format!("problem {}", letters(i))));
    }
    assert!(wait_until(CEILING, || a.engine.counter("send_failures") == Some(3)));
    let logs = a.logs();
    assert_eq!(logs.matches("token_revoked").count(), 1, "{logs}");
    assert!(logs.contains("reinstall the app"), "{logs}");
    assert_eq!(a.calls("chat.postMessage"), 0);

    // A missing scope names it.
    let b = app(json!({}));
    b.receiver.set_token(
        &token(),
        Token {
            state: TokenState::Ok,
            scopes: vec!["files:write".into()],
        },
    );
    b.submit(&error_event("no scope"));
    assert!(wait_until(CEILING, || b.engine.counter("send_failures") == Some(1)));
    assert!(b.logs().contains("lacks the scope chat:write"));
}

#[test]
fn an_update_slack_cannot_make_posts_a_fresh_message_with_the_right_count() {
    let a = app(json!({"thread_replies": "none"}));
    let event = error_event("cache unreachable");
    a.submit(&event);
    a.messages_when("#alerts", |m| m.len() == 1);
    a.receiver
        .set_api_error(Method::Update, "message_not_found", None);
    for _ in 0..41 {
        a.submit(&event);
    }
    a.clock.advance(Duration::from_secs(61));
    let messages = a.messages_when("#alerts", |m| {
        m.len() == 2 && shown(&m[1]).contains("Quiet since")
    });
    assert!(
        shown(&messages[1]).contains("42 events"),
        "{}",
        shown(&messages[1])
    );
    assert!(a.engine.counter("reposts").unwrap() >= 1);
    assert_eq!(a.engine.shutdown().undelivered_messages, 0);
    assert!(a.logs().contains("message_not_found"));
}

#[test]
fn a_64_kib_stack_trace_ends_up_whole_in_the_incidents_thread() {
    let a = app(json!({}));
    let trace = format!(
        "java.lang.IllegalStateException: boom\n{}",
        "\tat com.example.orders.Service.handle(Service.java:42)\n".repeat(1200)
    );
    assert!(trace.len() >= 64 * 1024);
    let mut event = error_event("order failed");
    event["error.stack_trace"] = json!(trace);
    a.submit(&event);
    let messages = a.messages_when("#alerts", |m| m.len() == 1);
    assert!(wait_until(CEILING, || a.engine.counter("uploads") == Some(1)));
    let files = a.receiver.files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].state, "shared");
    assert_eq!(files[0].thread_ts.as_deref(), Some(messages[0].ts.as_str()));
    assert_eq!(files[0].text.as_deref(), Some(trace.as_str()));
    // The message itself shows a trimmed trace, within Slack's limits.
    assert!(a.receiver.violations().is_empty());
}

#[test]
fn updates_that_hang_or_are_rate_limited_never_hold_the_pipeline_or_new_posts() {
    let a = app(json!({"thread_replies": "none", "timeout": "30s"}));
    a.submit(&error_event("first problem"));
    a.messages_when("#alerts", |m| m.len() == 1);
    a.receiver
        .set_api_failure(Method::Update, ApiFailure::Mode(Mode::Hang), None);
    let engine = Arc::clone(&a.engine);
    let repeats = finishes_within(CEILING, move || {
        let event = engine.event_from_json(&error_event("first problem"));
        (0..20_000).all(|_| engine.submit(&event) == Decision::Repeat)
    });
    assert_eq!(repeats, Some(true), "submit returns while updates hang");
    a.clock.advance(Duration::from_secs(2));
    assert!(wait_until(CEILING, || a
        .receiver
        .api_calls()
        .iter()
        .any(|c| c.method == "chat.update")));
    // Shutdown is bounded by shutdown_timeout although the update hangs,
    // and says what Slack does not show.
    let engine = Arc::clone(&a.engine);
    assert!(
        finishes_within(CEILING, move || engine.shutdown()).is_some(),
        "shutdown returns although an update hangs"
    );
    a.logs();

    // A 429 on updates waits for updates only: new incidents still post.
    let b = app(json!({"thread_replies": "none"}));
    b.receiver.set_api_failure(
        Method::Update,
        ApiFailure::Mode(Mode::Status {
            status: 429,
            error: "ratelimited".into(),
            retry_after: Some(30),
        }),
        None,
    );
    b.submit(&error_event("first problem"));
    b.messages_when("#alerts", |m| m.len() == 1);
    b.submit(&error_event("first problem"));
    b.clock.advance(Duration::from_secs(2));
    assert!(wait_until(CEILING, || b
        .receiver
        .api_calls()
        .iter()
        .any(|c| c.method == "chat.update" && c.status == 429)));
    b.submit(&error_event("second problem"));
    b.messages_when("#alerts", |m| m.len() == 2);
    assert!(
        b.receiver.violations().is_empty(),
        "{:?}",
        b.receiver.violations()
    );
    b.logs();
}
