//! Panic containment for the threads the engine starts.
//!
//! The JNI entry points contain panics on the caller's thread; the engine's
//! own threads (the timer, one sender per destination) must too, or one bug
//! silently stops every window or every delivery. Each of them runs its work
//! in units (a tick, a message) through [`Containment::run`]: a panic ends
//! that unit only, is counted in `internal_errors`, logged the first time,
//! and the thread carries on with the next unit. What the unit held is the
//! caller's to account for (the sender counts the message as undelivered).

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use crate::counters::Counters;
use crate::log::{LogLevel, LogSink};

/// Which of the engine's threads a test-only fault is meant for
/// (see `Engine::inject_panic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineThread {
    /// The timer thread: windows, summaries, flatline alerts.
    Timer,
    /// The sender threads (one per destination); the next message any of
    /// them handles.
    Sender,
}

/// Test-only fault injection: when armed with `n`, the `n`-th next unit of
/// work that checks it panics. Costs one atomic load per unit otherwise.
#[derive(Debug, Default)]
pub(crate) struct FaultHook {
    countdown: AtomicI64,
}

impl FaultHook {
    /// Makes the `n`-th next unit panic; 0 disarms.
    pub fn arm(&self, n: u32) {
        self.countdown.store(n.into(), Ordering::SeqCst);
    }

    /// Panics if this unit is the one the hook was armed for.
    pub fn strike(&self, thread: &str) {
        if self.countdown.load(Ordering::Relaxed) <= 0 {
            return;
        }
        let due = self
            .countdown
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                (c > 0).then_some(c - 1)
            })
            == Ok(1);
        if due {
            panic!("injected panic (test-only, Engine::inject_panic) on the {thread} thread");
        }
    }
}

/// Runs one thread's units of work, containing their panics.
pub(crate) struct Containment {
    /// Named in the log line, e.g. `timer` or `sender`.
    thread: &'static str,
    /// What a panicking unit was doing, for the log line.
    doing: &'static str,
    /// What happens to the work the unit held.
    aftermath: &'static str,
    counters: Arc<Counters>,
    log: Arc<dyn LogSink>,
    logged: AtomicBool,
}

impl Containment {
    pub fn new(
        thread: &'static str,
        doing: &'static str,
        aftermath: &'static str,
        counters: Arc<Counters>,
        log: Arc<dyn LogSink>,
    ) -> Containment {
        Containment {
            thread,
            doing,
            aftermath,
            counters,
            log,
            logged: AtomicBool::new(false),
        }
    }

    /// Runs `unit`; `None` if it panicked (counted, and logged the first
    /// time). `unit` may leave what it borrowed half-updated: the callers'
    /// state stays usable (plain data, locks that do not poison), which is
    /// why unwind safety is asserted rather than proven.
    pub fn run<R>(&self, unit: impl FnOnce() -> R) -> Option<R> {
        match panic::catch_unwind(AssertUnwindSafe(unit)) {
            Ok(r) => Some(r),
            Err(payload) => {
                Counters::add(&self.counters.internal_errors, 1);
                if !self.logged.swap(true, Ordering::Relaxed) {
                    self.log.log(
                        LogLevel::Error,
                        &format!(
                            "bug: the {} thread panicked while {} ({}); {}. The thread carries \
                             on; further panics are counted (internal_errors), not logged",
                            self.thread,
                            self.doing,
                            panic_text(payload.as_ref()),
                            self.aftermath
                        ),
                    );
                }
                None
            }
        }
    }
}

/// A panic's message, shortened, with anything that looks like a URL masked
/// (a panic deep in a transport could quote the webhook).
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        return "a panic with a non-text payload".to_string();
    };
    let masked: Vec<String> = text
        .split(' ')
        .map(|word| {
            if word.contains("://") || word.contains("/services/") {
                "(url)".to_string()
            } else {
                word.to_string()
            }
        })
        .collect();
    let joined = masked.join(" ");
    let mut out: String = joined.chars().take(300).collect();
    if joined.chars().count() > 300 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::BufferedLog;

    #[test]
    fn a_panicking_unit_is_counted_logged_once_and_the_next_one_runs() {
        let counters = Arc::new(Counters::default());
        let log = Arc::new(BufferedLog::new(16));
        let c = Containment::new(
            "timer",
            "running windows",
            "nothing was lost",
            Arc::clone(&counters),
            log.clone(),
        );
        let hook = FaultHook::default();
        hook.arm(2);
        assert_eq!(
            c.run(|| {
                hook.strike("timer");
                1
            }),
            Some(1)
        );
        assert_eq!(c.run(|| hook.strike("timer")), None);
        assert_eq!(c.run(|| panic!("again")), None::<()>);
        assert_eq!(c.run(|| 3), Some(3));
        assert_eq!(counters.internal_errors.load(Ordering::Relaxed), 2);
        let lines = log.drain();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].1.contains("the timer thread panicked"),
            "{lines:?}"
        );
        assert!(lines[0].1.contains("injected panic"), "{lines:?}");
    }

    #[test]
    fn panic_text_masks_urls() {
        let payload: Box<dyn Any + Send> = Box::new(
            "could not post to https://hooks.slack.com/services/T/B/secret now".to_string(),
        );
        let text = panic_text(payload.as_ref());
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("(url)"), "{text}");
    }
}
