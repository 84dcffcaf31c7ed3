//! The Hub host's router: authentication, repo lookup (with rename redirects), access rules
//! for private and gated repos, then the `/api` routes ([`super::api`]) or file downloads
//! ([`super::resolve`]).

// A handler's error is the whole HTTP reply the Hub would send, built once per request of a test
// server: its size costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use hyper::Method;

use super::api;
use super::reply::{Reply, Req, decode, hub_error};
use super::repo::{Commit, Gate, Published};
use super::resolve;
use super::state::State;

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    Anonymous,
    /// Sent the emulator's token (or any token when the emulator has none).
    User,
}

pub(crate) fn route(state: &State, req: &Req) -> Reply {
    // POST is only for `paths-info`; the API dispatch checks that.
    if ![Method::GET, Method::HEAD, Method::POST].contains(&req.method) {
        return hub_error(405, None, "Method not allowed");
    }
    let caller = match authenticate(state, req) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let segs: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "datasets", owner, name, rest @ ..] => {
            match find(state, req, owner, name, caller) {
                Ok(repo) => api::dispatch(state, req, &repo, rest),
                Err(r) => r,
            }
        }
        ["datasets", owner, name, "resolve", rev, path @ ..]
            if !path.is_empty() && req.method != Method::POST =>
        {
            let repo = match find(state, req, owner, name, caller) {
                Ok(repo) => repo,
                Err(r) => return r,
            };
            if let Err(r) = check_gate(state, &repo, caller) {
                return r;
            }
            let commit = match commit(&repo, &decode(rev)) {
                Ok(c) => c,
                Err(r) => return r,
            };
            let path: Vec<String> = path.iter().map(|s| decode(s)).collect();
            resolve::resolve(state, req, commit, &path.join("/"))
        }
        _ => hub_error(
            404,
            None,
            "Sorry, we can't find the page you are looking for.",
        ),
    }
}

fn authenticate(state: &State, req: &Req) -> Result<Caller, Reply> {
    let Some(auth) = req.authorization.as_deref() else {
        return Ok(Caller::Anonymous);
    };
    let Some(expected) = state.token.as_deref() else {
        return Ok(Caller::User);
    };
    let sent = auth.strip_prefix("Bearer ").unwrap_or("").trim();
    if sent == expected {
        Ok(Caller::User)
    } else {
        Err(hub_error(
            401,
            None,
            "Invalid credentials in Authorization header",
        ))
    }
}

/// The repo `owner/name`, or the error / rename redirect the Hub answers instead.
fn find(
    state: &State,
    req: &Req,
    owner: &str,
    name: &str,
    caller: Caller,
) -> Result<Arc<Published>, Reply> {
    let id = format!("{}/{}", decode(owner), decode(name));
    let Some(repo) = state.find_repo(&id) else {
        if let Some(new) = state.repos.iter().find(|r| r.former_ids.contains(&id)) {
            return Err(rename_redirect(req, &format!("{owner}/{name}"), &new.id));
        }
        return Err(repo_not_found(caller));
    };
    if repo.private && caller != Caller::User {
        return Err(repo_not_found(caller));
    }
    Ok(Arc::clone(repo))
}

/// Missing (or hidden private) repos: 401 when anonymous, 404 for a logged-in caller.
fn repo_not_found(caller: Caller) -> Reply {
    let status = if caller == Caller::User { 404 } else { 401 };
    hub_error(status, Some("RepoNotFound"), "Repository not found")
}

/// A relative `307` to the same path under the repo's new id.
fn rename_redirect(req: &Req, old_raw: &str, new_id: &str) -> Reply {
    let mut loc = req.path.replacen(old_raw, new_id, 1);
    if let Some(q) = &req.query {
        loc = format!("{loc}?{q}");
    }
    Reply::json(
        307,
        &serde_json::json!({"error": "Repository moved", "location": loc}),
    )
    .header("location", loc)
}

/// File downloads from gated repos need the token, and an access grant.
fn check_gate(state: &State, repo: &Published, caller: Caller) -> Result<(), Reply> {
    let id = &repo.id;
    match (repo.gate, caller) {
        (Gate::Open, _) | (Gate::Granted, Caller::User) => Ok(()),
        (_, Caller::Anonymous) => Err(hub_error(
            401,
            Some("GatedRepo"),
            &format!(
                "Access to dataset {id} is restricted. You must have access to it and be \
                 authenticated to access it. Please log in."
            ),
        )),
        (Gate::Refused, Caller::User) => Err(hub_error(
            403,
            Some("GatedRepo"),
            &format!(
                "Access to dataset {id} is restricted and you are not in the authorized list. \
                 Visit {}/datasets/{id} to ask for access.",
                state.hub_base
            ),
        )),
    }
}

/// The commit a revision names, or 404 `RevisionNotFound`.
pub(crate) fn commit<'a>(repo: &'a Published, rev: &str) -> Result<&'a Commit, Reply> {
    repo.resolve(rev).ok_or_else(|| {
        hub_error(
            404,
            Some("RevisionNotFound"),
            &format!("Invalid rev id: {rev}"),
        )
    })
}
