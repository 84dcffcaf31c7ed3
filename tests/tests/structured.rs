//! Structured output without tool calling: `--structured auto|tools|json_schema` against the fake
//! server, a tools-refusing model (Ollama's `400 … does not support tools`), the cache semantics of
//! each form, bad-answer retries in `json_schema` form, and a run stopped early when its first
//! requests all get the same 4xx.

mod support;

use classified_tests::{Call, FakeOpenAi, Reply, json_schema_format, validate_chat_request};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{Workspace, failed_errors, instruct_args, read_parquet};

const PARQUET: &str = "many.instruction_following.parquet";

/// A model without tool calling: tools requests get Ollama's 400, json_schema requests an answer.
fn no_tools(call: &Call) -> Reply {
    if call.body.get("tools").is_some() {
        Reply::tools_unsupported(call.model())
    } else {
        Reply::Answer
    }
}

/// Every request sent is a valid `CreateChatCompletionRequest`; the json_schema ones are strict.
fn assert_valid(bodies: &[Value]) {
    for body in bodies {
        validate_chat_request(body).unwrap_or_else(|e| panic!("{e}\n{body:#}"));
        if let Some(schema) = json_schema_format(body) {
            assert_eq!(body["response_format"]["json_schema"]["strict"], true);
            assert_eq!(schema["additionalProperties"], false, "{schema:#}");
            let properties: Vec<&String> =
                schema["properties"].as_object().unwrap().keys().collect();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(properties, required, "strict: every property required");
            assert!(body.get("tool_choice").is_none());
        }
    }
}

fn with_tools(bodies: &[Value]) -> usize {
    bodies.iter().filter(|b| b.get("tools").is_some()).count()
}

#[test]
fn auto_switches_to_json_schema_after_the_server_says_it_cannot_call_tools() {
    const ROWS: usize = 16;
    let server = FakeOpenAi::with_behaviour(no_tools);
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let args = instruct_args(data.as_str(), &[]);
    let run = ws.run(Some(&server), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(ws.summary()[0]["Total"], ROWS.to_string());
    assert_eq!(ws.summary()[0]["Failed"], "0");
    let bodies = server.requests();
    assert_valid(&bodies);
    // Only the first wave (sent before the first answer came back) asked for tools.
    let probes = with_tools(&bodies);
    assert!((1..=8).contains(&probes), "{probes} tools requests");
    assert_eq!(
        bodies.len() - probes,
        ROWS,
        "each row asked once as json_schema"
    );
    assert_eq!(
        run.stderr.matches("does not support tool calling").count(),
        1,
        "{}",
        run.stderr
    );
    run.assert_stderr_has("response_format json_schema");
    // The answers are read from the content; a rerun finds them all in the cache.
    let rows = read_parquet(&ws.data_dir().join(PARQUET));
    assert!(rows.iter().all(|r| r["overall"].as_f64().is_some()));
    ws.run(Some(&server), &args).ok();
    assert_eq!(
        server.request_count(),
        bodies.len(),
        "a rerun pays for nothing"
    );
}

#[test]
fn tools_only_stops_at_once_with_the_fix_in_one_sentence() {
    let server = FakeOpenAi::with_behaviour(no_tools);
    let ws = Workspace::new();
    let data = ws.instruct_rows(40);
    let run = ws.run(
        Some(&server),
        &instruct_args(&data, &["--structured", "tools"]),
    );
    let error = run.error();
    assert!(
        error.contains("does not support tool calling")
            && error.contains("--structured json_schema"),
        "{error}"
    );
    assert!(
        server.request_count() <= 8,
        "{} sent",
        server.request_count()
    );
    assert_valid(&server.requests());
}

#[test]
fn json_schema_is_its_own_cache_key_and_bad_answers_are_asked_again() {
    const ROWS: usize = 12;
    // Rows 3 and 4 never get good JSON; every other answer is fine.
    let server = FakeOpenAi::with_behaviour(|call| {
        let content = call.user_content();
        if content.contains("number 3:") || content.contains("number 4:") {
            Reply::Arguments("{\"overall\": \"not a number\"".into())
        } else {
            Reply::Answer
        }
    });
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let run = |form: &str| {
        ws.run(
            Some(&server),
            &instruct_args(&data, &["--structured", form]),
        )
    };
    // Two rows fail: the run finishes with exit code 4.
    assert_eq!(run("json_schema").code, 4);
    let bodies = server.requests();
    assert_valid(&bodies);
    assert_eq!(with_tools(&bodies), 0);
    // Two bad rows asked three times each, the rest once.
    assert_eq!(bodies.len(), ROWS - 2 + 2 * 3);
    let rows = read_parquet(&ws.data_dir().join(PARQUET));
    let failed = failed_errors(&rows);
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed.iter().all(|e| e.contains("asked 3 times")),
        "{failed:?}"
    );

    // The request form is part of the key: tools asks again, json_schema again asks only for the
    // rows that failed.
    let before = server.request_count();
    assert_eq!(run("tools").code, 4);
    let tools = server.request_count() - before;
    assert_eq!(tools, ROWS - 2 + 2 * 3);
    let before = server.request_count();
    assert_eq!(run("json_schema").code, 4);
    assert_eq!(server.request_count() - before, 2 * 3);
    assert_valid(&server.requests());
}

#[test]
fn the_same_rejection_for_the_first_requests_stops_the_run() {
    let sent = AtomicUsize::new(0);
    let server = FakeOpenAi::with_behaviour(move |_| {
        sent.fetch_add(1, Ordering::Relaxed);
        Reply::status(
            classified_tests::openai_error(
                400,
                "Unrecognized request argument supplied: tool_choice",
                "invalid_request_error",
                None,
            ),
            400,
        )
    });
    let ws = Workspace::new();
    let data = ws.instruct_rows(200);
    let run = ws.run(Some(&server), &instruct_args(&data, &[]));
    let error = run.error();
    assert_eq!(run.code, 1, "{error}");
    assert!(
        error.contains("rejected the same way") && error.contains("Unrecognized request argument"),
        "{error}"
    );
    assert!(
        server.request_count() <= 16,
        "{} of 200 sent",
        server.request_count()
    );
}

#[test]
fn a_rejection_after_good_answers_fails_only_its_row() {
    let server = FakeOpenAi::with_behaviour(|call| {
        if call.n >= 2 && call.user_content().contains("number 2") {
            Reply::context_length_exceeded()
        } else {
            Reply::delayed(std::time::Duration::from_millis(20), Reply::Answer)
        }
    });
    let ws = Workspace::new();
    let data = ws.instruct_rows(30);
    // Rows 2 and 20..=29 all get the same 400, but good answers came first.
    let run = ws.run(Some(&server), &instruct_args(&data, &["--workers", "1"]));
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(ws.summary()[0]["Failed"], "11");
    assert_eq!(server.request_count(), 30);
}
