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
//!
//! - `options`: the typed reader of the raw option map, [`ConfigError`]
//!   and the duration helpers ([`parse_duration`], [`show_duration`]).
//! - `rule`: [`RuleConfig`], what a rule inherits from the top level and how
//!   a rule is validated.
//! - `webhook`: [`Webhook`] (a secret, never shown) and [`Destination`].
//! - `table`: [`OPTION_TABLE`], every option with its type, default, scope
//!   and doc; [`option_docs`] renders the docs from it.

pub(crate) mod app;
mod coordination;
mod network;
pub mod option_docs;
mod options;
mod rule;
mod table;
mod webhook;

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::level::Level;

pub use app::{
    ApiUrl, AppRule, ChannelTemplate, SlackToken, ThreadReplies, DEFAULT_UPDATE_INTERVAL,
    SLACK_API_URL,
};
pub use coordination::{
    Coordination, COORDINATION_OPTIONS, DEFAULT_COORDINATION_LEASE, DEFAULT_COORDINATION_TIMEOUT,
};
pub use network::{CertificateAuthorities, Proxy};
pub(crate) use options::type_name;
pub use options::{parse_duration, show_duration, ConfigError};
pub use rule::{
    RuleConfig, RuleKind, DEFAULT_LINK_TEXT, DEFAULT_RULE, MAX_LINK_TEXT_CHARS, MAX_RULES,
    RULE_OPTIONS,
};
pub use table::{option_doc, DefaultValue, InputType, OptionDoc, Required, Scope, OPTION_TABLE};
pub use webhook::{Destination, DestinationKind, Webhook};

use options::{field_ref, Options};
use rule::{check_shared_limits, parse_rule, rule_from, Context, RuleDefaults};

/// Every option accepted at the top level, in the order the README documents them.
pub const OPTIONS: &[&str] = &[
    "webhook_url",
    "slack_token",
    "slack_api_url",
    "fallback_channel",
    "update_interval",
    "thread_replies",
    "reply_broadcast",
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
    "proxy",
    "ssl_certificate_authorities",
    "coordination_hosts",
    "coordination_index",
    "coordination_api_key",
    "coordination_user",
    "coordination_password",
    "coordination_ssl_certificate_authorities",
    "coordination_timeout",
    "coordination_lease",
    "equals",
    "contains",
    "regex",
    "exclude",
    "query",
    "query_language",
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
    "proxy",
    "ssl_certificate_authorities",
    "coordination_hosts",
    "coordination_index",
    "coordination_api_key",
    "coordination_user",
    "coordination_password",
    "coordination_ssl_certificate_authorities",
    "coordination_timeout",
    "coordination_lease",
    "rules",
];

/// Where levels are read from when `level_field` is not set: flat ECS keys
/// (logback/log4j2 ECS encoders, Python ecs-logging), nested ECS (Beats), then
/// the bare `level` most JSON loggers use.
pub const DEFAULT_LEVEL_REFS: &[&str] = &["[log.level]", "[log][level]", "[level]"];

/// A validated configuration: the engine-wide options and the rules.
///
/// The top-level rule options (`webhook_url`, `levels`, `dedup_window`, ...)
/// are not kept apart: they are the one rule of the simple form, or what
/// every rule inherits, and each [`RuleConfig`] in [`Config::rules`] holds
/// its values with them filled in.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "Value")]
pub struct Config {
    /// Field references the level is read from, tried in order.
    pub level_refs: Vec<String>,
    /// Capacity of the queue in front of each sender thread.
    pub queue_size: usize,
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
    /// The proxy every request goes through (`proxy`, a secret).
    pub proxy: Option<Proxy>,
    /// Trusted beside the built-in roots (`ssl_certificate_authorities`).
    pub certificate_authorities: Option<CertificateAuthorities>,
    /// Fleet-wide coordination through Elasticsearch (`coordination_hosts`); `None`: node-local.
    pub coordination: Option<Coordination>,
}

impl Default for Config {
    /// The defaults: one rule, `default`, with every option at its default
    /// and no webhook (valid only as a dry run).
    fn default() -> Config {
        Config::try_from(serde_json::json!({"dry_run": true}))
            .expect("the defaults are a valid configuration")
    }
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
        slack_alert_event::ecs::all_references()
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

    /// The references of [`Config::event_refs`] kept long: a stack trace,
    /// which app mode uploads whole into the incident's thread.
    pub fn long_refs(&self) -> Vec<String> {
        if !self.rules.iter().any(|r| r.app.is_some()) {
            return Vec::new();
        }
        slack_alert_event::ecs::STACK_TRACE
            .candidates
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    /// The references of [`Config::event_refs`] that deciding reads, in its
    /// order: where the level is, what the fingerprints are made of, the
    /// service (kept with a dedup window for its repeat report), and the
    /// rules' condition and `group_by` fields.
    pub fn key_refs(&self) -> Vec<String> {
        let mut wanted: Vec<String> = self.level_refs.clone();
        wanted.extend(
            slack_alert_event::ecs::SERVICE
                .candidates
                .iter()
                .map(|s| s.to_string()),
        );
        // An incident's live status says on how many hosts it repeats.
        if self.rules.iter().any(|r| r.app.is_some()) {
            wanted.extend(
                slack_alert_event::ecs::HOST
                    .candidates
                    .iter()
                    .map(|s| s.to_string()),
            );
        }
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

    /// The union of the levels of the rules of `kind` (a flatline rule
    /// without `levels` takes every level).
    pub fn levels_of(&self, kind: RuleKind) -> BTreeSet<Level> {
        self.rules
            .iter()
            .filter(|r| r.kind == kind)
            .flat_map(|r| {
                if r.any_level {
                    Level::ALL.to_vec()
                } else {
                    r.levels.iter().copied().collect()
                }
            })
            .collect()
    }

    /// The field references a heartbeat (an event only flatline rules
    /// take) must carry, canonical and de-duplicated: each flatline rule's
    /// group (`group_by`, else the service's candidates), the fields its
    /// conditions read, and the level fields if some flatline rule has
    /// levels. Empty without flatline rules.
    pub fn heartbeat_refs(&self) -> Vec<String> {
        let mut refs: Vec<String> = Vec::new();
        let mut push = |r: &str| {
            if !refs.iter().any(|x| x == r) {
                refs.push(r.to_string());
            }
        };
        let flatlines = || self.rules.iter().filter(|r| r.kind == RuleKind::Flatline);
        if flatlines().any(|r| !r.any_level) {
            self.level_refs.iter().for_each(|r| push(r));
        }
        for rule in flatlines() {
            match &rule.group_by {
                Some(r) => push(r),
                None => slack_alert_event::ecs::SERVICE
                    .candidates
                    .iter()
                    .for_each(|r| push(r)),
            }
            rule.conditions.references().for_each(&mut push);
        }
        refs
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
    if let Some(app) = &rule.app {
        refs.extend(app.channel.references());
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
            None => vec![top],
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
                app: rule
                    .app
                    .as_ref()
                    .map(|a| (a.token.clone(), a.api_url.clone())),
            };
            rule.destination = match destinations.iter().position(|x| *x == d) {
                Some(i) => i,
                None => {
                    destinations.push(d);
                    destinations.len() - 1
                }
            };
        }
        check_shared_limits(&rules)?;

        Ok(Config {
            level_refs,
            queue_size: opts
                .int("queue_size", 1, 1_000_000)?
                .unwrap_or(RuleDefaults::QUEUE_SIZE) as usize,
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
            proxy: match opts.string("proxy")? {
                Some(p) if !p.trim().is_empty() => Some(Proxy::parse("proxy", p.trim())?),
                _ => None,
            },
            certificate_authorities: match opts.strings("ssl_certificate_authorities")? {
                Some(paths) if !paths.is_empty() => Some(CertificateAuthorities::load(
                    "ssl_certificate_authorities",
                    &paths,
                )?),
                _ => None,
            },
            coordination: coordination::parse(&opts)?,
        })
    }
}

impl Config {
    /// How every request of the engine is made: the timeout, the proxy, the
    /// extra certificate authorities.
    pub fn client_settings(&self) -> crate::destination::client::ClientSettings {
        crate::destination::client::ClientSettings {
            timeout: self.timeout,
            proxy: self.proxy.clone(),
            certificate_authorities: self.certificate_authorities.clone(),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    pub(super) const URL: &str = "https://hooks.slack.com/services/TAAAA/BBBBB/secretsecretsecret";

    pub(super) fn parse(v: Value) -> Result<Config, String> {
        Config::try_from(v).map_err(|e| e.to_string())
    }

    pub(super) fn err(v: Value) -> String {
        parse(v).expect_err("config should be rejected")
    }

    /// The three option lists are written out for the README's order and the
    /// error messages; this keeps them one set: every rule option but the
    /// rule-only ones is accepted at the top, beside the engine-wide ones.
    #[test]
    fn option_lists_agree() {
        use std::collections::BTreeSet;
        let top: BTreeSet<&str> = OPTIONS.iter().copied().collect();
        assert_eq!(top.len(), OPTIONS.len(), "OPTIONS repeats a name");
        let engine: BTreeSet<&str> = ENGINE_OPTIONS.iter().copied().collect();
        let rule: BTreeSet<&str> = RULE_OPTIONS.iter().copied().collect();
        assert!(
            engine.is_disjoint(&rule),
            "{:?}",
            engine.intersection(&rule)
        );
        let expected: BTreeSet<&str> = engine
            .union(&rule)
            .copied()
            .filter(|o| !rule::RULE_ONLY.contains(o))
            .collect();
        assert_eq!(top, expected);
    }

    #[test]
    fn defaults() {
        let c = parse(json!({"webhook_url": URL})).unwrap();
        assert_eq!(c.rule_names(), [DEFAULT_RULE]);
        let rule = &c.rules[0];
        assert_eq!(
            rule.levels,
            [Level::Error, Level::Fatal]
                .into_iter()
                .collect::<BTreeSet<_>>()
        );
        assert_eq!(rule.dedup_window, Duration::from_secs(300));
        assert_eq!(
            (rule.rate_limit, rule.burst, c.queue_size, rule.max_tracked),
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
        let rule = &c.rules[0];
        assert_eq!(
            rule.levels,
            [Level::Warn, Level::Error, Level::Fatal]
                .into_iter()
                .collect::<BTreeSet<_>>()
        );
        assert_eq!(c.level_refs, vec!["[log][level]"]);
        assert_eq!(rule.dedup_fields, vec!["[service.name]", "[error.type]"]);
        assert_eq!(rule.style.channel.as_deref(), Some("#ops"));
        assert_eq!(rule.dedup_window, Duration::from_secs(30));
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
            c.rules[0].levels,
            [Level::Error, Level::Fatal]
                .into_iter()
                .collect::<BTreeSet<_>>()
        );
        let c = parse(json!({"dry_run": true, "levels": ["WARN"]})).unwrap();
        assert_eq!(
            c.rules[0].levels,
            [Level::Warn].into_iter().collect::<BTreeSet<_>>()
        );
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
    fn deserialises_through_serde() {
        let c: Config = serde_json::from_str(r#"{"dry_run": true, "burst": 2}"#).unwrap();
        assert_eq!(c.rules[0].burst, 2);
        let e = serde_json::from_str::<Config>(r#"{"dry_run": true, "burst": 0}"#).unwrap_err();
        assert!(
            e.to_string().contains("burst: must be a whole number"),
            "{e}"
        );
    }
}
