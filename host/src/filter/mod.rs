//! `classified filter`: rate every row of whole datasets through one lens and keep the rows that
//! pass, with every original column, as zstd Parquet parts; count everything in `stats.json`,
//! `summary.csv` and `means.csv`. Sharded (`--shard K/N`), each shard does its units of work and
//! leaves `shard-K-of-N.json`; `classified merge` then writes the run's stats.
//!
//! How rows are rated is chosen once, here: a lens that asks a model rates through the same run as
//! `summary` (`run::run_opened`: cache, scheduler, `--max-usd`), fed by [`feed`]; a lens that
//! scores rows here rates whole record batches in place ([`local`]). Either way each rated batch
//! goes to a [`sink::Writer`].

pub mod compact;
pub mod document;
mod exact_sum;
pub mod feed;
mod local;
mod output;
pub mod parts;
mod progress;
pub mod rule;
mod sink;
pub mod stats;
mod top;

use crate::config::RunConfig;
use crate::data::Dataset;
use crate::error::Error;
use crate::lens::Lens;
use crate::pipeline::{StageContext, chunk};
use crate::report::RowSink;
use crate::shard::ShardSpec;
use crate::shard::marker::{self, Found, Marker};
use crate::shard::units::{self, Unit};
use document::{LensInfo, RunStats};
use feed::Feed;
use local::LocalPass;
use rule::Rule;
use sink::{Context, Gathered, Sink, Writer};
use stats::DatasetStats;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A checked `filter` command.
#[derive(Debug)]
pub struct FilterConfig {
    /// The datasets, columns and the one lens, the model options; `settings.data_dir` is `--out`.
    pub run: RunConfig,
    pub min_bucket: Option<String>,
    pub min: Vec<String>,
    pub top: Option<f64>,
    pub write_rejected: bool,
    /// A part file is closed once it reaches this size.
    pub part_bytes: u64,
    /// Parquet files bigger than this are cut into units of row groups of about this size.
    pub unit_bytes: u64,
    pub shard: Option<ShardSpec>,
    /// Show the progress bar.
    pub progress: bool,
}

/// What a filter run did.
#[derive(Debug)]
pub enum Filtered {
    /// Every row of the run (or of the shard) went through; the stats and the files written.
    Done {
        stats: Box<RunStats>,
        files: Vec<PathBuf>,
    },
    /// The shard was done before: its marker.
    AlreadyDone(PathBuf),
}

/// Run it (blocking: it starts its own async runtime).
pub fn run(mut config: FilterConfig) -> Result<Filtered, Error> {
    let out = config.run.settings.data_dir.clone();
    let selection = &config.run.selection;
    let inputs = crate::shard::inputs::files(selection, &config.run.settings)?;
    let lens = selection.lenses[0].clone();
    let (units, stamps) = units::plan_files(&inputs.files, &selection.columns, config.unit_bytes)?;
    let range = match config.shard {
        Some(s) => units::deal(&units, s.index, s.count),
        None => 0..units.len(),
    };
    let ctx = StageContext {
        lens: Arc::new(lens.clone()),
        chunking: config.run.settings.chunking,
        bpe: chunk::lazy_tokenizer_for_model(&config.run.settings.model),
    };
    let stages = crate::component::stages_for(ctx)?;
    let buckets = stages.bucket_names();
    let mut rule = Rule::new(
        &lens.score_labels,
        &buckets,
        config.min_bucket.as_deref(),
        &config.min,
        config.top,
    )?;
    let lens_info = LensInfo::new(&lens, buckets);
    let identity = identity(&config, &lens_info, &inputs.commits);

    std::fs::create_dir_all(&out).map_err(|source| Error::Output {
        path: out.display().to_string(),
        source,
    })?;
    match config.shard {
        Some(spec) => {
            if let Found::Done(path) = marker::check(&out, spec, &identity)? {
                return Ok(Filtered::AlreadyDone(path));
            }
            if config.top.is_some() {
                return Err(Error::Usage(
                    "--top needs every row's score before the cut, so it cannot be sharded; run it in one process, or shard with --min / --min-bucket".into(),
                ));
            }
            // Each shard its own cache: SQLite files are not shared across machines.
            config.run.settings.database_url = Some(
                out.join("cache")
                    .join(format!("shard-{}-of-{}.sqlite", spec.index, spec.count)),
            );
        }
        None => {
            if let Some((_, _, path)) = marker::list(&out).first() {
                return Err(Error::Usage(format!(
                    "{} holds {} from a sharded run; finish it with `classified merge {}` or use another --out",
                    out.display(),
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    out.display()
                )));
            }
        }
    }
    // A killed earlier attempt may have left parts of these units: they are redone whole. One
    // process owns the whole folder's parts, and removes any an earlier run over other data left.
    for dir in [out.clone(), out.join("rejected")] {
        match config.shard {
            Some(_) => {
                for unit in range.clone() {
                    parts::clear(&dir, "part", unit)?;
                }
            }
            None => parts::clear_all(&dir, "part")?,
        }
    }

    let names = crate::report::dataset_names(&selection.datasets);
    let units = Arc::new(units);
    let rows: u64 = range.clone().map(|u| units[u].rows).sum();
    let new_stats = || -> Vec<DatasetStats> {
        let mut stats: Vec<DatasetStats> = names
            .iter()
            .map(|n| DatasetStats::new(n, lens.score_labels.len()))
            .collect();
        for u in range.clone() {
            stats[units[u].dataset].bytes_in += units[u].bytes;
        }
        stats
    };
    let context = |scoring: bool, rule: Rule| Context {
        out: out.clone(),
        rule,
        added: output::Added {
            lens: lens.name.clone(),
            labels: lens.score_labels.clone(),
        },
        write_rejected: config.write_rejected,
        part_bytes: config.part_bytes,
        units: units.clone(),
        scoring,
    };
    let rating = match lens.kind.asks_model() {
        true => Rating::Run(Feeder {
            units: &units,
            range: range.clone(),
            names: &names,
            columns: &selection.columns,
        }),
        false => Rating::Here(LocalPass {
            stages: &*stages,
            columns: &selection.columns,
            units: &units,
            range: range.clone(),
        }),
    };

    if let Some(percent) = config.top {
        let gathered = Arc::new(Mutex::new(Gathered {
            stats: new_stats(),
            spill: Some(top::Spill::new(&out)?),
            parts: Vec::new(),
            progress: progress::Progress::new(rows, "scoring", config.progress),
        }));
        rating.pass(
            &config.run,
            Arc::new(context(true, rule.clone())),
            &gathered,
            false,
        )?;
        let gathered = take(gathered);
        gathered.progress.finish();
        rule.threshold = gathered.spill.expect("set above").threshold(percent)?;
    }
    let gathered = Arc::new(Mutex::new(Gathered {
        stats: new_stats(),
        spill: None,
        parts: Vec::new(),
        progress: progress::Progress::new(rows, "filter", config.progress),
    }));
    // After a scoring pass every answer is in the cache (which that pass created): the writing pass
    // asks for none, so it rates exactly the rows the threshold was computed from. A lens that asks
    // no model never consults the answerer either way.
    let cache_only = config.top.is_some();
    rating.pass(
        &config.run,
        Arc::new(context(false, rule.clone())),
        &gathered,
        cache_only,
    )?;
    let gathered = take(gathered);
    gathered.progress.finish();
    inputs.report_streamed();

    let stats = RunStats {
        lens: lens_info,
        rule,
        datasets: gathered.stats,
    };
    let mut files: Vec<PathBuf> = gathered.parts.into_iter().map(|(p, _)| p).collect();
    match config.shard {
        Some(spec) => {
            let marker = Marker {
                identity,
                shard: spec.index,
                count: spec.count,
                stamps,
                stats: serde_json::to_value(&stats).expect("stats serialize"),
            };
            files.push(marker::write(&out, spec, &marker)?);
        }
        None => files.extend(stats.write(&out)?),
    }
    Ok(Filtered::Done {
        stats: Box::new(stats),
        files,
    })
}

fn take(gathered: Arc<Mutex<Gathered>>) -> Gathered {
    match Arc::try_unwrap(gathered) {
        Ok(m) => m.into_inner().expect("never poisoned"),
        Err(_) => unreachable!("every sink is finished and dropped after a pass"),
    }
}

/// Everything but the shard that decides a run's output: shards of one run share it.
fn identity(
    config: &FilterConfig,
    lens: &LensInfo,
    commits: &[Option<String>],
) -> serde_json::Value {
    let s = &config.run.selection;
    serde_json::json!({
        "command": "filter",
        "datasets": s.datasets,
        "columns": s.columns,
        "split": s.split,
        "hub_config": s.hub.config,
        "revision": s.hub.revision,
        "hub_commits": commits,
        "lens": lens,
        "min_bucket": config.min_bucket,
        "min": config.min,
        "top": config.top,
        "write_rejected": config.write_rejected,
        "part_bytes": config.part_bytes,
        "unit_bytes": config.unit_bytes,
        "model": config.run.settings.model,
        "version": config.run.version,
        "shards": config.shard.map(|s| s.count),
    })
}

/// How this run rates rows, chosen once.
enum Rating<'a> {
    /// Through the run, row by row (a lens that asks a model).
    Run(Feeder<'a>),
    /// Whole batches in place (a lens that scores rows here).
    Here(LocalPass<'a>),
}

impl Rating<'_> {
    /// One pass over this process's units, every batch to its dataset's writer.
    fn pass(
        &self,
        run: &RunConfig,
        context: Arc<Context>,
        gathered: &Arc<Mutex<Gathered>>,
        cache_only: bool,
    ) -> Result<(), Error> {
        match self {
            Rating::Run(feeder) => feeder.pass(run, context, gathered, cache_only),
            Rating::Here(local) => {
                local.run(&mut |i| Writer::new(context.clone(), gathered.clone(), i))
            }
        }
    }
}

/// Hands the run each dataset's share of this process's units.
struct Feeder<'a> {
    units: &'a Arc<Vec<Unit>>,
    range: Range<usize>,
    names: &'a [String],
    columns: &'a [String],
}

impl Feeder<'_> {
    /// One pass over the units, every row to the sinks.
    fn pass(
        &self,
        run: &RunConfig,
        context: Arc<Context>,
        gathered: &Arc<Mutex<Gathered>>,
        cache_only: bool,
    ) -> Result<(), Error> {
        // The feed of each dataset's latest opening: the one its sink is made for.
        let feeds: Mutex<Vec<Option<Arc<Feed>>>> = Mutex::new(vec![None; self.names.len()]);
        let open = |i: usize| -> Result<Dataset, Error> {
            let feed = Arc::new(Feed::default());
            feeds.lock().expect("never poisoned")[i] = Some(feed.clone());
            let mine: Vec<(usize, Unit)> = self
                .range
                .clone()
                .filter(|&u| self.units[u].dataset == i)
                .map(|u| (u, self.units[u].clone()))
                .collect();
            Ok(feed::dataset(
                &self.names[i],
                mine,
                self.columns.to_vec(),
                Some(feed),
            ))
        };
        let mut make_sink = |name: &str, _lens: &Lens| -> Result<Box<dyn RowSink>, Error> {
            let i =
                self.names.iter().position(|n| n == name).ok_or_else(|| {
                    Error::Internal(format!("filter has no dataset named {name}"))
                })?;
            let feed = feeds.lock().expect("never poisoned")[i]
                .clone()
                .ok_or_else(|| Error::Internal("a sink came before its dataset".into()))?;
            Ok(Box::new(Sink::new(
                feed,
                Writer::new(context.clone(), gathered.clone(), i),
            )))
        };
        crate::runtime::block_on(crate::run::run_opened(
            run,
            &open,
            &mut make_sink,
            cache_only,
            // One bar per run: filter's own (rows/s, MB/s, kept share, ETA), not the per-lens ones.
            false,
        ))
        .map(drop)
    }
}
