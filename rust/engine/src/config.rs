//! The engine's configuration: the plugin's options, validated once at start.
//!
//! Option names are exactly what a Logstash user writes inside
//! `slack_alert { ... }`; the Java shim passes them as JSON and the sidecar reads
//! them from YAML, both through [`Config`]'s `Deserialize`. Every check happens
//! here, before any thread starts, so that a bad pipeline fails at start with a
//! message that names the option and what it accepts.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use slack_alert_message::{FieldRef, Style, Template};

use crate::level::Level;

/// Every option the engine accepts, in the order the README documents them.
pub const OPTIONS: &[&str] = &[
    "webhook_url",
    "levels",
    "min_level",
    "level_field",
    "channel",
    "username",
    "icon_emoji",
    "icon_url",
    "title",
    "format",
    "dedup_fields",
    "dedup_window",
    "rate_limit",
    "burst",
    "queue_size",
    "max_tracked",
    "timeout",
    "max_retries",
    "shutdown_timeout",
    "dry_run",
    "allow_custom_webhook",
];

/// Where levels are read from when `level_field` is not set: flat ECS keys
/// (logback/log4j2 ECS encoders, Python ecs-logging), nested ECS (Beats), then
/// the bare `level` most JSON loggers use.
pub const DEFAULT_LEVEL_REFS: &[&str] = &["[log.level]", "[log][level]", "[level]"];

/// A validated configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "Value")]
pub struct Config {
    /// The incoming-webhook URL. `None` only with `dry_run`.
    pub webhook_url: Option<Webhook>,
    /// Which canonical levels raise an alert (from `levels` or `min_level`).
    /// Default: ERROR and FATAL (which includes CRITICAL, ALERT, EMERGENCY, PANIC).
    pub levels: BTreeSet<Level>,
    /// Field references the level is read from, tried in order.
    pub level_refs: Vec<String>,
    /// Operator-written presentation options passed to Slack.
    pub style: Style,
    /// Header template; `None` renders "LEVEL in service".
    pub title: Option<Template>,
    /// Body template; `None` renders the default body.
    pub format: Option<Template>,
    /// Fields whose values make the fingerprint, as canonical references;
    /// empty means the default fingerprint (level, logger, error type,
    /// normalised first line of the message).
    pub dedup_fields: Vec<String>,
    /// How long repeats of one fingerprint are folded into one alert.
    /// Zero turns deduplication off.
    pub dedup_window: Duration,
    /// Alerts per minute to one webhook (token refill rate).
    pub rate_limit: u32,
    /// How many alerts may go out back to back before `rate_limit` applies.
    pub burst: u32,
    /// Capacity of the queue in front of the sender thread.
    pub queue_size: usize,
    /// Bound on the number of fingerprints the dedup window tracks.
    pub max_tracked: usize,
    /// Per-request timeout when posting to Slack.
    pub timeout: Duration,
    /// Retries after a 5xx or network failure (429 is retried as told).
    pub max_retries: u32,
    /// How long shutdown may take to flush what is queued.
    pub shutdown_timeout: Duration,
    /// Render and log messages instead of posting them.
    pub dry_run: bool,
    /// Accept a webhook that is not `https://hooks.slack.com/...` (self-hosted
    /// Slack-compatible servers, tests).
    pub allow_custom_webhook: bool,
}

impl Default for Config {
    /// The defaults, with no webhook (valid only as a dry run).
    fn default() -> Config {
        Config {
            webhook_url: None,
            levels: [Level::Error, Level::Fatal].into_iter().collect(),
            level_refs: DEFAULT_LEVEL_REFS.iter().map(|s| s.to_string()).collect(),
            style: Style::default(),
            title: None,
            format: None,
            dedup_fields: Vec::new(),
            dedup_window: Duration::from_secs(300),
            rate_limit: 20,
            burst: 5,
            queue_size: 1000,
            max_tracked: 10_000,
            timeout: Duration::from_secs(10),
            max_retries: 3,
            shutdown_timeout: Duration::from_secs(5),
            dry_run: true,
            allow_custom_webhook: false,
        }
    }
}

impl Config {
    /// Parses and validates a JSON object of options.
    pub fn from_json(json: &str) -> Result<Config, ConfigError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| ConfigError::new("config", format!("is not valid JSON: {e}")))?;
        Config::try_from(value)
    }

    /// Every field reference a matched event must carry for fingerprinting
    /// and rendering, canonical and de-duplicated, levels first.
    pub fn event_refs(&self) -> Vec<String> {
        let mut refs: Vec<String> = Vec::new();
        let mut push = |r: &str| {
            if !refs.iter().any(|x| x == r) {
                refs.push(r.to_string());
            }
        };
        self.level_refs.iter().for_each(|r| push(r));
        slack_alert_message::ecs::all_references()
            .into_iter()
            .for_each(&mut push);
        self.dedup_fields.iter().for_each(|r| push(r));
        for t in self.title.iter().chain(self.format.iter()) {
            t.references().iter().for_each(|r| push(r));
        }
        refs
    }
}

impl TryFrom<Value> for Config {
    type Error = ConfigError;

    fn try_from(value: Value) -> Result<Config, ConfigError> {
        let Value::Object(map) = value else {
            return Err(ConfigError::new("config", "must be a map of options"));
        };
        let opts = Options(map);
        opts.reject_unknown()?;
        let d = Config::default();

        let levels_given = opts.has("levels");
        let min_given = opts.has("min_level");
        if levels_given && min_given {
            return Err(ConfigError::new(
                "levels",
                "cannot be combined with `min_level`; set one of them",
            ));
        }
        let levels = if let Some(min) = opts.string("min_level")? {
            let min = parse_level("min_level", &min)?;
            Level::ALL.into_iter().filter(|l| *l >= min).collect()
        } else if let Some(list) = opts.strings("levels")? {
            if list.is_empty() {
                return Err(ConfigError::new("levels", "must name at least one level"));
            }
            list.iter()
                .map(|s| parse_level("levels", s))
                .collect::<Result<BTreeSet<_>, _>>()?
        } else {
            d.levels
        };

        let level_refs = match opts.string("level_field")? {
            Some(f) => vec![field_ref("level_field", &f)?],
            None => d.level_refs,
        };

        let dry_run = opts.bool("dry_run")?.unwrap_or(false);
        let allow_custom_webhook = opts.bool("allow_custom_webhook")?.unwrap_or(false);
        let webhook_url = match opts.string("webhook_url")? {
            Some(url) if !url.trim().is_empty() => {
                Some(Webhook::parse(url.trim(), allow_custom_webhook)?)
            }
            _ if dry_run => None,
            _ => {
                return Err(ConfigError::new(
                    "webhook_url",
                    "is required (e.g. webhook_url => \"${SLACK_WEBHOOK_URL}\"), unless `dry_run` is true",
                ))
            }
        };

        let style = Style {
            channel: opts.string("channel")?,
            username: opts.string("username")?,
            icon_emoji: opts.string("icon_emoji")?,
            icon_url: opts.string("icon_url")?,
        };
        let title = opts.template("title")?;
        let format = opts.template("format")?;
        let dedup_fields = match opts.strings("dedup_fields")? {
            Some(list) => list
                .iter()
                .map(|f| field_ref("dedup_fields", f))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };

        Ok(Config {
            webhook_url,
            levels,
            level_refs,
            style,
            title,
            format,
            dedup_fields,
            dedup_window: opts
                .duration(
                    "dedup_window",
                    Duration::ZERO,
                    Duration::from_secs(7 * 86_400),
                )?
                .unwrap_or(d.dedup_window),
            rate_limit: opts
                .int("rate_limit", 1, 3600)?
                .unwrap_or(d.rate_limit as u64) as u32,
            burst: opts.int("burst", 1, 1000)?.unwrap_or(d.burst as u64) as u32,
            queue_size: opts
                .int("queue_size", 1, 1_000_000)?
                .unwrap_or(d.queue_size as u64) as usize,
            max_tracked: opts
                .int("max_tracked", 1, 10_000_000)?
                .unwrap_or(d.max_tracked as u64) as usize,
            timeout: opts
                .duration(
                    "timeout",
                    Duration::from_millis(100),
                    Duration::from_secs(300),
                )?
                .unwrap_or(d.timeout),
            max_retries: opts
                .int("max_retries", 0, 100)?
                .unwrap_or(d.max_retries as u64) as u32,
            shutdown_timeout: opts
                .duration("shutdown_timeout", Duration::ZERO, Duration::from_secs(600))?
                .unwrap_or(d.shutdown_timeout),
            dry_run,
            allow_custom_webhook,
        })
    }
}

/// A configuration problem, naming the option at fault.
///
/// Occurs when an option is unknown, of the wrong type, out of range, or
/// inconsistent with another option. The message says what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    option: String,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(option: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            option: option.into(),
            message: message.into(),
        }
    }

    /// The option at fault (`config` when the whole document is).
    pub fn option(&self) -> &str {
        &self.option
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.option, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl serde::de::Expected for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
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

/// Parses a duration as operators write them: `250ms`, `30s`, `5m`, `1h`,
/// `1d`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if digits.is_empty() {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => None,
    }?;
    Some(Duration::from_millis(ms))
}

fn parse_level(option: &str, s: &str) -> Result<Level, ConfigError> {
    Level::parse(s.as_bytes()).ok_or_else(|| {
        ConfigError::new(
            option,
            format!(
                "{s:?} is not a log level; use one of TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, FATAL \
                 (or WARNING, CRITICAL, ERR, CRIT, ALERT, EMERG, PANIC, VERBOSE, INFORMATION, 0-7)"
            ),
        )
    })
}

fn field_ref(option: &str, s: &str) -> Result<String, ConfigError> {
    FieldRef::parse(s)
        .map(|r| r.canonical())
        .map_err(|e| ConfigError::new(option, format!("{s:?} is not a field reference: {e}")))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Typed access to the raw option map, each getter producing the option's
/// own error message. `null` counts as not set.
struct Options(Map<String, Value>);

impl Options {
    fn reject_unknown(&self) -> Result<(), ConfigError> {
        match self.0.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
            Some(k) => Err(ConfigError::new(
                k.as_str(),
                format!("unknown option; known options are {}", OPTIONS.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn string(&self, name: &str) -> Result<Option<String>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(ConfigError::new(
                name,
                format!("must be a string, got {}", type_name(v)),
            )),
        }
    }

    /// A list of strings; a single string is one item, or several separated
    /// by commas (how people write `levels => "ERROR,FATAL"`).
    fn strings(&self, name: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let items = match self.get(name) {
            None => return Ok(None),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim().to_string()),
                    other => Err(ConfigError::new(
                        name,
                        format!("must be a list of strings, found {}", type_name(other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(v) => {
                return Err(ConfigError::new(
                    name,
                    format!("must be a list of strings, got {}", type_name(v)),
                ))
            }
        };
        Ok(Some(items))
    }

    fn bool(&self, name: &str) -> Result<Option<bool>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ConfigError::new(
                name,
                format!("must be true or false, got {}", describe(v)),
            )),
        }
    }

    fn int(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, ConfigError> {
        let bad = |v: &Value| {
            ConfigError::new(
                name,
                format!(
                    "must be a whole number from {min} to {max}, got {}",
                    describe(v)
                ),
            )
        };
        let n = match self.get(name) {
            None => return Ok(None),
            Some(v @ Value::Number(n)) => n.as_u64().ok_or_else(|| bad(v))?,
            Some(v @ Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad(v))?,
            Some(v) => return Err(bad(v)),
        };
        if n < min || n > max {
            return Err(bad(&Value::from(n)));
        }
        Ok(Some(n))
    }

    fn duration(
        &self,
        name: &str,
        min: Duration,
        max: Duration,
    ) -> Result<Option<Duration>, ConfigError> {
        let d = match self.get(name) {
            None => return Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(secs) => Duration::from_secs(secs),
                None => {
                    return Err(ConfigError::new(
                        name,
                        format!("{n} is not a duration; use e.g. \"30s\", \"5m\", \"1h\""),
                    ))
                }
            },
            Some(Value::String(s)) => parse_duration(s).ok_or_else(|| {
                ConfigError::new(
                    name,
                    format!("{s:?} is not a duration; use e.g. \"30s\", \"5m\", \"1h\""),
                )
            })?,
            Some(v) => {
                return Err(ConfigError::new(
                    name,
                    format!(
                        "must be a duration such as \"30s\", \"5m\", \"1h\", got {}",
                        type_name(v)
                    ),
                ))
            }
        };
        if d < min || d > max {
            return Err(ConfigError::new(
                name,
                format!(
                    "must be between {} and {}, got {}",
                    show_duration(min),
                    show_duration(max),
                    show_duration(d)
                ),
            ));
        }
        Ok(Some(d))
    }

    fn template(&self, name: &str) -> Result<Option<Template>, ConfigError> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Err(ConfigError::new(
                name,
                "must not be empty; remove it to use the default",
            )),
            Some(s) => Template::parse(&s)
                .map(Some)
                .map_err(|e| ConfigError::new(name, e.to_string())),
        }
    }
}

/// A value shown in an error message, shortened so a pasted blob stays readable.
fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// Shows a duration the way the options are written.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".into()
    } else if ms.is_multiple_of(86_400_000) {
        format!("{}d", ms / 86_400_000)
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URL: &str = "https://hooks.slack.com/services/TAAAA/BBBBB/secretsecretsecret";

    fn parse(v: Value) -> Result<Config, String> {
        Config::try_from(v).map_err(|e| e.to_string())
    }

    fn err(v: Value) -> String {
        parse(v).expect_err("config should be rejected")
    }

    #[test]
    fn defaults() {
        let c = parse(json!({"webhook_url": URL})).unwrap();
        assert_eq!(
            c.levels,
            [Level::Error, Level::Fatal]
                .into_iter()
                .collect::<BTreeSet<_>>()
        );
        assert_eq!(c.dedup_window, Duration::from_secs(300));
        assert_eq!(
            (c.rate_limit, c.burst, c.queue_size, c.max_tracked),
            (20, 5, 1000, 10_000)
        );
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.max_retries, 3);
        assert_eq!(c.shutdown_timeout, Duration::from_secs(5));
        assert!(!c.dry_run);
        assert_eq!(c.level_refs, DEFAULT_LEVEL_REFS);
    }

    #[test]
    fn every_option_as_logstash_delivers_it() {
        let c = parse(json!({
            "webhook_url": URL, "min_level": "warning", "level_field": "[log][level]",
            "channel": "#ops", "username": "alerts", "icon_emoji": ":rotating_light:",
            "icon_url": "https://example.com/i.png", "title": "%{[service.name]} broke",
            "format": "msg: %{message}", "dedup_fields": ["[service.name]", "error.type"],
            "dedup_window": "30s", "rate_limit": 60, "burst": 10, "queue_size": 50,
            "max_tracked": 100, "timeout": "2s", "max_retries": 0, "shutdown_timeout": "1s",
            "dry_run": "false", "allow_custom_webhook": false
        }))
        .unwrap();
        assert_eq!(
            c.levels,
            [Level::Warn, Level::Error, Level::Fatal]
                .into_iter()
                .collect::<BTreeSet<_>>()
        );
        assert_eq!(c.level_refs, vec!["[log][level]"]);
        assert_eq!(c.dedup_fields, vec!["[service.name]", "[error.type]"]);
        assert_eq!(c.style.channel.as_deref(), Some("#ops"));
        assert_eq!(c.dedup_window, Duration::from_secs(30));
        assert_eq!(c.max_retries, 0);
        let refs = c.event_refs();
        assert_eq!(refs[0], "[log][level]");
        assert!(refs.contains(&"[service.name]".to_string()));
        assert!(refs.contains(&"[message]".to_string()));
    }

    #[test]
    fn levels_as_string_and_list() {
        let c = parse(json!({"dry_run": true, "levels": "error, critical"})).unwrap();
        assert_eq!(
            c.levels,
            [Level::Error, Level::Fatal]
                .into_iter()
                .collect::<BTreeSet<_>>()
        );
        let c = parse(json!({"dry_run": true, "levels": ["WARN"]})).unwrap();
        assert_eq!(c.levels, [Level::Warn].into_iter().collect::<BTreeSet<_>>());
    }

    #[test]
    fn messages_name_the_option_and_what_is_allowed() {
        let cases = [
            (
                json!({"dry_run": true, "dedup_window": "5 minutes"}),
                "dedup_window: \"5 minutes\" is not a duration; use e.g. \"30s\", \"5m\", \"1h\"",
            ),
            (
                json!({"dry_run": true, "levels": ["EROR"]}),
                "levels: \"EROR\" is not a log level",
            ),
            (
                json!({"dry_run": true, "min_level": "loud"}),
                "min_level: \"loud\" is not a log level",
            ),
            (
                json!({"dry_run": true, "levels": []}),
                "levels: must name at least one level",
            ),
            (
                json!({"dry_run": true, "levels": ["ERROR"], "min_level": "WARN"}),
                "levels: cannot be combined",
            ),
            (
                json!({"dry_run": true, "rate_limit": -1}),
                "rate_limit: must be a whole number from 1 to 3600, got -1",
            ),
            (
                json!({"dry_run": true, "rate_limit": 0}),
                "rate_limit: must be a whole number from 1 to 3600, got 0",
            ),
            (
                json!({"dry_run": true, "burst": "lots"}),
                "burst: must be a whole number",
            ),
            (
                json!({"dry_run": true, "queue_size": 1e12}),
                "queue_size: must be a whole number",
            ),
            (
                json!({"dry_run": true, "max_tracked": 0}),
                "max_tracked: must be a whole number from 1",
            ),
            (
                json!({"dry_run": true, "timeout": "0s"}),
                "timeout: must be between 100ms and 5m, got 0s",
            ),
            (
                json!({"dry_run": true, "max_retries": 1000}),
                "max_retries: must be a whole number from 0 to 100",
            ),
            (
                json!({"dry_run": true, "shutdown_timeout": [1]}),
                "shutdown_timeout: must be a duration",
            ),
            (
                json!({"dry_run": "yes"}),
                "dry_run: must be true or false, got \"yes\"",
            ),
            (
                json!({"dry_run": true, "channel": 5}),
                "channel: must be a string, got a number",
            ),
            (
                json!({"dry_run": true, "level_field": "[log][level"}),
                "level_field: \"[log][level\" is not a field reference",
            ),
            (
                json!({"dry_run": true, "dedup_fields": [1]}),
                "dedup_fields: must be a list of strings",
            ),
            (
                json!({"dry_run": true, "format": "%{+YYYY.MM.dd}"}),
                "format: ",
            ),
            (
                json!({"dry_run": true, "title": ""}),
                "title: must not be empty",
            ),
            (
                json!({"dry_run": true, "webhok_url": URL}),
                "webhok_url: unknown option; known options are webhook_url",
            ),
            (json!({}), "webhook_url: is required"),
            (json!({"webhook_url": ""}), "webhook_url: is required"),
            (json!([1, 2]), "config: must be a map of options"),
        ];
        for (input, expected) in cases {
            let got = err(input.clone());
            assert!(
                got.starts_with(expected),
                "for {input}:\n  got      {got}\n  expected {expected}…"
            );
        }
    }

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
        assert_eq!(c.webhook_url.unwrap().expose(), "http://127.0.0.1:9/hook");
        assert!(parse(json!({"webhook_url": "ftp://x/y", "allow_custom_webhook": true})).is_err());
    }

    #[test]
    fn webhook_is_redacted_everywhere_it_can_be_printed() {
        let c = parse(json!({"webhook_url": URL})).unwrap();
        let w = c.webhook_url.clone().unwrap();
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
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration(" 2d "), Some(Duration::from_secs(172_800)));
        for bad in [
            "",
            "m",
            "5 minutes",
            "1.5s",
            "-1s",
            "99999999999999999999s",
            "5x",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(show_duration(Duration::from_secs(300)), "5m");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
        let c = parse(json!({"dry_run": true, "dedup_window": 90})).unwrap();
        assert_eq!(c.dedup_window, Duration::from_secs(90));
    }

    #[test]
    fn deserialises_through_serde() {
        let c: Config = serde_json::from_str(r#"{"dry_run": true, "burst": 2}"#).unwrap();
        assert_eq!(c.burst, 2);
        let e = serde_json::from_str::<Config>(r#"{"dry_run": true, "burst": 0}"#).unwrap_err();
        assert!(
            e.to_string().contains("burst: must be a whole number"),
            "{e}"
        );
    }
}
