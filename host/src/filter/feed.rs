//! Units of work → the rows the pipeline rates (for `filter`, and for a shard of `summary`), while the record batches they came from wait in a
//! [`Feed`] for the sink, which takes the kept rows of each whole batch once every row of it is
//! rated. Rows are rated in order, so the sink only ever needs the oldest batch: the feed holds
//! only the batches of the rows in flight.

use crate::data::batches::{self, BATCH_ROWS};
use crate::data::{Dataset, Row};
use crate::error::Error;
use crate::shard::units::Unit;
use arrow_array::RecordBatch;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// A feed nobody consumes (the planning pass before a `--max-usd` run reads every row) stops
/// holding batches past this many bytes; a sink that finds it so fails instead of writing wrong rows.
const UNCONSUMED_BYTES: usize = 128 << 20;

/// One decoded batch and the unit (its index in the run's unit list) it belongs to.
pub struct Fed {
    pub unit: usize,
    pub batch: RecordBatch,
}

#[derive(Default)]
struct Queue {
    batches: VecDeque<Fed>,
    bytes: usize,
    consumed: bool,
    overflowed: bool,
}

/// The batches whose rows are being rated, oldest first.
#[derive(Default)]
pub struct Feed(Mutex<Queue>);

impl Feed {
    fn push(&self, fed: Fed) {
        let mut q = self.0.lock().expect("the feed lock is never poisoned");
        if q.overflowed {
            return;
        }
        q.bytes += fed.batch.get_array_memory_size();
        q.batches.push_back(fed);
        if !q.consumed && q.bytes > UNCONSUMED_BYTES {
            q.overflowed = true;
            q.batches.clear();
        }
    }

    /// The oldest batch, for the sink.
    pub fn pop(&self) -> Result<Fed, Error> {
        let mut q = self.0.lock().expect("the feed lock is never poisoned");
        q.consumed = true;
        if q.overflowed {
            return Err(Error::Internal(
                "filter's batch feed overflowed before its sink started".into(),
            ));
        }
        let fed = q.batches.pop_front().ok_or_else(|| {
            Error::Internal("filter got a rated row whose batch was never read".into())
        })?;
        q.bytes -= fed.batch.get_array_memory_size();
        Ok(fed)
    }

    /// Batches left over (none, once every row came back rated).
    pub fn pending(&self) -> usize {
        self.0
            .lock()
            .expect("the feed lock is never poisoned")
            .batches
            .len()
    }
}

/// The rows of `units` (given with their positions in the run's unit list) as one dataset named
/// `name`; every batch goes to `feed`, when there is one, before its rows are handed out.
pub fn dataset(
    name: &str,
    units: Vec<(usize, Unit)>,
    columns: Vec<String>,
    feed: Option<Arc<Feed>>,
) -> Dataset {
    let total = units.iter().map(|(_, u)| u.rows).sum();
    let mut units = units.into_iter();
    let mut batches: Option<(usize, Unit, batches::Batches, u64)> = None;
    let mut rows: std::vec::IntoIter<Row> = Vec::new().into_iter();
    let mut failed = false;
    let iter = std::iter::from_fn(move || {
        loop {
            if failed {
                return None;
            }
            if let Some(row) = rows.next() {
                return Some(Ok(row));
            }
            if batches.is_none() {
                let (at, unit) = units.next()?;
                match unit.read() {
                    Ok(b) => batches = Some((at, unit.clone(), b, unit.first_row)),
                    Err(e) => {
                        failed = true;
                        return Some(Err(e));
                    }
                }
            }
            let (at, unit, reader, next_row) = batches.as_mut().expect("set above");
            match reader.next() {
                None => batches = None,
                Some(Err(e)) => {
                    failed = true;
                    return Some(Err(e));
                }
                Some(Ok(batch)) if batch.num_rows() == 0 => {}
                Some(Ok(batch)) => {
                    let values = match batches::text_values(&batch, &columns, &unit.path) {
                        Ok(v) => v,
                        Err(e) => {
                            failed = true;
                            return Some(Err(e));
                        }
                    };
                    let first = *next_row;
                    *next_row += values.len() as u64;
                    let mut out = Vec::with_capacity(BATCH_ROWS);
                    for (k, values) in values.into_iter().enumerate() {
                        out.push(Row {
                            index: first + k as u64,
                            values,
                        });
                    }
                    if let Some(feed) = &feed {
                        feed.push(Fed { unit: *at, batch });
                    }
                    rows = out.into_iter();
                }
            }
        }
    });
    Dataset {
        name: name.to_string(),
        total_rows: Some(total),
        rows: Box::new(iter),
    }
}
