//! Rate one row through one lens: preprocess → render → cache or call → postprocess → aggregate → bucket.

use super::render::{Messages, Renderer};
use super::{ChunkScores, Inputs, Prepared, RowScores, Stage, StageError, Stages};
use crate::batch::{BatchLink, PendingRequest};
use crate::cache::Cache;
use crate::error::Error;
use crate::lens::{Lens, LensKind};
use crate::model::{CallError, Client, Estimate, Scheduler, request_body_as};
use serde_json::Value;
use std::sync::Arc;

/// How many more times a bad answer (invalid JSON, a missing or non-numeric score) is asked again.
pub const BAD_ANSWER_RETRIES: u32 = 2;

/// The services a row needs: the cache, the model (absent in a dry run) and the run's one scheduler.
pub struct Services {
    pub cache: Arc<Cache>,
    pub client: Option<Client>,
    /// Decides when each request goes; shared by every lens and dataset of the run.
    pub scheduler: Arc<Scheduler>,
    pub model: String,
    pub version: u32,
    pub max_tokens: u32,
    /// `--max-usd`: every request reserves its worst-case cost first.
    pub budget: Option<Arc<crate::cost::Budget>>,
    /// `--batch`: collect uncached requests, or answer them from the finished batches.
    pub batch: Option<BatchLink>,
}

/// One lens, ready to rate rows.
pub struct LensRun {
    pub lens: Arc<Lens>,
    pub stages: Arc<dyn Stages>,
    renderer: Option<Renderer>,
}

/// A rated chunk, for the per-chunk JSONL output.
#[derive(Debug, Clone)]
pub struct ChunkRecord {
    pub chunk: usize,
    pub inputs: Inputs,
    pub scores: ChunkScores,
    pub cached: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Rated {
        scores: RowScores,
        bucket: String,
    },
    Failed(StageError),
    Skipped(String),
    /// Dry run: every prompt rendered and counted, nothing sent.
    Planned,
}

/// Everything known about one row after rating it.
#[derive(Debug, Clone)]
pub struct RowOutcome {
    pub index: u64,
    pub status: Status,
    pub chunks: Vec<ChunkRecord>,
    pub usage: Usage,
}

/// Request and token counts, summed per lens for the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub prompts: u64,
    pub cache_hits: u64,
    /// Requests sent to the model (retries included).
    pub requests: u64,
    /// Tokens paid for in this run (cache hits cost nothing); in a dry run, the uncached prompts' tokens.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.prompts += other.prompts;
        self.cache_hits += other.cache_hits;
        self.requests += other.requests;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// Run work off the async threads: a component stage may take up to its time limit.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("a pipeline stage panicked")
}

/// Run a stage: native stages right here (a hand-off to a blocking thread costs more than they
/// do, and a cached rerun is nothing but stages), component stages off the async threads.
async fn stage<T: Send + 'static>(
    stages: &Arc<dyn Stages>,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    if stages.native() {
        f()
    } else {
        blocking(f).await
    }
}

impl LensRun {
    pub fn new(stages: Arc<dyn Stages>) -> Result<LensRun, Error> {
        let lens = stages.context().lens.clone();
        let renderer = match lens.kind {
            LensKind::Local => None,
            _ => Some(Renderer::new(&lens).map_err(|e| crate::lens::LensError {
                lens: lens.name.clone(),
                file: "templates".into(),
                problem: crate::lens::template_error(&e),
            })?),
        };
        Ok(LensRun {
            lens,
            stages,
            renderer,
        })
    }

    /// Rate one row. `Err` only for failures that must stop the whole run (e.g. a rejected API key).
    pub async fn rate(
        &self,
        services: &Services,
        index: u64,
        fields: Inputs,
    ) -> Result<RowOutcome, Error> {
        let mut outcome = RowOutcome {
            index,
            status: Status::Planned,
            chunks: Vec::new(),
            usage: Usage::default(),
        };
        outcome.status = match self.rate_inner(services, index, fields, &mut outcome).await {
            Ok(status) => status,
            Err(RowError::Stage(e)) => Status::Failed(e),
            Err(RowError::Fatal(e)) => return Err(e),
        };
        Ok(outcome)
    }

    async fn rate_inner(
        &self,
        services: &Services,
        index: u64,
        fields: Inputs,
        outcome: &mut RowOutcome,
    ) -> Result<Status, RowError> {
        let stages = self.stages.clone();
        let chunk_scores = if self.lens.kind == LensKind::Local {
            let (stages, inputs) = (stages.clone(), fields.clone());
            let scores = stage(&self.stages, move || stages.score(index, &inputs)).await?;
            outcome.chunks.push(ChunkRecord {
                chunk: 0,
                inputs: fields,
                scores: scores.clone(),
                cached: false,
            });
            vec![scores]
        } else {
            let prepared = {
                let stages = stages.clone();
                stage(&self.stages, move || stages.preprocess(index, &fields)).await?
            };
            let inputs = match prepared {
                Prepared::Skip(reason) => return Ok(Status::Skipped(reason)),
                Prepared::Inputs(inputs) if inputs.is_empty() => {
                    return Ok(Status::Skipped(super::preprocess::TOO_SHORT.into()));
                }
                Prepared::Inputs(inputs) => inputs,
            };
            // The chunks of one row are independent prompts: ask for them together.
            let answers = futures_util::future::join_all(
                inputs
                    .iter()
                    .map(|inputs| self.rate_chunk(services, index, inputs)),
            )
            .await;
            let mut scores = Vec::with_capacity(answers.len());
            let mut first_error = None;
            for (chunk, (inputs, answer)) in inputs.into_iter().zip(answers).enumerate() {
                let (result, usage) = answer;
                outcome.usage.add(&usage);
                match result {
                    Ok(Some((s, cached))) => {
                        scores.push(s.clone());
                        outcome.chunks.push(ChunkRecord {
                            chunk,
                            inputs,
                            scores: s,
                            cached,
                        });
                    }
                    Ok(None) => {}
                    Err(RowError::Fatal(e)) => return Err(RowError::Fatal(e)),
                    Err(RowError::Stage(e)) => first_error = first_error.or(Some(e)),
                }
            }
            // A row is only as good as all of its chunks; the good ones stay cached for the rerun.
            if let Some(e) = first_error {
                return Err(RowError::Stage(e));
            }
            let from_batch = matches!(services.batch, Some(BatchLink::Answered(_)));
            if services.client.is_none() && !from_batch {
                return Ok(Status::Planned);
            }
            scores
        };
        let (scores, bucket) = stage(&self.stages, move || -> Result<_, StageError> {
            let scores = stages.aggregate(index, &chunk_scores)?;
            let bucket = stages.bucket(index, &scores)?;
            Ok((scores, bucket))
        })
        .await?;
        Ok(Status::Rated { scores, bucket })
    }

    /// One prompt: render, then a cached answer or a call. `Ok(None)` in a dry run for uncached prompts.
    async fn rate_chunk(
        &self,
        services: &Services,
        index: u64,
        inputs: &Inputs,
    ) -> (Result<Option<(ChunkScores, bool)>, RowError>, Usage) {
        let mut usage = Usage {
            prompts: 1,
            ..Usage::default()
        };
        let result = self
            .rate_chunk_inner(services, index, inputs, &mut usage)
            .await;
        (result, usage)
    }

    async fn rate_chunk_inner(
        &self,
        services: &Services,
        index: u64,
        inputs: &Inputs,
        usage: &mut Usage,
    ) -> Result<Option<(ChunkScores, bool)>, RowError> {
        let renderer = self.renderer.as_ref().expect("model lenses have templates");
        let messages = renderer.render(inputs)?;
        let body = request_body_as(
            services.scheduler.structured(),
            &self.lens,
            &services.model,
            &messages,
            services.max_tokens,
        );
        let key = Cache::key(&body, &self.lens.name, &services.model, services.version);
        // A point read on the cache's own read connection takes microseconds and never waits for a
        // writer (WAL), so it runs here: cached prompts never queue behind the network or a thread.
        if let Some(hit) = services.cache.get(&key)? {
            // A cached answer the current postprocess rejects (e.g. the lens changed) is asked again.
            if let Ok(scores) = self.postprocess(index, hit.arguments).await {
                usage.cache_hits += 1;
                return Ok(Some((scores, true)));
            }
        }
        let Some(client) = &services.client else {
            match &services.batch {
                Some(BatchLink::Answered(failures)) => {
                    let why = failures.get(&key).cloned().unwrap_or_else(|| {
                        "no usable answer came back from the batch; rerun to ask again".to_string()
                    });
                    return Err(RowError::Stage(StageError::new(Stage::Call, "batch", why)));
                }
                Some(BatchLink::Collect(pending)) => pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(PendingRequest {
                        key,
                        lens: self.lens.name.clone(),
                        body,
                    }),
                None => {}
            }
            usage.prompt_tokens += prompt_tokens(&self.stages, &messages, &self.lens.function);
            return Ok(None);
        };
        let estimate = Estimate {
            prompt_tokens: prompt_tokens(&self.stages, &messages, &self.lens.function),
            max_tokens: services.max_tokens.into(),
        };
        let mut attempt = 0;
        loop {
            // `--max-usd`: the worst case (prompt plus max_tokens) is reserved before sending and
            // settled from `usage` when the answer comes.
            let reservation = match &services.budget {
                Some(budget) => match budget.reserve(estimate.prompt_tokens).await {
                    Some(r) => Some((budget, r)),
                    None => {
                        return Err(RowError::Stage(StageError::new(
                            Stage::Call,
                            "over-budget",
                            format!(
                                "not sent: the --max-usd budget of ${} was reached",
                                budget.limit()
                            ),
                        )));
                    }
                },
                None => None,
            };
            let sent = services.scheduler.call(client, &body, estimate).await;
            usage.requests += sent.requests;
            if let Some((budget, r)) = reservation {
                let (input, output) = match &sent.result {
                    Ok(a) => (a.prompt_tokens, a.completion_tokens),
                    Err(_) => (0, 0),
                };
                budget.settle(r, input, output);
            }
            let answer = sent.result;
            // A bad answer (no function call, invalid JSON, a missing or non-numeric score) is asked again.
            let bad_answer = match answer {
                Err(CallError::Fatal(message)) => return Err(RowError::Fatal(Error::Api(message))),
                Err(CallError::Failed {
                    kind: "bad-answer",
                    message,
                }) => StageError::new(Stage::Call, "bad-answer", message),
                Err(CallError::Failed { kind, message }) => {
                    return Err(RowError::Stage(StageError::new(Stage::Call, kind, message)));
                }
                Ok(answer) => {
                    usage.prompt_tokens += answer.prompt_tokens;
                    usage.completion_tokens += answer.completion_tokens;
                    match self.postprocess(index, answer.arguments.clone()).await {
                        Ok(scores) => {
                            // Commit now: if the run is killed a moment later, this answer is not paid for again.
                            let (cache, lens, model, version) = (
                                services.cache.clone(),
                                self.lens.name.clone(),
                                services.model.clone(),
                                services.version,
                            );
                            blocking(move || {
                                cache.put(&key, &lens, &model, version, &body, &answer)
                            })
                            .await?;
                            return Ok(Some((scores, false)));
                        }
                        Err(e) => e,
                    }
                }
            };
            if attempt >= BAD_ANSWER_RETRIES {
                return Err(RowError::Stage(StageError {
                    message: format!("{} (asked {} times)", bad_answer.message, attempt + 1),
                    ..bad_answer
                }));
            }
            attempt += 1;
        }
    }

    async fn postprocess(&self, index: u64, arguments: String) -> Result<ChunkScores, StageError> {
        let stages = self.stages.clone();
        stage(&self.stages, move || stages.postprocess(index, &arguments)).await
    }
}

/// Tokens of a prompt as the model will count them (messages plus the function schema), for dry
/// runs and the scheduler's tokens-per-minute budget.
fn prompt_tokens(stages: &Arc<dyn Stages>, messages: &Messages, function: &Value) -> u64 {
    let bpe = &stages.context().bpe;
    let count = |s: &str| super::chunk::count_tokens(bpe, s) as u64;
    // Each message carries a few tokens of framing; 4 is what OpenAI's cookbook counts.
    count(&messages.system) + count(&messages.user) + count(&function.to_string()) + 2 * 4
}

enum RowError {
    Stage(StageError),
    Fatal(Error),
}

impl From<StageError> for RowError {
    fn from(e: StageError) -> Self {
        RowError::Stage(e)
    }
}

impl From<Error> for RowError {
    fn from(e: Error) -> Self {
        RowError::Fatal(e)
    }
}
