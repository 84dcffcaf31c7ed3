//! `merge --compact`: rewrite a run's per-unit parts (`part-UUUUU-NNNN.parquet`, many small ones when
//! there are many units) into parts of the target size (`part-00000.parquet`, …), rows in the same
//! order. The new parts are written into a temporary folder first and moved in only once complete,
//! so a compaction killed midway leaves the old parts as they were.

use super::parts::Parts;
use crate::error::Error;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};

fn fail(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// The per-unit parts in `dir`, in order.
pub fn unit_parts(dir: &Path) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            // part-UUUUU-NNNN.parquet
            name.len() == "part-00000-0000.parquet".len()
                && name.starts_with("part-")
                && name.ends_with(".parquet")
        })
        .collect();
    parts.sort();
    parts
}

/// Compact the parts of `dir` into parts of about `target_bytes`; the new parts and their sizes.
pub fn compact(dir: &Path, target_bytes: u64) -> Result<Vec<(PathBuf, u64)>, Error> {
    let old = unit_parts(dir);
    let staging = dir.join(".compact");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| fail(&staging, e))?;
    }
    let mut written = Vec::new();
    let mut series = 0;
    let mut current: Option<(Parts, arrow_schema::SchemaRef)> = None;
    for path in &old {
        let file = std::fs::File::open(path).map_err(|e| fail(path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| fail(path, e))?;
        for batch in reader {
            let batch = batch.map_err(|e| fail(path, e))?;
            // A part holds one schema: datasets of different columns go to different parts.
            if current.as_ref().is_some_and(|(_, s)| *s != batch.schema()) {
                let (parts, _) = current.take().expect("checked");
                written.extend(parts.finish()?);
            }
            let (parts, _) = current.get_or_insert_with(|| {
                series += 1;
                (
                    Parts::new(&staging, "series", series - 1, target_bytes),
                    batch.schema(),
                )
            });
            parts.write(&batch)?;
        }
    }
    if let Some((parts, _)) = current {
        written.extend(parts.finish()?);
    }
    // Every new part is complete: swap them in.
    for path in &old {
        std::fs::remove_file(path).map_err(|e| fail(path, e))?;
    }
    let mut done = Vec::new();
    for (n, (path, bytes)) in written.into_iter().enumerate() {
        let target = dir.join(format!("part-{n:05}.parquet"));
        std::fs::rename(&path, &target).map_err(|e| fail(&target, e))?;
        done.push((target, bytes));
    }
    std::fs::remove_dir_all(&staging).map_err(|e| fail(&staging, e))?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
    use std::sync::Arc;

    #[test]
    fn many_small_parts_become_few_in_the_same_order() {
        let dir = tempfile::tempdir().unwrap();
        for unit in 0..6 {
            let mut parts = Parts::new(dir.path(), "part", unit, 1 << 30);
            let ids = Int64Array::from_iter_values(unit as i64 * 100..unit as i64 * 100 + 100);
            parts
                .write(&RecordBatch::try_from_iter([("id", Arc::new(ids) as ArrayRef)]).unwrap())
                .unwrap();
            parts.finish().unwrap();
        }
        assert_eq!(unit_parts(dir.path()).len(), 6);
        let done = compact(dir.path(), 1 << 30).unwrap();
        assert_eq!(done.len(), 1);
        assert!(unit_parts(dir.path()).is_empty());
        let file = std::fs::File::open(dir.path().join("part-00000.parquet")).unwrap();
        let ids: Vec<i64> = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .flat_map(|b| {
                let b = b.unwrap();
                let a = b
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .clone();
                (0..a.len()).map(move |i| a.value(i))
            })
            .collect();
        assert_eq!(ids, (0..600).collect::<Vec<_>>());
    }
}
