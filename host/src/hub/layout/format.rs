//! File formats: which extensions are data, the format of one file, and the `datasets` rule that
//! the most common extension of a split decides its builder (`load.infer_module_for_data_files_list`).

use std::collections::HashMap;

/// How a data file is encoded, once decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Parquet,
    /// Arrow IPC (`.arrow`, as written by `datasets`' `save_to_disk`).
    Arrow,
    /// One JSON object per line (`.jsonl`, `.ndjson`).
    JsonLines,
    /// `.json`: `datasets` reads a JSON array, an object with a list field, or JSON Lines
    /// from it, so the reader must accept all three.
    Json,
    Csv {
        delimiter: u8,
    },
    /// `.txt`: the `text` builder, one row per line in a column named `text`.
    Text,
}

/// Whole-file compression, from a trailing extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Kind plus compression, e.g. `.jsonl.gz` → `JsonLines` + `Gzip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub kind: Kind,
    pub compression: Compression,
}

/// A `datasets` builder ("module"), decided per split by the extension count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Module {
    Parquet,
    Arrow,
    Json,
    Csv,
    Text,
    /// A builder classified cannot read (images, audio, video, PDF, WebDataset, XML) or a zip
    /// archive; carries the name `datasets` gives it.
    Unsupported(&'static str),
}

/// `packaged_modules._EXTENSION_TO_MODULE` for what classified reads.
const SUPPORTED: &[(&str, Module)] = &[
    ("csv", Module::Csv),
    ("tsv", Module::Csv),
    ("json", Module::Json),
    ("jsonl", Module::Json),
    ("ndjson", Module::Json),
    ("parquet", Module::Parquet),
    ("geoparquet", Module::Parquet),
    ("gpq", Module::Parquet),
    ("arrow", Module::Arrow),
    ("txt", Module::Text),
];

/// The rest of `_EXTENSION_TO_MODULE` (the folder builders list more extensions; these are the
/// common ones) plus `.zip`, which `datasets` looks inside. Compared in lower case, as the
/// folder builders register upper-case variants too.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("tar", "webdataset"),
    ("xml", "xml"),
    ("zip", "zip archive"),
    ("png", "imagefolder"),
    ("jpg", "imagefolder"),
    ("jpeg", "imagefolder"),
    ("gif", "imagefolder"),
    ("bmp", "imagefolder"),
    ("tif", "imagefolder"),
    ("tiff", "imagefolder"),
    ("webp", "imagefolder"),
    ("wav", "audiofolder"),
    ("mp3", "audiofolder"),
    ("flac", "audiofolder"),
    ("ogg", "audiofolder"),
    ("opus", "audiofolder"),
    ("m4a", "audiofolder"),
    ("mp4", "videofolder"),
    ("mov", "videofolder"),
    ("avi", "videofolder"),
    ("mkv", "videofolder"),
    ("webm", "videofolder"),
    ("pdf", "pdffolder"),
];

/// `config.DATA_FILES_MAX_NUMBER_FOR_MODULE_INFERENCE`: only the first files are counted.
const MAX_FILES_FOR_INFERENCE: usize = 200;

/// Image/audio folder metadata files, which `datasets` ranks last when counting.
const METADATA_FILE_NAMES: &[&str] = &["metadata.csv", "metadata.jsonl", "metadata.parquet"];

/// The extensions after the first dot of the file name: `a/b.jsonl.gz` → `["jsonl", "gz"]`.
pub(super) fn suffixes(path: &str) -> impl Iterator<Item = &str> {
    basename(path).split('.').skip(1)
}

pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn module_of(ext: &str) -> Option<Module> {
    if let Some((_, m)) = SUPPORTED.iter().find(|(e, _)| *e == ext) {
        return Some(*m);
    }
    let lower = ext.to_ascii_lowercase();
    UNSUPPORTED
        .iter()
        .find(|(e, _)| *e == lower)
        .map(|(_, name)| Module::Unsupported(name))
}

/// `resolve_pattern(…, allowed_extensions=ALL_ALLOWED_EXTENSIONS)`: a file counts as data when
/// any of its extensions belongs to a builder. (`.py`, `.md`, `LICENSE`, … never do.)
pub(super) fn is_data_file(path: &str) -> bool {
    suffixes(path).any(|ext| module_of(ext).is_some())
}

/// The winning extension among `paths` (sorted) and its builder, or `None` if no file has a
/// data extension.
///
/// `datasets` counts every extension of every file name in lower case (`.jsonl.gz` counts
/// `.jsonl` and `.gz`), over the first 200 files, and sorts by (not a metadata file, count,
/// is `.parquet`, is `.jsonl`, is `.json`, is `.csv`, the extension) descending; the first
/// extension that names a builder wins. So ties go parquet > jsonl > json > csv, then reverse
/// alphabetical (`.txt` > `.tsv` > `.arrow`): `.arrow` loses a tie with `.csv`.
pub(super) fn winning_extension(paths: &[&str]) -> Option<(String, Module)> {
    let mut counts: HashMap<(String, bool), usize> = HashMap::new();
    for path in paths.iter().take(MAX_FILES_FOR_INFERENCE) {
        let is_metadata = METADATA_FILE_NAMES.contains(&basename(path));
        for ext in suffixes(path) {
            *counts
                .entry((ext.to_ascii_lowercase(), is_metadata))
                .or_default() += 1;
        }
    }
    let mut ranked: Vec<_> = counts.into_iter().collect();
    ranked.sort_by(|((a, a_meta), a_n), ((b, b_meta), b_n)| {
        let key = |ext: &str, meta: bool, n: usize| {
            (
                !meta,
                n,
                ext == "parquet",
                ext == "jsonl",
                ext == "json",
                ext == "csv",
            )
        };
        key(b, *b_meta, *b_n)
            .cmp(&key(a, *a_meta, *a_n))
            .then_with(|| b.cmp(a))
    });
    ranked
        .into_iter()
        .find_map(|((ext, _), _)| module_of(&ext).map(|m| (ext, m)))
}

/// The format of `path` if it belongs to `module` (`DataFilesList.filter(extensions=…)`), `Ok(None)`
/// if it belongs to another builder (dropped, like `datasets` does), or `Err` with the trailing
/// extension classified cannot decompress (`.bz2` in `.jsonl.bz2`, `.zip` in `.csv.zip`).
pub(super) fn format_in_module(path: &str, module: Module) -> Result<Option<Format>, String> {
    let exts: Vec<&str> = suffixes(path).collect();
    let Some(at) = exts.iter().rposition(|e| module_of(e) == Some(module)) else {
        return Ok(None);
    };
    let kind = match exts[at] {
        "parquet" | "geoparquet" | "gpq" => Kind::Parquet,
        "arrow" => Kind::Arrow,
        "jsonl" | "ndjson" => Kind::JsonLines,
        "json" => Kind::Json,
        "csv" => Kind::Csv { delimiter: b',' },
        "tsv" => Kind::Csv { delimiter: b'\t' },
        "txt" => Kind::Text,
        _ => return Ok(None),
    };
    let compression = match &exts[at + 1..] {
        [] => Compression::None,
        ["gz"] => Compression::Gzip,
        ["zst"] => Compression::Zstd,
        rest => {
            return Err(format!(".{}", rest.join(".")));
        }
    };
    Ok(Some(Format { kind, compression }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(paths: &[&str]) -> Option<String> {
        winning_extension(paths).map(|(ext, _)| ext)
    }

    #[test]
    fn the_most_common_extension_wins() {
        assert_eq!(win(&["a.csv", "b.csv", "c.jsonl"]).as_deref(), Some("csv"));
        // `.json.gz` counts as `.json` (and `.gz`, which names no builder).
        assert_eq!(
            win(&["a.json.gz", "b.json.gz", "c.parquet"]).as_deref(),
            Some("json")
        );
        // Counted per extension, not per builder: per builder json (2) would tie csv (2) and win
        // as a favourite; per extension csv (2) beats json (1) and jsonl (1).
        assert_eq!(
            win(&["a.csv", "b.csv", "c.json", "d.jsonl"]).as_deref(),
            Some("csv")
        );
        assert_eq!(win(&["README", "LICENSE"]), None);
        assert_eq!(win(&["a.py", "b.md"]), None);
    }

    #[test]
    fn ties_follow_datasets_order() {
        assert_eq!(win(&["a.csv", "b.parquet"]).as_deref(), Some("parquet"));
        assert_eq!(win(&["a.json", "b.jsonl"]).as_deref(), Some("jsonl"));
        assert_eq!(win(&["a.csv", "b.json"]).as_deref(), Some("json"));
        // Not in the favourites: reverse alphabetical after csv.
        assert_eq!(win(&["a.csv", "b.arrow"]).as_deref(), Some("csv"));
        assert_eq!(win(&["a.txt", "b.arrow"]).as_deref(), Some("txt"));
        assert_eq!(win(&["a.tsv", "b.arrow"]).as_deref(), Some("tsv"));
    }

    #[test]
    fn metadata_files_rank_last() {
        assert_eq!(
            win(&["metadata.jsonl", "metadata.jsonl", "x.png"]),
            Some("png".to_string())
        );
    }

    #[test]
    fn only_the_first_200_files_are_counted() {
        let mut paths: Vec<String> = (0..200).map(|i| format!("a{i:03}.csv")).collect();
        paths.extend((0..300).map(|i| format!("b{i:03}.jsonl")));
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        assert_eq!(win(&refs).as_deref(), Some("csv"));
    }

    #[test]
    fn file_formats_come_from_extensions() {
        let f = |p: &str, m: Module| format_in_module(p, m).unwrap();
        let fmt = |kind, compression| Some(Format { kind, compression });
        assert_eq!(
            f("a/b.parquet", Module::Parquet),
            fmt(Kind::Parquet, Compression::None)
        );
        assert_eq!(
            f("x.arrow", Module::Arrow),
            fmt(Kind::Arrow, Compression::None)
        );
        assert_eq!(
            f("x.jsonl.gz", Module::Json),
            fmt(Kind::JsonLines, Compression::Gzip)
        );
        assert_eq!(
            f("x.json.zst", Module::Json),
            fmt(Kind::Json, Compression::Zstd)
        );
        assert_eq!(
            f("x.ndjson", Module::Json),
            fmt(Kind::JsonLines, Compression::None)
        );
        assert_eq!(
            f("x.tsv", Module::Csv),
            fmt(Kind::Csv { delimiter: b'\t' }, Compression::None)
        );
        assert_eq!(
            f("x.2023.csv", Module::Csv),
            fmt(Kind::Csv { delimiter: b',' }, Compression::None)
        );
        assert_eq!(f("x.txt", Module::Text), fmt(Kind::Text, Compression::None));
        // Files of another builder are dropped.
        assert_eq!(f("x.csv", Module::Json), None);
        assert_eq!(
            format_in_module("x.jsonl.bz2", Module::Json),
            Err(".bz2".to_string())
        );
    }

    #[test]
    fn data_files_are_told_from_the_rest() {
        assert!(is_data_file("a/b.jsonl.gz"));
        assert!(is_data_file("img/x.PNG"));
        assert!(!is_data_file("script.py"));
        assert!(!is_data_file("LICENSE"));
        assert!(!is_data_file("notes.md"));
        // Extensions are case-sensitive for the table builders, as in `datasets`.
        assert!(!is_data_file("TRAIN.CSV"));
    }
}
