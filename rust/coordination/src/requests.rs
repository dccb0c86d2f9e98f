//! Each call's request and how its answer is read: no I/O here, so all of it is unit-tested.
//!
//! Document ids: an incident `ID` is stored as `incident:ID`, a destination `D`'s pace as
//! `pace:D`, so the two kinds never collide. Every document carries `kind` and `expires_at`.

use serde_json::{json, Value};

use crate::model::{Cas, ClaimDoc, Incident, OwnerUpdate, Pace, Versioned, MAX_HOSTS};
use crate::transport::{refused, Answer, Method, Request};
use crate::StoreError;

/// The version of the documents' layout, in each document as `schema`.
pub(crate) const SCHEMA: u32 = 1;
/// `retry_on_conflict` of the scripted updates: enough for a fleet flushing one incident at once.
pub(crate) const RETRY_ON_CONFLICT: u32 = 20;
/// How many recent flush ids a node's entry keeps, which makes a resent `add_counts` a no-op.
pub(crate) const REMEMBERED_FLUSHES: u32 = 16;
/// How long a pace document outlives its last `not_before` or interval (ms).
pub(crate) const PACE_TTL_MS: i64 = 24 * 3600 * 1000;
/// Longest id accepted (Elasticsearch's `_id` is at most 512 bytes; the prefix takes some).
pub(crate) const MAX_ID_BYTES: usize = 480;

/// The index: one shard (the data is small), a replica whenever the cluster has a second data
/// node (`auto_expand_replicas` 0-1: green on one node, and on more it survives losing one).
/// `dynamic: false` keeps unknown fields in `_source` unindexed: node names in `counts` never
/// become mapped fields.
pub(crate) fn index_body() -> Value {
    let keyword = json!({"type": "keyword"});
    let date = json!({"type": "date", "format": "epoch_millis"});
    let long = json!({"type": "long"});
    let unindexed = json!({"type": "object", "enabled": false});
    json!({
        "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}},
        "mappings": {
            "dynamic": false,
            "properties": {
                "schema": {"type": "integer"},
                "kind": keyword, "owner": keyword, "claim": keyword, "rule": keyword, "key": keyword,
                "hosts": keyword, "channel": keyword, "ts": keyword, "destination": keyword,
                "window_start": date, "first_seen": date, "last_seen": date, "lease_until": date,
                "reported_at": date, "not_before": date, "expires_at": date,
                "count": long, "reported_count": long,
                "counts": unindexed, "flushes": unindexed,
            }
        }
    })
}

/// Percent-encodes one path segment (everything but RFC 3986's unreserved characters).
pub(crate) fn segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn incident_id(id: &str) -> Result<String, StoreError> {
    checked_id("incident", id)
}

pub(crate) fn pace_id(destination: &str) -> Result<String, StoreError> {
    checked_id("pace", destination)
}

pub(crate) fn checked_id(kind: &str, id: &str) -> Result<String, StoreError> {
    if id.is_empty() {
        return Err(StoreError::Invalid(format!("an empty {kind} id")));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(StoreError::Invalid(format!(
            "a {kind} id of {} bytes (at most {MAX_ID_BYTES})",
            id.len()
        )));
    }
    Ok(format!("{kind}:{id}"))
}

pub(crate) fn doc_path(index: &str, endpoint: &str, doc_id: &str, query: &str) -> String {
    let mut path = format!("/{}/{endpoint}/{}", segment(index), segment(doc_id));
    if !query.is_empty() {
        path.push('?');
        path.push_str(query);
    }
    path
}

pub(crate) fn nonsense(answer: &Answer, what: &str) -> StoreError {
    StoreError::Nonsense {
        host: answer.host.clone(),
        reason: format!("a {} answer without {what}", answer.status),
    }
}

fn versions(answer: &Answer, body: &Value) -> Result<(u64, u64), StoreError> {
    match (body["_seq_no"].as_u64(), body["_primary_term"].as_u64()) {
        (Some(seq_no), Some(primary_term)) => Ok((seq_no, primary_term)),
        _ => Err(nonsense(answer, "_seq_no and _primary_term")),
    }
}

fn incident_from(answer: &Answer, source: &Value) -> Result<Incident, StoreError> {
    Incident::deserialize_from(source).map_err(|e| StoreError::Nonsense {
        host: answer.host.clone(),
        reason: format!("an incident document that does not read ({e})"),
    })
}

impl Incident {
    fn deserialize_from(source: &Value) -> Result<Incident, serde_json::Error> {
        serde::Deserialize::deserialize(source)
    }
}

// ---- ensure_index ----

pub(crate) fn index_exists_request(index: &str) -> Request {
    Request {
        method: Method::Head,
        path: format!("/{}", segment(index)),
        body: None,
    }
}

/// HEAD: `Some(true)` exists, `Some(false)` missing, `None` undecided (e.g. HEAD not allowed:
/// creating it will tell).
pub(crate) fn parse_index_exists(answer: &Answer) -> Option<bool> {
    match answer.status {
        200 => Some(true),
        404 => Some(false),
        _ => None,
    }
}

pub(crate) fn create_index_request(index: &str) -> Request {
    Request {
        method: Method::Put,
        path: format!("/{}", segment(index)),
        body: Some(index_body()),
    }
}

/// True if this call created the index; an index that already exists is fine.
pub(crate) fn parse_create_index(answer: &Answer) -> Result<bool, StoreError> {
    match answer.status {
        200 | 201 => Ok(true),
        400 if answer.body["error"]["type"] == "resource_already_exists_exception" => Ok(false),
        _ => Err(refused(answer)),
    }
}

// ---- incidents ----

pub(crate) fn claim_request(
    index: &str,
    id: &str,
    doc: &ClaimDoc,
    nonce: &str,
) -> Result<Request, StoreError> {
    let doc_id = incident_id(id)?;
    let hosts: Vec<&String> = doc.hosts.iter().take(MAX_HOSTS).collect();
    let body = json!({
        "schema": SCHEMA,
        "kind": "incident",
        "owner": doc.owner,
        "claim": nonce,
        "rule": doc.rule,
        "key": doc.key,
        "window_start": doc.window_start_ms,
        "first_seen": doc.first_seen_ms,
        "last_seen": doc.last_seen_ms,
        "count": doc.count,
        "counts": {doc.owner.as_str(): doc.count},
        "flushes": {},
        "hosts": hosts,
        "lease_until": doc.lease_until_ms,
        "expires_at": doc.expires_at_ms,
    });
    Ok(Request {
        method: Method::Put,
        path: doc_path(index, "_create", &doc_id, ""),
        body: Some(body),
    })
}

/// What a `_create` answered: created, or taken (`409`) and to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Created {
    Yes { seq_no: u64, primary_term: u64 },
    Exists,
}

pub(crate) fn parse_claim(answer: &Answer) -> Result<Created, StoreError> {
    match answer.status {
        200 | 201 => {
            let (seq_no, primary_term) = versions(answer, &answer.body)?;
            Ok(Created::Yes {
                seq_no,
                primary_term,
            })
        }
        409 => Ok(Created::Exists),
        _ => Err(refused(answer)),
    }
}

pub(crate) fn get_request(index: &str, doc_id: &str) -> Request {
    Request {
        method: Method::Get,
        path: doc_path(index, "_doc", doc_id, ""),
        body: None,
    }
}

/// A GET: the document and its versions, or `None` if there is none (or no index).
pub(crate) fn parse_get(answer: &Answer) -> Result<Option<(Value, u64, u64)>, StoreError> {
    match answer.status {
        200 if answer.body["found"] == true => {
            let (seq_no, primary_term) = versions(answer, &answer.body)?;
            let source = answer
                .body
                .get("_source")
                .filter(|s| s.is_object())
                .ok_or_else(|| nonsense(answer, "_source"))?;
            Ok(Some((source.clone(), seq_no, primary_term)))
        }
        200 if answer.body["found"] == false => Ok(None),
        404 => Ok(None),
        200 => Err(nonsense(answer, "found")),
        _ => Err(refused(answer)),
    }
}

pub(crate) fn parse_get_incident(
    answer: &Answer,
) -> Result<Option<Versioned<Incident>>, StoreError> {
    match parse_get(answer)? {
        Some((source, seq_no, primary_term)) => Ok(Some(Versioned {
            doc: incident_from(answer, &source)?,
            seq_no,
            primary_term,
        })),
        None => Ok(None),
    }
}

/// Adds to the node's count and the fleet's, moves `last_seen` forward, adds hosts; a no-op if
/// the node's recent flushes hold this flush id already (the same call sent again, e.g. to the
/// next host after a timeout).
const ADD_COUNTS: &str = "\
def s = ctx._source;
if (s.flushes == null) { s.flushes = new HashMap(); }
def seen = s.flushes.get(params.node);
if (seen == null) { seen = new ArrayList(); s.flushes.put(params.node, seen); }
if (seen.contains(params.flush)) {
  ctx.op = 'noop';
} else {
  seen.add(params.flush);
  while (seen.size() > params.remember) { seen.remove(0); }
  if (s.counts == null) { s.counts = new HashMap(); }
  long delta = ((Number) params.delta).longValue();
  def before = s.counts.get(params.node);
  s.counts.put(params.node, (before == null ? 0L : ((Number) before).longValue()) + delta);
  s.count = (s.count == null ? 0L : ((Number) s.count).longValue()) + delta;
  long last = ((Number) params.last_seen).longValue();
  if (s.last_seen == null || ((Number) s.last_seen).longValue() < last) { s.last_seen = last; }
  if (s.hosts == null) { s.hosts = new ArrayList(); }
  for (def h : params.hosts) {
    if (s.hosts.size() >= params.max_hosts) { break; }
    if (!s.hosts.contains(h)) { s.hosts.add(h); }
  }
}";

#[allow(clippy::too_many_arguments)]
pub(crate) fn add_counts_request(
    index: &str,
    id: &str,
    node: &str,
    delta: u64,
    last_seen_ms: i64,
    hosts: &[String],
    flush: &str,
) -> Result<Request, StoreError> {
    let doc_id = incident_id(id)?;
    let hosts: Vec<&String> = hosts.iter().take(MAX_HOSTS).collect();
    let body = json!({
        "script": {
            "lang": "painless",
            "source": ADD_COUNTS,
            "params": {
                "node": node, "delta": delta, "last_seen": last_seen_ms, "hosts": hosts,
                "flush": flush, "remember": REMEMBERED_FLUSHES, "max_hosts": MAX_HOSTS,
            }
        }
    });
    let query = format!("retry_on_conflict={RETRY_ON_CONFLICT}&_source=true");
    Ok(Request {
        method: Method::Post,
        path: doc_path(index, "_update", &doc_id, &query),
        body: Some(body),
    })
}

/// An `_update`'s outcome.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Updated {
    /// Written (`created`/`updated`) or not (`noop`); the document if `_source=true` was asked.
    /// `versions` (`_seq_no`, `_primary_term`) are there whenever a document is: a script's
    /// no-op on a missing document (a refused `scripted_upsert`) has none.
    Yes {
        noop: bool,
        versions: Option<(u64, u64)>,
        source: Option<Value>,
    },
    /// No such document (or index).
    Missing,
    /// `409`: a compare-and-set that lost, or `retry_on_conflict` used up.
    Conflict,
}

pub(crate) fn parse_update(answer: &Answer) -> Result<Updated, StoreError> {
    match answer.status {
        200 | 201 => {
            let noop = match answer.body["result"].as_str() {
                Some("noop") => true,
                Some("updated" | "created") => false,
                _ => return Err(nonsense(answer, "a result")),
            };
            let versions = match versions(answer, &answer.body) {
                Ok(v) => Some(v),
                Err(_) if noop => None,
                Err(e) => return Err(e),
            };
            let source = answer.body["get"].get("_source").cloned();
            Ok(Updated::Yes {
                noop,
                versions,
                source,
            })
        }
        404 => Ok(Updated::Missing),
        409 => Ok(Updated::Conflict),
        _ => Err(refused(answer)),
    }
}

pub(crate) fn parse_add_counts(answer: &Answer) -> Result<Option<Versioned<Incident>>, StoreError> {
    match parse_update(answer)? {
        Updated::Yes {
            versions: Some((seq_no, primary_term)),
            source: Some(source),
            ..
        } => Ok(Some(Versioned {
            doc: incident_from(answer, &source)?,
            seq_no,
            primary_term,
        })),
        Updated::Yes { .. } => Err(nonsense(answer, "get._source and its versions")),
        Updated::Missing => Ok(None),
        Updated::Conflict => Err(refused(answer)),
    }
}

pub(crate) fn take_over_request(
    index: &str,
    id: &str,
    new_owner: &str,
    lease_until_ms: i64,
    seq_no: u64,
    primary_term: u64,
) -> Result<Request, StoreError> {
    let doc_id = incident_id(id)?;
    let body = json!({"doc": {"owner": new_owner, "lease_until": lease_until_ms}});
    let query = format!("if_seq_no={seq_no}&if_primary_term={primary_term}");
    Ok(Request {
        method: Method::Post,
        path: doc_path(index, "_update", &doc_id, &query),
        body: Some(body),
    })
}

/// [`Store::reopen`](crate::Store::reopen): the whole incident document replaced by a new claim
/// (`PUT _doc` with `if_seq_no`/`if_primary_term`), so an ended incident's id starts over.
pub(crate) fn reopen_request(
    index: &str,
    id: &str,
    doc: &ClaimDoc,
    nonce: &str,
    seq_no: u64,
    primary_term: u64,
) -> Result<Request, StoreError> {
    let mut request = claim_request(index, id, doc, nonce)?;
    let doc_id = incident_id(id)?;
    let query = format!("if_seq_no={seq_no}&if_primary_term={primary_term}");
    request.path = doc_path(index, "_doc", &doc_id, &query);
    Ok(request)
}

/// [`Store::mark_reported_if`](crate::Store::mark_reported_if): a partial `doc` with
/// `if_seq_no`/`if_primary_term`, so that no count lands between the read and the mark.
pub(crate) fn mark_reported_if_request(
    index: &str,
    id: &str,
    count: u64,
    at_ms: i64,
    seq_no: u64,
    primary_term: u64,
) -> Result<Request, StoreError> {
    let doc_id = incident_id(id)?;
    let body = json!({"doc": {"reported_count": count, "reported_at": at_ms}});
    let query = format!("if_seq_no={seq_no}&if_primary_term={primary_term}");
    Ok(Request {
        method: Method::Post,
        path: doc_path(index, "_update", &doc_id, &query),
        body: Some(body),
    })
}

pub(crate) fn parse_cas(answer: &Answer) -> Result<Cas, StoreError> {
    Ok(match parse_update(answer)? {
        Updated::Yes {
            versions: Some((seq_no, primary_term)),
            ..
        } => Cas::Done {
            seq_no,
            primary_term,
        },
        Updated::Yes { versions: None, .. } => {
            return Err(nonsense(answer, "_seq_no and _primary_term"))
        }
        Updated::Conflict => Cas::Stale,
        Updated::Missing => Cas::Missing,
    })
}

/// The scripts of the calls only the owner may make: each runs `BODY` if `owner` still owns the
/// incident and is a no-op otherwise.
const RENEW: &str = "if (ctx._source.owner == params.owner) { \
if (ctx._source.lease_until == null || ((Number) ctx._source.lease_until).longValue() < params.lease_until) \
{ ctx._source.lease_until = params.lease_until; } } else { ctx.op = 'noop'; }";
const RELEASE: &str =
    "if (ctx._source.owner == params.owner) { ctx._source.lease_until = 0L; } else { ctx.op = 'noop'; }";
const MARK_REPORTED: &str = "if (ctx._source.owner == params.owner) { \
ctx._source.reported_count = params.count; ctx._source.reported_at = params.at; } else { ctx.op = 'noop'; }";

/// Which owner-only call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnerCall {
    Renew { lease_until_ms: i64 },
    Release,
    MarkReported { count: u64, at_ms: i64 },
}

pub(crate) fn owner_request(
    index: &str,
    id: &str,
    owner: &str,
    call: OwnerCall,
) -> Result<Request, StoreError> {
    let doc_id = incident_id(id)?;
    let (source, params) = match call {
        OwnerCall::Renew { lease_until_ms } => (
            RENEW,
            json!({"owner": owner, "lease_until": lease_until_ms}),
        ),
        OwnerCall::Release => (RELEASE, json!({"owner": owner})),
        OwnerCall::MarkReported { count, at_ms } => (
            MARK_REPORTED,
            json!({"owner": owner, "count": count, "at": at_ms}),
        ),
    };
    let body = json!({"script": {"lang": "painless", "source": source, "params": params}});
    let query = format!("retry_on_conflict={RETRY_ON_CONFLICT}");
    Ok(Request {
        method: Method::Post,
        path: doc_path(index, "_update", &doc_id, &query),
        body: Some(body),
    })
}

pub(crate) fn parse_owner_update(answer: &Answer) -> Result<OwnerUpdate, StoreError> {
    match parse_update(answer)? {
        Updated::Yes { noop: false, .. } => Ok(OwnerUpdate::Done),
        Updated::Yes { noop: true, .. } => Ok(OwnerUpdate::NotOwner),
        Updated::Missing => Ok(OwnerUpdate::Missing),
        Updated::Conflict => Err(refused(answer)),
    }
}

pub(crate) fn set_message_request(
    index: &str,
    id: &str,
    channel: &str,
    ts: &str,
) -> Result<Request, StoreError> {
    let doc_id = incident_id(id)?;
    let body = json!({"doc": {"channel": channel, "ts": ts}});
    let query = format!("retry_on_conflict={RETRY_ON_CONFLICT}");
    Ok(Request {
        method: Method::Post,
        path: doc_path(index, "_update", &doc_id, &query),
        body: Some(body),
    })
}

/// True if the incident exists (and now holds the message).
pub(crate) fn parse_set_message(answer: &Answer) -> Result<bool, StoreError> {
    match parse_update(answer)? {
        Updated::Yes { .. } => Ok(true),
        Updated::Missing => Ok(false),
        Updated::Conflict => Err(refused(answer)),
    }
}

// ---- pace ----

/// Raises the destination's `not_before` (never lowers it); creates the document if needed.
const NOT_BEFORE: &str = "\
def s = ctx._source;
s.schema = params.schema; s.kind = 'pace'; s.destination = params.destination;
long nb = ((Number) params.not_before).longValue();
if (s.not_before == null || ((Number) s.not_before).longValue() < nb) { s.not_before = nb; }
if (s.expires_at == null || ((Number) s.expires_at).longValue() < params.expires_at) { s.expires_at = params.expires_at; }";

/// A token bucket shared by the fleet, as each node's own is: `burst` tokens, refilled at
/// `per_minute`. A node whose clock is behind refills nothing (time never runs back).
const TAKE_TOKEN: &str = "\
def s = ctx._source;
double cap = ((Number) params.burst).doubleValue();
double rate = ((Number) params.per_minute).doubleValue() / 60000.0;
long now = ((Number) params.now).longValue();
double level = s.tokens == null ? cap : ((Number) s.tokens).doubleValue();
long last = s.refilled_at == null ? now : ((Number) s.refilled_at).longValue();
if (now > last) { level = Math.min(cap, level + (now - last) * rate); last = now; }
if (level < 1.0) {
  ctx.op = 'noop';
} else {
  s.tokens = level - 1.0; s.refilled_at = last;
  s.schema = params.schema; s.kind = 'pace'; s.destination = params.destination;
  if (s.expires_at == null || ((Number) s.expires_at).longValue() < params.expires_at) { s.expires_at = params.expires_at; }
}";

/// The fleet's next posting slot: no sooner than now, the slot after the last one reserved
/// (at most `MAX_SLOT_AHEAD_MS` ahead, so that a node whose clock runs ahead cannot hold the
/// others back for longer) and the fleet's `not_before`.
const RESERVE_SLOT: &str = "\
def s = ctx._source;
long now = ((Number) params.now).longValue();
long slot = now;
long ahead = now + ((Number) params.max_ahead).longValue();
if (s.next_slot != null) { long next = ((Number) s.next_slot).longValue(); if (next > ahead) { next = ahead; } if (next > slot) { slot = next; } }
if (s.not_before != null) { long nb = ((Number) s.not_before).longValue(); if (nb > slot) { slot = nb; } }
s.slot = slot; s.next_slot = slot + ((Number) params.spacing).longValue();
s.schema = params.schema; s.kind = 'pace'; s.destination = params.destination;
if (s.expires_at == null || ((Number) s.expires_at).longValue() < params.expires_at) { s.expires_at = params.expires_at; }";

/// How far ahead of a node's clock the fleet's next slot may be.
pub(crate) const MAX_SLOT_AHEAD_MS: i64 = 60_000;

fn pace_update(
    index: &str,
    destination: &str,
    source: &str,
    mut params: Value,
    source_back: bool,
) -> Result<Request, StoreError> {
    let doc_id = pace_id(destination)?;
    params["schema"] = json!(SCHEMA);
    params["destination"] = json!(destination);
    let body = json!({
        "scripted_upsert": true,
        "upsert": {},
        "script": {"lang": "painless", "source": source, "params": params},
    });
    let mut query = format!("retry_on_conflict={RETRY_ON_CONFLICT}");
    if source_back {
        query.push_str("&_source=true");
    }
    Ok(Request {
        method: Method::Post,
        path: doc_path(index, "_update", &doc_id, &query),
        body: Some(body),
    })
}

pub(crate) fn set_not_before_request(
    index: &str,
    destination: &str,
    not_before_ms: i64,
) -> Result<Request, StoreError> {
    let params = json!({"not_before": not_before_ms, "expires_at": not_before_ms.saturating_add(PACE_TTL_MS)});
    pace_update(index, destination, NOT_BEFORE, params, true)
}

/// The fleet's `not_before` after the update: the later of this one and any other node's.
pub(crate) fn parse_set_not_before(answer: &Answer) -> Result<i64, StoreError> {
    match parse_update(answer)? {
        Updated::Yes {
            source: Some(source),
            ..
        } => source["not_before"]
            .as_i64()
            .ok_or_else(|| nonsense(answer, "get._source.not_before")),
        Updated::Yes { source: None, .. } => Err(nonsense(answer, "get._source")),
        Updated::Missing | Updated::Conflict => Err(refused(answer)),
    }
}

pub(crate) fn take_token_request(
    index: &str,
    destination: &str,
    now_ms: i64,
    per_minute: u32,
    burst: u32,
) -> Result<Request, StoreError> {
    let params = json!({
        "now": now_ms,
        "per_minute": per_minute,
        "burst": burst.max(1),
        "expires_at": now_ms.saturating_add(PACE_TTL_MS),
    });
    pace_update(index, destination, TAKE_TOKEN, params, false)
}

pub(crate) fn reserve_slot_request(
    index: &str,
    destination: &str,
    now_ms: i64,
    spacing_ms: i64,
) -> Result<Request, StoreError> {
    let params = json!({
        "now": now_ms,
        "spacing": spacing_ms.max(0),
        "max_ahead": MAX_SLOT_AHEAD_MS,
        "expires_at": now_ms.saturating_add(PACE_TTL_MS),
    });
    pace_update(index, destination, RESERVE_SLOT, params, true)
}

/// The slot reserved (epoch ms).
pub(crate) fn parse_reserve_slot(answer: &Answer) -> Result<i64, StoreError> {
    match parse_update(answer)? {
        Updated::Yes {
            source: Some(source),
            ..
        } => source["slot"]
            .as_i64()
            .ok_or_else(|| nonsense(answer, "get._source.slot")),
        Updated::Yes { source: None, .. } => Err(nonsense(answer, "get._source")),
        Updated::Missing | Updated::Conflict => Err(refused(answer)),
    }
}

/// True if a token was taken.
pub(crate) fn parse_take_token(answer: &Answer) -> Result<bool, StoreError> {
    match parse_update(answer)? {
        Updated::Yes { noop, .. } => Ok(!noop),
        Updated::Missing | Updated::Conflict => Err(refused(answer)),
    }
}

pub(crate) fn parse_pace(answer: &Answer) -> Result<Pace, StoreError> {
    match parse_get(answer)? {
        Some((source, _, _)) => {
            let number = |field: &str| match &source[field] {
                Value::Null => Ok(0),
                v => v
                    .as_i64()
                    .ok_or_else(|| nonsense(answer, &format!("a number in {field}"))),
            };
            let tokens = match &source["tokens"] {
                Value::Null => None,
                v => Some(
                    v.as_f64()
                        .ok_or_else(|| nonsense(answer, "a number in tokens"))?,
                ),
            };
            Ok(Pace {
                not_before_ms: number("not_before")?,
                tokens,
                next_slot_ms: number("next_slot")?,
            })
        }
        None => Ok(Pace::default()),
    }
}

// ---- expiry ----

pub(crate) fn delete_expired_request(index: &str, now_ms: i64) -> Request {
    Request {
        method: Method::Post,
        // A document updated while the query runs is left for the next run.
        path: format!("/{}/_delete_by_query?conflicts=proceed", segment(index)),
        body: Some(json!({"query": {"range": {"expires_at": {"lt": now_ms}}}})),
    }
}

/// How many documents were deleted; a missing index has none to delete.
pub(crate) fn parse_delete_expired(answer: &Answer) -> Result<u64, StoreError> {
    match answer.status {
        200 => {
            if let Some(failure) = answer.body["failures"].as_array().and_then(|f| f.first()) {
                let status = failure["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(500);
                let reason = failure["cause"]["type"]
                    .as_str()
                    .unwrap_or("a failure")
                    .to_string();
                return Err(StoreError::Refused {
                    host: answer.host.clone(),
                    status,
                    reason,
                });
            }
            answer.body["deleted"]
                .as_u64()
                .ok_or_else(|| nonsense(answer, "deleted"))
        }
        404 => Ok(0),
        _ => Err(refused(answer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: Value) -> Answer {
        Answer {
            host: "http://es:9200".into(),
            status,
            body,
        }
    }

    fn claim_doc() -> ClaimDoc {
        ClaimDoc {
            owner: "node-a".into(),
            rule: "errors".into(),
            key: "db down".into(),
            window_start_ms: 1_000,
            first_seen_ms: 1_001,
            last_seen_ms: 1_002,
            count: 3,
            hosts: (0..30).map(|i| format!("h{i}")).collect(),
            lease_until_ms: 31_000,
            expires_at_ms: 3_600_000,
        }
    }

    #[test]
    fn ids_are_namespaced_and_encoded() {
        assert_eq!(segment("a b/c:d?é"), "a%20b%2Fc%3Ad%3F%C3%A9");
        let r = claim_request("state", "errors/db down#1", &claim_doc(), "n1").unwrap();
        assert_eq!(r.path, "/state/_create/incident%3Aerrors%2Fdb%20down%231");
        assert!(matches!(incident_id(""), Err(StoreError::Invalid(_))));
        assert!(matches!(
            pace_id(&"x".repeat(481)),
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(pace_id("hook-1").unwrap(), "pace:hook-1");
    }

    #[test]
    fn a_claim_writes_the_owner_count_and_a_nonce() {
        let r = claim_request("state", "i1", &claim_doc(), "nonce-1").unwrap();
        assert_eq!(r.method, Method::Put);
        let body = r.body.unwrap();
        assert_eq!(body["kind"], "incident");
        assert_eq!(body["owner"], "node-a");
        assert_eq!(body["claim"], "nonce-1");
        assert_eq!(body["counts"], json!({"node-a": 3}));
        assert_eq!(body["count"], 3);
        assert_eq!(body["hosts"].as_array().unwrap().len(), MAX_HOSTS);
        assert_eq!(body["expires_at"], 3_600_000);
    }

    #[test]
    fn claim_answers() {
        let created = answer(
            201,
            json!({"result": "created", "_seq_no": 0, "_primary_term": 1}),
        );
        assert_eq!(
            parse_claim(&created).unwrap(),
            Created::Yes {
                seq_no: 0,
                primary_term: 1
            }
        );
        let conflict = answer(
            409,
            json!({"error": {"type": "version_conflict_engine_exception"}, "status": 409}),
        );
        assert_eq!(parse_claim(&conflict).unwrap(), Created::Exists);
        assert!(matches!(
            parse_claim(&answer(201, json!({"result": "created"}))),
            Err(StoreError::Nonsense { .. })
        ));
        assert_eq!(
            parse_claim(&answer(503, json!({}))).unwrap_err().status(),
            Some(503)
        );
    }

    #[test]
    fn get_answers() {
        let found = answer(
            200,
            json!({"found": true, "_seq_no": 7, "_primary_term": 2, "_source": {
                "owner": "node-b", "count": 9, "counts": {"node-a": 4, "node-b": 5}, "hosts": ["h1"],
                "lease_until": 5, "channel": "C1", "ts": "1.2", "unknown": [1]
            }}),
        );
        let got = parse_get_incident(&found).unwrap().unwrap();
        assert_eq!((got.seq_no, got.primary_term), (7, 2));
        assert_eq!(got.doc.owner, "node-b");
        assert_eq!(got.doc.counts.values().sum::<u64>(), 9);
        assert_eq!(got.doc.ts.as_deref(), Some("1.2"));
        assert_eq!(
            parse_get_incident(&answer(404, json!({"found": false}))).unwrap(),
            None
        );
        let index_missing = answer(404, json!({"error": {"type": "index_not_found_exception"}}));
        assert_eq!(parse_get_incident(&index_missing).unwrap(), None);
        let bad = answer(
            200,
            json!({"found": true, "_seq_no": 1, "_primary_term": 1, "_source": {"count": "x"}}),
        );
        assert!(matches!(
            parse_get_incident(&bad),
            Err(StoreError::Nonsense { .. })
        ));
        assert!(matches!(
            parse_get_incident(&answer(200, json!([1, 2]))),
            Err(StoreError::Nonsense { .. })
        ));
    }

    #[test]
    fn add_counts_is_a_scripted_update_with_retries_and_a_flush_id() {
        let hosts = vec!["h1".to_string()];
        let r = add_counts_request("state", "i1", "node-b", 5, 2_000, &hosts, "f-1").unwrap();
        assert_eq!(
            r.path,
            "/state/_update/incident%3Ai1?retry_on_conflict=20&_source=true"
        );
        let body = r.body.unwrap();
        assert_eq!(body["script"]["lang"], "painless");
        assert_eq!(body["script"]["params"]["delta"], 5);
        assert_eq!(body["script"]["params"]["flush"], "f-1");
        let updated = answer(
            200,
            json!({"result": "updated", "_seq_no": 3, "_primary_term": 1,
                   "get": {"found": true, "_source": {"owner": "node-a", "count": 8}}}),
        );
        assert_eq!(parse_add_counts(&updated).unwrap().unwrap().doc.count, 8);
        assert_eq!(parse_add_counts(&answer(404, json!({}))).unwrap(), None);
        assert_eq!(
            parse_add_counts(&answer(409, json!({})))
                .unwrap_err()
                .status(),
            Some(409)
        );
    }

    #[test]
    fn take_over_is_a_compare_and_set() {
        let r = take_over_request("state", "i1", "node-c", 9_000, 4, 1).unwrap();
        assert_eq!(
            r.path,
            "/state/_update/incident%3Ai1?if_seq_no=4&if_primary_term=1"
        );
        assert_eq!(
            r.body.unwrap(),
            json!({"doc": {"owner": "node-c", "lease_until": 9_000}})
        );
        let done = answer(
            200,
            json!({"result": "updated", "_seq_no": 5, "_primary_term": 1}),
        );
        assert_eq!(
            parse_cas(&done).unwrap(),
            Cas::Done {
                seq_no: 5,
                primary_term: 1
            }
        );
        assert_eq!(parse_cas(&answer(409, json!({}))).unwrap(), Cas::Stale);
        assert_eq!(parse_cas(&answer(404, json!({}))).unwrap(), Cas::Missing);
    }

    #[test]
    fn owner_calls_tell_a_noop_from_a_write() {
        let r = owner_request(
            "state",
            "i1",
            "node-a",
            OwnerCall::MarkReported {
                count: 12,
                at_ms: 5,
            },
        )
        .unwrap();
        assert_eq!(
            r.body.as_ref().unwrap()["script"]["params"],
            json!({"owner": "node-a", "count": 12, "at": 5})
        );
        let ok = answer(
            200,
            json!({"result": "updated", "_seq_no": 5, "_primary_term": 1}),
        );
        let noop = answer(
            200,
            json!({"result": "noop", "_seq_no": 5, "_primary_term": 1}),
        );
        assert_eq!(parse_owner_update(&ok).unwrap(), OwnerUpdate::Done);
        assert_eq!(parse_owner_update(&noop).unwrap(), OwnerUpdate::NotOwner);
        assert_eq!(
            parse_owner_update(&answer(404, json!({}))).unwrap(),
            OwnerUpdate::Missing
        );
        assert!(matches!(
            parse_owner_update(&answer(200, json!({"result": "?"}))),
            Err(StoreError::Nonsense { .. })
        ));
    }

    #[test]
    fn pace_documents() {
        let r = take_token_request("state", "hook", 60_000, 20, 0).unwrap();
        assert_eq!(r.path, "/state/_update/pace%3Ahook?retry_on_conflict=20");
        let body = r.body.unwrap();
        assert_eq!(body["scripted_upsert"], true);
        assert_eq!(body["script"]["params"]["per_minute"], 20);
        assert_eq!(
            body["script"]["params"]["burst"], 1,
            "a bucket holds one at least"
        );
        let slot = answer(
            200,
            json!({"result": "updated", "_seq_no": 2, "_primary_term": 1, "get": {"_source": {"slot": 5_000}}}),
        );
        assert_eq!(parse_reserve_slot(&slot).unwrap(), 5_000);
        assert!(matches!(
            parse_reserve_slot(&answer(
                200,
                json!({"result": "updated", "_seq_no": 2, "_primary_term": 1})
            )),
            Err(StoreError::Nonsense { .. })
        ));
        let created = answer(
            201,
            json!({"result": "created", "_seq_no": 0, "_primary_term": 1}),
        );
        assert!(parse_take_token(&created).unwrap());
        let refused = answer(
            200,
            json!({"result": "noop", "_seq_no": 4, "_primary_term": 1}),
        );
        assert!(!parse_take_token(&refused).unwrap());
        let refused_before_any = answer(
            200,
            json!({"_index": "state", "_id": "pace:hook", "result": "noop"}),
        );
        assert!(!parse_take_token(&refused_before_any).unwrap());
        assert!(matches!(
            parse_take_token(&answer(200, json!({"result": "updated"}))),
            Err(StoreError::Nonsense { .. })
        ));
        let nb = answer(
            200,
            json!({"result": "updated", "_seq_no": 1, "_primary_term": 1, "get": {"_source": {"not_before": 77}}}),
        );
        assert_eq!(parse_set_not_before(&nb).unwrap(), 77);
        let got = answer(
            200,
            json!({"found": true, "_seq_no": 1, "_primary_term": 1, "_source": {"not_before": 77, "tokens": 2.5, "next_slot": 60}}),
        );
        assert_eq!(
            parse_pace(&got).unwrap(),
            Pace {
                not_before_ms: 77,
                tokens: Some(2.5),
                next_slot_ms: 60,
            }
        );
        assert_eq!(
            parse_pace(&answer(404, json!({"found": false}))).unwrap(),
            Pace::default()
        );
    }

    #[test]
    fn delete_expired_answers() {
        let r = delete_expired_request("state", 123);
        assert_eq!(r.path, "/state/_delete_by_query?conflicts=proceed");
        assert_eq!(
            r.body.unwrap(),
            json!({"query": {"range": {"expires_at": {"lt": 123}}}})
        );
        assert_eq!(
            parse_delete_expired(&answer(200, json!({"deleted": 4, "failures": []}))).unwrap(),
            4
        );
        assert_eq!(parse_delete_expired(&answer(404, json!({}))).unwrap(), 0);
        let failed = answer(
            200,
            json!({"deleted": 0, "failures": [{"status": 429, "cause": {"type": "es_rejected_execution_exception"}}]}),
        );
        assert_eq!(
            parse_delete_expired(&failed).unwrap_err().status(),
            Some(429)
        );
        assert!(matches!(
            parse_delete_expired(&answer(200, json!({}))),
            Err(StoreError::Nonsense { .. })
        ));
    }

    #[test]
    fn the_index_has_one_shard_and_typed_fields() {
        let body = index_body();
        assert_eq!(body["settings"]["index"]["number_of_shards"], 1);
        assert_eq!(body["mappings"]["properties"]["expires_at"]["type"], "date");
        assert_eq!(body["mappings"]["properties"]["owner"]["type"], "keyword");
        assert_eq!(body["mappings"]["properties"]["counts"]["enabled"], false);
        let exists = answer(
            400,
            json!({"error": {"type": "resource_already_exists_exception"}}),
        );
        assert!(!parse_create_index(&exists).unwrap());
        assert!(parse_create_index(&answer(200, json!({"acknowledged": true}))).unwrap());
        assert_eq!(
            parse_create_index(&answer(403, json!({})))
                .unwrap_err()
                .status(),
            Some(403)
        );
    }
}
