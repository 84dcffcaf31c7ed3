//! Bucket stage (native default): a row's scores → Poor, Low, Medium or Good (the seed's rule).

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bucket {
    Poor,
    Low,
    Medium,
    Good,
}

impl Bucket {
    /// Report order.
    pub const ALL: [Bucket; 4] = [Bucket::Poor, Bucket::Low, Bucket::Medium, Bucket::Good];

    pub fn name(self) -> &'static str {
        match self {
            Bucket::Poor => "Poor",
            Bucket::Low => "Low",
            Bucket::Medium => "Medium",
            Bucket::Good => "Good",
        }
    }
}

/// With `scores` the row's scores in label order and `last` the final one (`overall`):
/// Good if all ≥ 2.5 and last ≥ 2.75; else Medium if all ≥ 1.5 and last ≥ 2;
/// else Low if all ≥ 0.5 and last ≥ 1; else Poor.
pub fn seed_rule(scores: &[f64]) -> Bucket {
    let Some(&last) = scores.last() else {
        return Bucket::Poor;
    };
    let all_at_least = |t: f64| scores.iter().all(|&s| s >= t);
    if all_at_least(2.5) && last >= 2.75 {
        Bucket::Good
    } else if all_at_least(1.5) && last >= 2.0 {
        Bucket::Medium
    } else if all_at_least(0.5) && last >= 1.0 {
        Bucket::Low
    } else {
        Bucket::Poor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_inclusive_and_weigh_the_last_label() {
        assert_eq!(seed_rule(&[3.0, 3.0, 3.0]), Bucket::Good);
        assert_eq!(seed_rule(&[2.5, 2.75]), Bucket::Good);
        // `overall` below 2.75 keeps an otherwise good row out of Good.
        assert_eq!(seed_rule(&[3.0, 2.5]), Bucket::Medium);
        // One weak label below 2.5 does too.
        assert_eq!(seed_rule(&[2.4, 3.0]), Bucket::Medium);
        assert_eq!(seed_rule(&[1.5, 2.0]), Bucket::Medium);
        assert_eq!(seed_rule(&[1.49, 3.0]), Bucket::Low);
        assert_eq!(seed_rule(&[3.0, 1.99]), Bucket::Low);
        assert_eq!(seed_rule(&[0.5, 1.0]), Bucket::Low);
        assert_eq!(seed_rule(&[0.4, 3.0]), Bucket::Poor);
        assert_eq!(seed_rule(&[3.0, 0.9]), Bucket::Poor);
        assert_eq!(seed_rule(&[1.0]), Bucket::Low);
        assert_eq!(seed_rule(&[]), Bucket::Poor);
    }
}
