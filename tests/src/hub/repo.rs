//! The emulator's repository model: a builder for dataset repos (branches, tags, files in memory
//! or on disk, access rules) and the lookups the routes need (revision → commit, path → file).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::body::Bytes;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Where a file's bytes live.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    Memory(Bytes),
    /// Served with range reads straight from the file, so a huge dataset need not sit in memory.
    Disk(PathBuf),
}

/// One file at one commit.
#[derive(Debug, Clone)]
pub(crate) struct RepoFile {
    pub path: String,
    pub content: Content,
    pub size: u64,
    /// Git blob id (sha1 of `blob <len>\0<bytes>`; for LFS files, of the pointer file).
    pub git_oid: String,
    /// `Some(sha256 hex)` for files stored in LFS (served through the CDN).
    pub lfs_sha256: Option<String>,
}

impl RepoFile {
    fn new(path: &str, content: Content, lfs: bool) -> RepoFile {
        let path = path.trim_matches('/').to_owned();
        assert!(!path.is_empty(), "a repo file needs a non-empty path");
        let (size, sha256) = match &content {
            Content::Memory(b) => (b.len() as u64, hex(&Sha256::digest(b))),
            Content::Disk(p) => hash_file(p),
        };
        let (git_oid, lfs_sha256) = if lfs {
            (
                git_blob_oid(lfs_pointer(&sha256, size).as_bytes()),
                Some(sha256),
            )
        } else {
            let bytes = match &content {
                Content::Memory(b) => b.to_vec(),
                Content::Disk(p) => {
                    std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
                }
            };
            (git_blob_oid(&bytes), None)
        };
        RepoFile {
            path,
            content,
            size,
            git_oid,
            lfs_sha256,
        }
    }

    /// The size of the LFS pointer file git stores instead of the content.
    pub fn pointer_size(&self) -> Option<u64> {
        self.lfs_sha256
            .as_deref()
            .map(|sha| lfs_pointer(sha, self.size).len() as u64)
    }

    /// The whole content in memory (README parsing only; never used for disk files' bodies).
    pub fn read_all(&self) -> std::io::Result<Bytes> {
        match &self.content {
            Content::Memory(b) => Ok(b.clone()),
            Content::Disk(p) => std::fs::read(p).map(Bytes::from),
        }
    }
}

/// Files of one branch, keyed by path (sorted, so listings are stable).
#[derive(Debug, Clone, Default)]
struct FileSet(BTreeMap<String, RepoFile>);

impl FileSet {
    fn add(&mut self, path: &str, content: Content, lfs: bool) {
        let f = RepoFile::new(path, content, lfs);
        self.0.insert(f.path.clone(), f);
    }
}

/// The files of a non-default branch, built inside [`Repo::branch`].
#[derive(Debug, Clone, Default)]
pub struct Branch {
    files: FileSet,
}

impl Branch {
    /// A small file stored in git, served by the Hub itself.
    pub fn file(mut self, path: &str, bytes: impl Into<Bytes>) -> Self {
        self.files.add(path, Content::Memory(bytes.into()), false);
        self
    }

    /// A file stored in LFS: the Hub redirects to the CDN for its bytes.
    pub fn lfs(mut self, path: &str, bytes: impl Into<Bytes>) -> Self {
        self.files.add(path, Content::Memory(bytes.into()), true);
        self
    }

    /// An LFS file whose bytes are read (with ranges) from `disk_path` on demand. The file is
    /// hashed once when added.
    pub fn lfs_path(mut self, path: &str, disk_path: impl AsRef<Path>) -> Self {
        let p = disk_path.as_ref().to_path_buf();
        self.files.add(path, Content::Disk(p), true);
        self
    }
}

/// Who may read a repo's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    Open,
    /// `gated: "manual"`; the emulator's token has been granted access.
    Granted,
    /// `gated: "manual"`; even the emulator's token was not granted access (403).
    Refused,
}

/// A dataset repository to serve. Build with [`Repo::dataset`] and the chained methods; the
/// default branch is `main`.
///
/// ```ignore
/// Repo::dataset("acme/reviews")
///     .file("README.md", "---\nlicense: mit\n---\n# Reviews\n")
///     .lfs("data/train-00000-of-00001.parquet", parquet_bytes)
///     .branch("refs/convert/parquet", |b| b.lfs("default/train/0000.parquet", converted))
///     .tag("v1.0")
/// ```
#[derive(Debug, Clone)]
pub struct Repo {
    pub(crate) id: String,
    main: Branch,
    branches: Vec<(String, Branch)>,
    /// (tag, branch it points at)
    tags: Vec<(String, String)>,
    pub(crate) private: bool,
    pub(crate) gate: Gate,
    pub(crate) former_ids: Vec<String>,
}

impl Repo {
    /// A public, ungated dataset repo `owner/name` with an empty `main` branch.
    pub fn dataset(id: &str) -> Repo {
        let parts: Vec<&str> = id.split('/').collect();
        assert!(
            parts.len() == 2 && parts.iter().all(|p| !p.is_empty()),
            "a dataset id is `owner/name`, got {id:?}"
        );
        Repo {
            id: id.to_owned(),
            main: Branch::default(),
            branches: Vec::new(),
            tags: Vec::new(),
            private: false,
            gate: Gate::Open,
            former_ids: Vec::new(),
        }
    }

    /// A small git file on `main`, served by the Hub itself.
    pub fn file(mut self, path: &str, bytes: impl Into<Bytes>) -> Self {
        self.main = self.main.file(path, bytes);
        self
    }

    /// An LFS file on `main` (the Hub answers 302 to the CDN).
    pub fn lfs(mut self, path: &str, bytes: impl Into<Bytes>) -> Self {
        self.main = self.main.lfs(path, bytes);
        self
    }

    /// An LFS file on `main` served from `disk_path` with range reads.
    pub fn lfs_path(mut self, path: &str, disk_path: impl AsRef<Path>) -> Self {
        self.main = self.main.lfs_path(path, disk_path);
        self
    }

    /// Another branch, e.g. `refs/convert/parquet`, whose files `build` adds.
    pub fn branch(mut self, name: &str, build: impl FnOnce(Branch) -> Branch) -> Self {
        assert!(name != "main", "add files to main with Repo::file/lfs");
        let b = build(Branch::default());
        self.branches.retain(|(n, _)| n != name);
        self.branches.push((name.to_owned(), b));
        self
    }

    /// A tag pointing at the current commit of `main`.
    pub fn tag(mut self, name: &str) -> Self {
        self.tags.push((name.to_owned(), "main".to_owned()));
        self
    }

    /// A tag pointing at the commit of `branch`.
    pub fn tag_branch(mut self, name: &str, branch: &str) -> Self {
        self.tags.push((name.to_owned(), branch.to_owned()));
        self
    }

    /// Private: visible only with the emulator's token (401 `RepoNotFound` otherwise).
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// Gated (`"manual"`) and the emulator's token has been granted access: files need the token.
    pub fn gated(mut self) -> Self {
        self.gate = Gate::Granted;
        self
    }

    /// Gated (`"manual"`) and even the emulator's token was not granted access (403 `GatedRepo`).
    pub fn gated_without_access(mut self) -> Self {
        self.gate = Gate::Refused;
        self
    }

    /// The repo was renamed from `old_id`: requests for the old id answer a relative `307` to
    /// the same path under the new id, like the real Hub.
    pub fn renamed_from(mut self, old_id: &str) -> Self {
        self.former_ids.push(old_id.to_owned());
        self
    }

    /// Freezes the builder into the served form (commit shas computed from the content).
    pub(crate) fn publish(self) -> Arc<Published> {
        let mut commits = Vec::new();
        let mut all = vec![("main".to_owned(), self.main)];
        all.extend(self.branches);
        for (name, b) in all {
            let sha = commit_sha(&self.id, &name, &b.files);
            commits.push(Commit {
                branch: name,
                sha,
                files: b.files.0,
            });
        }
        Arc::new(Published {
            id: self.id,
            private: self.private,
            gate: self.gate,
            former_ids: self.former_ids,
            tags: self.tags,
            commits,
        })
    }
}

/// One branch head.
#[derive(Debug)]
pub(crate) struct Commit {
    pub branch: String,
    pub sha: String,
    pub files: BTreeMap<String, RepoFile>,
}

/// A repo as served.
#[derive(Debug)]
pub(crate) struct Published {
    pub id: String,
    pub private: bool,
    pub gate: Gate,
    pub former_ids: Vec<String>,
    tags: Vec<(String, String)>,
    pub commits: Vec<Commit>,
}

impl Published {
    /// A branch name, tag name or full commit sha → that commit.
    pub fn resolve(&self, rev: &str) -> Option<&Commit> {
        let branch = self
            .tags
            .iter()
            .find(|(t, _)| t == rev)
            .map(|(_, b)| b.as_str())
            .unwrap_or(rev);
        self.commits
            .iter()
            .find(|c| c.branch == branch || c.sha == rev)
    }

    pub fn main(&self) -> &Commit {
        &self.commits[0]
    }

    /// A stable 24-hex `_id` like the Hub's Mongo ids.
    pub fn internal_id(&self) -> String {
        hex(&Sha256::digest(self.id.as_bytes()))[..24].to_owned()
    }

    /// Every file of every branch with this LFS sha256 (the CDN serves blobs by hash).
    pub fn lfs_blob(&self, sha256: &str) -> Option<&RepoFile> {
        self.commits
            .iter()
            .flat_map(|c| c.files.values())
            .find(|f| f.lfs_sha256.as_deref() == Some(sha256))
    }
}

/// The LFS pointer file git stores for an LFS object.
fn lfs_pointer(sha256: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n")
}

/// `git hash-object` of `bytes`.
pub(crate) fn git_blob_oid(bytes: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex(&h.finalize())
}

/// A deterministic commit id for a branch's content.
fn commit_sha(repo: &str, branch: &str, files: &FileSet) -> String {
    let mut h = Sha1::new();
    h.update(format!("{repo}\0{branch}\0").as_bytes());
    for f in files.0.values() {
        h.update(format!("{}\0{}\0", f.path, f.git_oid).as_bytes());
    }
    hex(&h.finalize())
}

/// (size, sha256 hex) of a file on disk, streamed so a huge file is never held in memory.
fn hash_file(p: &Path) -> (u64, String) {
    let mut f = File::open(p).unwrap_or_else(|e| panic!("cannot open {}: {e}", p.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    (size, hex(&h.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
