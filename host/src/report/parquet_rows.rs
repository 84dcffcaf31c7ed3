//! The per-row Parquet's columns, written in record batches, and what its footer says about the
//! file (dataset, lens, labels, buckets) so a report can be rebuilt from the file alone.
//!
//! Columns, in order: `row`, `status` (rated/failed/skipped/planned), `bucket`, one Float64 per
//! score label, `chunks`, `error` (a failed row's message or a skipped row's reason), then
//! `error_kind` and `error_stage` (failed rows), `skipped` (the reason), `cached` (every prompt of the
//! row came from the cache; null when it had none) and one list of strings per rationale label (one
//! entry per rated chunk).

use crate::pipeline::rate::{RowOutcome, Status};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, ListBuilder, StringBuilder, UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The Parquet footer key holding [`FileMeta`] as JSON.
pub const META_KEY: &str = "classified";

/// What a per-row Parquet file is about, stored in its footer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileMeta {
    /// Version of this layout.
    pub format: u32,
    pub dataset: String,
    pub lens: String,
    pub labels: Vec<String>,
    pub rationale_labels: Vec<String>,
    /// Bucket names in report order: the lens's, then any a component named without declaring.
    pub bucket_names: Vec<String>,
}

/// The columns for a lens's labels.
pub fn schema(labels: &[String], rationale_labels: &[String]) -> Arc<Schema> {
    let mut fields = vec![
        Field::new("row", DataType::UInt64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("bucket", DataType::Utf8, true),
    ];
    fields.extend(
        labels
            .iter()
            .map(|l| Field::new(l, DataType::Float64, true)),
    );
    fields.push(Field::new("chunks", DataType::UInt32, false));
    fields.push(Field::new("error", DataType::Utf8, true));
    fields.push(Field::new("error_kind", DataType::Utf8, true));
    fields.push(Field::new("error_stage", DataType::Utf8, true));
    fields.push(Field::new("skipped", DataType::Utf8, true));
    fields.push(Field::new("cached", DataType::Boolean, true));
    fields.extend(rationale_labels.iter().map(|l| {
        Field::new(
            l,
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            true,
        )
    }));
    Arc::new(Schema::new(fields))
}

/// A row waiting for the next record batch: what its columns need, without the chunks' texts
/// (those are in the JSONL).
pub struct PendingRow {
    index: u64,
    chunks: u32,
    status: Status,
    cached: Option<bool>,
    /// Per rationale label, one entry per rated chunk.
    rationales: Vec<Vec<String>>,
}

impl PendingRow {
    pub fn new(outcome: &RowOutcome, rationale_labels: usize) -> PendingRow {
        let rationales = (0..rationale_labels)
            .map(|i| {
                outcome
                    .chunks
                    .iter()
                    .filter_map(|c| c.scores.rationales.get(i).cloned())
                    .collect()
            })
            .collect();
        let cached = (outcome.usage.prompts > 0)
            .then_some(outcome.usage.cache_hits == outcome.usage.prompts);
        PendingRow {
            index: outcome.index,
            chunks: outcome.chunks.len() as u32,
            status: outcome.status.clone(),
            cached,
            rationales,
        }
    }
}

/// Build one record batch of `rows` with `schema`'s columns.
pub fn batch(
    schema: &Arc<Schema>,
    labels: usize,
    rows: &[PendingRow],
) -> Result<RecordBatch, ArrowError> {
    let mut row = UInt64Builder::new();
    let mut status = StringBuilder::new();
    let mut bucket = StringBuilder::new();
    let mut scores: Vec<Float64Builder> = (0..labels).map(|_| Float64Builder::new()).collect();
    let mut chunks = UInt32Builder::new();
    let mut error = StringBuilder::new();
    let mut error_kind = StringBuilder::new();
    let mut error_stage = StringBuilder::new();
    let mut skipped = StringBuilder::new();
    let mut cached = BooleanBuilder::new();
    let rationale_columns = rows.first().map(|r| r.rationales.len()).unwrap_or(0);
    let mut rationales: Vec<ListBuilder<StringBuilder>> = (0..rationale_columns)
        .map(|_| ListBuilder::new(StringBuilder::new()))
        .collect();
    for o in rows {
        row.append_value(o.index);
        chunks.append_value(o.chunks);
        cached.append_option(o.cached);
        let mut values: Option<&[f64]> = None;
        match &o.status {
            Status::Rated { scores, bucket: b } => {
                status.append_value("rated");
                bucket.append_value(b);
                values = Some(&scores.scores);
                error.append_null();
                error_kind.append_null();
                error_stage.append_null();
                skipped.append_null();
            }
            Status::Failed(err) => {
                status.append_value("failed");
                bucket.append_null();
                error.append_value(err.to_string());
                error_kind.append_value(err.kind.name());
                error_stage.append_value(err.stage.name());
                skipped.append_null();
            }
            Status::Skipped(reason) => {
                status.append_value("skipped");
                bucket.append_null();
                error.append_value(reason);
                error_kind.append_null();
                error_stage.append_null();
                skipped.append_value(reason);
            }
            Status::Planned => {
                status.append_value("planned");
                bucket.append_null();
                error.append_null();
                error_kind.append_null();
                error_stage.append_null();
                skipped.append_null();
            }
        }
        for (i, builder) in scores.iter_mut().enumerate() {
            builder.append_option(values.and_then(|v| v.get(i).copied()));
        }
        for (builder, texts) in rationales.iter_mut().zip(&o.rationales) {
            for t in texts {
                builder.values().append_value(t);
            }
            builder.append(true);
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(row.finish()),
        Arc::new(status.finish()),
        Arc::new(bucket.finish()),
    ];
    columns.extend(scores.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(chunks.finish()));
    columns.push(Arc::new(error.finish()));
    columns.push(Arc::new(error_kind.finish()));
    columns.push(Arc::new(error_stage.finish()));
    columns.push(Arc::new(skipped.finish()));
    columns.push(Arc::new(cached.finish()));
    columns.extend(
        rationales
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef),
    );
    RecordBatch::try_new(schema.clone(), columns)
}
