//! [`Stages`] backed by a lens's component: each stage it implements runs in the sandbox, the others
//! fall back to the native defaults, and so does any one call it answers `unsupported` (that call
//! only). What comes back is checked: prompts per row, score labels, each score against
//! function.json, bucket names.

use super::error::Kind;
use super::guest::{self, Answer, OutputSize, Refusal, Scored};
use super::loaded::Loaded;
use super::state::State;
use super::versions::Instance;
use crate::pipeline::{
    ChunkScores, Inputs, Native, Prepared, RowScores, Stage, StageContext, StageError, Stages,
};
use wasmtime::Store;

pub struct ComponentStages {
    native: Native,
    pub loaded: Loaded,
}

impl ComponentStages {
    pub fn new(ctx: StageContext, loaded: Loaded) -> Self {
        ComponentStages {
            native: Native(ctx),
            loaded,
        }
    }

    fn implements(&self, stage: Stage) -> bool {
        self.loaded.info.stages.contains(&stage)
    }

    /// Run `stage` on the component. `None` means "use the native default", for this call only:
    /// the stage is not listed, or the component answered `unsupported` this time.
    fn run<T: OutputSize + Send>(
        &self,
        stage: Stage,
        row: u64,
        f: impl FnOnce(&Instance, &mut Store<State>) -> wasmtime::Result<Answer<T>> + Send,
    ) -> Option<Result<(T, String), StageError>> {
        if !self.implements(stage) {
            return None;
        }
        let (answer, log) = match self.loaded.call(stage, row, f) {
            Ok(done) => done,
            Err(e) => return Some(Err(e.into())),
        };
        let size = answer.output_size();
        if size > self.loaded.limits.output_bytes() {
            return Some(Err(self
                .loaded
                .refused(stage, row, Kind::OutputLimit, human(size), log)
                .into()));
        }
        match answer {
            Ok(value) => Some(Ok((value, log))),
            Err(Refusal::Unsupported) => None,
            Err(Refusal::Failed(message)) => Some(Err(self
                .loaded
                .refused(stage, row, Kind::PluginError, message, log)
                .into())),
        }
    }

    fn bad_output(&self, stage: Stage, row: u64, detail: String, log: String) -> StageError {
        self.loaded
            .refused(stage, row, Kind::BadOutput, detail, log)
            .into()
    }

    /// Scores named by label → the lens's label order.
    fn align(
        &self,
        stage: Stage,
        row: u64,
        scored: Scored,
        log: String,
    ) -> Result<ChunkScores, StageError> {
        align(&self.loaded.lens, scored).map_err(|detail| self.bad_output(stage, row, detail, log))
    }
}

impl Stages for ComponentStages {
    fn context(&self) -> &StageContext {
        &self.native.0
    }

    fn preprocess(&self, row: u64, fields: &Inputs) -> Result<Prepared, StageError> {
        let json = serde_json::to_string(fields).expect("a string map serializes");
        let Some(result) = self.run(Stage::Preprocess, row, |i, s| i.preprocess(s, row, &json))
        else {
            return self.native.preprocess(row, fields);
        };
        let (prepared, log) = result?;
        match prepared {
            guest::Prepared::Skip(reason) => Ok(Prepared::Skip(reason)),
            guest::Prepared::Inputs(inputs) if inputs.is_empty() => Err(self.bad_output(
                Stage::Preprocess,
                row,
                "no prompt inputs (to leave a row out, return skip with a reason)".into(),
                log,
            )),
            guest::Prepared::Inputs(inputs)
                if inputs.len() as u64 > self.loaded.limits.prompts_per_row =>
            {
                let limits = &self.loaded.limits;
                let max = super::limits::MAXIMUM.prompts_per_row;
                Err(self.bad_output(
                    Stage::Preprocess,
                    row,
                    format!(
                        "{} prompts for one row, more than its limit of {}; raise \"limits\": \
                         {{\"prompts_per_row\": ...}} in the lens's config.json (at most {max}) \
                         if the lens really needs that many model requests per row",
                        inputs.len(),
                        limits.prompts_per_row
                    ),
                    log,
                ))
            }
            guest::Prepared::Inputs(inputs) => {
                let parsed: Result<Vec<Inputs>, _> =
                    inputs.iter().map(|i| serde_json::from_str(i)).collect();
                parsed.map(Prepared::Inputs).map_err(|e| {
                    self.bad_output(
                        Stage::Preprocess,
                        row,
                        format!("prompt inputs that are not JSON objects of text ({e})"),
                        log,
                    )
                })
            }
        }
    }

    fn postprocess(&self, row: u64, arguments: &str) -> Result<ChunkScores, StageError> {
        let Some(result) = self.run(Stage::Postprocess, row, |i, s| {
            i.postprocess(s, row, arguments)
        }) else {
            return self.native.postprocess(row, arguments);
        };
        let (scored, log) = result?;
        self.align(Stage::Postprocess, row, scored, log)
    }

    fn aggregate(&self, row: u64, chunks: &[ChunkScores]) -> Result<RowScores, StageError> {
        self.native.aggregate(row, chunks)
    }

    fn bucket(&self, row: u64, scores: &RowScores) -> Result<String, StageError> {
        let labelled: Vec<(String, f64)> = self
            .loaded
            .lens
            .score_labels
            .iter()
            .cloned()
            .zip(scores.scores.iter().copied())
            .collect();
        let Some(result) = self.run(Stage::Bucket, row, |i, s| i.bucket(s, row, &labelled)) else {
            return self.native.bucket(row, scores);
        };
        let (bucket, log) = result?;
        let names = self.bucket_names();
        if names.contains(&bucket) {
            Ok(bucket)
        } else {
            Err(self.bad_output(
                Stage::Bucket,
                row,
                format!(
                    "bucket {bucket:?}, which is not one of {}",
                    names.join(", ")
                ),
                log,
            ))
        }
    }

    fn bucket_names(&self) -> Vec<String> {
        let own = &self.loaded.info.bucket_names;
        if own.is_empty() || !self.implements(Stage::Bucket) {
            self.native.bucket_names()
        } else {
            own.clone()
        }
    }

    fn score(&self, row: u64, fields: &Inputs) -> Result<ChunkScores, StageError> {
        let json = serde_json::to_string(fields).expect("a string map serializes");
        let Some(result) = self.run(Stage::Score, row, |i, s| i.score(s, row, &json)) else {
            if self.implements(Stage::Score) {
                // Answered `unsupported` for this row, and there is no native way to score it.
                return Err(self
                    .loaded
                    .refused(
                        Stage::Score,
                        row,
                        Kind::PluginError,
                        "answered `unsupported` for this row, and scoring has no native default \
                         to fall back on"
                            .into(),
                        String::new(),
                    )
                    .into());
            }
            return self.native.score(row, fields);
        };
        let (scored, log) = result?;
        self.align(Stage::Score, row, scored, log)
    }
}

/// Put named scores in the lens's label order: every score label present exactly once, no unknown
/// label, every value what function.json allows (finite, range, integer, enum); rationales named
/// once at most. Rationales the component leaves out are empty.
pub fn align(lens: &crate::lens::Lens, scored: Scored) -> Result<ChunkScores, String> {
    for (i, (label, value)) in scored.scores.iter().enumerate() {
        if !lens.score_labels.contains(label) {
            return Err(format!(
                "score {label:?}, which function.json does not list (scores: {})",
                lens.score_labels.join(", ")
            ));
        }
        if scored.scores[..i].iter().any(|(l, _)| l == label) {
            return Err(format!(
                "score {label:?} more than once ({} scores for {} labels)",
                scored.scores.len(),
                lens.score_labels.len()
            ));
        }
        let spec = lens.score_labels.iter().position(|l| l == label);
        if let Some(spec) = spec.and_then(|i| lens.score_specs.get(i)) {
            spec.check(*value)?;
        } else if !value.is_finite() {
            return Err(format!("score {label:?} = {value}, which is not a number"));
        }
    }
    for (i, (label, _)) in scored.rationales.iter().enumerate() {
        if !lens.rationale_labels.contains(label) {
            return Err(format!(
                "rationale {label:?}, which function.json does not list as a required string"
            ));
        }
        if scored.rationales[..i].iter().any(|(l, _)| l == label) {
            return Err(format!("rationale {label:?} more than once"));
        }
    }
    let scores = lens
        .score_labels
        .iter()
        .map(|label| {
            scored
                .scores
                .iter()
                .find(|(l, _)| l == label)
                .map(|(_, v)| *v)
                .ok_or_else(|| format!("no score {label:?}"))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    let rationales = lens
        .rationale_labels
        .iter()
        .map(|label| {
            scored
                .rationales
                .iter()
                .find(|(l, _)| l == label)
                .map(|(_, t)| t.clone())
                .unwrap_or_default()
        })
        .collect();
    Ok(ChunkScores { scores, rationales })
}

/// A byte count for a sentence: "812 KiB", "100.0 MB".
fn human(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}
