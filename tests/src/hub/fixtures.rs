//! Builders for the data files tests put in emulated repos: Parquet (with a chosen row-group
//! size), JSON Lines, CSV, gzip / zstd wrappers, deterministic text rows, README front matter,
//! and a multi-file Parquet dataset on disk of a requested size for benchmarks.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use hyper::body::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// A Parquet file of string columns (all the same length), `row_group_rows` rows per row group,
/// Snappy-compressed like the Hub's converted files.
pub fn parquet(columns: &[(&str, Vec<String>)], row_group_rows: usize) -> Bytes {
    let arrays: Vec<(&str, ArrayRef)> = columns
        .iter()
        .map(|(name, values)| {
            (
                *name,
                Arc::new(StringArray::from(values.clone())) as ArrayRef,
            )
        })
        .collect();
    let batch = RecordBatch::try_from_iter(arrays).expect("columns of equal length");
    parquet_batch(&batch, row_group_rows)
}

/// A Parquet file holding `batch`, `row_group_rows` rows per row group.
pub fn parquet_batch(batch: &RecordBatch, row_group_rows: usize) -> Bytes {
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props(row_group_rows)))
        .expect("parquet writer");
    w.write(batch).expect("write batch");
    w.close().expect("close parquet");
    Bytes::from(out)
}

fn props(row_group_rows: usize) -> WriterProperties {
    WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .set_compression(Compression::SNAPPY)
        .build()
}

/// One JSON value per line, each line ending in `\n`.
pub fn jsonl(rows: &[Value]) -> Bytes {
    let mut out = String::new();
    for r in rows {
        out.push_str(&r.to_string());
        out.push('\n');
    }
    Bytes::from(out)
}

/// `{"text": …}` rows as JSON Lines.
pub fn jsonl_text(texts: &[String]) -> Bytes {
    let rows: Vec<Value> = texts.iter().map(|t| json!({ "text": t })).collect();
    jsonl(&rows)
}

/// A CSV file with a header row (fields quoted where needed).
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> Bytes {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("csv header");
    for r in rows {
        w.write_record(r).expect("csv row");
    }
    Bytes::from(w.into_inner().expect("csv flush"))
}

pub fn gzip(bytes: &[u8]) -> Bytes {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    Bytes::from(e.finish().expect("gzip"))
}

pub fn zstd(bytes: &[u8]) -> Bytes {
    Bytes::from(::zstd::encode_all(bytes, 3).expect("zstd"))
}

/// A README.md whose YAML front matter is `yaml`, followed by a short card body.
pub fn readme(yaml: &str) -> String {
    format!(
        "---\n{}\n---\n\n# Dataset card\n\nGenerated for tests.\n",
        yaml.trim_end()
    )
}

const WORDS: &[&str] = &[
    "the",
    "a",
    "model",
    "learns",
    "from",
    "examples",
    "and",
    "data",
    "quality",
    "matters",
    "more",
    "than",
    "size",
    "in",
    "many",
    "cases",
    "we",
    "measure",
    "each",
    "row",
    "with",
    "care",
    "because",
    "noise",
    "hurts",
    "training",
    "students",
    "read",
    "textbooks",
    "that",
    "explain",
    "ideas",
    "clearly",
    "step",
    "by",
    "proof",
    "theorem",
    "function",
    "returns",
    "value",
    "list",
    "of",
    "numbers",
    "is",
    "sorted",
    "before",
    "search",
    "river",
    "mountain",
    "history",
    "economy",
    "market",
    "price",
    "recipe",
    "bake",
    "flour",
    "sugar",
    "minutes",
    "oven",
    "until",
    "golden",
    "cell",
    "protein",
    "energy",
    "light",
    "speed",
    "planet",
    "orbit",
    "gravity",
    "city",
    "council",
    "vote",
    "law",
    "court",
    "judge",
    "music",
    "rhythm",
    "melody",
    "poem",
    "story",
    "character",
    "journey",
    "question",
    "answer",
    "why",
    "how",
    "when",
    "where",
    "because",
    "however",
    "therefore",
    "example",
    "first",
    "second",
    "finally",
    "important",
    "simple",
    "complex",
];

/// `n` varied, deterministic English-like texts of realistic length (about 80 to 2,500
/// characters, a few sentences to several paragraphs). The same `seed` gives the same rows.
pub fn text_rows(n: usize, seed: u64) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let sentences = match rng.random_range(0..10) {
                0..=2 => rng.random_range(1..4),
                3..=7 => rng.random_range(4..12),
                _ => rng.random_range(12..30),
            };
            let mut text = format!("Row {i}.");
            for s in 0..sentences {
                if s > 0 && s % 6 == 0 {
                    text.push_str("\n\n");
                } else {
                    text.push(' ');
                }
                let words = rng.random_range(5..18);
                for w in 0..words {
                    let word = WORDS[rng.random_range(0..WORDS.len())];
                    if w == 0 {
                        let mut c = word.chars();
                        if let Some(f) = c.next() {
                            text.extend(f.to_uppercase());
                            text.push_str(c.as_str());
                        }
                    } else {
                        text.push(' ');
                        text.push_str(word);
                    }
                }
                text.push(if rng.random_range(0..8) == 0 {
                    '?'
                } else {
                    '.'
                });
            }
            text
        })
        .collect()
}

/// Text that compresses poorly (random letter "words"), `len` bytes long.
fn noisy_text(rng: &mut ChaCha8Rng, len: usize) -> String {
    let mut raw = vec![0u8; len];
    rng.fill_bytes(&mut raw);
    let mut out = String::with_capacity(len);
    for (i, b) in raw.iter().enumerate() {
        // ~1 in 6 characters is a space; the rest spread over 26 letters.
        let c = if b % 6 == 0 && i > 0 {
            ' '
        } else {
            (b'a' + (b % 26)) as char
        };
        out.push(c);
    }
    out
}

/// Writes `files` Parquet files `data/train-0000i-of-0000N.parquet` under `dir`, about
/// `total_bytes` in all, with columns `id` (int64) and `text` (hard-to-compress text, ~1 KiB
/// per row), `rows_per_group` rows per row group. Returns the files' paths. When `dir` already
/// holds a dataset written with the same parameters, it is reused as is.
pub fn write_parquet_dataset(
    dir: &Path,
    total_bytes: u64,
    files: usize,
    rows_per_group: usize,
) -> std::io::Result<Vec<PathBuf>> {
    let files = files.max(1);
    let rows_per_group = rows_per_group.max(1);
    let paths: Vec<PathBuf> = (0..files)
        .map(|i| dir.join(format!("data/train-{i:05}-of-{files:05}.parquet")))
        .collect();
    let marker = dir.join(".hub-emulator-dataset.json");
    let params =
        json!({"total_bytes": total_bytes, "files": files, "rows_per_group": rows_per_group});
    if let Ok(text) = fs::read_to_string(&marker)
        && let Ok(v) = serde_json::from_str::<Value>(&text)
        && v.get("params") == Some(&params)
        && paths
            .iter()
            .enumerate()
            .all(|(i, p)| fs::metadata(p).map(|m| m.len()).ok() == v["sizes"][i].as_u64())
    {
        return Ok(paths);
    }
    fs::create_dir_all(dir.join("data"))?;
    let per_file = total_bytes / files as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(total_bytes ^ files as u64);
    let mut next_id: i64 = 0;
    let mut sizes = Vec::new();
    for p in &paths {
        let f = fs::File::create(p)?;
        let schema = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("id", arrow_schema::DataType::Int64, false),
            arrow_schema::Field::new("text", arrow_schema::DataType::Utf8, false),
        ]));
        let mut w = ArrowWriter::try_new(f, schema.clone(), Some(props(rows_per_group)))
            .map_err(std::io::Error::other)?;
        loop {
            let ids: Vec<i64> = (next_id..next_id + rows_per_group as i64).collect();
            next_id += rows_per_group as i64;
            let texts: Vec<String> = (0..rows_per_group)
                .map(|_| {
                    let len = rng.random_range(200..1800);
                    noisy_text(&mut rng, len)
                })
                .collect();
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)) as ArrayRef,
                    Arc::new(StringArray::from(texts)) as ArrayRef,
                ],
            )
            .map_err(std::io::Error::other)?;
            w.write(&batch).map_err(std::io::Error::other)?;
            w.flush().map_err(std::io::Error::other)?;
            if w.bytes_written() as u64 >= per_file {
                break;
            }
        }
        w.close().map_err(std::io::Error::other)?;
        sizes.push(fs::metadata(p)?.len());
    }
    fs::write(
        &marker,
        json!({"params": params, "sizes": sizes}).to_string(),
    )?;
    Ok(paths)
}
