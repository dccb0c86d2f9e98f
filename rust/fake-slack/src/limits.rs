//! Slack's message limits, checked the way Slack answers them.
//!
//! This is the referee for the message-rendering crate, so it is written from Slack's
//! documented limits (see `../shared/docs/slack-webhooks.md`, in the project's shared
//! folder beside the repository, not inside it), not from that crate's code: a bug
//! copied into both would otherwise pass unseen. Characters are counted as Unicode
//! scalar values (`chars()`), never bytes, because Slack counts characters and alerts
//! carry Korean text and emoji.
//!
//! ```
//! use serde_json::json;
//! use fake_slack::limits;
//!
//! assert!(limits::check(&json!({"text": "disk full on db-1"})).is_ok());
//! let too_long = json!({"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x".repeat(151)}}]});
//! assert_eq!(limits::check(&too_long).unwrap_err().slack_error(), "invalid_blocks");
//! ```

use serde_json::{Map, Value};
use std::fmt;

/// Attachments per message; more is answered `too_many_attachments`.
pub const MAX_ATTACHMENTS: usize = 100;
/// Blocks per `blocks` array (top level, and in each attachment).
pub const MAX_BLOCKS: usize = 50;
/// Characters of a `header` block's text.
pub const MAX_HEADER_CHARS: usize = 150;
/// Characters of a `section` block's `text`.
pub const MAX_SECTION_TEXT_CHARS: usize = 3000;
/// Items in a `section` block's `fields`.
pub const MAX_SECTION_FIELDS: usize = 10;
/// Characters of each `section` field.
pub const MAX_FIELD_CHARS: usize = 2000;
/// Elements of a `context` block.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// Characters of the top-level `text`; Slack truncates past this.
pub const MAX_TEXT_CHARS: usize = 40_000;
/// Characters of top-level `text` plus every text object in every block; past this
/// Slack has been seen answering `msg_blocks_too_long`.
pub const MAX_TOTAL_CHARS: usize = 13_000;

/// Which rule a payload broke. Declared in the order Slack's answer is chosen: when a
/// payload breaks several rules, the earliest kind decides the error string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViolationKind {
    /// Occurs when the body is not JSON, not an object, or a top-level field has the wrong type.
    InvalidPayload,
    /// Occurs when there is no non-empty `text`, no block and no attachment.
    NoText,
    /// Occurs when there are more than [`MAX_ATTACHMENTS`] attachments.
    TooManyAttachments,
    /// Occurs when an attachment is not an object.
    InvalidAttachments,
    /// Occurs when `text` and all block text add up to more than [`MAX_TOTAL_CHARS`].
    MsgBlocksTooLong,
    /// Occurs when the top-level `text` is longer than [`MAX_TEXT_CHARS`].
    MsgTooLong,
    /// Occurs when a block breaks a Block Kit limit or is malformed.
    InvalidBlocks,
}

impl ViolationKind {
    /// The error string Slack answers (with status 400) for this kind.
    pub fn slack_error(self) -> &'static str {
        match self {
            ViolationKind::InvalidPayload => "invalid_payload",
            ViolationKind::NoText => "no_text",
            ViolationKind::TooManyAttachments => "too_many_attachments",
            ViolationKind::InvalidAttachments => "invalid_attachments",
            ViolationKind::MsgBlocksTooLong => "msg_blocks_too_long",
            ViolationKind::MsgTooLong => "msg_too_long",
            ViolationKind::InvalidBlocks => "invalid_blocks",
        }
    }
}

/// One broken rule: what was broken and where in the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule broken; decides the Slack error string.
    pub kind: ViolationKind,
    /// Where, as a JSON path like `blocks[3].text` or `attachments[0].blocks[2].fields[4]`;
    /// empty when the breach concerns the whole message.
    pub path: String,
    /// What, in words, with the numbers involved.
    pub detail: String,
}

impl Violation {
    fn new(kind: ViolationKind, path: &str, detail: impl Into<String>) -> Violation {
        Violation {
            kind,
            path: path.to_string(),
            detail: detail.into(),
        }
    }

    /// The error string Slack answers for this violation, e.g. `invalid_blocks`.
    pub fn slack_error(&self) -> &'static str {
        self.kind.slack_error()
    }

    /// The HTTP status Slack answers with: every limit breach is a 400.
    pub fn status(&self) -> u16 {
        400
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.slack_error(), self.detail)
        } else {
            write!(
                f,
                "{} at {}: {}",
                self.slack_error(),
                self.path,
                self.detail
            )
        }
    }
}

impl std::error::Error for Violation {}

/// Returns `Ok` if and only if Slack would accept `payload`; otherwise the violation that
/// decides Slack's answer (see [`ViolationKind`] for the precedence).
pub fn check(payload: &Value) -> Result<(), Violation> {
    match worst(&check_all(payload)) {
        Some(violation) => Err(violation.clone()),
        None => Ok(()),
    }
}

/// Returns every rule `payload` breaks, in the order found.
pub fn check_all(payload: &Value) -> Vec<Violation> {
    let Some(message) = payload.as_object() else {
        return vec![Violation::new(
            ViolationKind::InvalidPayload,
            "",
            format!("the body must be a JSON object, got {}", type_name(payload)),
        )];
    };
    let mut walk = Walk::default();
    walk.message(message);
    walk.found
}

/// Parses a request body, answering `invalid_payload` if it is not JSON.
pub fn parse(raw: &[u8]) -> Result<Value, Violation> {
    serde_json::from_slice(raw).map_err(|e| {
        Violation::new(
            ViolationKind::InvalidPayload,
            "",
            format!("the body is not JSON ({e})"),
        )
    })
}

/// Returns the violation that decides Slack's answer: the one of the earliest kind.
pub fn worst(violations: &[Violation]) -> Option<&Violation> {
    violations.iter().min_by_key(|v| v.kind)
}

/// One pass over a message, collecting violations and counting characters.
#[derive(Default)]
struct Walk {
    found: Vec<Violation>,
    /// Characters of the top-level `text` plus every text object met in blocks.
    total_chars: usize,
}

impl Walk {
    fn report(&mut self, kind: ViolationKind, path: &str, detail: impl Into<String>) {
        self.found.push(Violation::new(kind, path, detail));
    }

    fn invalid_block(&mut self, path: &str, detail: impl Into<String>) {
        self.report(ViolationKind::InvalidBlocks, path, detail);
    }

    fn message(&mut self, message: &Map<String, Value>) {
        let has_text = self.top_level_text(message.get("text"));
        let has_blocks = match message.get("blocks") {
            Some(blocks) => self.blocks(blocks, "blocks"),
            None => false,
        };
        let has_attachments = self.attachments(message.get("attachments"));
        if !(has_text || has_blocks || has_attachments) {
            self.report(
                ViolationKind::NoText,
                "",
                "the message needs a non-empty `text`, `blocks` or `attachments`",
            );
        }
        if self.total_chars > MAX_TOTAL_CHARS {
            let detail = format!(
                "`text` and block text add up to {} characters (limit {MAX_TOTAL_CHARS})",
                self.total_chars
            );
            self.report(ViolationKind::MsgBlocksTooLong, "", detail);
        }
    }

    /// Returns true if and only if `text` is a non-empty string.
    fn top_level_text(&mut self, text: Option<&Value>) -> bool {
        match text {
            None | Some(Value::Null) => false,
            Some(Value::String(text)) => {
                let chars = text.chars().count();
                self.total_chars += chars;
                if chars > MAX_TEXT_CHARS {
                    let detail = format!("`text` is {chars} characters (limit {MAX_TEXT_CHARS})");
                    self.report(ViolationKind::MsgTooLong, "text", detail);
                }
                chars > 0
            }
            Some(other) => {
                let detail = format!("`text` must be a string, got {}", type_name(other));
                self.report(ViolationKind::InvalidPayload, "text", detail);
                false
            }
        }
    }

    /// Returns true if and only if there is at least one attachment.
    fn attachments(&mut self, attachments: Option<&Value>) -> bool {
        let items = match attachments {
            None | Some(Value::Null) => return false,
            Some(Value::Array(items)) => items,
            Some(other) => {
                let detail = format!("`attachments` must be an array, got {}", type_name(other));
                self.report(ViolationKind::InvalidPayload, "attachments", detail);
                return false;
            }
        };
        if items.len() > MAX_ATTACHMENTS {
            let detail = format!("{} attachments (limit {MAX_ATTACHMENTS})", items.len());
            self.report(ViolationKind::TooManyAttachments, "attachments", detail);
        }
        for (i, attachment) in items.iter().enumerate() {
            let path = format!("attachments[{i}]");
            match attachment.as_object() {
                Some(attachment) => {
                    if let Some(blocks) = attachment.get("blocks") {
                        self.blocks(blocks, &format!("{path}.blocks"));
                    }
                }
                None => {
                    let detail = format!(
                        "an attachment must be an object, got {}",
                        type_name(attachment)
                    );
                    self.report(ViolationKind::InvalidAttachments, &path, detail);
                }
            }
        }
        !items.is_empty()
    }

    /// Checks one `blocks` array; returns true if and only if it holds at least one block.
    fn blocks(&mut self, blocks: &Value, path: &str) -> bool {
        let items = match blocks {
            Value::Null => return false,
            Value::Array(items) => items,
            other => {
                let detail = format!("`blocks` must be an array, got {}", type_name(other));
                self.invalid_block(path, detail);
                return false;
            }
        };
        if items.len() > MAX_BLOCKS {
            self.invalid_block(path, format!("{} blocks (limit {MAX_BLOCKS})", items.len()));
        }
        for (i, block) in items.iter().enumerate() {
            self.block(block, &format!("{path}[{i}]"));
        }
        !items.is_empty()
    }

    fn block(&mut self, block: &Value, path: &str) {
        let Some(fields) = block.as_object() else {
            let detail = format!("a block must be an object, got {}", type_name(block));
            return self.invalid_block(path, detail);
        };
        let Some(kind) = fields.get("type").and_then(Value::as_str) else {
            return self.invalid_block(path, "a block needs a string `type`");
        };
        let checked: &[&str] = match kind {
            "header" => {
                self.header(fields, path);
                &["text"]
            }
            "section" => {
                self.section(fields, path);
                &["text", "fields"]
            }
            "context" => {
                self.context(fields, path);
                &["elements"]
            }
            _ => &[],
        };
        // Whatever the block type, nested text objects (an image's title, a button's
        // label) must not be empty and count towards the total.
        for (key, value) in fields {
            if !checked.contains(&key.as_str()) {
                self.nested(value, &format!("{path}.{key}"));
            }
        }
    }

    fn header(&mut self, fields: &Map<String, Value>, path: &str) {
        let path = format!("{path}.text");
        match fields.get("text") {
            Some(text) => {
                let limit = TextLimit {
                    what: "header text",
                    max_chars: Some(MAX_HEADER_CHARS),
                    plain_only: true,
                };
                self.text_object(text, &path, limit);
            }
            None => self.invalid_block(&path, "a header block needs `text`"),
        }
    }

    fn section(&mut self, fields: &Map<String, Value>, path: &str) {
        let text = fields.get("text");
        let items = fields.get("fields");
        if text.is_none() && items.is_none() {
            return self.invalid_block(path, "a section block needs `text` or `fields`");
        }
        if let Some(text) = text {
            let limit = TextLimit {
                what: "section text",
                max_chars: Some(MAX_SECTION_TEXT_CHARS),
                plain_only: false,
            };
            self.text_object(text, &format!("{path}.text"), limit);
        }
        let path = format!("{path}.fields");
        match items {
            None => {}
            Some(Value::Array(items)) => {
                if items.len() > MAX_SECTION_FIELDS {
                    let detail = format!(
                        "{} section fields (limit {MAX_SECTION_FIELDS})",
                        items.len()
                    );
                    self.invalid_block(&path, detail);
                }
                for (i, item) in items.iter().enumerate() {
                    let limit = TextLimit {
                        what: "section field",
                        max_chars: Some(MAX_FIELD_CHARS),
                        plain_only: false,
                    };
                    self.text_object(item, &format!("{path}[{i}]"), limit);
                }
            }
            Some(other) => {
                let detail = format!("`fields` must be an array, got {}", type_name(other));
                self.invalid_block(&path, detail);
            }
        }
    }

    fn context(&mut self, fields: &Map<String, Value>, path: &str) {
        let path = format!("{path}.elements");
        let Some(Value::Array(elements)) = fields.get("elements") else {
            return self.invalid_block(&path, "a context block needs an `elements` array");
        };
        // Slack requires at least one element; an empty context is rejected like an
        // empty text object.
        if elements.is_empty() {
            self.invalid_block(&path, "a context block needs at least one element");
        }
        if elements.len() > MAX_CONTEXT_ELEMENTS {
            let detail = format!(
                "{} context elements (limit {MAX_CONTEXT_ELEMENTS})",
                elements.len()
            );
            self.invalid_block(&path, detail);
        }
        for (i, element) in elements.iter().enumerate() {
            self.nested(element, &format!("{path}[{i}]"));
        }
    }

    /// Walks any value inside a block, checking every text object found in it.
    fn nested(&mut self, value: &Value, path: &str) {
        match value {
            Value::Object(fields) if is_text_object(fields) => {
                let limit = TextLimit {
                    what: "text",
                    max_chars: None,
                    plain_only: false,
                };
                self.text_object(value, path, limit);
            }
            Value::Object(fields) => {
                for (key, value) in fields {
                    self.nested(value, &format!("{path}.{key}"));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.nested(item, &format!("{path}[{i}]"));
                }
            }
            _ => {}
        }
    }

    /// Checks a value that must be a text object: `{"type": "plain_text"|"mrkdwn", "text": ...}`.
    fn text_object(&mut self, value: &Value, path: &str, limit: TextLimit) {
        let what = limit.what;
        let Some(fields) = value.as_object() else {
            let detail = format!("{what} must be a text object, got {}", type_name(value));
            return self.invalid_block(path, detail);
        };
        let kind = fields.get("type").and_then(Value::as_str).unwrap_or("");
        if kind != "plain_text" && kind != "mrkdwn" {
            let detail = format!("{what} needs `type` plain_text or mrkdwn, got {kind:?}");
            return self.invalid_block(path, detail);
        }
        if limit.plain_only && kind != "plain_text" {
            let detail = format!("{what} must be plain_text, got {kind}");
            self.invalid_block(path, detail);
        }
        let Some(text) = fields.get("text").and_then(Value::as_str) else {
            return self.invalid_block(path, format!("{what} needs a string `text`"));
        };
        let chars = text.chars().count();
        self.total_chars += chars;
        if chars == 0 {
            self.invalid_block(path, format!("{what} is empty"));
        }
        if let Some(max) = limit.max_chars {
            if chars > max {
                let detail = format!("{what} is {chars} characters (limit {max})");
                self.invalid_block(path, detail);
            }
        }
    }
}

/// What a text object is checked against, and how to name it in a violation.
struct TextLimit {
    what: &'static str,
    max_chars: Option<usize>,
    plain_only: bool,
}

fn is_text_object(fields: &Map<String, Value>) -> bool {
    matches!(
        fields.get("type").and_then(Value::as_str),
        Some("plain_text" | "mrkdwn")
    )
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(text: &str) -> Value {
        json!({"type": "plain_text", "text": text})
    }

    fn mrkdwn(text: &str) -> Value {
        json!({"type": "mrkdwn", "text": text})
    }

    fn header(text: Value) -> Value {
        json!({"type": "header", "text": text})
    }

    fn section(text: Value) -> Value {
        json!({"type": "section", "text": text})
    }

    fn with_blocks(blocks: Vec<Value>) -> Value {
        json!({"text": "fallback", "blocks": blocks})
    }

    /// Asserts that `payload` is answered with `error` and that the deciding violation
    /// points at `path`.
    fn assert_rejected(payload: &Value, error: &str, path: &str) {
        let violation = check(payload).expect_err("payload should be rejected");
        assert_eq!(violation.slack_error(), error, "{violation}");
        assert_eq!(violation.path, path, "{violation}");
    }

    #[test]
    fn a_full_valid_message_passes() {
        let payload = json!({
            "text": "ERROR on db-1: disk full",
            "blocks": [
                header(plain("🔥 db-1 디스크 가득 참")),
                section(mrkdwn("*disk full* on `db-1`")),
                {"type": "section", "fields": [mrkdwn("*host*\ndb-1"), mrkdwn("*level*\nERROR")]},
                {"type": "context", "elements": [mrkdwn("logstash"), {"type": "image", "image_url": "https://x/i.png", "alt_text": "i"}]},
                {"type": "divider"}
            ],
            "attachments": [{"color": "#d00000", "blocks": [section(mrkdwn("```trace```"))]}]
        });
        assert_eq!(check_all(&payload), vec![]);
        assert!(check(&payload).is_ok());
    }

    #[test]
    fn text_only_and_attachments_only_pass() {
        assert!(check(&json!({"text": "hi"})).is_ok());
        assert!(check(&json!({"attachments": [{"color": "good", "text": "hi"}]})).is_ok());
        assert!(check(&json!({"blocks": [section(plain("hi"))]})).is_ok());
    }

    #[test]
    fn not_an_object_is_invalid_payload() {
        assert_rejected(&json!(["text"]), "invalid_payload", "");
        assert_rejected(&json!("ok"), "invalid_payload", "");
        assert_rejected(&json!({"text": 5}), "invalid_payload", "text");
        assert_eq!(
            parse(b"{nope").unwrap_err().slack_error(),
            "invalid_payload"
        );
        assert_eq!(parse(br#"{"text":"a"}"#).unwrap(), json!({"text": "a"}));
    }

    #[test]
    fn nothing_to_show_is_no_text() {
        assert_rejected(&json!({}), "no_text", "");
        assert_rejected(&json!({"text": ""}), "no_text", "");
        assert_rejected(
            &json!({"text": "", "blocks": [], "attachments": []}),
            "no_text",
            "",
        );
    }

    #[test]
    fn more_than_100_attachments_is_too_many_attachments() {
        let one = json!({"text": "a"});
        assert!(check(&json!({"attachments": vec![one.clone(); 100]})).is_ok());
        assert_rejected(
            &json!({"attachments": vec![one; 101]}),
            "too_many_attachments",
            "attachments",
        );
    }

    #[test]
    fn more_than_50_blocks_is_invalid_blocks() {
        let block = section(plain("a"));
        assert!(check(&with_blocks(vec![block.clone(); 50])).is_ok());
        assert_rejected(
            &with_blocks(vec![block.clone(); 51]),
            "invalid_blocks",
            "blocks",
        );
        let in_attachment = json!({"attachments": [{"blocks": vec![block; 51]}]});
        assert_rejected(&in_attachment, "invalid_blocks", "attachments[0].blocks");
    }

    #[test]
    fn header_must_be_plain_text() {
        assert_rejected(
            &with_blocks(vec![header(mrkdwn("*bold*"))]),
            "invalid_blocks",
            "blocks[0].text",
        );
    }

    #[test]
    fn header_longer_than_150_chars_is_invalid_blocks() {
        assert!(check(&with_blocks(vec![header(plain(&"h".repeat(150)))])).is_ok());
        assert_rejected(
            &with_blocks(vec![header(plain(&"h".repeat(151)))]),
            "invalid_blocks",
            "blocks[0].text",
        );
    }

    #[test]
    fn section_text_longer_than_3000_chars_is_invalid_blocks() {
        assert!(check(&with_blocks(vec![section(mrkdwn(&"s".repeat(3000)))])).is_ok());
        assert_rejected(
            &with_blocks(vec![section(mrkdwn(&"s".repeat(3001)))]),
            "invalid_blocks",
            "blocks[0].text",
        );
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        // 3000 Korean syllables are 9000 bytes of UTF-8 but 3000 characters.
        let korean = "가".repeat(3000);
        assert_eq!(korean.len(), 9000);
        assert!(check(&with_blocks(vec![section(mrkdwn(&korean))])).is_ok());
        let over = "가".repeat(3001);
        assert_rejected(
            &with_blocks(vec![section(mrkdwn(&over))]),
            "invalid_blocks",
            "blocks[0].text",
        );
        // Emoji outside the BMP are one character each.
        assert!(check(&with_blocks(vec![header(plain(&"🔥".repeat(150)))])).is_ok());
        assert!(check(&with_blocks(vec![header(plain(&"🔥".repeat(151)))])).is_err());
    }

    #[test]
    fn more_than_10_section_fields_is_invalid_blocks() {
        let fields = |n: usize| json!({"type": "section", "fields": vec![mrkdwn("f"); n]});
        assert!(check(&with_blocks(vec![fields(10)])).is_ok());
        assert_rejected(
            &with_blocks(vec![fields(11)]),
            "invalid_blocks",
            "blocks[0].fields",
        );
    }

    #[test]
    fn section_field_longer_than_2000_chars_is_invalid_blocks() {
        let field =
            |n: usize| json!({"type": "section", "fields": [mrkdwn("ok"), mrkdwn(&"f".repeat(n))]});
        assert!(check(&with_blocks(vec![field(2000)])).is_ok());
        assert_rejected(
            &with_blocks(vec![field(2001)]),
            "invalid_blocks",
            "blocks[0].fields[1]",
        );
    }

    #[test]
    fn more_than_10_context_elements_is_invalid_blocks() {
        let context = |n: usize| json!({"type": "context", "elements": vec![mrkdwn("c"); n]});
        assert!(check(&with_blocks(vec![context(10)])).is_ok());
        assert_rejected(
            &with_blocks(vec![context(11)]),
            "invalid_blocks",
            "blocks[0].elements",
        );
        assert_rejected(
            &with_blocks(vec![context(0)]),
            "invalid_blocks",
            "blocks[0].elements",
        );
    }

    #[test]
    fn empty_text_objects_are_invalid_blocks_anywhere() {
        assert_rejected(
            &with_blocks(vec![section(mrkdwn(""))]),
            "invalid_blocks",
            "blocks[0].text",
        );
        let in_context = json!({"type": "context", "elements": [mrkdwn("a"), plain("")]});
        assert_rejected(
            &with_blocks(vec![in_context]),
            "invalid_blocks",
            "blocks[0].elements[1]",
        );
        let in_image =
            json!({"type": "image", "image_url": "https://x", "alt_text": "a", "title": plain("")});
        assert_rejected(
            &with_blocks(vec![in_image]),
            "invalid_blocks",
            "blocks[0].title",
        );
        let in_attachment = json!({"attachments": [{"blocks": [header(plain(""))]}]});
        assert_rejected(
            &in_attachment,
            "invalid_blocks",
            "attachments[0].blocks[0].text",
        );
    }

    #[test]
    fn malformed_blocks_are_invalid_blocks() {
        assert_rejected(
            &json!({"text": "a", "blocks": {"type": "divider"}}),
            "invalid_blocks",
            "blocks",
        );
        assert_rejected(
            &with_blocks(vec![json!("x")]),
            "invalid_blocks",
            "blocks[0]",
        );
        assert_rejected(
            &with_blocks(vec![json!({"text": plain("a")})]),
            "invalid_blocks",
            "blocks[0]",
        );
        assert_rejected(
            &with_blocks(vec![json!({"type": "section"})]),
            "invalid_blocks",
            "blocks[0]",
        );
        assert_rejected(
            &with_blocks(vec![section(json!("bare string"))]),
            "invalid_blocks",
            "blocks[0].text",
        );
        assert_rejected(
            &json!({"attachments": ["x"]}),
            "invalid_attachments",
            "attachments[0]",
        );
    }

    #[test]
    fn top_level_text_longer_than_40000_chars_is_recorded() {
        assert!(check_all(&json!({"text": "t".repeat(40_001)}))
            .iter()
            .any(|v| v.kind == ViolationKind::MsgTooLong && v.path == "text"));
    }

    #[test]
    fn more_than_13000_chars_in_total_is_msg_blocks_too_long() {
        // 5 sections of 2600 characters: each within its own limit, 13,000 in all.
        let blocks = vec![section(mrkdwn(&"x".repeat(2600))); 5];
        assert!(check(&json!({"blocks": blocks.clone()})).is_ok());
        // The fallback text counts too, and the total wins over other block breaches.
        let mut over = blocks;
        over.push(header(mrkdwn("not plain")));
        assert_rejected(
            &json!({"text": "t", "blocks": over}),
            "msg_blocks_too_long",
            "",
        );
        assert_rejected(
            &json!({"text": "t".repeat(13_001)}),
            "msg_blocks_too_long",
            "",
        );
    }

    #[test]
    fn every_breach_is_listed_with_where_and_what() {
        let payload = with_blocks(vec![header(plain(&"h".repeat(151))), section(mrkdwn(""))]);
        let all = check_all(&payload);
        let shown: Vec<String> = all.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            shown,
            vec![
                "invalid_blocks at blocks[0].text: header text is 151 characters (limit 150)",
                "invalid_blocks at blocks[1].text: section text is empty",
            ]
        );
    }
}
