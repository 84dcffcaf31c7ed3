//! The answerers a run can hand to the pipeline: one per way of getting answers. The run picks one
//! per pass (`run/mod.rs`); rating a row only ever calls [`Answerer::answer`].
//! (The planning answerer, which counts and answers nothing, is `pipeline::answer::Plan`.)

use crate::batch::PendingRequest;
use crate::cost::Budget;
use crate::failure::FailureKind;
use crate::model::{CallError, Client, Scheduler};
use crate::pipeline::answer::{Answerer, Prompt, Reply, Sent};
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// `--batch`, planning pass: counts every prompt and keeps each one the cache cannot answer, to
/// be sent through the Batch API.
#[derive(Default)]
pub struct Collect(Mutex<Vec<PendingRequest>>);

impl Collect {
    /// The prompts collected so far.
    pub fn take(&self) -> Vec<PendingRequest> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Answerer for Collect {
    fn answer<'a>(&'a self, prompt: Prompt<'a>) -> BoxFuture<'a, Sent> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(PendingRequest {
                key: prompt.key.to_string(),
                lens: prompt.lens.to_string(),
                body: prompt.body.clone(),
            });
        Box::pin(async { Sent::unsent(Reply::Counted) })
    }

    fn plans(&self) -> bool {
        true
    }
}

/// `--batch`, rating pass: the batches' answers are in the cache by now, so a prompt that reaches
/// the answerer has none; it fails its row with the batch's reason.
pub struct FromBatch {
    /// Why each prompt without an answer failed, by cache key.
    pub failures: HashMap<String, String>,
}

impl Answerer for FromBatch {
    fn answer<'a>(&'a self, prompt: Prompt<'a>) -> BoxFuture<'a, Sent> {
        let message = self.failures.get(prompt.key).cloned().unwrap_or_else(|| {
            "no usable answer came back from the batch; rerun to ask again".to_string()
        });
        Box::pin(async move {
            Sent::unsent(Reply::Error(CallError::Failed {
                kind: FailureKind::Batch,
                message,
            }))
        })
    }
}

/// Ask the model now, when the scheduler lets the request go; with `--max-usd`, each request first
/// reserves its worst-case cost and settles it from the answer's `usage`.
pub struct Live {
    pub client: Client,
    /// Decides when each request goes; one for every lens and dataset of the run.
    pub scheduler: Arc<Scheduler>,
    pub budget: Option<Arc<Budget>>,
}

impl Answerer for Live {
    fn answer<'a>(&'a self, prompt: Prompt<'a>) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            let reservation = match &self.budget {
                Some(budget) => match budget.reserve(prompt.estimate.prompt_tokens).await {
                    Some(r) => Some((budget, r)),
                    None => {
                        return Sent::unsent(Reply::Error(CallError::Failed {
                            kind: FailureKind::OverBudget,
                            message: format!(
                                "not sent: the --max-usd budget of ${} was reached",
                                budget.limit()
                            ),
                        }));
                    }
                },
                None => None,
            };
            let sent = self
                .scheduler
                .call(&self.client, prompt.body, prompt.estimate)
                .await;
            if let Some((budget, r)) = reservation {
                let (input, output) = match &sent.result {
                    Ok(a) => (a.prompt_tokens, a.completion_tokens),
                    Err(_) => (0, 0),
                };
                budget.settle(r, input, output);
            }
            Sent {
                reply: match sent.result {
                    Ok(answer) => Reply::Answered(answer),
                    Err(e) => Reply::Error(e),
                },
                requests: sent.requests,
            }
        })
    }
}

/// `train` and `compare`: ratings come from the cache alone. A prompt that reaches this answerer
/// has no cached answer for the chosen model and version: its row fails as unrated, and nothing is sent.
pub struct CacheOnly {
    pub model: String,
    pub version: u32,
}

impl Answerer for CacheOnly {
    fn answer<'a>(&'a self, _prompt: Prompt<'a>) -> BoxFuture<'a, Sent> {
        let message = format!(
            "no answer in the cache for model `{}`, version {}; rate this row first with `classified summary`",
            self.model, self.version
        );
        Box::pin(async move {
            Sent::unsent(Reply::Error(CallError::Failed {
                kind: FailureKind::Unrated,
                message,
            }))
        })
    }
}
