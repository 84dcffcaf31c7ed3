//! The `summary` command: read every dataset once, rate each row through every lens, report.

use crate::cache::Cache;
use crate::config::RunConfig;
use crate::data::{self, OpenOptions, Row};
use crate::error::Error;
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
    let client = (!config.dry_run).then(|| {
        Client::new(
            &settings.base_url,
            settings.api_key.clone(),
            settings.timeout,
        )
    });
    let services = Arc::new(Services {
        cache,
        client,
        scheduler: Arc::new(Scheduler::new(
            config.limits.clone(),
            RetryPolicy::default(),
        )),
        model: settings.model.clone(),
        version: config.version,
        max_tokens: settings.max_generation_tokens,
    });
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

    let mut report = RunReport {
        tallies: Vec::new(),
        files: Vec::new(),
    };
    let mut stems = Vec::new();
    for (path, name) in config.datasets.iter().zip(dataset_names(&config.datasets)) {
        let (tallies, files) =
            rate_dataset(config, path, &name, &runs, &services, &mut stems).await?;
        report.tallies.extend(tallies);
        report.files.extend(files);
    }
    if config.dry_run {
        report::print_dry_run(&report.tallies, settings.max_generation_tokens);
    } else {
        report.files.extend(report::write_summary_csv(
            &settings.data_dir,
            &report.tallies,
        )?);
        report::print_summary(&report.tallies);
    }
    let usage = report
        .tallies
        .iter()
        .fold(crate::pipeline::rate::Usage::default(), |mut u, t| {
            u.add(&t.usage);
            u
        });
    if !config.dry_run {
        eprintln!(
            "\n{} request(s) sent, {} answer(s) from the cache, {} prompt + {} completion tokens paid; cache: {}",
            usage.requests,
            usage.cache_hits,
            usage.prompt_tokens,
            usage.completion_tokens,
            services.cache.path().display()
        );
        for f in &report.files {
            eprintln!("wrote {}", f.display());
        }
    }
    Ok(report)
}

/// How each dataset is named in reports: `textbooks.parquet` is `textbooks`, as people name their
/// datasets, unless two datasets of the run share that stem; then each is named by its path as given.
fn dataset_names(paths: &[PathBuf]) -> Vec<String> {
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    let stems: Vec<String> = paths.iter().map(stem).collect();
    paths
        .iter()
        .zip(&stems)
        .map(|(p, s)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                p.display().to_string()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// A file-name stem for a dataset × lens output, unique within the run.
fn output_stem(dataset: &str, lens: &str, taken: &mut Vec<String>) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let base = format!("{}.{}", clean(dataset), clean(lens));
    let mut stem = base.clone();
    let mut n = 2;
    while taken.contains(&stem) {
        stem = format!("{base}-{n}");
        n += 1;
    }
    taken.push(stem.clone());
    stem
}

async fn rate_dataset(
    config: &RunConfig,
    path: &Path,
    name: &str,
    runs: &Arc<Vec<LensRun>>,
    services: &Arc<Services>,
    stems: &mut Vec<String>,
) -> Result<(Vec<Tally>, Vec<PathBuf>), Error> {
    let dataset = {
        let (path, columns, split, sample) = (
            path.to_path_buf(),
            config.columns.clone(),
            config.split.clone(),
            config.sample.clone(),
        );
        tokio::task::spawn_blocking(move || {
            data::open(
                &path,
                &OpenOptions {
                    columns: &columns,
                    split: split.as_deref(),
                    sample,
                },
            )
        })
        .await
        .expect("opening a dataset panicked")?
    };
    let progress = MultiProgress::new();
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
        if !config.dry_run {
            let stem = output_stem(name, &run.lens.name, stems);
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
        for row in rows_iter.by_ref() {
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
    Ok((tallies, written))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_are_named_by_stem_unless_stems_collide() {
        let paths: Vec<PathBuf> = ["a/train.jsonl", "b/train.csv", "c/test.parquet"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(
            dataset_names(&paths),
            ["a/train.jsonl", "b/train.csv", "test"]
        );
        let mut taken = Vec::new();
        assert_eq!(
            output_stem("a/train.jsonl", "lens", &mut taken),
            "a_train_jsonl.lens"
        );
        assert_eq!(
            output_stem("a/train.jsonl", "lens", &mut taken),
            "a_train_jsonl.lens-2"
        );
    }
}
