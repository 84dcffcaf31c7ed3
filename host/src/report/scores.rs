//! The distribution of each score label over rated rows, kept as exact counts per value so a
//! million rows cost a few map entries (scores are small integers, or means of a few of them).

use serde::Serialize;
use std::collections::BTreeMap;

/// Score values are counted at this resolution: a mean over up to a few hundred chunks of integer
/// scores differs from its neighbours by far more.
const RESOLUTION: f64 = 1e6;

/// Counts per score value, per label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreStats {
    labels: Vec<String>,
    counts: Vec<BTreeMap<i64, u64>>,
    sums: Vec<f64>,
}

/// One label's distribution as the report shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LabelDistribution {
    pub label: String,
    pub rated: u64,
    /// `(value, rows)` in increasing value order.
    pub values: Vec<(f64, u64)>,
}

impl ScoreStats {
    pub fn new(labels: &[String]) -> ScoreStats {
        ScoreStats {
            labels: labels.to_vec(),
            counts: vec![BTreeMap::new(); labels.len()],
            sums: vec![0.0; labels.len()],
        }
    }

    /// One rated row's scores, aligned with the labels (extra values are ignored).
    pub fn add(&mut self, scores: &[f64]) {
        for ((counts, sum), &s) in self.counts.iter_mut().zip(&mut self.sums).zip(scores) {
            *sum += s;
            *counts.entry((s * RESOLUTION).round() as i64).or_default() += 1;
        }
    }

    /// Another part of the same dataset × lens (a shard): counts add up.
    pub fn merge(&mut self, other: &ScoreStats) {
        for ((counts, sum), (theirs, their_sum)) in self
            .counts
            .iter_mut()
            .zip(&mut self.sums)
            .zip(other.counts.iter().zip(&other.sums))
        {
            *sum += their_sum;
            for (value, n) in theirs {
                *counts.entry(*value).or_default() += n;
            }
        }
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Mean per label over `rated` rows (`None` before any row is rated).
    pub fn means(&self, rated: u64) -> Vec<Option<f64>> {
        self.sums
            .iter()
            .map(|s| (rated > 0).then(|| s / rated as f64))
            .collect()
    }

    /// Each label's values and how many rows have each.
    pub fn distributions(&self) -> Vec<LabelDistribution> {
        self.labels
            .iter()
            .zip(&self.counts)
            .map(|(label, counts)| LabelDistribution {
                label: label.clone(),
                rated: counts.values().sum(),
                values: counts
                    .iter()
                    .map(|(v, n)| (*v as f64 / RESOLUTION, *n))
                    .collect(),
            })
            .collect()
    }
}

impl LabelDistribution {
    /// Every rated value, one per row, in increasing order (what a statistic over values takes).
    pub fn expand(&self) -> Vec<f64> {
        self.values
            .iter()
            .flat_map(|(v, n)| std::iter::repeat_n(*v, *n as usize))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_counted_exactly_and_shards_add_up() {
        let labels = ["depth".to_string(), "overall".to_string()];
        let mut a = ScoreStats::new(&labels);
        a.add(&[1.0, 3.0]);
        a.add(&[2.5, 3.0]);
        let mut b = ScoreStats::new(&labels);
        b.add(&[1.0, 1.0]);
        a.merge(&b);
        let d = a.distributions();
        assert_eq!(d[0].values, vec![(1.0, 2), (2.5, 1)]);
        assert_eq!(d[1].values, vec![(1.0, 1), (3.0, 2)]);
        assert_eq!(d[1].rated, 3);
        assert_eq!(d[0].expand(), vec![1.0, 1.0, 2.5]);
        assert_eq!(a.means(3), vec![Some(4.5 / 3.0), Some(7.0 / 3.0)]);
        assert_eq!(ScoreStats::new(&labels).means(0), vec![None, None]);
    }
}
