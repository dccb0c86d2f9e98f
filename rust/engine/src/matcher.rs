//! The hot path: does this event's level raise an alert?
//!
//! Logstash hands the plugin batches of about 125 events; the shim packs their
//! level values into one buffer and the matcher answers for the whole batch in
//! one call. Nothing here allocates.

use std::collections::BTreeSet;

use crate::level::Level;

/// Decides which levels alert. Built once from the configuration.
#[derive(Clone, Debug)]
pub struct Matcher {
    accept: [bool; Level::ALL.len()],
}

impl Matcher {
    /// A matcher that accepts exactly `levels`.
    pub fn new(levels: &BTreeSet<Level>) -> Matcher {
        let mut accept = [false; Level::ALL.len()];
        for l in levels {
            accept[*l as usize] = true;
        }
        Matcher { accept }
    }

    /// Returns true if and only if `level` is one the configuration alerts on.
    #[inline]
    pub fn accepts(&self, level: Level) -> bool {
        self.accept[level as usize]
    }

    /// Returns the level if the raw level text alerts.
    #[inline]
    pub fn match_raw(&self, raw: &[u8]) -> Option<Level> {
        Level::parse(raw).filter(|l| self.accepts(*l))
    }

    /// Returns the level if a JSON level value (string or syslog number) alerts.
    pub fn match_json(&self, value: &serde_json::Value) -> Option<Level> {
        Level::from_json(value).filter(|l| self.accepts(*l))
    }

    /// Writes 1 into `mask[i]` for each level that alerts and 0 otherwise,
    /// returning how many alerted. `mask` must be at least as long as the batch.
    pub fn match_batch<'a, I>(&self, levels: I, mask: &mut [u8]) -> usize
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut matched = 0;
        for (slot, raw) in mask.iter_mut().zip(levels) {
            let hit = self.match_raw(raw).is_some();
            *slot = hit as u8;
            matched += hit as usize;
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(levels: &[Level]) -> Matcher {
        Matcher::new(&levels.iter().copied().collect())
    }

    #[test]
    fn default_levels_match_every_vocabulary_of_error_and_worse() {
        let m = matcher(&[Level::Error, Level::Fatal]);
        for hit in [
            "ERROR", "error", " Error ", "err", "FATAL", "CRITICAL", "crit", "alert", "emerg",
            "panic", "dpanic", "3", "0",
        ] {
            assert!(m.match_raw(hit.as_bytes()).is_some(), "{hit}");
        }
        for miss in [
            "WARN",
            "warning",
            "INFO",
            "Information",
            "notice",
            "debug",
            "4",
            "7",
            "",
            "ERRORS",
            "-",
        ] {
            assert!(m.match_raw(miss.as_bytes()).is_none(), "{miss}");
        }
    }

    #[test]
    fn batch_writes_a_mask_and_counts() {
        let m = matcher(&[Level::Error, Level::Fatal]);
        let levels: Vec<&[u8]> = vec![b"INFO", b"ERROR", b"", b"fatal", b"\xff\xfe", b"WARN"];
        let mut mask = [9u8; 6];
        assert_eq!(m.match_batch(levels, &mut mask), 2);
        assert_eq!(mask, [0, 1, 0, 1, 0, 0]);
    }

    #[test]
    fn json_levels() {
        let m = matcher(&[Level::Warn]);
        assert_eq!(
            m.match_json(&serde_json::json!("warning")),
            Some(Level::Warn)
        );
        assert_eq!(m.match_json(&serde_json::json!(4)), Some(Level::Warn));
        assert_eq!(m.match_json(&serde_json::json!(3)), None);
        assert_eq!(m.match_json(&serde_json::json!(["WARN"])), None);
    }
}
