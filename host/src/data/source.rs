//! Where a data file's bytes come from: a local file, or a remote file read by byte ranges.
//!
//! The readers in `data/` read a [`Source`], so the same JSON Lines, JSON, CSV and Parquet code
//! reads local files and files streamed from the Hugging Face Hub (`hub/remote.rs` implements
//! [`RemoteFile`]). Text files may be gzip- or zstd-compressed (`.jsonl.gz`, `.csv.zst`).

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

#[cfg(test)]
mod tests {
    use super::*;

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
