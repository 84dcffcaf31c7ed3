//! Files on the Hub read by HTTP range requests, for `--stream`.
//!
//! Written by hand rather than with `hf-hub`'s `download_file_stream` because streaming needs
//! three things that call does not do: reuse the CDN URL a resolve redirected to (instead of a
//! HEAD and a redirect per range, which also spends the Hub's rate limit), resume a body cut
//! mid-stream from the byte where it stopped, and re-resolve when a presigned CDN URL expires.
//!
//! The bearer token goes only to the Hub endpoint: reqwest drops `Authorization` when a redirect
//! leaves the host (or port), and requests to a remembered CDN URL are sent without it.

use super::error::{HubError, Target, refused};
use super::settings::{HubSettings, HubToken};
use crate::data::RemoteFile;
use crate::model::{RateHeaders, RetryPolicy};
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, CONTENT_RANGE, HeaderMap, RANGE};
use reqwest::{Response, StatusCode};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::runtime::Handle;

/// Retries of one request (429, 5xx, network errors, cut bodies) before giving up.
pub const MAX_RETRIES: u32 = 5;

/// The HTTP side shared by every Hub file of a run.
#[derive(Debug)]
pub struct HubHttp {
    client: reqwest::Client,
    pub(crate) endpoint: String,
    token: Option<HubToken>,
    handle: Handle,
    retry: RetryPolicy,
    /// Body bytes received from the Hub and its CDN, for the end-of-run report and the benchmark.
    bytes_received: AtomicU64,
    /// The runtime `handle` belongs to, when it is this client's own (see [`HubHttp::detached`]).
    _own: Option<OwnRuntime>,
}

/// A runtime owned by one client, shut down without waiting when the client goes (which may be
/// inside another runtime, where a plain drop would panic).
#[derive(Debug)]
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl HubHttp {
    /// Must be called inside the tokio runtime whose handle the blocking readers will use.
    pub fn new(settings: &HubSettings) -> Result<Arc<HubHttp>, HubError> {
        Self::build(settings, Handle::current(), None)
    }

    /// A client with a runtime of its own, for files read after the runtime that listed them has
    /// ended: `filter` plans its units in one runtime and reads them in others (one per pass), and
    /// a connection or a blocking read must not depend on a runtime that is gone.
    pub fn detached(settings: &HubSettings) -> Result<Arc<HubHttp>, HubError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hub-http")
            .enable_all()
            .build()
            .map_err(|e| HubError::Unexpected {
                endpoint: settings.endpoint.clone(),
                what: format!("no runtime for range reads ({e})"),
            })?;
        let handle = runtime.handle().clone();
        Self::build(settings, handle, Some(OwnRuntime(Some(runtime))))
    }

    fn build(
        settings: &HubSettings,
        handle: Handle,
        own: Option<OwnRuntime>,
    ) -> Result<Arc<HubHttp>, HubError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("classified/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(20))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| HubError::Network {
                endpoint: settings.endpoint.clone(),
                reason: reason(&e),
            })?;
        Ok(Arc::new(HubHttp {
            client,
            endpoint: settings.endpoint.clone(),
            token: settings.token.clone(),
            handle,
            retry: RetryPolicy {
                max_retries: MAX_RETRIES,
                max_rate_limited: MAX_RETRIES,
                base_delay: Duration::from_millis(250),
                max_delay: Duration::from_secs(60),
            },
            bytes_received: AtomicU64::new(0),
            _own: own,
        }))
    }

    pub fn bytes_received(&self) -> u64 {
        self.bytes_received.load(Ordering::Relaxed)
    }

    /// Whether `url` is the Hub endpoint itself (same scheme, host and port, under its path) rather
    /// than a CDN: only the Hub gets the token. A string prefix is not enough: `http://127.0.0.1:4441`
    /// begins `http://127.0.0.1:44410/…`, and `https://hub.example` begins `https://hub.example.evil.net/…`.
    pub(crate) fn is_hub(&self, url: &str) -> bool {
        let (Ok(url), Ok(hub)) = (
            reqwest::Url::parse(url),
            reqwest::Url::parse(&self.endpoint),
        ) else {
            return false;
        };
        url.origin() == hub.origin() && url.path().starts_with(hub.path().trim_end_matches('/'))
    }

    /// The resolve URL of a file: `rev` is one URL-encoded segment, the path keeps its `/`
    /// (encoded slashes hit a much lower rate limit on the real Hub).
    pub fn resolve_url(&self, repo: &str, rev: &str, path: &str) -> String {
        let path: Vec<String> = path.split('/').map(encode_segment).collect();
        format!(
            "{}/datasets/{repo}/resolve/{}/{}",
            self.endpoint,
            encode_segment(rev),
            path.join("/")
        )
    }

    /// Sends one GET (with `Range` when given), retrying 429s, 5xx and network errors with
    /// backoff that honours `Retry-After`. Returns any other response for the caller to judge.
    async fn send(
        &self,
        url: &str,
        range: Option<(u64, Option<u64>)>,
        target: &Target<'_>,
    ) -> Result<Response, HubError> {
        let mut attempt = 0;
        loop {
            let mut request = self.client.get(url);
            if let Some((start, end)) = range {
                let value = match end {
                    Some(end) => format!("bytes={start}-{}", end - 1),
                    None => format!("bytes={start}-"),
                };
                request = request.header(RANGE, value);
            }
            // Only the Hub itself gets the token; never a CDN URL.
            if let Some(token) = &self.token
                && self.is_hub(url)
            {
                request = request.header(AUTHORIZATION, format!("Bearer {}", token.expose()));
            }
            let (retry_headers, failure) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                        return Ok(response);
                    }
                    let failure = if status == StatusCode::TOO_MANY_REQUESTS {
                        HubError::RateLimited {
                            endpoint: self.endpoint.clone(),
                            retries: attempt,
                        }
                    } else {
                        refused(status.as_u16(), error_code(response.headers()), target)
                    };
                    (Some(response.headers().clone()), failure)
                }
                Err(e) => (
                    None,
                    HubError::Network {
                        endpoint: self.endpoint.clone(),
                        reason: reason(&e),
                    },
                ),
            };
            if attempt >= self.retry.max_retries {
                return Err(failure);
            }
            let asked = retry_headers
                .as_ref()
                .and_then(|h| RateHeaders::parse(h).retry_after);
            tokio::time::sleep(self.retry.delay(attempt, asked)).await;
            attempt += 1;
        }
    }
}

/// A short reason for a reqwest error, without the URL (a CDN URL carries its signature).
pub(crate) fn reason(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "the connection failed"
    } else if e.is_body() || e.is_decode() {
        "the connection broke while receiving data"
    } else {
        "the request failed"
    }
    .to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

fn error_code(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-error-code").and_then(|v| v.to_str().ok())
}

/// Percent-encodes one URL path segment (everything but RFC 3986 unreserved characters).
fn encode_segment(s: &str) -> String {
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// One file of a Hub repo at a pinned commit.
#[derive(Debug, Clone)]
pub struct HubFile(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    http: Arc<HubHttp>,
    repo: String,
    revision: String,
    path_in_repo: String,
    /// `hf://datasets/owner/name@sha/path`, for messages.
    display: PathBuf,
    resolve_url: String,
    size: u64,
    /// The CDN URL the last resolve redirected to; reused until it expires.
    location: Mutex<Option<String>>,
}

impl HubFile {
    pub fn new(http: Arc<HubHttp>, repo: &str, revision: &str, path: &str, size: u64) -> HubFile {
        HubFile(Arc::new(Inner {
            resolve_url: http.resolve_url(repo, revision, path),
            display: PathBuf::from(format!("hf://datasets/{repo}@{revision}/{path}")),
            repo: repo.to_string(),
            revision: revision.to_string(),
            path_in_repo: path.to_string(),
            http,
            size,
            location: Mutex::new(None),
        }))
    }
}

impl Inner {
    fn target(&self) -> Target<'_> {
        Target {
            endpoint: &self.http.endpoint,
            repo: &self.repo,
            revision: &self.revision,
            path: Some(&self.path_in_repo),
            has_token: self.http.token.is_some(),
        }
    }

    /// A response whose body holds the file from `start` (up to `end`, exclusive), and the
    /// offset where that body begins (0 when the server ignored the range and sent it all).
    async fn open_at(&self, start: u64, end: Option<u64>) -> Result<(Response, u64), HubError> {
        let cached = self.location.lock().expect("not poisoned").clone();
        let target = self.target();
        if let Some(url) = cached {
            let response = self.http.send(&url, Some((start, end)), &target).await?;
            if let Some(opened) = self.accept(response, start)? {
                return Ok(opened);
            }
            // A presigned CDN URL that no longer works has expired: resolve the file again.
            *self.location.lock().expect("not poisoned") = None;
        }
        let response = self
            .http
            .send(&self.resolve_url, Some((start, end)), &target)
            .await?;
        let final_url = response.url().to_string();
        let from_cdn = final_url != self.resolve_url;
        match self.accept(response, start)? {
            Some(opened) => {
                if from_cdn {
                    *self.location.lock().expect("not poisoned") = Some(final_url);
                }
                Ok(opened)
            }
            None => Err(HubError::Unexpected {
                endpoint: self.http.endpoint.clone(),
                what: format!(
                    "a refused download of {} (its storage link did not work even when fresh)",
                    self.display.display()
                ),
            }),
        }
    }

    /// `Some` for a usable response, `None` for a CDN refusal (expired URL), `Err` for a Hub refusal.
    fn accept(&self, response: Response, start: u64) -> Result<Option<(Response, u64)>, HubError> {
        let status = response.status();
        let is_cdn = !self.http.is_hub(response.url().as_str());
        match status {
            StatusCode::PARTIAL_CONTENT => {
                let body_start = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range_start)
                    .unwrap_or(start);
                Ok(Some((response, body_start)))
            }
            s if s.is_success() => Ok(Some((response, 0))),
            // Nothing at or after `start`: an empty body.
            StatusCode::RANGE_NOT_SATISFIABLE => Ok(Some((response, start))),
            _ if is_cdn => Ok(None),
            _ => Err(refused(
                status.as_u16(),
                error_code(response.headers()),
                &self.target(),
            )),
        }
    }
}

/// `bytes 100-199/1000` → 100.
fn content_range_start(v: &str) -> Option<u64> {
    v.strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

impl RemoteFile for HubFile {
    fn path(&self) -> &Path {
        &self.0.display
    }

    fn len(&self) -> u64 {
        self.0.size
    }

    fn read_range(&self, start: u64, len: u64) -> io::Result<Bytes> {
        let end = (start + len).min(self.0.size);
        let mut reader = HubReader::new(self.0.clone(), start, end);
        // The whole range is wanted: one request for it, not windows growing from a few KB.
        reader.window = end.saturating_sub(start).max(1);
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        reader.read_to_end(&mut out)?;
        Ok(Bytes::from(out))
    }

    fn reader(&self, start: u64) -> Box<dyn Read + Send> {
        Box::new(HubReader::new(self.0.clone(), start, self.0.size))
    }
}

/// First window of a sequential read. Parquet reads column chunks sequentially from where they
/// start, so asking for the rest of the file would make the server send far more than is used;
/// windows that double while reading stays sequential keep that waste small.
const FIRST_WINDOW: u64 = 8 << 10;
const MAX_WINDOW: u64 = 32 << 20;

/// Reads `[offset, end)` of a Hub file as streamed ranges of growing size, reopening at the
/// current offset when the connection breaks (up to [`MAX_RETRIES`] times in a row).
struct HubReader {
    file: Arc<Inner>,
    offset: u64,
    end: u64,
    /// Size of the next range asked for, and where the current one ends.
    window: u64,
    window_end: u64,
    response: Option<Response>,
    /// Bytes of the current body still to skip (when the server ignored the range).
    skip: u64,
    buf: Bytes,
    failures: u32,
}

impl HubReader {
    fn new(file: Arc<Inner>, offset: u64, end: u64) -> HubReader {
        HubReader {
            file,
            offset,
            end,
            window: FIRST_WINDOW,
            window_end: offset,
            response: None,
            skip: 0,
            buf: Bytes::new(),
            failures: 0,
        }
    }

    fn error(&self, e: HubError) -> io::Error {
        io::Error::other(e)
    }

    /// The next piece of the body, or `None` at `end`.
    fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        let http = self.file.http.clone();
        loop {
            if self.offset >= self.end {
                return Ok(None);
            }
            if self.response.is_none() {
                self.window_end = self.end.min(self.offset.saturating_add(self.window));
                self.window = (self.window * 2).min(MAX_WINDOW);
                let end = (self.window_end < self.file.size).then_some(self.window_end);
                let (response, body_start) = http
                    .handle
                    .block_on(self.file.open_at(self.offset, end))
                    .map_err(|e| self.error(e))?;
                if response.status() == StatusCode::RANGE_NOT_SATISFIABLE {
                    return Ok(None);
                }
                if response.status() == StatusCode::OK {
                    // The range was ignored: this body holds the whole file.
                    self.window_end = self.end;
                }
                self.skip = self.offset - body_start.min(self.offset);
                self.response = Some(response);
            }
            let response = self.response.as_mut().expect("just opened");
            let broken = match http.handle.block_on(response.chunk()) {
                Ok(Some(mut chunk)) => {
                    http.bytes_received
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if self.skip > 0 {
                        let n = self.skip.min(chunk.len() as u64);
                        self.skip -= n;
                        chunk = chunk.slice(n as usize..);
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    self.failures = 0;
                    let room = (self.window_end - self.offset) as usize;
                    chunk.truncate(room);
                    if chunk.is_empty() {
                        // Past the window (a server that ignored the range): the next one.
                        self.response = None;
                        continue;
                    }
                    return Ok(Some(chunk));
                }
                // The window is done: ask for the next one.
                Ok(None) if self.offset >= self.window_end => {
                    self.response = None;
                    continue;
                }
                // The body ended before the window did: the connection was cut.
                Ok(None) => "the download ended early".to_string(),
                Err(e) => reason(&e),
            };
            self.response = None;
            self.failures += 1;
            if self.failures > MAX_RETRIES {
                return Err(self.error(HubError::Network {
                    endpoint: http.endpoint.clone(),
                    reason: format!(
                        "reading {} broke at byte {} and still failed after {MAX_RETRIES} retries ({broken})",
                        self.file.display.display(),
                        self.offset
                    ),
                }));
            }
            std::thread::sleep(http.retry.delay(self.failures - 1, None));
        }
    }
}

impl Read for HubReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.buf.is_empty() {
            match self.next_chunk()? {
                Some(chunk) => self.buf = chunk,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_urls_encode_the_revision_but_keep_path_slashes() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let settings = HubSettings {
            endpoint: "http://127.0.0.1:9".into(),
            token: None,
            cache_dir: PathBuf::from("/nonexistent"),
            offline: false,
        };
        let http = HubHttp::new(&settings).unwrap();
        assert_eq!(
            http.resolve_url("o/n", "refs/convert/parquet", "default/train/0000.parquet"),
            "http://127.0.0.1:9/datasets/o/n/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet"
        );
        assert_eq!(
            http.resolve_url("o/n", "main", "data/a b.jsonl"),
            "http://127.0.0.1:9/datasets/o/n/resolve/main/data/a%20b.jsonl"
        );
    }

    #[test]
    fn only_the_hub_endpoint_itself_is_the_hub() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let http = |endpoint: &str| {
            HubHttp::new(&HubSettings {
                endpoint: endpoint.into(),
                token: None,
                cache_dir: PathBuf::from("/nonexistent"),
                offline: false,
            })
            .unwrap()
        };
        let local = http("http://127.0.0.1:4441");
        assert!(local.is_hub("http://127.0.0.1:4441/datasets/o/n/resolve/main/a.jsonl"));
        assert!(!local.is_hub("http://127.0.0.1:44410/datasets/o/n/resolve/main/a.jsonl"));
        assert!(!local.is_hub("https://127.0.0.1:4441/x"));
        let hub = http("https://hub.example");
        assert!(hub.is_hub("https://hub.example/api/datasets/o/n"));
        assert!(!hub.is_hub("https://hub.example.evil.net/api/datasets/o/n"));
        assert!(!hub.is_hub("https://cdn.example/blob"));
        let mirror = http("https://mirror.example/hf/");
        assert!(mirror.is_hub("https://mirror.example/hf/api/datasets/o/n"));
        assert!(!mirror.is_hub("https://mirror.example/other/x"));
        assert!(!mirror.is_hub("not a url"));
    }

    #[test]
    fn content_range_parsing() {
        assert_eq!(content_range_start("bytes 100-199/1000"), Some(100));
        assert_eq!(content_range_start("bytes */1000"), None);
    }
}
