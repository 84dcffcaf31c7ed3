//! Where a data file's bytes come from: a local file, or a remote file read by byte ranges.
//!
//! The readers in `data/` read a [`Source`], so the same JSON Lines, JSON, CSV and Parquet code
//! reads local files and files streamed from the Hugging Face Hub (`hub/remote.rs` implements
//! [`RemoteFile`]). Text files may be gzip- or zstd-compressed (`.jsonl.gz`, `.csv.zst`).

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use parquet::file::reader::{ChunkReader, Length};

/// A file that can be read by byte ranges, e.g. over HTTP.
pub trait RemoteFile: Send + Sync + fmt::Debug {
    /// How the file is named in messages (e.g. `hf://datasets/owner/name@sha/data/train.jsonl`).
    fn path(&self) -> &Path;
    /// Size in bytes.
    fn len(&self) -> u64;
    /// Whether the file has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `len` bytes from `start` (fewer only at the end of the file).
    fn read_range(&self, start: u64, len: u64) -> io::Result<Bytes>;
    /// A sequential reader from `start` to the end of the file.
    fn reader(&self, start: u64) -> Box<dyn Read + Send>;
}

/// The bytes of one data file.
#[derive(Debug, Clone)]
pub enum Source {
    Local(PathBuf),
    Remote(Arc<dyn RemoteFile>),
}

/// How a text file is compressed, from its last extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Source {
    /// The path shown in messages.
    pub fn path(&self) -> &Path {
        match self {
            Source::Local(p) => p,
            Source::Remote(r) => r.path(),
        }
    }

    /// Stored (possibly compressed) size, when known.
    pub(crate) fn size(&self) -> Option<u64> {
        match self {
            Source::Local(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Source::Remote(r) => Some(r.len()),
        }
    }

    /// Whether reading the file twice (once to count its rows) is cheap. Streaming a remote
    /// file twice would download it twice, so remote files are never counted up front.
    pub(crate) fn cheap_to_reread(&self) -> bool {
        matches!(self, Source::Local(_))
    }

    pub(crate) fn compression(&self) -> Compression {
        split_extension(self.path()).1
    }

    /// The format extension, lower case, without a compression suffix (`train.jsonl.gz` → `jsonl`).
    pub(crate) fn extension(&self) -> String {
        split_extension(self.path()).0
    }

    /// A reader over the decompressed bytes, from the start of the file.
    pub(crate) fn open_text(&self) -> io::Result<Box<dyn Read + Send>> {
        let raw: Box<dyn Read + Send> = match self {
            Source::Local(p) => Box::new(File::open(p)?),
            Source::Remote(r) => r.reader(0),
        };
        Ok(match self.compression() {
            Compression::None => raw,
            Compression::Gzip => {
                Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(raw)))
            }
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
        })
    }
}

/// `(format extension, compression)` of a file name: `a.jsonl.gz` → `("jsonl", Gzip)`.
pub(crate) fn split_extension(path: &Path) -> (String, Compression) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let (stem, compression) = if let Some(s) = name.strip_suffix(".gz") {
        (s, Compression::Gzip)
    } else if let Some(s) = name.strip_suffix(".zst") {
        (s, Compression::Zstd)
    } else if let Some(s) = name.strip_suffix(".zstd") {
        (s, Compression::Zstd)
    } else {
        (name.as_str(), Compression::None)
    };
    let ext = Path::new(stem)
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    (ext, compression)
}

/// A remote file as Parquet's reader sees it: column chunks are fetched by byte range, so only the
/// projected columns of the selected row groups are downloaded.
#[derive(Debug, Clone)]
pub(crate) struct RemoteChunks(pub(crate) Arc<dyn RemoteFile>);

impl Length for RemoteChunks {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl ChunkReader for RemoteChunks {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.0.reader(start))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.0
            .read_range(start, length as u64)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
    }
}

/// Bytes fetched at once from a column chunk of a remote Parquet file being read whole.
const BLOCK_BYTES: u64 = 8 << 20;

/// A remote Parquet file as the reader of whole row groups sees it: each column chunk of those
/// row groups is fetched in blocks of up to [`BLOCK_BYTES`], never past the chunk's end, and the
/// reader's many small reads (a page header, then the page) are served from the chunk's current
/// block. Reading page by page straight from the file costs two requests per page, each page
/// header's read fetching a window far bigger than the header; this costs one request per block.
/// Memory: one block per column of the row group being read (blocks of earlier row groups are
/// dropped), so at most the row group's compressed size.
#[derive(Debug)]
pub(crate) struct RemoteRowGroups {
    file: Arc<dyn RemoteFile>,
    /// The column chunks' byte ranges and row groups, sorted by start.
    chunks: Vec<(Range<u64>, usize)>,
    /// Per column chunk (by position in `chunks`), its current block: where it starts, its bytes.
    blocks: Mutex<HashMap<usize, (u64, Bytes)>>,
}

impl RemoteRowGroups {
    /// `chunks`: each column chunk's byte range and its row group.
    pub(crate) fn new(
        file: Arc<dyn RemoteFile>,
        mut chunks: Vec<(Range<u64>, usize)>,
    ) -> RemoteRowGroups {
        chunks.sort_by_key(|c| c.0.start);
        RemoteRowGroups {
            file,
            chunks,
            blocks: Mutex::new(HashMap::new()),
        }
    }

    /// The column chunk holding byte `at`.
    fn chunk_of(&self, at: u64) -> Option<usize> {
        let i = self.chunks.partition_point(|c| c.0.start <= at);
        (i > 0 && self.chunks[i - 1].0.contains(&at)).then(|| i - 1)
    }

    /// The bytes from `start` to the end of the block that holds them (at least `len` of them, or
    /// to the end of the chunk), fetching a new block when the current one does not cover them.
    fn block_from(&self, chunk: usize, start: u64, len: u64) -> io::Result<Bytes> {
        let mut blocks = self.blocks.lock().expect("never poisoned");
        if let Some((block_start, bytes)) = blocks.get(&chunk) {
            let end = block_start + bytes.len() as u64;
            if *block_start <= start && start + len <= end {
                return Ok(bytes.slice((start - block_start) as usize..));
            }
        }
        let (range, group) = &self.chunks[chunk];
        let want = len
            .max(BLOCK_BYTES)
            .min(range.end.saturating_sub(start).max(len));
        let bytes = self.file.read_range(start, want)?;
        // Row groups are read one after the other: an earlier one's blocks are done with.
        blocks.retain(|&c, _| self.chunks[c].1 >= *group);
        blocks.insert(chunk, (start, bytes.clone()));
        Ok(bytes)
    }
}

impl Length for RemoteRowGroups {
    fn len(&self) -> u64 {
        self.file.len()
    }
}

impl ChunkReader for RemoteRowGroups {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let Some(chunk) = self.chunk_of(start) else {
            return Ok(self.file.reader(start));
        };
        let bytes = self.block_from(chunk, start, 1).map_err(external)?;
        let next = start + bytes.len() as u64;
        // Past the block (a header across its end): the file itself, opened only if read.
        Ok(Box::new(
            io::Cursor::new(bytes).chain(LazyReader::new(self.file.clone(), next)),
        ))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let len = length as u64;
        let bytes = match self.chunk_of(start) {
            Some(chunk) => self.block_from(chunk, start, len),
            None => self.file.read_range(start, len),
        }
        .map_err(external)?;
        Ok(bytes.slice(..length.min(bytes.len())))
    }
}

fn external(e: io::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(e))
}

/// A reader of a remote file from `start`, opened on its first read.
struct LazyReader {
    file: Arc<dyn RemoteFile>,
    start: u64,
    reader: Option<Box<dyn Read + Send>>,
}

impl LazyReader {
    fn new(file: Arc<dyn RemoteFile>, start: u64) -> LazyReader {
        LazyReader {
            file,
            start,
            reader: None,
        }
    }
}

impl Read for LazyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let (file, start) = (&self.file, self.start);
        self.reader
            .get_or_insert_with(|| file.reader(start))
            .read(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remote file of numbered bytes that records the ranges asked of it.
    #[derive(Debug)]
    struct Numbered {
        asked: Mutex<Vec<Range<u64>>>,
    }

    impl RemoteFile for Numbered {
        fn path(&self) -> &Path {
            Path::new("hf://datasets/o/n@sha/d.parquet")
        }
        fn len(&self) -> u64 {
            1 << 30
        }
        fn read_range(&self, start: u64, len: u64) -> io::Result<Bytes> {
            self.asked.lock().unwrap().push(start..start + len);
            Ok((start..start + len).map(|b| b as u8).collect())
        }
        fn reader(&self, start: u64) -> Box<dyn Read + Send> {
            Box::new(io::Cursor::new(self.read_range(start, 64).unwrap()))
        }
    }

    #[test]
    fn row_group_reads_fetch_blocks_within_chunks_and_drop_finished_row_groups() {
        let file = Arc::new(Numbered {
            asked: Mutex::new(Vec::new()),
        });
        let big = BLOCK_BYTES + 100;
        // Row group 0: chunks at 100..1100 and 1100..(1100 + big); row group 1 after them.
        let chunks = vec![
            (100..1100, 0),
            (1100..1100 + big, 0),
            (1100 + big..2100 + big, 1),
        ];
        let reader = RemoteRowGroups::new(file.clone(), chunks);
        let numbered = |r: Range<u64>| r.map(|b| b as u8).collect::<Vec<_>>();
        // Small reads inside one chunk: one request for the whole (small) chunk.
        assert_eq!(
            reader.get_bytes(100, 10).unwrap()[..],
            numbered(100..110)[..]
        );
        let mut header = [0u8; 4];
        reader
            .get_read(500)
            .unwrap()
            .read_exact(&mut header)
            .unwrap();
        assert_eq!(header[..], numbered(500..504)[..]);
        assert_eq!(
            reader.get_bytes(1000, 100).unwrap()[..],
            numbered(1000..1100)[..]
        );
        // A big chunk: a block, then the rest of the chunk, never past its end.
        reader.get_bytes(1100, 10).unwrap();
        reader.get_bytes(1100 + BLOCK_BYTES, 50).unwrap();
        assert_eq!(
            *file.asked.lock().unwrap(),
            [
                100..1100,
                1100..1100 + BLOCK_BYTES,
                1100 + BLOCK_BYTES..1100 + big
            ]
        );
        assert_eq!(reader.blocks.lock().unwrap().len(), 2);
        // The next row group: row group 0's blocks go.
        reader.get_bytes(1100 + big, 10).unwrap();
        let kept: Vec<usize> = reader.blocks.lock().unwrap().keys().copied().collect();
        assert_eq!(kept, [2]);
        // Outside every chunk (the footer): asked as is.
        reader.get_bytes(5000 + big, 8).unwrap();
        assert_eq!(
            file.asked.lock().unwrap().last(),
            Some(&(5000 + big..5008 + big))
        );
    }

    #[test]
    fn extensions_and_compression() {
        let cases = [
            ("a/train.jsonl", "jsonl", Compression::None),
            ("train.JSONL.GZ", "jsonl", Compression::Gzip),
            ("x.csv.zst", "csv", Compression::Zstd),
            ("x.parquet", "parquet", Compression::None),
            ("noext", "", Compression::None),
            ("noext.gz", "", Compression::Gzip),
        ];
        for (path, ext, compression) in cases {
            assert_eq!(
                split_extension(Path::new(path)),
                (ext.to_string(), compression),
                "{path}"
            );
        }
    }

    #[test]
    fn compressed_local_files_read_as_text() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let text = b"{\"text\":\"hello\"}\n";
        let gz = dir.path().join("a.jsonl.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let zst = dir.path().join("a.jsonl.zst");
        std::fs::write(&zst, zstd::encode_all(&text[..], 3).unwrap()).unwrap();
        for path in [gz, zst] {
            let mut out = Vec::new();
            Source::Local(path)
                .open_text()
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, text);
        }
    }
}
