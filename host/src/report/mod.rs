//! Report stage: tally row outcomes, print readable tables (or `--json`), write summary.csv,
//! run.json, per-chunk JSONL, per-row Parquet and report.html. Every file is written under a
//! temporary name and renamed when complete.

mod atomic;
mod dir;
mod files;
mod html;
mod intervals;
mod json;
mod lens_data;
mod names;
mod parquet_rows;
mod read;
mod run_info;
mod scores;
mod sink;
mod summary_csv;
mod svg;
mod table;
mod tally;
mod texts;
mod view;

pub use atomic::AtomicFile;
pub use files::RowFiles;
pub use html::REPORT_HTML;
pub use intervals::{Mean, Share};
pub use json::render_json;
pub use names::{dataset_names, output_stem};
pub use parquet_rows::FileMeta;
pub use read::{StoredRow, read_rows};
pub use run_info::{LensInfo, OutputInfo, RUN_JSON, RunInfo, Spend, now};
pub use scores::{LabelDistribution, ScoreStats};
pub use sink::RowSink;
pub use summary_csv::write_summary_csv;
pub use table::{print_dry_run, print_summary};
pub use tally::Tally;
pub use texts::cut_at;

use crate::error::Error;
use std::path::{Path, PathBuf};

/// `compare.json`, when a `classified compare` wrote one into the folder: its section of the report.
pub const COMPARE_JSON: &str = "compare.json";

/// Build `report.html` in `dir` from the files there alone (per-row Parquets, their JSONL,
/// run.json, compare.json): what every `summary` does at its end and `classified report DIR` does
/// on its own, so both give the same report.
pub fn write_report(dir: &Path) -> Result<PathBuf, Error> {
    report_of(dir, None)
}

/// Build `report.html` in `dir` from the per-row Parquets `files` (a run's own, not older runs'
/// left in the folder) and the folder's run.json and compare.json.
pub fn write_report_from(dir: &Path, files: &[PathBuf]) -> Result<PathBuf, Error> {
    let parquets: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "parquet"))
        .cloned()
        .collect();
    report_of(dir, Some(&parquets))
}

fn report_of(dir: &Path, only: Option<&[PathBuf]>) -> Result<PathBuf, Error> {
    let loaded = dir::load(dir, only)?;
    let compare = read_compare(dir)?;
    if loaded.lenses.is_empty() && compare.is_none() {
        return Err(Error::Usage(format!(
            "{} holds no per-row Parquet written by this version of classified (older ones lack the footer the report reads); pass the DATA_DIR of a `classified summary` run, or rerun that summary (answers come from the cache)",
            dir.display()
        )));
    }
    let view = view::build(&loaded);
    html::write(dir, &html::render(&view, compare.as_ref())?)
}

fn read_compare(dir: &Path) -> Result<Option<serde_json::Value>, Error> {
    let path = dir.join(COMPARE_JSON);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::Usage(format!(
                "{} is not JSON ({e}); delete it or rerun `classified compare`",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Output {
            path: path.display().to_string(),
            source: e,
        }),
    }
}
