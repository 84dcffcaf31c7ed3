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
        // The data first: a Hub dataset whose branch moved between shards also has another
        // commit in its identity, and the file that changed says more than "another run".
        for (a, b) in first.stamps.iter().zip(&m.stamps) {
            if let Some(change) = a.difference(b) {
                return Err(Error::Usage(format!(
                    "the dataset changed between shards: for shard {} of {count}, {change} (as shard 0 saw it); rerun every shard on the same data",
                    m.shard
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
        if !super::marker::same_run(&m.identity, &first.identity) {
            let commits = |i: &serde_json::Value| i.get("hub_commits").cloned();
            let what = if commits(&m.identity) != commits(&first.identity) {
                "another commit of the Hub dataset"
            } else {
                "other datasets, columns, lens or rules"
            };
            return Err(Error::Usage(format!(
                "shard {} of {count} in {} belongs to another run than shard 0 ({what}); rerun it with the same arguments",
                m.shard,
                dir.display()
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
        write_stamp(dir, index, count, stamp("d.parquet", bytes, None), "c1");
    }

    fn stamp(path: &str, bytes: u64, etag: Option<&str>) -> FileStamp {
        FileStamp {
            path: path.into(),
            bytes,
            modified_ns: 1,
            etag: etag.map(str::to_string),
        }
    }

    fn write_stamp(dir: &Path, index: usize, count: usize, stamp: FileStamp, commit: &str) {
        let marker = Marker {
            identity: json!({"lens": "a", "hub_commits": [commit]}),
            shard: index,
            count,
            stamps: vec![stamp],
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
        assert!(
            err.starts_with(
                "the dataset changed between shards: for shard 3 of 4, d.parquet was 10 bytes and then 11 bytes"
            ),
            "{err}"
        );
        write(dir.path(), 3, 4, 10);
        assert_eq!(gather(dir.path()).unwrap().len(), 4);
    }

    #[test]
    fn a_hub_file_with_another_hash_or_commit_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = "hf://datasets/o/n@c1/data/a.parquet";
        write_stamp(dir.path(), 0, 2, stamp(file, 10, Some("aa")), "c1");
        write_stamp(dir.path(), 1, 2, stamp(file, 10, Some("bb")), "c1");
        let err = gather(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "for shard 1 of 2, {file} had content hash aa and then bb"
            )),
            "{err}"
        );
        // The branch moved: the file is another commit's (a path with another sha).
        let moved = "hf://datasets/o/n@c2/data/a.parquet";
        write_stamp(dir.path(), 1, 2, stamp(moved, 10, Some("aa")), "c2");
        let err = gather(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("{moved} where it read {file}")),
            "{err}"
        );
        // Same files, another commit recorded: named as such.
        write_stamp(dir.path(), 1, 2, stamp(file, 10, Some("aa")), "c2");
        let err = gather(dir.path()).unwrap_err().to_string();
        assert!(err.contains("(another commit of the Hub dataset)"), "{err}");
        write_stamp(dir.path(), 1, 2, stamp(file, 10, Some("aa")), "c1");
        assert_eq!(gather(dir.path()).unwrap().len(), 2);
        // A shard listed offline (no hash): compared by name and size.
        write_stamp(dir.path(), 1, 2, stamp(file, 10, None), "c1");
        assert_eq!(gather(dir.path()).unwrap().len(), 2);
    }
}
