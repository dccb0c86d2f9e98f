//! `check --html FILE`: the page of every message a replay would have
//! posted, rendered as Slack shows them (see `slack_alert_preview`).
//!
//! An app-mode incident is one message that Slack keeps current: the page
//! shows it once, where it was posted, as it finally looks (its last
//! update: status line, colour), not once per update.

use std::collections::HashMap;
use std::path::Path;

use slack_alert_engine::{Decision, DestinationKind, MessageKind};
use slack_alert_preview::{Destination, Entry, Page};
use slack_alert_render::human;

use crate::lifecycle::{AppAction, AppStep, FinalState};
use crate::replay::{Record, Route, Shown, Summary};

/// The page being filled while a replay runs.
pub struct HtmlPage {
    page: Page,
    /// Entries in the order posted; pushed onto the page at the end, when
    /// every incident's message shows its final state.
    entries: Vec<Entry>,
    /// Per app-mode incident: its entry, and the note it was posted with.
    incidents: HashMap<u64, (usize, String)>,
}

impl HtmlPage {
    pub fn new(config: &Path, input: &str) -> HtmlPage {
        let mut page = Page::new("slack-alert check: what Slack will show");
        page.describe(format!("config {} · input {input}", config.display()));
        HtmlPage {
            page,
            entries: Vec::new(),
            incidents: HashMap::new(),
        }
    }

    /// Adds the messages of one record, each under its time, kind, rule and
    /// the line that caused it.
    pub fn add(&mut self, record: &Record) {
        let (at, note, messages, routes, app) = match record {
            Record::Decision {
                line,
                at,
                decision,
                excluded,
                messages,
                routes,
                app,
                ..
            } => {
                // As `--json` names them: a line no alert rule matched is
                // shown because it was excluded or its flatline group logs again.
                let label = match (decision, excluded.is_empty()) {
                    (Decision::Ignored, false) => "excluded",
                    (Decision::Ignored, true) => "logging",
                    (d, _) => d.as_str(),
                };
                (at, format!("line {line}: {label}"), messages, routes, app)
            }
            Record::Timer {
                line,
                at,
                end_of_input,
                messages,
                routes,
                app,
            } => {
                let note = if *end_of_input {
                    format!("end of input, after line {line}")
                } else {
                    format!("timer, after line {line}")
                };
                (at, note, messages, routes, app)
            }
            Record::Unparseable { .. } | Record::Note { .. } => return,
        };
        let time = format!("{} UTC", human::utc_date_time(*at));
        for (message, route) in messages.iter().zip(routes) {
            self.entries.push(entry(message, route, &time, &note));
        }
        for step in app {
            self.add_step(step, &time, &note);
        }
    }

    /// An app-mode step: a message posted is an entry; an update replaces
    /// its incident's message; the final state goes in its note.
    fn add_step(&mut self, step: &AppStep, time: &str, note: &str) {
        let incident = step.incident;
        match &step.action {
            AppAction::Posted { kind, payload, .. } => {
                let note = match incident {
                    Some(n) => format!("{note} · incident {n} in {}", step.channel),
                    None => format!("{note} · in {}", step.channel),
                };
                if let Some(n) = incident {
                    self.incidents.insert(n, (self.entries.len(), note.clone()));
                }
                self.entries.push(Entry {
                    time: Some(time.to_string()),
                    kind: Some(kind_name(*kind).to_string()),
                    rule: Some(step.rule.clone()),
                    note: Some(note),
                    ..Entry::new(payload.clone(), Destination::Slack)
                });
            }
            AppAction::Updated { payload, .. } => {
                if let Some(entry) = incident.and_then(|n| self.incident_entry(n)) {
                    entry.payload = payload.clone();
                }
            }
            AppAction::Final { state, total } => {
                let Some((index, posted)) = incident.and_then(|n| self.incidents.get(&n)) else {
                    return;
                };
                let events = human::count_of(*total, "event", "events");
                let end = match state {
                    FinalState::Quiet => format!("quiet at {time}, {events}"),
                    FinalState::OpenAtEnd => format!("still open at end of input, {events}"),
                    FinalState::Evicted => format!("no longer tracked at {time}, {events}"),
                    FinalState::Recovered => format!("recovered at {time}"),
                    FinalState::SilentAtEnd => "still silent at end of input".to_string(),
                };
                let note = format!("{posted} · {end}");
                if let Some(entry) = self.entries.get_mut(*index) {
                    entry.note = Some(note);
                }
            }
            AppAction::Reply { .. } | AppAction::Upload { .. } => {}
        }
    }

    fn incident_entry(&mut self, n: u64) -> Option<&mut Entry> {
        let (index, _) = self.incidents.get(&n)?;
        self.entries.get_mut(*index)
    }

    /// The page, with the replay's totals under its title.
    pub fn finish(mut self, summary: &Summary) -> String {
        for entry in self.entries.drain(..) {
            self.page.push(entry);
        }
        if summary.app_mode {
            self.page.describe(format!(
                "Slack app mode: each incident is one message, shown as it finally looks \
                 ({} updates, {} thread replies, {} uploads)",
                summary.updates, summary.thread_replies, summary.uploads
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use slack_alert_engine::Config;

    #[test]
    fn an_app_mode_incident_is_shown_once_as_it_finally_looks() {
        let config = Config::try_from(json!({
            "dry_run": true, "slack_token": "xoxb-1", "channel": "#alerts",
            "dedup_window": "1m", "update_interval": "10s",
        }))
        .unwrap();
        let line = |s: u64, message: &str| {
            json!({"@timestamp": format!("2026-11-20T09:{:02}:{:02}Z", s / 60, s % 60),
                   "log.level": "ERROR", "message": message})
            .to_string()
        };
        let mut lines: Vec<String> = (0..25).map(|s| line(s, "db down")).collect();
        lines.push(line(200, "disk full"));
        let mut page = HtmlPage::new(Path::new("c.yml"), "in.jsonl");
        let summary =
            crate::replay::replay(config, lines.join("\n").as_bytes(), 1 << 20, &mut |r| {
                page.add(&r)
            })
            .unwrap();
        // Two incidents, two messages, whatever the updates.
        assert_eq!(page.entries.len(), 2);
        assert!(summary.updates >= 3);
        let first = page.entries[0].payload.to_string();
        assert!(
            first.contains("✅ Quiet since 09:00:24 UTC · 25 events in 24s"),
            "{first}"
        );
        assert!(!first.contains("🔁 Seen"), "{first}");
        assert_eq!(
            page.entries[0].note.as_deref(),
            Some("line 1: alerted · incident 1 in #alerts · quiet at 2026-11-20 09:01:00 UTC, 25 events")
        );
        assert_eq!(
            page.entries[1].note.as_deref(),
            Some("line 26: alerted · incident 2 in #alerts · still open at end of input, 1 event")
        );
        let html = page.finish(&summary);
        assert!(html.contains("Slack app mode: each incident is one message"));
    }
}
