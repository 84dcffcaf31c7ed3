//! How long to wait before retrying a call: the server's `retry-after-ms` / `retry-after` when it
//! sent one (parsed in `ratelimit.rs`), else exponential backoff with full jitter.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts after the first for transient failures (429, 5xx, timeouts, connection errors).
    pub max_retries: u32,
    /// Attempts after the first answered 429: a storm the server tells us to sit out is not a
    /// broken request, so it gets a longer budget.
    pub max_rate_limited: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            max_rate_limited: 20,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based), preferring what the server asked for.
    pub fn delay(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        if let Some(asked) = asked {
            return asked.min(self.max_delay);
        }
        let cap = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        // Full jitter: spread the retries of many workers so they do not stampede together.
        let millis =
            rand::rng().random_range(cap.as_millis() as u64 / 2..=cap.as_millis().max(1) as u64);
        Duration::from_millis(millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_hints_win_and_are_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(5, Some(Duration::from_millis(150))),
            Duration::from_millis(150)
        );
        // Absurd values are capped, never a panic.
        assert_eq!(p.delay(0, Some(Duration::MAX)), p.max_delay);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 10,
            max_rate_limited: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d0 = p.delay(0, None);
            assert!(
                d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100),
                "{d0:?}"
            );
            let d3 = p.delay(3, None);
            assert!(
                d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800),
                "{d3:?}"
            );
            assert!(p.delay(12, None) <= Duration::from_secs(1));
        }
    }
}
