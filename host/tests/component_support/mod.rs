//! Shared by the `component_*` tests: test components (built by build.rs), throwaway lens folders,
//! and the stages of a lens.

#![allow(dead_code)]

use classified::component::stages_for;
use classified::error::Error;
use classified::lens::load_dir;
use classified::pipeline::{Inputs, RowScores, StageContext, Stages};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

/// Point the compiled-component cache at `target/guests/component-cache` (kept between runs, like a
/// user's cache), once per test binary.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let dir = Path::new(env!("CLASSIFIED_TEST_GUESTS")).join("../../component-cache");
        // SAFETY: runs once, before any test of this binary reads the environment (they all call init first).
        unsafe { std::env::set_var("CLASSIFIED_CACHE_DIR", dir) };
    });
}

/// A test component built by build.rs from `tests/guests/<crate>`.
pub fn guest(crate_name: &str) -> Vec<u8> {
    let path = Path::new(env!("CLASSIFIED_TEST_GUESTS")).join(format!("{crate_name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The function schema of the test lenses: one score `overall` and one rationale `note`.
pub fn overall_and_note() -> Value {
    json!({
        "name": "test",
        "parameters": {
            "type": "object",
            "properties": {"overall": {"type": "integer"}, "note": {"type": "string"}},
            "required": ["overall", "note"]
        }
    })
}

/// The same, with `overall` an integer from 1 to 3.
pub fn overall_1_to_3() -> Value {
    let mut function = overall_and_note();
    function["parameters"]["properties"]["overall"] =
        json!({"type": "integer", "minimum": 1, "maximum": 3});
    function
}

/// Write a local lens folder with this component and config extras (e.g. `"limits"`).
pub fn local_lens(root: &Path, name: &str, wasm: &[u8], extra_config: Value) -> PathBuf {
    lens_folder(root, name, "local", wasm, extra_config, overall_and_note())
}

/// Write a lens folder of `kind` ("local", "instruct", "pretrain") with this component, config
/// extras and function schema; model lenses get templates that use their one field `text`.
pub fn lens_folder(
    root: &Path,
    name: &str,
    kind: &str,
    wasm: &[u8],
    extra_config: Value,
    function: Value,
) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = json!({"input_fields": ["text"], "type": kind, "component": "lens.wasm"});
    if let (Some(config), Some(extra)) = (config.as_object_mut(), extra_config.as_object()) {
        config.extend(extra.clone());
    }
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("function.json"), function.to_string()).unwrap();
    std::fs::write(dir.join("lens.wasm"), wasm).unwrap();
    if kind != "local" {
        std::fs::write(dir.join("system.jinja"), "Rate the text.").unwrap();
        std::fs::write(dir.join("prompt.jinja"), "{{ text }}").unwrap();
    }
    dir
}

pub fn context(dir: &Path) -> StageContext {
    StageContext {
        lens: Arc::new(load_dir(dir).unwrap()),
        chunking: Default::default(),
        bpe: classified::pipeline::chunk::Tokenizer::lazy(tiktoken_rs::o200k_base_singleton),
    }
}

pub fn stages(dir: &Path) -> Result<Arc<dyn Stages>, Error> {
    init();
    stages_for(context(dir))
}

pub fn text(text: &str) -> Inputs {
    Inputs::from([("text".to_string(), text.to_string())])
}

/// The source files of the SDK example `plugin-sdk/examples/<name>` (not its built `lens.wasm`),
/// copied into a fresh folder `<name>` that lives as long as the returned guard.
pub fn example_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugin-sdk/examples")
        .join(name);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(&example).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().is_some_and(|n| n != "lens.wasm") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    (tmp, dir)
}

/// What the JS and Python `*_edu` examples must both do: round and trim a good answer, put each
/// of `buckets`' scores in its bucket, refuse a non-number as a plugin error, and go on after it.
#[track_caller]
pub fn assert_edu_example_stages(stages: &dyn Stages, buckets: &[(f64, &str)]) {
    let scored = stages
        .postprocess(
            0,
            r#"{"justification": " solid ", "educational_value": 4.4}"#,
        )
        .unwrap();
    assert_eq!(
        (scored.scores.clone(), scored.rationales.clone()),
        (vec![4.0], vec!["solid".to_string()])
    );
    for &(score, bucket) in buckets {
        assert_eq!(
            stages
                .bucket(
                    0,
                    &RowScores {
                        scores: vec![score]
                    }
                )
                .unwrap(),
            bucket
        );
    }
    let e = stages
        .postprocess(1, r#"{"educational_value": "lots"}"#)
        .unwrap_err();
    assert_eq!(e.kind.name(), "plugin-error", "{e}");
    assert!(
        e.message.contains("not a number from 0 to 5"),
        "{}",
        e.message
    );
    // The next row still works after an error.
    assert_eq!(
        stages
            .postprocess(2, r#"{"justification": "", "educational_value": 1}"#)
            .unwrap()
            .scores,
        vec![1.0]
    );
}
