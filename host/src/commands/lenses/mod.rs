//! `classified lenses list|show|check|new|call`: inspect lenses, scaffold a new one, run one stage by
//! hand. One file per subcommand; `fields.rs` reads row fields the way `summary` does, and
//! `templates/` holds the files `lenses new` writes.

mod call;
mod check;
mod fields;
mod list;
mod new;
mod show;

use crate::cli::lenses::LensesCommand;
use crate::error::Error;
use crate::lens::{Catalog, Lens, LensSource};
use crate::pipeline::{ChunkScores, StageContext};
use serde_json::{Value, json};
use std::sync::Arc;

/// What `lenses call` prints for one stage call (`{"skip": reason}` for a row `summary` would skip).
pub use call::output as call_output;

pub fn run(cmd: LensesCommand, catalog: &Catalog) -> Result<(), Error> {
    match cmd {
        LensesCommand::List => list::run(catalog),
        LensesCommand::Show { name } => show::run(&catalog.get(&name)?),
        LensesCommand::Check { lens } => check::run(catalog.get(&lens)?),
        LensesCommand::New { name, lang } => new::run(&name, lang),
        LensesCommand::Call { lens, stage, input } => call::run(catalog.get(&lens)?, stage, &input),
    }
}

/// A stage context for running a lens outside a rating run (default chunking, the o200k tokenizer).
fn context(lens: Lens) -> StageContext {
    StageContext {
        lens: Arc::new(lens),
        chunking: Default::default(),
        bpe: crate::pipeline::chunk::Tokenizer::lazy(tiktoken_rs::o200k_base_singleton),
    }
}

/// "model.bin: 8,388,781 bytes, word 1-2-grams, 262144 hash buckets, vector 16, scores overall (1, 2, 3)".
fn model_line(m: &crate::lens::ModelFile) -> String {
    let heads: Vec<String> = m
        .model
        .heads
        .iter()
        .map(|h| {
            let values: Vec<String> = h.values.iter().map(f64::to_string).collect();
            format!("{} ({})", h.label, values.join(", "))
        })
        .collect();
    format!(
        "{}: loads, {} bytes, {}, vector {}, scores {}",
        m.name,
        m.size,
        m.model.features.describe(),
        m.model.dim,
        heads.join(", ")
    )
}

fn source_name(source: &LensSource) -> String {
    match source {
        LensSource::Builtin => "built-in".into(),
        LensSource::Dir(dir) => dir.display().to_string(),
    }
}

/// A chunk's scores and rationales keyed by the lens's labels.
fn scores_json(lens: &Lens, chunk: &ChunkScores) -> Value {
    let scores: serde_json::Map<String, Value> = lens
        .score_labels
        .iter()
        .cloned()
        .zip(chunk.scores.iter().map(|v| json!(v)))
        .collect();
    let rationales: serde_json::Map<String, Value> = lens
        .rationale_labels
        .iter()
        .cloned()
        .zip(chunk.rationales.iter().map(|v| json!(v)))
        .collect();
    json!({"scores": scores, "rationales": rationales})
}
