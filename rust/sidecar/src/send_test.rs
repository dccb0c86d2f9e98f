//! `send-test`: one clearly marked test message to the configured webhook,
//! and Slack's answer in plain words.
//!
//! A Slack app destination (`slack_token`) is tested the way app mode uses
//! Slack: `auth.test` says whose token it is, `chat.postMessage` posts the
//! test message to the rule's channel, and `chat.update` edits it once, as
//! an incident's message is kept current. Each answer is told in plain
//! words; the token is only ever in the `Authorization` header.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Map, Value};
use slack_alert_engine::config::{ApiUrl, SlackToken};
use slack_alert_engine::destination::app::api::{advice, Answer, Api, Body, HttpApi};
use slack_alert_engine::sender::{HttpTransport, Transport};
use slack_alert_engine::{slack_error, Config, DestinationKind, RuleConfig, Webhook};
use slack_alert_render::AlertMeta;

/// Why the test message did not get through.
#[derive(Debug, PartialEq, Eq)]
pub enum SendTestError {
    /// Occurs when the configuration has no `webhook_url` (a `dry_run`
    /// configuration may leave it out).
    NoWebhook,
    /// Occurs when every destination is a Slack app without a token (a
    /// `dry_run` configuration may leave `slack_token` empty).
    NoToken,
    /// Occurs when the HTTP client cannot be set up.
    Client(String),
    /// Occurs when the webhook could not be reached (refused, timed out, TLS).
    Network { webhook: String, problem: String },
    /// Occurs when Slack answered with an error status.
    Refused {
        status: u16,
        error: String,
        meaning: &'static str,
    },
    /// Occurs when a step of a Slack app's test failed: `head` says which,
    /// `steps` what each call answered (or that it was not tried).
    App { head: String, steps: Vec<String> },
}

impl fmt::Display for SendTestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTestError::NoWebhook => f.write_str(
                "webhook_url: send-test needs a webhook; set webhook_url (e.g. \"${SLACK_WEBHOOK_URL}\")",
            ),
            SendTestError::NoToken => f.write_str(
                "slack_token: send-test needs the bot token; set slack_token (e.g. \"${SLACK_BOT_TOKEN}\")",
            ),
            SendTestError::Client(problem) => f.write_str(problem),
            SendTestError::App { head, steps } => {
                f.write_str(head)?;
                for step in steps {
                    write!(f, "\n  {step}")?;
                }
                Ok(())
            }
            SendTestError::Network { webhook, problem } => {
                write!(f, "could not reach {webhook}: {problem}")
            }
            SendTestError::Refused {
                status,
                error,
                meaning,
            } => {
                let error = if error.is_empty() {
                    "(no body)"
                } else {
                    error
                };
                write!(f, "{status} {error}: {meaning}")
            }
        }
    }
}

impl std::error::Error for SendTestError {}

/// Posts the test message once (no retries: the point is to see the answer)
/// to every destination of the configuration, in the order rules name them,
/// and returns what to tell the operator about each. A Slack webhook gets
/// Slack's test message; a JSON webhook gets its rule's `body_template`
/// rendered for an alert of kind `test` (no event fields); a Slack app gets
/// [`app_test`] in the channel of the first rule posting with it.
pub fn send_test(config: &Config) -> Vec<Result<String, SendTestError>> {
    let has_token = |d: &slack_alert_engine::Destination| matches!(&d.app, Some((Some(_), _)));
    if config
        .destinations
        .iter()
        .all(|d| d.webhook.is_none() && !has_token(d))
    {
        let all_app =
            !config.destinations.is_empty() && config.destinations.iter().all(|d| d.app.is_some());
        return vec![Err(if all_app {
            SendTestError::NoToken
        } else {
            SendTestError::NoWebhook
        })];
    }
    config
        .destinations
        .iter()
        .enumerate()
        .filter_map(|(i, destination)| {
            let rule = config.rules.iter().find(|r| r.destination == i)?;
            if let Some((token, url)) = &destination.app {
                return Some(send_app(config, rule, token.clone()?, url.clone()));
            }
            let webhook = destination.webhook.clone()?;
            Some(send_one(config, rule, destination.kind, webhook))
        })
        .collect()
}

fn send_app(
    config: &Config,
    rule: &RuleConfig,
    token: SlackToken,
    url: ApiUrl,
) -> Result<String, SendTestError> {
    let client = slack_alert_engine::destination::client::http_client(&config.client_settings())
        .map_err(SendTestError::Client)?;
    let shown = url.as_str().to_string();
    let mut api = HttpApi::new(client, token, url);
    app_test(&mut api, rule, &shown, config.timeout)
}

/// A token as every output shows it (`SlackToken`'s `Display`).
const TOKEN_SHOWN: &str = "xoxb-***";

/// What the app's test message says, before and after its update.
const APP_TEST_TEXT: &str = "slack_alert test message: the Slack app works";
/// What the update adds.
pub const UPDATED_LINE: &str = "✅ updated: this bot can keep incident messages current";

/// The test message for `channel`, with the rule's `username` and icon,
/// and after its update with [`UPDATED_LINE`].
fn app_test_message(rule: &RuleConfig, channel: &str, updated: bool) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": "✅ slack_alert test message"}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text":
            "This is a *test message* from the Logstash `slack_alert` filter in Slack app mode. \
             If you can read it, the bot can post here; `send-test` then updates it once, as \
             each incident's message is kept current."}}),
        json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": "No action needed: this is not an alert."}
        ]}),
    ];
    let mut text = APP_TEST_TEXT.to_string();
    if updated {
        blocks.push(json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": UPDATED_LINE}
        ]}));
        text = format!("{text} ({UPDATED_LINE})");
    }
    let mut message = json!({"channel": channel, "text": text, "blocks": blocks});
    // As the rule's alerts look (Slack honours them with chat:write.customize).
    let style = slack_alert_render::render_test(&rule.style);
    for key in ["username", "icon_emoji", "icon_url"] {
        if let Some(v) = style.get(key) {
            message[key] = v.clone();
        }
    }
    message
}

/// Text from Slack (a team or bot name) fit for one line of a terminal.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(80)
        .collect()
}

/// A failed call in plain words: Slack's `ok: false` code with what to do
/// about it, a rate limit with its wait, or what else came back.
fn refusal(method: &str, answer: &Answer, api: &str) -> String {
    if answer.is_rate_limited() {
        return match answer.retry_after {
            Some(wait) => format!("{method}: rate limited, retry after {} s", wait.as_secs()),
            None => format!("{method}: rate limited; retry in a minute"),
        };
    }
    match answer.error() {
        Some(error) => format!(
            "{method}: refused ({}): {}",
            one_line(error),
            advice(error, answer.field("needed"))
        ),
        None if answer.body.is_null() => format!(
            "{method}: unexpected answer (HTTP {}, not Slack's JSON); is slack_api_url ({api}) \
             Slack's Web API?",
            answer.status
        ),
        None => format!(
            "{method}: unexpected answer (HTTP {}, no ok: true)",
            answer.status
        ),
    }
}

/// One call, and its answer if Slack said `ok: true`; else what to say,
/// starting with `label` (the method, and where it was posting).
fn call(
    api: &mut dyn Api,
    (method, label): (&'static str, &str),
    body: Value,
    timeout: Duration,
    api_url: &str,
) -> Result<Answer, String> {
    match api.call(method, &Body::Json(body), timeout) {
        Ok(answer) if answer.is_ok() => Ok(answer),
        Ok(answer) => Err(refusal(label, &answer, api_url)),
        Err(problem) => Err(format!("{label}: could not reach {api_url}: {problem}")),
    }
}

/// Tests a Slack app destination: `auth.test`, then the test message
/// posted to the rule's channel (its `fallback_channel` when `channel` is
/// read from each event) and updated once. `api_url` is shown with the
/// token's kind (never the token). Stops at the first step that fails,
/// saying which steps were not tried.
pub fn app_test(
    api: &mut dyn Api,
    rule: &RuleConfig,
    api_url: &str,
    timeout: Duration,
) -> Result<String, SendTestError> {
    let shown = &format!("{api_url}, token {}", TOKEN_SHOWN);
    let mut steps = Vec::new();
    let failed = |steps: Vec<String>, method: &str| SendTestError::App {
        head: format!("the Slack app test failed at {method} ({shown})"),
        steps,
    };
    let app = rule.app.as_ref();
    let Some(channel) = app.and_then(|a| a.fixed_channel()) else {
        return Err(SendTestError::App {
            head: format!("the Slack app test has no channel to post to ({shown})"),
            steps: vec!["set `channel`, or `fallback_channel` when it reads the event".into()],
        });
    };
    let templated = app.is_some_and(|a| a.channel.is_templated());

    match call(api, ("auth.test", "auth.test"), json!({}), timeout, api_url) {
        Ok(answer) => {
            let field = |name: &str| answer.field(name).map(one_line);
            let mut who = match (field("user"), field("user_id")) {
                (Some(user), Some(id)) => format!("the bot \"{user}\" ({id})"),
                (Some(user), None) => format!("the bot \"{user}\""),
                (None, _) => "a bot".to_string(),
            };
            if let Some(team) = field("team") {
                who.push_str(&format!(" in team \"{team}\""));
            }
            if let Some(url) = field("url") {
                who.push_str(&format!(" ({url})"));
            }
            steps.push(format!("auth.test: ok, the token is {who}"));
        }
        Err(said) => {
            steps.push(said);
            steps.push("chat.postMessage: not tried (the token did not pass auth.test)".into());
            steps.push("chat.update: not tried (nothing was posted)".into());
            return Err(failed(steps, "auth.test"));
        }
    }

    let where_ = if templated {
        format!("{channel} (fallback_channel: `channel` is read from each event)")
    } else {
        channel.clone()
    };
    let posted = call(
        api,
        ("chat.postMessage", &format!("chat.postMessage to {where_}")),
        app_test_message(rule, &channel, false),
        timeout,
        api_url,
    );
    let (channel_id, ts) = match posted {
        Ok(answer) => {
            let channel_id = answer.field("channel").unwrap_or(&channel).to_string();
            let ts = answer.field("ts").unwrap_or_default().to_string();
            steps.push(format!(
                "chat.postMessage: ok, the test message is in {where_} (channel {}, ts {})",
                one_line(&channel_id),
                one_line(&ts)
            ));
            (channel_id, ts)
        }
        Err(said) => {
            steps.push(said);
            steps.push("chat.update: not tried (nothing was posted)".into());
            return Err(failed(steps, "chat.postMessage"));
        }
    };

    let mut update = app_test_message(rule, &channel_id, true);
    update["ts"] = json!(ts);
    match call(
        api,
        ("chat.update", "chat.update"),
        update,
        timeout,
        api_url,
    ) {
        Ok(_) => steps.push(format!(
            "chat.update: ok, the test message now says \"{UPDATED_LINE}\""
        )),
        Err(said) => {
            steps.push(said);
            return Err(failed(steps, "chat.update"));
        }
    }
    let mut report =
        format!("ok: the Slack app can post to {channel} and keep its messages current ({shown})");
    for step in steps {
        report.push_str("\n  ");
        report.push_str(&step);
    }
    Ok(report)
}

fn send_one(
    config: &Config,
    rule: &RuleConfig,
    kind: DestinationKind,
    webhook: Webhook,
) -> Result<String, SendTestError> {
    let redacted = webhook.redacted();
    let slack = slack_alert_render::render_test(&rule.style);
    let payload = match (&rule.body_template, kind) {
        (Some(body), DestinationKind::Json) => {
            let text = slack_alert_render::plain::to_text(&slack);
            let meta = AlertMeta {
                rule: &rule.name,
                kind: "test",
                level: None,
                title: TEST_TITLE,
                text: &text,
                count: 0,
                link: None,
                group: None,
            };
            body.render(&Value::Object(Map::new()), &meta)
        }
        _ => slack,
    };
    let body = serde_json::to_vec(&payload).expect("a JSON value serialises");
    let mut transport =
        HttpTransport::new(webhook, &config.client_settings()).map_err(SendTestError::Client)?;
    let who = match kind {
        DestinationKind::Slack | DestinationKind::SlackApp => "Slack accepted",
        DestinationKind::Json => "the JSON webhook accepted",
    };
    match transport.post(&body, config.timeout) {
        Ok(reply) if (200..300).contains(&reply.status) => {
            Ok(format!("ok: {who} the test message ({redacted})"))
        }
        Ok(reply) => {
            let error = reply.body.trim().to_string();
            let meaning = match kind {
                DestinationKind::Slack | DestinationKind::SlackApp => {
                    slack_error::explain(reply.status, &error)
                }
                DestinationKind::Json => "the JSON webhook refused the test message",
            };
            Err(SendTestError::Refused {
                status: reply.status,
                meaning,
                error: error.chars().take(200).collect(),
            })
        }
        Err(problem) => Err(SendTestError::Network {
            webhook: redacted,
            problem,
        }),
    }
}

/// `[@alert][title]` of a JSON destination's test message.
const TEST_TITLE: &str = "slack_alert test message";

#[cfg(test)]
mod tests {
    //! `send-test` against a local HTTP server that answers as Slack's Web
    //! API does (and as a webhook does, for a configuration with both).

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::{self, JoinHandle};

    use serde_json::{json, Value};

    use super::*;
    use crate::cli::SendTestArgs;

    const TOKEN: &str = "xoxb-1234-5678-sendtestsecret";
    const SECRET: &str = "sendtestsecret";

    /// One request as the fake saw it.
    #[derive(Clone, Debug)]
    struct Seen {
        /// The method (`auth.test`) or the webhook path's last segment.
        method: String,
        authorization: String,
        body: Value,
    }

    /// (status, extra headers, body) for a method and the JSON it was sent.
    type Answerer = Box<dyn Fn(&str, &Value) -> (u16, Vec<String>, String) + Send>;

    /// A local HTTP server with Slack's answers; stops when dropped.
    struct FakeSlack {
        addr: SocketAddr,
        seen: Arc<Mutex<Vec<Seen>>>,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl FakeSlack {
        fn start(answer: Answerer) -> FakeSlack {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let stop = Arc::new(AtomicBool::new(false));
            let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
            let thread = thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop2.load(Ordering::Acquire) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &answer, &seen2);
                    }
                }
            });
            FakeSlack {
                addr,
                seen,
                stop,
                thread: Some(thread),
            }
        }

        fn api_url(&self) -> String {
            format!("http://{}/api", self.addr)
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }

        fn methods(&self) -> Vec<String> {
            self.seen().into_iter().map(|s| s.method).collect()
        }
    }

    impl Drop for FakeSlack {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Release);
            // Wakes the accept loop, which then sees `stop`.
            let _ = TcpStream::connect(self.addr);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// Reads one request, answers it and closes the connection.
    fn serve(stream: TcpStream, answer: &Answerer, seen: &Mutex<Vec<Seen>>) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let (mut length, mut authorization) = (0, String::new());
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((&header, ""));
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = value.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let method = path.rsplit('/').next().unwrap_or("").to_string();
        let (status, headers, text) = answer(&method, &body);
        seen.lock().unwrap().push(Seen {
            method,
            authorization,
            body,
        });
        let mut stream = stream;
        let mut head = format!(
            "HTTP/1.1 {status} Answer\r\ncontent-type: application/json; charset=utf-8\r\n\
             content-length: {}\r\nconnection: close\r\n",
            text.len()
        );
        for h in headers {
            head.push_str(&h);
            head.push_str("\r\n");
        }
        let _ = stream.write_all(format!("{head}\r\n{text}").as_bytes());
    }

    fn ok(body: Value) -> (u16, Vec<String>, String) {
        (200, Vec::new(), body.to_string())
    }

    /// Slack's answers to the three calls, as a healthy workspace gives them.
    fn healthy(method: &str, body: &Value) -> (u16, Vec<String>, String) {
        match method {
            "auth.test" => ok(json!({
                "ok": true, "url": "https://acme.slack.com/", "team": "Acme", "user": "alerts-bot",
                "team_id": "T0TEAM", "user_id": "U0BOT", "bot_id": "B0BOT", "is_enterprise_install": false
            })),
            "chat.postMessage" => ok(json!({
                "ok": true, "channel": "C0ALERTS", "ts": "1700000000.000100",
                "message": {"type": "message", "text": body["text"], "bot_id": "B0BOT", "ts": "1700000000.000100"}
            })),
            "chat.update" => ok(json!({
                "ok": true, "channel": "C0ALERTS", "ts": "1700000000.000100", "text": body["text"]
            })),
            // A webhook answers `ok` in plain text.
            _ => (200, Vec::new(), "ok".into()),
        }
    }

    fn with(method: &'static str, answer: (u16, Vec<String>, String)) -> Answerer {
        Box::new(move |m, body| {
            if m == method {
                answer.clone()
            } else {
                healthy(m, body)
            }
        })
    }

    /// Runs `slack-alert send-test` on `yaml`: (stdout, what stderr shows, exit code).
    fn run(name: &str, yaml: &str) -> (String, String, u8) {
        let path = std::env::temp_dir().join(format!(
            "slack-alert-send-test-{}-{name}.yml",
            std::process::id()
        ));
        std::fs::write(&path, yaml).unwrap();
        let mut out = Vec::new();
        let result = crate::send_test(
            &SendTestArgs {
                config: path.clone(),
            },
            &mut out,
        );
        let _ = std::fs::remove_file(&path);
        let (err, code) = match result {
            Ok(()) => (String::new(), 0),
            Err(e) => (
                format!("slack-alert: {e}\n"),
                if e.is_bad_usage() { 2 } else { 1 },
            ),
        };
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");
        (out, err, code)
    }

    fn app_yaml(fake: &FakeSlack, extra: &str) -> String {
        format!(
            "slack_token: {TOKEN}\nslack_api_url: {}\nallow_custom_webhook: true\ntimeout: 10s\n{extra}",
            fake.api_url()
        )
    }

    #[test]
    fn a_token_is_tested_with_auth_test_a_post_and_an_update() {
        let fake = FakeSlack::start(Box::new(healthy));
        let (out, err, code) = run("ok", &app_yaml(&fake, "channel: '#alerts'\n"));
        let api = fake.api_url();
        assert_eq!((err.as_str(), code), ("", 0));
        assert_eq!(
            out,
            format!(
                "ok: the Slack app can post to #alerts and keep its messages current ({api}, token xoxb-***)\n\
                 \x20 auth.test: ok, the token is the bot \"alerts-bot\" (U0BOT) in team \"Acme\" (https://acme.slack.com/)\n\
                 \x20 chat.postMessage: ok, the test message is in #alerts (channel C0ALERTS, ts 1700000000.000100)\n\
                 \x20 chat.update: ok, the test message now says \"{UPDATED_LINE}\"\n"
            )
        );
        let seen = fake.seen();
        assert_eq!(
            fake.methods(),
            ["auth.test", "chat.postMessage", "chat.update"]
        );
        // The token went to Slack, in the header only.
        for s in &seen {
            assert_eq!(s.authorization, format!("Bearer {TOKEN}"));
            assert!(!s.body.to_string().contains(SECRET));
        }
        let post = &seen[1].body;
        assert_eq!(post["channel"], "#alerts");
        assert!(post["text"]
            .as_str()
            .unwrap()
            .starts_with("slack_alert test message"));
        // The update edits the message Slack answered for, by channel id and ts.
        let update = &seen[2].body;
        assert_eq!(
            (&update["channel"], &update["ts"]),
            (&json!("C0ALERTS"), &json!("1700000000.000100"))
        );
        assert!(update.to_string().contains(UPDATED_LINE));
        assert!(!post.to_string().contains(UPDATED_LINE));
    }

    #[test]
    fn a_templated_channel_is_tested_in_its_fallback() {
        let fake = FakeSlack::start(Box::new(healthy));
        let (out, _, code) = run(
            "fallback",
            &app_yaml(
                &fake,
                "channel: '#alerts-%{[service.name]}'\nfallback_channel: '#alerts'\n",
            ),
        );
        assert_eq!(code, 0);
        assert!(out.contains(
            "chat.postMessage: ok, the test message is in #alerts (fallback_channel: `channel` is read from each event)"
        ), "{out}");
        assert_eq!(fake.seen()[1].body["channel"], "#alerts");
    }

    #[test]
    fn a_missing_scope_names_the_scope_and_fails() {
        let fake = FakeSlack::start(with(
            "chat.postMessage",
            ok(
                json!({"ok": false, "error": "missing_scope", "needed": "chat:write", "provided": "users:read"}),
            ),
        ));
        let (out, err, code) = run("scope", &app_yaml(&fake, "channel: '#alerts'\n"));
        let api = fake.api_url();
        assert_eq!((out.as_str(), code), ("", 1));
        assert_eq!(
            err,
            format!(
                "slack-alert: the Slack app test failed at chat.postMessage ({api}, token xoxb-***)\n\
                 \x20 auth.test: ok, the token is the bot \"alerts-bot\" (U0BOT) in team \"Acme\" (https://acme.slack.com/)\n\
                 \x20 chat.postMessage to #alerts: refused (missing_scope): the app lacks the scope chat:write: \
                 add it under OAuth & Permissions → Bot Token Scopes and reinstall the app\n\
                 \x20 chat.update: not tried (nothing was posted)\n"
            )
        );
        assert_eq!(fake.methods(), ["auth.test", "chat.postMessage"]);
    }

    #[test]
    fn an_invalid_token_stops_at_auth_test() {
        let fake = FakeSlack::start(with(
            "auth.test",
            ok(json!({"ok": false, "error": "invalid_auth"})),
        ));
        let (out, err, code) = run("auth", &app_yaml(&fake, "channel: '#alerts'\n"));
        assert_eq!((out.as_str(), code), ("", 1));
        assert_eq!(
            err,
            format!(
                "slack-alert: the Slack app test failed at auth.test ({}, token xoxb-***)\n\
                 \x20 auth.test: refused (invalid_auth): the token is not valid: copy the Bot User \
                 OAuth Token (xoxb-…) from your app's OAuth & Permissions page into slack_token\n\
                 \x20 chat.postMessage: not tried (the token did not pass auth.test)\n\
                 \x20 chat.update: not tried (nothing was posted)\n",
                fake.api_url()
            )
        );
        assert_eq!(fake.methods(), ["auth.test"]);
    }

    #[test]
    fn a_rate_limited_update_says_how_long_to_wait() {
        let fake = FakeSlack::start(with(
            "chat.update",
            (
                429,
                vec!["retry-after: 30".into()],
                json!({"ok": false, "error": "ratelimited"}).to_string(),
            ),
        ));
        let (_, err, code) = run("429", &app_yaml(&fake, "channel: '#alerts'\n"));
        assert_eq!(code, 1);
        assert!(err.starts_with("slack-alert: the Slack app test failed at chat.update ("));
        assert!(
            err.ends_with("\n  chat.update: rate limited, retry after 30 s\n"),
            "{err}"
        );
    }

    #[test]
    fn an_answer_that_is_not_slacks_json_is_said_so() {
        let fake = FakeSlack::start(with("auth.test", (404, Vec::new(), "no such page".into())));
        let (_, err, code) = run("404", &app_yaml(&fake, "channel: '#alerts'\n"));
        assert_eq!(code, 1);
        assert!(
            err.contains(
                "\n  auth.test: unexpected answer (HTTP 404, not Slack's JSON); is slack_api_url"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_webhook_and_a_slack_app_are_each_tested_on_their_own_line() {
        let fake = FakeSlack::start(Box::new(healthy));
        let yaml = format!(
            "allow_custom_webhook: true\ntimeout: 10s\nrules:\n\
             \x20 - name: hook\n\
             \x20   webhook_url: http://{}/services/T0/B0/hooksecret\n\
             \x20 - name: app\n\
             \x20   slack_token: {TOKEN}\n\
             \x20   slack_api_url: {}\n\
             \x20   channel: '#ops'\n",
            fake.addr,
            fake.api_url()
        );
        let (out, err, code) = run("both", &yaml);
        assert_eq!((err.as_str(), code), ("", 0));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "ok: Slack accepted the test message (http://127.0.0.1/services/***)"
        );
        assert!(
            lines[1].starts_with("ok: the Slack app can post to #ops"),
            "{out}"
        );
        assert_eq!(lines.len(), 5, "{out}");
        assert!(!out.contains("hooksecret"));
        assert_eq!(
            fake.methods(),
            ["hooksecret", "auth.test", "chat.postMessage", "chat.update"]
        );
    }

    #[test]
    fn a_dry_run_without_a_token_is_bad_usage() {
        let (_, err, code) = run("dry", "dry_run: true\nslack_token: ''\nchannel: '#a'\n");
        assert_eq!(code, 2);
        assert!(
            err.starts_with("slack-alert: slack_token: send-test needs the bot token"),
            "{err}"
        );
        let (_, err, code) = run("dry-hook", "dry_run: true\n");
        assert_eq!(code, 2);
        assert!(err.starts_with("slack-alert: webhook_url: send-test needs a webhook"));
    }

    #[test]
    fn an_unreachable_api_is_said_so() {
        // A port nobody listens on: bound, then closed.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let yaml = format!(
            "slack_token: {TOKEN}\nslack_api_url: http://{addr}/api\nallow_custom_webhook: true\n\
             timeout: 10s\nchannel: '#alerts'\n"
        );
        let (_, err, code) = run("unreachable", &yaml);
        assert_eq!(code, 1);
        assert!(
            err.contains(&format!(
                "\n  auth.test: could not reach http://{addr}/api: "
            )),
            "{err}"
        );
    }
}
