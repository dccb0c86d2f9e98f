//! `check` for Slack app mode: what the app sender would do in Slack with
//! each intent, in event time.
//!
//! A webhook can only post, so a replay shows every message it would post.
//! An app-mode rule (`slack_token` + `channel`) keeps one message per
//! incident current instead: it is posted when the incident opens, updated
//! while it repeats (at most once per `update_interval`, which the engine's
//! progress intents already respect) and once more, final, when its window
//! closes; replies go into its thread. [`AppReplay`] follows each incident
//! through these steps the way the sender's worker does, with the engine's
//! own texts (`destination::app::status`), so that `check` says what the
//! channel would show. Slack's pacing, rate tiers and errors are left out:
//! a replay has no Slack to answer.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};
use slack_alert_engine::config::{AppRule, ThreadReplies};
use slack_alert_engine::destination::app::status::{
    closing_reply, milestone_reply, status_line, window_reply, with_status, Phase, Status,
};
use slack_alert_engine::destination::app::trace_to_upload;
use slack_alert_engine::destination::{self};
use slack_alert_engine::{
    Closing, Config, DestinationKind, IncidentId, Intent, MessageKind, Outgoing, Spread,
};

/// One thing the app sender would do in Slack.
#[derive(Clone, Debug, PartialEq)]
pub struct AppStep {
    /// The incident's number, 1 for the first incident posted in the
    /// replay; `None` for a message about no incident (a summary, or a
    /// report whose incident never got a message).
    pub incident: Option<u64>,
    /// The rule whose message it is.
    pub rule: String,
    /// The channel it happens in.
    pub channel: String,
    pub action: AppAction,
}

/// What an [`AppStep`] does.
#[derive(Clone, Debug, PartialEq)]
pub enum AppAction {
    /// `chat.postMessage`: a new message, `payload` as posted (its channel
    /// set; an incident's message already shows its status line).
    Posted {
        kind: MessageKind,
        payload: Value,
        /// The rule's `channel` named no channel for the event, so the
        /// message went to `fallback_channel`.
        fallback: bool,
    },
    /// `chat.update`: the incident's message now shows `status`.
    Updated {
        /// Events in all (the first and its repeats), as the status shows.
        total: u64,
        phase: Phase,
        /// The status line, as the message shows it.
        status: String,
        /// The whole message after the update.
        payload: Value,
    },
    /// A reply in the incident's thread.
    Reply { text: String, broadcast: bool },
    /// The event's whole stack trace, uploaded as a snippet into the
    /// thread (the message shows only its top).
    Upload { chars: usize, bytes: usize },
    /// How the incident ended (or stood when the input ended).
    Final { state: FinalState, total: u64 },
}

/// Where an incident stands when nothing more happens to it in the replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalState {
    /// Its dedup window closed: the message is marked resolved.
    Quiet,
    /// It was still open when the input ended.
    OpenAtEnd,
    /// Pushed out of a full table (`max_tracked`) while still open.
    Evicted,
    /// A flatline whose group logs again.
    Recovered,
    /// A flatline whose group was still silent when the input ended.
    SilentAtEnd,
}

impl FinalState {
    pub fn as_str(self) -> &'static str {
        match self {
            FinalState::Quiet => "quiet",
            FinalState::OpenAtEnd => "open_at_end",
            FinalState::Evicted => "evicted",
            FinalState::Recovered => "recovered",
            FinalState::SilentAtEnd => "silent_at_end",
        }
    }
}

/// A phase as `--json` names it.
pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Open => "open",
        Phase::Quiet => "quiet",
        Phase::Stopped => "stopped",
        Phase::Evicted => "evicted",
        Phase::Silent => "silent",
        Phase::Recovered { .. } => "recovered",
    }
}

/// What an incident's message is, as far as the replay got.
#[derive(Debug)]
struct Tracked {
    number: u64,
    rule: usize,
    channel: String,
    /// The message as a webhook would get it, without a status.
    base: Value,
    status: Status,
    /// What the message shows.
    shown: Status,
}

/// Incidents are keyed as the sender keys them: alert rules by their
/// incident, flatline rules by their group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Incident(IncidentId),
    Group(usize, String),
}

/// Follows app-mode incidents through a replay.
pub struct AppReplay {
    config: Arc<Config>,
    open: HashMap<Key, Tracked>,
    posted: u64,
}

impl AppReplay {
    pub fn new(config: Arc<Config>) -> AppReplay {
        AppReplay {
            config,
            open: HashMap::new(),
            posted: 0,
        }
    }

    /// Returns true if and only if `message` goes to an app-mode destination.
    pub fn takes(&self, message: &Outgoing) -> bool {
        self.config
            .destinations
            .get(message.destination)
            .is_some_and(|d| d.kind == DestinationKind::SlackApp)
    }

    fn app(&self, rule: usize) -> Option<&AppRule> {
        self.config.rules.get(rule).and_then(|r| r.app.as_ref())
    }

    fn rule_name(&self, rule: usize) -> String {
        self.config
            .rules
            .get(rule)
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }

    /// The webhook body of `message`; the channel is app mode's to set.
    fn base(&self, message: &Outgoing) -> Value {
        let mut payload = destination::render(&self.config, message);
        if let Some(map) = payload.as_object_mut() {
            map.remove("channel");
        }
        payload
    }

    fn step(&self, t: &Tracked, action: AppAction) -> AppStep {
        AppStep {
            incident: Some(t.number),
            rule: self.rule_name(t.rule),
            channel: t.channel.clone(),
            action,
        }
    }

    /// What the sender does with one intent of an app-mode destination.
    pub fn accept(&mut self, message: &Outgoing, steps: &mut Vec<AppStep>) {
        let rule = message.rule;
        let Some(app) = self.app(rule).cloned() else {
            // Not an app rule: the sender has no channel for it.
            return;
        };
        match &message.intent {
            Intent::Opened {
                incident, event, ..
            } => {
                let (channel, fallback) = match app.channel.resolve(event) {
                    Some(c) => (c, false),
                    None => (app.fixed_channel().unwrap_or_default(), true),
                };
                let status = Status {
                    phase: Phase::Open,
                    total: 1,
                    first_seen: incident.first_seen,
                    last_seen: incident.last_seen,
                    spread: Spread::default(),
                };
                let t = self.track(rule, channel, self.base(message), status);
                steps.push(self.step(
                    &t,
                    AppAction::Posted {
                        kind: MessageKind::Alert,
                        payload: payload(&t.base, &t.status, &t.channel),
                        fallback,
                    },
                ));
                if let Some(uploaded) = trace_to_upload(event) {
                    steps.push(self.step(
                        &t,
                        AppAction::Upload {
                            chars: uploaded.chars().count(),
                            bytes: uploaded.len(),
                        },
                    ));
                }
                self.open.insert(Key::Incident(incident.id), t);
            }
            Intent::Progress { incident, progress } => {
                let Some(mut t) = self.open.remove(&Key::Incident(incident.id)) else {
                    return;
                };
                t.status.total = 1 + incident.count;
                t.status.last_seen = incident.last_seen;
                t.status.spread = progress.spread;
                self.update(&mut t, steps);
                let replies: Vec<(String, bool)> = match app.thread_replies {
                    ThreadReplies::None => Vec::new(),
                    ThreadReplies::Milestones => progress
                        .milestones
                        .iter()
                        .map(|m| (milestone_reply(m), app.reply_broadcast))
                        .collect(),
                    ThreadReplies::EveryWindow => {
                        vec![(window_reply(progress.new_repeats, &t.status), false)]
                    }
                };
                for (text, broadcast) in replies {
                    steps.push(self.step(&t, AppAction::Reply { text, broadcast }));
                }
                self.open.insert(Key::Incident(incident.id), t);
            }
            Intent::Quiet {
                incident,
                closing,
                spread,
            } => {
                let Some(mut t) = self.open.remove(&Key::Incident(incident.id)) else {
                    // Its message never made it: a report of its own, as a
                    // webhook would post it.
                    if message.events > 0 {
                        self.loose(message, MessageKind::Repeat, &app, steps);
                    }
                    return;
                };
                // The end of the input is no closing: the incident is still
                // open there, and its message shows the count it reached.
                let (phase, state) = match closing {
                    Closing::Quiet => (Phase::Quiet, FinalState::Quiet),
                    Closing::Shutdown => (Phase::Open, FinalState::OpenAtEnd),
                    Closing::Evicted => (Phase::Evicted, FinalState::Evicted),
                };
                t.status.phase = phase;
                t.status.total = 1 + incident.count;
                t.status.last_seen = incident.last_seen;
                t.status.spread = *spread;
                self.close(t, state, steps);
            }
            Intent::Silent {
                group, last_seen, ..
            } => {
                let channel = app.fixed_channel().unwrap_or_default();
                let status = Status {
                    phase: Phase::Silent,
                    total: 0,
                    first_seen: *last_seen,
                    last_seen: *last_seen,
                    spread: Spread::default(),
                };
                let t = self.track(rule, channel, self.base(message), status);
                steps.push(self.step(
                    &t,
                    AppAction::Posted {
                        kind: MessageKind::Flatline,
                        payload: payload(&t.base, &t.status, &t.channel),
                        fallback: false,
                    },
                ));
                self.open.insert(Key::Group(rule, group.clone()), t);
            }
            Intent::Recovered { group, after, .. } => {
                match self.open.remove(&Key::Group(rule, group.clone())) {
                    Some(mut t) => {
                        t.status.phase = Phase::Recovered { after: *after };
                        self.close(t, FinalState::Recovered, steps);
                    }
                    None => self.loose(message, MessageKind::Recovered, &app, steps),
                }
            }
            Intent::HeldBack(_) => self.loose(message, MessageKind::Summary, &app, steps),
        }
    }

    /// The input ended (after the engine's shutdown intents were taken in):
    /// flatline groups still silent stay so.
    pub fn finish(&mut self, steps: &mut Vec<AppStep>) {
        let mut left: Vec<Tracked> = self.open.drain().map(|(_, t)| t).collect();
        left.sort_by_key(|t| t.number);
        for t in left {
            let state = if t.status.phase == Phase::Silent {
                FinalState::SilentAtEnd
            } else {
                FinalState::OpenAtEnd
            };
            let total = t.status.total;
            steps.push(self.step(&t, AppAction::Final { state, total }));
        }
    }

    fn track(&mut self, rule: usize, channel: String, base: Value, status: Status) -> Tracked {
        self.posted += 1;
        Tracked {
            number: self.posted,
            rule,
            channel,
            base,
            status,
            shown: status,
        }
    }

    /// `chat.update`, if the message does not show its status yet (a
    /// spread of one host is no news: the status line shows none).
    fn update(&self, t: &mut Tracked, steps: &mut Vec<AppStep>) {
        if t.shown.phase == t.status.phase && status_line(&t.shown) == status_line(&t.status) {
            return;
        }
        t.shown = t.status;
        steps.push(self.step(
            t,
            AppAction::Updated {
                total: t.status.total,
                phase: t.status.phase,
                status: status_line(&t.status),
                payload: payload(&t.base, &t.status, &t.channel),
            },
        ));
    }

    /// The last update of an incident's message, its closing reply and
    /// where it ends.
    fn close(&self, mut t: Tracked, state: FinalState, steps: &mut Vec<AppStep>) {
        self.update(&mut t, steps);
        if state != FinalState::OpenAtEnd {
            if let Some(text) = closing_reply(&t.status) {
                steps.push(self.step(
                    &t,
                    AppAction::Reply {
                        text,
                        broadcast: false,
                    },
                ));
            }
        }
        let total = t.status.total;
        steps.push(self.step(&t, AppAction::Final { state, total }));
    }

    /// A message of no incident, in the rule's fixed channel.
    fn loose(
        &self,
        message: &Outgoing,
        kind: MessageKind,
        app: &AppRule,
        steps: &mut Vec<AppStep>,
    ) {
        let Some(channel) = app.fixed_channel() else {
            return;
        };
        let mut payload = self.base(message);
        payload["channel"] = json!(channel);
        steps.push(AppStep {
            incident: None,
            rule: self.rule_name(message.rule),
            channel,
            action: AppAction::Posted {
                kind,
                payload,
                fallback: false,
            },
        });
    }
}

/// The message showing `status`, as posted or updated.
fn payload(base: &Value, status: &Status, channel: &str) -> Value {
    let mut payload = with_status(base, status);
    payload["channel"] = json!(channel);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{replay, Record, Summary};
    use serde_json::json;
    use slack_alert_engine::destination::app::SHOWN_TRACE_CHARS;

    fn config(extra: Value) -> Config {
        let mut v = json!({
            "dry_run": true,
            "slack_token": "xoxb-1-secretpart",
            "channel": "#alerts",
            "dedup_window": "1m",
            "update_interval": "10s",
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Config::try_from(v).unwrap()
    }

    /// A line no rule matches, which moves event time on.
    fn info_at(second: u64) -> String {
        json!({
            "@timestamp": format!("2026-11-20T09:{:02}:{:02}Z", second / 60, second % 60),
            "log.level": "INFO",
            "message": "fine",
        })
        .to_string()
    }

    fn error_at(second: u64, message: &str, extra: Value) -> String {
        let mut e = json!({
            "@timestamp": format!("2026-11-20T09:{:02}:{:02}Z", second / 60, second % 60),
            "log.level": "ERROR",
            "message": message,
        });
        e.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        e.to_string()
    }

    /// Every app step of a replay with the time of its record, the webhook
    /// messages it still posts, and the summary.
    fn run(config: Config, lines: &[String]) -> (Vec<(String, AppStep)>, usize, Summary) {
        let input = lines.join("\n");
        let mut steps = Vec::new();
        let mut messages = 0;
        let summary = replay(config, input.as_bytes(), 1 << 20, &mut |r| match r {
            Record::Decision {
                at,
                app,
                messages: m,
                ..
            }
            | Record::Timer {
                at,
                app,
                messages: m,
                ..
            } => {
                messages += m.len();
                let at = slack_alert_render::human::utc_time(at);
                steps.extend(app.into_iter().map(|s| (at.clone(), s)));
            }
            _ => {}
        })
        .unwrap();
        (steps, messages, summary)
    }

    /// A step in a word and its figures, for comparing lifecycles.
    fn brief(at: &str, step: &AppStep) -> String {
        let n = step.incident.map_or("-".to_string(), |n| n.to_string());
        let what = match &step.action {
            AppAction::Posted { kind, fallback, .. } => {
                format!("posted {} fallback={fallback}", kind.as_str())
            }
            AppAction::Updated { total, phase, .. } => {
                format!("update {total} {}", phase_name(*phase))
            }
            AppAction::Reply { text, broadcast } => format!("reply {text} broadcast={broadcast}"),
            AppAction::Upload { chars, .. } => format!("upload {chars}"),
            AppAction::Final { state, total } => format!("final {} {total}", state.as_str()),
        };
        format!("{at} #{n} {} {what}", step.channel)
    }

    fn briefs(steps: &[(String, AppStep)]) -> Vec<String> {
        steps.iter().map(|(at, s)| brief(at, s)).collect()
    }

    #[test]
    fn a_storm_is_posted_once_updated_per_interval_and_ends_quiet_with_its_exact_count() {
        // 100 events a second for 30 s, then nothing until 09:02.
        let mut lines = Vec::new();
        for s in 0..30 {
            for _ in 0..100 {
                lines.push(error_at(s, "disk full", json!({})));
            }
        }
        lines.push(info_at(120));
        let (steps, messages, summary) = run(config(json!({})), &lines);
        assert_eq!(messages, 0, "app mode posts no webhook messages");
        assert_eq!(
            briefs(&steps),
            [
                "09:00:00 #1 #alerts posted alert fallback=false",
                // Each update shows what the 10 s before it saw.
                "09:00:10 #1 #alerts update 1000 open",
                "09:00:10 #1 #alerts reply 🔁 1,000× now broadcast=false",
                "09:00:20 #1 #alerts update 2000 open",
                "09:00:30 #1 #alerts update 3000 open",
                "09:01:00 #1 #alerts update 3000 quiet",
                "09:01:00 #1 #alerts reply ✅ Quiet since 09:00:29 UTC: 3,000 events in 29s. broadcast=false",
                "09:01:00 #1 #alerts final quiet 3000",
            ]
        );
        // The texts are the engine's own: what Slack would show.
        let AppAction::Updated {
            status, payload, ..
        } = &steps[5].1.action
        else {
            panic!("{:?}", steps[5]);
        };
        assert_eq!(status, "✅ Quiet since 09:00:29 UTC · 3,000 events in 29s");
        assert_eq!(
            payload["attachments"][0]["color"],
            slack_alert_engine::destination::app::status::RESOLVED_COLOR
        );
        assert_eq!(payload["channel"], "#alerts");
        assert!(payload.to_string().contains(status.as_str()));
        let AppAction::Posted { payload, .. } = &steps[0].1.action else {
            panic!()
        };
        assert!(payload.to_string().contains("🔁 Seen 1× · first 09:00:00"));
        assert_eq!(
            (
                summary.alert_messages,
                summary.repeat_messages,
                summary.updates,
                summary.thread_replies
            ),
            (1, 0, 4, 2)
        );
        assert!(summary.app_mode);
    }

    #[test]
    fn channels_come_from_the_event_or_the_fallback_and_open_incidents_end_open() {
        let config = config(json!({
            "channel": "#alerts-%{[service.name]}",
            "fallback_channel": "#alerts",
            "thread_replies": "none",
        }));
        let lines = [
            error_at(0, "db down", json!({"service.name": "Checkout"})),
            error_at(1, "db down", json!({"service.name": "Checkout"})),
            error_at(2, "no service", json!({})),
        ];
        let (steps, _, _) = run(config, &lines);
        assert_eq!(
            briefs(&steps),
            [
                "09:00:00 #1 #alerts-checkout posted alert fallback=false",
                "09:00:02 #2 #alerts posted alert fallback=true",
                // The input ends: the last count is shown, the incidents stay open.
                "09:00:02 #1 #alerts-checkout update 2 open",
                "09:00:02 #1 #alerts-checkout final open_at_end 2",
                "09:00:02 #2 #alerts final open_at_end 1",
            ]
        );
    }

    #[test]
    fn every_window_replies_and_broadcast_milestones_follow_the_rule() {
        let mut lines: Vec<String> = (0..12).map(|s| error_at(s, "x", json!({}))).collect();
        lines.push(info_at(120));
        let (steps, _, _) = run(config(json!({"thread_replies": "every_window"})), &lines);
        let replies: Vec<String> = briefs(&steps)
            .into_iter()
            .filter(|b| b.contains(" reply "))
            .collect();
        assert_eq!(
            replies,
            [
                "09:00:10 #1 #alerts reply 🔁 +9 since the last update (10 in all, last 09:00:09 UTC) broadcast=false",
                "09:00:20 #1 #alerts reply 🔁 +2 since the last update (12 in all, last 09:00:11 UTC) broadcast=false",
                "09:01:00 #1 #alerts reply ✅ Quiet since 09:00:11 UTC: 12 events in 11s. broadcast=false",
            ]
        );
        let (steps, _, _) = run(config(json!({"reply_broadcast": true})), &lines);
        assert!(
            briefs(&steps).contains(&"09:00:10 #1 #alerts reply 🔁 10× now broadcast=true".into()),
            "{:?}",
            briefs(&steps)
        );
    }

    #[test]
    fn a_long_stack_trace_is_uploaded_into_the_thread() {
        let trace = "at com.example.Deep.call(Deep.java:1)\n".repeat(200);
        let lines = [
            error_at(0, "boom", json!({"error.stack_trace": trace})),
            error_at(1, "short", json!({"error.stack_trace": "at x"})),
        ];
        let (steps, _, summary) = run(config(json!({})), &lines);
        let uploads: Vec<String> = briefs(&steps)
            .into_iter()
            .filter(|b| b.contains("upload"))
            .collect();
        assert_eq!(
            uploads,
            [format!("09:00:00 #1 #alerts upload {}", trace.len())]
        );
        assert!(trace.len() > SHOWN_TRACE_CHARS);
        assert_eq!(summary.uploads, 1);
    }

    #[test]
    fn webhook_rules_beside_an_app_rule_post_as_before() {
        let config = Config::try_from(json!({
            "dry_run": true,
            "dedup_window": "1m",
            "rules": [
                {"name": "app", "slack_token": "xoxb-1", "channel": "#ops", "levels": ["FATAL"]},
                {"name": "hook", "levels": ["ERROR"]},
            ]
        }))
        .unwrap();
        let fatal = |s: u64| {
            json!({"@timestamp": format!("2026-11-20T09:00:{s:02}Z"), "log.level": "FATAL", "message": "oom"})
                .to_string()
        };
        let lines = [
            error_at(0, "db down", json!({})),
            error_at(1, "db down", json!({})),
            fatal(2),
        ];
        let (steps, messages, summary) = run(config, &lines);
        // The webhook rule: its alert and its repeat report at the end.
        assert_eq!(messages, 2);
        assert_eq!(
            briefs(&steps),
            [
                "09:00:02 #1 #ops posted alert fallback=false",
                "09:00:02 #1 #ops final open_at_end 1",
            ]
        );
        assert!(steps.iter().all(|(_, s)| s.rule == "app"));
        assert_eq!((summary.alert_messages, summary.repeat_messages), (2, 1));
    }

    #[test]
    fn a_flatline_is_posted_and_marked_recovered_in_place() {
        let config = Config::try_from(json!({
            "dry_run": true,
            "slack_token": "xoxb-1",
            "channel": "#ops",
            "rules": [{"name": "quiet", "type": "flatline", "silence": "1m"}],
        }))
        .unwrap();
        let info = |s: u64| {
            json!({"@timestamp": format!("2026-11-20T09:{:02}:{:02}Z", s / 60, s % 60),
                   "log.level": "INFO", "service.name": "api"})
            .to_string()
        };
        let (steps, _, _) = run(config, &[info(0), info(300)]);
        let briefs = briefs(&steps);
        assert_eq!(briefs[0], "09:01:00 #1 #ops posted flatline fallback=false");
        assert_eq!(briefs[1], "09:05:00 #1 #ops update 0 recovered");
        assert!(briefs[2].starts_with("09:05:00 #1 #ops reply ✅ Logging again after"));
        assert_eq!(briefs[3], "09:05:00 #1 #ops final recovered 0");
        assert_eq!(briefs.len(), 4, "{briefs:?}");
    }
}
