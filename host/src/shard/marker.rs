//! `shard-K-of-N.json`: a finished shard's stats, the files it read as it saw them, and what run it
//! belongs to. It is written last, under a temporary name, so its presence means the shard is done.

use super::spec::ShardSpec;
use super::units::FileStamp;
use crate::error::Error;
use crate::report::AtomicFile;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// The command and every argument that changes its output (not the shard): shards of one run
    /// carry the same identity.
    pub identity: serde_json::Value,
    pub shard: usize,
    pub count: usize,
    /// The input files as this shard saw them.
    pub stamps: Vec<FileStamp>,
    /// The command's own stats for this shard's rows.
    pub stats: serde_json::Value,
}

/// What the output folder says about this shard.
#[derive(Debug, PartialEq)]
pub enum Found {
    /// Done before: its marker.
    Done(PathBuf),
    Todo,
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Usage(format!(
        "{} is not a shard marker classified can read ({e}); remove it or use another --out",
        path.display()
    ))
}

/// `(K, N)` of a file named `shard-K-of-N.json`.
fn parse_name(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("shard-")?.strip_suffix(".json")?;
    let (k, n) = rest.split_once("-of-")?;
    Some((k.parse().ok()?, n.parse().ok()?))
}

/// Every marker in `dir`: `(K, N, path)`, sorted.
pub fn list(dir: &Path) -> Vec<(usize, usize, PathBuf)> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            parse_name(&name).map(|(k, n)| (k, n, e.path()))
        })
        .collect();
    found.sort();
    found
}

pub fn read(path: &Path) -> Result<Marker, Error> {
    let text = std::fs::read(path).map_err(|e| read_error(path, e))?;
    serde_json::from_slice(&text).map_err(|e| read_error(path, e))
}

/// Refuse an output folder that holds another run's shards; say whether this shard is done.
pub fn check(dir: &Path, spec: ShardSpec, identity: &serde_json::Value) -> Result<Found, Error> {
    let mut found = Found::Todo;
    for (k, n, path) in list(dir) {
        if n != spec.count {
            return Err(Error::Usage(format!(
                "{} holds {} from a run cut into {n} shards, not {}; use another --out or remove that run's files",
                dir.display(),
                path.file_name().unwrap_or_default().to_string_lossy(),
                spec.count
            )));
        }
        let marker = read(&path)?;
        if &marker.identity != identity {
            return Err(Error::Usage(format!(
                "{} holds {} from another run (other datasets, columns, lens or rules); use another --out or remove that run's files",
                dir.display(),
                path.file_name().unwrap_or_default().to_string_lossy()
            )));
        }
        if k == spec.index {
            found = Found::Done(path);
        }
    }
    Ok(found)
}

/// Write this shard's marker (the last thing a shard does).
pub fn write(dir: &Path, spec: ShardSpec, marker: &Marker) -> Result<PathBuf, Error> {
    let path = dir.join(spec.marker_name());
    let mut file = AtomicFile::create(&path)?;
    let json = serde_json::to_vec_pretty(marker).expect("a marker serializes");
    file.file()
        .write_all(&json)
        .map_err(|source| Error::Output {
            path: path.display().to_string(),
            source,
        })?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn marker(identity: serde_json::Value, shard: usize, count: usize) -> Marker {
        Marker {
            identity,
            shard,
            count,
            stamps: Vec::new(),
            stats: json!({}),
        }
    }

    #[test]
    fn done_shards_are_found_and_other_runs_refused() {
        let dir = tempfile::tempdir().unwrap();
        let me = |index| ShardSpec { index, count: 2 };
        let id = json!({"lens": "a"});
        assert_eq!(check(dir.path(), me(0), &id).unwrap(), Found::Todo);
        write(dir.path(), me(0), &marker(id.clone(), 0, 2)).unwrap();
        assert!(matches!(
            check(dir.path(), me(0), &id).unwrap(),
            Found::Done(_)
        ));
        assert_eq!(check(dir.path(), me(1), &id).unwrap(), Found::Todo);
        let err = check(dir.path(), me(1), &json!({"lens": "b"}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("holds shard-0-of-2.json from another run"),
            "{err}"
        );
        let err = check(dir.path(), ShardSpec { index: 0, count: 3 }, &id)
            .unwrap_err()
            .to_string();
        assert!(err.contains("from a run cut into 2 shards, not 3"), "{err}");
        assert_eq!(list(dir.path()).len(), 1);
        assert_eq!(parse_name("shard-3-of-10.json"), Some((3, 10)));
        assert_eq!(parse_name("shard-x-of-10.json"), None);
    }
}
