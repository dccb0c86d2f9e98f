//! The batch buffer: how a batch of events crosses from the JVM.
//!
//! Each worker thread of the Java shim owns one direct `ByteBuffer` and
//! reuses it for every batch; every `batch` call (see [`crate::batch`]) reads
//! its input from it and writes its answer into it, so a stage of a batch
//! costs one JNI crossing and no allocation on the Java side.
//!
//! ```text
//! offset 0                         slot i = [len][level bytes ... ]   (32 bytes)
//!        i * SLOT_SIZE             len 0..=31: ASCII level text in bytes 1..=len
//!                                  len 0xFF (NO_LEVEL): missing, null, too long,
//!                                  non-ASCII or of a type that is not a level
//! offset MASK_OFFSET + i           answer byte for event i:
//!                                  stage LEVELS: 0 = no rule takes it (NOT_CANDIDATE)
//!                                    1 = an alert rule takes its level (ALERT_CANDIDATE):
//!                                        send its key fields (stage KEYS)
//!                                    2 = only flatline rules take it (HEARTBEAT_ONLY):
//!                                        send its heartbeat fields (stage HEARTBEATS)
//!                                  stage KEYS, for the k-th candidate sent:
//!                                    0 DECIDED_UNMATCHED, 1 UNDECIDED (send every
//!                                    field, stage EVENTS), 2 DECIDED_MATCHED
//! offset VALUES_OFFSET             stages KEYS, HEARTBEATS, EVENTS: `length` bytes of
//!                                  field values, each JSON in UTF-8 and a newline
//!                                  (see [`crate::values::decode_lines`])
//! ```
//!
//! The buffer holds at least [`VALUES_OFFSET`] bytes, and `VALUES_OFFSET +
//! length` for a stage with values; the shim grows it for large values.
//! The same constants live on the Java side in
//! `java-shim/plugin/src/main/java/io/slackalert/logstash/NativeEngine.java`;
//! the library reports them (`catalog`) and a JUnit test compares.

/// Bytes per event slot.
pub const SLOT_SIZE: usize = 32;
/// The longest level text a slot carries; longer values are sent as [`NO_LEVEL`].
pub const MAX_LEVEL_LEN: usize = SLOT_SIZE - 1;
/// Events per call. Logstash batches default to 125; the shim splits bigger ones.
pub const MAX_BATCH: usize = 1024;
/// Where the match mask starts.
pub const MASK_OFFSET: usize = MAX_BATCH * SLOT_SIZE;
/// Where field values start, after the slots and the answer bytes: the
/// least size of the buffer.
pub const VALUES_OFFSET: usize = MASK_OFFSET + MAX_BATCH;
/// Stage: match the levels in the slots.
pub const STAGE_LEVELS: i32 = 0;
/// Stage: heartbeats, per heartbeat its `heartbeat_refs` values and how
/// many events it stands for.
pub const STAGE_HEARTBEATS: i32 = 1;
/// Stage: alert candidates' `key_refs` values; decides all but those that
/// get a message of their own.
pub const STAGE_KEYS: i32 = 2;
/// Stage: the `event_refs` values of the events KEYS left undecided.
pub const STAGE_EVENTS: i32 = 3;
/// Length byte of a slot without a usable level.
pub const NO_LEVEL: u8 = 0xFF;
/// LEVELS answer: no rule takes the event's level.
pub const NOT_CANDIDATE: u8 = 0;
/// LEVELS answer: some alert rule takes the event's level.
pub const ALERT_CANDIDATE: u8 = 1;
/// LEVELS answer: only flatline rules take the event (a heartbeat).
pub const HEARTBEAT_ONLY: u8 = 2;
/// Or-ed into a non-negative result when the engine has log lines to drain.
pub const LOGS_PENDING: i32 = 0x4000_0000;
/// Returned instead of a count when the handle is closed or unknown.
pub const CLOSED: i32 = -1;
/// KEYS answer: decided, and no alert rule matched the event (its
/// conditions failed, `exclude` silenced it, or only a flatline rule saw it).
pub const DECIDED_UNMATCHED: u8 = 0;
/// KEYS answer: not decided; a rule posts a message of its own for the
/// event, so the shim submits it again with every field. It matched.
pub const UNDECIDED: u8 = 1;
/// KEYS answer: decided, and an alert rule matched the event (a repeat,
/// below the threshold, rate-limited, dropped).
pub const DECIDED_MATCHED: u8 = 2;

/// The level text of one slot; empty (which never matches) for [`NO_LEVEL`]
/// or any length the layout does not allow.
#[inline]
pub fn level_bytes(slot: &[u8]) -> &[u8] {
    let len = slot[0] as usize;
    if len > MAX_LEVEL_LEN {
        &[]
    } else {
        &slot[1..1 + len]
    }
}

/// Splits a buffer into the levels of the first `count` slots and the mask
/// region for them. `buf` must be at least [`VALUES_OFFSET`] bytes and `count`
/// at most [`MAX_BATCH`] (as [`crate::batch::run`] checks).
pub fn split(buf: &mut [u8], count: usize) -> (impl Iterator<Item = &[u8]>, &mut [u8]) {
    let (slots, rest) = buf.split_at_mut(MASK_OFFSET);
    let levels = slots[..count * SLOT_SIZE]
        .chunks_exact(SLOT_SIZE)
        .map(level_bytes);
    (levels, &mut rest[..count])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer_with(levels: &[Option<&[u8]>]) -> Vec<u8> {
        let mut buf = vec![0xAA; VALUES_OFFSET];
        for (i, level) in levels.iter().enumerate() {
            let slot = &mut buf[i * SLOT_SIZE..(i + 1) * SLOT_SIZE];
            match level {
                Some(text) => {
                    slot[0] = text.len() as u8;
                    slot[1..1 + text.len()].copy_from_slice(text);
                }
                None => slot[0] = NO_LEVEL,
            }
        }
        buf
    }

    #[test]
    fn slots_decode_to_their_level_text() {
        let long = [b'E'; MAX_LEVEL_LEN];
        let mut buf = buffer_with(&[Some(b"ERROR"), None, Some(b""), Some(&long)]);
        let (levels, mask) = split(&mut buf, 4);
        let levels: Vec<&[u8]> = levels.collect();
        assert_eq!(levels, vec![&b"ERROR"[..], b"", b"", &long[..]]);
        assert_eq!(mask.len(), 4);
    }

    #[test]
    fn lengths_the_layout_does_not_allow_read_as_no_level() {
        let mut slot = [b'x'; SLOT_SIZE];
        for len in [32u8, 100, 0xFE, NO_LEVEL] {
            slot[0] = len;
            assert_eq!(level_bytes(&slot), b"");
        }
    }

    #[test]
    fn mask_region_follows_the_slots() {
        let mut buf = buffer_with(&[Some(b"INFO"), Some(b"ERROR")]);
        {
            let (_, mask) = split(&mut buf, 2);
            mask.copy_from_slice(&[0, 1]);
        }
        assert_eq!(&buf[MASK_OFFSET..MASK_OFFSET + 3], &[0, 1, 0xAA]);
    }

    #[test]
    fn a_full_batch_fits() {
        let mut buf = buffer_with(&vec![Some(&b"WARN"[..]); MAX_BATCH]);
        let (levels, mask) = split(&mut buf, MAX_BATCH);
        assert_eq!(levels.filter(|l| *l == b"WARN").count(), MAX_BATCH);
        assert_eq!(mask.len(), MAX_BATCH);
    }
}
