//! Rules: what one rule is ([`RuleConfig`]), what it inherits from the
//! top-level options, and the checks only a whole rule can fail.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Map, Value};
use slack_alert_render::{JsonBody, LinkTemplate, Mention, Style, Template};

use super::app::{parse_app, AppRule};
use super::options::{describe, field_ref, parse_level, type_name, ConfigError, Options};
use super::webhook::{DestinationKind, Webhook};
use super::ENGINE_OPTIONS;
use crate::conditions::{self, Conditions};
use crate::level::Level;

/// Options a rule inside `rules` accepts (all but `name`, `type` and
/// `silence` may also be set at the top level, as the rules' defaults).
pub const RULE_OPTIONS: &[&str] = &[
    "name",
    "type",
    "webhook_url",
    "slack_token",
    "slack_api_url",
    "fallback_channel",
    "update_interval",
    "thread_replies",
    "reply_broadcast",
    "levels",
    "min_level",
    "equals",
    "contains",
    "regex",
    "exclude",
    "query",
    "query_language",
    "threshold",
    "threshold_window",
    "group_by",
    "silence",
    "mentions",
    "link_template",
    "link_text",
    "destination",
    "body_template",
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
    "max_tracked",
];

/// Rule options that only make sense inside `rules`.
pub(super) const RULE_ONLY: &[&str] = &["name", "type", "silence"];

/// The name of the one rule of the simple form.
pub const DEFAULT_RULE: &str = "default";

/// Most rules one plugin instance may have: each costs a lookup per event.
pub const MAX_RULES: usize = 100;

/// Default label of the link button: says what it opens, not which tool.
pub const DEFAULT_LINK_TEXT: &str = "Open logs";
/// Slack's limit on a button's text.
pub const MAX_LINK_TEXT_CHARS: usize = 75;

/// What a rule does with the events it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// Alert on matching events (after threshold, dedup and rate limit).
    Alert,
    /// Alert when a group that was logging goes silent for `silence`.
    Flatline,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Alert => "alert",
            RuleKind::Flatline => "flatline",
        }
    }
}

/// One rule, validated, with the top-level values it inherits filled in.
#[derive(Clone, Debug)]
pub struct RuleConfig {
    /// Unique; `default` for the simple form.
    pub name: String,
    pub kind: RuleKind,
    /// Levels the rule accepts (from `levels` or `min_level`).
    pub levels: BTreeSet<Level>,
    /// True for a flatline rule without `levels`/`min_level`: every event,
    /// also one with no level or an unknown one.
    pub any_level: bool,
    /// `equals`, `contains`, `regex` and `exclude`.
    pub conditions: Conditions,
    /// Alert only when this many matches happen within `threshold_window`
    /// in one group; 1 alerts on every match.
    pub threshold: u32,
    pub threshold_window: Duration,
    /// Canonical reference of the field that makes a group (threshold:
    /// instead of the fingerprint; flatline: instead of the service).
    pub group_by: Option<String>,
    /// Flatline: how long a group may stay silent before an alert.
    pub silence: Duration,
    /// Operator mention text by canonical level name or `default`.
    pub mentions: BTreeMap<String, String>,
    /// `%{}` template of a URL shown as a button.
    pub link_template: Option<LinkTemplate>,
    pub link_text: String,
    /// Index into [`Config::destinations`](super::Config::destinations).
    pub destination: usize,
    pub destination_kind: DestinationKind,
    /// Required with `destination => json`: the body's JSON template.
    pub body_template: Option<JsonBody>,
    pub webhook_url: Option<Webhook>,
    /// Slack app mode (`slack_token`): set instead of `webhook_url`.
    pub app: Option<AppRule>,
    pub style: Style,
    pub title: Option<Template>,
    pub format: Option<Template>,
    pub dedup_fields: Vec<String>,
    pub dedup_window: Duration,
    pub rate_limit: u32,
    pub burst: u32,
    pub max_tracked: usize,
}

impl RuleConfig {
    /// Returns true if and only if the rule accepts events of `level`
    /// (`None`: no readable level).
    pub fn accepts(&self, level: Option<Level>) -> bool {
        self.any_level || level.is_some_and(|l| self.levels.contains(&l))
    }

    /// The mention for an alert of `level` (`None`: flatline and other
    /// messages without a level), falling back to `default`.
    pub fn mention(&self, level: Option<Level>) -> Option<&str> {
        level
            .and_then(|l| self.mentions.get(l.name()))
            .or_else(|| self.mentions.get("default"))
            .map(String::as_str)
    }
}

/// Built-in values of the rule options.
pub(super) struct RuleDefaults;

impl RuleDefaults {
    pub(super) const LEVELS: [Level; 2] = [Level::Error, Level::Fatal];
    pub(super) const DEDUP_WINDOW: Duration = Duration::from_secs(300);
    pub(super) const RATE_LIMIT: u64 = 20;
    pub(super) const BURST: u64 = 5;
    pub(super) const MAX_TRACKED: u64 = 10_000;
    pub(super) const QUEUE_SIZE: u64 = 1000;
    pub(super) const TIMEOUT: Duration = Duration::from_secs(10);
    pub(super) const MAX_RETRIES: u64 = 3;
    pub(super) const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
}

/// Engine-wide values a rule's validation depends on.
pub(super) struct Context {
    pub(super) dry_run: bool,
    pub(super) allow_custom_webhook: bool,
}

/// Rule `i` of `rules`: its own options over the top-level ones.
pub(super) fn rule_from(
    top: &Options,
    i: usize,
    item: &Value,
    ctx: &Context,
) -> Result<RuleConfig, ConfigError> {
    let Value::Object(own) = item else {
        return Err(ConfigError::new(
            format!("rules[{i}]"),
            format!("must be a map of rule options, got {}", type_name(item)),
        ));
    };
    let name = match own.get("name") {
        Some(Value::String(s)) if valid_rule_name(s) => s.clone(),
        Some(Value::String(s)) => {
            return Err(ConfigError::new(
                format!("rules[{i}].name"),
                format!(
                    "{:?} is not a rule name; use 1 to 64 letters, digits, `_`, `.` or `-`",
                    shorten(s)
                ),
            ))
        }
        Some(v) if !v.is_null() => {
            return Err(ConfigError::new(
                format!("rules[{i}].name"),
                format!("must be a string, got {}", type_name(v)),
            ))
        }
        _ => {
            return Err(ConfigError::new(
                format!("rules[{i}].name"),
                "is required: every rule needs a unique name (e.g. \"name\" => \"payments\")",
            ))
        }
    };
    let prefix = format!("rules[{i}] ({name}).");
    let at = |e: ConfigError| e.within(&prefix);
    if let Some(k) = own.keys().find(|k| !RULE_OPTIONS.contains(&k.as_str())) {
        let hint = if ENGINE_OPTIONS.contains(&k.as_str()) {
            "is an engine-wide option: set it at the top level, not in a rule".to_string()
        } else {
            format!(
                "unknown rule option; rule options are {}",
                RULE_OPTIONS.join(", ")
            )
        };
        return Err(ConfigError::new(format!("{prefix}{k}"), hint));
    }
    let kind = match own.get("type").filter(|v| !v.is_null()) {
        None => RuleKind::Alert,
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("alert") => RuleKind::Alert,
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("flatline") => RuleKind::Flatline,
        Some(v) => {
            return Err(ConfigError::new(
                format!("{prefix}type"),
                format!("must be \"alert\" or \"flatline\", got {}", describe(v)),
            ))
        }
    };
    // Inherit every top-level rule option the rule does not set. A rule that
    // picks its levels one way drops the other way's top-level value, and a
    // flatline rule inherits neither (its default is every event) nor the
    // threshold (it has none).
    let mut merged = Map::new();
    let own_levels = own.contains_key("levels") || own.contains_key("min_level");
    // A rule may post another way than the top level: its own credential
    // replaces the other one, and a webhook rule takes none of the top
    // level's app-mode options.
    let own_webhook = own.contains_key("webhook_url");
    let own_token = own.contains_key("slack_token");
    for (k, v) in &top.0 {
        let skip = !RULE_OPTIONS.contains(&k.as_str())
            || (own_levels && (k == "levels" || k == "min_level"))
            || (own_token && k == "webhook_url")
            || (own_webhook && (k == "slack_token" || super::app::APP_ONLY.contains(&k.as_str())))
            || (kind == RuleKind::Flatline
                && matches!(
                    k.as_str(),
                    "levels" | "min_level" | "threshold" | "threshold_window"
                ));
        if !skip {
            merged.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in own {
        merged.insert(k.clone(), v.clone());
    }
    parse_rule(&Options(merged), name, kind, ctx, false).map_err(at)
}

/// Returns true if and only if `s` matches `^[A-Za-z0-9_.-]{1,64}$`.
fn valid_rule_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Parses the rule options of `opts`. `lenient` (the top-level values when
/// `rules` is given) skips the checks that only a whole rule can fail:
/// a required webhook or body, options that need one another.
pub(super) fn parse_rule(
    opts: &Options,
    name: String,
    kind: RuleKind,
    ctx: &Context,
    lenient: bool,
) -> Result<RuleConfig, ConfigError> {
    let levels_given = opts.has("levels");
    let min_given = opts.has("min_level");
    if levels_given && min_given {
        return Err(ConfigError::new(
            "levels",
            "cannot be combined with `min_level`; set one of them",
        ));
    }
    let levels: BTreeSet<Level> = if let Some(min) = opts.string("min_level")? {
        let min = parse_level("min_level", &min)?;
        Level::ALL.into_iter().filter(|l| *l >= min).collect()
    } else if let Some(list) = opts.strings("levels")? {
        if list.is_empty() {
            return Err(ConfigError::new("levels", "must name at least one level"));
        }
        list.iter()
            .map(|s| parse_level("levels", s))
            .collect::<Result<BTreeSet<_>, _>>()?
    } else if kind == RuleKind::Flatline {
        Level::ALL.into_iter().collect()
    } else {
        RuleDefaults::LEVELS.into_iter().collect()
    };
    let any_level = kind == RuleKind::Flatline && !levels_given && !min_given;

    let destination_kind = match opts.string("destination")? {
        None => DestinationKind::Slack,
        Some(s) if s.trim().eq_ignore_ascii_case("slack") => DestinationKind::Slack,
        Some(s) if s.trim().eq_ignore_ascii_case("json") => DestinationKind::Json,
        Some(s) => {
            return Err(ConfigError::new(
                "destination",
                format!("must be \"slack\" or \"json\", got {:?}", shorten(&s)),
            ))
        }
    };
    let app = parse_app(opts, ctx.dry_run, ctx.allow_custom_webhook, lenient)?;
    if app.is_some() && destination_kind == DestinationKind::Json {
        return Err(ConfigError::new(
            "slack_token",
            "applies to Slack destinations only; a JSON destination posts to its `webhook_url`",
        ));
    }
    let destination_kind = if app.is_some() {
        DestinationKind::SlackApp
    } else {
        destination_kind
    };
    let webhook_url =
        match opts.string("webhook_url")? {
            Some(url) if !url.trim().is_empty() => Some(Webhook::parse(
                url.trim(),
                ctx.allow_custom_webhook || destination_kind == DestinationKind::Json,
            )?),
            _ if ctx.dry_run || lenient || app.is_some() => None,
            _ => return Err(ConfigError::new(
                "webhook_url",
                "is required (e.g. webhook_url => \"${SLACK_WEBHOOK_URL}\"), unless `slack_token` \
             (Slack app mode) is set or `dry_run` is true",
            )),
        };

    let style = Style {
        // In app mode the channel is where the sender posts, not a hint
        // for a legacy webhook.
        channel: if app.is_some() {
            None
        } else {
            opts.string("channel")?
        },
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

    let conditions = Conditions {
        equals: opts.condition("equals", |v| Ok(v.to_string()))?,
        contains: opts.condition("contains", |v| {
            if v.is_empty() {
                Err("an empty string would match every event".into())
            } else {
                Ok(v.to_string())
            }
        })?,
        regex: opts.condition("regex", conditions::compile)?,
        exclude: opts.condition("exclude", conditions::compile)?,
        query: rule_query(opts)?,
    };

    let threshold = opts.int("threshold", 1, 1_000_000)?;
    let threshold_window = opts.duration(
        "threshold_window",
        Duration::from_secs(1),
        Duration::from_secs(7 * 86_400),
    )?;
    let group_by = match opts.string("group_by")? {
        Some(f) => Some(field_ref("group_by", &f)?),
        None => None,
    };
    let silence = opts.duration(
        "silence",
        Duration::from_secs(10),
        Duration::from_secs(7 * 86_400),
    )?;
    let mentions = opts.mentions("mentions")?;
    let link_template = match opts.string("link_template")? {
        Some(s) => Some(check_link_template(&s)?),
        None => None,
    };
    let link_text = match opts.string("link_text")? {
        Some(s) if s.trim().is_empty() => {
            return Err(ConfigError::new(
                "link_text",
                "must not be empty; remove it to use the default",
            ))
        }
        Some(s) if slack_alert_render::link::check_text(&s).is_err() => {
            let e = slack_alert_render::link::check_text(&s).unwrap_err();
            return Err(ConfigError::new("link_text", e.to_string()));
        }
        Some(s) if s.chars().count() > MAX_LINK_TEXT_CHARS => {
            return Err(ConfigError::new(
                "link_text",
                format!(
                    "is {} characters; Slack shows at most {MAX_LINK_TEXT_CHARS} on a button",
                    s.chars().count()
                ),
            ))
        }
        Some(s) => s,
        None => DEFAULT_LINK_TEXT.to_string(),
    };
    let body_template = match opts.get("body_template") {
        None => None,
        Some(v) => Some(check_body_template(v)?),
    };

    if !lenient {
        if kind == RuleKind::Alert && silence.is_some() {
            return Err(ConfigError::new(
                "silence",
                "applies to flatline rules only; add \"type\" => \"flatline\" or remove it",
            ));
        }
        if kind == RuleKind::Flatline && silence.is_none() {
            return Err(ConfigError::new(
                "silence",
                "is required for a flatline rule: how long a group may log nothing before it alerts (e.g. \"10m\")",
            ));
        }
        if kind == RuleKind::Flatline && threshold.is_some_and(|n| n > 1) {
            return Err(ConfigError::new(
                "threshold",
                "applies to alert rules only; a flatline rule alerts on silence",
            ));
        }
        if threshold_window.is_some() && threshold.unwrap_or(1) <= 1 {
            return Err(ConfigError::new(
                "threshold_window",
                "needs `threshold` of 2 or more: it is the time those events must happen within",
            ));
        }
        if threshold.unwrap_or(1) > 1 && threshold_window.is_none() {
            return Err(ConfigError::new(
                "threshold",
                "needs `threshold_window`: the time within which that many events must happen (e.g. \"1m\")",
            ));
        }
        if body_template.is_some() && destination_kind != DestinationKind::Json {
            return Err(ConfigError::new(
                "body_template",
                "applies only with `destination => json`; Slack messages are rendered by the plugin",
            ));
        }
        if destination_kind == DestinationKind::Json && body_template.is_none() {
            return Err(ConfigError::new(
                "body_template",
                "is required with `destination => json`: the JSON to post, e.g. {\"text\" => \"%{[@alert][text]}\"}",
            ));
        }
    }
    Ok(RuleConfig {
        name,
        kind,
        levels,
        any_level,
        conditions,
        threshold: threshold.unwrap_or(1) as u32,
        threshold_window: threshold_window.unwrap_or(Duration::ZERO),
        group_by,
        silence: silence.unwrap_or(Duration::ZERO),
        mentions,
        link_template,
        link_text,
        destination: 0,
        destination_kind,
        body_template,
        webhook_url,
        app,
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
            .unwrap_or(RuleDefaults::DEDUP_WINDOW),
        rate_limit: opts
            .int("rate_limit", 1, 3600)?
            .unwrap_or(RuleDefaults::RATE_LIMIT) as u32,
        burst: opts.int("burst", 1, 1000)?.unwrap_or(RuleDefaults::BURST) as u32,
        max_tracked: opts
            .int("max_tracked", 1, 10_000_000)?
            .unwrap_or(RuleDefaults::MAX_TRACKED) as usize,
    })
}

/// Rules that share a destination share its token bucket and its summary
/// (Slack limits a webhook, not a rule), so they must agree on the bucket's
/// size: a differing `rate_limit` or `burst` is refused, naming both rules.
pub(super) fn check_shared_limits(rules: &[RuleConfig]) -> Result<(), ConfigError> {
    for (j, later) in rules.iter().enumerate() {
        let Some((i, first)) = rules[..j]
            .iter()
            .enumerate()
            .find(|(_, r)| r.destination == later.destination)
        else {
            continue;
        };
        for (option, a, b) in [
            ("rate_limit", first.rate_limit, later.rate_limit),
            ("burst", first.burst, later.burst),
        ] {
            if a != b {
                return Err(ConfigError::new(
                    format!("rules[{j}] ({}).{option}", later.name),
                    format!(
                        "is {b}, but rule {:?} (rules[{i}]) posts to the same destination with {option} {a}; \
                         rules sharing a webhook share one rate limit and one summary: \
                         give them the same {option} (e.g. set it once at the top level) or a webhook each",
                        first.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `query` in `query_language` (KQL unless `lucene`), compiled once here.
fn rule_query(opts: &Options) -> Result<Option<crate::query::Query>, ConfigError> {
    use crate::query::{self, Language};
    let language = match opts.string("query_language")? {
        None => Language::Kql,
        Some(s) => Language::parse(&s).ok_or_else(|| {
            ConfigError::new(
                "query_language",
                format!("must be \"kql\" or \"lucene\", got {:?}", shorten(&s)),
            )
        })?,
    };
    match opts.string("query")? {
        None => Ok(None),
        Some(q) if q.trim().is_empty() => Err(ConfigError::new(
            "query",
            "must not be empty; remove it to apply no query",
        )),
        Some(q) => query::parse(&q, language)
            .map(Some)
            .map_err(|e| ConfigError::new("query", e.to_string())),
    }
}

/// A `body_template`: a map or list given in the configuration, or a string
/// holding JSON; string leaves are `%{}` templates (see [`JsonBody`]).
fn check_body_template(v: &Value) -> Result<JsonBody, ConfigError> {
    JsonBody::parse(v).map_err(|e| ConfigError::new("body_template", e.to_string()))
}

/// A `link_template`: an http(s) URL template whose scheme and host are
/// operator text (an event cannot send the reader elsewhere).
fn check_link_template(s: &str) -> Result<LinkTemplate, ConfigError> {
    LinkTemplate::parse(s.trim()).map_err(|e| ConfigError::new("link_template", e.to_string()))
}

/// Checks operator mention text (see [`Mention`]).
pub(super) fn check_mention(option: &str, key: &str, text: &str) -> Result<String, ConfigError> {
    Mention::parse(text)
        .map(|m| m.as_str().to_string())
        .map_err(|e| ConfigError::new(option, format!("[{key:?}]: {e}")))
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{err, parse, URL};
    use serde_json::json;

    #[test]
    fn rules_inherit_the_top_level_and_override_what_they_set() {
        let c = parse(json!({
            "webhook_url": URL, "rate_limit": 60, "min_level": "WARN", "channel": "#ops",
            "mentions": {"FATAL": "<!here>"},
            "rules": [
                {"name": "db", "equals": {"[service.name]": "db"}},
                {"name": "pay", "levels": ["FATAL"], "rate_limit": 5, "channel": "#pay",
                 "webhook_url": format!("{URL}pay"),
                 "threshold": 3, "threshold_window": "1m", "group_by": "service.name"},
                {"name": "quiet", "type": "flatline", "silence": "10m"},
            ]
        }))
        .unwrap();
        assert_eq!(c.rule_names(), vec!["db", "pay", "quiet"]);
        let (db, pay, quiet) = (&c.rules[0], &c.rules[1], &c.rules[2]);
        assert_eq!(db.rate_limit, 60);
        assert_eq!(db.levels.len(), 3, "WARN and worse, from the top");
        assert_eq!(db.style.channel.as_deref(), Some("#ops"));
        assert_eq!(db.mention(Some(Level::Fatal)), Some("<!here>"));
        assert_eq!(db.mention(Some(Level::Error)), None);
        assert_eq!(pay.levels, [Level::Fatal].into_iter().collect());
        assert_eq!((pay.rate_limit, pay.threshold), (5, 3));
        assert_eq!(pay.group_by.as_deref(), Some("[service.name]"));
        assert_eq!(pay.style.channel.as_deref(), Some("#pay"));
        assert_eq!(quiet.kind, RuleKind::Flatline);
        assert!(quiet.any_level, "a flatline rule does not inherit levels");
        assert_eq!(quiet.silence, Duration::from_secs(600));
        assert!(c.admits_missing_level());
        // pay has a webhook of its own, so a rate limit of its own.
        assert_eq!(c.destinations.len(), 2);
        assert_eq!(
            (db.destination, pay.destination, quiet.destination),
            (0, 1, 0)
        );
        let simple = parse(json!({"webhook_url": URL})).unwrap();
        assert_eq!(simple.rule_names(), vec!["default"]);
        assert!(!simple.admits_missing_level());
    }

    #[test]
    fn rules_sharing_a_destination_must_agree_on_its_rate_limit() {
        let two = |a: Value, b: Value| {
            let mut a = a;
            let mut b = b;
            a["name"] = json!("errors");
            b["name"] = json!("payments");
            json!({"webhook_url": URL, "rules": [a, b]})
        };
        let e = err(two(json!({}), json!({"rate_limit": 5})));
        assert!(
            e.starts_with("rules[1] (payments).rate_limit: is 5, but rule \"errors\" (rules[0]) posts to the same destination with rate_limit 20;"),
            "{e}"
        );
        let e = err(two(json!({"burst": 2}), json!({})));
        assert!(
            e.starts_with("rules[1] (payments).burst: is 5, but rule \"errors\" (rules[0])"),
            "{e}"
        );
        assert!(!e.contains("secretsecret"), "{e}");
        // Agreeing, inherited, or on webhooks of their own: accepted.
        parse(two(json!({"rate_limit": 5}), json!({"rate_limit": 5}))).unwrap();
        parse(json!({"webhook_url": URL, "rate_limit": 5, "burst": 1,
                     "rules": [{"name": "a"}, {"name": "b"}]}))
        .unwrap();
        let own = format!("{URL}own");
        parse(two(json!({}), json!({"rate_limit": 5, "webhook_url": own}))).unwrap();
        // A JSON destination on the same URL is another destination.
        parse(two(
            json!({}),
            json!({"rate_limit": 5, "destination": "json", "body_template": {"text": "x"}}),
        ))
        .unwrap();
    }

    #[test]
    fn a_query_is_one_more_condition_beside_the_others_and_exclude() {
        let c = parse(json!({
            "dry_run": true, "query_language": "lucene",
            "rules": [
                {"name": "kql", "query_language": "kql",
                 "query": "message: timeout and http.response.status_code >= 500",
                 "equals": {"[service.name]": "pay"}, "exclude": {"[url.path]": "^/health"}},
                {"name": "lucene", "query": "+message:timeout -service.name:shop"},
            ]
        }))
        .unwrap();
        let (kql, lucene) = (&c.rules[0].conditions, &c.rules[1].conditions);
        let event = json!({"service.name": "pay", "message": "DB timeout",
                           "http": {"response": {"status_code": 503}}, "url.path": "/pay"});
        assert!(kql.hold(&event) && !kql.excluded(&event));
        let mut other = event.clone();
        other["service.name"] = json!("shop");
        assert!(!kql.hold(&other), "equals must hold too");
        assert!(!lucene.hold(&other), "inherits lucene from the top");
        let mut health = event.clone();
        health["url.path"] = json!("/healthz");
        assert!(
            kql.hold(&health) && kql.excluded(&health),
            "exclude still silences"
        );
        let mut fine = event.clone();
        fine["http"]["response"]["status_code"] = json!(200);
        assert!(!kql.hold(&fine), "the query must hold");
        assert!(lucene.hold(&fine));
        let refs = c.event_refs();
        for r in [
            "[http.response.status_code]",
            "[http][response][status_code]",
        ] {
            assert!(refs.iter().any(|x| x == r), "{r} is fetched for the query");
            assert!(c.key_refs().iter().any(|x| x == r), "{r} is read to decide");
        }
    }

    #[test]
    fn rule_errors_name_the_rule_and_the_option() {
        let rule = |r: Value| json!({"webhook_url": URL, "rules": [{"name": "ok"}, r]});
        let cases = [
            (
                json!({"dry_run": true, "rules": []}),
                "rules: must name at least one rule",
            ),
            (
                json!({"dry_run": true, "rules": [5]}),
                "rules[0]: must be a map",
            ),
            (rule(json!({})), "rules[1].name: is required"),
            (
                rule(json!({"name": "a b"})),
                "rules[1].name: \"a b\" is not a rule name",
            ),
            (
                rule(json!({"name": "ok"})),
                "rules[1] (ok).name: \"ok\" is already the name",
            ),
            (
                rule(json!({"name": "x", "rate": 5})),
                "rules[1] (x).rate: unknown rule option; rule options are name, type",
            ),
            (
                rule(json!({"name": "x", "queue_size": 5})),
                "rules[1] (x).queue_size: is an engine-wide option",
            ),
            (
                rule(json!({"name": "x", "type": "sometimes"})),
                "rules[1] (x).type: must be \"alert\" or \"flatline\"",
            ),
            (
                rule(json!({"name": "x", "regex": {"[message]": "("}})),
                "rules[1] (x).regex: \"[message]\": \"(\" is not a regular expression",
            ),
            (
                rule(json!({"name": "x", "silence": "10m"})),
                "rules[1] (x).silence: applies to flatline rules only",
            ),
            (
                rule(json!({"name": "x", "type": "flatline"})),
                "rules[1] (x).silence: is required for a flatline rule",
            ),
            (
                rule(json!({"name": "x", "type": "flatline", "silence": "5s"})),
                "rules[1] (x).silence: must be between 10s and 7d",
            ),
            (
                rule(json!({"name": "x", "threshold_window": "1m"})),
                "rules[1] (x).threshold_window: needs `threshold` of 2 or more",
            ),
            (
                rule(json!({"name": "x", "threshold": 5})),
                "rules[1] (x).threshold: needs `threshold_window`",
            ),
            (
                rule(json!({"name": "x", "body_template": {"a": "b"}})),
                "rules[1] (x).body_template: applies only with `destination => json`",
            ),
            (
                rule(json!({"name": "x", "destination": "json"})),
                "rules[1] (x).body_template: is required with `destination => json`",
            ),
            (
                rule(json!({"name": "x", "rate_limit": 0})),
                "rules[1] (x).rate_limit: must be a whole number from 1 to 3600",
            ),
            (
                rule(json!({"name": "x", "levels": ["LOUD"]})),
                "rules[1] (x).levels: \"LOUD\" is not a log level",
            ),
            (
                json!({"rules": [{"name": "x"}]}),
                "rules[0] (x).webhook_url: is required",
            ),
            (
                rule(json!({"name": "x", "query": "service.name: and x:1"})),
                "rules[1] (x).query: at 15: expected a value after ':'",
            ),
            (
                rule(json!({"name": "x", "query": "a:1", "query_language": "sql"})),
                "rules[1] (x).query_language: must be \"kql\" or \"lucene\", got \"sql\"",
            ),
            (
                rule(json!({"name": "x", "query": "a:[1 TO", "query_language": "lucene"})),
                "rules[1] (x).query: at 8: expected a range bound",
            ),
            (
                json!({"dry_run": true, "silence": "10m"}),
                "silence: is a rule option",
            ),
        ];
        for (input, expected) in cases {
            let got = err(input.clone());
            assert!(
                got.starts_with(expected),
                "for {input}:\n  got      {got}\n  expected {expected}…"
            );
        }
    }
}
