//! Call stage: ask an OpenAI-compatible chat model for a forced function call.
//!
//! `request.rs` builds the request body (the cache key is derived from it); `client.rs` sends one
//! attempt; `scheduler.rs` decides when each attempt may go and whether to retry, with the
//! arithmetic in `pacing.rs`, the rate-limit headers read by `ratelimit.rs` and backoff in `retry.rs`.

mod client;
mod pacing;
mod ratelimit;
mod request;
mod retry;
mod scheduler;

pub use client::{Answer, Attempt, CallError, Client, parse_answer};
pub use ratelimit::{RateHeaders, parse_reset};
pub use request::request_body;
pub use retry::RetryPolicy;
pub use scheduler::{DEFAULT_CEILING, Estimate, Limits, Scheduler, Sent};
