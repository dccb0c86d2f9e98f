//! The leaky bucket Slack rate-limits webhooks with, and the busiest-second counter.
//!
//! Both take the time as a parameter so tests can walk a fake timeline without sleeping.

use crate::options::RateLimit;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Longest `Retry-After` ever answered, so a tiny `per_second` cannot ask a client to
/// wait for hours.
const MAX_RETRY_AFTER_SECS: u64 = 60;

/// A bucket that holds `burst` posts and drains `per_second` of them each second.
#[derive(Debug)]
pub(crate) struct LeakyBucket {
    limit: RateLimit,
    level: f64,
    last: Option<Instant>,
}

impl LeakyBucket {
    pub(crate) fn new(limit: RateLimit) -> LeakyBucket {
        LeakyBucket {
            limit,
            level: 0.0,
            last: None,
        }
    }

    /// Admits one post at `now`, or returns the whole seconds to wait before one fits
    /// (at least 1, as `Retry-After` is in whole seconds and 0 would invite a spin).
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), u64> {
        if let Some(last) = self.last {
            let drained = now.saturating_duration_since(last).as_secs_f64() * self.limit.per_second;
            self.level = (self.level - drained).max(0.0);
        }
        self.last = Some(now);
        let burst = f64::from(self.limit.burst.max(1));
        if self.level + 1.0 <= burst {
            self.level += 1.0;
            return Ok(());
        }
        let wait = (self.level + 1.0 - burst) / self.limit.per_second;
        Err((wait.ceil() as u64).clamp(1, MAX_RETRY_AFTER_SECS))
    }

    /// Returns true if and only if the bucket has drained empty by `now`, so that
    /// forgetting it changes nothing.
    pub(crate) fn is_drained(&self, now: Instant) -> bool {
        match self.last {
            None => true,
            Some(last) => {
                let drained =
                    now.saturating_duration_since(last).as_secs_f64() * self.limit.per_second;
                drained >= self.level
            }
        }
    }
}

/// Counts posts in a sliding one-second window and remembers the most ever seen in one.
/// Holds at most one second of arrival times.
#[derive(Debug, Default)]
pub(crate) struct BusiestSecond {
    recent: VecDeque<Instant>,
    max: u32,
}

impl BusiestSecond {
    /// Records a post at `at` (not earlier than the previous one) and returns the most
    /// posts seen within any one second so far.
    pub(crate) fn record(&mut self, at: Instant) -> u32 {
        while let Some(&first) = self.recent.front() {
            if at.saturating_duration_since(first) >= Duration::from_secs(1) {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        self.recent.push_back(at);
        self.max = self.max.max(self.recent.len() as u32);
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bucket_admits_a_burst_then_asks_to_wait() {
        let t0 = Instant::now();
        let mut bucket = LeakyBucket::new(RateLimit {
            per_second: 1.0,
            burst: 3,
        });
        for _ in 0..3 {
            assert_eq!(bucket.admit(t0), Ok(()));
        }
        assert_eq!(bucket.admit(t0), Err(1));
        // Half a second drains half a post: still full.
        assert_eq!(bucket.admit(t0 + ms(500)), Err(1));
        assert_eq!(bucket.admit(t0 + ms(1000)), Ok(()));
        assert_eq!(bucket.admit(t0 + ms(1000)), Err(1));
    }

    #[test]
    fn bucket_knows_when_it_has_drained() {
        let t0 = Instant::now();
        let mut bucket = LeakyBucket::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        assert!(bucket.is_drained(t0));
        bucket.admit(t0).unwrap();
        bucket.admit(t0).unwrap();
        assert!(!bucket.is_drained(t0 + ms(999)));
        assert!(bucket.is_drained(t0 + ms(1000)));
    }

    #[test]
    fn bucket_paced_at_its_rate_is_never_limited() {
        let t0 = Instant::now();
        let mut bucket = LeakyBucket::new(RateLimit {
            per_second: 1.0,
            burst: 1,
        });
        for i in 0..100 {
            assert_eq!(bucket.admit(t0 + ms(1000 * i)), Ok(()), "post {i}");
        }
    }

    #[test]
    fn slow_bucket_asks_for_longer_waits_within_a_cap() {
        let t0 = Instant::now();
        let mut bucket = LeakyBucket::new(RateLimit {
            per_second: 0.25,
            burst: 1,
        });
        assert_eq!(bucket.admit(t0), Ok(()));
        assert_eq!(bucket.admit(t0), Err(4));
        let mut glacial = LeakyBucket::new(RateLimit {
            per_second: 0.0001,
            burst: 1,
        });
        assert_eq!(glacial.admit(t0), Ok(()));
        assert_eq!(glacial.admit(t0), Err(MAX_RETRY_AFTER_SECS));
    }

    #[test]
    fn busiest_second_slides() {
        let t0 = Instant::now();
        let mut busiest = BusiestSecond::default();
        assert_eq!(busiest.record(t0), 1);
        assert_eq!(busiest.record(t0 + ms(400)), 2);
        assert_eq!(busiest.record(t0 + ms(900)), 3);
        // t0 has left the window; 400 and 900 and 1300 remain.
        assert_eq!(busiest.record(t0 + ms(1300)), 3);
        assert_eq!(busiest.record(t0 + ms(1350)), 4);
        // A post exactly one second after another does not share its window.
        assert_eq!(busiest.record(t0 + ms(5000)), 4);
        assert_eq!(busiest.record(t0 + ms(6000)), 4);
        assert_eq!(busiest.recent.len(), 1);
    }
}
