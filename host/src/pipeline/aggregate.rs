//! Aggregate stage (native default): a row's score per label is the mean over its chunks.

use super::{ChunkScores, FailureKind, RowScores, Stage, StageError};
use crate::lens::Lens;

pub fn mean(lens: &Lens, chunks: &[ChunkScores]) -> Result<RowScores, StageError> {
    if chunks.is_empty() {
        return Err(StageError::new(
            Stage::Aggregate,
            FailureKind::NoChunks,
            "no chunk of the row was rated",
        ));
    }
    let n = lens.score_labels.len();
    let mut sums = vec![0.0; n];
    for chunk in chunks {
        if chunk.scores.len() != n {
            return Err(StageError::new(
                Stage::Aggregate,
                FailureKind::BadOutput,
                format!(
                    "a chunk has {} scores but lens `{}` has {n} score labels",
                    chunk.scores.len(),
                    lens.name
                ),
            ));
        }
        for (sum, s) in sums.iter_mut().zip(&chunk.scores) {
            *sum += s;
        }
    }
    Ok(RowScores {
        scores: sums.into_iter().map(|s| s / chunks.len() as f64).collect(),
    })
}
