//! The statistics every report, evaluation and comparison shares: intervals, agreement, rank
//! correlation and classification scores. One copy, tested against values computed by hand or by
//! scipy/sklearn and quoted beside each test.

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A point estimate with a lower and an upper bound.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Half the interval's width: the `±` a table prints.
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

/// The Wilson score interval of a proportion: `k` successes out of `n`. Unlike the normal
/// approximation it stays inside [0, 1] and is honest for small `n` and for 0% or 100%.
/// With `n == 0` nothing is known: the interval is [0, 1] around 0.
pub fn wilson(k: u64, n: u64, z: f64) -> Interval {
    if n == 0 {
        return Interval {
            estimate: 0.0,
            low: 0.0,
            high: 1.0,
        };
    }
    let (k, n) = (k.min(n) as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let margin = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval {
        estimate: p,
        low: (centre - margin).max(0.0),
        high: (centre + margin).min(1.0),
    }
}

/// The mean with a normal-approximation interval (`z` standard errors, sample standard
/// deviation). One value, or none, gives a zero-width interval at the mean (0 for none).
pub fn mean_interval(values: &[f64], z: f64) -> Interval {
    let n = values.len() as f64;
    let mean = if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / n
    };
    let se = if values.len() < 2 {
        0.0
    } else {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (var / n).sqrt()
    };
    Interval {
        estimate: mean,
        low: mean - z * se,
        high: mean + z * se,
    }
}

/// Ranks starting at 1, ties sharing the average of the ranks they span (as scipy's `rankdata`).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) hold ranks i+1..=j+1; their average:
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// Pearson's correlation; `None` when either side is constant or there are fewer than 2 pairs.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len().min(b.len());
    if n < 2 {
        return None;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let ma = a.iter().sum::<f64>() / n as f64;
    let mb = b.iter().sum::<f64>() / n as f64;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma).powi(2);
        vb += (y - mb).powi(2);
    }
    if va == 0.0 || vb == 0.0 {
        return None;
    }
    Some(cov / (va * vb).sqrt())
}

/// Spearman's rank correlation with ties (Pearson's on average ranks, as scipy's `spearmanr`);
/// `None` when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len().min(b.len());
    pearson(&ranks(&a[..n]), &ranks(&b[..n]))
}

/// Mean absolute difference between paired values (0 for none).
pub fn mean_absolute_error(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / n as f64
}

/// Share of pairs that are equal (0 for none).
pub fn accuracy<T: PartialEq>(truth: &[T], predicted: &[T]) -> f64 {
    let n = truth.len().min(predicted.len());
    if n == 0 {
        return 0.0;
    }
    truth.iter().zip(predicted).filter(|(a, b)| a == b).count() as f64 / n as f64
}

/// Counts of (truth, prediction) pairs over `classes` (row = truth, column = prediction). Pairs
/// with a value outside `classes` are left out.
pub fn confusion<T: PartialEq>(classes: &[T], truth: &[T], predicted: &[T]) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; classes.len()]; classes.len()];
    for (t, p) in truth.iter().zip(predicted) {
        if let (Some(i), Some(j)) = (
            classes.iter().position(|c| c == t),
            classes.iter().position(|c| c == p),
        ) {
            m[i][j] += 1;
        }
    }
    m
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many rows truly are in the class.
    pub support: u64,
}

/// Precision, recall and F1 of every class of a confusion matrix (0 where undefined, as sklearn's
/// `zero_division=0`).
pub fn class_scores(confusion: &[Vec<u64>]) -> Vec<ClassScores> {
    (0..confusion.len())
        .map(|c| {
            let tp = confusion[c][c] as f64;
            let support: u64 = confusion[c].iter().sum();
            let predicted: u64 = confusion.iter().map(|row| row[c]).sum();
            let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
            let precision = ratio(tp, predicted as f64);
            let recall = ratio(tp, support as f64);
            ClassScores {
                precision,
                recall,
                f1: ratio(2.0 * precision * recall, precision + recall),
                support,
            }
        })
        .collect()
}

/// The unweighted mean F1 over the classes that occur in the truth (sklearn's `f1_score(average=
/// "macro")` over the labels present).
pub fn macro_f1(confusion: &[Vec<u64>]) -> f64 {
    let scores: Vec<ClassScores> = class_scores(confusion)
        .into_iter()
        .filter(|s| s.support > 0)
        .collect();
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().map(|s| s.f1).sum::<f64>() / scores.len() as f64
}

/// Cohen's kappa with quadratic weights over ordered `classes` (sklearn's `cohen_kappa_score(...,
/// weights="quadratic")`): 1 is perfect agreement, 0 is what chance gives. `None` when the
/// expected disagreement is zero (both raters always give one and the same class).
pub fn quadratic_kappa<T: PartialEq>(classes: &[T], a: &[T], b: &[T]) -> Option<f64> {
    let k = classes.len();
    let m = confusion(classes, a, b);
    let n: u64 = m.iter().flatten().sum();
    if k < 2 || n == 0 {
        return None;
    }
    let rows: Vec<f64> = m.iter().map(|r| r.iter().sum::<u64>() as f64).collect();
    let cols: Vec<f64> = (0..k)
        .map(|j| m.iter().map(|r| r[j]).sum::<u64>() as f64)
        .collect();
    let (mut observed, mut expected) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            let w = ((i as f64 - j as f64) / (k as f64 - 1.0)).powi(2);
            observed += w * m[i][j] as f64;
            expected += w * rows[i] * cols[j] / n as f64;
        }
    }
    if expected == 0.0 {
        return None;
    }
    Some(1.0 - observed / expected)
}

/// A seeded percentile bootstrap: `statistic` over `resamples` resamples (with replacement) of the
/// indices `0..n`, and the `(1-level)/2` and `(1+level)/2` percentiles of what it returned
/// (resamples where it returned `None` are left out). The same seed gives the same interval.
pub fn bootstrap(
    n: usize,
    resamples: usize,
    level: f64,
    seed: u64,
    statistic: impl Fn(&[usize]) -> Option<f64>,
) -> Option<(f64, f64)> {
    use rand::{Rng, SeedableRng};
    if n == 0 {
        return None;
    }
    // ChaCha, not StdRng: its stream is fixed across rand versions, so intervals stay reproducible.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut picks = vec![0usize; n];
    let mut values = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for p in picks.iter_mut() {
            *p = rng.random_range(0..n);
        }
        if let Some(v) = statistic(&picks).filter(|v| v.is_finite()) {
            values.push(v);
        }
    }
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let at =
        |q: f64| values[((q * (values.len() - 1) as f64).round() as usize).min(values.len() - 1)];
    Some((at((1.0 - level) / 2.0), at((1.0 + level) / 2.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn wilson_matches_statsmodels() {
        // statsmodels.stats.proportion.proportion_confint(20, 23, method="wilson")
        // = (0.678725, 0.954623); 20/23 = 86.96%.
        let w = wilson(20, 23, Z95);
        assert!(close(w.estimate, 0.869565), "{w:?}");
        assert!(close(w.low, 0.678_725), "{w:?}");
        assert!(close(w.high, 0.954_623), "{w:?}");
        // proportion_confint(0, 10, method="wilson") = (0.0, 0.27753)
        let w = wilson(0, 10, Z95);
        assert_eq!(w.low, 0.0);
        assert!(close(w.high, 0.277533), "{w:?}");
        // proportion_confint(12, 25, method="wilson") = (0.300313, 0.665015): 25 rows give ±18 points.
        assert!(
            close(wilson(12, 25, Z95).half_width(), 0.182_351),
            "{:?}",
            wilson(12, 25, Z95)
        );
        assert_eq!(wilson(0, 0, Z95).high, 1.0);
    }

    #[test]
    fn mean_interval_uses_the_sample_deviation() {
        // mean 3, sample sd sqrt(2.5) = 1.5811, se = 0.7071, 1.96 se = 1.3859
        let m = mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], Z95);
        assert!(close(m.estimate, 3.0));
        assert!(close(m.half_width(), 1.385_93), "{m:?}");
        assert_eq!(mean_interval(&[7.0], Z95).half_width(), 0.0);
    }

    #[test]
    fn ranks_average_ties_as_scipy() {
        // scipy.stats.rankdata([10, 20, 20, 30, 20]) = [1, 3, 3, 5, 3]
        assert_eq!(
            ranks(&[10.0, 20.0, 20.0, 30.0, 20.0]),
            vec![1.0, 3.0, 3.0, 5.0, 3.0]
        );
    }

    #[test]
    fn spearman_with_ties_matches_scipy() {
        // scipy.stats.spearmanr([1,2,2,3,4,5], [2,1,3,3,5,4]).statistic = 0.8088235
        let r = spearman(
            &[1.0, 2.0, 2.0, 3.0, 4.0, 5.0],
            &[2.0, 1.0, 3.0, 3.0, 5.0, 4.0],
        )
        .unwrap();
        assert!(close(r, 0.808_823_5), "{r}");
        assert_eq!(spearman(&[1.0, 2.0], &[3.0, 3.0]), None);
        assert!(close(
            spearman(&[1.0, 2.0, 3.0], &[30.0, 20.0, 10.0]).unwrap(),
            -1.0
        ));
    }

    #[test]
    fn quadratic_kappa_matches_sklearn() {
        // sklearn.metrics.cohen_kappa_score([0,1,2,2,3,0,1], [0,2,2,1,3,0,0], weights="quadratic")
        // = 0.8173913043
        let a = [0, 1, 2, 2, 3, 0, 1];
        let b = [0, 2, 2, 1, 3, 0, 0];
        let k = quadratic_kappa(&[0, 1, 2, 3], &a, &b).unwrap();
        assert!(close(k, 0.817_391_3), "{k}");
        assert!(close(quadratic_kappa(&[0, 1, 2, 3], &a, &a).unwrap(), 1.0));
        assert_eq!(quadratic_kappa(&[0, 1], &[1, 1], &[1, 1]), None);
    }

    #[test]
    fn class_scores_and_macro_f1_match_sklearn() {
        // y_true = [0,0,1,1,2,2], y_pred = [0,1,1,1,2,0]
        // sklearn f1_score(average=None) = [0.5, 0.8, 0.6667]; macro = 0.6556
        let truth = [0, 0, 1, 1, 2, 2];
        let pred = [0, 1, 1, 1, 2, 0];
        let m = confusion(&[0, 1, 2], &truth, &pred);
        assert_eq!(m, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 1]]);
        let s = class_scores(&m);
        assert!(close(s[0].f1, 0.5) && close(s[1].f1, 0.8) && close(s[2].f1, 2.0 / 3.0));
        assert!(close(macro_f1(&m), 0.655_555), "{}", macro_f1(&m));
        assert!(close(accuracy(&truth, &pred), 4.0 / 6.0));
        assert!(close(mean_absolute_error(&[1.0, 2.0], &[2.0, 4.0]), 1.5));
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_statistic() {
        let values: Vec<f64> = (0..200).map(|i| (i % 10) as f64).collect();
        let mean =
            |idx: &[usize]| Some(idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64);
        let a = bootstrap(values.len(), 500, 0.95, 7, mean).unwrap();
        let b = bootstrap(values.len(), 500, 0.95, 7, mean).unwrap();
        assert_eq!(a, b);
        // The mean is 4.5 with a standard error of about 0.2: the interval is about ±0.4.
        assert!(
            a.0 < 4.5 && 4.5 < a.1 && a.1 - a.0 < 1.2 && a.1 - a.0 > 0.6,
            "{a:?}"
        );
        assert_eq!(bootstrap(0, 10, 0.95, 1, mean), None);
    }
}
