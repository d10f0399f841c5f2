//! A token bucket on the policy's clock: a burst, refilled continuously. Lambda's scale-out
//! (1,000 new environments per 10 s) and Fargate's task launches (100 at once, 20 a second) are
//! both one of these.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    burst: f64,
    rate_per_s: f64,
    tokens: f64,
    refilled_at: Duration,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(burst: u32, rate_per_s: f64, now: Duration) -> Self {
        let burst = f64::from(burst);
        Self { burst, rate_per_s, tokens: burst, refilled_at: now }
    }

    /// Takes one token at `now`, if there is one.
    pub fn take(&mut self, now: Duration) -> bool {
        self.refill(now);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }

    /// When the next token is there (`now` if one is); `None` if the bucket never refills.
    pub fn next_token(&mut self, now: Duration) -> Option<Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            return Some(now);
        }
        (self.rate_per_s > 0.0).then(|| now + Duration::from_secs_f64((1.0 - self.tokens) / self.rate_per_s))
    }

    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate_per_s).min(self.burst);
        self.refilled_at = self.refilled_at.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let mut bucket = TokenBucket::new(100, 20.0, Duration::ZERO);
        assert_eq!((0..150).filter(|_| bucket.take(Duration::ZERO)).count(), 100);
        assert_eq!(bucket.next_token(Duration::ZERO), Some(Duration::from_millis(50)));
        let one_s = Duration::from_secs(1);
        assert_eq!((0..50).filter(|_| bucket.take(one_s)).count(), 20, "20 a second");
        assert!(bucket.take(Duration::from_secs(100)));
        assert_eq!((0..200).filter(|_| bucket.take(Duration::from_secs(100))).count(), 99, "never past the burst");
    }
}
