//! Call stage: ask an OpenAI-compatible chat model for structured output (a forced function call,
//! or a strict `json_schema` response for servers without tool calling).
//!
//! `request.rs` builds the request body (the cache key is derived from it) with the strict schema
//! of `strict.rs`; `client.rs` sends one attempt; `scheduler.rs` decides when each attempt may go
//! and whether to retry, with the arithmetic in `pacing.rs`, the rate-limit headers read by
//! `ratelimit.rs`, their windows inferred by `window.rs` and backoff in `retry.rs`.

mod client;
mod pacing;
mod ratelimit;
mod request;
mod retry;
mod scheduler;
mod strict;
mod window;

pub use client::{Answer, Attempt, CallError, Client, TOOLS_UNSUPPORTED, parse_answer};
pub use ratelimit::{Budget as RateBudget, RateHeaders, Unit, parse_reset};
pub use request::{Structured, as_json_schema, request_body, request_body_as};
pub use retry::RetryPolicy;
pub use scheduler::{DEFAULT_CEILING, Estimate, Limits, SAME_REJECTION_STOPS, Scheduler, Sent};
