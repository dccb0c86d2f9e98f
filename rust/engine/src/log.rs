//! Where the engine's own log lines go.
//!
//! Inside Logstash they must reach Logstash's log4j logger, which lives in the
//! JVM; calling into the JVM from the sender thread would tie that thread to
//! JNI. Instead the engine writes to a [`LogSink`]: the JNI library uses a
//! bounded [`BufferedLog`] that the Java shim drains on its own threads, the
//! sidecar writes to stderr.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
        })
    }
}

/// Receives the engine's log lines. Lines never contain the webhook URL.
pub trait LogSink: Send + Sync {
    fn log(&self, level: LogLevel, message: &str);
}

/// Writes `LEVEL message` lines to stderr.
#[derive(Debug, Default)]
pub struct StderrLog;

impl LogSink for StderrLog {
    fn log(&self, level: LogLevel, message: &str) {
        eprintln!("{level:<5} slack_alert: {message}");
    }
}

/// Keeps log lines until someone drains them; bounded, and says how many it
/// had to drop.
#[derive(Debug)]
pub struct BufferedLog {
    inner: Mutex<Buffered>,
    /// Whether `inner` holds anything, set and cleared under its lock: every
    /// batch of every worker asks, and a load keeps the answer's cache line
    /// shared where taking the lock would move it between cores.
    pending: AtomicBool,
}

#[derive(Debug)]
struct Buffered {
    lines: VecDeque<(LogLevel, String)>,
    capacity: usize,
    overflow: u64,
}

impl BufferedLog {
    pub fn new(capacity: usize) -> BufferedLog {
        BufferedLog {
            inner: Mutex::new(Buffered {
                lines: VecDeque::new(),
                capacity: capacity.max(1),
                overflow: 0,
            }),
            pending: AtomicBool::new(false),
        }
    }

    /// Returns true if and only if there are lines to drain.
    pub fn has_lines(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes every buffered line, oldest first.
    pub fn drain(&self) -> Vec<(LogLevel, String)> {
        let mut b = self.inner.lock();
        let mut out: Vec<_> = b.lines.drain(..).collect();
        if b.overflow > 0 {
            out.push((
                LogLevel::Warn,
                format!(
                    "{} log lines were dropped because nobody read them in time",
                    b.overflow
                ),
            ));
            b.overflow = 0;
        }
        self.pending.store(false, Ordering::Release);
        out
    }
}

impl LogSink for BufferedLog {
    fn log(&self, level: LogLevel, message: &str) {
        let mut b = self.inner.lock();
        if b.lines.len() >= b.capacity {
            b.overflow += 1;
        } else {
            b.lines.push_back((level, message.to_string()));
        }
        self.pending.store(true, Ordering::Release);
    }
}

/// Remembers which conditions were already logged, so a failure that repeats
/// for every message is logged once and counted after that.
#[derive(Debug, Default)]
pub(crate) struct LogOnce {
    seen: Mutex<HashSet<String>>,
}

impl LogOnce {
    /// Returns true if and only if `key` was not seen before.
    pub fn first(&self, key: &str) -> bool {
        let mut seen = self.seen.lock();
        // A bounded set: past this many distinct conditions, stay quiet.
        if seen.len() >= 256 {
            return false;
        }
        seen.insert(key.to_string())
    }

    /// Forgets everything, e.g. after Slack recovered.
    pub fn reset(&self) {
        self.seen.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffered_log_is_bounded_and_reports_overflow() {
        let log = BufferedLog::new(2);
        for i in 0..5 {
            log.log(LogLevel::Info, &format!("line {i}"));
        }
        assert!(log.has_lines());
        let lines = log.drain();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].1, "line 0");
        assert!(lines[2].1.starts_with("3 log lines were dropped"));
        assert!(!log.has_lines());
    }

    #[test]
    fn log_once() {
        let once = LogOnce::default();
        assert!(once.first("404 no_service"));
        assert!(!once.first("404 no_service"));
        assert!(once.first("500"));
        once.reset();
        assert!(once.first("500"));
    }
}
