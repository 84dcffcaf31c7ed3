//! `shard-K-of-N.json`: a finished shard's stats, the files it read as it saw them, and what run it
//! belongs to. It is written last, under a temporary name, so its presence means the shard is done.

use super::spec::ShardSpec;
use super::units::FileStamp;
use crate::error::Error;
use crate::report::AtomicFile;
use serde::{Deserialize, Serialize};
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
        if let Some(message) = moved_commit(&marker.identity, identity) {
            return Err(Error::Usage(format!(
                "{} holds {}, which read {message}; rerun this shard with --revision set to that commit (and pin --revision in the job script, so every shard reads one commit)",
                dir.display(),
                path.file_name().unwrap_or_default().to_string_lossy(),
            )));
        }
        if !same_run(&marker.identity, identity) {
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

/// Whether two shards' identities are one run's. The revision asked for is left out when the
/// commits read are recorded: they say what was read, so a shard rerun with `--revision` pinned to
/// the commit the others read belongs with them.
pub fn same_run(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    run_key(a) == run_key(b)
}

fn run_key(identity: &serde_json::Value) -> serde_json::Value {
    let mut key = identity.clone();
    if let Some(map) = key.as_object_mut()
        && map.contains_key("hub_commits")
    {
        map.remove("revision");
    }
    key
}

/// When two identities differ only in the commits their Hub datasets were read at (the branch
/// moved between shards): what the earlier one read, e.g. "acme/web at commit 1a2b… (this shard
/// found 3c4d…)".
fn moved_commit(earlier: &serde_json::Value, now: &serde_json::Value) -> Option<String> {
    let (before, after) = (earlier.get("hub_commits")?, now.get("hub_commits")?);
    let mut same = now.clone();
    same["hub_commits"] = before.clone();
    if before == after || !same_run(&same, earlier) {
        return None;
    }
    let datasets = earlier.get("datasets").and_then(|d| d.as_array());
    let pairs = before.as_array()?.iter().zip(after.as_array()?).enumerate();
    let moved: Vec<String> = pairs
        .filter(|(_, (b, a))| b != a)
        .map(|(i, (b, a))| {
            let name = datasets
                .and_then(|d| d.get(i))
                .and_then(|d| d.as_str())
                .unwrap_or("a Hub dataset");
            format!(
                "{name} at commit {} (this shard found {})",
                b.as_str().unwrap_or("?"),
                a.as_str().unwrap_or("?")
            )
        })
        .collect();
    (!moved.is_empty()).then(|| moved.join(", "))
}

/// Write this shard's marker (the last thing a shard does).
pub fn write(dir: &Path, spec: ShardSpec, marker: &Marker) -> Result<PathBuf, Error> {
    let json = serde_json::to_vec_pretty(marker).expect("a marker serializes");
    AtomicFile::write(&dir.join(spec.marker_name()), &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_branch_that_moved_between_shards_is_named_with_both_commits() {
        let earlier = serde_json::json!({"datasets": ["acme/web"], "hub_commits": ["aaa"], "revision": null, "lens": "x"});
        let moved = serde_json::json!({"datasets": ["acme/web"], "hub_commits": ["bbb"], "revision": null, "lens": "x"});
        assert_eq!(
            moved_commit(&earlier, &moved).unwrap(),
            "acme/web at commit aaa (this shard found bbb)"
        );
        // Another lens as well: another run, not a moved branch.
        let other = serde_json::json!({"datasets": ["acme/web"], "hub_commits": ["bbb"], "revision": null, "lens": "y"});
        assert_eq!(moved_commit(&earlier, &other), None);
        assert_eq!(moved_commit(&earlier, &earlier), None);
        // Rerun with the commit pinned: the same run.
        let pinned = serde_json::json!({"datasets": ["acme/web"], "hub_commits": ["aaa"], "revision": "aaa", "lens": "x"});
        assert!(same_run(&earlier, &pinned));
        assert!(!same_run(&earlier, &moved));
        // Without recorded commits the revision stays part of the run.
        let local = serde_json::json!({"revision": null, "lens": "x"});
        assert!(!same_run(
            &local,
            &serde_json::json!({"revision": "v1", "lens": "x"})
        ));

        let dir = tempfile::tempdir().unwrap();
        let spec = ShardSpec { index: 0, count: 2 };
        let marker = Marker {
            identity: earlier,
            shard: 0,
            count: 2,
            stamps: Vec::new(),
            stats: serde_json::json!({}),
        };
        write(dir.path(), spec, &marker).unwrap();
        let err = check(dir.path(), ShardSpec { index: 1, count: 2 }, &moved)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("which read acme/web at commit aaa (this shard found bbb); rerun this shard with --revision"),
            "{err}"
        );
    }
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
