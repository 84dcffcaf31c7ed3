//! The same 10-row dataset written in every supported format must read back identically.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use serde_json::json;

use super::arrow::tests::{write_file, write_stream};
use super::*;

struct Fixture {
    text: String,
    label: String,
    note: Option<String>,
    score: i64,
}

fn fixture() -> Vec<Fixture> {
    (0..10)
        .map(|i| Fixture {
            text: match i {
                3 => "line one\nline two, with \"quotes\"".to_string(),
                5 => "ünïcødé ✓ 🦀".to_string(),
                _ => format!("row {i}"),
            },
            label: if i % 2 == 0 {
                "even".into()
            } else {
                "odd".into()
            },
            note: (i % 3 != 0).then(|| format!("note {i}")),
            score: i * 10,
        })
        .collect()
}

fn record_batch(rows: &[Fixture]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "text",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.text.as_str()),
            )) as ArrayRef,
        ),
        (
            "label",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.label.as_str()),
            )),
        ),
        (
            "note",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.note.clone()).collect::<Vec<_>>(),
            )),
        ),
        (
            "score",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.score))),
        ),
    ])
    .unwrap()
}

fn json_rows(rows: &[Fixture]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| json!({"text": r.text, "label": r.label, "note": r.note, "score": r.score}))
        .collect()
}

/// Writes a `save_to_disk` Dataset folder with the rows split over `files` Arrow streams.
fn write_dataset_folder(dir: &Path, rows: &[Fixture], files: usize, split: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let batch = record_batch(rows);
    let per_file = rows.len().div_ceil(files);
    let mut data_files = Vec::new();
    for f in 0..files {
        let name = format!("data-{f:05}-of-{files:05}.arrow");
        let start = f * per_file;
        let len = per_file.min(rows.len() - start);
        // Two record batches per file, like datasets' writer_batch_size does.
        let first = len / 2;
        write_stream(
            &dir.join(&name),
            &[
                batch.slice(start, first),
                batch.slice(start + first, len - first),
            ],
        );
        data_files.push(json!({"filename": name}));
    }
    let state = json!({
        "_data_files": data_files,
        "_fingerprint": "0123456789abcdef",
        "_format_columns": null,
        "_format_kwargs": {},
        "_format_type": null,
        "_output_all_columns": false,
        "_split": split,
    });
    std::fs::write(
        dir.join("state.json"),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
    let info = json!({"citation": "", "description": "", "features": {
        "text": {"dtype": "string", "_type": "Value"},
        "label": {"dtype": "string", "_type": "Value"},
        "note": {"dtype": "string", "_type": "Value"},
        "score": {"dtype": "int64", "_type": "Value"},
    }, "homepage": "", "license": ""});
    std::fs::write(dir.join("dataset_info.json"), info.to_string()).unwrap();
}

fn write_dict_folder(dir: &Path, splits: &[(&str, &[Fixture])]) {
    std::fs::create_dir_all(dir).unwrap();
    let names: Vec<&str> = splits.iter().map(|(n, _)| *n).collect();
    std::fs::write(
        dir.join("dataset_dict.json"),
        json!({ "splits": names }).to_string(),
    )
    .unwrap();
    for (name, rows) in splits {
        write_dataset_folder(&dir.join(name), rows, 1, name);
    }
}

/// Every format, keyed by a short label.
fn write_all(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let rows = fixture();
    let batch = record_batch(&rows);
    let mut out = Vec::new();

    let path = dir.join("data.jsonl");
    let lines: Vec<String> = json_rows(&rows).iter().map(|v| v.to_string()).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    out.push(("jsonl", path));

    let path = dir.join("data.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&json_rows(&rows)).unwrap(),
    )
    .unwrap();
    out.push(("json", path));

    let path = dir.join("lines.json");
    let lines: Vec<String> = json_rows(&rows).iter().map(|v| v.to_string()).collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    out.push(("json-lines", path));

    let path = dir.join("data.csv");
    let mut w = ::csv::Writer::from_path(&path).unwrap();
    w.write_record(["text", "label", "score"]).unwrap();
    for r in &rows {
        w.write_record([r.text.as_str(), r.label.as_str(), &r.score.to_string()])
            .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("\"line one\nline two")
    );
    out.push(("csv", path));

    let path = dir.join("data.parquet");
    {
        let props = ::parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(3))
            .build();
        let mut w = ::parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    out.push(("parquet", path));

    let batches = [batch.slice(0, 4), batch.slice(4, 4), batch.slice(8, 2)];
    let path = dir.join("file.arrow");
    write_file(&path, &batches);
    out.push(("ipc-file", path));
    let path = dir.join("stream.ipc");
    write_stream(&path, &batches);
    out.push(("ipc-stream", path));

    let path = dir.join("saved_dataset");
    write_dataset_folder(&path, &rows, 2, "train");
    out.push(("save_to_disk", path));

    let path = dir.join("saved_dict");
    let test_rows: Vec<Fixture> = (0..4)
        .map(|i| Fixture {
            text: format!("test {i}"),
            label: "t".into(),
            note: None,
            score: i,
        })
        .collect();
    write_dict_folder(&path, &[("train", &rows), ("test", &test_rows)]);
    out.push(("dataset_dict", path));
    out
}

/// Column names as the owned strings `OpenOptions` borrows.
pub(super) fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Options that read every row of `columns` from the default split.
pub(super) fn every_row(columns: &[String]) -> OpenOptions<'_> {
    OpenOptions {
        columns,
        split: None,
        sample: Sample::All,
    }
}

/// Each row of `path` as read, or the error of that row: the per-format tests check errors row by row.
pub(super) fn row_results(
    path: &Path,
    columns: &[&str],
    sample: Sample,
) -> Vec<Result<Row, DataError>> {
    let columns = cols(columns);
    let opts = OpenOptions {
        sample,
        ..every_row(&columns)
    };
    open(path, &opts).unwrap().rows.collect()
}

/// The rows of `path`, every one of which must read without an error.
pub(super) fn ok_rows(path: &Path, columns: &[&str]) -> Vec<Row> {
    row_results(path, columns, Sample::All)
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// A file `name` holding `contents` in a new temporary folder, which lives as long as the returned guard.
pub(super) fn temp_file(name: &str, contents: impl AsRef<[u8]>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

fn read(
    path: &Path,
    columns: &[String],
    split: Option<&str>,
    sample: Sample,
) -> (Option<u64>, Vec<Row>) {
    let ds = open(
        path,
        &OpenOptions {
            columns,
            split,
            sample,
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = ds
        .rows
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (ds.total_rows, rows)
}

fn expected(indices: impl IntoIterator<Item = u64>) -> Vec<Row> {
    let rows = fixture();
    indices
        .into_iter()
        .map(|i| Row {
            index: i,
            values: vec![
                Some(rows[i as usize].text.clone()),
                Some(rows[i as usize].label.clone()),
            ],
        })
        .collect()
}

#[test]
fn every_format_yields_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let columns = cols(&["text", "label"]);
    for (format, path) in write_all(dir.path()) {
        let (total, rows) = read(&path, &columns, None, Sample::All);
        assert_eq!(rows, expected(0..10), "{format}");
        assert_eq!(total, Some(10), "{format}");
        assert_eq!(
            open(&path, &every_row(&columns)).unwrap().name,
            path.file_name().unwrap().to_str().unwrap()
        );
    }
}

#[test]
fn sampling_picks_the_same_rows_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let columns = cols(&["label", "text"]);
    let formats = write_all(dir.path());
    let mut samples = Vec::new();
    for seed in [1u64, 2, 3] {
        let indices = sample_indices(10, 4, seed);
        assert_eq!(indices.len(), 4);
        for (format, path) in &formats {
            let (total, rows) = read(path, &columns, None, Sample::Random { n: 4, seed });
            assert_eq!(total, Some(4), "{format}");
            let mut want = expected(indices.iter().copied());
            for row in &mut want {
                row.values.reverse();
            }
            assert_eq!(rows, want, "{format} seed {seed}");
        }
        samples.push(indices);
    }
    assert!(
        samples[0] != samples[1] || samples[1] != samples[2],
        "different seeds give different samples"
    );

    // More rows asked for than exist: everything, in order, no error.
    for (format, path) in &formats {
        let (total, rows) = read(
            path,
            &cols(&["text", "label"]),
            None,
            Sample::Random { n: 50, seed: 4 },
        );
        assert_eq!(total, Some(10), "{format}");
        assert_eq!(rows, expected(0..10), "{format}");
        let (total, rows) = read(
            path,
            &cols(&["text"]),
            None,
            Sample::Random { n: 0, seed: 4 },
        );
        assert_eq!((total, rows.len()), (Some(0), 0), "{format}");
    }
}

#[test]
fn no_columns_still_yields_row_indices() {
    let dir = tempfile::tempdir().unwrap();
    for (format, path) in write_all(dir.path()) {
        let (_, rows) = read(&path, &[], None, Sample::Random { n: 3, seed: 8 });
        let indices: Vec<u64> = rows.iter().map(|r| r.index).collect();
        assert_eq!(indices, sample_indices(10, 3, 8), "{format}");
        assert!(rows.iter().all(|r| r.values.is_empty()), "{format}");
    }
}

#[test]
fn missing_column_lists_the_existing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let columns = cols(&["text", "body"]);
    for (format, path) in write_all(dir.path()) {
        let err = open(&path, &every_row(&columns)).unwrap_err();
        assert!(
            matches!(err, DataError::MissingColumn { .. }),
            "{format}: {err}"
        );
        let msg = err.to_string();
        let listed = if format == "csv" {
            "the available columns are \"text\", \"label\", \"score\""
        } else {
            "the available columns are \"text\", \"label\", \"note\", \"score\""
        };
        assert!(
            msg.starts_with("column \"body\" does not exist in "),
            "{format}: {msg}"
        );
        assert!(
            msg.contains(path.file_name().unwrap().to_str().unwrap()),
            "{format}: {msg}"
        );
        assert!(msg.ends_with(listed), "{format}: {msg}");
    }
}

#[test]
fn non_text_values_are_errors_naming_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let columns = cols(&["text", "score"]);
    for (format, path) in write_all(dir.path()) {
        let opened = open(&path, &every_row(&columns));
        match format {
            "csv" => {
                let rows: Vec<Row> = opened.unwrap().rows.map(Result::unwrap).collect();
                assert_eq!(rows[2].values[1].as_deref(), Some("20"));
            }
            "jsonl" | "json" | "json-lines" => {
                let mut rows = opened.unwrap().rows;
                let msg = rows.next().unwrap().unwrap_err().to_string();
                assert_eq!(
                    msg, "row 0, column \"score\" holds a number, not text; choose a text column",
                    "{format}"
                );
                let msg = rows.nth(6).unwrap().unwrap_err().to_string();
                assert!(
                    msg.starts_with("row 7, column \"score\""),
                    "{format}: {msg}"
                );
            }
            _ => {
                let msg = opened.unwrap_err().to_string();
                assert!(msg.starts_with("column \"score\" in "), "{format}: {msg}");
                assert!(
                    msg.ends_with("has type Int64, not text; choose a text column"),
                    "{format}: {msg}"
                );
            }
        }
    }
}

#[test]
fn nulls_are_none() {
    let dir = tempfile::tempdir().unwrap();
    let columns = cols(&["note"]);
    let want: Vec<Option<String>> = fixture().into_iter().map(|f| f.note).collect();
    for (format, path) in write_all(dir.path()) {
        if format == "csv" {
            continue;
        }
        let (_, rows) = read(&path, &columns, None, Sample::All);
        let notes: Vec<Option<String>> = rows.into_iter().map(|mut r| r.values.remove(0)).collect();
        assert_eq!(notes, want, "{format}");
    }
}

#[test]
fn splits_of_a_dataset_dict() {
    let dir = tempfile::tempdir().unwrap();
    let formats = write_all(dir.path());
    let dict = &formats
        .iter()
        .find(|(f, _)| *f == "dataset_dict")
        .unwrap()
        .1;
    let columns = cols(&["text"]);

    let (total, rows) = read(dict, &columns, Some("test"), Sample::All);
    assert_eq!(total, Some(4));
    let texts: Vec<String> = rows
        .into_iter()
        .map(|r| r.values[0].clone().unwrap())
        .collect();
    assert_eq!(texts, ["test 0", "test 1", "test 2", "test 3"]);

    let err = open(
        dict,
        &OpenOptions {
            split: Some("validation"),
            ..every_row(&columns)
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "split \"validation\" does not exist in {}; the available splits are \"train\", \"test\"",
            dict.display()
        )
    );

    // Without "train", a single split is the default; several are an error.
    let rows = fixture();
    let only = dir.path().join("only_valid");
    write_dict_folder(&only, &[("validation", &rows[..2])]);
    assert_eq!(read(&only, &columns, None, Sample::All).1.len(), 2);
    let several = dir.path().join("several");
    write_dict_folder(&several, &[("a", &rows[..2]), ("b", &rows[..3])]);
    let err = open(&several, &every_row(&columns)).unwrap_err();
    assert!(matches!(err, DataError::NoDefaultSplit { .. }), "{err}");
    assert!(err.to_string().contains("\"a\", \"b\""), "{err}");

    // A single Dataset folder knows its own split.
    let single = &formats
        .iter()
        .find(|(f, _)| *f == "save_to_disk")
        .unwrap()
        .1;
    assert_eq!(
        read(single, &columns, Some("train"), Sample::All).1.len(),
        10
    );
    let err = open(
        single,
        &OpenOptions {
            split: Some("test"),
            ..every_row(&columns)
        },
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("the available splits are \"train\""),
        "{err}"
    );
}

#[test]
fn save_to_disk_problems() {
    let dir = tempfile::tempdir().unwrap();
    let columns = cols(&["text"]);
    let opts = every_row(&columns);

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = open(&empty, &opts).unwrap_err().to_string();
    assert!(
        err.contains("neither dataset_dict.json nor state.json"),
        "{err}"
    );

    let folder = dir.path().join("ds");
    write_dataset_folder(&folder, &fixture(), 2, "train");
    std::fs::remove_file(folder.join("data-00001-of-00002.arrow")).unwrap();
    let err = open(&folder, &opts).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
    assert!(
        err.to_string().contains("data-00001-of-00002.arrow"),
        "{err}"
    );

    std::fs::write(
        folder.join("state.json"),
        r#"{"_data_files": [{"filename": "../x.arrow"}]}"#,
    )
    .unwrap();
    let err = open(&folder, &opts).unwrap_err().to_string();
    assert!(err.contains("not a plain file name"), "{err}");
    std::fs::write(folder.join("state.json"), r#"{"files": []}"#).unwrap();
    let err = open(&folder, &opts).unwrap_err().to_string();
    assert!(
        err.contains("state.json is not a valid datasets.save_to_disk metadata file"),
        "{err}"
    );
}

#[test]
fn unknown_extension_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let columns = cols(&["text"]);
    let opts = every_row(&columns);

    let path = dir.path().join("data.xml");
    std::fs::write(&path, "hello").unwrap();
    let err = open(&path, &opts).unwrap_err();
    assert!(matches!(err, DataError::UnsupportedFormat { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("data.xml") && msg.contains(".jsonl") && msg.contains(".parquet"),
        "{msg}"
    );

    let path = dir.path().join("nope.jsonl");
    let err = open(&path, &opts).unwrap_err();
    assert!(
        matches!(&err, DataError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound)
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("cannot read {}: ", path.display())),
        "{msg}"
    );
    assert!(msg.contains("No such file"), "{msg}");
}
