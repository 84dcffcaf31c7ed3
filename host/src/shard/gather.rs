//! `merge`'s first step: every shard of the run in the output folder is done, they belong to one
//! run, and they read the same input files.

use super::marker::{self, Marker};
use crate::error::Error;
use std::path::Path;

/// Every shard's marker, in shard order; an error names the missing shards, a marker of another
/// run, or the input file that changed between shards.
pub fn gather(dir: &Path) -> Result<Vec<Marker>, Error> {
    let found = marker::list(dir);
    let Some(&(_, count, _)) = found.first() else {
        return Err(Error::Usage(format!(
            "{} holds no shard-K-of-N.json: no shard of a sharded run finished there (run the shards with --shard K/N --out {} first)",
            dir.display(),
            dir.display()
        )));
    };
    if let Some((_, n, path)) = found.iter().find(|(_, n, _)| *n != count) {
        return Err(Error::Usage(format!(
            "{} holds shards of runs cut into {count} and into {n} shards ({}); keep one run per folder",
            dir.display(),
            path.display()
        )));
    }
    let missing: Vec<String> = (0..count)
        .filter(|k| !found.iter().any(|(i, _, _)| i == k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "{} of {count} shards are not done: shard(s) {} of {count} have no shard-K-of-{count}.json in {}; run them (rerunning a done shard does nothing) and merge again",
            missing.len(),
            missing.join(", "),
            dir.display()
        )));
    }
    let markers = found
        .iter()
        .map(|(_, _, p)| marker::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let first = &markers[0];
    for m in &markers[1..] {
        if m.identity != first.identity {
            return Err(Error::Usage(format!(
                "shard {} of {count} in {} belongs to another run than shard 0 (other datasets, columns, lens or rules); rerun it with the same arguments",
                m.shard,
                dir.display()
            )));
        }
        for (a, b) in first.stamps.iter().zip(&m.stamps) {
            if a != b {
                return Err(Error::Usage(format!(
                    "the dataset changed between shards: {} was {} bytes for shard 0 and {} bytes (or another modification time) for shard {}; rerun every shard on the same data",
                    a.path, a.bytes, b.bytes, m.shard
                )));
            }
        }
        if first.stamps.len() != m.stamps.len() {
            return Err(Error::Usage(format!(
                "the dataset changed between shards: shard 0 read {} file(s) and shard {} read {}; rerun every shard on the same data",
                first.stamps.len(),
                m.shard,
                m.stamps.len()
            )));
        }
    }
    Ok(markers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::{ShardSpec, units::FileStamp};
    use serde_json::json;

    fn write(dir: &Path, index: usize, count: usize, bytes: u64) {
        let marker = Marker {
            identity: json!({"lens": "a"}),
            shard: index,
            count,
            stamps: vec![FileStamp {
                path: "d.parquet".into(),
                bytes,
                modified_ns: 1,
            }],
            stats: json!({}),
        };
        marker::write(dir, ShardSpec { index, count }, &marker).unwrap();
    }

    #[test]
    fn missing_shards_are_named_and_a_changed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = gather(dir.path()).unwrap_err().to_string();
        assert!(err.contains("holds no shard-K-of-N.json"), "{err}");
        write(dir.path(), 0, 4, 10);
        write(dir.path(), 2, 4, 10);
        let err = gather(dir.path()).unwrap_err().to_string();
        assert!(
            err.starts_with("2 of 4 shards are not done: shard(s) 1, 3 of 4"),
            "{err}"
        );
        write(dir.path(), 1, 4, 10);
        write(dir.path(), 3, 4, 11);
        let err = gather(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("the dataset changed between shards: d.parquet was 10 bytes for shard 0 and 11 bytes"), "{err}");
        write(dir.path(), 3, 4, 10);
        assert_eq!(gather(dir.path()).unwrap().len(), 4);
    }
}
