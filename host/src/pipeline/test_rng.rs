//! A small deterministic pseudo-random generator for tests (xorshift): generated documents vary
//! from case to case but never from run to run, and no crate is needed for it.

/// Xorshift state; start it with any non-zero seed, e.g. `Rng(42)`.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
