//! `classified lenses new` writes a lens whose component builds and passes `lenses check` as generated;
//! `check` and `call` work on built-in lenses too.

mod component_support;

use classified::cli::lenses::{CallStage, Lang, LensesCommand};
use classified::commands::lenses::run;
use classified::lens::Catalog;
use std::path::Path;
use std::process::Command;

/// `lenses new` + build + `lenses check`, as a third party would, in an empty folder outside the
/// repository: the scaffold depends on `classified-lens = "0.1"` and is pointed at this checkout's SDK
/// with `[patch.crates-io]`, as the README shows.
#[test]
fn a_new_rust_lens_builds_outside_the_repository_and_passes_check() {
    component_support::init();
    let tmp = tempfile::tempdir().unwrap();
    let classified = env!("CARGO_BIN_EXE_classified");
    let out = Command::new(classified)
        .args(["lenses", "new", "my_lens"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("classified lenses check ./my_lens"),
        "{printed}"
    );
    let dir = tmp.path().join("my_lens");
    let manifest = dir.join("guest/Cargo.toml");
    let cargo_toml = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        cargo_toml.contains("classified-lens = \"0.1\""),
        "{cargo_toml}"
    );
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugin-sdk")
        .canonicalize()
        .unwrap();
    std::fs::write(
        &manifest,
        format!(
            "{cargo_toml}\n[patch.crates-io]\nclassified-lens = {{ path = {:?} }}\n",
            sdk.display().to_string()
        ),
    )
    .unwrap();

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
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .current_dir(tmp.path())
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

    // The printed path, the bare folder name and `.` inside the folder all check the new lens.
    for (args, cwd) in [
        (
            vec!["lenses", "check", "./my_lens"],
            tmp.path().to_path_buf(),
        ),
        (vec!["lenses", "check", "my_lens"], tmp.path().to_path_buf()),
        (vec!["lenses", "check", "."], dir.clone()),
    ] {
        let out = Command::new(classified)
            .args(&args)
            .current_dir(&cwd)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("lens `my_lens` passed its checks"),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let catalog = Catalog::default();
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

/// `lenses call` reads fields as `summary` reads a row: a null skips it, a number is an error.
#[test]
fn call_skips_a_null_field_and_refuses_a_number() {
    component_support::init();
    let call = |input: &str| {
        classified::commands::lenses::call_output(
            Catalog::default().get("heuristic_quality").unwrap(),
            CallStage::Score,
            input,
        )
    };
    assert_eq!(
        call(r#"{"text": null}"#).unwrap(),
        serde_json::json!({"skip": "null in field `text`"})
    );
    let e = call(r#"{"text": 42}"#).unwrap_err().to_string();
    assert_eq!(
        e,
        "--input field `text` holds a number, not text; give it a JSON string"
    );
    let scored = call(r#"{"text": "Plain words in a sentence."}"#).unwrap();
    assert!(scored["scores"].is_object(), "{scored}");
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
