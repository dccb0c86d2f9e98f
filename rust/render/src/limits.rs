//! Slack's limits, as documented constants, and a checker for payloads.
//!
//! Slack answers a message that breaks any Block Kit limit with a 400
//! (`invalid_blocks`) and the whole alert is lost, so every builder in
//! [`crate::render`] stays within these, and [`check`] proves it in tests
//! (and lets a caller vet a payload it did not build). All lengths are in
//! characters (Unicode scalar values), the way Slack counts them.

use std::fmt;

use serde_json::Value;

use crate::truncate::char_len;

/// At most 50 blocks per message (Slack: "blocks: maximum of 50 items").
pub const MAX_BLOCKS: usize = 50;

/// A `header` block's `plain_text` holds at most 150 characters.
pub const HEADER_MAX: usize = 150;

/// A `section` block's `text` holds at most 3000 characters.
pub const SECTION_TEXT_MAX: usize = 3000;

/// A `section` block has at most 10 `fields`.
pub const SECTION_FIELDS_MAX: usize = 10;

/// Each of a `section`'s `fields` holds at most 2000 characters.
pub const FIELD_TEXT_MAX: usize = 2000;

/// A `context` block has at most 10 elements.
pub const CONTEXT_ELEMENTS_MAX: usize = 10;

/// An `actions` block has at most 25 elements.
pub const ACTIONS_ELEMENTS_MAX: usize = 25;

/// A button's `plain_text` label holds at most 75 characters.
pub const BUTTON_TEXT_MAX: usize = 75;

/// A button's `url` holds at most 3000 characters.
pub const BUTTON_URL_MAX: usize = 3000;

/// At most 100 attachments per message (more is `too_many_attachments`).
pub const MAX_ATTACHMENTS: usize = 100;

/// Slack truncates a top-level `text` past 40,000 characters.
pub const TEXT_MAX: usize = 40_000;

/// Our budget for all the text of one message (blocks plus fallback).
/// Slack has rejected messages whose blocks add up to roughly 13,000
/// characters (`msg_blocks_too_long`); 10,000 leaves a wide margin.
pub const MESSAGE_BUDGET: usize = 10_000;

/// Our cap on any builder's top-level `text`. It is what notifications and
/// old clients show, so it never needs to be long.
pub const FALLBACK_TEXT_MAX: usize = 3000;

/// Our cap on an alert's `text`: a notification shows one line or two.
pub const ALERT_FALLBACK_MAX: usize = 300;

/// One broken rule found by [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Where in the payload, e.g. `attachments[0].blocks[2].text`.
    pub path: String,
    /// Which rule is broken, e.g. `header text has 151 characters (max 150)`.
    pub problem: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// Checks a webhook body against every documented Slack limit and our
/// [`MESSAGE_BUDGET`]; returns the broken rules (empty when the payload is
/// fine).
///
/// Checked: the body is an object with something to show (`no_text`);
/// `text` length; at most [`MAX_ATTACHMENTS`] attachments and [`MAX_BLOCKS`]
/// blocks in all; header, section and context limits; no empty text object;
/// total text within the budget.
pub fn check(payload: &Value) -> Vec<Violation> {
    let mut c = Checker::default();
    c.payload(payload);
    c.violations
}

#[derive(Default)]
struct Checker {
    violations: Vec<Violation>,
    blocks: usize,
    total_chars: usize,
}

impl Checker {
    fn fail(&mut self, path: &str, problem: String) {
        self.violations.push(Violation {
            path: path.to_string(),
            problem,
        });
    }

    fn payload(&mut self, payload: &Value) {
        let Some(obj) = payload.as_object() else {
            self.fail("$", "the body is not a JSON object".into());
            return;
        };
        let mut shows_something = false;
        match obj.get("text") {
            None => {}
            Some(Value::String(text)) => {
                let n = char_len(text);
                self.total_chars += n;
                shows_something |= !text.trim().is_empty();
                if n > TEXT_MAX {
                    self.fail("text", format!("has {n} characters (max {TEXT_MAX})"));
                }
            }
            Some(_) => self.fail("text", "is not a string".into()),
        }
        if let Some(blocks) = obj.get("blocks") {
            shows_something |= self.blocks(blocks, "blocks");
        }
        match obj.get("attachments") {
            None => {}
            Some(Value::Array(attachments)) => {
                if attachments.len() > MAX_ATTACHMENTS {
                    self.fail(
                        "attachments",
                        format!("has {} items (max {MAX_ATTACHMENTS})", attachments.len()),
                    );
                }
                for (i, attachment) in attachments.iter().enumerate() {
                    if let Some(blocks) = attachment.get("blocks") {
                        let path = format!("attachments[{i}].blocks");
                        shows_something |= self.blocks(blocks, &path);
                    }
                    if let Some(Value::String(text)) = attachment.get("text") {
                        self.total_chars += char_len(text);
                        shows_something |= !text.trim().is_empty();
                    }
                }
            }
            Some(_) => self.fail("attachments", "is not an array".into()),
        }
        if !shows_something {
            self.fail(
                "$",
                "nothing to show: no text and no blocks (no_text)".into(),
            );
        }
        if self.blocks > MAX_BLOCKS {
            let n = self.blocks;
            self.fail("$", format!("has {n} blocks (max {MAX_BLOCKS})"));
        }
        if self.total_chars > MESSAGE_BUDGET {
            let n = self.total_chars;
            self.fail(
                "$",
                format!("has {n} characters of text (budget {MESSAGE_BUDGET})"),
            );
        }
    }

    /// Checks a `blocks` array; returns true if it holds any block.
    fn blocks(&mut self, blocks: &Value, path: &str) -> bool {
        let Some(blocks) = blocks.as_array() else {
            self.fail(path, "is not an array".into());
            return false;
        };
        self.blocks += blocks.len();
        for (i, block) in blocks.iter().enumerate() {
            self.block(block, &format!("{path}[{i}]"));
        }
        !blocks.is_empty()
    }

    fn block(&mut self, block: &Value, path: &str) {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "header" => {
                let text = block.get("text");
                if text.and_then(|t| t.get("type")).and_then(Value::as_str) != Some("plain_text") {
                    self.fail(path, "header text must be plain_text".into());
                }
                self.text_object(text, &format!("{path}.text"), HEADER_MAX);
            }
            "section" => {
                let text = block.get("text");
                let fields = block.get("fields").and_then(Value::as_array);
                if text.is_none() && fields.is_none() {
                    self.fail(path, "section has neither text nor fields".into());
                }
                if text.is_some() {
                    self.text_object(text, &format!("{path}.text"), SECTION_TEXT_MAX);
                }
                if let Some(fields) = fields {
                    if fields.is_empty() || fields.len() > SECTION_FIELDS_MAX {
                        self.fail(
                            path,
                            format!(
                                "section has {} fields (1 to {SECTION_FIELDS_MAX})",
                                fields.len()
                            ),
                        );
                    }
                    for (i, field) in fields.iter().enumerate() {
                        self.text_object(
                            Some(field),
                            &format!("{path}.fields[{i}]"),
                            FIELD_TEXT_MAX,
                        );
                    }
                }
            }
            "context" => {
                let elements = self.elements(block, path, "context", CONTEXT_ELEMENTS_MAX);
                for (i, element) in elements.iter().enumerate() {
                    if element.get("text").is_some() {
                        self.text_object(
                            Some(element),
                            &format!("{path}.elements[{i}]"),
                            SECTION_TEXT_MAX,
                        );
                    }
                }
            }
            "actions" => {
                let elements = self.elements(block, path, "actions", ACTIONS_ELEMENTS_MAX);
                for (i, element) in elements.iter().enumerate() {
                    if element.get("type").and_then(Value::as_str) == Some("button") {
                        self.button(element, &format!("{path}.elements[{i}]"));
                    }
                }
            }
            "" => self.fail(path, "block has no type".into()),
            // Other block types have limits of their own that our builders
            // never use; they are not checked.
            _ => {}
        }
    }

    /// The `elements` of a `kind` block, failing unless it has 1 to `max`.
    fn elements<'b>(
        &mut self,
        block: &'b Value,
        path: &str,
        kind: &str,
        max: usize,
    ) -> &'b [Value] {
        let elements = block.get("elements").and_then(Value::as_array);
        let n = elements.map_or(0, Vec::len);
        if n == 0 || n > max {
            self.fail(path, format!("{kind} has {n} elements (1 to {max})"));
        }
        elements.map_or(&[], Vec::as_slice)
    }

    fn button(&mut self, button: &Value, path: &str) {
        let text = button.get("text");
        if text.and_then(|t| t.get("type")).and_then(Value::as_str) != Some("plain_text") {
            self.fail(path, "button text must be plain_text".into());
        }
        self.text_object(text, &format!("{path}.text"), BUTTON_TEXT_MAX);
        match button.get("url") {
            None => {}
            Some(Value::String(url)) => {
                let n = char_len(url);
                if n == 0 || n > BUTTON_URL_MAX {
                    self.fail(
                        &format!("{path}.url"),
                        format!("has {n} characters (1 to {BUTTON_URL_MAX})"),
                    );
                }
            }
            Some(_) => self.fail(&format!("{path}.url"), "is not a string".into()),
        }
    }

    fn text_object(&mut self, object: Option<&Value>, path: &str, max: usize) {
        let kind = object.and_then(|o| o.get("type")).and_then(Value::as_str);
        if !matches!(kind, Some("plain_text" | "mrkdwn")) {
            self.fail(path, "is not a plain_text or mrkdwn text object".into());
        }
        let Some(text) = object.and_then(|o| o.get("text")).and_then(Value::as_str) else {
            self.fail(path, "text object has no text".into());
            return;
        };
        let n = char_len(text);
        self.total_chars += n;
        if text.trim().is_empty() {
            self.fail(path, "text is empty".into());
        }
        if n > max {
            self.fail(path, format!("text has {n} characters (max {max})"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(payload: Value) -> Vec<String> {
        check(&payload).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_well_formed_payload_passes() {
        let payload = json!({
            "text": "ERROR in x",
            "attachments": [{"color": "#d00000", "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "🚨 ERROR", "emoji": true}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "hi"},
                 "fields": [{"type": "mrkdwn", "text": "*A*\nb"}]},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}]},
                {"type": "divider"}
            ]}]
        });
        assert_eq!(problems(payload), Vec::<String>::new());
    }

    #[test]
    fn every_rule_is_checked() {
        let long = |n: usize| "가".repeat(n);
        let section = |t: String| json!({"type": "section", "text": {"type": "mrkdwn", "text": t}});
        assert!(!problems(json!("x")).is_empty());
        assert!(!problems(json!({})).is_empty(), "no_text");
        assert!(!problems(json!({"text": "  "})).is_empty(), "blank text");
        assert!(!problems(json!({"text": long(TEXT_MAX + 1)})).is_empty());
        let header = json!({"type": "header", "text": {"type": "plain_text", "text": long(151)}});
        assert!(!problems(json!({"text": "x", "blocks": [header]})).is_empty());
        let header = json!({"type": "header", "text": {"type": "mrkdwn", "text": "x"}});
        assert!(!problems(json!({"text": "x", "blocks": [header]})).is_empty());
        assert!(!problems(json!({"text": "x", "blocks": [section(long(3001))]})).is_empty());
        assert!(problems(json!({"text": "x", "blocks": [section(long(3000))]})).is_empty());
        assert!(!problems(json!({"text": "x", "blocks": [section(String::new())]})).is_empty());
        let fields: Vec<Value> = (0..11)
            .map(|_| json!({"type": "mrkdwn", "text": "f"}))
            .collect();
        let many = json!({"type": "section", "fields": fields});
        assert!(!problems(json!({"text": "x", "blocks": [many]})).is_empty());
        let wide = json!({"type": "section", "fields": [{"type": "mrkdwn", "text": long(2001)}]});
        assert!(!problems(json!({"text": "x", "blocks": [wide]})).is_empty());
        let elements: Vec<Value> = (0..11)
            .map(|_| json!({"type": "mrkdwn", "text": "e"}))
            .collect();
        let context = json!({"type": "context", "elements": elements});
        assert!(!problems(json!({"text": "x", "blocks": [context]})).is_empty());
        let button = |text: String, url: String| {
            json!({"type": "actions", "elements": [{"type": "button",
                "text": {"type": "plain_text", "text": text}, "url": url}]})
        };
        let ok = button("x".repeat(75), format!("https://{}", "a".repeat(2992)));
        assert!(problems(json!({"text": "x", "blocks": [ok]})).is_empty());
        let wide = button(long(76), "https://x".into());
        assert!(!problems(json!({"text": "x", "blocks": [wide]})).is_empty());
        let far = button("x".into(), format!("https://{}", "a".repeat(2993)));
        assert!(!problems(json!({"text": "x", "blocks": [far]})).is_empty());
        let blank = button(" ".into(), "https://x".into());
        assert!(!problems(json!({"text": "x", "blocks": [blank]})).is_empty());
        let none = json!({"type": "actions", "elements": []});
        assert!(!problems(json!({"text": "x", "blocks": [none]})).is_empty());
        let blocks: Vec<Value> = (0..51).map(|_| json!({"type": "divider"})).collect();
        assert!(!problems(json!({"text": "x", "blocks": blocks})).is_empty());
        let attachments: Vec<Value> = (0..101).map(|_| json!({"color": "#000"})).collect();
        assert!(!problems(json!({"text": "x", "attachments": attachments})).is_empty());
        let blocks: Vec<Value> = (0..4).map(|_| section(long(2999))).collect();
        let over = problems(json!({"text": "x", "blocks": blocks}));
        assert_eq!(over.len(), 1, "{over:?}");
        assert!(over[0].contains("budget"), "{over:?}");
    }
}
