//! Command-line arguments as parsed by clap. `config.rs` validates them into a typed run config.

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
    Summary(SummaryArgs),
    /// List, inspect, check, scaffold and try out lenses.
    #[command(subcommand)]
    Lenses(crate::lens_cmd::LensesCommand),
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Datasets to rate, comma-separated: JSONL, JSON, CSV, Parquet or Arrow files, or `save_to_disk` folders.
    pub datasets: String,
    /// Columns to rate, comma-separated, in the order of the lens's input fields (e.g. `instruction,output`).
    pub columns: String,
    /// Lenses to rate with, comma-separated: built-in names, names in --lens-dir, or lens folder paths.
    pub lenses: String,
    /// Rate a seeded random sample of at most N rows per dataset (all rows, in order, without it).
    #[arg(long, value_name = "N")]
    pub max: Option<usize>,
    /// Seed of the --max sample.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Most requests to the model in flight at once (a ceiling: the number adapts below it).
    #[arg(long, default_value_t = crate::model::DEFAULT_CEILING, value_name = "N")]
    pub workers: usize,
    /// Requests per minute to stay under, for servers that send no rate-limit headers (vLLM, Ollama).
    #[arg(long, value_name = "N")]
    pub rpm: Option<f64>,
    /// Tokens per minute (prompt plus max_tokens) to stay under, for servers that send no headers.
    #[arg(long, value_name = "N")]
    pub tpm: Option<f64>,
    /// Split of a `save_to_disk` DatasetDict folder.
    #[arg(long)]
    pub split: Option<String>,
    /// Cache version: a new number re-rates every row without losing the older answers.
    #[arg(long, default_value_t = 1, value_name = "V")]
    pub version: u32,
    /// Stream the dataset instead of reading it up front (local files are always streamed).
    #[arg(long)]
    pub stream: bool,
    /// Chat model (overrides CHAT_MODEL).
    #[arg(long)]
    pub model: Option<String>,
    /// Base URL of an OpenAI-compatible API (overrides OPENAI_BASE_URL).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Folder for summary.csv and the per-row outputs (overrides DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Folder of extra lenses (overrides LENS_DIR); a lens there wins over a built-in of the same name.
    #[arg(long, value_name = "DIR")]
    pub lens_dir: Option<PathBuf>,
    /// Render every prompt and count tokens and cache hits without calling the model.
    #[arg(long)]
    pub dry_run: bool,
}

/// The whole program behind `main`: parse, run, and turn a fatal error into one line and an exit code.
/// (A library function so the workspace tests can build the same program as a test binary.)
pub fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}

fn run(cli: Cli) -> Result<(), crate::error::Error> {
    use crate::settings::{Env, Settings};
    let settings = Settings::load(&Env::from_process()?)?;
    match cli.command {
        Command::Summary(args) => {
            crate::summary::run(crate::config::RunConfig::new(args, settings)?)?;
            Ok(())
        }
        Command::Lenses(cmd) => {
            let catalog = crate::lens::Catalog::new(settings.lens_dir.iter().cloned().collect());
            crate::lens_cmd::run(cmd, &catalog)
        }
    }
}
