//! Unit tests of the fake OpenAI server itself, over real HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::openai::{FakeOpenAi, MODELS, Reply, fake_score};
use crate::schema::{validate_chat_request, validate_chat_response};

fn rating_request(text: &str) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "temperature": 0,
        "messages": [
            {"role": "system", "content": "You rate text."},
            {"role": "user", "content": text}
        ],
        "tools": [{
            "type": "function",
            "function": {
                "name": "rate_text",
                "description": "Record the rating.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "rationale": {"type": "string", "description": "Why."},
                        "depth": {"type": "integer", "description": "1-3"},
                        "overall": {"type": "integer", "description": "1-3"}
                    },
                    "required": ["rationale", "depth", "overall"]
                }
            }
        }],
        "tool_choice": {"type": "function", "function": {"name": "rate_text"}}
    })
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn post(server: &FakeOpenAi, body: &Value) -> reqwest::Result<reqwest::Response> {
    client()
        .post(format!("{}/chat/completions", server.base_url()))
        .bearer_auth("sk-test")
        .json(body)
        .send()
        .await
}

fn arguments(resp: &Value) -> Value {
    let raw = resp["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .expect("arguments is a string");
    serde_json::from_str(raw).expect("arguments are JSON")
}

#[tokio::test]
async fn default_answer_has_openai_shape() {
    let server = FakeOpenAi::start();
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert!(server.base_url().ends_with("/v1"));
    let req = rating_request("A paragraph about photosynthesis.");
    validate_chat_request(&req).unwrap();

    let resp = post(&server, &req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(
        resp.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
    let body: Value = resp.json().await.unwrap();
    validate_chat_response(&body).unwrap();

    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["system_fingerprint"], "fp_fake");
    assert!(body["created"].as_u64().unwrap() > 1_600_000_000);
    let usage = &body["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["finish_reason"], "stop");
    assert!(choice["logprobs"].is_null());
    let msg = &choice["message"];
    assert_eq!(msg["role"], "assistant");
    assert!(msg["content"].is_null());
    assert!(msg["refusal"].is_null());
    let call = &msg["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "rate_text");

    let args = arguments(&body);
    let keys: Vec<&String> = args.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["rationale", "depth", "overall"], "schema order kept");
    assert!(args["rationale"].as_str().unwrap().len() > 10);
    for field in ["depth", "overall"] {
        let s = args[field].as_i64().unwrap();
        assert!((1..=3).contains(&s), "{field} = {s}");
        assert_eq!(s, fake_score("A paragraph about photosynthesis.", field));
    }
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        json!(crate::default_arguments(&req))
    );
}

#[tokio::test]
async fn scores_are_deterministic_and_vary_between_prompts() {
    let server = FakeOpenAi::start();
    let a1: Value = post(&server, &rating_request("same text"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a2: Value = post(&server, &rating_request("same text"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(arguments(&a1), arguments(&a2));

    let mut seen = std::collections::BTreeSet::new();
    for i in 0..30 {
        seen.insert(fake_score(&format!("prompt number {i}"), "overall"));
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), [1, 2, 3]);
}

#[tokio::test]
async fn scripted_rate_limit_then_answer() {
    let server = FakeOpenAi::with_behaviour(|call| {
        if call.attempt < 2 {
            Reply::rate_limited(Duration::from_millis(1500))
        } else {
            Reply::Answer
        }
    });
    let req = rating_request("retry me");
    for _ in 0..2 {
        let resp = post(&server, &req).await.unwrap();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "2");
        assert_eq!(resp.headers()["retry-after-ms"], "1500");
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert!(resp.headers().contains_key("x-request-id"));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["type"], "requests");
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        assert!(body["error"]["param"].is_null());
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Rate limit")
        );
    }
    let resp = post(&server, &req).await.unwrap();
    assert_eq!(resp.status(), 200);
    // A different body is a first attempt again.
    let resp = post(&server, &rating_request("other text")).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(server.request_count(), 4);
}

#[tokio::test]
async fn error_bodies_look_like_openai() {
    let server = FakeOpenAi::with_behaviour(|call| match call.n {
        0 => Reply::unauthorized(),
        1 => Reply::model_not_found(call.model()),
        2 => Reply::server_error(),
        3 => Reply::insufficient_quota(),
        4 => Reply::context_length_exceeded(),
        5 => Reply::overloaded(),
        _ => Reply::Status {
            code: 418,
            headers: vec![("x-custom".into(), "yes".into())],
            body: crate::openai_error(418, "teapot", "", Some("teapot")),
        },
    });
    let req = rating_request("x");
    let expect = [
        (401, "invalid_request_error", Some("invalid_api_key")),
        (404, "invalid_request_error", Some("model_not_found")),
        (500, "server_error", None),
        (429, "insufficient_quota", Some("insufficient_quota")),
        (
            400,
            "invalid_request_error",
            Some("context_length_exceeded"),
        ),
        (503, "server_error", None),
        (418, "invalid_request_error", Some("teapot")),
    ];
    for (status, kind, code) in expect {
        let resp = post(&server, &req).await.unwrap();
        assert_eq!(resp.status(), status);
        if status == 418 {
            assert_eq!(resp.headers()["x-custom"], "yes");
        }
        let body: Value = resp.json().await.unwrap();
        let err = &body["error"];
        assert_eq!(err["type"], kind, "{body}");
        assert_eq!(err["code"], json!(code), "{body}");
        assert!(err.get("param").is_some());
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    let body: Value = serde_json::from_str(&{
        let Reply::Status { body, .. } = Reply::model_not_found("gpt-nope") else {
            unreachable!()
        };
        body.to_string()
    })
    .unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`gpt-nope`")
    );
}

#[tokio::test]
async fn reset_drops_the_connection_and_server_survives() {
    let server = FakeOpenAi::with_behaviour(|call| {
        if call.n == 0 {
            Reply::Reset
        } else {
            Reply::Answer
        }
    });
    let err = post(&server, &rating_request("boom")).await.unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert!(!err.is_timeout(), "a reset must be immediate: {err:?}");
    let resp = post(&server, &rating_request("boom")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn delay_postpones_the_answer() {
    let server = FakeOpenAi::with_behaviour(|call| {
        if call.n == 0 {
            Reply::delayed(Duration::from_millis(300), Reply::Answer)
        } else {
            Reply::Delay(Duration::from_secs(5), Box::new(Reply::Answer))
        }
    });
    let t = Instant::now();
    let resp = post(&server, &rating_request("slow")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = short
        .post(format!("{}/chat/completions", server.base_url()))
        .json(&rating_request("slow"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(
        server.request_count(),
        2,
        "timed-out request is still recorded"
    );
}

#[tokio::test]
async fn concurrent_requests_are_served_in_parallel() {
    let server =
        FakeOpenAi::with_behaviour(|_| Reply::delayed(Duration::from_millis(400), Reply::Answer));
    let t = Instant::now();
    let mut tasks = Vec::new();
    let url = format!("{}/chat/completions", server.base_url());
    for i in 0..8 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            client()
                .post(url)
                .json(&rating_request(&format!("row {i}")))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(server.request_count(), 8);
}

#[tokio::test]
async fn records_requests_and_auth_headers_in_order() {
    let seen = Arc::new(AtomicUsize::new(0));
    let seen2 = Arc::clone(&seen);
    let server = FakeOpenAi::with_behaviour(move |call| {
        assert_eq!(call.n, seen2.fetch_add(1, Ordering::SeqCst));
        assert_eq!(call.path, "/v1/chat/completions");
        Reply::Answer
    });
    let bodies = [
        rating_request("one"),
        rating_request("two"),
        rating_request("three"),
    ];
    post(&server, &bodies[0]).await.unwrap();
    client()
        .post(format!("{}/chat/completions", server.base_url()))
        .json(&bodies[1])
        .send()
        .await
        .unwrap();
    client()
        .post(format!("{}/chat/completions", server.base_url()))
        .header("authorization", "Bearer other-key")
        .json(&bodies[2])
        .send()
        .await
        .unwrap();
    assert_eq!(server.requests(), bodies.to_vec());
    assert_eq!(server.request_count(), 3);
    assert_eq!(
        server.auth_headers(),
        [
            Some("Bearer sk-test".to_owned()),
            None,
            Some("Bearer other-key".to_owned())
        ]
    );
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    // GET /models is not a recorded chat request.
    client()
        .get(format!("{}/models", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn raw_arguments_text_and_raw_replies() {
    let server = FakeOpenAi::with_behaviour(|call| match call.n {
        0 => Reply::Arguments("{\"overall\": 3".into()),
        1 => Reply::Text("I think it is good.".into()),
        _ => Reply::Raw {
            code: 502,
            content_type: "text/html".into(),
            body: "<html><body>502 Bad Gateway</body></html>".into(),
        },
    });
    let body: Value = post(&server, &rating_request("t"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        "{\"overall\": 3"
    );
    validate_chat_response(&body).unwrap();

    let body: Value = post(&server, &rating_request("t"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msg = &body["choices"][0]["message"];
    assert_eq!(msg["content"], "I think it is good.");
    assert!(msg.get("tool_calls").is_none());
    validate_chat_response(&body).unwrap();

    let resp = post(&server, &rating_request("t")).await.unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["content-type"], "text/html");
}

#[tokio::test]
async fn routes_models_invalid_json_and_unknown_urls() {
    let server = FakeOpenAi::start();
    let base = server.base_url();
    let root = base.trim_end_matches("/v1").to_owned();

    let models: Value = client()
        .get(format!("{base}/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"].as_array().unwrap().len(), MODELS.len());
    assert_eq!(models["data"][0]["object"], "model");

    let one = client()
        .get(format!("{base}/models/gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    let missing = client()
        .get(format!("{base}/models/gpt-nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "model_not_found");

    // Without the /v1 prefix too.
    let resp = client()
        .post(format!("{root}/chat/completions"))
        .json(&rating_request("no prefix"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let resp = client()
        .post(format!("{base}/chat/completions"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(server.requests()[1], json!("{not json"));

    let resp = client()
        .post(format!("{base}/completions"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Invalid URL (POST /v1/completions)"
    );
}

#[tokio::test]
async fn legacy_functions_and_unforced_tools() {
    let server = FakeOpenAi::start();
    // One tool, tool_choice "required": that tool is called.
    let mut req = rating_request("unforced");
    req["tool_choice"] = json!("required");
    let body: Value = post(&server, &req).await.unwrap().json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "rate_text"
    );
    assert!(arguments(&body)["overall"].is_i64());

    // Legacy functions/function_call get a legacy function_call back.
    let mut legacy = rating_request("legacy");
    let func = legacy["tools"][0]["function"].clone();
    let obj = legacy.as_object_mut().unwrap();
    obj.remove("tools");
    obj.remove("tool_choice");
    obj.insert("functions".into(), json!([func]));
    obj.insert("function_call".into(), json!({"name": "rate_text"}));
    let body: Value = post(&server, &legacy).await.unwrap().json().await.unwrap();
    let call = &body["choices"][0]["message"]["function_call"];
    assert_eq!(call["name"], "rate_text");
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert!(args["depth"].is_i64());
}

#[test]
fn drop_stops_the_server() {
    let server = FakeOpenAi::start();
    let addr = server.addr();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    let t = Instant::now();
    drop(server);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn usable_from_sync_code_with_a_blocking_socket() {
    use std::io::{Read, Write};
    let server = FakeOpenAi::start();
    let body = rating_request("sync").to_string();
    let mut s = std::net::TcpStream::connect(server.addr()).unwrap();
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    assert!(out.contains("\"chat.completion\""));
    assert_eq!(server.request_count(), 1);
}
