//! What the workspace holds: channels, their messages and threads with every
//! version, and files. Every table is bounded (see the constants); ids and `ts`
//! values are made here.

use super::types::{ChannelSpec, ChannelView, FileView, MessageView, Version};
use crate::state::KEEP_LAST;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Channels the workspace holds at most; past it, posting to a new name answers
/// `channel_not_found` and declaring one is refused.
pub const MAX_CHANNELS: usize = 1000;
/// Versions kept of one message (the last ones); [`MessageView::edits`] keeps
/// counting past it.
pub const MAX_VERSIONS: usize = 100;
/// Replies kept in one thread (the last ones).
pub const MAX_REPLIES: usize = 1000;
/// Largest file `files.getUploadURLExternal` hands out a URL for: stack traces, not
/// videos.
pub const MAX_UPLOAD_BYTES: usize = 8 << 20;
/// Bytes of file content kept in all; past it the oldest files keep their metadata
/// but lose their content (their [`FileView::text`] becomes `None`).
pub const MAX_FILE_BYTES_KEPT: usize = 64 << 20;

/// The message content that versions are made of.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Content {
    pub(crate) text: String,
    pub(crate) blocks: Option<Value>,
    pub(crate) attachments: Option<Value>,
}

struct Channel {
    id: String,
    name: String,
    member: bool,
    archived: bool,
    private: bool,
}

struct Message {
    channel: String,
    ts: u64,
    thread_ts: Option<u64>,
    reply_broadcast: bool,
    current: Content,
    /// Every version kept, with the milliseconds since start it was made at.
    versions: VecDeque<(Content, u64)>,
    edits: u32,
    replies: VecDeque<Message>,
    files: Vec<String>,
    username: Option<String>,
    icon_emoji: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileState {
    Pending,
    Uploaded,
    Private,
    Shared,
}

impl FileState {
    fn as_str(self) -> &'static str {
        match self {
            FileState::Pending => "pending",
            FileState::Uploaded => "uploaded",
            FileState::Private => "private",
            FileState::Shared => "shared",
        }
    }
}

struct File {
    id: String,
    filename: String,
    /// Bytes announced to `files.getUploadURLExternal`.
    length: usize,
    snippet_type: Option<String>,
    title: Option<String>,
    state: FileState,
    /// The bytes, while kept.
    content: Option<Vec<u8>>,
    channel: Option<String>,
    ts: Option<u64>,
    thread_ts: Option<u64>,
}

/// A new message: where, and what.
pub(crate) struct NewMessage {
    pub(crate) channel: String,
    pub(crate) thread_ts: Option<u64>,
    pub(crate) reply_broadcast: bool,
    pub(crate) content: Content,
    pub(crate) files: Vec<String>,
    pub(crate) username: Option<String>,
    pub(crate) icon_emoji: Option<String>,
}

/// Why bytes sent to an upload URL were refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UploadError {
    /// No such file id, or it was forgotten.
    NotFound,
    /// Bytes were already sent for it.
    AlreadyUploaded,
    /// Not as many bytes as announced.
    LengthMismatch { announced: usize, got: usize },
}

#[derive(Default)]
pub(crate) struct Store {
    /// By id; ids grow in base 36 with a fixed width, so this is creation order.
    channels: BTreeMap<String, Channel>,
    channels_made: u64,
    /// Top-level messages of every channel, by `ts` (in microseconds).
    messages: BTreeMap<u64, Message>,
    /// The parent of every reply kept.
    parent_of: HashMap<u64, u64>,
    /// By id, in creation order as channels.
    files: BTreeMap<String, File>,
    files_made: u64,
    kept_bytes: usize,
    last_ts: u64,
}

/// `prefix` and `n` in ten upper-case base-36 digits: `C0000000001`.
pub(crate) fn make_id(prefix: char, n: u64) -> String {
    let mut digits = [b'0'; 10];
    let mut rest = n;
    for digit in digits.iter_mut().rev() {
        *digit = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(rest % 36) as usize];
        rest /= 36;
    }
    format!("{prefix}{}", String::from_utf8_lossy(&digits))
}

/// `ts` in Slack's form: `<seconds>.<6 digits>`.
pub(crate) fn ts_string(ts: u64) -> String {
    format!("{}.{:06}", ts / 1_000_000, ts % 1_000_000)
}

/// Reads a `ts` in Slack's form; `None` for anything else.
pub(crate) fn parse_ts(text: &str) -> Option<u64> {
    let (seconds, micros) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(seconds) || seconds.len() > 12 || micros.len() != 6 || !digits(micros) {
        return None;
    }
    Some(seconds.parse::<u64>().ok()? * 1_000_000 + micros.parse::<u64>().ok()?)
}

/// True if and only if `text` looks like a conversation id (`C…`, `G…`, `D…`) rather
/// than a name: Slack's names have no upper-case letters.
pub(crate) fn is_channel_id(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('C' | 'G' | 'D'))
        && text.len() >= 9
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Returns an error saying what is wrong if `name` cannot be a Slack channel name:
/// 1 to 80 characters, lower-case letters (any script), digits, `-` and `_`.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 || chars > 80 {
        return Err(format!(
            "a channel name has 1 to 80 characters, {name:?} has {chars}"
        ));
    }
    let allowed = |c: char| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == '-'
            || c == '_'
            || (!c.is_ascii() && c.is_alphanumeric() && !c.is_uppercase())
    };
    match name.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(format!(
            "a channel name has lower-case letters, digits, `-` and `_` only; {name:?} has {c:?}"
        )),
        None => Ok(()),
    }
}

impl Store {
    /// A new `ts`, after every one made before: `wall_micros` (microseconds since the
    /// Unix epoch), or one microsecond after the last if that is not later.
    pub(crate) fn next_ts(&mut self, wall_micros: u64) -> u64 {
        let ts = wall_micros.max(self.last_ts + 1);
        self.last_ts = ts;
        ts
    }

    /// The id of the channel named or identified by `channel` (`#name`, `name` or an
    /// id); `None` if there is none.
    pub(crate) fn find(&self, channel: &str) -> Option<String> {
        if is_channel_id(channel) {
            return self.channels.get(channel).map(|c| c.id.clone());
        }
        let name = channel.strip_prefix('#').unwrap_or(channel);
        self.channels
            .values()
            .find(|c| c.name == name)
            .map(|c| c.id.clone())
    }

    /// As [`Store::find`], creating a public channel the bot is a member of when
    /// `channel` is a valid name not seen before and there is room.
    pub(crate) fn find_or_create(&mut self, channel: &str) -> Option<String> {
        if let Some(id) = self.find(channel) {
            return Some(id);
        }
        if is_channel_id(channel) {
            return None;
        }
        self.declare(&ChannelSpec::new(channel)).ok()
    }

    /// Creates the channel `spec` names, or changes its flags if it exists (keeping
    /// its id and messages); returns its id.
    pub(crate) fn declare(&mut self, spec: &ChannelSpec) -> Result<String, String> {
        let name = spec.name.strip_prefix('#').unwrap_or(&spec.name);
        check_name(name)?;
        let id = match self.find(name) {
            Some(id) => id,
            None => {
                if self.channels.len() >= MAX_CHANNELS {
                    return Err(format!(
                        "the workspace holds {MAX_CHANNELS} channels at most"
                    ));
                }
                self.channels_made += 1;
                make_id('C', self.channels_made)
            }
        };
        self.channels.insert(
            id.clone(),
            Channel {
                id: id.clone(),
                name: name.to_string(),
                member: spec.member,
                archived: spec.archived,
                private: spec.private,
            },
        );
        Ok(id)
    }

    pub(crate) fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// `(member, archived, private)` of the channel with this id.
    pub(crate) fn flags(&self, id: &str) -> Option<(bool, bool, bool)> {
        self.channels
            .get(id)
            .map(|c| (c.member, c.archived, c.private))
    }

    /// The name of the channel with this id.
    pub(crate) fn name_of(&self, id: &str) -> Option<&str> {
        self.channels.get(id).map(|c| c.name.as_str())
    }

    /// True if and only if `ts` is a top-level message of channel `id`.
    pub(crate) fn is_top_level(&self, id: &str, ts: u64) -> bool {
        self.messages.get(&ts).is_some_and(|m| m.channel == id)
    }

    /// Stores a message (a reply if `thread_ts` names a top-level message, which the
    /// caller checked) made at `at_ms` with this `ts`.
    pub(crate) fn post(&mut self, ts: u64, new: NewMessage, at_ms: u64) {
        let message = Message {
            channel: new.channel,
            ts,
            thread_ts: new.thread_ts,
            reply_broadcast: new.reply_broadcast,
            versions: VecDeque::from([(new.content.clone(), at_ms)]),
            current: new.content,
            edits: 0,
            replies: VecDeque::new(),
            files: new.files,
            username: new.username,
            icon_emoji: new.icon_emoji,
        };
        match message.thread_ts {
            Some(parent_ts) => {
                let Some(parent) = self.messages.get_mut(&parent_ts) else {
                    return;
                };
                parent.replies.push_back(message);
                self.parent_of.insert(ts, parent_ts);
                if parent.replies.len() > MAX_REPLIES {
                    if let Some(old) = parent.replies.pop_front() {
                        self.parent_of.remove(&old.ts);
                    }
                }
            }
            None => {
                self.messages.insert(ts, message);
                if self.messages.len() > KEEP_LAST {
                    if let Some((_, old)) = self.messages.pop_first() {
                        for reply in &old.replies {
                            self.parent_of.remove(&reply.ts);
                        }
                    }
                }
            }
        }
    }

    fn message_mut(&mut self, id: &str, ts: u64) -> Option<&mut Message> {
        let top_ts = self.parent_of.get(&ts).copied().unwrap_or(ts);
        let top = self.messages.get_mut(&top_ts).filter(|m| m.channel == id)?;
        if top_ts == ts {
            Some(top)
        } else {
            top.replies.iter_mut().find(|r| r.ts == ts)
        }
    }

    fn message(&self, id: &str, ts: u64) -> Option<&Message> {
        let top_ts = self.parent_of.get(&ts).copied().unwrap_or(ts);
        let top = self.messages.get(&top_ts).filter(|m| m.channel == id)?;
        if top_ts == ts {
            Some(top)
        } else {
            top.replies.iter().find(|r| r.ts == ts)
        }
    }

    /// The current content of message `ts` (top-level or reply) in channel `id`.
    pub(crate) fn content(&self, id: &str, ts: u64) -> Option<&Content> {
        self.message(id, ts).map(|m| &m.current)
    }

    /// Replaces the content of message `ts` in channel `id`, keeping the version;
    /// returns false if there is no such message.
    pub(crate) fn edit(&mut self, id: &str, ts: u64, content: Content, at_ms: u64) -> bool {
        let Some(message) = self.message_mut(id, ts) else {
            return false;
        };
        message.current = content.clone();
        message.versions.push_back((content, at_ms));
        if message.versions.len() > MAX_VERSIONS {
            message.versions.pop_front();
        }
        message.edits = message.edits.saturating_add(1);
        true
    }

    /// Forgets message `ts` of channel `id` (with its thread, if it has one); returns
    /// false if there is no such message.
    pub(crate) fn delete(&mut self, id: &str, ts: u64) -> bool {
        if self.message(id, ts).is_none() {
            return false;
        }
        match self.parent_of.remove(&ts) {
            Some(parent_ts) => {
                if let Some(parent) = self.messages.get_mut(&parent_ts) {
                    parent.replies.retain(|r| r.ts != ts);
                }
            }
            None => {
                if let Some(old) = self.messages.remove(&ts) {
                    for reply in &old.replies {
                        self.parent_of.remove(&reply.ts);
                    }
                }
            }
        }
        true
    }

    /// Registers a file that bytes will be uploaded for; returns its id.
    pub(crate) fn new_file(
        &mut self,
        filename: &str,
        length: usize,
        snippet_type: Option<&str>,
    ) -> String {
        self.files_made += 1;
        let id = make_id('F', self.files_made);
        self.files.insert(
            id.clone(),
            File {
                id: id.clone(),
                filename: filename.to_string(),
                length,
                snippet_type: snippet_type.map(str::to_string),
                title: None,
                state: FileState::Pending,
                content: None,
                channel: None,
                ts: None,
                thread_ts: None,
            },
        );
        if self.files.len() > KEEP_LAST {
            if let Some((_, old)) = self.files.pop_first() {
                self.kept_bytes -= old.content.map_or(0, |c| c.len());
            }
        }
        id
    }

    /// Takes the bytes of file `id`.
    pub(crate) fn upload(&mut self, id: &str, data: Vec<u8>) -> Result<(), UploadError> {
        let file = self.files.get_mut(id).ok_or(UploadError::NotFound)?;
        if file.state != FileState::Pending {
            return Err(UploadError::AlreadyUploaded);
        }
        if data.len() != file.length {
            return Err(UploadError::LengthMismatch {
                announced: file.length,
                got: data.len(),
            });
        }
        file.state = FileState::Uploaded;
        self.kept_bytes += data.len();
        file.content = Some(data);
        // Forget the content of the oldest files, never of this one.
        let mut oldest = self.files.values_mut();
        while self.kept_bytes > MAX_FILE_BYTES_KEPT {
            let Some(file) = oldest.next() else { break };
            if file.id != id {
                self.kept_bytes -= file.content.take().map_or(0, |c| c.len());
            }
        }
        Ok(())
    }

    /// Returns the id of the first of `ids` that cannot be completed (unknown, no
    /// bytes uploaded yet, or completed already), if any.
    pub(crate) fn first_incomplete<'a>(&self, ids: &[&'a str]) -> Option<&'a str> {
        ids.iter()
            .copied()
            .find(|id| self.files.get(*id).map(|f| f.state) != Some(FileState::Uploaded))
    }

    /// Completes file `id` with `title`: shared in the message `ts` of `channel` (in
    /// thread `thread_ts`), or private without a channel. Returns the title.
    pub(crate) fn complete(
        &mut self,
        id: &str,
        title: Option<&str>,
        shared: Option<(&str, u64, Option<u64>)>,
    ) -> String {
        let Some(file) = self.files.get_mut(id) else {
            return String::new();
        };
        file.title = Some(title.unwrap_or(&file.filename).to_string());
        match shared {
            Some((channel, ts, thread_ts)) => {
                file.state = FileState::Shared;
                file.channel = Some(channel.to_string());
                file.ts = Some(ts);
                file.thread_ts = thread_ts;
            }
            None => file.state = FileState::Private,
        }
        file.title.clone().unwrap_or_default()
    }

    /// Every file, in creation order, whatever its state.
    pub(crate) fn files(&self) -> Vec<FileView> {
        self.files.values().map(file_view).collect()
    }

    /// The channel named or identified by `channel`.
    pub(crate) fn channel(&self, channel: &str) -> Option<ChannelView> {
        let id = self.find(channel)?;
        self.channels.get(&id).map(|c| self.channel_view(c))
    }

    /// Every channel, in creation order.
    pub(crate) fn channels(&self) -> Vec<ChannelView> {
        self.channels
            .values()
            .map(|c| self.channel_view(c))
            .collect()
    }

    /// Message `ts` (top-level or reply) of channel `id`.
    pub(crate) fn message_view(&self, id: &str, ts: u64) -> Option<MessageView> {
        self.message(id, ts).map(|m| self.view(m))
    }

    fn channel_view(&self, channel: &Channel) -> ChannelView {
        let messages: Vec<MessageView> = self
            .messages
            .values()
            .filter(|m| m.channel == channel.id)
            .map(|m| self.view(m))
            .collect();
        let files = messages
            .iter()
            .flat_map(|m| {
                m.files
                    .iter()
                    .chain(m.replies.iter().flat_map(|r| &r.files))
            })
            .cloned()
            .collect();
        ChannelView {
            id: channel.id.clone(),
            name: channel.name.clone(),
            member: channel.member,
            archived: channel.archived,
            private: channel.private,
            messages,
            files,
        }
    }

    fn view(&self, message: &Message) -> MessageView {
        MessageView {
            ts: ts_string(message.ts),
            thread_ts: message.thread_ts.map(ts_string),
            reply_broadcast: message.reply_broadcast,
            text: message.current.text.clone(),
            blocks: message.current.blocks.clone(),
            attachments: message.current.attachments.clone(),
            edits: message.edits,
            versions: message
                .versions
                .iter()
                .map(|(content, at_ms)| Version {
                    text: content.text.clone(),
                    blocks: content.blocks.clone(),
                    attachments: content.attachments.clone(),
                    at_ms: *at_ms,
                })
                .collect(),
            replies: message.replies.iter().map(|r| self.view(r)).collect(),
            files: message
                .files
                .iter()
                .filter_map(|id| self.files.get(id))
                .map(file_view)
                .collect(),
            username: message.username.clone(),
            icon_emoji: message.icon_emoji.clone(),
        }
    }
}

fn file_view(file: &File) -> FileView {
    FileView {
        id: file.id.clone(),
        title: file.title.clone().unwrap_or_else(|| file.filename.clone()),
        filename: file.filename.clone(),
        length: file.length,
        snippet_type: file.snippet_type.clone(),
        text: file
            .content
            .as_ref()
            .and_then(|c| std::str::from_utf8(c).ok())
            .map(str::to_string),
        state: file.state.as_str(),
        channel: file.channel.clone(),
        ts: file.ts.map(ts_string),
        thread_ts: file.thread_ts.map(ts_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Content {
        Content {
            text: t.to_string(),
            ..Content::default()
        }
    }

    fn new(channel: &str, thread_ts: Option<u64>, t: &str) -> NewMessage {
        NewMessage {
            channel: channel.to_string(),
            thread_ts,
            reply_broadcast: false,
            content: text(t),
            files: Vec::new(),
            username: None,
            icon_emoji: None,
        }
    }

    #[test]
    fn ids_and_ts_have_slacks_form() {
        assert_eq!(make_id('C', 1), "C0000000001");
        assert_eq!(make_id('F', 36 * 36 + 35), "F000000010Z");
        assert!(make_id('C', 36) < make_id('C', 37));
        assert_eq!(ts_string(1_712_345_678_000_100), "1712345678.000100");
        assert_eq!(parse_ts("1712345678.000100"), Some(1_712_345_678_000_100));
        for bad in [
            "1712345678",
            "1712345678.1",
            "x.000100",
            ".000100",
            "1.0001000",
            "-1.000000",
        ] {
            assert_eq!(parse_ts(bad), None, "{bad}");
        }
        let mut store = Store::default();
        let first = store.next_ts(5_000_000);
        assert_eq!(
            (first, store.next_ts(5_000_000), store.next_ts(4_000_000)),
            (5_000_000, 5_000_001, 5_000_002)
        );
    }

    #[test]
    fn names_and_ids_are_told_apart() {
        assert!(is_channel_id("C0000000001") && is_channel_id("G12345678"));
        assert!(!is_channel_id("alerts") && !is_channel_id("C123") && !is_channel_id("Cabcdefghi"));
        assert!(check_name("alerts-prod_2").is_ok());
        assert!(check_name("알림").is_ok());
        assert!(check_name("Alerts").unwrap_err().contains("'A'"));
        assert!(check_name("a b").is_err() && check_name("").is_err());
        assert!(check_name(&"a".repeat(81)).is_err());
    }

    #[test]
    fn channels_are_found_by_name_or_id_and_created_once() {
        let mut store = Store::default();
        let id = store.find_or_create("#alerts").unwrap();
        assert_eq!(id, "C0000000001");
        assert_eq!(store.find_or_create("alerts").as_deref(), Some(id.as_str()));
        assert_eq!(store.find(&id).as_deref(), Some(id.as_str()));
        assert_eq!(
            store.find_or_create("C0000000099"),
            None,
            "ids are never created"
        );
        assert_eq!(store.find_or_create("Bad Name"), None);
        let spec = ChannelSpec {
            archived: true,
            ..ChannelSpec::new("alerts")
        };
        assert_eq!(store.declare(&spec), Ok(id.clone()));
        assert_eq!(store.flags(&id), Some((true, true, false)));
        assert_eq!(store.find_or_create("ops").as_deref(), Some("C0000000002"));
    }

    #[test]
    fn threads_edits_and_deletes() {
        let mut store = Store::default();
        let c = store.find_or_create("a").unwrap();
        store.post(10, new(&c, None, "parent"), 0);
        store.post(11, new(&c, Some(10), "reply"), 1);
        assert!(store.is_top_level(&c, 10) && !store.is_top_level(&c, 11));
        assert!(store.edit(&c, 11, text("reply v2"), 2));
        assert!(store.edit(&c, 10, text("parent v2"), 3));
        assert!(!store.edit("C0000000009", 10, text("x"), 3));
        let view = store.channel(&c).unwrap();
        assert_eq!(view.messages.len(), 1);
        let parent = &view.messages[0];
        assert_eq!((parent.text.as_str(), parent.edits), ("parent v2", 1));
        assert_eq!(
            parent
                .versions
                .iter()
                .map(|v| v.text.as_str())
                .collect::<Vec<_>>(),
            ["parent", "parent v2"]
        );
        assert_eq!(parent.replies[0].text, "reply v2");
        assert_eq!(parent.replies[0].thread_ts.as_deref(), Some("0.000010"));
        assert!(store.delete(&c, 11));
        assert!(store.channel(&c).unwrap().messages[0].replies.is_empty());
        assert!(store.delete(&c, 10) && !store.delete(&c, 10));
        assert!(store.channel(&c).unwrap().messages.is_empty());
    }

    #[test]
    fn tables_are_bounded() {
        let mut store = Store::default();
        let c = store.find_or_create("a").unwrap();
        for ts in 0..(KEEP_LAST as u64 + 3) {
            store.post(ts + 1, new(&c, None, "m"), 0);
        }
        assert_eq!(store.messages.len(), KEEP_LAST);
        let last = KEEP_LAST as u64 + 3;
        for i in 0..MAX_REPLIES as u64 + 2 {
            store.post(1_000_000 + i, new(&c, Some(last), "r"), 0);
        }
        assert_eq!(store.messages[&last].replies.len(), MAX_REPLIES);
        assert_eq!(store.parent_of.len(), MAX_REPLIES);
        for i in 0..MAX_VERSIONS + 5 {
            store.edit(&c, last, text(&i.to_string()), 0);
        }
        let view = store.message_view(&c, last).unwrap();
        assert_eq!(
            (view.edits as usize, view.versions.len()),
            (MAX_VERSIONS + 5, MAX_VERSIONS)
        );
        assert_eq!(
            view.versions.last().unwrap().text,
            (MAX_VERSIONS + 4).to_string()
        );
    }

    #[test]
    fn uploads_check_their_length_and_keep_bounded_content() {
        let mut store = Store::default();
        let id = store.new_file("t.txt", 3, Some("text"));
        assert_eq!(
            store.first_incomplete(&[&id]),
            Some(id.as_str()),
            "no bytes yet"
        );
        assert_eq!(
            store.upload(&id, b"ab".to_vec()),
            Err(UploadError::LengthMismatch {
                announced: 3,
                got: 2
            })
        );
        assert_eq!(
            store.upload("F9", b"abc".to_vec()),
            Err(UploadError::NotFound)
        );
        assert_eq!(store.upload(&id, b"abc".to_vec()), Ok(()));
        assert_eq!(
            store.upload(&id, b"abc".to_vec()),
            Err(UploadError::AlreadyUploaded)
        );
        assert_eq!(store.first_incomplete(&[&id]), None);
        assert_eq!(store.complete(&id, None, None), "t.txt");
        assert_eq!(
            store.first_incomplete(&[&id]),
            Some(id.as_str()),
            "completed once"
        );
        assert_eq!(store.files()[0].state, "private");
        assert_eq!(store.files()[0].text.as_deref(), Some("abc"));

        let big = MAX_FILE_BYTES_KEPT / 2 + 1;
        let first = store.new_file("1", big, None);
        store.upload(&first, vec![b'x'; big]).unwrap();
        let second = store.new_file("2", big, None);
        store.upload(&second, vec![b'y'; big]).unwrap();
        assert!(store.kept_bytes <= MAX_FILE_BYTES_KEPT);
        let files = store.files();
        assert_eq!(files[1].text, None, "the older content was let go");
        assert_eq!(files[2].text.as_ref().map(String::len), Some(big));
    }
}
