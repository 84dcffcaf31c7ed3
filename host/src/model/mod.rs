//! Call stage: ask an OpenAI-compatible chat model for a forced function call.
//!
//! `request.rs` builds the request body (the cache key is derived from it); `client.rs` sends it
//! with retries; `retry.rs` decides how long to wait between attempts.

mod client;
mod request;
mod retry;

pub use client::{Answer, CallError, Client, parse_answer};
pub use request::request_body;
pub use retry::RetryPolicy;
