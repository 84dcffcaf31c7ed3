//! `classified lenses new` writes a lens whose component builds and passes `lenses check` as generated;
//! `check` and `call` work on built-in lenses too.

mod component_support;

use classified::lens::Catalog;
use classified::lens_cmd::{CallStage, Lang, LensesCommand, run};
use std::path::Path;
use std::process::Command;

#[test]
fn a_new_rust_lens_builds_and_passes_check() {
    component_support::init();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my_lens");
    let catalog = Catalog::default();
    run(
        LensesCommand::New {
            name: dir.clone(),
            lang: Lang::Rust,
        },
        &catalog,
    )
    .unwrap();
    assert!(dir.join("guest/src/lib.rs").is_file() && dir.join("fixtures/rows.jsonl").is_file());

    // Build it as its README says, with the guests' target dir so the SDK is not rebuilt.
    let target = Path::new(env!("CLASSIFIED_TEST_GUESTS"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf();
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(dir.join("guest/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the scaffold does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::copy(
        target.join("wasm32-wasip2/release/my_lens_lens.wasm"),
        dir.join("lens.wasm"),
    )
    .unwrap();

    run(
        LensesCommand::Check {
            lens: dir.display().to_string(),
        },
        &catalog,
    )
    .unwrap();
    run(
        LensesCommand::Call {
            lens: dir.display().to_string(),
            stage: CallStage::Score,
            input: r#"{"text": "one two three four"}"#.into(),
        },
        &catalog,
    )
    .unwrap();
}

#[test]
fn a_new_lens_refuses_an_existing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let existing = tmp.path().join("taken");
    std::fs::create_dir(&existing).unwrap();
    let e = run(
        LensesCommand::New {
            name: existing,
            lang: Lang::Python,
        },
        &Catalog::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
}

#[test]
fn a_new_python_lens_has_the_wit_it_builds_against() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("py_lens");
    run(
        LensesCommand::New {
            name: dir.clone(),
            lang: Lang::Python,
        },
        &Catalog::default(),
    )
    .unwrap();
    let wit = std::fs::read_to_string(dir.join("wit/lens.wit")).unwrap();
    assert!(wit.contains("package classified:lens@0.1.0;"));
    assert!(
        std::fs::read_to_string(dir.join("app.py"))
            .unwrap()
            .contains("class Stages(exports.Stages)")
    );
}

#[test]
fn builtin_lenses_list_show_and_call() {
    component_support::init();
    let catalog = Catalog::default();
    run(LensesCommand::List, &catalog).unwrap();
    run(
        LensesCommand::Show {
            name: "heuristic_quality".into(),
        },
        &catalog,
    )
    .unwrap();
    run(
        LensesCommand::Check {
            lens: "edu_value".into(),
        },
        &catalog,
    )
    .unwrap();
    let call = |stage, input: &str| {
        run(
            LensesCommand::Call {
                lens: "edu_value".into(),
                stage,
                input: input.into(),
            },
            &catalog,
        )
    };
    call(
        CallStage::Postprocess,
        r#"{"justification": "ok", "educational_value": 3}"#,
    )
    .unwrap();
    call(CallStage::Bucket, r#"{"educational_value": 4}"#).unwrap();
    let e = call(CallStage::Postprocess, r#"{"educational_value": "none"}"#).unwrap_err();
    assert!(e.to_string().contains("plugin-error"), "{e}");
}
