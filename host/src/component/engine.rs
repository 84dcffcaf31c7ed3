//! The one wasmtime [`Engine`] of the process, with the clock thread that enforces time limits.

use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::{Config, Engine};

/// How often the clock thread advances the engine's epoch: the granularity of time limits.
pub const TICK: Duration = Duration::from_millis(10);

/// The shared engine. Epoch interruption makes a running call check a deadline at every loop
/// back-edge and function entry, which is how an endless loop in a component is stopped.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine =
            Engine::new(&config).expect("the component engine's fixed configuration is valid");
        let ticker = engine.weak();
        // The thread ends with the engine, which lives for the rest of the process.
        std::thread::Builder::new()
            .name("classified-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .expect("can start the component clock thread");
        engine
    })
}

/// A time limit in epoch ticks, rounded up so that a limit is never shorter than asked.
pub fn ticks(limit: Duration) -> u64 {
    (limit.as_millis().div_ceil(TICK.as_millis())).max(1) as u64
}
