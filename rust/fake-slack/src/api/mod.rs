//! Slack's Web API as a bot token sees it: `chat.postMessage`, `chat.update`, the
//! three-step file upload and `auth.test`, under `POST /api/<method>` on the
//! receiver's port.
//!
//! Answers are shaped as Slack's: HTTP 200 with `{"ok":true,...}` or
//! `{"ok":false,"error":"..."}`, and HTTP 429 with `Retry-After` (and
//! `{"ok":false,"error":"ratelimited"}`) when a [`Tier`] is exceeded. Checked, in
//! this order: a failure forced on the method ([`ApiFailure`]); the body (`invalid_json`,
//! `json_not_object`, `invalid_post_type`, ...); the token (`not_authed`,
//! `invalid_auth`, `token_revoked`, `account_inactive`); its scope (`missing_scope`
//! with `needed` and `provided`); the method's tier; then the method's own arguments.
//!
//! What a person would see is kept per channel ([`ChannelView`]): each message's
//! current content, every version, its thread and its files. Every call is logged
//! ([`ApiCall`]). A message that breaks Slack's limits is answered with Slack's error
//! and recorded as a violation, as for webhooks; so are calls made before a
//! `Retry-After` passed and uploads of the wrong length.
//!
//! Like the webhook side, the decision takes the time as a parameter and touches no
//! socket: the workspace is tested without a server.

mod args;
pub(crate) mod control;
mod store;
mod tiers;
mod types;

pub use store::{MAX_CHANNELS, MAX_FILE_BYTES_KEPT, MAX_REPLIES, MAX_UPLOAD_BYTES, MAX_VERSIONS};
pub use types::{
    ApiCall, ApiFailure, ApiStats, ChannelSpec, ChannelView, FileView, MessageView, Method, Tier,
    Token, TokenState, Version, DEFAULT_SCOPES,
};

use crate::limits::{self, ViolationKind};
use crate::options::Mode;
use crate::state::KEEP_LAST;
use args::Args;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use store::{parse_ts, ts_string, Content, NewMessage, Store, UploadError};
use tiers::Tiers;

/// Where the Web API lives.
pub(crate) const API_PREFIX: &str = "/api/";
/// Where the upload URLs point.
pub(crate) const UPLOAD_PREFIX: &str = "/upload/";
/// Bytes an upload's body may carry beyond the file itself: a multipart envelope.
pub(crate) const UPLOAD_ENVELOPE_BYTES: usize = 64 * 1024;

/// The workspace `auth.test` describes; every message is the bot's.
pub const TEAM_ID: &str = "T0000000001";
pub const USER_ID: &str = "U0000000001";
pub const BOT_ID: &str = "B0000000001";
pub const APP_ID: &str = "A0000000001";
const TEAM_NAME: &str = "Fake Slack";
const USER_NAME: &str = "slack_alert";
const TEAM_URL: &str = "https://fake-slack.test/";

/// Tokens declared at most (see [`Workspace::set_token`]).
const MAX_TOKENS: usize = 1000;
/// Retry-After deadlines kept at most before the passed ones are swept.
const MAX_DEADLINES: usize = 4096;

/// When the receiver started, on both clocks: `at_ms` values count from it, and `ts`
/// values are its wall time plus the monotonic time since.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Epoch {
    pub(crate) started: Instant,
    pub(crate) started_wall: SystemTime,
}

impl Epoch {
    pub(crate) fn now() -> Epoch {
        Epoch {
            started: Instant::now(),
            started_wall: SystemTime::now(),
        }
    }

    fn at_ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_millis() as u64
    }

    fn wall_micros(&self, now: Instant) -> u64 {
        let wall = self.started_wall + now.saturating_duration_since(self.started);
        wall.duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_micros() as u64
    }
}

/// One request to `/api/<method>` or to an upload URL, as read off the wire.
pub(crate) struct Call<'a> {
    pub(crate) http_method: &'a str,
    pub(crate) query: &'a str,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// What the connection should do with a call.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Answer {
    /// `application/json; charset=utf-8`.
    Json {
        status: u16,
        body: Value,
        retry_after: Option<u64>,
    },
    /// `text/plain`, as the upload URL answers.
    Text {
        status: u16,
        body: String,
    },
    /// A JSON body with this `Retry-After` header, verbatim.
    Raw {
        status: u16,
        body: String,
        retry_after: String,
    },
    HugeBody {
        status: u16,
        bytes: u64,
    },
    /// Say nothing until the failure forced on the method changes, a reset, or stop.
    Hang {
        generation: u64,
    },
    Close,
}

/// A call's answer and what else came of it.
pub(crate) struct Handled {
    pub(crate) answer: Answer,
    /// Breaches to record, each already saying which call.
    pub(crate) violations: Vec<String>,
    /// A message a person would now see: a heading (`#alerts`, `#alerts (edited)`)
    /// and the message, for `--print`.
    pub(crate) shown: Option<(String, Value)>,
}

/// A failure forced on a method, with the calls it still applies to.
#[derive(Clone, Debug)]
struct Forced {
    failure: ApiFailure,
    left: Option<u32>,
}

/// A Slack error answer: the error and any fields that go with it (`needed`,
/// `provided`, `response_metadata`).
struct Fail {
    error: String,
    extra: Map<String, Value>,
    /// What the error means in this call, for the log only (Slack says nothing more).
    detail: Option<String>,
}

impl Fail {
    fn new(error: &str) -> Fail {
        Fail {
            error: error.to_string(),
            extra: Map::new(),
            detail: None,
        }
    }

    /// `invalid_arguments` with Slack's `response_metadata.messages`.
    fn invalid_arguments(message: &str) -> Fail {
        let mut fail = Fail::new("invalid_arguments");
        fail.extra.insert(
            "response_metadata".to_string(),
            json!({"messages": [format!("[ERROR] {message}")]}),
        );
        fail.detail = Some(message.to_string());
        fail
    }
}

/// What one call leaves in the log and elsewhere, filled in as it is decided.
#[derive(Default)]
struct Trace {
    channel: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
    violations: Vec<String>,
    shown: Option<(String, Value)>,
    detail: Option<String>,
}

pub(crate) struct Workspace {
    epoch: Epoch,
    /// `http://127.0.0.1:PORT/upload/`.
    upload_base: String,
    tokens: HashMap<String, Token>,
    auto_create: bool,
    store: Store,
    tiers: Tiers,
    forced: BTreeMap<Method, Forced>,
    calls: VecDeque<ApiCall>,
    stats: ApiStats,
    /// Set by every 429 with `Retry-After`, by method and tier key (`*` for a forced
    /// 429): a call before it ignored the wait.
    retry_not_before: HashMap<(Method, String), Instant>,
    /// Bumped by every change of a forced failure and by reset, so a hung call knows
    /// when to let go.
    pub(crate) generation: u64,
}

impl Workspace {
    pub(crate) fn new(epoch: Epoch, addr: SocketAddr) -> Workspace {
        Workspace {
            epoch,
            upload_base: format!("http://{addr}{UPLOAD_PREFIX}"),
            tokens: HashMap::new(),
            auto_create: true,
            store: Store::default(),
            tiers: Tiers::default(),
            forced: BTreeMap::new(),
            calls: VecDeque::new(),
            stats: ApiStats::default(),
            retry_not_before: HashMap::new(),
            generation: 0,
        }
    }

    /// Forgets everything as if just started, releasing hung calls.
    pub(crate) fn reset(&mut self) {
        let generation = self.generation + 1;
        *self = Workspace {
            upload_base: std::mem::take(&mut self.upload_base),
            ..Workspace::new(self.epoch, SocketAddr::from(([127, 0, 0, 1], 0)))
        };
        self.generation = generation;
    }

    /// Answers a call to `/api/<name>` read at `now`, and logs it.
    pub(crate) fn call(&mut self, name: &str, call: &Call, now: Instant) -> Handled {
        let args = args::parse(call.http_method, call.content_type, call.query, call.body);
        let logged = args.as_ref().map_or(Value::Null, Args::logged);
        let mut trace = Trace::default();
        let method = Method::parse(name).filter(|m| *m != Method::Upload);
        if let Ok(args) = &args {
            trace.channel = args
                .str("channel")
                .or(args.str("channel_id"))
                .map(str::to_string);
            trace.thread_ts = args.str("thread_ts").map(str::to_string);
            if method == Some(Method::Update) {
                trace.ts = args.str("ts").map(str::to_string);
            }
        }
        self.stats.calls += 1;
        let answer = match method {
            None => {
                let mut fail = Fail::new("unknown_method");
                fail.extra.insert("req_method".to_string(), json!(name));
                json_answer(Err(fail), false)
            }
            Some(method) => match self.forced_answer(method, now) {
                Some(answer) => answer,
                None => match args {
                    Err(error) => json_answer(Err(Fail::new(error)), false),
                    Ok(args) => {
                        let result = self.decide(method, call, &args, now, &mut trace);
                        if let Err(fail) = &result {
                            trace.detail = fail.detail.clone();
                        }
                        json_answer(result, args.missing_charset)
                    }
                },
            },
        };
        self.log(name, answer, logged, trace, now)
    }

    /// Answers bytes sent to the upload URL of `file_id`.
    pub(crate) fn upload(&mut self, file_id: &str, call: &Call, now: Instant) -> Handled {
        self.stats.calls += 1;
        let mut trace = Trace::default();
        let data = upload_data(call);
        let logged = json!({"file_id": file_id, "bytes": data.as_ref().map_or(0, Vec::len)});
        let answer = match self.forced_answer(Method::Upload, now) {
            Some(answer) => answer,
            None => self.receive_upload(file_id, call, data, now, &mut trace),
        };
        self.log(Method::Upload.as_str(), answer, logged, trace, now)
    }

    fn receive_upload(
        &mut self,
        file_id: &str,
        call: &Call,
        data: Result<Vec<u8>, &'static str>,
        now: Instant,
        trace: &mut Trace,
    ) -> Answer {
        let text = |status: u16, body: &str| Answer::Text {
            status,
            body: body.to_string(),
        };
        if call.http_method != "POST" {
            return text(405, "method_not_allowed");
        }
        if let Err(secs) = self.admit(Method::Upload, "", now, trace) {
            return Answer::Text {
                status: 429,
                body: format!("ratelimited: retry after {secs} s"),
            };
        }
        let data = match data {
            Ok(data) => data,
            Err(error) => {
                self.violate(
                    trace,
                    Method::Upload,
                    format!("{error}: the upload body is not a file"),
                );
                return text(400, error);
            }
        };
        let length = data.len();
        match self.store.upload(file_id, data) {
            Ok(()) => text(200, &format!("OK - {length}")),
            Err(error) => {
                let (status, answer, what) = match error {
                    UploadError::NotFound => (
                        404,
                        "file_not_found",
                        format!("no upload is waiting for file {file_id}"),
                    ),
                    UploadError::AlreadyUploaded => (
                        400,
                        "already_uploaded",
                        format!("file {file_id} was uploaded already"),
                    ),
                    UploadError::LengthMismatch { announced, got } => (
                        400,
                        "length_mismatch",
                        format!(
                            "file {file_id} was announced as {announced} bytes, {got} were sent"
                        ),
                    ),
                };
                self.violate(trace, Method::Upload, format!("{answer}: {what}"));
                trace.detail = Some(what);
                text(status, answer)
            }
        }
    }

    /// The answer a failure forced on `method` gives, counting it down.
    fn forced_answer(&mut self, method: Method, now: Instant) -> Option<Answer> {
        let forced = self.forced.get_mut(&method)?;
        let failure = forced.failure.clone();
        if let Some(left) = &mut forced.left {
            *left = left.saturating_sub(1);
            if *left == 0 {
                self.forced.remove(&method);
            }
        }
        let upload = method == Method::Upload;
        let answer = match failure {
            ApiFailure::Error(error) if upload => Answer::Text {
                status: 400,
                body: error,
            },
            ApiFailure::Error(error) => json_answer(Err(Fail::new(&error)), false),
            ApiFailure::Mode(mode) => match mode {
                Mode::Status {
                    status,
                    error,
                    retry_after,
                } => {
                    if let (429, Some(secs)) = (status, retry_after) {
                        self.retry_not_before
                            .insert((method, "*".to_string()), now + Duration::from_secs(secs));
                    }
                    if upload {
                        Answer::Text {
                            status,
                            body: error,
                        }
                    } else {
                        Answer::Json {
                            status,
                            body: json!({"ok": false, "error": error}),
                            retry_after,
                        }
                    }
                }
                Mode::RawRetryAfter {
                    status,
                    error,
                    retry_after,
                } => Answer::Raw {
                    status,
                    body: json!({"ok": false, "error": error}).to_string(),
                    retry_after,
                },
                Mode::HugeBody { status, bytes } => Answer::HugeBody { status, bytes },
                Mode::Hang => Answer::Hang {
                    generation: self.generation,
                },
                Mode::CloseImmediately => Answer::Close,
                Mode::Ok | Mode::FailNext { .. } => return None,
            },
        };
        Some(answer)
    }

    /// Token, scope, tier, then the method itself.
    fn decide(
        &mut self,
        method: Method,
        call: &Call,
        args: &Args,
        now: Instant,
        trace: &mut Trace,
    ) -> Result<Map<String, Value>, Fail> {
        let token = self.authenticate(call, args)?;
        if let Some(needed) = method.scope() {
            if !token.scopes.iter().any(|s| s == needed) {
                let mut fail = Fail::new("missing_scope");
                fail.extra.insert("needed".to_string(), json!(needed));
                fail.extra
                    .insert("provided".to_string(), json!(token.scopes.join(",")));
                return Err(fail);
            }
        }
        let key = match method {
            // Resolved (and created) first, so that a channel named by name and by
            // id shares one bucket.
            Method::PostMessage => {
                let channel = args.str("channel").unwrap_or("");
                let id = match self.auto_create {
                    true => self.store.find_or_create(channel),
                    false => self.store.find(channel),
                };
                id.unwrap_or_else(|| channel.strip_prefix('#').unwrap_or(channel).to_string())
            }
            _ => String::new(),
        };
        if let Err(secs) = self.admit(method, &key, now, trace) {
            let mut fail = Fail::new("ratelimited");
            fail.extra.insert("retry_after".to_string(), json!(secs));
            return Err(fail);
        }
        match method {
            Method::PostMessage => self.post_message(args, &token, now, trace),
            Method::Update => self.update(args, now, trace),
            Method::GetUploadUrl => self.get_upload_url(args),
            Method::CompleteUpload => self.complete_upload(args, now, trace),
            Method::AuthTest => Ok(auth_test()),
            Method::Upload => Err(Fail::new("unknown_method")),
        }
    }

    /// The token of the call: the `Authorization: Bearer` header, or a `token`
    /// argument as Slack also accepts.
    fn authenticate(&self, call: &Call, args: &Args) -> Result<Token, Fail> {
        let token = match call.authorization {
            Some(header) => match header.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
                _ => return Err(Fail::new("invalid_auth")),
            },
            None => args.str("token").unwrap_or(""),
        };
        if token.is_empty() {
            return Err(Fail::new("not_authed"));
        }
        let known = match self.tokens.get(token) {
            Some(known) => known.clone(),
            None if token.starts_with("xoxb-") => Token::default(),
            None => return Err(Fail::new("invalid_auth")),
        };
        match known.state.error() {
            Some(error) => Err(Fail::new(error)),
            None => Ok(known),
        }
    }

    /// Admits a call to the tier of `method` for `key`, noting a call that came before
    /// a `Retry-After` it was given had passed; `Err` is the new `Retry-After`.
    fn admit(
        &mut self,
        method: Method,
        key: &str,
        now: Instant,
        trace: &mut Trace,
    ) -> Result<(), u64> {
        for k in [key, "*"] {
            if let Some(not_before) = self.retry_not_before.get(&(method, k.to_string())) {
                if now < *not_before {
                    let early = not_before.duration_since(now).as_millis();
                    let whose = if k.is_empty() || k == "*" {
                        String::new()
                    } else {
                        format!(" for {k}")
                    };
                    let what = format!(
                        "ignored Retry-After{whose}: called {early} ms before the wait it was given had passed"
                    );
                    self.violate(trace, method, what);
                    break;
                }
            }
        }
        let admitted = self.tiers.admit(method, key, now);
        if let Err(secs) = admitted {
            if self.retry_not_before.len() >= MAX_DEADLINES {
                self.retry_not_before.retain(|_, t| *t > now);
            }
            self.retry_not_before
                .insert((method, key.to_string()), now + Duration::from_secs(secs));
        }
        admitted
    }

    fn violate(&self, trace: &mut Trace, method: Method, what: String) {
        trace
            .violations
            .push(format!("api call {} {method}: {what}", self.stats.calls));
    }

    /// Checks a message's `text`, `blocks` and `attachments` as given, recording every
    /// breach; `Err` is Slack's answer to the worst one.
    fn content(
        &self,
        method: Method,
        args: &Args,
        trace: &mut Trace,
    ) -> (Result<(), Fail>, PartialContent) {
        let mut given = PartialContent::default();
        let mut payload = Map::new();
        if let Some(text) = args.fields.get("text").filter(|t| !t.is_null()) {
            payload.insert("text".to_string(), text.clone());
            given.text = Some(text.as_str().unwrap_or("").to_string());
        }
        let mut format_error = None;
        for (key, error) in [
            ("blocks", "invalid_blocks_format"),
            ("attachments", "invalid_attachments"),
        ] {
            match args.json(key) {
                Ok(Some(value)) => {
                    payload.insert(key.to_string(), value.clone());
                    let value = Some(value).filter(|v| v.as_array().is_none_or(|a| !a.is_empty()));
                    if key == "blocks" {
                        given.blocks = Some(value);
                    } else {
                        given.attachments = Some(value);
                    }
                }
                Ok(None) => {}
                Err(()) => {
                    self.violate(trace, method, format!("{error}: `{key}` is not JSON"));
                    format_error.get_or_insert(error);
                }
            }
        }
        let breaches = limits::check_all(&Value::Object(payload));
        for breach in &breaches {
            self.violate(trace, method, breach.to_string());
        }
        let result = match (format_error, limits::worst(&breaches)) {
            (Some(error), _) => Err(Fail::new(error)),
            (None, Some(breach)) if breach.kind == ViolationKind::InvalidPayload => {
                Err(Fail::invalid_arguments(&breach.to_string()))
            }
            (None, Some(breach)) => Err(Fail::new(breach.slack_error())),
            (None, None) => Ok(()),
        };
        (result, given)
    }

    /// The channel `name` for posting into: found (or created), and the bot allowed in.
    fn postable_channel(
        &mut self,
        channel: &str,
        by_name: bool,
        public_scope: bool,
    ) -> Result<String, Fail> {
        let id = if !by_name && !store::is_channel_id(channel) {
            None
        } else if by_name && self.auto_create {
            self.store.find_or_create(channel)
        } else {
            self.store.find(channel)
        };
        let Some(id) = id else {
            return Err(Fail::new("channel_not_found"));
        };
        let (member, archived, private) = self.store.flags(&id).unwrap_or_default();
        if archived {
            return Err(Fail::new("is_archived"));
        }
        if !member && (private || !public_scope) {
            return Err(Fail::new("not_in_channel"));
        }
        Ok(id)
    }

    /// The parent of a thread reply: `thread_ts` must be a top-level message of `id`.
    fn thread(&self, id: &str, thread_ts: Option<&str>) -> Result<Option<u64>, Fail> {
        match thread_ts.filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => match parse_ts(text) {
                Some(ts) if self.store.is_top_level(id, ts) => Ok(Some(ts)),
                _ => Err(Fail::new("thread_not_found")),
            },
        }
    }

    fn post_message(
        &mut self,
        args: &Args,
        token: &Token,
        now: Instant,
        trace: &mut Trace,
    ) -> Result<Map<String, Value>, Fail> {
        let (checked, given) = self.content(Method::PostMessage, args, trace);
        let channel = args.str("channel").unwrap_or("");
        let public_scope = token.scopes.iter().any(|s| s == "chat:write.public");
        let id = self.postable_channel(channel, true, public_scope)?;
        trace.channel = Some(id.clone());
        let thread_ts = self.thread(&id, args.str("thread_ts"))?;
        checked?;
        let content = given.over(&Content::default());
        let ts = self.store.next_ts(self.epoch.wall_micros(now));
        let new = NewMessage {
            channel: id.clone(),
            thread_ts,
            reply_broadcast: thread_ts.is_some() && args.flag("reply_broadcast"),
            content,
            files: Vec::new(),
            username: args.str("username").map(str::to_string),
            icon_emoji: args.str("icon_emoji").map(str::to_string),
        };
        self.store.post(ts, new, self.epoch.at_ms(now));
        self.stats.posts += 1;
        trace.ts = Some(ts_string(ts));
        let message = self.slack_message(&id, ts);
        let heading = match thread_ts {
            Some(parent) => format!(
                "{} (reply in thread {})",
                self.heading(&id),
                ts_string(parent)
            ),
            None => self.heading(&id),
        };
        trace.shown = Some((heading, shown(&message)));
        Ok(fields(
            json!({"channel": id, "ts": ts_string(ts), "message": message}),
        ))
    }

    fn update(
        &mut self,
        args: &Args,
        now: Instant,
        trace: &mut Trace,
    ) -> Result<Map<String, Value>, Fail> {
        let (checked, given) = self.content(Method::Update, args, trace);
        let channel = args.str("channel").unwrap_or("");
        let id = if store::is_channel_id(channel) {
            self.store.find(channel)
        } else {
            None
        }
        .ok_or_else(|| Fail::new("channel_not_found"))?;
        trace.channel = Some(id.clone());
        let ts = args
            .str("ts")
            .and_then(parse_ts)
            .filter(|ts| self.store.content(&id, *ts).is_some())
            .ok_or_else(|| Fail::new("message_not_found"))?;
        if self
            .store
            .flags(&id)
            .is_some_and(|(_, archived, _)| archived)
        {
            return Err(Fail::new("is_archived"));
        }
        checked?;
        let previous = self.store.content(&id, ts).cloned().unwrap_or_default();
        let content = given.over(&previous);
        let text = content.text.clone();
        self.store.edit(&id, ts, content, self.epoch.at_ms(now));
        let edited_ts = self.store.next_ts(self.epoch.wall_micros(now));
        self.stats.updates += 1;
        let mut message = self.slack_message(&id, ts);
        if let Value::Object(fields) = &mut message {
            fields.insert(
                "edited".to_string(),
                json!({"user": USER_ID, "ts": ts_string(edited_ts)}),
            );
        }
        trace.shown = Some((
            format!("{} (edited {})", self.heading(&id), ts_string(ts)),
            shown(&message),
        ));
        Ok(fields(json!({
            "channel": id, "ts": ts_string(ts), "text": text, "message": message
        })))
    }

    fn get_upload_url(&mut self, args: &Args) -> Result<Map<String, Value>, Fail> {
        let filename = args
            .str("filename")
            .filter(|f| !f.is_empty())
            .ok_or_else(|| Fail::invalid_arguments("missing required field: filename"))?;
        let length = args
            .whole("length")
            .ok_or_else(|| Fail::invalid_arguments("missing required field: length"))?;
        if length == 0 || length > MAX_UPLOAD_BYTES as u64 {
            return Err(Fail::invalid_arguments(&format!(
                "`length` must be 1 to {MAX_UPLOAD_BYTES} bytes (the fake's cap), got {length}"
            )));
        }
        let snippet_type = args.str("snippet_type").filter(|s| !s.is_empty());
        let id = self.store.new_file(filename, length as usize, snippet_type);
        Ok(fields(json!({
            "upload_url": format!("{}{id}", self.upload_base),
            "file_id": id,
        })))
    }

    fn complete_upload(
        &mut self,
        args: &Args,
        now: Instant,
        trace: &mut Trace,
    ) -> Result<Map<String, Value>, Fail> {
        let files = args
            .json("files")
            .ok()
            .flatten()
            .and_then(|f| f.as_array().cloned())
            .filter(|f| !f.is_empty())
            .ok_or_else(|| {
                Fail::invalid_arguments("`files` must be a JSON array like [{\"id\":\"F…\"}]")
            })?;
        let mut wanted = Vec::new();
        for file in &files {
            let id = file.get("id").and_then(Value::as_str).ok_or_else(|| {
                Fail::invalid_arguments("every entry of `files` needs a string `id`")
            })?;
            let title = file
                .get("title")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty());
            wanted.push((id.to_string(), title.map(str::to_string)));
        }
        let channel = args.str("channel_id").filter(|c| !c.is_empty());
        let thread_text = args.str("thread_ts").filter(|t| !t.is_empty());
        let place = match channel {
            Some(channel) => {
                let id = self.postable_channel(channel, false, false)?;
                trace.channel = Some(id.clone());
                let thread_ts = self.thread(&id, thread_text)?;
                Some((id, thread_ts))
            }
            None if thread_text.is_some() => {
                return Err(Fail::invalid_arguments("`thread_ts` needs a `channel_id`"))
            }
            None => None,
        };
        let ids: Vec<&str> = wanted.iter().map(|(id, _)| id.as_str()).collect();
        if let Some(id) = self.store.first_incomplete(&ids) {
            let mut fail = Fail::new("file_not_found");
            fail.detail = Some(format!(
                "file {id} is unknown, has no bytes uploaded, or was completed already"
            ));
            return Err(fail);
        }
        let shared = match &place {
            Some((channel, thread_ts)) => {
                let initial_comment = args.str("initial_comment").unwrap_or("").to_string();
                let blocks = match initial_comment.is_empty() {
                    true => args.json("blocks").ok().flatten(),
                    false => None,
                };
                let ts = self.store.next_ts(self.epoch.wall_micros(now));
                let new = NewMessage {
                    channel: channel.clone(),
                    thread_ts: *thread_ts,
                    reply_broadcast: false,
                    content: Content {
                        text: initial_comment,
                        blocks,
                        attachments: None,
                    },
                    files: ids.iter().map(|id| id.to_string()).collect(),
                    username: None,
                    icon_emoji: None,
                };
                self.store.post(ts, new, self.epoch.at_ms(now));
                trace.ts = Some(ts_string(ts));
                Some((channel.as_str(), ts, *thread_ts))
            }
            None => None,
        };
        let mut answered = Vec::new();
        for (id, title) in &wanted {
            let title = self.store.complete(id, title.as_deref(), shared);
            answered.push(json!({"id": id, "title": title}));
        }
        if let Some((channel, ts, _)) = shared {
            self.stats.files_shared += wanted.len() as u64;
            let names: Vec<String> = answered
                .iter()
                .filter_map(|f| f["title"].as_str().map(str::to_string))
                .collect();
            let message = self
                .store
                .message_view(channel, ts)
                .map(|m| json!({"text": m.text, "blocks": m.blocks}))
                .unwrap_or(Value::Null);
            trace.shown = Some((
                format!("{} (file {})", self.heading(channel), names.join(", ")),
                message,
            ));
        }
        Ok(fields(json!({"files": answered})))
    }

    /// `#name` of channel `id`.
    fn heading(&self, id: &str) -> String {
        format!("#{}", self.store.name_of(id).unwrap_or(id))
    }

    /// Message `ts` of channel `id` in the shape Slack's answers carry it.
    fn slack_message(&self, id: &str, ts: u64) -> Value {
        let Some(view) = self.store.message_view(id, ts) else {
            return Value::Null;
        };
        let mut message = json!({
            "type": "message",
            "text": view.text,
            "user": USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": view.ts,
        });
        let fields = message.as_object_mut().expect("an object");
        if let Some(blocks) = view.blocks {
            fields.insert("blocks".to_string(), blocks);
        }
        if let Some(attachments) = view.attachments {
            fields.insert("attachments".to_string(), attachments);
        }
        if let Some(thread_ts) = view.thread_ts {
            fields.insert("thread_ts".to_string(), json!(thread_ts));
            fields.insert("parent_user_id".to_string(), json!(USER_ID));
        }
        if let Some(username) = view.username {
            fields.insert("username".to_string(), json!(username));
        }
        if let Some(icon_emoji) = view.icon_emoji {
            fields.insert("icons".to_string(), json!({"emoji": icon_emoji}));
        }
        message
    }

    /// Records one call; the returned violations name it.
    fn log(
        &mut self,
        method: &str,
        answer: Answer,
        body: Value,
        trace: Trace,
        now: Instant,
    ) -> Handled {
        let (status, ok, error, retry_after) = match &answer {
            Answer::Json {
                status,
                body,
                retry_after,
            } => (
                *status,
                body["ok"] == true,
                body["error"].as_str().map(str::to_string),
                *retry_after,
            ),
            Answer::Text { status, body } => (
                *status,
                *status == 200,
                (*status != 200).then(|| body.clone()),
                None,
            ),
            Answer::Raw { status, body, .. } => {
                let error = serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|b| b["error"].as_str().map(str::to_string));
                (*status, false, error, None)
            }
            Answer::HugeBody { status, bytes } => {
                (*status, false, Some(format!("({bytes} bytes)")), None)
            }
            Answer::Hang { .. } => (0, false, Some("(hung)".to_string()), None),
            Answer::Close => (0, false, Some("(closed)".to_string()), None),
        };
        if ok {
            self.stats.ok += 1;
        } else if status == 429 {
            self.stats.rate_limited += 1;
        } else if status != 0 {
            self.stats.errors += 1;
        }
        let call = ApiCall {
            method: method.to_string(),
            status,
            ok,
            error,
            channel: trace.channel,
            ts: trace.ts,
            thread_ts: trace.thread_ts,
            retry_after,
            at_ms: self.epoch.at_ms(now),
            body,
            detail: trace.detail,
        };
        if self.calls.len() == KEEP_LAST {
            self.calls.pop_front();
        }
        self.calls.push_back(call);
        Handled {
            answer,
            violations: trace.violations,
            shown: trace.shown,
        }
    }

    pub(crate) fn calls(&self) -> Vec<ApiCall> {
        self.calls.iter().cloned().collect()
    }

    pub(crate) fn calls_made(&self) -> u64 {
        self.stats.calls
    }

    pub(crate) fn stats(&self) -> ApiStats {
        self.stats
    }

    pub(crate) fn channels(&self) -> Vec<ChannelView> {
        self.store.channels()
    }

    pub(crate) fn channel(&self, channel: &str) -> Option<ChannelView> {
        self.store.channel(channel)
    }

    pub(crate) fn files(&self) -> Vec<FileView> {
        self.store.files()
    }

    /// Creates or changes these channels; returns their ids, or what is wrong with
    /// the first bad one (then none is changed).
    pub(crate) fn declare_channels(
        &mut self,
        specs: &[ChannelSpec],
    ) -> Result<Vec<String>, String> {
        for spec in specs {
            store::check_name(spec.name.strip_prefix('#').unwrap_or(&spec.name))?;
        }
        let new = specs
            .iter()
            .filter(|s| self.store.find(&s.name).is_none())
            .count();
        if self.store.channel_count() + new > MAX_CHANNELS {
            return Err(format!(
                "the workspace holds {MAX_CHANNELS} channels at most"
            ));
        }
        specs.iter().map(|s| self.store.declare(s)).collect()
    }

    pub(crate) fn set_auto_create(&mut self, on: bool) {
        self.auto_create = on;
    }

    pub(crate) fn auto_create(&self) -> bool {
        self.auto_create
    }

    /// Declares a token. Tests declare a handful; a new one past [`MAX_TOKENS`]
    /// clears the table first, so that it stays bounded.
    pub(crate) fn set_token(&mut self, token: &str, state: Token) {
        if self.tokens.len() >= MAX_TOKENS && !self.tokens.contains_key(token) {
            self.tokens.clear();
        }
        self.tokens.insert(token.to_string(), state);
    }

    pub(crate) fn tokens(&self) -> Vec<(String, Token)> {
        let mut tokens: Vec<_> = self
            .tokens
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tokens.sort_by(|a, b| a.0.cmp(&b.0));
        tokens
    }

    pub(crate) fn set_tier(&mut self, method: Method, tier: Option<Tier>) {
        self.tiers.set(method, tier);
        self.retry_not_before.retain(|(m, _), _| *m != method);
    }

    pub(crate) fn tiers(&self) -> Vec<(Method, Option<Tier>)> {
        self.tiers.all()
    }

    /// Forces `failure` on the next `count` calls of `method` (all of them if
    /// `None`); `Mode::Ok` clears it. Releases calls hung by the previous failure.
    pub(crate) fn set_failure(&mut self, method: Method, failure: ApiFailure, count: Option<u32>) {
        self.generation += 1;
        let (failure, count) = match failure {
            ApiFailure::Mode(Mode::Ok) => return self.clear_failures(Some(method)),
            ApiFailure::Mode(Mode::FailNext { count: n, then }) => {
                (ApiFailure::Mode(*then), Some(count.map_or(n, |c| c.min(n))))
            }
            other => (other, count),
        };
        if count == Some(0) {
            self.forced.remove(&method);
            return;
        }
        self.forced.insert(
            method,
            Forced {
                failure,
                left: count,
            },
        );
    }

    /// Clears the failure forced on `method`, or on every method.
    pub(crate) fn clear_failures(&mut self, method: Option<Method>) {
        self.generation += 1;
        match method {
            Some(method) => {
                self.forced.remove(&method);
            }
            None => self.forced.clear(),
        }
    }

    /// Every forced failure with the calls it still applies to.
    pub(crate) fn failures(&self) -> Vec<(Method, ApiFailure, Option<u32>)> {
        self.forced
            .iter()
            .map(|(m, f)| (*m, f.failure.clone(), f.left))
            .collect()
    }

    /// Forgets message `ts` of `channel` (a name or an id); false if there is none.
    pub(crate) fn delete_message(&mut self, channel: &str, ts: &str) -> bool {
        match (self.store.find(channel), parse_ts(ts)) {
            (Some(id), Some(ts)) => self.store.delete(&id, ts),
            _ => false,
        }
    }
}

/// The parts of a message a call gave: `None` is not given (an update keeps the old
/// one); `Some(None)` is given empty.
#[derive(Default)]
struct PartialContent {
    text: Option<String>,
    blocks: Option<Option<Value>>,
    attachments: Option<Option<Value>>,
}

impl PartialContent {
    fn over(self, previous: &Content) -> Content {
        Content {
            text: self.text.unwrap_or_else(|| previous.text.clone()),
            blocks: self.blocks.unwrap_or_else(|| previous.blocks.clone()),
            attachments: self
                .attachments
                .unwrap_or_else(|| previous.attachments.clone()),
        }
    }
}

/// The bytes of an upload: the body, or the file part of a multipart body.
fn upload_data(call: &Call) -> Result<Vec<u8>, &'static str> {
    let (media, params) = args::split_media_type(call.content_type.unwrap_or(""));
    if media != "multipart/form-data" {
        return Ok(call.body.to_vec());
    }
    let parts = args::multipart(&params, call.body).ok_or("invalid_form_data")?;
    let mut files = parts.iter().filter(|p| p.filename.is_some());
    match (files.next(), files.next(), parts.len()) {
        (Some(file), None, _) => Ok(file.data.clone()),
        (None, None, 1) => Ok(parts[0].data.clone()),
        _ => Err("invalid_form_data"),
    }
}

fn auth_test() -> Map<String, Value> {
    fields(json!({
        "url": TEAM_URL,
        "team": TEAM_NAME,
        "user": USER_NAME,
        "team_id": TEAM_ID,
        "user_id": USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": false,
    }))
}

/// What `--print` shows of a message.
fn shown(message: &Value) -> Value {
    let mut shown = Map::new();
    for key in ["text", "blocks", "attachments"] {
        if let Some(value) = message.get(key) {
            shown.insert(key.to_string(), value.clone());
        }
    }
    Value::Object(shown)
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(fields) => fields,
        _ => Map::new(),
    }
}

/// Slack's JSON answer: 200 with `ok`, or 429 for `ratelimited`; with the warning
/// Slack adds for JSON sent without a charset.
fn json_answer(result: Result<Map<String, Value>, Fail>, missing_charset: bool) -> Answer {
    let mut body = Map::new();
    let (status, retry_after) = match result {
        Ok(fields) => {
            body.insert("ok".to_string(), json!(true));
            body.extend(fields);
            (200, None)
        }
        Err(mut fail) => {
            let retry_after = fail.extra.remove("retry_after").and_then(|s| s.as_u64());
            body.insert("ok".to_string(), json!(false));
            body.insert("error".to_string(), json!(fail.error));
            body.extend(fail.extra);
            (if retry_after.is_some() { 429 } else { 200 }, retry_after)
        }
    };
    if missing_charset {
        body.insert("warning".to_string(), json!("missing_charset"));
        let metadata = body.entry("response_metadata").or_insert_with(|| json!({}));
        if let Value::Object(metadata) = metadata {
            metadata.insert("warnings".to_string(), json!(["missing_charset"]));
        }
    }
    Answer::Json {
        status,
        body: Value::Object(body),
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = "application/json; charset=utf-8";

    fn workspace() -> Workspace {
        Workspace::new(Epoch::now(), SocketAddr::from(([127, 0, 0, 1], 9)))
    }

    /// Calls `method` with `body` as bot token `xoxb-test` at `now`.
    fn call(ws: &mut Workspace, method: &str, body: Value, now: Instant) -> (u16, Value) {
        call_as(ws, Some("Bearer xoxb-test"), method, body, now)
    }

    fn call_as(
        ws: &mut Workspace,
        authorization: Option<&str>,
        method: &str,
        body: Value,
        now: Instant,
    ) -> (u16, Value) {
        let body = body.to_string();
        let request = Call {
            http_method: "POST",
            query: "",
            content_type: Some(JSON),
            authorization,
            body: body.as_bytes(),
        };
        match ws.call(method, &request, now).answer {
            Answer::Json { status, body, .. } => (status, body),
            other => panic!("not a JSON answer: {other:?}"),
        }
    }

    fn error(answer: (u16, Value)) -> String {
        assert_eq!(answer.1["ok"], false, "{answer:?}");
        answer.1["error"].as_str().unwrap().to_string()
    }

    fn post(ws: &mut Workspace, channel: &str, text: &str, now: Instant) -> (u16, Value) {
        call(
            ws,
            "chat.postMessage",
            json!({"channel": channel, "text": text}),
            now,
        )
    }

    fn upload(
        ws: &mut Workspace,
        file_id: &str,
        content_type: Option<&str>,
        data: &[u8],
    ) -> Answer {
        let request = Call {
            http_method: "POST",
            query: "",
            content_type,
            authorization: None,
            body: data,
        };
        ws.upload(file_id, &request, Instant::now()).answer
    }

    #[test]
    fn post_message_answers_as_slack_and_the_channel_shows_it() {
        let mut ws = workspace();
        let t0 = Instant::now();
        let (status, first) = post(&mut ws, "#alerts", "disk full", t0);
        assert_eq!(status, 200);
        assert_eq!(first["ok"], true);
        assert_eq!(first["channel"], "C0000000001");
        let ts = first["ts"].as_str().unwrap();
        assert!(parse_ts(ts).is_some(), "{ts}");
        assert_eq!(first["message"]["text"], "disk full");
        assert_eq!(first["message"]["ts"], ts);
        assert_eq!(first["message"]["bot_id"], BOT_ID);
        assert_eq!(first["message"]["type"], "message");
        let (_, second) = post(&mut ws, "alerts", "again", t0);
        assert_eq!(second["channel"], "C0000000001");
        assert!(parse_ts(second["ts"].as_str().unwrap()) > parse_ts(ts));
        let (_, by_id) = post(&mut ws, "C0000000001", "by id", t0);
        assert_eq!(by_id["ok"], true);
        let channel = ws.channel("#alerts").unwrap();
        let texts: Vec<_> = channel.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["disk full", "again", "by id"]);
        assert_eq!(channel.messages[0].ts, ts);
        assert_eq!(ws.stats().posts, 3);
        assert!(ws
            .calls()
            .iter()
            .all(|c| c.ok && c.channel.as_deref() == Some("C0000000001")));
    }

    #[test]
    fn tokens_are_checked_before_anything_else() {
        let mut ws = workspace();
        let t0 = Instant::now();
        let body = || json!({"channel": "a", "text": "x"});
        assert_eq!(
            error(call_as(&mut ws, None, "chat.postMessage", body(), t0)),
            "not_authed"
        );
        assert_eq!(
            error(call_as(
                &mut ws,
                Some("Bearer "),
                "chat.postMessage",
                body(),
                t0
            )),
            "not_authed"
        );
        assert_eq!(
            error(call_as(
                &mut ws,
                Some("Bearer xoxp-1"),
                "chat.postMessage",
                body(),
                t0
            )),
            "invalid_auth"
        );
        assert_eq!(
            error(call_as(
                &mut ws,
                Some("Basic eG94Yg=="),
                "chat.postMessage",
                body(),
                t0
            )),
            "invalid_auth"
        );
        for (state, expected) in [
            (TokenState::Revoked, "token_revoked"),
            (TokenState::Invalid, "invalid_auth"),
            (TokenState::Inactive, "account_inactive"),
        ] {
            ws.set_token("xoxb-test", Token::in_state(state));
            assert_eq!(error(call(&mut ws, "auth.test", json!({}), t0)), expected);
        }
        ws.set_token("xoxp-user", Token::default());
        let (_, ok) = call_as(
            &mut ws,
            Some("bearer xoxp-user"),
            "auth.test",
            json!({}),
            t0,
        );
        assert_eq!(
            ok,
            json!({"ok": true, "url": "https://fake-slack.test/", "team": "Fake Slack",
                   "user": "slack_alert", "team_id": TEAM_ID, "user_id": USER_ID,
                   "bot_id": BOT_ID, "is_enterprise_install": false})
        );
        let form = Call {
            http_method: "POST",
            query: "",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: None,
            body: b"token=xoxb-form",
        };
        let Answer::Json { body, .. } = ws.call("auth.test", &form, t0).answer else {
            panic!()
        };
        assert_eq!(body["ok"], true, "a token argument is accepted: {body}");
        assert!(
            !ws.calls()[0].body.to_string().contains("xoxb"),
            "tokens are not logged"
        );
        assert!(ws.stats().errors >= 5);
    }

    #[test]
    fn missing_scope_names_needed_and_provided() {
        let mut ws = workspace();
        ws.set_token(
            "xoxb-test",
            Token::with_scopes(&["files:write", "chat:write.public"]),
        );
        let (status, answer) = post(&mut ws, "a", "x", Instant::now());
        assert_eq!(
            (status, answer),
            (
                200,
                json!({"ok": false, "error": "missing_scope", "needed": "chat:write",
                         "provided": "files:write,chat:write.public"})
            )
        );
        ws.set_token("xoxb-test", Token::with_scopes(&["chat:write"]));
        let answer = call(
            &mut ws,
            "files.getUploadURLExternal",
            json!({"filename": "a", "length": 1}),
            Instant::now(),
        );
        assert_eq!(
            (answer.1["needed"].clone(), answer.1["provided"].clone()),
            (json!("files:write"), json!("chat:write"))
        );
    }

    #[test]
    fn channel_errors_as_slack() {
        let mut ws = workspace();
        let t0 = Instant::now();
        ws.set_auto_create(false);
        assert_eq!(
            error(post(&mut ws, "#nowhere", "x", t0)),
            "channel_not_found"
        );
        assert_eq!(
            error(post(&mut ws, "C0000000077", "x", t0)),
            "channel_not_found"
        );
        assert_eq!(
            error(call(&mut ws, "chat.postMessage", json!({"text": "x"}), t0)),
            "channel_not_found"
        );
        let outside = ChannelSpec {
            member: false,
            ..ChannelSpec::new("outside")
        };
        let private = ChannelSpec {
            member: false,
            private: true,
            ..ChannelSpec::new("secret")
        };
        let archived = ChannelSpec {
            archived: true,
            ..ChannelSpec::new("old")
        };
        ws.declare_channels(&[outside, private, archived]).unwrap();
        assert_eq!(
            post(&mut ws, "outside", "x", t0).1["ok"],
            true,
            "chat:write.public"
        );
        assert_eq!(error(post(&mut ws, "secret", "x", t0)), "not_in_channel");
        assert_eq!(error(post(&mut ws, "#old", "x", t0)), "is_archived");
        ws.set_token("xoxb-test", Token::with_scopes(&["chat:write"]));
        assert_eq!(error(post(&mut ws, "outside", "x", t0)), "not_in_channel");
        assert!(ws
            .declare_channels(&[ChannelSpec::new("Bad Name")])
            .is_err());
        ws.set_auto_create(true);
        assert_eq!(error(post(&mut ws, "#Upper", "x", t0)), "channel_not_found");
        assert_eq!(post(&mut ws, "#new", "x", t0).1["ok"], true);
    }

    #[test]
    fn messages_breaking_slacks_limits_are_refused_and_recorded() {
        let mut ws = workspace();
        // Refused posts count towards the tier too.
        ws.set_tier(Method::PostMessage, None);
        let t0 = Instant::now();
        let header =
            json!([{"type": "header", "text": {"type": "plain_text", "text": "x".repeat(151)}}]);
        let mut violations = Vec::new();
        for (body, expected) in [
            (json!({"channel": "a", "blocks": header}), "invalid_blocks"),
            // Past 13,000 characters in all comes before past 40,000 in `text`.
            (
                json!({"channel": "a", "text": "x".repeat(40_001)}),
                "msg_blocks_too_long",
            ),
            (json!({"channel": "a", "text": ""}), "no_text"),
            (json!({"channel": "a", "text": 5}), "invalid_arguments"),
            (
                json!({"channel": "a", "text": "x", "blocks": "[nope"}),
                "invalid_blocks_format",
            ),
            (
                json!({"channel": "a", "attachments": vec![json!({"text": "a"}); 101]}),
                "too_many_attachments",
            ),
        ] {
            let request = body.to_string();
            let handled = ws.call(
                "chat.postMessage",
                &Call {
                    http_method: "POST",
                    query: "",
                    content_type: Some(JSON),
                    authorization: Some("Bearer xoxb-1"),
                    body: request.as_bytes(),
                },
                t0,
            );
            let Answer::Json { body, .. } = handled.answer else {
                panic!()
            };
            assert_eq!(body["error"], expected, "{body}");
            assert!(!handled.violations.is_empty(), "{expected} is recorded");
            violations.extend(handled.violations);
        }
        assert!(
            violations[0]
                .starts_with("api call 1 chat.postMessage: invalid_blocks at blocks[0].text"),
            "{violations:?}"
        );
        assert!(ws.channel("a").unwrap().messages.is_empty());
        // A channel error is answered first, but the breach is still recorded.
        ws.set_auto_create(false);
        let request = json!({"channel": "zz", "text": ""}).to_string();
        let handled = ws.call(
            "chat.postMessage",
            &Call {
                http_method: "POST",
                query: "",
                content_type: Some(JSON),
                authorization: Some("Bearer xoxb-1"),
                body: request.as_bytes(),
            },
            t0,
        );
        assert_eq!(handled.violations.len(), 1);
    }

    #[test]
    fn threads_take_top_level_messages_only() {
        let mut ws = workspace();
        ws.set_tier(Method::PostMessage, None);
        let t0 = Instant::now();
        let parent = post(&mut ws, "a", "parent", t0).1["ts"]
            .as_str()
            .unwrap()
            .to_string();
        let other = post(&mut ws, "b", "elsewhere", t0).1["ts"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, reply) = call(
            &mut ws,
            "chat.postMessage",
            json!({"channel": "a", "text": "again", "thread_ts": parent, "reply_broadcast": true}),
            t0,
        );
        assert_eq!(reply["ok"], true);
        assert_eq!(reply["message"]["thread_ts"], parent.as_str());
        let reply_ts = reply["ts"].as_str().unwrap();
        for bad in [reply_ts, other.as_str(), "1.000000", "junk"] {
            let answer = call(
                &mut ws,
                "chat.postMessage",
                json!({"channel": "a", "text": "x", "thread_ts": bad}),
                t0,
            );
            assert_eq!(error(answer), "thread_not_found", "{bad}");
        }
        let channel = ws.channel("a").unwrap();
        assert_eq!(
            channel.messages.len(),
            1,
            "a reply is not a top-level message"
        );
        let replies = &channel.messages[0].replies;
        assert_eq!((replies.len(), replies[0].reply_broadcast), (1, true));
        assert_eq!(ws.calls()[2].thread_ts.as_deref(), Some(parent.as_str()));
    }

    #[test]
    fn updates_keep_every_version() {
        let mut ws = workspace();
        let t0 = Instant::now();
        let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*firing*"}}]);
        let (_, posted) = call(
            &mut ws,
            "chat.postMessage",
            json!({"channel": "a", "text": "firing", "blocks": blocks}),
            t0,
        );
        let (channel, ts) = (
            posted["channel"].as_str().unwrap(),
            posted["ts"].as_str().unwrap(),
        );
        let (status, updated) = call(
            &mut ws,
            "chat.update",
            json!({"channel": channel, "ts": ts, "text": "resolved"}),
            t0,
        );
        assert_eq!(status, 200);
        assert_eq!(
            (
                &updated["ok"],
                &updated["channel"],
                &updated["ts"],
                &updated["text"]
            ),
            (
                &json!(true),
                &json!(channel),
                &json!(ts),
                &json!("resolved")
            )
        );
        assert_eq!(
            updated["message"]["blocks"], blocks,
            "blocks not given are kept"
        );
        assert_eq!(updated["message"]["edited"]["user"], USER_ID);
        let removed = call(
            &mut ws,
            "chat.update",
            json!({"channel": channel, "ts": ts, "text": "resolved", "blocks": []}),
            t0,
        );
        assert_eq!(removed.1["ok"], true, "{removed:?}");
        let message = &ws.channel(channel).unwrap().messages[0];
        assert_eq!(
            (message.text.as_str(), &message.blocks, message.edits),
            ("resolved", &None, 2)
        );
        let texts: Vec<_> = message.versions.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(texts, ["firing", "resolved", "resolved"]);
        assert_eq!(message.versions[1].blocks, Some(blocks));

        assert_eq!(
            error(call(
                &mut ws,
                "chat.update",
                json!({"channel": "a", "ts": ts, "text": "x"}),
                t0
            )),
            "channel_not_found"
        );
        assert_eq!(
            error(call(
                &mut ws,
                "chat.update",
                json!({"channel": channel, "ts": "1.000001", "text": "x"}),
                t0
            )),
            "message_not_found"
        );
        assert_eq!(
            error(call(
                &mut ws,
                "chat.update",
                json!({"channel": channel, "ts": ts}),
                t0
            )),
            "no_text"
        );
        assert!(ws.delete_message("a", ts));
        assert_eq!(
            error(call(
                &mut ws,
                "chat.update",
                json!({"channel": channel, "ts": ts, "text": "x"}),
                t0
            )),
            "message_not_found"
        );
        assert_eq!(ws.stats().updates, 2);
        assert_eq!(ws.calls()[1].ts.as_deref(), Some(ts));
    }

    #[test]
    fn posts_are_limited_per_channel_with_an_honest_retry_after() {
        let mut ws = workspace();
        let t0 = Instant::now();
        let statuses: Vec<u16> = (0..5).map(|_| post(&mut ws, "a", "x", t0).0).collect();
        assert_eq!(statuses, [200, 200, 200, 429, 429]);
        let limited = ws
            .calls()
            .into_iter()
            .filter(|c| c.status == 429)
            .collect::<Vec<_>>();
        assert!(limited
            .iter()
            .all(|c| c.retry_after == Some(1) && c.error.as_deref() == Some("ratelimited")));
        assert_eq!(ws.stats().rate_limited, 2);
        for channel in ["b", "c", "d", "e", "f"] {
            assert_eq!(
                post(&mut ws, channel, "x", t0).0,
                200,
                "{channel} has its own bucket"
            );
        }
        let ts = post(&mut ws, "g", "x", t0).1["ts"]
            .as_str()
            .unwrap()
            .to_string();
        let channel = ws.channel("g").unwrap().id;
        assert_eq!(
            call(
                &mut ws,
                "chat.update",
                json!({"channel": channel, "ts": ts, "text": "y"}),
                t0
            )
            .0,
            200
        );
        // Waiting as told is enough.
        assert_eq!(post(&mut ws, "a", "x", t0 + Duration::from_secs(1)).0, 200);
    }

    #[test]
    fn calling_again_before_retry_after_is_a_violation() {
        let mut ws = workspace();
        let t0 = Instant::now();
        for _ in 0..4 {
            post(&mut ws, "a", "x", t0);
        }
        let body = json!({"channel": "a", "text": "x"}).to_string();
        let request = Call {
            http_method: "POST",
            query: "",
            content_type: Some(JSON),
            authorization: Some("Bearer xoxb-1"),
            body: body.as_bytes(),
        };
        let early = ws.call(
            "chat.postMessage",
            &request,
            t0 + Duration::from_millis(400),
        );
        assert_eq!(early.violations.len(), 1);
        assert!(
            early.violations[0]
                .contains("ignored Retry-After for C0000000001: called 600 ms before"),
            "{:?}",
            early.violations
        );
        let other_channel = json!({"channel": "b", "text": "x"}).to_string();
        let request = Call {
            body: other_channel.as_bytes(),
            ..request
        };
        assert!(ws
            .call("chat.postMessage", &request, t0)
            .violations
            .is_empty());
    }

    #[test]
    fn tiers_can_be_changed_or_lifted() {
        let mut ws = workspace();
        let t0 = Instant::now();
        ws.set_tier(Method::PostMessage, None);
        assert!((0..50).all(|_| post(&mut ws, "a", "x", t0).0 == 200));
        ws.set_tier(
            Method::AuthTest,
            Some(Tier {
                per_minute: 60.0,
                burst: 1,
            }),
        );
        assert_eq!(call(&mut ws, "auth.test", json!({}), t0).0, 200);
        let Answer::Json {
            status,
            body,
            retry_after,
        } = ({
            let request = Call {
                http_method: "POST",
                query: "",
                content_type: None,
                authorization: Some("Bearer xoxb-1"),
                body: b"",
            };
            ws.call("auth.test", &request, t0).answer
        })
        else {
            panic!()
        };
        assert_eq!(
            (status, body, retry_after),
            (429, json!({"ok": false, "error": "ratelimited"}), Some(1))
        );
    }

    #[test]
    fn forced_failures_hit_one_method_and_count_down() {
        let mut ws = workspace();
        let t0 = Instant::now();
        ws.set_failure(
            Method::PostMessage,
            ApiFailure::Error("fatal_error".into()),
            Some(1),
        );
        assert_eq!(error(post(&mut ws, "a", "x", t0)), "fatal_error");
        assert_eq!(post(&mut ws, "a", "x", t0).0, 200);
        ws.set_failure(Method::Update, ApiFailure::Mode(Mode::Hang), None);
        let generation = ws.generation;
        let body = json!({"channel": "C0000000001", "ts": "1.000000", "text": "y"}).to_string();
        let request = Call {
            http_method: "POST",
            query: "",
            content_type: Some(JSON),
            authorization: None,
            body: body.as_bytes(),
        };
        assert_eq!(
            ws.call("chat.update", &request, t0).answer,
            Answer::Hang { generation }
        );
        assert_eq!(
            ws.call("chat.update", &request, t0).answer,
            Answer::Hang { generation },
            "until cleared"
        );
        assert_eq!(post(&mut ws, "a", "x", t0).0, 200, "posts are unaffected");
        ws.set_failure(
            Method::Update,
            ApiFailure::Mode(Mode::rate_limited(Some(7))),
            Some(1),
        );
        assert!(ws.generation > generation, "hung calls are let go");
        let Answer::Json {
            status,
            body,
            retry_after,
        } = ws.call("chat.update", &request, t0).answer
        else {
            panic!()
        };
        assert_eq!((status, retry_after), (429, Some(7)));
        assert_eq!(body["ok"], false);
        ws.set_failure(
            Method::AuthTest,
            ApiFailure::Mode(Mode::fail_next(2, Mode::CloseImmediately)),
            None,
        );
        assert_eq!(
            ws.failures(),
            vec![(
                Method::AuthTest,
                ApiFailure::Mode(Mode::CloseImmediately),
                Some(2)
            )]
        );
        ws.clear_failures(None);
        assert!(ws.failures().is_empty());
        assert_eq!(
            ws.calls()
                .iter()
                .filter(|c| c.error.as_deref() == Some("(hung)"))
                .count(),
            2
        );
    }

    #[test]
    fn the_three_step_upload_shares_a_file_in_a_thread() {
        let mut ws = workspace();
        let t0 = Instant::now();
        let parent = post(&mut ws, "a", "trace follows", t0).1["ts"]
            .as_str()
            .unwrap()
            .to_string();
        let channel = ws.channel("a").unwrap().id;
        let trace = "java.lang.IllegalStateException: boom\n\tat X.y(X.java:1)\n".repeat(1000);
        let (_, url) = call(
            &mut ws,
            "files.getUploadURLExternal",
            json!({"filename": "trace.txt", "length": trace.len(), "snippet_type": "java"}),
            t0,
        );
        let file_id = url["file_id"].as_str().unwrap().to_string();
        assert_eq!(
            url["upload_url"],
            format!("http://127.0.0.1:9/upload/{file_id}")
        );
        assert_eq!(
            error(call(
                &mut ws,
                "files.completeUploadExternal",
                json!({"files": [{"id": file_id}], "channel_id": channel}),
                t0
            )),
            "file_not_found",
            "no bytes yet"
        );
        assert_eq!(
            upload(&mut ws, &file_id, None, trace.as_bytes()),
            Answer::Text {
                status: 200,
                body: format!("OK - {}", trace.len())
            }
        );
        assert!(
            ws.channel("a").unwrap().files.is_empty(),
            "not completed yet"
        );
        let reply = call(
            &mut ws,
            "chat.postMessage",
            json!({"channel": "a", "text": "r", "thread_ts": parent}),
            t0,
        )
        .1;
        assert_eq!(
            error(call(
                &mut ws,
                "files.completeUploadExternal",
                json!({"files": [{"id": file_id}], "channel_id": channel, "thread_ts": reply["ts"]}),
                t0
            )),
            "thread_not_found"
        );
        assert_eq!(
            error(call(
                &mut ws,
                "files.completeUploadExternal",
                json!({"files": [{"id": file_id}], "channel_id": "a"}),
                t0
            )),
            "channel_not_found"
        );
        let (_, done) = call(
            &mut ws,
            "files.completeUploadExternal",
            json!({"files": [{"id": file_id, "title": "Stack trace"}], "channel_id": channel,
                   "thread_ts": parent, "initial_comment": "the trace"}),
            t0,
        );
        assert_eq!(
            done,
            json!({"ok": true, "files": [{"id": file_id, "title": "Stack trace"}]})
        );
        let view = ws.channel("a").unwrap();
        assert_eq!(view.files.len(), 1);
        let file = &view.files[0];
        assert_eq!(
            (
                file.title.as_str(),
                file.filename.as_str(),
                file.length,
                file.state
            ),
            ("Stack trace", "trace.txt", trace.len(), "shared")
        );
        assert_eq!(file.text.as_deref(), Some(trace.as_str()));
        assert_eq!(file.thread_ts.as_deref(), Some(parent.as_str()));
        let replies = &view.messages[0].replies;
        assert_eq!(replies[1].text, "the trace");
        assert_eq!(replies[1].files[0].id, file_id);
        assert_eq!(
            error(call(
                &mut ws,
                "files.completeUploadExternal",
                json!({"files": [{"id": file_id}], "channel_id": channel}),
                t0
            )),
            "file_not_found",
            "completed once"
        );
        assert_eq!(ws.stats().files_shared, 1);
    }

    #[test]
    fn uploads_refuse_wrong_lengths_and_used_ids_and_read_multipart() {
        let mut ws = workspace();
        let t0 = Instant::now();
        let form = Call {
            http_method: "POST",
            query: "",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: Some("Bearer xoxb-1"),
            body: b"filename=a.txt&length=5",
        };
        let Answer::Json { body, .. } = ws.call("files.getUploadURLExternal", &form, t0).answer
        else {
            panic!()
        };
        let id = body["file_id"].as_str().unwrap().to_string();
        assert_eq!(
            upload(&mut ws, &id, None, b"1234"),
            Answer::Text {
                status: 400,
                body: "length_mismatch".into()
            }
        );
        assert_eq!(
            upload(&mut ws, "F0000000099", None, b"12345"),
            Answer::Text {
                status: 404,
                body: "file_not_found".into()
            }
        );
        let multipart = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--b--\r\n";
        assert_eq!(
            upload(
                &mut ws,
                &id,
                Some("multipart/form-data; boundary=b"),
                multipart
            ),
            Answer::Text {
                status: 200,
                body: "OK - 5".into()
            }
        );
        assert_eq!(
            upload(&mut ws, &id, None, b"12345"),
            Answer::Text {
                status: 400,
                body: "already_uploaded".into()
            }
        );
        assert_eq!(ws.files()[0].text.as_deref(), Some("hello"));
        let (_, private) = call(
            &mut ws,
            "files.completeUploadExternal",
            json!({"files": format!("[{{\"id\":\"{id}\"}}]")}),
            t0,
        );
        assert_eq!(
            private,
            json!({"ok": true, "files": [{"id": id, "title": "a.txt"}]})
        );
        assert_eq!(ws.files()[0].state, "private");
        for bad in [
            json!({}),
            json!({"filename": "a"}),
            json!({"filename": "a", "length": 0}),
            json!({"filename": "a", "length": MAX_UPLOAD_BYTES + 1}),
        ] {
            let answer = call(&mut ws, "files.getUploadURLExternal", bad, t0);
            assert_eq!(error(answer.clone()), "invalid_arguments");
            assert!(answer.1["response_metadata"]["messages"][0]
                .as_str()
                .unwrap()
                .starts_with("[ERROR] "));
        }
        let uploads: Vec<_> = ws
            .calls()
            .into_iter()
            .filter(|c| c.method == "upload")
            .collect();
        assert_eq!(uploads.len(), 4);
        assert_eq!(
            uploads[0].detail.as_deref(),
            Some(format!("file {id} was announced as 5 bytes, 4 were sent").as_str())
        );
    }

    #[test]
    fn bodies_and_methods_slack_would_not_take() {
        let mut ws = workspace();
        let t0 = Instant::now();
        let answer = |ws: &mut Workspace, name: &str, content_type: Option<&str>, body: &[u8]| {
            let request = Call {
                http_method: "POST",
                query: "",
                content_type,
                authorization: Some("Bearer xoxb-1"),
                body,
            };
            match ws.call(name, &request, t0).answer {
                Answer::Json { body, .. } => body,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            answer(&mut ws, "chat.nope", Some(JSON), b"{}"),
            json!({"ok": false, "error": "unknown_method", "req_method": "chat.nope"})
        );
        assert_eq!(
            answer(&mut ws, "upload", Some(JSON), b"{}")["error"],
            "unknown_method"
        );
        assert_eq!(
            answer(&mut ws, "auth.test", Some(JSON), b"{")["error"],
            "invalid_json"
        );
        assert_eq!(
            answer(&mut ws, "auth.test", Some(JSON), b"[]")["error"],
            "json_not_object"
        );
        assert_eq!(
            answer(&mut ws, "auth.test", Some("text/csv"), b"a")["error"],
            "invalid_post_type"
        );
        let warned = answer(&mut ws, "auth.test", Some("application/json"), b"{}");
        assert_eq!(
            (&warned["ok"], &warned["warning"]),
            (&json!(true), &json!("missing_charset"))
        );
        assert_eq!(
            warned["response_metadata"]["warnings"],
            json!(["missing_charset"])
        );
        assert_eq!(ws.calls()[2].body, Value::Null);
    }

    #[test]
    fn reset_forgets_everything_and_lets_hung_calls_go() {
        let mut ws = workspace();
        let t0 = Instant::now();
        post(&mut ws, "a", "x", t0);
        ws.set_token("xoxb-test", Token::in_state(TokenState::Revoked));
        ws.set_failure(Method::Update, ApiFailure::Mode(Mode::Hang), None);
        let generation = ws.generation;
        ws.reset();
        assert!(ws.generation > generation);
        assert!(ws.channels().is_empty() && ws.calls().is_empty() && ws.failures().is_empty());
        assert_eq!(ws.stats(), ApiStats::default());
        assert_eq!(
            post(&mut ws, "a", "x", t0).0,
            200,
            "the token is valid again"
        );
        assert!(ws.upload_base.ends_with(":9/upload/"));
    }

    #[test]
    fn the_call_log_is_bounded() {
        let mut ws = workspace();
        let t0 = Instant::now();
        for _ in 0..KEEP_LAST + 3 {
            call_as(&mut ws, None, "auth.test", json!({}), t0);
        }
        assert_eq!(ws.calls().len(), KEEP_LAST);
        assert_eq!(ws.stats().calls, KEEP_LAST as u64 + 3);
    }
}
