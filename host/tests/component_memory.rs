//! The memory of a lens's component instances, added up, as an attacker would test it: a component
//! that leaks 8 MiB on every call, or holds 40 MiB per instance, driven by many threads at once.
//! This file is its own test binary (own process) so that its peak RSS is its own.

mod component_support;

use component_support::{guest, local_lens, stages, text};
use serde_json::json;

/// This process's peak resident memory, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

/// Run `rows` rows of `input` from 32 threads at once; every error message.
fn run_many(
    stages: &std::sync::Arc<dyn classified::pipeline::Stages>,
    rows: u64,
    input: &str,
) -> Vec<String> {
    let next = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..32)
            .map(|_| {
                let (stages, next) = (stages.clone(), &next);
                scope.spawn(move || {
                    let mut errors = Vec::new();
                    loop {
                        let row = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if row >= rows {
                            return errors;
                        }
                        if let Err(e) = stages.score(row, &text(input)) {
                            errors.push(e.message);
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Rates `rows` rows of `input` through a new local lens `name` of the hostile test component,
/// from 32 threads; no row may fail. Returns the lens's stages (whose instances hold what they
/// hold while it lives) and the peak RSS (MiB) before the rows and after them.
#[track_caller]
fn rate_rows(
    root: &std::path::Path,
    name: &str,
    rows: u64,
    input: &str,
) -> (std::sync::Arc<dyn classified::pipeline::Stages>, u64, u64) {
    let dir = local_lens(root, name, &guest("hostile_lens"), json!({}));
    let lens = stages(&dir).unwrap();
    let before = peak_rss_mib();
    let errors = run_many(&lens, rows, input);
    let after = peak_rss_mib();
    eprintln!(
        "{name}: {rows} rows, peak RSS {before} MiB -> {after} MiB, {} failed",
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} rows failed, e.g. {}",
        errors.len(),
        errors[0]
    );
    (lens, before, after)
}

#[test]
fn leaking_or_holding_components_stay_within_a_bounded_total() {
    let tmp = tempfile::tempdir().unwrap();
    // 1,000 calls of 8 MiB each, kept forever by the guest: 8 GB if nothing bounded it.
    let (_leaker, before, _) = rate_rows(tmp.path(), "leaker", 1_000, "leak");
    // The leaker stays alive: the bound is on both lenses' instances together.
    let (_holder, _, after_hold) = rate_rows(tmp.path(), "holder", 300, "hold 40");

    // One instance per core at most, each under 64 MiB: a few hundred MiB, not gigabytes.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let bound = before + cores * 2 * 64 + 256;
    assert!(
        after_hold < bound,
        "peak RSS {after_hold} MiB, more than {bound} MiB"
    );
}
