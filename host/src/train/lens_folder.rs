//! Write the model lens folder: `config.json` (`"type": "model"`), the source lens's
//! `function.json`, `model.bin`, `metrics.json`, `MODEL_CARD.md`, and the source lens's component
//! when it had a bucket stage (so the lens buckets rows as the source lens does). Each file
//! appears complete or not at all, config.json last: a folder cut short is not a lens.

use crate::error::Error;
use crate::lens::Lens;
use crate::report::AtomicFile;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The model file's name inside the folder.
pub const MODEL_FILE: &str = "model.bin";

/// What goes into the folder besides what the source lens gives.
pub struct Contents<'a> {
    pub model: &'a [u8],
    pub metrics: &'a Value,
    pub card: &'a str,
    /// Keep the source lens's component (it has a bucket stage).
    pub keep_component: bool,
    pub trained_from: Value,
}

/// May `folder` be written? It may not exist yet, be empty, or hold a model lens (retraining).
pub fn check_target(folder: &Path) -> Result<(), Error> {
    if !folder.exists() {
        return Ok(());
    }
    let refuse = |why: &str| {
        Err(Error::Usage(format!(
            "{} {why}; name a new folder with --out, or remove it",
            folder.display()
        )))
    };
    if !folder.is_dir() {
        return refuse("exists and is not a folder");
    }
    let empty = std::fs::read_dir(folder)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if empty {
        return Ok(());
    }
    let config: Option<Value> = std::fs::read_to_string(folder.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    match config
        .as_ref()
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
    {
        Some("model") => Ok(()),
        _ => refuse("exists and is not a model lens (it would be overwritten)"),
    }
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    text.push('\n');
    text.into_bytes()
}

/// Write the lens for `source` into `folder`; returns the files written.
pub fn write_lens(
    folder: &Path,
    source: &Lens,
    contents: &Contents,
) -> Result<Vec<PathBuf>, Error> {
    check_target(folder)?;
    std::fs::create_dir_all(folder).map_err(|e| Error::Output {
        path: folder.display().to_string(),
        source: e,
    })?;
    let mut written = vec![
        AtomicFile::write(&folder.join(MODEL_FILE), contents.model)?,
        AtomicFile::write(&folder.join("function.json"), &pretty(&source.function))?,
        AtomicFile::write(&folder.join("metrics.json"), &pretty(contents.metrics))?,
        AtomicFile::write(&folder.join("MODEL_CARD.md"), contents.card.as_bytes())?,
    ];
    // The source config's own keys (a component may read them, "limits" bounds it), then ours.
    let mut config = match &source.config {
        Value::Object(map) => map.clone(),
        _ => Default::default(),
    };
    config.remove("component");
    config.insert("type".into(), json!("model"));
    config.insert("input_fields".into(), json!(source.input_fields));
    config.insert("model".into(), json!(MODEL_FILE));
    config.insert(
        "description".into(),
        json!(format!(
            "A classifier trained by `classified train` on the ratings of the lens `{}`; see MODEL_CARD.md.",
            source.name
        )),
    );
    config.insert("trained_from".into(), contents.trained_from.clone());
    if contents.keep_component
        && let Some(component) = &source.component
    {
        let name = Path::new(&component.name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lens.wasm".into());
        written.push(AtomicFile::write(&folder.join(&name), &component.bytes)?);
        config.insert("component".into(), json!(name));
    }
    written.push(AtomicFile::write(
        &folder.join("config.json"),
        &pretty(&Value::Object(config)),
    )?);
    Ok(written)
}

/// What an imported fastText model's lens folder holds.
pub struct Imported<'a> {
    pub model: &'a [u8],
    pub card: &'a str,
    pub label: &'a str,
    pub input_field: &'a str,
    /// The lowest and highest score a label stands for: the score's range in function.json.
    pub minimum: f64,
    pub maximum: f64,
    /// The fastText file, and `--labels` as used, for config.json.
    pub source: &'a str,
    pub mapping: &'a str,
}

/// Write the lens of an imported fastText model into `folder`: a one-score function.json (a
/// "number" between the labels' lowest and highest scores: the expected score is continuous),
/// config.json, the model file and MODEL_CARD.md. The native bucket rule applies to the score.
pub fn write_imported(folder: &Path, imported: &Imported) -> Result<Vec<PathBuf>, Error> {
    check_target(folder)?;
    std::fs::create_dir_all(folder).map_err(|e| Error::Output {
        path: folder.display().to_string(),
        source: e,
    })?;
    let function = json!({
        "name": "rate",
        "description": "The expected score of an imported fastText classifier.",
        "parameters": {
            "type": "object",
            "properties": {
                imported.label: {
                    "type": "number",
                    "minimum": imported.minimum,
                    "maximum": imported.maximum,
                    "description": format!("Σ P(label) × score over the fastText labels ({})", imported.mapping),
                }
            },
            "required": [imported.label],
        }
    });
    let config = json!({
        "type": "model",
        "input_fields": [imported.input_field],
        "model": MODEL_FILE,
        "description": "A fastText classifier imported by `classified train --import-fasttext`; see MODEL_CARD.md.",
        "imported_from": { "fasttext": imported.source, "labels": imported.mapping },
    });
    let mut written = vec![
        AtomicFile::write(&folder.join(MODEL_FILE), imported.model)?,
        AtomicFile::write(&folder.join("function.json"), &pretty(&function))?,
        AtomicFile::write(&folder.join("MODEL_CARD.md"), imported.card.as_bytes())?,
    ];
    written.push(AtomicFile::write(
        &folder.join("config.json"),
        &pretty(&config),
    )?);
    Ok(written)
}
