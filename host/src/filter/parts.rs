//! zstd Parquet part files of bounded size, one series per unit of work
//! (`part-UUUUU-NNNN.parquet`), each written under a temporary name and renamed when complete.
//! Naming parts by unit makes a sharded run write exactly the files one process writes.

use crate::error::Error;
use crate::report::AtomicFile;
use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::path::{Path, PathBuf};

/// Rows per Parquet row group at most; a row group also ends when it holds this many bytes.
const GROUP_ROWS: usize = 16 * 1024;
const GROUP_BYTES: usize = 64 << 20;

/// The name of a unit's `n`th part.
pub fn part_name(prefix: &str, unit: usize, n: usize) -> String {
    format!("{prefix}-{unit:05}-{n:04}.parquet")
}

fn write_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// A text column whose values average more than this many bytes holds documents.
const DOCUMENT_BYTES: usize = 64;

/// Writer properties of a part whose first batch is `batch`: zstd, bounded row groups. Level 1:
/// compressing the kept rows at level 3 took a fifth of a model-lens filter's CPU time (README
/// "Filter a whole dataset"). Columns of documents (text averaging over [`DOCUMENT_BYTES`]) get
/// no dictionary and no min/max statistics: a dictionary of documents is given up after its first
/// megabyte and the min and max of documents prune nothing, yet both hash or compare every value.
pub fn properties(batch: &RecordBatch) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("1 is a zstd level"),
        ))
        .set_max_row_group_row_count(Some(GROUP_ROWS));
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if mean_text_bytes(column).is_some_and(|mean| mean > DOCUMENT_BYTES) {
            let path = ColumnPath::from(field.name().as_str());
            builder = builder
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_statistics_enabled(path, EnabledStatistics::None);
        }
    }
    builder.build()
}

/// The mean length in bytes of a string or binary column's values, `None` for other types.
fn mean_text_bytes(column: &ArrayRef) -> Option<usize> {
    let bytes = match column.data_type() {
        DataType::Utf8 => column.as_string::<i32>().value_data().len(),
        DataType::LargeUtf8 => column.as_string::<i64>().value_data().len(),
        DataType::Binary => column.as_binary::<i32>().value_data().len(),
        DataType::LargeBinary => column.as_binary::<i64>().value_data().len(),
        _ => return None,
    };
    Some(bytes / column.len().max(1))
}

struct Open {
    writer: ArrowWriter<std::fs::File>,
    file: AtomicFile,
    path: PathBuf,
}

/// One unit's parts.
pub struct Parts {
    dir: PathBuf,
    prefix: &'static str,
    unit: usize,
    next: usize,
    target_bytes: u64,
    open: Option<Open>,
    /// Finished parts and their sizes.
    pub written: Vec<(PathBuf, u64)>,
}

impl Parts {
    pub fn new(dir: &Path, prefix: &'static str, unit: usize, target_bytes: u64) -> Parts {
        Parts {
            dir: dir.to_path_buf(),
            prefix,
            unit,
            next: 0,
            target_bytes,
            open: None,
            written: Vec::new(),
        }
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.open.is_none() {
            let path = self.dir.join(part_name(self.prefix, self.unit, self.next));
            self.next += 1;
            let file = AtomicFile::create(&path)?;
            let writer =
                ArrowWriter::try_new(file.try_clone()?, batch.schema(), Some(properties(batch)))
                    .map_err(|e| write_error(&path, e))?;
            self.open = Some(Open { writer, file, path });
        }
        let open = self.open.as_mut().expect("opened above");
        open.writer
            .write(batch)
            .map_err(|e| write_error(&open.path, e))?;
        if open.writer.in_progress_size() >= GROUP_BYTES {
            open.writer
                .flush()
                .map_err(|e| write_error(&open.path, e))?;
        }
        let size = open.writer.bytes_written() + open.writer.in_progress_size();
        if size as u64 >= self.target_bytes {
            self.close()?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        if let Some(open) = self.open.take() {
            open.writer
                .close()
                .map_err(|e| write_error(&open.path, e))?;
            let path = open.file.commit()?;
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            self.written.push((path, bytes));
        }
        Ok(())
    }

    /// Close the last part; the parts written, with their sizes.
    pub fn finish(mut self) -> Result<Vec<(PathBuf, u64)>, Error> {
        self.close()?;
        Ok(self.written)
    }
}

/// Remove every part in `dir` (per unit or compacted, and writers' temporaries): an unsharded run
/// rewrites them all, and a part of an earlier run over other data must not stay among them.
pub fn clear_all(dir: &Path, prefix: &str) -> Result<(), Error> {
    let (stem, partial) = (format!("{prefix}-"), format!(".{prefix}-"));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let part = name.starts_with(&stem) && name.ends_with(".parquet");
        if part || (name.starts_with(&partial) && name.ends_with(".partial")) {
            std::fs::remove_file(entry.path()).map_err(|source| Error::Output {
                path: entry.path().display().to_string(),
                source,
            })?;
        }
    }
    Ok(())
}

/// Remove a unit's parts (and the temporaries of a killed writer) before redoing it.
pub fn clear(dir: &Path, prefix: &str, unit: usize) -> Result<(), Error> {
    let stem = format!("{prefix}-{unit:05}-");
    let partial = format!(".{stem}");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&stem) || (name.starts_with(&partial) && name.ends_with(".partial")) {
            std::fs::remove_file(entry.path()).map_err(|source| Error::Output {
                path: entry.path().display().to_string(),
                source,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    #[test]
    fn columns_of_documents_get_no_dictionary_and_no_statistics() {
        let n = 10;
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
            ),
            (
                "text",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("{i} {}", "a long document ".repeat(5))),
                )) as ArrayRef,
            ),
            (
                "bucket",
                Arc::new(StringArray::from_iter_values((0..n).map(|_| "Good"))) as ArrayRef,
            ),
        ])
        .unwrap();
        let props = properties(&batch);
        let path = |name: &str| ColumnPath::from(name);
        assert!(!props.dictionary_enabled(&path("text")));
        assert_eq!(
            props.statistics_enabled(&path("text")),
            EnabledStatistics::None
        );
        for short in ["id", "bucket"] {
            assert!(props.dictionary_enabled(&path(short)), "{short}");
            assert_ne!(
                props.statistics_enabled(&path(short)),
                EnabledStatistics::None,
                "{short}"
            );
        }
    }

    #[test]
    fn parts_stay_near_the_target_size_and_hold_every_row_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = Parts::new(dir.path(), "part", 7, 20_000);
        let mut next = 0;
        for _ in 0..40 {
            // Incompressible-ish text, so the size grows with the rows.
            let text: Vec<String> = (next..next + 100)
                .map(|i: u64| format!("{i} {:x}", i.wrapping_mul(0x9e3779b97f4a7c15)))
                .collect();
            next += 100;
            let batch =
                RecordBatch::try_from_iter([("t", Arc::new(StringArray::from(text)) as ArrayRef)])
                    .unwrap();
            parts.write(&batch).unwrap();
        }
        let written = parts.finish().unwrap();
        assert!(written.len() > 2, "{written:?}");
        assert_eq!(written[0].0.file_name().unwrap(), "part-00007-0000.parquet");
        let mut rows = Vec::new();
        for (path, bytes) in &written {
            assert_eq!(std::fs::metadata(path).unwrap().len(), *bytes);
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
                    .unwrap();
            assert!(matches!(
                reader.metadata().row_group(0).column(0).compression(),
                Compression::ZSTD(_)
            ));
            for b in reader.build().unwrap() {
                let b = b.unwrap();
                let t = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
                rows.extend(t.iter().map(|s| {
                    s.unwrap()
                        .split(' ')
                        .next()
                        .unwrap()
                        .parse::<u64>()
                        .unwrap()
                }));
            }
        }
        assert_eq!(rows, (0..4000).collect::<Vec<_>>());
        // A killed writer's leftovers and the unit's parts go; other units' parts stay.
        std::fs::write(
            dir.path().join(".part-00007-0009.parquet.abc.partial"),
            b"x",
        )
        .unwrap();
        std::fs::write(dir.path().join("part-00008-0000.parquet"), b"x").unwrap();
        clear(dir.path(), "part", 7).unwrap();
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["part-00008-0000.parquet"]);
    }
}
