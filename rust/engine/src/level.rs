//! Log levels as the many logging libraries spell them, folded onto one scale.
//!
//! Users ship logs from log4j/logback, Python, syslog, Go/zap, .NET/Serilog and
//! Node/pino through the same pipeline, so the engine understands all of their
//! vocabularies. Parsing works on raw bytes in registers: it is on the
//! per-event hot path and must never allocate.

use std::fmt;

/// A canonical severity, ordered from least to most severe.
///
/// `CRITICAL`, `ALERT`, `EMERGENCY`, `PANIC` and `DPANIC` are folded into
/// [`Level::Fatal`]: Python defines `FATAL = CRITICAL`, and every one of them
/// means "wake someone up", which is what `levels => ["ERROR", "FATAL"]`
/// (the default) is asking for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Notice = 3,
    Warn = 4,
    Error = 5,
    Fatal = 6,
}

impl Level {
    /// Every level, least severe first.
    pub const ALL: [Level; 7] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Notice,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// The canonical upper-case name shown in messages.
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Notice => "NOTICE",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// Parses a level as an event carries it: case-insensitive, surrounding
    /// ASCII whitespace ignored. Returns `None` for anything unknown; an
    /// unknown level never matches and is never an error.
    ///
    /// This runs once per event that passes through the pipeline, so it is
    /// branch-light: the (at most 13) bytes are loaded into two words,
    /// lower-cased a word at a time, and looked up in a perfect-hash table of
    /// every known spelling (see [`VOCABULARY`]), one comparison deciding.
    #[inline]
    pub fn parse(raw: &[u8]) -> Option<Level> {
        let raw = raw.trim_ascii();
        // The longest name we know is "informational" (13 bytes).
        if raw.is_empty() || raw.len() > 13 {
            return None;
        }
        let (lo, hi) = load_words(raw);
        let (lo, hi) = (ascii_lowercase_word(lo), ascii_lowercase_word(hi));
        let entry = &TABLE[slot(lo, hi)];
        // The length check keeps "err\0" from reading as "err".
        if entry.lo == lo && entry.hi == hi && usize::from(entry.len) == raw.len() {
            entry.level
        } else {
            None
        }
    }

    /// Parses a level from a JSON value: strings as [`Level::parse`], whole
    /// numbers as syslog severities (0–7) or pino levels (10–60).
    pub fn from_json(value: &serde_json::Value) -> Option<Level> {
        match value {
            serde_json::Value::String(s) => Level::parse(s.as_bytes()),
            serde_json::Value::Number(n) => {
                let n = n.as_u64()?;
                let mut buf = itoa_small(n)?;
                Level::parse(buf.as_mut_slice())
            }
            _ => None,
        }
    }
}

/// Every spelling [`Level::parse`] knows, lower-case, with its level.
///
/// Syslog numeric severities (7 debug … 0 emergency) and pino's numeric
/// levels (10 trace … 60 fatal) are spelled as digits.
pub const VOCABULARY: &[(&str, Level)] = &[
    ("trace", Level::Trace),
    ("verbose", Level::Trace),
    ("10", Level::Trace),
    ("debug", Level::Debug),
    ("7", Level::Debug),
    ("20", Level::Debug),
    ("info", Level::Info),
    ("information", Level::Info),
    ("informational", Level::Info),
    ("6", Level::Info),
    ("30", Level::Info),
    ("notice", Level::Notice),
    ("5", Level::Notice),
    ("warn", Level::Warn),
    ("warning", Level::Warn),
    ("4", Level::Warn),
    ("40", Level::Warn),
    ("error", Level::Error),
    ("err", Level::Error),
    ("3", Level::Error),
    ("50", Level::Error),
    ("fatal", Level::Fatal),
    ("critical", Level::Fatal),
    ("crit", Level::Fatal),
    ("alert", Level::Fatal),
    ("emerg", Level::Fatal),
    ("emergency", Level::Fatal),
    ("panic", Level::Fatal),
    ("dpanic", Level::Fatal),
    ("2", Level::Fatal),
    ("1", Level::Fatal),
    ("0", Level::Fatal),
    ("60", Level::Fatal),
];

/// One slot of the perfect-hash table: a spelling as two little-endian
/// words (zero-padded) and its length, or an empty slot.
#[derive(Clone, Copy)]
struct Entry {
    lo: u64,
    hi: u64,
    len: u8,
    level: Option<Level>,
}

const SLOT_BITS: u32 = 6;
/// Found by trying random odd multipliers until every spelling in
/// [`VOCABULARY`] had a slot of its own; [`build_table`] checks it when
/// compiling, so a spelling added without a new multiplier fails the build.
const MULTIPLIER: u64 = 0xba4c_d0ed_72e2_020b;

const fn slot(lo: u64, hi: u64) -> usize {
    let x = lo ^ hi.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x.wrapping_mul(MULTIPLIER) >> (64 - SLOT_BITS)) as usize
}

static TABLE: [Entry; 1 << SLOT_BITS] = build_table();

const fn build_table() -> [Entry; 1 << SLOT_BITS] {
    let mut table = [Entry {
        lo: 0,
        hi: 0,
        len: 0,
        level: None,
    }; 1 << SLOT_BITS];
    let mut i = 0;
    while i < VOCABULARY.len() {
        let (name, level) = VOCABULARY[i];
        let bytes = name.as_bytes();
        let mut padded = [0u8; 16];
        let mut j = 0;
        while j < bytes.len() {
            padded[j] = bytes[j];
            j += 1;
        }
        let words = u128::from_le_bytes(padded);
        let (lo, hi) = (words as u64, (words >> 64) as u64);
        let s = slot(lo, hi);
        assert!(
            table[s].level.is_none(),
            "two level spellings share a slot: pick a new MULTIPLIER"
        );
        table[s] = Entry {
            lo,
            hi,
            len: bytes.len() as u8,
            level: Some(level),
        };
        i += 1;
    }
    table
}

/// The bytes of `raw` (1..=16 of them) as two little-endian words, zero
/// beyond its end, read with at most four loads and no loop.
#[inline(always)]
fn load_words(raw: &[u8]) -> (u64, u64) {
    if raw.len() >= 8 {
        let lo = u64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
        (lo, load_partial(&raw[8..]))
    } else {
        (load_partial(raw), 0)
    }
}

/// Up to 8 bytes as a little-endian word, zero beyond their end. Two
/// overlapping loads cover every length; the overlap holds the same bytes,
/// so or-ing them is exact.
#[inline(always)]
fn load_partial(s: &[u8]) -> u64 {
    let n = s.len();
    if n >= 4 {
        let a = u32::from_le_bytes(s[..4].try_into().expect("4 bytes")) as u64;
        let b = u32::from_le_bytes(s[n - 4..].try_into().expect("4 bytes")) as u64;
        a | (b << ((n - 4) * 8))
    } else if n >= 2 {
        let a = u16::from_le_bytes([s[0], s[1]]) as u64;
        let b = u16::from_le_bytes([s[n - 2], s[n - 1]]) as u64;
        a | (b << ((n - 2) * 8))
    } else if n == 1 {
        s[0] as u64
    } else {
        0
    }
}

/// Lower-cases the ASCII letters among the 8 bytes of `x`, all at once;
/// every other byte (digits, punctuation, non-ASCII) is left as it is.
#[inline(always)]
fn ascii_lowercase_word(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Per byte, with the top bit cleared so no addition carries into the
    // next byte: the top bit of `ge_a` is set iff the byte is ≥ 'A', of
    // `gt_z` iff it is > 'Z'.
    let low7 = x & !HIGH;
    let ge_a = low7 + ONES * (0x80 - b'A' as u64);
    let gt_z = low7 + ONES * (0x80 - b'Z' as u64 - 1);
    let upper = ge_a & !gt_z & !x & HIGH;
    x | (upper >> 2)
}

/// Formats a small number (< 100) without allocating.
fn itoa_small(n: u64) -> Option<SmallDigits> {
    if n >= 100 {
        return None;
    }
    let mut d = SmallDigits {
        bytes: [0; 2],
        len: 0,
    };
    if n >= 10 {
        d.bytes = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        d.len = 2;
    } else {
        d.bytes[0] = b'0' + n as u8;
        d.len = 1;
    }
    Some(d)
}

struct SmallDigits {
    bytes: [u8; 2],
    len: usize,
}

impl SmallDigits {
    fn as_mut_slice(&mut self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Option<Level> {
        Level::parse(s.as_bytes())
    }

    #[test]
    fn log4j_and_logback() {
        for (s, l) in [
            ("TRACE", Level::Trace),
            ("DEBUG", Level::Debug),
            ("INFO", Level::Info),
            ("WARN", Level::Warn),
            ("ERROR", Level::Error),
            ("FATAL", Level::Fatal),
        ] {
            assert_eq!(parse(s), Some(l), "{s}");
        }
    }

    #[test]
    fn python() {
        assert_eq!(parse("WARNING"), Some(Level::Warn));
        assert_eq!(parse("CRITICAL"), Some(Level::Fatal));
        assert_eq!(parse("error"), Some(Level::Error));
    }

    #[test]
    fn syslog_names_and_numbers() {
        assert_eq!(parse("notice"), Some(Level::Notice));
        assert_eq!(parse("err"), Some(Level::Error));
        assert_eq!(parse("crit"), Some(Level::Fatal));
        assert_eq!(parse("alert"), Some(Level::Fatal));
        assert_eq!(parse("emerg"), Some(Level::Fatal));
        let by_number = [
            Level::Fatal,
            Level::Fatal,
            Level::Fatal,
            Level::Error,
            Level::Warn,
            Level::Notice,
            Level::Info,
            Level::Debug,
        ];
        for (n, l) in by_number.iter().enumerate() {
            assert_eq!(parse(&n.to_string()), Some(*l), "syslog {n}");
            assert_eq!(Level::from_json(&json!(n)), Some(*l), "syslog json {n}");
        }
        assert_eq!(parse("8"), None);
    }

    #[test]
    fn zap_serilog_pino() {
        assert_eq!(parse("dpanic"), Some(Level::Fatal));
        assert_eq!(parse("panic"), Some(Level::Fatal));
        assert_eq!(parse("Verbose"), Some(Level::Trace));
        assert_eq!(parse("Information"), Some(Level::Info));
        assert_eq!(parse("Fatal"), Some(Level::Fatal));
        assert_eq!(Level::from_json(&json!(50)), Some(Level::Error));
        assert_eq!(Level::from_json(&json!(60)), Some(Level::Fatal));
    }

    #[test]
    fn case_and_whitespace() {
        assert_eq!(parse("  eRrOr \t"), Some(Level::Error));
        assert_eq!(parse("\nWarning\r\n"), Some(Level::Warn));
    }

    #[test]
    fn unknown_and_odd_values_never_match() {
        for s in [
            "",
            "   ",
            "ERRORS",
            "erro",
            "informationals",
            "🔥",
            "에러",
            "e\u{0}rror",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
        assert_eq!(Level::parse(&[0xff, 0xfe]), None);
        assert_eq!(Level::parse(&vec![b'a'; 1 << 20]), None);
        for v in [
            json!(null),
            json!(true),
            json!(3.5),
            json!(-1),
            json!(1000),
            json!(["ERROR"]),
            json!({"a": 1}),
        ] {
            assert_eq!(Level::from_json(&v), None, "{v}");
        }
    }

    #[test]
    fn every_spelling_of_the_vocabulary_parses_in_any_case() {
        for (name, level) in VOCABULARY {
            assert_eq!(parse(name), Some(*level), "{name}");
            assert_eq!(parse(&name.to_uppercase()), Some(*level), "{name}");
            assert_eq!(parse(&format!(" {name}\t")), Some(*level), "{name}");
        }
    }

    #[test]
    fn near_misses_of_every_spelling_never_match() {
        for (name, _) in VOCABULARY {
            let bytes = name.as_bytes();
            // One byte changed, added or removed, and a NUL appended.
            for i in 0..bytes.len() {
                let mut changed = bytes.to_vec();
                changed[i] ^= 0x01;
                let near = String::from_utf8_lossy(&changed).to_string();
                if VOCABULARY
                    .iter()
                    .all(|(n, _)| !n.eq_ignore_ascii_case(&near))
                {
                    assert_eq!(Level::parse(&changed), None, "{changed:?}");
                }
                let mut shorter = bytes.to_vec();
                shorter.remove(i);
                if VOCABULARY
                    .iter()
                    .all(|(n, _)| n.as_bytes() != shorter.as_slice())
                {
                    assert_eq!(Level::parse(&shorter), None, "{shorter:?}");
                }
            }
            let mut nul = bytes.to_vec();
            nul.push(0);
            assert_eq!(Level::parse(&nul), None, "{nul:?}");
            let mut longer = bytes.to_vec();
            longer.push(b'x');
            assert_eq!(Level::parse(&longer), None, "{longer:?}");
        }
        // Bytes that lower-casing by bit tricks could confuse with letters.
        for s in [
            "@RROR",
            "ERRO[",
            "eRRO\u{7f}",
            "\u{c9}rror",
            "`rror",
            "{rror",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn lowercasing_a_word_matches_the_standard_library_for_every_byte() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b; 8]);
            let expected = u64::from_le_bytes([b.to_ascii_lowercase(); 8]);
            assert_eq!(ascii_lowercase_word(word), expected, "{b:#x}");
        }
    }

    #[test]
    fn loading_words_pads_with_zeros_at_every_length() {
        let text = b"abcdefghijklmnop";
        for n in 1..=16 {
            let mut padded = [0u8; 16];
            padded[..n].copy_from_slice(&text[..n]);
            let words = u128::from_le_bytes(padded);
            assert_eq!(
                load_words(&text[..n]),
                (words as u64, (words >> 64) as u64),
                "{n}"
            );
        }
    }

    #[test]
    fn ordering_is_severity() {
        assert!(Level::Warn < Level::Error && Level::Error < Level::Fatal);
        assert_eq!(Level::ALL.len(), 7);
    }
}
