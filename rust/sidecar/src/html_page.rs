//! `check --html FILE`: the page of every message a replay would have
//! posted, rendered as Slack shows them (see `slack_alert_preview`).

use std::path::Path;

use slack_alert_engine::{Decision, DestinationKind, MessageKind};
use slack_alert_preview::{Destination, Entry, Page};

use crate::replay::{Record, Route, Shown, Summary};

/// The page being filled while a replay runs.
pub struct HtmlPage {
    page: Page,
}

impl HtmlPage {
    pub fn new(config: &Path, input: &str) -> HtmlPage {
        let mut page = Page::new("slack-alert check: what Slack will show");
        page.describe(format!("config {} · input {input}", config.display()));
        HtmlPage { page }
    }

    /// Adds the messages of one record, each under its time, kind, rule and
    /// the line that caused it.
    pub fn add(&mut self, record: &Record) {
        let (at, note, messages, routes) = match record {
            Record::Decision {
                line,
                at,
                decision,
                excluded,
                messages,
                routes,
                ..
            } => {
                // As `--json` names them: a line no alert rule matched is
                // shown because it was excluded or its flatline group logs again.
                let label = match (decision, excluded.is_empty()) {
                    (Decision::Ignored, false) => "excluded",
                    (Decision::Ignored, true) => "logging",
                    (d, _) => d.as_str(),
                };
                (at, format!("line {line}: {label}"), messages, routes)
            }
            Record::Timer {
                line,
                at,
                end_of_input,
                messages,
                routes,
            } => {
                let note = if *end_of_input {
                    format!("end of input, after line {line}")
                } else {
                    format!("timer, after line {line}")
                };
                (at, note, messages, routes)
            }
            Record::Unparseable { .. } | Record::Note { .. } => return,
        };
        let time = format!("{} UTC", slack_alert_render::human::utc_date_time(*at));
        for (message, route) in messages.iter().zip(routes) {
            self.page.push(entry(message, route, &time, &note));
        }
    }

    /// The page, with the replay's totals under its title.
    pub fn finish(mut self, summary: &Summary) -> String {
        self.page.describe(format!(
            "{} lines read, {} matched: {} alerts, {} repeat reports, {} summaries, {} flatline, {} recovered",
            summary.lines,
            summary.matched,
            summary.alert_messages,
            summary.repeat_messages,
            summary.summary_messages,
            summary.flatline_messages,
            summary.recovered_messages
        ));
        self.page.to_html()
    }
}

fn entry(message: &Shown, route: &Route, time: &str, note: &str) -> Entry {
    let destination = match route.destination {
        DestinationKind::Json => Destination::Json,
        DestinationKind::Slack | DestinationKind::SlackApp => Destination::Slack,
    };
    Entry {
        time: Some(time.to_string()),
        kind: Some(kind_name(message.kind).to_string()),
        rule: Some(route.rule.clone()),
        note: Some(note.to_string()),
        ..Entry::new(message.payload.clone(), destination)
    }
}

fn kind_name(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Repeat => "repeat report",
        other => other.as_str(),
    }
}
