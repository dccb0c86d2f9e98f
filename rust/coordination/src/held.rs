//! A destination's fleet-wide summary: what the fleet's rate limit held back, added to by every
//! node and drained by one of them into one Slack summary (`held:<destination>`).
//!
//! Draining moves the counts into the document's `drained` part, stamped with the drainer's
//! id, in one scripted update: the node whose id the answer carries posts them, and nobody
//! else can. The same id sent again (an answer lost on the way) finds its own drain and gets
//! it back instead of draining twice.

use serde_json::{json, Map, Value};

use crate::requests::{checked_id, doc_path, nonsense, parse_get, parse_update, Updated};
use crate::requests::{PACE_TTL_MS, RETRY_ON_CONFLICT, SCHEMA};
use crate::transport::{refused, Answer, Method, Request};
use crate::StoreError;

/// Labels a summary document keeps counts for; the rest are still in its totals.
pub const MAX_HELD_LABELS: usize = 50;
/// Characters of a label kept.
const MAX_LABEL_CHARS: usize = 200;

/// What a destination's limit held back, as the summary says it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeldCounts {
    /// Alerts over the rate limit (an event each).
    pub suppressed: u64,
    /// Repeats whose report was over the rate limit.
    pub repeats: u64,
    /// Flatline and recovery notices (no events).
    pub notices: u64,
    pub dropped: u64,
    pub undelivered: u64,
    pub evicted: u64,
    /// Counts by label, most first when read back.
    pub top: Vec<(String, u64)>,
    /// The rules (by name) whose messages are in it.
    pub rules: Vec<String>,
    /// When the first of them was held (epoch ms), 0 when nothing was.
    pub since_ms: i64,
}

impl HeldCounts {
    pub fn is_empty(&self) -> bool {
        self.suppressed
            + self.repeats
            + self.notices
            + self.dropped
            + self.undelivered
            + self.evicted
            == 0
    }
}

const FIELDS: [&str; 6] = [
    "suppressed",
    "repeats",
    "notices",
    "dropped",
    "undelivered",
    "evicted",
];

/// Adds the params' counts; labels past the cap count in the totals only.
const ADD_HELD: &str = "\
def s = ctx._source;
s.schema = params.schema; s.kind = 'held'; s.destination = params.destination;
for (f in params.fields) { long v = s[f] == null ? 0L : ((Number) s[f]).longValue(); s[f] = v + ((Number) params.counts[f]).longValue(); }
if (s.top == null) { s.top = new HashMap(); }
for (e in params.top.entrySet()) {
  if (s.top.containsKey(e.getKey())) { s.top[e.getKey()] = ((Number) s.top[e.getKey()]).longValue() + ((Number) e.getValue()).longValue(); }
  else if (s.top.size() < params.max_labels) { s.top[e.getKey()] = ((Number) e.getValue()).longValue(); }
}
if (s.rules == null) { s.rules = new ArrayList(); }
for (r in params.rules) { if (!s.rules.contains(r)) { s.rules.add(r); } }
if (s.since == null || ((Number) s.since).longValue() == 0L || ((Number) s.since).longValue() > params.since) { s.since = params.since; }
if (s.expires_at == null || ((Number) s.expires_at).longValue() < params.expires_at) { s.expires_at = params.expires_at; }";

/// Moves every count into `drained`, stamped `by` the drainer; nothing to drain, or this
/// drainer's drain already made, is a no-op (its `_source` answers either way).
const DRAIN_HELD: &str = "\
def s = ctx._source;
if (s.drained != null && s.drained.by == params.drainer) { ctx.op = 'noop'; return; }
long total = 0L;
for (f in params.fields) { total += s[f] == null ? 0L : ((Number) s[f]).longValue(); }
if (total == 0L) { ctx.op = 'noop'; return; }
def d = new HashMap();
d.by = params.drainer;
for (f in params.fields) { d[f] = s[f] == null ? 0L : s[f]; s[f] = 0L; }
d.top = s.top == null ? new HashMap() : s.top; s.top = new HashMap();
d.rules = s.rules == null ? new ArrayList() : s.rules; s.rules = new ArrayList();
d.since = s.since == null ? 0L : s.since; s.since = 0L;
s.drained = d;";

pub(crate) fn held_id(destination: &str) -> Result<String, StoreError> {
    checked_id("held", destination)
}

fn held_update(
    index: &str,
    destination: &str,
    source: &str,
    mut params: Value,
) -> Result<Request, StoreError> {
    params["schema"] = json!(SCHEMA);
    params["destination"] = json!(destination);
    params["fields"] = json!(FIELDS);
    Ok(Request {
        method: Method::Post,
        path: doc_path(
            index,
            "_update",
            &held_id(destination)?,
            &format!("retry_on_conflict={RETRY_ON_CONFLICT}&_source=true"),
        ),
        body: Some(json!({
            "scripted_upsert": true,
            "upsert": {},
            "script": {"lang": "painless", "source": source, "params": params},
        })),
    })
}

fn label(text: &str) -> String {
    text.chars().take(MAX_LABEL_CHARS).collect()
}

pub(crate) fn add_held_request(
    index: &str,
    destination: &str,
    held: &HeldCounts,
    now_ms: i64,
) -> Result<Request, StoreError> {
    let mut top = Map::new();
    for (text, n) in held.top.iter().take(MAX_HELD_LABELS) {
        let key = label(text);
        let sum = top.get(&key).and_then(Value::as_u64).unwrap_or(0) + n;
        top.insert(key, json!(sum));
    }
    let counts: Map<String, Value> = FIELDS
        .iter()
        .zip([
            held.suppressed,
            held.repeats,
            held.notices,
            held.dropped,
            held.undelivered,
            held.evicted,
        ])
        .map(|(f, n)| (f.to_string(), json!(n)))
        .collect();
    let since = if held.since_ms > 0 {
        held.since_ms
    } else {
        now_ms
    };
    let params = json!({
        "counts": counts,
        "top": top,
        "max_labels": MAX_HELD_LABELS,
        "rules": held.rules,
        "since": since,
        "expires_at": now_ms.saturating_add(PACE_TTL_MS),
    });
    held_update(index, destination, ADD_HELD, params)
}

pub(crate) fn parse_add_held(answer: &Answer) -> Result<(), StoreError> {
    match parse_update(answer)? {
        Updated::Yes { noop: false, .. } => Ok(()),
        Updated::Yes { noop: true, .. } => Err(nonsense(answer, "an update")),
        Updated::Missing | Updated::Conflict => Err(refused(answer)),
    }
}

pub(crate) fn drain_held_request(
    index: &str,
    destination: &str,
    drainer: &str,
) -> Result<Request, StoreError> {
    held_update(index, destination, DRAIN_HELD, json!({"drainer": drainer}))
}

/// What `drainer` drained, or `None` when nothing was there for it.
pub(crate) fn parse_drain_held(
    answer: &Answer,
    drainer: &str,
) -> Result<Option<HeldCounts>, StoreError> {
    let source = match parse_update(answer)? {
        Updated::Yes {
            source: Some(source),
            ..
        } => source,
        // A no-op on a document that is not there: nothing held.
        Updated::Yes { source: None, .. } | Updated::Missing => return Ok(None),
        Updated::Conflict => return Err(refused(answer)),
    };
    let drained = &source["drained"];
    if drained["by"].as_str() != Some(drainer) {
        return Ok(None);
    }
    counts_from(answer, drained).map(Some)
}

pub(crate) fn held_get_request(index: &str, destination: &str) -> Result<Request, StoreError> {
    Ok(Request {
        method: Method::Get,
        path: doc_path(index, "_doc", &held_id(destination)?, ""),
        body: None,
    })
}

pub(crate) fn parse_held(answer: &Answer) -> Result<HeldCounts, StoreError> {
    match parse_get(answer)? {
        Some((source, _, _)) => counts_from(answer, &source),
        None => Ok(HeldCounts::default()),
    }
}

fn counts_from(answer: &Answer, v: &Value) -> Result<HeldCounts, StoreError> {
    let number = |field: &str| match &v[field] {
        Value::Null => Ok(0),
        n => n
            .as_u64()
            .ok_or_else(|| nonsense(answer, &format!("a count in {field}"))),
    };
    let mut top: Vec<(String, u64)> = match &v["top"] {
        Value::Null => Vec::new(),
        Value::Object(map) => map
            .iter()
            .map(|(k, n)| {
                n.as_u64()
                    .map(|n| (k.clone(), n))
                    .ok_or_else(|| nonsense(answer, "a count in top"))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(nonsense(answer, "an object in top")),
    };
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rules = match &v["rules"] {
        Value::Null => Vec::new(),
        Value::Array(rules) => rules
            .iter()
            .map(|r| {
                r.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| nonsense(answer, "a rule name in rules"))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(nonsense(answer, "an array in rules")),
    };
    Ok(HeldCounts {
        suppressed: number("suppressed")?,
        repeats: number("repeats")?,
        notices: number("notices")?,
        dropped: number("dropped")?,
        undelivered: number("undelivered")?,
        evicted: number("evicted")?,
        top,
        rules,
        since_ms: v["since"].as_i64().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: Value) -> Answer {
        Answer {
            host: "es:9200".into(),
            status,
            body,
        }
    }

    #[test]
    fn an_add_carries_capped_labels_and_every_count() {
        let held = HeldCounts {
            suppressed: 3,
            repeats: 40,
            top: (0..80).map(|i| (format!("p{i}"), 1)).collect(),
            rules: vec!["errors".into()],
            ..HeldCounts::default()
        };
        let r = add_held_request("state", "webhook:ab", &held, 1_000).unwrap();
        assert_eq!(
            r.path,
            "/state/_update/held%3Awebhook%3Aab?retry_on_conflict=20&_source=true"
        );
        let params = &r.body.unwrap()["script"]["params"];
        assert_eq!(params["counts"]["suppressed"], 3);
        assert_eq!(params["counts"]["repeats"], 40);
        assert_eq!(params["top"].as_object().unwrap().len(), MAX_HELD_LABELS);
        assert_eq!(params["since"], 1_000, "now when nothing says since when");
    }

    #[test]
    fn only_the_drainer_named_in_the_answer_gets_the_counts() {
        let body = |by: &str| {
            json!({"result": "updated", "_seq_no": 3, "_primary_term": 1, "get": {"_source": {
                "suppressed": 0,
                "drained": {"by": by, "suppressed": 2, "repeats": 5, "top": {"a": 1, "b": 6},
                            "rules": ["errors"], "since": 77}}}})
        };
        let mine = parse_drain_held(&answer(200, body("node-a-1")), "node-a-1")
            .unwrap()
            .unwrap();
        assert_eq!((mine.suppressed, mine.repeats, mine.since_ms), (2, 5, 77));
        assert_eq!(mine.top, vec![("b".into(), 6), ("a".into(), 1)]);
        assert_eq!(mine.rules, vec!["errors".to_string()]);
        assert_eq!(
            parse_drain_held(&answer(200, body("node-b-1")), "node-a-1").unwrap(),
            None
        );
        let nothing = answer(200, json!({"result": "noop", "_index": "state"}));
        assert_eq!(parse_drain_held(&nothing, "node-a-1").unwrap(), None);
        let garbage = answer(
            200,
            json!({"result": "updated", "_seq_no": 3, "_primary_term": 1,
                   "get": {"_source": {"drained": {"by": "node-a-1", "top": [1]}}}}),
        );
        assert!(matches!(
            parse_drain_held(&garbage, "node-a-1"),
            Err(StoreError::Nonsense { .. })
        ));
    }
}
