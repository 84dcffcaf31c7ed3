//! Compiled-component cache: a component is compiled once and later runs deserialize it (ms instead of
//! the seconds a Python component takes to compile).
//!
//! Files are keyed by the component's sha256 and the engine's compatibility hash, written atomically
//! (temp file + rename), and deserialized only from this directory, which only this code writes.

use super::engine::engine;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::component::Component;

/// `$CLASSIFIED_CACHE_DIR`, else `$XDG_CACHE_HOME/classified/components`, else `~/.cache/classified/components`.
pub fn dir() -> Option<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("CLASSIFIED_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("classified/components")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/classified/components")))
}

/// Feeds `Hash` output into sha256, for a hash that is stable across processes.
struct Sha(Sha256);

impl Hasher for Sha {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only the digest is used")
    }
}

/// The cache file name for these component bytes under this engine.
fn key(bytes: &[u8]) -> String {
    let mut engine_hash = Sha(Sha256::new());
    engine()
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let engine_hash = engine_hash.0.finalize();
    format!(
        "{:x}-{}.cwasm",
        Sha256::digest(bytes),
        &hex(&engine_hash)[..16]
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a component came from the cache, for `lenses check` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Compiled,
}

/// The compiled component for `bytes`, from the cache when it holds it. A cache that cannot be read or
/// written only costs time: the component is then compiled in memory.
pub fn load(bytes: &[u8]) -> wasmtime::Result<(Component, Origin)> {
    let Some(dir) = dir() else {
        return Ok((Component::new(engine(), bytes)?, Origin::Compiled));
    };
    let path = dir.join(key(bytes));
    if path.is_file() {
        // SAFETY: files in this directory are written only by `store` below, from
        // `Engine::precompile_component` output, and the key includes the engine's compatibility hash.
        if let Ok(component) = unsafe { Component::deserialize_file(engine(), &path) } {
            return Ok((component, Origin::Cache));
        }
    }
    let compiled = engine().precompile_component(bytes)?;
    let _ = store(&dir, &path, &compiled);
    // SAFETY: `compiled` was just produced by this engine's `precompile_component`.
    let component = unsafe { Component::deserialize(engine(), &compiled)? };
    Ok((component, Origin::Compiled))
}

fn store(dir: &std::path::Path, path: &std::path::Path, compiled: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, compiled)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
