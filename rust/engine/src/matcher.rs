//! The hot path: does this event's level raise an alert?
//!
//! Logstash hands the plugin batches of about 125 events; the shim packs their
//! level values into one buffer and the matcher answers for the whole batch in
//! one call. Nothing here allocates.

use std::collections::BTreeSet;

use crate::level::Level;

/// Whether an event goes to the engine, and how, by its level alone.
///
/// The numbers are the LEVELS answers of the JNI layer's batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Candidacy {
    /// No rule takes the event: it costs nothing more.
    None = 0,
    /// Some alert rule takes its level: decide about it over every rule
    /// (flatline rules learn from it too).
    Alert = 1,
    /// Only flatline rules take it: it only says "this group is logging",
    /// so only their group and condition fields are read.
    Heartbeat = 2,
}

/// The [`Candidacy`] of every level, and of an event without a usable one:
/// one table lookup per event. Built once from the configuration.
#[derive(Clone, Debug)]
pub struct Triage {
    by_level: [Candidacy; Level::ALL.len()],
    missing: Candidacy,
}

impl Triage {
    /// `alert`: the union of the alert rules' levels; `heartbeat`: the
    /// union of the flatline rules' levels; `heartbeat_missing`: a flatline
    /// rule takes events whatever their level, also none or one no rule knows.
    pub fn new(
        alert: &BTreeSet<Level>,
        heartbeat: &BTreeSet<Level>,
        heartbeat_missing: bool,
    ) -> Triage {
        let mut by_level = [Candidacy::None; Level::ALL.len()];
        for l in heartbeat {
            by_level[*l as usize] = Candidacy::Heartbeat;
        }
        for l in alert {
            by_level[*l as usize] = Candidacy::Alert;
        }
        Triage {
            by_level,
            missing: if heartbeat_missing {
                Candidacy::Heartbeat
            } else {
                Candidacy::None
            },
        }
    }

    /// The candidacy of an event whose level is `level` (`None`: missing,
    /// unreadable or unknown).
    #[inline]
    pub fn of(&self, level: Option<Level>) -> Candidacy {
        match level {
            Some(l) => self.by_level[l as usize],
            None => self.missing,
        }
    }

    /// The candidacy of a raw level text (empty: no level).
    #[inline]
    pub fn of_raw(&self, raw: &[u8]) -> Candidacy {
        self.of(Level::parse(raw))
    }

    /// Writes each level's [`Candidacy`] (as its number) into `mask[i]`,
    /// returning how many are candidates of either kind. `mask` must be at
    /// least as long as the batch.
    pub fn match_batch<'a, I>(&self, levels: I, mask: &mut [u8]) -> usize
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut candidates = 0;
        for (slot, raw) in mask.iter_mut().zip(levels) {
            let c = self.of_raw(raw) as u8;
            *slot = c;
            candidates += (c != 0) as usize;
        }
        candidates
    }
}

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
    fn triage_tells_alert_candidates_from_heartbeats_and_knows_missing_levels() {
        let alert: BTreeSet<Level> = [Level::Error, Level::Fatal].into_iter().collect();
        let every: BTreeSet<Level> = Level::ALL.iter().copied().collect();
        let t = Triage::new(&alert, &every, true);
        let levels: Vec<&[u8]> = vec![
            b"INFO",
            b"ERROR",
            b"",
            b"fatal",
            b"\xff\xfe",
            b"bogus",
            b"7",
        ];
        let mut mask = [9u8; 7];
        assert_eq!(t.match_batch(levels, &mut mask), 7);
        assert_eq!(mask, [2, 1, 2, 1, 2, 2, 2]);
        assert_eq!(t.of(None), Candidacy::Heartbeat);
        // A flatline rule with levels: only those are heartbeats; no level is none.
        let warn: BTreeSet<Level> = [Level::Warn, Level::Error].into_iter().collect();
        let t = Triage::new(&alert, &warn, false);
        let levels: Vec<&[u8]> = vec![b"WARN", b"ERROR", b"", b"INFO", b"bogus"];
        let mut mask = [9u8; 5];
        assert_eq!(t.match_batch(levels, &mut mask), 2);
        assert_eq!(mask, [2, 1, 0, 0, 0]);
        // Without flatline rules it is the alert matcher.
        let t = Triage::new(&alert, &BTreeSet::new(), false);
        assert_eq!(t.of_raw(b"err"), Candidacy::Alert);
        assert_eq!(t.of_raw(b"WARN"), Candidacy::None);
        assert_eq!(t.of(None), Candidacy::None);
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
