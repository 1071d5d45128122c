//! Per-caller rate limits: a token bucket per caller, refilled continuously.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Takes one call from `key`'s bucket; `false` when it is empty.
    pub fn try_acquire(&self, key: &str) -> bool {
        self.try_acquire_at(key, Instant::now())
    }

    fn try_acquire_at(&self, key: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Bounded memory under a flood of distinct callers: full buckets carry no
            // state worth keeping.
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.refilled).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            refilled: now,
        });
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_caller_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let limiter = RateLimiter::new(10, 5);
        let t0 = Instant::now();
        let granted = (0..20).filter(|_| limiter.try_acquire_at("a", t0)).count();
        assert_eq!(granted, 5);
        assert!(limiter.try_acquire_at("b", t0));
        // A tenth of a second later, one more call for "a".
        let t1 = t0 + Duration::from_millis(100);
        assert!(limiter.try_acquire_at("a", t1));
        assert!(!limiter.try_acquire_at("a", t1));
    }
}
