//! What the decision core wants said: intents about incidents.
//!
//! The core ([`crate::RuleSet`], [`crate::Alerter`]) decides on an event or a
//! timer tick and answers with intents; it renders nothing and posts
//! nothing. An [`Outgoing`] carries one intent, with the events it accounts
//! for, to the queue of its destination, whose sender thread renders it
//! ([`crate::destination`]) outside the engine's lock and delivers it.
//!
//! An **incident** is one rule × one problem (a fingerprint, or a flatline
//! rule's group): it opens with a first event, counts repeats while its
//! dedup window is open and goes quiet when the window closes. A webhook can
//! only post, so it says "opened" and "quiet"; a destination that can edit
//! a message it posted (Slack's Web API) can keep one message per incident
//! current from the same intents.

use std::time::{Duration, SystemTime};

use crate::event::MatchedEvent;
use crate::level::Level;

/// Which incident an intent is about: stable for as long as the incident
/// is tracked, so a destination can key what it posted by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IncidentId {
    /// Index of the rule (into `Config::rules`).
    pub rule: usize,
    /// The fingerprint's hash (alert rules) or the group's (flatline rules).
    pub key: u64,
}

/// One rule's problem, as far as the decision core tracked it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    pub id: IncidentId,
    /// The fingerprint's label (event data: escaped when shown).
    pub label: String,
    pub level: Level,
    /// The service of the first event, if it named one.
    pub service: Option<String>,
    /// When the first event was seen.
    pub first_seen: SystemTime,
    /// Events seen: 1 when it opens; at quiet and in progress, the repeats
    /// after the first.
    pub count: u64,
    /// When the latest of them was seen (the first, when it opens).
    pub last_seen: SystemTime,
}

/// Why an incident's window closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closing {
    /// `dedup_window` passed: the problem went quiet.
    Quiet,
    /// Shutdown closed it while it was still open.
    Shutdown,
    /// Pushed out of a full table (`max_tracked`) while still open.
    Evicted,
}

/// How far an open incident has spread, as far as the engine counted
/// (distinct values, exact up to [`Spread::MAX`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spread {
    pub hosts: u32,
    pub services: u32,
}

impl Spread {
    /// Distinct hosts (or services) counted exactly per incident; beyond it
    /// a status says "1,000+".
    pub const MAX: u32 = 1000;
}

/// A moment worth a reply in an incident's thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Milestone {
    /// The incident reached this many events (10, 100, 1,000, …).
    Count(u64),
    /// It now also logs from this host (event data: escaped when shown).
    NewHost(String),
    NewService(String),
}

/// An open incident's news since its last progress: what a destination
/// that edits its message (app mode) shows while the incident repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Repeats since the previous progress (or since it opened).
    pub new_repeats: u64,
    pub spread: Spread,
    pub milestones: Vec<Milestone>,
}

/// Why a threshold rule's incident opened: `count` events within `within`,
/// in `group` (the `group_by` reference and the group's value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reached {
    pub count: u64,
    pub within: Duration,
    pub group: Option<(String, String)>,
}

/// What one destination's limits held back since `since`, said in one
/// summary. Events are those it accounts for; `undelivered` were already
/// accounted for by messages that failed; evictions and notices are no
/// events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldBack {
    /// Alerts over the rate limit.
    pub suppressed: u64,
    /// Flatline and recovery notices over the rate limit.
    pub notices: u64,
    pub repeats: u64,
    pub dropped: u64,
    pub undelivered: u64,
    pub evicted: u64,
    /// The most frequent labels with their counts, most first.
    pub top: Vec<(String, u64)>,
    /// The rules whose events or notices are in it, ascending; the first
    /// speaks for the summary.
    pub rules: Vec<usize>,
    pub since: SystemTime,
}

/// What the decision core wants said. The large parts are boxed: a
/// message moves through a bounded queue and back out of a full one.
#[derive(Clone, Debug)]
pub enum Intent {
    /// An incident opened: its first event (every field a message may show)
    /// gets a message of its own. `reached` is set for a threshold rule.
    Opened {
        incident: Box<Incident>,
        event: MatchedEvent,
        reached: Option<Box<Reached>>,
    },
    /// An incident's window closed after `incident.count` repeats.
    Quiet {
        incident: Box<Incident>,
        closing: Closing,
        spread: Spread,
    },
    /// An open incident repeated (app mode only, at most once per
    /// `update_interval`): no events of its own; its repeats are accounted
    /// for by its `Quiet`.
    Progress {
        incident: Box<Incident>,
        progress: Box<Progress>,
    },
    /// A flatline rule's group has not logged since `last_seen`.
    Silent {
        rule: usize,
        group: String,
        last_seen: SystemTime,
    },
    /// A silent group logs again, after `after` of silence.
    Recovered {
        rule: usize,
        group: String,
        after: Duration,
        last_seen: SystemTime,
    },
    /// What the destination's limits held back.
    HeldBack(Box<HeldBack>),
}

/// Which kind of message an [`Outgoing`] becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Alert,
    Repeat,
    Summary,
    /// A flatline rule's group went silent.
    Flatline,
    /// A silent group logs again.
    Recovered,
    /// An open incident's live status (app mode).
    Progress,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Alert => "alert",
            MessageKind::Repeat => "repeat",
            MessageKind::Summary => "summary",
            MessageKind::Flatline => "flatline",
            MessageKind::Recovered => "recovered",
            MessageKind::Progress => "progress",
        }
    }
}

impl Intent {
    /// The kind of message it becomes.
    pub fn kind(&self) -> MessageKind {
        match self {
            Intent::Opened { .. } => MessageKind::Alert,
            Intent::Quiet { .. } => MessageKind::Repeat,
            Intent::Silent { .. } => MessageKind::Flatline,
            Intent::Recovered { .. } => MessageKind::Recovered,
            Intent::Progress { .. } => MessageKind::Progress,
            Intent::HeldBack(_) => MessageKind::Summary,
        }
    }
}

/// An intent on its way to a destination, with what it accounts for.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub intent: Intent,
    /// How many matched events this message accounts for.
    pub events: u64,
    /// Undelivered events from earlier failures that this (summary) message
    /// reports; handed back if it fails too.
    pub undelivered: u64,
    /// Index of the rule that sent it (into `Config::rules`).
    pub rule: usize,
    /// Index of its destination (into `Config::destinations`): which
    /// sender renders and posts it.
    pub destination: usize,
}

impl Outgoing {
    /// The kind of message it becomes.
    pub fn kind(&self) -> MessageKind {
        self.intent.kind()
    }
}

/// Where the decision core puts intents. Offering never blocks: a full
/// outbox gives the message back.
pub trait Outbox {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing>;

    /// Returns false when an offer would surely be refused, so that the
    /// core need not capture an event's fields for nothing (a storm against
    /// a stalled Slack).
    fn has_room(&self) -> bool {
        true
    }
}

/// Collects messages (the sidecar's replay, tests).
impl Outbox for Vec<Outgoing> {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
        self.push(message);
        Ok(())
    }
}

#[cfg(test)]
impl Outgoing {
    /// An alert of rule 0 for `destination`, accounting for `events`,
    /// about an event whose only field is `message`.
    pub(crate) fn test_alert(destination: usize, events: u64, message: &str) -> Outgoing {
        Outgoing {
            intent: Intent::Opened {
                incident: Box::new(Incident {
                    id: IncidentId { rule: 0, key: 1 },
                    label: "ERROR x".into(),
                    level: Level::Error,
                    service: None,
                    first_seen: SystemTime::UNIX_EPOCH,
                    count: 1,
                    last_seen: SystemTime::UNIX_EPOCH,
                }),
                event: MatchedEvent::capture(
                    &crate::event::EventShape::new(vec!["[message]".into()]),
                    &serde_json::json!({ "message": message }),
                ),
                reached: None,
            },
            events,
            undelivered: 0,
            rule: 0,
            destination,
        }
    }
}
