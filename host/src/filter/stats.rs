//! What a filter run counts, per dataset: rows and bytes in and out, buckets, score histograms,
//! failures and skips, and exact score sums. Every field merges exactly (counts add, sums are
//! [`ExactSum`]s, the first example message of the earliest shard wins), so the shards of a run
//! merge into the very numbers one process would have counted.

use super::exact_sum::ExactSum;
use crate::pipeline::rate::{RowOutcome, Status};
use crate::report::Tally;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Histogram bins are this wide: scores are small numbers (1–3, 0–5, 0–1 for most lenses).
const BIN_WIDTH: f64 = 0.1;

/// One more of `key` (allocating a key only the first time it is seen: this runs for every row).
fn count(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// The name of the histogram bin `score` falls in: its lower edge with one decimal (`"2.3"` holds
/// [2.3, 2.4)), exactly as `format!("{:.1}", edge)` writes it, but in integers and on the stack:
/// exact float formatting cost more than the rest of counting a row.
fn bin_name(score: f64, buf: &mut [u8; 32]) -> std::borrow::Cow<'_, str> {
    use std::io::Write;
    let edge = (score / BIN_WIDTH).floor();
    // Far outside any score range, or not a number: the float's own formatting.
    if !(edge.is_finite() && edge.abs() < 1e15) || (edge == 0.0 && edge.is_sign_negative()) {
        return format!("{:.1}", edge * BIN_WIDTH).into();
    }
    let tenths = edge as i64;
    let sign = if tenths < 0 { "-" } else { "" };
    let (whole, tenth) = (tenths.unsigned_abs() / 10, tenths.unsigned_abs() % 10);
    let mut out = &mut buf[..];
    write!(out, "{sign}{whole}.{tenth}").expect("at most 18 bytes");
    let len = 32 - out.len();
    std::str::from_utf8(&buf[..len])
        .expect("written from str")
        .into()
}

/// Why a row ended where it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Kept,
    /// Rated, but the rule did not keep it.
    Rejected,
    Failed,
    Skipped,
}

/// Rows that failed with one kind at one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failures {
    pub rows: u64,
    /// The first failure's message.
    pub example: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    pub name: String,
    pub rows_in: u64,
    pub rows_kept: u64,
    pub rows_rejected: u64,
    pub rows_failed: u64,
    pub rows_skipped: u64,
    /// Bytes of input read: whole files, or the compressed row groups of a Parquet range.
    pub bytes_in: u64,
    /// Bytes of the kept-row part files written.
    pub bytes_out: u64,
    pub parts: u64,
    /// Rated rows per bucket.
    pub buckets: BTreeMap<String, u64>,
    /// Per score label: rated rows per bin (`"2.3"` holds scores in [2.3, 2.4)).
    pub histograms: BTreeMap<String, BTreeMap<String, u64>>,
    /// `stage/kind` → rows and an example message.
    pub failures: BTreeMap<String, Failures>,
    /// Skip reason → rows.
    pub skips: BTreeMap<String, u64>,
    /// Exact per-label sums of rated rows' scores (for means.csv).
    pub sums: Vec<ExactSum>,
}

impl DatasetStats {
    pub fn new(name: &str, labels: usize) -> DatasetStats {
        DatasetStats {
            name: name.to_string(),
            sums: vec![ExactSum::default(); labels],
            ..Default::default()
        }
    }

    /// Count one row's outcome and what the rule made of it.
    pub fn record(&mut self, outcome: &RowOutcome, labels: &[String], verdict: Verdict) {
        self.record_status(&outcome.status, labels, verdict);
    }

    /// [`DatasetStats::record`] from the row's status alone.
    pub fn record_status(&mut self, status: &Status, labels: &[String], verdict: Verdict) {
        self.rows_in += 1;
        match verdict {
            Verdict::Kept => self.rows_kept += 1,
            Verdict::Rejected => self.rows_rejected += 1,
            Verdict::Failed => self.rows_failed += 1,
            Verdict::Skipped => self.rows_skipped += 1,
        }
        match status {
            Status::Rated { scores, bucket } => {
                count(&mut self.buckets, bucket);
                for ((label, sum), &score) in labels.iter().zip(&mut self.sums).zip(&scores.scores)
                {
                    sum.add(score);
                    let histogram = match self.histograms.get_mut(label) {
                        Some(h) => h,
                        None => self.histograms.entry(label.clone()).or_default(),
                    };
                    let mut name = [0u8; 32];
                    count(histogram, &bin_name(score, &mut name));
                }
            }
            Status::Failed(e) => {
                self.failures
                    .entry(format!("{}/{}", e.stage, e.kind))
                    .or_insert_with(|| Failures {
                        rows: 0,
                        example: e.message.clone(),
                    })
                    .rows += 1;
            }
            Status::Skipped(reason) => *self.skips.entry(reason.clone()).or_default() += 1,
            Status::Planned => {}
        }
    }

    /// Add a later shard's counts (shards are merged in order, so examples stay the earliest).
    pub fn absorb(&mut self, other: &DatasetStats) {
        self.rows_in += other.rows_in;
        self.rows_kept += other.rows_kept;
        self.rows_rejected += other.rows_rejected;
        self.rows_failed += other.rows_failed;
        self.rows_skipped += other.rows_skipped;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.parts += other.parts;
        for (k, v) in &other.buckets {
            *self.buckets.entry(k.clone()).or_default() += v;
        }
        for (label, bins) in &other.histograms {
            let mine = self.histograms.entry(label.clone()).or_default();
            for (bin, n) in bins {
                *mine.entry(bin.clone()).or_default() += n;
            }
        }
        for (k, f) in &other.failures {
            self.failures
                .entry(k.clone())
                .or_insert_with(|| Failures {
                    rows: 0,
                    example: f.example.clone(),
                })
                .rows += f.rows;
        }
        for (k, v) in &other.skips {
            *self.skips.entry(k.clone()).or_default() += v;
        }
        if self.sums.len() < other.sums.len() {
            self.sums.resize(other.sums.len(), ExactSum::default());
        }
        for (mine, theirs) in self.sums.iter_mut().zip(&other.sums) {
            mine.absorb(theirs);
        }
    }

    /// The tally `summary.csv` and `means.csv` are written from: these rows, rated by `lens`.
    pub fn tally(&self, lens: &str, labels: &[String], bucket_names: &[String]) -> Tally {
        let mut t = Tally::new(&self.name, lens, labels, bucket_names.to_vec());
        t.rated = self.buckets.values().sum();
        t.failed = self.rows_failed;
        t.skipped = self.rows_skipped;
        t.buckets = self.buckets.clone();
        for b in self.buckets.keys() {
            if !t.bucket_names.contains(b) {
                t.bucket_names.push(b.clone());
            }
        }
        t.skip_reasons = self.skips.clone();
        t.set_sums(self.sums.iter().map(ExactSum::value).collect());
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::rate::Usage;
    use crate::pipeline::{FailureKind, RowScores, Stage, StageError};

    #[test]
    fn bin_names_are_the_float_formatting_of_the_lower_edge() {
        let mut scores: Vec<f64> = (-400..=400).map(|k| k as f64 * 0.0125).collect();
        scores.extend([
            0.0,
            -0.0,
            1e-12,
            -1e-12,
            2.9999999,
            1e20,
            -1e20,
            f64::NAN,
            f64::INFINITY,
        ]);
        for score in scores {
            let mut buf = [0u8; 32];
            let want = format!("{:.1}", (score / BIN_WIDTH).floor() * BIN_WIDTH);
            assert_eq!(bin_name(score, &mut buf), want, "{score}");
        }
    }

    fn rated(score: f64, bucket: &str) -> RowOutcome {
        RowOutcome {
            index: 0,
            status: Status::Rated {
                scores: RowScores {
                    scores: vec![score],
                },
                bucket: bucket.into(),
            },
            chunks: Vec::new(),
            usage: Usage::default(),
        }
    }

    #[test]
    fn shards_merge_into_the_counts_of_one_pass() {
        let labels = vec!["overall".to_string()];
        let failed = RowOutcome {
            status: Status::Failed(StageError::new(Stage::Score, FailureKind::Trap, "boom")),
            ..rated(0.0, "")
        };
        let skipped = RowOutcome {
            status: Status::Skipped("too short".into()),
            ..rated(0.0, "")
        };
        let rows = [
            (rated(2.25, "Good"), Verdict::Kept),
            (failed, Verdict::Failed),
            (rated(0.3, "Poor"), Verdict::Rejected),
            (skipped, Verdict::Skipped),
            (rated(2.95, "Good"), Verdict::Kept),
        ];
        let mut whole = DatasetStats::new("d", 1);
        rows.iter().for_each(|(o, v)| whole.record(o, &labels, *v));
        let mut merged = DatasetStats::new("d", 1);
        for part in rows.chunks(2) {
            let mut shard = DatasetStats::new("d", 1);
            part.iter().for_each(|(o, v)| shard.record(o, &labels, *v));
            merged.absorb(&shard);
        }
        assert_eq!(merged, whole);
        assert_eq!(
            (whole.rows_in, whole.rows_kept, whole.rows_rejected),
            (5, 2, 1)
        );
        assert_eq!(whole.failures["score/trap"].rows, 1);
        assert_eq!(whole.histograms["overall"]["2.2"], 1);
        assert_eq!(whole.histograms["overall"]["2.9"], 1);
        let t = whole.tally("lens", &labels, &["Poor".into(), "Good".into()]);
        assert_eq!((t.rated, t.failed, t.skipped), (3, 1, 1));
        assert!((t.means()[0].unwrap() - 5.5 / 3.0).abs() < 1e-12);
    }
}
