//! The control API under `/_receiver/`, for tests and scripts that are not written in
//! Rust (Java tests, shell scripts, the demo). It serves the same port as the webhook,
//! and is answered whatever the mode, so a hung or failing receiver can always be
//! switched back. The requests and answers are listed in the crate docs.

use crate::options::Mode;
use crate::state::{Received, Shared, Stats};
use serde_json::{json, Map, Value};
use slack_alert_http::Response;
use std::time::Instant;

/// Where the control API lives.
pub(crate) const PREFIX: &str = "/_receiver/";

/// Answers a control request for `path` (which starts with [`PREFIX`]).
pub(crate) fn handle(shared: &Shared, method: &str, path: &str, body: &[u8]) -> Response {
    let name = path[PREFIX.len()..].trim_end_matches('/');
    if let Some(api_name) = name.strip_prefix("api/") {
        return crate::api::control::handle(shared, method, api_name, body);
    }
    match (method, name) {
        ("GET", "messages") => Response::json(200, &Value::Array(shared.lock().accepted())),
        ("GET", "received") => {
            let received = shared.lock().received();
            let list = received
                .iter()
                .map(|r| received_json(r, shared.started))
                .collect();
            Response::json(200, &Value::Array(list))
        }
        ("GET", "page") => Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: {
                let state = shared.lock();
                crate::page::html(
                    &state.received(),
                    &state.api.channels(),
                    shared.started,
                    shared.started_wall,
                )
                .into_bytes()
            },
            retry_after: None,
        },
        ("GET", "violations") => Response::json(200, &json!(shared.lock().violations())),
        ("GET", "stats") => Response::json(200, &stats_json(&shared.lock().stats())),
        ("GET", "mode") => Response::json(200, &mode_json(&shared.lock().mode())),
        ("POST", "mode") => match parse_body(body).and_then(|v| mode_from_json(&v)) {
            Ok(mode) => {
                shared.set_mode(mode);
                Response::text(200, "ok")
            }
            Err(problem) => Response::text(400, &problem),
        },
        ("POST", "reset") => {
            // Clears the Web API's channels, calls, tokens, tiers and failures too.
            shared.reset();
            Response::text(200, "ok")
        }
        (_, "messages" | "received" | "page" | "violations" | "stats" | "mode" | "reset") => {
            Response::text(405, "method_not_allowed")
        }
        _ => Response::text(404, "no_service"),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("the body must be JSON: {e}"))
}

/// `{"status", "answer", "body", "raw_len", "at_ms"}` with `at_ms` since `started`.
pub(crate) fn received_json(received: &Received, started: Instant) -> Value {
    json!({
        "status": received.status,
        "answer": received.answer,
        "body": received.body,
        "raw_len": received.raw_len,
        "at_ms": received.at.saturating_duration_since(started).as_millis() as u64,
    })
}

pub(crate) fn stats_json(stats: &Stats) -> Value {
    json!({
        "posts": stats.posts,
        "accepted": stats.accepted,
        "rate_limited": stats.rate_limited,
        "max_posts_in_any_1s": stats.max_posts_in_any_1s,
        "violations": stats.violations,
        "huge_body_bytes_written": stats.huge_body_bytes_written,
    })
}

/// A mode in the form [`mode_from_json`] reads.
pub(crate) fn mode_json(mode: &Mode) -> Value {
    match mode {
        Mode::Ok => json!({"mode": "ok"}),
        Mode::Status {
            status,
            error,
            retry_after,
        } => {
            json!({"mode": "status", "status": status, "error": error, "retry_after": retry_after})
        }
        Mode::Hang => json!({"mode": "hang"}),
        Mode::CloseImmediately => json!({"mode": "close"}),
        Mode::FailNext { count, then } => {
            json!({"mode": "fail_next", "count": count, "then": mode_json(then)})
        }
        Mode::RawRetryAfter {
            status,
            error,
            retry_after,
        } => json!({"mode": "raw_retry_after", "status": status, "error": error,
                    "retry_after": retry_after}),
        Mode::HugeBody { status, bytes } => {
            json!({"mode": "huge_body", "status": status, "bytes": bytes})
        }
    }
}

/// Reads `{"mode": "ok" | "status" | "hang" | "close" | "fail_next", ...}`. For
/// `status`, `error` defaults to Slack's string for the status (429 `rate_limited`,
/// 500 `rollup_error`, ...) so scripts can send just the number.
pub(crate) fn mode_from_json(value: &Value) -> Result<Mode, String> {
    let fields = value
        .as_object()
        .ok_or("the mode must be a JSON object like {\"mode\":\"ok\"}")?;
    let name = fields
        .get("mode")
        .and_then(Value::as_str)
        .ok_or("`mode` must be one of ok, status, hang, close, fail_next")?;
    let allowed: &[&str] = match name {
        "ok" | "hang" | "close" | "close_immediately" => &[],
        "status" | "raw_retry_after" => &["status", "error", "retry_after"],
        "huge_body" => &["status", "bytes"],
        "fail_next" => &["count", "then"],
        other => {
            return Err(format!(
                "unknown `mode` {other:?}: use ok, status, hang, close, fail_next, \
                 raw_retry_after or huge_body"
            ))
        }
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| k.as_str() != "mode" && !allowed.contains(&k.as_str()))
    {
        return Err(format!("unknown key `{unknown}` for mode {name}"));
    }
    Ok(match name {
        "ok" => Mode::Ok,
        "hang" => Mode::Hang,
        "close" | "close_immediately" => Mode::CloseImmediately,
        "status" => status_mode(fields)?,
        "raw_retry_after" => {
            let Mode::Status { status, error, .. } = status_mode(&without_retry_after(fields))?
            else {
                unreachable!("status_mode makes a Mode::Status")
            };
            let retry_after = fields
                .get("retry_after")
                .and_then(Value::as_str)
                .ok_or("`retry_after` must be the header's text, e.g. \"-1\"")?
                .to_string();
            Mode::RawRetryAfter {
                status,
                error,
                retry_after,
            }
        }
        "huge_body" => {
            let status = http_status(fields)?;
            let bytes = fields
                .get("bytes")
                .and_then(Value::as_u64)
                .ok_or("`bytes` must be a whole number")?;
            Mode::HugeBody { status, bytes }
        }
        _ => {
            let count = fields
                .get("count")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("`count` must be a whole number")?;
            let then = fields
                .get("then")
                .ok_or("`then` must be a mode, e.g. {\"mode\":\"status\",\"status\":500}")?;
            Mode::fail_next(count, mode_from_json(then)?)
        }
    })
}

fn without_retry_after(fields: &Map<String, Value>) -> Map<String, Value> {
    let mut fields = fields.clone();
    fields.remove("retry_after");
    fields
}

fn http_status(fields: &Map<String, Value>) -> Result<u16, String> {
    Ok(fields
        .get("status")
        .and_then(Value::as_u64)
        .filter(|s| (100..=599).contains(s))
        .ok_or("`status` must be an HTTP status between 100 and 599")? as u16)
}

fn status_mode(fields: &Map<String, Value>) -> Result<Mode, String> {
    let status = http_status(fields)?;
    let error = match fields.get("error") {
        None | Some(Value::Null) => slack_error_for(status).to_string(),
        Some(Value::String(error)) => error.clone(),
        Some(_) => return Err("`error` must be a string".to_string()),
    };
    let retry_after = match fields.get("retry_after") {
        None | Some(Value::Null) => None,
        Some(secs) => Some(secs.as_u64().ok_or("`retry_after` must be whole seconds")?),
    };
    Ok(Mode::Status {
        status,
        error,
        retry_after,
    })
}

/// The error string Slack typically answers with a status.
fn slack_error_for(status: u16) -> &'static str {
    match status {
        200 => "ok",
        400 => "invalid_payload",
        403 => "action_prohibited",
        404 => "no_service",
        410 => "channel_is_archived",
        429 => "rate_limited",
        500 => "rollup_error",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_round_trips() {
        for mode in [
            Mode::Ok,
            Mode::Hang,
            Mode::CloseImmediately,
            Mode::rate_limited(Some(2)),
            Mode::status(500, "rollup_error"),
            Mode::fail_next(3, Mode::fail_next(1, Mode::rate_limited(None))),
            Mode::raw_retry_after("18446744073709551615"),
            Mode::HugeBody {
                status: 200,
                bytes: 1 << 20,
            },
        ] {
            assert_eq!(mode_from_json(&mode_json(&mode)), Ok(mode));
        }
    }

    #[test]
    fn documented_forms_parse() {
        assert_eq!(
            mode_from_json(
                &json!({"mode":"status","status":429,"error":"rate_limited","retry_after":2})
            ),
            Ok(Mode::rate_limited(Some(2)))
        );
        assert_eq!(
            mode_from_json(
                &json!({"mode":"fail_next","count":3,"then":{"mode":"status","status":500}})
            ),
            Ok(Mode::fail_next(3, Mode::status(500, "rollup_error")))
        );
        assert_eq!(
            mode_from_json(&json!({"mode":"close"})),
            Ok(Mode::CloseImmediately)
        );
    }

    #[test]
    fn bad_modes_say_what_to_fix() {
        let problem = |v: Value| mode_from_json(&v).unwrap_err();
        assert!(problem(json!({"mode": "sleep"})).contains("unknown `mode`"));
        assert!(problem(json!({"mode": "status"})).contains("`status`"));
        assert!(problem(json!({"mode": "status", "status": 700})).contains("`status`"));
        assert!(problem(json!({"mode": "status", "status": 429, "retry": 1})).contains("`retry`"));
        assert!(problem(json!({"mode": "fail_next", "count": 1})).contains("`then`"));
        assert!(
            problem(json!({"mode": "fail_next", "count": -1, "then": {"mode": "ok"}}))
                .contains("`count`")
        );
        assert!(problem(json!("ok")).contains("JSON object"));
    }
}
