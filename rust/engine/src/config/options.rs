//! The typed reader of the raw option map ([`Options`]): each getter checks
//! one option's type and range and words its error ([`ConfigError`]). Also
//! the duration syntax operators write (`30s`, `5m`) both ways.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};
use slack_alert_event::FieldRef;
use slack_alert_render::Template;

use super::rule::{check_mention, RULE_ONLY};
use super::OPTIONS;
use crate::level::Level;

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

pub(super) fn parse_level(option: &str, s: &str) -> Result<Level, ConfigError> {
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

pub(super) fn field_ref(option: &str, s: &str) -> Result<String, ConfigError> {
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
pub(super) struct Options(pub(super) Map<String, Value>);

impl Options {
    pub(super) fn reject_unknown(&self) -> Result<(), ConfigError> {
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

    pub(super) fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub(super) fn string(&self, name: &str) -> Result<Option<String>, ConfigError> {
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
    pub(super) fn strings(&self, name: &str) -> Result<Option<Vec<String>>, ConfigError> {
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

    pub(super) fn bool(&self, name: &str) -> Result<Option<bool>, ConfigError> {
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

    pub(super) fn int(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, ConfigError> {
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

    pub(super) fn duration(
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
    pub(super) fn condition<T>(
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
    pub(super) fn mentions(&self, name: &str) -> Result<BTreeMap<String, String>, ConfigError> {
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

    pub(super) fn template(&self, name: &str) -> Result<Option<Template>, ConfigError> {
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
pub(super) fn describe(v: &Value) -> String {
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
    use crate::config::tests::parse;
    use serde_json::json;

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
        assert_eq!(c.rules[0].dedup_window, Duration::from_secs(90));
    }
}
