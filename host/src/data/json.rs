//! `.json` files: a JSON array of objects, read element by element, or JSON Lines content
//! (a file that does not start with `[`), as `datasets` accepts.
//!
//! The array is never loaded whole: a small scanner finds where each element ends (tracking
//! strings and bracket depth) and only the elements that are read get parsed.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::json_object::{cells_to_row, json_reason, object_keys, parse_object};
use super::jsonl;
use super::row_loop::{Records, RowLoop};
use super::sample::{Picked, Picker};
use super::{
    DataError, Dataset, OpenOptions, Row, Source, check_columns, counts_up_front, display_name,
};

const FORMAT: &str = "JSON";

pub(crate) fn open(source: &Source, opts: &OpenOptions) -> Result<Dataset, DataError> {
    let path = source.path();
    let mut scanner = Scanner::open(source).map_err(|e| DataError::io(path, e))?;
    let first = scanner.skip_ws().map_err(|e| DataError::io(path, e))?;
    if first != Some(b'[') {
        // Not an array: JSON Lines (one object per line), like `datasets` reads it.
        return jsonl::open(source, opts);
    }

    // The keys of the first object are the columns.
    let mut elements = Elements::new(scanner, path);
    let mut buf = Vec::new();
    let available = match elements.next(Some(&mut buf))? {
        Some(line) => object_keys(&buf).map_err(|e| element_error(path, line, &e))?,
        None => Vec::new(),
    };
    check_columns(path, opts.columns, &available)?;

    let (total_rows, picker) = match opts.sample.indices(|| count_rows(&mut elements))? {
        Picked::All if counts_up_front(source, &opts.sample) => {
            (Some(count_rows(&mut elements)?), None)
        }
        Picked::All => (None, None),
        Picked::Rows(indices) => (Some(indices.len() as u64), Some(Picker::new(indices))),
    };
    elements.rewind()?;

    Ok(Dataset {
        name: display_name(path),
        total_rows,
        rows: Box::new(RowLoop::new(
            JsonRecords {
                elements,
                buf,
                start_line: 0,
                columns: opts.columns.to_vec(),
            },
            picker,
        )),
    })
}

/// The number of rows in the file, by reading it once.
pub(crate) fn count(source: &Source) -> Result<u64, DataError> {
    let path = source.path();
    let mut scanner = Scanner::open(source).map_err(|e| DataError::io(path, e))?;
    if scanner.skip_ws().map_err(|e| DataError::io(path, e))? != Some(b'[') {
        return jsonl::count(source);
    }
    count_rows(&mut Elements::new(scanner, path))
}

fn count_rows(elements: &mut Elements) -> Result<u64, DataError> {
    elements.rewind()?;
    let mut n = 0;
    while elements.next(None)?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// An element that serde_json rejects: its line is relative to the element's first line.
fn element_error(path: &Path, start_line: u64, e: &serde_json::Error) -> DataError {
    let line = start_line + (e.line() as u64).saturating_sub(1);
    DataError::invalid_line(path, line, FORMAT, json_reason(e, false))
}

/// The elements of a JSON array, as [`Records`].
struct JsonRecords {
    elements: Elements,
    /// The bytes of the element just passed, when it was wanted.
    buf: Vec<u8>,
    /// The line the element just passed starts on.
    start_line: u64,
    columns: Vec<String>,
}

impl Records for JsonRecords {
    fn advance(&mut self, wanted: bool) -> Result<bool, DataError> {
        let out = if wanted { Some(&mut self.buf) } else { None };
        Ok(match self.elements.next(out)? {
            Some(line) => {
                self.start_line = line;
                true
            }
            None => false,
        })
    }

    fn row(&mut self, index: u64) -> Result<Row, DataError> {
        match parse_object(&self.buf, &self.columns) {
            Ok(cells) => cells_to_row(index, cells, &self.columns),
            Err(e) => Err(element_error(&self.elements.path, self.start_line, &e)),
        }
    }
}

/// The elements of a top-level JSON array.
struct Elements {
    scanner: Scanner,
    path: PathBuf,
    /// Position: before the first element, between elements, or after the closing `]`.
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Middle,
    End,
}

impl Elements {
    /// `scanner` must be positioned at the opening `[`.
    fn new(scanner: Scanner, path: &Path) -> Self {
        Elements {
            scanner,
            path: path.to_path_buf(),
            state: State::Start,
        }
    }

    fn rewind(&mut self) -> Result<(), DataError> {
        self.scanner
            .rewind()
            .map_err(|e| DataError::io(&self.path, e))?;
        self.scanner
            .skip_ws()
            .map_err(|e| DataError::io(&self.path, e))?;
        self.state = State::Start;
        Ok(())
    }

    fn syntax(&self, reason: impl std::fmt::Display) -> DataError {
        DataError::invalid_line(&self.path, self.scanner.line, FORMAT, reason)
    }

    /// Finds the next element, copying its bytes into `out` if given; returns the line it
    /// starts on, or `None` after the last element.
    fn next(&mut self, out: Option<&mut Vec<u8>>) -> Result<Option<u64>, DataError> {
        let ioe = |e: io::Error, path: &Path| DataError::io(path, e);
        match self.state {
            State::End => return Ok(None),
            State::Start => {
                self.scanner.bump().map_err(|e| ioe(e, &self.path))?; // '['
                if self.scanner.skip_ws().map_err(|e| ioe(e, &self.path))? == Some(b']') {
                    self.scanner.bump().map_err(|e| ioe(e, &self.path))?;
                    return self.finish();
                }
            }
            State::Middle => match self.scanner.skip_ws().map_err(|e| ioe(e, &self.path))? {
                Some(b',') => {
                    self.scanner.bump().map_err(|e| ioe(e, &self.path))?;
                }
                Some(b']') => {
                    self.scanner.bump().map_err(|e| ioe(e, &self.path))?;
                    return self.finish();
                }
                Some(c) => {
                    return Err(self.syntax(format!(
                        "expected `,` or `]` between array elements, found `{}`",
                        c as char
                    )));
                }
                None => return Err(self.syntax("the array is not closed with `]`")),
            },
        }
        self.state = State::Middle;
        match self.scanner.skip_ws().map_err(|e| ioe(e, &self.path))? {
            None => return Err(self.syntax("the array is not closed with `]`")),
            Some(b']') => return Err(self.syntax("trailing comma before `]`")),
            Some(_) => {}
        }
        let line = self.scanner.line;
        let mut out = out;
        if let Some(buf) = out.as_deref_mut() {
            buf.clear();
        }
        match self.scanner.element(out) {
            Ok(true) => Ok(Some(line)),
            Ok(false) => Err(self.syntax("unexpected end of file inside an array element")),
            Err(e) => Err(ioe(e, &self.path)),
        }
    }

    /// After the closing `]`: only whitespace may follow.
    fn finish(&mut self) -> Result<Option<u64>, DataError> {
        self.state = State::End;
        match self
            .scanner
            .skip_ws()
            .map_err(|e| DataError::io(&self.path, e))?
        {
            None => Ok(None),
            Some(_) => Err(self.syntax("unexpected content after the closing `]`")),
        }
    }
}

/// Buffered byte reader with line counting.
struct Scanner {
    source: Source,
    file: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Current line (1-based).
    line: u64,
    at_start: bool,
}

impl Scanner {
    fn open(source: &Source) -> io::Result<Self> {
        Ok(Scanner {
            source: source.clone(),
            file: source.open_text()?,
            buf: vec![0; 256 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
            line: 1,
            at_start: true,
        })
    }

    /// Back to the start (by opening the file again: it may be compressed or remote).
    fn rewind(&mut self) -> io::Result<()> {
        self.file = self.source.open_text()?;
        self.pos = 0;
        self.len = 0;
        self.line = 1;
        self.at_start = true;
        Ok(())
    }

    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.len {
            return Ok(true);
        }
        loop {
            match self.file.read(&mut self.buf) {
                Ok(n) => {
                    self.pos = 0;
                    self.len = n;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.at_start {
            self.at_start = false;
            if self.buf[..self.len].starts_with(b"\xEF\xBB\xBF") {
                self.pos = 3;
                return self.fill();
            }
        }
        Ok(self.pos < self.len)
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(if self.fill()? {
            Some(self.buf[self.pos])
        } else {
            None
        })
    }

    fn bump(&mut self) -> io::Result<Option<u8>> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }

    /// Skips whitespace and returns the next byte without consuming it.
    fn skip_ws(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.peek()? {
                Some(b) if b.is_ascii_whitespace() => {
                    self.bump()?;
                }
                other => return Ok(other),
            }
        }
    }

    /// Consumes one JSON value (copying it into `out`); `false` if the file ends inside it.
    /// The value's syntax is checked only by whoever parses `out`.
    fn element(&mut self, mut out: Option<&mut Vec<u8>>) -> io::Result<bool> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut first = true;
        loop {
            if !self.fill()? {
                // A bare scalar may end at the end of the file (the caller then reports the
                // missing `]`); anything else is cut short.
                return Ok(!in_string && depth == 0 && !first);
            }
            // Fast path: scan the buffer in place.
            let start = self.pos;
            let mut i = self.pos;
            let mut done = false;
            while i < self.len {
                let b = self.buf[i];
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            i += 1;
                            done = true;
                            break;
                        }
                    } else if b == b'\n' {
                        self.line += 1;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' if depth > 0 => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                done = true;
                                break;
                            }
                        }
                        b',' | b']' | b'}' if depth == 0 => {
                            done = true;
                            break;
                        }
                        b if depth == 0 && b.is_ascii_whitespace() && !first => {
                            done = true;
                            break;
                        }
                        b'\n' => self.line += 1,
                        _ => {}
                    }
                }
                first = false;
                i += 1;
            }
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(&self.buf[start..i]);
            }
            self.pos = i;
            if done {
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::open;
    use crate::data::tests::{cols, every_row, ok_rows, row_results, temp_file};
    use crate::data::{Sample, sample_indices};

    #[test]
    fn array_with_nested_values_strings_and_whitespace() {
        let (_dir, path) = temp_file(
            "a.json",
            "\u{feff}\n[\n  {\"t\": \"a ] } [ { , \\\" \\\\\", \"x\": [1, {\"y\": \"]\"}]},\n  {\"x\": null, \"t\": null}\n ,{\"t\":\"c\"}]\n\n",
        );
        let rows = ok_rows(&path, &["t"]);
        assert_eq!(
            rows,
            vec![
                Row {
                    index: 0,
                    values: vec![Some("a ] } [ { , \" \\".into())]
                },
                Row {
                    index: 1,
                    values: vec![None]
                },
                Row {
                    index: 2,
                    values: vec![Some("c".into())]
                },
            ]
        );
        let sampled: Vec<u64> = row_results(&path, &["t"], Sample::Random { n: 2, seed: 3 })
            .into_iter()
            .map(|r| r.unwrap().index)
            .collect();
        assert_eq!(sampled, sample_indices(3, 2, 3));
    }

    #[test]
    fn empty_array_and_jsonl_content() {
        let (_dir, path) = temp_file("e.json", " [ ] ");
        assert!(row_results(&path, &[], Sample::All).is_empty());
        std::fs::write(&path, "{\"t\": \"a\"}\n{\"t\": \"b\"}\n").unwrap();
        let values: Vec<Option<String>> = ok_rows(&path, &["t"])
            .into_iter()
            .map(|r| r.values[0].clone())
            .collect();
        assert_eq!(values, vec![Some("a".into()), Some("b".into())]);
    }

    #[test]
    fn errors_name_the_line() {
        let (_dir, path) = temp_file(
            "bad.json",
            "[\n{\"t\": \"a\"},\n{\"t\": \n  tru},\n{\"t\": \"c\"}\n]",
        );
        let rows = row_results(&path, &["t"], Sample::All);
        let msg = rows[1].as_ref().unwrap_err().to_string();
        assert!(
            msg.starts_with("line 4 of ") && msg.contains("bad.json"),
            "{msg}"
        );
        assert_eq!(
            rows[2].as_ref().unwrap().values,
            vec![Some("c".to_string())]
        );

        // Broken array structure is found by the counting pass, so `open` reports it.
        let columns = cols(&["t"]);
        let opts = every_row(&columns);
        std::fs::write(&path, "[{\"t\": \"a\"} {\"t\": \"b\"}]").unwrap();
        let msg = open(&path, &opts).unwrap_err().to_string();
        assert!(msg.contains("expected `,` or `]`"), "{msg}");

        std::fs::write(&path, "[{\"t\": \"a\"},\n{\"t\": \"b\"}").unwrap();
        let msg = open(&path, &opts).unwrap_err().to_string();
        assert!(
            msg.contains("line 2") && msg.contains("not closed"),
            "{msg}"
        );

        std::fs::write(&path, "[\"text\", 1]").unwrap();
        let msg = open(&path, &opts).unwrap_err().to_string();
        assert!(
            msg.contains("line 1 of") && msg.contains("expected a JSON object"),
            "{msg}"
        );
    }
}
