//! Hostile components: each misbehaving row fails alone, with the right kind and a plain sentence,
//! and the next row on the same lens succeeds.

mod component_support;

use classified::error::Error;
use classified::pipeline::{ChunkScores, Prepared, StageError, Stages};
use component_support::{guest, lens_folder, local_lens, overall_1_to_3, stages, text};
use serde_json::json;
use std::time::{Duration, Instant};

fn ok(stages: &dyn Stages, row: u64) -> ChunkScores {
    stages
        .score(row, &text("a normal row of text"))
        .unwrap_or_else(|e| panic!("row {row} should succeed: {e}"))
}

fn fails(stages: &dyn Stages, row: u64, input: &str) -> StageError {
    match stages.score(row, &text(input)) {
        Ok(scores) => panic!("row {row} ({input}) should fail, got {scores:?}"),
        Err(e) => e,
    }
}

#[test]
fn each_hostile_row_fails_alone_with_its_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(
        tmp.path(),
        "hostile",
        &guest("hostile_lens"),
        json!({"limits": {"time_ms": 300}}),
    );
    let stages = stages(&dir).unwrap();
    let stages = stages.as_ref();
    assert_eq!(ok(stages, 0).scores, vec![3.0]);

    let started = Instant::now();
    let e = fails(stages, 1, "loop");
    assert_eq!(e.kind.name(), "timeout", "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the loop ran {:?}",
        started.elapsed()
    );
    assert!(
        e.message.contains("time limit of 300 ms") && e.message.contains("time_ms"),
        "{}",
        e.message
    );
    // The next instance is fresh, but after a timeout it gets no first-call allowance.
    let started = Instant::now();
    assert_eq!(fails(stages, 2, "loop").kind.name(), "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the second loop ran {:?}",
        started.elapsed()
    );
    ok(stages, 2);

    let e = fails(stages, 3, "memory bomb");
    assert_eq!(e.kind.name(), "memory-limit", "{e}");
    assert!(
        e.message.contains("64 MiB") && e.message.contains("memory_mb"),
        "{}",
        e.message
    );
    ok(stages, 4);

    let e = fails(stages, 5, "panic");
    assert_eq!(e.kind.name(), "trap", "{e}");
    assert!(
        e.message.contains("the row asked for a panic"),
        "{}",
        e.message
    );
    assert!(e.message.contains("row 5"), "{}", e.message);
    ok(stages, 6);

    let e = fails(stages, 7, "open file");
    assert_eq!(e.kind.name(), "sandbox", "{e}");
    assert!(e.message.contains("a file"), "{}", e.message);
    ok(stages, 8);

    let e = fails(stages, 9, "socket");
    assert_eq!(e.kind.name(), "sandbox", "{e}");
    assert!(e.message.contains("the network"), "{}", e.message);
    ok(stages, 10);

    let e = fails(stages, 11, "refuse");
    assert_eq!(
        (
            e.kind.name(),
            e.message.ends_with("the row asked to be refused")
        ),
        ("plugin-error", true),
        "{e}"
    );
    let e = fails(stages, 12, "bad label");
    assert_eq!(e.kind.name(), "bad-output", "{e}");
    assert!(e.message.contains("no_such_label"), "{}", e.message);
    ok(stages, 13);
}

#[test]
fn output_over_the_limit_fails_the_row() {
    let tmp = tempfile::tempdir().unwrap();
    // Enough memory to build 100 MB, so that the output limit is what stops it.
    let dir = local_lens(
        tmp.path(),
        "big",
        &guest("hostile_lens"),
        json!({"limits": {"memory_mb": 512}}),
    );
    let stages = stages(&dir).unwrap();
    let e = fails(stages.as_ref(), 0, "big output");
    assert_eq!(e.kind.name(), "output-limit", "{e}");
    assert!(
        e.message.contains("100.0 MB")
            && e.message.contains("1024 KiB")
            && e.message.contains("output_kb"),
        "{}",
        e.message
    );
    ok(stages.as_ref(), 1);
}

#[test]
fn a_component_can_use_every_host_import() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(
        tmp.path(),
        "imports",
        &guest("hostile_lens"),
        json!({"marker": "from-config"}),
    );
    let stages = stages(&dir).unwrap();
    let scored = stages.score(0, &text("every import")).unwrap();
    // o200k: "hello", " world", ",", " hello", " tokens"
    assert_eq!(scored.scores, vec![5.0]);
    assert_eq!(
        scored.rationales,
        vec!["tokens=5 truncated=\"one two\" marker=\"from-config\"".to_string()]
    );

    // Logs, stdout and stderr reach the row's error.
    let e = stages.score(1, &text("log then refuse")).unwrap_err();
    assert!(e.log.contains("[warn] about to refuse"), "{:?}", e.log);
    assert!(
        e.log.contains("to stdout") && e.log.contains("to stderr"),
        "{:?}",
        e.log
    );
}

#[test]
fn a_component_built_for_another_wit_version_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(
        tmp.path(),
        "future",
        &guest("version_mismatch_lens"),
        json!({}),
    );
    let Err(Error::Component(message)) = stages(&dir) else {
        panic!("a 0.2.0 component must not load")
    };
    assert_eq!(
        message,
        "lens `future`: its component was built against classified:lens@0.2.0, but this classified supports \
         classified:lens@0.1.0; rebuild the lens with a classified-lens SDK for one of those, or update classified"
    );
}

#[test]
fn bytes_that_are_not_a_component_are_a_plain_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(tmp.path(), "junk", b"not wasm at all", json!({}));
    // Refused when the lens folder is read, without quoting the file.
    let message = classified::lens::load_dir(&dir).unwrap_err().to_string();
    assert!(
        message.starts_with("lens `junk`: lens.wasm: is not a compiled WebAssembly component"),
        "{message}"
    );
    assert!(!message.contains("not wasm at all"), "{message}");
}

#[test]
fn limits_above_the_host_maximum_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(
        tmp.path(),
        "greedy",
        &guest("hostile_lens"),
        json!({"limits": {"memory_mb": 100000}}),
    );
    let Err(Error::Component(message)) = stages(&dir) else {
        panic!("must not load")
    };
    assert!(
        message.contains("memory_mb must be a whole number from 1 to 4096"),
        "{message}"
    );
}

#[test]
fn a_second_load_uses_the_compiled_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(tmp.path(), "cached", &guest("hostile_lens"), json!({}));
    component_support::init();
    let lens = std::sync::Arc::new(classified::lens::load_dir(&dir).unwrap());
    let bpe = tiktoken_rs::o200k_base_singleton();
    classified::component::describe(&lens, bpe).unwrap();
    let again = classified::component::describe(&lens, bpe)
        .unwrap()
        .unwrap();
    assert_eq!(again.origin, classified::component::Origin::Cache);
}

#[test]
fn sleeping_counts_toward_the_time_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(
        tmp.path(),
        "sleepy",
        &guest("hostile_lens"),
        json!({"limits": {"time_ms": 300}}),
    );
    let stages = stages(&dir).unwrap();
    let stages = stages.as_ref();
    ok(stages, 0);
    // A short sleep fits in the limit and really waits.
    let started = Instant::now();
    assert_eq!(
        stages.score(1, &text("sleep ms 50")).unwrap().scores,
        vec![3.0]
    );
    assert!(started.elapsed() >= Duration::from_millis(50));
    for (row, ms) in [(2, 30_000u64), (3, 86_400_000)] {
        let started = Instant::now();
        let e = fails(stages, row, &format!("sleep ms {ms}"));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a {ms} ms sleep ran {:?}",
            started.elapsed()
        );
        assert_eq!(e.kind.name(), "timeout", "{e}");
        assert!(
            e.message.contains(&format!("it asked to sleep {ms} ms"))
                && e.message.contains("time limit of 300 ms")
                && e.message.contains("time_ms"),
            "{}",
            e.message
        );
        ok(stages, row + 10);
    }
    // The budget is per call: a sleep that fits is fine after those that did not.
    assert!(stages.score(4, &text("sleep ms 250")).is_ok());
}

#[test]
fn token_functions_on_huge_texts_stop_at_the_time_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(
        tmp.path(),
        "tokens",
        &guest("hostile_lens"),
        json!({"limits": {"time_ms": 100, "memory_mb": 256}}),
    );
    let stages = stages(&dir).unwrap();
    let stages = stages.as_ref();
    ok(stages, 0);
    for (row, what) in [(1, "count tokens MB 40"), (2, "truncate tokens MB 40")] {
        let started = Instant::now();
        let e = fails(stages, row, what);
        assert_eq!(e.kind.name(), "timeout", "{what}: {e}");
        assert!(
            e.message.contains("time limit of 100 ms"),
            "{what}: {}",
            e.message
        );
        // Building 40 MB in the guest takes a moment too; tokenizing it all would take seconds.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{what} ran {:?}",
            started.elapsed()
        );
        ok(stages, row + 10);
    }
}

#[test]
fn unsupported_is_an_answer_for_one_call_only() {
    let tmp = tempfile::tempdir().unwrap();
    // A local lens: an unsupported row fails (scoring has no native default); no other row does.
    let dir = local_lens(tmp.path(), "local", &guest("hostile_lens"), json!({}));
    let stages = stages(&dir).unwrap();
    for row in 0..20u64 {
        let input = if row % 3 == 0 { "unsupported" } else { "fine" };
        match stages.score(row, &text(input)) {
            Ok(scored) => assert!(row % 3 != 0, "row {row}: {scored:?}"),
            Err(e) => {
                assert_eq!(row % 3, 0, "row {row} failed: {e}");
                assert_eq!(e.kind.name(), "plugin-error");
                assert!(
                    e.message.contains("answered `unsupported` for this row"),
                    "{}",
                    e.message
                );
            }
        }
    }
    // A model lens: an unsupported preprocess falls back to the native one for that row only.
    let dir = lens_folder(
        tmp.path(),
        "model",
        "instruct",
        &guest("hostile_lens"),
        json!({}),
        overall_1_to_3(),
    );
    let stages = component_support::stages(&dir).unwrap();
    for row in 0..6u64 {
        let prepared = stages.preprocess(row, &text("fan out 3")).unwrap();
        assert!(
            matches!(&prepared, Prepared::Inputs(i) if i.len() == 3),
            "{prepared:?}"
        );
        let native = stages.preprocess(row, &text("plain text")).unwrap();
        assert_eq!(native, Prepared::Inputs(vec![text("plain text")]));
    }
}

#[test]
fn scores_must_be_what_function_json_allows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = lens_folder(
        tmp.path(),
        "ranged",
        "local",
        &guest("hostile_lens"),
        json!({}),
        overall_1_to_3(),
    );
    let stages = stages(&dir).unwrap();
    let stages = stages.as_ref();
    for (row, input, why) in [
        (
            0,
            "score 1e9",
            "score `overall` = 1000000000, above the maximum of 3",
        ),
        (
            1,
            "score -1e308",
            "score `overall` = -1e308, below the minimum of 1",
        ),
        (2, "score 2.5", "not the whole number"),
        (3, "score NaN", "not a finite number"),
        (4, "score inf", "not a finite number"),
        (
            5,
            "duplicate scores",
            "score \"overall\" more than once (10000 scores for 1 labels)",
        ),
    ] {
        let e = fails(stages, row, input);
        assert_eq!(e.kind.name(), "bad-output", "{input}: {e}");
        assert!(e.message.contains(why), "{input}: {}", e.message);
    }
    assert_eq!(stages.score(6, &text("score 2")).unwrap().scores, vec![2.0]);

    // The same checks on what a component's postprocess makes of a model's answer.
    let dir = lens_folder(
        tmp.path(),
        "post",
        "instruct",
        &guest("hostile_lens"),
        json!({}),
        overall_1_to_3(),
    );
    let stages = component_support::stages(&dir).unwrap();
    for (arguments, why) in [
        (r#"{"overall": 1e9}"#, "above the maximum of 3"),
        (r#"{"copies": 10000}"#, "more than once"),
    ] {
        let e = stages.postprocess(0, arguments).unwrap_err();
        assert_eq!(e.kind.name(), "bad-output", "{arguments}: {e}");
        assert!(e.message.contains(why), "{arguments}: {}", e.message);
    }
    assert_eq!(
        stages.postprocess(1, r#"{"overall": 3}"#).unwrap().scores,
        vec![3.0]
    );
}

#[test]
fn prompts_per_row_are_capped_and_the_cap_can_be_raised() {
    let tmp = tempfile::tempdir().unwrap();
    let lens = |name: &str, limits: serde_json::Value| {
        let dir = lens_folder(
            tmp.path(),
            name,
            "instruct",
            &guest("hostile_lens"),
            json!({"limits": limits}),
            overall_1_to_3(),
        );
        stages(&dir)
    };
    let stages = lens("default", json!({})).unwrap();
    let started = Instant::now();
    // 50,000 small prompts fit the 1 MiB output limit; the prompt cap is what stops them.
    let e = stages.preprocess(0, &text("fan out 50000")).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.kind.name(), "bad-output", "{e}");
    assert!(
        e.message
            .contains("50000 prompts for one row, more than its limit of 1000")
            && e.message.contains("\"prompts_per_row\"")
            && e.message.contains("at most 100000"),
        "{}",
        e.message
    );
    assert!(matches!(
        stages.preprocess(1, &text("fan out 1000")).unwrap(),
        Prepared::Inputs(i) if i.len() == 1000
    ));
    let raised = lens("raised", json!({"prompts_per_row": 5000})).unwrap();
    assert!(matches!(
        raised.preprocess(0, &text("fan out 5000")).unwrap(),
        Prepared::Inputs(i) if i.len() == 5000
    ));
    let Err(Error::Component(message)) = lens("greedy", json!({"prompts_per_row": 1_000_000}))
    else {
        panic!("a cap above the host maximum must be refused")
    };
    assert!(
        message.contains("prompts_per_row must be a whole number from 1 to 100000"),
        "{message}"
    );
}

#[test]
fn bucket_names_are_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let lens = |name: &str, n: u64| {
        let dir = local_lens(
            tmp.path(),
            name,
            &guest("hostile_lens"),
            json!({"hostile": {"bucket_names": n}}),
        );
        stages(&dir)
    };
    let started = Instant::now();
    let Err(Error::Component(message)) = lens("flood", 200_000) else {
        panic!("200,000 bucket names must be refused")
    };
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        message,
        "lens `flood`: its component declares 200000 bucket names; at most 64 are allowed"
    );
    let three = lens("three", 3).unwrap();
    assert_eq!(three.bucket_names(), ["b0", "b1", "b2"]);
    let scores = classified::pipeline::RowScores { scores: vec![3.0] };
    assert_eq!(three.bucket(0, &scores).unwrap(), "b0");
}

#[test]
fn printing_or_panicking_in_describe_never_panics_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    let noisy = local_lens(
        tmp.path(),
        "noisy",
        &guest("hostile_lens"),
        json!({"hostile": {"noisy_describe": true}}),
    );
    let panicky = local_lens(
        tmp.path(),
        "panicky",
        &guest("hostile_lens"),
        json!({"hostile": {"panic_in_describe": true}}),
    );
    // `summary` loads lenses on the async runtime's threads: guest stdio there used to panic with
    // "Cannot start a runtime from within a runtime".
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let stages = stages(&noisy).unwrap();
        ok(stages.as_ref(), 0);
        let Err(Error::Component(message)) = component_support::stages(&panicky) else {
            panic!("a describe that panics must not load")
        };
        assert!(
            message.starts_with(
                "lens `panicky`: its component failed when asked to describe itself: crashed"
            ) && message.contains("describe was asked to panic"),
            "{message}"
        );
    });
    // And on a current-thread runtime, as `lenses` commands may run.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let stages = stages(&noisy).unwrap();
        ok(stages.as_ref(), 0);
    });
}
