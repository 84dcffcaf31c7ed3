//! The streaming per-row outputs of one dataset × lens: a JSONL of rated chunks (their texts and
//! rationales) and a Parquet with one row per dataset row (the complete record: see
//! [`super::parquet_rows`]).

use super::AtomicFile;
use super::parquet_rows::{self, FileMeta, META_KEY, PendingRow};
use crate::error::Error;
use crate::pipeline::Inputs;
use crate::pipeline::rate::{RowOutcome, Status};
use arrow_schema::Schema;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde::Serialize;
use serde::ser::SerializeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows buffered before a Parquet record batch is written: bounds memory on huge datasets.
const BATCH_ROWS: usize = 8192;

/// The streaming per-row outputs of one dataset × lens.
pub struct RowFiles {
    meta: FileMeta,
    jsonl: BufWriter<std::fs::File>,
    jsonl_file: AtomicFile,
    jsonl_path: PathBuf,
    parquet_path: PathBuf,
    parquet: ArrowWriter<std::fs::File>,
    parquet_file: AtomicFile,
    schema: Arc<Schema>,
    pending: Vec<PendingRow>,
}

/// One line of the chunk JSONL, serialized straight from the outcome (no copy of its texts).
#[derive(Serialize)]
struct ChunkLine<'a> {
    row: u64,
    chunk: usize,
    inputs: &'a Inputs,
    scores: Labelled<'a, f64>,
    rationales: Labelled<'a, String>,
    cached: bool,
}

/// Values by label, as a JSON object. A label listed twice appears once, at its first place, with
/// its last value (what collecting into a JSON map does).
struct Labelled<'a, T>(&'a [String], &'a [T]);

impl<T: Serialize> Serialize for Labelled<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(&String, &T)> = self.0.iter().zip(self.1).collect();
        let mut map = serializer.serialize_map(None)?;
        for (i, (label, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(earlier, _)| earlier == label) {
                continue;
            }
            let last = pairs.iter().rev().find(|(l, _)| l == label).map(|(_, v)| v);
            map.serialize_entry(label, last.expect("the label itself is in the list"))?;
        }
        map.end()
    }
}

pub(super) fn output_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

impl RowFiles {
    /// Start `{stem}.jsonl` and `{stem}.parquet` in `dir` for the dataset × lens `meta` names.
    pub fn create(dir: &Path, stem: &str, meta: FileMeta) -> Result<RowFiles, Error> {
        let jsonl_path = dir.join(format!("{stem}.jsonl"));
        let parquet_path = dir.join(format!("{stem}.parquet"));
        let jsonl_file = AtomicFile::create(&jsonl_path)?;
        let parquet_file = AtomicFile::create(&parquet_path)?;
        let schema = parquet_rows::schema(&meta.labels, &meta.rationale_labels);
        // zstd: rationales repeat a lot from row to row, and the file is read by column anyway.
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let parquet =
            ArrowWriter::try_new(parquet_file.try_clone()?, schema.clone(), Some(properties))
                .map_err(|e| output_error(&parquet_path, e))?;
        Ok(RowFiles {
            meta,
            jsonl: BufWriter::new(jsonl_file.try_clone()?),
            jsonl_file,
            jsonl_path,
            parquet_path,
            parquet,
            parquet_file,
            schema,
            pending: Vec::new(),
        })
    }

    pub fn write(&mut self, outcome: &RowOutcome) -> Result<(), Error> {
        for chunk in &outcome.chunks {
            let line = ChunkLine {
                row: outcome.index,
                chunk: chunk.chunk,
                inputs: &chunk.inputs,
                scores: Labelled(&self.meta.labels, &chunk.scores.scores),
                rationales: Labelled(&self.meta.rationale_labels, &chunk.scores.rationales),
                cached: chunk.cached,
            };
            serde_json::to_writer(&mut self.jsonl, &line)
                .map_err(|e| output_error(&self.jsonl_path, e))?;
            self.jsonl
                .write_all(b"\n")
                .map_err(|e| output_error(&self.jsonl_path, e))?;
        }
        if let Status::Rated { bucket, .. } = &outcome.status
            && !self.meta.bucket_names.contains(bucket)
        {
            // A component may name buckets it did not declare; the footer lists them too.
            self.meta.bucket_names.push(bucket.clone());
        }
        self.pending
            .push(PendingRow::new(outcome, self.meta.rationale_labels.len()));
        if self.pending.len() >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let batch = parquet_rows::batch(&self.schema, self.meta.labels.len(), &rows)
            .map_err(|e| output_error(&self.parquet_path, e))?;
        self.parquet
            .write(&batch)
            .map_err(|e| output_error(&self.parquet_path, e))
    }

    /// Finish both files and move them into place.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, Error> {
        self.flush_batch()?;
        self.jsonl
            .flush()
            .map_err(|e| output_error(&self.jsonl_path, e))?;
        let meta = serde_json::to_string(&self.meta).expect("file metadata serializes");
        self.parquet
            .append_key_value_metadata(KeyValue::new(META_KEY.to_string(), meta));
        self.parquet
            .close()
            .map_err(|e| output_error(&self.parquet_path, e))?;
        Ok(vec![self.jsonl_file.commit()?, self.parquet_file.commit()?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::rate::{ChunkRecord, Usage};
    use crate::pipeline::{ChunkScores, RowScores, Stage, StageError};
    use arrow_array::cast::AsArray;
    use serde_json::{Map, Value, json};

    /// A chunk line as the writer first built it (a `serde_json::Value`), to compare with.
    fn value_line(
        labels: &[String],
        rationale_labels: &[String],
        row: u64,
        c: &ChunkRecord,
    ) -> String {
        let by_label = |labels: &[String], values: Vec<Value>| -> Map<String, Value> {
            labels.iter().cloned().zip(values).collect()
        };
        json!({
            "row": row,
            "chunk": c.chunk,
            "inputs": c.inputs,
            "scores": by_label(labels, c.scores.scores.iter().map(|s| json!(s)).collect()),
            "rationales": by_label(rationale_labels, c.scores.rationales.iter().map(|s| json!(s)).collect()),
            "cached": c.cached,
        })
        .to_string()
    }

    fn chunk(n: usize, text: &str, scores: Vec<f64>, cached: bool) -> ChunkRecord {
        ChunkRecord {
            chunk: n,
            inputs: Inputs::from([
                ("resource".to_string(), text.to_string()),
                ("a_first".to_string(), "\u{0}\u{1f} \\ \"".to_string()),
            ]),
            scores: ChunkScores {
                scores,
                rationales: vec!["why \"so\"\n日本語 😀".into(), "second".into()],
            },
            cached,
        }
    }

    #[test]
    fn chunk_lines_are_what_the_json_value_gave() {
        let dir = tempfile::tempdir().unwrap();
        // "overall" twice: a JSON object keeps it once, at its first place, with its last value.
        let labels: Vec<String> = ["depth", "overall", "x", "overall"]
            .map(String::from)
            .into();
        let rationale_labels: Vec<String> = ["why", "more"].map(String::from).into();
        let outcomes = vec![
            RowOutcome {
                index: 7,
                status: Status::Rated {
                    scores: RowScores {
                        scores: vec![2.5, 3.0, 1.0, 2.0],
                    },
                    bucket: "Good".into(),
                },
                chunks: vec![
                    chunk(
                        0,
                        "Text with \"quotes\", \\ and\nnewlines\t日本語 😀 \u{7f}",
                        vec![2.0, 3.0, 0.1 + 0.2, -0.0],
                        false,
                    ),
                    chunk(
                        1,
                        "",
                        vec![f64::NAN, f64::INFINITY, 1e300, 12345678.9],
                        true,
                    ),
                ],
                usage: Usage::default(),
            },
            RowOutcome {
                index: 8,
                status: Status::Failed(StageError::new(
                    Stage::Score,
                    crate::failure::FailureKind::Trap,
                    "it broke",
                )),
                chunks: vec![chunk(0, "short", vec![1.0], false)],
                usage: Usage::default(),
            },
            RowOutcome {
                index: 9,
                status: Status::Skipped("too short".into()),
                chunks: Vec::new(),
                usage: Usage::default(),
            },
        ];
        let meta = FileMeta {
            format: 1,
            dataset: "d".into(),
            lens: "lens".into(),
            labels: labels.clone(),
            rationale_labels: rationale_labels.clone(),
            bucket_names: vec!["Poor".into()],
        };
        let mut files = RowFiles::create(dir.path(), "d.lens", meta).unwrap();
        for outcome in &outcomes {
            files.write(outcome).unwrap();
        }
        let written = files.finish().unwrap();
        let jsonl = std::fs::read_to_string(&written[0]).unwrap();
        let want: String = outcomes
            .iter()
            .flat_map(|o| {
                o.chunks
                    .iter()
                    .map(|c| value_line(&labels, &rationale_labels, o.index, c) + "\n")
            })
            .collect();
        assert_eq!(jsonl, want);
        assert_eq!(jsonl.lines().count(), 3);

        // The Parquet file has one row per outcome, with its status and chunk count.
        let file = std::fs::File::open(&written[1]).unwrap();
        let batches: Vec<arrow_array::RecordBatch> =
            parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 1024)
                .unwrap()
                .map(Result::unwrap)
                .collect();
        assert_eq!(batches.len(), 1);
        let batch = &batches[0];
        let status: Vec<&str> = (0..batch.num_rows())
            .map(|i| {
                batch
                    .column_by_name("status")
                    .unwrap()
                    .as_string::<i32>()
                    .value(i)
            })
            .collect();
        assert_eq!(status, ["rated", "failed", "skipped"]);
        let chunks = batch
            .column_by_name("chunks")
            .unwrap()
            .as_primitive::<arrow_array::types::UInt32Type>();
        assert_eq!(chunks.values().to_vec(), vec![2, 1, 0]);

        // Read back: the new columns say why, from where, and what the model wrote.
        let mut rows = Vec::new();
        let meta = crate::report::read_rows(&written[1], |r| rows.push(r)).unwrap();
        assert_eq!(
            meta.bucket_names,
            ["Poor", "Good"],
            "a bucket seen is added"
        );
        assert_eq!(meta.labels, labels);
        assert_eq!(rows[0].bucket.as_deref(), Some("Good"));
        assert_eq!(rows[0].scores[0], Some(2.5));
        assert_eq!(
            rows[0].rationales[0],
            ["why \"so\"\n日本語 😀", "why \"so\"\n日本語 😀"]
        );
        assert_eq!(rows[1].error_kind.as_deref(), Some("trap"));
        assert_eq!(rows[1].error_stage.as_deref(), Some("score"));
        assert!(rows[1].error.as_deref().unwrap().contains("it broke"));
        assert_eq!(rows[2].skipped.as_deref(), Some("too short"));
        assert_eq!(rows[2].error.as_deref(), Some("too short"));
        assert_eq!(rows[2].scores, [None, None, None, None]);
        // No prompt was counted for these rows (Usage::default()): cached is unknown.
        assert_eq!(rows[0].cached, None);
    }

    #[test]
    fn cached_is_true_only_when_every_prompt_came_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let meta = FileMeta {
            format: 1,
            dataset: "d".into(),
            lens: "l".into(),
            labels: vec!["overall".into()],
            rationale_labels: Vec::new(),
            bucket_names: Vec::new(),
        };
        let mut files = RowFiles::create(dir.path(), "d.l", meta).unwrap();
        for (index, hits) in [(0, 2), (1, 1)] {
            files
                .write(&RowOutcome {
                    index,
                    status: Status::Skipped("x".into()),
                    chunks: Vec::new(),
                    usage: Usage {
                        prompts: 2,
                        cache_hits: hits,
                        ..Usage::default()
                    },
                })
                .unwrap();
        }
        let written = files.finish().unwrap();
        let mut cached = Vec::new();
        crate::report::read_rows(&written[1], |r| cached.push(r.cached)).unwrap();
        assert_eq!(cached, [Some(true), Some(false)]);
    }
}
