//! One pass over one dataset's rows: every row through every lens, outcomes tallied (and written,
//! when the pass has output files) in row order, with a progress bar per lens.

use crate::data::{Dataset, Row};
use crate::error::Error;
use crate::pipeline::Inputs;
use crate::pipeline::rate::{LensRun, RowOutcome, Services};
use crate::report::{RowSink, Tally};
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;

/// Rows read ahead of the raters: enough to keep every worker busy, small enough to bound memory.
const READ_AHEAD: usize = 256;
/// Rows handed over and rated together, as one task: a hand-off between threads costs more than
/// scoring a short row locally, so rows travel in batches.
const BATCH_ROWS: usize = 32;
/// A batch is handed over early once its texts reach this size, so huge rows travel a few at a time.
const BATCH_BYTES: usize = 1 << 20;

/// What a pass needs besides the rows.
pub struct Pass<'a> {
    /// The dataset's display name (in the tallies and outputs).
    pub name: &'a str,
    pub runs: &'a Arc<Vec<LensRun>>,
    pub services: &'a Arc<Services>,
    /// Columns, mapped in order to each lens's input fields.
    pub columns: &'a Arc<Vec<String>>,
    /// Rows rated at once (in batches of [`BATCH_ROWS`]). It must stay well above the requests the scheduler lets fly, so it
    /// never caps throughput, one slow row (in retries) does not idle the rest, and cached rows
    /// behind network-bound ones finish meanwhile.
    pub window: usize,
    /// Show progress bars (a planning pass before a real run is silent).
    pub progress: bool,
}

/// Rate every row of `dataset`; `files` (one sink per lens, or none) receive each outcome in row
/// order. Returns each lens's tally and the files written.
pub async fn rate_rows(
    pass: &Pass<'_>,
    dataset: Dataset,
    mut files: Vec<Box<dyn RowSink>>,
) -> Result<(Vec<Tally>, Vec<PathBuf>), Error> {
    let progress = match pass.progress {
        true => MultiProgress::new(),
        false => MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
    };
    let style = ProgressStyle::with_template(
        "{prefix:>22} {bar:30} {pos}/{len} rows  {per_sec}  ETA {eta}  {msg}",
    )
    .expect("the progress template is valid");
    let mut tallies = Vec::new();
    let mut bars = Vec::new();
    for run in pass.runs.iter() {
        tallies.push(Tally::new(
            pass.name,
            &run.lens.name,
            &run.lens.score_labels,
            run.stages.bucket_names(),
        ));
        let bar = progress.add(ProgressBar::new(dataset.total_rows.unwrap_or(0)));
        bar.set_style(style.clone());
        bar.set_prefix(run.lens.name.clone());
        bars.push(bar);
    }

    // Rows are read on a blocking thread and handed over in batches through a bounded channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel(READ_AHEAD / BATCH_ROWS);
    let rows = dataset.rows;
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        let mut bytes = 0;
        for row in rows {
            match row {
                Ok(row) => {
                    bytes += row.values.iter().flatten().map(String::len).sum::<usize>();
                    batch.push(row);
                    if batch.len() < BATCH_ROWS && bytes < BATCH_BYTES {
                        continue;
                    }
                    bytes = 0;
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                    if tx.blocking_send(Ok(full)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    // The rows before the error are rated; the error then stops the pass.
                    if !batch.is_empty() && tx.blocking_send(Ok(batch)).is_err() {
                        return;
                    }
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Ok(batch));
        }
    });

    let mut outcomes = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
        .map(|rows| {
            let (runs, services, columns) = (
                pass.runs.clone(),
                pass.services.clone(),
                pass.columns.clone(),
            );
            // Each batch is its own task, so rows are rated on every core while this one writes.
            RowTask(tokio::spawn(async move {
                rate_batch(&runs, &services, &columns, rows?).await
            }))
        })
        .buffered(pass.window.div_ceil(BATCH_ROWS).max(1));

    while let Some(per_lens) = outcomes.next().await {
        let per_lens = per_lens?;
        for (i, lens_outcomes) in per_lens.iter().enumerate() {
            for outcome in lens_outcomes {
                tallies[i].record(outcome);
                if let Some(f) = files.get_mut(i) {
                    f.write(outcome)?;
                }
            }
            let t = &tallies[i];
            bars[i].inc(lens_outcomes.len() as u64);
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
    reader
        .await
        .map_err(|e| Error::Internal(format!("the dataset reader panicked: {e}")))?;
    for bar in &bars {
        bar.finish();
    }
    let mut written = Vec::new();
    for f in files {
        written.extend(f.finish()?);
    }
    Ok((tallies, written))
}

/// A batch of rows through every lens: each lens's outcomes, in row order.
async fn rate_batch(
    runs: &[LensRun],
    services: &Arc<Services>,
    columns: &[String],
    rows: Vec<Row>,
) -> Result<Vec<Vec<RowOutcome>>, Error> {
    use futures_util::future::join_all;
    // A lens that scores rows here takes the whole batch in one hand-off.
    let local = join_all(runs.iter().filter(|r| r.scores_locally()).map(|run| {
        let fields = rows
            .iter()
            .map(|row| (row.index, lens_fields(run, columns, row)))
            .collect();
        run.rate_local(fields)
    }));
    // Lenses that ask a model get each row's prompts together, row after row, so the scheduler they
    // share serves them in row order, not one lens's batch after the other's.
    let asking: Vec<&LensRun> = runs.iter().filter(|r| !r.scores_locally()).collect();
    let by_row = join_all(rows.iter().map(|row| {
        join_all(asking.iter().map(|run| async move {
            match lens_fields(run, columns, row) {
                Ok(fields) => run.rate(services, row.index, fields).await,
                Err(reason) => Ok(RowOutcome::skipped(row.index, reason)),
            }
        }))
    }));
    let (local, by_row) = futures_util::future::join(local, by_row).await;
    let mut asked: Vec<Vec<RowOutcome>> = vec![Vec::with_capacity(rows.len()); asking.len()];
    for row in by_row {
        for (lens, outcome) in row.into_iter().enumerate() {
            asked[lens].push(outcome?);
        }
    }
    let (mut local, mut asked) = (local.into_iter(), asked.into_iter());
    runs.iter()
        .map(|run| match run.scores_locally() {
            true => Ok(local.next().expect("one result per local lens")),
            false => Ok(asked.next().expect("one result per lens that asks")),
        })
        .collect()
}

/// A row's values keyed by the lens's input fields, or why it is skipped.
fn lens_fields(run: &LensRun, columns: &[String], row: &Row) -> Result<Inputs, String> {
    crate::pipeline::inputs_of(
        &run.lens.input_fields,
        columns,
        row.values.iter().map(Option::as_deref),
    )
}

/// A spawned row. Dropped unfinished (the run stopped waiting, e.g. after a run-stopping error),
/// it is cancelled rather than left running; a row that panicked becomes an internal error.
struct RowTask<T>(tokio::task::JoinHandle<Result<T, Error>>);

impl<T> std::future::Future for RowTask<T> {
    type Output = Result<T, Error>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|done| {
            done.unwrap_or_else(|e| Err(Error::Internal(format!("rating a row panicked: {e}"))))
        })
    }
}

impl<T> Drop for RowTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
