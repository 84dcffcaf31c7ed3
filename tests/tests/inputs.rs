//! Every local format gives the same ratings, and bad input gets one clear sentence.

mod support;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use classified_tests::FakeOpenAi;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::{Run, Workspace, fixture, instruct_args, summary_args};

fn read_jsonl(path: &Path) -> Vec<serde_json::Map<String, Value>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap()
                .as_object()
                .unwrap()
                .clone()
        })
        .collect()
}

/// The rows of a JSONL fixture as one Arrow batch of text columns.
fn batch(path: &Path) -> RecordBatch {
    let rows = read_jsonl(path);
    let names: Vec<String> = rows[0].keys().cloned().collect();
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns = names
        .iter()
        .map(|n| {
            Arc::new(
                rows.iter()
                    .map(|r| r[n].as_str().map(str::to_string))
                    .collect::<StringArray>(),
            ) as _
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

/// `batch` as an Arrow IPC stream file (the format `datasets.save_to_disk` writes) at `path`.
fn write_stream(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(file, &batch.schema()).unwrap();
    w.write(batch).unwrap();
    w.finish().unwrap();
}

/// Write `fixture` in every local format into `dir`; returns the paths.
fn every_format(fixture_path: &Path, dir: &Path, stem: &str) -> Vec<PathBuf> {
    let b = batch(fixture_path);
    let rows = read_jsonl(fixture_path);
    let mut paths = Vec::new();

    let p = dir.join(format!("{stem}_json.json"));
    std::fs::write(&p, serde_json::to_string(&rows).unwrap()).unwrap();
    paths.push(p);

    let p = dir.join(format!("{stem}_csv.csv"));
    let mut w = csv::Writer::from_path(&p).unwrap();
    let names: Vec<&String> = rows[0].keys().collect();
    w.write_record(&names).unwrap();
    for r in &rows {
        w.write_record(names.iter().map(|n| r[*n].as_str().unwrap()))
            .unwrap();
    }
    w.flush().unwrap();
    paths.push(p);

    let p = dir.join(format!("{stem}_parquet.parquet"));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(4))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&p).unwrap(),
        b.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    paths.push(p);

    let p = dir.join(format!("{stem}_file.arrow"));
    let mut w =
        arrow_ipc::writer::FileWriter::try_new(std::fs::File::create(&p).unwrap(), &b.schema())
            .unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
    paths.push(p);

    let p = dir.join(format!("{stem}_stream.arrow"));
    write_stream(&p, &b);
    paths.push(p);

    // A `datasets.save_to_disk` DatasetDict with the rows in its train split, in two shards.
    let p = dir.join(format!("{stem}_disk"));
    let train = p.join("train");
    std::fs::create_dir_all(&train).unwrap();
    std::fs::create_dir_all(p.join("test")).unwrap();
    std::fs::write(
        p.join("dataset_dict.json"),
        r#"{"splits": ["train", "test"]}"#,
    )
    .unwrap();
    let half = b.num_rows() / 2;
    for (i, part) in [b.slice(0, half), b.slice(half, b.num_rows() - half)]
        .iter()
        .enumerate()
    {
        write_stream(&train.join(format!("data-0000{i}-of-00002.arrow")), part);
    }
    std::fs::write(
        train.join("state.json"),
        r#"{"_data_files": [{"filename": "data-00000-of-00002.arrow"}, {"filename": "data-00001-of-00002.arrow"}], "_fingerprint": "x", "_format_columns": null, "_format_kwargs": {}, "_format_type": null, "_output_all_columns": false, "_split": "train"}"#,
    )
    .unwrap();
    std::fs::write(train.join("dataset_info.json"), "{}").unwrap();
    write_stream(&p.join("test/data-00000-of-00001.arrow"), &b.slice(0, 1));
    std::fs::write(
        p.join("test/state.json"),
        r#"{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}"#,
    )
    .unwrap();
    std::fs::write(p.join("test/dataset_info.json"), "{}").unwrap();
    paths.push(p);
    paths
}

/// The fixture `name` and its copies in every local format in `dir`, as one dataset list.
fn in_every_format(dir: &Path, name: &str, stem: &str) -> String {
    let mut paths = vec![fixture(name)];
    paths.extend(
        every_format(&classified_tests::fixture(name), dir, stem)
            .iter()
            .map(|p| p.to_string_lossy().into_owned()),
    );
    paths.join(",")
}

#[test]
fn all_five_lenses_rate_every_local_format_alike() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let pretrain = in_every_format(ws.path(), "sample.jsonl", "sample");
    let instruct = in_every_format(ws.path(), "instruct.jsonl", "instruct");

    ws.run(
        Some(&server),
        &summary_args(
            &pretrain,
            "text",
            "textbook_quality,learning_value,code_quality,textbook_depth",
            &[],
        ),
    )
    .ok();
    // Seven copies of the same rows: the first is paid for, the other six come from the cache.
    assert_eq!(server.request_count(), 4 * 12);
    let alike = |summary: Vec<std::collections::BTreeMap<String, String>>, lines: usize| {
        assert_eq!(summary.len(), lines);
        let strip = |mut m: std::collections::BTreeMap<String, String>| {
            m.remove("Dataset");
            m
        };
        // Lines come dataset by dataset, lens by lens: compare each dataset's with the first's.
        let lenses = lines / 7;
        for (i, line) in summary.iter().enumerate() {
            assert_eq!(
                strip(line.clone()),
                strip(summary[i % lenses].clone()),
                "{line:?}"
            );
        }
    };
    alike(ws.summary(), 7 * 4);

    // The DatasetDict folder holds 9 rows in train and 1 in test.
    let train_args = instruct_args(&instruct, &["--split", "train"]);
    ws.run(Some(&server), &train_args).ok();
    assert_eq!(server.request_count(), 4 * 12 + 9);
    alike(ws.summary(), 7);

    let disk = ws.path().join("instruct_disk");
    let disk = disk.to_str().unwrap();
    ws.run(Some(&server), &instruct_args(disk, &["--split", "test"]))
        .ok();
    assert_eq!(ws.summary()[0]["Total"], "1");
    let run = ws.run(Some(&server), &instruct_args(disk, &["--split", "dev"]));
    let error = run.error();
    assert!(
        error.contains("dev") && error.contains("train") && error.contains("test"),
        "{error}"
    );
}

/// `summary DATA COLUMNS LENSES FLAGS --dry-run` in `ws`, with no server.
fn dry_run(ws: &Workspace, data: &str, columns: &str, lenses: &str, flags: &[&str]) -> Run {
    let mut args = summary_args(data, columns, lenses, flags);
    args.push("--dry-run");
    ws.run(None, &args)
}

#[test]
fn a_missing_column_lists_the_columns_that_exist() {
    let ws = Workspace::new();
    let run = dry_run(
        &ws,
        &fixture("instruct.jsonl"),
        "prompt,output",
        "instruction_following",
        &[],
    );
    let error = run.error();
    assert!(
        error.contains("prompt") && error.contains("instruction") && error.contains("output"),
        "{error}"
    );
    assert_eq!(run.code, 2);
}

#[test]
fn an_unreadable_dataset_is_named() {
    let ws = Workspace::new();
    let run = dry_run(&ws, "no/such/file.jsonl", "text", "textbook_quality", &[]);
    assert!(run.error().contains("no/such/file.jsonl"), "{}", run.stderr);
}

#[test]
fn columns_must_match_the_lens_input_fields() {
    let ws = Workspace::new();
    let run = dry_run(
        &ws,
        &fixture("instruct.jsonl"),
        "instruction",
        "instruction_following",
        &[],
    );
    let error = run.error();
    assert!(
        error.contains("instruction_following") && error.contains("2 input field"),
        "{error}"
    );
}

#[test]
fn an_invalid_lens_names_the_file_and_the_problem() {
    let ws = Workspace::new();
    let lens = ws.path().join("lenses/broken");
    std::fs::create_dir_all(&lens).unwrap();
    std::fs::write(
        lens.join("config.json"),
        r#"{"input_fields": ["text"], "type": "pretrain"}"#,
    )
    .unwrap();
    std::fs::write(lens.join("system.jinja"), "Rate it.").unwrap();
    std::fs::write(lens.join("prompt.jinja"), "{{ text }} {% if %}").unwrap();
    std::fs::write(lens.join("function.json"), r#"{"name": "f", "parameters": {"type": "object", "properties": {"overall": {"type": "integer"}}, "required": ["overall"]}}"#).unwrap();
    let run = dry_run(
        &ws,
        &fixture("sample.jsonl"),
        "text",
        "broken",
        &["--lens-dir", "lenses"],
    );
    let error = run.error();
    assert!(
        error.contains("broken") && error.contains("prompt.jinja"),
        "{error}"
    );
    assert_eq!(run.code, 2);
    let run = dry_run(&ws, &fixture("sample.jsonl"), "text", "no_such_lens", &[]);
    assert!(run.error().contains("textbook_quality"), "{}", run.stderr);
}

#[test]
fn non_text_values_are_an_error_and_nulls_skip_the_row() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let numbers = ws.path().join("numbers.jsonl");
    std::fs::write(
        &numbers,
        "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\", \"output\": 4}\n",
    )
    .unwrap();
    let run = ws.run(
        Some(&server),
        &summary_args(
            numbers.to_str().unwrap(),
            "instruction,output",
            "instruction_following",
            &[],
        ),
    );
    let error = run.error();
    assert!(
        error.contains("row 1") && error.contains("output"),
        "{error}"
    );

    let nulls = ws.path().join("nulls.jsonl");
    std::fs::write(&nulls, "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\", \"output\": null}\n{\"instruction\": \"d\"}\n").unwrap();
    let run = ws
        .run(
            Some(&server),
            &summary_args(
                nulls.to_str().unwrap(),
                "instruction,output",
                "instruction_following",
                &[],
            ),
        )
        .ok();
    let summary = ws.summary();
    assert_eq!(
        (summary[0]["Total"].as_str(), summary[0]["Skipped"].as_str()),
        ("1", "2")
    );
    run.assert_stdout_has("2 row(s) skipped: null in column `output`");
}
