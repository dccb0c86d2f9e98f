//! The level parser on the per-event hot path: any bytes, as a slot carries
//! them, and any JSON value, as a sidecar event carries it.
//!
//! Checks the documented contract: case and surrounding ASCII whitespace do
//! not matter, and the matcher agrees with the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use slack_alert_engine::{Level, Matcher};

fuzz_target!(|data: &[u8]| {
    let level = Level::parse(data);
    assert_eq!(
        Level::parse(&data.to_ascii_uppercase()),
        level,
        "case matters"
    );
    let mut padded = b" \t".to_vec();
    padded.extend_from_slice(data);
    padded.extend_from_slice(b"\r\n ");
    assert_eq!(
        Level::parse(&padded),
        level,
        "surrounding whitespace matters"
    );

    let every = Matcher::new(&Level::ALL.into_iter().collect());
    assert_eq!(every.match_raw(data), level, "the matcher disagrees");

    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(Level::from_json(&Value::String(text.to_string())), level);
    }
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let _ = Level::from_json(&value);
        let _ = every.match_json(&value);
    }
});
