//! The streaming shuffle of `datasets` (`IterableDataset.shuffle(seed, buffer_size)`): rows fill a
//! buffer; once it is full each new row takes the place of a random one, which is yielded; at
//! the end the rest of the buffer comes out in random order.
//!
//! Like `datasets`, this is not a uniform sample of the whole dataset: a row can only move as far
//! as the buffer reaches. Combined with shuffling the file order it is close enough to rate a
//! representative sample without reading everything. The permutation is seeded but is not the
//! one Python produces (different random generators).

use crate::data::{DataError, Row};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct ShuffleBuffer<I> {
    inner: I,
    buffer: Vec<Row>,
    size: usize,
    rng: ChaCha8Rng,
    /// After the input ended: the buffer, shuffled, yielded from the back.
    draining: bool,
}

impl<I> ShuffleBuffer<I> {
    pub fn new(inner: I, size: usize, seed: u64) -> Self {
        ShuffleBuffer {
            inner,
            buffer: Vec::with_capacity(size.min(1 << 16)),
            size: size.max(1),
            rng: ChaCha8Rng::seed_from_u64(seed),
            draining: false,
        }
    }
}

impl<I: Iterator<Item = Result<Row, DataError>>> Iterator for ShuffleBuffer<I> {
    type Item = Result<Row, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.draining {
            loop {
                match self.inner.next() {
                    // Unreadable rows are reported at once; they take no place in the buffer.
                    Some(Err(e)) => return Some(Err(e)),
                    Some(Ok(row)) if self.buffer.len() < self.size => self.buffer.push(row),
                    Some(Ok(row)) => {
                        let i = self.rng.random_range(0..self.size);
                        return Some(Ok(std::mem::replace(&mut self.buffer[i], row)));
                    }
                    None => {
                        self.draining = true;
                        self.buffer.shuffle(&mut self.rng);
                        break;
                    }
                }
            }
        }
        self.buffer.pop().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: u64) -> impl Iterator<Item = Result<Row, DataError>> {
        (0..n).map(|index| {
            Ok(Row {
                index,
                values: Vec::new(),
            })
        })
    }

    fn order(n: u64, size: usize, seed: u64) -> Vec<u64> {
        ShuffleBuffer::new(rows(n), size, seed)
            .map(|r| r.unwrap().index)
            .collect()
    }

    #[test]
    fn yields_every_row_once_in_a_seeded_order() {
        let a = order(5000, 100, 7);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..5000).collect::<Vec<_>>());
        assert_ne!(a, (0..5000).collect::<Vec<_>>());
        assert_eq!(a, order(5000, 100, 7));
        assert_ne!(a, order(5000, 100, 8));
    }

    #[test]
    fn rows_move_at_most_about_a_buffer_ahead() {
        // The first rows out must come from the first `size` + k rows read: the buffer bounds memory and reach.
        let a = order(10_000, 1000, 1);
        for (k, &index) in a.iter().take(100).enumerate() {
            assert!(index < 1000 + k as u64 + 1, "row {index} came out {k}th");
        }
    }

    #[test]
    fn smaller_input_than_the_buffer_is_fully_shuffled() {
        let a = order(10, 1000, 3);
        assert_eq!(a.len(), 10);
        assert_ne!(a, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn errors_pass_through_immediately() {
        let input = vec![
            Ok(Row {
                index: 0,
                values: vec![],
            }),
            Err(DataError::ValueType {
                row: 1,
                column: "t".into(),
                found: "a number",
            }),
        ];
        let out: Vec<_> = ShuffleBuffer::new(input.into_iter(), 10, 0).collect();
        assert!(out[0].is_err());
        assert_eq!(out[1].as_ref().unwrap().index, 0);
    }
}
