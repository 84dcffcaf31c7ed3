//! Arrow IPC files (`ARROW1` magic, random access through the footer) and streams (read
//! message by message); `batch_rows.rs` turns their record batches into rows.
//!
//! Before reading, every file is inspected cheaply: the footer (IPC file) or the message
//! headers (IPC stream, bodies are skipped with a seek) give the row count of each record
//! batch. Sampling then decodes only the batches that hold sampled rows.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::reader::FileReader;
use arrow_ipc::{MessageHeader, MetadataVersion};
use arrow_schema::{ArrowError, Schema, SchemaRef};

use super::batch_rows::{Chunk, ChunkRows, Pick, check_schema, index_rows, picks_in};
use super::sample::Picked;
use super::{DataError, Dataset, OpenOptions, display_name};
// The tests build batches of every string type and read rows back.
#[cfg(test)]
use {
    super::Row,
    arrow_array::{Array, LargeStringArray, StringArray, StringViewArray},
};

pub(crate) const FORMAT: &str = "Arrow IPC file";

const MAGIC: &[u8; 6] = b"ARROW1";
const CONTINUATION: [u8; 4] = [0xff; 4];

pub(crate) fn open(path: &Path, opts: &OpenOptions) -> Result<Dataset, DataError> {
    let part = inspect(path)?;
    open_parts(display_name(path), vec![part], opts)
}

// ---------------------------------------------------------------------------------------------
// Arrow IPC inspection.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpcKind {
    File,
    Stream,
}

/// What an IPC file holds, learnt without decoding any data.
#[derive(Debug)]
pub(crate) struct IpcPart {
    pub(crate) path: PathBuf,
    pub(crate) kind: IpcKind,
    pub(crate) schema: SchemaRef,
    /// Rows of each record batch, in order.
    pub(crate) batch_rows: Vec<u64>,
}

impl IpcPart {
    pub(crate) fn rows(&self) -> u64 {
        self.batch_rows.iter().sum()
    }
}

fn arrow_error(path: &Path, e: ArrowError) -> DataError {
    match e {
        ArrowError::IoError(_, io) => DataError::io(path, io),
        e => DataError::invalid_file(path, FORMAT, e),
    }
}

fn bad(path: &Path, reason: impl std::fmt::Display) -> DataError {
    DataError::invalid_file(path, FORMAT, reason)
}

/// Reads an IPC file's schema and batch sizes (file or stream format, told by the magic).
pub(crate) fn inspect(path: &Path) -> Result<IpcPart, DataError> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut magic = [0u8; 6];
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DataError::io(path, e)),
        }
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| DataError::io(path, e))?;
    if got == magic.len() && &magic == MAGIC {
        inspect_file(path, file)
    } else {
        inspect_stream(path, file)
    }
}

fn inspect_file(path: &Path, mut file: File) -> Result<IpcPart, DataError> {
    let io = |e: io::Error| DataError::io(path, e);
    let len = file.metadata().map_err(io)?.len();
    if len < 18 {
        return Err(bad(path, "the file is too short"));
    }
    let mut trailer = [0u8; 10];
    file.seek(SeekFrom::End(-10)).map_err(io)?;
    file.read_exact(&mut trailer).map_err(io)?;
    let footer_len =
        arrow_ipc::reader::read_footer_length(trailer).map_err(|e| arrow_error(path, e))?;
    if footer_len as u64 > len - 10 {
        return Err(bad(path, "the footer length is larger than the file"));
    }
    let mut footer_bytes = vec![0u8; footer_len];
    file.seek(SeekFrom::End(-10 - footer_len as i64))
        .map_err(io)?;
    file.read_exact(&mut footer_bytes).map_err(io)?;
    let footer = arrow_ipc::root_as_footer(&footer_bytes)
        .map_err(|e| bad(path, format!("unreadable footer ({e})")))?;
    let schema = footer
        .schema()
        .ok_or_else(|| bad(path, "the footer has no schema"))?;
    let schema = arrow_ipc::convert::try_fb_to_schema(schema).map_err(|e| arrow_error(path, e))?;
    let mut batch_rows = Vec::new();
    let mut reader = BufReader::new(file);
    let mut meta = Vec::new();
    for block in footer.recordBatches().into_iter().flatten() {
        let (offset, meta_len) = (block.offset(), block.metaDataLength());
        if offset < 0 || meta_len < 8 || offset as u64 + meta_len as u64 > len {
            return Err(bad(path, "a record batch block lies outside the file"));
        }
        reader.seek(SeekFrom::Start(offset as u64)).map_err(io)?;
        meta.resize(meta_len as usize, 0);
        reader.read_exact(&mut meta).map_err(io)?;
        let message = if meta[..4] == CONTINUATION {
            &meta[8..]
        } else {
            &meta[4..]
        };
        let message = arrow_ipc::root_as_message(message)
            .map_err(|e| bad(path, format!("unreadable message ({e})")))?;
        let batch = message
            .header_as_record_batch()
            .ok_or_else(|| bad(path, "a footer block is not a record batch"))?;
        batch_rows
            .push(u64::try_from(batch.length()).map_err(|_| bad(path, "negative batch length"))?);
    }
    Ok(IpcPart {
        path: path.to_path_buf(),
        kind: IpcKind::File,
        schema: Arc::new(schema),
        batch_rows,
    })
}

fn inspect_stream(path: &Path, file: File) -> Result<IpcPart, DataError> {
    let len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
    let mut walker = StreamWalker::open(path, file, None)?;
    let mut batch_rows = Vec::new();
    while let Some((rows, _)) = walker.next(false, true)? {
        batch_rows.push(rows);
    }
    let end = walker
        .reader
        .stream_position()
        .map_err(|e| DataError::io(path, e))?;
    if end > len {
        return Err(bad(path, "the stream is cut short"));
    }
    Ok(IpcPart {
        path: path.to_path_buf(),
        kind: IpcKind::Stream,
        schema: walker.schema,
        batch_rows,
    })
}

/// Reads an IPC stream message by message, decoding only the record batches asked for.
struct StreamWalker {
    path: PathBuf,
    reader: BufReader<File>,
    meta: Vec<u8>,
    schema: SchemaRef,
    dictionaries: HashMap<i64, ArrayRef>,
    projection: Option<Vec<usize>>,
}

impl StreamWalker {
    fn open(path: &Path, file: File, projection: Option<Vec<usize>>) -> Result<Self, DataError> {
        let mut walker = StreamWalker {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(256 * 1024, file),
            meta: Vec::new(),
            schema: Arc::new(Schema::empty()),
            dictionaries: HashMap::new(),
            projection,
        };
        if !walker.read_meta()? {
            return Err(bad(path, "the file is empty"));
        }
        let message = arrow_ipc::root_as_message(&walker.meta)
            .map_err(|e| bad(path, format!("unreadable schema ({e})")))?;
        let schema = message.header_as_schema().ok_or_else(|| {
            bad(
                path,
                "the first message is not a schema (is it an Arrow file?)",
            )
        })?;
        let schema =
            arrow_ipc::convert::try_fb_to_schema(schema).map_err(|e| arrow_error(path, e))?;
        walker.schema = Arc::new(schema);
        let body_len = message.bodyLength();
        walker.skip(body_len)?;
        Ok(walker)
    }

    /// Reads the next message's metadata into `self.meta`; `false` at the end of the stream.
    fn read_meta(&mut self) -> Result<bool, DataError> {
        let mut prefix = [0u8; 4];
        match self.reader.read_exact(&mut prefix) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(DataError::io(&self.path, e)),
        }
        if prefix == CONTINUATION {
            match self.reader.read_exact(&mut prefix) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(bad(&self.path, "the stream is cut short"));
                }
                Err(e) => return Err(DataError::io(&self.path, e)),
            }
        }
        let len = i32::from_le_bytes(prefix);
        if len == 0 {
            return Ok(false);
        }
        if len < 0 {
            return Err(bad(&self.path, format!("invalid message length {len}")));
        }
        self.meta.clear();
        let got = (&mut self.reader)
            .take(len as u64)
            .read_to_end(&mut self.meta)
            .map_err(|e| DataError::io(&self.path, e))?;
        if got != len as usize {
            return Err(bad(&self.path, "the stream is cut short"));
        }
        Ok(true)
    }

    fn skip(&mut self, body_len: i64) -> Result<(), DataError> {
        if body_len < 0 {
            return Err(bad(&self.path, format!("invalid body length {body_len}")));
        }
        self.reader
            .seek_relative(body_len)
            .map_err(|e| DataError::io(&self.path, e))
    }

    /// Reads the next record batch: `(rows, Some(batch) if decode)`; `None` at the end.
    /// Dictionary batches are applied on the way unless `counting`.
    fn next(
        &mut self,
        decode: bool,
        counting: bool,
    ) -> Result<Option<(u64, Option<RecordBatch>)>, DataError> {
        loop {
            if !self.read_meta()? {
                return Ok(None);
            }
            let message = arrow_ipc::root_as_message(&self.meta)
                .map_err(|e| bad(&self.path, format!("unreadable message ({e})")))?;
            let body_len = message.bodyLength();
            let version: MetadataVersion = message.version();
            match message.header_type() {
                MessageHeader::RecordBatch => {
                    let header = message
                        .header_as_record_batch()
                        .ok_or_else(|| bad(&self.path, "unreadable record batch"))?;
                    let rows = u64::try_from(header.length())
                        .map_err(|_| bad(&self.path, "negative batch length"))?;
                    if !decode {
                        self.skip(body_len)?;
                        return Ok(Some((rows, None)));
                    }
                    let body = read_body(&mut self.reader, body_len, &self.path)?;
                    let batch = arrow_ipc::reader::read_record_batch(
                        &body,
                        header,
                        self.schema.clone(),
                        &self.dictionaries,
                        self.projection.as_deref(),
                        &version,
                    )
                    .map_err(|e| arrow_error(&self.path, e))?;
                    return Ok(Some((rows, Some(batch))));
                }
                MessageHeader::DictionaryBatch if !counting => {
                    let header = message
                        .header_as_dictionary_batch()
                        .ok_or_else(|| bad(&self.path, "unreadable dictionary batch"))?;
                    let body = read_body(&mut self.reader, body_len, &self.path)?;
                    arrow_ipc::reader::read_dictionary(
                        &body,
                        header,
                        &self.schema,
                        &mut self.dictionaries,
                        &version,
                    )
                    .map_err(|e| arrow_error(&self.path, e))?;
                }
                MessageHeader::Schema => {
                    return Err(bad(&self.path, "the stream holds a second schema"));
                }
                _ => self.skip(body_len)?,
            }
        }
    }
}

/// Reads a message body of `body_len` bytes (into an Arrow buffer, the type `B`).
fn read_body<B: From<Vec<u8>>>(
    reader: &mut BufReader<File>,
    body_len: i64,
    path: &Path,
) -> Result<B, DataError> {
    let len = u64::try_from(body_len)
        .map_err(|_| bad(path, format!("invalid body length {body_len}")))?;
    // The length is untrusted: grow with the data instead of reserving it all up front.
    let mut body = Vec::with_capacity(len.min(64 << 20) as usize);
    let got = reader
        .take(len)
        .read_to_end(&mut body)
        .map_err(|e| DataError::io(path, e))?;
    if got as u64 != len {
        return Err(bad(path, "the stream is cut short"));
    }
    Ok(B::from(body))
}

// ---------------------------------------------------------------------------------------------
// Reading IPC parts (one `.arrow` file, or the files of a `save_to_disk` split).

/// Reads the rows of consecutive IPC files as one dataset (row indices continue across files).
pub(crate) fn open_parts(
    name: String,
    parts: Vec<IpcPart>,
    opts: &OpenOptions,
) -> Result<Dataset, DataError> {
    let mut with_projection = Vec::with_capacity(parts.len());
    for part in parts {
        let projection = check_schema(&part.path, &part.schema, opts.columns)?;
        with_projection.push((part, projection));
    }
    let total: u64 = with_projection.iter().map(|(p, _)| p.rows()).sum();
    let indices = match opts.sample.indices(|| Ok::<_, DataError>(total))? {
        Picked::All => None,
        Picked::Rows(indices) => Some(indices),
    };
    let total_rows = Some(indices.as_ref().map_or(total, |i| i.len() as u64));
    if opts.columns.is_empty() {
        return Ok(Dataset {
            name,
            total_rows,
            rows: index_rows(total, indices),
        });
    }
    let chunks = IpcChunks {
        parts: with_projection,
        part: 0,
        reader: None,
        part_path: Arc::new(PathBuf::new()),
        batch: 0,
        base: 0,
        indices,
        next: 0,
        done: false,
    };
    Ok(Dataset {
        name,
        total_rows,
        rows: Box::new(ChunkRows::new(chunks, opts.columns)),
    })
}

enum PartReader {
    File(FileReader<BufReader<File>>),
    Stream(StreamWalker),
}

struct IpcChunks {
    parts: Vec<(IpcPart, Vec<usize>)>,
    part: usize,
    reader: Option<PartReader>,
    part_path: Arc<PathBuf>,
    /// Next batch of the current part.
    batch: usize,
    /// Dataset index of the first row of that batch.
    base: u64,
    indices: Option<Vec<u64>>,
    /// Next sampled index to yield.
    next: usize,
    done: bool,
}

impl IpcChunks {
    fn step(&mut self) -> Result<Option<Chunk>, DataError> {
        loop {
            if self.indices.as_ref().is_some_and(|i| self.next >= i.len()) {
                return Ok(None);
            }
            let Some((part, projection)) = self.parts.get(self.part) else {
                return Ok(None);
            };
            if self.batch == 0 && self.reader.is_none() {
                // Skip whole files that hold no sampled row.
                let end = self.base + part.rows();
                if self.indices.as_ref().is_some_and(|i| i[self.next] >= end) {
                    self.base = end;
                    self.part += 1;
                    continue;
                }
            }
            if self.batch >= part.batch_rows.len() {
                self.part += 1;
                self.batch = 0;
                self.reader = None;
                continue;
            }
            let (b, rows, start) = (self.batch, part.batch_rows[self.batch], self.base);
            self.batch += 1;
            self.base += rows;
            let pick = match &self.indices {
                None => Pick::All { base: start },
                Some(indices) => Pick::Rows(picks_in(indices, &mut self.next, start, rows)),
            };
            let needed = !matches!(&pick, Pick::Rows(r) if r.is_empty());
            if !needed && part.kind == IpcKind::File {
                continue;
            }
            if self.reader.is_none() {
                let file = File::open(&part.path).map_err(|e| DataError::io(&part.path, e))?;
                self.reader = Some(match part.kind {
                    IpcKind::File => PartReader::File(
                        FileReader::try_new_buffered(file, Some(projection.clone()))
                            .map_err(|e| arrow_error(&part.path, e))?,
                    ),
                    IpcKind::Stream => PartReader::Stream(StreamWalker::open(
                        &part.path,
                        file,
                        Some(projection.clone()),
                    )?),
                });
                self.part_path = Arc::new(part.path.clone());
            }
            let changed = || bad(&part.path, "the file changed while it was read");
            let batch = match self.reader.as_mut().expect("opened above") {
                PartReader::File(reader) => {
                    reader
                        .set_index(b)
                        .map_err(|e| arrow_error(&part.path, e))?;
                    match reader.next() {
                        Some(batch) => batch.map_err(|e| arrow_error(&part.path, e))?,
                        None => return Err(changed()),
                    }
                }
                PartReader::Stream(walker) => match walker.next(needed, false)? {
                    Some((n, batch)) if n == rows => match batch {
                        Some(batch) => batch,
                        None => continue,
                    },
                    _ => return Err(changed()),
                },
            };
            if batch.num_rows() as u64 != rows {
                return Err(changed());
            }
            return Ok(Some(Chunk {
                batch,
                pick,
                path: self.part_path.clone(),
                format: FORMAT,
            }));
        }
    }
}

impl Iterator for IpcChunks {
    type Item = Result<Chunk, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::{Sample, open, sample_indices};
    use arrow_array::{DictionaryArray, Int64Array, types::Int32Type};
    use arrow_ipc::writer::{FileWriter, StreamWriter};
    use arrow_schema::Field;

    pub(crate) fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    pub(crate) fn write_stream(path: &Path, batches: &[RecordBatch]) {
        let mut w =
            StreamWriter::try_new(File::create(path).unwrap(), &batches[0].schema()).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
    }

    pub(crate) fn write_file(path: &Path, batches: &[RecordBatch]) {
        let mut w = FileWriter::try_new(File::create(path).unwrap(), &batches[0].schema()).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
    }

    fn read(
        path: &Path,
        columns: &[&str],
        sample: Sample,
    ) -> Result<(Option<u64>, Vec<Row>), DataError> {
        let columns: Vec<String> = columns.iter().map(|s| s.to_string()).collect();
        let ds = open(
            path,
            &OpenOptions {
                columns: &columns,
                split: None,
                sample,
            },
        )?;
        Ok((ds.total_rows, ds.rows.collect::<Result<_, _>>()?))
    }

    fn string_kinds() -> RecordBatch {
        let dict: DictionaryArray<Int32Type> =
            vec![Some("d0"), None, Some("d0")].into_iter().collect();
        batch(vec![
            (
                "utf8",
                Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])) as ArrayRef,
            ),
            (
                "large",
                Arc::new(LargeStringArray::from(vec![Some("la"), Some("lb"), None])),
            ),
            (
                "view",
                Arc::new(StringViewArray::from(vec![
                    None,
                    Some("vb"),
                    Some("a longer string that is not inlined"),
                ])),
            ),
            ("dict", Arc::new(dict)),
            ("nulls", Arc::new(arrow_array::NullArray::new(3))),
            ("n", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        ])
    }

    #[test]
    fn every_string_type_in_file_and_stream() {
        let dir = tempfile::tempdir().unwrap();
        let b = string_kinds();
        for (name, stream) in [("s.arrow", true), ("f.feather", false)] {
            let path = dir.path().join(name);
            if stream {
                write_stream(&path, &[b.clone(), b.clone()]);
            } else {
                write_file(&path, &[b.clone(), b.clone()]);
            }
            assert_eq!(
                inspect(&path).unwrap().kind,
                if stream {
                    IpcKind::Stream
                } else {
                    IpcKind::File
                }
            );
            let (total, rows) = read(
                &path,
                &["view", "utf8", "dict", "large", "nulls"],
                Sample::All,
            )
            .unwrap();
            assert_eq!(total, Some(6));
            assert_eq!(rows.len(), 6);
            let s = |v: &str| Some(v.to_string());
            assert_eq!(
                rows[0],
                Row {
                    index: 0,
                    values: vec![None, s("a"), s("d0"), s("la"), None]
                }
            );
            assert_eq!(
                rows[4],
                Row {
                    index: 4,
                    values: vec![s("vb"), None, None, s("lb"), None]
                }
            );
            assert_eq!(
                rows[5].values,
                vec![
                    s("a longer string that is not inlined"),
                    s("c"),
                    s("d0"),
                    None,
                    None
                ]
            );

            let err = read(&path, &["utf8", "n"], Sample::All)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("column \"n\"") && err.contains("Int64") && err.contains(name),
                "{err}"
            );
        }
    }

    #[test]
    fn stream_sampling_skips_batches_and_truncation_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.arrow");
        let batches: Vec<RecordBatch> = (0..10)
            .map(|b| {
                let texts: Vec<String> = (0..7).map(|i| format!("row {}", b * 7 + i)).collect();
                batch(vec![("t", Arc::new(StringArray::from(texts)) as ArrayRef)])
            })
            .collect();
        write_stream(&path, &batches);
        let part = inspect(&path).unwrap();
        assert_eq!(part.batch_rows, vec![7; 10]);
        let (total, rows) = read(&path, &["t"], Sample::Random { n: 5, seed: 9 }).unwrap();
        assert_eq!(total, Some(5));
        let indices: Vec<u64> = rows.iter().map(|r| r.index).collect();
        assert_eq!(indices, sample_indices(70, 5, 9));
        for row in &rows {
            assert_eq!(
                row.values[0].as_deref(),
                Some(format!("row {}", row.index).as_str())
            );
        }

        // Cut the file in the middle of a batch body.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = read(&path, &["t"], Sample::All).unwrap_err().to_string();
        assert!(
            err.contains("s.arrow") && err.contains("cut short"),
            "{err}"
        );

        std::fs::write(&path, b"not arrow at all").unwrap();
        let err = read(&path, &["t"], Sample::All).unwrap_err().to_string();
        assert!(err.contains("is not a valid Arrow IPC file"), "{err}");
    }
}
