//! A lens's component, loaded and linked once, with a pool of instances: one `Store` per concurrent
//! worker, reused across rows, and dropped after any failure (a trapped `Store` is poisoned).

use super::cache::{self, Origin};
use super::engine::{engine, ticks};
use super::error::{Kind, PluginError};
use super::guest::Info;
use super::limits::Limits;
use super::sandbox;
use super::state::{Shared, State};
use super::versions::{Instance, Pre};
use crate::lens::Lens;
use crate::pipeline::Stage;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use wasmtime::{Store, Trap};

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
        let (component, origin) = cache::load(&file.bytes).map_err(|e| {
            format!(
                "lens `{name}`: {} is not a WebAssembly component this classified can load ({e}); \
                 build it with `cargo build --target wasm32-wasip2 --release` against the classified-lens SDK",
                file.name
            )
        })?;
        let linker = sandbox::linker(&component)
            .map_err(|e| format!("lens `{name}`: cannot set up its sandbox: {e:#}"))?;
        let (pre, version) =
            Pre::new(linker, &component).map_err(|e| format!("lens `{name}`: {e}"))?;
        let shared = Arc::new(Shared {
            config: lens.config.to_string(),
            bpe,
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
                    "lens `{name}`: its component failed when asked to describe itself ({}: {})",
                    e.kind.name(),
                    e.detail
                )
            })?;
        loaded.info = info;
        Ok(loaded)
    }

    /// Run one call on an idle instance (or a new one), within the lens's limits. Returns the call's
    /// result and the plugin log it produced.
    pub fn call<T>(
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
                .map_err(|(e, store, log)| self.error(stage, row, &e, &store, true, log))?,
        };
        let first_call = worker.fresh && !self.timed_out.load(Ordering::Relaxed);
        // What an earlier call on this instance recorded (say, a refused `memory.grow` that the
        // component survived) must not be blamed for this call's failure.
        let state = worker.store.data_mut();
        state.limiter.hit = false;
        state.denied = None;
        worker
            .store
            .set_epoch_deadline(ticks(self.limits.time(first_call)));
        let result = f(&worker.instance, &mut worker.store);
        let log = worker.store.data().log.take();
        match result {
            Ok(value) => {
                worker.fresh = false;
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(worker);
                Ok((value, log))
            }
            Err(e) => {
                // The worker is dropped here: its Store is poisoned by the trap.
                Err(self.error(stage, row, &e, &worker.store, first_call, log))
            }
        }
    }

    fn new_worker(&self) -> Result<Worker, (wasmtime::Error, Store<State>, String)> {
        let mut store = Store::new(engine(), State::new(self.shared.clone(), &self.limits));
        store.limiter(|state| &mut state.limiter);
        // Instantiation (a Python component starts its interpreter here) counts toward the first call.
        store.set_epoch_deadline(ticks(
            self.limits.time(!self.timed_out.load(Ordering::Relaxed)),
        ));
        match self.pre.instantiate(&mut store) {
            Ok(instance) => Ok(Worker {
                store,
                instance,
                fresh: true,
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
        first_call: bool,
        log: String,
    ) -> PluginError {
        let state = store.data();
        let (kind, detail) = if state.limiter.hit {
            (Kind::MemoryLimit, String::new())
        } else if let Some(what) = state.denied {
            (Kind::Sandbox, what.to_string())
        } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            self.timed_out.store(true, Ordering::Relaxed);
            (
                Kind::Timeout,
                self.limits.time(first_call).as_millis().to_string(),
            )
        } else {
            (
                Kind::Trap,
                panic_message(&log).unwrap_or_else(|| trap_message(e)),
            )
        };
        self.refused(stage, row, kind, detail, log)
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
            limits: self.limits,
        }
    }
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

/// wasmtime's trap description without its backtrace.
fn trap_message(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => e.to_string().lines().next().unwrap_or_default().to_string(),
    }
}
