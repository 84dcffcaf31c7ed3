//! `GET|HEAD /datasets/{id}/resolve/{rev}/{path}`: small git files are served directly (with
//! ranges); LFS files answer `302` to a presigned, expiring CDN URL, with the headers
//! `hf-hub` and `huggingface_hub` read (`X-Linked-Size`, `X-Linked-Etag`, `X-Repo-Commit`).

use super::body::HubBody;
use super::reply::{Reply, Req, file_reply, hub_error};
use super::repo::{Commit, RepoFile};
use super::state::State;

pub(crate) fn resolve(state: &State, req: &Req, commit: &Commit, path: &str) -> Reply {
    let Some(file) = commit.files.get(path) else {
        return hub_error(404, Some("EntryNotFound"), "Entry not found")
            .header("x-repo-commit", commit.sha.clone());
    };
    let reply = match &file.lfs_sha256 {
        None => file_reply(state, req, file).header("etag", format!("\"{}\"", file.git_oid)),
        Some(sha) => lfs_redirect(state, file, sha),
    };
    reply.header("x-repo-commit", commit.sha.clone())
}

/// The CDN URL for an LFS blob, valid for the emulator's CDN URL lifetime.
pub(crate) fn presigned_url(state: &State, sha256: &str) -> String {
    let ttl = state.knobs().cdn_ttl.as_secs();
    let expires = state.now_unix() + ttl;
    let sig = state.sign(sha256, expires);
    format!("{}/{sha256}?expires={expires}&sig={sig}", state.cdn_base)
}

fn lfs_redirect(state: &State, file: &RepoFile, sha: &str) -> Reply {
    let location = presigned_url(state, sha);
    // Like the real Hub, the body is a short note, so Content-Length is not the file size.
    let body = format!("Found. Redirecting to {location}");
    Reply::new(302, HubBody::bytes(body))
        .header("content-type", "text/plain; charset=utf-8")
        .header("location", location)
        .header("x-linked-size", file.size.to_string())
        .header("x-linked-etag", format!("\"{sha}\""))
        .header("etag", format!("\"{}\"", file.git_oid))
        .header("accept-ranges", "bytes")
}
