//! End to end: the cost estimate (dry run and the start of a real run), the final spend, price
//! overrides and `--max-usd`.

mod support;

use classified_tests::FakeOpenAi;
use std::collections::HashSet;
use support::{Workspace, fixture, instruct_args, read_parquet};

const LENS: &str = "instruction_following";

/// A price file with round prices, so expected dollars are exact: $1000 / $2000 per 1M tokens.
fn round_prices(ws: &Workspace) -> String {
    let path = ws.path().join("prices.json");
    std::fs::write(
        &path,
        r#"{"models": {"gpt-4o-mini": {"input": 1000, "output": 2000}}}"#,
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

/// The number just before `label` in `text`, e.g. `number_before(t, " input token(s)")`.
fn number_before(text: &str, label: &str) -> u64 {
    let head = &text[..text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))];
    let digits: String = head
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

/// The `Estimate ...` line of a run's output.
#[track_caller]
fn estimate_line(output: &str) -> &str {
    output
        .lines()
        .find(|l| l.starts_with("Estimate"))
        .unwrap_or_else(|| panic!("no estimate in:\n{output}"))
}

fn dollars_after(text: &str, label: &str) -> f64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
        + label.len();
    let number: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().unwrap()
}

/// Prompt tokens as the estimate counts them, from what was really sent: system + user + the
/// function schema, plus 4 tokens of framing per message.
fn hand_count(body: &serde_json::Value) -> u64 {
    let bpe = tiktoken_rs::o200k_base().unwrap();
    let count = |s: &str| bpe.encode_ordinary(s).len() as u64;
    count(body["messages"][0]["content"].as_str().unwrap())
        + count(body["messages"][1]["content"].as_str().unwrap())
        + count(&body["tools"][0]["function"].to_string())
        + 8
}

#[test]
fn the_dry_run_estimate_is_hand_counted_tokens_times_the_prices() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let prices = round_prices(&ws);
    let data = fixture("instruct.jsonl");
    let base = instruct_args(&data, &["--model", "gpt-4o-mini"]);
    let env = [
        ("CLASSIFIED_PRICES", prices.as_str()),
        ("MAX_GENERATION_TOKENS", "50"),
    ];
    let run = |extra: &[&str]| {
        ws.run_with_env(Some(&server), &[&base[..], extra].concat(), env)
            .ok()
    };

    let dry = run(&["--dry-run"]);
    assert_eq!(server.request_count(), 0);
    // What a real run then sends is what the dry run counted.
    let real = run(&[]);
    let bodies = server.requests();
    assert_eq!(bodies.len(), 9);
    let input: u64 = bodies.iter().map(hand_count).sum();
    let line = estimate_line(&dry.stdout);
    assert_eq!(number_before(line, " request(s) to send"), 9);
    assert_eq!(number_before(line, " input token(s)"), input, "{line}");
    assert_eq!(number_before(line, " output token(s)"), 9 * 50);
    let expected = input as f64 * 0.001 + 450.0 * 0.002;
    assert_eq!(
        line.split('$').nth(1).unwrap().split(' ').next().unwrap(),
        format!("{expected:.4}"),
        "{line}"
    );

    // The real run printed the same estimate before sending.
    real.assert_stderr_has(line);
    // Its final report counts the tokens the API said it used, at the same prices.
    let conn = rusqlite::Connection::open(ws.cache()).unwrap();
    let (p, c): (u64, u64) = conn
        .query_row(
            "SELECT sum(prompt_tokens), sum(completion_tokens) FROM answers",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let report = format!(
        "{p} prompt + {c} completion tokens paid, ${:.4}",
        p as f64 * 0.001 + c as f64 * 0.002
    );
    assert!(
        real.stderr.contains(&report),
        "want {report:?} in\n{}",
        real.stderr
    );

    // Now everything is cached; at Batch API prices the estimate halves.
    let cached = run(&["--dry-run"]);
    cached.assert_stdout_has("9 prompt(s), 9 from the cache, 0 request(s) to send");
    let ws2 = Workspace::new();
    let batch = ws2
        .run_with_env(None, &[&base[..], &["--dry-run", "--batch"]].concat(), env)
        .ok();
    batch.assert_stdout_has(&format!(
        "${:.4} at gpt-4o-mini Batch API prices",
        expected / 2.0
    ));
}

#[test]
fn an_unknown_model_is_estimated_without_a_price_and_max_usd_needs_one() {
    let ws = Workspace::new();
    let data = fixture("instruct.jsonl");
    let dry = ws
        .run(
            None,
            &instruct_args(&data, &["--model", "my-llama", "--dry-run"]),
        )
        .ok();
    assert!(
        dry.stdout.contains("9 request(s) to send")
            && dry.stdout.contains("cost unknown")
            && dry.stdout.contains("CLASSIFIED_PRICES"),
        "{}",
        dry.stdout
    );
    let run = ws.run(
        None,
        &instruct_args(
            &data,
            &["--model", "my-llama", "--dry-run", "--max-usd", "1"],
        ),
    );
    assert!(
        run.error().contains("--max-usd needs the model's price") && run.code == 2,
        "{}",
        run.stderr
    );
    let run = ws.run(
        None,
        &instruct_args(&data, &["--dry-run", "--max-usd", "0"]),
    );
    assert!(
        run.error().contains("positive number") && run.code == 2,
        "{}",
        run.stderr
    );
}

#[test]
fn max_usd_stops_sending_at_the_budget_writes_everything_and_a_rerun_continues() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    // Only output is priced: $0.001 a token, so a request may cost at most 100 × $0.001 = $0.10.
    let prices = ws.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"models": {"gpt-4o-mini": {"input": 0, "output": 1000}}}"#,
    )
    .unwrap();
    let data = ws.instruct_rows(40);
    let env = [
        ("CLASSIFIED_PRICES", prices.to_str().unwrap()),
        ("MAX_GENERATION_TOKENS", "100"),
    ];
    let run = |budget: &str| {
        let args = instruct_args(&data, &["--model", "gpt-4o-mini", "--max-usd", budget]);
        ws.run_with_env(Some(&server), &args, env)
    };

    let stopped = run("0.35");
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    let error = stopped.error();
    assert!(
        error.contains("stopped at the --max-usd budget of $0.35"),
        "{error}"
    );
    stopped.assert_stderr_has("The estimate is above --max-usd 0.35");
    let sent = server.request_count() as u64;
    assert!((1..40).contains(&sent), "sent {sent}");
    assert_eq!(number_before(&error, " request(s) sent"), sent, "{error}");
    assert_eq!(number_before(&error, " not sent"), 40 - sent, "{error}");
    // What the answers say they cost stays within the budget, and the budget is spent: a request
    // that does not fit beside those in flight waits for their answers instead of stopping the
    // run, so at most one request's worst case ($0.10) is left unspent.
    let spent = dollars_after(&error, "sent for $");
    assert!(spent <= 0.35, "{error}");
    assert!(
        spent >= 0.35 - 0.10,
        "spent only ${spent} of $0.35: {error}"
    );
    let conn = rusqlite::Connection::open(ws.cache()).unwrap();
    let completion: u64 = conn
        .query_row("SELECT sum(completion_tokens) FROM answers", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        (completion as f64 * 0.001 - spent).abs() < 1e-4,
        "{completion} tokens vs ${spent}"
    );
    // Everything is written out, and every row not sent says why.
    assert_eq!(ws.summary()[0]["Total"], sent.to_string());
    assert_eq!(ws.summary()[0]["Failed"], (40 - sent).to_string());
    let rows = read_parquet(&ws.data_dir().join(format!("many.{LENS}.parquet")));
    let unsent = rows
        .iter()
        .filter(|r| {
            r["error"]
                .as_str()
                .unwrap_or("")
                .contains("--max-usd budget")
        })
        .count();
    assert_eq!(unsent as u64, 40 - sent);

    // A higher budget continues where the run stopped, paying for nothing twice.
    run("100").ok();
    let bodies: Vec<String> = server.requests().iter().map(|b| b.to_string()).collect();
    assert_eq!(bodies.len(), 40);
    assert_eq!(bodies.iter().collect::<HashSet<_>>().len(), 40);
    assert_eq!(ws.summary()[0]["Total"], "40");
    assert_eq!(ws.summary()[0]["Failed"], "0");
}

#[test]
fn a_batch_that_could_cost_more_than_max_usd_is_not_sent() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let prices = round_prices(&ws);
    let data = ws.instruct_rows(5);
    let run = ws.run_with_env(
        Some(&server),
        &instruct_args(
            &data,
            &["--model", "gpt-4o-mini", "--batch", "--max-usd", "0.5"],
        ),
        [("CLASSIFIED_PRICES", &prices)],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.error().contains("nothing was sent"), "{}", run.stderr);
    assert!(server.batches().uploads.lock().unwrap().is_empty());
}

#[test]
fn a_plain_run_estimates_from_its_first_rows_scaled_to_the_dataset() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(12);
    let run = ws
        .run_with_env(
            Some(&server),
            &instruct_args(&data, &["--model", "gpt-4o-mini"]),
            [("CLASSIFIED_PLAN_ROWS", "4")],
        )
        .ok();
    let line = estimate_line(&run.stderr);
    assert!(line.contains("planned on the first 4 of 12 rows"), "{line}");
    assert_eq!(number_before(line, " request(s) to send"), 12, "{line}");
    assert_eq!(number_before(line, " output token(s)"), 12 * 256, "{line}");
    assert_eq!(server.request_count(), 12);
}
