//! Fleet-wide coordination (issue 16): one alert per incident across every node that shares a
//! `coordination_hosts` store, and the fleet's count in its repeat report.
//!
//! ```text
//! decision core ─▶ FleetOutbox ─┬─▶ coordinator queue ─▶ coordinator thread ─▶ sender queue
//!                               │    (bounded)            claims, flushes, reports (ES calls)
//!                               └─▶ sender queue (queue full, flatline notices, summaries)
//! ```
//!
//! - [`FleetOutbox`] ([`outbox`]): in front of each destination's sender queue. Incident
//!   intents (`Opened`, `Progress`, `Quiet`) go to the coordinator; when its queue is full they
//!   go straight to the sender (counted `coordination_fallbacks`). Never blocks.
//! - The coordinator ([`coordinator`]): the only thread that calls the store. It claims each
//!   opened incident (`rule name:fingerprint hash`), forwards to the sender what this node
//!   should say, flushes its repeats from the core's progress reports
//!   ([`FLUSH_INTERVAL`]), reports the fleet's count as owner after a grace, takes over
//!   incidents whose owner did not report, and deletes expired documents.
//! - [`health`]: while the store fails, every intent is decided node-locally; probes with
//!   backoff bring coordination back by itself.
//!
//! - Shared `Retry-After`: a coordinated webhook's sender records a 429's wait in its
//!   [`FleetPace`](crate::sender::FleetPace); the coordinator publishes it (`set_not_before`,
//!   the destination named `webhook:<hash of the URL>`, never the URL) and keeps the fleet's
//!   "not before" fresh (`pace`: before forwarding to the sender, at most a second old, and
//!   every second while the sender has something to post), which the sender waits out before
//!   each post. The sender never calls the store.
//!
//! Not coordinated yet: the pace itself (each node still posts at its own one a second), a
//! destination's `rate_limit`, the limits' summaries, flatline notices, and app mode's pace
//! and message ids.

pub(crate) mod coordinator;
pub(crate) mod health;
pub(crate) mod outbox;

use std::time::Duration;

pub(crate) use coordinator::{spawn, CoordinatorHandle};
pub(crate) use outbox::FleetOutbox;

/// How often a coordinated rule's open incidents flush their new repeats to the store (the
/// core's progress reports; app rules use their `update_interval`). A node that dies loses at
/// most what it counted in one such interval (and what its coordinator had queued).
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);

/// How often expired documents are deleted, by each node.
pub(crate) const EXPIRY_INTERVAL: Duration = Duration::from_secs(300);

/// How long documents are kept past an incident's end (lease included).
pub(crate) const KEEP_AFTER_END: Duration = Duration::from_secs(3600);
