//! End to end: `summary --batch` and `batches list|status|cancel` against the fake Batch API.

mod support;

use classified_tests::{BatchEnd, BatchScript, FakeOpenAi, Reply};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::{Workspace, instruct_args, read_parquet};

const LENS: &str = "instruction_following";

/// The arguments of a `--batch` run over `data`'s instruct rows.
fn with_batch(data: &str) -> Vec<&str> {
    instruct_args(data, &["--batch"])
}

/// From now on, a batch on `server` ends as `end` after `polls` status polls.
fn batches_end(server: &FakeOpenAi, polls: usize, end: BatchEnd) {
    server.set_batch_script(BatchScript { polls, end });
}

/// Starts a batch run of `data` whose batch never ends, waits until it has created the batch,
/// lets it poll for `polling`, then kills it: a run killed while it waits.
#[track_caller]
fn kill_while_waiting(server: &FakeOpenAi, ws: &Workspace, data: &str, polling: Duration) {
    batches_end(server, usize::MAX, BatchEnd::Completed);
    let mut child = ws.spawn(Some(server), &with_batch(data));
    let started = Instant::now();
    while server.batches().batch_ids().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no batch was created"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(polling);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The per-row Parquet of the run, as (status, error) per row, in row order.
fn row_statuses(ws: &Workspace) -> Vec<(String, String)> {
    read_parquet(&ws.data_dir().join(format!("many.{LENS}.parquet")))
        .into_iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["error"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[track_caller]
fn assert_no_schema_problems(server: &FakeOpenAi) {
    let problems = server.batches().problems.lock().unwrap().clone();
    assert!(
        problems.is_empty(),
        "requests broke OpenAI's schemas:\n{problems:#?}"
    );
}

#[test]
fn a_batch_run_scores_exactly_like_a_synchronous_run_and_sends_no_chat_request() {
    let sync_server = FakeOpenAi::start();
    let sync_ws = Workspace::new();
    let data = sync_ws.instruct_rows(12);
    sync_ws
        .run(Some(&sync_server), &instruct_args(&data, &[]))
        .ok();

    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(12);
    let run = ws.run(Some(&server), &with_batch(&data)).ok();
    assert_eq!(
        server.request_count(),
        0,
        "batch mode must not call /chat/completions"
    );
    assert_eq!(server.batches().uploads.lock().unwrap().len(), 1);
    assert_eq!(server.batches().batch_sizes(), [12]);
    assert_no_schema_problems(&server);
    // The batch lines are the very requests the synchronous run sent.
    let mut sent: Vec<String> = sync_server
        .requests()
        .iter()
        .map(|b| b.to_string())
        .collect();
    let mut batched: Vec<String> = server
        .batches()
        .line_bodies()
        .iter()
        .map(|b| b.to_string())
        .collect();
    sent.sort();
    batched.sort();
    assert_eq!(sent, batched);
    for name in ["summary.csv", "means.csv"] {
        assert_eq!(ws.read(name), sync_ws.read(name), "{name} differs");
    }
    let scores = |w: &Workspace| {
        read_parquet(&w.data_dir().join(format!("many.{LENS}.parquet")))
            .into_iter()
            .map(|mut r| {
                r.remove("error");
                // A batch run rates every row from the cache the batch filled; a live run asked.
                r.remove("cached");
                r
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(scores(&ws), scores(&sync_ws));
    assert!(
        run.stderr
            .contains("batch: 1 batch(es) created, 0 resumed; 12 answer(s), 0 failed"),
        "{}",
        run.stderr
    );
    run.assert_stderr_has("at Batch API prices");
    // The part sent is kept for the user to inspect.
    assert_eq!(
        std::fs::read_dir(ws.data_dir().join("batches"))
            .unwrap()
            .count(),
        1
    );

    // Everything is cached now: a rerun creates no batch.
    ws.run(Some(&server), &with_batch(&data)).ok();
    assert_eq!(server.batches().batch_ids().len(), 1);
}

#[test]
fn killed_while_waiting_a_rerun_waits_for_the_same_batch_instead_of_paying_again() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(8);
    kill_while_waiting(&server, &ws, &data, Duration::from_millis(200)); // a few polls
    assert!(!ws.data_dir().join("summary.csv").exists());
    assert_eq!(ws.cache_rows(), (0, "ok".to_string()));

    batches_end(&server, 3, BatchEnd::Completed);
    let run = ws.run(Some(&server), &with_batch(&data)).ok();
    assert_eq!(
        server.batches().batch_ids().len(),
        1,
        "a second batch was created"
    );
    assert_eq!(
        server.batches().uploads.lock().unwrap().len(),
        1,
        "the part was uploaded again"
    );
    run.assert_stderr_has("0 batch(es) created, 1 resumed");
    assert_eq!(ws.cache_rows(), (8, "ok".to_string()));
    assert_eq!(ws.summary()[0]["Failed"], "0");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_file_uploaded_before_the_run_stopped_is_not_uploaded_again() {
    let server = FakeOpenAi::start();
    server
        .batches()
        .fail_next_create
        .store(true, Ordering::SeqCst);
    let ws = Workspace::new();
    let data = ws.instruct_rows(4);
    let failed = ws.run(Some(&server), &with_batch(&data));
    assert!(
        failed.error().contains("could not create a batch")
            && failed.error().contains("500")
            && failed.error().contains("rerun later"),
        "{}",
        failed.stderr
    );
    assert_eq!(server.batches().uploads.lock().unwrap().len(), 1);
    assert!(server.batches().batch_ids().is_empty());

    let run = ws.run(Some(&server), &with_batch(&data)).ok();
    assert_eq!(
        server.batches().uploads.lock().unwrap().len(),
        1,
        "uploaded twice"
    );
    assert_eq!(server.batches().batch_sizes(), [4]);
    run.assert_stderr_has("1 batch(es) created");
    assert_eq!(ws.summary()[0]["Failed"], "0");
}

#[test]
fn an_expired_batch_fails_its_unanswered_rows_one_by_one_and_a_rerun_sends_only_those() {
    let server = FakeOpenAi::start();
    batches_end(&server, 2, BatchEnd::Expired);
    let ws = Workspace::new();
    let data = ws.instruct_rows(6);
    ws.run(Some(&server), &with_batch(&data)).rows_failed();
    let rows = row_statuses(&ws);
    let failed: Vec<_> = rows.iter().filter(|(s, _)| s == "failed").collect();
    assert_eq!(failed.len(), 3, "{rows:?}");
    for (_, error) in &failed {
        assert!(
            error.contains("expired before this request ran") && error.contains("batch_"),
            "{error}"
        );
    }
    assert_eq!(ws.summary()[0]["Failed"], "3");
    assert_eq!(ws.cache_rows().0, 3);

    server.set_batch_script(BatchScript::default());
    ws.run(Some(&server), &with_batch(&data)).ok();
    assert_eq!(server.batches().batch_sizes(), [6, 3]);
    assert_eq!(ws.summary()[0]["Failed"], "0");
    assert_no_schema_problems(&server);
}

#[test]
fn a_batch_that_fails_validation_fails_every_row_with_its_error() {
    let server = FakeOpenAi::start();
    batches_end(&server, 1, BatchEnd::Failed);
    let ws = Workspace::new();
    let data = ws.instruct_rows(3);
    ws.run(Some(&server), &with_batch(&data)).rows_failed();
    for (status, error) in row_statuses(&ws) {
        assert_eq!(status, "failed");
        assert!(
            error.contains("failed: The input file has invalid requests"),
            "{error}"
        );
    }
}

#[test]
fn a_batch_with_only_an_error_file_reports_the_api_error_for_every_row() {
    let server = FakeOpenAi::start();
    batches_end(&server, 1, BatchEnd::ErrorFileOnly);
    let ws = Workspace::new();
    let data = ws.instruct_rows(4);
    let run = ws.run(Some(&server), &with_batch(&data)).rows_failed();
    let rows = row_statuses(&ws);
    assert_eq!(rows.len(), 4);
    for (status, error) in &rows {
        assert_eq!(status, "failed");
        assert!(
            error.contains("the batch answered 400") && error.contains("max_tokens"),
            "{error}"
        );
    }
    run.assert_stderr_has("0 answer(s), 4 failed request(s)");
    assert_eq!(ws.cache_rows().0, 0);
}

#[test]
fn requests_are_split_into_batches_at_the_request_limit() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(10);
    ws.run_with_env(
        Some(&server),
        &with_batch(&data),
        [("CLASSIFIED_BATCH_MAX_REQUESTS", "4")],
    )
    .ok();
    assert_eq!(server.batches().batch_sizes(), [4, 4, 2]);
    assert_eq!(server.batches().uploads.lock().unwrap().len(), 3);
    assert_eq!(ws.cache_rows().0, 10);
    assert_no_schema_problems(&server);
}

#[test]
fn batches_list_status_and_cancel_and_a_cancelled_batch_fails_its_rows() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(3);
    kill_while_waiting(&server, &ws, &data, Duration::from_millis(100));
    let id = server.batches().batch_ids()[0].clone();

    let list = ws.run(Some(&server), &["batches", "list"]).ok();
    assert!(
        list.stdout.contains(&id)
            && list.stdout.contains("3 request(s)")
            && list.stdout.contains("waiting"),
        "{}",
        list.stdout
    );
    let status = ws.run(Some(&server), &["batches", "status", &id]).ok();
    assert!(
        status.stdout.contains("in_progress") && status.stdout.contains("0 of 3"),
        "{}",
        status.stdout
    );
    let cancel = ws.run(Some(&server), &["batches", "cancel", &id]).ok();
    cancel.assert_stdout_has("cancelling");
    let unknown = ws.run(Some(&server), &["batches", "status", "batch_nope"]);
    assert!(unknown.error().contains("404"), "{}", unknown.stderr);

    // The rerun waits for the cancelled batch and reports its rows instead of sending them again.
    ws.run(Some(&server), &with_batch(&data)).rows_failed();
    assert_eq!(server.batches().batch_ids().len(), 1);
    for (status, error) in row_statuses(&ws) {
        assert_eq!(status, "failed");
        assert!(error.contains("was cancelled"), "{error}");
    }
    let list = ws.run(Some(&server), &["batches", "list"]).ok();
    assert!(
        list.stdout.contains("cancelled") && list.stdout.contains("in the cache"),
        "{}",
        list.stdout
    );
}

#[test]
fn batches_without_a_cache_say_where_they_looked() {
    let ws = Workspace::new();
    let run = ws.run(None, &["batches", "list"]);
    assert!(
        run.error().contains("no cache at") && run.code == 2,
        "{}",
        run.stderr
    );
}

#[test]
fn error_lines_and_bad_answers_fail_only_their_rows_and_a_rerun_resends_only_those() {
    let broken = Arc::new(AtomicBool::new(true));
    let flag = broken.clone();
    let server = FakeOpenAi::with_behaviour(move |call| {
        let content = call.user_content();
        if !flag.load(Ordering::SeqCst) {
            Reply::Answer
        } else if content.contains("Question number 1:") {
            Reply::context_length_exceeded()
        } else if content.contains("Question number 2:") {
            Reply::Arguments("this is not JSON".into())
        } else {
            Reply::Answer
        }
    });
    let ws = Workspace::new();
    let data = ws.instruct_rows(5);
    let run = ws.run(Some(&server), &with_batch(&data)).rows_failed();
    run.assert_stderr_has("3 answer(s), 2 failed request(s)");
    let rows = row_statuses(&ws);
    assert_eq!(rows[0].0, "rated");
    assert!(
        rows[1].1.contains("the batch answered 400")
            && rows[1].1.contains("maximum context length"),
        "{:?}",
        rows[1]
    );
    assert!(
        rows[2].1.contains("was a bad answer") && rows[2].1.contains("not valid JSON"),
        "{:?}",
        rows[2]
    );
    // Bad answers are never cached, in batch mode either.
    assert_eq!(ws.cache_rows().0, 3);
    assert_eq!(ws.summary()[0]["Failed"], "2");

    broken.store(false, Ordering::SeqCst);
    ws.run(Some(&server), &with_batch(&data)).ok();
    assert_eq!(server.batches().batch_sizes(), [5, 2]);
    assert_eq!(ws.summary()[0]["Failed"], "0");
    assert_no_schema_problems(&server);
}
