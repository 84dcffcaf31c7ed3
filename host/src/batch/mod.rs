//! `--batch`: send a run's uncached requests through the Batch API at half price.
//!
//! The run's planning pass collects every uncached request (`crate::run`); [`submit_and_wait`]
//! writes them as JSONL parts ([`jsonl`]), records each job in the cache ([`store`]) before
//! uploading it ([`client`]), polls until every batch ends and fills the cache from the output
//! files ([`poll`]). The rating pass then answers every row from the cache; a prompt still without
//! an answer fails its row with the reason in [`Outcome::failures`]. Jobs are recorded before
//! anything is paid for, so a killed run picks up the same batches when rerun.

pub mod client;
pub mod jsonl;
pub mod poll;
pub mod store;

use crate::cache::Cache;
use crate::error::Error;
use client::BatchApi;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;
use store::JobRequest;

/// One request the cache cannot answer.
#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub key: String,
    pub lens: String,
    pub body: Value,
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What batch mode did, for the final report.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// Batches created by this run.
    pub created: usize,
    /// Unfinished batches of an earlier run that this run waited for instead of paying again.
    pub resumed: usize,
    pub totals: poll::Totals,
    /// Why each prompt still without an answer failed, by cache key.
    pub failures: HashMap<String, String>,
}

/// Where a run's batches go and how their answers are checked.
pub struct Target<'a> {
    pub model: &'a str,
    pub version: u32,
    /// A copy of each uploaded part is kept here.
    pub parts_dir: &'a Path,
    /// The lens's postprocess: only answers it takes are cached.
    pub accept: poll::Accept<'a>,
    /// Requests per uploaded file (the Batch API takes at most 50,000).
    pub max_requests: usize,
    /// The first pause between polls; it grows by half up to 30 times this.
    pub first_poll: Duration,
}

/// Send `pending` (deduplicated by key) through the Batch API, or pick up the unfinished batches
/// that already hold them, and wait until every one has ended.
pub async fn submit_and_wait(
    cache: &Cache,
    api: &BatchApi,
    target: &Target<'_>,
    pending: Vec<PendingRequest>,
) -> Result<Outcome, Error> {
    store::migrate(cache)?;
    let mut outcome = Outcome::default();
    let mut todo: BTreeMap<String, PendingRequest> =
        pending.into_iter().map(|p| (p.key.clone(), p)).collect();
    let wanted: Vec<String> = todo.keys().cloned().collect();

    // Unfinished jobs that hold any of these requests: wait for them, do not pay again.
    let mut jobs = Vec::new();
    for job in store::jobs(cache)?.into_iter().filter(|j| !j.done) {
        let keys: HashSet<String> = store::requests(cache, job.id)?
            .into_iter()
            .map(|r| r.key)
            .collect();
        if keys.iter().any(|k| todo.contains_key(k)) {
            todo.retain(|k, _| !keys.contains(k));
            if job.batch_id.is_some() {
                outcome.resumed += 1;
            }
            jobs.push(job);
        }
    }
    let requests: Vec<JobRequest> = todo
        .into_values()
        .map(|p| JobRequest {
            key: p.key,
            lens: p.lens,
            request: p.body.to_string(),
        })
        .collect();
    let max_requests = target.max_requests.min(jsonl::MAX_REQUESTS);
    for part in jsonl::split(requests, max_requests, jsonl::MAX_BYTES) {
        let id = store::insert_job(cache, target.model, target.version, &part)?;
        jobs.push(
            store::jobs(cache)?
                .into_iter()
                .find(|j| j.id == id)
                .expect("the job was just recorded"),
        );
    }
    for job in &mut jobs {
        if job.batch_id.is_none() {
            submit(cache, api, job, target.parts_dir).await?;
            outcome.created += 1;
        }
    }
    if !jobs.is_empty() {
        let first = target.first_poll;
        outcome.totals = poll::wait(
            cache,
            api,
            jobs,
            poll::Backoff::new(first, first * 30),
            target.accept,
        )
        .await?;
    }

    let errors: HashMap<String, String> = store::errors(cache)?.into_iter().collect();
    for key in wanted {
        if cache.get(&key)?.is_none() {
            let why = errors.get(&key).cloned().unwrap_or_else(|| {
                "no batch answered this request; rerun to send it again".to_string()
            });
            outcome.failures.insert(key, why);
        }
    }
    Ok(outcome)
}

/// Upload a recorded job's part (unless an earlier run did) and create its batch.
async fn submit(
    cache: &Cache,
    api: &BatchApi,
    job: &mut store::Job,
    parts_dir: &Path,
) -> Result<(), Error> {
    if job.input_file_id.is_none() {
        let text = jsonl::render(&store::requests(cache, job.id)?)
            .map_err(|e| Error::Usage(format!("a recorded batch request is not JSON: {e}")))?;
        let name = format!("classified-part-{}.jsonl", job.id);
        // A copy on disk shows the user exactly what was sent.
        let path = parts_dir.join(&name);
        std::fs::create_dir_all(parts_dir)
            .and_then(|_| std::fs::write(&path, &text))
            .map_err(|source| Error::Output {
                path: path.display().to_string(),
                source,
            })?;
        let file_id = api.upload(&name, text).await?;
        store::set_uploaded(cache, job.id, &file_id)?;
        job.input_file_id = Some(file_id);
    }
    let file_id = job.input_file_id.as_deref().expect("uploaded above");
    let batch = api.create(file_id).await?;
    store::set_batch(cache, job.id, &batch.id, &batch.status)?;
    job.batch_id = Some(batch.id);
    job.status = batch.status;
    Ok(())
}
