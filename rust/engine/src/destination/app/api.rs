//! Slack's Web API as the app sender calls it: one method call or one raw
//! upload at a time, answered by an [`Answer`] that says what Slack meant.
//!
//! Success is `"ok": true`, not HTTP 200: Slack answers most failures with
//! 200 and an `error` code. The token is only ever in the `Authorization`
//! header; upload URLs are pre-signed and get no token at all.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::config::{ApiUrl, SlackToken};
use crate::destination::sender::parse_retry_after;
use crate::log::{LogLevel, LogSink};

/// What a method call sends.
#[derive(Clone, Debug)]
pub enum Body {
    Json(Value),
    /// `application/x-www-form-urlencoded` pairs (`files.getUploadURLExternal`).
    Form(Vec<(&'static str, String)>),
}

/// Slack's answer to one call.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// The JSON answer (`Value::Null` when there was none or it was no JSON).
    pub body: Value,
}

impl Answer {
    pub fn ok(body: Value) -> Answer {
        Answer {
            status: 200,
            retry_after: None,
            body,
        }
    }

    /// `ok: true` in a 2xx answer.
    pub fn is_ok(&self) -> bool {
        (200..300).contains(&self.status) && self.body["ok"] == json!(true)
    }

    /// Slack's error code (`channel_not_found`), if it gave one.
    pub fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }

    /// The answer's string field `name` (`ts`, `channel`, `upload_url`…).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.body[name].as_str()
    }

    /// Rate limited: HTTP 429, or `ratelimited` in the answer.
    pub fn is_rate_limited(&self) -> bool {
        self.status == 429 || self.error() == Some("ratelimited")
    }
}

/// Calls the Web API. Error strings never hold the token.
pub trait Api: Send {
    fn call(
        &mut self,
        method: &'static str,
        body: &Body,
        timeout: Duration,
    ) -> Result<Answer, String>;

    /// Sends a file's bytes to the upload URL Slack gave.
    fn upload(&mut self, url: &str, bytes: &[u8], timeout: Duration) -> Result<Answer, String>;
}

/// Most bytes of an answer read: Slack's are a few hundred bytes; an
/// endless body must not hold the sender or its memory.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The Web API over HTTPS.
pub struct HttpApi {
    client: reqwest::blocking::Client,
    token: SlackToken,
    url: ApiUrl,
}

impl HttpApi {
    pub fn new(client: reqwest::blocking::Client, token: SlackToken, url: ApiUrl) -> HttpApi {
        HttpApi { client, token, url }
    }

    fn answer(response: reqwest::blocking::Response) -> Answer {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut raw = Vec::new();
        let _ = response.take(MAX_ANSWER_BYTES).read_to_end(&mut raw);
        Answer {
            status,
            retry_after,
            body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        }
    }
}

impl Api for HttpApi {
    fn call(
        &mut self,
        method: &'static str,
        body: &Body,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let request = self
            .client
            .post(self.url.method(method))
            .bearer_auth(self.token.expose())
            .timeout(timeout);
        let request = match body {
            Body::Json(v) => request
                .header("content-type", "application/json; charset=utf-8")
                .body(serde_json::to_vec(v).map_err(|e| e.to_string())?),
            Body::Form(pairs) => request.form(pairs),
        };
        let response = request
            .send()
            .map_err(|e| super::super::sender::describe(&e))?;
        Ok(HttpApi::answer(response))
    }

    fn upload(&mut self, url: &str, bytes: &[u8], timeout: Duration) -> Result<Answer, String> {
        let response = self
            .client
            .post(url)
            .header("content-type", "application/octet-stream")
            .timeout(timeout)
            .body(bytes.to_vec())
            .send()
            .map_err(|e| super::super::sender::describe(&e))?;
        let mut answer = HttpApi::answer(response);
        // The upload URL answers plain text; its status is what counts.
        if (200..300).contains(&answer.status) {
            answer.body = json!({"ok": true});
        }
        Ok(answer)
    }
}

/// A dry run of app mode: says what would be posted, updated or uploaded,
/// and answers as Slack would, with made-up ids.
pub struct DryRunApi {
    log: Arc<dyn LogSink>,
    next: u64,
}

impl DryRunApi {
    pub fn new(log: Arc<dyn LogSink>) -> DryRunApi {
        DryRunApi { log, next: 0 }
    }
}

impl Api for DryRunApi {
    fn call(&mut self, method: &'static str, body: &Body, _: Duration) -> Result<Answer, String> {
        self.next += 1;
        let ts = format!("1700000000.{:06}", self.next);
        let Body::Json(v) = body else {
            return Ok(Answer::ok(json!({
                "ok": true, "upload_url": "dry-run:upload", "file_id": format!("F{}", self.next)
            })));
        };
        let channel = v["channel"]
            .as_str()
            .or(v["channel_id"].as_str())
            .unwrap_or("?");
        let what = match (method, v.get("thread_ts").is_some()) {
            ("chat.postMessage", true) => format!("reply in a thread of {channel}"),
            ("chat.postMessage", false) => format!("post to {channel}"),
            ("chat.update", _) => format!("update a message in {channel}"),
            ("files.completeUploadExternal", _) => {
                format!("upload a stack trace into a thread of {channel}")
            }
            (m, _) => format!("call {m}"),
        };
        let text = if v.get("blocks").is_some() || v.get("attachments").is_some() {
            slack_alert_render::plain::to_text(v)
        } else {
            v["text"].as_str().unwrap_or("").to_string()
        };
        self.log.log(
            LogLevel::Info,
            &format!("dry run: would {what} (Slack app):\n{text}"),
        );
        Ok(Answer::ok(
            json!({"ok": true, "channel": channel, "ts": ts}),
        ))
    }

    fn upload(&mut self, _: &str, _: &[u8], _: Duration) -> Result<Answer, String> {
        Ok(Answer::ok(json!({"ok": true})))
    }
}

/// What to do about a Slack error code, and what to tell the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// Token or workspace: nothing works until the operator acts.
    Credential,
    /// The app lacks a scope (Slack's `needed` says which).
    Scope,
    /// The channel cannot take the message: try the fallback.
    Channel,
    /// The message to update is gone or can no longer be edited: post a
    /// new one.
    Gone,
    /// Slack refused this message (too long, bad blocks…).
    Message,
}

/// Sorts a Slack error code.
pub fn trouble(error: &str) -> Trouble {
    match error {
        "invalid_auth"
        | "not_authed"
        | "token_revoked"
        | "token_expired"
        | "account_inactive"
        | "no_permission"
        | "org_login_required"
        | "ekm_access_denied"
        | "team_access_not_granted"
        | "not_allowed_token_type" => Trouble::Credential,
        "missing_scope" => Trouble::Scope,
        "channel_not_found"
        | "not_in_channel"
        | "is_archived"
        | "restricted_action"
        | "restricted_action_read_only_channel"
        | "restricted_action_thread_only_channel"
        | "channel_is_archived" => Trouble::Channel,
        "message_not_found" | "cant_update_message" | "edit_window_closed" => Trouble::Gone,
        _ => Trouble::Message,
    }
}

/// What the operator can do about `error` (Slack's code, `needed` its
/// missing scope).
pub fn advice(error: &str, needed: Option<&str>) -> String {
    match error {
        "invalid_auth" | "not_authed" => "the token is not valid: copy the Bot User OAuth Token \
            (xoxb-…) from your app's OAuth & Permissions page into slack_token"
            .into(),
        "token_revoked" | "token_expired" => "the token was revoked: reinstall the app to the \
            workspace and put its new bot token into slack_token"
            .into(),
        "account_inactive" => "the bot or its workspace is deactivated: reinstall the app".into(),
        "missing_scope" => format!(
            "the app lacks the scope {}: add it under OAuth & Permissions → Bot Token Scopes \
             and reinstall the app",
            needed.unwrap_or("(Slack did not say which)")
        ),
        "channel_not_found" => "no such channel, or the bot cannot see it: check `channel` (a \
            private channel needs the bot invited: /invite @yourbot)"
            .into(),
        "not_in_channel" => "the bot is not in the channel: invite it (/invite @yourbot) or grant \
            the chat:write.public scope"
            .into(),
        "is_archived" | "channel_is_archived" => {
            "the channel is archived: unarchive it or change `channel`".into()
        }
        "message_not_found" | "cant_update_message" | "edit_window_closed" => {
            "the incident's message can no longer be edited: a new message carries it on".into()
        }
        "msg_too_long" | "invalid_blocks" | "too_many_attachments" | "invalid_attachments" => {
            "Slack refused the message's content; this is a bug, please report it".into()
        }
        _ => "see https://api.slack.com/methods for what this error means".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_ok_true_not_http_200() {
        assert!(Answer::ok(json!({"ok": true, "ts": "1.2"})).is_ok());
        let refused = Answer::ok(json!({"ok": false, "error": "channel_not_found"}));
        assert!(!refused.is_ok());
        assert_eq!(refused.error(), Some("channel_not_found"));
        assert!(!Answer::ok(Value::Null).is_ok());
        let limited = Answer {
            status: 429,
            ..Answer::default()
        };
        assert!(limited.is_rate_limited() && !limited.is_ok());
        assert!(Answer::ok(json!({"ok": false, "error": "ratelimited"})).is_rate_limited());
    }

    #[test]
    fn every_error_of_the_issue_is_sorted_and_explained() {
        for (error, want) in [
            ("invalid_auth", Trouble::Credential),
            ("token_revoked", Trouble::Credential),
            ("missing_scope", Trouble::Scope),
            ("channel_not_found", Trouble::Channel),
            ("not_in_channel", Trouble::Channel),
            ("is_archived", Trouble::Channel),
            ("message_not_found", Trouble::Gone),
            ("cant_update_message", Trouble::Gone),
            ("edit_window_closed", Trouble::Gone),
            ("msg_too_long", Trouble::Message),
        ] {
            assert_eq!(trouble(error), want, "{error}");
            assert!(!advice(error, None).is_empty());
        }
        assert!(advice("missing_scope", Some("files:write")).contains("files:write"));
    }
}
