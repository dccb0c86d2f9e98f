//! The documents in the index and the answers of the store's calls.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What the first node to see an incident writes when it claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimDoc {
    /// The claiming node: the only one that posts the incident's alerts while its lease holds.
    pub owner: String,
    /// The rule that matched.
    pub rule: String,
    /// The rule's group / fingerprint of the problem.
    pub key: String,
    /// Start of the dedup window the incident belongs to (epoch ms).
    pub window_start_ms: i64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// What the owner has seen so far, counted as its own in [`Incident::counts`].
    pub count: u64,
    /// Hosts the problem was seen on (kept to [`MAX_HOSTS`]).
    pub hosts: Vec<String>,
    /// Until then (epoch ms) no other node may take the incident over.
    pub lease_until_ms: i64,
    /// From then (epoch ms) [`Store::delete_expired`](crate::Store::delete_expired) deletes it.
    pub expires_at_ms: i64,
}

/// The most hosts an incident document keeps: a storm over a thousand hosts keeps the first ones.
pub const MAX_HOSTS: usize = 20;

/// An incident document as read back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Incident {
    pub owner: String,
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub key: String,
    #[serde(rename = "window_start", default)]
    pub window_start_ms: i64,
    #[serde(rename = "first_seen", default)]
    pub first_seen_ms: i64,
    #[serde(rename = "last_seen", default)]
    pub last_seen_ms: i64,
    /// The fleet's count: the sum of [`counts`](Self::counts).
    #[serde(default)]
    pub count: u64,
    /// What each node has added (the owner's claim count included), so that a node taking the
    /// incident over knows what the others flushed.
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(rename = "lease_until", default)]
    pub lease_until_ms: i64,
    #[serde(rename = "expires_at", default)]
    pub expires_at_ms: i64,
    /// The count the owner last reported ([`Store::mark_reported`](crate::Store::mark_reported)).
    #[serde(default)]
    pub reported_count: Option<u64>,
    #[serde(rename = "reported_at", default)]
    pub reported_at_ms: Option<i64>,
    /// Slack app mode: the incident's message, so any node can update it.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub ts: Option<String>,
}

/// A document with the sequence number and primary term it was read at, for a compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub doc: T,
    pub seq_no: u64,
    pub primary_term: u64,
}

/// The answer to [`Store::claim`](crate::Store::claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This call created the document: the caller owns the incident.
    Owned { seq_no: u64, primary_term: u64 },
    /// Another claim was first (`409`): the document as it is now.
    Taken {
        owner: String,
        seq_no: u64,
        primary_term: u64,
        doc: Box<Incident>,
    },
}

/// The answer to a compare-and-set ([`Store::take_over`](crate::Store::take_over)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    /// Written; the document's new sequence number and primary term.
    Done { seq_no: u64, primary_term: u64 },
    /// The document changed since it was read (`409`): nothing was written.
    Stale,
    /// There is no such document.
    Missing,
}

/// The answer to the calls only the owner may make (renew, release, mark reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerUpdate {
    Done,
    /// Another node owns the incident now: nothing was written.
    NotOwner,
    Missing,
}

/// A destination's fleet-wide pace.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pace {
    /// No node posts to the destination before then (epoch ms): the latest `Retry-After` any
    /// node was given. 0 when none was.
    pub not_before_ms: i64,
    /// The fleet's rate-limit bucket as the last token taken left it (`None`: none taken yet).
    pub tokens: Option<f64>,
    /// The slot after the last one reserved (epoch ms), 0 when none was.
    pub next_slot_ms: i64,
}
