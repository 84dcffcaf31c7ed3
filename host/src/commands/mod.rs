//! One module per command; `main.rs` picks the command once and calls its `run`.

pub mod batches;
pub mod compare;
pub mod filter;
pub mod launch;
pub mod lenses;
pub mod merge;
pub mod report;
pub mod summary;
pub mod train;
