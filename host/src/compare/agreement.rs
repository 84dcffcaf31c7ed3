//! Agreement between two raters on the rows both rated: per score label exact agreement,
//! quadratic-weighted Cohen's kappa with a bootstrap interval, Spearman's correlation and the mean
//! absolute difference; the bucket confusion matrix; and the rows where they differ most. The
//! statistics are `crate::stats`'.

use super::ratings::Rated;
use crate::stats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bootstrap resamples for the kappa interval, and its seed (the same rows give the same interval).
pub const RESAMPLES: usize = 1000;
pub const SEED: u64 = 42;
/// Rows listed as the most disagreeing.
pub const DISAGREEMENTS: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LabelAgreement {
    pub label: String,
    /// Share of rows where both gave the same score, 0–1.
    pub exact: f64,
    /// Quadratic-weighted kappa, `None` when chance explains everything (one constant class).
    pub kappa: Option<f64>,
    /// Its 95% percentile bootstrap interval.
    pub kappa_low: Option<f64>,
    pub kappa_high: Option<f64>,
    /// `None` when either rater gave one constant score.
    pub spearman: Option<f64>,
    pub mean_absolute_difference: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Disagreement {
    pub row: u64,
    /// `|a - b|` of the last score label (the one the bucket rule weighs).
    pub difference: f64,
    pub a_scores: Vec<f64>,
    pub b_scores: Vec<f64>,
    pub a_bucket: String,
    pub b_bucket: String,
    pub a_rationale: String,
    pub b_rationale: String,
    pub text: String,
}

/// One dataset's agreement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetAgreement {
    pub dataset: String,
    /// Rows both raters rated (what every number below is over).
    pub both: u64,
    pub only_a: u64,
    pub only_b: u64,
    pub labels: Vec<LabelAgreement>,
    pub bucket_names: Vec<String>,
    /// `matrix[i][j]`: rows A put in bucket i and B in bucket j.
    pub bucket_matrix: Vec<Vec<u64>>,
    /// Share of rows both put in the same bucket, 0–1.
    pub bucket_agreement: f64,
    pub disagreements: Vec<Disagreement>,
}

/// The sorted distinct values of two score columns: the ordered classes kappa weighs.
fn classes(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut all: Vec<f64> = a.iter().chain(b).copied().collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    all
}

fn label_agreement(label: &str, a: &[f64], b: &[f64]) -> LabelAgreement {
    let classes = classes(a, b);
    let kappa = stats::quadratic_kappa(&classes, a, b);
    let interval = kappa.and_then(|_| {
        stats::bootstrap(a.len(), RESAMPLES, 0.95, SEED, |picks| {
            let pa: Vec<f64> = picks.iter().map(|&i| a[i]).collect();
            let pb: Vec<f64> = picks.iter().map(|&i| b[i]).collect();
            stats::quadratic_kappa(&classes, &pa, &pb)
        })
    });
    LabelAgreement {
        label: label.to_string(),
        exact: stats::accuracy(a, b),
        kappa,
        kappa_low: interval.map(|i| i.0),
        kappa_high: interval.map(|i| i.1),
        spearman: stats::spearman(a, b),
        mean_absolute_difference: stats::mean_absolute_error(a, b),
    }
}

/// Compare A's and B's ratings of one dataset. `labels` are the score labels both share;
/// `bucket_names` the buckets in report order.
pub fn agreement(
    dataset: &str,
    labels: &[String],
    bucket_names: &[String],
    a: &BTreeMap<u64, Rated>,
    b: &BTreeMap<u64, Rated>,
) -> DatasetAgreement {
    let pairs: Vec<(u64, &Rated, &Rated)> = a
        .iter()
        .filter_map(|(row, ra)| b.get(row).map(|rb| (*row, ra, rb)))
        .collect();
    let column = |side: usize, l: usize| -> Vec<f64> {
        pairs
            .iter()
            .map(|(_, ra, rb)| {
                if side == 0 {
                    ra.scores[l]
                } else {
                    rb.scores[l]
                }
            })
            .collect()
    };
    let labels_out = labels
        .iter()
        .enumerate()
        .map(|(l, label)| label_agreement(label, &column(0, l), &column(1, l)))
        .collect();

    let mut names: Vec<String> = bucket_names.to_vec();
    for (_, ra, rb) in &pairs {
        for b in [&ra.bucket, &rb.bucket] {
            if !names.contains(b) {
                names.push(b.clone());
            }
        }
    }
    let a_buckets: Vec<&String> = pairs.iter().map(|p| &p.1.bucket).collect();
    let b_buckets: Vec<&String> = pairs.iter().map(|p| &p.2.bucket).collect();
    let name_refs: Vec<&String> = names.iter().collect();

    let last = labels.len().saturating_sub(1);
    let mut disagreements: Vec<Disagreement> = pairs
        .iter()
        .map(|(row, ra, rb)| Disagreement {
            row: *row,
            difference: (ra.scores[last] - rb.scores[last]).abs(),
            a_scores: ra.scores.clone(),
            b_scores: rb.scores.clone(),
            a_bucket: ra.bucket.clone(),
            b_bucket: rb.bucket.clone(),
            a_rationale: ra.rationale.clone(),
            b_rationale: rb.rationale.clone(),
            text: ra.preview.clone(),
        })
        .filter(|d| d.difference > 0.0 || d.a_bucket != d.b_bucket)
        .collect();
    // The largest difference of the last score first, then the largest over all scores, then row order.
    let total = |d: &Disagreement| -> f64 {
        d.a_scores
            .iter()
            .zip(&d.b_scores)
            .map(|(x, y)| (x - y).abs())
            .sum()
    };
    disagreements.sort_by(|x, y| {
        y.difference
            .total_cmp(&x.difference)
            .then(total(y).total_cmp(&total(x)))
            .then(x.row.cmp(&y.row))
    });
    disagreements.truncate(DISAGREEMENTS);

    DatasetAgreement {
        dataset: dataset.to_string(),
        both: pairs.len() as u64,
        only_a: a.keys().filter(|r| !b.contains_key(r)).count() as u64,
        only_b: b.keys().filter(|r| !a.contains_key(r)).count() as u64,
        labels: labels_out,
        bucket_matrix: stats::confusion(&name_refs, &a_buckets, &b_buckets),
        bucket_agreement: stats::accuracy(&a_buckets, &b_buckets),
        bucket_names: names,
        disagreements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rated(score: f64, bucket: &str) -> Rated {
        Rated {
            scores: vec![score],
            bucket: bucket.into(),
            rationale: format!("said {score}"),
            preview: String::new(),
        }
    }

    #[test]
    fn agreement_of_two_raters_against_values_computed_independently() {
        // A: 1 2 3 3 2 1 3 2; B: 1 2 3 2 2 1 3 3 on 8 rows (row 9 only A has, row 10 only B).
        // Computed independently in Python from the definitions: quadratic-weighted kappa
        // (weights (i-j)²/(k-1)², expected from the margins) = 31/39 = 0.7948717949; Spearman
        // (Pearson of average ranks, ties 1.5/4/7 on both sides) = 0.76; exact agreement 6/8 = 0.75;
        // mean |a-b| = 2/8 = 0.25.
        let a_scores = [1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 3.0, 2.0];
        let b_scores = [1.0, 2.0, 3.0, 2.0, 2.0, 1.0, 3.0, 3.0];
        let bucket = |s: f64| if s >= 3.0 { "Good" } else { "Poor" };
        let mut a: BTreeMap<u64, Rated> = a_scores
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u64, rated(*s, bucket(*s))))
            .collect();
        let mut b: BTreeMap<u64, Rated> = b_scores
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u64, rated(*s, bucket(*s))))
            .collect();
        a.insert(9, rated(1.0, "Poor"));
        b.insert(10, rated(1.0, "Poor"));
        let got = agreement(
            "d",
            &["overall".to_string()],
            &["Poor".to_string(), "Good".to_string()],
            &a,
            &b,
        );
        assert_eq!((got.both, got.only_a, got.only_b), (8, 1, 1));
        let l = &got.labels[0];
        assert_eq!(l.exact, 0.75);
        assert!((l.kappa.unwrap() - 31.0 / 39.0).abs() < 1e-9, "{l:?}");
        assert!((l.spearman.unwrap() - 0.76).abs() < 1e-9, "{l:?}");
        assert_eq!(l.mean_absolute_difference, 0.25);
        let (lo, hi) = (l.kappa_low.unwrap(), l.kappa_high.unwrap());
        assert!(lo <= 0.79 && (0.8..=1.0).contains(&hi), "{lo}..{hi}");
        // Buckets: rows 3 (Good→Poor) and 7 (Poor→Good) differ.
        assert_eq!(got.bucket_matrix, vec![vec![4, 1], vec![1, 2]]);
        assert_eq!(got.bucket_agreement, 0.75);
        let rows: Vec<u64> = got.disagreements.iter().map(|d| d.row).collect();
        assert_eq!(rows, vec![3, 7]);
        assert_eq!(got.disagreements[0].a_rationale, "said 3");
        assert_eq!(got.disagreements[0].b_rationale, "said 2");
    }
}
