//! The one wasmtime [`Engine`] of the process, with the clock thread that makes running calls
//! check their time budget (`budget.rs`).

use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::{Config, Engine};

/// How often the clock thread advances the engine's epoch: how often a running call checks its budget.
pub const TICK: Duration = Duration::from_millis(10);

/// The shared engine. Epoch interruption makes a running call check a deadline at every loop
/// back-edge and function entry; at each tick its callback compares the call's CPU time with its
/// limit, which is how an endless loop in a component is stopped.
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
