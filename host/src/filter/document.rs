//! What `filter` writes about a run: `stats.json`, `summary.csv` and `means.csv` (through
//! `crate::report`, as `summary` writes them), and the table it prints at the end. `merge` writes
//! them through the same functions from the shards' stats, so both write the same bytes.

use super::rule::Rule;
use super::stats::{DatasetStats, Failures};
use crate::error::Error;
use crate::lens::Lens;
use crate::report::{AtomicFile, Tally};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The lens a run filtered with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LensInfo {
    pub name: String,
    pub labels: Vec<String>,
    /// Bucket names, worst first.
    pub buckets: Vec<String>,
    /// The lens's checksum (`Lens::checksum`: prompts, function, config, component, model file):
    /// a changed lens changes this.
    pub checksum: String,
    /// A model lens's `model.bin`: `sha256:` and the hex sha256 of the file, as `sha256sum` prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_sha256: Option<String>,
}

impl LensInfo {
    pub fn new(lens: &Lens, buckets: Vec<String>) -> LensInfo {
        LensInfo {
            name: lens.name.clone(),
            labels: lens.score_labels.clone(),
            buckets,
            checksum: lens.checksum(),
            model_sha256: lens.model.as_ref().map(|m| format!("sha256:{}", m.sha256)),
        }
    }
}

/// What one process (or one shard) found: the lens, the rule and each dataset's stats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    pub lens: LensInfo,
    pub rule: Rule,
    pub datasets: Vec<DatasetStats>,
}

/// One dataset as `stats.json` shows it: the counts, and means in place of the exact sums.
#[derive(Serialize)]
struct DatasetView<'a> {
    name: &'a str,
    rows_in: u64,
    rows_kept: u64,
    rows_rejected: u64,
    rows_failed: u64,
    rows_skipped: u64,
    bytes_in: u64,
    bytes_out: u64,
    parts: u64,
    buckets: &'a BTreeMap<String, u64>,
    means: BTreeMap<&'a str, Option<f64>>,
    histograms: &'a BTreeMap<String, BTreeMap<String, u64>>,
    failures: &'a BTreeMap<String, Failures>,
    skips: &'a BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct Document<'a> {
    lens: &'a LensInfo,
    rule: &'a Rule,
    total: DatasetView<'a>,
    datasets: Vec<DatasetView<'a>>,
}

fn view<'a>(s: &'a DatasetStats, lens: &'a LensInfo) -> DatasetView<'a> {
    let rated: u64 = s.buckets.values().sum();
    DatasetView {
        name: &s.name,
        rows_in: s.rows_in,
        rows_kept: s.rows_kept,
        rows_rejected: s.rows_rejected,
        rows_failed: s.rows_failed,
        rows_skipped: s.rows_skipped,
        bytes_in: s.bytes_in,
        bytes_out: s.bytes_out,
        parts: s.parts,
        buckets: &s.buckets,
        means: lens
            .labels
            .iter()
            .zip(&s.sums)
            .map(|(l, sum)| (l.as_str(), (rated > 0).then(|| sum.value() / rated as f64)))
            .collect(),
        histograms: &s.histograms,
        failures: &s.failures,
        skips: &s.skips,
    }
}

impl RunStats {
    /// Every dataset together.
    pub fn total(&self) -> DatasetStats {
        let mut total = DatasetStats::new("total", self.lens.labels.len());
        self.datasets.iter().for_each(|d| total.absorb(d));
        total
    }

    pub fn tallies(&self) -> Vec<Tally> {
        self.datasets
            .iter()
            .map(|d| d.tally(&self.lens.name, &self.lens.labels, &self.lens.buckets))
            .collect()
    }

    /// Write `stats.json`, `summary.csv` and `means.csv` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let total = self.total();
        let document = Document {
            lens: &self.lens,
            rule: &self.rule,
            total: view(&total, &self.lens),
            datasets: self.datasets.iter().map(|d| view(d, &self.lens)).collect(),
        };
        let mut json = serde_json::to_vec_pretty(&document).expect("stats serialize");
        json.push(b'\n');
        let mut written = vec![AtomicFile::write(&dir.join("stats.json"), &json)?];
        written.extend(crate::report::write_summary_csv(dir, &self.tallies())?);
        Ok(written)
    }

    /// The table printed at the end: what was kept, per dataset.
    pub fn render(&self) -> String {
        use comfy_table::{CellAlignment, Table, presets};
        let mut table = Table::new();
        table.load_preset(presets::ASCII_MARKDOWN).set_header(vec![
            "Dataset", "Rows in", "Kept", "Kept %", "Rejected", "Failed", "Skipped", "MB in",
            "MB out",
        ]);
        let total = self.total();
        let mut rows: Vec<&DatasetStats> = self.datasets.iter().collect();
        if self.datasets.len() > 1 {
            rows.push(&total);
        }
        for d in rows {
            table.add_row(vec![
                d.name.clone(),
                d.rows_in.to_string(),
                d.rows_kept.to_string(),
                format!(
                    "{:.2}%",
                    100.0 * d.rows_kept as f64 / d.rows_in.max(1) as f64
                ),
                d.rows_rejected.to_string(),
                d.rows_failed.to_string(),
                d.rows_skipped.to_string(),
                format!("{:.1}", d.bytes_in as f64 / 1e6),
                format!("{:.1}", d.bytes_out as f64 / 1e6),
            ]);
        }
        for (i, column) in table.column_iter_mut().enumerate() {
            if i > 0 {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        let mut out = format!("Kept rows (lens {})\n{table}\n", self.lens.name);
        if let Some(t) = self.rule.threshold {
            out.push_str(&format!(
                "--top {}%: kept rows whose {} is at least {t} (every row tied at the cut is kept)\n",
                self.rule.top_percent.unwrap_or(0.0),
                self.lens.labels.last().map(String::as_str).unwrap_or("score")
            ));
        }
        out
    }
}
