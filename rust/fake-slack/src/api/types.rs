//! The public vocabulary of the Web API side: which method, which token, which
//! channel, which limit, which failure, and what was called. Plain data; the
//! behaviour lives in the sibling modules.

use crate::options::Mode;
use serde_json::Value;
use std::fmt;
use std::io;

/// The scopes a token has unless a test says otherwise: enough to post, to post in
/// public channels the bot has not joined, and to upload files.
pub const DEFAULT_SCOPES: [&str; 3] = ["chat:write", "chat:write.public", "files:write"];

/// A Web API method the fake answers, or the upload URL `files.getUploadURLExternal`
/// hands out ([`Method::Upload`], which is not a method but can be failed and
/// rate-limited the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `chat.postMessage`: post a message or a thread reply.
    PostMessage,
    /// `chat.update`: edit a message.
    Update,
    /// `files.getUploadURLExternal`: step 1 of an upload.
    GetUploadUrl,
    /// `POST /upload/<file id>`: step 2 of an upload, the bytes.
    Upload,
    /// `files.completeUploadExternal`: step 3, share the file.
    CompleteUpload,
    /// `auth.test`: check a token.
    AuthTest,
}

impl Method {
    /// Every method, in the order the docs list them.
    pub const ALL: [Method; 6] = [
        Method::PostMessage,
        Method::Update,
        Method::GetUploadUrl,
        Method::Upload,
        Method::CompleteUpload,
        Method::AuthTest,
    ];

    /// Slack's name, e.g. `chat.postMessage`; `upload` for [`Method::Upload`].
    pub fn as_str(self) -> &'static str {
        match self {
            Method::PostMessage => "chat.postMessage",
            Method::Update => "chat.update",
            Method::GetUploadUrl => "files.getUploadURLExternal",
            Method::Upload => "upload",
            Method::CompleteUpload => "files.completeUploadExternal",
            Method::AuthTest => "auth.test",
        }
    }

    /// The method named `name` exactly as Slack spells it; `None` for any other name.
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The scope a token needs to call this method, if any.
    pub fn scope(self) -> Option<&'static str> {
        match self {
            Method::PostMessage | Method::Update => Some("chat:write"),
            Method::GetUploadUrl | Method::CompleteUpload => Some("files:write"),
            Method::Upload | Method::AuthTest => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What Slack thinks of a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenState {
    /// Valid: calls go through (subject to its scopes).
    #[default]
    Ok,
    /// Answered `token_revoked`.
    Revoked,
    /// Answered `invalid_auth`.
    Invalid,
    /// Answered `account_inactive`.
    Inactive,
}

impl TokenState {
    /// The name the control API uses: `ok`, `revoked`, `invalid` or `inactive`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Ok => "ok",
            TokenState::Revoked => "revoked",
            TokenState::Invalid => "invalid",
            TokenState::Inactive => "inactive",
        }
    }

    /// The state named `name` (see [`TokenState::as_str`]).
    pub fn parse(name: &str) -> Option<TokenState> {
        [
            TokenState::Ok,
            TokenState::Revoked,
            TokenState::Invalid,
            TokenState::Inactive,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// The error Slack answers for a token in this state, or `None` if it is valid.
    pub(crate) fn error(self) -> Option<&'static str> {
        match self {
            TokenState::Ok => None,
            TokenState::Revoked => Some("token_revoked"),
            TokenState::Invalid => Some("invalid_auth"),
            TokenState::Inactive => Some("account_inactive"),
        }
    }
}

/// A token a test declared. Undeclared tokens starting `xoxb-` behave as
/// `Token::default()`; any other undeclared token is `invalid_auth`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub state: TokenState,
    /// The scopes it was granted, e.g. `chat:write`.
    pub scopes: Vec<String>,
}

impl Default for Token {
    /// A valid token with [`DEFAULT_SCOPES`].
    fn default() -> Token {
        Token::with_scopes(&DEFAULT_SCOPES)
    }
}

impl Token {
    /// A valid token with exactly these scopes.
    pub fn with_scopes(scopes: &[&str]) -> Token {
        Token {
            state: TokenState::Ok,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A token in `state` with [`DEFAULT_SCOPES`].
    pub fn in_state(state: TokenState) -> Token {
        Token {
            state,
            ..Token::default()
        }
    }
}

/// A channel a test declares (see [`crate::Receiver::declare_channels`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The name without `#`: lower-case, no spaces, at most 80 characters, as Slack's.
    pub name: String,
    /// True if and only if the bot is a member.
    pub member: bool,
    /// True if and only if the channel is archived: posting answers `is_archived`.
    pub archived: bool,
    /// True if and only if the channel is private: `chat:write.public` does not let a
    /// bot that is not a member post there (`not_in_channel`).
    pub private: bool,
}

impl ChannelSpec {
    /// A public channel the bot is a member of.
    pub fn new(name: &str) -> ChannelSpec {
        ChannelSpec {
            name: name.trim_start_matches('#').to_string(),
            member: true,
            archived: false,
            private: false,
        }
    }
}

/// A rate tier: a bucket of `burst` calls that drains `per_minute` calls a minute.
/// `chat.postMessage` has one bucket per channel, every other method one for the
/// workspace, as Slack's tiers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tier {
    /// Calls drained per minute. Must be finite and > 0.
    pub per_minute: f64,
    /// Calls that fit before a 429. Must be ≥ 1.
    pub burst: u32,
}

impl Tier {
    /// The tier a method starts with. Slack's: `chat.postMessage` about one a second
    /// per channel with a short burst (3 here); `chat.update` Tier 3 (50 a minute); the
    /// files methods and `auth.test` Tier 4 (100 a minute). Bursts of 20 let a test
    /// make a few calls back to back without meeting the limit. The upload URL has no
    /// tier (`None`).
    pub fn default_for(method: Method) -> Option<Tier> {
        let tier = |per_minute, burst| Some(Tier { per_minute, burst });
        match method {
            Method::PostMessage => tier(60.0, 3),
            Method::Update => tier(50.0, 20),
            Method::GetUploadUrl | Method::CompleteUpload | Method::AuthTest => tier(100.0, 20),
            Method::Upload => None,
        }
    }

    /// Returns an error naming the bad field if this tier cannot be enforced.
    pub(crate) fn validate(&self) -> io::Result<()> {
        if !(self.per_minute.is_finite() && self.per_minute > 0.0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "`per_minute` must be a positive number, got {}",
                    self.per_minute
                ),
            ));
        }
        if self.burst == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "`burst` must be at least 1",
            ));
        }
        Ok(())
    }
}

/// A failure forced on one method (see [`crate::Receiver::set_api_failure`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiFailure {
    /// Answer HTTP 200 `{"ok":false,"error":<this>}` (for [`Method::Upload`], 400 with
    /// this text), before the token is even looked at.
    Error(String),
    /// Answer as the whole receiver would in this [`Mode`]: hang, close, any status
    /// (with a JSON body `{"ok":false,"error":...}`) or a 429 with `Retry-After`.
    /// `Mode::Ok` clears the failure; `Mode::FailNext { count, then }` is `then` for
    /// `count` calls.
    Mode(Mode),
}

/// One request to the Web API (or to an upload URL), whatever was answered.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiCall {
    /// The method as named in the path, e.g. `chat.postMessage`, or `upload`.
    pub method: String,
    /// The HTTP status answered, or 0 if none was (a hang or a close).
    pub status: u16,
    /// True if and only if the answer said `"ok": true` (for an upload: 200).
    pub ok: bool,
    /// The `error` answered (`channel_not_found`, `ratelimited`, ...); `(hung)` or
    /// `(closed)` for no answer.
    pub error: Option<String>,
    /// The channel: its id once known, else as the call named it.
    pub channel: Option<String>,
    /// The message's `ts`: the one created, or the one updated.
    pub ts: Option<String>,
    /// The `thread_ts` argument.
    pub thread_ts: Option<String>,
    /// The `Retry-After` answered with a 429.
    pub retry_after: Option<u64>,
    /// Milliseconds from the receiver's start to the call.
    pub at_ms: u64,
    /// The arguments as a JSON object (a form's as strings), without `token`; for an
    /// upload `{"file_id", "bytes"}`; `null` if the body could not be read.
    pub body: Value,
    /// What an error meant in this call when Slack's error string alone does not say,
    /// e.g. which file was not uploaded. The fake's own words: Slack sends nothing
    /// like it.
    pub detail: Option<String>,
}

/// Web API counters since start or the last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApiStats {
    /// Requests to `/api/...` and to upload URLs.
    pub calls: u64,
    /// Answered `"ok": true` (uploads: 200).
    pub ok: u64,
    /// Answered `"ok": false` other than 429 (uploads: 4xx/5xx other than 429).
    pub errors: u64,
    /// Answered 429, by a tier or a forced failure.
    pub rate_limited: u64,
    /// `chat.postMessage` calls answered ok.
    pub posts: u64,
    /// `chat.update` calls answered ok.
    pub updates: u64,
    /// Files shared by `files.completeUploadExternal`.
    pub files_shared: u64,
}

/// One version of a message: as posted, or as an edit left it.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    pub text: String,
    pub blocks: Option<Value>,
    pub attachments: Option<Value>,
    /// Milliseconds from the receiver's start to the post or edit.
    pub at_ms: u64,
}

/// A file as a person sees it in a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileView {
    pub id: String,
    /// The title given to `files.completeUploadExternal`, else the file name.
    pub title: String,
    pub filename: String,
    /// Bytes uploaded.
    pub length: usize,
    pub snippet_type: Option<String>,
    /// The content if it is UTF-8 (and still kept; see [`crate::api::MAX_FILE_BYTES_KEPT`]).
    pub text: Option<String>,
    /// Where it was shared: `pending` (no bytes yet), `uploaded` (not completed),
    /// `private` (completed without a channel) or `shared`.
    pub state: &'static str,
    /// The channel id it was shared in.
    pub channel: Option<String>,
    /// The `ts` of the message that carries it.
    pub ts: Option<String>,
    /// The thread it was shared in.
    pub thread_ts: Option<String>,
}

/// A message as a person sees it: its current content and how it got there.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageView {
    pub ts: String,
    /// The parent's `ts` for a thread reply.
    pub thread_ts: Option<String>,
    /// True if and only if a reply was also sent to the channel.
    pub reply_broadcast: bool,
    pub text: String,
    pub blocks: Option<Value>,
    pub attachments: Option<Value>,
    /// How many times `chat.update` changed it.
    pub edits: u32,
    /// Every version kept, oldest first (the last [`crate::api::MAX_VERSIONS`]): the
    /// last is the current one.
    pub versions: Vec<Version>,
    /// The thread's replies in order (the last [`crate::api::MAX_REPLIES`]); empty for
    /// a reply.
    pub replies: Vec<MessageView>,
    /// Files the message carries (shared by `files.completeUploadExternal`).
    pub files: Vec<FileView>,
    /// `username` and `icon_emoji`, if the post gave them.
    pub username: Option<String>,
    pub icon_emoji: Option<String>,
}

/// A channel as a person sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelView {
    /// Like `C0000000001`.
    pub id: String,
    /// Without `#`.
    pub name: String,
    pub member: bool,
    pub archived: bool,
    pub private: bool,
    /// Top-level messages in order, each with its thread. A broadcast reply is shown
    /// in its thread only (with `reply_broadcast`).
    pub messages: Vec<MessageView>,
    /// Every file shared in the channel or its threads, in order.
    pub files: Vec<FileView>,
}
