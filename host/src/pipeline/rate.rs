//! Rate one row through one lens: preprocess → render → cache or call → postprocess → aggregate → bucket.

use super::answer::{Answerer, Prompt, Reply};
use super::render::{Messages, Renderer};
use super::{ChunkScores, FailureKind, Inputs, Prepared, RowScores, Stage, StageError, Stages};
use crate::cache::Cache;
use crate::error::Error;
use crate::lens::{Lens, LensKind};
use crate::model::{CallError, Estimate, Structured, request_body_as};
use std::sync::Arc;

/// How many more times a bad answer (invalid JSON, a missing or non-numeric score) is asked again.
pub const BAD_ANSWER_RETRIES: u32 = 2;

/// What rating a row needs from the run: the cache, whoever answers what it cannot, and the
/// request settings that are part of every cache key.
pub struct Services {
    pub cache: Arc<Cache>,
    pub answerer: Arc<dyn Answerer>,
    pub model: String,
    pub version: u32,
    pub max_tokens: u32,
    /// How structured output is asked for (`--structured`); part of every request, so of every key.
    pub structured: Structured,
}

/// One lens, ready to rate rows.
pub struct LensRun {
    pub lens: Arc<Lens>,
    pub stages: Arc<dyn Stages>,
    renderer: Option<Renderer>,
    /// Tokens of the parts of a prompt that rarely change from row to row, counted once.
    fixed_tokens: FixedTokens,
}

/// The function schema's tokens (the same for every prompt of a lens) and the last system prompt's
/// (most lenses' system prompt does not depend on the row): counting them for every prompt cost
/// more than counting the row's own text.
#[derive(Default)]
struct FixedTokens {
    function: std::sync::OnceLock<u64>,
    last_system: std::sync::Mutex<Option<(String, u64)>>,
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
    /// What the answers taken from the cache cost when they were first paid for.
    pub saved_prompt_tokens: u64,
    pub saved_completion_tokens: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.prompts += other.prompts;
        self.cache_hits += other.cache_hits;
        self.requests += other.requests;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.saved_prompt_tokens += other.saved_prompt_tokens;
        self.saved_completion_tokens += other.saved_completion_tokens;
    }
}

/// A local lens's whole row: score, aggregate and bucket, where the stages run.
pub(crate) fn local_row(stages: &dyn Stages, index: u64, fields: Inputs) -> RowOutcome {
    let rated = stages.score(index, &fields).and_then(|scores| {
        let row = stages.aggregate(index, std::slice::from_ref(&scores))?;
        let bucket = stages.bucket(index, &row)?;
        Ok((scores, row, bucket))
    });
    let mut outcome = RowOutcome {
        index,
        status: Status::Planned,
        chunks: Vec::new(),
        usage: Usage::default(),
    };
    outcome.status = match rated {
        Ok((scores, row, bucket)) => {
            outcome.chunks.push(ChunkRecord {
                chunk: 0,
                inputs: fields,
                scores,
                cached: false,
            });
            Status::Rated {
                scores: row,
                bucket,
            }
        }
        Err(e) => Status::Failed(e),
    };
    outcome
}

impl RowOutcome {
    /// A row that is not rated, for `reason` (e.g. a null in one of its columns).
    pub fn skipped(index: u64, reason: String) -> RowOutcome {
        RowOutcome {
            index,
            status: Status::Skipped(reason),
            chunks: Vec::new(),
            usage: Usage::default(),
        }
    }
}

/// Run blocking I/O (a cache write) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("a pipeline stage panicked")
}

/// Run a stage: native stages right here (a hand-off to another thread costs more than they do,
/// and a cached rerun is nothing but stages), component stages on a component thread, off the
/// async threads (a call may take up to its time limit).
async fn stage<T: Send + 'static>(
    stages: &Arc<dyn Stages>,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    if stages.native() {
        f()
    } else {
        crate::component::spawn_call(f).await
    }
}

impl LensRun {
    pub fn new(stages: Arc<dyn Stages>) -> Result<LensRun, Error> {
        let lens = stages.context().lens.clone();
        let renderer = match lens.kind {
            LensKind::Local | LensKind::Model => None,
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
            fixed_tokens: FixedTokens::default(),
        })
    }

    /// Rate one row. `Err` only for failures that must stop the whole run (e.g. a rejected API key).
    pub async fn rate(
        &self,
        services: &Services,
        index: u64,
        fields: Inputs,
    ) -> Result<RowOutcome, Error> {
        if self.scores_locally() {
            // Score, aggregate and bucket in one hand-off: for a local lens they are the whole row.
            let stages = self.stages.clone();
            return Ok(stage(&self.stages, move || local_row(&*stages, index, fields)).await);
        }
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

    /// Whether the lens scores rows here (a local or model lens) rather than asking a chat model.
    pub fn scores_locally(&self) -> bool {
        !self.lens.kind.asks_model()
    }

    /// Rate several rows of a lens that scores locally (row number, and its fields or why it is
    /// skipped), in order, in one hand-off to a component thread: the hand-off costs more than
    /// scoring a short row. (A lens that asks a model rates row by row, with [`LensRun::rate`].)
    pub async fn rate_local(&self, rows: Vec<(u64, Result<Inputs, String>)>) -> Vec<RowOutcome> {
        debug_assert!(
            self.scores_locally(),
            "lens `{}` asks a model",
            self.lens.name
        );
        let stages = self.stages.clone();
        stage(&self.stages, move || {
            rows.into_iter()
                .map(|(index, fields)| match fields {
                    Ok(fields) => local_row(&*stages, index, fields),
                    Err(reason) => RowOutcome::skipped(index, reason),
                })
                .collect()
        })
        .await
    }

    async fn rate_inner(
        &self,
        services: &Services,
        index: u64,
        fields: Inputs,
        outcome: &mut RowOutcome,
    ) -> Result<Status, RowError> {
        let stages = self.stages.clone();
        let chunk_scores = {
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
            let mut counted = false;
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
                    Ok(None) => counted = true,
                    Err(RowError::Fatal(e)) => return Err(RowError::Fatal(e)),
                    Err(RowError::Stage(e)) => first_error = first_error.or(Some(e)),
                }
            }
            // A row is only as good as all of its chunks; the good ones stay cached for the rerun.
            if let Some(e) = first_error {
                return Err(RowError::Stage(e));
            }
            if counted || services.answerer.plans() {
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

    /// One prompt: render, then a cached answer or the answerer's. `Ok(None)` when the prompt was
    /// only counted (planning).
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
            services.structured,
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
                usage.saved_prompt_tokens += hit.prompt_tokens;
                usage.saved_completion_tokens += hit.completion_tokens;
                return Ok(Some((scores, true)));
            }
        }
        let estimate = Estimate {
            prompt_tokens: self.prompt_tokens(&messages),
            max_tokens: services.max_tokens.into(),
        };
        let mut attempt = 0;
        loop {
            let sent = services
                .answerer
                .answer(Prompt {
                    key: &key,
                    lens: &self.lens.name,
                    body: &body,
                    estimate,
                })
                .await;
            usage.requests += sent.requests;
            // A bad answer (no function call, invalid JSON, a missing or bad score) is asked again;
            // every other failure fails the row at once.
            let bad_answer = match sent.reply {
                Reply::Counted => {
                    usage.prompt_tokens += estimate.prompt_tokens;
                    return Ok(None);
                }
                Reply::Error(CallError::Fatal(message)) => {
                    return Err(RowError::Fatal(Error::Api(message)));
                }
                Reply::Error(CallError::Failed {
                    kind: FailureKind::BadAnswer,
                    message,
                }) => StageError::new(Stage::Call, FailureKind::BadAnswer, message),
                Reply::Error(CallError::Failed { kind, message }) => {
                    return Err(RowError::Stage(StageError::new(Stage::Call, kind, message)));
                }
                Reply::Answered(answer) => {
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

impl LensRun {
    /// Tokens of a prompt as the model will count them (messages plus the function schema), for dry
    /// runs and the scheduler's tokens-per-minute budget.
    fn prompt_tokens(&self, messages: &Messages) -> u64 {
        let bpe = &self.stages.context().bpe;
        let count = |s: &str| super::chunk::count_tokens(bpe, s) as u64;
        let fixed = &self.fixed_tokens;
        let function = *fixed
            .function
            .get_or_init(|| count(&self.lens.function.to_string()));
        let system = {
            let mut last = fixed.last_system.lock().unwrap_or_else(|p| p.into_inner());
            match &*last {
                Some((text, tokens)) if *text == messages.system => *tokens,
                _ => {
                    let tokens = count(&messages.system);
                    *last = Some((messages.system.clone(), tokens));
                    tokens
                }
            }
        };
        // Each message carries a few tokens of framing; 4 is what OpenAI's cookbook counts.
        system + count(&messages.user) + function + 2 * 4
    }
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

#[cfg(test)]
mod tests {
    //! Rating one row against a scripted answerer: no network, no run, just the row's steps.

    use super::*;
    use crate::model::Answer;
    use crate::pipeline::answer::{Plan, Sent};
    use futures_util::future::BoxFuture;
    use std::sync::Mutex;
    use std::time::Duration;

    /// Replies from a script, in order, and records the keys it was asked.
    struct Scripted {
        replies: Mutex<Vec<Reply>>,
        asked: Mutex<Vec<String>>,
    }

    impl Scripted {
        fn new(mut replies: Vec<Reply>) -> Arc<Scripted> {
            replies.reverse();
            Arc::new(Scripted {
                replies: Mutex::new(replies),
                asked: Mutex::new(Vec::new()),
            })
        }

        fn asked(&self) -> usize {
            self.asked.lock().unwrap().len()
        }
    }

    impl Answerer for Scripted {
        fn answer<'a>(&'a self, prompt: Prompt<'a>) -> BoxFuture<'a, Sent> {
            self.asked.lock().unwrap().push(prompt.key.to_string());
            let reply = self.replies.lock().unwrap().pop().expect("asked too often");
            Box::pin(async move { Sent { reply, requests: 1 } })
        }
    }

    fn answer(arguments: &str) -> Reply {
        Reply::Answered(Answer {
            arguments: arguments.to_string(),
            response: serde_json::json!({}),
            prompt_tokens: 100,
            completion_tokens: 20,
            elapsed: Duration::ZERO,
        })
    }

    const GOOD: &str = r#"{"rationale": "fine", "follows_instructions": 3, "on_topic": 3, "correct": 3, "overall": 3}"#;

    fn lens_run() -> LensRun {
        let lens = crate::lens::Catalog::new(Vec::new())
            .get("instruction_following")
            .unwrap();
        let ctx = crate::pipeline::StageContext {
            lens: Arc::new(lens),
            chunking: crate::settings::Settings::load(&crate::settings::Env::from_pairs(&[]))
                .unwrap()
                .chunking,
            bpe: crate::pipeline::chunk::lazy_tokenizer_for_model("gpt-4o-mini"),
        };
        LensRun::new(Arc::new(crate::pipeline::Native(ctx))).unwrap()
    }

    fn services(cache: &Arc<Cache>, answerer: Arc<dyn Answerer>) -> Services {
        Services {
            cache: cache.clone(),
            answerer,
            model: "gpt-4o-mini".into(),
            version: 1,
            max_tokens: 256,
            structured: Structured::Auto,
        }
    }

    fn fields() -> Inputs {
        [("instruction", "Add 2 and 2."), ("output", "4")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn a_good_answer_is_rated_and_cached_and_not_asked_for_again() {
        let run = lens_run();
        let cache = Arc::new(Cache::in_memory().unwrap());
        let live = Scripted::new(vec![answer(GOOD)]);
        let first = run
            .rate(&services(&cache, live.clone()), 0, fields())
            .await
            .unwrap();
        assert!(matches!(&first.status, Status::Rated { bucket, .. } if bucket == "Good"));
        assert_eq!((first.usage.requests, first.usage.cache_hits), (1, 0));
        assert_eq!(
            first.usage.prompt_tokens, 100,
            "paid tokens come from the answer"
        );

        // Rated again: the cache answers, the answerer is not asked.
        let silent = Scripted::new(vec![]);
        let again = run
            .rate(&services(&cache, silent.clone()), 0, fields())
            .await
            .unwrap();
        assert_eq!(again.status, first.status);
        assert_eq!((silent.asked(), again.usage.cache_hits), (0, 1));
        assert!(again.chunks[0].cached);
    }

    #[tokio::test]
    async fn a_bad_answer_is_asked_again_then_fails_the_row_and_is_never_cached() {
        let run = lens_run();
        let cache = Arc::new(Cache::in_memory().unwrap());
        let bad = || answer(r#"{"overall": "great"}"#);
        let live = Scripted::new(vec![bad(), bad(), bad()]);
        let outcome = run
            .rate(&services(&cache, live.clone()), 3, fields())
            .await
            .unwrap();
        let Status::Failed(e) = &outcome.status else {
            panic!("{:?}", outcome.status)
        };
        assert_eq!(e.kind, FailureKind::BadAnswer);
        assert!(e.message.contains("asked 3 times"), "{}", e.message);
        assert_eq!(live.asked(), 1 + BAD_ANSWER_RETRIES as usize);
        assert_eq!(outcome.usage.requests, 3);

        // A later good answer is taken: nothing bad was cached in between.
        let live = Scripted::new(vec![bad(), answer(GOOD)]);
        let outcome = run
            .rate(&services(&cache, live.clone()), 3, fields())
            .await
            .unwrap();
        assert!(matches!(outcome.status, Status::Rated { .. }));
        assert_eq!(live.asked(), 2);
    }

    #[tokio::test]
    async fn other_failures_fail_the_row_at_once_with_their_kind() {
        let run = lens_run();
        let cache = Arc::new(Cache::in_memory().unwrap());
        let failed = Reply::Error(CallError::Failed {
            kind: FailureKind::OverBudget,
            message: "not sent".into(),
        });
        let live = Scripted::new(vec![failed]);
        let outcome = run
            .rate(&services(&cache, live.clone()), 0, fields())
            .await
            .unwrap();
        assert!(
            matches!(&outcome.status, Status::Failed(e) if e.kind == FailureKind::OverBudget && e.stage == Stage::Call)
        );
        assert_eq!(live.asked(), 1);
    }

    #[tokio::test]
    async fn a_fatal_answer_stops_the_run() {
        let run = lens_run();
        let cache = Arc::new(Cache::in_memory().unwrap());
        let live = Scripted::new(vec![Reply::Error(CallError::Fatal("bad key".into()))]);
        let result = run.rate(&services(&cache, live), 0, fields()).await;
        assert!(matches!(result, Err(Error::Api(m)) if m == "bad key"));
    }

    #[tokio::test]
    async fn planning_counts_prompt_tokens_and_rates_nothing() {
        let run = lens_run();
        let cache = Arc::new(Cache::in_memory().unwrap());
        let outcome = run
            .rate(&services(&cache, Arc::new(Plan)), 0, fields())
            .await
            .unwrap();
        assert_eq!(outcome.status, Status::Planned);
        assert_eq!((outcome.usage.prompts, outcome.usage.requests), (1, 0));
        assert!(outcome.usage.prompt_tokens > 50, "{:?}", outcome.usage);

        // Even a row the cache fully answers ends planned in a plan, so every row counts alike.
        let live = Scripted::new(vec![answer(GOOD)]);
        run.rate(&services(&cache, live), 0, fields())
            .await
            .unwrap();
        let outcome = run
            .rate(&services(&cache, Arc::new(Plan)), 0, fields())
            .await
            .unwrap();
        assert_eq!(outcome.status, Status::Planned);
        assert_eq!(outcome.usage.cache_hits, 1);
    }
}
