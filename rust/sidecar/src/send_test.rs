//! `send-test`: one clearly marked test message to the configured webhook,
//! and Slack's answer in plain words.

use std::fmt;

use slack_alert_engine::sender::{HttpTransport, Transport};
use slack_alert_engine::{slack_error, Config};

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
/// and returns what to tell the operator.
pub fn send_test(config: &Config) -> Result<String, SendTestError> {
    let webhook = config.webhook_url.clone().ok_or(SendTestError::NoWebhook)?;
    let redacted = webhook.redacted();
    let payload = slack_alert_message::render_test(&config.style);
    let body = serde_json::to_vec(&payload).expect("a JSON value serialises");
    let mut transport =
        HttpTransport::new(webhook, config.timeout).map_err(SendTestError::Client)?;
    match transport.post(&body, config.timeout) {
        Ok(reply) if (200..300).contains(&reply.status) => {
            Ok(format!("ok: Slack accepted the test message ({redacted})"))
        }
        Ok(reply) => {
            let error = reply.body.trim().to_string();
            Err(SendTestError::Refused {
                status: reply.status,
                meaning: slack_error::explain(reply.status, &error),
                error,
            })
        }
        Err(problem) => Err(SendTestError::Network {
            webhook: redacted,
            problem,
        }),
    }
}
