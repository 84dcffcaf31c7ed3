//! Between the WIT types (JSON text, generated bindings) and the SDK's types, for [`crate::export_lens!`].

use crate::__private::bindings::exports::classified::lens::stages as wit;
use crate::stages::call;
use crate::{Error, Fields, Lens, Prepared, Scored, Stage};

pub fn describe<L: Lens>(lens: &L) -> wit::Info {
    let stages = L::STAGES
        .iter()
        .map(|stage| match stage {
            Stage::Preprocess => wit::Stage::Preprocess,
            Stage::Postprocess => wit::Stage::Postprocess,
            Stage::Bucket => wit::Stage::Bucket,
            Stage::Score => wit::Stage::Score,
        })
        .collect();
    wit::Info {
        stages,
        bucket_names: lens.bucket_names(),
    }
}

pub fn preprocess<L: Lens>(
    lens: &L,
    row: u64,
    fields: String,
) -> Result<wit::Prepared, wit::Error> {
    let fields = parse_fields(&fields)?;
    let prepared =
        call::<L, _>(Stage::Preprocess, row, || lens.preprocess(fields)).map_err(error)?;
    Ok(match prepared {
        Prepared::Inputs(inputs) => wit::Prepared::Inputs(
            inputs
                .iter()
                .map(|i| serde_json::to_string(i).expect("a string map serializes"))
                .collect(),
        ),
        Prepared::Skip(reason) => wit::Prepared::Skip(reason),
    })
}

pub fn postprocess<L: Lens>(
    lens: &L,
    row: u64,
    arguments: String,
) -> Result<wit::Scored, wit::Error> {
    call::<L, _>(Stage::Postprocess, row, || lens.postprocess(&arguments))
        .map(scored)
        .map_err(error)
}

pub fn bucket<L: Lens>(
    lens: &L,
    row: u64,
    scores: Vec<(String, f64)>,
) -> Result<String, wit::Error> {
    call::<L, _>(Stage::Bucket, row, || lens.bucket(&scores)).map_err(error)
}

pub fn score<L: Lens>(lens: &L, row: u64, fields: String) -> Result<wit::Scored, wit::Error> {
    let fields = parse_fields(&fields)?;
    call::<L, _>(Stage::Score, row, || lens.score(fields))
        .map(scored)
        .map_err(error)
}

/// The host sends fields as a JSON object; values that are not strings arrive as their JSON text.
fn parse_fields(json: &str) -> Result<Fields, wit::Error> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| wit::Error::Failed(format!("the host sent fields that are not JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(wit::Error::Failed(
            "the host sent fields that are not a JSON object".into(),
        ));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

fn scored(s: Scored) -> wit::Scored {
    wit::Scored {
        scores: s.scores,
        rationales: s.rationales,
    }
}

fn error(e: Error) -> wit::Error {
    match e {
        Error::Unsupported => wit::Error::Unsupported,
        Error::Failed(message) => wit::Error::Failed(message),
    }
}
