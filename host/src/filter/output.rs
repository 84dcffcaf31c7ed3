//! The rows `filter` writes: the input batch's kept rows with every original column, then one
//! Float64 column per score label and the bucket (and, for rejected rows, their status and reason).
//! A score column whose name the input already uses is named `LENS.LABEL` instead.

use crate::error::Error;
use crate::pipeline::rate::Status;
use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// The names of the added columns, fixed for a run.
#[derive(Debug, Clone)]
pub struct Added {
    pub lens: String,
    pub labels: Vec<String>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("building an output batch failed: {e}"))
}

impl Added {
    fn name(&self, input: &Schema, wanted: &str) -> String {
        match input.field_with_name(wanted) {
            Ok(_) => format!("{}.{wanted}", self.lens),
            Err(_) => wanted.to_string(),
        }
    }

    /// The output schema for an input schema; `rejected` adds `status` and `reason`.
    pub fn schema(&self, input: &Schema, rejected: bool) -> SchemaRef {
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        for label in &self.labels {
            fields.push(Field::new(self.name(input, label), DataType::Float64, true));
        }
        fields.push(Field::new(self.name(input, "bucket"), DataType::Utf8, true));
        if rejected {
            fields.push(Field::new(
                self.name(input, "status"),
                DataType::Utf8,
                false,
            ));
            fields.push(Field::new(self.name(input, "reason"), DataType::Utf8, true));
        }
        Arc::new(Schema::new_with_metadata(fields, input.metadata().clone()))
    }

    /// The rows of `batch` where `mask` is true, with their scores (from `statuses`, aligned with
    /// the batch's rows) appended. `rejected` adds each row's status and reason.
    pub fn take(
        &self,
        batch: &RecordBatch,
        mask: &[bool],
        statuses: &[Status],
        rejected: Option<&[String]>,
    ) -> Result<RecordBatch, Error> {
        let filter = BooleanArray::from(mask.to_vec());
        let kept = arrow_select::filter::filter_record_batch(batch, &filter).map_err(internal)?;
        let chosen: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
        let mut columns: Vec<ArrayRef> = kept.columns().to_vec();
        for l in 0..self.labels.len() {
            let mut b = Float64Builder::with_capacity(chosen.len());
            for &i in &chosen {
                match &statuses[i] {
                    Status::Rated { scores, .. } => b.append_option(scores.scores.get(l).copied()),
                    _ => b.append_null(),
                }
            }
            columns.push(Arc::new(b.finish()));
        }
        let mut b = StringBuilder::new();
        for &i in &chosen {
            match &statuses[i] {
                Status::Rated { bucket, .. } => b.append_value(bucket),
                _ => b.append_null(),
            }
        }
        columns.push(Arc::new(b.finish()));
        if let Some(reasons) = rejected {
            let mut status = StringBuilder::new();
            let mut reason = StringBuilder::new();
            for &i in &chosen {
                status.append_value(match &statuses[i] {
                    Status::Rated { .. } => "rejected",
                    Status::Failed(_) => "failed",
                    Status::Skipped(_) => "skipped",
                    Status::Planned => "planned",
                });
                reason.append_value(&reasons[i]);
            }
            columns.push(Arc::new(status.finish()));
            columns.push(Arc::new(reason.finish()));
        }
        let schema = self.schema(&batch.schema(), rejected.is_some());
        RecordBatch::try_new(schema, columns).map_err(internal)
    }
}

/// Why a row was not kept, for the rejected output.
pub fn reason(status: &Status) -> String {
    match status {
        Status::Rated { .. } => "below the filter's rule".into(),
        Status::Failed(e) => e.to_string(),
        Status::Skipped(why) => why.clone(),
        Status::Planned => "not rated".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::RowScores;
    use arrow_array::{Array, Float64Array, Int32Array, StringArray};

    #[test]
    fn kept_rows_keep_every_column_and_gain_scores_and_bucket() {
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef),
            (
                "bucket",
                Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let rated = |s: f64| Status::Rated {
            scores: RowScores { scores: vec![s] },
            bucket: "Good".into(),
        };
        let statuses = vec![rated(1.0), Status::Skipped("too short".into()), rated(3.0)];
        let added = Added {
            lens: "q".into(),
            labels: vec!["overall".into()],
        };
        let out = added
            .take(&batch, &[true, false, true], &statuses, None)
            .unwrap();
        let schema = out.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "bucket", "overall", "q.bucket"]);
        let ids = out.column(0).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(ids.values().to_vec(), [1, 3]);
        let scores = out
            .column(2)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(scores.values().to_vec(), [1.0, 3.0]);

        let reasons: Vec<String> = statuses.iter().map(reason).collect();
        let out = added
            .take(&batch, &[false, true, false], &statuses, Some(&reasons))
            .unwrap();
        let status = out
            .column(4)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let why = out
            .column(5)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!((status.value(0), why.value(0)), ("skipped", "too short"));
        assert!(out.column(2).is_null(0));
    }
}
