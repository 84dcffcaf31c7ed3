//! `GET /api/datasets/{id}/tree/{rev}[/{path}]?recursive=…&expand=…`: the file and directory
//! entries under a path, paged like the real Hub with an absolute `Link: <…>; rel="next"` URL
//! carrying an opaque `cursor`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::api::LAST_MODIFIED;
use super::reply::{Reply, Req, decode, hub_error};
use super::repo::{Commit, Published, git_blob_oid};
use super::routes::commit;
use super::state::State;

pub(crate) fn tree(state: &State, req: &Req, repo: &Published, rev: &str, path: &[&str]) -> Reply {
    let commit = match commit(repo, rev) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let dir: Vec<String> = path
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| decode(s))
        .collect();
    let dir = dir.join("/");
    let recursive = matches!(req.param("recursive").as_deref(), Some("true" | "1"));
    let expand = matches!(req.param("expand").as_deref(), Some("true" | "1"));
    let Some(entries) = entries(commit, &dir, recursive, expand) else {
        return hub_error(404, Some("EntryNotFound"), "Entry not found")
            .header("x-repo-commit", commit.sha.clone());
    };
    let offset = match req.param("cursor") {
        None => 0,
        Some(c) => match parse_cursor(&c) {
            Some(o) if o <= entries.len() => o,
            _ => return hub_error(400, None, "Invalid cursor"),
        },
    };
    let page_size = state.knobs().page_size.max(1);
    let end = (offset + page_size).min(entries.len());
    let mut reply = Reply::json(200, &Value::Array(entries[offset..end].to_vec()));
    if end < entries.len() {
        let next = next_url(state, req, end);
        reply = reply.header("link", format!("<{next}>; rel=\"next\""));
    }
    reply
}

/// Every entry under `dir` (sorted by path), or `None` when `dir` is not a directory.
pub(crate) fn entries(
    commit: &Commit,
    dir: &str,
    recursive: bool,
    expand: bool,
) -> Option<Vec<Value>> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    // path → entry; directories are derived from the files below them.
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    let mut dir_oids: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut found = false;
    for f in commit.files.values() {
        let Some(rel) = f.path.strip_prefix(&prefix) else {
            continue;
        };
        found = true;
        let parts: Vec<&str> = rel.split('/').collect();
        for depth in 1..parts.len() {
            if !recursive && depth > 1 {
                break;
            }
            let d = format!("{prefix}{}", parts[..depth].join("/"));
            dir_oids
                .entry(d)
                .or_default()
                .extend(format!("{} {}\n", f.path, f.git_oid).as_bytes());
        }
        if recursive || parts.len() == 1 {
            let mut e = json!({"type": "file", "oid": f.git_oid, "size": f.size, "path": f.path});
            if let (Some(sha), Some(ptr)) = (&f.lfs_sha256, f.pointer_size()) {
                e["lfs"] = json!({"oid": sha, "size": f.size, "pointerSize": ptr});
            }
            if expand {
                e["lastCommit"] =
                    json!({"id": commit.sha, "title": "Upload dataset", "date": LAST_MODIFIED});
            }
            out.insert(f.path.clone(), e);
        }
    }
    if !found && !dir.is_empty() {
        return None;
    }
    for (d, content) in dir_oids {
        let e = json!({"type": "directory", "oid": git_blob_oid(&content), "size": 0, "path": d});
        out.insert(d, e);
    }
    Some(out.into_values().collect())
}

/// The absolute URL of the page starting at `offset`: this request's URL with `cursor` replaced.
fn next_url(state: &State, req: &Req, offset: usize) -> String {
    let mut pairs: Vec<&str> = req
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("cursor="))
        .collect();
    let cursor = format!("cursor={}", make_cursor(offset));
    pairs.push(&cursor);
    format!("{}{}?{}", state.hub_base, req.path, pairs.join("&"))
}

/// Opaque to clients (hex of `offset:N`), so they must follow the link rather than build one.
fn make_cursor(offset: usize) -> String {
    format!("offset:{offset}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_cursor(c: &str) -> Option<usize> {
    if !c.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..c.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(c.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}
