//! The JavaScript example lens (plugin-sdk/examples/js_edu), built with npm's componentize-js through
//! its JS API (`build.mjs`), loaded by the host and run on rows. Needs node and npm: it installs
//! `@bytecodealliance/componentize-js` into `<target>/js-toolchain` when it is not there yet, and
//! skips, saying so loudly, only when node or npm is missing.

mod component_support;

use component_support::{assert_edu_example_stages, example_copy, stages};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-js release the example and `lenses new --lang js` pin.
const COMPONENTIZE_JS: &str = "@bytecodealliance/componentize-js@0.23.0";

/// A folder whose `node_modules` holds componentize-js, installing it there if needed.
fn toolchain() -> Option<PathBuf> {
    for tool in ["node", "npm"] {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!(
                "\n\n*** SKIPPED: {tool} is not installed, so the JavaScript lens was not built or tested. Install Node.js 20+ and npm. ***\n"
            );
            return None;
        }
    }
    let dir = Path::new(env!("CLASSIFIED_TEST_GUESTS"))
        .ancestors()
        .nth(3)
        .unwrap()
        .join("js-toolchain");
    if !dir
        .join("node_modules/@bytecodealliance/componentize-js")
        .is_dir()
    {
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&dir)
            .arg(COMPONENTIZE_JS)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "npm install {COMPONENTIZE_JS} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Some(dir)
}

#[test]
fn javascript_example_lens_builds_and_rates_rows() {
    let Some(toolchain) = toolchain() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (_tmp, dir) = example_copy("js_edu");
    std::os::unix::fs::symlink(toolchain.join("node_modules"), dir.join("node_modules")).unwrap();
    let out = Command::new("node")
        .arg("build.mjs")
        .arg(root.join("wit/v0.1.0"))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "componentize-js failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let stages = stages(&dir).unwrap();
    assert_edu_example_stages(
        &*stages,
        &[(0.0, "Poor"), (2.0, "Low"), (3.0, "Medium"), (4.0, "Good")],
    );
    // Stages it does not implement run natively: preprocess chunks the text as usual.
    let prepared = stages
        .preprocess(
            3,
            &component_support::text(&"A sentence about plants. ".repeat(40)),
        )
        .unwrap();
    assert!(matches!(
        prepared,
        classified::pipeline::Prepared::Inputs(_)
    ));
}
