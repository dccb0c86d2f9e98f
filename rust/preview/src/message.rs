//! One Slack message (an incoming-webhook body) as the HTML of what Slack
//! shows in the channel.
//!
//! Slack's layout, as far as a preview needs it:
//! - the top-level `text` is the message's body unless there are top-level
//!   `blocks` (then it is only the notification): with blocks inside an
//!   attachment, as this project sends them for the colour bar, Slack shows
//!   both the text and the attachment;
//! - `blocks`: `header` (bold, large, plain text), `section` (text, two
//!   columns of `fields`, an accessory), `context` (small grey), `divider`,
//!   `actions` (buttons; a link button is an anchor), `image` (its alt text:
//!   the page fetches nothing), `rich_text` (its text);
//! - `attachments`: a bar in the attachment's `color` left of its
//!   `pretext`, `author_name`, `title`, `text`, `fields`, `blocks` and
//!   `footer`.
//!
//! Like `slack_alert_render::plain`, it accepts any JSON: what it does not
//! know is shown in brackets, and nothing panics.

use serde_json::Value;

use crate::html;
use crate::mrkdwn::{self, plain_with_emoji};

/// The colour of an attachment without a (valid) `color`: Slack's grey.
const NO_COLOR: &str = "#dddddd";

/// The HTML of what Slack shows for `payload` (a `<div class="slack">`).
pub fn to_html(payload: &Value) -> String {
    let mut out = String::from("<div class=\"slack\">");
    let Some(obj) = payload.as_object() else {
        out.push_str(&unknown(&format!(
            "not a Slack message: {}",
            summary(payload)
        )));
        out.push_str("</div>");
        return out;
    };
    let top_blocks = obj.get("blocks").filter(|b| !is_empty_array(b));
    if top_blocks.is_none() {
        if let Some(text) = obj.get("text").and_then(Value::as_str) {
            out.push_str("<div class=\"text\">");
            out.push_str(&mrkdwn::to_html(text));
            out.push_str("</div>");
        }
    }
    if let Some(blocks) = top_blocks {
        blocks_html(blocks, &mut out);
    }
    match obj.get("attachments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(attachments)) => {
            for attachment in attachments {
                attachment_html(attachment, &mut out);
            }
        }
        Some(other) => out.push_str(&unknown(&format!("attachments: {}", summary(other)))),
    }
    out.push_str("</div>");
    out
}

/// What a notification (a phone, the sidebar) shows for `payload`: its
/// top-level `text`, else the first attachment `fallback`, as plain text.
pub fn notification(payload: &Value) -> Option<String> {
    let text = payload
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .or_else(|| {
            payload
                .get("attachments")?
                .as_array()?
                .iter()
                .find_map(|a| a.get("fallback").and_then(Value::as_str))
        })?;
    // The terminal rendering spells mentions out (`@here`) and decodes
    // entities, as a notification shows them.
    let plain = slack_alert_render::plain::to_text(&serde_json::json!({ "text": text }));
    let line: Vec<&str> = plain
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Some(line.join(" "))
}

fn attachment_html(attachment: &Value, out: &mut String) {
    let Some(obj) = attachment.as_object() else {
        out.push_str(&unknown(&format!("attachment: {}", summary(attachment))));
        return;
    };
    let text = |key: &str| {
        obj.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    // The pretext sits above the bar.
    if let Some(pretext) = text("pretext") {
        out.push_str("<div class=\"text\">");
        out.push_str(&mrkdwn::to_html(pretext));
        out.push_str("</div>");
    }
    let color = obj
        .get("color")
        .and_then(Value::as_str)
        .and_then(html::color)
        .unwrap_or_else(|| NO_COLOR.to_string());
    out.push_str(&format!(
        "<div class=\"attachment\"><div class=\"bar\" style=\"background:{color}\"></div>\
         <div class=\"attachment-body\">"
    ));
    if let Some(author) = text("author_name") {
        out.push_str(&format!(
            "<div class=\"author\">{}</div>",
            html::text(author)
        ));
    }
    if let Some(title) = text("title") {
        let title = html::text(title);
        match text("title_link").filter(|l| html::is_safe_url(l)) {
            Some(link) => out.push_str(&format!(
                "<div class=\"title\"><a href=\"{}\" rel=\"noopener noreferrer\" \
                 target=\"_blank\">{title}</a></div>",
                html::attribute(link)
            )),
            None => out.push_str(&format!("<div class=\"title\">{title}</div>")),
        }
    }
    if let Some(body) = text("text") {
        out.push_str("<div class=\"text\">");
        out.push_str(&mrkdwn::to_html(body));
        out.push_str("</div>");
    }
    if let Some(fields) = obj.get("fields").and_then(Value::as_array) {
        out.push_str("<div class=\"fields\">");
        for field in fields {
            let title = field.get("title").and_then(Value::as_str).unwrap_or("");
            let value = field.get("value").and_then(Value::as_str).unwrap_or("");
            let short = field.get("short").and_then(Value::as_bool) == Some(true);
            out.push_str(&format!(
                "<div class=\"field{}\"><b>{}</b>\n{}</div>",
                if short { "" } else { " wide" },
                html::text(title),
                mrkdwn::to_html(value)
            ));
        }
        out.push_str("</div>");
    }
    if let Some(blocks) = obj.get("blocks") {
        blocks_html(blocks, out);
    }
    if let Some(image) = text("image_url") {
        out.push_str(&image_placeholder("image", image));
    }
    if let Some(footer) = text("footer") {
        out.push_str(&format!(
            "<div class=\"context\">{}</div>",
            mrkdwn::to_html(footer)
        ));
    }
    out.push_str("</div></div>");
}

fn blocks_html(blocks: &Value, out: &mut String) {
    let Some(blocks) = blocks.as_array() else {
        out.push_str(&unknown(&format!("blocks: {}", summary(blocks))));
        return;
    };
    for block in blocks {
        block_html(block, out);
    }
}

fn block_html(block: &Value, out: &mut String) {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "header" => {
            out.push_str("<div class=\"header\">");
            out.push_str(&text_object(block.get("text")));
            out.push_str("</div>");
        }
        "section" => {
            out.push_str("<div class=\"section\"><div class=\"section-main\">");
            if let Some(text) = block.get("text") {
                out.push_str("<div class=\"text\">");
                out.push_str(&text_object(Some(text)));
                out.push_str("</div>");
            }
            if let Some(fields) = block.get("fields").and_then(Value::as_array) {
                out.push_str("<div class=\"fields\">");
                for field in fields {
                    out.push_str("<div class=\"field\">");
                    out.push_str(&text_object(Some(field)));
                    out.push_str("</div>");
                }
                out.push_str("</div>");
            }
            out.push_str("</div>");
            if let Some(accessory) = block.get("accessory") {
                out.push_str("<div class=\"accessory\">");
                out.push_str(&element(accessory));
                out.push_str("</div>");
            }
            out.push_str("</div>");
        }
        "context" => {
            out.push_str("<div class=\"context\">");
            let elements = block.get("elements").and_then(Value::as_array);
            for (i, e) in elements.into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str("<span class=\"context-element\">");
                match e.get("type").and_then(Value::as_str) {
                    Some("image") => out.push_str(&format!(
                        "<span class=\"image-alt\">[{}]</span>",
                        html::text(e.get("alt_text").and_then(Value::as_str).unwrap_or("image"))
                    )),
                    _ => out.push_str(&text_object(Some(e))),
                }
                out.push_str("</span>");
            }
            out.push_str("</div>");
        }
        "divider" => out.push_str("<hr class=\"divider\">"),
        "actions" => {
            out.push_str("<div class=\"actions\">");
            let elements = block.get("elements").and_then(Value::as_array);
            for e in elements.into_iter().flatten() {
                out.push_str(&element(e));
            }
            out.push_str("</div>");
        }
        "image" => {
            let alt = block.get("alt_text").and_then(Value::as_str).unwrap_or("");
            let url = block.get("image_url").and_then(Value::as_str).unwrap_or("");
            out.push_str(&image_placeholder(alt, url));
        }
        "rich_text" => {
            let mut text = String::new();
            collect_text(block, &mut text);
            out.push_str(&format!("<div class=\"text\">{}</div>", html::text(&text)));
        }
        "" => out.push_str(&unknown(&format!(
            "block without a type: {}",
            summary(block)
        ))),
        other => out.push_str(&unknown(&format!("{other} block"))),
    }
}

/// A text object: mrkdwn formatted, plain text as it is (with emoji codes).
fn text_object(object: Option<&Value>) -> String {
    let Some(object) = object else {
        return String::new();
    };
    let text = object.get("text").and_then(Value::as_str).unwrap_or("");
    let text = slack_alert_render::escape::replace_controls(text);
    match object.get("type").and_then(Value::as_str) {
        Some("plain_text") => plain_with_emoji(&text),
        _ => mrkdwn::to_html(&text),
    }
}

/// A button (a link button is an anchor), an image, another element.
fn element(element: &Value) -> String {
    match element.get("type").and_then(Value::as_str) {
        Some("button") => {
            let label = text_object(element.get("text"));
            let style = match element.get("style").and_then(Value::as_str) {
                Some("primary") => " primary",
                Some("danger") => " danger",
                _ => "",
            };
            match element
                .get("url")
                .and_then(Value::as_str)
                .filter(|u| html::is_safe_url(u))
            {
                Some(url) => format!(
                    "<a class=\"button{style}\" href=\"{}\" rel=\"noopener noreferrer\" \
                     target=\"_blank\">{label}</a>",
                    html::attribute(url)
                ),
                None => format!("<span class=\"button{style}\">{label}</span>"),
            }
        }
        Some("image") => {
            let alt = element
                .get("alt_text")
                .and_then(Value::as_str)
                .unwrap_or("");
            let url = element
                .get("image_url")
                .and_then(Value::as_str)
                .unwrap_or("");
            image_placeholder(alt, url)
        }
        Some(other) => unknown(other),
        None => unknown(&format!("element: {}", summary(element))),
    }
}

/// An image, not fetched: a box naming it and where it is.
fn image_placeholder(alt: &str, url: &str) -> String {
    format!(
        "<div class=\"image\">🖼 {} <span class=\"image-url\">{}</span></div>",
        html::text(if alt.is_empty() { "image" } else { alt }),
        html::text(url)
    )
}

fn unknown(what: &str) -> String {
    format!("<div class=\"unknown\">[{}]</div>", html::text(what))
}

/// Gathers every `text` string under a rich_text block.
fn collect_text(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("text") {
                out.push_str(text);
            }
            if let Some(elements) = map.get("elements") {
                collect_text(elements, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_text(item, out)),
        _ => {}
    }
}

fn summary(value: &Value) -> String {
    slack_alert_render::truncate::truncate_chars(&value.to_string(), 80).into_owned()
}

fn is_empty_array(value: &Value) -> bool {
    value.as_array().is_some_and(Vec::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use slack_alert_render::{render_alert, AlertView, Style};

    #[test]
    fn an_alert_shows_its_headline_once_then_the_coloured_attachment() {
        let event = json!({
            "@timestamp": "2024-05-01T12:34:56.789Z",
            "service.name": "checkout",
            "message": "payment failed <!channel> <script>alert(1)</script>",
            "error.stack_trace": "java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)"
        });
        let view = AlertView {
            raw_level: Some("error"),
            mention: Some("<!here>"),
            rule: Some("payments"),
            ..AlertView::new("ERROR", &event)
        };
        let html = to_html(&render_alert(&view, &Style::default()));
        // The header leads at the top level, so Slack keeps the text for
        // notifications and the headline shows once, above the colour bar.
        assert!(
            html.starts_with("<div class=\"slack\"><div class=\"header\">"),
            "{html}"
        );
        assert_eq!(html.matches("ERROR in checkout").count(), 1, "{html}");
        let header_at = html
            .find("<div class=\"header\">🚨 ERROR in checkout</div>")
            .unwrap();
        let bar_at = html
            .find("<div class=\"bar\" style=\"background:#d00000\">")
            .unwrap();
        assert!(header_at < bar_at, "{html}");
        assert!(html.contains("<pre class=\"code\">java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)</pre>"), "{html}");
        assert!(
            html.contains("<div class=\"field\"><b>Service</b>\ncheckout</div>"),
            "{html}"
        );
        assert!(html.contains("<div class=\"context\"><span class=\"context-element\"><b>Rule:</b> payments</span></div>"), "{html}");
        // The event's mention and markup are text.
        assert!(
            html.contains("payment failed &lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
        assert_eq!(
            html.matches("mention broadcast").count(),
            1,
            "the section's: {html}"
        );
    }

    #[test]
    fn top_level_blocks_make_the_text_a_notification_only() {
        let payload = json!({"text": "fallback <!here>", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "body"}}
        ]});
        let html = to_html(&payload);
        assert!(!html.contains("fallback"), "{html}");
        assert!(html.contains("<div class=\"text\">body</div>"), "{html}");
        assert_eq!(notification(&payload).as_deref(), Some("fallback @here"));
        let legacy = json!({"attachments": [{"fallback": "disk &lt;full&gt;", "color": "good"}]});
        assert_eq!(notification(&legacy).as_deref(), Some("disk <full>"));
        assert_eq!(notification(&json!({"text": " "})), None);
    }

    #[test]
    fn every_block_kind() {
        let payload = json!({"blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": ":fire: <b>hot</b> & *raw*", "emoji": true}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "s"},
             "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Ack"}, "style": "primary"}},
            {"type": "divider"},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": "*a*"}, {"type": "image", "image_url": "https://i.test/x.png", "alt_text": "pic"},
                {"type": "plain_text", "text": "b"}]},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open logs"}, "url": "https://k.test/?q=a%20b&x=\"1\""},
                {"type": "button", "text": {"type": "plain_text", "text": "Evil"}, "url": "javascript:alert(1)", "style": "danger"},
                {"type": "static_select"}]},
            {"type": "image", "image_url": "https://i.test/graph.png", "alt_text": "graph"},
            {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "<hi>"}]}]},
            {"type": "video"},
            {"nope": 1}
        ]});
        let html = to_html(&payload);
        for expected in [
            "<div class=\"header\">🔥 &lt;b&gt;hot&lt;/b&gt; &amp; *raw*</div>",
            "<div class=\"accessory\"><span class=\"button primary\">Ack</span></div>",
            "<hr class=\"divider\">",
            "<span class=\"context-element\"><b>a</b></span> <span class=\"context-element\"><span class=\"image-alt\">[pic]</span></span> <span class=\"context-element\">b</span>",
            "<a class=\"button\" href=\"https://k.test/?q=a%20b&amp;x=&quot;1&quot;\" rel=\"noopener noreferrer\" target=\"_blank\">Open logs</a>",
            "<span class=\"button danger\">Evil</span>",
            "<div class=\"unknown\">[static_select]</div>",
            "<div class=\"image\">🖼 graph <span class=\"image-url\">https://i.test/graph.png</span></div>",
            "<div class=\"text\">&lt;hi&gt;</div>",
            "<div class=\"unknown\">[video block]</div>",
            "<div class=\"unknown\">[block without a type: {&quot;nope&quot;:1}]</div>",
        ] {
            assert!(html.contains(expected), "{expected}\nnot in\n{html}");
        }
        assert!(!html.contains("<img"), "nothing is fetched: {html}");
    }

    #[test]
    fn legacy_attachments_and_hostile_colours() {
        let payload = json!({"attachments": [{
            "color": "red;background:url(https://evil.test/x)", "pretext": "pre", "author_name": "<a>",
            "title": "T", "title_link": "https://t.test", "text": "*body*",
            "fields": [{"title": "F", "value": "v", "short": true}, {"title": "G", "value": "w"}],
            "footer": "foot", "image_url": "https://i.test/x.png"
        }, "nonsense"]});
        let html = to_html(&payload);
        assert!(html.starts_with("<div class=\"slack\"><div class=\"text\">pre</div><div class=\"attachment\"><div class=\"bar\" style=\"background:#dddddd\">"), "{html}");
        assert!(!html.contains("evil"), "{html}");
        for expected in [
            "<div class=\"author\">&lt;a&gt;</div>",
            "<div class=\"title\"><a href=\"https://t.test\" rel=\"noopener noreferrer\" target=\"_blank\">T</a></div>",
            "<div class=\"text\"><b>body</b></div>",
            "<div class=\"field\"><b>F</b>\nv</div><div class=\"field wide\"><b>G</b>\nw</div>",
            "<div class=\"context\">foot</div>",
            "<div class=\"unknown\">[attachment: &quot;nonsense&quot;]</div>",
        ] {
            assert!(html.contains(expected), "{expected}\nnot in\n{html}");
        }
    }

    #[test]
    fn arbitrary_payloads_never_panic() {
        for payload in [
            json!(null),
            json!("text"),
            json!([1]),
            json!({}),
            json!({"text": 5, "blocks": "x", "attachments": 3}),
            json!({"blocks": [1, {"type": 2}, {"type": "section", "fields": [1, {"text": 2}]},
                {"type": "context", "elements": [3, {"type": "image"}]}, {"type": "actions", "elements": 1}]}),
            json!({"attachments": [{"color": 3, "fields": [1], "blocks": [{}]}]}),
        ] {
            let html = to_html(&payload);
            assert!(html.starts_with("<div class=\"slack\">") && html.ends_with("</div>"));
        }
    }
}
