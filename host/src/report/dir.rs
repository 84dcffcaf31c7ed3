//! Reading a DATA_DIR back: every per-row Parquet in it (several parts of one dataset × lens, as
//! merged shards leave them, are added up), `run.json`, and the texts of the rows the example
//! browser shows. Nothing else: no cache, no model.

use super::lens_data::LensData;
use super::read::{file_meta, read_rows};
use super::run_info::RunInfo;
use super::texts::{ChunkText, read_texts};
use crate::error::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a DATA_DIR holds, ready for the report.
pub struct Loaded {
    pub run: Option<RunInfo>,
    pub lenses: Vec<LensData>,
    /// Per dataset × lens (by position in `lenses`): the example rows' chunk texts.
    pub texts: Vec<BTreeMap<u64, Vec<ChunkText>>>,
}

/// The per-row Parquets of `dir`, by name.
fn parquets(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::Usage(format!(
            "cannot read the output folder {}: {e}; pass the DATA_DIR a `classified summary` wrote",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Read `dir`: every per-row Parquet in it, or only those in `only`.
pub fn load(dir: &Path, only: Option<&[PathBuf]>) -> Result<Loaded, Error> {
    let mut lenses: Vec<LensData> = Vec::new();
    let files = match only {
        Some(files) => files.to_vec(),
        None => parquets(dir)?,
    };
    for path in files {
        // A Parquet without our footer is not ours (a dataset kept beside the outputs, say).
        let Ok(meta) = file_meta(&path) else {
            continue;
        };
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut part = LensData::new(meta);
        read_rows(&path, |row| part.add(row))?;
        part.stems.push(stem);
        match lenses
            .iter_mut()
            .find(|l| l.meta.dataset == part.meta.dataset && l.meta.lens == part.meta.lens)
        {
            Some(existing) => existing.merge(part),
            None => lenses.push(part),
        }
    }
    let mut texts = Vec::new();
    for lens in &lenses {
        let wanted: BTreeSet<u64> = lens.example_rows().into_iter().collect();
        let mut found = BTreeMap::new();
        for stem in &lens.stems {
            found.extend(read_texts(&dir.join(format!("{stem}.jsonl")), &wanted)?);
        }
        texts.push(found);
    }
    Ok(Loaded {
        run: RunInfo::read(dir)?,
        lenses,
        texts,
    })
}
