//! `send-test`: one clearly marked test message to the configured webhook,
//! and Slack's answer in plain words.

use std::fmt;

use serde_json::{Map, Value};
use slack_alert_engine::sender::{HttpTransport, Transport};
use slack_alert_engine::{slack_error, Config, DestinationKind, RuleConfig, Webhook};
use slack_alert_render::AlertMeta;

/// Why the test message did not get through.
#[derive(Debug, PartialEq, Eq)]
pub enum SendTestError {
    /// Occurs when the configuration has no `webhook_url` (a `dry_run`
    /// configuration may leave it out).
    NoWebhook,
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
}

impl fmt::Display for SendTestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTestError::NoWebhook => f.write_str(
                "webhook_url: send-test needs a webhook; set webhook_url (e.g. \"${SLACK_WEBHOOK_URL}\")",
            ),
            SendTestError::Client(problem) => f.write_str(problem),
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
/// rendered for an alert of kind `test` (no event fields).
pub fn send_test(config: &Config) -> Vec<Result<String, SendTestError>> {
    if config.destinations.iter().all(|d| d.webhook.is_none()) {
        return vec![Err(SendTestError::NoWebhook)];
    }
    config
        .destinations
        .iter()
        .enumerate()
        .filter_map(|(i, destination)| {
            let webhook = destination.webhook.clone()?;
            let rule = config.rules.iter().find(|r| r.destination == i)?;
            Some(send_one(config, rule, destination.kind, webhook))
        })
        .collect()
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
