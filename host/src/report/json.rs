//! `summary --json`: the whole summary as one JSON object for scripts — per dataset × lens the
//! counts, bucket shares and score means with their 95% intervals, failures and skips — plus the
//! run's settings and spend (`run.json`'s content) and the files written.

use super::Tally;
use super::intervals::{self, Mean, Share};
use super::run_info::RunInfo;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Serialize)]
pub struct SummaryJson<'a> {
    pub run: &'a RunInfo,
    pub results: Vec<Result>,
    pub files: &'a [PathBuf],
}

#[derive(Debug, Serialize)]
pub struct Result {
    pub dataset: String,
    pub lens: String,
    pub rows: u64,
    pub rated: u64,
    pub failed: u64,
    pub skipped: u64,
    pub buckets: Vec<Share>,
    pub means: Vec<Mean>,
    /// Per failure kind: rows, the stage where the first one failed, and its message.
    pub failures: Vec<Failure>,
    pub skipped_reasons: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct Failure {
    pub kind: String,
    pub stage: String,
    pub rows: u64,
    pub example: String,
}

impl Result {
    pub fn new(t: &Tally) -> Result {
        Result {
            dataset: t.dataset.clone(),
            lens: t.lens.clone(),
            rows: t.rows(),
            rated: t.rated,
            failed: t.failed,
            skipped: t.skipped,
            buckets: intervals::shares(&t.bucket_counts(), t.rated),
            means: intervals::means(&t.scores.distributions()),
            failures: t
                .failure_kinds
                .iter()
                .map(|((stage, kind), (rows, example))| Failure {
                    kind: kind.name().into(),
                    stage: stage.name().into(),
                    rows: *rows,
                    example: example.clone(),
                })
                .collect(),
            skipped_reasons: t.skip_reasons.clone(),
        }
    }
}

/// The summary as one line of JSON.
pub fn render_json(run: &RunInfo, tallies: &[Tally], files: &[PathBuf]) -> String {
    let summary = SummaryJson {
        run,
        results: tallies.iter().map(Result::new).collect(),
        files,
    };
    serde_json::to_string(&summary).expect("the summary serializes")
}
