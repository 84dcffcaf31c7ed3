//! Hostile components: each misbehaving row fails alone, with the right kind and a plain sentence,
//! and the next row on the same lens succeeds.

mod component_support;

use classified::error::Error;
use classified::pipeline::{ChunkScores, StageError, Stages};
use component_support::{guest, local_lens, stages, text};
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
    let Err(Error::Component(message)) = stages(&dir) else {
        panic!("junk must not load")
    };
    assert!(
        message.starts_with("lens `junk`: lens.wasm is not a WebAssembly component"),
        "{message}"
    );
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
