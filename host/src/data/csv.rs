//! CSV files with a header row. Every field is text: an empty field is `Some("")`.

use std::io::Read;
use std::path::{Path, PathBuf};

use csv::{ByteRecord, Reader, ReaderBuilder};

use super::row_loop::{Records, RowLoop};
use super::sample::{Picked, Picker};
use super::{
    DataError, Dataset, OpenOptions, Row, Source, check_columns, counts_up_front, display_name,
};

const FORMAT: &str = "CSV";

type CsvReader = Reader<Box<dyn Read + Send>>;

/// A CSV reader from the first record (past the header). `.tsv` files are tab-separated.
fn reader(source: &Source) -> Result<CsvReader, DataError> {
    let path = source.path();
    let delimiter = if source.extension() == "tsv" {
        b'\t'
    } else {
        b','
    };
    let mut rdr = ReaderBuilder::new()
        .has_headers(true)
        .delimiter(delimiter)
        .buffer_capacity(256 * 1024)
        .from_reader(source.open_text().map_err(|e| DataError::io(path, e))?);
    rdr.byte_headers().map_err(|e| csv_error(path, e))?;
    Ok(rdr)
}

pub(crate) fn open(source: &Source, opts: &OpenOptions) -> Result<Dataset, DataError> {
    let path = source.path();
    let mut rdr = reader(source)?;
    let headers = rdr.headers().map_err(|e| csv_error(path, e))?.clone();
    let available: Vec<String> = headers.iter().map(str::to_string).collect();
    check_columns(path, opts.columns, &available)?;
    let positions: Vec<usize> = opts
        .columns
        .iter()
        .map(|c| {
            available
                .iter()
                .position(|a| a == c)
                .expect("checked above")
        })
        .collect();

    let (total_rows, picker) = match opts.sample.indices(|| count(source))? {
        Picked::All if counts_up_front(source, &opts.sample) => (Some(count(source)?), None),
        Picked::All => (None, None),
        Picked::Rows(indices) => (Some(indices.len() as u64), Some(Picker::new(indices))),
    };

    Ok(Dataset {
        name: display_name(path),
        total_rows,
        rows: Box::new(RowLoop::new(
            CsvRecords {
                path: path.to_path_buf(),
                rdr,
                record: ByteRecord::new(),
                malformed: None,
                columns: opts.columns.to_vec(),
                positions,
            },
            picker,
        )),
    })
}

/// The number of records in the file, by reading it once.
pub(crate) fn count(source: &Source) -> Result<u64, DataError> {
    let path = source.path();
    let mut rdr = reader(source)?;
    let mut record = ByteRecord::new();
    let mut n = 0;
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => n += 1,
            Ok(false) => break,
            // A malformed record still counts as a row; the reading pass reports it.
            Err(e) if !matches!(e.kind(), csv::ErrorKind::Io(_)) => n += 1,
            Err(e) => return Err(csv_error(path, e)),
        }
    }
    Ok(n)
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let line = e.position().map(|p| p.line());
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("it has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("field {} is not valid UTF-8", err.field() + 1),
        _ => e.to_string(),
    };
    match e.into_kind() {
        csv::ErrorKind::Io(io) => DataError::io(path, io),
        _ => match line {
            Some(line) => DataError::invalid_line(path, line, FORMAT, reason),
            None => DataError::invalid_file(path, "CSV file", reason),
        },
    }
}

/// The records of a CSV file, as [`Records`].
struct CsvRecords {
    path: PathBuf,
    rdr: CsvReader,
    record: ByteRecord,
    /// Why the record just passed could not be parsed (it still counts as a row).
    malformed: Option<csv::Error>,
    columns: Vec<String>,
    positions: Vec<usize>,
}

impl Records for CsvRecords {
    fn advance(&mut self, _wanted: bool) -> Result<bool, DataError> {
        self.malformed = None;
        match self.rdr.read_byte_record(&mut self.record) {
            Ok(more) => Ok(more),
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => Err(csv_error(&self.path, e)),
            Err(e) => {
                self.malformed = Some(e);
                Ok(true)
            }
        }
    }

    fn row(&mut self, index: u64) -> Result<Row, DataError> {
        if let Some(e) = self.malformed.take() {
            return Err(csv_error(&self.path, e));
        }
        let mut values = Vec::with_capacity(self.positions.len());
        for (&pos, column) in self.positions.iter().zip(&self.columns) {
            let field = self.record.get(pos).unwrap_or_default();
            match std::str::from_utf8(field) {
                Ok(text) => values.push(Some(text.to_string())),
                Err(_) => {
                    let line = self.record.position().map_or(0, |p| p.line());
                    return Err(DataError::invalid_line(
                        &self.path,
                        line,
                        FORMAT,
                        format!("column \"{column}\" is not valid UTF-8"),
                    ));
                }
            }
        }
        Ok(Row { index, values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Sample;
    use crate::data::tests::{ok_rows, row_results, temp_file};

    #[test]
    fn fields_are_text_with_quotes_newlines_and_empty_values() {
        let (_dir, path) = temp_file(
            "d.csv",
            "\u{feff}id,text,n\n1,\"multi\nline, \"\"quoted\"\"\",5\n2,,\n\n3,plain,x\n",
        );
        let rows = ok_rows(&path, &["text", "n", "id"]);
        assert_eq!(
            rows,
            vec![
                Row {
                    index: 0,
                    values: vec![
                        Some("multi\nline, \"quoted\"".into()),
                        Some("5".into()),
                        Some("1".into())
                    ]
                },
                Row {
                    index: 1,
                    values: vec![Some("".into()), Some("".into()), Some("2".into())]
                },
                Row {
                    index: 2,
                    values: vec![Some("plain".into()), Some("x".into()), Some("3".into())]
                },
            ]
        );
    }

    #[test]
    fn ragged_record_names_the_line_and_reading_goes_on() {
        let (_dir, path) = temp_file("r.csv", "a,b\n1,2\n3,4,5\n6,7\n");
        let rows = row_results(&path, &["b"], Sample::All);
        assert_eq!(rows.len(), 3);
        let msg = rows[1].as_ref().unwrap_err().to_string();
        assert!(
            msg.starts_with("line 3 of ") && msg.contains("r.csv") && msg.contains("3 fields"),
            "{msg}"
        );
        assert_eq!(
            rows[2].as_ref().unwrap(),
            &Row {
                index: 2,
                values: vec![Some("7".into())]
            }
        );
    }
}
