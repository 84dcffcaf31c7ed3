//! Arguments of `classified report` and `classified compare` (clap types only).

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The output folder of a `summary` run (its DATA_DIR / --out), or one holding merged shards.
    #[arg(value_name = "DATA_DIR")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// DATASETS, COLUMNS and LENS (one lens both raters use, or `LENS_A,LENS_B`: two lenses with the
    /// same score labels, e.g. a model lens and the lens it was trained from), and how rows are read.
    #[command(flatten)]
    pub input: super::InputArgs,
    /// --model and --version are the default of either rater; --base-url, --workers, --rpm, --tpm,
    /// --structured and --max-usd apply to --rate.
    #[command(flatten)]
    pub model: super::ModelArgs,
    /// Rater A: a model and cache version, `MODEL[@VERSION]` (default: --model at --version).
    #[arg(long = "a", value_name = "MODEL[@VERSION]")]
    pub a: Option<String>,
    /// Rater B: a model and cache version, `MODEL[@VERSION]` (default: --model at --version).
    #[arg(long = "b", value_name = "MODEL[@VERSION]")]
    pub b: Option<String>,
    /// First rate the rows either rater lacks, as `summary` does (the estimate and --max-usd apply);
    /// their outputs go to DATA_DIR/compare-a and DATA_DIR/compare-b.
    #[arg(long)]
    pub rate: bool,
}
