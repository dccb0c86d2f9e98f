//! A token bucket over everything sent to one webhook.

/// Holds up to `burst` tokens and refills `per_minute` tokens a minute.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    capacity: u64,
    /// Refill period of one token, in microseconds.
    period_us: u64,
    /// Tokens, in microseconds-of-refill units (tokens × period_us), so that
    /// arithmetic stays exact.
    level_us: u64,
    last_ms: u64,
}

impl TokenBucket {
    /// A full bucket at time `now_ms`.
    pub fn new(per_minute: u32, burst: u32, now_ms: u64) -> TokenBucket {
        let capacity = u64::from(burst.max(1));
        let period_us = 60_000_000 / u64::from(per_minute.max(1));
        TokenBucket {
            capacity,
            period_us,
            level_us: capacity * period_us,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed_us = now_ms.saturating_sub(self.last_ms).saturating_mul(1000);
        self.last_ms = self.last_ms.max(now_ms);
        self.level_us =
            (self.level_us.saturating_add(elapsed_us)).min(self.capacity * self.period_us);
    }

    /// Takes one token if there is one. Returns true if and only if it did.
    pub fn try_take(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        if self.level_us >= self.period_us {
            self.level_us -= self.period_us;
            true
        } else {
            false
        }
    }

    /// Returns true if and only if a token is available now (takes none).
    pub fn has_token(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        self.level_us >= self.period_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        // 20 a minute = one every 3 s, burst 5.
        let mut b = TokenBucket::new(20, 5, 0);
        let taken = (0..10).filter(|_| b.try_take(0)).count();
        assert_eq!(taken, 5);
        assert!(!b.try_take(2_999));
        assert!(b.try_take(3_000));
        assert!(!b.try_take(3_000));
        // A minute later: 20 more, capped at the burst.
        let taken = (0..30).filter(|_| b.try_take(63_000)).count();
        assert_eq!(taken, 5);
    }

    #[test]
    fn a_long_run_never_exceeds_burst_plus_rate() {
        let mut b = TokenBucket::new(20, 5, 0);
        let mut sent = 0;
        for ms in (0..600_000).step_by(10) {
            if b.try_take(ms) {
                sent += 1;
            }
        }
        // 10 minutes: burst 5 + 200 refilled.
        assert!((200..=205).contains(&sent), "{sent}");
    }

    #[test]
    fn time_going_backwards_does_not_mint_tokens() {
        let mut b = TokenBucket::new(60, 1, 10_000);
        assert!(b.try_take(10_000));
        assert!(!b.try_take(5_000));
        assert!(!b.try_take(10_500));
        assert!(b.try_take(11_000));
        assert!(!b.has_token(11_000));
    }
}
