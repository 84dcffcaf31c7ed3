//! The typed, checked configuration of a run (`summary`, and the commands that read rows like it). Built from the command line by
//! `cli::validate`; everything below the command layer reads this, never the flags.

use crate::data::Sample;
use crate::lens::Lens;
use crate::settings::Settings;
use std::path::PathBuf;

/// How Hub datasets are read.
#[derive(Debug, Clone)]
pub struct HubOptions {
    pub config: Option<String>,
    pub revision: Option<String>,
    pub stream: bool,
    pub shuffle_buffer: usize,
}

/// How a run gets its answers: chosen once, from the flags, and run by `crate::run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// `--dry-run`: render and count every prompt, send nothing, write nothing. With `--batch`,
    /// the estimate is at Batch API prices.
    DryRun { batch_prices: bool },
    /// Ask the model as rows come, paced by the scheduler (and `--max-usd`, if given).
    Live,
    /// `--batch`: send every uncached request through the Batch API, then rate from the cache.
    Batch,
}

impl RunMode {
    /// Whether the run is priced at Batch API prices.
    pub fn batch_prices(self) -> bool {
        matches!(
            self,
            RunMode::Batch | RunMode::DryRun { batch_prices: true }
        )
    }
}

/// What to read and through which lenses: the part of the config every command that reads rows
/// shares (`cli::InputArgs`, checked).
#[derive(Debug)]
pub struct Selection {
    pub datasets: Vec<PathBuf>,
    pub columns: Vec<String>,
    pub lenses: Vec<Lens>,
    pub sample: Sample,
    pub split: Option<String>,
    /// Hub dataset options: `--config`, `--revision`, `--stream`, `--shuffle-buffer`.
    pub hub: HubOptions,
}

/// Everything a `summary` run needs, checked.
#[derive(Debug)]
pub struct RunConfig {
    pub selection: Selection,
    /// The request scheduler's ceiling and explicit rate limits.
    pub limits: crate::model::Limits,
    pub version: u32,
    pub mode: RunMode,
    /// `--max-usd`: the spending limit in US dollars.
    pub max_usd: Option<f64>,
    /// Settings with the command-line overrides applied.
    pub settings: Settings,
    /// `--json`: print the summary as one JSON object instead of tables.
    pub json: bool,
}
