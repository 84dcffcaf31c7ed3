//! The `summary` command: read every dataset once, rate each row through every lens, report.

use crate::batch::{self, BatchLink};
use crate::cache::Cache;
use crate::config::RunConfig;
use crate::cost::{self, Budget, Estimate};
use crate::data::Row;
use crate::error::Error;
use crate::hub::Hub;
use crate::input;
use crate::lens::LensKind;
use crate::model::{Client, RetryPolicy, Scheduler};
use crate::pipeline::rate::{LensRun, RowOutcome, Services, Status};
use crate::pipeline::{Inputs, StageContext, chunk};
use crate::report::{self, RowFiles, Tally};
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows read ahead of the raters: enough to keep every worker busy, small enough to bound memory.
const READ_AHEAD: usize = 256;

/// What a finished run produced, for the caller and the tests.
pub struct RunReport {
    pub tallies: Vec<Tally>,
    pub files: Vec<PathBuf>,
}

pub fn run(config: RunConfig) -> Result<RunReport, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        tokio::select! {
            result = run_async(&config) => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Usage(
                "interrupted; every answer received so far is cached, so rerunning the same command continues where this one stopped".into(),
            )),
        }
    })
}

async fn run_async(config: &RunConfig) -> Result<RunReport, Error> {
    let settings = &config.settings;
    // A dry run only reads the cache, so it does not create one.
    let database = settings.database();
    let cache = if config.dry_run && !database.exists() {
        Cache::in_memory()?
    } else {
        Cache::open(&database)?
    };
    let cache = Arc::new(cache);
    let price = cost::run::run_price(config)?;
    let bpe = chunk::lazy_tokenizer_for_model(&settings.model);
    let runs = config
        .lenses
        .iter()
        .map(|lens| {
            let ctx = StageContext {
                lens: Arc::new(lens.clone()),
                chunking: settings.chunking.clone(),
                bpe,
            };
            LensRun::new(crate::component::stages_for(ctx)?)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let runs = Arc::new(runs);
    // One Hub client for the run, when any dataset is on the Hub.
    let hub = match config.datasets.iter().any(|d| input::is_hub_reference(d)) {
        true => Some(Arc::new(Hub::new(settings.hub.clone())?)),
        false => None,
    };

    // The planning pass: render, look up the cache and count tokens, sending nothing. It covers
    // every row where the numbers must be exact, else the first `plan_rows()` rows of each dataset.
    let collect = config.batch && !config.dry_run;
    let plan_services = Arc::new(services(
        config,
        cache.clone(),
        None,
        None,
        collect.then(|| BatchLink::Collect(Default::default())),
    ));
    let exact = config.dry_run || config.batch || config.max_usd.is_some();
    let pass = Pass::Plan {
        limit: (!exact).then(plan_rows),
        visible: config.dry_run,
    };
    // Local lenses cost nothing: a real run of only those plans nothing.
    let needs_model = runs.iter().any(|r| r.lens.kind != LensKind::Local);
    if config.dry_run || needs_model {
        let (plan, estimate) = rate_all(config, &runs, &plan_services, hub.as_ref(), pass).await?;
        let estimate = estimate.priced(price);
        if config.dry_run {
            report::print_dry_run(&plan.tallies, settings.max_generation_tokens);
            println!("{}", estimate.render());
            report_hub_reads(hub.as_deref());
            return Ok(plan);
        }
        cost::run::check_estimate(config, &estimate)?;
    }
    let mut batch_outcome = None;
    let mut batch_link = None;
    if config.batch {
        // Only answers the lens's postprocess takes go into the cache, as in a synchronous run.
        let accept = |lens: &str, arguments: &str| match runs.iter().find(|r| r.lens.name == lens) {
            Some(run) => run
                .stages
                .postprocess(0, arguments)
                .map(|_| ())
                .map_err(|e| e.message),
            None => Ok(()),
        };
        let outcome = batch::run(config, &cache, &plan_services.batch, &accept).await?;
        batch_link = Some(BatchLink::Answered(outcome.failures.clone()));
        batch_outcome = Some(outcome);
    }
    let client = (!config.batch).then(|| {
        Client::new(
            &settings.base_url,
            settings.api_key.clone(),
            settings.timeout,
        )
    });
    let budget = cost::run::budget(config, price);
    let services = Arc::new(services(config, cache, client, budget.clone(), batch_link));
    let (mut report, _) = rate_all(config, &runs, &services, hub.as_ref(), Pass::Rate).await?;
    report.files.extend(report::write_summary_csv(
        &settings.data_dir,
        &report.tallies,
    )?);
    report::print_summary(&report.tallies);
    let usage = report
        .tallies
        .iter()
        .fold(crate::pipeline::rate::Usage::default(), |mut u, t| {
            u.add(&t.usage);
            u
        });
    cost::run::print_spend(&usage, price, batch_outcome.as_ref(), services.cache.path());
    for f in &report.files {
        eprintln!("wrote {}", f.display());
    }
    report_hub_reads(hub.as_deref());
    if let Some(budget) = budget.filter(|b| b.reached()) {
        return Err(cost::run::budget_stop(&budget, &report.tallies));
    }
    if let Some(why) = services.scheduler.quota_spent() {
        return Err(Error::RateBudget(why));
    }
    Ok(report)
}

/// How much was read from the Hub (streamed; downloads into the cache are announced as they start).
fn report_hub_reads(hub: Option<&Hub>) {
    if let Some(http) = hub.and_then(|h| h.http())
        && http.bytes_received() > 0
    {
        eprintln!(
            "streamed {} from the Hub",
            crate::hub::open::human_bytes(http.bytes_received())
        );
    }
}

/// Rows per dataset that the planning pass of a plain run covers: 1000, or the hidden test knob
/// `CLASSIFIED_PLAN_ROWS`.
fn plan_rows() -> u64 {
    std::env::var("CLASSIFIED_PLAN_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1000)
}

/// A pass over every dataset: planning (nothing sent, nothing written) or rating.
#[derive(Debug, Clone, Copy)]
enum Pass {
    Plan { limit: Option<u64>, visible: bool },
    Rate,
}

fn services(
    config: &RunConfig,
    cache: Arc<Cache>,
    client: Option<Client>,
    budget: Option<Arc<Budget>>,
    batch: Option<BatchLink>,
) -> Services {
    Services {
        cache,
        client,
        // One scheduler for every lens and dataset of the pass.
        scheduler: Arc::new(Scheduler::new(
            config.limits.clone(),
            RetryPolicy::default(),
        )),
        model: config.settings.model.clone(),
        version: config.version,
        max_tokens: config.settings.max_generation_tokens,
        budget,
        batch,
    }
}

/// Rate (or plan) every dataset; the estimate of what was planned comes along.
async fn rate_all(
    config: &RunConfig,
    runs: &Arc<Vec<LensRun>>,
    services: &Arc<Services>,
    hub: Option<&Arc<Hub>>,
    pass: Pass,
) -> Result<(RunReport, Estimate), Error> {
    let mut report = RunReport {
        tallies: Vec::new(),
        files: Vec::new(),
    };
    let mut estimate = Estimate::new(&config.settings.model, config.batch);
    let mut stems = Vec::new();
    for (path, name) in config
        .datasets
        .iter()
        .zip(report::dataset_names(&config.datasets))
    {
        let (tallies, files, total) =
            rate_dataset(config, path, &name, runs, services, hub, &mut stems, pass).await?;
        let mut usage = crate::pipeline::rate::Usage::default();
        tallies.iter().for_each(|t| usage.add(&t.usage));
        let seen = tallies.first().map(|t| t.rows()).unwrap_or(0);
        let limited = matches!(pass, Pass::Plan { limit: Some(n), .. } if seen >= n);
        estimate.add(
            &usage,
            seen,
            total,
            limited,
            config.settings.max_generation_tokens,
        );
        report.tallies.extend(tallies);
        report.files.extend(files);
    }
    Ok((report, estimate))
}

async fn rate_dataset(
    config: &RunConfig,
    path: &Path,
    name: &str,
    runs: &Arc<Vec<LensRun>>,
    services: &Arc<Services>,
    hub: Option<&Arc<Hub>>,
    stems: &mut Vec<String>,
    pass: Pass,
) -> Result<(Vec<Tally>, Vec<PathBuf>, Option<u64>), Error> {
    let dataset = {
        let (path, input, hub) = (
            path.to_path_buf(),
            crate::input::Input::new(config),
            hub.cloned(),
        );
        tokio::task::spawn_blocking(move || crate::input::open(&path, &input, hub.as_deref()))
            .await
            .expect("opening a dataset panicked")?
    };
    let (limit, visible) = match pass {
        Pass::Plan { limit, visible } => (limit, visible),
        Pass::Rate => (None, true),
    };
    let progress = if visible {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
    };
    let style = ProgressStyle::with_template(
        "{prefix:>22} {bar:30} {pos}/{len} rows  {per_sec}  ETA {eta}  {msg}",
    )
    .expect("the progress template is valid");
    let mut tallies = Vec::new();
    let mut files = Vec::new();
    let mut bars = Vec::new();
    for run in runs.iter() {
        tallies.push(Tally::new(
            &name,
            &run.lens.name,
            &run.lens.score_labels,
            run.stages.bucket_names(),
        ));
        if matches!(pass, Pass::Rate) {
            let stem = report::output_stem(name, &run.lens.name, stems);
            files.push(RowFiles::create(
                &config.settings.data_dir,
                &stem,
                &run.lens.score_labels,
                &run.lens.rationale_labels,
            )?);
        }
        let bar = progress.add(ProgressBar::new(dataset.total_rows.unwrap_or(0)));
        bar.set_style(style.clone());
        bar.set_prefix(run.lens.name.clone());
        bars.push(bar);
    }

    // Rows are read on a blocking thread and handed over through a bounded channel.
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
    let mut rows_iter = dataset.rows;
    let reader = tokio::task::spawn_blocking(move || {
        for row in rows_iter.by_ref().take(limit.unwrap_or(u64::MAX) as usize) {
            let stop = row.is_err();
            if tx.blocking_send(row).is_err() || stop {
                break;
            }
        }
    });

    // Outcomes are written in row order. The window of rows being rated at once must stay well
    // above the requests the scheduler lets fly, so it never caps throughput, one slow row (in
    // retries) does not idle the rest, and cached rows behind network-bound ones finish meanwhile.
    let concurrency = (config.limits.ceiling * 4).clamp(256, 2048);
    let mut outcomes = tokio_stream_from(rx)
        .map(|row| {
            let (runs, services, columns) =
                (runs.clone(), services.clone(), config.columns.clone());
            // Each row is its own task, so rows are rated on every core while this one writes.
            RowTask(tokio::spawn(async move {
                let row = row?;
                let mut per_lens = Vec::with_capacity(runs.len());
                let rated = futures_util::future::join_all(runs.iter().map(|run| {
                    let services = services.clone();
                    let fields = lens_fields(run, &columns, &row);
                    async move {
                        match fields {
                            Ok(fields) => run.rate(&services, row.index, fields).await,
                            Err(reason) => Ok(RowOutcome {
                                index: row.index,
                                status: Status::Skipped(reason),
                                chunks: Vec::new(),
                                usage: Default::default(),
                            }),
                        }
                    }
                }))
                .await;
                for outcome in rated {
                    per_lens.push(outcome?);
                }
                Ok::<_, Error>(per_lens)
            }))
        })
        .buffered(concurrency);

    while let Some(per_lens) = outcomes.next().await {
        let per_lens = per_lens?;
        for (i, outcome) in per_lens.iter().enumerate() {
            tallies[i].record(outcome);
            if let Some(f) = files.get_mut(i) {
                f.write(outcome)?;
            }
            let t = &tallies[i];
            bars[i].inc(1);
            if dataset.total_rows.is_none() {
                bars[i].set_length(t.rows());
            }
            bars[i].set_message(format!(
                "cached {} · failed {} · skipped {}",
                t.usage.cache_hits, t.failed, t.skipped
            ));
        }
    }
    drop(outcomes);
    reader.await.expect("the dataset reader panicked");
    for bar in &bars {
        bar.finish();
    }
    let mut written = Vec::new();
    for f in files {
        written.extend(f.finish()?);
    }
    Ok((tallies, written, dataset.total_rows))
}

/// A row's values keyed by the lens's input fields (columns map to fields in order), or why it is skipped.
fn lens_fields(run: &LensRun, columns: &[String], row: &Row) -> Result<Inputs, String> {
    let mut fields = Inputs::new();
    for ((field, column), value) in run.lens.input_fields.iter().zip(columns).zip(&row.values) {
        match value {
            Some(v) => fields.insert(field.clone(), v.clone()),
            None => return Err(format!("null in column `{column}`")),
        };
    }
    Ok(fields)
}

/// A spawned row; dropped unfinished (the run stopped waiting, e.g. after a run-stopping error), it
/// is cancelled rather than left running.
struct RowTask<T>(tokio::task::JoinHandle<T>);

impl<T> std::future::Future for RowTask<T> {
    type Output = T;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<T> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|done| done.expect("rating a row panicked"))
    }
}

impl<T> Drop for RowTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A stream over a bounded channel's receiver.
fn tokio_stream_from<T>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
