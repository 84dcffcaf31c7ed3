//! Datasets for the `filter` tests and benchmark: multi-file Parquet with typed columns (so a test
//! can tell that every column and type survives), some rows of junk (so a rule has rows to drop),
//! and readers for the parts `filter` writes.

use crate::hub::fixtures::text_rows;
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{Array, ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Row `id`'s text: prose, except every fifth row, which is symbol junk a quality lens drops.
fn texts(first: usize, n: usize, seed: u64) -> Vec<String> {
    text_rows(n, seed)
        .into_iter()
        .enumerate()
        .map(|(k, text)| match (first + k) % 5 {
            3 => format!(
                "@@ ## {} $$ %% ^^ ~~ ## @@ {}",
                first + k,
                "#$%&* ".repeat(20)
            ),
            _ => text,
        })
        .collect()
}

/// One batch of rows `first..first + n`: `id` (Int64), `text` (Utf8), `weight` (Float32, null on
/// every seventh row) and `tags` (List of Utf8).
pub fn batch(first: usize, n: usize, seed: u64) -> RecordBatch {
    let ids = Int64Array::from_iter_values((first..first + n).map(|i| i as i64));
    let weights = Float32Array::from_iter(
        (first..first + n).map(|i| (i % 7 != 0).then_some(i as f32 / 10.0)),
    );
    let mut tags = ListBuilder::new(StringBuilder::new());
    for i in first..first + n {
        tags.values().append_value(format!("t{}", i % 3));
        tags.values().append_value("all");
        tags.append(true);
    }
    RecordBatch::try_from_iter([
        ("id", Arc::new(ids) as ArrayRef),
        (
            "text",
            Arc::new(StringArray::from(texts(first, n, seed))) as ArrayRef,
        ),
        ("weight", Arc::new(weights) as ArrayRef),
        ("tags", Arc::new(tags.finish()) as ArrayRef),
    ])
    .expect("columns of equal length")
}

/// Write `files` Parquet files of `rows` rows each (`part-000.parquet`, …) into `dir`, with
/// `group_rows` rows per row group; ids continue across files. Returns `dir`.
pub fn parquet_dataset(dir: &Path, files: usize, rows: usize, group_rows: usize) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for f in 0..files {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .build();
        let file = std::fs::File::create(dir.join(format!("part-{f:03}.parquet"))).unwrap();
        let batch = batch(f * rows, rows, f as u64);
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        // Several batches, as a real writer produces them.
        for start in (0..rows).step_by(500) {
            w.write(&batch.slice(start, 500.min(rows - start))).unwrap();
        }
        w.close().unwrap();
    }
    dir.to_path_buf()
}

/// The Parquet files directly in `dir` whose names start with `prefix`, sorted by name.
pub fn parts(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    parts.retain(|p| {
        let name = p.file_name().unwrap().to_string_lossy();
        name.starts_with(prefix) && name.ends_with(".parquet")
    });
    parts.sort();
    parts
}

/// Every record batch of the given Parquet files, in order.
pub fn read_batches(files: &[PathBuf]) -> Vec<RecordBatch> {
    files
        .iter()
        .flat_map(|p| {
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(p).unwrap())
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `id` column of every row of `batches`, in order.
pub fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name("id")
                .expect("an id column")
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("ids are Int64")
                .clone();
            (0..a.len()).map(move |i| a.value(i))
        })
        .collect()
}

/// A string column of every row, in order (`None` for nulls).
pub fn strings(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name(column)
                .unwrap_or_else(|| panic!("no column {column}"))
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("a Utf8 column")
                .clone();
            (0..a.len())
                .map(move |i| a.is_valid(i).then(|| a.value(i).to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `n` texts of 90 words (shorter ones the pretrain lens skips): filler with good and bad words (of the fake server's grader) mixed in
/// one of three proportions, so grades spread and a model trained on them has something to learn.
pub fn graded_texts(n: usize, seed: u64) -> Vec<String> {
    use crate::openai::{BAD_WORDS, GOOD_WORDS};
    use rand::{Rng, SeedableRng};
    let filler = [
        "the", "of", "and", "a", "to", "in", "is", "that", "for", "it", "river", "table", "window",
        "market", "garden", "season",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let good_share = [0.1, 0.5, 0.9][rng.random_range(0..3)];
            (0..90)
                .map(|_| match rng.random::<f64>() {
                    x if x < 0.2 && rng.random::<f64>() < good_share => {
                        GOOD_WORDS[rng.random_range(0..GOOD_WORDS.len())]
                    }
                    x if x < 0.2 => BAD_WORDS[rng.random_range(0..BAD_WORDS.len())],
                    _ => filler[rng.random_range(0..filler.len())],
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}
