//! WebAssembly lens components (placeholder until the component host lands): every lens runs natively.

use crate::pipeline::{Native, StageContext, Stages};
use std::sync::Arc;

/// Bytes of a built-in lens's component, built from source by `build.rs`.
pub fn builtin_component(_lens: &str, _file: &str) -> Option<&'static [u8]> {
    None
}

/// The stage implementation for a lens: its component where it ships one, the native defaults otherwise.
pub fn stages_for(ctx: StageContext) -> Result<Arc<dyn Stages>, crate::error::Error> {
    if let Some(c) = &ctx.lens.component {
        return Err(crate::error::Error::Usage(format!(
            "lens `{}` ships a component ({}), but this build has no component host",
            ctx.lens.name, c.name
        )));
    }
    Ok(Arc::new(Native(ctx)))
}
