//! Read rows from local datasets: JSONL, JSON arrays, CSV, Parquet, Arrow IPC (file and stream) and `datasets.save_to_disk` folders.
//!
//! [`open`] picks the format from the file extension (or treats a directory as a
//! `datasets.save_to_disk` folder) and returns a [`Dataset`] whose `rows` iterator streams
//! [`Row`]s with bounded memory. Only the requested columns are returned, and every value must
//! be text (or null).
//!
//! Sampling ([`Sample::Random`]) picks row indices with [`sample_indices`], which depends only on
//! the seed, the number of rows and `n`, so the same dataset stored in different formats yields
//! the same rows. Sampled rows come out in ascending index order.
//!
//! Row-level problems (a malformed JSON line, a non-text value) are yielded as `Err` items and
//! iteration continues with the next row; problems that make the rest of the file unreadable
//! (I/O errors, corrupt Parquet/Arrow data) are yielded once and end the iterator.

use std::fmt;
use std::path::{Path, PathBuf};

mod arrow;
pub(crate) mod batch_rows;
pub mod batches;
mod csv;
mod disk;
mod json;
mod json_object;
mod jsonl;
mod parquet;
mod row_loop;
mod sample;
mod source;

pub use sample::sample_indices;
pub use source::{Compression, RemoteFile, Source};

/// One row of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 0-based row number in the dataset (or split), counting every row of the file(s).
    pub index: u64,
    /// Values aligned with the requested columns; `None` is a null or missing value.
    pub values: Vec<Option<String>>,
}

/// Which rows to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sample {
    /// Every row, in order.
    All,
    /// Every row, in order, without counting the rows first: for callers that already know the
    /// count (or do not need it), so a text file is not read one extra time.
    AllUncounted,
    /// `n` rows picked at random (all rows if the dataset has fewer), in ascending index order.
    Random { n: usize, seed: u64 },
    /// Exactly these rows (sorted, ascending, without duplicates), e.g. one file's share of a
    /// sample drawn over a dataset of several files.
    Indices(std::sync::Arc<[u64]>),
}

/// What to read from a dataset.
#[derive(Debug, Clone)]
pub struct OpenOptions<'a> {
    /// Columns to return, in this order.
    pub columns: &'a [String],
    /// Split of a `datasets.save_to_disk` DatasetDict folder (default `train`, or the only
    /// split); ignored for plain files.
    pub split: Option<&'a str>,
    pub sample: Sample,
}

/// The rows of a dataset as they are read, each a row or the error that ends the reading.
pub type Rows = Box<dyn Iterator<Item = Result<Row, DataError>> + Send>;

/// An opened dataset.
pub struct Dataset {
    /// Display name: the file or folder name.
    pub name: String,
    /// Number of rows `rows` will yield, when known cheaply (for a progress bar).
    pub total_rows: Option<u64>,
    pub rows: Rows,
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("name", &self.name)
            .field("total_rows", &self.total_rows)
            .finish_non_exhaustive()
    }
}

/// Why a dataset or one of its rows could not be read. Each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file or folder could not be opened or read.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    /// The file extension is not one of the supported formats.
    #[error(
        "cannot read {}: unsupported format; supported formats are JSON Lines (.jsonl, .ndjson), JSON (.json), CSV (.csv, .tsv), text (.txt, one row per line), each optionally .gz or .zst compressed, Parquet (.parquet), Arrow IPC (.arrow, .feather, .ipc) and datasets.save_to_disk folders",
        path.display()
    )]
    UnsupportedFormat { path: PathBuf },

    /// A requested column does not exist.
    #[error("column \"{column}\" does not exist in {}; {}", path.display(), ListColumns(available))]
    MissingColumn {
        column: String,
        path: PathBuf,
        available: Vec<String>,
    },

    /// A requested Arrow/Parquet column does not hold text.
    #[error("column \"{column}\" in {} has type {found}, not text; choose a text column", path.display())]
    ColumnType {
        column: String,
        path: PathBuf,
        found: String,
    },

    /// A JSON value is not a string or null (`row` is the 0-based row index).
    #[error("row {row}, column \"{column}\" holds {found}, not text; choose a text column")]
    ValueType {
        row: u64,
        column: String,
        found: &'static str,
    },

    /// A line (1-based) of a text file could not be parsed.
    #[error("line {line} of {} is not valid {format}: {reason}", path.display())]
    InvalidLine {
        path: PathBuf,
        line: u64,
        format: &'static str,
        reason: String,
    },

    /// A file (or folder) is corrupt or not in the expected format.
    #[error("{} is not a valid {format}: {reason}", path.display())]
    InvalidFile {
        path: PathBuf,
        format: &'static str,
        reason: String,
    },

    /// The requested split does not exist in a `datasets.save_to_disk` folder.
    #[error("split \"{split}\" does not exist in {}; the available splits are {}", path.display(), Quoted(available))]
    UnknownSplit {
        split: String,
        path: PathBuf,
        available: Vec<String>,
    },

    /// No split was requested and a DatasetDict folder has several splits but none named `train`.
    #[error(
        "{} holds the splits {} and none is named \"train\"; choose one of them",
        path.display(),
        Quoted(available)
    )]
    NoDefaultSplit {
        path: PathBuf,
        available: Vec<String>,
    },
}

impl DataError {
    pub(crate) fn io(path: &Path, error: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    pub(crate) fn invalid_file(
        path: &Path,
        format: &'static str,
        reason: impl fmt::Display,
    ) -> Self {
        DataError::InvalidFile {
            path: path.to_path_buf(),
            format,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn invalid_line(
        path: &Path,
        line: u64,
        format: &'static str,
        reason: impl fmt::Display,
    ) -> Self {
        DataError::InvalidLine {
            path: path.to_path_buf(),
            line,
            format,
            reason: reason.to_string(),
        }
    }
}

/// `"a", "b", "c"` (or `none`).
struct Quoted<'a>(&'a [String]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "\"{name}\"")?;
        }
        Ok(())
    }
}

struct ListColumns<'a>(&'a [String]);

impl fmt::Display for ListColumns<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("it has no columns (no rows to read them from)")
        } else {
            write!(f, "the available columns are {}", Quoted(self.0))
        }
    }
}

/// Returns the first requested column that is not in `available`, as an error.
pub(crate) fn check_columns(
    path: &Path,
    columns: &[String],
    available: &[String],
) -> Result<(), DataError> {
    match columns.iter().find(|c| !available.contains(c)) {
        Some(column) => Err(DataError::MissingColumn {
            column: column.clone(),
            path: path.to_path_buf(),
            available: available.to_vec(),
        }),
        None => Ok(()),
    }
}

/// Display name of a path: its last component.
pub(crate) fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Plain text files up to this size are counted before reading everything, so that
/// `total_rows` is known for the progress bar; bigger ones start streaming right away.
pub(crate) const COUNT_ALL_LIMIT_BYTES: u64 = 512 << 20;

/// Whether a file is counted before reading it (so the progress bar knows the total): with
/// [`Sample::All`], local files up to [`COUNT_ALL_LIMIT_BYTES`]; never remote ones, which would
/// be downloaded twice.
pub(crate) fn counts_up_front(source: &Source, sample: &Sample) -> bool {
    *sample == Sample::All
        && source.cheap_to_reread()
        && source.size().is_some_and(|s| s <= COUNT_ALL_LIMIT_BYTES)
}

/// Opens a dataset for reading. The format comes from the extension: `.jsonl`/`.ndjson`,
/// `.json` (an array of objects, or JSON Lines), `.csv`/`.tsv`, `.parquet`,
/// `.arrow`/`.feather`/`.ipc` (Arrow IPC file or stream), or a directory written by
/// `datasets.save_to_disk` (a Dataset or a DatasetDict). Text formats may be gzip- or
/// zstd-compressed (`.jsonl.gz`, `.csv.zst`).
pub fn open(path: &Path, opts: &OpenOptions) -> Result<Dataset, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if meta.is_dir() {
        return disk::open(path, opts);
    }
    open_source(&Source::Local(path.to_path_buf()), opts)
}

/// Opens one data file, local or remote; see [`open`]. Arrow IPC files must be local.
pub fn open_source(source: &Source, opts: &OpenOptions) -> Result<Dataset, DataError> {
    let path = source.path();
    match (format_of(source.path())?, source) {
        (Format::JsonLines, _) => jsonl::open(source, opts),
        (Format::Text, _) => jsonl::open_text(source, opts),
        (Format::Json, _) => json::open(source, opts),
        (Format::Csv, _) => csv::open(source, opts),
        (Format::Parquet, _) => parquet::open(source, opts),
        (Format::Arrow, Source::Local(path)) => arrow::open(path, opts),
        (Format::Arrow, Source::Remote(_)) => Err(DataError::UnsupportedFormat {
            path: path.to_path_buf(),
        }),
    }
}

/// The number of rows of one data file: from the footer of a Parquet file, by reading any other.
pub fn count_rows(source: &Source) -> Result<u64, DataError> {
    match (format_of(source.path())?, source) {
        (Format::JsonLines, _) | (Format::Text, _) => jsonl::count(source),
        (Format::Json, _) => json::count(source),
        (Format::Csv, _) => csv::count(source),
        (Format::Parquet, _) => parquet::count(source),
        (Format::Arrow, Source::Local(path)) => Ok(arrow::inspect(path)?.rows()),
        (Format::Arrow, Source::Remote(r)) => Err(DataError::UnsupportedFormat {
            path: r.path().to_path_buf(),
        }),
    }
}

/// The file formats, as named by their extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    JsonLines,
    Text,
    Json,
    Csv,
    Parquet,
    Arrow,
}

/// Whether a file of this name can be read remotely by byte ranges: every format but Arrow IPC,
/// which is only read from a local file.
pub fn reads_by_range(path: &Path) -> bool {
    !matches!(format_of(path), Ok(Format::Arrow))
}

fn format_of(path: &Path) -> Result<Format, DataError> {
    let (ext, compression) = source::split_extension(path);
    let compressed = compression != Compression::None;
    Ok(match ext.as_str() {
        "jsonl" | "ndjson" => Format::JsonLines,
        "txt" => Format::Text,
        "json" => Format::Json,
        "csv" | "tsv" => Format::Csv,
        "parquet" if !compressed => Format::Parquet,
        "arrow" | "feather" | "ipc" if !compressed => Format::Arrow,
        _ => {
            return Err(DataError::UnsupportedFormat {
                path: path.to_path_buf(),
            });
        }
    })
}

#[cfg(test)]
mod tests;
