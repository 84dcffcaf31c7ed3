//! Seeded choice of row indices, shared by every format.

use super::Sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The sorted row indices that `Sample::Random { n, seed }` picks from a dataset of `total`
/// rows: `min(n, total)` distinct indices. It depends only on `total`, `n` and `seed`, so the
/// same data in any format gives the same rows.
pub fn sample_indices(total: u64, n: usize, seed: u64) -> Vec<u64> {
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    let amount = n.min(total);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut indices: Vec<u64> = rand::seq::index::sample(&mut rng, total, amount)
        .into_iter()
        .map(|i| i as u64)
        .collect();
    indices.sort_unstable();
    indices
}

/// The rows a [`Sample`] asks for in a file.
pub(crate) enum Picked {
    All,
    /// Sorted, distinct row indices.
    Rows(Vec<u64>),
}

impl Sample {
    /// Which rows to read; `count` (the file's row total) is only called when it is needed.
    pub(crate) fn indices<E>(&self, count: impl FnOnce() -> Result<u64, E>) -> Result<Picked, E> {
        Ok(match self {
            Sample::All | Sample::AllUncounted => Picked::All,
            Sample::Random { n, seed } => Picked::Rows(sample_indices(count()?, *n, *seed)),
            Sample::Indices(indices) => Picked::Rows(indices.to_vec()),
        })
    }
}

/// Walks sorted indices alongside rows visited in ascending order.
#[derive(Debug, Clone)]
pub(crate) struct Picker {
    indices: Vec<u64>,
    pos: usize,
}

impl Picker {
    pub(crate) fn new(indices: Vec<u64>) -> Self {
        Picker { indices, pos: 0 }
    }

    /// Whether row `index` is picked; rows must be offered in ascending order.
    pub(crate) fn take(&mut self, index: u64) -> bool {
        while self.pos < self.indices.len() && self.indices[self.pos] < index {
            self.pos += 1;
        }
        if self.pos < self.indices.len() && self.indices[self.pos] == index {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// No picked rows remain.
    pub(crate) fn finished(&self) -> bool {
        self.pos >= self.indices.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_sorted_distinct_and_seeded() {
        let a = sample_indices(1000, 10, 7);
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert!(a.iter().all(|&i| i < 1000));
        assert_eq!(a, sample_indices(1000, 10, 7));
        assert_ne!(a, sample_indices(1000, 10, 8));
        assert_eq!(sample_indices(5, 10, 1), vec![0, 1, 2, 3, 4]);
        assert!(sample_indices(0, 10, 1).is_empty());
        assert!(sample_indices(10, 0, 1).is_empty());
    }

    #[test]
    fn picker_follows_ascending_rows() {
        let mut p = Picker::new(vec![1, 4, 5]);
        let picked: Vec<u64> = (0..8).filter(|&i| p.take(i)).collect();
        assert_eq!(picked, vec![1, 4, 5]);
        assert!(p.finished());
    }
}
