//! Command-line arguments as parsed by clap: types only. [`validate`] checks them into the typed
//! run config (`crate::config`); `main.rs` picks the command and runs it.

mod validate;

pub use validate::{ModelChoice, one_lens, require_api_key};

pub mod filter;
pub mod lenses;
pub mod report;
pub mod train;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "classified",
    version,
    about = "Rate LLM training data by quality through lenses."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rate rows of one or more datasets through one or more lenses and summarize their quality.
    Summary(Box<SummaryArgs>),
    /// List, inspect, check, scaffold and try out lenses.
    #[command(subcommand)]
    Lenses(lenses::LensesCommand),
    /// Train a local classifier on a lens's cached ratings and write it as a `model` lens.
    Train(Box<train::TrainArgs>),
    /// List, inspect and cancel the Batch API jobs that `summary --batch` recorded in the cache.
    #[command(subcommand)]
    Batches(BatchesCommand),
    /// Rebuild report.html in an output folder from its files alone (no cache, no model).
    Report(report::ReportArgs),
    /// How well two raters (models, versions or lenses) agree on the same rows, from the cache.
    Compare(Box<report::CompareArgs>),
    /// Keep the rows of whole datasets that pass a lens's rule, with every original column.
    Filter(Box<filter::FilterArgs>),
    /// Merge the shards of a sharded run into its stats (and, with --compact, fewer parts).
    Merge(filter::MergeArgs),
    /// Print a Slurm script or a Kubernetes manifest that runs a command sharded, then merges it.
    Launch(filter::LaunchArgs),
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Render every prompt and count tokens and cache hits without calling the model.
    #[arg(long)]
    pub dry_run: bool,
    /// Send the requests through the Batch API (half price, answers within 24 hours); rerun to resume.
    #[arg(long)]
    pub batch: bool,
    /// Print the summary as one JSON object (for scripts) instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub shard: filter::ShardArgs,
}

/// What to read and through which lenses: the positional arguments and dataset options every
/// command that reads rows shares.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Datasets to rate, comma-separated: JSONL, JSON, CSV, Parquet or Arrow files, `save_to_disk`
    /// folders, Hugging Face Hub datasets (`owner/name`, `owner/name:config`) or Hub files
    /// (`hf://datasets/owner/name@revision/path`).
    pub datasets: String,
    /// Columns to rate, comma-separated, in the order of the lens's input fields (e.g. `instruction,output`).
    pub columns: String,
    /// Lenses to rate with, comma-separated: built-in names, names in --lens-dir, or lens folder paths.
    pub lenses: String,
    /// Rate a seeded random sample of at most N rows per dataset (all rows, in order, without it).
    /// With --stream on a Hub dataset: the first N rows after a seeded shuffle (see --shuffle-buffer).
    #[arg(long, value_name = "N")]
    pub max: Option<usize>,
    /// Seed of the --max sample.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Split to rate: of a Hub dataset (default `train`; slices such as `train[:1000]`,
    /// `train[10%:20%]` and `train+test` work as in `datasets`) or of a `save_to_disk` DatasetDict folder.
    #[arg(long)]
    pub split: Option<String>,
    /// Config (subset) of a Hub dataset; the same as `owner/name:CONFIG`.
    #[arg(long)]
    pub config: Option<String>,
    /// Branch, tag or commit of a Hub dataset (default `main`); pinned to one commit for the whole run.
    #[arg(long)]
    pub revision: Option<String>,
    /// Rows in the shuffle buffer of `--stream --max` (as in `datasets`' `shuffle(buffer_size=...)`).
    #[arg(long, default_value_t = 1000, value_name = "ROWS")]
    pub shuffle_buffer: usize,
    /// Read Hub datasets straight from the Hub by range requests instead of downloading them into
    /// the Hub cache first; memory stays bounded whatever the dataset size. (Local files are always streamed.)
    #[arg(long)]
    pub stream: bool,
    /// Folder of extra lenses (overrides LENS_DIR); a lens there wins over a built-in of the same name.
    #[arg(long, value_name = "DIR")]
    pub lens_dir: Option<PathBuf>,
    /// Folder for summary.csv and the per-row outputs (overrides DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Which model answers (and so which cached answers count), and how fast and how expensively to ask it.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Chat model (overrides CHAT_MODEL).
    #[arg(long)]
    pub model: Option<String>,
    /// Base URL of an OpenAI-compatible API (overrides OPENAI_BASE_URL).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Cache version: a new number re-rates every row without losing the older answers.
    #[arg(long, default_value_t = 1, value_name = "V")]
    pub version: u32,
    /// Most requests to the model in flight at once (a ceiling: the number adapts below it).
    #[arg(long, default_value_t = crate::model::DEFAULT_CEILING, value_name = "N")]
    pub workers: usize,
    /// Requests per minute to stay under, for servers that send no rate-limit headers (vLLM, Ollama).
    #[arg(long, value_name = "N")]
    pub rpm: Option<f64>,
    /// Tokens per minute (prompt plus max_tokens) to stay under, for servers that send no headers.
    #[arg(long, value_name = "N")]
    pub tpm: Option<f64>,
    /// How to ask for structured output: a forced tool call (`tools`), a strict `response_format`
    /// JSON schema (`json_schema`, for servers without tool calling), or `auto` (tools, switching
    /// to json_schema for the rest of the run when the server says it cannot call tools).
    #[arg(long, value_enum, default_value_t = crate::model::Structured::Auto, value_name = "FORM")]
    pub structured: crate::model::Structured,
    /// Stop sending requests once the estimated spend could pass this many US dollars (exit code 3).
    #[arg(long, value_name = "USD")]
    pub max_usd: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum BatchesCommand {
    /// The batches recorded in the cache, newest first, with their last known status.
    List,
    /// A batch's current status and request counts, from the API.
    Status {
        /// The batch id (`batch_…`), as `batches list` shows it.
        id: String,
    },
    /// Cancel a batch. Its answers so far reach the cache on the next `summary --batch` run.
    Cancel {
        /// The batch id (`batch_…`), as `batches list` shows it.
        id: String,
    },
}
