//! Reading a per-row Parquet back, row by row, with what its footer says about it: how
//! `classified report` rebuilds a report from the output files alone.

use super::parquet_rows::{FileMeta, META_KEY, schema};
use crate::error::Error;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::Path;

/// One row of the per-row Parquet.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub row: u64,
    /// `rated`, `failed`, `skipped` or `planned`.
    pub status: String,
    pub bucket: Option<String>,
    /// One per score label; `None` unless rated.
    pub scores: Vec<Option<f64>>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
    pub error_stage: Option<String>,
    pub skipped: Option<String>,
    pub cached: Option<bool>,
    /// Per rationale label, one entry per rated chunk.
    pub rationales: Vec<Vec<String>>,
}

fn unreadable(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Usage(format!(
        "{} is not a per-row Parquet this version of classified can read ({why}); rerun `classified summary` to write it again",
        path.display()
    ))
}

/// The footer of a per-row Parquet, or why it is not one.
pub fn file_meta(path: &Path) -> Result<FileMeta, Error> {
    let builder = reader_builder(path)?;
    meta_of(path, &builder)
}

/// A Parquet reader for `path`: a file that cannot be opened is an output error, one that is
/// not Parquet is unreadable.
fn reader_builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::Output {
        path: path.display().to_string(),
        source: e,
    })?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| unreadable(path, e))
}

fn meta_of(
    path: &Path,
    builder: &ParquetRecordBatchReaderBuilder<std::fs::File>,
) -> Result<FileMeta, Error> {
    let value = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == META_KEY))
        .and_then(|k| k.value.clone())
        .ok_or_else(|| unreadable(path, "its footer has no `classified` entry"))?;
    serde_json::from_str(&value).map_err(|e| unreadable(path, e))
}

/// Hand every row of the Parquet at `path` to `each`, in file order; returns the file's footer.
pub fn read_rows(path: &Path, mut each: impl FnMut(StoredRow)) -> Result<FileMeta, Error> {
    let builder = reader_builder(path)?;
    let meta = meta_of(path, &builder)?;
    let want = schema(&meta.labels, &meta.rationale_labels);
    if builder.schema().fields() != want.fields() {
        return Err(unreadable(
            path,
            "its columns are not the ones its footer implies",
        ));
    }
    let reader = builder.build().map_err(|e| unreadable(path, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(path, e))?;
        rows_of(
            &batch,
            meta.labels.len(),
            meta.rationale_labels.len(),
            &mut each,
        );
    }
    Ok(meta)
}

fn text(batch: &RecordBatch, column: usize, i: usize) -> Option<String> {
    let c = batch.column(column).as_string::<i32>();
    c.is_valid(i).then(|| c.value(i).to_string())
}

/// The rows of one record batch; columns by position (labels may repeat a name).
fn rows_of(
    batch: &RecordBatch,
    labels: usize,
    rationales: usize,
    each: &mut impl FnMut(StoredRow),
) {
    let rows = batch.column(0).as_primitive::<UInt64Type>();
    // `after` is the `error` column, just past the scores and `chunks`.
    let after = 3 + labels + 1;
    let cached = batch.column(after + 4).as_boolean();
    for i in 0..batch.num_rows() {
        let scores = (0..labels)
            .map(|l| {
                let c = batch.column(3 + l).as_primitive::<Float64Type>();
                c.is_valid(i).then(|| c.value(i))
            })
            .collect();
        let rationale_lists = (0..rationales)
            .map(|r| {
                let list = batch.column(after + 5 + r).as_list::<i32>();
                if !list.is_valid(i) {
                    return Vec::new();
                }
                let values = list.value(i);
                let values = values.as_string::<i32>();
                (0..values.len())
                    .filter(|&j| values.is_valid(j))
                    .map(|j| values.value(j).to_string())
                    .collect()
            })
            .collect();
        each(StoredRow {
            row: rows.value(i),
            status: text(batch, 1, i).unwrap_or_default(),
            bucket: text(batch, 2, i),
            scores,
            error: text(batch, after, i),
            error_kind: text(batch, after + 1, i),
            error_stage: text(batch, after + 2, i),
            skipped: text(batch, after + 3, i),
            cached: cached.is_valid(i).then(|| cached.value(i)),
            rationales: rationale_lists,
        });
    }
}
