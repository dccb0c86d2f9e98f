//! Where alerts go: the [`Webhook`] URL (a secret, shown only redacted) and
//! the distinct [`Destination`]s the rules post to.

use std::fmt;

use super::options::ConfigError;

/// What a destination speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DestinationKind {
    /// A Slack incoming webhook (Block Kit body).
    Slack,
    /// A generic JSON webhook with an operator-written `body_template`.
    Json,
    /// Slack's Web API with a bot token (app mode): one message per
    /// incident, kept current.
    SlackApp,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Slack => "slack",
            DestinationKind::Json => "json",
            DestinationKind::SlackApp => "slack_app",
        }
    }
}

/// One distinct destination (URL and kind): it gets one sender thread and
/// queue, shared by every rule that posts there, so that a webhook's rate
/// limit holds across rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub kind: DestinationKind,
    /// `None` only with `dry_run`, or in app mode.
    pub webhook: Option<Webhook>,
    /// App mode: the token (`None` only with `dry_run`) and the API's URL.
    pub app: Option<(Option<super::SlackToken>, super::ApiUrl)>,
}

/// A webhook URL. It is a secret (whoever has it can post to the channel),
/// so `Debug` and `Display` show only the host and a redacted path.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook(String);

impl Webhook {
    /// Hosts that serve Slack incoming webhooks.
    const SLACK_HOSTS: &'static [&'static str] = &["hooks.slack.com", "hooks.slack-gov.com"];

    /// Validates a webhook URL. Error messages never repeat the URL.
    pub fn parse(url: &str, allow_custom: bool) -> Result<Webhook, ConfigError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| {
            ConfigError::new(
                "webhook_url",
                "is not a valid URL; expected https://hooks.slack.com/services/...",
            )
        })?;
        let host = parsed.host_str().unwrap_or("");
        if allow_custom {
            if !matches!(parsed.scheme(), "http" | "https") || host.is_empty() {
                return Err(ConfigError::new(
                    "webhook_url",
                    "must be an http:// or https:// URL with a host",
                ));
            }
        } else if parsed.scheme() != "https" || !Self::SLACK_HOSTS.contains(&host) {
            return Err(ConfigError::new(
                "webhook_url",
                "must be an https://hooks.slack.com/services/... URL; for a self-hosted \
                 Slack-compatible server set `allow_custom_webhook` to true",
            ));
        }
        Ok(Webhook(url.to_string()))
    }

    /// The URL itself, for the HTTP client only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Path prefixes that name an API, not a secret; any other first path
    /// segment may be the token itself (a self-hosted server's
    /// `https://chat.example.com/<token>`), so it is never shown.
    const PUBLIC_PREFIXES: &'static [&'static str] =
        &["services", "hooks", "webhooks", "webhook", "api"];

    /// A form that is safe to log: scheme, host, the first path segment if
    /// it is one of a few that name an API (`services`, `hooks`, ...), and
    /// `/***`.
    pub fn redacted(&self) -> String {
        match reqwest::Url::parse(&self.0) {
            Ok(u) => {
                let host = u.host_str().unwrap_or("?");
                let first = u.path_segments().and_then(|mut s| s.next()).unwrap_or("");
                if Self::PUBLIC_PREFIXES.contains(&first) {
                    format!("{}://{host}/{first}/***", u.scheme())
                } else {
                    format!("{}://{host}/***", u.scheme())
                }
            }
            Err(_) => "***".to_string(),
        }
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Webhook({})", self.redacted())
    }
}

impl fmt::Display for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{err, parse, URL};
    use serde_json::json;

    #[test]
    fn webhook_must_be_slack_unless_opted_in() {
        for url in [
            "http://hooks.slack.com/services/T/B/x",
            "https://example.com/services/T/B/x",
            "https://hooks.slack.com.evil.io/services/T/B/x",
            "not a url",
        ] {
            let e = err(json!({"webhook_url": url}));
            assert!(e.starts_with("webhook_url: "), "{e}");
            assert!(!e.contains(url), "the error must not repeat the URL: {e}");
        }
        let c =
            parse(json!({"webhook_url": "http://127.0.0.1:9/hook", "allow_custom_webhook": true}))
                .unwrap();
        let w = c.rules[0].webhook_url.as_ref().unwrap();
        assert_eq!(w.expose(), "http://127.0.0.1:9/hook");
        assert!(parse(json!({"webhook_url": "ftp://x/y", "allow_custom_webhook": true})).is_err());
    }

    #[test]
    fn webhook_is_redacted_everywhere_it_can_be_printed() {
        let c = parse(json!({"webhook_url": URL})).unwrap();
        let w = c.rules[0].webhook_url.clone().unwrap();
        assert_eq!(w.to_string(), "https://hooks.slack.com/services/***");
        for shown in [format!("{w:?}"), format!("{c:?}"), w.to_string()] {
            assert!(!shown.contains("secretsecret"), "{shown}");
            assert!(!shown.contains("TAAAA"), "{shown}");
        }
    }

    #[test]
    fn a_token_in_the_first_path_segment_is_never_shown() {
        // Regression (found by fuzzing the config): the first path segment was
        // always shown, and a self-hosted server may put the token there.
        for (url, shown) in [
            (
                "https://chat.example.com/T0KENsecret0123",
                "https://chat.example.com/***",
            ),
            (
                "http://127.0.0.1:9/services6SECRETtoken",
                "http://127.0.0.1/***",
            ),
            (
                "https://chat.example.com/hooks/T0KENsecret0123",
                "https://chat.example.com/hooks/***",
            ),
            (URL, "https://hooks.slack.com/services/***"),
        ] {
            let w = Webhook::parse(url, true).unwrap();
            assert_eq!(w.redacted(), shown);
            assert!(!format!("{w:?}").contains("secret"), "{w:?}");
        }
    }

    #[test]
    fn a_json_destination_takes_any_http_url_and_keeps_it_secret() {
        let c = parse(json!({
            "rules": [{"name": "teams", "destination": "json",
                       "webhook_url": "https://prod.example.com/workflows/SECRETtoken123",
                       "body_template": "{\"text\": \"%{[@alert][text]}\", \"n\": \"%{[@alert][count]}\"}"}]
        }))
        .unwrap();
        assert_eq!(c.destinations[0].kind, DestinationKind::Json);
        assert!(!format!("{c:?}").contains("SECRETtoken"));
        assert!(c.rules[0].body_template.is_some());
    }
}
