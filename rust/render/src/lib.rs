//! Slack messages for `slack_alert`: from a log event to a webhook body.
//!
//! This crate turns an ERROR or FATAL log event into the JSON body of a Slack
//! incoming-webhook call, and nothing else: no I/O, no clocks, no state. It
//! reads events through [`slack_alert_event`] and provides
//!
//! - [`Template`]: the `%{[field]}` templates operators write for `title`
//!   and `format`;
//! - [`escape`] and [`truncate`]: mrkdwn escaping, so a log line cannot
//!   ping `<!channel>`, and char-boundary truncation with a visible marker;
//! - [`render`]: Block Kit payloads for an alert, a repeat notice, a
//!   rate-limit summary and a test message, always within Slack's
//!   [`limits`] (a breach loses the whole message);
//! - [`plain`]: any payload as terminal text, for dry runs;
//! - [`Mention`] and [`LinkTemplate`]: the operator-written mentions and
//!   link buttons an alert may carry, validated, with event values in a
//!   link percent-encoded;
//! - [`render_flatline`]: the message for a service that went silent and
//!   the one for when it logs again;
//! - [`JsonBody`]: the body of a generic JSON webhook (Teams, Mattermost,
//!   dashboards) from an operator's JSON template, event values kept typed
//!   and bounded.
//!
//! # Example
//!
//! ```
//! use serde_json::json;
//! use slack_alert_render::{render_alert, AlertView, Style};
//!
//! let event = json!({
//!     "@timestamp": "2024-05-01T12:34:56.789Z",
//!     "log.level": "ERROR",
//!     "service.name": "checkout",
//!     "message": "payment failed <!channel>",
//! });
//! let view = AlertView {
//!     level: "ERROR",
//!     raw_level: Some("ERROR"),
//!     fields: &event,
//!     title: None,
//!     format: None,
//!     mention: None,
//!     link: None,
//!     occurrences: None,
//!     rule: None,
//! };
//! let payload = render_alert(&view, &Style::default());
//!
//! assert_eq!(payload["attachments"][0]["color"], "#d00000");
//! assert_eq!(payload["text"], "ERROR in checkout: payment failed &lt;!channel&gt;");
//! assert!(slack_alert_render::limits::check(&payload).is_empty());
//! println!("{}", slack_alert_render::plain::to_text(&payload));
//! ```

pub mod escape;
pub mod human;
pub mod json_body;
pub mod limits;
pub mod link;
pub mod mention;
pub mod plain;
pub mod render;
pub mod template;
pub mod truncate;

pub use json_body::{AlertMeta, JsonBody, JsonBodyError};
pub use link::{Link, LinkError, LinkTemplate};
pub use mention::Mention;
pub use render::{
    render_alert, render_flatline, render_repeat, render_summary, render_test, AlertView,
    FlatlineView, Occurrences, RepeatView, Style, SummaryView,
};
pub use template::{Template, TemplateError};

#[cfg(test)]
pub(crate) mod test_support {
    use serde_json::{json, Value};

    /// An event as the seed pipeline's logback ECS encoder wrote it (flat
    /// keys), with the fields of `more` added.
    pub(crate) fn seed_event(more: Value) -> Value {
        let mut event = json!({
            "@timestamp": "2024-05-01T12:34:56.789Z",
            "log.level": "ERROR",
            "log.logger": "com.anonichat.chat.ChatService",
            "process.thread.name": "http-nio-8080-exec-3",
            "message": "채팅방 저장 실패: roomId=42",
            "trace.id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "service.name": "anonichat-api",
        });
        event
            .as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        event
    }

    /// Fails the test, listing every broken rule, unless `payload` keeps
    /// every limit in Slack's documentation and our budget.
    pub(crate) fn assert_within_slack_limits(payload: &Value) {
        let violations = crate::limits::check(payload);
        assert!(
            violations.is_empty(),
            "payload breaks Slack's limits:\n{}\npayload: {:.2000}",
            violations
                .iter()
                .map(|v| format!("  - {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            payload.to_string()
        );
    }
}
