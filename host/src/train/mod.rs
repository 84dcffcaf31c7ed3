//! `classified train`: learn a fast local classifier from an LLM lens's cached ratings and write it
//! as a `model` lens. One job per file: `dataset.rs` (labelled examples from the cache),
//! `features.rs` (text → hashed n-gram ids), `split.rs` (the stratified hold-out), `fit.rs`
//! (deterministic training), `model.rs` (the classifier and its prediction), `format.rs` (the
//! versioned binary model file), `metrics.rs` (agreement with the LLM on the hold-out), `card.rs`
//! (MODEL_CARD.md), `lens_folder.rs` (the lens folder), `scoring.rs` (a model lens's stages) and
//! `fasttext.rs` (reading a fastText model for `--import-fasttext`).
//! The command itself is `commands/train.rs`.

pub mod card;
pub mod dataset;
pub mod fasttext;
pub mod features;
pub mod fit;
pub mod format;
pub mod lens_folder;
pub mod metrics;
pub mod model;
pub mod scoring;
pub mod split;

pub use features::FeatureConfig;
pub use fit::{Examples, Hyper, Label, fit};
pub use model::{Model, Prediction};

/// A checked `train` command line: train on cached ratings, or import a fastText model.
#[derive(Debug)]
pub enum TrainConfig {
    Train(Box<Training>),
    Import(Import),
}

/// `train --import-fasttext FILE --labels …`.
#[derive(Debug)]
pub struct Import {
    /// The fastText .bin / .ftz file.
    pub file: std::path::PathBuf,
    /// fastText's labels with the score each stands for, as given.
    pub labels: Vec<(String, f64)>,
    /// The model lens folder to write.
    pub folder: std::path::PathBuf,
}

/// `train DATASETS COLUMNS LENS`.
#[derive(Debug)]
pub struct Training {
    /// The selection to read (one lens) and the cache keys to read it with.
    pub run: crate::config::RunConfig,
    /// The model lens folder to write.
    pub folder: std::path::PathBuf,
    /// Share of rows held out.
    pub holdout: f64,
    pub hyper: Hyper,
}
