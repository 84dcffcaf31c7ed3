//! The Python example lens (plugin-sdk/examples/python_edu), built with componentize-py and run.
//! Skips, saying why, when componentize-py is not installed (`pip install componentize-py==0.25.1`).

mod component_support;

use classified::pipeline::RowScores;
use component_support::{context, init};
use std::path::Path;
use std::process::Command;

#[test]
fn python_example_lens_builds_and_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if Command::new("componentize-py")
        .arg("--version")
        .output()
        .is_err()
    {
        println!(
            "skipped: componentize-py is not installed; run `pip install componentize-py==0.25.1`"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("python_edu");
    std::fs::create_dir(&dir).unwrap();
    let example = root.join("plugin-sdk/examples/python_edu");
    for entry in std::fs::read_dir(&example).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().is_some_and(|n| n != "lens.wasm") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let wit = root.join("wit/v0.1.0");
    let out = Command::new("componentize-py")
        .args(["-d"])
        .arg(&wit)
        .args(["-w", "lens", "componentize", "app", "-o", "lens.wasm"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "componentize-py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    init();
    let stages = classified::component::stages_for(context(&dir)).unwrap();
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
    assert_eq!(
        stages.bucket(0, &RowScores { scores: vec![2.0] }).unwrap(),
        "Low"
    );
    assert_eq!(
        stages.bucket(0, &RowScores { scores: vec![4.0] }).unwrap(),
        "Good"
    );

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
