//! Wait for batches with growing pauses, then download their output and error files into the cache,
//! recording why each request without an answer failed.

use super::client::{Batch, BatchApi};
use super::store::{self, Job};
use crate::cache::Cache;
use crate::error::Error;
use crate::model::{CallError, parse_answer};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Does the lens (by name) take these answer arguments? `Err` says why not.
pub type Accept<'a> = &'a (dyn Fn(&str, &str) -> Result<(), String> + Sync);

/// What the finished batches brought in.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Totals {
    pub answered: u64,
    pub failed: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Pauses between polls: from `first`, growing by half each time, up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { next: first, max }
    }

    pub fn pause(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next.mul_f64(1.5)).min(self.max);
        now
    }
}

/// Transient poll failures in a row after which the run gives up (the batches keep going; a
/// rerun picks them up).
const MAX_POLL_FAILURES: u32 = 10;

/// Poll `jobs` (each with a batch id) until every one is finished and ingested.
pub async fn wait(
    cache: &Cache,
    api: &BatchApi,
    mut jobs: Vec<Job>,
    mut backoff: Backoff,
    accept: Accept<'_>,
) -> Result<Totals, Error> {
    let mut totals = Totals::default();
    let bar = ProgressBar::new(jobs.iter().map(|j| j.requests).sum());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>22} {bar:30} {pos}/{len} requests  {msg}")
            .expect("the progress template is valid"),
    );
    bar.set_prefix("batch");
    let mut failures = 0;
    let mut counts: HashMap<i64, u64> = HashMap::new();
    loop {
        let mut statuses = Vec::new();
        for job in jobs.iter_mut().filter(|j| !j.done) {
            let id = job.batch_id.clone().expect("jobs are polled once created");
            let batch = match api.retrieve(&id).await {
                Ok(b) => b,
                Err(e) if e.transient && failures < MAX_POLL_FAILURES => {
                    failures += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            failures = 0;
            if let Some(c) = &batch.request_counts {
                counts.insert(job.id, c.completed + c.failed);
            }
            if batch.is_terminal() {
                let got = ingest(cache, api, job, &batch, accept).await?;
                totals.answered += got.answered;
                totals.failed += got.failed;
                totals.prompt_tokens += got.prompt_tokens;
                totals.completion_tokens += got.completion_tokens;
                counts.insert(job.id, job.requests);
                store::set_status(cache, job.id, &batch.status, true)?;
                job.done = true;
            } else if batch.status != job.status {
                store::set_status(cache, job.id, &batch.status, false)?;
            }
            job.status = batch.status.clone();
            statuses.push(format!("{} {}", id, batch.status));
        }
        bar.set_position(counts.values().sum());
        bar.set_message(statuses.join(" · "));
        if jobs.iter().all(|j| j.done) {
            bar.finish();
            return Ok(totals);
        }
        tokio::time::sleep(backoff.pause()).await;
    }
}

/// Put a finished batch's answers in the cache and record an error for every other request.
async fn ingest(
    cache: &Cache,
    api: &BatchApi,
    job: &Job,
    batch: &Batch,
    accept: Accept<'_>,
) -> Result<Totals, Error> {
    let mut totals = Totals::default();
    let requests: HashMap<String, store::JobRequest> = store::requests(cache, job.id)?
        .into_iter()
        .map(|r| (r.key.clone(), r))
        .collect();
    let mut seen = HashSet::new();
    let files = [&batch.output_file_id, &batch.error_file_id];
    for file in files.into_iter().flatten() {
        let text = api.content(file).await?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(line) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(request) = line["custom_id"].as_str().and_then(|k| requests.get(k)) else {
                continue;
            };
            seen.insert(request.key.clone());
            match answer_of(&line) {
                Ok(answer) => {
                    // Paid for even when the answer turns out bad.
                    totals.prompt_tokens += answer.prompt_tokens;
                    totals.completion_tokens += answer.completion_tokens;
                    // Only good answers are cached, as in a synchronous run.
                    if let Err(why) = accept(&request.lens, &answer.arguments) {
                        totals.failed += 1;
                        let message = format!(
                            "the batch's answer was a bad answer ({why}); rerun to ask again"
                        );
                        store::set_error(cache, job.id, &request.key, &message)?;
                        continue;
                    }
                    totals.answered += 1;
                    let body: Value = serde_json::from_str(&request.request).unwrap_or(Value::Null);
                    cache.put(
                        &request.key,
                        &request.lens,
                        &job.model,
                        job.version,
                        &body,
                        &answer,
                    )?;
                }
                Err(message) => {
                    totals.failed += 1;
                    store::set_error(cache, job.id, &request.key, &message)?;
                }
            }
        }
    }
    let id = &batch.id;
    let missing = match batch.status.as_str() {
        "expired" => format!("batch {id} expired before this request ran; rerun to send it again"),
        "cancelled" => {
            format!("batch {id} was cancelled before this request ran; rerun to send it again")
        }
        "failed" => format!(
            "batch {id} failed{}; fix the cause and rerun",
            batch
                .error_summary()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ),
        _ => format!(
            "batch {id} finished without an answer for this request; rerun to send it again"
        ),
    };
    for key in requests.keys().filter(|k| !seen.contains(*k)) {
        totals.failed += 1;
        store::set_error(cache, job.id, key, &missing)?;
    }
    Ok(totals)
}

/// One output or error line → the answer, or why there is none.
fn answer_of(line: &Value) -> Result<crate::model::Answer, String> {
    let response = &line["response"];
    let code = response["status_code"].as_u64().unwrap_or(0);
    if code == 200 {
        return parse_answer(&response["body"].to_string(), Duration::ZERO).map_err(|e| match e {
            CallError::Fatal(m) | CallError::Failed { message: m, .. } => m,
        });
    }
    let message = response["body"]["error"]["message"]
        .as_str()
        .or(line["error"]["message"].as_str())
        .unwrap_or("no message");
    Err(if code == 0 {
        format!("the batch could not run this request ({message})")
    } else {
        format!("the batch answered {code} for this request ({message})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backoff_grows_by_half_up_to_its_cap() {
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(4));
        let pauses: Vec<u64> = (0..4).map(|_| b.pause().as_millis() as u64).collect();
        assert_eq!(pauses, [2000, 3000, 4000, 4000]);
    }

    #[test]
    fn error_lines_say_what_the_batch_answered() {
        let line = json!({"custom_id": "k", "response": {"status_code": 400, "body": {"error": {"message": "bad max_tokens"}}}, "error": null});
        assert_eq!(
            answer_of(&line).unwrap_err(),
            "the batch answered 400 for this request (bad max_tokens)"
        );
        let line =
            json!({"custom_id": "k", "response": null, "error": {"code": "x", "message": "boom"}});
        assert!(answer_of(&line).unwrap_err().contains("boom"));
    }
}
