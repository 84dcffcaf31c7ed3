//! One `summary` run from start to end: plan → estimate and budget check → batch phase → rate →
//! report.
//!
//! The run's shape is chosen here, once, from its [`RunMode`]: each mode is one function below that
//! hands the per-row pipeline (`pipeline::rate`) the answerer it needs ([`answerers`]). Rating a row
//! never learns which mode it is in.

mod answerers;
mod cost;
mod datasets;
mod pass;

use crate::batch::{self, client::BatchApi};
use crate::cache::Cache;
use crate::config::{RunConfig, RunMode};
use crate::data::Dataset;
use crate::error::Error;
use crate::hub::Hub;
use crate::lens::Lens;
use crate::model::{Client, RetryPolicy, Scheduler};
use crate::pipeline::answer::{Answerer, Plan};
use crate::pipeline::rate::{LensRun, Services, Usage};
use crate::pipeline::{StageContext, chunk};
use crate::report::{self, RowFiles, RowSink, Tally};
use answerers::{CacheOnly, Collect, FromBatch, Live};
use std::path::PathBuf;
use std::sync::Arc;

/// What a finished run produced, for the caller and the tests.
pub struct RunReport {
    pub tallies: Vec<Tally>,
    pub files: Vec<PathBuf>,
}

impl RunReport {
    /// Rows that failed, over every dataset and lens, and every row seen.
    pub fn failed_rows(&self) -> (u64, u64) {
        self.tallies
            .iter()
            .fold((0, 0), |(f, r), t| (f + t.failed, r + t.rows()))
    }
}

/// Makes the sink of one dataset × lens, given the dataset's display name and the lens.
pub type SinkFactory<'f> = dyn FnMut(&str, &Lens) -> Result<Box<dyn RowSink>, Error> + 'f;

/// Opens dataset `i` of the selection: `filter` reads its own units of work instead of the whole
/// dataset (`run_opened`).
pub type Opener<'o> = dyn Fn(usize) -> Result<Dataset, Error> + Send + Sync + 'o;

/// `filter`: rate the rows `open` gives for each dataset of the selection, each dataset × lens's
/// outcomes to the sink `make_sink` makes; write nothing else. Live (the estimate, `--max-usd`, the
/// scheduler, as `summary` runs), or, with `cache_only`, from the cache alone (a row the cache
/// cannot answer fails as unrated). `bars`: draw the per-lens bars (false when the caller draws
/// its own, as `filter` does: one bar per run).
pub async fn run_opened(
    config: &RunConfig,
    open: &Opener<'_>,
    make_sink: &mut SinkFactory<'_>,
    cache_only: bool,
    bars: bool,
) -> Result<RunReport, Error> {
    let cache_use = match cache_only {
        true => CacheUse::MustExist,
        false => CacheUse::Create,
    };
    let mut run = Run::new(config, cache_use)?;
    run.opener = Some(open);
    run.bars = bars;
    if !cache_only {
        return run.live_into(Some(make_sink)).await;
    }
    let answerer = CacheOnly {
        model: config.settings.model.clone(),
        version: config.version,
    };
    run.rate(Arc::new(answerer), Vec::new(), make_sink).await
}

/// Run `config` to the end.
pub async fn run(config: &RunConfig) -> Result<RunReport, Error> {
    let run = Run::new(config, CacheUse::for_mode(config.mode))?;
    match config.mode {
        RunMode::DryRun { .. } => run.dry_run().await,
        RunMode::Live => run.live().await,
        RunMode::Batch => run.batch().await,
    }
}

/// Rate every row of every dataset through every lens from the cache alone, with the keys a
/// `summary` run with the same model, version and structured form used; send nothing and write
/// nothing. Each dataset × lens's outcomes go to the sink `make_sink` makes for it; a row without
/// a cached answer fails as [`crate::failure::FailureKind::Unrated`]. (`config.mode` is not consulted.)
pub async fn from_cache(
    config: &RunConfig,
    make_sink: &mut SinkFactory<'_>,
) -> Result<Vec<Tally>, Error> {
    let run = Run::new(config, CacheUse::MustExist)?;
    let answerer = CacheOnly {
        model: config.settings.model.clone(),
        version: config.version,
    };
    let report = run.rate(Arc::new(answerer), Vec::new(), make_sink).await?;
    Ok(report.tallies)
}

/// How a run opens the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CacheUse {
    /// Open it, creating it if needed: a run that may store answers.
    Create,
    /// Read it if it exists, else use an empty one in memory: a dry run creates no files.
    ReadIfPresent,
    /// Read it; it must exist: a command that reads ratings and asks for none.
    MustExist,
}

impl CacheUse {
    fn for_mode(mode: RunMode) -> CacheUse {
        match mode {
            RunMode::DryRun { .. } => CacheUse::ReadIfPresent,
            RunMode::Live | RunMode::Batch => CacheUse::Create,
        }
    }
}

/// What every mode shares: the config, the cache, the lenses ready to rate, the Hub client.
struct Run<'a> {
    config: &'a RunConfig,
    cache: Arc<Cache>,
    runs: Arc<Vec<LensRun>>,
    hub: Option<Arc<Hub>>,
    price: Option<crate::cost::Price>,
    /// Whether any lens asks a model (local lenses cost nothing and need no plan).
    needs_model: bool,
    columns: Arc<Vec<String>>,
    /// Opens the datasets instead of `datasets::open` (`filter`).
    opener: Option<&'a Opener<'a>>,
    /// Draw the per-lens progress bars of the rating pass.
    bars: bool,
}

impl<'a> Run<'a> {
    fn new(config: &'a RunConfig, cache_use: CacheUse) -> Result<Run<'a>, Error> {
        let settings = &config.settings;
        let database = settings.database();
        let cache = match cache_use {
            CacheUse::ReadIfPresent if !database.exists() => Cache::in_memory()?,
            CacheUse::MustExist if !database.exists() => {
                return Err(Error::Usage(format!(
                    "there is no cache at {}: rate rows first with `classified summary …` (with the same --out, or DATABASE_URL)",
                    database.display()
                )));
            }
            _ => Cache::open(&database)?,
        };
        let bpe = chunk::lazy_tokenizer_for_model(&settings.model);
        let runs = config
            .selection
            .lenses
            .iter()
            .map(|lens| {
                let ctx = StageContext {
                    lens: Arc::new(lens.clone()),
                    chunking: settings.chunking,
                    bpe,
                };
                LensRun::new(crate::component::stages_for(ctx)?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        // One Hub client for the run, when any dataset is on the Hub.
        let hub = match config
            .selection
            .datasets
            .iter()
            .any(|d| crate::input::is_hub_reference(d))
        {
            true => Some(Arc::new(Hub::new(settings.hub.clone())?)),
            false => None,
        };
        Ok(Run {
            config,
            cache: Arc::new(cache),
            runs: Arc::new(runs),
            hub,
            price: cost::run_price(config)?,
            needs_model: config.selection.lenses.iter().any(|l| l.kind.asks_model()),
            columns: Arc::new(config.selection.columns.clone()),
            opener: None,
            bars: true,
        })
    }

    /// `--dry-run`: plan every row, visibly; print the plan and the estimate; send and write nothing.
    async fn dry_run(self) -> Result<RunReport, Error> {
        let plan = self.plan(Arc::new(Plan), None, true).await?;
        let settings = &self.config.settings;
        report::print_dry_run(&plan.tallies, settings.max_generation_tokens);
        println!("{}", plan.estimate.priced(self.price).render());
        self.report_hub_reads();
        Ok(RunReport {
            tallies: plan.tallies,
            files: Vec::new(),
        })
    }

    /// Ask the model as rows come. The estimate printed first comes from planning the first rows
    /// of each dataset, which are kept and rated next, so nothing is read twice; `--max-usd` needs
    /// an exact estimate, so it plans every row first.
    async fn live(self) -> Result<RunReport, Error> {
        self.live_into(None).await
    }

    /// [`Run::live`], the outcomes going to `make_sink`'s sinks when given, else to the run's files.
    async fn live_into(self, make_sink: Option<&mut SinkFactory<'_>>) -> Result<RunReport, Error> {
        let mut opened = Vec::new();
        if self.needs_model {
            let head = match self.config.max_usd {
                Some(_) => None,
                None => Some(self.config.settings.tuning.plan_rows),
            };
            let plan = self.plan(Arc::new(Plan), head, false).await?;
            cost::check_estimate(self.config, &plan.estimate.priced(self.price))?;
            opened = plan.opened;
        }
        let budget = cost::budget(self.config, self.price);
        let settings = &self.config.settings;
        let scheduler = Arc::new(Scheduler::new(
            self.config.limits.clone(),
            RetryPolicy::default(),
        ));
        let live = Live {
            client: Client::new(
                &settings.base_url,
                settings.api_key.clone(),
                settings.timeout,
            ),
            scheduler: scheduler.clone(),
            budget: budget.clone(),
        };
        let report = match make_sink {
            Some(make_sink) => self.rate(Arc::new(live), opened, make_sink).await?,
            None => self.rate_to_files(Arc::new(live), opened).await?,
        };
        self.finish(&report, None);
        if let Some(budget) = budget.filter(|b| b.reached()) {
            return Err(cost::budget_stop(&budget, &report.tallies));
        }
        // A server quota (per day, say) ran out: the outputs are written; say when to rerun.
        if let Some(why) = scheduler.quota_spent() {
            return Err(Error::RateBudget(why));
        }
        Ok(report)
    }

    /// `--batch`: plan every row, collecting what the cache cannot answer; send that through the
    /// Batch API and wait; then rate every row from the cache.
    async fn batch(self) -> Result<RunReport, Error> {
        let collect = Arc::new(Collect::default());
        if self.needs_model {
            let plan = self.plan(collect.clone(), None, false).await?;
            cost::check_estimate(self.config, &plan.estimate.priced(self.price))?;
        }
        let settings = &self.config.settings;
        let api = BatchApi::new(
            &settings.base_url,
            settings.api_key.clone(),
            settings.timeout,
        );
        // Only answers the lens's postprocess takes go into the cache, as in a live run.
        let accept =
            |lens: &str, arguments: &str| match self.runs.iter().find(|r| r.lens.name == lens) {
                Some(run) => run
                    .stages
                    .postprocess(0, arguments)
                    .map(|_| ())
                    .map_err(|e| e.message),
                None => Ok(()),
            };
        let parts = settings.data_dir.join("batches");
        let target = batch::Target {
            model: &settings.model,
            version: self.config.version,
            parts_dir: &parts,
            accept: &accept,
            max_requests: settings.tuning.batch_max_requests,
            first_poll: settings.tuning.batch_first_poll,
        };
        let outcome = batch::submit_and_wait(&self.cache, &api, &target, collect.take()).await?;
        let answerer = FromBatch {
            failures: outcome.failures.clone(),
        };
        let report = self.rate_to_files(Arc::new(answerer), Vec::new()).await?;
        self.finish(&report, Some(&outcome));
        Ok(report)
    }

    /// The planning pass: render, look up the cache and count tokens, sending nothing. `head`
    /// limits it to the first rows of each dataset, which are kept for the rating pass.
    async fn plan(
        &self,
        answerer: Arc<dyn Answerer>,
        head: Option<u64>,
        progress: bool,
    ) -> Result<Planned, Error> {
        let services = self.services(answerer);
        let mut estimate = crate::cost::Estimate::new(
            &self.config.settings.model,
            self.config.mode.batch_prices(),
        );
        let mut tallies = Vec::new();
        let mut opened = Vec::new();
        for (i, (arg, name)) in self.datasets().into_iter().enumerate() {
            let dataset = self.open(i, &arg).await?;
            let total = dataset.total_rows;
            let (rows, limited) = match head {
                Some(n) => {
                    let head = datasets::read_head(dataset, n).await?;
                    let limited = head.limited;
                    let (planned, kept) = head.replay();
                    opened.push(Some(kept));
                    (planned, limited)
                }
                None => {
                    opened.push(None);
                    (dataset, false)
                }
            };
            let (dataset_tallies, _) =
                pass::rate_rows(&self.pass(&name, &services, progress), rows, Vec::new()).await?;
            let mut usage = Usage::default();
            dataset_tallies.iter().for_each(|t| usage.add(&t.usage));
            let seen = dataset_tallies.first().map(|t| t.rows()).unwrap_or(0);
            estimate.add(
                &crate::cost::Planned {
                    prompts: usage.prompts,
                    cache_hits: usage.cache_hits,
                    prompt_tokens: usage.prompt_tokens,
                },
                seen,
                total,
                limited,
                self.config.settings.max_generation_tokens,
            );
            tallies.extend(dataset_tallies);
        }
        Ok(Planned {
            tallies,
            estimate,
            opened,
        })
    }

    /// The rating pass over every dataset, writing the per-row outputs and `summary.csv`.
    async fn rate_to_files(
        &self,
        answerer: Arc<dyn Answerer>,
        opened: Vec<Option<Dataset>>,
    ) -> Result<RunReport, Error> {
        let dir = self.config.settings.data_dir.clone();
        let mut stems = Vec::new();
        let runs = self.runs.clone();
        let mut files = |dataset: &str, lens: &Lens| -> Result<Box<dyn RowSink>, Error> {
            let stem = report::output_stem(dataset, &lens.name, &mut stems);
            let bucket_names = runs
                .iter()
                .find(|r| r.lens.name == lens.name)
                .map(|r| r.stages.bucket_names())
                .unwrap_or_default();
            let meta = report::FileMeta::new(dataset, lens, bucket_names);
            Ok(Box::new(RowFiles::create(&dir, &stem, meta)?))
        };
        let mut report = self.rate(answerer, opened, &mut files).await?;
        report
            .files
            .extend(report::write_summary_csv(&dir, &report.tallies)?);
        let info = report::RunInfo::for_summary(self.config, &report.tallies, self.price);
        report.files.push(info.write(&dir)?);
        // report.html is built from the files just written, as `classified report` builds it.
        let html = report::write_report_from(&dir, &report.files)?;
        report.files.push(html);
        Ok(report)
    }

    /// The rating pass over every dataset, each dataset × lens's outcomes to the sink `make_sink`
    /// makes for it. A dataset kept open by the plan (`opened`, by position) is not opened again.
    async fn rate(
        &self,
        answerer: Arc<dyn Answerer>,
        mut opened: Vec<Option<Dataset>>,
        make_sink: &mut SinkFactory<'_>,
    ) -> Result<RunReport, Error> {
        let services = self.services(answerer);
        let mut report = RunReport {
            tallies: Vec::new(),
            files: Vec::new(),
        };
        for (i, (arg, name)) in self.datasets().into_iter().enumerate() {
            let dataset = match opened.get_mut(i).and_then(Option::take) {
                Some(dataset) => dataset,
                None => self.open(i, &arg).await?,
            };
            let sinks = self
                .runs
                .iter()
                .map(|run| make_sink(&name, &run.lens))
                .collect::<Result<Vec<_>, Error>>()?;
            let (tallies, written) =
                pass::rate_rows(&self.pass(&name, &services, self.bars), dataset, sinks).await?;
            report.tallies.extend(tallies);
            report.files.extend(written);
        }
        Ok(report)
    }

    /// Open dataset `i` (argument `arg`): through the opener when the run has one.
    async fn open(&self, i: usize, arg: &std::path::Path) -> Result<Dataset, Error> {
        match self.opener {
            Some(open) => open(i),
            None => datasets::open(&self.config.selection, arg, self.hub.as_ref()).await,
        }
    }

    /// The end of a rating run: the summary table, what was spent, the files written.
    fn finish(&self, report: &RunReport, batch: Option<&batch::Outcome>) {
        if self.config.json {
            let info = report::RunInfo::for_summary(self.config, &report.tallies, self.price);
            println!(
                "{}",
                report::render_json(&info, &report.tallies, &report.files)
            );
        } else {
            report::print_summary(&report.tallies);
        }
        let usage = report.tallies.iter().fold(Usage::default(), |mut u, t| {
            u.add(&t.usage);
            u
        });
        cost::print_spend(&usage, self.price, batch, self.cache.path());
        for f in &report.files {
            eprintln!("wrote {}", f.display());
        }
        self.report_hub_reads();
    }

    fn services(&self, answerer: Arc<dyn Answerer>) -> Arc<Services> {
        let config = self.config;
        Arc::new(Services {
            cache: self.cache.clone(),
            answerer,
            model: config.settings.model.clone(),
            version: config.version,
            max_tokens: config.settings.max_generation_tokens,
            structured: config.limits.structured,
        })
    }

    fn pass<'p>(
        &'p self,
        name: &'p str,
        services: &'p Arc<Services>,
        progress: bool,
    ) -> pass::Pass<'p> {
        pass::Pass {
            name,
            runs: &self.runs,
            services,
            columns: &self.columns,
            window: (self.config.limits.ceiling * 4).clamp(256, 2048),
            progress,
        }
    }

    /// Each dataset argument with its display name.
    fn datasets(&self) -> Vec<(PathBuf, String)> {
        let names = report::dataset_names(&self.config.selection.datasets);
        self.config
            .selection
            .datasets
            .iter()
            .cloned()
            .zip(names)
            .collect()
    }

    /// How much was read from the Hub (streamed; downloads into the cache are announced as they start).
    fn report_hub_reads(&self) {
        if let Some(http) = self.hub.as_deref().and_then(|h| h.http())
            && http.bytes_received() > 0
        {
            eprintln!(
                "streamed {} from the Hub",
                crate::hub::open::human_bytes(http.bytes_received())
            );
        }
    }
}

/// What a planning pass found.
struct Planned {
    tallies: Vec<Tally>,
    estimate: crate::cost::Estimate,
    /// Per dataset, when only its first rows were planned: the dataset, ready to be rated from its
    /// first row without reading those rows again.
    opened: Vec<Option<Dataset>>,
}
