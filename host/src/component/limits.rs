//! Limits of a lens component: per call (time, memory, output, prompts per row), per lens (the
//! memory of all its instances, its bucket names); defaults, `config.json` overrides, host maximums.

use serde_json::Value;
use std::time::Duration;

/// What a lens component may use per call. `config.json` may change each value up to [`MAXIMUM`]:
/// `"limits": {"time_ms": 5000, "memory_mb": 256, "output_kb": 4096, "prompts_per_row": 5000}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU time of one call, plus any time it sleeps (see `budget.rs`).
    pub time_ms: u64,
    /// The first call on a fresh instance also pays for the component's start-up (Python: ~1 s).
    pub first_call_ms: u64,
    pub memory_mb: u64,
    pub output_kb: u64,
    /// Plugin log (its `log` calls plus stdout and stderr) kept per row; the rest is dropped.
    pub log_kb: u64,
    /// Prompts `preprocess` may make of one row (each is a model request).
    pub prompts_per_row: u64,
}

pub const DEFAULT: Limits = Limits {
    time_ms: 2_000,
    first_call_ms: 10_000,
    memory_mb: 64,
    output_kb: 1024,
    log_kb: 64,
    prompts_per_row: 1_000,
};
pub const MAXIMUM: Limits = Limits {
    time_ms: 60_000,
    first_call_ms: 120_000,
    memory_mb: 4096,
    output_kb: 65_536,
    log_kb: 64,
    prompts_per_row: 100_000,
};

/// The most memory all instances of one lens may hold together, whatever `memory_mb` says.
pub const TOTAL_MEMORY_MB: u64 = 4096;

/// The most bucket names a component may declare, and the longest name in bytes.
pub const BUCKET_NAMES: usize = 64;
pub const BUCKET_NAME_BYTES: usize = 64;

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
                "prompts_per_row" => (&mut limits.prompts_per_row, MAXIMUM.prompts_per_row),
                other => {
                    return Err(format!(
                        "\"limits\" has an unknown key {other:?}; use time_ms, memory_mb, output_kb or prompts_per_row"
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

    /// What all of a lens's instances may hold together: one per component thread at its own
    /// limit, but never more than [`TOTAL_MEMORY_MB`] (nor less than one instance's limit).
    pub fn total_memory_mb(&self, instances: usize) -> u64 {
        (self.memory_mb.saturating_mul(instances as u64))
            .min(TOTAL_MEMORY_MB)
            .max(self.memory_mb)
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
        let l = Limits::from_config(&json!({"limits": {"prompts_per_row": 50000}})).unwrap();
        assert_eq!(l.prompts_per_row, 50_000);
        assert!(
            Limits::from_config(&json!({"limits": {"prompts_per_row": 100001}}))
                .unwrap_err()
                .contains("from 1 to 100000")
        );
        assert_eq!(DEFAULT.total_memory_mb(2), 128);
        assert_eq!(
            Limits {
                memory_mb: 4096,
                ..DEFAULT
            }
            .total_memory_mb(8),
            4096
        );
        assert!(
            Limits::from_config(&json!({"limits": {"cpu": 1}}))
                .unwrap_err()
                .contains("unknown key")
        );
    }
}
