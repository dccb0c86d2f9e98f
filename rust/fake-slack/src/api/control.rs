//! The Web API's part of the control API, under `/_receiver/api/`: what was called,
//! what each channel shows, and the switches (channels, tokens, tiers, forced
//! failures, deletion). The requests and answers are listed in the crate docs.

use super::types::{
    ApiCall, ApiFailure, ApiStats, ChannelSpec, ChannelView, FileView, MessageView, Method, Tier,
    Token, TokenState,
};
use crate::control::{mode_from_json, mode_json};
use crate::options::Mode;
use crate::state::Shared;
use serde_json::{json, Map, Value};
use slack_alert_http::Response;

/// Answers `method` on `/_receiver/api/<name>`.
pub(crate) fn handle(shared: &Shared, method: &str, name: &str, body: &[u8]) -> Response {
    let json = |value: Value| Response::json(200, &value);
    match (method, name) {
        ("GET", "calls") => json(Value::Array(
            shared.lock().api.calls().iter().map(call_json).collect(),
        )),
        ("GET", "stats") => json(stats_json(&shared.lock().api.stats())),
        ("GET", "channels") => json(Value::Array(
            shared.lock().api.channels().iter().map(channel_json).collect(),
        )),
        ("GET", "files") => json(Value::Array(
            shared.lock().api.files().iter().map(file_json).collect(),
        )),
        ("GET", "tokens") => json(Value::Array(
            shared
                .lock()
                .api
                .tokens()
                .iter()
                .map(|(token, t)| json!({"token": token, "state": t.state.as_str(), "scopes": t.scopes}))
                .collect(),
        )),
        ("GET", "tiers") => json(tiers_json(&shared.lock().api.tiers())),
        ("GET", "errors") => json(Value::Array(
            shared
                .lock()
                .api
                .failures()
                .iter()
                .map(|(method, failure, count)| failure_json(*method, failure, *count))
                .collect(),
        )),
        ("GET", channel) if channel.starts_with("channels/") => {
            let segment = &channel["channels/".len()..];
            let found = super::args::decode_path(segment)
                .and_then(|c| shared.lock().api.channel(&c));
            match found {
                Some(channel) => json(channel_json(&channel)),
                None => Response::text(404, "channel_not_found"),
            }
        }
        ("POST", "channels") => answer(declare(shared, body)),
        ("POST", "tokens") => answer(set_token(shared, body).map(|()| ok())),
        ("POST", "tiers") => answer(set_tier(shared, body).map(|()| ok())),
        ("POST", "errors") => answer(set_failure(shared, body).map(|()| ok())),
        ("POST", "delete") => match delete(shared, body) {
            Ok(true) => ok(),
            Ok(false) => Response::text(404, "message_not_found"),
            Err(problem) => Response::text(400, &problem),
        },
        (
            _,
            "calls" | "stats" | "channels" | "files" | "tokens" | "tiers" | "errors" | "delete",
        ) => Response::text(405, "method_not_allowed"),
        _ => Response::text(404, "no_service"),
    }
}

fn ok() -> Response {
    Response::text(200, "ok")
}

fn answer(result: Result<Response, String>) -> Response {
    result.unwrap_or_else(|problem| Response::text(400, &problem))
}

/// The body as a JSON object whose keys are all in `allowed`.
fn object(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body must be JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("the body must be a JSON object".to_string());
    };
    if let Some(unknown) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "unknown key `{unknown}`: use {}",
            allowed
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(fields)
}

fn flag(fields: &Map<String, Value>, key: &str, default: bool) -> Result<bool, String> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("`{key}` must be true or false")),
    }
}

fn method_of(fields: &Map<String, Value>) -> Result<Method, String> {
    let name = fields
        .get("method")
        .and_then(Value::as_str)
        .ok_or("`method` must be a method name like \"chat.update\"")?;
    Method::parse(name).ok_or_else(|| {
        let names: Vec<_> = Method::ALL.iter().map(|m| m.as_str()).collect();
        format!("unknown `method` {name:?}: use {}", names.join(", "))
    })
}

fn count_of(fields: &Map<String, Value>) -> Result<Option<u32>, String> {
    match fields.get("count") {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| "`count` must be a whole number".to_string()),
    }
}

/// `{"auto_create": false, "channels": [{"name", "member", "archived", "private"}]}`.
fn declare(shared: &Shared, body: &[u8]) -> Result<Response, String> {
    let fields = object(body, &["auto_create", "channels"])?;
    let mut specs = Vec::new();
    if let Some(list) = fields.get("channels") {
        let list = list
            .as_array()
            .ok_or("`channels` must be an array of {\"name\": ...}")?;
        for item in list {
            let item = object(
                item.to_string().as_bytes(),
                &["name", "member", "archived", "private"],
            )?;
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .ok_or("each channel needs a string `name`")?;
            specs.push(ChannelSpec {
                member: flag(&item, "member", true)?,
                archived: flag(&item, "archived", false)?,
                private: flag(&item, "private", false)?,
                ..ChannelSpec::new(name)
            });
        }
    }
    let auto_create = match fields.get("auto_create") {
        None => None,
        Some(_) => Some(flag(&fields, "auto_create", true)?),
    };
    let mut state = shared.lock();
    let ids = state.api.declare_channels(&specs)?;
    if let Some(on) = auto_create {
        state.api.set_auto_create(on);
    }
    let declared: Vec<Value> = specs
        .iter()
        .zip(&ids)
        .map(|(spec, id)| {
            json!({"id": id, "name": spec.name, "member": spec.member,
                   "archived": spec.archived, "private": spec.private})
        })
        .collect();
    Ok(Response::json(
        200,
        &json!({"auto_create": state.api.auto_create(), "channels": declared}),
    ))
}

/// `{"token": "xoxb-…", "state": "revoked", "scopes": ["chat:write"]}`.
fn set_token(shared: &Shared, body: &[u8]) -> Result<(), String> {
    let fields = object(body, &["token", "state", "scopes"])?;
    let token = fields
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("`token` must be a non-empty string")?;
    let state = match fields.get("state") {
        None | Some(Value::Null) => TokenState::Ok,
        Some(state) => state
            .as_str()
            .and_then(TokenState::parse)
            .ok_or("`state` must be one of \"ok\", \"revoked\", \"invalid\", \"inactive\"")?,
    };
    let scopes = match fields.get("scopes") {
        None | Some(Value::Null) => Token::default().scopes,
        Some(Value::Array(scopes)) => scopes
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or("`scopes` must be an array of strings")?,
        Some(_) => return Err("`scopes` must be an array of strings".to_string()),
    };
    shared.lock().api.set_token(token, Token { state, scopes });
    Ok(())
}

/// `{"method": "chat.update", "per_minute": 50, "burst": 10}`, `{"method": ..., "off":
/// true}` or `{"method": ..., "default": true}`; `"method": "*"` for every method.
fn set_tier(shared: &Shared, body: &[u8]) -> Result<(), String> {
    let fields = object(body, &["method", "per_minute", "burst", "off", "default"])?;
    let methods = match fields.get("method").and_then(Value::as_str) {
        Some("*") => Method::ALL.to_vec(),
        _ => vec![method_of(&fields)?],
    };
    let off = flag(&fields, "off", false)?;
    let default = flag(&fields, "default", false)?;
    let numbers = fields.contains_key("per_minute") || fields.contains_key("burst");
    if usize::from(off) + usize::from(default) + usize::from(numbers) != 1 {
        return Err(
            "give `per_minute` and `burst`, or `off`: true, or `default`: true".to_string(),
        );
    }
    let tier = if numbers {
        let per_minute = fields
            .get("per_minute")
            .and_then(Value::as_f64)
            .ok_or("`per_minute` must be a number")?;
        let burst = fields
            .get("burst")
            .and_then(Value::as_u64)
            .and_then(|b| u32::try_from(b).ok())
            .ok_or("`burst` must be a whole number")?;
        let tier = Tier { per_minute, burst };
        tier.validate().map_err(|e| e.to_string())?;
        Some(tier)
    } else {
        None
    };
    let mut state = shared.lock();
    for method in methods {
        let tier = if default {
            Tier::default_for(method)
        } else {
            tier
        };
        state.api.set_tier(method, tier);
    }
    Ok(())
}

/// `{"method", "error", "count"}`, `{"method", "mode": {...}, "count"}`, or
/// `{"method", "clear": true}` (no `method`: every one).
fn set_failure(shared: &Shared, body: &[u8]) -> Result<(), String> {
    let fields = object(body, &["method", "error", "mode", "count", "clear"])?;
    if flag(&fields, "clear", false)? {
        if fields.contains_key("error") || fields.contains_key("mode") {
            return Err("`clear` goes without `error` or `mode`".to_string());
        }
        let method = match fields.get("method") {
            None => None,
            Some(_) => Some(method_of(&fields)?),
        };
        shared.api_changed(|api| api.clear_failures(method));
        return Ok(());
    }
    let method = method_of(&fields)?;
    let count = count_of(&fields)?;
    let failure =
        match (fields.get("error"), fields.get("mode")) {
            (Some(error), None) => ApiFailure::Error(
                error
                    .as_str()
                    .filter(|e| !e.is_empty())
                    .ok_or("`error` must be a Slack error string like \"message_not_found\"")?
                    .to_string(),
            ),
            (None, Some(mode)) => ApiFailure::Mode(api_mode(mode)?),
            _ => return Err(
                "give `error` (e.g. \"message_not_found\") or `mode` (e.g. {\"mode\":\"hang\"}), \
                 or `clear`: true"
                    .to_string(),
            ),
        };
    shared.api_changed(|api| api.set_failure(method, failure, count));
    Ok(())
}

/// A [`Mode`] as the webhook's control reads it, with the Web API's error strings
/// when none is given: `ratelimited` for 429, `internal_error` otherwise.
fn api_mode(value: &Value) -> Result<Mode, String> {
    let mode = mode_from_json(value)?;
    let given = |v: &Value| v.get("error").is_some_and(|e| !e.is_null());
    if given(value) {
        return Ok(mode);
    }
    let default = |status: u16| match status {
        429 => "ratelimited".to_string(),
        _ => "internal_error".to_string(),
    };
    Ok(match mode {
        Mode::Status {
            status,
            retry_after,
            ..
        } => Mode::Status {
            status,
            error: default(status),
            retry_after,
        },
        Mode::RawRetryAfter {
            status,
            retry_after,
            ..
        } => Mode::RawRetryAfter {
            status,
            error: default(status),
            retry_after,
        },
        Mode::FailNext { count, then } => Mode::FailNext {
            count,
            then: Box::new(api_mode(&value["then"]).unwrap_or(*then)),
        },
        other => other,
    })
}

/// `{"channel": "C…" or "name", "ts": "…"}`.
fn delete(shared: &Shared, body: &[u8]) -> Result<bool, String> {
    let fields = object(body, &["channel", "ts"])?;
    let channel = fields
        .get("channel")
        .and_then(Value::as_str)
        .ok_or("`channel` must be a channel id or name")?;
    let ts = fields
        .get("ts")
        .and_then(Value::as_str)
        .ok_or("`ts` must be the message's ts, e.g. \"1712345678.000100\"")?;
    Ok(shared.lock().api.delete_message(channel, ts))
}

pub(crate) fn call_json(call: &ApiCall) -> Value {
    json!({
        "method": call.method,
        "status": call.status,
        "ok": call.ok,
        "error": call.error,
        "channel": call.channel,
        "ts": call.ts,
        "thread_ts": call.thread_ts,
        "retry_after": call.retry_after,
        "at_ms": call.at_ms,
        "body": call.body,
        "detail": call.detail,
    })
}

pub(crate) fn stats_json(stats: &ApiStats) -> Value {
    json!({
        "calls": stats.calls,
        "ok": stats.ok,
        "errors": stats.errors,
        "rate_limited": stats.rate_limited,
        "posts": stats.posts,
        "updates": stats.updates,
        "files_shared": stats.files_shared,
    })
}

pub(crate) fn channel_json(channel: &ChannelView) -> Value {
    json!({
        "id": channel.id,
        "name": channel.name,
        "member": channel.member,
        "archived": channel.archived,
        "private": channel.private,
        "messages": channel.messages.iter().map(message_json).collect::<Vec<_>>(),
        "files": channel.files.iter().map(file_json).collect::<Vec<_>>(),
    })
}

pub(crate) fn message_json(message: &MessageView) -> Value {
    json!({
        "ts": message.ts,
        "thread_ts": message.thread_ts,
        "reply_broadcast": message.reply_broadcast,
        "text": message.text,
        "blocks": message.blocks,
        "attachments": message.attachments,
        "edits": message.edits,
        "versions": message.versions.iter().map(|v| json!({
            "text": v.text, "blocks": v.blocks, "attachments": v.attachments, "at_ms": v.at_ms
        })).collect::<Vec<_>>(),
        "replies": message.replies.iter().map(message_json).collect::<Vec<_>>(),
        "files": message.files.iter().map(file_json).collect::<Vec<_>>(),
        "username": message.username,
        "icon_emoji": message.icon_emoji,
    })
}

pub(crate) fn file_json(file: &FileView) -> Value {
    json!({
        "id": file.id,
        "title": file.title,
        "filename": file.filename,
        "length": file.length,
        "snippet_type": file.snippet_type,
        "text": file.text,
        "state": file.state,
        "channel": file.channel,
        "ts": file.ts,
        "thread_ts": file.thread_ts,
    })
}

fn tiers_json(tiers: &[(Method, Option<Tier>)]) -> Value {
    let mut all = Map::new();
    for (method, tier) in tiers {
        let per = match method {
            Method::PostMessage => "channel",
            _ => "workspace",
        };
        let value = match tier {
            Some(t) => json!({"per_minute": t.per_minute, "burst": t.burst, "per": per}),
            None => Value::Null,
        };
        all.insert(method.as_str().to_string(), value);
    }
    Value::Object(all)
}

fn failure_json(method: Method, failure: &ApiFailure, count: Option<u32>) -> Value {
    match failure {
        ApiFailure::Error(error) => {
            json!({"method": method.as_str(), "error": error, "count": count})
        }
        ApiFailure::Mode(mode) => {
            json!({"method": method.as_str(), "mode": mode_json(mode), "count": count})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_modes_default_to_web_api_errors() {
        assert_eq!(
            api_mode(&json!({"mode": "status", "status": 429, "retry_after": 3})),
            Ok(Mode::Status {
                status: 429,
                error: "ratelimited".to_string(),
                retry_after: Some(3)
            })
        );
        assert_eq!(
            api_mode(&json!({"mode": "status", "status": 500, "error": "fatal_error"})),
            Ok(Mode::status(500, "fatal_error"))
        );
        assert_eq!(
            api_mode(
                &json!({"mode": "fail_next", "count": 2, "then": {"mode": "status", "status": 503}})
            ),
            Ok(Mode::fail_next(2, Mode::status(503, "internal_error")))
        );
        assert_eq!(api_mode(&json!({"mode": "hang"})), Ok(Mode::Hang));
        assert!(api_mode(&json!({"mode": "nap"})).is_err());
    }

    #[test]
    fn bodies_with_unknown_keys_say_which() {
        let problem = object(br#"{"method":"x","colour":1}"#, &["method"]).unwrap_err();
        assert!(problem.contains("`colour`"), "{problem}");
        assert!(object(b"[]", &[]).is_err() && object(b"{", &[]).is_err());
    }
}
