//! What a component returns, in the host's own types: every WIT version's adapter converts to these.

use crate::pipeline::Stage;

/// What a component says about itself (`describe`).
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// The stages it implements; the host runs its native default for the others.
    pub stages: Vec<Stage>,
    /// Its own bucket names in report order; empty for the host's.
    pub bucket_names: Vec<String>,
}

/// What preprocessing made of a row: each prompt's inputs as a JSON object, or a skip reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    Inputs(Vec<String>),
    Skip(String),
}

/// Named scores and rationales.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scored {
    pub scores: Vec<(String, f64)>,
    pub rationales: Vec<(String, String)>,
}

/// A stage's own answer when it has no result.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The stage is not implemented: use the native default.
    Unsupported,
    /// The component could not handle the row, in its words.
    Failed(String),
}

/// A stage's answer: its result, or why it has none.
pub type Answer<T> = Result<T, Refusal>;

/// Bytes of text a component handed back, checked against the output limit.
pub trait OutputSize {
    fn output_size(&self) -> usize;
}

impl OutputSize for String {
    fn output_size(&self) -> usize {
        self.len()
    }
}

impl OutputSize for Prepared {
    fn output_size(&self) -> usize {
        match self {
            Prepared::Inputs(inputs) => inputs.iter().map(String::len).sum(),
            Prepared::Skip(reason) => reason.len(),
        }
    }
}

impl OutputSize for Scored {
    fn output_size(&self) -> usize {
        self.scores.iter().map(|(l, _)| l.len() + 8).sum::<usize>()
            + self
                .rationales
                .iter()
                .map(|(l, t)| l.len() + t.len())
                .sum::<usize>()
    }
}

impl<T: OutputSize> OutputSize for Answer<T> {
    fn output_size(&self) -> usize {
        match self {
            Ok(v) => v.output_size(),
            Err(Refusal::Failed(message)) => message.len(),
            Err(Refusal::Unsupported) => 0,
        }
    }
}
