//! Bodies for generic JSON webhooks, from an operator's JSON template.
//!
//! Not every alert goes to Slack: Teams workflow webhooks, Mattermost,
//! Discord's Slack-compatible endpoint and in-house dashboards each want
//! their own JSON. The operator writes that JSON once (`body_template`) with
//! `%{}` references in its string leaves; this module fills it in for each
//! alert.
//!
//! The rules, chosen so that the receiver gets what the operator wrote:
//!
//! - a string leaf that is exactly one reference (`"%{[http.status]}"`)
//!   takes the referenced value with its JSON type: a number stays a
//!   number, a missing field becomes `null`;
//! - any other string leaf is text: each value is substituted as text
//!   ([`slack_alert_event::value_text`]), a missing one as
//!   [`crate::template::MISSING`];
//! - nothing is escaped for Slack: the receiver is not Slack, and JSON
//!   escaping is serde's job;
//! - every substituted string is cut to [`VALUE_MAX`] characters, and the
//!   whole body to [`BODY_MAX`] bytes, so an 11 MB log line never becomes
//!   an 11 MB POST.
//!
//! Besides event fields, references may name the alert itself:
//! `[@alert][rule]`, `[@alert][kind]`, `[@alert][level]`, `[@alert][title]`,
//! `[@alert][text]`, `[@alert][count]`, `[@alert][link]` and
//! `[@alert][group]` (see [`AlertMeta`]).
//!
//! ```
//! use serde_json::json;
//! use slack_alert_render::{AlertMeta, JsonBody};
//!
//! let body = JsonBody::parse(&json!({
//!     "summary": "%{[@alert][title]}",
//!     "status": "%{[http.response.status_code]}",
//!     "detail": "%{[service.name]}: %{message}",
//! }))
//! .unwrap();
//! // Object keys are visited in sorted order (`detail`, `status`, `summary`).
//! assert_eq!(body.references(), ["[service.name]", "[message]", "[http.response.status_code]"]);
//!
//! let event = json!({"service.name": "checkout", "message": "<b>boom</b>",
//!                    "http.response.status_code": 502});
//! let meta = AlertMeta {
//!     rule: "payments", kind: "alert", level: Some("ERROR"),
//!     title: "ERROR in checkout", text: "ERROR in checkout: <b>boom</b>",
//!     count: 1, link: None, group: None,
//! };
//! assert_eq!(
//!     body.render(&event, &meta),
//!     json!({"summary": "ERROR in checkout", "status": 502,
//!            "detail": "checkout: <b>boom</b>"})
//! );
//! ```

use std::fmt;

use serde_json::{Map, Number, Value};

use slack_alert_event::{value_text, FieldRef, Fields};

use crate::template::{Part, Template, MISSING};
use crate::truncate::{char_len, truncate_chars};

/// The most characters of one substituted string (a value in a text leaf,
/// or a whole string value of a one-reference leaf).
pub const VALUE_MAX: usize = 4000;

/// The most bytes of a rendered body, as compact JSON.
pub const BODY_MAX: usize = 256 * 1024;

/// The most bytes of the template itself, as compact JSON. Small enough that
/// the template's structure, with every value cut to nothing, always fits
/// in [`BODY_MAX`] (a one-reference leaf takes at least 6 bytes, its value
/// at most a number's 24).
pub const TEMPLATE_MAX: usize = 32 * 1024;

/// The alert's own fields, as references.
pub const ALERT_FIELDS: [&str; 8] = [
    "[@alert][rule]",
    "[@alert][kind]",
    "[@alert][level]",
    "[@alert][title]",
    "[@alert][text]",
    "[@alert][count]",
    "[@alert][link]",
    "[@alert][group]",
];

/// What a body may say about the alert besides the event's fields.
#[derive(Clone, Copy, Debug)]
pub struct AlertMeta<'a> {
    /// The rule's name (`[@alert][rule]`).
    pub rule: &'a str,
    /// What the message is (`[@alert][kind]`): `alert`, `threshold`,
    /// `repeat`, `summary`, `flatline`, `recovered` or `test`.
    pub kind: &'a str,
    /// The canonical level (`[@alert][level]`); `null` when none.
    pub level: Option<&'a str>,
    /// The message's title as plain text (`[@alert][title]`).
    pub title: &'a str,
    /// The whole message as plain text (`[@alert][text]`), e.g. from
    /// [`crate::plain::to_text`] on the Slack payload.
    pub text: &'a str,
    /// How many events the message accounts for (`[@alert][count]`), a
    /// number.
    pub count: u64,
    /// The rendered link (`[@alert][link]`); `null` when none.
    pub link: Option<&'a str>,
    /// The group of a threshold or flatline alert (`[@alert][group]`);
    /// `null` when none.
    pub group: Option<&'a str>,
}

/// A parsed body template.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonBody {
    root: Node,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    /// `null`, a boolean or a number, as written.
    Scalar(Value),
    /// A string leaf that is exactly one reference: typed substitution.
    Reference(String),
    /// Any other string leaf.
    Text(Template),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl JsonBody {
    /// Parses a body template: a JSON object or array, or a string holding
    /// one. String leaves are [`Template`]s; `[@alert][…]` references must
    /// name one of [`ALERT_FIELDS`]. At most [`TEMPLATE_MAX`] bytes.
    ///
    /// The error names the JSON path of a bad leaf, e.g.
    /// ``["attachments"][0]["text"]: `%{[a]b}` is not a valid reference: …``.
    pub fn parse(value: &Value) -> Result<JsonBody, JsonBodyError> {
        let parsed;
        let value = match value {
            Value::String(text) => {
                parsed = serde_json::from_str::<Value>(text).map_err(|e| {
                    JsonBodyError::at_root(format!(
                        "the body template is a string but not JSON: {e}"
                    ))
                })?;
                &parsed
            }
            other => other,
        };
        if !matches!(value, Value::Object(_) | Value::Array(_)) {
            return Err(JsonBodyError::at_root(
                "the body template must be a JSON object or array".to_string(),
            ));
        }
        let size = value.to_string().len();
        if size > TEMPLATE_MAX {
            return Err(JsonBodyError::at_root(format!(
                "the body template has {size} bytes as JSON (at most {TEMPLATE_MAX})"
            )));
        }
        let mut path = String::new();
        Ok(JsonBody {
            root: node(value, &mut path)?,
        })
    }

    /// The canonical event references the template uses (not the
    /// `[@alert]` ones), in order of first use, without duplicates.
    pub fn references(&self) -> Vec<String> {
        let mut refs = Vec::new();
        collect_references(&self.root, &mut refs);
        refs
    }

    /// The body for one alert. Never more than [`BODY_MAX`] bytes as
    /// compact JSON: when the values make it longer, the longest strings
    /// are cut (all to one length, the longest that fits), and if that is
    /// not enough, arrays and objects taken from the event are sent as
    /// their compact JSON text (then cut) instead.
    pub fn render(&self, fields: &dyn Fields, meta: &AlertMeta<'_>) -> Value {
        let fields = WithAlert::new(fields, meta);
        let mut body = render_node(&self.root, &fields, false);
        if fit(&mut body) {
            return body;
        }
        let mut body = render_node(&self.root, &fields, true);
        fit(&mut body);
        body
    }
}

/// A body template that could not be parsed: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonBodyError {
    /// The JSON path of the bad leaf, e.g. `["text"]` or `[0]["title"]`;
    /// empty when the problem is the template as a whole.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl JsonBodyError {
    fn at_root(problem: String) -> JsonBodyError {
        JsonBodyError {
            path: String::new(),
            problem,
        }
    }
}

impl fmt::Display for JsonBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

impl std::error::Error for JsonBodyError {}

fn node(value: &Value, path: &mut String) -> Result<Node, JsonBodyError> {
    Ok(match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => Node::Scalar(value.clone()),
        Value::String(text) => {
            let fail = |problem: String| JsonBodyError {
                path: path.clone(),
                problem,
            };
            let template = Template::parse(text).map_err(|e| fail(e.to_string()))?;
            for reference in template.references() {
                if is_alert_reference(&reference) && !ALERT_FIELDS.contains(&reference.as_str()) {
                    return Err(fail(format!(
                        "`%{{{reference}}}` is not a field of the alert; they are {}",
                        ALERT_FIELDS
                            .iter()
                            .map(|f| format!("`{f}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
            match template.single_reference() {
                Some(reference) => Node::Reference(reference.to_string()),
                None => Node::Text(template),
            }
        }
        Value::Array(items) => {
            let mut nodes = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                nodes.push(node(item, path)?);
                path.truncate(len);
            }
            Node::Array(nodes)
        }
        Value::Object(map) => {
            let mut nodes = Vec::with_capacity(map.len());
            for (key, item) in map {
                let len = path.len();
                path.push('[');
                path.push_str(&Value::String(key.clone()).to_string());
                path.push(']');
                nodes.push((key.clone(), node(item, path)?));
                path.truncate(len);
            }
            Node::Object(nodes)
        }
    })
}

/// True if and only if `reference` (canonical) is under `[@alert]`.
fn is_alert_reference(reference: &str) -> bool {
    FieldRef::parse(reference).is_ok_and(|r| r.segments().first().is_some_and(|s| s == "@alert"))
}

fn collect_references(node: &Node, refs: &mut Vec<String>) {
    let mut add = |reference: &str| {
        if !is_alert_reference(reference) && !refs.iter().any(|r| r == reference) {
            refs.push(reference.to_string());
        }
    };
    match node {
        Node::Scalar(_) => {}
        Node::Reference(reference) => add(reference),
        Node::Text(template) => {
            for reference in template.references() {
                add(&reference);
            }
        }
        Node::Array(items) => items.iter().for_each(|n| collect_references(n, refs)),
        Node::Object(items) => items.iter().for_each(|(_, n)| collect_references(n, refs)),
    }
}

/// The event's fields, with the alert's own under `[@alert]`.
struct WithAlert<'a> {
    event: &'a dyn Fields,
    alert: [Value; 8],
}

impl<'a> WithAlert<'a> {
    fn new(event: &'a dyn Fields, meta: &AlertMeta<'_>) -> WithAlert<'a> {
        let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.to_string()));
        WithAlert {
            event,
            // In the order of ALERT_FIELDS.
            alert: [
                text(Some(meta.rule)),
                text(Some(meta.kind)),
                text(meta.level),
                text(Some(meta.title)),
                text(Some(meta.text)),
                Value::Number(Number::from(meta.count)),
                text(meta.link),
                text(meta.group),
            ],
        }
    }
}

impl Fields for WithAlert<'_> {
    fn get(&self, reference: &str) -> Option<&Value> {
        if let Some(i) = ALERT_FIELDS.iter().position(|f| *f == reference) {
            return Some(&self.alert[i]).filter(|v| !v.is_null());
        }
        self.event.get(reference).filter(|v| !v.is_null())
    }
}

fn render_node(node: &Node, fields: &dyn Fields, stringify: bool) -> Value {
    match node {
        Node::Scalar(value) => value.clone(),
        Node::Reference(reference) => match fields.get(reference) {
            None => Value::Null,
            Some(Value::String(s)) => Value::String(cut(s)),
            Some(composite @ (Value::Array(_) | Value::Object(_))) if stringify => {
                // Its JSON text: the receiver can still parse it.
                Value::String(cut(&composite.to_string()))
            }
            Some(value) => bounded_copy(value),
        },
        Node::Text(template) => {
            let mut out = String::new();
            for part in template.parts() {
                match part {
                    Part::Literal(text) => out.push_str(text),
                    Part::Field(reference) => match fields.get(reference) {
                        None => out.push_str(MISSING),
                        Some(value) => out.push_str(&cut(&value_text(value))),
                    },
                }
            }
            Value::String(out)
        }
        Node::Array(items) => Value::Array(
            items
                .iter()
                .map(|n| render_node(n, fields, stringify))
                .collect(),
        ),
        Node::Object(items) => Value::Object(
            items
                .iter()
                .map(|(k, n)| (k.clone(), render_node(n, fields, stringify)))
                .collect(),
        ),
    }
}

/// A substituted string, cut to [`VALUE_MAX`] characters.
fn cut(s: &str) -> String {
    truncate_chars(s, VALUE_MAX).into_owned()
}

/// A copy of an event value with every string (and key) in it cut to
/// [`VALUE_MAX`] characters.
fn bounded_copy(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(cut(s)),
        Value::Array(items) => Value::Array(items.iter().map(bounded_copy).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(cut(k), bounded_copy(v));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Cuts the longest strings of `body` until it is at most [`BODY_MAX`]
/// bytes as JSON; returns false if cutting every string to nothing is not
/// enough (the size is then made of structure and numbers).
fn fit(body: &mut Value) -> bool {
    let size = serialized_len(body);
    if size <= BODY_MAX {
        return true;
    }
    let mut strings = Vec::new();
    collect_strings(body, &mut strings);
    let full: usize = strings.iter().map(|s| serialized_len_str(s)).sum();
    let rest = size - full;
    let size_at = |max: usize| -> usize {
        rest + strings
            .iter()
            .map(|s| serialized_len_str(&truncate_chars(s, max)))
            .sum::<usize>()
    };
    if size_at(0) > BODY_MAX {
        return false;
    }
    // The longest per-string length that fits: size_at grows with `max`.
    let (mut lo, mut hi) = (0, strings.iter().map(|s| char_len(s)).max().unwrap_or(0));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if size_at(mid) <= BODY_MAX {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    for s in strings {
        if let std::borrow::Cow::Owned(short) = truncate_chars(s, lo) {
            *s = short;
        }
    }
    true
}

fn collect_strings<'v>(value: &'v mut Value, out: &mut Vec<&'v mut String>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter_mut().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values_mut().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

fn serialized_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

fn serialized_len_str(s: &str) -> usize {
    serde_json::to_vec(s).map_or(usize::MAX, |v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::truncate::TRUNCATION_MARKER;
    use serde_json::json;

    fn meta() -> AlertMeta<'static> {
        AlertMeta {
            rule: "payments",
            kind: "threshold",
            level: Some("FATAL"),
            title: "🔥 FATAL in checkout",
            text: "FATAL in checkout: card declined",
            count: 5,
            link: Some("https://kibana.test/x?q=abc"),
            group: Some("checkout"),
        }
    }

    fn render(template: Value, event: &Value) -> Value {
        JsonBody::parse(&template).unwrap().render(event, &meta())
    }

    #[test]
    fn one_reference_leaves_keep_their_type() {
        let event = json!({"n": 502, "f": 1.5, "b": true, "s": "x", "arr": [1, "a"],
                           "obj": {"k": [null]}, "nul": null});
        let body = render(
            json!({"n": "%{n}", "f": "%{[f]}", "b": "%{b}", "s": "%{s}", "arr": "%{arr}",
                   "obj": "%{obj}", "nul": "%{nul}", "gone": "%{[no][such]}",
                   "nested": [{"deep": "%{n}"}], "literal": [1, false, null, "plain"]}),
            &event,
        );
        assert_eq!(
            body,
            json!({"n": 502, "f": 1.5, "b": true, "s": "x", "arr": [1, "a"],
                   "obj": {"k": [null]}, "nul": null, "gone": null,
                   "nested": [{"deep": 502}], "literal": [1, false, null, "plain"]})
        );
    }

    #[test]
    fn other_leaves_are_text_without_slack_escaping() {
        let event = json!({"n": 502, "m": "x\" onclick <!channel> & |>", "tags": ["a", "b"]});
        let body = render(
            json!({"text": "status %{n}: %{m} %{tags} %{missing}", "pad": " %{n}"}),
            &event,
        );
        assert_eq!(
            body["text"],
            "status 502: x\" onclick <!channel> & |> a,b -"
        );
        assert_eq!(body["pad"], " 502");
        // JSON escaping is serde's: the quote cannot end the string.
        let wire = body.to_string();
        assert!(wire.contains(r#"x\" onclick"#), "{wire}");
        let back: Value = serde_json::from_str(&wire).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn alert_fields_resolve_typed_and_as_text() {
        let body = render(
            json!({"rule": "%{[@alert][rule]}", "kind": "%{[@alert][kind]}",
                   "level": "%{[@alert][level]}", "title": "%{[@alert][title]}",
                   "text": "%{[@alert][text]}", "count": "%{[@alert][count]}",
                   "link": "%{[@alert][link]}", "group": "%{[@alert][group]}",
                   "line": "%{[@alert][count]}× %{[@alert][group]} (%{[@alert][rule]})"}),
            &json!({}),
        );
        assert_eq!(
            body,
            json!({"rule": "payments", "kind": "threshold", "level": "FATAL",
                   "title": "🔥 FATAL in checkout", "text": "FATAL in checkout: card declined",
                   "count": 5, "link": "https://kibana.test/x?q=abc", "group": "checkout",
                   "line": "5× checkout (payments)"})
        );
        let bare = AlertMeta {
            level: None,
            link: None,
            group: None,
            ..meta()
        };
        let body = JsonBody::parse(&json!([
            "%{[@alert][level]}",
            "%{[@alert][link]}",
            "g=%{[@alert][group]}"
        ]))
        .unwrap()
        .render(&json!({}), &bare);
        assert_eq!(body, json!([null, null, "g=-"]));
        // An event field literally named `@alert` cannot stand in for them.
        let event = json!({"@alert": {"rule": "forged"}});
        let body = render(json!({"r": "%{[@alert][rule]}"}), &event);
        assert_eq!(body["r"], "payments");
    }

    #[test]
    fn references_are_event_fields_only() {
        let body = JsonBody::parse(&json!({
            "a": "%{message} %{[@alert][title]}",
            "b": ["%{[service][name]}", "%{message}"],
            "c": {"d": "%{[@alert][count]}", "e": "%{[trace.id]}"}
        }))
        .unwrap();
        assert_eq!(
            body.references(),
            ["[message]", "[service][name]", "[trace.id]"]
        );
    }

    #[test]
    fn a_string_is_parsed_as_json_first() {
        let from_string = JsonBody::parse(&json!(r#"{"text": "%{message}", "n": 1}"#)).unwrap();
        let from_value = JsonBody::parse(&json!({"text": "%{message}", "n": 1})).unwrap();
        assert_eq!(from_string, from_value);
        let e = JsonBody::parse(&json!("{not json")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the body template is a string but not JSON"),
            "{e}"
        );
        for scalar in [json!(1), json!(null), json!("\"just text\"")] {
            let e = JsonBody::parse(&scalar).unwrap_err();
            assert!(e.to_string().contains("object or array"), "{e}");
        }
    }

    #[test]
    fn errors_name_the_json_path_of_the_bad_leaf() {
        let e = JsonBody::parse(&json!({"attachments": [{"ok": "%{a}", "text": "x %{[a]b}"}]}))
            .unwrap_err();
        assert_eq!(e.path, r#"["attachments"][0]["text"]"#);
        assert!(
            e.to_string()
                .starts_with(r#"["attachments"][0]["text"]: `%{[a]b}` is not a valid reference"#),
            "{e}"
        );
        let e = JsonBody::parse(&json!({"t": "%{+yyyy}"})).unwrap_err();
        assert!(
            e.to_string().starts_with(r#"["t"]: date formatting"#),
            "{e}"
        );
        let e = JsonBody::parse(&json!([{"a\"b": "%{[@alert][nope]}"}])).unwrap_err();
        assert_eq!(e.path, r#"[0]["a\"b"]"#);
        assert!(e.problem.contains("`[@alert][rule]`"), "{e}");
        assert!(JsonBody::parse(&json!({"t": "%{[@alert]}"})).is_err());
        let huge = json!({"t": "x".repeat(TEMPLATE_MAX)});
        assert!(JsonBody::parse(&huge)
            .unwrap_err()
            .to_string()
            .contains("bytes"));
    }

    #[test]
    fn substituted_strings_are_cut_at_character_boundaries() {
        let long = "한😀".repeat(3000);
        let event = json!({"m": long, "obj": {"k": long}});
        let body = render(
            json!({"one": "%{m}", "text": "<%{m}>", "obj": "%{obj}"}),
            &event,
        );
        for value in [&body["one"], &body["obj"]["k"]] {
            let s = value.as_str().unwrap();
            assert_eq!(char_len(s), VALUE_MAX);
            assert!(s.ends_with(TRUNCATION_MARKER));
        }
        let text = body["text"].as_str().unwrap();
        assert_eq!(char_len(text), VALUE_MAX + 2);
        assert!(text.starts_with("<한😀") && text.ends_with(&format!("{TRUNCATION_MARKER}>")));
    }

    #[test]
    fn the_whole_body_stays_within_its_bound() {
        let huge = "가<\"\\\u{1}".repeat(2_000_000); // 10M chars, escapes to more
        let event = json!({"m": huge, "short": "keep me"});
        let leaves: Vec<Value> = (0..200).map(|_| json!("%{m}")).collect();
        let body = render(
            json!({"many": leaves, "s": "%{short}", "n": "%{[@alert][count]}"}),
            &event,
        );
        let size = body.to_string().len();
        assert!(size <= BODY_MAX, "{size}");
        assert!(
            size > BODY_MAX - 200 * 40,
            "cuts no more than needed: {size}"
        );
        assert_eq!(body["s"], "keep me", "short strings survive");
        assert_eq!(body["n"], 5);

        // An array of numbers too big to send as such becomes text.
        let numbers: Vec<u64> = (0..100_000).map(|i| u64::MAX - i).collect();
        let event = json!({"nums": numbers});
        let body = render(json!({"a": "%{nums}", "b": "%{nums}"}), &event);
        assert!(body.to_string().len() <= BODY_MAX);
        assert!(body["a"]
            .as_str()
            .unwrap()
            .starts_with("[18446744073709551615,"));
    }
}
