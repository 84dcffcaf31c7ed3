//! Whole record batches of one data file, every column as stored, for commands that write rows
//! back out (`filter`): Parquet and Arrow IPC keep their Arrow schema and types, JSON Lines every
//! field (types inferred over the whole file, as `datasets` does), CSV every field as text.
//! Parquet files are read by row-group ranges, so one big file can be cut into several units; a
//! remote Parquet file (a Hub file with `--stream`) is read by byte ranges, footer and row groups
//! only, and a remote text file is streamed.

use std::fs::File;
use std::io::BufReader;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::file::reader::ChunkReader;

use super::batch_rows::check_schema;
use super::source::{RemoteChunks, RemoteRowGroups};
use super::{DataError, Format, Source, format_of};

/// Rows per record batch read (and rated and written together).
pub const BATCH_ROWS: usize = 1024;

/// What a data file holds, learnt cheaply (Parquet and Arrow from their metadata, text files by
/// reading them once).
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub source: Source,
    pub rows: u64,
    /// Size of the file (on disk, or as the Hub lists it).
    pub bytes: u64,
    /// Parquet only: each row group's rows and compressed bytes, in order.
    pub row_groups: Vec<(u64, u64)>,
    /// JSON Lines and CSV: the schema found while counting, so reading needs no pass for it.
    pub schema: Option<SchemaRef>,
}

/// The record batches of one file (or of a range of its row groups), in order.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch, DataError>> + Send>;

/// Whether `filter` can read this file's batches (the formats whose rows it can write back out).
pub fn is_batch_file(path: &Path) -> bool {
    matches!(
        format_of(path),
        Ok(Format::Parquet | Format::Arrow | Format::JsonLines | Format::Csv)
    )
}

/// Inspect one file: its rows, its size and, for Parquet, its row groups (a remote file's footer
/// is read by range). Checks that every requested column exists and holds text.
pub fn inspect(source: &Source, columns: &[String]) -> Result<FileInfo, DataError> {
    let path = source.path();
    let bytes = match source {
        Source::Local(p) => std::fs::metadata(p).map_err(|e| DataError::io(p, e))?.len(),
        Source::Remote(r) => r.len(),
    };
    let mut info = FileInfo {
        source: source.clone(),
        rows: 0,
        bytes,
        row_groups: Vec::new(),
        schema: None,
    };
    match (format_of(path)?, source) {
        (Format::Parquet, _) => {
            let options = ArrowReaderOptions::default();
            let meta = match source {
                Source::Local(p) => ArrowReaderMetadata::load(&open_local(p)?, options),
                Source::Remote(r) => ArrowReaderMetadata::load(&RemoteChunks(r.clone()), options),
            }
            .map_err(|e| DataError::invalid_file(path, "Parquet file", e))?;
            check_schema(path, meta.schema(), columns)?;
            info.row_groups = meta
                .metadata()
                .row_groups()
                .iter()
                .map(|g| {
                    (
                        g.num_rows().max(0) as u64,
                        g.compressed_size().max(0) as u64,
                    )
                })
                .collect();
            info.rows = info.row_groups.iter().map(|g| g.0).sum();
        }
        (Format::Arrow, Source::Local(p)) => {
            let part = super::arrow::inspect(p)?;
            check_schema(path, &part.schema, columns)?;
            info.rows = part.rows();
        }
        (Format::JsonLines, _) => {
            // One pass finds the schema and counts the rows (a remote file is downloaded once).
            let (schema, rows) = json_schema(source)?;
            check_schema(path, &schema, columns)?;
            info.rows = rows;
            info.schema = Some(Arc::new(schema));
        }
        (Format::Csv, _) => {
            // The header is the schema; counting the rows reads the file once.
            let schema = csv_schema(source)?;
            check_schema(path, &schema, columns)?;
            info.rows = super::count_rows(source)?;
            info.schema = Some(Arc::new(schema));
        }
        (Format::Arrow, Source::Remote(_)) => {
            return Err(DataError::UnsupportedFormat {
                path: path.to_path_buf(),
            });
        }
        (Format::Text | Format::Json, _) => {
            return Err(DataError::invalid_file(
                path,
                "input for filter",
                "filter reads Parquet, Arrow IPC, JSON Lines and CSV files; convert it to one of those",
            ));
        }
    }
    Ok(info)
}

fn open_local(path: &Path) -> Result<File, DataError> {
    File::open(path).map_err(|e| DataError::io(path, e))
}

fn parquet_builder<R: ChunkReader + 'static>(
    reader: R,
    path: &Path,
) -> Result<ParquetRecordBatchReaderBuilder<R>, DataError> {
    ParquetRecordBatchReaderBuilder::try_new(reader)
        .map_err(|e| DataError::invalid_file(path, "Parquet file", e))
}

/// Read the record batches of `source`: every row, or only the row groups `groups` of a Parquet
/// file. `schema` is a text file's schema from [`inspect`] (found again when not given).
pub fn read(
    source: &Source,
    groups: Option<Range<usize>>,
    schema: Option<SchemaRef>,
) -> Result<Batches, DataError> {
    let path = source.path();
    match (format_of(path)?, source) {
        (Format::Parquet, Source::Local(p)) => {
            read_parquet(parquet_builder(open_local(p)?, p)?, p, groups)
        }
        (Format::Parquet, Source::Remote(r)) => {
            // The footer first, by range; then only the column chunks of these row groups.
            let meta = ArrowReaderMetadata::load(&RemoteChunks(r.clone()), Default::default())
                .map_err(|e| DataError::invalid_file(path, "Parquet file", e))?;
            let all = 0..meta.metadata().num_row_groups();
            let chunks = groups
                .clone()
                .unwrap_or(all)
                .filter_map(|g| Some((g, meta.metadata().row_groups().get(g)?)))
                .flat_map(|(g, group)| {
                    group.columns().iter().map(move |c| {
                        let (start, len) = c.byte_range();
                        (start..start + len, g)
                    })
                })
                .collect();
            let reader = RemoteRowGroups::new(r.clone(), chunks);
            let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(reader, meta);
            read_parquet(builder, path, groups)
        }
        (Format::Arrow, Source::Local(p)) => read_ipc(p),
        (Format::JsonLines, _) => {
            let schema = match schema {
                Some(s) => s,
                None => Arc::new(json_schema(source)?.0),
            };
            let text = source.open_text().map_err(|e| DataError::io(path, e))?;
            let reader = arrow_json::ReaderBuilder::new(schema)
                .with_batch_size(BATCH_ROWS)
                .build(BufReader::with_capacity(256 * 1024, text))
                .map_err(|e| DataError::invalid_file(path, "JSON Lines file", e))?;
            let owned = path.to_path_buf();
            Ok(Box::new(reader.map(move |b| {
                b.map_err(|e| DataError::invalid_file(&owned, "JSON Lines file", e))
            })))
        }
        (Format::Csv, _) => read_csv(source, schema),
        (Format::Arrow, Source::Remote(_)) | (Format::Text | Format::Json, _) => {
            Err(DataError::UnsupportedFormat {
                path: path.to_path_buf(),
            })
        }
    }
}

/// A Parquet file's batches, every column, of all row groups or of `groups`.
fn read_parquet<R: ChunkReader + 'static>(
    builder: ParquetRecordBatchReaderBuilder<R>,
    path: &Path,
    groups: Option<Range<usize>>,
) -> Result<Batches, DataError> {
    let mut builder = builder.with_batch_size(BATCH_ROWS);
    if let Some(groups) = groups {
        builder = builder.with_row_groups(groups.collect());
    }
    let reader = builder
        .build()
        .map_err(|e| DataError::invalid_file(path, "Parquet file", e))?;
    let owned = path.to_path_buf();
    Ok(Box::new(reader.map(move |b| {
        b.map_err(|e| DataError::invalid_file(&owned, "Parquet file", e))
    })))
}

/// The text of `columns` in each row of `batch` (`None` for a null).
pub fn text_values(
    batch: &RecordBatch,
    columns: &[String],
    path: &Path,
) -> Result<Vec<Vec<Option<String>>>, DataError> {
    let texts = super::batch_rows::text_columns(batch, columns, path)?;
    Ok((0..batch.num_rows())
        .map(|i| texts.iter().map(|t| t.get(i)).collect())
        .collect())
}

/// The schema of a JSON Lines file (every field of every row, types inferred over the whole file)
/// and its number of rows (non-blank lines), in one pass.
fn json_schema(source: &Source) -> Result<(Schema, u64), DataError> {
    let path = source.path();
    let text = source.open_text().map_err(|e| DataError::io(path, e))?;
    let (schema, rows) =
        arrow_json::reader::infer_json_schema(BufReader::with_capacity(256 * 1024, text), None)
            .map_err(|e| DataError::invalid_file(path, "JSON Lines file", e))?;
    Ok((schema, rows as u64))
}

/// The schema of a CSV file: its header, every column text.
fn csv_schema(source: &Source) -> Result<Schema, DataError> {
    let path = source.path();
    let text = source.open_text().map_err(|e| DataError::io(path, e))?;
    let mut reader = csv_reader(source, text);
    let header = reader
        .headers()
        .map_err(|e| DataError::invalid_file(path, "CSV file", e))?;
    Ok(Schema::new(
        header
            .iter()
            .map(|h| Field::new(h, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

fn csv_reader(
    source: &Source,
    text: Box<dyn std::io::Read + Send>,
) -> csv::Reader<Box<dyn std::io::Read + Send>> {
    let tsv = source.extension() == "tsv";
    csv::ReaderBuilder::new()
        .delimiter(if tsv { b'\t' } else { b',' })
        .flexible(false)
        .from_reader(text)
}

/// CSV records as batches of text columns, every field kept as written.
fn read_csv(source: &Source, schema: Option<SchemaRef>) -> Result<Batches, DataError> {
    let path = source.path();
    let schema: SchemaRef = match schema {
        Some(s) => s,
        None => Arc::new(csv_schema(source)?),
    };
    let text = source.open_text().map_err(|e| DataError::io(path, e))?;
    let mut records = csv_reader(source, text).into_records();
    let owned = path.to_path_buf();
    let mut done = false;
    Ok(Box::new(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); schema.fields().len()];
        let mut rows = 0;
        while rows < BATCH_ROWS {
            match records.next() {
                None => break,
                Some(Err(e)) => {
                    done = true;
                    return Some(Err(DataError::invalid_file(&owned, "CSV file", e)));
                }
                Some(Ok(record)) => {
                    for (column, field) in columns.iter_mut().zip(record.iter()) {
                        column.push(Some(field.to_string()));
                    }
                    rows += 1;
                }
            }
        }
        if rows == 0 {
            done = true;
            return None;
        }
        let arrays: Vec<ArrayRef> = columns
            .into_iter()
            .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
            .collect();
        Some(
            RecordBatch::try_new(schema.clone(), arrays)
                .map_err(|e| DataError::invalid_file(&owned, "CSV file", e)),
        )
    })))
}

/// An Arrow IPC file or stream, batch by batch.
fn read_ipc(path: &Path) -> Result<Batches, DataError> {
    let owned = path.to_path_buf();
    let bad = move |e| DataError::invalid_file(&owned, super::arrow::FORMAT, e);
    let part = super::arrow::inspect(path)?;
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let file = BufReader::with_capacity(256 * 1024, file);
    Ok(match part.kind {
        super::arrow::IpcKind::File => Box::new(
            arrow_ipc::reader::FileReader::try_new(file, None)
                .map_err(bad.clone())?
                .map(move |b| b.map_err(bad.clone())),
        ),
        super::arrow::IpcKind::Stream => Box::new(
            arrow_ipc::reader::StreamReader::try_new(file, None)
                .map_err(bad.clone())?
                .map(move |b| b.map_err(bad.clone())),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int64Array};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    /// The first column (Int64 ids) of every batch.
    fn ids(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    fn rows(n: i64) -> RecordBatch {
        let text: Vec<String> = (0..n).map(|i| format!("row {i}")).collect();
        RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
            ),
            ("text", Arc::new(StringArray::from(text)) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn parquet_row_group_ranges_keep_the_schema_and_only_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.parquet");
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(10))
            .build();
        let mut w =
            ArrowWriter::try_new(File::create(&path).unwrap(), rows(35).schema(), Some(props))
                .unwrap();
        w.write(&rows(35)).unwrap();
        w.close().unwrap();
        let info = inspect(&Source::Local(path.clone()), &["text".into()]).unwrap();
        assert_eq!(info.rows, 35);
        assert_eq!(
            info.row_groups.iter().map(|g| g.0).collect::<Vec<_>>(),
            [10, 10, 10, 5]
        );
        let batches: Vec<RecordBatch> = read(&Source::Local(path.clone()), Some(1..3), None)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(batches[0].schema(), rows(1).schema());
        assert_eq!(ids(&batches), (10..30).collect::<Vec<_>>());
        let texts = text_values(&batches[0], &["text".into()], &path).unwrap();
        assert_eq!(texts[0], vec![Some("row 10".to_string())]);
        let err = inspect(&Source::Local(path.clone()), &["id".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("has type Int64, not text"), "{err}");
    }

    /// A file in memory read as a remote one, counting requests and bytes sent.
    #[derive(Debug)]
    struct Counted {
        path: std::path::PathBuf,
        bytes: bytes::Bytes,
        requests: std::sync::atomic::AtomicU64,
        sent: std::sync::atomic::AtomicU64,
    }

    impl crate::data::RemoteFile for Counted {
        fn path(&self) -> &Path {
            &self.path
        }
        fn len(&self) -> u64 {
            self.bytes.len() as u64
        }
        fn read_range(&self, start: u64, len: u64) -> std::io::Result<bytes::Bytes> {
            use std::sync::atomic::Ordering::Relaxed;
            let end = (start + len).min(self.len()) as usize;
            self.requests.fetch_add(1, Relaxed);
            self.sent.fetch_add(end as u64 - start, Relaxed);
            Ok(self.bytes.slice(start as usize..end))
        }
        fn reader(&self, start: u64) -> Box<dyn std::io::Read + Send> {
            // A sequential read is charged the rest of the file, as a server would send it.
            let rest = self.read_range(start, self.len() - start).unwrap();
            Box::new(std::io::Cursor::new(rest))
        }
    }

    #[test]
    fn a_remote_parquet_range_fetches_its_footer_and_its_row_groups_only() {
        use std::sync::atomic::Ordering::Relaxed;
        let mut data = Vec::new();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(1000))
            .build();
        let mut w = ArrowWriter::try_new(&mut data, rows(4000).schema(), Some(props)).unwrap();
        w.write(&rows(4000)).unwrap();
        w.close().unwrap();
        let file = Arc::new(Counted {
            path: "hf://datasets/o/n@sha/d.parquet".into(),
            bytes: bytes::Bytes::from(data),
            requests: Default::default(),
            sent: Default::default(),
        });
        let source = Source::Remote(file.clone());
        let info = inspect(&source, &["text".into()]).unwrap();
        assert_eq!(info.rows, 4000);
        assert_eq!(info.row_groups.len(), 4);
        // Planning reads the footer alone.
        let footer = file.sent.load(Relaxed);
        assert!(footer < info.bytes / 4, "{footer} of {}", info.bytes);

        let batches: Vec<RecordBatch> = read(&source, Some(1..3), None)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ids(&batches), (1000..3000).collect::<Vec<_>>());
        let groups: u64 = info.row_groups[1..3].iter().map(|g| g.1).sum();
        let read_bytes = file.sent.load(Relaxed) - footer;
        // Those two row groups and the footer again; nothing of the other row groups.
        assert!(
            read_bytes >= groups && read_bytes <= groups + footer,
            "{read_bytes} for row groups of {groups} bytes"
        );
        // One request per column chunk (2 columns, 2 row groups) and the footer's, not two a page.
        let requests = file.requests.load(Relaxed);
        assert!(requests <= 2 * 4 + 4, "{requests} requests");
    }

    #[test]
    fn jsonl_keeps_every_field_with_inferred_types_and_csv_every_field_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let jsonl = dir.path().join("d.jsonl");
        std::fs::write(
            &jsonl,
            "{\"text\":\"a\",\"n\":1}\n\n{\"text\":null,\"n\":2,\"extra\":[1,2]}\n",
        )
        .unwrap();
        let info = inspect(&Source::Local(jsonl.clone()), &["text".into()]).unwrap();
        assert_eq!(info.rows, 2);
        let batch = read(&Source::Local(jsonl.clone()), None, None)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["text", "n", "extra"]);
        assert_eq!(batch.schema().field(1).data_type(), &DataType::Int64);
        assert!(batch.column(2).is_null(0));
        let texts = text_values(&batch, &["text".into()], &jsonl).unwrap();
        assert_eq!(texts, vec![vec![Some("a".into())], vec![None]]);

        let csv = dir.path().join("d.csv");
        std::fs::write(&csv, "text,n\n\"a, b\",007\nc,8\n").unwrap();
        assert_eq!(
            inspect(&Source::Local(csv.clone()), &["text".into()])
                .unwrap()
                .rows,
            2
        );
        let batch = read(&Source::Local(csv.clone()), None, None)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let n = batch
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(n.value(0), "007");
        assert_eq!(
            text_values(&batch, &["text".into()], &csv).unwrap()[0],
            vec![Some("a, b".into())]
        );
        let err = inspect(&Source::Local(csv.clone()), &["nope".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"nope\" does not exist"), "{err}");
    }
}
