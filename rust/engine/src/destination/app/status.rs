//! What an incident's message says about it while it lives: the status
//! line under the alert, the colour of its bar, and the short replies in
//! its thread. Pure functions of a [`Status`]; event text in them (host and
//! service names) is escaped, so log data cannot mention or link.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use slack_alert_render::escape::escape_mrkdwn;
use slack_alert_render::human;
use slack_alert_render::limits::MAX_BLOCKS;

use crate::intent::{Milestone, Spread};

/// Where an incident's message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Repeating, or waiting for its window to close.
    Open,
    /// Its window closed: resolved.
    Quiet,
    /// Still open when the pipeline stopped.
    Stopped,
    /// Pushed out of a full table while still open.
    Evicted,
    /// A flatline: the group is silent.
    Silent,
    /// A flatline whose group logs again after `after` of silence.
    Recovered { after: Duration },
}

impl Phase {
    /// Returns true if and only if nothing more will change it.
    pub fn is_final(self) -> bool {
        !matches!(self, Phase::Open | Phase::Silent)
    }
}

/// What the message should show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub phase: Phase,
    /// Events in all: the first and its repeats.
    pub total: u64,
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
    pub spread: Spread,
}

/// The colour of a resolved message's bar (Slack's "good").
pub const RESOLVED_COLOR: &str = "#2eb886";

/// The status line: `🔁 Seen 1,234× · first 10:02:11 · last 10:07:43 UTC · 3 hosts`.
pub fn status_line(status: &Status) -> String {
    let first = human::utc_time(status.first_seen);
    let last = human::utc_time(status.last_seen);
    let events = human::count_of(status.total, "event", "events");
    let over = span(status);
    let mut line = match status.phase {
        Phase::Open => format!(
            "🔁 Seen {}× · first {first} · last {last} UTC",
            human::count(status.total)
        ),
        Phase::Quiet => format!("✅ Quiet since {last} UTC · {events}{over}"),
        Phase::Stopped => {
            format!("⏹ Still repeating when the pipeline stopped · {events}{over}, last {last} UTC")
        }
        Phase::Evicted => format!(
            "⏸ No longer tracked (too many open incidents) · {events}{over}, last {last} UTC"
        ),
        Phase::Silent => format!("🔕 Silent since {last} UTC"),
        Phase::Recovered { after } => format!(
            "✅ Logging again after {} of silence (last seen before: {last} UTC)",
            human::duration(after)
        ),
    };
    line.push_str(&spread_text(status.spread));
    line
}

/// ` in 5m 32s` from the first event to the last, nothing for one event.
fn span(status: &Status) -> String {
    let d = status
        .last_seen
        .duration_since(status.first_seen)
        .unwrap_or_default();
    if status.total <= 1 || d < Duration::from_secs(1) {
        String::new()
    } else {
        format!(" in {}", human::duration(d))
    }
}

/// ` · 3 hosts · 2 services`, for more than one of either.
fn spread_text(spread: Spread) -> String {
    let mut text = String::new();
    for (n, one, many) in [
        (spread.hosts, "host", "hosts"),
        (spread.services, "service", "services"),
    ] {
        if n > 1 {
            let plus = if n >= Spread::MAX { "+" } else { "" };
            text.push_str(&format!(
                " · {}{plus} {}",
                human::count(n as u64),
                if n == 1 { one } else { many }
            ));
        }
    }
    text
}

/// The message `base` (an alert as rendered for a webhook) showing
/// `status`: its status line last in the coloured part, and a resolved
/// message's bar green.
pub fn with_status(base: &Value, status: &Status) -> Value {
    let mut message = base.clone();
    let line = json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": status_line(status)}
    ]});
    let resolved = matches!(status.phase, Phase::Quiet | Phase::Recovered { .. });
    let top_blocks = message["blocks"].as_array().map_or(0, Vec::len);
    match message["attachments"]
        .get_mut(0)
        .and_then(Value::as_object_mut)
    {
        Some(attachment) => {
            if resolved {
                attachment.insert("color".into(), json!(RESOLVED_COLOR));
            }
            if let Some(blocks) = attachment.get_mut("blocks").and_then(Value::as_array_mut) {
                // Within Slack's 50 blocks: the status replaces the last
                // body block rather than lose the message.
                while !blocks.is_empty() && top_blocks + blocks.len() >= MAX_BLOCKS {
                    blocks.pop();
                }
                blocks.push(line);
            }
        }
        None => {
            if let Some(blocks) = message["blocks"].as_array_mut() {
                blocks.truncate(MAX_BLOCKS - 1);
                blocks.push(line);
            }
        }
    }
    message
}

/// The reply when an incident's window closes, or its group recovers.
pub fn closing_reply(status: &Status) -> Option<String> {
    let last = human::utc_time(status.last_seen);
    let events = human::count_of(status.total, "event", "events");
    match status.phase {
        Phase::Quiet => Some(format!(
            "✅ Quiet since {last} UTC: {events}{}.",
            span(status)
        )),
        Phase::Recovered { after } => Some(format!(
            "✅ Logging again after {} of silence.",
            human::duration(after)
        )),
        Phase::Stopped => Some(format!(
            "⏹ The pipeline stopped while this was still repeating: {events}{}.",
            span(status)
        )),
        Phase::Open | Phase::Silent | Phase::Evicted => None,
    }
}

/// The reply for a milestone.
pub fn milestone_reply(milestone: &Milestone) -> String {
    match milestone {
        Milestone::Count(n) => format!("🔁 {}× now", human::count(*n)),
        Milestone::NewHost(h) => format!("🆕 Now also on host {}", code(h)),
        Milestone::NewService(s) => format!("🆕 Now also in service {}", code(s)),
    }
}

/// The reply for one update window (`thread_replies => every_window`).
pub fn window_reply(new_repeats: u64, status: &Status) -> String {
    format!(
        "🔁 +{} since the last update ({} in all, last {} UTC)",
        human::count(new_repeats),
        human::count(status.total),
        human::utc_time(status.last_seen)
    )
}

/// Event text as inline code, escaped.
fn code(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() || c == '`' { ' ' } else { c })
        .take(200)
        .collect();
    format!("`{}`", escape_mrkdwn(one_line.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    fn status(phase: Phase, total: u64) -> Status {
        Status {
            phase,
            total,
            first_seen: at(36_131),
            last_seen: at(36_463),
            spread: Spread {
                hosts: 3,
                services: 1,
            },
        }
    }

    #[test]
    fn the_status_line_says_how_often_since_when_and_where() {
        assert_eq!(
            status_line(&status(Phase::Open, 1234)),
            "🔁 Seen 1,234× · first 10:02:11 · last 10:07:43 UTC · 3 hosts"
        );
        assert_eq!(
            status_line(&status(Phase::Quiet, 1234)),
            "✅ Quiet since 10:07:43 UTC · 1,234 events in 5m32s · 3 hosts"
        );
        let mut many = status(Phase::Open, 5);
        many.spread.hosts = Spread::MAX;
        assert!(status_line(&many).ends_with("1,000+ hosts"));
    }

    #[test]
    fn a_resolved_message_turns_green_and_keeps_within_50_blocks() {
        let blocks: Vec<Value> = (0..49)
            .map(|i| json!({"type": "section", "text": {"type": "mrkdwn", "text": i.to_string()}}))
            .collect();
        let base = json!({"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h"}}],
            "attachments": [{"color": "#d00000", "blocks": blocks}]});
        let open = with_status(&base, &status(Phase::Open, 2));
        assert_eq!(open["attachments"][0]["color"], "#d00000");
        let quiet = with_status(&base, &status(Phase::Quiet, 2));
        assert_eq!(quiet["attachments"][0]["color"], RESOLVED_COLOR);
        let inner = quiet["attachments"][0]["blocks"].as_array().unwrap();
        assert_eq!(inner.len() + 1, MAX_BLOCKS);
        assert!(inner.last().unwrap().to_string().contains("Quiet since"));
        assert!(slack_alert_render::limits::check(&quiet).is_empty());
    }

    #[test]
    fn event_text_in_replies_is_escaped() {
        let reply = milestone_reply(&Milestone::NewHost("<!channel> `x`".into()));
        assert!(!reply.contains("<!channel>"), "{reply}");
        assert_eq!(milestone_reply(&Milestone::Count(1000)), "🔁 1,000× now");
    }
}
