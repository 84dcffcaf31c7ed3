//! A token-bucket rate limit for the fake OpenAI server: requests per second and tokens per minute,
//! enforced the way OpenAI does it (a 429 with `retry-after-ms` when a bucket is short) and reported
//! in its `x-ratelimit-*` headers on every answer.

use serde_json::Value;
use std::time::{Duration, Instant};

use crate::openai::{Reply, openai_error};

/// The limits a [`crate::FakeOpenAi`] enforces.
#[derive(Debug, Clone)]
pub struct RateLimit {
    pub requests_per_sec: Option<f64>,
    pub tokens_per_min: Option<f64>,
    /// How much of a budget may be spent at once: the bucket depth, as time at the full rate.
    pub burst: Duration,
    /// Send the `x-ratelimit-*` headers; without them the server is like vLLM or Ollama.
    pub headers: bool,
}

impl RateLimit {
    /// `n` requests per second, with headers and a one-second burst.
    pub fn requests_per_sec(n: f64) -> RateLimit {
        RateLimit {
            requests_per_sec: Some(n),
            tokens_per_min: None,
            burst: Duration::from_secs(1),
            headers: true,
        }
    }

    pub fn tokens_per_min(mut self, n: f64) -> RateLimit {
        self.tokens_per_min = Some(n);
        self
    }

    pub fn without_headers(mut self) -> RateLimit {
        self.headers = false;
        self
    }
}

/// What the limiter let through and turned away.
#[derive(Debug, Clone, Default)]
pub struct LimitStats {
    pub admitted: u64,
    pub limited: u64,
    /// Tokens charged for admitted requests (prompt as the fake counts it, plus `max_tokens`).
    pub tokens_admitted: u64,
    pub first_admitted: Option<Instant>,
    pub last_admitted: Option<Instant>,
}

/// The tokens a request is charged when it is admitted: its prompt (as the fake's `usage` counts it)
/// plus `max_tokens`, which OpenAI reserves up front.
pub fn charged_tokens(body: &Value) -> u64 {
    let max_tokens = body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    crate::openai::prompt_tokens(body) + max_tokens
}

struct Bucket {
    per_sec: f64,
    capacity: f64,
    level: f64,
}

impl Bucket {
    fn new(per_sec: f64, burst: Duration) -> Bucket {
        let capacity = (per_sec * burst.as_secs_f64()).max(1.0);
        Bucket {
            per_sec,
            capacity,
            level: capacity,
        }
    }

    fn refill(&mut self, seconds: f64) {
        self.level = (self.level + seconds * self.per_sec).min(self.capacity);
    }

    /// Time until `cost` (at most a full bucket) is available.
    fn shortfall(&self, cost: f64) -> Duration {
        let needed = cost.min(self.capacity) - self.level;
        Duration::from_secs_f64((needed / self.per_sec).max(0.0))
    }

    fn until_full(&self) -> Duration {
        Duration::from_secs_f64(((self.capacity - self.level) / self.per_sec).max(0.0))
    }
}

pub(crate) struct Limiter {
    limit: RateLimit,
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    updated: Instant,
    pub(crate) stats: LimitStats,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        Limiter {
            requests: limit.requests_per_sec.map(|r| Bucket::new(r, limit.burst)),
            tokens: limit
                .tokens_per_min
                .map(|t| Bucket::new(t / 60.0, limit.burst)),
            limit,
            updated: Instant::now(),
            stats: LimitStats::default(),
        }
    }

    /// Admit `body` and return the headers for its answer, or the 429 to send instead.
    pub(crate) fn check(
        &mut self,
        body: &Value,
        now: Instant,
    ) -> Result<Vec<(String, String)>, Reply> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.updated = self.updated.max(now);
        for b in self.requests.iter_mut().chain(self.tokens.iter_mut()) {
            b.refill(elapsed);
        }
        let cost = charged_tokens(body) as f64;
        let short_requests = self.requests.as_ref().map(|b| b.shortfall(1.0));
        let short_tokens = self.tokens.as_ref().map(|b| b.shortfall(cost));
        let wait = short_requests
            .into_iter()
            .chain(short_tokens)
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            self.stats.limited += 1;
            let which = if short_tokens.unwrap_or_default() >= short_requests.unwrap_or_default() {
                "tokens"
            } else {
                "requests"
            };
            return Err(self.too_many(which, wait));
        }
        if let Some(b) = &mut self.requests {
            b.level -= 1.0;
        }
        if let Some(b) = &mut self.tokens {
            b.level -= cost;
        }
        self.stats.admitted += 1;
        self.stats.tokens_admitted += cost as u64;
        self.stats.first_admitted.get_or_insert(now);
        self.stats.last_admitted = Some(now);
        Ok(self.headers())
    }

    /// OpenAI's headers: limits per minute, what is left and when each budget is full again.
    fn headers(&self) -> Vec<(String, String)> {
        if !self.limit.headers {
            return Vec::new();
        }
        let mut h = Vec::new();
        for (name, bucket) in [("requests", &self.requests), ("tokens", &self.tokens)] {
            if let Some(b) = bucket {
                h.push((
                    format!("x-ratelimit-limit-{name}"),
                    format!("{}", (b.per_sec * 60.0).round()),
                ));
                h.push((
                    format!("x-ratelimit-remaining-{name}"),
                    format!("{}", b.level.max(0.0).floor()),
                ));
                h.push((
                    format!("x-ratelimit-reset-{name}"),
                    go_duration(b.until_full()),
                ));
            }
        }
        h
    }

    fn too_many(&self, which: &str, wait: Duration) -> Reply {
        let mut headers = self.headers();
        // Like OpenAI, a 429 always says how long to wait, even without the x-ratelimit headers.
        let ms = wait.as_millis().max(1);
        headers.push(("retry-after-ms".into(), ms.to_string()));
        headers.push(("retry-after".into(), ms.div_ceil(1000).to_string()));
        Reply::Status {
            code: 429,
            headers,
            body: openai_error(
                429,
                &format!(
                    "Rate limit reached for gpt-4o-mini in organization org-fake on {which} per min. \
                     Please try again in {ms}ms."
                ),
                which,
                Some("rate_limit_exceeded"),
            ),
        }
    }
}

/// A duration as Go prints it, which is what OpenAI sends: `20ms`, `1.5s`, `6m0s`.
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{}s", (ms as f64 / 1000.0))
    } else {
        format!("{}m{}s", ms / 60_000, (ms % 60_000) as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_millis(20)), "20ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(360)), "6m0s");
    }

    #[test]
    fn a_bucket_admits_its_burst_then_answers_429_with_the_wait() {
        let mut l = Limiter::new(RateLimit::requests_per_sec(10.0));
        let t0 = l.updated;
        let body = json!({"messages": [], "max_tokens": 5});
        for _ in 0..10 {
            let headers = l.check(&body, t0).unwrap();
            assert!(headers.contains(&("x-ratelimit-limit-requests".into(), "600".into())));
        }
        let Err(Reply::Status { code, headers, .. }) = l.check(&body, t0) else {
            panic!("the 11th request in the same instant must be limited")
        };
        assert_eq!(code, 429);
        assert!(
            headers.contains(&("retry-after-ms".into(), "100".into())),
            "{headers:?}"
        );
        assert!(headers.contains(&("x-ratelimit-remaining-requests".into(), "0".into())));
        // A tenth of a second later one more fits.
        assert!(l.check(&body, t0 + Duration::from_millis(100)).is_ok());
        assert_eq!((l.stats.admitted, l.stats.limited), (11, 1));
    }

    #[test]
    fn tokens_are_charged_prompt_plus_max_tokens() {
        let body =
            json!({"messages": [{"role": "user", "content": "x".repeat(400)}], "max_tokens": 100});
        let cost = charged_tokens(&body);
        assert!(cost > 200 && cost < 220, "{cost}");
        let mut l = Limiter::new(RateLimit {
            requests_per_sec: None,
            tokens_per_min: Some(60.0 * 500.0),
            burst: Duration::from_secs(1),
            headers: false,
        });
        let t0 = l.updated;
        assert!(l.check(&body, t0).is_ok());
        assert!(l.check(&body, t0).is_ok());
        let Err(Reply::Status { headers, .. }) = l.check(&body, t0) else {
            panic!("500 tokens/s hold two requests of ~210")
        };
        assert!(
            headers.iter().all(|(k, _)| !k.starts_with("x-ratelimit")),
            "{headers:?}"
        );
        assert!(headers.iter().any(|(k, _)| k == "retry-after-ms"));
    }
}
