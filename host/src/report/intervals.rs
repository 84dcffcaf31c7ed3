//! Bucket shares and score means with their 95% intervals, as every summary shows them (terminal,
//! `--json`, report.html). The statistics themselves are `crate::stats`'.

use super::scores::LabelDistribution;
use crate::stats::{self, Z95};
use serde::Serialize;

/// A bucket's share of rated rows, in percent, with its 95% Wilson interval.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Share {
    pub bucket: String,
    pub rows: u64,
    pub percent: f64,
    pub low: f64,
    pub high: f64,
}

/// A score label's mean over rated rows with its 95% normal interval.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mean {
    pub label: String,
    pub rated: u64,
    /// `None` before any row is rated.
    pub mean: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Share {
    /// Half the interval's width in percentage points: the `±` printed beside the share. (Wilson
    /// intervals are not symmetric; the bounds themselves are in `low` and `high`.)
    pub fn plus_minus(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

/// Each bucket's share of `rated` rows.
pub fn shares(counts: &[(String, u64)], rated: u64) -> Vec<Share> {
    counts
        .iter()
        .map(|(bucket, rows)| {
            let i = stats::wilson(*rows, rated, Z95);
            Share {
                bucket: bucket.clone(),
                rows: *rows,
                percent: 100.0 * i.estimate,
                // Rounding can put a bound a hair past the share at 0% or 100%.
                low: 100.0 * i.low.min(i.estimate),
                high: 100.0 * i.high.max(i.estimate),
            }
        })
        .collect()
}

/// Each label's mean and interval.
pub fn means(distributions: &[LabelDistribution]) -> Vec<Mean> {
    distributions
        .iter()
        .map(|d| {
            let interval = (d.rated > 0).then(|| stats::mean_interval(&d.expand(), Z95));
            Mean {
                label: d.label.clone(),
                rated: d.rated,
                mean: interval.map(|i| i.estimate),
                low: interval.map(|i| i.low),
                high: interval.map(|i| i.high),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::scores::ScoreStats;

    #[test]
    fn shares_are_percent_with_wilson_bounds() {
        // 20 of 23 rated rows Good. Wilson 95% for 20/23, computed independently in Python from
        // the textbook formula (p = 20/23, z = 1.959964): (0.678725, 0.954623).
        let s = shares(&[("Good".into(), 20), ("Poor".into(), 3)], 23);
        assert!((s[0].percent - 86.9565).abs() < 1e-3, "{s:?}");
        assert!((s[0].low - 67.8725).abs() < 1e-3, "{s:?}");
        assert!((s[0].high - 95.4623).abs() < 1e-3, "{s:?}");
        assert!((s[0].plus_minus() - 13.7949).abs() < 1e-3, "{s:?}");
        // Nothing rated: nothing known, the whole range.
        let none = shares(&[("Good".into(), 0)], 0);
        // 0 of 7: the interval starts exactly at the share.
        let zero = shares(&[("Low".into(), 0)], 7);
        assert_eq!(zero[0].low, zero[0].percent);
        assert_eq!((none[0].low, none[0].high), (0.0, 100.0));
    }

    #[test]
    fn means_come_from_every_rated_value() {
        // Values 1, 2, 3, 3: mean 2.25, sample sd 0.957427, se 0.478714; Python's statistics.stdev
        // gives the bounds 2.25 ∓ 1.959964·se = (1.311739, 3.188261).
        let mut scores = ScoreStats::new(&["overall".to_string()]);
        for v in [1.0, 2.0, 3.0, 3.0] {
            scores.add(&[v]);
        }
        let m = &means(&scores.distributions())[0];
        assert_eq!(m.mean, Some(2.25));
        assert!((m.high.unwrap() - 3.1882).abs() < 1e-3, "{m:?}");
        assert!((m.low.unwrap() - 1.3118).abs() < 1e-3, "{m:?}");
    }
}
