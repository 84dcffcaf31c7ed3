//! Folders written by `datasets` `save_to_disk`.
//!
//! A Dataset folder holds `state.json` (`{"_data_files": [{"filename": "data-00000-of-00001.arrow"}, ...], "_split": ...}`),
//! `dataset_info.json` and the listed `.arrow` files (Arrow IPC streams), whose rows are read
//! one after the other. A DatasetDict folder holds `dataset_dict.json` (`{"splits": ["train", "test"]}`)
//! and one Dataset folder per split.

use std::path::{Component, Path};

use serde::Deserialize;

use super::arrow::{IpcPart, inspect, open_parts};
use super::{DataError, Dataset, OpenOptions, display_name};

const FORMAT: &str = "datasets.save_to_disk folder";
const META_FORMAT: &str = "datasets.save_to_disk metadata file";

#[derive(Deserialize)]
struct DatasetDictJson {
    splits: Vec<String>,
}

#[derive(Deserialize)]
struct StateJson {
    #[serde(rename = "_data_files")]
    data_files: Vec<DataFile>,
    #[serde(rename = "_split", default)]
    split: Option<String>,
    #[serde(rename = "_indices_data_files", default)]
    indices_data_files: Option<Vec<DataFile>>,
}

#[derive(Deserialize)]
struct DataFile {
    filename: String,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, DataError> {
    let text = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    serde_json::from_slice(&text).map_err(|e| DataError::invalid_file(path, META_FORMAT, e))
}

/// A plain file or folder name (no separators, no `..`), as `save_to_disk` writes them.
fn is_plain_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(Component::Normal(_)))
        && components.next().is_none()
        && !name.contains(['/', '\\'])
}

pub(crate) fn open(dir: &Path, opts: &OpenOptions) -> Result<Dataset, DataError> {
    let dict_path = dir.join("dataset_dict.json");
    if dict_path.is_file() {
        let dict: DatasetDictJson = read_json(&dict_path)?;
        let split = match opts.split {
            Some(split) if dict.splits.iter().any(|s| s == split) => split.to_string(),
            Some(split) => {
                return Err(DataError::UnknownSplit {
                    split: split.to_string(),
                    path: dir.to_path_buf(),
                    available: dict.splits,
                });
            }
            None if dict.splits.iter().any(|s| s == "train") => "train".to_string(),
            None if dict.splits.len() == 1 => dict.splits[0].clone(),
            None => {
                return Err(DataError::NoDefaultSplit {
                    path: dir.to_path_buf(),
                    available: dict.splits,
                });
            }
        };
        if !is_plain_name(&split) {
            return Err(DataError::invalid_file(
                &dict_path,
                META_FORMAT,
                format!("split name \"{split}\" is not a folder name"),
            ));
        }
        let parts = dataset_parts(&dir.join(&split), None)?;
        return open_parts(display_name(dir), parts, opts);
    }
    if dir.join("state.json").is_file() {
        let parts = dataset_parts(dir, opts.split)?;
        return open_parts(display_name(dir), parts, opts);
    }
    Err(DataError::invalid_file(
        dir,
        FORMAT,
        "it holds neither dataset_dict.json nor state.json",
    ))
}

/// The Arrow files of one Dataset folder, inspected. `split`, if given, must match the split
/// recorded in `state.json` (when there is one).
fn dataset_parts(dir: &Path, split: Option<&str>) -> Result<Vec<IpcPart>, DataError> {
    let state_path = dir.join("state.json");
    let state: StateJson = read_json(&state_path)?;
    if let (Some(wanted), Some(saved)) = (split, &state.split) {
        // `_split` may carry a slice, as in "train[:10%]".
        let base = saved.split('[').next().unwrap_or(saved);
        if wanted != saved && wanted != base {
            return Err(DataError::UnknownSplit {
                split: wanted.to_string(),
                path: dir.to_path_buf(),
                available: vec![saved.clone()],
            });
        }
    }
    if state
        .indices_data_files
        .as_ref()
        .is_some_and(|f| !f.is_empty())
    {
        return Err(DataError::invalid_file(
            dir,
            FORMAT,
            "it stores an indices mapping (written by an old version of datasets); save it again with a recent version",
        ));
    }
    let mut parts = Vec::with_capacity(state.data_files.len());
    for data_file in &state.data_files {
        if !is_plain_name(&data_file.filename) {
            return Err(DataError::invalid_file(
                &state_path,
                META_FORMAT,
                format!(
                    "data file \"{}\" is not a plain file name",
                    data_file.filename
                ),
            ));
        }
        parts.push(inspect(&dir.join(&data_file.filename))?);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names() {
        assert!(is_plain_name("data-00000-of-00001.arrow"));
        assert!(is_plain_name("train"));
        for bad in ["", ".", "..", "../x.arrow", "a/b", "/abs", "a\\b"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
