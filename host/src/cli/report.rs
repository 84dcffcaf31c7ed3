//! Arguments of `classified report` and `classified compare` (clap types only).

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The output folder of a `summary` run (its DATA_DIR / --out), or one holding merged shards.
    #[arg(value_name = "DATA_DIR")]
    pub data_dir: PathBuf,
}
