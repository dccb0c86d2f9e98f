//! Field values of matched events as the Java shim sends them.
//!
//! For each matched event the shim sends the value of every reference in
//! `Engine::event_refs`, JSON-encoded by `NativeEngine.toJson` (strings quoted,
//! numbers, booleans, maps and lists as JSON), or `null` when the field is
//! missing. A value that does not parse as JSON is kept as a plain string, so
//! a shim bug degrades to a less typed value instead of a lost field.

use serde_json::Value;

/// Decodes one value; `None` and JSON `null` mean the field is absent.
pub fn decode(text: Option<&str>) -> Option<Value> {
    let text = text?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Null) => None,
        Ok(v) => Some(v),
        Err(_) => Some(Value::String(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_keep_their_type() {
        assert_eq!(decode(Some("\"ERROR\"")), Some(json!("ERROR")));
        assert_eq!(decode(Some("42")), Some(json!(42)));
        assert_eq!(decode(Some("-1.5")), Some(json!(-1.5)));
        assert_eq!(decode(Some("true")), Some(json!(true)));
        assert_eq!(decode(Some("{\"a\":1}")), Some(json!({"a": 1})));
        assert_eq!(decode(Some("[1,\"x\"]")), Some(json!([1, "x"])));
        assert_eq!(
            decode(Some("\"에러 🔥 \\u0000\"")),
            Some(json!("에러 🔥 \u{0}"))
        );
    }

    #[test]
    fn missing_and_null_are_absent() {
        assert_eq!(decode(None), None);
        assert_eq!(decode(Some("null")), None);
    }

    #[test]
    fn text_that_is_not_json_is_a_plain_string() {
        assert_eq!(decode(Some("ERROR")), Some(json!("ERROR")));
        assert_eq!(decode(Some("")), Some(json!("")));
        assert_eq!(decode(Some("{broken")), Some(json!("{broken")));
        assert_eq!(decode(Some("1 2")), Some(json!("1 2")));
    }
}
