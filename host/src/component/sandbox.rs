//! The linker a lens component is instantiated with: WASI as a deny-by-default sandbox, plus the
//! lens interface's host functions (added by the WIT version's adapter). WASI's sleeps are replaced
//! by ones charged to the call's time limit.

use super::engine::engine;
use super::state::State;
use std::time::Duration;
use wasmtime::StoreContextMut;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, Resource, ResourceType};
use wasmtime_wasi::p2::DynPollable;

/// WASI interfaces that reach outside the sandbox, and how a denial is described.
const DENIED: [(&str, &str); 2] = [
    ("wasi:filesystem/", "a file"),
    ("wasi:sockets/", "the network"),
];

/// A linker with WASI for `component`. std Rust, Python and JS guests import WASI even when they never
/// use it (their panic and start-up paths do), so it is there — but with no preopened directory,
/// environment, argument or network, and with every filesystem and socket function replaced by one
/// that stops the call, records what was reached for, and so fails the row with a clear reason.
///
/// The stand-ins are defined under the exact (versioned) name the component imports, which the linker
/// prefers to WASI's own semver-compatible definition; so the whole interface is replaced: its
/// functions, and its own resources by a type no real WASI function accepts.
pub fn linker(component: &Component) -> wasmtime::Result<Linker<State>> {
    let engine = engine();
    let mut linker = Linker::<State>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    linker.allow_shadowing(true);
    for (import, _) in component.component_type().imports(engine) {
        if import.starts_with("wasi:clocks/monotonic-clock@") {
            timed_sleeps(&mut linker, import)?;
        }
    }
    for (import, item) in component.component_type().imports(engine) {
        let Some(&(_, what)) = DENIED.iter().find(|(prefix, _)| import.starts_with(prefix)) else {
            continue;
        };
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        let mut scope = linker.instance(import)?;
        for (name, export) in instance.exports(engine) {
            match export.ty {
                ComponentItem::ComponentFunc(_) => {
                    scope.func_new(name, move |mut store, _, _, _| {
                        store.data_mut().denied = Some(what);
                        wasmtime::bail!("the sandbox denies access to {what}")
                    })?
                }
                ComponentItem::Resource(_) => {
                    scope.resource(name, resource_type(name), |_, _| Ok(()))?
                }
                _ => {}
            }
        }
    }
    linker.allow_shadowing(false);
    Ok(linker)
}

/// `wasi:clocks/monotonic-clock`'s subscriptions (every guest's `sleep`), under the exact name the
/// component imports: the wait is charged to the call's time limit before it starts, and one that
/// does not fit stops the call at once (see `budget.rs`). Without this, a sleep blocks the thread
/// outside any limit: `sleep(86400)` would hang the run. The whole interface is defined, since the
/// component's version may not be the one WASI's definition carries.
fn timed_sleeps(linker: &mut Linker<State>, import: &str) -> wasmtime::Result<()> {
    type Pollable = wasmtime::Result<(Resource<DynPollable>,)>;
    let mut scope = linker.instance(import)?;
    scope.func_wrap(
        "now",
        |store: StoreContextMut<'_, State>, (): ()| -> wasmtime::Result<(u64,)> {
            Ok((store.data().clock_now(),))
        },
    )?;
    scope.func_wrap(
        "resolution",
        |_: StoreContextMut<'_, State>, (): ()| -> wasmtime::Result<(u64,)> { Ok((1,)) },
    )?;
    scope.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, State>, (nanos,): (u64,)| -> Pollable {
            Ok((store.data_mut().sleep_for(Duration::from_nanos(nanos))?,))
        },
    )?;
    scope.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, State>, (when,): (u64,)| -> Pollable {
            Ok((store.data_mut().sleep_until(when)?,))
        },
    )?;
    Ok(())
}

/// The resource type of denied interfaces: no value of it is ever created.
struct Denied;

/// A denied interface's resources are its own (stand-in type), except those it re-exports from
/// `wasi:io`, which must stay the types WASI's io implementation uses.
fn resource_type(name: &str) -> ResourceType {
    use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, IoError};
    match name {
        "input-stream" => ResourceType::host::<DynInputStream>(),
        "output-stream" => ResourceType::host::<DynOutputStream>(),
        "pollable" => ResourceType::host::<DynPollable>(),
        "error" => ResourceType::host::<IoError>(),
        _ => ResourceType::host::<Denied>(),
    }
}
