//! Builds the WebAssembly guests from source for wasm32-wasip2, like wasmtime's test-programs do:
//! the built-in lenses' components (embedded by `src/component/builtin.rs`) and, when the repository's
//! `tests/guests/` is present, the hostile test components the integration tests load.
//!
//! Each guest is its own cargo workspace, built by a nested `cargo build` into `target/guests` — a
//! separate target directory, because this build holds the lock on its own. Nested output is shown
//! only when it fails; a first build is quiet for a minute or so.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// (output name, guest crate folder relative to the repository root, crate name as in the .wasm file).
const LENSES: &[(&str, &str, &str)] = &[
    (
        "heuristic_quality",
        "lenses/heuristic_quality/guest",
        "heuristic_quality_lens",
    ),
    ("edu_value", "lenses/edu_value/guest", "edu_value_lens"),
];

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("..")
        .canonicalize()
        .unwrap();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("guests"),
        None => root.join("target/guests"),
    };
    check_target_installed();
    println!("cargo:rerun-if-changed=build.rs");

    for (name, folder, crate_name) in LENSES {
        build(&root.join(folder), &target_dir);
        copy(
            &target_dir,
            crate_name,
            &out_dir.join(format!("{name}.wasm")),
        );
    }

    // Test guests: one workspace, built only where the repository's tests are.
    let tests = root.join("tests/guests");
    if tests.join("Cargo.toml").is_file() {
        build(&tests, &target_dir);
        println!(
            "cargo:rustc-env=CLASSIFIED_TEST_GUESTS={}",
            release_dir(&target_dir).display()
        );
    }

    // Rebuild when a guest's sources (or the SDK and WIT they use) change: cargo's dep-info lists them.
    for entry in std::fs::read_dir(release_dir(&target_dir))
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "d") {
            rerun_if_changed_from_dep_info(&path, &root, &target_dir);
        }
    }
}

fn release_dir(target_dir: &Path) -> PathBuf {
    target_dir.join(TARGET).join("release")
}

/// Fail early with the fix when the wasm target is missing (rustup installs it from rust-toolchain.toml
/// on most machines, but not where `RUSTUP_AUTO_INSTALL=0`).
fn check_target_installed() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output();
    let installed = match libdir {
        Ok(out) if out.status.success() => {
            Path::new(String::from_utf8_lossy(&out.stdout).trim()).is_dir()
        }
        _ => false,
    };
    if !installed {
        panic!(
            "\n\nThe Rust target {TARGET} is not installed; the built-in lens components are built for it. \
             Run `rustup target add {TARGET}` and build again.\n\n"
        );
    }
}

/// `cargo build --release --target wasm32-wasip2` in `guest` (a folder with a Cargo.toml).
fn build(guest: &Path, target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(guest.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir);
    // The outer build's flags are for the host: in a wasm link they break it.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {}: {e}", guest.display()));
    if !out.status.success() {
        panic!(
            "building the WebAssembly guest in {} failed:\n{}",
            guest.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "cargo:rerun-if-changed={}",
        guest.join("Cargo.toml").display()
    );
}

/// Emit `rerun-if-changed` for every file in a cargo `.d` file that is in this repository (registry
/// sources never change under a version).
fn rerun_if_changed_from_dep_info(dep_info: &Path, root: &Path, target_dir: &Path) {
    let Ok(text) = std::fs::read_to_string(dep_info) else {
        return;
    };
    let Some((_, deps)) = text.split_once(": ") else {
        return;
    };
    let deps = deps.replace("\\ ", "\u{0}");
    for dep in deps.split_whitespace().map(|d| d.replace('\u{0}', " ")) {
        let dep = Path::new(&dep);
        if dep.starts_with(root) && !dep.starts_with(target_dir) {
            println!("cargo:rerun-if-changed={}", dep.display());
        }
    }
}

fn copy(target_dir: &Path, crate_name: &str, to: &Path) {
    let from = release_dir(target_dir).join(format!("{crate_name}.wasm"));
    std::fs::copy(&from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
}
