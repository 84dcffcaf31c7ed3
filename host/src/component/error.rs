//! The typed error of a lens component failing one row, and the plain sentence it becomes.

use super::limits::Limits;
use crate::pipeline::{FailureKind, Stage, StageError};

/// Why a component call failed. (A component built against an unsupported WIT version never gets
/// this far: it fails to load, a fatal error naming the supported versions; see `versions.rs`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// It ran past its time limit.
    Timeout,
    /// It asked for more memory than its limit.
    MemoryLimit,
    /// It returned more data than its output limit.
    OutputLimit,
    /// It tried to use a file or the network, which the sandbox denies.
    Sandbox,
    /// It crashed (a Rust panic, a Python exception that escaped, an `unreachable`, ...).
    Trap,
    /// It returned an error of its own.
    PluginError,
    /// It returned something the host cannot use (a score label the lens does not have, ...).
    BadOutput,
}

impl Kind {
    /// The machine-readable name used in per-row output and summaries: its row failure's, so
    /// the two can never spell a kind differently.
    pub fn name(self) -> &'static str {
        self.failure_kind().name()
    }

    /// The row failure this becomes.
    pub fn failure_kind(self) -> FailureKind {
        match self {
            Kind::Timeout => FailureKind::Timeout,
            Kind::MemoryLimit => FailureKind::MemoryLimit,
            Kind::OutputLimit => FailureKind::OutputLimit,
            Kind::Sandbox => FailureKind::Sandbox,
            Kind::Trap => FailureKind::Trap,
            Kind::PluginError => FailureKind::PluginError,
            Kind::BadOutput => FailureKind::BadOutput,
        }
    }
}

/// A component call that failed for one row.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginError {
    pub lens: String,
    pub stage: Stage,
    pub row: u64,
    pub kind: Kind,
    /// What happened: the component's or wasmtime's words; for a timeout, a sleep that did not
    /// fit (empty when it computed too long); for the memory limit, the total it hit (empty for
    /// its own limit).
    pub detail: String,
    /// The plugin log captured during the call.
    pub log: String,
    /// Boxed: an error travels in every `Result` of a call, so it stays small.
    pub limits: Box<Limits>,
    /// The time limit that applied to the call, in ms (the first call on an instance has more).
    pub time_ms: u64,
}

impl PluginError {
    /// One plain sentence: where, what happened, and for a limit, the setting to raise.
    pub fn sentence(&self) -> String {
        let (lens, stage, row) = (&self.lens, self.stage, self.row);
        format!(
            "lens `{lens}`'s component, {stage} stage, row {row}: {}",
            self.what()
        )
    }

    /// What happened, and for a limit, the setting to raise: the sentence without where.
    pub fn what(&self) -> String {
        let raise = |key: &str, value: u64, max: u64| {
            format!(
                "raise \"limits\": {{\"{key}\": ...}} in the lens's config.json (now {value}, at most {max})"
            )
        };
        let detail = |prefix: &str| {
            if self.detail.is_empty() {
                String::new()
            } else {
                format!("{prefix}{}", self.detail)
            }
        };
        let l = &self.limits;
        let max = &super::limits::MAXIMUM;
        match self.kind {
            Kind::Timeout if self.detail.is_empty() => format!(
                "stopped at its time limit of {} ms of computing (time spent waiting for a core \
                 does not count); {}",
                self.time_ms,
                raise("time_ms", l.time_ms, max.time_ms)
            ),
            Kind::Timeout => format!(
                "stopped: it {}, more than is left of its time limit of {} ms (sleeps count toward \
                 it); {}",
                self.detail,
                self.time_ms,
                raise("time_ms", l.time_ms, max.time_ms)
            ),
            Kind::MemoryLimit if self.detail.is_empty() => format!(
                "stopped at its memory limit of {} MiB; {}",
                l.memory_mb,
                raise("memory_mb", l.memory_mb, max.memory_mb)
            ),
            Kind::MemoryLimit => format!(
                "stopped because the lens's instances together reached their memory limit of {}; \
                 make the component use less memory, or lower \"limits\": {{\"memory_mb\": ...}} \
                 (now {}) so that it is told sooner",
                self.detail, l.memory_mb
            ),
            Kind::OutputLimit => format!(
                "returned {}, more than its output limit of {} KiB; {}",
                self.detail,
                l.output_kb,
                raise("output_kb", l.output_kb, max.output_kb)
            ),
            Kind::Sandbox => format!(
                "tried to use {}, but lens components run without file or network access",
                self.detail
            ),
            Kind::Trap => format!("crashed{}", detail(": ")),
            Kind::PluginError => self.detail.clone(),
            Kind::BadOutput => format!("returned {}", self.detail),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sentence())
    }
}

impl From<PluginError> for StageError {
    fn from(e: PluginError) -> StageError {
        StageError {
            stage: e.stage,
            kind: e.kind.failure_kind(),
            message: e.sentence(),
            log: e.log,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: Kind, detail: &str) -> PluginError {
        PluginError {
            lens: "demo".into(),
            stage: Stage::Score,
            row: 7,
            kind,
            detail: detail.into(),
            log: String::new(),
            limits: Box::new(super::super::limits::DEFAULT),
            time_ms: 2000,
        }
    }

    #[test]
    fn limit_errors_name_the_setting_to_raise() {
        let s = error(Kind::MemoryLimit, "").sentence();
        assert_eq!(
            s,
            "lens `demo`'s component, score stage, row 7: stopped at its memory limit of 64 MiB; \
             raise \"limits\": {\"memory_mb\": ...} in the lens's config.json (now 64, at most 4096)"
        );
        let s = error(Kind::Timeout, "").sentence();
        assert!(
            s.contains("time limit of 2000 ms of computing") && s.contains("time_ms"),
            "{s}"
        );
        let s = error(Kind::Timeout, "asked to sleep 30000 ms").sentence();
        assert!(
            s.contains(
                "it asked to sleep 30000 ms, more than is left of its time limit of 2000 ms"
            ),
            "{s}"
        );
        assert!(
            error(Kind::OutputLimit, "100.0 MB")
                .sentence()
                .contains("output_kb")
        );
        let stage_error = StageError::from(error(Kind::Trap, "panicked"));
        assert_eq!(
            (stage_error.kind.name(), stage_error.stage),
            ("trap", Stage::Score)
        );
    }
}
