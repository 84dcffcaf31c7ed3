//! End to end: `summary` with the built-in lenses that ship WebAssembly components.

mod support;

use classified_tests::{FakeOpenAi, Reply};
use support::{Workspace, fixture};

#[test]
fn heuristic_quality_rates_locally_without_a_key_or_a_model() {
    let ws = Workspace::new();
    let run = ws
        .run(
            None,
            &[
                "summary",
                &fixture("sample.jsonl"),
                "text",
                "heuristic_quality",
            ],
        )
        .ok();
    let summary = ws.summary();
    assert_eq!(
        (summary[0]["Total"].as_str(), summary[0]["Failed"].as_str()),
        ("12", "0")
    );
    assert!(run.stdout.contains("ngram_repetition"), "{}", run.stdout);
    // Row-level output carries every signal and the component's bucket.
    let first: serde_json::Value = serde_json::from_str(
        ws.read("sample.heuristic_quality.jsonl")
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    for label in ["word_count", "stop_words", "duplication", "overall"] {
        let s = first["scores"][label].as_f64().unwrap();
        assert!((1.0..=3.0).contains(&s), "{label}: {s}");
    }
}

#[test]
fn edu_value_clamps_the_models_score_and_buckets_it_with_its_component() {
    // The model answers 9 on a 0-5 scale for the CJK row and 0 for everything else: the component
    // clamps 9 to 5 (Good) and buckets 0 as Poor.
    let server = FakeOpenAi::with_behaviour(|call| {
        let score = if call
            .user_content()
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        {
            9
        } else {
            0
        };
        Reply::Arguments(format!(
            r#"{{"justification": "as scored", "educational_value": {score}}}"#
        ))
    });
    let ws = Workspace::new();
    ws.run(
        Some(&server),
        &["summary", &fixture("sample.jsonl"), "text", "edu_value"],
    )
    .ok();
    let summary = &ws.summary()[0];
    assert_eq!(
        (summary["Total"].as_str(), summary["Skipped"].as_str()),
        ("11", "1"),
        "{summary:?}"
    );
    let good: f64 = summary["Good"].parse().unwrap();
    let poor: f64 = summary["Poor"].parse().unwrap();
    assert!(
        (good - 100.0 / 11.0).abs() < 0.01 && (poor - 1000.0 / 11.0).abs() < 0.01,
        "{summary:?}"
    );
    let means = ws.read("means.csv");
    let mean: f64 = means
        .lines()
        .find(|l| l.contains("educational_value"))
        .unwrap()
        .split(',')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (mean - 5.0 / 11.0).abs() < 1e-3,
        "clamped to 5, not 9: {mean}"
    );
}
