//! `classified filter` with a component that misbehaves on some rows: each such row fails (or is
//! skipped) alone, is counted by kind, and lands in the rejected output with its reason, while the
//! rows around it, rated at the same time on every component thread, are kept in input order.

mod component_support;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use component_support::{guest, local_lens};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// Every batch of the part files `part-*.parquet` directly in `dir`, in name order.
fn parts(dir: &Path) -> Vec<RecordBatch> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap())
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
        })
        .collect()
}

/// `classified filter` of the JSON Lines `lines` (written into `dir`) by `lens` into `out`, keeping
/// every rated row, with `flags`.
fn filter(dir: &Path, lines: &[String], lens: &Path, out: &Path, flags: &[&str]) -> Command {
    let rows = dir.join("rows.jsonl");
    std::fs::write(&rows, lines.join("\n")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_classified"));
    command
        .arg("filter")
        .arg(&rows)
        .arg("text")
        .arg(lens)
        .arg("--out")
        .arg(out)
        .args(["--min", "overall=0", "--quiet"])
        .args(flags);
    command
}

/// Column `name` of every batch, as optional strings.
fn strings(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let column = b.column_by_name(name).unwrap().as_string::<i32>().clone();
            (0..column.len())
                .map(move |i| column.is_valid(i).then(|| column.value(i).to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn misbehaving_rows_fail_alone_and_are_counted_and_written_with_their_reason() {
    component_support::init();
    let tmp = tempfile::tempdir().unwrap();
    let lens = local_lens(tmp.path(), "hostile", &guest("hostile_lens"), json!({}));
    // 3,000 rows over several record batches; the bad ones are spread through them.
    let bad = |i: usize| match i % 500 {
        7 => Some(Value::from("panic")),
        123 => Some(Value::from("refuse")),
        250 => Some(Value::from("bad label")),
        499 => Some(Value::Null),
        _ => None,
    };
    let lines: Vec<String> = (0..3000)
        .map(|i| {
            let text = bad(i).unwrap_or_else(|| Value::from(format!("row {i} is fine")));
            json!({"id": i, "text": text}).to_string()
        })
        .collect();
    let out = tmp.path().join("out");
    let run = filter(tmp.path(), &lines, &lens, &out, &["--write-rejected"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let stats: Value =
        serde_json::from_slice(&std::fs::read(out.join("stats.json")).unwrap()).unwrap();
    let total = &stats["total"];
    assert_eq!(total["rows_in"], 3000, "{total}");
    assert_eq!(total["rows_failed"], 18, "{total}");
    assert_eq!(total["rows_skipped"], 6, "{total}");
    assert_eq!(total["rows_kept"], 3000 - 24, "{total}");

    let kept = parts(&out);
    let kept_ids: Vec<i64> = kept
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_primitive::<arrow_array::types::Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    let want: Vec<i64> = (0..3000)
        .filter(|&i| bad(i).is_none())
        .map(|i| i as i64)
        .collect();
    assert_eq!(kept_ids, want, "kept rows, in input order");

    let rejected = parts(&out.join("rejected"));
    let texts = strings(&rejected, "text");
    let status = strings(&rejected, "status");
    let reason = strings(&rejected, "reason");
    assert_eq!(texts.len(), 24);
    for ((text, status), reason) in texts.iter().zip(&status).zip(&reason) {
        let (status, reason) = (status.as_deref().unwrap(), reason.as_deref().unwrap());
        match text.as_deref() {
            None => assert_eq!((status, reason), ("skipped", "null in column `text`")),
            Some("panic") => {
                assert_eq!(status, "failed");
                assert!(reason.contains("panic"), "{reason}");
            }
            Some("refuse") => {
                assert_eq!(status, "failed");
                assert!(reason.contains("the row asked to be refused"), "{reason}");
            }
            Some("bad label") => {
                assert_eq!(status, "failed");
                assert!(reason.contains("no_such_label"), "{reason}");
            }
            other => panic!("{other:?} was rejected: {status} {reason}"),
        }
    }
}

/// Ctrl-C during the in-place pass of a local lens stops `filter` with exit code 130, as it stops a
/// run, and leaves no part or stats published.
#[test]
fn ctrl_c_stops_a_local_lens_filter_with_130_and_publishes_nothing() {
    component_support::init();
    let tmp = tempfile::tempdir().unwrap();
    let lens = local_lens(tmp.path(), "spinner", &guest("hostile_lens"), json!({}));
    // Rows that each spin for a while: the pass takes far longer than the test waits.
    let lines: Vec<String> = (0..20_000)
        .map(|i| json!({"id": i, "text": "spin 1"}).to_string())
        .collect();
    let out = tmp.path().join("out");
    let mut child = filter(tmp.path(), &lines, &lens, &out, &["--part-mb", "0.001"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The pass is running once its first part is being written (tiny parts, so soon).
    let started = std::time::Instant::now();
    let writing = || {
        std::fs::read_dir(&out)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().contains("part-"))
            })
            .unwrap_or(false)
    };
    while !writing() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "filter never started writing"
        );
        assert!(child.try_wait().unwrap().is_none(), "filter ended early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    eprintln!("writing after {:?}", started.elapsed());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let sent = std::time::Instant::now();
    let out_put = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out_put.stderr);
    assert_eq!(out_put.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    eprintln!("stopped {:?} after Ctrl-C", sent.elapsed());
    assert!(
        sent.elapsed() < std::time::Duration::from_secs(10),
        "it took {:?} to stop",
        sent.elapsed()
    );
    assert!(!out.join("stats.json").exists());
}
