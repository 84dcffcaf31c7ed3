//! Parquet files: only the requested root columns are decoded, and when sampling only the row
//! groups that hold sampled rows, with a row selection that skips the other rows.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::file::reader::ChunkReader;

use super::batch_rows::{Chunk, ChunkRows, Pick, check_schema, index_rows};
use super::sample::Picked;
use super::source::RemoteChunks;
use super::{DataError, Dataset, OpenOptions, Source, display_name};

const FORMAT: &str = "Parquet file";

/// Rows decoded per record batch.
const BATCH_SIZE: usize = 1024;

pub(crate) fn open(source: &Source, opts: &OpenOptions) -> Result<Dataset, DataError> {
    match source {
        Source::Local(path) => {
            let file = File::open(path).map_err(|e| DataError::io(path, e))?;
            open_reader(file, path, opts)
        }
        Source::Remote(remote) => open_reader(RemoteChunks(remote.clone()), remote.path(), opts),
    }
}

/// The number of rows, from the file's footer.
pub(crate) fn count(source: &Source) -> Result<u64, DataError> {
    let path = source.path();
    let metadata = match source {
        Source::Local(p) => {
            let file = File::open(p).map_err(|e| DataError::io(p, e))?;
            ParquetRecordBatchReaderBuilder::try_new(file).map(|b| b.metadata().clone())
        }
        Source::Remote(r) => ParquetRecordBatchReaderBuilder::try_new(RemoteChunks(r.clone()))
            .map(|b| b.metadata().clone()),
    }
    .map_err(|e| DataError::invalid_file(path, FORMAT, e))?;
    Ok(metadata.file_metadata().num_rows().max(0) as u64)
}

/// Reads a Parquet file through any [`ChunkReader`]: a local file, or byte ranges of a remote one.
fn open_reader<R: ChunkReader + 'static>(
    reader: R,
    path: &Path,
    opts: &OpenOptions,
) -> Result<Dataset, DataError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(reader)
        .map_err(|e| DataError::invalid_file(path, FORMAT, e))?;
    let projection = check_schema(path, builder.schema(), opts.columns)?;
    let group_rows: Vec<u64> = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as u64)
        .collect();
    let total: u64 = group_rows.iter().sum();
    let indices = match opts.sample.indices(|| Ok::<_, DataError>(total))? {
        Picked::All => None,
        Picked::Rows(indices) => Some(indices),
    };
    let total_rows = Some(indices.as_ref().map_or(total, |i| i.len() as u64));
    let name = display_name(path);
    if opts.columns.is_empty() {
        return Ok(Dataset {
            name,
            total_rows,
            rows: index_rows(total, indices),
        });
    }

    // Top-level Arrow fields are the Parquet root columns, in order.
    let mask = ProjectionMask::roots(builder.parquet_schema(), projection);
    let mut builder = builder.with_projection(mask).with_batch_size(BATCH_SIZE);
    if let Some(indices) = &indices {
        let plan = plan_sample(&group_rows, indices);
        builder = builder
            .with_row_groups(plan.row_groups)
            .with_row_selection(plan.selection);
    }
    let reader = builder
        .build()
        .map_err(|e| DataError::invalid_file(path, FORMAT, e))?;
    let chunks = ParquetChunks {
        reader,
        path: Arc::new(path.to_path_buf()),
        indices,
        next: 0,
        base: 0,
        done: false,
    };
    Ok(Dataset {
        name,
        total_rows,
        rows: Box::new(ChunkRows::new(chunks, opts.columns)),
    })
}

/// Which row groups to read for a sample, and which of their rows.
#[derive(Debug)]
pub(crate) struct SamplePlan {
    /// Row groups holding at least one sampled row, ascending.
    pub(crate) row_groups: Vec<usize>,
    /// Over the rows of `row_groups` only: select the sampled rows, skip the others.
    pub(crate) selection: RowSelection,
}

/// Plans reading the sorted `indices` from row groups of `group_rows` rows each.
pub(crate) fn plan_sample(group_rows: &[u64], indices: &[u64]) -> SamplePlan {
    let mut row_groups = Vec::new();
    let mut selectors = Vec::new();
    let (mut next, mut start) = (0, 0u64);
    for (group, &rows) in group_rows.iter().enumerate() {
        let end = start + rows;
        let first = next;
        while next < indices.len() && indices[next] < end {
            next += 1;
        }
        if next > first {
            row_groups.push(group);
            let mut at = start;
            for &index in &indices[first..next] {
                if index > at {
                    selectors.push(RowSelector::skip((index - at) as usize));
                }
                selectors.push(RowSelector::select(1));
                at = index + 1;
            }
            if end > at {
                selectors.push(RowSelector::skip((end - at) as usize));
            }
        }
        start = end;
    }
    SamplePlan {
        row_groups,
        selection: RowSelection::from(selectors),
    }
}

struct ParquetChunks {
    reader: ParquetRecordBatchReader,
    path: Arc<PathBuf>,
    /// Sampled indices: the reader yields exactly these rows, in order.
    indices: Option<Vec<u64>>,
    next: usize,
    base: u64,
    done: bool,
}

impl Iterator for ParquetChunks {
    type Item = Result<Chunk, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let batch = match self.reader.next() {
            None => {
                self.done = true;
                return None;
            }
            Some(Err(e)) => {
                self.done = true;
                return Some(Err(DataError::invalid_file(&self.path, FORMAT, e)));
            }
            Some(Ok(batch)) => batch,
        };
        let n = batch.num_rows();
        let pick = match &self.indices {
            None => {
                let pick = Pick::All { base: self.base };
                self.base += n as u64;
                pick
            }
            Some(indices) => {
                let Some(slice) = indices.get(self.next..self.next + n) else {
                    self.done = true;
                    return Some(Err(DataError::invalid_file(
                        &self.path,
                        FORMAT,
                        "it holds more rows than its metadata says",
                    )));
                };
                let pick = Pick::Rows(
                    slice
                        .iter()
                        .enumerate()
                        .map(|(k, &index)| (k, index))
                        .collect(),
                );
                self.next += n;
                pick
            }
        };
        Some(Ok(Chunk {
            batch,
            pick,
            path: self.path.clone(),
            format: FORMAT,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Row, Sample, open, sample_indices};
    use arrow_array::{ArrayRef, Int32Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use std::io::{Seek, SeekFrom, Write};

    pub(crate) fn write_parquet(path: &Path, batch: &RecordBatch, group_size: usize) {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_size))
            .build();
        let mut w =
            ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
    }

    fn read(path: &Path, columns: &[&str], sample: Sample) -> Result<Vec<Row>, DataError> {
        let columns: Vec<String> = columns.iter().map(|s| s.to_string()).collect();
        open(
            path,
            &OpenOptions {
                columns: &columns,
                split: None,
                sample,
            },
        )?
        .rows
        .collect()
    }

    #[test]
    fn plan_selects_only_needed_groups_and_rows() {
        // Groups: [0,3) [3,6) [6,9) [9,10)
        let plan = plan_sample(&[3, 3, 3, 1], &[1, 2, 9]);
        assert_eq!(plan.row_groups, vec![0, 3]);
        let selectors: Vec<RowSelector> = plan.selection.into();
        assert_eq!(
            selectors,
            vec![RowSelector::skip(1), RowSelector::select(3)]
        );
        let plan = plan_sample(&[3, 3, 3, 1], &[4]);
        assert_eq!(plan.row_groups, vec![1]);
        let selectors: Vec<RowSelector> = plan.selection.into();
        assert_eq!(
            selectors,
            vec![
                RowSelector::skip(1),
                RowSelector::select(1),
                RowSelector::skip(1)
            ]
        );
        assert!(plan_sample(&[3, 3], &[]).row_groups.is_empty());
    }

    fn texts(n: usize) -> RecordBatch {
        let t: Vec<String> = (0..n).map(|i| format!("text {i}")).collect();
        let id: Vec<i32> = (0..n as i32).collect();
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int32Array::from(id)) as ArrayRef),
            ("t", Arc::new(StringArray::from(t)) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn sampling_never_touches_unneeded_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.parquet");
        write_parquet(&path, &texts(30), 3);
        let (seed, n) = (5, 3);
        let indices = sample_indices(30, n, seed);
        let needed: Vec<usize> = indices.iter().map(|&i| (i / 3) as usize).collect();
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        assert_eq!(builder.metadata().num_row_groups(), 10);
        // Destroy the "t" column chunk of every row group that holds no sampled row.
        let ranges: Vec<(u64, u64)> = (0..10)
            .filter(|g| !needed.contains(g))
            .map(|g| builder.metadata().row_group(g).column(1).byte_range())
            .collect();
        drop(builder);
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        for (start, len) in ranges {
            file.seek(SeekFrom::Start(start)).unwrap();
            file.write_all(&vec![0xff; len as usize]).unwrap();
        }
        drop(file);

        let rows = read(&path, &["t"], Sample::Random { n, seed }).unwrap();
        assert_eq!(rows.iter().map(|r| r.index).collect::<Vec<_>>(), indices);
        for row in &rows {
            assert_eq!(
                row.values[0].as_deref(),
                Some(format!("text {}", row.index).as_str())
            );
        }
        // Reading everything does hit the damage, and says which file is broken.
        let err = read(&path, &["t"], Sample::All).unwrap_err().to_string();
        assert!(
            err.contains("d.parquet is not a valid Parquet file"),
            "{err}"
        );
    }

    #[test]
    fn corrupt_file_and_wrong_type() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        write_parquet(&path, &texts(5), 2);
        let err = read(&path, &["id"], Sample::All).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "column \"id\" in {} has type Int32, not text; choose a text column",
                path.display()
            )
        );
        let err = read(&path, &["nope"], Sample::All).unwrap_err().to_string();
        assert!(
            err.ends_with("the available columns are \"id\", \"t\""),
            "{err}"
        );

        std::fs::write(&path, b"PAR1 this is not really parquet").unwrap();
        let err = read(&path, &["t"], Sample::All).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{} is not a valid Parquet file: ", path.display())),
            "{err}"
        );
    }
}
