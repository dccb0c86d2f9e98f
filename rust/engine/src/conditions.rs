//! Field conditions of a rule: `equals`, `contains`, `regex`, `query` and
//! `exclude`.
//!
//! Each is a map from a field reference to one value or a list; an entry
//! holds when the field's text (numbers and booleans as their JSON text)
//! matches one of its values, and a condition holds when all its entries do.
//! A missing field never matches, so a rule with `equals` on a field skips
//! events without it, and `exclude` never silences them.
//!
//! Patterns are operator text run against log data: they use the `regex`
//! crate, whose matching time is linear in the input (no catastrophic
//! backtracking), with the compiled size and the pattern length bounded.

use std::borrow::Cow;

use regex::{Regex, RegexBuilder};
use serde_json::Value;
use slack_alert_event::{value_text, Fields};

use crate::query::Query;

/// Longest pattern accepted, in characters: a pasted log line is not a pattern.
pub const MAX_PATTERN_CHARS: usize = 1000;
/// Compiled size limit of one pattern: 1 MB, enough for any hand-written
/// pattern, small enough that a rule set cannot eat the JVM's native memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Most values one entry may list (each is tried per event).
pub const MAX_VALUES: usize = 1000;

/// The conditions of one rule, compiled.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    pub equals: Vec<(String, Vec<String>)>,
    pub contains: Vec<(String, Vec<String>)>,
    pub regex: Vec<(String, Vec<Regex>)>,
    pub exclude: Vec<(String, Vec<Regex>)>,
    /// `query`, compiled (see [`crate::query`]): one more condition that
    /// must hold beside the others.
    pub query: Option<Query>,
}

impl Conditions {
    /// Returns true if and only if there is no condition and no exclusion.
    pub fn is_empty(&self) -> bool {
        self.equals.is_empty()
            && self.contains.is_empty()
            && self.regex.is_empty()
            && self.exclude.is_empty()
            && self.query.is_none()
    }

    /// Every field reference the conditions read (canonical).
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.equals
            .iter()
            .chain(self.contains.iter())
            .map(|(r, _)| r.as_str())
            .chain(
                self.regex
                    .iter()
                    .chain(self.exclude.iter())
                    .map(|(r, _)| r.as_str()),
            )
            .chain(self.query.iter().flat_map(Query::references))
    }

    /// Returns true if and only if every `equals`, `contains` and `regex`
    /// entry holds, and the `query` if there is one.
    pub fn hold(&self, fields: &dyn Fields) -> bool {
        self.equals
            .iter()
            .all(|(r, values)| text(fields, r).is_some_and(|t| values.iter().any(|v| *v == *t)))
            && self.contains.iter().all(|(r, values)| {
                text(fields, r).is_some_and(|t| values.iter().any(|v| t.contains(v.as_str())))
            })
            && self.regex.iter().all(|(r, patterns)| {
                text(fields, r).is_some_and(|t| patterns.iter().any(|p| p.is_match(&t)))
            })
            && self.query.as_ref().is_none_or(|q| q.matches(fields))
    }

    /// Returns true if and only if an `exclude` pattern matches its field.
    pub fn excluded(&self, fields: &dyn Fields) -> bool {
        self.exclude.iter().any(|(r, patterns)| {
            text(fields, r).is_some_and(|t| patterns.iter().any(|p| p.is_match(&t)))
        })
    }
}

fn text<'a>(fields: &'a dyn Fields, reference: &str) -> Option<Cow<'a, str>> {
    fields
        .get(reference)
        .filter(|v| !v.is_null())
        .map(value_text)
}

/// Compiles one operator pattern, or says what is wrong with it.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    let chars = pattern.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(format!(
            "a pattern of {chars} characters is too long (at most {MAX_PATTERN_CHARS})"
        ));
    }
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let detail = e.to_string().replace('\n', " ");
            format!("{pattern:?} is not a regular expression: {detail}")
        })
}

/// The values of one entry: a string or a list of strings; numbers and
/// booleans are taken as their JSON text (how they compare to field text).
pub fn entry_values(value: &Value) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "must be a string or a list of strings, found {}",
            crate::config::type_name(other)
        )),
    };
    let values = match value {
        Value::Array(items) if items.is_empty() => {
            return Err("must list at least one value".into())
        }
        Value::Array(items) => items.iter().map(one).collect::<Result<Vec<_>, _>>()?,
        v => vec![one(v)?],
    };
    if values.len() > MAX_VALUES {
        return Err(format!(
            "lists {} values (at most {MAX_VALUES})",
            values.len()
        ));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conditions(
        equals: &[(&str, &[&str])],
        regex: &[(&str, &str)],
        exclude: &[(&str, &str)],
    ) -> Conditions {
        Conditions {
            equals: equals
                .iter()
                .map(|(r, v)| (r.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            contains: Vec::new(),
            regex: regex
                .iter()
                .map(|(r, p)| (r.to_string(), vec![compile(p).unwrap()]))
                .collect(),
            exclude: exclude
                .iter()
                .map(|(r, p)| (r.to_string(), vec![compile(p).unwrap()]))
                .collect(),
            query: None,
        }
    }

    #[test]
    fn equals_compares_text_and_json_text_of_numbers() {
        let c = conditions(&[("[http.status]", &["500", "503"])], &[], &[]);
        assert!(c.hold(&json!({"http.status": 503})));
        assert!(c.hold(&json!({"http.status": "500"})));
        assert!(!c.hold(&json!({"http.status": 404})));
        assert!(!c.hold(&json!({})), "a missing field never matches");
    }

    #[test]
    fn contains_is_case_sensitive_substring() {
        let c = Conditions {
            contains: vec![("[message]".into(), vec!["Timeout".into()])],
            ..Conditions::default()
        };
        assert!(c.hold(&json!({"message": "db Timeout after 3s"})));
        assert!(!c.hold(&json!({"message": "db timeout after 3s"})));
    }

    #[test]
    fn every_entry_must_hold() {
        let c = conditions(
            &[("[service.name]", &["pay"])],
            &[("[message]", "^card")],
            &[],
        );
        assert!(c.hold(&json!({"service.name": "pay", "message": "card declined"})));
        assert!(!c.hold(&json!({"service.name": "pay", "message": "the card"})));
        assert!(!c.hold(&json!({"service.name": "shop", "message": "card declined"})));
    }

    #[test]
    fn exclude_silences_matches_and_never_missing_fields() {
        let c = conditions(&[], &[], &[("[url.path]", "^/health")]);
        assert!(c.excluded(&json!({"url.path": "/healthz"})));
        assert!(!c.excluded(&json!({"url.path": "/pay"})));
        assert!(!c.excluded(&json!({})));
        assert!(c.hold(&json!({})), "no positive condition: holds");
    }

    #[test]
    fn patterns_are_bounded_and_errors_say_why() {
        assert!(compile("(")
            .unwrap_err()
            .contains("is not a regular expression"));
        assert!(compile(&"a".repeat(1001)).unwrap_err().contains("too long"));
        // Within the length bound but far over the compiled size limit.
        assert!(compile("\\w{1000}\\w{1000}\\w{1000}").is_err());
    }

    #[test]
    fn a_pathological_pattern_runs_in_linear_time() {
        // A backtracking engine needs about 2^100000 steps here, so it cannot
        // finish within the ceiling on any machine; a linear one finishes at
        // once however loaded the machine is. Polled, not timed.
        let p = compile("(a+)+$").unwrap();
        let hostile = format!("{}!", "a".repeat(100_000));
        let matching = std::thread::spawn(move || p.is_match(&hostile));
        let ceiling = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !matching.is_finished() {
            assert!(
                std::time::Instant::now() < ceiling,
                "(a+)+$ on 100,000 characters did not finish: backtracking"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!matching.join().unwrap());
    }

    #[test]
    fn entry_values_accept_one_or_a_list() {
        assert_eq!(entry_values(&json!("x")).unwrap(), vec!["x"]);
        assert_eq!(entry_values(&json!([1, true])).unwrap(), vec!["1", "true"]);
        assert!(entry_values(&json!([])).is_err());
        assert!(entry_values(&json!({"a": 1})).is_err());
        assert!(entry_values(&json!([null])).is_err());
    }
}
