//! A loopback Hugging Face Hub emulator for tests: a Hub host (the `/api` routes and
//! `/datasets/{id}/resolve/...` downloads) and a CDN host (presigned, expiring LFS blob URLs),
//! both on 127.0.0.1, with fault injection and a request log.
//!
//! It follows what the real Hub sends and what `hf-hub` 1.0 / `huggingface_hub` expect (see
//! `shared/notes/hf-hub.md`): `X-Error-Code` errors (401 for missing or private repos when
//! anonymous), `302` to the CDN with `X-Linked-Size` / `X-Linked-Etag` / `X-Repo-Commit` for LFS
//! files, `Link: <…>; rel="next"` tree paging, ranges (`206` / `416`), a CDN that rejects
//! requests carrying `Authorization`.
//!
//! Checked once against `hf-hub` 1.0 itself (a scratch program, not part of this crate): repo
//! info, paged `list_tree`, `download_file` into the cache (small, LFS, other branch; a second
//! call is one HEAD), ranged `download_file_to_bytes`, `EntryNotFound`, `GatedRepo` and
//! `RepoNotFound` errors all behave, with no token sent to the CDN. One trap it shows:
//! `get_file_metadata` HEADs *following* redirects, so for LFS files it reads the CDN's
//! headers and fails with "missing X-Repo-Commit" — as against the real CDN, which does not
//! send that header either. `download_file` (HEAD without following) is fine.
//!
//! Access rules: a missing repo, or a private one without the token, is `401 RepoNotFound`
//! when anonymous and `404 RepoNotFound` with a valid token; a wrong token is
//! `401 Invalid credentials in Authorization header` everywhere. Gated repos show their info
//! and tree to anyone; only file downloads are gated.
//!
//! ```ignore
//! use classified_tests::hub::{HubEmulator, Repo, fixtures};
//! let rows = fixtures::text_rows(10, 1);
//! let hub = HubEmulator::builder()
//!     .token("hf_test")
//!     .page_size(2)
//!     .repo(
//!         Repo::dataset("acme/reviews")
//!             .file("README.md", "---\nlicense: mit\n---\n")
//!             .lfs("data/train-00000-of-00001.parquet", fixtures::parquet(&[("text", rows)], 4)),
//!     )
//!     .start();
//! // HF_ENDPOINT=hub.endpoint(), HF_TOKEN=hf_test ... run the client ...
//! assert_eq!(hub.cdn_requests_with_authorization(), 0);
//! ```

mod api;
mod body;
mod cdn;
pub mod fixtures;
mod folder;
mod parquet;
mod paths_info;
mod range;
mod reply;
mod repo;
mod resolve;
mod routes;
mod server;
mod state;
mod tree;

#[cfg(test)]
mod hub_download_tests;
#[cfg(test)]
mod hub_fault_tests;
#[cfg(test)]
mod hub_tests;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

pub use folder::LFS_THRESHOLD;
pub use repo::{Branch, Repo};
pub use state::{Host, HubRequest, RangeMode};

use server::Server;
use state::{Fault, Knobs, State};

/// Default number of tree entries per page (the real Hub's).
pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// Default lifetime of a presigned CDN URL (the real CDN's is about an hour).
pub const DEFAULT_CDN_URL_TTL: Duration = Duration::from_secs(3600);

/// Options for an emulator; [`start`](Self::start) binds and runs it.
#[derive(Debug, Clone)]
pub struct HubBuilder {
    repos: Vec<Repo>,
    token: Option<String>,
    page_size: usize,
    range_mode: RangeMode,
    cdn_ttl: Duration,
    hub_port: u16,
    cdn_port: u16,
}

impl HubBuilder {
    /// Serve `repo`.
    pub fn repo(mut self, repo: Repo) -> Self {
        self.repos.push(repo);
        self
    }

    /// Serve all of `repos`.
    pub fn repos(mut self, repos: impl IntoIterator<Item = Repo>) -> Self {
        self.repos.extend(repos);
        self
    }

    /// The only token the Hub accepts (`Authorization: Bearer <token>`); any other token gets
    /// `401 Invalid credentials in Authorization header`. Without one, any token is accepted
    /// and private repos are unreachable.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Tree entries per page (default [`DEFAULT_PAGE_SIZE`]).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n;
        self
    }

    pub fn range_mode(mut self, mode: RangeMode) -> Self {
        self.range_mode = mode;
        self
    }

    /// Lifetime of the CDN URLs the Hub hands out (default [`DEFAULT_CDN_URL_TTL`]).
    pub fn cdn_url_ttl(mut self, ttl: Duration) -> Self {
        self.cdn_ttl = ttl;
        self
    }

    /// Fixed ports (0 = any free port, the default).
    pub fn ports(mut self, hub: u16, cdn: u16) -> Self {
        self.hub_port = hub;
        self.cdn_port = cdn;
        self
    }

    /// Binds both listeners on 127.0.0.1 and starts serving.
    ///
    /// # Panics
    /// If a port cannot be bound or two repos share an id.
    pub fn start(self) -> HubEmulator {
        let bind = |port: u16| {
            TcpListener::bind(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:{port}: {e}"))
        };
        let hub = bind(self.hub_port);
        let cdn = bind(self.cdn_port);
        let hub_addr = hub.local_addr().expect("local_addr");
        let cdn_addr = cdn.local_addr().expect("local_addr");
        let mut repos = Vec::new();
        for r in self.repos {
            let p = r.publish();
            assert!(
                !repos.iter().any(|q: &Arc<repo::Published>| q.id == p.id),
                "two repos named {}",
                p.id
            );
            repos.push(p);
        }
        let knobs = Knobs {
            range_mode: self.range_mode,
            page_size: self.page_size,
            hub_fault: None,
            cdn_fault: None,
            cut: None,
            clock_offset: Duration::ZERO,
            cdn_ttl: self.cdn_ttl,
        };
        let state = Arc::new(State::new(
            repos,
            self.token,
            format!("http://{hub_addr}"),
            format!("http://{cdn_addr}"),
            knobs,
        ));
        let server = Server::spawn(hub, cdn, Arc::clone(&state));
        HubEmulator {
            hub_addr,
            cdn_addr,
            state,
            server,
        }
    }
}

/// A running Hub + CDN pair on 127.0.0.1. Dropping it (or [`stop`](Self::stop)) closes both
/// listeners and every connection, so later connects are refused.
pub struct HubEmulator {
    hub_addr: SocketAddr,
    cdn_addr: SocketAddr,
    state: Arc<State>,
    server: Server,
}

impl HubEmulator {
    /// An emulator serving `repos` with default options and no token.
    pub fn start(repos: impl IntoIterator<Item = Repo>) -> HubEmulator {
        HubEmulator::builder().repos(repos).start()
    }

    pub fn builder() -> HubBuilder {
        HubBuilder {
            repos: Vec::new(),
            token: None,
            page_size: DEFAULT_PAGE_SIZE,
            range_mode: RangeMode::Honour,
            cdn_ttl: DEFAULT_CDN_URL_TTL,
            hub_port: 0,
            cdn_port: 0,
        }
    }

    /// `http://127.0.0.1:PORT` of the Hub: the value for `HF_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.hub_addr)
    }

    /// `http://127.0.0.1:PORT` of the CDN.
    pub fn cdn_endpoint(&self) -> String {
        format!("http://{}", self.cdn_addr)
    }

    /// The token the Hub accepts, if one was set.
    pub fn token(&self) -> Option<&str> {
        self.state.token.as_deref()
    }

    /// The commit sha a revision (branch, tag or sha) of `repo` resolves to.
    pub fn commit_sha(&self, repo: &str, rev: &str) -> Option<String> {
        let r = self.state.find_repo(repo)?;
        r.resolve(rev).map(|c| c.sha.clone())
    }

    /// The sha256 of an LFS file at a revision (what `X-Linked-Etag` carries).
    pub fn lfs_sha256(&self, repo: &str, rev: &str, path: &str) -> Option<String> {
        let r = self.state.find_repo(repo)?;
        r.resolve(rev)?.files.get(path)?.lfs_sha256.clone()
    }

    // ---- knobs ----

    pub fn set_range_mode(&self, mode: RangeMode) {
        self.state.knobs().range_mode = mode;
    }

    pub fn set_page_size(&self, n: usize) {
        self.state.knobs().page_size = n;
    }

    /// The next `n` Hub requests (API and resolve) answer `status` (e.g. 429, 500, 503), with
    /// `Retry-After: <secs>` when given.
    pub fn fail_next(&self, n: usize, status: u16, retry_after: Option<u64>) {
        self.state.knobs().hub_fault = (n > 0).then_some(Fault {
            remaining: n,
            status,
            retry_after,
        });
    }

    /// The next `n` CDN requests answer `status` with an S3-style XML error.
    pub fn cdn_fail_next(&self, n: usize, status: u16, retry_after: Option<u64>) {
        self.state.knobs().cdn_fault = (n > 0).then_some(Fault {
            remaining: n,
            status,
            retry_after,
        });
    }

    /// The next file-content body (a CDN blob or a small file from resolve; GET only) is cut
    /// after `bytes` bytes: the connection closes mid-body while `Content-Length` promised more.
    pub fn cut_connection_after(&self, bytes: u64) {
        self.cut_connections_after(1, bytes);
    }

    /// Like [`cut_connection_after`](Self::cut_connection_after), for the next `n` bodies.
    pub fn cut_connections_after(&self, n: usize, bytes: u64) {
        self.state.knobs().cut = (n > 0).then_some((n, bytes));
    }

    /// CDN URLs handed out from now on expire `ttl` after issue (`Duration::ZERO`: at once).
    pub fn expire_cdn_urls_after(&self, ttl: Duration) {
        self.state.knobs().cdn_ttl = ttl;
    }

    /// Moves the emulator's clock forward, so CDN URLs issued earlier may now be expired.
    pub fn advance_clock(&self, by: Duration) {
        self.state.knobs().clock_offset += by;
    }

    // ---- observation ----

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<HubRequest> {
        self.state.log()
    }

    /// The requests that reached `host`.
    pub fn requests_to(&self, host: Host) -> Vec<HubRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.host == host)
            .collect()
    }

    /// Requests (either host) whose path+query starts with `path_prefix`.
    pub fn count(&self, path_prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .count()
    }

    /// File-content bytes sent so far on both hosts (bodies of 200/206 file responses).
    pub fn bytes_served(&self) -> u64 {
        self.requests()
            .iter()
            .filter(|r| r.file.is_some())
            .map(|r| r.bytes_sent)
            .sum()
    }

    /// File-content bytes sent for the repo path `path` (e.g. `data/train.parquet`).
    pub fn bytes_served_for(&self, path: &str) -> u64 {
        self.requests()
            .iter()
            .filter(|r| r.file.as_deref() == Some(path))
            .map(|r| r.bytes_sent)
            .sum()
    }

    /// CDN requests that carried an `Authorization` header (a token leak; must stay 0).
    pub fn cdn_requests_with_authorization(&self) -> usize {
        self.requests_to(Host::Cdn)
            .iter()
            .filter(|r| r.has_authorization)
            .count()
    }

    /// Stops serving: both ports refuse connections from now on. The log stays readable.
    pub fn stop(&mut self) {
        self.server.stop();
    }
}
