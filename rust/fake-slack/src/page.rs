//! The page of what the receiver received, as Slack would have shown it
//! (`slack_alert_preview`): `GET /_receiver/page`, [`crate::Receiver::page`],
//! and with `--html FILE` (or [`crate::Options::html`]) written when the
//! receiver stops.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use slack_alert_preview::{Destination, Entry, Page};

use crate::api::{ChannelView, MessageView};
use crate::state::Received;

/// Every post in `received`, in arrival order, each under the time it
/// arrived (the receiver started at `started`, wall time `started_wall`) and
/// what the receiver answered; then what each Web API channel shows now.
pub(crate) fn html(
    received: &[Received],
    channels: &[ChannelView],
    started: Instant,
    started_wall: SystemTime,
) -> String {
    let mut page = Page::new("fake-slack: what Slack would have shown");
    let accepted = received.iter().filter(|r| r.status == 200).count();
    page.describe(format!(
        "{} posts received, {accepted} accepted; the posts answered otherwise are marked",
        received.len()
    ));
    for r in received {
        // Posts carry a monotonic instant; shown as the wall time it was.
        let wall = started_wall + r.at.saturating_duration_since(started);
        let payload = r
            .body
            .clone()
            .unwrap_or_else(|| Value::String(format!("{} bytes, not JSON", r.raw_len)));
        let answered = match r.status {
            0 => format!("not answered {}", r.answer),
            status => format!("answered {status} {}", r.answer),
        };
        page.push(Entry {
            time: Some(format!(
                "{} UTC",
                slack_alert_render::human::utc_date_time(wall)
            )),
            note: Some(answered),
            ..Entry::new(payload, Destination::Slack)
        });
    }
    let messages: usize = channels.iter().map(|c| c.messages.len()).sum();
    if messages > 0 {
        page.describe(format!(
            "then {messages} Web API messages as their channels show them now, each thread after its message"
        ));
    }
    for channel in channels {
        for message in &channel.messages {
            push_message(&mut page, &channel.name, message, started_wall);
            for reply in &message.replies {
                push_message(&mut page, &channel.name, reply, started_wall);
            }
        }
    }
    page.to_html()
}

/// One Web API message under the time it was first posted, noting where it is and
/// what happened to it since.
fn push_message(page: &mut Page, channel: &str, message: &MessageView, started_wall: SystemTime) {
    let posted_ms = message.versions.first().map_or(0, |v| v.at_ms);
    let wall = started_wall + Duration::from_millis(posted_ms);
    let mut note = format!("#{channel} ts {}", message.ts);
    if let Some(parent) = &message.thread_ts {
        note.push_str(&format!(", reply in thread {parent}"));
        if message.reply_broadcast {
            note.push_str(", also sent to the channel");
        }
    }
    if message.edits > 0 {
        note.push_str(&format!(", edited {} times", message.edits));
    }
    if !message.replies.is_empty() {
        note.push_str(&format!(", {} replies", message.replies.len()));
    }
    for file in &message.files {
        note.push_str(&format!(", file {} ({} bytes)", file.title, file.length));
    }
    let mut payload = json!({"text": message.text});
    if let Some(blocks) = &message.blocks {
        payload["blocks"] = blocks.clone();
    }
    if let Some(attachments) = &message.attachments {
        payload["attachments"] = attachments.clone();
    }
    page.push(Entry {
        time: Some(format!(
            "{} UTC",
            slack_alert_render::human::utc_date_time(wall)
        )),
        note: Some(note),
        ..Entry::new(payload, Destination::Slack)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_post_is_shown_with_its_answer() {
        let at = Instant::now();
        let received = [
            Received {
                at,
                body: Some(json!({"text": "disk full &lt;script&gt;"})),
                raw_len: 30,
                status: 200,
                answer: "ok".into(),
            },
            Received {
                at,
                body: None,
                raw_len: 7,
                status: 400,
                answer: "invalid_payload".into(),
            },
        ];
        let page = html(&received, &[], at, SystemTime::now());
        assert_eq!(page.matches("<article class=\"message\"").count(), 2);
        assert!(page.contains("2 posts received, 1 accepted"));
        assert!(page.contains("<div class=\"text\">disk full &lt;script&gt;</div>"));
        assert!(page.contains("<span class=\"note\">answered 200 ok</span>"));
        assert!(page.contains("<span class=\"note\">answered 400 invalid_payload</span>"));
        assert!(page.contains("[not a Slack message: &quot;7 bytes, not JSON&quot;]"));
    }
}
