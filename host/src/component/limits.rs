//! Per-call limits of a lens component: defaults, `config.json` overrides, host maximums, and the
//! memory limiter that remembers when it said no.

use serde_json::Value;
use std::time::Duration;

/// What a lens component may use per call. `config.json` may change each value up to [`MAXIMUM`]:
/// `"limits": {"time_ms": 5000, "memory_mb": 256, "output_kb": 4096}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub time_ms: u64,
    /// The first call on a fresh instance also pays for the component's start-up (Python: ~1 s).
    pub first_call_ms: u64,
    pub memory_mb: u64,
    pub output_kb: u64,
    /// Plugin log (its `log` calls plus stdout and stderr) kept per row; the rest is dropped.
    pub log_kb: u64,
}

pub const DEFAULT: Limits = Limits {
    time_ms: 2_000,
    first_call_ms: 10_000,
    memory_mb: 64,
    output_kb: 1024,
    log_kb: 64,
};
pub const MAXIMUM: Limits = Limits {
    time_ms: 60_000,
    first_call_ms: 120_000,
    memory_mb: 4096,
    output_kb: 65_536,
    log_kb: 64,
};

impl Limits {
    /// The limits of a lens, from its config.json. An unknown key or a value that is not a positive
    /// integer is a mistake worth stopping for; a value above the maximum is one too.
    pub fn from_config(config: &Value) -> Result<Limits, String> {
        let mut limits = DEFAULT;
        let Some(section) = config.get("limits") else {
            return Ok(limits);
        };
        let Some(section) = section.as_object() else {
            return Err("\"limits\" must be an object such as {\"time_ms\": 5000}".into());
        };
        for (key, value) in section {
            let (slot, max) = match key.as_str() {
                "time_ms" => (&mut limits.time_ms, MAXIMUM.time_ms),
                "memory_mb" => (&mut limits.memory_mb, MAXIMUM.memory_mb),
                "output_kb" => (&mut limits.output_kb, MAXIMUM.output_kb),
                other => {
                    return Err(format!(
                        "\"limits\" has an unknown key {other:?}; use time_ms, memory_mb or output_kb"
                    ));
                }
            };
            match value.as_u64() {
                Some(v) if v > 0 && v <= max => *slot = v,
                _ => {
                    return Err(format!(
                        "\"limits\".{key} must be a whole number from 1 to {max}, not {value}"
                    ));
                }
            }
        }
        // A lens that needs a longer time per call needs at least as long for its first one.
        limits.first_call_ms = limits.first_call_ms.max(limits.time_ms);
        Ok(limits)
    }

    pub fn time(&self, first_call: bool) -> Duration {
        Duration::from_millis(if first_call {
            self.first_call_ms
        } else {
            self.time_ms
        })
    }

    pub fn memory_bytes(&self) -> usize {
        (self.memory_mb as usize).saturating_mul(1 << 20)
    }

    pub fn output_bytes(&self) -> usize {
        (self.output_kb as usize).saturating_mul(1 << 10)
    }
}

/// Caps the linear memory of a component instance and records that a request was refused: a Rust
/// guest reacts to a refused `memory.grow` by aborting, which otherwise looks like any other crash.
pub struct MemoryLimiter {
    max_bytes: usize,
    pub hit: bool,
}

impl MemoryLimiter {
    pub fn new(max_bytes: usize) -> Self {
        MemoryLimiter {
            max_bytes,
            hit: false,
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_bytes;
        self.hit |= !allowed;
        Ok(allowed)
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
    use serde_json::json;

    #[test]
    fn config_overrides_up_to_the_maximum() {
        let l =
            Limits::from_config(&json!({"limits": {"time_ms": 20000, "memory_mb": 256}})).unwrap();
        assert_eq!(
            (l.time_ms, l.first_call_ms, l.memory_mb, l.output_kb),
            (20_000, 20_000, 256, 1024)
        );
        assert_eq!(Limits::from_config(&json!({})).unwrap(), DEFAULT);
        assert!(
            Limits::from_config(&json!({"limits": {"memory_mb": 999999}}))
                .unwrap_err()
                .contains("4096")
        );
        assert!(
            Limits::from_config(&json!({"limits": {"cpu": 1}}))
                .unwrap_err()
                .contains("unknown key")
        );
    }
}
