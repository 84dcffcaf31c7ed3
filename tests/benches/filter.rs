//! `classified filter` on a ≥ 1 GB multi-file Parquet dataset with a model lens (trained here on
//! fake-server ratings, as `tests/tests/train.rs` does) and with the local `heuristic_quality` lens:
//! one process, then a 2-shard run (two processes side by side, then `merge`). Reports wall and
//! CPU seconds, MB of input per CPU-second ("per core") both as Parquet bytes on disk and as bytes
//! of text (what the classifier reads), peak RSS and output bytes; and, for the model lens, the
//! classifier alone on the same texts in this process, so the share of the filter's time the
//! classifier takes is measured, not guessed.
//!
//! Run: `cargo bench -p classified-tests --bench filter` (`FILTER_BENCH_BYTES` sets the dataset
//! size, default 1.05 GB on disk; it is written once to `target/filter-bench/` and reused;
//! `FILTER_BENCH_LENSES=model` or `=heuristic_quality` runs one lens only; `FILTER_BENCH_KEEP=1`
//! keeps the work folder, with the trained lens, to profile a run by hand).

use arrow_array::cast::AsArray;
use classified_tests::filter_data;
use classified_tests::openai::graded_arguments;
use classified_tests::{FakeOpenAi, Reply};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const FILES: usize = 8;
const ROWS_PER_BATCH: usize = 10_000;

/// Write `FILES` snappy Parquet files of typed rows (prose and some junk) until they hold `bytes`.
fn dataset(dir: &Path, bytes: u64) -> Vec<PathBuf> {
    let done = dir.join("complete");
    let files: Vec<PathBuf> = (0..FILES)
        .map(|f| dir.join(format!("part-{f:03}.parquet")))
        .collect();
    if done.exists() {
        return files;
    }
    std::fs::create_dir_all(dir).unwrap();
    let per_file = bytes / FILES as u64;
    let mut first = 0;
    for path in &files {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROWS_PER_BATCH))
            .build();
        let batch = filter_data::batch(0, 1, 0);
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(path).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        while (w.bytes_written() as u64) < per_file {
            w.write(&filter_data::batch(first, ROWS_PER_BATCH, first as u64))
                .unwrap();
            w.flush().unwrap();
            first += ROWS_PER_BATCH;
        }
        w.close().unwrap();
    }
    std::fs::write(&done, b"").unwrap();
    files
}

/// A process measured by `/usr/bin/time`: wall, user + sys seconds and peak RSS (KiB) on its last line.
fn timed(args: &[String], dir: &Path) -> Child {
    Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %U %S %M")
        .arg(env!("CARGO_BIN_EXE_classified-e2e"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// (wall s, CPU s, peak RSS MB) of a finished `timed` process.
fn measure(child: Child) -> (f64, f64, f64) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let last: Vec<f64> = stderr
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    (last[0], last[1] + last[2], last[3] / 1024.0)
}

/// Every row's `text`, in order.
fn texts(files: &[PathBuf]) -> Vec<String> {
    let mut texts = Vec::new();
    for file in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let column = batch.column_by_name("text").unwrap().as_string::<i32>();
            texts.extend(column.iter().map(|t| t.unwrap_or_default().to_string()));
        }
    }
    texts
}

/// MB of text per second the model lens's classifier alone scores on one thread: the lens's own
/// `Model::scores` over the first `sample` texts, best of three.
fn classifier_alone(folder: &Path, texts: &[String]) -> f64 {
    let lens = classified::lens::load_dir(folder).unwrap();
    let model = lens.model.unwrap().model;
    let sample = &texts[..texts.len().min(200_000)];
    let bytes: usize = sample.iter().map(String::len).sum();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let mut checksum = 0.0;
        for t in sample {
            checksum += model.scores(&[t.as_str()])[0];
        }
        std::hint::black_box(checksum);
        best = best.min(started.elapsed().as_secs_f64());
    }
    bytes as f64 / 1e6 / best
}

/// The bench's work folder: removed at the end, or kept.
enum Work {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Work {
    fn path(&self) -> &Path {
        match self {
            Work::Temp(t) => t.path(),
            Work::Kept(p) => p,
        }
    }
}

fn part_bytes(dir: &Path) -> u64 {
    filter_data::parts(dir, "part-")
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum()
}

/// A model lens trained on 400 rows the fake server graded (by their good and bad words): its folder.
fn model_lens(work: &Path) -> PathBuf {
    let server = FakeOpenAi::with_behaviour(|call| Reply::Arguments(graded_arguments(&call.body)));
    let rows = work.join("rated.jsonl");
    let lines: Vec<String> = filter_data::graded_texts(400, 1)
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string())
        .collect();
    std::fs::write(&rows, lines.join("\n")).unwrap();
    for command in ["summary", "train"] {
        let out = Command::new(env!("CARGO_BIN_EXE_classified-e2e"))
            .args([command, rows.to_str().unwrap(), "text", "textbook_quality"])
            .current_dir(work)
            .env("OPENAI_BASE_URL", server.base_url())
            .env("OPENAI_API_KEY", "sk-bench")
            .env("DATA_DIR", work.join("rated"))
            .env("DATABASE_URL", work.join("rated.sqlite"))
            .env_remove("LENS_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    work.join("lenses/textbook_quality_model")
}

fn main() {
    let bytes: u64 = std::env::var("FILTER_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_050_000_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filter-bench");
    let data = root.join(format!("web-{bytes}"));
    let started = Instant::now();
    let files = dataset(&data, bytes);
    let size: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    eprintln!(
        "dataset: {} files, {:.2} GB on disk (ready in {:.1} s)",
        files.len(),
        size as f64 / 1e9,
        started.elapsed().as_secs_f64()
    );
    let mb = size as f64 / 1e6;
    let texts = texts(&files);
    let text_mb = texts.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    eprintln!("{text_mb:.0} MB of text in {} rows", texts.len());
    let work = tempfile::tempdir_in(&root).unwrap();
    // `FILTER_BENCH_KEEP=1` leaves the work folder (the trained lens, the outputs) for profiling.
    let work = match std::env::var_os("FILTER_BENCH_KEEP") {
        Some(_) => Work::Kept(work.keep()),
        None => Work::Temp(work),
    };
    let only = std::env::var("FILTER_BENCH_LENSES").ok();
    let mut lenses: Vec<(String, String, &str)> = Vec::new();
    if only.as_deref().is_none_or(|l| l == "model") {
        let folder = model_lens(work.path());
        // The model lens's buckets, worst first, come from its training. The bench's prose has few
        // of the grader's good words, so its best bucket keeps almost nothing: keep the one below,
        // so writing the kept rows is measured too.
        let alone = classifier_alone(&folder, &texts);
        println!(
            "The model lens's classifier alone: {alone:.1} MB of text per second on one core, so \
             {:.1} CPU-seconds of any filter's time are the classifier's.\n",
            text_mb / alone
        );
        // Keeping the second-best bucket writes most rows back out; keeping the best writes
        // almost none, which shows what reading and scoring alone cost.
        for (label, bucket) in [("model", "second best"), ("model (keep the best)", "best")] {
            lenses.push((label.into(), folder.to_string_lossy().into_owned(), bucket));
        }
    }
    drop(texts);
    if only.as_deref().is_none_or(|l| l == "heuristic_quality") {
        lenses.push((
            "heuristic_quality".into(),
            "heuristic_quality".into(),
            "Good",
        ));
    }
    println!(
        "| lens | run | wall s | CPU s | rows/s | MB/s per core (Parquet) | MB/s per core (text) | peak RSS | output |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (label, lens, bucket)) in lenses.into_iter().enumerate() {
        let bucket = match bucket {
            "second best" => nth_best_bucket(&lens, work.path(), 2),
            "best" => nth_best_bucket(&lens, work.path(), 1),
            b => b.to_string(),
        };
        let args = |out: &Path, shard: Option<&str>| -> Vec<String> {
            let mut a: Vec<String> = [
                "filter",
                data.to_str().unwrap(),
                "text",
                &lens,
                "--out",
                out.to_str().unwrap(),
                "--min-bucket",
                &bucket,
                "--quiet",
            ]
            .map(String::from)
            .to_vec();
            if let Some(s) = shard {
                a.extend(["--shard".to_string(), s.to_string()]);
            }
            a
        };
        let one = work.path().join(format!("{i}-one"));
        let (wall, cpu, rss) = measure(timed(&args(&one, None), work.path()));
        let rows = rows_in(&one);
        println!(
            "| {label} | one process | {wall:.1} | {cpu:.1} | {:.0} | {:.1} | {:.1} | {rss:.0} MB | {:.1} MB ({} rows kept) |",
            rows / wall,
            mb / cpu,
            text_mb / cpu,
            part_bytes(&one) as f64 / 1e6,
            kept(&one)
        );

        let sharded = work.path().join(format!("{i}-sharded"));
        let children: Vec<Child> = ["0/2", "1/2"]
            .iter()
            .map(|s| timed(&args(&sharded, Some(s)), work.path()))
            .collect();
        let results: Vec<(f64, f64, f64)> = children.into_iter().map(measure).collect();
        let merged = Command::new(env!("CARGO_BIN_EXE_classified-e2e"))
            .args(["merge", sharded.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            merged.status.success(),
            "{}",
            String::from_utf8_lossy(&merged.stderr)
        );
        let wall = results.iter().map(|r| r.0).fold(0.0, f64::max);
        let cpu: f64 = results.iter().map(|r| r.1).sum();
        let rss = results.iter().map(|r| r.2).fold(0.0, f64::max);
        let same = std::fs::read(one.join("stats.json")).unwrap()
            == std::fs::read(sharded.join("stats.json")).unwrap();
        println!(
            "| {label} | 2 shards side by side | {wall:.1} | {cpu:.1} | {:.0} | {:.1} | {:.1} | {rss:.0} MB each at most | {:.1} MB (merged stats.json identical: {same}) |",
            rows / wall,
            mb / cpu,
            text_mb / cpu,
            part_bytes(&sharded) as f64 / 1e6
        );
    }
}

fn stats(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("stats.json")).unwrap()).unwrap()
}

fn rows_in(dir: &Path) -> f64 {
    stats(dir)["total"]["rows_in"].as_f64().unwrap()
}

fn kept(dir: &Path) -> u64 {
    stats(dir)["total"]["rows_kept"].as_u64().unwrap()
}

/// The `n`th best bucket of `lens`, from `stats.json` of a filter over the 400 rows it was
/// trained on.
fn nth_best_bucket(lens: &str, work: &Path, n: usize) -> String {
    let out = work.join("probe");
    let file = work.join("rated.jsonl");
    let run = Command::new(env!("CARGO_BIN_EXE_classified-e2e"))
        .args(["filter", file.to_str().unwrap(), "text", lens, "--out"])
        .arg(&out)
        .args(["--quiet", "--top", "1"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let buckets = stats(&out)["lens"]["buckets"].clone();
    let buckets = buckets.as_array().unwrap();
    buckets[buckets.len() - n].as_str().unwrap().to_string()
}
