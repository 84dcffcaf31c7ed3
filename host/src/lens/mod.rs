//! Lenses: a folder of prompts, a config and a function schema that together say how to rate a row.
//!
//! `load.rs` turns a folder (on disk or embedded in the binary) into a validated [`Lens`];
//! `catalog.rs` finds lenses by name across the built-in set and the user's `--lens-dir`;
//! `scores.rs` holds what function.json allows each score to be.

mod catalog;
mod checksum;
mod load;
pub mod scores;

pub use catalog::{Catalog, builtin_names};
pub use load::{COMPONENT_MAX_BYTES, LensError, load_dir, template_error};
pub use scores::ScoreSpec;

use std::path::PathBuf;

/// What kind of data a lens rates, which decides how rows become prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LensKind {
    /// One long text field, cut into token chunks; the row's score is the mean over its chunks.
    Pretrain,
    /// Every input field goes into one prompt; one call per row.
    Instruct,
    /// No prompt and no model: a WebAssembly component scores the row itself.
    Local,
    /// No prompt and no chat model: a classifier trained by `classified train` (its `model.bin`)
    /// scores the row natively.
    Model,
}

impl LensKind {
    /// Whether rating a row asks a chat model (pretrain, instruct lenses) rather than scoring it
    /// here (local and model lenses, which need no API key and send nothing).
    pub fn asks_model(self) -> bool {
        matches!(self, LensKind::Pretrain | LensKind::Instruct)
    }

    /// The name `config.json` spells it with (`"type"`), as the commands print it.
    pub fn name(self) -> &'static str {
        match self {
            LensKind::Pretrain => "pretrain",
            LensKind::Instruct => "instruct",
            LensKind::Local => "local",
            LensKind::Model => "model",
        }
    }
}

/// Where a lens was loaded from, shown by `lenses list` and used to resolve relative paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LensSource {
    Builtin,
    Dir(PathBuf),
}

/// A loaded, validated lens.
#[derive(Debug, Clone)]
pub struct Lens {
    pub name: String,
    pub kind: LensKind,
    pub input_fields: Vec<String>,
    /// Jinja source of the system prompt (empty for local lenses).
    pub system_template: String,
    /// Jinja source of the user prompt (empty for local lenses).
    pub prompt_template: String,
    /// The OpenAI function schema (`{"name", "description", "parameters"}`).
    pub function: serde_json::Value,
    pub function_name: String,
    /// Required integer/number properties, in `required` order: the lens's scores.
    pub score_labels: Vec<String>,
    /// What function.json allows each score to be, aligned with `score_labels`.
    pub score_specs: Vec<ScoreSpec>,
    /// Required string properties, in `required` order: the lens's rationales.
    pub rationale_labels: Vec<String>,
    /// The raw `config.json`, handed to components that ask for their lens config.
    pub config: serde_json::Value,
    pub source: LensSource,
    /// Bytes of the lens's WebAssembly component, if it ships one (`config.json` `"component"`).
    pub component: Option<ComponentFile>,
    /// A model lens's classifier (`config.json` `"model"`), loaded and checked.
    pub model: Option<ModelFile>,
}

/// A model lens's classifier file, loaded.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The path as written in config.json, for messages.
    pub name: String,
    /// The file's size in bytes.
    pub size: usize,
    /// sha256 (hex) of the file's bytes, for the lens's checksum.
    pub sha256: String,
    pub model: std::sync::Arc<crate::train::Model>,
}

/// A component file named by a lens's `config.json`.
#[derive(Clone)]
pub struct ComponentFile {
    /// The path as written in config.json, for messages.
    pub name: String,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

impl std::fmt::Debug for ComponentFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ComponentFile({}, {} bytes)",
            self.name,
            self.bytes.len()
        )
    }
}

impl Lens {
    /// The last score label (the seed's `overall`), which the bucket rule weighs specially.
    pub fn last_label(&self) -> &str {
        self.score_labels.last().map(String::as_str).unwrap_or("")
    }

    /// Scores in label order, checked against function.json (range, integer, enum, finite): the
    /// end of a sentence naming the first score it does not allow.
    pub fn check_scores(&self, scores: &[f64]) -> Result<(), String> {
        scores::check(&self.score_specs, scores)
    }
}
