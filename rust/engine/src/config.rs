//! The engine's configuration: the plugin's options, validated once at start.
//!
//! Option names are exactly what a Logstash user writes inside
//! `slack_alert { ... }`; the Java shim passes them as JSON and the sidecar reads
//! them from YAML, both through [`Config`]'s `Deserialize`. Every check happens
//! here, before any thread starts, so that a bad pipeline fails at start with a
//! message that names the option and what it accepts.
//!
//! Options are of two kinds. *Engine-wide* options ([`ENGINE_OPTIONS`]) are
//! set once, at the top. *Rule options* ([`RULE_OPTIONS`]) say what alerts
//! and where it goes: at the top they make the one rule of the simple form
//! (named `default`), and inside `rules` each rule starts from the top-level
//! values and overrides what it sets. Errors in a rule name it as
//! `rules[2] (payments).regex`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use slack_alert_message::{FieldRef, JsonBody, LinkTemplate, Mention, Style, Template};

use crate::conditions::{self, Conditions};
use crate::level::Level;

/// Every option accepted at the top level, in the order the README documents them.
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
    "equals",
    "contains",
    "regex",
    "exclude",
    "threshold",
    "threshold_window",
    "group_by",
    "mentions",
    "link_template",
    "link_text",
    "destination",
    "body_template",
    "rules",
];

/// Options that are set once for the whole plugin, only at the top level.
pub const ENGINE_OPTIONS: &[&str] = &[
    "level_field",
    "queue_size",
    "timeout",
    "max_retries",
    "shutdown_timeout",
    "dry_run",
    "allow_custom_webhook",
    "rules",
];

/// Options a rule inside `rules` accepts (all but `name`, `type` and
/// `silence` may also be set at the top level, as the rules' defaults).
pub const RULE_OPTIONS: &[&str] = &[
    "name",
    "type",
    "webhook_url",
    "levels",
    "min_level",
    "equals",
    "contains",
    "regex",
    "exclude",
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
const RULE_ONLY: &[&str] = &["name", "type", "silence"];

/// The name of the one rule of the simple form.
pub const DEFAULT_RULE: &str = "default";

/// Most rules one plugin instance may have: each costs a lookup per event.
pub const MAX_RULES: usize = 100;

/// Default label of the link button: says what it opens, not which tool.
pub const DEFAULT_LINK_TEXT: &str = "Open logs";
/// Slack's limit on a button's text.
pub const MAX_LINK_TEXT_CHARS: usize = 75;

/// Where levels are read from when `level_field` is not set: flat ECS keys
/// (logback/log4j2 ECS encoders, Python ecs-logging), nested ECS (Beats), then
/// the bare `level` most JSON loggers use.
pub const DEFAULT_LEVEL_REFS: &[&str] = &["[log.level]", "[log][level]", "[level]"];

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

/// What a destination speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DestinationKind {
    /// A Slack incoming webhook (Block Kit body).
    Slack,
    /// A generic JSON webhook with an operator-written `body_template`.
    Json,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Slack => "slack",
            DestinationKind::Json => "json",
        }
    }
}

/// One distinct destination (URL and kind): it gets one sender thread and
/// queue, shared by every rule that posts there, so that a webhook's rate
/// limit holds across rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub kind: DestinationKind,
    /// `None` only with `dry_run`.
    pub webhook: Option<Webhook>,
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
    /// Index into [`Config::destinations`].
    pub destination: usize,
    pub destination_kind: DestinationKind,
    /// Required with `destination => json`: the body's JSON template.
    pub body_template: Option<JsonBody>,
    pub webhook_url: Option<Webhook>,
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

/// A validated configuration.
///
/// The rule-option fields (`webhook_url`, `levels`, `style`, ...) hold the
/// top-level values: the rule of the simple form, or the defaults the rules
/// inherit. What each rule does is in [`Config::rules`].
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
    /// Capacity of the queue in front of each sender thread.
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
    /// Every rule, in configuration order; one named `default` without `rules`.
    pub rules: Vec<RuleConfig>,
    /// Every distinct destination, indexed by [`RuleConfig::destination`].
    pub destinations: Vec<Destination>,
}

impl Default for Config {
    /// The defaults, with no webhook (valid only as a dry run).
    fn default() -> Config {
        Config::try_from(serde_json::json!({"dry_run": true}))
            .expect("the defaults are a valid configuration")
    }
}

/// Built-in values of the rule options.
struct RuleDefaults;

impl RuleDefaults {
    const LEVELS: [Level; 2] = [Level::Error, Level::Fatal];
    const DEDUP_WINDOW: Duration = Duration::from_secs(300);
    const RATE_LIMIT: u64 = 20;
    const BURST: u64 = 5;
    const MAX_TRACKED: u64 = 10_000;
    const QUEUE_SIZE: u64 = 1000;
    const TIMEOUT: Duration = Duration::from_secs(10);
    const MAX_RETRIES: u64 = 3;
    const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
}

impl Config {
    /// Parses and validates a JSON object of options.
    pub fn from_json(json: &str) -> Result<Config, ConfigError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| ConfigError::new("config", format!("is not valid JSON: {e}")))?;
        Config::try_from(value)
    }

    /// Every field reference a matched event must carry for deciding and
    /// rendering, over every rule, canonical and de-duplicated, levels first.
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
        for rule in &self.rules {
            rule.dedup_fields.iter().for_each(|r| push(r));
            for t in rule.title.iter().chain(rule.format.iter()) {
                t.references().iter().for_each(|r| push(r));
            }
            rule.conditions.references().for_each(&mut push);
            rule.group_by.iter().for_each(|r| push(r));
            for r in rendering_refs(rule) {
                push(&r);
            }
        }
        refs
    }

    /// The references of [`Config::event_refs`] that deciding reads, in its
    /// order: where the level is, what the fingerprints are made of, the
    /// service (kept with a dedup window for its repeat report), and the
    /// rules' condition and `group_by` fields.
    pub fn key_refs(&self) -> Vec<String> {
        let mut wanted: Vec<String> = self.level_refs.clone();
        wanted.extend(
            slack_alert_message::ecs::SERVICE
                .candidates
                .iter()
                .map(|s| s.to_string()),
        );
        for rule in &self.rules {
            let fp = crate::fingerprint::Fingerprinter::new(rule.dedup_fields.clone());
            wanted.extend(fp.references().into_iter().map(String::from));
            wanted.extend(rule.conditions.references().map(String::from));
            wanted.extend(rule.group_by.iter().cloned());
        }
        self.event_refs()
            .into_iter()
            .filter(|r| wanted.contains(r))
            .collect()
    }

    /// The rule names, in configuration order.
    pub fn rule_names(&self) -> Vec<String> {
        self.rules.iter().map(|r| r.name.clone()).collect()
    }

    /// The union of the rules' levels: what the matcher accepts.
    pub fn candidate_levels(&self) -> BTreeSet<Level> {
        self.rules
            .iter()
            .flat_map(|r| {
                if r.any_level {
                    Level::ALL.to_vec()
                } else {
                    r.levels.iter().copied().collect()
                }
            })
            .collect()
    }

    /// Returns true if and only if some rule admits events whatever their
    /// level, also without one (a flatline rule without `levels`).
    pub fn admits_missing_level(&self) -> bool {
        self.rules.iter().any(|r| r.any_level)
    }
}

/// References a rule's message reads beyond the ECS fields and templates:
/// the link and the JSON body.
fn rendering_refs(rule: &RuleConfig) -> Vec<String> {
    let mut refs = Vec::new();
    if let Some(link) = &rule.link_template {
        refs.extend(link.references());
    }
    if let Some(body) = &rule.body_template {
        refs.extend(body.references());
    }
    refs
}

impl TryFrom<Value> for Config {
    type Error = ConfigError;

    fn try_from(value: Value) -> Result<Config, ConfigError> {
        let Value::Object(map) = value else {
            return Err(ConfigError::new("config", "must be a map of options"));
        };
        let opts = Options(map);
        opts.reject_unknown()?;

        let level_refs = match opts.string("level_field")? {
            Some(f) => vec![field_ref("level_field", &f)?],
            None => DEFAULT_LEVEL_REFS.iter().map(|s| s.to_string()).collect(),
        };
        let dry_run = opts.bool("dry_run")?.unwrap_or(false);
        let allow_custom_webhook = opts.bool("allow_custom_webhook")?.unwrap_or(false);
        let ctx = Context {
            dry_run,
            allow_custom_webhook,
        };

        let raw_rules = match opts.get("rules") {
            None => None,
            Some(Value::Array(items)) if items.is_empty() => {
                return Err(ConfigError::new(
                    "rules",
                    "must name at least one rule; remove it to use the top-level options as the one rule",
                ))
            }
            Some(Value::Array(items)) if items.len() > MAX_RULES => {
                return Err(ConfigError::new(
                    "rules",
                    format!("has {} rules (at most {MAX_RULES})", items.len()),
                ))
            }
            Some(Value::Array(items)) => Some(items.clone()),
            Some(v) => {
                return Err(ConfigError::new(
                    "rules",
                    format!(
                        "must be a list of maps (rules => [ {{ \"name\" => \"db\" ... }} ]), got {}",
                        type_name(v)
                    ),
                ))
            }
        };

        // The top-level rule options: the simple form's one rule, or (with
        // `rules`) the values every rule inherits, checked on their own so
        // that a mistake there is named as the top-level option.
        let top = parse_rule(
            &opts,
            DEFAULT_RULE.into(),
            RuleKind::Alert,
            &ctx,
            raw_rules.is_some(),
        )?;
        let mut rules = match &raw_rules {
            None => vec![top.clone()],
            Some(items) => {
                let mut rules: Vec<RuleConfig> = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let rule = rule_from(&opts, i, item, &ctx)?;
                    if rules.iter().any(|r| r.name == rule.name) {
                        return Err(ConfigError::new(
                            format!("rules[{i}] ({}).name", rule.name),
                            format!(
                                "{:?} is already the name of another rule; names must be unique",
                                rule.name
                            ),
                        ));
                    }
                    rules.push(rule);
                }
                rules
            }
        };
        let mut destinations: Vec<Destination> = Vec::new();
        for rule in &mut rules {
            let d = Destination {
                kind: rule.destination_kind,
                webhook: rule.webhook_url.clone(),
            };
            rule.destination = match destinations.iter().position(|x| *x == d) {
                Some(i) => i,
                None => {
                    destinations.push(d);
                    destinations.len() - 1
                }
            };
        }

        Ok(Config {
            webhook_url: top.webhook_url,
            levels: top.levels,
            level_refs,
            style: top.style,
            title: top.title,
            format: top.format,
            dedup_fields: top.dedup_fields,
            dedup_window: top.dedup_window,
            rate_limit: top.rate_limit,
            burst: top.burst,
            queue_size: opts
                .int("queue_size", 1, 1_000_000)?
                .unwrap_or(RuleDefaults::QUEUE_SIZE) as usize,
            max_tracked: top.max_tracked,
            timeout: opts
                .duration(
                    "timeout",
                    Duration::from_millis(100),
                    Duration::from_secs(300),
                )?
                .unwrap_or(RuleDefaults::TIMEOUT),
            max_retries: opts
                .int("max_retries", 0, 100)?
                .unwrap_or(RuleDefaults::MAX_RETRIES) as u32,
            shutdown_timeout: opts
                .duration("shutdown_timeout", Duration::ZERO, Duration::from_secs(600))?
                .unwrap_or(RuleDefaults::SHUTDOWN_TIMEOUT),
            dry_run,
            allow_custom_webhook,
            rules,
            destinations,
        })
    }
}

/// Engine-wide values a rule's validation depends on.
struct Context {
    dry_run: bool,
    allow_custom_webhook: bool,
}

/// Rule `i` of `rules`: its own options over the top-level ones.
fn rule_from(
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
    for (k, v) in &top.0 {
        let skip = !RULE_OPTIONS.contains(&k.as_str())
            || (own_levels && (k == "levels" || k == "min_level"))
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
fn parse_rule(
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
    let webhook_url = match opts.string("webhook_url")? {
        Some(url) if !url.trim().is_empty() => Some(Webhook::parse(
            url.trim(),
            ctx.allow_custom_webhook || destination_kind == DestinationKind::Json,
        )?),
        _ if ctx.dry_run || lenient => None,
        _ => return Err(ConfigError::new(
            "webhook_url",
            "is required (e.g. webhook_url => \"${SLACK_WEBHOOK_URL}\"), unless `dry_run` is true",
        )),
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
        Some(s) if slack_alert_message::link::check_text(&s).is_err() => {
            let e = slack_alert_message::link::check_text(&s).unwrap_err();
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
fn check_mention(option: &str, key: &str, text: &str) -> Result<String, ConfigError> {
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

    /// The same problem inside a rule: `prefix` is e.g. `rules[2] (payments).`.
    pub(crate) fn within(mut self, prefix: &str) -> ConfigError {
        self.option = format!("{prefix}{}", self.option);
        self
    }

    /// The option at fault (`config` when the whole document is), e.g.
    /// `rate_limit` or `rules[2] (payments).regex`.
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

pub(crate) fn type_name(v: &Value) -> &'static str {
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
            Some(k) if RULE_ONLY.contains(&k.as_str()) => Err(ConfigError::new(
                k.as_str(),
                "is a rule option: set it inside `rules` (rules => [ { \"name\" => ... } ])",
            )),
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

    /// A condition map: field reference → one value or a list, each value
    /// checked (and compiled) by `value`.
    fn condition<T>(
        &self,
        name: &str,
        value: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Vec<(String, Vec<T>)>, ConfigError> {
        let map = match self.get(name) {
            None => return Ok(Vec::new()),
            Some(Value::Object(map)) if map.is_empty() => {
                return Err(ConfigError::new(
                    name,
                    "must name at least one field; remove it to apply no condition",
                ))
            }
            Some(Value::Object(map)) => map,
            Some(v) => {
                return Err(ConfigError::new(
                    name,
                    format!(
                        "must be a map of field reference to value(s), e.g. {{ \"[service.name]\" => \"payments\" }}, got {}",
                        type_name(v)
                    ),
                ))
            }
        };
        let mut entries = Vec::with_capacity(map.len());
        for (field, values) in map {
            let reference = field_ref(name, field)?;
            let values = crate::conditions::entry_values(values)
                .map_err(|e| ConfigError::new(name, format!("{field:?}: {e}")))?
                .iter()
                .map(|v| value(v))
                .collect::<Result<Vec<T>, String>>()
                .map_err(|e| ConfigError::new(name, format!("{field:?}: {e}")))?;
            entries.push((reference, values));
        }
        Ok(entries)
    }

    /// `mentions`: level name (any spelling) or `default` → mention text.
    fn mentions(&self, name: &str) -> Result<BTreeMap<String, String>, ConfigError> {
        let map = match self.get(name) {
            None => return Ok(BTreeMap::new()),
            Some(Value::Object(map)) => map,
            Some(v) => {
                return Err(ConfigError::new(
                    name,
                    format!(
                        "must be a map of level to mention, e.g. {{ \"FATAL\" => \"<!here>\" }}, got {}",
                        type_name(v)
                    ),
                ))
            }
        };
        let mut out = BTreeMap::new();
        for (key, text) in map {
            let key = if key.trim().eq_ignore_ascii_case("default") {
                "default".to_string()
            } else {
                parse_level(name, key)?.name().to_string()
            };
            let Value::String(text) = text else {
                return Err(ConfigError::new(
                    name,
                    format!("[{key:?}]: must be a string, got {}", type_name(text)),
                ));
            };
            out.insert(key.clone(), check_mention(name, &key, text)?);
        }
        Ok(out)
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
    fn rules_inherit_the_top_level_and_override_what_they_set() {
        let c = parse(json!({
            "webhook_url": URL, "rate_limit": 60, "min_level": "WARN", "channel": "#ops",
            "mentions": {"FATAL": "<!here>"},
            "rules": [
                {"name": "db", "equals": {"[service.name]": "db"}},
                {"name": "pay", "levels": ["FATAL"], "rate_limit": 5, "channel": "#pay",
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
        assert_eq!(c.destinations.len(), 1);
        let simple = parse(json!({"webhook_url": URL})).unwrap();
        assert_eq!(simple.rule_names(), vec!["default"]);
        assert!(!simple.admits_missing_level());
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
