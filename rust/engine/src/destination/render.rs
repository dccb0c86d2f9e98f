//! Destinations turn intents into request bodies.
//!
//! Rendering runs on the destination's sender thread, after the decision
//! core let go of the engine's lock: a pipeline worker deciding about an
//! event never waits for Block Kit to be built. A webhook destination
//! renders each intent into one post: the Slack payload, or, for a rule
//! with a `body_template`, the operator's JSON body with the message as
//! plain text in `[@alert]`. A new destination kind adds a renderer here
//! and a sender; the decision core does not change.

use serde_json::Value;
use slack_alert_event::{ecs, Fields};
use slack_alert_render::{
    render_alert, render_flatline, render_repeat, render_summary, AlertMeta, AlertView,
    FlatlineView, Link, Occurrences, RepeatView, SummaryView,
};

use crate::config::{Config, RuleConfig};
use crate::intent::{HeldBack, Incident, Intent, Outgoing, Reached};

/// The fields of a message that is about no one event.
static NO_FIELDS: Value = Value::Null;

/// The body `message` is posted with: the webhook payload of its intent,
/// in the style of its rule.
pub fn render(config: &Config, message: &Outgoing) -> Value {
    let rule = &config.rules[message.rule];
    match &message.intent {
        Intent::Opened {
            incident,
            event,
            reached,
        } => opened(config, rule, incident, event, reached.as_deref()),
        // Only app mode gets progress; anywhere else it reads as the
        // repeat report so far.
        Intent::Quiet { incident, .. } | Intent::Progress { incident, .. } => quiet(rule, incident),
        Intent::Silent {
            group, last_seen, ..
        } => flatline(rule, group, *last_seen, None),
        Intent::Recovered {
            group,
            after,
            last_seen,
            ..
        } => flatline(rule, group, *last_seen, Some(*after)),
        Intent::HeldBack(held) => summary(config, message.rule, held),
    }
}

fn opened(
    config: &Config,
    rule: &RuleConfig,
    incident: &Incident,
    fields: &dyn Fields,
    reached: Option<&Reached>,
) -> Value {
    let level = incident.level.name();
    let raw_level = config
        .level_refs
        .iter()
        .find_map(|r| fields.get(r))
        .and_then(Value::as_str);
    let view = AlertView {
        level,
        raw_level,
        fields,
        title: rule.title.as_ref(),
        format: rule.format.as_ref(),
        mention: rule.mention(Some(incident.level)),
        link: rule.link_template.as_ref().map(|template| Link {
            template,
            text: &rule.link_text,
        }),
        occurrences: reached.map(|r| Occurrences {
            count: r.count,
            within: r.within,
            group: r.group.as_ref().map(|(r, v)| (r.as_str(), v.as_str())),
        }),
        rule: Some(&rule.name),
    };
    let slack = render_alert(&view, &rule.style);
    let body = Body {
        kind: if reached.is_some() {
            "threshold"
        } else {
            "alert"
        },
        rule: &rule.name,
        fields,
        level: Some(level),
        count: 1,
        group: reached
            .and_then(|r| r.group.as_ref())
            .map(|(_, v)| v.as_str()),
    };
    for_destination(rule, slack, &body)
}

fn quiet(rule: &RuleConfig, incident: &Incident) -> Value {
    let view = RepeatView {
        level: incident.level.name(),
        label: &incident.label,
        count: incident.count,
        first_seen: incident.first_seen,
        window: rule.dedup_window,
        service: incident.service.as_deref(),
        rule: Some(&rule.name),
    };
    let slack = render_repeat(&view, &rule.style);
    let body = Body {
        kind: "repeat",
        rule: &rule.name,
        fields: &NO_FIELDS,
        level: Some(incident.level.name()),
        count: incident.count,
        group: None,
    };
    for_destination(rule, slack, &body)
}

fn flatline(
    rule: &RuleConfig,
    group: &str,
    last_seen: std::time::SystemTime,
    recovered_after: Option<std::time::Duration>,
) -> Value {
    let view = FlatlineView {
        rule: &rule.name,
        group_ref: rule
            .group_by
            .as_deref()
            .unwrap_or(ecs::SERVICE.candidates[0]),
        group,
        silence: rule.silence,
        last_seen,
        mention: rule.mention(None),
        recovered_after,
    };
    let slack = render_flatline(&view, &rule.style);
    let body = Body {
        kind: if recovered_after.is_some() {
            "recovered"
        } else {
            "flatline"
        },
        rule: &rule.name,
        fields: &NO_FIELDS,
        level: None,
        count: 0,
        group: Some(group),
    };
    for_destination(rule, slack, &body)
}

/// A summary in the style of the first rule it names (`first`, the rule
/// of the message, when only failed deliveries are reported).
fn summary(config: &Config, first: usize, held: &HeldBack) -> Value {
    let rule = &config.rules[first];
    let names = if held.rules.len() > 1 {
        let names: Vec<&str> = held
            .rules
            .iter()
            .map(|&i| config.rules[i].name.as_str())
            .collect();
        names.join(", ")
    } else {
        rule.name.clone()
    };
    let view = SummaryView {
        suppressed: held.suppressed + held.notices,
        top: &held.top,
        repeats: held.repeats,
        dropped: held.dropped,
        undelivered: held.undelivered,
        evicted: held.evicted,
        since: held.since,
        rule: Some(&names),
    };
    let slack = render_summary(&view, &rule.style);
    let body = Body {
        kind: "summary",
        rule: &names,
        fields: &NO_FIELDS,
        level: None,
        count: held.suppressed + held.repeats + held.dropped,
        group: None,
    };
    for_destination(rule, slack, &body)
}

/// What a JSON destination's body may say about a message beyond the event.
struct Body<'a> {
    kind: &'a str,
    /// The rule name(s) shown as `[@alert][rule]`.
    rule: &'a str,
    fields: &'a dyn Fields,
    level: Option<&'a str>,
    count: u64,
    group: Option<&'a str>,
}

/// The body for `rule`'s destination: the Slack payload as is, or the
/// operator's JSON body with the message as plain text in `[@alert]`.
fn for_destination(rule: &RuleConfig, slack: Value, body: &Body<'_>) -> Value {
    let Some(template) = rule.body_template.as_ref() else {
        return slack;
    };
    let title = slack
        .get("text")
        .and_then(Value::as_str)
        .map(|t| slack_alert_render::escape::unescape_mrkdwn(t).into_owned())
        .unwrap_or_default();
    let text = slack_alert_render::plain::to_text(&slack);
    let link = rule
        .link_template
        .as_ref()
        .and_then(|t| t.render(body.fields));
    let meta = AlertMeta {
        rule: body.rule,
        kind: body.kind,
        level: body.level,
        title: &title,
        text: &text,
        count: body.count,
        link: link.as_deref(),
        group: body.group,
    };
    template.render(body.fields, &meta)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use serde_json::json;

    use super::*;
    use crate::clock::Now;
    use crate::event::{EventShape, MatchedEvent};
    use crate::intent::{Incident, IncidentId, MessageKind};
    use crate::level::Level;
    use crate::{Counters, RuleSet};

    fn at(ms: u64) -> Now {
        Now {
            mono_ms: ms,
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    /// Two rules with every template a message reads: a Slack one and a
    /// JSON one.
    fn config() -> Arc<Config> {
        Arc::new(
            Config::try_from(json!({
                "webhook_url": "https://hooks.slack.com/services/T/B/one",
                "rules": [
                    {"name": "slack",
                     "title": "%{[service.name]} on %{[host][name]}",
                     "format": "%{message} (%{[labels][tenant]})",
                     "link_template": "https://kibana.example/app/discover#/?q=%{[trace.id]}"},
                    {"name": "json", "destination": "json",
                     "webhook_url": "https://example.com/hook",
                     "body_template": {"text": "%{[@alert][text]}", "who": "%{[user][name]}",
                                       "link": "%{[@alert][link]}"},
                     "link_template": "https://kibana.example/app/discover#/?q=%{[trace.id]}"}
                ]
            }))
            .unwrap(),
        )
    }

    fn event() -> Value {
        json!({
            "@timestamp": "2026-12-03T10:00:00Z",
            "log.level": "ERROR",
            "message": "payment <failed> for order 42",
            "service.name": "checkout",
            "host": {"name": "web-1"},
            "labels": {"tenant": "acme"},
            "trace.id": "abc123",
            "user": {"name": "ann"},
            "error": {"stack_trace": "java.lang.IllegalStateException: boom\n\tat x.y(Z.java:1)"},
            "not": {"read": "by any message"}
        })
    }

    /// The incident opened by `event` for each rule, with the fields it
    /// carries to the sender.
    fn decide_on(config: &Arc<Config>, fields: &dyn Fields) -> Vec<Outgoing> {
        let mut rules = RuleSet::new(Arc::clone(config), Arc::new(Counters::default()), at(0));
        let level = rules.matching().level(fields);
        let mut sent = Vec::new();
        rules.on_event(level, fields, at(0), &mut sent);
        sent
    }

    #[test]
    fn an_opened_incident_carries_every_field_its_message_shows() {
        // Rendering moved from the decision (which sees the whole event) to
        // the sender (which sees what the incident captured): what each
        // destination posts must not change.
        let config = config();
        let event = event();
        let sent = decide_on(&config, &event);
        assert_eq!(sent.len(), 2, "{sent:?}");
        for m in &sent {
            let Intent::Opened {
                incident,
                event: captured,
                ..
            } = &m.intent
            else {
                panic!("not an opened incident: {m:?}");
            };
            assert_eq!(
                captured.get("[not][read]"),
                None,
                "captures only event_refs"
            );
            assert_eq!(incident.service.as_deref(), Some("checkout"));
            assert_eq!(incident.count, 1);
            let rule = &config.rules[m.rule];
            let from_whole = super::opened(&config, rule, incident, &event, None);
            assert_eq!(render(&config, m), from_whole, "rule {}", rule.name);
        }
        let slack = render(&config, &sent[0]).to_string();
        assert!(slack.contains("checkout on web-1"), "{slack}");
        assert!(slack.contains("acme"), "{slack}");
        assert!(slack.contains("&lt;failed&gt;"), "escaped: {slack}");
        let body = render(&config, &sent[1]);
        assert_eq!(body["who"], json!("ann"));
        assert_eq!(
            body["link"],
            json!("https://kibana.example/app/discover#/?q=abc123")
        );
    }

    #[test]
    fn every_intent_renders_in_its_rules_style() {
        let config = config();
        let incident = Incident {
            id: IncidentId { rule: 0, key: 7 },
            label: "ERROR checkout: payment failed".into(),
            level: Level::Error,
            service: Some("checkout".into()),
            first_seen: at(0).wall,
            count: 41,
            last_seen: at(0).wall,
        };
        let message = |rule: usize, intent: Intent| Outgoing {
            intent,
            events: 0,
            undelivered: 0,
            rule,
            destination: config.rules[rule].destination,
        };
        let quiet = message(
            0,
            Intent::Quiet {
                incident: Box::new(incident.clone()),
                closing: crate::intent::Closing::Quiet,
                spread: Default::default(),
            },
        );
        assert_eq!(quiet.kind(), MessageKind::Repeat);
        assert!(render(&config, &quiet).to_string().contains("41"));
        let silent = message(
            1,
            Intent::Silent {
                rule: 1,
                group: "checkout".into(),
                last_seen: at(0).wall,
            },
        );
        let body = render(&config, &silent);
        assert!(
            body["text"].as_str().unwrap().contains("checkout"),
            "{body}"
        );
        let held = message(
            0,
            Intent::HeldBack(Box::new(HeldBack {
                suppressed: 3,
                notices: 1,
                repeats: 5,
                dropped: 2,
                undelivered: 0,
                evicted: 0,
                top: vec![(incident.label.clone(), 8)],
                rules: vec![0, 1],
                since: at(0).wall,
            })),
        );
        let text = render(&config, &held).to_string();
        assert!(text.contains("slack, json"), "names both rules: {text}");
        assert!(text.contains("payment failed"), "{text}");
        // An opened incident of a threshold rule says what was reached.
        let shape = EventShape::new(config.event_refs());
        let reached = message(
            0,
            Intent::Opened {
                incident: Box::new(incident),
                event: MatchedEvent::from_json(&shape, &event()),
                reached: Some(Box::new(Reached {
                    count: 12,
                    within: Duration::from_secs(60),
                    group: None,
                })),
            },
        );
        assert!(render(&config, &reached).to_string().contains("12"));
    }
}
