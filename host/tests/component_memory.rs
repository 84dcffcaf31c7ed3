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

#[test]
fn leaking_or_holding_components_stay_within_a_bounded_total() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(tmp.path(), "leaker", &guest("hostile_lens"), json!({}));
    let leaker = stages(&dir).unwrap();
    let before = peak_rss_mib();
    // 1,000 calls of 8 MiB each, kept forever by the guest: 8 GB if nothing bounded it.
    let errors = run_many(&leaker, 1_000, "leak");
    let after_leak = peak_rss_mib();
    eprintln!(
        "leaker: 1000 rows, peak RSS {before} MiB -> {after_leak} MiB, {} failed",
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} rows failed, e.g. {}",
        errors.len(),
        errors[0]
    );

    let dir = local_lens(tmp.path(), "holder", &guest("hostile_lens"), json!({}));
    let holder = stages(&dir).unwrap();
    let errors = run_many(&holder, 300, "hold 40");
    let after_hold = peak_rss_mib();
    eprintln!(
        "holder: 300 rows, peak RSS {after_leak} MiB -> {after_hold} MiB, {} failed",
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} rows failed, e.g. {}",
        errors.len(),
        errors[0]
    );

    // One instance per core at most, each under 64 MiB: a few hundred MiB, not gigabytes.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let bound = before + cores * 2 * 64 + 256;
    assert!(
        after_hold < bound,
        "peak RSS {after_hold} MiB, more than {bound} MiB"
    );
}
