//! The threads every component call runs on: one per core, shared by all lenses of the process.
//!
//! Two reasons for a pool of its own. Component calls are CPU-bound, so running more of them at once
//! than there are cores only makes each take longer (and, with a wall-clock cap, fail); here the
//! callers beyond the cores wait for a thread, and only the time a call actually runs counts against
//! its limit (`budget.rs`). And these threads are outside any async runtime: WASI's blocking calls
//! (a guest's `println!`) drive a runtime of their own, which panics on an async runtime's thread.

use std::sync::OnceLock;

/// How many component calls run at once: the machine's cores.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads())
            .thread_name(|i| format!("classified-component-{i}"))
            .build()
            .expect("can start the component threads")
    })
}

/// Run `f` on a component thread and wait for it, from any thread (an async runtime's included;
/// that thread blocks meanwhile, as it would running the call itself).
pub fn run<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    pool().install(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_never_run_inside_an_async_runtime() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let inside =
            runtime.block_on(async { run(|| tokio::runtime::Handle::try_current().is_ok()) });
        assert!(!inside);
    }
}
