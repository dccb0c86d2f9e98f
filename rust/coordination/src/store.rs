//! [`Store`]: the calls, each one or two HTTP requests bounded by the timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::held::{self, HeldCounts};
use crate::model::{Cas, Claim, ClaimDoc, Incident, OwnerUpdate, Pace, Versioned};
use crate::requests::{self as rq, Created, OwnerCall};
use crate::transport::{Retry, Transport};
use crate::{StoreError, StoreSettings};

/// How often a claim that finds the document gone between its `409` and its read tries again.
const CLAIM_ATTEMPTS: usize = 3;
/// How often a scripted update whose `retry_on_conflict` ran out is sent again.
const CONFLICT_ATTEMPTS: usize = 3;

/// The fleet's shared state in one index. `Sync`: share one per node between threads.
///
/// Every call is blocking and bounded by [`StoreSettings::timeout`] in total, failing over
/// between the hosts in order; none retries beyond that. Call them off the pipeline's threads.
pub struct Store {
    transport: Transport,
    index: String,
    /// Unique per `Store`: claims and flushes carry it, so that a request sent again (to the
    /// next host after a timeout) is recognised instead of counted twice.
    nonce: String,
    sequence: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Checks the settings (hosts, index name, credentials, timeout) and sets up the client.
    /// Sends nothing.
    pub fn new(settings: StoreSettings) -> Result<Store, StoreError> {
        let (transport, index) = Transport::new(&settings)?;
        Ok(Store {
            transport,
            index,
            nonce: nonce(),
            sequence: AtomicU64::new(0),
        })
    }

    /// The index name.
    pub fn index(&self) -> &str {
        &self.index
    }

    /// Creates the index with its mapping if it is missing (`PUT <index>`); true if this call
    /// created it. An index another node created first is fine.
    pub fn ensure_index(&self) -> Result<bool, StoreError> {
        let deadline = self.transport.deadline();
        let head =
            self.transport
                .send(&rq::index_exists_request(&self.index), Retry::Any, deadline);
        if let Ok(answer) = &head {
            if rq::parse_index_exists(answer) == Some(true) {
                return Ok(false);
            }
        }
        let answer =
            self.transport
                .send(&rq::create_index_request(&self.index), Retry::Any, deadline)?;
        rq::parse_create_index(&answer)
    }

    /// Claims incident `id` (`PUT <index>/_create/incident:<id>`): [`Claim::Owned`] if this call
    /// created it, else [`Claim::Taken`] with the document as it is. A `_create` answered
    /// `409` because an earlier attempt of this same call landed (its answer lost) is `Owned`.
    pub fn claim(&self, id: &str, doc: &ClaimDoc) -> Result<Claim, StoreError> {
        let deadline = self.transport.deadline();
        let nonce = self.next_id();
        let request = rq::claim_request(&self.index, id, doc, &nonce)?;
        let doc_id = rq::incident_id(id)?;
        let mut host = String::new();
        for _ in 0..CLAIM_ATTEMPTS {
            let answer = self.transport.send(&request, Retry::Any, deadline)?;
            host.clone_from(&answer.host);
            if let Created::Yes {
                seq_no,
                primary_term,
            } = rq::parse_claim(&answer)?
            {
                return Ok(Claim::Owned {
                    seq_no,
                    primary_term,
                });
            }
            let read = self.transport.send(
                &rq::get_request(&self.index, &doc_id),
                Retry::Any,
                deadline,
            )?;
            if let Some((source, seq_no, primary_term)) = rq::parse_get(&read)? {
                if source["claim"] == nonce.as_str() {
                    return Ok(Claim::Owned {
                        seq_no,
                        primary_term,
                    });
                }
                let doc: Incident =
                    serde_json::from_value(source).map_err(|e| StoreError::Nonsense {
                        host: read.host.clone(),
                        reason: format!("an incident document that does not read ({e})"),
                    })?;
                return Ok(Claim::Taken {
                    owner: doc.owner.clone(),
                    seq_no,
                    primary_term,
                    doc: Box::new(doc),
                });
            }
            // Deleted (expired) between the 409 and the read: claim it again.
        }
        Err(StoreError::Refused {
            host,
            status: 409,
            reason: format!(
                "incident {id:?} was created and deleted {CLAIM_ATTEMPTS} times during the claim"
            ),
        })
    }

    /// Adds `delta` to `node`'s count and the fleet's, moves `last_seen` forward to
    /// `last_seen_ms` and adds `hosts` (scripted `_update`, `retry_on_conflict`). Answers the
    /// document after the update, or `None` if there is no such incident (expired, never claimed).
    /// Sent again after a timeout, it is applied once.
    pub fn add_counts(
        &self,
        id: &str,
        node: &str,
        delta: u64,
        last_seen_ms: i64,
        hosts: &[String],
    ) -> Result<Option<Versioned<Incident>>, StoreError> {
        let deadline = self.transport.deadline();
        let flush = self.next_id();
        let request =
            rq::add_counts_request(&self.index, id, node, delta, last_seen_ms, hosts, &flush)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = self.transport.send(&request, Retry::Any, deadline)?;
            match rq::parse_add_counts(&answer) {
                Err(e) if e.status() == Some(409) && attempt < CONFLICT_ATTEMPTS => continue,
                other => return other,
            }
        }
    }

    /// Incident `id` with its `_seq_no` and `_primary_term`, or `None`. Real-time: sees every
    /// write acknowledged before it.
    pub fn get(&self, id: &str) -> Result<Option<Versioned<Incident>>, StoreError> {
        let deadline = self.transport.deadline();
        let answer = self.transport.send(
            &rq::get_request(&self.index, &rq::incident_id(id)?),
            Retry::Any,
            deadline,
        )?;
        rq::parse_get_incident(&answer)
    }

    /// Makes `new_owner` the owner until `lease_until_ms` if the document is still at
    /// `seq_no`/`primary_term` (as [`get`](Self::get) read it): [`Cas::Stale`] if anyone wrote
    /// it since, counts included, so read again and decide again.
    pub fn take_over(
        &self,
        id: &str,
        new_owner: &str,
        lease_until_ms: i64,
        seq_no: u64,
        primary_term: u64,
    ) -> Result<Cas, StoreError> {
        let request = rq::take_over_request(
            &self.index,
            id,
            new_owner,
            lease_until_ms,
            seq_no,
            primary_term,
        )?;
        rq::parse_cas(
            &self
                .transport
                .send(&request, Retry::Any, self.transport.deadline())?,
        )
    }

    /// Starts incident `id` over as a new claim by `doc.owner` if the document is still at
    /// `seq_no`/`primary_term`: for an incident that ended (reported, or its owner's lease ran
    /// out) whose id a new window needs. [`Cas::Stale`]: someone wrote it since (another node
    /// reopened it first, say): claim again. Sent once past a connection (a repeat would be
    /// `Stale` against its own write).
    pub fn reopen(
        &self,
        id: &str,
        doc: &ClaimDoc,
        seq_no: u64,
        primary_term: u64,
    ) -> Result<Cas, StoreError> {
        let nonce = self.next_id();
        let request = rq::reopen_request(&self.index, id, doc, &nonce, seq_no, primary_term)?;
        rq::parse_cas(&self.transport.send(
            &request,
            Retry::ConnectOnly,
            self.transport.deadline(),
        )?)
    }

    /// Records the report of `count` at `at_ms` if the document is still at
    /// `seq_no`/`primary_term` (as the reporting owner read it): [`Cas::Stale`] if a count (or
    /// anything) landed since, so read again and report that. Any add after a `Done` answers
    /// the document with `reported_count` set: its node knows the report missed it.
    pub fn mark_reported_if(
        &self,
        id: &str,
        count: u64,
        at_ms: i64,
        seq_no: u64,
        primary_term: u64,
    ) -> Result<Cas, StoreError> {
        let request =
            rq::mark_reported_if_request(&self.index, id, count, at_ms, seq_no, primary_term)?;
        rq::parse_cas(
            &self
                .transport
                .send(&request, Retry::Any, self.transport.deadline())?,
        )
    }

    /// The owner extends its lease to `lease_until_ms` (never shortens it).
    pub fn renew_lease(
        &self,
        id: &str,
        owner: &str,
        lease_until_ms: i64,
    ) -> Result<OwnerUpdate, StoreError> {
        self.owner_call(id, owner, OwnerCall::Renew { lease_until_ms })
    }

    /// The owner gives the incident up (its lease ends now), e.g. when its node shuts down, so
    /// another node takes it over without waiting for the lease.
    pub fn release(&self, id: &str, owner: &str) -> Result<OwnerUpdate, StoreError> {
        self.owner_call(id, owner, OwnerCall::Release)
    }

    /// The owner records that it reported `count` at `at_ms`.
    pub fn mark_reported(
        &self,
        id: &str,
        owner: &str,
        count: u64,
        at_ms: i64,
    ) -> Result<OwnerUpdate, StoreError> {
        self.owner_call(id, owner, OwnerCall::MarkReported { count, at_ms })
    }

    fn owner_call(
        &self,
        id: &str,
        owner: &str,
        call: OwnerCall,
    ) -> Result<OwnerUpdate, StoreError> {
        let request = rq::owner_request(&self.index, id, owner, call)?;
        rq::parse_owner_update(&self.transport.send(
            &request,
            Retry::Any,
            self.transport.deadline(),
        )?)
    }

    /// Slack app mode: records the incident's message (`channel`, `ts`), so that any node can
    /// update it. False if there is no such incident.
    pub fn set_message(&self, id: &str, channel: &str, ts: &str) -> Result<bool, StoreError> {
        let request = rq::set_message_request(&self.index, id, channel, ts)?;
        rq::parse_set_message(&self.transport.send(
            &request,
            Retry::Any,
            self.transport.deadline(),
        )?)
    }

    /// A destination's fleet-wide pace (all zero if no node wrote one). `destination` is a name
    /// the caller chooses; never the webhook URL, which is a secret.
    pub fn pace(&self, destination: &str) -> Result<Pace, StoreError> {
        let deadline = self.transport.deadline();
        let answer = self.transport.send(
            &rq::get_request(&self.index, &rq::pace_id(destination)?),
            Retry::Any,
            deadline,
        )?;
        rq::parse_pace(&answer)
    }

    /// Tells the fleet not to post to `destination` before `not_before_ms` (a `Retry-After`);
    /// the later of this and what the document held is kept and answered.
    pub fn set_not_before(&self, destination: &str, not_before_ms: i64) -> Result<i64, StoreError> {
        let request = rq::set_not_before_request(&self.index, destination, not_before_ms)?;
        rq::parse_set_not_before(&self.transport.send(
            &request,
            Retry::Any,
            self.transport.deadline(),
        )?)
    }

    /// Takes a token of the fleet's bucket for `destination` (`burst` tokens, refilled at
    /// `per_minute`, as each node's own bucket): false when it is empty. Not sent again after
    /// it may have arrived (a token could be taken twice), so a timeout is an error the caller
    /// decides on.
    pub fn take_token(
        &self,
        destination: &str,
        now_ms: i64,
        per_minute: u32,
        burst: u32,
    ) -> Result<bool, StoreError> {
        let request = rq::take_token_request(&self.index, destination, now_ms, per_minute, burst)?;
        rq::parse_take_token(&self.transport.send(
            &request,
            Retry::ConnectOnly,
            self.transport.deadline(),
        )?)
    }

    /// Reserves the fleet's next slot to post to `destination` (epoch ms): slots are
    /// `spacing_ms` apart across the fleet and never before its `not_before`. A slot lost with
    /// its answer is only a gap, so it is sent again like a read.
    pub fn reserve_slot(
        &self,
        destination: &str,
        now_ms: i64,
        spacing_ms: i64,
    ) -> Result<i64, StoreError> {
        let request = rq::reserve_slot_request(&self.index, destination, now_ms, spacing_ms)?;
        rq::parse_reserve_slot(&self.transport.send(
            &request,
            Retry::Any,
            self.transport.deadline(),
        )?)
    }

    /// Adds what this node's share of the fleet's rate limit held back to `destination`'s
    /// fleet summary. Not sent again after it may have arrived (it would count twice).
    pub fn add_held(
        &self,
        destination: &str,
        counts: &HeldCounts,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let request = held::add_held_request(&self.index, destination, counts, now_ms)?;
        held::parse_add_held(&self.transport.send(
            &request,
            Retry::ConnectOnly,
            self.transport.deadline(),
        )?)
    }

    /// `destination`'s fleet summary as it stands (empty when none).
    pub fn held(&self, destination: &str) -> Result<HeldCounts, StoreError> {
        let deadline = self.transport.deadline();
        let answer = self.transport.send(
            &held::held_get_request(&self.index, destination)?,
            Retry::Any,
            deadline,
        )?;
        held::parse_held(&answer)
    }

    /// Takes everything `destination`'s fleet summary holds, for this caller alone to post:
    /// `None` when it was empty. `drainer` names this one drain (unique across the fleet, e.g.
    /// [`Store::drainer_id`]); sent again with the same name it answers the same drain.
    pub fn drain_held(
        &self,
        destination: &str,
        drainer: &str,
    ) -> Result<Option<HeldCounts>, StoreError> {
        let request = held::drain_held_request(&self.index, destination, drainer)?;
        held::parse_drain_held(
            &self
                .transport
                .send(&request, Retry::Any, self.transport.deadline())?,
            drainer,
        )
    }

    /// A name for one drain, unique across the fleet and restarts.
    pub fn drainer_id(&self) -> String {
        self.next_id()
    }

    /// Deletes every document whose `expires_at` is before `now_ms` (`_delete_by_query`);
    /// answers how many. Searches see a write about a second after it (the refresh), so a
    /// document that expired in that second goes at the next call.
    pub fn delete_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        let deadline = self.transport.deadline();
        let answer = self.transport.send(
            &rq::delete_expired_request(&self.index, now_ms),
            Retry::Any,
            deadline,
        )?;
        rq::parse_delete_expired(&answer)
    }

    fn next_id(&self) -> String {
        format!(
            "{}-{:x}",
            self.nonce,
            self.sequence.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Unique enough across the fleet and restarts: the process, the time to the nanosecond and a
/// randomly keyed hash.
fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    format!("{:x}{:x}", std::process::id(), hasher.finish())
}
