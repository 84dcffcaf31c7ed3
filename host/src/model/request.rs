//! The chat-completions request body: system + user message and, for structured output, either the
//! lens function as the only tool with `tool_choice` forcing it (`tools`), or a strict
//! `response_format` `json_schema` built from the same function for servers without tool calling
//! (`json_schema`). Both validate against OpenAI's `CreateChatCompletionRequest`.

use super::strict::strict_schema;
use crate::lens::Lens;
use crate::pipeline::render::Messages;
use serde_json::{Value, json};

/// The seed's sampling temperature: low, so ratings are stable, but not greedy.
pub const TEMPERATURE: f64 = 0.2;

/// How the model is asked for structured output (`--structured`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Structured {
    /// A forced tool call; on a "does not support tools" answer, `json_schema` for the rest of the
    /// run. Requests (and so cache keys) are the `tools` ones: the form sent is a transport detail.
    #[default]
    Auto,
    /// A forced tool call only.
    Tools,
    /// `response_format` `json_schema` (strict), the answer read from the message content.
    #[value(name = "json_schema")]
    JsonSchema,
}

/// The request for one prompt in the form `structured` asks for (`auto` builds the `tools` form).
pub fn request_body_as(
    structured: Structured,
    lens: &Lens,
    model: &str,
    messages: &Messages,
    max_tokens: u32,
) -> Value {
    let body = request_body(lens, model, messages, max_tokens);
    match structured {
        Structured::JsonSchema => as_json_schema(&body),
        Structured::Auto | Structured::Tools => body,
    }
}

/// The forced-tool-call request.
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

/// Whether `body` asks for a tool call (and so can be turned into [`as_json_schema`]).
pub fn uses_tools(body: &Value) -> bool {
    body.get("tools").is_some()
}

/// The same request with the forced function turned into a strict `json_schema` response format:
/// the function's name and description, its parameters made strict (see `strict.rs`). A body
/// without tools is returned as it is.
pub fn as_json_schema(body: &Value) -> Value {
    let Some(function) = body.pointer("/tools/0/function") else {
        return body.clone();
    };
    let mut format = json!({
        "name": function.get("name").cloned().unwrap_or(json!("answer")),
        "schema": strict_schema(function.get("parameters").unwrap_or(&json!({"type": "object"}))),
        "strict": true,
    });
    if let Some(description) = function.get("description") {
        format["description"] = description.clone();
    }
    let mut out = body.clone();
    if let Some(map) = out.as_object_mut() {
        map.remove("tools");
        map.remove("tool_choice");
        map.insert(
            "response_format".into(),
            json!({"type": "json_schema", "json_schema": format}),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tools_request_becomes_a_strict_json_schema_request() {
        let tools = json!({
            "model": "m",
            "messages": [{"role": "user", "content": "rate"}],
            "tools": [{"type": "function", "function": {
                "name": "rate", "description": "Rate it.",
                "parameters": {"type": "object", "properties": {"overall": {"type": "integer"}}, "required": ["overall"]}
            }}],
            "tool_choice": {"type": "function", "function": {"name": "rate"}},
            "temperature": 0.2,
            "max_tokens": 5,
        });
        assert!(uses_tools(&tools));
        let schema = as_json_schema(&tools);
        assert!(!uses_tools(&schema));
        assert!(schema.get("tool_choice").is_none());
        assert_eq!(schema["max_tokens"], 5);
        let format = &schema["response_format"];
        assert_eq!(format["type"], "json_schema");
        assert_eq!(format["json_schema"]["name"], "rate");
        assert_eq!(format["json_schema"]["description"], "Rate it.");
        assert_eq!(format["json_schema"]["strict"], true);
        assert_eq!(
            format["json_schema"]["schema"]["additionalProperties"],
            false
        );
        assert_eq!(as_json_schema(&schema), schema, "already json_schema");
    }
}
