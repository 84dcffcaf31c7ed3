//! How long to wait before retrying a call: the server's `retry-after-ms` / `retry-after` when it
//! sends one, else exponential backoff with full jitter.

use rand::Rng;
use reqwest::header::HeaderMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts after the first for transient failures (429, 5xx, timeouts, connection errors).
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based), preferring what the server asked for.
    pub fn delay(&self, attempt: u32, headers: Option<&HeaderMap>) -> Duration {
        if let Some(asked) = headers.and_then(server_delay) {
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

/// `retry-after-ms` (OpenAI) wins over `retry-after` (seconds, or an HTTP date we treat as unknown).
fn server_delay(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v >= 0.0)
    {
        // try_from: a proxy's `inf` or `1e30` must not panic; it is capped by the caller.
        return Some(Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX));
    }
    get("retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v >= 0.0)
        .map(|s| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn server_hints_win_and_ms_beats_seconds() {
        let p = RetryPolicy::default();
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(p.delay(0, Some(&h)), Duration::from_secs(2));
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(p.delay(0, Some(&h)), Duration::from_millis(150));
        // Absurd values are capped, never a panic.
        h.insert("retry-after-ms", HeaderValue::from_static("1e300"));
        assert_eq!(p.delay(0, Some(&h)), p.max_delay);
        h.insert("retry-after-ms", HeaderValue::from_static("inf"));
        assert_eq!(p.delay(0, Some(&h)), p.max_delay);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 10,
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
