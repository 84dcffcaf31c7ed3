//! `merge` unions the shards' own caches (`OUT/cache/shard-K-of-N.sqlite`) into the output
//! folder's `classified.sqlite`, so a later run with the same --out finds every answer.

use crate::cache::Cache;
use crate::error::Error;
use std::path::{Path, PathBuf};

/// Copy every answer of every shard cache under `dir/cache/` into `dir/classified.sqlite`;
/// returns the caches merged.
pub fn union(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut shards: Vec<PathBuf> = std::fs::read_dir(dir.join("cache"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("shard-"))
                && p.extension().is_some_and(|e| e == "sqlite")
        })
        .collect();
    shards.sort();
    if shards.is_empty() {
        return Ok(shards);
    }
    let target = dir.join("classified.sqlite");
    // Opening it creates the schema the shards' caches share.
    drop(Cache::open(&target)?);
    let fail = |e: rusqlite::Error| Error::Cache {
        path: target.display().to_string(),
        problem: format!("could not take in the shards' answers ({e})"),
    };
    let conn = rusqlite::Connection::open(&target).map_err(fail)?;
    for shard in &shards {
        conn.execute("ATTACH DATABASE ?1 AS shard", [shard.to_string_lossy()])
            .map_err(fail)?;
        conn.execute_batch("INSERT OR IGNORE INTO main.answers SELECT * FROM shard.answers; DETACH DATABASE shard;")
            .map_err(fail)?;
    }
    Ok(shards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_shard_answer_lands_in_one_cache() {
        let dir = tempfile::tempdir().unwrap();
        for k in 0..2 {
            let cache =
                Cache::open(&dir.path().join(format!("cache/shard-{k}-of-2.sqlite"))).unwrap();
            let body = json!({"shard": k});
            let key = Cache::key(&body, "lens", "m", 1);
            let answer = crate::model::Answer {
                arguments: "{\"overall\": 3}".into(),
                response: json!({}),
                prompt_tokens: 1,
                completion_tokens: 1,
                elapsed: std::time::Duration::from_millis(1),
            };
            cache.put(&key, "lens", "m", 1, &body, &answer).unwrap();
        }
        assert_eq!(union(dir.path()).unwrap().len(), 2);
        let merged = Cache::open(&dir.path().join("classified.sqlite")).unwrap();
        for k in 0..2 {
            let key = Cache::key(&json!({"shard": k}), "lens", "m", 1);
            assert!(merged.get(&key).unwrap().is_some(), "shard {k}");
        }
    }
}
