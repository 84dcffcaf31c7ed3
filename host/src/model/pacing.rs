//! The scheduler's arithmetic, free of clocks and tasks so it can be tested with made-up instants:
//! token buckets for `--rpm`/`--tpm` and for every budget the server reports (paced to the rate
//! `window.rs` infers), quotas spent down, and an AIMD limit on requests in flight.

use super::ratelimit::{RateHeaders, Unit};
use super::window::{Pace, Tracker, human};
use std::collections::BTreeMap;
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
    /// This bucket made a request wait since the last look: its pace is what binds.
    held: bool,
}

impl Bucket {
    /// A full bucket.
    pub fn new(per_minute: f64, now: Instant) -> Bucket {
        let mut bucket = Bucket {
            per_minute,
            level: 0.0,
            updated: now,
            held: false,
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
            self.held = true;
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
    /// A quota (a budget of an hour or more) is used up: nothing more may be sent this run.
    Spent(String),
}

/// A budget the server reports, followed over time.
#[derive(Debug)]
struct Tracked {
    unit: Unit,
    tracker: Tracker,
    /// The pace, once its rate is known (not for quotas).
    bucket: Option<Bucket>,
    /// A quota: what the newest response said was left, and our charge total when that request went.
    quota: Option<(f64, f64)>,
    /// The last `reset` of this budget, for the sentence saying when a spent quota comes back.
    reset: Option<Duration>,
    announced: bool,
}

/// Everything the scheduler knows, behind one lock.
#[derive(Debug)]
pub struct Pacer {
    pub aimd: Aimd,
    pub in_flight: usize,
    /// `--rpm` / `--tpm`: a pace of the user's own, whatever the headers say.
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    /// The server's budgets, by what they count and their stated window.
    budgets: BTreeMap<(Unit, Option<Duration>), Tracked>,
    /// Units charged so far (requests, tokens), to follow how `remaining` falls.
    charged: [f64; 2],
    paused_until: Option<Instant>,
    /// Tokens the server counts per token tiktoken counted (prompts differ in framing).
    token_ratio: f64,
    /// Set once a quota is used up: why, and when it comes back.
    spent: Option<String>,
    /// Sentences for the user (a quota learnt), taken by the scheduler to print.
    pub notes: Vec<String>,
}

/// What an admitted request was charged, so its response can be read against it.
#[derive(Debug, Clone, Copy)]
pub struct Charge {
    pub tokens: f64,
    /// Units charged in all, this request included: (requests, tokens).
    pub totals: [f64; 2],
}

fn slot(unit: Unit) -> usize {
    match unit {
        Unit::Requests => 0,
        Unit::Tokens => 1,
    }
}

impl Pacer {
    pub fn new(ceiling: usize, rpm: Option<f64>, tpm: Option<f64>, now: Instant) -> Pacer {
        Pacer {
            aimd: Aimd::new(ceiling),
            in_flight: 0,
            requests: rpm.map(|r| Bucket::new(r, now)),
            tokens: tpm.map(|t| Bucket::new(t, now)),
            budgets: BTreeMap::new(),
            charged: [0.0; 2],
            paused_until: None,
            token_ratio: 1.0,
            spent: None,
            notes: Vec::new(),
        }
    }

    /// The tokens a request will be charged: its prompt as the server counts it, plus `max_tokens`.
    pub fn cost(&self, prompt_tokens: u64, max_tokens: u64) -> f64 {
        prompt_tokens as f64 * self.token_ratio + max_tokens as f64
    }

    /// Why nothing more may be sent, once a quota is used up.
    pub fn spent(&self) -> Option<&String> {
        self.spent.as_ref()
    }

    /// Admit a request costing `tokens`, or say what it waits for.
    pub fn admit(&mut self, tokens: f64, now: Instant) -> Admission {
        if let Some(why) = &self.spent {
            return Admission::Spent(why.clone());
        }
        if let Some(why) = self.quota_short(tokens) {
            // Answers on their way may show more left: a server that counted requests in another
            // order than they were sent reports less than is left to a request sent earlier.
            // The sending ends only when no answer can correct the view.
            if self.in_flight > 0 {
                return Admission::Full;
            }
            self.spent = Some(why.clone());
            return Admission::Spent(why);
        }
        if let Some(until) = self.paused_until {
            if until > now {
                return Admission::Wait(until - now);
            }
            self.paused_until = None;
        }
        if self.in_flight >= self.aimd.limit() {
            return Admission::Full;
        }
        let cost = |unit: Unit| match unit {
            Unit::Requests => 1.0,
            Unit::Tokens => tokens,
        };
        let wait = [
            self.requests.as_mut().map(|b| b.wait(1.0, now)),
            self.tokens.as_mut().map(|b| b.wait(tokens, now)),
        ]
        .into_iter()
        .flatten()
        .chain(self.budgets.values_mut().filter_map(|t| {
            let c = cost(t.unit);
            t.bucket.as_mut().map(|b| b.wait(c, now))
        }))
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
        for t in self.budgets.values_mut() {
            let c = cost(t.unit);
            if let Some(b) = &mut t.bucket {
                b.take(c);
            }
        }
        self.charged[0] += 1.0;
        self.charged[1] += tokens;
        self.in_flight += 1;
        Admission::Go
    }

    /// What the request admitted last was charged (call right after [`admit`](Self::admit) said Go).
    pub fn charge(&self, tokens: f64) -> Charge {
        Charge {
            tokens,
            totals: self.charged,
        }
    }

    /// A quota that cannot pay for one more request: the sentence saying so.
    fn quota_short(&self, tokens: f64) -> Option<String> {
        self.budgets.values().find_map(|t| {
            let (remaining, at) = t.quota?;
            let cost = if t.unit == Unit::Tokens { tokens } else { 1.0 };
            let left = remaining - (self.charged[slot(t.unit)] - at);
            (left < cost).then(|| spent_sentence(t))
        })
    }

    /// A request admitted earlier is no longer in flight.
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Learn the account's budgets, their windows and what is left of them from the headers of
    /// the response to a request sent at `sent` and charged `charge`.
    pub fn observe(&mut self, limits: &RateHeaders, charge: Charge, sent: Instant, now: Instant) {
        for (unit, budget) in &limits.budgets {
            let t = self
                .budgets
                .entry((*unit, budget.window))
                .or_insert_with(|| Tracked {
                    unit: *unit,
                    tracker: Tracker::new(budget.window),
                    bucket: None,
                    quota: None,
                    reset: None,
                    announced: false,
                });
            let cost = match unit {
                Unit::Requests => 1.0,
                Unit::Tokens => charge.tokens,
            };
            let held = t
                .bucket
                .as_mut()
                .is_some_and(|b| std::mem::take(&mut b.held));
            let total = charge.totals[slot(*unit)];
            t.tracker.observe(budget, cost, sent, total, held);
            if budget.reset.is_some() {
                t.reset = budget.reset;
            }
            match t.tracker.pace() {
                Pace::Rate(per_sec) => {
                    t.quota = None;
                    let per_minute = per_sec * 60.0;
                    match &mut t.bucket {
                        Some(b) if b.per_minute() != per_minute => {
                            b.set_per_minute(per_minute, now)
                        }
                        Some(_) => {}
                        None => t.bucket = Some(Bucket::new(per_minute, now)),
                    }
                    if let (Some(b), Some(remaining)) = (&mut t.bucket, budget.remaining) {
                        b.at_most(remaining, now);
                    }
                }
                Pace::Quota { limit, window } => {
                    t.bucket = None;
                    if let Some(remaining) = budget.remaining {
                        // The newest request's view wins: it saw every earlier one.
                        if t.quota.is_none_or(|(_, at)| total >= at) {
                            t.quota = Some((remaining, total));
                        }
                        if !t.announced {
                            t.announced = true;
                            self.notes
                                .push(quota_sentence(*unit, limit, window, remaining, t.reset));
                        }
                    }
                }
                Pace::Unknown => {}
            }
        }
    }

    /// The server counted `reported` prompt tokens where tiktoken counted `estimated`.
    pub fn observe_tokens(&mut self, estimated: u64, reported: u64) {
        if estimated == 0 || reported == 0 {
            return;
        }
        let ratio = (reported as f64 / estimated as f64).clamp(0.25, 4.0);
        self.token_ratio = 0.8 * self.token_ratio + 0.2 * ratio;
    }

    /// A 429: nobody sends until `wait` has passed, and the exhausted budgets are empty. An
    /// exhausted quota, or a wait longer than any pause worth sitting out, ends the sending.
    /// The pause lasts what the server asked, at most `cap`.
    pub fn pause(&mut self, asked: Duration, cap: Duration, limits: &RateHeaders, now: Instant) {
        let wait = asked.min(cap);
        let until = now + wait;
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
        for (unit, budget) in limits.exhausted() {
            if let Some(b) = &mut self.requests.as_mut().filter(|_| *unit == Unit::Requests) {
                b.at_most(0.0, now);
            }
            if let Some(b) = &mut self.tokens.as_mut().filter(|_| *unit == Unit::Tokens) {
                b.at_most(0.0, now);
            }
            if let Some(t) = self.budgets.get_mut(&(*unit, budget.window)) {
                t.tracker.on_limited();
                if let Some(b) = &mut t.bucket {
                    b.at_most(0.0, now);
                }
                if let Some(reset) = budget.reset {
                    t.reset = Some(reset);
                }
                if matches!(t.tracker.pace(), Pace::Quota { .. }) {
                    t.quota = Some((0.0, self.charged[slot(*unit)]));
                    self.spent.get_or_insert_with(|| spent_sentence(t));
                }
            }
        }
        if asked >= LONG_WAIT && self.spent.is_none() {
            self.spent = Some(format!(
                "the server asked to wait {} before the next request (429), a quota rather than a pace, so the answers so far are cached and the outputs written; rerun after that",
                human(asked)
            ));
        }
        self.aimd.on_congestion(now);
    }

    /// Limits paced to right now, per minute, by budget (the flags' under `None` unit names).
    #[cfg(test)]
    pub fn paced(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = [("--rpm", &self.requests), ("--tpm", &self.tokens)]
            .into_iter()
            .filter_map(|(n, b)| b.as_ref().map(|b| (n.to_string(), b.per_minute())))
            .collect();
        for ((unit, window), t) in &self.budgets {
            if let Some(b) = &t.bucket {
                out.push((
                    format!("{}{:?}", unit.name(), window.map(|w| w.as_secs())),
                    b.per_minute(),
                ));
            }
        }
        out
    }

    pub fn refund_tokens(&mut self, tokens: f64, now: Instant) {
        if let Some(b) = &mut self.tokens {
            b.give_back(tokens, now);
        }
        for t in self.budgets.values_mut().filter(|t| t.unit == Unit::Tokens) {
            if let Some(b) = &mut t.bucket {
                b.give_back(tokens, now);
            }
        }
    }
}

/// A 429 asking for a wait this long is a quota used up, not a pace to sit out.
const LONG_WAIT: Duration = Duration::from_secs(600);

/// "per day" for a day's window, else "per 2h".
fn per(window: Duration) -> String {
    match window.as_secs() {
        86_400 => "per day".into(),
        3600 => "per hour".into(),
        s => format!("per {}", human(Duration::from_secs(s))),
    }
}

/// "daily request budget", "hourly token budget", "request budget per 2h".
fn budget_name(unit: Unit, window: Duration) -> String {
    let unit = match unit {
        Unit::Requests => "request",
        Unit::Tokens => "token",
    };
    match window.as_secs() {
        86_400 => format!("daily {unit} budget"),
        3600 => format!("hourly {unit} budget"),
        _ => format!("{unit} budget {}", per(window)),
    }
}

fn quota_sentence(
    unit: Unit,
    limit: Option<f64>,
    window: Duration,
    remaining: f64,
    reset: Option<Duration>,
) -> String {
    let of = limit.map_or(String::new(), |l| format!(" of {l:.0}"));
    let resets = reset.map_or(String::new(), |r| format!("; full again in {}", human(r)));
    format!(
        "rate budget: the server allows {} {}; {remaining:.0}{of} left{resets}. The run stops when it is used up.",
        unit.name(),
        per(window)
    )
}

fn spent_sentence(t: &Tracked) -> String {
    let window = t.tracker.window().unwrap_or(super::window::QUOTA);
    let when = t.reset.map_or(format!("within {}", human(window)), |r| {
        format!("in {}", human(r))
    });
    format!(
        "the server's {} is used up and resets {when}; the answers so far are cached and the outputs written, so rerunning then continues from here",
        budget_name(t.unit, window)
    )
}

#[cfg(test)]
#[path = "pacing_tests.rs"]
mod tests;
