//! The scheduler's arithmetic, free of clocks and tasks so it can be tested with made-up instants:
//! token buckets for requests and tokens per minute, and an AIMD limit on requests in flight.

use super::ratelimit::RateHeaders;
use std::time::{Duration, Instant};

/// How much of a per-minute budget may be spent at once: one second's worth. Small bursts keep a
/// server that enforces its limit over short windows (as OpenAI does) from answering 429.
const BURST: Duration = Duration::from_secs(1);
/// Pace a hair under the limit, so jitter in the network never lands two requests in the server's
/// last slot: a 429 costs a round trip and a pause, 2% costs 2%.
const HEADROOM: f64 = 0.98;

/// A token bucket refilled continuously at `per_minute / 60` per second.
#[derive(Debug, Clone)]
pub struct Bucket {
    per_minute: f64,
    level: f64,
    updated: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(per_minute: f64, now: Instant) -> Bucket {
        let mut bucket = Bucket {
            per_minute,
            level: 0.0,
            updated: now,
        };
        bucket.level = bucket.capacity();
        bucket
    }

    pub fn per_minute(&self) -> f64 {
        self.per_minute
    }

    fn rate(&self) -> f64 {
        self.per_minute / 60.0 * HEADROOM
    }

    fn capacity(&self) -> f64 {
        (self.rate() * BURST.as_secs_f64()).max(1.0)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level + elapsed * self.rate()).min(self.capacity());
        self.updated = self.updated.max(now);
    }

    /// How long until `cost` may be spent. A request dearer than the whole burst goes when the
    /// bucket is full, leaving it in debt, so one big prompt never waits forever.
    pub fn wait(&mut self, cost: f64, now: Instant) -> Duration {
        self.refill(now);
        let needed = cost.min(self.capacity());
        if self.level >= needed {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((needed - self.level) / self.rate())
        }
    }

    pub fn take(&mut self, cost: f64) {
        self.level -= cost;
    }

    /// A new limit keeps what is left (never more than the new burst).
    pub fn set_per_minute(&mut self, per_minute: f64, now: Instant) {
        self.refill(now);
        self.per_minute = per_minute;
        self.level = self.level.min(self.capacity());
    }

    /// The server knows best what is left (other programs may share the key): never believe in
    /// more than it reported.
    pub fn at_most(&mut self, remaining: f64, now: Instant) {
        self.refill(now);
        self.level = self.level.min(remaining);
    }

    /// Give back what an answer did not use (e.g. a cancelled request's estimate).
    pub fn give_back(&mut self, amount: f64, now: Instant) {
        self.refill(now);
        self.level = (self.level + amount).min(self.capacity());
    }
}

/// Additive-increase, multiplicative-decrease limit on requests in flight, like TCP congestion
/// control: grow while answers come back fast, shrink on 429s, timeouts and rising latency.
#[derive(Debug, Clone)]
pub struct Aimd {
    limit: f64,
    ceiling: f64,
    /// Doubling once per round trip until the first sign of congestion, then +1 per round trip.
    slow_start: bool,
    /// The fastest answer seen: what the server does when it is not queueing.
    base_latency: Option<Duration>,
    /// Smoothed recent latency.
    latency: Option<Duration>,
    last_cut: Option<Instant>,
}

/// Where the limit starts: a handful in flight until the server has answered.
pub const INITIAL_IN_FLIGHT: usize = 8;
/// Latency this many times the fastest seen means the server is queueing our requests.
const QUEUEING: f64 = 2.5;
const CUT: f64 = 0.7;

impl Aimd {
    pub fn new(ceiling: usize) -> Aimd {
        let ceiling = ceiling.max(1) as f64;
        Aimd {
            limit: (INITIAL_IN_FLIGHT as f64).min(ceiling),
            ceiling,
            slow_start: true,
            base_latency: None,
            latency: None,
            last_cut: None,
        }
    }

    /// Requests that may be in flight now.
    pub fn limit(&self) -> usize {
        self.limit.floor().max(1.0) as usize
    }

    /// An answer came back after `latency`; `saturated` if the limit was what held requests back
    /// when it was sent (growing a limit nobody reaches would only allow a later stampede).
    pub fn on_success(&mut self, latency: Duration, saturated: bool, now: Instant) {
        let base = self.base_latency.map_or(latency, |b| b.min(latency));
        self.base_latency = Some(base);
        let smoothed = match self.latency {
            Some(l) => l.mul_f64(0.9) + latency.mul_f64(0.1),
            None => latency,
        };
        self.latency = Some(smoothed);
        // A small floor keeps a few milliseconds of jitter on a fast local server from looking like queueing.
        let queueing = base.mul_f64(QUEUEING).max(base + Duration::from_millis(50));
        if smoothed > queueing {
            self.on_congestion(now);
        } else if saturated {
            self.limit += if self.slow_start {
                1.0
            } else {
                1.0 / self.limit
            };
            self.limit = self.limit.min(self.ceiling);
        }
    }

    /// A 429, a timeout or an overloaded server. Many requests in flight see the same congestion:
    /// cut once per round trip, not once per request.
    pub fn on_congestion(&mut self, now: Instant) {
        let round_trip = self
            .latency
            .unwrap_or(Duration::from_millis(100))
            .max(Duration::from_millis(100));
        if self
            .last_cut
            .is_some_and(|t| now.saturating_duration_since(t) < round_trip)
        {
            return;
        }
        self.last_cut = Some(now);
        self.slow_start = false;
        self.limit = (self.limit * CUT).max(1.0);
    }
}

/// Where a request stands at the gate.
#[derive(Debug, PartialEq)]
pub enum Admission {
    Go,
    /// Wait for a request in flight to finish.
    Full,
    /// Wait this long for the budget (or a pause) to pass.
    Wait(Duration),
}

/// Everything the scheduler knows, behind one lock.
#[derive(Debug)]
pub struct Pacer {
    pub aimd: Aimd,
    pub in_flight: usize,
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    /// Limits given on the command line: headers may lower them, never raise them.
    rpm_cap: Option<f64>,
    tpm_cap: Option<f64>,
    paused_until: Option<Instant>,
    /// Tokens the server counts per token tiktoken counted (prompts differ in framing).
    token_ratio: f64,
}

impl Pacer {
    pub fn new(ceiling: usize, rpm: Option<f64>, tpm: Option<f64>, now: Instant) -> Pacer {
        Pacer {
            aimd: Aimd::new(ceiling),
            in_flight: 0,
            requests: rpm.map(|r| Bucket::new(r, now)),
            tokens: tpm.map(|t| Bucket::new(t, now)),
            rpm_cap: rpm,
            tpm_cap: tpm,
            paused_until: None,
            token_ratio: 1.0,
        }
    }

    /// The tokens a request will be charged: its prompt as the server counts it, plus `max_tokens`.
    pub fn cost(&self, prompt_tokens: u64, max_tokens: u64) -> f64 {
        prompt_tokens as f64 * self.token_ratio + max_tokens as f64
    }

    /// Admit a request costing `tokens`, or say what it waits for.
    pub fn admit(&mut self, tokens: f64, now: Instant) -> Admission {
        if let Some(until) = self.paused_until {
            if until > now {
                return Admission::Wait(until - now);
            }
            self.paused_until = None;
        }
        if self.in_flight >= self.aimd.limit() {
            return Admission::Full;
        }
        let wait = [
            self.requests.as_mut().map(|b| b.wait(1.0, now)),
            self.tokens.as_mut().map(|b| b.wait(tokens, now)),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(Duration::ZERO);
        if !wait.is_zero() {
            return Admission::Wait(wait);
        }
        if let Some(b) = &mut self.requests {
            b.take(1.0);
        }
        if let Some(b) = &mut self.tokens {
            b.take(tokens);
        }
        self.in_flight += 1;
        Admission::Go
    }

    /// A request admitted earlier is no longer in flight.
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Learn the account's limits and what is left of them from a response's headers.
    pub fn observe(&mut self, limits: &RateHeaders, now: Instant) {
        learn(
            &mut self.requests,
            self.rpm_cap,
            limits.limit_requests,
            limits.remaining_requests,
            now,
        );
        learn(
            &mut self.tokens,
            self.tpm_cap,
            limits.limit_tokens,
            limits.remaining_tokens,
            now,
        );
    }

    /// The server counted `reported` prompt tokens where tiktoken counted `estimated`.
    pub fn observe_tokens(&mut self, estimated: u64, reported: u64) {
        if estimated == 0 || reported == 0 {
            return;
        }
        let ratio = (reported as f64 / estimated as f64).clamp(0.25, 4.0);
        self.token_ratio = 0.8 * self.token_ratio + 0.2 * ratio;
    }

    /// A 429: nobody sends until `wait` has passed, and the exhausted budget is empty.
    pub fn pause(&mut self, wait: Duration, limits: &RateHeaders, now: Instant) {
        let until = now + wait;
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
        if limits.remaining_requests.is_some_and(|r| r < 1.0)
            && let Some(b) = &mut self.requests
        {
            b.at_most(0.0, now);
        }
        if limits.remaining_tokens.is_some_and(|r| r < 1.0)
            && let Some(b) = &mut self.tokens
        {
            b.at_most(0.0, now);
        }
        self.aimd.on_congestion(now);
    }

    /// Limits paced to right now, per minute: (requests, tokens).
    #[cfg(test)]
    pub fn paced(&self) -> (Option<f64>, Option<f64>) {
        (
            self.requests.as_ref().map(Bucket::per_minute),
            self.tokens.as_ref().map(Bucket::per_minute),
        )
    }

    pub fn refund_tokens(&mut self, tokens: f64, now: Instant) {
        if let Some(b) = &mut self.tokens {
            b.give_back(tokens, now);
        }
    }
}

/// Seed or correct one budget from a response: the lower of the flag and the header wins.
fn learn(
    bucket: &mut Option<Bucket>,
    cap: Option<f64>,
    limit: Option<f64>,
    remaining: Option<f64>,
    now: Instant,
) {
    if let Some(limit) = limit {
        let per_minute = cap.map_or(limit, |c| c.min(limit));
        match bucket {
            Some(b) if b.per_minute() != per_minute => b.set_per_minute(per_minute, now),
            Some(_) => {}
            None => *bucket = Some(Bucket::new(per_minute, now)),
        }
    }
    if let (Some(b), Some(remaining)) = (bucket.as_mut(), remaining) {
        b.at_most(remaining, now);
    }
}

#[cfg(test)]
#[path = "pacing_tests.rs"]
mod tests;
