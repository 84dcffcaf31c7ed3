//! Components of the built-in lenses, built from their sources in `lenses/*/guest/` by `build.rs`
//! and embedded in the binary (no `.wasm` is committed).

/// (lens name, component bytes). The file name is always the one their config.json names: `lens.wasm`.
static BUILTIN: &[(&str, &[u8])] = &[
    (
        "heuristic_quality",
        include_bytes!(concat!(env!("OUT_DIR"), "/heuristic_quality.wasm")),
    ),
    (
        "edu_value",
        include_bytes!(concat!(env!("OUT_DIR"), "/edu_value.wasm")),
    ),
];

pub fn component(lens: &str, file: &str) -> Option<&'static [u8]> {
    if file != "lens.wasm" {
        return None;
    }
    BUILTIN
        .iter()
        .find(|(name, _)| *name == lens)
        .map(|(_, bytes)| *bytes)
}
