//! Report stage: tally row outcomes, print readable tables, write summary.csv, per-chunk JSONL and
//! per-row Parquet. Every file is written under a temporary name and renamed when complete.

mod atomic;
mod files;
mod names;
mod sink;
mod table;
mod tally;

pub use atomic::AtomicFile;
pub use files::{RowFiles, write_summary_csv};
pub use names::{dataset_names, output_stem};
pub use sink::RowSink;
pub use table::{print_dry_run, print_summary};
pub use tally::Tally;
