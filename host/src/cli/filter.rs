//! Arguments of `filter`, `merge` and `launch`, and their checks into typed configs.

use super::{InputArgs, ModelArgs, one_lens, require_api_key};
use crate::config::{RunConfig, RunMode};
use crate::data::Sample;
use crate::error::Error;
use crate::filter::FilterConfig;
use crate::settings::Settings;
use crate::shard::ShardSpec;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Which shard of a sharded run this process is.
#[derive(Debug, Clone, Args)]
pub struct ShardArgs {
    /// Do shard K of N (K from 0 to N-1). Without it: from SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT (minus SLURM_ARRAY_TASK_MIN), or from JOB_COMPLETION_INDEX with --shards.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// The number of shards, for a Kubernetes Indexed Job (JOB_COMPLETION_INDEX gives only the index).
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
}

impl ShardArgs {
    /// The shard, from the flags or the environment.
    pub fn resolve(&self) -> Result<Option<ShardSpec>, Error> {
        ShardSpec::resolve(self.shard.as_deref(), self.shards, &|k| {
            std::env::var(k).ok()
        })
    }
}

#[derive(Debug, Args)]
pub struct FilterArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Keep rows whose bucket is at least this one (in the lens's order, e.g. Poor < Low < Medium < Good).
    #[arg(long, value_name = "BUCKET")]
    pub min_bucket: Option<String>,
    /// Keep rows whose score LABEL is at least X; repeat for several labels.
    #[arg(long, value_name = "LABEL=X")]
    pub min: Vec<String>,
    /// Keep the top PCT percent of the rated rows by the lens's last score (a scoring pass, then
    /// the exact cut; every row tied at the cut is kept).
    #[arg(long, value_name = "PCT")]
    pub top: Option<f64>,
    /// Also write the rows not kept (rejected, failed, skipped) with their reason under OUT/rejected/.
    #[arg(long)]
    pub write_rejected: bool,
    /// Close a part file once it reaches this many megabytes.
    #[arg(long, default_value_t = 256.0, value_name = "MB")]
    pub part_mb: f64,
    /// Cut Parquet files bigger than this many megabytes into units of row groups of about this
    /// size, so one huge file spreads over many shards.
    #[arg(long, default_value_t = 256.0, value_name = "MB")]
    pub unit_mb: f64,
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Show no progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The output folder every shard wrote into (`--out` of the sharded command).
    pub dir: PathBuf,
    /// Also rewrite the parts into files of about --part-mb each (`part-00000.parquet`, …).
    #[arg(long)]
    pub compact: bool,
    /// The size of the compacted parts, in megabytes.
    #[arg(long, default_value_t = 256.0, value_name = "MB")]
    pub part_mb: f64,
}

/// Where `launch` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LaunchTarget {
    Slurm,
    K8s,
}

#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// `slurm`: a bash script that submits a job array and the dependent merge with sbatch;
    /// `k8s`: an Indexed Job manifest and the merge Job.
    #[arg(value_enum)]
    pub target: LaunchTarget,
    /// How many shards (array tasks, or Indexed Job completions).
    #[arg(long, value_name = "N")]
    pub shards: usize,
    /// Slurm partition (default: the cluster's default partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm time limit per task.
    #[arg(long, default_value = "04:00:00")]
    pub time: String,
    /// Memory per task (Slurm `--mem`, Kubernetes memory request).
    #[arg(long, default_value = "2G")]
    pub mem: String,
    /// CPUs per task.
    #[arg(long, default_value_t = 2)]
    pub cpus_per_task: u32,
    /// Kubernetes: the container image holding `classified`.
    #[arg(long, default_value = "classified:latest")]
    pub image: String,
    /// Kubernetes: the PersistentVolumeClaim holding the data and the output folder.
    #[arg(long, default_value = "classified-data")]
    pub volume: String,
    /// Kubernetes: where the volume is mounted in the pods.
    #[arg(long, default_value = "/data")]
    pub mount: String,
    /// The job's name.
    #[arg(long, default_value = "classified")]
    pub name: String,
    /// The `classified` program to run (default: this one).
    #[arg(long)]
    pub program: Option<String>,
    /// The command to shard: `filter …` or `summary …`, with its --out.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Megabytes → bytes, for a flag that must be above 0.
fn megabytes(flag: &str, mb: f64) -> Result<u64, Error> {
    if !(mb.is_finite() && mb > 0.0) {
        return Err(Error::Usage(format!(
            "{flag} {mb}: give a size in megabytes above 0, e.g. {flag} 256"
        )));
    }
    Ok(((mb * 1e6) as u64).max(1))
}

impl FilterArgs {
    pub fn validate(self, mut settings: Settings) -> Result<FilterConfig, Error> {
        if self.input.out.is_none() {
            return Err(Error::Usage(
                "filter needs --out DIR: the folder for the kept rows, stats.json and the shards' files".into(),
            ));
        }
        if self.input.max.is_some() {
            return Err(Error::Usage(
                "filter keeps rows of whole datasets and takes no --max; rate a sample with `classified summary --max N`".into(),
            ));
        }
        let selection = self.input.validate(&mut settings)?;
        one_lens(&selection, "filter")?;
        debug_assert_eq!(selection.sample, Sample::All);
        let model = self.model.validate(&mut settings)?;
        require_api_key(&selection, &settings)?;
        let part_bytes = megabytes("--part-mb", self.part_mb)?;
        let unit_bytes = megabytes("--unit-mb", self.unit_mb)?;
        let shard = self.shard.resolve()?;
        Ok(FilterConfig {
            run: RunConfig {
                selection,
                limits: model.limits,
                version: model.version,
                mode: RunMode::Live,
                max_usd: model.max_usd,
                json: false,
                settings,
            },
            min_bucket: self.min_bucket,
            min: self.min,
            top: self.top,
            write_rejected: self.write_rejected,
            part_bytes,
            unit_bytes,
            shard,
            progress: !self.quiet,
        })
    }
}

impl MergeArgs {
    /// The compacted part size in bytes.
    pub fn part_bytes(&self) -> Result<u64, Error> {
        megabytes("--part-mb", self.part_mb)
    }
}
