//! The row loop shared by the text formats (JSON Lines, JSON arrays, CSV): number every record, keep
//! the sampled ones, stop after the last sampled row, and end at the first error that leaves the
//! rest of the file unreadable. Each format only says how to pass a record and how to read one.

use super::sample::Picker;
use super::{DataError, Row};

/// One text format's records, read in file order.
pub(crate) trait Records {
    /// Moves past the next record. `wanted` says whether [`Records::row`] will be asked for it, so
    /// a reader can skip parsing (or copying) the others. `Ok(false)` at the end of the file; an
    /// `Err` ends the rows (an I/O error, a broken file structure).
    fn advance(&mut self, wanted: bool) -> Result<bool, DataError>;

    /// The record just passed, as row `index`, or why its values cannot be read (that row only).
    fn row(&mut self, index: u64) -> Result<Row, DataError>;
}

/// Rows of a file: every record, or the sampled ones (`picker`), in order.
pub(crate) struct RowLoop<R> {
    records: R,
    picker: Option<Picker>,
    /// Index of the next record.
    next: u64,
    done: bool,
}

impl<R> RowLoop<R> {
    pub(crate) fn new(records: R, picker: Option<Picker>) -> Self {
        RowLoop {
            records,
            picker,
            next: 0,
            done: false,
        }
    }
}

impl<R: Records> Iterator for RowLoop<R> {
    type Item = Result<Row, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if self.picker.as_ref().is_some_and(Picker::finished) {
                break;
            }
            let index = self.next;
            let wanted = self.picker.as_mut().is_none_or(|p| p.take(index));
            match self.records.advance(wanted) {
                Ok(true) => self.next += 1,
                Ok(false) => break,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            if wanted {
                return Some(self.records.row(index));
            }
        }
        self.done = true;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records `0..n`; record `bad` cannot be read, and reading stops with an error at `broken`.
    struct Numbers {
        n: u64,
        at: u64,
        bad: u64,
        broken: u64,
        parsed: Vec<u64>,
    }

    impl Records for Numbers {
        fn advance(&mut self, wanted: bool) -> Result<bool, DataError> {
            if self.at == self.broken {
                return Err(DataError::invalid_file(
                    std::path::Path::new("n"),
                    "test",
                    "broken",
                ));
            }
            if self.at == self.n {
                return Ok(false);
            }
            if wanted {
                self.parsed.push(self.at);
            }
            self.at += 1;
            Ok(true)
        }

        fn row(&mut self, index: u64) -> Result<Row, DataError> {
            assert_eq!(
                index + 1,
                self.at,
                "row() is asked for the record just passed"
            );
            if index == self.bad {
                return Err(DataError::ValueType {
                    row: index,
                    column: "n".into(),
                    found: "a number",
                });
            }
            Ok(Row {
                index,
                values: vec![Some(index.to_string())],
            })
        }
    }

    fn numbers(n: u64, bad: u64, broken: u64) -> Numbers {
        Numbers {
            n,
            at: 0,
            bad,
            broken,
            parsed: Vec::new(),
        }
    }

    #[test]
    fn every_row_in_order_and_a_bad_one_does_not_stop_the_rest() {
        let rows: Vec<_> = RowLoop::new(numbers(4, 1, u64::MAX), None).collect();
        assert_eq!(rows.len(), 4);
        assert!(rows[1].is_err());
        let indices: Vec<u64> = rows.iter().flatten().map(|r| r.index).collect();
        assert_eq!(indices, vec![0, 2, 3]);
    }

    #[test]
    fn sampled_rows_only_and_reading_stops_after_the_last() {
        let mut rows = RowLoop::new(
            numbers(100, u64::MAX, u64::MAX),
            Some(Picker::new(vec![2, 5])),
        );
        let indices: Vec<u64> = rows.by_ref().map(|r| r.unwrap().index).collect();
        assert_eq!(indices, vec![2, 5]);
        // Only the sampled records were parsed, and nothing after the last one was read.
        assert_eq!(rows.records.parsed, vec![2, 5]);
        assert_eq!(rows.records.at, 6);
    }

    #[test]
    fn an_unreadable_file_ends_the_rows_with_its_error() {
        let rows: Vec<_> = RowLoop::new(numbers(10, u64::MAX, 3), None).collect();
        assert_eq!(rows.len(), 4);
        assert!(rows[..3].iter().all(Result::is_ok));
        assert!(rows[3].as_ref().unwrap_err().to_string().contains("broken"));
    }
}
