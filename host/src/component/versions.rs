//! The WIT versions this host loads, which one a component was built against, and dispatch to
//! that version's adapter. Adding a version: a new `vX_Y_Z.rs`, one entry in `SUPPORTED` and one arm per match.

use super::guest::{Answer, Info, Prepared, Scored};
use super::state::State;
use super::v0_1_0;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

/// Every `classified:lens` version this host loads, oldest first.
pub const SUPPORTED: &[&str] = &[v0_1_0::VERSION];

/// "classified:lens@0.1.0", "classified:lens@0.1.0 and classified:lens@0.2.0", ...
pub fn supported_list() -> String {
    let names: Vec<String> = SUPPORTED
        .iter()
        .map(|v| format!("classified:lens@{v}"))
        .collect();
    names.join(" and ")
}

/// The `classified:lens` version a component was built against, from its export (or import) names.
pub fn built_against(component: &Component) -> Option<String> {
    let engine = super::engine::engine();
    let ty = component.component_type();
    let exports = ty.exports(engine).map(|(name, _)| name.to_string());
    let imports = ty.imports(engine).map(|(name, _)| name.to_string());
    let names: Vec<String> = exports.chain(imports).collect();
    let version_of = |name: &String| {
        name.strip_prefix("classified:lens/")?
            .split_once('@')
            .map(|(_, v)| v.to_string())
    };
    let stages = names
        .iter()
        .find(|n| n.starts_with("classified:lens/stages@"));
    stages
        .or_else(|| names.iter().find(|n| n.starts_with("classified:lens/")))
        .and_then(version_of)
}

/// Semver compatibility as the component model's export lookup applies it: same major version, and
/// below 1.0 the same minor version too.
fn compatible(a: &str, b: &str) -> bool {
    let parts = |v: &str| {
        v.split('.')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Vec<_>>()
    };
    match (parts(a).as_slice(), parts(b).as_slice()) {
        ([Some(0), Some(a_minor), ..], [Some(0), Some(b_minor), ..]) => a_minor == b_minor,
        ([Some(a_major), ..], [Some(b_major), ..]) => a_major == b_major,
        _ => false,
    }
}

/// Why a component could not be linked, as the end of a sentence that starts with the lens's name.
#[derive(Debug)]
pub enum LinkError {
    /// Built against a version this host does not load.
    WitVersion(String),
    /// Not a lens component, or one whose imports this host cannot satisfy.
    Link(String),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let supported = supported_list();
        match self {
            LinkError::WitVersion(found) => write!(
                f,
                "its component was built against classified:lens@{found}, but this classified supports {supported}; \
                 rebuild the lens with a classified-lens SDK for one of those, or update classified"
            ),
            LinkError::Link(problem) => write!(
                f,
                "its component cannot be linked ({problem}); this classified supports lens components built against {supported}"
            ),
        }
    }
}

/// A component linked against its WIT version's adapter.
pub enum Pre {
    V0_1_0(v0_1_0::Pre),
}

impl Pre {
    pub fn new(
        linker: Linker<State>,
        component: &Component,
    ) -> Result<(Pre, &'static str), LinkError> {
        let Some(found) = built_against(component) else {
            return Err(LinkError::Link(
                "it does not export the classified:lens/stages interface".into(),
            ));
        };
        let Some(version) = SUPPORTED.iter().find(|v| compatible(v, &found)) else {
            return Err(LinkError::WitVersion(found));
        };
        let link = |e: wasmtime::Error| LinkError::Link(format!("{e:#}"));
        let pre = match *version {
            v0_1_0::VERSION => Pre::V0_1_0(v0_1_0::Pre::new(linker, component).map_err(link)?),
            other => unreachable!("SUPPORTED lists {other} without an adapter"),
        };
        Ok((pre, version))
    }

    pub fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<Instance> {
        match self {
            Pre::V0_1_0(pre) => pre.instantiate(store).map(Instance::V0_1_0),
        }
    }
}

/// One instance of a component, of whichever version.
pub enum Instance {
    V0_1_0(v0_1_0::Instance),
}

impl Instance {
    pub fn describe(&self, store: &mut Store<State>) -> wasmtime::Result<Info> {
        match self {
            Instance::V0_1_0(i) => i.describe(store),
        }
    }

    pub fn preprocess(
        &self,
        store: &mut Store<State>,
        row: u64,
        fields: &str,
    ) -> wasmtime::Result<Answer<Prepared>> {
        match self {
            Instance::V0_1_0(i) => i.preprocess(store, row, fields),
        }
    }

    pub fn postprocess(
        &self,
        store: &mut Store<State>,
        row: u64,
        arguments: &str,
    ) -> wasmtime::Result<Answer<Scored>> {
        match self {
            Instance::V0_1_0(i) => i.postprocess(store, row, arguments),
        }
    }

    pub fn bucket(
        &self,
        store: &mut Store<State>,
        row: u64,
        scores: &[(String, f64)],
    ) -> wasmtime::Result<Answer<String>> {
        match self {
            Instance::V0_1_0(i) => i.bucket(store, row, scores),
        }
    }

    pub fn score(
        &self,
        store: &mut Store<State>,
        row: u64,
        fields: &str,
    ) -> wasmtime::Result<Answer<Scored>> {
        match self {
            Instance::V0_1_0(i) => i.score(store, row, fields),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::compatible;

    #[test]
    fn semver_compatibility() {
        assert!(compatible("0.1.0", "0.1.3"));
        assert!(!compatible("0.1.0", "0.2.0"));
        assert!(compatible("1.0.0", "1.4.0"));
        assert!(!compatible("1.0.0", "2.0.0"));
    }
}
