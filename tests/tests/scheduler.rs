//! The request scheduler end to end: fault injection (500s, malformed arguments, 429 storms, slow
//! answers, dropped connections), pacing by `--rpm`/`--tpm` and by rate-limit headers, and one
//! scheduler shared by every lens of a run. Timing assertions are lower bounds or generous windows,
//! so a loaded machine only makes them pass more easily.

mod support;

use classified_tests::{
    Call, FakeOpenAi, HeaderStyle, LimitStats, RateLimit, Reply, fake_score, user_content,
};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Workspace, failed_errors, instruct_args, read_parquet, summary_args};

const LENS: &str = "instruction_following";
const PARQUET: &str = "many.instruction_following.parquet";

/// Watches a fake server for money wasted: a prompt asked again after it was answered well.
#[derive(Default)]
struct Ledger {
    answered: Mutex<HashSet<String>>,
    repeats: Mutex<Vec<String>>,
}

impl Ledger {
    /// Note `call` arriving; `reply` is what it gets, `delivered` whether the client will read it
    /// as a good answer (not one that arrives after the timeout).
    fn record(&self, call: &Call, reply: Reply, delivered: bool) -> Reply {
        let key = call.body.to_string();
        if self.answered.lock().unwrap().contains(&key) {
            self.repeats.lock().unwrap().push(call.user_content());
        }
        if delivered && matches!(reply, Reply::Answer) {
            self.answered.lock().unwrap().insert(key);
        }
        reply
    }

    fn assert_no_repeats(&self) {
        let repeats = self.repeats.lock().unwrap();
        assert!(
            repeats.is_empty(),
            "asked again after a good answer: {repeats:?}"
        );
    }
}

/// A stable pseudo-random number in 0..100 for a prompt and attempt.
fn dice(call: &Call) -> i64 {
    let content = call.user_content();
    (0..2)
        .map(|i| fake_score(&content, &format!("{}-{i}", call.attempt)) - 1)
        .fold(0, |acc, d| acc * 3 + d)
        * 100
        / 9
}

/// Every row is rated, or failed with a reason; the run exits 0 without a panic.
#[track_caller]
fn assert_every_row_accounted_for(
    ws: &Workspace,
    run: &support::Run,
    rows: usize,
) -> Vec<serde_json::Map<String, Value>> {
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let parquet = read_parquet(&ws.data_dir().join(PARQUET));
    assert_eq!(parquet.len(), rows);
    for row in &parquet {
        match row["status"].as_str().unwrap() {
            "rated" => assert!(row["overall"].as_f64().is_some(), "{row:?}"),
            "failed" => assert!(
                row["error"].as_str().is_some_and(|e| e.len() > 10),
                "a failed row names its reason: {row:?}"
            ),
            other => panic!("row neither rated nor failed: {other} {row:?}"),
        }
    }
    parquet
}

/// Rates `rows` instruct rows against a rate-limited `server`: the run succeeds, no row fails
/// (`context` names the run in the message), and the server admitted one request per row.
#[track_caller]
fn rate_all_admitted(server: &FakeOpenAi, rows: usize, context: &str) -> LimitStats {
    let ws = Workspace::new();
    let data = ws.instruct_rows(rows);
    let run = ws.run(Some(server), &instruct_args(&data, &[]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(ws.summary()[0]["Failed"], "0", "{context}");
    let stats = server.rate_stats();
    assert_eq!(stats.admitted as usize, rows);
    stats
}

#[test]
fn server_errors_and_malformed_arguments_end_every_row_rated_or_failed() {
    const ROWS: usize = 60;
    let ledger = Arc::new(Ledger::default());
    let watch = ledger.clone();
    // 20% of attempts get a 500, 20% malformed arguments; rows 7 and 8 never get good arguments.
    let server = FakeOpenAi::with_behaviour(move |call| {
        let content = call.user_content();
        let reply = if content.contains("number 7:") || content.contains("number 8:") {
            Reply::Arguments("{\"rationale\": \"cut off".into())
        } else {
            match dice(call) {
                0..20 => Reply::server_error(),
                20..40 => Reply::Arguments("{\"overall\": \"not a number\"".into()),
                _ => Reply::Answer,
            }
        };
        watch.record(call, reply, true)
    });
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let args = instruct_args(data.as_str(), &[]);
    // Rows failed, so the run ends with exit code 4 after writing every output.
    let run = ws.run(Some(&server), &args).rows_failed();
    let parquet = assert_every_row_accounted_for(&ws, &run, ROWS);
    let failures = failed_errors(&parquet);
    assert!(failures.len() >= 2, "{failures:?}");
    assert!(
        failures
            .iter()
            .all(|e| e.contains("asked 3 times") || e.contains("500")),
        "{failures:?}"
    );
    ledger.assert_no_repeats();

    // A rerun asks again only for what failed.
    let before = server.request_count();
    // The faults go on, so some rows may fail again (exit 4); nothing else may go wrong.
    let rerun = ws.run(Some(&server), &args);
    assert!([0, 4].contains(&rerun.code), "{}", rerun.stderr);
    ledger.assert_no_repeats();
    let asked: HashSet<String> = server.requests()[before..]
        .iter()
        .map(user_content)
        .collect();
    assert_eq!(asked.len(), failures.len(), "{asked:?}");
}

#[test]
fn a_429_storm_is_sat_out_for_as_long_as_retry_after_says() {
    const ROWS: usize = 40;
    const STORM: Duration = Duration::from_millis(2500);
    const RETRY_AFTER: Duration = Duration::from_secs(1);
    let ledger = Arc::new(Ledger::default());
    let watch = ledger.clone();
    let start: Mutex<Option<Instant>> = Mutex::new(None);
    let server = FakeOpenAi::with_behaviour(move |call| {
        let began = *start.lock().unwrap().get_or_insert_with(Instant::now);
        let reply = if began.elapsed() < STORM {
            Reply::rate_limited(RETRY_AFTER)
        } else {
            Reply::Answer
        };
        watch.record(call, reply, true)
    });
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let run = ws.run(Some(&server), &instruct_args(&data, &[]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let parquet = assert_every_row_accounted_for(&ws, &run, ROWS);
    assert!(
        failed_errors(&parquet).is_empty(),
        "{:?}",
        failed_errors(&parquet)
    );
    ledger.assert_no_repeats();

    // After a 429 nobody sends until retry-after has passed: only requests already on their way
    // (arriving right after it, a little later on a loaded machine) may land inside the pause.
    let times = server.request_times();
    let t0 = times[0];
    let limited: Vec<Instant> = times
        .iter()
        .copied()
        .filter(|t| t.duration_since(t0) < STORM)
        .collect();
    for &t in &limited {
        let inside = times
            .iter()
            .filter(|&&u| {
                u > t + Duration::from_millis(400)
                    && u < t + RETRY_AFTER - Duration::from_millis(50)
            })
            .count();
        assert_eq!(inside, 0, "requests sent during a pause");
    }
    // A storm of 2.5 s with 1 s pauses is 3 waves of a few requests, not a stampede.
    assert!(
        limited.len() <= 3 * 16,
        "{} requests into the storm",
        limited.len()
    );
    // Nothing but the 429s was asked twice.
    assert!(times.len() >= ROWS && times.len() <= ROWS + limited.len());
}

#[test]
fn slow_answers_and_dropped_connections_are_retried_or_fail_with_the_reason() {
    const ROWS: usize = 30;
    let ledger = Arc::new(Ledger::default());
    let watch = ledger.clone();
    let server = FakeOpenAi::with_behaviour(move |call| {
        let content = call.user_content();
        let slow = Reply::delayed(Duration::from_secs(3), Reply::Answer);
        let (reply, delivered) = if content.contains("number 5:") {
            (slow, false)
        } else {
            match (dice(call), call.attempt) {
                (0..20, 0) => (slow, false),
                (20..40, _) if call.attempt < 2 => (Reply::Reset, false),
                _ => (Reply::Answer, true),
            }
        };
        watch.record(call, reply, delivered)
    });
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let run = ws
        .command(Some(&server), &instruct_args(&data, &[]))
        .env("OPENAI_TIMEOUT", "0.5")
        .output()
        .map(support::Run::from)
        .unwrap()
        .rows_failed();
    let parquet = assert_every_row_accounted_for(&ws, &run, ROWS);
    let failures = failed_errors(&parquet);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("OPENAI_TIMEOUT"), "{failures:?}");
    assert_eq!(parquet[5]["status"], "failed");
    ledger.assert_no_repeats();
}

/// Requests in the busiest window of `window` among arrival `times`.
fn busiest(times: &[Instant], window: Duration) -> usize {
    times
        .iter()
        .map(|&t| times.iter().filter(|&&u| u >= t && u < t + window).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn rpm_paces_a_server_that_sends_no_headers() {
    const ROWS: usize = 40;
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let started = Instant::now();
    ws.run(
        Some(&server),
        &["summary", &data, "instruction,output", LENS, "--rpm", "600"],
    )
    .ok();
    let elapsed = started.elapsed();
    // 600/min: a burst of one second's worth (10), then 10 per second.
    let times = server.request_times();
    assert_eq!(times.len(), ROWS);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    let spread = times[ROWS - 1].duration_since(times[0]);
    assert!(spread >= Duration::from_millis(2800), "{spread:?}");
    // A burst plus the rate; the slack covers arrivals bunched by a busy machine. Unpaced, all
    // 40 would arrive within the first second.
    assert!(busiest(&times, Duration::from_secs(1)) <= 10 + 10 + 8);
    assert!(busiest(&times, Duration::from_secs(2)) <= 10 + 20 + 8);
}

#[test]
fn tpm_paces_by_prompt_plus_max_tokens() {
    const ROWS: usize = 30;
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    ws.command(Some(&server), &instruct_args(&data, &["--tpm", "600000"]))
        .env("MAX_GENERATION_TOKENS", "2000")
        .output()
        .map(support::Run::from)
        .unwrap()
        .ok();
    // Each request costs ~2,300 tokens against 10,000 per second (a one-second burst).
    let bodies = server.requests();
    let tokens: u64 = bodies
        .iter()
        .map(classified_tests::ratelimit::charged_tokens)
        .sum();
    let expected = Duration::from_secs_f64((tokens as f64 - 10_000.0) / 10_000.0);
    let times = server.request_times();
    let spread = times[ROWS - 1].duration_since(times[0]);
    assert!(
        spread >= expected.mul_f64(0.7),
        "{spread:?} for {tokens} tokens"
    );
}

#[test]
fn rate_limit_headers_set_the_pace_without_flags() {
    const ROWS: usize = 100;
    let server = FakeOpenAi::with_rate_limit(RateLimit::requests_per_sec(20.0), |_| {
        Reply::delayed(Duration::from_millis(100), Reply::Answer)
    });
    let stats = rate_all_admitted(&server, ROWS, "");
    // The first answers teach the limit; after that hardly anything is turned away.
    assert!(
        stats.limited <= 5,
        "{} of {} requests answered 429",
        stats.limited,
        ROWS
    );
}

#[test]
fn every_lens_shares_one_scheduler() {
    const ROWS: usize = 10;
    let server =
        FakeOpenAi::with_behaviour(|_| Reply::delayed(Duration::from_millis(200), Reply::Answer));
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let lens_dir = ws.path().join("lenses");
    // A second instruct lens: the built-in one under another name (a different function, so
    // different requests and cache keys).
    copy_lens(
        &classified_tests::lenses_dir().join(LENS),
        &lens_dir.join("second"),
    );
    let started = Instant::now();
    ws.run(
        Some(&server),
        &summary_args(
            &data,
            "instruction,output",
            &format!("{LENS},second"),
            &["--lens-dir", &lens_dir.to_string_lossy(), "--workers", "2"],
        ),
    )
    .ok();
    let elapsed = started.elapsed();
    let functions: Vec<String> = server
        .requests()
        .iter()
        .map(|b| classified_tests::forced_function_name(b).unwrap())
        .collect();
    assert_eq!(functions.len(), 2 * ROWS);
    // Interleaved, not one lens after the other...
    let first_half: HashSet<&String> = functions[..ROWS].iter().collect();
    assert_eq!(first_half.len(), 2, "{functions:?}");
    // ...and within one ceiling of 2 in flight: 20 requests of 200 ms take at least 2 s.
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
}

/// Copy a lens folder, renaming its function so the copy is a distinct lens.
fn copy_lens(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let mut text = std::fs::read_to_string(entry.path()).unwrap();
        if entry.file_name() == "function.json" {
            let mut f: Value = serde_json::from_str(&text).unwrap();
            f["name"] = Value::from("rate_second");
            text = f.to_string();
        }
        std::fs::write(to.join(entry.file_name()), text).unwrap();
    }
}

/// Rate `rows` rows with no flags against a server limited to `per_sec` requests per second,
/// reporting it in `style`, 100 ms latency; returns (admitted per second between the first and
/// last admission as a share of `per_sec`, 429s as a share of all requests).
fn paced_by_style(style: HeaderStyle, per_sec: f64, rows: usize) -> (f64, f64) {
    let server =
        FakeOpenAi::with_rate_limit(RateLimit::requests_per_sec(per_sec).style(style), |_| {
            Reply::delayed(Duration::from_millis(100), Reply::Answer)
        });
    let stats = rate_all_admitted(&server, rows, &format!("{style:?}"));
    let span = stats
        .last_admitted
        .unwrap()
        .duration_since(stats.first_admitted.unwrap())
        .as_secs_f64();
    let share = (stats.admitted - 1) as f64 / span / per_sec;
    let limited = stats.limited as f64 / (stats.admitted + stats.limited) as f64;
    (share, limited)
}

// The shares below have wide slack for a loaded 2-core machine (the benchmark measures the real
// numbers); what they rule out is the old behaviour: per-second limits read as per minute (1.7%
// of the capacity) and remaining-only headers ignored (a 429 storm).

/// The run used between half and 1.3 times the server's 20 requests a second, and at most 5% of
/// its requests were answered 429.
#[track_caller]
fn assert_paced_near_twenty_per_sec(share: f64, limited: f64) {
    assert!(share > 0.5, "{:.0}% of 20 req/s", share * 100.0);
    assert!(share < 1.3, "{:.0}% of 20 req/s", share * 100.0);
    assert!(limited <= 0.05, "{:.1}% answered 429", limited * 100.0);
}

#[test]
fn per_second_headers_are_read_as_per_second() {
    let (share, limited) = paced_by_style(HeaderStyle::PerSecond, 20.0, 120);
    assert_paced_near_twenty_per_sec(share, limited);
}

#[test]
fn minute_suffixed_headers_are_read_as_per_minute() {
    let (share, limited) = paced_by_style(HeaderStyle::Suffixed, 20.0, 120);
    // Above 100% is the server's one-second burst over a short span; 429s are bounded below.
    assert_paced_near_twenty_per_sec(share, limited);
}

#[test]
fn remaining_only_headers_are_probed_up_to_the_servers_rate() {
    let (share, limited) = paced_by_style(HeaderStyle::RemainingOnly, 20.0, 160);
    assert_paced_near_twenty_per_sec(share, limited);
}

#[test]
fn a_daily_quota_is_shown_and_its_end_stops_the_run_cleanly_with_exit_5() {
    const ROWS: usize = 30;
    const DAY: u64 = 12;
    let server = FakeOpenAi::with_rate_limit(
        RateLimit::requests_per_sec(100.0).requests_per_day(DAY),
        |_| Reply::delayed(Duration::from_millis(50), Reply::Answer),
    );
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let args = instruct_args(data.as_str(), &[]);
    let run = ws.run(Some(&server), &args);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rate budget: the server allows requests per day")
            && run.stderr.contains(&format!("of {DAY} left")),
        "{}",
        run.stderr
    );
    let error = run.error();
    assert!(
        error.contains("daily request budget is used up and resets in 3h 12m"),
        "{error}"
    );
    // Every allowed request was used, none beyond it was sent, and the outputs are written.
    // (One less when the server admitted the first wave in another order than it was sent:
    // `remaining` is then read against the wrong request, erring on the safe side.)
    let stats = server.rate_stats();
    assert!(
        (DAY - 1..=DAY).contains(&stats.admitted),
        "{}",
        stats.admitted
    );
    assert!(stats.limited <= 8, "{} answered 429", stats.limited);
    let parquet = assert_every_row_accounted_for(&ws, &run, ROWS);
    let failures = failed_errors(&parquet);
    assert_eq!(failures.len(), ROWS - stats.admitted as usize);
    assert!(
        failures.iter().all(|e| e.contains("daily request budget")),
        "{failures:?}"
    );
    // The rerun pays for none of the cached answers and stops the same way.
    let cached: HashSet<String> = ws.cached_requests().iter().map(user_content).collect();
    assert_eq!(cached.len(), stats.admitted as usize);
    let before = server.request_count();
    let rerun = ws.run(Some(&server), &args);
    assert_eq!(rerun.code, 5, "{}", rerun.stderr);
    let asked: HashSet<String> = server.requests()[before..]
        .iter()
        .map(user_content)
        .collect();
    assert!(asked.is_disjoint(&cached), "{asked:?}");
    assert!((1..=8).contains(&asked.len()), "{asked:?}");
}
