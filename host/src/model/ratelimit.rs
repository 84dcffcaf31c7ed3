//! What a response says about the account's rate limits: every `x-ratelimit-{limit,remaining,reset}-
//! {requests,tokens}` header, with or without an explicit window suffix (`-minute`, `-day`, …), and
//! `retry-after-ms` / `retry-after`, parsed into numbers the scheduler can act on. What the numbers
//! mean over time (which window an unsuffixed limit counts) is `window.rs`'s job.

use reqwest::header::HeaderMap;
use std::time::Duration;

/// What a budget counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    Requests,
    Tokens,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Requests => "requests",
            Unit::Tokens => "tokens",
        }
    }
}

/// One budget as one response reports it: `x-ratelimit-*-requests` or `x-ratelimit-*-tokens-day`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budget {
    /// The window the header's name states (`-second`, `-minute`, `-hour`, `-day`); `None` for
    /// OpenAI's unsuffixed names, whose window `window.rs` infers.
    pub window: Option<Duration>,
    pub limit: Option<f64>,
    pub remaining: Option<f64>,
    /// Time until the budget is full again (`6m0s`, `20ms`, or seconds).
    pub reset: Option<Duration>,
}

/// The rate-limit facts of one response; empty when the server sent none (vLLM and Ollama).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateHeaders {
    /// Every budget the response names, keyed by what it counts and its stated window.
    pub budgets: Vec<(Unit, Budget)>,
    /// How long the server asked us to wait (`retry-after-ms` wins over `retry-after`).
    pub retry_after: Option<Duration>,
}

/// Window suffixes providers put after `-requests` / `-tokens`.
const SUFFIXES: [(&str, u64); 8] = [
    ("second", 1),
    ("sec", 1),
    ("minute", 60),
    ("min", 60),
    ("hour", 3600),
    ("day", 86_400),
    ("1s", 1),
    ("1m", 60),
];

impl RateHeaders {
    pub fn parse(headers: &HeaderMap) -> RateHeaders {
        let number = |text: &str| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let mut budgets: Vec<(Unit, Budget)> = Vec::new();
        for (name, value) in headers {
            let Some(rest) = name.as_str().strip_prefix("x-ratelimit-") else {
                continue;
            };
            let Ok(value) = value.to_str() else { continue };
            let Some((field, rest)) = rest.split_once('-') else {
                continue;
            };
            let (unit, suffix) = match rest.split_once('-') {
                Some((unit, suffix)) => (unit, Some(suffix)),
                None => (rest, None),
            };
            let unit = match unit {
                "requests" => Unit::Requests,
                "tokens" => Unit::Tokens,
                _ => continue,
            };
            let window = match suffix {
                None => None,
                Some(s) => match SUFFIXES.iter().find(|(name, _)| *name == s) {
                    Some((_, secs)) => Some(Duration::from_secs(*secs)),
                    None => continue,
                },
            };
            let at = match budgets
                .iter()
                .position(|(u, b)| *u == unit && b.window == window)
            {
                Some(i) => i,
                None => {
                    budgets.push((
                        unit,
                        Budget {
                            window,
                            ..Budget::default()
                        },
                    ));
                    budgets.len() - 1
                }
            };
            let budget = &mut budgets[at].1;
            match field {
                "limit" => budget.limit = number(value).filter(|v| *v > 0.0),
                "remaining" => budget.remaining = number(value),
                "reset" => budget.reset = parse_reset(value),
                _ => {}
            }
        }
        budgets.retain(|(_, b)| b.limit.is_some() || b.remaining.is_some());
        budgets.sort_by_key(|(u, b)| (*u, b.window));
        let seconds = |s: f64| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX);
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        RateHeaders {
            budgets,
            // An HTTP-date `retry-after` is treated as absent: backoff takes over.
            retry_after: get("retry-after-ms")
                .and_then(number)
                .map(|ms| seconds(ms / 1000.0))
                .or_else(|| get("retry-after").and_then(number).map(seconds)),
        }
    }

    /// The budget of `unit` with the stated `window` (`None`: OpenAI's unsuffixed headers).
    pub fn budget(&self, unit: Unit, window: Option<Duration>) -> Option<&Budget> {
        self.budgets
            .iter()
            .find(|(u, b)| *u == unit && b.window == window)
            .map(|(_, b)| b)
    }

    /// The budgets with nothing left.
    pub fn exhausted(&self) -> impl Iterator<Item = &(Unit, Budget)> {
        self.budgets
            .iter()
            .filter(|(_, b)| b.remaining.is_some_and(|r| r < 1.0))
    }

    /// When a 429 names no wait, the reset of whichever budget is exhausted says how long it lasts.
    pub fn exhausted_reset(&self) -> Option<Duration> {
        self.exhausted().filter_map(|(_, b)| b.reset).max()
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
        let requests = h.budget(Unit::Requests, None).unwrap();
        assert_eq!(
            requests,
            &Budget {
                window: None,
                limit: Some(3000.0),
                remaining: Some(2999.0),
                reset: Some(Duration::from_millis(20)),
            }
        );
        let tokens = h.budget(Unit::Tokens, None).unwrap();
        assert_eq!(tokens.limit, Some(250_000.0));
        assert_eq!(tokens.remaining, Some(249_500.0));
        assert_eq!(tokens.reset, Some(Duration::from_secs(360)));
        assert_eq!(h.retry_after, None);
        assert_eq!(h.exhausted_reset(), None);
        assert_eq!(
            RateHeaders::parse(&HeaderMap::new()),
            RateHeaders::default()
        );
    }

    #[test]
    fn window_suffixes_and_remaining_only_budgets_are_read() {
        let h = RateHeaders::parse(&headers(&[
            ("x-ratelimit-limit-requests-day", "14400"),
            ("x-ratelimit-remaining-requests-day", "14370"),
            ("x-ratelimit-reset-requests-day", "179.56"),
            ("x-ratelimit-limit-tokens-minute", "60000"),
            ("x-ratelimit-remaining-tokens-minute", "59000"),
            // Azure: remaining without a limit.
            ("x-ratelimit-remaining-requests", "99"),
            // Not a budget we know: ignored.
            ("x-ratelimit-limit-images-day", "5"),
            ("x-ratelimit-limit-requests-fortnight", "5"),
        ]));
        assert_eq!(h.budgets.len(), 3, "{h:?}");
        let day = h
            .budget(Unit::Requests, Some(Duration::from_secs(86_400)))
            .unwrap();
        assert_eq!(day.limit, Some(14_400.0));
        assert_eq!(day.remaining, Some(14_370.0));
        assert_eq!(day.reset, Some(Duration::from_secs_f64(179.56)));
        let minute = h
            .budget(Unit::Tokens, Some(Duration::from_secs(60)))
            .unwrap();
        assert_eq!(minute.limit, Some(60_000.0));
        let azure = h.budget(Unit::Requests, None).unwrap();
        assert_eq!((azure.limit, azure.remaining), (None, Some(99.0)));
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
        assert!(
            h.budgets.is_empty(),
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
