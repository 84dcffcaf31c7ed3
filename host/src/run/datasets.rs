//! Opening a run's datasets, and keeping the first rows of one so that a planning pass and the
//! rating pass after it read them only once.

use crate::config::Selection;
use crate::data::{Dataset, Row};
use crate::error::Error;
use crate::hub::Hub;
use crate::input::{self, Input};
use std::path::Path;
use std::sync::Arc;

/// The kept first rows stop here even before the row limit: planning must not hold a dataset of
/// huge rows in memory.
const MAX_HEAD_BYTES: usize = 64 << 20;

/// Open one dataset argument (local or on the Hub) off the async threads.
pub async fn open(
    config: &Selection,
    arg: &Path,
    hub: Option<&Arc<Hub>>,
) -> Result<Dataset, Error> {
    let input = Input {
        columns: config.columns.clone(),
        split: config.split.clone(),
        sample: config.sample.clone(),
        hub: config.hub.clone(),
    };
    let (arg, hub) = (arg.to_path_buf(), hub.cloned());
    tokio::task::spawn_blocking(move || input::open(&arg, &input, hub.as_deref()))
        .await
        .map_err(|e| Error::Internal(format!("opening a dataset panicked: {e}")))?
}

/// A dataset's first rows, read, and the rest of it, not yet read.
pub struct Head {
    rows: Vec<Row>,
    rest: Dataset,
    /// The dataset may have more rows than were kept.
    pub limited: bool,
}

/// Read the first `n` rows of `dataset` (fewer if they pass [`MAX_HEAD_BYTES`]).
pub async fn read_head(dataset: Dataset, n: u64) -> Result<Head, Error> {
    tokio::task::spawn_blocking(move || {
        let Dataset {
            name,
            total_rows,
            mut rows,
        } = dataset;
        let (mut head, mut bytes, mut limited) = (Vec::new(), 0, false);
        for row in rows.by_ref() {
            let row = row?;
            bytes += row.values.iter().flatten().map(String::len).sum::<usize>();
            head.push(row);
            if head.len() as u64 >= n || bytes >= MAX_HEAD_BYTES {
                limited = true;
                break;
            }
        }
        Ok(Head {
            rows: head,
            rest: Dataset {
                name,
                total_rows,
                rows,
            },
            limited,
        })
    })
    .await
    .map_err(|e| Error::Internal(format!("reading a dataset panicked: {e}")))?
}

impl Head {
    /// The first rows alone (to plan), and the whole dataset again from its first row (to rate).
    pub fn replay(self) -> (Dataset, Dataset) {
        let first = Dataset {
            name: self.rest.name.clone(),
            total_rows: Some(self.rows.len() as u64),
            rows: Box::new(self.rows.clone().into_iter().map(Ok)),
        };
        let whole = Dataset {
            name: self.rest.name,
            total_rows: self.rest.total_rows,
            rows: Box::new(self.rows.into_iter().map(Ok).chain(self.rest.rows)),
        };
        (first, whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(n: u64) -> Dataset {
        Dataset {
            name: "d".into(),
            total_rows: Some(n),
            rows: Box::new((0..n).map(|index| {
                Ok(Row {
                    index,
                    values: vec![Some(format!("row {index}"))],
                })
            })),
        }
    }

    fn indices(d: Dataset) -> Vec<u64> {
        d.rows.map(|r| r.unwrap().index).collect()
    }

    #[tokio::test]
    async fn the_head_is_planned_and_then_rated_with_the_rest_in_order() {
        let head = read_head(dataset(10), 4).await.unwrap();
        assert!(head.limited);
        let (first, whole) = head.replay();
        assert_eq!(indices(first), [0, 1, 2, 3]);
        assert_eq!(whole.total_rows, Some(10));
        assert_eq!(indices(whole), (0..10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_short_dataset_is_read_whole_and_not_limited() {
        let head = read_head(dataset(3), 4).await.unwrap();
        assert!(!head.limited);
        let (first, whole) = head.replay();
        assert_eq!(indices(first), [0, 1, 2]);
        assert_eq!(indices(whole), [0, 1, 2]);
    }
}
