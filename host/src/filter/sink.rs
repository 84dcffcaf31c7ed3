//! Where `filter` receives each rated row: once every row of a batch is back, the batch's kept rows
//! (every original column, plus scores and bucket) go to the unit's parts, the others to the
//! rejected parts when asked for, and every row is counted. In the scoring pass of `--top`, the
//! rows' last scores go to the spill file instead and nothing is written.

use super::feed::{Fed, Feed};
use super::output::{Added, reason};
use super::parts::Parts;
use super::progress::Progress;
use super::rule::Rule;
use super::stats::{DatasetStats, Verdict};
use super::top::Spill;
use crate::error::Error;
use crate::pipeline::rate::{RowOutcome, Status};
use crate::report::RowSink;
use crate::shard::units::Unit;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What every sink of a pass shares.
pub struct Context {
    pub out: PathBuf,
    pub rule: Rule,
    pub added: Added,
    pub write_rejected: bool,
    pub part_bytes: u64,
    pub units: Arc<Vec<Unit>>,
    /// The scoring pass of `--top`: spill scores, write nothing.
    pub scoring: bool,
}

/// What the sinks of a pass gather.
pub struct Gathered {
    pub stats: Vec<DatasetStats>,
    pub spill: Option<Spill>,
    /// Kept-row parts written, with their sizes.
    pub parts: Vec<(PathBuf, u64)>,
    pub progress: Progress,
}

/// One unit's open parts.
struct UnitParts {
    unit: usize,
    kept: Parts,
    rejected: Option<Parts>,
}

/// Where one dataset's rated batches go: its parts, its stats, the progress bar.
pub struct Writer {
    context: Arc<Context>,
    gathered: Arc<Mutex<Gathered>>,
    dataset: usize,
    parts: Option<UnitParts>,
}

impl Writer {
    pub fn new(context: Arc<Context>, gathered: Arc<Mutex<Gathered>>, dataset: usize) -> Writer {
        Writer {
            context,
            gathered,
            dataset,
            parts: None,
        }
    }

    /// A whole batch of unit `fed.unit`, with its rows' statuses in row order.
    pub fn batch_done(&mut self, fed: Fed, statuses: Vec<Status>) -> Result<(), Error> {
        let ctx = self.context.clone();
        let shared = self.gathered.clone();
        let mut gathered = shared.lock().expect("never poisoned");
        let unit = &ctx.units[fed.unit];
        let rows = statuses.len() as u64;
        if ctx.scoring {
            let spill = gathered
                .spill
                .as_mut()
                .expect("the scoring pass has a spill");
            for status in &statuses {
                if let Status::Rated { scores, .. } = status
                    && let Some(last) = scores.scores.last()
                {
                    spill.push(*last)?;
                }
            }
            gathered.progress.advance(unit, rows, 0);
            return Ok(());
        }
        let labels = &ctx.added.labels;
        let verdicts: Vec<Verdict> = statuses
            .iter()
            .map(|s| match s {
                Status::Rated { .. } if ctx.rule.keeps(s) => Verdict::Kept,
                Status::Rated { .. } => Verdict::Rejected,
                Status::Failed(_) | Status::Planned => Verdict::Failed,
                Status::Skipped(_) => Verdict::Skipped,
            })
            .collect();
        let stats = &mut gathered.stats[self.dataset];
        for (status, verdict) in statuses.iter().zip(&verdicts) {
            stats.record_status(status, labels, *verdict);
        }
        if self.parts.as_ref().is_none_or(|p| p.unit != fed.unit) {
            self.close_parts(&mut gathered)?;
            self.parts = Some(UnitParts {
                unit: fed.unit,
                kept: Parts::new(&ctx.out, "part", fed.unit, ctx.part_bytes),
                rejected: ctx.write_rejected.then(|| {
                    Parts::new(&ctx.out.join("rejected"), "part", fed.unit, ctx.part_bytes)
                }),
            });
        }
        let parts = self.parts.as_mut().expect("opened above");
        let kept: Vec<bool> = verdicts.iter().map(|v| *v == Verdict::Kept).collect();
        let kept_rows = kept.iter().filter(|k| **k).count() as u64;
        if kept_rows > 0 {
            parts
                .kept
                .write(&ctx.added.take(&fed.batch, &kept, &statuses, None)?)?;
        }
        if let Some(rejected) = parts.rejected.as_mut()
            && kept_rows < rows
        {
            let mask: Vec<bool> = kept.iter().map(|k| !k).collect();
            let reasons: Vec<String> = statuses.iter().map(reason).collect();
            rejected.write(
                &ctx.added
                    .take(&fed.batch, &mask, &statuses, Some(&reasons))?,
            )?;
        }
        gathered.progress.advance(unit, rows, kept_rows);
        Ok(())
    }

    fn close_parts(&mut self, gathered: &mut Gathered) -> Result<(), Error> {
        if let Some(parts) = self.parts.take() {
            let written = parts.kept.finish()?;
            let stats = &mut gathered.stats[self.dataset];
            stats.parts += written.len() as u64;
            stats.bytes_out += written.iter().map(|(_, b)| b).sum::<u64>();
            gathered.parts.extend(written);
            if let Some(rejected) = parts.rejected {
                rejected.finish()?;
            }
        }
        Ok(())
    }

    /// Close the last parts: every batch is written.
    pub fn finish(mut self) -> Result<(), Error> {
        let gathered = self.gathered.clone();
        let mut gathered = gathered.lock().expect("never poisoned");
        self.close_parts(&mut gathered)
    }
}

/// The sink of one dataset in a run that rates row by row: it gathers each batch's outcomes from
/// the rows, then hands the whole batch to its [`Writer`].
pub struct Sink {
    feed: Arc<Feed>,
    current: Option<(Fed, Vec<Status>)>,
    writer: Writer,
}

impl Sink {
    pub fn new(feed: Arc<Feed>, writer: Writer) -> Sink {
        Sink {
            feed,
            current: None,
            writer,
        }
    }
}

impl RowSink for Sink {
    fn write(&mut self, outcome: &RowOutcome) -> Result<(), Error> {
        if self.current.is_none() {
            let fed = self.feed.pop()?;
            let rows = fed.batch.num_rows();
            self.current = Some((fed, Vec::with_capacity(rows)));
        }
        let (fed, statuses) = self.current.as_mut().expect("set above");
        statuses.push(outcome.status.clone());
        if statuses.len() == fed.batch.num_rows() {
            let (fed, statuses) = self.current.take().expect("set above");
            self.writer.batch_done(fed, statuses)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>, Error> {
        if self.current.is_some() || self.feed.pending() > 0 {
            return Err(Error::Internal(
                "filter's pass ended with rows of a batch not rated".into(),
            ));
        }
        self.writer.finish()?;
        Ok(Vec::new())
    }
}
