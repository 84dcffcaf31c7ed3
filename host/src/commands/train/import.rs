//! `classified train --import-fasttext FILE --labels …`: turn a supervised fastText model into a
//! model lens that scores as `fasttext.predict` does, with each fastText label standing for the
//! score `--labels` gives it.

use crate::error::Error;
use crate::train::fasttext::FastText;
use crate::train::{Import, format, lens_folder};

/// The score label and input field of an imported lens.
pub const SCORE_LABEL: &str = "score";
pub const INPUT_FIELD: &str = "text";

pub fn run(import: Import) -> Result<(), Error> {
    lens_folder::check_target(&import.folder)?;
    let name = import.file.display().to_string();
    let size = std::fs::metadata(&import.file)
        .map_err(|e| Error::Usage(format!("cannot read the fastText model {name}: {e}")))?
        .len();
    if size > format::MAX_FILE_BYTES {
        return Err(Error::Usage(format!(
            "{name} is {size} bytes, more than the {} MB a model lens may hold; quantize it first (fastText's `quantize`, which writes a .ftz)",
            format::MAX_FILE_BYTES >> 20
        )));
    }
    let bytes = std::fs::read(&import.file)
        .map_err(|e| Error::Usage(format!("cannot read the fastText model {name}: {e}")))?;
    let ft = FastText::parse(&bytes).map_err(|e| Error::Usage(format!("{name} {e}")))?;
    let scored = order_labels(&ft.labels, &import.labels)
        .map_err(|e| Error::Usage(format!("--labels {e}")))?;
    let model_bytes = format::imported_bytes(1, SCORE_LABEL, &scored, &bytes);
    // What is written must load, or this is a bug worth hearing about now.
    format::from_bytes(&model_bytes)
        .map_err(|e| Error::Internal(format!("the imported model file {e}")))?;
    let values: Vec<f64> = scored.iter().map(|(_, v)| *v).collect();
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let mapping = scored
        .iter()
        .map(|(l, v)| format!("{l}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let card = format!(
        "# {lens}\n\nA model lens imported by `classified train --import-fasttext` from the fastText model `{name}` \
         ({size} bytes; {dim}-dimensional vectors, {desc}{quant}).\n\n\
         - Input field: `{INPUT_FIELD}` (several fields would be joined by spaces).\n\
         - Score `{SCORE_LABEL}` = Σ P(label) × score over fastText's labels, with `--labels {mapping}`: \
         the expected score under fastText's own `predict` probabilities, between {min} and {max}.\n\
         - Tokens are split on whitespace (line breaks included) and end with `</s>`, as fastText reads one line.\n",
        lens = import
            .folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        dim = ft.dim,
        desc = crate::train::fasttext::into_model(ft.clone(), 1, SCORE_LABEL, values.clone())
            .features
            .describe(),
        quant = if bytes.get(4..8) == Some(&12i32.to_le_bytes()[..]) && name.ends_with(".ftz") {
            ", quantized"
        } else {
            ""
        },
    );
    lens_folder::write_imported(
        &import.folder,
        &lens_folder::Imported {
            model: &model_bytes,
            card: &card,
            label: SCORE_LABEL,
            input_field: INPUT_FIELD,
            minimum: min,
            maximum: max,
            source: &name,
            mapping: &mapping,
        },
    )?;
    crate::lens::load_dir(&import.folder)
        .map_err(|e| Error::Internal(format!("the model lens just written does not load: {e}")))?;
    println!(
        "Wrote the model lens {} from {name}. Rate rows with it, with no API key: classified summary DATASETS COLUMN {}",
        import.folder.display(),
        import.folder.display()
    );
    Ok(())
}

/// The fastText model's labels, in its order, with their scores; or the end of a sentence naming
/// the labels missing from, or unknown to, `given`.
pub fn order_labels(
    model: &[String],
    given: &[(String, f64)],
) -> Result<Vec<(String, f64)>, String> {
    let unknown: Vec<&str> = given
        .iter()
        .map(|(l, _)| l.as_str())
        .filter(|l| !model.iter().any(|m| m == l))
        .collect();
    let missing: Vec<&str> = model
        .iter()
        .map(String::as_str)
        .filter(|m| !given.iter().any(|(l, _)| l == m))
        .collect();
    if !unknown.is_empty() || !missing.is_empty() {
        return Err(format!(
            "must give a score to each label of the model and only those: the model has {}{}{}",
            model.join(", "),
            if missing.is_empty() {
                String::new()
            } else {
                format!("; missing: {}", missing.join(", "))
            },
            if unknown.is_empty() {
                String::new()
            } else {
                format!("; not in the model: {}", unknown.join(", "))
            },
        ));
    }
    Ok(model
        .iter()
        .map(|m| {
            let v = given
                .iter()
                .find(|(l, _)| l == m)
                .map(|(_, v)| *v)
                .unwrap_or(0.0);
            (m.clone(), v)
        })
        .collect())
}

/// `__label__hq=1,__label__cc=0` → pairs; or the end of a sentence saying what is wrong.
pub fn parse_labels(text: &str) -> Result<Vec<(String, f64)>, String> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (label, value) = part
            .rsplit_once('=')
            .ok_or_else(|| format!("{part:?} is not LABEL=SCORE, e.g. __label__hq=1"))?;
        let value: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                format!("{part:?} has no finite number after `=`, e.g. __label__hq=1")
            })?;
        let label = label.trim().to_string();
        if out.iter().any(|(l, _)| *l == label) {
            return Err(format!("gives {label} twice"));
        }
        out.push((label, value));
    }
    if out.is_empty() {
        return Err(
            "is empty; give LABEL=SCORE pairs, e.g. --labels __label__hq=1,__label__cc=0".into(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_must_cover_the_model() {
        let given = parse_labels("__label__hq=1, __label__cc=0").unwrap();
        assert_eq!(
            given,
            [("__label__hq".into(), 1.0), ("__label__cc".into(), 0.0)]
        );
        assert!(
            parse_labels("__label__hq")
                .unwrap_err()
                .contains("LABEL=SCORE")
        );
        assert!(parse_labels("a=x").unwrap_err().contains("finite number"));
        assert!(parse_labels("a=1,a=2").unwrap_err().contains("twice"));
        assert!(parse_labels(" , ").unwrap_err().contains("empty"));
        let model = vec!["__label__cc".to_string(), "__label__hq".to_string()];
        assert_eq!(
            order_labels(&model, &given).unwrap(),
            [("__label__cc".into(), 0.0), ("__label__hq".into(), 1.0)]
        );
        let e = order_labels(&model, &given[..1]).unwrap_err();
        assert!(e.contains("missing: __label__cc"), "{e}");
        let e = order_labels(&model[..1], &given).unwrap_err();
        assert!(e.contains("not in the model: __label__hq"), "{e}");
    }
}
