//! Postprocess stage (native default): the function call's JSON arguments → scores and rationales.
//!
//! Anything that is not a JSON object with a finite number for every score label is a bad answer:
//! the caller retries it and never caches it.

use super::{ChunkScores, FailureKind, Stage, StageError};
use crate::lens::Lens;
use serde_json::Value;

pub fn native(lens: &Lens, arguments: &str) -> Result<ChunkScores, StageError> {
    let bad = |msg: String| StageError::new(Stage::Postprocess, FailureKind::BadAnswer, msg);
    let value: Value = serde_json::from_str(arguments).map_err(|e| {
        bad(format!(
            "the model's function arguments are not valid JSON ({e})"
        ))
    })?;
    let Value::Object(map) = value else {
        return Err(bad(
            "the model's function arguments are not a JSON object".into()
        ));
    };
    let scores = lens
        .score_labels
        .iter()
        .map(|label| match map.get(label) {
            None => Err(bad(format!("the model's answer has no score `{label}`"))),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| bad(format!("score `{label}` is not a finite number"))),
            Some(other) => Err(bad(format!("score `{label}` is {other}, not a number"))),
        })
        .collect::<Result<Vec<f64>, _>>()?;
    // A missing rationale costs nothing to tolerate; the scores are what the run is for.
    let rationales = lens
        .rationale_labels
        .iter()
        .map(|label| match map.get(label) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        })
        .collect();
    Ok(ChunkScores { scores, rationales })
}
