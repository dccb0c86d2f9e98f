//! The configuration parser: any bytes as the JSON the Java shim passes, and
//! structured option maps whose values have every wrong type.
//!
//! Input: a first byte choosing the mode; then either raw text or the
//! structure's choices. Checks that every error names an option that was
//! given (or `config`/`webhook_url`) and never repeats the webhook URL, and
//! that a valid configuration never shows it either.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};
use slack_alert_engine::config::OPTIONS;
use slack_alert_engine::Config;

/// Planted in every webhook URL: must never appear in an error or a Debug.
const SECRET: &str = "FUZZSECRETtoken";

const WORDS: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "1",
    "3600",
    "3601",
    "1e3",
    "1.5",
    "99999999999999999999",
    "true",
    "no",
    "ERROR",
    "error, fatal",
    "EROR",
    "warning",
    "7",
    "50",
    "5m",
    "0s",
    "250ms",
    "1.5h",
    "-1s",
    "5 minutes",
    "10000d",
    "7d",
    "601s",
    "[log][level]",
    "[log][level",
    "[]",
    "%{message}",
    "%{+YYYY}",
    "%{{x}}",
    "<!channel>",
    "가나다",
    "😀",
    "\u{0}",
    "\\n",
    "https://hooks.slack.com/services/T0/B0/FUZZSECRETtoken",
    "http://hooks.slack.com/services/T0/B0/FUZZSECRETtoken",
    "https://hooks.slack.com.evil.io/services/FUZZSECRETtoken",
    "https://127.0.0.1:9/services/FUZZSECRETtoken",
    "ftp://x/FUZZSECRETtoken",
    "FUZZSECRETtoken",
];

fn value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    Ok(match u.int_in_range(0..=9)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::from(u.arbitrary::<u64>()?),
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 | 6 => Value::String(u.choose(WORDS)?.to_string()),
        7 => Value::String(u.arbitrary()?),
        8 if depth < 2 => {
            let n = u.int_in_range(0..=3)?;
            Value::Array((0..n).map(|_| value(u, depth + 1)).collect::<Result<_>>()?)
        }
        _ if depth < 2 => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=2)? {
                map.insert(u.choose(WORDS)?.to_string(), value(u, depth + 1)?);
            }
            Value::Object(map)
        }
        _ => Value::Null,
    })
}

fn options(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut map = Map::new();
    for _ in 0..u.int_in_range(0..=8)? {
        let name = if u.ratio(1, 20)? {
            u.arbitrary::<String>()?
        } else {
            u.choose(OPTIONS)?.to_string()
        };
        map.insert(name, value(u, 0)?);
    }
    Ok(Value::Object(map))
}

fn check(input: &Value, result: std::result::Result<Config, slack_alert_engine::ConfigError>) {
    // The secret may legitimately show up only if it was put somewhere else.
    let elsewhere = match input {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() != "webhook_url")
            .any(|(k, v)| k.contains(SECRET) || v.to_string().contains(SECRET)),
        _ => true,
    };
    match result {
        Ok(config) => {
            let shown = format!("{config:?}");
            assert!(elsewhere || !shown.contains(SECRET), "{shown}");
            let _ = config.event_refs();
        }
        Err(e) => {
            let message = e.to_string();
            let option = e.option();
            assert!(message.starts_with(&format!("{option}: ")), "{message}");
            let named =
                option == "config" || option == "webhook_url" || input.get(option).is_some();
            assert!(named, "names an option that was not given: {message}");
            assert!(elsewhere || !message.contains(SECRET), "{message}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let text = String::from_utf8_lossy(rest);
        let result = Config::from_json(&text);
        match serde_json::from_str::<Value>(&text) {
            Ok(input) => check(&input, result),
            Err(_) => assert_eq!(result.unwrap_err().option(), "config"),
        }
    } else {
        let mut u = Unstructured::new(rest);
        if let Ok(input) = options(&mut u) {
            let result = Config::try_from(input.clone());
            check(&input, result);
        }
    }
});
