//! A token-bucket rate limit for the fake OpenAI server: requests per second and tokens per minute,
//! enforced the way OpenAI does it (a 429 with `retry-after-ms` when a bucket is short) and reported
//! on every answer in one of the header styles providers use ([`HeaderStyle`]: OpenAI's per-minute
//! names, per-second values under the same names, `-minute` suffixes, Azure's remaining-only, or
//! none), optionally with a per-day request quota under `-day` names.

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
    /// How the `x-ratelimit-*` headers report the limits.
    pub style: HeaderStyle,
    /// Requests per day: a quota that does not refill during a test, reported as
    /// `x-ratelimit-{limit,remaining,reset}-requests-day` (reset in seconds).
    pub requests_per_day: Option<u64>,
}

/// How a server reports its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderStyle {
    /// OpenAI: `x-ratelimit-limit-requests: 3000` (per minute), `remaining`, `reset` until full.
    OpenAi,
    /// The same names holding per-second values: `limit: 50`, `remaining: 49`, `reset: 20ms`.
    PerSecond,
    /// Per-minute values under `-minute` names: `x-ratelimit-limit-requests-minute: 3000`.
    Suffixed,
    /// Azure OpenAI: `x-ratelimit-remaining-requests` / `-tokens` only.
    RemainingOnly,
    /// No rate-limit headers (vLLM, Ollama); a 429 still says `retry-after-ms`.
    None,
}

impl RateLimit {
    /// `n` requests per second, with headers and a one-second burst.
    pub fn requests_per_sec(n: f64) -> RateLimit {
        RateLimit {
            requests_per_sec: Some(n),
            tokens_per_min: None,
            burst: Duration::from_secs(1),
            style: HeaderStyle::OpenAi,
            requests_per_day: None,
        }
    }

    pub fn tokens_per_min(mut self, n: f64) -> RateLimit {
        self.tokens_per_min = Some(n);
        self
    }

    pub fn without_headers(mut self) -> RateLimit {
        self.style = HeaderStyle::None;
        self
    }

    pub fn style(mut self, style: HeaderStyle) -> RateLimit {
        self.style = style;
        self
    }

    pub fn requests_per_day(mut self, n: u64) -> RateLimit {
        self.requests_per_day = Some(n);
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
    /// Requests admitted against the per-day quota.
    used_today: u64,
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
            used_today: 0,
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
        if let Some(day) = self.limit.requests_per_day
            && self.used_today >= day
        {
            self.stats.limited += 1;
            return Err(self.too_many("requests per day (RPD)", DAY_RESET));
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
            return Err(self.too_many(&format!("{which} per min"), wait));
        }
        if let Some(b) = &mut self.requests {
            b.level -= 1.0;
        }
        if let Some(b) = &mut self.tokens {
            b.level -= cost;
        }
        self.used_today += 1;
        self.stats.admitted += 1;
        self.stats.tokens_admitted += cost as u64;
        self.stats.first_admitted.get_or_insert(now);
        self.stats.last_admitted = Some(now);
        Ok(self.headers())
    }

    /// The headers of the style asked for: limits, what is left and when each budget is full again.
    fn headers(&self) -> Vec<(String, String)> {
        let mut h = Vec::new();
        let style = self.limit.style;
        if style == HeaderStyle::None {
            return h;
        }
        for (name, bucket) in [("requests", &self.requests), ("tokens", &self.tokens)] {
            let Some(b) = bucket else { continue };
            let (limit, suffix) = match style {
                HeaderStyle::PerSecond => (b.per_sec, ""),
                HeaderStyle::Suffixed => (b.per_sec * 60.0, "-minute"),
                _ => (b.per_sec * 60.0, ""),
            };
            if style != HeaderStyle::RemainingOnly {
                h.push((
                    format!("x-ratelimit-limit-{name}{suffix}"),
                    format!("{}", limit.round()),
                ));
                h.push((
                    format!("x-ratelimit-reset-{name}{suffix}"),
                    go_duration(b.until_full()),
                ));
            }
            h.push((
                format!("x-ratelimit-remaining-{name}{suffix}"),
                format!("{}", b.level.max(0.0).floor()),
            ));
        }
        if let Some(day) = self.limit.requests_per_day {
            h.push(("x-ratelimit-limit-requests-day".into(), day.to_string()));
            h.push((
                "x-ratelimit-remaining-requests-day".into(),
                day.saturating_sub(self.used_today).to_string(),
            ));
            h.push((
                "x-ratelimit-reset-requests-day".into(),
                DAY_RESET.as_secs().to_string(),
            ));
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
                    "Rate limit reached for gpt-4o-mini in organization org-fake on {which}. \
                     Please try again in {ms}ms."
                ),
                which.split(' ').next().unwrap_or("requests"),
                Some("rate_limit_exceeded"),
            ),
        }
    }
}

/// When the fake's per-day quota says it is full again (it never refills during a test).
const DAY_RESET: Duration = Duration::from_secs(3 * 3600 + 12 * 60);

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
            style: HeaderStyle::None,
            requests_per_day: None,
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

    fn names(headers: &[(String, String)]) -> Vec<&str> {
        let mut n: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        n.sort();
        n
    }

    #[test]
    fn each_header_style_reports_the_same_limit_its_own_way() {
        let body = json!({"messages": [], "max_tokens": 5});
        let first = |style: HeaderStyle| {
            let mut l = Limiter::new(RateLimit::requests_per_sec(50.0).style(style));
            let t0 = l.updated;
            l.check(&body, t0).unwrap()
        };
        let per_second = first(HeaderStyle::PerSecond);
        assert!(per_second.contains(&("x-ratelimit-limit-requests".into(), "50".into())));
        assert!(per_second.contains(&("x-ratelimit-remaining-requests".into(), "49".into())));
        assert!(per_second.contains(&("x-ratelimit-reset-requests".into(), "20ms".into())));
        let suffixed = first(HeaderStyle::Suffixed);
        assert!(suffixed.contains(&("x-ratelimit-limit-requests-minute".into(), "3000".into())));
        assert_eq!(
            names(&first(HeaderStyle::RemainingOnly)),
            vec!["x-ratelimit-remaining-requests"]
        );
        assert!(first(HeaderStyle::None).is_empty());
    }

    #[test]
    fn a_daily_quota_is_reported_and_then_answered_429_for_hours() {
        let body = json!({"messages": [], "max_tokens": 5});
        let mut l = Limiter::new(RateLimit::requests_per_sec(100.0).requests_per_day(2));
        let t0 = l.updated;
        let headers = l.check(&body, t0).unwrap();
        assert!(headers.contains(&("x-ratelimit-limit-requests-day".into(), "2".into())));
        assert!(headers.contains(&("x-ratelimit-remaining-requests-day".into(), "1".into())));
        l.check(&body, t0).unwrap();
        let Err(Reply::Status { code, headers, .. }) = l.check(&body, t0) else {
            panic!("the third request of the day is over the quota")
        };
        assert_eq!(code, 429);
        assert!(headers.contains(&("x-ratelimit-remaining-requests-day".into(), "0".into())));
        assert!(
            headers.contains(&("retry-after".into(), "11520".into())),
            "{headers:?}"
        );
    }
}
