//! The chat-completions request body: system + user message, the lens function as the only tool,
//! and `tool_choice` forcing it. Validates against OpenAI's `CreateChatCompletionRequest`.

use crate::lens::Lens;
use crate::pipeline::render::Messages;
use serde_json::{Value, json};

/// The seed's sampling temperature: low, so ratings are stable, but not greedy.
pub const TEMPERATURE: f64 = 0.2;

pub fn request_body(lens: &Lens, model: &str, messages: &Messages, max_tokens: u32) -> Value {
    json!({
        "model": model,
        "messages": [
            {"role": "system", "content": messages.system},
            {"role": "user", "content": messages.user},
        ],
        "tools": [{"type": "function", "function": lens.function}],
        "tool_choice": {"type": "function", "function": {"name": lens.function_name}},
        "temperature": TEMPERATURE,
        "max_tokens": max_tokens,
    })
}
