//! Messages that are not about one event: a group gone silent, a group
//! logging again.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use slack_alert_message::escape::escape_mrkdwn;

use crate::config::{show_duration, RuleConfig};

/// A flatline alert (`recovered_after` is `None`) or its recovery message.
/// The group comes from log data: escaped. Only the operator's mention is not.
pub fn flatline(
    rule: &RuleConfig,
    group: &str,
    _last_seen: SystemTime,
    recovered_after: Option<Duration>,
) -> Value {
    let group: String = group.chars().take(200).collect();
    let group = escape_mrkdwn(&group);
    let text = match recovered_after {
        None => format!(
            ":warning: {group} has logged nothing for {} (rule {})",
            show_duration(rule.silence),
            escape_mrkdwn(&rule.name)
        ),
        Some(after) => format!(
            ":white_check_mark: {group} is logging again after {} (rule {})",
            show_duration(Duration::from_secs(after.as_secs().max(1))),
            escape_mrkdwn(&rule.name)
        ),
    };
    let text = match (recovered_after, rule.mention(None)) {
        (None, Some(m)) => format!("{m} {text}"),
        _ => text,
    };
    json!({
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    })
}
