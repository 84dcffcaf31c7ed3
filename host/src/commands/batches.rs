//! `classified batches list|status|cancel`: the Batch API jobs that `summary --batch` recorded.

use crate::batch::{client::BatchApi, store};
use crate::cache::Cache;
use crate::cli::BatchesCommand;
use crate::error::Error;
use crate::settings::Settings;

pub fn run(cmd: BatchesCommand, settings: &Settings) -> Result<(), Error> {
    let path = settings.database();
    if !path.exists() {
        return Err(Error::Usage(format!(
            "there is no cache at {}, so no batches were recorded; set DATABASE_URL or DATA_DIR to the run's",
            path.display()
        )));
    }
    let cache = Cache::open(&path)?;
    store::migrate(&cache)?;
    let api = BatchApi::new(
        &settings.base_url,
        settings.api_key.clone(),
        settings.timeout,
    );
    match cmd {
        BatchesCommand::List => {
            let jobs = store::jobs(&cache)?;
            if jobs.is_empty() {
                println!("No batches recorded in {}.", path.display());
            }
            for job in jobs {
                println!(
                    "{}\t{}\t{} request(s)\t{}\t{}",
                    job.batch_id.as_deref().unwrap_or("(not created yet)"),
                    job.status,
                    job.requests,
                    job.model,
                    if job.done { "in the cache" } else { "waiting" }
                );
            }
            Ok(())
        }
        BatchesCommand::Status { id } => {
            let batch = crate::runtime::block_on(async { Ok(api.retrieve(&id).await?) })?;
            print_batch(&batch);
            if let Some(job) = store::job_by_batch(&cache, &id)?
                && !job.done
                && batch.status != job.status
            {
                store::set_status(&cache, job.id, &batch.status, false)?;
            }
            Ok(())
        }
        BatchesCommand::Cancel { id } => {
            let batch = crate::runtime::block_on(async { Ok(api.cancel(&id).await?) })?;
            print_batch(&batch);
            if let Some(job) = store::job_by_batch(&cache, &id)? {
                store::set_status(&cache, job.id, &batch.status, false)?;
            }
            Ok(())
        }
    }
}

fn print_batch(batch: &crate::batch::client::Batch) {
    let counts = batch.request_counts.clone().unwrap_or_default();
    println!(
        "{}\t{}\t{} of {} request(s) done, {} failed{}",
        batch.id,
        batch.status,
        counts.completed + counts.failed,
        counts.total,
        counts.failed,
        batch
            .error_summary()
            .map(|e| format!("\t{e}"))
            .unwrap_or_default()
    );
}
