//! `classified lenses call PATH --stage STAGE --input JSON`: run one stage of a lens on one input and
//! print the result as JSON. Row fields are read as `summary` reads them (`fields.rs`).

use super::fields::{self, RowFields};
use super::{context, scores_json};
use crate::cli::lenses::CallStage;
use crate::component;
use crate::error::Error;
use crate::lens::Lens;
use crate::pipeline::{Inputs, Prepared, RowScores, StageError};
use serde_json::{Value, json};

pub fn run(lens: Lens, stage: CallStage, input: &str) -> Result<(), Error> {
    let output = output(lens, stage, input)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&output).unwrap_or_default()
    );
    Ok(())
}

/// What `run` prints: the stage's result, or `{"skip": reason}` for a row `summary` would skip.
pub fn output(lens: Lens, stage: CallStage, input: &str) -> Result<Value, Error> {
    let stages = component::stages_for(context(lens))?;
    let lens = stages.context().lens.clone();
    let parse = || -> Result<Value, Error> {
        serde_json::from_str(input)
            .map_err(|e| Error::Usage(format!("--input is not valid JSON: {e}")))
    };
    let row_fields = || -> Result<Result<Inputs, Value>, Error> {
        match fields::read(&parse()?, &lens.input_fields) {
            Ok(RowFields::Text(fields)) => Ok(Ok(fields)),
            Ok(RowFields::Skip(reason)) => Ok(Err(json!({"skip": reason}))),
            Err(e) => Err(Error::Usage(format!("--input {e}"))),
        }
    };
    let failed = |e: StageError| {
        let log = if e.log.is_empty() {
            String::new()
        } else {
            format!("\nplugin log:\n{}", e.log.trim_end())
        };
        Error::Component(format!("{e}{log}"))
    };
    Ok(match stage {
        CallStage::Preprocess => match row_fields()? {
            Err(skip) => skip,
            Ok(fields) => match stages.preprocess(0, &fields).map_err(failed)? {
                Prepared::Inputs(inputs) => json!({"inputs": inputs}),
                Prepared::Skip(reason) => json!({"skip": reason}),
            },
        },
        CallStage::Postprocess => {
            scores_json(&lens, &stages.postprocess(0, input).map_err(failed)?)
        }
        CallStage::Score => match row_fields()? {
            Err(skip) => skip,
            Ok(fields) => scores_json(&lens, &stages.score(0, &fields).map_err(failed)?),
        },
        CallStage::Bucket => {
            let given = parse()?;
            let scores = lens
                .score_labels
                .iter()
                .map(|l| {
                    given
                        .get(l)
                        .and_then(Value::as_f64)
                        .ok_or_else(|| Error::Usage(format!("--input has no number `{l}`")))
                })
                .collect::<Result<Vec<f64>, Error>>()?;
            json!({"bucket": stages.bucket(0, &RowScores { scores }).map_err(failed)?})
        }
    })
}
