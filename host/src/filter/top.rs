//! `--top PCT`: the exact cut over the whole dataset with bounded memory. The scoring pass spills
//! every rated row's last score to a temporary file (8 bytes a row); the threshold is then the k-th
//! largest of them (k = ⌈PCT% of the rated rows⌉), found by a radix select that reads the file four
//! times with a 65,536-bin histogram, never sorting or holding the scores.
//!
//! Ties: every row whose last score equals the threshold is kept, so when several rows share the
//! score at the cut a few more than PCT% may be kept; the kept set never depends on row order.

use crate::error::Error;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The last scores of the rated rows, spilled to disk.
pub struct Spill {
    file: BufWriter<std::fs::File>,
    count: u64,
}

fn spill_error(e: std::io::Error) -> Error {
    Error::Output {
        path: "the --top score spill file".into(),
        source: e,
    }
}

/// A float as an unsigned key with the same order (negative numbers below positive ones).
fn key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

fn from_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

impl Spill {
    /// A spill file in `dir` (removed when dropped).
    pub fn new(dir: &Path) -> Result<Spill, Error> {
        std::fs::create_dir_all(dir).map_err(spill_error)?;
        Ok(Spill {
            file: BufWriter::new(tempfile::tempfile_in(dir).map_err(spill_error)?),
            count: 0,
        })
    }

    pub fn push(&mut self, score: f64) -> Result<(), Error> {
        self.count += 1;
        self.file
            .write_all(&key(score).to_le_bytes())
            .map_err(spill_error)
    }

    /// The last score at which the top `percent` of the spilled rows starts, or `None` without rows.
    pub fn threshold(self, percent: f64) -> Result<Option<f64>, Error> {
        if self.count == 0 {
            return Ok(None);
        }
        let k = ((percent / 100.0 * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut file = self
            .file
            .into_inner()
            .map_err(|e| spill_error(e.into_error()))?;
        // The k-th largest key, 16 bits at a time from the top.
        let (mut prefix, mut rank) = (0u64, k);
        for pass in 0..4 {
            let shift = 48 - 16 * pass;
            let mut bins = vec![0u64; 1 << 16];
            file.seek(SeekFrom::Start(0)).map_err(spill_error)?;
            let mut reader = BufReader::with_capacity(1 << 20, &mut file);
            let mut buf = [0u8; 8];
            loop {
                match reader.read_exact(&mut buf) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(spill_error(e)),
                }
                let k = u64::from_le_bytes(buf);
                // Only keys that share the digits chosen so far.
                if pass == 0 || k >> (shift + 16) == prefix >> (shift + 16) {
                    bins[((k >> shift) & 0xffff) as usize] += 1;
                }
            }
            // Walk down from the largest digit until the rank falls in a bin.
            for digit in (0..1usize << 16).rev() {
                if bins[digit] >= rank {
                    prefix |= (digit as u64) << shift;
                    break;
                }
                rank -= bins[digit];
            }
        }
        Ok(Some(from_key(prefix)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threshold(scores: &[f64], percent: f64) -> Option<f64> {
        let dir = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(dir.path()).unwrap();
        scores.iter().for_each(|&s| spill.push(s).unwrap());
        spill.threshold(percent).unwrap()
    }

    #[test]
    fn the_threshold_is_the_exact_kth_largest() {
        let scores: Vec<f64> = (0..5000)
            .map(|i| ((i * 7919) % 5000) as f64 / 1000.0 - 2.0)
            .collect();
        let mut sorted = scores.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        for percent in [0.01, 1.0, 10.0, 33.3, 50.0, 99.9, 100.0] {
            let k = (percent / 100.0 * 5000.0_f64).ceil() as usize;
            assert_eq!(
                threshold(&scores, percent),
                Some(sorted[k - 1]),
                "{percent}"
            );
        }
        assert_eq!(threshold(&[], 10.0), None);
        // Ties at the cut: the threshold is the tied score, so every tied row is kept.
        assert_eq!(threshold(&[1.0, 2.0, 2.0, 2.0, 3.0], 40.0), Some(2.0));
        for x in [-3.5, -0.0, 0.0, 1e-300, 7.25] {
            assert_eq!(from_key(key(x)).to_bits(), x.to_bits());
        }
        assert!(key(-1.0) < key(-0.5) && key(-0.5) < key(0.0) && key(0.0) < key(2.0));
    }
}
