//! Memory of a lens's component instances: each instance up to its own limit, all instances of the
//! lens together up to a total, and the size of each so that one that keeps growing is replaced.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of linear memory held by all live instances of one lens, and the most they may hold.
#[derive(Debug)]
pub struct Total {
    bytes: AtomicUsize,
    cap: usize,
}

impl Total {
    pub fn new(cap: usize) -> Arc<Total> {
        Arc::new(Total {
            bytes: AtomicUsize::new(0),
            cap,
        })
    }

    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    fn try_add(&self, delta: usize) -> bool {
        self.bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                now.checked_add(delta).filter(|&after| after <= self.cap)
            })
            .is_ok()
    }

    fn sub(&self, delta: usize) {
        self.bytes.fetch_sub(delta, Ordering::Relaxed);
    }
}

/// Which memory limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// The instance's own limit (`memory_mb`).
    Instance,
    /// The total over all the lens's instances.
    Total,
}

/// Caps the linear memory of one instance and records that a request was refused: a Rust guest
/// reacts to a refused `memory.grow` by aborting, which otherwise looks like any other crash.
/// Its bytes count toward the lens's [`Total`] until the instance is dropped.
pub struct MemoryLimiter {
    max_bytes: usize,
    size: usize,
    total: Arc<Total>,
    pub hit: Option<Hit>,
}

impl MemoryLimiter {
    pub fn new(max_bytes: usize, total: Arc<Total>) -> Self {
        MemoryLimiter {
            max_bytes,
            size: 0,
            total,
            hit: None,
        }
    }

    /// Bytes of linear memory this instance holds (all its memories).
    pub fn size(&self) -> usize {
        self.size
    }
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        self.total.sub(self.size);
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Growth the memory's own maximum forbids fails anyway: nothing to count.
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let delta = desired.saturating_sub(current);
        if self.size.saturating_add(delta) > self.max_bytes {
            self.hit = Some(Hit::Instance);
            return Ok(false);
        }
        if !self.total.try_add(delta) {
            self.hit = Some(Hit::Total);
            return Ok(false);
        }
        self.size += delta;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any real lens.
        Ok(desired <= 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    const MIB: usize = 1 << 20;

    #[test]
    fn instances_count_toward_the_total_until_dropped() {
        let total = Total::new(100 * MIB);
        let mut a = MemoryLimiter::new(64 * MIB, total.clone());
        let mut b = MemoryLimiter::new(64 * MIB, total.clone());
        assert!(a.memory_growing(0, 60 * MIB, None).unwrap());
        assert!(!a.memory_growing(60 * MIB, 65 * MIB, None).unwrap());
        assert_eq!(a.hit, Some(Hit::Instance));
        assert!(!b.memory_growing(0, 41 * MIB, None).unwrap());
        assert_eq!(b.hit, Some(Hit::Total));
        assert!(b.memory_growing(0, 40 * MIB, None).unwrap());
        assert_eq!(
            (a.size(), b.size(), total.bytes()),
            (60 * MIB, 40 * MIB, 100 * MIB)
        );
        drop(a);
        assert_eq!(total.bytes(), 40 * MIB);
        drop(b);
        assert_eq!(total.bytes(), 0);
    }
}
