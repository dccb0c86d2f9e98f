//! Slack messages for `slack_alert`: from a log event to a webhook body.
//!
//! This crate turns an ERROR or FATAL log event into the JSON body of a Slack
//! incoming-webhook call, and nothing else: no I/O, no clocks, no state. It
//! provides
//!
//! - [`FieldRef`]: Logstash field references (`[log][level]` is nested,
//!   `[log.level]` and `log.level` are one flat key);
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
//! use slack_alert_message::{render_alert, AlertView, Style};
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
//! assert!(slack_alert_message::limits::check(&payload).is_empty());
//! println!("{}", slack_alert_message::plain::to_text(&payload));
//! ```

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

pub mod ecs;
pub mod escape;
pub mod field_ref;
pub mod human;
pub mod json_body;
pub mod limits;
pub mod link;
pub mod mention;
pub mod plain;
pub mod render;
pub mod template;
pub mod truncate;

pub use field_ref::{FieldRef, FieldRefError};
pub use json_body::{AlertMeta, JsonBody, JsonBodyError};
pub use link::{Link, LinkError, LinkTemplate};
pub use mention::Mention;
pub use render::{
    render_alert, render_flatline, render_repeat, render_summary, render_test, AlertView,
    FlatlineView, Occurrences, RepeatView, Style, SummaryView,
};
pub use template::{Template, TemplateError};

/// Where rendering reads event fields from.
///
/// `reference` is always a canonical reference string (see
/// [`FieldRef::canonical`]), so an implementation backed by a map of
/// pre-fetched fields can look it up directly. A missing field is `None`;
/// callers treat `Some(Value::Null)` as missing too.
pub trait Fields {
    /// The value of the field `reference` names, if any.
    fn get(&self, reference: &str) -> Option<&Value>;
}

/// A whole event as JSON: resolves any reference form by parsing it
/// ([`FieldRef::parse`]) and walking the value. A malformed reference
/// resolves to nothing.
impl Fields for Value {
    fn get(&self, reference: &str) -> Option<&Value> {
        FieldRef::parse(reference).ok()?.resolve(self)
    }
}

/// Fields fetched one by one (e.g. with Logstash's `getField`), keyed by
/// canonical reference.
impl Fields for HashMap<String, Value> {
    fn get(&self, reference: &str) -> Option<&Value> {
        HashMap::get(self, reference).filter(|v| !v.is_null())
    }
}

/// Fields fetched one by one, keyed by canonical reference.
impl Fields for BTreeMap<String, Value> {
    fn get(&self, reference: &str) -> Option<&Value> {
        BTreeMap::get(self, reference).filter(|v| !v.is_null())
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_events_resolve_every_reference_form() {
        let event = json!({"log.level": "ERROR", "log": {"logger": "L"}, "n": null});
        assert_eq!(Fields::get(&event, "[log.level]"), Some(&json!("ERROR")));
        assert_eq!(Fields::get(&event, "log.level"), Some(&json!("ERROR")));
        assert_eq!(Fields::get(&event, "[log][logger]"), Some(&json!("L")));
        assert_eq!(Fields::get(&event, "[n]"), None);
        assert_eq!(Fields::get(&event, "[bad"), None);
    }

    #[test]
    fn maps_of_fetched_fields_look_up_canonical_keys() {
        let mut map = HashMap::new();
        map.insert("[log.level]".to_string(), json!("ERROR"));
        map.insert("[gone]".to_string(), Value::Null);
        assert_eq!(Fields::get(&map, "[log.level]"), Some(&json!("ERROR")));
        assert_eq!(Fields::get(&map, "[gone]"), None);
        let tree: BTreeMap<String, Value> = map.into_iter().collect();
        assert_eq!(Fields::get(&tree, "[log.level]"), Some(&json!("ERROR")));
        assert_eq!(Fields::get(&tree, "[gone]"), None);
    }
}
