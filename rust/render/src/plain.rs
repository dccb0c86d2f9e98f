//! A payload rendered as plain text for a terminal.
//!
//! The dry-run mode and the demo receiver print what Slack would show, so an
//! operator can check a pipeline without a webhook. The output is meant for
//! eyes, not machines: each attachment's lines carry a `▌` bar like Slack's
//! coloured side bar, the header is framed, fields read `Label: value`, code
//! blocks are indented, and entities are unescaped (`&lt;` shows as `<`).
//! Mentions and links show as `@here` and `label (url)`, so a reader can
//! tell an operator's real mention from escaped event text.
//!
//! It accepts any JSON, not only this crate's payloads: unknown blocks are
//! summarised in brackets and nothing panics.

use serde_json::Value;

use crate::escape::{replace_controls, unescape_mrkdwn};

/// How a person would read `payload` in a terminal.
pub fn to_text(payload: &Value) -> String {
    let mut out = Vec::new();
    let Some(obj) = payload.as_object() else {
        return format!("[not a Slack message: {}]\n", summary(payload));
    };

    let route: Vec<String> = [
        obj.get("channel")
            .and_then(Value::as_str)
            .map(str::to_string),
        obj.get("username")
            .and_then(Value::as_str)
            .map(|u| format!("as {u}")),
        obj.get("icon_emoji")
            .or_else(|| obj.get("icon_url"))
            .and_then(Value::as_str)
            .map(str::to_string),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !route.is_empty() {
        out.push(format!("→ {}", route.join(" ")));
    }

    let attachments = obj.get("attachments").and_then(Value::as_array);
    // As Slack does: top-level blocks make `text` the notification only;
    // blocks inside attachments do not (it is shown above them).
    let has_blocks = obj.get("blocks").is_some_and(is_non_empty_array);
    if let Some(text) = obj.get("text").and_then(Value::as_str) {
        if has_blocks {
            out.push(format!("notification: {}", inline(text)));
        } else {
            out.extend(mrkdwn_lines(text));
        }
    }
    if let Some(blocks) = obj.get("blocks") {
        out.extend(blocks_lines(blocks));
    }
    for attachment in attachments.into_iter().flatten() {
        out.extend(attachment_lines(attachment).into_iter().map(|l| {
            if l.is_empty() {
                "▌".to_string()
            } else {
                format!("▌ {l}")
            }
        }));
    }

    let mut text = String::new();
    for line in out {
        text.push_str(&replace_controls(&line));
        text.push('\n');
    }
    text
}

/// A colour as a person names it, with the code: `red (#d00000)`.
fn color_name(color: &str) -> String {
    let name = match color.to_ascii_lowercase().as_str() {
        "#8b0000" => "dark red",
        "#d00000" | "danger" => "red",
        "#daa038" | "warning" => "amber",
        "#439fe0" => "blue",
        "#2eb886" | "good" => "green",
        _ => return color.to_string(),
    };
    format!("{name} ({color})")
}

fn attachment_lines(attachment: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(obj) = attachment.as_object() else {
        out.push(format!("[attachment: {}]", summary(attachment)));
        return out;
    };
    out.push(match obj.get("color").and_then(Value::as_str) {
        Some(color) => color_name(color),
        None => "(no colour)".to_string(),
    });
    let text = |key: &str| {
        obj.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(pretext) = text("pretext") {
        out.extend(mrkdwn_lines(pretext));
    }
    if let Some(author) = text("author_name") {
        out.push(inline(author));
    }
    if let Some(title) = text("title") {
        let mut line = format!("== {} ==", inline(title));
        if let Some(link) = text("title_link") {
            line.push_str(&format!(" ({link})"));
        }
        out.push(line);
    }
    if let Some(body) = text("text") {
        out.extend(mrkdwn_lines(body));
    }
    for field in obj
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let title = field.get("title").and_then(Value::as_str).unwrap_or("");
        let value = field.get("value").and_then(Value::as_str).unwrap_or("");
        out.extend(labelled(&inline(title), &mrkdwn_lines(value)));
    }
    if let Some(blocks) = obj.get("blocks") {
        out.extend(blocks_lines(blocks));
    }
    if let Some(footer) = text("footer") {
        out.push(format!("· {}", inline(footer)));
    }
    out
}

fn blocks_lines(blocks: &Value) -> Vec<String> {
    let Some(blocks) = blocks.as_array() else {
        return vec![format!("[blocks: {}]", summary(blocks))];
    };
    blocks.iter().flat_map(block_lines).collect()
}

fn block_lines(block: &Value) -> Vec<String> {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    let mut out = Vec::new();
    match kind {
        "header" => out.push(format!("== {} ==", text_object_inline(block.get("text")))),
        "section" => {
            if let Some(text) = block.get("text") {
                out.extend(text_object_lines(text));
            }
            for field in block
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.extend(field_lines(field));
            }
            if let Some(accessory) = block.get("accessory") {
                out.push(format!("[{}]", element_summary(accessory)));
            }
        }
        "context" => {
            let parts: Vec<String> = block
                .get("elements")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| match e.get("text") {
                    Some(_) => text_object_inline(Some(e)),
                    None => format!("[{}]", element_summary(e)),
                })
                .collect();
            out.push(format!("· {}", parts.join(" · ")));
        }
        "divider" => out.push("─".repeat(40)),
        "image" => {
            let alt = block.get("alt_text").and_then(Value::as_str).unwrap_or("");
            let url = block.get("image_url").and_then(Value::as_str).unwrap_or("");
            out.push(format!("[image: {alt}] {url}").trim_end().to_string());
        }
        "actions" => {
            let parts: Vec<String> = block
                .get("elements")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(element_summary)
                .collect();
            out.push(format!("[actions: {}]", parts.join(" | ")));
        }
        "rich_text" => {
            let mut text = String::new();
            collect_text(block, &mut text);
            out.extend(text.lines().map(str::to_string));
        }
        "" => out.push(format!("[block without a type: {}]", summary(block))),
        other => out.push(format!("[{other} block]")),
    }
    out
}

/// A field of a section: `*Label*\nvalue` reads as `Label: value`.
fn field_lines(field: &Value) -> Vec<String> {
    let text = field.get("text").and_then(Value::as_str).unwrap_or("");
    if let Some((label, value)) = text
        .strip_prefix('*')
        .and_then(|rest| rest.split_once("*\n"))
    {
        return labelled(&inline(label), &mrkdwn_lines(value));
    }
    text_object_lines(field)
}

/// `Label: first line`, further lines indented under it.
fn labelled(label: &str, value: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = value.iter();
    match lines.next() {
        Some(first) => out.push(format!("{label}: {}", first.trim_start())),
        None => out.push(format!("{label}:")),
    }
    out.extend(lines.map(|l| format!("  {l}")));
    out
}

fn text_object_lines(object: &Value) -> Vec<String> {
    let text = object.get("text").and_then(Value::as_str).unwrap_or("");
    match object.get("type").and_then(Value::as_str) {
        Some("plain_text") => text.lines().map(str::to_string).collect(),
        _ => mrkdwn_lines(text),
    }
}

fn text_object_inline(object: Option<&Value>) -> String {
    match object {
        Some(o) => text_object_lines(o).join(" "),
        None => String::new(),
    }
}

/// mrkdwn on one line.
fn inline(text: &str) -> String {
    mrkdwn_lines(text)
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// mrkdwn as display lines: ``` blocks indented by four spaces, mentions
/// and links spelled out, entities unescaped.
fn mrkdwn_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, segment) in text.split("```").enumerate() {
        if i % 2 == 1 {
            let code = segment.strip_prefix('\n').unwrap_or(segment);
            let code = code.strip_suffix('\n').unwrap_or(code);
            out.extend(
                unescape_mrkdwn(code)
                    .lines()
                    .map(|l| format!("    {l}").trim_end().to_string()),
            );
        } else {
            let segment = segment.trim_matches('\n');
            if !segment.is_empty() {
                out.extend(spell_out(segment).lines().map(str::to_string));
            }
        }
    }
    out
}

/// Rewrites Slack's `<...>` control sequences for display, then unescapes
/// entities (which were event text and never controls).
fn spell_out(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        out.push_str(&unescape_mrkdwn(&rest[..open]));
        out.push_str(&control(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    out.push_str(&unescape_mrkdwn(rest));
    out
}

/// `!here` → `@here`, `@U1|ann` → `@ann`, `url|label` → `label (url)`.
fn control(inner: &str) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(unescape_mrkdwn(l).into_owned())),
        None => (inner, None),
    };
    if let Some(special) = target.strip_prefix('!') {
        return match (special.split('^').next().unwrap_or(""), label) {
            (_, Some(label)) => label,
            (name, None) => format!("@{name}"),
        };
    }
    if let Some(rest) = target
        .strip_prefix('@')
        .or_else(|| target.strip_prefix('#'))
    {
        let sigil = &target[..1];
        return match label {
            Some(label) => format!("{sigil}{}", label.trim_start_matches(sigil)),
            None => format!("{sigil}{rest}"),
        };
    }
    let url = unescape_mrkdwn(target);
    match label {
        Some(label) => format!("{label} ({url})"),
        None => url.into_owned(),
    }
}

/// A button, image or other element as a few words.
fn element_summary(element: &Value) -> String {
    let kind = element
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("element");
    let text = element
        .get("text")
        .map(|t| text_object_inline(Some(t)))
        .or_else(|| {
            element
                .get("alt_text")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let summary = if text.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {text}")
    };
    // A link button shows where it leads, so a dry run can be checked.
    match element.get("url").and_then(Value::as_str) {
        Some(url) => format!("{summary} ({url})"),
        None => summary,
    }
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
        Value::Array(items) => {
            for item in items {
                collect_text(item, out);
            }
        }
        _ => {}
    }
}

/// A short description of an unexpected value.
fn summary(value: &Value) -> String {
    let text = value.to_string();
    crate::truncate::truncate_chars(&text, 80).into_owned()
}

fn is_non_empty_array(value: &Value) -> bool {
    value.as_array().is_some_and(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{
        render_alert, render_repeat, render_summary, render_test, AlertView, RepeatView, Style,
        SummaryView,
    };
    use crate::test_support::assert_within_slack_limits;
    use serde_json::json;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn an_alert_reads_like_slack_shows_it() {
        let event = json!({
            "@timestamp": "2024-05-01T12:34:56.789Z",
            "service.name": "checkout",
            "log.logger": "com.example.Pay",
            "message": "payment failed <!channel> & more",
            "error.stack_trace": "java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)"
        });
        let view = AlertView {
            raw_level: Some("error"),
            mention: Some("<!here>"),
            ..AlertView::new("ERROR", &event)
        };
        let style = Style {
            channel: Some("#ops".into()),
            ..Style::default()
        };
        let payload = render_alert(&view, &style);
        assert_within_slack_limits(&payload);
        let text = to_text(&payload);
        let expected = "\
→ #ops
notification: @here ERROR in checkout: payment failed <!channel> & more
== 🚨 ERROR in checkout ==
▌ red (#d00000)
▌ @here payment failed <!channel> & more
▌     java.lang.IllegalStateException: x
▌     \tat a.B.c(B.java:1)
▌ Time: 2024-05-01T12:34:56.789Z
▌ Service: checkout
▌ Logger: com.example.Pay
▌ Level: error
";
        assert_eq!(text, expected);
    }

    #[test]
    fn repeat_summary_and_test_messages() {
        let repeat = render_repeat(
            &RepeatView {
                level: "WARN",
                label: "disk <full>",
                count: 12,
                first_seen: UNIX_EPOCH + Duration::from_secs(3600),
                window: Duration::from_secs(60),
                service: Some("db"),
                rule: None,
            },
            &Style::default(),
        );
        assert_within_slack_limits(&repeat);
        let text = to_text(&repeat);
        assert!(text.contains("▌ amber (#daa038)\n"), "{text}");
        assert!(
            text.contains(
                "🔁 Repeated 12 more times since 01:00:00 UTC (1m window)\n▌ amber (#daa038)\n▌ disk <full>\n"
            ),
            "{text}"
        );
        assert!(text.contains("▌ · *Service:* db · *Level:* WARN"), "{text}");

        let top = vec![("boom".to_string(), 3)];
        let summary = render_summary(
            &SummaryView {
                suppressed: 3,
                top: &top,
                repeats: 0,
                dropped: 1,
                undelivered: 0,
                evicted: 0,
                since: UNIX_EPOCH,
                rule: None,
            },
            &Style::default(),
        );
        assert_within_slack_limits(&summary);
        let text = to_text(&summary);
        assert!(
            text.contains("== 📊 slack_alert summary ==\n▌ red (#d00000)\n"),
            "{text}"
        );
        assert!(text.contains("*4 events*"), "{text}");
        assert!(text.contains("• 3× boom"), "{text}");

        let test = to_text(&render_test(&Style::default()));
        assert!(test.contains("▌ green (#2eb886)"), "{test}");
        assert!(test.contains("== ✅ slack_alert test message =="), "{test}");
    }

    #[test]
    fn threshold_link_and_flatline_messages() {
        use crate::render::{render_flatline, FlatlineView, Occurrences};
        use crate::{Link, LinkTemplate};
        let event =
            json!({"service.name": "checkout", "message": "card declined", "trace.id": "t 1"});
        let template = LinkTemplate::parse("https://k.test/?q=%{[trace.id]}").unwrap();
        let view = AlertView {
            link: Some(Link {
                template: &template,
                text: "Open logs",
            }),
            occurrences: Some(Occurrences {
                count: 5,
                within: Duration::from_secs(60),
                group: Some(("[service.name]", "checkout")),
            }),
            rule: Some("payments"),
            ..AlertView::new("ERROR", &event)
        };
        let text = to_text(&render_alert(&view, &Style::default()));
        assert!(
            text.contains("▌ 5 events within 1m for `service.name` = checkout\n▌ card declined\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "▌ [actions: button: Open logs (https://k.test/?q=t%201)]\n▌ · *Rule:* payments\n"
            ),
            "{text}"
        );

        let flat = FlatlineView {
            rule: "silence",
            group_ref: "[service.name]",
            group: "checkout",
            silence: Duration::from_secs(600),
            last_seen: UNIX_EPOCH,
            mention: Some("<!here>"),
            recovered_after: None,
        };
        let text = to_text(&render_flatline(&flat, &Style::default()));
        assert!(
            text.contains("notification: @here 🔇 checkout stopped logging"),
            "{text}"
        );
        assert!(
            text.contains("== 🔇 checkout stopped logging ==\n▌ red (#d00000)\n"),
            "{text}"
        );
    }

    #[test]
    fn links_and_mentions_are_spelled_out() {
        let payload = json!({"text": "<!here> see <https://x.test/a?b=1&amp;c|runbook> <@U1> <#C2|ops> <https://y.test> &lt;!channel&gt; <!subteam^S1|@oncall>"});
        assert_eq!(
            to_text(&payload),
            "@here see runbook (https://x.test/a?b=1&c) @U1 #ops https://y.test <!channel> @oncall\n"
        );
    }

    #[test]
    fn arbitrary_payloads_never_panic() {
        let odd = [
            json!(null),
            json!("text"),
            json!([1, 2]),
            json!({}),
            json!({"text": 5, "blocks": "x", "attachments": 3}),
            json!({"blocks": [1, {"type": 2}, {"type": "section"}, {"type": "context"},
                {"type": "header"}, {"type": "section", "fields": [1, {"text": 2}]},
                {"type": "context", "elements": [{"type": "image", "alt_text": "a"}, 3]}]}),
            json!({"attachments": [1, {"color": 3, "fields": [{"title": "T", "value": "v"}], "blocks": [{}]}]}),
            json!({"text": "unclosed ``` fence and < bracket & amp"}),
        ];
        for payload in odd {
            let _ = to_text(&payload);
        }
    }

    #[test]
    fn unknown_blocks_are_summarised() {
        let payload = json!({"blocks": [
            {"type": "divider"},
            {"type": "image", "image_url": "https://i.test/x.png", "alt_text": "graph"},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Ack"}}]},
            {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "hello"}]}]},
            {"type": "video"},
            {"type": "section", "text": {"type": "mrkdwn", "text": "s"}, "accessory": {"type": "image", "alt_text": "pic"}}
        ]});
        let text = to_text(&payload);
        assert_eq!(
            text,
            format!(
                "{}\n[image: graph] https://i.test/x.png\n[actions: button: Ack]\nhello\n[video block]\ns\n[image: pic]\n",
                "─".repeat(40)
            )
        );
    }

    #[test]
    fn text_above_attachment_blocks_is_shown_not_a_notification_only() {
        let payload = json!({"text": "disk full", "attachments": [{"color": "good", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "details"}}
        ]}]});
        assert_eq!(to_text(&payload), "disk full\n▌ green (good)\n▌ details\n");
    }

    #[test]
    fn legacy_attachments_and_control_characters() {
        let payload = json!({"attachments": [{
            "color": "danger", "pretext": "pre", "title": "T", "title_link": "https://t.test",
            "text": "body\u{1b}[31m", "fields": [{"title": "F", "value": "v1\nv2"}], "footer": "foot"
        }]});
        assert_eq!(
            to_text(&payload),
            "▌ red (danger)\n▌ pre\n▌ == T == (https://t.test)\n▌ body\u{FFFD}[31m\n▌ F: v1\n▌   v2\n▌ · foot\n"
        );
    }
}
