//! `MODEL_CARD.md`: where the model came from (source lens, chat model, cache version, datasets,
//! rows, date), how it reads text (features, hyper-parameters, size) and how well it agrees with
//! the LLM on the hold-out (the same tables `train` prints).

use super::dataset::RowCounts;
use super::fit::Hyper;
use super::metrics::Metrics;

/// Everything the card states.
pub struct Card<'a> {
    pub lens_name: &'a str,
    pub source_lens: &'a str,
    pub chat_model: &'a str,
    pub version: u32,
    pub datasets: &'a [String],
    pub columns: &'a [String],
    pub rows: &'a RowCounts,
    pub examples: usize,
    /// Whether an example is a chunk (pretrain) or a row (instruct).
    pub unit: &'a str,
    pub text_bytes: u64,
    pub hyper: &'a Hyper,
    pub holdout: f64,
    pub model_bytes: usize,
    pub train_seconds: f64,
    pub metrics: &'a Metrics,
    /// When it was trained (RFC 3339, UTC).
    pub date: String,
}

impl Card<'_> {
    pub fn render(&self) -> String {
        let h = self.hyper;
        format!(
            "# {name}\n\n\
             A `model` lens: a linear classifier over hashed n-grams (fastText's supervised model) \
             that predicts the scores the lens `{source}` got from `{chat}`, with no model calls.\n\
             Each score is the expected value of the classifier's softmax over the score values seen \
             in training, so the bucket rule of `{source}` applies unchanged. A row is scored as a \
             whole (the mean over all its n-grams), not cut into the chunks the LLM saw.\n\n\
             ## Training data\n\n\
             | | |\n|---|---|\n\
             | source lens | `{source}` |\n\
             | chat model | `{chat}` |\n\
             | cache version | {version} |\n\
             | datasets | {datasets} |\n\
             | columns | {columns} |\n\
             | rows read | {seen} |\n\
             | rows with a cached rating | {labelled} |\n\
             | rows without one | {unrated} |\n\
             | rows skipped or failed | {other} |\n\
             | labelled examples | {examples} ({unit}s), {mb:.2} MB of text |\n\
             | trained | {date} |\n\n\
             ## Model\n\n\
             | | |\n|---|---|\n\
             | features | {features} |\n\
             | vector size | {dim} |\n\
             | epochs | {epochs} |\n\
             | learning rate | {lr} (falling linearly to 0) |\n\
             | seed | {seed} |\n\
             | hold-out | {holdout} of the rows, stratified by the last score |\n\
             | model file | {size} bytes (`model.bin`, format version {format}) |\n\
             | training time | {secs:.2} s |\n\n\
             ## Agreement with the LLM on the hold-out\n\n{metrics}",
            name = self.lens_name,
            source = self.source_lens,
            chat = self.chat_model,
            version = self.version,
            datasets = self.datasets.join(", "),
            columns = self.columns.join(", "),
            seen = self.rows.seen,
            labelled = self.rows.labelled,
            unrated = self.rows.unrated,
            other = self.rows.other,
            examples = self.examples,
            unit = self.unit,
            mb = self.text_bytes as f64 / 1e6,
            date = self.date,
            features = h.features.describe(),
            dim = h.dim,
            epochs = h.epochs,
            lr = h.lr,
            seed = h.seed,
            holdout = self.holdout,
            size = self.model_bytes,
            format = super::format::VERSION,
            secs = self.train_seconds,
            metrics = self.metrics.render(),
        )
    }
}
