//! `POST /api/datasets/{id}/paths-info/{rev}`: tree entries for the given paths. Accepts the
//! JSON body `hf-hub` sends (`{"paths": [...], "expand": bool}`) and the form body
//! `huggingface_hub` sends (`paths=a&paths=b&expand=true`). Paths that do not exist are left
//! out, as on the real Hub.

use serde_json::Value;

use super::reply::{Reply, Req, decode, hub_error};
use super::repo::Published;
use super::routes::commit;
use super::tree::entries;

pub(crate) fn paths_info(req: &Req, repo: &Published, rev: &str) -> Reply {
    let commit = match commit(repo, rev) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some((paths, expand)) = parse_body(&req.body) else {
        return hub_error(
            400,
            None,
            "paths-info needs a JSON body {\"paths\": [...]} or a form body paths=...",
        );
    };
    let mut out = Vec::new();
    for p in paths {
        let p = p.trim_matches('/');
        let parent = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        // The entry as its parent folder's listing shows it.
        let found = entries(commit, parent, false, expand)
            .unwrap_or_default()
            .into_iter()
            .find(|e| e["path"] == p);
        out.extend(found);
    }
    Reply::json(200, &Value::Array(out))
}

fn parse_body(body: &[u8]) -> Option<(Vec<String>, bool)> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let paths = v
            .get("paths")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let expand = v.get("expand").and_then(Value::as_bool).unwrap_or(false);
        return Some((paths, expand));
    }
    let text = std::str::from_utf8(body).ok()?;
    let mut paths = Vec::new();
    let mut expand = false;
    for kv in text.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=')?;
        let v = decode(&v.replace('+', " "));
        match k {
            "paths" => paths.push(v),
            "expand" => expand = v == "true" || v == "True",
            _ => {}
        }
    }
    (!paths.is_empty()).then_some((paths, expand))
}
