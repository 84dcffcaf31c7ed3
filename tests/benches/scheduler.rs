//! Throughput against rate limits: the `classified` program against the fake OpenAI server with a
//! token-bucket limit and 300 ms latency, scenarios side by side (README "Throughput against rate
//! limits"): OpenAI's per-minute headers, per-second values under the same names, `-minute`
//! suffixed names and Azure's remaining-only headers, a token cap, a cached rerun and `--workers 2`. `cargo bench -p classified-tests --bench scheduler`; `SCHED_BENCH_ROWS` and
//! `SCHED_BENCH_CACHED_ROWS` shrink the row counts (2,000 and 10,000) for a quick run.

#[path = "../tests/support/mod.rs"]
mod support;

use classified_tests::{FakeOpenAi, HeaderStyle, RateLimit, Reply};
use std::time::{Duration, Instant};
use support::Workspace;

const LATENCY: Duration = Duration::from_millis(300);
const REQUESTS_PER_SEC: f64 = 50.0;
/// Tokens per minute for scenario 2: ~15 requests/s of this dataset, well under the request cap.
const TOKENS_PER_MIN: f64 = 600_000.0;

struct Row {
    scenario: String,
    rows: usize,
    seconds: f64,
    requests_per_sec: f64,
    /// Throughput as a share of the binding limit.
    of_cap: Option<f64>,
    limited_share: Option<f64>,
}

fn rows_from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Rate `rows` rows against `server`, with extra flags; returns wall seconds.
fn run(ws: &Workspace, server: &FakeOpenAi, data: &str, flags: &[&str]) -> f64 {
    let mut args = vec![
        "summary",
        data,
        "instruction,output",
        "instruction_following",
    ];
    args.extend_from_slice(flags);
    let started = Instant::now();
    ws.run(Some(server), &args).ok();
    started.elapsed().as_secs_f64()
}

fn limited(name: &str, rows: usize, limit: RateLimit, flags: &[&str], tokens_bind: bool) -> Row {
    let server = FakeOpenAi::with_rate_limit(limit, |_| Reply::delayed(LATENCY, Reply::Answer));
    let ws = Workspace::new();
    let data = ws.instruct_rows(rows);
    let seconds = run(&ws, &server, &data, flags);
    let stats = server.rate_stats();
    assert_eq!(stats.admitted as usize, rows, "every row answered once");
    // Over the whole run as the user waits for it: start-up, the first round trips before the
    // limits are known and the last answer's latency all count against us.
    let of_cap = if tokens_bind {
        stats.tokens_admitted as f64 / seconds * 60.0 / TOKENS_PER_MIN
    } else {
        stats.admitted as f64 / seconds / REQUESTS_PER_SEC
    };
    Row {
        scenario: name.into(),
        rows,
        seconds,
        requests_per_sec: stats.admitted as f64 / seconds,
        of_cap: Some(of_cap),
        limited_share: Some(stats.limited as f64 / (stats.admitted + stats.limited) as f64),
    }
}

fn cached(rows: usize) -> Row {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(rows);
    run(&ws, &server, &data, &[]);
    let sent = server.request_count();
    let seconds = run(&ws, &server, &data, &[]);
    assert_eq!(server.request_count(), sent, "a cached rerun sends nothing");
    Row {
        scenario: "fully cached rerun".into(),
        rows,
        seconds,
        requests_per_sec: 0.0,
        of_cap: None,
        limited_share: None,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let rows = rows_from_env("SCHED_BENCH_ROWS", 2000);
    let cached_rows = rows_from_env("SCHED_BENCH_CACHED_ROWS", 10_000);
    let requests = RateLimit::requests_per_sec(REQUESTS_PER_SEC);
    let results = [
        limited(
            "adaptive, 50 req/s cap, OpenAI per-minute headers",
            rows,
            requests.clone(),
            &[],
            false,
        ),
        limited(
            "adaptive, 50 req/s cap, per-second headers (`limit: 50`)",
            rows,
            requests.clone().style(HeaderStyle::PerSecond),
            &[],
            false,
        ),
        limited(
            "adaptive, 50 req/s cap, `-minute` suffixed headers",
            rows,
            requests.clone().style(HeaderStyle::Suffixed),
            &[],
            false,
        ),
        limited(
            "adaptive, 50 req/s cap, remaining-only headers (Azure)",
            rows,
            requests.clone().style(HeaderStyle::RemainingOnly),
            &[],
            false,
        ),
        limited(
            "adaptive, 600k tokens/min cap",
            rows,
            requests.clone().tokens_per_min(TOKENS_PER_MIN),
            &[],
            true,
        ),
        cached(cached_rows),
        limited(
            "--workers 2, 50 req/s cap",
            rows,
            requests,
            &["--workers", "2"],
            false,
        ),
    ];
    println!(
        "\n| scenario | rows | seconds | rows/s | req/s | of the cap | 429 share |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for r in &results {
        let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1}%", v * 100.0));
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.1} | {} | {} |",
            r.scenario,
            r.rows,
            r.seconds,
            r.rows as f64 / r.seconds,
            r.requests_per_sec,
            pct(r.of_cap),
            pct(r.limited_share),
        );
    }
}
