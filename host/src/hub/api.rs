//! Talking to the Hub, or to its cache when offline: pin a revision to a commit, list the
//! commit's files, and fetch files into the cache Python's `huggingface_hub` also uses.
//!
//! Repo info, the tree listing and downloads go through the `hf-hub` crate, which knows the
//! cache layout (`datasets--owner--name/{blobs,refs,snapshots}`), ETags and Xet storage. It has
//! no offline mode, so `HF_HUB_OFFLINE=1` is handled here: refs and snapshots are read from the
//! cache folder directly and nothing connects anywhere.

use super::error::{HubError, Target, from_hf_hub};
use super::layout::RepoFile;
use super::remote::{HubFile, HubHttp};
use super::settings::HubSettings;
use futures_util::{StreamExt, TryStreamExt};
use hf_hub::repository::RepoTreeEntry;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEFAULT_REVISION: &str = "main";

/// A connection to the Hub (or only its cache, offline).
pub struct Hub {
    pub settings: HubSettings,
    /// `None` offline: nothing may connect.
    online: Option<Online>,
}

struct Online {
    client: hf_hub::HFClient,
    http: Arc<HubHttp>,
}

impl Hub {
    /// Must be called inside the tokio runtime the blocking readers will use.
    pub fn new(settings: HubSettings) -> Result<Hub, HubError> {
        Self::build(settings, HubHttp::new)
    }

    /// A connection whose range reads run on a runtime of their own, so its remote files can be
    /// read after the runtime this is made in has ended (see [`HubHttp::detached`]). Must still
    /// be called inside a runtime: the listing client runs there.
    pub fn detached(settings: HubSettings) -> Result<Hub, HubError> {
        Self::build(settings, HubHttp::detached)
    }

    fn build(
        settings: HubSettings,
        http: fn(&HubSettings) -> Result<Arc<HubHttp>, HubError>,
    ) -> Result<Hub, HubError> {
        let online = if settings.offline {
            None
        } else {
            let mut builder = hf_hub::HFClient::builder()
                .endpoint(settings.endpoint.clone())
                .cache_dir(settings.cache_dir.clone())
                .user_agent(concat!("classified/", env!("CARGO_PKG_VERSION")))
                .retry_max_attempts(super::remote::MAX_RETRIES as usize)
                .retry_base_delay(std::time::Duration::from_millis(250));
            if let Some(token) = &settings.token {
                builder = builder.token(token.expose());
            }
            let client = builder.build().map_err(|e| HubError::Unexpected {
                endpoint: settings.endpoint.clone(),
                what: format!("no usable client ({e})"),
            })?;
            Some(Online {
                client,
                http: http(&settings)?,
            })
        };
        Ok(Hub { settings, online })
    }

    pub fn offline(&self) -> bool {
        self.online.is_none()
    }

    /// The shared HTTP client for range reads (`None` offline).
    pub fn http(&self) -> Option<&Arc<HubHttp>> {
        self.online.as_ref().map(|o| &o.http)
    }

    fn target<'a>(&'a self, repo: &'a str, revision: &'a str, path: Option<&'a str>) -> Target<'a> {
        Target {
            endpoint: &self.settings.endpoint,
            repo,
            revision,
            path,
            has_token: self.settings.token.is_some(),
        }
    }

    fn repo(online: &Online, repo: &str) -> hf_hub::HFRepository<hf_hub::RepoTypeDataset> {
        let (owner, name) = hf_hub::split_id(repo);
        online.client.dataset(owner, name)
    }

    /// The folder of a dataset repo in the Hub cache.
    pub fn cache_folder(&self, repo: &str) -> PathBuf {
        self.settings
            .cache_dir
            .join(format!("datasets--{}", repo.replace('/', "--")))
    }

    /// The commit a branch, tag or commit hash points at. Online the Hub is asked (and the ref is
    /// written to the cache, as `huggingface_hub` does, so an offline run finds it later).
    pub async fn commit(&self, repo: &str, revision: &str) -> Result<String, HubError> {
        let Some(online) = &self.online else {
            if is_commit_hash(revision) {
                return Ok(revision.to_string());
            }
            let ref_file = self.cache_folder(repo).join("refs").join(revision);
            return std::fs::read_to_string(&ref_file)
                .map(|s| s.trim().to_string())
                .map_err(|_| HubError::NotCached {
                    what: format!("dataset {repo} at revision \"{revision}\""),
                    cache: self.settings.cache_dir.clone(),
                });
        };
        let info = Self::repo(online, repo)
            .info()
            .revision(revision)
            .send()
            .await
            .map_err(|e| from_hf_hub(e, &self.target(repo, revision, None)))?;
        let sha = info.sha.ok_or_else(|| HubError::Unexpected {
            endpoint: self.settings.endpoint.clone(),
            what: format!("no commit hash for dataset {repo} at revision \"{revision}\""),
        })?;
        if revision != sha {
            let ref_file = self.cache_folder(repo).join("refs").join(revision);
            // Best effort: a read-only cache still allows online runs.
            let _ = write_ref(&ref_file, &sha);
        }
        Ok(sha)
    }

    /// Every file of the repo at `sha`. Offline: the files of that snapshot in the cache.
    pub async fn files(&self, repo: &str, sha: &str) -> Result<Vec<RepoFile>, HubError> {
        let Some(online) = &self.online else {
            let root = self.cache_folder(repo).join("snapshots").join(sha);
            if !root.is_dir() {
                return Err(HubError::NotCached {
                    what: format!("dataset {repo} at commit {sha}"),
                    cache: self.settings.cache_dir.clone(),
                });
            }
            // The tree an online run listed, when there was one: then a file missing from the
            // snapshot is an error naming it, not a split that silently lost that file.
            if let Some(files) = read_tree(&self.tree_file(repo, sha)) {
                return Ok(files);
            }
            let mut files = Vec::new();
            walk_snapshot(&root, &root, &mut files);
            files.sort_by(|a, b| a.path.cmp(&b.path));
            return Ok(files);
        };
        let target = self.target(repo, sha, None);
        let repository = Self::repo(online, repo);
        let entries: Vec<RepoTreeEntry> = repository
            .list_tree()
            .revision(sha)
            .recursive(true)
            .send()
            .map_err(|e| from_hf_hub(e, &target))?
            .map_err(|e| from_hf_hub(e, &target))
            .try_collect()
            .await?;
        let mut files: Vec<RepoFile> = entries
            .into_iter()
            .filter_map(|entry| match entry {
                RepoTreeEntry::File {
                    path, size, oid, ..
                } => Some(RepoFile {
                    path,
                    size,
                    // The tree's object id (for an LFS file, of its pointer, which names the
                    // content's sha256): another content, another id.
                    etag: Some(oid),
                }),
                _ => None,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        // Best effort, for offline runs later: a read-only cache still allows online runs.
        let _ = write_tree(&self.tree_file(repo, sha), &files);
        Ok(files)
    }

    /// Where the file list of `repo` at `sha` is kept in the cache (beside `huggingface_hub`'s own
    /// folders, which it leaves alone).
    fn tree_file(&self, repo: &str, sha: &str) -> PathBuf {
        self.cache_folder(repo)
            .join("classified-trees")
            .join(format!("{sha}.json"))
    }

    /// A file of the repo at `sha` in the local cache, downloading it first when online.
    pub async fn fetch(&self, repo: &str, sha: &str, path: &str) -> Result<PathBuf, HubError> {
        let Some(online) = &self.online else {
            let cached = self
                .cache_folder(repo)
                .join("snapshots")
                .join(sha)
                .join(path);
            return if cached.is_file() {
                Ok(cached)
            } else {
                Err(HubError::NotCached {
                    what: format!("{path} of dataset {repo} at commit {sha}"),
                    cache: self.settings.cache_dir.clone(),
                })
            };
        };
        Self::repo(online, repo)
            .download_file()
            .filename(path)
            .revision(sha)
            .send()
            .await
            .map_err(|e| from_hf_hub(e, &self.target(repo, sha, Some(path))))
    }

    /// Several files into the cache, a few at a time, in the order given.
    pub async fn fetch_all(
        &self,
        repo: &str,
        sha: &str,
        paths: &[String],
    ) -> Result<Vec<PathBuf>, HubError> {
        futures_util::stream::iter(paths.iter().map(|p| self.fetch(repo, sha, p)))
            .buffered(4)
            .try_collect()
            .await
    }

    /// A file read by range requests (online only).
    pub fn remote(&self, repo: &str, sha: &str, file: &RepoFile) -> Option<HubFile> {
        self.online
            .as_ref()
            .map(|o| HubFile::new(o.http.clone(), repo, sha, &file.path, file.size))
    }
}

pub fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit())
}

/// Files under a cached snapshot (symlinks into `blobs/` are followed), relative to `root`.
fn walk_snapshot(root: &Path, dir: &Path, out: &mut Vec<RepoFile>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk_snapshot(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(RepoFile {
                path: rel.to_string_lossy().replace('\\', "/"),
                size: meta.len(),
                // The cache names a blob by its download's ETag (an LFS file's sha256), not by
                // the object id the tree lists: no hash here, so an offline shard's stamps
                // compare equal to an online one's (the commit in the file's name pins it).
                etag: None,
            });
        }
    }
}

/// The file list of a commit, as an online run saw it: paths and sizes (no hashes, as offline).
fn write_tree(path: &Path, files: &[RepoFile]) -> Result<PathBuf, crate::error::Error> {
    let listed: Vec<serde_json::Value> = files
        .iter()
        .map(|f| serde_json::json!({"path": f.path, "size": f.size}))
        .collect();
    let json = serde_json::to_vec(&listed).expect("a file list serializes");
    crate::report::AtomicFile::write(path, &json)
}

/// [`write_tree`]'s list, if it is there and readable.
fn read_tree(path: &Path) -> Option<Vec<RepoFile>> {
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    listed
        .iter()
        .map(|f| {
            Some(RepoFile {
                path: f.get("path")?.as_str()?.to_string(),
                size: f.get("size")?.as_u64()?,
                etag: None,
            })
        })
        .collect()
}

/// A ref file (`refs/main` holding the commit), written whole or not at all.
fn write_ref(path: &Path, sha: &str) -> Result<PathBuf, crate::error::Error> {
    crate::report::AtomicFile::write(path, sha.as_bytes())
}
