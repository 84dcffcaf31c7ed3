//! The units of work a dataset is cut into, and which shard does which. A unit is one file, or a
//! range of row groups of a Parquet file bigger than the unit size, so one huge file still spreads
//! over many shards. Units are listed in dataset, file-name and row order, and each shard takes one
//! contiguous run of them, balanced by bytes: the same on every machine, and the shards' outputs,
//! taken in shard order, are in input order. A unit's file may be local or on the Hub (`--stream`):
//! planning reads a remote Parquet file's footer by range, and a shard reads only its units.

use crate::data::Source;
use crate::data::batches::{self, FileInfo};
use crate::error::Error;
use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One unit of work.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Position of its dataset in the run's dataset list.
    pub dataset: usize,
    /// The file, as messages name it: a local path, or `hf://datasets/owner/name@sha/path` for a
    /// file streamed from the Hub.
    pub path: PathBuf,
    /// Where the file's bytes come from: a local file, or a Hub file read by range requests.
    pub source: Source,
    /// Parquet only: the row groups of this unit (the whole file otherwise).
    pub groups: Option<Range<usize>>,
    /// Index of the unit's first row in its dataset (row numbers continue across files).
    pub first_row: u64,
    pub rows: u64,
    /// Bytes on disk: the file, or the compressed row groups.
    pub bytes: u64,
    /// JSON Lines and CSV: the schema found when planning, so reading does not look for it again.
    schema: Option<SchemaRef>,
}

impl Unit {
    /// This unit's record batches: the one place a unit is opened, whatever holds its file (a
    /// remote Parquet unit fetches only its own row groups).
    pub fn read(&self) -> Result<batches::Batches, crate::data::DataError> {
        batches::read(&self.source, self.groups.clone(), self.schema.clone())
    }
}

/// What a file looked like when planned: a different size, time or content hash later means the
/// dataset changed between shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// A local path, or `hf://datasets/owner/name@sha/path` for a Hub file (streamed or cached:
    /// the same on every machine, wherever its Hub cache is).
    pub path: String,
    pub bytes: u64,
    /// Local files: modification time, nanoseconds since the epoch (0 where the file system
    /// keeps none, and for Hub files, whose download time says nothing about their content).
    #[serde(default)]
    pub modified_ns: u128,
    /// Hub files listed online: the content hash the Hub lists (the object id of its tree). Only
    /// compared when both stamps have one: an offline shard lists files from the cache, which
    /// names none, and the commit in `path` pins the content anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl FileStamp {
    /// A local file's stamp: its size and modification time.
    pub fn of(path: &Path) -> Result<FileStamp, Error> {
        let meta = std::fs::metadata(path).map_err(|e| crate::data::DataError::Io {
            path: path.to_path_buf(),
            error: e,
        })?;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Ok(FileStamp {
            path: path.display().to_string(),
            bytes: meta.len(),
            modified_ns,
            etag: None,
        })
    }

    /// How `later` differs from this stamp, in words (`None` when it does not).
    pub fn difference(&self, later: &FileStamp) -> Option<String> {
        if self.path != later.path {
            return Some(format!("{} where it read {}", later.path, self.path));
        }
        if self.bytes != later.bytes {
            return Some(format!(
                "{} was {} bytes and then {} bytes",
                self.path, self.bytes, later.bytes
            ));
        }
        if let (Some(before), Some(after)) = (&self.etag, &later.etag)
            && before != after
        {
            return Some(format!(
                "{} had content hash {before} and then {after}",
                self.path
            ));
        }
        if self.modified_ns != later.modified_ns {
            return Some(format!("{} was modified in between", self.path));
        }
        None
    }
}

/// One data file to plan: where its bytes are, and how it is stamped.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub source: Source,
    pub stamp: FileStamp,
}

impl InputFile {
    /// A local file, stamped by its size and modification time.
    pub fn local(path: PathBuf) -> Result<InputFile, Error> {
        Ok(InputFile {
            stamp: FileStamp::of(&path)?,
            source: Source::Local(path),
        })
    }
}

/// The data files of one dataset argument: the file itself, or a folder's readable files by name.
pub fn files_of(arg: &Path) -> Result<Vec<PathBuf>, Error> {
    let meta = std::fs::metadata(arg).map_err(|e| crate::data::DataError::Io {
        path: arg.to_path_buf(),
        error: e,
    })?;
    if !meta.is_dir() {
        return Ok(vec![arg.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(arg)
        .map_err(|e| crate::data::DataError::Io {
            path: arg.to_path_buf(),
            error: e,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && batches::is_batch_file(p))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "{} holds no Parquet, Arrow, JSON Lines or CSV files to filter; point at a file or a folder of them",
            arg.display()
        )));
    }
    Ok(files)
}

/// Every unit of every dataset, in order, and the stamps of the files they come from; each
/// dataset's files already listed (a folder's files, or a Hub split's, local
/// or streamed: a remote Parquet file's footer is read by range, nothing more).
pub fn plan_files(
    datasets: &[Vec<InputFile>],
    columns: &[String],
    unit_bytes: u64,
) -> Result<(Vec<Unit>, Vec<FileStamp>), Error> {
    let mut units = Vec::new();
    let mut stamps = Vec::new();
    for (dataset, files) in datasets.iter().enumerate() {
        let mut first_row = 0;
        for file in files {
            stamps.push(file.stamp.clone());
            let info = batches::inspect(&file.source, columns)?;
            units.extend(file_units(dataset, &info, first_row, unit_bytes));
            first_row += info.rows;
        }
    }
    Ok((units, stamps))
}

/// A file's units: whole, unless it is a Parquet file bigger than `unit_bytes`, which is cut into
/// runs of row groups of about that size.
fn file_units(dataset: usize, info: &FileInfo, first_row: u64, unit_bytes: u64) -> Vec<Unit> {
    if info.row_groups.len() < 2 || info.bytes <= unit_bytes {
        return vec![Unit {
            dataset,
            path: info.source.path().to_path_buf(),
            source: info.source.clone(),
            groups: None,
            first_row,
            rows: info.rows,
            bytes: info.bytes,
            schema: info.schema.clone(),
        }];
    }
    let mut units = Vec::new();
    let (mut start, mut rows, mut bytes, mut row) = (0, 0, 0, first_row);
    for (g, &(group_rows, group_bytes)) in info.row_groups.iter().enumerate() {
        rows += group_rows;
        bytes += group_bytes;
        if bytes >= unit_bytes || g + 1 == info.row_groups.len() {
            units.push(Unit {
                dataset,
                path: info.source.path().to_path_buf(),
                source: info.source.clone(),
                groups: Some(start..g + 1),
                first_row: row,
                rows,
                bytes,
                schema: None,
            });
            row += rows;
            (start, rows, bytes) = (g + 1, 0, 0);
        }
    }
    units
}

/// The units shard `index` of `count` does: a contiguous run, balanced by bytes (a unit goes to
/// the shard its middle byte falls in).
pub fn deal(units: &[Unit], index: usize, count: usize) -> Range<usize> {
    let total: u128 = units.iter().map(|u| u.bytes.max(1) as u128).sum();
    let mut before = 0u128;
    // Each unit's shard; they never decrease along the list, so each shard's units are a run.
    let shards: Vec<usize> = units
        .iter()
        .map(|unit| {
            let weight = unit.bytes.max(1) as u128;
            let middle = before * 2 + weight;
            before += weight;
            (middle * count as u128 / (total * 2)) as usize
        })
        .collect();
    let start = shards.iter().filter(|&&s| s < index).count();
    let end = shards.iter().filter(|&&s| s <= index).count();
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(bytes: u64) -> Unit {
        Unit {
            dataset: 0,
            path: "x".into(),
            source: Source::Local("x".into()),
            groups: None,
            first_row: 0,
            rows: 1,
            bytes,
            schema: None,
        }
    }

    #[test]
    fn shards_take_contiguous_runs_that_cover_every_unit_once() {
        let units: Vec<Unit> = [5, 1, 1, 1, 9, 2, 2, 3, 1, 7].map(unit).to_vec();
        for count in 1..=12 {
            let mut next = 0;
            for index in 0..count {
                let range = deal(&units, index, count);
                assert_eq!(range.start, next, "{count} shards, shard {index}");
                next = range.end;
            }
            assert_eq!(next, units.len());
        }
        // Four equal files over four shards: one each.
        let four: Vec<Unit> = [10, 10, 10, 10].map(unit).to_vec();
        assert_eq!(
            (0..4).map(|k| deal(&four, k, 4)).collect::<Vec<_>>(),
            [0..1, 1..2, 2..3, 3..4]
        );
    }

    #[test]
    fn a_big_parquet_file_is_cut_into_row_group_runs() {
        let info = FileInfo {
            source: Source::Local("big.parquet".into()),
            rows: 40,
            bytes: 4000,
            row_groups: vec![(10, 1000); 4],
            schema: None,
        };
        let units = file_units(1, &info, 100, 1500);
        let got: Vec<_> = units
            .iter()
            .map(|u| (u.groups.clone().unwrap(), u.first_row, u.rows))
            .collect();
        assert_eq!(got, [(0..2, 100, 20), (2..4, 120, 20)]);
        assert_eq!(file_units(1, &info, 0, 10_000).len(), 1);
    }
}
