//! The fleet's shared alerting state, in an index of the Elasticsearch (or OpenSearch) the
//! pipeline already writes to: which node owns an incident, what every node counted, the
//! incident's Slack message, and each destination's pace (a `Retry-After` any node was given,
//! a fleet-wide rate-limit counter). Issue 16's groundwork; the engine decides when to call it.
//!
//! ```no_run
//! use std::time::Duration;
//! use slack_alert_coordination::{Claim, ClaimDoc, Secret, Store, StoreSettings};
//!
//! let mut settings = StoreSettings::new(vec!["https://es1:9200".into(), "https://es2:9200".into()]);
//! settings.api_key = Some(Secret::new("id:api_key"));
//! settings.timeout = Duration::from_secs(2);
//! let store = Store::new(settings)?;
//! store.ensure_index()?;
//! let doc = ClaimDoc {
//!     owner: "node-a".into(), rule: "errors".into(), key: "db down".into(),
//!     window_start_ms: 0, first_seen_ms: 1, last_seen_ms: 1, count: 1,
//!     hosts: vec!["web-1".into()], lease_until_ms: 30_000, expires_at_ms: 3_600_000,
//! };
//! match store.claim("errors:db-down:0", &doc)? {
//!     Claim::Owned { .. } => { /* post the alert */ }
//!     Claim::Taken { owner, .. } => { /* count, and let `owner` post */ let _ = owner; }
//! }
//! # Ok::<(), slack_alert_coordination::StoreError>(())
//! ```
//!
//! # What it relies on
//!
//! Only document APIs that Elasticsearch 8.x and 9.x and OpenSearch 2.x serve alike (all of
//! them date from Elasticsearch 7.0, which OpenSearch forked at 7.10), JSON over HTTP(S):
//!
//! | call | API |
//! |---|---|
//! | [`Store::ensure_index`] | `HEAD /<index>`, `PUT /<index>` (`number_of_shards`, `auto_expand_replicas`, a typed mapping); `400 resource_already_exists_exception` is fine |
//! | [`Store::claim`] | `PUT /<index>/_create/<id>` (`201` / `409`), then `GET /<index>/_doc/<id>` |
//! | [`Store::add_counts`], [`Store::renew_lease`], [`Store::release`], [`Store::mark_reported`] | `POST /<index>/_update/<id>` with a painless `script`, `retry_on_conflict`, `_source=true`; `ctx.op = 'noop'`; `result` `updated`/`noop` |
//! | [`Store::get`], [`Store::pace`], [`Store::held`] | `GET /<index>/_doc/<id>`: `_seq_no`, `_primary_term`, `_source`, real-time |
//! | [`Store::take_over`] | `POST /<index>/_update/<id>?if_seq_no=&if_primary_term=` with a partial `doc` (`409` if stale) |
//! | [`Store::set_message`] | `POST /<index>/_update/<id>` with a partial `doc` |
//! | [`Store::set_not_before`], [`Store::take_token`], [`Store::reserve_slot`], [`Store::add_held`], [`Store::drain_held`] | `POST /<index>/_update/<id>` with `scripted_upsert` and a painless script |
//! | [`Store::delete_expired`] | `POST /<index>/_delete_by_query?conflicts=proceed`, a `range` query on the `expires_at` date |
//!
//! The integration tests (`tests/opensearch.rs`) run them against a real OpenSearch 2.19.6
//! node (Maven Central's jars, `java-shim/opensearch-fixture`); no Elasticsearch distribution
//! is reachable from the test machines, so against Elasticsearch 8/9 the calls rest on those
//! APIs being documented the same there, not on a test. Privileges an API key needs on the
//! index: `create_index` (or an index created beforehand), `read`, `write`, `delete`.
//!
//! # Failures
//!
//! Every call is bounded by [`StoreSettings::timeout`] in total, connection to last byte,
//! across every host it tries; answers are read up to [`MAX_BODY_BYTES`]. Hosts are tried in
//! order from the last one that answered; a host that fails is tried last next time. What is
//! not an answer the call can act on is a [`StoreError`]: `Unreachable`, `Timeout`,
//! `Refused { status }` (401/403 are not failed over, since every host has the same users;
//! 429 and 5xx are), `Nonsense` (not Elasticsearch's JSON), `TooLarge`. Their `Display` never
//! shows a credential. Requests that may be sent twice (to the next host after a timeout) are
//! made harmless: a claim and a flush carry an id of their own that the document remembers;
//! [`Store::take_token`] alone is never sent twice.

mod error;
mod held;
mod model;
mod requests;
mod settings;
mod store;
mod transport;

pub use error::StoreError;
pub use held::{HeldCounts, MAX_HELD_LABELS};
pub use model::{Cas, Claim, ClaimDoc, Incident, OwnerUpdate, Pace, Versioned, MAX_HOSTS};
pub use settings::{Secret, StoreSettings, DEFAULT_INDEX, DEFAULT_PORT, DEFAULT_TIMEOUT};
pub use store::Store;
pub use transport::MAX_BODY_BYTES;
