//! `check`: replay JSON lines through the engine on their own time.
//!
//! Nothing here starts a thread or posts anything. The engine's pure core,
//! its [`RuleSet`], decides about every line on a [`Now`] taken from the
//! event's `@timestamp`: which rules the event matches (levels, conditions,
//! `exclude`), thresholds, dedup windows, rate limits, flatline groups; so a
//! day of logs replays in a second with every rule behaving as it would
//! have live.
//!
//! Time: the first `@timestamp` is time zero; later ones move time forward
//! and never back (out-of-order lines happen; they are decided at the latest
//! time seen). A line without a readable `@timestamp` takes the previous
//! line's time. Between two lines the timers run every [`TICK_MS`] of event
//! time, as the live engine's timer thread does, while anything is waiting
//! (an open window, a pending summary) or a flatline rule watches a group;
//! when nothing is, time jumps. A flatline rule needs ticks only until its
//! longest `silence` has passed without events (every watched group has
//! been reported by then), so a long gap costs at most that many ticks.

use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;
use slack_alert_engine::config::DEFAULT_RULE;
use slack_alert_engine::destination;
use slack_alert_engine::{
    Candidacy, Config, Counters, Decision, DestinationKind, EventShape, Level, MatchedEvent,
    MessageKind, Now, Outgoing, RuleKind, RuleSet, RULE_COUNTER_NAMES,
};
use slack_alert_render::plain;

use crate::lifecycle::{phase_name, AppAction, AppReplay, AppStep, FinalState};
use crate::lines::{parse_event, Line, LineReader};
use crate::timestamp;

/// How often the timers run, in event time: the live engine's tick.
pub const TICK_MS: u64 = 250;

/// What happened at one point of a replay.
#[derive(Debug)]
pub enum Record {
    /// A line that an alert rule matched or excluded (or whose flatline
    /// group logs again), and what the engine decided about it.
    Decision {
        line: u64,
        at: SystemTime,
        /// The strongest decision over the alert rules it matched;
        /// [`Decision::Ignored`] if it matched none (it was excluded, or
        /// only a flatline rule saw it).
        decision: Decision,
        level: Option<Level>,
        /// Names of the alert rules it matched, in rule order (a flatline
        /// rule's heartbeat is not named: with one, every line is one).
        rules: Vec<String>,
        /// Names of the rules whose `exclude` silenced it.
        excluded: Vec<String>,
        /// The problem's label (`ERROR app.db: timeout after <n> ms`); empty
        /// when no alert rule matched.
        fingerprint: String,
        /// The messages it caused (an alert, a threshold alert, a
        /// flatline group's recovery), if any.
        messages: Vec<Shown>,
        /// Where each message goes.
        routes: Vec<Route>,
        /// What app-mode rules do in Slack about it (their messages are
        /// not in `messages`): the incident's message posted, its stack
        /// trace uploaded.
        app: Vec<AppStep>,
    },
    /// Messages the timers sent after line `line`: a closed window's repeat
    /// report, a summary; at the end of the input, whatever was still open.
    Timer {
        line: u64,
        at: SystemTime,
        end_of_input: bool,
        messages: Vec<Shown>,
        /// Where each message goes.
        routes: Vec<Route>,
        /// What app-mode rules do in Slack meanwhile: incidents' messages
        /// updated, thread replies, incidents gone quiet.
        app: Vec<AppStep>,
    },
    /// A line that is not a JSON event; it was skipped.
    Unparseable { line: u64, problem: String },
    /// A remark about a line that was still used (e.g. an unreadable `@timestamp`).
    Note { line: u64, note: String },
}

/// A message as its destination would post it.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub kind: MessageKind,
    /// The body it is posted with.
    pub payload: Value,
}

/// Which rule sent a message, and what kind of destination gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub rule: String,
    pub destination: DestinationKind,
}

/// The totals of a replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines read, blank and unparseable ones included.
    pub lines: u64,
    /// Numbers of the lines that were skipped.
    pub unparseable: Vec<u64>,
    /// Lines some alert rule matched.
    pub matched: u64,
    /// Matched lines that got their own message.
    pub alerts: u64,
    /// Matched lines folded into an earlier alert.
    pub repeats: u64,
    /// Matched lines held back by the rate limit (counted in a summary).
    pub suppressed: u64,
    /// Matched lines dropped because the send queue was full.
    pub dropped: u64,
    /// Matched lines that counted towards a threshold not reached.
    pub below_threshold: u64,
    /// Lines no alert rule matched because an `exclude` silenced them.
    pub excluded: u64,
    /// Messages that would have been posted: alerts, repeat reports,
    /// summaries, flatline alerts and recoveries.
    pub alert_messages: u64,
    pub repeat_messages: u64,
    pub summary_messages: u64,
    pub flatline_messages: u64,
    pub recovered_messages: u64,
    /// True if and only if some rule is in Slack app mode; then its
    /// messages are counted above when posted, and these count the rest.
    pub app_mode: bool,
    /// `chat.update`s of incidents' messages (app mode).
    pub updates: u64,
    pub thread_replies: u64,
    /// Long stack traces uploaded into incidents' threads.
    pub uploads: u64,
    /// Per rule, its name and counters in [`RULE_COUNTER_NAMES`] order.
    pub rules: Vec<(String, Vec<u64>)>,
}

impl Summary {
    /// Every message that would have been posted.
    pub fn messages(&self) -> u64 {
        self.alert_messages
            + self.repeat_messages
            + self.summary_messages
            + self.flatline_messages
            + self.recovered_messages
    }

    fn count_messages(&mut self, messages: &[Outgoing]) {
        for m in messages {
            match m.kind() {
                MessageKind::Alert => self.alert_messages += 1,
                MessageKind::Repeat => self.repeat_messages += 1,
                MessageKind::Summary => self.summary_messages += 1,
                MessageKind::Flatline => self.flatline_messages += 1,
                MessageKind::Recovered => self.recovered_messages += 1,
                // A message's update, not a message of its own.
                MessageKind::Progress => {}
            }
        }
    }

    fn count_steps(&mut self, steps: &[AppStep]) {
        for step in steps {
            match &step.action {
                AppAction::Posted { kind, .. } => match kind {
                    MessageKind::Alert => self.alert_messages += 1,
                    MessageKind::Repeat => self.repeat_messages += 1,
                    MessageKind::Summary => self.summary_messages += 1,
                    MessageKind::Flatline => self.flatline_messages += 1,
                    MessageKind::Recovered => self.recovered_messages += 1,
                    MessageKind::Progress => {}
                },
                AppAction::Updated { .. } => self.updates += 1,
                AppAction::Reply { .. } => self.thread_replies += 1,
                AppAction::Upload { .. } => self.uploads += 1,
                AppAction::Final { .. } => {}
            }
        }
    }
}

/// Event time as the alerter sees it.
#[derive(Debug)]
struct EventClock {
    /// Unix milliseconds of monotonic time zero, once a timestamp was seen.
    origin_ms: Option<i64>,
    mono_ms: u64,
    /// Wall time shown before any timestamp was seen.
    start: SystemTime,
}

impl EventClock {
    fn now(&self) -> Now {
        self.at(self.mono_ms)
    }

    fn at(&self, mono_ms: u64) -> Now {
        let wall = match self.origin_ms {
            Some(origin) => unix_ms(origin.saturating_add(mono_ms as i64)),
            None => self.start + Duration::from_millis(mono_ms),
        };
        Now { mono_ms, wall }
    }

    /// The monotonic time of an event at `unix_ms`: never before the last one.
    fn moment(&mut self, unix_ms: i64) -> u64 {
        let origin = *self
            .origin_ms
            .get_or_insert(unix_ms.saturating_sub(self.mono_ms as i64));
        let ms = unix_ms.saturating_sub(origin);
        (ms.max(0) as u64).max(self.mono_ms)
    }
}

fn unix_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// A replay in progress. Feed it lines, then [`Replay::finish`].
pub struct Replay {
    config: Arc<Config>,
    shape: Arc<EventShape>,
    rules: RuleSet,
    /// The longest flatline `silence`, in ms; 0 without flatline rules.
    max_silence_ms: u64,
    clock: EventClock,
    summary: Summary,
    max_line_bytes: usize,
    noted_bad_timestamp: bool,
    /// Timer runs so far: what a replay costs, whatever the span of event time.
    ticks: u64,
    /// App-mode incidents, followed through what Slack would show.
    app: AppReplay,
}

impl Replay {
    pub fn new(config: Config, max_line_bytes: usize) -> Replay {
        let clock = EventClock {
            origin_ms: None,
            mono_ms: 0,
            start: SystemTime::now(),
        };
        let config = Arc::new(config);
        Replay {
            shape: EventShape::of_events(&config),
            rules: RuleSet::new(
                Arc::clone(&config),
                Arc::new(Counters::default()),
                clock.now(),
            ),
            max_silence_ms: config
                .rules
                .iter()
                .filter(|r| r.kind == RuleKind::Flatline)
                .map(|r| r.silence.as_millis() as u64)
                .max()
                .unwrap_or(0),
            app: AppReplay::new(Arc::clone(&config)),
            summary: Summary {
                app_mode: config.rules.iter().any(|r| r.app.is_some()),
                ..Summary::default()
            },
            config,
            clock,
            max_line_bytes,
            noted_bad_timestamp: false,
            ticks: 0,
        }
    }

    /// The names of rules `indices`, as shown.
    fn names(&self, indices: impl Iterator<Item = usize>) -> Vec<String> {
        indices
            .filter_map(|i| self.config.rules.get(i).map(|r| r.name.clone()))
            .collect()
    }

    /// The messages as their destinations would post them.
    fn shown(&self, messages: &[Outgoing]) -> Vec<Shown> {
        messages
            .iter()
            .map(|m| Shown {
                kind: m.kind(),
                payload: destination::render(&self.config, m),
            })
            .collect()
    }

    /// Hands the messages of app-mode destinations to [`AppReplay`], counts
    /// both, and returns the others (posted as they are) and the steps.
    fn split(&mut self, messages: Vec<Outgoing>) -> (Vec<Outgoing>, Vec<AppStep>) {
        let mut steps = Vec::new();
        let mut posted = Vec::new();
        for m in messages {
            if self.app.takes(&m) {
                self.app.accept(&m, &mut steps);
            } else {
                posted.push(m);
            }
        }
        self.summary.count_messages(&posted);
        self.summary.count_steps(&steps);
        (posted, steps)
    }

    fn routes(&self, messages: &[Outgoing]) -> Vec<Route> {
        messages
            .iter()
            .map(|m| Route {
                rule: self
                    .config
                    .rules
                    .get(m.rule)
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                destination: self
                    .config
                    .destinations
                    .get(m.destination)
                    .map_or(DestinationKind::Slack, |d| d.kind),
            })
            .collect()
    }

    /// Each rule's `excluded` counter now, to tell which rules excluded a line.
    fn excluded_counts(&self) -> Vec<u64> {
        (0..self.config.rules.len())
            .map(|i| {
                self.rules
                    .counters_of(i)
                    .map_or(0, |c| c.excluded.load(std::sync::atomic::Ordering::Relaxed))
            })
            .collect()
    }

    /// Decides about the next line of input.
    pub fn feed(&mut self, line: Line<'_>, out: &mut dyn FnMut(Record)) {
        self.summary.lines += 1;
        let n = self.summary.lines;
        let bytes = match line {
            Line::Complete(bytes) => bytes,
            Line::TooLong { bytes } => {
                return self.unparseable(
                    n,
                    format!(
                        "longer than {} bytes ({bytes} bytes); skipped",
                        self.max_line_bytes
                    ),
                    out,
                )
            }
        };
        if bytes.trim_ascii().is_empty() {
            return;
        }
        let event = match parse_event(bytes) {
            Ok(event) => event,
            Err(problem) => return self.unparseable(n, format!("{problem}; skipped"), out),
        };
        self.advance(n, &event, out);
        let matched = MatchedEvent::from_json(&self.shape, &event);
        let matching = Arc::clone(self.rules.matching());
        let level = matching.level(&matched);
        // Only candidates go on, as in the live engine: an event no rule's
        // level accepts costs nothing more, and a heartbeat (a line only
        // flatline rules take) is seen by them alone, in event time.
        let prepared = match matching.candidacy(level) {
            Candidacy::Alert => matching.prepare(level, &matched),
            Candidacy::Heartbeat => matching.prepare_heartbeat(level, &matched),
            Candidacy::None => None,
        };
        let Some(prepared) = prepared else {
            return;
        };
        let now = self.clock.now();
        // Timers first, at the event's time, so that what they send is shown
        // apart from the decision (deciding would run them itself).
        self.tick(n - 1, now, out);
        let before = self.excluded_counts();
        let mut messages = Vec::new();
        let decision = self.rules.apply(&prepared, &matched, now, &mut messages);
        let excluded: Vec<String> = self.names(
            self.excluded_counts()
                .iter()
                .zip(&before)
                .enumerate()
                .filter(|(_, (after, before))| after > before)
                .map(|(i, _)| i),
        );
        let alerting = prepared.matched_alert_rule();
        if alerting {
            self.summary.matched += 1;
        } else if !excluded.is_empty() {
            self.summary.excluded += 1;
        }
        match decision {
            Decision::Alerted => self.summary.alerts += 1,
            Decision::Repeat => self.summary.repeats += 1,
            Decision::RateLimited => self.summary.suppressed += 1,
            Decision::Dropped => self.summary.dropped += 1,
            Decision::BelowThreshold => self.summary.below_threshold += 1,
            Decision::Ignored | Decision::Closed => {}
        }
        let (messages, app) = self.split(messages);
        // A flatline rule's heartbeat (a line only it matched, with nothing
        // to say) is not shown: with such a rule every line is one.
        if !alerting && excluded.is_empty() && messages.is_empty() && app.is_empty() {
            return;
        }
        out(Record::Decision {
            line: n,
            at: now.wall,
            decision,
            level: prepared.level(),
            rules: self.names(
                prepared
                    .rules()
                    .filter(|i| self.config.rules[*i].kind == RuleKind::Alert),
            ),
            excluded,
            fingerprint: prepared.label().unwrap_or_default().to_string(),
            routes: self.routes(&messages),
            messages: self.shown(&messages),
            app,
        });
    }

    /// Ends the input: reports open windows and pending counts, as stopping
    /// the engine would, and returns the totals.
    pub fn finish(mut self, out: &mut dyn FnMut(Record)) -> Summary {
        let now = self.clock.now();
        let mut messages = Vec::new();
        self.rules.on_shutdown(now, &mut messages);
        let (messages, mut app) = self.split(messages);
        self.app.finish(&mut app);
        if !messages.is_empty() || !app.is_empty() {
            out(Record::Timer {
                line: self.summary.lines,
                at: now.wall,
                end_of_input: true,
                routes: self.routes(&messages),
                messages: self.shown(&messages),
                app,
            });
        }
        self.summary.rules = self.rules.rule_counters();
        self.summary
    }

    /// The configuration being replayed.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn unparseable(&mut self, line: u64, problem: String, out: &mut dyn FnMut(Record)) {
        self.summary.unparseable.push(line);
        out(Record::Unparseable { line, problem });
    }

    /// Moves time to the event's `@timestamp`, running the timers on the way.
    fn advance(&mut self, n: u64, event: &Value, out: &mut dyn FnMut(Record)) {
        let stamp = event.get("@timestamp").filter(|v| !v.is_null());
        let Some(ms) = stamp
            .and_then(Value::as_str)
            .and_then(timestamp::parse_millis)
        else {
            if stamp.is_some() && !self.noted_bad_timestamp {
                self.noted_bad_timestamp = true;
                out(Record::Note {
                    line: n,
                    note: format!(
                        "@timestamp {} is not an RFC 3339 time; lines like it take the \
                         previous line's time",
                        describe(stamp.unwrap_or(&Value::Null))
                    ),
                });
            }
            return;
        };
        let target = self.clock.moment(ms);
        let from = self.clock.mono_ms;
        // Past this, with nothing else waiting, a flatline rule has reported
        // every group it watches: no tick can send anything until an event.
        let watch_until = from
            .saturating_add(self.max_silence_ms)
            .saturating_add(TICK_MS);
        let mut t = from + TICK_MS;
        while t < target && (!self.rules.is_idle() || (self.rules.watches() && t <= watch_until)) {
            let now = self.clock.at(t);
            self.tick(n - 1, now, out);
            t += TICK_MS;
        }
        self.clock.mono_ms = target;
    }

    fn tick(&mut self, after_line: u64, now: Now, out: &mut dyn FnMut(Record)) {
        self.ticks += 1;
        let mut messages = Vec::new();
        self.rules.on_tick(now, &mut messages);
        let (messages, app) = self.split(messages);
        if !messages.is_empty() || !app.is_empty() {
            out(Record::Timer {
                line: after_line,
                at: now.wall,
                end_of_input: false,
                routes: self.routes(&messages),
                messages: self.shown(&messages),
                app,
            });
        }
    }
}

/// A value for a message, shortened.
fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// Replays every line of `input`, handing each record to `out`.
pub fn replay(
    config: Config,
    input: impl BufRead,
    max_line_bytes: usize,
    out: &mut dyn FnMut(Record),
) -> io::Result<Summary> {
    let mut replay = Replay::new(config, max_line_bytes);
    let mut lines = LineReader::new(input, max_line_bytes);
    while let Some(line) = lines.next_line()? {
        replay.feed(line, out);
    }
    Ok(replay.finish(out))
}

/// `2026-11-20T09:05:01.250Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let ms: i64 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    };
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = slack_alert_render::human::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

fn kind_name(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Alert => "ALERT",
        MessageKind::Repeat => "REPEAT REPORT",
        MessageKind::Summary => "SUMMARY",
        MessageKind::Flatline => "FLATLINE",
        MessageKind::Recovered => "RECOVERED",
        MessageKind::Progress => "UPDATE",
    }
}

fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Alerted => "ALERTED",
        Decision::Repeat => "REPEAT",
        Decision::RateLimited => "RATE-LIMITED",
        Decision::Dropped => "DROPPED",
        Decision::BelowThreshold => "BELOW-THRESHOLD",
        Decision::Ignored => "IGNORED",
        Decision::Closed => "CLOSED",
    }
}

/// What a line's record says it was: the decision, or for a line no alert
/// rule matched, why it is shown at all.
fn decision_label(decision: Decision, excluded: &[String], human: bool) -> &'static str {
    match (decision, excluded.is_empty(), human) {
        (Decision::Ignored, false, true) => "EXCLUDED",
        (Decision::Ignored, false, false) => "excluded",
        // Only a flatline rule matched it, and its group logs again.
        (Decision::Ignored, true, true) => "LOGGING",
        (Decision::Ignored, true, false) => "logging",
        (d, _, true) => decision_name(d),
        (d, _, false) => d.as_str(),
    }
}

/// `  [payments, errors]` naming rules, or nothing for the simple form's
/// one rule (`default`), whose output stays as it always was.
fn rules_shown(names: &[String]) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for n in names {
        if !distinct.contains(&n.as_str()) {
            distinct.push(n);
        }
    }
    if distinct.is_empty() || distinct == [DEFAULT_RULE] {
        String::new()
    } else {
        format!("  [{}]", distinct.join(", "))
    }
}

/// Writes records for people: one line per decision, the would-be Slack
/// message under it, indented. Problems with lines go to `err`.
pub fn write_human(record: &Record, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
    match record {
        Record::Decision {
            line,
            at,
            decision,
            rules,
            excluded,
            fingerprint,
            messages,
            routes,
            app,
            ..
        } => {
            let label = decision_label(*decision, excluded, true);
            let mut head = format!("line {line}: {label}");
            if !fingerprint.is_empty() {
                head.push_str("  ");
                head.push_str(fingerprint);
            }
            if rules.is_empty() {
                // A flatline rule's recovery: name the rule that speaks.
                head.push_str(&rules_shown(&speaking(routes, app)));
            } else {
                head.push_str(&rules_shown(rules));
            }
            if !excluded.is_empty() {
                head.push_str(&format!("  excluded by [{}]", excluded.join(", ")));
            }
            writeln!(out, "{head}")?;
            write_messages(messages, routes, out)?;
            write_app(app, *at, out)
        }
        Record::Timer {
            line,
            at,
            end_of_input,
            messages,
            routes,
            app,
        } => {
            let mut kinds: Vec<&str> = messages.iter().map(|m| kind_name(m.kind)).collect();
            kinds.extend(app_words(app));
            let kinds = kinds.join(" + ");
            let rules = rules_shown(&speaking(routes, app));
            if *end_of_input {
                writeln!(out, "end of input (after line {line}): {kinds}{rules}")?;
            } else {
                let when = slack_alert_render::human::utc_date_time(*at);
                writeln!(out, "{when} UTC, after line {line}: {kinds}{rules}")?;
            }
            write_messages(messages, routes, out)?;
            write_app(app, *at, out)
        }
        Record::Unparseable { line, problem } => {
            // Flushed first, so that on a terminal the report shows in place.
            out.flush()?;
            writeln!(err, "slack-alert: line {line}: {problem}")
        }
        Record::Note { line, note } => {
            out.flush()?;
            writeln!(err, "slack-alert: line {line}: {note}")
        }
    }
}

/// The rules that speak in a record: those of its messages, then those of
/// its app-mode steps.
fn speaking(routes: &[Route], app: &[AppStep]) -> Vec<String> {
    routes
        .iter()
        .map(|r| r.rule.clone())
        .chain(app.iter().map(|s| s.rule.clone()))
        .collect()
}

/// What a record's app-mode steps add to its headline: messages posted,
/// incidents updated (unless they end in the same record), how they end.
fn app_words(steps: &[AppStep]) -> Vec<&'static str> {
    let mut words: Vec<&'static str> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let word = match &step.action {
            AppAction::Posted { kind, .. } => Some(kind_name(*kind)),
            AppAction::Updated { .. } => {
                let ends = steps[i + 1..].iter().any(|later| {
                    later.incident == step.incident
                        && matches!(later.action, AppAction::Final { .. })
                });
                (!ends).then_some("UPDATE")
            }
            AppAction::Final { state, .. } => Some(match state {
                FinalState::Quiet => "QUIET",
                FinalState::OpenAtEnd => "STILL OPEN",
                FinalState::Evicted => "EVICTED",
                FinalState::Recovered => "RECOVERED",
                FinalState::SilentAtEnd => "STILL SILENT",
            }),
            AppAction::Reply { .. } | AppAction::Upload { .. } => None,
        };
        if let Some(word) = word.filter(|w| !words.contains(w)) {
            words.push(word);
        }
    }
    words
}

/// A message kind in a sentence: `alert`, `repeat report`, `summary`…
fn kind_words(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Repeat => "repeat report",
        other => other.as_str(),
    }
}

/// App-mode steps, one line each, under their record; a posted message as
/// Slack would show it, under its line.
///
/// ```text
///     incident 1: posted to #alerts-api
///         == 🚨 ERROR in api == …
///     incident 1: updated at 09:00:10 UTC to 10× · 🔁 Seen 10× · first 09:00:00 · last 09:00:09 UTC
///     incident 1: thread reply · 🔁 10× now
///     incident 1: quiet · 40 events, final
/// ```
fn write_app(steps: &[AppStep], at: SystemTime, out: &mut dyn Write) -> io::Result<()> {
    use slack_alert_render::human;
    for step in steps {
        let rule = if step.rule == DEFAULT_RULE {
            String::new()
        } else {
            format!(" [{}]", step.rule)
        };
        let who = match (step.incident, &step.action) {
            (Some(n), _) => format!("incident {n}{rule}"),
            (None, AppAction::Posted { kind, .. }) => format!("{}{rule}", kind_words(*kind)),
            (None, _) => format!("message{rule}"),
        };
        let channel = &step.channel;
        match &step.action {
            AppAction::Posted {
                payload, fallback, ..
            } => {
                let why = if *fallback {
                    " (fallback_channel: `channel` names no channel for this event)"
                } else {
                    ""
                };
                writeln!(out, "    {who}: posted to {channel}{why}")?;
                // The channel is on the line above.
                let mut shown = payload.clone();
                if let Some(map) = shown.as_object_mut() {
                    map.remove("channel");
                }
                for text_line in plain::to_text(&shown).lines() {
                    writeln!(out, "        {text_line}")?;
                }
            }
            AppAction::Updated { total, status, .. } => writeln!(
                out,
                "    {who}: updated at {} UTC to {}× · {status}",
                human::utc_time(at),
                human::count(*total)
            )?,
            AppAction::Reply { text, broadcast } => {
                let also = if *broadcast {
                    ", also sent to the channel"
                } else {
                    ""
                };
                writeln!(out, "    {who}: thread reply{also} · {text}")?
            }
            AppAction::Upload { chars, .. } => writeln!(
                out,
                "    {who}: stack trace uploaded into its thread ({} characters; the message \
                 shows the top {})",
                human::count(*chars as u64),
                human::count(slack_alert_engine::destination::app::SHOWN_TRACE_CHARS as u64)
            )?,
            AppAction::Final { state, total } => {
                let events = human::count_of(*total, "event", "events");
                match state {
                    FinalState::Quiet => writeln!(out, "    {who}: quiet · {events}, final")?,
                    FinalState::OpenAtEnd => {
                        writeln!(out, "    {who}: still open at end of input · {events}")?
                    }
                    FinalState::Evicted => writeln!(
                        out,
                        "    {who}: no longer tracked (too many open incidents) · {events}"
                    )?,
                    FinalState::Recovered => writeln!(out, "    {who}: recovered, final")?,
                    FinalState::SilentAtEnd => {
                        writeln!(out, "    {who}: still silent at end of input")?
                    }
                }
            }
        }
    }
    Ok(())
}

/// An app-mode step as `--json` shows it.
fn step_json(step: &AppStep) -> Value {
    let mut v = serde_json::Map::new();
    let (name, fields) = match &step.action {
        AppAction::Posted {
            kind,
            payload,
            fallback,
        } => (
            "posted",
            serde_json::json!({"kind": kind.as_str(), "fallback": fallback, "message": payload}),
        ),
        AppAction::Updated {
            total,
            phase,
            status,
            payload,
        } => (
            "update",
            serde_json::json!({
                "count": total, "phase": phase_name(*phase), "status": status, "message": payload
            }),
        ),
        AppAction::Reply { text, broadcast } => (
            "reply",
            serde_json::json!({"text": text, "broadcast": broadcast}),
        ),
        AppAction::Upload { chars, bytes } => (
            "upload",
            serde_json::json!({"chars": chars, "bytes": bytes}),
        ),
        AppAction::Final { state, total } => (
            "final",
            serde_json::json!({"state": state.as_str(), "count": total}),
        ),
    };
    v.insert("step".into(), Value::from(name));
    v.insert("incident".into(), serde_json::json!(step.incident));
    v.insert("rule".into(), Value::from(step.rule.as_str()));
    v.insert("channel".into(), Value::from(step.channel.as_str()));
    if let Value::Object(fields) = fields {
        v.extend(fields);
    }
    Value::Object(v)
}

/// Most characters of a JSON destination's body shown by the human output
/// (`--json` has it whole).
const SHOWN_BODY_CHARS: usize = 2000;

/// Each message under its record: a Slack message as Slack would show it,
/// a JSON destination's body as the compact JSON it would post, with the
/// rule it came from when rules are named.
fn write_messages(messages: &[Shown], routes: &[Route], out: &mut dyn Write) -> io::Result<()> {
    let several = routes.iter().any(|r| r.rule != routes[0].rule);
    for (i, m) in messages.iter().enumerate() {
        let route = routes.get(i);
        if several {
            if let Some(r) = route {
                writeln!(out, "    ({})", r.rule)?;
            }
        }
        if route.is_some_and(|r| r.destination == DestinationKind::Json) {
            let body = m.payload.to_string();
            let shown: String = body.chars().take(SHOWN_BODY_CHARS).collect();
            let more = if shown.len() < body.len() { "…" } else { "" };
            writeln!(out, "    json webhook body: {shown}{more}")?;
            continue;
        }
        for text_line in plain::to_text(&m.payload).lines() {
            writeln!(out, "    {text_line}")?;
        }
    }
    Ok(())
}

/// The summary block for people.
pub fn write_human_summary(summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    let unparseable = if summary.unparseable.is_empty() {
        "0".to_string()
    } else {
        const SHOWN: usize = 20;
        let mut numbers: Vec<String> = summary
            .unparseable
            .iter()
            .take(SHOWN)
            .map(u64::to_string)
            .collect();
        if summary.unparseable.len() > SHOWN {
            numbers.push("…".into());
        }
        format!(
            "{} (line{} {})",
            summary.unparseable.len(),
            if summary.unparseable.len() == 1 {
                ""
            } else {
                "s"
            },
            numbers.join(", ")
        )
    };
    writeln!(out)?;
    writeln!(out, "summary")?;
    writeln!(out, "  lines read    {}", summary.lines)?;
    writeln!(out, "  unparseable   {unparseable}")?;
    writeln!(out, "  matched       {}", summary.matched)?;
    writeln!(out, "  alerts        {}", summary.alerts)?;
    writeln!(out, "  repeats       {}", summary.repeats)?;
    writeln!(out, "  suppressed    {}", summary.suppressed)?;
    writeln!(out, "  dropped       {}", summary.dropped)?;
    // Lines only rules with thresholds or excludes can produce: shown when
    // there were any, so the simple form's summary stays as it was.
    if summary.below_threshold > 0 {
        writeln!(out, "  below thresh. {}", summary.below_threshold)?;
    }
    if summary.excluded > 0 {
        writeln!(out, "  excluded      {}", summary.excluded)?;
    }
    let mut kinds = format!(
        "{} alerts, {} repeat reports, {} summaries",
        summary.alert_messages, summary.repeat_messages, summary.summary_messages
    );
    if summary.flatline_messages + summary.recovered_messages > 0 {
        kinds.push_str(&format!(
            ", {} flatline, {} recovered",
            summary.flatline_messages, summary.recovered_messages
        ));
    }
    writeln!(out, "  messages      {} ({kinds})", summary.messages())?;
    if summary.app_mode {
        use slack_alert_render::human::count_of;
        writeln!(
            out,
            "  app mode      {}, {}, {}",
            count_of(summary.updates, "update", "updates"),
            count_of(summary.thread_replies, "thread reply", "thread replies"),
            count_of(summary.uploads, "upload", "uploads")
        )?;
    }
    let named = summary.rules.len() > 1
        || summary
            .rules
            .first()
            .is_some_and(|(n, _)| n != DEFAULT_RULE);
    if named {
        writeln!(out)?;
        writeln!(out, "rules")?;
        for (name, values) in &summary.rules {
            let shown: Vec<String> = RULE_COUNTER_NAMES
                .iter()
                .zip(values)
                .filter(|(_, v)| **v > 0)
                .map(|(n, v)| format!("{n} {v}"))
                .collect();
            let shown = if shown.is_empty() {
                "nothing matched".to_string()
            } else {
                shown.join(", ")
            };
            writeln!(out, "  {name}: {shown}")?;
        }
    }
    Ok(())
}

/// A decision as a JSON line; fields in this order.
#[derive(Serialize)]
struct DecisionLine<'a> {
    line: u64,
    at: String,
    decision: &'static str,
    level: Option<&'static str>,
    fingerprint: &'a str,
    /// The rules the line matched.
    rules: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    excluded: &'a [String],
    messages: Vec<&'a Value>,
    /// The rule of each message.
    message_rules: Vec<&'a str>,
    /// Each message's destination kind: `slack` or `json`.
    message_destinations: Vec<&'static str>,
    /// App-mode steps ([`step_json`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    slack_app: Vec<Value>,
}

/// Messages sent by the timers as a JSON line.
#[derive(Serialize)]
struct TimerLine<'a> {
    line: u64,
    at: String,
    timer: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    end_of_input: bool,
    kinds: Vec<&'static str>,
    messages: Vec<&'a Value>,
    /// The rule of each message.
    rules: Vec<&'a str>,
    /// Each message's destination kind: `slack` or `json`.
    destinations: Vec<&'static str>,
    /// App-mode steps ([`step_json`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    slack_app: Vec<Value>,
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    summary: SummaryFields<'a>,
}

#[derive(Serialize)]
struct SummaryFields<'a> {
    lines: u64,
    unparseable: &'a [u64],
    matched: u64,
    alerts: u64,
    repeats: u64,
    suppressed: u64,
    dropped: u64,
    below_threshold: u64,
    excluded: u64,
    messages: u64,
    /// App mode only: `chat.update`s, thread replies and uploads.
    #[serde(skip_serializing_if = "Option::is_none")]
    updates: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_replies: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uploads: Option<u64>,
    /// Per rule, in rule order: its name, then its counters.
    rules: Vec<RuleTotals<'a>>,
}

/// `{"name": ..., "matched": ..., ...}`: counters in [`RULE_COUNTER_NAMES`]
/// order (a `serde_json::Map` would sort them).
struct RuleTotals<'a> {
    name: &'a str,
    values: &'a [u64],
}

impl Serialize for RuleTotals<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1 + self.values.len()))?;
        map.serialize_entry("name", self.name)?;
        for (name, value) in RULE_COUNTER_NAMES.iter().zip(self.values) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

fn payloads(messages: &[Shown]) -> Vec<&Value> {
    messages.iter().map(|m| &m.payload).collect()
}

/// One JSON object per record (unparseable lines and notes go to `err` as
/// text; the summary lists the unparseable line numbers).
pub fn write_json(record: &Record, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
    let line = match record {
        Record::Decision {
            line,
            at,
            decision,
            level,
            rules,
            excluded,
            fingerprint,
            messages,
            routes,
            app,
        } => serde_json::to_string(&DecisionLine {
            line: *line,
            at: rfc3339(*at),
            decision: decision_label(*decision, excluded, false),
            level: level.map(Level::name),
            fingerprint,
            rules,
            excluded,
            messages: payloads(messages),
            message_rules: routes.iter().map(|r| r.rule.as_str()).collect(),
            message_destinations: routes.iter().map(|r| r.destination.as_str()).collect(),
            slack_app: app.iter().map(step_json).collect(),
        }),
        Record::Timer {
            line,
            at,
            end_of_input,
            messages,
            routes,
            app,
        } => serde_json::to_string(&TimerLine {
            line: *line,
            at: rfc3339(*at),
            timer: true,
            end_of_input: *end_of_input,
            kinds: messages.iter().map(|m| m.kind.as_str()).collect(),
            messages: payloads(messages),
            rules: routes.iter().map(|r| r.rule.as_str()).collect(),
            destinations: routes.iter().map(|r| r.destination.as_str()).collect(),
            slack_app: app.iter().map(step_json).collect(),
        }),
        Record::Unparseable { .. } | Record::Note { .. } => {
            return write_human(record, &mut io::sink(), err)
        }
    };
    writeln!(out, "{}", line.map_err(io::Error::other)?)
}

/// The summary as the last JSON line.
pub fn write_json_summary(summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    let line = serde_json::to_string(&SummaryLine {
        summary: SummaryFields {
            lines: summary.lines,
            unparseable: &summary.unparseable,
            matched: summary.matched,
            alerts: summary.alerts,
            repeats: summary.repeats,
            suppressed: summary.suppressed,
            dropped: summary.dropped,
            below_threshold: summary.below_threshold,
            excluded: summary.excluded,
            messages: summary.messages(),
            updates: summary.app_mode.then_some(summary.updates),
            thread_replies: summary.app_mode.then_some(summary.thread_replies),
            uploads: summary.app_mode.then_some(summary.uploads),
            rules: summary
                .rules
                .iter()
                .map(|(name, values)| RuleTotals { name, values })
                .collect(),
        },
    })
    .map_err(io::Error::other)?;
    writeln!(out, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(extra: Value) -> Config {
        let mut v = json!({"dry_run": true});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Config::try_from(v).unwrap()
    }

    fn error_at(time: &str, message: &str) -> String {
        json!({"@timestamp": time, "log.level": "ERROR", "message": message, "service.name": "api"})
            .to_string()
    }

    /// Replays `lines` and returns the records in the JSON form (`at` left
    /// out) and the summary.
    fn run(extra: Value, lines: &[String]) -> (Vec<Value>, Summary) {
        let input = lines.join("\n");
        let mut records = Vec::new();
        let summary = replay(config(extra), input.as_bytes(), 1 << 20, &mut |r| {
            records.push(match r {
                Record::Decision { line, decision, .. } => {
                    json!({"line": line, "decision": decision.as_str()})
                }
                Record::Timer {
                    line,
                    messages,
                    end_of_input,
                    ..
                } => json!({
                    "line": line, "timer": messages.iter().map(|m| kind_name(m.kind)).collect::<Vec<_>>(),
                    "end": end_of_input
                }),
                Record::Unparseable { line, .. } => json!({"line": line, "unparseable": true}),
                Record::Note { line, .. } => json!({"line": line, "note": true}),
            })
        })
        .unwrap();
        (records, summary)
    }

    /// Feeds `lines` to a fresh replay and returns how many timer runs they took.
    fn ticks_for(extra: Value, lines: &[String]) -> u64 {
        let mut replay = Replay::new(config(extra), 1 << 20);
        for line in lines {
            replay.feed(Line::Complete(line.as_bytes()), &mut |_| {});
        }
        replay.ticks
    }

    #[test]
    fn time_jumps_over_a_gap_once_nothing_waits() {
        // The window closes 5 minutes in; the rest of the day is skipped.
        let ticks = ticks_for(
            json!({"dedup_window": "5m"}),
            &[
                error_at("2026-11-20T09:00:00Z", "db down"),
                error_at("2026-11-21T09:00:00Z", "db down"),
            ],
        );
        let window = 5 * 60 * 1000 / TICK_MS;
        assert!(ticks > 0 && ticks <= window + 2, "{ticks} ticks");
    }

    #[test]
    fn a_flatline_rule_ticks_through_its_silence_only() {
        let heartbeat = |time: &str| {
            json!({"@timestamp": time, "log.level": "INFO", "service.name": "api"}).to_string()
        };
        let ticks = ticks_for(
            json!({"rules": [{"name": "quiet", "type": "flatline", "silence": "10m"}]}),
            &[
                heartbeat("2026-11-20T09:00:00Z"),
                heartbeat("2027-11-20T09:00:00Z"),
            ],
        );
        // The silence and a few ticks past it, not the year.
        let silence = 10 * 60 * 1000 / TICK_MS;
        assert!(ticks >= silence && ticks <= silence + 4, "{ticks} ticks");
    }

    #[test]
    fn windows_follow_event_time() {
        // 4 minutes apart: one window.
        let (records, s) = run(
            json!({"dedup_window": "5m"}),
            &[
                error_at("2026-11-20T09:00:00Z", "db down"),
                error_at("2026-11-20T09:04:00Z", "db down"),
            ],
        );
        assert_eq!(
            records,
            vec![
                json!({"line": 1, "decision": "alerted"}),
                json!({"line": 2, "decision": "repeat"}),
                json!({"line": 2, "timer": ["REPEAT REPORT"], "end": true}),
            ]
        );
        assert_eq!((s.alerts, s.repeats, s.messages()), (1, 1, 2));

        // 6 minutes apart: two alerts; the first window closed with no repeat.
        let (records, _) = run(
            json!({"dedup_window": "5m"}),
            &[
                error_at("2026-11-20T09:00:00Z", "db down"),
                error_at("2026-11-20T09:06:00Z", "db down"),
            ],
        );
        assert_eq!(
            records,
            vec![
                json!({"line": 1, "decision": "alerted"}),
                json!({"line": 2, "decision": "alerted"}),
            ]
        );
    }

    #[test]
    fn a_repeat_report_comes_when_the_window_closed_in_event_time() {
        let mut records = Vec::new();
        let input = [
            error_at("2026-11-20T09:00:00Z", "db down"),
            error_at("2026-11-20T09:01:00Z", "db down"),
            error_at("2026-11-20T09:30:00Z", "disk full"),
        ]
        .join("\n");
        replay(
            config(json!({"dedup_window": "5m"})),
            input.as_bytes(),
            1024,
            &mut |r| {
                if let Record::Timer { line, at, .. } = r {
                    records.push((line, rfc3339(at)));
                }
            },
        )
        .unwrap();
        assert_eq!(records, vec![(2, "2026-11-20T09:05:00.000Z".to_string())]);
    }

    #[test]
    fn out_of_order_and_missing_timestamps_never_move_time_back() {
        let (records, _) = run(
            json!({"dedup_window": "5m"}),
            &[
                error_at("2026-11-20T09:10:00Z", "db down"),
                error_at("2026-11-20T09:00:00Z", "db down"),
                json!({"log.level": "ERROR", "message": "db down", "service.name": "api"})
                    .to_string(),
                error_at("not a time", "db down"),
                error_at("2026-11-20T09:14:59Z", "db down"),
                error_at("2026-11-20T09:15:00Z", "db down"),
            ],
        );
        assert_eq!(
            records,
            vec![
                json!({"line": 1, "decision": "alerted"}),
                json!({"line": 2, "decision": "repeat"}),
                json!({"line": 3, "decision": "repeat"}),
                json!({"line": 4, "note": true}),
                json!({"line": 4, "decision": "repeat"}),
                json!({"line": 5, "decision": "repeat"}),
                json!({"line": 5, "timer": ["REPEAT REPORT"], "end": false}),
                json!({"line": 6, "decision": "alerted"}),
            ]
        );
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let lines = [
            "{\"log.level\": \"ERROR\", \"message\": \"a\"}".to_string(),
            "not json".to_string(),
            "".to_string(),
            "[1, 2]".to_string(),
            String::from_utf8_lossy(b"{\"message\": \"x\"}").into_owned(),
        ];
        let mut input = lines.join("\n").into_bytes();
        input.extend(b"\n{\"message\": \"\xff\"}\n");
        let mut problems = Vec::new();
        let summary = replay(config(json!({})), &input[..], 1024, &mut |r| {
            if let Record::Unparseable { line, problem } = r {
                problems.push(format!("{line}: {problem}"));
            }
        })
        .unwrap();
        assert_eq!(summary.lines, 6);
        assert_eq!(summary.unparseable, vec![2, 4, 6]);
        assert!(problems[0].starts_with("2: not JSON ("), "{problems:?}");
        assert_eq!(problems[1], "4: a JSON array, not an event object; skipped");
        assert_eq!(
            problems[2],
            "6: not UTF-8 (invalid byte at column 14); skipped"
        );
        assert_eq!(summary.matched, 1);
    }

    #[test]
    fn rate_limits_follow_event_time_and_summaries_come_when_capacity_returns() {
        // 1 a minute, burst 1: the second distinct error is held back and
        // summarised once a token is back, 60 s of event time later.
        let (records, s) = run(
            json!({"rate_limit": 1, "burst": 1}),
            &[
                error_at("2026-11-20T09:00:00Z", "alpha"),
                error_at("2026-11-20T09:00:10Z", "beta"),
                error_at("2026-11-20T09:05:00Z", "gamma"),
            ],
        );
        assert_eq!(
            records,
            vec![
                json!({"line": 1, "decision": "alerted"}),
                json!({"line": 2, "decision": "rate_limited"}),
                json!({"line": 2, "timer": ["SUMMARY"], "end": false}),
                json!({"line": 3, "decision": "alerted"}),
            ]
        );
        assert_eq!((s.alerts, s.suppressed, s.summary_messages), (2, 1, 1));
    }

    fn line(time: &str, level: Option<&str>, service: &str, message: &str) -> String {
        let mut e = json!({"@timestamp": time, "service.name": service, "message": message});
        if let Some(l) = level {
            e["log.level"] = json!(l);
        }
        e.to_string()
    }

    /// Replays `lines` and returns, per record, the line, the decision (or
    /// the timer's kinds) and the rules it names.
    fn run_rules(extra: Value, lines: &[String]) -> (Vec<Value>, Summary) {
        let input = lines.join("\n");
        let mut records = Vec::new();
        let summary = replay(config(extra), input.as_bytes(), 1 << 20, &mut |r| match r {
            Record::Decision {
                line,
                decision,
                rules,
                excluded,
                routes,
                ..
            } => records.push(json!({
                "line": line, "decision": decision.as_str(), "rules": rules, "excluded": excluded,
                "to": routes.iter().map(|r| r.rule.clone()).collect::<Vec<_>>()
            })),
            Record::Timer {
                line, at, messages, ..
            } => records.push(json!({
                "line": line, "at": rfc3339(at),
                "timer": messages.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>()
            })),
            _ => {}
        })
        .unwrap();
        (records, summary)
    }

    #[test]
    fn rules_decide_each_line_and_name_themselves() {
        let (records, s) = run_rules(
            json!({"rules": [
                {"name": "errors", "exclude": {"[message]": "health"}},
                {"name": "storm", "levels": ["WARN"], "threshold": 2, "threshold_window": "1m"},
            ]}),
            &[
                line(
                    "2026-11-20T09:00:00Z",
                    Some("ERROR"),
                    "api",
                    "health check failed",
                ),
                line("2026-11-20T09:00:01Z", Some("ERROR"), "api", "db down"),
                line("2026-11-20T09:00:02Z", Some("WARN"), "api", "slow"),
                line("2026-11-20T09:00:03Z", Some("WARN"), "api", "slow"),
                line("2026-11-20T09:00:04Z", Some("INFO"), "api", "fine"),
            ],
        );
        assert_eq!(
            records,
            vec![
                json!({"line": 1, "decision": "ignored", "rules": [], "excluded": ["errors"], "to": []}),
                json!({"line": 2, "decision": "alerted", "rules": ["errors"], "excluded": [], "to": ["errors"]}),
                json!({"line": 3, "decision": "below_threshold", "rules": ["storm"], "excluded": [], "to": []}),
                json!({"line": 4, "decision": "alerted", "rules": ["storm"], "excluded": [], "to": ["storm"]}),
            ]
        );
        assert_eq!(
            (s.matched, s.alerts, s.below_threshold, s.excluded),
            (3, 2, 1, 1)
        );
        assert_eq!(s.rules[0].0, "errors");
        assert_eq!(s.rules[1].1[3], 1, "storm: one alert");
    }

    #[test]
    fn flatline_timers_fire_in_event_time_also_for_lines_without_a_level() {
        let (records, s) = run_rules(
            json!({"rules": [{"name": "quiet", "type": "flatline", "silence": "1m"}]}),
            &[
                line("2026-11-20T09:00:00Z", Some("INFO"), "api", "up"),
                line("2026-11-20T09:00:30Z", None, "api", "no level"),
                line("2026-11-20T09:05:00Z", Some("DEBUG"), "api", "back"),
            ],
        );
        assert_eq!(
            records,
            vec![
                json!({"line": 2, "at": "2026-11-20T09:01:30.000Z", "timer": ["flatline"]}),
                json!({"line": 3, "decision": "ignored", "rules": [], "excluded": [], "to": ["quiet"]}),
            ]
        );
        assert_eq!(s.matched, 0, "a heartbeat is no alerting match");
        assert_eq!((s.flatline_messages, s.recovered_messages), (1, 1));
    }

    /// Replays `lines` and returns what `check` prints: human, then JSON.
    fn written(config: Config, lines: &[String]) -> (String, Vec<Value>) {
        let input = lines.join("\n");
        let (mut human, mut json_out, mut err) = (Vec::new(), Vec::new(), Vec::new());
        let summary = replay(config, input.as_bytes(), 1 << 20, &mut |r| {
            write_human(&r, &mut human, &mut err).unwrap();
            write_json(&r, &mut json_out, &mut err).unwrap();
        })
        .unwrap();
        write_human_summary(&summary, &mut human).unwrap();
        write_json_summary(&summary, &mut json_out).unwrap();
        let records = String::from_utf8(json_out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (String::from_utf8(human).unwrap(), records)
    }

    #[test]
    fn app_mode_shows_each_incidents_lifecycle_in_event_time() {
        let config = config(json!({
            "slack_token": "xoxb-1-secretpart",
            "channel": "#alerts-%{[service.name]}",
            "fallback_channel": "#alerts",
            "dedup_window": "1m",
            "update_interval": "10s",
        }));
        let mut lines: Vec<String> = (0..15)
            .map(|s| error_at(&format!("2026-11-20T09:00:{s:02}Z"), "db down"))
            .collect();
        lines.push(error_at("2026-11-20T09:03:00Z", "disk full"));
        let (human, records) = written(config, &lines);
        assert!(!human.contains("secretpart"));
        let app_lines: Vec<&str> = human
            .lines()
            .filter(|l| l.starts_with("    incident") || !l.starts_with(' '))
            .filter(|l| !l.starts_with("line ") || l.starts_with("line 1:"))
            .take(10)
            .collect();
        assert_eq!(
            app_lines,
            [
                "line 1: ALERTED  ERROR: db down",
                "    incident 1: posted to #alerts-api",
                "2026-11-20 09:00:10 UTC, after line 10: UPDATE",
                "    incident 1: updated at 09:00:10 UTC to 10× · 🔁 Seen 10× · first 09:00:00 · last 09:00:09 UTC",
                "    incident 1: thread reply · 🔁 10× now",
                "2026-11-20 09:00:20 UTC, after line 15: UPDATE",
                "    incident 1: updated at 09:00:20 UTC to 15× · 🔁 Seen 15× · first 09:00:00 · last 09:00:14 UTC",
                "2026-11-20 09:01:00 UTC, after line 15: QUIET",
                "    incident 1: updated at 09:01:00 UTC to 15× · ✅ Quiet since 09:00:14 UTC · 15 events in 14s",
                "    incident 1: thread reply · ✅ Quiet since 09:00:14 UTC: 15 events in 14s.",
            ]
        );
        // The posted message as Slack shows it, its status line last.
        assert!(
            human.contains("        ▌ · 🔁 Seen 1× · first 09:00:00 · last 09:00:00 UTC\n"),
            "{human}"
        );
        assert!(human.contains("    incident 1: quiet · 15 events, final\n"));
        assert!(
            human.contains(
                "end of input (after line 16): STILL OPEN\n    incident 2: still open at end of input · 1 event\n"
            ),
            "{human}"
        );
        assert!(human.contains(
            "  messages      2 (2 alerts, 0 repeat reports, 0 summaries)\n  app mode      3 updates, 2 thread replies, 0 uploads\n"
        ));

        let first = &records[0];
        assert_eq!(first["decision"], "alerted");
        assert_eq!(first["messages"], json!([]));
        let posted = &first["slack_app"][0];
        assert_eq!(
            (
                &posted["step"],
                &posted["incident"],
                &posted["channel"],
                &posted["kind"]
            ),
            (
                &json!("posted"),
                &json!(1),
                &json!("#alerts-api"),
                &json!("alert")
            )
        );
        assert_eq!(posted["message"]["channel"], "#alerts-api");
        let steps: Vec<(String, Value, Value)> = records
            .iter()
            .filter(|r| r.get("timer").is_some())
            .flat_map(|r| r["slack_app"].as_array().cloned().unwrap_or_default())
            .map(|s| {
                (
                    s["step"].as_str().unwrap().to_string(),
                    s["count"].clone(),
                    s["phase"].clone(),
                )
            })
            .collect();
        let want = |step: &str, count: Value, phase: Value| (step.to_string(), count, phase);
        assert_eq!(
            steps,
            [
                want("update", json!(10), json!("open")),
                want("reply", Value::Null, Value::Null),
                want("update", json!(15), json!("open")),
                want("update", json!(15), json!("quiet")),
                want("reply", Value::Null, Value::Null),
                want("final", json!(15), Value::Null),
                want("final", json!(1), Value::Null),
            ]
        );
        let summary = &records.last().unwrap()["summary"];
        assert_eq!(
            (
                &summary["messages"],
                &summary["updates"],
                &summary["thread_replies"]
            ),
            (&json!(2), &json!(3), &json!(2))
        );
    }

    #[test]
    fn timestamps_are_written_in_utc() {
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_165_201_666)),
            "2026-11-20T09:00:01.666Z"
        );
    }
}
