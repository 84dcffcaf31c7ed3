//! The SQLite answer cache: every good answer is committed the moment it arrives, so a killed run
//! resumes without paying twice.
//!
//! Key: sha256 of the canonical request body (sorted keys) plus lens, model and `--version`. WAL mode
//! with a busy timeout lets several runs share one cache file.

use crate::error::Error;
use crate::model::Answer;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

pub struct Cache {
    conn: Mutex<Connection>,
    /// A second connection for lookups, so a read never waits behind a write's commit (absent for
    /// an in-memory cache, whose data only its one connection sees).
    reader: Option<Mutex<Connection>>,
    path: PathBuf,
}

/// What a cache hit gives back.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub arguments: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS answers (
    key               TEXT PRIMARY KEY,
    lens              TEXT NOT NULL,
    model             TEXT NOT NULL,
    version           INTEGER NOT NULL,
    request           TEXT NOT NULL,
    response          TEXT NOT NULL,
    arguments         TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    elapsed_ms        INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_by_lens ON answers (lens, model, version);
-- A lookup reads only these columns: from this covering index it never touches the table row,
-- whose request and response (kilobytes, on overflow pages) come before `arguments`.
CREATE INDEX IF NOT EXISTS answers_lookup ON answers (key, arguments, prompt_tokens, completion_tokens);
";

impl Cache {
    pub fn open(path: &Path) -> Result<Cache, Error> {
        let fail = |problem: String| Error::Cache {
            path: path.display().to_string(),
            problem,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| fail(format!("cannot be created: {e}")))?;
        }
        let conn = Connection::open(path).map_err(|e| {
            fail(format!(
                "cannot be opened: {e}; set DATABASE_URL to a writable file"
            ))
        })?;
        conn.busy_timeout(Duration::from_secs(60))
            .map_err(|e| fail(e.to_string()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|_| conn.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|_| conn.execute_batch(SCHEMA))
            .map_err(|e| {
                fail(format!(
                    "is not a usable Classified cache ({e}); move it away or set DATABASE_URL"
                ))
            })?;
        let reader = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|r| r.busy_timeout(Duration::from_secs(60)).map(|_| r))
            .map_err(|e| fail(format!("cannot be opened for reading: {e}")))?;
        Ok(Cache {
            conn: Mutex::new(conn),
            reader: Some(Mutex::new(reader)),
            path: path.to_path_buf(),
        })
    }

    /// An empty cache that lives in memory: a dry run on a fresh machine leaves no file behind.
    pub fn in_memory() -> Result<Cache, Error> {
        let fail = |e: rusqlite::Error| Error::Cache {
            path: ":memory:".into(),
            problem: e.to_string(),
        };
        let conn = Connection::open_in_memory().map_err(fail)?;
        conn.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Cache {
            conn: Mutex::new(conn),
            reader: None,
            path: PathBuf::from(":memory:"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cache key of a request for `lens` at `version`.
    pub fn key(body: &Value, lens: &str, model: &str, version: u32) -> String {
        let mut hasher = Sha256::new();
        write_canonical(body, &mut hasher).expect("hashing never fails to write");
        for part in [lens, model, &version.to_string()] {
            // A separator that cannot occur in JSON text keeps the parts from running together.
            hasher.update([0u8]);
            hasher.update(part.as_bytes());
        }
        hex(&hasher.finalize())
    }

    pub fn get(&self, key: &str) -> Result<Option<Cached>, Error> {
        let conn = self
            .reader
            .as_ref()
            .unwrap_or(&self.conn)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Cached statements: a rerun looks up every prompt, so parse the query once.
        let mut query = conn
            .prepare_cached(
                "SELECT arguments, prompt_tokens, completion_tokens FROM answers INDEXED BY answers_lookup WHERE key = ?1",
            )
            .map_err(|e| self.error("cannot be read", e))?;
        query
            .query_row([key], |r| {
                Ok(Cached {
                    arguments: r.get(0)?,
                    prompt_tokens: r.get(1)?,
                    completion_tokens: r.get(2)?,
                })
            })
            .optional()
            .map_err(|e| self.error("cannot be read", e))
    }

    /// Commit one good answer now. It replaces an answer stored under the same key (one a changed
    /// postprocess rejected, or a concurrent run's equally good one).
    pub fn put(
        &self,
        key: &str,
        lens: &str,
        model: &str,
        version: u32,
        request: &Value,
        answer: &Answer,
    ) -> Result<(), Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        conn.execute(
            "INSERT OR REPLACE INTO answers (key, lens, model, version, request, response, arguments,
                 prompt_tokens, completion_tokens, elapsed_ms, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                key,
                lens,
                model,
                version,
                request.to_string(),
                answer.response.to_string(),
                answer.arguments,
                answer.prompt_tokens,
                answer.completion_tokens,
                answer.elapsed.as_millis() as u64,
                now
            ],
        )
        .map(|_| ())
        .map_err(|e| self.error("cannot be written", e))
    }

    /// Run `f` on the connection (for the batch tables, `crate::batch::store`).
    pub(crate) fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(|e| self.error("cannot be used for batches", e))
    }

    fn error(&self, what: &str, e: rusqlite::Error) -> Error {
        Error::Cache {
            path: self.path.display().to_string(),
            problem: format!("{what}: {e}"),
        }
    }
}

/// JSON with object keys sorted at every level, so key order never changes a cache key.
pub fn canonical(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out).expect("writing to memory never fails");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// [`canonical`] written straight into `out` (e.g. the hasher), without building a sorted copy:
/// a cached rerun computes one key per prompt, so this is on the hot path.
fn write_canonical(value: &Value, out: &mut impl std::io::Write) -> std::io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.write_all(b"{")?;
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical(item, out)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")
        }
        scalar => Ok(serde_json::to_writer(out, scalar)?),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer() -> Answer {
        Answer {
            arguments: r#"{"overall": 3}"#.into(),
            response: json!({"id": "x"}),
            prompt_tokens: 10,
            completion_tokens: 5,
            elapsed: Duration::from_millis(7),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level_and_escapes_like_serde() {
        let v = json!({"b": [{"z": 1, "a": "x\"y\n"}, 2.5, null], "a": {"d": true, "c": -3}});
        assert_eq!(
            canonical(&v),
            r#"{"a":{"c":-3,"d":true},"b":[{"a":"x\"y\n","z":1},2.5,null]}"#
        );
        // Keys of answers cached before this writer existed stay the same (a pinned key).
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        assert_eq!(
            Cache::key(&body, "lens", "m", 1),
            "1fb292a6c2e9fad013c1150a08f78428227860a435888d222711ca02b6f104e0"
        );
    }

    #[test]
    fn key_ignores_key_order_but_not_content_lens_model_or_version() {
        let a = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        let b = json!({"messages": [{"content": "x", "role": "user"}], "model": "m"});
        let k = Cache::key(&a, "lens", "m", 1);
        assert_eq!(k, Cache::key(&b, "lens", "m", 1));
        assert_ne!(
            k,
            Cache::key(&json!({"model": "m", "messages": []}), "lens", "m", 1)
        );
        assert_ne!(k, Cache::key(&a, "other", "m", 1));
        assert_ne!(k, Cache::key(&a, "lens", "m2", 1));
        assert_ne!(k, Cache::key(&a, "lens", "m", 2));
    }

    #[test]
    fn answers_survive_reopening_and_versions_coexist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cache.sqlite");
        let body = json!({"model": "m"});
        {
            let cache = Cache::open(&path).unwrap();
            let k1 = Cache::key(&body, "l", "m", 1);
            assert_eq!(cache.get(&k1).unwrap(), None);
            cache.put(&k1, "l", "m", 1, &body, &answer()).unwrap();
        }
        let cache = Cache::open(&path).unwrap();
        let hit = cache.get(&Cache::key(&body, "l", "m", 1)).unwrap().unwrap();
        assert_eq!(hit.arguments, r#"{"overall": 3}"#);
        assert_eq!((hit.prompt_tokens, hit.completion_tokens), (10, 5));
        assert_eq!(cache.get(&Cache::key(&body, "l", "m", 2)).unwrap(), None);
        // The same key twice is not an error; the newer answer wins.
        cache
            .put(
                &Cache::key(&body, "l", "m", 1),
                "l",
                "m",
                1,
                &body,
                &answer(),
            )
            .unwrap();
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite");
        std::fs::write(
            &path,
            "this is not a database, just text that is long enough to have a header",
        )
        .unwrap();
        let err = Cache::open(&path).err().unwrap().to_string();
        assert!(
            err.contains("cache.sqlite") && err.contains("DATABASE_URL"),
            "{err}"
        );
    }
}
