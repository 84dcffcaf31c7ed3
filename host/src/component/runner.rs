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
/// that thread blocks meanwhile, as it would running the call itself). On a component thread
/// already (inside [`spawn`]), `f` runs right there.
pub fn run<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    pool().install(f)
}

/// Run `f` on a component thread and await it without blocking the caller's thread: one hand-off
/// there and one wake-up back, where `spawn_blocking` plus [`run`] cost a blocking-pool thread and
/// two more. The component calls `f` makes run on this same thread. A panic in `f` resumes in the
/// awaiting task (the pool's own panic handler would abort the process).
pub async fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool().spawn(move || {
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        // The awaiting task may be gone (its run stopped); the result is then dropped.
        let _ = tx.send(done);
    });
    match rx.await {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => unreachable!("the component pool runs every job it is given"),
    }
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

    #[test]
    fn spawned_calls_leave_the_runtime_and_panics_come_back() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (inside, name) = runtime.block_on(spawn(|| {
            (
                tokio::runtime::Handle::try_current().is_ok(),
                std::thread::current().name().map(str::to_string),
            )
        }));
        assert!(!inside);
        assert!(name.unwrap().starts_with("classified-component-"));
        // A nested `run` on a component thread runs inline instead of waiting for a free thread.
        assert_eq!(runtime.block_on(spawn(|| run(|| 7))), 7);
        let panicked = runtime.block_on(async {
            tokio::spawn(spawn(|| -> u8 { panic!("a stage panicked") }))
                .await
                .unwrap_err()
        });
        assert!(panicked.is_panic());
    }
}
