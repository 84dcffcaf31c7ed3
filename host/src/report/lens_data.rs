//! Everything the HTML report shows about one dataset × lens, gathered in one pass over its
//! per-row Parquet (or several, for shards of one run): counts, buckets, score distributions,
//! failures, skips, and the rows the example browser shows.

use super::parquet_rows::FileMeta;
use super::read::StoredRow;
use super::scores::ScoreStats;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Rows shown per bucket at each end (highest and lowest scoring).
pub const EXAMPLES_PER_END: usize = 5;
/// Failed rows shown with their error: the first ones by row number.
pub const FAILED_EXAMPLES: usize = 10;

/// A row the example browser shows. Its text comes from the JSONL later.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub row: u64,
    pub scores: Vec<Option<f64>>,
    /// Per rationale label, one entry per chunk.
    pub rationales: Vec<Vec<String>>,
    /// `failed` rows: kind, stage and message.
    pub error: Option<String>,
    pub error_kind: Option<String>,
}

/// One dataset × lens, tallied from its stored rows.
#[derive(Debug, Clone)]
pub struct LensData {
    pub meta: FileMeta,
    /// The JSONL stems the rows came from (one per shard).
    pub stems: Vec<String>,
    pub rated: u64,
    pub failed: u64,
    pub skipped: u64,
    pub planned: u64,
    /// Rows whose every prompt came from the cache.
    pub cached_rows: u64,
    pub buckets: BTreeMap<String, u64>,
    /// Failure kind → (rows, one example message).
    pub failures: BTreeMap<String, (u64, String)>,
    pub skip_reasons: BTreeMap<String, u64>,
    pub scores: ScoreStats,
    /// Per bucket: the highest-scoring rows, best first, and the lowest, worst first.
    pub top: BTreeMap<String, Vec<Example>>,
    pub bottom: BTreeMap<String, Vec<Example>>,
    pub failed_examples: Vec<Example>,
}

/// How high a row scores: the last score (the one the bucket rule weighs), then the mean of all.
fn score_order(a: &Example, b: &Example) -> Ordering {
    let last = |e: &Example| e.scores.last().copied().flatten().unwrap_or(f64::NAN);
    let mean = |e: &Example| {
        let v: Vec<f64> = e.scores.iter().flatten().copied().collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    last(a)
        .total_cmp(&last(b))
        .then(mean(a).total_cmp(&mean(b)))
}

/// Highest-scoring first; among equals, the earlier row.
fn rank(a: &Example, b: &Example) -> Ordering {
    score_order(b, a).then(a.row.cmp(&b.row))
}

/// Lowest-scoring first; among equals, the earlier row.
fn rank_low(a: &Example, b: &Example) -> Ordering {
    score_order(a, b).then(a.row.cmp(&b.row))
}

/// Keep the `n` first of `list` in `order` after adding `e`.
fn keep(
    list: &mut Vec<Example>,
    e: Example,
    n: usize,
    order: impl Fn(&Example, &Example) -> Ordering,
) {
    let at = list.partition_point(|x| order(x, &e) != Ordering::Greater);
    if at < n {
        list.insert(at, e);
        list.truncate(n);
    }
}

impl LensData {
    pub fn new(meta: FileMeta) -> LensData {
        LensData {
            scores: ScoreStats::new(&meta.labels),
            meta,
            stems: Vec::new(),
            rated: 0,
            failed: 0,
            skipped: 0,
            planned: 0,
            cached_rows: 0,
            buckets: BTreeMap::new(),
            failures: BTreeMap::new(),
            skip_reasons: BTreeMap::new(),
            top: BTreeMap::new(),
            bottom: BTreeMap::new(),
            failed_examples: Vec::new(),
        }
    }

    pub fn add(&mut self, row: StoredRow) {
        if row.cached == Some(true) {
            self.cached_rows += 1;
        }
        let example = |row: StoredRow| Example {
            row: row.row,
            scores: row.scores,
            rationales: row.rationales,
            error: row.error,
            error_kind: row.error_kind,
        };
        match row.status.as_str() {
            "rated" => {
                self.rated += 1;
                let bucket = row.bucket.clone().unwrap_or_default();
                *self.buckets.entry(bucket.clone()).or_default() += 1;
                if !self.meta.bucket_names.contains(&bucket) {
                    self.meta.bucket_names.push(bucket.clone());
                }
                let values: Vec<f64> = row.scores.iter().map(|s| s.unwrap_or(f64::NAN)).collect();
                self.scores.add(&values);
                let e = example(row);
                keep(
                    self.top.entry(bucket.clone()).or_default(),
                    e.clone(),
                    EXAMPLES_PER_END,
                    rank,
                );
                keep(
                    self.bottom.entry(bucket).or_default(),
                    e,
                    EXAMPLES_PER_END,
                    rank_low,
                );
            }
            "failed" => {
                self.failed += 1;
                let kind = row.error_kind.clone().unwrap_or_else(|| "unknown".into());
                let message = row.error.clone().unwrap_or_default();
                self.failures.entry(kind).or_insert((0, message)).0 += 1;
                if self.failed_examples.len() < FAILED_EXAMPLES {
                    self.failed_examples.push(example(row));
                }
            }
            "skipped" => {
                self.skipped += 1;
                let reason = row.skipped.or(row.error).unwrap_or_default();
                *self.skip_reasons.entry(reason).or_default() += 1;
            }
            _ => self.planned += 1,
        }
    }

    /// Fold in another shard of the same dataset × lens.
    pub fn merge(&mut self, other: LensData) {
        self.stems.extend(other.stems);
        self.rated += other.rated;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.planned += other.planned;
        self.cached_rows += other.cached_rows;
        for b in other.meta.bucket_names {
            if !self.meta.bucket_names.contains(&b) {
                self.meta.bucket_names.push(b);
            }
        }
        for (b, n) in other.buckets {
            *self.buckets.entry(b).or_default() += n;
        }
        for (k, (n, example)) in other.failures {
            self.failures.entry(k).or_insert((0, example)).0 += n;
        }
        for (r, n) in other.skip_reasons {
            *self.skip_reasons.entry(r).or_default() += n;
        }
        self.scores.merge(&other.scores);
        for (b, list) in other.top {
            let mine = self.top.entry(b).or_default();
            list.into_iter()
                .for_each(|e| keep(mine, e, EXAMPLES_PER_END, rank));
        }
        for (b, list) in other.bottom {
            let mine = self.bottom.entry(b).or_default();
            list.into_iter()
                .for_each(|e| keep(mine, e, EXAMPLES_PER_END, rank_low));
        }
        // The first failed rows by row number, whichever shard came first: what one file would give.
        self.failed_examples.extend(other.failed_examples);
        self.failed_examples.sort_by_key(|e| e.row);
        self.failed_examples.truncate(FAILED_EXAMPLES);
    }

    /// Rows seen in every status.
    pub fn rows(&self) -> u64 {
        self.rated + self.failed + self.skipped + self.planned
    }

    /// Bucket names in report order with their counts.
    pub fn bucket_counts(&self) -> Vec<(String, u64)> {
        self.meta
            .bucket_names
            .iter()
            .map(|b| (b.clone(), *self.buckets.get(b).unwrap_or(&0)))
            .collect()
    }

    /// Every row the example browser shows, for fetching their texts.
    pub fn example_rows(&self) -> Vec<u64> {
        let mut rows: Vec<u64> = self
            .top
            .values()
            .chain(self.bottom.values())
            .flatten()
            .chain(&self.failed_examples)
            .map(|e| e.row)
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rated(row: u64, overall: f64, bucket: &str) -> StoredRow {
        StoredRow {
            row,
            status: "rated".into(),
            bucket: Some(bucket.into()),
            scores: vec![Some(1.0), Some(overall)],
            error: None,
            error_kind: None,
            error_stage: None,
            skipped: None,
            cached: Some(row.is_multiple_of(2)),
            rationales: vec![vec![format!("why {row}")]],
        }
    }

    fn meta() -> FileMeta {
        FileMeta {
            format: 1,
            dataset: "d".into(),
            lens: "l".into(),
            labels: vec!["depth".into(), "overall".into()],
            rationale_labels: vec!["why".into()],
            bucket_names: vec!["Poor".into(), "Good".into()],
        }
    }

    #[test]
    fn buckets_keep_their_highest_and_lowest_rows_and_shards_merge_to_the_same() {
        let rows: Vec<StoredRow> = (0..20)
            .map(|i| rated(i, (i % 7) as f64, if i < 10 { "Poor" } else { "Good" }))
            .collect();
        let mut one = LensData::new(meta());
        rows.iter().cloned().for_each(|r| one.add(r));
        let top: Vec<u64> = one.top["Poor"].iter().map(|e| e.row).collect();
        // Poor rows 0..10 score 0,1,2,3,4,5,6,0,1,2: highest 6 (row 6), 5, 4, 3, then 2 (row 2 before 9).
        assert_eq!(top, vec![6, 5, 4, 3, 2]);
        let bottom: Vec<u64> = one.bottom["Poor"].iter().map(|e| e.row).collect();
        // Lowest: 0 (rows 0 and 7), then 1 (rows 1 and 8), then 2 (row 2 before 9).
        assert_eq!(bottom, vec![0, 7, 1, 8, 2]);
        assert_eq!(one.cached_rows, 10);

        let mut a = LensData::new(meta());
        let mut b = LensData::new(meta());
        rows.iter().take(7).cloned().for_each(|r| a.add(r));
        rows.iter().skip(7).cloned().for_each(|r| b.add(r));
        a.merge(b);
        assert_eq!(a.top, one.top);
        assert_eq!(a.bottom, one.bottom);
        assert_eq!(a.scores, one.scores);
        assert_eq!(
            (a.rated, a.buckets.clone()),
            (one.rated, one.buckets.clone())
        );
    }

    #[test]
    fn failures_count_by_kind_with_an_example_and_skips_by_reason() {
        let mut d = LensData::new(meta());
        for i in 0..3 {
            d.add(StoredRow {
                status: "failed".into(),
                bucket: None,
                scores: vec![None, None],
                error: Some(format!("call timeout: took too long {i}")),
                error_kind: Some("timeout".into()),
                error_stage: Some("call".into()),
                ..rated(i, 0.0, "")
            });
        }
        d.add(StoredRow {
            status: "skipped".into(),
            bucket: None,
            skipped: Some("too short".into()),
            ..rated(9, 0.0, "")
        });
        assert_eq!(
            d.failures["timeout"],
            (3, "call timeout: took too long 0".to_string())
        );
        assert_eq!(d.skip_reasons["too short"], 1);
        assert_eq!(d.failed_examples.len(), 3);
        assert_eq!(d.rows(), 4);
        assert_eq!(d.example_rows(), vec![0, 1, 2]);

        // Shards merged in either order keep the first failed rows by row number.
        let failed = |row| StoredRow {
            status: "failed".into(),
            error_kind: Some("timeout".into()),
            ..rated(row, 0.0, "")
        };
        let mut late = LensData::new(meta());
        (20..30).for_each(|r| late.add(failed(r)));
        let mut early = LensData::new(meta());
        (5..8).for_each(|r| early.add(failed(r)));
        late.merge(early);
        let rows: Vec<u64> = late.failed_examples.iter().map(|e| e.row).collect();
        assert_eq!(rows, vec![5, 6, 7, 20, 21, 22, 23, 24, 25, 26]);
    }
}
