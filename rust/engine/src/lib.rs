//! The slack_alert engine: everything that decides *whether* and *what* to
//! send to Slack, once, for both the Logstash plugin (through the JNI
//! library) and the `slack-alert` sidecar.
//!
//! The data path runs one way:
//!
//! ```text
//! event ─▶ Matcher (level) ─▶ RuleSet: conditions, fingerprint ─▶ verdict (Decision)
//!                                 │ dedup window, threshold, limiter
//!                                 ▼
//!                             intents (opened, quiet, silent, recovered, held back)
//!                                 │ bounded queue per destination
//!                                 ▼
//!          sender thread: destination::render ─▶ request ─▶ Slack / JSON webhook
//! ```
//!
//! - [`Matcher`]: level matching over batches, no allocation per event.
//! - [`Fingerprinter`] and the dedup window: one incident per problem per
//!   `dedup_window`, repeats counted and reported when the window closes.
//! - The limiter: a token bucket per destination; what it holds back is
//!   summarised.
//! - [`RuleSet`] and [`Alerter`]: the decision core on an injected clock.
//!   No I/O, no rendering: it answers with a [`Decision`] and puts
//!   [`Intent`]s in an [`Outbox`].
//! - [`destination`]: per destination, the limiter and its summary, the
//!   renderer that turns intents into request bodies, and the [`sender`]
//!   thread that renders, paces, posts and retries outside the engine's
//!   lock.
//! - [`Engine`]: all of it running, with its threads.
//!
//! ```
//! use std::sync::Arc;
//! use serde_json::json;
//! use slack_alert_engine::{BufferedLog, Config, Decision, Engine};
//!
//! let config = Config::from_json(r#"{"dry_run": true, "levels": ["ERROR"]}"#).unwrap();
//! let log = Arc::new(BufferedLog::new(16));
//! let engine = Engine::start(config, log.clone()).unwrap();
//! assert!(engine.matcher().match_raw(b"error").is_some());
//! let event = engine.event_from_json(&json!({"log.level": "ERROR", "message": "disk full"}));
//! assert_eq!(engine.submit(&event), Decision::Alerted);
//! engine.shutdown();
//! assert!(log.drain().iter().any(|(_, line)| line.contains("disk full")));
//! ```

// Most modules are private; their docs still point at one another, for
// readers of `cargo doc --document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

mod alerter;
mod clock;
mod conditions;
pub mod config;
mod contain;
mod counters;
pub mod destination;
mod engine;
mod event;
mod fingerprint;
mod flatline;
mod fleet;
mod hash;
mod intent;
mod level;
mod limiter;
mod log;
mod matcher;
mod normalize;
pub mod query;
mod rules;
pub mod slack_error;
#[cfg(test)]
mod test_support;
mod threshold;
mod window;

pub use alerter::{Alerter, Decision};
pub use clock::{Clock, ManualClock, Now};
pub use config::{
    Config, ConfigError, Destination, DestinationKind, RuleConfig, RuleKind, Webhook,
};
pub use contain::EngineThread;
pub use counters::{
    CounterDoc, Counters, COUNTER_DOCS, COUNTER_NAMES, RULE_COUNTER_DOCS, RULE_COUNTER_NAMES,
};
pub use destination::sender;
pub use engine::{Engine, EngineOptions, ShutdownReport, StartError};
pub use event::{EventShape, MatchedEvent, MAX_VALUE_CHARS};
pub use fingerprint::{Fingerprint, Fingerprinter};
pub use intent::{
    Closing, HeldBack, Incident, IncidentId, Intent, MessageKind, Milestone, Outbox, Outgoing,
    Progress, Reached, Spread,
};
pub use level::Level;
pub use log::{BufferedLog, LogLevel, LogSink, StderrLog};
pub use matcher::{Candidacy, Matcher};
pub use rules::RuleSet;

// For the benchmarks and the fuzz targets, which drive these pieces alone.
pub use flatline::Flatline;
pub use fleet::FLUSH_INTERVAL;
pub use normalize::normalize_first_line;
pub use threshold::Threshold;
