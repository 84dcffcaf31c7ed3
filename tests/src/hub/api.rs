//! The `/api/datasets/{id}/...` routes: repo info (with `cardData` parsed from the README's YAML
//! front matter), and dispatch to the tree listing and the Parquet-export listing.

use hyper::Method;
use serde_json::{Value, json};

use super::parquet;
use super::paths_info;
use super::reply::{Reply, Req, decode, hub_error};
use super::repo::{Commit, Gate, Published};
use super::routes::commit;
use super::state::State;
use super::tree;

/// The fixed timestamp every emulated repo reports (keeps answers deterministic).
pub(crate) const LAST_MODIFIED: &str = "2024-05-01T12:00:00.000Z";

pub(crate) fn dispatch(state: &State, req: &Req, repo: &Published, rest: &[&str]) -> Reply {
    if req.method == Method::POST {
        return match rest {
            ["paths-info", rev] => paths_info::paths_info(req, repo, &decode(rev)),
            _ => hub_error(405, None, "Method not allowed"),
        };
    }
    match rest {
        [] | [""] => info(repo, repo.main()),
        ["revision", rev @ ..] if !rev.is_empty() => {
            // The client encodes `/` in revisions, but accept it raw too.
            let rev = decode(&rev.join("/"));
            match commit(repo, &rev) {
                Ok(c) => info(repo, c),
                Err(r) => r,
            }
        }
        ["tree", rev, path @ ..] => tree::tree(state, req, repo, &decode(rev), path),
        ["parquet", rest @ ..] => parquet::parquet(state, repo, rest),
        _ => hub_error(
            404,
            None,
            "Sorry, we can't find the page you are looking for.",
        ),
    }
}

fn info(repo: &Published, commit: &Commit) -> Reply {
    let card = card_data(commit);
    let siblings: Vec<Value> = commit
        .files
        .keys()
        .map(|p| json!({ "rfilename": p }))
        .collect();
    let used: u64 = commit.files.values().map(|f| f.size).sum();
    let mut v = json!({
        "_id": repo.internal_id(),
        "id": repo.id,
        "author": repo.id.split('/').next().unwrap_or_default(),
        "sha": commit.sha,
        "lastModified": LAST_MODIFIED,
        "createdAt": LAST_MODIFIED,
        "private": repo.private,
        "gated": match repo.gate { Gate::Open => json!(false), _ => json!("manual") },
        "disabled": false,
        "downloads": 0,
        "likes": 0,
        "tags": tags(card.as_ref()),
        "siblings": siblings,
        "usedStorage": used,
    });
    if let Some(card) = card {
        v["cardData"] = card;
    }
    Reply::json(200, &v)
}

/// The README.md YAML front matter as JSON, if the README has any that parses.
pub(crate) fn card_data(commit: &Commit) -> Option<Value> {
    let readme = commit.files.get("README.md")?.read_all().ok()?;
    let text = String::from_utf8_lossy(&readme).replace("\r\n", "\n");
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---").map(|i| i + 1).or_else(|| {
        // An empty front matter block: "---\n---".
        rest.starts_with("---").then_some(0)
    })?;
    let yaml = &rest[..end];
    if yaml.trim().is_empty() {
        return Some(json!({}));
    }
    let v: Value = serde_norway::from_str(yaml).ok()?;
    v.is_object().then_some(v)
}

/// Hub-style tags derived from the card (`license:mit`, `language:en`, ...).
fn tags(card: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["task_categories", "language", "license", "size_categories"] {
        match card.and_then(|c| c.get(key)) {
            Some(Value::String(s)) => out.push(format!("{key}:{s}")),
            Some(Value::Array(items)) => out.extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| format!("{key}:{s}")),
            ),
            _ => {}
        }
    }
    out.push("region:us".to_owned());
    out
}
