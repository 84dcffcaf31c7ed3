//! A lens's component, loaded and linked once, with a pool of instances: one `Store` per component
//! thread at most, reused across rows, dropped after any failure (a trapped `Store` is poisoned)
//! and replaced when it keeps growing.

use super::budget::{Budget, Overrun};
use super::cache::{self, Origin};
use super::engine::engine;
use super::error::{Kind, PluginError};
use super::guest::Info;
use super::limits::{self, Limits};
use super::memory::{Hit, Total};
use super::runner;
use super::sandbox;
use super::state::{Shared, State};
use super::versions::{Instance, Pre};
use crate::lens::Lens;
use crate::pipeline::Stage;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use wasmtime::{Store, Trap, UpdateDeadline};

/// One lens's component, ready to run rows.
pub struct Loaded {
    pub lens: Arc<Lens>,
    /// The `classified:lens` version it was built against.
    pub version: &'static str,
    pub info: Info,
    pub limits: Limits,
    /// Whether the compiled code came from the cache.
    pub origin: Origin,
    pre: Pre,
    shared: Arc<Shared>,
    /// Instances between calls. Calls run on the component threads (`runner.rs`), so there are
    /// never more instances than threads.
    idle: Mutex<Vec<Worker>>,
    /// A call has timed out: from then on fresh instances get the normal time limit, so that a
    /// component that loops on every row costs `time_ms` per row, not the first-call allowance.
    timed_out: AtomicBool,
}

/// One instance in its own `Store`.
struct Worker {
    store: Store<State>,
    instance: Instance,
    /// No call has finished on it yet, so the next one may take the first-call time limit.
    fresh: bool,
    /// Its memory after its first call: what it needs to work.
    baseline: Option<usize>,
}

impl Loaded {
    /// Compile (or fetch from the cache), link and describe `lens`'s component. Errors are one
    /// sentence, starting with the lens's name, for a fatal `Error`.
    pub fn load(lens: Arc<Lens>, bpe: &'static tiktoken_rs::CoreBPE) -> Result<Loaded, String> {
        let name = &lens.name;
        let file = lens
            .component
            .as_ref()
            .ok_or_else(|| format!("lens `{name}` ships no component"))?;
        let limits = Limits::from_config(&lens.config)
            .map_err(|e| format!("lens `{name}`: config.json: {e}"))?;
        // Only the binary format: wasmtime also reads the text format, whose errors quote the file.
        if !file.bytes.starts_with(b"\0asm") {
            return Err(format!(
                "lens `{name}`: {} is not a WebAssembly binary; name the compiled .wasm component in config.json \"component\"",
                file.name
            ));
        }
        let (component, origin) = cache::load(&file.bytes).map_err(|e| {
            format!(
                "lens `{name}`: {} is not a WebAssembly component this classified can load ({}); \
                 build it with `cargo build --target wasm32-wasip2 --release` against the classified-lens SDK",
                file.name,
                root_cause(&e)
            )
        })?;
        let linker = sandbox::linker(&component)
            .map_err(|e| format!("lens `{name}`: cannot set up its sandbox: {e:#}"))?;
        let (pre, version) =
            Pre::new(linker, &component).map_err(|e| format!("lens `{name}`: {e}"))?;
        let total_mb = limits.total_memory_mb(runner::threads());
        let shared = Arc::new(Shared {
            config: lens.config.to_string(),
            bpe,
            memory: Total::new((total_mb as usize).saturating_mul(1 << 20)),
        });
        let mut loaded = Loaded {
            lens: lens.clone(),
            version,
            info: Info {
                stages: Vec::new(),
                bucket_names: Vec::new(),
            },
            limits,
            origin,
            pre,
            shared,
            idle: Mutex::new(Vec::new()),
            timed_out: AtomicBool::new(false),
        };
        // `describe` runs like a stage call (same limits and sandbox); its instance joins the pool.
        let (info, _log) = loaded
            .call(Stage::Score, 0, |i, s| i.describe(s))
            .map_err(|e| {
                format!(
                    "lens `{name}`: its component failed when asked to describe itself: {}",
                    e.what()
                )
            })?;
        check_info(&info).map_err(|problem| format!("lens `{name}`: its component {problem}"))?;
        loaded.info = info;
        Ok(loaded)
    }

    /// Run one call on an idle instance (or a new one), on a component thread, within the lens's
    /// limits. Returns the call's result and the plugin log it produced.
    pub fn call<T: Send>(
        &self,
        stage: Stage,
        row: u64,
        f: impl FnOnce(&Instance, &mut Store<State>) -> wasmtime::Result<T> + Send,
    ) -> Result<(T, String), PluginError> {
        runner::run(|| self.call_here(stage, row, f))
    }

    fn call_here<T>(
        &self,
        stage: Stage,
        row: u64,
        f: impl FnOnce(&Instance, &mut Store<State>) -> wasmtime::Result<T>,
    ) -> Result<(T, String), PluginError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut worker = match idle {
            Some(worker) => worker,
            None => self
                .new_worker()
                .map_err(|(e, store, log)| self.error(stage, row, &e, &store, log))?,
        };
        let first_call = worker.fresh && !self.timed_out.load(Ordering::Relaxed);
        // What an earlier call on this instance recorded (say, a refused `memory.grow` that the
        // component survived) must not be blamed for this call's failure. The budget starts here,
        // on the thread that runs the call: its CPU clock is the one that counts.
        let state = worker.store.data_mut();
        state.limiter.hit = None;
        state.denied = None;
        state.budget = Budget::start(self.limits.time(first_call));
        worker.store.set_epoch_deadline(1);
        let result = f(&worker.instance, &mut worker.store);
        let log = worker.store.data().log.take();
        match result {
            Ok(value) => {
                worker.fresh = false;
                if self.keep(&mut worker) {
                    self.idle
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(worker);
                }
                Ok((value, log))
            }
            Err(e) => {
                // The worker is dropped here: its Store is poisoned by the trap.
                Err(self.error(stage, row, &e, &worker.store, log))
            }
        }
    }

    /// Whether an instance goes back to the pool: not when it has used up half of the room it had
    /// above what it needed after its first call. Linear memory never shrinks, so an instance that
    /// leaks, or once handled a huge row, would otherwise hold that memory for the rest of the run.
    fn keep(&self, worker: &mut Worker) -> bool {
        let size = worker.store.data().limiter.size();
        let baseline = *worker.baseline.get_or_insert(size);
        let room = self.limits.memory_bytes().saturating_sub(baseline);
        size <= baseline + room / 2
    }

    fn new_worker(&self) -> Result<Worker, (wasmtime::Error, Store<State>, String)> {
        let first = !self.timed_out.load(Ordering::Relaxed);
        let mut state = State::new(self.shared.clone(), &self.limits);
        // Instantiation (a Python component starts its interpreter here) has the first call's allowance.
        state.budget = Budget::start(self.limits.time(first));
        let mut store = Store::new(engine(), state);
        store.limiter(|state| &mut state.limiter);
        // The engine's clock ticks every few milliseconds; at each tick a running call checks its
        // budget (CPU time, not wall-clock time) and stops once it is spent.
        store.epoch_deadline_callback(|mut ctx| match ctx.data_mut().budget.check() {
            Ok(()) => Ok(UpdateDeadline::Continue(1)),
            Err(_) => Err(super::budget::OutOfTime.into()),
        });
        store.set_epoch_deadline(1);
        match self.pre.instantiate(&mut store) {
            Ok(instance) => Ok(Worker {
                store,
                instance,
                fresh: true,
                baseline: None,
            }),
            Err(e) => {
                let log = store.data().log.take();
                Err((e, store, log))
            }
        }
    }

    /// Classify a failed call by what the store recorded and what trapped.
    fn error(
        &self,
        stage: Stage,
        row: u64,
        e: &wasmtime::Error,
        store: &Store<State>,
        log: String,
    ) -> PluginError {
        let state = store.data();
        let (kind, detail) = if let Some(hit) = state.limiter.hit {
            let detail = match hit {
                Hit::Instance => String::new(),
                Hit::Total => format!(
                    "{} MiB, what all instances of one lens may hold together",
                    self.shared.memory.cap() >> 20
                ),
            };
            (Kind::MemoryLimit, detail)
        } else if let Some(what) = state.denied {
            (Kind::Sandbox, what.to_string())
        } else if let Some(overrun) = state.budget.overrun {
            self.timed_out.store(true, Ordering::Relaxed);
            let detail = match overrun {
                Overrun::Cpu => String::new(),
                Overrun::Sleep(_) => overrun.to_string(),
            };
            (Kind::Timeout, detail)
        } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            self.timed_out.store(true, Ordering::Relaxed);
            (Kind::Timeout, String::new())
        } else {
            (
                Kind::Trap,
                panic_message(&log).unwrap_or_else(|| trap_message(e)),
            )
        };
        let mut error = self.refused(stage, row, kind, detail, log);
        error.time_ms = state.budget.limit().as_millis() as u64;
        error
    }

    /// A plugin error for a call that returned, but with something wrong.
    pub fn refused(
        &self,
        stage: Stage,
        row: u64,
        kind: Kind,
        detail: String,
        log: String,
    ) -> PluginError {
        PluginError {
            lens: self.lens.name.clone(),
            stage,
            row,
            kind,
            detail,
            log,
            limits: Box::new(self.limits),
            time_ms: self.limits.time_ms,
        }
    }
}

/// What `describe` said must be usable: few, short, distinct bucket names. (Hundreds of thousands
/// of names make every report that lists them enormous.)
fn check_info(info: &Info) -> Result<(), String> {
    let names = &info.bucket_names;
    if names.len() > limits::BUCKET_NAMES {
        return Err(format!(
            "declares {} bucket names; at most {} are allowed",
            names.len(),
            limits::BUCKET_NAMES
        ));
    }
    if let Some(name) = names
        .iter()
        .find(|n| n.trim().is_empty() || n.len() > limits::BUCKET_NAME_BYTES)
    {
        return Err(format!(
            "declares a bucket name of {} bytes; each must be 1 to {} bytes and not blank",
            name.len(),
            limits::BUCKET_NAME_BYTES
        ));
    }
    if let Some((_, name)) = names
        .iter()
        .enumerate()
        .find(|(i, n)| names[..*i].contains(n))
    {
        return Err(format!("declares the bucket name {name:?} twice"));
    }
    Ok(())
}

/// The message of a Rust panic (`panicked at src/lib.rs:3:5:` then the message) or a Python traceback's last line.
fn panic_message(log: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().map(str::trim).collect();
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        return Some(format!(
            "panicked: {}",
            lines.get(i + 1).copied().unwrap_or_default()
        ));
    }
    // Python's uncaught exceptions end their traceback with `SomeError: message`.
    let last = lines.iter().rev().find(|l| !l.is_empty())?;
    lines
        .iter()
        .any(|l| l.starts_with("Traceback"))
        .then(|| last.to_string())
}

/// What trapped, without wasmtime's backtrace: the trap code, else the root cause (a host
/// function's error, a string too large to pass, ...), which the backtrace context hides.
fn trap_message(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => root_cause(e),
    }
}

/// The innermost error's first line.
fn root_cause(e: &wasmtime::Error) -> String {
    let cause = e.root_cause().to_string();
    cause.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trap_keeps_its_real_cause_not_the_backtrace_heading() {
        let e = wasmtime::Error::msg("string length of 3000000000 too large to copy into wasm")
            .context("error while executing at wasm backtrace:\n    0: 0x1234 - <unknown>!f");
        assert_eq!(
            trap_message(&e),
            "string length of 3000000000 too large to copy into wasm"
        );
        let trap = wasmtime::Error::from(Trap::UnreachableCodeReached)
            .context("error while executing at wasm backtrace:");
        assert!(
            trap_message(&trap).contains("unreachable"),
            "{}",
            trap_message(&trap)
        );
    }

    #[test]
    fn bucket_names_must_be_few_short_and_distinct() {
        let info = |names: Vec<String>| Info {
            stages: vec![Stage::Bucket],
            bucket_names: names,
        };
        assert!(check_info(&info(vec!["Low".into(), "High".into()])).is_ok());
        let many: Vec<String> = (0..65).map(|i| format!("b{i}")).collect();
        assert_eq!(
            check_info(&info(many)).unwrap_err(),
            "declares 65 bucket names; at most 64 are allowed"
        );
        assert!(
            check_info(&info(vec!["x".repeat(65)]))
                .unwrap_err()
                .contains("65 bytes")
        );
        assert!(check_info(&info(vec![" ".into()])).is_err());
        assert!(
            check_info(&info(vec!["a".into(), "a".into()]))
                .unwrap_err()
                .contains("twice")
        );
    }
}
