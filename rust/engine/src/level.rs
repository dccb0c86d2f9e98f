//! Log levels as the many logging libraries spell them, folded onto one scale.
//!
//! Users ship logs from log4j/logback, Python, syslog, Go/zap, .NET/Serilog and
//! Node/pino through the same pipeline, so the engine understands all of their
//! vocabularies. Parsing works on raw bytes into a stack buffer: it is on the
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
    #[inline]
    pub fn parse(raw: &[u8]) -> Option<Level> {
        let raw = raw.trim_ascii();
        // The longest name we know is "informational" (13 bytes).
        if raw.is_empty() || raw.len() > 13 {
            return None;
        }
        let mut buf = [0u8; 13];
        let lower = &mut buf[..raw.len()];
        lower.copy_from_slice(raw);
        lower.make_ascii_lowercase();
        Some(match &*lower {
            b"trace" | b"verbose" | b"10" => Level::Trace,
            // Syslog numeric severities: 7 debug ... 0 emergency.
            b"debug" | b"7" | b"20" => Level::Debug,
            b"info" | b"information" | b"informational" | b"6" | b"30" => Level::Info,
            b"notice" | b"5" => Level::Notice,
            b"warn" | b"warning" | b"4" | b"40" => Level::Warn,
            b"error" | b"err" | b"3" | b"50" => Level::Error,
            b"fatal" | b"critical" | b"crit" | b"alert" | b"emerg" | b"emergency" | b"panic"
            | b"dpanic" | b"2" | b"1" | b"0" | b"60" => Level::Fatal,
            _ => return None,
        })
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
    fn ordering_is_severity() {
        assert!(Level::Warn < Level::Error && Level::Error < Level::Fatal);
        assert_eq!(Level::ALL.len(), 7);
    }
}
