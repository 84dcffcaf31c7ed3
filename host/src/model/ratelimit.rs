//! What a response says about the account's rate limits: OpenAI's `x-ratelimit-*` headers and
//! `retry-after-ms` / `retry-after`, parsed into numbers the scheduler can act on.

use reqwest::header::HeaderMap;
use std::time::Duration;

/// The rate-limit facts of one response; every field is absent when the server did not send it
/// (vLLM and Ollama send none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateHeaders {
    /// Requests per minute the account may send (`x-ratelimit-limit-requests`).
    pub limit_requests: Option<f64>,
    /// Tokens per minute (`x-ratelimit-limit-tokens`).
    pub limit_tokens: Option<f64>,
    pub remaining_requests: Option<f64>,
    pub remaining_tokens: Option<f64>,
    /// Time until the request budget is full again (`x-ratelimit-reset-requests`, e.g. `6m0s`).
    pub reset_requests: Option<Duration>,
    pub reset_tokens: Option<Duration>,
    /// How long the server asked us to wait (`retry-after-ms` wins over `retry-after`).
    pub retry_after: Option<Duration>,
}

impl RateHeaders {
    pub fn parse(headers: &HeaderMap) -> RateHeaders {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let number = |name: &str| {
            get(name)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let seconds = |s: f64| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX);
        RateHeaders {
            limit_requests: number("x-ratelimit-limit-requests").filter(|v| *v > 0.0),
            limit_tokens: number("x-ratelimit-limit-tokens").filter(|v| *v > 0.0),
            remaining_requests: number("x-ratelimit-remaining-requests"),
            remaining_tokens: number("x-ratelimit-remaining-tokens"),
            reset_requests: get("x-ratelimit-reset-requests").and_then(parse_reset),
            reset_tokens: get("x-ratelimit-reset-tokens").and_then(parse_reset),
            // An HTTP-date `retry-after` is treated as absent: backoff takes over.
            retry_after: number("retry-after-ms")
                .map(|ms| seconds(ms / 1000.0))
                .or_else(|| number("retry-after").map(seconds)),
        }
    }

    /// When a 429 names no wait, the reset of whichever budget is exhausted says how long it lasts.
    pub fn exhausted_reset(&self) -> Option<Duration> {
        let empty = |remaining: Option<f64>| remaining.is_some_and(|r| r < 1.0);
        let requests = self
            .reset_requests
            .filter(|_| empty(self.remaining_requests));
        let tokens = self.reset_tokens.filter(|_| empty(self.remaining_tokens));
        requests.into_iter().chain(tokens).max()
    }
}

/// OpenAI's reset format is a Go duration: `20ms`, `1s`, `6m0s`, `1h2m3.5s`; a bare number is seconds.
pub fn parse_reset(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0.0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&i| i > 0)?;
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn go_durations_as_openai_sends_them() {
        let ms = Duration::from_millis;
        assert_eq!(parse_reset("20ms"), Some(ms(20)));
        assert_eq!(parse_reset("1s"), Some(ms(1000)));
        assert_eq!(parse_reset("6m0s"), Some(ms(360_000)));
        assert_eq!(parse_reset("1h2m3.5s"), Some(ms(3_723_500)));
        assert_eq!(parse_reset("0.5s"), Some(ms(500)));
        assert_eq!(parse_reset("2"), Some(ms(2000)));
        assert_eq!(parse_reset("250us"), Some(Duration::from_micros(250)));
        for bad in ["", "s", "5x", "1.2.3s", "-1s", "ms5"] {
            assert_eq!(parse_reset(bad), None, "{bad}");
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn all_openai_headers_are_read() {
        let h = RateHeaders::parse(&headers(&[
            ("x-ratelimit-limit-requests", "3000"),
            ("x-ratelimit-limit-tokens", "250000"),
            ("x-ratelimit-remaining-requests", "2999"),
            ("x-ratelimit-remaining-tokens", "249500"),
            ("x-ratelimit-reset-requests", "20ms"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]));
        assert_eq!(h.limit_requests, Some(3000.0));
        assert_eq!(h.limit_tokens, Some(250_000.0));
        assert_eq!(h.remaining_requests, Some(2999.0));
        assert_eq!(h.remaining_tokens, Some(249_500.0));
        assert_eq!(h.reset_requests, Some(Duration::from_millis(20)));
        assert_eq!(h.reset_tokens, Some(Duration::from_secs(360)));
        assert_eq!(h.retry_after, None);
        assert_eq!(h.exhausted_reset(), None);
        assert_eq!(
            RateHeaders::parse(&HeaderMap::new()),
            RateHeaders::default()
        );
    }

    #[test]
    fn retry_after_ms_wins_and_nonsense_is_ignored() {
        let h = RateHeaders::parse(&headers(&[("retry-after", "2"), ("retry-after-ms", "150")]));
        assert_eq!(h.retry_after, Some(Duration::from_millis(150)));
        let h = RateHeaders::parse(&headers(&[("retry-after", "3")]));
        assert_eq!(h.retry_after, Some(Duration::from_secs(3)));
        // A proxy's HTTP date, `inf` or a negative number is no hint; a huge one does not panic.
        for v in ["Wed, 21 Oct 2015 07:28:00 GMT", "inf", "-5"] {
            let h = RateHeaders::parse(&headers(&[("retry-after", v)]));
            assert_eq!(h.retry_after, None, "{v}");
        }
        let h = RateHeaders::parse(&headers(&[("retry-after-ms", "1e300")]));
        assert_eq!(h.retry_after, Some(Duration::MAX));
        let h = RateHeaders::parse(&headers(&[("x-ratelimit-limit-requests", "0")]));
        assert_eq!(
            h.limit_requests, None,
            "a zero limit is no limit we can pace to"
        );
    }

    #[test]
    fn the_exhausted_budget_names_the_wait() {
        let h = RateHeaders::parse(&headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-remaining-tokens", "5000"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]));
        assert_eq!(h.exhausted_reset(), Some(Duration::from_secs(1)));
    }
}
