//! The log event as slack_alert sees it, and nothing else: no rendering,
//! no decisions, no I/O. It provides
//!
//! - [`FieldRef`]: Logstash field references (`[log][level]` is nested,
//!   `[log.level]` and `log.level` are one flat key), with one canonical
//!   spelling every side agrees on;
//! - [`Fields`]: where an event's values come from, a whole JSON event or
//!   the fields the Java side fetched one by one;
//! - [`value_text`]: how a value reads as text, the same for a condition,
//!   a fingerprint and a message;
//! - [`ecs`]: the keys under which each ECS field the default message shows
//!   may arrive, tried in order.
//!
//! # Example
//!
//! ```
//! use serde_json::json;
//! use slack_alert_event::{ecs, value_text, FieldRef, Fields};
//!
//! let event = json!({"log.level": "ERROR", "log": {"logger": "Checkout"}, "tags": ["a", "b"]});
//! let level = FieldRef::parse("log.level").unwrap();
//! assert_eq!(level.canonical(), "[log.level]");
//! assert_eq!(Fields::get(&event, "[log][logger]"), Some(&json!("Checkout")));
//! assert_eq!(value_text(&event["tags"]), "a,b");
//! assert_eq!(ecs::first(&ecs::LOGGER, &event), Some(&json!("Checkout")));
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

pub mod ecs;
pub mod field_ref;

pub use field_ref::{FieldRef, FieldRefError};

/// Where the engine and the renderer read an event's fields from.
///
/// `reference` is always a canonical reference string (see
/// [`FieldRef::canonical`]), so an implementation backed by a map of
/// pre-fetched fields can look it up directly. A missing field is `None`;
/// callers treat `Some(Value::Null)` as missing too.
pub trait Fields {
    /// The value of the field `reference` names, if any.
    fn get(&self, reference: &str) -> Option<&Value>;
}

/// A whole event as JSON: resolves any reference form by parsing it
/// ([`FieldRef::parse`]) and walking the value. A malformed reference
/// resolves to nothing.
impl Fields for Value {
    fn get(&self, reference: &str) -> Option<&Value> {
        FieldRef::parse(reference).ok()?.resolve(self)
    }
}

/// Fields fetched one by one (e.g. with Logstash's `getField`), keyed by
/// canonical reference.
impl Fields for HashMap<String, Value> {
    fn get(&self, reference: &str) -> Option<&Value> {
        HashMap::get(self, reference).filter(|v| !v.is_null())
    }
}

/// Fields fetched one by one, keyed by canonical reference.
impl Fields for BTreeMap<String, Value> {
    fn get(&self, reference: &str) -> Option<&Value> {
        BTreeMap::get(self, reference).filter(|v| !v.is_null())
    }
}

/// How a field value reads in a message, before escaping.
///
/// Strings as they are; numbers, booleans and null as JSON text; arrays of
/// scalars joined with `,` (as Logstash's sprintf does); objects and arrays
/// holding objects or arrays as compact JSON.
pub fn value_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Array(items) if items.iter().all(is_scalar) => {
            Cow::Owned(items.iter().map(value_text).collect::<Vec<_>>().join(","))
        }
        Value::Array(_) | Value::Object(_) => Cow::Owned(value.to_string()),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_rendering() {
        assert_eq!(value_text(&json!("s")), "s");
        assert_eq!(value_text(&json!(42)), "42");
        assert_eq!(value_text(&json!(1.5)), "1.5");
        assert_eq!(value_text(&json!(true)), "true");
        assert_eq!(value_text(&json!(["a", 1, false])), "a,1,false");
        assert_eq!(value_text(&json!([])), "");
        assert_eq!(value_text(&json!({"k": [1, 2]})), r#"{"k":[1,2]}"#);
        assert_eq!(value_text(&json!([[1], {"a": 1}])), r#"[[1],{"a":1}]"#);
    }

    #[test]
    fn json_events_resolve_every_reference_form() {
        let event = json!({"log.level": "ERROR", "log": {"logger": "L"}, "n": null});
        assert_eq!(Fields::get(&event, "[log.level]"), Some(&json!("ERROR")));
        assert_eq!(Fields::get(&event, "log.level"), Some(&json!("ERROR")));
        assert_eq!(Fields::get(&event, "[log][logger]"), Some(&json!("L")));
        assert_eq!(Fields::get(&event, "[n]"), None);
        assert_eq!(Fields::get(&event, "[bad"), None);
    }

    #[test]
    fn maps_of_fetched_fields_look_up_canonical_keys() {
        let mut map = HashMap::new();
        map.insert("[log.level]".to_string(), json!("ERROR"));
        map.insert("[gone]".to_string(), Value::Null);
        assert_eq!(Fields::get(&map, "[log.level]"), Some(&json!("ERROR")));
        assert_eq!(Fields::get(&map, "[gone]"), None);
        let tree: BTreeMap<String, Value> = map.into_iter().collect();
        assert_eq!(Fields::get(&tree, "[log.level]"), Some(&json!("ERROR")));
        assert_eq!(Fields::get(&tree, "[gone]"), None);
    }
}
