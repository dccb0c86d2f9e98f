//! The `query` parser (Kql): any operator text, then the compiled query over
//! odd events.
//!
//! Input: the query text (lossily decoded). Checks that parsing never panics
//! and, when it succeeds, that matching never panics, is deterministic, and
//! that `not (q)` (when that parses too) decides the opposite of `q`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use slack_alert_engine::query::{parse, Language};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(query) = parse(&text, Language::Kql) else {
        return;
    };
    let word = text.split_whitespace().next().unwrap_or("x");
    let events = [
        json!({}),
        json!({"message": text, "a": 1, "status": 503, "service.name": "pay"}),
        json!({"message": null, "tags": [word, 5, null, [1]], "a": {"b": word}, "x": true}),
        json!({ word: word, "service": {"name": word}, "n": -1.5e300 }),
    ];
    let negated = parse(&format!("not ({text})"), Language::Kql).ok();
    for event in &events {
        let matched = query.matches(event);
        assert_eq!(matched, query.matches(event), "not deterministic");
        if let Some(n) = &negated {
            assert_eq!(n.matches(event), !matched, "not ({text:?}) on {event}");
        }
    }
    for reference in query.references() {
        assert!(reference.starts_with('[') && reference.ends_with(']'), "{reference}");
    }
});
