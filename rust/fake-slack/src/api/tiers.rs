//! Slack's rate tiers: one leaky bucket per method, and for `chat.postMessage` one
//! per channel. Like the webhook's bucket, they take the time as a parameter.

use super::types::{Method, Tier};
use crate::options::RateLimit;
use crate::rate::LeakyBucket;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Buckets kept at most; past it the drained ones are forgotten (which changes no
/// answer), and if none is drained, all of them (which forgives a burst). Only calls
/// to ever more channels could get there.
const MAX_BUCKETS: usize = 4096;

pub(crate) struct Tiers {
    limits: BTreeMap<Method, Option<Tier>>,
    /// By method and key: the channel for `chat.postMessage`, empty otherwise.
    buckets: HashMap<(Method, String), LeakyBucket>,
}

impl Default for Tiers {
    fn default() -> Tiers {
        Tiers {
            limits: Method::ALL
                .into_iter()
                .map(|m| (m, Tier::default_for(m)))
                .collect(),
            buckets: HashMap::new(),
        }
    }
}

impl Tiers {
    /// The tier of `method`; `None` if it is not limited.
    pub(crate) fn get(&self, method: Method) -> Option<Tier> {
        self.limits.get(&method).copied().flatten()
    }

    /// Sets (or with `None` lifts) the tier of `method`; its buckets start empty.
    /// The tier must be valid (see [`Tier::validate`]).
    pub(crate) fn set(&mut self, method: Method, tier: Option<Tier>) {
        self.limits.insert(method, tier);
        self.buckets.retain(|(m, _), _| *m != method);
    }

    /// Every method's tier, in [`Method::ALL`] order.
    pub(crate) fn all(&self) -> Vec<(Method, Option<Tier>)> {
        Method::ALL.into_iter().map(|m| (m, self.get(m))).collect()
    }

    /// Admits one call of `method` for `key` at `now`, or returns the whole seconds
    /// to wait (at least 1).
    pub(crate) fn admit(&mut self, method: Method, key: &str, now: Instant) -> Result<(), u64> {
        let Some(tier) = self.get(method) else {
            return Ok(());
        };
        let id = (method, key.to_string());
        if !self.buckets.contains_key(&id) && self.buckets.len() >= MAX_BUCKETS {
            self.buckets.retain(|_, b| !b.is_drained(now));
            if self.buckets.len() >= MAX_BUCKETS {
                self.buckets.clear();
            }
        }
        self.buckets
            .entry(id)
            .or_insert_with(|| {
                LeakyBucket::new(RateLimit {
                    per_second: tier.per_minute / 60.0,
                    burst: tier.burst,
                })
            })
            .admit(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn posts_are_limited_per_channel_and_other_methods_per_workspace() {
        let mut tiers = Tiers::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(tiers.admit(Method::PostMessage, "C1", t0), Ok(()));
        }
        assert_eq!(tiers.admit(Method::PostMessage, "C1", t0), Err(1));
        assert_eq!(tiers.admit(Method::PostMessage, "C2", t0), Ok(()));
        assert_eq!(tiers.admit(Method::Update, "", t0), Ok(()));
        assert_eq!(
            tiers.admit(Method::PostMessage, "C1", t0 + Duration::from_secs(1)),
            Ok(())
        );
        for _ in 0..1000 {
            assert_eq!(tiers.admit(Method::Upload, "", t0), Ok(()), "no tier");
        }
    }

    #[test]
    fn a_tier_can_be_tightened_or_lifted() {
        let mut tiers = Tiers::default();
        let t0 = Instant::now();
        tiers.set(
            Method::Update,
            Some(Tier {
                per_minute: 6.0,
                burst: 1,
            }),
        );
        assert_eq!(tiers.admit(Method::Update, "", t0), Ok(()));
        assert_eq!(tiers.admit(Method::Update, "", t0), Err(10));
        tiers.set(Method::Update, None);
        assert_eq!(tiers.get(Method::Update), None);
        for _ in 0..100 {
            assert_eq!(tiers.admit(Method::Update, "", t0), Ok(()));
        }
    }

    #[test]
    fn buckets_are_bounded() {
        let mut tiers = Tiers::default();
        let t0 = Instant::now();
        for i in 0..MAX_BUCKETS + 10 {
            tiers
                .admit(Method::PostMessage, &format!("c{i}"), t0)
                .unwrap();
        }
        assert!(tiers.buckets.len() <= MAX_BUCKETS);
    }
}
