//! JSON Lines (`.jsonl`, `.ndjson`, and `.json` files holding one object per line).
//!
//! Rows are the non-blank lines; `json_object.rs` reads each line's object.

use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::json_object::{cells_to_row, json_reason, object_keys, parse_object};
use super::row_loop::{Records, RowLoop};
use super::sample::{Picked, Picker};
use super::{
    DataError, Dataset, OpenOptions, Row, Source, check_columns, counts_up_front, display_name,
};

const FORMAT: &str = "JSON";

pub(crate) fn open(source: &Source, opts: &OpenOptions) -> Result<Dataset, DataError> {
    open_lines(source, opts, false)
}

/// Plain text files (`.txt`), as the `datasets` text builder reads them: each non-blank line is
/// a row with one column, `text`.
pub(crate) fn open_text(source: &Source, opts: &OpenOptions) -> Result<Dataset, DataError> {
    open_lines(source, opts, true)
}

fn open_lines(source: &Source, opts: &OpenOptions, text: bool) -> Result<Dataset, DataError> {
    let path = source.path();
    let mut lines = Lines::open(source).map_err(|e| DataError::io(path, e))?;

    // The keys of the first object are the columns.
    let first = lines.next_line().map_err(|e| DataError::io(path, e))?;
    let available = match first {
        _ if text => vec!["text".to_string()],
        Some(line) => object_keys(line).map_err(|e| line_error(path, lines.line_no, &e))?,
        None => Vec::new(),
    };
    check_columns(path, opts.columns, &available)?;

    let (total_rows, picker) = match opts.sample.indices(|| count_rows(&mut lines, path))? {
        Picked::All if counts_up_front(source, &opts.sample) => {
            (Some(count_rows(&mut lines, path)?), None)
        }
        Picked::All => (None, None),
        Picked::Rows(indices) => (Some(indices.len() as u64), Some(Picker::new(indices))),
    };
    lines.rewind().map_err(|e| DataError::io(path, e))?;

    Ok(Dataset {
        name: display_name(path),
        total_rows,
        rows: Box::new(RowLoop::new(
            JsonlRecords {
                path: path.to_path_buf(),
                lines,
                columns: opts.columns.to_vec(),
                text,
            },
            picker,
        )),
    })
}

/// The number of rows in the file, by reading it once.
pub(crate) fn count(source: &Source) -> Result<u64, DataError> {
    let path = source.path();
    let mut lines = Lines::open(source).map_err(|e| DataError::io(path, e))?;
    count_rows(&mut lines, path)
}

/// Counts the non-blank lines of the whole file (from the start).
fn count_rows(lines: &mut Lines, path: &Path) -> Result<u64, DataError> {
    lines.rewind().map_err(|e| DataError::io(path, e))?;
    let mut n = 0;
    while lines
        .next_line()
        .map_err(|e| DataError::io(path, e))?
        .is_some()
    {
        n += 1;
    }
    Ok(n)
}

fn line_error(path: &Path, line: u64, e: &serde_json::Error) -> DataError {
    DataError::invalid_line(path, line, FORMAT, json_reason(e, false))
}

/// Reads non-blank lines, tracking 1-based line numbers and stripping a leading BOM.
pub(crate) struct Lines {
    source: Source,
    reader: BufReader<Box<dyn Read + Send>>,
    buf: Vec<u8>,
    /// Where the line last returned lies in `buf`.
    line: Range<usize>,
    /// Number of the line last returned (1-based).
    pub(crate) line_no: u64,
}

impl Lines {
    pub(crate) fn open(source: &Source) -> io::Result<Self> {
        Ok(Lines {
            source: source.clone(),
            reader: BufReader::with_capacity(256 * 1024, source.open_text()?),
            buf: Vec::new(),
            line: 0..0,
            line_no: 0,
        })
    }

    /// Back to the first line (by opening the file again: it may be compressed or remote).
    pub(crate) fn rewind(&mut self) -> io::Result<()> {
        self.reader = BufReader::with_capacity(256 * 1024, self.source.open_text()?);
        self.line_no = 0;
        Ok(())
    }

    /// The next line that holds something other than whitespace, without its line ending.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            self.buf.clear();
            if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let mut line: &[u8] = &self.buf;
            if self.line_no == 1 {
                line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let start = self.buf.len() - line.len();
            let mut end = self.buf.len();
            while end > start && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            self.line = start..end;
            return Ok(Some(&self.buf[start..end]));
        }
    }

    /// The line [`Lines::next_line`] returned last.
    fn current(&self) -> &[u8] {
        &self.buf[self.line.clone()]
    }
}

/// The lines of a JSON Lines or text file, as [`Records`].
struct JsonlRecords {
    path: PathBuf,
    lines: Lines,
    columns: Vec<String>,
    /// A `.txt` file: the line itself is the `text` column.
    text: bool,
}

impl Records for JsonlRecords {
    fn advance(&mut self, _wanted: bool) -> Result<bool, DataError> {
        match self.lines.next_line() {
            Ok(line) => Ok(line.is_some()),
            Err(e) => Err(DataError::io(&self.path, e)),
        }
    }

    fn row(&mut self, index: u64) -> Result<Row, DataError> {
        let line = self.lines.current();
        if self.text {
            let value = String::from_utf8_lossy(line).into_owned();
            return Ok(Row {
                index,
                values: self.columns.iter().map(|_| Some(value.clone())).collect(),
            });
        }
        match parse_object(line, &self.columns) {
            Ok(cells) => cells_to_row(index, cells, &self.columns),
            Err(e) => Err(DataError::invalid_line(
                &self.path,
                self.lines.line_no,
                FORMAT,
                json_reason(&e, false),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Sample;
    use crate::data::open;
    use crate::data::tests::{cols, every_row, ok_rows, row_results, temp_file};

    #[test]
    fn uncounted_reads_skip_the_counting_pass() {
        let (_dir, path) = temp_file("d.jsonl", "{\"t\":\"a\"}\n{\"t\":\"b\"}\n");
        let columns = cols(&["t"]);
        let open_with = |sample| {
            open(
                &path,
                &OpenOptions {
                    sample,
                    ..every_row(&columns)
                },
            )
            .unwrap()
        };
        assert_eq!(open_with(Sample::All).total_rows, Some(2));
        let uncounted = open_with(Sample::AllUncounted);
        assert_eq!(uncounted.total_rows, None);
        assert_eq!(uncounted.rows.count(), 2);
    }

    #[test]
    fn text_files_are_one_row_per_line_in_a_text_column() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, b"first line\n\nsecond {not json}\n").unwrap();
        let (_dir, path) = temp_file("d.txt.gz", enc.finish().unwrap());
        let rows = ok_rows(&path, &["text"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].index, 1);
        assert_eq!(rows[1].values, vec![Some("second {not json}".to_string())]);
        let err = open(&path, &every_row(&cols(&["body"])))
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"text\""), "{err}");
    }

    #[test]
    fn values_nulls_missing_keys_and_blank_lines() {
        let (_dir, path) = temp_file(
            "d.jsonl",
            "\u{feff}{\"a\": \"x\", \"b\": \"é\\n\\\"q\\\"\", \"n\": {\"deep\": [1, 2]}}\r\n\n   \n{\"a\": null}\n{\"b\": \"only b\", \"a\": \"y\"}",
        );
        let rows = ok_rows(&path, &["b", "a", "a"]);
        assert_eq!(
            rows,
            vec![
                Row {
                    index: 0,
                    values: vec![Some("é\n\"q\"".into()), Some("x".into()), Some("x".into())]
                },
                Row {
                    index: 1,
                    values: vec![None, None, None]
                },
                Row {
                    index: 2,
                    values: vec![Some("only b".into()), Some("y".into()), Some("y".into())]
                },
            ]
        );
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let (_dir, path) = temp_file(
            "bad.jsonl",
            "{\"a\": \"x\"}\n\n{\"a\": \"y\"\n{\"a\": \"z\"}\n",
        );
        let rows = row_results(&path, &["a"], Sample::All);
        assert_eq!(rows.len(), 3);
        let msg = rows[1].as_ref().unwrap_err().to_string();
        assert!(msg.starts_with("line 3 of "), "{msg}");
        assert!(msg.contains("bad.jsonl"), "{msg}");
        // Reading goes on after a bad line.
        assert_eq!(
            rows[2].as_ref().unwrap().values,
            vec![Some("z".to_string())]
        );
        assert_eq!(rows[2].as_ref().unwrap().index, 2);
    }

    #[test]
    fn non_text_values_name_row_column_and_type() {
        let (_dir, path) = temp_file(
            "t.jsonl",
            "{\"a\": \"x\", \"s\": \"ok\"}\n{\"a\": \"x\", \"s\": 3.5}\n{\"s\": true}\n{\"s\": [\"l\"]}\n{\"s\": {\"k\": 1}}\n",
        );
        let rows = row_results(&path, &["s"], Sample::All);
        let msgs: Vec<String> = rows[1..]
            .iter()
            .map(|r| r.as_ref().unwrap_err().to_string())
            .collect();
        assert_eq!(
            msgs[0],
            "row 1, column \"s\" holds a number, not text; choose a text column"
        );
        assert!(msgs[1].contains("row 2") && msgs[1].contains("a boolean"));
        assert!(msgs[2].contains("row 3") && msgs[2].contains("a list"));
        assert!(msgs[3].contains("row 4") && msgs[3].contains("an object"));
    }

    #[test]
    fn non_object_line_is_an_error() {
        let (_dir, path) = temp_file("t.jsonl", "{\"a\": \"x\"}\n[1, 2]\n");
        let rows = row_results(&path, &["a"], Sample::All);
        let msg = rows[1].as_ref().unwrap_err().to_string();
        assert!(
            msg.starts_with("line 2 of ") && msg.contains("expected a JSON object"),
            "{msg}"
        );
    }

    #[test]
    fn empty_file_has_no_columns() {
        let (_dir, path) = temp_file("e.jsonl", "\n\n");
        let err = open(&path, &every_row(&cols(&["a"])))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("column \"a\" does not exist") && err.contains("no columns"),
            "{err}"
        );
        let ds = open(&path, &every_row(&[])).unwrap();
        assert_eq!(ds.total_rows, Some(0));
        assert_eq!(ds.rows.count(), 0);
    }

    #[test]
    fn large_file_is_fast() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.jsonl");
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!(
                "{{\"id\": {i}, \"text\": \"row number {i} with some words\", \"meta\": {{\"x\": [1, 2, 3]}}}}\n"
            ));
        }
        std::fs::write(&path, text).unwrap();
        let columns = cols(&["text"]);
        let start = std::time::Instant::now();
        let ds = open(&path, &every_row(&columns)).unwrap();
        assert_eq!(ds.total_rows, Some(100_000));
        let mut n = 0;
        for row in ds.rows {
            row.unwrap();
            n += 1;
        }
        assert_eq!(n, 100_000);
        eprintln!("100k JSONL rows in {:?}", start.elapsed());
        let opts = OpenOptions {
            sample: Sample::Random { n: 50, seed: 1 },
            ..every_row(&columns)
        };
        let rows: Vec<Row> = open(&path, &opts)
            .unwrap()
            .rows
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 50);
        for row in rows {
            assert_eq!(
                row.values[0].as_deref(),
                Some(format!("row number {} with some words", row.index).as_str())
            );
        }
    }
}
