//! The one place that decides when a request may go: every lens and dataset of a run sends through
//! one [`Scheduler`], which paces requests and tokens (from `--rpm`/`--tpm` or the rate-limit
//! headers, whatever window they count), adapts how many are in flight (AIMD, `--workers` as the
//! ceiling), pauses everyone on a 429 for as long as the server asks, retries transient failures,
//! switches the run to `json_schema` requests when the server cannot call tools (`--structured
//! auto`), and stops the run when the requests themselves cannot succeed or a quota is used up.

use super::client::{Attempt, CallError, Client, TOOLS_UNSUPPORTED};
use super::pacing::{Admission, Charge, Pacer};
use super::request::{Structured, as_json_schema, uses_tools};
use super::retry::RetryPolicy;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// How structured output is asked for (`--structured`).
    pub structured: Structured,
}

/// The default `--workers`: a ceiling the adaptive limit rarely reaches; it only bounds a runaway.
pub const DEFAULT_CEILING: usize = 256;

/// This many requests rejected with the same 4xx and nothing answered yet: every request would be.
pub const SAME_REJECTION_STOPS: u32 = 5;

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

/// The same 4xx over and over from the start of the run.
#[derive(Debug, Default)]
struct Rejections {
    /// Any request answered well: a rejection is then about that request, not all of them.
    answered: bool,
    last: Option<(u16, String)>,
    repeats: u32,
}

pub struct Scheduler {
    pacer: Mutex<Pacer>,
    /// Requests queue here in arrival order; only the one at the head waits on the pacer, so a
    /// freed slot wakes one task, not thousands.
    gate: tokio::sync::Mutex<()>,
    /// Signalled when a request leaves flight or the limits change.
    changed: Notify,
    retry: RetryPolicy,
    structured: Structured,
    /// `--structured auto` found that the server cannot call tools: `json_schema` from now on.
    no_tools: AtomicBool,
    rejections: Mutex<Rejections>,
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
            structured: limits.structured,
            no_tools: AtomicBool::new(false),
            rejections: Mutex::new(Rejections::default()),
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

    /// Why nothing more was sent, when a rate quota (a budget of an hour or more) ran out: the
    /// run ends with this sentence and its own exit code once its outputs are written.
    pub fn quota_spent(&self) -> Option<String> {
        self.pacer().spent().cloned()
    }

    /// How structured output is asked for: the form of the requests to build (`auto` builds
    /// `tools` requests and sends them as `json_schema` once the server turned tools down).
    pub fn structured(&self) -> Structured {
        self.structured
    }

    /// The body to send for `body` right now.
    fn form<'b>(&self, body: &'b Value) -> std::borrow::Cow<'b, Value> {
        if self.no_tools.load(Ordering::Relaxed) && uses_tools(body) {
            std::borrow::Cow::Owned(as_json_schema(body))
        } else {
            std::borrow::Cow::Borrowed(body)
        }
    }

    /// Ask for `body`, retrying what is worth retrying, within the limits.
    pub async fn call(&self, client: &Client, body: &Value, estimate: Estimate) -> Sent {
        let mut requests = 0;
        let (mut failures, mut rate_limited) = (0u32, 0u32);
        loop {
            if let Some(message) = self.stopped.get() {
                return stopped(message, requests);
            }
            let ticket = match self.admit(estimate).await {
                Ok(ticket) => ticket,
                Err(spent) => return quota_spent(spent, requests),
            };
            // The error may have come while this request waited.
            if let Some(message) = self.stopped.get() {
                return stopped(message, requests);
            }
            requests += 1;
            let attempt = client.send(&self.form(body)).await;
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
            if let Some(message) = self.rejected_for_good(&attempt) {
                let _ = self.stopped.set(message.clone());
                return stopped(&message, requests);
            }
            match attempt.result {
                Err(CallError::Fatal(message)) => {
                    let _ = self.stopped.set(message.clone());
                    return stopped(&message, requests);
                }
                Err(CallError::Failed {
                    kind: TOOLS_UNSUPPORTED,
                    message,
                }) => {
                    if self.structured != Structured::Auto {
                        let message = format!(
                            "{message}; rerun with --structured json_schema (or auto) to ask for JSON output instead"
                        );
                        let _ = self.stopped.set(message.clone());
                        return stopped(&message, requests);
                    }
                    if !self.no_tools.swap(true, Ordering::Relaxed) {
                        eprintln!(
                            "{message}: asking for JSON output (response_format json_schema) for the rest of the run"
                        );
                    }
                    // Asked again at once in the new form; this one cost nothing.
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

    /// The sentence that stops the run when the first requests all got the same 4xx: a request
    /// the server can never accept (an unknown parameter, a schema it refuses) is not paid for
    /// a million times over.
    fn rejected_for_good(&self, attempt: &Attempt) -> Option<String> {
        let mut r = self.rejections.lock().unwrap_or_else(|p| p.into_inner());
        if attempt.result.is_ok() {
            r.answered = true;
            return None;
        }
        let (Some(status), Err(CallError::Failed { kind, message })) =
            (attempt.status, &attempt.result)
        else {
            return None;
        };
        if r.answered || !(400..500).contains(&status) || matches!(status, 408 | 409 | 429) {
            return None;
        }
        // A server without tool calling has its own answer (switch to json_schema, or stop with
        // that fix), which must not race with the generic one.
        if *kind == TOOLS_UNSUPPORTED {
            return None;
        }
        let this = (status, message.clone());
        if r.last.as_ref() == Some(&this) {
            r.repeats += 1;
        } else {
            r.last = Some(this);
            r.repeats = 1;
        }
        (r.repeats >= SAME_REJECTION_STOPS).then(|| {
            format!(
                "the first {} requests were all rejected the same way ({message}), so every request would be; the run stops here: check --model, --base-url and the lens's function schema",
                r.repeats
            )
        })
    }

    /// Wait at the gate until the pacer lets one more request go; `Err` once a quota is used up.
    async fn admit(&self, estimate: Estimate) -> Result<Ticket<'_>, String> {
        let _head = self.gate.lock().await;
        loop {
            let admission = {
                let mut pacer = self.pacer();
                let cost = pacer.cost(estimate.prompt_tokens, estimate.max_tokens);
                let admission = pacer.admit(cost, Instant::now());
                if admission == Admission::Go {
                    return Ok(Ticket {
                        scheduler: self,
                        sent: Instant::now(),
                        charge: pacer.charge(cost),
                        saturated: pacer.in_flight >= pacer.aimd.limit(),
                        finished: false,
                    });
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
                Admission::Spent(why) => {
                    // Everyone queued behind learns the same at once.
                    self.changed.notify_waiters();
                    return Err(why);
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

fn quota_spent(why: String, requests: u64) -> Sent {
    Sent {
        result: Err(CallError::Failed {
            kind: crate::failure::FailureKind::RateBudget,
            message: format!("not sent: {why}"),
        }),
        requests,
    }
}

/// One request in flight. Dropping it (a cancelled run) frees its slot.
struct Ticket<'a> {
    scheduler: &'a Scheduler,
    sent: Instant,
    charge: Charge,
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
        pacer.observe(&attempt.limits, self.charge, self.sent, now);
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
                    .unwrap_or(backoff);
                // The pause is capped, but a wait of hours still tells the pacer it met a quota.
                pacer.pause(wait, self.scheduler.retry.max_delay, &attempt.limits, now);
            }
            // A server that times out or says it is overloaded has too much to do.
            (_, Some(503 | 529)) => pacer.aimd.on_congestion(now),
            _ if attempt.timed_out() => pacer.aimd.on_congestion(now),
            // A request the server never counted (a broken connection) gives its tokens back.
            (_, None) => pacer.refund_tokens(self.charge.tokens, now),
            _ => {}
        }
        let notes = std::mem::take(&mut pacer.notes);
        self.finished = true;
        drop(pacer);
        for note in notes {
            eprintln!("{note}");
        }
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
                structured: Structured::Auto,
            },
            RetryPolicy::default(),
        );
        let first = s.admit(ESTIMATE).await.unwrap();
        // The second waits as long as the first is in flight (given up here, which must not leak
        // the gate)...
        let waited = tokio::time::timeout(Duration::from_millis(100), s.admit(ESTIMATE)).await;
        assert!(waited.is_err(), "two in flight under a ceiling of 1");
        // ...and goes once the first is dropped unfinished, as a cancelled run drops it.
        drop(first);
        let next = tokio::time::timeout(Duration::from_secs(10), s.admit(ESTIMATE))
            .await
            .expect("a dropped request must free its slot");
        assert!(next.is_ok());
        assert_eq!(s.pacer().in_flight, 1);
    }
}
