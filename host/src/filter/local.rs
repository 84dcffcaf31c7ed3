//! The pass of a lens that scores rows here (a trained model lens, a local component lens): no
//! model is asked, so there is nothing to cache, schedule or budget, and the rows never leave
//! their record batches. Batches are read in order, scored a few at a time on the component
//! threads (each row's text borrowed from the batch until its inputs are made), and handed, in
//! order, to the same [`Writer`] the row-by-row run feeds.
//!
//! Why a pass of its own: through the run, each row became an owned row, an async task's share, an
//! outcome and a cloned status, which cost about twice what the classifier does on web-sized rows.

use super::feed::Fed;
use super::sink::Writer;
use crate::component::runner;
use crate::data::batch_rows::text_columns;
use crate::data::batches::Batches;
use crate::error::Error;
use crate::pipeline::Stages;
use crate::pipeline::rate::{Status, local_row};
use crate::shard::units::Unit;
use arrow_array::RecordBatch;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Scored batches waiting for the writer: the reader and the scorers run ahead of it this far.
const WRITE_AHEAD: usize = 4;

/// What the pass needs.
pub struct LocalPass<'a> {
    pub stages: &'a dyn Stages,
    /// The columns, mapped in order to the lens's input fields.
    pub columns: &'a [String],
    pub units: &'a [Unit],
    /// This process's units.
    pub range: Range<usize>,
}

impl LocalPass<'_> {
    /// Score every row of the units and hand each batch to its dataset's writer (`writer(i)` makes
    /// dataset `i`'s). Scoring runs beside the writing, which happens on this thread.
    pub fn run(&self, writer: &mut dyn FnMut(usize) -> Writer) -> Result<(), Error> {
        let (tx, rx) = sync_channel(WRITE_AHEAD);
        std::thread::scope(|scope| {
            scope.spawn(move || self.score_all(&tx));
            write_all(self.units, rx, writer)
        })
    }

    /// Read and score every batch of the units, in order, the next few batches read while the
    /// last ones are scored; stops at the first error (sent on) or when the writer hung up.
    fn score_all(&self, tx: &SyncSender<Result<(Fed, Vec<Status>), Error>>) {
        // Enough batches at once for every component thread to have one.
        let window = runner::threads() * 2;
        for u in self.range.clone() {
            let unit = &self.units[u];
            let mut batches = match unit.read() {
                Ok(b) => b,
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                    return;
                }
            };
            let mut next_row = unit.first_row;
            let mut next = read(&mut batches, &mut next_row, window);
            loop {
                let read_now = match next {
                    Ok(r) if r.is_empty() => break,
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let (scored, following) = runner::run(|| {
                    rayon::join(
                        || {
                            read_now
                                .par_iter()
                                .map(|(first, batch)| self.score(unit, *first, batch))
                                .collect::<Vec<_>>()
                        },
                        || read(&mut batches, &mut next_row, window),
                    )
                });
                next = following;
                for ((_, batch), statuses) in read_now.into_iter().zip(scored) {
                    let sent = statuses.map(|s| (Fed { unit: u, batch }, s));
                    let failed = sent.is_err();
                    if tx.send(sent).is_err() || failed {
                        return;
                    }
                }
            }
        }
    }

    /// Each row's status: rated (or failed) by the lens, or skipped for a null in its columns.
    fn score(&self, unit: &Unit, first: u64, batch: &RecordBatch) -> Result<Vec<Status>, Error> {
        let texts = text_columns(batch, self.columns, &unit.path)?;
        let fields = &self.stages.context().lens.input_fields;
        Ok((0..batch.num_rows())
            .map(|i| {
                let index = first + i as u64;
                let values = texts.iter().map(|t| t.str(i));
                match crate::pipeline::inputs_of(fields, self.columns, values) {
                    Ok(inputs) => local_row(self.stages, index, inputs).status,
                    Err(reason) => Status::Skipped(reason),
                }
            })
            .collect())
    }
}

/// Up to `window` non-empty batches, each with the index of its first row (`next_row` moves on).
fn read(
    batches: &mut Batches,
    next_row: &mut u64,
    window: usize,
) -> Result<Vec<(u64, RecordBatch)>, Error> {
    let mut read = Vec::with_capacity(window);
    while read.len() < window {
        match batches.next().transpose()? {
            None => break,
            Some(batch) if batch.num_rows() == 0 => {}
            Some(batch) => {
                read.push((*next_row, batch));
                *next_row += read.last().map_or(0, |(_, b)| b.num_rows() as u64);
            }
        }
    }
    Ok(read)
}

/// Hand each scored batch to its dataset's writer, in order; finish each writer when its dataset's
/// units are done.
fn write_all(
    units: &[Unit],
    rx: Receiver<Result<(Fed, Vec<Status>), Error>>,
    writer: &mut dyn FnMut(usize) -> Writer,
) -> Result<(), Error> {
    let mut current: Option<(usize, Writer)> = None;
    for scored in rx {
        let (fed, statuses) = scored?;
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
    match current {
        Some((_, w)) => w.finish(),
        None => Ok(()),
    }
}
