//! The Python example lens (plugin-sdk/examples/python_edu), built with componentize-py and run.
//! Skips, saying why, when componentize-py is not installed (`pip install componentize-py==0.25.1`).

mod component_support;

use component_support::{assert_edu_example_stages, example_copy, stages};
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
    let (_tmp, dir) = example_copy("python_edu");
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

    let stages = stages(&dir).unwrap();
    assert_edu_example_stages(&*stages, &[(2.0, "Low"), (4.0, "Good")]);
}
