//! End to end: the `summary` command against the fake OpenAI server.

mod support;

use classified_tests::{FakeOpenAi, Reply, validate_chat_request};
use serde_json::Value;
use std::time::Duration;
use support::{KEY, Workspace, fixture, instruct_args, read_parquet, summary_args, table_cells};

/// sample.jsonl: 12 rows; one is too short to rate, one is long enough for two chunk windows.
const SAMPLE_ROWS: usize = 12;
const SAMPLE_PROMPTS: usize = 12;

fn jsonl_lines(ws: &Workspace, name: &str) -> Vec<Value> {
    ws.read(name)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `summary sample.jsonl text textbook_quality` with `flags`, against `server` or none.
fn rate_sample(ws: &Workspace, server: Option<&FakeOpenAi>, flags: &[&str]) -> support::Run {
    let sample = fixture("sample.jsonl");
    ws.run(
        server,
        &summary_args(&sample, "text", "textbook_quality", flags),
    )
}

#[test]
fn dry_run_needs_no_key_and_sends_nothing() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let run = ws
        .command(
            None,
            &summary_args(
                &fixture("sample.jsonl"),
                "text",
                "textbook_quality,learning_value",
                &["--dry-run"],
            ),
        )
        .env("OPENAI_BASE_URL", server.base_url())
        .output()
        .unwrap();
    let run = support::Run::from(run).ok();
    assert_eq!(server.request_count(), 0);
    run.assert_stdout_has("Dry run");
    assert!(
        !ws.cache().exists() && !ws.data_dir().exists(),
        "a dry run writes nothing"
    );
    // 12 prompts per lens, none cached, one row skipped as too short.
    let (line, cells) = table_cells(&run.stdout, "textbook_quality");
    // Rows, failed, skipped, prompts, cached, to send.
    assert_eq!(&cells[1..7], &["12", "0", "1", "12", "0", "12"], "{line}");
    assert!(
        cells[7].parse::<u64>().unwrap() > 3000,
        "input tokens: {line}"
    );
}

#[test]
fn rates_the_sample_caches_every_answer_and_writes_all_outputs() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let lenses = "textbook_quality,learning_value,code_quality,textbook_depth";
    let run = ws
        .run(
            Some(&server),
            &["summary", &fixture("sample.jsonl"), "text", lenses],
        )
        .ok();
    assert_eq!(server.request_count(), 4 * SAMPLE_PROMPTS);

    // Every request is a valid CreateChatCompletionRequest that forces the lens function.
    for body in server.requests() {
        validate_chat_request(&body).unwrap_or_else(|e| panic!("{e}\n{body:#}"));
        let forced = body["tool_choice"]["function"]["name"].as_str().unwrap();
        assert_eq!(body["tools"][0]["function"]["name"], forced);
        assert_eq!(body["temperature"], 0.2);
        assert_eq!(body["max_tokens"], 256);
        assert_eq!(body["model"], "gpt-4");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["role"], "user");
    }
    assert!(
        server
            .auth_headers()
            .iter()
            .all(|h| h.as_deref() == Some(&format!("Bearer {KEY}")))
    );

    // The console summary, like the seed's.
    assert!(
        run.stdout.contains("Mean scores")
            && run.stdout.contains("Summary (share of rated rows)")
            && run.stdout.contains("Poor |"),
        "{}",
        run.stdout
    );
    run.assert_stdout_has("skipped: too short");

    // summary.csv: one line per lens, 11 rated + 1 skipped, shares adding up to 100%.
    let summary = ws.summary();
    assert_eq!(summary.len(), 4);
    for line in &summary {
        assert_eq!(line["Dataset"], "sample");
        assert_eq!(
            (
                line["Total"].as_str(),
                line["Failed"].as_str(),
                line["Skipped"].as_str()
            ),
            ("11", "0", "1")
        );
        let total: f64 = ["Poor", "Low", "Medium", "Good"]
            .iter()
            .map(|b| line[*b].parse::<f64>().unwrap())
            .sum();
        assert!((total - 100.0).abs() < 0.05, "{line:?}");
    }
    assert!(
        ws.read("means.csv")
            .contains("sample,learning_value,enhances_understanding,")
    );

    // JSONL: one line per rated chunk with scores by label and rationales.
    let lines = jsonl_lines(&ws, "sample.learning_value.jsonl");
    assert_eq!(lines.len(), SAMPLE_PROMPTS);
    let first = &lines[0];
    assert_eq!(first["row"], 0);
    assert!(first["inputs"]["resource"].as_str().unwrap().len() > 300);
    for label in [
        "factual",
        "well_written",
        "specific",
        "enhances_understanding",
        "self_contained",
        "overall",
    ] {
        let s = first["scores"][label].as_f64().unwrap();
        assert!((1.0..=3.0).contains(&s), "{label}: {s}");
    }
    assert!(first["rationales"]["rationale"].is_string(), "{first}");
    // The long document was rated in two chunks.
    assert_eq!(lines.iter().filter(|l| l["row"] == 9).count(), 2);

    // Parquet: one row per dataset row with status, bucket and a column per label.
    let rows = read_parquet(&ws.data_dir().join("sample.textbook_depth.parquet"));
    assert_eq!(rows.len(), SAMPLE_ROWS);
    assert_eq!(rows[11]["status"], "skipped");
    assert_eq!(rows[11]["error"], "too short");
    assert_eq!(rows[0]["status"], "rated");
    assert!(["Poor", "Low", "Medium", "Good"].contains(&rows[0]["bucket"].as_str().unwrap()));
    assert!(rows[0]["specificity"].as_f64().is_some() && rows[0]["overall"].as_f64().is_some());

    // Aggregate and bucket: the row's score is the mean of its chunks' scores, bucketed by the seed rule.
    let chunks = jsonl_lines(&ws, "sample.textbook_depth.jsonl");
    for row in &rows {
        let n = row["row"].as_u64().unwrap();
        let mine: Vec<&Value> = chunks.iter().filter(|c| c["row"] == n).collect();
        if row["status"] != "rated" {
            continue;
        }
        let mut means = Vec::new();
        for label in ["specificity", "depth", "overall"] {
            let mean = mine
                .iter()
                .map(|c| c["scores"][label].as_f64().unwrap())
                .sum::<f64>()
                / mine.len() as f64;
            assert!(
                (row[label].as_f64().unwrap() - mean).abs() < 1e-9,
                "row {n} {label}"
            );
            means.push(mean);
        }
        let last = means[2];
        let all = |t: f64| means.iter().all(|m| *m >= t);
        let bucket = if all(2.5) && last >= 2.75 {
            "Good"
        } else if all(1.5) && last >= 2.0 {
            "Medium"
        } else if all(0.5) && last >= 1.0 {
            "Low"
        } else {
            "Poor"
        };
        assert_eq!(row["bucket"], bucket, "row {n}: {means:?}");
    }
    assert_eq!(
        chunks.iter().filter(|c| c["row"] == 9).count(),
        2,
        "the long row is rated in two chunks"
    );

    // Everything is cached: the same run again sends nothing and gives the same summary.
    let (cached, integrity) = ws.cache_rows();
    assert_eq!((cached, integrity.as_str()), (4 * SAMPLE_PROMPTS, "ok"));
    let first_summary = ws.read("summary.csv");
    ws.run(
        Some(&server),
        &["summary", &fixture("sample.jsonl"), "text", lenses],
    )
    .ok();
    assert_eq!(
        server.request_count(),
        4 * SAMPLE_PROMPTS,
        "a rerun must not call the model again"
    );
    assert_eq!(ws.read("summary.csv"), first_summary);
    assert!(
        jsonl_lines(&ws, "sample.learning_value.jsonl")
            .iter()
            .all(|l| l["cached"] == true)
    );

    // The API key is nowhere: not in outputs, not in the cache, not on the console.
    assert!(!ws.all_files_text().contains(KEY));
    assert!(!run.stdout.contains(KEY) && !run.stderr.contains(KEY));
    // No half-written files are left behind.
    assert!(!ws.all_files_names().iter().any(|n| n.ends_with(".partial")));
}

#[test]
fn transient_errors_are_retried_until_the_answer_arrives() {
    // Every prompt first meets a 429, then a 500, then a dropped connection, then an answer.
    let server = FakeOpenAi::with_behaviour(|call| match call.attempt {
        0 => Reply::rate_limited(Duration::from_millis(5)),
        1 => Reply::Status {
            code: 500,
            headers: vec![("retry-after-ms".into(), "5".into())],
            body: classified_tests::openai_error(
                500,
                "The server had an error",
                "server_error",
                None,
            ),
        },
        2 => Reply::Reset,
        _ => Reply::Answer,
    });
    let ws = Workspace::new();
    ws.run(
        Some(&server),
        &instruct_args(&fixture("instruct.jsonl"), &[]),
    )
    .ok();
    let summary = ws.summary();
    assert_eq!(
        (summary[0]["Total"].as_str(), summary[0]["Failed"].as_str()),
        ("9", "0")
    );
    assert_eq!(server.request_count(), 9 * 4);
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    let server = FakeOpenAi::with_behaviour(|call| match call.attempt {
        0 => Reply::Delay(Duration::from_secs(3), Box::new(Reply::Answer)),
        _ => Reply::Answer,
    });
    let ws = Workspace::new();
    ws.command(
        Some(&server),
        &instruct_args(&fixture("instruct.jsonl"), &["--max", "3"]),
    )
    .env("OPENAI_TIMEOUT", "0.5")
    .output()
    .map(support::Run::from)
    .unwrap()
    .ok();
    assert_eq!(ws.summary()[0]["Total"], "3");
    assert_eq!(server.request_count(), 6);
}

#[test]
fn bad_answers_are_asked_again_then_fail_the_row_and_are_never_cached() {
    // The factorial row always gets broken JSON; the French Revolution row gets a missing score once,
    // then a non-number, then a good answer; every other row is answered at once.
    let server = FakeOpenAi::with_behaviour(|call| {
        let content = call.user_content();
        if content.contains("factorial") {
            Reply::Arguments("{\"rationale\": \"cut off".into())
        } else if content.contains("French Revolution") {
            match call.attempt {
                0 => Reply::Arguments(r#"{"rationale": "x", "follows_instructions": 3, "on_topic": 3, "correct": 3}"#.into()),
                1 => Reply::Arguments(r#"{"rationale": "x", "follows_instructions": 3, "on_topic": 3, "correct": 3, "overall": "high"}"#.into()),
                _ => Reply::Answer,
            }
        } else {
            Reply::Answer
        }
    });
    let ws = Workspace::new();
    let args = [
        "summary",
        &fixture("instruct.jsonl"),
        "instruction,output",
        "instruction_following",
    ];
    let run = ws.run(Some(&server), &args).rows_failed();
    let summary = ws.summary();
    assert_eq!(
        (summary[0]["Total"].as_str(), summary[0]["Failed"].as_str()),
        ("8", "1")
    );
    // 1 try + 2 more for the broken row, 3 for the slow learner, 1 each for the other 7.
    assert_eq!(server.request_count(), 3 + 3 + 7);
    run.assert_stdout_has("1 row(s) failed at postprocess bad-answer");
    let (cached, _) = ws.cache_rows();
    assert_eq!(cached, 8, "the broken answer must not be cached");
    let rows = read_parquet(&ws.data_dir().join("instruct.instruction_following.parquet"));
    let failed: Vec<_> = rows.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["row"], 0);
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{:?}",
        failed[0]
    );

    // A rerun against a healthy server asks only for the prompt that failed.
    let healthy = FakeOpenAi::start();
    ws.run(Some(&healthy), &args).ok();
    assert_eq!(healthy.request_count(), 1);
    assert_eq!(ws.summary()[0]["Failed"], "0");
}

#[test]
fn a_rejected_key_stops_the_run_at_once_with_one_sentence() {
    let server = FakeOpenAi::with_behaviour(|_| Reply::unauthorized());
    let ws = Workspace::new();
    let run = rate_sample(&ws, Some(&server), &["--workers", "2"]);
    let error = run.error();
    assert!(
        error.contains("401") && error.contains("OPENAI_API_KEY"),
        "{error}"
    );
    assert!(!run.stderr.contains(KEY));
    assert!(
        server.request_count() <= 2,
        "one error, not one per row: {} requests",
        server.request_count()
    );
    assert!(!ws.data_dir().join("summary.csv").exists());
}

#[test]
fn an_unknown_model_or_no_quota_stops_the_run() {
    let server = FakeOpenAi::with_behaviour(|call| Reply::model_not_found(call.model()));
    let ws = Workspace::new();
    let run = rate_sample(&ws, Some(&server), &["--model", "gpt-9", "--workers", "1"]);
    let error = run.error();
    assert!(
        error.contains("`gpt-9`") && error.contains("CHAT_MODEL"),
        "{error}"
    );
    assert_eq!(server.request_count(), 1);

    let server = FakeOpenAi::with_behaviour(|_| Reply::insufficient_quota());
    let run = rate_sample(&ws, Some(&server), &["--workers", "1"]);
    assert!(run.error().contains("quota"), "{}", run.stderr);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn without_a_key_the_run_explains_how_to_set_one() {
    let ws = Workspace::new();
    let run = rate_sample(&ws, None, &[]);
    let error = run.error();
    assert!(
        error.contains("OPENAI_API_KEY") && error.contains("--dry-run"),
        "{error}"
    );
    assert_eq!(run.code, 2);
}

#[test]
fn version_rerates_without_losing_older_answers() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let args = |v: &'static str| {
        vec![
            "summary".to_string(),
            fixture("instruct.jsonl"),
            "instruction,output".into(),
            "instruction_following".into(),
            "--version".into(),
            v.into(),
        ]
    };
    let run = |v| {
        let a = args(v);
        ws.run(
            Some(&server),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .ok();
    };
    run("1");
    assert_eq!(server.request_count(), 9);
    run("2");
    assert_eq!(server.request_count(), 18);
    assert_eq!(ws.cache_rows().0, 18);
    run("1");
    run("2");
    assert_eq!(server.request_count(), 18);
}

#[test]
fn settings_come_from_local_env_and_flags_override_them() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    std::fs::write(
        ws.path().join("local.env"),
        format!(
            "OPENAI_KEY=from-local-env\nCHAT_MODEL=gpt-3.5-turbo\nOPENAI_BASE_URL={}\n",
            server.base_url()
        ),
    )
    .unwrap();
    ws.run(
        None,
        &instruct_args(&fixture("instruct.jsonl"), &["--max", "2"]),
    )
    .ok();
    assert!(
        server
            .requests()
            .iter()
            .all(|b| b["model"] == "gpt-3.5-turbo")
    );
    assert!(
        server
            .auth_headers()
            .iter()
            .all(|h| h.as_deref() == Some("Bearer from-local-env"))
    );

    ws.run_with_env(
        None,
        &instruct_args(
            &fixture("instruct.jsonl"),
            &["--max", "2", "--model", "gpt-4o"],
        ),
        [("MAX_GENERATION_TOKENS", "100")],
    )
    .ok();
    let last = server.requests().pop().unwrap();
    assert_eq!(
        (last["model"].as_str(), last["max_tokens"].as_u64()),
        (Some("gpt-4o"), Some(100))
    );
}

#[test]
fn max_takes_a_seeded_sample_and_more_than_the_dataset_means_all() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let base = [
        "summary",
        &fixture("instruct.jsonl"),
        "instruction,output",
        "instruction_following",
    ];
    let rows_of = |extra: &[&str]| -> Vec<u64> {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        ws.run(Some(&server), &args).ok();
        read_parquet(&ws.data_dir().join("instruct.instruction_following.parquet"))
            .iter()
            .map(|r| r["row"].as_u64().unwrap())
            .collect()
    };
    let a = rows_of(&["--max", "4"]);
    assert_eq!(a.len(), 4);
    assert_eq!(rows_of(&["--max", "4"]), a, "same seed, same sample");
    assert_ne!(
        rows_of(&["--max", "4", "--seed", "7"]),
        a,
        "another seed, another sample"
    );
    assert_eq!(rows_of(&["--max", "1000"]), (0..9).collect::<Vec<u64>>());
}

#[test]
fn retry_after_is_honoured_and_answers_without_a_function_call_are_asked_again() {
    let server = FakeOpenAi::with_behaviour(|call| match call.attempt {
        0 => Reply::Status {
            code: 429,
            headers: vec![("retry-after-ms".into(), "1200".into())],
            body: classified_tests::openai_error(
                429,
                "Rate limit reached",
                "requests",
                Some("rate_limit_exceeded"),
            ),
        },
        1 => Reply::Text("I think this answer is fine.".into()),
        _ => Reply::Answer,
    });
    let ws = Workspace::new();
    let started = std::time::Instant::now();
    let args = [
        "summary",
        &fixture("instruct.jsonl"),
        "instruction,output",
        "instruction_following",
        "--max",
        "1",
    ];
    ws.run(Some(&server), &args).ok();
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "retry-after-ms was not honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(server.request_count(), 3);
    assert_eq!(ws.summary()[0]["Total"], "1");
}

#[test]
fn forbidden_and_a_wrong_base_url_stop_the_run() {
    let server = FakeOpenAi::with_behaviour(|_| Reply::Status {
        code: 403,
        headers: vec![],
        body: classified_tests::openai_error(
            403,
            "Project does not have access to model",
            "invalid_request_error",
            None,
        ),
    });
    let ws = Workspace::new();
    let args = [
        "summary",
        &fixture("sample.jsonl"),
        "text",
        "textbook_quality",
        "--workers",
        "1",
    ];
    let run = ws.run(Some(&server), &args);
    assert!(run.error().contains("403"), "{}", run.stderr);

    // A base URL without /v1 hits OpenAI's "Invalid URL" 404 on a real server.
    let server = FakeOpenAi::start();
    let wrong = server.base_url().replace("/v1", "/v2");
    let run = ws
        .command(Some(&server), &args)
        .env("OPENAI_BASE_URL", &wrong)
        .output()
        .map(support::Run::from)
        .unwrap();
    let error = run.error();
    assert!(
        error.contains("OPENAI_BASE_URL") && error.contains("404"),
        "{error}"
    );
}
