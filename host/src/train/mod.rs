//! `classified train`: learn a fast local classifier from an LLM lens's cached ratings and write it
//! as a `model` lens. One job per file: `features.rs` (text → hashed n-gram ids), `model.rs` (the
//! classifier and its prediction), `fit.rs` (deterministic training), `format.rs` (the versioned
//! binary model file), `scoring.rs` (a model lens's stages).

pub mod features;
pub mod fit;
pub mod format;
pub mod model;

pub use features::FeatureConfig;
pub use fit::{Examples, Hyper, Label, fit};
pub use model::{Model, Prediction};
pub mod scoring;
