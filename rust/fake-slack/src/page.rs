//! The page of what the receiver received, as Slack would have shown it
//! (`slack_alert_preview`): `GET /_receiver/page`, [`crate::Receiver::page`],
//! and with `--html FILE` (or [`crate::Options::html`]) written when the
//! receiver stops.

use std::time::{Instant, SystemTime};

use serde_json::Value;
use slack_alert_preview::{Destination, Entry, Page};

use crate::state::Received;

/// Every post in `received`, in arrival order, each under the time it
/// arrived (the receiver started at `started`, wall time `started_wall`) and
/// what the receiver answered.
pub(crate) fn html(received: &[Received], started: Instant, started_wall: SystemTime) -> String {
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
    page.to_html()
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
        let page = html(&received, at, SystemTime::now());
        assert_eq!(page.matches("<article class=\"message\"").count(), 2);
        assert!(page.contains("2 posts received, 1 accepted"));
        assert!(page.contains("<div class=\"text\">disk full &lt;script&gt;</div>"));
        assert!(page.contains("<span class=\"note\">answered 200 ok</span>"));
        assert!(page.contains("<span class=\"note\">answered 400 invalid_payload</span>"));
        assert!(page.contains("[not a Slack message: &quot;7 bytes, not JSON&quot;]"));
    }
}
