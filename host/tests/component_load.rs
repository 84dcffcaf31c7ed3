//! Components under load, as a run drives them: hundreds of rows at once, on a machine whose cores
//! are busy with other work. A well-behaved component must not fail a row as "timeout" because
//! it waited for a core: its time limit counts the time it computes.

mod component_support;

use component_support::{guest, local_lens, stages, text};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Threads that keep every core busy until dropped: the "busy machine".
struct Hogs(Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>);

impl Hogs {
    fn start(n: usize) -> Hogs {
        let stop = Arc::new(AtomicBool::new(false));
        let handles = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 1u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Hogs(stop, handles)
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        for h in self.1.drain(..) {
            let _ = h.join();
        }
    }
}

#[test]
fn hundreds_of_calls_at_once_on_a_busy_machine_do_not_time_out() {
    let tmp = tempfile::tempdir().unwrap();
    let calibrate = local_lens(tmp.path(), "calibrate", &guest("hostile_lens"), json!({}));
    let calibrate = stages(&calibrate).unwrap();
    calibrate.score(0, &text("spin 1")).unwrap();
    // The fastest of three calls: a burst of other work on the machine must not make the
    // calibration (and so the limit) several times too big.
    let fastest = |input: &str| {
        (0..3)
            .map(|row| {
                let started = Instant::now();
                calibrate.score(row, &text(input)).unwrap();
                started.elapsed()
            })
            .min()
            .expect("three calls")
    };
    // Find a spin that takes ~60 ms alone.
    let per_million = fastest("spin 20").as_secs_f64() / 20.0;
    let millions = ((0.060 / per_million).round() as u64).max(1);
    let alone = fastest(&format!("spin {millions}"));

    // The limit is three times what a call takes alone: a wall-clock cap fails most rows here (each
    // call waits for a core behind hundreds of others, and shares it with the hogs).
    let limit_ms = (alone.as_millis() as u64 * 3).max(50);
    let dir = local_lens(
        tmp.path(),
        "busy",
        &guest("hostile_lens"),
        json!({"limits": {"time_ms": limit_ms}}),
    );
    let stages = stages(&dir).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _hogs = Hogs::start(cores * 2);
    let rows = 120u64;
    let input = text(&format!("spin {millions}"));
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..rows)
            .map(|row| {
                let (stages, input) = (stages.clone(), input.clone());
                scope.spawn(move || stages.score(row, &input).err().map(|e| e.message))
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    let wall = started.elapsed();
    eprintln!(
        "{rows} rows of {alone:?} each, {limit_ms} ms limit, {} hog threads: {wall:?}, {} failed",
        cores * 2,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} rows failed, e.g. {}",
        failures.len(),
        failures[0]
    );
    // Far more wall-clock time passed than any one call's limit: the limit did not count it.
    assert!(wall > Duration::from_millis(limit_ms * 2), "{wall:?}");
}

#[test]
fn a_real_endless_loop_still_stops_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = local_lens(
        tmp.path(),
        "loops",
        &guest("hostile_lens"),
        json!({"limits": {"time_ms": 200}}),
    );
    let stages = stages(&dir).unwrap();
    stages.score(0, &text("warm up")).unwrap();
    let started = Instant::now();
    let kinds: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..9u64)
            .map(|row| {
                let stages = stages.clone();
                scope.spawn(move || {
                    stages
                        .score(row, &text("loop"))
                        .unwrap_err()
                        .kind
                        .name()
                        .to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(kinds.iter().all(|k| k == "timeout"), "{kinds:?}");
    // 8 loops of 200 ms of CPU on the cores (each core's fresh instance may take the 10 s
    // first-call allowance, and the rest of the test suite shares the 2 cores): seconds, not
    // forever. The bound only says the loops end; it is no speed measurement.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
