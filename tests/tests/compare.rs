//! End to end: `classified compare` between two models, two versions of one model and two lenses,
//! read from the cache, or rated first with `--rate`; its tables, compare.json and report section.

mod support;

use classified_tests::{FakeOpenAi, Reply, default_arguments};
use serde_json::Value;
use support::{Workspace, instruct_args, read_parquet};

const LENS: &str = "instruction_following";
const ROWS: usize = 30;

/// gpt-4o answers with the default scores; gpt-4o-mini says `overall` 1 for every question whose
/// text holds a 7, with a rationale of its own.
fn two_models() -> FakeOpenAi {
    FakeOpenAi::with_behaviour(|call| {
        let mut args: Value = serde_json::from_str(&default_arguments(&call.body)).unwrap();
        if call.model() == "gpt-4o-mini" {
            args["rationale"] = Value::from("<b>mini</b> thinks so");
            if call.user_content().contains('7') {
                args["overall"] = Value::from(1);
            }
        }
        Reply::Arguments(args.to_string())
    })
}

/// `compare DATA instruction,output LENS` followed by `flags` (the raters, `--rate`, ...).
fn compare_args<'a>(data: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["compare", data, "instruction,output", LENS];
    args.extend_from_slice(flags);
    args
}

/// The agreement numbers of one label in a dataset of compare.json.
fn label<'a>(dataset: &'a Value, name: &str) -> &'a Value {
    dataset["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == name)
        .unwrap_or_else(|| panic!("no label {name} in {dataset}"))
}

fn overall(ws: &Workspace, dir: &str) -> Vec<(f64, String)> {
    read_parquet(&ws.path().join(dir).join(format!("many.{LENS}.parquet")))
        .iter()
        .map(|r| {
            (
                r["overall"].as_f64().unwrap(),
                r["bucket"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn two_models_from_the_cache_agree_as_their_ratings_say() {
    let server = two_models();
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    for model in ["gpt-4o-mini", "gpt-4o"] {
        let out = format!("out-{model}");
        ws.run(
            Some(&server),
            &instruct_args(&data, &["--model", model, "--out", &out]),
        )
        .ok();
    }
    let sent = server.request_count();
    assert_eq!(sent, 2 * ROWS);
    // What each model said, from its own run's Parquet: the expected numbers, computed here.
    let mini = overall(&ws, "out-gpt-4o-mini");
    let full = overall(&ws, "out-gpt-4o");
    let same = mini.iter().zip(&full).filter(|(a, b)| a.0 == b.0).count();
    let diff: f64 = mini.iter().zip(&full).map(|(a, b)| (a.0 - b.0).abs()).sum();
    let same_bucket = mini.iter().zip(&full).filter(|(a, b)| a.1 == b.1).count();
    assert!(same < ROWS, "the two models must disagree somewhere");

    // Both answers share one cache (DATABASE_URL): compare reads it and sends nothing.
    let run = ws
        .run(
            None,
            &compare_args(&data, &["--a", "gpt-4o-mini", "--b", "gpt-4o"]),
        )
        .ok();
    assert_eq!(server.request_count(), sent);
    run.assert_stdout_has("A: gpt-4o-mini@1 through instruction_following");
    run.assert_stdout_has("Most disagreeing rows");

    let c: Value = ws.json("compare.json");
    let d = &c["datasets"][0];
    assert_eq!(d["both"], ROWS as u64);
    let l = label(d, "overall");
    assert!((l["exact"].as_f64().unwrap() - same as f64 / ROWS as f64).abs() < 1e-12);
    assert!((l["mean_absolute_difference"].as_f64().unwrap() - diff / ROWS as f64).abs() < 1e-12);
    let kappa = l["kappa"].as_f64().unwrap();
    assert!(kappa < 1.0 && l["kappa_low"].as_f64().unwrap() <= kappa);
    assert!(kappa <= l["kappa_high"].as_f64().unwrap());
    // Labels mini never changes agree exactly.
    let correct = label(d, "correct");
    assert_eq!(correct["exact"], 1.0);
    assert_eq!(correct["kappa"], 1.0);
    // The bucket matrix adds up to the rows, its diagonal to the rows in the same bucket.
    let matrix: Vec<Vec<u64>> = serde_json::from_value(d["bucket_matrix"].clone()).unwrap();
    assert_eq!(matrix.iter().flatten().sum::<u64>(), ROWS as u64);
    assert_eq!(
        (0..matrix.len()).map(|i| matrix[i][i]).sum::<u64>(),
        same_bucket as u64
    );
    // The most disagreeing row differs by the most, with both rationales.
    let top = &d["disagreements"][0];
    let max = mini
        .iter()
        .zip(&full)
        .map(|(a, b)| (a.0 - b.0).abs())
        .fold(0.0, f64::max);
    assert_eq!(top["difference"].as_f64().unwrap(), max);
    assert_eq!(top["a_rationale"], "<b>mini</b> thinks so");
    assert!(
        top["b_rationale"]
            .as_str()
            .unwrap()
            .starts_with("Fake rationale")
    );

    // report.html gets the section (with the rationale as text), beside nothing else here.
    let html = ws.read("report.html");
    assert!(html.contains("Rater agreement"));
    assert!(html.contains("&lt;b&gt;mini&lt;&#x2f;b&gt; thinks so") && !html.contains("<b>mini"));
}

#[test]
fn rate_fills_what_either_lacks_then_compare_reads_the_cache() {
    let server = two_models();
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let args = compare_args(&data, &["--a", "gpt-4o-mini", "--b", "gpt-4o@2"]);
    let mut with_rate = args.clone();
    with_rate.push("--rate");
    let run = ws.run(Some(&server), &with_rate).ok();
    assert_eq!(server.request_count(), 2 * ROWS, "{}", run.stderr);
    // Each side's run wrote its own outputs.
    assert!(ws.data_dir().join("compare-a/summary.csv").exists());
    assert!(ws.data_dir().join("compare-b/summary.csv").exists());
    let first: Value = ws.json("compare.json");
    assert_eq!(first["b"]["version"], 2);

    // Again with --rate: nothing is missing, nothing is sent; without it, the same numbers.
    ws.run(Some(&server), &with_rate).ok();
    ws.run(None, &args).ok();
    assert_eq!(server.request_count(), 2 * ROWS);
    let again: Value = ws.json("compare.json");
    assert_eq!(again["datasets"], first["datasets"]);
}

#[test]
fn one_model_at_two_versions_agrees_with_itself_and_mistakes_are_one_sentence() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(12);
    for version in ["1", "2"] {
        ws.run(
            Some(&server),
            &instruct_args(&data, &["--version", version]),
        )
        .ok();
    }
    ws.run(
        None,
        &compare_args(&data, &["--a", "gpt-4@1", "--b", "gpt-4@2"]),
    )
    .ok();
    let c: Value = ws.json("compare.json");
    for l in c["datasets"][0]["labels"].as_array().unwrap() {
        assert_eq!(
            (&l["exact"], &l["mean_absolute_difference"]),
            (&Value::from(1.0), &Value::from(0.0))
        );
    }
    assert_eq!(c["datasets"][0]["bucket_agreement"], 1.0);
    assert_eq!(c["datasets"][0]["disagreements"], Value::Array(Vec::new()));

    let run = ws.run(None, &compare_args(&data, &["--a", "gpt-4@1"]));
    assert_eq!(run.code, 2);
    run.assert_stderr_has("--a and --b are the same rater");
    let run = ws.run(
        None,
        &compare_args(&data, &["--a", "gpt-4@one", "--b", "gpt-4"]),
    );
    run.assert_stderr_has("`one` is not a cache version");
    let run = ws.run(
        None,
        &[
            "compare",
            &data,
            "text",
            "textbook_quality,heuristic_quality",
            "--a",
            "gpt-4",
        ],
    );
    run.assert_stderr_has("score different labels");
    let fresh = Workspace::new();
    let data = fresh.instruct_rows(3);
    let run = fresh.run(None, &compare_args(&data, &["--a", "x", "--b", "y"]));
    run.assert_stderr_has("there is no cache");
}

#[test]
fn rate_spends_at_most_one_max_usd_for_both_raters() {
    let server = two_models();
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    // About one request's worst case at gpt-4o-mini prices: A stops at the budget, B sends nothing.
    /// gpt-4o-mini against gpt-4o, each rated first, together within `max_usd`.
    fn rate_within<'a>(data: &'a str, max_usd: &'a str) -> Vec<&'a str> {
        let raters = [
            "--a",
            "gpt-4o-mini",
            "--b",
            "gpt-4o",
            "--rate",
            "--max-usd",
            max_usd,
        ];
        compare_args(data, &raters)
    }
    let run = ws.run(Some(&server), &rate_within(&data, "0.0005"));
    assert_eq!(run.code, 3, "{}", run.stderr);
    run.assert_stderr_has("--max-usd");
    let sent = server.requests();
    assert!(!sent.is_empty() && sent.len() < ROWS, "{} sent", sent.len());
    assert!(
        sent.iter().all(|b| b["model"] == "gpt-4o-mini"),
        "B is not rated once A spent the budget"
    );

    // Enough for all of A at gpt-4o-mini prices, not for all of B at gpt-4o's: B gets what A left.
    let ws = Workspace::new();
    let data = ws.instruct_rows(ROWS);
    let server = two_models();
    let run = ws.run(Some(&server), &rate_within(&data, "0.02"));
    assert_eq!(run.code, 3, "{}", run.stderr);
    let sent = server.requests();
    let a = sent.iter().filter(|b| b["model"] == "gpt-4o-mini").count();
    let b = sent.len() - a;
    assert_eq!(a, ROWS, "A was rated in full");
    assert!(b > 0 && b < ROWS, "B sent {b}");
    let spent_a = ws.json("compare-a/run.json");
    let spent_b = ws.json("compare-b/run.json");
    let total =
        spent_a["spend"]["usd"].as_f64().unwrap() + spent_b["spend"]["usd"].as_f64().unwrap();
    assert!(total <= 0.02, "spent {total}");
}
