//! One rate-limit budget followed over time: which window its limit counts and so how fast it
//! refills. An explicit suffix (`-minute`, `-day`) says it outright; otherwise the refill rate is
//! what `reset` implies (the units missing from the bucket over the time it says it needs to be
//! full again: 1 request missing of a limit of 50 and a reset of 20 ms is 50 per second, so a
//! one-second window, not a minute), snapped to the nearest common window. A budget reported by
//! `remaining` alone (Azure) gets a rate learnt from how `remaining` falls while we send, probed
//! upward while it stays high. Windows of an hour or more are quotas to spend down, not paces.

use super::ratelimit::Budget;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Windows providers use, in seconds; an inferred window is snapped to the nearest (by ratio), so
/// the noise of whole-unit `remaining` and millisecond `reset` values cannot shift it.
const WINDOWS: [u64; 5] = [1, 10, 60, 3600, 86_400];
/// A window this long or longer is a quota: spent down, shown, and the run stops when it is gone.
pub const QUOTA: Duration = Duration::from_secs(3600);
/// What an unsuffixed limit counts when nothing says otherwise: OpenAI's meaning.
const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// Refill rates kept to take the median of.
const SAMPLES: usize = 15;
/// Remaining-only budgets: growth of the probed rate per second while `remaining` stays high,
/// before and after the refill rate was once measured from a drain.
const PROBE_GROWTH: f64 = 1.0;
const PROBE_GROWTH_KNOWN: f64 = 0.05;
/// Measured refill rates are paced a little under, so a drain never quite reaches zero.
const MEASURED_HEADROOM: f64 = 0.97;

/// How a budget limits sending.
#[derive(Debug, Clone, PartialEq)]
pub enum Pace {
    /// Nothing known to pace by yet.
    Unknown,
    /// It refills at this many units per second.
    Rate(f64),
    /// A quota of `limit` per `window`, spent down rather than paced.
    Quota {
        limit: Option<f64>,
        window: Duration,
    },
}

/// What one budget's headers said so far.
#[derive(Debug, Default)]
pub struct Tracker {
    /// The window the header names state.
    explicit: Option<Duration>,
    limit: Option<f64>,
    /// The deepest the server's bucket was seen: `remaining` plus what that request cost.
    depth: f64,
    /// Refill rates (units per second) implied by `reset`, newest last.
    implied: VecDeque<f64>,
    /// Remaining-only: (when sent, remaining after it, units we had charged up to and including it).
    history: VecDeque<(Instant, f64, f64)>,
    /// Remaining-only: the rate paced to.
    probe: Option<f64>,
    /// Remaining-only: the refill rate measured from a drain.
    measured: Option<f64>,
    last_step: Option<Instant>,
}

impl Tracker {
    pub fn new(explicit: Option<Duration>) -> Tracker {
        Tracker {
            explicit,
            ..Tracker::default()
        }
    }

    /// A response to a request sent at `sent` that cost `cost` units, when we had charged
    /// `charged` units in all (that request included). `held`: this budget's pace made a request
    /// wait since the last response, so a higher rate would have been used.
    pub fn observe(&mut self, b: &Budget, cost: f64, sent: Instant, charged: f64, held: bool) {
        if b.limit.is_some() {
            self.limit = b.limit;
        }
        let Some(remaining) = b.remaining else {
            return;
        };
        self.depth = self.depth.max(remaining + cost);
        // An empty bucket (a 429) says how long until it is full, but not how deep it is.
        if let Some(reset) = b.reset.filter(|r| !r.is_zero() && remaining >= 1.0) {
            let missing = self.depth - remaining;
            if missing > 0.0 {
                if self.implied.len() == SAMPLES {
                    self.implied.pop_front();
                }
                self.implied.push_back(missing / reset.as_secs_f64());
            }
        }
        if self.limit.is_none() {
            self.learn_from_remaining(remaining, sent, charged, held);
        }
    }

    /// Remaining-only: measure the refill rate while the bucket drains, probe upward while it
    /// stays high and our pace is what holds requests back.
    fn learn_from_remaining(&mut self, remaining: f64, sent: Instant, charged: f64, held: bool) {
        let probe = *self.probe.get_or_insert(self.depth / 10.0);
        while self
            .history
            .front()
            .is_some_and(|(t, ..)| sent.saturating_duration_since(*t) > Duration::from_secs(3))
        {
            self.history.pop_front();
        }
        // Over at least half a second, with the bucket never near full (so none of its refill was
        // lost to the cap): refill = how much remaining rose + what we spent meanwhile.
        let low = 0.8 * self.depth;
        let base = self
            .history
            .iter()
            .rposition(|(t, ..)| sent.saturating_duration_since(*t) >= Duration::from_millis(500));
        if let Some(i) = base
            && remaining < low
            && self.history.iter().skip(i).all(|(_, r, _)| *r < low)
        {
            let (t0, r0, c0) = self.history[i];
            let seconds = sent.saturating_duration_since(t0).as_secs_f64();
            let refill = (remaining - r0 + (charged - c0)) / seconds;
            if refill > 0.0 {
                let smoothed = self.measured.map_or(refill, |m| 0.5 * m + 0.5 * refill);
                self.measured = Some(smoothed);
                self.probe = Some(smoothed * MEASURED_HEADROOM);
            }
        } else if remaining >= 0.5 * self.depth && held {
            let dt = self
                .last_step
                .map_or(0.0, |t| sent.saturating_duration_since(t).as_secs_f64())
                .min(1.0);
            let growth = if self.measured.is_some() {
                PROBE_GROWTH_KNOWN
            } else {
                PROBE_GROWTH
            };
            self.probe = Some(probe * (1.0 + growth * dt));
        }
        self.last_step = Some(sent);
        self.history.push_back((sent, remaining, charged));
    }

    /// A 429 for this budget: a remaining-only pace was too fast.
    pub fn on_limited(&mut self) {
        if let Some(p) = &mut self.probe {
            *p *= 0.7;
        }
    }

    /// The window the limit counts: stated, else what `reset` implies, else a minute.
    pub fn window(&self) -> Option<Duration> {
        if self.explicit.is_some() {
            return self.explicit;
        }
        let limit = self.limit?;
        if self.implied.is_empty() {
            return Some(DEFAULT_WINDOW);
        }
        let mut rates: Vec<f64> = self.implied.iter().copied().collect();
        rates.sort_by(f64::total_cmp);
        Some(snap(limit / rates[rates.len() / 2]))
    }

    pub fn pace(&self) -> Pace {
        match (self.limit, self.window()) {
            (limit, Some(window)) if window >= QUOTA => Pace::Quota { limit, window },
            (Some(limit), Some(window)) => Pace::Rate(limit / window.as_secs_f64()),
            _ => self.probe.map_or(Pace::Unknown, Pace::Rate),
        }
    }
}

/// The common window nearest to `seconds` by ratio.
fn snap(seconds: f64) -> Duration {
    let seconds = if seconds.is_finite() && seconds > 0.0 {
        seconds
    } else {
        DEFAULT_WINDOW.as_secs_f64()
    };
    let nearest = WINDOWS
        .iter()
        .min_by(|a, b| {
            let d = |w: &&u64| (seconds / **w as f64).ln().abs();
            d(a).total_cmp(&d(b))
        })
        .expect("WINDOWS is not empty");
    Duration::from_secs(*nearest)
}

/// A duration as a person reads it: `45s`, `12m`, `3h 12m`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s.div_ceil(60)),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: Option<f64>, remaining: f64, reset_ms: Option<u64>) -> Budget {
        Budget {
            window: None,
            limit,
            remaining: Some(remaining),
            reset: reset_ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn reset_after_one_request_tells_a_second_from_a_minute_from_a_day() {
        let t = Instant::now();
        // limit 50, remaining 49, full again in 20 ms: 50 per second, a one-second window.
        let mut second = Tracker::new(None);
        second.observe(&budget(Some(50.0), 49.0, Some(20)), 1.0, t, 1.0, false);
        assert_eq!(second.window(), Some(Duration::from_secs(1)));
        assert_eq!(second.pace(), Pace::Rate(50.0));
        // OpenAI: limit 3000 per minute, 2999 left, 20 ms to refill one.
        let mut minute = Tracker::new(None);
        minute.observe(&budget(Some(3000.0), 2999.0, Some(20)), 1.0, t, 1.0, false);
        assert_eq!(minute.pace(), Pace::Rate(50.0));
        // A per-minute limit enforced as a one-second bucket: 49 of 50 left, 20 ms to refill.
        let mut shallow = Tracker::new(None);
        for (remaining, reset) in [(49.0, 20), (47.0, 60), (48.0, 35), (45.0, 110)] {
            shallow.observe(
                &budget(Some(3000.0), remaining, Some(reset)),
                1.0,
                t,
                1.0,
                false,
            );
        }
        assert_eq!(shallow.window(), Some(Duration::from_secs(60)));
        // Groq: 14,400 requests, 30 used, 2m59.56s until full: a day.
        let mut day = Tracker::new(None);
        day.observe(&budget(Some(14_400.0), 14_399.0, None), 1.0, t, 1.0, false);
        assert_eq!(
            day.window(),
            Some(DEFAULT_WINDOW),
            "no reset: OpenAI's minute"
        );
        day.observe(
            &budget(Some(14_400.0), 14_370.0, Some(179_560)),
            1.0,
            t,
            30.0,
            false,
        );
        assert_eq!(day.window(), Some(Duration::from_secs(86_400)));
        assert_eq!(
            day.pace(),
            Pace::Quota {
                limit: Some(14_400.0),
                window: Duration::from_secs(86_400)
            }
        );
    }

    #[test]
    fn an_explicit_suffix_wins() {
        let t = Instant::now();
        let mut day = Tracker::new(Some(Duration::from_secs(86_400)));
        day.observe(&budget(Some(1000.0), 999.0, Some(20)), 1.0, t, 1.0, false);
        assert!(matches!(day.pace(), Pace::Quota { .. }));
        let mut minute = Tracker::new(Some(Duration::from_secs(60)));
        minute.observe(&budget(Some(600.0), 9.0, Some(5)), 1.0, t, 1.0, false);
        assert_eq!(minute.pace(), Pace::Rate(10.0));
    }

    #[test]
    fn remaining_only_probes_up_while_high_and_measures_the_refill_from_a_drain() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut b = Tracker::new(None);
        b.observe(&budget(None, 49.0, None), 1.0, t0, 1.0, false);
        let Pace::Rate(start) = b.pace() else {
            panic!("{:?}", b.pace())
        };
        assert!(
            (start - 5.0).abs() < 1e-9,
            "a tenth of the depth per second"
        );
        // Remaining stays high while our pace holds requests back: the pace grows.
        let mut charged = 1.0;
        for i in 1..=20 {
            charged += 5.0;
            b.observe(
                &budget(None, 45.0, None),
                1.0,
                t0 + ms(100 * i),
                charged,
                true,
            );
        }
        let Pace::Rate(probed) = b.pace() else {
            panic!()
        };
        assert!(probed > 2.0 * start, "{probed}");
        // The bucket drains: we send 60 per second, it falls by 10 per second, so it refills 50.
        let t1 = t0 + Duration::from_secs(3);
        for i in 0..=20u32 {
            let remaining = 35.0 - f64::from(i) * 1.0;
            charged += 6.0;
            b.observe(
                &budget(None, remaining, None),
                1.0,
                t1 + ms(100 * u64::from(i)),
                charged,
                true,
            );
        }
        let Pace::Rate(measured) = b.pace() else {
            panic!()
        };
        assert!(
            (measured - 50.0 * MEASURED_HEADROOM).abs() < 2.0,
            "{measured}"
        );
        b.on_limited();
        let Pace::Rate(cut) = b.pace() else { panic!() };
        assert!(cut < measured);
    }

    #[test]
    fn snapping_and_human_durations() {
        assert_eq!(snap(0.7), Duration::from_secs(1));
        assert_eq!(snap(45.0), Duration::from_secs(60));
        assert_eq!(snap(5000.0), Duration::from_secs(3600));
        assert_eq!(snap(f64::NAN), DEFAULT_WINDOW);
        assert_eq!(human(Duration::from_secs(42)), "42s");
        assert_eq!(human(Duration::from_secs(11_520)), "3h 12m");
    }
}
