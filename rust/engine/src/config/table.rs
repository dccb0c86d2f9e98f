//! The one table of the plugin's options: name, the type Logstash delivers,
//! default, where it may be set, whether it is required, and what it does.
//!
//! The reader ([`Config`](super::Config)) validates; this table documents.
//! The gem's `docs/index.asciidoc` and the README's Options table are
//! rendered from it (see [`super::option_docs`]), and the tests below keep it
//! the set of options the reader accepts, with the defaults the reader
//! applies. Adding an option to the reader fails those tests until it has a
//! row here; adding the row is the only step.
//!
//! Doc strings and described defaults are Markdown inline text (code spans
//! in backticks, `[text](https://…)` links, no `|`): they go into the README
//! as written and are converted for AsciiDoc.

/// How Logstash delivers an option's value to the plugin (its
/// `PluginConfigSpec` type), named as Logstash's docs name the types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputType {
    String,
    Number,
    Boolean,
    Array,
    Hash,
    Password,
}

impl InputType {
    /// The type's name in Logstash's docs (`<<string,string>>`).
    pub fn as_str(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Number => "number",
            InputType::Boolean => "boolean",
            InputType::Array => "array",
            InputType::Hash => "hash",
            InputType::Password => "password",
        }
    }
}

/// Where an option may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Once for the whole plugin, at the top level only
    /// ([`ENGINE_OPTIONS`](super::ENGINE_OPTIONS)).
    Engine,
    /// At the top level (the simple form's rule, or what every rule
    /// inherits) and inside each rule of `rules`.
    Rule,
    /// Only inside a rule of `rules`.
    RuleOnly,
    /// Read by the Java shim before the engine starts; the engine never
    /// sees it.
    Shim,
}

/// Whether a configuration must set the option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Required {
    No,
    Yes,
    /// Required in the case said (Markdown inline text that completes
    /// "required …", e.g. ``unless `dry_run` is true``).
    When(&'static str),
}

/// The value an option has when it is not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultValue {
    None,
    /// A value as written in a pipeline, in JSON syntax (`20`, `"5m"`,
    /// `["ERROR", "FATAL"]`). A test checks that setting it changes nothing.
    Value(&'static str),
    /// What happens without the option, in words (Markdown inline text).
    Described(&'static str),
}

/// One option of the plugin.
#[derive(Clone, Copy, Debug)]
pub struct OptionDoc {
    pub name: &'static str,
    pub input_type: InputType,
    pub scope: Scope,
    pub required: Required,
    pub default: DefaultValue,
    /// What it does, with an example where one helps (Markdown inline text).
    pub doc: &'static str,
}

const fn opt(
    name: &'static str,
    input_type: InputType,
    scope: Scope,
    default: DefaultValue,
    doc: &'static str,
) -> OptionDoc {
    OptionDoc {
        name,
        input_type,
        scope,
        required: Required::No,
        default,
        doc,
    }
}

const fn required(mut o: OptionDoc, required: Required) -> OptionDoc {
    o.required = required;
    o
}

use DefaultValue::{Described, Value};
use InputType::{Array, Boolean, Hash, Number, Password, String as Str};
use Scope::{Engine, Rule, RuleOnly, Shim};

/// Every option, in the order the docs present them.
pub const OPTION_TABLE: &[OptionDoc] = &[
    required(
        opt(
            "webhook_url",
            Password,
            Rule,
            DefaultValue::None,
            "The Slack incoming-webhook URL. Use `\"${SLACK_WEBHOOK_URL}\"`. Must be \
             `https://hooks.slack.com/…` unless `allow_custom_webhook`. Never logged: shown as \
             `https://hooks.slack.com/services/***`.",
        ),
        Required::When("unless `dry_run` is true"),
    ),
    opt(
        "slack_token",
        Password,
        Rule,
        DefaultValue::None,
        "Slack app mode instead of `webhook_url`: a bot token (`xoxb-…`, scopes `chat:write`, \
         `chat:write.public` to post where the bot was not invited, `files:write` for stack \
         traces) and a `channel`. Each incident is one message kept current (see App mode). \
         Never logged: shown as `xoxb-***`.",
    ),
    opt(
        "slack_api_url",
        Str,
        Rule,
        Value(r#""https://slack.com/api""#),
        "App mode: where the Web API is. Another URL (a Slack-compatible server, tests) needs \
         `allow_custom_webhook`.",
    ),
    required(
        opt(
            "fallback_channel",
            Str,
            Rule,
            DefaultValue::None,
            "App mode: where a message goes when the event names no channel, or Slack answers \
             `channel_not_found`, `not_in_channel` or `is_archived`; summaries of a templated \
             `channel` go here.",
        ),
        Required::When("when `channel` has `%{}` references"),
    ),
    opt(
        "update_interval",
        Str,
        Rule,
        Value(r#""10s""#),
        "App mode: an incident's message shows its live count, first and last seen, updated at \
         most this often (1s to 1h; all updates share Slack's ~50 a minute), and once more when \
         its window closes.",
    ),
    opt(
        "thread_replies",
        Str,
        Rule,
        Value(r#""milestones""#),
        "App mode: what also goes into an incident's thread besides its quiet note and long \
         stack trace: `\"none\"`, `\"milestones\"` (10×, 100×, 1,000×…, a new host or \
         service) or `\"every_window\"` (each update's count).",
    ),
    opt(
        "reply_broadcast",
        Boolean,
        Rule,
        Value("false"),
        "App mode: milestone replies are also shown in the channel.",
    ),
    opt(
        "levels",
        Array,
        Rule,
        Value(r#"["ERROR", "FATAL"]"#),
        "Levels that alert. Case-insensitive. `FATAL` also covers `CRITICAL`, `ALERT`, \
         `EMERGENCY`, `PANIC`, `DPANIC` and syslog 0–2.",
    ),
    opt(
        "min_level",
        Str,
        Rule,
        DefaultValue::None,
        "Instead of `levels`: this level and everything more severe (`\"WARN\"` = WARN, ERROR, \
         FATAL).",
    ),
    opt(
        "level_field",
        Str,
        Engine,
        Described("`[log.level]`, then `[log][level]`, then `[level]`"),
        "Where the level is read from. The default finds flat ECS keys (logback/log4j2 ECS \
         encoders, Python ecs-logging), nested ECS (Beats) and plain JSON loggers.",
    ),
    opt(
        "title",
        Str,
        Rule,
        Described("`🚨 ERROR in <service.name>`"),
        "Header of the message; `%{[field]}` references allowed.",
    ),
    opt(
        "format",
        Str,
        Rule,
        Described("a body with the message, stack trace and ECS fields"),
        "Body of the message, Logstash `%{[a][b]}` / `%{[a.b]}` / `%{field}` references; `\\n` \
         is a newline; a missing field shows as `-`. Field values are escaped; your own text may \
         use `<!here>` or links.",
    ),
    opt(
        "dedup_fields",
        Array,
        Rule,
        Described("level + logger + error type + normalised first line of the message"),
        "Fields whose values identify \"the same problem\".",
    ),
    opt(
        "dedup_window",
        Str,
        Rule,
        Value(r#""5m""#),
        "Repeats of one problem within this window are counted, not posted; when it closes, one \
         message says how many times it repeated and since when. `\"0s\"` turns deduplication \
         off.",
    ),
    opt(
        "rate_limit",
        Number,
        Rule,
        Value("20"),
        "Messages per minute to the webhook (token bucket), 1 to 3600, whichever rule sends \
         them: rules on one webhook share one bucket and must agree on it (see Rules). What is \
         held back is summarised when capacity returns.",
    ),
    opt(
        "burst",
        Number,
        Rule,
        Value("5"),
        "Messages that may go out to the webhook back to back before `rate_limit` applies; \
         rules on one webhook must agree on it.",
    ),
    opt(
        "queue_size",
        Number,
        Engine,
        Value("1000"),
        "Messages waiting for the sender thread. When full, alerts are dropped and counted into \
         the next summary; the pipeline never waits.",
    ),
    opt(
        "max_tracked",
        Number,
        Rule,
        Value("10000"),
        "Problems tracked by the dedup window; past it the oldest is evicted (counted and \
         reported).",
    ),
    opt(
        "timeout",
        Str,
        Engine,
        Value(r#""10s""#),
        "Per-request timeout to Slack, 100ms to 5m.",
    ),
    opt(
        "max_retries",
        Number,
        Engine,
        Value("3"),
        "Retries after a 5xx or network failure, with exponential backoff and jitter. A 429 \
         does not use up retries: it waits as long as `Retry-After` says (seconds or an HTTP \
         date, at most 15 minutes), but never less than the 1 s pace, and 429s in a row back \
         off from there, doubling up to 60 s plus up to 50 % jitter; a negative or unreadable \
         `Retry-After` counts as none. Other 4xx are not retried.",
    ),
    opt(
        "shutdown_timeout",
        Str,
        Engine,
        Value(r#""5s""#),
        "How long pipeline stop may take to deliver what is queued and report open windows. \
         Stopping returns within `shutdown_timeout` + 100 ms whatever the number of webhooks; \
         what could not go out by then is counted in the shutdown report.",
    ),
    opt(
        "dry_run",
        Boolean,
        Engine,
        Value("false"),
        "Render messages and write them to the Logstash log instead of posting.",
    ),
    required(
        opt(
            "channel",
            Str,
            Rule,
            DefaultValue::None,
            "App mode: where messages go, a name (`\"#alerts\"`), an id, or read from the event \
             (`\"#alerts-%{[service.name]}\"`, lower-cased; needs `fallback_channel`). With a \
             webhook: passed to Slack, honoured by legacy webhooks only.",
        ),
        Required::When("with `slack_token`"),
    ),
    opt(
        "username",
        Str,
        Rule,
        DefaultValue::None,
        "Passed to Slack; honoured by legacy webhooks only.",
    ),
    opt(
        "icon_emoji",
        Str,
        Rule,
        DefaultValue::None,
        "Passed to Slack; honoured by legacy webhooks only. `icon_emoji => \":rotating_light:\"`",
    ),
    opt(
        "icon_url",
        Str,
        Rule,
        DefaultValue::None,
        "Passed to Slack; honoured by legacy webhooks only.",
    ),
    opt(
        "allow_custom_webhook",
        Boolean,
        Engine,
        Value("false"),
        "Accept a webhook that is not `https://hooks.slack.com/…` (self-hosted Slack-compatible \
         servers, tests).",
    ),
    opt(
        "proxy",
        Password,
        Engine,
        Described("none: the `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` environment, if set"),
        "An HTTP proxy for every request (webhooks, the Web API, uploads): \
         `\"http://proxy.example:3128\"`, with `user:password@` if it asks for them (a password \
         setting: use `${PROXY_URL}`; never logged).",
    ),
    opt(
        "ssl_certificate_authorities",
        Array,
        Engine,
        DefaultValue::None,
        "PEM files of certificate authorities to trust beside the built-in ones (a TLS-inspecting \
         corporate proxy, a self-hosted Slack-compatible server). Checked at start.",
    ),
    opt(
        "coordination_hosts",
        Array,
        Engine,
        Described("none: every node alerts on its own"),
        "Elasticsearch (or OpenSearch) URLs every Logstash node can reach, as the `elasticsearch` \
         output takes them: `[\"https://es1:9200\", \"https://es2:9200\"]`. Set, the nodes \
         share one alert per incident and report the fleet's count (see Several Logstash nodes); \
         while it fails, each node alerts on its own.",
    ),
    opt(
        "coordination_index",
        Str,
        Engine,
        Value(r#""slack-alert-state""#),
        "The index holding the fleet's state; created (one shard) if missing.",
    ),
    opt(
        "coordination_api_key",
        Password,
        Engine,
        DefaultValue::None,
        "An Elasticsearch API key (`id:api_key` or its encoded form) with `read`, `write`, \
         `delete` and `create_index` on the index. Never logged.",
    ),
    opt(
        "coordination_user",
        Str,
        Engine,
        DefaultValue::None,
        "Basic-auth user for `coordination_hosts`, with `coordination_password`.",
    ),
    opt(
        "coordination_password",
        Password,
        Engine,
        DefaultValue::None,
        "The `coordination_user`'s password. Never logged.",
    ),
    opt(
        "coordination_ssl_certificate_authorities",
        Array,
        Engine,
        DefaultValue::None,
        "PEM files of the CAs to trust for `https` coordination hosts, instead of the built-in \
         roots. Checked at start.",
    ),
    opt(
        "coordination_timeout",
        Str,
        Engine,
        Value(r#""5s""#),
        "100ms to 300s: the bound on each call to the coordination store, across its hosts; a \
         call that takes longer makes the node alert on its own until the store answers again.",
    ),
    opt(
        "coordination_lease",
        Str,
        Engine,
        Value(r#""30s""#),
        "1s to 1h: how long past an incident's due report the other nodes wait for its owner \
         before one of them takes the incident over and reports it.",
    ),
    opt(
        "native_library",
        Str,
        Shim,
        Described("the bundled library"),
        "Path of a `libslack_alert_jni.so` you built yourself.",
    ),
    opt(
        "rules",
        Array,
        Engine,
        Described("one rule, `default`, made of the options above"),
        "Several alert rules, a list of hashes, each with a `name` and any rule option (see \
         [Rules](#rules)). `rules => [ { \"name\" => \"payments\" \"equals\" => { \
         \"[service.name]\" => \"payments\" } }, { \"name\" => \"errors\" } ]`",
    ),
    required(
        opt(
            "name",
            Str,
            RuleOnly,
            DefaultValue::None,
            "The rule's name: unique, 1–64 letters, digits, `_`, `.`, `-`; names its gauges and \
             `/metrics` samples. `\"name\" => \"payments\"`",
        ),
        Required::Yes,
    ),
    opt(
        "type",
        Str,
        RuleOnly,
        Value(r#""alert""#),
        "`\"alert\"` or `\"flatline\"` (alert when a group goes silent). `\"type\" => \
         \"flatline\"`",
    ),
    required(
        opt(
            "silence",
            Str,
            RuleOnly,
            DefaultValue::None,
            "10s to 7d: how long a group that was logging may stay silent. `\"silence\" => \
             \"10m\"`",
        ),
        Required::When("in a flatline rule"),
    ),
    opt(
        "equals",
        Hash,
        Rule,
        DefaultValue::None,
        "Field reference → text or list of texts; the field must equal one of them (numbers and \
         booleans compare as their JSON text). Every entry must hold. `equals => { \
         \"[service.name]\" => [\"cart\", \"checkout\"] }`",
    ),
    opt(
        "contains",
        Hash,
        Rule,
        DefaultValue::None,
        "Field reference → text or list; the field must contain one of them (case-sensitive). \
         `contains => { \"[message]\" => \"timeout\" }`",
    ),
    opt(
        "regex",
        Hash,
        Rule,
        DefaultValue::None,
        "Field reference → regular expression or list ([Rust `regex` \
         syntax](https://docs.rs/regex/latest/regex/#syntax), unanchored, at most 1,000 \
         characters). `regex => { \"[message]\" => \"timeout after \\\\d+ ms\" }`",
    ),
    opt(
        "exclude",
        Hash,
        Rule,
        DefaultValue::None,
        "Field reference → regular expression or list; an event any of them matches is left out \
         (counted as `excluded`). A missing field never matches. `exclude => { \"[url.path]\" => \
         \"^/health\" }`",
    ),
    opt(
        "query",
        Str,
        Rule,
        DefaultValue::None,
        "A Kibana-style query the event must match, compiled once at start: `field:value`, \
         `\"quoted phrases\"`, `*` wildcards, `field:*` (exists), `and`/`or`/`not` with \
         parentheses, value lists `field:(a or b)`, ranges `field >= 500`. Holds beside the \
         other conditions (all must hold), and `exclude` still silences. Matching rules: \
         [Queries](#queries-query). An error points at the column: `query: at 17: expected a \
         value after ':'`. `query => \"service.name:payments and (message:timeout or \
         http.response.status_code >= 500)\"`",
    ),
    opt(
        "query_language",
        Str,
        Rule,
        Value(r#""kql""#),
        "`\"kql\"` or `\"lucene\"` (a `query_string` subset: `AND`/`OR`/`NOT`, `+`/`-`, \
         `field:value`, `\"phrase\"`, `[a TO b]`/`{a TO b}`, `field:>=500`, `*`/`?`, \
         `_exists_:field`). `query_language => \"lucene\"`",
    ),
    opt(
        "threshold",
        Number,
        Rule,
        Value("1"),
        "Alert only when this many matching events happen within `threshold_window` in one \
         group. `threshold => 20`",
    ),
    required(
        opt(
            "threshold_window",
            Str,
            Rule,
            DefaultValue::None,
            "1s to 7d. `threshold_window => \"2m\"`",
        ),
        Required::When("when `threshold` is more than 1"),
    ),
    opt(
        "group_by",
        Str,
        Rule,
        Described("the fingerprint (threshold); `[service.name]` (flatline)"),
        "Field reference whose value makes a group. `group_by => \"[service.name]\"`",
    ),
    opt(
        "mentions",
        Hash,
        Rule,
        DefaultValue::None,
        "Level name (or `default`) → mention: `<!here>`, `<!channel>`, `<!everyone>`, `<@U…>`, \
         `<!subteam^S…>`, space-separated. Put before the alert's text. `mentions => { \"FATAL\" \
         => \"<!here>\" }`",
    ),
    opt(
        "link_template",
        Str,
        Rule,
        DefaultValue::None,
        "`%{}` template of an `http(s)://` URL shown as a button; event values are \
         percent-encoded. `link_template => \
         \"https://kibana.example.com/app/discover#/?_a=(query:(language:kuery,query:'trace.id:%{[trace.id]}'))\"`",
    ),
    opt(
        "link_text",
        Str,
        Rule,
        Value(r#""Open logs""#),
        "The button's label, at most 75 characters. `link_text => \"Open trace\"`",
    ),
    opt(
        "destination",
        Str,
        Rule,
        Value(r#""slack""#),
        "`\"slack\"` or `\"json\"` (a generic JSON webhook: Teams workflows, Mattermost, \
         dashboards). `destination => \"json\"`",
    ),
    required(
        opt(
            "body_template",
            Hash,
            Rule,
            DefaultValue::None,
            "The JSON body to post, a hash or a string holding JSON; string leaves are `%{}` \
             templates over event fields and `[@alert][…]`. `body_template => { \"text\" => \
             \"%{[@alert][title]}\" \"service\" => \"%{[service.name]}\" }`",
        ),
        Required::When("with `destination => \"json\"`"),
    ),
];

/// The row of option `name`, if there is one.
pub fn option_doc(name: &str) -> Option<&'static OptionDoc> {
    OPTION_TABLE.iter().find(|o| o.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{json, Value as Json};

    use super::*;
    use crate::config::tests::{parse, URL};
    use crate::config::{rule::RULE_ONLY, ENGINE_OPTIONS, OPTIONS, RULE_OPTIONS};

    fn names(pred: impl Fn(&OptionDoc) -> bool) -> BTreeSet<&'static str> {
        OPTION_TABLE
            .iter()
            .filter(|o| pred(o))
            .map(|o| o.name)
            .collect()
    }

    fn set(list: &[&'static str]) -> BTreeSet<&'static str> {
        list.iter().copied().collect()
    }

    /// Fails with the options to add (or remove) when the reader and the
    /// table disagree: a new option needs only its row in `OPTION_TABLE`.
    fn same(what: &str, table: BTreeSet<&str>, reader: BTreeSet<&str>) {
        let missing: Vec<_> = reader.difference(&table).collect();
        let extra: Vec<_> = table.difference(&reader).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{what}: the reader accepts {missing:?} that OPTION_TABLE (config/table.rs) has no row \
             for, and OPTION_TABLE has {extra:?} that the reader does not accept; add or fix the rows"
        );
    }

    #[test]
    fn the_table_lists_exactly_the_options_the_reader_accepts() {
        assert_eq!(
            names(|_| true).len(),
            OPTION_TABLE.len(),
            "OPTION_TABLE repeats a name"
        );
        same(
            "top level",
            names(|o| matches!(o.scope, Scope::Engine | Scope::Rule)),
            set(OPTIONS),
        );
        same(
            "engine-wide",
            names(|o| o.scope == Scope::Engine),
            set(ENGINE_OPTIONS),
        );
        same(
            "inside a rule",
            names(|o| matches!(o.scope, Scope::Rule | Scope::RuleOnly)),
            set(RULE_OPTIONS),
        );
        same(
            "rule-only",
            names(|o| o.scope == Scope::RuleOnly),
            set(RULE_ONLY),
        );
    }

    /// A shim option is one the engine refuses: if the engine learns it, it
    /// is no longer the shim's alone.
    #[test]
    fn shim_options_are_not_the_engines() {
        for o in OPTION_TABLE.iter().filter(|o| o.scope == Scope::Shim) {
            let e = parse(json!({"dry_run": true, o.name: "x"})).unwrap_err();
            assert!(e.contains("unknown option"), "{}: {e}", o.name);
        }
    }

    /// Setting an option to its documented default changes nothing.
    #[test]
    fn documented_defaults_are_the_readers() {
        let mut checked = 0;
        for o in OPTION_TABLE {
            let DefaultValue::Value(text) = o.default else {
                continue;
            };
            let value: Json = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("{}: default {text} is not JSON: {e}", o.name));
            let (mut base, wrap): (Json, fn(Json) -> Json) = match o.scope {
                Scope::RuleOnly => (
                    json!({"name": "r"}),
                    |rule| json!({"dry_run": true, "rules": [rule]}),
                ),
                _ if o.name == "dry_run" => (json!({"webhook_url": URL}), |top| top),
                _ if crate::config::app::APP_ONLY.contains(&o.name) => (
                    json!({"dry_run": true, "slack_token": "xoxb-t", "channel": "#a"}),
                    |top| top,
                ),
                _ => (json!({"dry_run": true}), |top| top),
            };
            let plain = parse(wrap(base.clone())).unwrap();
            base[o.name] = value;
            let explicit = parse(wrap(base))
                .unwrap_or_else(|e| panic!("{}: default {text} is refused: {e}", o.name));
            assert_eq!(
                format!("{plain:?}"),
                format!("{explicit:?}"),
                "{}: the documented default {text} is not what the reader applies",
                o.name
            );
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} defaults checked");
    }

    /// What each required option says: left out, the reader refuses the
    /// configuration and names it (`threshold_window` through `threshold`'s
    /// message, which asks for it).
    #[test]
    fn required_options_are_refused_when_missing() {
        let cases = [
            ("webhook_url", json!({})),
            ("name", json!({"dry_run": true, "rules": [{}]})),
            (
                "silence",
                json!({"dry_run": true, "rules": [{"name": "r", "type": "flatline"}]}),
            ),
            ("threshold_window", json!({"dry_run": true, "threshold": 3})),
            ("channel", json!({"dry_run": true, "slack_token": "xoxb-t"})),
            (
                "fallback_channel",
                json!({"dry_run": true, "slack_token": "xoxb-t", "channel": "#a-%{x}"}),
            ),
            (
                "body_template",
                json!({"dry_run": true, "destination": "json"}),
            ),
        ];
        let documented = names(|o| o.required != Required::No);
        assert_eq!(documented, cases.iter().map(|(n, _)| *n).collect());
        for (name, config) in cases {
            let e = parse(config).unwrap_err();
            assert!(
                e.contains(&format!("{name}: is required"))
                    || e.contains(&format!("needs `{name}`")),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn doc_text_fits_a_markdown_table_cell() {
        for o in OPTION_TABLE {
            let described = match o.default {
                DefaultValue::Described(d) | DefaultValue::Value(d) => d,
                DefaultValue::None => "",
            };
            let when = match o.required {
                Required::When(w) => w,
                _ => "",
            };
            for text in [o.doc, described, when] {
                assert!(
                    !text.contains('|') && !text.contains('\n'),
                    "{}: {text:?}",
                    o.name
                );
            }
            assert!(!o.doc.is_empty(), "{} has no doc", o.name);
        }
    }
}
