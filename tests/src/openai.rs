//! A fake OpenAI chat-completions server on 127.0.0.1 for tests.
//!
//! The server runs on its own thread with its own (current-thread) tokio
//! runtime, so synchronous tests can start it, point the `classified` binary
//! at [`FakeOpenAi::base_url`], and inspect what was sent afterwards. It shuts
//! down when the [`FakeOpenAi`] is dropped.
//!
//! Routes (each also without the `/v1` prefix):
//! - `POST /v1/chat/completions` — recorded, then answered per the behaviour.
//! - `GET /v1/models`, `GET /v1/models/{id}` — a static model list (not recorded).
//! - `/v1/files…` and `/v1/batches…` — the Batch API, in `openai_batch.rs` (batch lines are
//!   answered by the same behaviour, but not recorded as chat requests).
//! - anything else — OpenAI's `404 Invalid URL` error.
//!
//! Answers use the real response shapes (see [`chat_completion`]) and errors
//! use the real error envelope (see [`openai_error`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, oneshot};

use crate::ratelimit::{LimitStats, Limiter, RateLimit};

/// One chat-completions request, as handed to the behaviour closure.
#[derive(Debug, Clone)]
pub struct Call {
    /// The parsed JSON request body.
    pub body: Value,
    /// 0-based index of this request among all chat-completions requests.
    pub n: usize,
    /// How many times this exact body (byte-for-byte after JSON
    /// normalisation) was received before this one: 0 on the first try,
    /// 1 on the first retry, ...
    pub attempt: usize,
    /// The `Authorization` header, if any (e.g. `"Bearer sk-test"`).
    pub authorization: Option<String>,
    /// The request path, e.g. `/v1/chat/completions`.
    pub path: String,
}

impl Call {
    /// The text of every `user` message, joined by `\n` (text parts of array
    /// contents are concatenated).
    pub fn user_content(&self) -> String {
        user_content(&self.body)
    }

    /// The function the request forces (`tool_choice.function.name`, or the
    /// legacy `function_call.name`), if any.
    pub fn forced_function(&self) -> Option<String> {
        forced_function_name(&self.body)
    }

    /// The requested model.
    pub fn model(&self) -> &str {
        self.body.get("model").and_then(Value::as_str).unwrap_or("")
    }
}

/// What the fake server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A valid forced tool call whose arguments are [`default_arguments`].
    Answer,
    /// A tool call (to the forced function) with these raw arguments, which
    /// need not be valid JSON.
    Arguments(String),
    /// An error (or any other) status with a JSON body (use [`openai_error`])
    /// and extra headers such as `retry-after`.
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: Value,
    },
    /// Wait, then reply.
    Delay(Duration, Box<Reply>),
    /// Drop the connection without answering (a TCP RST).
    Reset,
    /// A `200` completion where the model answered in plain text and called
    /// no function (`finish_reason: "stop"`, `tool_calls` absent).
    Text(String),
    /// A raw, non-JSON response (e.g. an HTML 502 page from a proxy).
    Raw {
        code: u16,
        content_type: String,
        body: String,
    },
}

impl Reply {
    /// `429` as OpenAI sends it for a requests-per-minute limit, with
    /// `retry-after` (whole seconds, rounded up) and `retry-after-ms`.
    pub fn rate_limited(retry_after: Duration) -> Reply {
        let ms = retry_after.as_millis();
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Reply::Status {
            code: 429,
            headers: vec![
                ("retry-after".into(), secs.to_string()),
                ("retry-after-ms".into(), ms.to_string()),
                ("x-ratelimit-limit-requests".into(), "3000".into()),
                ("x-ratelimit-remaining-requests".into(), "0".into()),
                ("x-ratelimit-reset-requests".into(), format!("{ms}ms")),
            ],
            body: openai_error(
                429,
                &format!(
                    "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): \
                     Limit 3000, Used 3000, Requested 1. Please try again in {secs}s. Visit \
                     https://platform.openai.com/account/rate-limits to learn more."
                ),
                "requests",
                Some("rate_limit_exceeded"),
            ),
        }
    }

    /// `429 insufficient_quota`: a rate-limit status that must NOT be retried.
    pub fn insufficient_quota() -> Reply {
        Reply::status(
            openai_error(
                429,
                "You exceeded your current quota, please check your plan and billing details. For more \
             information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                "insufficient_quota",
                Some("insufficient_quota"),
            ),
            429,
        )
    }

    /// `401 invalid_api_key`.
    pub fn unauthorized() -> Reply {
        Reply::status(
            openai_error(
                401,
                "Incorrect API key provided: sk-wrong. You can find your API key at \
                 https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            401,
        )
    }

    /// `404 model_not_found` for `model`.
    pub fn model_not_found(model: &str) -> Reply {
        Reply::status(
            openai_error(
                404,
                &format!("The model `{model}` does not exist or you do not have access to it."),
                "invalid_request_error",
                Some("model_not_found"),
            ),
            404,
        )
    }

    /// `400 … does not support tools`, as Ollama answers a tools request for a model whose
    /// template has no tool calling.
    pub fn tools_unsupported(model: &str) -> Reply {
        Reply::status(
            openai_error(
                400,
                &format!("registry.ollama.ai/library/{model}:latest does not support tools"),
                "api_error",
                None,
            ),
            400,
        )
    }

    /// `400 context_length_exceeded`.
    pub fn context_length_exceeded() -> Reply {
        let mut body = openai_error(
            400,
            "This model's maximum context length is 128000 tokens. However, your messages resulted in \
             130412 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            Some("context_length_exceeded"),
        );
        body["error"]["param"] = json!("messages");
        Reply::status(body, 400)
    }

    /// `500 server_error`.
    pub fn server_error() -> Reply {
        Reply::status(
            openai_error(
                500,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            ),
            500,
        )
    }

    /// `503` "engine overloaded".
    pub fn overloaded() -> Reply {
        Reply::status(
            openai_error(
                503,
                "The engine is currently overloaded, please try again later.",
                "server_error",
                None,
            ),
            503,
        )
    }

    /// A status reply without extra headers.
    pub fn status(body: Value, code: u16) -> Reply {
        Reply::Status {
            code,
            headers: Vec::new(),
            body,
        }
    }

    /// `reply`, sent after `delay`.
    pub fn delayed(delay: Duration, reply: Reply) -> Reply {
        Reply::Delay(delay, Box::new(reply))
    }
}

/// OpenAI's error envelope:
/// `{"error":{"message":…,"type":…,"param":null,"code":…}}`.
///
/// `status` is the HTTP status the body goes with; it is not part of the
/// body, but fills in `type` when `kind` is empty (400/401/403/404/409/422 →
/// `invalid_request_error`, 429 → `requests`, 5xx → `server_error`).
pub fn openai_error(status: u16, message: &str, kind: &str, err_code: Option<&str>) -> Value {
    let kind = if kind.is_empty() {
        match status {
            429 => "requests",
            500..=599 => "server_error",
            _ => "invalid_request_error",
        }
    } else {
        kind
    };
    json!({
        "error": {
            "message": message,
            "type": kind,
            "param": null,
            "code": err_code,
        }
    })
}

/// The text of every `user` message in a request body, joined by `\n`.
pub fn user_content(body: &Value) -> String {
    let mut parts = Vec::new();
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if m.get("role").and_then(Value::as_str) != Some("user") {
            continue;
        }
        match m.get("content") {
            Some(Value::String(s)) => parts.push(s.clone()),
            Some(Value::Array(items)) => {
                let text: String = items
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect();
                parts.push(text);
            }
            _ => {}
        }
    }
    parts.join("\n")
}

/// The name of the function a request forces: `tool_choice.function.name`,
/// else the legacy `function_call.name`, else — when `tool_choice` is
/// `"required"`/`"auto"`/absent and exactly one function tool is offered — that
/// tool's name.
pub fn forced_function_name(body: &Value) -> Option<String> {
    if let Some(name) = body
        .pointer("/tool_choice/function/name")
        .and_then(Value::as_str)
    {
        return Some(name.to_owned());
    }
    if let Some(name) = body.pointer("/function_call/name").and_then(Value::as_str) {
        return Some(name.to_owned());
    }
    if body.get("tool_choice").and_then(Value::as_str) == Some("none") {
        return None;
    }
    let funcs = offered_functions(body);
    if funcs.len() == 1 {
        return funcs[0]
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    None
}

/// The schema of a `response_format: {type: json_schema}` request without tools, if it is one:
/// its answer is JSON in the message content, not a tool call.
pub fn json_schema_format(body: &Value) -> Option<&Value> {
    if body.get("tools").is_some() {
        return None;
    }
    let format = body.get("response_format")?;
    (format.get("type").and_then(Value::as_str) == Some("json_schema"))
        .then(|| format.pointer("/json_schema/schema"))
        .flatten()
}

/// Function definitions offered by the request (`tools[].function`, or the
/// legacy `functions[]`).
fn offered_functions(body: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for t in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(f) = t.get("function") {
            out.push(f);
        }
    }
    for f in body
        .get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push(f);
    }
    out
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The score [`default_arguments`] gives the integer/number field `field` for
/// a request whose user content is `user_content`: 1, 2 or 3, stable across
/// runs and platforms (FNV-1a of the content, mixed with the field name).
pub fn fake_score(user_content: &str, field: &str) -> i64 {
    let mut h = fnv1a(user_content.as_bytes());
    h ^= fnv1a(field.as_bytes()).rotate_left(17);
    // Final avalanche (splitmix64) so nearby inputs spread over 1..=3.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    1 + (h % 3) as i64
}

/// The arguments `Reply::Answer` sends: a JSON object with one entry per
/// property of the forced function's `parameters.properties` (or of the
/// `response_format` JSON schema's `properties`), in schema order. Integers/numbers get [`fake_score`] (1..=3, clamped into any
/// `minimum`/`maximum`), strings a short rationale (or an `enum`
/// value; integer enums pick a hashed member), booleans `true`, arrays `[]`, objects `{}`. Returns `"{}"` when the
/// forced function is not among the offered tools.
pub fn default_arguments(body: &Value) -> String {
    let content = user_content(body);
    let props = match json_schema_format(body) {
        Some(schema) => schema.get("properties").and_then(Value::as_object),
        None => {
            let Some(name) = forced_function_name(body) else {
                return "{}".into();
            };
            let Some(func) = offered_functions(body)
                .into_iter()
                .find(|f| f.get("name").and_then(Value::as_str) == Some(name.as_str()))
            else {
                return "{}".into();
            };
            func.pointer("/parameters/properties")
                .and_then(Value::as_object)
        }
    };
    let mut args = Map::new();
    for (field, schema) in props.into_iter().flatten() {
        args.insert(field.clone(), fake_value(&content, field, schema));
    }
    Value::Object(args).to_string()
}

/// Words that make [`graded_arguments`] score a text high, and words that make it score low.
pub const GOOD_WORDS: [&str; 8] = [
    "theorem",
    "proof",
    "photosynthesis",
    "lemma",
    "enzyme",
    "derivation",
    "hypothesis",
    "equation",
];
pub const BAD_WORDS: [&str; 8] = [
    "click",
    "subscribe",
    "casino",
    "bonus",
    "jackpot",
    "unsubscribe",
    "giveaway",
    "coupon",
];

/// The score a text earns from its words: the share of [`GOOD_WORDS`] among its good and bad
/// words, mapped onto `min..=max` (the middle when it holds neither). A classifier can learn it.
pub fn graded_score(user_content: &str, min: i64, max: i64) -> i64 {
    let (mut good, mut bad) = (0usize, 0usize);
    for word in user_content.split(|c: char| !c.is_alphanumeric()) {
        let word = word.to_ascii_lowercase();
        good += usize::from(GOOD_WORDS.contains(&word.as_str()));
        bad += usize::from(BAD_WORDS.contains(&word.as_str()));
    }
    if good + bad == 0 {
        return (min + max) / 2;
    }
    let share = good as f64 / (good + bad) as f64;
    min + (share * (max - min) as f64).round() as i64
}

/// Like [`default_arguments`], but every integer/number score is [`graded_score`] of the user
/// content within the field's `minimum`/`maximum` (default 1..=3): answers that depend on the
/// text's words, for tests that train a classifier on them.
pub fn graded_arguments(body: &Value) -> String {
    let content = user_content(body);
    let mut args: Map<String, Value> =
        serde_json::from_str(&default_arguments(body)).unwrap_or_default();
    let props = match json_schema_format(body) {
        Some(schema) => schema.get("properties").and_then(Value::as_object).cloned(),
        None => forced_function_name(body).and_then(|name| {
            offered_functions(body)
                .into_iter()
                .find(|f| f.get("name").and_then(Value::as_str) == Some(name.as_str()))
                .and_then(|f| f.pointer("/parameters/properties"))
                .and_then(Value::as_object)
                .cloned()
        }),
    };
    for (field, schema) in props.into_iter().flatten() {
        if matches!(
            schema.get("type").and_then(Value::as_str),
            Some("integer" | "number")
        ) {
            let min = schema.get("minimum").and_then(Value::as_i64).unwrap_or(1);
            let max = schema.get("maximum").and_then(Value::as_i64).unwrap_or(3);
            args.insert(field, json!(graded_score(&content, min, max)));
        }
    }
    Value::Object(args).to_string()
}

fn fake_value(content: &str, field: &str, schema: &Value) -> Value {
    if let Some(options) = schema
        .get("enum")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    {
        // Integer enums (e.g. [1, 2, 3]) still vary with the content.
        let s = fake_score(content, field);
        if options.iter().any(|o| o.as_i64() == Some(s)) {
            return json!(s);
        }
        return options[(s as usize - 1) % options.len()].clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => "string",
    };
    match ty {
        "integer" | "number" => {
            let mut s = fake_score(content, field);
            if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
                s = s.max(min);
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
                s = s.min(max);
            }
            json!(s)
        }
        "boolean" => json!(true),
        "array" => json!([]),
        "object" => json!({}),
        "null" => Value::Null,
        _ => {
            let chars = content.chars().count();
            json!(format!(
                "Fake {field}: the {chars}-character text was judged by a deterministic stand-in, not a model."
            ))
        }
    }
}

static ID_COUNTER: AtomicU64 = AtomicU64::new(1);

fn fake_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = ID_COUNTER.fetch_add(1, Ordering::Relaxed) ^ 0x9e37_79b9_7f4a_7c15;
    let mut s = String::from(prefix);
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push(ALPHABET[(x % ALPHABET.len() as u64) as usize] as char);
    }
    s
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Rough token count: 1 token per 4 bytes, at least 1.
fn approx_tokens(s: &str) -> u64 {
    (s.len() as u64).div_ceil(4).max(1)
}

/// The prompt tokens the fake reports in `usage` (and the rate limit charges): ~1 per 4 bytes of
/// the messages as JSON.
pub(crate) fn prompt_tokens(request: &Value) -> u64 {
    let prompt_text: String = request
        .get("messages")
        .map(Value::to_string)
        .unwrap_or_default();
    approx_tokens(&prompt_text)
}

/// A full `chat.completion` object for `request`, whose assistant message is
/// built from `message` (which must hold `content`, `refusal` and optionally
/// `tool_calls`/`function_call`).
fn completion_envelope(request: &Value, message: Value, completion_text: &str) -> Value {
    let prompt_tokens = prompt_tokens(request);
    let completion_tokens = approx_tokens(completion_text);
    json!({
        "id": fake_id("chatcmpl-", 29),
        "object": "chat.completion",
        "created": now_secs(),
        "model": request.get("model").cloned().unwrap_or(json!("gpt-4o-mini")),
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    })
}

/// The `chat.completion` body the server sends for a tool call to the forced
/// function with `arguments` (a JSON string, or anything for malformed tests).
/// Requests that use the legacy `functions` API get a legacy `function_call`;
/// `response_format` `json_schema` requests get `arguments` as the message content.
pub fn chat_completion(request: &Value, arguments: &str) -> Value {
    // A json_schema request is answered in the content, as OpenAI, vLLM and Ollama do.
    if json_schema_format(request).is_some() {
        return text_completion(request, arguments);
    }
    let name = forced_function_name(request).unwrap_or_default();
    let legacy = request.get("tools").is_none() && request.get("functions").is_some();
    let message = if legacy {
        json!({
            "role": "assistant",
            "content": null,
            "refusal": null,
            "function_call": {"name": name, "arguments": arguments},
            "annotations": [],
        })
    } else {
        json!({
            "role": "assistant",
            "content": null,
            "refusal": null,
            "tool_calls": [{
                "id": fake_id("call_", 24),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }],
            "annotations": [],
        })
    };
    completion_envelope(request, message, arguments)
}

/// A `chat.completion` where the model answered with plain `text` and no
/// tool call.
pub fn text_completion(request: &Value, text: &str) -> Value {
    let message = json!({
        "role": "assistant",
        "content": text,
        "refusal": null,
        "annotations": [],
    });
    completion_envelope(request, message, text)
}

/// Models listed by `GET /v1/models`.
pub const MODELS: &[&str] = &[
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1-mini",
    "gpt-4.1",
    "gpt-4",
    "gpt-3.5-turbo",
];

fn model_object(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 1_715_367_049, "owned_by": "system"})
}

type Behaviour = dyn Fn(&Call) -> Reply + Send + Sync + 'static;

#[derive(Default)]
struct Recorded {
    bodies: Vec<Value>,
    auth: Vec<Option<String>>,
    seen: HashMap<String, usize>,
    times: Vec<std::time::Instant>,
}

struct Shared {
    behaviour: Box<Behaviour>,
    recorded: Mutex<Recorded>,
    batch: crate::openai_batch::BatchState,
    /// The token-bucket rate limit, if the server has one (see `ratelimit.rs`).
    limiter: Option<Mutex<Limiter>>,
}

/// A running fake OpenAI server. Dropping it stops the server and closes
/// every open connection.
pub struct FakeOpenAi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeOpenAi {
    /// A server that answers every chat request with `Reply::Answer`.
    pub fn start() -> Self {
        Self::with_behaviour(|_| Reply::Answer)
    }

    /// A server that answers each chat request with `b(&call)`. The closure
    /// runs on the server thread; it may keep its own state (atomics,
    /// mutexes) to script sequences such as "429 twice, then answer".
    pub fn with_behaviour(b: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> Self {
        Self::serve_with(Box::new(b), None)
    }

    /// A server that enforces `limit` (429s and `x-ratelimit-*` headers) before asking `b`; a
    /// request turned away with 429 never reaches `b`.
    pub fn with_rate_limit(
        limit: RateLimit,
        b: impl Fn(&Call) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::serve_with(Box::new(b), Some(Mutex::new(Limiter::new(limit))))
    }

    fn serve_with(b: Box<Behaviour>, limiter: Option<Mutex<Limiter>>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("set_nonblocking");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(Shared {
            behaviour: b,
            recorded: Mutex::new(Recorded::default()),
            batch: Default::default(),
            limiter,
        });
        let (tx, rx) = oneshot::channel::<()>();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("fake-openai-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                rt.block_on(serve(listener, thread_shared, rx));
                // Dropping the runtime cancels every connection task, which
                // closes their sockets.
                drop(rt);
            })
            .expect("spawn fake-openai thread");
        FakeOpenAi {
            addr,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/v1`
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every chat-completions request body received, in arrival order
    /// (bodies that were not valid JSON appear as a JSON string of the raw
    /// text). `GET /v1/models` is not recorded.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.recorded.lock().unwrap().bodies.clone()
    }

    /// Number of chat-completions requests received.
    pub fn request_count(&self) -> usize {
        self.shared.recorded.lock().unwrap().bodies.len()
    }

    /// The Files and Batch API's state: uploads, batches, schema problems.
    pub fn batches(&self) -> &crate::openai_batch::BatchState {
        &self.shared.batch
    }

    /// How batches created from now on end.
    pub fn set_batch_script(&self, script: crate::openai_batch::BatchScript) {
        *self.shared.batch.script.lock().unwrap() = script;
    }

    /// When each chat-completions request arrived, aligned with [`requests`](Self::requests).
    pub fn request_times(&self) -> Vec<std::time::Instant> {
        self.shared.recorded.lock().unwrap().times.clone()
    }

    /// What the rate limit admitted and answered 429 (all zero without one).
    pub fn rate_stats(&self) -> LimitStats {
        self.shared
            .limiter
            .as_ref()
            .map(|l| l.lock().unwrap().stats.clone())
            .unwrap_or_default()
    }

    /// The `Authorization` header of each chat-completions request, aligned
    /// with [`requests`](Self::requests).
    pub fn auth_headers(&self) -> Vec<Option<String>> {
        self.shared.recorded.lock().unwrap().auth.clone()
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(_) => {
                    // e.g. EMFILE: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        // A second handle on the socket lets a `Reset` reply set SO_LINGER=0
        // after the stream itself has been handed to hyper.
        let raw: Option<OwnedFd> = stream.as_fd().try_clone_to_owned().ok();
        let reset = Arc::new(Notify::new());
        let shared = Arc::clone(&shared);
        let svc_reset = Arc::clone(&reset);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                handle(req, Arc::clone(&shared), Arc::clone(&svc_reset))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = reset.notified() => {
                    if let Some(fd) = &raw {
                        let _ = socket2::SockRef::from(fd).set_linger(Some(Duration::ZERO));
                    }
                }
            }
            drop(raw);
        });
    }
}

fn json_response(code: u16, body: &Value, extra: &[(String, String)]) -> Response<Full<Bytes>> {
    raw_response(code, "application/json", body.to_string(), extra)
}

fn raw_response(
    code: u16,
    content_type: &str,
    body: String,
    extra: &[(String, String)],
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/json")),
    );
    h.insert(
        "x-request-id",
        HeaderValue::from_str(&fake_id("req_", 32)).unwrap(),
    );
    h.insert("openai-version", HeaderValue::from_static("2020-10-01"));
    h.insert("openai-processing-ms", HeaderValue::from_static("1"));
    h.insert("openai-organization", HeaderValue::from_static("org-fake"));
    for (k, v) in extra {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(k, v);
        }
    }
    resp
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    reset: Arc<Notify>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = path
        .strip_prefix("/v1")
        .unwrap_or(&path)
        .trim_end_matches('/')
        .to_owned();

    if crate::openai_batch::handles(&route) {
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let reply = |body: &Value| {
            (shared.behaviour)(&Call {
                body: body.clone(),
                n: 0,
                attempt: 0,
                authorization: None,
                path: "/v1/chat/completions".into(),
            })
        };
        let (code, content_type, text) = crate::openai_batch::handle(
            &shared.batch,
            method.as_str(),
            &route,
            &content_type,
            &bytes,
            &reply,
        );
        return Ok(raw_response(code, content_type, text, &[]));
    }
    match (&method, route.as_str()) {
        (&Method::POST, "/chat/completions") => {}
        (&Method::GET, "/models") => {
            let data: Vec<Value> = MODELS.iter().map(|m| model_object(m)).collect();
            return Ok(json_response(
                200,
                &json!({"object": "list", "data": data}),
                &[],
            ));
        }
        (&Method::GET, r) if r.starts_with("/models/") => {
            let id = &r["/models/".len()..];
            return Ok(if MODELS.contains(&id) {
                json_response(200, &model_object(id), &[])
            } else {
                let Reply::Status { body, .. } = Reply::model_not_found(id) else {
                    unreachable!()
                };
                json_response(404, &body, &[])
            });
        }
        _ => {
            let body = openai_error(
                404,
                &format!("Invalid URL ({method} {path})"),
                "invalid_request_error",
                None,
            );
            return Ok(json_response(404, &body, &[]));
        }
    }

    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            reset.notify_one();
            return Ok(std::future::pending().await);
        }
    };
    let parsed: Result<Value, _> = serde_json::from_slice(&bytes);

    let (n, attempt, body) = {
        let mut rec = shared.recorded.lock().unwrap();
        let body = match &parsed {
            Ok(v) => v.clone(),
            Err(_) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        };
        let key = body.to_string();
        let attempt = {
            let seen = rec.seen.entry(key).or_insert(0);
            let a = *seen;
            *seen += 1;
            a
        };
        let n = rec.bodies.len();
        rec.bodies.push(body.clone());
        rec.auth.push(authorization.clone());
        rec.times.push(std::time::Instant::now());
        (n, attempt, body)
    };

    if parsed.is_err() {
        let mut err = openai_error(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using \
             your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not \
             valid JSON. If you have trouble figuring out how to fix this, please contact us through our \
             help center at help.openai.com.)",
            "invalid_request_error",
            None,
        );
        err["error"]["param"] = Value::Null;
        return Ok(json_response(400, &err, &[]));
    }

    let call = Call {
        body,
        n,
        attempt,
        authorization,
        path,
    };
    // The limit is checked on arrival, before any latency, as OpenAI admits requests.
    let limited = shared.limiter.as_ref().map(|l| {
        l.lock()
            .unwrap()
            .check(&call.body, std::time::Instant::now())
    });
    let (mut reply, extra) = match limited {
        Some(Err(too_many)) => (too_many, Vec::new()),
        Some(Ok(headers)) => ((shared.behaviour)(&call), headers),
        None => ((shared.behaviour)(&call), Vec::new()),
    };
    loop {
        match reply {
            Reply::Delay(d, inner) => {
                tokio::time::sleep(d).await;
                reply = *inner;
            }
            Reply::Answer => {
                let args = default_arguments(&call.body);
                return Ok(json_response(
                    200,
                    &chat_completion(&call.body, &args),
                    &extra,
                ));
            }
            Reply::Arguments(args) => {
                return Ok(json_response(
                    200,
                    &chat_completion(&call.body, &args),
                    &extra,
                ));
            }
            Reply::Text(text) => {
                return Ok(json_response(
                    200,
                    &text_completion(&call.body, &text),
                    &extra,
                ));
            }
            Reply::Status {
                code,
                headers,
                body,
            } => {
                let headers: Vec<_> = extra.iter().chain(&headers).cloned().collect();
                return Ok(json_response(code, &body, &headers));
            }
            Reply::Raw {
                code,
                content_type,
                body,
            } => return Ok(raw_response(code, &content_type, body, &[])),
            Reply::Reset => {
                reset.notify_one();
                // The connection task drops this future together with the
                // socket; never answer.
                return Ok(std::future::pending().await);
            }
        }
    }
}
