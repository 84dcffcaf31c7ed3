//! The labelled examples `train` learns from, read from the cache through the cache-only pass
//! (`run::from_cache`): never a request. For a pretrain lens an example is a chunk the LLM saw (its
//! text → that chunk's scores); for an instruct lens it is the row's fields.

use super::features::{self, FeatureConfig};
use super::fit::{Examples, Label};
use crate::config::RunConfig;
use crate::error::Error;
use crate::failure::FailureKind;
use crate::lens::Lens;
use crate::pipeline::rate::{RowOutcome, Status};
use crate::report::RowSink;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Fewer labelled examples than this, and a model's hold-out figures mean nothing.
pub const MIN_EXAMPLES: usize = 50;
/// Fewer examples than this of one score value, and the model cannot learn that value.
pub const MIN_PER_CLASS: usize = 5;

/// What the cache held for the lens.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Feature ids, flat; example `i` is `features[offsets[i]..offsets[i + 1]]`.
    pub features: Vec<u32>,
    pub offsets: Vec<usize>,
    /// The LLM's scores, `labels` per example, in the lens's label order.
    pub scores: Vec<f64>,
    /// (dataset, row) of each example: the chunks of one row stay on one side of the split.
    pub groups: Vec<(u32, u64)>,
    /// Bytes of text the examples hold.
    pub bytes: u64,
    pub rows: RowCounts,
}

/// How the rows of the selection fared.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RowCounts {
    pub seen: u64,
    /// Rows with at least one rated chunk.
    pub labelled: u64,
    /// Rows with no answer in the cache (some of their chunks may have one).
    pub unrated: u64,
    /// Rows skipped (a null, too short) or failed for another reason.
    pub other: u64,
}

impl Gathered {
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Each label's classes: the distinct values the LLM gave, ascending.
    pub fn labels(&self, names: &[String]) -> Vec<Label> {
        names
            .iter()
            .enumerate()
            .map(|(l, name)| {
                let mut values: Vec<f64> = self
                    .scores
                    .iter()
                    .skip(l)
                    .step_by(names.len())
                    .copied()
                    .collect();
                values.sort_by(f64::total_cmp);
                values.dedup();
                Label {
                    name: name.clone(),
                    values,
                }
            })
            .collect()
    }

    /// The examples with each score as its class index in `labels`.
    pub fn examples(&self, labels: &[Label]) -> Examples {
        let mut out = Examples::new(labels.len());
        let mut targets = vec![0u16; labels.len()];
        for i in 0..self.len() {
            for (l, label) in labels.iter().enumerate() {
                let value = self.scores[i * labels.len() + l];
                targets[l] = label
                    .values
                    .iter()
                    .position(|v| *v == value)
                    .expect("every score is one of its label's values")
                    as u16;
            }
            out.push(
                &self.features[self.offsets[i]..self.offsets[i + 1]],
                &targets,
            );
        }
        out
    }
}

/// Collects one dataset's outcomes into the shared [`Gathered`].
struct Sink {
    into: Arc<Mutex<Gathered>>,
    dataset: u32,
    fields: Vec<String>,
    features: FeatureConfig,
    buffer: Vec<u32>,
}

impl RowSink for Sink {
    fn write(&mut self, outcome: &RowOutcome) -> Result<(), Error> {
        let mut g = self.into.lock().expect("the collector is never poisoned");
        if g.offsets.is_empty() {
            g.offsets.push(0);
        }
        g.rows.seen += 1;
        for chunk in &outcome.chunks {
            let texts: Vec<&str> = self
                .fields
                .iter()
                .map(|f| chunk.inputs.get(f).map(String::as_str).unwrap_or(""))
                .collect();
            self.buffer.clear();
            features::collect(&self.features, &texts, &mut self.buffer);
            g.bytes += texts.iter().map(|t| t.len() as u64).sum::<u64>();
            g.features.extend_from_slice(&self.buffer);
            let end = g.features.len();
            g.offsets.push(end);
            g.scores.extend_from_slice(&chunk.scores.scores);
            g.groups.push((self.dataset, outcome.index));
        }
        match &outcome.status {
            Status::Failed(e) if e.kind == FailureKind::Unrated => g.rows.unrated += 1,
            _ if !outcome.chunks.is_empty() => g.rows.labelled += 1,
            _ => g.rows.other += 1,
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>, Error> {
        Ok(Vec::new())
    }
}

/// Every labelled example of `config`'s one lens, from the cache alone.
pub fn gather(config: &RunConfig, features: FeatureConfig) -> Result<Gathered, Error> {
    let into = Arc::new(Mutex::new(Gathered {
        offsets: vec![0],
        ..Default::default()
    }));
    let mut dataset = 0u32;
    let mut make = |_: &str, lens: &Lens| -> Result<Box<dyn RowSink>, Error> {
        dataset += 1;
        Ok(Box::new(Sink {
            into: into.clone(),
            dataset,
            fields: lens.input_fields.clone(),
            features,
            buffer: Vec::new(),
        }))
    };
    crate::runtime::block_on(crate::run::from_cache(config, &mut make))?;
    let gathered = std::mem::take(&mut *into.lock().expect("the collector is never poisoned"));
    Ok(gathered)
}

/// Enough examples, and enough of every score value? Otherwise one sentence with the counts and
/// how to get more (`rerun` is the `summary` command that would rate more rows).
pub fn check_enough(gathered: &Gathered, labels: &[Label], rerun: &str) -> Result<(), Error> {
    let more = format!("rate more rows first, e.g. `{rerun}`");
    if gathered.len() < MIN_EXAMPLES {
        return Err(Error::Usage(format!(
            "found {} labelled example(s) in the cache ({} of {} row(s) rated), fewer than the {MIN_EXAMPLES} a model needs; {more}",
            gathered.len(),
            gathered.rows.labelled,
            gathered.rows.seen
        )));
    }
    for (l, label) in labels.iter().enumerate() {
        for value in &label.values {
            let n = gathered
                .scores
                .iter()
                .skip(l)
                .step_by(labels.len())
                .filter(|v| *v == value)
                .count();
            if n < MIN_PER_CLASS {
                return Err(Error::Usage(format!(
                    "`{}` = {value} has only {n} example(s) among the {} found, fewer than the {MIN_PER_CLASS} each score value needs; {more}",
                    label.name,
                    gathered.len()
                )));
            }
        }
    }
    Ok(())
}
