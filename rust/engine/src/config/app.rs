//! Slack app mode: a bot token and a channel instead of a webhook URL, so
//! that each incident is one message the engine keeps current
//! (`chat.postMessage`, then `chat.update` of it) with replies in its thread.
//!
//! The token is a secret exactly as a webhook URL is: [`SlackToken`] shows
//! itself as `xoxb-***` and only the HTTP client sees the rest.

use std::fmt;
use std::time::Duration;

use slack_alert_event::Fields;
use slack_alert_render::Template;

use super::options::{ConfigError, Options};

/// Where Slack's Web API lives unless `slack_api_url` says otherwise.
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// The shortest `update_interval`: with Tier 3's ~50 updates a minute for
/// the whole workspace, faster would only be refused.
pub const MIN_UPDATE_INTERVAL: Duration = Duration::from_secs(1);

/// A bot token (`xoxb-…`). Whoever has it can post as the bot into every
/// channel it may use: `Debug` and `Display` never show more than its kind.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlackToken(String);

impl SlackToken {
    /// Validates a token. Error messages never repeat it.
    pub fn parse(token: &str) -> Result<SlackToken, ConfigError> {
        let token = token.trim();
        if !token.starts_with("xoxb-") {
            return Err(ConfigError::new(
                "slack_token",
                "must be a Slack bot token (xoxb-…), e.g. slack_token => \"${SLACK_BOT_TOKEN}\"; \
                 it is on your app's OAuth & Permissions page",
            ));
        }
        // It goes into an Authorization header: nothing that could end it.
        if token.len() > 512 || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                "slack_token",
                "holds characters a Slack token never has (spaces, newlines, non-ASCII) or is \
                 over 512 characters; paste the token alone",
            ));
        }
        Ok(SlackToken(token.to_string()))
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SlackToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("xoxb-***")
    }
}

impl fmt::Display for SlackToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("xoxb-***")
    }
}

/// The base URL of the Web API (`https://slack.com/api`), without a
/// trailing slash; a method's URL is `<base>/<method>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApiUrl(String);

impl ApiUrl {
    const SLACK_HOSTS: &'static [&'static str] = &["slack.com", "slack-gov.com"];

    pub fn parse(url: &str, allow_custom: bool) -> Result<ApiUrl, ConfigError> {
        let url = url.trim().trim_end_matches('/');
        let parsed = reqwest::Url::parse(url).map_err(|_| {
            ConfigError::new(
                "slack_api_url",
                "is not a valid URL; expected https://slack.com/api",
            )
        })?;
        let host = parsed.host_str().unwrap_or("");
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(ConfigError::new(
                "slack_api_url",
                "must not hold credentials; the token goes in `slack_token`",
            ));
        }
        if allow_custom {
            if !matches!(parsed.scheme(), "http" | "https") || host.is_empty() {
                return Err(ConfigError::new(
                    "slack_api_url",
                    "must be an http:// or https:// URL with a host",
                ));
            }
        } else if parsed.scheme() != "https" || !Self::SLACK_HOSTS.contains(&host) {
            return Err(ConfigError::new(
                "slack_api_url",
                "must be https://slack.com/api; for a self-hosted Slack-compatible server set \
                 `allow_custom_webhook` to true",
            ));
        }
        Ok(ApiUrl(url.to_string()))
    }

    pub fn default_url() -> ApiUrl {
        ApiUrl(SLACK_API_URL.to_string())
    }

    /// The URL of `method`, e.g. `https://slack.com/api/chat.update`.
    pub fn method(&self, method: &str) -> String {
        format!("{}/{method}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a message goes: a channel name (`#alerts`, `alerts`), an id
/// (`C0123ABCD`), or a template naming it from the event
/// (`#alerts-%{[service.name]}`).
#[derive(Clone, Debug)]
pub struct ChannelTemplate {
    template: Template,
    /// True if and only if it references fields.
    templated: bool,
}

/// Longest channel name Slack allows.
const MAX_CHANNEL_CHARS: usize = 80;

impl ChannelTemplate {
    pub fn parse(option: &str, s: &str) -> Result<ChannelTemplate, ConfigError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ConfigError::new(
                option,
                "must name a channel, e.g. \"#alerts\" or \"#alerts-%{[service.name]}\"",
            ));
        }
        let template = Template::parse(s).map_err(|e| ConfigError::new(option, e.to_string()))?;
        let templated = !template.references().is_empty();
        let channel = ChannelTemplate {
            template,
            templated,
        };
        if !templated && channel_name(s).is_none() {
            return Err(ConfigError::new(
                option,
                format!(
                    "{s:?} is not a channel: use its name (lower-case letters, digits, `-`, `_`, \
                     up to {MAX_CHANNEL_CHARS}, with or without `#`) or its id (C0123ABCD)"
                ),
            ));
        }
        Ok(channel)
    }

    /// Returns true if and only if the channel is read from the event.
    pub fn is_templated(&self) -> bool {
        self.templated
    }

    /// The field references it reads.
    pub fn references(&self) -> Vec<String> {
        self.template.references()
    }

    /// The channel for `fields`: `None` when a referenced field is
    /// missing or the result is no channel name (event data choosing a
    /// channel must still name one).
    pub fn resolve(&self, fields: &dyn Fields) -> Option<String> {
        if self
            .template
            .references()
            .iter()
            .any(|r| fields.get(r).is_none_or(|v| v.is_null()))
        {
            return None;
        }
        channel_name(&self.template.render_plain(fields))
    }

    /// The channel when no event is at hand (summaries, notices): the text
    /// of a channel without references, `None` for a template.
    pub fn fixed(&self) -> Option<String> {
        (!self.templated)
            .then(|| channel_name(self.template.as_str()))
            .flatten()
    }

    pub fn as_str(&self) -> &str {
        self.template.as_str()
    }
}

/// `s` as a channel Slack accepts: an id as it is, a name lower-cased with
/// its `#`; `None` when it can be neither.
fn channel_name(s: &str) -> Option<String> {
    let s = s.trim();
    let is_id = s.len() >= 9
        && s.len() <= 20
        && matches!(s.as_bytes()[0], b'C' | b'G' | b'D')
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if is_id {
        return Some(s.to_string());
    }
    let name = s.strip_prefix('#').unwrap_or(s).to_lowercase();
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_CHANNEL_CHARS
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then(|| format!("#{name}"))
}

/// What goes into an incident's thread besides its quiet note and its
/// stack trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadReplies {
    /// Nothing more.
    None,
    /// At 10×, 100×, 1,000×… and when a new host or service shows up.
    Milestones,
    /// What each `update_interval` saw.
    EveryWindow,
}

impl ThreadReplies {
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadReplies::None => "none",
            ThreadReplies::Milestones => "milestones",
            ThreadReplies::EveryWindow => "every_window",
        }
    }
}

/// One rule's app-mode settings.
#[derive(Clone, Debug)]
pub struct AppRule {
    /// `None` only with `dry_run`.
    pub token: Option<SlackToken>,
    pub api_url: ApiUrl,
    pub channel: ChannelTemplate,
    /// Where a message goes when `channel` names none or Slack refuses it.
    pub fallback_channel: Option<ChannelTemplate>,
    /// Least time between two updates of one incident's message.
    pub update_interval: Duration,
    pub thread_replies: ThreadReplies,
    /// Milestone replies also show in the channel.
    pub reply_broadcast: bool,
}

impl AppRule {
    /// Where a message about no event goes: the channel if fixed, else the
    /// fallback (validation makes sure one of them is).
    pub fn fixed_channel(&self) -> Option<String> {
        self.channel
            .fixed()
            .or_else(|| self.fallback_channel.as_ref().and_then(|c| c.fixed()))
    }

    /// The fallback channel, when it is not the channel the message was
    /// meant for.
    pub fn fallback_for(&self, tried: &str) -> Option<String> {
        self.fallback_channel
            .as_ref()
            .and_then(|c| c.fixed())
            .filter(|f| f != tried)
    }
}

/// Options only app mode reads: set without `slack_token`, they would be
/// silently ignored.
pub(crate) const APP_ONLY: &[&str] = &[
    "fallback_channel",
    "slack_api_url",
    "update_interval",
    "thread_replies",
    "reply_broadcast",
];

/// The update interval unless `update_interval` says otherwise.
pub const DEFAULT_UPDATE_INTERVAL: Duration = Duration::from_secs(10);

/// Reads a rule's app-mode options. `Ok(None)` without `slack_token` (a
/// webhook rule; its app-only options are refused unless `lenient`, the
/// top-level defaults of `rules`).
pub(super) fn parse_app(
    opts: &Options,
    dry_run: bool,
    allow_custom: bool,
    lenient: bool,
) -> Result<Option<AppRule>, ConfigError> {
    let token = match opts.string("slack_token")? {
        Some(t) if !t.trim().is_empty() => Some(SlackToken::parse(&t)?),
        _ => None,
    };
    // `slack_token => ""` (an unset variable) is app mode without a token:
    // valid as a dry run only, like an empty webhook_url.
    let app_mode = token.is_some() || opts.has("slack_token");
    if !app_mode {
        if !lenient {
            if let Some(o) = APP_ONLY.iter().find(|o| opts.has(o)) {
                return Err(ConfigError::new(
                    *o,
                    "applies only with `slack_token` (Slack app mode); with `webhook_url` the \
                     message cannot be updated or threaded",
                ));
            }
        }
        return Ok(None);
    }
    if opts.has("webhook_url") {
        return Err(ConfigError::new(
            "slack_token",
            "cannot be combined with `webhook_url`: set one of them (a rule inside `rules` \
             that sets one drops the other it would inherit)",
        ));
    }
    if token.is_none() && !dry_run {
        return Err(ConfigError::new(
            "slack_token",
            "is empty (is the variable or keystore entry set?); it is required unless `dry_run` \
             is true",
        ));
    }
    let api_url = match opts.string("slack_api_url")? {
        Some(u) => ApiUrl::parse(&u, allow_custom)?,
        None => ApiUrl::default_url(),
    };
    let channel =
        match opts.string("channel")? {
            Some(c) => ChannelTemplate::parse("channel", &c)?,
            None if lenient => ChannelTemplate::parse("channel", "#alerts")?,
            None => return Err(ConfigError::new(
                "channel",
                "is required with `slack_token`: the channel to post into, e.g. \"#alerts\" or \
                 \"#alerts-%{[service.name]}\"",
            )),
        };
    let fallback_channel = match opts.string("fallback_channel")? {
        Some(c) => {
            let c = ChannelTemplate::parse("fallback_channel", &c)?;
            if c.is_templated() {
                return Err(ConfigError::new(
                    "fallback_channel",
                    "must be a fixed channel (no %{} references): it is where a message goes \
                     when the event cannot name one",
                ));
            }
            Some(c)
        }
        None => None,
    };
    if channel.is_templated() && fallback_channel.is_none() && !lenient {
        return Err(ConfigError::new(
            "fallback_channel",
            "is required when `channel` reads the event: it is where an alert goes when the \
             field is missing or names no channel, and where summaries go",
        ));
    }
    let update_interval = opts
        .duration(
            "update_interval",
            MIN_UPDATE_INTERVAL,
            Duration::from_secs(3600),
        )?
        .unwrap_or(DEFAULT_UPDATE_INTERVAL);
    let thread_replies = match opts.string("thread_replies")? {
        None => ThreadReplies::Milestones,
        Some(s) => match s.trim().to_ascii_lowercase().as_str() {
            "none" => ThreadReplies::None,
            "milestones" => ThreadReplies::Milestones,
            "every_window" => ThreadReplies::EveryWindow,
            _ => {
                return Err(ConfigError::new(
                    "thread_replies",
                    format!(
                        "must be \"none\", \"milestones\" or \"every_window\", got {:?}",
                        s.chars().take(40).collect::<String>()
                    ),
                ))
            }
        },
    };
    Ok(Some(AppRule {
        token,
        api_url,
        channel,
        fallback_channel,
        update_interval,
        thread_replies,
        reply_broadcast: opts.bool("reply_broadcast")?.unwrap_or(false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_token_is_never_shown() {
        let t = SlackToken::parse("xoxb-1234-5678-secretpart").unwrap();
        assert_eq!(format!("{t:?} {t}"), "xoxb-*** xoxb-***");
        for bad in [
            "xoxp-user",
            "secretpart",
            "xoxb-with space",
            "xoxb-line\nbreak",
        ] {
            let e = SlackToken::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("slack_token:"), "{e}");
            assert!(!e.contains("secretpart") && !e.contains("user"), "{e}");
        }
    }

    #[test]
    fn the_api_url_is_slack_unless_custom_is_allowed() {
        assert_eq!(
            ApiUrl::parse("https://slack.com/api/", false)
                .unwrap()
                .method("chat.update"),
            "https://slack.com/api/chat.update"
        );
        let e = ApiUrl::parse("http://127.0.0.1:9/api", false).unwrap_err();
        assert!(e.to_string().contains("allow_custom_webhook"), "{e}");
        ApiUrl::parse("http://127.0.0.1:9/api", true).unwrap();
        let e = ApiUrl::parse("https://u:pw@slack.com/api", true).unwrap_err();
        assert!(!e.to_string().contains("pw"));
    }

    #[test]
    fn channels_are_names_ids_or_templates() {
        let fixed = ChannelTemplate::parse("channel", "#Alerts").unwrap();
        assert_eq!(fixed.fixed().as_deref(), Some("#alerts"));
        let id = ChannelTemplate::parse("channel", "C0123ABCD").unwrap();
        assert_eq!(id.fixed().as_deref(), Some("C0123ABCD"));
        let t = ChannelTemplate::parse("channel", "#alerts-%{[service.name]}").unwrap();
        assert!(t.is_templated() && t.fixed().is_none());
        assert_eq!(
            t.resolve(&json!({"service.name": "Checkout"})).as_deref(),
            Some("#alerts-checkout")
        );
        assert_eq!(t.resolve(&json!({})), None);
        // Event data that names no channel falls back instead of posting
        // somewhere unexpected.
        assert_eq!(t.resolve(&json!({"service.name": "a b <!here>"})), None);
        for bad in ["", "two words", "#a/b"] {
            assert!(ChannelTemplate::parse("channel", bad).is_err(), "{bad}");
        }
    }

    fn app(v: serde_json::Value) -> Result<Option<AppRule>, ConfigError> {
        let serde_json::Value::Object(map) = v else {
            unreachable!()
        };
        parse_app(&Options(map), false, true, false)
    }

    #[test]
    fn app_mode_options_are_checked_together() {
        let ok = app(json!({"slack_token": "xoxb-1", "channel": "#ops"}))
            .unwrap()
            .unwrap();
        assert_eq!(ok.update_interval, DEFAULT_UPDATE_INTERVAL);
        assert_eq!(ok.thread_replies, ThreadReplies::Milestones);
        assert_eq!(ok.api_url.as_str(), SLACK_API_URL);
        let cases = [
            (
                json!({"slack_token": "xoxb-1", "webhook_url": "https://hooks.slack.com/services/x"}),
                "slack_token: cannot be combined with `webhook_url`",
            ),
            (json!({"slack_token": "xoxb-1"}), "channel: is required"),
            (
                json!({"slack_token": "xoxb-1", "channel": "#a-%{[service.name]}"}),
                "fallback_channel: is required",
            ),
            (
                json!({"slack_token": "xoxb-1", "channel": "#a", "fallback_channel": "#b-%{x}"}),
                "fallback_channel: must be a fixed channel",
            ),
            (
                json!({"slack_token": "xoxb-1", "channel": "#a", "update_interval": "100ms"}),
                "update_interval:",
            ),
            (
                json!({"slack_token": "xoxb-1", "channel": "#a", "thread_replies": "all"}),
                "thread_replies: must be \"none\", \"milestones\" or \"every_window\"",
            ),
            (
                json!({"webhook_url": "https://hooks.slack.com/services/x", "update_interval": "5s"}),
                "update_interval: applies only with `slack_token`",
            ),
            (
                json!({"slack_token": "", "channel": "#a"}),
                "slack_token: is empty",
            ),
        ];
        for (config, want) in cases {
            let e = app(config.clone()).unwrap_err().to_string();
            assert!(e.starts_with(want), "{config}: {e}");
        }
    }
}
