//! An exact sum of floats (Shewchuk's partials, as Python's `math.fsum`): the result is the exact
//! total rounded once, whatever order the values came in. Shards sum their own rows; merging their
//! partials gives the same means, to the last bit, as one process summing every row in order.

use serde::{Deserialize, Serialize};

/// Non-overlapping partial sums whose exact total is the sum of everything added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExactSum {
    partials: Vec<f64>,
}

impl ExactSum {
    pub fn add(&mut self, mut x: f64) {
        let mut kept = 0;
        for i in 0..self.partials.len() {
            let mut y = self.partials[i];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// Add everything another sum holds.
    pub fn absorb(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
    }

    /// The exact total, rounded to the nearest float (ties to even), as `math.fsum` rounds it.
    pub fn value(&self) -> f64 {
        let p = &self.partials;
        let Some(mut n) = p.len().checked_sub(1) else {
            return 0.0;
        };
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            n -= 1;
            let x = hi;
            let y = p[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        // Half-way cases: the rest of the partials decide which way to round.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_grouping_do_not_change_the_total() {
        let values: Vec<f64> = (0..10_000)
            .map(|i| ((i * 7919) % 1000) as f64 / 7.0 + 1e-9 * i as f64)
            .collect();
        let mut whole = ExactSum::default();
        values.iter().for_each(|&v| whole.add(v));
        // Four shards, each summing its own slice, merged in reverse order.
        let mut merged = ExactSum::default();
        for chunk in values.chunks(2_501).rev() {
            let mut part = ExactSum::default();
            chunk.iter().rev().for_each(|&v| part.add(v));
            merged.absorb(&part);
        }
        assert_eq!(whole.value().to_bits(), merged.value().to_bits());
        // A naive sum in a different order does differ here: the test would catch a plain sum.
        let forward: f64 = values.iter().sum();
        let backward: f64 = values.iter().rev().sum();
        assert_ne!(forward.to_bits(), backward.to_bits());
    }

    #[test]
    fn cancellation_is_exact() {
        let mut s = ExactSum::default();
        for v in [1e100, 1.0, -1e100, 1e-100] {
            s.add(v);
        }
        assert_eq!(s.value(), 1.0 + 1e-100);
        assert_eq!(ExactSum::default().value(), 0.0);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<ExactSum>(&json).unwrap(), s);
    }
}
