//! Per dataset and lens: bucket counts, score means, failures, skips and token usage.

use super::scores::ScoreStats;
use crate::failure::FailureKind;
use crate::pipeline::Stage;
use crate::pipeline::rate::{RowOutcome, Status, Usage};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Tally {
    pub dataset: String,
    pub lens: String,
    pub labels: Vec<String>,
    /// Bucket names in report order.
    pub bucket_names: Vec<String>,
    pub buckets: BTreeMap<String, u64>,
    pub rated: u64,
    pub failed: u64,
    pub skipped: u64,
    pub planned: u64,
    /// Why rows were skipped, with counts ("too short", "null in column `text`", …).
    pub skip_reasons: BTreeMap<String, u64>,
    /// Why rows failed, by stage and kind, with one example message each.
    pub failure_kinds: BTreeMap<(Stage, FailureKind), (u64, String)>,
    /// Each label's score distribution over rated rows.
    pub scores: ScoreStats,
    pub usage: Usage,
}

impl Tally {
    pub fn new(dataset: &str, lens: &str, labels: &[String], bucket_names: Vec<String>) -> Tally {
        Tally {
            dataset: dataset.to_string(),
            lens: lens.to_string(),
            labels: labels.to_vec(),
            bucket_names,
            buckets: BTreeMap::new(),
            rated: 0,
            failed: 0,
            skipped: 0,
            planned: 0,
            skip_reasons: BTreeMap::new(),
            failure_kinds: BTreeMap::new(),
            scores: ScoreStats::new(labels),
            usage: Usage::default(),
        }
    }

    pub fn record(&mut self, outcome: &RowOutcome) {
        self.usage.add(&outcome.usage);
        match &outcome.status {
            Status::Rated { scores, bucket } => {
                self.rated += 1;
                *self.buckets.entry(bucket.clone()).or_default() += 1;
                if !self.bucket_names.contains(bucket) {
                    // A component may name buckets it did not declare; report them rather than drop rows.
                    self.bucket_names.push(bucket.clone());
                }
                self.scores.add(&scores.scores);
            }
            Status::Failed(e) => {
                self.failed += 1;
                let entry = self
                    .failure_kinds
                    .entry((e.stage, e.kind))
                    .or_insert((0, e.message.clone()));
                entry.0 += 1;
            }
            Status::Skipped(reason) => self.skip(reason),
            Status::Planned => self.planned += 1,
        }
    }

    pub fn skip(&mut self, reason: &str) {
        self.skipped += 1;
        *self.skip_reasons.entry(reason.to_string()).or_default() += 1;
    }

    /// Rows that failed with this kind, at any stage.
    pub fn failed_with(&self, kind: FailureKind) -> u64 {
        self.failure_kinds
            .iter()
            .filter(|((_, k), _)| *k == kind)
            .map(|(_, (n, _))| n)
            .sum()
    }

    /// Every row seen: rated, failed, skipped or planned.
    pub fn rows(&self) -> u64 {
        self.rated + self.failed + self.skipped + self.planned
    }

    /// Mean score per label over rated rows (`None` before any row is rated).
    pub fn means(&self) -> Vec<Option<f64>> {
        self.scores.means(self.rated)
    }

    /// Bucket names in report order with their counts.
    pub fn bucket_counts(&self) -> Vec<(String, u64)> {
        self.bucket_names
            .iter()
            .map(|b| (b.clone(), *self.buckets.get(b).unwrap_or(&0)))
            .collect()
    }

    /// Share of rated rows in a bucket, in percent.
    pub fn percent(&self, bucket: &str) -> f64 {
        if self.rated == 0 {
            return 0.0;
        }
        100.0 * *self.buckets.get(bucket).unwrap_or(&0) as f64 / self.rated as f64
    }
}
