//! The rows of a split stored in several files, read as one dataset: every row in order, a row
//! range (split slicing), an exact seeded sample, or a streaming shuffle.
//!
//! Row numbers continue across files (`row` = position in the split), so a row can be found
//! again. When file sizes in rows are unknown (streamed text files read in shuffled order) the
//! number is the position in the stream instead.

use super::shuffle::ShuffleBuffer;
use crate::data::{self, DataError, OpenOptions, Row, Sample, Source};
use std::ops::Range;
use std::sync::Arc;

/// One file and the rows to read from it.
#[derive(Debug, Clone)]
pub struct Part {
    pub source: Source,
    /// Row number of the file's first row in the split, when known.
    pub offset: Option<u64>,
    pub sample: Sample,
}

/// The exact rows to read from files whose row counts are known: `ranges` (row ranges over the
/// concatenated files, ascending, not overlapping), then optionally a seeded sample of `n` of them.
pub fn exact_parts(
    sources: Vec<(Source, u64)>,
    ranges: &[Range<u64>],
    sample: Option<(usize, u64)>,
) -> Vec<Part> {
    let selected: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    // Positions within the selected rows, mapped back to row numbers of the split.
    let picked: Option<Vec<u64>> = sample.map(|(n, seed)| {
        let mut out = Vec::new();
        let positions = data::sample_indices(selected, n, seed);
        let (mut range, mut before) = (0, 0);
        for p in positions {
            while p >= before + (ranges[range].end - ranges[range].start) {
                before += ranges[range].end - ranges[range].start;
                range += 1;
            }
            out.push(ranges[range].start + (p - before));
        }
        out
    });
    let mut parts = Vec::new();
    let mut offset = 0;
    for (source, rows) in sources {
        let file = offset..offset + rows;
        offset += rows;
        let local: Vec<u64> = match &picked {
            Some(picked) => picked
                .iter()
                .filter(|i| file.contains(i))
                .map(|i| i - file.start)
                .collect(),
            None => ranges
                .iter()
                .flat_map(|r| r.start.max(file.start)..r.end.min(file.end))
                .map(|i| i - file.start)
                .collect(),
        };
        if local.is_empty() {
            continue;
        }
        // The count is known already: reading the file is enough.
        let sample = if local.len() as u64 == rows {
            Sample::AllUncounted
        } else {
            Sample::Indices(Arc::from(local))
        };
        parts.push(Part {
            source,
            offset: Some(file.start),
            sample,
        });
    }
    parts
}

/// Reads the parts one after another, opening each file only when the previous one is done.
pub struct Chain {
    parts: std::vec::IntoIter<Part>,
    columns: Vec<String>,
    current: Option<(crate::data::Rows, u64)>,
    /// Where the next file starts when its offset is unknown: rows seen so far.
    running: u64,
    failed: bool,
}

impl Chain {
    pub fn new(parts: Vec<Part>, columns: &[String]) -> Chain {
        Chain {
            parts: parts.into_iter(),
            columns: columns.to_vec(),
            current: None,
            running: 0,
            failed: false,
        }
    }
}

impl Iterator for Chain {
    type Item = Result<Row, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            if let Some((rows, offset)) = &mut self.current {
                match rows.next() {
                    Some(Ok(mut row)) => {
                        self.running = self.running.max(*offset + row.index + 1);
                        row.index += *offset;
                        return Some(Ok(row));
                    }
                    Some(Err(e)) => return Some(Err(e)),
                    None => self.current = None,
                }
            }
            let part = self.parts.next()?;
            let opts = OpenOptions {
                columns: &self.columns,
                split: None,
                sample: part.sample,
            };
            match data::open_source(&part.source, &opts) {
                Ok(dataset) => {
                    let offset = part.offset.unwrap_or(self.running);
                    self.current = Some((dataset.rows, offset));
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Rows `range` of a stream: skips rows before it and stops reading at its end (without
/// pulling one row too many, which could open the next file).
pub fn take_range(
    rows: impl Iterator<Item = Result<Row, DataError>> + Send + 'static,
    range: Range<u64>,
) -> Box<dyn Iterator<Item = Result<Row, DataError>> + Send> {
    let end = usize::try_from(range.end).unwrap_or(usize::MAX);
    let start = usize::try_from(range.start).unwrap_or(usize::MAX);
    Box::new(rows.take(end).skip(start))
}

/// `--max N` while streaming: shuffled file order, then a shuffle buffer, then the first N rows.
pub fn shuffled(
    mut parts: Vec<Part>,
    columns: &[String],
    n: usize,
    seed: u64,
    buffer: usize,
) -> Box<dyn Iterator<Item = Result<Row, DataError>> + Send> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    parts.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    Box::new(ShuffleBuffer::new(Chain::new(parts, columns), buffer, seed).take(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn src(name: &str) -> Source {
        Source::Local(PathBuf::from(name))
    }

    fn indices(part: &Part) -> Vec<u64> {
        match &part.sample {
            Sample::Indices(i) => i.to_vec(),
            Sample::AllUncounted => vec![u64::MAX],
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn ranges_map_to_files() {
        let files = vec![(src("a"), 10), (src("b"), 10), (src("c"), 10)];
        let parts = exact_parts(files, std::slice::from_ref(&(5..12)), None);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].offset, Some(0));
        assert_eq!(indices(&parts[0]), vec![5, 6, 7, 8, 9]);
        assert_eq!(parts[1].offset, Some(10));
        assert_eq!(indices(&parts[1]), vec![0, 1]);
        let all = exact_parts(
            vec![(src("a"), 3), (src("b"), 4)],
            std::slice::from_ref(&(0..7)),
            None,
        );
        assert!(all.iter().all(|p| matches!(p.sample, Sample::AllUncounted)));
        assert_eq!(all[1].offset, Some(3));
    }

    #[test]
    fn samples_are_drawn_over_the_selected_rows_only() {
        let files = vec![(src("a"), 100), (src("b"), 100)];
        let parts = exact_parts(files, std::slice::from_ref(&(50..150)), Some((20, 9)));
        let mut global = Vec::new();
        for p in &parts {
            global.extend(indices(p).into_iter().map(|i| i + p.offset.unwrap()));
        }
        assert_eq!(global.len(), 20);
        assert!(global.iter().all(|i| (50..150).contains(i)));
        let expected: Vec<u64> = data::sample_indices(100, 20, 9)
            .into_iter()
            .map(|i| i + 50)
            .collect();
        assert_eq!(global, expected);
    }

    #[test]
    fn chain_numbers_rows_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jsonl");
        let b = dir.path().join("b.jsonl");
        std::fs::write(&a, "{\"t\":\"a0\"}\n{\"t\":\"a1\"}\n").unwrap();
        std::fs::write(&b, "{\"t\":\"b0\"}\n{\"t\":\"b1\"}\n{\"t\":\"b2\"}\n").unwrap();
        let part = |p: &PathBuf, offset| Part {
            source: Source::Local(p.clone()),
            offset,
            sample: Sample::All,
        };
        let cols = vec!["t".to_string()];
        let rows: Vec<Row> = Chain::new(vec![part(&a, None), part(&b, None)], &cols)
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            rows.iter().map(|r| r.index).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(rows[2].values, vec![Some("b0".to_string())]);
        let sliced: Vec<u64> = take_range(
            Chain::new(vec![part(&a, None), part(&b, None)], &cols),
            1..3,
        )
        .map(|r| r.unwrap().index)
        .collect();
        assert_eq!(sliced, vec![1, 2]);
        let shuffled: Vec<u64> = shuffled(vec![part(&a, None), part(&b, None)], &cols, 3, 1, 2)
            .map(|r| r.unwrap().index)
            .collect();
        assert_eq!(shuffled.len(), 3);
    }
}
