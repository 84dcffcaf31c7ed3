//! `summary --shard K/N`: rate this shard's units of every dataset through every lens, write the
//! per-row files with the shard in their names (`<dataset>.<lens>.shard-K-of-N.jsonl`/`.parquet`)
//! and `shard-K-of-N.json` (the counts and exact score sums per dataset × lens). `merge` then writes
//! `summary.csv` and `means.csv` from every shard's counts.

use super::ShardSpec;
use super::marker::{self, Found, Marker};
use super::units::{self, Unit};
use crate::config::{RunConfig, RunMode};
use crate::data::Sample;
use crate::error::Error;
use crate::filter::document::LensInfo;
use crate::filter::feed;
use crate::filter::stats::{DatasetStats, Verdict};
use crate::lens::Lens;
use crate::pipeline::rate::{RowOutcome, Status};
use crate::pipeline::{StageContext, chunk};
use crate::report::{RowFiles, RowSink};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Units of this size: the default of `filter --unit-mb`.
const UNIT_BYTES: u64 = 256_000_000;

/// One dataset × lens of a shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counted {
    pub lens: LensInfo,
    pub stats: DatasetStats,
}

/// Forwards each outcome to the run's per-row files and counts it.
struct Counting {
    files: RowFiles,
    labels: Vec<String>,
    counted: Arc<Mutex<Vec<Counted>>>,
    at: usize,
}

impl RowSink for Counting {
    fn write(&mut self, outcome: &RowOutcome) -> Result<(), Error> {
        let verdict = match outcome.status {
            Status::Rated { .. } => Verdict::Kept,
            Status::Skipped(_) => Verdict::Skipped,
            Status::Failed(_) | Status::Planned => Verdict::Failed,
        };
        self.counted.lock().expect("never poisoned")[self.at]
            .stats
            .record(outcome, &self.labels, verdict);
        self.files.write(outcome)
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>, Error> {
        self.files.finish()
    }
}

/// Run shard `spec` of a `summary` and say what it did.
pub fn run(config: RunConfig, spec: ShardSpec) -> Result<(), Error> {
    let out = config.settings.data_dir.clone();
    match run_shard(config, spec)? {
        Some(marker) => eprintln!(
            "shard {spec} is already done ({}): nothing to do",
            marker.display()
        ),
        None => eprintln!(
            "shard {spec} is done; once every shard is, run `classified merge {}`",
            out.display()
        ),
    }
    Ok(())
}

/// Rate the shard; `Some(marker)` when it was done before.
fn run_shard(mut config: RunConfig, spec: ShardSpec) -> Result<Option<PathBuf>, Error> {
    let selection = &config.selection;
    if selection.sample != Sample::All {
        return Err(Error::Usage(
            "--shard rates every row of the datasets and takes no --max; a sample is one process's job".into(),
        ));
    }
    if config.mode != RunMode::Live {
        return Err(Error::Usage(
            "--shard runs rate live; --dry-run and --batch take the whole dataset in one process"
                .into(),
        ));
    }
    let out = config.settings.data_dir.clone();
    let inputs = super::inputs::files(selection, &config.settings)?;
    let (units, stamps) = units::plan_files(&inputs.files, &selection.columns, UNIT_BYTES)?;
    let range = units::deal(&units, spec.index, spec.count);
    let lenses: Vec<LensInfo> = selection
        .lenses
        .iter()
        .map(|lens| lens_info(&config, lens))
        .collect::<Result<_, _>>()?;
    let identity = serde_json::json!({
        "command": "summary",
        "datasets": selection.datasets,
        "columns": selection.columns,
        "lenses": lenses,
        "model": config.settings.model,
        "version": config.version,
        "shards": spec.count,
        "hub_commits": inputs.commits,
        "split": selection.split,
        "hub_config": selection.hub.config,
        "revision": selection.hub.revision,
    });
    std::fs::create_dir_all(&out).map_err(|source| Error::Output {
        path: out.display().to_string(),
        source,
    })?;
    if let Found::Done(path) = marker::check(&out, spec, &identity)? {
        return Ok(Some(path));
    }
    config.settings.database_url = Some(
        out.join("cache")
            .join(format!("shard-{}-of-{}.sqlite", spec.index, spec.count)),
    );
    let names = crate::report::dataset_names(&config.selection.datasets);
    let counted = Arc::new(Mutex::new(Vec::new()));
    let open = |i: usize| {
        let mine: Vec<(usize, Unit)> = range
            .clone()
            .filter(|&u| units[u].dataset == i)
            .map(|u| (u, units[u].clone()))
            .collect();
        Ok(feed::dataset(
            &names[i],
            mine,
            config.selection.columns.clone(),
            None,
        ))
    };
    let mut stems = Vec::new();
    let mut make_sink = |dataset: &str, lens: &Lens| -> Result<Box<dyn RowSink>, Error> {
        let stem = crate::report::output_stem(dataset, &lens.name, &mut stems);
        let stem = format!("{stem}.shard-{}-of-{}", spec.index, spec.count);
        let info = lenses
            .iter()
            .find(|l| l.name == lens.name)
            .expect("every lens has its info");
        let mut counted_now = counted.lock().expect("never poisoned");
        counted_now.push(Counted {
            lens: info.clone(),
            stats: DatasetStats::new(dataset, lens.score_labels.len()),
        });
        Ok(Box::new(Counting {
            files: RowFiles::create(
                &out,
                &stem,
                crate::report::FileMeta::new(dataset, lens, info.buckets.clone()),
            )?,
            labels: lens.score_labels.clone(),
            counted: counted.clone(),
            at: counted_now.len() - 1,
        }))
    };
    crate::runtime::block_on(crate::run::run_opened(
        &config,
        &open,
        &mut make_sink,
        false,
        true,
    ))?;
    let counted = std::mem::take(&mut *counted.lock().expect("never poisoned"));
    let marker = Marker {
        identity,
        shard: spec.index,
        count: spec.count,
        stamps,
        stats: serde_json::to_value(&counted).expect("counts serialize"),
    };
    marker::write(&out, spec, &marker)?;
    inputs.report_streamed();
    Ok(None)
}

fn lens_info(config: &RunConfig, lens: &Lens) -> Result<LensInfo, Error> {
    let ctx = StageContext {
        lens: Arc::new(lens.clone()),
        chunking: config.settings.chunking,
        bpe: chunk::lazy_tokenizer_for_model(&config.settings.model),
    };
    Ok(LensInfo::new(
        lens,
        crate::component::stages_for(ctx)?.bucket_names(),
    ))
}

/// `merge` of a sharded `summary`: add every shard's counts, in shard order; write `summary.csv`
/// and `means.csv`.
pub fn merge(markers: &[Marker], dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut all: Vec<Counted> = Vec::new();
    for m in markers {
        let counted: Vec<Counted> = serde_json::from_value(m.stats.clone()).map_err(|e| {
            Error::Usage(format!(
                "shard {} of {} in {} holds counts this classified cannot read ({e}); rerun that shard",
                m.shard,
                m.count,
                dir.display()
            ))
        })?;
        if all.is_empty() {
            all = counted;
            continue;
        }
        for (mine, theirs) in all.iter_mut().zip(&counted) {
            mine.stats.absorb(&theirs.stats);
        }
    }
    let tallies: Vec<_> = all
        .iter()
        .map(|c| c.stats.tally(&c.lens.name, &c.lens.labels, &c.lens.buckets))
        .collect();
    crate::report::print_summary(&tallies);
    crate::report::write_summary_csv(dir, &tallies)
}
