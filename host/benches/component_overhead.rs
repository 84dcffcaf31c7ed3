//! Per-row cost of a pipeline stage run natively, in a Rust, a Python and a JavaScript component, and
//! the heuristic_quality lens's throughput. Run: `cargo bench -p classified --bench component_overhead`
//! (the Python row needs `pip install componentize-py==0.25.1`, the JavaScript row node and
//! `npm install --prefix target/js-toolchain @bytecodealliance/componentize-js@0.23.0`; each is
//! skipped, saying why, without them).

use classified::component::stages_for;
use classified::lens::{Catalog, Lens, load_dir};
use classified::pipeline::{Inputs, Native, RowScores, StageContext, Stages};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ARGUMENTS: &str = r#"{"justification": "Clear explanation of photosynthesis with examples.", "educational_value": 4}"#;

fn context(lens: Lens) -> StageContext {
    StageContext {
        lens: Arc::new(lens),
        chunking: Default::default(),
        bpe: classified::pipeline::chunk::Tokenizer::lazy(tiktoken_rs::o200k_base_singleton),
    }
}

/// Mean time per call of `f` over enough calls to take about half a second (after a warm-up call).
fn per_call(mut f: impl FnMut(u64)) -> Duration {
    f(0);
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_millis(500) {
        for _ in 0..100 {
            f(n);
            n += 1;
        }
    }
    started.elapsed() / n as u32
}

fn row(name: &str, stages: &dyn Stages) {
    let post = per_call(|r| {
        stages.postprocess(r, ARGUMENTS).unwrap();
    });
    let bucket = per_call(|r| {
        stages.bucket(r, &RowScores { scores: vec![3.0] }).unwrap();
    });
    println!(
        "{name:<32} {:>12.2} {:>12.2}",
        post.as_secs_f64() * 1e6,
        bucket.as_secs_f64() * 1e6
    );
}

/// Build the Python example into a temporary folder, or say why not.
fn python_lens(tmp: &Path) -> Result<Lens, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let example = root.join("plugin-sdk/examples/python_edu");
    let dir = tmp.join("python_edu");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for file in [
        "app.py",
        "config.json",
        "function.json",
        "system.jinja",
        "prompt.jinja",
    ] {
        std::fs::copy(example.join(file), dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
    }
    let out = Command::new("componentize-py")
        .arg("-d")
        .arg(root.join("wit/v0.1.0"))
        .args(["-w", "lens", "componentize", "app", "-o", "lens.wasm"])
        .current_dir(&dir)
        .output()
        .map_err(|_| "componentize-py is not installed".to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    load_dir(&dir).map_err(|e| e.to_string())
}

/// Build the JavaScript example into a temporary folder with componentize-js, or say why not.
fn js_lens(tmp: &Path) -> Result<Lens, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let toolchain = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("js-toolchain/node_modules");
    if !toolchain.join("@bytecodealliance/componentize-js").is_dir() {
        return Err(format!(
            "componentize-js is not installed in {}",
            toolchain.display()
        ));
    }
    let example = root.join("plugin-sdk/examples/js_edu");
    let dir = tmp.join("js_edu");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for file in [
        "lens.js",
        "build.mjs",
        "package.json",
        "config.json",
        "function.json",
        "system.jinja",
        "prompt.jinja",
    ] {
        std::fs::copy(example.join(file), dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
    }
    std::os::unix::fs::symlink(&toolchain, dir.join("node_modules")).map_err(|e| e.to_string())?;
    let out = Command::new("node")
        .arg("build.mjs")
        .arg(root.join("wit/v0.1.0"))
        .current_dir(&dir)
        .output()
        .map_err(|_| "node is not installed".to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    load_dir(&dir).map_err(|e| e.to_string())
}

fn main() {
    let catalog = Catalog::default();
    let edu = catalog.get("edu_value").unwrap();
    let mut plain = edu.clone();
    plain.component = None;

    println!("per-row stage cost, microseconds (edu_value's postprocess and bucket)");
    println!(
        "{:<32} {:>12} {:>12}",
        "implementation", "postprocess", "bucket"
    );
    row("native (no component)", &Native(context(plain)));
    row(
        "Rust component (edu_value)",
        stages_for(context(edu)).unwrap().as_ref(),
    );
    let tmp = tempfile::tempdir().unwrap();
    match python_lens(tmp.path()) {
        Ok(lens) => row(
            "Python component (example)",
            stages_for(context(lens)).unwrap().as_ref(),
        ),
        Err(why) => println!("{:<28} skipped: {why}", "Python component (example)"),
    }
    match js_lens(tmp.path()) {
        Ok(lens) => row(
            "JavaScript component (example)",
            stages_for(context(lens)).unwrap().as_ref(),
        ),
        Err(why) => println!("{:<28} skipped: {why}", "JavaScript component (example)"),
    }

    // heuristic_quality throughput on prose-like rows of about 4 KB.
    let stages = stages_for(context(catalog.get("heuristic_quality").unwrap())).unwrap();
    let paragraph = "The printing press changed how ideas travelled. Before it, books were copied by hand, \
        which made them rare and expensive; afterwards a workshop could print hundreds of identical copies, \
        and scholars across Europe could argue over the same editions. ";
    let rows: Vec<Inputs> = (0..200)
        .map(|i| {
            Inputs::from([(
                "text".to_string(),
                format!("Document {i}.\n\n{}", paragraph.repeat(16)),
            )])
        })
        .collect();
    let bytes: usize = rows.iter().map(|r| r["text"].len()).sum();
    stages.score(0, &rows[0]).unwrap();
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(2) {
        for (i, r) in rows.iter().enumerate() {
            stages.score(i as u64, r).unwrap();
        }
        rounds += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "\nheuristic_quality: {:.1} MB/s ({:.0} rows/s, rows of {} bytes)",
        (bytes * rounds) as f64 / seconds / 1e6,
        (rows.len() * rounds) as f64 / seconds,
        bytes / rows.len()
    );
}
