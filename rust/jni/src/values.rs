//! Field values of matched events as the Java shim sends them.
//!
//! For each matched event the shim first sends the values of
//! `Engine::key_refs` ([`decode_lines`]); for the few events the engine then
//! asks for, the value of every reference in `Engine::event_refs`, the same
//! way; a heartbeat sends `Engine::heartbeat_refs`. Each value is JSON-encoded by `NativeEngine.appendJson`
//! (strings quoted, numbers, booleans, maps and lists as JSON), or `null` when
//! the field is missing. A value that does not parse as JSON is kept as a
//! plain string, so a shim bug degrades to a less typed value instead of a
//! lost field.

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

/// Decodes the values a batch stage (KEYS, HEARTBEATS, EVENTS) receives: each value as
/// [`decode`] reads it, in UTF-8, followed by a newline (JSON text never
/// holds a raw newline: the shim escapes them). Invalid UTF-8 is replaced,
/// as a shim bug should degrade a value, not lose the batch.
///
/// Returns an error naming the counts unless there are exactly `expected`
/// values.
pub fn decode_lines(text: &[u8], expected: usize) -> Result<Vec<Option<Value>>, String> {
    let mut values = Vec::with_capacity(expected);
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| "fields: the last value must end with a newline".to_string())?;
        if values.len() == expected {
            return Err(format!("fields: expected {expected} values, got more"));
        }
        let line = String::from_utf8_lossy(&rest[..end]);
        values.push(decode(Some(&line)));
        rest = &rest[end + 1..];
    }
    if values.len() != expected {
        return Err(format!(
            "fields: expected {expected} values, got {}",
            values.len()
        ));
    }
    Ok(values)
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
    fn lines_decode_in_order_and_are_counted() {
        let text = b"\"ERROR\"\nnull\n42\n{\"a\":\"x\\ny\"}\n";
        assert_eq!(
            decode_lines(text, 4).unwrap(),
            vec![
                Some(json!("ERROR")),
                None,
                Some(json!(42)),
                Some(json!({"a": "x\ny"}))
            ]
        );
        assert_eq!(decode_lines(b"", 0).unwrap(), vec![]);
        assert_eq!(
            decode_lines(b"1\n2\n", 3).unwrap_err(),
            "fields: expected 3 values, got 2"
        );
        assert_eq!(
            decode_lines(b"1\n2\n", 1).unwrap_err(),
            "fields: expected 1 values, got more"
        );
        assert!(decode_lines(b"1\n2", 2).is_err());
        // Invalid UTF-8 degrades to a replacement character, not a failure.
        assert_eq!(
            decode_lines(b"\"a\xffb\"\n", 1).unwrap(),
            vec![Some(json!("a\u{fffd}b"))]
        );
    }

    #[test]
    fn text_that_is_not_json_is_a_plain_string() {
        assert_eq!(decode(Some("ERROR")), Some(json!("ERROR")));
        assert_eq!(decode(Some("")), Some(json!("")));
        assert_eq!(decode(Some("{broken")), Some(json!("{broken")));
        assert_eq!(decode(Some("1 2")), Some(json!("1 2")));
    }
}
