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
        Ok(Cache {
            conn: Mutex::new(conn),
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
            path: PathBuf::from(":memory:"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cache key of a request for `lens` at `version`.
    pub fn key(body: &Value, lens: &str, model: &str, version: u32) -> String {
        let mut hasher = Sha256::new();
        hasher.update(canonical(body).as_bytes());
        for part in [lens, model, &version.to_string()] {
            // A separator that cannot occur in JSON text keeps the parts from running together.
            hasher.update([0u8]);
            hasher.update(part.as_bytes());
        }
        hex(&hasher.finalize())
    }

    pub fn get(&self, key: &str) -> Result<Option<Cached>, Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(
            "SELECT arguments, prompt_tokens, completion_tokens FROM answers WHERE key = ?1",
            [key],
            |r| {
                Ok(Cached {
                    arguments: r.get(0)?,
                    prompt_tokens: r.get(1)?,
                    completion_tokens: r.get(2)?,
                })
            },
        )
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
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
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
