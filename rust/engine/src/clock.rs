//! Time as a parameter.
//!
//! Windows and rate limits are decided on a [`Clock`] so that tests (and the
//! sidecar's replay, which runs on event time) move time by hand instead of
//! sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A moment: monotonic milliseconds for decisions, wall time for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Milliseconds on a monotonic scale whose origin is the clock's own.
    pub mono_ms: u64,
    /// The wall-clock time shown in messages ("repeated since 14:03").
    pub wall: SystemTime,
}

impl Now {
    /// A moment `d` later.
    pub fn after(self, d: Duration) -> Now {
        Now {
            mono_ms: self.mono_ms + d.as_millis() as u64,
            wall: self.wall + d,
        }
    }
}

/// A source of time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Now;
}

/// The real clock: `Instant` for decisions, `SystemTime` for display.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Now {
        Now {
            mono_ms: self.origin.elapsed().as_millis() as u64,
            wall: SystemTime::now(),
        }
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    ms: AtomicU64,
    wall_origin: SystemTime,
}

impl ManualClock {
    /// Starts at monotonic 0 and the given wall time.
    pub fn new(wall_origin: SystemTime) -> ManualClock {
        ManualClock {
            ms: AtomicU64::new(0),
            wall_origin,
        }
    }

    pub fn advance(&self, d: Duration) {
        self.ms.fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Moves to an absolute monotonic time; never backwards.
    pub fn set_ms(&self, ms: u64) {
        self.ms.fetch_max(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Now {
        let ms = self.ms.load(Ordering::SeqCst);
        Now {
            mono_ms: ms,
            wall: self.wall_origin + Duration::from_millis(ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forward_and_only_when_told() {
        let c = ManualClock::new(SystemTime::UNIX_EPOCH);
        assert_eq!(c.now().mono_ms, 0);
        c.advance(Duration::from_secs(2));
        c.set_ms(1000);
        assert_eq!(c.now().mono_ms, 2000);
        assert_eq!(
            c.now().wall,
            SystemTime::UNIX_EPOCH + Duration::from_secs(2)
        );
    }

    #[test]
    fn system_clock_is_monotonic() {
        let c = SystemClock::new();
        let a = c.now().mono_ms;
        assert!(c.now().mono_ms >= a);
    }
}
