//! The one place that decides when a request may go: every lens and dataset of a run sends through
//! one [`Scheduler`], which paces requests and tokens per minute (from `--rpm`/`--tpm` or the
//! `x-ratelimit-*` headers), adapts how many are in flight (AIMD, `--workers` as the ceiling),
//! pauses everyone on a 429 for as long as the server asks, and retries transient failures.

use super::client::{Attempt, CallError, Client};
use super::pacing::{Admission, Pacer};
use super::retry::RetryPolicy;
use serde_json::Value;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use tokio::sync::Notify;

/// What the scheduler is told at the start of a run.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most requests in flight (`--workers`).
    pub ceiling: usize,
    /// Requests per minute (`--rpm`), for servers that send no rate-limit headers.
    pub rpm: Option<f64>,
    /// Tokens per minute (`--tpm`).
    pub tpm: Option<f64>,
}

/// The default `--workers`: a ceiling the adaptive limit rarely reaches; it only bounds a runaway.
pub const DEFAULT_CEILING: usize = 256;

/// What a request costs in tokens before it is sent.
#[derive(Debug, Clone, Copy)]
pub struct Estimate {
    /// The rendered prompt as tiktoken counts it.
    pub prompt_tokens: u64,
    pub max_tokens: u64,
}

/// The answer to one prompt after any retries, and how many HTTP requests it took.
#[derive(Debug)]
pub struct Sent {
    pub result: Result<super::Answer, CallError>,
    pub requests: u64,
}

pub struct Scheduler {
    pacer: Mutex<Pacer>,
    /// Requests queue here in arrival order; only the one at the head waits on the pacer, so a
    /// freed slot wakes one task, not thousands.
    gate: tokio::sync::Mutex<()>,
    /// Signalled when a request leaves flight or the limits change.
    changed: Notify,
    retry: RetryPolicy,
    /// Set by the first run-stopping error, so requests still queued are not sent after it.
    stopped: OnceLock<String>,
}

impl Scheduler {
    pub fn new(limits: Limits, retry: RetryPolicy) -> Scheduler {
        Scheduler {
            pacer: Mutex::new(Pacer::new(
                limits.ceiling,
                limits.rpm,
                limits.tpm,
                Instant::now(),
            )),
            gate: tokio::sync::Mutex::new(()),
            changed: Notify::new(),
            retry,
            stopped: OnceLock::new(),
        }
    }

    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        self.pacer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run-stopping error, once there was one.
    pub fn stopped(&self) -> Option<&String> {
        self.stopped.get()
    }

    /// Ask for `body`, retrying what is worth retrying, within the limits.
    pub async fn call(&self, client: &Client, body: &Value, estimate: Estimate) -> Sent {
        let mut requests = 0;
        let (mut failures, mut rate_limited) = (0u32, 0u32);
        loop {
            if let Some(message) = self.stopped.get() {
                return stopped(message, requests);
            }
            let ticket = self.admit(estimate).await;
            // The error may have come while this request waited.
            if let Some(message) = self.stopped.get() {
                return stopped(message, requests);
            }
            requests += 1;
            let attempt = client.send(body).await;
            let over_limit = attempt.status == Some(429);
            let retries_left = if over_limit {
                rate_limited < self.retry.max_rate_limited
            } else {
                failures < self.retry.max_retries
            };
            let backoff = self.retry.delay(
                if over_limit { rate_limited } else { failures },
                attempt.limits.retry_after,
            );
            ticket.finish(&attempt, estimate, backoff);
            match attempt.result {
                Err(CallError::Fatal(message)) => {
                    let _ = self.stopped.set(message.clone());
                    return stopped(&message, requests);
                }
                Err(_) if attempt.transient && retries_left => {
                    if over_limit {
                        // The pause was set for everyone in `finish`; waiting at the gate obeys it.
                        rate_limited += 1;
                    } else {
                        failures += 1;
                        tokio::time::sleep(backoff).await;
                    }
                }
                result => return Sent { result, requests },
            }
        }
    }

    /// Wait at the gate until the pacer lets one more request go.
    async fn admit(&self, estimate: Estimate) -> Ticket<'_> {
        let _head = self.gate.lock().await;
        loop {
            let admission = {
                let mut pacer = self.pacer();
                let cost = pacer.cost(estimate.prompt_tokens, estimate.max_tokens);
                let admission = pacer.admit(cost, Instant::now());
                if admission == Admission::Go {
                    return Ticket {
                        scheduler: self,
                        sent: Instant::now(),
                        cost,
                        saturated: pacer.in_flight >= pacer.aimd.limit(),
                        finished: false,
                    };
                }
                admission
            };
            match admission {
                Admission::Wait(wait) => {
                    // A freed slot or new limits may shorten the wait: look again then.
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.changed.notified() => {}
                    }
                }
                Admission::Full | Admission::Go => self.changed.notified().await,
            }
        }
    }
}

fn stopped(message: &str, requests: u64) -> Sent {
    Sent {
        result: Err(CallError::Fatal(message.to_string())),
        requests,
    }
}

/// One request in flight. Dropping it (a cancelled run) frees its slot.
struct Ticket<'a> {
    scheduler: &'a Scheduler,
    sent: Instant,
    cost: f64,
    /// The in-flight limit was reached when this request went.
    saturated: bool,
    finished: bool,
}

impl Ticket<'_> {
    /// Tell the pacer what the attempt saw.
    fn finish(mut self, attempt: &Attempt, estimate: Estimate, backoff: std::time::Duration) {
        let now = Instant::now();
        let mut pacer = self.scheduler.pacer();
        pacer.release();
        pacer.observe(&attempt.limits, now);
        match (&attempt.result, attempt.status) {
            (Ok(answer), _) => {
                pacer.observe_tokens(estimate.prompt_tokens, answer.prompt_tokens);
                pacer
                    .aimd
                    .on_success(now.duration_since(self.sent), self.saturated, now);
            }
            (_, Some(429)) => {
                let wait = attempt
                    .limits
                    .retry_after
                    .or_else(|| attempt.limits.exhausted_reset())
                    .map_or(backoff, |w| w.min(self.scheduler.retry.max_delay));
                pacer.pause(wait, &attempt.limits, now);
            }
            // A server that times out or says it is overloaded has too much to do.
            (_, Some(503 | 529)) => pacer.aimd.on_congestion(now),
            _ if attempt.timed_out() => pacer.aimd.on_congestion(now),
            // A request the server never counted (a broken connection) gives its tokens back.
            (_, None) => pacer.refund_tokens(self.cost, now),
            _ => {}
        }
        self.finished = true;
        drop(pacer);
        self.scheduler.changed.notify_one();
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.scheduler.pacer().release();
            self.scheduler.changed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ESTIMATE: Estimate = Estimate {
        prompt_tokens: 10,
        max_tokens: 10,
    };

    #[tokio::test]
    async fn a_full_ceiling_holds_the_next_request_until_one_is_done_or_cancelled() {
        let s = Scheduler::new(
            Limits {
                ceiling: 1,
                rpm: None,
                tpm: None,
            },
            RetryPolicy::default(),
        );
        let first = s.admit(ESTIMATE).await;
        // The second waits as long as the first is in flight (given up here, which must not leak
        // the gate)...
        let waited = tokio::time::timeout(Duration::from_millis(100), s.admit(ESTIMATE)).await;
        assert!(waited.is_err(), "two in flight under a ceiling of 1");
        // ...and goes once the first is dropped unfinished, as a cancelled run drops it.
        drop(first);
        let next = tokio::time::timeout(Duration::from_secs(10), s.admit(ESTIMATE)).await;
        assert!(next.is_ok(), "a dropped request must free its slot");
        assert_eq!(s.pacer().in_flight, 1);
    }
}
