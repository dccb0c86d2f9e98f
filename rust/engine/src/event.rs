//! A matched event as the engine sees it: only the fields it asked for.
//!
//! The Java shim sends, for each matched event, the values of
//! [`EventShape::refs`] in that order (everything else stays in the JVM); the
//! sidecar resolves the same references on a whole JSON event. Either way the
//! engine reads them through [`slack_alert_event::Fields`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;
use slack_alert_event::{FieldRef, Fields};

use crate::hash::FoldBuildHasher;

/// Most characters (UTF-16 code units, as Java counts them) of one string
/// value the engine keeps. It shows at most 10,000 characters of any value
/// and fingerprints a message by its first line, so the rest of a 10 MB
/// message would only cost time (tens of milliseconds per matched event to
/// hand over). Values of `dedup_fields` that differ only past this point
/// count as the same problem, in the plugin and the sidecar alike. The Java
/// shim asks for this bound and cuts before encoding.
pub const MAX_VALUE_CHARS: usize = 16_384;

/// Most characters of a value the engine keeps whole to upload it (a
/// stack trace in app mode, whose message shows only its top frames).
pub const MAX_LONG_VALUE_CHARS: usize = 1 << 20;

/// Bytes of long values (past [`MAX_VALUE_CHARS`]) alive at once in the
/// whole process: a full queue of alerts with 1 MiB traces each would
/// otherwise hold a gigabyte. Past it a long value is cut as any other
/// (its message still shows its top frames).
const LONG_VALUES_BUDGET: usize = 32 << 20;

static LONG_VALUES: AtomicUsize = AtomicUsize::new(0);

/// Bytes of [`LONG_VALUES_BUDGET`] held by one matched event's long
/// values, given back when the last clone of the event goes.
#[derive(Debug)]
struct Lease(usize);

impl Lease {
    fn take(bytes: usize) -> Option<Lease> {
        LONG_VALUES
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held + bytes <= LONG_VALUES_BUDGET).then_some(held + bytes)
            })
            .ok()
            .map(|_| Lease(bytes))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        LONG_VALUES.fetch_sub(self.0, Ordering::AcqRel);
    }
}

/// `s` cut to `max` UTF-16 code units, never inside a character.
fn cut_value(s: &mut String, max: usize) {
    // A UTF-16 unit takes at least one byte: shorter strings are within.
    if s.len() <= max {
        return;
    }
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            s.truncate(i);
            return;
        }
    }
}

/// Cuts every string in `value` (nested ones too) to [`MAX_VALUE_CHARS`].
fn cut_strings(value: &mut Value) {
    match value {
        Value::String(s) => cut_value(s, MAX_VALUE_CHARS),
        Value::Array(items) => items.iter_mut().for_each(cut_strings),
        Value::Object(map) => map.values_mut().for_each(cut_strings),
        _ => {}
    }
}

/// The ordered list of canonical field references a matched event carries.
#[derive(Debug)]
pub struct EventShape {
    refs: Vec<String>,
    /// Parsed once: resolving a whole JSON event is per-event work.
    parsed: Vec<Option<FieldRef>>,
    /// Looked up several times per matched event: a fast hasher.
    index: HashMap<String, usize, FoldBuildHasher>,
    /// Per reference: kept up to [`MAX_LONG_VALUE_CHARS`], not [`MAX_VALUE_CHARS`].
    long: Vec<bool>,
}

impl EventShape {
    pub fn new(refs: Vec<String>) -> Arc<EventShape> {
        EventShape::with_long(refs, &[])
    }

    /// What an opened incident keeps of its event ([`crate::Config::event_refs`]),
    /// the references of [`crate::Config::long_refs`] long.
    pub fn of_events(config: &crate::Config) -> Arc<EventShape> {
        EventShape::with_long(config.event_refs(), &config.long_refs())
    }

    /// The bound each reference's strings are cut to, in order: what the
    /// Java shim cuts to before it encodes.
    pub fn bounds(&self) -> Vec<usize> {
        self.long
            .iter()
            .map(|&l| {
                if l {
                    MAX_LONG_VALUE_CHARS
                } else {
                    MAX_VALUE_CHARS
                }
            })
            .collect()
    }

    fn with_long(refs: Vec<String>, long: &[String]) -> Arc<EventShape> {
        let long = refs.iter().map(|r| long.contains(r)).collect();
        let index = refs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), i))
            .collect();
        let parsed = refs.iter().map(|r| FieldRef::parse(r).ok()).collect();
        Arc::new(EventShape {
            refs,
            parsed,
            index,
            long,
        })
    }

    pub fn refs(&self) -> &[String] {
        &self.refs
    }
}

/// The values of one matched event, aligned with its [`EventShape`].
#[derive(Clone, Debug)]
pub struct MatchedEvent {
    shape: Arc<EventShape>,
    values: Vec<Option<Value>>,
    /// Held while a long value is kept whole.
    _lease: Option<Arc<Lease>>,
}

impl MatchedEvent {
    /// From values in shape order; missing trailing values count as absent,
    /// extra values are ignored, JSON null is absent.
    pub fn from_values(shape: &Arc<EventShape>, mut values: Vec<Option<Value>>) -> MatchedEvent {
        values.resize(shape.refs.len(), None);
        let mut leased = 0;
        for (v, long) in values.iter_mut().zip(&shape.long) {
            match v {
                Some(Value::Null) => *v = None,
                Some(Value::String(s)) if *long && s.len() > MAX_VALUE_CHARS => {
                    cut_value(s, MAX_LONG_VALUE_CHARS);
                    leased += s.len();
                }
                Some(value) => cut_strings(value),
                None => {}
            }
        }
        let lease = if leased == 0 {
            None
        } else {
            let lease = Lease::take(leased).map(Arc::new);
            if lease.is_none() {
                // Over the budget: cut as any other value.
                values.iter_mut().flatten().for_each(cut_strings);
            }
            lease
        };
        MatchedEvent {
            shape: Arc::clone(shape),
            values,
            _lease: lease,
        }
    }

    /// Picks the shape's fields out of a whole JSON event.
    pub fn from_json(shape: &Arc<EventShape>, event: &Value) -> MatchedEvent {
        let values = shape
            .parsed
            .iter()
            .map(|r| r.as_ref().and_then(|f| f.resolve(event)).cloned())
            .collect();
        MatchedEvent::from_values(shape, values)
    }
}

impl MatchedEvent {
    /// Keeps the shape's fields of any event, as they are (an event from
    /// the shim was already cut to [`MAX_VALUE_CHARS`]): what an opened
    /// incident carries to the destination that renders it.
    pub fn capture(shape: &Arc<EventShape>, fields: &dyn Fields) -> MatchedEvent {
        MatchedEvent::from_values(
            shape,
            shape.refs.iter().map(|r| fields.get(r).cloned()).collect(),
        )
    }
}

impl Fields for MatchedEvent {
    fn get(&self, reference: &str) -> Option<&Value> {
        let i = *self.shape.index.get(reference)?;
        self.values[i].as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_found_by_canonical_reference() {
        let shape = EventShape::new(vec![
            "[log.level]".into(),
            "[log][logger]".into(),
            "[message]".into(),
        ]);
        let e = MatchedEvent::from_values(&shape, vec![Some(json!("ERROR")), Some(Value::Null)]);
        assert_eq!(e.get("[log.level]"), Some(&json!("ERROR")));
        assert_eq!(e.get("[log][logger]"), None);
        assert_eq!(e.get("[message]"), None);
        assert_eq!(e.get("[other]"), None);
    }

    #[test]
    fn long_strings_are_cut_to_the_bound_on_a_character_boundary() {
        let shape = EventShape::new(vec!["[message]".into(), "[labels]".into()]);
        let long = "y".repeat(MAX_VALUE_CHARS + 10);
        // 😀 is two UTF-16 units: the cut never splits it.
        let astral = format!("{}😀tail", "z".repeat(MAX_VALUE_CHARS - 1));
        let e = MatchedEvent::from_values(
            &shape,
            vec![Some(json!(long)), Some(json!({"a": [astral.clone()]}))],
        );
        assert_eq!(
            e.get("[message]").and_then(Value::as_str).map(str::len),
            Some(MAX_VALUE_CHARS)
        );
        assert_eq!(
            e.get("[labels]").unwrap()["a"][0],
            json!("z".repeat(MAX_VALUE_CHARS - 1))
        );
        let exact = "é".repeat(MAX_VALUE_CHARS);
        let e = MatchedEvent::from_json(&shape, &json!({"message": exact.clone()}));
        assert_eq!(e.get("[message]"), Some(&json!(exact)));
    }

    #[test]
    fn from_json_follows_logstash_reference_rules() {
        let shape = EventShape::new(vec![
            "[log.level]".into(),
            "[log][logger]".into(),
            "[log][level]".into(),
        ]);
        let event = json!({"log.level": "error", "log": {"logger": "app.db"}});
        let e = MatchedEvent::from_json(&shape, &event);
        assert_eq!(e.get("[log.level]"), Some(&json!("error")));
        assert_eq!(e.get("[log][logger]"), Some(&json!("app.db")));
        assert_eq!(e.get("[log][level]"), None);
    }

    #[test]
    fn a_long_reference_keeps_more_within_the_process_budget() {
        let shape = EventShape::with_long(
            vec!["[message]".into(), "[error.stack_trace]".into()],
            &["[error.stack_trace]".to_string()],
        );
        assert_eq!(shape.bounds(), [MAX_VALUE_CHARS, MAX_LONG_VALUE_CHARS]);
        let trace = "t".repeat(64 * 1024);
        let long = || {
            MatchedEvent::from_values(
                &shape,
                vec![Some(json!(trace.clone())), Some(json!(trace.clone()))],
            )
        };
        let e = long();
        assert_eq!(
            e.get("[message]").unwrap().as_str().unwrap().len(),
            MAX_VALUE_CHARS
        );
        assert_eq!(
            e.get("[error.stack_trace]")
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            trace.len()
        );
        // The budget holds: past it, long values are cut like the rest.
        let many: Vec<MatchedEvent> = (0..(LONG_VALUES_BUDGET / trace.len() + 10))
            .map(|_| long())
            .collect();
        let last = many.last().unwrap().get("[error.stack_trace]").unwrap();
        assert_eq!(last.as_str().unwrap().len(), MAX_VALUE_CHARS);
        assert!(LONG_VALUES.load(Ordering::Acquire) <= LONG_VALUES_BUDGET);
        drop(many);
        drop(e);
    }
}
