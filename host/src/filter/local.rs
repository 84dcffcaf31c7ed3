//! The pass of a lens that scores rows here (a trained model lens, a local component lens): no
//! model is asked, so there is nothing to cache, schedule or budget, and the rows never leave
//! their record batches. Batches are read in order, scored a window at a time on the component
//! threads in chunks of rows (each row's text borrowed from the batch until its inputs are made),
//! and handed, in order, to the same [`Writer`] the row-by-row run feeds.
//!
//! Why a pass of its own: through the run, each row became an owned row, an async task's share, an
//! outcome and a cloned status, which cost about as much as the classifier does on web-sized rows.

use super::feed::Fed;
use super::sink::Writer;
use crate::component::runner;
use crate::data::batch_rows::text_columns;
use crate::error::Error;
use crate::pipeline::Stages;
use crate::pipeline::rate::{Status, local_row};
use crate::shard::units::Unit;
use arrow_array::RecordBatch;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// A window of batches scored together holds at most this many bytes (and at least one batch):
/// one window is scored while the next is read, the last waits in the channel and the one before
/// is written, so at most four windows are in memory whatever the size of the documents.
const WINDOW_BYTES: usize = 32 << 20;
/// Rows scored as one task: small enough that a window of a single short batch still keeps every
/// component thread busy, big enough that handing them out costs nothing next to scoring them.
const CHUNK_ROWS: usize = 128;

/// What the pass needs.
pub struct LocalPass<'a> {
    pub stages: &'a dyn Stages,
    /// The columns, mapped in order to the lens's input fields.
    pub columns: &'a [String],
    pub units: &'a [Unit],
    /// This process's units.
    pub range: Range<usize>,
}

/// One batch of a unit, with the index of its first row.
struct Read {
    unit: usize,
    first: u64,
    batch: RecordBatch,
}

/// What the scoring thread tells the writer: a scored window (its batches with their rows'
/// statuses, in order), an error, or that it is done.
enum Scored {
    Window(Vec<(Fed, Vec<Status>)>),
    Failed(Error),
    Done,
}

impl LocalPass<'_> {
    /// Score every row of the units and hand each batch to its dataset's writer (`writer(i)` makes
    /// dataset `i`'s). Scoring runs beside the writing, which happens on this thread. Ctrl-C stops
    /// it with [`Error::Interrupted`], as it stops a run.
    pub fn run(&self, writer: &mut dyn FnMut(usize) -> Writer) -> Result<(), Error> {
        let stop = &AtomicBool::new(false);
        let (tx, rx) = sync_channel(1);
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        std::thread::scope(|scope| {
            // A runtime watches for Ctrl-C meanwhile, as it does during a run.
            let watcher = scope.spawn(move || {
                let watched = crate::runtime::block_on(async {
                    let _ = finished.await;
                    Ok(())
                });
                if watched.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
            });
            let scorer = scope.spawn(move || {
                // A panic (a native stage, a decoder) is this pass's error, not the process's.
                let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.score_all(&tx, stop)
                }));
                if let Err(panic) = panicked {
                    let _ = tx.send(Scored::Failed(Error::Internal(format!(
                        "scoring a batch panicked: {}",
                        panic_message(&*panic)
                    ))));
                }
            });
            let written = write_all(self.units, rx, writer, stop);
            // The writer is done (or failed): the scorer stops, the watcher ends.
            stop.store(true, Ordering::Relaxed);
            let _ = done.send(());
            let _ = scorer.join();
            let _ = watcher.join();
            written
        })
    }

    /// Read and score every batch of the units in order, windows running on across units, the next
    /// window read while the last is scored; ends with `Done`, or at the first error (sent on), or
    /// when told to stop.
    fn score_all(&self, tx: &SyncSender<Scored>, stop: &AtomicBool) {
        let mut batches = self.batches();
        let mut next = window(&mut batches);
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let read = match next {
                Ok(r) if r.is_empty() => break,
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Scored::Failed(e));
                    return;
                }
            };
            let (scored, following) =
                runner::run(|| rayon::join(|| self.score(&read, stop), || window(&mut batches)));
            next = following;
            let scored = match scored {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Scored::Failed(e));
                    return;
                }
            };
            // The whole window in one message: the writer writes it while the next is scored.
            let window = read
                .into_iter()
                .zip(scored)
                .map(|(read, statuses)| {
                    let fed = Fed {
                        unit: read.unit,
                        batch: read.batch,
                    };
                    (fed, statuses)
                })
                .collect();
            if tx.send(Scored::Window(window)).is_err() {
                return;
            }
        }
        let _ = tx.send(Scored::Done);
    }

    /// Every batch of this process's units, in order.
    fn batches(&self) -> impl Iterator<Item = Result<Read, Error>> + Send + '_ {
        self.range.clone().flat_map(move |u| {
            let unit = &self.units[u];
            let mut next_row = unit.first_row;
            let batches: Box<dyn Iterator<Item = _> + Send> = match unit.read() {
                Ok(b) => b,
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
            batches.filter_map(move |batch| match batch {
                Ok(batch) if batch.num_rows() == 0 => None,
                Ok(batch) => {
                    let first = next_row;
                    next_row += batch.num_rows() as u64;
                    Some(Ok(Read {
                        unit: u,
                        first,
                        batch,
                    }))
                }
                Err(e) => Some(Err(e.into())),
            })
        })
    }

    /// Each batch's statuses: its rows are scored in chunks of [`CHUNK_ROWS`] on every component
    /// thread, then put back together in order. Told to stop, the chunks not begun are not scored.
    fn score(&self, window: &[Read], stop: &AtomicBool) -> Result<Vec<Vec<Status>>, Error> {
        let chunks: Vec<(usize, Range<usize>)> = window
            .iter()
            .enumerate()
            .flat_map(|(b, read)| {
                let rows = read.batch.num_rows();
                (0..rows)
                    .step_by(CHUNK_ROWS)
                    .map(move |start| (b, start..(start + CHUNK_ROWS).min(rows)))
            })
            .collect();
        let scored: Vec<Vec<Status>> = chunks
            .par_iter()
            .map(|(b, rows)| match stop.load(Ordering::Relaxed) {
                true => Err(Error::Interrupted),
                false => self.score_rows(&window[*b], rows.clone()),
            })
            .collect::<Result<_, _>>()?;
        let mut out: Vec<Vec<Status>> = window
            .iter()
            .map(|r| Vec::with_capacity(r.batch.num_rows()))
            .collect();
        for ((b, _), statuses) in chunks.iter().zip(scored) {
            out[*b].extend(statuses);
        }
        Ok(out)
    }

    /// The status of each of `rows` of a batch: rated (or failed) by the lens, or skipped for a
    /// null in its columns.
    fn score_rows(&self, read: &Read, rows: Range<usize>) -> Result<Vec<Status>, Error> {
        let path = &self.units[read.unit].path;
        let texts = text_columns(&read.batch, self.columns, path)?;
        let fields = &self.stages.context().lens.input_fields;
        Ok(rows
            .map(|i| {
                let index = read.first + i as u64;
                let values = texts.iter().map(|t| t.str(i));
                match crate::pipeline::inputs_of(fields, self.columns, values) {
                    Ok(inputs) => local_row(self.stages, index, inputs).status,
                    Err(reason) => Status::Skipped(reason),
                }
            })
            .collect())
    }
}

/// The next batches, up to [`WINDOW_BYTES`] (at least one) and two per component thread.
fn window(
    batches: &mut (impl Iterator<Item = Result<Read, Error>> + Send),
) -> Result<Vec<Read>, Error> {
    let most = runner::threads() * 2;
    let mut read = Vec::with_capacity(most);
    let mut bytes = 0;
    while read.len() < most && bytes < WINDOW_BYTES {
        match batches.next().transpose()? {
            None => break,
            Some(r) => {
                bytes += r.batch.get_array_memory_size();
                read.push(r);
            }
        }
    }
    Ok(read)
}

/// Hand each scored batch to its dataset's writer, in order; finish each writer when its dataset's
/// units are done. The writers are finished only once the scorer says it is done: a scorer that
/// stopped early leaves every unfinished part under its temporary name.
fn write_all(
    units: &[Unit],
    rx: Receiver<Scored>,
    writer: &mut dyn FnMut(usize) -> Writer,
    stop: &AtomicBool,
) -> Result<(), Error> {
    let mut current: Option<(usize, Writer)> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        let window = match rx.recv() {
            Ok(Scored::Window(window)) => window,
            Ok(Scored::Failed(e)) => return Err(e),
            Ok(Scored::Done) => break,
            Err(_) if stop.load(Ordering::Relaxed) => return Err(Error::Interrupted),
            Err(_) => {
                return Err(Error::Internal(
                    "filter's scoring thread ended before the last batch".into(),
                ));
            }
        };
        for (fed, statuses) in window {
            let dataset = units[fed.unit].dataset;
            if current.as_ref().is_none_or(|(d, _)| *d != dataset) {
                if let Some((_, done)) = current.take() {
                    done.finish()?;
                }
                current = Some((dataset, writer(dataset)));
            }
            let (_, w) = current.as_mut().expect("set above");
            w.batch_done(fed, statuses)?;
        }
    }
    match current {
        Some((_, w)) => w.finish(),
        None => Ok(()),
    }
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

#[cfg(test)]
mod tests;
