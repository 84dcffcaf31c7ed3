//! The in-place pass with a lens whose scoring is scripted: rows in order across units and
//! batches, and a panic while scoring that becomes an error and publishes no part.

use super::*;
use crate::filter::output::Added;
use crate::filter::progress::Progress;
use crate::filter::rule::Rule;
use crate::filter::sink::{Context, Gathered};
use crate::filter::stats::DatasetStats;
use crate::pipeline::{ChunkScores, Inputs, Native, Prepared, RowScores, StageContext, StageError};
use crate::shard::units::{InputFile, plan_files};
use arrow_array::{ArrayRef, StringArray};
use parquet::arrow::ArrowWriter;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// `heuristic_quality`'s labels and buckets, scored by a script: every score is the row's number
/// modulo 3, plus 1; the row numbered `panic_at` panics.
struct Scripted {
    native: Native,
    panic_at: Option<u64>,
}

impl Stages for Scripted {
    fn context(&self) -> &StageContext {
        self.native.context()
    }

    fn preprocess(&self, row: u64, fields: &Inputs) -> Result<Prepared, StageError> {
        self.native.preprocess(row, fields)
    }

    fn postprocess(&self, row: u64, arguments: &str) -> Result<ChunkScores, StageError> {
        self.native.postprocess(row, arguments)
    }

    fn aggregate(&self, row: u64, chunks: &[ChunkScores]) -> Result<RowScores, StageError> {
        self.native.aggregate(row, chunks)
    }

    fn bucket(&self, row: u64, scores: &RowScores) -> Result<String, StageError> {
        self.native.bucket(row, scores)
    }

    fn bucket_names(&self) -> Vec<String> {
        self.native.bucket_names()
    }

    fn score(&self, row: u64, fields: &Inputs) -> Result<ChunkScores, StageError> {
        assert!(Some(row) != self.panic_at, "the script panics at row {row}");
        let n: u64 = fields["text"].trim_start_matches("row ").parse().unwrap();
        assert_eq!(n, row, "each row is scored with its own number");
        let lens = &self.context().lens;
        Ok(ChunkScores {
            scores: vec![(row % 3 + 1) as f64; lens.score_labels.len()],
            rationales: vec![String::new(); lens.rationale_labels.len()],
        })
    }
}

fn scripted(panic_at: Option<u64>) -> Scripted {
    let lens = crate::lens::Catalog::new(Vec::new())
        .get("heuristic_quality")
        .unwrap();
    Scripted {
        native: Native(StageContext {
            lens: Arc::new(lens),
            chunking: Default::default(),
            bpe: crate::pipeline::chunk::lazy_tokenizer_for_model("gpt-4o-mini"),
        }),
        panic_at,
    }
}

/// `files` Parquet files of `rows` rows each (`text` is `row N`, N counting on across files).
fn dataset(dir: &Path, files: usize, rows: usize) -> Vec<InputFile> {
    (0..files)
        .map(|f| {
            let path = dir.join(format!("in-{f}.parquet"));
            let texts: Vec<String> = (f * rows..(f + 1) * rows)
                .map(|n| format!("row {n}"))
                .collect();
            let batch = RecordBatch::try_from_iter([(
                "text",
                Arc::new(StringArray::from(texts)) as ArrayRef,
            )])
            .unwrap();
            let mut w =
                ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None)
                    .unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            InputFile::local(path).unwrap()
        })
        .collect()
}

/// Filter the files through `stages`, keeping every rated row: the pass's result, the stats and
/// the names of the files in `out`.
fn filter(
    stages: &Scripted,
    files: Vec<InputFile>,
    out: &Path,
) -> (Result<(), Error>, DatasetStats, Vec<String>) {
    let columns = vec!["text".to_string()];
    let (units, _) = plan_files(&[files], &columns, 1 << 30).unwrap();
    let lens = &stages.context().lens;
    let context = Arc::new(Context {
        out: out.to_path_buf(),
        rule: Rule::new(&lens.score_labels, &stages.bucket_names(), None, &[], None).unwrap(),
        added: Added {
            lens: lens.name.clone(),
            labels: lens.score_labels.clone(),
        },
        write_rejected: false,
        part_bytes: 1 << 30,
        units: Arc::new(units.clone()),
        scoring: false,
    });
    let gathered = Arc::new(Mutex::new(Gathered {
        stats: vec![DatasetStats::new("d", lens.score_labels.len())],
        spill: None,
        parts: Vec::new(),
        progress: Progress::new(0, "test", false),
    }));
    let pass = LocalPass {
        stages,
        columns: &columns,
        units: &units,
        range: 0..units.len(),
    };
    let result = pass.run(&mut |i| Writer::new(context.clone(), gathered.clone(), i));
    let stats = gathered.lock().unwrap().stats[0].clone();
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (result, stats, names)
}

/// The `text` of every row of the part files in `out`, in name order.
fn kept_texts(out: &Path, names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|n| n.starts_with("part-"))
        .flat_map(|n| {
            let file = std::fs::File::open(out.join(n)).unwrap();
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap()
                .flat_map(|b| {
                    let b = b.unwrap();
                    let texts = b.column_by_name("text").unwrap();
                    let texts = texts.as_any().downcast_ref::<StringArray>().unwrap();
                    texts
                        .iter()
                        .map(|t| t.unwrap().to_string())
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn rows_of_many_small_units_are_scored_with_their_own_index_and_kept_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // 40 files of 300 rows: windows run on across units, and batches are cut into row chunks.
    let (result, stats, names) = filter(&scripted(None), dataset(dir.path(), 40, 300), &out);
    result.unwrap();
    assert_eq!((stats.rows_in, stats.rows_kept), (12_000, 12_000));
    let want: Vec<String> = (0..12_000).map(|n| format!("row {n}")).collect();
    assert_eq!(kept_texts(&out, &names), want);
}

#[test]
fn a_panic_while_scoring_is_an_error_and_publishes_no_part() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // One unit, so the rows before the panic are in a part that is still open.
    let (result, _, names) = filter(&scripted(Some(2500)), dataset(dir.path(), 1, 4000), &out);
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("panicked") && err.contains("the script panics at row 2500"),
        "{err}"
    );
    assert!(
        names.iter().all(|n| !n.starts_with("part-")),
        "a part was published: {names:?}"
    );
}
