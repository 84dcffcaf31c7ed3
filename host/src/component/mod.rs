//! WebAssembly lens components: a lens folder may ship a component (`config.json`: `"component":
//! "lens.wasm"`) that replaces any of the preprocess, postprocess, bucket and score stages.
//!
//! One file per job: `engine.rs` (the engine and its clock), `cache.rs` (compiled components on disk),
//! `runner.rs` (the threads calls run on, one per core), `budget.rs` (a call's time: CPU time plus
//! sleeps), `memory.rs` (per-instance and per-lens memory), `sandbox.rs` (WASI, deny by default,
//! sleeps charged to the budget), `state.rs` (what a Store holds, the host functions; `tokens.rs`
//! for the token ones), `limits.rs`, `error.rs` (the typed plugin error and its sentence),
//! `versions.rs` + one adapter per WIT version (`v0_1_0.rs`), `loaded.rs` (a linked component and
//! its pool of instances) and `stages.rs` (the [`Stages`] it backs, checking what comes back).
//! `builtin.rs` embeds the built-in lenses' components.

mod budget;
mod builtin;
mod cache;
mod engine;
mod error;
mod guest;
mod limits;
mod loaded;
mod memory;
pub mod runner;
mod sandbox;
mod stages;
mod state;
mod tokens;
mod v0_1_0;
mod versions;

pub use cache::Origin;
pub use error::{Kind, PluginError};
pub use limits::Limits;
pub use runner::spawn as spawn_call;
pub use versions::SUPPORTED as SUPPORTED_WIT_VERSIONS;

use crate::lens::Lens;
use crate::pipeline::{Native, Stage, StageContext, Stages};
use std::sync::Arc;

/// Bytes of a built-in lens's component, built from source by `build.rs`.
pub fn builtin_component(lens: &str, file: &str) -> Option<&'static [u8]> {
    builtin::component(lens, file)
}

/// The stage implementation for a lens: its component where it ships one, the native defaults
/// otherwise. A component that cannot be loaded or linked is a fatal error naming the WIT versions
/// this host supports.
pub fn stages_for(ctx: StageContext) -> Result<Arc<dyn Stages>, crate::error::Error> {
    let model = ctx.lens.model.as_ref().map(|m| m.model.clone());
    let stages: Arc<dyn Stages> = if ctx.lens.component.is_none() {
        Arc::new(Native(ctx))
    } else {
        let loaded = loaded::Loaded::load(ctx.lens.clone(), ctx.bpe.get())
            .map_err(crate::error::Error::Component)?;
        Arc::new(stages::ComponentStages::new(ctx, loaded))
    };
    // A model lens scores rows with its classifier; its other stages are the ones above.
    Ok(match model {
        Some(model) => crate::train::scoring::stages(stages, model),
        None => stages,
    })
}

/// What `lenses list` and `lenses check` show about a lens's component.
#[derive(Debug, Clone)]
pub struct Description {
    /// The `classified:lens` version it was built against.
    pub wit_version: &'static str,
    /// The stages it implements.
    pub stages: Vec<Stage>,
    pub bucket_names: Vec<String>,
    pub limits: Limits,
    pub size: usize,
    pub origin: Origin,
}

/// Load `lens`'s component and ask it what it implements (`None` for a lens without one).
pub fn describe(
    lens: &Arc<Lens>,
    bpe: &'static tiktoken_rs::CoreBPE,
) -> Result<Option<Description>, crate::error::Error> {
    let Some(file) = &lens.component else {
        return Ok(None);
    };
    let loaded = loaded::Loaded::load(lens.clone(), bpe).map_err(crate::error::Error::Component)?;
    Ok(Some(Description {
        wit_version: loaded.version,
        stages: loaded.info.stages.clone(),
        bucket_names: loaded.info.bucket_names.clone(),
        limits: loaded.limits,
        size: file.bytes.len(),
        origin: loaded.origin,
    }))
}
