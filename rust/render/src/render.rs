//! Block Kit payload builders.
//!
//! Each builder returns the complete JSON body of one incoming-webhook call.
//! The invariants every builder keeps, because Slack answers a breach with a
//! 400 and the alert is lost:
//!
//! - every text object is non-empty and within its limit in [`crate::limits`],
//!   counted in characters;
//! - all text together (blocks plus the `text` fallback) stays within
//!   [`MESSAGE_BUDGET`], whatever the size of the event;
//! - every value taken from an event is escaped with
//!   [`escape_mrkdwn`] and then truncated with
//!   [`truncate_chars`], so a cut never splits an entity;
//! - only operator-written text (templates, `mention`) may carry mentions
//!   and links.
//!
//! Messages are sent as one legacy attachment holding the blocks, because
//! that is the only way to get the coloured side bar that tells ERROR from
//! FATAL at a glance.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use slack_alert_event::ecs::{self, EcsField};
use slack_alert_event::{value_text, FieldRef, Fields};

use crate::escape::{escape_mrkdwn, replace_controls};
use crate::human;
use crate::limits::{
    ALERT_FALLBACK_MAX, FALLBACK_TEXT_MAX, FIELD_TEXT_MAX, HEADER_MAX, MAX_BLOCKS, MESSAGE_BUDGET,
    SECTION_FIELDS_MAX, SECTION_TEXT_MAX,
};
use crate::link::{Link, DEFAULT_LINK_TEXT, LINK_TEXT_MAX};
use crate::template::{char_prefix, Template};
use crate::truncate::{char_len, truncate_chars};

/// The most characters a field value in the default alert shows: fields sit
/// in two narrow columns, and nine of them must leave room for the message
/// and the stack trace within [`MESSAGE_BUDGET`].
pub const FIELD_VALUE_MAX: usize = 300;

/// The most characters an operator-written mention may take.
pub const MENTION_MAX: usize = 200;

/// The most characters a rule name shows (names are at most 64 by
/// validation; this only bounds what a caller passes).
pub const RULE_MAX: usize = 100;

/// The most characters a field reference shows in a threshold or flatline
/// line.
pub const REFERENCE_MAX: usize = 100;

/// The most characters a fingerprint label shows in a repeat notice.
pub const LABEL_MAX: usize = 1000;

/// The most characters a fingerprint label shows in a summary line.
pub const SUMMARY_LABEL_MAX: usize = 150;

/// The most fingerprints a summary lists.
pub const SUMMARY_TOP_MAX: usize = 10;

/// The colour of messages that are not about a log level (summaries without
/// losses use [`level_color`]`("WARN")`).
const TEST_COLOR: &str = "#2eb886";

/// Operator-written presentation options, passed through to Slack as given
/// (legacy webhooks honour them; app webhooks ignore them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// Channel override, e.g. `#ops`.
    pub channel: Option<String>,
    /// Sender name override.
    pub username: Option<String>,
    /// Sender icon as an emoji code, e.g. `:rotating_light:`.
    pub icon_emoji: Option<String>,
    /// Sender icon as an image URL.
    pub icon_url: Option<String>,
}

impl Style {
    /// Adds the options that are set (and not blank) to a payload.
    fn apply(&self, payload: &mut Map<String, Value>) {
        let options = [
            ("channel", &self.channel),
            ("username", &self.username),
            ("icon_emoji", &self.icon_emoji),
            ("icon_url", &self.icon_url),
        ];
        for (key, value) in options {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                payload.insert(key.to_string(), Value::String(v.to_string()));
            }
        }
    }
}

/// What an alert is about: one matched event.
#[derive(Clone, Copy)]
pub struct AlertView<'a> {
    /// The canonical level name from the engine: `TRACE`, `DEBUG`, `INFO`,
    /// `NOTICE`, `WARN`, `ERROR` or `FATAL`.
    pub level: &'a str,
    /// The level as the event had it (shown), e.g. `error`.
    pub raw_level: Option<&'a str>,
    /// The event's fields.
    pub fields: &'a dyn Fields,
    /// Operator template for the header; `None` renders the default.
    pub title: Option<&'a Template>,
    /// Operator template for the body; `None` renders the default body.
    pub format: Option<&'a Template>,
    /// Operator-written text put verbatim at the start of `text` and of the
    /// first section, e.g. `<!here>` (see [`crate::Mention`]).
    pub mention: Option<&'a str>,
    /// A button to the logs: an `actions` block after the body, left out
    /// when the URL would break Slack's limit ([`crate::LinkTemplate::render`]
    /// gives `None`).
    pub link: Option<Link<'a>>,
    /// Set for a threshold alert: the first section says how many events
    /// within what window (and for which group) made this alert.
    pub occurrences: Option<Occurrences<'a>>,
    /// The rule that matched, shown in a context line at the end unless it
    /// is `default` (the rule of a configuration without `rules`).
    pub rule: Option<&'a str>,
}

impl<'a> AlertView<'a> {
    /// The default alert of `level` over `fields`: no raw level, operator
    /// templates, mention, link, occurrences or rule. Set any of them with
    /// struct update syntax (`AlertView { rule: Some("r"), ..AlertView::new(..) }`).
    pub fn new(level: &'a str, fields: &'a dyn Fields) -> Self {
        AlertView {
            level,
            raw_level: None,
            fields,
            title: None,
            format: None,
            mention: None,
            link: None,
            occurrences: None,
            rule: None,
        }
    }
}

/// How many matching events made a threshold alert.
#[derive(Clone, Copy, Debug)]
pub struct Occurrences<'a> {
    /// Matching events counted in the window.
    pub count: u64,
    /// The threshold window.
    pub within: Duration,
    /// The `group_by` reference (operator text) and the group's value
    /// (event data: escaped); `None` when counting per fingerprint.
    pub group: Option<(&'a str, &'a str)>,
}

/// A flatline alert (a group that was logging went silent) or, with
/// `recovered_after`, the notice that it is logging again.
#[derive(Clone, Copy, Debug)]
pub struct FlatlineView<'a> {
    /// The flatline rule's name.
    pub rule: &'a str,
    /// The `group_by` reference, e.g. `[service.name]` (operator text).
    pub group_ref: &'a str,
    /// The group's value, e.g. `checkout` (event data: escaped).
    pub group: &'a str,
    /// The configured silence.
    pub silence: Duration,
    /// When the group last logged before it went silent.
    pub last_seen: SystemTime,
    /// Operator-written mention leading the silent alert; never used on the
    /// recovered notice.
    pub mention: Option<&'a str>,
    /// `Some(gap)` renders the recovered notice: the group logged again
    /// after `gap` of silence.
    pub recovered_after: Option<Duration>,
}

/// A notice that an alert already posted kept happening.
#[derive(Clone, Copy, Debug)]
pub struct RepeatView<'a> {
    /// The canonical level name of the repeated alert.
    pub level: &'a str,
    /// The fingerprint label (event data: escaped when shown).
    pub label: &'a str,
    /// How many more times it happened since it was posted.
    pub count: u64,
    /// When it was first seen (the posted alert).
    pub first_seen: SystemTime,
    /// The dedup window the repeats were folded over.
    pub window: Duration,
    /// The service it came from, if known (event data: escaped).
    pub service: Option<&'a str>,
    /// The rule, shown in the context line unless it is `default`.
    pub rule: Option<&'a str>,
}

/// What the rate limiter and the sender could not post individually.
#[derive(Clone, Copy, Debug)]
pub struct SummaryView<'a> {
    /// Alerts not posted individually because of the rate limit.
    pub suppressed: u64,
    /// Fingerprint labels (event data: escaped) with counts, most first;
    /// at most [`SUMMARY_TOP_MAX`] are shown.
    pub top: &'a [(String, u64)],
    /// Repeat counts folded in here (e.g. a window closed while limited).
    pub repeats: u64,
    /// Alerts dropped because the send queue was full.
    pub dropped: u64,
    /// Alerts Slack did not accept after retries.
    pub undelivered: u64,
    /// Tracked fingerprints evicted from a full dedup table.
    pub evicted: u64,
    /// The start of the period summarised.
    pub since: SystemTime,
    /// The rule summarised, shown in the context line unless it is
    /// `default`.
    pub rule: Option<&'a str>,
}

/// The side-bar colour for a canonical level name (case-insensitive):
/// FATAL dark red, ERROR red, WARN amber, anything else blue.
pub fn level_color(level: &str) -> &'static str {
    match level.to_ascii_uppercase().as_str() {
        "FATAL" => "#8b0000",
        "ERROR" => "#d00000",
        "WARN" => "#daa038",
        _ => "#439fe0",
    }
}

/// The emoji heading an alert for a canonical level name (case-insensitive).
pub fn level_emoji(level: &str) -> &'static str {
    match level.to_ascii_uppercase().as_str() {
        "FATAL" => "🔥",
        "ERROR" => "🚨",
        "WARN" => "⚠️",
        _ => "ℹ️",
    }
}

/// Renders the alert for one event.
///
/// The header is the `title` template (rendered as plain text) or
/// `"{emoji} {LEVEL} in {service}"`. The body is the `format` template, split
/// into sections of at most 3000 characters, or by default: the message
/// (a code block when it has several lines), the stack trace as a code block
/// (its top, when it must be cut), and a section of fields (time, service,
/// host, logger, thread, trace id, error type, environment, level).
pub fn render_alert(view: &AlertView<'_>, style: &Style) -> Value {
    let level = &level_name(view.level);
    let mention = mention_text(view.mention);
    let subject = Subject::of(view.fields);
    let occurrences = view.occurrences.as_ref().map(occurrences_line);
    let context = rule_line(view.rule).map(|line| vec![line]);
    let link = view
        .link
        .as_ref()
        .and_then(|link| link_block(link, view.fields));
    let mut budget = Budget::new(MESSAGE_BUDGET);

    // The rendered format is needed for the fallback text, so render it once.
    let body = view.format.map(|format| {
        let text = format.render_bounded(view.fields, true, MESSAGE_BUDGET);
        trim_blank_lines(&text).to_string()
    });

    let header = alert_header(view, level, &subject);
    let fallback = alert_fallback(view, level, &subject, body.as_deref(), mention.as_deref());
    budget.spend(&header);
    budget.spend(&fallback);
    for element in context.iter().flatten() {
        budget.spend(element);
    }
    if let Some((_, text)) = &link {
        budget.spend(text);
    }
    // A threshold alert leads with its count, and the mention with it.
    let lead = occurrences
        .as_ref()
        .map(|line| lead_with(&mut mention.as_deref(), line.clone()));
    if let Some(lead) = &lead {
        budget.spend(lead);
    }
    let body_mention = if lead.is_some() {
        None
    } else {
        mention.as_deref()
    };

    let mut sections = match &body {
        Some(body) => format_sections(body, &mut budget, body_mention),
        None => default_sections(view, level, &mut budget, body_mention),
    };
    if let Some(mention) = body_mention {
        if !sections.iter().any(|s| s.get("text").is_some()) {
            // Only fields (or nothing) to show: the mention gets its own text.
            match sections.first_mut().and_then(Value::as_object_mut) {
                Some(first) => {
                    first.insert("text".into(), mrkdwn(mention));
                }
                None => sections.push(section(mention)),
            }
        }
    }

    let mut blocks = vec![header_block(&header)];
    blocks.extend(lead.as_deref().map(section));
    blocks.extend(sections);
    // The button and the rule line come last and are never cut off.
    let tail = usize::from(link.is_some()) + usize::from(context.is_some());
    blocks.truncate(MAX_BLOCKS - tail);
    blocks.extend(link.map(|(block, _)| block));
    blocks.extend(context.as_deref().map(context_block));
    message(&fallback, level_color(level), blocks, style)
}

/// `5 events within 1m for `service.name` = checkout`.
fn occurrences_line(occurrences: &Occurrences<'_>) -> String {
    let mut line = format!(
        "{} within {}",
        human::count_of(occurrences.count, "event", "events"),
        human::duration(occurrences.within)
    );
    if let Some((reference, value)) = occurrences.group {
        line.push_str(&format!(
            " for {} = {}",
            reference_text(reference),
            group_text(value)
        ));
    }
    line
}

/// A field reference as a code span: `service.name` for `[service.name]`,
/// `[service][name]` as it is. Operator text, escaped all the same.
fn reference_text(reference: &str) -> String {
    let shown = match FieldRef::parse(reference) {
        Ok(r) if r.segments().len() == 1 => r.segments()[0].clone(),
        _ => reference.trim().to_string(),
    };
    // A backtick would end the code span early.
    let shown = one_line(&shown.replace('`', "'"), REFERENCE_MAX);
    format!("`{}`", escape_mrkdwn(&shown))
}

/// A group's value (event data) on one line, escaped; never empty.
fn group_text(value: &str) -> String {
    let value = one_line(value, FIELD_VALUE_MAX);
    if value.is_empty() {
        "(empty)".to_string()
    } else {
        escape_truncate(&value, FIELD_VALUE_MAX)
    }
}

/// The context element naming the rule, escaped: nothing for `default` or
/// a blank name.
fn rule_line(rule: Option<&str>) -> Option<String> {
    let rule = one_line(rule?, RULE_MAX);
    (!rule.is_empty() && rule != "default")
        .then(|| format!("*Rule:* {}", escape_truncate(&rule, RULE_MAX)))
}

/// The operator's mention as it leads a message: trimmed, cut to
/// [`MENTION_MAX`], nothing when blank.
fn mention_text(mention: Option<&str>) -> Option<String> {
    mention
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| truncate_chars(m, MENTION_MAX).into_owned())
}

/// The `actions` block with the link button, and the button's label;
/// `None` when the URL does not fit in a button.
fn link_block(link: &Link<'_>, fields: &dyn Fields) -> Option<(Value, String)> {
    let url = link.template.render(fields)?;
    let mut text = one_line(link.text, LINK_TEXT_MAX);
    if text.is_empty() {
        text = DEFAULT_LINK_TEXT.to_string();
    }
    let block = json!({"type": "actions", "elements": [{
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": true},
        "url": url,
    }]});
    Some((block, text))
}

/// Renders the notice that an alert kept repeating:
/// `🔁 Repeated 1,234 more times since 14:03:07 UTC (5m window)`, the label,
/// and a context line with the service, level and first-seen date.
pub fn render_repeat(view: &RepeatView<'_>, style: &Style) -> Value {
    let level = &level_name(view.level);
    let since = human::utc_time(view.first_seen);
    let line = format!(
        "🔁 Repeated {} more {} since {since} UTC ({} window)",
        human::count(view.count),
        if view.count == 1 { "time" } else { "times" },
        human::duration(view.window),
    );
    let label = trim_blank_lines(view.label);
    let service = view
        .service
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| escape_truncate(s, FIELD_VALUE_MAX));

    let mut blocks = vec![section(&line)];
    if !label.is_empty() {
        let text = if label.contains('\n') {
            code_block(label, LABEL_MAX)
        } else {
            escape_truncate(label, LABEL_MAX)
        };
        blocks.push(section(&text));
    }
    let mut context = Vec::new();
    if let Some(service) = &service {
        context.push(format!("*Service:* {service}"));
    }
    context.push(format!("*Level:* {}", escape_mrkdwn(level)));
    context.push(format!(
        "*First seen:* {} UTC",
        human::utc_date_time(view.first_seen)
    ));
    context.extend(rule_line(view.rule));
    blocks.push(context_block(&context));

    let mut fallback = format!(
        "🔁 {} repeated {} more {}",
        escape_mrkdwn(level),
        human::count(view.count),
        if view.count == 1 { "time" } else { "times" }
    );
    if let Some(service) = &service {
        fallback.push_str(&format!(" in {service}"));
    }
    if let Some(first) = first_line(label) {
        fallback.push_str(": ");
        fallback.push_str(&escape_truncate(first, ALERT_FALLBACK_MAX));
    }
    let fallback = truncate_chars(&fallback, ALERT_FALLBACK_MAX);
    message(&fallback, level_color(level), blocks, style)
}

/// Renders the summary of what was not posted individually: one line per
/// non-zero count, the total number of events it accounts for, and the most
/// frequent fingerprints.
///
/// The total is suppressed + repeats + dropped + undelivered; evicted
/// fingerprints are dedup state, not events, so they are listed but not
/// counted.
pub fn render_summary(view: &SummaryView<'_>, style: &Style) -> Value {
    let since = human::utc_time(view.since);
    let total = view
        .suppressed
        .saturating_add(view.repeats)
        .saturating_add(view.dropped)
        .saturating_add(view.undelivered);
    let lost = view.dropped.saturating_add(view.undelivered);

    let lines: Vec<String> = [
        count_line(
            view.suppressed,
            "alert",
            "not posted individually (rate limit)",
        ),
        count_line(view.repeats, "repeat", "of alerts already posted"),
        count_line(
            view.dropped,
            "alert",
            "dropped because the send queue was full",
        ),
        count_line(
            view.undelivered,
            "alert",
            "Slack did not accept after retries",
        ),
        count_line(
            view.evicted,
            "tracked fingerprint",
            "evicted from the full dedup table",
        ),
    ]
    .into_iter()
    .flatten()
    .collect();

    let mut text = if total == 0 && lines.is_empty() {
        format!("Nothing to report since {since} UTC.")
    } else {
        format!(
            "This summary accounts for *{}* since {since} UTC.",
            human::count_of(total, "event", "events")
        )
    };
    for line in &lines {
        text.push('\n');
        text.push_str(line);
    }

    let mut blocks = vec![
        header_block("📊 slack_alert summary"),
        section(&truncate_chars(&text, SECTION_TEXT_MAX)),
    ];
    if !view.top.is_empty() {
        blocks.push(section(&top_list(view.top)));
    }
    let mut context = vec![format!(
        "Counting since {} UTC",
        human::utc_date_time(view.since)
    )];
    context.extend(rule_line(view.rule));
    blocks.push(context_block(&context));

    let mut fallback = format!(
        "slack_alert summary: {} since {since} UTC",
        human::count_of(total, "event", "events")
    );
    if lost > 0 {
        fallback.push_str(&format!(
            ", {} lost",
            human::count_of(lost, "alert", "alerts")
        ));
    }
    let color = if lost > 0 {
        level_color("ERROR")
    } else {
        level_color("WARN")
    };
    message(&fallback, color, blocks, style)
}

/// Renders a flatline alert: `🔇 checkout stopped logging`, a line saying
/// for how long nothing came and when the group was last seen, and a
/// context line with the rule. With `recovered_after` set, renders the
/// notice that the group is logging again (`✅ checkout is logging again
/// after 12m`), which never mentions anyone.
pub fn render_flatline(view: &FlatlineView<'_>, style: &Style) -> Value {
    let group = group_text(view.group);
    // The header is plain_text: the group without entities, on one line.
    let header_group = one_line(view.group, FIELD_VALUE_MAX);
    let header_group = if header_group.is_empty() {
        "(empty)".to_string()
    } else {
        escape_mrkdwn(&header_group).into_owned()
    };
    let field = reference_text(view.group_ref);
    let last_seen = human::utc_time(view.last_seen);
    let mut context = vec![format!(
        "*Last seen:* {} UTC",
        human::utc_date_time(view.last_seen)
    )];
    context.extend(rule_line(Some(view.rule)));

    let (header, line, fallback, color) = match view.recovered_after {
        None => {
            let silence = human::duration(view.silence);
            let mention = mention_text(view.mention);
            let line = format!(
                "No events from {field} = {group} for {silence} (last seen at {last_seen} UTC)."
            );
            let line = lead_with(&mut mention.as_deref(), line);
            let mut fallback = mention.map(|m| format!("{m} ")).unwrap_or_default();
            fallback.push_str(&format!(
                "🔇 {group} stopped logging: nothing for {silence} (last seen at {last_seen} UTC)"
            ));
            context.push(format!("*Silence:* {silence}"));
            (
                format!("🔇 {header_group} stopped logging"),
                line,
                fallback,
                level_color("ERROR"),
            )
        }
        Some(gap) => {
            let gap = human::duration(gap);
            (
                format!("✅ {header_group} is logging again"),
                format!("{field} = {group} is logging again after {gap} of silence."),
                format!("✅ {group} is logging again after {gap}"),
                TEST_COLOR,
            )
        }
    };
    let blocks = vec![
        header_block(&truncate_chars(&header, HEADER_MAX)),
        section(&truncate_chars(&line, SECTION_TEXT_MAX)),
        context_block(&context),
    ];
    let fallback = truncate_chars(&fallback, ALERT_FALLBACK_MAX);
    message(&fallback, color, blocks, style)
}

/// `• *12* alerts {what}`, or nothing for a zero count. `noun` takes an `s`
/// in the plural.
fn count_line(n: u64, noun: &str, what: &str) -> Option<String> {
    let plural = if n == 1 { "" } else { "s" };
    (n > 0).then(|| format!("• *{}* {noun}{plural} {what}", human::count(n)))
}

/// Renders a clearly marked test message, for checking that a webhook works
/// (the sidecar's send-test).
pub fn render_test(style: &Style) -> Value {
    let blocks = vec![
        header_block("✅ slack_alert test message"),
        section(
            "This is a *test message* from the Logstash `slack_alert` filter. \
             If you can read it, the webhook works and alerts will arrive here.",
        ),
        context_block(&["No action needed: this is not an alert.".to_string()]),
    ];
    message(
        "slack_alert test message: the webhook works",
        TEST_COLOR,
        blocks,
        style,
    )
}

/// The most characters a level name shows; canonical names are short, this
/// only guards against a caller passing event text.
const LEVEL_MAX: usize = 20;

/// A level name that is never empty (an empty text object is a 400), on one
/// line and short. Escape it for mrkdwn: it is plain text.
fn level_name(level: &str) -> String {
    let level = one_line(level, LEVEL_MAX);
    if level.is_empty() {
        "ALERT".to_string()
    } else {
        level
    }
}

/// What the alert is about, for the header and the fallback: the service,
/// else the host.
enum Subject {
    Service(String),
    Host(String),
    Unknown,
}

impl Subject {
    fn of(fields: &dyn Fields) -> Subject {
        let text = |field: &EcsField| {
            ecs::first(field, fields)
                .map(|v| one_line(&value_text(v), FIELD_VALUE_MAX))
                .filter(|s| !s.is_empty())
        };
        if let Some(service) = text(&ecs::SERVICE) {
            Subject::Service(service)
        } else if let Some(host) = text(&ecs::HOST) {
            Subject::Host(host)
        } else {
            Subject::Unknown
        }
    }

    /// ` in checkout`, ` on web-1` or nothing; `escape` for mrkdwn.
    fn suffix(&self, escape: bool) -> String {
        let (word, name) = match self {
            Subject::Service(s) => ("in", s),
            Subject::Host(h) => ("on", h),
            Subject::Unknown => return String::new(),
        };
        let name = if escape {
            escape_mrkdwn(name)
        } else {
            replace_controls(name)
        };
        format!(" {word} {name}")
    }
}

/// The header text: the title template, or the default.
///
/// The header is `plain_text`, which Slack does not scan for mentions; event
/// values are escaped there all the same, so that no path from log data to
/// Slack depends on which text object it lands in (Slack shows the entities
/// as the characters).
fn alert_header(view: &AlertView<'_>, level: &str, subject: &Subject) -> String {
    if let Some(title) = view.title {
        let text = one_line(
            &title.render_bounded(view.fields, true, HEADER_MAX),
            HEADER_MAX,
        );
        if !text.is_empty() {
            return text;
        }
    }
    let text = format!("{} {level}{}", level_emoji(level), subject.suffix(true));
    truncate_chars(&text, HEADER_MAX).into_owned()
}

/// The `text` fallback shown in notifications: `LEVEL in service: first
/// line`, or with a format, the title and the format's first line.
fn alert_fallback(
    view: &AlertView<'_>,
    level: &str,
    subject: &Subject,
    body: Option<&str>,
    mention: Option<&str>,
) -> String {
    let max = ALERT_FALLBACK_MAX;
    let mut text = match mention {
        Some(m) => format!("{m} "),
        None => String::new(),
    };
    let (lead, first) = match body {
        Some(body) => {
            let title = view
                .title
                .map(|t| one_line(&t.render_bounded(view.fields, true, max), max))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| {
                    let level = escape_mrkdwn(level);
                    format!("{} {level}{}", level_emoji(&level), subject.suffix(true))
                });
            (title, first_line(body).map(str::to_string))
        }
        None => {
            let message = message_text(view.fields);
            let first = message
                .as_deref()
                .and_then(first_line)
                .map(|l| escape_mrkdwn(char_prefix(l, max)).into_owned());
            (
                format!("{}{}", escape_mrkdwn(level), subject.suffix(true)),
                first,
            )
        }
    };
    text.push_str(&lead);
    if let Some(o) = &view.occurrences {
        text.push_str(&format!(
            " ({} within {})",
            human::count_of(o.count, "event", "events"),
            human::duration(o.within)
        ));
    }
    if let Some(first) = first {
        text.push_str(": ");
        text.push_str(&first);
    }
    truncate_chars(&text, max).into_owned()
}

/// The message to show: `message`, else the error message.
fn message_text<'a>(fields: &'a dyn Fields) -> Option<Cow<'a, str>> {
    let value =
        ecs::first(&ecs::MESSAGE, fields).or_else(|| ecs::first(&ecs::ERROR_MESSAGE, fields))?;
    // Borrowed for strings: a 10 MB message is never copied whole.
    let text = match value_text(value) {
        Cow::Borrowed(s) => Cow::Borrowed(trim_blank_lines(s)),
        Cow::Owned(s) => Cow::Owned(trim_blank_lines(&s).to_string()),
    };
    (!text.is_empty()).then_some(text)
}

/// The default body: message, stack trace, fields.
fn default_sections(
    view: &AlertView<'_>,
    level: &str,
    budget: &mut Budget,
    mention: Option<&str>,
) -> Vec<Value> {
    // Fields first: they are small and always wanted, and what is left of
    // the budget goes to the message and then the stack trace.
    let fields = field_texts(view, level);
    for f in &fields {
        budget.spend(f);
    }
    // The first text section starts with the mention and a separator; its
    // room is reserved until that section is built.
    let mut pending = mention;
    let reserve = |pending: Option<&str>| pending.map_or(0, |m| char_len(m) + 1);
    budget.take(reserve(pending));

    let mut sections = Vec::new();
    if let Some(message) = message_text(view.fields) {
        let max = budget.cap(SECTION_TEXT_MAX - reserve(pending));
        let text = if message.contains('\n') {
            code_block(&message, max)
        } else {
            escape_truncate(&message, max)
        };
        if !text.trim().is_empty() {
            budget.spend(&text);
            sections.push(section(&lead_with(&mut pending, text)));
        }
    }

    let trace = ecs::first(&ecs::STACK_TRACE, view.fields).map(|v| value_text(v));
    let trace = trace.as_deref().map(trim_blank_lines).unwrap_or("");
    let max = budget.cap(SECTION_TEXT_MAX - reserve(pending));
    // A trace cut to a few characters helps nobody; skip it then.
    if !trace.is_empty() && max >= CODE_FENCES + 40 {
        let text = code_block(trace, max);
        budget.spend(&text);
        sections.push(section(&lead_with(&mut pending, text)));
    }

    if !fields.is_empty() {
        let fields: Vec<Value> = fields.iter().map(|f| mrkdwn(f)).collect();
        sections.push(json!({"type": "section", "fields": fields}));
    }
    sections
}

/// `text`, led by the mention if it has not been placed yet.
fn lead_with(pending: &mut Option<&str>, text: String) -> String {
    match pending.take() {
        // A fence must start its own line to open a code block.
        Some(m) if text.starts_with("```") => format!("{m}\n{text}"),
        Some(m) => format!("{m} {text}"),
        None => text,
    }
}

/// `*Label*\nvalue` for each field present, in display order.
fn field_texts(view: &AlertView<'_>, level: &str) -> Vec<String> {
    let shown = [
        &ecs::TIMESTAMP,
        &ecs::SERVICE,
        &ecs::HOST,
        &ecs::LOGGER,
        &ecs::THREAD,
        &ecs::TRACE_ID,
        &ecs::ERROR_TYPE,
        &ecs::ENVIRONMENT,
    ];
    let mut texts: Vec<String> = shown
        .iter()
        .filter_map(|field| {
            let value = value_text(ecs::first(field, view.fields)?);
            field_text(field.name, value.trim())
        })
        .collect();
    let raw = view.raw_level.map(str::trim).filter(|l| !l.is_empty());
    texts.extend(field_text("Level", raw.unwrap_or(level)));
    texts.truncate(SECTION_FIELDS_MAX);
    texts
}

fn field_text(label: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    let text = format!("*{label}*\n{}", escape_truncate(value, FIELD_VALUE_MAX));
    Some(truncate_chars(&text, FIELD_TEXT_MAX).into_owned())
}

/// The body from the operator's format: sections of at most
/// [`SECTION_TEXT_MAX`] characters, all together within what is left of the
/// budget.
fn format_sections(body: &str, budget: &mut Budget, mention: Option<&str>) -> Vec<Value> {
    let prefix = mention.map(|m| format!("{m} ")).unwrap_or_default();
    budget.spend(&prefix);
    let text = truncate_chars(body, budget.left());
    let first_max = SECTION_TEXT_MAX - char_len(&prefix);
    let mut sections = Vec::new();
    for (i, piece) in split_sections(&text, first_max, SECTION_TEXT_MAX)
        .into_iter()
        .enumerate()
    {
        let piece = if i == 0 {
            format!("{prefix}{piece}")
        } else {
            piece.to_string()
        };
        budget.spend(&piece);
        sections.push(section(&piece));
    }
    sections
}

/// Splits `text` into pieces of at most `first_max` (then `max`)
/// characters, at a line break when one falls in the second half of the
/// piece, else at a character boundary that does not split an entity.
/// Blank pieces are dropped.
fn split_sections(text: &str, first_max: usize, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut limit = first_max;
    while !rest.is_empty() {
        let piece_end = if char_len(rest) <= limit {
            rest.len()
        } else {
            let hard = match crate::truncate::safe_cut(rest, limit) {
                // Only when `limit` is smaller than an entity: progress first.
                0 => char_prefix(rest, limit.max(1)).len(),
                cut => cut,
            };
            match rest[..hard].rfind('\n') {
                Some(nl) if char_len(&rest[..nl]) >= limit / 2 => nl,
                _ => hard,
            }
        };
        let piece = &rest[..piece_end];
        if !piece.trim().is_empty() {
            pieces.push(piece);
        }
        rest = rest[piece_end..]
            .strip_prefix('\n')
            .unwrap_or(&rest[piece_end..]);
        limit = max;
    }
    pieces
}

/// Characters taken by the fences of [`code_block`].
const CODE_FENCES: usize = 8;

/// Event text as a ``` block of at most `max_chars` characters in all:
/// escaped, and cut at the end so the top of a stack trace survives.
fn code_block(raw: &str, max_chars: usize) -> String {
    let inner = escape_truncate(raw, max_chars.saturating_sub(CODE_FENCES));
    format!("```\n{inner}\n```")
}

/// Escapes event text and truncates the result to `max_chars`, without
/// escaping more of a huge value than can be shown.
fn escape_truncate(raw: &str, max_chars: usize) -> String {
    let raw = char_prefix(raw, max_chars.saturating_add(1));
    truncate_chars(&escape_mrkdwn(raw), max_chars).into_owned()
}

/// Text on one line (whitespace runs become one space), control characters
/// replaced, at most `max_chars` characters.
fn one_line(s: &str, max_chars: usize) -> String {
    // Collects no more than can be shown (plus one, so a cut is marked).
    let mut joined = String::new();
    let mut chars = 0;
    for word in s.split_whitespace() {
        if chars > max_chars {
            break;
        }
        if !joined.is_empty() {
            joined.push(' ');
            chars += 1;
        }
        let word = char_prefix(word, max_chars.saturating_add(1));
        joined.push_str(word);
        chars += char_len(word);
    }
    truncate_chars(&replace_controls(&joined), max_chars).into_owned()
}

/// `s` without leading blank lines and trailing whitespace.
fn trim_blank_lines(s: &str) -> &str {
    let s = s.trim_end();
    let start = s
        .char_indices()
        .take_while(|(_, c)| c.is_whitespace())
        .filter(|(_, c)| *c == '\n')
        .last()
        .map_or(0, |(i, _)| i + 1);
    &s[start..]
}

/// The first line with something on it, trimmed.
fn first_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).find(|l| !l.is_empty())
}

/// "• 1,234× label" lines for the most frequent fingerprints.
fn top_list(top: &[(String, u64)]) -> String {
    let mut text = String::from("*Most frequent:*");
    for (label, n) in top.iter().take(SUMMARY_TOP_MAX) {
        let label = first_line(label)
            .map(|l| escape_truncate(l, SUMMARY_LABEL_MAX))
            .unwrap_or_else(|| "(no label)".to_string());
        text.push_str(&format!("\n• {}× {label}", human::count(*n)));
    }
    if top.len() > SUMMARY_TOP_MAX {
        let others = &top[SUMMARY_TOP_MAX..];
        let sum = others
            .iter()
            .fold(0u64, |acc, (_, n)| acc.saturating_add(*n));
        text.push_str(&format!(
            "\n• …and {} more ({})",
            human::count(others.len() as u64),
            human::count_of(sum, "event", "events")
        ));
    }
    truncate_chars(&text, SECTION_TEXT_MAX).into_owned()
}

/// Tracks how many characters of [`MESSAGE_BUDGET`] are left.
struct Budget {
    left: usize,
}

impl Budget {
    fn new(total: usize) -> Budget {
        Budget { left: total }
    }

    fn spend(&mut self, text: &str) {
        self.take(char_len(text));
    }

    fn take(&mut self, chars: usize) {
        self.left = self.left.saturating_sub(chars);
    }

    fn left(&self) -> usize {
        self.left
    }

    /// `max`, or less if less is left.
    fn cap(&self, max: usize) -> usize {
        max.min(self.left)
    }
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": mrkdwn(text)})
}

fn header_block(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": text, "emoji": true}})
}

fn context_block(elements: &[String]) -> Value {
    let elements: Vec<Value> = elements
        .iter()
        .take(crate::limits::CONTEXT_ELEMENTS_MAX)
        .map(|e| mrkdwn(e))
        .collect();
    json!({"type": "context", "elements": elements})
}

/// The webhook body: the notification text, the first block (the headline)
/// at the top level, the rest in one attachment with the colour bar, and the
/// style options.
///
/// Slack shows a message's `text` above its attachments unless the message
/// has top-level blocks; then `text` is what notifications (a phone's above
/// all) show. Leading with a top-level block keeps the headline from showing
/// twice, once as `text` and once in the attachment.
fn message(fallback: &str, color: &str, mut blocks: Vec<Value>, style: &Style) -> Value {
    let mut payload = Map::new();
    let fallback = truncate_chars(fallback, FALLBACK_TEXT_MAX);
    payload.insert("text".into(), Value::String(fallback.into_owned()));
    let rest = blocks.split_off(blocks.len().min(1));
    payload.insert("blocks".into(), Value::Array(blocks));
    if !rest.is_empty() {
        payload.insert(
            "attachments".into(),
            json!([{"color": color, "blocks": rest}]),
        );
    }
    style.apply(&mut payload);
    Value::Object(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::check;
    use crate::test_support::{assert_within_slack_limits, seed_event};
    use serde_json::json;
    use std::time::UNIX_EPOCH;

    /// The alert of `view` in the default style, failing the test unless it
    /// keeps every limit.
    fn rendered(view: &AlertView<'_>) -> Value {
        let payload = render_alert(view, &Style::default());
        assert_within_slack_limits(&payload);
        payload
    }

    fn alert(event: &Value, level: &str) -> Value {
        rendered(&AlertView::new(level, event))
    }

    /// Every block in the order Slack shows them: the top-level ones, then
    /// the attachment's.
    fn blocks(payload: &Value) -> Vec<Value> {
        let top = payload["blocks"].as_array().unwrap();
        let attached = payload["attachments"][0]["blocks"].as_array();
        top.iter()
            .chain(attached.into_iter().flatten())
            .cloned()
            .collect()
    }

    fn block_texts(payload: &Value) -> Vec<String> {
        blocks(payload)
            .iter()
            .filter_map(|b| b["text"]["text"].as_str().map(str::to_string))
            .collect()
    }

    fn field_texts_of(payload: &Value) -> Vec<String> {
        blocks(payload)
            .iter()
            .flat_map(|b| b["fields"].as_array().cloned().unwrap_or_default())
            .map(|f| f["text"].as_str().unwrap().to_string())
            .collect()
    }

    fn flat_event() -> Value {
        seed_event(json!({
            "service.environment": "prod",
            "host.name": "api-1",
            "error.type": "java.sql.SQLException",
            "error.stack_trace": "java.sql.SQLException: timeout\n\tat a.b.C.d(C.java:1)\n\tat e.f.G.h(G.java:2)"
        }))
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn default_alert_for_a_flat_ecs_event() {
        let payload = alert(&flat_event(), "ERROR");
        assert_eq!(
            payload["text"],
            "ERROR in anonichat-api: 채팅방 저장 실패: roomId=42"
        );
        assert_eq!(payload["attachments"][0]["color"], "#d00000");
        let blocks = blocks(&payload);
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        assert_eq!(blocks[0]["text"]["text"], "🚨 ERROR in anonichat-api");
        let texts = block_texts(&payload);
        assert_eq!(texts[1], "채팅방 저장 실패: roomId=42");
        assert!(texts[2].starts_with("```\njava.sql.SQLException: timeout\n\tat a.b.C.d"));
        assert!(texts[2].ends_with("\n```"));
        assert_eq!(
            field_texts_of(&payload),
            [
                "*Time*\n2024-05-01T12:34:56.789Z",
                "*Service*\nanonichat-api",
                "*Host*\napi-1",
                "*Logger*\ncom.anonichat.chat.ChatService",
                "*Thread*\nhttp-nio-8080-exec-3",
                "*Trace ID*\n4bf92f3577b34da6a3ce929d0e0e4736",
                "*Error type*\njava.sql.SQLException",
                "*Environment*\nprod",
                "*Level*\nERROR",
            ]
        );
    }

    #[test]
    fn default_alert_finds_nested_ecs_fields() {
        let event = json!({
            "@timestamp": "2024-05-01T12:34:56.789Z",
            "log": {"level": "error", "logger": "app.worker"},
            "process": {"thread": {"name": "MainThread"}},
            "service": {"name": "billing", "environment": "staging"},
            "host": {"hostname": "w-7", "ip": ["10.0.0.1"]},
            "trace": {"id": "t-1"},
            "error": {"type": "KeyError", "stack_trace": "Traceback (most recent call last):\n  x"},
            "message": "lookup failed"
        });
        let view = AlertView {
            raw_level: Some("error"),
            ..AlertView::new("ERROR", &event)
        };
        let payload = rendered(&view);
        assert_eq!(blocks(&payload)[0]["text"]["text"], "🚨 ERROR in billing");
        let fields = field_texts_of(&payload);
        for expected in [
            "*Service*\nbilling",
            "*Host*\nw-7",
            "*Logger*\napp.worker",
            "*Thread*\nMainThread",
            "*Trace ID*\nt-1",
            "*Error type*\nKeyError",
            "*Environment*\nstaging",
            "*Level*\nerror",
        ] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected} in {fields:?}"
            );
        }
        assert!(block_texts(&payload)[2].contains("Traceback"));
    }

    #[test]
    fn header_falls_back_to_host_then_level_alone() {
        let on_host = alert(&json!({"message": "m", "host": "10.0.0.7"}), "FATAL");
        assert_eq!(blocks(&on_host)[0]["text"]["text"], "🔥 FATAL on 10.0.0.7");
        assert_eq!(on_host["text"], "FATAL on 10.0.0.7: m");
        let bare = alert(&json!({"message": "m"}), "WARN");
        assert_eq!(blocks(&bare)[0]["text"]["text"], "⚠️ WARN");
        assert_eq!(bare["text"], "WARN: m");
        let nothing = alert(&json!({}), "INFO");
        assert_eq!(blocks(&nothing)[0]["text"]["text"], "ℹ️ INFO");
        assert_eq!(nothing["text"], "INFO");
        let blank = alert(&json!({}), " ");
        assert_eq!(blank["text"], "ALERT");
        let odd = alert(&json!({}), "<b>\nX");
        assert_eq!(odd["text"], "&lt;b&gt; X");
        assert_eq!(blocks(&odd)[0]["text"]["text"], "ℹ️ <b> X");
    }

    #[test]
    fn colours_follow_the_level() {
        assert_eq!(level_color("FATAL"), "#8b0000");
        assert_eq!(level_color("ERROR"), "#d00000");
        assert_eq!(level_color("WARN"), "#daa038");
        assert_eq!(level_color("INFO"), "#439fe0");
        assert_eq!(level_color("NOTICE"), "#439fe0");
        assert_eq!(level_color("error"), "#d00000");
        for (level, color) in [
            ("FATAL", "#8b0000"),
            ("ERROR", "#d00000"),
            ("WARN", "#daa038"),
            ("DEBUG", "#439fe0"),
        ] {
            assert_eq!(
                alert(&flat_event(), level)["attachments"][0]["color"],
                color
            );
        }
    }

    #[test]
    fn event_text_is_escaped_everywhere() {
        let event = json!({
            "message": "<!channel> pay <https://evil|click> & <@U123>",
            "service.name": "<!here>",
            "host.name": "<!everyone>",
            "log.logger": "a<b>",
            "error.stack_trace": "x <!channel>\n y"
        });
        let payload = alert(&event, "ERROR");
        let all = payload.to_string();
        for forbidden in [
            "<!channel>",
            "<!here>",
            "<!everyone>",
            "<@U123>",
            "<https://evil|click>",
        ] {
            assert!(!all.contains(forbidden), "{forbidden} leaked: {all}");
        }
        assert!(block_texts(&payload)[1].contains("&lt;!channel&gt;"));
        assert!(payload["text"]
            .as_str()
            .unwrap()
            .contains("in &lt;!here&gt;"));
    }

    #[test]
    fn limits_hold_for_every_combination_of_sizes() {
        // Sizes around every limit, in text that escapes to longer text.
        let sizes = [0, 1, 151, 2001, 3001, 12_000];
        let text = |n: usize, multi: bool| -> String {
            let unit = if multi { "<&>\n한😀" } else { "<&> 한😀" };
            unit.chars().cycle().take(n).collect()
        };
        let format =
            Template::parse(r"%{message}\n%{[error.stack_trace]}\n%{[log.logger]}").unwrap();
        let title = Template::parse("%{[log.logger]} %{message}").unwrap();
        for &m in &sizes {
            for &t in &sizes {
                for &f in &[0, 300, 5000] {
                    for variant in 0..4 {
                        let multi = variant % 2 == 1;
                        let mut event = json!({
                            "message": text(m, multi),
                            "error.stack_trace": text(t, true),
                        });
                        for key in [
                            "service.name",
                            "host.name",
                            "log.logger",
                            "trace.id",
                            "error.type",
                        ] {
                            event[key] = json!(text(f, multi));
                        }
                        let templated = variant >= 2;
                        let view = AlertView {
                            raw_level: Some("error"),
                            title: templated.then_some(&title),
                            format: templated.then_some(&format),
                            mention: multi.then_some("<!subteam^S123|@oncall>"),
                            ..AlertView::new("ERROR", &event)
                        };
                        rendered(&view);
                    }
                }
            }
        }
    }

    #[test]
    fn multi_line_messages_become_code_blocks() {
        let event = json!({"message": "first line\nsecond line\n\n"});
        let payload = alert(&event, "ERROR");
        assert_eq!(
            block_texts(&payload)[1],
            "```\nfirst line\nsecond line\n```"
        );
        assert_eq!(payload["text"], "ERROR: first line");
        let single = alert(&json!({"message": "  one line  \n"}), "ERROR");
        assert_eq!(block_texts(&single)[1], "  one line");
    }

    #[test]
    fn huge_messages_and_stack_traces_stay_within_every_limit() {
        let message = "가<&>😀 ".repeat(1024 * 1024); // 11 MB
        let trace: String = (0..40_000)
            .map(|i| format!("\tat com.example.Frame{i}.call(Frame.java:{i})\n"))
            .collect(); // 1.8 MB
        let mut event = flat_event();
        event["message"] = json!(message.clone());
        event["error.stack_trace"] = json!(trace);
        event["log.logger"] = json!("L".repeat(100_000));
        event["trace.id"] = json!("<".repeat(100_000));
        let payload = alert(&event, "FATAL");
        let texts = block_texts(&payload);
        assert!(texts[1].ends_with(crate::truncate::TRUNCATION_MARKER));
        assert!(
            texts[2].starts_with("```\n\tat com.example.Frame0.call"),
            "keeps the top"
        );
        assert!(texts[2].ends_with("(truncated)\n```"));
        assert!(char_len(payload["text"].as_str().unwrap()) <= ALERT_FALLBACK_MAX);

        // A multi-line giant message as a code block, and with a format.
        event["message"] = json!(format!("{message}\n{message}"));
        alert(&event, "ERROR");
        let format = Template::parse("%{message}\\n%{[error.stack_trace]}").unwrap();
        let title = Template::parse("%{message}").unwrap();
        let view = AlertView {
            raw_level: Some(char_prefix(&message, 100)),
            title: Some(&title),
            format: Some(&format),
            mention: Some("<!here>"),
            ..AlertView::new("ERROR", &event)
        };
        let payload = rendered(&view);
        assert!(blocks(&payload).len() > 2, "split into several sections");
    }

    #[test]
    fn format_replaces_the_default_body() {
        let format = Template::parse(
            r"🚨 *AnoniChat 에러 발생!*\n레벨: %{[log.level]}\n메시지: %{message}\n서비스: %{[service.name]}",
        )
        .unwrap();
        let mut event = flat_event();
        event["message"] = json!("<!channel> down");
        let view = AlertView {
            raw_level: Some("ERROR"),
            format: Some(&format),
            ..AlertView::new("ERROR", &event)
        };
        let payload = rendered(&view);
        let blocks = blocks(&payload);
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[1]["text"]["text"],
            "🚨 *AnoniChat 에러 발생!*\n레벨: ERROR\n메시지: &lt;!channel&gt; down\n서비스: anonichat-api"
        );
        assert_eq!(
            payload["text"],
            "🚨 ERROR in anonichat-api: 🚨 *AnoniChat 에러 발생!*"
        );
    }

    #[test]
    fn title_template_is_plain_text_on_one_line() {
        let title = Template::parse(r"%{[service.name]} broke\n<b> %{message}").unwrap();
        let mut event = flat_event();
        event["message"] = json!("a <!channel> b");
        let view = AlertView {
            title: Some(&title),
            ..AlertView::new("ERROR", &event)
        };
        let payload = rendered(&view);
        assert_eq!(
            blocks(&payload)[0]["text"]["text"],
            "anonichat-api broke <b> a &lt;!channel&gt; b"
        );
        // The default body stays; the fallback starts with the level.
        assert!(payload["text"]
            .as_str()
            .unwrap()
            .starts_with("ERROR in anonichat-api"));
    }

    #[test]
    fn long_formats_split_into_sections_at_line_breaks() {
        let line = "x".repeat(999);
        let source = format!("{line}\\n{line}\\n{line}\\n{line}\\n%{{message}}");
        let format = Template::parse(&source).unwrap();
        let event = json!({"message": "end"});
        let view = AlertView {
            format: Some(&format),
            ..AlertView::new("ERROR", &event)
        };
        let payload = rendered(&view);
        let texts = block_texts(&payload);
        assert_eq!(texts.len(), 3);
        assert_eq!(texts[1], format!("{line}\n{line}\n{line}"));
        assert_eq!(texts[2], format!("{line}\nend"));
    }

    #[test]
    fn split_sections_never_loses_or_splits_text() {
        let text = "&lt;한국어&amp;😀\n".repeat(500);
        for max in [1, 2, 5, 17, 100, 3000] {
            let pieces = split_sections(&text, max, max);
            for p in &pieces {
                assert!(char_len(p) <= max.max(5), "{max}: {p:?}");
            }
            let joined: String = pieces.concat();
            assert_eq!(
                joined.replace('\n', ""),
                text.replace('\n', ""),
                "nothing lost at {max}"
            );
        }
        assert!(split_sections("\n\n  \n", 10, 10).is_empty());
    }

    #[test]
    fn mention_leads_the_text_and_the_first_section() {
        let event = flat_event();
        let view = AlertView {
            mention: Some("<!here>"),
            ..AlertView::new("ERROR", &event)
        };
        let payload = rendered(&view);
        assert!(payload["text"]
            .as_str()
            .unwrap()
            .starts_with("<!here> ERROR in"));
        assert_eq!(
            block_texts(&payload)[1],
            "<!here> 채팅방 저장 실패: roomId=42"
        );

        let only_fields = json!({"service.name": "s"});
        let view = AlertView {
            fields: &only_fields,
            ..view
        };
        let payload = rendered(&view);
        assert_eq!(blocks(&payload)[1]["text"]["text"], "<!here>");

        let multi = json!({"message": "a\nb"});
        let view = AlertView {
            fields: &multi,
            ..view
        };
        let payload = render_alert(&view, &Style::default());
        assert_eq!(block_texts(&payload)[1], "<!here>\n```\na\nb\n```");

        let format = Template::parse("body").unwrap();
        let view = AlertView {
            format: Some(&format),
            ..view
        };
        let payload = render_alert(&view, &Style::default());
        assert_eq!(block_texts(&payload)[1], "<!here> body");
    }

    #[test]
    fn a_format_rendering_to_nothing_still_makes_a_valid_message() {
        let format = Template::parse(r"\n\n").unwrap();
        let event = json!({});
        let view = AlertView {
            format: Some(&format),
            ..AlertView::new("ERROR", &event)
        };
        let payload = rendered(&view);
        assert_eq!(blocks(&payload).len(), 1);
    }

    #[test]
    fn style_options_are_passed_through() {
        let style = Style {
            channel: Some("#ops".into()),
            username: Some("logstash".into()),
            icon_emoji: Some(":rotating_light:".into()),
            icon_url: Some("  ".into()),
        };
        for payload in [
            render_alert(&AlertView::new("ERROR", &flat_event()), &style),
            render_test(&style),
        ] {
            assert_within_slack_limits(&payload);
            assert_eq!(payload["channel"], "#ops");
            assert_eq!(payload["username"], "logstash");
            assert_eq!(payload["icon_emoji"], ":rotating_light:");
            assert!(
                payload.get("icon_url").is_none(),
                "blank options are left out"
            );
        }
        assert!(render_test(&Style::default()).get("channel").is_none());
    }

    #[test]
    fn repeat_notice() {
        let view = RepeatView {
            level: "ERROR",
            label: "java.sql.SQLException <!channel> timeout",
            count: 1234,
            first_seen: at(1_714_572_187),
            window: Duration::from_secs(300),
            service: Some("checkout"),
            rule: None,
        };
        let payload = render_repeat(&view, &Style::default());
        assert_within_slack_limits(&payload);
        assert_eq!(payload["attachments"][0]["color"], "#d00000");
        let texts = block_texts(&payload);
        assert_eq!(
            texts[0],
            "🔁 Repeated 1,234 more times since 14:03:07 UTC (5m window)"
        );
        assert_eq!(texts[1], "java.sql.SQLException &lt;!channel&gt; timeout");
        let context = blocks(&payload)[2]["elements"].to_string();
        assert!(context.contains("checkout") && context.contains("2024-05-01 14:03:07 UTC"));
        assert_eq!(
            payload["text"],
            "🔁 ERROR repeated 1,234 more times in checkout: java.sql.SQLException &lt;!channel&gt; timeout"
        );

        let once = RepeatView {
            count: 1,
            label: "",
            service: None,
            level: "FATAL",
            ..view
        };
        let payload = render_repeat(&once, &Style::default());
        assert_within_slack_limits(&payload);
        assert_eq!(payload["attachments"][0]["color"], "#8b0000");
        assert!(block_texts(&payload)[0].contains("Repeated 1 more time since"));

        let huge = "trace line\n".repeat(100_000);
        let big = RepeatView {
            label: &huge,
            ..view
        };
        let payload = render_repeat(&big, &Style::default());
        assert_within_slack_limits(&payload);
        assert!(block_texts(&payload)[1].starts_with("```"));
    }

    #[test]
    fn summary_lists_non_zero_counts_and_the_total() {
        let top: Vec<(String, u64)> = (0..12)
            .map(|i| (format!("<!channel> error {i}"), 100 - i))
            .collect();
        let view = SummaryView {
            suppressed: 1200,
            top: &top,
            repeats: 30,
            dropped: 0,
            undelivered: 4,
            evicted: 2,
            since: at(1_714_572_187),
            rule: None,
        };
        let payload = render_summary(&view, &Style::default());
        assert_within_slack_limits(&payload);
        let texts = block_texts(&payload);
        assert_eq!(texts[0], "📊 slack_alert summary");
        assert_eq!(
            texts[1],
            "This summary accounts for *1,234 events* since 14:03:07 UTC.\n\
             • *1,200* alerts not posted individually (rate limit)\n\
             • *30* repeats of alerts already posted\n\
             • *4* alerts Slack did not accept after retries\n\
             • *2* tracked fingerprints evicted from the full dedup table"
        );
        assert!(!texts[1].contains("dropped"));
        let list = &texts[2];
        assert_eq!(list.matches("\n• ").count(), 11, "10 shown plus the rest");
        assert!(list.contains("• 100× &lt;!channel&gt; error 0"));
        assert!(list.contains("…and 2 more (179 events)"));
        assert!(!list.contains("<!channel>"));
        assert_eq!(
            payload["attachments"][0]["color"], "#d00000",
            "alerts were lost"
        );
        assert_eq!(
            payload["text"],
            "slack_alert summary: 1,234 events since 14:03:07 UTC, 4 alerts lost"
        );

        let quiet = SummaryView {
            suppressed: 0,
            top: &[],
            repeats: 0,
            dropped: 0,
            undelivered: 0,
            evicted: 0,
            since: at(0),
            rule: None,
        };
        let payload = render_summary(&quiet, &Style::default());
        assert_within_slack_limits(&payload);
        assert_eq!(
            block_texts(&payload)[1],
            "Nothing to report since 00:00:00 UTC."
        );
        assert_eq!(payload["attachments"][0]["color"], "#daa038");
    }

    #[test]
    fn test_message_is_marked() {
        let payload = render_test(&Style::default());
        assert_within_slack_limits(&payload);
        assert!(payload["text"]
            .as_str()
            .unwrap()
            .contains("slack_alert test message"));
        assert_eq!(block_texts(&payload)[0], "✅ slack_alert test message");
    }

    fn view_with<'a>(
        event: &'a Value,
        link: Option<Link<'a>>,
        occurrences: Option<Occurrences<'a>>,
        rule: Option<&'a str>,
    ) -> AlertView<'a> {
        AlertView {
            link,
            occurrences,
            rule,
            ..AlertView::new("ERROR", event)
        }
    }

    #[test]
    fn a_link_is_a_button_after_the_body() {
        let template =
            crate::LinkTemplate::parse("https://kibana.test/app/discover#/?q=%{[trace.id]}")
                .unwrap();
        let mut event = flat_event();
        event["trace.id"] = json!("x\" onclick <!channel> |https://evil>");
        let link = Link {
            template: &template,
            text: "Open in Kibana",
        };
        let payload = render_alert(
            &view_with(&event, Some(link), None, None),
            &Style::default(),
        );
        assert_within_slack_limits(&payload);
        let last = blocks(&payload).last().unwrap().clone();
        assert_eq!(last["type"], "actions");
        let button = &last["elements"][0];
        assert_eq!(button["type"], "button");
        assert_eq!(button["text"]["text"], "Open in Kibana");
        assert_eq!(
            button["url"],
            "https://kibana.test/app/discover#/?q=x%22%20onclick%20%3C%21channel%3E%20%7Chttps%3A%2F%2Fevil%3E"
        );
        let all = payload.to_string();
        assert!(!all.contains("<!channel>"), "{all}");

        // A label that is too long is cut; a blank one gets the default.
        let long = "가".repeat(100);
        for (text, shown) in [
            (long.as_str(), None),
            ("  ", Some(crate::link::DEFAULT_LINK_TEXT)),
        ] {
            let link = Link {
                template: &template,
                text,
            };
            let payload = render_alert(
                &view_with(&event, Some(link), None, None),
                &Style::default(),
            );
            assert_within_slack_limits(&payload);
            let label = blocks(&payload).last().unwrap()["elements"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(char_len(&label) <= LINK_TEXT_MAX);
            if let Some(shown) = shown {
                assert_eq!(label, shown);
            }
        }

        // A URL over Slack's limit: no button, the alert still goes out.
        event["trace.id"] = json!("한".repeat(2000));
        let payload = render_alert(
            &view_with(&event, Some(link), None, None),
            &Style::default(),
        );
        assert_within_slack_limits(&payload);
        assert!(blocks(&payload).iter().all(|b| b["type"] != "actions"));
    }

    #[test]
    fn a_threshold_alert_leads_with_its_count() {
        let mut event = flat_event();
        event["service.name"] = json!("check<!channel>out");
        let occurrences = Occurrences {
            count: 5,
            within: Duration::from_secs(60),
            group: Some(("[service.name]", "check<!channel>out")),
        };
        let view = view_with(&event, None, Some(occurrences), None);
        let payload = rendered(&view);
        let texts = block_texts(&payload);
        assert_eq!(
            texts[1],
            "5 events within 1m for `service.name` = check&lt;!channel&gt;out"
        );
        assert_eq!(texts[2], "채팅방 저장 실패: roomId=42");
        assert!(payload["text"]
            .as_str()
            .unwrap()
            .starts_with("ERROR in check&lt;!channel&gt;out (5 events within 1m): "));

        // With a mention, it leads the count; per fingerprint, no group.
        let view = AlertView {
            mention: Some("<!here>"),
            occurrences: Some(Occurrences {
                group: None,
                ..occurrences
            }),
            ..view
        };
        let payload = rendered(&view);
        let texts = block_texts(&payload);
        assert_eq!(texts[1], "<!here> 5 events within 1m");
        assert_eq!(texts[2], "채팅방 저장 실패: roomId=42", "mentioned once");

        // Nested references show as written; backticks cannot end the span.
        let line = occurrences_line(&Occurrences {
            count: 1,
            within: Duration::from_secs(5400),
            group: Some(("[a`b][c]", "")),
        });
        assert_eq!(line, "1 event within 1h30m for `[a'b][c]` = (empty)");
    }

    #[test]
    fn the_rule_is_named_unless_it_is_the_default() {
        let event = flat_event();
        let payload = render_alert(
            &view_with(&event, None, None, Some("pay<ments>")),
            &Style::default(),
        );
        assert_within_slack_limits(&payload);
        let last = blocks(&payload).last().unwrap().clone();
        assert_eq!(last["type"], "context");
        assert_eq!(last["elements"][0]["text"], "*Rule:* pay&lt;ments&gt;");
        for rule in [None, Some("default"), Some("  ")] {
            let payload = render_alert(&view_with(&event, None, None, rule), &Style::default());
            assert!(blocks(&payload).iter().all(|b| b["type"] != "context"));
        }

        let repeat = render_repeat(
            &RepeatView {
                level: "ERROR",
                label: "x",
                count: 2,
                first_seen: at(0),
                window: Duration::from_secs(60),
                service: None,
                rule: Some("db"),
            },
            &Style::default(),
        );
        assert_within_slack_limits(&repeat);
        assert!(blocks(&repeat)[2]["elements"]
            .to_string()
            .contains("*Rule:* db"));

        let summary = render_summary(
            &SummaryView {
                suppressed: 1,
                top: &[],
                repeats: 0,
                dropped: 0,
                undelivered: 0,
                evicted: 0,
                since: at(0),
                rule: Some("db"),
            },
            &Style::default(),
        );
        assert_within_slack_limits(&summary);
        let context = blocks(&summary).last().unwrap()["elements"].to_string();
        assert!(context.contains("*Rule:* db"), "{context}");
    }

    #[test]
    fn limits_hold_with_every_new_part_at_its_largest() {
        let template = crate::LinkTemplate::parse(&format!(
            "https://k.test/{}?q=%{{message}}",
            "p".repeat(2900)
        ))
        .unwrap();
        let huge = "<&>\n한😀".repeat(200_000);
        let label = "😀".repeat(200);
        let rule = "r".repeat(500);
        for message in [String::new(), "x".into(), huge.clone()] {
            let mut event = flat_event();
            event["message"] = json!(message);
            event["error.stack_trace"] = json!(huge);
            for format in [
                None,
                Some(Template::parse("%{message}\\n%{message}").unwrap()),
            ] {
                let view = AlertView {
                    raw_level: Some("fatal"),
                    format: format.as_ref(),
                    mention: Some(&"<!here> ".repeat(40)),
                    link: Some(Link {
                        template: &template,
                        text: &label,
                    }),
                    occurrences: Some(Occurrences {
                        count: u64::MAX,
                        within: Duration::from_secs(7 * 86_400),
                        group: Some((&huge, &huge)),
                    }),
                    rule: Some(&rule),
                    ..AlertView::new("FATAL", &event)
                };
                let payload = rendered(&view);
                let all = blocks(&payload);
                let kinds: Vec<&str> = all.iter().map(|b| b["type"].as_str().unwrap()).collect();
                assert_eq!(kinds[0], "header");
                assert_eq!(kinds[kinds.len() - 1], "context");
                if message.len() < 10 {
                    assert_eq!(kinds[kinds.len() - 2], "actions", "{kinds:?}");
                }
            }
        }
    }

    fn flatline(recovered_after: Option<Duration>) -> FlatlineView<'static> {
        FlatlineView {
            rule: "silence",
            group_ref: "[service.name]",
            group: "checkout",
            silence: Duration::from_secs(600),
            last_seen: at(1_714_572_187),
            mention: Some("<!here>"),
            recovered_after,
        }
    }

    #[test]
    fn a_flatline_alert_says_who_went_silent_and_since_when() {
        let payload = render_flatline(&flatline(None), &Style::default());
        assert_within_slack_limits(&payload);
        assert_eq!(payload["attachments"][0]["color"], "#d00000");
        let texts = block_texts(&payload);
        assert_eq!(texts[0], "🔇 checkout stopped logging");
        assert_eq!(
            texts[1],
            "<!here> No events from `service.name` = checkout for 10m (last seen at 14:03:07 UTC)."
        );
        let context = blocks(&payload)[2]["elements"].to_string();
        assert!(context.contains("2024-05-01 14:03:07 UTC"), "{context}");
        assert!(context.contains("*Rule:* silence"), "{context}");
        assert_eq!(
            payload["text"],
            "<!here> 🔇 checkout stopped logging: nothing for 10m (last seen at 14:03:07 UTC)"
        );
    }

    #[test]
    fn a_recovered_notice_never_mentions() {
        let payload = render_flatline(&flatline(Some(Duration::from_secs(720))), &Style::default());
        assert_within_slack_limits(&payload);
        assert_eq!(payload["attachments"][0]["color"], TEST_COLOR);
        let texts = block_texts(&payload);
        assert_eq!(texts[0], "✅ checkout is logging again");
        assert_eq!(
            texts[1],
            "`service.name` = checkout is logging again after 12m of silence."
        );
        assert_eq!(payload["text"], "✅ checkout is logging again after 12m");
        assert!(!payload.to_string().contains("<!here>"));
    }

    #[test]
    fn flatline_groups_are_event_data() {
        let huge = "<!channel>\n한😀&".repeat(100_000);
        for group in ["<!channel>", "", " \n ", huge.as_str()] {
            for recovered in [None, Some(Duration::from_secs(1))] {
                let view = FlatlineView {
                    group,
                    recovered_after: recovered,
                    mention: Some(&"<@U1> ".repeat(100)),
                    rule: &huge,
                    group_ref: &huge,
                    ..flatline(None)
                };
                let payload = render_flatline(&view, &Style::default());
                assert_within_slack_limits(&payload);
                let all = payload.to_string();
                assert!(!all.contains("<!channel>"), "{all:.300}");
                if group.trim().is_empty() {
                    assert!(block_texts(&payload)[0].contains("(empty)"));
                }
            }
        }
    }

    #[test]
    fn check_catches_a_broken_payload() {
        // The helper itself must fail on a breach, or every test above is void.
        let bad = json!({"text": "", "attachments": [{"blocks": [{"type": "header", "text": {"type": "plain_text", "text": ""}}]}]});
        assert!(!check(&bad).is_empty());
    }
}
