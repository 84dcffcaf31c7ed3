//! One rater's ratings of every row, read from the cache by the cache-only pass: what
//! `compare` pairs up. Only rated rows are kept, with a short preview of their text.

use crate::error::Error;
use crate::pipeline::rate::{RowOutcome, Status};
use crate::report::RowSink;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Characters of a row's text kept for the rows shown as disagreements.
const PREVIEW_CHARS: usize = 280;

/// One rated row.
#[derive(Debug, Clone, PartialEq)]
pub struct Rated {
    pub scores: Vec<f64>,
    pub bucket: String,
    /// The rationales of its chunks, joined.
    pub rationale: String,
    pub preview: String,
}

/// A rater's rated rows per dataset (by display name), and its rows that are not rated.
#[derive(Debug, Default)]
pub struct Ratings {
    pub rows: BTreeMap<String, BTreeMap<u64, Rated>>,
    /// Per dataset: rows seen that the rater has no rating for (not in the cache, failed, skipped).
    pub unrated: BTreeMap<String, u64>,
}

/// The first characters of a row's text (its chunks' fields, in order).
fn preview(outcome: &RowOutcome) -> String {
    let text: Vec<&str> = outcome
        .chunks
        .iter()
        .flat_map(|c| c.inputs.values().map(String::as_str))
        .collect();
    let text = text.join("\n");
    match crate::report::cut_at(&text, PREVIEW_CHARS) {
        Some(cut) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Receives one dataset's outcomes for one rater.
pub struct Collector {
    dataset: String,
    into: Arc<Mutex<Ratings>>,
}

impl Collector {
    pub fn new(dataset: &str, into: Arc<Mutex<Ratings>>) -> Collector {
        Collector {
            dataset: dataset.to_string(),
            into,
        }
    }
}

impl RowSink for Collector {
    fn write(&mut self, outcome: &RowOutcome) -> Result<(), Error> {
        let mut ratings = self.into.lock().expect("no writer panicked");
        match &outcome.status {
            Status::Rated { scores, bucket } => {
                let rationale = outcome
                    .chunks
                    .iter()
                    .flat_map(|c| c.scores.rationales.iter().cloned())
                    .collect::<Vec<_>>()
                    .join("\n\n");
                ratings
                    .rows
                    .entry(self.dataset.clone())
                    .or_default()
                    .insert(
                        outcome.index,
                        Rated {
                            scores: scores.scores.clone(),
                            bucket: bucket.clone(),
                            rationale,
                            preview: preview(outcome),
                        },
                    );
            }
            _ => *ratings.unrated.entry(self.dataset.clone()).or_default() += 1,
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>, Error> {
        Ok(Vec::new())
    }
}
