//! The configuration file: YAML with exactly the plugin's option names.
//!
//! The file is parsed into JSON values and validated by the engine's own
//! [`Config`], so the sidecar accepts what `slack_alert { ... }` accepts and
//! rejects it with the same messages. `${VAR}` and `${VAR:default}` in string
//! values are replaced from the environment after parsing (so a value cannot
//! change the YAML's structure), which keeps the webhook URL out of the file.
//! An expanded value is never printed: errors name the option and the variable.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use slack_alert_engine::Config;

/// Options every Logstash filter has; they mean nothing to the sidecar, which
/// passes no events on.
const LOGSTASH_COMMON_OPTIONS: &[&str] = &[
    "add_field",
    "add_tag",
    "remove_field",
    "remove_tag",
    "id",
    "enable_metric",
    "periodic_flush",
];

/// Why a configuration file could not be used.
#[derive(Debug)]
pub enum ConfigFileError {
    /// Occurs when the file cannot be read (missing, unreadable, not UTF-8).
    Read { path: PathBuf, problem: String },
    /// Occurs when the file is not YAML, or not a map of options.
    Syntax { path: PathBuf, problem: String },
    /// Occurs when a value names `${VAR}` and `VAR` is not set (and no
    /// `${VAR:default}` was given).
    UnsetVariable { option: String, variable: String },
    /// Occurs when a `${` has no closing `}` or an empty name.
    BadReference { option: String, problem: String },
    /// Occurs when an option is a plugin-only option (`native_library`,
    /// `add_field`, ...).
    PluginOnly { option: String, why: &'static str },
    /// Occurs when an option is unknown, of the wrong type or out of range
    /// (the engine's `ConfigError`, with expanded values put back as
    /// `${VAR}` so that a secret cannot be echoed).
    Invalid { option: String, message: String },
}

impl ConfigFileError {
    /// The option at fault, or `config` when it is the whole file.
    pub fn option(&self) -> &str {
        match self {
            ConfigFileError::Read { .. } | ConfigFileError::Syntax { .. } => "config",
            ConfigFileError::UnsetVariable { option, .. }
            | ConfigFileError::BadReference { option, .. }
            | ConfigFileError::PluginOnly { option, .. } => option,
            ConfigFileError::Invalid { option, .. } => option,
        }
    }
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Read { path, problem } => {
                write!(f, "--config: cannot read {}: {problem}", path.display())
            }
            ConfigFileError::Syntax { path, problem } => {
                write!(f, "config: {} {problem}", path.display())
            }
            ConfigFileError::UnsetVariable { option, variable } => write!(
                f,
                "{option}: ${{{variable}}} is not set in the environment; export {variable} \
                 or give a default as ${{{variable}:default}}"
            ),
            ConfigFileError::BadReference { option, problem } => write!(f, "{option}: {problem}"),
            ConfigFileError::PluginOnly { option, why } => write!(f, "{option}: {why}"),
            ConfigFileError::Invalid { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for ConfigFileError {}

/// Reads, expands and validates a configuration file, with variables from
/// the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigFileError::Read {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    parse(&text, path, &|name| std::env::var(name).ok())
}

/// Parses configuration text; `env` looks up variables. `path` is only shown
/// in messages.
pub fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigFileError> {
    let syntax = |problem: String| ConfigFileError::Syntax {
        path: path.to_path_buf(),
        problem,
    };
    let value: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| syntax(format!("is not valid YAML: {e}")))?
    };
    let options = match value {
        Value::Object(map) => map,
        Value::Null => {
            return Err(syntax(
                "has no options; write at least `webhook_url: ${SLACK_WEBHOOK_URL}`".into(),
            ))
        }
        _ => {
            return Err(syntax(
                "must be a map of options (`option: value` lines)".into(),
            ))
        }
    };
    let mut expanded = Map::new();
    let mut used = Vec::new();
    for (option, value) in options {
        if let Some(why) = plugin_only(&option) {
            return Err(ConfigFileError::PluginOnly { option, why });
        }
        let value = expand_value(value, &option, env, &mut used)?;
        expanded.insert(option, value);
    }
    Config::try_from(Value::Object(expanded)).map_err(|e| ConfigFileError::Invalid {
        option: e.option().to_string(),
        message: scrub(e.to_string(), &used),
    })
}

/// Values shorter than this are not taken back out of messages: they are
/// not secrets, and replacing `5` everywhere would garble the message.
const SCRUB_MIN_CHARS: usize = 8;

/// Puts `${VAR}` back where a message repeats an expanded value.
fn scrub(mut message: String, used: &[(String, String)]) -> String {
    for (name, value) in used {
        if value.chars().count() >= SCRUB_MIN_CHARS {
            message = message.replace(value.as_str(), &format!("${{{name}}}"));
        }
    }
    message
}

fn plugin_only(option: &str) -> Option<&'static str> {
    if option == "native_library" {
        Some("is an option of the Logstash plugin only (the sidecar has the engine built in); remove it")
    } else if LOGSTASH_COMMON_OPTIONS.contains(&option) {
        Some("is a common Logstash filter option; the sidecar passes no events on, so remove it")
    } else {
        None
    }
}

/// Expands variables in every string inside `value` (lists of strings too).
/// `used` collects each variable and the value it was replaced by.
fn expand_value(
    value: Value,
    option: &str,
    env: &dyn Fn(&str) -> Option<String>,
    used: &mut Vec<(String, String)>,
) -> Result<Value, ConfigFileError> {
    Ok(match value {
        Value::String(s) => {
            let mut recording = |name: &str| {
                let value = env(name);
                if let Some(v) = &value {
                    used.push((name.to_string(), v.clone()));
                }
                value
            };
            Value::String(expand(&s, option, &mut recording)?)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| expand_value(v, option, env, used))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, expand_value(v, option, env, used)?)))
                .collect::<Result<_, ConfigFileError>>()?,
        ),
        other => other,
    })
}

/// Replaces `${VAR}` and `${VAR:default}` in `text`, as Logstash does in its
/// pipeline files. A `$` not followed by `{` is kept as it is.
pub fn expand(
    text: &str,
    option: &str,
    env: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<String, ConfigFileError> {
    let bad = |problem: &str| ConfigFileError::BadReference {
        option: option.to_string(),
        problem: problem.to_string(),
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| bad("`${` without a closing `}`; write ${VARIABLE}"))?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(':') {
            Some((name, default)) => (name.trim(), Some(default)),
            None => (inner.trim(), None),
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if !valid {
            return Err(bad(&format!(
                "`${{{inner}}}` does not name an environment variable (letters, digits and `_`)"
            )));
        }
        match (env(name), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(ConfigFileError::UnsetVariable {
                    option: option.to_string(),
                    variable: name.to_string(),
                })
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const URL: &str = "https://hooks.slack.com/services/TAAAA/BBBBB/secretsecretsecret";

    fn env(name: &str) -> Option<String> {
        match name {
            "SLACK_WEBHOOK_URL" => Some(URL.to_string()),
            "WINDOW" => Some("10m".to_string()),
            _ => None,
        }
    }

    fn load_text(text: &str) -> Result<Config, String> {
        parse(text, Path::new("test.yml"), &env).map_err(|e| e.to_string())
    }

    #[test]
    fn plugin_option_names_and_variables() {
        let c = load_text(
            "webhook_url: ${SLACK_WEBHOOK_URL}\n\
             levels: [ERROR, FATAL]\n\
             dedup_window: ${WINDOW}\n\
             rate_limit: 20\n\
             burst: ${BURST:7}\n\
             channel: '#ops-${TEAM:core}'\n\
             format: \"lvl: %{[log.level]}\\nmsg: %{message}\"\n",
        )
        .unwrap();
        let rule = &c.rules[0];
        assert_eq!(rule.webhook_url.as_ref().unwrap().expose(), URL);
        assert_eq!(rule.dedup_window, Duration::from_secs(600));
        assert_eq!(rule.burst, 7);
        assert_eq!(rule.style.channel.as_deref(), Some("#ops-core"));
        assert!(rule.format.is_some());
    }

    #[test]
    fn errors_name_the_option() {
        let cases = [
            (
                "dry_run: true\ndedup_window: soon\n",
                "dedup_window: \"soon\" is not a duration",
            ),
            (
                "webhook_url: ${NOPE}\n",
                "webhook_url: ${NOPE} is not set in the environment; export NOPE",
            ),
            (
                "webhook_url: ${SLACK_WEBHOOK_URL\n",
                "webhook_url: `${` without a closing `}`",
            ),
            (
                "webhook_url: ${}\n",
                "webhook_url: `${}` does not name an environment variable",
            ),
            (
                "dry_run: true\nadd_field: {a: b}\n",
                "add_field: is a common Logstash filter option",
            ),
            (
                "dry_run: true\nnative_library: /x.so\n",
                "native_library: is an option of the Logstash plugin only",
            ),
            (
                "dry_run: true\nwebhok_url: x\n",
                "webhok_url: unknown option",
            ),
            ("", "config: test.yml has no options"),
            ("- a\n- b\n", "config: test.yml must be a map of options"),
            ("a: [\n", "config: test.yml is not valid YAML"),
            (
                "webhook_url: http://example.com/x\n",
                "webhook_url: must be an https://hooks.slack.com",
            ),
        ];
        for (text, expected) in cases {
            let got = load_text(text).expect_err(text);
            assert!(
                got.starts_with(expected),
                "for {text:?}:\n  got      {got}\n  expected {expected}…"
            );
        }
    }

    #[test]
    fn the_expanded_webhook_is_never_in_a_message() {
        for text in [
            "webhook_url: x${SLACK_WEBHOOK_URL}\n",
            "webhook_url: ${SLACK_WEBHOOK_URL}\nburst: 0\n",
            "webhook_url: ${SLACK_WEBHOOK_URL}\nlevels: ${SLACK_WEBHOOK_URL}\n",
        ] {
            let e = load_text(text).expect_err(text);
            assert!(!e.contains("secretsecret"), "{e}");
        }
    }

    #[test]
    fn slack_app_mode_options_come_through_yaml() {
        const TOKEN: &str = "xoxb-1234-5678-yamlsecret";
        let env = |name: &str| (name == "SLACK_BOT_TOKEN").then(|| TOKEN.to_string());
        let c = parse(
            "slack_token: ${SLACK_BOT_TOKEN}\n\
             channel: '#alerts-%{[service.name]}'\n\
             fallback_channel: '#alerts'\n\
             slack_api_url: http://127.0.0.1:9/api\n\
             allow_custom_webhook: true\n\
             update_interval: 30s\n\
             thread_replies: every_window\n\
             reply_broadcast: true\n\
             rules:\n\
             \x20 - name: errors\n\
             \x20 - name: pager\n\
             \x20   levels: [FATAL]\n\
             \x20   channel: C0123ABCD\n",
            Path::new("app.yml"),
            &env,
        )
        .unwrap();
        let app = c.rules[0].app.as_ref().expect("app mode");
        assert_eq!(app.token.as_ref().unwrap().expose(), TOKEN);
        assert_eq!(app.api_url.as_str(), "http://127.0.0.1:9/api");
        assert!(app.channel.is_templated());
        assert_eq!(app.fixed_channel().as_deref(), Some("#alerts"));
        assert_eq!(app.update_interval, Duration::from_secs(30));
        assert_eq!(app.thread_replies.as_str(), "every_window");
        assert!(app.reply_broadcast);
        let pager = c.rules[1].app.as_ref().expect("inherited app mode");
        assert_eq!(pager.fixed_channel().as_deref(), Some("C0123ABCD"));
        // One token, one API: one destination for both rules.
        assert_eq!(c.destinations.len(), 1);
        assert_eq!(c.destinations[0].kind.as_str(), "slack_app");
        assert!(!format!("{c:?}").contains("yamlsecret"));

        for (text, expected) in [
            (
                "slack_token: ${SLACK_BOT_TOKEN}\nchannel: '#a-%{[x]}'\n",
                "fallback_channel: is required",
            ),
            (
                "slack_token: ${SLACK_BOT_TOKEN}\nchannel: '#a'\nslack_api_url: http://127.0.0.1:9/api\n",
                "slack_api_url: must be https://slack.com/api",
            ),
            (
                "slack_token: ${SLACK_BOT_TOKEN} x\nchannel: '#a'\n",
                "slack_token: holds characters",
            ),
        ] {
            let e = parse(text, Path::new("app.yml"), &env).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{text:?}: {e}");
            assert!(!e.contains("yamlsecret"), "{e}");
        }
    }

    #[test]
    fn expansion_rules() {
        let x = |s: &str| expand(s, "o", &mut env);
        assert_eq!(x("plain $HOME $ {x}").unwrap(), "plain $HOME $ {x}");
        assert_eq!(x("${WINDOW}/${WINDOW}").unwrap(), "10m/10m");
        assert_eq!(x("${UNSET:}").unwrap(), "");
        assert_eq!(x("${UNSET:a:b}").unwrap(), "a:b");
        assert_eq!(x("${ WINDOW }").unwrap(), "10m");
        assert!(x("${A B}").is_err());
    }
}
