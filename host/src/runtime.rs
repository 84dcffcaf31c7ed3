//! The one async runtime builder: every command that needs tokio runs its work through [`block_on`].

use crate::error::Error;
use std::future::Future;

/// Run `work` to completion on a multi-threaded runtime. Ctrl-C stops it with
/// [`Error::Interrupted`]: every answer received so far is already in the cache, so rerunning
/// the same command continues where this one stopped.
pub fn block_on<T>(work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        tokio::select! {
            result = work => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    })
}
