//! A killed run resumes without paying twice, and runs can share one cache.

mod support;

use classified_tests::{FakeOpenAi, Reply};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::{Workspace, fixture, instruct_args, table_cells};

fn user_contents(bodies: &[serde_json::Value]) -> HashSet<String> {
    bodies.iter().map(classified_tests::user_content).collect()
}

/// A server that answers every request after 100 ms.
fn slow_server() -> FakeOpenAi {
    FakeOpenAi::with_behaviour(|_| {
        Reply::Delay(Duration::from_millis(100), Box::new(Reply::Answer))
    })
}

/// The arguments of a 60-row instruct run with at most 4 requests in flight.
fn sixty_rows(data: &str) -> [&str; 6] {
    [
        "summary",
        data,
        "instruction,output",
        "instruction_following",
        "--workers",
        "4",
    ]
}

/// Wait (at most a minute) until `server` has received `n` requests.
fn wait_for_requests(server: &FakeOpenAi, n: usize) {
    let started = Instant::now();
    while server.request_count() < n {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never got going"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kill_nine_mid_run_then_rerun_pays_only_for_unanswered_prompts() {
    let server = slow_server();
    let ws = Workspace::new();
    let data = ws.instruct_rows(60);
    let args = sixty_rows(&data);

    let mut child = ws.spawn(Some(&server), &args);
    wait_for_requests(&server, 20);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let sent_before_kill = server.request_count();
    assert!(sent_before_kill < 60, "killed too late to test anything");

    let (answered, integrity) = ws.cache_rows();
    assert_eq!(integrity, "ok");
    assert!(
        answered >= 10,
        "answers must be committed as they arrive, found {answered}"
    );
    let answered_prompts = user_contents(&ws.cached_requests());
    // Nothing looks finished after a kill.
    assert!(!ws.data_dir().join("summary.csv").exists());

    ws.run(Some(&server), &args).ok();
    let second_run = server.requests().split_off(sent_before_kill);
    let repeated: Vec<_> = user_contents(&second_run)
        .intersection(&answered_prompts)
        .cloned()
        .collect();
    assert!(
        repeated.is_empty(),
        "paid twice for {} answered prompt(s)",
        repeated.len()
    );
    assert_eq!(second_run.len(), 60 - answered);
    assert_eq!(ws.summary()[0]["Total"], "60");
    assert_eq!(ws.cache_rows(), (60, "ok".to_string()));
}

#[test]
fn concurrent_runs_share_one_cache_without_corrupting_it() {
    let server = FakeOpenAi::with_behaviour(|_| {
        Reply::Delay(Duration::from_millis(5), Box::new(Reply::Answer))
    });
    let ws = Workspace::new();
    let data = ws.instruct_rows(40);
    // Both runs rate the same rows (racing for the same keys) into separate output folders.
    let children: Vec<_> = ["out1", "out2"]
        .iter()
        .map(|out| {
            let out = ws.path().join(out);
            let out = out.to_string_lossy().into_owned();
            ws.spawn(
                Some(&server),
                &instruct_args(&data, &["--out", &out, "--workers", "8"]),
            )
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(ws.cache_rows(), (40, "ok".to_string()));
    // A third run finds everything cached.
    let before = server.request_count();
    ws.run(Some(&server), &instruct_args(&data, &[])).ok();
    assert_eq!(server.request_count(), before);
}

#[test]
fn an_interrupted_dry_run_and_a_cached_run_agree_on_what_is_left() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let sample = fixture("sample.jsonl");
    ws.run(
        Some(&server),
        &["summary", &sample, "text", "textbook_quality", "--max", "5"],
    )
    .ok();
    let sent = server.request_count();
    let run = ws
        .run(
            None,
            &["summary", &sample, "text", "textbook_quality", "--dry-run"],
        )
        .ok();
    let (_, cells) = table_cells(&run.stdout, "textbook_quality");
    // Prompts, cached, to send (after rows, failed, skipped).
    assert_eq!(cells[4].parse::<usize>().unwrap(), 12);
    assert_eq!(cells[5].parse::<usize>().unwrap(), sent);
    assert_eq!(cells[6].parse::<usize>().unwrap(), 12 - sent);
}

#[test]
fn ctrl_c_stops_the_run_with_exit_code_130_and_keeps_every_answer() {
    let server = slow_server();
    let ws = Workspace::new();
    let data = ws.instruct_rows(60);
    let child = ws.spawn(Some(&server), &sixty_rows(&data));
    wait_for_requests(&server, 10);
    // What Ctrl-C in a terminal sends.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let run = support::Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: interrupted; every answer received so far is cached"),
        "{}",
        run.stderr
    );
    let (answered, integrity) = ws.cache_rows();
    assert_eq!(integrity, "ok");
    assert!(answered >= 5, "answers so far are cached, found {answered}");
}
