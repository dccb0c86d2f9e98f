//! What the shim learns from the library once, when it loads it: every
//! option of the engine's [`OPTION_TABLE`] (so `configSchema()` is built from
//! the one table instead of a copy in Java), the counter names, and the bound
//! on one string value. One document through one entry point (`Object
//! catalog()`, where it arrives as Java maps and lists), so that a new option
//! or counter needs no new JNI method and no Java edit:
//!
//! ```json
//! {"options": [{"name": "rate_limit", "type": "number", "scope": "rule", "default": 20}, …],
//!  "counters": ["events", …], "rule_counters": ["matched", …], "max_value_chars": 8192,
//!  "layout": {"slot_size": 32, "max_batch": 1024, "values_offset": 33792, …}}
//! ```
//!
//! * `type`: how Logstash delivers the value, [`InputType::as_str`]
//!   (`string`, `number`, `boolean`, `array`, `hash`, `password`);
//! * `scope`: `engine`, `rule`, `rule_only` (only inside `rules`: not a
//!   top-level setting) or `shim` (read by the Java shim, never passed to the
//!   engine);
//! * `default`: present only when the table gives a value, typed as Logstash
//!   would hand it over for that `type` (a JSON string, an integer, a
//!   boolean, an array, an object); a default described in words is left
//!   out.
//!
//! ```
//! let doc = slack_alert_jni::catalog::catalog_document().unwrap();
//! let rate = doc["options"].as_array().unwrap().iter().find(|o| o["name"] == "rate_limit").unwrap();
//! assert_eq!(rate["type"], "number");
//! assert_eq!(rate["default"], 20);
//! ```

use serde_json::{json, Map, Value};
use slack_alert_engine::config::{DefaultValue, InputType, OptionDoc, Scope, OPTION_TABLE};
use slack_alert_engine::{COUNTER_NAMES, MAX_VALUE_CHARS, RULE_COUNTER_NAMES};

/// The catalog of the real table and counters, as `catalog()` returns it
/// (there as Java maps and lists).
pub fn catalog_document() -> Result<Value, String> {
    catalog(
        OPTION_TABLE,
        COUNTER_NAMES,
        RULE_COUNTER_NAMES,
        MAX_VALUE_CHARS,
    )
}

/// The scope's name in the catalog.
pub fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Engine => "engine",
        Scope::Rule => "rule",
        Scope::RuleOnly => "rule_only",
        Scope::Shim => "shim",
    }
}

fn catalog(
    table: &[OptionDoc],
    counters: &[&str],
    rule_counters: &[&str],
    max_value_chars: usize,
) -> Result<Value, String> {
    let options = table.iter().map(option).collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "options": options,
        "counters": counters,
        "rule_counters": rule_counters,
        "max_value_chars": max_value_chars,
        "layout": layout(),
    }))
}

/// The batch buffer's layout and the codes of its answers ([`crate::slots`]),
/// so a test on the Java side can check every constant it assumes against
/// the library it runs with.
fn layout() -> Value {
    use crate::slots::*;
    json!({
        "slot_size": SLOT_SIZE,
        "max_level_len": MAX_LEVEL_LEN,
        "max_batch": MAX_BATCH,
        "mask_offset": MASK_OFFSET,
        "values_offset": VALUES_OFFSET,
        "no_level": NO_LEVEL,
        "logs_pending": LOGS_PENDING,
        "closed": CLOSED,
        "stage_levels": STAGE_LEVELS,
        "stage_heartbeats": STAGE_HEARTBEATS,
        "stage_keys": STAGE_KEYS,
        "stage_events": STAGE_EVENTS,
        "not_candidate": NOT_CANDIDATE,
        "alert_candidate": ALERT_CANDIDATE,
        "heartbeat_only": HEARTBEAT_ONLY,
        "decided_unmatched": DECIDED_UNMATCHED,
        "undecided": UNDECIDED,
        "decided_matched": DECIDED_MATCHED,
    })
}

fn option(o: &OptionDoc) -> Result<Value, String> {
    let mut row = Map::new();
    row.insert("name".into(), o.name.into());
    row.insert("type".into(), o.input_type.as_str().into());
    row.insert("scope".into(), scope_name(o.scope).into());
    if let DefaultValue::Value(text) = o.default {
        row.insert("default".into(), typed_default(o, text)?);
    }
    Ok(Value::Object(row))
}

/// The default `text` (JSON) of `o`, refused unless it is what Logstash
/// delivers for the option's type: the shim builds a `PluginConfigSpec` of
/// that type with it, and a number written `"20"` would not fit a
/// `numSetting`.
fn typed_default(o: &OptionDoc, text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("{}: default {text} is not JSON: {e}", o.name))?;
    let fits = match o.input_type {
        InputType::String | InputType::Password => value.is_string(),
        InputType::Number => value.is_i64(),
        InputType::Boolean => value.is_boolean(),
        InputType::Array => value.is_array(),
        InputType::Hash => value.is_object(),
    };
    if fits {
        Ok(value)
    } else {
        Err(format!(
            "{}: default {text} is not a {} as Logstash delivers it",
            o.name,
            o.input_type.as_str()
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use slack_alert_engine::config::{ENGINE_OPTIONS, OPTIONS};

    fn doc() -> Value {
        catalog_document().unwrap()
    }

    fn rows() -> Vec<Value> {
        doc()["options"].as_array().unwrap().clone()
    }

    #[test]
    fn every_row_of_the_table_is_listed_in_order_with_its_type_and_scope() {
        let rows = rows();
        assert_eq!(rows.len(), OPTION_TABLE.len());
        for (row, o) in rows.iter().zip(OPTION_TABLE) {
            assert_eq!(row["name"], o.name);
            assert_eq!(row["type"], o.input_type.as_str());
            assert_eq!(row["scope"], scope_name(o.scope));
            assert_eq!(
                row.get("default").is_some(),
                matches!(o.default, DefaultValue::Value(_)),
                "{}",
                o.name
            );
        }
    }

    /// The top-level settings are what the engine's reader accepts plus the
    /// shim's own: the set the shim's `configSchema()` is built from.
    #[test]
    fn top_level_rows_are_the_readers_options_and_the_shims() {
        let top: Vec<String> = rows()
            .iter()
            .filter(|r| r["scope"] != "rule_only")
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        let mut expected: Vec<String> = OPTIONS.iter().map(|s| s.to_string()).collect();
        expected.push("native_library".into());
        let (mut top_sorted, mut expected_sorted) = (top.clone(), expected);
        top_sorted.sort();
        expected_sorted.sort();
        assert_eq!(top_sorted, expected_sorted);
        for name in ENGINE_OPTIONS {
            let row = rows().into_iter().find(|r| r["name"] == *name).unwrap();
            assert_eq!(row["scope"], "engine", "{name}");
        }
    }

    /// The defaults the shim declared by hand before the catalog, kept.
    #[test]
    fn defaults_are_typed_as_logstash_delivers_them() {
        let defaults: BTreeMap<String, Value> = rows()
            .into_iter()
            .filter_map(|r| Some((r["name"].as_str()?.to_string(), r.get("default")?.clone())))
            .collect();
        for (name, value) in [
            ("dedup_window", json!("5m")),
            ("rate_limit", json!(20)),
            ("burst", json!(5)),
            ("queue_size", json!(1000)),
            ("max_tracked", json!(10000)),
            ("timeout", json!("10s")),
            ("max_retries", json!(3)),
            ("shutdown_timeout", json!("5s")),
            ("dry_run", json!(false)),
            ("allow_custom_webhook", json!(false)),
            ("levels", json!(["ERROR", "FATAL"])),
        ] {
            assert_eq!(defaults.get(name), Some(&value), "{name}");
        }
        assert!(!defaults.contains_key("webhook_url"));
        assert!(
            !defaults.contains_key("native_library"),
            "described in words only"
        );
    }

    #[test]
    fn counters_and_the_value_bound_are_the_engines() {
        let doc = doc();
        let names = |key: &str| -> Vec<String> {
            doc[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names("counters"), COUNTER_NAMES);
        assert_eq!(names("rule_counters"), RULE_COUNTER_NAMES);
        assert_eq!(doc["max_value_chars"], MAX_VALUE_CHARS);
    }

    #[test]
    fn a_default_of_the_wrong_type_is_refused_naming_the_option() {
        let row = |name, input_type, text| OptionDoc {
            name,
            input_type,
            scope: Scope::Rule,
            required: slack_alert_engine::config::Required::No,
            default: DefaultValue::Value(text),
            doc: "x",
        };
        for (o, says) in [
            (
                row("n", InputType::Number, r#""20""#),
                "n: default \"20\" is not a number",
            ),
            (
                row("f", InputType::Number, "1.5"),
                "f: default 1.5 is not a number",
            ),
            (row("b", InputType::Boolean, r#""false""#), "b: default"),
            (
                row("s", InputType::String, "5"),
                "s: default 5 is not a string",
            ),
            (row("a", InputType::Array, r#""ERROR""#), "a: default"),
            (row("h", InputType::Hash, "[]"), "h: default"),
            (
                row("j", InputType::String, "5m"),
                "j: default 5m is not JSON",
            ),
        ] {
            let e = catalog(&[o], &[], &[], 1).unwrap_err();
            assert!(e.starts_with(says), "{e}");
        }
        let ok = catalog(&[row("h", InputType::Hash, r#"{"a": 1}"#)], &[], &[], 1).unwrap();
        assert_eq!(ok["options"][0]["default"], json!({"a": 1}));
    }
}
