//! The HTTP client for `POST {base}/chat/completions`: one attempt at a time, reporting what it saw
//! (answer or error, status, rate-limit headers, latency). The answer is the forced tool call's
//! arguments, or for a `json_schema` request the message content. Whether and when to try again
//! is the scheduler's decision (`scheduler.rs`).

use super::ratelimit::RateHeaders;
use crate::failure::FailureKind;
use crate::settings::ApiKey;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};

/// `CallError::Failed` kind of a 4xx saying the server or model cannot call tools at all.
pub const TOOLS_UNSUPPORTED: FailureKind = FailureKind::ToolsUnsupported;

/// A model answer: the forced function call's arguments (or the JSON content of a `json_schema`
/// answer) plus what the cache stores.
#[derive(Debug, Clone)]
pub struct Answer {
    pub arguments: String,
    /// The whole response body.
    pub response: Value,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// Nothing will work until the user fixes something (key, access, model, URL): stop the run.
    Fatal(String),
    /// This request failed (after any retries): the chunk fails, the run goes on.
    Failed { kind: FailureKind, message: String },
}

/// What one HTTP attempt saw.
#[derive(Debug)]
pub struct Attempt {
    pub result: Result<Answer, CallError>,
    /// The HTTP status, absent when the connection broke or timed out.
    pub status: Option<u16>,
    pub limits: RateHeaders,
    pub latency: Duration,
    /// Worth trying again: 408, 409, 429 (but not out of quota), 5xx, timeouts, broken connections.
    pub transient: bool,
}

impl Attempt {
    pub fn timed_out(&self) -> bool {
        matches!(
            &self.result,
            Err(CallError::Failed {
                kind: FailureKind::Timeout,
                ..
            })
        )
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    base_url: String,
    api_key: Option<ApiKey>,
}

impl Client {
    pub fn new(base_url: &str, api_key: Option<ApiKey>, timeout: Duration) -> Client {
        let base_url = base_url.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("classified/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with only a timeout and user agent set always builds");
        Client {
            url: format!("{base_url}/chat/completions"),
            base_url,
            http,
            api_key,
        }
    }

    /// Send `body` once.
    pub async fn send(&self, body: &Value) -> Attempt {
        let started = Instant::now();
        let mut request = self.http.post(&self.url).json(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose());
        }
        let (result, status, limits, transient) = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let limits = RateHeaders::parse(response.headers());
                let result = match response.text().await {
                    Ok(text) if status.is_success() => parse_answer(&text, started.elapsed()),
                    Ok(text) => Err(self.http_error(status, body, &text)),
                    // The connection broke or timed out mid-body: as retryable as a failed send.
                    Err(e) => {
                        let error = self.connection_error(&e);
                        return Attempt {
                            result: Err(error),
                            status: None,
                            limits,
                            latency: started.elapsed(),
                            transient: true,
                        };
                    }
                };
                let transient =
                    is_retryable(status) && !matches!(result, Err(CallError::Fatal(_)) | Ok(_));
                (result, Some(status.as_u16()), limits, transient)
            }
            Err(e) => (
                Err(self.connection_error(&e)),
                None,
                RateHeaders::default(),
                true,
            ),
        };
        Attempt {
            result,
            status,
            limits,
            latency: started.elapsed(),
            transient,
        }
    }

    fn connection_error(&self, e: &reqwest::Error) -> CallError {
        CallError::Failed {
            kind: if e.is_timeout() {
                FailureKind::Timeout
            } else {
                FailureKind::Connection
            },
            message: connection_message(&self.base_url, e),
        }
    }

    /// Turn an error status into a row failure or a run-stopping error with a fix in it.
    fn http_error(&self, status: StatusCode, body: &Value, text: &str) -> CallError {
        let (message, code) = api_error(text);
        let detail = match (&code, message.is_empty()) {
            (Some(c), false) => format!(" ({c}: {message})"),
            (None, false) => format!(" ({message})"),
            (Some(c), true) => format!(" ({c})"),
            (None, true) => String::new(),
        };
        let model = body.get("model").and_then(Value::as_str).unwrap_or("?");
        let base = &self.base_url;
        match status.as_u16() {
            401 => CallError::Fatal(format!(
                "the API at {base} rejected the API key with 401{detail}; set OPENAI_API_KEY (or OPENAI_KEY) to a valid key"
            )),
            403 => CallError::Fatal(format!(
                "the API at {base} refused access with 403{detail}; check that your key may use model `{model}` and this endpoint"
            )),
            404 if code.as_deref() == Some("model_not_found") || message.contains("model") => {
                CallError::Fatal(format!(
                    "model `{model}` was not found at {base}{detail}; set CHAT_MODEL or --model to a model your account can use"
                ))
            }
            404 => CallError::Fatal(format!(
                "{base}/chat/completions does not exist (404){detail}; check OPENAI_BASE_URL (it usually ends in /v1)"
            )),
            // Out of credit is a 429 too, but waiting does not fix it.
            429 if code.as_deref() == Some("insufficient_quota") => CallError::Fatal(format!(
                "the account behind the API key has no quota left (429{detail}); add credit or use another key"
            )),
            429 => CallError::Failed {
                kind: FailureKind::RateLimited,
                message: format!("still rate limited (429) after retries{detail}"),
            },
            s if s >= 500 => CallError::Failed {
                kind: FailureKind::ServerError,
                message: format!("the API answered {s} after retries{detail}"),
            },
            s if (400..500).contains(&s) && says_no_tools(&message) => CallError::Failed {
                kind: TOOLS_UNSUPPORTED,
                message: format!(
                    "model `{model}` at {base} does not support tool calling ({s}{detail})"
                ),
            },
            s => CallError::Failed {
                kind: FailureKind::Rejected,
                message: format!("the API rejected the request with {s}{detail}"),
            },
        }
    }
}

/// Ollama: "… does not support tools"; llama.cpp: "tools param requires --jinja flag"; others
/// say tool calling or `tool_choice` is not supported or not enabled.
fn says_no_tools(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("tool")
        && [
            "not support",
            "unsupported",
            "requires --jinja",
            "not enabled",
            "not available",
        ]
        .iter()
        .any(|p| m.contains(p))
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

/// OpenAI error bodies look like `{"error": {"message", "type", "code"}}`.
fn api_error(text: &str) -> (String, Option<String>) {
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let error = value.get("error").unwrap_or(&Value::Null);
    let message = match error {
        Value::String(s) => s.clone(),
        _ => error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    };
    let code = error
        .get("code")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut message: String = message.chars().take(300).collect();
    message = message.replace('\n', " ");
    (message, code)
}

fn connection_message(base: &str, e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!(
            "no answer from {base} within OPENAI_TIMEOUT; raise OPENAI_TIMEOUT if the model is slow"
        )
    } else {
        // reqwest's own message names the URL but never a header, so the key cannot leak here.
        let mut source: &dyn std::error::Error = e;
        while let Some(next) = source.source() {
            source = next;
        }
        format!("could not reach {base}: {source}")
    }
}

/// Pull the forced function call out of a 200 response; without one, a JSON object in the message
/// content is the answer (a `json_schema` request, or a server that answers tools that way).
pub fn parse_answer(text: &str, elapsed: Duration) -> Result<Answer, CallError> {
    let bad = |message: String| CallError::Failed {
        kind: FailureKind::BadAnswer,
        message,
    };
    let response: Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "the API answered 200 with a body that is not JSON ({e})"
        ))
    })?;
    let message = &response["choices"][0]["message"];
    let arguments = message["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .or_else(|| message["function_call"]["arguments"].as_str())
        .or_else(|| {
            message["content"]
                .as_str()
                .filter(|c| serde_json::from_str::<Value>(c).is_ok_and(|v| v.is_object()))
        })
        .ok_or_else(|| {
            let refusal = message["refusal"]
                .as_str()
                .or(message["content"].as_str())
                .unwrap_or("");
            let said: String = refusal.chars().take(200).collect();
            bad(format!(
                "the model answered without calling the function{}",
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said:?}")
                }
            ))
        })?
        .to_string();
    let usage = &response["usage"];
    Ok(Answer {
        arguments,
        prompt_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
        completion_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
        response,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_saying_they_cannot_call_tools_are_recognised() {
        for said in [
            "registry.ollama.ai/library/gemma:2b does not support tools",
            "tools param requires --jinja flag",
            "Tool calling is not supported for this model",
        ] {
            assert!(says_no_tools(said), "{said}");
        }
        for other in [
            "Unrecognized request argument supplied: temperature",
            "This model's maximum context length is 128000 tokens",
            "Invalid schema for function 'rate': 'overall' is not valid",
        ] {
            assert!(!says_no_tools(other), "{other}");
        }
    }

    #[test]
    fn a_json_schema_answer_is_read_from_the_content() {
        let body = serde_json::json!({
            "choices": [{"message": {"role": "assistant", "content": "{\"overall\": 3}"}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 4},
        });
        let answer = parse_answer(&body.to_string(), Duration::ZERO).unwrap();
        assert_eq!(answer.arguments, "{\"overall\": 3}");
        assert_eq!((answer.prompt_tokens, answer.completion_tokens), (7, 4));
        // Prose is no answer, with or without tools.
        let prose = serde_json::json!({
            "choices": [{"message": {"role": "assistant", "content": "It is good."}}],
        });
        let Err(CallError::Failed { kind, message }) =
            parse_answer(&prose.to_string(), Duration::ZERO)
        else {
            panic!("prose accepted")
        };
        assert_eq!(kind, FailureKind::BadAnswer);
        assert!(message.contains("It is good."), "{message}");
    }
}
