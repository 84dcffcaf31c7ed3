//! The batch tables of the SQLite cache: which requests went into which batch, so a killed run
//! picks its batches up again instead of paying twice.
//!
//! Added with `CREATE TABLE IF NOT EXISTS`, so a cache file from before batch mode keeps working.

use crate::cache::Cache;
use crate::error::Error;
use rusqlite::{OptionalExtension, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS batch_jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    model         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    input_file_id TEXT,
    batch_id      TEXT UNIQUE,
    status        TEXT NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    requests      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_requests (
    job     INTEGER NOT NULL REFERENCES batch_jobs (id),
    key     TEXT NOT NULL,
    lens    TEXT NOT NULL,
    request TEXT NOT NULL,
    error   TEXT,
    PRIMARY KEY (job, key)
);
";

/// One batch job as recorded locally.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub model: String,
    pub version: u32,
    /// Set once the part is uploaded.
    pub input_file_id: Option<String>,
    /// Set once the batch is created.
    pub batch_id: Option<String>,
    /// `written`, `uploaded`, or the batch's own status.
    pub status: String,
    /// Its output and error files are in the cache.
    pub done: bool,
    pub requests: u64,
}

/// One request of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    pub key: String,
    pub lens: String,
    pub request: String,
}

pub fn migrate(cache: &Cache) -> Result<(), Error> {
    cache.with_conn(|c| c.execute_batch(SCHEMA))
}

const JOB_COLUMNS: &str =
    "id, model, version, input_file_id, batch_id, status, done, requests FROM batch_jobs";

fn job(r: &rusqlite::Row) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        model: r.get(1)?,
        version: r.get(2)?,
        input_file_id: r.get(3)?,
        batch_id: r.get(4)?,
        status: r.get(5)?,
        done: r.get::<_, i64>(6)? != 0,
        requests: r.get(7)?,
    })
}

/// Record a new job with its requests, in one transaction, before anything is uploaded.
pub fn insert_job(
    cache: &Cache,
    model: &str,
    version: u32,
    requests: &[JobRequest],
) -> Result<i64, Error> {
    cache.with_conn(|c| {
        let tx = c.transaction()?;
        tx.execute(
            "INSERT INTO batch_jobs (model, version, status, requests, created_at) VALUES (?1, ?2, 'written', ?3, ?4)",
            params![model, version, requests.len() as u64, crate::batch::now()],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO batch_requests (job, key, lens, request) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in requests {
                stmt.execute(params![id, r.key, r.lens, r.request])?;
            }
        }
        tx.commit()?;
        Ok(id)
    })
}

pub fn set_uploaded(cache: &Cache, job: i64, file_id: &str) -> Result<(), Error> {
    update(
        cache,
        "UPDATE batch_jobs SET input_file_id = ?2, status = 'uploaded' WHERE id = ?1",
        params![job, file_id],
    )
}

pub fn set_batch(cache: &Cache, job: i64, batch_id: &str, status: &str) -> Result<(), Error> {
    update(
        cache,
        "UPDATE batch_jobs SET batch_id = ?2, status = ?3 WHERE id = ?1",
        params![job, batch_id, status],
    )
}

pub fn set_status(cache: &Cache, job: i64, status: &str, done: bool) -> Result<(), Error> {
    update(
        cache,
        "UPDATE batch_jobs SET status = ?2, done = ?3 WHERE id = ?1",
        params![job, status, done as i64],
    )
}

pub fn set_error(cache: &Cache, job: i64, key: &str, error: &str) -> Result<(), Error> {
    update(
        cache,
        "UPDATE batch_requests SET error = ?3 WHERE job = ?1 AND key = ?2",
        params![job, key, error],
    )
}

/// Runs one `UPDATE` statement; how many rows it touched does not matter to any caller.
fn update(cache: &Cache, sql: &str, params: impl rusqlite::Params) -> Result<(), Error> {
    cache.with_conn(|c| c.execute(sql, params).map(|_| ()))
}

/// Every job, newest first.
pub fn jobs(cache: &Cache) -> Result<Vec<Job>, Error> {
    cache.with_conn(|c| {
        let mut stmt = c.prepare(&format!("SELECT {JOB_COLUMNS} ORDER BY id DESC"))?;
        stmt.query_map([], job)?.collect()
    })
}

pub fn job_by_batch(cache: &Cache, batch_id: &str) -> Result<Option<Job>, Error> {
    cache.with_conn(|c| {
        c.query_row(
            &format!("SELECT {JOB_COLUMNS} WHERE batch_id = ?1"),
            [batch_id],
            job,
        )
        .optional()
    })
}

pub fn requests(cache: &Cache, job: i64) -> Result<Vec<JobRequest>, Error> {
    cache.with_conn(|c| {
        let mut stmt = c.prepare(
            "SELECT key, lens, request FROM batch_requests WHERE job = ?1 ORDER BY rowid",
        )?;
        stmt.query_map([job], |r| {
            Ok(JobRequest {
                key: r.get(0)?,
                lens: r.get(1)?,
                request: r.get(2)?,
            })
        })?
        .collect()
    })
}

/// The newest recorded batch error of each key that has one.
pub fn errors(cache: &Cache) -> Result<Vec<(String, String)>, Error> {
    cache.with_conn(|c| {
        let mut stmt = c.prepare(
            "SELECT key, error FROM batch_requests WHERE error IS NOT NULL ORDER BY job",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Answer;
    use serde_json::json;

    #[test]
    fn a_cache_from_before_batch_mode_gains_the_batch_tables_and_keeps_its_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            // The answers table alone, as caches were before batch mode.
            let cache = Cache::open(&path).unwrap();
            let answer = Answer {
                arguments: "{}".into(),
                response: json!({}),
                prompt_tokens: 1,
                completion_tokens: 2,
                elapsed: std::time::Duration::ZERO,
            };
            cache.put("k0", "l", "m", 1, &json!({}), &answer).unwrap();
        }
        let cache = Cache::open(&path).unwrap();
        migrate(&cache).unwrap();
        migrate(&cache).unwrap(); // idempotent
        assert!(cache.get("k0").unwrap().is_some());
        let request = |key: &str| JobRequest {
            key: key.into(),
            lens: "l".into(),
            request: "{}".into(),
        };
        let id = insert_job(&cache, "m", 1, &[request("k1"), request("k2")]).unwrap();
        set_uploaded(&cache, id, "file-1").unwrap();
        set_batch(&cache, id, "batch_1", "validating").unwrap();
        set_error(&cache, id, "k2", "expired").unwrap();
        set_status(&cache, id, "expired", true).unwrap();
        let job = job_by_batch(&cache, "batch_1").unwrap().unwrap();
        assert_eq!(
            (
                job.input_file_id.as_deref(),
                job.status.as_str(),
                job.done,
                job.requests
            ),
            (Some("file-1"), "expired", true, 2)
        );
        assert_eq!(requests(&cache, id).unwrap().len(), 2);
        assert_eq!(
            errors(&cache).unwrap(),
            [("k2".to_string(), "expired".to_string())]
        );
    }
}
