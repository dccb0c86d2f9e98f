//! A local stand-in for Slack's incoming webhooks and its Web API, for tests and the
//! demo.
//!
//! There is no network where this project is tested, so every test posts to a
//! [`Receiver`] instead of `hooks.slack.com` or `slack.com/api`. It answers like
//! Slack — `ok`, the Slack error strings, 429 with `Retry-After` — and referees what
//! it receives:
//!
//! - [`limits`] checks each message against Slack's Block Kit limits and records every
//!   breach in [`Receiver::violations`] (a correct client produces none);
//! - [`mentions`] lists the `<!channel>`-style control sequences in a payload, so tests
//!   can assert that log data could not ping anyone;
//! - [`Mode`] makes it fail on purpose: any status, hang, close the connection, or fail
//!   the next few posts;
//! - [`RateLimit`] answers 429 like Slack's leaky bucket;
//! - [`api`] is Slack's Web API as a bot token sees it (`chat.postMessage`,
//!   `chat.update`, threads, the three-step file upload, `auth.test`), with tokens,
//!   scopes, channels, rate [`Tier`]s and failures forced per [`Method`]; what each
//!   channel shows is read back with [`Receiver::channel`];
//! - the `fake-slack` binary runs it as a process for scripts and the demo.
//!
//! The HTTP/1.1 server is written on `std::net` alone, one thread per connection, and
//! binds loopback only. Request bodies over [`MAX_BODY_BYTES`] are answered 413
//! (upload URLs take up to [`api::MAX_UPLOAD_BYTES`]).
//!
//! # Web API
//!
//! On the same port, beside the webhook paths ([`Receiver::api_url`] is the base):
//!
//! | request | answer |
//! |---------|--------|
//! | `POST /api/chat.postMessage` `{"channel", "text", "blocks", "attachments", "thread_ts", "reply_broadcast", ...}` | `{"ok":true,"channel":"C0000000001","ts":"1712345678.000100","message":{"type":"message","text","user","bot_id","app_id","team","ts","blocks","attachments","thread_ts"}}` |
//! | `POST /api/chat.update` `{"channel": id, "ts", "text", "blocks", "attachments"}` (absent fields are kept, `[]` removes) | `{"ok":true,"channel","ts","text","message":{...,"edited":{"user","ts"}}}` |
//! | `POST /api/files.getUploadURLExternal` `{"filename", "length", "snippet_type"}` (JSON or form) | `{"ok":true,"upload_url":"http://127.0.0.1:PORT/upload/F0000000001","file_id":"F0000000001"}` |
//! | `POST /upload/<file id>`, the bytes raw or as the one file part of `multipart/form-data`; no token | 200 `OK - <length>`; 400 `length_mismatch` / `already_uploaded`, 404 `file_not_found` |
//! | `POST /api/files.completeUploadExternal` `{"files":[{"id","title"}], "channel_id", "thread_ts", "initial_comment"}` | `{"ok":true,"files":[{"id","title"}]}` |
//! | `POST /api/auth.test` | `{"ok":true,"url":"https://fake-slack.test/","team":"Fake Slack","user":"slack_alert","team_id","user_id","bot_id","is_enterprise_install":false}` |
//!
//! Requests carry `Authorization: Bearer <token>` and a JSON body
//! (`application/json; charset=utf-8`; without the charset the answer carries
//! Slack's `missing_charset` warning) or a form; `GET` with a query works too.
//! Failures are HTTP 200 `{"ok":false,"error":"..."}` (`missing_scope` adds
//! `needed` and `provided`); a tier exceeded is HTTP 429 with `Retry-After` and
//! `{"ok":false,"error":"ratelimited"}`. See [`api`] for the order of the checks.
//!
//! # Control API
//!
//! Tests and scripts not written in Rust drive the receiver over the same port. It is
//! answered whatever the mode, so a hung or failing receiver can always be switched back.
//!
//! | request                     | answer                                                    |
//! |-----------------------------|-----------------------------------------------------------|
//! | `GET /_receiver/messages`   | JSON array of accepted bodies                             |
//! | `GET /_receiver/received`   | `[{"status", "answer", "body", "raw_len", "at_ms"}]`, `at_ms` since start |
//! | `GET /_receiver/page`       | an HTML page showing every post received as Slack would have |
//! | `GET /_receiver/violations` | JSON array of strings                                     |
//! | `GET /_receiver/stats`      | JSON object of [`Stats`]                                  |
//! | `GET /_receiver/mode`       | the current mode, in the form `POST` takes                |
//! | `POST /_receiver/mode`      | `{"mode":"ok"}`, `{"mode":"status","status":429,"error":"rate_limited","retry_after":2}` (`error` defaults to Slack's string for the status), `{"mode":"hang"}`, `{"mode":"close"}`, `{"mode":"fail_next","count":3,"then":{...}}`, `{"mode":"raw_retry_after","status":429,"retry_after":"-1"}` (the header verbatim), `{"mode":"huge_body","status":200,"bytes":67108864}` |
//! | `POST /_receiver/reset`     | clears everything, mode back to ok; the Web API's channels, calls, tokens, tiers and failures too |
//! | `GET /_receiver/api/calls`  | `[{"method", "status", "ok", "error", "channel", "ts", "thread_ts", "retry_after", "at_ms", "body", "detail"}]` ([`ApiCall`]), uploads as method `upload` |
//! | `GET /_receiver/api/stats`  | `{"calls", "ok", "errors", "rate_limited", "posts", "updates", "files_shared"}` ([`ApiStats`]) |
//! | `GET /_receiver/api/channels` | `[{"id", "name", "member", "archived", "private", "messages": [M], "files": [F]}]`, M = `{"ts", "thread_ts", "reply_broadcast", "text", "blocks", "attachments", "edits", "versions": [{"text", "blocks", "attachments", "at_ms"}], "replies": [M], "files": [F], "username", "icon_emoji"}`, F = `{"id", "title", "filename", "length", "snippet_type", "text", "state", "channel", "ts", "thread_ts"}` |
//! | `GET /_receiver/api/channels/<name or id>` | one channel as above (`%23name` works too); 404 `channel_not_found` |
//! | `GET /_receiver/api/files`  | `[F]`, every file announced, `state` one of `pending`, `uploaded`, `private`, `shared` |
//! | `POST /_receiver/api/channels` | `{"auto_create": false, "channels": [{"name": "alerts", "member": true, "archived": false, "private": false}]}` (each key optional; flags default as shown) → `{"auto_create", "channels": [{"id", "name", "member", "archived", "private"}]}` |
//! | `POST /_receiver/api/tokens` | `{"token": "xoxb-1", "state": "ok" \| "revoked" \| "invalid" \| "inactive", "scopes": ["chat:write"]}` (`state` and `scopes` optional) → `ok`; `GET` lists `[{"token", "state", "scopes"}]` |
//! | `POST /_receiver/api/tiers` | `{"method": "chat.update", "per_minute": 50, "burst": 10}`, `{"method": ..., "off": true}` or `{"method": ..., "default": true}`; `"method": "*"` for all → `ok`; `GET` gives `{"chat.postMessage": {"per_minute": 60.0, "burst": 3, "per": "channel"}, ...}`, `null` when off |
//! | `POST /_receiver/api/errors` | `{"method": "chat.update", "error": "message_not_found", "count": 1}` (no `count`: until cleared), `{"method": ..., "mode": {"mode": "hang"}}` (any mode `POST /_receiver/mode` takes; a `status` mode's `error` defaults to `ratelimited` for 429, else `internal_error`), `{"method": ..., "clear": true}`, `{"clear": true}` → `ok`; `GET` lists `[{"method", "error" or "mode", "count"}]` |
//! | `POST /_receiver/api/delete` | `{"channel": "alerts" or "C…", "ts": "1712345678.000100"}` → `ok`, or 404 `message_not_found` |
//!
//! Methods are named as Slack names them (`chat.postMessage`, `chat.update`,
//! `files.getUploadURLExternal`, `files.completeUploadExternal`, `auth.test`) or
//! `upload` for the upload URL. Bad control bodies are answered 400 with what to fix.
//!
//! Any other path is answered 404 `no_service`, like Slack.
//!
//! # Example
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::{Duration, Instant};
//! use fake_slack::Receiver;
//!
//! let receiver = Receiver::start()?;
//! let body = r#"{"text":"disk full on db-1"}"#;
//! let mut client = TcpStream::connect(receiver.addr())?;
//! write!(
//!     client,
//!     "POST /services/T000TEST/B000TEST/testtoken0123456789 HTTP/1.1\r\n\
//!      Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
//!     body.len()
//! )?;
//! let mut answer = String::new();
//! client.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("\r\n\r\nok"));
//!
//! let accepted = receiver.wait_for_accepted(1, Duration::from_secs(1));
//! assert_eq!(accepted[0]["text"], "disk full on db-1");
//! assert!(receiver.violations().is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The Web API, then reading what the channel shows:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use fake_slack::{Method, Receiver};
//!
//! let receiver = Receiver::start()?;
//! let body = r##"{"channel":"#alerts","text":"disk full on db-1"}"##;
//! let mut client = TcpStream::connect(receiver.addr())?;
//! write!(
//!     client,
//!     "POST /api/chat.postMessage HTTP/1.1\r\nAuthorization: Bearer xoxb-test\r\n\
//!      Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\
//!      Connection: close\r\n\r\n{body}",
//!     body.len()
//! )?;
//! let mut answer = String::new();
//! client.read_to_string(&mut answer)?;
//! assert!(answer.contains(r#""ok":true"#) && answer.contains(r#""channel":"C0000000001""#));
//!
//! let alerts = receiver.channel("#alerts").expect("created on first use");
//! assert_eq!(alerts.messages[0].text, "disk full on db-1");
//! assert_eq!(receiver.api_calls()[0].method, Method::PostMessage.as_str());
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod api;
mod control;
pub mod limits;
mod mentions;
mod options;
mod page;
pub mod print;
mod rate;
mod server;
mod state;

pub use api::{
    ApiCall, ApiFailure, ApiStats, ChannelSpec, ChannelView, FileView, MessageView, Method, Tier,
    Token, TokenState, Version,
};
pub use mentions::mentions;
pub use options::{Mode, Options, RateLimit};
pub use slack_alert_http::MAX_BODY_BYTES;
pub use state::{Received, Stats, KEEP_LAST};

use server::Server;
use state::Shared;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The webhook path [`Receiver::webhook_url`] hands out. Any path under `/services/` is
/// accepted the same way.
pub const WEBHOOK_PATH: &str = "/services/T000TEST/B000TEST/testtoken0123456789";

/// A running receiver. Dropping it stops it: the listener closes, every connection
/// (hung ones included) is shut down and its threads are joined within about a second.
pub struct Receiver {
    shared: Arc<Shared>,
    server: Server,
}

impl Receiver {
    /// Starts a receiver on `127.0.0.1` with a free port and default [`Options`].
    pub fn start() -> io::Result<Receiver> {
        Receiver::start_with(Options::default())
    }

    /// Starts a receiver on `127.0.0.1` with a free port.
    pub fn start_with(options: Options) -> io::Result<Receiver> {
        Receiver::start_at(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options)
    }

    /// Starts a receiver on `addr`, which must be an IPv4 loopback address (port 0 picks
    /// a free one): the receiver is for local tests and must never listen on a network.
    ///
    /// Fails with `InvalidInput` for any other address or an unenforceable
    /// [`RateLimit`], and with the bind error if the port is taken.
    pub fn start_at(addr: SocketAddr, options: Options) -> io::Result<Receiver> {
        if !matches!(addr, SocketAddr::V4(v4) if v4.ip().is_loopback()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the receiver listens on 127.0.0.1 only, not {addr}"),
            ));
        }
        if let Some(limit) = &options.rate_limit {
            limit.validate()?;
        }
        let listener = TcpListener::bind(addr)?;
        let shared = Arc::new(Shared::new(options, listener.local_addr()?)?);
        let server = Server::spawn(listener, Arc::clone(&shared))?;
        Ok(Receiver { shared, server })
    }

    /// The address the receiver listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The webhook URL to configure a client with, e.g.
    /// `http://127.0.0.1:PORT/services/T000TEST/B000TEST/testtoken0123456789`.
    pub fn webhook_url(&self) -> String {
        format!("http://{}{WEBHOOK_PATH}", self.addr())
    }

    /// Changes how posts are answered from now on. A post hung in [`Mode::Hang`] is
    /// released (its connection closed, unanswered) by any mode change.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.set_mode(mode);
    }

    /// The current mode; a [`Mode::FailNext`] shows its remaining count.
    pub fn mode(&self) -> Mode {
        self.shared.lock().mode()
    }

    /// Every post to `/services/...`, in arrival order, whatever was answered (the last
    /// [`KEEP_LAST`] of them).
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received()
    }

    /// The bodies answered 200, in order (the last [`KEEP_LAST`] of them).
    pub fn accepted(&self) -> Vec<serde_json::Value> {
        self.shared.lock().accepted()
    }

    /// Waits until at least `n` posts were accepted since start or the last reset, or
    /// until `timeout`; returns the accepted bodies either way.
    pub fn wait_for_accepted(&self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        self.shared.wait_for_accepted(n, timeout)
    }

    /// An HTML page showing every post received (the last [`KEEP_LAST`]) as Slack
    /// would have, each with the time it arrived and the answer it got; then every
    /// Web API message as its channel shows it now.
    pub fn page(&self) -> String {
        page::html(
            &self.received(),
            &self.channels(),
            self.shared.started,
            self.shared.started_wall,
        )
    }

    /// Every breach seen, each saying which post, what and where, e.g.
    /// `post 3: invalid_blocks at blocks[1].text: section text is 3001 characters (limit 3000)`.
    /// Breaches are recorded whatever the mode answered; posting again before a
    /// `Retry-After` elapsed is one too.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations()
    }

    /// Counters since start or the last reset.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats()
    }

    /// The Web API's base URL, `http://127.0.0.1:PORT/api`: a client calls
    /// `{api_url}/chat.postMessage`, as it would `https://slack.com/api`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr())
    }

    /// Every Web API call (and upload), in arrival order, whatever was answered (the
    /// last [`KEEP_LAST`]).
    pub fn api_calls(&self) -> Vec<ApiCall> {
        self.shared.lock().api.calls()
    }

    /// Waits until at least `n` Web API calls (uploads included) were made since start
    /// or the last reset, or until `timeout`; returns the call log either way.
    pub fn wait_for_api_calls(&self, n: usize, timeout: Duration) -> Vec<ApiCall> {
        self.shared.wait_for_api_calls(n, timeout)
    }

    /// Web API counters since start or the last reset.
    pub fn api_stats(&self) -> ApiStats {
        self.shared.lock().api.stats()
    }

    /// Every channel with what it shows, in creation order.
    pub fn channels(&self) -> Vec<ChannelView> {
        self.shared.lock().api.channels()
    }

    /// The channel named (`#name` or `name`) or identified (`C…`) by `channel`.
    pub fn channel(&self, channel: &str) -> Option<ChannelView> {
        self.shared.lock().api.channel(channel)
    }

    /// Every file announced by `files.getUploadURLExternal`, whatever became of it
    /// (see [`FileView::state`]), in order.
    pub fn files(&self) -> Vec<FileView> {
        self.shared.lock().api.files()
    }

    /// Creates these channels, or changes the flags of those that exist (keeping their
    /// ids and messages); returns their ids in order. Fails with `InvalidInput`, and
    /// changes nothing, if a name is not a Slack channel name or the workspace would
    /// hold more than [`api::MAX_CHANNELS`].
    pub fn declare_channels(&self, channels: &[ChannelSpec]) -> io::Result<Vec<String>> {
        self.shared
            .lock()
            .api
            .declare_channels(channels)
            .map_err(|problem| io::Error::new(io::ErrorKind::InvalidInput, problem))
    }

    /// Whether posting by name to a channel not seen before creates it (the bot a
    /// member). On by default; off, such a post answers `channel_not_found`.
    pub fn set_auto_create(&self, on: bool) {
        self.shared.lock().api.set_auto_create(on);
    }

    /// Declares `token`: its state and scopes replace the defaults (any `xoxb-` token
    /// is valid with [`api::DEFAULT_SCOPES`]; any other is `invalid_auth`).
    pub fn set_token(&self, token: &str, declared: Token) {
        self.shared.lock().api.set_token(token, declared);
    }

    /// Sets the rate tier of `method` (`None` lifts it); its buckets start empty.
    /// Fails with `InvalidInput` for a tier that cannot be enforced.
    pub fn set_tier(&self, method: Method, tier: Option<Tier>) -> io::Result<()> {
        if let Some(tier) = &tier {
            tier.validate()?;
        }
        self.shared.lock().api.set_tier(method, tier);
        Ok(())
    }

    /// The rate tier of `method`; `None` if it is not limited.
    pub fn tier(&self, method: Method) -> Option<Tier> {
        self.shared
            .lock()
            .api
            .tiers()
            .into_iter()
            .find(|(m, _)| *m == method)
            .and_then(|(_, tier)| tier)
    }

    /// Answers the next `count` calls of `method` (every one if `None`) with Slack
    /// error `error`: `{"ok":false,"error":<error>}`.
    pub fn set_api_error(&self, method: Method, error: &str, count: Option<u32>) {
        self.set_api_failure(method, ApiFailure::Error(error.to_string()), count);
    }

    /// Forces `failure` on the next `count` calls of `method` (every one if `None`),
    /// replacing the one forced before (whose hung calls are let go). Other methods
    /// are unaffected: posts can succeed while updates hang.
    pub fn set_api_failure(&self, method: Method, failure: ApiFailure, count: Option<u32>) {
        self.shared
            .api_changed(|api| api.set_failure(method, failure, count));
    }

    /// Clears the failure forced on `method` (on every method if `None`), letting go
    /// of calls it hung.
    pub fn clear_api_failures(&self, method: Option<Method>) {
        self.shared.api_changed(|api| api.clear_failures(method));
    }

    /// Forgets message `ts` (with its thread) of `channel` (a name or an id), so
    /// that updating it answers `message_not_found`; false if there was none.
    pub fn delete_message(&self, channel: &str, ts: &str) -> bool {
        self.shared.lock().api.delete_message(channel, ts)
    }

    /// Forgets everything received, the violations and the counters, refills the rate
    /// limit, and sets the mode back to [`Mode::Ok`]. The Web API side too: channels,
    /// messages, files, calls, declared tokens, tiers (back to Slack's) and forced
    /// failures (hung calls are let go).
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops the receiver; the same as dropping it.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.stop();
        // Connections are closed: nothing more can be accepted, so print what was.
        self.shared
            .finish_printing(Instant::now() + Duration::from_millis(500));
        if let Some(path) = &self.shared.options().html {
            // A test tool's page: a failure to write it is said, not fatal.
            if let Err(e) = std::fs::write(path, self.page()) {
                eprintln!("fake-slack: cannot write {}: {e}", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Receiver>();
    }

    #[test]
    fn webhook_url_names_the_port() {
        let receiver = Receiver::start().unwrap();
        let port = receiver.addr().port();
        assert_ne!(port, 0);
        assert_eq!(
            receiver.webhook_url(),
            format!("http://127.0.0.1:{port}/services/T000TEST/B000TEST/testtoken0123456789")
        );
        receiver.stop();
    }
}
