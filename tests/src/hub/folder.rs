//! A dataset repo built from a folder on disk (used by the `hub-emulator` binary): big or
//! binary data files become disk-backed LFS files, small text files live in git.

use std::path::{Path, PathBuf};

use super::repo::Repo;

/// Files bigger than this, or with a binary data extension, are served as LFS (via the CDN).
pub const LFS_THRESHOLD: u64 = 1 << 20;
const LFS_EXTENSIONS: &[&str] = &["parquet", "arrow", "gz", "zst", "bz2", "xz", "zip", "bin"];

impl Repo {
    /// Dataset `id` holding every non-hidden file under `dir` at the same relative path.
    /// Parquet/Arrow/compressed files and files over [`LFS_THRESHOLD`] are LFS files read from
    /// disk on demand; the rest are read into memory as git files.
    pub fn from_folder(id: &str, dir: &Path) -> std::io::Result<Repo> {
        let mut files = Vec::new();
        walk(dir, "", &mut files)?;
        files.sort();
        let mut repo = Repo::dataset(id);
        for (path, disk) in files {
            let size = std::fs::metadata(&disk)?.len();
            let ext = path.rsplit('.').next().unwrap_or("");
            repo = if size > LFS_THRESHOLD || LFS_EXTENSIONS.contains(&ext) {
                repo.lfs_path(&path, &disk)
            } else {
                repo.file(&path, std::fs::read(&disk)?)
            };
        }
        Ok(repo)
    }
}

/// Every non-hidden file under `dir`, as (repo path, disk path).
fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let repo_path = format!("{prefix}{name}");
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &format!("{repo_path}/"), out)?;
        } else {
            out.push((repo_path, entry.path()));
        }
    }
    Ok(())
}
