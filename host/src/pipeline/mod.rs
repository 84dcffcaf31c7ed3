//! The rating pipeline, one file per stage:
//!
//! read rows (`crate::data`) → [`preprocess`] → [`render`] → call the model (`crate::model`, through
//! `crate::cache`) → [`postprocess`] → [`aggregate`] → [`bucket`] → report (`crate::report`).
//!
//! Preprocess, postprocess, aggregate, bucket and (for local lenses) score sit behind the [`Stages`]
//! trait. Its default methods are the native behaviour; a lens's WebAssembly component overrides the
//! stages it implements (`crate::component`). [`rate`] runs the stages for one row.

pub mod aggregate;
pub mod answer;
pub mod bucket;
pub mod chunk;
pub mod postprocess;
pub mod preprocess;
pub mod rate;
pub mod render;
#[cfg(test)]
pub(crate) mod test_rng;
pub mod tokenize;

pub use crate::failure::FailureKind;
use crate::lens::Lens;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Template variables for one prompt: input field name → text (for pretrain lenses, one chunk).
pub type Inputs = BTreeMap<String, String>;

/// A row's `values` keyed by a lens's input `fields` (the columns map to the fields in order), or
/// why the row is skipped (a null).
pub fn inputs_of<'a>(
    fields: &[String],
    columns: &[String],
    values: impl IntoIterator<Item = Option<&'a str>>,
) -> Result<Inputs, String> {
    let mut inputs = Inputs::new();
    for ((field, column), value) in fields.iter().zip(columns).zip(values) {
        match value {
            Some(v) => inputs.insert(field.clone(), v.to_string()),
            None => return Err(format!("null in column `{column}`")),
        };
    }
    Ok(inputs)
}

/// What preprocessing made of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// One prompt's inputs per entry (several for a chunked document).
    Inputs(Vec<Inputs>),
    /// The row is not rated, for this reason (e.g. "too short"). Counted as skipped, never lost.
    Skip(String),
}

/// Scores and rationales of one answer, aligned with the lens's `score_labels` and `rationale_labels`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChunkScores {
    pub scores: Vec<f64>,
    pub rationales: Vec<String>,
}

/// A row's final scores, aligned with the lens's `score_labels`.
#[derive(Debug, Clone, PartialEq)]
pub struct RowScores {
    pub scores: Vec<f64>,
}

/// A pipeline stage, named in errors and per-row output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Preprocess,
    Render,
    Call,
    Postprocess,
    Aggregate,
    Bucket,
    Score,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Preprocess => "preprocess",
            Stage::Render => "render",
            Stage::Call => "call",
            Stage::Postprocess => "postprocess",
            Stage::Aggregate => "aggregate",
            Stage::Bucket => "bucket",
            Stage::Score => "score",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a stage failed for one row. A stage error fails that row only; the run goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct StageError {
    pub stage: Stage,
    /// Machine-readable kind, e.g. `bad-answer`, `timeout`, `memory-limit`, `trap`, `plugin-error`.
    pub kind: FailureKind,
    /// One plain sentence saying what went wrong and, where there is one, the setting to change.
    pub message: String,
    /// What a plugin logged while handling the row (empty for native stages).
    pub log: String,
}

impl StageError {
    pub fn new(stage: Stage, kind: FailureKind, message: impl Into<String>) -> Self {
        StageError {
            stage,
            kind,
            message: message.into(),
            log: String::new(),
        }
    }
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed ({}): {}", self.stage, self.kind, self.message)
    }
}

/// What every stage implementation can see: the lens and the chunking settings.
#[derive(Clone)]
pub struct StageContext {
    pub lens: Arc<Lens>,
    pub chunking: chunk::ChunkSettings,
    /// The tokenizer of the chat model (tiktoken), for chunking and token counts.
    pub bpe: chunk::Tokenizer,
}

impl std::fmt::Debug for StageContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageContext")
            .field("lens", &self.lens.name)
            .field("chunking", &self.chunking)
            .finish_non_exhaustive()
    }
}

/// The replaceable stages of the pipeline. Every method defaults to the native behaviour.
///
/// `row` is the 0-based row index, carried so that errors can name the row.
pub trait Stages: Send + Sync {
    fn context(&self) -> &StageContext;

    /// Every stage is the native one, which runs in microseconds (chunking a document is the
    /// dearest), so it may run on the async threads; a component's stage may take up to its limit.
    fn native(&self) -> bool {
        false
    }

    /// Row fields (keyed by the lens's input fields) → the inputs of each prompt to send.
    fn preprocess(&self, row: u64, fields: &Inputs) -> Result<Prepared, StageError> {
        let _ = row;
        Ok(preprocess::native(self.context(), fields))
    }

    /// The function call's JSON arguments → scores and rationales. An error here means the answer is
    /// bad: the call is retried and the answer is never cached.
    fn postprocess(&self, row: u64, arguments: &str) -> Result<ChunkScores, StageError> {
        let _ = row;
        postprocess::native(&self.context().lens, arguments)
    }

    /// Chunk scores → row scores.
    fn aggregate(&self, row: u64, chunks: &[ChunkScores]) -> Result<RowScores, StageError> {
        let _ = row;
        aggregate::mean(&self.context().lens, chunks)
    }

    /// Row scores → the row's bucket name.
    fn bucket(&self, row: u64, scores: &RowScores) -> Result<String, StageError> {
        let _ = row;
        Ok(bucket::seed_rule(&scores.scores).name().to_string())
    }

    /// The bucket names in report order (a component may define its own).
    fn bucket_names(&self) -> Vec<String> {
        bucket::Bucket::ALL
            .iter()
            .map(|b| b.name().to_string())
            .collect()
    }

    /// Score a row without a model (local lenses only).
    fn score(&self, row: u64, fields: &Inputs) -> Result<ChunkScores, StageError> {
        let _ = (row, fields);
        Err(StageError::new(
            Stage::Score,
            FailureKind::Unsupported,
            format!(
                "lens `{}` has no component that scores rows locally",
                self.context().lens.name
            ),
        ))
    }
}

/// The native pipeline: every stage at its default.
pub struct Native(pub StageContext);

impl Stages for Native {
    fn context(&self) -> &StageContext {
        &self.0
    }

    fn native(&self) -> bool {
        true
    }
}
