//! Streaming a ≥ 1 GB Parquet dataset from the loopback Hub emulator: rows/s, peak RSS and bytes
//! read, for `--stream --max 1000` and for every row, under `--dry-run` (renders and counts
//! tokens, calls no model, so reading is what is measured, with the tokenizer).
//!
//! Run: `cargo bench -p classified-tests --bench hub_stream` (`HUB_BENCH_BYTES` sets the dataset
//! size, default 1.1 GB; the dataset is written once to `target/hub-bench/` and reused).

use classified_tests::hub::{HubEmulator, Repo, fixtures};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn main() {
    let bytes: u64 = std::env::var("HUB_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_100_000_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/hub-bench");
    let dir = root.join(format!("dataset-{bytes}"));
    let started = Instant::now();
    let files = fixtures::write_parquet_dataset(&dir, bytes, 8, 1000).expect("dataset written");
    let size: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    let rows: u64 = files.iter().map(|f| parquet_rows(f)).sum();
    eprintln!(
        "dataset: {} files, {:.2} GB, {rows} rows (ready in {:.1} s)",
        files.len(),
        size as f64 / 1e9,
        started.elapsed().as_secs_f64()
    );
    let hub = HubEmulator::start([Repo::from_folder("bench/big", &dir).expect("repo")]);

    println!("| run | rows | seconds | rows/s | peak RSS | bytes read | of dataset |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, extra, expected_rows) in [
        ("--stream --max 1000", vec!["--max", "1000"], 1000),
        ("--stream (every row)", vec![], rows),
    ] {
        let work = tempfile::tempdir().unwrap();
        let before = hub.bytes_served();
        let mut args = vec![
            "summary",
            "bench/big",
            "text",
            "textbook_quality",
            "--stream",
            "--dry-run",
        ];
        args.extend(extra);
        let start = Instant::now();
        // /usr/bin/time -f %M prints the peak resident set size in KiB on its last line.
        let out = Command::new("/usr/bin/time")
            .arg("-f")
            .arg("%M")
            .arg(env!("CARGO_BIN_EXE_classified-e2e"))
            .args(&args)
            .current_dir(work.path())
            .env("HF_ENDPOINT", hub.endpoint())
            .env("HF_HOME", work.path().join("hf"))
            .env("DATA_DIR", work.path().join("data"))
            .env_remove("HF_TOKEN")
            .output()
            .expect("runs /usr/bin/time");
        let seconds = start.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{label} failed:\n{stderr}");
        let rss_kib: f64 = stderr
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(f64::NAN);
        let read = hub.bytes_served() - before;
        println!(
            "| {label} | {expected_rows} | {seconds:.1} | {:.0} | {:.0} MB | {:.1} MB | {:.2}% |",
            expected_rows as f64 / seconds,
            rss_kib * 1024.0 / 1e6,
            read as f64 / 1e6,
            100.0 * read as f64 / size as f64
        );
    }
}

fn parquet_rows(path: &std::path::Path) -> u64 {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    parquet::file::reader::FileReader::metadata(&reader)
        .file_metadata()
        .num_rows() as u64
}
