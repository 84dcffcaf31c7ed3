//! Where a prompt the cache cannot answer gets its answer: the one question rating a row asks of
//! the run.
//!
//! The run picks the answerer once, at the top (plan, collect for a batch, answer from finished
//! batches, or ask the model live, with or without a budget: `crate::run::answerers`). Rating a row
//! (`rate.rs`) never learns which one it has; it only renders, looks up the cache, asks, and
//! postprocesses what comes back.

use crate::model::{Answer, CallError, Estimate};
use futures_util::future::BoxFuture;
use serde_json::Value;

/// One prompt the cache could not answer.
pub struct Prompt<'a> {
    /// Its cache key (also its `custom_id` in the Batch API).
    pub key: &'a str,
    /// The lens it belongs to.
    pub lens: &'a str,
    /// The chat completion request body.
    pub body: &'a Value,
    /// Its tokens, for pacing, budgets and estimates.
    pub estimate: Estimate,
}

/// What became of a prompt.
#[derive(Debug)]
pub enum Reply {
    /// The model answered; the row's postprocess decides whether the answer is good.
    Answered(Answer),
    /// Counted, not answered (a planning pass): the row ends planned, not rated.
    Counted,
    /// No answer: the row fails (a bad answer is asked again), or the whole run stops.
    Error(CallError),
}

/// A reply and the number of requests it took (retries included).
#[derive(Debug)]
pub struct Sent {
    pub reply: Reply,
    pub requests: u64,
}

impl Sent {
    /// A reply that took no request.
    pub fn unsent(reply: Reply) -> Sent {
        Sent { reply, requests: 0 }
    }
}

/// Answers the prompts the cache cannot.
pub trait Answerer: Send + Sync {
    /// Answer one prompt. Called once per attempt: a bad answer is asked again by calling it again.
    fn answer<'a>(&'a self, prompt: Prompt<'a>) -> BoxFuture<'a, Sent>;

    /// Whether this answerer only plans (dry runs and the planning pass): rows whose prompts were
    /// all found in the cache then end planned too, so a plan counts every row the same way.
    fn plans(&self) -> bool {
        false
    }
}

/// Counts every prompt and answers none: dry runs and the planning pass of a run.
pub struct Plan;

impl Answerer for Plan {
    fn answer<'a>(&'a self, _prompt: Prompt<'a>) -> BoxFuture<'a, Sent> {
        Box::pin(async { Sent::unsent(Reply::Counted) })
    }

    fn plans(&self) -> bool {
        true
    }
}
