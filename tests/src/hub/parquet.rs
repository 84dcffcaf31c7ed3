//! `GET /api/datasets/{id}/parquet[/{config}[/{split}[/{n}.parquet]]]`: the auto-converted
//! Parquet files of the `refs/convert/parquet` branch as Hub API URLs, and the `302` each such
//! URL answers to the file's resolve URL.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::body::HubBody;
use super::reply::{Reply, decode, hub_error};
use super::repo::Published;
use super::state::State;

pub(crate) const PARQUET_BRANCH: &str = "refs/convert/parquet";

pub(crate) fn parquet(state: &State, repo: &Published, rest: &[&str]) -> Reply {
    let Some(commit) = repo.resolve(PARQUET_BRANCH) else {
        return hub_error(
            404,
            None,
            &format!(
                "No parquet export (branch {PARQUET_BRANCH}) for dataset {}",
                repo.id
            ),
        );
    };
    // config → split → file paths (sorted)
    let mut tree: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for path in commit.files.keys() {
        if let [config, split, file] = path.split('/').collect::<Vec<_>>()[..]
            && file.ends_with(".parquet")
        {
            tree.entry(config)
                .or_default()
                .entry(split)
                .or_default()
                .push(path);
        }
    }
    let base = format!("{}/api/datasets/{}/parquet", state.hub_base, repo.id);
    let urls = |config: &str, split: &str, files: &[&str]| -> Value {
        let list: Vec<String> = (0..files.len())
            .map(|n| format!("{base}/{config}/{split}/{n}.parquet"))
            .collect();
        json!(list)
    };
    let rest: Vec<String> = rest.iter().map(|s| decode(s)).collect();
    let not_found = || hub_error(404, None, "Not found");
    match rest.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => {
            let mut out = serde_json::Map::new();
            for (config, splits) in &tree {
                let mut s = serde_json::Map::new();
                for (split, files) in splits {
                    s.insert(split.to_string(), urls(config, split, files));
                }
                out.insert(config.to_string(), Value::Object(s));
            }
            Reply::json(200, &Value::Object(out))
        }
        [config] => match tree.get(config) {
            Some(splits) => {
                let mut s = serde_json::Map::new();
                for (split, files) in splits {
                    s.insert(split.to_string(), urls(config, split, files));
                }
                Reply::json(200, &Value::Object(s))
            }
            None => not_found(),
        },
        [config, split] => match tree.get(config).and_then(|s| s.get(split)) {
            Some(files) => Reply::json(200, &urls(config, split, files)),
            None => not_found(),
        },
        [config, split, file] => {
            let n = file
                .strip_suffix(".parquet")
                .and_then(|n| n.parse::<usize>().ok());
            let path = tree
                .get(config)
                .and_then(|s| s.get(split))
                .and_then(|files| files.get(n?));
            match path {
                Some(path) => {
                    let loc = format!(
                        "{}/datasets/{}/resolve/refs%2Fconvert%2Fparquet/{path}",
                        state.hub_base, repo.id
                    );
                    Reply::new(302, HubBody::bytes(format!("Found. Redirecting to {loc}")))
                        .header("location", loc)
                }
                None => not_found(),
            }
        }
        _ => not_found(),
    }
}
