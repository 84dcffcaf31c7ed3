//! A file that only appears under its real name once it is complete, so a crash never leaves a file
//! that looks finished. Until then it lives beside its target as `.NAME.XXXXXX.partial`.

use crate::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<AtomicFile, Error> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let fail = |source| Error::Output {
            path: target.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        // A temporary file is private (0600) by default; an output is made like any other file
        // (0666 less the umask), so the people and jobs a cluster shares it with can read it.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(dir).map_err(fail)?;
        Ok(AtomicFile {
            temp,
            target: target.to_path_buf(),
        })
    }

    /// Write `bytes` as the whole of `target`, which appears only once they all are on disk.
    pub fn write(target: &Path, bytes: &[u8]) -> Result<PathBuf, Error> {
        let mut file = AtomicFile::create(target)?;
        file.file()
            .write_all(bytes)
            .map_err(|source| Error::Output {
                path: target.display().to_string(),
                source,
            })?;
        file.commit()
    }

    pub fn file(&mut self) -> &mut std::fs::File {
        self.temp.as_file_mut()
    }

    /// A second handle on the temporary file, for writers that want to own theirs.
    pub fn try_clone(&self) -> Result<std::fs::File, Error> {
        self.temp
            .as_file()
            .try_clone()
            .map_err(|source| Error::Output {
                path: self.target.display().to_string(),
                source,
            })
    }

    /// Flush to disk and move into place.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        let target = self.target.clone();
        let fail = |source| Error::Output {
            path: target.display().to_string(),
            source,
        };
        self.temp.as_file_mut().flush().map_err(fail)?;
        self.temp.as_file().sync_all().map_err(fail)?;
        self.temp.persist(&target).map_err(|e| fail(e.error))?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_committed_file_has_the_mode_of_any_file_made_here() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let target = dir.path().join("made.csv");
        AtomicFile::create(&target).unwrap().commit().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), mode(&plain));
    }

    #[test]
    fn nothing_appears_until_commit_and_dropping_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out/summary.csv");
        let mut f = AtomicFile::create(&target).unwrap();
        writeln!(f.file(), "a,b").unwrap();
        assert!(!target.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a,b\n");

        let other = dir.path().join("out/other.csv");
        drop(AtomicFile::create(&other).unwrap());
        assert!(!other.exists());
        let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
