//! One stage of a batch, run on an engine: what the `batch` entry point does
//! once it holds the buffer (laid out as [`crate::slots`] says).
//!
//! A chunk of up to [`MAX_BATCH`] events goes through at most four stages,
//! each one crossing: LEVELS sorts the events by their level into alert
//! candidates, heartbeats and the rest; HEARTBEATS lets the flatline rules
//! learn from the heartbeats; KEYS decides about the candidates from the few
//! fields a decision reads; EVENTS sends every field of the few that get a
//! message of their own. In an error storm almost every candidate is a
//! repeat, decided by KEYS.
//!
//! ```
//! use std::sync::Arc;
//! use slack_alert_engine::{BufferedLog, Config, Engine};
//! use slack_alert_jni::{batch, slots};
//!
//! let config = Config::from_json(r#"{"dry_run": true}"#).unwrap();
//! let engine = Engine::start(config, Arc::new(BufferedLog::new(16))).unwrap();
//! let mut buf = vec![0u8; slots::VALUES_OFFSET];
//! buf[0] = 5;
//! buf[1..6].copy_from_slice(b"ERROR");
//! buf[slots::SLOT_SIZE] = slots::NO_LEVEL;
//! assert_eq!(batch::run(&engine, slots::STAGE_LEVELS, &mut buf, 2, 2), Ok(1));
//! assert_eq!(buf[slots::MASK_OFFSET..slots::MASK_OFFSET + 2], [1, 0]);
//! engine.shutdown();
//! ```

use slack_alert_engine::{Decision, Engine};

use crate::slots::{
    self, CLOSED, DECIDED_MATCHED, DECIDED_UNMATCHED, MASK_OFFSET, MAX_BATCH, STAGE_EVENTS,
    STAGE_HEARTBEATS, STAGE_KEYS, STAGE_LEVELS, UNDECIDED, VALUES_OFFSET,
};
use crate::values;

/// Runs `stage` over `count` events in `buf`; `length` is, for LEVELS, how
/// many events the chunk holds (those the shim decided from the engine's
/// published level table too, so that the `events` counter sees them all),
/// and for the other stages the bytes of values at [`VALUES_OFFSET`].
///
/// Returns the stage's count (LEVELS: candidates of either kind; KEYS:
/// events left undecided; HEARTBEATS and EVENTS: events taken), or
/// [`CLOSED`] once the engine is shut down. An error names what the shim
/// broke of the layout.
pub fn run(
    engine: &Engine,
    stage: i32,
    buf: &mut [u8],
    count: usize,
    length: usize,
) -> Result<i32, String> {
    if count > MAX_BATCH {
        return Err(format!("count must be 0..={MAX_BATCH}, got {count}"));
    }
    if buf.len() < VALUES_OFFSET {
        return Err(format!(
            "the batch buffer must hold at least {VALUES_OFFSET} bytes, got {}",
            buf.len()
        ));
    }
    let (head, tail) = buf.split_at_mut(VALUES_OFFSET);
    if stage == STAGE_LEVELS {
        if length < count {
            return Err(format!(
                "a LEVELS chunk holds at least its {count} slots, got {length} events"
            ));
        }
        let (levels, mask) = slots::split(head, count);
        let matched = engine.triage().match_batch(levels, mask);
        engine.note_seen(length as u64);
        return Ok(matched as i32);
    }
    let Some(text) = tail.get(..length) else {
        return Err(format!(
            "values: the buffer holds {} bytes of values, {length} were sent",
            tail.len()
        ));
    };
    match stage {
        STAGE_HEARTBEATS => heartbeats(engine, text, count),
        STAGE_KEYS => keys(
            engine,
            text,
            count,
            &mut head[MASK_OFFSET..MASK_OFFSET + count],
        ),
        STAGE_EVENTS => events(engine, text, count),
        _ => Err(format!("stage must be 0..=3, got {stage}")),
    }
}

/// `count × width` values, or an error naming the stage's references.
fn decode(
    text: &[u8],
    count: usize,
    width: usize,
    refs: &str,
) -> Result<std::vec::IntoIter<Option<serde_json::Value>>, String> {
    let expected = count
        .checked_mul(width)
        .ok_or_else(|| format!("count × {refs} overflows"))?;
    Ok(values::decode_lines(text, expected)?.into_iter())
}

/// KEYS: writes for each candidate [`DECIDED_UNMATCHED`], [`DECIDED_MATCHED`]
/// or, when a rule posts a message of its own for it, [`UNDECIDED`] (then
/// nothing was decided: the shim sends it again through EVENTS).
fn keys(engine: &Engine, text: &[u8], count: usize, mask: &mut [u8]) -> Result<i32, String> {
    let width = engine.key_refs().len();
    let mut values = decode(text, count, width, "keyRefs")?;
    let mut undecided = 0;
    let mut closed = false;
    for flag in mask.iter_mut() {
        let event = engine.event_from_key_values(values.by_ref().take(width).collect());
        *flag = DECIDED_UNMATCHED;
        match engine.submit_keys(&event) {
            None => {
                *flag = UNDECIDED;
                undecided += 1;
            }
            Some(Decision::Closed) => closed = true,
            Some(decision) => *flag = mask_of(decision),
        }
    }
    Ok(if closed { CLOSED } else { undecided })
}

/// HEARTBEATS: per heartbeat the values of `heartbeat_refs`, then how many
/// events of the chunk it stands for (a positive whole number).
fn heartbeats(engine: &Engine, text: &[u8], count: usize) -> Result<i32, String> {
    let width = engine.heartbeat_refs().len();
    let mut values = decode(text, count, width + 1, "(heartbeatRefs + 1)")?;
    for k in 0..count {
        let event = engine.event_from_heartbeat_values(values.by_ref().take(width).collect());
        let stands_for = values
            .next()
            .flatten()
            .and_then(|n| n.as_u64())
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                format!(
                    "values: heartbeat {k} must end with how many events it stands for (a positive whole number)"
                )
            })?;
        if !engine.heartbeat(&event, stands_for) {
            return Ok(CLOSED);
        }
    }
    Ok(count as i32)
}

/// EVENTS: every field of the events KEYS left undecided.
fn events(engine: &Engine, text: &[u8], count: usize) -> Result<i32, String> {
    let width = engine.event_refs().len();
    let mut values = decode(text, count, width, "eventRefs")?;
    let mut submitted = 0;
    let mut closed = false;
    for _ in 0..count {
        let event = engine.event_from_values(values.by_ref().take(width).collect());
        match engine.submit(&event) {
            Decision::Closed => closed = true,
            _ => submitted += 1,
        }
    }
    Ok(if closed { CLOSED } else { submitted })
}

/// The KEYS answer of a decision the engine took: whether an alert rule
/// matched the event, so that Logstash's `add_field`/`add_tag` apply to it.
fn mask_of(decision: Decision) -> u8 {
    match decision {
        Decision::Alerted
        | Decision::Repeat
        | Decision::RateLimited
        | Decision::Dropped
        | Decision::BelowThreshold => DECIDED_MATCHED,
        Decision::Ignored | Decision::Closed => DECIDED_UNMATCHED,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use slack_alert_engine::{BufferedLog, Config};

    use super::*;
    use crate::slots::{ALERT_CANDIDATE, HEARTBEAT_ONLY, NOT_CANDIDATE, NO_LEVEL, SLOT_SIZE};

    fn engine(config: &str) -> Engine {
        Engine::start(
            Config::from_json(config).unwrap(),
            Arc::new(BufferedLog::new(64)),
        )
        .unwrap()
    }

    /// A buffer with these levels in its first slots and these values lines.
    fn buffer(levels: &[&[u8]], values: &[&str]) -> (Vec<u8>, usize) {
        let mut text = Vec::new();
        for v in values {
            text.extend_from_slice(v.as_bytes());
            text.push(b'\n');
        }
        let mut buf = vec![0xAA; VALUES_OFFSET + text.len()];
        for (i, l) in levels.iter().enumerate() {
            let slot = &mut buf[i * SLOT_SIZE..];
            if l.is_empty() {
                slot[0] = NO_LEVEL;
            } else {
                slot[0] = l.len() as u8;
                slot[1..1 + l.len()].copy_from_slice(l);
            }
        }
        buf[VALUES_OFFSET..].copy_from_slice(&text);
        (buf, text.len())
    }

    #[test]
    fn the_answer_says_whether_an_alert_rule_matched() {
        for d in [
            Decision::Alerted,
            Decision::Repeat,
            Decision::RateLimited,
            Decision::Dropped,
            Decision::BelowThreshold,
        ] {
            assert_eq!(mask_of(d), DECIDED_MATCHED, "{d:?}");
        }
        // Excluded events and a flatline rule's heartbeats are Ignored.
        assert_eq!(mask_of(Decision::Ignored), DECIDED_UNMATCHED);
        assert_eq!(mask_of(Decision::Closed), DECIDED_UNMATCHED);
        assert_ne!(UNDECIDED, DECIDED_MATCHED);
        assert_ne!(UNDECIDED, DECIDED_UNMATCHED);
    }

    #[test]
    fn levels_tell_alert_candidates_from_heartbeats_and_count_every_event() {
        let e = engine(
            r#"{"dry_run": true, "rules": [
                {"name": "errors"},
                {"name": "quiet", "type": "flatline", "silence": "10m"}]}"#,
        );
        let (mut buf, _) = buffer(&[b"ERROR", b"INFO", b"", b"nonsense"], &[]);
        // Six events in the chunk: two more the shim decided from the table.
        assert_eq!(run(&e, STAGE_LEVELS, &mut buf, 4, 6), Ok(4));
        assert_eq!(
            buf[MASK_OFFSET..MASK_OFFSET + 4],
            [
                ALERT_CANDIDATE,
                HEARTBEAT_ONLY,
                HEARTBEAT_ONLY,
                HEARTBEAT_ONLY
            ]
        );
        assert_eq!(e.counter("events"), Some(6));
        assert_eq!(e.heartbeat_refs(), ["[service.name]", "[service][name]"]);
        e.shutdown();

        let simple = engine(r#"{"dry_run": true}"#);
        let (mut buf, _) = buffer(&[b"ERROR", b"INFO", b"", b"nonsense"], &[]);
        assert_eq!(run(&simple, STAGE_LEVELS, &mut buf, 4, 4), Ok(1));
        assert_eq!(
            buf[MASK_OFFSET..MASK_OFFSET + 4],
            [ALERT_CANDIDATE, NOT_CANDIDATE, NOT_CANDIDATE, NOT_CANDIDATE]
        );
        simple.shutdown();
    }

    /// The values of `refs` for an ERROR event saying "disk full", as JSON.
    fn disk_full(refs: &[String]) -> Vec<&'static str> {
        refs.iter()
            .map(|r| match r.as_str() {
                "[log.level]" => "\"ERROR\"",
                "[message]" => "\"disk full\"",
                _ => "null",
            })
            .collect()
    }

    #[test]
    fn keys_decide_repeats_and_leave_first_occurrences_to_events() {
        let e = engine(r#"{"dry_run": true}"#);
        let one = disk_full(e.key_refs());
        let lines: Vec<&str> = one.iter().chain(one.iter()).copied().collect();
        let (mut buf, length) = buffer(&[], &lines);
        // Both are first occurrences: neither is decided.
        assert_eq!(run(&e, STAGE_KEYS, &mut buf, 2, length), Ok(2));
        assert_eq!(buf[MASK_OFFSET..MASK_OFFSET + 2], [UNDECIDED, UNDECIDED]);
        let all = disk_full(e.event_refs());
        let (mut full, length) = buffer(&[], &all);
        assert_eq!(run(&e, STAGE_EVENTS, &mut full, 1, length), Ok(1));
        assert_eq!(e.counter("alerts"), Some(1));
        // Now a repeat: decided from its keys, matched.
        assert_eq!(run(&e, STAGE_KEYS, &mut buf, 1, length_of(&one)), Ok(0));
        assert_eq!(buf[MASK_OFFSET], DECIDED_MATCHED);
        assert_eq!(e.counter("repeats"), Some(1));
        e.shutdown();
        assert_eq!(
            run(&e, STAGE_KEYS, &mut buf, 1, length_of(&one)),
            Ok(CLOSED)
        );
    }

    fn length_of(lines: &[&str]) -> usize {
        lines.iter().map(|l| l.len() + 1).sum()
    }

    #[test]
    fn a_broken_layout_is_named() {
        let e = engine(r#"{"dry_run": true}"#);
        let mut small = vec![0u8; VALUES_OFFSET - 1];
        assert!(run(&e, STAGE_LEVELS, &mut small, 1, 1)
            .unwrap_err()
            .contains("at least 33792 bytes"));
        let (mut buf, length) = buffer(&[], &["1"]);
        assert_eq!(
            run(&e, STAGE_LEVELS, &mut buf, MAX_BATCH + 1, MAX_BATCH + 1).unwrap_err(),
            "count must be 0..=1024, got 1025"
        );
        assert!(run(&e, STAGE_LEVELS, &mut buf, 3, 2)
            .unwrap_err()
            .contains("at least its 3 slots"));
        assert!(run(&e, STAGE_EVENTS, &mut buf, 1, length + 1)
            .unwrap_err()
            .contains("values: the buffer holds 2 bytes"));
        assert!(run(&e, STAGE_KEYS, &mut buf, 1, length)
            .unwrap_err()
            .starts_with("fields: expected"));
        assert_eq!(
            run(&e, 7, &mut buf, 0, 0).unwrap_err(),
            "stage must be 0..=3, got 7"
        );
        let (mut beat, length) = buffer(&[], &["\"checkout\"", "null", "0"]);
        let flatline = engine(
            r#"{"dry_run": true, "rules": [{"name": "quiet", "type": "flatline", "silence": "10m"}]}"#,
        );
        assert!(run(&flatline, STAGE_HEARTBEATS, &mut beat, 1, length)
            .unwrap_err()
            .contains("how many events it stands for"));
        e.shutdown();
        flatline.shutdown();
    }
}
