//! Test support for the Classified workspace.
//!
//! - [`openai`]: a fake OpenAI chat-completions server on 127.0.0.1
//!   ([`FakeOpenAi`]) with scriptable replies ([`Reply`]).
//! - [`openai_batch`]: the fake server's Files and Batch API, with a scripted batch lifecycle
//!   ([`BatchScript`], [`BatchEnd`]).
//! - [`ratelimit`]: the fake's optional token-bucket rate limit ([`RateLimit`]).
//! - [`schema`]: validation of request/response bodies against OpenAI's
//!   published schemas ([`validate_chat_request`]).
//! - [`hub`]: a loopback Hugging Face Hub + CDN emulator ([`hub::HubEmulator`]) with
//!   repo builders, fault injection, a request log and data-file fixtures.
//! - Paths to the workspace's fixtures and built-in lenses.

use std::path::PathBuf;

pub mod filter_data;
pub mod hub;
pub mod openai;
pub mod openai_batch;
pub mod ratelimit;
pub mod schema;
pub mod slurm;

pub use openai::{
    Call, FakeOpenAi, MODELS, Reply, chat_completion, default_arguments, fake_score,
    forced_function_name, json_schema_format, openai_error, text_completion, user_content,
};
pub use openai_batch::{BatchEnd, BatchScript};
pub use ratelimit::{HeaderStyle, LimitStats, RateLimit};
pub use schema::{
    validate_chat_request, validate_chat_response, validate_component, validate_function_object,
};

#[cfg(test)]
mod server_tests;

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `tests/fixtures/<name>`, e.g. `fixture("sample.jsonl")`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The built-in lenses folder (`<workspace>/lenses`).
pub fn lenses_dir() -> PathBuf {
    workspace_root().join("lenses")
}

/// Names of the built-in lenses shipped in `lenses/`.
pub const BUILTIN_LENSES: &[&str] = &[
    "textbook_quality",
    "learning_value",
    "code_quality",
    "textbook_depth",
    "instruction_following",
];
