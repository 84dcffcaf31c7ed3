//! The clap types of `classified train`, and their check into a [`TrainConfig`].

use super::{InputArgs, one_lens};
use crate::config::{RunConfig, RunMode};
use crate::error::Error;
use crate::settings::Settings;
use crate::train::{FeatureConfig, Hyper, Import, TrainConfig, Training};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(
    mut_arg("datasets", |a| a.required(false).default_value("")),
    mut_arg("columns", |a| a.required(false).default_value("")),
    mut_arg("lenses", |a| a
        .required(false)
        .default_value("")
        .value_name("LENS")
        .help("The LLM lens whose cached ratings to learn (one): a built-in name, a name in --lens-dir, or a lens folder")),
    mut_arg("out", |a| a
        .help("Folder of the model lens to write (default ./lenses/<LENS>_model)")),
    mut_arg("max", |a| a
        .help("Read a seeded random sample of at most N rows per dataset: the --max (and --seed) summary rated")),
    mut_arg("seed", |a| a
        .help("Seed of the --max sample, the hold-out split and the training")),
)]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The chat model whose cached answers to learn (overrides CHAT_MODEL): the --model summary used.
    #[arg(long)]
    pub model: Option<String>,
    /// The cache version summary rated with.
    #[arg(long, default_value_t = 1, value_name = "V")]
    pub version: u32,
    /// The --structured form summary rated with (json_schema answers have cache keys of their own).
    #[arg(long, value_enum, default_value_t = crate::model::Structured::Auto, value_name = "FORM")]
    pub structured: crate::model::Structured,
    /// Where summary wrote its cache: the --out it was given (overrides DATA_DIR; DATABASE_URL wins).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Share of the rows held out to evaluate the model (stratified by the last score).
    #[arg(long, default_value_t = 0.1, value_name = "SHARE")]
    pub holdout: f64,
    /// Passes over the training examples.
    #[arg(long, default_value_t = Hyper::default().epochs, value_name = "N")]
    pub epochs: u32,
    /// Starting learning rate (it falls linearly to 0).
    #[arg(long, default_value_t = Hyper::default().lr, value_name = "RATE")]
    pub lr: f32,
    /// Length of the text vector.
    #[arg(long, default_value_t = Hyper::default().dim, value_name = "N")]
    pub dim: usize,
    /// Rows of the hashed feature table (the model file holds BUCKETS × DIM half floats).
    #[arg(long, default_value_t = FeatureConfig::default().buckets, value_name = "N")]
    pub buckets: u32,
    /// Longest word n-gram: 1 words, 2 words and word pairs, … (at most 5).
    #[arg(long, default_value_t = FeatureConfig::default().word_ngrams, value_name = "N")]
    pub word_ngrams: u8,
    /// Character n-grams of each word, e.g. `3-5` (none by default).
    #[arg(long, value_name = "MIN-MAX")]
    pub char_ngrams: Option<String>,
    /// Turn this supervised fastText model (.bin or .ftz) into a model lens instead of training
    /// one (give no DATASETS, COLUMNS or LENS then).
    #[arg(long, value_name = "FILE", requires = "labels")]
    pub import_fasttext: Option<PathBuf>,
    /// With --import-fasttext: the score each fastText label stands for, e.g.
    /// `__label__hq=1,__label__cc=0`; the lens's score is the expected score Σ P(label) × score.
    #[arg(long, value_name = "LABEL=SCORE,...", requires = "import_fasttext")]
    pub labels: Option<String>,
}

/// `3-5` → (3, 5).
fn char_range(text: &str) -> Option<(u8, u8)> {
    let (a, b) = text.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

impl TrainArgs {
    /// Check the arguments: one LLM lens, a hold-out share in (0, 0.5], sane hyper-parameters.
    pub fn validate(mut self, mut settings: Settings) -> Result<TrainConfig, Error> {
        // `--out` is the lens folder here, not DATA_DIR: keep it from the shared input check.
        let out = self.input.out.take();
        if let Some(file) = self.import_fasttext.take() {
            return self.import(file, out);
        }
        if self.input.datasets.is_empty()
            || self.input.columns.is_empty()
            || self.input.lenses.is_empty()
        {
            return Err(Error::Usage(
                "train needs DATASETS COLUMNS LENS (the LLM lens whose cached ratings to learn), or --import-fasttext FILE --labels …".into(),
            ));
        }
        if let Some(dir) = self.data_dir {
            settings.data_dir = dir;
        }
        if let Some(model) = self.model {
            settings.model = model;
        }
        let seed = self.input.seed;
        let selection = self.input.validate(&mut settings)?;
        let lens = one_lens(&selection, "train")?;
        if !lens.kind.asks_model() {
            return Err(Error::Usage(format!(
                "lens `{}` is a {} lens, which scores rows without a chat model; train learns from an LLM lens's cached ratings (pretrain or instruct)",
                lens.name,
                if lens.kind == crate::lens::LensKind::Model {
                    "model"
                } else {
                    "local"
                }
            )));
        }
        if !(self.holdout > 0.0 && self.holdout <= 0.5) {
            return Err(Error::Usage(format!(
                "--holdout {} must be a share above 0 and at most 0.5, e.g. --holdout 0.1",
                self.holdout
            )));
        }
        if self.epochs == 0 || self.epochs > 1000 {
            return Err(Error::Usage("--epochs must be between 1 and 1000".into()));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 10.0) {
            return Err(Error::Usage(format!(
                "--lr {} must be a number above 0 and at most 10, e.g. --lr 0.5",
                self.lr
            )));
        }
        let max_dim = crate::train::format::MAX_DIM as usize;
        if self.dim == 0 || self.dim > max_dim {
            return Err(Error::Usage(format!(
                "--dim must be between 1 and {max_dim}"
            )));
        }
        let (char_min, char_max) = match &self.char_ngrams {
            None => (0, 0),
            Some(text) => char_range(text).ok_or_else(|| {
                Error::Usage(format!(
                    "--char-ngrams {text:?} is not MIN-MAX, e.g. --char-ngrams 3-5"
                ))
            })?,
        };
        let features = FeatureConfig {
            buckets: self.buckets,
            word_ngrams: self.word_ngrams,
            char_min,
            char_max,
        };
        features
            .check()
            .map_err(|e| Error::Usage(format!("--buckets/--word-ngrams/--char-ngrams: {e}")))?;
        let folder =
            out.unwrap_or_else(|| PathBuf::from("lenses").join(format!("{}_model", lens.name)));
        Ok(TrainConfig::Train(Box::new(Training {
            run: RunConfig {
                selection,
                limits: crate::model::Limits {
                    ceiling: 1,
                    rpm: None,
                    tpm: None,
                    structured: self.structured,
                },
                version: self.version,
                // Not consulted by the cache-only pass.
                mode: RunMode::Live,
                max_usd: None,
                settings,
                json: false,
            },
            folder,
            holdout: self.holdout,
            hyper: Hyper {
                features,
                dim: self.dim,
                epochs: self.epochs,
                lr: self.lr,
                seed,
            },
        })))
    }

    /// `--import-fasttext FILE --labels …`: nothing else of the training command line applies.
    fn import(self, file: PathBuf, out: Option<PathBuf>) -> Result<TrainConfig, Error> {
        if !(self.input.datasets.is_empty()
            && self.input.columns.is_empty()
            && self.input.lenses.is_empty())
        {
            return Err(Error::Usage(
                "--import-fasttext makes a lens from the fastText file alone; drop DATASETS COLUMNS LENS".into(),
            ));
        }
        let labels = crate::commands::train::parse_labels(self.labels.as_deref().unwrap_or(""))
            .map_err(|e| Error::Usage(format!("--labels {e}")))?;
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "fasttext".into());
        let folder = out.unwrap_or_else(|| PathBuf::from("lenses").join(format!("{stem}_model")));
        Ok(TrainConfig::Import(Import {
            file,
            labels,
            folder,
        }))
    }
}
