//! Record batches to rows, shared by Arrow IPC files, `save_to_disk` folders and Parquet: which
//! columns can be read as text, which rows of each batch to yield, and the iterator that turns
//! decoded batches into [`Row`]s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use arrow_schema::{ArrowError, DataType, Schema};

use super::{DataError, Row, check_columns};

/// Whether values of this type can be read as text.
pub(crate) fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => true,
        DataType::Dictionary(_, values) => matches!(
            **values,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ),
        _ => false,
    }
}

/// Checks that every requested column exists and holds text; returns the sorted, distinct
/// indices of the requested fields (the projection).
pub(crate) fn check_schema(
    path: &Path,
    schema: &Schema,
    columns: &[String],
) -> Result<Vec<usize>, DataError> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    check_columns(path, columns, &names)?;
    let mut projection = Vec::new();
    for column in columns {
        let index = names
            .iter()
            .position(|n| n == column)
            .expect("checked above");
        let data_type = schema.field(index).data_type();
        if !is_text(data_type) {
            return Err(DataError::ColumnType {
                column: column.clone(),
                path: path.to_path_buf(),
                found: data_type.to_string(),
            });
        }
        projection.push(index);
    }
    projection.sort_unstable();
    projection.dedup();
    Ok(projection)
}

/// A text column of one record batch.
pub(crate) enum TextColumn {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
    Null,
}

impl TextColumn {
    pub(crate) fn new(array: &ArrayRef) -> Result<Self, ArrowError> {
        Ok(match array.data_type() {
            DataType::Utf8 => TextColumn::Utf8(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => TextColumn::Large(array.as_string::<i64>().clone()),
            DataType::Utf8View => TextColumn::View(array.as_string_view().clone()),
            DataType::Null => TextColumn::Null,
            DataType::Dictionary(_, values) => {
                let target = match **values {
                    DataType::LargeUtf8 => DataType::LargeUtf8,
                    _ => DataType::Utf8,
                };
                return TextColumn::new(&arrow_cast::cast(array, &target)?);
            }
            other => {
                return Err(ArrowError::SchemaError(format!(
                    "column type {other} is not text"
                )));
            }
        })
    }

    pub(crate) fn get(&self, i: usize) -> Option<String> {
        self.str(i).map(str::to_string)
    }

    /// Row `i`'s text, borrowed from the batch (`None` for a null).
    pub(crate) fn str(&self, i: usize) -> Option<&str> {
        match self {
            TextColumn::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::Large(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::View(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::Null => None,
        }
    }
}

/// The text columns `columns` of `batch`, in order, read from the file `path` (named in errors).
pub(crate) fn text_columns(
    batch: &RecordBatch,
    columns: &[String],
    path: &Path,
) -> Result<Vec<TextColumn>, DataError> {
    columns
        .iter()
        .map(|name| {
            let array = batch.column_by_name(name).ok_or_else(|| {
                DataError::invalid_file(
                    path,
                    "data file",
                    format!("a batch lacks column \"{name}\""),
                )
            })?;
            TextColumn::new(array).map_err(|e| DataError::ColumnType {
                column: name.clone(),
                path: path.to_path_buf(),
                found: e.to_string(),
            })
        })
        .collect()
}

/// Which rows of a batch to yield.
pub(crate) enum Pick {
    /// Every row; row `k` of the batch is dataset row `base + k`.
    All { base: u64 },
    /// `(position in the batch, dataset row index)`, ascending.
    Rows(Vec<(usize, u64)>),
}

impl Pick {
    fn len(&self, batch_rows: usize) -> usize {
        match self {
            Pick::All { .. } => batch_rows,
            Pick::Rows(rows) => rows.len(),
        }
    }

    fn get(&self, k: usize) -> (usize, u64) {
        match self {
            Pick::All { base } => (k, base + k as u64),
            Pick::Rows(rows) => rows[k],
        }
    }
}

/// A decoded record batch (holding at least the requested columns) and the rows to yield.
pub(crate) struct Chunk {
    pub(crate) batch: RecordBatch,
    pub(crate) pick: Pick,
    pub(crate) path: Arc<PathBuf>,
    /// Format name for error messages ("Arrow IPC file", "Parquet file").
    pub(crate) format: &'static str,
}

/// Turns chunks into rows. An `Err` chunk ends the iteration.
pub(crate) struct ChunkRows<I> {
    chunks: I,
    columns: Vec<String>,
    current: Option<(Vec<TextColumn>, Pick, usize, usize)>,
    done: bool,
}

impl<I> ChunkRows<I> {
    pub(crate) fn new(chunks: I, columns: &[String]) -> Self {
        ChunkRows {
            chunks,
            columns: columns.to_vec(),
            current: None,
            done: false,
        }
    }
}

impl<I: Iterator<Item = Result<Chunk, DataError>>> Iterator for ChunkRows<I> {
    type Item = Result<Row, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if let Some((columns, pick, k, len)) = &mut self.current {
                if *k < *len {
                    let (pos, index) = pick.get(*k);
                    *k += 1;
                    let values = columns.iter().map(|c| c.get(pos)).collect();
                    return Some(Ok(Row { index, values }));
                }
                self.current = None;
            }
            match self.chunks.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(chunk)) => {
                    let mut columns = Vec::with_capacity(self.columns.len());
                    for name in &self.columns {
                        let column = chunk
                            .batch
                            .column_by_name(name)
                            .ok_or_else(|| {
                                ArrowError::SchemaError(format!(
                                    "a record batch lacks column \"{name}\""
                                ))
                            })
                            .and_then(TextColumn::new);
                        match column {
                            Ok(c) => columns.push(c),
                            Err(e) => {
                                self.done = true;
                                return Some(Err(DataError::invalid_file(
                                    &chunk.path,
                                    chunk.format,
                                    e,
                                )));
                            }
                        }
                    }
                    let len = chunk.pick.len(chunk.batch.num_rows());
                    self.current = Some((columns, chunk.pick, 0, len));
                }
            }
        }
    }
}

/// Rows without values (no columns requested): nothing needs decoding.
pub(crate) fn index_rows(
    total: u64,
    indices: Option<Vec<u64>>,
) -> Box<dyn Iterator<Item = Result<Row, DataError>> + Send> {
    match indices {
        None => Box::new((0..total).map(|index| {
            Ok(Row {
                index,
                values: Vec::new(),
            })
        })),
        Some(indices) => Box::new(indices.into_iter().map(|index| {
            Ok(Row {
                index,
                values: Vec::new(),
            })
        })),
    }
}

/// `(position in batch, index)` of the sorted `indices[*next..]` that fall in
/// `[start, start + rows)`; advances `*next` past them.
pub(crate) fn picks_in(
    indices: &[u64],
    next: &mut usize,
    start: u64,
    rows: u64,
) -> Vec<(usize, u64)> {
    let mut picks = Vec::new();
    while *next < indices.len() && indices[*next] < start + rows {
        let index = indices[*next];
        if index >= start {
            picks.push(((index - start) as usize, index));
        }
        *next += 1;
    }
    picks
}
